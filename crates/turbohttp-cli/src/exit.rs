//! Exit codes (curl's, where curl has one) and the error that carries one.

use std::fmt;

use turbohttp::AttemptPhase;
use turbohttp::{ConnectError, ConnectErrorKind};

/// Everything went well.
pub const OK: u8 = 0;
/// `doctor`: the host is reachable, but a finding says something is broken or slow.
/// curl has no code for a half-working host; its 1 ("unsupported protocol") is one
/// turbohttp never returns, and 1 is what health checks commonly read as "warning".
pub const DEGRADED: u8 = 1;
/// A malformed argument or option (curl: 2, "failed to initialize").
pub const USAGE: u8 = 2;
/// The host could not be resolved, or has no address of the requested family.
pub const RESOLVE: u8 = 6;
/// Every connection attempt failed.
pub const CONNECT: u8 = 7;
/// `get --fail` and the server answered 400 or more (curl: 22).
pub const HTTP_STATUS: u8 = 22;
/// The body could not be written (curl: 23, "write error").
pub const WRITE: u8 = 23;
/// The connect timeout ran out.
pub const TIMEOUT: u8 = 28;
/// A TLS handshake or certificate failure (curl: 35, "SSL connect error").
pub const TLS: u8 = 35;
/// The race was cancelled (curl: 42, "aborted by callback"): `simulate --cancel-after`.
pub const CANCELLED: u8 = 42;
/// A local interface could not be used (curl: 45, "interface error").
pub const INTERFACE: u8 = 45;
/// The HTTP exchange failed after connecting (curl: 56, "failure receiving network data").
pub const HTTP: u8 = 56;
/// HTTP/3 failed over a QUIC connection that won (curl: 95, "HTTP/3 layer problem").
pub const HTTP3: u8 = 95;

/// Every exit code and the failure it means: `--help` prints this table and the README
/// shows it (a test checks that the two agree).
pub const TABLE: &[(u8, &str)] = &[
    (OK, "success"),
    (
        DEGRADED,
        "doctor: reachable, but something is broken or slow (see its findings)",
    ),
    (USAGE, "a malformed argument or option"),
    (
        RESOLVE,
        "the host could not be resolved, or has no address of the requested family",
    ),
    (
        CONNECT,
        "no connection: every attempt was refused, timed out or failed to connect",
    ),
    (
        HTTP_STATUS,
        "get --fail: the server answered with a status of 400 or more",
    ),
    (WRITE, "the body could not be written"),
    (TIMEOUT, "the connect timeout ran out"),
    (
        TLS,
        "the attempt that got furthest failed its TLS handshake, or a certificate was rejected",
    ),
    (
        CANCELLED,
        "the race was cancelled (simulate --cancel-after)",
    ),
    (INTERFACE, "a local interface could not be used"),
    (HTTP, "the HTTP exchange failed after connecting"),
    (HTTP3, "HTTP/3 failed over the QUIC connection that won"),
];

/// [`TABLE`] as `--help` prints it, one code a line.
pub fn help_text() -> String {
    let mut text = String::from("Exit codes (curl's where curl has one):\n");
    for (code, meaning) in TABLE {
        text.push_str(&format!("  {code:>2}  {meaning}\n"));
    }
    text
}

/// [`TABLE`] as the README shows it, a Markdown table.
pub fn markdown_table() -> String {
    let mut text = String::from("| exit code | failure |\n|---:|---|\n");
    for (code, meaning) in TABLE {
        text.push_str(&format!("| {code} | {meaning} |\n"));
    }
    text
}

/// A failure of the command: the exit code and the one-line message for standard error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// The exit code.
    pub code: u8,
    /// The message, without the `turbohttp: error: ` prefix.
    pub message: String,
    /// Whether the message was already reported (in a JSON object), so that only the
    /// exit code is left to give.
    pub reported: bool,
}

impl CliError {
    /// An error with this exit code.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            reported: false,
        }
    }

    /// A usage error about one argument: `--stagger: ...` (exit 2).
    pub fn usage(arg: &str, message: impl fmt::Display) -> Self {
        Self::new(USAGE, format!("{arg}: {message}"))
    }

    /// The same error, marked as already reported.
    pub fn reported(mut self) -> Self {
        self.reported = true;
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// The exit code of a failed connect.
///
/// `InvalidInput` → 2, `Resolve`/`NoAddresses`/`FamilyUnavailable` → 6,
/// `AllAttemptsFailed` → 7, or 35 when `tls` and the attempt that got furthest
/// ([`ConnectError::leading_attempt`]) failed in its TLS setup, whatever the order
/// of the addresses; `TimedOut` → 28 (35 on the same condition: a stalled address
/// beside a TLS failure), `SetupRejected` → 35 (45 when it was this
/// host's interface, not the peer, that refused), `Cancelled` → 42.
pub fn connect_code(error: &ConnectError, tls: bool) -> u8 {
    match error.kind() {
        ConnectErrorKind::InvalidInput => USAGE,
        ConnectErrorKind::Resolve
        | ConnectErrorKind::NoAddresses
        | ConnectErrorKind::FamilyUnavailable => RESOLVE,
        // An attempt that got as far as TLS says more than the one that stalled.
        ConnectErrorKind::TimedOut if tls && leading_failed_in_setup(error) => TLS,
        ConnectErrorKind::TimedOut => TIMEOUT,
        ConnectErrorKind::Cancelled => CANCELLED,
        ConnectErrorKind::SetupRejected if rejected_locally(error) => INTERFACE,
        ConnectErrorKind::SetupRejected => TLS,
        ConnectErrorKind::AllAttemptsFailed if tls && leading_failed_in_setup(error) => TLS,
        _ => CONNECT,
    }
}

/// The terminal failure happened before the connect left this host (an interface that
/// cannot be bound), which the race records in the connect phase.
fn rejected_locally(error: &ConnectError) -> bool {
    error
        .report()
        .attempts
        .iter()
        .filter_map(|a| a.failure.as_ref())
        .any(|f| f.terminal && f.phase == AttemptPhase::Connect)
}

fn leading_failed_in_setup(error: &ConnectError) -> bool {
    error
        .leading_attempt()
        .and_then(|a| a.failure.as_ref())
        .is_some_and(|f| f.phase == AttemptPhase::Setup)
}

/// An error and its sources joined with ": ": the one line the command prints.
pub fn sentence(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(source) = next {
        text.push_str(": ");
        text.push_str(&source.to_string());
        next = source.source();
    }
    text
}
