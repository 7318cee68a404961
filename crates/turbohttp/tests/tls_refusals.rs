//! Handshake failures on real loopback servers read as sentences that name the likely
//! cause, and when every attempt fails, the one that got furthest leads: a plain-HTTP
//! server on a TLS port, a server with no cipher suite in common (OpenSSL, through
//! Python's `ssl`), an expired certificate, a self-signed one.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use rcgen::{CertificateParams, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use support::chain_text;
use support::tls_lab::*;
use turbohttp::{
    AttemptPhase, ConnectError, ConnectErrorKind, RawSocketTransport, Scheme, TlsOptions,
    TransportOptions,
};

const NAME: &str = "tls.test";

fn trusting(pki: &Pki) -> TransportOptions {
    TransportOptions::default().with_tls(
        TlsOptions::default()
            .with_webpki_roots(false)
            .with_root(pki.root()),
    )
}

async fn connect(options: TransportOptions, port: u16, addrs: &[SocketAddr]) -> ConnectError {
    RawSocketTransport::new(options)
        .expect("valid options")
        .with_resolver(resolver(NAME, port, addrs.iter().copied()))
        .connect(NAME, port, Scheme::Https)
        .await
        .expect_err("the handshake fails")
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server config");
    Arc::new(config)
}

/// The reproduction from the field: `python3 -m http.server` on 127.0.0.1 and nothing
/// on `[::1]`, fetched over https. The IPv4 attempt reached a server and learned that
/// it does not speak TLS; the refused `[::1]` says less. Whichever is dialed first, the
/// handshake's failure leads and the refusal follows in a few words.
#[test]
fn plain_http_on_a_tls_port_leads_whatever_the_address_order() {
    run(async {
        let mut servers = Servers::new();
        let port = servers.http(v4(0)).await;
        let _closed = closed_port(v6(port)); // nothing on [::1] at that port
        for addrs in [[v6(port), v4(port)], [v4(port), v6(port)]] {
            // The resolver's order decides which is dialed first.
            let mut options = TransportOptions::default();
            options.happy_eyeballs = options.happy_eyeballs.with_follow_resolver_order(true);
            let error = connect(options, port, &addrs).await;
            assert_eq!(error.kind(), ConnectErrorKind::AllAttemptsFailed);
            let lead = error.leading_attempt().expect("an attempt leads");
            assert_eq!(lead.endpoint, v4(port), "{error:#}");
            assert_eq!(lead.failure.as_ref().unwrap().phase, AttemptPhase::Setup);
            assert_eq!(
                chain_text(&error),
                format!(
                    "all 2 attempts to connect to {NAME}:{port} failed ([::1]:{port} refused \
                     the connection); 127.0.0.1:{port} connected, then its setup failed: the \
                     server did not answer with TLS (received corrupt message of type \
                     InvalidContentType): it is probably a plain-HTTP port (try http://) or \
                     another protocol"
                )
            );
            // The attempts stay in start order.
            assert_eq!(error.attempts()[0].endpoint, addrs[0]);
        }
        servers.shutdown().await;
    });
}

/// A Python `ssl` server (OpenSSL) that allows only TLS 1.2 with RSA key exchange,
/// which this client never offers. It prints its port, then serves until killed.
fn openssl_server(cert: &str, key: &str) -> Option<(Child, u16)> {
    let script = r#"
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.set_ciphers("AES128-SHA:@SECLEVEL=0")
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(8)
print(server.getsockname()[1], flush=True)
while True:
    conn, _ = server.accept()
    try:
        ctx.wrap_socket(conn, server_side=True)
    except (ssl.SSLError, OSError):
        pass
    conn.close()
"#;
    let mut child = Command::new("python3")
        .args(["-c", script, cert, key])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut()?)
        .read_line(&mut line)
        .ok()?;
    Some((child, line.trim().parse().ok()?))
}

#[test]
fn no_cipher_suite_in_common_says_so() {
    let pki = Pki::new();
    let dir = std::env::temp_dir().join(format!("turbohttp-ciphers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (cert, key) = pki.certificate_pem(NAME, rcgen::ExtendedKeyUsagePurpose::ServerAuth);
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, cert).expect("cert");
    std::fs::write(&key_file, key).expect("key");
    let (mut server, port) = openssl_server(
        cert_file.to_str().expect("utf-8"),
        key_file.to_str().expect("utf-8"),
    )
    .expect("python3 with ssl runs an OpenSSL server");
    let error = run(connect(trusting(&pki), port, &[v4(port)]));
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let text = chain_text(&error);
    assert_eq!(error.kind(), ConnectErrorKind::AllAttemptsFailed, "{text}");
    assert!(
        text.contains("the server refused the handshake (received fatal alert: HandshakeFailure)")
            && text.contains("shares no cipher suite or key exchange with this client"),
        "{text}"
    );
}

#[test]
fn an_expired_certificate_says_it_must_be_renewed() {
    run(async {
        let pki = Pki::new();
        let (chain, key) = pki.certificate_with(NAME, |params| {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        });
        let mut servers = Servers::new();
        let port = servers.https(v4(0), server_config(chain, key)).await;
        let error = connect(trusting(&pki), port, &[v4(port)]).await;
        assert_eq!(error.kind(), ConnectErrorKind::SetupRejected);
        assert_eq!(
            chain_text(&error),
            format!(
                "connecting to {NAME}:{port} stopped: 127.0.0.1:{port} rejected the connection \
                 setup: the server's certificate has expired: it must be renewed"
            )
        );
        servers.shutdown().await;
    });
}

#[test]
fn a_self_signed_certificate_is_named_as_such() {
    run(async {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(vec![NAME.to_owned()]).expect("params");
        // Its own subject: rcgen's default one is the test CAs' too.
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "a self-signed server");
        let cert = params.self_signed(&key).expect("certificate");
        let mut servers = Servers::new();
        let config = server_config(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        );
        let port = servers.https(v4(0), config).await;
        let error = connect(trusting(&Pki::new()), port, &[v4(port)]).await;
        assert_eq!(error.kind(), ConnectErrorKind::SetupRejected);
        let text = chain_text(&error);
        assert!(
            text.contains("was not issued by a CA this client trusts, or is self-signed"),
            "{text}"
        );
        servers.shutdown().await;
    });
}

/// TLS 1.2, where the server checks a client certificate inside the handshake: one
/// issued by a CA the server does not trust is refused, and the sentence says to check
/// the certificate we sent.
#[test]
fn a_client_certificate_the_server_refuses_says_so() {
    run(async {
        let pki = Pki::new();
        let trusted_clients = Pki::new();
        let config = pki.server_config_with(
            NAME,
            &[b"http/1.1"],
            &[&rustls::version::TLS12],
            Some(&trusted_clients),
        );
        let mut servers = Servers::new();
        let port = servers.https(v4(0), config).await;
        let (chain, key) = Pki::named("a CA the server does not know")
            .certificate("client.test", rcgen::ExtendedKeyUsagePurpose::ClientAuth);
        let mut options = trusting(&pki);
        options.tls.client_auth = Some(turbohttp::ClientCertificate::new(chain, key));
        let error = connect(options, port, &[v4(port)]).await;
        assert_eq!(error.kind(), ConnectErrorKind::AllAttemptsFailed);
        let text = chain_text(&error);
        assert!(
            text.contains("the server refused this client's certificate"),
            "{text}"
        );
        servers.shutdown().await;
    });
}
