//! The planner on arbitrary address lists and options: `Plan::new` yields a plan that
//! keeps every invariant, or the typed error that explains why there is none; and
//! `attempt_budget` stays within its bounds for any input.
//!
//! Shared by the fuzz target `planner` and the corpus replay test.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use crate::common;
use arbitrary::Unstructured;
use turbohttp::{AddressFamily, HappyEyeballsOptions};
use turbohttp_proto::plan::{MIN_ATTEMPT_BUDGET, Mode, Plan, PlanError, attempt_budget};

/// Runs the check on one input.
pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok((resolved, options, requested)) = decode(&mut u) else {
        return;
    };
    check_plan(&resolved, &options, requested);
    if let (Ok(remaining), Ok(not_started), Ok(cap)) = (
        common::delay(&mut u),
        u.arbitrary::<usize>(),
        u.arbitrary::<usize>(),
    ) {
        check_budget(remaining, not_started % 1_000, cap % 64);
        check_budget(remaining, not_started, cap);
    }
}

fn decode(
    u: &mut Unstructured<'_>,
) -> arbitrary::Result<(Vec<SocketAddr>, HappyEyeballsOptions, Option<AddressFamily>)> {
    let options = common::options(u)?;
    let requested = common::family(u)?;
    let resolved = common::addresses(u, 300)?;
    Ok((resolved, options, requested))
}

/// Checks `Plan::new` on one input.
pub fn check_plan(
    resolved: &[SocketAddr],
    options: &HappyEyeballsOptions,
    requested: Option<AddressFamily>,
) {
    let wanted: Vec<SocketAddr> = resolved
        .iter()
        .copied()
        .filter(|a| requested.is_none_or(|f| AddressFamily::of(a) == f))
        .collect();
    // The first occurrence of every endpoint of the requested family, in resolver order.
    let mut seen = HashSet::new();
    let unique: Vec<SocketAddr> = wanted
        .iter()
        .copied()
        .filter(|a| seen.insert(common::endpoint_key(a)))
        .collect();

    let plan = match Plan::new(resolved, options, requested) {
        Ok(plan) => plan,
        Err(PlanError::NoAddresses) => {
            assert!(resolved.is_empty(), "NoAddresses for {resolved:?}");
            return;
        }
        Err(PlanError::FamilyUnavailable) => {
            assert!(
                !resolved.is_empty() && wanted.is_empty(),
                "FamilyUnavailable"
            );
            return;
        }
    };
    let attempts = plan.attempts();
    let preferred = options.preferred_family();
    assert_eq!(plan.preferred(), preferred);

    // Exactly the unique endpoints of the requested family: none lost, none twice.
    let mut keys = HashSet::new();
    for a in attempts {
        assert!(
            keys.insert(common::endpoint_key(&a.addr)),
            "{} planned twice",
            a.addr
        );
        assert_eq!(a.family, AddressFamily::of(&a.addr));
        assert!(
            requested.is_none_or(|f| f == a.family),
            "{} is not of {requested:?}",
            a.addr
        );
        assert!(resolved.contains(&a.addr));
    }
    assert_eq!(
        attempts.len(),
        unique.len(),
        "{:?} vs {unique:?}",
        plan.attempts()
    );

    // Sequential exactly when racing is disabled or only one family is left.
    let families: HashSet<AddressFamily> = unique.iter().map(AddressFamily::of).collect();
    let sequential = !options.enable || families.len() == 1;
    assert_eq!(plan.mode() == Mode::Sequential, sequential);
    if sequential {
        assert_eq!(plan.max_in_flight(), 1);
        let order: Vec<SocketAddr> = plan.addresses().collect();
        assert_eq!(order, unique, "sequential plans keep resolver order");
        if !options.enable {
            assert!(attempts.iter().all(|a| a.offset() == Duration::ZERO));
        } else {
            // One family: its race schedule, in case the other family joins later.
            for (i, a) in attempts.iter().enumerate() {
                let spacing = options
                    .attempt_spacing_delay
                    .saturating_mul(u32::try_from(i).unwrap_or(u32::MAX));
                assert_eq!(a.offset(), spacing, "single family #{i}");
            }
        }
        return;
    }

    assert_eq!(plan.max_in_flight(), options.max_concurrent_attempts);
    assert_eq!(
        attempts[0].family, preferred,
        "the preferred family goes first"
    );
    assert_eq!(attempts[0].offset(), Duration::ZERO);
    for pair in attempts.windows(2) {
        assert!(
            pair[0].offset() <= pair[1].offset(),
            "offsets go down: {pair:?}"
        );
        if pair[0].offset() == pair[1].offset() {
            assert!(
                !(pair[0].family != preferred && pair[1].family == preferred),
                "a tie not broken for the preferred family: {pair:?}"
            );
        }
    }
    // Each family keeps resolver order, on its own schedule.
    for (family, base) in [
        (preferred, Duration::ZERO),
        (preferred.other(), options.family_stagger_delay),
    ] {
        let planned: Vec<_> = attempts.iter().filter(|a| a.family == family).collect();
        let expected: Vec<SocketAddr> = unique
            .iter()
            .copied()
            .filter(|a| AddressFamily::of(a) == family)
            .collect();
        assert_eq!(
            planned.iter().map(|a| a.addr).collect::<Vec<_>>(),
            expected,
            "{family} order"
        );
        for (i, a) in planned.iter().enumerate() {
            let spacing = options
                .attempt_spacing_delay
                .saturating_mul(u32::try_from(i).unwrap_or(u32::MAX));
            assert_eq!(a.offset(), base.saturating_add(spacing), "{family} #{i}");
        }
    }
}

/// Checks `attempt_budget` on one input.
pub fn check_budget(remaining: Duration, not_started: usize, max_in_flight: usize) {
    let budget = attempt_budget(remaining, not_started, max_in_flight);
    assert!(budget <= remaining, "{budget:?} > {remaining:?}");
    assert!(
        budget >= MIN_ATTEMPT_BUDGET.min(remaining),
        "{budget:?} below the floor"
    );
    let lanes = max_in_flight.max(1);
    if not_started <= lanes {
        // One round left: the whole remaining time.
        assert_eq!(budget, remaining);
    } else {
        let rounds = u32::try_from(not_started.div_ceil(lanes)).unwrap_or(u32::MAX);
        assert!(budget >= remaining / rounds);
        // Never more than a fair share, unless the floor lifts it.
        if budget > MIN_ATTEMPT_BUDGET {
            assert!(
                budget.saturating_mul(rounds.min(2)) <= remaining + Duration::from_nanos(2),
                "{budget:?} of {remaining:?} with {not_started} left on {lanes} lanes"
            );
        }
    }
}
