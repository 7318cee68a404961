//! Property tests: random address sets, outcomes, latencies and options, each race run
//! in virtual time on simulated endpoints, checked against the invariants of the race.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use turbohttp::ConnectParams;

use proptest::prelude::*;
use turbohttp::sim::{Behavior, DnsBehavior, HttpsBehavior, SimNetwork, SimStats};
use turbohttp::{AddressFamily, ConnectErrorKind, HappyEyeballs, HappyEyeballsOptions};
use turbohttp::{AttemptOutcome, AttemptRecord, Http3, Transport};
use turbohttp::{Protocols, ServiceInfo};

#[derive(Debug, Clone)]
struct Case {
    endpoints: Vec<(SocketAddr, Behavior)>,
    options: HappyEyeballsOptions,
    timeout: Duration,
    /// How AAAA and A are answered; `None`: one answer with every address at once.
    dns: Option<(DnsBehavior, DnsBehavior)>,
    /// How the origin's HTTPS record is answered (asked only with `dns`).
    https: Option<HttpsBehavior>,
}

fn dns_behavior() -> impl Strategy<Value = DnsBehavior> {
    let ms = Duration::from_millis;
    prop_oneof![
        4 => (0u64..=400).prop_map(move |d| DnsBehavior::Answer(ms(d))),
        1 => Just(DnsBehavior::Lost),
        1 => (0u64..=100).prop_map(move |d| DnsBehavior::ServFail(ms(d))),
        1 => (0u64..=100).prop_map(move |d| DnsBehavior::NxDomain(ms(d))),
        1 => (0u64..=100).prop_map(move |d| DnsBehavior::NoData(ms(d))),
    ]
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
        prop::option::of((dns_behavior(), dns_behavior())),
        10u64..=200,
    )
        .prop_map(
            |(endpoints, stagger, spacing, cap, prefer_ipv6, enable, extra, dns, delay)| Case {
                endpoints,
                options: HappyEyeballsOptions::default()
                    .with_family_stagger_delay(Duration::from_millis(stagger))
                    .with_attempt_spacing_delay(Duration::from_millis(spacing))
                    .with_max_concurrent_attempts(cap)
                    .with_prefer_ipv6(prefer_ipv6)
                    .with_enable(enable)
                    .with_resolution_delay(Duration::from_millis(delay)),
                // Longer than the stagger, so that the head start is the option's.
                timeout: Duration::from_millis(stagger + extra),
                dns,
                https: None,
            },
        )
}

/// An address of the endpoint pool (so that hints and answers overlap).
fn pool_ip() -> impl Strategy<Value = IpAddr> {
    (any::<bool>(), 1u8..=6).prop_map(|(v6, i)| {
        if v6 {
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i.into()))
        } else {
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, i))
        }
    })
}

fn service_record() -> impl Strategy<Value = ServiceInfo> {
    let port = prop_oneof![
        Just(None),
        Just(Some(443u16)),
        Just(Some(444)),
        Just(Some(8443))
    ];
    let alpn = prop_oneof![
        Just(vec!["h2"]),
        Just(vec!["h3"]),
        Just(vec![]),
        Just(vec!["h3", "h2"])
    ];
    (
        1u16..=3,
        port,
        prop::collection::vec(pool_ip(), 0..=3),
        alpn,
        any::<bool>(),
        prop_oneof![4 => Just(None), 1 => Just(Some("alt.test"))],
    )
        .prop_map(|(priority, port, hints, alpn, no_default, target)| {
            let mut record = ServiceInfo::service(priority, target)
                .with_alpn(alpn)
                .with_hints(hints);
            if let Some(port) = port {
                record = record.with_port(port);
            }
            if no_default {
                record = record.with_no_default_alpn();
            }
            record
        })
}

fn https_behavior() -> impl Strategy<Value = HttpsBehavior> {
    let ms = Duration::from_millis;
    prop_oneof![
        4 => (prop::collection::vec(service_record(), 0..=3), 0u64..=300)
            .prop_map(move |(records, d)| HttpsBehavior::Records(records, ms(d))),
        1 => Just(HttpsBehavior::Records(vec![ServiceInfo::alias("cdn.test")], ms(5))),
        1 => dns_behavior()
            .prop_filter("a failure", |b| !matches!(b, DnsBehavior::Answer(_)))
            .prop_map(HttpsBehavior::Fails),
    ]
}

/// A case with per-family DNS and an HTTPS record.
fn https_case() -> impl Strategy<Value = Case> {
    (case(), dns_behavior(), dns_behavior(), https_behavior()).prop_map(|(case, aaaa, a, https)| {
        Case {
            dns: Some((aaaa, a)),
            https: Some(https),
            ..case
        }
    })
}

#[derive(Debug, PartialEq)]
struct Run {
    attempts: Vec<AttemptRecord>,
    winner: Option<usize>,
    error: Option<ConnectErrorKind>,
    elapsed: Duration,
    /// Every dial, with its offset from the race start.
    dials: Vec<(SocketAddr, Duration)>,
    /// Every query's end and outcome, and the addresses it answered.
    queries: Vec<(Duration, String, Vec<SocketAddr>)>,
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
        let mut net = SimNetwork::new(case.endpoints.iter().copied());
        if let Some((aaaa, a)) = case.dns {
            net = net.with_dns(aaaa, a);
        }
        let mut params = ConnectParams::default().with_timeout(case.timeout);
        if let Some(https) = &case.https {
            net = net.with_https(https.clone());
            params = params.with_services(Protocols::TCP).with_shuffle_seed(7);
        }
        let connector = HappyEyeballs::default()
            .with_options(case.options)
            .with_resolver(net.clone())
            .with_dialer(net.clone());
        let t0 = tokio::time::Instant::now();
        let result = connector.connect_with("random.test", 443, params).await;
        let real_elapsed = t0.elapsed();
        let mut stats_at_return = net.stats();
        let dials = std::mem::take(&mut stats_at_return.dials)
            .into_iter()
            .map(|(a, at)| (a, at - t0))
            .collect();
        // Sent at the start; their instants differ from run to run.
        stats_at_return.queries.clear();
        let report = match &result {
            Ok(won) => won.report.clone(),
            Err(e) => e.report().clone(),
        };
        let queries = report
            .dns
            .iter()
            .map(|q| {
                // An HTTPS answer's used hints are addresses it carried.
                let mut addresses = q.addresses.clone();
                let used = q.services.iter().filter(|r| r.rank.is_some());
                addresses
                    .extend(used.flat_map(|r| r.info.hints().map(|ip| SocketAddr::new(ip, 0))));
                (q.ended.unwrap(), q.outcome.as_str().to_owned(), addresses)
            })
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
            queries,
            stats_at_return,
            stats_after_drop: SimStats {
                dials: Vec::new(),
                queries: Vec::new(),
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

        // The families the race could dial: with per-family DNS, those whose query
        // answered before the race ended.
        let answered = |family: AddressFamily| match case.dns {
            None => true,
            Some((aaaa, a)) => {
                let behavior = if family == AddressFamily::V6 { aaaa } else { a };
                matches!(behavior, DnsBehavior::Answer(d) if d <= first.elapsed)
            }
        };
        let families: Vec<AddressFamily> = case
            .endpoints
            .iter()
            .map(|(a, _)| AddressFamily::of(a))
            .filter(|f| answered(*f))
            .collect();
        let racing = options.enable && families.contains(&AddressFamily::V4) && families.contains(&AddressFamily::V6);
        let cap = if racing { options.max_concurrent_attempts } else { 1 };
        // With per-family DNS, one family may race alone for a while at the cap of one
        // and the other join later: the cap is the option's.
        let cap = if case.dns.is_some() && options.enable { options.max_concurrent_attempts } else { cap };

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
        if racing && case.dns.is_none() {
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
        // No query outlives the connect.
        prop_assert_eq!(first.stats_at_return.queries_open, 0);

        if case.dns.is_some() {
            dns_invariants(&case, &first)?;
        }
    }
}

/// What per-family DNS adds: no attempt before its family's answer, the resolution
/// delay never exceeded, and every answered address dialed or not needed.
fn dns_invariants(case: &Case, run: &Run) -> Result<(), TestCaseError> {
    let options = &case.options;
    // When each family's addresses became known (the end of its answered query).
    let known = |family: AddressFamily| {
        run.queries
            .iter()
            .filter(|(_, outcome, addrs)| {
                outcome == "answered" && addrs.iter().any(|a| AddressFamily::of(a) == family)
            })
            .map(|(ended, _, _)| *ended)
            .min()
    };
    for a in &run.attempts {
        let at = known(a.family);
        prop_assert!(
            at.is_some_and(|t| a.started >= t),
            "{} before its answer ({:?})",
            a,
            at
        );
    }
    let first_known = [AddressFamily::V6, AddressFamily::V4]
        .into_iter()
        .filter_map(known)
        .min();
    if let Some(t) = first_known {
        let last_query = run
            .queries
            .iter()
            .map(|(ended, _, _)| *ended)
            .max()
            .unwrap_or_default();
        // Racing: the first attempt waits at most the resolution delay after the first
        // answer. Sequential: it starts when the last query ended.
        let bound = if options.enable {
            t + options.resolution_delay
        } else {
            last_query
        };
        match run.attempts.first() {
            Some(a) => prop_assert!(a.started <= bound, "{} later than {:?}", a, bound),
            None => prop_assert!(run.elapsed <= bound, "nothing dialed by {:?}", bound),
        }
    }
    if run.error == Some(ConnectErrorKind::AllAttemptsFailed) {
        // Every answered address of its query's family was tried.
        let mut unique: Vec<SocketAddr> = run
            .queries
            .iter()
            .filter(|(_, outcome, _)| outcome == "answered")
            .flat_map(|(_, _, addrs)| addrs.iter().copied())
            .collect();
        unique.sort();
        unique.dedup();
        let mut dialed: Vec<SocketAddr> = run.attempts.iter().map(|a| a.endpoint).collect();
        dialed.sort();
        prop_assert_eq!(dialed, unique);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// HTTPS records in the race (issue 22): the same timeline twice, no endpoint
    /// dialed twice, no attempt before the answer (or the hint) that carried its
    /// address, the resolution delay never exceeded because of the HTTPS query, and
    /// nothing left open.
    #[test]
    fn https_invariants(case in https_case()) {
        let first = run(&case);
        prop_assert_eq!(&first, &run(&case));
        let mut dialed: Vec<SocketAddr> = first.attempts.iter().map(|a| a.endpoint).collect();
        let n = dialed.len();
        dialed.sort();
        dialed.dedup();
        prop_assert_eq!(dialed.len(), n, "an endpoint dialed twice");
        for a in &first.attempts {
            let carried = first.queries.iter().filter(|(ended, outcome, addrs)| {
                outcome == "answered" && *ended <= a.started && addrs.iter().any(|x| x.ip() == a.endpoint.ip())
            });
            prop_assert!(carried.count() > 0, "{} before the answer that carried it", a);
        }
        // The first A/AAAA address bounds the first attempt by the resolution delay,
        // whatever the HTTPS query does.
        // (Hints were given port 0 in `run`: only real answers count here.)
        let first_address = first
            .queries
            .iter()
            .filter(|(_, outcome, addrs)| {
                outcome == "answered" && addrs.iter().any(|x| x.port() != 0)
            })
            .map(|(ended, _, _)| *ended)
            .min();
        if let (Some(t), true) = (first_address, case.options.enable) {
            let bound = t + case.options.resolution_delay;
            match first.attempts.first() {
                Some(a) => prop_assert!(a.started <= bound, "{} later than {:?}", a, bound),
                None => prop_assert!(first.elapsed <= bound, "nothing dialed by {:?}", bound),
            }
        }
        prop_assert_eq!(first.stats_after_drop.open, 0);
        prop_assert_eq!(first.stats_at_return.queries_open, 0);
    }
}

/// A QUIC race: TCP endpoints as in [`case`], each address's QUIC behaviour (none: no
/// answer, as when UDP is blocked), and whether TCP races at all (`--http3-only`).
#[derive(Debug, Clone)]
struct QuicCase {
    endpoints: Vec<(SocketAddr, Behavior)>,
    quic: Vec<(SocketAddr, Behavior)>,
    only: bool,
    options: HappyEyeballsOptions,
    timeout: Duration,
}

fn quic_case() -> impl Strategy<Value = QuicCase> {
    (
        prop::collection::vec((endpoint(), prop::option::of(endpoint())), 1..=24),
        10u64..=300,
        10u64..=200,
        1usize..=4,
        any::<bool>(),
        any::<bool>(),
        1u64..=3_000,
    )
        .prop_map(|(pairs, stagger, spacing, cap, prefer_ipv6, only, extra)| {
            // QUIC behaviours at the endpoints' own addresses, so that QUIC and TCP to
            // one address are both in play.
            let quic = pairs
                .iter()
                .filter_map(|((addr, _), quic)| quic.map(|(_, b)| (*addr, b)))
                .collect();
            QuicCase {
                endpoints: pairs.into_iter().map(|(e, _)| e).collect(),
                quic,
                only,
                options: HappyEyeballsOptions::default()
                    .with_family_stagger_delay(Duration::from_millis(stagger))
                    .with_attempt_spacing_delay(Duration::from_millis(spacing))
                    .with_max_concurrent_attempts(cap)
                    .with_prefer_ipv6(prefer_ipv6),
                timeout: Duration::from_millis(stagger + extra),
            }
        })
}

/// `(attempts, winner, elapsed, stats at return, stats after the winner is dropped)`.
type QuicRun = (
    Vec<AttemptRecord>,
    Option<usize>,
    Duration,
    SimStats,
    SimStats,
);

fn run_quic(case: &QuicCase) -> QuicRun {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let net = SimNetwork::new(case.endpoints.iter().copied())
            .with_dns(
                DnsBehavior::Answer(Duration::ZERO),
                DnsBehavior::Answer(Duration::ZERO),
            )
            .with_quic(case.quic.iter().copied());
        let http3 = if case.only { Http3::Only } else { Http3::Also };
        let params = ConnectParams::default()
            .with_timeout(case.timeout)
            .with_http3(http3);
        let result = HappyEyeballs::default()
            .with_options(case.options)
            .with_resolver(net.clone())
            .with_dialer(net.clone())
            .connect_with("random.test", 443, params)
            .await;
        let at_return = net.stats();
        let (report, winner) = match &result {
            Ok(won) => (won.report.clone(), won.report.winner),
            Err(e) => (e.report().clone(), None),
        };
        drop(result);
        let mut after = net.stats();
        after.dials.clear();
        after.quic_dials.clear();
        let mut at_return = at_return;
        at_return.queries.clear();
        (report.attempts, winner, report.elapsed, at_return, after)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// QUIC and TCP to one address are two endpoints, each dialed at most once; QUIC
    /// goes first; HTTP/3 only dials no TCP; the winner is a success of its own
    /// transport's behaviour; nothing stays open.
    #[test]
    fn quic_invariants(case in quic_case()) {
        let (attempts, winner, elapsed, at_return, after) = run_quic(&case);
        prop_assert_eq!(&run_quic(&case).0, &attempts, "deterministic");
        prop_assert!(elapsed <= case.timeout);

        let mut endpoints: Vec<(SocketAddr, Transport)> =
            attempts.iter().map(|a| (a.endpoint, a.transport)).collect();
        let n = endpoints.len();
        endpoints.sort_by_key(|(a, t)| (*a, *t == Transport::Quic));
        endpoints.dedup();
        prop_assert_eq!(endpoints.len(), n, "an endpoint dialed twice");

        if case.only {
            prop_assert!(attempts.iter().all(|a| a.transport == Transport::Quic));
        }
        // QUIC goes first: the first attempt is QUIC, and TCP's first waits for it.
        // (Later ones need not: each transport has its own slots and runs its own
        // schedule, so a stalled QUIC attempt holds back only QUIC.)
        if !attempts.is_empty() {
            prop_assert_eq!(attempts[0].transport, Transport::Quic, "{}", attempts[0]);
        }
        // Each transport has its own slots.
        prop_assert!(at_return.peak_open <= 2 * case.options.max_concurrent_attempts);

        let behaviour = |a: &AttemptRecord| match a.transport {
            Transport::Quic => case
                .quic
                .iter()
                .find(|(e, _)| *e == a.endpoint)
                .map_or(Behavior::Stall, |(_, b)| *b),
            Transport::Tcp => behavior_of_endpoints(&case.endpoints, a.endpoint),
        };
        if let Some(w) = winner {
            let won = &attempts[w];
            match behaviour(won) {
                Behavior::Connect(latency) => prop_assert_eq!(won.ended, Some(won.started + latency)),
                other => prop_assert!(false, "{} won with {:?}", won, other),
            }
        }
        prop_assert_eq!(at_return.open, usize::from(winner.is_some()));
        prop_assert_eq!(after.open, 0);
        prop_assert_eq!(at_return.quic_dials.len(), attempts.iter().filter(|a| a.transport == Transport::Quic).count());
    }
}

fn behavior_of_endpoints(endpoints: &[(SocketAddr, Behavior)], addr: SocketAddr) -> Behavior {
    endpoints.iter().find(|(a, _)| *a == addr).unwrap().1
}
