//! `TlsOptions::native_roots`: the platform's trust store, through rustls-native-certs.
//!
//! rustls-native-certs reads `SSL_CERT_FILE` when it is set, which lets a test make the
//! "platform" store a file holding a private CA. The environment is process-wide (and
//! setting it needs `unsafe`, which this workspace forbids), so each case runs this
//! test binary again as a child process with its own environment: `child` does the
//! work when `TURBOHTTP_NATIVE_ROOTS_CASE` says which case, and passes trivially
//! otherwise.

// Options are built by assignment, never struct literals (they are becoming
// #[non_exhaustive], at which point clippy stops suggesting literals).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use support::tls_lab;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use turbohttp::ConnectErrorKind;
use turbohttp::{RawSocketTransport, Scheme, TlsOptions, TransportOptions};

use tls_lab::*;

const NAME: &str = "native.test";
const CASE: &str = "TURBOHTTP_NATIVE_ROOTS_CASE";
const SERVER_CERT: &str = "TURBOHTTP_NATIVE_ROOTS_SERVER_CERT";
const SERVER_KEY: &str = "TURBOHTTP_NATIVE_ROOTS_SERVER_KEY";

/// A private directory for one case's files.
fn scratch(case: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "turbohttp-native-roots-{}-{case}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Runs `child` in a new process with `SSL_CERT_FILE` set to `cert_file`, or unset for
/// `None` (the platform's own locations), and `SSL_CERT_DIR` unset, so that only that
/// file counts.
fn run_child(case: &str, cert_file: Option<&Path>, extra_env: &[(&str, &Path)]) {
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command
        .args(["child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CASE, case)
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
    if let Some(file) = cert_file {
        command.env("SSL_CERT_FILE", file);
    }
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let output = command.output().expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "case {case} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("native roots case {case} checked")),
        "the child did not run the case: {stdout}"
    );
}

#[test]
fn a_private_ca_in_ssl_cert_file_is_trusted_as_a_platform_root() {
    let pki = Pki::new();
    let dir = scratch("trusted");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, pki.root_pem()).unwrap();
    let (cert, key) = pki.certificate_pem(NAME, ExtendedKeyUsagePurpose::ServerAuth);
    let (cert_file, key_file) = (dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&key_file, key).unwrap();
    run_child(
        "trusted",
        Some(&ca),
        &[(SERVER_CERT, &cert_file), (SERVER_KEY, &key_file)],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_platform_store_without_certificates_is_refused() {
    let dir = scratch("empty");
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "no certificate in here\n").unwrap();
    run_child("empty", Some(&empty), &[]);
    run_child("missing", Some(&dir.join("absent.pem")), &[]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// This machine's own store (Debian's /etc/ssl/certs, found by openssl-probe), where
/// there is one.
#[test]
fn the_machines_store_loads() {
    if !Path::new("/etc/ssl/certs/ca-certificates.crt").exists() {
        eprintln!("no system CA bundle here: skipped");
        return;
    }
    run_child("machine", None, &[]);
}

/// The child's side: does nothing unless a parent above set the case.
#[test]
fn child() {
    let Ok(case) = std::env::var(CASE) else {
        return;
    };
    let native = TlsOptions::default()
        .with_webpki_roots(false)
        .with_native_roots(true);
    match case.as_str() {
        "trusted" => run(async {
            let cert = std::env::var(SERVER_CERT).unwrap();
            let key = std::env::var(SERVER_KEY).unwrap();
            let server = rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from_pem_file(cert).unwrap()],
                PrivateKeyDer::from_pem_file(key).unwrap(),
            )
            .unwrap();
            let mut servers = Servers::new();
            let port = servers.https(v4(0), Arc::new(server)).await;
            let connect = |tls: TlsOptions| async move {
                let mut options = TransportOptions::default();
                options.tls = tls;
                RawSocketTransport::new(options)
                    .expect("valid options")
                    .with_resolver(resolver(NAME, port, [v4(port)]))
                    .connect(NAME, port, Scheme::Https)
                    .await
            };
            connect(native.clone())
                .await
                .expect("the CA of SSL_CERT_FILE is trusted");
            // With the webpki roots too, the platform's are added to them.
            connect(native.clone().with_webpki_roots(true))
                .await
                .expect("webpki and the platform's");
            // The webpki roots alone do not know the private CA.
            let error = connect(TlsOptions::default())
                .await
                .expect_err("webpki only");
            assert_eq!(error.kind(), ConnectErrorKind::SetupRejected);
            servers.shutdown().await;
        }),
        "machine" => {
            native.client_config().expect("the machine's roots");
        }
        "empty" => {
            let error = native.client_config().unwrap_err();
            assert_eq!(
                error.to_string(),
                "no root certificate could be loaded from the platform's trust store (it \
                 holds no certificate); install the CA certificates, point SSL_CERT_FILE at \
                 a bundle, or use other roots"
            );
        }
        "missing" => {
            let error = native.client_config().unwrap_err();
            let message = error.to_string();
            assert!(
                message.starts_with(
                    "no root certificate could be loaded from the platform's trust store ("
                ) && message.contains("absent.pem"),
                "{message}"
            );
        }
        other => panic!("unknown case {other}"),
    }
    println!("native roots case {case} checked");
}
