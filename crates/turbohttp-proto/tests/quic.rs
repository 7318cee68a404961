//! QUIC raced against TCP, in the core (issue 23): the plan's side. QUIC and TCP to
//! one address are two endpoints, and a service's TCP endpoints are laid out as its
//! QUIC ones, one attempt delay (the spacing) later. Exact to the millisecond; the
//! defaults: 250 ms stagger, 125 ms spacing.

mod support;

use support::*;
use turbohttp_proto::HappyEyeballsOptions;
use turbohttp_proto::plan::Transport::{self, Quic, Tcp};
use turbohttp_proto::plan::{Mode, Plan, Tag};

#[test]
fn a_plan_sees_quic_and_tcp_to_one_address_as_two_endpoints_each_once() {
    let mut plan = Plan::empty(&HappyEyeballsOptions::default(), None);
    let one = || [addr(V4A)].into_iter();
    assert_eq!(plan.accept(one()), [addr(V4A)]);
    assert_eq!(plan.accept_on(one(), Quic), [addr(V4A)]);
    // Each seen once: a second copy of either is dropped.
    assert!(plan.accept(one()).is_empty());
    assert!(plan.accept_on(one(), Quic).is_empty());
    assert!(plan.accept_on(one(), Tcp).is_empty());
}

#[test]
fn a_tcp_twin_is_laid_out_one_spacing_after_its_quic_group() {
    let mut plan = Plan::empty(&HappyEyeballsOptions::default(), None);
    let both = addrs(&[V6A, V4A]);
    let quic = plan.accept_on(both.iter().copied(), Quic);
    let lead = plan.schedule_group(&quic, ms(10), [Tag::NONE.on(Quic); 2]);
    assert_eq!(lead, ms(10));
    let tcp = plan.accept(both.iter().copied());
    plan.schedule_twin(&tcp, ms(10), lead, [Tag::NONE; 2]);
    let layout: Vec<(String, u64, Transport)> = plan
        .attempts()
        .iter()
        .map(|a| {
            (
                a.addr.to_string(),
                a.offset().as_millis() as u64,
                a.transport(),
            )
        })
        .collect();
    assert_eq!(
        layout,
        [
            (V6A.to_owned(), 10, Quic),
            (V4A.to_owned(), 260, Quic),
            (V6A.to_owned(), 135, Tcp),
            (V4A.to_owned(), 385, Tcp),
        ]
    );
    assert_eq!(plan.quic_count(), 2);
}

#[test]
fn one_family_over_two_transports_races() {
    let mut plan = Plan::empty(&HappyEyeballsOptions::default(), None);
    let quic = plan.accept_on([addr(V4A)].into_iter(), Quic);
    let lead = plan.schedule_group(&quic, ms(0), [Tag::NONE.on(Quic); 2]);
    // QUIC alone, one family: one at a time, as a TCP race of one family.
    assert_eq!(plan.mode(), Mode::Sequential);
    let tcp = plan.accept([addr(V4A)].into_iter());
    plan.schedule_twin(&tcp, ms(0), lead, [Tag::NONE; 2]);
    assert_eq!((plan.mode(), plan.max_in_flight()), (Mode::Race, 2));
}

#[test]
fn a_tag_keeps_its_origin_whatever_its_transport() {
    for tag in [Tag::NONE, Tag::of_service(3, true), Tag::of_alternative(7)] {
        let quic = tag.on(Quic);
        assert_eq!(quic.transport(), Quic);
        assert_eq!(
            (quic.service(), quic.alternative(), quic.is_hint()),
            (tag.service(), tag.alternative(), tag.is_hint())
        );
        assert_eq!(quic.on(Tcp), tag);
        assert_eq!(tag.transport(), Tcp);
    }
    // The largest index told apart.
    assert_eq!(Tag::of_service(100_000, false).service(), Some(8_190));
}
