//! Why one connection attempt failed, and whether that ends the race: what a dialer
//! reports and the race reads.

use std::fmt;
use std::io;

/// Where in an attempt a failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttemptPhase {
    /// The TCP connect itself.
    Connect,
    /// After TCP connected: socket options, the TLS handshake.
    Setup,
}

impl fmt::Display for AttemptPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::Setup => "setup",
        })
    }
}

/// Why one attempt failed, and whether that failure ends the whole race.
#[derive(Debug)]
pub struct AttemptError {
    phase: AttemptPhase,
    terminal: bool,
    error: io::Error,
}

impl AttemptError {
    /// The TCP connect failed; the race goes on with the next address.
    pub fn connect(error: io::Error) -> Self {
        Self {
            phase: AttemptPhase::Connect,
            terminal: false,
            error,
        }
    }

    /// TCP connected but the setup failed; the race goes on with the next address.
    pub fn setup(error: io::Error) -> Self {
        Self {
            phase: AttemptPhase::Setup,
            terminal: false,
            error,
        }
    }

    /// The setup failed in a way no other address can fix (for example a certificate
    /// that does not verify for the host): the race stops with this error.
    pub fn terminal(error: io::Error) -> Self {
        Self {
            phase: AttemptPhase::Setup,
            terminal: true,
            error,
        }
    }

    /// The attempt could not leave this host, in a way no other address can fix (a
    /// local interface that does not exist, or that this process may not bind): the
    /// race stops with this error, which is the connect phase's, not a peer's.
    pub fn local(error: io::Error) -> Self {
        Self {
            phase: AttemptPhase::Connect,
            terminal: true,
            error,
        }
    }

    /// Where the attempt failed.
    pub fn phase(&self) -> AttemptPhase {
        self.phase
    }

    /// Whether the failure stops the race.
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// The underlying IO error.
    pub fn io_error(&self) -> &io::Error {
        &self.error
    }

    /// Takes the underlying IO error.
    pub fn into_io_error(self) -> io::Error {
        self.error
    }
}

impl fmt::Display for AttemptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.phase, self.error)
    }
}

/// The message already holds the IO error's, so `source()` does not repeat it; the
/// error itself is [`AttemptError::io_error`].
impl std::error::Error for AttemptError {}
