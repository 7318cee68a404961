//! Taking samples: connect latency, connects per second, the planner's time per
//! address, and scenario 4's fresh processes sampled from outside (socket fds, peak
//! memory), with the worker side of those processes.

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
use turbohttp::transport::connection::RaceReport;
use turbohttp::transport::connection::happy_eyeballs::plan::Plan;

use crate::common::ms;
use crate::contenders::{
    Clients, External, Python, Who, cli_cmd, curl_base, curl_throughput, json_ms, parse_ok,
    process_once, seconds_arg, secs,
};
use crate::scenarios::Target;
use crate::table::Results;
use crate::{ASYNCIO, HOST, WORKER_ENV};

// ---------------------------------------------------------------------------------
// The race report

/// Attempts in flight at once, from the race report's start/end offsets.
pub(crate) fn max_in_flight(report: &RaceReport) -> usize {
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

/// The worker side of [`s4_once`] for the in-process contenders.
pub(crate) fn worker(spec: &str) -> io::Result<()> {
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
