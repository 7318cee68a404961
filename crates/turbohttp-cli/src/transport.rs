//! Building the library's [`RawSocketTransport`] from the command line: race settings,
//! `--resolve` entries, and TLS (`--cacert`, `--servername`).

use std::path::{Path, PathBuf};

use turbohttp::transport::TlsOptions;
use turbohttp::transport::connection::{DefaultResolver, StaticResolver};
use turbohttp::{RawSocketTransport, TransportOptions, TransportOptionsError};

use crate::exit::CliError;
use crate::options::{RaceConfig, options_error};

/// The transport the commands use: `--resolve` entries in front of DNS (or getaddrinfo).
pub type Transport<R = StaticResolver<DefaultResolver>> = RawSocketTransport<R>;

/// TLS settings from the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// `--cacert FILE`: trust only the CA certificates of this PEM file (as curl does,
    /// it replaces the built-in roots).
    pub cacert: Option<PathBuf>,
    /// `--servername NAME`: the name sent as SNI and verified.
    pub servername: Option<String>,
    /// The ALPN protocols to offer; empty for the library's default (`h2`, `http/1.1`).
    pub alpn: Vec<Vec<u8>>,
}

impl TlsSettings {
    /// The library's TLS options; a `--cacert` that cannot be read is a usage error.
    pub fn tls_options(&self) -> Result<TlsOptions, CliError> {
        let mut tls = TlsOptions {
            server_name: self.servername.clone(),
            ..TlsOptions::default()
        };
        if !self.alpn.is_empty() {
            tls.alpn_protocols.clone_from(&self.alpn);
        }
        if let Some(path) = &self.cacert {
            tls.webpki_roots = false;
            tls.add_roots_from_pem_file(path)
                .map_err(|e| cacert_error(path, &e))?;
        }
        Ok(tls)
    }
}

fn cacert_error(path: &Path, error: &TransportOptionsError) -> CliError {
    match error {
        TransportOptionsError::ReadRootCertificates { error, .. } => CliError::usage(
            "--cacert",
            format!("cannot read {}: {error}", path.display()),
        ),
        other => CliError::usage("--cacert", other),
    }
}

/// A transport with these settings; every refused option is a usage error naming its
/// flag.
pub fn build<R>(
    config: &RaceConfig,
    tls: &TlsSettings,
    resolver: R,
) -> Result<Transport<R>, CliError> {
    let options = TransportOptions {
        connect_timeout: config.connect_timeout,
        happy_eyeballs: config.options,
        tls: tls.tls_options()?,
        ..TransportOptions::default()
    };
    RawSocketTransport::new_with_resolver(options, resolver).map_err(|e| match e {
        TransportOptionsError::HappyEyeballs(e) => options_error(e),
        TransportOptionsError::InvalidServerName { name } => CliError::usage(
            "--servername",
            format!("{name:?} is neither a valid DNS name nor an IP address"),
        ),
        e @ (TransportOptionsError::InvalidRootCertificate { .. }
        | TransportOptionsError::NoCertificateInPem { .. }
        | TransportOptionsError::ReadRootCertificates { .. }
        | TransportOptionsError::NoRootCertificates) => CliError::usage("--cacert", e),
        other => CliError::usage("options", other),
    })
}
