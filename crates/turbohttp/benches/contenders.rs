//! turbohttp side by side with the raw tokio floor, hyper-util, curl and Python asyncio,
//! on loopback only (127.0.0.0/8 and ::1), interleaved, printing one table.
//!
//! ```text
//! cargo bench -p turbohttp --bench contenders
//! ```
//!
//! Every contender gets the same address list on every scenario, through its own
//! resolver hook: turbohttp a `StaticResolver`, hyper-util a custom resolver service,
//! curl `--resolve`, asyncio a replaced `loop.getaddrinfo`, the `turbohttp` command
//! `--resolve`. Each round runs every contender once (a batch of samples), in an order
//! rotated by one every round, so that drift on the machine hits all of them alike.
//!
//! Scenarios: (1) one healthy `127.0.0.1` listener; (2) `[::1]:P` stalled (listen
//! backlog 0, its one queue slot taken) listed first, `127.0.0.1:P` healthy; (3)
//! `[::1]:P` refused, `127.0.0.1:P` healthy; (4) 1,000 refusing addresses from
//! `127.0.0.2` upwards, then `127.0.0.1:P` healthy; (5) the planner alone (the
//! criterion bench `planner` measures it more finely).
//!
//! Environment:
//! * `TURBOHTTP_BENCH_SMOKE=1`: a few samples per contender (CI keeps this compiling and
//!   running); no number it prints means anything.
//! * `TURBOHTTP_BENCH_ITERS=N`: rounds per scenario (default 40; smoke 2).
//! * `TURBOHTTP_BENCH_STAGGER_MS=N`: the stagger delay given to every racer (default 250).
//! * `TURBOHTTP_BENCH_CLI=PATH`: the `turbohttp` binary to use (default: built here with
//!   `cargo build --release -p turbohttp-cli`); `skip` leaves the command out.
//! * `TURBOHTTP_BENCH_SCENARIOS=1,3`: run only these scenarios.
//! * `TURBOHTTP_BENCH_PROFILE=WHO,s1|s4,N`: no table; `N` connects by one in-process
//!   contender (`floor`, `turbo`, `bare`, `hyper`), for `valgrind`, `strace` or `perf`.
//!
//! BENCHMARKS.md (at the workspace root) has a full run and how to read it.
//!
//! A contender that cannot run (curl or python3 missing, no `::1`) is skipped with the
//! reason printed under the table.

#[path = "support/common.rs"]
mod common;
use common::{drain, ms, number, percentile, probe_python, rotation, us};
use std::collections::HashMap;
use std::env;
use std::fmt::Write as _;
use std::future::{Ready, ready};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};
use turbohttp::ConnectParams;

use hyper::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tower_service::Service;
use turbohttp::transport::connection::happy_eyeballs::plan::Plan;
use turbohttp::transport::connection::{
    AttemptError, Dialer, NoResolver, RaceReport, StaticResolver,
};
use turbohttp::{HappyEyeballs, HappyEyeballsOptions};

/// The name every contender resolves, through its own hook, to the scenario's list.
const HOST: &str = "bench.test";
/// The bound on one connect, for every contender.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The asyncio contender.
const ASYNCIO: &str = include_str!("contenders_asyncio.py");
/// The env variable that turns this binary into a one-shot scenario 4 worker.
const WORKER_ENV: &str = "TURBOHTTP_BENCH_WORKER";

// ---------------------------------------------------------------------------------
// Contenders and settings

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Floor,
    Turbo,
    /// turbohttp's race with a dialer that is a bare `TcpStream::connect`, like the
    /// floor's: the cost of the race alone, without the default socket options.
    TurboBare,
    Hyper,
    Curl,
    Asyncio,
    Cli,
}

impl Who {
    const ALL: [Who; 7] = [
        Who::Floor,
        Who::Turbo,
        Who::TurboBare,
        Who::Hyper,
        Who::Curl,
        Who::Asyncio,
        Who::Cli,
    ];

    fn name(self) -> &'static str {
        match self {
            Who::Floor => "tokio floor",
            Who::Turbo => "turbohttp",
            Who::TurboBare => "turbohttp bare dial",
            Who::Hyper => "hyper-util",
            Who::Curl => "curl",
            Who::Asyncio => "asyncio",
            Who::Cli => "turbohttp cmd",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Who::Floor => "floor",
            Who::Turbo => "turbo",
            Who::TurboBare => "bare",
            Who::Hyper => "hyper",
            Who::Curl => "curl",
            Who::Asyncio => "asyncio",
            Who::Cli => "cli",
        }
    }

    fn from_tag(tag: &str) -> Option<Who> {
        Who::ALL.into_iter().find(|w| w.tag() == tag)
    }

    fn in_process(self) -> bool {
        matches!(self, Who::Floor | Who::Turbo | Who::TurboBare | Who::Hyper)
    }
}

#[derive(Debug, Clone)]
struct Settings {
    smoke: bool,
    /// Rounds per scenario.
    rounds: usize,
    /// Connects per contender per round in scenario 1 (latency) and 3.
    batch: usize,
    /// Connects per throughput measurement.
    tp_n: usize,
    stagger: Duration,
    /// Refusing addresses in scenario 4.
    bad: usize,
    /// `TURBOHTTP_BENCH_SCENARIOS=1,3`: run only these scenarios (default all).
    scenarios: Vec<u8>,
}

impl Settings {
    fn from_env() -> Self {
        let smoke = env::var("TURBOHTTP_BENCH_SMOKE").is_ok_and(|v| !v.is_empty() && v != "0");
        let number = |name: &str| {
            env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
        };
        let rounds = number("TURBOHTTP_BENCH_ITERS").unwrap_or(if smoke { 2 } else { 40 });
        let stagger_ms = number("TURBOHTTP_BENCH_STAGGER_MS").unwrap_or(250);
        Self {
            smoke,
            rounds: rounds.max(1),
            batch: if smoke { 3 } else { 25 },
            tp_n: if smoke { 64 } else { 512 },
            stagger: Duration::from_millis(u64::try_from(stagger_ms).unwrap_or(250).max(10)),
            bad: 1000,
            scenarios: env::var("TURBOHTTP_BENCH_SCENARIOS")
                .ok()
                .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
                .filter(|v: &Vec<u8>| !v.is_empty())
                .unwrap_or_else(|| vec![1, 2, 3, 4, 5]),
        }
    }
}

// ---------------------------------------------------------------------------------
// Loopback servers

fn listener(addr: SocketAddr, backlog: i32) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket)
}

/// The healthy listeners (served on their own thread and runtime) and the stalled one.
struct Servers {
    /// Scenario 1 and 4: `127.0.0.1:p1`.
    p1: u16,
    /// Scenario 2: `[::1]:p2` stalled and `127.0.0.1:p2` healthy.
    p2: Result<u16, String>,
    /// Scenario 3: `[::1]:p3` refused and `127.0.0.1:p3` healthy.
    p3: Result<u16, String>,
    _stalled: Option<(Socket, Vec<std::net::TcpStream>)>,
}

fn localhost(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
}

fn v6_localhost(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port)
}

fn start_servers() -> io::Result<Servers> {
    let healthy1 = listener(localhost(0), 1024)?;
    let p1 = port_of(&healthy1)?;
    let mut healthy = vec![healthy1];

    // Scenario 2: the same port on both families, so that curl's --resolve works.
    let mut stalled = None;
    let p2 = (|| -> Result<u16, String> {
        for _ in 0..20 {
            let v4 = listener(localhost(0), 1024).map_err(|e| e.to_string())?;
            let port = port_of(&v4).map_err(|e| e.to_string())?;
            let Ok(v6) = listener(v6_localhost(port), 0) else {
                continue;
            };
            // Fill the accept queue, then check that one more connect hangs.
            let mut fillers = Vec::new();
            for _ in 0..4 {
                match std::net::TcpStream::connect_timeout(
                    &v6_localhost(port),
                    Duration::from_millis(300),
                ) {
                    Ok(s) => fillers.push(s),
                    Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                        healthy.push(v4);
                        stalled = Some((v6, fillers));
                        return Ok(port);
                    }
                    Err(e) => return Err(format!("[::1] is not usable here: {e}")),
                }
            }
            return Err("a full listen backlog on [::1] does not stall connects here".into());
        }
        Err("found no port free on both 127.0.0.1 and [::1]".into())
    })();

    // Scenario 3: a port with nothing on [::1].
    let p3 = (|| -> Result<u16, String> {
        for _ in 0..20 {
            let v4 = listener(localhost(0), 1024).map_err(|e| e.to_string())?;
            let port = port_of(&v4).map_err(|e| e.to_string())?;
            match std::net::TcpStream::connect_timeout(&v6_localhost(port), Duration::from_secs(1))
            {
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    healthy.push(v4);
                    return Ok(port);
                }
                Err(e) => return Err(format!("[::1] does not refuse as expected: {e}")),
                Ok(_) => continue,
            }
        }
        Err("found no port refused on [::1]".into())
    })();

    let listeners: Vec<std::net::TcpListener> = healthy.into_iter().map(Into::into).collect();
    thread::Builder::new()
        .name("bench-servers".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(async move {
                for l in listeners {
                    l.set_nonblocking(true).expect("nonblocking listener");
                    let l = tokio::net::TcpListener::from_std(l).expect("tokio listener");
                    tokio::spawn(async move {
                        loop {
                            if let Ok((s, _)) = l.accept().await {
                                tokio::spawn(drain(s));
                            }
                        }
                    });
                }
                std::future::pending::<()>().await;
            });
        })?;
    Ok(Servers {
        p1,
        p2,
        p3,
        _stalled: stalled,
    })
}

fn port_of(socket: &Socket) -> io::Result<u16> {
    socket
        .local_addr()?
        .as_socket()
        .map(|a| a.port())
        .ok_or_else(|| io::Error::other("not an inet socket"))
}

// ---------------------------------------------------------------------------------
// Address lists

/// One scenario's address list (the same for every contender) and its healthy address.
#[derive(Debug, Clone)]
struct Target {
    port: u16,
    addrs: Vec<SocketAddr>,
}

impl Target {
    fn healthy(&self) -> SocketAddr {
        localhost(self.port)
    }

    /// `PORT;ADDR,ADDR` (IPv6 without brackets): the asyncio script's and the worker's.
    fn spec(&self) -> String {
        let ips: Vec<String> = self.addrs.iter().map(|a| a.ip().to_string()).collect();
        format!("{};{}", self.port, ips.join(","))
    }

    /// `bench.test:PORT:ADDR,[ADDR]`: curl's and the command's `--resolve`.
    fn resolve_arg(&self) -> String {
        let ips: Vec<String> = self
            .addrs
            .iter()
            .map(|a| match a.ip() {
                IpAddr::V4(ip) => ip.to_string(),
                IpAddr::V6(ip) => format!("[{ip}]"),
            })
            .collect();
        format!("{HOST}:{}:{}", self.port, ips.join(","))
    }

    fn parse_spec(spec: &str) -> Option<Target> {
        let (port, ips) = spec.split_once(';')?;
        let port: u16 = port.parse().ok()?;
        let addrs = ips
            .split(',')
            .map(|ip| ip.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, port)))
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        Some(Target { port, addrs })
    }
}

/// `n` distinct refusing addresses from 127.0.0.2 upwards (skipping x.x.x.0 and
/// x.x.x.255, which some tools treat specially).
fn refusing(n: usize) -> Vec<Ipv4Addr> {
    let mut out = Vec::with_capacity(n);
    let mut next = u32::from(Ipv4Addr::new(127, 0, 0, 2));
    while out.len() < n {
        let ip = Ipv4Addr::from(next);
        next += 1;
        let last = ip.octets()[3];
        if last != 0 && last != 255 {
            out.push(ip);
        }
    }
    out
}

// ---------------------------------------------------------------------------------
// In-process contenders

/// hyper-util's resolver hook: a tower service from a name to the scenario's list.
#[derive(Clone)]
struct ListResolver(Arc<[SocketAddr]>);

impl Service<Name> for ListResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = io::Error;
    type Future = Ready<Result<Self::Response, io::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Name) -> Self::Future {
        ready(Ok(Vec::from(&self.0[..]).into_iter()))
    }
}

/// A dialer that only does what the floor does: `TcpStream::connect`, no socket options.
#[derive(Debug, Clone, Copy)]
struct BareDialer;

impl Dialer for BareDialer {
    type Stream = TcpStream;

    async fn dial(&self, addr: SocketAddr) -> Result<TcpStream, AttemptError> {
        TcpStream::connect(addr)
            .await
            .map_err(AttemptError::connect)
    }
}

/// The in-process contenders, set up for one target.
#[derive(Clone)]
struct Clients {
    target: Target,
    turbo: HappyEyeballs<StaticResolver<NoResolver>>,
    bare: HappyEyeballs<StaticResolver<NoResolver>, BareDialer>,
    hyper: HttpConnector<ListResolver>,
    uri: Uri,
    cancel: CancellationToken,
}

impl Clients {
    fn new(target: &Target, stagger: Duration) -> Clients {
        let options = HappyEyeballsOptions::default().with_family_stagger_delay(stagger);
        let turbo = HappyEyeballs::default()
            .with_options(options)
            .with_resolver(StaticResolver::with_fallback(NoResolver).with_override(
                HOST,
                target.port,
                target.addrs.iter().copied(),
            ));
        let mut hyper = HttpConnector::new_with_resolver(ListResolver(target.addrs.clone().into()));
        hyper.set_happy_eyeballs_timeout(Some(stagger));
        hyper.set_connect_timeout(Some(TIMEOUT));
        let uri = format!("http://{HOST}:{}/", target.port)
            .parse()
            .expect("a valid uri");
        Clients {
            target: target.clone(),
            bare: turbo.clone().with_dialer(BareDialer),
            turbo,
            hyper,
            uri,
            cancel: CancellationToken::new(),
        }
    }

    /// One connect; the connection is returned so that the caller decides when it closes.
    /// For turbohttp, the race report comes along.
    async fn connect(&self, who: Who) -> io::Result<(TcpStream, Option<RaceReport>)> {
        match who {
            Who::Floor => Ok((TcpStream::connect(self.target.healthy()).await?, None)),
            Who::Turbo => {
                let won = self
                    .turbo
                    .connect_with(
                        HOST,
                        self.target.port,
                        ConnectParams::default()
                            .with_timeout(TIMEOUT)
                            .with_cancel(self.cancel.clone()),
                    )
                    .await
                    .map_err(io::Error::other)?;
                Ok((won.stream, Some(won.report)))
            }
            Who::TurboBare => {
                let won = self
                    .bare
                    .connect_with(
                        HOST,
                        self.target.port,
                        ConnectParams::default()
                            .with_timeout(TIMEOUT)
                            .with_cancel(self.cancel.clone()),
                    )
                    .await
                    .map_err(io::Error::other)?;
                Ok((won.stream, Some(won.report)))
            }
            Who::Hyper => {
                let mut connector = self.hyper.clone();
                let io = connector
                    .call(self.uri.clone())
                    .await
                    .map_err(io::Error::other)?;
                Ok((io.into_inner(), None))
            }
            _ => Err(io::Error::other("not an in-process contender")),
        }
    }

    async fn timed(&self, who: Who) -> io::Result<Duration> {
        let start = Instant::now();
        let connected = self.connect(who).await?;
        let took = start.elapsed();
        drop(connected);
        Ok(took)
    }

    /// `n` connects, `conc` at a time, on this (single-threaded) runtime: the wall time.
    async fn throughput(self: &Arc<Self>, who: Who, conc: usize, n: usize) -> io::Result<Duration> {
        let start = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for worker in 0..conc {
            let me = Arc::clone(self);
            let count = n / conc + usize::from(worker < n % conc);
            set.spawn(async move {
                for _ in 0..count {
                    me.connect(who).await?;
                }
                io::Result::Ok(())
            });
        }
        while let Some(done) = set.join_next().await {
            done.map_err(io::Error::other)??;
        }
        Ok(start.elapsed())
    }
}

/// Attempts in flight at once, from the race report's start/end offsets.
fn max_in_flight(report: &RaceReport) -> usize {
    let mut edges: Vec<(Duration, i32)> = Vec::new();
    for a in &report.attempts {
        edges.push((a.started, 1));
        edges.push((a.ended.unwrap_or(report.elapsed), -1));
    }
    // Ends before starts at the same instant: a slot freed and reused is not two at once.
    edges.sort();
    let (mut now, mut max) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        max = max.max(now);
    }
    usize::try_from(max).unwrap_or(0)
}

// ---------------------------------------------------------------------------------
// Process contenders

struct External {
    curl: Result<(), String>,
    python: Result<(), String>,
    cli: Result<PathBuf, String>,
}

fn probe_curl() -> Result<(), String> {
    let out = Command::new("curl")
        .arg("--version")
        .output()
        .map_err(|e| format!("curl not found: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().nth(1).unwrap_or("");
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    // --happy-eyeballs-timeout-ms and several addresses per --resolve entry: 7.59.
    if (major, minor) < (7, 59) {
        return Err(format!(
            "curl {version} is older than 7.59 (needs --happy-eyeballs-timeout-ms)"
        ));
    }
    Ok(())
}

/// The `turbohttp` command: `TURBOHTTP_BENCH_CLI`, or built in release mode next to
/// this benchmark.
fn find_cli() -> Result<PathBuf, String> {
    if let Ok(path) = env::var("TURBOHTTP_BENCH_CLI") {
        if path == "skip" {
            return Err("TURBOHTTP_BENCH_CLI=skip".into());
        }
        return check_cli(PathBuf::from(path));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if !root.join("crates/turbohttp-cli/Cargo.toml").exists() {
        return Err("crates/turbohttp-cli is not in this workspace".into());
    }
    let cargo =
        env::var("CARGO").unwrap_or_else(|_| option_env!("CARGO").unwrap_or("cargo").into());
    eprintln!("building the turbohttp command (cargo build --release -p turbohttp-cli)...");
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "--quiet",
            "-p",
            "turbohttp-cli",
            "--bin",
            "turbohttp",
        ])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build -p turbohttp-cli failed ({status})"));
    }
    let dir = match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("release"),
        None => root.join("target/release"),
    };
    check_cli(dir.join("turbohttp"))
}

fn check_cli(path: PathBuf) -> Result<PathBuf, String> {
    let out = Command::new(&path)
        .args(["connect", "--help"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--resolve", "--stagger", "--json"] {
        if !help.contains(flag) {
            return Err(format!("{} connect has no {flag}", path.display()));
        }
    }
    Ok(path)
}

fn curl_base(target: &Target, stagger: Duration) -> Command {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-H", "Connection: close", "--max-time", "10"])
        .arg("--happy-eyeballs-timeout-ms")
        .arg(stagger.as_millis().to_string())
        .arg("--resolve")
        .arg(target.resolve_arg());
    cmd
}

fn cli_cmd(path: &Path, target: &Target, stagger: Duration) -> Command {
    let mut cmd = Command::new(path);
    cmd.arg("connect")
        .arg(format!("{HOST}:{}", target.port))
        .arg("--resolve")
        .arg(target.resolve_arg())
        .arg("--stagger")
        .arg(format!("{}ms", stagger.as_millis()))
        .args(["--connect-timeout", "10", "--json"]);
    cmd
}

/// One connect by a fresh process: (the tool's own connect time, spawn-to-exit wall).
fn process_once(
    who: Who,
    ext: &External,
    target: &Target,
    stagger: Duration,
) -> io::Result<(Duration, Duration)> {
    let mut cmd = match who {
        Who::Curl => {
            let mut cmd = curl_base(target, stagger);
            cmd.args(["-o", "/dev/null", "-w", "%{time_connect}"])
                .arg(format!("http://{HOST}:{}/", target.port));
            cmd
        }
        Who::Cli => cli_cmd(
            ext.cli.as_ref().map_err(|e| io::Error::other(e.clone()))?,
            target,
            stagger,
        ),
        _ => return Err(io::Error::other("not a process contender")),
    };
    let start = Instant::now();
    let out = cmd.stdin(Stdio::null()).output()?;
    let wall = start.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{} exited with {}: {}{}",
            who.name(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            text.trim()
        )));
    }
    let connect = match who {
        Who::Curl => secs(text.trim())?,
        _ => json_ms(&text, "elapsed_ms")?,
    };
    Ok((connect, wall))
}

fn secs(text: &str) -> io::Result<Duration> {
    let s: f64 = text
        .parse()
        .map_err(|_| io::Error::other(format!("not a number of seconds: {text:?}")))?;
    Ok(Duration::from_secs_f64(s))
}

/// The number after `"key":` in the command's JSON.
fn json_ms(text: &str, key: &str) -> io::Result<Duration> {
    let pattern = format!("\"{key}\":");
    let at = text
        .find(&pattern)
        .ok_or_else(|| io::Error::other(format!("no {key} in {text:?}")))?;
    let rest = text[at + pattern.len()..].trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-' || c == '+'))
        .unwrap_or(rest.len());
    let ms: f64 = rest[..end]
        .parse()
        .map_err(|_| io::Error::other(format!("bad {key} in {text:?}")))?;
    Ok(Duration::from_secs_f64(ms / 1000.0))
}

/// curl doing `n` transfers in one process, `conc` at a time, each on a connection of
/// its own (the server closes after answering): the wall time, start-up included.
fn curl_throughput(
    target: &Target,
    stagger: Duration,
    conc: usize,
    n: usize,
) -> io::Result<Duration> {
    let mut cmd = curl_base(target, stagger);
    cmd.args(["-w", "%{num_connects}\n"])
        .arg(format!("http://{HOST}:{}/[1-{n}]", target.port));
    if conc > 1 {
        cmd.args(["--parallel", "--parallel-max"])
            .arg(conc.to_string());
    }
    let start = Instant::now();
    let out = cmd.stdin(Stdio::null()).output()?;
    let wall = start.elapsed();
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "curl exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let connects: usize = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse::<usize>().ok())
        .sum();
    if connects != n {
        return Err(io::Error::other(format!(
            "curl made {connects} connections for {n} transfers"
        )));
    }
    Ok(wall)
}

/// The asyncio contender, one long-lived interpreter answering commands.
struct Python {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Python {
    fn start() -> io::Result<Python> {
        let mut child = Command::new("python3")
            .args(["-c", ASYNCIO, "serve"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Ok(Python {
            child,
            stdin,
            stdout,
        })
    }

    fn ask(&mut self, line: &str) -> io::Result<Vec<u64>> {
        writeln!(self.stdin, "{line}")?;
        self.stdin.flush()?;
        let mut reply = String::new();
        self.stdout.read_line(&mut reply)?;
        parse_ok(&reply)
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_ok(reply: &str) -> io::Result<Vec<u64>> {
    let mut words = reply.split_whitespace();
    match words.next() {
        Some("ok") => words
            .map(|w| {
                w.parse::<u64>()
                    .map_err(|_| io::Error::other(format!("bad reply {reply:?}")))
            })
            .collect(),
        _ => Err(io::Error::other(format!("asyncio: {}", reply.trim()))),
    }
}

fn seconds_arg(d: Duration) -> String {
    format!("{}", d.as_secs_f64())
}

// ---------------------------------------------------------------------------------
// Scenario 4: one fresh process per connect, sampled from outside

#[derive(Debug, Clone, Copy)]
struct S4Sample {
    took: Duration,
    /// The most socket fds the process had open at once (sampled).
    peak_sockets: usize,
    /// VmHWM, KiB (sampled until the connect was done).
    hwm_kib: u64,
    /// turbohttp only: attempts in flight at once, from the race report.
    in_flight: Option<usize>,
}

/// Samples a process's socket fds and VmHWM as fast as it can until told to stop.
struct Sampler {
    stop: Arc<AtomicBool>,
    handle: thread::JoinHandle<(usize, u64)>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = thread::spawn(move || {
            let fd_dir = PathBuf::from(format!("/proc/{pid}/fd"));
            let status = PathBuf::from(format!("/proc/{pid}/status"));
            let (mut peak, mut hwm) = (0usize, 0u64);
            while !flag.load(Ordering::Relaxed) {
                let Ok(dir) = std::fs::read_dir(&fd_dir) else {
                    break;
                };
                let sockets = dir
                    .filter_map(Result::ok)
                    .filter(|e| {
                        std::fs::read_link(e.path())
                            .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
                    })
                    .count();
                peak = peak.max(sockets);
                if let Ok(text) = std::fs::read_to_string(&status)
                    && let Some(kib) = text
                        .lines()
                        .find_map(|l| l.strip_prefix("VmHWM:"))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                {
                    hwm = hwm.max(kib);
                }
            }
            (peak, hwm)
        });
        Sampler { stop, handle }
    }

    fn finish(self) -> (usize, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or((0, 0))
    }
}

fn wait_with_deadline(child: &mut Child, limit: Duration) -> io::Result<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            child.kill()?;
            return child.wait();
        }
        thread::sleep(Duration::from_micros(200));
    }
}

/// One scenario 4 connect by `who` in a fresh process, to `target` (warm-up: `warm`).
fn s4_once(
    who: Who,
    ext: &External,
    target: &Target,
    warm: &Target,
    stagger: Duration,
) -> io::Result<S4Sample> {
    let (mut cmd, speaks) = match who {
        Who::Floor | Who::Turbo | Who::TurboBare | Who::Hyper => {
            let mut cmd = Command::new(env::current_exe()?);
            cmd.env(
                WORKER_ENV,
                format!(
                    "{}|{}|{}|{}",
                    who.tag(),
                    stagger.as_millis(),
                    target.spec(),
                    warm.spec()
                ),
            );
            (cmd, true)
        }
        Who::Asyncio => {
            let mut cmd = Command::new("python3");
            cmd.args(["-c", ASYNCIO, "once"])
                .arg(seconds_arg(stagger))
                .arg(target.spec())
                .arg(warm.spec());
            (cmd, true)
        }
        Who::Curl => {
            let mut cmd = curl_base(target, stagger);
            cmd.args(["-o", "/dev/null", "-w", "%{time_connect}"])
                .arg(format!("http://{HOST}:{}/", target.port));
            (cmd, false)
        }
        Who::Cli => (
            cli_cmd(
                ext.cli.as_ref().map_err(|e| io::Error::other(e.clone()))?,
                target,
                stagger,
            ),
            false,
        ),
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let sampler = Sampler::start(child.id());
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut text = String::new();
    let (peak_sockets, hwm_kib, status);
    if speaks {
        // The worker prints its result and keeps its connection until stdin closes.
        let mut line = String::new();
        BufReader::new(&mut stdout).read_line(&mut line)?;
        thread::sleep(Duration::from_millis(2));
        (peak_sockets, hwm_kib) = sampler.finish();
        drop(child.stdin.take());
        status = wait_with_deadline(&mut child, Duration::from_secs(20))?;
        text = line;
    } else {
        drop(child.stdin.take());
        stdout.read_to_string(&mut text)?;
        status = wait_with_deadline(&mut child, Duration::from_secs(20))?;
        (peak_sockets, hwm_kib) = sampler.finish();
    }
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        return Err(io::Error::other(format!(
            "{} exited with {status}: {}{}",
            who.name(),
            err.trim(),
            text.trim()
        )));
    }
    let (took, in_flight) = match who {
        Who::Curl => (secs(text.trim())?, None),
        Who::Cli => (json_ms(&text, "elapsed_ms")?, None),
        _ => {
            let values = parse_ok(&text)?;
            let ns = *values
                .first()
                .ok_or_else(|| io::Error::other("empty reply"))?;
            let in_flight = matches!(who, Who::Turbo | Who::TurboBare)
                .then(|| values.get(1).copied())
                .flatten();
            (
                Duration::from_nanos(ns),
                in_flight.map(|v| usize::try_from(v).unwrap_or(0)),
            )
        }
    };
    Ok(S4Sample {
        took,
        peak_sockets,
        hwm_kib,
        in_flight,
    })
}

/// The worker side of [`s4_once`] for the in-process contenders.
fn worker(spec: &str) -> io::Result<()> {
    let mut parts = spec.split('|');
    let (Some(who), Some(stagger), Some(target), Some(warm)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(io::Error::other("bad worker spec"));
    };
    let who = Who::from_tag(who).ok_or_else(|| io::Error::other("bad contender"))?;
    let stagger = Duration::from_millis(stagger.parse().map_err(io::Error::other)?);
    let target = Target::parse_spec(target).ok_or_else(|| io::Error::other("bad target"))?;
    let warm = Target::parse_spec(warm).ok_or_else(|| io::Error::other("bad warm-up target"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let clients = Clients::new(&warm, stagger);
        drop(clients.connect(who).await?);
        tokio::time::sleep(Duration::from_millis(1)).await;
        let clients = Clients::new(&target, stagger);
        let start = Instant::now();
        let (stream, report) = clients.connect(who).await?;
        let took = start.elapsed();
        let in_flight = report.as_ref().map_or(0, max_in_flight);
        println!("ok {} {in_flight}", took.as_nanos());
        io::stdout().flush()?;
        let mut rest = Vec::new();
        io::stdin().read_to_end(&mut rest)?;
        drop(stream);
        Ok(())
    })
}

// ---------------------------------------------------------------------------------
// Results

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Agg {
    Median,
    P99,
    Max,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Better {
    Lower,
    Higher,
}

struct Row {
    key: &'static str,
    label: &'static str,
    unit: &'static str,
    agg: Agg,
    better: Better,
    target: &'static str,
    /// Whether the floor competes on this row (else it is shown for reference only).
    floor_competes: bool,
}

const ROWS: &[Row] = &[
    Row {
        key: "s1.lat",
        label: "1 healthy: connect latency, median",
        unit: "µs",
        agg: Agg::Median,
        better: Better::Lower,
        target: "turbohttp ≤ floor +5%",
        floor_competes: true,
    },
    Row {
        key: "s1.lat",
        label: "1 healthy: connect latency, p99",
        unit: "µs",
        agg: Agg::P99,
        better: Better::Lower,
        target: "",
        floor_competes: true,
    },
    Row {
        key: "s1.tp1",
        label: "1 healthy: connects/s, 1 at a time",
        unit: "/s",
        agg: Agg::Median,
        better: Better::Higher,
        target: "turbohttp ≥ hyper-util",
        floor_competes: true,
    },
    Row {
        key: "s1.tp64",
        label: "1 healthy: connects/s, 64 at a time",
        unit: "/s",
        agg: Agg::Median,
        better: Better::Higher,
        target: "turbohttp ≥ hyper-util",
        floor_competes: true,
    },
    Row {
        key: "s1.wall",
        label: "1 healthy: whole process, spawn to exit, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "",
        floor_competes: true,
    },
    Row {
        key: "s2.time",
        label: "2 ::1 stalled: time to connected, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
    Row {
        key: "s2.excess",
        label: "2 ::1 stalled: excess over stagger, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "< 1 ms, < curl, < asyncio",
        floor_competes: false,
    },
    Row {
        key: "s2.excess",
        label: "2 ::1 stalled: excess over stagger, p99",
        unit: "ms",
        agg: Agg::P99,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
    Row {
        key: "s3.time",
        label: "3 ::1 refused: time to connected, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "< 5 ms",
        floor_competes: false,
    },
    Row {
        key: "s3.time",
        label: "3 ::1 refused: time to connected, p99",
        unit: "ms",
        agg: Agg::P99,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
    Row {
        key: "s4.time",
        label: "4 1,000 refused + 1: time to connected, median",
        unit: "ms",
        agg: Agg::Median,
        better: Better::Lower,
        target: "bounded by per-address cost",
        floor_competes: false,
    },
    Row {
        key: "s4.perattempt",
        label: "4 1,000 refused + 1: time per address, median",
        unit: "µs",
        agg: Agg::Median,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
    Row {
        key: "s4.inflight",
        label: "4 attempts in flight at once (race report), max",
        unit: "",
        agg: Agg::Max,
        better: Better::Lower,
        target: "≤ max_concurrent (2)",
        floor_competes: false,
    },
    Row {
        key: "s4.sockets",
        label: "4 socket fds open at once (sampled), max",
        unit: "",
        agg: Agg::Max,
        better: Better::Lower,
        target: "≤ 2 + winner",
        floor_competes: false,
    },
    Row {
        key: "s4.sockets1",
        label: "4 the same with only the healthy address, max",
        unit: "",
        agg: Agg::Max,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
    Row {
        key: "s4.mem",
        label: "4 extra peak memory for 1,000 addresses, median",
        unit: "KiB",
        agg: Agg::Median,
        better: Better::Lower,
        target: "linear, small constant",
        floor_competes: false,
    },
    Row {
        key: "s4.peraddr",
        label: "4 extra peak memory per address, median",
        unit: "B",
        agg: Agg::Median,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
    Row {
        key: "s4x.perattempt",
        label: "4b 5,000 refused + 1: time per address, median",
        unit: "µs",
        agg: Agg::Median,
        better: Better::Lower,
        target: "flat in the count",
        floor_competes: false,
    },
    Row {
        key: "s4x.peraddr",
        label: "4b 5,000 refused + 1: extra peak memory per address, median",
        unit: "B",
        agg: Agg::Median,
        better: Better::Lower,
        target: "flat in the count",
        floor_competes: false,
    },
    Row {
        key: "s5.10",
        label: "5 planner: 10 addresses, per address",
        unit: "ns",
        agg: Agg::Median,
        better: Better::Lower,
        target: "< 1 µs, linear",
        floor_competes: false,
    },
    Row {
        key: "s5.1000",
        label: "5 planner: 1,000 addresses, per address",
        unit: "ns",
        agg: Agg::Median,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
    Row {
        key: "s5.100000",
        label: "5 planner: 100,000 addresses, per address",
        unit: "ns",
        agg: Agg::Median,
        better: Better::Lower,
        target: "",
        floor_competes: false,
    },
];

#[derive(Default)]
struct Results {
    samples: HashMap<(&'static str, Who), Vec<f64>>,
    errors: HashMap<(&'static str, Who), String>,
    /// Whole-contender skips.
    skipped: Vec<(Who, String)>,
    /// Scenario-wide skips.
    scenario_skips: Vec<String>,
}

impl Results {
    fn add(&mut self, key: &'static str, who: Who, value: f64) {
        self.samples.entry((key, who)).or_default().push(value);
    }

    fn record(&mut self, key: &'static str, who: Who, result: io::Result<f64>) {
        match result {
            Ok(v) => self.add(key, who, v),
            Err(e) => {
                self.errors
                    .entry((key, who))
                    .or_insert_with(|| e.to_string());
            }
        }
    }

    fn value(&self, row: &Row, who: Who) -> Option<f64> {
        let mut v = self.samples.get(&(row.key, who))?.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(match row.agg {
            Agg::Median => percentile(&v, 0.5),
            Agg::P99 => percentile(&v, 0.99),
            Agg::Max => v[v.len() - 1],
        })
    }
}

fn render(results: &Results, settings: &Settings) -> String {
    let mut out = String::new();
    let header: Vec<&str> = Who::ALL.iter().map(|w| w.name()).collect();
    let _ = writeln!(
        out,
        "| scenario and metric | unit | {} | target |",
        header.join(" | ")
    );
    let _ = writeln!(out, "|---|---|{}---|", "---:|".repeat(Who::ALL.len()));
    for row in ROWS {
        let values: Vec<Option<f64>> = Who::ALL.iter().map(|&w| results.value(row, w)).collect();
        let errors = Who::ALL
            .iter()
            .filter(|&&w| results.errors.contains_key(&(row.key, w)))
            .count();
        if values.iter().all(Option::is_none) && errors == 0 {
            continue;
        }
        let competing = |w: Who| row.floor_competes || w != Who::Floor;
        let best = Who::ALL
            .iter()
            .zip(&values)
            .filter(|(w, v)| competing(**w) && v.is_some())
            .filter_map(|(_, v)| *v)
            .reduce(|a, b| match row.better {
                Better::Lower => a.min(b),
                Better::Higher => a.max(b),
            });
        let contenders = values.iter().filter(|v| v.is_some()).count();
        let cells: Vec<String> = Who::ALL
            .iter()
            .zip(&values)
            .map(|(&w, v)| match v {
                Some(v) => {
                    let ratio = match (best, row.better) {
                        (Some(b), Better::Lower) if b > 0.0 => Some(v / b),
                        (Some(b), Better::Higher) if *v > 0.0 => Some(b / v),
                        _ => None,
                    };
                    match ratio {
                        Some(r) if competing(w) && contenders > 1 => {
                            format!("{} ({r:.2}×)", number(*v))
                        }
                        _ if !competing(w) => format!("{} (ref)", number(*v)),
                        _ => number(*v),
                    }
                }
                None => match results.errors.get(&(row.key, w)) {
                    Some(e) if e.contains("timed out") => "timed out".into(),
                    Some(_) => "error".into(),
                    None => "—".into(),
                },
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            row.label,
            row.unit,
            cells.join(" | "),
            row.target
        );
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "ratio: times worse than the best contender on the row (1.00× = best; for rates, best ÷ value); \
         (ref) = the floor, shown for reference only. stagger {} ms, {} rounds{}.",
        settings.stagger.as_millis(),
        settings.rounds,
        if settings.smoke {
            ", SMOKE MODE: numbers mean nothing"
        } else {
            ""
        }
    );
    for (who, why) in &results.skipped {
        let _ = writeln!(out, "skipped {}: {why}", who.name());
    }
    for why in &results.scenario_skips {
        let _ = writeln!(out, "skipped: {why}");
    }
    let mut errors: Vec<_> = results.errors.iter().collect();
    errors.sort_by_key(|((k, w), _)| (*k, w.name()));
    for ((key, who), e) in errors {
        let _ = writeln!(out, "error in {key} for {}: {e}", who.name());
    }
    out
}

// ---------------------------------------------------------------------------------
// The run

/// Scenarios 1 to 3 for one target: `who` connects `batch` times, each sample stored
/// under `key` (time in `unit`), or, for s1, also throughput.
#[allow(clippy::too_many_arguments)]
fn latency_batch(
    runtime: &tokio::runtime::Runtime,
    results: &mut Results,
    key: &'static str,
    who: Who,
    clients: &Clients,
    ext: &External,
    python: &mut Option<Python>,
    batch: usize,
    scale: fn(Duration) -> f64,
    offset: Duration,
) {
    let stagger = clients.turbo.options().family_stagger_delay;
    let excess_key = (key == "s2.time").then_some("s2.excess");
    let push = |results: &mut Results, took: io::Result<Duration>| {
        if let (Some(k), Ok(t)) = (excess_key, &took) {
            results.add(k, who, ms(t.saturating_sub(offset)));
        }
        results.record(key, who, took.map(scale));
    };
    match who {
        Who::Floor | Who::Turbo | Who::TurboBare | Who::Hyper => {
            for _ in 0..batch {
                let took = runtime.block_on(clients.timed(who));
                push(results, took);
            }
        }
        Who::Curl | Who::Cli => {
            for _ in 0..batch {
                match process_once(who, ext, &clients.target, stagger) {
                    Ok((took, wall)) => {
                        if key == "s1.lat" {
                            results.add("s1.wall", who, ms(wall));
                        }
                        push(results, Ok(took));
                    }
                    Err(e) => push(results, Err(e)),
                }
            }
        }
        Who::Asyncio => {
            let Some(py) = python.as_mut() else { return };
            let line = format!(
                "lat {} {} {batch}",
                seconds_arg(stagger),
                clients.target.spec()
            );
            match py.ask(&line) {
                Ok(ns) => {
                    for n in ns {
                        push(results, Ok(Duration::from_nanos(n)));
                    }
                }
                Err(e) => push(results, Err(e)),
            }
        }
    }
}

fn throughput(
    runtime: &tokio::runtime::Runtime,
    who: Who,
    clients: &Arc<Clients>,
    python: &mut Option<Python>,
    conc: usize,
    n: usize,
) -> Option<io::Result<f64>> {
    let stagger = clients.turbo.options().family_stagger_delay;
    let wall = match who {
        Who::Floor | Who::Turbo | Who::TurboBare | Who::Hyper => {
            runtime.block_on(clients.throughput(who, conc, n))
        }
        Who::Curl => curl_throughput(&clients.target, stagger, conc, n),
        Who::Asyncio => {
            let py = python.as_mut()?;
            let line = format!(
                "tp {} {} {conc} {n}",
                seconds_arg(stagger),
                clients.target.spec()
            );
            py.ask(&line)
                .and_then(|v| {
                    v.first()
                        .copied()
                        .ok_or_else(|| io::Error::other("empty reply"))
                })
                .map(Duration::from_nanos)
        }
        // One connect per process: the command has no throughput mode.
        Who::Cli => return None,
    };
    Some(wall.map(|w| n as f64 / w.as_secs_f64()))
}

fn planner_rows(results: &mut Results, rounds: usize) {
    let options = HappyEyeballsOptions::default();
    for (key, n) in [
        ("s5.10", 10usize),
        ("s5.1000", 1_000),
        ("s5.100000", 100_000),
    ] {
        let addrs: Vec<SocketAddr> = (0..n)
            .map(|i| {
                let i32 = u32::try_from(i).expect("few addresses");
                let ip = if i % 2 == 0 {
                    IpAddr::V6(Ipv6Addr::from((0x2001_0db8_u128 << 96) | u128::from(i32)))
                } else {
                    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | i32))
                };
                SocketAddr::new(ip, 443)
            })
            .collect();
        let reps = (200_000 / n).max(1);
        for _ in 0..rounds.max(5) {
            let start = Instant::now();
            for _ in 0..reps {
                std::hint::black_box(Plan::new(std::hint::black_box(&addrs), &options, None).ok());
            }
            let per = start.elapsed().as_secs_f64() * 1e9 / (reps * n) as f64;
            results.add(key, Who::Turbo, per);
        }
    }
}

/// `TURBOHTTP_BENCH_PROFILE=WHO,SCENARIO,N` (`turbo|hyper|floor`, `s1|s4`): only `N`
/// connects by one in-process contender, one at a time, for a profiler to watch
/// (`valgrind --tool=callgrind`, `strace -c`, `perf stat`).
fn profile(spec: &str) -> io::Result<()> {
    let parts: Vec<&str> = spec.split(',').collect();
    let [who, scenario, n] = parts[..] else {
        return Err(io::Error::other("TURBOHTTP_BENCH_PROFILE=WHO,SCENARIO,N"));
    };
    let who = Who::from_tag(who)
        .filter(|w| w.in_process())
        .ok_or_else(|| io::Error::other("WHO is turbo, bare, hyper or floor"))?;
    let n: usize = n.parse().map_err(io::Error::other)?;
    let servers = start_servers()?;
    let mut addrs: Vec<SocketAddr> = match scenario {
        "s1" => Vec::new(),
        "s4" => refusing(1000)
            .into_iter()
            .map(|ip| SocketAddr::new(IpAddr::V4(ip), servers.p1))
            .collect(),
        _ => return Err(io::Error::other("SCENARIO is s1 or s4")),
    };
    addrs.push(localhost(servers.p1));
    let target = Target {
        port: servers.p1,
        addrs,
    };
    let clients = Clients::new(&target, Duration::from_millis(250));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let start = Instant::now();
    for _ in 0..n {
        runtime.block_on(clients.timed(who))?;
    }
    let each = start.elapsed() / u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    println!(
        "{} {scenario}: {n} connects, {:.1} µs each",
        who.name(),
        us(each)
    );
    Ok(())
}

fn main() {
    if let Ok(spec) = env::var("TURBOHTTP_BENCH_PROFILE") {
        if let Err(e) = profile(&spec) {
            eprintln!("profile: {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Ok(spec) = env::var(WORKER_ENV) {
        if let Err(e) = worker(&spec) {
            println!("err {e}");
            std::process::exit(1);
        }
        return;
    }
    let settings = Settings::from_env();
    let mut results = Results::default();

    let ext = External {
        curl: probe_curl(),
        python: probe_python(),
        cli: find_cli(),
    };
    let mut active = vec![Who::Floor, Who::Turbo, Who::TurboBare, Who::Hyper];
    for (who, ok) in [
        (Who::Curl, ext.curl.as_ref().err()),
        (Who::Asyncio, ext.python.as_ref().err()),
        (Who::Cli, ext.cli.as_ref().err()),
    ] {
        match ok {
            None => active.push(who),
            Some(why) => results.skipped.push((who, why.clone())),
        }
    }
    let mut python = if active.contains(&Who::Asyncio) {
        match Python::start() {
            Ok(p) => Some(p),
            Err(e) => {
                active.retain(|w| *w != Who::Asyncio);
                results
                    .skipped
                    .push((Who::Asyncio, format!("cannot start python3: {e}")));
                None
            }
        }
    } else {
        None
    };

    let servers = start_servers().expect("loopback listeners on 127.0.0.1");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let stagger = settings.stagger;
    let started = Instant::now();
    let rounds = settings.rounds;
    let wanted = |n: u8| settings.scenarios.contains(&n);

    // Scenario 1.
    let s1 = Target {
        port: servers.p1,
        addrs: vec![localhost(servers.p1)],
    };
    let c1 = Arc::new(Clients::new(&s1, stagger));
    eprintln!(
        "scenario 1: latency ({rounds} rounds × {} connects)",
        settings.batch
    );
    // Warm every path once (first-connect costs are not what we measure).
    for &who in &active {
        if who.in_process() {
            let _ = runtime.block_on(c1.timed(who));
        }
    }
    for round in 0..if wanted(1) { rounds } else { 0 } {
        for who in rotation(&active, round) {
            latency_batch(
                &runtime,
                &mut results,
                "s1.lat",
                who,
                &c1,
                &ext,
                &mut python,
                settings.batch,
                us,
                Duration::ZERO,
            );
        }
    }
    eprintln!(
        "scenario 1: throughput ({} rounds × {} connects, 1 and 64 at a time)",
        rounds.div_ceil(2),
        settings.tp_n
    );
    for round in 0..if wanted(1) { rounds.div_ceil(2) } else { 0 } {
        for who in rotation(&active, round) {
            for (key, conc) in [("s1.tp1", 1), ("s1.tp64", 64)] {
                if let Some(r) = throughput(&runtime, who, &c1, &mut python, conc, settings.tp_n) {
                    results.record(key, who, r);
                }
            }
        }
    }

    // Scenarios 2 and 3.
    for (key, port, first, batch, name) in [
        (
            "s2.time",
            &servers.p2,
            "stalled",
            1,
            "scenario 2 (::1 stalled)",
        ),
        (
            "s3.time",
            &servers.p3,
            "refused",
            settings.batch.min(10),
            "scenario 3 (::1 refused)",
        ),
    ] {
        if !wanted(if key == "s2.time" { 2 } else { 3 }) {
            continue;
        }
        let port = match port {
            Ok(p) => *p,
            Err(why) => {
                results.scenario_skips.push(format!("{name}: {why}"));
                continue;
            }
        };
        eprintln!(
            "{name}: {rounds} rounds × {batch} connects ([::1]:{port} {first}, then 127.0.0.1:{port})"
        );
        let target = Target {
            port,
            addrs: vec![v6_localhost(port), localhost(port)],
        };
        let clients = Clients::new(&target, stagger);
        for round in 0..rounds {
            for who in rotation(&active, round) {
                latency_batch(
                    &runtime,
                    &mut results,
                    key,
                    who,
                    &clients,
                    &ext,
                    &mut python,
                    batch,
                    ms,
                    stagger,
                );
            }
        }
    }
    // The excess over the stagger means nothing for the floor, which does not race.
    results.samples.remove(&("s2.excess", Who::Floor));

    // Scenario 4.
    let bad: Vec<SocketAddr> = refusing(settings.bad)
        .into_iter()
        .map(|ip| SocketAddr::new(IpAddr::V4(ip), servers.p1))
        .collect();
    let refused_probe = std::net::TcpStream::connect_timeout(&bad[0], Duration::from_secs(1));
    if !wanted(4) {
    } else if refused_probe
        .as_ref()
        .is_err_and(|e| e.kind() == io::ErrorKind::ConnectionRefused)
    {
        let mut addrs = bad.clone();
        addrs.push(localhost(servers.p1));
        let big = Target {
            port: servers.p1,
            addrs,
        };
        let small = s1.clone();
        let mut addrs: Vec<SocketAddr> = refusing(5 * settings.bad)
            .into_iter()
            .map(|ip| SocketAddr::new(IpAddr::V4(ip), servers.p1))
            .collect();
        addrs.push(localhost(servers.p1));
        let bigger = Target {
            port: servers.p1,
            addrs,
        };
        let s4_rounds = rounds.div_ceil(2);
        eprintln!(
            "scenario 4: {s4_rounds} rounds; {} refusing addresses ({}..{}) then 127.0.0.1:{}",
            settings.bad,
            bad[0].ip(),
            bad[bad.len() - 1].ip(),
            servers.p1
        );
        // A contender that failed once (curl runs into the 10 s bound) is not run again.
        let mut gave_up: Vec<Who> = Vec::new();
        for round in 0..s4_rounds {
            for who in rotation(&active, round) {
                if gave_up.contains(&who) {
                    continue;
                }
                let one = s4_once(who, &ext, &small, &small, stagger);
                if who == Who::Floor {
                    // The floor dials only the healthy address: the time reference.
                    results.record("s4.time", who, one.map(|s| ms(s.took)));
                    continue;
                }
                let many = s4_once(who, &ext, &big, &small, stagger);
                match (one, many) {
                    (Ok(one), Ok(many)) => {
                        results.add("s4.time", who, ms(many.took));
                        results.add(
                            "s4.perattempt",
                            who,
                            us(many.took) / (settings.bad + 1) as f64,
                        );
                        results.add("s4.sockets", who, many.peak_sockets as f64);
                        results.add("s4.sockets1", who, one.peak_sockets as f64);
                        if let Some(n) = many.in_flight {
                            results.add("s4.inflight", who, n as f64);
                        }
                        let extra = many.hwm_kib as f64 - one.hwm_kib as f64;
                        results.add("s4.mem", who, extra);
                        results.add("s4.peraddr", who, extra * 1024.0 / settings.bad as f64);
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        results.record("s4.time", who, Err(e));
                        gave_up.push(who);
                    }
                }
                // Linearity: five times the addresses, for the contenders that can dial
                // 5,000 refusing addresses well within the 10 s bound.
                if matches!(who, Who::Turbo | Who::TurboBare | Who::Hyper | Who::Cli) {
                    let one = s4_once(who, &ext, &small, &small, stagger);
                    let many = s4_once(who, &ext, &bigger, &small, stagger);
                    match (one, many) {
                        (Ok(one), Ok(many)) => {
                            let n = bigger.addrs.len() - 1;
                            results.add("s4x.perattempt", who, us(many.took) / (n + 1) as f64);
                            let extra = many.hwm_kib as f64 - one.hwm_kib as f64;
                            results.add("s4x.peraddr", who, extra * 1024.0 / n as f64);
                        }
                        (Err(e), _) | (_, Err(e)) => results.record("s4x.perattempt", who, Err(e)),
                    }
                }
            }
        }
    } else {
        results.scenario_skips.push(format!(
            "scenario 4: {} does not refuse: {refused_probe:?}",
            bad[0]
        ));
    }

    // Scenario 5.
    if wanted(5) {
        eprintln!("scenario 5: planner");
        planner_rows(&mut results, rounds);
    }

    drop(python);
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
    println!();
    print!("{}", render(&results, &settings));
    // The library failing is a bug worth a red CI; other contenders only get a note.
    if results
        .errors
        .keys()
        .any(|(_, w)| matches!(w, Who::Turbo | Who::TurboBare))
    {
        std::process::exit(1);
    }
}
