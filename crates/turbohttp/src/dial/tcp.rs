//! [`TcpDialer`]: a TCP connect with socket options and nothing after it.

use std::net::SocketAddr;

use tokio::net::TcpStream;
use turbohttp_proto::AttemptError;

use super::Dialer;
use super::socket::{SocketOptions, connect_socket};

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
