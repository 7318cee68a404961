//! What one race costs in a burst (issue 21: 10,000 connects at once): the growth of
//! the process's peak resident set (`VmHWM`, as the contenders benchmark reads it) per
//! connect, with N connects spawned at once on one runtime, each waiting at its
//! stagger with its IPv6 attempt in flight, as a burst against a black-holed IPv6 path
//! spends most of its time. The dialer never completes, so no socket is involved: what
//! is measured is the task, the connect's future and the race's heap.
//!
//! Each N runs in child processes of its own (this test binary again), the least of
//! three counted, as the core's memory test does: one run's peak can hide another's.

use std::future::Future;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use turbohttp::{
    AttemptError, ConnectParams, Dialer, HappyEyeballs, HappyEyeballsOptions, NoResolver,
    StaticResolver,
};

/// Bytes of peak growth per connect, at each burst size, with room for the spread
/// between machines. Measured on a 2-vCPU x86_64 Linux guest, debug build, the least
/// of three runs, three times: 3.6-4.0 kB at 1,000, 2.5-2.7 kB at 10,000 (the test
/// prints its numbers); since the race keeps its bookkeeping off the heap while it
/// has one attempt (issue 21): 3.5 kB at 1,000, 2.65 kB at 10,000. hyper-util's
/// HttpConnector was measured at about 0.65 kB per connect in the same burst (issue
/// 21): this budget is where we are, not the goal.
const BUDGET_PER_RACE: [(usize, f64); 2] = [(1_000, 4_200.0), (10_000, 3_200.0)];
const CHILD_ENV: &str = "TURBOHTTP_BURST_MEMORY_CHILD";
const CHILD_RUNS: usize = 3;

/// An attempt that never ends: the race waits at its stagger.
#[derive(Clone, Copy)]
struct NeverDialer;

impl Dialer for NeverDialer {
    type Stream = ();

    fn dial(&self, _addr: SocketAddr) -> impl Future<Output = Result<(), AttemptError>> + Send {
        std::future::pending()
    }
}

fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status")
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// The child: N connects at once, then the peak growth per connect on stdout.
#[test]
fn child() {
    let Some(n) = std::env::var(CHILD_ENV)
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let addrs: [SocketAddr; 2] = [
        "[2001:db8::1]:443".parse().unwrap(),
        "192.0.2.1:443".parse().unwrap(),
    ];
    let connector = HappyEyeballs::from_parts(
        HappyEyeballsOptions::default(),
        StaticResolver::with_fallback(NoResolver).with_override("burst.test", 443, addrs),
        NeverDialer,
    );
    let before = peak_kib();
    let grown = runtime.block_on(async {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let connector = connector.clone();
                tokio::spawn(async move {
                    let params = ConnectParams::default().with_timeout(Duration::from_secs(60));
                    let _ = connector.connect_with("burst.test", 443, params).await;
                })
            })
            .collect();
        // Every task runs until its race waits at the stagger (250 ms away).
        tokio::time::sleep(Duration::from_millis(20)).await;
        let grown = peak_kib().saturating_sub(before);
        for task in &tasks {
            task.abort();
        }
        grown
    });
    #[allow(clippy::cast_precision_loss)] // kilobytes over thousands: far below 2^52
    let per_race = (grown * 1024) as f64 / n as f64;
    println!("peak growth per race: {per_race:.0}");
}

fn measured_once(n: usize) -> f64 {
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, n.to_string())
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.split_once("peak growth per race: "))
        .map(|(_, bytes)| bytes.trim().parse().expect("a number"))
        .expect("the child reports")
}

#[test]
#[cfg(target_os = "linux")]
fn a_race_in_a_burst_stays_within_its_budget() {
    let mut over = Vec::new();
    for (n, budget) in BUDGET_PER_RACE {
        let per_race = (0..CHILD_RUNS)
            .map(|_| measured_once(n))
            .min_by(f64::total_cmp)
            .expect("runs");
        println!("{n} connects at once: {per_race:.0} B per race (budget {budget})");
        if per_race > budget {
            over.push(format!("{n} at once: {per_race:.0} B > {budget} B"));
        }
    }
    assert!(over.is_empty(), "over budget: {over:?}");
}
