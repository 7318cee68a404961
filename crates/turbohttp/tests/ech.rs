//! Encrypted Client Hello from an HTTPS record (issue 22, RFC 9849 and RFC 9848), on
//! loopback with the DNS lab. rustls has no server side of ECH, so no handshake here
//! completes with it; what can be seen is: the ClientHello a server receives carries
//! the record's config id and the configuration's public name (not the origin's);
//! a server that does not accept ECH fails the attempt with a sentence, and nothing
//! goes without ECH when every record carries it; an unusable configuration is a
//! typed failure; without ECH the origin's name is sent as before.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use support::chain_text;
use support::ech::{OuterHello, capture_hello};
use support::tls_lab::{Pki, Servers, idle_listener, run, v4, was_dialed};
use turbohttp::{
    ALPN_H2, DnsOptions, DnsResolver, EchStatus, RawSocketTransport, Scheme, TlsOptions,
    TransportOptions,
};
use turbohttp_lab::dns::{
    Behaviour, DnsLab, EchConfigList, SVCB, SvcParamKey, SvcParamValue, Zone, alpn, service,
};
use turbohttp_lab::ech::config_list;

const NAME: &str = "svc.test";
const PUBLIC: &str = "public.test";
const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn port(port: u16) -> (SvcParamKey, SvcParamValue) {
    (SvcParamKey::Port, SvcParamValue::Port(port))
}

fn ech(list: Vec<u8>) -> (SvcParamKey, SvcParamValue) {
    (
        SvcParamKey::EchConfigList,
        SvcParamValue::EchConfigList(EchConfigList(list)),
    )
}

/// `NAME` and `cdn.test` answer A with 127.0.0.1 and no AAAA; the HTTPS query of
/// `NAME` on `origin_port` (RFC 9460 §9.1's name) with `records`.
async fn lab(origin_port: u16, records: Vec<SVCB>) -> DnsLab {
    let https_name = match origin_port {
        443 => NAME.to_owned(),
        other => format!("_{other}._https.{NAME}"),
    };
    let zone = Zone::new()
        .a(NAME, Behaviour::answer([LOCAL]))
        .aaaa(NAME, Behaviour::NoData)
        .a("cdn.test", Behaviour::answer([LOCAL]))
        .aaaa("cdn.test", Behaviour::NoData)
        .https(
            &https_name,
            Behaviour::Https {
                records,
                delay: Duration::ZERO,
            },
        );
    DnsLab::start(zone).await.expect("the DNS lab starts")
}

fn transport(pki: &Pki, lab: &DnsLab, ech: bool) -> RawSocketTransport<DnsResolver> {
    let mut options = TransportOptions::default();
    options.tls = TlsOptions::default()
        .with_webpki_roots(false)
        .with_root(pki.root())
        .with_ech(ech);
    let resolver = DnsResolver::new(
        &[lab.addr()],
        &DnsOptions::default()
            .with_timeout(Duration::from_secs(5))
            .with_attempts(1)
            .with_cache(false),
    );
    RawSocketTransport::new(options)
        .expect("valid options")
        .with_resolver(resolver)
}

#[test]
fn the_client_hello_carries_the_records_config_id_and_its_public_name() {
    run(async {
        let pki = Pki::named(NAME);
        let (hello_port, hello) = capture_hello(v4(0)).await;
        let record = service(
            1,
            ".",
            vec![alpn(&["h2"]), port(hello_port), ech(config_list(7, PUBLIC))],
        );
        let lab = lab(443, vec![record]).await;
        let error = transport(&pki, &lab, true)
            .connect(NAME, 443, Scheme::Https)
            .await
            .expect_err("the listener closes after reading the hello");
        let hello = hello.await.expect("a ClientHello came");
        assert_eq!(
            hello,
            OuterHello {
                sni: Some(PUBLIC.to_owned()),
                ech_config_id: Some(7),
            }
        );
        let attempts = &error.report().attempts;
        assert_eq!(attempts.len(), 1, "{:#}", error.report());
        assert!(attempts[0].ech);
    });
}

#[test]
fn without_ech_the_origins_name_goes_in_the_clear_as_before() {
    run(async {
        let pki = Pki::named(NAME);
        let (hello_port, hello) = capture_hello(v4(0)).await;
        let record = service(
            1,
            ".",
            vec![alpn(&["h2"]), port(hello_port), ech(config_list(7, PUBLIC))],
        );
        let lab = lab(443, vec![record]).await;
        let error = transport(&pki, &lab, false)
            .connect(NAME, 443, Scheme::Https)
            .await
            .expect_err("the listener closes after reading the hello");
        let hello = hello.await.expect("a ClientHello came");
        assert_eq!(
            hello,
            OuterHello {
                sni: Some(NAME.to_owned()),
                ech_config_id: None,
            }
        );
        assert!(!error.report().attempts[0].ech);
    });
}

#[test]
fn a_server_that_does_not_accept_ech_fails_the_attempt_and_nothing_goes_without_it() {
    run(async {
        let pki = Pki::named(NAME);
        let mut servers = Servers::new();
        // A TLS server that knows nothing of ECH: it answers the outer hello, as the
        // public name (a client checks that certificate before it gives up).
        let tls_port = servers
            .https(v4(0), pki.server_config(PUBLIC, &[ALPN_H2]))
            .await;
        // The origin's own address, which no record serves: never dialed when every
        // record says ECH.
        let (origin, origin_port) = idle_listener(v4(0));
        let record = service(
            1,
            "cdn.test",
            vec![alpn(&["h2"]), port(tls_port), ech(config_list(3, PUBLIC))],
        );
        let lab = lab(origin_port, vec![record]).await;
        let error = transport(&pki, &lab, true)
            .connect(NAME, origin_port, Scheme::Https)
            .await
            .expect_err("ECH is not accepted and there is no fallback");
        let report = error.report();
        assert_eq!(report.attempts.len(), 1, "{report:#}");
        assert!(report.attempts[0].ech, "{report:#}");
        let text = chain_text(&error);
        assert!(
            text.contains("did not accept Encrypted Client Hello"),
            "{text}"
        );
        assert!(!was_dialed(&origin), "{report:#}");
    });
}

#[test]
fn with_ech_off_the_origins_own_address_is_the_fallback() {
    run(async {
        let pki = Pki::named(NAME);
        let (hello_port, _hello) = capture_hello(v4(0)).await;
        let (origin, origin_port) = idle_listener(v4(0));
        let record = service(
            1,
            "cdn.test",
            vec![alpn(&["h2"]), port(hello_port), ech(config_list(3, PUBLIC))],
        );
        let lab = lab(origin_port, vec![record]).await;
        let transport = transport(&pki, &lab, false);
        let params = turbohttp::ConnectParams::default().with_timeout(Duration::from_millis(300));
        let error = transport
            .connect_with(NAME, origin_port, Scheme::Https, params)
            .await
            .expect_err("the idle listener never answers TLS");
        let report = error.report();
        assert!(was_dialed(&origin), "{report:#}");
        assert!(report.attempts.iter().all(|a| !a.ech), "{report:#}");
    });
}

#[test]
fn an_unusable_ech_configuration_fails_its_attempt_with_a_sentence() {
    run(async {
        let pki = Pki::named(NAME);
        let (hello_port, _hello) = capture_hello(v4(0)).await;
        let record = service(
            1,
            ".",
            vec![alpn(&["h2"]), port(hello_port), ech(vec![0, 3, 1, 2, 3])],
        );
        let lab = lab(443, vec![record]).await;
        let error = transport(&pki, &lab, true)
            .connect(NAME, 443, Scheme::Https)
            .await
            .expect_err("the configuration cannot be used");
        let text = chain_text(&error);
        assert!(text.contains("ECH configuration cannot be used"), "{text}");
    });
}

#[test]
fn a_connection_without_ech_says_so() {
    run(async {
        let pki = Pki::named(NAME);
        let mut servers = Servers::new();
        let tls_port = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_H2]))
            .await;
        let record = service(1, ".", vec![alpn(&["h2"]), port(tls_port)]);
        let lab = lab(443, vec![record]).await;
        let won = transport(&pki, &lab, true)
            .connect(NAME, 443, Scheme::Https)
            .await
            .expect("connects");
        assert_eq!(won.stream.ech_status(), Some(EchStatus::NotOffered));
        assert!(!won.report.attempts[0].ech);
    });
}
