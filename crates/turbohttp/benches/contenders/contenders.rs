//! Who is measured: the tokio floor, turbohttp (its default options, hyper-util's
//! options, a bare dialer), hyper-util (its default options, turbohttp's) in process; curl, the `turbohttp` command and Python asyncio as processes.

use std::env;
use std::future::{Ready, ready};
use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tower_service::Service;
use turbohttp::ConnectParams;
use turbohttp::{AttemptError, Dialer, NoResolver, RaceReport, StaticResolver, TcpDialer};
use turbohttp::{HappyEyeballs, HappyEyeballsOptions, SocketOptions};

use crate::scenarios::Target;
use crate::{ASYNCIO, HOST, TIMEOUT};

// ---------------------------------------------------------------------------------
// Who is measured

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Who {
    Floor,
    Turbo,
    /// turbohttp's race with a dialer that is a bare `TcpStream::connect`, like the
    /// floor's: the cost of the race alone, without the default socket options.
    TurboBare,
    /// turbohttp with hyper-util's default socket options (no `TCP_NODELAY`, no
    /// keepalive): the same work as [`Who::Hyper`].
    TurboHyperOpts,
    Hyper,
    /// hyper-util with turbohttp's default socket options (`TCP_NODELAY`, keepalive
    /// idle and interval 60 s): the same work as [`Who::Turbo`].
    HyperTurboOpts,
    Curl,
    Asyncio,
    Cli,
}

impl Who {
    /// The table's column order: each same-options pair side by side.
    pub(crate) const ALL: [Who; 9] = [
        Who::Floor,
        Who::Turbo,
        Who::HyperTurboOpts,
        Who::TurboHyperOpts,
        Who::Hyper,
        Who::TurboBare,
        Who::Curl,
        Who::Asyncio,
        Who::Cli,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Who::Floor => "tokio floor",
            Who::Turbo => "turbohttp",
            Who::TurboBare => "turbohttp bare dial",
            Who::TurboHyperOpts => "turbohttp, hyper-util's options",
            Who::Hyper => "hyper-util",
            Who::HyperTurboOpts => "hyper-util, turbohttp's options",
            Who::Curl => "curl",
            Who::Asyncio => "asyncio",
            Who::Cli => "turbohttp cmd",
        }
    }

    pub(crate) fn tag(self) -> &'static str {
        match self {
            Who::Floor => "floor",
            Who::Turbo => "turbo",
            Who::TurboBare => "bare",
            Who::TurboHyperOpts => "turbo-hopts",
            Who::Hyper => "hyper",
            Who::HyperTurboOpts => "hyper-topts",
            Who::Curl => "curl",
            Who::Asyncio => "asyncio",
            Who::Cli => "cli",
        }
    }

    pub(crate) fn from_tag(tag: &str) -> Option<Who> {
        Who::ALL.into_iter().find(|w| w.tag() == tag)
    }

    pub(crate) fn in_process(self) -> bool {
        matches!(
            self,
            Who::Floor
                | Who::Turbo
                | Who::TurboBare
                | Who::TurboHyperOpts
                | Who::Hyper
                | Who::HyperTurboOpts
        )
    }

    /// turbohttp's race, whatever its dialer.
    pub(crate) fn is_turbo(self) -> bool {
        matches!(self, Who::Turbo | Who::TurboBare | Who::TurboHyperOpts)
    }
}

// ---------------------------------------------------------------------------------
// In-process contenders

/// hyper-util's resolver hook: a tower service from a name to the scenario's list.
#[derive(Clone)]
pub(crate) struct ListResolver(Arc<[SocketAddr]>);

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
pub(crate) struct BareDialer;

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
pub(crate) struct Clients {
    pub(crate) target: Target,
    pub(crate) turbo: HappyEyeballs<StaticResolver<NoResolver>>,
    pub(crate) bare: HappyEyeballs<StaticResolver<NoResolver>, BareDialer>,
    pub(crate) turbo_hopts: HappyEyeballs<StaticResolver<NoResolver>>,
    pub(crate) hyper: HttpConnector<ListResolver>,
    pub(crate) hyper_topts: HttpConnector<ListResolver>,
    pub(crate) uri: Uri,
    pub(crate) cancel: CancellationToken,
}

/// turbohttp racing `addrs` (taken, not copied: the resolver keeps this very vector).
pub(crate) fn turbo_racer(
    port: u16,
    addrs: Vec<SocketAddr>,
    stagger: Duration,
) -> HappyEyeballs<StaticResolver<NoResolver>> {
    let options = HappyEyeballsOptions::default().with_family_stagger_delay(stagger);
    HappyEyeballs::default()
        .with_options(options)
        .with_resolver(StaticResolver::with_fallback(NoResolver).with_override(HOST, port, addrs))
}

/// hyper-util's socket options as turbohttp's [`SocketOptions`]: no `TCP_NODELAY`, no
/// keepalive.
pub(crate) fn hyper_options() -> SocketOptions {
    SocketOptions::default()
        .with_nodelay(false)
        .with_keepalive(None)
}

/// hyper-util's connector racing `addrs`, with its own default socket options or, with
/// `turbo_options`, turbohttp's (as far as hyper-util has them).
pub(crate) fn hyper_connector(
    addrs: Arc<[SocketAddr]>,
    stagger: Duration,
    turbo_options: bool,
) -> HttpConnector<ListResolver> {
    let mut hyper = HttpConnector::new_with_resolver(ListResolver(addrs));
    hyper.set_happy_eyeballs_timeout(Some(stagger));
    hyper.set_connect_timeout(Some(TIMEOUT));
    if turbo_options {
        let ours = SocketOptions::default();
        hyper.set_nodelay(ours.nodelay);
        hyper.set_keepalive(ours.keepalive);
        hyper.set_keepalive_interval(ours.keepalive_interval);
        hyper.set_keepalive_retries(ours.keepalive_retries);
    }
    hyper
}

pub(crate) fn bench_uri(port: u16) -> Uri {
    format!("http://{HOST}:{port}/")
        .parse()
        .expect("a valid uri")
}

impl Clients {
    pub(crate) fn new(target: &Target, stagger: Duration) -> Clients {
        let turbo = turbo_racer(target.port, target.addrs.clone(), stagger);
        let list: Arc<[SocketAddr]> = target.addrs.clone().into();
        let hyper = hyper_connector(Arc::clone(&list), stagger, false);
        let hyper_topts = hyper_connector(list, stagger, true);
        Clients {
            target: target.clone(),
            bare: turbo.clone().with_dialer(BareDialer),
            turbo_hopts: turbo.clone().with_dialer(TcpDialer {
                socket: hyper_options(),
            }),
            turbo,
            hyper,
            hyper_topts,
            uri: bench_uri(target.port),
            cancel: CancellationToken::new(),
        }
    }

    /// One connect; the connection is returned so that the caller decides when it closes.
    /// For turbohttp, the race report comes along.
    pub(crate) async fn connect(&self, who: Who) -> io::Result<(TcpStream, Option<RaceReport>)> {
        match who {
            Who::Floor => Ok((TcpStream::connect(self.target.healthy()).await?, None)),
            Who::Turbo => self.race(&self.turbo).await,
            Who::TurboBare => self.race(&self.bare).await,
            Who::TurboHyperOpts => self.race(&self.turbo_hopts).await,
            Who::Hyper | Who::HyperTurboOpts => {
                let mut connector = if who == Who::Hyper {
                    self.hyper.clone()
                } else {
                    self.hyper_topts.clone()
                };
                let io = connector
                    .call(self.uri.clone())
                    .await
                    .map_err(io::Error::other)?;
                Ok((io.into_inner(), None))
            }
            _ => Err(io::Error::other("not an in-process contender")),
        }
    }

    /// One turbohttp race, with the winner's report.
    async fn race<D: Dialer<Stream = TcpStream>>(
        &self,
        racer: &HappyEyeballs<StaticResolver<NoResolver>, D>,
    ) -> io::Result<(TcpStream, Option<RaceReport>)> {
        let won = racer
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

    pub(crate) async fn timed(&self, who: Who) -> io::Result<Duration> {
        let start = Instant::now();
        let connected = self.connect(who).await?;
        let took = start.elapsed();
        drop(connected);
        Ok(took)
    }

    /// `n` connects, `conc` at a time, on this (single-threaded) runtime: the wall time.
    pub(crate) async fn throughput(
        self: &Arc<Self>,
        who: Who,
        conc: usize,
        n: usize,
    ) -> io::Result<Duration> {
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

/// One in-process contender and nothing else, for the worker processes (scenarios 4 and
/// 6): a worker measuring one contender holds that contender's client and one copy of
/// the address list (the one its resolver keeps), so that what it measures is that
/// contender's own cost.
pub(crate) enum Client {
    /// The floor dials the healthy address only.
    Floor(SocketAddr),
    Turbo(HappyEyeballs<StaticResolver<NoResolver>>, u16),
    Bare(HappyEyeballs<StaticResolver<NoResolver>, BareDialer>, u16),
    Hyper(HttpConnector<ListResolver>, Uri),
}

impl Client {
    /// `who`'s client for `addrs` on `port`; `addrs` is moved into its resolver.
    pub(crate) fn new(
        who: Who,
        port: u16,
        addrs: Vec<SocketAddr>,
        stagger: Duration,
    ) -> io::Result<Client> {
        Ok(match who {
            Who::Floor => Client::Floor(crate::scenarios::localhost(port)),
            Who::Turbo => Client::Turbo(turbo_racer(port, addrs, stagger), port),
            Who::TurboBare => Client::Bare(
                turbo_racer(port, addrs, stagger).with_dialer(BareDialer),
                port,
            ),
            Who::TurboHyperOpts => Client::Turbo(
                turbo_racer(port, addrs, stagger).with_dialer(TcpDialer {
                    socket: hyper_options(),
                }),
                port,
            ),
            Who::Hyper | Who::HyperTurboOpts => Client::Hyper(
                hyper_connector(addrs.into(), stagger, who == Who::HyperTurboOpts),
                bench_uri(port),
            ),
            _ => return Err(io::Error::other("not an in-process contender")),
        })
    }

    /// One connect, with turbohttp's race report.
    pub(crate) async fn connect(&self) -> io::Result<(TcpStream, Option<RaceReport>)> {
        match self {
            Client::Floor(addr) => Ok((TcpStream::connect(addr).await?, None)),
            Client::Turbo(racer, port) => race_once(racer, *port).await,
            Client::Bare(racer, port) => race_once(racer, *port).await,
            Client::Hyper(connector, uri) => {
                let io = connector
                    .clone()
                    .call(uri.clone())
                    .await
                    .map_err(io::Error::other)?;
                Ok((io.into_inner(), None))
            }
        }
    }
}

/// One turbohttp race to the bench host (bounded by [`TIMEOUT`], no cancellation token),
/// with the winner's report.
async fn race_once<D: Dialer<Stream = TcpStream>>(
    racer: &HappyEyeballs<StaticResolver<NoResolver>, D>,
    port: u16,
) -> io::Result<(TcpStream, Option<RaceReport>)> {
    let won = racer
        .connect_with(HOST, port, ConnectParams::default().with_timeout(TIMEOUT))
        .await
        .map_err(io::Error::other)?;
    Ok((won.stream, Some(won.report)))
}

// ---------------------------------------------------------------------------------
// Process contenders

pub(crate) struct External {
    pub(crate) curl: Result<(), String>,
    pub(crate) python: Result<(), String>,
    pub(crate) cli: Result<PathBuf, String>,
}

pub(crate) fn probe_curl() -> Result<(), String> {
    crate::common::probe_curl().map(drop)
}

/// The `turbohttp` command: `TURBOHTTP_BENCH_CLI`, or built in release mode next to
/// this benchmark.
pub(crate) fn find_cli() -> Result<PathBuf, String> {
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

pub(crate) fn check_cli(path: PathBuf) -> Result<PathBuf, String> {
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

pub(crate) fn curl_base(target: &Target, stagger: Duration) -> Command {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-H", "Connection: close", "--max-time", "10"])
        .arg("--happy-eyeballs-timeout-ms")
        .arg(stagger.as_millis().to_string())
        .arg("--resolve")
        .arg(target.resolve_arg());
    cmd
}

pub(crate) fn cli_cmd(path: &Path, target: &Target, stagger: Duration) -> Command {
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
pub(crate) fn process_once(
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

pub(crate) fn secs(text: &str) -> io::Result<Duration> {
    let s: f64 = text
        .parse()
        .map_err(|_| io::Error::other(format!("not a number of seconds: {text:?}")))?;
    Ok(Duration::from_secs_f64(s))
}

/// The number after `"key":` in the command's JSON.
pub(crate) fn json_ms(text: &str, key: &str) -> io::Result<Duration> {
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
pub(crate) fn curl_throughput(
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
pub(crate) struct Python {
    pub(crate) child: Child,
    pub(crate) stdin: ChildStdin,
    pub(crate) stdout: BufReader<ChildStdout>,
}

impl Python {
    pub(crate) fn start() -> io::Result<Python> {
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

    pub(crate) fn ask(&mut self, line: &str) -> io::Result<Vec<u64>> {
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

pub(crate) fn parse_ok(reply: &str) -> io::Result<Vec<u64>> {
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

pub(crate) fn seconds_arg(d: Duration) -> String {
    format!("{}", d.as_secs_f64())
}
