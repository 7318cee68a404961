//! Alt-Svc (RFC 7838) in the library: the header parser (edge cases, a property: it
//! never panics and reads back what it writes) and, on loopback, a connect that an
//! alternative sends to another port, TLS still checking the origin's name, the
//! origin's own port the fallback.

mod support;

use std::time::Duration;

use proptest::prelude::*;
use support::tls_lab::{Pki, Servers, run, v4};
use turbohttp::{
    ALPN_H2, ALPN_HTTP_1_1, AltService, AltSvc, AltSvcEntry, AltSvcError, ConnectParams,
    DEFAULT_ALT_SVC_MAX_AGE, NoResolver, Protocols, RawSocketTransport, Scheme, StaticResolver,
    TlsOptions, TransportOptions, Verdict, parse_alt_svc,
};

fn entries(value: &str) -> Vec<AltSvcEntry> {
    match parse_alt_svc(value) {
        Ok(AltSvc::Alternatives(list)) => list,
        other => panic!("{value:?}: {other:?}"),
    }
}

fn shape(e: &AltSvcEntry) -> (&str, Option<&str>, u16, u64, bool) {
    (
        e.alpn.as_str(),
        e.host.as_deref(),
        e.port,
        e.max_age.as_secs(),
        e.persist,
    )
}

#[test]
fn the_header_reads_protocols_authorities_and_parameters() {
    let list = entries(r#"h3=":443"; ma=86400, h2="alt.example:8443"; ma=60; persist=1"#);
    let shapes: Vec<_> = list.iter().map(shape).collect();
    assert_eq!(
        shapes,
        [
            ("h3", None, 443, 86_400, false),
            ("h2", Some("alt.example"), 8443, 60, true),
        ]
    );
    // Percent-encoded ids, IPv6 literals, escapes in the quoted string, unknown
    // parameters, empty list elements, quoted parameter values.
    let list =
        entries(r#" , http%2F1.1="[2001:db8::1]:80" ;foo=bar; ma="30",,h2="a\.test:1";v="1""#);
    let shapes: Vec<_> = list.iter().map(shape).collect();
    assert_eq!(
        shapes,
        [
            ("http/1.1", Some("2001:db8::1"), 80, 30, false),
            (
                "h2",
                Some("a.test"),
                1,
                DEFAULT_ALT_SVC_MAX_AGE.as_secs(),
                false
            ),
        ]
    );
    assert_eq!(
        list[0].alternative(),
        AltService::new("http/1.1", Some("2001:db8::1"), Some(80))
    );
    assert_eq!(parse_alt_svc("clear"), Ok(AltSvc::Clear));
    assert_eq!(parse_alt_svc("  clear "), Ok(AltSvc::Clear));
    // A huge ma is the longest there is, not an error.
    let list = entries(r#"h2=":1"; ma=99999999999999999999999"#);
    assert_eq!(list[0].max_age, Duration::from_secs(u64::MAX));
}

#[test]
fn malformed_values_are_typed_errors_with_a_sentence() {
    let cases: &[(&str, AltSvcError)] = &[
        ("", AltSvcError::Empty),
        (" , ,", AltSvcError::Empty),
        ("=\":1\"", AltSvcError::ExpectedProtocol { at: 0 }),
        ("h2", AltSvcError::ExpectedAuthority { at: 2 }),
        ("h2=:443", AltSvcError::ExpectedAuthority { at: 3 }),
        ("h2=\":443", AltSvcError::UnterminatedQuote { at: 3 }),
        ("h%2=\":1\"", AltSvcError::BadProtocolId { at: 0 }),
        ("h%+1=\":1\"", AltSvcError::BadProtocolId { at: 0 }),
        (
            "h2=\"a.test\"",
            AltSvcError::BadAuthority {
                authority: "a.test".into(),
            },
        ),
        (
            "h2=\":0\"",
            AltSvcError::BadAuthority {
                authority: ":0".into(),
            },
        ),
        (
            "h2=\":65536\"",
            AltSvcError::BadAuthority {
                authority: ":65536".into(),
            },
        ),
        (
            "h2=\"[::1:443\"",
            AltSvcError::BadAuthority {
                authority: "[::1:443".into(),
            },
        ),
        (
            "h2=\"a b:1\"",
            AltSvcError::BadAuthority {
                authority: "a b:1".into(),
            },
        ),
        (
            "h2=\":1\"; ma=soon",
            AltSvcError::BadMaxAge {
                value: "soon".into(),
            },
        ),
        ("h2=\":1\"; ma", AltSvcError::BadParameter { at: 9 }),
        ("h2=\":1\" junk", AltSvcError::Trailing { at: 8 }),
        ("clear, h2=\":1\"", AltSvcError::ExpectedAuthority { at: 5 }),
    ];
    for (value, error) in cases {
        assert_eq!(parse_alt_svc(value).as_ref(), Err(error), "{value:?}");
        let sentence = error.to_string();
        assert!(sentence.starts_with(char::is_lowercase), "{sentence}");
        assert!(!sentence.ends_with('.'), "{sentence}");
    }
}

fn entry() -> impl Strategy<Value = AltSvcEntry> {
    let alpn = prop_oneof![
        Just("h2".to_owned()),
        Just("http/1.1".to_owned()),
        "[ -~]{1,8}"
    ];
    let host = prop_oneof![
        Just(None),
        "[a-z0-9.-]{1,20}".prop_map(Some),
        any::<std::net::Ipv6Addr>().prop_map(|ip| Some(ip.to_string())),
        any::<std::net::Ipv4Addr>().prop_map(|ip| Some(ip.to_string())),
    ];
    (alpn, host, 1..=u16::MAX, any::<u32>(), any::<bool>()).prop_map(
        |(alpn, host, port, ma, persist)| {
            let mut e = entries(&format!("x=\":{port}\""))[0].clone();
            e.alpn = alpn;
            e.host = host;
            e.max_age = Duration::from_secs(u64::from(ma));
            e.persist = persist;
            e
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_parser_never_panics(value in "[ -~]{0,64}", bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = parse_alt_svc(&value);
        let _ = parse_alt_svc(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn what_is_written_reads_back(list in proptest::collection::vec(entry(), 1..5)) {
        let value: Vec<String> = list.iter().map(ToString::to_string).collect();
        let value = value.join(", ");
        prop_assert_eq!(parse_alt_svc(&value), Ok(AltSvc::Alternatives(list)), "{}", value);
    }
}

const NAME: &str = "alt.test";

fn transport(pki: &Pki, port: u16) -> RawSocketTransport<StaticResolver<NoResolver>> {
    let mut options = TransportOptions::default();
    options.tls = TlsOptions::default()
        .with_webpki_roots(false)
        .with_root(pki.root());
    // The origin alt.test:PORT resolves to 127.0.0.1 only.
    let mut table = StaticResolver::with_fallback(NoResolver);
    table.insert(NAME, port, [v4(port)]);
    RawSocketTransport::new(options)
        .expect("valid options")
        .with_resolver(table)
}

#[test]
fn an_alternative_sends_the_connect_to_its_port_offering_its_protocol() {
    run(async {
        let pki = Pki::named(NAME);
        let mut servers = Servers::new();
        let alt_port = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_H2, ALPN_HTTP_1_1]))
            .await;
        // Nothing listens at the origin's own port (a closed one: refused).
        let origin = support::tls_lab::closed_port(v4(0));
        let params = ConnectParams::default().with_alt_svc([
            AltService::new("h3", None, Some(alt_port)),
            AltService::new("h2", Some("ALT.test"), Some(alt_port)),
        ]);
        let won = transport(&pki, origin.port)
            .connect_with(NAME, origin.port, Scheme::Https, params)
            .await
            .expect("connects to the alternative");
        let report = &won.report;
        assert_eq!(report.attempts[0].endpoint, v4(alt_port), "{report:#}");
        assert_eq!(report.attempts[0].alternative, Some(1));
        assert_eq!(report.attempts[0].alpn, Some(Protocols::H2));
        assert_eq!(won.stream.alpn_protocol(), Some(ALPN_H2));
        let verdicts: Vec<Verdict> = report.alternatives.iter().map(|a| a.verdict).collect();
        assert_eq!(verdicts, [Verdict::QuicOnly, Verdict::Use(Protocols::H2)]);
        // The origin's own host: no query for another name.
        assert!(report.dns.iter().all(|q| q.name.is_none()), "{report:#}");
    });
}

#[test]
fn a_dead_alternative_falls_back_to_the_origin() {
    run(async {
        let pki = Pki::named(NAME);
        let mut servers = Servers::new();
        let origin_port = servers
            .https(v4(0), pki.server_config(NAME, &[ALPN_H2, ALPN_HTTP_1_1]))
            .await;
        let dead = support::tls_lab::closed_port(v4(0));
        let params =
            ConnectParams::default().with_alt_svc([AltService::new("h2", None, Some(dead.port))]);
        let won = transport(&pki, origin_port)
            .connect_with(NAME, origin_port, Scheme::Https, params)
            .await
            .expect("the origin answers");
        let ends: Vec<_> = won
            .report
            .attempts
            .iter()
            .map(|a| (a.endpoint, a.alternative))
            .collect();
        assert_eq!(ends, [(v4(dead.port), Some(0)), (v4(origin_port), None)]);
        assert_eq!(won.report.attempts[1].alpn, None);
    });
}
