//! The HTTPS query in the race (draft-ietf-happy-happyeyeballs-v3 §4 and §5, RFC 9460),
//! driven by hand through `Race::resolving` with HTTPS, AAAA and A: when attempts may
//! start (the gate), what a record makes of the addresses (port, protocols, hints),
//! which records are skipped, and in what order records are tried. Exact to the
//! millisecond; the defaults: 250 ms stagger, 125 ms spacing, 50 ms resolution delay.

mod support;

use std::cell::Cell;
use std::net::IpAddr;
use std::time::Instant;

use support::*;
use turbohttp_proto::dns::LookupFailureKind::{BadAnswer, NoData, ServFail};
use turbohttp_proto::dns::QueryType::{A, Aaaa, AddrInfo, Https};
use turbohttp_proto::race::{Outcome, Race};
use turbohttp_proto::service::{
    MAX_ALIAS_CHAIN, MAX_TARGETS, Protocols, ServiceInfo, Verdict, key,
};
use turbohttp_proto::{AddressFamily, HappyEyeballsOptions};

const HTTPS: usize = 0;
const AAAA: usize = 1;
const A4: usize = 2;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// HTTPS (query 0), AAAA (1) and A (2), sent together; defaults, a 10 s timeout.
fn v3() -> Sim {
    v3_with(HappyEyeballsOptions::default(), Protocols::TCP, 0)
}

/// As [`v3`], with four attempts in flight rather than two, so that an order is seen
/// whole rather than held back by the cap.
fn v3_wide() -> Sim {
    let options = HappyEyeballsOptions::default().with_max_concurrent_attempts(4);
    v3_with(options, Protocols::TCP, 0)
}

fn v3_with(options: HappyEyeballsOptions, caller: Protocols, seed: u64) -> Sim {
    let t0 = Instant::now();
    let race = Race::resolving(&options, None, &[Https, Aaaa, A], t0, t0 + secs(10))
        .with_services(443, caller, seed);
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

/// As [`v3`], for a race that knows the origin's host name (and its port).
fn v3_of(host: &str, port: u16) -> Sim {
    let t0 = Instant::now();
    let options = HappyEyeballsOptions::default();
    let race = Race::resolving(&options, None, &[Https, Aaaa, A], t0, t0 + secs(10))
        .with_services(port, Protocols::TCP, 0)
        .with_origin(host);
    let mut sim = Sim {
        race,
        t0,
        now: Cell::new(0),
    };
    sim.events();
    sim
}

/// A ServiceMode record of the origin with `alpn=h2`.
fn origin_h2() -> ServiceInfo {
    ServiceInfo::service(1, None).with_alpn(["h2"])
}

// ---- the gate (§4.2) ----

#[test]
fn the_https_answer_first_then_aaaa_starts_ipv6_at_once() {
    let mut sim = v3();
    assert_eq!(sim.services(10, HTTPS, vec![origin_h2()]), []);
    assert_eq!(sim.answer(20, AAAA, &[V6A]), [start(0, V6A)]);
    assert_eq!(sim.answer(25, A4, &[V4A]), []);
    assert_eq!(sim.run_until(300), [(270, start(1, V4A))]);
    assert_eq!(sim.race.first_answer(), Some(ms(20)));
}

#[test]
fn addresses_wait_for_the_https_answer_that_comes_within_the_resolution_delay() {
    let mut sim = v3();
    assert_eq!(sim.answer(10, AAAA, &[V6A]), []);
    assert_eq!(sim.answer(12, A4, &[V4A]), []);
    // The delay counts from the first positive answer: 10 + 50.
    assert_eq!(sim.wake(), Some(ms(60)));
    assert_eq!(
        sim.services(30, HTTPS, vec![origin_h2().with_port(8443)]),
        [start(0, "[2001:db8::a]:8443")]
    );
    assert_eq!(sim.run_until(300), [(280, start(1, "192.0.2.1:8443"))]);
    // Attempts are counted from the gate, and the resolution is when the first
    // address came.
    assert_eq!(sim.race.first_answer(), Some(ms(10)));
}

#[test]
fn a_lost_https_answer_costs_the_resolution_delay_and_no_more() {
    let mut sim = v3();
    assert_eq!(sim.answer(10, AAAA, &[V6A]), []);
    assert_eq!(sim.answer(12, A4, &[V4A]), []);
    assert_eq!(
        sim.run_until(400),
        [(60, start(0, V6A)), (310, start(1, V4A))]
    );
    assert_eq!(sim.alpns(), [None, None]);
}

#[test]
fn a_failed_or_malformed_https_answer_ends_the_wait_at_once() {
    for kind in [ServFail, BadAnswer, NoData] {
        let mut sim = v3();
        assert_eq!(sim.answer(10, AAAA, &[V6A]), []);
        assert_eq!(
            sim.services_fail(17, HTTPS, kind),
            [start(0, V6A)],
            "{kind:?}"
        );
        assert_eq!(sim.answer(18, A4, &[V4A]), []);
        assert_eq!(sim.run_until(300), [(267, start(1, V4A))]);
    }
}

#[test]
fn an_https_answer_after_the_delay_adds_its_endpoints_after_those_planned() {
    let mut sim = v3_wide();
    sim.answer(10, AAAA, &[V6A]);
    sim.answer(12, A4, &[V4A]);
    assert_eq!(sim.tick(60), [start(0, V6A)]);
    // port=8443: new endpoints; v6 one spacing after the planned v6 (60 + 125),
    // never earlier than its arrival.
    assert_eq!(
        sim.services(100, HTTPS, vec![origin_h2().with_port(8443)]),
        []
    );
    assert_eq!(
        sim.run_until(500),
        [
            (185, start(1, "[2001:db8::a]:8443")),
            (310, start(2, V4A)),
            (435, start(3, "192.0.2.1:8443")),
        ]
    );
    assert_eq!(
        sim.alpns(),
        [
            None,
            Some("h2,http/1.1".into()),
            None,
            Some("h2,http/1.1".into())
        ]
    );
}

#[test]
fn only_an_a_answer_and_https_wait_for_aaaa_up_to_the_delay() {
    let mut sim = v3();
    assert_eq!(sim.services(5, HTTPS, vec![origin_h2()]), []);
    assert_eq!(sim.answer(10, A4, &[V4A]), []);
    assert_eq!(sim.wake(), Some(ms(60)));
    assert_eq!(sim.answer(30, AAAA, &[V6A]), [start(0, V6A)]);
    assert_eq!(sim.run_until(300), [(280, start(1, V4A))]);
}

// ---- hints (§4.2.1) ----

#[test]
fn hints_count_as_answers_and_start_the_race_before_aaaa_and_a() {
    let mut sim = v3();
    let record = origin_h2().with_hints([ip("2001:db8::a"), ip("192.0.2.1")]);
    assert_eq!(sim.services(8, HTTPS, vec![record]), [start(0, V6A)]);
    assert_eq!(sim.run_until(300), [(258, start(1, V4A))]);
    assert_eq!(sim.race.first_answer(), Some(ms(8)));
}

#[test]
fn the_answer_replaces_the_hints_a_hint_it_lacks_is_not_dialed() {
    let mut sim = v3_wide();
    let record = origin_h2().with_hints([ip("2001:db8::a"), ip("2001:db8::b"), ip("192.0.2.1")]);
    assert_eq!(sim.services(0, HTTPS, vec![record]), [start(0, V6A)]);
    // AAAA says ::a and ::c: ::b (a hint, due at 125) goes and ::c is due in its
    // place; ::a is not dialed again.
    assert_eq!(sim.answer(20, AAAA, &[V6A, V6C]), []);
    assert_eq!(
        sim.run_until(400),
        [(125, start(1, V6C)), (250, start(2, V4A))]
    );
    let dialed: Vec<_> = sim.race.records().iter().map(|r| r.endpoint).collect();
    assert_eq!(dialed, addrs(&[V6A, V6C, V4A]));
}

#[test]
fn an_a_answer_replaces_the_ipv4_hints_before_they_start() {
    let mut sim = v3();
    let record = origin_h2().with_hints([ip("2001:db8::a"), ip("192.0.2.9")]);
    sim.services(0, HTTPS, vec![record]);
    assert_eq!(sim.answer(30, A4, &[V4A]), []);
    assert_eq!(sim.run_until(300), [(250, start(1, V4A))]);
}

#[test]
fn answers_in_before_the_https_answer_are_used_over_its_hints() {
    let mut sim = v3();
    sim.answer(10, AAAA, &[V6B]);
    let record = origin_h2().with_hints([ip("2001:db8::a")]);
    assert_eq!(sim.services(20, HTTPS, vec![record]), [start(0, V6B)]);
}

// ---- what a record says ----

#[test]
fn the_record_port_is_dialed_and_its_protocols_offered() {
    let mut sim = v3();
    sim.services(1, HTTPS, vec![origin_h2().with_port(8443)]);
    assert_eq!(
        sim.answer(2, AAAA, &[V6A]),
        [start(0, "[2001:db8::a]:8443")]
    );
    assert_eq!(sim.alpns(), [Some("h2,http/1.1".into())]);
    assert_eq!(sim.race.records()[0].service, Some(0));
}

#[test]
fn alpn_is_what_the_record_and_the_caller_share() {
    // no-default-alpn: h2 only.
    let mut sim = v3();
    sim.services(1, HTTPS, vec![origin_h2().with_no_default_alpn()]);
    sim.answer(2, AAAA, &[V6A]);
    assert_eq!(sim.alpns(), [Some("h2".into())]);

    // A caller of http/1.1 only, a record of h2 and http/1.1: http/1.1.
    let mut sim = v3_with(HappyEyeballsOptions::default(), Protocols::HTTP_1_1, 0);
    sim.services(1, HTTPS, vec![origin_h2()]);
    sim.answer(2, AAAA, &[V6A]);
    assert_eq!(sim.alpns(), [Some("http/1.1".into())]);
}

#[test]
fn a_record_sharing_no_protocol_is_skipped_and_the_origin_is_dialed_as_without_it() {
    let mut sim = v3_with(HappyEyeballsOptions::default(), Protocols::HTTP_1_1, 0);
    let record = origin_h2().with_no_default_alpn().with_port(8443);
    sim.services(1, HTTPS, vec![record]);
    assert_eq!(sim.answer(2, AAAA, &[V6A]), [start(0, V6A)]);
    assert_eq!(sim.alpns(), [None]);
    let services = &sim.race.queries()[HTTPS].services;
    assert_eq!(services[0].verdict, Verdict::NoSharedProtocol);
    assert_eq!(services[0].rank, None);
}

#[test]
fn an_h3_only_record_is_left_out_until_quic_is_dialed() {
    let mut sim = v3();
    let h3 = ServiceInfo::service(1, None)
        .with_alpn(["h3"])
        .with_no_default_alpn()
        .with_hints([ip("2001:db8::c")]);
    sim.services(1, HTTPS, vec![h3, origin_h2().with_port(8443)]);
    sim.answer(2, AAAA, &[V6A]);
    let services = &sim.race.queries()[HTTPS].services;
    assert_eq!(services[0].verdict, Verdict::QuicOnly);
    assert_eq!(services[1].verdict, Verdict::Use(Protocols::TCP));
    // The hint of the h3 record is not dialed; the h2 record's port is.
    let dialed: Vec<_> = sim.race.plan().addresses().collect();
    assert_eq!(dialed, addrs(&["[2001:db8::a]:8443"]));
}

#[test]
fn a_record_with_a_mandatory_key_not_understood_is_skipped() {
    let mut sim = v3();
    let unknown = origin_h2()
        .with_port(8443)
        .with_mandatory([key::ALPN, 65_000]);
    let known = ServiceInfo::service(2, None)
        .with_alpn(["h2"])
        .with_mandatory([key::ALPN, key::PORT])
        .with_port(9443);
    sim.services(1, HTTPS, vec![unknown, known]);
    sim.answer(2, AAAA, &[V6A]);
    let services = &sim.race.queries()[HTTPS].services;
    assert_eq!(services[0].verdict, Verdict::MandatoryUnknown(65_000));
    assert_eq!(
        sim.timeline(),
        [rec(0, "[2001:db8::a]:9443", 2, None, "cancelled")]
    );
}

// ---- order (§5) ----

#[test]
fn records_are_tried_by_priority_each_group_after_the_last() {
    let mut sim = v3_wide();
    let second = ServiceInfo::service(2, None)
        .with_alpn(["h2"])
        .with_port(8002);
    let first = ServiceInfo::service(1, None)
        .with_alpn(["h2"])
        .with_port(8001);
    sim.services(0, HTTPS, vec![second, first]);
    sim.answer(0, A4, &[V4A]);
    // Priority 1 first: its v6 at 0, v4 after the stagger; priority 2 one spacing
    // after the latest due (250 + 125), its own v4 250 later.
    assert_eq!(
        sim.answer(10, AAAA, &[V6A]),
        [start(0, "[2001:db8::a]:8001")]
    );
    assert_eq!(
        sim.run_until(1000),
        [
            (260, start(1, "192.0.2.1:8001")),
            (385, start(2, "[2001:db8::a]:8002")),
            (635, start(3, "192.0.2.1:8002")),
        ]
    );
    let ranks: Vec<_> = sim.race.queries()[HTTPS]
        .services
        .iter()
        .map(|s| s.rank)
        .collect();
    assert_eq!(ranks, [Some(1), Some(0)]);
}

#[test]
fn a_failure_moves_on_to_the_next_group_at_once() {
    let mut sim = v3();
    let first = ServiceInfo::service(1, None).with_hints([ip("2001:db8::a")]);
    let second = ServiceInfo::service(2, None).with_hints([ip("2001:db8::b")]);
    assert_eq!(sim.services(0, HTTPS, vec![first, second]), [start(0, V6A)]);
    assert_eq!(sim.fail(3, 0), [start(1, V6B)]);
}

#[test]
fn records_of_equal_priority_are_shuffled_by_the_seed_and_the_same_seed_repeats() {
    let order = |seed: u64| {
        let mut sim = v3_with(HappyEyeballsOptions::default(), Protocols::TCP, seed);
        let records = (0..4)
            .map(|i| ServiceInfo::service(1, None).with_port(8000 + i))
            .collect();
        sim.services(0, HTTPS, records);
        sim.answer(0, AAAA, &[V6A]);
        sim.race
            .plan()
            .addresses()
            .map(|a| a.port())
            .collect::<Vec<_>>()
    };
    let firsts: std::collections::HashSet<u16> = (0..32).map(|seed| order(seed)[0]).collect();
    assert!(firsts.len() > 1, "one order for every seed: {firsts:?}");
    assert_eq!(order(7), order(7));
}

// ---- targets and the origin ----

#[test]
fn a_record_for_another_target_asks_its_addresses_and_dials_its_hints_until_they_come() {
    let mut sim = v3();
    let alt = ServiceInfo::service(1, Some("alt.example"))
        .with_alpn(["h2"])
        .with_hints([ip("2001:db8::c"), ip("2001:db8::d")]);
    // Its hint is an answer of the preferred family: the race starts, and the
    // target's own AAAA and A go out at once.
    assert_eq!(
        sim.services(0, HTTPS, vec![alt]),
        [
            resolve(3, Aaaa),
            resolve(4, A),
            start(0, "[2001:db8::c]:443")
        ]
    );
    assert_eq!(sim.race.query_name(3), Some("alt.example"));
    assert_eq!(sim.race.query_name(AAAA), None);
    // The origin's own AAAA answer is not the target's: it comes after the record's
    // endpoints, at the origin's port, with the caller's protocols.
    assert_eq!(sim.answer(5, AAAA, &[V6A]), []);
    // The target's AAAA answer replaces its hints: ::d goes, ::b comes, due after
    // what is planned of the family (addresses are due in the order they became
    // known once the race has started).
    assert_eq!(sim.answer(8, 3, &["[2001:db8::b]:443"]), []);
    assert_eq!(sim.fail(10, 0), [start(1, V6A)]);
    assert_eq!(sim.fail(11, 1), [start(2, V6B)]);
    assert_eq!(
        sim.alpns(),
        [Some("h2,http/1.1".into()), None, Some("h2,http/1.1".into())]
    );
    let dialed: Vec<_> = sim.race.records().iter().map(|r| r.endpoint).collect();
    assert_eq!(dialed, addrs(&["[2001:db8::c]:443", V6A, V6B]));
}

#[test]
fn an_alias_is_followed_to_its_records_and_their_dot_means_the_alias_target() {
    let mut sim = v3();
    assert_eq!(
        sim.services(5, HTTPS, vec![ServiceInfo::alias("cdn.example")]),
        [resolve(3, Https), resolve(4, Aaaa), resolve(5, A)]
    );
    for q in 3..=5 {
        assert_eq!(sim.race.query_name(q), Some("cdn.example"));
    }
    // The origin's answers wait: the service is not known yet.
    assert_eq!(sim.answer(6, AAAA, &[V6A]), []);
    assert_eq!(sim.answer(7, A4, &[V4A]), []);
    let cdn = ServiceInfo::service(1, None)
        .with_alpn(["h2"])
        .with_port(8443);
    assert_eq!(sim.services(20, 3, vec![cdn]), []);
    // "." is cdn.example: its AAAA answer is the endpoint, at the record's port.
    assert_eq!(sim.answer(22, 4, &[V6B]), [start(0, "[2001:db8::b]:8443")]);
    let verdicts: Vec<_> = sim.race.queries()[HTTPS]
        .services
        .iter()
        .map(|r| r.verdict)
        .collect();
    assert_eq!(verdicts, [Verdict::Alias]);
    // The origin's own addresses come last, as without records.
    assert_eq!(sim.fail(23, 0), [start(1, V6A)]);
}

#[test]
fn an_alias_whose_target_never_answers_costs_the_resolution_delay() {
    let mut sim = v3();
    sim.services(1, HTTPS, vec![ServiceInfo::alias("cdn.example")]);
    sim.answer(2, AAAA, &[V6A]);
    assert_eq!(sim.services(3, 3, vec![origin_h2()]), []);
    // cdn.example's AAAA and A never come: the origin's own address, 50 ms after it
    // came.
    assert_eq!(sim.run_until(100), [(52, start(0, V6A))]);
}

#[test]
fn an_alias_loop_is_not_followed_and_the_origin_is_dialed() {
    let mut sim = v3();
    sim.services(1, HTTPS, vec![ServiceInfo::alias("a.example")]);
    sim.answer(2, AAAA, &[V6A]);
    // a.example points back to itself: the chain is broken, and the origin's own
    // answer starts the race at once.
    assert_eq!(
        sim.services(3, 3, vec![ServiceInfo::alias("a.example")]),
        [start(0, V6A)]
    );
    assert_eq!(
        sim.race.queries()[3].services[0].verdict,
        Verdict::AliasLoop
    );
}

#[test]
fn an_alias_chain_is_followed_only_so_far() {
    let mut sim = v3();
    let mut query = HTTPS;
    for hop in 0..=MAX_ALIAS_CHAIN {
        let name = format!("hop{hop}.example");
        sim.services(hop as u64, query, vec![ServiceInfo::alias(&name)]);
        query = sim.race.queries().len() - 3;
        if hop < MAX_ALIAS_CHAIN {
            assert_eq!(sim.race.query_name(query), Some(name.as_str()));
        }
    }
    let last = sim
        .race
        .queries()
        .iter()
        .rfind(|q| q.query == Https)
        .unwrap();
    assert_eq!(last.services[0].verdict, Verdict::AliasChainTooLong);
    assert_eq!(
        sim.race
            .queries()
            .iter()
            .filter(|q| q.query == Https)
            .count(),
        MAX_ALIAS_CHAIN + 1
    );
}

#[test]
fn an_alias_to_dot_says_no_service_and_the_origin_is_dialed() {
    let mut sim = v3();
    let mut nothing = ServiceInfo::alias("x");
    nothing.target = None;
    sim.answer(1, AAAA, &[V6A]);
    assert_eq!(sim.services(2, HTTPS, vec![nothing]), [start(0, V6A)]);
    assert_eq!(
        sim.race.queries()[HTTPS].services[0].verdict,
        Verdict::AliasToNothing
    );
}

#[test]
fn an_alias_target_without_records_is_dialed_as_a_cname_before_the_origin() {
    let mut sim = v3();
    sim.services(1, HTTPS, vec![ServiceInfo::alias("cdn.example")]);
    sim.answer(2, AAAA, &[V6A]);
    sim.services_fail(3, 3, NoData);
    assert_eq!(sim.answer(4, 4, &[V6B]), [start(0, V6B)]);
    assert_eq!(sim.fail(5, 0), [start(1, V6A)]);
    assert_eq!(sim.alpns(), [None, None]);
}

#[test]
fn a_service_record_beside_an_alias_is_skipped() {
    let mut sim = v3();
    let beside = origin_h2().with_port(8443);
    sim.services(1, HTTPS, vec![beside, ServiceInfo::alias("cdn.example")]);
    let verdicts: Vec<_> = sim.race.queries()[HTTPS]
        .services
        .iter()
        .map(|r| r.verdict)
        .collect();
    assert_eq!(verdicts, [Verdict::BesideAlias, Verdict::Alias]);
}

#[test]
fn at_most_four_target_names_are_asked() {
    let mut sim = v3_with(HappyEyeballsOptions::default(), Protocols::TCP, 0);
    let records = (0..=MAX_TARGETS as u16)
        .map(|i| {
            ServiceInfo::service(1 + i, Some(&format!("t{i}.example")))
                .with_hints([ip("192.0.2.1")])
                .with_port(8000 + i)
        })
        .collect();
    sim.services(1, HTTPS, records);
    let asked: std::collections::BTreeSet<_> = (3..sim.race.queries().len())
        .filter_map(|q| sim.race.query_name(q))
        .collect();
    assert_eq!(asked.len(), MAX_TARGETS);
    let services = &sim.race.queries()[HTTPS].services;
    assert_eq!(services[MAX_TARGETS].verdict, Verdict::TooManyTargets);
    assert_eq!(services[MAX_TARGETS].rank, None);
}

// ---- the rest of the race's rules still hold ----

#[test]
fn a_requested_family_keeps_only_its_hints() {
    let options = HappyEyeballsOptions::default();
    let mut sim = Sim::resolving(&[Https, A], options, Some(AddressFamily::V4), secs(10));
    sim.events();
    let record = origin_h2().with_hints([ip("2001:db8::a"), ip("192.0.2.1")]);
    assert_eq!(sim.services(4, HTTPS, vec![record]), [start(0, V4A)]);
    assert_eq!(sim.race.plan().attempts().len(), 1);
}

#[test]
fn with_racing_disabled_every_query_is_waited_for_https_too() {
    let options = HappyEyeballsOptions::default().with_enable(false);
    let mut sim = v3_with(options, Protocols::TCP, 0);
    sim.answer(1, AAAA, &[V6A]);
    sim.answer(2, A4, &[V4A]);
    assert_eq!(sim.services(90, HTTPS, vec![origin_h2()]), [start(0, V6A)]);
    assert_eq!(sim.fail(91, 0), [start(1, V4A)]);
}

#[test]
fn only_hints_and_failed_address_queries_still_connect() {
    let mut sim = v3();
    sim.answer_fail(1, AAAA, ServFail);
    sim.answer_fail(2, A4, ServFail);
    let record = origin_h2().with_hints([ip("192.0.2.1")]);
    assert_eq!(sim.services(3, HTTPS, vec![record]), [start(0, V4A)]);
    assert_eq!(sim.connect(4, 0), [won(0)]);
}

#[test]
fn an_https_failure_alone_does_not_make_a_name_unresolved() {
    let mut sim = v3();
    sim.services_fail(1, HTTPS, ServFail);
    sim.answer_fail(2, AAAA, NoData);
    assert_eq!(
        sim.answer_fail(3, A4, NoData),
        [finished(Outcome::NoAddresses)]
    );
}

// ---- how the report tells it ----

#[test]
fn a_record_reads_in_presentation_format_and_the_report_says_what_became_of_it() {
    let record = ServiceInfo::service(1, None)
        .with_mandatory([key::ALPN, 65_000])
        .with_alpn(["h2", "h3"])
        .with_no_default_alpn()
        .with_port(8443)
        .with_hints([ip("192.0.2.1"), ip("2001:db8::a")])
        .with_ech(vec![0; 45]);
    assert_eq!(
        record.to_string(),
        "1 . mandatory=alpn,key65000 alpn=h2,h3 no-default-alpn port=8443 \
         ipv4hint=192.0.2.1 ech=(45 bytes) ipv6hint=2001:db8::a"
    );
    assert_eq!(
        ServiceInfo::alias("cdn.example").to_string(),
        "0 cdn.example"
    );
    let mut sim = v3();
    sim.services(3, HTTPS, vec![record, origin_h2()]);
    let https = &sim.race.queries()[HTTPS];
    assert_eq!(https.to_string(), "HTTPS +0ms..+3ms 2 records");
    let told = format!("{https:#}");
    assert!(
        told.contains("\n    1 . mandatory=alpn,key65000 alpn=h2,h3 no-default-alpn port=8443")
            && told.contains(": skipped: it requires key65000, which is not understood")
            && told.contains("\n    1 . alpn=h2: used (h2,http/1.1)"),
        "{told}"
    );
}

// ---- the edges mutation testing found untested ----

#[test]
fn protocol_sets_hold_what_their_names_say() {
    assert_eq!(Protocols::TCP, Protocols::H2.union(Protocols::HTTP_1_1));
    for p in [
        Protocols::H3,
        Protocols::H2,
        Protocols::HTTP_1_1,
        Protocols::TCP,
    ] {
        assert!(Protocols::ALL.contains(p));
        assert_eq!(p.union(p), p, "a union with itself is itself");
    }
    assert!(!Protocols::TCP.contains(Protocols::H3));
    assert_eq!(Protocols::of_alpns(["http/1.1"]), Protocols::HTTP_1_1);
    assert_eq!(Protocols::of_alpns(["h3", "x-unknown"]), Protocols::H3);
    assert_eq!(format!("{:?}", Protocols::TCP), r#"{"h2", "http/1.1"}"#);
    assert_eq!(Protocols::NONE.to_string(), "-");
}

#[test]
fn the_shuffle_of_a_seed_is_fixed() {
    // Four records of one priority: each seed orders them one way, always the same.
    let records: Vec<ServiceInfo> = (0..4)
        .map(|i| ServiceInfo::service(1, None).with_port(i))
        .collect();
    let orders: Vec<Vec<usize>> = (0..4)
        .map(|seed| turbohttp_proto::service::order_services(&records, |_| true, seed))
        .collect();
    assert_eq!(
        orders,
        [[3, 1, 2, 0], [2, 0, 3, 1], [1, 3, 0, 2], [0, 2, 1, 3]]
    );
}

#[test]
fn a_repeated_or_misdirected_https_answer_is_ignored() {
    let mut sim = v3();
    sim.services(1, HTTPS, vec![origin_h2().with_port(8443)]);
    // The same query again, and an address query's number: no effect.
    sim.services(2, HTTPS, vec![origin_h2().with_port(9443)]);
    sim.services(3, AAAA, vec![origin_h2().with_port(9443)]);
    assert_eq!(sim.race.queries()[HTTPS].services[0].info.port, Some(8443));
    assert_eq!(sim.race.queries()[AAAA].outcome.as_str(), "pending");
    assert_eq!(
        sim.answer(4, AAAA, &[V6A]),
        [start(0, "[2001:db8::a]:8443")]
    );
}

#[test]
fn a_requested_family_asks_only_that_family_of_a_target() {
    let options = HappyEyeballsOptions::default();
    let mut sim = Sim::resolving(&[Https, A], options, Some(AddressFamily::V4), secs(10));
    sim.events();
    let alt = ServiceInfo::service(1, Some("alt.example")).with_alpn(["h2"]);
    assert_eq!(sim.services(1, HTTPS, vec![alt]), [resolve(2, A)]);
    assert_eq!(sim.race.query_name(2), Some("alt.example"));
}

#[test]
fn an_alias_targets_late_address_is_dialed_after_the_origins() {
    let mut sim = v3();
    sim.services(1, HTTPS, vec![ServiceInfo::alias("cdn.example")]);
    sim.answer(2, AAAA, &[V6A]);
    sim.services_fail(3, 3, NoData);
    // cdn.example's addresses are late: the origin's goes first, after the delay.
    assert_eq!(sim.run_until(60), [(52, start(0, V6A))]);
    assert_eq!(sim.answer(70, 4, &[V6B]), []);
    assert_eq!(sim.fail(71, 0), [start(1, V6B)]);
    // Its A answer too (the other family: after the head start, or a failure).
    assert_eq!(sim.answer(72, 5, &[V4B]), []);
    assert_eq!(sim.fail(73, 1), [start(2, V4B)]);
    // The origin's A query may still bring an address: the race waits for it.
    assert_eq!(sim.fail(74, 2), []);
    assert_eq!(
        sim.answer_fail(75, A4, NoData),
        [finished(Outcome::AllAttemptsFailed)]
    );
}

#[test]
fn a_requested_familys_answer_starts_the_race_once_the_records_are_in() {
    let options = HappyEyeballsOptions::default();
    let mut sim = Sim::resolving(&[Https, A], options, Some(AddressFamily::V4), secs(10));
    sim.events();
    let record = origin_h2().with_hints([ip("2001:db8::c")]);
    assert_eq!(sim.services(5, HTTPS, vec![record]), []);
    // The IPv6 hint is of no use to a -4 race; the A answer is, at once.
    assert_eq!(sim.answer(10, 1, &[V4A]), [start(0, V4A)]);
}

#[test]
fn a_hint_of_the_other_family_is_no_answer_for_a_requested_family() {
    let options = HappyEyeballsOptions::default();
    let mut sim = Sim::resolving(&[Https, A], options, Some(AddressFamily::V4), secs(10));
    sim.events();
    sim.services(5, HTTPS, vec![origin_h2().with_hints([ip("2001:db8::c")])]);
    // The A answer never comes: nothing is known, nothing waits a delay.
    assert_eq!(sim.run_until(100), []);
    assert_eq!(sim.race.first_answer(), None);
}

#[test]
fn the_ipv4_hints_stand_in_while_only_aaaa_has_answered() {
    let mut sim = v3();
    sim.answer(1, AAAA, &[V6A]);
    let record = origin_h2().with_hints([ip("2001:db8::b"), ip("192.0.2.9")]);
    assert_eq!(sim.services(2, HTTPS, vec![record]), [start(0, V6A)]);
    // AAAA replaced the IPv6 hint; the IPv4 hint stands in for A.
    assert_eq!(sim.run_until(300), [(252, start(1, "192.0.2.9:443"))]);
}

#[test]
fn a_lookup_of_every_family_with_an_https_query_takes_the_records_port() {
    let t0 = Instant::now();
    let options = HappyEyeballsOptions::default();
    let race = Race::resolving(&options, None, &[Https, AddrInfo], t0, t0 + secs(10))
        .with_services(443, Protocols::TCP, 0);
    let mut sim = Sim {
        race,
        t0,
        now: Cell::new(0),
    };
    sim.events();
    sim.services(1, HTTPS, vec![origin_h2().with_port(8443)]);
    assert_eq!(
        sim.answer(2, 1, &[V4A, V6A]),
        [start(0, "[2001:db8::a]:8443")]
    );
}

#[test]
fn where_an_alias_led_its_own_addresses_are_not_endpoints_when_its_records_name_another() {
    let mut sim = v3();
    sim.services(1, HTTPS, vec![ServiceInfo::alias("cdn.example")]);
    let alt = ServiceInfo::service(1, Some("alt.example")).with_hints([ip("2001:db8::c")]);
    // cdn.example's records send the race to alt.example (queries 6 and 7); alt's
    // hint starts it.
    assert_eq!(
        sim.services(2, 3, vec![alt]),
        [
            resolve(6, Aaaa),
            resolve(7, A),
            start(0, "[2001:db8::c]:443")
        ]
    );
    assert_eq!(sim.answer(3, AAAA, &[V6A]), []);
    assert_eq!(sim.answer(4, 4, &[V6B]), []);
    // cdn.example's address (query 4) was not planned: ::c, then the origin's ::a.
    assert_eq!(sim.fail(5, 0), [start(1, V6A)]);
    assert_eq!(sim.race.plan().attempts().len(), 2);
}

#[test]
fn a_requested_familys_answer_is_the_services_address() {
    let options = HappyEyeballsOptions::default();
    // An AAAA query still out (a caller may send one with -4): not waited for.
    let queries = [Https, A, Aaaa];
    let mut sim = Sim::resolving(&queries, options, Some(AddressFamily::V4), secs(10));
    sim.events();
    sim.services(5, HTTPS, vec![origin_h2()]);
    assert_eq!(sim.answer(10, 1, &[V4A]), [start(0, V4A)]);
}

// ---- bounds on what an answer can make the race do ----

#[test]
fn at_most_sixteen_records_are_used_and_sixteen_hints_of_a_family_each() {
    let mut sim = v3_wide();
    let many_hints = (1..=20u8).map(|i| IpAddr::from([192, 0, 2, i]));
    let mut records = vec![origin_h2().with_port(9000).with_hints(many_hints)];
    let second = |i| ServiceInfo::service(2, None).with_port(9000 + i);
    records.extend((1..20u16).map(second));
    sim.services(1, HTTPS, records);
    sim.answer_fail(2, AAAA, NoData);
    let services = &sim.race.queries()[HTTPS].services;
    let skipped = services
        .iter()
        .filter(|r| r.verdict == Verdict::TooManyRecords)
        .count();
    assert_eq!(skipped, 20 - turbohttp_proto::service::MAX_SERVICES);
    let hinted = sim
        .race
        .plan()
        .addresses()
        .filter(|a| a.port() == 9000)
        .count();
    assert_eq!(hinted, turbohttp_proto::service::MAX_HINTS);
}

#[test]
fn a_failed_address_query_leaves_the_hints_of_its_family_standing() {
    let mut sim = v3();
    let record = origin_h2().with_hints([ip("2001:db8::a"), ip("192.0.2.9")]);
    assert_eq!(sim.services(0, HTTPS, vec![record]), [start(0, V6A)]);
    // SERVFAIL for A after the race started: the IPv4 hint is still dialed.
    assert_eq!(sim.answer_fail(20, A4, ServFail), []);
    assert_eq!(sim.run_until(300), [(250, start(1, "192.0.2.9:443"))]);
}

#[test]
fn names_differing_in_case_are_one_name() {
    let mut sim = v3();
    sim.services(1, HTTPS, vec![ServiceInfo::alias("CDN.example")]);
    assert_eq!(sim.race.query_name(3), Some("cdn.example"));
    sim.services(2, 3, vec![ServiceInfo::alias("cdn.EXAMPLE")]);
    assert_eq!(
        sim.race.queries()[3].services[0].verdict,
        Verdict::AliasLoop
    );
}

// ---- ECH (RFC 9848, RFC 9849) ----

/// An ECHConfigList as a record carries it (the race only passes it on).
const ECH: &[u8] = &[0, 4, 0xfe, 0x0d, 0, 0];

/// As [`v3_wide`], for a caller that can (`ech`) or cannot use ECH.
fn v3_ech(ech: bool) -> Sim {
    let options = HappyEyeballsOptions::default().with_max_concurrent_attempts(4);
    let mut sim = v3_with(options, Protocols::TCP, 0);
    sim.race = sim.race.with_ech(ech);
    sim
}

fn echs(sim: &Sim) -> Vec<bool> {
    sim.race.records().iter().map(|r| r.ech).collect()
}

#[test]
fn records_with_ech_are_tried_first_and_their_attempts_offer_it() {
    // Priority 1 without ECH at port 1001, priority 2 with it at port 1002.
    let records = || {
        vec![
            origin_h2().with_port(1001),
            ServiceInfo::service(2, None)
                .with_alpn(["h2"])
                .with_port(1002)
                .with_ech(ECH.to_vec()),
        ]
    };
    let mut sim = v3_ech(true);
    sim.services(5, HTTPS, records());
    sim.answer_fail(6, AAAA, NoData);
    // One family: one attempt at a time, the next when the first fails.
    assert_eq!(sim.answer(7, A4, &[V4A]), [start(0, "192.0.2.1:1002")]);
    assert_eq!(sim.fail(20, 0), [start(1, "192.0.2.1:1001")]);
    assert_eq!(echs(&sim), [true, false]);
    assert_eq!(sim.race.ech_config(0), Some(ECH));
    assert_eq!(sim.race.ech_config(1), None);
    let https = &sim.race.queries()[HTTPS].services;
    assert_eq!((https[0].rank, https[1].rank), (Some(1), Some(0)));

    // A caller without ECH keeps the records' priorities and offers none.
    let mut sim = v3_ech(false);
    sim.services(5, HTTPS, records());
    sim.answer_fail(6, AAAA, NoData);
    assert_eq!(sim.answer(7, A4, &[V4A]), [start(0, "192.0.2.1:1001")]);
    assert_eq!(sim.fail(20, 0), [start(1, "192.0.2.1:1002")]);
    assert_eq!(echs(&sim), [false, false]);
    assert_eq!(sim.race.ech_config(1), None);
}

/// A record of `cdn.example` (queries 3 and 4 ask its AAAA and A) with an IPv4 hint,
/// and ECH if `ech`.
fn cdn(ech: bool) -> ServiceInfo {
    let info = ServiceInfo::service(1, Some("cdn.example"))
        .with_alpn(["h2"])
        .with_hints([ip("192.0.2.9")]);
    if ech {
        info.with_ech(ECH.to_vec())
    } else {
        info
    }
}

#[test]
fn when_every_record_has_ech_the_origins_own_addresses_are_never_dialed() {
    let mut sim = v3_ech(true);
    assert_eq!(sim.answer(2, A4, &[V4A]), []);
    sim.answer_fail(3, AAAA, NoData);
    assert_eq!(
        sim.services(5, HTTPS, vec![cdn(true)]),
        [resolve(3, Aaaa), resolve(4, A), start(0, "192.0.2.9:443")]
    );
    sim.answer_fail(6, 3, NoData);
    assert_eq!(sim.fail(20, 0), []);
    // Nothing else is dialed: the race ends with cdn.example's last answer.
    assert_eq!(
        sim.answer_fail(30, 4, NoData),
        [finished(Outcome::AllAttemptsFailed)]
    );
    assert_eq!(echs(&sim), [true]);

    // Without ECH, or with one record without it, the origin's address is the
    // fallback, last.
    for (ech, records) in [
        (false, vec![cdn(true)]),
        (true, vec![cdn(true), cdn(false).with_port(8443)]),
    ] {
        let mut sim = v3_ech(ech);
        sim.answer(2, A4, &[V4A]);
        sim.answer_fail(3, AAAA, NoData);
        assert_eq!(
            sim.services(5, HTTPS, records).last(),
            Some(&start(0, "192.0.2.9:443"))
        );
        sim.answer_fail(6, 3, NoData);
        sim.answer_fail(7, 4, NoData);
        // One family: one at a time; each fails and the next starts, V4A last.
        let mut dialed = vec![];
        let mut last = 0;
        loop {
            let events = sim.fail(10 + last as u64, last);
            if events == [finished(Outcome::AllAttemptsFailed)] || last == 9 {
                break;
            }
            dialed.extend(events);
            last += 1;
        }
        assert_eq!(dialed.last(), Some(&start(last, V4A)), "{ech}");
    }
}

#[test]
fn an_ech_answer_after_the_delay_drops_the_origins_planned_endpoints() {
    let mut sim = v3_ech(true);
    sim.answer(10, AAAA, &[V6A]);
    sim.answer(12, A4, &[V4A]);
    assert_eq!(sim.tick(60), [start(0, V6A)]);
    // The records say ECH everywhere: V4A, due at 310, never starts; the running
    // V6A attempt goes on.
    assert_eq!(
        sim.services(100, HTTPS, vec![cdn(true)]),
        [resolve(3, Aaaa), resolve(4, A)]
    );
    // The hint waits the head start IPv6's attempt at 60 began, as V4A would have.
    assert_eq!(sim.run_until(1000), [(310, start(1, "192.0.2.9:443"))]);
    assert_eq!(echs(&sim), [false, true]);
}

// ---- what a review found ----

#[test]
fn a_retired_hint_is_still_dialed_when_another_targets_answer_carries_it() {
    let mut sim = v3_wide();
    let origin = origin_h2().with_hints([ip("2001:db8::a"), ip("192.0.2.9")]);
    let alt = ServiceInfo::service(2, Some("alt.example")).with_alpn(["h2"]);
    assert_eq!(
        sim.services(0, HTTPS, vec![origin, alt]),
        [resolve(3, Aaaa), resolve(4, A), start(0, V6A)]
    );
    // The origin's A answer lacks 192.0.2.9: the hint (due at 250) goes, 192.0.2.1
    // comes in its place.
    assert_eq!(sim.answer(10, A4, &[V4A]), []);
    // alt.example's A answer carries 192.0.2.9: an endpoint of its own record, one
    // spacing after the planned IPv4 (250 + 125).
    assert_eq!(sim.answer(20, 4, &["192.0.2.9:443"]), []);
    sim.answer_fail(21, AAAA, NoData);
    sim.answer_fail(22, 3, NoData);
    assert_eq!(
        sim.run_until(400),
        [(250, start(1, V4A)), (375, start(2, "192.0.2.9:443"))]
    );
    let services: Vec<_> = sim.race.records().iter().map(|r| r.service).collect();
    assert_eq!(services, [Some(0), Some(0), Some(1)]);
}

#[test]
fn queries_for_a_name_the_alias_chain_moved_on_from_do_not_hold_the_race() {
    let mut sim = v3();
    sim.services(1, HTTPS, vec![ServiceInfo::alias("a.example")]);
    sim.answer(2, AAAA, &[V6A]);
    sim.answer_fail(2, A4, NoData);
    // a.example leads on to b.example: a.example's AAAA (4) and A (5) are out of
    // the chain, whatever they answer.
    assert_eq!(
        sim.services(3, 3, vec![ServiceInfo::alias("b.example")]),
        [resolve(6, Https), resolve(7, Aaaa), resolve(8, A)]
    );
    sim.services_fail(4, 6, NoData);
    assert_eq!(sim.answer(5, 7, &[V6B]), [start(0, V6B)]);
    // A late answer for a.example is kept in the report and dials nothing.
    assert_eq!(sim.answer(6, 4, &[V6C]), []);
    assert_eq!(sim.answer_fail(6, 8, NoData), []);
    assert_eq!(sim.fail(7, 0), [start(1, V6A)]);
    // a.example's A never answers: the race ends when the last attempt fails.
    assert_eq!(sim.fail(8, 1), [finished(Outcome::AllAttemptsFailed)]);
    let log = sim.query_log();
    assert_eq!(log[4], (Aaaa, 1, Some(6), "answered"));
    assert_eq!(log[5], (A, 1, Some(8), "cancelled"));
    assert_eq!(sim.race.plan().attempts().len(), 2);
}

#[test]
fn with_no_address_anywhere_a_query_the_chain_left_does_not_make_the_name_unresolved() {
    let mut sim = v3();
    sim.services(1, HTTPS, vec![ServiceInfo::alias("a.example")]);
    sim.answer_fail(2, AAAA, NoData);
    sim.answer_fail(2, A4, NoData);
    sim.services(3, 3, vec![ServiceInfo::alias("b.example")]);
    sim.services_fail(4, 6, NoData);
    sim.answer_fail(5, 7, NoData);
    // a.example's AAAA and A never answer: every name still in the chain has none.
    assert_eq!(
        sim.answer_fail(6, 8, NoData),
        [finished(Outcome::NoAddresses)]
    );
}

#[test]
fn an_alias_back_to_the_origin_is_a_loop_at_once() {
    let mut sim = v3_of("Example.COM", 443);
    assert_eq!(sim.answer(1, AAAA, &[V6A]), []);
    // The origin's own name (in any case): not asked again, the chain is broken and
    // the origin's own answer starts the race at once.
    assert_eq!(
        sim.services(2, HTTPS, vec![ServiceInfo::alias("example.com")]),
        [start(0, V6A)]
    );
    assert_eq!(
        sim.race.queries()[HTTPS].services[0].verdict,
        Verdict::AliasLoop
    );
    assert_eq!(sim.race.queries().len(), 3);
    assert_eq!(sim.answer(3, A4, &[V4A]), []);
    assert_eq!(sim.run_until(300), [(252, start(1, V4A))]);
    assert_eq!(sim.alpns(), [None, None]);
}

#[test]
fn an_alias_chain_that_leads_back_to_the_origin_is_a_loop() {
    let mut sim = v3_of("example.com", 443);
    sim.services(1, HTTPS, vec![ServiceInfo::alias("x.example")]);
    assert_eq!(sim.answer(2, AAAA, &[V6A]), []);
    // x.example points back to the origin: a loop, and the origin's own answer
    // starts the race at once (x.example's AAAA and A are no longer waited for).
    assert_eq!(
        sim.services(3, 3, vec![ServiceInfo::alias("example.com")]),
        [start(0, V6A)]
    );
    assert_eq!(
        sim.race.queries()[3].services[0].verdict,
        Verdict::AliasLoop
    );
    assert_eq!(sim.race.queries().len(), 6);
    assert_eq!(sim.answer(4, A4, &[V4A]), []);
    assert_eq!(sim.run_until(300), [(253, start(1, V4A))]);
    assert_eq!(sim.fail(301, 0), []);
    assert_eq!(sim.fail(302, 1), [finished(Outcome::AllAttemptsFailed)]);
}

#[test]
fn off_port_443_the_origins_name_is_the_one_its_https_query_asks() {
    // `_8443._https.example.com` is the origin's HTTPS name: an alias to it loops,
    // one to `example.com` is another name (its own records), followed.
    let mut sim = v3_of("example.com", 8443);
    let back = ServiceInfo::alias("_8443._https.example.com");
    sim.services(1, HTTPS, vec![back]);
    assert_eq!(
        sim.race.queries()[HTTPS].services[0].verdict,
        Verdict::AliasLoop
    );
    let mut sim = v3_of("example.com", 8443);
    assert_eq!(
        sim.services(1, HTTPS, vec![ServiceInfo::alias("example.com")]),
        [resolve(3, Https), resolve(4, Aaaa), resolve(5, A)]
    );
    assert_eq!(
        sim.race.queries()[HTTPS].services[0].verdict,
        Verdict::Alias
    );
}

#[test]
fn an_alternative_elsewhere_does_not_keep_a_name_the_chain_left_in_the_race() {
    // As above, with an Alt-Svc alternative at an IP literal: it names no host, so it
    // keeps no query of a.example alive.
    let alt = turbohttp_proto::alt_svc::AltService::new("h2", Some("192.0.2.77"), Some(8443));
    let mut sim = v3();
    sim.race = sim.race.with_alternatives(443, Protocols::TCP, vec![alt]);
    assert_eq!(
        sim.services(1, HTTPS, vec![ServiceInfo::alias("a.example")]),
        [
            resolve(3, Https),
            resolve(4, Aaaa),
            resolve(5, A),
            start(0, "192.0.2.77:8443")
        ]
    );
    sim.answer(2, AAAA, &[V6A]);
    sim.answer_fail(2, A4, NoData);
    sim.services(3, 3, vec![ServiceInfo::alias("b.example")]);
    sim.services_fail(4, 6, NoData);
    sim.answer(5, 7, &[V6B]);
    sim.answer_fail(6, 8, NoData);
    let mut events = Vec::new();
    for (at, attempt) in [(7, 0), (8, 1), (9, 2)] {
        events.extend(sim.fail(at, attempt));
    }
    // a.example's AAAA and A never answer: the race ends with its last attempt.
    assert_eq!(
        events,
        [start(2, V6B), finished(Outcome::AllAttemptsFailed)]
    );
    let dialed: Vec<String> = sim
        .race
        .records()
        .iter()
        .map(|r| r.endpoint.to_string())
        .collect();
    assert_eq!(dialed, ["192.0.2.77:8443", V6A, V6B]);
}
