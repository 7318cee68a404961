//! The runtime-free core of turbohttp's Happy Eyeballs connector (RFC 8305).
//!
//! Like `quinn-proto` under `quinn`, this crate holds every decision and no IO: DNS
//! answers, connection results and the current time go in; "start this", "cancel
//! that", the outcome and the next deadline come out. It depends on no async runtime
//! and reads no clock; the `turbohttp` crate drives it on tokio.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use turbohttp_proto::plan::Plan;
//! use turbohttp_proto::race::{Event, Race};
//! use turbohttp_proto::HappyEyeballsOptions;
//!
//! let addrs = ["[2001:db8::1]:443".parse().unwrap(), "192.0.2.1:443".parse().unwrap()];
//! let plan = Plan::new(&addrs, &HappyEyeballsOptions::default(), None).unwrap();
//! let t0 = Instant::now();
//! let mut race = Race::new(plan, t0, t0 + Duration::from_secs(10));
//! // IPv6 first, at once; IPv4 is due 250 ms later unless IPv6 fails first.
//! assert_eq!(race.poll_event(), Some(Event::Start { attempt: 0, addr: addrs[0] }));
//! assert_eq!(race.poll_timeout(), Some(t0 + Duration::from_millis(250)));
//! ```
//!
//! # The rules
//!
//! * **Partition and order.** Duplicated `(address, port, family)` tuples are dropped
//!   (first kept). The preferred family's attempt `i` is due at `t0 + i × spacing`, the
//!   other family's attempt `j` at `t0 + stagger + j × spacing`, each family in resolver
//!   order.
//! * **First success wins.** Scheduling stops, every other attempt is cancelled and its
//!   socket dropped before `connect` returns, including attempts that connect later.
//! * **Timeouts.** The connect timeout bounds the whole call, resolution included. Each
//!   attempt also has a budget (decision 2) bounded by what remains.
//! * **Cancellation.** Cancelling the token (or dropping the future) cancels every
//!   attempt at once. A winner already chosen is still returned.
//!
//! # Decisions the specification leaves open
//!
//! 1. **The fallback is never starved by the concurrency cap.** Until the other family
//!    has started, the preferred family may hold all slots but one. With the defaults
//!    and three stalled IPv6 addresses before one IPv4 address:
//!
//!    ```text
//!    t=0      v6[0] starts                       (slot 1)
//!    t=125    v6[1] is due but would take the last slot: it waits
//!    t=250    v4[0] starts                       (slot 2)
//!    ```
//!
//! 2. **A stalled address does not hold its slot forever.** When an attempt starts it
//!    gets `max(remaining / rounds, min(2 s, remaining))`, where `rounds` is the number
//!    of attempts not started yet (itself included) divided by the cap, rounded up; that
//!    is Go's rule (`partialDeadline`, 2 s floor) with `max_concurrent_attempts` lanes.
//!    When the budget runs out the attempt ends as `timed_out` and frees its slot.
//!    See [`plan::attempt_budget`].
//!
//! 3. **A failure does not waste the delay.** Each failure (including a budget running
//!    out) lets the next waiting attempt *in plan order* start at once instead of at its
//!    scheduled time, as in RFC 8305 §5, Go, curl and hyper-util. The other family's
//!    first attempt is pulled forward when it is that next attempt: when the preferred
//!    family has no address left to try (it had one address, or all of them failed).
//!    Otherwise the next preferred address goes first and the fallback keeps its
//!    `t0 + stagger` (it is never later than that). Attempts only ever move earlier.
//!
//!    ```text
//!    one IPv6 address:   t=0 v6[0] starts; t=3 v6[0] refused -> v4[0] starts (was due at 250)
//!    two IPv6 addresses: t=0 v6[0] starts; t=3 v6[0] refused -> v6[1] starts (was due at 125);
//!                        t=250 v4[0] starts, on its schedule
//!    ```
//!
//! 4. **Ties are deterministic.** Attempts due at the same instant start in plan order
//!    (the preferred family first). Results reported at the same instant are settled in
//!    plan order: the earlier attempt in the plan wins, and a connection made at the very
//!    instant of the deadline or a cancellation still wins.
//!
//! 5. **`enable = false`** dials one address at a time in resolver order, each starting
//!    when the previous one failed, with the budgets of rule 2; the single-family path
//!    (only IPv4 or only IPv6 resolved) is this same sequential path.
//!
//! 6. **A connected socket whose setup fails** (socket options, TLS handshake) is a
//!    failed attempt and the race goes on, unless the dialer marks the failure terminal
//!    ([`AttemptError::terminal`](crate::AttemptError::terminal),
//!    for example a certificate that does not verify for the host): the race then
//!    stops with [`Outcome::SetupRejected`](race::Outcome::SetupRejected).
//!

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod attempt;
pub mod dns;
mod family;
mod options;
pub mod plan;
pub mod race;
mod report;

pub use attempt::{AttemptError, AttemptPhase};
pub use family::AddressFamily;
pub use options::{HappyEyeballsOptions, MIN_DELAY, OptionsError};
pub use report::{
    AttemptFailure, AttemptOutcome, AttemptRecord, DisplayDuration, QueryOutcome, QueryRecord,
    RaceReport,
};
