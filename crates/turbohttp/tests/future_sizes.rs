//! The size of a connect's future is memory every spawned connect holds for its whole
//! life (issue 21: 10,000 connects at once). These budgets fail when a future grows;
//! lower them when it shrinks. Sizes at writing (x86_64, rustc 1.95, test profile; the
//! release sizes are a little smaller): 2,560 (connect), 1,880 (a static table),
//! 3,168 (the transport), 776 and 224 bytes; the budgets leave about 10 % for another
//! compiler's layout. A spawned connect's task is 128-byte aligned: 16 bytes more can
//! cost it 128.

use std::mem::size_of_val;

use turbohttp::{
    ConnectParams, DefaultResolver, Dialer, DnsResolver, HappyEyeballs, HappyEyeballsOptions,
    NoResolver, Offer, QueryType, RawSocketTransport, Resolver, Scheme, StaticResolver, TcpDialer,
    TransportOptions,
};

/// `size <= budget`, with both in the message.
fn within(what: &str, size: usize, budget: usize) {
    assert!(
        size <= budget,
        "{what}: {size} bytes, over its budget of {budget}"
    );
}

#[test]
#[cfg(target_pointer_width = "64")]
fn connect_futures_stay_within_their_budgets() {
    let connector = HappyEyeballs::default();
    within(
        "HappyEyeballs::connect (DNS or getaddrinfo, TCP)",
        size_of_val(&connector.connect("a.test", 80)),
        2_820,
    );
    within(
        "HappyEyeballs::connect_with",
        size_of_val(&connector.connect_with("a.test", 80, ConnectParams::default())),
        2_820,
    );
    let pinned = HappyEyeballs::from_parts(
        HappyEyeballsOptions::default(),
        StaticResolver::with_fallback(NoResolver),
        TcpDialer::default(),
    );
    within(
        "HappyEyeballs::connect (a static table, TCP)",
        size_of_val(&pinned.connect("a.test", 80)),
        2_070,
    );
    let transport = RawSocketTransport::new(TransportOptions::default()).expect("options");
    within(
        "RawSocketTransport::connect (TCP and TLS)",
        size_of_val(&transport.connect("a.test", 80, Scheme::Https)),
        // 3,312: ConnectParams carries the Alt-Svc alternatives (+4) and the timer
        // keeps its precise slot from arming (+8); 3,300 before both.
        3_320,
    );
}

/// The pieces a race holds inline: a query's future and an attempt's.
#[test]
#[cfg(target_pointer_width = "64")]
fn query_and_attempt_futures_stay_small() {
    let dns = DefaultResolver::dns(DnsResolver::with_servers(&["127.0.0.1:53"
        .parse()
        .unwrap()]));
    // One query, not two joined: the combined lookup is boxed, as it is rare.
    within(
        "DefaultResolver::lookup",
        size_of_val(&Resolver::lookup(&dns, "a.test", 80, QueryType::A)),
        880,
    );
    let transport = RawSocketTransport::new(TransportOptions::default()).expect("options");
    let dialer = transport.dialer("a.test", Scheme::Https).expect("a name");
    // A TLS handshake's state is boxed when one runs: a plain attempt carries no room for it.
    within(
        "RawSocketDialer::dial",
        size_of_val(&dialer.dial("127.0.0.1:1".parse().unwrap())),
        240,
    );
    // What the race runs: the attempt offering an HTTPS record's protocols.
    within(
        "RawSocketDialer::dial_offering",
        size_of_val(&dialer.dial_offering("127.0.0.1:1".parse().unwrap(), Offer::default())),
        240,
    );
}
