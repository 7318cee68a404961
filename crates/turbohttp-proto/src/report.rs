//! What a race leaves behind: one record per attempt, and the report of the whole race.

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::alt_svc::AltServiceRecord;
use crate::dns::{LookupFailure, QueryType};
use crate::service::{Protocols, ServiceRecord};
use crate::{AddressFamily, AttemptError, AttemptPhase};

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// This attempt's connection was returned to the caller.
    Won,
    /// The attempt failed on its own (refused, unreachable, reset, setup failed).
    Failed,
    /// The attempt's own deadline or the race's connect timeout ran out first.
    TimedOut,
    /// The race stopped the attempt: another attempt won, the caller cancelled, or a
    /// terminal failure ended the race. Its socket was closed.
    Cancelled,
}

impl AttemptOutcome {
    /// `"won"`, `"failed"`, `"timed_out"` or `"cancelled"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Won => "won",
            Self::Failed => "failed",
            Self::TimedOut => "timed_out",
            Self::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for AttemptOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an attempt failed, kept as plain data so that records can be cloned, compared
/// and printed long after the `io::Error` is gone.
///
/// A race keeps one record per attempt, so this is small (32 bytes) and, for what
/// attempts usually die of, owns no heap memory: an OS error is kept as its code and
/// kind, and its text (`Connection refused (os error 111)`) is rendered when the
/// failure is displayed; the race's own timeouts keep only their budget. Only an error
/// without an OS code whose text is its own (a TLS handshake's, a caller's dialer's)
/// keeps that text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptFailure {
    /// Where the attempt failed.
    pub phase: AttemptPhase,
    /// The `io::ErrorKind` of the failure.
    pub kind: io::ErrorKind,
    /// The OS error code (`errno`), when the OS reported one.
    pub os_error: Option<i32>,
    /// Whether this failure ended the race (a failure terminal by policy; of several
    /// reported at the same instant, only the one first in plan order, which decided).
    pub terminal: bool,
    /// What [`AttemptFailure::message`] renders.
    detail: Detail,
}

/// The message of a failure, as little as renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Detail {
    /// The OS error's text, from [`AttemptFailure::os_error`].
    Os,
    /// The text of the bare kind ([`AttemptFailure::kind`]), as `io::Error::from(kind)`
    /// reads.
    Kind,
    /// The attempt's own budget ran out.
    Budget(Duration),
    /// The attempt was still pending when the connect timeout ran out.
    RaceTimedOut,
    /// An error's own text. Boxed twice so that the whole stays 16 bytes: this is the
    /// rare case (no OS code).
    #[allow(clippy::box_collection)] // a thin pointer: 8 bytes, not a String's 24
    Text(Box<String>),
}

impl AttemptFailure {
    /// The record of `error`, as plain data. An error of its own words whose source is
    /// an OS error (a sentence that explains `EMFILE`, say) keeps both: its words, and
    /// the OS code in [`os_error`](Self::os_error).
    pub fn from_error(error: &AttemptError) -> Self {
        let io = error.io_error();
        let kind = io.kind();
        let own_code = io.raw_os_error();
        let wrapped_code = || {
            io.get_ref()
                .and_then(|inner| inner.source())
                .and_then(|source| source.downcast_ref::<io::Error>())
                .and_then(io::Error::raw_os_error)
        };
        let os_error = own_code.or_else(wrapped_code);
        let detail = if own_code.is_some() {
            // An OS error displays as `from_raw_os_error(code)` does: nothing to keep.
            Detail::Os
        } else {
            let text = io.to_string();
            if io.get_ref().is_none() && text == kind.to_string() {
                Detail::Kind
            } else {
                Detail::Text(Box::new(text))
            }
        };
        Self {
            phase: error.phase(),
            kind,
            os_error,
            terminal: error.is_terminal(),
            detail,
        }
    }

    /// An attempt whose own budget of `budget` ran out.
    pub fn timed_out(budget: Duration) -> Self {
        Self::connect_timeout(Detail::Budget(budget))
    }

    /// An attempt still pending when the connect timeout ran out.
    pub fn race_timed_out() -> Self {
        Self::connect_timeout(Detail::RaceTimedOut)
    }

    fn connect_timeout(detail: Detail) -> Self {
        Self {
            phase: AttemptPhase::Connect,
            kind: io::ErrorKind::TimedOut,
            os_error: None,
            terminal: false,
            detail,
        }
    }

    /// The error's message, without the phase (`Connection refused (os error 111)`,
    /// `no answer within its 2s budget`, a TLS handshake's words); rendered from the
    /// OS error code or the kind when there is one, borrowed when the error's own text
    /// was kept.
    pub fn message(&self) -> Cow<'_, str> {
        match &self.detail {
            Detail::Text(text) => Cow::Borrowed(text.as_str()),
            _ => Cow::Owned(DisplayMessage(self).to_string()),
        }
    }
}

impl AttemptFailure {
    /// How far the attempt got before it failed: what decides which failure leads a
    /// failed connect's story ([`RaceReport::leading_failure`]).
    pub fn depth(&self) -> FailureDepth {
        // The same numbers on Linux, the BSDs and macOS.
        const ENFILE: i32 = 23;
        const EMFILE: i32 = 24;
        match (self.phase, self.kind) {
            (AttemptPhase::Setup, _) => FailureDepth::Setup,
            (_, io::ErrorKind::ConnectionRefused | io::ErrorKind::TimedOut) => {
                FailureDepth::RefusedOrSilent
            }
            // Nothing left this machine: no route, no local address, no descriptor.
            (
                _,
                io::ErrorKind::NetworkUnreachable
                | io::ErrorKind::AddrNotAvailable
                | io::ErrorKind::OutOfMemory
                | io::ErrorKind::Unsupported,
            ) => FailureDepth::Local,
            _ if matches!(self.os_error, Some(ENFILE | EMFILE)) => FailureDepth::Local,
            _ => FailureDepth::Connect,
        }
    }

    /// A few words for this failure beside the one that leads: `refused the
    /// connection`, `did not answer in time`, `failed its setup`, or the message.
    pub fn in_brief(&self) -> Cow<'_, str> {
        match (self.phase, self.kind) {
            (AttemptPhase::Setup, _) => Cow::Borrowed("failed its setup"),
            (_, io::ErrorKind::ConnectionRefused) => Cow::Borrowed("refused the connection"),
            (_, io::ErrorKind::TimedOut) => Cow::Borrowed("did not answer in time"),
            _ => self.message(),
        }
    }
}

/// How far a failed attempt got, least first: a connection whose setup failed reached
/// the server and heard from it; a refusal or silence says the least.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FailureDepth {
    /// Nothing left this machine: no route to the network, a local address or
    /// interface that cannot be used, no descriptor or memory for a socket.
    Local,
    /// Refused (`ECONNREFUSED`), or no answer in time.
    RefusedOrSilent,
    /// Any other connect failure: the host unreachable, a reset.
    Connect,
    /// Connected, then the setup step (the TLS handshake) failed.
    Setup,
}

/// Writes a failure's message without allocating.
struct DisplayMessage<'a>(&'a AttemptFailure);

impl fmt::Display for DisplayMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failure = self.0;
        match (&failure.detail, failure.os_error) {
            (Detail::Os, Some(code)) => write!(f, "{}", io::Error::from_raw_os_error(code)),
            (Detail::Os | Detail::Kind, _) => write!(f, "{}", failure.kind),
            (Detail::Budget(budget), _) => {
                write!(
                    f,
                    "no answer within its {} budget",
                    DisplayDuration(*budget)
                )
            }
            (Detail::RaceTimedOut, _) => {
                f.write_str("still pending when the connect timeout ran out")
            }
            (Detail::Text(text), _) => f.write_str(text),
        }
    }
}

impl fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.phase == AttemptPhase::Setup {
            f.write_str("setup failed: ")?;
        }
        write!(f, "{}", DisplayMessage(self))
    }
}

/// One connection attempt of a race.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptRecord {
    /// The attempt's number, counting from 0 in the order attempts started.
    pub attempt: usize,
    /// The address dialed.
    pub endpoint: SocketAddr,
    /// Its family.
    pub family: AddressFamily,
    /// When the attempt started, from the start of the connect (resolution included).
    pub started: Duration,
    /// When it ended (connected, failed, timed out, or was cancelled), from the start of
    /// the connect; `None` only while the race is still running.
    pub ended: Option<Duration>,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// Why it failed or timed out; `None` for a winner and for cancelled attempts.
    pub failure: Option<AttemptFailure>,
    /// The HTTPS record the endpoint came from (its index in the HTTPS query's
    /// [`QueryRecord::services`]), if any.
    pub service: Option<u16>,
    /// The Alt-Svc alternative the endpoint came from (its index in
    /// [`RaceReport::alternatives`]), if any.
    pub alternative: Option<u16>,
    /// The protocols the attempt offers (its TLS ALPN list) when an HTTPS record or
    /// an Alt-Svc alternative narrowed them, and `h3` for every QUIC attempt;
    /// `None`: the caller's own list.
    pub alpn: Option<Protocols>,
    /// Whether the attempt offers Encrypted Client Hello: its record carries an
    /// `ech` configuration and the caller can use it ([`Race::with_ech`]).
    ///
    /// [`Race::with_ech`]: crate::race::Race::with_ech
    pub ech: bool,
    /// How the endpoint is dialed: TCP, or QUIC when the race may dial it
    /// ([`Race::with_quic`](crate::race::Race::with_quic)) and the endpoint came from
    /// an `h3` service.
    pub transport: crate::plan::Transport,
}

impl fmt::Display for AttemptRecord {
    /// `#0 [::1]:443 (IPv6) +0.0ms..+3.2ms failed: connection refused (os error 111)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {} ({}) +{}..",
            self.attempt,
            self.endpoint,
            self.family,
            DisplayDuration(self.started)
        )?;
        match self.ended {
            Some(ended) => write!(f, "+{}", DisplayDuration(ended))?,
            None => f.write_str("pending")?,
        }
        if let Some(alpn) = self.alpn {
            write!(f, " [{alpn}]")?;
        }
        if self.ech {
            f.write_str(" [ECH]")?;
        }
        if self.transport == crate::plan::Transport::Quic {
            f.write_str(" [QUIC]")?;
        }
        write!(f, " {}", self.outcome)?;
        if let Some(failure) = &self.failure {
            write!(f, ": {failure}")?;
        }
        Ok(())
    }
}

/// How one DNS query of a connect ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueryOutcome {
    /// The query has not ended (only while the race runs).
    Pending,
    /// The query answered with this many addresses (possibly none).
    Answered {
        /// How many addresses the answer carried, before deduplication.
        addresses: usize,
    },
    /// An HTTPS query answered with this many records (possibly none); they are in
    /// [`QueryRecord::services`].
    Records {
        /// How many records the answer carried.
        records: usize,
    },
    /// The query failed: NXDOMAIN, NODATA, SERVFAIL, a timeout of the resolver...
    Failed(LookupFailure),
    /// The connect timeout ran out before the query ended.
    TimedOut,
    /// The race ended (won, failed or cancelled) before the query did, so its answer
    /// was not needed; the query was dropped.
    Cancelled,
}

impl QueryOutcome {
    /// `"answered"`, `"nxdomain"`, `"nodata"`, `"servfail"`, `"refused"`,
    /// `"timed_out"`, `"bad_answer"`, `"error"`, `"cancelled"` or `"pending"`: the
    /// spelling of the command's JSON output. A query the resolver itself gave up on
    /// and one the connect timeout cut short both read `"timed_out"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Answered { .. } | Self::Records { .. } => "answered",
            Self::Failed(failure) => failure.kind.as_str(),
            Self::TimedOut => "timed_out",
            Self::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for QueryOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pending => f.write_str("pending"),
            Self::Answered { addresses: 1 } => f.write_str("1 address"),
            Self::Answered { addresses } => write!(f, "{addresses} addresses"),
            Self::Records { records: 1 } => f.write_str("1 record"),
            Self::Records { records } => write!(f, "{records} records"),
            Self::Failed(failure) => write!(f, "{}", failure),
            Self::TimedOut => f.write_str("no answer before the connect timeout"),
            Self::Cancelled => f.write_str("not needed: the race ended first"),
        }
    }
}

/// One DNS query of a connect (or the one-shot lookup of a resolver that answers every
/// family at once).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryRecord {
    /// What was asked.
    pub query: QueryType,
    /// The name asked, when it is not the origin's: an HTTPS record's target, or the
    /// name an AliasMode record led to.
    pub name: Option<String>,
    /// When it was sent, from the start of the connect.
    pub started: Duration,
    /// When it ended, from the start of the connect; `None` only while it runs.
    pub ended: Option<Duration>,
    /// How it ended.
    pub outcome: QueryOutcome,
    /// The addresses it answered, in the resolver's order, duplicates included.
    pub addresses: Vec<SocketAddr>,
    /// An HTTPS query's records, in the answer's order, each with what the race
    /// made of it.
    pub services: Vec<ServiceRecord>,
}

impl fmt::Display for QueryRecord {
    /// `AAAA +0ms..+12.3ms 2 addresses` or `A +0ms..+5s servfail: the server failed`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.query)?;
        if let Some(name) = &self.name {
            write!(f, " {name}")?;
        }
        write!(f, " +{}..", DisplayDuration(self.started))?;
        match self.ended {
            Some(ended) => write!(f, "+{} ", DisplayDuration(ended))?,
            None => f.write_str("pending ")?,
        }
        match &self.outcome {
            QueryOutcome::Failed(failure) => write!(f, "{}: {}", failure.kind.as_str(), failure)?,
            other => write!(f, "{other}")?,
        }
        // `{:#}`: each record of an HTTPS answer, and what the race made of it.
        if f.alternate() {
            for record in &self.services {
                write!(f, "\n    {}: {}", record.info, record.verdict)?;
            }
        }
        Ok(())
    }
}

/// The story of one connect: what was resolved, every attempt, and who won.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RaceReport {
    /// The host as the caller named it (IPv6 literals in brackets).
    pub host: String,
    /// The port.
    pub port: u16,
    /// The family dialed first.
    pub preferred_family: AddressFamily,
    /// The addresses the race chose from, after deduplication, in the order they
    /// were planned (resolver order within an answer, answers in arrival order).
    pub resolved: Vec<SocketAddr>,
    /// When the first address became known, from the start of the connect: the end
    /// of the first answer that carried one (zero for an IP literal; with racing
    /// disabled, the end of the last query, which it waits for). Until then no attempt
    /// could start.
    pub resolve_time: Duration,
    /// Every DNS query, in the order sent: AAAA and A for a resolver that queries
    /// each family, one `getaddrinfo` lookup for a one-shot resolver, none for an IP
    /// literal.
    pub dns: Vec<QueryRecord>,
    /// The Alt-Svc alternatives the caller gave (RFC 7838), each with what the race
    /// made of it, in the order given.
    pub alternatives: Vec<AltServiceRecord>,
    /// Whether the caller's memory of broken QUIC changed the plan: a QUIC endpoint
    /// the race would have dialed was left out, and TCP went at once
    /// ([`Race::quic_memory_used`](crate::race::Race::quic_memory_used)).
    pub quic_remembered_broken: bool,
    /// Every attempt that started, in the order they started.
    pub attempts: Vec<AttemptRecord>,
    /// The winning attempt's number, on success.
    pub winner: Option<usize>,
    /// The whole call, from entry to return (resolution included).
    pub elapsed: Duration,
}

impl RaceReport {
    /// An empty report for a connect to `host:port`.
    pub fn new(host: String, port: u16, preferred_family: AddressFamily) -> Self {
        Self {
            host,
            port,
            preferred_family,
            resolved: Vec::new(),
            resolve_time: Duration::ZERO,
            dns: Vec::new(),
            alternatives: Vec::new(),
            quic_remembered_broken: false,
            attempts: Vec::new(),
            winner: None,
            elapsed: Duration::ZERO,
        }
    }

    /// The winning attempt's record, on success.
    pub fn winning_attempt(&self) -> Option<&AttemptRecord> {
        self.winner.and_then(|w| self.attempts.get(w))
    }

    /// The failed attempt whose failure tells the most, which leads a failed connect's
    /// story: the one that got furthest ([`FailureDepth`]: a failed setup over any
    /// other connect failure, which beats a refusal or a timeout); among equals, one
    /// that carries an OS error code; then the first to start. `None` when no attempt
    /// failed or timed out.
    ///
    /// A `[::1]` that refused and a `127.0.0.1` whose TLS handshake found plain HTTP:
    /// the handshake leads, whatever the order of the addresses.
    pub fn leading_failure(&self) -> Option<&AttemptRecord> {
        self.attempts
            .iter()
            .filter_map(|a| a.failure.as_ref().map(|f| (a, f)))
            .min_by_key(|(a, f)| {
                (
                    std::cmp::Reverse(f.depth()),
                    f.os_error.is_none(),
                    a.attempt,
                )
            })
            .map(|(a, _)| a)
    }

    /// `host:port`, as the caller named it.
    pub fn target(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// `{}` is one line: who won, where and when, or that nobody did. `{:#}` adds every
/// query and attempt, one per line, as a failed connect's `{:#}` does:
///
/// ```text
/// connected to dual.test:443 at 127.0.0.1:443 in 251.2ms (attempt #1 of 2)
///   AAAA +0ms..+0.4ms 1 address
///   A +0ms..+0.4ms 1 address
///   #0 [::1]:443 (IPv6) +0.5ms..+251.2ms cancelled
///   #1 127.0.0.1:443 (IPv4) +250.5ms..+251.2ms won
/// ```
impl fmt::Display for RaceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let elapsed = DisplayDuration(self.elapsed);
        let n = self.attempts.len();
        match self.winning_attempt() {
            Some(won) => write!(
                f,
                "connected to {} at {} in {elapsed} (attempt #{} of {n})",
                self.target(),
                won.endpoint,
                won.attempt
            )?,
            None => write!(
                f,
                "no connection to {} after {elapsed} ({n} attempt{})",
                self.target(),
                if n == 1 { "" } else { "s" }
            )?,
        }
        if f.alternate() {
            for query in &self.dns {
                write!(f, "\n  {query:#}")?;
            }
            if self.quic_remembered_broken {
                f.write_str("\n  QUIC not tried: remembered broken for this origin")?;
            }
            for attempt in &self.attempts {
                write!(f, "\n  {attempt}")?;
            }
        }
        Ok(())
    }
}

/// Durations as operators read them: `250ms`, `1.5s`, `0.042ms`.
#[derive(Debug, Clone, Copy)]
pub struct DisplayDuration(pub Duration);

impl fmt::Display for DisplayDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Choose the unit after rounding to the printed precision, so that 999.9996ms
        // reads "1s" rather than "1000ms".
        let ms = (self.0.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
        if ms >= 1000.0 {
            write!(f, "{}s", trim(format!("{:.3}", ms / 1000.0)))
        } else {
            write!(f, "{}ms", trim(format!("{ms:.3}")))
        }
    }
}

fn trim(mut s: String) -> String {
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        let d = |ms: u64| DisplayDuration(Duration::from_millis(ms)).to_string();
        assert_eq!(d(250), "250ms");
        assert_eq!(d(1500), "1.5s");
        assert_eq!(d(0), "0ms");
        assert_eq!(
            DisplayDuration(Duration::from_micros(42)).to_string(),
            "0.042ms"
        );
    }
}
