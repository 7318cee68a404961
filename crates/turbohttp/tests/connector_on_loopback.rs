//! The connector on real sockets, loopback only.

mod support;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use support::chain_text;
use turbohttp::ConnectParams;

use tokio::net::TcpListener;
use turbohttp::{AttemptOutcome, NoResolver, StaticResolver};
use turbohttp::{ConnectErrorKind, HappyEyeballs, connect};

/// A port on 127.0.0.1 where nothing listens.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_healthy_ipv4_listener_wins() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let stream = connect("127.0.0.1", port).await.unwrap();
    let (accepted, peer) = listener.accept().await.unwrap();
    assert_eq!(stream.local_addr().unwrap(), peer);
    assert_eq!(accepted.local_addr().unwrap(), stream.peer_addr().unwrap());
}

#[tokio::test]
async fn a_closed_port_is_refused_with_the_os_error_kept() {
    let port = closed_port().await;
    let err = connect("127.0.0.1", port).await.unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::AllAttemptsFailed);
    assert_eq!(err.attempts().len(), 1);
    assert_eq!(
        chain_text(&err),
        format!(
            "the only attempt to connect to 127.0.0.1:{port} failed: Connection refused (os error 111)"
        )
    );
    let failure = err.attempts()[0].failure.as_ref().unwrap();
    assert_eq!(failure.kind, io::ErrorKind::ConnectionRefused);
    assert_eq!(failure.os_error, Some(111));
    assert_eq!(err.raw_os_error(), Some(111));
    let io: io::Error = err.into();
    assert_eq!(io.kind(), io::ErrorKind::ConnectionRefused);
    assert_eq!(io.raw_os_error(), Some(111));
}

#[tokio::test]
async fn a_refused_ipv6_falls_back_to_ipv4_at_once() {
    let Ok(v6) = TcpListener::bind("[::1]:0").await else {
        panic!("this test needs ::1 on the loopback interface");
    };
    let v6_port = v6.local_addr().unwrap().port();
    drop(v6); // now closed: connects are refused
    let v4 = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let v4_addr = v4.local_addr().unwrap();
    let v6_addr: SocketAddr = format!("[::1]:{v6_port}").parse().unwrap();
    let resolver = StaticResolver::with_fallback(NoResolver).with_override(
        "dual.test",
        443,
        [v6_addr, v4_addr],
    );
    let won = HappyEyeballs::default()
        .with_resolver(resolver)
        .connect_with(
            "dual.test",
            443,
            ConnectParams::default().with_timeout(Duration::from_secs(5)),
        )
        .await
        .unwrap();
    assert_eq!(won.stream.peer_addr().unwrap(), v4_addr);
    let [v6_attempt, v4_attempt] = &won.report.attempts[..] else {
        panic!("two attempts expected")
    };
    assert_eq!(v6_attempt.outcome, AttemptOutcome::Failed);
    assert_eq!(v6_attempt.failure.as_ref().unwrap().os_error, Some(111));
    // IPv4 started the moment IPv6 was refused, not after the 250 ms stagger.
    assert_eq!(v4_attempt.started, v6_attempt.ended.unwrap());
    assert_eq!(v4_attempt.outcome, AttemptOutcome::Won);
}
