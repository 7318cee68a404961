//! Interop (issue 23): turbohttp's HTTP/3 path against an HTTP/3 server it did not
//! write — aioquic, the Python QUIC and HTTP/3 stack from PyPI
//! (`tests/interop/aioquic_server.py`), on loopback, both families. The command
//! (`get --http3-only`) and the library (`connect_any` + `http3_handshake` + GETs).
//!
//! Needs `python3` with aioquic (`python3 -m pip install aioquic==1.7.2`; CI installs
//! it). Without them the tests fail and say so: an interop test that skips itself
//! would pass without having run.

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use assert_cmd::Command;
use bytes::Buf;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::CertificateDer;
use serde_json::Value;
use turbohttp::{
    AttemptOutcome, ConnectParams, Connection, Http3, NoResolver, RawSocketTransport,
    StaticResolver, TlsOptions, Transport, TransportOptions, http3_handshake,
};

const NAME: &str = "aioquic.test";
const BODY: &str = "hello from aioquic\n";
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/interop/aioquic_server.py"
);
const INSTALL: &str = "python3 -m pip install aioquic==1.7.2";
/// How long the server may take to start (Python's imports); a bound on a wait for
/// its readiness line, never a sleep.
const STARTUP: Duration = Duration::from_secs(30);
/// How long a test waits for the server's next event: well under the QUIC idle
/// timeout (30 s), so that a connection left open (closed by the server's idle timer,
/// not by the client) fails the test instead of passing late.
const EVENT_WAIT: Duration = Duration::from_secs(10);

/// A temporary directory with a CA (`ca.pem`) and a certificate for `NAME` signed by
/// it (`server.pem`, `server.key`); removed on drop.
struct Pki {
    dir: PathBuf,
    ca: CertificateDer<'static>,
}

impl Pki {
    fn new(case: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca =
            CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(vec![NAME.to_owned()])
            .expect("params")
            .signed_by(&key, &ca)
            .expect("certificate");
        let dir = std::env::temp_dir().join(format!(
            "turbohttp-interop-aioquic-{}-{case}",
            std::process::id()
        ));
        fs::create_dir_all(&dir).expect("temp dir");
        fs::write(dir.join("ca.pem"), ca.pem()).expect("write the CA");
        fs::write(dir.join("server.pem"), cert.pem()).expect("write the certificate");
        fs::write(dir.join("server.key"), key.serialize_pem()).expect("write the key");
        Self {
            dir,
            ca: CertificateDer::from(ca.der().to_vec()),
        }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Fails, saying what to install, unless `python3` can import aioquic.
fn require_aioquic() {
    let out = Process::new("python3")
        .args(["-c", "import aioquic; print(aioquic.__version__)"])
        .output()
        .unwrap_or_else(|e| {
            panic!("the aioquic interop test needs python3 ({e}); install Python 3, then run `{INSTALL}`")
        });
    assert!(
        out.status.success(),
        "the aioquic interop test needs aioquic for python3; run `{INSTALL}` ({})",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// `aioquic_server.py` on `host`, port 0, with the `Pki`'s certificate: started, and
/// ready once it printed its port. Its later stdout lines are events (`request ...`,
/// `closed ...`), read in order with [`Self::next_event`]. Killed on drop; its stderr
/// goes to a file in the `Pki`'s directory, shown by [`Self::log`] when an assertion
/// fails.
struct Aioquic {
    child: Child,
    port: u16,
    events: mpsc::Receiver<String>,
    log: PathBuf,
}

impl Aioquic {
    fn start(host: IpAddr, pki: &Pki) -> Self {
        require_aioquic();
        let log = pki.path(&format!("server-{host}.log"));
        let mut child = Process::new("python3")
            .arg(SCRIPT)
            .args(["--host", &host.to_string(), "--port", "0"])
            .arg("--cert")
            .arg(pki.path("server.pem"))
            .arg("--key")
            .arg(pki.path("server.key"))
            // Stdin open while the test runs: the server exits when it closes, so it
            // ends with the test even if the test process is killed.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("log file"))
            .spawn()
            .unwrap_or_else(|e| panic!("python3 starts ({e}); run `{INSTALL}`"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, events) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            port: 0,
            events,
            log,
        };
        let line = server.events.recv_timeout(STARTUP).unwrap_or_default();
        server.port = line.trim().parse().unwrap_or_else(|_| {
            panic!(
                "the aioquic server did not print its port (got {line:?}); its log:\n{}",
                server.log()
            )
        });
        server
    }

    /// The next event the server printed, waiting for it at most `EVENT_WAIT`.
    fn next_event(&self) -> String {
        self.events.recv_timeout(EVENT_WAIT).unwrap_or_else(|e| {
            panic!(
                "no event from the aioquic server within {EVENT_WAIT:?} ({e}); its log:\n{}",
                self.log()
            )
        })
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Aioquic {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `turbohttp get --http3-only https://NAME:PORT/`, NAME resolved to `addr`, the
/// `Pki`'s CA trusted, and `flags`.
fn get(pki: &Pki, addr: IpAddr, port: u16, flags: &[&str]) -> Run {
    let url = format!("https://{NAME}:{port}/");
    let resolve = match addr {
        IpAddr::V4(a) => format!("{NAME}:{port}:{a}"),
        IpAddr::V6(a) => format!("{NAME}:{port}:[{a}]"),
    };
    let ca = pki.path("ca.pem");
    let output = Command::cargo_bin("turbohttp")
        .expect("the turbohttp binary is built")
        .args([
            "get",
            "--http3-only",
            &url,
            "--resolve",
            &resolve,
            "--cacert",
        ])
        .arg(&ca)
        .args(flags)
        .output()
        .expect("turbohttp runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn get_speaks_http3_to_aioquic(addr: IpAddr, case: &str) {
    let pki = Pki::new(case);
    let server = Aioquic::start(addr, &pki);
    let port = server.port;

    let out = get(&pki, addr, port, &["-v"]);
    let context = || format!("{}\nserver log:\n{}", out.stderr, server.log());
    assert_eq!(out.code, Some(0), "{}", context());
    assert_eq!(out.stdout, BODY, "{}", context());
    assert!(out.stderr.contains("QUIC h3"), "{}", context());
    assert!(
        out.stderr.contains("tls: TLSv1_3, ALPN h3"),
        "{}",
        context()
    );
    assert!(out.stderr.contains("> GET / HTTP/3"), "{}", context());
    assert!(out.stderr.contains("< HTTP/3.0 200"), "{}", context());
    assert!(out.stderr.contains("< server: aioquic"), "{}", context());

    let out = get(&pki, addr, port, &["--json"]);
    let context = || format!("{}\nserver log:\n{}", out.stderr, server.log());
    assert_eq!(out.code, Some(0), "{}", context());
    assert_eq!(out.stdout, BODY, "{}", context());
    let json: Value = serde_json::from_str(&out.stderr).unwrap_or_else(|e| {
        panic!("JSON on stderr ({e}): {}", context());
    });
    assert_eq!(json["http_version"], "3", "{}", context());
    let attempts = json["attempts"].as_array().expect("attempts");
    assert_eq!(
        attempts.len(),
        1,
        "--http3-only dials no TCP: {}",
        context()
    );
    assert_eq!(json["attempts"][0]["transport"], "quic", "{}", context());
    assert_eq!(json["attempts"][0]["outcome"], "won", "{}", context());
    assert_eq!(json["http"]["status"], 200, "{}", context());
    assert_eq!(json["http"]["version"], "HTTP/3.0", "{}", context());
    assert_eq!(json["tls"]["alpn"], "h3", "{}", context());

    // aioquic saw one request per run, with `NAME:PORT` as its :authority, and each run closed its connection before it exited: CONNECTION_CLOSE
    // with HTTP/3's H3_NO_ERROR (0x100) and no reason phrase, not left to the
    // server's idle timeout. (A close is reported after its draining period, maybe
    // after the next run's request: the events are compared sorted.)
    let mut events: Vec<String> = (0..4).map(|_| server.next_event()).collect();
    events.sort();
    let request = |conn| format!("request {conn} GET / {NAME}:{port}");
    assert_eq!(
        events,
        ["closed 1 0x100 ", "closed 2 0x100 "]
            .map(str::to_owned)
            .into_iter()
            .chain([request(1), request(2)])
            .collect::<Vec<_>>(),
        "server log:\n{}",
        server.log()
    );
}

#[test]
fn get_http3_only_speaks_http3_to_aioquic_over_ipv4() {
    get_speaks_http3_to_aioquic(IpAddr::V4(Ipv4Addr::LOCALHOST), "get-v4");
}

#[test]
fn get_http3_only_speaks_http3_to_aioquic_over_ipv6() {
    get_speaks_http3_to_aioquic(IpAddr::V6(Ipv6Addr::LOCALHOST), "get-v6");
}

/// One GET on `send`: the status, the `server` header and the body.
async fn library_get(
    send: &mut turbohttp::Http3SendRequest,
    path: &str,
) -> (u16, Option<String>, String) {
    let request = hyper::Request::get(format!("https://{NAME}{path}"))
        .body(())
        .expect("request");
    let mut stream = send.send_request(request).await.expect("request sent");
    stream.finish().await.expect("request finished");
    let response = stream.recv_response().await.expect("response head");
    let mut body = Vec::new();
    while let Some(mut chunk) = stream.recv_data().await.expect("body") {
        while chunk.has_remaining() {
            let piece = chunk.chunk();
            let len = piece.len();
            body.extend_from_slice(piece);
            chunk.advance(len);
        }
    }
    let server = response
        .headers()
        .get("server")
        .map(|v| v.to_str().expect("ASCII").to_owned());
    (
        response.status().as_u16(),
        server,
        String::from_utf8(body).expect("UTF-8"),
    )
}

#[test]
fn the_library_races_quic_to_aioquic_sends_two_gets_on_one_connection_and_closes_it() {
    for addr in [
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        IpAddr::V4(Ipv4Addr::LOCALHOST),
    ] {
        let pki = Pki::new(&format!("library-{}", if addr.is_ipv4() { 4 } else { 6 }));
        let server = Aioquic::start(addr, &pki);
        let port = server.port;
        // A worker thread of its own: quinn's tasks keep running (and send the
        // CONNECTION_CLOSE) while the test thread waits for the server's events.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let closed = runtime.block_on(async {
            let mut options = TransportOptions::default();
            options.tls = TlsOptions::default()
                .with_webpki_roots(false)
                .with_root(pki.ca.clone());
            options.connect_timeout = Duration::from_secs(10);
            let resolver = StaticResolver::with_fallback(NoResolver).with_override(
                NAME,
                port,
                [SocketAddr::new(addr, port)],
            );
            let transport =
                RawSocketTransport::new_with_resolver(options, resolver).expect("valid options");
            let won = transport
                .connect_any(NAME, port, ConnectParams::default().with_http3(Http3::Only))
                .await
                .unwrap_or_else(|e| panic!("connects: {e}\nserver log:\n{}", server.log()));
            let attempts: Vec<_> = won
                .report
                .attempts
                .iter()
                .map(|a| (a.transport, a.outcome))
                .collect();
            assert_eq!(attempts, [(Transport::Quic, AttemptOutcome::Won)]);
            assert_eq!(won.stream.alpn_protocol().as_deref(), Some(&b"h3"[..]));
            let Connection::Quic(quic) = won.stream else {
                panic!("QUIC won, so the connection is QUIC");
            };
            let (mut driver, mut send) = http3_handshake(quic)
                .await
                .unwrap_or_else(|e| panic!("h3 starts: {e}\nserver log:\n{}", server.log()));
            let drive = tokio::spawn(async move { driver.wait_idle().await });
            for path in ["/", "/second"] {
                assert_eq!(
                    library_get(&mut send, path).await,
                    (200, Some("aioquic".to_owned()), BODY.to_owned()),
                    "{path}; server log:\n{}",
                    server.log()
                );
            }
            // The last handle gone, h3 closes the connection (H3_NO_ERROR) and its
            // driver returns.
            drop(send);
            tokio::time::timeout(EVENT_WAIT, drive)
                .await
                .expect("the h3 driver returns once the last handle is dropped")
                .expect("the h3 driver does not panic")
        });
        assert!(closed.is_h3_no_error(), "{closed}");
        // Both requests on one connection, then h3's own close: H3_NO_ERROR.
        assert_eq!(server.next_event(), format!("request 1 GET / {NAME}"));
        assert_eq!(server.next_event(), format!("request 1 GET /second {NAME}"));
        let event = server.next_event();
        assert!(event.starts_with("closed 1 0x100 "), "{event}");
        let log = server.log();
        assert!(!log.contains("Traceback"), "{log}");
    }
}
