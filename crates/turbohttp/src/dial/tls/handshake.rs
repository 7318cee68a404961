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

use super::options::TlsFailurePolicy;
use super::refusal::{CertificateRejected, HandshakeRefused};

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
        }
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
        self.run_offering(tcp, None).await
    }

    /// [`run`](Self::run), offering in ALPN only what the list and `alpn` share (an
    /// HTTPS record's protocols, as the race read them); `None`: the whole list.
    pub async fn run_offering(
        &self,
        tcp: TcpStream,
        alpn: Option<Protocols>,
    ) -> Result<TlsStream<TcpStream>, AttemptError> {
        let narrowed = alpn.and_then(|alpn| self.narrowed(alpn));
        narrowed
            .as_ref()
            .unwrap_or(&self.connector)
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| classify_handshake_error(e, self.policy))
    }

    /// The connector offering what the ALPN list and `alpn` share, when that is less
    /// than the list (and not nothing: a list of none of them is offered whole).
    fn narrowed(&self, alpn: Protocols) -> Option<TlsConnector> {
        let list = &self.config.alpn_protocols;
        let keep = |id: &Vec<u8>| {
            std::str::from_utf8(id)
                .ok()
                .and_then(Protocols::of_alpn)
                .is_some_and(|p| alpn.contains(p))
        };
        let kept: Vec<Vec<u8>> = list.iter().filter(|id| keep(id)).cloned().collect();
        if kept.is_empty() || kept.len() == list.len() {
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
