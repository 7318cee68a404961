//! `RawSocketTransport` on real loopback sockets (127.0.0.1 and ::1 only): broken
//! IPv6 paths, TLS as the per-attempt setup step, socket options on every path, and
//! hyper-util's client on top.

mod support;

use support::chain_text;

use std::io;
use std::net::IpAddr;
use std::time::Duration;
use support::tls_lab;
use turbohttp::ConnectParams;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{Uri, Version};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use socket2::SockRef;
use tokio_util::sync::CancellationToken;
use tower_service::Service;
use turbohttp::ConnectionInfo;
use turbohttp::{
    ALPN_H2, ALPN_HTTP_1_1, DEFAULT_KEEPALIVE, RawSocketTransport, Scheme, SocketOptionsError,
    TlsFailurePolicy, TlsOptions, TransportError, TransportOptions, TransportOptionsError,
    TransportStream,
};
use turbohttp::{AttemptOutcome, AttemptPhase, AttemptRecord};
use turbohttp::{ConnectError, ConnectErrorKind, HappyEyeballsOptions, PemError, TlsConfigError};

use tls_lab::*;

/// The port the name is looked up with; the pinned addresses carry their own ports.
const PORT: u16 = 443;
const NAME: &str = "dual.test";

fn stagger() -> Duration {
    HappyEyeballsOptions::default().family_stagger_delay
}

/// Default options, trusting only the test CA.
fn options(pki: &Pki) -> TransportOptions {
    TransportOptions::default().with_tls(
        TlsOptions::default()
            .with_webpki_roots(false)
            .with_root(pki.root()),
    )
}

fn transport(
    options: TransportOptions,
    addrs: impl IntoIterator<Item = std::net::SocketAddr>,
) -> RawSocketTransport<impl turbohttp::Resolver> {
    RawSocketTransport::new(options)
        .expect("valid options")
        .with_resolver(resolver(NAME, PORT, addrs))
}

fn failure_of(record: &AttemptRecord) -> &turbohttp::AttemptFailure {
    record
        .failure
        .as_ref()
        .expect("a failed attempt has a failure")
}

#[test]
fn stalled_ipv6_falls_back_to_ipv4_and_closes_the_stalled_socket() {
    run(async {
        let stalled = StalledListener::new(v6(0));
        let (_ipv4, p4) = idle_listener(v4(0));
        let transport = transport(TransportOptions::default(), [v6(stalled.port), v4(p4)]);
        // Nothing accepts, so every descriptor opened from here on is the client's.
        let fds_before = open_fds();

        let won = transport
            .connect(NAME, PORT, Scheme::Http)
            .await
            .expect("IPv4 connects");

        // Only the winner is left open: the stalled IPv6 socket was closed before
        // connect returned.
        assert_eq!(open_fds(), fds_before + 1);
        assert_eq!(won.stream.peer_addr().unwrap(), v4(p4));
        let attempts = &won.report.attempts;
        assert_eq!(attempts.len(), 2, "{attempts:#?}");
        assert_eq!(attempts[0].endpoint, v6(stalled.port));
        assert_eq!(attempts[0].outcome, AttemptOutcome::Cancelled);
        assert_eq!(attempts[1].endpoint, v4(p4));
        assert_eq!(attempts[1].outcome, AttemptOutcome::Won);
        // IPv6 neither connected nor failed, so IPv4 waited out the stagger.
        assert!(attempts[1].started >= stagger(), "{attempts:#?}");
        drop(won);
        assert_eq!(open_fds(), fds_before);
    });
}

#[test]
fn refused_ipv6_starts_ipv4_at_once() {
    run(async {
        let closed6 = closed_port(v6(0));
        let p6 = closed6.port;
        let (_ipv4, p4) = idle_listener(v4(0));
        let transport = transport(TransportOptions::default(), [v6(p6), v4(p4)]);

        let won = transport
            .connect(NAME, PORT, Scheme::Http)
            .await
            .expect("IPv4 connects");

        let attempts = &won.report.attempts;
        assert_eq!(attempts.len(), 2, "{attempts:#?}");
        assert_eq!(attempts[0].outcome, AttemptOutcome::Failed);
        let failure = failure_of(&attempts[0]);
        assert_eq!(failure.kind, io::ErrorKind::ConnectionRefused);
        assert_eq!(failure.phase, AttemptPhase::Connect);
        // IPv4 started at the very instant IPv6 failed, not at the stagger.
        assert_eq!(Some(attempts[1].started), attempts[0].ended);
        assert!(attempts[1].started < stagger());
        assert_eq!(attempts[1].outcome, AttemptOutcome::Won);
        assert_eq!(won.stream.peer_addr().unwrap(), v4(p4));
    });
}

#[test]
fn ipv6_reset_during_tls_handshake_lets_ipv4_tls_win() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let p6 = servers.resetting(v6(0)).await;
        let p4 = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_H2, ALPN_HTTP_1_1]))
            .await;
        let transport = transport(options(&pki), [v6(p6), v4(p4)]);

        let won = transport
            .connect(NAME, PORT, Scheme::Https)
            .await
            .expect("IPv4 TLS connects");

        assert!(won.stream.is_tls());
        assert_eq!(won.stream.alpn_protocol(), Some(ALPN_H2));
        assert_eq!(won.stream.peer_addr().unwrap(), v4(p4));
        let attempts = &won.report.attempts;
        assert_eq!(attempts.len(), 2, "{attempts:#?}");
        assert_eq!(attempts[0].endpoint, v6(p6));
        assert_eq!(attempts[0].outcome, AttemptOutcome::Failed);
        let failure = failure_of(&attempts[0]);
        assert_eq!(failure.phase, AttemptPhase::Setup, "{failure:?}");
        assert!(!failure.terminal);
        assert!(
            matches!(
                failure.kind,
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::BrokenPipe
            ),
            "{failure:?}"
        );
        // A failed setup frees the slot like a failed connect.
        assert_eq!(Some(attempts[1].started), attempts[0].ended);
        assert_eq!(attempts[1].outcome, AttemptOutcome::Won);
        servers.shutdown().await;
    });
}

#[test]
fn certificate_for_another_name_stops_the_race() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let p6 = servers
            .https(v6(0), pki.server_config("other.test", &[ALPN_HTTP_1_1]))
            .await;
        let (ipv4, p4) = idle_listener(v4(0));
        let transport = transport(options(&pki), [v6(p6), v4(p4)]);

        let error = transport
            .connect(NAME, PORT, Scheme::Https)
            .await
            .expect_err("the certificate does not verify");

        assert_eq!(error.kind(), ConnectErrorKind::SetupRejected);
        let attempts = error.attempts();
        assert_eq!(attempts.len(), 1, "{attempts:#?}");
        assert_eq!(attempts[0].endpoint, v6(p6));
        let failure = failure_of(&attempts[0]);
        assert!(failure.terminal);
        assert_eq!(failure.phase, AttemptPhase::Setup);
        assert!(failure.message().contains("other.test"), "{failure:?}");
        // Without the policy the failure would have pulled IPv4 forward at once.
        assert!(
            !was_dialed(&ipv4),
            "IPv4 was dialed after a terminal failure"
        );
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "connecting to {NAME}:{PORT} stopped: [::1]:{p6} rejected the connection setup"
            )),
            "{message}"
        );
        assert_eq!(io::Error::from(error).kind(), io::ErrorKind::InvalidData);
        servers.shutdown().await;
    });
}

#[test]
fn certificate_failure_policy_can_try_the_next_address() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let p6 = servers
            .https(v6(0), pki.server_config("other.test", &[ALPN_HTTP_1_1]))
            .await;
        let p4 = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_HTTP_1_1]))
            .await;
        let mut options = options(&pki);
        options.tls.failure_policy = TlsFailurePolicy::TryNextAddress;
        let transport = transport(options, [v6(p6), v4(p4)]);

        let won = transport
            .connect(NAME, PORT, Scheme::Https)
            .await
            .expect("IPv4 presents the right certificate");

        assert_eq!(won.stream.peer_addr().unwrap(), v4(p4));
        assert_eq!(won.stream.alpn_protocol(), Some(ALPN_HTTP_1_1));
        let failure = failure_of(&won.report.attempts[0]);
        assert_eq!(failure.phase, AttemptPhase::Setup);
        assert!(!failure.terminal);
        servers.shutdown().await;
    });
}

#[test]
fn ip_literal_hosts_verify_the_ip_and_the_server_name_can_be_overridden() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let by_ip = servers
            .https(v4(0), pki.server_config("127.0.0.1", &[ALPN_HTTP_1_1]))
            .await;
        let by_name = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_HTTP_1_1]))
            .await;
        let cancel = CancellationToken::new();
        let plain = RawSocketTransport::new(options(&pki)).unwrap();

        // An IP literal is verified as an IP address (no SNI is sent).
        let won = plain
            .connect_with(
                "127.0.0.1",
                by_ip,
                Scheme::Https,
                ConnectParams::default().with_cancel(cancel.clone()),
            )
            .await
            .expect("the certificate names 127.0.0.1");
        assert!(won.stream.is_tls());
        let error = plain
            .connect_with(
                "127.0.0.1",
                by_name,
                Scheme::Https,
                ConnectParams::default().with_cancel(cancel.clone()),
            )
            .await
            .expect_err("the certificate names dual.test, not 127.0.0.1");
        assert_eq!(error.kind(), ConnectErrorKind::SetupRejected);

        // The override is sent as SNI and verified instead of the host.
        let mut options = options(&pki);
        options.tls.server_name = Some(NAME.to_owned());
        let overridden = RawSocketTransport::new(options).unwrap();
        let won = overridden
            .connect_with(
                "127.0.0.1",
                by_name,
                Scheme::Https,
                ConnectParams::default().with_cancel(cancel.clone()),
            )
            .await
            .expect("the override matches the certificate");
        assert!(won.stream.is_tls());
        servers.shutdown().await;
    });
}

/// `TCP_NODELAY`, `SO_KEEPALIVE`, and the keepalive idle time and interval.
fn socket_options_of(stream: &TransportStream) -> (bool, bool, Option<(Duration, Duration)>) {
    let socket = SockRef::from(stream.tcp());
    let keepalive = socket.keepalive().unwrap();
    let times = keepalive.then(|| {
        (
            socket.tcp_keepalive_time().unwrap(),
            socket.tcp_keepalive_interval().unwrap(),
        )
    });
    (socket.tcp_nodelay().unwrap(), keepalive, times)
}

#[test]
fn socket_options_are_the_same_on_racing_and_single_family_paths() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let (_ipv6, p6) = idle_listener(v6(0));
        let (_ipv4, p4) = idle_listener(v4(0));
        let closed = closed_port(v6(0));
        let refused = closed.port;
        let tls = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_HTTP_1_1]))
            .await;
        let cancel = CancellationToken::new();
        let keepalive = Duration::from_secs(37);

        for (nodelay, keepalive, expected) in [
            (
                true,
                Some(keepalive),
                (true, true, Some((keepalive, DEFAULT_KEEPALIVE))),
            ),
            (false, None, (false, false, None)),
        ] {
            let mut base = options(&pki);
            base.socket.nodelay = nodelay;
            base.socket.keepalive = keepalive;
            let mut sequential = base.clone();
            sequential.happy_eyeballs = HappyEyeballsOptions::sequential();
            let racing_v6 = transport(base.clone(), [v6(p6), v4(p4)]);
            let racing_v4 = transport(base.clone(), [v6(refused), v4(p4)]);
            let racing_tls = RawSocketTransport::new(base.clone())
                .unwrap()
                .with_resolver(resolver(NAME, tls, [v6(refused), v4(tls)]));
            let sequential = transport(sequential, [v6(refused), v4(p4)]);
            let single = RawSocketTransport::new(base.clone()).unwrap();

            let paths = [
                (
                    "race won by IPv6",
                    racing_v6
                        .connect_with(
                            NAME,
                            PORT,
                            Scheme::Http,
                            ConnectParams::default().with_cancel(cancel.clone()),
                        )
                        .await,
                    1,
                ),
                (
                    "race won by IPv4",
                    racing_v4
                        .connect_with(
                            NAME,
                            PORT,
                            Scheme::Http,
                            ConnectParams::default().with_cancel(cancel.clone()),
                        )
                        .await,
                    2,
                ),
                (
                    "race over TLS",
                    racing_tls
                        .connect_with(
                            NAME,
                            tls,
                            Scheme::Https,
                            ConnectParams::default().with_cancel(cancel.clone()),
                        )
                        .await,
                    2,
                ),
                (
                    "sequential",
                    sequential
                        .connect_with(
                            NAME,
                            PORT,
                            Scheme::Http,
                            ConnectParams::default().with_cancel(cancel.clone()),
                        )
                        .await,
                    2,
                ),
                (
                    "single family",
                    single
                        .connect_with(
                            "127.0.0.1",
                            p4,
                            Scheme::Http,
                            ConnectParams::default().with_cancel(cancel.clone()),
                        )
                        .await,
                    1,
                ),
                (
                    "IPv4 requested",
                    racing_v6
                        .connect_with(
                            NAME,
                            PORT,
                            Scheme::Http,
                            ConnectParams::default()
                                .with_family(Some(turbohttp::AddressFamily::V4))
                                .with_cancel(cancel.clone()),
                        )
                        .await,
                    1,
                ),
            ];
            for (path, result, attempts) in paths {
                let won = result.unwrap_or_else(|e| panic!("{path}: {e:#}"));
                assert_eq!(
                    won.report.attempts.len(),
                    attempts,
                    "{path}: {:#?}",
                    won.report
                );
                assert_eq!(socket_options_of(&won.stream), expected, "{path}");
            }
        }
        servers.shutdown().await;
    });
}

/// hyper-util's rule: a local address of one family only restricts the race to that
/// family, rather than failing the other family's attempts one by one.
#[test]
fn local_address_is_bound_and_restricts_the_race_to_its_family() {
    run(async {
        let (_ipv6, p6) = idle_listener(v6(0));
        let (_ipv4, p4) = idle_listener(v4(0));
        let cancel = CancellationToken::new();
        for local in [IpAddr::from(V4), IpAddr::from(V6)] {
            let mut options = TransportOptions::default();
            options.socket = options.socket.with_local_address(local);
            let won = transport(options, [v6(p6), v4(p4)])
                .connect_with(
                    NAME,
                    PORT,
                    Scheme::Http,
                    ConnectParams::default().with_cancel(cancel.clone()),
                )
                .await
                .expect("the family of the local address connects");
            assert_eq!(won.stream.local_addr().unwrap().ip(), local);
            let attempts = &won.report.attempts;
            assert_eq!(attempts.len(), 1, "{attempts:#?}");
            assert_eq!(attempts[0].endpoint.is_ipv4(), local.is_ipv4());
        }
    });
}

#[test]
fn http1_get_through_hyper_client_over_tls() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let p6 = servers
            .https(v6(0), pki.server_config(NAME, &[ALPN_HTTP_1_1]))
            .await;
        let transport = RawSocketTransport::new(options(&pki))
            .unwrap()
            .with_resolver(resolver(NAME, p6, [v6(p6)]));
        let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(transport);

        let uri: Uri = format!("https://{NAME}:{p6}/hello").parse().unwrap();
        let response = client.get(uri).await.expect("GET");

        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), Version::HTTP_11);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "HTTP/1.1 /hello");
        drop(client);
        servers.shutdown().await;
    });
}

#[test]
fn h2_get_through_hyper_client_over_tls() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let p4 = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_H2, ALPN_HTTP_1_1]))
            .await;
        let closed = closed_port(v6(0));
        let refused = closed.port;
        let transport = RawSocketTransport::new(options(&pki))
            .unwrap()
            .with_resolver(resolver(NAME, p4, [v6(refused), v4(p4)]));
        let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(transport);

        let uri: Uri = format!("https://{NAME}:{p4}/h2").parse().unwrap();
        let response = client.get(uri).await.expect("GET");

        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), Version::HTTP_2);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "HTTP/2.0 /h2");
        drop(client);
        servers.shutdown().await;
    });
}

#[test]
fn plain_http_get_through_hyper_client() {
    run(async {
        let mut servers = Servers::new();
        let p4 = servers.http(v4(0)).await;
        let transport = RawSocketTransport::new(TransportOptions::default())
            .unwrap()
            .with_resolver(resolver(NAME, p4, [v4(p4)]));
        let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(transport);

        let uri: Uri = format!("http://{NAME}:{p4}/plain").parse().unwrap();
        let response = client.get(uri).await.expect("GET");

        assert_eq!(response.version(), Version::HTTP_11);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "HTTP/1.1 /plain");
        drop(client);
        servers.shutdown().await;
    });
}

/// Through hyper-util's pooled client: the response says which address, which
/// attempt, how long; a failed request gives its ConnectError in one call.
#[test]
fn the_race_reaches_responses_and_errors_of_the_pooled_client() {
    run(async {
        let mut servers = Servers::new();
        let p4 = servers.http(v4(0)).await;
        let closed = closed_port(v6(0));
        let refused = closed.port;
        let transport = RawSocketTransport::new(TransportOptions::default())
            .unwrap()
            .with_resolver(resolver(NAME, p4, [v6(refused), v4(p4)]));
        let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(transport);

        let uri: Uri = format!("http://{NAME}:{p4}/info").parse().unwrap();
        let response = client.get(uri).await.expect("GET");
        let info = response
            .extensions()
            .get::<ConnectionInfo>()
            .expect("the connection's info")
            .clone();
        assert_eq!(info.remote_addr, v4(p4));
        assert_eq!(info.local_addr.ip(), v4(0).ip());
        assert_eq!(info.alpn, None);
        let winner = info.winning_attempt().expect("a winner");
        assert_eq!(winner.endpoint, v4(p4));
        // The refused IPv6 address is in the story too.
        assert_eq!(info.report.attempts.len(), 2);
        assert_eq!(info.report.attempts[0].outcome, AttemptOutcome::Failed);
        drop(response);

        // Nothing listens on this one: the client's error carries the race.
        let transport = RawSocketTransport::new(TransportOptions::default())
            .unwrap()
            .with_resolver(resolver(NAME, refused, [v6(refused)]));
        let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(transport);
        let uri: Uri = format!("http://{NAME}:{refused}/").parse().unwrap();
        let error = client.get(uri).await.expect_err("refused");
        let connect = ConnectError::find_in(&error).expect("a ConnectError in the chain");
        assert_eq!(connect.kind(), ConnectErrorKind::AllAttemptsFailed);
        assert_eq!(connect.attempts()[0].endpoint, v6(refused));
        // Not from an unrelated error.
        let unrelated = io::Error::other("unrelated");
        assert!(ConnectError::find_in(&unrelated).is_none());
        servers.shutdown().await;
    });
}

/// A certificate refusal reads as a sentence that says what is wrong and what to do,
/// not rustls' Debug text: here a self-signed CA certificate served as the server's
/// own (what `openssl req -x509` makes), trusted as a root, and an unknown issuer.
#[test]
fn certificate_refusals_read_as_sentences() {
    run(async {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(vec![NAME.to_owned()]).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).expect("certificate");
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .expect("server config");
        let mut servers = Servers::new();
        let port = servers.https(v4(0), std::sync::Arc::new(config)).await;
        let trusting = TransportOptions::default().with_tls(
            TlsOptions::default()
                .with_webpki_roots(false)
                .with_root(cert.der().clone()),
        );
        let error = transport(trusting, [v4(port)])
            .connect(NAME, PORT, Scheme::Https)
            .await
            .expect_err("a CA certificate may not be a server's");
        let message = chain_text(&error);
        assert!(
            message.contains("the server's certificate is a CA certificate")
                && message.contains("openssl req -x509")
                && !message.contains("Other("),
            "{message}"
        );

        // A server certificate from another CA than the one trusted. The test CAs share
        // one (empty) subject name, so the trusted one is taken for the issuer and the
        // signature does not verify.
        let untrusted = Pki::new();
        let other_port = servers
            .https(v4(0), untrusted.server_config(NAME, &[ALPN_HTTP_1_1]))
            .await;
        let error = transport(options(&Pki::new()), [v4(other_port)])
            .connect(NAME, PORT, Scheme::Https)
            .await
            .expect_err("another CA");
        assert!(
            chain_text(&error)
                .ends_with("the server's certificate has a signature that does not verify"),
            "{error:#}"
        );
        servers.shutdown().await;
    });
}

#[test]
fn service_refuses_uris_it_cannot_connect_to() {
    run(async {
        let mut transport = RawSocketTransport::new(TransportOptions::default()).unwrap();
        for (uri, reason) in [
            ("ftp://127.0.0.1/", "only http and https are supported"),
            ("/relative", "it has no scheme"),
        ] {
            let error = transport
                .call(uri.parse().unwrap())
                .await
                .expect_err("refused");
            assert!(
                matches!(error, TransportError::InvalidUri { reason: r, .. } if r == reason),
                "{error:?}"
            );
            assert_eq!(io::Error::from(error).kind(), io::ErrorKind::InvalidInput);
        }
    });
}

#[test]
fn invalid_options_are_refused_with_a_sentence() {
    let pki = Pki::new();
    let refused =
        |options: TransportOptions| RawSocketTransport::new(options).expect_err("invalid options");
    let mut options = TransportOptions::default();
    options.socket.keepalive = Some(Duration::ZERO);
    let error = refused(options);
    assert!(matches!(
        error,
        TransportOptionsError::Socket(SocketOptionsError::ZeroKeepalive)
    ));

    let error = refused(TransportOptions::default().with_connect_timeout(Duration::ZERO));
    assert!(matches!(error, TransportOptionsError::HappyEyeballs(_)));
    assert_eq!(
        error.to_string(),
        "the connect timeout is zero, which leaves no time to connect"
    );

    let mut options = TransportOptions::default();
    options.tls.alpn_protocols.push(Vec::new());
    assert_eq!(
        refused(options).to_string(),
        "the ALPN protocol name \"\" is not 1 to 255 bytes long"
    );

    let mut options = TransportOptions::default();
    options.tls.server_name = Some("exa mple".into());
    assert_eq!(
        refused(options).to_string(),
        "the TLS server name \"exa mple\" is neither a valid DNS name nor an IP address"
    );

    let mut options = TransportOptions::default();
    options.tls.webpki_roots = false;
    assert!(matches!(
        refused(options.clone()),
        TransportOptionsError::Tls(TlsConfigError::NoRootCertificates)
    ));

    options
        .tls
        .extra_roots
        .push(CertificateDer::from(vec![1, 2, 3]));
    let error = refused(options);
    assert!(
        error
            .to_string()
            .starts_with("custom root certificate #0 cannot be used as a trust anchor: "),
        "{error}"
    );

    let mut tls = TlsOptions::default().with_webpki_roots(false);
    assert_eq!(
        tls.add_roots_from_pem(pki.root_pem().as_bytes()).unwrap(),
        1
    );
    assert_eq!(tls.extra_roots, vec![pki.root()]);
    assert!(tls.client_config().is_ok());
    assert_eq!(
        tls.add_roots_from_pem(b"no certificate here")
            .unwrap_err()
            .to_string(),
        "the PEM data contains no PEM certificate"
    );
    let missing = tls
        .add_roots_from_pem_file("/nonexistent/roots.pem")
        .unwrap_err();
    assert!(
        matches!(&missing, PemError::ReadRootCertificates { error, .. } if error.kind() == io::ErrorKind::NotFound),
        "{missing:?}"
    );
    assert!(
        missing
            .to_string()
            .starts_with("could not read root certificates from /nonexistent/roots.pem: ")
    );
}

#[test]
fn each_certificate_refusal_says_what_to_do() {
    use rustls::CertificateError as E;
    use turbohttp::CertificateRejected;
    let say = |error| CertificateRejected::new(error).to_string();
    assert!(
        say(E::UnknownIssuer)
            .contains("not issued by a CA this client trusts, or is self-signed: pass the CA")
    );
    assert!(say(E::NotValidForName).contains("--servername"));
    assert!(say(E::Expired).contains("has expired"));
    assert!(say(E::NotValidYet).contains("check the clocks"));
    assert!(say(E::InvalidPurpose).contains("serverAuth"));
    assert!(say(E::Revoked).contains("revoked"));
}
