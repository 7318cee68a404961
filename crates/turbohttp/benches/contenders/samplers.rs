//! Taking samples: connect latency, connects per second, the planner's time per
//! address, and scenario 4's fresh processes sampled from outside (socket fds, peak
//! memory), with the worker side of those processes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::env;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use turbohttp::HappyEyeballsOptions;
use turbohttp::RaceReport;
use turbohttp_proto::plan::Plan;

use crate::common::ms;
use crate::contenders::{
    Client, Clients, External, Python, Who, cli_cmd, curl_base, curl_throughput, json_ms, parse_ok,
    process_once, seconds_arg, secs,
};
use crate::scenarios::Target;
use crate::table::Results;
use crate::{ASYNCIO, HOST, MANY_ENV, WORKER_ENV};

// ---------------------------------------------------------------------------------
// The race report

/// Attempts in flight at once, from the race report's start/end offsets. A sweep over
/// the records (in start order) with a heap of the running attempts' ends: memory for
/// those in flight only, because this runs inside scenario 4's worker before its peak
/// memory is read (a list of every start and end was 78 B per address of the peak at
/// 5,000 addresses, counted against turbohttp alone).
pub(crate) fn max_in_flight(report: &RaceReport) -> usize {
    let mut running: BinaryHeap<Reverse<Duration>> = BinaryHeap::new();
    let mut max = 0;
    for a in &report.attempts {
        // An end at the instant of a start frees its slot first: reused, not two at once.
        while running.peek().is_some_and(|Reverse(end)| *end <= a.started) {
            running.pop();
        }
        running.push(Reverse(a.ended.unwrap_or(report.elapsed)));
        max = max.max(running.len());
    }
    max
}

// ---------------------------------------------------------------------------------
// Scenario 4: one fresh process per connect, sampled from outside

#[derive(Debug, Clone, Copy)]
pub(crate) struct S4Sample {
    pub(crate) took: Duration,
    /// The most socket fds the process had open at once (sampled).
    pub(crate) peak_sockets: usize,
    /// VmHWM, KiB (sampled until the connect was done).
    pub(crate) hwm_kib: u64,
    /// turbohttp only: attempts in flight at once, from the race report.
    pub(crate) in_flight: Option<usize>,
}

/// Samples a process's socket fds and VmHWM as fast as it can until told to stop.
pub(crate) struct Sampler {
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) handle: thread::JoinHandle<(usize, u64)>,
}

impl Sampler {
    pub(crate) fn start(pid: u32) -> Sampler {
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

    pub(crate) fn finish(self) -> (usize, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or((0, 0))
    }
}

pub(crate) fn wait_with_deadline(
    child: &mut Child,
    limit: Duration,
) -> io::Result<std::process::ExitStatus> {
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
pub(crate) fn s4_once(
    who: Who,
    ext: &External,
    target: &Target,
    warm: &Target,
    stagger: Duration,
) -> io::Result<S4Sample> {
    let (mut cmd, speaks) = match who {
        Who::Floor
        | Who::Turbo
        | Who::TurboBare
        | Who::TurboHyperOpts
        | Who::Hyper
        | Who::HyperTurboOpts => {
            let mut cmd = Command::new(env::current_exe()?);
            cmd.env(
                WORKER_ENV,
                format!("{}|{}|{}", who.tag(), stagger.as_millis(), warm.spec()),
            );
            (cmd, true)
        }
        Who::Asyncio => {
            let mut cmd = Command::new("python3");
            cmd.args(["-c", ASYNCIO, "once"])
                .arg(seconds_arg(stagger))
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
        // The target goes through stdin, one address a line, so that the worker holds no
        // copy of the whole list beside its contender's. The worker prints its result and
        // keeps its connection until stdin closes.
        let mut stdin = child.stdin.take().expect("piped stdin");
        target.write_lines(&mut stdin)?;
        stdin.flush()?;
        child.stdin = Some(stdin);
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
            let in_flight = who.is_turbo().then(|| values.get(1).copied()).flatten();
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

/// The worker side of [`s4_once`] for the in-process contenders: one warm-up connect to
/// the warm-up target, then one timed connect to the target read from stdin. The
/// worker builds only the contender it measures, and the target's address list exists
/// once, in that contender's resolver.
pub(crate) fn worker(spec: &str) -> io::Result<()> {
    let mut parts = spec.split('|');
    let (Some(who), Some(stagger), Some(warm)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(io::Error::other("bad worker spec"));
    };
    let who = Who::from_tag(who).ok_or_else(|| io::Error::other("bad contender"))?;
    let stagger = Duration::from_millis(stagger.parse().map_err(io::Error::other)?);
    let warm = Target::parse_spec(warm).ok_or_else(|| io::Error::other("bad warm-up target"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        {
            let client = Client::new(who, warm.port, warm.addrs, stagger)?;
            drop(client.connect().await?);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
        let target = Target::read_lines(&mut io::stdin().lock())?;
        let client = Client::new(who, target.port, target.addrs, stagger)?;
        let start = Instant::now();
        let (stream, report) = client.connect().await?;
        let took = start.elapsed();
        let in_flight = report.as_ref().map_or(0, max_in_flight);
        drop(report);
        println!("ok {} {in_flight}", took.as_nanos());
        io::stdout().flush()?;
        let mut rest = Vec::new();
        io::stdin().read_to_end(&mut rest)?;
        drop(stream);
        Ok(())
    })
}

// ---------------------------------------------------------------------------------
// Scenario 6: many races at once, in a fresh process with a raised fd limit

/// One burst of `n` concurrent connects, as the process that made it measured it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ManySample {
    /// Wall time: from the first spawn until the last task is joined (every connect
    /// done and its connection closed): how long a program waiting for the burst waits.
    pub(crate) wall: Duration,
    /// User + system CPU time of the process over the burst.
    pub(crate) cpu: Duration,
    /// VmHWM growth over the burst, KiB.
    pub(crate) hwm_kib: u64,
    /// Connections that ended up on IPv6 (scenario 6b: must be none).
    pub(crate) v6: usize,
    /// The earliest single connect (scenario 6b: not before the stagger).
    pub(crate) first: Duration,
    /// Each connect's latency (from the burst's start, the first spawn, until that
    /// connect is done), nearest rank: the median, the 99th percentile and the largest.
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) max: Duration,
    /// The fd soft limit of the process.
    pub(crate) fd_limit: u64,
}

impl ManySample {
    /// The worker's reply (and the asyncio worker's):
    /// `ok WALL_NS CPU_NS HWM_GROWTH_KIB V6 FIRST_NS FD_LIMIT P50_NS P99_NS MAX_NS`.
    pub(crate) fn ok_line(&self) -> String {
        format!(
            "ok {} {} {} {} {} {} {} {} {}",
            self.wall.as_nanos(),
            self.cpu.as_nanos(),
            self.hwm_kib,
            self.v6,
            self.first.as_nanos(),
            self.fd_limit,
            self.p50.as_nanos(),
            self.p99.as_nanos(),
            self.max.as_nanos()
        )
    }

    pub(crate) fn parse(line: &str) -> io::Result<ManySample> {
        let values = parse_ok(line)?;
        let [wall, cpu, hwm_kib, v6, first, fd_limit, p50, p99, max] = values[..] else {
            return Err(io::Error::other(format!("bad reply {line:?}")));
        };
        Ok(ManySample {
            wall: Duration::from_nanos(wall),
            cpu: Duration::from_nanos(cpu),
            hwm_kib,
            v6: usize::try_from(v6).unwrap_or(usize::MAX),
            first: Duration::from_nanos(first),
            p50: Duration::from_nanos(p50),
            p99: Duration::from_nanos(p99),
            max: Duration::from_nanos(max),
            fd_limit,
        })
    }
}

/// The value at nearest rank `pct` % of sorted `values` (the same rule as asyncio.py's
/// `many` mode: rank ⌈n × pct ÷ 100⌉, integers only).
pub(crate) fn nearest_rank(sorted: &[u64], pct: usize) -> u64 {
    let rank = (sorted.len() * pct)
        .div_ceil(100)
        .clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or(0)
}

/// The fds a burst of `n` races to `addresses` addresses each may hold at once: in 6a
/// one socket a race; in 6b, at the stagger, every race has its stalled IPv6 socket and
/// its IPv4 one open (turbohttp's precise timers, at most 64 in a process, fit in the
/// slack).
pub(crate) fn fds_wanted(n: usize, addresses: usize) -> usize {
    n * addresses.max(1) + 256
}

/// `sh -c 'ulimit -n WANT || ulimit -Sn HARD; exec PROGRAM ARGS'`: the fd soft limit
/// raised for one child, without `unsafe` here (as root the hard limit rises to `want`
/// too; otherwise the soft limit goes up to the hard one).
pub(crate) fn with_fd_limit(want: usize, program: &std::ffi::OsStr) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "ulimit -n {want} 2>/dev/null || ulimit -Sn \"$(ulimit -Hn)\" 2>/dev/null; exec \"$@\""
        ))
        .arg("sh")
        .arg(program);
    cmd
}

/// One scenario 6 burst by `who` in a fresh process: `n` connects to `target` at once,
/// after one warm-up connect to `warm`.
pub(crate) fn many_once(
    who: Who,
    n: usize,
    target: &Target,
    warm: &Target,
    stagger: Duration,
) -> io::Result<ManySample> {
    let want = fds_wanted(n, target.addrs.len());
    let mut cmd = match who {
        Who::Asyncio => {
            let mut cmd = with_fd_limit(want, "python3".as_ref());
            cmd.args(["-c", ASYNCIO, "many"])
                .arg(seconds_arg(stagger))
                .arg(n.to_string())
                .arg(warm.spec());
            cmd
        }
        w if w.in_process() => {
            let mut cmd = with_fd_limit(want, env::current_exe()?.as_os_str());
            cmd.env(
                MANY_ENV,
                format!("{}|{}|{n}|{}", who.tag(), stagger.as_millis(), warm.spec()),
            );
            cmd
        }
        _ => return Err(io::Error::other("no many-at-once mode")),
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    target.write_lines(&mut stdin)?;
    stdin.flush()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line)?;
    drop(stdin);
    let status = wait_with_deadline(&mut child, Duration::from_secs(60))?;
    ManySample::parse(&line).map_err(|_| {
        let mut err = String::new();
        if let Some(mut s) = child.stderr.take() {
            let _ = s.read_to_string(&mut err);
        }
        let line = line.trim();
        io::Error::other(format!(
            "{} ({status}) {}",
            line.strip_prefix("err ").unwrap_or(line),
            err.trim()
        ))
    })
}

/// VmHWM of this process, KiB.
pub(crate) fn own_hwm_kib() -> io::Result<u64> {
    std::fs::read_to_string("/proc/self/status")?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::other("no VmHWM in /proc/self/status"))
}

/// This process's fd soft limit, from `/proc/self/limits` (0 if unknown).
pub(crate) fn own_fd_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("Max open files"))?;
            line["Max open files".len()..]
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Raises this process's fd soft limit to `want` (at most the hard limit), as
/// [`with_fd_limit`] does for a worker: the profile mode's burst runs in this process.
/// Returns the soft limit now in force (0 if unknown).
#[cfg(target_os = "linux")]
pub(crate) fn raise_fd_limit(want: u64) -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current.is_some_and(|soft| soft < want) {
        let soft = limit.maximum.map_or(want, |hard| hard.min(want));
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(soft),
                maximum: limit.maximum,
            },
        );
    }
    own_fd_limit()
}

/// Elsewhere the limit stays as it is.
#[cfg(not(target_os = "linux"))]
pub(crate) fn raise_fd_limit(_want: u64) -> u64 {
    own_fd_limit()
}

/// User + system CPU time of this process (`CLOCK_PROCESS_CPUTIME_ID`, the clock
/// Python's `time.process_time_ns` reads). Zero under valgrind (its preload library in
/// `LD_PRELOAD`): its tools crash in rustix's vDSO lookup, and a CPU time taken under
/// them means nothing anyway.
#[cfg(target_os = "linux")]
pub(crate) fn own_cpu() -> Duration {
    if env::var_os("LD_PRELOAD").is_some_and(|p| p.to_string_lossy().contains("vgpreload")) {
        return Duration::ZERO;
    }
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// Elsewhere: `/proc/self/stat`'s utime + stime, at 100 ticks a second.
#[cfg(not(target_os = "linux"))]
pub(crate) fn own_cpu() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_owned();
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// `n` connects at once by `client`, each its own task on the current (current-thread)
/// runtime, each connection closed as soon as it is made: scenario 6's burst, in its
/// worker and in the profile mode. Before the burst starts, the buffer for every
/// connect's latency is written through (so that its pages are not counted in the
/// burst's peak RSS growth), then VmHWM and the process's CPU time are read.
pub(crate) async fn burst(client: Arc<Client>, n: usize) -> io::Result<ManySample> {
    let mut took_ns: Vec<u64> = vec![u64::MAX; n];
    std::hint::black_box(&mut took_ns);
    took_ns.clear();
    let mut set = tokio::task::JoinSet::new();
    let (hwm0, cpu0) = (own_hwm_kib()?, own_cpu());
    let start = Instant::now();
    for _ in 0..n {
        let client = Arc::clone(&client);
        set.spawn(async move {
            let (stream, _) = client.connect().await?;
            let took = start.elapsed();
            io::Result::Ok((took, stream.peer_addr()?.is_ipv6()))
        });
    }
    let mut v6 = 0usize;
    let (mut failed, mut why) = (0usize, None);
    while let Some(done) = set.join_next().await {
        match done.map_err(io::Error::other).and_then(|r| r) {
            Ok((took, on_v6)) => {
                took_ns.push(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX));
                v6 += usize::from(on_v6);
            }
            Err(e) => {
                failed += 1;
                why.get_or_insert(e);
            }
        }
    }
    let wall = start.elapsed();
    let (cpu, hwm) = (own_cpu().saturating_sub(cpu0), own_hwm_kib()?);
    if let Some(e) = why {
        return Err(io::Error::other(format!(
            "{failed} of {n} failed (fd soft limit {}), first: {e}",
            own_fd_limit()
        )));
    }
    took_ns.sort_unstable();
    let rank = |pct| Duration::from_nanos(nearest_rank(&took_ns, pct));
    Ok(ManySample {
        wall,
        cpu,
        hwm_kib: hwm.saturating_sub(hwm0),
        v6,
        first: rank(0),
        p50: rank(50),
        p99: rank(99),
        max: rank(100),
        fd_limit: own_fd_limit(),
    })
}

/// The worker side of [`many_once`]: `who` makes one warm-up connect, builds its one
/// client, makes the [`burst`] and prints [`ManySample::ok_line`], then waits for stdin
/// to close.
pub(crate) fn many_worker(spec: &str) -> io::Result<()> {
    let mut parts = spec.split('|');
    let (Some(who), Some(stagger), Some(n), Some(warm)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(io::Error::other("bad worker spec"));
    };
    let who = Who::from_tag(who).ok_or_else(|| io::Error::other("bad contender"))?;
    let stagger = Duration::from_millis(stagger.parse().map_err(io::Error::other)?);
    let n: usize = n.parse().map_err(io::Error::other)?;
    let warm = Target::parse_spec(warm).ok_or_else(|| io::Error::other("bad warm-up target"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        {
            let client = Client::new(who, warm.port, warm.addrs, stagger)?;
            drop(client.connect().await?);
        }
        let target = Target::read_lines(&mut io::stdin().lock())?;
        let client = Arc::new(Client::new(who, target.port, target.addrs, stagger)?);
        let sample = burst(client, n).await?;
        println!("{}", sample.ok_line());
        io::stdout().flush()?;
        let mut rest = Vec::new();
        io::stdin().read_to_end(&mut rest)?;
        Ok(())
    })
}

// ---------------------------------------------------------------------------------
// Latency, connects per second, the planner

/// Scenarios 1 to 3 for one target: `who` connects `batch` times, each sample stored
/// under `key` (time in `unit`), or, for s1, also throughput.
#[allow(clippy::too_many_arguments)]
pub(crate) fn latency_batch(
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
        Who::Floor
        | Who::Turbo
        | Who::TurboBare
        | Who::TurboHyperOpts
        | Who::Hyper
        | Who::HyperTurboOpts => {
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

pub(crate) fn throughput(
    runtime: &tokio::runtime::Runtime,
    who: Who,
    clients: &Arc<Clients>,
    python: &mut Option<Python>,
    conc: usize,
    n: usize,
) -> Option<io::Result<f64>> {
    let stagger = clients.turbo.options().family_stagger_delay;
    let wall = match who {
        Who::Floor
        | Who::Turbo
        | Who::TurboBare
        | Who::TurboHyperOpts
        | Who::Hyper
        | Who::HyperTurboOpts => runtime.block_on(clients.throughput(who, conc, n)),
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

pub(crate) fn planner_rows(results: &mut Results, rounds: usize) {
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
