//! The sans-IO race driven by arbitrary event sequences: results, timeouts and a
//! cancellation at non-decreasing instants, polled at arbitrary moments. A model of
//! the driver checks, after every poll, that the race never has more attempts in
//! flight than its cap, starts nothing it should not (and everything it should), keeps
//! the fallback's slot, ends exactly once with the outcome the rules dictate, and
//! leaves records in attempt order that say how every attempt ended. It never panics.
//!
//! Shared by the fuzz target `race` and the corpus replay test.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::{self, Failure};
use arbitrary::Unstructured;
use turbohttp::AddressFamily;
use turbohttp::{AttemptOutcome, AttemptPhase};
use turbohttp_proto::plan::{Mode, Plan};
use turbohttp_proto::race::{Event, Outcome, Race};

/// Inputs per case, before the race is run to its end on time alone.
const MAX_OPS: usize = 256;
/// `connect` caps the timeout at about thirty years.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// Runs the check on one input.
pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(mut harness) = Harness::decode(&mut u) else {
        return;
    };
    for _ in 0..MAX_OPS {
        if u.is_empty() {
            break;
        }
        let Ok(op) = Op::decode(&mut u) else {
            break;
        };
        harness.apply(&mut u, op);
    }
    harness.run_to_completion();
}

#[derive(Debug, Clone, Copy)]
enum Op {
    /// Time passes (the race learns of it with the next input).
    Advance(Duration),
    /// Time jumps to the race's next wake-up and the race is told.
    Wake,
    /// A running attempt connects.
    Connected,
    /// A running attempt fails.
    Failed(Failure),
    /// An attempt that has ended reports again, late.
    Late(bool),
    /// The sleep fired.
    Timeout,
    /// The caller cancels.
    Cancel,
    /// The driver drains the events and asks when to wake.
    Poll,
}

impl Op {
    fn decode(u: &mut Unstructured<'_>) -> arbitrary::Result<Self> {
        Ok(match u.int_in_range(0u8..=15)? {
            0..=2 => Self::Advance(match u.int_in_range(0u8..=3)? {
                0 => Duration::ZERO,
                1 => Duration::from_nanos(u.int_in_range(1..=1_000)?),
                _ => Duration::from_millis(u.int_in_range(1..=400)?),
            }),
            3 | 4 => Self::Wake,
            5 | 6 => Self::Connected,
            7..=9 => Self::Failed(*u.choose(&Failure::ALL)?),
            10 => Self::Late(u.arbitrary()?),
            11 => Self::Timeout,
            12 => Self::Cancel,
            _ => Self::Poll,
        })
    }
}

/// The driver's view of the race, and what it has told the race.
struct Harness {
    race: Race,
    plan: Plan,
    t0: Instant,
    deadline: Instant,
    /// The latest instant given to the race.
    now: Instant,
    /// The harness clock (may run ahead of what the race has been told).
    clock: Instant,
    /// Attempt number -> address, from the Start events.
    started: Vec<SocketAddr>,
    /// Attempts started and not ended (as the driver knows from the events).
    running: Vec<usize>,
    /// Connections reported and not yet handed back or returned as the winner.
    held: Vec<usize>,
    /// Late connections reported, waiting to be handed back with a Cancel.
    late_held: Vec<usize>,
    /// Failures reported for running attempts.
    failures: HashMap<usize, Failure>,
    /// Decisive results (connected, or a terminal failure) reported since the last poll,
    /// for attempts the race had in flight: (attempt, connected).
    batch: Vec<(usize, bool)>,
    /// Whether the caller has cancelled.
    cancelled: bool,
    /// Attempts running after the previous poll, and how many attempts had started.
    open_at_last_poll: Vec<usize>,
    started_at_last_poll: usize,
    finished: Option<Outcome>,
    winner: Option<usize>,
}

impl Harness {
    fn decode(u: &mut Unstructured<'_>) -> arbitrary::Result<Self> {
        let options = common::valid_options(u)?;
        let resolved = common::addresses(u, 64)?;
        let timeout = match u.int_in_range(0u8..=7)? {
            0 => Duration::from_millis(u.int_in_range(1..=20)?),
            1 => Duration::new(u.int_in_range(0..=FAR_FUTURE.as_secs())?, 1),
            _ => Duration::from_millis(u.int_in_range(1..=60_000)?),
        };
        let plan =
            Plan::new(&resolved, &options, None).map_err(|_| arbitrary::Error::IncorrectFormat)?;
        let t0 = Instant::now();
        let deadline = t0 + timeout;
        Ok(Self {
            race: Race::new(plan.clone(), t0, deadline),
            plan,
            t0,
            deadline,
            now: t0,
            clock: t0,
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

    fn apply(&mut self, u: &mut Unstructured<'_>, op: Op) {
        match op {
            Op::Advance(d) => self.clock += d,
            Op::Wake => {
                // As the driver: drain, sleep until the wake-up, tell the race.
                if let Some(wake) = self.poll() {
                    self.clock = self.clock.max(wake);
                    let now = self.tell();
                    self.race.handle_timeout(now);
                }
            }
            Op::Connected => {
                let Some(attempt) = pick(u, &self.running) else {
                    return;
                };
                self.running.retain(|a| *a != attempt);
                let now = self.tell();
                self.race.handle_connected(now, attempt);
                self.held.push(attempt);
                self.batch.push((attempt, true));
            }
            Op::Failed(failure) => {
                let Some(attempt) = pick(u, &self.running) else {
                    return;
                };
                self.running.retain(|a| *a != attempt);
                let now = self.tell();
                self.race.handle_failed(now, attempt, &failure.error());
                self.failures.insert(attempt, failure);
                if failure == Failure::Rejected {
                    self.batch.push((attempt, false));
                }
            }
            Op::Late(connected) => {
                let ended: Vec<usize> = (0..self.started.len())
                    .filter(|a| !self.running.contains(a) && !self.held.contains(a))
                    .collect();
                let Some(attempt) = pick(u, &ended) else {
                    return;
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
            Op::Timeout => {
                let now = self.tell();
                self.race.handle_timeout(now);
            }
            Op::Cancel => {
                let now = self.tell();
                self.race.handle_cancel(now);
                self.cancelled = true;
            }
            Op::Poll => {
                self.poll();
            }
        }
    }

    /// Drains the events, as the driver does before it waits, and checks the state.
    /// Returns when to wake. The race settles only here (`poll_event`,
    /// `poll_timeout`), as it does in the driver.
    fn poll(&mut self) -> Option<Instant> {
        while let Some(event) = self.race.poll_event() {
            self.on_event(event);
        }
        self.batch.clear();
        let wake = self.race.poll_timeout();
        assert_eq!(self.race.poll_event(), None, "poll_timeout made new events");
        match (self.finished, wake) {
            (Some(_), None) => {}
            (None, Some(wake)) => assert!(
                wake > self.now,
                "asked to wake at {:?}, not after now ({:?})",
                wake - self.t0,
                self.now - self.t0
            ),
            (finished, wake) => panic!("finished {finished:?} but poll_timeout {wake:?}"),
        }
        self.check_state();
        self.check_early_starts();
        self.open_at_last_poll = self.running.clone();
        self.started_at_last_poll = self.started.len();
        wake
    }

    /// The race settles once per poll. An attempt may start before its scheduled time
    /// only on the credit of an attempt that failed (or ran out of budget) since the
    /// previous poll.
    fn check_early_starts(&self) {
        let records = self.race.records();
        let early = records[self.started_at_last_poll..]
            .iter()
            .filter(|r| r.started < self.plan.attempts()[self.plan_index(r.attempt)].offset())
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
            "{early} early starts, {paid} failures: {records:#?} {:#?}",
            self.plan
        );
    }

    fn on_event(&mut self, event: Event) {
        let cap = self.plan.max_in_flight();
        match event {
            Event::Resolve { .. } => panic!("a race over a known plan sends no query"),
            Event::Start { attempt, addr } => {
                assert!(self.finished.is_none(), "start after the finish");
                assert_eq!(
                    attempt,
                    self.started.len(),
                    "attempts are numbered in order"
                );
                assert!(
                    self.plan.addresses().any(|a| a == addr),
                    "{addr} not planned"
                );
                assert!(!self.started.contains(&addr), "{addr} started twice");
                self.started.push(addr);
                self.running.push(attempt);
                let sockets = self.running.len() + self.held.len();
                assert!(sockets <= cap, "{sockets} sockets open, cap {cap}");
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
                self.finished = Some(outcome);
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

    fn plan_index(&self, attempt: usize) -> usize {
        let addr = self.started[attempt];
        self.plan
            .addresses()
            .position(|a| a == addr)
            .expect("planned")
    }

    /// The outcome is the one the rules dictate for the inputs since the last poll.
    fn check_outcome(&self, outcome: Outcome) {
        assert_eq!(self.race.outcome(), Some(outcome));
        let decisive = self
            .batch
            .iter()
            .min_by_key(|(attempt, _)| self.plan_index(*attempt))
            .copied();
        let expected = match decisive {
            Some((attempt, true)) => Outcome::Connected { attempt },
            Some((attempt, false)) => Outcome::SetupRejected { attempt },
            None if self.cancelled => Outcome::Cancelled,
            None if self.now >= self.deadline => Outcome::TimedOut,
            None => {
                assert_eq!(
                    self.started.len(),
                    self.plan.attempts().len(),
                    "gave up early"
                );
                Outcome::AllAttemptsFailed
            }
        };
        assert_eq!(outcome, expected, "batch {:?}", self.batch);
    }

    fn check_state(&self) {
        let records = self.race.records();
        let cap = self.plan.max_in_flight();
        assert_eq!(records.len(), self.started.len());
        let mut endpoints = HashSet::new();
        let elapsed = self.now - self.t0;
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r.attempt, i);
            assert_eq!(r.endpoint, self.started[i]);
            assert_eq!(r.family, AddressFamily::of(&r.endpoint));
            assert!(endpoints.insert(r.endpoint));
            assert!(r.started <= elapsed);
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
        }
        if self.finished.is_some() {
            return;
        }
        assert!(self.held.is_empty(), "connections held while the race runs");
        assert!(self.running.len() <= cap);

        if self.plan.mode() == Mode::Sequential {
            return;
        }
        let preferred = self.plan.preferred();
        let alternate_started = records.iter().any(|r| r.family != preferred);
        let preferred_running = self
            .running
            .iter()
            .filter(|a| records[**a].family == preferred)
            .count();
        if !alternate_started {
            // The fallback's slot is kept free.
            assert!(
                preferred_running < cap,
                "the preferred family took every slot"
            );
            // The other family starts by the stagger.
            let stagger = self
                .plan
                .attempts()
                .iter()
                .find(|a| a.family != preferred)
                .expect("a race has two families")
                .offset();
            assert!(
                elapsed < stagger,
                "no fallback at {elapsed:?}, stagger {stagger:?}"
            );
        }
        // Nothing due waits while a slot it may take is free.
        if self.running.len() < cap {
            let reserved = !alternate_started && preferred_running + 1 >= cap;
            let next =
                self.plan.attempts().iter().find(|a| {
                    !self.started.contains(&a.addr) && (!reserved || a.family != preferred)
                });
            if let Some(next) = next {
                assert!(
                    next.offset() > elapsed,
                    "{} due at {:?} waits at {elapsed:?} with a free slot",
                    next.addr,
                    next.offset()
                );
            }
        }
    }

    /// No more results: time alone must end the race, by the deadline.
    fn run_to_completion(&mut self) {
        self.poll();
        let bound = 3 * self.plan.attempts().len() + 8;
        let mut steps = 0;
        while self.finished.is_none() {
            steps += 1;
            assert!(steps <= bound, "the race does not end on time alone");
            let wake = self
                .race
                .poll_timeout()
                .expect("running races have a wake-up");
            assert!(wake <= self.deadline, "wake-up after the deadline");
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
        let won: Vec<usize> = records
            .iter()
            .filter(|r| r.outcome == AttemptOutcome::Won)
            .map(|r| r.attempt)
            .collect();
        assert_eq!(won.first().copied(), self.winner);
        assert!(won.len() <= 1);
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
                            self.finished == Some(Outcome::SetupRejected { attempt: r.attempt }),
                        ),
                        Failure::NoRoute => (AttemptPhase::Connect, None, false),
                    };
                    assert_eq!(
                        (failure.phase, failure.os_error, failure.terminal),
                        (phase, os, terminal),
                        "{r}"
                    );
                    assert!(!r.to_string().is_empty());
                }
                other => panic!("unknown outcome {other:?}"),
            }
        }
        match self.finished.expect("finished") {
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
                assert_eq!(records.len(), self.plan.attempts().len());
                assert!(records.iter().all(|r| matches!(
                    r.outcome,
                    AttemptOutcome::Failed | AttemptOutcome::TimedOut
                )));
            }
            other => panic!("a race over a known plan cannot end {other:?}"),
        }
    }
}

fn pick(u: &mut Unstructured<'_>, from: &[usize]) -> Option<usize> {
    if from.is_empty() {
        return None;
    }
    let i = u.int_in_range(0..=from.len() - 1).unwrap_or(0);
    Some(from[i])
}
