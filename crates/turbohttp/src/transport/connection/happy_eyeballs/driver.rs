//! Runs a [`Race`] on tokio: sends the DNS queries and starts the attempts it asks
//! for, feeds their answers, results and the clock back in, and drops what it
//! cancels. All decisions are the race's; this file only does IO and waiting.
//!
//! It is one poll function rather than a `select!` loop so that a healthy connect
//! costs what a plain connect does: no allocation per wake-up, the clock read once per
//! wake-up and only when something happened, the timer touched only when the task is
//! about to sleep, and no cancellation waiter without a token.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::race::{Event, Outcome, Race};
use super::timer::Deadline;
use crate::transport::connection::{Dialer, Resolver};

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
    // The queries in flight (two at most), polled in this task like the attempts.
    let mut lookups = Vec::new();
    // The attempts in flight, at most `max_in_flight` of them, all in this one task.
    // A plain Vec rather than a FuturesUnordered: a cancelled attempt is removed, and
    // so its socket closed, the moment the race says so, which keeps the number of
    // open sockets within the cap at every instant.
    let mut in_flight = Vec::new();
    // Attempts that connected at this instant, until the race picks the winner.
    let mut connected: Vec<(usize, D::Stream)> = Vec::new();
    if cancel.is_some_and(CancellationToken::is_cancelled) {
        race.handle_cancel(Instant::now().into_std());
    }
    // One cancellation waiter (only with a token: without one, only dropping cancels)
    // and one timer for the whole race, re-armed only when the race's next deadline
    // changes (precise in real time: see `timer`).
    let mut cancelled = pin!(cancel.map(CancellationToken::cancelled));
    let sleep = pin!(sleep_until(Instant::now()));
    let mut timer = Deadline::new(sleep);

    poll_fn(|cx| {
        loop {
            while let Some(event) = race.poll_event() {
                match event {
                    Event::Resolve { query, kind } => {
                        tracing::debug!(query, %kind, host, "query sent");
                        lookups.push((query, Box::pin(resolver.lookup(host, port, kind))));
                    }
                    Event::Start { attempt, addr } => {
                        tracing::debug!(attempt, %addr, "attempt started");
                        in_flight.push((attempt, Box::pin(dialer.dial(addr))));
                    }
                    Event::Cancel { attempt } => {
                        let outcome = race.records().get(attempt).map(|r| r.outcome.as_str());
                        tracing::debug!(attempt, outcome, "attempt ended");
                        in_flight.retain(|(a, _)| *a != attempt);
                        connected.retain(|(a, _)| *a != attempt);
                    }
                    Event::Finished(outcome) => {
                        let stream = match outcome {
                            Outcome::Connected { attempt } => connected
                                .iter()
                                .position(|(a, _)| *a == attempt)
                                .map(|pos| connected.swap_remove(pos).1),
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
            // wake-up order. The clock is read once, and only if something happened.
            let mut now = None;
            let mut clock = || *now.get_or_insert_with(|| Instant::now().into_std());
            let mut progressed = false;
            poll_ready(&mut lookups, cx, |query, answer| {
                match &answer {
                    Ok(addrs) => tracing::debug!(query, addresses = addrs.len(), "query answered"),
                    Err(failure) => tracing::debug!(query, %failure, "query failed"),
                }
                race.handle_answer(clock(), query, answer);
                progressed = true;
            });
            poll_ready(&mut in_flight, cx, |attempt, result| {
                match result {
                    Ok(stream) => {
                        tracing::debug!(attempt, "attempt connected");
                        race.handle_connected(clock(), attempt);
                        connected.push((attempt, stream));
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

/// Polls every future in `in_flight` once and hands each one that finished to
/// `handle`, in start order, removing it.
fn poll_ready<T, F>(
    in_flight: &mut Vec<(usize, Pin<Box<F>>)>,
    cx: &mut Context<'_>,
    mut handle: impl FnMut(usize, T),
) where
    F: Future<Output = T>,
{
    in_flight.retain_mut(|(id, future)| match future.as_mut().poll(cx) {
        Poll::Ready(result) => {
            handle(*id, result);
            false
        }
        Poll::Pending => true,
    });
}
