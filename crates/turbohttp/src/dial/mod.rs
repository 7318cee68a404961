//! Opening one connection to one address: the [`Dialer`] trait, and the pieces a
//! dialer is made of: socket options and the one function that opens a socket with
//! them (`socket.rs`), plain TCP (`tcp.rs`), TLS (`tls/`), the stream either yields
//! (`stream.rs`), and the transport's dialer that puts them together
//! (`raw_socket.rs`).

#[cfg(feature = "quic")]
mod quic;
mod raw_socket;
mod socket;
mod stream;
mod tcp;
mod tls;

#[cfg(feature = "quic")]
pub use quic::{
    Connection, EndpointDialer, QuicConnection, QuicDialer, QuicEndpoints, QuicRefused,
    quic_client_config,
};
pub use raw_socket::RawSocketDialer;
/// Whether and how a TLS connection used Encrypted Client Hello.
pub use rustls::client::EchStatus;
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
use turbohttp_proto::plan::Transport;
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

    /// Dials `addr` for an endpoint of an HTTPS record, offering what `offer` says
    /// (of the protocols it would offer, only `offer.alpn`; ECH with `offer.ech`).
    /// The race calls this for every attempt. The default ignores `offer` and dials.
    fn dial_offering(
        &self,
        addr: SocketAddr,
        offer: Offer,
    ) -> impl Future<Output = Result<Self::Stream, AttemptError>> + Send {
        let _ = offer;
        self.dial(addr)
    }

    /// Whether it can offer Encrypted Client Hello ([`Offer::ech`]): the race then
    /// reads HTTPS records' `ech` keys (records with one first; none but them when
    /// every record has one). Default false: they are ignored.
    fn offers_ech(&self) -> bool {
        false
    }

    /// Whether it dials QUIC ([`Offer::transport`] [`Transport::Quic`]): the race then
    /// plans QUIC endpoints when a connect asks for HTTP/3
    /// ([`ConnectParams::http3`](crate::ConnectParams::http3)). Default false: a
    /// dialer of TCP only is never handed a QUIC attempt.
    fn dials_quic(&self) -> bool {
        false
    }
}

/// What one attempt offers the server, as the race read it from the endpoint's
/// HTTPS record; the default offers what the dialer offers anyway.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Offer {
    /// The protocols to offer in ALPN, of those the dialer would; `None`: all of them.
    pub alpn: Option<Protocols>,
    /// An ECHConfigList (the record's `ech`) to offer Encrypted Client Hello with;
    /// `None`: a plain ClientHello.
    pub ech: Option<Arc<[u8]>>,
    /// TCP (then TLS for https), or QUIC (only for a dialer that
    /// [dials QUIC](Dialer::dials_quic)).
    pub transport: Transport,
}

impl Offer {
    /// Sets [`alpn`](Self::alpn).
    #[must_use]
    pub fn with_alpn(mut self, alpn: impl Into<Option<Protocols>>) -> Self {
        self.alpn = alpn.into();
        self
    }

    /// Sets [`transport`](Self::transport).
    #[must_use]
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Sets [`ech`](Self::ech).
    #[must_use]
    pub fn with_ech(mut self, config_list: impl Into<Option<Arc<[u8]>>>) -> Self {
        self.ech = config_list.into();
        self
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
        offer: Offer,
    ) -> impl Future<Output = Result<Self::Stream, AttemptError>> + Send {
        (**self).dial_offering(addr, offer)
    }
    fn offers_ech(&self) -> bool {
        (**self).offers_ech()
    }
    fn dials_quic(&self) -> bool {
        (**self).dials_quic()
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
        offer: Offer,
    ) -> impl Future<Output = Result<Self::Stream, AttemptError>> + Send {
        (**self).dial_offering(addr, offer)
    }
    fn offers_ech(&self) -> bool {
        (**self).offers_ech()
    }
    fn dials_quic(&self) -> bool {
        (**self).dials_quic()
    }
}
