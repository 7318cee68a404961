//! Soak with faults, on real loopback sockets: thousands of races of the real transport
//! over random address lists drawn from a fault server (echo, reset, silent, refused,
//! stalled, TLS, TLS with a bad certificate), with random options, some cancelled at
//! random moments, some with tiny timeouts, 32 at a time on a multi-thread runtime.
//!
//! After every batch the process's descriptor count is back to its baseline; every
//! winner's stream carries bytes end to end; every record is in attempt order and
//! tells its endpoint's true fault; no connect overruns its timeout by more than a
//! scheduling margin; resident memory stays flat.
//!
//! Bounded for CI (2,000 races). For a long local soak:
//!
//! ```text
//! TURBOHTTP_SOAK_RACES=100000 cargo test --release -p turbohttp --test faulty_servers -- --nocapture
//! ```
//!
//! (`TURBOHTTP_SOAK_SEED` picks another sequence of races.) This file holds one test so
//! that nothing else in the process opens descriptors while it counts them.

mod support;

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::panic::resume_unwind;
use std::time::{Duration, Instant};
use support::fault_server;
use turbohttp::ConnectParams;

use fault_server::{Endpoint, Fault, FaultServer, Pki, memory_kib, open_fds};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use turbohttp::sim::ECONNREFUSED;
use turbohttp::{
    AddressFamily, ConnectErrorKind, HappyEyeballsOptions, RawSocketTransport, Scheme,
    TlsFailurePolicy, TlsOptions, TransportOptions,
};
use turbohttp::{AttemptOutcome, AttemptPhase, AttemptRecord, NoResolver, StaticResolver};

/// The name every race connects to; the good certificate is for it.
const NAME: &str = "soak.test";
/// Races in flight at once.
const PARALLEL: usize = 32;
/// Races per batch (the descriptor count is checked after each).
const BATCH: usize = 250;
/// How far past its connect timeout a connect may return (scheduling, loaded machine).
const MARGIN: Duration = Duration::from_millis(250);
/// How much resident memory may grow after the warm-up batches.
const RSS_MARGIN_KIB: u64 = 32 * 1024;

/// SplitMix64: a small, seeded generator, so a failing sequence can be replayed.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    /// True with probability `percent`%.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn ms(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(self.range(lo, hi))
    }
}

/// One race, decided before it runs.
#[derive(Debug, Clone)]
struct Race {
    id: usize,
    tls: bool,
    addrs: Vec<SocketAddr>,
    faults: Vec<Fault>,
    options: HappyEyeballsOptions,
    timeout: Duration,
    family: Option<AddressFamily>,
    cancel_after: Option<Duration>,
    policy: TlsFailurePolicy,
    payload: Vec<u8>,
}

impl Race {
    fn random(id: usize, rng: &mut Rng, endpoints: &[Endpoint]) -> Self {
        let tls = rng.chance(50);
        let n = rng.range(1, 6) as usize;
        let picked: Vec<Endpoint> = (0..n)
            .map(|_| endpoints[rng.range(0, endpoints.len() as u64 - 1) as usize])
            .collect();
        let tiny = rng.chance(15);
        let timeout = if tiny {
            rng.ms(20, 80)
        } else {
            rng.ms(150, 1_500)
        };
        let stagger = rng.ms(10, 300).min(timeout - Duration::from_millis(5));
        let options = HappyEyeballsOptions::default()
            .with_family_stagger_delay(stagger)
            .with_attempt_spacing_delay(rng.ms(10, 200))
            .with_max_concurrent_attempts(rng.range(2, 4) as usize)
            .with_prefer_ipv6(rng.chance(50))
            .with_enable(rng.chance(85));
        let family = match rng.range(0, 19) {
            0 => Some(AddressFamily::V4),
            1 => Some(AddressFamily::V6),
            _ => None,
        };
        let cancel_after = rng
            .chance(15)
            .then(|| Duration::from_micros(rng.range(0, timeout.as_micros() as u64)));
        let payload = (0..rng.range(1, 64)).map(|_| rng.next() as u8).collect();
        Self {
            id,
            tls,
            addrs: picked.iter().map(|e| e.addr).collect(),
            faults: picked.iter().map(|e| e.fault).collect(),
            options,
            timeout,
            family,
            cancel_after,
            policy: if rng.chance(70) {
                TlsFailurePolicy::StopRace
            } else {
                TlsFailurePolicy::TryNextAddress
            },
            payload,
        }
    }

    fn fault_of(&self, addr: SocketAddr) -> Fault {
        let i = self
            .addrs
            .iter()
            .position(|a| *a == addr)
            .expect("dialed an address of the list");
        self.faults[i]
    }

    /// Whether an attempt to this endpoint always connects (unless the race stops it).
    fn always_connects(&self, fault: Fault) -> bool {
        if self.tls {
            fault == Fault::TlsEcho
        } else {
            // Plain TCP: anything that accepts and does not reset connects (TLS
            // endpoints too: the kernel completes the handshake before the server
            // speaks).
            matches!(
                fault,
                Fault::Echo | Fault::Silent | Fault::TlsEcho | Fault::TlsBadCert
            )
        }
    }

    /// Whether an attempt to this endpoint may win.
    fn may_win(&self, fault: Fault) -> bool {
        // A reset may come before or after the connect completes.
        self.always_connects(fault) || (!self.tls && fault == Fault::Reset)
    }

    /// Whether an attempt to this endpoint can hang until its budget or the race ends.
    fn can_hang(&self, fault: Fault) -> bool {
        match fault {
            Fault::Stall => true,
            Fault::Silent => self.tls,
            _ => false,
        }
    }
}

/// What one race did, for the totals.
#[derive(Debug, Default)]
struct Tally {
    /// `(fault, outcome)` -> attempts.
    attempts: BTreeMap<(String, &'static str), u64>,
    /// The connect's result -> races.
    results: BTreeMap<String, u64>,
    cancelled: u64,
    tiny: u64,
    tls: u64,
    echoed_bytes: u64,
    worst_overrun: Duration,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        for (k, v) in other.attempts {
            *self.attempts.entry(k).or_default() += v;
        }
        for (k, v) in other.results {
            *self.results.entry(k).or_default() += v;
        }
        self.cancelled += other.cancelled;
        self.tiny += other.tiny;
        self.tls += other.tls;
        self.echoed_bytes += other.echoed_bytes;
        self.worst_overrun = self.worst_overrun.max(other.worst_overrun);
    }
}

/// Checks that one attempt's record tells its endpoint's true fault.
fn check_record(race: &Race, record: &AttemptRecord, winner: Option<usize>) {
    let fault = race.fault_of(record.endpoint);
    let context = || {
        format!(
            "race {} ({}): {record} at a {fault} endpoint",
            race.id,
            if race.tls { "tls" } else { "plain" }
        )
    };
    if let Some(family) = race.family {
        assert_eq!(record.family, family, "{}", context());
    }
    match record.outcome {
        AttemptOutcome::Won => {
            assert_eq!(winner, Some(record.attempt), "{}", context());
            assert!(race.may_win(fault), "{}", context());
            assert!(record.failure.is_none(), "{}", context());
        }
        // Stopped by the race: another attempt won, the caller cancelled, a terminal
        // failure ended it, or time ran out. Any endpoint can be caught so.
        AttemptOutcome::Cancelled => assert!(record.failure.is_none(), "{}", context()),
        AttemptOutcome::TimedOut => {
            let failure = record.failure.as_ref().expect("a timeout says so");
            assert_eq!(failure.kind, io::ErrorKind::TimedOut, "{}", context());
            assert_eq!(failure.os_error, None, "{}", context());
        }
        AttemptOutcome::Failed => {
            let failure = record.failure.as_ref().expect("a failure says why");
            match fault {
                Fault::Refuse => {
                    assert_eq!(failure.phase, AttemptPhase::Connect, "{}", context());
                    assert_eq!(failure.os_error, Some(ECONNREFUSED), "{}", context());
                    assert_eq!(
                        failure.kind,
                        io::ErrorKind::ConnectionRefused,
                        "{}",
                        context()
                    );
                }
                // The reset can beat the client's own look at its connect (then the
                // connect reports it) or come during the TLS handshake.
                Fault::Reset => {
                    assert!(
                        failure.phase == AttemptPhase::Setup || failure.os_error.is_some(),
                        "{}",
                        context()
                    );
                    assert!(!failure.terminal, "{}", context());
                    assert!(
                        matches!(
                            failure.kind,
                            io::ErrorKind::ConnectionReset
                                | io::ErrorKind::BrokenPipe
                                | io::ErrorKind::UnexpectedEof
                                | io::ErrorKind::ConnectionAborted
                        ),
                        "{}",
                        context()
                    );
                }
                Fault::TlsBadCert if race.tls => {
                    assert_eq!(failure.phase, AttemptPhase::Setup, "{}", context());
                    assert_eq!(failure.kind, io::ErrorKind::InvalidData, "{}", context());
                    assert!(failure.message().contains("certificate"), "{}", context());
                    // Terminal only under StopRace; of two rejections at one
                    // instant only the deciding one is marked (checked per race below).
                    assert!(
                        !failure.terminal || race.policy == TlsFailurePolicy::StopRace,
                        "{}",
                        context()
                    );
                }
                // A plain echo server sends the ClientHello back: not TLS.
                Fault::Echo if race.tls => {
                    assert_eq!(failure.phase, AttemptPhase::Setup, "{}", context());
                    assert!(!failure.terminal, "{}", context());
                    assert_eq!(failure.kind, io::ErrorKind::InvalidData, "{}", context());
                }
                _ => panic!("{}: this endpoint cannot fail so", context()),
            }
        }
        other => panic!("{}: unknown outcome {other:?}", context()),
    }
}

/// Runs one race and checks everything about it.
async fn run_race(race: Race, root: rustls::pki_types::CertificateDer<'static>) -> Tally {
    let mut tally = Tally::default();
    let options = TransportOptions::default()
        .with_connect_timeout(race.timeout)
        .with_happy_eyeballs(race.options)
        .with_tls(
            TlsOptions::default()
                .with_webpki_roots(false)
                .with_failure_policy(race.policy)
                .with_root(root),
        );
    let resolver =
        StaticResolver::with_fallback(NoResolver).with_override(NAME, 443, race.addrs.clone());
    let transport = RawSocketTransport::new(options)
        .expect("valid options")
        .with_resolver(resolver);
    let cancel = CancellationToken::new();
    let canceller = race.cancel_after.map(|after| {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            cancel.cancel();
        })
    });
    let scheme = if race.tls {
        Scheme::Https
    } else {
        Scheme::Http
    };

    let started = Instant::now();
    let result = transport
        .connect_with(
            NAME,
            443,
            scheme,
            ConnectParams::default()
                .with_family(race.family)
                .with_cancel(cancel.clone()),
        )
        .await;
    let elapsed = started.elapsed();
    if let Some(canceller) = canceller {
        canceller.abort();
        let _ = canceller.await;
    }
    let overrun = elapsed.saturating_sub(race.timeout);
    assert!(
        overrun <= MARGIN,
        "race {}: took {elapsed:?} with a {:?} timeout",
        race.id,
        race.timeout
    );
    tally.worst_overrun = overrun;
    tally.cancelled += u64::from(race.cancel_after.is_some());
    tally.tiny += u64::from(race.timeout < Duration::from_millis(100));
    tally.tls += u64::from(race.tls);

    let (records, winner) = match &result {
        Ok(won) => (won.report.attempts.clone(), won.report.winner),
        Err(e) => (e.attempts().to_vec(), None),
    };
    // Records in attempt order, each endpoint once, each telling its true fault.
    let mut seen = Vec::new();
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record.attempt, i, "race {}", race.id);
        if i > 0 {
            assert!(
                records[i - 1].started <= record.started,
                "race {}: order",
                race.id
            );
        }
        assert!(
            record.ended.is_some(),
            "race {}: {record} never ended",
            race.id
        );
        assert!(
            !seen.contains(&record.endpoint),
            "race {}: dialed twice",
            race.id
        );
        seen.push(record.endpoint);
        check_record(&race, record, winner);
        let key = (
            race.fault_of(record.endpoint).to_string(),
            record.outcome.as_str(),
        );
        *tally.attempts.entry(key).or_default() += 1;
    }

    let wanted: Vec<Fault> = race
        .addrs
        .iter()
        .zip(&race.faults)
        .filter(|(a, _)| race.family.is_none_or(|f| AddressFamily::of(a) == f))
        .map(|(_, f)| *f)
        .collect();
    match result {
        Ok(mut won) => {
            *tally.results.entry("won".into()).or_default() += 1;
            let record = won.report.winning_attempt().expect("a winner has a record");
            let fault = race.fault_of(record.endpoint);
            assert_eq!(won.stream.is_tls(), race.tls, "race {}", race.id);
            match won.stream.peer_addr() {
                Ok(peer) => assert_eq!(peer, record.endpoint, "race {}", race.id),
                // A reset that lands after the connect leaves the socket unconnected.
                Err(e) => assert_eq!(
                    (fault, e.kind()),
                    (Fault::Reset, io::ErrorKind::NotConnected),
                    "race {}",
                    race.id
                ),
            }
            // The winner's stream carries bytes end to end (where the peer speaks).
            let echoes =
                (fault == Fault::Echo && !race.tls) || (fault == Fault::TlsEcho && race.tls);
            let trip = async {
                if echoes {
                    won.stream.write_all(&race.payload).await?;
                    won.stream.flush().await?;
                    let mut back = vec![0u8; race.payload.len()];
                    won.stream.read_exact(&mut back).await?;
                    assert_eq!(back, race.payload, "race {}: echo", race.id);
                } else if fault == Fault::Reset {
                    // The reset may already have arrived: writing may fail, and
                    // reading ends in an error or at once.
                    let _ = won.stream.write_all(&race.payload).await;
                    let mut buf = [0u8; 16];
                    match won.stream.read(&mut buf).await {
                        Ok(0) | Err(_) => {}
                        Ok(n) => panic!("race {}: a reset endpoint sent {n} bytes", race.id),
                    }
                } else {
                    // Silent, or a TLS endpoint dialed as plain TCP: a connection
                    // that takes bytes and answers nothing useful.
                    let _ = won.stream.write_all(&race.payload).await;
                }
                Ok::<_, io::Error>(())
            };
            match tokio::time::timeout(Duration::from_secs(10), trip).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => panic!("race {}: the winner's stream failed: {e}", race.id),
                Err(_) => panic!("race {}: the winner's stream hung", race.id),
            }
            if echoes {
                tally.echoed_bytes += race.payload.len() as u64;
            }
        }
        Err(error) => {
            let kind = error.kind();
            *tally.results.entry(format!("{kind:?}")).or_default() += 1;
            let message = format!("{error:#}");
            assert!(!message.is_empty(), "race {}", race.id);
            match kind {
                ConnectErrorKind::Cancelled => {
                    assert!(race.cancel_after.is_some(), "race {}: {message}", race.id)
                }
                ConnectErrorKind::FamilyUnavailable => {
                    assert!(wanted.is_empty(), "race {}: {message}", race.id);
                    assert!(records.is_empty());
                }
                ConnectErrorKind::SetupRejected => {
                    assert!(race.tls && race.policy == TlsFailurePolicy::StopRace);
                    let terminal: Vec<_> = records
                        .iter()
                        .filter(|r| r.failure.as_ref().is_some_and(|f| f.terminal))
                        .collect();
                    // Exactly one failure decided the race, at its last instant.
                    assert_eq!(terminal.len(), 1, "race {}: {message}", race.id);
                    let end = records.iter().filter_map(|r| r.ended).max();
                    for record in terminal {
                        assert_eq!(race.fault_of(record.endpoint), Fault::TlsBadCert);
                        assert_eq!(record.ended, end, "race {}: {message}", race.id);
                    }
                }
                ConnectErrorKind::AllAttemptsFailed => {
                    // Every address was tried and none could connect.
                    assert!(
                        wanted.iter().all(|f| !race.always_connects(*f)),
                        "race {}: {message}",
                        race.id
                    );
                    assert!(records.iter().all(|r| matches!(
                        r.outcome,
                        AttemptOutcome::Failed | AttemptOutcome::TimedOut
                    )));
                }
                ConnectErrorKind::TimedOut => {
                    // Only something that hangs, or a tiny timeout on a loaded machine,
                    // runs the clock out.
                    let hangs = wanted.iter().any(|f| race.can_hang(*f));
                    assert!(
                        hangs || race.timeout < Duration::from_millis(500),
                        "race {}: {message}",
                        race.id
                    );
                    assert!(elapsed >= race.timeout, "race {}: early timeout", race.id);
                }
                other => panic!("race {}: unexpected {other:?}: {message}", race.id),
            }
        }
    }
    tally
}

#[test]
fn soak_with_faults() {
    let races: usize = std::env::var("TURBOHTTP_SOAK_RACES")
        .ok()
        .map_or(2_000, |v| {
            v.parse().expect("TURBOHTTP_SOAK_RACES is a number")
        });
    let seed: u64 = std::env::var("TURBOHTTP_SOAK_SEED").ok().map_or(8305, |v| {
        v.parse().expect("TURBOHTTP_SOAK_SEED is a number")
    });
    assert!(races > 0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let wall = Instant::now();
    runtime.block_on(async {
        let pki = Pki::new(NAME, "other.test");
        let mut rng = Rng(seed);
        let baseline = open_fds();
        let mut total = Tally::default();
        let mut peak_fds = baseline;
        let mut rss_after: Vec<u64> = Vec::new();
        let batches = races.div_ceil(BATCH);
        let mut run = 0;
        for batch in 0..batches {
            let server = FaultServer::start(&pki).await;
            let endpoints = server.endpoints().to_vec();
            assert!(endpoints.iter().all(|e| e.addr.ip().is_loopback()));
            let this_batch = BATCH.min(races - run);
            let mut tasks = JoinSet::new();
            for _ in 0..this_batch {
                if tasks.len() == PARALLEL {
                    let done = tasks.join_next().await.expect("a task");
                    total.add(done.unwrap_or_else(|e| resume_unwind(e.into_panic())));
                    peak_fds = peak_fds.max(open_fds());
                }
                let race = Race::random(run, &mut rng, &endpoints);
                run += 1;
                tasks.spawn(run_race(race, pki.root()));
            }
            while let Some(done) = tasks.join_next().await {
                total.add(done.unwrap_or_else(|e| resume_unwind(e.into_panic())));
            }
            server.shutdown().await;
            let fds = open_fds();
            assert_eq!(
                fds, baseline,
                "batch {batch}: {fds} descriptors open after the batch, {baseline} before"
            );
            let (rss, _) = memory_kib();
            rss_after.push(rss);
            if (batch + 1) % 40 == 0 {
                println!(
                    "soak: {run} races, {fds} descriptors, RSS {rss} KiB, {:?}",
                    wall.elapsed()
                );
            }
        }
        assert_eq!(run, races);

        let (final_rss, peak_rss) = memory_kib();
        // Warm-up: the first batches grow the allocator's pools; from then on, flat.
        let reference = rss_after[rss_after.len().min(2) - 1];
        println!("soak: {races} races in {batches} batches, seed {seed}, {:?}", wall.elapsed());
        println!(
            "soak: {} TLS, {} cancelled at a random moment, {} with a timeout under 100ms",
            total.tls, total.cancelled, total.tiny
        );
        println!("soak: results: {:?}", total.results);
        println!("soak: attempts by endpoint fault and outcome:");
        for ((fault, outcome), n) in &total.attempts {
            println!("soak:   {fault:>12} {outcome:<9} {n}");
        }
        println!(
            "soak: {} bytes echoed by winners; worst overrun of a timeout {:?}",
            total.echoed_bytes, total.worst_overrun
        );
        println!(
            "soak: descriptors {baseline} before, {} after, peak {peak_fds} (fault server included)",
            open_fds()
        );
        println!(
            "soak: RSS after batch 1 {} KiB, after warm-up {reference} KiB, final {final_rss} KiB, peak (VmHWM) {peak_rss} KiB",
            rss_after[0]
        );
        assert!(
            final_rss <= reference + RSS_MARGIN_KIB,
            "resident memory grew from {reference} KiB to {final_rss} KiB"
        );
        // Every fault was met, and every kind of result happened.
        for fault in Fault::ALL {
            let met: u64 = total
                .attempts
                .iter()
                .filter(|((f, _), _)| *f == fault.to_string())
                .map(|(_, n)| n)
                .sum();
            assert!(met > 0 || races < 200, "no attempt met a {fault} endpoint");
        }
    });
}
