//! The race's deadlines in real time (issue 11, item 3): with `[::1]` black-holed the
//! IPv4 fallback starts at the stagger, never before it, on both runtime flavours. In
//! real time the driver waits with a precise timer (a timerfd on Linux) for the last
//! stretch; only a lower bound is asserted, since a busy machine may wake us late.
//! How late is measured by `examples/stagger_excess.rs`, not tested.

mod support;

use std::time::{Duration, Instant};
use support::tls_lab;

use turbohttp::{AttemptOutcome, StaticResolver};
use turbohttp::{HappyEyeballs, HappyEyeballsOptions};

use tls_lab::*;

const STAGGER: Duration = Duration::from_millis(30);

/// Races a stalled `[::1]` against a healthy `127.0.0.1`, `rounds` times; checks that
/// the fallback started no earlier than the stagger and IPv4 won.
async fn the_fallback_waits_the_whole_stagger(rounds: usize) {
    let stalled = StalledListener::new(v6(0));
    let healthy = tokio::net::TcpListener::bind(v4(0)).await.expect("bind");
    let p4 = healthy.local_addr().expect("addr").port();
    let connector = HappyEyeballs::default()
        .with_options(HappyEyeballsOptions::default().with_family_stagger_delay(STAGGER))
        .with_resolver(StaticResolver::new().with_override(
            "dual.test",
            80,
            [v6(stalled.port), v4(p4)],
        ));
    for _ in 0..rounds {
        let start = Instant::now();
        let won = connector.connect("dual.test", 80).await.expect("IPv4 wins");
        assert!(start.elapsed() >= STAGGER, "connected before the stagger");
        assert!(won.stream.peer_addr().expect("peer").is_ipv4());
        let attempts = &won.report.attempts;
        assert_eq!(attempts.len(), 2, "{attempts:?}");
        assert!(
            attempts[1].started >= attempts[0].started + STAGGER,
            "the fallback started before the stagger: {attempts:?}"
        );
        assert_eq!(attempts[0].outcome, AttemptOutcome::Cancelled);
        assert_eq!(attempts[1].outcome, AttemptOutcome::Won);
        drop(healthy.accept().await.expect("accept"));
    }
}

#[test]
fn on_a_current_thread_runtime() {
    run(the_fallback_waits_the_whole_stagger(3));
}

#[test]
fn on_a_multi_thread_runtime() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(the_fallback_waits_the_whole_stagger(3));
}
