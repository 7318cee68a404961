//! The command's verdict: its last line and exit code come from the attempt that got
//! furthest, and the exit codes it documents are the same in `--help` and the README.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::thread;

use assert_cmd::Command;
use turbohttp_cli::exit;

fn turbohttp() -> Command {
    Command::cargo_bin("turbohttp").expect("the turbohttp binary is built")
}

/// Runs the command with `args` to its end.
fn run(args: &[&str]) -> std::process::Output {
    turbohttp().args(args).output().expect("turbohttp runs")
}

/// A server on 127.0.0.1 that reads what a client sends first and answers `response`,
/// then closes. Returns its port.
fn server(response: &'static [u8]) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut first = [0u8; 1024];
            let _ = stream.read(&mut first);
            let _ = stream.write_all(response);
        }
    });
    port
}

/// What `python3 -m http.server` does with a TLS ClientHello: a plain-HTTP 400.
fn plain_http_server() -> u16 {
    server(b"HTTP/1.0 400 Bad request\r\nContent-Type: text/html\r\n\r\nBad request version\r\n")
}

#[test]
fn plain_http_on_a_tls_port_exits_35_whatever_the_address_order() {
    let port = plain_http_server();
    for addrs in ["[::1],127.0.0.1", "127.0.0.1,[::1]"] {
        let output = run(&[
            "get",
            "--prefer",
            "resolver",
            "--resolve",
            &format!("plain.test:{port}:{addrs}"),
            &format!("https://plain.test:{port}/"),
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(35), "{addrs}: {stderr}");
        let last = stderr.lines().last().expect("a last line");
        assert_eq!(
            last,
            format!(
                "turbohttp: error: all 2 attempts to connect to plain.test:{port} failed \
                 ([::1]:{port} refused the connection); 127.0.0.1:{port} connected, then its \
                 setup failed: the server did not answer with TLS (received corrupt message \
                 of type InvalidContentType): it is probably a plain-HTTP port (try http://) \
                 or another protocol"
            ),
            "{addrs}"
        );
    }
}

#[test]
fn the_readme_and_help_show_the_same_exit_codes() {
    let readme = include_str!("../../../README.md");
    assert!(
        readme.contains(&exit::markdown_table()),
        "the README's exit-code table is not exit::TABLE:\n{}",
        exit::markdown_table()
    );
    let help = turbohttp().arg("--help").output().expect("runs");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains(exit::help_text().trim_end()), "{help}");
    // Every code the command uses is in the table, once.
    let codes: Vec<u8> = exit::TABLE.iter().map(|(code, _)| *code).collect();
    for code in [
        exit::OK,
        exit::USAGE,
        exit::RESOLVE,
        exit::CONNECT,
        exit::HTTP_STATUS,
        exit::WRITE,
        exit::TIMEOUT,
        exit::TLS,
        exit::CANCELLED,
        exit::INTERFACE,
        exit::HTTP,
    ] {
        assert_eq!(codes.iter().filter(|c| **c == code).count(), 1, "{code}");
    }
}

#[test]
fn one_family_is_not_called_a_race() {
    let output = run(&["simulate", "--endpoint", "192.0.2.1=ok@5ms"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("(IPv4 only: no race)"), "{stdout}");
    assert!(!stdout.contains("(IPv6 first)"), "{stdout}");
    let both = run(&[
        "simulate",
        "--endpoint",
        "2001:db8::1=ok@5ms",
        "--endpoint",
        "192.0.2.1=ok@5ms",
    ]);
    let stdout = String::from_utf8_lossy(&both.stdout);
    assert!(stdout.contains("(IPv6 first)"), "{stdout}");
}

#[test]
fn setup_is_explained_where_it_appears() {
    let port = plain_http_server();
    let output = run(&[
        "get",
        "-v",
        "--resolve",
        &format!("plain.test:{port}:127.0.0.1"),
        &format!("https://plain.test:{port}/"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(35), "{stderr}");
    assert!(
        stderr.contains(
            "setup failed: the TCP connection was made, then the step after it failed: the \
             TLS handshake, for https"
        ),
        "{stderr}"
    );
}

/// Answers every request with `200 OK` and `hello`; returns the port.
fn hello_server() -> u16 {
    server(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
}

#[test]
fn get_json_alone_puts_the_race_on_stderr_and_the_body_on_stdout() {
    let port = hello_server();
    let output = run(&[
        "get",
        "--json",
        "--resolve",
        &format!("hello.test:{port}:127.0.0.1"),
        &format!("http://hello.test:{port}/"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(output.stdout, b"hello");
    let race: serde_json::Value = serde_json::from_slice(&output.stderr).expect("JSON");
    assert_eq!(race["outcome"], "connected", "{race}");
    assert_eq!(race["http"]["status"], 200, "{race}");
}

#[test]
fn every_command_takes_a_target_the_same_ways() {
    let port = hello_server();
    let resolve = format!("hello.test:{port}:127.0.0.1");
    let forms = [
        vec![format!("hello.test:{port}")],
        vec!["hello.test".to_owned(), port.to_string()],
        vec![format!("http://hello.test:{port}/")],
    ];
    for form in &forms {
        for command in ["connect", "get"] {
            let output = turbohttp()
                .args([command, "--resolve", &resolve])
                .args(form)
                .output()
                .expect("runs");
            assert_eq!(
                output.status.code(),
                Some(0),
                "{command} {form:?}: {output:?}"
            );
        }
        let output = turbohttp()
            .args(["simulate", "--endpoint", "192.0.2.1=ok@5ms"])
            .args(form)
            .output()
            .expect("runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "simulate {form:?}: {stdout}");
        assert!(
            stdout.contains(&format!("hello.test:{port} resolved to 1 address")),
            "{stdout}"
        );
        // A bare IP endpoint takes the target's port.
        assert!(stdout.contains(&format!("192.0.2.1:{port}")), "{stdout}");
    }
    // An https URL is port 443 and turns TLS on.
    let output = run(&[
        "simulate",
        "--endpoint",
        "192.0.2.1=ok@5ms",
        "https://hello.test/",
    ]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("hello.test:443"));
    // A bad target says which forms are taken and where the help is.
    for command in ["connect", "get", "simulate"] {
        let mut args = vec![command, "hello.test", "http"];
        if command == "simulate" {
            args.extend(["--endpoint", "192.0.2.1=ok"]);
        }
        let output = run(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("HOST:PORT, [IPv6]:PORT, HOST PORT, or a URL")
                && stderr.contains(&format!("(see turbohttp {command} --help)")),
            "{stderr}"
        );
    }
}

#[test]
fn duration_flags_take_the_same_forms_and_endpoints_come_once() {
    // A bare number is seconds on every duration flag, as on --connect-timeout.
    let output = run(&[
        "simulate",
        "--json",
        "--stagger",
        "0.3",
        "--spacing",
        "0.2",
        "--resolution-delay",
        "0.05",
        "--connect-timeout",
        "2",
        "--endpoint",
        "2001:db8::1=stall",
        "--endpoint",
        "192.0.2.1=ok",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["options"]["stagger_ms"], 300.0, "{json}");
    assert_eq!(json["options"]["spacing_ms"], 200.0, "{json}");
    assert_eq!(json["options"]["resolution_delay_ms"], 50.0, "{json}");
    assert_eq!(json["options"]["connect_timeout_ms"], 2000.0, "{json}");
    assert_eq!(json["attempts"][1]["start_ms"], 300.0, "{json}");
    // `ok` without a duration connects at once, as `nxdomain` answers at once.
    assert_eq!(json["attempts"][1]["end_ms"], 300.0, "{json}");

    let output = run(&[
        "simulate",
        "--endpoint",
        "192.0.2.1=ok@1ms",
        "--endpoint",
        "192.0.2.1=refuse@1ms",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("192.0.2.1:443 is already simulated (192.0.2.1:443=ok@1ms)"),
        "{stderr}"
    );
}

#[test]
fn a_usage_error_points_at_its_subcommands_help() {
    let output = run(&["connect", "--no-such-flag", "a.test:80"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .trim_end()
            .ends_with("(see turbohttp connect --help)"),
        "{stderr}"
    );
}

#[test]
fn a_resolve_entry_for_another_port_is_named_and_so_is_the_dns_server() {
    // A UDP port on loopback where no DNS server listens.
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let dns = closed.local_addr().expect("addr");
    drop(closed);
    let output = run(&[
        "connect",
        "--connect-timeout",
        "2",
        "--resolve",
        "dual.test:8001:127.0.0.1",
        "--dns-servers",
        &dns.to_string(),
        "dual.test:8000",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "turbohttp: warning: --resolve \"dual.test:8001:127.0.0.1\" is for port 8001, not \
             8000: it is not used, and dual.test is resolved as usual"
        ),
        "{stderr}"
    );
    // Nothing answers: the connect timeout ends it while resolving (28), and the
    // verdict names the server that was asked.
    assert_eq!(output.status.code(), Some(28), "{stderr}");
    assert!(
        stderr
            .trim_end()
            .ends_with(&format!("(DNS servers asked: {dns})")),
        "{stderr}"
    );
}

#[test]
fn a_budget_says_which_rule_made_it() {
    let output = run(&[
        "simulate",
        "--no-happy-eyeballs",
        "--connect-timeout",
        "3",
        "--endpoint",
        "2001:db8::1=stall",
        "--endpoint",
        "192.0.2.1=ok@1ms",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("no answer within its 2s budget"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "budget: an attempt may wait for the time left, shared among the rounds of \
             attempts still to run, but at least 2s unless less is left. #0 started with 3s \
             left for 2 addresses, 1 at a time: 1.5s each, raised to the 2s floor, so 2s."
        ),
        "{stdout}"
    );
    // Ten seconds for two addresses one at a time: 5s each, no floor needed.
    let output = run(&[
        "simulate",
        "--no-happy-eyeballs",
        "--connect-timeout",
        "10",
        "--endpoint",
        "2001:db8::1=stall",
        "--endpoint",
        "192.0.2.1=ok@1ms",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("#0 started with 10s left for 2 addresses, 1 at a time: 5s each, so 5s."),
        "{stdout}"
    );
}

#[test]
fn equal_failures_lead_with_the_first_not_the_furthest() {
    let output = run(&[
        "simulate",
        "--endpoint",
        "2001:db8::1=refuse@1ms",
        "--endpoint",
        "192.0.2.1=refuse@1ms",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(7), "{stderr}");
    assert!(
        stderr.contains(
            "all 2 attempts to connect to simulated.test:443 failed (192.0.2.1:443 refused \
             the connection); the first was [2001:db8::1]:443: Connection refused (os error 111)"
        ),
        "{stderr}"
    );
}

#[test]
fn a_setup_failure_beside_a_stalled_address_is_named_in_the_timeout() {
    // [2001:db8::1] stalls, 192.0.2.1 connects and fails its setup: the timeout ends
    // the race, and its sentence names the failure that got furthest.
    let output = run(&[
        "simulate",
        "--connect-timeout",
        "1",
        "--endpoint",
        "2001:db8::1=stall",
        "--endpoint",
        "192.0.2.1=setup-fail@5ms",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // simulate dials no TLS: the timeout's code.
    assert_eq!(output.status.code(), Some(28), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "turbohttp: error: connecting to simulated.test:443 stopped after 1s (2 attempts \
         started; 192.0.2.1:443 got furthest: setup failed: Connection reset by peer (os error 104)): \
         the connect timeout ran out"
    );
}

#[test]
fn no_dns_note_when_no_query_failed_and_the_legend_counts_one_family_alone() {
    // An IP literal of the wrong family: nothing was asked of DNS.
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let dns = closed.local_addr().expect("addr");
    drop(closed);
    let output = run(&[
        "connect",
        "-6",
        "--dns-servers",
        &dns.to_string(),
        "127.0.0.1:80",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(6), "{stderr}");
    assert!(!stderr.contains("DNS servers asked"), "{stderr}");

    // Three IPv4 addresses, 10 s: one at a time, so 3.333s each.
    let output = run(&[
        "simulate",
        "--connect-timeout",
        "10",
        "--endpoint",
        "192.0.2.1=stall",
        "--endpoint",
        "192.0.2.2=stall",
        "--endpoint",
        "192.0.2.3=ok@1ms",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("no answer within its 3.333s budget"),
        "{stdout}"
    );
    assert!(
        stdout.contains("#0 started with 10s left for 3 addresses, 1 at a time: 3.333s each"),
        "{stdout}"
    );

    // Without a target, simulate races at its first endpoint's port.
    let output = run(&["simulate", "--endpoint", "192.0.2.1:8443=ok@1ms"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("simulated.test:8443 resolved"), "{stdout}");
}

#[test]
fn a_tls_failure_beside_a_black_holed_ipv6_exits_35() {
    let port = plain_http_server();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    // A black-holed [::1] at the plain server's port, so one --resolve names both.
    let Ok(hole) = runtime.block_on(turbohttp_lab::BlackHole::at(port)) else {
        eprintln!("no black hole on ::1 here");
        return;
    };
    let output = run(&[
        "get",
        "--connect-timeout",
        "1",
        "--resolve",
        &format!("plain.test:{port}:[::1],127.0.0.1"),
        &format!("https://plain.test:{port}/"),
    ]);
    drop(hole);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(35), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "(2 attempts started; 127.0.0.1:{port} got furthest: setup failed: the server did \
             not answer with TLS"
        )),
        "{stderr}"
    );
}
