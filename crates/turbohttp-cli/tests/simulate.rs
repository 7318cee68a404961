//! `turbohttp simulate`: the six cases of the specification's matrix, run by the built
//! binary in virtual time and checked against their exact timelines.

use assert_cmd::Command;
use serde_json::Value;

fn turbohttp() -> Command {
    Command::cargo_bin("turbohttp").expect("the turbohttp binary is built")
}

/// Runs `simulate --json ARGS`, checks the exit code, and returns the JSON object.
fn simulate(args: &[&str], code: i32) -> Value {
    let output = turbohttp()
        .arg("simulate")
        .arg("--json")
        .args(args)
        .output()
        .expect("turbohttp runs");
    assert_eq!(
        output.status.code(),
        Some(code),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON object")
}

/// The attempts as `(address, start_ms, end_ms, outcome)`.
fn timeline(json: &Value) -> Vec<(String, f64, Option<f64>, String)> {
    json["attempts"]
        .as_array()
        .expect("attempts is an array")
        .iter()
        .map(|a| {
            (
                a["address"].as_str().expect("address").to_owned(),
                a["start_ms"].as_f64().expect("start_ms"),
                a["end_ms"].as_f64(),
                a["outcome"].as_str().expect("outcome").to_owned(),
            )
        })
        .collect()
}

fn row(address: &str, start: f64, end: f64, outcome: &str) -> (String, f64, Option<f64>, String) {
    (address.to_owned(), start, Some(end), outcome.to_owned())
}

fn sockets(json: &Value) -> (u64, u64, u64, u64) {
    let s = &json["sockets"];
    let n = |k: &str| s[k].as_u64().expect("a count");
    (n("opened"), n("closed"), n("open"), n("peak_open"))
}

#[test]
fn ipv6_healthy_wins_when_faster() {
    // IPv4 gets its turn early (20 ms) so that there is a loser to cancel.
    let json = simulate(
        &[
            "--stagger",
            "20ms",
            "--endpoint",
            "2001:db8::1=ok@40ms",
            "--endpoint",
            "192.0.2.1=ok@90ms",
        ],
        0,
    );
    assert_eq!(json["outcome"], "connected");
    assert_eq!(json["elapsed_ms"], 40.0);
    assert_eq!(json["winner"]["address"], "[2001:db8::1]:443");
    assert_eq!(json["winner"]["family"], "ipv6");
    assert_eq!(
        timeline(&json),
        [
            row("[2001:db8::1]:443", 0.0, 40.0, "won"),
            row("192.0.2.1:443", 20.0, 40.0, "cancelled"),
        ]
    );
    assert_eq!(sockets(&json), (2, 2, 0, 2), "the IPv4 loser was closed");
}

#[test]
fn ipv6_healthy_wins_before_ipv4_is_needed() {
    let json = simulate(
        &[
            "--endpoint",
            "2001:db8::1=ok@40ms",
            "--endpoint",
            "192.0.2.1=ok@90ms",
        ],
        0,
    );
    assert_eq!(
        timeline(&json),
        [row("[2001:db8::1]:443", 0.0, 40.0, "won")]
    );
    assert_eq!(sockets(&json), (1, 1, 0, 1));
}

#[test]
fn ipv6_stalled_ipv4_fallback() {
    let json = simulate(
        &[
            "--endpoint",
            "2001:db8::1=stall",
            "--endpoint",
            "192.0.2.1=ok@20ms",
        ],
        0,
    );
    assert_eq!(json["elapsed_ms"], 270.0);
    assert_eq!(json["winner"]["address"], "192.0.2.1:443");
    assert_eq!(json["winner"]["family"], "ipv4");
    assert_eq!(
        timeline(&json),
        [
            row("[2001:db8::1]:443", 0.0, 270.0, "cancelled"),
            row("192.0.2.1:443", 250.0, 270.0, "won"),
        ]
    );
    assert_eq!(
        sockets(&json),
        (2, 2, 0, 2),
        "the stalled IPv6 socket was closed"
    );
}

#[test]
fn both_families_fail_aggregates_errors() {
    let json = simulate(
        &[
            "--endpoint",
            "2001:db8::1=refuse@10ms",
            "--endpoint",
            "2001:db8::2=setup-fail@5ms",
            "--endpoint",
            "192.0.2.1=refuse@30ms",
            "--endpoint",
            "192.0.2.2=refuse@1ms",
        ],
        7,
    );
    assert_eq!(json["outcome"], "failed");
    assert_eq!(json["winner"], Value::Null);
    assert_eq!(json["elapsed_ms"], 46.0);
    assert_eq!(json["error"]["kind"], "all_attempts_failed");
    let message = json["error"]["message"].as_str().expect("a message");
    assert!(message.contains("all 4 attempts"), "{message}");
    // Each failure starts the next attempt at once, in plan order.
    assert_eq!(
        timeline(&json),
        [
            row("[2001:db8::1]:443", 0.0, 10.0, "failed"),
            row("[2001:db8::2]:443", 10.0, 15.0, "failed"),
            row("192.0.2.1:443", 15.0, 45.0, "failed"),
            row("192.0.2.2:443", 45.0, 46.0, "failed"),
        ]
    );
    let attempts = json["attempts"].as_array().expect("attempts");
    let refused = i64::from(turbohttp::sim::ECONNREFUSED);
    let reset = i64::from(turbohttp::sim::ECONNRESET);
    let os_errors: Vec<Option<i64>> = attempts.iter().map(|a| a["os_error"].as_i64()).collect();
    assert_eq!(
        os_errors,
        [Some(refused), Some(reset), Some(refused), Some(refused)]
    );
    let errors: Vec<&str> = attempts
        .iter()
        .map(|a| {
            a["error"]
                .as_str()
                .expect("every failed attempt has an error")
        })
        .collect();
    assert!(errors[1].starts_with("setup failed: "), "{errors:?}");
    assert_eq!(attempts[1]["phase"], "setup");
    assert_eq!(attempts[0]["phase"], "connect");
    assert_eq!(sockets(&json), (4, 4, 0, 1));
}

#[test]
fn cancellation_stops_all_attempts() {
    let json = simulate(
        &[
            "--cancel-after",
            "300ms",
            "--endpoint",
            "2001:db8::1=stall",
            "--endpoint",
            "192.0.2.1=stall",
        ],
        42,
    );
    assert_eq!(json["outcome"], "failed");
    assert_eq!(json["error"]["kind"], "cancelled");
    assert_eq!(json["elapsed_ms"], 300.0);
    assert_eq!(json["cancel_after_ms"], 300.0);
    assert_eq!(
        timeline(&json),
        [
            row("[2001:db8::1]:443", 0.0, 300.0, "cancelled"),
            row("192.0.2.1:443", 250.0, 300.0, "cancelled"),
        ]
    );
    assert_eq!(sockets(&json), (2, 2, 0, 2), "no socket leaked");
}

#[test]
fn single_family_no_race_regression() {
    let endpoints = [
        "--endpoint",
        "192.0.2.1=refuse@5ms",
        "--endpoint",
        "192.0.2.2=ok@10ms",
    ];
    let json = simulate(&endpoints, 0);
    let expected = [
        row("192.0.2.1:443", 0.0, 5.0, "failed"),
        row("192.0.2.2:443", 5.0, 15.0, "won"),
    ];
    assert_eq!(timeline(&json), expected);
    assert_eq!(json["winner"]["address"], "192.0.2.2:443");
    assert_eq!(sockets(&json).3, 1, "one attempt at a time");
    // Exactly what the plain sequential connector does.
    let mut sequential = vec!["--no-happy-eyeballs"];
    sequential.extend(endpoints);
    let json = simulate(&sequential, 0);
    assert_eq!(timeline(&json), expected);
    assert_eq!(json["options"]["happy_eyeballs"], false);
}

#[test]
fn large_dns_set_bounded_concurrency() {
    let mut args = Vec::new();
    for e in [
        "2001:db8::1=stall",
        "2001:db8::2=stall",
        "2001:db8::3=stall",
        "2001:db8::4=stall",
        "192.0.2.1=stall",
        "192.0.2.2=stall",
        "192.0.2.3=stall",
        "192.0.2.4=ok@10ms",
    ] {
        args.extend(["--endpoint", e]);
    }
    let json = simulate(&args, 0);
    assert_eq!(sockets(&json), (8, 8, 0, 2), "never more than 2 in flight");
    assert_eq!(json["winner"]["address"], "192.0.2.4:443");
    assert_eq!(json["elapsed_ms"], 22573.0);
    assert_eq!(
        timeline(&json),
        [
            row("[2001:db8::1]:443", 0.0, 7500.0, "timed_out"),
            row("192.0.2.1:443", 250.0, 7688.0, "timed_out"),
            row("[2001:db8::2]:443", 7500.0, 15000.0, "timed_out"),
            row("[2001:db8::3]:443", 7688.0, 15126.0, "timed_out"),
            row("[2001:db8::4]:443", 15000.0, 22500.0, "timed_out"),
            row("192.0.2.2:443", 15126.0, 22563.0, "timed_out"),
            row("192.0.2.3:443", 22500.0, 22573.0, "cancelled"),
            row("192.0.2.4:443", 22563.0, 22573.0, "won"),
        ]
    );
    // A higher cap is honoured too, and never exceeded.
    let mut wider = vec!["--max-concurrent", "3"];
    wider.extend(args.iter().copied());
    let json = simulate(&wider, 0);
    assert_eq!(sockets(&json).3, 3);
    let starts: Vec<f64> = timeline(&json).iter().take(3).map(|r| r.1).collect();
    assert_eq!(starts, [0.0, 125.0, 250.0], "spacing, then the stagger");
}

#[test]
fn a_rejected_setup_stops_the_race_with_exit_35() {
    let json = simulate(
        &[
            "--endpoint",
            "2001:db8::1=reject@5ms",
            "--endpoint",
            "192.0.2.1=ok@20ms",
        ],
        35,
    );
    assert_eq!(json["error"]["kind"], "setup_rejected");
    assert_eq!(
        timeline(&json),
        [row("[2001:db8::1]:443", 0.0, 5.0, "failed")]
    );
}

#[test]
fn a_race_that_runs_out_of_time_exits_28() {
    let json = simulate(
        &["--connect-timeout", "1s", "--endpoint", "192.0.2.1=stall"],
        28,
    );
    assert_eq!(json["error"]["kind"], "timed_out");
    assert_eq!(
        timeline(&json),
        [row("192.0.2.1:443", 0.0, 1000.0, "timed_out")]
    );
}

#[test]
fn race_flags_change_the_schedule() {
    let endpoints = [
        "--endpoint",
        "2001:db8::1=stall",
        "--endpoint",
        "2001:db8::2=stall",
        "--endpoint",
        "192.0.2.1=ok@10ms",
    ];
    let run = |flags: &[&str]| {
        let mut args = flags.to_vec();
        args.extend(endpoints);
        simulate(&args, 0)
    };
    // --stagger moves IPv4's first attempt.
    let json = run(&["--stagger", "100ms"]);
    assert_eq!(
        timeline(&json)[1],
        row("192.0.2.1:443", 100.0, 110.0, "won")
    );
    // --spacing moves the second IPv6 attempt (room for it with 3 in flight).
    let json = run(&["--spacing", "50ms", "--max-concurrent", "3"]);
    assert_eq!(timeline(&json)[1].0, "[2001:db8::2]:443");
    assert_eq!(timeline(&json)[1].1, 50.0);
    assert_eq!(json["options"]["spacing_ms"], 50.0);
    // --prefer ipv4 dials IPv4 first.
    let json = run(&["--prefer", "ipv4"]);
    assert_eq!(json["preferred_family"], "ipv4");
    assert_eq!(timeline(&json), [row("192.0.2.1:443", 0.0, 10.0, "won")]);
    // -6 keeps only IPv6 (both stall: the race times out) and -4 only IPv4.
    let mut only6 = vec!["-6", "--connect-timeout", "3"];
    only6.extend(endpoints);
    let json = simulate(&only6, 28);
    assert!(timeline(&json).iter().all(|r| r.0.starts_with('[')));
    let json = run(&["-4"]);
    assert_eq!(timeline(&json), [row("192.0.2.1:443", 0.0, 10.0, "won")]);
    // --no-happy-eyeballs: resolver order, one at a time, budgets of the sequential path.
    let json = run(&["--no-happy-eyeballs", "--connect-timeout", "6"]);
    assert_eq!(
        timeline(&json),
        [
            row("[2001:db8::1]:443", 0.0, 2000.0, "timed_out"),
            row("[2001:db8::2]:443", 2000.0, 4000.0, "timed_out"),
            row("192.0.2.1:443", 4000.0, 4010.0, "won"),
        ]
    );
}

#[test]
fn a_family_that_is_not_there_exits_6() {
    let json = simulate(&["-6", "--endpoint", "192.0.2.1=ok@1ms"], 6);
    assert_eq!(json["error"]["kind"], "family_unavailable");
    assert_eq!(json["attempts"], Value::Array(Vec::new()));
}

#[test]
fn output_is_exactly_reproducible_and_reads_as_a_timeline() {
    let args = [
        "simulate",
        "--endpoint",
        "[2001:db8::1]:443=stall",
        "--endpoint",
        "192.0.2.1:443=ok@20ms",
    ];
    let first = turbohttp().args(args).output().expect("runs");
    let second = turbohttp().args(args).output().expect("runs");
    assert!(first.status.success());
    assert_eq!(first.stdout, second.stdout, "byte for byte");
    let text = String::from_utf8(first.stdout).expect("UTF-8");
    let expected = "\
simulated network (virtual time): [2001:db8::1]:443 stall, 192.0.2.1:443 ok@20ms
Happy Eyeballs: IPv6 first, stagger 250ms, spacing 125ms, at most 2 in flight; connect timeout 30s
simulated.test:443 resolved to 2 addresses in 0ms: [2001:db8::1]:443, 192.0.2.1:443 (IPv6 first)

  query   start  end   outcome   answer
  lookup  +0ms   +0ms  answered  [2001:db8::1]:443, 192.0.2.1:443

  #  address            family  start   end     outcome    error
  0  [2001:db8::1]:443  ipv6    +0ms    +270ms  cancelled
  1  192.0.2.1:443      ipv4    +250ms  +270ms  won

  lookup  |*                                                 |
  #0 ipv6 |=================================================~|
  #1 ipv4 |                                             ====*|
           0ms                                          270ms
           = waiting  * won/answered  x failed  ! timed out  ~ cancelled  > still pending

winner: #1 192.0.2.1:443 (IPv4), connected at +270ms; total 270ms
sockets: 2 opened, 2 closed, at most 2 open at once
";
    assert_eq!(text, expected);
}

#[test]
fn failures_show_their_errors_in_the_table() {
    let output = turbohttp()
        .args([
            "simulate",
            "--endpoint",
            "2001:db8::1=refuse@3ms",
            "--endpoint",
            "192.0.2.1=setup-fail@4ms",
        ])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(7));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Connection refused (os error"), "{text}");
    assert!(
        text.contains("setup failed: Connection reset by peer"),
        "{text}"
    );
    assert!(text.contains("no winner; total 7ms"), "{text}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("turbohttp: error: all 2 attempts"),
        "{stderr}"
    );
}

/// `(transport, address, start_ms, outcome)` of every attempt.
fn transports(json: &Value) -> Vec<(String, String, f64, String)> {
    json["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| {
            (
                a["transport"].as_str().expect("transport").to_owned(),
                a["address"].as_str().expect("address").to_owned(),
                a["start_ms"].as_f64().expect("start_ms"),
                a["outcome"].as_str().expect("outcome").to_owned(),
            )
        })
        .collect()
}

fn quic_row(t: &str, address: &str, start: f64, outcome: &str) -> (String, String, f64, String) {
    (t.into(), address.into(), start, outcome.into())
}

#[test]
fn http3_with_udp_blocked_starts_tcp_one_spacing_after_quic() {
    let json = simulate(
        &[
            "--endpoint",
            "[2001:db8::1]=ok@5ms",
            "--endpoint",
            "192.0.2.1=ok@5ms",
            "--http3",
        ],
        0,
    );
    assert_eq!(
        transports(&json),
        [
            quic_row("quic", "[2001:db8::1]:443", 0.0, "cancelled"),
            quic_row("tcp", "[2001:db8::1]:443", 125.0, "won"),
        ]
    );
    assert_eq!(json["quic_endpoints"], serde_json::json!([]));
}

#[test]
fn an_h3_record_with_healthy_quic_wins_over_quic_and_refused_quic_hands_over_at_once() {
    let base = [
        "--endpoint",
        "192.0.2.1=ok@20ms",
        "--dns-https",
        "alpn=h3+h2,ipv4hint=192.0.2.1@0ms",
    ];
    let healthy = simulate(&[&base[..], &["--quic", "192.0.2.1=ok@7ms"]].concat(), 0);
    assert_eq!(
        transports(&healthy),
        [quic_row("quic", "192.0.2.1:443", 0.0, "won")]
    );
    let refused = simulate(
        &[&base[..], &["--quic", "192.0.2.1=refuse@3ms"]].concat(),
        0,
    );
    assert_eq!(
        transports(&refused),
        [
            quic_row("quic", "192.0.2.1:443", 0.0, "failed"),
            quic_row("tcp", "192.0.2.1:443", 3.0, "won"),
        ]
    );
}
