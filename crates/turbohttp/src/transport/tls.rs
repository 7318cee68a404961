//! TLS with rustls (ring provider): [`TlsOptions`], the client configuration made from
//! them, and [`TlsHandshake`], the per-attempt setup step of the race.
//!
//! The handshake runs inside each attempt, so an attempt counts as won only when its
//! handshake completes, and the race's per-attempt budget and global deadline bound it.
//! How its failures end:
//!
//! * an IO error (reset, EOF, a TLS alert from the peer) is a failed attempt
//!   ([`AttemptError::setup`]): another address may serve TLS fine;
//! * a certificate that does not verify (`rustls::Error::InvalidCertificate`: unknown
//!   issuer, wrong name, expired…) stops the race ([`AttemptError::terminal`]) under
//!   the default [`TlsFailurePolicy::StopRace`]: every address of a name is expected to
//!   present the same certificate, so trying others only delays the error.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, DnsName, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::options::TransportOptionsError;
use crate::transport::connection::{AttemptError, Host};

/// The ALPN name of HTTP/2.
pub const ALPN_H2: &[u8] = b"h2";
/// The ALPN name of HTTP/1.1.
pub const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// What a certificate that does not verify does to the race.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TlsFailurePolicy {
    /// The race stops with [`ConnectErrorKind::SetupRejected`](crate::ConnectErrorKind::SetupRejected)
    /// and no further address is dialed. The default.
    #[default]
    StopRace,
    /// The attempt fails like any other and the race goes on with the next address.
    TryNextAddress,
}

/// TLS settings of a [`RawSocketTransport`](super::RawSocketTransport).
///
/// Verification is always on. Trust anchors are the Mozilla roots of `webpki-roots`
/// (unless `webpki_roots` is false) plus `extra_roots`.
///
/// ```
/// use turbohttp::transport::{TlsOptions, ALPN_HTTP_1_1};
/// let tls = TlsOptions {
///     alpn_protocols: vec![ALPN_HTTP_1_1.to_vec()],
///     server_name: Some("example.com".into()),
///     ..TlsOptions::default()
/// };
/// assert!(tls.client_config().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// Trust the Mozilla root certificates of `webpki-roots`. Default true.
    pub webpki_roots: bool,
    /// More trust anchors (DER), for private CAs and tests. Default none.
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// ALPN protocols to offer, most preferred first. Default `h2`, `http/1.1`; empty
    /// sends no ALPN extension.
    pub alpn_protocols: Vec<Vec<u8>>,
    /// The name sent as SNI and verified against the certificate, instead of the host
    /// being connected to (curl's `--connect-to` with the URL's name kept). A DNS name
    /// or an IP address. Default `None`: the host.
    pub server_name: Option<String>,
    /// What a certificate that does not verify does to the race. Default
    /// [`TlsFailurePolicy::StopRace`].
    pub failure_policy: TlsFailurePolicy,
}

impl Default for TlsOptions {
    fn default() -> Self {
        Self {
            webpki_roots: true,
            extra_roots: Vec::new(),
            alpn_protocols: vec![ALPN_H2.to_vec(), ALPN_HTTP_1_1.to_vec()],
            server_name: None,
            failure_policy: TlsFailurePolicy::StopRace,
        }
    }
}

impl TlsOptions {
    /// Adds a trust anchor.
    pub fn with_root(mut self, root: CertificateDer<'static>) -> Self {
        self.extra_roots.push(root);
        self
    }

    /// Adds every certificate of a PEM buffer as a trust anchor; returns how many.
    pub fn add_roots_from_pem(&mut self, pem: &[u8]) -> Result<usize, TransportOptionsError> {
        let roots = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TransportOptionsError::ReadRootCertificates {
                path: "<PEM data>".into(),
                error: pem_to_io(e),
            })?;
        self.add_parsed(roots, "the PEM data".to_owned())
    }

    /// Adds every certificate of a PEM file (a CA bundle such as
    /// `/etc/ssl/certs/ca-certificates.crt`) as a trust anchor; returns how many.
    pub fn add_roots_from_pem_file(
        &mut self,
        path: impl AsRef<Path>,
    ) -> Result<usize, TransportOptionsError> {
        let path = path.as_ref();
        let read_error = |e| TransportOptionsError::ReadRootCertificates {
            path: path.to_owned(),
            error: pem_to_io(e),
        };
        let roots = CertificateDer::pem_file_iter(path)
            .map_err(read_error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(read_error)?;
        self.add_parsed(roots, path.display().to_string())
    }

    fn add_parsed(
        &mut self,
        roots: Vec<CertificateDer<'static>>,
        origin: String,
    ) -> Result<usize, TransportOptionsError> {
        if roots.is_empty() {
            return Err(TransportOptionsError::NoCertificateInPem { origin });
        }
        let n = roots.len();
        self.extra_roots.extend(roots);
        Ok(n)
    }

    /// Checks the options by building the client configuration.
    pub fn validate(&self) -> Result<(), TransportOptionsError> {
        self.client_config().map(drop)
    }

    /// The rustls client configuration these options describe, on the ring provider
    /// (never a process-wide default provider).
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TransportOptionsError> {
        if let Some(p) = self
            .alpn_protocols
            .iter()
            .find(|p| p.is_empty() || p.len() > 255)
        {
            return Err(TransportOptionsError::InvalidAlpnProtocol {
                name: String::from_utf8_lossy(p).into_owned(),
            });
        }
        self.server_name_override()?;
        let mut roots = RootCertStore::empty();
        if self.webpki_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for (index, root) in self.extra_roots.iter().enumerate() {
            roots
                .add(root.clone())
                .map_err(|e| TransportOptionsError::InvalidRootCertificate {
                    index,
                    reason: e.to_string(),
                })?;
        }
        if roots.is_empty() {
            return Err(TransportOptionsError::NoRootCertificates);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = self.alpn_protocols.clone();
        Ok(Arc::new(config))
    }

    /// The parsed [`server_name`](Self::server_name) override, if any.
    pub fn server_name_override(
        &self,
    ) -> Result<Option<ServerName<'static>>, TransportOptionsError> {
        let Some(name) = &self.server_name else {
            return Ok(None);
        };
        let invalid = || TransportOptionsError::InvalidServerName { name: name.clone() };
        let host = Host::parse(name).map_err(|_| invalid())?;
        server_name_of(&host).map(Some).ok_or_else(invalid)
    }
}

/// The name a TLS client sends and verifies for `host`: an IP literal as
/// [`ServerName::IpAddress`] (no SNI is sent for those), a DNS name without its
/// trailing dot. `None` for a name rustls cannot use.
pub fn server_name_of(host: &Host) -> Option<ServerName<'static>> {
    match host {
        Host::Name(name) => {
            let bare = name.strip_suffix('.').unwrap_or(name);
            DnsName::try_from(bare.to_owned())
                .ok()
                .map(ServerName::DnsName)
        }
        other => other.ip().map(|ip| ServerName::IpAddress(ip.into())),
    }
}

fn pem_to_io(error: pem::Error) -> io::Error {
    match error {
        pem::Error::Io(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}

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

    /// Runs the handshake on a connected socket. Failures are classified by
    /// [`classify_handshake_error`]; dropping the future closes the socket.
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
        _ => error,
    };
    if policy == TlsFailurePolicy::StopRace && is_certificate_error(&error) {
        AttemptError::terminal(error)
    } else {
        AttemptError::setup(error)
    }
}

/// The server's certificate did not verify: what is wrong with it, as a sentence, and
/// what to do about it. rustls' own error is kept ([`CertificateRejected::error`]).
#[derive(Debug, Clone)]
pub struct CertificateRejected {
    error: rustls::CertificateError,
}

impl CertificateRejected {
    /// The refusal of `error`.
    pub fn new(error: rustls::CertificateError) -> Self {
        Self { error }
    }

    /// rustls' reason.
    pub fn error(&self) -> &rustls::CertificateError {
        &self.error
    }
}

impl fmt::Display for CertificateRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use rustls::CertificateError as E;
        match &self.error {
            E::UnknownIssuer => f.write_str(
                "the server's certificate was not issued by a CA this client trusts: pass \
                 the CA that signed it (--cacert, TlsOptions::add_roots_from_pem_file)",
            ),
            E::NotValidForNameContext {
                expected,
                presented,
            } => write!(
                f,
                "the server's certificate is not valid for {} (it names {}): connect by a name \
                 it lists, or verify another name (--servername, TlsOptions::server_name)",
                expected.to_str(),
                if presented.is_empty() {
                    "no name".to_owned()
                } else {
                    presented.join(", ")
                }
            ),
            E::NotValidForName => f.write_str(
                "the server's certificate is not valid for the name connected to: connect \
                 by a name it lists, or verify another name (--servername, \
                 TlsOptions::server_name)",
            ),
            E::Expired | E::ExpiredContext { .. } => {
                f.write_str("the server's certificate has expired: it must be renewed")
            }
            E::NotValidYet | E::NotValidYetContext { .. } => f.write_str(
                "the server's certificate is not valid yet: check the clocks of both sides",
            ),
            E::Revoked => f.write_str("the server's certificate has been revoked"),
            E::BadSignature => {
                f.write_str("the server's certificate has a signature that does not verify")
            }
            E::InvalidPurpose | E::InvalidPurposeContext { .. } => f.write_str(
                "the server's certificate is not meant for TLS servers (its extended key \
                 usage lacks serverAuth)",
            ),
            E::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity") => f.write_str(
                "the server's certificate is a CA certificate (basicConstraints CA:TRUE, as \
                 `openssl req -x509` makes by default), which a server may not present: make \
                 a CA, then a server certificate it signs with CA:FALSE, serve that and pass \
                 the CA with --cacert",
            ),
            other => write!(f, "the server's certificate was refused: {other:?}"),
        }
    }
}

/// The sentence says it all; rustls' reason is [`CertificateRejected::error`].
impl std::error::Error for CertificateRejected {}
