//! The sans-IO race that resolves as it goes (`Race::resolving`), fed arbitrary
//! interleavings of DNS answers (addresses from a small pool, so that duplicates across
//! answers are common, including addresses of the wrong family for the query, or a
//! lookup failure of any kind), attempt results, late and bogus reports, timeouts and a
//! cancellation, at non-decreasing instants. After every step a model of the driver
//! checks that the race sends its queries first and once, starts only addresses an
//! earlier answer carried (of the query's family and of the requested family), never
//! the same endpoint twice, never more attempts than its cap, the first one within the
//! resolution delay of the first usable answer, nothing after its end; that it ends
//! exactly once with the outcome the inputs dictate, every query and attempt record
//! ended and printable; and that `poll_timeout` is `None` exactly when it is over and
//! otherwise after the present. It never panics.
//!
//! Shared by the fuzz target `resolving_race` and the corpus replay test.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::{Duration, Instant};

use crate::common::{self, Failure};
use arbitrary::Unstructured;
use turbohttp_proto::dns::{LookupFailure, LookupFailureKind, QueryType};
use turbohttp_proto::plan::Mode;
use turbohttp_proto::race::{Event, Outcome, Race};
use turbohttp_proto::{
    AddressFamily, AttemptOutcome, AttemptPhase, HappyEyeballsOptions, MIN_DELAY, QueryOutcome,
};

/// Steps per case, before the race is run to its end on time alone.
const MAX_OPS: usize = 256;
/// `connect` caps the timeout at about thirty years.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);
/// The most addresses in one answer.
const MAX_ANSWER: usize = 6;

const LOOKUP_FAILURES: [LookupFailureKind; 7] = [
    LookupFailureKind::NxDomain,
    LookupFailureKind::NoData,
    LookupFailureKind::ServFail,
    LookupFailureKind::Refused,
    LookupFailureKind::TimedOut,
    LookupFailureKind::BadAnswer,
    LookupFailureKind::Other,
];

type Answer = Result<Vec<SocketAddr>, LookupFailure>;
type Key = (IpAddr, u16, u32);

/// Runs the check on one input.
pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(mut harness) = Harness::decode(&mut u) else {
        return;
    };
    // The driver's first poll: the queries go out.
    harness.poll();
    for _ in 0..MAX_OPS {
        if u.is_empty() {
            break;
        }
        let Ok(op) = Op::decode(&mut u) else {
            break;
        };
        if harness.apply(&mut u, op).is_err() {
            break;
        }
        harness.poll();
    }
    harness.run_to_completion();
}

#[derive(Debug, Clone, Copy)]
enum Op {
    /// Time passes (the race learns of it with the next input).
    Advance(Duration),
    /// A pending query answers.
    Answer,
    /// Every pending query answers at the same instant (one batch of the driver).
    AnswerAll,
    /// An answer for a query that has ended, or that was never sent.
    BogusAnswer,
    /// A running attempt connects.
    Connected,
    /// A running attempt fails.
    Failed(Failure),
    /// Several running attempts report at the same instant.
    Burst,
    /// An attempt that has ended, or was never started, reports (connected or failed).
    Late(bool),
    /// The caller cancels.
    Cancel,
    /// Time jumps to the race's next wake-up and the race is told.
    Wake,
    /// The race is told the time.
    Timeout,
}

impl Op {
    fn decode(u: &mut Unstructured<'_>) -> arbitrary::Result<Self> {
        Ok(match u.int_in_range(0u8..=19)? {
            0..=2 => Self::Advance(match u.int_in_range(0u8..=3)? {
                0 => Duration::ZERO,
                1 => Duration::from_nanos(u.int_in_range(1..=1_000)?),
                _ => Duration::from_millis(u.int_in_range(1..=500)?),
            }),
            3..=5 => Self::Answer,
            6 => Self::AnswerAll,
            7 => Self::BogusAnswer,
            8 | 9 => Self::Connected,
            10..=12 => Self::Failed(*u.choose(&Failure::ALL)?),
            13 => Self::Burst,
            14 => Self::Late(u.arbitrary()?),
            15 => Self::Cancel,
            16 | 17 => Self::Wake,
            _ => Self::Timeout,
        })
    }
}

/// The addresses answers are drawn from: few, so that answers repeat each other; the
/// same endpoint with another flow label; the same IPv6 address on another interface;
/// an IPv4-mapped IPv6 address (another endpoint than its IPv4 twin).
fn pool() -> [SocketAddr; 14] {
    let v4 = |last, port| SocketAddr::new(Ipv4Addr::new(192, 0, 2, last).into(), port);
    let v6 =
        |ip: Ipv6Addr, port, flow, scope| SocketAddr::V6(SocketAddrV6::new(ip, port, flow, scope));
    let doc = |last| Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last);
    let link = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    [
        v4(1, 443),
        v4(2, 443),
        v4(3, 443),
        v4(4, 443),
        v4(1, 80),
        v6(doc(1), 443, 0, 0),
        v6(doc(2), 443, 0, 0),
        v6(doc(3), 443, 0, 0),
        v6(doc(4), 443, 0, 0),
        v6(doc(1), 80, 0, 0),
        v6(link, 443, 0, 1),
        v6(link, 443, 7, 1),
        v6(link, 443, 0, 2),
        v6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped(), 443, 0, 0),
    ]
}

fn answer(u: &mut Unstructured<'_>) -> arbitrary::Result<Answer> {
    if u.ratio(1, 4)? {
        let kind = *u.choose(&LOOKUP_FAILURES)?;
        return Ok(Err(LookupFailure::new(kind, "the resolver said no")));
    }
    let pool = pool();
    let len = u.int_in_range(0..=MAX_ANSWER)?;
    let mut addrs = Vec::with_capacity(len);
    for _ in 0..len {
        addrs.push(if u.ratio(1, 16)? {
            common::address(u)?
        } else {
            *u.choose(&pool)?
        });
    }
    Ok(Ok(addrs))
}

fn key(addr: &SocketAddr) -> Key {
    common::endpoint_key(addr)
}

/// Whether a query of type `kind` keeps an address of `family`.
fn of_kind(kind: QueryType, family: AddressFamily) -> bool {
    kind.family().is_none_or(|asked| asked == family)
}

/// An answer the race took, and when.
#[derive(Debug, Clone)]
struct Taken {
    at: Duration,
    answer: Answer,
}

/// The driver's view of the race, and what it has told the race.
struct Harness {
    race: Race,
    options: HappyEyeballsOptions,
    requested: Option<AddressFamily>,
    kinds: Vec<QueryType>,
    t0: Instant,
    deadline: Instant,
    /// The latest instant given to the race.
    now: Instant,
    /// The harness clock (may run ahead of what the race has been told).
    clock: Instant,
    /// `Resolve` events seen.
    resolves: usize,
    /// Per query, the answer the race took (the query was pending, the race running).
    answers: Vec<Option<Taken>>,
    /// Addresses the race may dial (of their query's type and the requested family),
    /// as carried by the answers taken, duplicates included, with when.
    carried: Vec<(SocketAddr, Duration)>,
    /// When the first answer with an address the race may dial came.
    first_usable: Option<Duration>,
    /// With racing on, when the first attempt must have started by: at the first
    /// usable answer, or a resolution delay later if that answer is the other family's
    /// and the preferred family's query is pending; `None` if never (or past the end
    /// of time).
    first_start_by: Option<Duration>,
    /// If the first usable answer must wait for the preferred family's: until when
    /// (`None`: past the end of time), and the preferred family's query.
    hold: Option<(Option<Duration>, usize)>,
    /// What `Race::first_answer` must say.
    expected_first_answer: Option<Duration>,
    /// Attempt number -> address, from the Start events.
    started: Vec<SocketAddr>,
    /// Attempts started and not ended (as the driver knows from the events).
    running: Vec<usize>,
    /// Connections reported and not yet handed back or returned as the winner.
    held: Vec<usize>,
    /// Late (or bogus) connections reported, waiting to be handed back with a Cancel.
    late_held: Vec<usize>,
    /// Failures reported for running attempts.
    failures: HashMap<usize, Failure>,
    /// Decisive results (connected, or a terminal failure) reported since the last
    /// poll for attempts the race had in flight: (attempt, connected).
    batch: Vec<(usize, bool)>,
    cancelled: bool,
    /// Attempts running after the previous poll, and how many attempts had started.
    open_at_last_poll: Vec<usize>,
    started_at_last_poll: usize,
    /// The outcome, and when (from `t0`) the race ended.
    finished: Option<(Outcome, Duration)>,
    winner: Option<usize>,
}

impl Harness {
    fn decode(u: &mut Unstructured<'_>) -> arbitrary::Result<Self> {
        let mut options = common::valid_options(u)?;
        options.resolution_delay = common::delay(u)?.max(MIN_DELAY);
        // At most one fewer than may be in flight: the last slot is the other family's.
        options.first_address_family_count = u
            .int_in_range(1..=4)?
            .min(options.max_concurrent_attempts - 1);
        options.follow_resolver_order = u.arbitrary()?;
        assert_eq!(options.validate(), Ok(()));
        let requested = common::family(u)?;
        let per_family = !u.ratio(1, 4)?;
        let kinds = match (per_family, requested) {
            (false, _) => vec![QueryType::AddrInfo],
            (true, Some(AddressFamily::V6)) => vec![QueryType::Aaaa],
            (true, Some(AddressFamily::V4)) => vec![QueryType::A],
            (true, None) if options.prefer_ipv6 => vec![QueryType::Aaaa, QueryType::A],
            (true, None) => vec![QueryType::A, QueryType::Aaaa],
        };
        let timeout = match u.int_in_range(0u8..=7)? {
            0 => Duration::from_millis(u.int_in_range(1..=50)?),
            1 => Duration::new(u.int_in_range(0..=FAR_FUTURE.as_secs())?, 1),
            _ => Duration::from_millis(u.int_in_range(1..=5_000)?),
        };
        // The driver halves the head start of a timeout shorter than the stagger.
        if !u.ratio(1, 4)? {
            options = options.for_timeout(timeout);
        }
        let t0 = Instant::now();
        let deadline = t0 + timeout;
        Ok(Self {
            race: Race::resolving(&options, requested, &kinds, t0, deadline),
            options,
            requested,
            answers: vec![None; kinds.len()],
            kinds,
            t0,
            deadline,
            now: t0,
            clock: t0,
            resolves: 0,
            carried: Vec::new(),
            first_usable: None,
            first_start_by: None,
            hold: None,
            expected_first_answer: None,
            started: Vec::new(),
            running: Vec::new(),
            held: Vec::new(),
            late_held: Vec::new(),
            failures: HashMap::new(),
            batch: Vec::new(),
            cancelled: false,
            open_at_last_poll: Vec::new(),
            started_at_last_poll: 0,
            finished: None,
            winner: None,
        })
    }

    fn tell(&mut self) -> Instant {
        self.now = self.clock;
        self.now
    }

    fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    fn pending_queries(&self) -> Vec<usize> {
        (0..self.kinds.len())
            .filter(|q| self.answers[*q].is_none())
            .collect()
    }

    /// Draws every choice of the step first, then tells the race: a step cut short by
    /// the end of the input tells the race nothing.
    fn apply(&mut self, u: &mut Unstructured<'_>, op: Op) -> arbitrary::Result<()> {
        match op {
            Op::Advance(d) => self.clock += d,
            Op::Answer => {
                let Some(query) = pick(u, &self.pending_queries())? else {
                    return Ok(());
                };
                let answer = answer(u)?;
                let now = self.tell();
                self.deliver(now, query, answer);
            }
            Op::AnswerAll => {
                let mut queries = self.pending_queries();
                if queries.is_empty() {
                    return Ok(());
                }
                if u.arbitrary()? {
                    queries.reverse();
                }
                let answers = queries
                    .iter()
                    .map(|_| answer(u))
                    .collect::<arbitrary::Result<Vec<_>>>()?;
                let now = self.tell();
                for (query, answer) in queries.into_iter().zip(answers) {
                    self.deliver(now, query, answer);
                }
            }
            Op::BogusAnswer => {
                let ended: Vec<usize> = (0..self.kinds.len())
                    .filter(|q| self.answers[*q].is_some() || self.finished.is_some())
                    .chain(self.kinds.len()..self.kinds.len() + 2)
                    .chain([usize::MAX])
                    .collect();
                let Some(query) = pick(u, &ended)? else {
                    return Ok(());
                };
                let answer = answer(u)?;
                let now = self.tell();
                self.deliver(now, query, answer);
            }
            Op::Connected => {
                let Some(attempt) = pick(u, &self.running)? else {
                    return Ok(());
                };
                self.connected(attempt);
            }
            Op::Failed(failure) => {
                let Some(attempt) = pick(u, &self.running)? else {
                    return Ok(());
                };
                self.failed(attempt, failure);
            }
            Op::Burst => {
                let mut results = Vec::new();
                let mut running = self.running.clone();
                while !running.is_empty() && results.len() < 3 && u.arbitrary()? {
                    let i = u.int_in_range(0..=running.len() - 1)?;
                    let attempt = running.remove(i);
                    let result: Option<Failure> = if u.arbitrary()? {
                        None
                    } else {
                        Some(*u.choose(&Failure::ALL)?)
                    };
                    results.push((attempt, result));
                }
                // One instant: `connected` and `failed` tell the race the same time.
                for (attempt, result) in results {
                    match result {
                        None => self.connected(attempt),
                        Some(failure) => self.failed(attempt, failure),
                    }
                }
            }
            Op::Late(connected) => {
                let ended: Vec<usize> = (0..self.started.len())
                    .filter(|a| !self.running.contains(a) && !self.held.contains(a))
                    .chain(self.started.len()..self.started.len() + 2)
                    .collect();
                let Some(attempt) = pick(u, &ended)? else {
                    return Ok(());
                };
                let now = self.tell();
                if connected {
                    self.race.handle_connected(now, attempt);
                    self.late_held.push(attempt);
                } else {
                    self.race
                        .handle_failed(now, attempt, &Failure::Refused.error());
                }
            }
            Op::Cancel => {
                let now = self.tell();
                self.race.handle_cancel(now);
                self.cancelled = true;
            }
            Op::Wake => {
                // As the driver: sleep until the wake-up, tell the race.
                if let Some(wake) = self.race.poll_timeout() {
                    self.clock = self.clock.max(wake);
                    let now = self.tell();
                    self.race.handle_timeout(now);
                }
            }
            Op::Timeout => {
                let now = self.tell();
                self.race.handle_timeout(now);
            }
        }
        Ok(())
    }

    fn connected(&mut self, attempt: usize) {
        self.running.retain(|a| *a != attempt);
        let now = self.tell();
        self.race.handle_connected(now, attempt);
        self.held.push(attempt);
        self.batch.push((attempt, true));
    }

    fn failed(&mut self, attempt: usize, failure: Failure) {
        self.running.retain(|a| *a != attempt);
        let now = self.tell();
        self.race.handle_failed(now, attempt, &failure.error());
        self.failures.insert(attempt, failure);
        if failure == Failure::Rejected {
            self.batch.push((attempt, false));
        }
    }

    /// Hands an answer to the race, and notes what the race must make of it: it takes
    /// the answer of a query still pending while it runs, and ignores any other.
    fn deliver(&mut self, now: Instant, query: usize, answer: Answer) {
        let taken =
            self.finished.is_none() && query < self.kinds.len() && self.answers[query].is_none();
        if taken {
            let at = now - self.t0;
            let kind = self.kinds[query];
            if let Ok(addrs) = &answer {
                let usable: Vec<SocketAddr> = addrs
                    .iter()
                    .copied()
                    .filter(|a| self.usable(kind, a))
                    .collect();
                if !usable.is_empty() && self.first_usable.is_none() {
                    self.first_usable = Some(at);
                    if self.options.enable {
                        self.expected_first_answer = Some(at);
                        self.first_usable_came(kind, at);
                    }
                }
                self.carried.extend(usable.into_iter().map(|a| (a, at)));
            }
            self.answers[query] = Some(Taken {
                at,
                answer: answer.clone(),
            });
            if !self.options.enable
                && self.answers.iter().all(Option::is_some)
                && !self.carried.is_empty()
            {
                // Racing off: every answer waits for the last one.
                self.expected_first_answer = Some(at);
            }
        }
        self.race.handle_answer(now, query, answer);
    }

    /// The resolution delay: an answer of the other family that comes first waits a
    /// while for the preferred family's, unless the first answer leads
    /// (`follow_resolver_order`).
    fn first_usable_came(&mut self, kind: QueryType, at: Duration) {
        let preferred = self.options.preferred_family();
        let (preferred_kind, other_kind) = match preferred {
            AddressFamily::V6 => (QueryType::Aaaa, QueryType::A),
            AddressFamily::V4 => (QueryType::A, QueryType::Aaaa),
        };
        let preferred_pending = (0..self.kinds.len())
            .find(|q| self.kinds[*q] == preferred_kind && self.answers[*q].is_none());
        match preferred_pending {
            Some(query) if kind == other_kind && !self.options.follow_resolver_order => {
                let until = at.checked_add(self.options.resolution_delay);
                self.first_start_by = until;
                self.hold = Some((until, query));
            }
            _ => self.first_start_by = Some(at),
        }
    }

    fn usable(&self, kind: QueryType, addr: &SocketAddr) -> bool {
        let family = AddressFamily::of(addr);
        of_kind(kind, family) && self.requested.is_none_or(|r| r == family)
    }

    /// When the answers first carried the endpoint `key`, if they did.
    fn carried_at(&self, key: Key) -> Option<Duration> {
        self.carried
            .iter()
            .find(|(a, _)| common::endpoint_key(a) == key)
            .map(|(_, at)| *at)
    }

    fn carried_families(&self) -> usize {
        let families: HashSet<AddressFamily> = self
            .carried
            .iter()
            .map(|(a, _)| AddressFamily::of(a))
            .collect();
        families.len()
    }

    /// With racing off, the order of the dial: the answers in query order, each in
    /// resolver order, duplicates dropped.
    fn sequential_order(&self) -> Vec<SocketAddr> {
        let mut seen = HashSet::new();
        let mut order = Vec::new();
        for (query, taken) in self.answers.iter().enumerate() {
            if let Some(Taken {
                answer: Ok(addrs), ..
            }) = taken
            {
                for addr in addrs {
                    if self.usable(self.kinds[query], addr) && seen.insert(key(addr)) {
                        order.push(*addr);
                    }
                }
            }
        }
        order
    }

    /// Drains the events, as the driver does before it waits, and checks the state.
    /// Returns when to wake.
    fn poll(&mut self) -> Option<Instant> {
        while let Some(event) = self.race.poll_event() {
            self.on_event(event);
        }
        self.batch.clear();
        let wake = self.race.poll_timeout();
        assert_eq!(self.race.poll_event(), None, "poll_timeout made new events");
        match (self.finished, wake) {
            (Some(_), None) => {}
            (None, Some(wake)) => {
                assert!(
                    wake > self.now,
                    "asked to wake at {:?}, not after now ({:?})",
                    wake - self.t0,
                    self.elapsed()
                );
                assert!(wake <= self.deadline, "wake-up after the deadline");
            }
            (finished, wake) => panic!("finished {finished:?} but poll_timeout {wake:?}"),
        }
        assert_eq!(self.resolves, self.kinds.len(), "queries not all sent");
        if let Some(wake) = wake
            && self.options.enable
            && self.started.is_empty()
            && let Some(by) = self.first_start_by.and_then(|by| self.t0.checked_add(by))
        {
            // A driver that sleeps until the wake-up is not late for the first attempt.
            assert!(
                wake <= by,
                "wake at {:?}, after the first attempt is due at {:?}",
                wake - self.t0,
                by - self.t0
            );
        }
        self.check_state();
        self.check_early_starts();
        self.open_at_last_poll = self.running.clone();
        self.started_at_last_poll = self.started.len();
        wake
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Resolve { query, kind } => {
                assert_eq!(query, self.resolves, "queries are numbered in order");
                assert_eq!(kind, self.kinds[query]);
                assert!(
                    self.started.is_empty() && self.finished.is_none(),
                    "queries go out first"
                );
                self.resolves += 1;
            }
            Event::Start { attempt, addr } => {
                assert!(self.finished.is_none(), "start after the finish");
                assert_eq!(attempt, self.started.len(), "attempts numbered in order");
                let family = AddressFamily::of(&addr);
                assert!(
                    self.requested.is_none_or(|r| r == family),
                    "{addr} not of the requested family {:?}",
                    self.requested
                );
                assert!(
                    self.carried.iter().any(|(a, _)| *a == addr),
                    "{addr} started, but no answer (of its family) carried it: {:?}",
                    self.carried
                );
                assert!(
                    !self.started.iter().any(|a| key(a) == key(&addr)),
                    "{addr} started twice: {:?}",
                    self.started
                );
                if self.options.enable {
                    // The first of an endpoint's spellings is the one dialed.
                    let first = self
                        .carried
                        .iter()
                        .find(|(a, _)| key(a) == key(&addr))
                        .map(|(a, _)| *a);
                    assert_eq!(first, Some(addr));
                } else {
                    let order = self.sequential_order();
                    assert_eq!(
                        order.get(attempt),
                        Some(&addr),
                        "racing off dials the answers in query order: {order:?}"
                    );
                }
                self.started.push(addr);
                self.running.push(attempt);
                let cap = if self.options.enable && self.carried_families() == 2 {
                    self.options.max_concurrent_attempts
                } else {
                    1
                };
                let sockets = self.running.len() + self.held.len();
                assert!(sockets <= cap, "{sockets} sockets open, cap {cap}");
                assert!(sockets <= self.race.plan().max_in_flight());
            }
            Event::Cancel { attempt } => {
                let known = self.running.contains(&attempt)
                    || self.held.contains(&attempt)
                    || self.late_held.contains(&attempt);
                assert!(known, "cancel of attempt {attempt}, which holds nothing");
                self.running.retain(|a| *a != attempt);
                self.held.retain(|a| *a != attempt);
                if let Some(pos) = self.late_held.iter().position(|a| *a == attempt) {
                    self.late_held.remove(pos);
                }
            }
            Event::Finished(outcome) => {
                assert!(self.finished.is_none(), "finished twice");
                assert!(
                    self.running.is_empty(),
                    "finished with {:?} running",
                    self.running
                );
                self.check_outcome(outcome);
                self.finished = Some((outcome, self.elapsed()));
                if let Outcome::Connected { attempt } = outcome {
                    assert_eq!(self.held, [attempt], "the winner's stream is the one held");
                    self.winner = Some(attempt);
                    self.held.clear();
                } else {
                    assert!(self.held.is_empty(), "streams held after {outcome:?}");
                }
            }
        }
    }

    fn plan_index(&self, addr: &SocketAddr) -> usize {
        self.race
            .plan()
            .attempts()
            .iter()
            .position(|p| key(&p.addr) == key(addr))
            .expect("started, so planned")
    }

    /// The outcome is the one the rules dictate for the inputs since the last poll.
    fn check_outcome(&self, outcome: Outcome) {
        assert_eq!(self.race.outcome(), Some(outcome));
        let plan = self.race.plan();
        let decisive = self
            .batch
            .iter()
            .min_by_key(|(attempt, _)| plan.order_key(self.plan_index(&self.started[*attempt])))
            .copied();
        let expected = match decisive {
            Some((attempt, true)) => Outcome::Connected { attempt },
            Some((attempt, false)) => Outcome::SetupRejected { attempt },
            None if self.cancelled => Outcome::Cancelled,
            None if self.now >= self.deadline => Outcome::TimedOut,
            None => {
                // Nothing left to try or to wait for: every query has answered.
                assert!(
                    self.answers.iter().all(Option::is_some),
                    "{outcome:?} while a query is pending: {:?}",
                    self.answers
                );
                if self.carried.is_empty() {
                    assert!(self.started.is_empty());
                    // An address of the query's own type, of whatever family was
                    // requested: an A record in an AAAA answer is no address at all.
                    let any_address = self.answers.iter().zip(&self.kinds).any(|(t, kind)| {
                        t.as_ref().is_some_and(|t| {
                            t.answer.as_ref().is_ok_and(|v| {
                                v.iter().any(|a| of_kind(*kind, AddressFamily::of(a)))
                            })
                        })
                    });
                    let answers = self.answers.iter().flatten().map(|t| &t.answer);
                    let only_nodata = answers.clone().all(|a| {
                        a.as_ref().is_ok()
                            || a.as_ref()
                                .is_err_and(|f| f.kind == LookupFailureKind::NoData)
                    });
                    // Addresses, but none of the requested family; or no address and
                    // only the requested family was asked for (a one-shot lookup that
                    // found nothing found no address at all).
                    let asked_one_family = self.kinds.iter().all(|k| k.family().is_some());
                    if any_address || (only_nodata && self.requested.is_some() && asked_one_family)
                    {
                        Outcome::FamilyUnavailable
                    } else if only_nodata {
                        Outcome::NoAddresses
                    } else {
                        Outcome::Unresolved
                    }
                } else {
                    let started: HashSet<Key> = self.started.iter().map(key).collect();
                    let carried: HashSet<Key> = self.carried.iter().map(|(a, _)| key(a)).collect();
                    assert_eq!(started, carried, "gave up before dialing every address");
                    Outcome::AllAttemptsFailed
                }
            }
        };
        assert_eq!(outcome, expected, "batch {:?}", self.batch);
    }

    fn check_state(&self) {
        let records = self.race.records();
        let elapsed = self.elapsed();
        assert_eq!(records.len(), self.started.len());
        let mut endpoints = HashSet::new();
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r.attempt, i);
            assert_eq!(r.endpoint, self.started[i]);
            assert_eq!(r.family, AddressFamily::of(&r.endpoint));
            assert!(endpoints.insert(key(&r.endpoint)));
            assert!(r.started <= elapsed);
            let carried = self.carried_at(key(&r.endpoint)).expect("carried");
            assert!(
                carried <= r.started,
                "{r} started before its answer ({carried:?})"
            );
            if i > 0 {
                assert!(records[i - 1].started <= r.started, "records out of order");
            }
            match r.ended {
                None => assert!(self.running.contains(&i), "#{i} has not ended: {r}"),
                Some(ended) => {
                    assert!(!self.running.contains(&i), "#{i} ended but running: {r}");
                    assert!(r.started <= ended && ended <= elapsed, "{r}");
                }
            }
            assert!(!r.to_string().is_empty());
        }
        if let (Some((until, query)), Some(first)) = (self.hold, records.first()) {
            // The other family's answer waited for the preferred family's, or for the
            // resolution delay to run out.
            let answered = self.answers[query].as_ref().map(|t| t.at);
            let released = match (until, answered) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            assert!(
                released.is_some_and(|released| released <= first.started),
                "{first} did not wait for the preferred family's answer ({answered:?}) or \
                 the resolution delay ({until:?})"
            );
        }
        self.check_queries();
        assert_eq!(
            self.race.first_answer(),
            self.expected_first_answer,
            "first answer"
        );
        if self.finished.is_some() {
            return;
        }
        assert!(self.held.is_empty(), "connections held while the race runs");
        if let Some(by) = self.first_start_by
            && by <= elapsed
        {
            assert!(
                !records.is_empty(),
                "no attempt at {elapsed:?}, due by {by:?} (addresses since {:?})",
                self.first_usable
            );
        }
        self.check_nothing_waits();
    }

    /// Every query record says what the driver told the race, or that the race ended
    /// first.
    fn check_queries(&self) {
        let queries = self.race.queries();
        assert_eq!(queries.len(), self.kinds.len());
        for (q, record) in queries.iter().enumerate() {
            assert_eq!(record.query, self.kinds[q]);
            assert_eq!(record.started, Duration::ZERO);
            assert!(!record.to_string().is_empty());
            assert!(!record.outcome.as_str().is_empty());
            match (&self.answers[q], self.finished) {
                (Some(taken), _) => {
                    assert_eq!(record.ended, Some(taken.at), "{record}");
                    match &taken.answer {
                        Ok(addrs) => {
                            assert_eq!(
                                record.outcome,
                                QueryOutcome::Answered {
                                    addresses: addrs.len()
                                }
                            );
                            assert_eq!(&record.addresses, addrs);
                        }
                        Err(failure) => {
                            assert_eq!(record.outcome, QueryOutcome::Failed(failure.clone()));
                            assert!(record.addresses.is_empty());
                        }
                    }
                }
                (None, Some((outcome, at))) => {
                    assert_eq!(record.ended, Some(at), "{record}");
                    let expected = if outcome == Outcome::TimedOut {
                        QueryOutcome::TimedOut
                    } else {
                        QueryOutcome::Cancelled
                    };
                    assert_eq!(record.outcome, expected);
                }
                (None, None) => {
                    assert_eq!(record.ended, None);
                    assert_eq!(record.outcome, QueryOutcome::Pending);
                }
            }
        }
    }

    /// Nothing planned and due waits while a slot it may take is free.
    fn check_nothing_waits(&self) {
        let plan = self.race.plan();
        let records = self.race.records();
        let started: HashSet<Key> = self.started.iter().map(key).collect();
        let mut waiting = plan
            .attempts()
            .iter()
            .filter(|a| !started.contains(&key(&a.addr)));
        let elapsed = self.elapsed();
        match plan.mode() {
            Mode::Sequential => {
                if self.running.is_empty()
                    && let Some(next) = waiting.next()
                {
                    panic!("{} waits with nothing running", next.addr);
                }
            }
            Mode::Race => {
                let cap = plan.max_in_flight();
                assert!(self.running.len() <= cap);
                if self.running.len() >= cap {
                    return;
                }
                // Until both families have started, the one that has keeps the last
                // slot free for the other (decision 1, either way round).
                let started_any = |family| records.iter().any(|r| r.family == family);
                let running = |family| {
                    self.running
                        .iter()
                        .filter(|a| records[**a].family == family)
                        .count()
                };
                let reserved = |family: AddressFamily| {
                    !started_any(family.other()) && running(family) + 1 >= cap
                };
                for next in waiting.filter(|a| !reserved(a.family)) {
                    assert!(
                        next.offset() > elapsed,
                        "{} due at {:?} waits at {elapsed:?} with a free slot",
                        next.addr,
                        next.offset()
                    );
                }
            }
        }
    }

    /// When two families race, an attempt may start before its scheduled time only on
    /// the credit of an attempt that failed (or ran out of budget) since the last poll.
    fn check_early_starts(&self) {
        let plan = self.race.plan();
        if plan.mode() != Mode::Race {
            return;
        }
        let records = self.race.records();
        let early = records[self.started_at_last_poll..]
            .iter()
            .filter(|r| r.started < plan.attempts()[self.plan_index(&r.endpoint)].offset())
            .count();
        let paid = self
            .open_at_last_poll
            .iter()
            .filter(|a| {
                matches!(
                    records[**a].outcome,
                    AttemptOutcome::Failed | AttemptOutcome::TimedOut
                ) && records[**a].ended.is_some()
            })
            .count();
        assert!(
            early <= paid,
            "{early} early starts, {paid} failures: {records:#?} {plan:#?}"
        );
    }

    /// No more inputs: time alone must end the race, by the deadline.
    fn run_to_completion(&mut self) {
        self.poll();
        let bound = 3 * self.carried.len() + 8;
        let mut steps = 0;
        while self.finished.is_none() {
            steps += 1;
            assert!(steps <= bound, "the race does not end on time alone");
            let wake = self
                .race
                .poll_timeout()
                .expect("running races have a wake-up");
            self.clock = self.clock.max(wake);
            let now = self.tell();
            self.race.handle_timeout(now);
            self.poll();
        }
        self.check_final();
    }

    fn check_final(&mut self) {
        assert_eq!(self.race.poll_timeout(), None);
        let records = self.race.records();
        assert!(self.running.is_empty() && self.held.is_empty());
        assert!(
            self.late_held.is_empty(),
            "late connections not handed back"
        );
        for query in self.race.queries() {
            assert!(query.ended.is_some(), "{query} never ended");
            assert_ne!(query.outcome, QueryOutcome::Pending, "{query}");
        }
        let won: Vec<usize> = records
            .iter()
            .filter(|r| r.outcome == AttemptOutcome::Won)
            .map(|r| r.attempt)
            .collect();
        assert_eq!(won.first().copied(), self.winner);
        assert!(won.len() <= 1);
        let (outcome, _) = self.finished.expect("finished");
        for r in records {
            assert!(r.ended.is_some(), "{r} never ended");
            match r.outcome {
                AttemptOutcome::Won | AttemptOutcome::Cancelled => {
                    assert!(r.failure.is_none(), "{r}")
                }
                AttemptOutcome::TimedOut => {
                    let failure = r.failure.as_ref().expect("a timeout says so");
                    assert_eq!(failure.kind, io::ErrorKind::TimedOut);
                    assert_eq!(failure.os_error, None);
                }
                AttemptOutcome::Failed => {
                    let given = self.failures.get(&r.attempt).expect("failed on its own");
                    let failure = r.failure.as_ref().expect("a failure says why");
                    let (phase, os, terminal) = match given {
                        Failure::Refused => (AttemptPhase::Connect, Some(111), false),
                        Failure::Reset => (AttemptPhase::Setup, Some(104), false),
                        // Only the rejection that decided the race is marked terminal.
                        Failure::Rejected => (
                            AttemptPhase::Setup,
                            None,
                            outcome == Outcome::SetupRejected { attempt: r.attempt },
                        ),
                        Failure::NoRoute => (AttemptPhase::Connect, None, false),
                    };
                    assert_eq!(
                        (failure.phase, failure.os_error, failure.terminal),
                        (phase, os, terminal),
                        "{r}"
                    );
                }
                other => panic!("unknown outcome {other:?}"),
            }
        }
        match outcome {
            Outcome::Connected { attempt } => {
                assert_eq!(records[attempt].outcome, AttemptOutcome::Won)
            }
            Outcome::SetupRejected { attempt } => {
                assert_eq!(self.failures.get(&attempt), Some(&Failure::Rejected));
                assert!(
                    records[attempt]
                        .failure
                        .as_ref()
                        .is_some_and(|f| f.terminal)
                );
            }
            Outcome::TimedOut => assert!(self.now >= self.deadline),
            Outcome::Cancelled => assert!(self.cancelled),
            Outcome::AllAttemptsFailed => {
                let started: HashSet<Key> = self.started.iter().map(key).collect();
                let carried: HashSet<Key> = self.carried.iter().map(|(a, _)| key(a)).collect();
                assert_eq!(started, carried);
                assert!(records.iter().all(|r| matches!(
                    r.outcome,
                    AttemptOutcome::Failed | AttemptOutcome::TimedOut
                )));
            }
            Outcome::Unresolved | Outcome::NoAddresses | Outcome::FamilyUnavailable => {
                assert!(records.is_empty(), "{outcome:?} after dialing");
                assert!(self.carried.is_empty());
            }
            other => panic!("unknown outcome {other:?}"),
        }
    }
}

/// One of `from`, or `None` if it is empty.
fn pick(u: &mut Unstructured<'_>, from: &[usize]) -> arbitrary::Result<Option<usize>> {
    if from.is_empty() {
        return Ok(None);
    }
    Ok(Some(from[u.int_in_range(0..=from.len() - 1)?]))
}
