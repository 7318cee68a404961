//! DNS inside the race, side by side: turbohttp asking AAAA and A apart
//! (`DnsResolver`) against resolvers that wait for both answers (`getaddrinfo`:
//! turbohttp's `SystemResolver`, hyper-util's `GaiResolver`, curl, Python asyncio), on
//! loopback only, interleaved, printing one table.
//!
//! ```text
//! cargo bench -p turbohttp --bench dns
//! ```
//!
//! One DNS lab (turbohttp-lab) serves three names:
//!
//! 1. `lost-aaaa.bench.test`: A at once, AAAA never. Time to a connected socket.
//! 2. `slow-aaaa.bench.test`: A at once, AAAA after 300 ms; both families healthy.
//!    Time to connected, and which family won.
//! 3. `healthy.bench.test`: AAAA and A at once. turbohttp by name with the cache warm
//!    (one resolver reused), cold (cache off; and a new resolver per connect) and with
//!    a static answer (`StaticResolver`, curl's `--resolve`); the issue's goal is
//!    warm ÷ static ≤ 1.1 (medians, same run). The peers by name and with their own
//!    static hook.
//!
//! `getaddrinfo` takes its server from /etc/resolv.conf, which names no port, so the
//! bench re-executes itself under `unshare -n -m` (as root; else `unshare -r -n -m`,
//! where user namespaces are allowed): in that private network and mount namespace
//! loopback is brought up, the lab listens on 127.0.0.1:53 and a resolv.conf saying
//! `nameserver 127.0.0.1` and `options timeout:1 attempts:1` is bind-mounted over
//! /etc/resolv.conf (inside the namespace only). One second is glibc's shortest query
//! timeout; glibc waits it up to three times for a lost AAAA answer (see the note the
//! run prints), so the peers' samples take 1 to 3 s here, against 5 s per wait with
//! glibc's defaults. Where no namespace can be made, the reason is printed and
//! only turbohttp's rows run (its `DnsResolver` takes the lab's port directly).
//!
//! Environment:
//! * `TURBOHTTP_BENCH_SMOKE=1`: a couple of samples per row (CI keeps this compiling
//!   and running); no number it prints means anything.
//! * `TURBOHTTP_BENCH_ITERS=N`: rounds per row (default 20; smoke 2). Rows 1 and 2
//!   take one sample per contender per round, row 3 a batch of 25 (smoke 3). Smoke
//!   leaves the getaddrinfo peers out of row 1 (each sample costs them 1 to 3 s).
//! * `TURBOHTTP_BENCH_DNS_NAMESPACE=0`: no namespace: turbohttp's rows only.
//! * `TURBOHTTP_BENCH_PROFILE=VARIANT,N` (`warm`, `cold`, `fresh`, `static`): no table;
//!   `N` connects by turbohttp to the healthy name, for `valgrind`, `strace` or `perf`.
//!
//! BENCHMARKS.md (at the workspace root, "DNS inside the race") has a run.

#[path = "support/common.rs"]
mod common;

use common::{drain, ms, number, percentile, probe_python, rotation, us};
use std::collections::HashMap;
use std::env;
use std::fmt::Write as _;
use std::future::{Ready, ready};
use std::io::{self, BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};
use turbohttp::ConnectParams;

use hyper::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tower_service::Service;
use turbohttp::{
    DnsOptions, DnsResolver, NoResolver, Resolver, StaticResolver, SystemResolver, TcpDialer,
};
use turbohttp::{HappyEyeballs, HappyEyeballsOptions};
use turbohttp_lab::dns::{Behaviour, DnsLab, Zone};

/// Row 1: A at once, AAAA never.
const LOST: &str = "lost-aaaa.bench.test";
/// Row 2: A at once, AAAA after [`SLOW_AAAA`].
const SLOW: &str = "slow-aaaa.bench.test";
/// Row 3: AAAA and A at once.
const HEALTHY: &str = "healthy.bench.test";
/// When row 2's AAAA answer comes.
const SLOW_AAAA: Duration = Duration::from_millis(300);
/// The bound on one connect, for every contender.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The query timeout of every resolver: glibc's shortest (resolv.conf `timeout:1`).
const DNS_TIMEOUT: Duration = Duration::from_secs(1);
/// The stagger every peer is given: turbohttp's default family stagger.
const STAGGER: Duration = Duration::from_millis(250);
/// The namespace's resolv.conf.
const RESOLV_CONF: &str = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
/// Set (to the unshare command used) in the re-executed child, inside the namespace.
const CHILD_ENV: &str = "TURBOHTTP_BENCH_DNS_CHILD";
/// `0`: do not try a namespace; turbohttp's rows only, on the host.
const NAMESPACE_ENV: &str = "TURBOHTTP_BENCH_DNS_NAMESPACE";
/// The child's exit code when the namespace could not be set up (its stdout says why).
const SETUP_FAILED: i32 = 3;

// ---------------------------------------------------------------------------------
// Contenders and settings

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    /// `HappyEyeballs` with `DnsResolver`: AAAA and A apart.
    Dns,
    /// `HappyEyeballs` with `SystemResolver`: getaddrinfo on tokio's blocking pool.
    Gai,
    /// hyper-util's `HttpConnector` with its default `GaiResolver`.
    Hyper,
    Curl,
    Asyncio,
}

impl Who {
    const ALL: [Who; 5] = [Who::Dns, Who::Gai, Who::Hyper, Who::Curl, Who::Asyncio];

    fn name(self) -> &'static str {
        match self {
            Who::Dns => "turbohttp DnsResolver",
            Who::Gai => "turbohttp SystemResolver",
            Who::Hyper => "hyper-util GaiResolver",
            Who::Curl => "curl",
            Who::Asyncio => "asyncio",
        }
    }

    fn in_process(self) -> bool {
        matches!(self, Who::Dns | Who::Gai | Who::Hyper)
    }
}

#[derive(Debug, Clone)]
struct Settings {
    smoke: bool,
    /// Rounds per row.
    rounds: usize,
    /// Connects per contender (per variant) per round in row 3.
    batch: usize,
}

impl Settings {
    fn from_env() -> Self {
        let smoke = env::var("TURBOHTTP_BENCH_SMOKE").is_ok_and(|v| !v.is_empty() && v != "0");
        let rounds = env::var("TURBOHTTP_BENCH_ITERS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(if smoke { 2 } else { 20 });
        Self {
            smoke,
            rounds: rounds.max(1),
            batch: if smoke { 3 } else { 25 },
        }
    }
}

/// Where the run happens.
#[derive(Debug, Clone)]
enum Place {
    /// Inside the namespace made by this command line: every contender runs.
    Namespace(String),
    /// On the host: only turbohttp's `DnsResolver`, for this reason.
    Host(String),
}

// ---------------------------------------------------------------------------------
// The lab: DNS and listeners on their own thread and runtime

/// What the lab thread serves.
#[derive(Debug, Clone, Copy)]
struct Lab {
    /// The DNS server.
    dns: SocketAddr,
    /// The port listened on at 127.0.0.1 and, when `v6`, at ::1.
    port: u16,
    v6: bool,
}

impl Lab {
    /// The healthy name's addresses, in the order a static answer gives them.
    fn healthy(&self) -> Vec<SocketAddr> {
        let mut addrs = Vec::new();
        if self.v6 {
            addrs.push(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), self.port));
        }
        addrs.push(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), self.port));
        addrs
    }
}

/// Listeners on one port at 127.0.0.1 and (if it can be had) ::1.
fn listeners() -> io::Result<(Vec<std::net::TcpListener>, u16, bool)> {
    for _ in 0..20 {
        let v4 = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = v4.local_addr()?.port();
        match std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, port)) {
            Ok(v6) => return Ok((vec![v4, v6], port, true)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(_) => return Ok((vec![v4], port, false)),
        }
    }
    Err(io::Error::other(
        "found no port free on both 127.0.0.1 and ::1",
    ))
}

/// Starts the DNS lab (on `dns_addr`, or an ephemeral port) and the listeners on a
/// thread of their own, which serves them until the process exits.
fn start_lab(dns_addr: Option<SocketAddr>) -> io::Result<Lab> {
    let (listeners, port, v6) = listeners()?;
    let (v6_ip, v4_ip) = (
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        IpAddr::V4(Ipv4Addr::LOCALHOST),
    );
    let mut zone = Zone::new()
        .aaaa(LOST, Behaviour::Silent)
        .a(LOST, Behaviour::answer([v4_ip]))
        .a(SLOW, Behaviour::answer([v4_ip]))
        .a(HEALTHY, Behaviour::answer([v4_ip]));
    if v6 {
        zone = zone
            .aaaa(SLOW, Behaviour::answer_after(SLOW_AAAA, [v6_ip]))
            .aaaa(HEALTHY, Behaviour::answer([v6_ip]));
    }
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("bench-lab".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            runtime.block_on(async move {
                let lab = match dns_addr {
                    Some(addr) => DnsLab::start_on(addr, zone).await,
                    None => DnsLab::start(zone).await,
                };
                let lab = match lab {
                    Ok(lab) => lab,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                for l in listeners {
                    let l = l
                        .set_nonblocking(true)
                        .and_then(|()| tokio::net::TcpListener::from_std(l));
                    let Ok(l) = l else { continue };
                    tokio::spawn(async move {
                        loop {
                            if let Ok((s, _)) = l.accept().await {
                                tokio::spawn(drain(s));
                            }
                        }
                    });
                }
                let _ = tx.send(Ok(lab.addr()));
                std::future::pending::<()>().await;
            });
        })?;
    let dns = rx
        .recv()
        .map_err(|_| io::Error::other("the lab thread ended"))??;
    Ok(Lab { dns, port, v6 })
}

// ---------------------------------------------------------------------------------
// In-process contenders

/// hyper-util's resolver hook for the static answer: a tower service from a name to
/// the list.
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

/// How a connect resolves the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// The contender's resolver, by name: per family (`DnsResolver`, cache off) or
    /// getaddrinfo.
    Name,
    /// `DnsResolver` with its cache on, reused (warmed before the first sample).
    Warm,
    /// A new `DnsResolver` for each connect (built inside the timing).
    Fresh,
    /// A fixed answer: `StaticResolver`, hyper-util's resolver hook, `--resolve`, a
    /// replaced `loop.getaddrinfo`.
    Static,
}

struct Clients {
    lab: Lab,
    dns_options: DnsOptions,
    /// Cache off: every connect asks the lab.
    dns: HappyEyeballs<DnsResolver, TcpDialer>,
    warm: HappyEyeballs<DnsResolver, TcpDialer>,
    gai: HappyEyeballs<SystemResolver, TcpDialer>,
    fixed: HappyEyeballs<StaticResolver<NoResolver>, TcpDialer>,
    hyper: HttpConnector<GaiResolver>,
    hyper_fixed: HttpConnector<ListResolver>,
    cancel: CancellationToken,
}

impl Clients {
    fn new(lab: Lab) -> Clients {
        let options = HappyEyeballsOptions::default();
        let dns_options = DnsOptions::default()
            .with_timeout(DNS_TIMEOUT)
            .with_attempts(1);
        let with = |resolver| HappyEyeballs::from_parts(options, resolver, TcpDialer::default());
        let off = DnsResolver::new(&[lab.dns], &dns_options.clone().with_cache(false));
        let on = DnsResolver::new(&[lab.dns], &dns_options.clone().with_cache(true));
        let fixed = StaticResolver::with_fallback(NoResolver).with_override(
            HEALTHY,
            lab.port,
            lab.healthy(),
        );
        let mut hyper = HttpConnector::new();
        hyper.set_happy_eyeballs_timeout(Some(STAGGER));
        hyper.set_connect_timeout(Some(TIMEOUT));
        let mut hyper_fixed = HttpConnector::new_with_resolver(ListResolver(lab.healthy().into()));
        hyper_fixed.set_happy_eyeballs_timeout(Some(STAGGER));
        hyper_fixed.set_connect_timeout(Some(TIMEOUT));
        Clients {
            lab,
            dns: with(off),
            warm: with(on),
            gai: HappyEyeballs::from_parts(options, SystemResolver, TcpDialer::default()),
            fixed: HappyEyeballs::from_parts(options, fixed, TcpDialer::default()),
            dns_options,
            hyper,
            hyper_fixed,
            cancel: CancellationToken::new(),
        }
    }

    /// One timed connect to `host`: the time to a connected socket and the peer's
    /// address. The connection is closed after the clock stops.
    async fn connect(&self, who: Who, via: Via, host: &str) -> io::Result<(Duration, IpAddr)> {
        let port = self.lab.port;
        let start = Instant::now();
        let stream = match (who, via) {
            (Who::Dns, Via::Name) => self.turbo(&self.dns, host).await?,
            (Who::Dns, Via::Warm) => self.turbo(&self.warm, host).await?,
            (Who::Dns, Via::Fresh) => {
                let resolver = DnsResolver::new(&[self.lab.dns], &self.dns_options);
                let connector =
                    HappyEyeballs::from_parts(*self.dns.options(), resolver, TcpDialer::default());
                self.turbo(&connector, host).await?
            }
            (Who::Dns | Who::Gai, Via::Static) => self.turbo(&self.fixed, host).await?,
            (Who::Gai, Via::Name) => self.turbo(&self.gai, host).await?,
            (Who::Hyper, Via::Name | Via::Static) => {
                let uri: Uri = format!("http://{host}:{port}/")
                    .parse()
                    .map_err(io::Error::other)?;
                let io = if via == Via::Name {
                    self.hyper.clone().call(uri).await
                } else {
                    self.hyper_fixed.clone().call(uri).await
                };
                io.map_err(io::Error::other)?.into_inner()
            }
            _ => return Err(io::Error::other("not an in-process contender")),
        };
        let took = start.elapsed();
        let peer = stream.peer_addr()?;
        drop(stream);
        Ok((took, peer.ip()))
    }

    async fn turbo<R: Resolver>(
        &self,
        connector: &HappyEyeballs<R, TcpDialer>,
        host: &str,
    ) -> io::Result<TcpStream> {
        let won = connector
            .connect_with(
                host,
                self.lab.port,
                ConnectParams::default()
                    .with_timeout(TIMEOUT)
                    .with_cancel(self.cancel.clone()),
            )
            .await
            .map_err(|e| io::Error::other(format!("{e:#}")))?;
        Ok(won.stream)
    }
}

// ---------------------------------------------------------------------------------
// Process contenders

fn probe_curl() -> Result<(), String> {
    let text = common::probe_curl()?;
    // A curl built with c-ares reads resolv.conf itself instead of calling getaddrinfo.
    if text.contains("c-ares") {
        return Err("this curl resolves with c-ares, not getaddrinfo".into());
    }
    Ok(())
}

/// One connect by a fresh curl process: curl's own `%{time_connect}` (name lookup
/// included, start-up excluded) and `%{remote_ip}`.
fn curl_once(lab: &Lab, host: &str, via: Via) -> io::Result<(Duration, IpAddr)> {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-o", "/dev/null", "-H", "Connection: close"])
        .args(["-w", "%{time_connect} %{remote_ip}"])
        .args(["--connect-timeout", "10", "--max-time", "10"])
        .arg("--happy-eyeballs-timeout-ms")
        .arg(STAGGER.as_millis().to_string());
    if via == Via::Static {
        let ips: Vec<String> = lab
            .healthy()
            .iter()
            .map(|a| match a.ip() {
                IpAddr::V4(ip) => ip.to_string(),
                IpAddr::V6(ip) => format!("[{ip}]"),
            })
            .collect();
        cmd.arg("--resolve")
            .arg(format!("{host}:{}:{}", lab.port, ips.join(",")));
    }
    let out = cmd
        .arg(format!("http://{host}:{}/", lab.port))
        .stdin(Stdio::null())
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "curl exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let mut words = text.split_whitespace();
    let (Some(secs), Some(ip)) = (words.next(), words.next()) else {
        return Err(io::Error::other(format!("curl wrote {text:?}")));
    };
    let secs: f64 = secs
        .parse()
        .map_err(|_| io::Error::other(format!("curl wrote {text:?}")))?;
    let ip = ip
        .parse()
        .map_err(|_| io::Error::other(format!("curl wrote {text:?}")))?;
    Ok((Duration::from_secs_f64(secs), ip))
}

/// The asyncio contender: `asyncio.open_connection(host, port,
/// happy_eyeballs_delay=DELAY)` in one long-lived interpreter, timed in-process
/// (`time.perf_counter_ns`). By name, `loop.getaddrinfo` is asyncio's own
/// (getaddrinfo on the default executor); with a static answer it is replaced by a
/// coroutine returning the list.
const ASYNCIO: &str = r#"
import asyncio, socket, sys, time

async def serve():
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo
    fixed = []

    async def getaddrinfo(host, port, *, family=0, type=0, proto=0, flags=0):
        if not fixed:
            return await real(host, port, family=family, type=type, proto=proto, flags=flags)
        return list(fixed)

    loop.getaddrinfo = getaddrinfo
    for line in sys.stdin:
        # MODE HOST PORT DELAY N [ADDR,ADDR]  ->  ok NS:FAMILY NS:FAMILY ...
        words = line.split()
        try:
            mode, host, port, delay, n = words[0], words[1], int(words[2]), float(words[3]), int(words[4])
            fixed.clear()
            if mode == "static":
                for addr in words[5].split(","):
                    if ":" in addr:
                        fixed.append((socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (addr, port, 0, 0)))
                    else:
                        fixed.append((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (addr, port)))
            out = []
            for _ in range(n):
                start = time.perf_counter_ns()
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port, happy_eyeballs_delay=delay), 10.0)
                took = time.perf_counter_ns() - start
                family = writer.get_extra_info("socket").family
                writer.close()
                out.append("%d:%d" % (took, 6 if family == socket.AF_INET6 else 4))
            reply = "ok " + " ".join(out)
        except Exception as error:  # reported to the harness, which prints it
            reply = "err %s: %s" % (type(error).__name__, error)
        print(reply, flush=True)

asyncio.run(serve())
"#;

struct Python {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Python {
    fn start() -> io::Result<Python> {
        let mut child = Command::new("python3")
            .args(["-c", ASYNCIO])
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

    /// `n` connects to `host`, one at a time.
    fn connects(
        &mut self,
        lab: &Lab,
        host: &str,
        via: Via,
        n: usize,
    ) -> io::Result<Vec<(Duration, IpAddr)>> {
        let delay = STAGGER.as_secs_f64();
        let port = lab.port;
        let line = match via {
            Via::Static => {
                let ips: Vec<String> = lab.healthy().iter().map(|a| a.ip().to_string()).collect();
                format!("static {host} {port} {delay} {n} {}", ips.join(","))
            }
            _ => format!("name {host} {port} {delay} {n}"),
        };
        writeln!(self.stdin, "{line}")?;
        self.stdin.flush()?;
        let mut reply = String::new();
        self.stdout.read_line(&mut reply)?;
        let mut words = reply.split_whitespace();
        if words.next() != Some("ok") {
            return Err(io::Error::other(format!("asyncio: {}", reply.trim())));
        }
        words
            .map(|w| {
                let bad = || io::Error::other(format!("bad reply {reply:?}"));
                let (ns, family) = w.split_once(':').ok_or_else(bad)?;
                let ns: u64 = ns.parse().map_err(|_| bad())?;
                let ip = if family == "6" {
                    IpAddr::V6(Ipv6Addr::LOCALHOST)
                } else {
                    IpAddr::V4(Ipv4Addr::LOCALHOST)
                };
                Ok((Duration::from_nanos(ns), ip))
            })
            .collect()
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------
// Results

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Times: median [p10–p90].
    Time,
    /// The largest sample.
    Max,
    /// Which family the winning connection had, counted.
    Family,
    /// Medians of key `.0` ÷ key `.1` of the same contender; the spread is that of the
    /// ratio of the two per-round medians.
    Ratio(&'static str, &'static str),
}

struct Row {
    key: &'static str,
    label: &'static str,
    unit: &'static str,
    kind: Kind,
    /// Row 3's: a batch of samples per round (else one per round).
    batched: bool,
    target: &'static str,
}

const ROWS: &[Row] = &[
    Row {
        key: "lost",
        label: "1 lost AAAA (A at once): time to connected",
        unit: "ms",
        kind: Kind::Time,
        batched: false,
        target: "≤ resolution delay (50 ms) + a few ms; getaddrinfo: its timeout (1 s)",
    },
    Row {
        key: "lost",
        label: "1 lost AAAA: the slowest sample",
        unit: "ms",
        kind: Kind::Max,
        batched: false,
        target: "",
    },
    Row {
        key: "lost.excess",
        label: "1 lost AAAA: time to connected − resolution delay",
        unit: "ms",
        kind: Kind::Time,
        batched: false,
        target: "a few ms",
    },
    Row {
        key: "slow",
        label: "2 AAAA after 300 ms, A at once: time to connected",
        unit: "ms",
        kind: Kind::Time,
        batched: false,
        target: "≈ resolution delay (50 ms)",
    },
    Row {
        key: "slow",
        label: "2 AAAA after 300 ms: the family that won",
        unit: "",
        kind: Kind::Family,
        batched: false,
        target: "IPv4 (at the resolution delay)",
    },
    Row {
        key: "warm",
        label: "3 healthy by name, cache warm (one resolver reused)",
        unit: "µs",
        kind: Kind::Time,
        batched: true,
        target: "",
    },
    Row {
        key: "cold",
        label: "3 healthy by name, cache cold (cache off) / getaddrinfo",
        unit: "µs",
        kind: Kind::Time,
        batched: true,
        target: "",
    },
    Row {
        key: "fresh",
        label: "3 healthy by name, a new resolver per connect",
        unit: "µs",
        kind: Kind::Time,
        batched: true,
        target: "",
    },
    Row {
        key: "static",
        label: "3 healthy, static answer (StaticResolver, --resolve)",
        unit: "µs",
        kind: Kind::Time,
        batched: true,
        target: "",
    },
    Row {
        key: "ratio.warm",
        label: "3 warm cache ÷ static answer, medians",
        unit: "×",
        kind: Kind::Ratio("warm", "static"),
        batched: false,
        target: "≤ 1.10×",
    },
    Row {
        key: "ratio.cold",
        label: "3 by name, cold ÷ static answer, medians",
        unit: "×",
        kind: Kind::Ratio("cold", "static"),
        batched: false,
        target: "",
    },
];

#[derive(Default)]
struct Results {
    /// (round, value) per row key and contender.
    samples: HashMap<(&'static str, Who), Vec<(usize, f64)>>,
    /// [IPv6 wins, IPv4 wins] per row key and contender.
    families: HashMap<(&'static str, Who), [usize; 2]>,
    errors: HashMap<(&'static str, Who), String>,
    skipped: Vec<(Who, String)>,
    notes: Vec<String>,
}

impl Results {
    fn add(&mut self, key: &'static str, who: Who, round: usize, value: f64) {
        self.samples
            .entry((key, who))
            .or_default()
            .push((round, value));
    }

    fn error(&mut self, key: &'static str, who: Who, error: &io::Error) {
        self.errors
            .entry((key, who))
            .or_insert_with(|| error.to_string());
    }

    fn family(&mut self, key: &'static str, who: Who, ip: IpAddr) {
        self.families.entry((key, who)).or_default()[usize::from(ip.is_ipv4())] += 1;
    }

    fn values(&self, key: &str, who: Who) -> Vec<f64> {
        let mut v: Vec<f64> = self
            .samples
            .iter()
            .find(|((k, w), _)| *k == key && *w == who)
            .map(|(_, s)| s.iter().map(|(_, v)| *v).collect())
            .unwrap_or_default();
        v.sort_by(f64::total_cmp);
        v
    }

    /// The median of `key` in each round, in round order.
    fn round_medians(&self, key: &str, who: Who) -> Vec<(usize, f64)> {
        let Some((_, samples)) = self
            .samples
            .iter()
            .find(|((k, w), _)| *k == key && *w == who)
        else {
            return Vec::new();
        };
        let mut by_round: HashMap<usize, Vec<f64>> = HashMap::new();
        for (round, v) in samples {
            by_round.entry(*round).or_default().push(*v);
        }
        let mut out: Vec<(usize, f64)> = by_round
            .into_iter()
            .map(|(round, mut v)| {
                v.sort_by(f64::total_cmp);
                (round, percentile(&v, 0.5))
            })
            .collect();
        out.sort_by_key(|(round, _)| *round);
        out
    }
}

/// `median [p10–p90]`, with `n` when it is not the row's usual count.
fn spread(sorted: &[f64], usual: usize) -> String {
    let mut cell = format!(
        "{} [{}–{}]",
        number(percentile(sorted, 0.5)),
        number(percentile(sorted, 0.1)),
        number(percentile(sorted, 0.9))
    );
    if sorted.len() != usual {
        let _ = write!(cell, " n={}", sorted.len());
    }
    cell
}

fn render(results: &Results, settings: &Settings, place: &Place) -> String {
    let mut out = String::new();
    let header: Vec<&str> = Who::ALL.iter().map(|w| w.name()).collect();
    let _ = writeln!(
        out,
        "| row: median [p10–p90] | unit | n | {} | target |",
        header.join(" | ")
    );
    let _ = writeln!(out, "|---|---|---:|{}---|", "---:|".repeat(Who::ALL.len()));
    for row in ROWS {
        let usual = if row.batched {
            settings.rounds * settings.batch
        } else {
            settings.rounds
        };
        let mut any = false;
        let cells: Vec<String> = Who::ALL
            .iter()
            .map(|&who| {
                let cell = match row.kind {
                    Kind::Time => {
                        let v = results.values(row.key, who);
                        (!v.is_empty()).then(|| spread(&v, usual))
                    }
                    Kind::Max => results.values(row.key, who).last().map(|v| number(*v)),
                    Kind::Family => {
                        results
                            .families
                            .get(&(row.key, who))
                            .map(|[v6, v4]| match (v6, v4) {
                                (0, n) => format!("IPv4 ×{n}"),
                                (n, 0) => format!("IPv6 ×{n}"),
                                (a, b) => format!("IPv4 ×{b}, IPv6 ×{a}"),
                            })
                    }
                    Kind::Ratio(top, bottom) => ratio_cell(results, who, top, bottom, usual),
                };
                any |= cell.is_some();
                cell.unwrap_or_else(|| {
                    let key = match row.kind {
                        Kind::Ratio(top, _) => top,
                        _ => row.key,
                    };
                    match results.errors.get(&(key, who)) {
                        Some(e) if e.contains("timed out") => "timed out".into(),
                        Some(_) => "error".into(),
                        None => "—".into(),
                    }
                })
            })
            .collect();
        let errors = Who::ALL
            .iter()
            .any(|&w| results.errors.contains_key(&(row.key, w)));
        if !any && !errors {
            continue;
        }
        let _ = writeln!(
            out,
            "| {} | {} | {usual} | {} | {} |",
            row.label,
            row.unit,
            cells.join(" | "),
            row.target
        );
    }
    out.push('\n');
    let options = HappyEyeballsOptions::default();
    let _ = writeln!(
        out,
        "median [p10–p90] over n samples (for ratios: the ratio of the medians, [p10–p90] of \
         the per-round ratios). {} rounds; row 3: {} connects per variant per round. \
         turbohttp: default options (stagger {} ms, resolution delay {} ms); peers: stagger \
         {} ms; every resolver: query timeout 1 s, 1 try.{}",
        settings.rounds,
        settings.batch,
        options.family_stagger_delay.as_millis(),
        options.resolution_delay.as_millis(),
        STAGGER.as_millis(),
        if settings.smoke {
            " SMOKE MODE: numbers mean nothing"
        } else {
            ""
        }
    );
    match place {
        Place::Namespace(how) => {
            let _ = writeln!(
                out,
                "ran in a private network+mount namespace ({how}): the lab on 127.0.0.1:53, \
                 /etc/resolv.conf bind-mounted there to {:?}",
                RESOLV_CONF.trim_end()
            );
        }
        Place::Host(why) => {
            let _ = writeln!(
                out,
                "ran on the host, turbohttp's DnsResolver only (no namespace: {why})"
            );
        }
    }
    for note in &results.notes {
        let _ = writeln!(out, "{note}");
    }
    for (who, why) in &results.skipped {
        let _ = writeln!(out, "skipped {}: {why}", who.name());
    }
    let mut errors: Vec<_> = results.errors.iter().collect();
    errors.sort_by_key(|((k, w), _)| (*k, w.name()));
    for ((key, who), e) in errors {
        let _ = writeln!(out, "error in {key} for {}: {e}", who.name());
    }
    out
}

fn ratio_cell(
    results: &Results,
    who: Who,
    top: &str,
    bottom: &str,
    usual: usize,
) -> Option<String> {
    let (a, b) = (results.values(top, who), results.values(bottom, who));
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let overall = percentile(&a, 0.5) / percentile(&b, 0.5);
    let below: HashMap<usize, f64> = results.round_medians(bottom, who).into_iter().collect();
    let mut per_round: Vec<f64> = results
        .round_medians(top, who)
        .into_iter()
        .filter_map(|(round, v)| below.get(&round).map(|b| v / b))
        .collect();
    per_round.sort_by(f64::total_cmp);
    if per_round.is_empty() {
        return Some(format!("{overall:.2}×"));
    }
    let mut cell = format!(
        "{overall:.2}× [{:.2}–{:.2}]",
        percentile(&per_round, 0.1),
        percentile(&per_round, 0.9)
    );
    if per_round.len() != usual {
        let _ = write!(cell, " n={}", per_round.len());
    }
    Some(cell)
}

// ---------------------------------------------------------------------------------
// The run

/// Everything, measured where `place` says; returns the process's exit code.
fn run(settings: &Settings, place: &Place) -> i32 {
    let mut results = Results::default();
    let dns_addr = match place {
        Place::Namespace(_) => Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53)),
        Place::Host(_) => None,
    };
    let lab = match start_lab(dns_addr) {
        Ok(lab) => lab,
        Err(e) => {
            println!("cannot start the lab: {e}");
            return 1;
        }
    };
    let mut active = vec![Who::Dns];
    let mut python = None;
    match place {
        Place::Namespace(_) => {
            active.extend([Who::Gai, Who::Hyper]);
            match probe_curl() {
                Ok(()) => active.push(Who::Curl),
                Err(why) => results.skipped.push((Who::Curl, why)),
            }
            match probe_python()
                .and_then(|()| Python::start().map_err(|e| format!("cannot start python3: {e}")))
            {
                Ok(p) => {
                    python = Some(p);
                    active.push(Who::Asyncio);
                }
                Err(why) => results.skipped.push((Who::Asyncio, why)),
            }
        }
        Place::Host(why) => {
            for who in [Who::Gai, Who::Hyper, Who::Curl, Who::Asyncio] {
                results.skipped.push((
                    who,
                    format!("getaddrinfo cannot be pointed at the lab without a namespace ({why})"),
                ));
            }
        }
    }
    if settings.smoke && active.len() > 1 {
        results.notes.push(
            "smoke: row 1 (lost AAAA) without the getaddrinfo peers, which take 1-3 s a sample"
                .into(),
        );
    }
    if matches!(place, Place::Namespace(_)) {
        results.notes.push(format!(
            "{}: on a lost AAAA answer getaddrinfo waits the query timeout up to three times \
             (both queries at once; again one after the other, `single-request`; again on a \
             new socket each, `single-request-reopen`) and keeps the last fallback in the \
             thread's resolver state: 3 s for a new process or thread, 1 s after that",
            libc_version()
        ));
    }
    if !lab.v6 {
        results
            .notes
            .push("no ::1 here: row 2 skipped, row 3's name has an A record only".into());
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            println!("cannot build a tokio runtime: {e}");
            return 1;
        }
    };
    let clients = Clients::new(lab);
    let resolution_delay = clients.dns.options().resolution_delay;
    let started = Instant::now();
    let rounds = settings.rounds;

    // One connect to the healthy name by each path first (not measured): thread pools,
    // the interpreter's executor, and the warm resolver's cache.
    for &who in &active {
        for via in [Via::Name, Via::Warm, Via::Static] {
            let _ = sample(&runtime, &clients, &mut python, who, via, HEALTHY, 1);
        }
    }

    let mut rows = vec![("lost", LOST)];
    if lab.v6 {
        rows.push(("slow", SLOW));
    }
    for (key, host) in rows {
        eprintln!("{host}: {rounds} rounds × 1 connect per contender");
        for round in 0..rounds {
            for who in rotation(&active, round) {
                if settings.smoke && key == "lost" && who != Who::Dns {
                    continue;
                }
                match sample(&runtime, &clients, &mut python, who, Via::Name, host, 1) {
                    Ok(took) => {
                        for (took, ip) in took {
                            results.add(key, who, round, ms(took));
                            results.family(key, who, ip);
                            if key == "lost" && who == Who::Dns {
                                results.add(
                                    "lost.excess",
                                    who,
                                    round,
                                    ms(took) - ms(resolution_delay),
                                );
                            }
                        }
                    }
                    Err(e) => results.error(key, who, &e),
                }
            }
        }
    }

    eprintln!(
        "{HEALTHY}: {rounds} rounds × {} connects per contender and variant",
        settings.batch
    );
    for round in 0..rounds {
        for who in rotation(&active, round) {
            // Variants that touch no DNS server (static, warm) run apart from those
            // that do: a cold lookup leaves work behind (hickory's exchange tasks, the
            // lab's thread) that would slow the next connect, whichever it is.
            let groups: &[&[(&'static str, Via)]] = match who {
                Who::Dns => &[
                    &[("static", Via::Static), ("warm", Via::Warm)],
                    &[("cold", Via::Name), ("fresh", Via::Fresh)],
                ],
                _ => &[&[("static", Via::Static)], &[("cold", Via::Name)]],
            };
            if who == Who::Asyncio {
                // One batch per variant (the interpreter runs a batch per command).
                for &(key, via) in groups.iter().copied().flatten() {
                    match sample(
                        &runtime,
                        &clients,
                        &mut python,
                        who,
                        via,
                        HEALTHY,
                        settings.batch,
                    ) {
                        Ok(all) => all
                            .into_iter()
                            .for_each(|(took, _)| results.add(key, who, round, us(took))),
                        Err(e) => results.error(key, who, &e),
                    }
                }
                continue;
            }
            // Within a group the variants alternate sample by sample (in an order that
            // rotates), so that drift hits them alike.
            for variants in groups {
                for i in 0..settings.batch {
                    for k in 0..variants.len() {
                        let (key, via) = variants[(i + k) % variants.len()];
                        match sample(&runtime, &clients, &mut python, who, via, HEALTHY, 1) {
                            Ok(all) => all
                                .into_iter()
                                .for_each(|(took, _)| results.add(key, who, round, us(took))),
                            Err(e) => results.error(key, who, &e),
                        }
                    }
                }
            }
        }
    }
    drop(python);
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
    println!();
    print!("{}", render(&results, settings, place));
    // turbohttp failing is a bug worth a red CI; other contenders only get a note.
    if results
        .errors
        .keys()
        .any(|(_, w)| matches!(w, Who::Dns | Who::Gai))
    {
        return 1;
    }
    0
}

/// `glibc 2.36`, as `getconf` says, or "the C library".
fn libc_version() -> String {
    Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "the C library".into())
}

/// `n` connects by `who` to `host` (`n` > 1 only for asyncio, which batches).
fn sample(
    runtime: &tokio::runtime::Runtime,
    clients: &Clients,
    python: &mut Option<Python>,
    who: Who,
    via: Via,
    host: &str,
    n: usize,
) -> io::Result<Vec<(Duration, IpAddr)>> {
    match who {
        _ if who.in_process() => {
            if matches!(via, Via::Warm | Via::Fresh) && who != Who::Dns {
                return Ok(Vec::new());
            }
            (0..n)
                .map(|_| runtime.block_on(clients.connect(who, via, host)))
                .collect()
        }
        Who::Curl => {
            if matches!(via, Via::Warm | Via::Fresh) {
                return Ok(Vec::new());
            }
            (0..n).map(|_| curl_once(&clients.lab, host, via)).collect()
        }
        _ => {
            let Some(py) = python.as_mut() else {
                return Err(io::Error::other("asyncio is not running"));
            };
            if matches!(via, Via::Warm | Via::Fresh) {
                return Ok(Vec::new());
            }
            py.connects(&clients.lab, host, via, n)
        }
    }
}

// ---------------------------------------------------------------------------------
// The namespace

/// The unshare command line that works here (`-n -m` as root, else with a user
/// namespace), or why none does.
fn find_unshare() -> Result<Vec<&'static str>, String> {
    let mut why = String::new();
    for args in [
        &["unshare", "-n", "-m"][..],
        &["unshare", "-r", "-n", "-m"][..],
    ] {
        match Command::new(args[0])
            .args(&args[1..])
            .args(["--", "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
        {
            Ok(out) if out.status.success() => return Ok(args.to_vec()),
            Ok(out) => {
                why = format!(
                    "`{} true` failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            Err(e) => return Err(format!("cannot run unshare: {e}")),
        }
    }
    Err(why)
}

/// Inside the namespace: loopback up, our resolv.conf over the real one.
fn set_up_namespace() -> Result<(), String> {
    let run = |program: &str, args: &[&str]| -> Result<(), String> {
        let out = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "`{program} {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    run("ip", &["link", "set", "lo", "up"])?;
    let file: PathBuf = env::temp_dir().join(format!(
        "turbohttp-bench-dns-{}.resolv.conf",
        std::process::id()
    ));
    std::fs::write(&file, RESOLV_CONF).map_err(|e| format!("cannot write {file:?}: {e}"))?;
    let file_arg = file.to_string_lossy().into_owned();
    let mounted = run("mount", &["--bind", &file_arg, "/etc/resolv.conf"]);
    // The mount holds the file; the name is not needed any more.
    let _ = std::fs::remove_file(&file);
    mounted?;
    let seen = std::fs::read_to_string("/etc/resolv.conf")
        .map_err(|e| format!("cannot read /etc/resolv.conf back: {e}"))?;
    if seen != RESOLV_CONF {
        return Err(format!("/etc/resolv.conf reads {seen:?} after the mount"));
    }
    Ok(())
}

fn child_main(how: String) -> i32 {
    if let Err(why) = set_up_namespace() {
        println!("{why}");
        return SETUP_FAILED;
    }
    run(&Settings::from_env(), &Place::Namespace(how))
}

/// `TURBOHTTP_BENCH_PROFILE=VARIANT,N` (`warm`, `cold`, `fresh`, `static`): no table;
/// `N` connects by turbohttp to the healthy name, on the host, one at a time, for a
/// profiler to watch (`valgrind --tool=callgrind`, `strace -c`, `perf`).
fn profile(spec: &str) -> io::Result<()> {
    let (variant, n) = spec
        .split_once(',')
        .ok_or_else(|| io::Error::other("TURBOHTTP_BENCH_PROFILE=VARIANT,N"))?;
    let via = match variant {
        "warm" => Via::Warm,
        "cold" => Via::Name,
        "fresh" => Via::Fresh,
        "static" => Via::Static,
        _ => return Err(io::Error::other("VARIANT is warm, cold, fresh or static")),
    };
    let n: u32 = n.parse().map_err(io::Error::other)?;
    let clients = Clients::new(start_lab(None)?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // The first connect fills the warm resolver's cache.
    runtime.block_on(clients.connect(Who::Dns, via, HEALTHY))?;
    let start = Instant::now();
    for _ in 0..n {
        runtime.block_on(clients.connect(Who::Dns, via, HEALTHY))?;
    }
    println!(
        "{variant}: {n} connects, {:.1} µs each",
        us(start.elapsed() / n.max(1))
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
    if let Ok(how) = env::var(CHILD_ENV) {
        let code = child_main(how);
        let _ = io::stdout().flush();
        std::process::exit(code);
    }
    let settings = Settings::from_env();
    let namespace = if env::var(NAMESPACE_ENV).is_ok_and(|v| v == "0") {
        Err(format!("{NAMESPACE_ENV}=0"))
    } else {
        find_unshare()
    };
    let why = match namespace {
        Ok(unshare) => {
            let how = unshare.join(" ");
            let child = env::current_exe().and_then(|exe| {
                Command::new(unshare[0])
                    .args(&unshare[1..])
                    .arg("--")
                    .arg(exe)
                    .env(CHILD_ENV, &how)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .output()
            });
            match child {
                Ok(out) if out.status.code() == Some(SETUP_FAILED) => format!(
                    "setting up the namespace failed: {}",
                    String::from_utf8_lossy(&out.stdout).trim()
                ),
                Ok(out) => {
                    let _ = io::stdout().write_all(&out.stdout);
                    let _ = io::stdout().flush();
                    std::process::exit(out.status.code().unwrap_or(1));
                }
                Err(e) => format!("cannot run the bench under {how}: {e}"),
            }
        }
        Err(why) => why,
    };
    eprintln!("no namespace ({why}): turbohttp's DnsResolver rows only");
    std::process::exit(run(&settings, &Place::Host(why)));
}
