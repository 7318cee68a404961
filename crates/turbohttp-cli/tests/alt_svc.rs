//! `--alt-svc FILE` (curl's Alt-Svc cache) on loopback: `connect` reads the file and
//! dials the live alternative first; `get` writes back what the response's Alt-Svc
//! header advertises, in curl's format, keeping other origins' lines.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use assert_cmd::Command;
use serde_json::Value;
use turbohttp_cli::alt_svc::{Cache, parse_time};

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

fn temp_file(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "turbohttp-cli-altsvc-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Answers every connection with a 200 carrying `alt_svc` as its Alt-Svc header.
fn http_server(alt_svc: String) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let alt_svc = alt_svc.clone();
            thread::spawn(move || {
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
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nAlt-Svc: {alt_svc}\r\nConnection: close\r\n\r\nok"
                );
                let _ = stream.flush();
            });
        }
    });
    port
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn connect_dials_the_live_alternative_of_a_curl_file_first() {
    // The origin's own port refuses; the alternative's listens.
    let origin = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let origin_port = origin.local_addr().unwrap().port();
    drop(origin);
    let alt = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let alt_port = alt.local_addr().unwrap().port();
    let file = temp_file("connect");
    std::fs::write(
        &file,
        format!(
            "# a comment\n\
             h1 web.test {origin_port} h1 127.0.0.1 {alt_port} \"20991231 00:00:00\" 0 0\n\
             h1 web.test {origin_port} h1 127.0.0.1 1 \"20000101 00:00:00\" 0 0\n\
             h2 other.test 443 h2 127.0.0.1 2 \"20991231 00:00:00\" 0 0\n\
             not a line at all\n"
        ),
    )
    .unwrap();
    let resolve = format!("web.test:{origin_port}:127.0.0.1");
    let target = format!("web.test:{origin_port}");
    let args = [
        "connect",
        "--resolve",
        &resolve,
        "--alt-svc",
        file.to_str().unwrap(),
        &target,
        "--json",
    ];
    let run = run(&args);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let json: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(json["winner"]["address"], format!("127.0.0.1:{alt_port}"));
    assert_eq!(json["attempts"][0]["alternative"], 0);
    assert_eq!(json["attempts"][0]["alpn"], serde_json::json!(["http/1.1"]));
    // Only the live entry of this origin: the expired one and other.test's are not.
    let alternatives = json["alternatives"].as_array().expect("alternatives");
    assert_eq!(alternatives.len(), 1, "{json:#}");
    assert_eq!(alternatives[0]["host"], "127.0.0.1");
    assert_eq!(alternatives[0]["port"], alt_port);
    assert_eq!(alternatives[0]["verdict"], "used");
    assert!(
        run.stderr
            .contains(":5: not an Alt-Svc cache line, skipped"),
        "{}",
        run.stderr
    );
    // The text view lists it under the DNS table.
    let text = self::run(&args[..args.len() - 1]);
    assert!(
        text.stdout.contains(&format!(
            "alt-svc #0  http/1.1=\"127.0.0.1:{alt_port}\": used"
        )),
        "{}",
        text.stdout
    );
    let _ = std::fs::remove_file(&file);
}

#[test]
fn get_writes_what_the_response_advertises_in_curls_format() {
    let alt_port = 4433;
    let port = http_server(format!("h2=\"127.0.0.1:{alt_port}\"; ma=60"));
    let file = temp_file("get");
    std::fs::write(
        &file,
        format!(
            "h1 127.0.0.1 {port} h1 127.0.0.1 9 \"20991231 00:00:00\" 0 0\n\
             h2 other.test 443 h3 other.test 443 \"20991231 00:00:00\" 1 0\n"
        ),
    )
    .unwrap();
    let url = format!("http://127.0.0.1:{port}/");
    let before = now();
    let run = run(&["get", "--alt-svc", file.to_str().unwrap(), &url]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "ok");
    let text = std::fs::read_to_string(&file).unwrap();
    let (cache, warnings) = Cache::parse(&text, "file");
    assert!(warnings.is_empty(), "{warnings:?}\n{text}");
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    // Other origins' lines stay; this origin's old entry is replaced.
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(
        lines[0],
        "h2 other.test 443 h3 other.test 443 \"20991231 00:00:00\" 1 0"
    );
    let ours = format!("h1 127.0.0.1 {port} h2 127.0.0.1 {alt_port} \"");
    assert!(lines[1].starts_with(&ours), "{text}");
    assert!(lines[1].ends_with("\" 0 0"), "{text}");
    let quoted = lines[1].split('"').nth(1).unwrap();
    let expires = parse_time(quoted).expect("curl's date");
    assert!(
        (before + 60..=now() + 60).contains(&expires),
        "{quoted} is not 60 s from now"
    );
    assert_eq!(cache.entries.len(), 2);
    let _ = std::fs::remove_file(&file);
}

#[test]
fn get_creates_a_missing_file_and_clear_empties_the_origins_entries() {
    let file = temp_file("clear");
    let port = http_server("h2=\":8443\"".to_owned());
    let url = format!("http://127.0.0.1:{port}/");
    let run1 = run(&["get", "--alt-svc", file.to_str().unwrap(), &url]);
    assert_eq!(run1.code, Some(0), "{}", run1.stderr);
    let text = std::fs::read_to_string(&file).expect("created");
    // No host in the header: the origin's own.
    assert!(
        text.contains(&format!("h1 127.0.0.1 {port} h2 127.0.0.1 8443 \"")),
        "{text}"
    );
    let clear = http_server("clear".to_owned());
    let mut other = text.clone();
    other.push_str(&format!(
        "h1 127.0.0.1 {clear} h2 127.0.0.1 8443 \"20991231 00:00:00\" 0 0\n"
    ));
    std::fs::write(&file, other).unwrap();
    let url = format!("http://127.0.0.1:{clear}/");
    let run2 = run(&["get", "--alt-svc", file.to_str().unwrap(), &url]);
    assert_eq!(run2.code, Some(0), "{}", run2.stderr);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(&format!("127.0.0.1 {clear} ")), "{text}");
    assert!(text.contains(&format!("127.0.0.1 {port} ")), "{text}");
    let _ = std::fs::remove_file(&file);
}
