//! The transport as the inner connector of hyper-util's proxy connectors, `Tunnel`
//! (HTTP CONNECT) and `SocksV5`, on loopback: the race chooses among the PROXY's
//! addresses; the origin's name goes to the proxy unresolved, and the proxy resolves
//! it (unless `SocksV5::local_dns`, which resolves with the standard library, not
//! with the race). The transport's `ConnectionInfo` survives both wrappers: they
//! return the inner connection itself, whose `Connection::connected` hyper-util's
//! client reads. For `https` origins, `TlsThroughProxy` adds TLS to the origin on top.

mod support;

use std::error::Error as StdError;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};
use support::{proxy_lab, tls_lab};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{Uri, Version};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::proxy::{SocksV5, Tunnel};
use hyper_util::rt::TokioExecutor;
use turbohttp::{
    ALPN_H2, ALPN_HTTP_1_1, ConnectionInfo, RawSocketTransport, TlsThroughProxy, TransportOptions,
};
use turbohttp::{AttemptOutcome, Resolver};
use turbohttp::{ConnectError, ConnectErrorKind};

use proxy_lab::{Policy, ProxyLab, SocksTarget};
use tls_lab::*;

/// The proxy's name, pinned to loopback addresses by the transport's resolver.
const PROXY: &str = "proxy.test";
/// The port of the proxy's URI; the pinned addresses carry the real ports.
const PROXY_PORT: u16 = 3128;
/// The origin's name: only the proxies' own table knows it.
const ORIGIN: &str = "origin.test";

fn proxy_uri() -> Uri {
    format!("http://{PROXY}:{PROXY_PORT}").parse().unwrap()
}

/// The transport, with `proxy.test` pinned to `addrs` and no other name resolvable.
fn transport(addrs: impl IntoIterator<Item = SocketAddr>) -> RawSocketTransport<impl Resolver> {
    transport_with(TransportOptions::default(), addrs)
}

fn transport_with(
    options: TransportOptions,
    addrs: impl IntoIterator<Item = SocketAddr>,
) -> RawSocketTransport<impl Resolver> {
    RawSocketTransport::new(options)
        .expect("valid options")
        .with_resolver(resolver(PROXY, PROXY_PORT, addrs))
}

/// Every message of an error's chain, outermost first.
fn chain(error: &(dyn StdError + 'static)) -> Vec<String> {
    std::iter::successors(Some(error), |&e| e.source())
        .map(ToString::to_string)
        .collect()
}

async fn body_of(response: hyper::Response<hyper::body::Incoming>) -> Bytes {
    response.into_body().collect().await.unwrap().to_bytes()
}

/// The race was the proxy's: its name, its two addresses, the black-holed IPv6 one
/// abandoned for the IPv4 one, which the connection is to.
fn assert_the_race_chose_the_proxy(info: &ConnectionInfo, stalled: u16, proxy: u16) {
    let report = &info.report;
    assert_eq!(report.host, PROXY, "{report:#?}");
    assert_eq!(report.port, PROXY_PORT);
    assert_eq!(report.resolved, [v6(stalled), v4(proxy)]);
    assert_eq!(report.attempts.len(), 2, "{report:#?}");
    assert_eq!(report.attempts[0].endpoint, v6(stalled));
    assert_eq!(report.attempts[0].outcome, AttemptOutcome::Cancelled);
    assert_eq!(report.attempts[1].endpoint, v4(proxy));
    assert_eq!(report.attempts[1].outcome, AttemptOutcome::Won);
    assert_eq!(info.remote_addr, v4(proxy));
}

#[test]
fn http_connect_tunnel_races_the_proxys_addresses_and_sends_the_origins_name() {
    run(async {
        let mut servers = Servers::new();
        let origin = servers.http(v4(0)).await;
        let mut lab = ProxyLab::new([(ORIGIN, IpAddr::from(V4))]);
        let proxy = lab.http_connect(v4(0), Policy::Allow).await;
        let stalled = StalledListener::new(v6(0));
        let connector = Tunnel::new(proxy_uri(), transport([v6(stalled.port), v4(proxy)]));
        let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(connector);

        let uri: Uri = format!("http://{ORIGIN}:{origin}/tunneled")
            .parse()
            .unwrap();
        let response = client.get(uri).await.expect("GET through the tunnel");

        assert_eq!(response.status(), 200);
        // The proxy got the origin's name, which only it can resolve.
        assert_eq!(
            lab.connect_requests(),
            [format!("CONNECT {ORIGIN}:{origin} HTTP/1.1")]
        );
        let info = response
            .extensions()
            .get::<ConnectionInfo>()
            .expect("Tunnel returns the transport's connection, info and all")
            .clone();
        assert_the_race_chose_the_proxy(&info, stalled.port, proxy);
        assert_eq!(body_of(response).await, "HTTP/1.1 /tunneled");
        drop(client);
        lab.shutdown().await;
        servers.shutdown().await;
    });
}

#[test]
fn socks5_races_the_proxys_addresses_and_the_proxy_resolves_the_origin() {
    run(async {
        let mut servers = Servers::new();
        let origin = servers.http(v4(0)).await;
        let mut lab = ProxyLab::new([(ORIGIN, IpAddr::from(V4))]);
        let proxy = lab.socks5(v4(0), Policy::Allow).await;
        let stalled = StalledListener::new(v6(0));
        // Remote DNS is hyper-util's default (`local_dns(false)`): the name goes as is.
        let connector = SocksV5::new(proxy_uri(), transport([v6(stalled.port), v4(proxy)]));
        let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(connector);

        let uri: Uri = format!("http://{ORIGIN}:{origin}/socks").parse().unwrap();
        let response = client.get(uri).await.expect("GET through SOCKS5");

        assert_eq!(response.status(), 200);
        assert_eq!(
            lab.socks_requests(),
            [SocksTarget::Domain(ORIGIN.to_owned(), origin)]
        );
        let info = response
            .extensions()
            .get::<ConnectionInfo>()
            .expect("SocksV5 returns the transport's connection, info and all")
            .clone();
        assert_the_race_chose_the_proxy(&info, stalled.port, proxy);
        assert_eq!(body_of(response).await, "HTTP/1.1 /socks");
        drop(client);
        lab.shutdown().await;
        servers.shutdown().await;
    });
}

/// `SocksV5::local_dns(true)` resolves the origin with the standard library's
/// `ToSocketAddrs` (getaddrinfo, on the runtime's thread, first address only): not
/// with the transport's resolver and not raced. The proxy gets that one address.
#[test]
fn socks5_local_dns_resolves_the_origin_outside_the_race() {
    run(async {
        let local = ("localhost", 0)
            .to_socket_addrs()
            .expect("localhost resolves")
            .next()
            .expect("an address")
            .ip();
        assert!(local.is_loopback(), "{local}");
        let mut servers = Servers::new();
        let origin = servers.http(SocketAddr::new(local, 0)).await;
        // The proxy knows no names: it can only be given an address.
        let mut lab = ProxyLab::new([]);
        let proxy = lab.socks5(v4(0), Policy::Allow).await;
        let connector = SocksV5::new(proxy_uri(), transport([v4(proxy)])).local_dns(true);
        let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(connector);

        let uri: Uri = format!("http://localhost:{origin}/local").parse().unwrap();
        let response = client.get(uri).await.expect("GET through SOCKS5");

        assert_eq!(
            lab.socks_requests(),
            [SocksTarget::Ip(SocketAddr::new(local, origin))]
        );
        let info = response
            .extensions()
            .get::<ConnectionInfo>()
            .expect("the connection's info")
            .clone();
        // The race still only saw the proxy.
        assert_eq!(info.report.host, PROXY);
        assert_eq!(info.report.resolved, [v4(proxy)]);
        assert_eq!(body_of(response).await, "HTTP/1.1 /local");
        drop(client);
        lab.shutdown().await;
        servers.shutdown().await;
    });
}

/// A proxy that refuses fails the request with hyper-util's error; no ConnectError is
/// in it, since the race to the proxy succeeded.
#[test]
fn refusing_proxies_fail_the_request_without_a_connect_error() {
    run(async {
        let mut lab = ProxyLab::new([(ORIGIN, IpAddr::from(V4))]);
        let connect = lab.http_connect(v4(0), Policy::Refuse).await;
        let socks = lab.socks5(v4(0), Policy::Refuse).await;

        let client = Client::builder(TokioExecutor::new())
            .build::<_, Empty<Bytes>>(Tunnel::new(proxy_uri(), transport([v4(connect)])));
        // No port in the URI: hyper-util's Tunnel asks for 443 even for http.
        let uri: Uri = format!("http://{ORIGIN}/").parse().unwrap();
        let error = client.get(uri.clone()).await.expect_err("403");
        assert_eq!(
            lab.connect_requests(),
            [format!("CONNECT {ORIGIN}:443 HTTP/1.1")]
        );
        assert_eq!(
            chain(&error),
            ["client error (Connect)", "tunnel error: unsuccessful"]
        );
        assert!(ConnectError::find_in(&error).is_none());

        let client = Client::builder(TokioExecutor::new())
            .build::<_, Empty<Bytes>>(SocksV5::new(proxy_uri(), transport([v4(socks)])));
        let error = client.get(uri).await.expect_err("not allowed");
        assert_eq!(
            lab.socks_requests(),
            [SocksTarget::Domain(ORIGIN.to_owned(), 443)]
        );
        assert_eq!(
            chain(&error),
            [
                "client error (Connect)",
                "SOCKS error: connection not allowed"
            ]
        );
        assert!(ConnectError::find_in(&error).is_none());
        lab.shutdown().await;
    });
}

/// When the race to the proxy fails, the Tunnel's error keeps the ConnectError in its
/// chain (`find_in` finds it, every attempt to the proxy in it); hyper-util's SOCKS
/// error has no `source()`, so the ConnectError is lost there and only its message
/// "failed to create underlying connection" remains.
#[test]
fn an_unreachable_proxy_is_a_connect_error_through_tunnel_but_not_through_socks() {
    run(async {
        let closed6 = closed_port(v6(0));
        let refused6 = closed6.port;
        let closed4 = closed_port(v4(0));
        let refused4 = closed4.port;
        let uri: Uri = format!("http://{ORIGIN}:80/").parse().unwrap();

        let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(Tunnel::new(
            proxy_uri(),
            transport([v6(refused6), v4(refused4)]),
        ));
        let error = client.get(uri.clone()).await.expect_err("refused");
        let messages = chain(&error);
        assert_eq!(
            messages[..2],
            [
                "client error (Connect)",
                "tunnel error: failed to create underlying connection"
            ]
        );
        let connect = ConnectError::find_in(&error).expect("the race's error");
        assert_eq!(connect.kind(), ConnectErrorKind::AllAttemptsFailed);
        assert_eq!(connect.report().host, PROXY);
        let dialed: Vec<_> = connect.attempts().iter().map(|a| a.endpoint).collect();
        assert_eq!(dialed, [v6(refused6), v4(refused4)]);
        assert_eq!(messages[2], connect.to_string());

        let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(SocksV5::new(
            proxy_uri(),
            transport([v6(refused6), v4(refused4)]),
        ));
        let error = client.get(uri).await.expect_err("refused");
        assert_eq!(
            chain(&error),
            [
                "client error (Connect)",
                "SOCKS error: failed to create underlying connection"
            ]
        );
        assert!(ConnectError::find_in(&error).is_none());
    });
}

/// `https` through the tunnel: `TlsThroughProxy` runs the TLS handshake with the
/// origin (its name verified, h2 by ALPN) over what `Tunnel` returns; `http` passes
/// through; the race to the proxy still reaches the response.
#[test]
fn https_through_the_tunnel_verifies_the_origin_and_keeps_the_race() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let secure = servers
            .https(v4(0), pki.server_config(ORIGIN, &[ALPN_H2, ALPN_HTTP_1_1]))
            .await;
        let plain = servers.http(v4(0)).await;
        let mut lab = ProxyLab::new([(ORIGIN, IpAddr::from(V4))]);
        let proxy = lab.http_connect(v4(0), Policy::Allow).await;
        let stalled = StalledListener::new(v6(0));
        let mut options = TransportOptions::default();
        options.tls.webpki_roots = false;
        options.tls.extra_roots.push(pki.root());
        let transport = transport_with(options, [v6(stalled.port), v4(proxy)]);
        let tunnel = Tunnel::new(proxy_uri(), transport.clone());
        let connector = TlsThroughProxy::from_transport(tunnel, &transport);
        let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(connector);

        let uri: Uri = format!("https://{ORIGIN}:{secure}/secure").parse().unwrap();
        let response = client
            .get(uri)
            .await
            .expect("GET over TLS through the tunnel");

        assert_eq!(response.version(), Version::HTTP_2);
        assert_eq!(
            lab.connect_requests(),
            [format!("CONNECT {ORIGIN}:{secure} HTTP/1.1")]
        );
        let info = response
            .extensions()
            .get::<ConnectionInfo>()
            .expect("the race to the proxy")
            .clone();
        assert_the_race_chose_the_proxy(&info, stalled.port, proxy);
        // The origin's ALPN, not the proxy connection's (plain TCP, none).
        assert_eq!(info.alpn.as_deref(), Some(ALPN_H2));
        assert_eq!(body_of(response).await, "HTTP/2.0 /secure");

        let uri: Uri = format!("http://{ORIGIN}:{plain}/plain").parse().unwrap();
        let response = client.get(uri).await.expect("plain GET through the tunnel");
        assert_eq!(response.version(), Version::HTTP_11);
        let info = response.extensions().get::<ConnectionInfo>().unwrap();
        assert_eq!(info.alpn, None, "no TLS to the origin, no ALPN");
        assert_eq!(body_of(response).await, "HTTP/1.1 /plain");
        drop(client);
        lab.shutdown().await;
        servers.shutdown().await;
    });
}

/// The origin's certificate is checked for the origin's name, through SOCKS5 as
/// through CONNECT: a certificate for another name is refused with the transport's
/// sentence. The race to the proxy succeeded, so there is no ConnectError.
#[test]
fn https_through_socks5_refuses_a_certificate_for_another_name() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let origin = servers
            .https(v4(0), pki.server_config("other.test", &[ALPN_HTTP_1_1]))
            .await;
        let mut lab = ProxyLab::new([(ORIGIN, IpAddr::from(V4))]);
        let proxy = lab.socks5(v4(0), Policy::Allow).await;
        let mut options = TransportOptions::default();
        options.tls.webpki_roots = false;
        options.tls.extra_roots.push(pki.root());
        let transport = transport_with(options, [v4(proxy)]);
        let tls_config = transport.tls_config().clone();
        let connector = TlsThroughProxy::new(SocksV5::new(proxy_uri(), transport), tls_config);
        let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(connector);

        let uri: Uri = format!("https://{ORIGIN}:{origin}/").parse().unwrap();
        let error = client.get(uri).await.expect_err("wrong name");

        let messages = chain(&error);
        assert_eq!(messages.len(), 2, "{messages:#?}");
        assert_eq!(messages[0], "client error (Connect)");
        // The names the certificate lists, as people write them (rustls gives them in
        // webpki's Debug form, `DnsName("other.test")`).
        assert!(
            messages[1].starts_with(&format!(
                "the server's certificate is not valid for {ORIGIN} (it names other.test): "
            )),
            "{messages:#?}"
        );
        assert!(ConnectError::find_in(&error).is_none());
        lab.shutdown().await;
        servers.shutdown().await;
    });
}

/// `TlsOptions::server_name` reaches the handshake through the proxy when the
/// connector is built from the transport: the name verified is the override, not the
/// URI's host. `TlsThroughProxy::new` knows no override and verifies the host.
#[test]
fn https_through_the_tunnel_verifies_the_transports_server_name() {
    run(async {
        let pki = Pki::new();
        let mut servers = Servers::new();
        let origin = servers
            .https(v4(0), pki.server_config("other.test", &[ALPN_HTTP_1_1]))
            .await;
        let mut lab = ProxyLab::new([(ORIGIN, IpAddr::from(V4))]);
        let proxy = lab.http_connect(v4(0), Policy::Allow).await;
        let mut options = TransportOptions::default();
        options.tls = options
            .tls
            .with_webpki_roots(false)
            .with_root(pki.root())
            .with_server_name("other.test");
        let transport = transport_with(options, [v4(proxy)]);
        let uri: Uri = format!("https://{ORIGIN}:{origin}/named").parse().unwrap();

        let tunnel = Tunnel::new(proxy_uri(), transport.clone());
        let client = Client::builder(TokioExecutor::new())
            .build::<_, Empty<Bytes>>(TlsThroughProxy::from_transport(tunnel, &transport));
        let response = client.get(uri.clone()).await.expect("other.test verified");
        let info = response.extensions().get::<ConnectionInfo>().unwrap();
        assert_eq!(info.alpn.as_deref(), Some(ALPN_HTTP_1_1));
        assert_eq!(body_of(response).await, "HTTP/1.1 /named");

        let tunnel = Tunnel::new(proxy_uri(), transport.clone());
        let tls_config = transport.tls_config().clone();
        let client = Client::builder(TokioExecutor::new())
            .build::<_, Empty<Bytes>>(TlsThroughProxy::new(tunnel, tls_config));
        let error = client.get(uri).await.expect_err("origin.test is not on it");
        assert!(
            chain(&error)[1].starts_with(&format!(
                "the server's certificate is not valid for {ORIGIN} (it names other.test): "
            )),
            "{:#?}",
            chain(&error)
        );
        lab.shutdown().await;
        servers.shutdown().await;
    });
}

/// The error of a request that ran out of time through a proxy, and its io kind.
fn timed_out(error: &hyper_util::client::legacy::Error) -> (String, io::ErrorKind) {
    let messages = chain(error);
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert_eq!(messages[0], "client error (Connect)");
    let kind = error
        .source()
        .and_then(|e| e.downcast_ref::<io::Error>())
        .map(io::Error::kind)
        .expect("an io::Error");
    (messages[1].clone(), kind)
}

/// A proxy that accepts and never answers (neither the CONNECT reply nor SOCKS'
/// greeting) no longer hangs the request: the transport's connect timeout bounds the
/// whole call, and the error names the proxy and the timeout.
#[test]
fn a_silent_proxy_fails_the_request_at_the_connect_timeout() {
    run(async {
        const TIMEOUT: Duration = Duration::from_millis(300);
        let mut lab = ProxyLab::new([(ORIGIN, IpAddr::from(V4))]);
        let connect = lab.http_connect(v4(0), Policy::Silent).await;
        let socks = lab.socks5(v4(0), Policy::Silent).await;
        let options = TransportOptions::default().with_connect_timeout(TIMEOUT);
        let uri: Uri = format!("https://{ORIGIN}:443/").parse().unwrap();

        let transport = transport_with(options.clone(), [v4(connect)]);
        let tunnel = Tunnel::new(proxy_uri(), transport.clone());
        let connector = TlsThroughProxy::from_transport(tunnel, &transport)
            .with_proxy_name(format!("{PROXY}:{PROXY_PORT}"));
        assert_eq!(connector.timeout(), TIMEOUT);
        let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(connector);
        let started = Instant::now();
        let error = client.get(uri.clone()).await.expect_err("silent proxy");
        assert!(started.elapsed() >= TIMEOUT, "{:?}", started.elapsed());
        assert_eq!(
            timed_out(&error),
            (
                format!(
                    "connecting to {ORIGIN}:443 through the proxy {PROXY}:{PROXY_PORT} took \
                     longer than the connect timeout (300ms): the proxy did not answer (or \
                     could not be reached); check the proxy, or raise the timeout \
                     (TransportOptions::connect_timeout, TlsThroughProxy::with_timeout)"
                ),
                io::ErrorKind::TimedOut
            )
        );
        assert_eq!(
            lab.connect_requests(),
            Vec::<String>::new(),
            "it never read a head"
        );

        // SOCKS5, and no proxy name given: "the proxy".
        let transport = transport_with(options, [v4(socks)]);
        let socks5 = SocksV5::new(proxy_uri(), transport.clone());
        let client = Client::builder(TokioExecutor::new())
            .build::<_, Empty<Bytes>>(TlsThroughProxy::from_transport(socks5, &transport));
        let (message, kind) = timed_out(&client.get(uri).await.expect_err("silent proxy"));
        assert_eq!(kind, io::ErrorKind::TimedOut);
        assert!(
            message.starts_with(&format!(
                "connecting to {ORIGIN}:443 through the proxy took longer than the connect \
                 timeout (300ms): the proxy did not answer"
            )),
            "{message}"
        );
        lab.shutdown().await;
    });
}

/// The deadline covers the TLS handshake with the origin too: an origin that accepts
/// (through a working tunnel) and never answers the ClientHello. The tunnel was up,
/// so the error names the proxy by the address the race chose.
#[test]
fn a_stalled_origin_handshake_through_the_proxy_times_out() {
    run(async {
        let (_origin, origin) = idle_listener(v4(0));
        let mut lab = ProxyLab::new([(ORIGIN, IpAddr::from(V4))]);
        let proxy = lab.http_connect(v4(0), Policy::Allow).await;
        let transport = transport([v4(proxy)]);
        let tunnel = Tunnel::new(proxy_uri(), transport.clone());
        let connector = TlsThroughProxy::from_transport(tunnel, &transport)
            .with_timeout(Duration::from_millis(300));
        let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(connector);

        let uri: Uri = format!("https://{ORIGIN}:{origin}/").parse().unwrap();
        let (message, kind) = timed_out(&client.get(uri).await.expect_err("no handshake"));
        assert_eq!(kind, io::ErrorKind::TimedOut);
        assert_eq!(
            message,
            format!(
                "connecting to {ORIGIN}:{origin} through the proxy at {} took longer than the \
                 connect timeout (300ms): the TLS handshake with the origin did not finish; \
                 check the proxy, or raise the timeout (TransportOptions::connect_timeout, \
                 TlsThroughProxy::with_timeout)",
                v4(proxy)
            )
        );
        assert_eq!(
            lab.connect_requests(),
            [format!("CONNECT {ORIGIN}:{origin} HTTP/1.1")]
        );
        lab.shutdown().await;
    });
}
