//! The HTTPS query in a real race (issue 22): a DNS lab of the test's own on
//! loopback serves HTTPS, AAAA and A records, and the connect goes where the record
//! says: its port, its protocols (offered in the TLS handshake), its hints; a lost
//! HTTPS answer costs the resolution delay and no more; `https_records = false` and
//! plain TCP connects without services ask nothing.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use support::tls_lab::{Pki, Servers, run, v4};
use turbohttp::{
    ALPN_H2, ALPN_HTTP_1_1, ConnectParams, DnsOptions, DnsResolver, HappyEyeballs,
    HappyEyeballsOptions, Protocols, QueryOutcome, QueryType, RaceReport, RawSocketTransport,
    Scheme, TcpDialer, TlsOptions, TransportOptions, Verdict,
};
use turbohttp_lab::dns::{
    Behaviour, DnsLab, IpHint, SvcParamKey, SvcParamValue, Zone, alpn, service,
};

const NAME: &str = "svc.test";
const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn resolver(lab: &DnsLab) -> DnsResolver {
    DnsResolver::new(
        &[lab.addr()],
        &DnsOptions::default()
            .with_timeout(Duration::from_secs(5))
            .with_attempts(1)
            .with_cache(false),
    )
}

fn transport(pki: &Pki, lab: &DnsLab) -> RawSocketTransport<DnsResolver> {
    let mut options = TransportOptions::default();
    options.tls = TlsOptions::default()
        .with_webpki_roots(false)
        .with_root(pki.root());
    RawSocketTransport::new(options)
        .expect("valid options")
        .with_resolver(resolver(lab))
}

fn port(port: u16) -> (SvcParamKey, SvcParamValue) {
    (SvcParamKey::Port, SvcParamValue::Port(port))
}

/// `NAME` answers A with 127.0.0.1 and no AAAA; its HTTPS query (`https_name`) as
/// `https`.
async fn lab(https_name: &str, https: Behaviour) -> DnsLab {
    let zone = Zone::new()
        .a(NAME, Behaviour::answer([LOCAL]))
        .aaaa(NAME, Behaviour::NoData)
        .https(https_name, https);
    DnsLab::start(zone).await.expect("the DNS lab starts")
}

fn records(list: Vec<turbohttp_lab::dns::SVCB>) -> Behaviour {
    Behaviour::Https {
        records: list,
        delay: Duration::ZERO,
    }
}

fn https_query(report: &RaceReport) -> &turbohttp::QueryRecord {
    let https = report.dns.iter().find(|q| q.query == QueryType::Https);
    https.expect("an HTTPS query in the report")
}

#[test]
fn a_connect_goes_to_the_port_the_record_names_offering_its_protocols() {
    run(async {
        let pki = Pki::named(NAME);
        let mut servers = Servers::new();
        let tls_port = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_H2, ALPN_HTTP_1_1]))
            .await;
        // The origin is NAME:443; nothing listens there. The record says tls_port.
        let record = service(1, ".", vec![alpn(&["h2"]), port(tls_port)]);
        let lab = lab(NAME, records(vec![record])).await;
        let won = transport(&pki, &lab)
            .connect(NAME, 443, Scheme::Https)
            .await
            .expect("connects to the record's port");
        let report = &won.report;
        assert_eq!(report.attempts.len(), 1, "{report:#}");
        assert_eq!(report.attempts[0].endpoint, v4(tls_port));
        assert_eq!(report.attempts[0].alpn, Some(Protocols::TCP));
        assert_eq!(report.attempts[0].service, Some(0));
        let https = https_query(report);
        assert_eq!(https.outcome, QueryOutcome::Records { records: 1 });
        assert_eq!(https.services[0].verdict, Verdict::Use(Protocols::TCP));
        assert_eq!(https.services[0].info.port, Some(tls_port));
        assert_eq!(won.stream.alpn_protocol(), Some(ALPN_H2));
        // The draft's order: HTTPS first, then AAAA and A.
        let order: Vec<QueryType> = report.dns.iter().map(|q| q.query).collect();
        assert_eq!(order, [QueryType::Https, QueryType::Aaaa, QueryType::A]);
    });
}

#[test]
fn the_handshake_offers_only_what_the_record_and_the_caller_share() {
    run(async {
        let pki = Pki::named(NAME);
        let mut servers = Servers::new();
        // The server prefers h2; the record says the service speaks http/1.1 only.
        let tls_port = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_H2, ALPN_HTTP_1_1]))
            .await;
        let record = service(1, ".", vec![alpn(&["http/1.1"]), port(tls_port)]);
        let lab = lab(NAME, records(vec![record])).await;
        let won = transport(&pki, &lab)
            .connect(NAME, 443, Scheme::Https)
            .await
            .expect("connects");
        assert_eq!(won.report.attempts[0].alpn, Some(Protocols::HTTP_1_1));
        assert_eq!(won.stream.alpn_protocol(), Some(ALPN_HTTP_1_1));
    });
}

#[test]
fn a_port_other_than_443_asks_the_port_prefixed_name() {
    run(async {
        let pki = Pki::named(NAME);
        let mut servers = Servers::new();
        let tls_port = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_H2, ALPN_HTTP_1_1]))
            .await;
        let record = service(1, ".", vec![alpn(&["h2"]), port(tls_port)]);
        let lab = lab("_8443._https.svc.test", records(vec![record])).await;
        let won = transport(&pki, &lab)
            .connect(NAME, 8443, Scheme::Https)
            .await
            .expect("connects to the record's port");
        assert_eq!(won.report.attempts[0].endpoint, v4(tls_port));
        assert_eq!(lab.queries_for("_8443._https.svc.test").len(), 1);
    });
}

#[test]
fn a_lost_https_answer_costs_the_resolution_delay_and_the_race_does_not_wait_for_it() {
    run(async {
        let pki = Pki::named(NAME);
        let mut servers = Servers::new();
        let tls_port = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_H2, ALPN_HTTP_1_1]))
            .await;
        let https_name = format!("_{tls_port}._https.{NAME}");
        let lab = lab(&https_name, Behaviour::Silent).await;
        let won = transport(&pki, &lab)
            .connect(NAME, tls_port, Scheme::Https)
            .await
            .expect("connects without the HTTPS answer");
        let report = &won.report;
        // The attempt waited the resolution delay from the first address, and the
        // race ended long before the resolver's own 5 s timeout for the HTTPS query.
        let delay = HappyEyeballsOptions::default().resolution_delay;
        let started = report.attempts[0].started;
        assert!(
            started >= report.resolve_time + delay,
            "started at {started:?}, the address known at {:?}",
            report.resolve_time
        );
        assert_eq!(https_query(report).outcome, QueryOutcome::Cancelled);
        assert_eq!(report.attempts[0].alpn, None);
    });
}

#[test]
fn hints_alone_connect_while_the_address_queries_are_lost() {
    run(async {
        let pki = Pki::named(NAME);
        let mut servers = Servers::new();
        let tls_port = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_H2, ALPN_HTTP_1_1]))
            .await;
        let hint = (
            SvcParamKey::Ipv4Hint,
            SvcParamValue::Ipv4Hint(IpHint(vec![Ipv4Addr::LOCALHOST.into()])),
        );
        let record = service(1, ".", vec![alpn(&["h2"]), port(tls_port), hint]);
        let zone = Zone::new()
            .a(NAME, Behaviour::Silent)
            .aaaa(NAME, Behaviour::Silent)
            .https(NAME, records(vec![record]));
        let lab = DnsLab::start(zone).await.expect("the DNS lab starts");
        let won = transport(&pki, &lab)
            .connect(NAME, 443, Scheme::Https)
            .await
            .expect("connects to the hint");
        let report = &won.report;
        assert_eq!(report.attempts[0].endpoint, v4(tls_port));
        let mut address_queries = report.dns.iter().filter(|q| q.query != QueryType::Https);
        assert!(address_queries.all(|q| q.outcome == QueryOutcome::Cancelled));
    });
}

#[test]
fn https_records_off_asks_no_https_query() {
    run(async {
        let pki = Pki::named(NAME);
        let mut servers = Servers::new();
        let tls_port = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_H2, ALPN_HTTP_1_1]))
            .await;
        let lab = lab(&format!("_{tls_port}._https.{NAME}"), Behaviour::Silent).await;
        let mut options = TransportOptions::default().with_https_records(false);
        options.tls = TlsOptions::default()
            .with_webpki_roots(false)
            .with_root(pki.root());
        let transport = RawSocketTransport::new(options)
            .expect("valid options")
            .with_resolver(resolver(&lab));
        let won = transport
            .connect(NAME, tls_port, Scheme::Https)
            .await
            .expect("connects");
        assert!(won.report.dns.iter().all(|q| q.query != QueryType::Https));
        assert!(
            lab.queries_for(&format!("_{tls_port}._https.{NAME}"))
                .is_empty()
        );
    });
}

#[test]
fn a_plain_tcp_connect_asks_for_services_only_when_told_to() {
    run(async {
        let listener = std::net::TcpListener::bind((LOCAL, 0)).expect("bind");
        let tcp_port = listener.local_addr().expect("addr").port();
        let record = service(1, ".", vec![port(tcp_port)]);
        let lab = lab(NAME, records(vec![record])).await;
        let connector = HappyEyeballs::from_parts(
            HappyEyeballsOptions::default(),
            resolver(&lab),
            TcpDialer::default(),
        );
        // Not asked: the origin's port, and no HTTPS query.
        let origin = std::net::TcpListener::bind((LOCAL, 0)).expect("bind");
        let origin_port = origin.local_addr().expect("addr").port();
        let won = connector
            .connect(NAME, origin_port)
            .await
            .expect("connects");
        assert!(won.report.dns.iter().all(|q| q.query != QueryType::Https));
        // Asked (the library user's https origin at 443): the record's port.
        let params = ConnectParams::default().with_services(Protocols::TCP);
        let won = connector
            .connect_with(NAME, 443, params)
            .await
            .expect("connects to the record's port");
        assert_eq!(won.report.attempts[0].endpoint, v4(tcp_port));
    });
}

#[test]
fn an_alias_is_followed_to_its_target_records_and_addresses() {
    run(async {
        let pki = Pki::named(NAME);
        let mut servers = Servers::new();
        let tls_port = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_H2, ALPN_HTTP_1_1]))
            .await;
        // svc.test -> AliasMode cdn.test; cdn.test: "." at tls_port, A 127.0.0.1.
        // svc.test's own A is an address where nothing listens.
        let zone = Zone::new()
            .a(
                NAME,
                Behaviour::answer([IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9))]),
            )
            .aaaa(NAME, Behaviour::NoData)
            .https(NAME, records(vec![service(0, "cdn.test", vec![])]))
            .https(
                "cdn.test",
                records(vec![service(1, ".", vec![alpn(&["h2"]), port(tls_port)])]),
            )
            .a("cdn.test", Behaviour::answer([LOCAL]))
            .aaaa("cdn.test", Behaviour::NoData);
        let lab = DnsLab::start(zone).await.expect("the DNS lab starts");
        let won = transport(&pki, &lab)
            .connect(NAME, 443, Scheme::Https)
            .await
            .expect("connects where the alias led");
        let report = &won.report;
        assert_eq!(report.attempts[0].endpoint, v4(tls_port), "{report:#}");
        let names: Vec<(QueryType, Option<&str>)> = report
            .dns
            .iter()
            .map(|q| (q.query, q.name.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                (QueryType::Https, None),
                (QueryType::Aaaa, None),
                (QueryType::A, None),
                (QueryType::Https, Some("cdn.test")),
                (QueryType::Aaaa, Some("cdn.test")),
                (QueryType::A, Some("cdn.test")),
            ]
        );
        assert_eq!(lab.queries_for("cdn.test").len(), 3);
    });
}

#[test]
fn a_record_for_another_target_dials_that_targets_addresses() {
    run(async {
        let pki = Pki::named(NAME);
        let mut servers = Servers::new();
        let tls_port = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_H2, ALPN_HTTP_1_1]))
            .await;
        let zone = Zone::new()
            .a(
                NAME,
                Behaviour::answer([IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9))]),
            )
            .aaaa(NAME, Behaviour::NoData)
            .https(
                NAME,
                records(vec![service(
                    1,
                    "alt.test",
                    vec![alpn(&["h2"]), port(tls_port)],
                )]),
            )
            .a("alt.test", Behaviour::answer([LOCAL]))
            .aaaa("alt.test", Behaviour::NoData);
        let lab = DnsLab::start(zone).await.expect("the DNS lab starts");
        let won = transport(&pki, &lab)
            .connect(NAME, 443, Scheme::Https)
            .await
            .expect("connects to the target's address");
        assert_eq!(won.report.attempts[0].endpoint, v4(tls_port));
        assert_eq!(won.report.attempts[0].service, Some(0));
    });
}
