//! Alt-Svc alternatives (RFC 7838) in the race (`Race::with_alternatives`): known at
//! the start, turned into endpoint groups as HTTPS ServiceMode records are, tried
//! before the HTTPS records and the origin's own addresses, never waiting for the
//! HTTPS answer. Exact to the millisecond with the defaults (250 ms stagger, 125 ms
//! spacing, 50 ms resolution delay) and four attempts in flight, so that an order is
//! seen whole.

mod support;

use std::cell::Cell;
use std::time::Instant;

use support::*;
use turbohttp_proto::HappyEyeballsOptions;
use turbohttp_proto::alt_svc::{AltService, MAX_ALTERNATIVES};
use turbohttp_proto::dns::QueryType::{self, A, Aaaa, AddrInfo, Https};
use turbohttp_proto::race::{Event, Race};
use turbohttp_proto::service::{MAX_TARGETS, Protocols, ServiceInfo, Verdict};

fn wide() -> HappyEyeballsOptions {
    HappyEyeballsOptions::default().with_max_concurrent_attempts(4)
}

/// A race sending `queries` at t0 with `alternatives`, the caller speaking `caller`.
fn sim(queries: &[QueryType], caller: Protocols, alternatives: Vec<AltService>) -> Sim {
    let t0 = Instant::now();
    let race = Race::resolving(&wide(), None, queries, t0, t0 + secs(10))
        .with_services(443, caller, 0)
        .with_alternatives(443, caller, alternatives);
    Sim {
        race,
        t0,
        now: Cell::new(0),
    }
}

fn h2(host: Option<&str>, port: u16) -> AltService {
    AltService::new("h2", host, Some(port))
}

fn verdicts(sim: &Sim) -> Vec<(String, Verdict, Option<usize>)> {
    let alternatives = sim.race.alternatives().iter();
    alternatives
        .map(|r| (r.alt.to_string(), r.verdict, r.rank))
        .collect()
}

#[test]
fn an_alternatives_port_is_dialed_first_and_the_origins_own_port_last() {
    let mut sim = sim(&[AddrInfo], Protocols::TCP, vec![h2(None, 8443)]);
    assert_eq!(sim.events(), [resolve(0, AddrInfo)]);
    assert_eq!(
        sim.answer(5, 0, &[V6A, V4A]),
        [start(0, "[2001:db8::a]:8443")]
    );
    assert_eq!(
        sim.run_until(1_000),
        [
            (255, start(1, "192.0.2.1:8443")),
            (380, start(2, V6A)),
            (630, start(3, V4A)),
        ]
    );
    assert_eq!(
        sim.alpns(),
        [Some("h2".into()), Some("h2".into()), None, None]
    );
    let from: Vec<Option<u16>> = sim.race.records().iter().map(|r| r.alternative).collect();
    assert_eq!(from, [Some(0), Some(0), None, None]);
    assert!(sim.race.records().iter().all(|r| r.service.is_none()));
    assert_eq!(
        verdicts(&sim),
        [("h2=\":8443\"".into(), Verdict::Use(Protocols::H2), Some(0))]
    );
}

#[test]
fn an_alternative_on_the_origins_host_waits_for_the_preferred_family_as_rfc_8305_says() {
    let mut sim = sim(&[Aaaa, A], Protocols::TCP, vec![h2(None, 8443)]);
    assert_eq!(sim.events(), [resolve(0, Aaaa), resolve(1, A)]);
    // The A answer first: the resolution delay for the AAAA answer, as without it.
    assert_eq!(sim.answer(3, 1, &[V4A]), []);
    assert_eq!(sim.wake(), Some(ms(53)));
    assert_eq!(sim.answer(20, 0, &[V6A]), [start(0, "[2001:db8::a]:8443")]);
    assert_eq!(sim.race.first_answer(), Some(ms(3)));
}

#[test]
fn an_alternative_at_another_host_asks_its_addresses_at_once_and_does_not_wait_for_https() {
    let alt = h2(Some("Alt.Test"), 8443);
    let mut sim = sim(&[Https, Aaaa, A], Protocols::TCP, vec![alt]);
    assert_eq!(
        sim.events(),
        [
            resolve(0, Https),
            resolve(1, Aaaa),
            resolve(2, A),
            resolve(3, Aaaa),
            resolve(4, A)
        ]
    );
    assert_eq!(sim.race.query_name(3), Some("alt.test"));
    assert_eq!(sim.race.query_name(4), Some("alt.test"));
    // alt.test's AAAA answers: its endpoint starts, the HTTPS answer not awaited.
    assert_eq!(
        sim.answer(4, 3, &["[2001:db8::d]:443"]),
        [start(0, "[2001:db8::d]:8443")]
    );
    // The origin's answers and a late HTTPS record come after it.
    assert_eq!(sim.answer(6, 1, &[V6A]), []);
    assert_eq!(sim.answer(7, 2, &[V4A]), []);
    let record = ServiceInfo::service(1, None)
        .with_alpn(["h2"])
        .with_port(9443);
    assert_eq!(sim.services(30, 0, vec![record]), []);
    let started: Vec<String> = sim
        .run_until(2_000)
        .into_iter()
        .filter_map(|(_, e)| match e {
            Event::Start { addr, .. } => Some(addr.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(started[0], "[2001:db8::a]:443");
    assert!(
        started.contains(&"[2001:db8::a]:9443".to_owned()),
        "{started:?}"
    );
    assert_eq!(sim.race.records()[0].alternative, Some(0));
}

#[test]
fn an_alternative_at_an_ip_literal_starts_at_zero_without_a_query() {
    let mut sim = sim(
        &[Aaaa, A],
        Protocols::TCP,
        vec![h2(Some("192.0.2.7"), 8443), h2(Some("[2001:db8::7]"), 8443)],
    );
    assert_eq!(
        sim.events(),
        [resolve(0, Aaaa), resolve(1, A), start(0, "192.0.2.7:8443"),]
    );
    assert_eq!(sim.race.queries().len(), 2);
    assert_eq!(sim.race.first_answer(), Some(ms(0)));
    // The first alternative's group, then the second's, one spacing after.
    assert_eq!(sim.run_until(200), [(125, start(1, "[2001:db8::7]:8443"))]);
    assert_eq!(
        sim.race.alternatives()[1].alt.to_string(),
        "h2=\"[2001:db8::7]:8443\""
    );
}

#[test]
fn an_h3_only_alternative_is_skipped_and_the_race_is_as_without_it() {
    let run = |alternatives: Vec<AltService>| {
        let mut sim = sim(&[Aaaa, A], Protocols::ALL, alternatives);
        sim.events();
        sim.answer(10, 1, &[V4A, V4B]);
        sim.answer(30, 0, &[V6A]);
        sim.fail(40, 0);
        sim.run_until(1_000);
        (sim.timeline(), verdicts(&sim))
    };
    let (with, verdicts) = run(vec![AltService::new("h3", None, Some(443))]);
    let (without, none) = run(Vec::new());
    assert_eq!(with, without);
    assert!(!with.is_empty());
    assert!(none.is_empty());
    assert_eq!(verdicts, [("h3=\":443\"".into(), Verdict::QuicOnly, None)]);
}

#[test]
fn an_alternatives_protocol_is_intersected_with_the_callers() {
    let alternatives = vec![
        h2(None, 8443),
        AltService::new("http/1.1", None, Some(8080)),
        AltService::new("spdy/3", None, Some(8081)),
    ];
    let mut sim = sim(&[AddrInfo], Protocols::HTTP_1_1, alternatives);
    sim.events();
    assert_eq!(sim.answer(0, 0, &[V4A]), [start(0, "192.0.2.1:8080")]);
    assert_eq!(sim.alpns(), [Some("http/1.1".into())]);
    assert_eq!(
        verdicts(&sim),
        [
            ("h2=\":8443\"".into(), Verdict::NoSharedProtocol, None),
            (
                "http/1.1=\":8080\"".into(),
                Verdict::Use(Protocols::HTTP_1_1),
                Some(0)
            ),
            ("spdy/3=\":8081\"".into(), Verdict::NoSharedProtocol, None),
        ]
    );
    // The index is the alternative's place in the list given, skipped ones counted.
    assert_eq!(sim.race.records()[0].alternative, Some(1));
}

#[test]
fn alternatives_come_before_https_records_which_come_before_the_origin() {
    let mut sim = sim(&[Https, Aaaa, A], Protocols::TCP, vec![h2(None, 8443)]);
    sim.events();
    let record = ServiceInfo::service(1, Some("svc.test")).with_port(9443);
    // svc.test's queries: 3 and 4.
    assert_eq!(
        sim.services(2, 0, vec![record]),
        [resolve(3, Aaaa), resolve(4, A)]
    );
    assert_eq!(sim.race.query_name(3), Some("svc.test"));
    assert_eq!(sim.answer(3, 3, &["[2001:db8::d]:443"]), []);
    assert_eq!(sim.answer(5, 1, &[V6A]), [start(0, "[2001:db8::a]:8443")]);
    // Two families: the race is no longer one attempt at a time. The A answer's
    // endpoints join each group's schedule, the alternative's first.
    assert_eq!(sim.answer(6, 2, &[V4A]), []);
    assert_eq!(
        sim.run_until(400),
        [
            (130, start(1, "[2001:db8::d]:9443")),
            (255, start(2, V6A)),
            (255, start(3, "192.0.2.1:8443")),
        ]
    );
    let from: Vec<(Option<u16>, Option<u16>)> = sim
        .race
        .records()
        .iter()
        .map(|r| (r.alternative, r.service))
        .collect();
    assert_eq!(
        from,
        [
            (Some(0), None),
            (None, Some(0)),
            (None, None),
            (Some(0), None)
        ]
    );
}

#[test]
fn alternatives_share_the_bound_on_names_asked_and_on_how_many_are_used() {
    let hosts: Vec<String> = (0..=MAX_TARGETS).map(|i| format!("alt{i}.test")).collect();
    let alternatives = hosts.iter().map(|h| h2(Some(h), 443)).collect();
    let mut sim = sim(&[AddrInfo], Protocols::TCP, alternatives);
    let asked = sim.events().len() - 1;
    assert_eq!(asked, 2 * MAX_TARGETS);
    let last = &verdicts(&sim)[MAX_TARGETS];
    assert_eq!(last.1, Verdict::TooManyTargets);
    assert_eq!(last.2, None);

    let many = (0..=MAX_ALTERNATIVES as u16)
        .map(|p| h2(None, 8000 + p))
        .collect();
    let sim = sim_many(many);
    let verdicts = verdicts(&sim);
    assert_eq!(verdicts[MAX_ALTERNATIVES - 1].2, Some(MAX_ALTERNATIVES - 1));
    assert_eq!(verdicts[MAX_ALTERNATIVES].1, Verdict::TooManyRecords);
}

fn sim_many(alternatives: Vec<AltService>) -> Sim {
    sim(&[AddrInfo], Protocols::TCP, alternatives)
}

#[test]
fn a_race_over_known_addresses_takes_no_alternative() {
    let t0 = Instant::now();
    let plan = turbohttp_proto::plan::Plan::new(&addrs(&[V4A]), &wide(), None).unwrap();
    let mut race =
        Race::new(plan, t0, t0 + secs(1)).with_alternatives(443, Protocols::TCP, [h2(None, 8443)]);
    assert!(race.alternatives().is_empty());
    assert_eq!(race.poll_event(), Some(start(0, V4A)));
}

#[test]
fn when_every_record_says_ech_no_alternative_is_dialed() {
    // An alternative at another host: its AAAA and A are asked at the start (queries
    // 3 and 4); the HTTPS answer, with ECH on its only record, comes first.
    let record = ServiceInfo::service(1, None)
        .with_alpn(["h2"])
        .with_port(9443)
        .with_ech(vec![0, 4, 0xfe, 0x0d, 0, 0]);
    let mut sim = sim(
        &[Https, Aaaa, A],
        Protocols::TCP,
        vec![h2(Some("alt.example"), 8443)],
    );
    sim.race = sim.race.with_ech(true);
    sim.events();
    assert_eq!(sim.services(1, 0, vec![record]), []);
    assert_eq!(sim.answer(2, 3, &["[2001:db8::f]:443"]), []);
    assert_eq!(sim.answer(3, 1, &[V6A]), [start(0, "[2001:db8::a]:9443")]);
    sim.answer_fail(4, 4, turbohttp_proto::dns::LookupFailureKind::NoData);
    sim.answer(5, 2, &[V4A]);
    let later: Vec<Event> = sim.run_until(2_000).into_iter().map(|(_, e)| e).collect();
    assert_eq!(later, [start(1, "192.0.2.1:9443")]);
    assert!(
        sim.race
            .records()
            .iter()
            .all(|r| r.ech && r.alternative.is_none())
    );
}

#[test]
fn an_alternative_reads_as_in_the_header_and_its_record_says_what_became_of_it() {
    let v6 = AltService::new("h2", Some("2001:db8::1"), Some(8443));
    assert_eq!(v6.to_string(), "h2=\"[2001:db8::1]:8443\"");
    let sim = sim(&[Https, Aaaa, A], Protocols::TCP, vec![h2(None, 8443)]);
    assert_eq!(
        sim.race.alternatives()[0].to_string(),
        "h2=\":8443\": used (h2)"
    );
}

#[test]
fn an_alternative_at_another_host_answering_late_joins_at_its_own_port_only() {
    let mut sim = sim(
        &[Https, Aaaa, A],
        Protocols::TCP,
        vec![h2(Some("alt.test"), 8443)],
    );
    sim.events();
    // The HTTPS query fails and the origin answers: the race starts without alt.test
    // once the resolution delay is over.
    sim.services_fail(1, 0, turbohttp_proto::dns::LookupFailureKind::NoData);
    assert_eq!(sim.answer(2, 1, &[V6A]), []);
    assert_eq!(sim.tick(52), [start(0, V6A)]);
    // alt.test's AAAA comes late: its endpoint at the alternative's port joins.
    assert_eq!(sim.answer(100, 3, &["[2001:db8::d]:443"]), []);
    // One family: one attempt at a time; when the origin's fails, alt.test's starts,
    // and the origin's address never gets the other host's port.
    assert_eq!(sim.fail(150, 0), [start(1, "[2001:db8::d]:8443")]);
    assert_eq!(sim.race.records()[1].alternative, Some(0));
    let addresses: Vec<String> = sim
        .race
        .plan()
        .attempts()
        .iter()
        .map(|a| a.addr.to_string())
        .collect();
    assert_eq!(addresses, ["[2001:db8::a]:443", "[2001:db8::d]:8443"]);
}

#[test]
fn an_alternative_of_a_family_not_requested_does_not_start_the_race() {
    // -4, and an alternative at an IPv6 literal: it cannot be dialed, so the race
    // waits for the HTTPS answer (or the resolution delay) as without it.
    let t0 = Instant::now();
    let caller = Protocols::TCP;
    let alt = AltService::new("h2", Some("2001:db8::f"), Some(8443));
    let race = Race::resolving(
        &wide(),
        Some(turbohttp_proto::AddressFamily::V4),
        &[Https, A],
        t0,
        t0 + secs(10),
    )
    .with_services(443, caller, 0)
    .with_alternatives(443, caller, vec![alt]);
    let mut sim = Sim {
        race,
        t0,
        now: Cell::new(0),
    };
    sim.events();
    assert_eq!(sim.answer(5, 1, &[V4A]), []);
    assert_eq!(sim.run_until(100), [(55, start(0, V4A))]);
}
