//! [`LabCa`]: a throwaway certificate authority, made fresh on every run, and rustls
//! server configurations for names it signs: what the demo's HTTPS and HTTP/3
//! origins present, trusted by the client the demo builds (nothing else trusts it).

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA whose key lives only in this process.
#[derive(Debug)]
pub struct LabCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl LabCa {
    /// A new CA.
    pub fn new() -> Result<Self, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "turbohttp lab CA");
        Ok(Self {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate()?)?,
        })
    }

    /// The CA certificate, for the client to trust.
    pub fn root(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// A server configuration (aws-lc-rs, TLS 1.2 and 1.3) with a certificate for
    /// `name` signed by this CA, offering `alpn`.
    pub fn server_config(
        &self,
        name: &str,
        alpn: &[&[u8]],
    ) -> Result<Arc<rustls::ServerConfig>, Box<dyn std::error::Error + Send + Sync>> {
        let key = KeyPair::generate()?;
        let cert = CertificateParams::new(vec![name.to_owned()])?.signed_by(&key, &self.issuer)?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )?;
        config.alpn_protocols = alpn.iter().map(|id| id.to_vec()).collect();
        Ok(Arc::new(config))
    }
}
