//! Property tests: random address sets, outcomes, latencies and options, each race run
//! in virtual time on simulated endpoints, checked against the invariants of the race.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use proptest::prelude::*;
use tokio_util::sync::CancellationToken;
use turbohttp::sim::{Behavior, SimNetwork, SimStats};
use turbohttp::transport::connection::{AttemptOutcome, AttemptRecord};
use turbohttp::{AddressFamily, ConnectErrorKind, HappyEyeballs, HappyEyeballsOptions};

#[derive(Debug, Clone)]
struct Case {
    endpoints: Vec<(SocketAddr, Behavior)>,
    options: HappyEyeballsOptions,
    timeout: Duration,
}

fn endpoint() -> impl Strategy<Value = (SocketAddr, Behavior)> {
    // A small pool of addresses and two ports, so that duplicates are common.
    let addr = (
        any::<bool>(),
        1u8..=6,
        prop_oneof![Just(443u16), Just(444u16)],
    )
        .prop_map(|(v6, i, port)| {
            let ip = if v6 {
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i.into()))
            } else {
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, i))
            };
            SocketAddr::new(ip, port)
        });
    let behavior = prop_oneof![
        (0u64..=500).prop_map(|ms| Behavior::Connect(Duration::from_millis(ms))),
        (0u64..=500).prop_map(|ms| Behavior::Refuse(Duration::from_millis(ms))),
        Just(Behavior::Stall),
    ];
    (addr, behavior)
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(endpoint(), 1..=64),
        10u64..=400,
        10u64..=300,
        2usize..=6,
        any::<bool>(),
        any::<bool>(),
        1u64..=30_000,
    )
        .prop_map(
            |(endpoints, stagger, spacing, cap, prefer_ipv6, enable, extra)| Case {
                endpoints,
                options: HappyEyeballsOptions {
                    family_stagger_delay: Duration::from_millis(stagger),
                    attempt_spacing_delay: Duration::from_millis(spacing),
                    max_concurrent_attempts: cap,
                    prefer_ipv6,
                    enable,
                    ..HappyEyeballsOptions::default()
                },
                // Always longer than the stagger, which is what validation demands.
                timeout: Duration::from_millis(stagger + extra),
            },
        )
}

#[derive(Debug, PartialEq)]
struct Run {
    attempts: Vec<AttemptRecord>,
    winner: Option<usize>,
    error: Option<ConnectErrorKind>,
    elapsed: Duration,
    /// Every dial, with its offset from the race start.
    dials: Vec<(SocketAddr, Duration)>,
    stats_at_return: SimStats,
    stats_after_drop: SimStats,
}

fn run(case: &Case) -> Run {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let net = SimNetwork::new(case.endpoints.iter().copied());
        let connector = HappyEyeballs::default()
            .with_options(case.options)
            .with_resolver(net.clone())
            .with_dialer(net.clone());
        let t0 = tokio::time::Instant::now();
        let result = connector
            .connect(
                "random.test",
                443,
                None,
                case.timeout,
                &CancellationToken::new(),
            )
            .await;
        let real_elapsed = t0.elapsed();
        let mut stats_at_return = net.stats();
        let dials = std::mem::take(&mut stats_at_return.dials)
            .into_iter()
            .map(|(a, at)| (a, at - t0))
            .collect();
        let (attempts, winner, error, elapsed) = match result {
            Ok(won) => (
                won.report.attempts.clone(),
                won.report.winner,
                None,
                won.report.elapsed,
            ),
            Err(e) => (
                e.attempts().to_vec(),
                None,
                Some(e.kind()),
                e.report().elapsed,
            ),
        };
        assert_eq!(elapsed, real_elapsed);
        Run {
            attempts,
            winner,
            error,
            elapsed,
            dials,
            stats_at_return,
            stats_after_drop: SimStats {
                dials: Vec::new(),
                ..net.stats()
            },
        }
    })
}

fn behavior_of(case: &Case, addr: SocketAddr) -> Behavior {
    case.endpoints.iter().find(|(a, _)| *a == addr).unwrap().1
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn race_invariants(case in case()) {
        let first = run(&case);
        let options = &case.options;

        // The same input always yields the same timeline and winner.
        let second = run(&case);
        prop_assert_eq!(&first, &second);

        let families: Vec<AddressFamily> = case.endpoints.iter().map(|(a, _)| AddressFamily::of(a)).collect();
        let racing = options.enable && families.contains(&AddressFamily::V4) && families.contains(&AddressFamily::V6);
        let cap = if racing { options.max_concurrent_attempts } else { 1 };

        // In-flight attempts never exceed the cap, counted as open sockets at any instant.
        prop_assert!(first.stats_at_return.peak_open <= cap, "peak {} > cap {}", first.stats_at_return.peak_open, cap);

        // Elapsed time never exceeds the connect timeout.
        prop_assert!(first.elapsed <= case.timeout);

        // Each address is dialed at most once.
        let mut dialed: Vec<SocketAddr> = first.attempts.iter().map(|a| a.endpoint).collect();
        let n = dialed.len();
        dialed.sort();
        dialed.dedup();
        prop_assert_eq!(dialed.len(), n);

        // The other family starts no later than t0 + stagger, unless a winner came first.
        if racing {
            let other = options.preferred_family().other();
            match first.attempts.iter().find(|a| a.family == other) {
                Some(a) => prop_assert!(a.started <= options.family_stagger_delay, "{}", a),
                None => {
                    prop_assert!(first.winner.is_some());
                    prop_assert!(first.elapsed <= options.family_stagger_delay);
                }
            }
        }

        // The winner is the earliest success among started attempts.
        let won_at = first.winner.map(|w| first.attempts[w].ended.unwrap());
        for a in &first.attempts {
            let ended = a.ended.unwrap();
            if let Behavior::Connect(latency) = behavior_of(&case, a.endpoint) {
                let success = a.started + latency;
                if Some(a.attempt) == first.winner {
                    prop_assert_eq!(ended, success);
                    prop_assert_eq!(a.outcome, AttemptOutcome::Won);
                } else {
                    // It would have connected only after the race was decided, or its
                    // budget (or the race) ran out first.
                    let decided_before = won_at.is_some_and(|w| w <= success);
                    prop_assert!(decided_before || ended < success, "{} would have won at {:?}", a, success);
                }
            } else {
                prop_assert!(Some(a.attempt) != first.winner);
            }
        }
        if first.winner.is_none() {
            prop_assert!(first.error.is_some());
        }

        // Every non-winner is dropped before connect returns; the winner when dropped.
        let expected_open = usize::from(first.winner.is_some());
        prop_assert_eq!(first.stats_at_return.open, expected_open);
        prop_assert_eq!(first.stats_after_drop.open, 0);
        prop_assert_eq!(first.stats_after_drop.opened, first.attempts.len());
        let starts: Vec<(SocketAddr, Duration)> = first.attempts.iter().map(|a| (a.endpoint, a.started)).collect();
        prop_assert_eq!(&first.dials, &starts);
    }
}
