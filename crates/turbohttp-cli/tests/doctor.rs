//! `turbohttp doctor` against loopback lab scenes (127.0.0.1 and ::1 only): each
//! scene asserts the first finding's layer and family, in text and JSON, and the exit
//! status. DNS comes from the DNS lab (`--dns-servers`) or `--resolve`; the route
//! probes point at loopback (or at a link-local address without a scope, which the
//! kernel refuses at once: "no route"), so nothing leaves this machine.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use turbohttp_lab::BlackHole;
use turbohttp_lab::dns::{Behaviour, DnsLab, Zone, alpn, service};
use turbohttp_lab::h3::{H3Server, QuicBehaviour, UdpBlackHole};

const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

/// The route probes at loopback: a route exists, and nothing is sent anywhere.
const LOOPBACK_ROUTES: [&str; 4] = [
    "--route-probe-v6",
    "[::1]:9",
    "--route-probe-v4",
    "127.0.0.1:9",
];

/// A runtime of its own for the DNS lab, the black hole and the HTTP/3 servers,
/// serving while the command runs. Fields drop in order: the lab, the black hole and
/// the servers, then the runtime.
struct Lab {
    dns: Option<DnsLab>,
    _black_hole: Option<BlackHole>,
    _h3: Vec<H3Server>,
    runtime: tokio::runtime::Runtime,
}

impl Lab {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        Self {
            dns: None,
            _black_hole: None,
            _h3: Vec::new(),
            runtime,
        }
    }

    /// HTTP/3 servers with `config` on UDP port `port` of [::1] and 127.0.0.1.
    fn with_h3(mut self, port: u16, config: &Arc<rustls::ServerConfig>) -> Self {
        let _guard = self.runtime.enter();
        for ip in [V6, V4] {
            let server = H3Server::start(
                SocketAddr::new(ip, port),
                Arc::clone(config),
                QuicBehaviour::serve("hello over h3\n"),
            )
            .expect("the HTTP/3 server starts");
            self._h3.push(server);
        }
        self
    }

    fn with_dns(mut self, zone: Zone) -> Self {
        self.dns = Some(self.runtime.block_on(DnsLab::start(zone)).expect("DNS lab"));
        self
    }

    /// A black hole on `[::1]:port`; `None` where this kernel cannot make one.
    fn with_black_hole(mut self, port: u16) -> Option<Self> {
        match self.runtime.block_on(BlackHole::at(port)) {
            Ok(hole) => {
                self._black_hole = Some(hole);
                Some(self)
            }
            Err(reason) => {
                eprintln!("skipped: {reason}");
                None
            }
        }
    }

    fn server(&self) -> String {
        self.dns.as_ref().expect("a DNS lab").addr().to_string()
    }
}

/// Listeners on 127.0.0.1 and, when `v6`, on [::1] at the same port (connects complete
/// in the kernel's queue: nothing needs to accept).
fn listeners(v6: bool) -> (u16, Vec<TcpListener>) {
    for _ in 0..16 {
        let v4 = TcpListener::bind((V4, 0)).expect("bind 127.0.0.1");
        let port = v4.local_addr().expect("addr").port();
        if !v6 {
            return (port, vec![v4]);
        }
        if let Ok(v6) = TcpListener::bind((V6, port)) {
            return (port, vec![v4, v6]);
        }
    }
    panic!("no port free on both 127.0.0.1 and ::1");
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

fn doctor(args: &[&str]) -> Run {
    let started = Instant::now();
    let output = Command::cargo_bin("turbohttp")
        .expect("the turbohttp binary is built")
        .arg("doctor")
        .args(args)
        .output()
        .expect("turbohttp runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// The scene in text and in JSON: the exit code must be `code` both times; returns the
/// text and the JSON.
fn scene(args: &[&str], code: i32) -> (String, Value) {
    let mut all: Vec<&str> = LOOPBACK_ROUTES.to_vec();
    all.extend_from_slice(args);
    let text = doctor(&all);
    assert_eq!(text.code, Some(code), "{}\n{}", text.stdout, text.stderr);
    all.push("--json");
    let json = doctor(&all);
    assert_eq!(json.code, Some(code), "{}\n{}", json.stdout, json.stderr);
    let value: Value = serde_json::from_str(&json.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", json.stdout));
    assert_eq!(value["exit_code"], code);
    (text.stdout, value)
}

/// The first finding: (severity, layer, family or "", message), from JSON; and the
/// text must show the same sentence first.
fn first_finding(text: &str, json: &Value) -> (String, String, String, String) {
    let f = &json["findings"][0];
    let field = |k: &str| f[k].as_str().unwrap_or("").to_owned();
    let message = field("message");
    let section = text
        .split("\nfindings\n")
        .nth(1)
        .expect("a findings section");
    let first_line = section.lines().next().expect("a finding");
    // Two runs: the same sentence, but for the times measured.
    assert!(
        shape(first_line).ends_with(&shape(&message)),
        "text and JSON disagree:\n{first_line}\n{message}"
    );
    (field("severity"), field("layer"), field("family"), message)
}

/// Asserts the first finding's (severity, layer, family) and that its sentence
/// starts with `prefix`, in text and JSON alike; returns the sentence.
fn expect_first(text: &str, json: &Value, expected: (&str, &str, &str), prefix: &str) -> String {
    let (severity, layer, family, message) = first_finding(text, json);
    assert_eq!(
        (severity.as_str(), layer.as_str(), family.as_str()),
        expected
    );
    assert!(message.starts_with(prefix), "{message}");
    message
}

/// `text` with every number (`1.25`, `500`) as `#`.
fn shape(text: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for c in text.chars() {
        if c.is_ascii_digit() || (in_number && c == '.') {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

fn dual_zone(name: &str) -> Zone {
    Zone::new()
        .aaaa(name, Behaviour::answer([V6]))
        .a(name, Behaviour::answer([V4]))
}

#[test]
fn healthy_dual_stack_has_no_false_alarm() {
    let lab = Lab::new().with_dns(dual_zone("dual.test"));
    let (port, _listeners) = listeners(true);
    let target = format!("dual.test:{port}");
    let (text, json) = scene(&["--dns-servers", &lab.server(), &target], 0);
    expect_first(
        &text,
        &json,
        ("info", "race", ""),
        "Healthy: IPv6 and IPv4 both connect; IPv6 wins in ",
    );
    assert_eq!(json["verdict"], "healthy");
    for finding in json["findings"].as_array().expect("findings") {
        assert_eq!(finding["severity"], "info", "{finding}");
    }
    // The evidence is there: both queries, both addresses, the race.
    let queries = json["dns"]["queries"].as_array().expect("queries");
    assert_eq!(queries[0]["query"], "AAAA");
    assert_eq!(queries[0]["addresses"][0], "::1");
    // The lab's default TTL, as the records carry it.
    assert_eq!(queries[0]["ttl_s"], 300);
    assert!(text.contains("::1 (TTL 300s)"), "{text}");
    assert_eq!(queries[1]["query"], "A");
    assert_eq!(queries.last().expect("DNS64")["query"], "DNS64");
    assert_eq!(queries.last().expect("DNS64")["outcome"], "nxdomain");
    assert_eq!(json["addresses"][0]["connect"]["outcome"], "connected");
    assert_eq!(json["addresses"][1]["connect"]["outcome"], "connected");
    assert_eq!(json["race"]["winner"]["family"], "ipv6");
    assert!(text.contains("\nthe race a user gets ("), "{text}");
    assert!(text.contains("verdict: healthy (exit 0)"), "{text}");
}

#[test]
fn ipv6_black_holed_is_a_connect_warning_for_ipv6() {
    let (port, _listeners) = listeners(false);
    let Some(lab) = Lab::new()
        .with_dns(dual_zone("holed.test"))
        .with_black_hole(port)
    else {
        return;
    };
    let target = format!("holed.test:{port}");
    let (text, json) = scene(
        &[
            "--dns-servers",
            &lab.server(),
            "--probe-timeout",
            "500ms",
            "--connect-timeout",
            "3",
            &target,
        ],
        1,
    );
    let message = expect_first(
        &text,
        &json,
        ("warning", "connect", "ipv6"),
        "IPv6 is broken for this host: AAAA answers in ",
    );
    assert!(
        message.contains("the IPv6 address times out (no answer within 500ms)"),
        "{message}"
    );
    assert!(message.contains("pays the 250ms fallback"), "{message}");
    assert_eq!(json["verdict"], "degraded");
    assert_eq!(json["race"]["winner"]["family"], "ipv4");
}

#[test]
fn ipv6_refused_is_a_connect_warning_for_ipv6() {
    let (port, _listeners) = listeners(false);
    let target = format!("refused.test:{port}");
    let resolve = format!("refused.test:{port}:[::1],127.0.0.1");
    let (text, json) = scene(&["--resolve", &resolve, &target], 1);
    let (severity, layer, family, message) = first_finding(&text, &json);
    assert_eq!(
        (severity.as_str(), layer.as_str(), family.as_str()),
        ("warning", "connect", "ipv6")
    );
    assert!(
        message.contains("the IPv6 address refuses connections"),
        "{message}"
    );
    assert_eq!(json["dns"]["source"], "resolve");
    assert_eq!(json["addresses"][0]["connect"]["outcome"], "refused");
}

#[test]
fn aaaa_lost_is_a_dns_warning_for_ipv6() {
    let lab = Lab::new().with_dns(
        Zone::new()
            .aaaa("lost.test", Behaviour::Silent)
            .a("lost.test", Behaviour::answer([V4])),
    );
    let (port, _listeners) = listeners(true);
    let target = format!("lost.test:{port}");
    let (text, json) = scene(
        &[
            "--dns-servers",
            &lab.server(),
            "--probe-timeout",
            "500ms",
            &target,
        ],
        1,
    );
    expect_first(
        &text,
        &json,
        ("warning", "dns", "ipv6"),
        "The AAAA query gets no answer within 500ms while A answers in",
    );
    assert_eq!(json["dns"]["queries"][0]["outcome"], "timed_out");
    assert_eq!(json["race"]["winner"]["family"], "ipv4");
}

#[test]
fn aaaa_slow_is_a_dns_warning_with_both_times() {
    let lab = Lab::new().with_dns(
        Zone::new()
            .aaaa(
                "slow.test",
                Behaviour::answer_after(Duration::from_millis(600), [V6]),
            )
            .a("slow.test", Behaviour::answer([V4])),
    );
    let (port, _listeners) = listeners(true);
    let target = format!("slow.test:{port}");
    let (text, json) = scene(&["--dns-servers", &lab.server(), &target], 1);
    let (severity, layer, family, message) = first_finding(&text, &json);
    assert_eq!(
        (severity.as_str(), layer.as_str(), family.as_str()),
        ("warning", "dns", "ipv6")
    );
    assert!(message.starts_with("AAAA answers take "), "{message}");
    assert!(
        message.contains("turbohttp waits the 50ms resolution delay"),
        "{message}"
    );
    let aaaa_ms = json["dns"]["queries"][0]["elapsed_ms"]
        .as_f64()
        .expect("ms");
    assert!(aaaa_ms >= 600.0, "{aaaa_ms}");
}

#[test]
fn a_lost_is_a_dns_warning_for_ipv4() {
    let lab = Lab::new().with_dns(
        Zone::new()
            .aaaa("nov4.test", Behaviour::answer([V6]))
            .a("nov4.test", Behaviour::Silent),
    );
    let (port, _listeners) = listeners(true);
    let target = format!("nov4.test:{port}");
    let (text, json) = scene(
        &[
            "--dns-servers",
            &lab.server(),
            "--probe-timeout",
            "500ms",
            &target,
        ],
        1,
    );
    expect_first(
        &text,
        &json,
        ("warning", "dns", "ipv4"),
        "The A query gets no answer",
    );
}

#[test]
fn nxdomain_is_a_dns_error_and_exit_6() {
    let lab = Lab::new().with_dns(dual_zone("exists.test"));
    let (text, json) = scene(&["--dns-servers", &lab.server(), "missing.test:443"], 6);
    expect_first(
        &text,
        &json,
        ("error", "dns", ""),
        "missing.test does not exist: the DNS server answers NXDOMAIN",
    );
    assert_eq!(json["verdict"], "unreachable");
    assert_eq!(json["findings"].as_array().map(Vec::len), Some(1));
}

#[test]
fn no_ipv6_route_is_a_route_warning_for_ipv6() {
    let (port, _listeners) = listeners(true);
    let target = format!("noroute.test:{port}");
    let resolve = format!("noroute.test:{port}:[::1],127.0.0.1");
    // A link-local address without a scope: the kernel refuses the connect() at once,
    // as it does with no IPv6 route (and nothing is sent).
    let args = [
        "--route-probe-v6",
        "[fe80::1]:9",
        "--route-probe-v4",
        "127.0.0.1:9",
        "--resolve",
        &resolve,
        &target,
    ];
    let run = doctor(&args);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let json_run = doctor(&json_args);
    let json: Value = serde_json::from_str(&json_run.stdout).expect("JSON");
    let (severity, layer, family, message) = first_finding(&run.stdout, &json);
    assert_eq!(
        (severity.as_str(), layer.as_str(), family.as_str()),
        ("warning", "route", "ipv6")
    );
    assert!(
        message.starts_with(
            "No IPv6 route on this machine: connect() of a UDP socket towards [fe80::1]:9 fails"
        ),
        "{message}"
    );
    assert!(json["routes"][0]["source"].is_null());
    assert_eq!(json["routes"][1]["source"], "127.0.0.1");
}

#[test]
fn dns64_is_reported_with_its_prefix_and_no_alarm() {
    let lab = Lab::new().with_dns(dual_zone("nat64.test").aaaa(
        "ipv4only.arpa",
        Behaviour::answer(["64:ff9b::c000:aa".parse::<IpAddr>().expect("ip")]),
    ));
    let (port, _listeners) = listeners(true);
    let target = format!("nat64.test:{port}");
    let (text, json) = scene(&["--dns-servers", &lab.server(), &target], 0);
    let nat64 = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| {
            f["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("NAT64"))
        })
        .unwrap_or_else(|| panic!("a NAT64 finding: {json}"));
    assert_eq!(nat64["severity"], "info");
    assert_eq!(nat64["family"], "ipv6");
    assert!(
        nat64["message"]
            .as_str()
            .is_some_and(|m| m.contains("prefix 64:ff9b::/96")),
        "{nat64}"
    );
    assert!(text.contains("64:ff9b::c000:aa"), "{text}");
}

#[test]
fn the_probes_end_within_the_overall_timeout() {
    // Both families black-holed would need two black holes; one family stalling
    // everything the doctor does is enough: -6 on the black hole.
    let (port, _listeners) = listeners(false);
    let Some(_lab) = Lab::new().with_black_hole(port) else {
        return;
    };
    let target = format!("[::1]:{port}");
    let started = Instant::now();
    let run = doctor(&[
        "--route-probe-v6",
        "[::1]:9",
        "--connect-timeout",
        "1500ms",
        "--probe-timeout",
        "5s",
        "-6",
        &target,
    ]);
    let elapsed = started.elapsed();
    assert_eq!(run.code, Some(7), "{}\n{}", run.stdout, run.stderr);
    assert!(
        elapsed < Duration::from_millis(1500 + 1000),
        "took {elapsed:?} (the process's own start included)"
    );
    assert!(run.elapsed <= elapsed);
    assert!(
        run.stdout
            .contains("Unreachable: no address of ::1 connects (IPv6: times out"),
        "{}",
        run.stdout
    );
}

#[test]
fn bad_input_is_exit_2_with_one_line() {
    let cases: &[(&[&str], &str)] = &[
        (&[""], "TARGET: \"\" is not a target"),
        (&["dual.test:0"], "TARGET: \"dual.test:0\" is not a target"),
        (
            &["http:///path"],
            "TARGET: \"http:///path\" is not a target",
        ),
        (
            &["-4", "[::1]:80"],
            "-4: ::1 is an IPv6 address, and -4 allows IPv4 only",
        ),
        (&["-6", "127.0.0.1:80"], "-6: 127.0.0.1 is an IPv4 address"),
        (&["--probe-timeout", "0", "x.test:80"], "--probe-timeout:"),
        (
            &["--max-addresses", "0", "x.test:80"],
            "--max-addresses: 0 would probe no address",
        ),
        (
            &["--route-probe-v6", "127.0.0.1:9", "x.test:80"],
            "--route-probe-v6: 127.0.0.1:9 is not an IPv6 address",
        ),
        (
            &["--route-probe-v4", "nowhere", "x.test:80"],
            "--route-probe-v4: \"nowhere\" is not an address",
        ),
        (
            &["--http3", "x.test:80"],
            "--http3: HTTP/3 runs over QUIC, which is TLS",
        ),
    ];
    for (args, message) in cases {
        let run = doctor(args);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        let line = run.stderr.trim_end();
        assert_eq!(line.lines().count(), 1, "{args:?}: {line}");
        assert!(
            line.starts_with(&format!("turbohttp: error: {message}")),
            "{args:?}: {line}"
        );
    }
}

/// A CA made for one scene, its certificate in a PEM file of its own (removed on
/// drop): tests run in parallel, each with its own CA.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
    file: PathBuf,
}

impl Ca {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer =
            CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
        static SCENES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let scene = SCENES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("turbohttp-doctor-{}-{scene}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("ca.pem");
        std::fs::write(&file, issuer.pem()).expect("write");
        Self { issuer, file }
    }

    /// `--cacert`'s argument.
    fn path(&self) -> String {
        self.file.to_string_lossy().into_owned()
    }

    /// A server configuration with a certificate for `name` signed by this CA.
    fn server_config(&self, name: &str) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(vec![name.to_owned()])
            .expect("params")
            .signed_by(&key, &self.issuer)
            .expect("certificate");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("server config");
        Arc::new(config)
    }
}

impl Drop for Ca {
    fn drop(&mut self) {
        if let Some(dir) = self.file.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// TLS handshakes on `listener` with `config`, a thread per connection.
fn tls_server(listener: TcpListener, config: Arc<rustls::ServerConfig>) {
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let mut session = rustls::ServerConnection::new(config).expect("session");
                while session.is_handshaking() {
                    if session.complete_io(&mut stream).is_err() {
                        return;
                    }
                }
            });
        }
    });
}

/// A certificate for `tls.test` served on 127.0.0.1 and one for another name on [::1],
/// same port: valid on IPv4, invalid on IPv6.
struct TlsScene {
    port: u16,
    ca: Ca,
}

fn tls_scene() -> TlsScene {
    let ca = Ca::new();
    let (port, mut bound) = listeners(true);
    let v6 = bound.pop().expect("[::1]");
    let v4 = bound.pop().expect("127.0.0.1");
    tls_server(v4, ca.server_config("tls.test"));
    tls_server(v6, ca.server_config("someone-else.test"));
    TlsScene { port, ca }
}

/// An https origin for `name` on both families: TLS with a valid certificate on a
/// TCP port of [::1] and 127.0.0.1; UDP at that port is the scene's to fill.
struct HttpsOrigin {
    port: u16,
    ca: Ca,
    config: Arc<rustls::ServerConfig>,
}

fn https_origin(name: &str) -> HttpsOrigin {
    let ca = Ca::new();
    let config = ca.server_config(name);
    let (port, bound) = listeners(true);
    for listener in bound {
        tls_server(listener, Arc::clone(&config));
    }
    HttpsOrigin { port, ca, config }
}

/// UDP black holes on `port` of [::1] and 127.0.0.1: QUIC there gets no answer.
fn udp_black_holes(port: u16) -> [UdpBlackHole; 2] {
    [V6, V4].map(|ip| UdpBlackHole::bind(SocketAddr::new(ip, port)).expect("the UDP port is free"))
}

/// `name` on both families and its HTTPS record offering `ids` (the origin itself).
fn https_zone(name: &str, port: u16, ids: &[&str]) -> Zone {
    dual_zone(name).https(
        &format!("_{port}._https.{name}"),
        Behaviour::Https {
            records: vec![service(1, ".", vec![alpn(ids)])],
            delay: Duration::ZERO,
        },
    )
}

#[test]
fn a_certificate_invalid_on_ipv6_only_is_a_tls_warning_for_ipv6() {
    let tls = tls_scene();
    let target = format!("https://tls.test:{}/", tls.port);
    let resolve = format!("tls.test:{}:[::1],127.0.0.1", tls.port);
    let ca = tls.ca.path();
    let (text, json) = scene(&["--cacert", &ca, "--resolve", &resolve, &target], 1);
    let (severity, layer, family, message) = first_finding(&text, &json);
    assert_eq!(
        (severity.as_str(), layer.as_str(), family.as_str()),
        ("warning", "tls", "ipv6")
    );
    assert!(
        message.starts_with(
            "The certificate served over IPv6 fails verification while over IPv4 it verifies"
        ),
        "{message}"
    );
    assert!(message.contains("someone-else.test"), "{message}");
    assert_eq!(
        json["addresses"][0]["tls"]["outcome"],
        "certificate_rejected"
    );
    assert_eq!(json["addresses"][1]["tls"]["outcome"], "done");
    assert_eq!(json["addresses"][1]["tls"]["version"], "TLSv1_3");
    assert!(text.contains("QUIC: not probed"), "{text}");
}

#[test]
fn help_describes_the_layers_the_timeouts_and_the_exit_codes() {
    let run = doctor(&["--help"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    for expected in [
        "--probe-timeout",
        "--max-addresses",
        "--route-probe-v6",
        "default 10s",
        "layer (route, dns, connect, tls, quic, race)",
        "QUIC (TLS 1.3,",
        "--http3",
        "Exit: 0 healthy; 1 degraded",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected:?} missing:\n{}",
            run.stdout
        );
    }
}

#[test]
fn max_addresses_limits_each_family_and_the_unprobed_are_listed() {
    let lab = Lab::new().with_dns(Zone::new().aaaa("many.test", Behaviour::NoData).a(
        "many.test",
        Behaviour::answer(
            [[127, 0, 0, 1], [127, 0, 0, 2], [127, 0, 0, 3]].map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        ),
    ));
    let (port, _listeners) = listeners(false);
    let target = format!("many.test:{port}");
    let (text, json) = scene(
        &[
            "--dns-servers",
            &lab.server(),
            "--max-addresses",
            "2",
            &target,
        ],
        1,
    );
    assert_eq!(
        json["addresses"].as_array().map(Vec::len),
        Some(2),
        "{json}"
    );
    assert_eq!(json["skipped"][0], format!("127.0.0.3:{port}"));
    assert!(text.contains("not probed (past --max-addresses"), "{text}");
    // Only 127.0.0.1 listens: the second address probed is named, the third is not.
    let (severity, layer, family, message) = first_finding(&text, &json);
    assert_eq!(
        (severity.as_str(), layer.as_str(), family.as_str()),
        ("warning", "connect", "ipv4")
    );
    assert!(
        message.starts_with(&format!(
            "1 of 2 IPv4 addresses does not connect (127.0.0.2:{port} is refused)"
        )),
        "{message}"
    );
    assert!(!message.contains("127.0.0.3"), "{message}");
    // The NODATA is named as a fact, not an alarm.
    let messages = json["findings"].to_string();
    assert!(
        messages.contains("has no IPv6 address (the AAAA query answers NODATA)"),
        "{messages}"
    );
}

#[test]
fn no_time_left_to_probe_exits_28_and_says_so() {
    let lab = Lab::new().with_dns(
        Zone::new()
            .aaaa(
                "late.test",
                Behaviour::answer_after(Duration::from_secs(3), [V6]),
            )
            .a("late.test", Behaviour::answer([V4])),
    );
    let (port, _listeners) = listeners(true);
    let target = format!("late.test:{port}");
    let (text, json) = scene(
        &[
            "--dns-servers",
            &lab.server(),
            "--connect-timeout",
            "600ms",
            &target,
        ],
        28,
    );
    let (severity, layer, _, message) = first_finding(&text, &json);
    assert_eq!((severity.as_str(), layer.as_str()), ("error", "race"));
    assert!(message.starts_with("Out of time: "), "{message}");
    assert_eq!(json["dns"]["queries"][0]["outcome"], "timed_out");
    // The time it was given: what was left of the 600ms.
    let aaaa_ms = json["dns"]["queries"][0]["elapsed_ms"]
        .as_f64()
        .expect("ms");
    assert!((550.0..=600.0).contains(&aaaa_ms), "{aaaa_ms}");
}

#[test]
fn the_https_record_is_asked_and_its_h3_is_probed() {
    let tls = tls_scene();
    let record = service(1, ".", vec![alpn(&["h3", "h2"])]);
    let lab = Lab::new().with_dns(dual_zone("tls.test").https(
        &format!("_{}._https.tls.test", tls.port),
        Behaviour::Https {
            records: vec![record],
            delay: Duration::ZERO,
        },
    ));
    let target = format!("https://tls.test:{}/", tls.port);
    let ca = tls.ca.path();
    let (text, json) = scene(
        &[
            "--cacert",
            &ca,
            "--dns-servers",
            &lab.server(),
            "--probe-timeout",
            "500ms",
            &target,
        ],
        1,
    );
    // The [::1] certificate is still the first thing wrong.
    let (_, layer, family, _) = first_finding(&text, &json);
    assert_eq!((layer.as_str(), family.as_str()), ("tls", "ipv6"));
    let https = json["dns"]["queries"]
        .as_array()
        .expect("queries")
        .iter()
        .find(|q| q["query"] == "HTTPS")
        .unwrap_or_else(|| panic!("an HTTPS query: {json}"))
        .clone();
    assert_eq!(https["name"], format!("_{}._https.tls.test", tls.port));
    assert_eq!(https["outcome"], "answered");
    assert_eq!(https["records"][0]["alpn"][0], "h3");
    assert!(text.contains("alpn h3,h2"), "{text}");
    // h3 offered: QUIC probed on both addresses at the origin's port (nothing serves
    // it here; how each ends is the next scenes' business).
    assert_eq!(json["quic"]["probed"], true, "{json}");
    assert_eq!(json["quic"]["advertised"], true);
    assert_eq!(json["quic"]["port"], tls.port);
    assert_eq!(json["quic"]["addresses"].as_array().map(Vec::len), Some(2));
    assert!(
        text.contains("\nQUIC, each address on its own (UDP port "),
        "{text}"
    );
}

#[test]
fn h3_advertised_with_udp_blocked_is_a_quic_warning() {
    let origin = https_origin("blocked.test");
    let holes = udp_black_holes(origin.port);
    let lab = Lab::new().with_dns(https_zone("blocked.test", origin.port, &["h3", "h2"]));
    let target = format!("https://blocked.test:{}/", origin.port);
    let (text, json) = scene(
        &[
            "--cacert",
            &origin.ca.path(),
            "--dns-servers",
            &lab.server(),
            "--probe-timeout",
            "500ms",
            &target,
        ],
        1,
    );
    let message = expect_first(
        &text,
        &json,
        ("warning", "quic", ""),
        &format!(
            "UDP to port {} looks blocked: the QUIC handshake gets no answer within 500ms \
             from any address while TCP and TLS work. The origin advertises h3: HTTP/3 will \
             cost one attempt delay (125ms) on each first connect",
            origin.port
        ),
    );
    assert!(
        message.ends_with("then be skipped for 5 minutes."),
        "{message}"
    );
    assert_eq!(json["verdict"], "degraded");
    let quic = &json["quic"];
    assert_eq!(quic["probed"], true);
    assert_eq!(quic["advertised"], true);
    assert_eq!(quic["port"], origin.port);
    for (i, address) in [
        format!("[::1]:{}", origin.port),
        format!("127.0.0.1:{}", origin.port),
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(quic["addresses"][i]["address"], *address, "{quic}");
        assert_eq!(quic["addresses"][i]["outcome"], "timed_out", "{quic}");
    }
    // TCP and TLS did work: the evidence says so beside it.
    assert_eq!(json["addresses"][0]["tls"]["outcome"], "done");
    assert_eq!(json["addresses"][1]["tls"]["outcome"], "done");
    assert!(holes.iter().all(UdpBlackHole::was_sent_to));
    assert!(text.contains("timed out after 500ms (no answer)"), "{text}");
    assert!(
        text.contains("the race a user gets (as `get` runs it: QUIC where h3 is advertised;"),
        "{text}"
    );
}

#[test]
fn h3_healthy_is_a_quic_note_and_the_verdict_healthy() {
    let origin = https_origin("h3.test");
    let lab = Lab::new()
        .with_dns(https_zone("h3.test", origin.port, &["h3", "h2"]))
        .with_h3(origin.port, &origin.config);
    let target = format!("https://h3.test:{}/", origin.port);
    // The race waits 2s before TCP and before IPv4, so that a QUIC handshake slowed by
    // a loaded machine still wins it in both runs, and the two runs read alike; each
    // probe gets 5s for the same reason.
    let (text, json) = scene(
        &[
            "--cacert",
            &origin.ca.path(),
            "--dns-servers",
            &lab.server(),
            "--probe-timeout",
            "5s",
            "--stagger",
            "2s",
            "--spacing",
            "2s",
            &target,
        ],
        0,
    );
    expect_first(
        &text,
        &json,
        ("info", "race", ""),
        "Healthy: IPv6 and IPv4 both connect; IPv6 wins ",
    );
    assert_eq!(json["verdict"], "healthy");
    let quic = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["layer"] == "quic")
        .unwrap_or_else(|| panic!("a QUIC finding: {json}"))
        .clone();
    assert_eq!(quic["severity"], "info");
    assert!(
        quic["message"]
            .as_str()
            .is_some_and(|m| m.starts_with(&format!(
                "QUIC works on UDP port {}: the handshake (TLS 1.3, ALPN h3) completes in ",
                origin.port
            ))),
        "{quic}"
    );
    for address in json["quic"]["addresses"].as_array().expect("addresses") {
        assert_eq!(address["outcome"], "done", "{address}");
        assert_eq!(address["alpn"], "h3", "{address}");
    }
    assert!(text.contains("(https: TCP, TLS and QUIC)"), "{text}");
    assert!(text.contains("QUIC handshake done in "), "{text}");
}

#[test]
fn no_h3_advertised_and_no_http3_sends_nothing_over_udp() {
    let origin = https_origin("tcponly.test");
    let holes = udp_black_holes(origin.port);
    let lab = Lab::new().with_dns(https_zone("tcponly.test", origin.port, &["h2"]));
    let target = format!("https://tcponly.test:{}/", origin.port);
    let (text, json) = scene(
        &[
            "--cacert",
            &origin.ca.path(),
            "--dns-servers",
            &lab.server(),
            &target,
        ],
        0,
    );
    assert_eq!(json["verdict"], "healthy");
    assert!(
        text.contains(
            "\nQUIC: not probed (the origin advertises no h3; pass --http3 to probe it anyway)\n"
        ),
        "{text}"
    );
    assert_eq!(
        json["quic"],
        serde_json::json!({"probed": false, "reason": "not_advertised", "error": null})
    );
    assert!(
        json["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .all(|f| f["layer"] != "quic"),
        "{json}"
    );
    // Neither the probes nor the race sent anything to UDP.
    assert!(!holes.iter().any(UdpBlackHole::was_sent_to));
}

#[test]
fn http3_with_udp_blocked_probes_the_origins_port_and_notes_it() {
    let origin = https_origin("asked.test");
    let holes = udp_black_holes(origin.port);
    let target = format!("https://asked.test:{}/", origin.port);
    let resolve = format!("asked.test:{}:[::1],127.0.0.1", origin.port);
    let (text, json) = scene(
        &[
            "--http3",
            "--cacert",
            &origin.ca.path(),
            "--resolve",
            &resolve,
            "--probe-timeout",
            "500ms",
            // IPv4 waits 2s: IPv6's TCP, one attempt delay after its QUIC, wins in both
            // runs however loaded the machine.
            "--stagger",
            "2s",
            &target,
        ],
        0,
    );
    // No record offers h3: a note, and the host is healthy.
    expect_first(
        &text,
        &json,
        ("info", "race", ""),
        "Healthy: IPv6 and IPv4 both connect; IPv6 wins in ",
    );
    let quic = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["layer"] == "quic")
        .unwrap_or_else(|| panic!("a QUIC finding: {json}"))
        .clone();
    assert_eq!(quic["severity"], "info");
    assert!(
        quic["message"]
            .as_str()
            .is_some_and(|m| m.starts_with(&format!(
                "QUIC gets no answer on UDP port {}: the handshake gets no answer within 500ms \
             from any address while TCP and TLS work (UDP blocked, or no QUIC server there)",
                origin.port
            ))),
        "{quic}"
    );
    assert_eq!(json["quic"]["probed"], true);
    assert_eq!(json["quic"]["advertised"], false);
    assert_eq!(json["quic"]["port"], origin.port);
    assert_eq!(json["quic"]["addresses"][0]["outcome"], "timed_out");
    assert_eq!(json["quic"]["addresses"][1]["outcome"], "timed_out");
    assert!(holes.iter().all(UdpBlackHole::was_sent_to));
    // The race is `get --http3`'s: QUIC at the origin first, TCP one attempt delay later.
    assert!(
        text.contains("the race a user gets (as `get --http3` runs it: QUIC at the origin too;"),
        "{text}"
    );
    assert_eq!(json["race"]["attempts"][0]["transport"], "quic", "{json}");
    assert_eq!(json["race"]["winner"]["family"], "ipv6");
}
