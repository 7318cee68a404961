//! The planner on its own: which addresses, in what order, due when; and the
//! per-attempt budget. Pure functions, no race.

mod support;

use std::net::{SocketAddr, SocketAddrV6};
use std::time::Duration;

use support::*;
use turbohttp_proto::plan::{
    MIN_ATTEMPT_BUDGET, Mode, Plan, PlanError, attempt_budget, endpoint_key, unique,
};
use turbohttp_proto::{AddressFamily, HappyEyeballsOptions};

fn default() -> HappyEyeballsOptions {
    HappyEyeballsOptions::default()
}

/// `(address, due ms)` of every planned attempt, in plan order.
fn layout(plan: &Plan) -> Vec<(String, u64)> {
    plan.attempts()
        .iter()
        .map(|a| (a.addr.to_string(), a.offset().as_millis() as u64))
        .collect()
}

fn row(a: &str, due: u64) -> (String, u64) {
    (a.to_owned(), due)
}

fn plan(list: &[&str], options: HappyEyeballsOptions) -> Plan {
    Plan::new(&addrs(list), &options, None).unwrap()
}

// ---- Plan::new: one answer with every family ----

#[test]
fn families_are_split_spaced_staggered_and_merged_preferred_first_on_ties() {
    let plan = plan(&[V4A, V6A, V4B, V6B, V6C], default());
    assert_eq!(plan.mode(), Mode::Race);
    assert_eq!(
        layout(&plan),
        [
            row(V6A, 0),
            row(V6B, 125),
            row(V6C, 250),
            row(V4A, 250),
            row(V4B, 375),
        ]
    );
    let families: Vec<_> = plan.attempts().iter().map(|a| a.family).collect();
    use AddressFamily::{V4, V6};
    assert_eq!(families, [V6, V6, V6, V4, V4]);
    assert_eq!((plan.count(V6), plan.count(V4)), (3, 2));
    assert_eq!(plan.preferred(), V6);
    let listed: Vec<SocketAddr> = plan.addresses().collect();
    assert_eq!(listed, addrs(&[V6A, V6B, V6C, V4A, V4B]));
}

#[test]
fn preferring_ipv4_swaps_the_roles() {
    let plan = plan(&[V6A, V6B, V4A], options(|o| o.prefer_ipv6 = false));
    assert_eq!(plan.preferred(), AddressFamily::V4);
    assert_eq!(layout(&plan), [row(V4A, 0), row(V6A, 250), row(V6B, 375)]);
}

#[test]
fn following_the_resolver_the_first_address_leads() {
    let plan = plan(&[V4A, V6A], options(|o| o.follow_resolver_order = true));
    assert_eq!(plan.preferred(), AddressFamily::V4);
    assert_eq!(layout(&plan), [row(V4A, 0), row(V6A, 250)]);
}

#[test]
fn first_address_family_count_moves_the_head_start() {
    let list = [V6A, V6B, V6C, V4A];
    let count = |n| plan(&list, options(|o| o.first_address_family_count = n));
    // Counted from the second IPv6 attempt (125) then the third (250).
    assert_eq!(layout(&count(2))[3], row(V4A, 375));
    assert_eq!(layout(&count(3))[3], row(V4A, 500));
    // More than there are: counted from the last.
    assert_eq!(layout(&count(9))[3], row(V4A, 500));
    // 0 is refused by `validate`; the planner reads it as 1 rather than panic.
    assert_eq!(layout(&count(0)), layout(&count(1)));
    assert_eq!(layout(&count(1))[1], row(V6B, 125));
    assert_eq!(layout(&count(1))[3], row(V4A, 250));
}

#[test]
fn a_single_family_is_sequential_in_resolver_order() {
    let plan = plan(&[V4B, V4A], default());
    assert_eq!((plan.mode(), plan.max_in_flight()), (Mode::Sequential, 1));
    // The offsets are the race schedule, should the other family join later.
    assert_eq!(layout(&plan), [row(V4B, 0), row(V4A, 125)]);
    let plan = self::plan(&[V6B, V6A], default());
    assert_eq!(plan.mode(), Mode::Sequential);
}

#[test]
fn racing_disabled_is_sequential_in_resolver_order_all_due_at_once() {
    let plan = plan(&[V4A, V6A, V4B], HappyEyeballsOptions::sequential());
    assert_eq!((plan.mode(), plan.max_in_flight()), (Mode::Sequential, 1));
    assert_eq!(layout(&plan), [row(V4A, 0), row(V6A, 0), row(V4B, 0)]);
    // Plan order is resolver order: the order key ignores family and time.
    assert_eq!(plan.order_key(1), (Duration::ZERO, false, 1));
}

#[test]
fn two_families_racing_may_fill_the_cap() {
    let plan = plan(&[V6A, V4A], options(|o| o.max_concurrent_attempts = 5));
    assert_eq!(plan.max_in_flight(), 5);
    assert_eq!(plan.options().max_concurrent_attempts, 5);
}

#[test]
fn the_order_key_is_due_time_then_preferred_family_then_plan_index() {
    let plan = plan(&[V6A, V6B, V6C, V4A], default());
    assert_eq!(plan.order_key(0), (ms(0), false, 0));
    assert_eq!(plan.order_key(2), (ms(250), false, 2));
    assert_eq!(plan.order_key(3), (ms(250), true, 3));
}

#[test]
fn only_exact_duplicates_are_dropped_first_kept() {
    let plan = plan(
        &[
            "[::1]:80",
            "127.0.0.1:80",
            "[::1]:80",
            "127.0.0.1:81",
            "127.0.0.1:80",
        ],
        default(),
    );
    let kept: Vec<String> = plan.addresses().map(|a| a.to_string()).collect();
    assert_eq!(kept, ["[::1]:80", "127.0.0.1:80", "127.0.0.1:81"]);
}

#[test]
fn the_requested_family_filters_and_may_leave_nothing() {
    let plan = Plan::new(&addrs(&[V4A, V6A]), &default(), Some(AddressFamily::V4)).unwrap();
    assert_eq!(layout(&plan), [row(V4A, 0)]);
    assert_eq!(plan.requested(), Some(AddressFamily::V4));
    assert_eq!(
        Plan::new(&addrs(&[V4A]), &default(), Some(AddressFamily::V6)),
        Err(PlanError::FamilyUnavailable)
    );
    assert_eq!(
        Plan::new(&[], &default(), None),
        Err(PlanError::NoAddresses)
    );
}

// ---- a plan that grows, answer by answer ----

#[test]
fn an_empty_plan_has_no_head_start_and_is_sequential() {
    let plan = Plan::empty(&default(), None);
    assert!(plan.attempts().is_empty());
    assert_eq!(plan.head_start(), None);
    assert_eq!(plan.base_for_other(ms(70)), ms(70));
    assert_eq!((plan.mode(), plan.max_in_flight()), (Mode::Sequential, 1));
    assert_eq!(plan.preferred(), AddressFamily::V6);
    assert_eq!(plan.requested(), None);
}

#[test]
fn accept_keeps_new_addresses_of_the_requested_family_once() {
    let mut plan = Plan::empty(&default(), Some(AddressFamily::V6));
    let kept = plan.accept(addrs(&[V6A, V4A, V6A, V6B]).into_iter());
    assert_eq!(kept, addrs(&[V6A, V6B]));
    // Seen already, even though not scheduled.
    let kept = plan.accept(addrs(&[V6B, V6C]).into_iter());
    assert_eq!(kept, addrs(&[V6C]));
    assert!(plan.attempts().is_empty());
}

#[test]
fn schedule_spaces_after_the_family_latest_attempt() {
    let mut plan = Plan::empty(&default(), None);
    plan.schedule(&addrs(&[V6A, V6B]), ms(20));
    // A later answer of the same family: a spacing after the latest (145), or its
    // own arrival if later.
    plan.schedule(&addrs(&[V6C]), ms(100));
    plan.schedule(&addrs(&["[2001:db8::d]:443"]), ms(900));
    assert_eq!(
        layout(&plan),
        [
            row(V6A, 20),
            row(V6B, 145),
            row(V6C, 270),
            row("[2001:db8::d]:443", 900)
        ]
    );
}

#[test]
fn the_head_start_counts_from_the_preferred_family_first_attempt() {
    let mut plan = Plan::empty(&default(), None);
    plan.schedule(&addrs(&[V6A, V6B]), ms(20));
    assert_eq!(plan.head_start(), Some(ms(270)));
    assert_eq!(plan.base_for_other(ms(100)), ms(270));
    assert_eq!(plan.base_for_other(ms(300)), ms(300));
    // Only the preferred family counts.
    let mut other = Plan::empty(&default(), None);
    other.schedule(&addrs(&[V4A]), ms(20));
    assert_eq!(other.head_start(), None);
}

#[test]
fn an_answer_of_the_other_family_alone_waits_for_the_head_start_unless_idle() {
    let mut plan = Plan::empty(&default(), None);
    let v6 = plan.accept(addrs(&[V6A]).into_iter());
    plan.schedule_answer(&v6, ms(10), true);
    let v4 = plan.accept(addrs(&[V4A]).into_iter());
    plan.schedule_answer(&v4, ms(50), false);
    assert_eq!(layout(&plan), [row(V6A, 10), row(V4A, 260)]);
    // The preferred family has nothing left to try: the other goes at once.
    let v4 = plan.accept(addrs(&[V4B]).into_iter());
    plan.schedule_answer(&v4, ms(60), true);
    assert_eq!(layout(&plan)[2], row(V4B, 385));
    let mut idle = Plan::empty(&default(), None);
    idle.schedule_answer(&addrs(&[V4A, V4B]), ms(60), true);
    assert_eq!(layout(&idle), [row(V4A, 60), row(V4B, 185)]);
}

#[test]
fn an_answer_with_both_families_staggers_the_other_even_if_idle() {
    let mut plan = Plan::empty(&default(), None);
    plan.schedule_answer(&addrs(&[V4A, V6A]), ms(10), true);
    assert_eq!(layout(&plan), [row(V6A, 10), row(V4A, 260)]);
}

#[test]
fn without_racing_an_answer_is_due_on_arrival_in_resolver_order() {
    let mut plan = Plan::empty(&HappyEyeballsOptions::sequential(), None);
    plan.schedule_answer(&addrs(&[V4A, V6A, V4B]), ms(30), false);
    assert_eq!(layout(&plan), [row(V4A, 30), row(V6A, 30), row(V4B, 30)]);
}

#[test]
fn following_the_resolver_an_answer_leads_only_an_empty_plan() {
    let o = options(|o| o.follow_resolver_order = true);
    let mut plan = Plan::empty(&o, None);
    plan.schedule_answer(&addrs(&[V4A, V6A]), ms(0), true);
    assert_eq!(plan.preferred(), AddressFamily::V4);
    assert_eq!(layout(&plan), [row(V4A, 0), row(V6A, 250)]);
    // A later answer led by the other family changes nothing.
    plan.schedule_answer(&addrs(&[V6B]), ms(10), false);
    assert_eq!(plan.preferred(), AddressFamily::V4);
    plan.set_preferred(AddressFamily::V6);
    assert_eq!(plan.preferred(), AddressFamily::V4);
    let mut fresh = Plan::empty(&default(), None);
    fresh.set_preferred(AddressFamily::V4);
    assert_eq!(fresh.preferred(), AddressFamily::V4);
}

// ---- the budget of one attempt (decision 2) ----

#[test]
fn the_budget_shares_what_remains_among_the_rounds_left() {
    let s = secs;
    assert_eq!(attempt_budget(s(10), 2, 2), s(10)); // one round
    assert_eq!(attempt_budget(s(10), 3, 2), s(5)); // rounds are rounded up
    assert_eq!(attempt_budget(s(10), 4, 2), s(5));
    assert_eq!(attempt_budget(s(30), 3, 1), s(10));
    assert_eq!(attempt_budget(ms(10_500), 3, 1), ms(3_500));
    // The floor, unless less remains.
    assert_eq!(attempt_budget(s(10), 40, 2), MIN_ATTEMPT_BUDGET);
    assert_eq!(attempt_budget(ms(500), 40, 2), ms(500));
    // Degenerate inputs do not divide by zero.
    assert_eq!(attempt_budget(s(10), 0, 0), s(10));
    assert_eq!(attempt_budget(Duration::ZERO, 3, 2), Duration::ZERO);
}

// ---- endpoints ----

#[test]
fn an_endpoint_is_address_port_and_scope_but_not_flow_label() {
    let v6 = |flow, scope| {
        SocketAddr::V6(SocketAddrV6::new(
            "fe80::1".parse().unwrap(),
            443,
            flow,
            scope,
        ))
    };
    assert_eq!(
        endpoint_key(&v6(0, 3)),
        ("fe80::1".parse().unwrap(), 443, 3)
    );
    assert_eq!(endpoint_key(&addr(V4A)), (addr(V4A).ip(), 443, 0));
    let all = [
        v6(0, 1),
        v6(7, 1),
        v6(0, 2),
        addr(V4A),
        addr(V4A),
        addr(V4B),
    ];
    assert_eq!(
        unique(all.iter().copied()),
        [v6(0, 1), v6(0, 2), addr(V4A), addr(V4B)]
    );
    assert!(unique(std::iter::empty()).is_empty());
}

#[test]
fn accept_tells_apart_endpoints_that_differ_in_any_part() {
    let scoped =
        |scope| SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 443, 0, scope));
    let mut distinct = addrs(&[
        "[2001:db8::1]:443",
        // Another network prefix, the same interface id: the high 64 bits differ.
        "[2001:db9::1]:443",
        // The low 64 bits differ.
        "[2001:db8::2]:443",
        // The port differs.
        "[2001:db8::1]:80",
        // The same 128 bits as the IPv4 address below (an IPv4-compatible IPv6
        // address): only the family differs.
        "[::192.0.2.1]:443",
        "192.0.2.1:443",
        "192.0.2.1:80",
        "192.0.2.2:443",
    ]);
    distinct.extend([scoped(1), scoped(2)]);
    let mut plan = Plan::empty(&default(), None);
    assert_eq!(plan.accept(distinct.iter().copied()), distinct);
    // Each is remembered; a flow label alone makes no new endpoint.
    let flow = SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 443, 7, 1));
    let again = distinct.iter().copied().chain([flow]);
    assert!(plan.accept(again).is_empty());
    // The same, one at a time, past the few a plan scans before it hashes.
    let mut plan = Plan::empty(&default(), None);
    for (i, a) in distinct.iter().chain(&distinct).enumerate() {
        let kept = plan.accept(std::iter::once(*a).filter(|_| true));
        let expected = if i < distinct.len() { vec![*a] } else { vec![] };
        assert_eq!(kept, expected, "address {i}");
    }
}

#[test]
fn plans_are_equal_only_when_every_part_is() {
    let o = default();
    let empty = Plan::empty(&o, None);
    assert_eq!(empty, Plan::empty(&o, None));
    // The options alone differ.
    let slower = options(|o| o.family_stagger_delay = ms(300));
    assert_ne!(empty, Plan::empty(&slower, None));
    // The requested family alone (the preferred one stays IPv6).
    let v6_only = Plan::empty(&o, Some(AddressFamily::V6));
    assert_eq!(v6_only.preferred(), empty.preferred());
    assert_ne!(empty, v6_only);
    // The preferred family alone.
    let mut v4_first = Plan::empty(&o, None);
    v4_first.set_preferred(AddressFamily::V4);
    assert_ne!(empty, v4_first);
    // The attempts' order alone: the same addresses, counts, first and latest due
    // times, and nothing remembered by `accept`.
    let mut ab = Plan::empty(&o, None);
    ab.schedule(&addrs(&[V6A, V6B]), ms(0));
    let mut ba = Plan::empty(&o, None);
    ba.schedule(&addrs(&[V6B, V6A]), ms(0));
    assert_eq!(layout(&ab), [row(V6A, 0), row(V6B, 125)]);
    assert_eq!(layout(&ba), [row(V6B, 0), row(V6A, 125)]);
    assert_ne!(ab, ba);
    // The addresses seen alone: accepted, not scheduled.
    let mut seen = Plan::empty(&o, None);
    assert_eq!(seen.accept(addrs(&[V4A]).into_iter()), addrs(&[V4A]));
    assert!(seen.attempts().is_empty());
    assert_ne!(empty, seen);
    let mut seen_other = Plan::empty(&o, None);
    seen_other.accept(addrs(&[V4B]).into_iter());
    assert_ne!(seen, seen_other);
}
