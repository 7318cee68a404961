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

/// What `python3 -m http.server` does with a TLS ClientHello: reads it, answers a
/// plain-HTTP 400 and closes. Returns the port on 127.0.0.1.
fn plain_http_server() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut hello = [0u8; 512];
            let _ = stream.read(&mut hello);
            let _ = stream.write_all(
                b"HTTP/1.0 400 Bad request\r\nContent-Type: text/html\r\n\r\nBad request version\r\n",
            );
        }
    });
    port
}

#[test]
fn plain_http_on_a_tls_port_exits_35_whatever_the_address_order() {
    let port = plain_http_server();
    for addrs in ["[::1],127.0.0.1", "127.0.0.1,[::1]"] {
        let output = turbohttp()
            .args([
                "get",
                "--prefer",
                "resolver",
                "--resolve",
                &format!("plain.test:{port}:{addrs}"),
                &format!("https://plain.test:{port}/"),
            ])
            .output()
            .expect("runs");
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
    let output = turbohttp()
        .args(["simulate", "--endpoint", "192.0.2.1=ok@5ms"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("(IPv4 only: no race)"), "{stdout}");
    assert!(!stdout.contains("(IPv6 first)"), "{stdout}");
    let both = turbohttp()
        .args([
            "simulate",
            "--endpoint",
            "2001:db8::1=ok@5ms",
            "--endpoint",
            "192.0.2.1=ok@5ms",
        ])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&both.stdout);
    assert!(stdout.contains("(IPv6 first)"), "{stdout}");
}

#[test]
fn setup_is_explained_where_it_appears() {
    let port = plain_http_server();
    let output = turbohttp()
        .args([
            "get",
            "-v",
            "--resolve",
            &format!("plain.test:{port}:127.0.0.1"),
            &format!("https://plain.test:{port}/"),
        ])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(35), "{stderr}");
    assert!(
        stderr.contains("setup failed: the TCP connection was made, then the step after it, the TLS handshake, failed"),
        "{stderr}"
    );
}
