//! QUIC raced against TCP through the real driver, in virtual time, on the simulated
//! network (`SimNetwork::with_quic`): exact start times of every QUIC and TCP attempt
//! for `ConnectParams::http3`, the fast-failure hand-over, HTTP/3 only, and the
//! connector's memory of broken QUIC (5 minutes, then QUIC again). The core's own
//! rules are tested on `Race` in turbohttp-proto/tests/quic.rs.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use turbohttp::sim::{Behavior, DnsBehavior, SimNetwork, SimSocket};
use turbohttp::{
    AttemptOutcome, ConnectError, ConnectErrorKind, ConnectParams, Established, HappyEyeballs,
    Http3, QuicMemory, Transport,
};

const V6: &str = "[2001:db8::a]:443";
const V4: &str = "192.0.2.10:443";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// Both families answer at once; TCP to every address connects after `tcp_ms`; QUIC
/// as `quic` says (any address not there: no answer).
fn network(tcp_ms: u64, quic: &[(&str, Behavior)]) -> SimNetwork {
    SimNetwork::new([
        (addr(V6), Behavior::Connect(ms(tcp_ms))),
        (addr(V4), Behavior::Connect(ms(tcp_ms))),
    ])
    .with_dns(DnsBehavior::Answer(ms(0)), DnsBehavior::Answer(ms(0)))
    .with_quic(quic.iter().map(|(a, b)| (addr(a), *b)))
}

fn connector(
    net: &SimNetwork,
    memory: &Arc<Mutex<QuicMemory>>,
) -> HappyEyeballs<SimNetwork, SimNetwork> {
    HappyEyeballs::default()
        .with_resolver(net.clone())
        .with_dialer(net.clone())
        .with_quic_memory(Arc::clone(memory))
}

async fn connect(
    net: &SimNetwork,
    memory: &Arc<Mutex<QuicMemory>>,
    http3: Http3,
) -> Result<Established<SimSocket>, ConnectError> {
    connector(net, memory)
        .connect_with(
            "h3.test",
            443,
            ConnectParams::default()
                .with_http3(http3)
                .with_timeout(Duration::from_secs(5)),
        )
        .await
}

/// `(transport, address, start ms, outcome)` of every attempt.
fn attempts(report: &turbohttp::RaceReport) -> Vec<(Transport, String, u64, AttemptOutcome)> {
    report
        .attempts
        .iter()
        .map(|a| {
            (
                a.transport,
                a.endpoint.to_string(),
                a.started.as_millis() as u64,
                a.outcome,
            )
        })
        .collect()
}

fn memory() -> Arc<Mutex<QuicMemory>> {
    Arc::new(Mutex::new(QuicMemory::default()))
}

use AttemptOutcome::{Cancelled, Failed, TimedOut, Won};
use Transport::{Quic, Tcp};

#[tokio::test(start_paused = true)]
async fn quic_first_then_tcp_one_spacing_later_when_udp_is_blocked() {
    let net = network(10, &[]);
    let memory = memory();
    let won = connect(&net, &memory, Http3::Also).await.expect("TCP wins");
    // QUIC [v6] at 0, TCP [v6] one spacing (125 ms) later, connected at 135: QUIC
    // v4's turn (250) never came.
    assert_eq!(
        attempts(&won.report),
        [(Quic, V6.into(), 0, Cancelled), (Tcp, V6.into(), 125, Won),]
    );
    assert_eq!(won.report.elapsed, ms(135));
    assert!(!won.report.quic_remembered_broken);
    assert_eq!(net.stats().open, 1, "only the winner is open");
}

#[tokio::test(start_paused = true)]
async fn with_every_address_stalled_the_families_and_transports_interleave() {
    let net = SimNetwork::new([
        (addr(V6), Behavior::Stall),
        (addr(V4), Behavior::Connect(ms(5))),
    ])
    .with_dns(DnsBehavior::Answer(ms(0)), DnsBehavior::Answer(ms(0)))
    .with_quic([]);
    let won = connect(&net, &memory(), Http3::Also)
        .await
        .expect("TCP v4 wins");
    assert_eq!(
        attempts(&won.report),
        [
            (Quic, V6.into(), 0, Cancelled),
            (Tcp, V6.into(), 125, Cancelled),
            (Quic, V4.into(), 250, Cancelled),
            (Tcp, V4.into(), 375, Won),
        ]
    );
    assert_eq!(won.report.elapsed, ms(380));
}

#[tokio::test(start_paused = true)]
async fn a_healthy_quic_wins_before_tcp_starts() {
    let net = network(10, &[(V6, Behavior::Connect(ms(30)))]);
    let memory = memory();
    let won = connect(&net, &memory, Http3::Also)
        .await
        .expect("QUIC wins");
    assert_eq!(attempts(&won.report), [(Quic, V6.into(), 0, Won)]);
    assert_eq!(net.stats().quic_dials.len(), 1);
    assert!(memory.lock().expect("memory").is_empty());
}

#[tokio::test(start_paused = true)]
async fn quic_refused_fast_hands_over_to_tcp_at_once_and_teaches_nothing() {
    let net = network(10, &[(V6, Behavior::Refuse(ms(3)))]);
    let memory = memory();
    let won = connect(&net, &memory, Http3::Also).await.expect("TCP wins");
    assert_eq!(
        attempts(&won.report),
        [(Quic, V6.into(), 0, Failed), (Tcp, V6.into(), 3, Won)]
    );
    assert!(memory.lock().expect("memory").is_empty());
}

#[tokio::test(start_paused = true)]
async fn advertised_without_a_record_dials_tcp_only() {
    let net = network(10, &[(V6, Behavior::Connect(ms(1)))]);
    let won = connect(&net, &memory(), Http3::Advertised)
        .await
        .expect("TCP wins");
    assert_eq!(attempts(&won.report), [(Tcp, V6.into(), 0, Won)]);
    assert!(net.stats().quic_dials.is_empty());
}

#[tokio::test(start_paused = true)]
async fn http3_only_with_udp_blocked_dials_no_tcp_and_times_out() {
    let net = network(10, &[]);
    let error = connect(&net, &memory(), Http3::Only)
        .await
        .expect_err("no QUIC answer");
    assert_eq!(error.kind(), ConnectErrorKind::TimedOut);
    assert_eq!(
        attempts(error.report()),
        [
            (Quic, V6.into(), 0, TimedOut),
            (Quic, V4.into(), 250, TimedOut),
        ]
    );
    assert_eq!(error.report().elapsed, Duration::from_secs(5));
    assert_eq!(net.stats().open, 0, "nothing left open");
}

#[tokio::test(start_paused = true)]
async fn broken_quic_is_remembered_for_five_minutes_then_tried_again() {
    let net = network(10, &[]);
    let memory = memory();
    let t0 = Instant::now();
    connect(&net, &memory, Http3::Also).await.expect("TCP wins");
    // Straight to TCP: no QUIC attempt, no QUIC delay.
    let again = connect(&net, &memory, Http3::Also)
        .await
        .expect("TCP again");
    assert_eq!(attempts(&again.report), [(Tcp, V6.into(), 0, Won)]);
    assert!(again.report.quic_remembered_broken);
    // HTTP/3 only still dials QUIC: there is nothing else.
    let only = connect(&net, &memory, Http3::Only)
        .await
        .expect_err("no answer");
    assert_eq!(only.report().attempts[0].transport, Quic);
    // Remembered when the first race ended (at 135 ms) for five minutes: at 300 s
    // still broken, at 300.135 s QUIC goes first again.
    tokio::time::sleep_until(t0 + Duration::from_secs(300)).await;
    let still = connect(&net, &memory, Http3::Also).await.expect("TCP wins");
    assert_eq!(attempts(&still.report), [(Tcp, V6.into(), 0, Won)]);
    tokio::time::sleep_until(t0 + Duration::from_secs(300) + ms(135)).await;
    let later = connect(&net, &memory, Http3::Also).await.expect("TCP wins");
    assert_eq!(later.report.attempts[0].transport, Quic);
    assert!(!later.report.quic_remembered_broken);
}

#[tokio::test(start_paused = true)]
async fn a_dialer_without_quic_ignores_http3() {
    let net = SimNetwork::new([(addr(V6), Behavior::Connect(ms(1)))])
        .with_dns(DnsBehavior::Answer(ms(0)), DnsBehavior::NoData(ms(0)));
    let won = connect(&net, &memory(), Http3::Only).await.expect("TCP");
    assert_eq!(attempts(&won.report), [(Tcp, V6.into(), 0, Won)]);
}

#[tokio::test(start_paused = true)]
async fn an_ip_literal_is_remembered_by_its_canonical_form() {
    let v6 = "[2001:db8::a]:443";
    let net = SimNetwork::new([(addr(v6), Behavior::Connect(ms(10)))]).with_quic([]);
    let memory = memory();
    let at = |host: &'static str| {
        let net = net.clone();
        let memory = Arc::clone(&memory);
        async move {
            connector(&net, &memory)
                .connect_with(host, 443, ConnectParams::default().with_http3(Http3::Also))
                .await
                .expect("TCP wins")
        }
    };
    let first = at("2001:db8::a").await;
    assert_eq!(
        attempts(&first.report),
        [(Quic, v6.into(), 0, Cancelled), (Tcp, v6.into(), 125, Won)]
    );
    // The same address, spelled otherwise: remembered, straight to TCP.
    let again = at("2001:0db8:0::a").await;
    assert_eq!(attempts(&again.report), [(Tcp, v6.into(), 0, Won)]);
    assert!(again.report.quic_remembered_broken);
    let memory = memory.lock().expect("memory");
    assert!(memory.is_broken(&first.report.host, 443, Instant::now().into_std()));
    assert!(!memory.is_broken("", 443, Instant::now().into_std()));
}
