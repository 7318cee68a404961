//! The one place a rustls [`ClientConfig`] is made from [`TlsOptions`], and
//! [`TlsConfigError`], why it could not be. TCP's TLS handshake uses it; a QUIC dialer
//! will call it too, with its own ALPN.

use std::sync::Arc;

use rustls::pki_types::{DnsName, ServerName};
use rustls::{ClientConfig, RootCertStore, SupportedProtocolVersion};

use super::options::{TlsOptions, TlsVersion, default_alpn};
use crate::host::Host;

impl TlsOptions {
    /// Checks the options by building the client configuration.
    pub fn validate(&self) -> Result<(), TlsConfigError> {
        self.client_config().map(drop)
    }

    /// The rustls client configuration these options describe: the caller's
    /// [`rustls_config`](Self::rustls_config) with ALPN merged in, or one built on the
    /// crate's [`crypto_provider`] (never a process-wide default provider).
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TlsConfigError> {
        if let Some(p) = self
            .alpn_protocols
            .iter()
            .find(|p| p.is_empty() || p.len() > 255)
        {
            return Err(TlsConfigError::InvalidAlpnProtocol {
                name: String::from_utf8_lossy(p).into_owned(),
            });
        }
        self.server_name_override()?;
        if let Some(given) = &self.rustls_config {
            return self.merged(given);
        }
        self.built(None, self.alpn_protocols.clone())
    }

    /// The configuration for an attempt that offers Encrypted Client Hello with
    /// `config_list` (an HTTPS record's `ech`), offering `alpn`: these options' own,
    /// TLS 1.3 only (ECH requires it). Fails when the list is malformed or offers no
    /// HPKE suite this client has ([`HandshakeRefused`](crate::HandshakeRefused) says
    /// so), or without the `aws-lc-rs` provider.
    pub(crate) fn ech_config(
        &self,
        config_list: &[u8],
        alpn: Vec<Vec<u8>>,
    ) -> Result<Arc<ClientConfig>, TlsConfigError> {
        #[cfg(feature = "aws-lc-rs")]
        {
            let list = rustls::pki_types::EchConfigListBytes::from(config_list.to_vec());
            let suites = rustls::crypto::aws_lc_rs::hpke::ALL_SUPPORTED_SUITES;
            let ech = rustls::client::EchConfig::new(list, suites)?;
            self.built(Some(rustls::client::EchMode::from(ech)), alpn)
        }
        #[cfg(not(feature = "aws-lc-rs"))]
        {
            let _ = (config_list, alpn);
            Err(rustls::Error::General("ECH needs the aws-lc-rs crypto provider".into()).into())
        }
    }

    /// A configuration built from the options, with `ech` (and then TLS 1.3 only).
    fn built(
        &self,
        ech: Option<rustls::client::EchMode>,
        alpn: Vec<Vec<u8>>,
    ) -> Result<Arc<ClientConfig>, TlsConfigError> {
        let roots = self.root_store()?;
        let provider = Arc::new(crypto_provider());
        let versions: &[&SupportedProtocolVersion] = match self.min_version {
            None | Some(TlsVersion::Tls12) => rustls::DEFAULT_VERSIONS,
            Some(TlsVersion::Tls13) => &[&rustls::version::TLS13],
        };
        let builder = ClientConfig::builder_with_provider(provider);
        let builder = match ech {
            Some(mode) => builder.with_ech(mode)?,
            None => builder.with_protocol_versions(versions)?,
        };
        let builder = builder.with_root_certificates(roots);
        let mut config = match &self.client_auth {
            None => builder.with_no_client_auth(),
            Some(client) => {
                if client.chain().is_empty() {
                    return Err(TlsConfigError::EmptyClientCertificateChain);
                }
                builder
                    .with_client_auth_cert(client.chain().to_vec(), client.key().clone_key())
                    .map_err(|e| match e {
                        rustls::Error::InconsistentKeys(_) => TlsConfigError::ClientKeyMismatch,
                        other => TlsConfigError::InvalidClientCertificate {
                            reason: other.to_string(),
                        },
                    })?
            }
        };
        config.alpn_protocols = alpn;
        Ok(Arc::new(config))
    }

    /// The caller's configuration with our ALPN merged in (see the type's docs).
    fn merged(&self, given: &Arc<ClientConfig>) -> Result<Arc<ClientConfig>, TlsConfigError> {
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
            return Err(TlsConfigError::ConflictsWithRustlsConfig { option });
        }
        if !given.alpn_protocols.is_empty() {
            if self.alpn_protocols != default_alpn() {
                return Err(TlsConfigError::ConflictsWithRustlsConfig {
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
    fn root_store(&self) -> Result<RootCertStore, TlsConfigError> {
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
                .map_err(|e| TlsConfigError::InvalidRootCertificate {
                    index,
                    reason: e.to_string(),
                })?;
        }
        if roots.is_empty() {
            return Err(TlsConfigError::NoRootCertificates);
        }
        Ok(roots)
    }

    /// The parsed [`server_name`](Self::server_name) override, if any.
    pub fn server_name_override(&self) -> Result<Option<ServerName<'static>>, TlsConfigError> {
        let Some(name) = &self.server_name else {
            return Ok(None);
        };
        let invalid = || TlsConfigError::InvalidServerName { name: name.clone() };
        let host = Host::parse(name).map_err(|_| invalid())?;
        server_name_of(&host).map(Some).ok_or_else(invalid)
    }
}

/// The crypto provider the TLS configurations this crate builds use: aws-lc-rs' (with
/// the `aws-lc-rs` feature, the default: post-quantum hybrid key exchange first, and
/// the HPKE suites Encrypted Client Hello needs), else ring's (the `ring` feature).
pub fn crypto_provider() -> rustls::crypto::CryptoProvider {
    #[cfg(feature = "aws-lc-rs")]
    return rustls::crypto::aws_lc_rs::default_provider();
    // rustls 0.23.48 deprecates ring's provider for its lack of post-quantum key
    // exchange; it stays an option for builds that cannot take aws-lc.
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    #[allow(deprecated)]
    return rustls::crypto::ring::default_provider();
}

#[cfg(not(any(feature = "aws-lc-rs", feature = "ring")))]
compile_error!(
    "turbohttp needs a crypto provider: enable its `aws-lc-rs` (default) or `ring` feature"
);

/// Adds the platform's roots. rustls-native-certs returns what it could load and the
/// errors it met: none usable is an error (the option would trust nothing from the
/// platform), some errors beside usable roots are only a warning, as a partly
/// unreadable store is common (a dangling link in /etc/ssl/certs).
fn add_native_roots(roots: &mut RootCertStore) -> Result<(), TlsConfigError> {
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
        return Err(TlsConfigError::NoNativeRoots { reason });
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

/// Why a rustls client configuration could not be built from [`TlsOptions`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// An ALPN protocol name is empty or longer than the 255 bytes TLS allows.
    #[error("the ALPN protocol name {name:?} is not 1 to 255 bytes long")]
    InvalidAlpnProtocol {
        /// The name, lossily decoded.
        name: String,
    },
    /// The TLS server name override is neither a DNS name nor an IP address.
    #[error("the TLS server name {name:?} is neither a valid DNS name nor an IP address")]
    InvalidServerName {
        /// The name given.
        name: String,
    },
    /// With the webpki roots off and no custom root, no certificate could ever verify.
    #[error(
        "no root certificate is configured (the webpki roots are off and no custom root \
         was added), so no server certificate could be verified"
    )]
    NoRootCertificates,
    /// A custom root certificate cannot be used as a trust anchor.
    #[error("custom root certificate #{index} cannot be used as a trust anchor: {reason}")]
    InvalidRootCertificate {
        /// Its position among the custom roots, from 0.
        index: usize,
        /// Why it was refused.
        reason: String,
    },
    /// A TLS option that builds part of the rustls configuration was set beside a
    /// caller's whole configuration ([`TlsOptions::rustls_config`]), which decides it.
    #[error(
        "the TLS option {option} cannot be combined with a caller's rustls ClientConfig \
         (TlsOptions::rustls_config), which decides it: set it in that ClientConfig instead"
    )]
    ConflictsWithRustlsConfig {
        /// The option, as its field is named.
        option: &'static str,
    },
    /// The platform's trust store gave no usable root certificate.
    #[error(
        "no root certificate could be loaded from the platform's trust store ({reason}); \
         install the CA certificates, point SSL_CERT_FILE at a bundle, or use other roots"
    )]
    NoNativeRoots {
        /// What rustls-native-certs reported, or that the store is empty.
        reason: String,
    },
    /// The client certificate chain is empty.
    #[error("the client certificate chain is empty; it must start with the client's certificate")]
    EmptyClientCertificateChain,
    /// The client's private key is not the key of its certificate.
    #[error(
        "the client private key does not match the client certificate (the first of the chain)"
    )]
    ClientKeyMismatch,
    /// rustls refused the client certificate or key.
    #[error("the client certificate or key cannot be used: {reason}")]
    InvalidClientCertificate {
        /// rustls' reason.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("rustls refused the TLS configuration: {0}")]
    Rustls(rustls::Error),
    /// QUIC needs TLS 1.3 and its AES-128-GCM suite, which the configuration lacks.
    #[error(
        "the TLS configuration cannot run QUIC, which needs TLS 1.3 with the \
         TLS13_AES_128_GCM_SHA256 suite: allow TLS 1.3, or do not ask for HTTP/3"
    )]
    NoQuicSuite,
}

impl From<rustls::Error> for TlsConfigError {
    fn from(error: rustls::Error) -> Self {
        Self::Rustls(error)
    }
}
