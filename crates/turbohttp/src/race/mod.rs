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
//! The rules and the decisions the specification leaves open are documented on the
//! core crate, [`turbohttp_proto`], where they are implemented.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> Result<(), turbohttp::ConnectError> {
//! let stream = turbohttp::connect("example.com", 80).await?;
//! println!("connected to {:?}", stream.peer_addr());
//! # Ok(()) }
//! ```

mod driver;
mod error;
mod params;
mod timer;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use error::{ConnectError, ConnectErrorKind};
pub use params::{ConnectParams, Http3};

use crate::dial::{Dialer, TcpDialer};
use crate::host::{Host, InputError, Parsed};
use crate::resolve::{Answers, DefaultResolver, Resolver};
use turbohttp_proto::dns::QueryType;
use turbohttp_proto::plan::{self, Plan, PlanError};
use turbohttp_proto::quic::{QuicMemory, QuicOutcome, QuicPolicy};
use turbohttp_proto::race::{Outcome, Race};
use turbohttp_proto::service::Protocols;
use turbohttp_proto::{
    AddressFamily, AttemptRecord, HappyEyeballsOptions, OptionsError, RaceReport,
};

/// The default connect timeout: 30 s, as Go's `http.DefaultTransport`. It bounds the
/// whole connect (resolution, every attempt, every TLS handshake), not one attempt.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

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

impl<S> Established<S> {
    /// The same race with its connection mapped by `f` (into a wrapper, say).
    pub fn map<T>(self, f: impl FnOnce(S) -> T) -> Established<T> {
        Established {
            stream: f(self.stream),
            report: self.report,
        }
    }
}

/// A Happy Eyeballs connector: options, a connect timeout, a resolver and a dialer.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use turbohttp::{AddressFamily, ConnectParams, HappyEyeballs};
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let port = listener.local_addr().unwrap().port();
/// let connector = HappyEyeballs::default().with_connect_timeout(Duration::from_secs(5));
/// let won = connector.connect("127.0.0.1", port).await.unwrap();
/// assert_eq!(won.report.attempts.len(), 1);
/// assert_eq!(won.stream.peer_addr().unwrap().port(), port);
///
/// // Per call: only IPv6 here, which a literal 127.0.0.1 does not have.
/// let only_v6 = ConnectParams::default().with_family(AddressFamily::V6);
/// let refused = connector.connect_with("127.0.0.1", port, only_v6).await.unwrap_err();
/// assert_eq!(refused.kind(), turbohttp::ConnectErrorKind::FamilyUnavailable);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct HappyEyeballs<R = DefaultResolver, D = TcpDialer> {
    options: HappyEyeballsOptions,
    connect_timeout: Duration,
    resolver: R,
    dialer: D,
    quic_memory: Option<Arc<Mutex<QuicMemory>>>,
}

impl Default for HappyEyeballs {
    /// The default options, the [`DefaultResolver`] (DNS per family) and plain TCP.
    fn default() -> Self {
        Self {
            options: HappyEyeballsOptions::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            resolver: DefaultResolver::new(),
            dialer: TcpDialer::default(),
            quic_memory: None,
        }
    }
}

impl HappyEyeballs {
    /// A connector with the [`DefaultResolver`] and plain TCP; the options are checked now.
    pub fn new(options: HappyEyeballsOptions) -> Result<Self, OptionsError> {
        options.validate()?;
        Ok(Self {
            options,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            resolver: DefaultResolver::new(),
            dialer: TcpDialer::default(),
            quic_memory: None,
        })
    }
}

impl<R, D> HappyEyeballs<R, D> {
    /// A connector of these parts; the options are checked when connecting (or now,
    /// with [`HappyEyeballsOptions::validate`]).
    pub fn from_parts(options: HappyEyeballsOptions, resolver: R, dialer: D) -> Self {
        Self {
            options,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            resolver,
            dialer,
            quic_memory: None,
        }
    }

    /// The same connector with another resolver.
    pub fn with_resolver<R2>(self, resolver: R2) -> HappyEyeballs<R2, D> {
        HappyEyeballs {
            options: self.options,
            connect_timeout: self.connect_timeout,
            resolver,
            dialer: self.dialer,
            quic_memory: self.quic_memory,
        }
    }

    /// The same connector with another dialer.
    pub fn with_dialer<D2>(self, dialer: D2) -> HappyEyeballs<R, D2> {
        HappyEyeballs {
            options: self.options,
            connect_timeout: self.connect_timeout,
            resolver: self.resolver,
            dialer,
            quic_memory: self.quic_memory,
        }
    }

    /// The same connector with other options (checked when connecting).
    pub fn with_options(mut self, options: HappyEyeballsOptions) -> Self {
        self.options = options;
        self
    }

    /// The same connector with another timeout for a whole connect (default
    /// [`DEFAULT_CONNECT_TIMEOUT`], 30 s); [`ConnectParams::timeout`] overrides it for
    /// one call. A zero timeout is refused when connecting.
    pub fn with_connect_timeout(mut self, connect_timeout: Duration) -> Self {
        self.connect_timeout = connect_timeout;
        self
    }

    /// The same connector remembering in `memory` the origins whose QUIC got no
    /// answer while TCP won (Chrome's "broken alternative service"): until an entry
    /// expires, a connect to that origin that asks for HTTP/3 races TCP alone, and
    /// its report's `quic_remembered_broken` says so. Share one memory between the
    /// connectors of one client (a [`RawSocketTransport`](crate::RawSocketTransport)
    /// keeps one). Default: none, and every such connect tries QUIC.
    pub fn with_quic_memory(mut self, memory: Arc<Mutex<QuicMemory>>) -> Self {
        self.quic_memory = Some(memory);
        self
    }

    /// The options.
    pub fn options(&self) -> &HappyEyeballsOptions {
        &self.options
    }

    /// The timeout of a whole connect, unless a call gives its own.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
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
    /// Resolves `host` and races connections to its addresses, starting on the first
    /// DNS answer when the resolver asks each family apart.
    ///
    /// `host` is a name or an IP literal (`::1`, `[::1]`, `127.0.0.1`). The
    /// connector's timeout bounds the whole call. Dropping the returned future stops
    /// every attempt, and no socket outlives the call except the winner's.
    pub async fn connect(
        &self,
        host: &str,
        port: u16,
    ) -> Result<Established<D::Stream>, ConnectError> {
        self.connect_with(host, port, ConnectParams::default())
            .await
    }

    /// [`connect`](Self::connect) with a family restriction, a timeout or a
    /// cancellation token of this call's own: cancelling the token, like dropping
    /// the future, stops every attempt.
    pub async fn connect_with(
        &self,
        host: &str,
        port: u16,
        params: ConnectParams,
    ) -> Result<Established<D::Stream>, ConnectError> {
        // Apart: only the token lives across the race's awaits, not the whole params.
        let ConnectParams {
            family: requested_family,
            timeout,
            cancel,
            services,
            shuffle_seed: seed,
            alt_svc,
            http3,
        } = params;
        // HTTP/3 only through a dialer that dials QUIC.
        let http3 = if self.dialer.dials_quic() {
            http3
        } else {
            Http3::Off
        };
        let connect_timeout = timeout.unwrap_or(self.connect_timeout);
        let cancel = cancel.as_ref();
        let entered = Instant::now();
        let preferred = self.options.preferred_family();
        // The report is made when the connect is over (or refused), so that a connect
        // carries none while it runs. It shows the host as given (a name, or an IPv4
        // literal, which parses only in its one canonical form: no formatting, no
        // second string), an IPv6 literal in its canonical form.
        let input = host;
        let report = |host: Option<&Parsed<'_>>| {
            let shown = match host {
                Some(Parsed::Literal(literal @ Host::V6(..))) => literal.to_string(),
                _ => input.to_owned(),
            };
            RaceReport::new(shown, port, preferred)
        };

        // The name borrowed from the caller: the report's copy is the only one.
        let host = match Parsed::of(input) {
            Ok(host) => host,
            Err(e) => return Err(ConnectError::input(e, report(None))),
        };
        if port == 0 {
            return Err(ConnectError::input(
                InputError::PortZero,
                report(Some(&host)),
            ));
        }
        if let Err(e) = self.options.validate_with_timeout(connect_timeout) {
            return Err(ConnectError::options(e, report(Some(&host))));
        }
        if cancel.is_some_and(CancellationToken::is_cancelled) {
            // Cancelled before we began: not one packet may leave.
            let report = report(Some(&host));
            return Err(ConnectError::new(ConnectErrorKind::Cancelled, report));
        }
        // A timeout past the end of the clock is no deadline at all: cap it as tokio does.
        let deadline = entered + connect_timeout.min(FAR_FUTURE);

        let options = self.options.for_timeout(connect_timeout);
        let mut race = match &host {
            Parsed::Name(name) => {
                // The caller's protocols, asked or not, for its Alt-Svc alternatives.
                let caller = with_h3(services.unwrap_or(Protocols::TCP), http3);
                let services = services
                    .map(|p| with_h3(p, http3))
                    .filter(|_| self.resolver.asks_services(name, port));
                let queries = queries(
                    self.resolver.answers(name, port),
                    requested_family,
                    &options,
                    services.is_some(),
                );
                let race = Race::resolving(
                    &options,
                    requested_family,
                    queries,
                    entered.into_std(),
                    deadline.into_std(),
                );
                let race = match self.quic_policy(http3, name, port) {
                    // Before the services: it decides how their records are read.
                    Some(policy) => race.with_quic(policy).with_services(
                        port,
                        services.unwrap_or(caller),
                        seed.unwrap_or(0),
                    ),
                    None => race,
                };
                let race = match services {
                    Some(protocols) => {
                        let seed = seed.unwrap_or_else(shuffle_seed);
                        race.with_services(port, protocols, seed)
                            .with_origin(name)
                            .with_ech(self.dialer.offers_ech())
                    }
                    None => race,
                };
                // An alternative naming the origin's own host is the origin's
                // addresses (no query of its own).
                let alternatives = alt_svc.into_iter().map(|mut alt| {
                    let origin = |h: &str| h.trim_end_matches('.').eq_ignore_ascii_case(name);
                    if alt.host.as_deref().is_some_and(origin) {
                        alt.host = None;
                    }
                    alt
                });
                race.with_alternatives(port, caller, alternatives)
            }
            // QUIC is planned on the resolving path (`Race::with_quic`): the literal
            // is the answer of a one-shot lookup at t=0, sent to no resolver.
            Parsed::Literal(literal)
                if http3 != Http3::Off
                    && let Some(addr) = literal.socket_addr(port) =>
            {
                // The memory knows a literal as the report shows it (an IPv6 one in
                // its canonical form), which is what the race's end records.
                let shown = match literal {
                    Host::V6(..) => literal.to_string(),
                    _ => input.to_owned(),
                };
                let policy = self.quic_policy(http3, &shown, port).unwrap_or_default();
                let caller = with_h3(services.unwrap_or(Protocols::TCP), http3);
                let mut race = Race::resolving(
                    &options,
                    requested_family,
                    &[QueryType::AddrInfo],
                    entered.into_std(),
                    deadline.into_std(),
                )
                .with_quic(policy)
                .with_services(port, caller, seed.unwrap_or(0));
                // Its one event asks for the lookup the literal answers now.
                while race.poll_event().is_some() {}
                race.handle_answer(entered.into_std(), 0, Ok(vec![addr]));
                race
            }
            Parsed::Literal(literal) => {
                let literal = literal.socket_addr(port);
                let literal = literal.as_slice();
                match Plan::new(literal, &options, requested_family) {
                    Ok(plan) => Race::new(plan, entered.into_std(), deadline.into_std()),
                    Err(e) => {
                        let mut report = report(Some(&host));
                        report.resolved = plan::unique(literal.iter().copied());
                        let kind = match e {
                            PlanError::NoAddresses => ConnectErrorKind::NoAddresses,
                            PlanError::FamilyUnavailable => ConnectErrorKind::FamilyUnavailable,
                        };
                        return Err(ConnectError::new(kind, report));
                    }
                }
            }
        };
        tracing::debug!(host = input, port, "race starting");

        let name = match host {
            Parsed::Name(name) => name,
            Parsed::Literal(_) => "",
        };
        let (outcome, stream) =
            driver::drive(&mut race, &self.resolver, name, port, &self.dialer, cancel).await;
        let mut report = report(Some(&host));
        report.preferred_family = race.plan().preferred();
        report.resolve_time = race.first_answer().unwrap_or_default();
        // Nothing of the requested family: say what there was instead.
        let answered = (outcome == Outcome::FamilyUnavailable).then(|| {
            let answers = race.queries().iter();
            plan::unique(answers.flat_map(|q| q.addresses.iter().copied()))
        });
        // The plan's buffer becomes the report's list: the plan and a copy of its
        // addresses never exist at once, which lowers a large race's peak memory.
        report.alternatives = race.alternatives().to_vec();
        report.quic_remembered_broken = race.quic_memory_used();
        let (addresses, attempts, dns) = race.take_report_parts();
        // QUIC and TCP to one address are two endpoints of the plan, one address here.
        let addresses = if http3 == Http3::Off {
            addresses
        } else {
            plan::unique(addresses.into_iter())
        };
        report.resolved = answered.unwrap_or(addresses);
        report.attempts = attempts;
        // A literal's one-shot lookup (QUIC's path above) asked no resolver.
        report.dns = if name.is_empty() { Vec::new() } else { dns };
        // From the race's start, which is `entered`: the connect's future keeps no copy.
        report.elapsed = Instant::from_std(race.started_at()).elapsed();
        if http3 != Http3::Off {
            let winner = match outcome {
                Outcome::Connected { attempt } => Some(attempt),
                _ => None,
            };
            // A literal's key is the report's host (see the literal's QUIC path).
            let key = if name.is_empty() { &report.host } else { name };
            self.learn_quic(&report.attempts, winner, key, port);
        }
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
            (Outcome::Unresolved, _) => ConnectErrorKind::Resolve,
            (Outcome::NoAddresses, _) => ConnectErrorKind::NoAddresses,
            (Outcome::FamilyUnavailable, _) => ConnectErrorKind::FamilyUnavailable,
            (_, _) => ConnectErrorKind::AllAttemptsFailed,
        };
        tracing::debug!(host = %report.host, port, ?kind, "race failed");
        Err(ConnectError::new(kind, report))
    }
}

impl<R, D> HappyEyeballs<R, D> {
    /// The race's QUIC policy for a connect to `name:port` asking for `http3`: none
    /// without HTTP/3; the memory says whether the origin's QUIC is remembered broken.
    fn quic_policy(&self, http3: Http3, name: &str, port: u16) -> Option<QuicPolicy> {
        if http3 == Http3::Off {
            return None;
        }
        let broken = self.quic_memory.as_ref().is_some_and(|memory| {
            let now = Instant::now().into_std();
            let memory = memory.lock().unwrap_or_else(PoisonError::into_inner);
            memory.is_broken(name, port, now)
        });
        Some(
            QuicPolicy::new()
                .with_origin(http3 == Http3::Also)
                .with_remembered_broken(broken),
        )
    }

    /// What a race that dialed QUIC taught the memory: QUIC that got no answer while
    /// TCP won is remembered broken; a QUIC success forgets it.
    fn learn_quic(&self, attempts: &[AttemptRecord], winner: Option<usize>, name: &str, port: u16) {
        let Some(memory) = &self.quic_memory else {
            return;
        };
        let outcome = QuicOutcome::of_race(attempts, winner);
        if outcome != QuicOutcome::Inconclusive {
            let now = Instant::now().into_std();
            let mut memory = memory.lock().unwrap_or_else(PoisonError::into_inner);
            memory.record(name, port, outcome, now);
        }
    }
}

/// The protocols a caller asking for `http3` speaks: `h3` added, or alone with
/// [`Http3::Only`].
fn with_h3(protocols: Protocols, http3: Http3) -> Protocols {
    match http3 {
        Http3::Off => protocols,
        Http3::Only => Protocols::H3,
        _ => protocols.union(Protocols::H3),
    }
}

/// The queries a connect sends: one lookup for a one-shot resolver; otherwise AAAA
/// and A (the preferred family's first), or only the requested family's; with
/// `services`, the HTTPS query before them (the draft's order: HTTPS, AAAA, A).
fn queries(
    answers: Answers,
    requested: Option<AddressFamily>,
    options: &HappyEyeballsOptions,
    services: bool,
) -> &'static [QueryType] {
    use QueryType::{A, Aaaa, Https};
    let per_family: &'static [QueryType] = match (requested, options.preferred_family()) {
        (Some(AddressFamily::V6), _) => &[Https, Aaaa],
        (Some(AddressFamily::V4), _) => &[Https, A],
        (None, AddressFamily::V6) => &[Https, Aaaa, A],
        (None, AddressFamily::V4) => &[Https, A, Aaaa],
    };
    match answers {
        Answers::PerFamily if services => per_family,
        Answers::PerFamily => &per_family[1..],
        _ => &[QueryType::AddrInfo],
    }
}

/// A seed for the order of HTTPS records of equal priority, different for every
/// connect: from std's per-process random hash keys and a counter.
fn shuffle_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Resolves `host` (AAAA and A apart, through a fresh [`DefaultResolver`]) and races
/// TCP connections to its addresses with the default options and a 30 s timeout,
/// returning the first that connects: the entry point of the specification. Dropping
/// the future cancels every attempt. Each call reads the system's DNS configuration
/// and starts with a cold cache; keep a [`HappyEyeballs`] (or a
/// [`RawSocketTransport`](crate::RawSocketTransport)) to share one, and
/// to choose options, a timeout, a family or a cancellation token
/// ([`HappyEyeballs::connect_with`]).
///
/// Connections get the transport's default socket options (`TCP_NODELAY`, keepalive;
/// see [`SocketOptions`](crate::SocketOptions)), through the same
/// [`connect_socket`](crate::connect_socket) as
/// [`RawSocketTransport`](crate::RawSocketTransport).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let port = listener.local_addr()?.port();
/// let stream = turbohttp::connect("127.0.0.1", port).await?;
/// assert_eq!(stream.peer_addr()?.port(), port);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub async fn connect(host: &str, port: u16) -> Result<TcpStream, ConnectError> {
    HappyEyeballs::default()
        .connect(host, port)
        .await
        .map(|won| won.stream)
}
