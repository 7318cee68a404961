//! Shared helpers of the core's own tests: a race stepped by hand, with time as
//! `t0 + n ms` of a real `std::time::Instant` (the core reads no clock, so no runtime
//! and no sleeping are needed).

#![allow(dead_code)] // each test file uses its own subset

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use turbohttp_proto::dns::{LookupFailure, LookupFailureKind, QueryType};
use turbohttp_proto::plan::Plan;
use turbohttp_proto::race::{Event, Outcome, Race};
use turbohttp_proto::service::ServiceInfo;
use turbohttp_proto::{AttemptError, HappyEyeballsOptions};

pub const V6A: &str = "[2001:db8::a]:443";
pub const V6B: &str = "[2001:db8::b]:443";
pub const V6C: &str = "[2001:db8::c]:443";
pub const V4A: &str = "192.0.2.1:443";
pub const V4B: &str = "192.0.2.2:443";
pub const V4C: &str = "192.0.2.3:443";

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub fn addrs(list: &[&str]) -> Vec<SocketAddr> {
    list.iter().map(|a| addr(a)).collect()
}

pub fn start(attempt: usize, a: &str) -> Event {
    Event::Start {
        attempt,
        addr: addr(a),
    }
}

pub fn cancel(attempt: usize) -> Event {
    Event::Cancel { attempt }
}

pub fn finished(outcome: Outcome) -> Event {
    Event::Finished(outcome)
}

pub fn won(attempt: usize) -> Event {
    Event::Finished(Outcome::Connected { attempt })
}

pub fn resolve(query: usize, kind: QueryType) -> Event {
    Event::Resolve { query, kind }
}

pub fn refused() -> AttemptError {
    AttemptError::connect(io::Error::from(io::ErrorKind::ConnectionRefused))
}

pub fn setup_failed() -> AttemptError {
    AttemptError::setup(io::Error::other("handshake failed"))
}

pub fn rejected() -> AttemptError {
    AttemptError::terminal(io::Error::new(
        io::ErrorKind::InvalidData,
        "certificate not valid for the host",
    ))
}

pub fn lookup_failure(kind: LookupFailureKind) -> LookupFailure {
    LookupFailure::new(kind, "the resolver said no")
}

/// Options with the defaults but for what the closure changes.
pub fn options(change: impl FnOnce(&mut HappyEyeballsOptions)) -> HappyEyeballsOptions {
    let mut o = HappyEyeballsOptions::default();
    change(&mut o);
    o
}

/// A race stepped by hand: every input is given at `t0 + n ms`.
pub struct Sim {
    pub race: Race,
    pub t0: Instant,
    /// The latest instant given to the race, in ms from `t0`.
    pub now: Cell<u64>,
}

impl Sim {
    /// A race over one answer carrying `list` (as for an IP literal or getaddrinfo),
    /// with a connect timeout of `timeout`.
    pub fn new(list: &[&str], options: HappyEyeballsOptions, timeout: Duration) -> Self {
        let plan = Plan::new(&addrs(list), &options, None).unwrap();
        let t0 = Instant::now();
        Self {
            race: Race::new(plan, t0, t0 + timeout),
            t0,
            now: Cell::new(0),
        }
    }

    /// A race that resolves as it goes, sending `queries` at `t0`.
    pub fn resolving(
        queries: &[QueryType],
        options: HappyEyeballsOptions,
        requested: Option<turbohttp_proto::AddressFamily>,
        timeout: Duration,
    ) -> Self {
        let t0 = Instant::now();
        Self {
            race: Race::resolving(&options, requested, queries, t0, t0 + timeout),
            t0,
            now: Cell::new(0),
        }
    }

    /// The instant `n` ms after `t0`; also notes it as the latest input time.
    pub fn at(&self, n: u64) -> Instant {
        self.now.set(self.now.get().max(n));
        self.t0 + ms(n)
    }

    /// Every event the race has for its driver now.
    pub fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.race.poll_event()).collect()
    }

    /// When the race wants to be woken, in ms from `t0` (exact: every input is a
    /// whole number of milliseconds).
    pub fn wake(&mut self) -> Option<Duration> {
        self.race.poll_timeout().map(|t| t - self.t0)
    }

    pub fn tick(&mut self, n: u64) -> Vec<Event> {
        self.race.handle_timeout(self.at(n));
        self.events()
    }

    pub fn fail(&mut self, n: u64, attempt: usize) -> Vec<Event> {
        self.race.handle_failed(self.at(n), attempt, &refused());
        self.events()
    }

    pub fn fail_with(&mut self, n: u64, attempt: usize, error: &AttemptError) -> Vec<Event> {
        self.race.handle_failed(self.at(n), attempt, error);
        self.events()
    }

    pub fn connect(&mut self, n: u64, attempt: usize) -> Vec<Event> {
        self.race.handle_connected(self.at(n), attempt);
        self.events()
    }

    pub fn answer(&mut self, n: u64, query: usize, list: &[&str]) -> Vec<Event> {
        self.race.handle_answer(self.at(n), query, Ok(addrs(list)));
        self.events()
    }

    /// The HTTPS query `query` answers `records` at `n` ms.
    pub fn services(&mut self, n: u64, query: usize, records: Vec<ServiceInfo>) -> Vec<Event> {
        self.race.handle_services(self.at(n), query, Ok(records));
        self.events()
    }

    /// The HTTPS query `query` fails with `kind` at `n` ms.
    pub fn services_fail(&mut self, n: u64, query: usize, kind: LookupFailureKind) -> Vec<Event> {
        self.race
            .handle_services(self.at(n), query, Err(lookup_failure(kind)));
        self.events()
    }

    /// The protocols each attempt offers, in start order (`None`: the caller's own).
    pub fn alpns(&self) -> Vec<Option<String>> {
        let records = self.race.records().iter();
        records.map(|r| r.alpn.map(|p| p.to_string())).collect()
    }

    pub fn answer_fail(&mut self, n: u64, query: usize, kind: LookupFailureKind) -> Vec<Event> {
        self.race
            .handle_answer(self.at(n), query, Err(lookup_failure(kind)));
        self.events()
    }

    /// What a driver does while nothing else happens: sleep until `poll_timeout`,
    /// wake, collect the events; until `until` ms. Returns `(ms, event)` pairs.
    pub fn run_until(&mut self, until: u64) -> Vec<(u64, Event)> {
        let mut log: Vec<(u64, Event)> = self
            .events()
            .into_iter()
            .map(|e| (self.now.get(), e))
            .collect();
        let mut now = None;
        for _ in 0..10_000 {
            let Some(wake) = self.race.poll_timeout() else {
                break;
            };
            if wake > self.at(until) {
                break;
            }
            assert!(
                now.is_none_or(|n| wake > n),
                "poll_timeout did not move forward"
            );
            now = Some(wake);
            let at = (wake - self.t0).as_millis() as u64;
            let wake = self.at(at);
            self.race.handle_timeout(wake);
            log.extend(self.events().into_iter().map(|e| (at, e)));
        }
        let end = self.at(until);
        self.race.handle_timeout(end);
        log.extend(self.events().into_iter().map(|e| (until, e)));
        log
    }

    /// `(attempt, address, started ms, ended ms, outcome)` of every record.
    pub fn timeline(&self) -> Vec<(usize, String, u64, Option<u64>, &'static str)> {
        self.race
            .records()
            .iter()
            .map(|r| {
                (
                    r.attempt,
                    r.endpoint.to_string(),
                    r.started.as_millis() as u64,
                    r.ended.map(|e| e.as_millis() as u64),
                    r.outcome.as_str(),
                )
            })
            .collect()
    }

    /// `(type, started ms, ended ms, outcome)` of every query record.
    pub fn query_log(&self) -> Vec<(QueryType, u64, Option<u64>, &'static str)> {
        self.race
            .queries()
            .iter()
            .map(|q| {
                (
                    q.query,
                    q.started.as_millis() as u64,
                    q.ended.map(|e| e.as_millis() as u64),
                    q.outcome.as_str(),
                )
            })
            .collect()
    }
}

/// A row of [`Sim::timeline`].
pub fn rec(
    attempt: usize,
    a: &str,
    started: u64,
    ended: Option<u64>,
    outcome: &'static str,
) -> (usize, String, u64, Option<u64>, &'static str) {
    (attempt, a.to_owned(), started, ended, outcome)
}
