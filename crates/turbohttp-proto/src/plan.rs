//! The plan of a race: which addresses, in what order, not before when. A pure
//! function of the resolved addresses and the options; no clock is read here.

use std::borrow::Cow;
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::{AddressFamily, HappyEyeballsOptions};

/// The least time an attempt is given before the race moves its slot on to the next
/// address, unless less than this remains of the connect timeout. Go's dialer uses the
/// same floor ("saneMinimum").
pub const MIN_ATTEMPT_BUDGET: Duration = Duration::from_secs(2);

/// Up to this many addresses seen, duplicates are found by a linear scan: cheaper
/// than hashing, and no set to allocate for the one address of a literal.
const FEW: usize = 16;

/// Up to this many attempts, the standard sort (its scratch space on the stack)
/// orders a plan; past it, a merge of its two runs.
const SORT_ON_STACK: usize = 64;

/// What identifies an endpoint ([`endpoint_key`]), packed into three words: cheap
/// to compare and to hash (one write rather than one per field).
type Key = [u64; 3];

/// The addresses a plan has seen, so that an address is planned once.
#[derive(Debug, Clone)]
enum Seen {
    /// Every address seen is planned: the attempts are the record, and nothing else
    /// is kept (a plan made by [`Plan::new`] or [`Plan::empty`], or
    /// [released](Plan::release_seen)).
    Planned,
    /// A few: scanned in order.
    Few(Vec<Key>),
    /// Many: hashed.
    Many(HashSet<Key>),
}

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
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PlannedAttempt {
    /// The address.
    pub addr: SocketAddr,
    /// Its family.
    pub family: AddressFamily,
    /// [`PlannedAttempt::offset`] in 4-byte words (seconds high and low, nanoseconds)
    /// rather than a `Duration`, whose 8-byte alignment would pad the attempt to 56
    /// bytes: 48, aligned as a `SocketAddr`, so that [`Plan::into_addresses`] turns
    /// the plan into its address list in place.
    offset: [u32; 3],
    /// Where the address came from (in what was padding).
    pub tag: Tag,
}

/// How an endpoint is dialed: TCP (then TLS, for `h2` and `http/1.1`) or QUIC (for
/// `h3`). QUIC and TCP to one address and port are two endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Transport {
    /// TCP, the only transport of a race that was not told it may dial QUIC.
    #[default]
    Tcp,
    /// QUIC (RFC 9000), for HTTP/3.
    Quic,
}

impl Transport {
    /// `"tcp"` or `"quic"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Quic => "quic",
        }
    }
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a planned address came from: which HTTPS record (RFC 9460) it serves, and
/// whether it is one of the record's hints rather than an A/AAAA answer; and how it
/// is dialed ([`Transport`]).
///
/// Two bytes, so that a planned attempt stays 48 ([`Plan::into_addresses`]): the
/// record's index in the low 13 bits, the bit above them set for an Alt-Svc
/// alternative's index rather than an HTTPS record's (all 14 ones for none), then the
/// QUIC bit, the hint bit on top.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag(u16);

impl Tag {
    const HINT: u16 = 0x8000;
    const QUIC: u16 = 0x4000;
    const NO_SERVICE: u16 = 0x3fff;
    const ALTERNATIVE: u16 = 0x2000;
    const INDEX: u16 = 0x1fff;

    /// An address of no HTTPS record: an A/AAAA answer, a lookup, a literal.
    pub const NONE: Self = Self(Self::NO_SERVICE);

    /// An address that serves the HTTPS record at `index` of its answer (indices
    /// past 8,190 are not told apart); `hint` if it came from the record's own
    /// `ipv4hint` or `ipv6hint`.
    pub fn of_service(index: usize, hint: bool) -> Self {
        let index = u16::try_from(index).map_or(Self::INDEX - 1, |i| i.min(Self::INDEX - 1));
        Self(index | if hint { Self::HINT } else { 0 })
    }

    /// An address that serves the Alt-Svc alternative at `index` of the race's list
    /// ([`Race::with_alternatives`](crate::race::Race::with_alternatives)).
    pub fn of_alternative(index: usize) -> Self {
        let index = u16::try_from(index).map_or(Self::INDEX - 1, |i| i.min(Self::INDEX - 1));
        Self(index | Self::ALTERNATIVE)
    }

    /// The index of the HTTPS record the address serves, if any.
    pub fn service(self) -> Option<usize> {
        (self.0 & Self::ALTERNATIVE == 0).then_some(usize::from(self.0 & Self::INDEX))
    }

    /// The index of the Alt-Svc alternative the address serves, if any.
    pub fn alternative(self) -> Option<usize> {
        let index = self.0 & Self::NO_SERVICE;
        (index != Self::NO_SERVICE && index & Self::ALTERNATIVE != 0)
            .then_some(usize::from(index & Self::INDEX))
    }

    /// Whether the address is a hint, to be replaced by the A/AAAA answer.
    pub fn is_hint(self) -> bool {
        self.0 & Self::HINT != 0
    }

    /// The same origin, dialed over `transport`.
    pub fn on(self, transport: Transport) -> Self {
        match transport {
            Transport::Tcp => Self(self.0 & !Self::QUIC),
            Transport::Quic => Self(self.0 | Self::QUIC),
        }
    }

    /// How the address is dialed.
    pub fn transport(self) -> Transport {
        if self.0 & Self::QUIC != 0 {
            Transport::Quic
        } else {
            Transport::Tcp
        }
    }
}

impl std::fmt::Debug for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tag")
            .field("service", &self.service())
            .field("alternative", &self.alternative())
            .field("hint", &self.is_hint())
            .field("transport", &self.transport())
            .finish()
    }
}

impl PlannedAttempt {
    fn new(addr: SocketAddr, offset: Duration, tag: Tag) -> Self {
        let secs = offset.as_secs();
        Self {
            addr,
            family: AddressFamily::of(&addr),
            // The high and low halves of the seconds: no offset is cut short.
            offset: [(secs >> 32) as u32, secs as u32, offset.subsec_nanos()],
            tag,
        }
    }

    /// How it is dialed (its [`Tag`]'s transport).
    pub fn transport(&self) -> Transport {
        self.tag.transport()
    }

    /// Its scheduled start, from the race start. Only a race of two families waits
    /// for it; a sequential plan starts each attempt when the previous one failed.
    pub fn offset(&self) -> Duration {
        let [high, low, nanos] = self.offset;
        Duration::new((u64::from(high) << 32) | u64::from(low), nanos)
    }
}

impl std::fmt::Debug for PlannedAttempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlannedAttempt")
            .field("addr", &self.addr)
            .field("family", &self.family)
            .field("offset", &self.offset())
            .field("tag", &self.tag)
            .finish()
    }
}

/// The attempts of a race, each with its scheduled start, and how many may be in
/// flight at once.
///
/// A plan grows: [`Plan::new`] makes one from a single answer that carries every
/// family; a race fed DNS answers one query at a time adds each answer's addresses
/// with [`Plan::schedule`] as it arrives. An address is planned once, however many
/// answers carry it.
#[derive(Debug, Clone)]
pub struct Plan {
    options: HappyEyeballsOptions,
    requested: Option<AddressFamily>,
    preferred: AddressFamily,
    attempts: Vec<PlannedAttempt>,
    seen: Seen,
    /// The offset of each family's first and latest planned attempt (V4, V6).
    first: [Option<Duration>; 2],
    last: [Option<Duration>; 2],
    count: [usize; 2],
    /// How many QUIC endpoints are planned (retired hints left out): with TCP ones
    /// beside them, the two transports race ([`Plan::mode`]).
    quic: usize,
}

impl PartialEq for Plan {
    /// Two plans are equal when they plan the same and have seen the same addresses,
    /// however each remembers them.
    fn eq(&self, other: &Self) -> bool {
        self.options == other.options
            && self.requested == other.requested
            && self.preferred == other.preferred
            && self.attempts == other.attempts
            && self.first == other.first
            && self.last == other.last
            && self.count == other.count
            && self.quic == other.quic
            && self.seen_keys() == other.seen_keys()
    }
}

impl Eq for Plan {}

/// Why no plan can be made from the resolved addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanError {
    /// The resolver returned nothing.
    NoAddresses,
    /// None of the addresses is of the requested family.
    FamilyUnavailable,
}

impl Plan {
    /// Builds the plan of one answer that carries every family (`getaddrinfo`, a
    /// static table, IP literals), as if it arrived at the race start.
    ///
    /// 1. Keep only the requested family, if one is requested.
    /// 2. Drop exact duplicates of (address, port, family), keeping the first.
    /// 3. With racing disabled, or a single family left: dial in resolver order, one at
    ///    a time ([`Mode::Sequential`]).
    /// 4. Otherwise split into the preferred and the other family, each in resolver
    ///    order; the preferred family's attempt `i` is due at `i × spacing`, the other
    ///    family's attempt `j` at `head start + j × spacing` (see
    ///    [`Plan::head_start`]); merge by due time, the preferred family first on a tie.
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
        let mut plan = Self::empty(options, requested);
        let kept = kept_of(resolved, requested);
        plan.schedule_answer(&kept, Duration::ZERO, true);
        // Every address kept is planned: the attempts are the record of what was seen.
        plan.seen = Seen::Planned;
        if plan.attempts.is_empty() {
            return Err(PlanError::FamilyUnavailable);
        }
        // One answer: plan order is due order, the preferred family first on ties.
        // The attempts are two runs in due order, the preferred family's then the
        // other's: one merge sorts them.
        if plan.options.enable {
            let preferred = plan.preferred;
            let mid = plan.count(preferred);
            merge_runs(&mut plan.attempts, mid, |a| {
                (a.offset(), a.family != preferred)
            });
        }
        Ok(plan)
    }

    /// A plan with no address yet, for a race that resolves as it goes.
    pub fn empty(options: &HappyEyeballsOptions, requested: Option<AddressFamily>) -> Self {
        Self {
            options: *options,
            requested,
            preferred: options.preferred_family(),
            attempts: Vec::new(),
            // Nothing planned, nothing seen.
            seen: Seen::Planned,
            first: [None; 2],
            last: [None; 2],
            count: [0; 2],
            quic: 0,
        }
    }

    /// Schedules the addresses of one answer, already [accepted](Plan::accept), that
    /// arrived at `at`: each family in resolver order, the preferred family from
    /// `at`, the other after the preferred family's [head start](Plan::head_start),
    /// or from `at` when `preferred_idle` says the preferred family has nothing left
    /// to try. With racing disabled every address is due at `at`, in resolver order.
    pub fn schedule_answer(&mut self, kept: &[SocketAddr], at: Duration, preferred_idle: bool) {
        self.schedule_tagged(kept, at, preferred_idle, [Tag::NONE; 2]);
    }

    /// [`Plan::schedule_answer`] for addresses that serve an HTTPS record: each
    /// family's addresses get that family's tag (`tags[0]` IPv4, `tags[1]` IPv6).
    pub fn schedule_tagged(
        &mut self,
        kept: &[SocketAddr],
        at: Duration,
        preferred_idle: bool,
        tags: [Tag; 2],
    ) {
        if !self.options.enable {
            for &addr in kept {
                self.push(addr, at, tags[index(AddressFamily::of(&addr))]);
            }
            return;
        }
        if self.options.follow_resolver_order
            && let Some(first) = kept.first()
        {
            self.set_preferred(AddressFamily::of(first));
        }
        self.attempts.reserve(kept.len());
        let preferred = self.preferred;
        // Each family in turn, straight from the answer (no copy of a large one).
        let of = |family: AddressFamily| {
            kept.iter()
                .copied()
                .filter(move |a| AddressFamily::of(a) == family)
        };
        self.schedule_each(of(preferred), at, tags[index(preferred)]);
        let base = if preferred_idle && of(preferred).next().is_none() {
            at
        } else {
            self.base_for_other(at)
        };
        let other = preferred.other();
        self.schedule_each(of(other), base, tags[index(other)]);
    }

    /// Schedules one group of endpoints (the addresses of one HTTPS record, of a
    /// higher priority number than every group planned before it) after everything
    /// planned: its preferred family from one spacing after the latest due attempt
    /// (or from `at`, if later), the other family after the group's own head start,
    /// so that every attempt of a group is due before the next group's first.
    /// With racing disabled the group is due at `at`, in order. Each family's
    /// addresses get that family's tag, as in [`Plan::schedule_tagged`].
    ///
    /// Returns when the group's first attempt is due: its QUIC endpoints' TCP twin
    /// group follows from there ([`Plan::schedule_twin`]).
    pub fn schedule_group(
        &mut self,
        kept: &[SocketAddr],
        at: Duration,
        tags: [Tag; 2],
    ) -> Duration {
        if !self.options.enable || self.attempts.is_empty() {
            self.schedule_tagged(kept, at, true, tags);
            return at;
        }
        let spacing = self.options.attempt_spacing_delay;
        // The latest due attempt of either family (retired hints left out): no scan.
        let latest = self.last.iter().flatten().max().copied();
        let base = latest.map_or(at, |l| l.saturating_add(spacing).max(at));
        self.lay_out_group(kept, base, tags);
        base
    }

    /// Schedules the TCP endpoints of a service whose QUIC endpoints were just
    /// planned as a group due from `lead` ([`Plan::schedule_group`]'s answer): laid
    /// out as that group is, one attempt delay (the spacing) later, so that a QUIC
    /// attempt that gets no answer holds TCP back by no more than that, and the two
    /// groups interleave (QUIC v6, TCP v6, QUIC v4, TCP v4 with the defaults). With
    /// racing disabled, the group is due at `at`, in order, after the QUIC one.
    pub fn schedule_twin(
        &mut self,
        kept: &[SocketAddr],
        at: Duration,
        lead: Duration,
        tags: [Tag; 2],
    ) {
        if !self.options.enable {
            self.schedule_tagged(kept, at, true, tags);
            return;
        }
        let base = lead.saturating_add(self.options.attempt_spacing_delay);
        self.lay_out_group(kept, base, tags);
    }

    /// Plans one group from `base`: its preferred family's `i`-th address at `base +
    /// i × spacing`, the other family's after the group's own head start.
    fn lay_out_group(&mut self, kept: &[SocketAddr], base: Duration, tags: [Tag; 2]) {
        let spacing = self.options.attempt_spacing_delay;
        let preferred = self.preferred;
        let mine: Vec<SocketAddr> = kept
            .iter()
            .copied()
            .filter(|a| AddressFamily::of(a) == preferred)
            .collect();
        let due_of = |n: usize| base.saturating_add(times(spacing, n));
        for (i, &addr) in mine.iter().enumerate() {
            self.push(addr, due_of(i), tags[index(preferred)]);
        }
        let head = if mine.is_empty() {
            base
        } else {
            let count = mine
                .len()
                .min(self.options.first_address_family_count.max(1));
            due_of(count - 1).saturating_add(self.options.family_stagger_delay)
        };
        let others = kept.iter().filter(|a| AddressFamily::of(a) != preferred);
        for (j, &addr) in others.enumerate() {
            self.push(
                addr,
                head.saturating_add(times(spacing, j)),
                tags[index(preferred.other())],
            );
        }
    }

    /// Keeps the addresses not planned yet and of the requested family, in order,
    /// and remembers them as seen. Does not schedule them.
    pub fn accept(&mut self, addrs: impl Iterator<Item = SocketAddr>) -> Vec<SocketAddr> {
        self.accept_on(addrs, Transport::Tcp)
    }

    /// [`Plan::accept`] for endpoints dialed over `transport`: QUIC and TCP to one
    /// address and port are two endpoints, each planned once.
    pub fn accept_on(
        &mut self,
        addrs: impl Iterator<Item = SocketAddr>,
        transport: Transport,
    ) -> Vec<SocketAddr> {
        let requested = self.requested;
        // Grown once for the whole answer rather than doubling (and rehashing) on the way.
        let (low, high) = addrs.size_hint();
        let incoming = high.unwrap_or(low);
        self.make_room(incoming);
        let mut kept = Vec::with_capacity(incoming.min(FEW));
        for addr in addrs {
            if requested.is_none_or(|family| AddressFamily::of(&addr) == family)
                && self.remember(key_on(&addr, transport))
            {
                kept.push(addr);
            }
        }
        kept
    }

    /// [`Plan::accept`] for the last answer a race can get, when every address
    /// accepted before is planned (the race's last query, nothing held back): the
    /// addresses of `answer` that `admits` and the requested family allow, not planned
    /// yet and not repeated, in order. Nothing is remembered (the caller plans every
    /// one at once, and then the attempts are the record of what was seen, as after
    /// [`Plan::release_seen`]), and the answer itself is returned when it is kept
    /// whole: a short answer costs no allocation.
    pub(crate) fn accept_final<'a>(
        &mut self,
        answer: &'a [SocketAddr],
        admits: impl Fn(&SocketAddr) -> bool,
    ) -> Cow<'a, [SocketAddr]> {
        let requested = self.requested;
        let admitted =
            |a: &SocketAddr| admits(a) && requested.is_none_or(|f| AddressFamily::of(a) == f);
        let kept = match &self.seen {
            Seen::Planned if answer.len() + self.attempts.len() <= FEW => {
                let planned = &self.attempts;
                // An earlier copy of an address was refused or kept as this one would be.
                // The answer is dialed over TCP: a QUIC endpoint at the same address
                // is another endpoint.
                keep_in(answer, |i, a| {
                    admitted(a)
                        && !answer[..i].iter().any(|b| same_endpoint(a, b))
                        && !planned
                            .iter()
                            .any(|p| p.transport() == Transport::Tcp && same_endpoint(a, &p.addr))
                })
            }
            _ => Cow::Owned(self.accept(answer.iter().copied().filter(|a| admits(a)))),
        };
        self.seen = Seen::Planned;
        kept
    }

    /// Readies `seen` for `incoming` more addresses: a list while few, a set past
    /// [`FEW`]; the attempts are copied in if they were the record.
    fn make_room(&mut self, incoming: usize) {
        let known = match &self.seen {
            Seen::Planned => self.attempts.len(),
            Seen::Few(keys) => keys.len(),
            Seen::Many(_) => usize::MAX,
        };
        if let Seen::Many(set) = &mut self.seen {
            set.reserve(incoming);
            return;
        }
        let wanted = known.saturating_add(incoming);
        if wanted > FEW {
            let mut set = HashSet::with_capacity(wanted);
            match &self.seen {
                Seen::Few(keys) => set.extend(keys.iter().copied()),
                _ => set.extend(self.attempts.iter().map(attempt_key)),
            }
            self.seen = Seen::Many(set);
        } else if let Seen::Few(keys) = &mut self.seen {
            keys.reserve(incoming);
        } else {
            let mut keys = Vec::with_capacity(wanted);
            keys.extend(self.attempts.iter().map(attempt_key));
            self.seen = Seen::Few(keys);
        }
    }

    /// Remembers `key` as seen; false if it was already.
    fn remember(&mut self, key: Key) -> bool {
        match &mut self.seen {
            Seen::Many(set) => set.insert(key),
            Seen::Few(keys) if keys.contains(&key) => false,
            Seen::Few(keys) if keys.len() < FEW => {
                keys.push(key);
                true
            }
            // More than the size hint said: a set from now on.
            _ => {
                self.make_room(FEW);
                self.remember(key)
            }
        }
    }

    /// Forgets, for scheduling, the attempts `retired` names (hints an answer did not
    /// confirm, never to start): each family's first and latest due attempt and its
    /// count are taken again from the rest, so that what replaces them is due where
    /// they were. Their entries stay, for the indices that name attempts.
    pub fn retire(&mut self, retired: impl Fn(usize) -> bool) {
        self.first = [None; 2];
        self.last = [None; 2];
        self.count = [0; 2];
        self.quic = 0;
        for (i, a) in self.attempts.iter().enumerate() {
            if retired(i) {
                continue;
            }
            self.quic += usize::from(a.transport() == Transport::Quic);
            let f = index(a.family);
            let due = a.offset();
            self.first[f] = Some(self.first[f].map_or(due, |d| d.min(due)));
            self.last[f] = Some(self.last[f].map_or(due, |d| d.max(due)));
            self.count[f] += 1;
        }
    }

    /// Forgets that the addresses of the attempts `retired` names were seen (hints an
    /// answer did not confirm, just [retired](Plan::retire)): another source that
    /// carries the same endpoint (another target's answer, another record) may plan
    /// it again. Each must be an attempt still counted as seen, which a live attempt
    /// always is. Not for after [`Plan::release_seen`]: the attempts, retired ones
    /// included, are then the record again (the race releases only once no answer
    /// can plan anything more).
    pub(crate) fn forget(&mut self, retired: &[usize]) {
        if retired.is_empty() {
            return;
        }
        // The attempts can no longer be the record of what was seen: a list or a set.
        self.make_room(0);
        for &i in retired {
            let k = attempt_key(&self.attempts[i]);
            match &mut self.seen {
                Seen::Many(set) => {
                    set.remove(&k);
                }
                Seen::Few(keys) => keys.retain(|x| *x != k),
                Seen::Planned => unreachable!("made a list or a set above"),
            }
        }
    }

    /// Plans addresses already [accepted](Plan::accept), all of one family, in order:
    /// the first is due at `base` (or one spacing after that family's latest planned
    /// attempt, if later), each next one a spacing after the previous.
    pub fn schedule(&mut self, addrs: &[SocketAddr], base: Duration) {
        self.schedule_each(addrs.iter().copied(), base, Tag::NONE);
    }

    /// Frees what [`Plan::accept`] remembers of the addresses seen, when every
    /// address accepted is planned and no other answer can come (the race calls it
    /// when its last query has ended): a plan of many addresses then keeps only the
    /// attempts. Should an answer come after all, the next `accept` remembers them
    /// again from the planned attempts.
    pub(crate) fn release_seen(&mut self) {
        self.seen = Seen::Planned;
    }

    /// Every address seen, however remembered.
    fn seen_keys(&self) -> HashSet<Key> {
        match &self.seen {
            Seen::Planned => self.attempts.iter().map(attempt_key).collect(),
            Seen::Few(keys) => keys.iter().copied().collect(),
            Seen::Many(set) => set.clone(),
        }
    }

    fn schedule_each(&mut self, addrs: impl Iterator<Item = SocketAddr>, base: Duration, tag: Tag) {
        self.attempts.reserve(addrs.size_hint().0);
        for addr in addrs {
            let family = AddressFamily::of(&addr);
            let due = match self.last[index(family)] {
                Some(last) => base.max(last.saturating_add(self.options.attempt_spacing_delay)),
                None => base,
            };
            self.push(addr, due, tag);
        }
    }

    /// When the other family's first attempt is due if its addresses are known at
    /// `at`: after the preferred family's head start (the stagger, counted from the
    /// preferred family's `first_address_family_count`-th attempt), or at `at` when
    /// the preferred family has no address planned.
    pub fn base_for_other(&self, at: Duration) -> Duration {
        match self.head_start() {
            Some(start) => start.max(at),
            None => at,
        }
    }

    /// When the other family may start at the earliest, given the preferred family's
    /// planned attempts: `stagger` after the preferred family's
    /// `min(first_address_family_count, planned)`-th attempt is due. `None` while the
    /// preferred family has no address planned.
    pub fn head_start(&self) -> Option<Duration> {
        let i = index(self.preferred);
        let first = self.first[i]?;
        let count = self.count[i].min(self.options.first_address_family_count.max(1));
        let spacing = times(self.options.attempt_spacing_delay, count - 1);
        Some(
            first
                .saturating_add(spacing)
                .saturating_add(self.options.family_stagger_delay),
        )
    }

    fn push(&mut self, addr: SocketAddr, due: Duration, tag: Tag) {
        let attempt = PlannedAttempt::new(addr, due, tag);
        let i = index(attempt.family);
        self.first[i].get_or_insert(due);
        self.last[i] = Some(due);
        self.count[i] += 1;
        self.quic += usize::from(tag.transport() == Transport::Quic);
        self.attempts.push(attempt);
    }

    /// Whether two families, or two transports, race, and so several attempts may
    /// be in flight.
    pub fn mode(&self) -> Mode {
        let families = self.count[0] > 0 && self.count[1] > 0;
        let transports = self.quic > 0 && self.quic < self.count[0] + self.count[1];
        if self.options.enable && (families || transports) {
            Mode::Race
        } else {
            Mode::Sequential
        }
    }

    /// The family dialed first.
    pub fn preferred(&self) -> AddressFamily {
        self.preferred
    }

    /// Makes `family` the one dialed first (`follow_resolver_order`); only before any
    /// address is planned.
    pub fn set_preferred(&mut self, family: AddressFamily) {
        if self.attempts.is_empty() {
            self.preferred = family;
        }
    }

    /// The options the plan follows.
    pub fn options(&self) -> &HappyEyeballsOptions {
        &self.options
    }

    /// The family requested, if only one may be dialed.
    pub fn requested(&self) -> Option<AddressFamily> {
        self.requested
    }

    /// The most attempts in flight at once: the options' cap when two families race,
    /// one otherwise.
    pub fn max_in_flight(&self) -> usize {
        match self.mode() {
            Mode::Race => self.options.max_concurrent_attempts,
            Mode::Sequential => 1,
        }
    }

    /// How many QUIC endpoints are planned.
    pub fn quic_count(&self) -> usize {
        self.quic
    }

    /// How many addresses of `family` are planned.
    pub fn count(&self, family: AddressFamily) -> usize {
        self.count[index(family)]
    }

    /// Where attempt `plan_index` goes among those not started yet: by due time, the
    /// preferred family first on a tie, then in the order planned. With racing
    /// disabled, in the order planned (resolver order).
    pub fn order_key(&self, plan_index: usize) -> (Duration, bool, usize) {
        if !self.options.enable {
            return (Duration::ZERO, false, plan_index);
        }
        let a = &self.attempts[plan_index];
        (a.offset(), a.family != self.preferred, plan_index)
    }

    /// The attempts in the order they were planned; for a plan made by [`Plan::new`],
    /// plan order.
    pub fn attempts(&self) -> &[PlannedAttempt] {
        &self.attempts
    }

    /// The addresses, in the order planned.
    pub fn addresses(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.attempts.iter().map(|a| a.addr)
    }

    /// The addresses, in the order planned, in the plan's own buffer (collected in
    /// place: a `PlannedAttempt` is aligned as a `SocketAddr` and larger), so that a
    /// report keeps them without ever holding the plan and a copy at once.
    pub fn into_addresses(self) -> Vec<SocketAddr> {
        self.attempts.into_iter().map(|a| a.addr).collect()
    }

    /// [`Plan::into_addresses`] from a plan kept in place, which is left with no
    /// attempt and nothing seen.
    pub fn take_addresses(&mut self) -> Vec<SocketAddr> {
        self.seen = Seen::Planned;
        self.first = [None; 2];
        self.last = [None; 2];
        self.count = [0; 2];
        self.quic = 0;
        let attempts = std::mem::take(&mut self.attempts);
        attempts.into_iter().map(|a| a.addr).collect()
    }
}

fn index(family: AddressFamily) -> usize {
    match family {
        AddressFamily::V4 => 0,
        AddressFamily::V6 => 1,
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

/// The addresses of one answer that are of the requested family, without duplicate
/// endpoints, first kept, in order: the answer itself when that is all of it (no
/// copy), found by a scan when it is short ([`FEW`] at most: no set).
fn kept_of(resolved: &[SocketAddr], requested: Option<AddressFamily>) -> Cow<'_, [SocketAddr]> {
    let admitted = |a: &SocketAddr| requested.is_none_or(|family| AddressFamily::of(a) == family);
    if resolved.len() <= FEW {
        keep_in(resolved, |i, a| {
            admitted(a) && !resolved[..i].iter().any(|b| same_endpoint(a, b))
        })
    } else {
        let mut seen = HashSet::with_capacity(resolved.len());
        keep_in(resolved, |_, a| admitted(a) && seen.insert(key(a)))
    }
}

/// The addresses `keep` (given each one's index) says to keep, in order; the slice
/// itself when it keeps them all.
fn keep_in(
    resolved: &[SocketAddr],
    mut keep: impl FnMut(usize, &SocketAddr) -> bool,
) -> Cow<'_, [SocketAddr]> {
    let Some(dropped) = resolved.iter().enumerate().position(|(i, a)| !keep(i, a)) else {
        return Cow::Borrowed(resolved);
    };
    let mut kept = Vec::with_capacity(resolved.len() - 1);
    kept.extend_from_slice(&resolved[..dropped]);
    for (i, a) in resolved.iter().enumerate().skip(dropped + 1) {
        if keep(i, a) {
            kept.push(*a);
        }
    }
    Cow::Owned(kept)
}

/// Sorts `v`, made of two runs each in order (`v[..mid]` and `v[mid..]`), by `key`,
/// stably: one pass from the back, with room for the second run only.
fn merge_runs<T: Copy, K: Ord>(v: &mut [T], mid: usize, key: impl Fn(&T) -> K) {
    if mid == 0 || mid >= v.len() || key(&v[mid - 1]) <= key(&v[mid]) {
        return; // One run, or already in order.
    }
    if v.len() <= SORT_ON_STACK {
        // The standard sort takes a short slice without allocating.
        v.sort_by_key(key);
        return;
    }
    let second = v[mid..].to_vec();
    let (mut i, mut j, mut k) = (mid, second.len(), v.len());
    // Fill from the back with the larger head; on a tie the second run's goes later.
    while j > 0 {
        k -= 1;
        if i > 0 && key(&v[i - 1]) > key(&second[j - 1]) {
            v[k] = v[i - 1];
            i -= 1;
        } else {
            v[k] = second[j - 1];
            j -= 1;
        }
    }
}

/// The addresses without duplicate endpoints (see [`endpoint_key`]), first kept, in order.
pub fn unique(addrs: impl Iterator<Item = SocketAddr>) -> Vec<SocketAddr> {
    // A filtered iterator's lower bound is 0: size the set for the upper bound.
    let (low, high) = addrs.size_hint();
    let mut seen = HashSet::with_capacity(high.unwrap_or(low));
    addrs.filter(|a| seen.insert(key(a))).collect()
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

/// [`endpoint_key`], packed: the address's 128 bits (an IPv4 address in the low 32),
/// then the family, the port and the scope id in the third word.
fn key(addr: &SocketAddr) -> Key {
    let (bits, family, scope) = match addr {
        SocketAddr::V4(v4) => (u128::from(v4.ip().to_bits()), 4_u64, 0),
        SocketAddr::V6(v6) => (v6.ip().to_bits(), 6, v6.scope_id()),
    };
    [
        (bits >> 64) as u64,
        bits as u64,
        family << 48 | u64::from(addr.port()) << 32 | u64::from(scope),
    ]
}

/// [`key`] for an endpoint dialed over `transport`: a QUIC endpoint's key has a bit
/// of its own (above the family), so that it never equals the TCP one's.
fn key_on(addr: &SocketAddr, transport: Transport) -> Key {
    let mut k = key(addr);
    if transport == Transport::Quic {
        k[2] |= 1 << 63;
    }
    k
}

/// The key of a planned attempt's endpoint, its transport included.
fn attempt_key(a: &PlannedAttempt) -> Key {
    key_on(&a.addr, a.transport())
}

/// Whether two addresses are the same endpoint ([`endpoint_key`]): equal but for an
/// IPv6 flow label.
fn same_endpoint(a: &SocketAddr, b: &SocketAddr) -> bool {
    match (a, b) {
        (SocketAddr::V4(a), SocketAddr::V4(b)) => a == b,
        (SocketAddr::V6(a), SocketAddr::V6(b)) => {
            a.ip() == b.ip() && a.port() == b.port() && a.scope_id() == b.scope_id()
        }
        _ => false,
    }
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
            .map(|a| (a.addr.to_string(), a.offset().as_millis() as u64))
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
        let options = HappyEyeballsOptions::default().with_prefer_ipv6(false);
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
        // The offsets are the race schedule, should the other family join later; a
        // sequential plan starts each attempt when the previous one failed.
        assert_eq!(
            layout(&plan),
            [("127.0.0.2:80".into(), 0), ("127.0.0.1:80".into(), 125)]
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
    fn a_planned_offset_is_kept_whole() {
        for offset in [
            Duration::ZERO,
            Duration::from_millis(250),
            Duration::new(5_000_000_000, 7),
            Duration::MAX,
        ] {
            let attempt = PlannedAttempt::new(addr("[::1]:443"), offset, Tag::NONE);
            assert_eq!(attempt.offset(), offset);
            assert_eq!(attempt.family, AddressFamily::V6);
        }
        let shown = format!(
            "{:?}",
            PlannedAttempt::new(addr("10.0.0.1:80"), Duration::from_millis(5), Tag::NONE)
        );
        assert!(shown.contains("offset: 5ms"), "{shown}");
    }

    #[test]
    fn merging_two_runs_is_a_stable_sort() {
        // Keys with ties across and within runs, on both sides of the stack threshold;
        // with `lift`, the first run starts above the second (whose head then goes
        // first, past the first run's whole length).
        for lift in [0, 10] {
            for len in [0, 1, 2, 5, SORT_ON_STACK, SORT_ON_STACK + 1, 300] {
                for mid in [0, len / 3, len / 2, len] {
                    let mut v: Vec<(u32, usize)> = (0..len)
                        .map(|i| {
                            let key = if i < mid {
                                i * 7 / 5 + lift
                            } else {
                                (i - mid) * 7 / 5 + 1
                            };
                            (u32::try_from(key).unwrap(), i)
                        })
                        .collect();
                    let mut expected = v.clone();
                    expected.sort_by_key(|e| e.0);
                    merge_runs(&mut v, mid, |e| e.0);
                    assert_eq!(v, expected, "lift {lift}, len {len}, mid {mid}");
                }
            }
        }
    }

    #[test]
    fn kept_addresses_borrow_the_answer_unless_some_are_dropped() {
        let many: Vec<SocketAddr> = (0..40)
            .map(|i| SocketAddr::from(([10, 0, 0, i], 80)))
            .collect();
        for answer in [&many[..3], &many[..]] {
            assert!(matches!(kept_of(answer, None), Cow::Borrowed(_)));
            let mut dup = answer.to_vec();
            dup.insert(1, answer[answer.len() - 1]);
            dup.push(addr("[::1]:80"));
            let kept = kept_of(&dup, Some(AddressFamily::V4));
            let expected: Vec<_> = std::iter::once(answer[0])
                .chain(std::iter::once(answer[answer.len() - 1]))
                .chain(answer[1..answer.len() - 1].iter().copied())
                .collect();
            assert_eq!(kept.as_ref(), &expected[..]);
            assert_eq!(
                kept.as_ref(),
                &unique(dup.iter().copied().filter(|a| a.is_ipv4()))[..]
            );
        }
    }

    #[test]
    fn accept_moves_from_a_list_to_a_set_without_forgetting() {
        let mut plan = Plan::empty(&HappyEyeballsOptions::default(), None);
        let addrs: Vec<SocketAddr> = (0..40)
            .map(|i| SocketAddr::from(([10, 0, 0, i], 80)))
            .collect();
        // One by one, through an iterator that gives no size: past FEW, a set.
        for (i, a) in addrs.iter().enumerate() {
            let once = std::iter::once(*a).filter(|_| true);
            assert_eq!(plan.accept(once), [*a], "address {i}");
        }
        assert!(matches!(plan.seen, Seen::Many(_)));
        assert!(plan.accept(addrs.iter().copied()).is_empty());
        // Released, then an answer again: the planned attempts are what was seen.
        let mut plan = Plan::new(&addrs[..3], &HappyEyeballsOptions::default(), None).unwrap();
        assert!(matches!(plan.seen, Seen::Planned));
        assert_eq!(plan.accept(addrs[..5].iter().copied()), addrs[3..5]);
        assert!(matches!(plan.seen, Seen::Few(_)));
        plan.release_seen();
        assert_eq!(plan.accept(addrs.iter().copied()), addrs[3..]);
        let released = Plan::new(&addrs[..3], &HappyEyeballsOptions::default(), None).unwrap();
        let mut remembered = Plan::empty(&HappyEyeballsOptions::default(), None);
        let kept = remembered.accept(addrs[..3].iter().copied());
        remembered.schedule_answer(&kept, Duration::ZERO, true);
        assert_eq!(released, remembered);
    }

    #[test]
    fn a_forgotten_address_is_accepted_again_and_only_it() {
        let addrs: Vec<SocketAddr> = (0..40)
            .map(|i| SocketAddr::from(([10, 0, 0, i], 80)))
            .collect();
        // The attempts as the record (Plan::new), a list (a few) and a set (many).
        for n in [3, 5, 40] {
            let mut plan = Plan::new(&addrs[..n], &HappyEyeballsOptions::default(), None).unwrap();
            if n > 3 {
                plan.release_seen();
                assert!(plan.accept(addrs[..n].iter().copied()).is_empty());
            }
            let many = matches!(plan.seen, Seen::Many(_));
            let few = matches!(plan.seen, Seen::Few(_));
            assert_eq!((few, many), (n == 5, n == 40), "{n}");
            plan.forget(&[1]);
            assert_eq!(plan.accept(addrs[..n].iter().copied()), [addrs[1]], "{n}");
        }
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
