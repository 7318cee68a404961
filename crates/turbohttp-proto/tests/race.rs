//! The scheduling rules of the race (crate docs, "The rules" and decisions 1 to 4 and
//! 6), driven by hand: every input at `t0 + n ms`, every event and wake-up time exact.

mod support;

use support::*;
use turbohttp_proto::race::Outcome;
use turbohttp_proto::{AttemptPhase, HappyEyeballsOptions};

fn default() -> HappyEyeballsOptions {
    HappyEyeballsOptions::default()
}

// ---- partition and order: stagger, spacing, interleave, ties ----

#[test]
fn the_preferred_family_runs_alone_for_the_stagger() {
    let mut sim = Sim::new(&[V4A, V6A], default(), secs(10));
    assert_eq!(sim.events(), [start(0, V6A)]);
    assert_eq!(sim.wake(), Some(ms(250)));
    // Not a moment early.
    assert_eq!(sim.tick(249), []);
    assert_eq!(sim.tick(250), [start(1, V4A)]);
    // Nothing else is due: the next wake-up is the end of the budgets (the timeout).
    assert_eq!(sim.wake(), Some(secs(10)));
    assert_eq!(sim.connect(300, 1), [cancel(0), won(1)]);
    assert_eq!(
        sim.timeline(),
        [
            rec(0, V6A, 0, Some(300), "cancelled"),
            rec(1, V4A, 250, Some(300), "won"),
        ]
    );
    assert_eq!(sim.race.outcome(), Some(Outcome::Connected { attempt: 1 }));
    assert_eq!(sim.wake(), None);
}

#[test]
fn attempts_of_one_family_are_spaced() {
    let mut sim = Sim::new(
        &[V6A, V6B, V4A],
        options(|o| o.max_concurrent_attempts = 3),
        secs(10),
    );
    assert_eq!(sim.events(), [start(0, V6A)]);
    assert_eq!(sim.wake(), Some(ms(125)));
    assert_eq!(sim.tick(124), []);
    assert_eq!(sim.tick(125), [start(1, V6B)]);
    assert_eq!(sim.wake(), Some(ms(250)));
    assert_eq!(sim.tick(250), [start(2, V4A)]);
}

#[test]
fn families_interleave_by_due_time_and_the_preferred_goes_first_on_a_tie() {
    // Resolver order mixes the families; the plan does not.
    let mut sim = Sim::new(
        &[V4A, V6A, V4B, V6B, V6C],
        options(|o| o.max_concurrent_attempts = 10),
        secs(10),
    );
    assert_eq!(
        sim.run_until(400),
        [
            (0, start(0, V6A)),
            (125, start(1, V6B)),
            // [2001:db8::c] and 192.0.2.1 are both due at 250: IPv6 first.
            (250, start(2, V6C)),
            (250, start(3, V4A)),
            (375, start(4, V4B)),
        ]
    );
}

#[test]
fn prefer_ipv4_swaps_the_roles() {
    let mut sim = Sim::new(&[V6A, V4A], options(|o| o.prefer_ipv6 = false), secs(10));
    assert_eq!(
        sim.run_until(300),
        [(0, start(0, V4A)), (250, start(1, V6A))]
    );
}

#[test]
fn custom_delays_are_followed() {
    let mut sim = Sim::new(
        &[V6A, V6B, V4A, V4B],
        options(|o| {
            o.family_stagger_delay = ms(100);
            o.attempt_spacing_delay = ms(30);
            o.max_concurrent_attempts = 4;
        }),
        secs(10),
    );
    assert_eq!(
        sim.run_until(200),
        [
            (0, start(0, V6A)),
            (30, start(1, V6B)),
            (100, start(2, V4A)),
            (130, start(3, V4B)),
        ]
    );
}

// ---- decision 1: the concurrency cap never starves the fallback ----

#[test]
fn the_cap_keeps_the_last_slot_for_the_other_family() {
    let mut sim = Sim::new(&[V6A, V6B, V6C, V4A], default(), secs(10));
    // [2001:db8::b] is due at 125 but would take the last slot: the race sleeps
    // until IPv4 is due at 250 instead.
    assert_eq!(sim.events(), [start(0, V6A)]);
    assert_eq!(sim.wake(), Some(ms(250)));
    assert_eq!(sim.tick(125), []);
    assert_eq!(sim.tick(250), [start(1, V4A)]);
    // Once IPv4 has started, IPv6 may hold every slot.
    assert_eq!(sim.fail(300, 1), [start(2, V6B)]);
    assert_eq!(sim.fail(310, 0), [start(3, V6C)]);
}

#[test]
fn the_reservation_ends_for_good_once_the_other_family_has_started() {
    let mut sim = Sim::new(
        &[V6A, V6B, V6C, V4A],
        options(|o| o.max_concurrent_attempts = 3),
        secs(10),
    );
    // Two IPv6 attempts may run (3 slots, one kept); the third waits for IPv4.
    assert_eq!(
        sim.run_until(250),
        [
            (0, start(0, V6A)),
            (125, start(1, V6B)),
            (250, start(2, V4A))
        ]
    );
    // IPv4 failed: its slot goes to the waiting IPv6 address, now three IPv6 in flight.
    assert_eq!(sim.fail(300, 2), [start(3, V6C)]);
}

#[test]
fn with_the_slots_full_the_race_sleeps_until_a_budget_ends() {
    let mut sim = Sim::new(&[V6A, V4A, V4B], default(), secs(10));
    assert_eq!(
        sim.run_until(250),
        [(0, start(0, V6A)), (250, start(1, V4A))]
    );
    // 192.0.2.2 is due at 375 but no slot is free: no wake-up for it. The first
    // attempt's budget (10 s shared by 2 rounds of 2) ends at 5 s.
    assert_eq!(sim.wake(), Some(secs(5)));
    assert_eq!(sim.tick(375), []);
}

// ---- decision 3: a failure does not waste the delay ----

#[test]
fn a_failure_pulls_the_other_family_forward_when_the_preferred_has_nothing_left() {
    let mut sim = Sim::new(&[V6A, V4A], default(), secs(10));
    sim.events();
    assert_eq!(sim.fail(3, 0), [start(1, V4A)]);
    assert_eq!(sim.timeline()[1], rec(1, V4A, 3, None, "cancelled"));
}

#[test]
fn a_failure_pulls_the_next_preferred_address_and_the_fallback_keeps_its_time() {
    let mut sim = Sim::new(&[V6A, V6B, V4A], default(), secs(10));
    sim.events();
    assert_eq!(sim.fail(3, 0), [start(1, V6B)]);
    assert_eq!(sim.wake(), Some(ms(250)));
    assert_eq!(sim.tick(250), [start(2, V4A)]);
}

#[test]
fn each_failure_at_one_instant_earns_one_early_start() {
    let mut sim = Sim::new(
        &[V6A, V6B, V6C, V4A, V4B],
        options(|o| o.max_concurrent_attempts = 3),
        secs(10),
    );
    assert_eq!(
        sim.run_until(125),
        [(0, start(0, V6A)), (125, start(1, V6B))]
    );
    // Two failures reported at the same instant: two attempts start early (due at
    // 250), not three: 192.0.2.2 keeps its 375.
    sim.race.handle_failed(sim.at(130), 0, &refused());
    sim.race.handle_failed(sim.at(130), 1, &refused());
    assert_eq!(sim.events(), [start(2, V6C), start(3, V4A)]);
    assert_eq!(sim.wake(), Some(ms(375)));
}

#[test]
fn a_late_failure_of_an_attempt_not_running_earns_nothing() {
    let mut sim = Sim::new(&[V6A, V6B, V4A], default(), secs(10));
    sim.events();
    assert_eq!(sim.fail(10, 7), []);
    assert_eq!(sim.wake(), Some(ms(250)));
}

#[test]
fn when_every_attempt_failed_the_race_says_so() {
    let mut sim = Sim::new(&[V6A, V4A], default(), secs(10));
    sim.events();
    assert_eq!(sim.fail(3, 0), [start(1, V4A)]);
    assert_eq!(sim.fail(5, 1), [finished(Outcome::AllAttemptsFailed)]);
    assert_eq!(
        sim.timeline(),
        [
            rec(0, V6A, 0, Some(3), "failed"),
            rec(1, V4A, 3, Some(5), "failed")
        ]
    );
    let failure = sim.race.records()[0].failure.clone().unwrap();
    assert_eq!(failure.kind, std::io::ErrorKind::ConnectionRefused);
    assert!(!failure.terminal);
    assert_eq!(sim.wake(), None);
}

// ---- decision 2: per-attempt budgets ----

#[test]
fn a_stalled_attempt_gives_its_slot_up_when_its_budget_runs_out() {
    // One family: one at a time. 6 s for three addresses: 2 s each.
    let mut sim = Sim::new(&[V4A, V4B, V4C], default(), secs(6));
    assert_eq!(sim.events(), [start(0, V4A)]);
    assert_eq!(sim.wake(), Some(secs(2)));
    assert_eq!(sim.tick(1_999), []);
    assert_eq!(
        sim.run_until(6_000),
        [
            (2_000, cancel(0)),
            (2_000, start(1, V4B)),
            (4_000, cancel(1)),
            (4_000, start(2, V4C)),
            // The last budget ends with the connect timeout, which decides.
            (6_000, cancel(2)),
            (6_000, finished(Outcome::TimedOut)),
        ]
    );
    assert_eq!(
        sim.timeline(),
        [
            rec(0, V4A, 0, Some(2_000), "timed_out"),
            rec(1, V4B, 2_000, Some(4_000), "timed_out"),
            rec(2, V4C, 4_000, Some(6_000), "timed_out"),
        ]
    );
    let messages: Vec<String> = sim
        .race
        .records()
        .iter()
        .map(|r| r.failure.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(
        messages,
        [
            "no answer within its 2s budget",
            "no answer within its 2s budget",
            "still pending when the connect timeout ran out",
        ]
    );
}

#[test]
fn an_expired_budget_earns_the_next_attempt_an_early_start() {
    // Delays longer than the timeout, so that only the budgets move the race.
    let mut sim = Sim::new(
        &[V6A, V6B, V6C, V4A],
        options(|o| {
            o.family_stagger_delay = secs(60);
            o.attempt_spacing_delay = secs(60);
        }),
        secs(12),
    );
    // Four to start, two lanes: two rounds of 6 s.
    assert_eq!(sim.events(), [start(0, V6A)]);
    assert_eq!(sim.wake(), Some(secs(6)));
    // [2001:db8::b] (due at 60 s) takes the freed slot; three left: 3 s.
    assert_eq!(sim.tick(6_000), [cancel(0), start(1, V6B)]);
    assert_eq!(sim.wake(), Some(secs(9)));
    // 192.0.2.1 is next in plan order (due at 60 s, before [::c] at 120 s); it gets
    // what remains.
    assert_eq!(sim.tick(9_000), [cancel(1), start(2, V4A)]);
    assert_eq!(sim.wake(), Some(secs(12)));
    assert_eq!(sim.tick(12_000), [cancel(2), finished(Outcome::TimedOut)]);
    let failures: Vec<String> = sim
        .race
        .records()
        .iter()
        .map(|r| r.failure.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(
        failures,
        [
            "no answer within its 6s budget",
            "no answer within its 3s budget",
            "still pending when the connect timeout ran out",
        ]
    );
}

#[test]
fn a_budget_is_never_less_than_two_seconds_unless_less_remains() {
    // Ten addresses in one family, 10 s: a tenth would be 1 s, the floor is 2 s.
    let list = [
        "192.0.2.1:1",
        "192.0.2.2:1",
        "192.0.2.3:1",
        "192.0.2.4:1",
        "192.0.2.5:1",
        "192.0.2.6:1",
        "192.0.2.7:1",
        "192.0.2.8:1",
        "192.0.2.9:1",
        "192.0.2.10:1",
    ];
    let mut sim = Sim::new(&list, default(), secs(10));
    sim.events();
    assert_eq!(sim.wake(), Some(secs(2)));
}

#[test]
fn a_connection_from_an_attempt_whose_budget_ran_out_is_dropped() {
    let mut sim = Sim::new(&[V4A, V4B], default(), secs(4));
    sim.events();
    assert_eq!(sim.tick(2_000), [cancel(0), start(1, V4B)]);
    // It connected anyway, too late: the driver drops it and the race goes on.
    assert_eq!(sim.connect(2_100, 0), [cancel(0)]);
    assert_eq!(sim.race.outcome(), None);
    assert_eq!(sim.timeline()[0], rec(0, V4A, 0, Some(2_000), "timed_out"));
    assert_eq!(sim.connect(2_200, 1), [won(1)]);
}

// ---- decision 4: ties are deterministic ----

#[test]
fn simultaneous_connections_settle_in_plan_order_not_start_order() {
    let mut sim = Sim::new(&[V6A, V6B, V4A], default(), secs(10));
    sim.run_until(250);
    // [2001:db8::b] starts after 192.0.2.1 (the reservation) but is before it in the plan.
    assert_eq!(sim.fail(260, 0), [start(2, V6B)]);
    sim.race.handle_connected(sim.at(300), 1);
    sim.race.handle_connected(sim.at(300), 2);
    assert_eq!(sim.events(), [cancel(1), won(2)]);
    assert_eq!(
        sim.timeline(),
        [
            rec(0, V6A, 0, Some(260), "failed"),
            rec(1, V4A, 250, Some(300), "cancelled"),
            rec(2, V6B, 260, Some(300), "won"),
        ]
    );
}

#[test]
fn a_failure_and_a_connection_at_one_instant_the_connection_wins() {
    let mut sim = Sim::new(&[V6A, V4A], default(), secs(10));
    sim.run_until(250);
    sim.race.handle_failed(sim.at(300), 0, &refused());
    sim.race.handle_connected(sim.at(300), 1);
    assert_eq!(sim.events(), [won(1)]);
}

#[test]
fn a_connection_at_the_deadline_instant_still_wins() {
    let mut sim = Sim::new(&[V4A], default(), secs(1));
    sim.events();
    assert_eq!(sim.wake(), Some(secs(1)));
    assert_eq!(sim.connect(1_000, 0), [won(0)]);
}

#[test]
fn a_connection_at_the_instant_of_a_cancellation_still_wins() {
    let mut sim = Sim::new(&[V4A], default(), secs(1));
    sim.events();
    sim.race.handle_connected(sim.at(5), 0);
    sim.race.handle_cancel(sim.at(5));
    assert_eq!(sim.events(), [won(0)]);
}

#[test]
fn a_terminal_failure_before_a_connection_in_plan_order_decides() {
    let mut sim = Sim::new(&[V6A, V4A], default(), secs(10));
    sim.run_until(250);
    sim.race.handle_connected(sim.at(300), 1);
    sim.race.handle_failed(sim.at(300), 0, &rejected());
    // The connection made at the same instant is dropped.
    assert_eq!(
        sim.events(),
        [cancel(1), finished(Outcome::SetupRejected { attempt: 0 })]
    );
    assert_eq!(
        sim.timeline(),
        [
            rec(0, V6A, 0, Some(300), "failed"),
            rec(1, V4A, 250, Some(300), "cancelled"),
        ]
    );
}

#[test]
fn a_connection_before_a_terminal_failure_in_plan_order_wins() {
    let mut sim = Sim::new(&[V6A, V4A], default(), secs(10));
    sim.run_until(250);
    sim.race.handle_failed(sim.at(300), 1, &rejected());
    sim.race.handle_connected(sim.at(300), 0);
    assert_eq!(sim.events(), [won(0)]);
    // The failure did not decide, so the report does not call it terminal.
    let failure = sim.race.records()[1].failure.clone().unwrap();
    assert!(!failure.terminal);
    assert_eq!(sim.race.records()[1].outcome.as_str(), "failed");
}

// ---- decision 6: setup failures ----

#[test]
fn a_setup_failure_is_a_failed_attempt_and_the_race_goes_on() {
    let mut sim = Sim::new(&[V4A, V4B], default(), secs(10));
    sim.events();
    assert_eq!(sim.fail_with(40, 0, &setup_failed()), [start(1, V4B)]);
    let failure = sim.race.records()[0].failure.clone().unwrap();
    assert_eq!(failure.phase, AttemptPhase::Setup);
    assert!(!failure.terminal);
    assert_eq!(failure.to_string(), "setup failed: handshake failed");
}

#[test]
fn a_terminal_setup_failure_ends_the_race_and_cancels_the_rest() {
    let mut sim = Sim::new(&[V6A, V4A, V4B], default(), secs(10));
    sim.run_until(250);
    assert_eq!(
        sim.fail_with(260, 0, &rejected()),
        [cancel(1), finished(Outcome::SetupRejected { attempt: 0 })]
    );
    assert_eq!(
        sim.timeline(),
        [
            rec(0, V6A, 0, Some(260), "failed"),
            rec(1, V4A, 250, Some(260), "cancelled"),
        ]
    );
    let failure = sim.race.records()[0].failure.clone().unwrap();
    assert!(failure.terminal);
    assert_eq!(failure.phase, AttemptPhase::Setup);
    // 192.0.2.2 never started, and nothing is left to wake up for.
    assert_eq!(sim.wake(), None);
    assert_eq!(sim.tick(1_000), []);
}

// ---- the connect timeout, cancellation, late results ----

#[test]
fn the_deadline_times_out_what_runs_and_the_rest_never_starts() {
    let mut sim = Sim::new(&[V6A, V6B, V4A], default(), ms(200));
    sim.events();
    // 192.0.2.1 would be due at 250, after the end.
    assert_eq!(sim.wake(), Some(ms(200)));
    assert_eq!(sim.tick(199), []);
    assert_eq!(sim.tick(200), [cancel(0), finished(Outcome::TimedOut)]);
    assert_eq!(sim.timeline(), [rec(0, V6A, 0, Some(200), "timed_out")]);
    assert_eq!(
        sim.race.records()[0].failure.as_ref().unwrap().to_string(),
        "still pending when the connect timeout ran out"
    );
    assert_eq!(sim.wake(), None);
}

#[test]
fn cancelling_cancels_every_attempt() {
    let mut sim = Sim::new(&[V6A, V4A, V4B], default(), secs(10));
    sim.run_until(250);
    sim.race.handle_cancel(sim.at(300));
    assert_eq!(
        sim.events(),
        [cancel(0), cancel(1), finished(Outcome::Cancelled)]
    );
    assert_eq!(
        sim.timeline(),
        [
            rec(0, V6A, 0, Some(300), "cancelled"),
            rec(1, V4A, 250, Some(300), "cancelled"),
        ]
    );
    assert!(sim.race.records().iter().all(|r| r.failure.is_none()));
    assert_eq!(sim.race.outcome(), Some(Outcome::Cancelled));
    assert_eq!(sim.wake(), None);
}

#[test]
fn results_after_the_race_are_dropped_or_ignored() {
    let mut sim = Sim::new(&[V6A, V4A], default(), secs(10));
    sim.run_until(250);
    assert_eq!(sim.connect(260, 0), [cancel(1), won(0)]);
    // The loser connects after all: it is handed back to be dropped.
    assert_eq!(sim.connect(270, 1), [cancel(1)]);
    // A failure after the race changes nothing.
    assert_eq!(sim.fail(280, 1), []);
    assert_eq!(sim.race.records()[1].outcome.as_str(), "cancelled");
    assert_eq!(sim.race.records()[1].ended, Some(ms(260)));
    // Nor does a cancellation or the deadline.
    sim.race.handle_cancel(sim.at(290));
    assert_eq!(sim.tick(20_000), []);
    assert_eq!(sim.race.outcome(), Some(Outcome::Connected { attempt: 0 }));
}

#[test]
fn the_race_knows_its_start_plan_and_records() {
    let sim = Sim::new(&[V6A, V4A], default(), secs(10));
    assert_eq!(sim.race.started_at(), sim.t0);
    assert_eq!(sim.race.plan().addresses().count(), 2);
    assert_eq!(sim.race.first_answer(), Some(ms(0)));
    assert!(sim.race.queries().is_empty());
}

#[test]
fn into_records_and_into_parts_hand_over_the_story() {
    let mut sim = Sim::new(&[V6A, V4A], default(), secs(10));
    sim.events();
    sim.connect(7, 0);
    let records = sim.race.records().to_vec();
    assert_eq!(records.len(), 1);
    let (attempts, queries) = Sim::new(&[V6A], default(), secs(1)).race.into_parts();
    assert!(attempts.is_empty() && queries.is_empty());
    assert_eq!(sim.race.into_records(), records);
}

// ---- the records' room ----

/// `n` IPv4 addresses, as text.
fn v4_list(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("10.{}.{}.{}:443", i >> 16 & 255, i >> 8 & 255, i & 255))
        .collect()
}

#[test]
fn a_race_won_at_its_first_address_keeps_room_for_few_records() {
    // Most races end after an attempt or two: the records are not sized for the plan.
    let list = v4_list(10_000);
    let list: Vec<&str> = list.iter().map(String::as_str).collect();
    let mut sim = Sim::new(&list, HappyEyeballsOptions::default(), secs(3600));
    assert_eq!(sim.events(), [start(0, list[0])]);
    assert_eq!(sim.connect(1, 0), [won(0)]);
    let records = sim.race.into_records();
    assert_eq!(records.len(), 1);
    assert!(
        records.capacity() <= 8,
        "room for {} records",
        records.capacity()
    );
}

#[test]
fn a_long_race_makes_room_for_every_record_at_once() {
    // Past the first few records, room for every attempt left is made at once: the
    // records end up exactly as many as the room, without a doubling's slack.
    for n in [12, 40] {
        let list = v4_list(n);
        let list: Vec<&str> = list.iter().map(String::as_str).collect();
        let mut sim = Sim::new(&list, HappyEyeballsOptions::default(), secs(3600));
        assert_eq!(sim.events(), [start(0, list[0])]);
        for attempt in 0..n - 1 {
            let events = sim.fail(attempt as u64 + 1, attempt);
            assert_eq!(events, [start(attempt + 1, list[attempt + 1])]);
        }
        assert_eq!(
            sim.fail(n as u64, n - 1),
            [finished(Outcome::AllAttemptsFailed)]
        );
        let records = sim.race.into_records();
        assert_eq!(records.len(), n);
        assert_eq!(records.capacity(), n, "{n} attempts");
    }
}
