//! A connect timeout shorter than the stagger (issue 14, item 3) on real loopback
//! sockets: the transport accepts it, a refused IPv6 still hands over to IPv4 at once,
//! a stalled IPv6 leaves IPv4 half the budget, and no option `new` accepts fails a
//! request.

mod support;

use std::time::Duration;
use support::tls_lab;

use proptest::prelude::*;
use turbohttp::AttemptOutcome;
use turbohttp::{
    ConnectErrorKind, HappyEyeballsOptions, RawSocketTransport, Scheme, TransportOptions,
};

use tls_lab::*;

const NAME: &str = "dual.test";
const PORT: u16 = 80;

fn options(connect_timeout: Duration) -> TransportOptions {
    TransportOptions::default().with_connect_timeout(connect_timeout)
}

#[test]
fn a_200ms_timeout_with_ipv6_refused_connects_over_ipv4_at_once() {
    run(async {
        let closed6 = closed_port(v6(0));
        let p6 = closed6.port;
        let (_ipv4, p4) = idle_listener(v4(0));
        // `new` accepts it: the timeout is shorter than the 250 ms stagger.
        let transport = RawSocketTransport::new(options(Duration::from_millis(200)))
            .expect("a 200 ms timeout is valid")
            .with_resolver(resolver(NAME, PORT, [v6(p6), v4(p4)]));

        let won = transport
            .connect(NAME, PORT, Scheme::Http)
            .await
            .expect("IPv4 connects");

        let attempts = &won.report.attempts;
        assert_eq!(attempts.len(), 2, "{attempts:#?}");
        assert_eq!(attempts[0].outcome, AttemptOutcome::Failed);
        // IPv4 started the instant IPv6 was refused: no head start to wait out.
        assert_eq!(Some(attempts[1].started), attempts[0].ended);
        assert_eq!(attempts[1].outcome, AttemptOutcome::Won);
        assert_eq!(won.stream.peer_addr().unwrap(), v4(p4));
    });
}

#[test]
fn a_200ms_timeout_with_ipv6_stalled_gives_ipv4_half_the_budget() {
    run(async {
        let stalled = StalledListener::new(v6(0));
        let (_ipv4, p4) = idle_listener(v4(0));
        let transport = RawSocketTransport::new(options(Duration::from_millis(200)))
            .expect("a 200 ms timeout is valid")
            .with_resolver(resolver(NAME, PORT, [v6(stalled.port), v4(p4)]));

        let won = transport
            .connect(NAME, PORT, Scheme::Http)
            .await
            .expect("IPv4 connects within the timeout");

        let attempts = &won.report.attempts;
        assert_eq!(attempts.len(), 2, "{attempts:#?}");
        assert_eq!(attempts[0].outcome, AttemptOutcome::Cancelled);
        assert_eq!(attempts[1].outcome, AttemptOutcome::Won);
        // The head start is half the timeout: 100 ms, not the 250 ms stagger (a timer
        // never fires early, so this lower bound holds on any machine).
        assert!(
            attempts[1].started >= Duration::from_millis(100),
            "{attempts:#?}"
        );
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever `new` accepts, a request never refuses as invalid options: the two
    /// checks are one function. Every address is refused at once, so each case ends
    /// in a few microseconds (or at its timeout, at most 40 ms).
    #[test]
    fn options_that_new_accepts_never_fail_a_request(
        stagger in 0u64..400,
        spacing in 0u64..400,
        resolution in 0u64..400,
        concurrent in 0usize..5,
        first_count in 0usize..4,
        enable in any::<bool>(),
        timeout_ms in 0u64..40,
    ) {
        let ms = Duration::from_millis;
        let mut options = options(ms(timeout_ms));
        options.happy_eyeballs = HappyEyeballsOptions::default()
            .with_family_stagger_delay(ms(stagger))
            .with_attempt_spacing_delay(ms(spacing))
            .with_resolution_delay(ms(resolution))
            .with_max_concurrent_attempts(concurrent)
            .with_first_address_family_count(first_count)
            .with_enable(enable);
        let accepted = RawSocketTransport::new(options.clone());
        prop_assert_eq!(accepted.is_ok(), options.validate().is_ok());
        if let Ok(transport) = accepted {
            let closed6 = closed_port(v6(0));
            let p6 = closed6.port;
            let closed4 = closed_port(v4(0));
            let p4 = closed4.port;
            let transport = transport.with_resolver(resolver(NAME, PORT, [v6(p6), v4(p4)]));
            let error = run(transport.connect(NAME, PORT, Scheme::Http)).expect_err("all refused");
            prop_assert!(error.options_error().is_none(), "{error}");
            prop_assert!(error.kind() != ConnectErrorKind::InvalidInput, "{error}");
        }
    }
}
