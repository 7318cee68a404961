//! [`ConnectError`]: why a connect failed, with the record of every attempt.

use std::error::Error as StdError;
use std::fmt;
use std::io;

use crate::host::InputError;
use turbohttp_proto::AddressFamily;
use turbohttp_proto::OptionsError;
use turbohttp_proto::dns::LookupFailureKind;
use turbohttp_proto::{
    AttemptFailure, AttemptOutcome, AttemptPhase, AttemptRecord, DisplayDuration, QueryOutcome,
    QueryRecord, RaceReport,
};

/// The broad reason a connect failed. Match on this; read the [`ConnectError`]'s
/// report for the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectErrorKind {
    /// The host, port, timeout or options cannot be used. Nothing was resolved or dialed.
    InvalidInput,
    /// The resolver failed.
    Resolve,
    /// The resolver answered with no address.
    NoAddresses,
    /// The requested family (`-4` / `-6`) is not among the resolved addresses.
    FamilyUnavailable,
    /// Every address was tried and every attempt failed.
    AllAttemptsFailed,
    /// The connect timeout ran out first.
    TimedOut,
    /// The caller cancelled.
    Cancelled,
    /// A connection's setup failed in a way that is terminal by policy (an untrusted
    /// certificate, say); the race stopped there.
    SetupRejected,
}

impl ConnectErrorKind {
    /// The kind in snake case (`"all_attempts_failed"`), as the command's JSON spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::Resolve => "resolve",
            Self::NoAddresses => "no_addresses",
            Self::FamilyUnavailable => "family_unavailable",
            Self::AllAttemptsFailed => "all_attempts_failed",
            Self::TimedOut => "timed_out",
            Self::Cancelled => "cancelled",
            Self::SetupRejected => "setup_rejected",
        }
    }
}

#[derive(Debug)]
enum Cause {
    None,
    Input(InputError),
    Options(OptionsError),
}

/// A connect that did not produce a connection.
///
/// `Display` is one sentence; the alternate form (`{:#}`) adds one line per attempt.
/// It converts into an [`io::Error`] that keeps the first meaningful OS error code.
#[derive(Debug)]
pub struct ConnectError {
    kind: ConnectErrorKind,
    cause: Cause,
    report: Box<RaceReport>,
}

impl ConnectError {
    pub(crate) fn new(kind: ConnectErrorKind, report: RaceReport) -> Self {
        Self {
            kind,
            cause: Cause::None,
            report: Box::new(report),
        }
    }

    pub(crate) fn input(error: InputError, report: RaceReport) -> Self {
        Self {
            kind: ConnectErrorKind::InvalidInput,
            cause: Cause::Input(error),
            report: Box::new(report),
        }
    }

    pub(crate) fn options(error: OptionsError, report: RaceReport) -> Self {
        Self {
            kind: ConnectErrorKind::InvalidInput,
            cause: Cause::Options(error),
            report: Box::new(report),
        }
    }

    /// The broad reason.
    pub fn kind(&self) -> ConnectErrorKind {
        self.kind
    }

    /// The race's report: resolved addresses and every attempt in start order.
    pub fn report(&self) -> &RaceReport {
        &self.report
    }

    /// Every attempt, in the order they started.
    pub fn attempts(&self) -> &[AttemptRecord] {
        &self.report.attempts
    }

    /// The family that was dialed first.
    pub fn preferred_family(&self) -> AddressFamily {
        self.report.preferred_family
    }

    /// The invalid input, for [`ConnectErrorKind::InvalidInput`] caused by host or port.
    pub fn input_error(&self) -> Option<&InputError> {
        match &self.cause {
            Cause::Input(e) => Some(e),
            _ => None,
        }
    }

    /// The invalid option, for [`ConnectErrorKind::InvalidInput`] caused by options or timeout.
    pub fn options_error(&self) -> Option<&OptionsError> {
        match &self.cause {
            Cause::Options(e) => Some(e),
            _ => None,
        }
    }

    /// The first failure that says something about the network: a failed attempt
    /// carrying an OS error code, else any failed attempt, in attempt order. Our own
    /// timeouts and cancellations are skipped: they say nothing about the peer.
    pub fn first_meaningful_failure(&self) -> Option<&AttemptRecord> {
        let failed = || {
            self.report
                .attempts
                .iter()
                .filter(|a| a.outcome == AttemptOutcome::Failed)
        };
        failed()
            .find(|a| a.failure.as_ref().is_some_and(|f| f.os_error.is_some()))
            .or_else(|| failed().next())
    }

    /// The first meaningful OS error code (`errno`), for telemetry.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.deciding_failure().and_then(|f| f.os_error)
    }

    /// The failure that sums the error up: for [`ConnectErrorKind::SetupRejected`] the
    /// terminal one that stopped the race, otherwise the first meaningful one.
    fn deciding_failure(&self) -> Option<&AttemptFailure> {
        let terminal = || {
            self.report
                .attempts
                .iter()
                .filter_map(|a| a.failure.as_ref())
                .find(|f| f.terminal)
        };
        match self.kind {
            ConnectErrorKind::SetupRejected => terminal(),
            _ => self
                .first_meaningful_failure()
                .and_then(|a| a.failure.as_ref()),
        }
    }

    /// The `io::ErrorKind` that best sums the failure up.
    pub fn io_error_kind(&self) -> io::ErrorKind {
        match self.kind {
            ConnectErrorKind::InvalidInput => io::ErrorKind::InvalidInput,
            ConnectErrorKind::Resolve => {
                let timed_out = |q: &QueryRecord| matches!(&q.outcome, QueryOutcome::Failed(f) if f.kind == LookupFailureKind::TimedOut);
                if !self.report.dns.is_empty() && self.report.dns.iter().all(timed_out) {
                    io::ErrorKind::TimedOut
                } else {
                    io::ErrorKind::NotFound
                }
            }
            ConnectErrorKind::NoAddresses | ConnectErrorKind::FamilyUnavailable => {
                io::ErrorKind::NotFound
            }
            ConnectErrorKind::TimedOut => io::ErrorKind::TimedOut,
            ConnectErrorKind::Cancelled => io::ErrorKind::Interrupted,
            ConnectErrorKind::AllAttemptsFailed | ConnectErrorKind::SetupRejected => self
                .deciding_failure()
                .map_or(io::ErrorKind::Other, |f| f.kind),
        }
    }

    /// Each query's outcome (`AAAA: the server failed (SERVFAIL); A: no such name`),
    /// or the one lookup's words alone.
    fn write_queries(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outcome = |q: &QueryRecord| match &q.outcome {
            QueryOutcome::Failed(failure) => failure.message.clone(),
            other => other.to_string(),
        };
        match self.report.dns.as_slice() {
            [] => f.write_str("no query was answered"),
            [one] if one.query == turbohttp_proto::dns::QueryType::AddrInfo => {
                f.write_str(&outcome(one))
            }
            queries => {
                for (i, q) in queries.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{}: {}", q.query, outcome(q))?;
                }
                Ok(())
            }
        }
    }

    fn count(&self, family: AddressFamily) -> usize {
        self.report
            .resolved
            .iter()
            .filter(|a| AddressFamily::of(a) == family)
            .count()
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = self.report.target();
        let n = self.report.attempts.len();
        let elapsed = DisplayDuration(self.report.elapsed);
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        match (&self.kind, &self.cause) {
            (_, Cause::Input(e)) => write!(f, "cannot connect: {e}")?,
            (_, Cause::Options(e)) => write!(f, "cannot connect to {target}: {e}")?,
            (ConnectErrorKind::Resolve, _) => {
                write!(f, "could not resolve {}: ", self.report.host)?;
                self.write_queries(f)?
            }
            (ConnectErrorKind::NoAddresses, _) => {
                write!(f, "{} resolved to no addresses", self.report.host)?
            }
            (ConnectErrorKind::FamilyUnavailable, _) => {
                let (v4, v6) = (self.count(AddressFamily::V4), self.count(AddressFamily::V6));
                let asked_v4_only = self.report.dns.len() == 1
                    && self.report.dns[0].query == turbohttp_proto::dns::QueryType::A;
                let (wanted, found, other) = if v6 == 0 && !asked_v4_only {
                    (AddressFamily::V6, v4, AddressFamily::V4)
                } else {
                    (AddressFamily::V4, v6, AddressFamily::V6)
                };
                if found == 0 {
                    // Only the requested family was asked for, and it has none.
                    write!(f, "{} has no {wanted} address: ", self.report.host)?;
                    self.write_queries(f)?
                } else {
                    write!(
                        f,
                        "{} has no {wanted} address (it resolved to {found} {other} address{})",
                        self.report.host,
                        if found == 1 { "" } else { "es" }
                    )?
                }
            }
            (ConnectErrorKind::TimedOut, _) if n == 0 && !self.report.dns.is_empty() => {
                write!(
                    f,
                    "connecting to {target} timed out after {elapsed} while resolving: "
                )?;
                self.write_queries(f)?
            }
            (ConnectErrorKind::TimedOut, _) => write!(
                f,
                "connecting to {target} timed out after {elapsed} ({n} attempt{} started)",
                plural(n)
            )?,
            (ConnectErrorKind::Cancelled, _) => write!(
                f,
                "connecting to {target} was cancelled after {elapsed} ({n} attempt{} started)",
                plural(n)
            )?,
            (ConnectErrorKind::SetupRejected, _) => {
                let terminal = self
                    .report
                    .attempts
                    .iter()
                    .find(|a| a.failure.as_ref().is_some_and(|f| f.terminal));
                match terminal.and_then(|a| a.failure.as_ref().map(|fl| (a, fl))) {
                    // Refused on this host (an interface that cannot be bound): no peer
                    // to blame, the cause says it all.
                    Some((_, failure)) if failure.phase == AttemptPhase::Connect => {
                        write!(f, "connecting to {target} stopped: {}", failure.message())?
                    }
                    Some((a, failure)) => write!(
                        f,
                        "connecting to {target} stopped: {} rejected the connection setup: {}",
                        a.endpoint,
                        failure.message()
                    )?,
                    None => write!(
                        f,
                        "connecting to {target} stopped: a connection setup was rejected"
                    )?,
                }
            }
            _ => {
                let first = self
                    .first_meaningful_failure()
                    .and_then(|a| a.failure.as_ref().map(|failure| (a.endpoint, failure)));
                match (n, first) {
                    // An IP literal is its own endpoint: naming it twice says nothing.
                    (1, Some((endpoint, failure))) if endpoint.to_string() == target => write!(
                        f,
                        "the only attempt to connect to {target} failed: {failure}"
                    )?,
                    (1, Some((endpoint, failure))) => write!(
                        f,
                        "the only attempt to connect to {target}, at {endpoint}, failed: {failure}"
                    )?,
                    (n, Some((endpoint, failure))) => write!(
                        f,
                        "all {n} attempts to connect to {target} failed; the first was {endpoint}: {failure}"
                    )?,
                    (n, None) => write!(
                        f,
                        "all {n} attempt{} to connect to {target} failed",
                        plural(n)
                    )?,
                }
            }
        }
        if f.alternate() {
            for query in &self.report.dns {
                write!(f, "\n  {query}")?;
            }
            for attempt in &self.report.attempts {
                write!(f, "\n  {attempt}")?;
            }
        }
        Ok(())
    }
}

/// The sentence already says what caused it (the input, the option, every query and
/// attempt), so no `source()` repeats it: a reporter walking the chain prints each
/// message once. The typed cause is [`ConnectError::input_error`] or
/// [`ConnectError::options_error`]; the story is [`ConnectError::report`].
impl StdError for ConnectError {}

impl From<ConnectError> for io::Error {
    /// When every attempt failed (or one was rejected), the `io::Error` is the first
    /// meaningful OS error itself, so that `raw_os_error()` and `kind()` read as if the
    /// connect had been a single `connect(2)`; the report is not kept then, so read it
    /// from the `ConnectError` before converting if you need it. Otherwise (invalid
    /// input, resolution, timeout, cancellation) the kind says what happened and the
    /// whole `ConnectError` travels inside, reachable with `get_ref()` and a downcast.
    fn from(error: ConnectError) -> Self {
        match (error.kind, error.raw_os_error()) {
            (ConnectErrorKind::AllAttemptsFailed | ConnectErrorKind::SetupRejected, Some(code)) => {
                io::Error::from_raw_os_error(code)
            }
            _ => io::Error::new(error.io_error_kind(), error),
        }
    }
}
