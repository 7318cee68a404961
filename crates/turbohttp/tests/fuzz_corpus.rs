//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the very checks
//! the fuzz targets run (`fuzz/checks/<target>.rs`), so that `cargo test` re-checks
//! every input the fuzzers kept, on stable, without cargo-fuzz. Then one named test per
//! finding of the fuzzers.

#[path = "../../../fuzz/checks/authority.rs"]
mod authority;
#[path = "../../../fuzz/checks/behavior.rs"]
mod behavior;
#[path = "../../../fuzz/checks/common.rs"]
mod common;
#[path = "../../../fuzz/checks/duration.rs"]
mod duration;
#[path = "../../../fuzz/checks/host.rs"]
mod host;
#[path = "../../../fuzz/checks/planner.rs"]
mod planner;
#[path = "../../../fuzz/checks/race.rs"]
mod race;
#[path = "../../../fuzz/checks/resolving_race.rs"]
mod resolving_race;

use std::net::{SocketAddr, SocketAddrV6};

use turbohttp::HappyEyeballsOptions;
use turbohttp_proto::plan::Plan;

#[path = "../../../fuzz/checks/replay.rs"]
mod corpus;

/// Replays `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` through `check`.
fn replay(target: &str, check: fn(&[u8])) {
    let fuzz = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    corpus::replay(&fuzz, target, check);
}

#[test]
fn corpus_host() {
    replay("host", host::check);
}

#[test]
fn corpus_authority() {
    replay("authority", authority::check);
}

#[test]
fn corpus_duration() {
    replay("duration", duration::check);
}

#[test]
fn corpus_behavior() {
    replay("behavior", behavior::check);
}

#[test]
fn corpus_planner() {
    replay("planner", planner::check);
}

#[test]
fn corpus_race() {
    replay("race", race::check);
}

#[test]
fn corpus_resolving_race() {
    replay("resolving_race", resolving_race::check);
}

/// Finding (planner): two answers for the same endpoint that differed only in their
/// IPv6 flow label were both planned, so the endpoint would have been dialed twice.
/// The planner now deduplicates on (address with scope id, port, family), as the
/// specification says. Input: `fuzz/corpus/planner/regression-flowinfo-duplicate`.
#[test]
fn regression_flow_label_duplicates_are_one_endpoint() {
    let ip = "fe80::2".parse().unwrap();
    let plain = SocketAddr::V6(SocketAddrV6::new(ip, 443, 0, 1));
    let labelled = SocketAddr::V6(SocketAddrV6::new(ip, 443, 7, 1));
    let other_zone = SocketAddr::V6(SocketAddrV6::new(ip, 443, 0, 2));
    let resolved = [plain, labelled, other_zone];
    let plan = Plan::new(&resolved, &HappyEyeballsOptions::default(), None).unwrap();
    // The first answer is kept; another interface (scope id) is another endpoint.
    assert_eq!(
        plan.addresses().collect::<Vec<_>>(),
        [plain, other_zone],
        "flow labels are not part of an endpoint"
    );
    planner::check_plan(&resolved, &HappyEyeballsOptions::default(), None);
}

/// Finding (behaviour spelling, cosmetic): a delay a hair under a second printed as
/// `1000ms`, which read back and then printed as `1s`. Durations are now whole
/// milliseconds (the timers' resolution), so the spelling is refused, and a duration
/// made in code picks its unit after rounding.
#[test]
fn regression_delay_just_under_a_second_prints_stably() {
    behavior::check_str("ok@999.9996ms");
    assert!("ok@999.9996ms".parse::<turbohttp::sim::Behavior>().is_err());
    let near = turbohttp::sim::Behavior::Connect(std::time::Duration::from_nanos(999_999_600));
    assert_eq!(near.to_string(), "ok@1s");
}
