//! Runs a [`Race`] on tokio: starts the attempts it asks for as futures in one
//! bounded set, feeds their results and the clock back in, and drops what it cancels.
//! All decisions are the race's; this file only does IO and waiting.

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::race::{Event, Outcome, Race};
use crate::transport::connection::Dialer;

/// Executes `race` with `dialer`; returns the outcome, the winner's stream on success,
/// and the race (for its records). Every other connection is dropped before this
/// returns; dropping this future drops every attempt too.
pub(crate) async fn drive<D: Dialer>(
    mut race: Race,
    dialer: &D,
    cancel: &CancellationToken,
) -> (Outcome, Option<D::Stream>, Race) {
    // At most `max_in_flight` running attempts, plus cancelled ones until next polled.
    let mut in_flight = FuturesUnordered::new();
    // One child token per attempt (the "linked CTS"): cancelling the caller's token
    // cancels every attempt at once.
    let mut tokens: Vec<Option<CancellationToken>> = Vec::new();
    // Attempts that connected at this instant, until the race picks the winner.
    let mut connected: Vec<(usize, D::Stream)> = Vec::new();

    loop {
        while let Some(event) = race.poll_event() {
            match event {
                Event::Start { attempt, addr } => {
                    tracing::debug!(attempt, %addr, "attempt started");
                    let token = cancel.child_token();
                    tokens.push(Some(token.clone()));
                    let dial = dialer.dial(addr);
                    in_flight.push(async move {
                        (attempt, token.run_until_cancelled_owned(dial).await)
                    });
                }
                Event::Cancel { attempt } => {
                    tracing::debug!(attempt, "attempt cancelled");
                    if let Some(token) = tokens.get_mut(attempt).and_then(Option::take) {
                        token.cancel();
                    }
                    connected.retain(|(a, _)| *a != attempt);
                }
                Event::Finished(outcome) => {
                    let stream = match outcome {
                        Outcome::Connected { attempt } => {
                            tracing::debug!(attempt, "attempt won");
                            connected
                                .iter()
                                .position(|(a, _)| *a == attempt)
                                .map(|pos| connected.swap_remove(pos).1)
                        }
                        _ => None,
                    };
                    return (outcome, stream, race);
                }
            }
        }

        let wake = race.poll_timeout();
        tokio::select! {
            // A connection that completes at the same instant as the deadline or a
            // cancellation still wins: results are looked at first.
            biased;
            Some(first) = in_flight.next(), if !in_flight.is_empty() => {
                let now = Instant::now();
                // Take every result of this instant, so that ties are settled by plan
                // order rather than by wake-up order.
                let mut batch = vec![first];
                while let Some(Some(more)) = in_flight.next().now_or_never() {
                    batch.push(more);
                }
                for (attempt, result) in batch {
                    match result {
                        None => {} // cancelled by us; the race already knows
                        Some(Ok(stream)) => {
                            tracing::debug!(attempt, "attempt connected");
                            race.handle_connected(now, attempt);
                            connected.push((attempt, stream));
                        }
                        Some(Err(error)) => {
                            tracing::debug!(attempt, %error, "attempt failed");
                            race.handle_failed(now, attempt, &error);
                        }
                    }
                }
            }
            () = cancel.cancelled() => race.handle_cancel(Instant::now()),
            () = sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {
                race.handle_timeout(Instant::now());
            }
        }
    }
}
