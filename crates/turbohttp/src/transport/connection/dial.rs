//! Opening one connection to one address: the [`Dialer`] trait and the plain TCP
//! dialer.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpStream;

use turbohttp_proto::AttemptError;

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
#[derive(Debug, Clone, Default)]
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
