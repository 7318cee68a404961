//! TLS with rustls (ring provider): [`TlsOptions`] (roots: webpki, the platform's,
//! extra; client certificates; minimum version; or a caller's whole `ClientConfig`,
//! as hyper-rustls takes one), the client configuration made from them, and
//! [`TlsHandshake`], the per-attempt setup step of the race.
//!
//! The handshake runs inside each attempt, so an attempt counts as won only when its
//! handshake completes, and the race's per-attempt budget and global deadline bound it.
//! How its failures end:
//!
//! * an IO error (reset, EOF, a TLS alert from the peer) is a failed attempt
//!   ([`AttemptError::setup`]): another address may serve TLS fine; the alerts with a
//!   likely cause in this client's settings (a client certificate required or
//!   refused, no TLS version in common) read as a [`HandshakeRefused`] sentence;
//! * a certificate that does not verify (`rustls::Error::InvalidCertificate`: unknown
//!   issuer, wrong name, expired…) stops the race ([`AttemptError::terminal`]) under
//!   the default [`TlsFailurePolicy::StopRace`]: every address of a name is expected to
//!   present the same certificate, so trying others only delays the error.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, DnsName, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, SupportedProtocolVersion};
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

/// The lowest TLS version a connection may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2 (and 1.3): rustls' safe defaults.
    Tls12,
    /// TLS 1.3 only: a server that speaks at most TLS 1.2 is refused.
    Tls13,
}

/// A client certificate chain and its private key, sent to servers that ask for one
/// (mutual TLS, curl's `--cert` and `--key`).
///
/// The chain starts with the client's own certificate. rustls checks that the key
/// matches it when the client configuration is built
/// ([`TransportOptionsError::ClientKeyMismatch`]).
#[derive(Debug, PartialEq, Eq)]
pub struct ClientCertificate {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

// By hand: rustls' private key type is deliberately not `Clone`.
impl Clone for ClientCertificate {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl ClientCertificate {
    /// A chain (the client's certificate first) and its private key.
    pub fn new(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Self {
        Self { chain, key }
    }

    /// From PEM buffers: every certificate of `chain_pem`, and the first private key
    /// (PKCS#8, PKCS#1 or SEC1) of `key_pem`. The two may be the same buffer.
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, TransportOptionsError> {
        let origin = || PathBuf::from("<PEM data>");
        let chain = CertificateDer::pem_slice_iter(chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TransportOptionsError::ReadClientCertificate {
                path: origin(),
                error: pem_to_io(e),
            })?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| key_error(e, origin(), "the PEM data"))?;
        Self::checked(chain, key, "the PEM data")
    }

    /// From PEM files, as curl's `--cert FILE --key FILE`: every certificate of
    /// `chain_file`, and the first private key of `key_file` (which may be the same
    /// file, as curl allows).
    pub fn from_pem_files(
        chain_file: impl AsRef<Path>,
        key_file: impl AsRef<Path>,
    ) -> Result<Self, TransportOptionsError> {
        let (chain_file, key_file) = (chain_file.as_ref(), key_file.as_ref());
        let read_error = |e| TransportOptionsError::ReadClientCertificate {
            path: chain_file.to_owned(),
            error: pem_to_io(e),
        };
        let chain = CertificateDer::pem_file_iter(chain_file)
            .map_err(read_error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(read_error)?;
        let key = PrivateKeyDer::from_pem_file(key_file)
            .map_err(|e| key_error(e, key_file.to_owned(), &key_file.display().to_string()))?;
        Self::checked(chain, key, &chain_file.display().to_string())
    }

    fn checked(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        origin: &str,
    ) -> Result<Self, TransportOptionsError> {
        if chain.is_empty() {
            return Err(TransportOptionsError::NoCertificateInPem {
                origin: origin.to_owned(),
            });
        }
        Ok(Self::new(chain, key))
    }

    /// The certificate chain, the client's own first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The private key.
    pub fn key(&self) -> &PrivateKeyDer<'static> {
        &self.key
    }
}

fn key_error(error: pem::Error, path: PathBuf, origin: &str) -> TransportOptionsError {
    match error {
        pem::Error::NoItemsFound => TransportOptionsError::NoPrivateKeyInPem {
            origin: origin.to_owned(),
        },
        other => TransportOptionsError::ReadPrivateKey {
            path,
            error: pem_to_io(other),
        },
    }
}

/// TLS settings of a [`RawSocketTransport`](super::RawSocketTransport).
///
/// Verification is always on. By default the trust anchors are the Mozilla roots of
/// `webpki-roots` (unless `webpki_roots` is false), plus the platform's store if
/// `native_roots` is set, plus `extra_roots`.
///
/// # A caller's rustls configuration
///
/// Like hyper-rustls' `with_tls_config`, [`rustls_config`](Self::rustls_config) takes
/// a whole [`ClientConfig`]: its roots, verifier, client certificate, versions and
/// crypto provider are used as they are. The options that would build those parts
/// (`webpki_roots` off, `native_roots`, `extra_roots`, `min_version`, `client_auth`)
/// are then refused with [`TransportOptionsError::ConflictsWithRustlsConfig`] rather
/// than silently ignored. ALPN is merged:
///
/// * a config whose `alpn_protocols` is empty gets [`alpn_protocols`](Self::alpn_protocols)
///   (`h2`, `http/1.1` by default);
/// * a config with its own ALPN list keeps it, and changing `alpn_protocols` as well
///   is refused (two lists, one would be dropped).
///
/// hyper-util's client speaks HTTP/2 on a TLS connection only when ALPN chose `h2`,
/// so a list without `h2` means HTTP/1.1. `server_name` and `failure_policy` apply in
/// both cases.
///
/// ```
/// use turbohttp::transport::{TlsOptions, TlsVersion, ALPN_HTTP_1_1};
/// let tls = TlsOptions::default()
///     .with_alpn_protocols(vec![ALPN_HTTP_1_1.to_vec()])
///     .with_server_name("example.com")
///     .with_min_version(TlsVersion::Tls13);
/// assert!(tls.client_config().is_ok());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TlsOptions {
    /// Trust the Mozilla root certificates of `webpki-roots`. Default true.
    pub webpki_roots: bool,
    /// Trust the platform's root certificates (`rustls-native-certs`: on Linux the
    /// OpenSSL locations such as /etc/ssl/certs, or `SSL_CERT_FILE` / `SSL_CERT_DIR`
    /// when set; the system store on macOS and Windows), as curl's `--ca-native`.
    /// Loaded when the configuration is built. Default false.
    pub native_roots: bool,
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
    /// The lowest TLS version allowed (curl's `--tlsv1.2`, `--tlsv1.3`). Default
    /// `None`: rustls' defaults, TLS 1.2 and 1.3.
    pub min_version: Option<TlsVersion>,
    /// The client certificate for servers that ask for one (mutual TLS). Default
    /// `None`: a server that requires one refuses the connection.
    pub client_auth: Option<ClientCertificate>,
    /// A caller's whole rustls configuration, used instead of one built from the
    /// options above (see the type's documentation for what is merged and what is
    /// refused). Default `None`.
    pub rustls_config: Option<Arc<ClientConfig>>,
}

impl Default for TlsOptions {
    fn default() -> Self {
        Self {
            webpki_roots: true,
            native_roots: false,
            extra_roots: Vec::new(),
            alpn_protocols: default_alpn(),
            server_name: None,
            failure_policy: TlsFailurePolicy::StopRace,
            min_version: None,
            client_auth: None,
            rustls_config: None,
        }
    }
}

fn default_alpn() -> Vec<Vec<u8>> {
    vec![ALPN_H2.to_vec(), ALPN_HTTP_1_1.to_vec()]
}

/// Equal when every option is; two caller configurations are equal only when they
/// are the same `Arc` (rustls' `ClientConfig` has no equality).
impl PartialEq for TlsOptions {
    fn eq(&self, other: &Self) -> bool {
        let same_config = match (&self.rustls_config, &other.rustls_config) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        same_config
            && self.webpki_roots == other.webpki_roots
            && self.native_roots == other.native_roots
            && self.extra_roots == other.extra_roots
            && self.alpn_protocols == other.alpn_protocols
            && self.server_name == other.server_name
            && self.failure_policy == other.failure_policy
            && self.min_version == other.min_version
            && self.client_auth == other.client_auth
    }
}

impl Eq for TlsOptions {}

impl TlsOptions {
    /// Sets [`webpki_roots`](Self::webpki_roots).
    pub fn with_webpki_roots(mut self, webpki_roots: bool) -> Self {
        self.webpki_roots = webpki_roots;
        self
    }

    /// Sets [`native_roots`](Self::native_roots).
    pub fn with_native_roots(mut self, native_roots: bool) -> Self {
        self.native_roots = native_roots;
        self
    }

    /// Sets [`extra_roots`](Self::extra_roots) (replacing any added before).
    pub fn with_extra_roots(mut self, extra_roots: Vec<CertificateDer<'static>>) -> Self {
        self.extra_roots = extra_roots;
        self
    }

    /// Adds a trust anchor to [`extra_roots`](Self::extra_roots).
    pub fn with_root(mut self, root: CertificateDer<'static>) -> Self {
        self.extra_roots.push(root);
        self
    }

    /// Sets [`alpn_protocols`](Self::alpn_protocols).
    pub fn with_alpn_protocols(mut self, alpn_protocols: Vec<Vec<u8>>) -> Self {
        self.alpn_protocols = alpn_protocols;
        self
    }

    /// Sets [`server_name`](Self::server_name) (assign `None` to the field to clear it).
    pub fn with_server_name(mut self, server_name: impl Into<String>) -> Self {
        self.server_name = Some(server_name.into());
        self
    }

    /// Sets [`failure_policy`](Self::failure_policy).
    pub fn with_failure_policy(mut self, failure_policy: TlsFailurePolicy) -> Self {
        self.failure_policy = failure_policy;
        self
    }

    /// Sets [`min_version`](Self::min_version).
    pub fn with_min_version(mut self, min_version: TlsVersion) -> Self {
        self.min_version = Some(min_version);
        self
    }

    /// Sets [`client_auth`](Self::client_auth).
    pub fn with_client_auth(mut self, client_auth: ClientCertificate) -> Self {
        self.client_auth = Some(client_auth);
        self
    }

    /// Sets [`rustls_config`](Self::rustls_config): a caller's rustls configuration.
    pub fn with_rustls_config(mut self, rustls_config: Arc<ClientConfig>) -> Self {
        self.rustls_config = Some(rustls_config);
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

    /// The rustls client configuration these options describe: the caller's
    /// [`rustls_config`](Self::rustls_config) with ALPN merged in, or one built on the
    /// ring provider (never a process-wide default provider).
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
        if let Some(given) = &self.rustls_config {
            return self.merged(given);
        }
        let roots = self.root_store()?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: &[&SupportedProtocolVersion] = match self.min_version {
            None | Some(TlsVersion::Tls12) => rustls::DEFAULT_VERSIONS,
            Some(TlsVersion::Tls13) => &[&rustls::version::TLS13],
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)?
            .with_root_certificates(roots);
        let mut config = match &self.client_auth {
            None => builder.with_no_client_auth(),
            Some(client) => {
                if client.chain.is_empty() {
                    return Err(TransportOptionsError::EmptyClientCertificateChain);
                }
                builder
                    .with_client_auth_cert(client.chain.clone(), client.key.clone_key())
                    .map_err(|e| match e {
                        rustls::Error::InconsistentKeys(_) => {
                            TransportOptionsError::ClientKeyMismatch
                        }
                        other => TransportOptionsError::InvalidClientCertificate {
                            reason: other.to_string(),
                        },
                    })?
            }
        };
        config.alpn_protocols = self.alpn_protocols.clone();
        Ok(Arc::new(config))
    }

    /// The caller's configuration with our ALPN merged in (see the type's docs).
    fn merged(
        &self,
        given: &Arc<ClientConfig>,
    ) -> Result<Arc<ClientConfig>, TransportOptionsError> {
        let conflict = [
            (!self.webpki_roots, "webpki_roots = false"),
            (self.native_roots, "native_roots"),
            (!self.extra_roots.is_empty(), "extra_roots"),
            (self.min_version.is_some(), "min_version"),
            (self.client_auth.is_some(), "client_auth"),
        ]
        .into_iter()
        .find_map(|(set, option)| set.then_some(option));
        if let Some(option) = conflict {
            return Err(TransportOptionsError::ConflictsWithRustlsConfig { option });
        }
        if !given.alpn_protocols.is_empty() {
            if self.alpn_protocols != default_alpn() {
                return Err(TransportOptionsError::ConflictsWithRustlsConfig {
                    option: "alpn_protocols",
                });
            }
            return Ok(Arc::clone(given));
        }
        let mut config = ClientConfig::clone(given);
        config.alpn_protocols = self.alpn_protocols.clone();
        Ok(Arc::new(config))
    }

    /// The trust anchors: webpki's, the platform's, then the extra ones.
    fn root_store(&self) -> Result<RootCertStore, TransportOptionsError> {
        let mut roots = RootCertStore::empty();
        if self.webpki_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        if self.native_roots {
            add_native_roots(&mut roots)?;
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
        Ok(roots)
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

/// Adds the platform's roots. rustls-native-certs returns what it could load and the
/// errors it met: none usable is an error (the option would trust nothing from the
/// platform), some errors beside usable roots are only a warning, as a partly
/// unreadable store is common (a dangling link in /etc/ssl/certs).
fn add_native_roots(roots: &mut RootCertStore) -> Result<(), TransportOptionsError> {
    let loaded = rustls_native_certs::load_native_certs();
    let errors = loaded
        .errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>();
    let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
    if added == 0 {
        let reason = if !errors.is_empty() {
            errors.join("; ")
        } else if ignored > 0 {
            format!("none of its {ignored} certificates is a usable trust anchor")
        } else {
            "it holds no certificate".to_owned()
        };
        return Err(TransportOptionsError::NoNativeRoots { reason });
    }
    for error in &errors {
        tracing::warn!(%error, added, "some of the platform's root certificates could not be loaded");
    }
    if ignored > 0 {
        tracing::warn!(
            ignored,
            added,
            "some of the platform's root certificates are not usable trust anchors"
        );
    }
    Ok(())
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

/// A handshake that failed for a reason on this client's side of the settings: the
/// server wants a client certificate, refused ours, or speaks no TLS version this
/// client allows. A sentence that says what to do, with rustls' error kept
/// ([`HandshakeRefused::error`]). Like any handshake IO failure it fails the attempt,
/// not the race.
#[derive(Debug, Clone)]
pub struct HandshakeRefused {
    error: rustls::Error,
}

impl HandshakeRefused {
    /// The sentence for `error`, if it is one of those this type explains.
    pub fn of(error: &rustls::Error) -> Option<Self> {
        use rustls::AlertDescription as A;
        let explained = match error {
            rustls::Error::AlertReceived(alert) => matches!(
                alert,
                A::CertificateRequired
                    | A::BadCertificate
                    | A::UnknownCA
                    | A::CertificateExpired
                    | A::CertificateRevoked
                    | A::UnsupportedCertificate
                    | A::ProtocolVersion
            ),
            // The server chose a version this client does not allow.
            rustls::Error::PeerIncompatible(incompatible) => matches!(
                incompatible,
                rustls::PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
                    | rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13
            ),
            _ => false,
        };
        explained.then(|| Self {
            error: error.clone(),
        })
    }

    /// rustls' error.
    pub fn error(&self) -> &rustls::Error {
        &self.error
    }
}

impl fmt::Display for HandshakeRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use rustls::AlertDescription as A;
        match &self.error {
            rustls::Error::AlertReceived(A::CertificateRequired) => write!(
                f,
                "the server requires a client certificate and none was sent ({}): pass one \
                 (--cert and --key, TlsOptions::client_auth)",
                self.error
            ),
            rustls::Error::AlertReceived(A::ProtocolVersion)
            | rustls::Error::PeerIncompatible(_) => write!(
                f,
                "the server does not support the TLS versions this client allows ({}): it \
                 may speak only an older version; lower the minimum (--tlsv1.2, \
                 TlsOptions::min_version) if that is acceptable",
                self.error
            ),
            _ => write!(
                f,
                "the server refused this client's certificate ({}): check that it is \
                 issued by a CA the server trusts, valid now and meant for client \
                 authentication (--cert, TlsOptions::client_auth)",
                self.error
            ),
        }
    }
}

/// A name as the certificate lists it: rustls hands them over in webpki's `Debug`
/// form (`DnsName("a.test")`, `IpAddress(192.0.2.1)`), which is not for people.
fn bare_name(presented: &str) -> &str {
    let Some(inner) = presented
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
    else {
        return presented;
    };
    inner
        .strip_prefix('"')
        .and_then(|quoted| quoted.strip_suffix('"'))
        .unwrap_or(inner)
}

/// The sentence says it all; rustls' error is [`HandshakeRefused::error`].
impl std::error::Error for HandshakeRefused {}

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
        // rustls' own Display falls back to Debug for most variants, so every variant
        // gets its sentence here: what is wrong, then what to do.
        #[allow(deprecated)] // UnsupportedSignatureAlgorithm: older verifiers still return it
        match &self.error {
            E::BadEncoding => f.write_str(
                "the server's certificate could not be parsed (it is not well-formed DER): \
                 the server is sending a damaged certificate; reinstall it on the server",
            ),
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
                    presented
                        .iter()
                        .map(|name| bare_name(name))
                        .collect::<Vec<_>>()
                        .join(", ")
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
            E::Revoked => f.write_str(
                "the server's certificate has been revoked by its CA: the server needs a new \
                 certificate",
            ),
            E::UnhandledCriticalExtension => f.write_str(UNKNOWN_CRITICAL_EXTENSION),
            E::UnknownRevocationStatus => f.write_str(
                "the revocation status of the server's certificate is unknown (no revocation \
                 list given covers its issuer): add its CA's revocation list to the verifier, \
                 or let it allow an unknown status",
            ),
            E::ExpiredRevocationList | E::ExpiredRevocationListContext { .. } => f.write_str(
                "the revocation list that checks the server's certificate has expired: give \
                 the verifier a current one",
            ),
            // Nothing the client can do: the certificate is broken or forged.
            E::BadSignature => {
                f.write_str("the server's certificate has a signature that does not verify")
            }
            E::UnsupportedSignatureAlgorithm
            | E::UnsupportedSignatureAlgorithmContext { .. }
            | E::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => f.write_str(
                "the server's certificate is signed with an algorithm this client does not \
                 support: the server needs one signed with ECDSA, Ed25519 or RSA (SHA-256 or \
                 stronger)",
            ),
            E::InvalidPurpose | E::InvalidPurposeContext { .. } => f.write_str(
                "the server's certificate is not meant for TLS servers (its extended key \
                 usage lacks serverAuth): the server needs one issued for serverAuth",
            ),
            E::InvalidOcspResponse => f.write_str(
                "the OCSP response the server stapled to its certificate is invalid: the \
                 server must refresh its stapled response or stop stapling",
            ),
            E::ApplicationVerificationFailure => f.write_str(
                "the server's certificate was refused by the application's own certificate \
                 verifier (TlsOptions::rustls_config): it is not a certificate that verifier \
                 accepts, for instance not the pinned one",
            ),
            E::Other(other) => write_other(f, &*other.0),
            _ => f.write_str(
                "the server's certificate was refused, for a reason this version of the \
                 client cannot describe",
            ),
        }
    }
}

const UNKNOWN_CRITICAL_EXTENSION: &str = "the server's certificate has a critical extension \
     this client does not understand, so it may not be trusted: the server needs a \
     certificate without it, or with it marked non-critical";

/// The refusals rustls passes on inside `CertificateError::Other`: webpki's own errors
/// (whose Display is their Debug name) get a sentence; a caller's verifier's error is
/// shown by its Display.
#[allow(deprecated)] // RequiredEkuNotFound: rustls maps it itself, but keep the sentence
fn write_other(
    f: &mut fmt::Formatter<'_>,
    error: &(dyn std::error::Error + Send + Sync + 'static),
) -> fmt::Result {
    use webpki::Error as W;
    let Some(webpki) = error.downcast_ref::<W>() else {
        return write!(f, "the server's certificate was refused: {error}");
    };
    f.write_str(match webpki {
        W::CaUsedAsEndEntity => {
            "the server's certificate is a CA certificate (basicConstraints CA:TRUE, as \
             `openssl req -x509` makes by default), which a server may not present: make a \
             CA, then a server certificate it signs with CA:FALSE, serve that and pass the CA \
             with --cacert"
        }
        W::EndEntityUsedAsCa => {
            "a certificate in the server's chain signs another but is not a CA certificate \
             (basicConstraints CA:FALSE): the server's certificate must be issued by a CA \
             certificate"
        }
        W::CertDistrusted => {
            "the server's certificate, or one of its issuers, is no longer trusted for \
             certificates issued at that time: the server needs a certificate from another CA"
        }
        W::PathLenConstraintViolated => {
            "the server's certificate chain is longer than a CA in it allows \
             (pathLenConstraint): the server needs a certificate from a CA allowed to issue it"
        }
        W::NameConstraintViolation => {
            "the server's certificate names a host its CA is not allowed to certify (name \
             constraints): the server needs a certificate from a CA allowed that name"
        }
        W::UnsupportedCriticalExtension => UNKNOWN_CRITICAL_EXTENSION,
        W::EmptyEkuExtension | W::RequiredEkuNotFound | W::RequiredEkuNotFoundContext(_) => {
            "the server's certificate is not meant for TLS servers (its extended key usage \
             lacks serverAuth): the server needs one issued for serverAuth"
        }
        W::MaximumPathBuildCallsExceeded
        | W::MaximumPathDepthExceeded
        | W::MaximumSignatureChecksExceeded
        | W::MaximumNameConstraintComparisonsExceeded => {
            "the server's certificate chain could not be verified within this client's \
             limits (too many certificates, signatures or name constraints to check): the \
             server should send only its certificate and the intermediates to a root"
        }
        W::InvalidCrlNumber
        | W::UnsupportedCrlIssuingDistributionPoint
        | W::UnsupportedCrlVersion
        | W::UnsupportedDeltaCrl
        | W::UnsupportedIndirectCrl
        | W::UnsupportedRevocationReason
        | W::UnsupportedRevocationReasonsPartitioning
        | W::IssuerNotCrlSigner
        | W::CrlExpired { .. } => {
            "a revocation list given to check the server's certificate is expired, malformed \
             or of a kind this client does not support: give the verifier a current, complete \
             revocation list from the CA"
        }
        _ => {
            "the server's certificate is malformed or uses a form this client does not \
             support (an unknown version, a malformed extension or name): the server needs \
             a well-formed X.509 v3 certificate"
        }
    })
}

/// The sentence says it all; rustls' reason is [`CertificateRejected::error`].
impl std::error::Error for CertificateRejected {}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use rustls::pki_types::{ServerName, UnixTime};
    use rustls::{CertificateError as E, ExtendedKeyPurpose, OtherError};

    use super::{CertificateRejected, bare_name};

    #[test]
    fn listed_names_lose_webpkis_debug_wrapping() {
        assert_eq!(bare_name(r#"DnsName("other.test")"#), "other.test");
        assert_eq!(bare_name("IpAddress(192.0.2.1)"), "192.0.2.1");
        assert_eq!(bare_name("IpAddress(::1)"), "::1");
        // Anything else is shown as rustls gave it.
        assert_eq!(bare_name("plain.test"), "plain.test");
        assert_eq!(bare_name("Odd(unclosed"), "Odd(unclosed");
    }

    fn other(error: impl std::error::Error + Send + Sync + 'static) -> E {
        E::Other(OtherError(Arc::new(error)))
    }

    /// A refusal's sentence, checked for Debug artefacts: braces, or a parenthesis
    /// right after a word (`Other(`, `DnsName(`), which prose never has.
    fn sentence(error: E) -> String {
        let text = CertificateRejected::new(error.clone()).to_string();
        let debug_call = text
            .as_bytes()
            .windows(2)
            .any(|w| w[1] == b'(' && w[0].is_ascii_alphanumeric());
        assert!(
            !text.contains('{') && !debug_call,
            "{error:?} reads as Debug: {text}"
        );
        // What to do follows a colon; a forged signature leaves the client nothing.
        assert!(
            text.contains(": ") || error == E::BadSignature,
            "{error:?} says nothing to do: {text}"
        );
        text
    }

    #[test]
    #[allow(deprecated)]
    fn every_certificate_refusal_is_a_sentence() {
        let time = UnixTime::since_unix_epoch(Duration::from_secs(1_700_000_000));
        let table: Vec<(E, &str)> = vec![
            (E::BadEncoding, "could not be parsed"),
            (E::Expired, "has expired"),
            (
                E::ExpiredContext {
                    time,
                    not_after: time,
                },
                "has expired",
            ),
            (E::NotValidYet, "not valid yet"),
            (
                E::NotValidYetContext {
                    time,
                    not_before: time,
                },
                "not valid yet",
            ),
            (E::Revoked, "has been revoked"),
            (E::UnhandledCriticalExtension, "critical extension"),
            (E::UnknownIssuer, "not issued by a CA this client trusts"),
            (E::UnknownRevocationStatus, "revocation status"),
            (E::ExpiredRevocationList, "revocation list"),
            (
                E::ExpiredRevocationListContext {
                    time,
                    next_update: time,
                },
                "revocation list",
            ),
            (E::BadSignature, "signature that does not verify"),
            (E::UnsupportedSignatureAlgorithm, "algorithm"),
            (
                E::UnsupportedSignatureAlgorithmContext {
                    signature_algorithm_id: vec![1, 2],
                    supported_algorithms: Vec::new(),
                },
                "algorithm",
            ),
            (
                E::UnsupportedSignatureAlgorithmForPublicKeyContext {
                    signature_algorithm_id: vec![1],
                    public_key_algorithm_id: vec![2],
                },
                "algorithm",
            ),
            (E::NotValidForName, "not valid for the name"),
            (
                E::NotValidForNameContext {
                    expected: ServerName::try_from("a.test").unwrap(),
                    presented: vec![r#"DnsName("b.test")"#.to_owned()],
                },
                "not valid for a.test (it names b.test)",
            ),
            (E::InvalidPurpose, "serverAuth"),
            (
                E::InvalidPurposeContext {
                    required: ExtendedKeyPurpose::ServerAuth,
                    presented: vec![ExtendedKeyPurpose::ClientAuth],
                },
                "serverAuth",
            ),
            (E::InvalidOcspResponse, "OCSP"),
            (
                E::ApplicationVerificationFailure,
                "own certificate verifier",
            ),
            (
                other(webpki::Error::CaUsedAsEndEntity),
                "is a CA certificate",
            ),
            (
                other(webpki::Error::EndEntityUsedAsCa),
                "not a CA certificate",
            ),
            (other(webpki::Error::CertDistrusted), "no longer trusted"),
            (
                other(webpki::Error::PathLenConstraintViolated),
                "pathLenConstraint",
            ),
            (
                other(webpki::Error::NameConstraintViolation),
                "name constraints",
            ),
            (
                other(webpki::Error::UnsupportedCriticalExtension),
                "critical extension",
            ),
            (other(webpki::Error::EmptyEkuExtension), "serverAuth"),
            (other(webpki::Error::MaximumPathDepthExceeded), "limits"),
            (other(webpki::Error::UnsupportedDeltaCrl), "revocation list"),
            (other(webpki::Error::MalformedExtensions), "malformed"),
            (other(webpki::Error::UnsupportedCertVersion), "malformed"),
            // A caller's verifier's own error: its Display, never its Debug.
            (
                other(std::io::Error::other(
                    "not on the allow list: call the admin",
                )),
                "refused: not on the allow list",
            ),
        ];
        for (error, expected) in table {
            let text = sentence(error.clone());
            assert!(text.contains(expected), "{error:?}: {text}");
            assert!(
                text.starts_with("the server's certificate")
                    || text.starts_with("the revocation")
                    || text.starts_with("the OCSP")
                    || text.starts_with("a "),
                "{text}"
            );
        }
    }
}
