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
        for result in [input, bad_options, unresolved] {
            let error = result.expect_err("fails");
            let messages = assert_reads_once(&error);
            // The sentence is the whole story: nothing under it.
            assert_eq!(messages.len(), 1, "{messages:?}");
        }
        // A refusal: the sentence, then the OS error itself.
        let refused = refused.expect_err("refused");
        let messages = assert_reads_once(&refused);
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert_eq!(messages[1], "Connection refused (os error 111)");
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
        // hyper-util's word, then the race's sentence, then the OS error, once each.
        assert_eq!(messages.len(), 3, "{messages:?}");
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

/// The first `io::Error` in the chain, as generic code (a retry policy, an error
/// classifier) finds it by walking `source()`.
fn io_error_in<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a io::Error> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(io) = error.downcast_ref::<io::Error>() {
            return Some(io);
        }
        next = error.source();
    }
    None
}

/// hyper-util's `HttpConnector` chains `legacy::Error -> ConnectError("tcp connect
/// error") -> io::Error`; through the transport the walk finds the `io::Error` too,
/// with its kind and OS code, for a refusal and for a timeout.
#[test]
fn the_os_error_is_in_the_chain_through_hyper_utils_client() {
    runtime().block_on(async {
        let port = refused_port();
        // A listener whose accept queue is full: connects to it stall.
        let black_hole = turbohttp_lab::BlackHole::new().await.ok();
        let mut resolver = StaticResolver::with_fallback(NoResolver).with_override(
            "refused.test",
            port,
            [SocketAddr::from((Ipv4Addr::LOCALHOST, port))],
        );
        if let Some(hole) = &black_hole {
            resolver = resolver.with_override("stalled.test", hole.addr().port(), [hole.addr()]);
        }
        let options = TransportOptions::default().with_connect_timeout(Duration::from_millis(300));
        let transport = RawSocketTransport::new(options)
            .expect("valid options")
            .with_resolver(resolver);
        let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(transport);

        let uri = format!("http://refused.test:{port}/").parse().expect("uri");
        let refused = client.get(uri).await.expect_err("refused");
        let io = io_error_in(&refused).expect("an io::Error in the chain");
        assert_eq!(io.kind(), io::ErrorKind::ConnectionRefused);
        assert_eq!(io.raw_os_error(), Some(111));
        // Printed as anyhow's {:#} prints it: every message once.
        let printed = assert_reads_once(&refused).join(": ");
        assert_eq!(
            printed.matches("Connection refused").count(),
            1,
            "{printed}"
        );
        assert!(
            printed.ends_with(&format!(
                "the only attempt to connect to refused.test:{port}, at 127.0.0.1:{port}, \
                 failed: Connection refused (os error 111)"
            )),
            "{printed}"
        );

        let Some(hole) = black_hole else {
            eprintln!("no black-holed [::1] here: the timeout half is skipped");
            return;
        };
        let uri = format!("http://stalled.test:{}/", hole.addr().port())
            .parse()
            .expect("uri");
        let timed_out = client.get(uri).await.expect_err("stalled");
        let io = io_error_in(&timed_out).expect("an io::Error in the chain");
        assert_eq!(io.kind(), io::ErrorKind::TimedOut);
        let printed = assert_reads_once(&timed_out).join(": ");
        assert!(
            printed.ends_with("(1 attempt started): the connect timeout ran out"),
            "{printed}"
        );
    });
}
