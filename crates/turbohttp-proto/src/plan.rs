//! The plan of a race: which addresses, in what order, not before when. A pure
//! function of the resolved addresses and the options; no clock is read here.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::{AddressFamily, HappyEyeballsOptions};

/// The least time an attempt is given before the race moves its slot on to the next
/// address, unless less than this remains of the connect timeout. Go's dialer uses the
/// same floor ("saneMinimum").
pub const MIN_ATTEMPT_BUDGET: Duration = Duration::from_secs(2);

/// How the plan is executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Two families race: staggered, spaced, several attempts in flight.
    Race,
    /// One attempt at a time, in plan order, each starting when the previous one
    /// failed: the path for `enable = false` and for a single family.
    Sequential,
}

/// One address to dial, and the earliest offset from the race start at which it may
/// start unless an earlier failure pulls it forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedAttempt {
    /// The address.
    pub addr: SocketAddr,
    /// Its family.
    pub family: AddressFamily,
    /// Its scheduled start, from the race start.
    pub offset: Duration,
}

/// The ordered attempts of a race and how many may be in flight at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    mode: Mode,
    preferred: AddressFamily,
    max_in_flight: usize,
    attempts: Vec<PlannedAttempt>,
}

/// Why no plan can be made from the resolved addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanError {
    /// The resolver returned nothing.
    NoAddresses,
    /// None of the addresses is of the requested family.
    FamilyUnavailable,
}

impl Plan {
    /// Builds the plan.
    ///
    /// 1. Keep only the requested family, if one is requested.
    /// 2. Drop exact duplicates of (address, port, family), keeping the first.
    /// 3. With racing disabled, or a single family left: dial in resolver order, one at
    ///    a time ([`Mode::Sequential`]).
    /// 4. Otherwise split into the preferred and the other family, each in resolver
    ///    order; the preferred family's attempt `i` is due at `i × spacing`, the other
    ///    family's attempt `j` at `stagger + j × spacing`; merge by due time, the
    ///    preferred family first on a tie.
    ///
    /// The options are assumed valid ([`HappyEyeballsOptions::validate`]).
    pub fn new(
        resolved: &[SocketAddr],
        options: &HappyEyeballsOptions,
        requested: Option<AddressFamily>,
    ) -> Result<Self, PlanError> {
        if resolved.is_empty() {
            return Err(PlanError::NoAddresses);
        }
        let unique = unique(
            resolved
                .iter()
                .copied()
                .filter(|a| requested.is_none_or(|family| AddressFamily::of(a) == family)),
        );
        if unique.is_empty() {
            return Err(PlanError::FamilyUnavailable);
        }
        let preferred = options.preferred_family();
        let has = |family| unique.iter().any(|a| AddressFamily::of(a) == family);
        let both = has(AddressFamily::V4) && has(AddressFamily::V6);

        if !options.enable || !both {
            let attempts = unique
                .iter()
                .map(|&addr| PlannedAttempt {
                    addr,
                    family: AddressFamily::of(&addr),
                    offset: Duration::ZERO,
                })
                .collect();
            return Ok(Self {
                mode: Mode::Sequential,
                preferred,
                max_in_flight: 1,
                attempts,
            });
        }

        let (first, second): (Vec<SocketAddr>, Vec<SocketAddr>) = unique
            .iter()
            .partition(|a| AddressFamily::of(a) == preferred);
        let spacing = options.attempt_spacing_delay;
        let stagger = options.family_stagger_delay;
        let due = |base: Duration, i: usize| base.saturating_add(times(spacing, i));

        let mut attempts = Vec::with_capacity(unique.len());
        let (mut i, mut j) = (0, 0);
        while i < first.len() || j < second.len() {
            let take_first = match (first.get(i), second.get(j)) {
                (Some(_), Some(_)) => due(Duration::ZERO, i) <= due(stagger, j),
                (Some(_), None) => true,
                _ => false,
            };
            let (addr, offset) = if take_first {
                i += 1;
                (first[i - 1], due(Duration::ZERO, i - 1))
            } else {
                j += 1;
                (second[j - 1], due(stagger, j - 1))
            };
            attempts.push(PlannedAttempt {
                addr,
                family: AddressFamily::of(&addr),
                offset,
            });
        }
        Ok(Self {
            mode: Mode::Race,
            preferred,
            max_in_flight: options.max_concurrent_attempts,
            attempts,
        })
    }

    /// Race or sequential.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The family dialed first.
    pub fn preferred(&self) -> AddressFamily {
        self.preferred
    }

    /// The most attempts in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// The attempts, in plan order.
    pub fn attempts(&self) -> &[PlannedAttempt] {
        &self.attempts
    }

    /// The addresses, in plan order.
    pub fn addresses(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.attempts.iter().map(|a| a.addr)
    }
}

/// How long an attempt may hold its slot (the rule for a stalled address): the time
/// that remains, shared among the rounds of attempts still to run (`not_started`
/// attempts, this one included, `max_in_flight` at a time), but never less than
/// [`MIN_ATTEMPT_BUDGET`] unless less than that remains. Go's dialer applies the same
/// rule with one attempt at a time.
///
/// ```
/// use std::time::Duration;
/// use turbohttp_proto::plan::attempt_budget;
/// let s = Duration::from_secs;
/// assert_eq!(attempt_budget(s(30), 3, 1), s(10)); // three left, one at a time
/// assert_eq!(attempt_budget(s(30), 100, 2), s(2)); // the floor
/// assert_eq!(attempt_budget(s(1), 100, 2), s(1)); // never past the deadline
/// ```
pub fn attempt_budget(remaining: Duration, not_started: usize, max_in_flight: usize) -> Duration {
    let rounds = not_started.div_ceil(max_in_flight.max(1)).max(1);
    let share = remaining / u32::try_from(rounds).unwrap_or(u32::MAX);
    share.max(MIN_ATTEMPT_BUDGET.min(remaining))
}

/// The addresses without duplicate endpoints (see [`endpoint_key`]), first kept, in order.
pub fn unique(addrs: impl Iterator<Item = SocketAddr>) -> Vec<SocketAddr> {
    // A filtered iterator's lower bound is 0: size the set for the upper bound.
    let (low, high) = addrs.size_hint();
    let mut seen = HashSet::with_capacity(high.unwrap_or(low));
    addrs.filter(|a| seen.insert(endpoint_key(a))).collect()
}

/// What makes two resolved addresses the same endpoint: the address (an IPv6 address
/// with its scope id), the port and so the family. An IPv6 flow label is not part of
/// it: two answers that differ only there would dial the same endpoint twice.
pub fn endpoint_key(addr: &SocketAddr) -> (IpAddr, u16, u32) {
    let scope = match addr {
        SocketAddr::V4(_) => 0,
        SocketAddr::V6(v6) => v6.scope_id(),
    };
    (addr.ip(), addr.port(), scope)
}

fn times(d: Duration, n: usize) -> Duration {
    d.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn layout(plan: &Plan) -> Vec<(String, u64)> {
        plan.attempts()
            .iter()
            .map(|a| (a.addr.to_string(), a.offset.as_millis() as u64))
            .collect()
    }

    #[test]
    fn interleaves_by_due_time_preferred_first_on_ties() {
        let resolved = [
            addr("10.0.0.1:80"),
            addr("[2001:db8::1]:80"),
            addr("10.0.0.2:80"),
            addr("[2001:db8::2]:80"),
            addr("[2001:db8::3]:80"),
        ];
        let plan = Plan::new(&resolved, &HappyEyeballsOptions::default(), None).unwrap();
        assert_eq!(plan.mode(), Mode::Race);
        assert_eq!(
            layout(&plan),
            [
                ("[2001:db8::1]:80".to_string(), 0),
                ("[2001:db8::2]:80".to_string(), 125),
                ("[2001:db8::3]:80".to_string(), 250),
                ("10.0.0.1:80".to_string(), 250),
                ("10.0.0.2:80".to_string(), 375),
            ]
        );
    }

    #[test]
    fn prefer_ipv4_swaps_the_roles() {
        let resolved = [addr("[::1]:80"), addr("127.0.0.1:80")];
        let options = HappyEyeballsOptions {
            prefer_ipv6: false,
            ..Default::default()
        };
        let plan = Plan::new(&resolved, &options, None).unwrap();
        assert_eq!(
            layout(&plan),
            [
                ("127.0.0.1:80".to_string(), 0),
                ("[::1]:80".to_string(), 250)
            ]
        );
    }

    #[test]
    fn drops_exact_duplicates_only() {
        let resolved = [
            addr("[::1]:80"),
            addr("127.0.0.1:80"),
            addr("[::1]:80"),
            addr("127.0.0.1:81"),
            addr("127.0.0.1:80"),
        ];
        let plan = Plan::new(&resolved, &HappyEyeballsOptions::default(), None).unwrap();
        let addrs: Vec<_> = plan.addresses().map(|a| a.to_string()).collect();
        assert_eq!(addrs, ["[::1]:80", "127.0.0.1:80", "127.0.0.1:81"]);
    }

    #[test]
    fn single_family_and_disabled_are_sequential_in_resolver_order() {
        let v4 = [addr("127.0.0.2:80"), addr("127.0.0.1:80")];
        let plan = Plan::new(&v4, &HappyEyeballsOptions::default(), None).unwrap();
        assert_eq!((plan.mode(), plan.max_in_flight()), (Mode::Sequential, 1));
        assert_eq!(
            layout(&plan),
            [("127.0.0.2:80".into(), 0), ("127.0.0.1:80".into(), 0)]
        );

        let mixed = [addr("127.0.0.1:80"), addr("[::1]:80")];
        let plan = Plan::new(&mixed, &HappyEyeballsOptions::sequential(), None).unwrap();
        assert_eq!(plan.mode(), Mode::Sequential);
        assert_eq!(
            layout(&plan),
            [("127.0.0.1:80".into(), 0), ("[::1]:80".into(), 0)]
        );
    }

    #[test]
    fn requested_family_filters_and_can_be_absent() {
        let mixed = [addr("127.0.0.1:80"), addr("[::1]:80")];
        let plan = Plan::new(
            &mixed,
            &HappyEyeballsOptions::default(),
            Some(AddressFamily::V4),
        )
        .unwrap();
        assert_eq!(layout(&plan), [("127.0.0.1:80".into(), 0)]);
        let v4 = [addr("127.0.0.1:80")];
        assert_eq!(
            Plan::new(
                &v4,
                &HappyEyeballsOptions::default(),
                Some(AddressFamily::V6)
            ),
            Err(PlanError::FamilyUnavailable)
        );
        assert_eq!(
            Plan::new(&[], &HappyEyeballsOptions::default(), None),
            Err(PlanError::NoAddresses)
        );
    }

    #[test]
    fn budget_shares_the_remaining_time() {
        assert_eq!(attempt_budget(ms(10_000), 2, 2), ms(10_000));
        assert_eq!(attempt_budget(ms(10_000), 4, 2), ms(5_000));
        assert_eq!(attempt_budget(ms(10_000), 40, 2), ms(2_000));
        assert_eq!(attempt_budget(ms(500), 40, 2), ms(500));
        assert_eq!(attempt_budget(ms(10_000), 0, 0), ms(10_000));
    }
}
