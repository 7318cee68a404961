//! curl's socket flags on `connect` and `get` (`--interface`, `--keepalive-time`,
//! `--keepalive-cnt`, `--no-keepalive`), run as the built binary against listeners on
//! loopback (127.0.0.1 and ::1 only); bad values are usage errors (exit 2).

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, Ipv6Addr, TcpListener};
use std::thread;

use assert_cmd::Command;
use serde_json::Value;

/// Exit code of a usage error (curl's).
const USAGE: i32 = 2;

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

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A listener whose handshakes the kernel completes; nothing is ever accepted.
fn listener_v4() -> (TcpListener, u16) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

#[test]
fn interface_address_is_the_connections_local_address() {
    let (_listener, port) = listener_v4();
    let target = format!("127.0.0.1:{port}");
    let run = run(&["connect", "--json", "--interface", "127.0.0.2", &target]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let local = json(&run.stdout)["local_address"]
        .as_str()
        .expect("local_address")
        .to_owned();
    assert!(local.starts_with("127.0.0.2:"), "{local}");

    // curl's explicit form says the same.
    let local = connected_from(&["--interface", "host!127.0.0.2"], &target);
    assert!(local.starts_with("127.0.0.2:"), "{local}");
}

/// `connect --json` with `flags`, returning the local address.
fn connected_from(flags: &[&str], target: &str) -> String {
    let mut args = vec!["connect", "--json"];
    args.extend_from_slice(flags);
    args.push(target);
    let run = run(&args);
    assert_eq!(run.code, Some(0), "{args:?}: {}", run.stderr);
    json(&run.stdout)["local_address"]
        .as_str()
        .expect("local_address")
        .to_owned()
}

/// An IPv4 address only: the IPv6 address of the name is not dialed at all.
#[test]
fn one_family_interface_address_dials_that_family_only() {
    let (_listener, port) = listener_v4();
    let six = TcpListener::bind((Ipv6Addr::LOCALHOST, port)).ok();
    let resolve = format!("dual.test:{port}:[::1],127.0.0.1");
    let target = format!("dual.test:{port}");
    let run = run(&[
        "connect",
        "--json",
        "--interface",
        "127.0.0.2",
        "--resolve",
        &resolve,
        &target,
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let object = json(&run.stdout);
    let attempts = object["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1, "{object:#}");
    assert_eq!(attempts[0]["family"], "ipv4", "{object:#}");
    drop(six);
}

#[test]
fn interface_name_lo_binds_the_device() {
    let (_listener, port) = listener_v4();
    let target = format!("127.0.0.1:{port}");
    for flag in ["lo", "if!lo"] {
        let run = run(&[
            "connect",
            "--json",
            "--interface",
            flag,
            "--keepalive-time",
            "30",
            "--keepalive-cnt",
            "3",
            &target,
        ]);
        // Binding to a device needs CAP_NET_RAW on kernels before 5.7.
        if run.code != Some(0)
            && run
                .stdout
                .contains("cannot bind to the interface \"lo\": Operation not permitted")
        {
            continue;
        }
        assert_eq!(run.code, Some(0), "{flag}: {}{}", run.stdout, run.stderr);
    }
}

/// A missing interface fails the connect (not the usage) and stops the race at its
/// first attempt: the second address is not dialed, and the one failure names the
/// interface.
#[test]
fn a_missing_interface_fails_the_connect_not_the_usage() {
    let (_listener, port) = listener_v4();
    let six = TcpListener::bind((Ipv6Addr::LOCALHOST, port)).ok();
    let resolve = format!("dual.test:{port}:[::1],127.0.0.1");
    let target = format!("dual.test:{port}");
    let run = run(&[
        "connect",
        "--json",
        "--interface",
        "nosuchif0",
        "--resolve",
        &resolve,
        &target,
    ]);
    // curl's 45, "interface error": this host refused, not the peer.
    assert_eq!(run.code, Some(45), "{}{}", run.stdout, run.stderr);
    let object = json(&run.stdout);
    assert_eq!(object["error"]["kind"], "setup_rejected", "{object:#}");
    let attempts = object["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1, "{object:#}");
    assert_eq!(
        attempts[0]["address"],
        format!("[::1]:{port}"),
        "{object:#}"
    );
    let error = attempts[0]["error"].as_str().expect("error");
    // ENODEV, or EPERM where binding needs CAP_NET_RAW (Linux before 5.7).
    assert!(
        error
            == "cannot bind to the interface \"nosuchif0\": No such device \
                  (os error 19)"
            || error.starts_with(
                "cannot bind to the interface \"nosuchif0\": Operation not \
                 permitted (os error 1)"
            ),
        "{error}"
    );
    drop(six);
}

#[test]
fn get_shows_the_local_address_in_its_json() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
            line.clear();
        }
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            .expect("write");
    });
    let url = format!("http://127.0.0.1:{port}/");
    let run = run(&[
        "get",
        "-v",
        "--json",
        "--interface",
        "127.0.0.2",
        "--no-keepalive",
        &url,
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "ok");
    let local = json(&run.stderr)["local_address"]
        .as_str()
        .expect("local_address")
        .to_owned();
    assert!(local.starts_with("127.0.0.2:"), "{local}");
    server.join().expect("server");
}

#[test]
fn bad_values_are_usage_errors() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--keepalive-time", "0"],
            "--keepalive-time: 0 would probe continuously; use --no-keepalive to turn \
             keepalive off",
        ),
        (
            &["--keepalive-time", "1.5"],
            "--keepalive-time: \"1.5\" is not a whole number",
        ),
        (
            &["--keepalive-time", "-5"],
            "--keepalive-time: \"-5\" is not a whole number",
        ),
        (
            &["--keepalive-time", "40000"],
            "--keepalive-time: 40000 is above the system's limit of 32767 seconds",
        ),
        (
            &["--keepalive-cnt", "0"],
            "--keepalive-cnt: 0 would close a connection at its first probe; give 1 or more",
        ),
        (
            &["--keepalive-cnt", "200"],
            "--keepalive-cnt: the TCP keepalive retry count 200 is above the system's limit \
             of 127",
        ),
        (
            &["--keepalive-cnt", "x"],
            "--keepalive-cnt: \"x\" is not a whole number",
        ),
        (
            &["--interface", ""],
            "--interface: the interface name \"\" cannot be used: it is empty",
        ),
        (
            &["--interface", "if!"],
            "--interface: the interface name \"\" cannot be used: it is empty",
        ),
        (
            &["--interface", "sixteen-bytes-16"],
            "--interface: the interface name \"sixteen-bytes-16\" cannot be used: interface \
             names are at most 15 bytes long",
        ),
        (
            &["--interface", "host!eth0"],
            "--interface: \"eth0\" is not an IP address (host! takes an address, not a name)",
        ),
        (
            &["--interface", "ifhost!eth0!10.0.0.1"],
            "--interface: \"ifhost!eth0!10.0.0.1\": ifhost! is not supported; give the \
             interface and the address as two --interface flags",
        ),
        (
            &["--interface", "eth0", "--interface", "eth1"],
            "--interface: two interface names, \"eth0\" and \"eth1\": a connection leaves \
             from one",
        ),
        (
            &["--interface", "127.0.0.2", "--interface", "127.0.0.3"],
            "--interface: two IPv4 addresses, 127.0.0.2 and 127.0.0.3: give at most one per \
             family",
        ),
        (
            &["-6", "--interface", "127.0.0.2"],
            "--interface: 127.0.0.2 is IPv4, but only IPv6 may be dialed (-6); give an IPv6 \
             address too",
        ),
    ];
    for (flags, message) in cases {
        for command in ["connect", "get"] {
            let target = if command == "get" {
                "http://127.0.0.1:9/"
            } else {
                "127.0.0.1:9"
            };
            let mut args = vec![command];
            args.extend_from_slice(flags);
            args.push(target);
            let run = run(&args);
            assert_eq!(run.code, Some(USAGE), "{args:?}: {}", run.stderr);
            assert_eq!(
                run.stderr,
                format!("turbohttp: error: {message}\n"),
                "{args:?}"
            );
            assert_eq!(run.stdout, "", "{args:?}");
        }
    }

    // clap's own refusal: --no-keepalive contradicts the keepalive settings.
    let run = run(&[
        "connect",
        "--no-keepalive",
        "--keepalive-time",
        "5",
        "127.0.0.1:9",
    ]);
    assert_eq!(run.code, Some(USAGE), "{}", run.stderr);
    assert!(run.stderr.contains("--no-keepalive"), "{}", run.stderr);
}
