//! HTTPS records in the command (issue 22): `connect --tls` and `get -v` against the
//! DNS lab on loopback ask the origin's HTTPS record with AAAA and A, show it (the
//! DNS table's HTTPS row, `--json`'s `records`, the attempts' `alpn`), and connect to
//! the port the record names; `--no-https-rr` asks nothing.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use assert_cmd::Command;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;
use turbohttp_lab::dns::{
    Behaviour, DnsLab, EchConfigList, SvcParamKey, SvcParamValue, Zone, alpn, service,
};
use turbohttp_lab::ech::config_list;

const NAME: &str = "svc.test";
const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The DNS lab serving `NAME`'s A (127.0.0.1), no AAAA, and an HTTPS record naming
/// `port`, on a runtime of its own while the command runs.
struct Lab {
    lab: DnsLab,
    _runtime: tokio::runtime::Runtime,
}

impl Lab {
    fn start(port: u16) -> Self {
        Self::start_with(port, None)
    }

    /// [`Lab::start`], the record carrying `ech` (an ECHConfigList) if given.
    fn start_with(port: u16, ech: Option<Vec<u8>>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let mut params = vec![
            alpn(&["h2"]),
            (SvcParamKey::Port, SvcParamValue::Port(port)),
        ];
        if let Some(list) = ech {
            params.push((
                SvcParamKey::EchConfigList,
                SvcParamValue::EchConfigList(EchConfigList(list)),
            ));
        }
        let record = service(1, ".", params);
        let zone = Zone::new()
            .a(NAME, Behaviour::answer([V4]))
            .aaaa(NAME, Behaviour::NoData)
            .https(
                NAME,
                Behaviour::Https {
                    records: vec![record],
                    delay: Duration::ZERO,
                },
            );
        let lab = runtime.block_on(DnsLab::start(zone)).expect("lab");
        Self {
            lab,
            _runtime: runtime,
        }
    }

    fn server(&self) -> String {
        self.lab.addr().to_string()
    }
}

/// An HTTPS server for `NAME` on 127.0.0.1 (HTTP/1.1 only), and its CA as a PEM file.
struct Server {
    port: u16,
    ca: PathBuf,
}

impl Server {
    fn start() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca =
            CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
        let key = KeyPair::generate().expect("key");
        let params = CertificateParams::new(vec![NAME.to_owned()]).expect("params");
        let cert = params.signed_by(&key, &ca).expect("certificate");
        // One file per server: the tests of this file run at once.
        static SERVERS: AtomicUsize = AtomicUsize::new(0);
        let ca_file = std::env::temp_dir().join(format!(
            "turbohttp-cli-https-rr-{}-{}.pem",
            std::process::id(),
            SERVERS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&ca_file, ca.pem()).expect("write the CA");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from_pem_slice(cert.pem().as_bytes()).expect("cert")],
                PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).expect("key"),
            )
            .expect("server config");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        let listener = TcpListener::bind((V4, 0)).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let config = Arc::clone(&config);
                thread::spawn(move || {
                    let connection = rustls::ServerConnection::new(config).expect("session");
                    let mut tls = rustls::StreamOwned::new(connection, &mut stream);
                    let mut reader = BufReader::new(&mut tls);
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                        line.clear();
                    }
                    let body = "served at the record's port\n";
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
        Self { port, ca: ca_file }
    }

    fn ca(&self) -> &str {
        self.ca.to_str().expect("a UTF-8 path")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca);
    }
}

fn turbohttp(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("turbohttp")
        .expect("the turbohttp binary is built")
        .args(args)
        .output()
        .expect("turbohttp runs")
}

#[test]
fn connect_tls_asks_the_https_record_and_dials_its_port() {
    let server = Server::start();
    let lab = Lab::start(server.port);
    let target = format!("{NAME}:443");
    let output = turbohttp(&[
        "connect",
        "--tls",
        "--json",
        "--cacert",
        server.ca(),
        "--dns-servers",
        &lab.server(),
        &target,
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let https = &json["dns"][0];
    assert_eq!(https["type"], "HTTPS");
    assert_eq!(https["outcome"], "answered");
    assert_eq!(https["records"][0]["port"], server.port);
    assert_eq!(https["records"][0]["alpn"][0], "h2");
    assert_eq!(https["records"][0]["verdict"], "used");
    assert_eq!(https["records"][0]["rank"], 0);
    let attempt = &json["attempts"][0];
    assert_eq!(attempt["address"], format!("127.0.0.1:{}", server.port));
    assert_eq!(attempt["alpn"], serde_json::json!(["h2", "http/1.1"]));
    assert_eq!(attempt["service"], 0);
    assert_eq!(json["outcome"], "connected");
}

#[test]
fn get_verbose_shows_the_https_row_and_fetches_from_the_records_port() {
    let server = Server::start();
    let lab = Lab::start(server.port);
    let url = format!("https://{NAME}/");
    let output = turbohttp(&[
        "get",
        "-v",
        "--cacert",
        server.ca(),
        "--dns-servers",
        &lab.server(),
        &url,
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("served at the record's port"), "{stdout}");
    let record = format!("1 . alpn=h2 port={}: used (h2,http/1.1)", server.port);
    assert!(stderr.contains(&record), "{stderr}");
    let https_row = stderr.lines().find(|l| l.trim_start().starts_with("HTTPS"));
    assert!(
        https_row.is_some_and(|row| row.contains("answered")),
        "{stderr}"
    );
    assert!(
        stderr.contains("alpn"),
        "the attempts table's ALPN column: {stderr}"
    );
}

#[test]
fn no_https_rr_asks_no_https_record() {
    let server = Server::start();
    let lab = Lab::start(server.port);
    let target = format!("{NAME}:{}", server.port);
    let output = turbohttp(&[
        "connect",
        "--tls",
        "--json",
        "--no-https-rr",
        "--cacert",
        server.ca(),
        "--dns-servers",
        &lab.server(),
        &target,
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let types: Vec<&str> = json["dns"]
        .as_array()
        .expect("dns")
        .iter()
        .map(|q| q["type"].as_str().expect("a type"))
        .collect();
    assert_eq!(types, ["AAAA", "A"]);
    assert!(
        lab.lab
            .queries_for(&format!("_{}._https.{NAME}", server.port))
            .is_empty()
    );
}

// ---- simulate --dns-https: every rule without sockets, in virtual time ----

fn simulate_json(args: &[&str]) -> Value {
    simulate_json_exiting(0, args)
}

/// `simulate --json` with `args`, which must exit with `code`.
fn simulate_json_exiting(code: i32, args: &[&str]) -> Value {
    let mut all = vec!["simulate", "--json"];
    all.extend_from_slice(args);
    let output = turbohttp(&all);
    assert_eq!(output.status.code(), Some(code), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("JSON")
}

fn starts(json: &Value) -> Vec<(String, f64)> {
    let attempts = json["attempts"].as_array().expect("attempts");
    let start = |a: &Value| {
        let address = a["address"].as_str().expect("an address").to_owned();
        (address, a["start_ms"].as_f64().expect("a start"))
    };
    attempts.iter().map(start).collect()
}

#[test]
fn simulate_a_lost_https_answer_costs_the_resolution_delay() {
    let json = simulate_json(&[
        "--endpoint",
        "2001:db8::1=ok@5ms",
        "--dns-https",
        "lost",
        "--dns-aaaa",
        "answer@1ms",
        "--dns-a",
        "answer@2ms",
    ]);
    assert_eq!(starts(&json), [("[2001:db8::1]:443".to_owned(), 51.0)]);
    assert_eq!(json["dns"][0]["type"], "HTTPS");
    assert_eq!(json["dns"][0]["outcome"], "cancelled");
    assert_eq!(json["dns_behaviour"]["HTTPS"], "lost");
}

#[test]
fn simulate_hints_start_the_race_before_the_answers_and_the_port_is_the_records() {
    let json = simulate_json(&[
        "--endpoint",
        "[2001:db8::1]:8443=ok@5ms",
        "--dns-https",
        "alpn=h2,no-default-alpn,port=8443,ipv6hint=2001:db8::1@2ms",
        "--dns-aaaa",
        "answer@30ms",
    ]);
    assert_eq!(starts(&json), [("[2001:db8::1]:8443".to_owned(), 2.0)]);
    assert_eq!(json["attempts"][0]["alpn"], serde_json::json!(["h2"]));
    assert_eq!(json["dns"][0]["records"][0]["no_default_alpn"], true);
}

#[test]
fn simulate_priorities_and_skipped_records_are_shown() {
    let json = simulate_json(&[
        "--endpoint",
        "192.0.2.1:8002=ok@5ms",
        "--dns-https",
        "priority=2,port=8002; priority=1,port=8001,mandatory=key65000; \
         alpn=h3,no-default-alpn@1ms",
    ]);
    let records = json["dns"][0]["records"].as_array().expect("records");
    let verdicts: Vec<&str> = records
        .iter()
        .map(|r| r["verdict"].as_str().expect("a verdict"))
        .collect();
    assert_eq!(verdicts, ["used", "mandatory_unknown", "quic_only"]);
    assert_eq!(starts(&json), [("192.0.2.1:8002".to_owned(), 1.0)]);
}

#[test]
fn simulate_follows_an_alias_and_stops_at_its_loop() {
    // The simulated server answers every HTTPS query alike: cdn.test aliases to
    // itself, and the origin's own address is dialed.
    let json = simulate_json(&[
        "--endpoint",
        "192.0.2.1=ok@5ms",
        "--dns-https",
        "alias=cdn.test@1ms",
    ]);
    let dns = json["dns"].as_array().expect("dns");
    let https: Vec<&Value> = dns.iter().filter(|q| q["type"] == "HTTPS").collect();
    assert_eq!(https.len(), 2, "{dns:?}");
    assert_eq!(https[0]["name"], Value::Null);
    assert_eq!(https[0]["records"][0]["verdict"], "alias");
    assert_eq!(https[1]["name"], "cdn.test");
    assert_eq!(https[1]["records"][0]["verdict"], "alias_loop");
    // The loop is known when the second answer comes, 1 ms after the first.
    assert_eq!(starts(&json), [("192.0.2.1:443".to_owned(), 2.0)]);
}

#[test]
fn simulate_refuses_a_bad_https_record_with_a_sentence() {
    for (value, words) in [
        ("bogus=1", "unknown key \"bogus\""),
        ("port=http", "port=\"http\": a port"),
        ("ipv4hint=2001:db8::1", "an address of the other family"),
        ("priority=0", "a number from 1 to 65535"),
        ("alpn=h2@-5ms", "the duration is negative"),
        ("lost@5ms", "takes no delay"),
    ] {
        let output = turbohttp(&[
            "simulate",
            "--endpoint",
            "192.0.2.1=ok@1ms",
            "--dns-https",
            value,
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{value}: {stderr}");
        assert!(
            stderr.contains("--dns-https") && stderr.contains(words),
            "{value}: {stderr}"
        );
    }
}

#[test]
fn connect_offers_the_records_ech_and_says_when_the_server_does_not_accept_it() {
    // The server knows no ECH: it answers the outer hello (public name NAME, whose
    // certificate it has), and the client gives up rather than go on without ECH.
    let server = Server::start();
    let lab = Lab::start_with(server.port, Some(config_list(9, NAME)));
    let (target, dns) = (format!("{NAME}:443"), lab.server());
    let connect = |extra: &[&str]| {
        let mut args = vec!["connect", "--tls", "--json", "--cacert", server.ca()];
        args.extend(["--dns-servers", &dns, &target]);
        args.extend(extra);
        turbohttp(&args)
    };
    let output = connect(&[]);
    assert_ne!(output.status.code(), Some(0), "{output:?}");
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["dns"][0]["records"][0]["ech"], true);
    let attempt = &json["attempts"][0];
    assert_eq!(attempt["ech"], true, "{json}");
    let error = attempt["error"].as_str().expect("an error");
    assert!(
        error.contains("did not accept Encrypted Client Hello"),
        "{error}"
    );

    // --no-ech: the record's configuration is not offered, and the connect works.
    let output = connect(&["--no-ech"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["attempts"][0]["ech"], false);
    assert_eq!(json["tls"]["ech"], "not offered", "{json}");
}

#[test]
fn simulate_offers_ech_first_and_never_dials_without_it_when_every_record_has_it() {
    // Exit 7: curl's "failed to connect".
    let json = simulate_json_exiting(
        7,
        &[
            "--endpoint",
            "192.0.2.1=ok@1ms",
            "--endpoint",
            "192.0.2.1:8443=refuse@5ms",
            "--endpoint",
            "192.0.2.1:9443=refuse@5ms",
            "--dns-a",
            "answer@2ms",
            "--dns-https",
            "alpn=h2,port=9443,priority=2,ech; alpn=h2,port=8443,priority=1,ech@3ms",
        ],
    );
    let dialed: Vec<(&str, bool)> = json["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| (a["address"].as_str().unwrap(), a["ech"].as_bool().unwrap()))
        .collect();
    // By priority among the ECH records; the origin's own port 443 never.
    assert_eq!(dialed, [("192.0.2.1:8443", true), ("192.0.2.1:9443", true)]);
    assert_eq!(json["outcome"], "failed");
}
