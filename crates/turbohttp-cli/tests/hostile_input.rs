//! Hostile but well-formed input to the command: options that cannot race, answers that
//! go nowhere, thousands of duplicated addresses. Each row has its exact exit code (the
//! curl-compatible ones of `exit.rs`), and none hangs: `simulate` runs in virtual time,
//! and `connect` only ever dials refusing loopback ports. (Malformed arguments, exit 2,
//! are in `bad_input.rs`.)

use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

/// A loopback port where nothing listens, so connects are refused at once. The port is
/// held by a socket that is bound but not listening, so that no other process can take
/// it while the test runs.
fn refusing_port() -> (tokio::net::TcpSocket, u16) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind("127.0.0.1:0".parse().unwrap()).expect("bind");
    let port = socket.local_addr().expect("addr").port();
    (socket, port)
}

struct Row {
    name: &'static str,
    args: Vec<String>,
    code: i32,
    /// Text the one error line must contain (or the JSON `error.kind`, with `--json`).
    expect: &'static str,
    /// With `--json`: how many attempts the race must report.
    attempts: Option<usize>,
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn rows(refused: u16) -> Vec<Row> {
    let duplicates = vec!["127.0.0.1"; 10_000].join(",");
    let many_endpoints: Vec<String> = (0..2_000)
        .flat_map(|_| ["--endpoint".to_owned(), "192.0.2.7=refuse@1ms".to_owned()])
        .collect();
    vec![
        Row {
            name: "every address stalls: the timeout wins",
            args: args(&[
                "simulate",
                "--json",
                "--endpoint",
                "2001:db8::1=stall",
                "--endpoint",
                "2001:db8::2=stall",
                "--endpoint",
                "192.0.2.1=stall",
                "--connect-timeout",
                "1s",
            ]),
            code: 28,
            expect: "timed_out",
            // The second IPv6 address waits: the last slot is the fallback's.
            attempts: Some(2),
        },
        Row {
            name: "cancelled while every address stalls",
            args: args(&[
                "simulate",
                "--json",
                "--endpoint",
                "192.0.2.1=stall",
                "--cancel-after",
                "100ms",
            ]),
            code: 42,
            expect: "cancelled",
            attempts: Some(1),
        },
        Row {
            name: "a certificate rejected by policy stops the race",
            args: args(&[
                "simulate",
                "--json",
                "--endpoint",
                "192.0.2.1=reject@5ms",
                "--endpoint",
                "192.0.2.2=ok@50ms",
            ]),
            code: 35,
            expect: "setup_rejected",
            attempts: Some(1),
        },
        Row {
            name: "the requested family is absent",
            args: args(&["simulate", "-6", "--json", "--endpoint", "192.0.2.1=ok@1ms"]),
            code: 6,
            expect: "family_unavailable",
            attempts: Some(0),
        },
        Row {
            name: "2,000 copies of one endpoint are refused, not merged",
            args: [args(&["simulate", "--json"]), many_endpoints].concat(),
            code: 2,
            expect: "is already simulated",
            attempts: None,
        },
        Row {
            name: "10,000 duplicates in one --resolve list are dialed once",
            args: args(&[
                "connect",
                "--json",
                "--resolve",
                &format!("dup.test:{refused}:{duplicates}"),
                &format!("dup.test:{refused}"),
            ]),
            code: 7,
            expect: "all_attempts_failed",
            attempts: Some(1),
        },
        Row {
            name: "-6 with only IPv4 answers",
            args: args(&[
                "connect",
                "-6",
                "--json",
                "--resolve",
                &format!("v4.test:{refused}:127.0.0.1"),
                &format!("v4.test:{refused}"),
            ]),
            code: 6,
            expect: "family_unavailable",
            attempts: Some(0),
        },
    ]
}

#[test]
fn hostile_input_has_its_exact_exit_code_and_never_hangs() {
    let (_keep, refused) = refusing_port();
    for row in rows(refused) {
        let started = Instant::now();
        let output = Command::cargo_bin("turbohttp")
            .unwrap()
            .args(&row.args)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(row.code),
            "{}: stderr {stderr}",
            row.name
        );
        match row.attempts {
            None => {
                assert!(stderr.contains(row.expect), "{}: {stderr}", row.name);
                assert_eq!(stderr.lines().count(), 1, "{}: {stderr}", row.name);
            }
            Some(attempts) => {
                let json: Value = serde_json::from_str(&stdout)
                    .unwrap_or_else(|e| panic!("{}: {e}: {stdout}", row.name));
                assert_eq!(json["outcome"], "failed", "{}", row.name);
                assert_eq!(json["error"]["kind"], row.expect, "{}: {json}", row.name);
                let n = json["attempts"].as_array().map_or(0, Vec::len);
                assert_eq!(n, attempts, "{}: {json}", row.name);
                // The simulated network counts sockets: none is left open.
                if let Some(open) = json.get("sockets").map(|s| &s["open"]) {
                    assert_eq!(open, 0, "{}: {json}", row.name);
                }
            }
        }
        // Virtual time, refused ports: nothing here waits on a real clock.
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{}: took {:?}",
            row.name,
            started.elapsed()
        );
    }
}
