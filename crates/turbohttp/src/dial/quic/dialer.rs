//! [`QuicDialer`]: one QUIC handshake as one attempt; [`EndpointDialer`]: an endpoint
//! over QUIC or TCP, as the race says.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio_util::either::Either;
use turbohttp_proto::plan::Transport;
use turbohttp_proto::{AddressFamily, AttemptError};

use super::connection::{ALPN_H3, Connection, QuicConnection};
use super::endpoints::QuicEndpoints;
use super::refusal::{QuicRefused, classify};
use crate::dial::raw_socket::RawSocketDialer;
use crate::dial::tls::{TlsConfigError, TlsFailurePolicy};
use crate::dial::{Dialer, Offer};

/// quinn's client configuration from a rustls one (the transport's, made by
/// [`TlsOptions::client_config`](crate::TlsOptions::client_config): the same roots,
/// client certificate and verifier as TCP's TLS), offering ALPN `h3` only. QUIC runs
/// TLS 1.3 whatever the minimum version.
pub fn quic_client_config(tls: &ClientConfig) -> Result<quinn::ClientConfig, TlsConfigError> {
    let mut tls = tls.clone();
    tls.alpn_protocols = vec![ALPN_H3.to_vec()];
    tls.enable_early_data = false;
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(Arc::new(tls))
        .map_err(|_| TlsConfigError::NoQuicSuite)?;
    Ok(quinn::ClientConfig::new(Arc::new(quic)))
}

/// Dials one address over QUIC: the handshake (TLS 1.3, ALPN `h3`) on the shared
/// endpoint of the address's family. The attempt is won when the handshake is
/// complete; dropping it closes the connection at once (CONNECTION_CLOSE sent).
#[derive(Debug, Clone)]
pub struct QuicDialer {
    endpoints: Arc<QuicEndpoints>,
    config: quinn::ClientConfig,
    server_name: Arc<str>,
    policy: TlsFailurePolicy,
}

impl QuicDialer {
    /// A dialer on `endpoints` with `config` ([`quic_client_config`]), verifying
    /// `server_name`; a certificate failure ends the race under `policy`, as over TCP.
    pub fn new(
        endpoints: Arc<QuicEndpoints>,
        config: quinn::ClientConfig,
        server_name: &ServerName<'_>,
        policy: TlsFailurePolicy,
    ) -> Self {
        Self {
            endpoints,
            config,
            server_name: server_name.to_str().into(),
            policy,
        }
    }

    /// The handshake with `addr`.
    pub async fn connect(&self, addr: SocketAddr) -> Result<QuicConnection, AttemptError> {
        let endpoint = self.endpoints.endpoint(AddressFamily::of(&addr))?;
        let connecting = endpoint
            .connect_with(self.config.clone(), addr, &self.server_name)
            .map_err(|e| {
                AttemptError::setup(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("cannot start a QUIC connection to {addr}: {e}"),
                ))
            })?;
        match connecting.await {
            Ok(connection) => Ok(QuicConnection::new(connection)),
            Err(error) => Err(classify(error, self.policy)),
        }
    }
}

impl Dialer for QuicDialer {
    type Stream = QuicConnection;

    fn dial(
        &self,
        addr: SocketAddr,
    ) -> impl Future<Output = Result<QuicConnection, AttemptError>> + Send {
        self.connect(addr)
    }

    /// Offers `h3` whatever `offer.alpn` says. An offer of ECH fails the attempt:
    /// rustls offers ECH over TCP only, and a record that asks for it forbids an
    /// attempt without it (RFC 9848). A TCP attempt fails too: put this dialer in an
    /// [`EndpointDialer`] to race QUIC against TCP.
    async fn dial_offering(
        &self,
        addr: SocketAddr,
        offer: Offer,
    ) -> Result<QuicConnection, AttemptError> {
        // Inside an EndpointDialer it sees QUIC attempts only; alone, a TCP attempt
        // must not become a second QUIC one (the report would call it TCP).
        if offer.transport != Transport::Quic {
            return Err(AttemptError::setup(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "a QUIC dialer dials QUIC only: race it with TCP in an EndpointDialer",
            )));
        }
        if offer.ech.is_some() {
            return Err(AttemptError::setup(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                QuicRefused::no_ech(),
            )));
        }
        self.connect(addr).await
    }

    fn dials_quic(&self) -> bool {
        true
    }
}

/// Dials an endpoint as the race says ([`Offer::transport`]): over TCP (then TLS)
/// with a [`RawSocketDialer`], or over QUIC with a [`QuicDialer`]. The winner is a
/// [`Connection`].
#[derive(Debug, Clone)]
pub struct EndpointDialer {
    tcp: RawSocketDialer,
    quic: QuicDialer,
}

impl EndpointDialer {
    /// A dialer of `tcp` and `quic`.
    pub fn new(tcp: RawSocketDialer, quic: QuicDialer) -> Self {
        Self { tcp, quic }
    }

    /// The TCP dialer.
    pub fn tcp(&self) -> &RawSocketDialer {
        &self.tcp
    }
}

impl Dialer for EndpointDialer {
    type Stream = Connection;

    fn dial(
        &self,
        addr: SocketAddr,
    ) -> impl Future<Output = Result<Connection, AttemptError>> + Send {
        self.dial_offering(addr, Offer::default())
    }

    fn dial_offering(
        &self,
        addr: SocketAddr,
        offer: Offer,
    ) -> impl Future<Output = Result<Connection, AttemptError>> + Send {
        match offer.transport {
            Transport::Quic => Either::Left(Box::pin(async move {
                self.quic
                    .dial_offering(addr, offer)
                    .await
                    .map(Connection::Quic)
            })),
            _ => Either::Right(async move {
                self.tcp
                    .dial_offering(addr, offer)
                    .await
                    .map(Connection::Tcp)
            }),
        }
    }

    fn offers_ech(&self) -> bool {
        self.tcp.offers_ech()
    }

    fn dials_quic(&self) -> bool {
        true
    }
}
