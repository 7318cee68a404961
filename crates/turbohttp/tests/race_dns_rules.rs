//! DNS inside the race (RFC 8305 §3 and §4), in virtual time: AAAA and A are asked
//! separately, the race starts on the first answer, an A answer that comes first waits
//! up to the resolution delay for the AAAA answer, and a failed query ends the wait.
//! Every test asserts exact query and attempt times, and that nothing is left open.

use std::net::SocketAddr;
use std::time::Duration;
use turbohttp::ConnectParams;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use turbohttp::DisplayDuration;
use turbohttp::sim::{Behavior, DnsBehavior, SimNetwork, SimSocket};
use turbohttp::{
    AddressFamily, ConnectError, ConnectErrorKind, Established, HappyEyeballs, HappyEyeballsOptions,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const V6A: &str = "[2001:db8::a]:443";
const V6B: &str = "[2001:db8::b]:443";
const V4A: &str = "192.0.2.10:443";

fn network(endpoints: &[(&str, Behavior)], aaaa: DnsBehavior, a: DnsBehavior) -> SimNetwork {
    SimNetwork::new(
        endpoints
            .iter()
            .map(|(addr, b)| (addr.parse::<SocketAddr>().unwrap(), *b)),
    )
    .with_dns(aaaa, a)
}

async fn connect(
    net: &SimNetwork,
    options: HappyEyeballsOptions,
    family: Option<AddressFamily>,
    timeout: Duration,
) -> Result<Established<SimSocket>, ConnectError> {
    HappyEyeballs::default()
        .with_options(options)
        .with_resolver(net.clone())
        .with_dialer(net.clone())
        .connect_with(
            "dual.test",
            443,
            ConnectParams::default()
                .with_family(family)
                .with_timeout(timeout),
        )
        .await
}

/// `(address, ms after the start)` of every dial, in order.
fn dials(net: &SimNetwork, t0: Instant) -> Vec<(String, u64)> {
    net.stats()
        .dials
        .iter()
        .map(|(a, at)| (a.to_string(), (*at - t0).as_millis() as u64))
        .collect()
}

/// `(type, start ms, end ms, outcome)` of every query, in the order sent.
fn queries(report: &turbohttp::RaceReport) -> Vec<(String, u64, u64, String)> {
    report
        .dns
        .iter()
        .map(|q| {
            (
                q.query.to_string(),
                q.started.as_millis() as u64,
                q.ended.expect("every query has ended").as_millis() as u64,
                q.outcome.as_str().to_owned(),
            )
        })
        .collect()
}

fn row(t: &str, start: u64, end: u64, outcome: &str) -> (String, u64, u64, String) {
    (t.to_owned(), start, end, outcome.to_owned())
}

fn dial(a: &str, at: u64) -> (String, u64) {
    (a.to_owned(), at)
}

/// Nothing the race started is left: no socket, no query.
fn assert_all_closed(net: &SimNetwork) {
    let stats = net.stats();
    assert_eq!(stats.open, 0, "sockets left open: {stats:?}");
    assert_eq!(stats.queries_open, 0, "queries left running: {stats:?}");
}

fn healthy() -> Vec<(&'static str, Behavior)> {
    vec![
        (V6A, Behavior::Connect(ms(1))),
        (V4A, Behavior::Connect(ms(1))),
    ]
}

#[tokio::test(start_paused = true)]
async fn a_lost_aaaa_costs_the_resolution_delay_not_the_dns_timeout() {
    let net = network(&healthy(), DnsBehavior::Lost, DnsBehavior::Answer(ms(0)));
    let t0 = Instant::now();
    let won = connect(&net, HappyEyeballsOptions::default(), None, ms(10_000))
        .await
        .unwrap();
    // The A answer at 0 waits 50 ms for the AAAA answer, then IPv4 goes alone.
    assert_eq!(dials(&net, t0), [dial(V4A, 50)]);
    assert_eq!(won.report.elapsed, ms(51));
    assert_eq!(
        queries(&won.report),
        [row("AAAA", 0, 51, "cancelled"), row("A", 0, 0, "answered")]
    );
    assert_eq!(won.report.resolve_time, ms(0));
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn an_aaaa_answer_within_the_delay_leads_and_ipv4_keeps_its_stagger() {
    let endpoints = [(V6A, Behavior::Stall), (V4A, Behavior::Connect(ms(1)))];
    let net = network(
        &endpoints,
        DnsBehavior::Answer(ms(30)),
        DnsBehavior::Answer(ms(0)),
    );
    let t0 = Instant::now();
    let won = connect(&net, HappyEyeballsOptions::default(), None, ms(10_000))
        .await
        .unwrap();
    // IPv6 at its answer; IPv4 a stagger later, as if both had come together at 30 ms.
    assert_eq!(dials(&net, t0), [dial(V6A, 30), dial(V4A, 280)]);
    assert_eq!(
        won.report.winning_attempt().unwrap().endpoint.to_string(),
        V4A
    );
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn an_aaaa_answer_after_the_delay_joins_at_once() {
    // IPv4 stalls, so the late IPv6 answer matters: it is dialed the moment it comes.
    let endpoints = [(V6A, Behavior::Connect(ms(1))), (V4A, Behavior::Stall)];
    let net = network(
        &endpoints,
        DnsBehavior::Answer(ms(300)),
        DnsBehavior::Answer(ms(0)),
    );
    let t0 = Instant::now();
    let won = connect(&net, HappyEyeballsOptions::default(), None, ms(10_000))
        .await
        .unwrap();
    assert_eq!(dials(&net, t0), [dial(V4A, 50), dial(V6A, 300)]);
    assert_eq!(
        won.report.winning_attempt().unwrap().endpoint.to_string(),
        V6A
    );
    assert_eq!(won.report.elapsed, ms(301));
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn aaaa_at_300ms_ipv4_starts_at_the_resolution_delay_and_wins() {
    let net = network(
        &healthy(),
        DnsBehavior::Answer(ms(300)),
        DnsBehavior::Answer(ms(0)),
    );
    let t0 = Instant::now();
    let won = connect(&net, HappyEyeballsOptions::default(), None, ms(10_000))
        .await
        .unwrap();
    assert_eq!(dials(&net, t0), [dial(V4A, 50)]);
    assert_eq!(won.report.elapsed, ms(51));
    // The AAAA answer was no longer needed: its query was dropped.
    assert_eq!(won.report.dns[0].outcome.as_str(), "cancelled");
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn a_failed_aaaa_query_ends_the_wait_at_once() {
    for failure in [
        DnsBehavior::ServFail(ms(10)),
        DnsBehavior::NxDomain(ms(10)),
        DnsBehavior::NoData(ms(10)),
    ] {
        let net = network(&healthy(), failure, DnsBehavior::Answer(ms(0)));
        let t0 = Instant::now();
        let won = connect(&net, HappyEyeballsOptions::default(), None, ms(10_000))
            .await
            .unwrap();
        assert_eq!(dials(&net, t0), [dial(V4A, 10)], "{failure}");
        let expected = match failure {
            DnsBehavior::ServFail(_) => "servfail",
            DnsBehavior::NxDomain(_) => "nxdomain",
            _ => "nodata",
        };
        assert_eq!(
            queries(&won.report),
            [row("AAAA", 0, 10, expected), row("A", 0, 0, "answered")],
            "{failure}"
        );
        drop(won);
        assert_all_closed(&net);
    }
}

#[tokio::test(start_paused = true)]
async fn a_lost_a_answer_does_not_hold_ipv6_back() {
    let net = network(&healthy(), DnsBehavior::Answer(ms(0)), DnsBehavior::Lost);
    let t0 = Instant::now();
    let won = connect(&net, HappyEyeballsOptions::default(), None, ms(10_000))
        .await
        .unwrap();
    assert_eq!(dials(&net, t0), [dial(V6A, 0)]);
    assert_eq!(won.report.elapsed, ms(1));
    assert_eq!(
        queries(&won.report),
        [row("AAAA", 0, 0, "answered"), row("A", 0, 1, "cancelled")]
    );
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn with_ipv4_preferred_the_roles_swap() {
    let options = HappyEyeballsOptions::default().with_prefer_ipv6(false);
    let net = network(&healthy(), DnsBehavior::Answer(ms(0)), DnsBehavior::Lost);
    let t0 = Instant::now();
    let won = connect(&net, options, None, ms(10_000)).await.unwrap();
    // A is asked first, and the AAAA answer waits 50 ms for it.
    assert_eq!(won.report.dns[0].query.to_string(), "A");
    assert_eq!(dials(&net, t0), [dial(V6A, 50)]);
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn the_resolution_delay_is_an_option() {
    let options = HappyEyeballsOptions::default().with_resolution_delay(ms(20));
    let net = network(&healthy(), DnsBehavior::Lost, DnsBehavior::Answer(ms(5)));
    let t0 = Instant::now();
    let won = connect(&net, options, None, ms(10_000)).await.unwrap();
    assert_eq!(dials(&net, t0), [dial(V4A, 25)]);
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn first_address_family_count_gives_the_preferred_family_more_attempts_first() {
    let endpoints = [
        (V6A, Behavior::Stall),
        (V6B, Behavior::Stall),
        (V4A, Behavior::Connect(ms(1))),
    ];
    for (count, expected) in [
        (1, vec![dial(V6A, 0), dial(V6B, 125), dial(V4A, 250)]),
        (2, vec![dial(V6A, 0), dial(V6B, 125), dial(V4A, 375)]),
        // More than the family has: counted from its last attempt.
        (5, vec![dial(V6A, 0), dial(V6B, 125), dial(V4A, 375)]),
    ] {
        let options = HappyEyeballsOptions::default()
            .with_first_address_family_count(count)
            // The last slot is the other family's until it starts.
            .with_max_concurrent_attempts(count.max(2) + 1);
        let net = network(
            &endpoints,
            DnsBehavior::Answer(ms(0)),
            DnsBehavior::Answer(ms(0)),
        );
        let t0 = Instant::now();
        let won = connect(&net, options, None, ms(10_000)).await.unwrap();
        assert_eq!(dials(&net, t0), expected, "count {count}");
        drop(won);
        assert_all_closed(&net);
    }
}

#[tokio::test(start_paused = true)]
async fn following_the_resolver_order_lets_the_first_answer_lead() {
    let options = HappyEyeballsOptions::default().with_follow_resolver_order(true);
    let endpoints = [(V6A, Behavior::Connect(ms(1))), (V4A, Behavior::Stall)];
    let net = network(
        &endpoints,
        DnsBehavior::Answer(ms(30)),
        DnsBehavior::Answer(ms(0)),
    );
    let t0 = Instant::now();
    let won = connect(&net, options, None, ms(10_000)).await.unwrap();
    // A answered first: IPv4 leads at once, IPv6 waits the stagger from there.
    assert_eq!(dials(&net, t0), [dial(V4A, 0), dial(V6A, 250)]);
    assert_eq!(won.report.preferred_family, AddressFamily::V4);
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn a_requested_family_is_the_only_query() {
    let net = network(&healthy(), DnsBehavior::Lost, DnsBehavior::Answer(ms(3)));
    let t0 = Instant::now();
    let won = connect(
        &net,
        HappyEyeballsOptions::default(),
        Some(AddressFamily::V4),
        ms(10_000),
    )
    .await
    .unwrap();
    assert_eq!(dials(&net, t0), [dial(V4A, 3)]);
    assert_eq!(queries(&won.report), [row("A", 0, 3, "answered")]);
    drop(won);

    // The family asked for has no address: a typed error naming the query.
    let net = network(
        &healthy(),
        DnsBehavior::NoData(ms(2)),
        DnsBehavior::Answer(ms(0)),
    );
    let err = connect(
        &net,
        HappyEyeballsOptions::default(),
        Some(AddressFamily::V6),
        ms(10_000),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::FamilyUnavailable);
    assert_eq!(
        err.to_string(),
        "dual.test has no IPv6 address: AAAA: no AAAA record for dual.test"
    );
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn racing_disabled_waits_for_every_query_like_getaddrinfo() {
    let endpoints = [
        (V6A, Behavior::Refuse(ms(1))),
        (V4A, Behavior::Connect(ms(1))),
    ];
    let net = network(
        &endpoints,
        DnsBehavior::Answer(ms(100)),
        DnsBehavior::Answer(ms(0)),
    );
    let t0 = Instant::now();
    let won = connect(&net, HappyEyeballsOptions::sequential(), None, ms(10_000))
        .await
        .unwrap();
    // Nothing before the last answer; then the preferred family's answer first.
    assert_eq!(dials(&net, t0), [dial(V6A, 100), dial(V4A, 101)]);
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn both_queries_lost_times_out_at_the_connect_timeout() {
    let net = network(&healthy(), DnsBehavior::Lost, DnsBehavior::Lost);
    let t0 = Instant::now();
    let err = connect(&net, HappyEyeballsOptions::default(), None, ms(2_000))
        .await
        .unwrap_err();
    assert_eq!(Instant::now() - t0, ms(2_000));
    assert_eq!(err.kind(), ConnectErrorKind::TimedOut);
    assert_eq!(
        queries(err.report()),
        [
            row("AAAA", 0, 2_000, "timed_out"),
            row("A", 0, 2_000, "timed_out")
        ]
    );
    assert!(net.stats().dials.is_empty());
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn a_resolution_failure_names_both_queries() {
    let net = network(
        &healthy(),
        DnsBehavior::ServFail(ms(4)),
        DnsBehavior::NxDomain(ms(7)),
    );
    let err = connect(&net, HappyEyeballsOptions::default(), None, ms(10_000))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::Resolve);
    assert_eq!(
        err.to_string(),
        "could not resolve dual.test: AAAA: the server failed (SERVFAIL) for dual.test; \
         A: no such name (NXDOMAIN) for dual.test"
    );
    assert_eq!(
        format!("{err:#}"),
        "could not resolve dual.test: AAAA: the server failed (SERVFAIL) for dual.test; \
         A: no such name (NXDOMAIN) for dual.test\n  \
         AAAA +0ms..+4ms servfail: the server failed (SERVFAIL) for dual.test\n  \
         A +0ms..+7ms nxdomain: no such name (NXDOMAIN) for dual.test"
    );
    assert_eq!(err.report().elapsed, ms(7));
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert_all_closed(&net);

    // No record of either type: no addresses, not a failure to resolve.
    let net = network(
        &healthy(),
        DnsBehavior::NoData(ms(1)),
        DnsBehavior::NoData(ms(2)),
    );
    let err = connect(&net, HappyEyeballsOptions::default(), None, ms(10_000))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::NoAddresses);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn one_failed_query_and_one_answer_connects() {
    let net = network(
        &healthy(),
        DnsBehavior::Answer(ms(2)),
        DnsBehavior::ServFail(ms(1)),
    );
    let t0 = Instant::now();
    let won = connect(&net, HappyEyeballsOptions::default(), None, ms(10_000))
        .await
        .unwrap();
    assert_eq!(dials(&net, t0), [dial(V6A, 2)]);
    drop(won);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn cancelling_during_resolution_drops_the_queries() {
    let net = network(&healthy(), DnsBehavior::Lost, DnsBehavior::Lost);
    let cancel = CancellationToken::new();
    let connector = HappyEyeballs::default()
        .with_resolver(net.clone())
        .with_dialer(net.clone());
    let canceller = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(ms(30)).await;
        canceller.cancel();
    });
    let err = connector
        .connect_with(
            "dual.test",
            443,
            ConnectParams::default()
                .with_timeout(ms(10_000))
                .with_cancel(cancel.clone()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::Cancelled);
    assert_eq!(
        queries(err.report()),
        [
            row("AAAA", 0, 30, "cancelled"),
            row("A", 0, 30, "cancelled")
        ]
    );
    assert_all_closed(&net);

    // Dropping the connect future drops the queries too.
    let net = network(&healthy(), DnsBehavior::Lost, DnsBehavior::Lost);
    let connector = HappyEyeballs::default()
        .with_resolver(net.clone())
        .with_dialer(net.clone());
    let cancel = CancellationToken::new();
    let outcome = tokio::time::timeout(
        ms(30),
        connector.connect_with(
            "dual.test",
            443,
            ConnectParams::default()
                .with_timeout(ms(10_000))
                .with_cancel(cancel.clone()),
        ),
    )
    .await;
    assert!(outcome.is_err());
    assert_eq!(net.stats().queries.len(), 2);
    assert_all_closed(&net);
}

#[tokio::test(start_paused = true)]
async fn attempt_times_count_from_the_start_of_the_connect() {
    let net = network(
        &healthy(),
        DnsBehavior::Answer(ms(12)),
        DnsBehavior::Answer(ms(12)),
    );
    let won = connect(&net, HappyEyeballsOptions::default(), None, ms(10_000))
        .await
        .unwrap();
    let attempt = won.report.winning_attempt().unwrap();
    assert_eq!(
        (attempt.started, attempt.ended, won.report.resolve_time),
        (ms(12), Some(ms(13)), ms(12))
    );
    assert_eq!(DisplayDuration(won.report.elapsed).to_string(), "13ms");
}
