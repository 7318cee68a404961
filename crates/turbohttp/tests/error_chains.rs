//! Errors by the Rust API guidelines: each one either says its cause in its message or
//! returns it from `source()`, never both, so that a reporter walking the chain (as
//! anyhow and eyre do) prints every message once, top to bottom.

use std::error::Error;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::Duration;
use turbohttp::ConnectParams;

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use turbohttp::{AttemptError, NoResolver, TcpDialer};
use turbohttp::{
    CancellationToken, ConnectError, HappyEyeballs, HappyEyeballsOptions, RawSocketTransport,
    StaticResolver,
};
use turbohttp::{TlsOptions, TransportOptions};

/// The chain's messages, top to bottom; no message repeats the next one.
fn assert_reads_once(error: &(dyn Error + 'static)) -> Vec<String> {
    let mut messages = Vec::new();
    let mut next = Some(error);
    while let Some(error) = next {
        messages.push(error.to_string());
        next = error.source();
    }
    for pair in messages.windows(2) {
        assert!(!pair[0].contains(&pair[1]), "said twice: {messages:#?}");
    }
    messages
}

/// A port on 127.0.0.1 where nothing listens.
fn refused_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    listener.local_addr().expect("addr").port()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn connect_errors_read_once() {
    runtime().block_on(async {
        let cancel = CancellationToken::new();
        let timeout = Duration::from_secs(5);
        let connector = HappyEyeballs::from_parts(
            HappyEyeballsOptions::default(),
            StaticResolver::with_fallback(NoResolver),
            TcpDialer::default(),
        );
        let input = connector
            .connect_with(
                "",
                443,
                ConnectParams::default()
                    .with_timeout(timeout)
                    .with_cancel(cancel.clone()),
            )
            .await;
        let bad_options = connector
            .clone()
            .with_options(
                HappyEyeballsOptions::default()
                    .with_attempt_spacing_delay(Duration::from_millis(1)),
            )
            .connect_with(
                "dual.test",
                443,
                ConnectParams::default()
                    .with_timeout(timeout)
                    .with_cancel(cancel.clone()),
            )
            .await;
        let unresolved = connector
            .connect_with(
                "nowhere.test",
                443,
                ConnectParams::default()
                    .with_timeout(timeout)
                    .with_cancel(cancel.clone()),
            )
            .await;
        let refused = connector
            .connect_with(
                "127.0.0.1",
                refused_port(),
                ConnectParams::default()
                    .with_timeout(timeout)
                    .with_cancel(cancel.clone()),
            )
            .await;
        for result in [input, bad_options, unresolved, refused] {
            let error = result.expect_err("fails");
            let messages = assert_reads_once(&error);
            // The sentence is the whole story: nothing under it.
            assert_eq!(messages.len(), 1, "{messages:?}");
        }
    });
}

#[test]
fn transport_and_client_errors_read_once() {
    runtime().block_on(async {
        let port = refused_port();
        let transport = RawSocketTransport::new(TransportOptions::default())
            .expect("valid options")
            .with_resolver(StaticResolver::with_fallback(NoResolver).with_override(
                "refused.test",
                port,
                [SocketAddr::from((Ipv4Addr::LOCALHOST, port))],
            ));
        let _cancel = CancellationToken::new();
        let bad_uri = transport
            .connect_uri(&"ftp://refused.test/".parse().expect("uri"))
            .await
            .expect_err("no ftp");
        assert_eq!(assert_reads_once(&bad_uri).len(), 1);

        let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(transport);
        let uri = format!("http://refused.test:{port}/").parse().expect("uri");
        let error = client.get(uri).await.expect_err("refused");
        let messages = assert_reads_once(&error);
        // hyper-util's word, then the race's sentence, once.
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[1].contains("refused.test"), "{messages:?}");
        assert!(ConnectError::find_in(&error).is_some());
    });
}

#[test]
fn option_and_attempt_errors_read_once() {
    let mut tls = TlsOptions::default();
    let unreadable = tls
        .add_roots_from_pem_file("/nonexistent-turbohttp-test/ca.pem")
        .expect_err("no such file");
    assert_eq!(assert_reads_once(&unreadable).len(), 1);

    let bad_race = RawSocketTransport::new(
        TransportOptions::default()
            .with_happy_eyeballs(HappyEyeballsOptions::default().with_max_concurrent_attempts(0)),
    )
    .map(|_| ())
    .expect_err("refused");
    assert_eq!(assert_reads_once(&bad_race).len(), 1);

    let attempt = AttemptError::connect(io::Error::from(io::ErrorKind::ConnectionRefused));
    assert_eq!(assert_reads_once(&attempt).len(), 1);
    assert_eq!(attempt.to_string(), "connect failed: connection refused");
}
