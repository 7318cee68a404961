//! Runs a [`Race`] on tokio: sends the DNS queries and starts the attempts it asks
//! for, feeds their answers, results and the clock back in, and drops what it
//! cancels. All decisions are the race's; this file only does IO and waiting.
//!
//! It is one poll function rather than a `select!` loop so that a healthy connect
//! costs little more than a plain connect: no allocation per wake-up, the clock read
//! once per pass over the futures and only when something finished, the timer and the
//! cancellation waiter (none without a token) armed only when the task is about to
//! sleep, and never before it has yielded once to the runtime: a connect that
//! completes at once (loopback, a LAN) arms neither.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::timer::Deadline;
use crate::dial::{Dialer, Offer};
use crate::resolve::Resolver;
use turbohttp_proto::dns::{LookupFailure, QueryType, https_query_name};
use turbohttp_proto::race::{Event, Outcome, Race};
use turbohttp_proto::service::ServiceInfo;

/// Executes `race`, asking `resolver` about `host` and dialing with `dialer`; returns
/// the outcome and the winner's stream on success (the race, borrowed rather than
/// moved in and out, keeps its records for the report). Every
/// other connection and every query still running is dropped before this returns,
/// and dropping this future drops them too: nothing waits for a lookup once its
/// connect is over.
pub(crate) async fn drive<R: Resolver, D: Dialer>(
    race: &mut Race,
    resolver: &R,
    host: &str,
    port: u16,
    dialer: &D,
    cancel: Option<&CancellationToken>,
) -> (Outcome, Option<D::Stream>) {
    // The queries in flight (two at most) and the attempts in flight (at most
    // `max_in_flight`), all polled in this one task. Not a FuturesUnordered: a
    // cancelled attempt is removed, and so its socket closed, the moment the race says
    // so, which keeps the number of open sockets within the cap at every instant.
    let lookup_slot = pin!(None);
    let mut lookups = Running::new(lookup_slot);
    let attempt_slot = pin!(None);
    let mut in_flight = Running::new(attempt_slot);
    // Attempts that connected at this instant, until the race picks the winner.
    let mut connected = Connected::default();
    // One cancellation waiter (only with a token: without one, only dropping cancels)
    // and one timer for the whole race, re-armed only when the race's next deadline
    // changes (precise in real time: see `timer`). Neither is made before the race
    // has yielded once to the runtime (see `Phase`). A token cancelled before the
    // connect began was seen by the caller, which then sends nothing; one cancelled
    // since is seen by the waiter, before the task first sleeps.
    let mut cancelled = pin!(None);
    let mut phase = Phase::Busy;
    let sleep = pin!(None);
    let mut timer = Deadline::new(sleep, Instant::from_std(race.started_at()));
    // The HTTPS query and the queries for other names than the host's (an HTTPS
    // record's targets), boxed, so that a race without them (most) carries one
    // pointer for them.
    let mut extra: Option<Box<Extra<_, _>>> = None;

    poll_fn(|cx| {
        loop {
            while let Some(event) = race.poll_event() {
                match event {
                    Event::Resolve {
                        query,
                        kind: QueryType::Https,
                    } => {
                        // The origin's at its port's name; an alias's target as is.
                        let name = race
                            .query_name(query)
                            .map_or_else(|| https_query_name(host, port), str::to_owned);
                        tracing::debug!(query, name, "HTTPS query sent");
                        let lookup = Box::pin(ask_services(resolver, name));
                        extra.get_or_insert_with(Box::default).https = Some((query, lookup));
                    }
                    Event::Resolve { query, kind } => match race.query_name(query) {
                        // Another name (an HTTPS record's target): its own future,
                        // which owns the name.
                        Some(name) => {
                            tracing::debug!(query, %kind, name, "query sent");
                            let lookup = ask_addresses(resolver, name.to_owned(), port, kind);
                            let extra = extra.get_or_insert_with(Box::default);
                            extra.named.push((query, Box::pin(lookup)));
                        }
                        None => {
                            tracing::debug!(query, %kind, host, "query sent");
                            lookups.push(query, resolver.lookup(host, port, kind));
                        }
                    },
                    Event::Start { attempt, addr } => {
                        let alpn = race.records().get(attempt).and_then(|r| r.alpn);
                        let ech = race.ech_config(attempt).map(Arc::from);
                        tracing::debug!(attempt, %addr, ?alpn, ech = ech.is_some(), "attempt started");
                        let transport = race.attempt_transport(attempt).unwrap_or_default();
                        let offer = Offer::default()
                            .with_alpn(alpn)
                            .with_ech(ech)
                            .with_transport(transport);
                        in_flight.push(attempt, dialer.dial_offering(addr, offer));
                    }
                    Event::Cancel { attempt } => {
                        let outcome = race.records().get(attempt).map(|r| r.outcome.as_str());
                        tracing::debug!(attempt, outcome, "attempt ended");
                        in_flight.remove(attempt);
                        // A loser that connected too: dropping its stream closes it.
                        drop(connected.take(attempt));
                    }
                    Event::Finished(outcome) => {
                        let stream = match outcome {
                            Outcome::Connected { attempt } => connected.take(attempt),
                            _ => None,
                        };
                        return Poll::Ready((outcome, stream));
                    }
                }
            }

            // Results first, so that a connection that completes at the same instant as
            // the deadline or a cancellation still wins; queries and attempts are each
            // looked at in start order, and all that are ready in this wake-up see the
            // same `now`, so that the race settles ties by plan order rather than by
            // wake-up order. The clock is read once a pass, and only if something
            // finished.
            let mut now = None;
            let mut clock = || *now.get_or_insert_with(|| Instant::now().into_std());
            let mut progressed = false;
            lookups.poll_ready(cx, |query, answer| {
                match &answer {
                    Ok(addrs) => tracing::debug!(query, addresses = addrs.len(), "query answered"),
                    Err(failure) => tracing::debug!(query, %failure, "query failed"),
                }
                race.handle_answer(clock(), query, answer);
                progressed = true;
            });
            if let Some(extra) = extra.as_deref_mut() {
                extra
                    .named
                    .retain_mut(|(query, lookup)| match lookup.as_mut().poll(cx) {
                        Poll::Ready(answer) => {
                            race.handle_answer(clock(), *query, answer);
                            progressed = true;
                            false
                        }
                        Poll::Pending => true,
                    });
            }
            if let Some((query, lookup)) = extra.as_deref_mut().and_then(|e| e.https.as_mut())
                && let Poll::Ready(answer) = lookup.as_mut().poll(cx)
            {
                match &answer {
                    Ok(records) => tracing::debug!(records = records.len(), "HTTPS answered"),
                    Err(failure) => tracing::debug!(%failure, "HTTPS query failed"),
                }
                race.handle_services(clock(), *query, answer);
                if let Some(extra) = extra.as_deref_mut() {
                    extra.https = None;
                }
                progressed = true;
            }
            in_flight.poll_ready(cx, |attempt, result| {
                match result {
                    Ok(stream) => {
                        tracing::debug!(attempt, "attempt connected");
                        race.handle_connected(clock(), attempt);
                        connected.push(attempt, stream);
                    }
                    Err(error) => {
                        tracing::debug!(attempt, %error, "attempt failed");
                        race.handle_failed(clock(), attempt, &error);
                    }
                }
                progressed = true;
            });
            if progressed {
                continue;
            }
            if phase == Phase::Busy {
                // Nothing more to do now: before arming anything, yield once, to be
                // polled again right after the runtime has looked for IO. What
                // completes at once (a loopback connect, an answer at hand) is then
                // seen without a timer or a cancellation waiter ever being set up
                // and taken down; the race's instants are those it had. The yield is
                // polled once and dropped: the wake-up it deferred stands, and the
                // connect's future carries no room for it.
                phase = Phase::Yielded;
                if pin!(tokio::task::yield_now()).poll(cx).is_pending() {
                    return Poll::Pending;
                }
            }
            if phase == Phase::Yielded {
                phase = Phase::Waiting;
                cancelled.set(cancel.map(CancellationToken::cancelled));
            }
            if let Some(waiter) = cancelled.as_mut().as_pin_mut()
                && waiter.poll(cx).is_ready()
            {
                cancelled.set(None);
                race.handle_cancel(Instant::now().into_std());
                continue;
            }
            // About to sleep: arm the timer for the race's next deadline, if any.
            if let Some(at) = race.poll_timeout() {
                timer.reset(Instant::from_std(at));
                if timer.poll_expired(cx).is_ready() {
                    race.handle_timeout(Instant::now().into_std());
                    continue;
                }
            }
            return Poll::Pending;
        }
    })
    .await
}

/// What only a race with an HTTPS query runs: that query (one at a time: an alias's
/// target is asked after its answer) and the address queries for other names.
struct Extra<S, A> {
    https: Option<(usize, Pin<Box<S>>)>,
    named: Vec<(usize, Pin<Box<A>>)>,
}

impl<S, A> Default for Extra<S, A> {
    fn default() -> Self {
        Self {
            https: None,
            named: Vec::new(),
        }
    }
}

/// The HTTPS query at `name`: a future that owns the name.
async fn ask_services<R: Resolver>(
    resolver: &R,
    name: String,
) -> Result<Vec<ServiceInfo>, LookupFailure> {
    resolver.services(&name).await
}

/// An address query for `name` (not the host's): a future that owns the name.
async fn ask_addresses<R: Resolver>(
    resolver: &R,
    name: String,
    port: u16,
    kind: QueryType,
) -> Result<Vec<std::net::SocketAddr>, LookupFailure> {
    resolver.lookup(&name, port, kind).await
}

/// Where the driver is in its waiting: busy until the race first has nothing to do,
/// then it yields once, then it waits (its cancellation waiter made, its timer armed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Busy,
    Yielded,
    Waiting,
}

/// Futures of one kind (queries, or attempts) in start order: the first in a slot
/// pinned on the driver's stack, so that a race of one query and one attempt
/// allocates nothing for them; any started while others run are boxed. The slot is
/// filled only when nothing else runs, so it always holds the oldest.
struct Running<'a, F> {
    slot: Pin<&'a mut Option<F>>,
    slot_id: usize,
    rest: Vec<(usize, Pin<Box<F>>)>,
}

impl<'a, F: Future> Running<'a, F> {
    fn new(slot: Pin<&'a mut Option<F>>) -> Self {
        Self {
            slot,
            slot_id: 0,
            rest: Vec::new(),
        }
    }

    fn push(&mut self, id: usize, future: F) {
        if self.slot.is_none() && self.rest.is_empty() {
            self.slot.set(Some(future));
            self.slot_id = id;
        } else {
            self.rest.push((id, Box::pin(future)));
        }
    }

    /// Drops `id`'s future (closing its socket) if it still runs.
    fn remove(&mut self, id: usize) {
        if self.slot.is_some() && self.slot_id == id {
            self.slot.set(None);
        } else {
            self.rest.retain(|(other, _)| *other != id);
        }
    }

    /// Polls every future once and hands each one that finished to `handle`, in
    /// start order, removing it.
    fn poll_ready(&mut self, cx: &mut Context<'_>, mut handle: impl FnMut(usize, F::Output)) {
        if let Some(future) = self.slot.as_mut().as_pin_mut()
            && let Poll::Ready(output) = future.poll(cx)
        {
            self.slot.set(None);
            handle(self.slot_id, output);
        }
        if self.rest.is_empty() {
            return;
        }
        self.rest
            .retain_mut(|(id, future)| match future.as_mut().poll(cx) {
                Poll::Ready(output) => {
                    handle(*id, output);
                    false
                }
                Poll::Pending => true,
            });
    }
}

/// The streams of attempts that connected, until the race picks the winner: the
/// first one without an allocation, as the race usually has only one.
struct Connected<S> {
    first: Option<(usize, S)>,
    rest: Vec<(usize, S)>,
}

impl<S> Default for Connected<S> {
    fn default() -> Self {
        Self {
            first: None,
            rest: Vec::new(),
        }
    }
}

impl<S> Connected<S> {
    fn push(&mut self, id: usize, stream: S) {
        match self.first {
            None => self.first = Some((id, stream)),
            Some(_) => self.rest.push((id, stream)),
        }
    }

    /// Takes `id`'s stream out, if it connected.
    fn take(&mut self, id: usize) -> Option<S> {
        if self.first.as_ref().is_some_and(|(first, _)| *first == id) {
            return self.first.take().map(|(_, stream)| stream);
        }
        let pos = self.rest.iter().position(|(other, _)| *other == id)?;
        Some(self.rest.swap_remove(pos).1)
    }
}
