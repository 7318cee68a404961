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
//!   (first kept), across answers too. The preferred family's attempt `i` is due at
//!   `t0 + i × spacing`, the other family's attempt `j` at `t0 + stagger + j × spacing`,
//!   each family in resolver order, where `t0` is when the addresses became known.
//! * **First success wins.** Scheduling stops, every other attempt is cancelled and its
//!   socket dropped before `connect` returns, including attempts that connect later.
//! * **Timeouts.** The connect timeout bounds the whole call, resolution included. Each
//!   attempt also has a budget (decision 2) bounded by what remains.
//! * **Cancellation.** Cancelling the token (or dropping the future) cancels every
//!   attempt at once. A winner already chosen is still returned.
//!
//! # DNS inside the race (RFC 8305 §3)
//!
//! A resolver that can ask each family on its own gets an AAAA and an A query, sent
//! together at the start of the connect ([`race::Race::resolving`]); each answer is
//! planned the moment it arrives ([`race::Race::handle_answer`]). Times count from the
//! start of the connect.
//!
//! * **The preferred family's answer starts it at once**, and the other family's
//!   addresses then follow its head start, exactly as if both had come together then.
//! * **An answer for the other family that comes first waits** up to
//!   `resolution_delay` (50 ms) for the preferred family's answer. If that answer
//!   comes in time, the rule above applies from its arrival; if the preferred query
//!   fails (NXDOMAIN, NODATA, SERVFAIL, the resolver's timeout) the wait ends at once;
//!   otherwise the other family starts when the delay runs out. A second early answer
//!   joins the first one's wait. With a requested family (`-4`, `-6`), that family
//!   waits for nothing.
//! * **A late answer joins the race**: its addresses are planned from their arrival,
//!   into the part of the schedule not started yet, by the same interleaving; the
//!   preferred family's are due at once.
//! * **The race is not over while a query may still bring addresses**: with every
//!   attempt failed and a query pending, it waits for the answer (or the timeout).
//! * **Nothing is dialed twice**, however many answers carry an address.
//! * **Ending without an address**: every query failed (at least one not NODATA) is
//!   [`race::Outcome::Unresolved`]; every query answered nothing,
//!   [`race::Outcome::NoAddresses`]; only other families' addresses (a `-4`/`-6`
//!   request), [`race::Outcome::FamilyUnavailable`].
//! * **Queries are dropped with the race**: when it ends, queries still running are
//!   recorded `cancelled` (or `timed_out`, at the connect timeout) and the driver drops
//!   them (a DNS client may still finish an exchange it had sent, within its own
//!   timeout, but nothing waits for it).
//!
//! # The HTTPS query (draft-ietf-happy-happyeyeballs-v3 §4 and §5)
//!
//! A race given [`QueryType::Https`](dns::QueryType::Https) among its queries (sent
//! first: HTTPS, AAAA, A) learns the origin's service records
//! ([`race::Race::handle_services`], [`service::ServiceInfo`]).
//!
//! * **The gate.** Attempts start once an address is known (an A/AAAA answer, or a
//!   used record's `ipv4hint`/`ipv6hint`) and both the preferred family's answer (or
//!   its hints) and the HTTPS answer (or its failure) are in; or once an address is
//!   known and the resolution delay has passed since the first was. A lost, failed or
//!   malformed HTTPS answer never costs more than that delay. With racing disabled,
//!   every query is waited for.
//! * **Endpoints.** A used record of the origin (TargetName ".") turns the origin's
//!   addresses into its endpoints: its `port`, and the protocols it shares with the
//!   caller offered in the TLS handshake ([`AttemptRecord::alpn`]). Until a family's
//!   answer comes, the record's hints of that family stand in for it; the answer then
//!   replaces them: a hint it lacks is not started, what it adds is due where the
//!   hint was, and an address both carry is dialed once. A record for another target
//!   contributes its hints. The origin's addresses that no used record serves come
//!   last, at the origin's port, as RFC 8305 dials them.
//! * **Targets and aliases.** A used record for another name makes the race ask that
//!   name's AAAA and A (at most [`service::MAX_TARGETS`] names; the driver asks what
//!   [`race::Race::query_name`] says). An AliasMode record is followed: the target's
//!   HTTPS, AAAA and A are asked at once, and "." in its records means the target; a
//!   target with no record is dialed as a CNAME would be. At most
//!   [`service::MAX_ALIAS_CHAIN`] aliases in a row; a loop (back to a name of the
//!   chain, or to the origin's own: [`race::Race::with_origin`]), a longer chain or
//!   an alias to "." is not followed, and the origin's own addresses are the
//!   service's. Once the records are in, the race starts on an address of the
//!   service they name; the origin's own only after the resolution delay.
//! * **Skipped records.** A record whose `mandatory` key the race does not understand,
//!   one that shares no protocol with the caller, and (unless the race may dial QUIC) one that
//!   offers only `h3` are kept in the report with the reason
//!   ([`service::Verdict`]) and dial nothing.
//! * **Order.** Records by priority, lowest first; equal priorities shuffled by a seed
//!   ([`race::Race::with_services`]; a test fixes it). Each record's endpoints are one
//!   group, interleaved by family as above; a group's first attempt is due one spacing
//!   after the previous group's last, so every attempt of a record is due before the
//!   next record's. A failure still pulls the next attempt forward (decision 3).
//! * **A late HTTPS answer** (after the gate) adds its endpoints after what is
//!   planned; attempts already started go on.
//! * **ECH** ([`race::Race::with_ech`], for a caller that can offer it): records with
//!   an `ech` configuration are tried first, and their attempts offer it; when every
//!   used record has one, the origin's own addresses are never dialed (RFC 9848
//!   §4.1), and those planned before the records came are dropped.
//!
//! ```text
//! HTTPS last:   t=10 AAAA, t=12 A -> wait; t=30 HTTPS port=8443 -> [v6]:8443 starts;
//!               v4:8443 due at 280
//! HTTPS lost:   t=10 AAAA, t=12 A -> wait; t=60 (10 + 50) v6 starts; v4 due at 310
//! hints:        t=8 HTTPS ipv6hint, ipv4hint -> v6 hint starts at 8, v4 hint due at 258
//! replaced:     t=0 hints ::a ::b -> ::a starts; t=20 AAAA ::a ::c -> ::b dropped,
//!               ::c due at 125 (where ::b was)
//! priorities:   p1 [v6]:8001 at 10, v4:8001 at 260; p2 [v6]:8002 at 385, v4:8002 at 635
//! ECH only:     t=2 A v4 -> wait; t=5 HTTPS cdn ech ipv4hint=h -> h starts [ECH]; v4 never
//! ```
//!
//! `first_address_family_count` (RFC 8305 §4, default 1) is how many of the preferred
//! family's attempts come before the other family's first: the stagger is counted
//! from the due time of the preferred family's attempt number `count`. It must be
//! below `max_concurrent_attempts`, whose last slot is the other family's (decision 1).
//! `follow_resolver_order` lets the family of the first address (the first answer with
//! an address, when each family is asked apart) lead instead of `prefer_ipv6`; then
//! nothing waits for a resolution delay. Within a family, addresses keep the answer's
//! order (no RFC 6724 sorting: the resolver's order is the operator's).
//!
//! ```text
//! lost AAAA:       t=0 AAAA, A sent; t=0.4 A answers -> waits; t=50.4 v4[0] starts
//! AAAA at 30 ms:   t=0 A answers -> waits; t=30 AAAA answers -> v6[0] starts; v4[0] due at 280
//! AAAA SERVFAIL:   t=0 A answers -> waits; t=7 AAAA fails -> v4[0] starts at 7
//! ```
//!
//! # Alt-Svc alternatives (RFC 7838)
//!
//! A race given the caller's live Alt-Svc list ([`race::Race::with_alternatives`],
//! [`alt_svc::AltService`]: protocol, optional host, optional port) dials each used
//! alternative as it would a ServiceMode record: its port, its one protocol if the
//! caller speaks it over TCP (`h3` alone is skipped as
//! [`service::Verdict::QuicOnly`]), another host's own AAAA and A (sent at the start,
//! within [`service::MAX_TARGETS`]), an IP literal as its address. They are known at
//! t=0 and tried first, in the caller's order, before the HTTPS records and the
//! origin's own addresses, which stay the fallback (RFC 7838 §2.4); once an
//! alternative's addresses are known (its preferred family's answer, or a literal)
//! the race starts without waiting for the HTTPS answer. The report keeps each with
//! its verdict ([`RaceReport::alternatives`]), and each attempt the alternative it
//! serves ([`AttemptRecord::alternative`]).
//!
//! ```text
//! h2=":8443", lookup at t=5:   [v6]:8443 at 5, v4:8443 at 255; [v6]:443 at 380, v4:443 at 630
//! h2="alt.test:8443":          t=0 AAAA, A alt.test sent; t=4 its AAAA -> [v6']:8443 starts
//! h2="192.0.2.7:8443":         t=0 192.0.2.7:8443 starts, before any answer
//! ```
//!
//! # QUIC raced against TCP (draft-ietf-happy-happyeyeballs-v3 §6)
//!
//! A race told the caller can dial QUIC ([`race::Race::with_quic`],
//! [`quic::QuicPolicy`]; off by default, and then `h3` is skipped as above) turns
//! `h3` into QUIC endpoints: an attempt's transport is in
//! [`AttemptRecord::transport`] and [`race::Race::attempt_transport`].
//!
//! * **Where QUIC endpoints come from.** A used HTTPS record whose protocols, shared
//!   with the caller's, include `h3` (its addresses and port); an `h3` Alt-Svc
//!   alternative; the origin's own addresses when the caller asks for HTTP/3 there
//!   ([`quic::QuicPolicy::origin`], curl's `--http3`) or speaks only `h3` (curl's
//!   `--http3-only`: then nothing is dialed over TCP). QUIC and TCP to one address
//!   and port are two endpoints, each planned once.
//! * **QUIC first, TCP one attempt delay later.** A service that speaks both is two
//!   groups: its QUIC endpoints, laid out as any group (by family, with the
//!   stagger), then its TCP endpoints laid out the same way, one spacing
//!   (`attempt_spacing_delay`, the connection attempt delay, never below
//!   [`MIN_DELAY`]) later. So when QUIC gets no answer, the first TCP attempt starts
//!   one attempt delay after the first QUIC attempt, not after a QUIC timeout.
//! * **A fast QUIC failure hands over at once** (decision 3): its TCP twin is the
//!   next attempt in plan order.
//! * **Each transport has its own slots**: `max_concurrent_attempts` for QUIC and
//!   as many for TCP, each with decision 1's rule for families, as two races side
//!   by side; so a stalled QUIC attempt never holds TCP back past its time. One
//!   family and two transports race (not one at a time).
//! * **Remembered broken QUIC** ([`quic::QuicMemory`], kept by the caller): when QUIC
//!   to an origin got no answer while TCP won, it is remembered for 5 minutes,
//!   doubling on each repeat, at most 48 hours; a QUIC success forgets it. A race
//!   given [`quic::QuicPolicy::remembered_broken`] plans no QUIC endpoint while TCP
//!   can stand in: TCP goes at once, with no QUIC delay, and
//!   [`race::Race::quic_memory_used`] says the memory changed the plan. With `h3`
//!   alone, QUIC is still dialed.
//!
//! ```text
//! h3,h2 record, QUIC hangs:  t=10 HTTPS -> QUIC [v6] at 10, TCP [v6] at 135,
//!                            QUIC v4 at 260, TCP v4 at 385
//! QUIC refused:              t=5 QUIC v4 starts; t=8 refused -> TCP v4 starts at 8
//! remembered broken:         t=10 TCP [v6] at 10, TCP v4 at 260 (no QUIC)
//! --http3-only:              QUIC [v6] at 10, QUIC v4 at 260, no TCP
//! ```
//!
//! # Decisions the specification leaves open
//!
//! 1. **The fallback is never starved by the concurrency cap.** Until both families
//!    have started, the family that has may hold all slots but one: the preferred
//!    family before the fallback starts, or the other family before a late preferred
//!    answer starts. With the defaults and three stalled IPv6 addresses before one
//!    IPv4 address:
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
//!    An answer that brings more addresses while attempts run shortens their budgets
//!    to what they would have had with those addresses known at their start.
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
//!    (only IPv4 or only IPv6 resolved) is this same sequential path. With per-family
//!    queries, `enable = false` waits for every query, as `getaddrinfo` does, then
//!    dials the preferred family's answer first.
//!
//! 6. **A connected socket whose setup fails** (socket options, TLS handshake) is a
//!    failed attempt and the race goes on, unless the dialer marks the failure terminal
//!    ([`AttemptError::terminal`](crate::AttemptError::terminal),
//!    for example a certificate that does not verify for the host): the race then
//!    stops with [`Outcome::SetupRejected`](race::Outcome::SetupRejected).
//!
//! 7. **A connect timeout not longer than the stagger** does not refuse the race: the
//!    head start becomes half the timeout (and the spacing at most that), so a stalled
//!    preferred family leaves the other family the second half of what remains after
//!    the first answer; the resolution delay is never more than half the timeout
//!    ([`HappyEyeballsOptions::for_timeout`]). A refused preferred family still hands
//!    over at once (decision 3).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod alt_svc;
mod attempt;
pub mod dns;
mod family;
mod options;
pub mod plan;
pub mod quic;
pub mod race;
mod report;
pub mod service;

pub use attempt::{AttemptError, AttemptPhase};
pub use family::AddressFamily;
pub use options::{HappyEyeballsOptions, MIN_DELAY, OptionsError};
pub use report::{
    AttemptFailure, AttemptOutcome, AttemptRecord, DisplayDuration, FailureDepth, QueryOutcome,
    QueryRecord, RaceReport,
};
