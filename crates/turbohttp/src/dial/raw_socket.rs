//! [`RawSocketDialer`]: the transport's dialer, which gives each attempt its socket
//! options and, for `https`, its TLS handshake.
//!
//! "Raw socket" is the seed's name (`RawSocketTransport.cs`): a socket as the OS gives
//! it, with no pool and no HTTP on it yet; it is not a `SOCK_RAW` socket.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_util::either::Either;
use turbohttp_proto::AttemptError;

use super::socket::{SocketOptions, connect_socket};
use super::stream::TransportStream;
use super::tls::Handshake;
use super::tls::TlsHandshake;
use super::{Dialer, Offer};

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
        self.dial_offering(addr, Offer::default())
    }

    /// Offers in TLS only the ALPN ids of its list that `offer.alpn` (an HTTPS
    /// record's protocols) holds, and ECH with `offer.ech`.
    fn dial_offering(
        &self,
        addr: SocketAddr,
        offer: Offer,
    ) -> impl Future<Output = Result<TransportStream, AttemptError>> + Send {
        match &self.tls {
            None => Either::Left(async move {
                connect_socket(addr, &self.socket)
                    .await
                    .map(TransportStream::Plain)
            }),
            // Boxed whole: a handshake's state (and the offer it needs) is large, and
            // a plain-TCP attempt should not carry room for it.
            Some(tls) => Either::Right(Box::pin(async move {
                let tcp = connect_socket(addr, &self.socket).await?;
                let stream = self.handshake(tls, addr, tcp, offer).await?;
                Ok(TransportStream::Tls(Box::new(stream)))
            })),
        }
    }

    fn offers_ech(&self) -> bool {
        self.tls.as_ref().is_some_and(TlsHandshake::offers_ech)
    }
}

impl RawSocketDialer {
    /// The TLS handshake on `tcp`; when the server did not accept ECH and sent other
    /// configurations, once more with them on a new connection (RFC 9849 §6.1.6:
    /// a client retries once, and the server's public name was verified first).
    async fn handshake(
        &self,
        tls: &TlsHandshake,
        addr: SocketAddr,
        tcp: TcpStream,
        offer: Offer,
    ) -> Result<TlsStream<TcpStream>, AttemptError> {
        match tls.handshake(tcp, &offer).await {
            Ok(stream) => Ok(stream),
            Err(Handshake::Failed(error)) => Err(error),
            Err(Handshake::EchRetry(list)) => {
                tracing::debug!(%addr, "ECH not accepted; retrying once with the server's configurations");
                let tcp = connect_socket(addr, &self.socket).await?;
                tls.run_offering(tcp, &offer.with_ech(list)).await
            }
        }
    }
}
