//! [`QuicConnection`], a QUIC attempt's winner, and [`Connection`]: the winner of a
//! race over QUIC and TCP.

use std::io;
use std::net::SocketAddr;

use crate::dial::stream::TransportStream;

/// ALPN id of HTTP/3.
pub(crate) const ALPN_H3: &[u8] = b"h3";

/// A QUIC connection whose handshake completed (TLS 1.3, ALPN `h3`). Dropping the last
/// handle closes it (CONNECTION_CLOSE sent).
#[derive(Debug, Clone)]
pub struct QuicConnection {
    connection: quinn::Connection,
}

impl QuicConnection {
    pub(crate) fn new(connection: quinn::Connection) -> Self {
        Self { connection }
    }

    /// The quinn connection, for streams of one's own.
    pub fn connection(&self) -> &quinn::Connection {
        &self.connection
    }

    /// The quinn connection (for h3-quinn's `Connection::new`).
    pub fn into_inner(self) -> quinn::Connection {
        self.connection
    }

    /// The server's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.connection.remote_address()
    }

    /// The ALPN protocol the server chose (`b"h3"`).
    pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
        let data = self.connection.handshake_data()?;
        let data = data
            .downcast::<quinn::crypto::rustls::HandshakeData>()
            .ok()?;
        data.protocol
    }
}

/// The winner of a race over QUIC and TCP
/// ([`RawSocketTransport::connect_any`](crate::RawSocketTransport::connect_any)).
#[derive(Debug)]
#[non_exhaustive]
pub enum Connection {
    /// TCP, with TLS for https: speak HTTP/2 or HTTP/1.1 on it (hyper).
    Tcp(TransportStream),
    /// QUIC: speak HTTP/3 on it (h3, feature `http3`).
    Quic(QuicConnection),
}

impl Connection {
    /// The server's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Self::Tcp(stream) => stream.peer_addr(),
            Self::Quic(quic) => Ok(quic.peer_addr()),
        }
    }

    /// Whether QUIC won.
    pub fn is_quic(&self) -> bool {
        matches!(self, Self::Quic(_))
    }

    /// The ALPN protocol the server chose: `h3` over QUIC, `h2` or `http/1.1` over TLS.
    pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
        match self {
            Self::Tcp(stream) => stream.alpn_protocol().map(<[u8]>::to_vec),
            Self::Quic(quic) => quic.alpn_protocol(),
        }
    }
}
