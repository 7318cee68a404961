//! [`TlsOptions`] and what they are made of (roots, a client certificate, a minimum
//! version, ALPN, the failure policy), and [`PemError`]: reading certificates and keys.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

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
/// ([`TlsConfigError::ClientKeyMismatch`](crate::TlsConfigError::ClientKeyMismatch)).
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
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, PemError> {
        let origin = || PathBuf::from("<PEM data>");
        let chain = CertificateDer::pem_slice_iter(chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PemError::ReadClientCertificate {
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
    ) -> Result<Self, PemError> {
        let (chain_file, key_file) = (chain_file.as_ref(), key_file.as_ref());
        let read_error = |e| PemError::ReadClientCertificate {
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
    ) -> Result<Self, PemError> {
        if chain.is_empty() {
            return Err(PemError::NoCertificateInPem {
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

fn key_error(error: pem::Error, path: PathBuf, origin: &str) -> PemError {
    match error {
        pem::Error::NoItemsFound => PemError::NoPrivateKeyInPem {
            origin: origin.to_owned(),
        },
        other => PemError::ReadPrivateKey {
            path,
            error: pem_to_io(other),
        },
    }
}

/// TLS settings of a [`RawSocketTransport`](crate::RawSocketTransport).
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
/// are then refused with [`TlsConfigError::ConflictsWithRustlsConfig`](crate::TlsConfigError::ConflictsWithRustlsConfig) rather
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
/// use turbohttp::{TlsOptions, TlsVersion, ALPN_HTTP_1_1};
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
    /// Offer Encrypted Client Hello (RFC 9849) where the origin's HTTPS record
    /// carries an `ech` configuration (RFC 9848): the real server name travels
    /// encrypted, the configuration's public name in the clear. Default true. ECH
    /// needs the `aws-lc-rs` crypto provider (the default feature) and a
    /// configuration built from these options: on ring, or with
    /// [`rustls_config`](Self::rustls_config), it is never offered and the records'
    /// `ech` keys are ignored ([`ech_usable`](Self::ech_usable)). When every record
    /// the race uses carries one, no attempt goes without it.
    pub ech: bool,
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
            ech: true,
        }
    }
}

pub(super) fn default_alpn() -> Vec<Vec<u8>> {
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
            && self.ech == other.ech
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

    /// Sets [`ech`](Self::ech).
    pub fn with_ech(mut self, ech: bool) -> Self {
        self.ech = ech;
        self
    }

    /// Whether an HTTPS record's ECH configuration will be offered: [`ech`](Self::ech)
    /// is on, the crypto provider has HPKE (the `aws-lc-rs` feature), and the
    /// configuration is built from these options (no
    /// [`rustls_config`](Self::rustls_config), to which ECH cannot be added).
    pub fn ech_usable(&self) -> bool {
        cfg!(feature = "aws-lc-rs") && self.ech && self.rustls_config.is_none()
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
    pub fn add_roots_from_pem(&mut self, pem: &[u8]) -> Result<usize, PemError> {
        let roots = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PemError::ReadRootCertificates {
                path: "<PEM data>".into(),
                error: pem_to_io(e),
            })?;
        self.add_parsed(roots, "the PEM data".to_owned())
    }

    /// Adds every certificate of a PEM file (a CA bundle such as
    /// `/etc/ssl/certs/ca-certificates.crt`) as a trust anchor; returns how many.
    pub fn add_roots_from_pem_file(&mut self, path: impl AsRef<Path>) -> Result<usize, PemError> {
        let path = path.as_ref();
        let read_error = |e| PemError::ReadRootCertificates {
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
    ) -> Result<usize, PemError> {
        if roots.is_empty() {
            return Err(PemError::NoCertificateInPem { origin });
        }
        let n = roots.len();
        self.extra_roots.extend(roots);
        Ok(n)
    }
}

pub(super) fn pem_to_io(error: pem::Error) -> io::Error {
    match error {
        pem::Error::Io(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}

/// Why certificates or a private key could not be read from PEM data or a PEM file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PemError {
    /// A PEM file of root certificates could not be read or parsed.
    #[error("could not read root certificates from {}: {error}", path.display())]
    ReadRootCertificates {
        /// The file.
        path: PathBuf,
        /// What went wrong (in the message already, so not a `source()`).
        error: io::Error,
    },
    /// A PEM file or buffer holds no certificate at all.
    #[error("{origin} contains no PEM certificate")]
    NoCertificateInPem {
        /// The file name, or "the PEM data".
        origin: String,
    },
    /// A PEM file of client certificates could not be read or parsed.
    #[error("could not read the client certificate from {}: {error}", path.display())]
    ReadClientCertificate {
        /// The file.
        path: PathBuf,
        /// What went wrong (in the message already, so not a `source()`).
        error: io::Error,
    },
    /// A PEM file of a private key could not be read or parsed.
    #[error("could not read the private key from {}: {error}", path.display())]
    ReadPrivateKey {
        /// The file.
        path: PathBuf,
        /// What went wrong (in the message already, so not a `source()`).
        error: io::Error,
    },
    /// A PEM file or buffer holds no private key.
    #[error("{origin} contains no PEM private key (PKCS#8, PKCS#1 or SEC1)")]
    NoPrivateKeyInPem {
        /// The file name, or "the PEM data".
        origin: String,
    },
}
