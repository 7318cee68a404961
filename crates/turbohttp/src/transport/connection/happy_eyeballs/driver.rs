//! Runs a [`Race`] on tokio: sends the DNS queries and starts the attempts it asks
//! for, feeds their answers, results and the clock back in, and drops what it
//! cancels. All decisions are the race's; this file only does IO and waiting.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::Poll;

use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::race::{Event, Outcome, Race};
use super::timer::Deadline;
use crate::transport::connection::{Dialer, Resolver};

/// Executes `race`, asking `resolver` about `host` and dialing with `dialer`; returns
/// the outcome, the winner's stream on success, and the race (for its records). Every
/// other connection and every query still running is dropped before this returns,
/// and dropping this future drops them too: nothing waits for a lookup once its
/// connect is over.
pub(crate) async fn drive<R: Resolver, D: Dialer>(
    mut race: Race,
    resolver: &R,
    host: &str,
    port: u16,
    dialer: &D,
    cancel: Option<&CancellationToken>,
) -> (Outcome, Option<D::Stream>, Race) {
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
    // One cancellation future and one timer for the whole race, the timer re-armed only
    // when the race's next deadline changes (precise in real time: see `timer`).
    // Without a token, only dropping cancels.
    let cancelled = async {
        match cancel {
            Some(token) => token.cancelled().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(cancelled);
    let sleep = pin!(sleep_until(Instant::now()));
    let mut timer = Deadline::new(sleep);

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
                    return (outcome, stream, race);
                }
            }
        }

        let wake = race.poll_timeout().map(Instant::from_std);
        if let Some(at) = wake {
            timer.reset(at);
        }
        tokio::select! {
            // A connection that completes at the same instant as the deadline or a
            // cancellation still wins: results are looked at first.
            biased;
            answers = next_results(&mut lookups), if !lookups.is_empty() => {
                let now = Instant::now().into_std();
                for (query, answer) in answers {
                    match &answer {
                        Ok(addrs) => tracing::debug!(query, addresses = addrs.len(), "query answered"),
                        Err(failure) => tracing::debug!(query, %failure, "query failed"),
                    }
                    race.handle_answer(now, query, answer);
                }
            }
            batch = next_results(&mut in_flight), if !in_flight.is_empty() => {
                let now = Instant::now().into_std();
                for (attempt, result) in batch {
                    match result {
                        Ok(stream) => {
                            tracing::debug!(attempt, "attempt connected");
                            race.handle_connected(now, attempt);
                            connected.push((attempt, stream));
                        }
                        Err(error) => {
                            tracing::debug!(attempt, %error, "attempt failed");
                            race.handle_failed(now, attempt, &error);
                        }
                    }
                }
            }
            () = &mut cancelled => race.handle_cancel(Instant::now().into_std()),
            () = timer.expired(), if wake.is_some() => {
                race.handle_timeout(Instant::now().into_std());
            }
        }
    }
}

/// Waits until at least one future (an attempt, a query) finishes and returns every
/// one that finished in the same poll, in start order, so that the race settles ties
/// by plan order rather than by wake-up order.
async fn next_results<T, F>(in_flight: &mut Vec<(usize, Pin<Box<F>>)>) -> Vec<(usize, T)>
where
    F: Future<Output = T>,
{
    poll_fn(|cx| {
        let mut done = Vec::new();
        in_flight.retain_mut(|(attempt, dial)| match dial.as_mut().poll(cx) {
            Poll::Ready(result) => {
                done.push((*attempt, result));
                false
            }
            Poll::Pending => true,
        });
        if done.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(done)
        }
    })
    .await
}
