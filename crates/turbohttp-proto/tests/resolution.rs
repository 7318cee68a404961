//! DNS inside the race (RFC 8305 §3 and §4), driven by hand through
//! `Race::resolving`: which queries are sent, when each answer's addresses may start
//! (the resolution delay, the head start, a failed query ending the wait), the
//! options that shape it, and how the race ends when DNS gives nothing.

mod support;

use support::*;
use turbohttp_proto::dns::LookupFailureKind::{self, NoData, NxDomain, ServFail, TimedOut};
use turbohttp_proto::dns::QueryType::{A, Aaaa, AddrInfo};
use turbohttp_proto::race::Outcome;
use turbohttp_proto::{AddressFamily, HappyEyeballsOptions};

fn default() -> HappyEyeballsOptions {
    HappyEyeballsOptions::default()
}

/// AAAA (query 0) and A (query 1), defaults, a 10 s timeout; the queries already sent.
fn dual() -> Sim {
    dual_with(default())
}

fn dual_with(options: HappyEyeballsOptions) -> Sim {
    let mut sim = Sim::resolving(&[Aaaa, A], options, None, secs(10));
    assert_eq!(sim.events(), [resolve(0, Aaaa), resolve(1, A)]);
    sim
}

// ---- the queries ----

#[test]
fn every_query_is_sent_at_the_start_and_nothing_else_happens_until_an_answer() {
    let mut sim = Sim::resolving(&[Aaaa, A], default(), None, secs(10));
    assert_eq!(sim.events(), [resolve(0, Aaaa), resolve(1, A)]);
    assert_eq!(
        sim.query_log(),
        [(Aaaa, 0, None, "pending"), (A, 0, None, "pending")]
    );
    // Only the connect timeout to wait for.
    assert_eq!(sim.wake(), Some(secs(10)));
    assert_eq!(sim.race.first_answer(), None);
    assert_eq!(sim.race.outcome(), None);
    assert!(sim.race.plan().attempts().is_empty());
}

// ---- the resolution delay (RFC 8305 §3) ----

#[test]
fn an_aaaa_answer_first_starts_at_once_and_ipv4_follows_after_the_stagger() {
    let mut sim = dual();
    assert_eq!(sim.answer(20, 0, &[V6A]), [start(0, V6A)]);
    assert_eq!(sim.race.first_answer(), Some(ms(20)));
    // The A answer comes soon after: IPv4 keeps the head start counted from 20.
    assert_eq!(sim.answer(30, 1, &[V4A]), []);
    assert_eq!(sim.wake(), Some(ms(270)));
    assert_eq!(sim.tick(270), [start(1, V4A)]);
    assert_eq!(sim.race.first_answer(), Some(ms(20)));
    assert_eq!(
        sim.query_log(),
        [
            (Aaaa, 0, Some(20), "answered"),
            (A, 0, Some(30), "answered")
        ]
    );
}

#[test]
fn an_a_answer_first_waits_the_resolution_delay_for_the_aaaa_answer() {
    let mut sim = dual();
    assert_eq!(sim.answer(5, 1, &[V4A]), []);
    assert_eq!(sim.race.first_answer(), Some(ms(5)));
    assert_eq!(sim.wake(), Some(ms(55)));
    assert_eq!(sim.tick(54), []);
    // No AAAA answer within 50 ms: IPv4 goes alone.
    assert_eq!(sim.tick(55), [start(0, V4A)]);
    // The AAAA answer comes late: IPv6 starts the moment it is known.
    assert_eq!(sim.answer(300, 0, &[V6A]), [start(1, V6A)]);
    assert_eq!(sim.connect(301, 1), [cancel(0), won(1)]);
    assert_eq!(
        sim.timeline(),
        [
            rec(0, V4A, 55, Some(301), "cancelled"),
            rec(1, V6A, 300, Some(301), "won"),
        ]
    );
}

#[test]
fn an_aaaa_answer_within_the_delay_leads_and_ipv4_keeps_its_stagger() {
    let mut sim = dual();
    assert_eq!(sim.answer(0, 1, &[V4A]), []);
    assert_eq!(sim.answer(30, 0, &[V6A]), [start(0, V6A)]);
    // As if both answers had come together at 30.
    assert_eq!(sim.wake(), Some(ms(280)));
    assert_eq!(sim.tick(280), [start(1, V4A)]);
}

#[test]
fn a_failed_aaaa_query_ends_the_wait_at_once() {
    for kind in [NxDomain, NoData, ServFail, TimedOut] {
        let mut sim = dual();
        assert_eq!(sim.answer(0, 1, &[V4A]), []);
        assert_eq!(sim.answer_fail(10, 0, kind), [start(0, V4A)], "{kind:?}");
        assert_eq!(
            sim.query_log(),
            [
                (Aaaa, 0, Some(10), kind.as_str()),
                (A, 0, Some(0), "answered")
            ]
        );
    }
}

#[test]
fn an_empty_aaaa_answer_ends_the_wait_too() {
    let mut sim = dual();
    sim.answer(0, 1, &[V4A]);
    assert_eq!(sim.answer(10, 0, &[]), [start(0, V4A)]);
    assert_eq!(sim.race.first_answer(), Some(ms(0)));
}

#[test]
fn an_a_answer_after_the_aaaa_query_failed_does_not_wait() {
    let mut sim = dual();
    assert_eq!(sim.answer_fail(0, 0, NxDomain), []);
    assert_eq!(sim.answer(5, 1, &[V4A]), [start(0, V4A)]);
}

#[test]
fn the_connect_timeout_cuts_the_resolution_delay_short() {
    let mut sim = Sim::resolving(&[Aaaa, A], default(), None, ms(30));
    sim.events();
    sim.answer(0, 1, &[V4A]);
    assert_eq!(sim.wake(), Some(ms(30)));
    assert_eq!(sim.tick(30), [finished(Outcome::TimedOut)]);
    assert!(sim.race.records().is_empty());
    assert_eq!(
        sim.query_log(),
        [
            (Aaaa, 0, Some(30), "timed_out"),
            (A, 0, Some(0), "answered")
        ]
    );
}

#[test]
fn with_ipv4_preferred_an_aaaa_answer_first_waits_for_the_a_answer() {
    let mut sim = Sim::resolving(
        &[A, Aaaa],
        options(|o| o.prefer_ipv6 = false),
        None,
        secs(10),
    );
    assert_eq!(sim.events(), [resolve(0, A), resolve(1, Aaaa)]);
    assert_eq!(sim.answer(0, 1, &[V6A]), []);
    assert_eq!(sim.wake(), Some(ms(50)));
    assert_eq!(sim.answer(20, 0, &[V4A]), [start(0, V4A)]);
    assert_eq!(sim.wake(), Some(ms(270)));
}

#[test]
fn a_custom_resolution_delay_is_followed() {
    let mut sim = dual_with(options(|o| o.resolution_delay = ms(80)));
    sim.answer(10, 1, &[V4A]);
    assert_eq!(sim.wake(), Some(ms(90)));
    assert_eq!(sim.tick(90), [start(0, V4A)]);
}

// ---- answers once IPv6 is planned: the head start ----

#[test]
fn an_a_answer_while_ipv6_runs_waits_only_for_the_head_start() {
    let mut sim = dual();
    assert_eq!(sim.answer(0, 0, &[V6A]), [start(0, V6A)]);
    assert_eq!(sim.answer(100, 1, &[V4A]), []);
    assert_eq!(sim.wake(), Some(ms(250)));
    assert_eq!(sim.tick(250), [start(1, V4A)]);
}

#[test]
fn an_a_answer_after_the_head_start_starts_at_once() {
    let mut sim = dual();
    sim.answer(0, 0, &[V6A]);
    sim.events();
    assert_eq!(sim.answer(400, 1, &[V4A]), [start(1, V4A)]);
}

#[test]
fn an_a_answer_after_ipv6_has_failed_starts_at_once() {
    let mut sim = dual();
    assert_eq!(sim.answer(0, 0, &[V6A]), [start(0, V6A)]);
    // IPv6 failed and nothing else is known: the race waits for the A answer.
    assert_eq!(sim.fail(10, 0), []);
    assert_eq!(sim.race.outcome(), None);
    assert_eq!(sim.wake(), Some(secs(10)));
    assert_eq!(sim.answer(100, 1, &[V4A]), [start(1, V4A)]);
}

#[test]
fn a_failure_earns_an_early_start_only_at_its_own_instant() {
    let mut sim = dual();
    sim.answer(0, 0, &[V6A]);
    // The failure has nothing to pull forward at 10.
    assert_eq!(sim.fail(10, 0), []);
    // At 20 the A answer brings two addresses: the first is due at once, the second
    // a spacing later; the failure at 10 does not pull it forward.
    assert_eq!(sim.answer(20, 1, &[V4A, V4B]), [start(1, V4A)]);
    assert_eq!(sim.wake(), Some(ms(145)));
    assert_eq!(sim.tick(145), [start(2, V4B)]);
}

#[test]
fn a_late_aaaa_answer_goes_before_the_ipv4_addresses_still_waiting() {
    let mut sim = dual();
    sim.answer(0, 1, &[V4A, V4B, V4C]);
    assert_eq!(sim.tick(50), [start(0, V4A)]);
    // 192.0.2.2 waits for 192.0.2.1 (one family: one at a time). The AAAA answer
    // at 100 is due at once, before 192.0.2.2 (due at 175 now that two families race).
    assert_eq!(sim.answer(100, 0, &[V6A]), [start(1, V6A)]);
    assert_eq!(sim.fail(110, 1), [start(2, V4B)]);
    assert_eq!(sim.fail(120, 0), [start(3, V4C)]);
}

#[test]
fn once_ipv6_has_an_address_an_a_answer_waits_for_no_further_aaaa_query() {
    // A second AAAA query (say, one the resolver layer sends to another server) is
    // still running when the A answer comes: IPv6 already has an address to race
    // with, so the A answer is planned at once (due after the head start) rather
    // than held for the resolution delay.
    let mut sim = Sim::resolving(&[Aaaa, A, Aaaa], default(), None, secs(10));
    sim.events();
    assert_eq!(sim.answer(0, 0, &[V6A]), [start(0, V6A)]);
    assert_eq!(sim.answer(10, 1, &[V4A]), []);
    assert_eq!(sim.wake(), Some(ms(250)));
    // Planned, so a failure pulls it forward.
    assert_eq!(sim.fail(20, 0), [start(1, V4A)]);
}

// ---- first_address_family_count (RFC 8305 §4) ----

#[test]
fn first_address_family_count_lets_more_preferred_attempts_go_first() {
    let mut sim = Sim::resolving(
        &[Aaaa, A],
        options(|o| {
            o.first_address_family_count = 2;
            o.max_concurrent_attempts = 3;
        }),
        None,
        secs(10),
    );
    sim.events();
    assert_eq!(sim.answer(10, 0, &[V6A, V6B, V6C]), [start(0, V6A)]);
    assert_eq!(sim.answer(10, 1, &[V4A]), []);
    // The stagger counts from the second IPv6 attempt (10 + 125): IPv4 at 385.
    assert_eq!(
        sim.run_until(400),
        [(135, start(1, V6B)), (385, start(2, V4A))]
    );
}

// ---- follow_resolver_order ----

#[test]
fn following_the_resolver_the_first_answer_with_an_address_leads() {
    let mut sim = dual_with(options(|o| o.follow_resolver_order = true));
    // No resolution delay: the A answer came first, so IPv4 leads.
    assert_eq!(sim.answer(5, 1, &[V4A]), [start(0, V4A)]);
    assert_eq!(sim.race.plan().preferred(), AddressFamily::V4);
    // IPv6 is now the other family: it waits for the head start (5 + 250).
    assert_eq!(sim.answer(20, 0, &[V6A]), []);
    assert_eq!(sim.wake(), Some(ms(255)));
    assert_eq!(sim.tick(255), [start(1, V6A)]);
}

#[test]
fn following_the_resolver_an_empty_answer_does_not_lead() {
    let mut sim = dual_with(options(|o| {
        o.follow_resolver_order = true;
        o.prefer_ipv6 = false;
    }));
    assert_eq!(sim.answer(5, 1, &[]), []);
    assert_eq!(sim.answer(10, 0, &[V6A]), [start(0, V6A)]);
    assert_eq!(sim.race.plan().preferred(), AddressFamily::V6);
}

// ---- enable = false: wait for every query, then one at a time ----

#[test]
fn without_racing_every_query_is_waited_for_then_dialed_in_query_order() {
    let mut sim = Sim::resolving(
        &[Aaaa, A],
        HappyEyeballsOptions::sequential(),
        None,
        secs(10),
    );
    sim.events();
    assert_eq!(sim.answer(10, 0, &[V6A]), []);
    assert_eq!(sim.race.first_answer(), None);
    assert_eq!(sim.wake(), Some(secs(10)));
    assert_eq!(sim.answer(30, 1, &[V4A]), [start(0, V6A)]);
    assert_eq!(sim.race.first_answer(), Some(ms(30)));
    assert_eq!(sim.fail(40, 0), [start(1, V4A)]);
    assert_eq!(sim.fail(50, 1), [finished(Outcome::AllAttemptsFailed)]);
}

#[test]
fn without_racing_a_failed_query_still_lets_the_other_answer_go() {
    let mut sim = Sim::resolving(
        &[Aaaa, A],
        HappyEyeballsOptions::sequential(),
        None,
        secs(10),
    );
    sim.events();
    assert_eq!(sim.answer(5, 1, &[V4A, V4B]), []);
    assert_eq!(sim.answer_fail(20, 0, ServFail), [start(0, V4A)]);
    // One at a time: the next wake-up is the end of its budget (half of what
    // remains, two addresses left).
    assert_eq!(sim.wake(), Some(ms(20 + 4_990)));
    assert_eq!(sim.tick(5_010), [cancel(0), start(1, V4B)]);
}

#[test]
fn without_racing_answers_of_the_wrong_type_and_duplicates_are_dropped() {
    let mut sim = Sim::resolving(
        &[Aaaa, A],
        HappyEyeballsOptions::sequential(),
        None,
        secs(10),
    );
    sim.events();
    sim.answer(5, 0, &[V6A, V4A, V6A]);
    sim.answer(6, 1, &[V4A, V6B]);
    let planned: Vec<String> = sim.race.plan().addresses().map(|a| a.to_string()).collect();
    assert_eq!(planned, [V6A, V4A]);
}

#[test]
fn without_racing_empty_answers_leave_no_address() {
    let mut sim = Sim::resolving(
        &[Aaaa, A],
        HappyEyeballsOptions::sequential(),
        None,
        secs(10),
    );
    sim.events();
    sim.answer(5, 0, &[]);
    assert_eq!(sim.answer(6, 1, &[]), [finished(Outcome::NoAddresses)]);
    assert_eq!(sim.race.first_answer(), None);
}

// ---- one lookup for every family (getaddrinfo) ----

#[test]
fn a_getaddrinfo_answer_is_planned_like_a_literal_list_from_its_arrival() {
    let mut sim = Sim::resolving(&[AddrInfo], default(), None, secs(10));
    assert_eq!(sim.events(), [resolve(0, AddrInfo)]);
    assert_eq!(sim.answer(20, 0, &[V4A, V6A, V6B]), [start(0, V6A)]);
    // [::b] (due at 145) would take the fallback's slot; IPv4 is due at 270.
    assert_eq!(sim.wake(), Some(ms(270)));
    assert_eq!(sim.run_until(400), [(270, start(1, V4A))]);
    assert_eq!(sim.fail(400, 0), [start(2, V6B)]);
}

// ---- the requested family, and deduplication ----

#[test]
fn a_requested_family_sends_one_query_and_does_not_wait_for_the_other() {
    let mut sim = Sim::resolving(&[A], default(), Some(AddressFamily::V4), secs(10));
    assert_eq!(sim.events(), [resolve(0, A)]);
    assert_eq!(sim.answer(5, 0, &[V4A]), [start(0, V4A)]);
    assert_eq!(sim.race.plan().requested(), Some(AddressFamily::V4));
}

#[test]
fn a_requested_family_filters_a_getaddrinfo_answer() {
    let mut sim = Sim::resolving(&[AddrInfo], default(), Some(AddressFamily::V6), secs(10));
    sim.events();
    assert_eq!(sim.answer(5, 0, &[V4A, V6A]), [start(0, V6A)]);
    let planned: Vec<String> = sim.race.plan().addresses().map(|a| a.to_string()).collect();
    assert_eq!(planned, [V6A]);
}

#[test]
fn each_answer_keeps_only_its_own_family_and_an_address_is_planned_once() {
    let mut sim = dual();
    // A confused AAAA answer: an IPv4 address in it is not used, a repeat is dropped.
    assert_eq!(sim.answer(0, 0, &[V6A, V4B, V6A, V6B]), [start(0, V6A)]);
    let planned: Vec<String> = sim.race.plan().addresses().map(|a| a.to_string()).collect();
    assert_eq!(planned, [V6A, V6B]);
    sim.answer(10, 1, &[V4A, V6C, V4A]);
    let planned: Vec<String> = sim.race.plan().addresses().map(|a| a.to_string()).collect();
    assert_eq!(planned, [V6A, V6B, V4A]);
    // The report keeps each answer as it came, duplicates included.
    assert_eq!(
        sim.race.queries()[0].outcome,
        turbohttp_proto::QueryOutcome::Answered { addresses: 4 }
    );
    assert_eq!(
        sim.race.queries()[0].addresses,
        addrs(&[V6A, V4B, V6A, V6B])
    );
}

#[test]
fn an_address_in_two_answers_is_dialed_once() {
    let mut sim = Sim::resolving(&[AddrInfo, AddrInfo], default(), None, secs(10));
    sim.events();
    sim.answer(0, 0, &[V6A, V4A]);
    sim.answer(5, 1, &[V4A, V6A, V6B]);
    let planned: Vec<String> = sim.race.plan().addresses().map(|a| a.to_string()).collect();
    assert_eq!(planned, [V6A, V4A, V6B]);
}

// ---- how a race ends when DNS gives nothing ----

fn ends_with(
    aaaa: Result<&[&str], LookupFailureKind>,
    a: Result<&[&str], LookupFailureKind>,
) -> Outcome {
    let mut sim = dual();
    for (query, answer) in [(0, aaaa), (1, a)] {
        match answer {
            Ok(list) => sim.answer(5, query, list),
            Err(kind) => sim.answer_fail(5, query, kind),
        };
    }
    sim.race.outcome().expect("the race is over")
}

#[test]
fn no_address_at_all_is_unresolved_no_addresses_or_family_unavailable() {
    assert_eq!(ends_with(Err(NxDomain), Err(NxDomain)), Outcome::Unresolved);
    assert_eq!(ends_with(Err(ServFail), Ok(&[])), Outcome::Unresolved);
    assert_eq!(ends_with(Err(NoData), Err(TimedOut)), Outcome::Unresolved);
    // The name exists, with no address: nothing failed.
    assert_eq!(ends_with(Err(NoData), Err(NoData)), Outcome::NoAddresses);
    assert_eq!(ends_with(Ok(&[]), Err(NoData)), Outcome::NoAddresses);
    assert_eq!(ends_with(Ok(&[]), Ok(&[])), Outcome::NoAddresses);
    // Records of the other type in an answer are no addresses of this name.
    assert_eq!(ends_with(Ok(&[V4A]), Ok(&[V6A])), Outcome::NoAddresses);
}

#[test]
fn the_last_query_to_end_ends_the_race() {
    let mut sim = dual();
    assert_eq!(sim.answer_fail(5, 0, NxDomain), []);
    assert_eq!(sim.race.outcome(), None);
    assert_eq!(
        sim.answer_fail(7, 1, NxDomain),
        [finished(Outcome::Unresolved)]
    );
    assert_eq!(sim.wake(), None);
}

#[test]
fn with_a_requested_family_no_data_is_family_unavailable() {
    let mut sim = Sim::resolving(&[Aaaa], default(), Some(AddressFamily::V6), secs(10));
    sim.events();
    assert_eq!(
        sim.answer_fail(5, 0, NoData),
        [finished(Outcome::FamilyUnavailable)]
    );
}

#[test]
fn addresses_none_of_the_requested_family_are_family_unavailable() {
    let mut sim = Sim::resolving(&[AddrInfo], default(), Some(AddressFamily::V6), secs(10));
    sim.events();
    assert_eq!(
        sim.answer(5, 0, &[V4A]),
        [finished(Outcome::FamilyUnavailable)]
    );
}

// ---- the query records when the race ends ----

#[test]
fn a_query_still_running_when_the_race_is_won_is_cancelled() {
    let mut sim = dual();
    sim.answer(0, 0, &[V6A]);
    assert_eq!(sim.connect(20, 0), [won(0)]);
    assert_eq!(
        sim.query_log(),
        [
            (Aaaa, 0, Some(0), "answered"),
            (A, 0, Some(20), "cancelled")
        ]
    );
    // Its answer, coming later, changes nothing.
    assert_eq!(sim.answer(30, 1, &[V4A]), []);
    assert_eq!(sim.query_log()[1], (A, 0, Some(20), "cancelled"));
}

#[test]
fn queries_still_running_at_the_connect_timeout_timed_out() {
    let mut sim = Sim::resolving(&[Aaaa, A], default(), None, secs(5));
    sim.events();
    assert_eq!(sim.tick(5_000), [finished(Outcome::TimedOut)]);
    assert_eq!(
        sim.query_log(),
        [
            (Aaaa, 0, Some(5_000), "timed_out"),
            (A, 0, Some(5_000), "timed_out")
        ]
    );
}

#[test]
fn queries_still_running_when_the_caller_cancels_are_cancelled() {
    let mut sim = dual();
    sim.race.handle_cancel(sim.at(8));
    assert_eq!(sim.events(), [finished(Outcome::Cancelled)]);
    assert_eq!(
        sim.query_log(),
        [
            (Aaaa, 0, Some(8), "cancelled"),
            (A, 0, Some(8), "cancelled")
        ]
    );
}

#[test]
fn a_second_answer_to_a_query_or_an_unknown_query_is_ignored() {
    let mut sim = dual();
    sim.answer_fail(5, 0, NxDomain);
    assert_eq!(sim.answer(6, 0, &[V6A]), []);
    assert_eq!(sim.answer(7, 9, &[V6A]), []);
    assert!(sim.race.plan().attempts().is_empty());
    assert_eq!(sim.query_log()[0], (Aaaa, 0, Some(5), "nxdomain"));
}

#[test]
fn into_parts_hands_over_attempts_and_queries() {
    let mut sim = dual();
    sim.answer(0, 0, &[V6A]);
    sim.connect(1, 0);
    let (attempts, queries) = sim.race.into_parts();
    assert_eq!(attempts.len(), 1);
    assert_eq!(queries.len(), 2);
}

// ---- answers that come while attempts already run (found in review) ----

#[test]
fn an_attempt_started_alone_gets_its_budget_shared_when_more_addresses_come() {
    // AAAA first: V6A is the only address, so it gets all that remains (9.9 s). The
    // A answer brings two more: V6A's budget becomes what it would have been with all
    // three known at its start (9.9 s over two rounds), and V4B gets its turn then.
    let mut sim = dual();
    assert_eq!(sim.answer(100, 0, &[V6A]), [start(0, V6A)]);
    assert_eq!(sim.answer(120, 1, &[V4A, V4B]), []);
    assert_eq!(
        sim.run_until(6_000),
        [
            (350, start(1, V4A)),
            (5_050, cancel(0)),
            (5_050, start(2, V4B))
        ]
    );
}

#[test]
fn answers_joining_the_schedule_keep_plan_order_for_early_starts() {
    // IPv4 leads after the resolution delay (55, 180, 305); IPv6 comes at 60 (60, 185,
    // 310) and its addresses slot in between. When a failure earns an early start, it
    // goes to the next address in that merged order: V6B (185) before V4C (305).
    let mut sim = dual();
    assert_eq!(sim.answer(5, 1, &[V4A, V4B, V4C]), []);
    assert_eq!(sim.tick(55), [start(0, V4A)]);
    assert_eq!(sim.answer(60, 0, &[V6A, V6B, V6C]), [start(1, V6A)]);
    assert_eq!(sim.fail(200, 0), [start(2, V4B)]);
    assert_eq!(sim.fail(210, 1), [start(3, V6B)]);
}

#[test]
fn a_late_aaaa_answer_gets_the_slot_before_further_ipv4_addresses() {
    // IPv4 started after the resolution delay; when AAAA comes, the last slot is
    // IPv6's until it has started (decision 1, the other way round).
    let mut sim = dual();
    assert_eq!(sim.answer(5, 1, &[V4A, V4B]), []);
    assert_eq!(sim.tick(55), [start(0, V4A)]);
    assert_eq!(sim.answer(300, 0, &[V6A]), [start(1, V6A)]);
    // V4B waits for a slot.
    assert_eq!(sim.fail(310, 0), [start(2, V4B)]);
}

#[test]
fn a_second_answer_for_the_waiting_family_joins_the_wait() {
    let mut sim = Sim::resolving(&[Aaaa, A, A], default(), None, secs(10));
    sim.events();
    assert_eq!(sim.answer(0, 1, &[V4A]), []);
    assert_eq!(sim.answer(10, 2, &[V4B]), []);
    // The delay counts from the first answer, and both answers' addresses are kept.
    assert_eq!(sim.wake(), Some(ms(50)));
    assert_eq!(sim.tick(50), [start(0, V4A)]);
    let planned: Vec<String> = sim.race.plan().addresses().map(|a| a.to_string()).collect();
    assert_eq!(planned, [V4A, V4B]);
}

#[test]
fn a_requested_family_waits_for_no_other_answer() {
    let mut sim = Sim::resolving(&[Aaaa, A], default(), Some(AddressFamily::V4), secs(10));
    sim.events();
    // IPv6 could not be dialed anyway: the A answer starts at once.
    assert_eq!(sim.answer(1, 1, &[V4A]), [start(0, V4A)]);
}

#[test]
fn an_empty_one_shot_answer_to_a_requested_family_is_no_addresses() {
    let mut sim = Sim::resolving(&[AddrInfo], default(), Some(AddressFamily::V4), secs(10));
    sim.events();
    assert_eq!(sim.answer(1, 0, &[]), [finished(Outcome::NoAddresses)]);
}

#[test]
fn a_short_timeout_halves_the_resolution_delay_too() {
    let options = default().for_timeout(ms(40));
    assert_eq!(options.resolution_delay, ms(20));
    let mut sim = Sim::resolving(&[Aaaa, A], options, None, ms(40));
    sim.events();
    assert_eq!(sim.answer(1, 1, &[V4A]), []);
    assert_eq!(sim.tick(21), [start(0, V4A)]);
}

#[test]
fn a_large_answer_is_merged_into_the_waiting_schedule_in_plan_order() {
    // IPv6 answers first with five addresses (due 0, 125, 250, 375, 500); then an A
    // answer with more than a few addresses, due from the head start on (250, 375,
    // ...): its addresses interleave with the IPv6 ones still waiting, the preferred
    // family first on a tie. Failing each attempt as it starts walks that order.
    let v6: Vec<String> = (1..=5).map(|i| format!("[2001:db8::{i}]:443")).collect();
    let v4: Vec<String> = (1..=10).map(|i| format!("192.0.2.{i}:443")).collect();
    let v6: Vec<&str> = v6.iter().map(String::as_str).collect();
    let v4: Vec<&str> = v4.iter().map(String::as_str).collect();
    let mut sim = dual();
    assert_eq!(sim.answer(0, 0, &v6), [start(0, v6[0])]);
    assert_eq!(sim.answer(10, 1, &v4), []);
    let due: Vec<(String, u64)> = sim
        .race
        .plan()
        .attempts()
        .iter()
        .map(|a| (a.addr.to_string(), a.offset().as_millis() as u64))
        .collect();
    let mut expected_due: Vec<(String, u64)> =
        (0..5).map(|i| (v6[i].to_owned(), 125 * i as u64)).collect();
    expected_due.extend((0..10).map(|j| (v4[j].to_owned(), 250 + 125 * j as u64)));
    assert_eq!(due, expected_due);
    let mut order = vec![v6[0].to_owned()];
    for attempt in 0..14 {
        let events = sim.fail(20 + attempt as u64, attempt);
        let [
            turbohttp_proto::race::Event::Start {
                attempt: next,
                addr,
            },
        ] = events[..]
        else {
            panic!("after attempt {attempt} failed: {events:?}");
        };
        assert_eq!(next, attempt + 1);
        order.push(addr.to_string());
    }
    let expected = [
        v6[0], v6[1], v6[2], v4[0], v6[3], v4[1], v6[4], v4[2], v4[3], v4[4], v4[5], v4[6], v4[7],
        v4[8], v4[9],
    ];
    assert_eq!(order, expected);
    assert_eq!(sim.fail(40, 14), [finished(Outcome::AllAttemptsFailed)]);
}
