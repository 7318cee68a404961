//! What a race leaves behind, as operators read it: durations, attempt and query
//! records (taken from real races, as they cannot be built outside the crate), and
//! the report of a whole connect.

mod support;

use std::io;
use std::time::Duration;

use support::*;
use turbohttp_proto::dns::LookupFailureKind;
use turbohttp_proto::dns::QueryType::{A, Aaaa, AddrInfo};
use turbohttp_proto::{
    AddressFamily, AttemptError, AttemptFailure, AttemptOutcome, AttemptPhase, DisplayDuration,
    HappyEyeballsOptions, QueryOutcome, RaceReport,
};

fn shown(d: Duration) -> String {
    DisplayDuration(d).to_string()
}

#[test]
fn durations_read_naturally() {
    assert_eq!(shown(ms(250)), "250ms");
    assert_eq!(shown(ms(100)), "100ms");
    assert_eq!(shown(ms(0)), "0ms");
    assert_eq!(shown(Duration::from_micros(42)), "0.042ms");
    assert_eq!(shown(Duration::from_micros(12_340)), "12.34ms");
    assert_eq!(shown(Duration::from_nanos(12_345_600)), "12.346ms");
    assert_eq!(shown(ms(999)), "999ms");
    assert_eq!(shown(ms(1_000)), "1s");
    assert_eq!(shown(ms(1_500)), "1.5s");
    assert_eq!(shown(ms(2_250)), "2.25s");
    assert_eq!(shown(secs(10)), "10s");
    // The unit is chosen after rounding: not "1000ms".
    assert_eq!(shown(Duration::from_nanos(999_999_600)), "1s");
}

#[test]
fn attempt_outcomes_have_their_json_spelling() {
    let all = [
        (AttemptOutcome::Won, "won"),
        (AttemptOutcome::Failed, "failed"),
        (AttemptOutcome::TimedOut, "timed_out"),
        (AttemptOutcome::Cancelled, "cancelled"),
    ];
    for (outcome, text) in all {
        assert_eq!(outcome.as_str(), text);
        assert_eq!(outcome.to_string(), text);
    }
}

#[test]
fn a_failure_keeps_the_error_as_plain_data() {
    let error = AttemptError::connect(io::Error::from_raw_os_error(111));
    let failure = AttemptFailure::from_error(&error);
    assert_eq!(failure.phase, AttemptPhase::Connect);
    assert_eq!(failure.kind, io::ErrorKind::ConnectionRefused);
    assert_eq!(failure.os_error, Some(111));
    assert_eq!(
        failure.message(),
        io::Error::from_raw_os_error(111).to_string()
    );
    assert!(!failure.terminal);
    assert_eq!(failure.to_string(), failure.message());

    let failure = AttemptFailure::from_error(&rejected());
    assert_eq!(failure.phase, AttemptPhase::Setup);
    assert_eq!(failure.kind, io::ErrorKind::InvalidData);
    assert_eq!(failure.os_error, None);
    assert!(failure.terminal);
    assert_eq!(
        failure.to_string(),
        "setup failed: certificate not valid for the host"
    );
}

#[test]
fn timeouts_are_failures_of_the_connect_phase() {
    let budget = AttemptFailure::timed_out(ms(2_500));
    assert_eq!(budget.phase, AttemptPhase::Connect);
    assert_eq!(budget.kind, io::ErrorKind::TimedOut);
    assert_eq!(budget.os_error, None);
    assert!(!budget.terminal);
    assert_eq!(budget.to_string(), "no answer within its 2.5s budget");
    let race = AttemptFailure::race_timed_out();
    assert_eq!(race.phase, AttemptPhase::Connect);
    assert_eq!(race.kind, io::ErrorKind::TimedOut);
    assert_eq!(race.os_error, None);
    assert!(!race.terminal);
    assert_eq!(
        race.to_string(),
        "still pending when the connect timeout ran out"
    );
}

#[test]
fn attempt_records_read_as_one_line_each() {
    let mut sim = Sim::new(&[V6A, V4A, V4B], HappyEyeballsOptions::default(), secs(10));
    sim.events();
    sim.race.handle_failed(
        sim.at(3),
        0,
        &AttemptError::connect(io::Error::from(io::ErrorKind::ConnectionRefused)),
    );
    sim.events();
    let lines =
        |sim: &Sim| -> Vec<String> { sim.race.records().iter().map(|r| r.to_string()).collect() };
    assert_eq!(
        lines(&sim),
        [
            "#0 [2001:db8::a]:443 (IPv6) +0ms..+3ms failed: connection refused",
            "#1 192.0.2.1:443 (IPv4) +3ms..pending cancelled",
        ]
    );
    sim.fail_with(1_500, 1, &setup_failed());
    sim.connect(2_250, 2);
    assert_eq!(
        lines(&sim)[1..],
        [
            "#1 192.0.2.1:443 (IPv4) +3ms..+1.5s failed: setup failed: handshake failed",
            "#2 192.0.2.2:443 (IPv4) +1.5s..+2.25s won",
        ]
    );
}

#[test]
fn query_outcomes_have_their_json_spelling_and_a_sentence() {
    let mut sim = Sim::resolving(
        &[Aaaa, A, AddrInfo],
        HappyEyeballsOptions::default(),
        None,
        secs(5),
    );
    sim.events();
    let outcome = |sim: &Sim, q: usize| sim.race.queries()[q].outcome.clone();
    assert_eq!(outcome(&sim, 0).as_str(), "pending");
    assert_eq!(outcome(&sim, 0).to_string(), "pending");
    sim.answer_fail(1, 0, LookupFailureKind::ServFail);
    assert_eq!(outcome(&sim, 0).as_str(), "servfail");
    assert_eq!(outcome(&sim, 0).to_string(), "the resolver said no");
    sim.answer(2, 1, &[V4A]);
    assert_eq!(outcome(&sim, 1), QueryOutcome::Answered { addresses: 1 });
    assert_eq!(outcome(&sim, 1).as_str(), "answered");
    assert_eq!(outcome(&sim, 1).to_string(), "1 address");
    let shown = |n: usize| QueryOutcome::Answered { addresses: n }.to_string();
    assert_eq!(shown(0), "0 addresses");
    assert_eq!(shown(2), "2 addresses");
    assert_eq!(QueryOutcome::TimedOut.as_str(), "timed_out");
    assert_eq!(
        QueryOutcome::TimedOut.to_string(),
        "no answer before the connect timeout"
    );
    assert_eq!(QueryOutcome::Cancelled.as_str(), "cancelled");
    assert_eq!(
        QueryOutcome::Cancelled.to_string(),
        "not needed: the race ended first"
    );
}

#[test]
fn query_records_read_as_one_line_each() {
    let mut sim = Sim::resolving(&[Aaaa, A], HappyEyeballsOptions::default(), None, secs(5));
    sim.events();
    let lines =
        |sim: &Sim| -> Vec<String> { sim.race.queries().iter().map(|q| q.to_string()).collect() };
    assert_eq!(
        lines(&sim),
        ["AAAA +0ms..pending pending", "A +0ms..pending pending"]
    );
    sim.race
        .handle_answer(sim.at(12), 0, Ok(addrs(&[V6A, V6B])));
    sim.answer_fail(5_000, 1, LookupFailureKind::ServFail);
    assert_eq!(
        lines(&sim),
        [
            "AAAA +0ms..+12ms 2 addresses",
            "A +0ms..+5s servfail: the resolver said no",
        ]
    );
}

#[test]
fn the_report_names_its_target_and_winner() {
    let mut report = RaceReport::new("[::1]".to_owned(), 443, AddressFamily::V6);
    assert_eq!(report.target(), "[::1]:443");
    assert_eq!(report.preferred_family, AddressFamily::V6);
    assert_eq!(report.winning_attempt(), None);
    assert!(report.resolved.is_empty() && report.dns.is_empty() && report.attempts.is_empty());
    assert_eq!(
        (report.resolve_time, report.elapsed),
        (Duration::ZERO, Duration::ZERO)
    );

    let mut sim = Sim::new(&[V6A, V4A], HappyEyeballsOptions::default(), secs(10));
    sim.events();
    sim.tick(250);
    sim.connect(260, 1);
    report.attempts = sim.race.records().to_vec();
    report.winner = Some(1);
    assert_eq!(report.winning_attempt().unwrap().endpoint, addr(V4A));
    // A winner number with no record is no winner.
    report.winner = Some(7);
    assert_eq!(report.winning_attempt(), None);
}

#[test]
fn the_report_reads_as_one_line_or_one_line_per_attempt() {
    let mut sim = Sim::new(&[V6A, V4A], HappyEyeballsOptions::default(), secs(10));
    sim.events();
    sim.tick(250);
    sim.connect(260, 1);
    let mut report = RaceReport::new("dual.test".to_owned(), 443, AddressFamily::V6);
    report.attempts = sim.race.records().to_vec();
    report.elapsed = ms(260);
    assert_eq!(
        report.to_string(),
        "no connection to dual.test:443 after 260ms (2 attempts)"
    );
    report.winner = Some(1);
    assert_eq!(
        report.to_string(),
        "connected to dual.test:443 at 192.0.2.1:443 in 260ms (attempt #1 of 2)"
    );
    assert_eq!(
        format!("{report:#}"),
        "connected to dual.test:443 at 192.0.2.1:443 in 260ms (attempt #1 of 2)\n  \
         #0 [2001:db8::a]:443 (IPv6) +0ms..+260ms cancelled\n  \
         #1 192.0.2.1:443 (IPv4) +250ms..+260ms won"
    );
    report.attempts.truncate(1);
    report.winner = None;
    assert_eq!(
        report.to_string(),
        "no connection to dual.test:443 after 260ms (1 attempt)"
    );
}

#[test]
fn an_error_with_its_own_words_and_no_payload_keeps_its_words() {
    // Some errors std makes carry a fixed message of their own but no payload
    // (`get_ref` is `None`) and no OS code: the message is theirs, not the kind's.
    let mut text = String::new();
    let error = io::Read::read_to_string(&mut &b"\xff"[..], &mut text).unwrap_err();
    assert!(error.get_ref().is_none());
    assert_eq!(error.raw_os_error(), None);
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    let words = error.to_string();
    assert_ne!(words, io::ErrorKind::InvalidData.to_string());
    let failure = AttemptFailure::from_error(&AttemptError::setup(error));
    assert_eq!(failure.message(), words);
    assert_eq!(failure.to_string(), format!("setup failed: {words}"));
    // A bare kind reads as the kind.
    let bare = AttemptError::connect(io::Error::from(io::ErrorKind::ConnectionReset));
    assert_eq!(
        AttemptFailure::from_error(&bare).message(),
        io::ErrorKind::ConnectionReset.to_string()
    );
}

#[test]
fn an_error_own_text_is_lent_not_copied() {
    let failure = AttemptFailure::from_error(&setup_failed());
    assert!(matches!(
        failure.message(),
        std::borrow::Cow::Borrowed("handshake failed")
    ));
}

/// A report of these failures, one attempt each, in this order (each failure starts
/// the next attempt at once), and one more attempt still running (a race whose every
/// attempt failed hands its records over).
fn report_of(failures: &[AttemptError]) -> RaceReport {
    let list = [V6A, V4A, V6B, V4B, V6C, V4C];
    let mut sim = Sim::new(
        &list[..=failures.len()],
        HappyEyeballsOptions::default(),
        secs(10),
    );
    sim.events();
    for (i, error) in failures.iter().enumerate() {
        sim.fail_with(u64::try_from(i).unwrap() + 1, i, error);
    }
    let mut report = RaceReport::new("dual.test".to_owned(), 443, AddressFamily::V6);
    report.attempts = sim.race.records().to_vec();
    report
}

fn os(code: i32) -> AttemptError {
    AttemptError::connect(io::Error::from_raw_os_error(code))
}

fn leader(report: &RaceReport) -> Option<usize> {
    report.leading_failure().map(|a| a.attempt)
}

#[test]
fn the_failure_that_got_furthest_leads_whatever_the_address_order() {
    const ECONNREFUSED: i32 = 111;
    const EHOSTUNREACH: i32 = 113;
    // A failed setup beats a refusal, first or last.
    assert_eq!(
        leader(&report_of(&[os(ECONNREFUSED), setup_failed()])),
        Some(1)
    );
    assert_eq!(
        leader(&report_of(&[setup_failed(), os(ECONNREFUSED)])),
        Some(0)
    );
    // Another connect failure beats a refusal and a timeout.
    let timed_out = || AttemptError::connect(io::Error::from(io::ErrorKind::TimedOut));
    assert_eq!(
        leader(&report_of(&[
            os(ECONNREFUSED),
            timed_out(),
            os(EHOSTUNREACH)
        ])),
        Some(2)
    );
    // A failed setup beats any connect failure.
    assert_eq!(
        leader(&report_of(&[os(EHOSTUNREACH), setup_failed()])),
        Some(1)
    );
    // Among equals, one with an OS code, then the first to start.
    assert_eq!(
        leader(&report_of(&[timed_out(), os(ECONNREFUSED)])),
        Some(1)
    );
    assert_eq!(leader(&report_of(&[refused(), os(ECONNREFUSED)])), Some(1));
    assert_eq!(
        leader(&report_of(&[os(ECONNREFUSED), os(ECONNREFUSED)])),
        Some(0)
    );
    assert_eq!(
        leader(&report_of(&[setup_failed(), setup_failed()])),
        Some(0)
    );
    // A refusal reached a server; no route to the network did not leave this host.
    const ENETUNREACH: i32 = 101;
    assert_eq!(
        leader(&report_of(&[os(ENETUNREACH), os(ECONNREFUSED)])),
        Some(1)
    );
    // Nothing failed: nothing leads.
    assert_eq!(
        leader(&RaceReport::new("h".into(), 1, AddressFamily::V4)),
        None
    );
}

#[test]
fn failures_have_a_depth_and_a_few_words() {
    use turbohttp_proto::FailureDepth as D;
    let depth = |e: &AttemptError| AttemptFailure::from_error(e).depth();
    assert_eq!(depth(&setup_failed()), D::Setup);
    assert_eq!(depth(&os(113)), D::Connect);
    assert_eq!(depth(&refused()), D::RefusedOrSilent);
    assert_eq!(
        AttemptFailure::timed_out(ms(250)).depth(),
        D::RefusedOrSilent
    );
    assert!(D::Setup > D::Connect && D::Connect > D::RefusedOrSilent);
    assert!(D::RefusedOrSilent > D::Local);
    // Nothing left this machine: no route (ENETUNREACH), no descriptor (EMFILE).
    assert_eq!(depth(&os(101)), D::Local);
    assert_eq!(depth(&os(24)), D::Local);
    let brief = |e: &AttemptError| AttemptFailure::from_error(e).in_brief().into_owned();
    assert_eq!(brief(&refused()), "refused the connection");
    assert_eq!(brief(&setup_failed()), "failed its setup");
    assert_eq!(
        AttemptFailure::timed_out(ms(250)).in_brief(),
        "did not answer in time"
    );
    assert_eq!(brief(&os(113)), "No route to host (os error 113)");
}
