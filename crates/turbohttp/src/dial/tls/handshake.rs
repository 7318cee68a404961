//! [`TlsHandshake`]: the TLS handshake as an attempt's setup step, and how its failures
//! end the attempt or the race.

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use turbohttp_proto::AttemptError;
use turbohttp_proto::service::Protocols;

use super::config::TlsConfigError;
use super::options::{TlsFailurePolicy, TlsOptions};
use super::refusal::{CertificateRejected, HandshakeRefused};
use crate::dial::Offer;

/// The TLS step of one connect: a connector, the server name and the failure policy,
/// shared by every attempt of the race.
#[derive(Clone)]
pub struct TlsHandshake {
    config: Arc<ClientConfig>,
    connector: TlsConnector,
    server_name: ServerName<'static>,
    policy: TlsFailurePolicy,
    /// Connectors whose ALPN list an HTTPS record narrowed, made once per list.
    narrowed: Arc<Mutex<Vec<(Protocols, TlsConnector)>>>,
    /// The options ECH configurations are built from, when ECH may be offered.
    ech: Option<Arc<TlsOptions>>,
    /// Connectors offering ECH, made once per configuration list and ALPN offer.
    ech_connectors: Arc<Mutex<Vec<EchConnector>>>,
}

/// A connector offering ECH with `list`, for the ALPN offer `alpn`.
type EchConnector = (Arc<[u8]>, Option<Protocols>, TlsConnector);

/// How a handshake that may be retried ended badly.
pub(crate) enum Handshake {
    /// The attempt failed.
    Failed(AttemptError),
    /// The server did not accept ECH and sent these configurations to retry with
    /// (RFC 9849 §6.1.6), on a new connection.
    EchRetry(Arc<[u8]>),
}

impl fmt::Debug for TlsHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsHandshake")
            .field("server_name", &self.server_name)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl TlsHandshake {
    /// A handshake with `config` for `server_name`.
    pub fn new(
        config: Arc<ClientConfig>,
        server_name: ServerName<'static>,
        policy: TlsFailurePolicy,
    ) -> Self {
        Self {
            connector: TlsConnector::from(Arc::clone(&config)),
            config,
            server_name,
            policy,
            narrowed: Arc::default(),
            ech: None,
            ech_connectors: Arc::default(),
        }
    }

    /// The same handshake, offering ECH where an attempt's [`Offer`] carries a
    /// configuration, built from `options` (the options `config` came from), if
    /// [`TlsOptions::ech_usable`].
    #[must_use]
    pub fn with_ech(mut self, options: Arc<TlsOptions>) -> Self {
        self.ech = options.ech_usable().then_some(options);
        self
    }

    /// Whether it offers ECH where an attempt's [`Offer`] carries a configuration.
    pub fn offers_ech(&self) -> bool {
        self.ech.is_some()
    }

    /// The protocols its ALPN list offers, as an HTTPS record's are read: `http/1.1`
    /// when the list is empty (a client without ALPN speaks HTTP/1.1).
    pub fn protocols(&self) -> Protocols {
        let ids = self.config.alpn_protocols.iter();
        let offered = Protocols::of_alpns(ids.filter_map(|id| std::str::from_utf8(id).ok()));
        if self.config.alpn_protocols.is_empty() {
            Protocols::HTTP_1_1
        } else {
            offered
        }
    }

    /// The name sent as SNI and verified.
    pub fn server_name(&self) -> &ServerName<'static> {
        &self.server_name
    }

    /// Runs the handshake on a connected socket. A certificate that does not verify
    /// ends the race under [`TlsFailurePolicy::StopRace`]; any other failure fails the
    /// attempt. Dropping the future closes the socket.
    pub async fn run(&self, tcp: TcpStream) -> Result<TlsStream<TcpStream>, AttemptError> {
        self.run_offering(tcp, &Offer::default()).await
    }

    /// [`run`](Self::run), offering in ALPN only what the list and `offer.alpn`
    /// share (an HTTPS record's protocols, as the race read them; `None`: the whole
    /// list), and ECH with `offer.ech` if it [offers ECH](Self::offers_ech). A server
    /// that does not accept ECH fails the attempt: nothing is sent without it.
    pub async fn run_offering(
        &self,
        tcp: TcpStream,
        offer: &Offer,
    ) -> Result<TlsStream<TcpStream>, AttemptError> {
        self.handshake(tcp, offer).await.map_err(|e| match e {
            Handshake::Failed(e) => e,
            Handshake::EchRetry(_) => AttemptError::setup(io::Error::new(
                io::ErrorKind::InvalidData,
                HandshakeRefused::ech(rustls::Error::PeerIncompatible(
                    rustls::PeerIncompatible::ServerRejectedEncryptedClientHello(Some(Vec::new())),
                )),
            )),
        })
    }

    /// [`run_offering`](Self::run_offering), telling a retry the server asked for
    /// apart (the dialer retries once, on a new connection).
    pub(crate) async fn handshake(
        &self,
        tcp: TcpStream,
        offer: &Offer,
    ) -> Result<TlsStream<TcpStream>, Handshake> {
        let connector = match (&self.ech, &offer.ech) {
            (Some(options), Some(list)) => self
                .ech_connector(options, list, offer.alpn)
                .map_err(Handshake::Failed)?,
            _ => offer
                .alpn
                .and_then(|alpn| self.narrowed(alpn))
                .unwrap_or_else(|| self.connector.clone()),
        };
        let offered_ech = self.ech.is_some() && offer.ech.is_some();
        connector
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| match ech_retry_configs(&e) {
                Some(list) if offered_ech => Handshake::EchRetry(list),
                _ => Handshake::Failed(classify_handshake_error(e, self.policy)),
            })
    }

    /// The connector offering ECH with `list` and the ALPN ids `alpn` allows; an
    /// unusable list fails the attempt with a sentence.
    fn ech_connector(
        &self,
        options: &TlsOptions,
        list: &Arc<[u8]>,
        alpn: Option<Protocols>,
    ) -> Result<TlsConnector, AttemptError> {
        let mut cache = self
            .ech_connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, _, connector)) = cache.iter().find(|(l, a, _)| l == list && *a == alpn) {
            return Ok(connector.clone());
        }
        let ids = match alpn {
            Some(alpn) => self.kept_alpn(alpn),
            None => self.config.alpn_protocols.clone(),
        };
        let config = options.ech_config(list, ids).map_err(|e| {
            let error = match e {
                TlsConfigError::Rustls(e) => {
                    io::Error::new(io::ErrorKind::InvalidData, HandshakeRefused::ech(e))
                }
                // The options were checked when the transport was made.
                other => io::Error::new(io::ErrorKind::InvalidInput, other),
            };
            AttemptError::setup(error)
        })?;
        let connector = TlsConnector::from(config);
        cache.push((Arc::clone(list), alpn, connector.clone()));
        Ok(connector)
    }

    /// The ids of the ALPN list that `alpn` allows; the whole list when none is.
    fn kept_alpn(&self, alpn: Protocols) -> Vec<Vec<u8>> {
        let list = &self.config.alpn_protocols;
        let keep = |id: &Vec<u8>| {
            std::str::from_utf8(id)
                .ok()
                .and_then(Protocols::of_alpn)
                .is_some_and(|p| alpn.contains(p))
        };
        let kept: Vec<Vec<u8>> = list.iter().filter(|id| keep(id)).cloned().collect();
        if kept.is_empty() { list.clone() } else { kept }
    }

    /// The connector offering what the ALPN list and `alpn` share, when that is less
    /// than the list (and not nothing: a list of none of them is offered whole).
    fn narrowed(&self, alpn: Protocols) -> Option<TlsConnector> {
        let kept = self.kept_alpn(alpn);
        if kept.len() == self.config.alpn_protocols.len() {
            return None;
        }
        let mut cache = self.narrowed.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, connector)) = cache.iter().find(|(p, _)| *p == alpn) {
            return Some(connector.clone());
        }
        let mut config = (*self.config).clone();
        config.alpn_protocols = kept;
        let connector = TlsConnector::from(Arc::new(config));
        cache.push((alpn, connector.clone()));
        Some(connector)
    }
}

/// The configurations a server that did not accept ECH sent to retry with, as an
/// ECHConfigList.
fn ech_retry_configs(error: &io::Error) -> Option<Arc<[u8]>> {
    use rustls::internal::msgs::codec::Codec;
    let inner = error.get_ref()?.downcast_ref::<rustls::Error>()?;
    match inner {
        rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::ServerRejectedEncryptedClientHello(Some(configs)),
        ) if !configs.is_empty() => {
            // rustls 0.23 hands them over parsed, as its (hidden, semver-exempt)
            // message types; their encoding is the list EchConfig::new reads. The
            // lock file pins the version this was checked with.
            Some(configs.get_encoding().into())
        }
        _ => None,
    }
}

/// Whether a handshake error is a certificate that failed verification, as opposed
/// to a network or protocol failure.
pub fn is_certificate_error(error: &io::Error) -> bool {
    error.get_ref().is_some_and(|inner| {
        inner.is::<CertificateRejected>()
            || inner
                .downcast_ref::<rustls::Error>()
                .is_some_and(|e| matches!(e, rustls::Error::InvalidCertificate(_)))
    })
}

/// A certificate error is terminal under [`TlsFailurePolicy::StopRace`]; everything
/// else (resets, EOF, alerts) is a failed setup and the race goes on. A certificate
/// error becomes a [`CertificateRejected`]: a sentence that says what is wrong with
/// the certificate and what to do.
pub fn classify_handshake_error(error: io::Error, policy: TlsFailurePolicy) -> AttemptError {
    let error = match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(certificate)) => io::Error::new(
            io::ErrorKind::InvalidData,
            CertificateRejected::new(certificate.clone()),
        ),
        Some(other) => match HandshakeRefused::of(other) {
            Some(refused) => io::Error::new(io::ErrorKind::InvalidData, refused),
            None => error,
        },
        None => error,
    };
    if policy == TlsFailurePolicy::StopRace && is_certificate_error(&error) {
        AttemptError::terminal(error)
    } else {
        AttemptError::setup(error)
    }
}
