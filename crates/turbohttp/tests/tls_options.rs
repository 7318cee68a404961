//! The TLS options beyond roots, on real loopback servers (rcgen certificates,
//! tokio-rustls servers): client certificates (mutual TLS), a caller's own rustls
//! `ClientConfig` with ALPN merged in, the minimum TLS version, and the refusals.

// Options are built by assignment, never struct literals (they are becoming
// #[non_exhaustive], at which point clippy stops suggesting literals).

mod support;

use support::chain_text;

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use support::tls_lab;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use turbohttp::{
    ALPN_H2, ALPN_HTTP_1_1, ClientCertificate, RawSocketTransport, Scheme, TlsOptions, TlsVersion,
    TransportOptions,
};
use turbohttp::{ConnectError, ConnectErrorKind, PemError, TlsConfigError};

use tls_lab::*;

const PORT: u16 = 443;
const NAME: &str = "tls.test";

/// Default options trusting only the test CA.
fn options(pki: &Pki) -> TransportOptions {
    let mut options = TransportOptions::default();
    options.tls = TlsOptions::default()
        .with_webpki_roots(false)
        .with_root(pki.root());
    options
}

fn options_with(tls: TlsOptions) -> TransportOptions {
    let mut options = TransportOptions::default();
    options.tls = tls;
    options
}

async fn connect(
    options: TransportOptions,
    port: u16,
) -> Result<turbohttp::Established<turbohttp::TransportStream>, ConnectError> {
    RawSocketTransport::new(options)
        .expect("valid options")
        .with_resolver(resolver(NAME, PORT, [v4(port)]))
        .connect(NAME, PORT, Scheme::Https)
        .await
}

/// One GET through hyper-util's client: the body, or the error's chain as text.
async fn get(options: TransportOptions, port: u16) -> Result<String, String> {
    let transport = RawSocketTransport::new(options)
        .expect("valid options")
        .with_resolver(resolver(NAME, port, [v4(port)]));
    let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(transport);
    let uri = format!("https://{NAME}:{port}/mtls").parse().unwrap();
    let response = client.get(uri).await.map_err(|e| chain_text(&e))?;
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| chain_text(&e))?;
    Ok(String::from_utf8_lossy(&body.to_bytes()).into_owned())
}

fn client_certificate(ca: &Pki, name: &str) -> ClientCertificate {
    let (chain, key) = ca.certificate(name, ExtendedKeyUsagePurpose::ClientAuth);
    ClientCertificate::new(chain, key)
}

#[test]
fn a_server_that_requires_a_client_certificate_sees_ours() {
    run(async {
        let pki = Pki::new();
        let client_ca = Pki::new();
        let mut servers = Servers::new();
        let config =
            pki.server_config_with(NAME, &[ALPN_H2], rustls::DEFAULT_VERSIONS, Some(&client_ca));
        let (port, mut handshakes) = servers.https_recording(v4(0), config).await;
        let client = client_certificate(&client_ca, "client.test");
        let sent = client.chain()[0].clone();
        let mut options = options(&pki);
        options.tls.client_auth = Some(client);

        let won = connect(options.clone(), port)
            .await
            .expect("the server accepts our certificate");
        assert_eq!(won.stream.alpn_protocol(), Some(ALPN_H2));
        let seen = handshakes.recv().await.expect("a handshake");
        assert_eq!(seen, Ok(Some(vec![sent.clone()])));
        drop(won);

        // And a request over it: the server answered after checking the certificate.
        assert_eq!(get(options, port).await, Ok("HTTP/2.0 /mtls".to_owned()));
        assert_eq!(handshakes.recv().await.unwrap(), Ok(Some(vec![sent])));
        servers.shutdown().await;
    });
}

/// TLS 1.2: the server checks the client's certificate before its Finished, so the
/// handshake itself fails, with the server's alert in the attempt's message.
#[test]
fn without_a_client_certificate_a_tls12_handshake_fails() {
    run(async {
        let pki = Pki::new();
        let client_ca = Pki::new();
        let mut servers = Servers::new();
        let config = pki.server_config_with(
            NAME,
            &[ALPN_HTTP_1_1],
            &[&rustls::version::TLS12],
            Some(&client_ca),
        );
        let (port, mut handshakes) = servers.https_recording(v4(0), config).await;

        let error = connect(options(&pki), port)
            .await
            .expect_err("no client certificate");
        assert_eq!(error.kind(), ConnectErrorKind::AllAttemptsFailed);
        let message = chain_text(&error);
        assert!(
            message.contains("the server requires a client certificate"),
            "{message}"
        );
        let failure = error.attempts()[0].failure.as_ref().unwrap();
        assert!(!failure.terminal);
        let server_side = handshakes.recv().await.unwrap().unwrap_err();
        assert!(server_side.contains("no certificates"), "{server_side}");
        servers.shutdown().await;
    });
}

/// TLS 1.3: the client's handshake ends before the server has read its (empty)
/// certificate message, so the connect succeeds and the first request fails with the
/// server's alert, as with any TLS 1.3 client.
#[test]
fn without_a_client_certificate_a_tls13_request_fails() {
    run(async {
        let pki = Pki::new();
        let client_ca = Pki::new();
        let mut servers = Servers::new();
        let config = pki.server_config_with(
            NAME,
            &[ALPN_HTTP_1_1],
            &[&rustls::version::TLS13],
            Some(&client_ca),
        );
        let (port, mut handshakes) = servers.https_recording(v4(0), config).await;

        let error = get(options(&pki), port)
            .await
            .expect_err("no client certificate");
        assert!(error.contains("CertificateRequired"), "{error}");
        let server_side = handshakes.recv().await.unwrap().unwrap_err();
        assert!(server_side.contains("no certificates"), "{server_side}");
        servers.shutdown().await;
    });
}

/// Accepts exactly one certificate (its DER bytes, pinned), whatever signed it, and
/// counts its calls. Signatures are still checked, with the provider's algorithms.
#[derive(Debug)]
struct Pinned {
    certificate: CertificateDer<'static>,
    calls: AtomicUsize,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if end_entity.as_ref() == self.certificate.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A caller's config trusting `roots`, with `alpn`.
fn caller_config(roots: &[CertificateDer<'static>], alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut store = RootCertStore::empty();
    for root in roots {
        store.add(root.clone()).expect("root");
    }
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(store)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

#[test]
fn a_callers_verifier_pins_a_certificate_no_root_store_knows() {
    run(async {
        // A CA nobody trusts: only the pin lets the connection through.
        let pki = Pki::new();
        let (chain, key) = pki.certificate(NAME, ExtendedKeyUsagePurpose::ServerAuth);
        let pinned = Arc::new(Pinned {
            certificate: chain[0].clone(),
            calls: AtomicUsize::new(0),
            algorithms: provider().signature_verification_algorithms,
        });
        let mut server = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        // The server offers both, so what is negotiated shows which client list won.
        server.alpn_protocols = vec![ALPN_H2.to_vec(), ALPN_HTTP_1_1.to_vec()];
        let mut servers = Servers::new();
        let port = servers.https(v4(0), Arc::new(server)).await;
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::clone(&pinned) as Arc<dyn ServerCertVerifier>)
            .with_no_client_auth();
        let tls = TlsOptions::default().with_rustls_config(Arc::new(config.clone()));

        let won = connect(options_with(tls.clone()), port)
            .await
            .expect("the pinned certificate");
        assert_eq!(pinned.calls.load(Ordering::SeqCst), 1);
        // The caller's config had no ALPN: ours (h2 first) was merged in, so h2.
        assert_eq!(won.stream.alpn_protocol(), Some(ALPN_H2));
        drop(won);

        // A caller's config with its own ALPN keeps it (ours, with h2, is not merged):
        // http/1.1, though the server prefers h2.
        let mut own_alpn = config;
        own_alpn.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
        let won = connect(
            options_with(TlsOptions::default().with_rustls_config(Arc::new(own_alpn))),
            port,
        )
        .await
        .expect("the pinned certificate");
        assert_eq!(pinned.calls.load(Ordering::SeqCst), 2);
        assert_eq!(won.stream.alpn_protocol(), Some(ALPN_HTTP_1_1));
        drop(won);

        // Another certificate for the same name is refused by the pin, and the refusal
        // is a certificate error: it stops the race.
        let other = Pki::new().server_config(NAME, &[]);
        let other_port = servers.https(v4(0), other).await;
        let error = connect(options_with(tls.clone()), other_port)
            .await
            .expect_err("not the pinned certificate");
        assert_eq!(error.kind(), ConnectErrorKind::SetupRejected);
        assert_eq!(pinned.calls.load(Ordering::SeqCst), 3);
        // The verifier's ApplicationVerificationFailure, as a sentence.
        assert_eq!(
            chain_text(&error),
            format!(
                "connecting to {NAME}:{PORT} stopped: {} rejected the connection setup: the \
                 server's certificate was refused by the application's own certificate \
                 verifier (TlsOptions::rustls_config): it is not a certificate that verifier \
                 accepts, for instance not the pinned one",
                v4(other_port)
            )
        );

        // Without the caller's verifier the default roots refuse the pinned server.
        let error = connect(TransportOptions::default(), port)
            .await
            .expect_err("no root knows it");
        assert_eq!(error.kind(), ConnectErrorKind::SetupRejected);
        servers.shutdown().await;
    });
}

#[test]
fn alpn_is_merged_into_a_callers_config_only_when_it_has_none() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let port = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_H2, ALPN_HTTP_1_1]))
            .await;

        // Empty ALPN in the caller's config: ours (h2, http/1.1) is used, so h2.
        let empty = caller_config(&[pki.root()], &[]);
        let tls = TlsOptions::default().with_rustls_config(Arc::clone(&empty));
        let merged = tls.client_config().unwrap();
        assert_eq!(
            merged.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert!(
            empty.alpn_protocols.is_empty(),
            "the caller's config is not changed"
        );
        let won = connect(options_with(tls), port).await.expect("connects");
        assert_eq!(won.stream.alpn_protocol(), Some(ALPN_H2));
        assert!(won.stream.is_h2());
        drop(won);
        // Through hyper-util's client, that means HTTP/2.
        let tls = TlsOptions::default().with_rustls_config(Arc::clone(&empty));
        assert_eq!(
            get(options_with(tls), port).await,
            Ok("HTTP/2.0 /mtls".to_owned())
        );

        // Our own list replaces the default when the caller's config has none.
        let tls = TlsOptions::default()
            .with_rustls_config(Arc::clone(&empty))
            .with_alpn_protocols(vec![ALPN_HTTP_1_1.to_vec()]);
        let won = connect(options_with(tls), port).await.expect("connects");
        assert_eq!(won.stream.alpn_protocol(), Some(ALPN_HTTP_1_1));
        drop(won);

        // The caller's own ALPN is kept, as given (the same Arc).
        let own = caller_config(&[pki.root()], &[ALPN_HTTP_1_1]);
        let tls = TlsOptions::default().with_rustls_config(Arc::clone(&own));
        assert!(Arc::ptr_eq(&tls.client_config().unwrap(), &own));
        let won = connect(options_with(tls.clone()), port)
            .await
            .expect("connects");
        assert_eq!(won.stream.alpn_protocol(), Some(ALPN_HTTP_1_1));
        assert!(!won.stream.is_h2());
        drop(won);
        assert_eq!(
            get(options_with(tls), port).await,
            Ok("HTTP/1.1 /mtls".to_owned())
        );
        servers.shutdown().await;
    });
}

#[test]
fn tls13_minimum_refuses_a_tls12_only_server() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let config =
            pki.server_config_with(NAME, &[ALPN_HTTP_1_1], &[&rustls::version::TLS12], None);
        let port = servers.https(v4(0), config).await;

        // By default TLS 1.2 is allowed.
        let won = connect(options(&pki), port).await.expect("TLS 1.2");
        assert_eq!(
            won.stream.tls().unwrap().protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_2)
        );
        drop(won);
        let mut tls12 = options(&pki);
        tls12.tls.min_version = Some(TlsVersion::Tls12);
        connect(tls12, port).await.expect("TLS 1.2 is the minimum");

        let mut tls13 = options(&pki);
        tls13.tls = tls13.tls.with_min_version(TlsVersion::Tls13);
        let error = connect(tls13, port).await.expect_err("TLS 1.3 only");
        assert_eq!(error.kind(), ConnectErrorKind::AllAttemptsFailed);
        let message = chain_text(&error);
        assert!(
            message.contains("the server does not support the TLS versions this client allows"),
            "{message}"
        );
        assert_eq!(io::Error::from(error).kind(), io::ErrorKind::InvalidData);
        servers.shutdown().await;
    });
}

#[test]
fn client_certificates_load_from_pem_files() {
    let ca = Pki::new();
    let (cert, key) = ca.certificate_pem("client.test", ExtendedKeyUsagePurpose::ClientAuth);
    let dir = std::env::temp_dir().join(format!("turbohttp-tls-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert_file = dir.join("client.pem");
    let key_file = dir.join("client.key");
    let both_file = dir.join("both.pem");
    let empty_file = dir.join("empty.pem");
    std::fs::write(&cert_file, &cert).unwrap();
    std::fs::write(&key_file, &key).unwrap();
    std::fs::write(&both_file, format!("{cert}{key}")).unwrap();
    std::fs::write(&empty_file, "nothing in PEM here\n").unwrap();

    let loaded = ClientCertificate::from_pem_files(&cert_file, &key_file).unwrap();
    assert_eq!(loaded.chain().len(), 1);
    assert!(matches!(loaded.key(), PrivateKeyDer::Pkcs8(_)));
    let tls = TlsOptions::default().with_client_auth(loaded.clone());
    assert!(tls.client_config().is_ok());
    // One file with both, as curl's --cert without --key.
    assert_eq!(
        ClientCertificate::from_pem_files(&both_file, &both_file).unwrap(),
        loaded.clone()
    );
    assert_eq!(
        ClientCertificate::from_pem(cert.as_bytes(), key.as_bytes()).unwrap(),
        loaded
    );

    let missing = ClientCertificate::from_pem_files(dir.join("absent.pem"), &key_file).unwrap_err();
    assert!(
        matches!(&missing, PemError::ReadClientCertificate { error, .. } if error.kind() == io::ErrorKind::NotFound),
        "{missing:?}"
    );
    assert!(
        missing.to_string().starts_with(&format!(
            "could not read the client certificate from {}: ",
            dir.join("absent.pem").display()
        )),
        "{missing}"
    );
    let missing_key =
        ClientCertificate::from_pem_files(&cert_file, dir.join("absent.key")).unwrap_err();
    assert!(
        missing_key.to_string().starts_with(&format!(
            "could not read the private key from {}: ",
            dir.join("absent.key").display()
        )),
        "{missing_key}"
    );
    assert_eq!(
        ClientCertificate::from_pem_files(&cert_file, &cert_file)
            .unwrap_err()
            .to_string(),
        format!(
            "{} contains no PEM private key (PKCS#8, PKCS#1 or SEC1)",
            cert_file.display()
        )
    );
    assert_eq!(
        ClientCertificate::from_pem_files(&empty_file, &key_file)
            .unwrap_err()
            .to_string(),
        format!("{} contains no PEM certificate", empty_file.display())
    );

    // A key that is not the certificate's: rustls refuses it when the config is built.
    let (_, other_key) = ca.certificate_pem("other.test", ExtendedKeyUsagePurpose::ClientAuth);
    let mismatched = ClientCertificate::from_pem(cert.as_bytes(), other_key.as_bytes()).unwrap();
    let error = TlsOptions::default()
        .with_client_auth(mismatched)
        .client_config()
        .unwrap_err();
    assert!(matches!(error, TlsConfigError::ClientKeyMismatch));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn invalid_tls_options_are_refused_with_a_sentence() {
    let pki = Pki::new();
    let config = caller_config(&[pki.root()], &[ALPN_H2]);
    let client = client_certificate(&pki, "client.test");
    let refused = |tls: TlsOptions| {
        RawSocketTransport::new(options_with(tls))
            .expect_err("refused")
            .to_string()
    };
    let conflict = |option: &str| {
        format!(
            "the TLS option {option} cannot be combined with a caller's rustls ClientConfig \
             (TlsOptions::rustls_config), which decides it: set it in that ClientConfig instead"
        )
    };
    let with_config = || TlsOptions::default().with_rustls_config(Arc::clone(&config));
    let table: Vec<(TlsOptions, String)> = vec![
        (
            with_config().with_webpki_roots(false),
            conflict("webpki_roots = false"),
        ),
        (
            with_config().with_native_roots(true),
            conflict("native_roots"),
        ),
        (with_config().with_root(pki.root()), conflict("extra_roots")),
        (
            with_config().with_min_version(TlsVersion::Tls13),
            conflict("min_version"),
        ),
        (
            with_config().with_client_auth(client.clone()),
            conflict("client_auth"),
        ),
        (
            with_config().with_alpn_protocols(vec![ALPN_HTTP_1_1.to_vec()]),
            conflict("alpn_protocols"),
        ),
        (
            with_config().with_alpn_protocols(vec![Vec::new()]),
            "the ALPN protocol name \"\" is not 1 to 255 bytes long".to_owned(),
        ),
        (
            with_config().with_server_name("exa mple"),
            "the TLS server name \"exa mple\" is neither a valid DNS name nor an IP address"
                .to_owned(),
        ),
        (
            TlsOptions::default()
                .with_client_auth(ClientCertificate::new(Vec::new(), client.key().clone_key())),
            "the client certificate chain is empty; it must start with the client's certificate"
                .to_owned(),
        ),
        (
            TlsOptions::default().with_client_auth(ClientCertificate::new(
                client.chain().to_vec(),
                client_certificate(&pki, "other.test").key().clone_key(),
            )),
            "the client private key does not match the client certificate (the first of the \
             chain)"
                .to_owned(),
        ),
    ];
    for (tls, message) in table {
        assert_eq!(refused(tls.clone()), message, "{tls:?}");
    }

    // What is not refused: a caller's config with the options left at their defaults,
    // the server name override and the failure policy, which apply to it too.
    assert!(RawSocketTransport::new(options_with(with_config().with_server_name(NAME))).is_ok());
    // Equality: a caller's config is the same only as the same Arc.
    assert_eq!(with_config(), with_config());
    assert_ne!(
        with_config(),
        TlsOptions::default().with_rustls_config(caller_config(&[pki.root()], &[ALPN_H2]))
    );
    // The key stays out of Debug output.
    let debug = format!("{:?}", TlsOptions::default().with_client_auth(client));
    assert!(debug.contains("[secret key elided]"), "{debug}");
}
