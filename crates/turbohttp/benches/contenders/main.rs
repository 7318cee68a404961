//! turbohttp side by side with the raw tokio floor, hyper-util, curl and Python asyncio,
//! on loopback only (127.0.0.0/8 and ::1), interleaved, printing one table (and under it
//! the same-options ratios).
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
//! criterion bench `planner` measures it more finely); (6) 1,000 and 10,000 connects at
//! once from one runtime, each burst in a fresh worker process with a raised fd limit,
//! to (a) a healthy `127.0.0.1:P` and (b) a stalled `[::1]:P` then a healthy
//! `127.0.0.1:P`: time until all are connected, CPU and peak RSS growth per race.
//!
//! Environment:
//! * `TURBOHTTP_BENCH_SMOKE=1`: a few samples per contender (CI keeps this compiling and
//!   running); no number it prints means anything.
//! * `TURBOHTTP_BENCH_RUNS=R`: how many times the whole set of rounds is run (default 5;
//!   smoke 2). Each cell is the median over the runs of each run's statistic, with the
//!   runs' minimum and maximum beside it, so that the spread of a row is in the table.
//! * `TURBOHTTP_BENCH_ITERS=N`: rounds per scenario in each run (default 8; smoke 1).
//! * `TURBOHTTP_BENCH_STAGGER_MS=N`: the stagger delay given to every racer (default 250).
//! * `TURBOHTTP_BENCH_CLI=PATH`: the `turbohttp` binary to use (default: built here with
//!   `cargo build --release -p turbohttp-cli`); `skip` leaves the command out.
//! * `TURBOHTTP_BENCH_SCENARIOS=1,3`: run only these scenarios.
//! * `TURBOHTTP_BENCH_MANY=N1,N2`: scenario 6's counts (default 1,000 and 10,000; smoke
//!   20 and 50).
//! * `TURBOHTTP_BENCH_PROFILE=WHO,s1|s4,N`: no table; `N` connects by one in-process
//!   contender (`floor`, `turbo`, `bare`, `turbo-hopts`, `hyper`, `hyper-topts`), for
//!   `valgrind`, `strace` or `perf`.
//!
//! BENCHMARKS.md (at the workspace root) has a full run and how to read it.
//!
//! A contender that cannot run (curl or python3 missing, no `::1`) is skipped with the
//! reason printed under the table.
//!
//! The harness is split by concern: `contenders.rs` (who is measured and how each one
//! connects), `scenarios.rs` (the loopback servers, the address lists and the run),
//! `samplers.rs` (timing, rate, the memory/socket sampling of scenario 4 and the workers
//! of scenarios 4 and 6) and
//! `table.rs` (the rows and the printed tables). `../support/common.rs` is shared with
//! the `dns` bench.

#[path = "../support/common.rs"]
mod common;
mod contenders;
mod samplers;
mod scenarios;
mod table;

use std::env;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use common::us;
use contenders::{Clients, Who};
use samplers::{many_worker, worker};
use scenarios::{Target, localhost, refusing, start_servers};
use table::render;

/// The name every contender resolves, through its own hook, to the scenario's list.
pub(crate) const HOST: &str = "bench.test";
/// The bound on one connect, for every contender.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);
/// The asyncio contender.
pub(crate) const ASYNCIO: &str = include_str!("asyncio.py");
/// The env variable that turns this binary into a one-shot scenario 4 worker.
pub(crate) const WORKER_ENV: &str = "TURBOHTTP_BENCH_WORKER";
/// The env variable that turns this binary into a one-shot scenario 6 worker.
pub(crate) const MANY_ENV: &str = "TURBOHTTP_BENCH_MANY_WORKER";

// ---------------------------------------------------------------------------------
// Settings

#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) smoke: bool,
    /// Runs of the whole set of rounds; the table shows their spread.
    pub(crate) runs: usize,
    /// Rounds per scenario in each run.
    pub(crate) rounds: usize,
    /// Connects per contender per round in scenario 1 (latency) and 3.
    pub(crate) batch: usize,
    /// Connects per throughput measurement.
    pub(crate) tp_n: usize,
    pub(crate) stagger: Duration,
    /// Refusing addresses in scenario 4.
    pub(crate) bad: usize,
    /// Scenario 6: how many connects at once (one or two counts; default 1,000 and
    /// 10,000, smoke 20 and 50).
    pub(crate) many: Vec<usize>,
    /// `TURBOHTTP_BENCH_SCENARIOS=1,3`: run only these scenarios (default all).
    pub(crate) scenarios: Vec<u8>,
}

impl Settings {
    pub(crate) fn from_env() -> Self {
        let smoke = env::var("TURBOHTTP_BENCH_SMOKE").is_ok_and(|v| !v.is_empty() && v != "0");
        let number = |name: &str| {
            env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
        };
        let runs = number("TURBOHTTP_BENCH_RUNS").unwrap_or(if smoke { 2 } else { 5 });
        let rounds = number("TURBOHTTP_BENCH_ITERS").unwrap_or(if smoke { 1 } else { 8 });
        let stagger_ms = number("TURBOHTTP_BENCH_STAGGER_MS").unwrap_or(250);
        Self {
            smoke,
            runs: runs.max(1),
            rounds: rounds.max(1),
            batch: if smoke { 3 } else { 25 },
            tp_n: if smoke { 64 } else { 512 },
            stagger: Duration::from_millis(u64::try_from(stagger_ms).unwrap_or(250).max(10)),
            bad: 1000,
            many: env::var("TURBOHTTP_BENCH_MANY")
                .ok()
                .map(|v| {
                    v.split(',')
                        .filter_map(|s| s.trim().replace('_', "").parse().ok())
                        .filter(|&n: &usize| n > 0)
                        .take(2)
                        .collect()
                })
                .filter(|v: &Vec<usize>| !v.is_empty())
                .unwrap_or_else(|| {
                    if smoke {
                        vec![20, 50]
                    } else {
                        vec![1_000, 10_000]
                    }
                }),
            scenarios: env::var("TURBOHTTP_BENCH_SCENARIOS")
                .ok()
                .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
                .filter(|v: &Vec<u8>| !v.is_empty())
                .unwrap_or_else(|| vec![1, 2, 3, 4, 5, 6]),
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
        .ok_or_else(|| {
            io::Error::other("WHO is floor, turbo, bare, turbo-hopts, hyper or hyper-topts")
        })?;
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
    let mut took = Vec::with_capacity(n);
    for _ in 0..n {
        took.push(profiled_connect(&runtime, &clients, who)?);
    }
    let each = start.elapsed() / u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    took.sort();
    let at = |q: f64| took.get(((took.len() as f64 - 1.0) * q) as usize).copied();
    let (median, p99) = (at(0.5).unwrap_or_default(), at(0.99).unwrap_or_default());
    println!(
        "{} {scenario}: {n} connects, {:.1} µs each (wall), median {:.1} µs, p99 {:.1} µs",
        who.name(),
        us(each),
        us(median),
        us(p99)
    );
    Ok(())
}

/// One connect driven to completion on `runtime`: a named frame for a profiler to
/// count from (`valgrind --tool=callgrind --toggle-collect='*profiled_connect*'`), so
/// that the count holds the contender's connect and the runtime's polling of it, and
/// nothing of the servers' thread.
#[inline(never)]
fn profiled_connect(
    runtime: &tokio::runtime::Runtime,
    clients: &Clients,
    who: Who,
) -> io::Result<Duration> {
    runtime.block_on(clients.timed(who))
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
    if let Ok(spec) = env::var(MANY_ENV) {
        if let Err(e) = many_worker(&spec) {
            println!("err {e}");
            std::process::exit(1);
        }
        return;
    }
    let settings = Settings::from_env();
    let results = scenarios::run(&settings);
    println!();
    print!("{}", render(&results, &settings));
    // The library failing is a bug worth a red CI; other contenders only get a note.
    if results.errors.keys().any(|(_, w)| w.is_turbo()) {
        std::process::exit(1);
    }
}
