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
/// `Display` is one sentence that names the attempt that got furthest
/// ([`RaceReport::leading_failure`]) and how the others failed, in a few words; that
/// attempt's own error is the [`source`](StdError::source), an [`io::Error`] with its
/// kind and OS code, as hyper-util's `HttpConnector` chains one. A reporter that walks
/// the chain (anyhow's `{:#}`, eyre) prints every message once:
///
/// ```text
/// all 2 attempts to connect to localhost:8002 failed ([::1]:8002 refused the
/// connection); 127.0.0.1:8002 connected, then its setup failed: the server did not
/// answer with TLS (received corrupt message of type InvalidContentType): it is
/// probably a plain-HTTP port (try http://) or another protocol
/// ```
///
/// The alternate form (`{:#}`) is the whole story without walking: the sentence, the
/// leading failure, then one line per query and attempt. It converts into an
/// [`io::Error`] that keeps the leading OS error code.
#[derive(Debug)]
pub struct ConnectError {
    kind: ConnectErrorKind,
    cause: Cause,
    report: Box<RaceReport>,
    /// The leading failure (or the timeout) as an `io::Error`: the chain's next link.
    source: Option<io::Error>,
}

impl ConnectError {
    pub(crate) fn new(kind: ConnectErrorKind, report: RaceReport) -> Self {
        let mut error = Self {
            kind,
            cause: Cause::None,
            report: Box::new(report),
            source: None,
        };
        error.source = error.source_error();
        error
    }

    pub(crate) fn input(error: InputError, report: RaceReport) -> Self {
        Self {
            kind: ConnectErrorKind::InvalidInput,
            cause: Cause::Input(error),
            report: Box::new(report),
            source: None,
        }
    }

    pub(crate) fn options(error: OptionsError, report: RaceReport) -> Self {
        Self {
            kind: ConnectErrorKind::InvalidInput,
            cause: Cause::Options(error),
            report: Box::new(report),
            source: None,
        }
    }

    /// The chain's next link: the failure that sums the error up, as an `io::Error`
    /// (the OS error itself when there is one), or the connect timeout.
    fn source_error(&self) -> Option<io::Error> {
        match self.kind {
            ConnectErrorKind::AllAttemptsFailed | ConnectErrorKind::SetupRejected => {
                self.deciding_failure().map(failure_io_error)
            }
            ConnectErrorKind::TimedOut => Some(io::Error::new(
                io::ErrorKind::TimedOut,
                "the connect timeout ran out",
            )),
            _ => None,
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

    /// The attempt whose failure leads the story: for
    /// [`ConnectErrorKind::SetupRejected`] the terminal one that stopped the race,
    /// otherwise the one that got furthest ([`RaceReport::leading_failure`]).
    pub fn leading_attempt(&self) -> Option<&AttemptRecord> {
        match self.kind {
            ConnectErrorKind::SetupRejected => self
                .report
                .attempts
                .iter()
                .find(|a| a.failure.as_ref().is_some_and(|f| f.terminal)),
            _ => self.report.leading_failure(),
        }
    }

    /// The OS error code (`errno`) of the leading failure, for telemetry; `None` when
    /// that failure had none (a TLS handshake's).
    pub fn raw_os_error(&self) -> Option<i32> {
        self.deciding_failure().and_then(|f| f.os_error)
    }

    fn deciding_failure(&self) -> Option<&AttemptFailure> {
        self.leading_attempt().and_then(|a| a.failure.as_ref())
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

    /// Whether `lead` got further than every other failed attempt, not only as far.
    fn strictly_furthest(&self, lead: &AttemptRecord) -> bool {
        let depth = |a: &AttemptRecord| a.failure.as_ref().map(AttemptFailure::depth);
        self.report
            .attempts
            .iter()
            .filter(|a| a.attempt != lead.attempt)
            .all(|a| depth(a) < depth(lead))
    }

    /// How the attempts other than `lead` failed, a few words each, in start order:
    /// ` ([::1]:8002 refused the connection, [::1]:8003 did not answer in time)`.
    fn write_others(&self, f: &mut fmt::Formatter<'_>, lead: usize) -> fmt::Result {
        /// Beyond this many, the rest are counted, not listed (`{:#}` lists them).
        const LISTED: usize = 3;
        let others = self
            .report
            .attempts
            .iter()
            .filter(|a| a.attempt != lead)
            .filter_map(|a| a.failure.as_ref().map(|failure| (a.endpoint, failure)));
        let mut count = 0;
        for (endpoint, failure) in others {
            if count < LISTED {
                f.write_str(if count == 0 { " (" } else { ", " })?;
                write!(f, "{endpoint} {}", failure.in_brief())?;
            }
            count += 1;
        }
        match count {
            0 => Ok(()),
            1..=LISTED => f.write_str(")"),
            _ => write!(f, ", and {} more)", count - LISTED),
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
            // The source says that the timeout ran out.
            (ConnectErrorKind::TimedOut, _) if n == 0 && !self.report.dns.is_empty() => {
                write!(
                    f,
                    "connecting to {target} stopped after {elapsed} while resolving ("
                )?;
                self.write_queries(f)?;
                f.write_str(")")?
            }
            (ConnectErrorKind::TimedOut, _) => {
                write!(
                    f,
                    "connecting to {target} stopped after {elapsed} ({n} attempt{} started",
                    plural(n)
                )?;
                // An attempt that failed on its own before the timeout says the most.
                if let Some(lead) = self.report.leading_failure()
                    && lead.outcome == AttemptOutcome::Failed
                    && let Some(failure) = &lead.failure
                {
                    let how = if self.strictly_furthest(lead) {
                        "got furthest"
                    } else {
                        "failed"
                    };
                    write!(f, "; {} {how}: {failure}", lead.endpoint)?
                }
                f.write_str(")")?
            }
            (ConnectErrorKind::Cancelled, _) => write!(
                f,
                "connecting to {target} was cancelled after {elapsed} ({n} attempt{} started)",
                plural(n)
            )?,
            // In each arm below, the source is the leading failure's own words.
            (ConnectErrorKind::SetupRejected, _) => match self.leading_attempt() {
                // Refused on this host (an interface that cannot be bound): no peer to
                // blame, the cause says it all.
                Some(a)
                    if a.failure
                        .as_ref()
                        .is_some_and(|f| f.phase == AttemptPhase::Connect) =>
                {
                    write!(f, "connecting to {target} stopped")?
                }
                Some(a) => write!(
                    f,
                    "connecting to {target} stopped: {} rejected the connection setup",
                    a.endpoint
                )?,
                None => write!(
                    f,
                    "connecting to {target} stopped: a connection setup was rejected"
                )?,
            },
            _ => match (n, self.leading_attempt()) {
                (1, Some(a)) => {
                    f.write_str("the only attempt to connect to ")?;
                    f.write_str(&target)?;
                    // An IP literal is its own endpoint: naming it twice says nothing.
                    if a.endpoint.to_string() != target {
                        write!(f, ", at {},", a.endpoint)?;
                    }
                    f.write_str(if in_setup(a) {
                        " connected, then its setup failed"
                    } else {
                        " failed"
                    })?
                }
                (n, Some(lead)) => {
                    write!(f, "all {n} attempts to connect to {target} failed")?;
                    self.write_others(f, lead.attempt)?;
                    if in_setup(lead) {
                        write!(f, "; {} connected, then its setup failed", lead.endpoint)?
                    } else if self.strictly_furthest(lead) {
                        write!(f, "; {} got furthest", lead.endpoint)?
                    } else {
                        // Among equals, the first leads: it got no further than the rest.
                        write!(f, "; the first was {}", lead.endpoint)?
                    }
                }
                (n, None) => write!(
                    f,
                    "all {n} attempt{} to connect to {target} failed",
                    plural(n)
                )?,
            },
        }
        if f.alternate() {
            if let Some(source) = &self.source {
                write!(f, ": {source}")?;
            }
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

/// The source is the leading failure as an `io::Error` (its kind and OS code), or the
/// connect timeout; the sentence does not repeat it, so a reporter walking the chain
/// prints each message once. Invalid input, options and DNS failures are in the
/// sentence itself and have no source: their typed causes are
/// [`ConnectError::input_error`] and [`ConnectError::options_error`]; the whole story
/// is [`ConnectError::report`].
impl StdError for ConnectError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_ref().map(|e| e as &(dyn StdError + 'static))
    }
}

/// A failure of the report as the `io::Error` it was: the OS error itself when it is
/// all the failure says (its kind and `raw_os_error` intact); the failure's own words
/// with the OS error as their source when it has both (a sentence that explains
/// `EMFILE`); else its kind and its words.
fn failure_io_error(failure: &AttemptFailure) -> io::Error {
    let words = failure.message();
    match failure.os_error {
        Some(code) => {
            let os = io::Error::from_raw_os_error(code);
            if words == os.to_string() {
                os
            } else {
                io::Error::new(
                    failure.kind,
                    Explained {
                        words: words.into_owned(),
                        os,
                    },
                )
            }
        }
        None => io::Error::new(failure.kind, words.into_owned()),
    }
}

/// A failure's own words, with the OS error they explain as the source.
#[derive(Debug)]
struct Explained {
    words: String,
    os: io::Error,
}

impl fmt::Display for Explained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.words)
    }
}

impl StdError for Explained {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.os)
    }
}

/// Whether the attempt connected and then failed in its setup (the TLS handshake).
fn in_setup(attempt: &AttemptRecord) -> bool {
    attempt
        .failure
        .as_ref()
        .is_some_and(|f| f.phase == AttemptPhase::Setup)
}

impl From<ConnectError> for io::Error {
    /// When every attempt failed (or one was rejected), the `io::Error` is the leading
    /// failure's OS error itself, if it has one, so that `raw_os_error()` and `kind()` read as if the
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
