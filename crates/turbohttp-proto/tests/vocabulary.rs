//! The small types the race speaks in: address families, DNS query types and
//! failures, and the error a dialer reports for one attempt.

use std::error::Error as _;
use std::io;
use std::net::{IpAddr, SocketAddr};

use turbohttp_proto::dns::{LookupFailure, LookupFailureKind, QueryType};
use turbohttp_proto::{AddressFamily, AttemptError, AttemptPhase};

#[test]
fn families_of_addresses() {
    let v4: SocketAddr = "192.0.2.1:80".parse().unwrap();
    let v6: SocketAddr = "[2001:db8::1]:80".parse().unwrap();
    assert_eq!(AddressFamily::of(&v4), AddressFamily::V4);
    assert_eq!(AddressFamily::of(&v6), AddressFamily::V6);
    let ip: IpAddr = "2001:db8::1".parse().unwrap();
    assert_eq!(AddressFamily::of_ip(&ip), AddressFamily::V6);
    assert_eq!(AddressFamily::V4.other(), AddressFamily::V6);
    assert_eq!(AddressFamily::V6.other(), AddressFamily::V4);
}

#[test]
fn families_have_a_json_spelling_and_a_display() {
    assert_eq!(AddressFamily::V4.as_str(), "ipv4");
    assert_eq!(AddressFamily::V6.as_str(), "ipv6");
    assert_eq!(AddressFamily::V4.to_string(), "IPv4");
    assert_eq!(AddressFamily::V6.to_string(), "IPv6");
}

#[test]
fn query_types_have_their_names() {
    for (kind, text) in [
        (QueryType::Aaaa, "AAAA"),
        (QueryType::A, "A"),
        (QueryType::AddrInfo, "lookup"),
        (QueryType::Https, "HTTPS"),
    ] {
        assert_eq!(kind.as_str(), text);
        assert_eq!(kind.to_string(), text);
    }
}

#[test]
fn lookup_failures_have_a_json_spelling_and_the_resolver_words() {
    use LookupFailureKind::*;
    let all = [
        (NxDomain, "nxdomain"),
        (NoData, "nodata"),
        (ServFail, "servfail"),
        (Refused, "refused"),
        (TimedOut, "timed_out"),
        (BadAnswer, "bad_answer"),
        (Other, "error"),
    ];
    for (kind, text) in all {
        assert_eq!(kind.as_str(), text);
    }
    let failure = LookupFailure::new(NoData, "no record of this type");
    assert_eq!(failure.kind, NoData);
    assert_eq!(failure.message, "no record of this type");
    assert_eq!(failure.to_string(), "no record of this type");
}

#[test]
fn an_attempt_error_says_where_it_failed_and_whether_it_ends_the_race() {
    let refused = || io::Error::from(io::ErrorKind::ConnectionRefused);
    let connect = AttemptError::connect(refused());
    assert_eq!(connect.phase(), AttemptPhase::Connect);
    assert!(!connect.is_terminal());
    assert_eq!(connect.to_string(), "connect failed: connection refused");

    let setup = AttemptError::setup(io::Error::other("reset during the handshake"));
    assert_eq!(setup.phase(), AttemptPhase::Setup);
    assert!(!setup.is_terminal());
    assert_eq!(
        setup.to_string(),
        "setup failed: reset during the handshake"
    );

    let terminal = AttemptError::terminal(io::Error::new(io::ErrorKind::InvalidData, "bad cert"));
    assert_eq!(terminal.phase(), AttemptPhase::Setup);
    assert!(terminal.is_terminal());
    assert_eq!(terminal.io_error().kind(), io::ErrorKind::InvalidData);
    // The message holds the IO error's; no source() repeats it.
    assert!(terminal.to_string().ends_with("bad cert"));
    assert!(terminal.source().is_none());
    assert_eq!(terminal.into_io_error().to_string(), "bad cert");

    // Refused on this host (an interface that cannot be bound): terminal, in the
    // connect phase, since no peer was reached.
    let local = AttemptError::local(io::Error::new(io::ErrorKind::NotFound, "no such device"));
    assert_eq!(local.phase(), AttemptPhase::Connect);
    assert!(local.is_terminal());
    assert_eq!(local.to_string(), "connect failed: no such device");

    assert_eq!(AttemptPhase::Connect.to_string(), "connect");
    assert_eq!(AttemptPhase::Setup.to_string(), "setup");
}
