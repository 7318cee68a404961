//! curl's TLS flags on `get` and `connect`, run as the built binary against loopback
//! servers (127.0.0.1 only): `--cert`/`--key` (mutual TLS), `--tlsv1.2`/`--tlsv1.3`
//! (the minimum version) and `--ca-native` (the platform's store, pointed at a private
//! CA through `SSL_CERT_FILE` in the child's environment only).

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;

use assert_cmd::Command;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

const NAME: &str = "mtls.test";

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], env: &[(&str, &Path)]) -> Run {
    let mut command = Command::cargo_bin("turbohttp").expect("the turbohttp binary is built");
    // Only what a test sets: this machine may name its own bundle in these.
    command
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.args(args).output().expect("turbohttp runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A private CA, and files in a private directory.
struct Lab {
    ca: CertifiedIssuer<'static, KeyPair>,
    dir: PathBuf,
}

impl Lab {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca =
            CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
        let dir =
            std::env::temp_dir().join(format!("turbohttp-cli-tls-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        Self { ca, dir }
    }

    fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, contents).expect("write");
        path
    }

    /// The CA as a PEM file.
    fn ca_file(&self) -> PathBuf {
        self.file("ca.pem", &self.ca.pem())
    }

    /// A certificate for `name` and its key, as PEM.
    fn certificate(&self, name: &str, usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("params");
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &self.ca).expect("certificate");
        (cert.pem(), key.serialize_pem())
    }

    /// An HTTPS server for `NAME` on 127.0.0.1 offering `versions`, requiring a client
    /// certificate from this CA. Each handshake's client chain (or the server's error)
    /// goes to the returned channel.
    fn mtls_server(
        &self,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> (
        u16,
        mpsc::Receiver<Result<Vec<CertificateDer<'static>>, String>>,
    ) {
        let (cert, key) = self.certificate(NAME, ExtendedKeyUsagePurpose::ServerAuth);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.der().clone()).expect("root");
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::clone(&provider),
        )
        .build()
        .expect("verifier");
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).expect("cert")],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key"),
            )
            .expect("server config");
        let config = Arc::new(config);
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (report, seen) = mpsc::channel();
        thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let config = Arc::clone(&config);
                let report = report.clone();
                thread::spawn(move || {
                    let mut connection = rustls::ServerConnection::new(config).expect("session");
                    // The handshake, and in TLS 1.3 the client's certificate after it.
                    while connection.is_handshaking() {
                        if let Err(e) = connection.complete_io(&mut stream) {
                            let _ = report.send(Err(e.to_string()));
                            return;
                        }
                    }
                    let chain = connection
                        .peer_certificates()
                        .map(<[_]>::to_vec)
                        .unwrap_or_default();
                    let _ = report.send(Ok(chain));
                    let mut tls = rustls::StreamOwned::new(connection, stream);
                    let mut reader = BufReader::new(&mut tls);
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                        line.clear();
                    }
                    let body = "hello, client\n";
                    let _ = write!(
                        tls,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        (port, seen)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn der_of(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).expect("certificate")
}

#[test]
fn get_with_cert_and_key_passes_a_server_that_requires_them() {
    let lab = Lab::new("get-mtls");
    let ca = lab.ca_file();
    let (cert, key) = lab.certificate("client.test", ExtendedKeyUsagePurpose::ClientAuth);
    let cert_file = lab.file("client.pem", &cert);
    let key_file = lab.file("client.key", &key);
    let both = lab.file("both.pem", &format!("{cert}{key}"));
    let (port, seen) = lab.mtls_server(rustls::DEFAULT_VERSIONS);
    let url = format!("https://{NAME}:{port}/");
    let resolve = format!("{NAME}:{port}:127.0.0.1");
    let ca = ca.to_str().unwrap();

    let ok = run(
        &[
            "get",
            "--cacert",
            ca,
            "--cert",
            cert_file.to_str().unwrap(),
            "--key",
            key_file.to_str().unwrap(),
            "--resolve",
            &resolve,
            &url,
        ],
        &[],
    );
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    assert_eq!(ok.stdout, "hello, client\n");
    assert_eq!(seen.recv().unwrap(), Ok(vec![der_of(&cert)]));

    // The key in the certificate's file, as curl allows.
    let ok = run(
        &[
            "get",
            "--cacert",
            ca,
            "--cert",
            both.to_str().unwrap(),
            "--resolve",
            &resolve,
            &url,
        ],
        &[],
    );
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    assert_eq!(seen.recv().unwrap(), Ok(vec![der_of(&cert)]));
}

#[test]
fn connect_without_a_client_certificate_fails_in_tls_with_a_sentence() {
    let lab = Lab::new("connect-mtls");
    let ca = lab.ca_file();
    let (cert, key) = lab.certificate("client.test", ExtendedKeyUsagePurpose::ClientAuth);
    let cert_file = lab.file("client.pem", &cert);
    let key_file = lab.file("client.key", &key);
    // TLS 1.2: the server checks the client's certificate within the handshake.
    let (port, seen) = lab.mtls_server(&[&rustls::version::TLS12]);
    let target = format!("{NAME}:{port}");
    let resolve = format!("{NAME}:{port}:127.0.0.1");
    let ca = ca.to_str().unwrap();
    let base = ["connect", "--tls", "--cacert", ca, "--resolve", &resolve];

    let refused = run(&[&base[..], &[target.as_str()]].concat(), &[]);
    assert_eq!(refused.code, Some(35), "{}", refused.stderr);
    assert!(
        refused.stderr.contains(
            "the server requires a client certificate and none was sent (received fatal \
             alert: CertificateRequired): pass one (--cert and --key, TlsOptions::client_auth)"
        ),
        "{}",
        refused.stderr
    );
    assert!(seen.recv().unwrap().is_err());

    let with_cert = [
        "--cert",
        cert_file.to_str().unwrap(),
        "--key",
        key_file.to_str().unwrap(),
        "--json",
    ];
    let ok = run(&[&base[..], &with_cert, &[target.as_str()]].concat(), &[]);
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    let json: serde_json::Value = serde_json::from_str(&ok.stdout).expect("JSON");
    assert_eq!(json["tls"]["version"], "TLSv1_2");
    assert_eq!(seen.recv().unwrap(), Ok(vec![der_of(&cert)]));

    // TLS 1.3 only against this TLS 1.2 server: exit 35, and what to do.
    let tls13 = [
        "--tlsv1.3",
        "--cert",
        cert_file.to_str().unwrap(),
        "--key",
        key_file.to_str().unwrap(),
    ];
    let refused = run(&[&base[..], &tls13, &[target.as_str()]].concat(), &[]);
    assert_eq!(refused.code, Some(35), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("the server does not support the TLS versions this client allows"),
        "{}",
        refused.stderr
    );
    // The last of --tlsv1.3 and --tlsv1.2 counts, as in curl.
    let last = [
        "--tlsv1.3",
        "--tlsv1.2",
        "--cert",
        cert_file.to_str().unwrap(),
    ];
    let ok = run(
        &[
            &base[..],
            &last,
            &["--key", key_file.to_str().unwrap(), target.as_str()],
        ]
        .concat(),
        &[],
    );
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
}

#[test]
fn ca_native_reads_the_platform_store() {
    let lab = Lab::new("ca-native");
    let ca = lab.ca_file();
    let empty = lab.file("empty.pem", "no certificate here\n");
    let (cert, key) = lab.certificate("client.test", ExtendedKeyUsagePurpose::ClientAuth);
    let both = lab.file("both.pem", &format!("{cert}{key}"));
    let (port, _seen) = lab.mtls_server(rustls::DEFAULT_VERSIONS);
    let url = format!("https://{NAME}:{port}/");
    let resolve = format!("{NAME}:{port}:127.0.0.1");
    let args = [
        "get",
        "--ca-native",
        "--cert",
        both.to_str().unwrap(),
        "--resolve",
        &resolve,
        &url,
    ];

    // SSL_CERT_FILE makes the private CA the platform's store.
    let ok = run(&args, &[("SSL_CERT_FILE", &ca)]);
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    assert_eq!(ok.stdout, "hello, client\n");

    // Without --ca-native the built-in roots do not know it.
    let refused = run(
        &[&args[..1], &args[2..]].concat(),
        &[("SSL_CERT_FILE", &ca)],
    );
    assert_eq!(refused.code, Some(35), "{}", refused.stderr);

    let empty_store = run(&args, &[("SSL_CERT_FILE", &empty)]);
    assert_eq!(empty_store.code, Some(2), "{}", empty_store.stderr);
    assert!(
        empty_store.stderr.contains(
            "--ca-native: no root certificate could be loaded from the platform's trust store \
             (it holds no certificate)"
        ),
        "{}",
        empty_store.stderr
    );
}

#[test]
fn unusable_client_certificates_are_usage_errors() {
    let lab = Lab::new("bad-cert");
    let (cert, _) = lab.certificate("client.test", ExtendedKeyUsagePurpose::ClientAuth);
    let (_, other_key) = lab.certificate("other.test", ExtendedKeyUsagePurpose::ClientAuth);
    let cert_file = lab.file("client.pem", &cert);
    let other_key = lab.file("other.key", &other_key);
    let missing = lab.dir.join("absent.pem");
    let url = "https://127.0.0.1:1/";
    let cases: [(&[&str], String); 5] = [
        (
            &["get", "--cert", missing.to_str().unwrap(), url],
            format!(
                "--cert: could not read the client certificate from {}: ",
                missing.display()
            ),
        ),
        (
            &["get", "--cert", cert_file.to_str().unwrap(), url],
            format!(
                "--cert: {} contains no PEM private key",
                cert_file.display()
            ),
        ),
        (
            &[
                "get",
                "--cert",
                cert_file.to_str().unwrap(),
                "--key",
                missing.to_str().unwrap(),
                url,
            ],
            format!(
                "--key: could not read the private key from {}: ",
                missing.display()
            ),
        ),
        (
            &[
                "get",
                "--cert",
                cert_file.to_str().unwrap(),
                "--key",
                other_key.to_str().unwrap(),
                url,
            ],
            "--key: the client private key does not match the client certificate".to_owned(),
        ),
        (
            &["get", "--key", other_key.to_str().unwrap(), url],
            "--cert".to_owned(),
        ),
    ];
    for (args, expected) in cases {
        let refused = run(args, &[]);
        assert_eq!(refused.code, Some(2), "{args:?}: {}", refused.stderr);
        assert!(
            refused.stderr.contains(&expected),
            "{args:?}: {}",
            refused.stderr
        );
    }
}

/// Under TLS 1.3 the client's handshake ends before the server reads its (empty)
/// certificate, so the refusal arrives on the first request: `get` still says what
/// is wrong and what to do, with curl's TLS exit code.
#[test]
fn get_without_a_client_certificate_under_tls13_says_why() {
    let lab = Lab::new("get-mtls13");
    let ca = lab.ca_file();
    let (port, seen) = lab.mtls_server(&[&rustls::version::TLS13]);
    let url = format!("https://{NAME}:{port}/");
    let resolve = format!("{NAME}:{port}:127.0.0.1");

    let refused = run(
        &[
            "get",
            "--cacert",
            ca.to_str().unwrap(),
            "--resolve",
            &resolve,
            &url,
        ],
        &[],
    );
    assert_eq!(refused.code, Some(35), "{}", refused.stderr);
    assert!(
        refused.stderr.contains(
            "the server requires a client certificate and none was sent (received fatal \
             alert: CertificateRequired): pass one (--cert and --key, TlsOptions::client_auth)"
        ),
        "{}",
        refused.stderr
    );
    assert!(seen.recv().unwrap().is_err());
}
