//! Opening one connection to one address: the [`Dialer`] trait, the error of a single
//! attempt, and the plain TCP dialer.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpStream;

use crate::transport::socket_options::{SocketOptions, connect_socket};

/// Opens a connection to one socket address and runs any per-connection setup on it
/// (socket options, a TLS handshake). One call is one attempt of the race.
///
/// The race drops the returned future to cancel an attempt, so an implementation must
/// release everything it holds (the socket above all) when dropped.
pub trait Dialer: Send + Sync {
    /// The connection an attempt yields.
    type Stream: Send + 'static;

    /// Dials `addr` and sets the connection up.
    fn dial(
        &self,
        addr: SocketAddr,
    ) -> impl Future<Output = Result<Self::Stream, AttemptError>> + Send;
}

impl<D: Dialer + ?Sized> Dialer for &D {
    type Stream = D::Stream;
    fn dial(
        &self,
        addr: SocketAddr,
    ) -> impl Future<Output = Result<Self::Stream, AttemptError>> + Send {
        (**self).dial(addr)
    }
}

impl<D: Dialer + ?Sized> Dialer for Arc<D> {
    type Stream = D::Stream;
    fn dial(
        &self,
        addr: SocketAddr,
    ) -> impl Future<Output = Result<Self::Stream, AttemptError>> + Send {
        (**self).dial(addr)
    }
}

/// A TCP connect with socket options and no setup step, through the same
/// [`connect_socket`] as the transport, so that both set sockets up alike. The default
/// options are the transport's (`TCP_NODELAY` on, keepalive).
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpDialer {
    /// The options set on every socket.
    pub socket: SocketOptions,
}

impl Dialer for TcpDialer {
    type Stream = TcpStream;

    async fn dial(&self, addr: SocketAddr) -> Result<TcpStream, AttemptError> {
        connect_socket(addr, &self.socket).await
    }
}

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

impl std::error::Error for AttemptError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}
