//! QUIC in the race, as plain data: what the caller can dial ([`QuicPolicy`]) and what
//! it remembers of origins whose QUIC got no answer ([`QuicMemory`]). The rules are in
//! the [crate docs](crate) ("QUIC raced against TCP").

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How a race may dial QUIC ([`Race::with_quic`](crate::race::Race::with_quic)).
///
/// The protocols the caller speaks ([`Race::with_services`], `caller`) say the rest:
/// with `h3` among them, `h3` in a used HTTPS record or Alt-Svc alternative becomes
/// QUIC endpoints; with `h3` alone (curl's `--http3-only`), nothing is dialed over TCP
/// and the origin's own addresses are QUIC endpoints.
///
/// [`Race::with_services`]: crate::race::Race::with_services
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct QuicPolicy {
    /// Try HTTP/3 at the origin's own addresses and port too, ahead of TCP (curl's
    /// `--http3`), without a record or alternative that says so.
    pub origin: bool,
    /// QUIC to this origin is remembered broken ([`QuicMemory::is_broken`]): while
    /// TCP can stand in, no QUIC endpoint is planned.
    pub remembered_broken: bool,
}

impl QuicPolicy {
    /// QUIC where a record or an alternative offers `h3`; not at the origin unasked,
    /// nothing remembered.
    pub fn new() -> Self {
        Self::default()
    }

    /// With [`QuicPolicy::origin`].
    pub fn with_origin(mut self, origin: bool) -> Self {
        self.origin = origin;
        self
    }

    /// With [`QuicPolicy::remembered_broken`].
    pub fn with_remembered_broken(mut self, broken: bool) -> Self {
        self.remembered_broken = broken;
        self
    }
}

/// How long QUIC to an origin is remembered broken the first time: Chrome's 5 minutes.
pub const BROKEN_FOR: Duration = Duration::from_secs(5 * 60);

/// The longest it is remembered, however often it repeats: 48 hours (Chrome's cap is
/// the same order; past two days the network has likely changed anyway).
pub const BROKEN_AT_MOST: Duration = Duration::from_secs(48 * 60 * 60);

/// How many origins a [`QuicMemory`] keeps by default; past it the oldest is evicted.
pub const DEFAULT_ORIGINS: usize = 1024;

/// What QUIC did in a race, for [`QuicMemory::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuicOutcome {
    /// A QUIC attempt connected: QUIC works, the memory is cleared.
    Worked,
    /// Every QUIC attempt got no answer (timed out, or cancelled still waiting) while
    /// a TCP attempt won: QUIC is remembered broken.
    NoAnswerWhileTcpWon,
    /// Anything else (no QUIC attempt, a fast failure, no winner): nothing learned.
    Inconclusive,
}

impl QuicOutcome {
    /// What a race's attempts say of QUIC (`winner`: the winning attempt's number).
    pub fn of_race(records: &[crate::AttemptRecord], winner: Option<usize>) -> Self {
        use crate::AttemptOutcome;
        use crate::plan::Transport;
        let quic = || records.iter().filter(|r| r.transport == Transport::Quic);
        let won = winner.and_then(|w| records.get(w));
        match won.map(|r| r.transport) {
            Some(Transport::Quic) => Self::Worked,
            Some(Transport::Tcp)
                if quic().next().is_some()
                    && quic().all(|r| {
                        matches!(
                            r.outcome,
                            AttemptOutcome::TimedOut | AttemptOutcome::Cancelled
                        )
                    }) =>
            {
                Self::NoAnswerWhileTcpWon
            }
            _ => Self::Inconclusive,
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    host: String,
    port: u16,
    /// How many times in a row QUIC got no answer.
    strikes: u32,
    /// Until when QUIC is not tried.
    until: Instant,
}

/// Origins whose QUIC got no answer while TCP won (Chrome's "broken alternative
/// service"): plain data, the time passed in. The first time an origin is remembered
/// for [`BROKEN_FOR`]; each repeat doubles it, up to [`BROKEN_AT_MOST`]. A QUIC
/// success forgets the origin. An expired entry keeps its count (the next repeat still
/// doubles) until a success or eviction. At most `capacity` origins: the one
/// remembered longest ago is evicted first.
///
/// ```
/// use std::time::{Duration, Instant};
/// use turbohttp_proto::quic::{QuicMemory, QuicOutcome};
///
/// let t0 = Instant::now();
/// let mut memory = QuicMemory::new(16);
/// memory.record("example.com", 443, QuicOutcome::NoAnswerWhileTcpWon, t0);
/// assert!(memory.is_broken("example.com", 443, t0 + Duration::from_secs(299)));
/// assert!(!memory.is_broken("example.com", 443, t0 + Duration::from_secs(300)));
/// ```
#[derive(Debug, Clone)]
pub struct QuicMemory {
    /// Oldest remembered first.
    entries: VecDeque<Entry>,
    capacity: usize,
}

impl Default for QuicMemory {
    fn default() -> Self {
        Self::new(DEFAULT_ORIGINS)
    }
}

impl QuicMemory {
    /// An empty memory of at most `capacity` origins (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    fn find(&self, host: &str, port: u16) -> Option<usize> {
        // Host names are case-insensitive: one origin however it is spelled.
        self.entries
            .iter()
            .position(|e| e.port == port && e.host.eq_ignore_ascii_case(host))
    }

    /// Whether QUIC to `host:port` is remembered broken at `now`.
    pub fn is_broken(&self, host: &str, port: u16, now: Instant) -> bool {
        self.find(host, port)
            .is_some_and(|i| now < self.entries[i].until)
    }

    /// Until when QUIC to `host:port` is remembered broken, if it is at `now`.
    pub fn broken_until(&self, host: &str, port: u16, now: Instant) -> Option<Instant> {
        let entry = &self.entries[self.find(host, port)?];
        (now < entry.until).then_some(entry.until)
    }

    /// The policy of a race to `host:port` at `now`: `base` with
    /// [`QuicPolicy::remembered_broken`] set from this memory.
    pub fn policy(&self, host: &str, port: u16, now: Instant, base: QuicPolicy) -> QuicPolicy {
        base.with_remembered_broken(self.is_broken(host, port, now))
    }

    /// Learns what QUIC did in a race to `host:port` that ended at `now`.
    pub fn record(&mut self, host: &str, port: u16, outcome: QuicOutcome, now: Instant) {
        match outcome {
            QuicOutcome::Worked => {
                if let Some(i) = self.find(host, port) {
                    self.entries.remove(i);
                }
            }
            QuicOutcome::NoAnswerWhileTcpWon => {
                let strikes = match self.find(host, port) {
                    Some(i) => self.entries.remove(i).map_or(0, |e| e.strikes),
                    None => 0,
                }
                .saturating_add(1);
                if self.entries.len() >= self.capacity {
                    self.entries.pop_front();
                }
                let until = now.checked_add(broken_for(strikes)).unwrap_or(now);
                self.entries.push_back(Entry {
                    host: host.to_ascii_lowercase(),
                    port,
                    strikes,
                    until,
                });
            }
            QuicOutcome::Inconclusive => {}
        }
    }

    /// How many origins are remembered (expired ones included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no origin is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// How long QUIC is remembered broken after `strikes` misses in a row: [`BROKEN_FOR`]
/// doubled for each repeat, at most [`BROKEN_AT_MOST`].
pub fn broken_for(strikes: u32) -> Duration {
    let doublings = strikes.saturating_sub(1).min(31);
    BROKEN_FOR
        .saturating_mul(1 << doublings)
        .min(BROKEN_AT_MOST)
}
