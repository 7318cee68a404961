//! No descriptor leaks: hundreds of races of every kind (stalled, refused, reset
//! during TLS, rejected certificate, cancelled, timed out, requests through
//! hyper-util's client), with the process's sockets counted after each race and its
//! descriptors counted around the whole run.
//!
//! Descriptor counts are process-wide, so this file holds a single test: `cargo test`
//! runs the tests of one file on threads of one process, nextest in processes of
//! their own; either way nothing else runs beside it here.

mod support;

use std::net::SocketAddr;
use std::time::Duration;
use support::tls_lab;
use turbohttp::ConnectParams;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Version;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::time::{sleep, timeout};
use tokio_util::sync::CancellationToken;
use turbohttp::{ALPN_H2, ALPN_HTTP_1_1, RawSocketTransport, Scheme, TlsOptions, TransportOptions};
use turbohttp::{ConnectErrorKind, HappyEyeballsOptions};

use tls_lab::*;

/// Races per kind.
const ROUNDS: usize = 200;
const NAME: &str = "dual.test";

#[test]
fn no_descriptor_leaks_across_hundreds_of_races() {
    let fds_at_start = open_fds();
    let pki = Pki::new();
    // The shortest pacing RFC 8305 allows, so that hundreds of stalled races stay quick.
    let options = TransportOptions::default()
        .with_happy_eyeballs(
            HappyEyeballsOptions::default()
                .with_family_stagger_delay(Duration::from_millis(10))
                .with_attempt_spacing_delay(Duration::from_millis(10)),
        )
        .with_connect_timeout(Duration::from_secs(10))
        .with_tls(
            TlsOptions::default()
                .with_webpki_roots(false)
                .with_root(pki.root()),
        );

    // Everything made in here (servers, pooled connections, tasks) is gone once the
    // runtime is dropped; what is left open after that is a leak.
    let stalled = StalledListener::new(v6(0));
    let stalled4 = StalledListener::new(v4(0));
    run(async {
        let mut servers = Servers::new();
        let closed = closed_port(v6(0));
        let refused = closed.port;
        let plain = servers.accepting(v4(0)).await;
        let reset = servers.resetting(v6(0)).await;
        let tls = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_H2, ALPN_HTTP_1_1]))
            .await;
        let wrong_name = servers
            .https(v6(0), pki.server_config("other.test", &[ALPN_HTTP_1_1]))
            .await;
        let h1 = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_HTTP_1_1]))
            .await;
        // Descriptors now open (listeners, the connections filling the stalled queues,
        // the runtime's); during the races only the client's and the servers'
        // accepted connections come and go, and the servers count theirs.
        let baseline = open_fds();
        let client_fds =
            |servers: &Servers| open_fds() as isize - (baseline + servers.live()) as isize;
        let cancel = CancellationToken::new();
        let with = |port: u16, addrs: &[SocketAddr]| {
            RawSocketTransport::new(options.clone())
                .expect("valid options")
                .with_resolver(resolver(NAME, port, addrs.iter().copied()))
        };
        let stalled_then_plain = with(443, &[v6(stalled.port), v4(plain)]);
        let refused_then_plain = with(443, &[v6(refused), v4(plain)]);
        let reset_then_tls = with(443, &[v6(reset), v4(tls)]);
        let wrong_name_then_tls = with(443, &[v6(wrong_name), v4(tls)]);
        let all_stalled = with(443, &[v6(stalled.port), v4(stalled4.port)]);
        let timing_out = RawSocketTransport::new(
            options
                .clone()
                .with_connect_timeout(Duration::from_millis(50)),
        )
        .expect("valid options")
        .with_resolver(resolver(NAME, 443, [v6(stalled.port), v4(stalled4.port)]));

        for round in 0..ROUNDS {
            for (kind, transport, scheme) in [
                ("stalled IPv6", &stalled_then_plain, Scheme::Http),
                ("refused IPv6", &refused_then_plain, Scheme::Http),
                ("reset during TLS", &reset_then_tls, Scheme::Https),
            ] {
                let won = transport
                    .connect_with(
                        NAME,
                        443,
                        scheme,
                        ConnectParams::default().with_cancel(cancel.clone()),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{kind}, round {round}: {e:#}"));
                // Only the winner is open when connect returns.
                assert_eq!(client_fds(&servers), 1, "{kind}, round {round}");
                assert_eq!(won.report.attempts.len(), 2, "{kind}: {:#?}", won.report);
                drop(won);
                assert_eq!(client_fds(&servers), 0, "{kind}, round {round}");
            }

            let error = wrong_name_then_tls
                .connect_with(
                    NAME,
                    443,
                    Scheme::Https,
                    ConnectParams::default().with_cancel(cancel.clone()),
                )
                .await
                .expect_err("the certificate names another host");
            assert_eq!(error.kind(), ConnectErrorKind::SetupRejected);
            assert_eq!(client_fds(&servers), 0, "rejected, round {round}");

            // Every address stalls from here on, so no IO event can come: with the
            // clock paused, time jumps from timer to timer and these races run the
            // same way on any machine, in no time.
            tokio::time::pause();

            // Cancelled by the token, 50 ms in: both families are in flight (IPv4
            // started at the 10 ms stagger).
            let token = CancellationToken::new();
            let connecting = all_stalled.connect_with(
                NAME,
                443,
                Scheme::Http,
                ConnectParams::default().with_cancel(token.clone()),
            );
            tokio::pin!(connecting);
            tokio::select! {
                biased;
                result = &mut connecting => panic!("a stalled race ended: {result:?}"),
                () = sleep(Duration::from_millis(50)) => token.cancel(),
            }
            let error = connecting.await.expect_err("cancelled");
            assert_eq!(error.kind(), ConnectErrorKind::Cancelled);
            assert_eq!(error.attempts().len(), 2, "{error:#}");
            assert_eq!(client_fds(&servers), 0, "cancelled, round {round}");

            // Cancelled by dropping the future, 50 ms in.
            let dropped = timeout(
                Duration::from_millis(50),
                all_stalled.connect_with(
                    NAME,
                    443,
                    Scheme::Http,
                    ConnectParams::default().with_cancel(cancel.clone()),
                ),
            );
            assert!(dropped.await.is_err(), "a stalled race ended");
            assert_eq!(client_fds(&servers), 0, "dropped, round {round}");

            // Timed out: the 50 ms connect timeout ends the race.
            let error = timing_out
                .connect_with(
                    NAME,
                    443,
                    Scheme::Http,
                    ConnectParams::default().with_cancel(cancel.clone()),
                )
                .await
                .expect_err("stalled");
            assert_eq!(error.kind(), ConnectErrorKind::TimedOut);
            assert_eq!(error.attempts().len(), 2, "{error:#}");
            assert_eq!(client_fds(&servers), 0, "timed out, round {round}");

            tokio::time::resume();
        }

        // Requests through hyper-util's client, HTTP/1.1 and h2, one client each
        // round so that every round opens new connections.
        for round in 0..ROUNDS {
            for (port, version) in [(h1, Version::HTTP_11), (tls, Version::HTTP_2)] {
                let transport = with(port, &[v6(refused), v4(port)]);
                let client =
                    Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(transport);
                let uri = format!("https://{NAME}:{port}/").parse().expect("uri");
                let response = client.get(uri).await.expect("GET");
                assert_eq!(response.version(), version, "round {round}");
                response.into_body().collect().await.expect("body");
            }
        }
        servers.shutdown().await;
    });
    drop((stalled, stalled4));
    assert_eq!(open_fds(), fds_at_start, "descriptors leaked");
}
