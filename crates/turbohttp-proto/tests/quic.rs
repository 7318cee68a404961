//! QUIC raced against TCP, in the core (issue 23, items 1 to 4): which endpoints are
//! dialed over QUIC (`Race::with_quic`), when a service's TCP endpoints start beside
//! its QUIC ones (the plan's layout, then the race), and the memory of broken QUIC. Exact to the millisecond; the
//! defaults: 250 ms stagger, 125 ms spacing (the attempt delay), 50 ms resolution
//! delay.

mod support;

use std::cell::Cell;
use std::time::Instant;

use support::*;
use turbohttp_proto::alt_svc::AltService;
use turbohttp_proto::dns::QueryType::{A, Aaaa, Https};
use turbohttp_proto::plan::Transport::{self, Quic, Tcp};
use turbohttp_proto::plan::{Mode, Plan, Tag};
use turbohttp_proto::quic::{
    BROKEN_AT_MOST, BROKEN_FOR, QuicMemory, QuicOutcome, QuicPolicy, broken_for,
};
use turbohttp_proto::race::{Outcome, Race};
use turbohttp_proto::service::{Protocols, ServiceInfo, Verdict};
use turbohttp_proto::{AddressFamily, AttemptRecord, HappyEyeballsOptions};

const HTTPS: usize = 0;
const AAAA: usize = 1;
const A4: usize = 2;

/// HTTPS, AAAA and A sent at 0; QUIC by `quic` (none: TCP only); the caller speaks
/// `caller`; Alt-Svc `alternatives`.
fn race(quic: Option<QuicPolicy>, caller: Protocols, alternatives: Vec<AltService>) -> Sim {
    let t0 = Instant::now();
    let options = HappyEyeballsOptions::default();
    let mut race = Race::resolving(&options, None, &[Https, Aaaa, A], t0, t0 + secs(10));
    if let Some(policy) = quic {
        race = race.with_quic(policy);
    }
    let race = race
        .with_services(443, caller, 0)
        .with_alternatives(443, caller, alternatives);
    let mut sim = Sim {
        race,
        t0,
        now: Cell::new(0),
    };
    assert_eq!(
        sim.events(),
        [resolve(0, Https), resolve(1, Aaaa), resolve(2, A)]
    );
    sim
}

fn quic_race(caller: Protocols) -> Sim {
    race(Some(QuicPolicy::new()), caller, Vec::new())
}

fn h3_h2() -> ServiceInfo {
    ServiceInfo::service(1, None).with_alpn(["h3", "h2"])
}

/// `(attempt, address, started ms, transport)` of every attempt.
fn starts(sim: &Sim) -> Vec<(usize, String, u64, Transport)> {
    let records = sim.race.records().iter();
    records
        .map(|r: &AttemptRecord| {
            let started = r.started.as_millis() as u64;
            (r.attempt, r.endpoint.to_string(), started, r.transport)
        })
        .collect()
}

fn row(attempt: usize, a: &str, started: u64, t: Transport) -> (usize, String, u64, Transport) {
    (attempt, a.to_owned(), started, t)
}

#[test]
fn an_h3_h2_record_starts_quic_first_and_tcp_one_attempt_delay_later_when_quic_hangs() {
    let mut sim = quic_race(Protocols::ALL);
    sim.answer(2, AAAA, &[V6A]);
    sim.answer(3, A4, &[V4A]);
    assert_eq!(sim.services(10, HTTPS, vec![h3_h2()]), [start(0, V6A)]);
    // Nothing answers: each at its time, QUIC and TCP interleaved by a spacing.
    let log = sim.run_until(600);
    assert_eq!(
        starts(&sim),
        [
            row(0, V6A, 10, Quic),
            row(1, V6A, 135, Tcp),
            row(2, V4A, 260, Quic),
            row(3, V4A, 385, Tcp),
        ]
    );
    assert!(
        log.iter()
            .all(|(_, e)| !matches!(e, turbohttp_proto::race::Event::Finished(_)))
    );
    assert_eq!(sim.race.attempt_transport(0), Some(Quic));
    assert_eq!(sim.race.attempt_transport(1), Some(Tcp));
    // A QUIC attempt offers h3, its TCP twin what else the record speaks.
    assert_eq!(
        sim.alpns(),
        [
            Some("h3".into()),
            Some("h2,http/1.1".into()),
            Some("h3".into()),
            Some("h2,http/1.1".into())
        ]
    );
    // TCP wins: the QUIC attempts still waiting are cancelled, and the memory learns.
    sim.connect(400, 1);
    let winner = match sim.race.outcome() {
        Some(Outcome::Connected { attempt }) => Some(attempt),
        _ => None,
    };
    assert_eq!(winner, Some(1));
    assert_eq!(
        QuicOutcome::of_race(sim.race.records(), winner),
        QuicOutcome::NoAnswerWhileTcpWon
    );
}

#[test]
fn a_quic_attempt_that_fails_fast_lets_tcp_start_at_once() {
    let mut sim = quic_race(Protocols::ALL);
    sim.answer(1, A4, &[V4A]);
    sim.answer_fail(1, AAAA, turbohttp_proto::dns::LookupFailureKind::NoData);
    assert_eq!(sim.services(5, HTTPS, vec![h3_h2()]), [start(0, V4A)]);
    assert_eq!(sim.wake(), Some(ms(130)));
    // Refused (an ICMP port unreachable): TCP does not wait for its 130 ms.
    assert_eq!(sim.fail(8, 0), [start(1, V4A)]);
    assert_eq!(starts(&sim), [row(0, V4A, 5, Quic), row(1, V4A, 8, Tcp)]);
    sim.connect(20, 1);
    assert_eq!(
        QuicOutcome::of_race(sim.race.records(), Some(1)),
        QuicOutcome::Inconclusive
    );
}

#[test]
fn http3_only_dials_no_tcp() {
    let mut sim = quic_race(Protocols::H3);
    sim.answer(2, AAAA, &[V6A]);
    sim.answer(3, A4, &[V4A]);
    sim.services(10, HTTPS, vec![h3_h2()]);
    sim.run_until(3_000);
    let transports: Vec<Transport> = sim.race.records().iter().map(|r| r.transport).collect();
    assert_eq!(transports, [Quic, Quic]);
    assert_eq!(starts(&sim)[1], row(1, V4A, 260, Quic));
    assert_eq!(
        sim.race.queries()[HTTPS].services[0].verdict,
        Verdict::Use(Protocols::H3)
    );
}

#[test]
fn http3_only_dials_the_origins_own_addresses_over_quic() {
    let mut sim = quic_race(Protocols::H3);
    sim.services_fail(1, HTTPS, turbohttp_proto::dns::LookupFailureKind::NoData);
    assert_eq!(sim.answer(2, AAAA, &[V6A]), [start(0, V6A)]);
    sim.answer(3, A4, &[V4A]);
    sim.run_until(1_000);
    let transports: Vec<Transport> = sim.race.records().iter().map(|r| r.transport).collect();
    assert_eq!(transports, [Quic, Quic]);
}

#[test]
fn quic_and_tcp_to_one_address_are_two_endpoints() {
    let mut sim = quic_race(Protocols::ALL);
    sim.answer(1, A4, &[V4A]);
    sim.answer_fail(1, AAAA, turbohttp_proto::dns::LookupFailureKind::NoData);
    // The record names the address the A answer gave, twice (as hint and answer).
    let record = h3_h2().with_hints([addr(V4A).ip()]);
    sim.services(5, HTTPS, vec![record]);
    sim.run_until(200);
    assert_eq!(starts(&sim), [row(0, V4A, 5, Quic), row(1, V4A, 130, Tcp)]);
    let planned: Vec<(String, Transport)> = sim
        .race
        .plan()
        .attempts()
        .iter()
        .map(|a| (a.addr.to_string(), a.transport()))
        .collect();
    assert_eq!(planned, [(V4A.to_owned(), Quic), (V4A.to_owned(), Tcp)]);
}

#[test]
fn remembered_broken_quic_goes_straight_to_tcp() {
    let policy = QuicPolicy::new().with_remembered_broken(true);
    let mut sim = race(Some(policy), Protocols::ALL, Vec::new());
    sim.answer(2, AAAA, &[V6A]);
    sim.answer(3, A4, &[V4A]);
    assert_eq!(sim.services(10, HTTPS, vec![h3_h2()]), [start(0, V6A)]);
    sim.run_until(300);
    // TCP at once, the fallback family on its RFC 8305 time: no QUIC, no QUIC delay.
    assert_eq!(starts(&sim), [row(0, V6A, 10, Tcp), row(1, V4A, 260, Tcp)]);
    assert!(sim.race.quic_memory_used());
    // A race without a memory says it was not used.
    let sim = quic_race(Protocols::ALL);
    assert!(!sim.race.quic_memory_used());
}

#[test]
fn remembered_broken_does_not_stop_http3_only() {
    let policy = QuicPolicy::new().with_remembered_broken(true);
    let mut sim = race(Some(policy), Protocols::H3, Vec::new());
    sim.answer(2, AAAA, &[V6A]);
    sim.answer(3, A4, &[V4A]);
    sim.services(10, HTTPS, vec![h3_h2()]);
    assert_eq!(starts(&sim), [row(0, V6A, 10, Quic)]);
    assert!(!sim.race.quic_memory_used());
    // Asked at the origin too (`--http3-only`): still dialed, so the memory changed
    // nothing.
    let policy = policy.with_origin(true);
    let mut sim = race(Some(policy), Protocols::H3, Vec::new());
    sim.answer(2, AAAA, &[V6A]);
    assert!(!sim.race.quic_memory_used());
}

#[test]
fn an_h3_only_record_without_quic_is_still_skipped() {
    let mut sim = race(None, Protocols::ALL, Vec::new());
    sim.answer(2, AAAA, &[V6A]);
    let h3 = ServiceInfo::service(1, None)
        .with_alpn(["h3"])
        .with_no_default_alpn();
    sim.services(10, HTTPS, vec![h3, h3_h2()]);
    let verdicts: Vec<Verdict> = sim.race.queries()[HTTPS]
        .services
        .iter()
        .map(|r| r.verdict)
        .collect();
    assert_eq!(verdicts, [Verdict::QuicOnly, Verdict::Use(Protocols::TCP)]);
    sim.run_until(300);
    assert!(sim.race.records().iter().all(|r| r.transport == Tcp));
}

#[test]
fn an_alt_svc_h3_alternative_is_a_quic_endpoint_tried_first() {
    let alt = AltService::new("h3", None, Some(8443));
    let mut sim = race(Some(QuicPolicy::new()), Protocols::ALL, vec![alt.clone()]);
    assert_eq!(
        sim.race.alternatives()[0].verdict,
        Verdict::Use(Protocols::H3)
    );
    // The AAAA answer: the alternative's QUIC endpoint first, without the HTTPS answer.
    assert_eq!(
        sim.answer(4, AAAA, &[V6A]),
        [start(0, "[2001:db8::a]:8443")]
    );
    assert_eq!(sim.race.attempt_transport(0), Some(Quic));
    // No memory was asked about: none changed the plan.
    assert!(!sim.race.quic_memory_used());
    assert_eq!(sim.connect(30, 0), [won(0)]);
    assert_eq!(
        QuicOutcome::of_race(sim.race.records(), Some(0)),
        QuicOutcome::Worked
    );
    // Without QUIC, the same alternative is skipped, as before.
    let sim = race(None, Protocols::ALL, vec![alt]);
    assert_eq!(sim.race.alternatives()[0].verdict, Verdict::QuicOnly);
}

#[test]
fn http3_at_the_origin_races_quic_ahead_of_tcp_without_a_record() {
    let policy = QuicPolicy::new().with_origin(true);
    let mut sim = race(Some(policy), Protocols::ALL, Vec::new());
    sim.services_fail(1, HTTPS, turbohttp_proto::dns::LookupFailureKind::NoData);
    sim.answer(2, AAAA, &[V6A]);
    sim.answer(3, A4, &[V4A]);
    sim.run_until(500);
    assert_eq!(
        starts(&sim),
        [
            row(0, V6A, 2, Quic),
            row(1, V6A, 127, Tcp),
            row(2, V4A, 252, Quic),
            row(3, V4A, 377, Tcp),
        ]
    );
    // No record narrowed TCP's list (the caller's own); QUIC offers h3.
    assert_eq!(
        sim.alpns(),
        [Some("h3".into()), None, Some("h3".into()), None]
    );
}

// ---- the memory, in virtual time ----

fn t(n: u64) -> Instant {
    // One origin instant for the memory tests: only differences matter.
    thread_local!(static T0: Instant = Instant::now());
    T0.with(|t0| *t0 + secs(n))
}

#[test]
fn broken_quic_is_remembered_five_minutes_then_forgotten() {
    let mut memory = QuicMemory::new(8);
    assert!(!memory.is_broken("a.test", 443, t(0)));
    assert!(memory.is_empty());
    memory.record("a.test", 443, QuicOutcome::NoAnswerWhileTcpWon, t(0));
    assert!(!memory.is_empty());
    assert!(memory.is_broken("A.test", 443, t(299)));
    assert_eq!(memory.broken_until("a.test", 443, t(299)), Some(t(300)));
    assert_eq!(memory.broken_until("a.test", 443, t(300)), None);
    assert!(!memory.is_broken("a.test", 8443, t(1)));
    assert!(!memory.is_broken("a.test", 443, t(300)));
    assert_eq!(BROKEN_FOR, secs(300));
    let policy = memory.policy("a.test", 443, t(1), QuicPolicy::new());
    assert!(policy.remembered_broken);
}

#[test]
fn each_repeat_doubles_up_to_the_cap() {
    let mut memory = QuicMemory::new(8);
    let mut now = 0;
    for expected in [300, 600, 1_200, 2_400] {
        memory.record("a.test", 443, QuicOutcome::NoAnswerWhileTcpWon, t(now));
        assert_eq!(
            memory.broken_until("a.test", 443, t(now)),
            Some(t(now + expected))
        );
        // Expired, then tried again: the next miss doubles.
        now += expected;
        assert!(!memory.is_broken("a.test", 443, t(now)));
    }
    // 5 minutes × 2^9 is under two days, × 2^10 over it.
    assert_eq!(broken_for(10), secs(300 * 512));
    assert_eq!(broken_for(11), BROKEN_AT_MOST);
    assert_eq!(broken_for(u32::MAX), BROKEN_AT_MOST);
    assert_eq!(BROKEN_AT_MOST, secs(48 * 3_600));
}

#[test]
fn a_quic_success_clears_the_memory_and_inconclusive_changes_nothing() {
    let mut memory = QuicMemory::new(8);
    memory.record("a.test", 443, QuicOutcome::NoAnswerWhileTcpWon, t(0));
    memory.record("a.test", 443, QuicOutcome::Inconclusive, t(1));
    assert!(memory.is_broken("a.test", 443, t(1)));
    memory.record("a.test", 443, QuicOutcome::Worked, t(2));
    assert!(!memory.is_broken("a.test", 443, t(2)));
    assert!(memory.is_empty());
    // Cleared: the next miss is a first one again (5 minutes, not 10).
    memory.record("a.test", 443, QuicOutcome::NoAnswerWhileTcpWon, t(3));
    assert_eq!(memory.broken_until("a.test", 443, t(3)), Some(t(303)));
}

#[test]
fn the_memory_is_bounded_and_evicts_the_oldest() {
    let mut memory = QuicMemory::new(2);
    memory.record("a.test", 443, QuicOutcome::NoAnswerWhileTcpWon, t(0));
    memory.record("b.test", 443, QuicOutcome::NoAnswerWhileTcpWon, t(1));
    // a.test again: now the most recent; c.test evicts b.test.
    memory.record("a.test", 443, QuicOutcome::NoAnswerWhileTcpWon, t(2));
    memory.record("c.test", 443, QuicOutcome::NoAnswerWhileTcpWon, t(3));
    assert_eq!(memory.len(), 2);
    assert!(memory.is_broken("a.test", 443, t(4)));
    assert!(!memory.is_broken("b.test", 443, t(4)));
    assert!(memory.is_broken("c.test", 443, t(4)));
}

#[test]
fn the_report_says_when_the_memory_changed_the_plan() {
    let mut report = turbohttp_proto::RaceReport::new("a.test".into(), 443, AddressFamily::V6);
    assert!(!format!("{report:#}").contains("QUIC"));
    report.quic_remembered_broken = true;
    assert!(format!("{report:#}").contains("QUIC not tried: remembered broken"));
}

// ---- the plan ----

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

#[test]
fn without_a_record_or_an_ask_the_origin_is_dialed_over_tcp_only() {
    // QUIC can be dialed, but nothing says the origin speaks it: no h3 record, no
    // Alt-Svc, not asked at the origin (`--http3`).
    let mut sim = race(Some(QuicPolicy::new()), Protocols::ALL, Vec::new());
    sim.services_fail(1, HTTPS, turbohttp_proto::dns::LookupFailureKind::NoData);
    sim.answer(2, AAAA, &[V6A]);
    sim.answer(3, A4, &[V4A]);
    sim.run_until(1_000);
    let transports: Vec<Transport> = sim.race.records().iter().map(|r| r.transport).collect();
    assert_eq!(transports, [Tcp, Tcp]);
    assert!(!sim.race.quic_memory_used());
}
