//! The specification's test matrix, edge cases and scheduling decisions, on simulated
//! endpoints in virtual time. Every test asserts exact start times and order, and
//! that every losing attempt's socket was closed.

mod support;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use support::chain_text;
use turbohttp::ConnectParams;

use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;
use turbohttp::sim::{Behavior, ECONNREFUSED, ECONNRESET, SimNetwork, SimSocket};
use turbohttp::{
    AddressFamily, ConnectError, ConnectErrorKind, Established, HappyEyeballs, HappyEyeballsOptions,
};
use turbohttp::{AttemptOutcome, AttemptPhase, NoResolver, Resolver, StaticResolver};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const V6A: &str = "[2001:db8::a]:443";
const V6B: &str = "[2001:db8::b]:443";
const V6C: &str = "[2001:db8::c]:443";
const V4A: &str = "192.0.2.10:443";
const V4B: &str = "192.0.2.11:443";
const V4C: &str = "192.0.2.12:443";

fn network(endpoints: &[(&str, Behavior)]) -> SimNetwork {
    SimNetwork::new(endpoints.iter().map(|(a, b)| (addr(a), *b)))
}

async fn race_with(
    net: &SimNetwork,
    options: HappyEyeballsOptions,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<Established<SimSocket>, ConnectError> {
    HappyEyeballs::default()
        .with_options(options)
        .with_resolver(net.clone())
        .with_dialer(net.clone())
        .connect_with(
            "dual.test",
            443,
            ConnectParams::default()
                .with_timeout(timeout)
                .with_cancel(cancel.clone()),
        )
        .await
}

async fn race(
    net: &SimNetwork,
    options: HappyEyeballsOptions,
) -> Result<Established<SimSocket>, ConnectError> {
    race_with(
        net,
        options,
        Duration::from_secs(10),
        &CancellationToken::new(),
    )
    .await
}

/// `(address, start ms, end ms, outcome)` of every attempt, in start order.
fn timeline(attempts: &[turbohttp::AttemptRecord]) -> Vec<(String, u64, u64, &'static str)> {
    attempts
        .iter()
        .map(|a| {
            (
                a.endpoint.to_string(),
                a.started.as_millis() as u64,
                a.ended.expect("every attempt has ended").as_millis() as u64,
                a.outcome.as_str(),
            )
        })
        .collect()
}

fn row(a: &str, start: u64, end: u64, outcome: &'static str) -> (String, u64, u64, &'static str) {
    (a.to_string(), start, end, outcome)
}

/// The addresses the network was asked to dial, with their virtual start offsets.
fn dials(net: &SimNetwork, t0: Instant) -> Vec<(String, u64)> {
    net.stats()
        .dials
        .iter()
        .map(|(a, at)| (a.to_string(), at.duration_since(t0).as_millis() as u64))
        .collect()
}

/// After the winner (if any) is dropped, no simulated socket may remain open.
fn assert_all_closed(net: &SimNetwork) {
    let stats = net.stats();
    assert_eq!(stats.open, 0, "sockets left open: {stats:?}");
    assert_eq!(stats.opened, stats.closed);
    assert_eq!(stats.opened, stats.dials.len());
}

// ---------------------------------------------------------------------------------
// The specification's matrix.
// ---------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn ipv6_healthy_wins_when_faster() {
    // v6 connects 40 ms after the start, v4 would connect at 90 ms; with a 25 ms stagger
    // the v4 attempt is already in flight when v6 wins, and must be cancelled.
    let net = network(&[
        (V6A, Behavior::Connect(ms(40))),
        (V4A, Behavior::Connect(ms(65))),
    ]);
    let options = HappyEyeballsOptions::default().with_family_stagger_delay(ms(25));
    let t0 = Instant::now();
    let won = race(&net, options).await.unwrap();

    assert_eq!(dials(&net, t0), [(V6A.into(), 0), (V4A.into(), 25)]);
    assert_eq!(
        timeline(&won.report.attempts),
        [row(V6A, 0, 40, "won"), row(V4A, 25, 40, "cancelled")]
    );
    assert_eq!(won.report.winner, Some(0));
    assert_eq!(won.stream.peer_addr(), addr(V6A));
    assert_eq!(won.report.elapsed, ms(40));
    // The v4 socket was closed before connect returned; only the winner is open.
    let stats = net.stats();
    assert_eq!((stats.open, stats.closed), (1, 1));
    drop(won);
    assert_all_closed(&net);

    // With the default 250 ms stagger the v4 attempt never even starts.
    let net = network(&[
        (V6A, Behavior::Connect(ms(40))),
        (V4A, Behavior::Connect(ms(65))),
    ]);
    let t0 = Instant::now();
    let won = race(&net, HappyEyeballsOptions::default()).await.unwrap();
    assert_eq!(dials(&net, t0), [(V6A.into(), 0)]);
    assert_eq!(timeline(&won.report.attempts), [row(V6A, 0, 40, "won")]);
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn ipv6_stalled_ipv4_fallback() {
    let net = network(&[(V6A, Behavior::Stall), (V4A, Behavior::Connect(ms(20)))]);
    let t0 = Instant::now();
    let won = race(&net, HappyEyeballsOptions::default()).await.unwrap();

    assert_eq!(dials(&net, t0), [(V6A.into(), 0), (V4A.into(), 250)]);
    assert_eq!(
        timeline(&won.report.attempts),
        [row(V6A, 0, 270, "cancelled"), row(V4A, 250, 270, "won")]
    );
    assert_eq!(won.stream.peer_addr(), addr(V4A));
    // Well before the 10 s connect timeout, and long before a TCP connect timeout.
    assert_eq!(won.report.elapsed, ms(270));
    assert_eq!(Instant::now() - t0, ms(270));
    let stats = net.stats();
    assert_eq!(
        (stats.open, stats.closed),
        (1, 1),
        "the stalled v6 socket is closed"
    );
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn both_families_fail_aggregates_errors() {
    // Resolver order v6a, v4a, v6b, v4b. v6b is not reachable at all (unknown to the
    // simulated network), v4a connects but its setup fails, the rest refuse.
    let net = network(&[
        (V6A, Behavior::Refuse(ms(10))),
        (V4A, Behavior::SetupFail(ms(20))),
        (V4B, Behavior::Refuse(ms(5))),
    ]);
    let resolver = StaticResolver::with_fallback(NoResolver).with_override(
        "dual.test",
        443,
        [addr(V6A), addr(V4A), addr(V6B), addr(V4B)],
    );
    let t0 = Instant::now();
    let err = HappyEyeballs::default()
        .with_resolver(resolver)
        .with_dialer(net.clone())
        .connect_with(
            "dual.test",
            443,
            ConnectParams::default().with_timeout(Duration::from_secs(10)),
        )
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ConnectErrorKind::AllAttemptsFailed);
    assert_eq!(err.preferred_family(), AddressFamily::V6);
    // Each failure starts the next attempt at once (decision 3).
    assert_eq!(
        timeline(err.attempts()),
        [
            row(V6A, 0, 10, "failed"),
            row(V6B, 10, 10, "failed"),
            row(V4A, 10, 30, "failed"),
            row(V4B, 30, 35, "failed"),
        ]
    );
    let failures: Vec<_> = err
        .attempts()
        .iter()
        .map(|a| {
            let f = a.failure.as_ref().unwrap();
            (a.family, f.phase, f.kind, f.os_error)
        })
        .collect();
    assert_eq!(
        failures,
        [
            (
                AddressFamily::V6,
                AttemptPhase::Connect,
                io::ErrorKind::ConnectionRefused,
                Some(ECONNREFUSED)
            ),
            (
                AddressFamily::V6,
                AttemptPhase::Connect,
                io::ErrorKind::HostUnreachable,
                None
            ),
            (
                AddressFamily::V4,
                AttemptPhase::Setup,
                io::ErrorKind::ConnectionReset,
                Some(ECONNRESET)
            ),
            (
                AddressFamily::V4,
                AttemptPhase::Connect,
                io::ErrorKind::ConnectionRefused,
                Some(ECONNREFUSED)
            ),
        ]
    );
    assert_eq!(dials(&net, t0).len(), 4);
    assert_eq!(err.report().elapsed, ms(35));

    let sentence = chain_text(&err);
    // The attempt that got furthest leads (a reset during setup), the others in brief.
    assert_eq!(
        sentence,
        "all 4 attempts to connect to dual.test:443 failed ([2001:db8::a]:443 refused the \
         connection, [2001:db8::b]:443 not part of the simulated network, 192.0.2.11:443 \
         refused the connection); 192.0.2.10:443 connected, then its setup failed: \
         Connection reset by peer (os error 104)"
    );
    assert!(!sentence.contains('\n'));
    let detailed = format!("{err:#}");
    // The sentence, the one lookup, then the four attempts.
    assert_eq!(detailed.lines().count(), 6, "{detailed}");
    assert_eq!(
        detailed.lines().nth(1).unwrap(),
        "  lookup +0ms..+0ms 4 addresses"
    );
    assert!(
        detailed
            .lines()
            .nth(4)
            .unwrap()
            .contains("#2 192.0.2.10:443 (IPv4) +10ms..+30ms failed: setup failed"),
        "{detailed}"
    );

    // The leading failure's OS error survives the conversion to io::Error: the reset
    // during setup got further than the refusals.
    let io: io::Error = err.into();
    assert_eq!(io.raw_os_error(), Some(ECONNRESET));
    assert_eq!(io.kind(), io::ErrorKind::ConnectionReset);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn cancellation_stops_all_attempts() {
    let net = network(&[
        (V6A, Behavior::Stall),
        (V4A, Behavior::Stall),
        (V6B, Behavior::Stall),
    ]);
    let cancel = CancellationToken::new();
    let t0 = Instant::now();
    let (result, ()) = tokio::join!(
        race_with(
            &net,
            HappyEyeballsOptions::default(),
            Duration::from_secs(10),
            &cancel
        ),
        async {
            sleep(ms(300)).await;
            cancel.cancel();
        }
    );
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::Cancelled);
    // v6a at 0, v6b waits for the fallback's reserved slot, v4a at 250.
    assert_eq!(
        timeline(err.attempts()),
        [
            row(V6A, 0, 300, "cancelled"),
            row(V4A, 250, 300, "cancelled")
        ]
    );
    assert_eq!(Instant::now() - t0, ms(300));
    assert_eq!(
        err.to_string(),
        "connecting to dual.test:443 was cancelled after 300ms (2 attempts started)"
    );
    assert_all_closed(&net);

    // Dropping the connect future cancels just as completely.
    let net = network(&[(V6A, Behavior::Stall), (V4A, Behavior::Stall)]);
    let timed = tokio::time::timeout(ms(260), race(&net, HappyEyeballsOptions::default())).await;
    assert!(timed.is_err(), "the outer timeout fired first");
    assert_eq!(net.stats().opened, 2);
    assert_all_closed(&net);

    // A token cancelled before the call: nothing is dialed at all, for a name or for
    // an IP literal (which skips the resolver), even to an address that would connect
    // at once.
    let net = network(&[(V6A, Behavior::Connect(Duration::ZERO))]);
    let cancelled = CancellationToken::new();
    cancelled.cancel();
    for host in ["dual.test", "2001:db8::a"] {
        let err = HappyEyeballs::default()
            .with_resolver(net.clone())
            .with_dialer(net.clone())
            .connect_with(
                host,
                443,
                ConnectParams::default()
                    .with_timeout(Duration::from_secs(1))
                    .with_cancel(cancelled.clone()),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ConnectErrorKind::Cancelled, "{host}");
        assert_eq!(net.stats().opened, 0, "{host}");
    }
}

#[tokio::test(start_paused = true)]
async fn single_family_no_race_regression() {
    // IPv4 only: the same sequential path as a connector without Happy Eyeballs.
    let endpoints = [
        (V4A, Behavior::Refuse(ms(5))),
        (V4B, Behavior::Stall),
        (V4C, Behavior::Connect(ms(10))),
    ];
    let mut timelines = Vec::new();
    for options in [
        HappyEyeballsOptions::default(),
        HappyEyeballsOptions::sequential(),
    ] {
        let net = network(&endpoints);
        let t0 = Instant::now();
        let won = race(&net, options).await.unwrap();
        // One at a time, in resolver order; the stalled address gets half of what
        // remains (two addresses left: 9995 ms / 2, woken on tokio's 1 ms timer tick),
        // so v4c still gets its turn.
        assert_eq!(
            dials(&net, t0),
            [(V4A.into(), 0), (V4B.into(), 5), (V4C.into(), 5003)]
        );
        assert_eq!(net.stats().peak_open, 1);
        assert_eq!(won.stream.peer_addr(), addr(V4C));
        timelines.push(timeline(&won.report.attempts));
        drop(won);
        assert_all_closed(&net);
    }
    assert_eq!(
        timelines[0],
        [
            row(V4A, 0, 5, "failed"),
            row(V4B, 5, 5003, "timed_out"),
            row(V4C, 5003, 5013, "won")
        ]
    );
    assert_eq!(
        timelines[0], timelines[1],
        "racing on or off, one family behaves the same"
    );
}

#[tokio::test(start_paused = true)]
async fn large_dns_set_bounded_concurrency() {
    // 40 AAAA and 40 A records, all stalled but the very last A record.
    let mut endpoints = Vec::new();
    for i in 0..40u16 {
        endpoints.push((
            SocketAddr::new(format!("2001:db8::{:x}", i + 1).parse().unwrap(), 443),
            Behavior::Stall,
        ));
        let ok = i == 39;
        endpoints.push((
            SocketAddr::new(format!("192.0.2.{}", i + 1).parse().unwrap(), 443),
            if ok {
                Behavior::Connect(ms(10))
            } else {
                Behavior::Stall
            },
        ));
    }
    let net = SimNetwork::new(endpoints);
    let options = HappyEyeballsOptions::default().with_max_concurrent_attempts(3);
    let t0 = Instant::now();
    let won = race_with(
        &net,
        options,
        Duration::from_secs(120),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    let stats = net.stats();
    assert_eq!(
        stats.peak_open, 3,
        "never more than max_concurrent_attempts sockets"
    );
    assert_eq!(won.stream.peer_addr(), addr("192.0.2.40:443"));
    assert_eq!(won.report.attempts.len(), 80);
    // The opening moves: two v6 attempts, then the fallback in the reserved slot.
    assert_eq!(
        dials(&net, t0)[..3],
        [
            ("[2001:db8::1]:443".into(), 0),
            ("[2001:db8::2]:443".into(), 125),
            ("192.0.2.1:443".into(), 250)
        ]
    );
    // At no instant were more than three attempts in flight.
    let mut edges: Vec<(Duration, i32)> = Vec::new();
    for a in &won.report.attempts {
        edges.push((a.started, 1));
        edges.push((a.ended.unwrap(), -1));
    }
    edges.sort_by_key(|&(t, d)| (t, d)); // ends before starts at the same instant
    let mut live = 0;
    for (_, d) in edges {
        live += d;
        assert!(live <= 3);
    }
    // Every stalled attempt held its slot for its budget (>= the 2 s floor), or was
    // cancelled at the very instant the winner connected.
    let won_at = won.report.winning_attempt().unwrap().ended.unwrap();
    for a in won
        .report
        .attempts
        .iter()
        .filter(|a| a.outcome != AttemptOutcome::Won)
    {
        match a.outcome {
            AttemptOutcome::TimedOut => assert!(
                a.ended.unwrap() - a.started >= Duration::from_secs(2),
                "{a}"
            ),
            AttemptOutcome::Cancelled => assert_eq!(a.ended, Some(won_at), "{a}"),
            other => panic!("unexpected {other} in {a}"),
        }
    }
    assert!(won.report.elapsed < Duration::from_secs(120));
    drop(won);
    assert_all_closed(&net);
}

// ---------------------------------------------------------------------------------
// The specification's edge cases.
// ---------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn edge_ipv6_only_runs_sequentially() {
    let net = network(&[
        (V6A, Behavior::Refuse(ms(7))),
        (V6B, Behavior::Refuse(ms(3))),
        (V6C, Behavior::Connect(ms(4))),
    ]);
    let t0 = Instant::now();
    let won = race(&net, HappyEyeballsOptions::default()).await.unwrap();
    assert_eq!(
        dials(&net, t0),
        [(V6A.into(), 0), (V6B.into(), 7), (V6C.into(), 10)]
    );
    assert_eq!(net.stats().peak_open, 1);
    assert_eq!(won.report.winner, Some(2));
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn edge_ipv4_only_runs_sequentially() {
    let net = network(&[
        (V4A, Behavior::Refuse(ms(7))),
        (V4B, Behavior::Connect(ms(4))),
        (V4C, Behavior::Connect(ms(1))),
    ]);
    let t0 = Instant::now();
    let won = race(&net, HappyEyeballsOptions::default()).await.unwrap();
    assert_eq!(dials(&net, t0), [(V4A.into(), 0), (V4B.into(), 7)]);
    assert_eq!(
        timeline(&won.report.attempts),
        [row(V4A, 0, 7, "failed"), row(V4B, 7, 11, "won")]
    );
    assert_eq!(net.stats().peak_open, 1);
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn edge_duplicate_endpoints_are_dialed_once() {
    let net = network(&[
        (V6A, Behavior::Refuse(ms(1))),
        (V6A, Behavior::Refuse(ms(1))),
        (V4A, Behavior::Refuse(ms(1))),
        (V6A, Behavior::Refuse(ms(1))),
        (V4A, Behavior::Refuse(ms(1))),
        ("192.0.2.10:444", Behavior::Refuse(ms(1))), // same address, other port: distinct
    ]);
    let err = race(&net, HappyEyeballsOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.report().resolved,
        [addr(V6A), addr(V4A), addr("192.0.2.10:444")]
    );
    let dialed: Vec<_> = net
        .stats()
        .dials
        .iter()
        .map(|(a, _)| a.to_string())
        .collect();
    assert_eq!(dialed, [V6A, V4A, "192.0.2.10:444"]);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn edge_immediate_ipv6_failure_does_not_suppress_ipv4() {
    let net = network(&[
        (V6A, Behavior::Refuse(Duration::ZERO)),
        (V4A, Behavior::Connect(ms(15))),
    ]);
    let t0 = Instant::now();
    let won = race(&net, HappyEyeballsOptions::default()).await.unwrap();
    // v4 is pulled forward to the instant v6 failed, not left waiting for t0 + 250 ms.
    assert_eq!(dials(&net, t0), [(V6A.into(), 0), (V4A.into(), 0)]);
    assert_eq!(
        timeline(&won.report.attempts),
        [row(V6A, 0, 0, "failed"), row(V4A, 0, 15, "won")]
    );
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn edge_setup_failure_continues_the_race() {
    let net = network(&[
        (V6A, Behavior::SetupFail(ms(30))),
        (V4A, Behavior::Connect(ms(15))),
    ]);
    let t0 = Instant::now();
    let won = race(&net, HappyEyeballsOptions::default()).await.unwrap();
    assert_eq!(dials(&net, t0), [(V6A.into(), 0), (V4A.into(), 30)]);
    assert_eq!(
        timeline(&won.report.attempts),
        [row(V6A, 0, 30, "failed"), row(V4A, 30, 45, "won")]
    );
    let failure = won.report.attempts[0].failure.as_ref().unwrap();
    assert_eq!(
        (failure.phase, failure.terminal),
        (AttemptPhase::Setup, false)
    );
    drop(won);
    assert_all_closed(&net);
}

// ---------------------------------------------------------------------------------
// The six scheduling decisions of the mapping.
// ---------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn decision_1_fallback_is_never_starved_by_the_cap() {
    let mut endpoints: Vec<(String, Behavior)> = (1..=6)
        .map(|i| (format!("[2001:db8::{i}]:443"), Behavior::Stall))
        .collect();
    endpoints.push((V4A.into(), Behavior::Connect(ms(10))));
    let net = SimNetwork::new(endpoints.iter().map(|(a, b)| (addr(a), *b)));
    let t0 = Instant::now();
    let won = race(&net, HappyEyeballsOptions::default()).await.unwrap();
    // Only one v6 attempt ever holds a slot before v4 starts, right on t0 + stagger.
    assert_eq!(
        dials(&net, t0),
        [("[2001:db8::1]:443".into(), 0), (V4A.into(), 250)]
    );
    assert_eq!(won.report.elapsed, ms(260));
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn decision_2_a_stalled_address_gives_its_slot_up() {
    // Racing: v6a stalls; v4a stalls; with 30 s to go and four addresses in two
    // lanes, each attempt gets 15 s, then the next address takes over the slot.
    let net = network(&[
        (V6A, Behavior::Stall),
        (V4A, Behavior::Stall),
        (V6B, Behavior::Connect(ms(10))),
        (V4B, Behavior::Stall),
    ]);
    let t0 = Instant::now();
    let won = race_with(
        &net,
        HappyEyeballsOptions::default(),
        Duration::from_secs(30),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        dials(&net, t0),
        [(V6A.into(), 0), (V4A.into(), 250), (V6B.into(), 15_000)]
    );
    assert_eq!(
        timeline(&won.report.attempts),
        [
            row(V6A, 0, 15_000, "timed_out"),
            row(V4A, 250, 15_010, "cancelled"),
            row(V6B, 15_000, 15_010, "won")
        ]
    );
    let failure = won.report.attempts[0].failure.as_ref().unwrap();
    assert_eq!(failure.kind, io::ErrorKind::TimedOut);
    assert_eq!(failure.message(), "no answer within its 15s budget");
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn decision_3_a_failure_does_not_waste_the_delay() {
    // Within a family: v6b starts when v6a fails (30 ms), not at 125 ms; and the
    // fallback's first attempt keeps its own schedule unless pulled forward too.
    let net = network(&[
        (V6A, Behavior::Refuse(ms(30))),
        (V6B, Behavior::Refuse(ms(100))),
        (V4A, Behavior::Connect(ms(50))),
    ]);
    let t0 = Instant::now();
    let won = race(&net, HappyEyeballsOptions::default()).await.unwrap();
    assert_eq!(
        dials(&net, t0),
        [(V6A.into(), 0), (V6B.into(), 30), (V4A.into(), 130)]
    );
    assert_eq!(
        timeline(&won.report.attempts),
        [
            row(V6A, 0, 30, "failed"),
            row(V6B, 30, 130, "failed"),
            row(V4A, 130, 180, "won")
        ]
    );
    drop(won);
    assert_all_closed(&net);

    // The next attempt in plan order is the one pulled forward: with a second IPv6
    // address that stalls, the fallback keeps its own schedule (t0 + stagger).
    let net = network(&[
        (V6A, Behavior::Refuse(ms(3))),
        (V6B, Behavior::Stall),
        (V4A, Behavior::Connect(ms(5))),
    ]);
    let t0 = Instant::now();
    let won = race(&net, HappyEyeballsOptions::default()).await.unwrap();
    assert_eq!(
        dials(&net, t0),
        [(V6A.into(), 0), (V6B.into(), 3), (V4A.into(), 250)]
    );
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn decision_4_ties_resolve_by_plan_order() {
    // Two successes at the same instant (150 ms): the earlier in the plan wins,
    // whichever family is preferred.
    for prefer_ipv6 in [true, false] {
        let (first, second) = if prefer_ipv6 { (V6A, V4A) } else { (V4A, V6A) };
        let net = network(&[
            (first, Behavior::Connect(ms(150))),
            (second, Behavior::Connect(ms(50))),
        ]);
        let options = HappyEyeballsOptions::default()
            .with_family_stagger_delay(ms(100))
            .with_prefer_ipv6(prefer_ipv6);
        let won = race(&net, options).await.unwrap();
        assert_eq!(
            timeline(&won.report.attempts),
            [
                row(first, 0, 150, "won"),
                row(second, 100, 150, "cancelled")
            ]
        );
        drop(won);
        assert_all_closed(&net);
    }

    // Two attempts due at the same instant (250 ms) start in plan order.
    let net = network(&[
        (V6A, Behavior::Stall),
        (V6B, Behavior::Stall),
        (V6C, Behavior::Stall),
        (V4A, Behavior::Stall),
    ]);
    let options = HappyEyeballsOptions::default().with_max_concurrent_attempts(4);
    let t0 = Instant::now();
    let err = race_with(&net, options, ms(400), &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::TimedOut);
    assert_eq!(
        dials(&net, t0),
        [
            (V6A.into(), 0),
            (V6B.into(), 125),
            (V6C.into(), 250),
            (V4A.into(), 250)
        ]
    );
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn decision_5_disabled_dials_in_resolver_order() {
    let net = network(&[
        (V4A, Behavior::Refuse(ms(5))),
        (V6A, Behavior::Refuse(ms(5))),
        (V4B, Behavior::Connect(ms(5))),
        (V6B, Behavior::Connect(ms(1))),
    ]);
    let t0 = Instant::now();
    let won = race(&net, HappyEyeballsOptions::sequential())
        .await
        .unwrap();
    assert_eq!(
        dials(&net, t0),
        [(V4A.into(), 0), (V6A.into(), 5), (V4B.into(), 10)]
    );
    assert_eq!(net.stats().peak_open, 1);
    assert_eq!(won.stream.peer_addr(), addr(V4B));
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn decision_6_a_terminal_setup_failure_stops_the_race() {
    let net = network(&[
        (V6A, Behavior::Reject(ms(20))),
        (V4A, Behavior::Connect(ms(5))),
        (V6B, Behavior::Connect(ms(5))),
    ]);
    let t0 = Instant::now();
    let err = race(&net, HappyEyeballsOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::SetupRejected);
    assert_eq!(timeline(err.attempts()), [row(V6A, 0, 20, "failed")]);
    assert_eq!(
        dials(&net, t0),
        [(V6A.into(), 0)],
        "nothing is dialed after a terminal failure"
    );
    assert!(err.attempts()[0].failure.as_ref().unwrap().terminal);
    assert_eq!(
        chain_text(&err),
        "connecting to dual.test:443 stopped: [2001:db8::a]:443 rejected the connection setup: \
         the peer's certificate is not valid for this host (simulated)"
    );
    assert_all_closed(&net);
}

// ---------------------------------------------------------------------------------
// Timeouts, winners at the boundary, and bad input.
// ---------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn connect_timeout_bounds_the_whole_race() {
    let net = network(&[(V6A, Behavior::Stall), (V4A, Behavior::Stall)]);
    let t0 = Instant::now();
    let err = race_with(
        &net,
        HappyEyeballsOptions::default(),
        ms(700),
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::TimedOut);
    assert_eq!(Instant::now() - t0, ms(700));
    assert_eq!(
        timeline(err.attempts()),
        [
            row(V6A, 0, 700, "timed_out"),
            row(V4A, 250, 700, "timed_out")
        ]
    );
    let io: io::Error = err.into();
    assert_eq!(io.kind(), io::ErrorKind::TimedOut);
    assert_all_closed(&net);

    // A refusal among the attempts does not turn a timeout into a refusal: the kind
    // stays TimedOut, and the report (with the OS error) travels inside the io::Error.
    let net = network(&[(V6A, Behavior::Refuse(ms(1))), (V6B, Behavior::Stall)]);
    let err = race_with(
        &net,
        HappyEyeballsOptions::default(),
        ms(700),
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::TimedOut);
    assert_eq!(err.raw_os_error(), Some(ECONNREFUSED));
    let io: io::Error = err.into();
    assert_eq!(io.kind(), io::ErrorKind::TimedOut);
    let inner = io
        .get_ref()
        .and_then(|e| e.downcast_ref::<ConnectError>())
        .unwrap();
    assert_eq!(inner.attempts().len(), 2);
    assert_eq!(inner.raw_os_error(), Some(ECONNREFUSED));
}

#[tokio::test(start_paused = true)]
async fn a_winner_at_the_deadline_instant_is_returned() {
    let net = network(&[(V4A, Behavior::Connect(ms(500)))]);
    let won = race_with(
        &net,
        HappyEyeballsOptions::default(),
        ms(500),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(timeline(&won.report.attempts), [row(V4A, 0, 500, "won")]);

    // And a cancellation at the very instant of the win does not take it away.
    let net = network(&[(V4A, Behavior::Connect(ms(50)))]);
    let cancel = CancellationToken::new();
    let (result, ()) = tokio::join!(
        race_with(&net, HappyEyeballsOptions::default(), ms(500), &cancel),
        async {
            sleep(ms(50)).await;
            cancel.cancel();
        }
    );
    assert_eq!(result.unwrap().report.winner, Some(0));
}

#[tokio::test(start_paused = true)]
async fn resolution_is_bounded_and_happens_once() {
    struct Counting(std::sync::atomic::AtomicUsize, Option<Vec<SocketAddr>>);
    impl Resolver for Counting {
        async fn resolve(&self, _: &str, _: u16) -> io::Result<Vec<SocketAddr>> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            match &self.1 {
                Some(addrs) => Ok(addrs.clone()),
                None => std::future::pending().await,
            }
        }
    }
    let net = network(&[
        (V6A, Behavior::Refuse(ms(1))),
        (V4A, Behavior::Refuse(ms(1))),
    ]);
    let resolver = Counting(0.into(), Some(vec![addr(V6A), addr(V4A)]));
    let connector = HappyEyeballs::default()
        .with_resolver(&resolver)
        .with_dialer(net.clone());
    let err = connector
        .connect_with(
            "dual.test",
            443,
            ConnectParams::default().with_timeout(ms(500)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::AllAttemptsFailed);
    assert_eq!(resolver.0.load(std::sync::atomic::Ordering::SeqCst), 1);

    // A resolver that never answers: the connect timeout still wins.
    let hanging = Counting(0.into(), None);
    let t0 = Instant::now();
    let err = HappyEyeballs::default()
        .with_resolver(&hanging)
        .with_dialer(net.clone())
        .connect_with(
            "dual.test",
            443,
            ConnectParams::default().with_timeout(ms(800)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::TimedOut);
    assert_eq!(Instant::now() - t0, ms(800));
    assert!(err.attempts().is_empty());
}

#[tokio::test(start_paused = true)]
async fn ip_literals_skip_the_resolver() {
    let net = network(&[("[::1]:443", Behavior::Connect(ms(1)))]);
    for host in ["::1", "[::1]"] {
        let won = HappyEyeballs::default()
            .with_resolver(NoResolver)
            .with_dialer(net.clone())
            .connect_with(host, 443, ConnectParams::default().with_timeout(ms(100)))
            .await
            .unwrap();
        assert_eq!(won.report.host, "[::1]");
        assert_eq!(won.stream.peer_addr(), addr("[::1]:443"));
    }
}

#[tokio::test(start_paused = true)]
async fn requested_family_restricts_dialing() {
    let net = network(&[
        (V6A, Behavior::Connect(ms(1))),
        (V4A, Behavior::Connect(ms(5))),
    ]);
    let connector = HappyEyeballs::default()
        .with_resolver(net.clone())
        .with_dialer(net.clone());
    let won = connector
        .connect_with(
            "dual.test",
            443,
            ConnectParams::default()
                .with_family(Some(AddressFamily::V4))
                .with_timeout(ms(100)),
        )
        .await
        .unwrap();
    assert_eq!(won.stream.peer_addr(), addr(V4A));
    assert_eq!(won.report.attempts.len(), 1);

    let v4_only = network(&[(V4A, Behavior::Connect(ms(1)))]);
    let err = HappyEyeballs::default()
        .with_resolver(v4_only.clone())
        .with_dialer(v4_only.clone())
        .connect_with(
            "dual.test",
            443,
            ConnectParams::default()
                .with_family(Some(AddressFamily::V6))
                .with_timeout(ms(100)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::FamilyUnavailable);
    assert_eq!(
        err.to_string(),
        "dual.test has no IPv6 address (it resolved to 1 IPv4 address)"
    );
    assert!(v4_only.stats().dials.is_empty());
}

#[tokio::test(start_paused = true)]
async fn bad_input_is_a_typed_error_before_any_dial() {
    let net = network(&[
        (V6A, Behavior::Connect(ms(1))),
        (V4A, Behavior::Connect(ms(1))),
    ]);
    let connector = HappyEyeballs::default()
        .with_resolver(net.clone())
        .with_dialer(net.clone());
    let go = |host: &'static str, port: u16, timeout: Duration, options: HappyEyeballsOptions| {
        let connector = connector.clone().with_options(options);
        async move {
            connector
                .connect_with(host, port, ConnectParams::default().with_timeout(timeout))
                .await
                .unwrap_err()
        }
    };
    let ok = HappyEyeballsOptions::default();
    let cases = [
        (
            go("", 443, ms(100), ok).await,
            "cannot connect: the host is empty",
        ),
        (
            go("...", 443, ms(100), ok).await,
            "cannot connect: the host \"...\" is not valid: an empty label (two dots in a row, or a leading dot)",
        ),
        (
            go("dual.test", 0, ms(100), ok).await,
            "cannot connect: port 0 cannot be connected to",
        ),
        (
            go("dual.test", 443, Duration::ZERO, ok).await,
            "cannot connect to dual.test:443: the connect timeout is zero, which leaves no time to connect",
        ),
        (
            go(
                "dual.test",
                443,
                ms(100),
                ok.with_max_concurrent_attempts(0),
            )
            .await,
            "cannot connect to dual.test:443: max_concurrent_attempts is 0, but a race needs at least 2 attempts in flight (one per family); set enable = false to dial one address at a time",
        ),
        (
            go("dual.test", 443, ms(100), ok.with_resolution_delay(ms(5))).await,
            "cannot connect to dual.test:443: resolution_delay is 5ms, below the 10ms minimum of RFC 8305",
        ),
        (
            go(
                "dual.test",
                443,
                ms(100),
                ok.with_first_address_family_count(0),
            )
            .await,
            "cannot connect to dual.test:443: first_address_family_count is 0, but at least one attempt of the preferred family must come first; set prefer_ipv6 to choose the other family",
        ),
        (
            go(
                "dual.test",
                443,
                ms(100),
                ok.with_attempt_spacing_delay(ms(1)),
            )
            .await,
            "cannot connect to dual.test:443: attempt_spacing_delay is 1ms, below the 10ms minimum of RFC 8305",
        ),
    ];
    for (err, message) in cases {
        assert_eq!(err.kind(), ConnectErrorKind::InvalidInput);
        assert_eq!(err.to_string(), message);
        let io: io::Error = err.into();
        assert_eq!(io.kind(), io::ErrorKind::InvalidInput);
    }
    assert!(net.stats().dials.is_empty(), "nothing was dialed");

    // Sequential mode ignores the pacing knobs, so a cap of 1 is fine there; and a
    // timeout shorter than the stagger is fine for a single address.
    let won = connector
        .clone()
        .with_options(HappyEyeballsOptions::sequential().with_max_concurrent_attempts(1))
        .connect_with(
            "dual.test",
            443,
            ConnectParams::default().with_timeout(ms(100)),
        )
        .await
        .unwrap();
    assert_eq!(won.report.attempts.len(), 1);
    let won = connector
        .connect_with(
            "dual.test",
            443,
            ConnectParams::default()
                .with_family(Some(AddressFamily::V4))
                .with_timeout(ms(100)),
        )
        .await
        .unwrap();
    assert_eq!(won.stream.peer_addr(), addr(V4A));
}

#[tokio::test(start_paused = true)]
async fn resolver_failures_and_empty_answers_are_typed() {
    let empty = SimNetwork::new([]);
    let err = race(&empty, HappyEyeballsOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::NoAddresses);
    assert_eq!(err.to_string(), "dual.test resolved to no addresses");

    let err = HappyEyeballs::default()
        .with_resolver(NoResolver)
        .connect_with(
            "nowhere.test",
            80,
            ConnectParams::default().with_timeout(ms(100)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::Resolve);
    assert_eq!(
        err.to_string(),
        "could not resolve nowhere.test: no address is configured for nowhere.test:80"
    );
    // The sentence already carries the resolver's words: no source repeats them.
    assert!(std::error::Error::source(&err).is_none());
    assert_eq!(err.report().dns.len(), 1);
    assert_eq!(err.report().dns[0].outcome.as_str(), "nxdomain");
}

// ---- a connect timeout shorter than the stagger (README: "Short connect timeouts") ----

/// The README's three timelines for a 200 ms timeout, exactly, in virtual time.
#[tokio::test(start_paused = true)]
async fn a_200ms_timeout_and_a_black_holed_ipv6_gives_ipv4_the_second_half() {
    let net = network(&[(V6A, Behavior::Stall), (V4A, Behavior::Connect(ms(1)))]);
    let won = race_with(
        &net,
        HappyEyeballsOptions::default(),
        ms(200),
        &CancellationToken::new(),
    )
    .await
    .expect("IPv4 connects");
    assert_eq!(
        timeline(&won.report.attempts),
        [row(V6A, 0, 101, "cancelled"), row(V4A, 100, 101, "won")]
    );
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn a_200ms_timeout_and_a_refused_ipv6_starts_ipv4_at_once() {
    let net = network(&[
        (V6A, Behavior::Refuse(ms(1))),
        (V4A, Behavior::Connect(ms(1))),
    ]);
    let won = race_with(
        &net,
        HappyEyeballsOptions::default(),
        ms(200),
        &CancellationToken::new(),
    )
    .await
    .expect("IPv4 connects");
    assert_eq!(
        timeline(&won.report.attempts),
        [row(V6A, 0, 1, "failed"), row(V4A, 1, 2, "won")]
    );
}

#[tokio::test(start_paused = true)]
async fn a_200ms_timeout_and_both_black_holed_times_out_naming_both() {
    let net = network(&[(V6A, Behavior::Stall), (V4A, Behavior::Stall)]);
    let t0 = Instant::now();
    let err = race_with(
        &net,
        HappyEyeballsOptions::default(),
        ms(200),
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::TimedOut);
    assert_eq!(dials(&net, t0), [(V6A.into(), 0), (V4A.into(), 100)]);
    assert_eq!(
        timeline(&err.report().attempts),
        [
            row(V6A, 0, 200, "timed_out"),
            row(V4A, 100, 200, "timed_out")
        ]
    );
    // `{:#}`: one line per attempt under the sentence.
    let message = format!("{err:#}");
    assert!(
        message.contains("2001:db8::a") && message.contains("192.0.2.10"),
        "{message}"
    );
    assert_all_closed(&net);
}
