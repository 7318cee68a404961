//! No leaks with QUIC (issue 23): rounds of races of every QUIC kind on one shared
//! transport (HTTP/3 that answers, UDP blocked, QUIC refused, a certificate that does
//! not verify, HTTP/3 only timing out, cancelled mid-handshake), then the QUIC
//! connections the endpoints hold drain to none, and once the transport is dropped
//! the process's descriptors are back where they started.
//!
//! Descriptor counts are process-wide, so this file holds a single test.

mod support;

use std::time::Duration;

use support::tls_lab::{Pki, Servers, open_fds, resolver, run, v4, v6};
use tokio_util::sync::CancellationToken;
use turbohttp::{
    ALPN_H2, ConnectErrorKind, ConnectParams, Connection, Http3, RawSocketTransport, TlsOptions,
    Transport, TransportOptions, http3_handshake,
};
use turbohttp_lab::h3::{H3Server, QuicBehaviour, UdpBlackHole};

const ROUNDS: usize = 25;
const NAME: &str = "quic.test";

#[test]
fn no_quic_connection_or_descriptor_outlives_its_race() {
    let fds_at_start = open_fds();
    let pki = Pki::named("trusted");
    let stranger = Pki::named("stranger");
    run(async {
        let mut servers = Servers::new();
        let tcp_config = pki.server_config(NAME, &[ALPN_H2]);
        let healthy = servers.https(v6(0), tcp_config.clone()).await;
        let blocked = servers.https(v4(0), tcp_config.clone()).await;
        let refusing = servers.https(v6(0), tcp_config.clone()).await;
        let untrusted = servers.https(v4(0), tcp_config).await;
        let h3 = H3Server::start(
            v6(healthy),
            pki.server_config(NAME, &[b"h3"]),
            QuicBehaviour::serve("ok"),
        )
        .expect("h3");
        let _hole = UdpBlackHole::bind(v4(blocked)).expect("udp");
        let _refuse = H3Server::start(
            v6(refusing),
            pki.server_config(NAME, &[b"h3"]),
            QuicBehaviour::Refuse,
        )
        .expect("h3");
        let _stranger = H3Server::start(
            v4(untrusted),
            stranger.server_config(NAME, &[b"h3"]),
            QuicBehaviour::serve("never"),
        )
        .expect("h3");

        let options = TransportOptions::default()
            .with_connect_timeout(Duration::from_secs(10))
            .with_tls(
                TlsOptions::default()
                    .with_webpki_roots(false)
                    .with_root(pki.root()),
            );
        let resolver = resolver(NAME, healthy, [v6(healthy)])
            .with_override(NAME, blocked, [v4(blocked)])
            .with_override(NAME, refusing, [v6(refusing)])
            .with_override(NAME, untrusted, [v4(untrusted)]);
        let transport =
            RawSocketTransport::new_with_resolver(options, resolver).expect("valid options");
        let params = |http3| ConnectParams::default().with_http3(http3);
        for round in 0..ROUNDS {
            // HTTP/3 that answers (TCP may win on a loaded machine; either is fine
            // here, what counts is what stays open), with a GET over QUIC.
            let won = transport
                .connect_any(NAME, healthy, params(Http3::Also))
                .await
                .expect("healthy");
            if let Connection::Quic(quic) = won.stream {
                let (mut driver, mut send) = http3_handshake(quic).await.expect("h3");
                let drive = tokio::spawn(async move { driver.wait_idle().await });
                let request = http::Request::get(format!("https://{NAME}/"))
                    .body(())
                    .expect("request");
                let mut stream = send.send_request(request).await.expect("sent");
                stream.finish().await.expect("finished");
                assert_eq!(
                    stream.recv_response().await.expect("response").status(),
                    200
                );
                drop((stream, send));
                drive.abort();
            }
            // UDP blocked: HTTP/3 only times out (the memory does not apply to it).
            let error = transport
                .connect_any(
                    NAME,
                    blocked,
                    params(Http3::Only).with_timeout(Duration::from_millis(30)),
                )
                .await
                .expect_err("no answer");
            assert_eq!(error.kind(), ConnectErrorKind::TimedOut);
            // Refused at once: TCP wins.
            let won = transport
                .connect_any(NAME, refusing, params(Http3::Also))
                .await
                .expect("TCP wins");
            assert_eq!(won.report.attempts[0].transport, Transport::Quic);
            drop(won);
            // A certificate that does not verify ends the race.
            let error = transport
                .connect_any(NAME, untrusted, params(Http3::Only))
                .await
                .expect_err("untrusted");
            assert_eq!(error.kind(), ConnectErrorKind::SetupRejected);
            // Cancelled while the handshake waits for an answer.
            let cancel = CancellationToken::new();
            let canceller = cancel.clone();
            let stop = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(1 + (round % 5) as u64)).await;
                canceller.cancel();
            });
            let error = transport
                .connect_any(NAME, blocked, params(Http3::Only).with_cancel(cancel))
                .await
                .expect_err("cancelled");
            assert_eq!(error.kind(), ConnectErrorKind::Cancelled);
            stop.await.expect("canceller");
        }
        assert!(h3.handshakes() > 0, "QUIC won at least once");
        // Every losing, refused, failed or cancelled connection was closed when its
        // race ended; quinn forgets each once it has drained (a few PTOs).
        let endpoints = std::sync::Arc::clone(transport.quic_endpoints());
        let drained = async {
            while endpoints.open_connections() > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), drained)
            .await
            .expect("every QUIC connection of the client drains");
        drop(transport);
        drop(endpoints);
    });
    // The runtime is gone, and with it the endpoints' tasks and sockets.
    assert_eq!(open_fds(), fds_at_start, "a descriptor leaked");
}
