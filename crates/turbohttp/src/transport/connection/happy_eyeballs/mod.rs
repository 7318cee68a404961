//! Happy Eyeballs (RFC 8305): race IPv6 and IPv4 so that a broken path costs a
//! quarter of a second, not a TCP connect timeout.
//!
//! A connect flows through four pieces:
//!
//! 1. [`HappyEyeballsOptions`] are validated together with the connect timeout.
//! 2. The host is resolved **once** (IP literals skip the resolver).
//! 3. [`plan::Plan::new`] turns the addresses into an ordered plan (pure data).
//! 4. [`race::Race`], a sans-IO state machine, executes the plan; a thin tokio driver
//!    starts the attempts it asks for, feeds results and time back, and drops losers.
//!
//! # The rules
//!
//! * **Partition and order.** Duplicated `(address, port, family)` tuples are dropped
//!   (first kept). The preferred family's attempt `i` is due at `t0 + i × spacing`, the
//!   other family's attempt `j` at `t0 + stagger + j × spacing`, each family in resolver
//!   order.
//! * **First success wins.** Scheduling stops, every other attempt is cancelled and its
//!   socket dropped before `connect` returns, including attempts that connect later.
//! * **Timeouts.** The connect timeout bounds the whole call, resolution included. Each
//!   attempt also has a budget (decision 2) bounded by what remains.
//! * **Cancellation.** Cancelling the token (or dropping the future) cancels every
//!   attempt at once. A winner already chosen is still returned.
//!
//! # Decisions the specification leaves open
//!
//! 1. **The fallback is never starved by the concurrency cap.** Until the other family
//!    has started, the preferred family may hold all slots but one. With the defaults
//!    and three stalled IPv6 addresses before one IPv4 address:
//!
//!    ```text
//!    t=0      v6[0] starts                       (slot 1)
//!    t=125    v6[1] is due but would take the last slot: it waits
//!    t=250    v4[0] starts                       (slot 2)
//!    ```
//!
//! 2. **A stalled address does not hold its slot forever.** When an attempt starts it
//!    gets `max(remaining / rounds, min(2 s, remaining))`, where `rounds` is the number
//!    of attempts not started yet (itself included) divided by the cap, rounded up; that
//!    is Go's rule (`partialDeadline`, 2 s floor) with `max_concurrent_attempts` lanes.
//!    When the budget runs out the attempt ends as `timed_out` and frees its slot.
//!    See [`plan::attempt_budget`].
//!
//! 3. **A failure does not waste the delay.** Each failure (including a budget running
//!    out) lets the next waiting attempt *in plan order* start at once instead of at its
//!    scheduled time, as in RFC 8305 §5, Go, curl and hyper-util. The other family's
//!    first attempt is pulled forward when it is that next attempt: when the preferred
//!    family has no address left to try (it had one address, or all of them failed).
//!    Otherwise the next preferred address goes first and the fallback keeps its
//!    `t0 + stagger` (it is never later than that). Attempts only ever move earlier.
//!
//!    ```text
//!    one IPv6 address:   t=0 v6[0] starts; t=3 v6[0] refused -> v4[0] starts (was due at 250)
//!    two IPv6 addresses: t=0 v6[0] starts; t=3 v6[0] refused -> v6[1] starts (was due at 125);
//!                        t=250 v4[0] starts, on its schedule
//!    ```
//!
//! 4. **Ties are deterministic.** Attempts due at the same instant start in plan order
//!    (the preferred family first). Results reported at the same instant are settled in
//!    plan order: the earlier attempt in the plan wins, and a connection made at the very
//!    instant of the deadline or a cancellation still wins.
//!
//! 5. **`enable = false`** dials one address at a time in resolver order, each starting
//!    when the previous one failed, with the budgets of rule 2; the single-family path
//!    (only IPv4 or only IPv6 resolved) is this same sequential path.
//!
//! 6. **A connected socket whose setup fails** (socket options, TLS handshake) is a
//!    failed attempt and the race goes on, unless the dialer marks the failure terminal
//!    ([`AttemptError::terminal`](crate::transport::connection::AttemptError::terminal),
//!    for example a certificate that does not verify for the host): the race then
//!    stops with [`ConnectErrorKind::SetupRejected`].
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use tokio_util::sync::CancellationToken;
//! use turbohttp::{HappyEyeballsOptions, connect};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let stream = connect(
//!     "example.com",
//!     80,
//!     None,
//!     Duration::from_secs(10),
//!     &HappyEyeballsOptions::default(),
//!     &CancellationToken::new(),
//! )
//! .await?;
//! println!("connected to {}", stream.peer_addr()?);
//! # Ok(()) }
//! ```

mod driver;
mod error;
mod options;
pub mod plan;
pub mod race;
mod report;

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

pub use error::{ConnectError, ConnectErrorKind};
pub use options::{HappyEyeballsOptions, MIN_DELAY, OptionsError};
pub use report::{AttemptFailure, AttemptOutcome, AttemptRecord, DisplayDuration, RaceReport};

use super::{AddressFamily, Dialer, Host, Resolver, SystemResolver, TcpDialer};
use plan::{Plan, PlanError};
use race::{Outcome, Race};

/// About thirty years: tokio's own "far future".
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// A connection that won its race, with the report of the race.
#[derive(Debug)]
#[non_exhaustive]
pub struct Established<S> {
    /// The winning attempt's connection.
    pub stream: S,
    /// The whole race: every attempt, in start order, and which one won.
    pub report: RaceReport,
}

/// A Happy Eyeballs connector: options, a resolver and a dialer.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use tokio_util::sync::CancellationToken;
/// use turbohttp::HappyEyeballs;
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let port = listener.local_addr().unwrap().port();
/// let connector = HappyEyeballs::default();
/// let won = connector
///     .connect("127.0.0.1", port, None, Duration::from_secs(5), &CancellationToken::new())
///     .await
///     .unwrap();
/// assert_eq!(won.report.attempts.len(), 1);
/// assert_eq!(won.stream.peer_addr().unwrap().port(), port);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct HappyEyeballs<R = SystemResolver, D = TcpDialer> {
    options: HappyEyeballsOptions,
    resolver: R,
    dialer: D,
}

impl Default for HappyEyeballs {
    /// The default options, the system resolver and plain TCP.
    fn default() -> Self {
        Self {
            options: HappyEyeballsOptions::default(),
            resolver: SystemResolver,
            dialer: TcpDialer::default(),
        }
    }
}

impl HappyEyeballs {
    /// A connector with the system resolver and plain TCP; the options are checked now.
    pub fn new(options: HappyEyeballsOptions) -> Result<Self, OptionsError> {
        options.validate()?;
        Ok(Self {
            options,
            resolver: SystemResolver,
            dialer: TcpDialer::default(),
        })
    }
}

impl<R, D> HappyEyeballs<R, D> {
    /// The same connector with another resolver.
    pub fn with_resolver<R2>(self, resolver: R2) -> HappyEyeballs<R2, D> {
        HappyEyeballs {
            options: self.options,
            resolver,
            dialer: self.dialer,
        }
    }

    /// The same connector with another dialer.
    pub fn with_dialer<D2>(self, dialer: D2) -> HappyEyeballs<R, D2> {
        HappyEyeballs {
            options: self.options,
            resolver: self.resolver,
            dialer,
        }
    }

    /// The same connector with other options (checked when connecting).
    pub fn with_options(mut self, options: HappyEyeballsOptions) -> Self {
        self.options = options;
        self
    }

    /// The options.
    pub fn options(&self) -> &HappyEyeballsOptions {
        &self.options
    }

    /// The resolver.
    pub fn resolver(&self) -> &R {
        &self.resolver
    }

    /// The dialer.
    pub fn dialer(&self) -> &D {
        &self.dialer
    }
}

impl<R: Resolver, D: Dialer> HappyEyeballs<R, D> {
    /// Resolves `host` once and races connections to its addresses.
    ///
    /// `host` is a name or an IP literal (`::1`, `[::1]`, `127.0.0.1`).
    /// `requested_family` restricts dialing to one family. `connect_timeout` bounds the
    /// whole call. Cancelling `cancel`, or dropping the returned future, stops every
    /// attempt; either way no socket outlives the call except the winner's.
    pub async fn connect(
        &self,
        host: &str,
        port: u16,
        requested_family: Option<AddressFamily>,
        connect_timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<Established<D::Stream>, ConnectError> {
        let entered = Instant::now();
        let preferred = self.options.preferred_family();
        let mut report = RaceReport::new(host.to_owned(), port, preferred);

        let host = match Host::parse(host) {
            Ok(host) => host,
            Err(e) => return Err(ConnectError::input(e, report)),
        };
        report.host = host.to_string();
        if port == 0 {
            return Err(ConnectError::input(super::InputError::PortZero, report));
        }
        if let Err(e) = self.options.validate_with_timeout(connect_timeout) {
            return Err(ConnectError::options(e, report));
        }
        if cancel.is_cancelled() {
            // Cancelled before we began: not one packet may leave.
            return Err(ConnectError::new(ConnectErrorKind::Cancelled, report));
        }
        // A timeout past the end of the clock is no deadline at all: cap it as tokio does.
        let deadline = entered + connect_timeout.min(FAR_FUTURE);

        let resolved = if let Host::Name(name) = &host {
            let lookup = tokio::select! {
                biased;
                () = cancel.cancelled() => None,
                () = sleep_until(deadline) => Some(None),
                result = self.resolver.resolve(name, port) => Some(Some(result)),
            };
            report.resolve_time = entered.elapsed();
            report.elapsed = report.resolve_time;
            match lookup {
                None => return Err(ConnectError::new(ConnectErrorKind::Cancelled, report)),
                Some(None) => return Err(ConnectError::new(ConnectErrorKind::TimedOut, report)),
                Some(Some(Err(e))) => return Err(ConnectError::resolve(e, report)),
                Some(Some(Ok(addrs))) => addrs,
            }
        } else {
            host.socket_addr(port).into_iter().collect()
        };

        let plan = match Plan::new(&resolved, &self.options, requested_family) {
            Ok(plan) => plan,
            Err(e) => {
                report.resolved = plan::unique(resolved.iter().copied());
                let kind = match e {
                    PlanError::NoAddresses => ConnectErrorKind::NoAddresses,
                    PlanError::FamilyUnavailable => ConnectErrorKind::FamilyUnavailable,
                };
                return Err(ConnectError::new(kind, report));
            }
        };
        report.resolved = plan.addresses().collect();
        if plan.mode() == plan::Mode::Race {
            if let Err(e) = self.options.validate_race(connect_timeout) {
                return Err(ConnectError::options(e, report));
            }
        }
        tracing::debug!(host = %report.host, port, addresses = report.resolved.len(), mode = ?plan.mode(), "race starting");

        let race = Race::new(plan, Instant::now(), deadline);
        let (outcome, stream, race) = driver::drive(race, &self.dialer, cancel).await;
        report.attempts = race.into_records();
        report.elapsed = entered.elapsed();
        let kind = match (outcome, stream) {
            (Outcome::Connected { attempt }, Some(stream)) => {
                report.winner = Some(attempt);
                tracing::debug!(attempt, endpoint = %report.attempts[attempt].endpoint, "race won");
                return Ok(Established { stream, report });
            }
            // The race never reports a winner whose stream the driver does not hold.
            (Outcome::Connected { .. }, None) => ConnectErrorKind::AllAttemptsFailed,
            (Outcome::AllAttemptsFailed, _) => ConnectErrorKind::AllAttemptsFailed,
            (Outcome::TimedOut, _) => ConnectErrorKind::TimedOut,
            (Outcome::Cancelled, _) => ConnectErrorKind::Cancelled,
            (Outcome::SetupRejected { .. }, _) => ConnectErrorKind::SetupRejected,
        };
        tracing::debug!(host = %report.host, port, ?kind, "race failed");
        Err(ConnectError::new(kind, report))
    }
}

/// Resolves `host` once and races TCP connections to its addresses, returning the
/// first that connects: the entry point of the specification.
///
/// Connections get the transport's default socket options (`TCP_NODELAY`, keepalive;
/// see [`SocketOptions`](crate::transport::SocketOptions)), through the same
/// [`connect_socket`](crate::transport::connect_socket) as
/// [`RawSocketTransport`](crate::transport::RawSocketTransport). See
/// [`HappyEyeballs::connect`] for the report of the race and for other resolvers and
/// dialers.
pub async fn connect(
    host: &str,
    port: u16,
    requested_family: Option<AddressFamily>,
    connect_timeout: Duration,
    options: &HappyEyeballsOptions,
    cancel: &CancellationToken,
) -> Result<TcpStream, ConnectError> {
    HappyEyeballs::default()
        .with_options(*options)
        .connect(host, port, requested_family, connect_timeout, cancel)
        .await
        .map(|won| won.stream)
}
