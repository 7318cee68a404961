//! [`TransportOptions`]: everything that shapes a [`RawSocketTransport`]'s connections,
//! and [`TransportOptionsError`], why a set of them was refused.
//!
//! [`RawSocketTransport`]: super::RawSocketTransport

use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::socket_options::SocketOptions;
use super::tls::TlsOptions;
use crate::transport::connection::{HappyEyeballsOptions, OptionsError};

/// The default connect timeout: 30 s, as Go's `http.DefaultTransport`. It bounds the
/// whole connect (resolution, every attempt, every TLS handshake), not one attempt.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The default TCP keepalive idle time (and probe interval): 60 s, as curl's.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(60);

/// How a [`RawSocketTransport`](super::RawSocketTransport) connects.
///
/// ```
/// use std::time::Duration;
/// use turbohttp::transport::TransportOptions;
///
/// let options = TransportOptions {
///     connect_timeout: Duration::from_secs(5),
///     keepalive: None,
///     ..TransportOptions::default()
/// };
/// assert!(options.validate().is_ok());
///
/// let broken = TransportOptions { keepalive: Some(Duration::ZERO), ..options };
/// assert_eq!(
///     broken.validate().unwrap_err().to_string(),
///     "the TCP keepalive time is zero; use None to turn keepalive off",
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportOptions {
    /// Bounds one whole connect: resolution, every attempt and every TLS handshake.
    /// Default [`DEFAULT_CONNECT_TIMEOUT`] (30 s).
    pub connect_timeout: Duration,
    /// How IPv6 and IPv4 are raced.
    pub happy_eyeballs: HappyEyeballsOptions,
    /// `TCP_NODELAY`: send small writes at once instead of batching them (Nagle's
    /// algorithm off). Default true: HTTP writes whole messages and waits for answers.
    pub nodelay: bool,
    /// TCP keepalive: `Some(idle)` turns `SO_KEEPALIVE` on and sends the first probe
    /// after `idle` without traffic, then one every `idle`. `None` leaves it off.
    /// Default `Some(`[`DEFAULT_KEEPALIVE`]`)` (60 s, as curl), so that a pooled
    /// connection whose peer vanished is noticed.
    pub keepalive: Option<Duration>,
    /// The local address to bind before connecting (any port), like curl's
    /// `--interface ADDR`. Only addresses of its family can be dialed from it: an
    /// attempt to the other family fails at once with a clear error (and the race
    /// moves on). Default `None`: the OS chooses.
    pub local_address: Option<IpAddr>,
    /// TLS settings, used for `https` connections.
    pub tls: TlsOptions,
}

impl Default for TransportOptions {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            happy_eyeballs: HappyEyeballsOptions::default(),
            nodelay: true,
            keepalive: Some(DEFAULT_KEEPALIVE),
            local_address: None,
            tls: TlsOptions::default(),
        }
    }
}

impl TransportOptions {
    /// Checks every option; [`RawSocketTransport::new`](super::RawSocketTransport::new)
    /// does this (and builds the TLS configuration) before any socket is opened.
    pub fn validate(&self) -> Result<(), TransportOptionsError> {
        self.happy_eyeballs
            .validate_with_timeout(self.connect_timeout)?;
        if self.keepalive.is_some_and(|k| k.is_zero()) {
            return Err(TransportOptionsError::ZeroKeepalive);
        }
        self.tls.validate()
    }

    /// The options applied to every socket, on every path of the race.
    pub fn socket_options(&self) -> SocketOptions {
        SocketOptions {
            nodelay: self.nodelay,
            keepalive: self.keepalive,
            local_address: self.local_address,
        }
    }
}

/// Why a set of [`TransportOptions`] was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportOptionsError {
    /// The Happy Eyeballs options, or the connect timeout, cannot be used.
    #[error(transparent)]
    HappyEyeballs(#[from] OptionsError),
    /// A keepalive time of zero would probe a connection continuously.
    #[error("the TCP keepalive time is zero; use None to turn keepalive off")]
    ZeroKeepalive,
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
    Tls(rustls::Error),
}

impl From<rustls::Error> for TransportOptionsError {
    fn from(error: rustls::Error) -> Self {
        Self::Tls(error)
    }
}
