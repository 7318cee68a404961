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
//! criterion bench `planner` measures it more finely); (6) many connects at once from
//! one runtime, each burst in a fresh worker process with a raised fd limit, to (a) a
//! healthy `127.0.0.1:P` (1,000 and 10,000 at once) and (b) a stalled `[::1]:P` then a
//! healthy `127.0.0.1:P` (1,000 and 8,000 at once): per burst, the wall time (first
//! spawn to last task joined), each connect's latency from the burst's start (p50, p99,
//! max), the process's CPU time and peak RSS growth per race.
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
//! * `TURBOHTTP_BENCH_MANY=N1,N2`: scenario 6a's counts, healthy (default 1,000 and
//!   10,000; smoke 20 and 50).
//! * `TURBOHTTP_BENCH_MANY_STALLED=N1,N2`: scenario 6b's counts, `[::1]` stalled
//!   (default 1,000 and 8,000, since each race holds two fds at the stagger and 8,000
//!   fit a hard limit of 20,000; smoke 20 and 50).
//! * `TURBOHTTP_BENCH_PROFILE=WHO,s1|s4,N`: no table; `N` connects by one in-process
//!   contender (`floor`, `turbo`, `bare`, `turbo-hopts`, `hyper`, `hyper-topts`), one at
//!   a time, for `valgrind`, `strace` or `perf`.
//! * `TURBOHTTP_BENCH_PROFILE=WHO,s6,N`: no table; one scenario 6a burst of `N` connects
//!   at once by that contender, in this process, against listeners that never accept
//!   (no server thread: a profiler sees only the burst), printing its wall time, CPU,
//!   peak RSS growth and first/p50/p99/max latency; the burst runs inside the frame
//!   `profiled_burst`. `s6b`: the same burst as scenario 6b, a stalled `[::1]:P` listed
//!   before those listeners.
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
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{ms, us};
use contenders::{Client, Clients, Who};
use samplers::{ManySample, burst, fds_wanted, many_worker, raise_fd_limit, worker};
use scenarios::{Target, localhost, refusing, start_servers, unaccepted_group};
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
    /// Scenario 6a (healthy): how many connects at once (one or two counts; default
    /// 1,000 and 10,000, smoke 20 and 50).
    pub(crate) many: Vec<usize>,
    /// Scenario 6b (`[::1]` stalled): the same (default 1,000 and 8,000, smoke 20 and 50).
    pub(crate) many_stalled: Vec<usize>,
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
        // `N1,N2` (at most two counts, `_` allowed as a separator), else the defaults.
        let counts = |name: &str, default: [usize; 2]| {
            env::var(name)
                .ok()
                .map(|v| {
                    v.split(',')
                        .filter_map(|s| s.trim().replace('_', "").parse().ok())
                        .filter(|&n: &usize| n > 0)
                        .take(2)
                        .collect()
                })
                .filter(|v: &Vec<usize>| !v.is_empty())
                .unwrap_or_else(|| default.to_vec())
        };
        Self {
            smoke,
            runs: runs.max(1),
            rounds: rounds.max(1),
            batch: if smoke { 3 } else { 25 },
            tp_n: if smoke { 64 } else { 512 },
            stagger: Duration::from_millis(u64::try_from(stagger_ms).unwrap_or(250).max(10)),
            bad: 1000,
            many: counts(
                "TURBOHTTP_BENCH_MANY",
                if smoke { [20, 50] } else { [1_000, 10_000] },
            ),
            many_stalled: counts(
                "TURBOHTTP_BENCH_MANY_STALLED",
                if smoke { [20, 50] } else { [1_000, 8_000] },
            ),
            scenarios: env::var("TURBOHTTP_BENCH_SCENARIOS")
                .ok()
                .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
                .filter(|v: &Vec<u8>| !v.is_empty())
                .unwrap_or_else(|| vec![1, 2, 3, 4, 5, 6]),
        }
    }
}

/// `TURBOHTTP_BENCH_PROFILE=WHO,SCENARIO,N` (`turbo|hyper|floor|...`,
/// `s1|s4|s6|s6b`): only `N` connects by one in-process contender, for a profiler to
/// watch (`valgrind --tool=callgrind`, `strace -c`, `perf stat`): `s1` and `s4` one at a
/// time, `s6` and `s6b` all at once (one burst, [`profile_burst`]).
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
    let n: usize = n.replace('_', "").parse().map_err(io::Error::other)?;
    if scenario == "s6" || scenario == "s6b" {
        return profile_burst(who, n.max(1), scenario == "s6b");
    }
    let servers = start_servers()?;
    let mut addrs: Vec<SocketAddr> = match scenario {
        "s1" => Vec::new(),
        "s4" => refusing(1000)
            .into_iter()
            .map(|ip| SocketAddr::new(IpAddr::V4(ip), servers.p1))
            .collect(),
        _ => return Err(io::Error::other("SCENARIO is s1, s4, s6 or s6b")),
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

/// `TURBOHTTP_BENCH_PROFILE=WHO,s6,N`: one scenario 6a burst of `n` connects at once by
/// `who` in this process (one warm-up connect first), against listeners that never
/// accept ([`unaccepted_group`]), so that the process runs nothing but the contender and
/// its runtime; the fd soft limit is raised first, as for scenario 6's workers. With
/// `stalled` (`s6b`), scenario 6b's burst: a stalled `[::1]:P` listed first.
fn profile_burst(who: Who, n: usize, stalled: bool) -> io::Result<()> {
    let want = fds_wanted(n, if stalled { 2 } else { 1 });
    let fd_limit = raise_fd_limit(want as u64);
    let (target, _listeners, _stalled) = unaccepted_group(n, stalled)?;
    let stagger = Settings::from_env().stagger;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = Client::new(who, target.port, target.addrs.clone(), stagger)?;
        drop(client.connect().await?);
        io::Result::Ok(())
    })?;
    let client = Arc::new(Client::new(who, target.port, target.addrs, stagger)?);
    let b = profiled_burst(&runtime, client, n)?;
    println!(
        "{} s6{}: {n} connects at once ({}), wall {:.1} ms, CPU {:.1} ms ({:.1} µs per \
         race), peak RSS growth {} KiB ({:.0} B per race), latency first {:.1} ms, p50 {:.1} ms, \
         p99 {:.1} ms, max {:.1} ms",
        who.name(),
        if stalled { "b" } else { "" },
        if stalled { "[::1] stalled" } else { "healthy" },
        ms(b.wall),
        ms(b.cpu),
        us(b.cpu) / n as f64,
        b.hwm_kib,
        b.hwm_kib as f64 * 1024.0 / n as f64,
        ms(b.first),
        ms(b.p50),
        ms(b.p99),
        ms(b.max)
    );
    if fd_limit < want as u64 {
        eprintln!("note: the fd soft limit is {fd_limit}, under the {want} this burst may need");
    }
    if stalled && who != Who::Floor && (b.v6 > 0 || b.first < stagger) {
        eprintln!(
            "note: the stalled [::1] let connects through: {} on IPv6, the first after {:.1} ms",
            b.v6,
            ms(b.first)
        );
    }
    // Past the stagger, for 6b: its connects wait for the stagger by design.
    let slow = Duration::from_secs(1) + if stalled { stagger } else { Duration::ZERO };
    if b.max >= slow {
        eprintln!("note: a connect took over 1 s: a SYN was probably dropped and retransmitted");
    }
    Ok(())
}

/// The burst driven to completion on `runtime`: a named frame for a profiler
/// (`--toggle-collect='*profiled_burst*'`), holding the spawns, the contender's connects
/// and the runtime's polling of them.
#[inline(never)]
fn profiled_burst(
    runtime: &tokio::runtime::Runtime,
    client: Arc<Client>,
    n: usize,
) -> io::Result<ManySample> {
    runtime.block_on(burst(client, n))
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
