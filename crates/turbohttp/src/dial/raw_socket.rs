//! [`RawSocketDialer`]: the transport's dialer, which gives each attempt its socket
//! options and, for `https`, its TLS handshake.
//!
//! "Raw socket" is the seed's name (`RawSocketTransport.cs`): a socket as the OS gives
//! it, with no pool and no HTTP on it yet; it is not a `SOCK_RAW` socket.

use std::future::Future;
use std::net::SocketAddr;

use turbohttp_proto::AttemptError;
use turbohttp_proto::service::Protocols;

use super::Dialer;
use super::socket::{SocketOptions, connect_socket};
use super::stream::TransportStream;
use super::tls::TlsHandshake;

/// Dials one address for a [`RawSocketTransport`](crate::RawSocketTransport): [`connect_socket`] (socket options,
/// local bind, TCP connect), then the TLS handshake if there is one. An attempt is won
/// only once both are done, so every path of the race (racing, sequential, one family)
/// yields connections set up the same way.
#[derive(Debug, Clone)]
pub struct RawSocketDialer {
    socket: SocketOptions,
    tls: Option<TlsHandshake>,
}

impl RawSocketDialer {
    /// A dialer that applies `socket` to every connection and then runs `tls`, if any.
    pub fn new(socket: SocketOptions, tls: Option<TlsHandshake>) -> Self {
        Self { socket, tls }
    }

    /// The socket options.
    pub fn socket_options(&self) -> &SocketOptions {
        &self.socket
    }

    /// The TLS step, if any.
    pub fn tls(&self) -> Option<&TlsHandshake> {
        self.tls.as_ref()
    }
}

impl Dialer for RawSocketDialer {
    type Stream = TransportStream;

    fn dial(
        &self,
        addr: SocketAddr,
    ) -> impl Future<Output = Result<TransportStream, AttemptError>> + Send {
        // The same future, not one awaiting it: no second layer of state.
        self.dial_offering(addr, None)
    }

    /// Offers in TLS only the ALPN ids of its list that `alpn` (an HTTPS record's
    /// protocols) holds.
    async fn dial_offering(
        &self,
        addr: SocketAddr,
        alpn: Option<Protocols>,
    ) -> Result<TransportStream, AttemptError> {
        let tcp = connect_socket(addr, &self.socket).await?;
        match &self.tls {
            None => Ok(TransportStream::Plain(tcp)),
            // Boxed: a handshake's state is large, and a plain-TCP attempt should not
            // carry room for it.
            Some(tls) => Ok(TransportStream::Tls(Box::new(
                Box::pin(tls.run_offering(tcp, alpn)).await?,
            ))),
        }
    }
}
