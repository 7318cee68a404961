//! The five knobs (and three more): defaults, validation at the exact boundaries, and
//! how a short connect timeout scales the head start.

mod support;

use std::time::Duration;

use support::*;
use turbohttp_proto::{AddressFamily, HappyEyeballsOptions, MIN_DELAY, OptionsError};

#[test]
fn the_defaults_are_the_specification() {
    let o = HappyEyeballsOptions::default();
    assert_eq!(o.family_stagger_delay, ms(250));
    assert_eq!(o.attempt_spacing_delay, ms(125));
    assert_eq!(o.max_concurrent_attempts, 2);
    assert!(o.prefer_ipv6);
    assert!(o.enable);
    assert_eq!(o.resolution_delay, ms(50));
    assert_eq!(o.first_address_family_count, 1);
    assert!(!o.follow_resolver_order);
    assert_eq!(o.validate(), Ok(()));
    assert_eq!(MIN_DELAY, ms(10));
}

#[test]
fn sequential_is_the_defaults_without_racing() {
    let o = HappyEyeballsOptions::sequential();
    assert!(!o.enable);
    assert_eq!(o.with_enable(true), HappyEyeballsOptions::default());
}

#[test]
fn the_preferred_family_follows_prefer_ipv6() {
    assert_eq!(
        HappyEyeballsOptions::default().preferred_family(),
        AddressFamily::V6
    );
    assert_eq!(
        options(|o| o.prefer_ipv6 = false).preferred_family(),
        AddressFamily::V4
    );
}

#[test]
fn a_race_needs_two_slots() {
    assert_eq!(
        options(|o| o.max_concurrent_attempts = 1).validate(),
        Err(OptionsError::ConcurrencyTooLow { value: 1 })
    );
    assert_eq!(
        options(|o| o.max_concurrent_attempts = 2).validate(),
        Ok(())
    );
    assert_eq!(
        options(|o| o.max_concurrent_attempts = 3).validate(),
        Ok(())
    );
}

#[test]
fn every_delay_has_the_ten_millisecond_floor() {
    type Set = fn(&mut HappyEyeballsOptions, Duration);
    let fields: [(&str, Set); 3] = [
        ("family_stagger_delay", |o, d| o.family_stagger_delay = d),
        ("attempt_spacing_delay", |o, d| o.attempt_spacing_delay = d),
        ("resolution_delay", |o, d| o.resolution_delay = d),
    ];
    for (field, set) in fields {
        let with = |d| options(|o| set(o, d));
        assert_eq!(
            with(ms(9)).validate(),
            Err(OptionsError::DelayTooShort {
                field,
                value: ms(9)
            }),
            "{field}"
        );
        assert_eq!(with(ms(10)).validate(), Ok(()), "{field}");
        assert_eq!(with(ms(11)).validate(), Ok(()), "{field}");
    }
}

#[test]
fn the_preferred_family_must_come_first() {
    assert_eq!(
        options(|o| o.first_address_family_count = 0).validate(),
        Err(OptionsError::FirstFamilyCountZero)
    );
    // The last slot is the other family's: two first need three in flight.
    assert_eq!(
        options(|o| o.first_address_family_count = 2).validate(),
        Err(OptionsError::FirstFamilyCountTooHigh {
            count: 2,
            max_concurrent_attempts: 2
        })
    );
    assert_eq!(
        options(|o| {
            o.first_address_family_count = 2;
            o.max_concurrent_attempts = 3;
        })
        .validate(),
        Ok(())
    );
}

#[test]
fn without_racing_the_pacing_knobs_are_not_checked() {
    let o = HappyEyeballsOptions::sequential()
        .with_max_concurrent_attempts(0)
        .with_family_stagger_delay(Duration::ZERO)
        .with_attempt_spacing_delay(Duration::ZERO)
        .with_resolution_delay(Duration::ZERO)
        .with_first_address_family_count(0);
    assert_eq!(o.validate(), Ok(()));
}

#[test]
fn a_zero_connect_timeout_is_refused() {
    let o = HappyEyeballsOptions::default();
    assert_eq!(
        o.validate_with_timeout(Duration::ZERO),
        Err(OptionsError::ZeroTimeout)
    );
    assert_eq!(o.validate_with_timeout(ms(1)), Ok(()));
    // The options themselves are checked first.
    assert_eq!(
        options(|o| o.max_concurrent_attempts = 1).validate_with_timeout(ms(1)),
        Err(OptionsError::ConcurrencyTooLow { value: 1 })
    );
}

#[test]
fn a_timeout_not_longer_than_the_stagger_halves_the_head_start() {
    let o = HappyEyeballsOptions::default();
    let scaled = o.for_timeout(ms(200));
    assert_eq!(scaled.family_stagger_delay, ms(100));
    assert_eq!(scaled.attempt_spacing_delay, ms(100));
    // Only those two change.
    assert_eq!(
        scaled
            .with_family_stagger_delay(o.family_stagger_delay)
            .with_attempt_spacing_delay(o.attempt_spacing_delay),
        o
    );
    // Equal to the stagger is "not longer".
    let equal = o.for_timeout(ms(250));
    assert_eq!(equal.family_stagger_delay, ms(125));
    assert_eq!(equal.attempt_spacing_delay, ms(125));
    // A spacing shorter than half is kept.
    let long = options(|o| o.family_stagger_delay = ms(500)).for_timeout(ms(400));
    assert_eq!(long.family_stagger_delay, ms(200));
    assert_eq!(long.attempt_spacing_delay, ms(125));
}

#[test]
fn a_timeout_longer_than_the_stagger_changes_nothing() {
    let o = options(|o| o.max_concurrent_attempts = 3);
    assert_eq!(o.for_timeout(ms(251)), o);
    assert_eq!(o.for_timeout(secs(30)), o);
}

#[test]
fn refusals_explain_themselves() {
    let text = |e: OptionsError| e.to_string();
    assert_eq!(
        text(OptionsError::ConcurrencyTooLow { value: 1 }),
        "max_concurrent_attempts is 1, but a race needs at least 2 attempts in flight \
         (one per family); set enable = false to dial one address at a time"
    );
    assert_eq!(
        text(OptionsError::DelayTooShort {
            field: "resolution_delay",
            value: ms(5)
        }),
        "resolution_delay is 5ms, below the 10ms minimum of RFC 8305"
    );
    assert_eq!(
        text(OptionsError::FirstFamilyCountZero),
        "first_address_family_count is 0, but at least one attempt of the preferred family \
         must come first; set prefer_ipv6 to choose the other family"
    );
    assert_eq!(
        text(OptionsError::ZeroTimeout),
        "the connect timeout is zero, which leaves no time to connect"
    );
}

#[test]
fn a_short_timeout_caps_the_resolution_delay_even_when_the_stagger_fits() {
    let options = options(|o| {
        o.family_stagger_delay = ms(20);
        o.attempt_spacing_delay = ms(20);
    });
    let scaled = options.for_timeout(ms(80));
    // The stagger fits in the timeout and stays; the resolution delay is halved.
    assert_eq!(scaled.family_stagger_delay, ms(20));
    assert_eq!(scaled.resolution_delay, ms(40));
    assert_eq!(options.for_timeout(ms(1_000)), options);
}

#[test]
fn each_setter_sets_its_own_knob_and_keeps_the_others() {
    // Every value differs from the default, and from every other setter's result, so
    // a setter that changed nothing, or reset the rest, shows.
    let d = HappyEyeballsOptions::default;
    let cases = [
        (
            d().with_family_stagger_delay(ms(300)),
            options(|o| o.family_stagger_delay = ms(300)),
        ),
        (
            d().with_attempt_spacing_delay(ms(100)),
            options(|o| o.attempt_spacing_delay = ms(100)),
        ),
        (
            d().with_max_concurrent_attempts(4),
            options(|o| o.max_concurrent_attempts = 4),
        ),
        (
            d().with_prefer_ipv6(false),
            options(|o| o.prefer_ipv6 = false),
        ),
        (d().with_enable(false), options(|o| o.enable = false)),
        (
            d().with_resolution_delay(ms(20)),
            options(|o| o.resolution_delay = ms(20)),
        ),
        (
            d().with_first_address_family_count(3),
            options(|o| o.first_address_family_count = 3),
        ),
        (
            d().with_follow_resolver_order(true),
            options(|o| o.follow_resolver_order = true),
        ),
    ];
    for (i, (set, expected)) in cases.iter().enumerate() {
        assert_eq!(set, expected, "setter {i}");
        assert_ne!(*set, d(), "setter {i}");
    }
    assert!(!d().with_enable(false).enable);
    assert_eq!(
        d().with_first_address_family_count(3)
            .first_address_family_count,
        3
    );
    assert!(d().with_follow_resolver_order(true).follow_resolver_order);
}
