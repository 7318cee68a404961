//! `turbohttp get` over HTTP/3 on loopback (issue 23): the lab's HTTP/3 server
//! (quinn + h3) on a UDP port and an HTTPS server on the same TCP port. UDP open:
//! QUIC wins and the GET speaks HTTP/3; UDP blocked (a bound UDP port that never
//! answers): TCP wins one attempt delay later and the GET speaks HTTP/1.1;
//! `--http3-only` with UDP blocked fails at the timeout with curl's exit 28.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;

use assert_cmd::Command;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use turbohttp_lab::h3::{H3Server, QuicBehaviour, UdpBlackHole};

const NAME: &str = "quic.test";
const H3_BODY: &str = "hello over h3\n";
const TCP_BODY: &str = "hello over tcp\n";

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let output = Command::cargo_bin("turbohttp")
        .expect("the turbohttp binary is built")
        .args(args)
        .output()
        .expect("turbohttp runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A CA and a certificate for `NAME`, the CA as a PEM file; an HTTPS server on a TCP
/// port of 127.0.0.1, and the same port number free on UDP for QUIC.
struct Lab {
    config: Arc<rustls::ServerConfig>,
    /// The same certificate, requiring a client certificate from the lab's CA.
    mtls_config: Arc<rustls::ServerConfig>,
    ca_file: PathBuf,
    port: u16,
    runtime: tokio::runtime::Runtime,
}

impl Lab {
    fn new(test: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca =
            CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(vec![NAME.to_owned()])
            .expect("params")
            .signed_by(&key, &ca)
            .expect("certificate");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("server config");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.der().clone()).expect("root");
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::clone(&provider),
        )
        .build()
        .expect("verifier");
        let mtls_config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![CertificateDer::from(cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("server config");
        let mtls_config = Arc::new(mtls_config);
        let ca_file = std::env::temp_dir().join(format!(
            "turbohttp-cli-h3-{}-{test}.pem",
            std::process::id()
        ));
        std::fs::write(&ca_file, ca.pem()).expect("write the CA");
        let port = https_server(Arc::clone(&config));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        Self {
            config,
            mtls_config,
            ca_file,
            port,
            runtime,
        }
    }

    fn udp(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn h3_server(&self) -> H3Server {
        self.quic_server(QuicBehaviour::serve(H3_BODY))
    }

    /// HTTP/3 that requires a client certificate.
    fn mtls_h3_server(&self) -> H3Server {
        let _guard = self.runtime.enter();
        H3Server::start(
            self.udp(),
            Arc::clone(&self.mtls_config),
            QuicBehaviour::serve(H3_BODY),
        )
        .expect("the HTTP/3 server starts")
    }

    fn quic_server(&self, behaviour: QuicBehaviour) -> H3Server {
        let _guard = self.runtime.enter();
        H3Server::start(self.udp(), Arc::clone(&self.config), behaviour)
            .expect("the HTTP/3 server starts")
    }

    fn get(&self, flags: &[&str]) -> Run {
        self.command("get", flags)
    }

    fn command(&self, command: &str, flags: &[&str]) -> Run {
        let url = format!("https://{NAME}:{}/", self.port);
        let resolve = format!("{NAME}:{}:127.0.0.1", self.port);
        let ca = self.ca_file.to_string_lossy().into_owned();
        let mut args = vec![command, &url, "--resolve", &resolve, "--cacert", &ca];
        args.extend_from_slice(flags);
        run(&args)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca_file);
    }
}

/// An HTTPS/1.1 server on 127.0.0.1 (threads, rustls) answering `TCP_BODY`.
fn https_server(config: Arc<rustls::ServerConfig>) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            thread::spawn(move || {
                let Ok(connection) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(connection, stream);
                let mut reader = BufReader::new(&mut tls);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let _ = write!(
                    tls,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{TCP_BODY}",
                    TCP_BODY.len()
                );
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    port
}

#[test]
fn with_udp_open_get_http3_speaks_http3_over_the_quic_winner() {
    let lab = Lab::new("open");
    let server = lab.h3_server();
    // TCP waits 2 s for QUIC here (a QUIC handshake on a loaded machine may take
    // longer than the default 125 ms, and TCP would then win, rightly).
    let out = lab.get(&["-v", "--http3", "--spacing", "2s"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, H3_BODY);
    // The timeline marks the transport; the exchange is HTTP/3.
    assert!(out.stderr.contains("QUIC h3"), "{}", out.stderr);
    assert!(
        out.stderr.contains("tls: TLSv1_3, ALPN h3"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("> GET / HTTP/3"), "{}", out.stderr);
    assert!(out.stderr.contains("< HTTP/3.0 200 OK"), "{}", out.stderr);
    assert_eq!(server.handshakes(), 1);

    let out = lab.get(&["--json", "--http3", "--spacing", "2s"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let json: Value = serde_json::from_str(&out.stderr).expect("JSON");
    assert_eq!(json["http_version"], "3");
    assert_eq!(json["attempts"][0]["transport"], "quic");
    assert_eq!(json["attempts"][0]["outcome"], "won");
    assert_eq!(json["quic_remembered_broken"], false);
}

#[test]
fn with_udp_blocked_get_http3_falls_back_to_tcp_one_attempt_delay_later() {
    let lab = Lab::new("blocked");
    let hole = UdpBlackHole::bind(lab.udp()).expect("udp bind");
    let out = lab.get(&["--json", "--http3"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, TCP_BODY);
    assert!(hole.was_sent_to(), "QUIC was tried first");
    let json: Value = serde_json::from_str(&out.stderr).expect("JSON");
    assert_eq!(json["http_version"], "1.1");
    let attempts = json["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0]["transport"], "quic");
    assert_eq!(attempts[0]["outcome"], "cancelled");
    assert_eq!(attempts[1]["transport"], "tcp");
    assert_eq!(attempts[1]["outcome"], "won");
    let gap = attempts[1]["start_ms"].as_f64().unwrap() - attempts[0]["start_ms"].as_f64().unwrap();
    assert!(
        gap >= 125.0,
        "TCP waits one attempt spacing for QUIC: {gap} ms"
    );

    let out = lab.get(&["-v", "--http3"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("QUIC h3"), "{}", out.stderr);
    assert!(out.stderr.contains("> GET / HTTP/1.1"), "{}", out.stderr);
}

#[test]
fn http3_only_with_udp_blocked_fails_at_the_timeout_with_exit_28() {
    let lab = Lab::new("only");
    let _hole = UdpBlackHole::bind(lab.udp()).expect("udp bind");
    let out = lab.get(&["--http3-only", "--connect-timeout", "400ms"]);
    assert_eq!(out.code, Some(28), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("the connect timeout ran out"),
        "{}",
        out.stderr
    );
}

#[test]
fn http_version_flags_exclude_each_other_and_http2_dials_no_quic() {
    let lab = Lab::new("flags");
    let out = lab.get(&["--http3", "--http2"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let server = lab.h3_server();
    let out = lab.get(&["--json", "--http2"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let json: Value = serde_json::from_str(&out.stderr).expect("JSON");
    let attempts = json["attempts"].as_array().expect("attempts");
    assert!(
        attempts.iter().all(|a| a["transport"] == "tcp"),
        "{attempts:?}"
    );
    assert_eq!(server.handshakes(), 0);
}

#[test]
fn connect_http3_shows_the_quic_race_and_its_tls() {
    let lab = Lab::new("connect");
    let _server = lab.h3_server();
    let out = lab.command("connect", &["--tls", "--http3", "--spacing", "2s"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("QUIC h3"), "{}", out.stdout);
    assert!(
        out.stdout.contains("tls: TLSv1_3, ALPN h3"),
        "{}",
        out.stdout
    );
    let json = lab.command("connect", &["--tls", "--json", "--http3-only"]);
    assert_eq!(json.code, Some(0), "{}", json.stderr);
    let json: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(json["attempts"][0]["transport"], "quic");
    assert_eq!(json["tls"]["alpn"], "h3");
    assert!(json["local_address"].is_string());
    // Without TLS there is no QUIC: a usage error, before anything is sent.
    let plain = run(&["connect", "127.0.0.1:9", "--http3"]);
    assert_eq!(plain.code, Some(2), "{}", plain.stderr);
    assert!(plain.stderr.contains("add --tls"), "{}", plain.stderr);
}

#[test]
fn an_http3_failure_after_the_quic_handshake_is_exit_95_with_a_sentence() {
    let lab = Lab::new("broken-h3");
    let server = lab.quic_server(QuicBehaviour::BreakHttp3);
    let out = lab.get(&["--http3-only"]);
    assert_eq!(out.code, Some(95), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("the HTTP/3 exchange failed: "),
        "{}",
        out.stderr
    );
    assert_eq!(server.handshakes(), 1, "QUIC itself worked");
    let json = lab.get(&["--http3-only", "--json"]);
    assert_eq!(json.code, Some(95), "{}", json.stderr);
    let json: Value = serde_json::from_str(&json.stderr).expect("JSON");
    assert_eq!(json["http_error"]["exit_code"], 95);
    assert_eq!(json["attempts"][0]["outcome"], "won");
}

#[test]
fn http3_to_a_server_that_requires_a_client_certificate_is_exit_35_as_over_tcp() {
    let lab = Lab::new("mtls");
    let _server = lab.mtls_h3_server();
    let out = lab.get(&["--http3-only"]);
    assert_eq!(out.code, Some(35), "{}", out.stderr);
    assert!(out.stderr.contains("client certificate"), "{}", out.stderr);
}

#[test]
fn each_version_flag_says_what_quic_and_tcp_offer() {
    use turbohttp::Http3;
    use turbohttp_cli::args::HttpVersionArgs;
    let flags = |http3, http3_only, http2, http1_1| HttpVersionArgs {
        http3,
        http3_only,
        http2,
        http1_1,
    };
    let none = flags(false, false, false, false);
    assert_eq!(none.http3(), Http3::Advertised);
    assert!(none.tcp_alpn().is_empty(), "the library's h2, http/1.1");
    assert_eq!(flags(true, false, false, false).http3(), Http3::Also);
    assert_eq!(flags(false, true, false, false).http3(), Http3::Only);
    assert_eq!(flags(false, false, true, false).http3(), Http3::Off);
    assert!(flags(false, false, true, false).tcp_alpn().is_empty());
    let http1 = flags(false, false, false, true);
    assert_eq!(http1.http3(), Http3::Off);
    assert_eq!(http1.tcp_alpn(), [b"http/1.1".to_vec()]);
}
