//! The race as a sans-IO state machine: DNS answers, attempt results and the current
//! time go in; "query this", "start this", "cancel that" and the final outcome come
//! out. No sockets, no tasks, no clock: the caller passes `now` and sleeps until
//! [`Race::poll_timeout`].
//!
//! The driver (in the `turbohttp` crate) executes it on tokio; tests and the
//! `simulate` command run it on fake endpoints in virtual time.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

mod alternatives;
mod quic;
mod services;
mod slots;

use crate::dns::{LookupFailure, LookupFailureKind, QueryType};
use crate::plan::{Mode, Plan, Tag, Transport, attempt_budget};
use crate::report::{AttemptFailure, AttemptOutcome, AttemptRecord, QueryOutcome, QueryRecord};
use crate::{AddressFamily, AttemptError, HappyEyeballsOptions};
use slots::{Pending, Slots};

/// What the race asks its driver to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Send DNS query number `query` (counting from 0 in the order sent) of type
    /// `kind`, and report its answer with [`Race::handle_answer`].
    Resolve {
        /// The query's number.
        query: usize,
        /// What to ask.
        kind: QueryType,
    },
    /// Start attempt number `attempt` (counting from 0 in start order) to `addr`.
    Start {
        /// The attempt's number.
        attempt: usize,
        /// The address to dial.
        addr: SocketAddr,
    },
    /// Stop attempt `attempt` and drop whatever it holds, including a connection it
    /// may already have made.
    Cancel {
        /// The attempt's number.
        attempt: usize,
    },
    /// The race is over; every attempt still running has been cancelled before this,
    /// and every query still running is no longer needed.
    Finished(Outcome),
}

/// How a race ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Attempt `attempt` connected first and is the winner.
    Connected {
        /// The winning attempt's number.
        attempt: usize,
    },
    /// Every address was tried and every attempt failed.
    AllAttemptsFailed,
    /// The connect timeout ran out.
    TimedOut,
    /// The caller cancelled.
    Cancelled,
    /// Attempt `attempt` failed its setup in a way that is terminal by policy.
    SetupRejected {
        /// The attempt whose failure ended the race.
        attempt: usize,
    },
    /// Every query ended without an address and at least one failed (NXDOMAIN,
    /// SERVFAIL, a resolver timeout...): the name could not be resolved.
    Unresolved,
    /// Every query answered, with no address at all.
    NoAddresses,
    /// Addresses were found, but none of the requested family.
    FamilyUnavailable,
}

/// How many records a race makes before it reserves room for every attempt left: most
/// races end after an attempt or two, and a plan can hold 100,000 addresses.
const RECORDS_BEFORE_RESERVING: usize = 8;

/// Up to this many new attempts at once are inserted into the pending queue one by
/// one; more are merged into it in one pass.
const FEW_TO_INSERT: usize = 8;

#[derive(Debug, Clone, Copy)]
struct InFlight {
    attempt: usize,
    plan_index: usize,
    family: AddressFamily,
    transport: Transport,
    deadline: Instant,
    budget: Duration,
}

/// A connect or terminal failure reported at the current instant, settled by plan order.
#[derive(Debug, Clone, Copy)]
struct Decisive {
    /// The attempt's place in the plan, which orders it ([`Plan::order_key`]).
    plan_index: usize,
    attempt: usize,
    connected: bool,
}

/// The other family's answer, waiting for the preferred family's (the resolution
/// delay), or, with racing disabled, every answer waiting for the last query.
#[derive(Debug)]
struct Held {
    addrs: Vec<SocketAddr>,
    until: Option<Instant>,
}

/// The events for the driver, first in first out. The oldest is held apart, so that
/// a race that has one thing to say at a time (start an attempt, then the outcome)
/// allocates nothing for them.
#[derive(Debug, Default)]
struct Events {
    /// The oldest event, when it is not in `rest`: set only when `rest` is empty.
    head: Option<Event>,
    rest: VecDeque<Event>,
}

impl Events {
    fn push_back(&mut self, event: Event) {
        if self.head.is_none() && self.rest.is_empty() {
            self.head = Some(event);
        } else {
            self.rest.push_back(event);
        }
    }

    fn pop_front(&mut self) -> Option<Event> {
        self.head.take().or_else(|| self.rest.pop_front())
    }
}

/// One Happy Eyeballs race over a [`Plan`]. See the [crate docs](crate) for the rules.
#[derive(Debug)]
pub struct Race {
    plan: Plan,
    t0: Instant,
    deadline: Instant,
    now: Instant,
    /// `now` from `t0`: worked out once for each new `now`, which the race asks for
    /// several times an instant.
    now_offset: Duration,
    /// Plan indices not started yet, in plan order.
    pending: Pending,
    in_flight: Slots<InFlight>,
    records: Vec<AttemptRecord>,
    queries: Vec<QueryRecord>,
    held: Option<Held>,
    /// When the first address became known, from `t0`.
    first_answer: Option<Duration>,
    /// Whether each family (V4, V6) has started an attempt, per transport (TCP,
    /// QUIC): until both have, the one that has may not take its transport's last
    /// slot.
    started: [[bool; 2]; 2],
    /// Early starts earned by failures at this instant (the "no wasted delay" rule).
    credit: usize,
    /// The decisive results at this instant, in the order reported: the first one
    /// apart, so that the usual race (one winner) allocates nothing for them.
    decisive: Option<Decisive>,
    more_decisive: Vec<Decisive>,
    cancel_requested: bool,
    dirty: bool,
    events: Events,
    outcome: Option<Outcome>,
    /// What an HTTPS query brings, when one was sent (boxed: most races send none),
    /// and whether the caller can dial QUIC (which always comes with one).
    services: Option<Box<services::ServiceState>>,
}

impl Race {
    /// A race over `plan`, whose addresses are all known at `t0`, that must be over by
    /// `deadline`.
    pub fn new(plan: Plan, t0: Instant, deadline: Instant) -> Self {
        let pending = Pending::run(0..plan.attempts().len());
        // All its addresses are known: no answer can wait for another (the resolution
        // delay, the plan's option, never applies).
        let mut race = Self::empty(plan, t0, deadline);
        race.pending = pending;
        race.first_answer = Some(Duration::ZERO);
        race
    }

    /// A race that starts by sending `queries` at `t0` and plans each answer as it
    /// arrives ([`Race::handle_answer`]), by the rules of the [crate docs](crate).
    /// The options are assumed valid ([`HappyEyeballsOptions::validate`]); a request
    /// for one family keeps only that family's addresses.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use turbohttp_proto::dns::QueryType;
    /// use turbohttp_proto::race::{Event, Race};
    /// use turbohttp_proto::HappyEyeballsOptions;
    ///
    /// let t0 = Instant::now();
    /// let options = HappyEyeballsOptions::default();
    /// let queries = [QueryType::Aaaa, QueryType::A];
    /// let mut race = Race::resolving(&options, None, &queries, t0, t0 + Duration::from_secs(5));
    /// assert_eq!(race.poll_event(), Some(Event::Resolve { query: 0, kind: QueryType::Aaaa }));
    /// assert_eq!(race.poll_event(), Some(Event::Resolve { query: 1, kind: QueryType::A }));
    /// // The A answer comes first: it waits up to 50 ms for the AAAA answer.
    /// let v4 = "192.0.2.1:443".parse().unwrap();
    /// race.handle_answer(t0 + Duration::from_millis(5), 1, Ok(vec![v4]));
    /// assert_eq!(race.poll_event(), None);
    /// assert_eq!(race.poll_timeout(), Some(t0 + Duration::from_millis(55)));
    /// ```
    pub fn resolving(
        options: &HappyEyeballsOptions,
        requested: Option<AddressFamily>,
        queries: &[QueryType],
        t0: Instant,
        deadline: Instant,
    ) -> Self {
        let plan = Plan::empty(options, requested);
        let mut race = Self::empty(plan, t0, deadline);
        // The report's list of queries: sized once.
        race.queries.reserve_exact(queries.len());
        for (query, &kind) in queries.iter().enumerate() {
            race.queries.push(QueryRecord {
                query: kind,
                name: None,
                started: Duration::ZERO,
                ended: None,
                outcome: QueryOutcome::Pending,
                addresses: Vec::new(),
                services: Vec::new(),
            });
            race.events.push_back(Event::Resolve { query, kind });
            if kind == QueryType::Https && race.services.is_none() {
                race.services = Some(Box::new(services::ServiceState::new(Some(query))));
            }
        }
        race
    }

    fn empty(plan: Plan, t0: Instant, deadline: Instant) -> Self {
        Self {
            plan,
            t0,
            deadline,
            now: t0,
            now_offset: Duration::ZERO,
            pending: Pending::default(),
            in_flight: Slots::default(),
            // Not sized for the plan: most races end after an attempt or two, and a
            // plan can hold 100,000 addresses.
            records: Vec::new(),
            queries: Vec::new(),
            held: None,
            first_answer: None,
            started: [[false; 2]; 2],
            credit: 0,
            decisive: None,
            more_decisive: Vec::new(),
            cancel_requested: false,
            dirty: true,
            events: Events::default(),
            outcome: None,
            services: None,
        }
    }

    /// The plan so far.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The race's start instant: the start of the connect.
    pub fn started_at(&self) -> Instant {
        self.t0
    }

    /// The next thing for the driver to do, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.settle();
        self.events.pop_front()
    }

    /// When the driver must call [`Race::handle_timeout`] next, if nothing else
    /// happens first. `None` once the race is over.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.settle();
        if self.outcome.is_some() {
            return None;
        }
        let mut next = self.deadline;
        for f in self.in_flight.iter() {
            next = next.min(f.deadline);
        }
        if let Some(until) = self.held.as_ref().and_then(|h| h.until) {
            next = next.min(until);
        }
        if let Some(until) = self.gate_until() {
            next = next.min(until);
        }
        if let Some(due) = self
            .next_startable()
            .and_then(|pos| self.due(self.pending.get(pos)))
            && due > self.now
        {
            next = next.min(due);
        }
        Some(next)
    }

    /// Time has passed: start what is due, expire what ran out of time.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.observe(now);
    }

    /// Query `query` ended: its addresses (for an AAAA query only the IPv6 ones are
    /// kept, for an A query only the IPv4 ones), or why it gave none. Addresses
    /// already planned are not planned again. Reports for queries that already
    /// ended, or after the race, are ignored.
    pub fn handle_answer(
        &mut self,
        now: Instant,
        query: usize,
        answer: Result<Vec<SocketAddr>, LookupFailure>,
    ) {
        self.observe(now);
        if self.outcome.is_some() {
            return;
        }
        let ended = self.offset(now);
        let Some(record) = self.queries.get_mut(query) else {
            return;
        };
        if record.outcome != QueryOutcome::Pending || !record.query.is_address() {
            return;
        }
        record.ended = Some(ended);
        let kind = record.query;
        match answer {
            Ok(addrs) => {
                record.outcome = QueryOutcome::Answered {
                    addresses: addrs.len(),
                };
                record.addresses = addrs;
            }
            Err(failure) => record.outcome = QueryOutcome::Failed(failure),
        }
        if self.services.is_some() {
            // An HTTPS query was sent: the gate (or, once open, the service records)
            // decides what this answer becomes.
            self.address_answer_with_services(query, now);
            return;
        }
        if !self.plan.options().enable {
            // Sequential, like getaddrinfo: wait for every query, then dial the
            // answers in query order (the preferred family's first).
            if self.all_queries_ended() {
                let answers: Vec<SocketAddr> = (0..self.queries.len())
                    .flat_map(|q| self.answered(q))
                    .collect();
                let kept = self.plan.accept(answers.into_iter());
                if !kept.is_empty() {
                    self.first_answer = Some(ended);
                }
                self.plan_addresses(&kept, ended);
            }
            return;
        }
        // Straight from the record: a large answer is not copied on its way in, and
        // the last one, kept whole, is planned from the record itself.
        let answer = std::mem::take(&mut self.queries[query].addresses);
        let addrs = if self.held.is_none() && self.all_queries_ended() {
            // Nothing can follow, and all that came before is planned.
            self.plan.accept_final(&answer, |a| kind.admits(a))
        } else {
            let answered = answer.iter().copied();
            Cow::Owned(self.plan.accept(answered.filter(|a| kind.admits(a))))
        };
        if !addrs.is_empty() && self.first_answer.is_none() {
            self.first_answer = Some(ended);
        }
        self.admit(kind, addrs, now);
        self.queries[query].addresses = answer;
    }

    /// The addresses query `query` answered that are of its type: AAAA answers keep
    /// their IPv6 addresses, A answers their IPv4 ones.
    fn answered(&self, query: usize) -> Vec<SocketAddr> {
        let record = &self.queries[query];
        let kind = record.query;
        record
            .addresses
            .iter()
            .copied()
            .filter(|a| kind.admits(a))
            .collect()
    }

    /// Attempt `attempt` connected (and its setup succeeded). If the race is already
    /// decided, or the attempt was cancelled, the driver is told to drop it.
    pub fn handle_connected(&mut self, now: Instant, attempt: usize) {
        self.observe(now);
        match self.take_in_flight(attempt) {
            Some(f) => {
                self.records[attempt].ended = Some(self.offset(now));
                self.push_decisive(Decisive {
                    plan_index: f.plan_index,
                    attempt,
                    connected: true,
                });
            }
            None => self.events.push_back(Event::Cancel { attempt }),
        }
    }

    /// Attempt `attempt` failed. Late reports for attempts no longer running are ignored.
    pub fn handle_failed(&mut self, now: Instant, attempt: usize, error: &AttemptError) {
        self.observe(now);
        let Some(f) = self.take_in_flight(attempt) else {
            return;
        };
        let ended = self.offset(now);
        let record = &mut self.records[attempt];
        record.ended = Some(ended);
        record.outcome = AttemptOutcome::Failed;
        record.failure = Some(AttemptFailure::from_error(error));
        if error.is_terminal() {
            self.push_decisive(Decisive {
                plan_index: f.plan_index,
                attempt,
                connected: false,
            });
        } else {
            self.credit += 1;
        }
    }

    /// The caller cancelled: every attempt is cancelled and the race ends, unless a
    /// winner was already chosen.
    pub fn handle_cancel(&mut self, now: Instant) {
        self.observe(now);
        self.cancel_requested = true;
    }

    /// The outcome, once the race is over.
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }

    /// The attempts so far, in start order.
    pub fn records(&self) -> &[AttemptRecord] {
        &self.records
    }

    /// The DNS queries, in the order sent.
    pub fn queries(&self) -> &[QueryRecord] {
        &self.queries
    }

    /// When the first address became known, from the race start; `None` until then.
    pub fn first_answer(&self) -> Option<Duration> {
        self.first_answer
    }

    /// The attempts, in start order.
    pub fn into_records(self) -> Vec<AttemptRecord> {
        self.records
    }

    /// The attempts and the queries, in start order.
    pub fn into_parts(self) -> (Vec<AttemptRecord>, Vec<QueryRecord>) {
        (self.records, self.queries)
    }

    /// The plan, the attempts and the queries: what a report keeps, the race's own
    /// bookkeeping dropped.
    pub fn into_plan_and_parts(self) -> (Plan, Vec<AttemptRecord>, Vec<QueryRecord>) {
        (self.plan, self.records, self.queries)
    }

    /// The resolved addresses (in the plan's own buffer, as
    /// [`Plan::into_addresses`] makes them), the attempts and the queries, taken out
    /// of the race: [`Race::into_plan_and_parts`] without moving the race (its plan is
    /// left empty, with no record and no query), so that a report gets its parts
    /// without copies of the whole race on the way.
    pub fn take_report_parts(&mut self) -> (Vec<SocketAddr>, Vec<AttemptRecord>, Vec<QueryRecord>) {
        (
            self.plan.take_addresses(),
            std::mem::take(&mut self.records),
            std::mem::take(&mut self.queries),
        )
    }

    fn observe(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
            self.now_offset = now.saturating_duration_since(self.t0);
        }
        self.dirty = true;
    }

    fn offset(&self, at: Instant) -> Duration {
        if at == self.now {
            return self.now_offset;
        }
        at.saturating_duration_since(self.t0)
    }

    fn due(&self, plan_index: usize) -> Option<Instant> {
        if self.plan.mode() == Mode::Sequential {
            // One at a time: the next starts when the previous one is over.
            return Some(self.t0);
        }
        self.t0
            .checked_add(self.plan.attempts()[plan_index].offset())
    }

    fn push_decisive(&mut self, decisive: Decisive) {
        if self.decisive.is_none() {
            self.decisive = Some(decisive);
        } else {
            self.more_decisive.push(decisive);
        }
    }

    fn take_in_flight(&mut self, attempt: usize) -> Option<InFlight> {
        let pos = self.in_flight.iter().position(|f| f.attempt == attempt)?;
        Some(self.in_flight.remove(pos))
    }

    /// Whether a query of `kind` for the origin is pending (queries for other names,
    /// an HTTPS record's targets, are not waited for by the resolution rules).
    fn queries_pending(&self, kind: QueryType) -> bool {
        self.queries
            .iter()
            .any(|q| q.query == kind && q.name.is_none() && q.outcome == QueryOutcome::Pending)
    }

    /// Sends query `kind` for `name` (`None`: the origin) now; returns its number.
    fn push_query(&mut self, kind: QueryType, name: Option<String>) -> usize {
        let query = self.queries.len();
        self.queries.push(QueryRecord {
            query: kind,
            name,
            started: self.offset(self.now),
            ended: None,
            outcome: QueryOutcome::Pending,
            addresses: Vec::new(),
            services: Vec::new(),
        });
        self.events.push_back(Event::Resolve { query, kind });
        self.dirty = true;
        query
    }

    /// The name query `query` asks for, when it is not the origin's (an HTTPS
    /// record's target, or where an AliasMode record led): the driver asks it
    /// instead of the host. For an HTTPS query this is the name to ask as is.
    pub fn query_name(&self, query: usize) -> Option<&str> {
        self.queries.get(query)?.name.as_deref()
    }

    /// Whether no query the race still needs is out (one for a name an alias chain
    /// moved on from is not needed: [`Race::superseded`]).
    fn all_queries_ended(&self) -> bool {
        self.queries
            .iter()
            .enumerate()
            .all(|(q, r)| r.outcome != QueryOutcome::Pending || self.superseded(q))
    }

    /// Plans the addresses of one answer by the resolution rules.
    fn admit(&mut self, kind: QueryType, addrs: Cow<'_, [SocketAddr]>, now: Instant) {
        let at = self.offset(now);
        let Some(family) = kind.family() else {
            // One answer with every family.
            self.plan_addresses(&addrs, at);
            return;
        };
        if self.plan.attempts().is_empty()
            && self.held.is_none()
            && !addrs.is_empty()
            && self.plan_follows_resolver()
        {
            // The first answer with an address leads: it is the preferred family.
            self.plan_addresses(&addrs, at);
            return;
        }
        let preferred = self.leading_family();
        if family == preferred {
            self.plan_addresses(&addrs, at);
            // The other family's answer stops waiting: now, or after the head start.
            if let Some(held) = self.held.take() {
                self.plan_addresses(&held.addrs, at);
            }
        } else if addrs.is_empty() {
            // Nothing to plan.
        } else if self.plan.count(preferred) > 0 || !self.preferred_query_pending() {
            self.plan_addresses(&addrs, at);
        } else {
            // The preferred family's answer may be moments away: wait for it, a while
            // (from the first such answer: a second one joins the wait).
            match &mut self.held {
                Some(held) => held.addrs.extend_from_slice(&addrs),
                None => {
                    let until = now.checked_add(self.plan.options().resolution_delay);
                    let addrs = addrs.into_owned();
                    self.held = Some(Held { addrs, until });
                }
            }
        }
    }

    fn preferred_query_pending(&self) -> bool {
        self.queries_pending(QueryType::of(self.leading_family()))
    }

    /// The family whose answer the other waits for: the requested one when only one
    /// may be dialed (the other's addresses would be dropped anyway), else the
    /// preferred one.
    fn leading_family(&self) -> AddressFamily {
        self.plan.requested().unwrap_or(self.plan.preferred())
    }

    fn plan_follows_resolver(&self) -> bool {
        self.plan.options().follow_resolver_order
    }

    /// Plans addresses (one answer's, already accepted): the preferred family from
    /// `at`, the other after the head start, or at once when the preferred family
    /// has nothing left to try.
    fn plan_addresses(&mut self, addrs: &[SocketAddr], at: Duration) {
        self.plan_tagged(addrs, at, [Tag::NONE; 2]);
    }

    /// [`Race::plan_addresses`] for endpoints of one HTTPS record (or none), each
    /// family's tagged as [`Plan::schedule_tagged`] says.
    fn plan_tagged(&mut self, addrs: &[SocketAddr], at: Duration, tags: [Tag; 2]) {
        if addrs.is_empty() {
            return;
        }
        let first_new = self.plan.attempts().len();
        let preferred_idle = !self.pending_or_running(self.plan.preferred());
        self.plan.schedule_tagged(addrs, at, preferred_idle, tags);
        let last_new = self.plan.attempts().len();
        if last_new - first_new <= FEW_TO_INSERT {
            for plan_index in first_new..last_new {
                self.insert_pending(plan_index);
            }
        } else {
            self.merge_pending(first_new..last_new);
        }
        self.rebudget();
        self.dirty = true;
    }

    /// Puts `plan_index` among the pending attempts, which are in order (by
    /// [`Plan::order_key`], unique per attempt): found by bisection.
    fn insert_pending(&mut self, plan_index: usize) {
        let key = self.plan.order_key(plan_index);
        let pos = self
            .pending
            .partition_point(|p| self.plan.order_key(p) <= key);
        self.pending.insert(pos, plan_index);
    }

    /// Puts many new attempts among the pending ones in one pass: sorted apart, then
    /// merged, rather than one insertion (a shift of the queue) each.
    fn merge_pending(&mut self, new: std::ops::Range<usize>) {
        let plan = &self.plan;
        let mut new: Vec<usize> = new.collect();
        // Two runs at most (one per family): a stable sort merges them in linear time.
        new.sort_by_key(|&i| plan.order_key(i));
        if self.pending.is_empty()
            && let (Some(&first), Some(&last)) = (new.first(), new.last())
            && last - first + 1 == new.len()
            && new.windows(2).all(|w| w[0] < w[1])
        {
            // In plan order already: a run, no queue.
            self.pending = Pending::run(first..last + 1);
            return;
        }
        let old = std::mem::take(&mut self.pending);
        let mut merged = VecDeque::with_capacity(old.len() + new.len());
        let mut old = old.iter().peekable();
        let mut new = new.into_iter().peekable();
        loop {
            let next = match (old.peek(), new.peek()) {
                (Some(&a), Some(&b)) if plan.order_key(a) < plan.order_key(b) => old.next(),
                (Some(_), Some(_)) | (None, Some(_)) => new.next(),
                (Some(_), None) => old.next(),
                (None, None) => break,
            };
            merged.extend(next);
        }
        self.pending = merged.into();
    }

    /// Attempts already running got their budget (decision 2) when fewer addresses
    /// were known; with more to try now, each gets what it would have been given had
    /// they been known at its start, if that is less.
    fn rebudget(&mut self) {
        let cap = self.plan.max_in_flight();
        let not_started = self.pending.len();
        for f in self.in_flight.as_mut_slice() {
            let started = self.t0 + self.records[f.attempt].started;
            let remaining = self.deadline.saturating_duration_since(started);
            let budget = attempt_budget(remaining, not_started + 1, cap);
            if budget < f.budget {
                f.budget = budget;
                f.deadline = started
                    .checked_add(budget)
                    .unwrap_or(self.deadline)
                    .min(self.deadline);
            }
        }
    }

    /// Whether `family` has an attempt waiting or in flight.
    fn pending_or_running(&self, family: AddressFamily) -> bool {
        self.in_flight.iter().any(|f| f.family == family)
            || self
                .pending
                .iter()
                .any(|p| self.plan.attempts()[p].family == family)
    }

    /// Decides everything the inputs since the last call imply, in a fixed order:
    /// a decisive result (earliest in plan order), cancellation, the connect timeout,
    /// the resolution delay, per-attempt budgets, then new starts.
    fn settle(&mut self) {
        if self.dirty {
            self.settle_inputs();
        }
    }

    /// [`Race::settle`] when there is something new to settle.
    fn settle_inputs(&mut self) {
        self.dirty = false;
        if self.outcome.is_some() {
            self.decisive = None;
            self.more_decisive.clear();
            return;
        }
        if let Some(first) = self
            .decisive
            .iter()
            .chain(&self.more_decisive)
            .min_by_key(|d| self.plan.order_key(d.plan_index))
            .copied()
        {
            let head = self.decisive.take();
            for other in head
                .into_iter()
                .chain(std::mem::take(&mut self.more_decisive))
            {
                if other.attempt == first.attempt {
                    continue;
                }
                if other.connected {
                    self.records[other.attempt].outcome = AttemptOutcome::Cancelled;
                    self.events.push_back(Event::Cancel {
                        attempt: other.attempt,
                    });
                } else if let Some(failure) = self.records[other.attempt].failure.as_mut() {
                    // Terminal by policy, but another one decided the race: only the
                    // deciding failure is marked terminal in the report.
                    failure.terminal = false;
                }
            }
            if first.connected {
                self.records[first.attempt].outcome = AttemptOutcome::Won;
                self.finish(Outcome::Connected {
                    attempt: first.attempt,
                });
            } else {
                self.finish(Outcome::SetupRejected {
                    attempt: first.attempt,
                });
            }
            return;
        }
        if self.cancel_requested {
            self.finish(Outcome::Cancelled);
            return;
        }
        if self.now >= self.deadline {
            self.finish(Outcome::TimedOut);
            return;
        }
        self.check_gate();
        if self
            .held
            .as_ref()
            .and_then(|h| h.until)
            .is_some_and(|until| until <= self.now)
        {
            // The resolution delay is over: the other family goes without waiting.
            let held = self.held.take().map(|h| h.addrs).unwrap_or_default();
            let at = self.offset(self.now);
            self.plan_addresses(&held, at);
        }
        if self.held.is_none() && self.all_queries_ended() {
            // No answer can come any more: what deduplicated the answers can go.
            self.plan.release_seen();
        }
        self.expire_budgets();
        self.fill_slots();
        self.credit = 0;
        if self.in_flight.is_empty()
            && self.pending.is_empty()
            && self.held.is_none()
            && self.all_queries_ended()
        {
            let outcome = self.exhausted();
            self.finish(outcome);
        }
    }

    /// Why the race ends with nothing left to try or to wait for.
    fn exhausted(&self) -> Outcome {
        if !self.plan.attempts().is_empty() {
            return Outcome::AllAttemptsFailed;
        }
        // Addresses of the query's own type only: an A record in an AAAA answer is
        // no address of anything.
        let answered_any = (0..self.queries.len()).any(|q| !self.answered(q).is_empty());
        if answered_any {
            return Outcome::FamilyUnavailable;
        }
        // The HTTPS query carries no address: how it ended says nothing of these.
        // One still out for a name the alias chain left says nothing either.
        let address_queries = || {
            let needed = |(q, r): &(usize, &QueryRecord)| {
                r.query.is_address() && !(r.outcome == QueryOutcome::Pending && self.superseded(*q))
            };
            self.queries
                .iter()
                .enumerate()
                .filter(needed)
                .map(|(_, r)| r)
        };
        let only_nodata = address_queries().all(|q| match &q.outcome {
            QueryOutcome::Answered { .. } => true,
            QueryOutcome::Failed(f) => f.kind == LookupFailureKind::NoData,
            _ => false,
        });
        // Asked only for the requested family, which has nothing: that family is
        // unavailable. A one-shot lookup that found nothing found no address at all.
        let asked_one_family = address_queries().all(|q| q.query.family().is_some());
        if only_nodata {
            if self.plan.requested().is_some() && asked_one_family {
                Outcome::FamilyUnavailable
            } else {
                Outcome::NoAddresses
            }
        } else {
            Outcome::Unresolved
        }
    }

    /// A stalled address gives its slot up when its budget runs out; that counts as a
    /// failure and earns the next address an early start.
    fn expire_budgets(&mut self) {
        let now = self.now;
        let mut i = 0;
        while i < self.in_flight.len() {
            if self.in_flight.as_slice()[i].deadline <= now {
                let f = self.in_flight.remove(i);
                let ended = self.offset(now);
                let record = &mut self.records[f.attempt];
                record.ended = Some(ended);
                record.outcome = AttemptOutcome::TimedOut;
                record.failure = Some(AttemptFailure::timed_out(f.budget));
                self.events.push_back(Event::Cancel { attempt: f.attempt });
                self.credit += 1;
            } else {
                i += 1;
            }
        }
    }

    /// Starts every attempt that is due, in plan order, while slots are free; then one
    /// more per failure seen at this instant, even if not due yet.
    fn fill_slots(&mut self) {
        while let Some(pos) = self.next_startable() {
            let plan_index = self.pending.get(pos);
            let is_due = self.due(plan_index).is_some_and(|due| due <= self.now);
            if !is_due {
                if self.credit == 0 {
                    break;
                }
                self.credit -= 1;
            }
            self.pending.remove(pos);
            self.start_attempt(plan_index);
        }
    }

    /// The first pending attempt (in plan order) that may take a free slot. Each
    /// transport has its own slots (the cap each: QUIC and TCP race side by side, as
    /// two races would). Until both families have started on a transport, the family
    /// that has may hold all of that transport's slots but one, so that the other is
    /// never starved by the concurrency cap: the fallback, or a preferred family whose
    /// answer came after the other family had started.
    fn next_startable(&self) -> Option<usize> {
        if self.pending.is_empty() {
            return None;
        }
        if self.plan.mode() == Mode::Sequential {
            // One family and one transport, or no racing: one at a time.
            return self.in_flight.is_empty().then_some(0);
        }
        let cap = self.plan.max_in_flight();
        let full = |transport: Transport, family: AddressFamily| {
            let lane = self.in_flight.iter().filter(|f| f.transport == transport);
            let (mut all, mut mine) = (0, 0);
            for f in lane {
                all += 1;
                mine += usize::from(f.family == family);
            }
            all >= cap
                || (!self.started[transport_index(transport)][family_index(family.other())]
                    && mine + 1 >= cap)
        };
        let full = [Transport::Tcp, Transport::Quic]
            .map(|t| [full(t, AddressFamily::V4), full(t, AddressFamily::V6)]);
        self.pending.iter().position(|i| {
            let a = &self.plan.attempts()[i];
            !full[transport_index(a.transport())][family_index(a.family)]
        })
    }

    fn start_attempt(&mut self, plan_index: usize) {
        let planned = self.plan.attempts()[plan_index];
        let now = self.now;
        let remaining = self.deadline.saturating_duration_since(now);
        let budget = attempt_budget(remaining, self.pending.len() + 1, self.plan.max_in_flight());
        let deadline = now
            .checked_add(budget)
            .unwrap_or(self.deadline)
            .min(self.deadline);
        let transport = planned.transport();
        self.started[transport_index(transport)][family_index(planned.family)] = true;
        let attempt = self.records.len();
        if attempt == self.records.capacity() {
            if attempt >= RECORDS_BEFORE_RESERVING {
                // A race this long is walking a long list: room for every record it may
                // still make, at once, rather than a copy of them all at each doubling
                // (a race of 5,000 refused addresses would copy 4,096 records on its way).
                self.records.reserve_exact(self.pending.len() + 1);
            } else if attempt == 0 {
                // The first: room for the attempts planned, up to a few (a race of one
                // address keeps one record, not the four a first push makes room for).
                self.records
                    .reserve_exact((self.pending.len() + 1).min(RECORDS_BEFORE_RESERVING));
            }
        }
        self.records.push(AttemptRecord {
            attempt,
            endpoint: planned.addr,
            family: planned.family,
            started: self.offset(now),
            ended: None,
            // Overwritten when the attempt ends; every path that ends the race ends
            // every attempt first.
            outcome: AttemptOutcome::Cancelled,
            failure: None,
            service: planned.tag.service().and_then(|i| u16::try_from(i).ok()),
            alternative: planned
                .tag
                .alternative()
                .and_then(|i| u16::try_from(i).ok()),
            alpn: self.alpn_of(planned.tag),
            ech: self.ech_of(planned.tag).is_some(),
            transport,
        });
        self.in_flight.push(InFlight {
            attempt,
            plan_index,
            family: planned.family,
            transport,
            deadline,
            budget,
        });
        self.events.push_back(Event::Start {
            attempt,
            addr: planned.addr,
        });
    }

    fn finish(&mut self, outcome: Outcome) {
        let now = self.now;
        let ended = self.offset(now);
        for f in std::mem::take(&mut self.in_flight) {
            let record = &mut self.records[f.attempt];
            record.ended = Some(ended);
            if outcome == Outcome::TimedOut {
                record.outcome = AttemptOutcome::TimedOut;
                record.failure = Some(AttemptFailure::race_timed_out());
            } else {
                record.outcome = AttemptOutcome::Cancelled;
            }
            self.events.push_back(Event::Cancel { attempt: f.attempt });
        }
        self.pending.clear();
        self.held = None;
        for query in &mut self.queries {
            if query.outcome == QueryOutcome::Pending {
                query.ended = Some(ended);
                query.outcome = if outcome == Outcome::TimedOut {
                    QueryOutcome::TimedOut
                } else {
                    QueryOutcome::Cancelled
                };
            }
        }
        self.outcome = Some(outcome);
        self.events.push_back(Event::Finished(outcome));
    }
}

fn transport_index(transport: Transport) -> usize {
    match transport {
        Transport::Tcp => 0,
        Transport::Quic => 1,
    }
}

fn family_index(family: AddressFamily) -> usize {
    match family {
        AddressFamily::V4 => 0,
        AddressFamily::V6 => 1,
    }
}

#[cfg(test)]
mod tests {
    //! The state machine on its own: no runtime, no sockets; time is what we say it is.

    use std::io;

    use super::*;
    use crate::HappyEyeballsOptions;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn refused() -> AttemptError {
        AttemptError::connect(io::Error::from(io::ErrorKind::ConnectionRefused))
    }

    fn drain(race: &mut Race) -> Vec<Event> {
        std::iter::from_fn(|| race.poll_event()).collect()
    }

    fn race(addrs: &[&str], options: HappyEyeballsOptions) -> (Race, Instant) {
        let addrs: Vec<_> = addrs.iter().map(|a| addr(a)).collect();
        let plan = Plan::new(&addrs, &options, None).unwrap();
        let t0 = Instant::now();
        (Race::new(plan, t0, t0 + Duration::from_secs(10)), t0)
    }

    #[test]
    fn steps_through_a_race_without_a_runtime() {
        let (mut race, t0) = race(
            &["[::a]:1", "[::b]:1", "10.0.0.1:1"],
            HappyEyeballsOptions::default(),
        );
        assert_eq!(
            drain(&mut race),
            [Event::Start {
                attempt: 0,
                addr: addr("[::a]:1")
            }]
        );
        // [::b] is due at 125 ms but would take the fallback's slot: wake at 250 ms.
        assert_eq!(race.poll_timeout(), Some(t0 + ms(250)));
        race.handle_timeout(t0 + ms(250));
        assert_eq!(
            drain(&mut race),
            [Event::Start {
                attempt: 1,
                addr: addr("10.0.0.1:1")
            }]
        );
        // A failure frees a slot and the waiting [::b] starts at once.
        race.handle_failed(t0 + ms(260), 0, &refused());
        assert_eq!(
            drain(&mut race),
            [Event::Start {
                attempt: 2,
                addr: addr("[::b]:1")
            }]
        );
        race.handle_connected(t0 + ms(300), 2);
        assert_eq!(
            drain(&mut race),
            [
                Event::Cancel { attempt: 1 },
                Event::Finished(Outcome::Connected { attempt: 2 })
            ]
        );
        assert_eq!(race.poll_timeout(), None);
        let outcomes: Vec<_> = race.records().iter().map(|r| r.outcome).collect();
        assert_eq!(
            outcomes,
            [
                AttemptOutcome::Failed,
                AttemptOutcome::Cancelled,
                AttemptOutcome::Won
            ]
        );
    }

    #[test]
    fn simultaneous_results_settle_in_plan_order() {
        let options = HappyEyeballsOptions::default().with_family_stagger_delay(ms(10));
        let (mut race, t0) = race(&["[::a]:1", "10.0.0.1:1"], options);
        drain(&mut race);
        race.handle_timeout(t0 + ms(10));
        drain(&mut race);
        // Reported in the "wrong" order at the same instant: the plan decides.
        race.handle_connected(t0 + ms(50), 1);
        race.handle_connected(t0 + ms(50), 0);
        assert_eq!(
            drain(&mut race),
            [
                Event::Cancel { attempt: 1 },
                Event::Finished(Outcome::Connected { attempt: 0 })
            ]
        );
    }

    #[test]
    fn of_two_terminal_failures_at_one_instant_the_earlier_in_plan_decides() {
        let options = HappyEyeballsOptions::default().with_family_stagger_delay(ms(10));
        let (mut race, t0) = race(&["[::a]:1", "10.0.0.1:1"], options);
        drain(&mut race);
        race.handle_timeout(t0 + ms(10));
        drain(&mut race);
        let rejected = || AttemptError::terminal(io::Error::from(io::ErrorKind::InvalidData));
        race.handle_failed(t0 + ms(20), 1, &rejected());
        race.handle_failed(t0 + ms(20), 0, &rejected());
        assert_eq!(
            drain(&mut race),
            [Event::Finished(Outcome::SetupRejected { attempt: 0 })]
        );
        let terminal: Vec<_> = race
            .records()
            .iter()
            .map(|r| r.failure.as_ref().unwrap().terminal)
            .collect();
        assert_eq!(terminal, [true, false]);
    }

    #[test]
    fn late_results_after_the_race_are_dropped() {
        let (mut race, t0) = race(
            &["10.0.0.1:1", "10.0.0.2:1"],
            HappyEyeballsOptions::default(),
        );
        drain(&mut race);
        race.handle_cancel(t0 + ms(5));
        assert_eq!(
            drain(&mut race),
            [
                Event::Cancel { attempt: 0 },
                Event::Finished(Outcome::Cancelled)
            ]
        );
        // A connection that completes after the cancellation is handed back to be dropped.
        race.handle_connected(t0 + ms(6), 0);
        assert_eq!(drain(&mut race), [Event::Cancel { attempt: 0 }]);
        race.handle_failed(t0 + ms(7), 0, &refused());
        assert_eq!(drain(&mut race), []);
        assert_eq!(race.outcome(), Some(Outcome::Cancelled));
    }

    #[test]
    fn events_come_out_in_the_order_they_went_in() {
        let mut events = Events::default();
        let mut expected = VecDeque::new();
        let mut attempt = 0;
        // Interleaved pushes and pops, the queue emptied now and then.
        for (n, pops) in [(1, 1), (3, 1), (1, 3), (2, 0), (1, 2), (1, 1)] {
            for _ in 0..n {
                attempt += 1;
                let event = Event::Cancel { attempt };
                events.push_back(event);
                expected.push_back(event);
            }
            for _ in 0..pops {
                assert_eq!(events.pop_front(), expected.pop_front());
            }
        }
        assert_eq!(events.pop_front(), expected.pop_front());
        assert_eq!(events.pop_front(), None);
    }

    #[test]
    fn the_deadline_times_out_every_attempt() {
        let (mut race, t0) = race(&["10.0.0.1:1"], HappyEyeballsOptions::default());
        drain(&mut race);
        assert_eq!(race.poll_timeout(), Some(t0 + Duration::from_secs(10)));
        race.handle_timeout(t0 + Duration::from_secs(10));
        assert_eq!(
            drain(&mut race),
            [
                Event::Cancel { attempt: 0 },
                Event::Finished(Outcome::TimedOut)
            ]
        );
        assert_eq!(race.records()[0].outcome, AttemptOutcome::TimedOut);
    }
}
