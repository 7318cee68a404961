//! QUIC raced against TCP on loopback (issue 23): the library's own HTTP/3 server
//! (quinn + h3, turbohttp-lab), a UDP black hole, a refusing QUIC server, the DNS
//! lab with HTTPS records. Times are never asserted against the wall clock beyond
//! their order and lower bounds (the exact schedule is the core's, tested in
//! virtual time in turbohttp-proto/tests/quic.rs).

mod support;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use support::chain_text;
use support::tls_lab::{Pki, Servers, V4, V6, resolver, run, v4, v6};
use turbohttp::{
    ALPN_H2, AddressFamily, AltService, AttemptOutcome, CancellationToken, ConnectErrorKind,
    ConnectParams, Connection, DnsOptions, DnsResolver, Http3, RawSocketTransport, Resolver,
    SocketOptions, TlsOptions, Transport, TransportOptions, http3_handshake,
};
use turbohttp_lab::dns::{
    Behaviour, DnsLab, SVCB, SvcParamKey, SvcParamValue, Zone, alpn, service,
};
use turbohttp_lab::h3::{H3Server, QuicBehaviour, UdpBlackHole};

const NAME: &str = "quic.test";
const BODY: &str = "hello over h3";

fn options(pki: &Pki) -> TransportOptions {
    let mut options = TransportOptions::default();

    options.tls = TlsOptions::default()
        .with_webpki_roots(false)
        .with_root(pki.root());
    options.connect_timeout = Duration::from_secs(10);
    options
}

fn transport<R: Resolver>(pki: &Pki, resolver: R) -> RawSocketTransport<R> {
    RawSocketTransport::new_with_resolver(options(pki), resolver).expect("valid options")
}

/// A transport whose TCP waits 2 s for QUIC, for tests where QUIC answers: a QUIC
/// handshake on a loaded machine may take longer than the default 125 ms, and TCP
/// would then start, and may win, rightly.
fn patient_transport<R: Resolver>(pki: &Pki, resolver: R) -> RawSocketTransport<R> {
    let mut options = options(pki);
    options.happy_eyeballs = options
        .happy_eyeballs
        .with_attempt_spacing_delay(Duration::from_secs(2));
    RawSocketTransport::new_with_resolver(options, resolver).expect("valid options")
}

/// A TLS server (h2) on TCP `addr`'s port 0, and the port.
async fn tcp_server(servers: &mut Servers, pki: &Pki, addr: SocketAddr) -> u16 {
    servers
        .https(addr, pki.server_config(NAME, &[ALPN_H2]))
        .await
}

fn h3_server(pki: &Pki, addr: SocketAddr, behaviour: QuicBehaviour) -> H3Server {
    H3Server::start(addr, pki.server_config(NAME, &[b"h3"]), behaviour)
        .expect("the HTTP/3 server starts")
}

/// Waits until `done` holds, checking every few milliseconds; fails with `what`
/// after `limit` (a real condition with an upper bound, not a sleep to settle).
async fn eventually(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let wait = async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    tokio::time::timeout(limit, wait)
        .await
        .unwrap_or_else(|_| panic!("{what}"));
}

/// A DNS lab answering NAME with 127.0.0.1 (no AAAA) and `record` as the HTTPS
/// record at `https_name`, and a resolver that asks it (keep the lab alive).
async fn dns_lab(https_name: &str, record: SVCB) -> (DnsLab, DnsResolver) {
    let zone = Zone::new()
        .a(NAME, Behaviour::answer([IpAddr::V4(V4)]))
        .aaaa(NAME, Behaviour::NoData)
        .https(
            https_name,
            Behaviour::Https {
                records: vec![record],
                delay: Duration::ZERO,
            },
        );
    let lab = DnsLab::start(zone).await.expect("the DNS lab starts");
    let resolver = DnsResolver::new(
        &[lab.addr()],
        &DnsOptions::default()
            .with_timeout(Duration::from_secs(5))
            .with_attempts(1)
            .with_cache(false),
    );
    (lab, resolver)
}

/// `(transport, outcome)` of every attempt.
fn attempts(report: &turbohttp::RaceReport) -> Vec<(Transport, AttemptOutcome)> {
    report
        .attempts
        .iter()
        .map(|a| (a.transport, a.outcome))
        .collect()
}

async fn h3_get(won: Connection) -> (u16, String) {
    let Connection::Quic(quic) = won else {
        panic!("QUIC should have won");
    };
    let (mut driver, mut send) = http3_handshake(quic).await.expect("h3 starts");
    let drive = tokio::spawn(async move { driver.wait_idle().await });
    let request = http::Request::get(format!("https://{NAME}/"))
        .body(())
        .expect("request");
    let mut stream = send.send_request(request).await.expect("request sent");
    stream.finish().await.expect("request finished");
    let response = stream.recv_response().await.expect("response");
    let mut body = Vec::new();
    while let Some(mut chunk) = stream.recv_data().await.expect("body") {
        use bytes::Buf;
        while chunk.has_remaining() {
            let piece = chunk.chunk().to_vec();
            chunk.advance(piece.len());
            body.extend(piece);
        }
    }
    drop(send);
    drive.abort();
    (
        response.status().as_u16(),
        String::from_utf8(body).expect("utf-8"),
    )
}

#[test]
fn http3_at_the_origin_wins_over_healthy_quic_and_a_get_works_both_families() {
    for local in [IpAddr::V6(V6), IpAddr::V4(V4)] {
        run(async {
            let pki = Pki::new();
            let mut servers = Servers::new();
            let port = tcp_server(&mut servers, &pki, SocketAddr::new(local, 0)).await;
            let h3 = h3_server(
                &pki,
                SocketAddr::new(local, port),
                QuicBehaviour::serve(BODY),
            );
            let transport =
                patient_transport(&pki, resolver(NAME, port, [SocketAddr::new(local, port)]));
            let params = ConnectParams::default().with_http3(Http3::Also);
            let won = transport
                .connect_any(NAME, port, params)
                .await
                .expect("connects");
            assert_eq!(won.report.winner, Some(0));
            assert_eq!(
                attempts(&won.report)[0],
                (Transport::Quic, AttemptOutcome::Won)
            );
            assert_eq!(won.stream.alpn_protocol().as_deref(), Some(&b"h3"[..]));
            assert_eq!(h3_get(won.stream).await, (200, BODY.to_owned()));
            assert_eq!(h3.handshakes(), 1);
            // Nothing learned against QUIC: the next race tries it again.
            let again = transport
                .connect_any(NAME, port, ConnectParams::default().with_http3(Http3::Also))
                .await
                .expect("connects again");
            assert!(again.stream.is_quic());
            assert!(!again.report.quic_remembered_broken);
        });
    }
}

#[test]
fn with_udp_blocked_tcp_wins_one_attempt_delay_after_quic_and_the_next_race_skips_quic() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let port = tcp_server(&mut servers, &pki, v6(0)).await;
        let hole = UdpBlackHole::bind(v6(port)).expect("udp bind");
        let transport = transport(&pki, resolver(NAME, port, [v6(port)]));
        let params = || ConnectParams::default().with_http3(Http3::Also);
        let won = transport
            .connect_any(NAME, port, params())
            .await
            .expect("TCP wins");
        assert!(hole.was_sent_to(), "the QUIC attempt sent its Initial");
        assert_eq!(
            attempts(&won.report),
            [
                (Transport::Quic, AttemptOutcome::Cancelled),
                (Transport::Tcp, AttemptOutcome::Won),
            ]
        );
        let (quic, tcp) = (&won.report.attempts[0], &won.report.attempts[1]);
        // TCP starts one attempt spacing (125 ms, within the 250 ms connection attempt
        // delay) after QUIC, not after a QUIC timeout.
        let spacing = turbohttp::HappyEyeballsOptions::default().attempt_spacing_delay;
        assert!(
            tcp.started - quic.started >= spacing,
            "{:#?}",
            won.report.attempts
        );
        assert!(matches!(won.stream, Connection::Tcp(ref s) if s.is_h2()));
        // Two endpoints, one address.
        assert_eq!(won.report.resolved, [v6(port)]);
        assert!(!won.report.quic_remembered_broken);

        // Remembered broken: the second race goes straight to TCP, no QUIC, no delay.
        let again = transport
            .connect_any(NAME, port, params())
            .await
            .expect("TCP again");
        assert_eq!(
            attempts(&again.report),
            [(Transport::Tcp, AttemptOutcome::Won)]
        );
        assert!(again.report.quic_remembered_broken);
        let memory = transport.quic_memory().lock().expect("memory");
        assert!(memory.is_broken(NAME, port, std::time::Instant::now()));
    });
}

#[test]
fn quic_refused_at_once_lets_tcp_start_at_once_and_is_not_remembered() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let port = tcp_server(&mut servers, &pki, v4(0)).await;
        let _refusing = h3_server(&pki, v4(port), QuicBehaviour::Refuse);
        let transport = patient_transport(&pki, resolver(NAME, port, [v4(port)]));
        let won = transport
            .connect_any(NAME, port, ConnectParams::default().with_http3(Http3::Also))
            .await
            .expect("TCP wins");
        assert_eq!(
            attempts(&won.report),
            [
                (Transport::Quic, AttemptOutcome::Failed),
                (Transport::Tcp, AttemptOutcome::Won),
            ]
        );
        let (quic, tcp) = (&won.report.attempts[0], &won.report.attempts[1]);
        let failure = quic.failure.as_ref().expect("a failure");
        assert!(
            failure.message().contains("refused the QUIC connection"),
            "{}",
            failure.message()
        );
        // TCP went when QUIC failed, before its 250 ms turn.
        assert!(
            tcp.started < Duration::from_millis(250),
            "{:?}",
            tcp.started
        );
        assert!(tcp.started >= quic.ended.expect("ended"));
        assert!(!transport.quic_memory().lock().expect("memory").is_broken(
            NAME,
            port,
            std::time::Instant::now()
        ));
    });
}

#[test]
fn a_quic_certificate_that_does_not_verify_ends_the_race_as_over_tcp() {
    run(async {
        let pki = Pki::named("trusted");
        let stranger = Pki::named("stranger");
        let mut servers = Servers::new();
        let port = tcp_server(&mut servers, &pki, v6(0)).await;
        let _h3 = h3_server(&stranger, v6(port), QuicBehaviour::serve(BODY));
        let transport = patient_transport(&pki, resolver(NAME, port, [v6(port)]));
        let error = transport
            .connect_any(NAME, port, ConnectParams::default().with_http3(Http3::Also))
            .await
            .expect_err("the certificate is not trusted");
        assert_eq!(error.kind(), ConnectErrorKind::SetupRejected);
        assert_eq!(
            attempts(error.report()),
            [(Transport::Quic, AttemptOutcome::Failed)],
            "no TCP attempt after a terminal certificate failure"
        );
        let text = chain_text(&error);
        assert!(
            text.contains("not issued by a CA this client trusts"),
            "{text}"
        );
    });
}

#[test]
fn http3_only_with_udp_blocked_times_out_without_tcp() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let port = tcp_server(&mut servers, &pki, v4(0)).await;
        let _hole = UdpBlackHole::bind(v4(port)).expect("udp bind");
        let transport = transport(&pki, resolver(NAME, port, [v4(port)]));
        let params = ConnectParams::default()
            .with_http3(Http3::Only)
            .with_timeout(Duration::from_millis(600));
        let error = transport
            .connect_any(NAME, port, params)
            .await
            .expect_err("QUIC gets no answer");
        assert_eq!(error.kind(), ConnectErrorKind::TimedOut);
        assert_eq!(
            attempts(error.report()),
            [(Transport::Quic, AttemptOutcome::TimedOut)]
        );
        assert!(error.to_string().contains("stopped after"), "{error}");
    });
}

#[test]
fn cancelling_during_a_quic_handshake_leaves_nothing_open() {
    run(async {
        let pki = Pki::new();
        let hole = UdpBlackHole::bind(v6(0)).expect("udp bind");
        let port = hole.addr().port();
        let transport = transport(&pki, resolver(NAME, port, [v6(port)]));
        let cancel = CancellationToken::new();
        let params = ConnectParams::default()
            .with_http3(Http3::Only)
            .with_cancel(cancel.clone());
        let canceller = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            cancel.cancel();
        });
        let error = transport
            .connect_any(NAME, port, params)
            .await
            .expect_err("cancelled");
        canceller.await.expect("canceller");
        assert_eq!(error.kind(), ConnectErrorKind::Cancelled);
        assert!(hole.was_sent_to());
        // The attempt's connection is closed (CONNECTION_CLOSE queued when it was
        // dropped); quinn forgets it once it has drained (3 PTOs).
        let endpoints = transport.quic_endpoints();
        eventually(
            Duration::from_secs(10),
            "the cancelled QUIC connection drains",
            || endpoints.open_connections() == 0,
        )
        .await;
    });
}

#[test]
fn h3_advertised_on_another_port_by_the_https_record_is_raced_first() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let tcp_port = tcp_server(&mut servers, &pki, v4(0)).await;
        let h3 = h3_server(&pki, v4(0), QuicBehaviour::serve(BODY));
        let h3_port = h3.addr().port();
        let record = service(
            1,
            ".",
            vec![
                alpn(&["h3"]),
                (SvcParamKey::NoDefaultAlpn, SvcParamValue::NoDefaultAlpn),
                (SvcParamKey::Port, SvcParamValue::Port(h3_port)),
            ],
        );
        let https_name = format!("_{tcp_port}._https.{NAME}");
        let (_lab, resolver) = dns_lab(&https_name, record).await;
        let transport = patient_transport(&pki, resolver);
        let won = transport
            .connect_any(
                NAME,
                tcp_port,
                ConnectParams::default().with_http3(Http3::Advertised),
            )
            .await
            .expect("connects");
        let first = &won.report.attempts[0];
        assert_eq!(first.transport, Transport::Quic);
        assert_eq!(first.endpoint, v4(h3_port));
        assert_eq!(h3_get(won.stream).await, (200, BODY.to_owned()));
        // Without HTTP/3 the same record is skipped and TCP goes to the origin's port.
        let tcp = transport
            .connect_any(NAME, tcp_port, ConnectParams::default())
            .await
            .expect("connects over TCP");
        assert_eq!(
            attempts(&tcp.report),
            [(Transport::Tcp, AttemptOutcome::Won)]
        );
        assert_eq!(tcp.report.attempts[0].endpoint, v4(tcp_port));
        let _ = Arc::clone(transport.quic_endpoints());
    });
}

#[test]
fn http3_to_an_ip_literal_races_quic_ahead_of_tcp_and_http3_only_dials_no_tcp() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let port = tcp_server(&mut servers, &pki, v6(0)).await;
        let h3 = h3_server(&pki, v6(port), QuicBehaviour::serve(BODY));
        // The certificate names NAME: verify that name, dial the literal.
        let mut options = options(&pki);
        options.tls.server_name = Some(NAME.to_owned());
        options.happy_eyeballs = options
            .happy_eyeballs
            .with_attempt_spacing_delay(Duration::from_secs(2));
        let transport =
            RawSocketTransport::new_with_resolver(options, turbohttp::NoResolver).expect("options");
        for http3 in [Http3::Also, Http3::Only] {
            let won = transport
                .connect_any("::1", port, ConnectParams::default().with_http3(http3))
                .await
                .expect("connects");
            assert_eq!(
                attempts(&won.report),
                [(Transport::Quic, AttemptOutcome::Won)],
                "{http3:?}"
            );
            assert!(won.report.dns.is_empty(), "no resolver was asked");
            assert_eq!(won.report.resolved, [v6(port)]);
            assert_eq!(h3_get(won.stream).await, (200, BODY.to_owned()));
        }
        assert_eq!(h3.handshakes(), 2);
        // Without HTTP/3, the literal is dialed over TCP only, as ever.
        let tcp = transport
            .connect_any("::1", port, ConnectParams::default())
            .await
            .expect("connects over TCP");
        assert_eq!(
            attempts(&tcp.report),
            [(Transport::Tcp, AttemptOutcome::Won)]
        );
    });
}

#[test]
fn a_record_that_requires_ech_gets_no_quic_attempt_without_it() {
    run(async {
        let pki = Pki::new();
        // Where the record sends QUIC: a UDP port that tells whether anything came.
        let udp = UdpBlackHole::bind(v4(0)).expect("udp bind");
        let h3_port = udp.addr().port();
        // Every record has an ECH configuration (RFC 9848: no fallback without ECH);
        // the record names QUIC only.
        let record = service(
            1,
            ".",
            vec![
                alpn(&["h3"]),
                (SvcParamKey::NoDefaultAlpn, SvcParamValue::NoDefaultAlpn),
                (SvcParamKey::Port, SvcParamValue::Port(h3_port)),
                (
                    SvcParamKey::EchConfigList,
                    SvcParamValue::EchConfigList(turbohttp_lab::dns::EchConfigList(
                        turbohttp_lab::ech::config_list(3, "public.test"),
                    )),
                ),
            ],
        );
        let (_lab, resolver) = dns_lab(NAME, record).await;
        let error = transport(&pki, resolver)
            .connect_any(
                NAME,
                443,
                ConnectParams::default().with_http3(Http3::Advertised),
            )
            .await
            .expect_err("nothing may go without ECH");
        let attempts = &error.report().attempts;
        assert_eq!(attempts.len(), 1, "{:#}", error.report());
        assert_eq!(attempts[0].transport, Transport::Quic);
        assert!(attempts[0].ech, "the attempt was to offer ECH");
        let text = chain_text(&error);
        assert!(text.contains("does not offer it over QUIC"), "{text}");
        assert!(!udp.was_sent_to(), "no ClientHello without ECH");
    });
}

#[test]
fn quic_sockets_take_the_local_address_and_a_missing_interface_ends_the_race() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let port = tcp_server(&mut servers, &pki, v4(0)).await;
        let _h3 = h3_server(&pki, v4(port), QuicBehaviour::serve(BODY));
        let only = || ConnectParams::default().with_http3(Http3::Only);
        let with_socket = |socket: SocketOptions| {
            let mut options = options(&pki);
            options.socket = socket;
            RawSocketTransport::new_with_resolver(options, resolver(NAME, port, [v4(port)]))
                .expect("valid options")
        };
        // By default the IPv4 endpoint is bound to 0.0.0.0; with a local address, to it.
        let default = with_socket(SocketOptions::default());
        default.connect_any(NAME, port, only()).await.expect("QUIC");
        let bound = default.quic_endpoints().local_addr(AddressFamily::V4);
        assert!(bound.expect("bound").ip().is_unspecified(), "{bound:?}");
        let local = with_socket(SocketOptions::default().with_local_address(IpAddr::V4(V4)));
        let won = local.connect_any(NAME, port, only()).await.expect("QUIC");
        assert!(won.stream.is_quic());
        let bound = local.quic_endpoints().local_addr(AddressFamily::V4);
        assert_eq!(bound.expect("bound").ip(), IpAddr::V4(V4));
        // A device that does not exist ends the race at its first attempt, as over TCP.
        let missing = with_socket(SocketOptions::default().with_interface("nope0"));
        let error = missing
            .connect_any(NAME, port, only())
            .await
            .expect_err("no such interface");
        assert_eq!(error.report().attempts.len(), 1);
        let text = chain_text(&error);
        assert!(
            text.contains("cannot bind to the interface \"nope0\""),
            "{text}"
        );
        assert!(
            missing
                .quic_endpoints()
                .local_addr(AddressFamily::V4)
                .is_none()
        );
    });
}

#[test]
fn an_alt_svc_h3_entry_is_raced_first_over_quic() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let port = tcp_server(&mut servers, &pki, v4(0)).await;
        let h3 = h3_server(&pki, v4(0), QuicBehaviour::serve(BODY));
        let alt_port = h3.addr().port();
        let transport = patient_transport(&pki, resolver(NAME, port, [v4(port)]));
        let params = ConnectParams::default()
            .with_http3(Http3::Advertised)
            .with_alt_svc([AltService::new("h3", None, Some(alt_port))]);
        let won = transport
            .connect_any(NAME, port, params)
            .await
            .expect("connects");
        let first = &won.report.attempts[0];
        assert_eq!(
            (first.transport, first.endpoint),
            (Transport::Quic, v4(alt_port))
        );
        assert_eq!(h3_get(won.stream).await, (200, BODY.to_owned()));
        // Without HTTP/3 the h3 alternative is skipped: TCP to the origin.
        let params =
            ConnectParams::default().with_alt_svc([AltService::new("h3", None, Some(alt_port))]);
        let tcp = transport
            .connect_any(NAME, port, params)
            .await
            .expect("connects over TCP");
        assert_eq!(
            attempts(&tcp.report),
            [(Transport::Tcp, AttemptOutcome::Won)]
        );
        assert_eq!(tcp.report.attempts[0].endpoint, v4(port));
    });
}

#[test]
fn a_transport_used_from_a_second_runtime_binds_that_runtime_its_own_endpoint() {
    let pki = Pki::new();
    let transport = run(async {
        let mut servers = Servers::new();
        let port = tcp_server(&mut servers, &pki, v4(0)).await;
        let _h3 = h3_server(&pki, v4(port), QuicBehaviour::serve(BODY));
        let transport = patient_transport(&pki, resolver(NAME, port, [v4(port)]));
        let params = ConnectParams::default().with_http3(Http3::Only);
        let won = transport
            .connect_any(NAME, port, params)
            .await
            .expect("QUIC");
        assert!(won.stream.is_quic());
        (transport, port)
    });
    // The first runtime, and the task that drove its endpoint, are gone.
    run(async {
        let (transport, old_port) = transport;
        let mut servers = Servers::new();
        let port = tcp_server(&mut servers, &pki, v4(0)).await;
        let _h3 = h3_server(&pki, v4(port), QuicBehaviour::serve(BODY));
        let transport = transport.with_resolver(resolver(NAME, port, [v4(port)]));
        let params = ConnectParams::default()
            .with_http3(Http3::Only)
            .with_timeout(Duration::from_secs(10));
        let won = transport
            .connect_any(NAME, port, params)
            .await
            .expect("QUIC again");
        assert_eq!(h3_get(won.stream).await, (200, BODY.to_owned()));
        assert_ne!(port, old_port);
    });
}

#[test]
fn a_losing_quic_attempt_sends_connection_close_when_tcp_wins() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let port = tcp_server(&mut servers, &pki, v6(0)).await;
        let hole = UdpBlackHole::bind(v6(port)).expect("udp bind");
        let transport = transport(&pki, resolver(NAME, port, [v6(port)]));
        let won = transport
            .connect_any(NAME, port, ConnectParams::default().with_http3(Http3::Also))
            .await
            .expect("TCP wins");
        assert_eq!(won.report.attempts[0].outcome, AttemptOutcome::Cancelled);
        // The Initial it sent. quinn's first retransmission is a probe timeout away
        // (3 × its 333 ms initial RTT, about a second), so a datagram in the next
        // half second is the close.
        assert!(hole.take_datagrams() >= 1);
        // The loser was dropped when TCP won: its CONNECTION_CLOSE follows at once.
        eventually(
            Duration::from_millis(500),
            "the losing QUIC attempt sent its CONNECTION_CLOSE",
            || hole.take_datagrams() > 0,
        )
        .await;
    });
}

#[test]
fn quic_sends_the_client_certificate_a_server_requires() {
    run(async {
        let pki = Pki::named("servers");
        let clients = Pki::named("clients");
        let mut servers = Servers::new();
        let port = tcp_server(&mut servers, &pki, v4(0)).await;
        // HTTP/3 that requires a client certificate from `clients`.
        let config =
            pki.server_config_with(NAME, &[b"h3"], rustls::DEFAULT_VERSIONS, Some(&clients));
        let h3 = H3Server::start(v4(port), config, QuicBehaviour::serve(BODY)).expect("h3");
        let with = |client: Option<turbohttp::ClientCertificate>| {
            let mut options = options(&pki);
            options.tls.client_auth = client;
            RawSocketTransport::new_with_resolver(options, resolver(NAME, port, [v4(port)]))
                .expect("valid options")
        };
        let only = || ConnectParams::default().with_http3(Http3::Only);
        // With the client certificate the transport's TLS has, QUIC's handshake passes.
        let (chain, key) = clients.certificate(
            "client.test",
            support::tls_lab::ExtendedKeyUsagePurpose::ClientAuth,
        );
        let won = with(Some(turbohttp::ClientCertificate::new(chain, key)))
            .connect_any(NAME, port, only())
            .await
            .expect("mutual TLS over QUIC");
        assert_eq!(h3_get(won.stream).await, (200, BODY.to_owned()));
        assert_eq!(h3.handshakes(), 1);
        // Without one: under TLS 1.3 the client's side of the handshake is done before
        // the server reads its (absent) certificate, so the attempt wins, as over TCP,
        // and the server's refusal ends the first request.
        let won = with(None)
            .connect_any(NAME, port, only())
            .await
            .expect("the client's handshake completes");
        let Connection::Quic(quic) = won.stream else {
            panic!("QUIC won");
        };
        let refused = async {
            let (mut driver, mut send) = http3_handshake(quic).await?;
            let _drive = tokio::spawn(async move { driver.wait_idle().await });
            let request = http::Request::get(format!("https://{NAME}/"))
                .body(())
                .expect("request");
            let mut stream = send.send_request(request).await?;
            stream.finish().await?;
            stream.recv_response().await?;
            Ok::<_, turbohttp::Http3Error>(())
        };
        let error = refused
            .await
            .expect_err("the server refuses the connection");
        let text = chain_text(&error);
        assert!(text.contains("certificate"), "{text}");
        assert_eq!(h3.handshakes(), 1);
    });
}

#[test]
fn a_quic_dialer_alone_dials_quic_and_refuses_a_tcp_attempt() {
    run(async {
        let pki = Pki::new();
        let h3 = h3_server(&pki, v4(0), QuicBehaviour::serve(BODY));
        let port = h3.addr().port();
        let transport = transport(&pki, resolver(NAME, port, [v4(port)]));
        let dialer = turbohttp::QuicDialer::new(
            Arc::clone(transport.quic_endpoints()),
            turbohttp::quic_client_config(transport.tls_config()).expect("QUIC config"),
            &rustls::pki_types::ServerName::try_from(NAME).expect("name"),
            turbohttp::TlsFailurePolicy::StopRace,
        );
        use turbohttp::{Dialer, Offer};
        let quic = dialer
            .dial_offering(v4(port), Offer::default().with_transport(Transport::Quic))
            .await
            .expect("a QUIC handshake");
        assert_eq!(quic.alpn_protocol().as_deref(), Some(&b"h3"[..]));
        // The server counts it once its side is done too.
        eventually(
            Duration::from_secs(5),
            "the server completes its side",
            || h3.handshakes() > 0,
        )
        .await;
        // A TCP attempt is not dialed over QUIC (the report would call it TCP).
        let tcp = dialer
            .dial_offering(v4(port), Offer::default())
            .await
            .expect_err("a TCP offer");
        assert!(tcp.to_string().contains("dials QUIC only"), "{tcp}");
        assert_eq!(h3.handshakes(), 1);
    });
}
