//! [`TlsHandshake`]: the TLS handshake as an attempt's setup step, and how its failures
//! end the attempt or the race.

use std::fmt;
use std::io;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use turbohttp_proto::AttemptError;

use super::options::TlsFailurePolicy;
use super::refusal::{CertificateRejected, HandshakeRefused};

/// The TLS step of one connect: a connector, the server name and the failure policy,
/// shared by every attempt of the race.
#[derive(Clone)]
pub struct TlsHandshake {
    connector: TlsConnector,
    server_name: ServerName<'static>,
    policy: TlsFailurePolicy,
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
            connector: TlsConnector::from(config),
            server_name,
            policy,
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
        self.connector
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| classify_handshake_error(e, self.policy))
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
