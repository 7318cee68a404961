//! `connect`, `get` and `demo` over loopback (127.0.0.1 and ::1 only), run as the built
//! binary: timelines, the JSON contract, TLS, and exit codes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use assert_cmd::Command;
use serde_json::Value;
use turbohttp_lab::BlackHole;

fn turbohttp() -> Command {
    Command::cargo_bin("turbohttp").expect("the turbohttp binary is built")
}

struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    fn stdout_json(&self) -> Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout_text()))
    }

    fn stderr_json(&self) -> Value {
        serde_json::from_str(&self.stderr)
            .unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {}", self.stderr))
    }
}

fn run(args: &[&str]) -> Run {
    let output = turbohttp().args(args).output().expect("turbohttp runs");
    Run {
        code: output.status.code(),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn run_ok(args: &[&str]) -> Run {
    let run = run(args);
    assert_eq!(run.code, Some(0), "{args:?}: {}", run.stderr);
    run
}

/// Answers every connection with one HTTP/1.1 response; returns the port.
fn http_server(status: &'static str, body: &'static str) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || respond(stream, status, body));
        }
    });
    port
}

/// Reads a request head and writes the response.
fn respond<S: Read + Write>(stream: S, status: &str, body: &str) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let stream = reader.get_mut();
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nX-Test: yes\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// A port on 127.0.0.1 where nothing listens.
fn refused_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A plain TCP listener on 127.0.0.1 that never accepts (connects still complete).
fn tcp_listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

fn temp_file(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "turbohttp-cli-test-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// An HTTPS server (self-signed certificate for `tls.test`) answering `body`; returns
/// the port and the path of the certificate as PEM (the CA to trust).
fn tls_server(body: &'static str) -> (u16, PathBuf) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["tls.test".to_owned()]).expect("a certificate");
    let pem = temp_file("ca.pem");
    std::fs::write(&pem, certified.cert.pem()).expect("write the PEM");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .expect("a server config");
    let config = Arc::new(config);
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
                respond(&mut tls, "200 OK", body);
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    (port, pem)
}

/// A tokio runtime holding a black hole on `[::1]` at the port of a fresh IPv4
/// listener, so that `HOST:PORT:[::1],127.0.0.1` stalls on IPv6 and connects on IPv4.
/// `None` where `::1` cannot be black-holed (the test then checks only IPv4).
fn dual_stack_lab() -> Option<(tokio::runtime::Runtime, BlackHole, TcpListener, u16)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    for _ in 0..10 {
        let (listener, port) = tcp_listener();
        if let Ok(hole) = runtime.block_on(BlackHole::at(port)) {
            return Some((runtime, hole, listener, port));
        }
    }
    eprintln!("no black hole on ::1 here");
    None
}

fn assert_attempt_shape(attempt: &Value) {
    for key in ["address", "family", "outcome"] {
        assert!(attempt[key].is_string(), "{key} in {attempt}");
    }
    assert!(attempt["start_ms"].is_f64(), "{attempt}");
    assert!(
        attempt["end_ms"].is_f64() || attempt["end_ms"].is_null(),
        "{attempt}"
    );
    assert!(
        attempt["error"].is_string() || attempt["error"].is_null(),
        "{attempt}"
    );
    assert!(
        attempt["os_error"].is_i64() || attempt["os_error"].is_null(),
        "{attempt}"
    );
    assert!(["ipv4", "ipv6"].contains(&attempt["family"].as_str().unwrap_or_default()));
    assert!(
        ["won", "failed", "cancelled", "timed_out"]
            .contains(&attempt["outcome"].as_str().unwrap_or_default())
    );
}

#[test]
fn connect_prints_one_row_per_attempt_a_chart_and_the_winner() {
    // [::1] at this port refuses (or is unreachable): IPv4 starts at once and wins.
    let (_listener, port) = tcp_listener();
    let resolve = format!("dual.test:{port}:[::1],127.0.0.1");
    let target = format!("dual.test:{port}");
    let out = run_ok(&["connect", "--resolve", &resolve, &target]).stdout_text();
    for expected in [
        "dual.test:",
        "resolved to 2 addresses",
        "#  address",
        "family  start",
        "outcome",
        &format!("[::1]:{port}"),
        "ipv6",
        "failed",
        &format!("127.0.0.1:{port}"),
        "won",
        "= waiting  * won/answered  x failed",
        &format!("winner: #1 127.0.0.1:{port} (IPv4)"),
        "total ",
    ] {
        assert!(out.contains(expected), "{expected:?} missing from\n{out}");
    }
    assert!(
        out.contains("  #0 ipv6 |") && out.contains("  #1 ipv4 |"),
        "{out}"
    );
}

#[test]
fn connect_json_follows_the_contract() {
    let (_listener, port) = tcp_listener();
    let resolve = format!("dual.test:{port}:[::1],127.0.0.1");
    let target = format!("dual.test:{port}");
    let json = run_ok(&["connect", "--json", "--resolve", &resolve, &target]).stdout_json();
    assert_eq!(json["outcome"], "connected");
    assert!(json["elapsed_ms"].as_f64().is_some_and(|ms| ms > 0.0));
    assert_eq!(json["winner"]["address"], format!("127.0.0.1:{port}"));
    assert_eq!(json["winner"]["family"], "ipv4");
    assert!(json.get("error").is_none(), "no error on success");
    let attempts = json["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2);
    attempts.iter().for_each(assert_attempt_shape);
    assert_eq!(attempts[0]["address"], format!("[::1]:{port}"));
    assert_eq!(attempts[0]["outcome"], "failed");
    assert!(
        attempts[0]["os_error"].is_i64(),
        "an OS error for the refused IPv6"
    );
    assert!(attempts[0]["error"].is_string());
    assert_eq!(attempts[1]["outcome"], "won");
    assert_eq!(attempts[1]["error"], Value::Null);
    assert_eq!(attempts[1]["os_error"], Value::Null);
    // Start order, and the fallback started when IPv6 failed.
    let t = |i: usize, k: &str| attempts[i][k].as_f64().expect("a time");
    assert_eq!(t(1, "start_ms"), t(0, "end_ms"));
}

#[test]
fn connect_refused_exits_7_with_the_os_error() {
    let port = refused_port();
    let target = format!("127.0.0.1:{port}");
    let run = run(&["connect", "--json", &target]);
    assert_eq!(run.code, Some(7), "{}", run.stderr);
    let json = run.stdout_json();
    assert_eq!(json["outcome"], "failed");
    assert_eq!(json["winner"], Value::Null);
    assert_eq!(json["error"]["kind"], "all_attempts_failed");
    assert!(
        json["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&target))
    );
    assert_eq!(
        json["attempts"][0]["os_error"].as_i64(),
        Some(i64::from(turbohttp::sim::ECONNREFUSED))
    );
    assert!(
        run.stderr.is_empty(),
        "JSON mode reports in the object only"
    );
    // Without --json: the timeline on stdout, one error line on stderr.
    let run = self::run(&["connect", &target]);
    assert_eq!(run.code, Some(7));
    assert!(run.stdout_text().contains("no winner"));
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("turbohttp: error: the only attempt to connect")
    );
}

/// A timeout shorter than the 250 ms stagger is valid (curl, Go and hyper-util connect
/// here too): IPv6 is refused, so IPv4 starts at once and wins.
#[test]
fn connect_timeout_below_the_stagger_falls_back_when_ipv6_is_refused() {
    let (_listener, port) = tcp_listener();
    // Nothing listens on [::1] at the IPv4 listener's port: refused at once.
    let resolve = format!("dual.test:{port}:[::1],127.0.0.1");
    let target = format!("dual.test:{port}");
    let json = run_ok(&[
        "connect",
        "--json",
        "--connect-timeout",
        "0.2",
        "--resolve",
        &resolve,
        &target,
    ])
    .stdout_json();
    assert_eq!(json["outcome"], "connected", "{json:#}");
    assert_eq!(json["winner"]["address"], format!("127.0.0.1:{port}"));
    let attempts = json["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2, "{json:#}");
    assert_eq!(attempts[0]["outcome"], "failed");
    // IPv4 started when IPv6 was refused, not after a head start.
    assert_eq!(attempts[1]["start_ms"], attempts[0]["end_ms"], "{json:#}");
}

#[test]
fn connect_requested_family_missing_exits_6() {
    let (_listener, port) = tcp_listener();
    let resolve = format!("v4only.test:{port}:127.0.0.1");
    let target = format!("v4only.test:{port}");
    let run = run(&["connect", "-6", "--resolve", &resolve, &target]);
    assert_eq!(run.code, Some(6), "{}", run.stderr);
    assert!(run.stderr.contains("has no IPv6 address"), "{}", run.stderr);
    let json =
        self::run(&["connect", "-6", "--json", "--resolve", &resolve, &target]).stdout_json();
    assert_eq!(json["error"]["kind"], "family_unavailable");
}

#[test]
fn connect_family_and_order_flags() {
    let (_listener, port) = tcp_listener();
    let resolve = format!("dual.test:{port}:[::1],127.0.0.1");
    let target = format!("dual.test:{port}");
    let connect = |flags: &[&str]| {
        let mut args = vec!["connect", "--json", "--resolve", &resolve];
        args.extend(flags);
        args.push(&target);
        run_ok(&args).stdout_json()
    };
    let addresses = |json: &Value| -> Vec<String> {
        json["attempts"]
            .as_array()
            .expect("attempts")
            .iter()
            .map(|a| a["address"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let v4 = format!("127.0.0.1:{port}");
    // -4: IPv4 only.
    let json = connect(&["-4"]);
    assert_eq!(addresses(&json), std::slice::from_ref(&v4));
    assert_eq!(json["options"]["family"], "ipv4");
    // --prefer ipv4: IPv4 first, and it wins before IPv6's turn.
    let json = connect(&["--prefer", "ipv4"]);
    assert_eq!(json["preferred_family"], "ipv4");
    assert_eq!(addresses(&json), std::slice::from_ref(&v4));
    // --no-happy-eyeballs: resolver order, one at a time.
    let json = connect(&["--no-happy-eyeballs"]);
    assert_eq!(json["options"]["happy_eyeballs"], false);
    assert_eq!(addresses(&json), [format!("[::1]:{port}"), v4]);
    // The pacing flags reach the race.
    let json = connect(&[
        "--stagger",
        "100ms",
        "--spacing",
        "20ms",
        "--max-concurrent",
        "3",
        "--connect-timeout",
        "5",
    ]);
    let options = &json["options"];
    assert_eq!(options["stagger_ms"], 100.0);
    assert_eq!(options["spacing_ms"], 20.0);
    assert_eq!(options["max_concurrent"], 3);
    assert_eq!(options["connect_timeout_ms"], 5000.0);
}

#[test]
fn connect_with_a_stalled_ipv6_falls_back_after_the_stagger() {
    let Some((_runtime, hole, _listener, port)) = dual_stack_lab() else {
        return;
    };
    let resolve = format!("dual.test:{port}:[::1],127.0.0.1");
    let target = format!("dual.test:{port}");
    let json = run_ok(&[
        "connect",
        "--json",
        "--stagger",
        "100ms",
        "--resolve",
        &resolve,
        &target,
    ])
    .stdout_json();
    let attempts = json["attempts"].as_array().expect("attempts");
    assert_eq!(attempts[0]["address"], hole.addr().to_string());
    assert_eq!(attempts[0]["outcome"], "cancelled");
    assert_eq!(attempts[1]["outcome"], "won");
    let start = attempts[1]["start_ms"].as_f64().expect("start");
    assert!(start >= 100.0, "IPv4 waited for the stagger: {start}");
    assert!(start < 250.0, "but not for the default stagger: {start}");
    assert_eq!(json["winner"]["family"], "ipv4");
}

#[test]
fn connect_timeout_exits_28() {
    let Some((_runtime, hole, _listener, _)) = dual_stack_lab() else {
        return;
    };
    let port = hole.addr().port();
    let resolve = format!("hole.test:{port}:[::1]");
    let target = format!("hole.test:{port}");
    let run = run(&[
        "connect",
        "--json",
        "--connect-timeout",
        "0.3",
        "--resolve",
        &resolve,
        &target,
    ]);
    assert_eq!(run.code, Some(28), "{}", run.stderr);
    let json = run.stdout_json();
    assert_eq!(json["error"]["kind"], "timed_out");
    assert_eq!(json["attempts"][0]["outcome"], "timed_out");
    assert!(json["elapsed_ms"].as_f64().is_some_and(|ms| ms >= 300.0));
}

#[test]
fn connect_tls_verifies_with_cacert_and_servername() {
    let (port, ca) = tls_server("secret\n");
    let ca = ca.to_str().expect("a UTF-8 path");
    let resolve = format!("tls.test:{port}:127.0.0.1");
    let target = format!("tls.test:{port}");
    // Trusted through --cacert.
    let json = run_ok(&[
        "connect",
        "--tls",
        "--cacert",
        ca,
        "--json",
        "--resolve",
        &resolve,
        &target,
    ])
    .stdout_json();
    assert_eq!(json["outcome"], "connected");
    assert!(
        json["tls"]["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("TLS"))
    );
    let text = run_ok(&[
        "connect",
        "--tls",
        "--cacert",
        ca,
        "--resolve",
        &resolve,
        &target,
    ])
    .stdout_text();
    assert!(text.contains("tls: TLS"), "{text}");
    // An IP literal, verified as tls.test through --servername.
    let literal = format!("127.0.0.1:{port}");
    run_ok(&[
        "connect",
        "--tls",
        "--cacert",
        ca,
        "--servername",
        "tls.test",
        &literal,
    ]);
    // The built-in roots do not know the certificate: TLS failure, exit 35.
    let run = run(&["connect", "--tls", "--json", "--resolve", &resolve, &target]);
    assert_eq!(run.code, Some(35), "{}", run.stderr);
    assert_eq!(run.stdout_json()["error"]["kind"], "setup_rejected");
    // The wrong name: exit 35 too.
    let run = self::run(&[
        "connect",
        "--tls",
        "--cacert",
        ca,
        "--servername",
        "other.test",
        &literal,
    ]);
    assert_eq!(run.code, Some(35), "{}", run.stderr);
    assert!(
        run.stderr.contains("rejected the connection setup"),
        "{}",
        run.stderr
    );
    // Plain TCP to the same port needs no certificate at all.
    run_ok(&["connect", &literal]);
}

#[test]
fn get_writes_the_body_to_stdout_or_a_file() {
    let port = http_server("200 OK", "hello, body\n");
    let resolve = format!("web.test:{port}:[::1],127.0.0.1");
    let url = format!("http://web.test:{port}/hello?x=1");
    let run = run_ok(&["get", "--resolve", &resolve, &url]);
    assert_eq!(run.stdout, b"hello, body\n");
    assert!(run.stderr.is_empty(), "quiet without -v: {}", run.stderr);
    let file = temp_file("body.txt");
    let path = file.to_str().expect("UTF-8");
    let run = run_ok(&["get", "-o", path, "--resolve", &resolve, &url]);
    assert!(run.stdout.is_empty());
    assert_eq!(std::fs::read(&file).expect("the file"), b"hello, body\n");
    let _ = std::fs::remove_file(file);
}

#[test]
fn get_verbose_shows_the_race_and_both_heads() {
    let port = http_server("200 OK", "v\n");
    let resolve = format!("web.test:{port}:127.0.0.1");
    let url = format!("http://web.test:{port}/path");
    let run = run_ok(&["get", "-v", "--resolve", &resolve, &url]);
    assert_eq!(run.stdout, b"v\n");
    for expected in [
        "#  address",
        &format!("winner: #0 127.0.0.1:{port} (IPv4)"),
        "> GET /path HTTP/1.1",
        &format!("> host: web.test:{port}"),
        "> user-agent: turbohttp/",
        "< HTTP/1.1 200 OK",
        "< x-test: yes",
    ] {
        assert!(
            run.stderr.contains(expected),
            "{expected:?} missing from\n{}",
            run.stderr
        );
    }
}

#[test]
fn get_verbose_json_goes_to_stderr() {
    let port = http_server("200 OK", "json body");
    let resolve = format!("web.test:{port}:127.0.0.1");
    let url = format!("http://web.test:{port}/");
    let run = run_ok(&["get", "-v", "--json", "--resolve", &resolve, &url]);
    assert_eq!(run.stdout, b"json body");
    let json = run.stderr_json();
    assert_eq!(json["outcome"], "connected");
    assert_eq!(json["winner"]["family"], "ipv4");
    assert!(json["elapsed_ms"].is_f64());
    json["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .for_each(assert_attempt_shape);
    assert_eq!(json["http"]["status"], 200);
    assert_eq!(json["http"]["version"], "HTTP/1.1");
    assert_eq!(json["body_bytes"], 9);
    assert_eq!(json["url"], url);
}

#[test]
fn get_exit_codes() {
    // --fail on 404: 22, no body.
    let port = http_server("404 Not Found", "missing");
    let url = format!("http://127.0.0.1:{port}/");
    let run = run(&["get", "--fail", &url]);
    assert_eq!(run.code, Some(22), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("404 Not Found"));
    // Without --fail a 404 is a successful transfer, as in curl.
    assert_eq!(run_ok(&["get", &url]).stdout, b"missing");
    // Nothing listening: 7.
    let url = format!("http://127.0.0.1:{}/", refused_port());
    let run = self::run(&["get", &url]);
    assert_eq!(run.code, Some(7), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    // -v --json on a failed connect: the object, with its error, on stderr.
    let run = self::run(&["get", "-v", "--json", &url]);
    assert_eq!(run.code, Some(7));
    assert_eq!(run.stderr_json()["error"]["kind"], "all_attempts_failed");
    // A file that cannot be created: 23.
    let port = http_server("200 OK", "x");
    let url = format!("http://127.0.0.1:{port}/");
    let run = self::run(&["get", "-o", "/nonexistent-dir/out", &url]);
    assert_eq!(run.code, Some(23), "{}", run.stderr);
}

#[test]
fn get_https_with_cacert_and_without() {
    let (port, ca) = tls_server("over tls\n");
    let ca = ca.to_str().expect("UTF-8");
    let resolve = format!("tls.test:{port}:127.0.0.1");
    let url = format!("https://tls.test:{port}/");
    let run = run_ok(&["get", "-v", "--cacert", ca, "--resolve", &resolve, &url]);
    assert_eq!(run.stdout, b"over tls\n");
    assert!(run.stderr.contains("tls: TLS"), "{}", run.stderr);
    let literal = format!("https://127.0.0.1:{port}/");
    let run = run_ok(&["get", "--cacert", ca, "--servername", "tls.test", &literal]);
    assert_eq!(run.stdout, b"over tls\n");
    let run = self::run(&["get", "--resolve", &resolve, &url]);
    assert_eq!(run.code, Some(35), "untrusted certificate: {}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn demo_shows_both_timelines_and_happy_eyeballs_wins_on_ipv4() {
    let run = run_ok(&["demo"]);
    let text = run.stdout_text();
    if text.contains("simulated network instead") {
        // No ::1 here: the demo said so and ran the simulated lab.
        assert!(
            text.contains("IPv6 loopback (::1) is not available"),
            "{text}"
        );
    } else {
        assert!(text.contains("a dual-stack lab on loopback"), "{text}");
        assert!(text.contains("IPv6, black-holed"), "{text}");
        assert!(text.contains("GET http://dual-stack.test:"), "{text}");
        // The lost-AAAA scene: the same GET through both resolvers.
        for expected in [
            "== 3. a lost AAAA answer ==",
            "== 3a. a lost AAAA answer, resolved like getaddrinfo",
            "== 3b. the same, resolved by turbohttp",
            "  AAAA   +0ms",
            "not needed: the race ended first",
            "Asking each family apart saved ",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from\n{text}");
        }
        assert_eq!(
            text.matches("GET http://lost-aaaa.test:").count(),
            2,
            "{text}"
        );
        // It ends with the diagnosis of the lab's broken host: IPv6 at the connect.
        let doctor = text
            .split("== 5. turbohttp doctor dual-stack.test")
            .nth(1)
            .unwrap_or_else(|| panic!("no doctor scene in\n{text}"));
        let findings = doctor.split("\nfindings\n").nth(1).expect("findings");
        assert!(
            findings.starts_with("  warning  [connect, IPv6] IPv6 is broken for this host: "),
            "{findings}"
        );
        assert!(doctor.contains("verdict: degraded (exit 1)"), "{doctor}");
        // The HTTP/3 scene: QUIC first everywhere; UDP blocked, TCP wins over HTTP/2.
        for expected in [
            "== 4a. UDP open: QUIC first",
            "== 4b. UDP blocked: the same race",
            "== 4c. UDP blocked, a client that speaks HTTP/3 only",
            "QUIC h3",
            "\"hello over HTTP/2\"",
            "the client that speaks HTTP/3 only gave up after 3s",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from\n{text}");
        }
    }
    for expected in [
        "== 1. plain sequential connector",
        "== 2. Happy Eyeballs",
        "timed_out",
        "cancelled",
        "Happy Eyeballs saved ",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from\n{text}");
    }
    // Both runs won with IPv4 (the doctor scene, on loopback, races once more).
    let runs = text
        .split("== 4. HTTP/3 raced against TCP")
        .next()
        .unwrap_or_default();
    assert_eq!(runs.matches("winner: #1 ").count(), 2, "{text}");
}

#[test]
fn demo_json_happy_eyeballs_is_faster() {
    let json = run_ok(&["demo", "--json"]).stdout_json();
    let sequential = &json["sequential"];
    let happy = &json["happy_eyeballs"];
    for run in [sequential, happy] {
        assert_eq!(run["outcome"], "connected");
        assert_eq!(run["winner"]["family"], "ipv4");
        assert_eq!(run["attempts"][0]["family"], "ipv6");
        run["attempts"]
            .as_array()
            .expect("attempts")
            .iter()
            .for_each(assert_attempt_shape);
    }
    if json["lab"]["mode"] == "loopback" {
        assert_eq!(sequential["http"]["status"], 200);
        assert_eq!(happy["http"]["status"], 200);
    } else {
        assert!(json["lab"]["ipv6_unavailable"].is_string());
    }
    // The sequential connector sat out the stalled IPv6 attempt's 2 s budget.
    assert_eq!(sequential["attempts"][0]["outcome"], "timed_out");
    let total = |run: &Value| run["total_ms"].as_f64().expect("total_ms");
    assert!(total(sequential) >= 2000.0, "{}", total(sequential));
    // Happy Eyeballs moved on after the stagger and dropped the IPv6 attempt.
    assert_eq!(happy["attempts"][0]["outcome"], "cancelled");
    assert!(happy["attempts"][1]["start_ms"].as_f64().expect("start") >= 250.0);
    assert!(total(happy) < total(sequential));
    assert!(json["saved_ms"].as_f64().expect("saved_ms") > 0.0);

    if json["lab"]["mode"] == "loopback" {
        // The lost AAAA: waiting for both answers costs the 2 s DNS timeout; asking
        // each family apart costs the 50 ms resolution delay.
        let scene = &json["lost_aaaa"];
        let wait = &scene["wait_for_both"];
        let race = &scene["per_family"];
        assert_eq!(wait["dns"][0]["type"], "lookup");
        assert!(total(wait) >= 2000.0, "{}", total(wait));
        assert_eq!(race["dns"][0]["type"], "AAAA");
        assert_eq!(race["dns"][0]["outcome"], "cancelled");
        assert_eq!(race["dns"][1]["type"], "A");
        assert_eq!(race["dns"][1]["outcome"], "answered");
        let started = race["attempts"][0]["start_ms"].as_f64().expect("start");
        let answered = race["dns"][1]["end_ms"].as_f64().expect("end");
        assert!(started >= answered + 50.0, "{started} {answered}");
        assert!(total(race) < 2000.0, "{}", total(race));
        assert_eq!(race["http"]["status"], 200);
        assert!(scene["saved_ms"].as_f64().expect("saved_ms") > 0.0);
        // The doctor names the broken layer and family.
        let doctor = &json["doctor"];
        assert_eq!(doctor["verdict"], "degraded");
        assert_eq!(doctor["findings"][0]["layer"], "connect");
        assert_eq!(doctor["findings"][0]["family"], "ipv6");
        assert_eq!(doctor["addresses"][0]["connect"]["outcome"], "timed_out");
        assert_eq!(doctor["addresses"][1]["connect"]["outcome"], "connected");

        let h3 = &json["http3"];
        let (open, blocked, only) = (&h3["open"], &h3["blocked"], &h3["quic_only"]);
        assert_eq!(open["attempts"][0]["transport"], "quic");
        // QUIC wins on loopback unless its handshake outlasts the 125 ms spacing (a
        // loaded machine); then TCP wins, rightly, and QUIC was cancelled.
        if open["winner"]["attempt"] == 0 {
            assert_eq!(open["http"]["body"], "hello over HTTP/3\n");
        } else {
            assert_eq!(open["attempts"][0]["outcome"], "cancelled");
        }
        assert_eq!(blocked["attempts"][0]["transport"], "quic");
        assert_eq!(blocked["attempts"][0]["outcome"], "cancelled");
        assert_eq!(blocked["attempts"][1]["transport"], "tcp");
        assert_eq!(blocked["attempts"][1]["outcome"], "won");
        assert!(blocked["attempts"][1]["start_ms"].as_f64().expect("start") >= 125.0);
        assert_eq!(blocked["http"]["body"], "hello over HTTP/2\n");
        assert_eq!(only["outcome"], "failed");
        assert_eq!(only["error"]["kind"], "timed_out");
        assert_eq!(only["attempts"].as_array().expect("attempts").len(), 1);
        assert!(total(only) >= 3000.0, "{}", total(only));
    }
}

#[test]
fn demo_simulated_is_exact() {
    let json = run_ok(&["demo", "--simulated", "--json"]).stdout_json();
    assert_eq!(json["lab"]["mode"], "simulated");
    assert_eq!(json["sequential"]["total_ms"], 2001.0);
    assert_eq!(json["happy_eyeballs"]["total_ms"], 251.0);
    assert_eq!(json["saved_ms"], 1750.0);
    let text = run_ok(&["demo", "--simulated"]).stdout_text();
    assert!(text.contains("winner: #1 192.0.2.1:80 (IPv4), connected at +251ms; total 251ms"));
    assert!(
        text.contains("Happy Eyeballs saved 1.75s: 251ms instead of 2.001s"),
        "{text}"
    );
}

/// curl's `-m`: a server that accepts and never answers ends the transfer at the limit,
/// exit 28, the whole process included.
#[test]
fn get_max_time_bounds_the_whole_transfer() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // Accepts, reads nothing, answers nothing; gives up after a while on its own.
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(1).flatten() {
            held.push(stream);
        }
        thread::sleep(std::time::Duration::from_secs(10));
    });
    let url = format!("http://127.0.0.1:{port}/silent");
    let started = std::time::Instant::now();
    let run = run(&["get", "-m", "2", &url]);
    let took = started.elapsed();
    assert_eq!(run.code, Some(28), "{}", run.stderr);
    assert!(
        run.stderr.contains("took longer than --max-time 2s"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    assert!(
        took >= std::time::Duration::from_secs(2) && took < std::time::Duration::from_secs(5),
        "{took:?}"
    );

    let bad = self::run(&["get", "--max-time", "soon", &url]);
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("--max-time"), "{}", bad.stderr);
}
