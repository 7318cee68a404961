//! Opening one connection to one address: the [`Dialer`] trait, and the pieces a
//! dialer is made of: socket options and the one function that opens a socket with
//! them (`socket.rs`), plain TCP (`tcp.rs`), TLS (`tls/`), the stream either yields
//! (`stream.rs`), and the transport's dialer that puts them together
//! (`raw_socket.rs`).

mod raw_socket;
mod socket;
mod stream;
mod tcp;
mod tls;

pub use raw_socket::RawSocketDialer;
pub use socket::{
    DEFAULT_KEEPALIVE, MAX_INTERFACE_NAME_LEN, SocketOptions, SocketOptionsError,
    SocketUnavailable, connect_socket,
};
pub use stream::TransportStream;
pub use tcp::TcpDialer;
pub(crate) use tls::classify_handshake_error;
pub use tls::{
    ALPN_H2, ALPN_HTTP_1_1, CertificateRejected, ClientCertificate, HandshakeRefused, PemError,
    TlsConfigError, TlsFailurePolicy, TlsHandshake, TlsOptions, TlsVersion, crypto_provider,
    server_name_of,
};

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use turbohttp_proto::AttemptError;
use turbohttp_proto::service::Protocols;

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

    /// Dials `addr` for an endpoint of an HTTPS record, offering only `alpn` of the
    /// protocols it would offer (`None`: what it offers anyway). The race calls this
    /// for every attempt. The default ignores `alpn` and dials.
    fn dial_offering(
        &self,
        addr: SocketAddr,
        alpn: Option<Protocols>,
    ) -> impl Future<Output = Result<Self::Stream, AttemptError>> + Send {
        let _ = alpn;
        self.dial(addr)
    }
}

impl<D: Dialer + ?Sized> Dialer for &D {
    type Stream = D::Stream;
    fn dial(
        &self,
        addr: SocketAddr,
    ) -> impl Future<Output = Result<Self::Stream, AttemptError>> + Send {
        (**self).dial(addr)
    }
    fn dial_offering(
        &self,
        addr: SocketAddr,
        alpn: Option<Protocols>,
    ) -> impl Future<Output = Result<Self::Stream, AttemptError>> + Send {
        (**self).dial_offering(addr, alpn)
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
    fn dial_offering(
        &self,
        addr: SocketAddr,
        alpn: Option<Protocols>,
    ) -> impl Future<Output = Result<Self::Stream, AttemptError>> + Send {
        (**self).dial_offering(addr, alpn)
    }
}
