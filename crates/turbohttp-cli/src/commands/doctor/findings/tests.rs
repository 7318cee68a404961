//! The findings of constructed evidence: one healthy dual-stack host, each scene a
//! change of it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use turbohttp::{AddressFamily, LookupFailureKind};

use super::super::evidence::{
    AddressProbe, Answer, Connect, DnsEvidence, Evidence, Query, Quic, QuicEvidence, QuicProbe,
    RaceOutcome, RouteProbe, Service, Source, Tls,
};
use super::{Diagnosis, Layer, Severity, Verdict, diagnose, nat64_prefix};
use crate::exit;

const V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
const V6B: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2));
const V4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const PORT: u16 = 443;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn at(ip: IpAddr) -> SocketAddr {
    SocketAddr::new(ip, PORT)
}

fn answered(elapsed: Duration, addrs: &[IpAddr]) -> Query {
    Query {
        elapsed,
        ttl: None,
        answer: Answer::Addresses(addrs.to_vec()),
    }
}

fn failed(elapsed: Duration, kind: LookupFailureKind) -> Query {
    Query {
        elapsed,
        ttl: None,
        answer: Answer::Failed {
            kind,
            message: kind.as_str().to_owned(),
        },
    }
}

fn lost() -> Query {
    Query {
        elapsed: ms(2000),
        ttl: None,
        answer: Answer::TimedOut,
    }
}

fn connected(ip: IpAddr, d: Duration) -> AddressProbe {
    AddressProbe {
        addr: at(ip),
        connect: Connect::Connected(d),
        tls: None,
    }
}

fn probe(ip: IpAddr, connect: Connect) -> AddressProbe {
    AddressProbe {
        addr: at(ip),
        connect,
        tls: None,
    }
}

fn tls_done() -> Tls {
    Tls::Done {
        elapsed: ms(2),
        version: "TLSv1_3".to_owned(),
        alpn: Some("h2".to_owned()),
    }
}

/// A healthy dual-stack host over DNS, plain TCP: IPv6 wins.
fn healthy() -> Evidence {
    Evidence {
        host: "dual.test".to_owned(),
        port: PORT,
        https: false,
        family: None,
        preferred: AddressFamily::V6,
        stagger: ms(250),
        resolution_delay: ms(50),
        spacing: ms(125),
        http3: false,
        probe_timeout: ms(2000),
        routes: vec![
            RouteProbe {
                family: AddressFamily::V6,
                probe: "[2001:db8::53]:53".parse().unwrap(),
                result: Ok(V6B),
            },
            RouteProbe {
                family: AddressFamily::V4,
                probe: "192.0.2.53:53".parse().unwrap(),
                result: Ok(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9))),
            },
        ],
        dns: DnsEvidence {
            source: Source::Dns {
                servers: vec!["127.0.0.1:53".parse().unwrap()],
            },
            aaaa: Some(answered(ms(3), &[V6])),
            a: Some(answered(ms(3), &[V4])),
            https: None,
            system: None,
            dns64: Some(failed(ms(1), LookupFailureKind::NxDomain)),
        },
        addresses: vec![connected(V6, ms(1)), connected(V4, ms(1))],
        skipped: Vec::new(),
        quic: QuicEvidence::NotHttps,
        race: RaceOutcome {
            result: Ok((at(V6), ms(1))),
            quic: false,
        },
    }
}

/// The same host over https, every handshake good.
fn healthy_https() -> Evidence {
    let mut e = healthy();
    e.https = true;
    e.quic = QuicEvidence::NotAdvertised;
    for p in &mut e.addresses {
        p.tls = Some(tls_done());
    }
    e.dns.https = Some(Query {
        elapsed: ms(3),
        ttl: None,
        answer: Answer::Services(vec![Service {
            priority: 1,
            target: None,
            alpn: vec!["h2".to_owned()],
            port: None,
            ech: false,
        }]),
    });
    e
}

/// The first finding's severity, layer and family, and the verdict and code.
fn first(d: &Diagnosis) -> (Severity, Layer, Option<AddressFamily>) {
    let f = d.findings.first().expect("at least one finding");
    (f.severity, f.layer, f.family)
}

fn messages(d: &Diagnosis) -> String {
    d.findings
        .iter()
        .map(|f| f.message.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_healthy_dual_stack_host_has_one_finding_and_exit_0() {
    for e in [healthy(), healthy_https()] {
        let d = diagnose(&e);
        assert_eq!(d.verdict, Verdict::Healthy);
        assert_eq!(d.code, exit::OK);
        assert_eq!(d.findings.len(), 1, "{d:#?}");
        assert_eq!(first(&d), (Severity::Info, Layer::Race, None));
        assert_eq!(
            d.findings[0].message,
            "Healthy: IPv6 and IPv4 both connect; IPv6 wins in 1ms."
        );
    }
}

#[test]
fn ipv6_timing_out_is_a_connect_warning_that_names_the_fallback() {
    let mut e = healthy();
    e.dns.aaaa = Some(answered(ms(3), &[V6, V6B]));
    e.addresses = vec![
        probe(V6, Connect::TimedOut(ms(2000))),
        probe(V6B, Connect::TimedOut(ms(2000))),
        connected(V4, Duration::from_micros(400)),
    ];
    e.race.result = Ok((at(V4), ms(251)));
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Degraded);
    assert_eq!(d.code, exit::DEGRADED);
    assert_eq!(
        first(&d),
        (Severity::Warning, Layer::Connect, Some(AddressFamily::V6))
    );
    assert_eq!(
        d.findings[0].message,
        "IPv6 is broken for this host: AAAA answers in 3ms but both IPv6 addresses time out \
         (no answer within 2s); IPv4 connects in 0.4ms. Every new connection pays the 250ms \
         fallback (clients without Happy Eyeballs wait for their connect timeout)."
    );
    assert_eq!(d.findings.len(), 1, "{d:#?}");
}

#[test]
fn ipv6_refused_costs_a_round_trip_not_the_stagger() {
    let mut e = healthy();
    e.addresses[0].connect = Connect::Refused(Duration::from_micros(100));
    e.race.result = Ok((at(V4), ms(1)));
    let d = diagnose(&e);
    assert_eq!(
        first(&d),
        (Severity::Warning, Layer::Connect, Some(AddressFamily::V6))
    );
    let m = &d.findings[0].message;
    assert!(m.contains("the IPv6 address refuses connections"), "{m}");
    assert!(m.contains("one round trip more"), "{m}");
    assert!(!m.contains("250ms"), "{m}");
}

#[test]
fn ipv4_broken_when_ipv6_is_preferred_costs_ipv4_only_clients() {
    let mut e = healthy();
    e.addresses[1].connect = Connect::TimedOut(ms(2000));
    let d = diagnose(&e);
    assert_eq!(
        first(&d),
        (Severity::Warning, Layer::Connect, Some(AddressFamily::V4))
    );
    assert!(
        d.findings[0]
            .message
            .contains("Clients that reach this host over IPv4 only cannot connect"),
        "{}",
        d.findings[0].message
    );
    // With IPv4 preferred, the same failure costs the stagger.
    e.preferred = AddressFamily::V4;
    let d = diagnose(&e);
    assert!(d.findings[0].message.contains("pays the 250ms fallback"));
}

#[test]
fn one_of_two_addresses_failing_is_named_with_its_address() {
    let mut e = healthy();
    e.addresses.insert(
        1,
        probe(
            V6B,
            Connect::Failed {
                elapsed: ms(1),
                error: "Network is unreachable (os error 101)".to_owned(),
            },
        ),
    );
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Degraded);
    assert_eq!(
        first(&d),
        (Severity::Warning, Layer::Connect, Some(AddressFamily::V6))
    );
    assert_eq!(
        d.findings[0].message,
        "1 of 2 IPv6 addresses does not connect ([2001:db8::2]:443 fails (Network is \
         unreachable (os error 101))): connections that try it first wait for the next attempt."
    );
}

#[test]
fn nothing_connecting_is_unreachable_exit_7() {
    let mut e = healthy();
    e.addresses = vec![
        probe(V6, Connect::TimedOut(ms(2000))),
        probe(V4, Connect::Refused(ms(1))),
    ];
    e.race.result = Err("every attempt failed".to_owned());
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Unreachable);
    assert_eq!(d.code, exit::CONNECT);
    assert_eq!(first(&d), (Severity::Error, Layer::Connect, None));
    assert_eq!(
        d.findings[0].message,
        "Unreachable: no address of dual.test connects (IPv6: times out (no answer within \
         2s); IPv4: refuses connections)."
    );
}

#[test]
fn aaaa_lost_names_getaddrinfos_wait_and_the_resolution_delay() {
    let mut e = healthy();
    e.dns.aaaa = Some(lost());
    e.addresses.remove(0);
    e.race.result = Ok((at(V4), ms(52)));
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Degraded);
    assert_eq!(
        first(&d),
        (Severity::Warning, Layer::Dns, Some(AddressFamily::V6))
    );
    let m = &d.findings[0].message;
    assert!(
        m.starts_with("The AAAA query gets no answer within 2s while A answers in 3ms"),
        "{m}"
    );
    assert!(m.contains("after its 50ms resolution delay"), "{m}");
    // The resolver's own timeout reads the same way.
    e.dns.aaaa = Some(failed(ms(1500), LookupFailureKind::TimedOut));
    let d = diagnose(&e);
    assert!(
        d.findings[0]
            .message
            .contains("gets no answer (the resolver gave up after 1.5s)")
    );
}

#[test]
fn a_lost_is_an_ipv4_dns_warning() {
    let mut e = healthy();
    e.dns.a = Some(lost());
    e.addresses.remove(1);
    let d = diagnose(&e);
    assert_eq!(
        first(&d),
        (Severity::Warning, Layer::Dns, Some(AddressFamily::V4))
    );
    assert!(
        d.findings[0]
            .message
            .contains("no IPv4 address to fall back to")
    );
}

#[test]
fn aaaa_slow_names_both_times() {
    let mut e = healthy();
    e.dns.aaaa = Some(answered(ms(1200), &[V6]));
    let d = diagnose(&e);
    assert_eq!(
        first(&d),
        (Severity::Warning, Layer::Dns, Some(AddressFamily::V6))
    );
    assert_eq!(
        d.findings[0].message,
        "AAAA answers take 1.2s while A takes 3ms: getaddrinfo clients wait 1.2s; turbohttp \
         waits the 50ms resolution delay."
    );
    // Slower, but within 100ms: no finding.
    e.dns.aaaa = Some(answered(ms(90), &[V6]));
    assert_eq!(diagnose(&e).verdict, Verdict::Healthy);
}

#[test]
fn aaaa_servfail_and_nodata() {
    let mut e = healthy();
    e.addresses.remove(0);
    e.race.result = Ok((at(V4), ms(1)));
    e.dns.aaaa = Some(failed(ms(2), LookupFailureKind::ServFail));
    let d = diagnose(&e);
    assert_eq!(
        first(&d),
        (Severity::Warning, Layer::Dns, Some(AddressFamily::V6))
    );
    assert!(d.findings[0].message.contains("fails in 2ms (SERVFAIL)"));
    // NODATA is a fact, not an alarm: an IPv4-only host is healthy.
    e.dns.aaaa = Some(failed(ms(2), LookupFailureKind::NoData));
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Healthy, "{d:#?}");
    assert_eq!(
        d.findings[0].message,
        "Healthy: IPv4 connects; IPv4 wins in 1ms."
    );
    assert!(messages(&d).contains("has no IPv6 address (the AAAA query answers NODATA)"));
}

#[test]
fn nxdomain_is_a_dns_error_exit_6_and_nothing_else() {
    let mut e = healthy();
    e.dns.aaaa = Some(failed(ms(2), LookupFailureKind::NxDomain));
    e.dns.a = Some(failed(ms(2), LookupFailureKind::NxDomain));
    e.addresses.clear();
    e.race.result = Err("no such name".to_owned());
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Unreachable);
    assert_eq!(d.code, exit::RESOLVE);
    assert_eq!(d.findings.len(), 1, "{d:#?}");
    assert_eq!(first(&d), (Severity::Error, Layer::Dns, None));
    assert_eq!(
        d.findings[0].message,
        "dual.test does not exist: the DNS server answers NXDOMAIN (AAAA fails in 2ms \
         (NXDOMAIN), A fails in 2ms (NXDOMAIN))."
    );
    // Both lost: no address, and not "does not exist".
    e.dns.aaaa = Some(lost());
    e.dns.a = Some(lost());
    let d = diagnose(&e);
    assert_eq!(d.code, exit::RESOLVE);
    assert!(
        d.findings[0]
            .message
            .starts_with("dual.test has no address: ")
    );
}

#[test]
fn no_ipv6_route_comes_first_and_says_what_still_works() {
    let mut e = healthy();
    e.routes[0].result = Err("Network is unreachable (os error 101)".to_owned());
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Degraded);
    assert_eq!(
        first(&d),
        (Severity::Warning, Layer::Route, Some(AddressFamily::V6))
    );
    let m = &d.findings[0].message;
    assert!(
        m.starts_with(
            "No IPv6 route on this machine: connect() of a UDP socket towards \
             [2001:db8::53]:53 fails (Network is unreachable (os error 101))"
        ),
        "{m}"
    );
    assert!(m.contains("still connect"), "{m}");
    // With the IPv6 address failing too, the route comes before the connect.
    e.addresses[0].connect = Connect::Failed {
        elapsed: ms(0),
        error: "Network is unreachable (os error 101)".to_owned(),
    };
    let d = diagnose(&e);
    assert_eq!(first(&d).1, Layer::Route);
    assert_eq!(d.findings[1].layer, Layer::Connect);
    assert!(
        d.findings[0]
            .message
            .contains("cannot be reached from here")
    );
    // A host without IPv6 makes it a note only.
    let mut e = healthy();
    e.routes[0].result = Err("Network is unreachable (os error 101)".to_owned());
    e.dns.aaaa = Some(failed(ms(2), LookupFailureKind::NoData));
    e.addresses.remove(0);
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Healthy);
    assert!(messages(&d).contains("this host has no IPv6 address anyway"));
}

#[test]
fn a_certificate_failing_on_ipv6_only_is_a_tls_warning() {
    let mut e = healthy_https();
    e.addresses[0].tls = Some(Tls::CertificateRejected {
        elapsed: ms(2),
        reason: "the server's certificate is not valid for dual.test".to_owned(),
    });
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Degraded);
    assert_eq!(
        first(&d),
        (Severity::Warning, Layer::Tls, Some(AddressFamily::V6))
    );
    assert_eq!(
        d.findings[0].message,
        "The certificate served over IPv6 fails verification while over IPv4 it verifies: \
         the server's certificate is not valid for dual.test ([2001:db8::1]:443). Clients \
         whose connection goes over IPv6 get a certificate error."
    );
    // Everywhere: unreachable, exit 35.
    e.addresses[1].tls = e.addresses[0].tls.clone();
    e.race.result = Err("certificate".to_owned());
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Unreachable);
    assert_eq!(d.code, exit::TLS);
    assert_eq!(first(&d), (Severity::Error, Layer::Tls, None));
    assert!(
        d.findings[0]
            .message
            .starts_with("The certificate fails verification on every address")
    );
}

#[test]
fn a_tls_timeout_on_ipv4_only_is_named() {
    let mut e = healthy_https();
    e.addresses[1].tls = Some(Tls::TimedOut(ms(1990)));
    let d = diagnose(&e);
    assert_eq!(
        first(&d),
        (Severity::Warning, Layer::Tls, Some(AddressFamily::V4))
    );
    assert!(
        d.findings[0]
            .message
            .contains("the handshake does not finish within 1.99s")
    );
}

/// `healthy_https` with `h3` in its HTTPS record and each address's QUIC handshake
/// ending as `outcomes` says (IPv6 first).
fn with_quic(outcomes: [Quic; 2]) -> Evidence {
    let mut e = healthy_https();
    if let Some(Query {
        answer: Answer::Services(s),
        ..
    }) = &mut e.dns.https
    {
        s[0].alpn.insert(0, "h3".to_owned());
    }
    let probes = e
        .addresses
        .iter()
        .zip(outcomes)
        .map(|(p, outcome)| QuicProbe {
            addr: p.addr,
            outcome,
        })
        .collect();
    e.quic = QuicEvidence::Probed {
        port: PORT,
        advertised: true,
        ech: false,
        probes,
    };
    e
}

fn quic_done(n: u64) -> Quic {
    Quic::Done {
        elapsed: ms(n),
        alpn: Some("h3".to_owned()),
    }
}

fn quic_rejected() -> Quic {
    Quic::CertificateRejected {
        elapsed: ms(2),
        reason: "the server's certificate is not valid for dual.test".to_owned(),
    }
}

#[test]
fn no_h3_and_no_http3_says_nothing_of_quic() {
    let d = diagnose(&healthy_https());
    assert_eq!(d.verdict, Verdict::Healthy);
    assert!(d.findings.iter().all(|f| f.layer != Layer::Quic), "{d:#?}");
}

#[test]
fn healthy_quic_is_a_note_with_the_handshake_times() {
    let mut e = with_quic([quic_done(3), quic_done(2)]);
    e.race.quic = true;
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Healthy);
    assert_eq!(d.code, exit::OK);
    assert_eq!(
        d.findings[0].message,
        "Healthy: IPv6 and IPv4 both connect; IPv6 wins over QUIC in 1ms."
    );
    assert_eq!(d.findings.len(), 2, "{d:#?}");
    let quic = &d.findings[1];
    assert_eq!(
        (quic.severity, quic.layer, quic.family),
        (Severity::Info, Layer::Quic, None)
    );
    assert_eq!(
        quic.message,
        "QUIC works on UDP port 443: the handshake (TLS 1.3, ALPN h3) completes in 3ms over \
         IPv6 and 2ms over IPv4."
    );
    // A record with ECH: turbohttp keeps to TCP, and says so.
    if let QuicEvidence::Probed { ech, .. } = &mut e.quic {
        *ech = true;
    }
    let d = diagnose(&e);
    assert!(
        messages(&d).contains("turbohttp does not use it: the HTTPS record carries ECH"),
        "{d:#?}"
    );
}

#[test]
fn quic_without_an_answer_where_h3_is_advertised_is_a_warning_naming_the_cost() {
    let e = with_quic([Quic::TimedOut(ms(2000)), Quic::TimedOut(ms(2000))]);
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Degraded);
    assert_eq!(d.code, exit::DEGRADED);
    assert_eq!(first(&d), (Severity::Warning, Layer::Quic, None));
    assert_eq!(
        d.findings[0].message,
        "UDP to port 443 looks blocked: the QUIC handshake gets no answer within 2s from any \
         address while TCP and TLS work. The origin advertises h3: HTTP/3 will cost one \
         attempt delay (125ms) on each first connect (turbohttp starts TCP that long after \
         QUIC), then be skipped for 5 minutes."
    );
    assert_eq!(d.findings.len(), 1, "{d:#?}");
}

#[test]
fn quic_without_an_answer_over_one_family_is_that_familys_warning() {
    let e = with_quic([Quic::TimedOut(ms(2000)), quic_done(2)]);
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Degraded);
    assert_eq!(
        first(&d),
        (Severity::Warning, Layer::Quic, Some(AddressFamily::V6))
    );
    assert_eq!(
        d.findings[0].message,
        "UDP to port 443 looks blocked over IPv6: the QUIC handshake gets no answer within 2s \
         from the IPv6 address (over IPv4 it answers) while TCP and TLS work. The origin \
         advertises h3: HTTP/3 will cost one attempt delay (125ms) on each first connect \
         (turbohttp starts TCP that long after QUIC), then be skipped for 5 minutes."
    );
    // No "QUIC works" note beside a broken family.
    assert_eq!(d.findings.len(), 1, "{d:#?}");
}

#[test]
fn quic_without_an_answer_where_tcp_fails_too_is_only_a_note() {
    let mut e = with_quic([Quic::TimedOut(ms(2000)), quic_done(2)]);
    e.addresses[0].connect = Connect::TimedOut(ms(2000));
    e.addresses[0].tls = None;
    e.race.result = Ok((at(V4), ms(251)));
    let d = diagnose(&e);
    assert_eq!(
        first(&d),
        (Severity::Warning, Layer::Connect, Some(AddressFamily::V6))
    );
    let quic = d
        .findings
        .iter()
        .find(|f| f.layer == Layer::Quic)
        .expect("a QUIC finding");
    assert_eq!(
        (quic.severity, quic.family),
        (Severity::Info, Some(AddressFamily::V6))
    );
    assert!(
        quic.message
            .starts_with("QUIC gets no answer over IPv6 either: the IPv6 address on UDP port 443"),
        "{}",
        quic.message
    );
}

#[test]
fn quic_asked_with_http3_but_unadvertised_is_a_note_not_an_alarm() {
    let mut e = with_quic([Quic::TimedOut(ms(2000)), Quic::TimedOut(ms(2000))]);
    e.http3 = true;
    e.dns.https = None;
    if let QuicEvidence::Probed { advertised, .. } = &mut e.quic {
        *advertised = false;
    }
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Healthy, "{d:#?}");
    assert_eq!(d.code, exit::OK);
    let quic = &d.findings[1];
    assert_eq!(
        (quic.severity, quic.layer, quic.family),
        (Severity::Info, Layer::Quic, None)
    );
    assert!(
        quic.message.starts_with(
            "QUIC gets no answer on UDP port 443: the handshake gets no answer within 2s from \
             any address while TCP and TLS work (UDP blocked, or no QUIC server there). The \
             origin advertises no h3, so only clients that ask for HTTP/3 (--http3) pay"
        ),
        "{}",
        quic.message
    );
}

#[test]
fn a_quic_certificate_failing_everywhere_is_an_error_as_over_tls() {
    let e = with_quic([quic_rejected(), quic_rejected()]);
    let d = diagnose(&e);
    // TCP still works: reachable, but broken.
    assert_eq!(d.verdict, Verdict::Degraded);
    assert_eq!(d.code, exit::DEGRADED);
    assert_eq!(first(&d), (Severity::Error, Layer::Quic, None));
    assert_eq!(
        d.findings[0].message,
        "The certificate served over QUIC fails verification on every address while over TCP \
         it verifies: the server's certificate is not valid for dual.test ([2001:db8::1]:443). \
         Clients that try HTTP/3 get a certificate error (turbohttp's race ends at it, as over \
         TCP)."
    );
}

#[test]
fn a_quic_certificate_failing_on_ipv6_only_is_a_warning_for_ipv6() {
    let e = with_quic([quic_rejected(), quic_done(2)]);
    let d = diagnose(&e);
    assert_eq!(
        first(&d),
        (Severity::Warning, Layer::Quic, Some(AddressFamily::V6))
    );
    assert_eq!(
        d.findings[0].message,
        "The certificate QUIC serves over IPv6 fails verification while over IPv4 it \
         verifies: the server's certificate is not valid for dual.test ([2001:db8::1]:443). \
         Clients whose HTTP/3 goes over IPv6 get a certificate error."
    );
}

#[test]
fn quic_refused_where_advertised_is_a_warning_that_tcp_goes_at_once() {
    let refused = || Quic::Refused {
        elapsed: ms(1),
        reason: "the server refused the QUIC connection (CONNECTION_REFUSED)".to_owned(),
    };
    let e = with_quic([refused(), refused()]);
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Degraded);
    assert_eq!(
        first(&d),
        (Severity::Warning, Layer::Quic, Some(AddressFamily::V6))
    );
    assert_eq!(
        d.findings[0].message,
        "The QUIC server on UDP port 443 refuses connections over IPv6: the server refused \
         the QUIC connection (CONNECTION_REFUSED) ([2001:db8::1]:443). Clients fall back to \
         TCP at once; HTTP/3 is not used."
    );
}

#[test]
fn tcp_broken_everywhere_while_quic_won_the_race_names_quic() {
    let mut e = with_quic([quic_done(2), quic_done(2)]);
    for p in &mut e.addresses {
        p.connect = Connect::Refused(ms(1));
        p.tls = None;
    }
    e.race = RaceOutcome {
        result: Ok((at(V6), ms(3))),
        quic: true,
    };
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Degraded);
    assert_eq!(first(&d), (Severity::Warning, Layer::Connect, None));
    assert!(
        d.findings[0].message.ends_with(
            "but the race connected to [2001:db8::1]:443 over QUIC in 3ms: clients without \
             HTTP/3 cannot connect."
        ),
        "{}",
        d.findings[0].message
    );
}

#[test]
fn a_failing_https_query_is_a_dns_warning_nodata_is_not() {
    let mut e = healthy_https();
    e.dns.https = Some(failed(ms(4), LookupFailureKind::ServFail));
    let d = diagnose(&e);
    assert_eq!(first(&d), (Severity::Warning, Layer::Dns, None));
    assert!(
        d.findings[0]
            .message
            .starts_with("The HTTPS query fails in 4ms (SERVFAIL)")
    );
    e.dns.https = Some(failed(ms(4), LookupFailureKind::NoData));
    assert_eq!(diagnose(&e).verdict, Verdict::Healthy);
}

#[test]
fn dns64_reports_the_prefix_and_synthesized_addresses() {
    let mut e = healthy();
    let synthesized: IpAddr = "64:ff9b::c000:aa".parse().unwrap();
    e.dns.dns64 = Some(answered(ms(2), &[synthesized]));
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Healthy);
    let nat64 = d
        .findings
        .iter()
        .find(|f| f.message.starts_with("NAT64"))
        .expect("a NAT64 finding");
    assert_eq!(nat64.family, Some(AddressFamily::V6));
    assert!(
        nat64.message.contains("(prefix 64:ff9b::/96)"),
        "{}",
        nat64.message
    );
    assert!(!nat64.message.contains("synthesized, and"));
    // The host's own AAAA in that prefix: said.
    let own: IpAddr = "64:ff9b::c000:201".parse().unwrap();
    e.dns.aaaa = Some(answered(ms(3), &[own]));
    e.addresses[0].addr = at(own);
    let d = diagnose(&e);
    assert!(messages(&d).contains("This host's IPv6 addresses are in that prefix"));
}

#[test]
fn nat64_prefix_reads_only_the_well_known_ipv4_suffixes() {
    let p = |s: &str| nat64_prefix(&s.parse().unwrap()).map(|p| p.to_string());
    assert_eq!(p("64:ff9b::c000:aa").as_deref(), Some("64:ff9b::"));
    assert_eq!(p("2001:db8:1::c000:ab").as_deref(), Some("2001:db8:1::"));
    assert_eq!(p("64:ff9b::c000:ac"), None);
    assert_eq!(p("2001:db8::1"), None);
}

#[test]
fn getaddrinfo_differences_are_named() {
    let mut e = healthy();
    let hosts: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7));
    e.dns.system = Some(answered(ms(1), &[V6, V4, hosts]));
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Healthy);
    assert!(
        messages(&d).contains("getaddrinfo answers 10.0.0.7, which the DNS servers do not"),
        "{d:#?}"
    );
    // No IPv6 from getaddrinfo while AAAA answers.
    e.dns.system = Some(answered(ms(1), &[V4]));
    let d = diagnose(&e);
    assert_eq!(
        first(&d),
        (Severity::Warning, Layer::Dns, Some(AddressFamily::V6))
    );
    assert!(
        d.findings[0]
            .message
            .starts_with("getaddrinfo gives no IPv6 address")
    );
    // getaddrinfo failing.
    e.dns.system = Some(failed(ms(1), LookupFailureKind::Other));
    let d = diagnose(&e);
    assert_eq!(first(&d), (Severity::Warning, Layer::Dns, None));
    assert!(d.findings[0].message.contains("cannot resolve dual.test"));
}

#[test]
fn only_the_family_asked_for_is_judged() {
    let mut e = healthy();
    e.family = Some(AddressFamily::V4);
    e.routes.remove(0);
    e.dns.aaaa = None;
    e.addresses.remove(0);
    e.race.result = Ok((at(V4), ms(1)));
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Healthy);
    assert_eq!(
        d.findings[0].message,
        "Healthy: IPv4 connects; IPv4 wins in 1ms."
    );
}

#[test]
fn the_race_failing_beside_a_working_address_is_named() {
    let mut e = healthy();
    e.race.result = Err("the connect timeout ran out".to_owned());
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Degraded);
    assert_eq!(first(&d), (Severity::Warning, Layer::Race, None));
    assert!(
        d.findings[0]
            .message
            .contains("[2001:db8::1]:443 works on its own")
    );
}

#[test]
fn findings_are_ordered_worst_first_then_by_layer() {
    let mut e = healthy_https();
    e.dns.aaaa = Some(answered(ms(1200), &[V6]));
    e.addresses[0].connect = Connect::TimedOut(ms(2000));
    e.addresses[0].tls = None;
    e.routes[0].result = Err("unreachable".to_owned());
    if let Some(Query {
        answer: Answer::Services(s),
        ..
    }) = &mut e.dns.https
    {
        s[0].alpn.push("h3".to_owned());
    }
    // QUIC completes on the IPv4 address: a note.
    e.quic = QuicEvidence::Probed {
        port: PORT,
        advertised: true,
        ech: false,
        probes: vec![QuicProbe {
            addr: at(V4),
            outcome: Quic::Done {
                elapsed: ms(2),
                alpn: Some("h3".to_owned()),
            },
        }],
    };
    let d = diagnose(&e);
    let order: Vec<_> = d.findings.iter().map(|f| (f.severity, f.layer)).collect();
    assert_eq!(
        order,
        [
            (Severity::Warning, Layer::Route),
            (Severity::Warning, Layer::Dns),
            (Severity::Warning, Layer::Connect),
            (Severity::Info, Layer::Quic),
        ]
    );
}

#[test]
fn probes_timing_out_beside_a_race_that_connected_is_slow_not_unreachable() {
    let mut e = healthy();
    e.addresses = vec![
        probe(V6, Connect::TimedOut(ms(2000))),
        probe(V4, Connect::TimedOut(ms(2000))),
    ];
    e.race.result = Ok((at(V4), ms(2600)));
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Degraded);
    assert_eq!(d.code, exit::DEGRADED);
    assert_eq!(first(&d), (Severity::Warning, Layer::Connect, None));
    assert!(
        d.findings[0]
            .message
            .ends_with("but the race connected to 192.0.2.1:443 in 2.6s: connects are slow."),
        "{}",
        d.findings[0].message
    );
}

#[test]
fn getaddrinfo_alone_failing_is_a_dns_error() {
    let mut e = healthy();
    e.dns = DnsEvidence {
        source: Source::System,
        aaaa: None,
        a: None,
        https: None,
        system: Some(failed(ms(30), LookupFailureKind::Other)),
        dns64: None,
    };
    e.addresses.clear();
    e.race.result = Err("failed to lookup address information".to_owned());
    let d = diagnose(&e);
    assert_eq!(d.code, exit::RESOLVE);
    assert_eq!(first(&d), (Severity::Error, Layer::Dns, None));
    assert_eq!(
        d.findings[0].message,
        "dual.test cannot be resolved: getaddrinfo fails in 30ms (error)."
    );
}

#[test]
fn no_time_left_to_probe_is_out_of_time_exit_28() {
    let mut e = healthy();
    e.dns.aaaa = Some(Query {
        elapsed: ms(600),
        ttl: None,
        answer: Answer::TimedOut,
    });
    e.skipped = vec![at(V4)];
    e.addresses.clear();
    e.race.result = Err("the connect timeout ran out".to_owned());
    let d = diagnose(&e);
    assert_eq!(d.verdict, Verdict::Unreachable);
    assert_eq!(d.code, exit::TIMEOUT);
    assert_eq!(first(&d), (Severity::Error, Layer::Race, None));
    assert!(d.findings[0].message.starts_with("Out of time: "));
    // The lost AAAA is still named, with the time it was given.
    assert!(
        messages(&d).contains("The AAAA query gets no answer within 600ms while A answers"),
        "{d:#?}"
    );
}
