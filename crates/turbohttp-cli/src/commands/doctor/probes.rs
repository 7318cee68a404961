//! The probes: the IO that fills the [`Evidence`]. Each is bounded: a query or an
//! address gets the probe timeout, cut to what is left of the overall deadline, and
//! everything it opened is closed when it returns.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;
use turbohttp::{
    AddressFamily, CertificateRejected, ConnectParams, Connection, DefaultResolver, DnsResolver,
    Http3, LookupFailure, QueryType, QuicDialer, QuicRefused, RaceReport, Scheme, ServiceInfo,
    SocketOptions, StaticResolver, TlsFailurePolicy, TlsHandshake, connect_socket,
    https_query_name, quic_client_config, quinn,
};

use super::evidence::{
    AddressProbe, Answer, Connect, DnsEvidence, Evidence, Query, Quic, QuicEvidence, QuicProbe,
    RaceOutcome, RouteProbe, Service, Source, Tls,
};
use crate::exit;
use crate::options::RaceConfig;
use crate::transport::Transport;

/// Where the IPv6 route probe points by default: a global address (Google's public
/// DNS, as Chromium's probe uses); `connect()` on UDP sends nothing to it.
pub const ROUTE_PROBE_V6: SocketAddr = SocketAddr::new(
    IpAddr::V6(Ipv6Addr::new(0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888)),
    53,
);
/// Where the IPv4 route probe points by default.
pub const ROUTE_PROBE_V4: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)), 53);

/// The name whose AAAA answer shows DNS64 (RFC 7050).
pub const IPV4ONLY_ARPA: &str = "ipv4only.arpa";

/// What to probe, and within what.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The host as given.
    pub host: String,
    /// The port.
    pub port: u16,
    /// TLS on every address (https).
    pub https: bool,
    /// The race's settings; its connect timeout bounds the whole doctor.
    pub config: RaceConfig,
    /// Each query's and each address's own bound.
    pub probe_timeout: Duration,
    /// At most this many addresses per family.
    pub max_per_family: usize,
    /// The route probe of each family.
    pub route_probes: [SocketAddr; 2],
    /// Compare getaddrinfo with DNS (only when DNS asks the system's servers).
    pub ask_system: bool,
    /// `--http3`: probe QUIC at the origin's port even where no HTTPS record offers
    /// `h3`, and race as `get --http3` does.
    pub http3: bool,
}

/// Runs every probe, then the race, and returns what they found with the race's
/// report. `resolver` answers the probes; `transport` runs the race (its own resolver,
/// so that the race's queries are its own, not answered from the probes' cache).
pub async fn run(
    plan: &Plan,
    resolver: &StaticResolver<DefaultResolver>,
    transport: &Transport,
) -> (Evidence, RaceReport) {
    let deadline = Instant::now() + plan.config.connect_timeout;
    let budget = || {
        plan.probe_timeout
            .min(deadline.saturating_duration_since(Instant::now()))
    };
    let family = plan.config.family;
    let families: Vec<AddressFamily> = [AddressFamily::V6, AddressFamily::V4]
        .into_iter()
        .filter(|f| family.is_none_or(|only| only == *f))
        .collect();
    let routes = families
        .iter()
        .map(|&f| {
            let probe = match f {
                AddressFamily::V6 => plan.route_probes[0],
                AddressFamily::V4 => plan.route_probes[1],
            };
            RouteProbe {
                family: f,
                probe,
                result: route(probe),
            }
        })
        .collect();

    let dns = resolve(plan, resolver, &families, budget()).await;
    let (mut addresses, mut skipped) = addresses(plan, resolver, &dns, &families);

    let scheme = if plan.https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    // The dialer the race uses: the same socket options, TLS configuration and name.
    let (socket, tls) = match transport.dialer(&plan.host, scheme) {
        Ok(dialer) => (dialer.socket_options().clone(), dialer.tls().cloned()),
        Err(_) => (SocketOptions::default(), None),
    };
    let left = budget();
    if left.is_zero() {
        // DNS used up the overall timeout: a probe given no time would read as "times
        // out", which nothing showed.
        skipped.append(&mut addresses);
    }
    let probes = probe_addresses(&addresses, &socket, tls.as_ref(), left).await;
    // After TCP and TLS, so that their times are their own; QUIC gets a probe timeout
    // of its own, cut to what is left.
    let quic = quic(plan, transport, &dns, &addresses, tls.as_ref(), budget()).await;

    let left = deadline.saturating_duration_since(Instant::now());
    // The race `get` runs: HTTP/3 where advertised, at the origin too with --http3.
    let http3 = if plan.http3 {
        Http3::Also
    } else {
        Http3::Advertised
    };
    let params = ConnectParams::default()
        .with_family(family)
        .with_timeout(left.max(Duration::from_millis(1)))
        .with_http3(http3);
    let connected = if plan.https {
        transport.connect_any(&plan.host, plan.port, params).await
    } else {
        transport
            .connect_with(&plan.host, plan.port, scheme, params)
            .await
            .map(|won| won.map(Connection::Tcp))
    };
    let (report, result, quic_won) = match connected {
        Ok(won) => {
            let winner = won
                .stream
                .peer_addr()
                .ok()
                .or_else(|| won.report.winning_attempt().map(|attempt| attempt.endpoint));
            let result = match winner {
                Some(addr) => Ok((addr, won.report.elapsed)),
                None => Err("the race won without an address".to_owned()),
            };
            // Closed while the runtime runs, so that the server hears of it now and
            // does not hold the connection until its idle timeout.
            if let Connection::Quic(quic) = &won.stream {
                crate::http3::close(quic.connection()).await;
            }
            (won.report, result, won.stream.is_quic())
        }
        Err(error) => (error.report().clone(), Err(exit::sentence(&error)), false),
    };

    let evidence = Evidence {
        host: plan.host.clone(),
        port: plan.port,
        https: plan.https,
        family,
        preferred: plan.config.options.preferred_family(),
        stagger: plan.config.options.family_stagger_delay,
        resolution_delay: plan.config.options.resolution_delay,
        spacing: plan.config.options.attempt_spacing_delay,
        http3: plan.http3,
        probe_timeout: plan.probe_timeout,
        routes,
        dns,
        addresses: probes,
        skipped,
        quic,
        race: RaceOutcome {
            result,
            quic: quic_won,
        },
    };
    (evidence, report)
}

/// Whether this machine has a route towards `probe`: the source address the kernel
/// picks for a UDP socket connected to it. `connect()` on UDP sends no packet.
pub fn route(probe: SocketAddr) -> Result<IpAddr, String> {
    let any: SocketAddr = match probe {
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(any).map_err(|e| e.to_string())?;
    socket.connect(probe).map_err(|e| e.to_string())?;
    socket
        .local_addr()
        .map(|local| local.ip())
        .map_err(|e| e.to_string())
}

/// One query, bounded by `budget`, timed.
async fn timed<T>(
    budget: Duration,
    query: impl Future<Output = Result<T, LookupFailure>>,
    read: impl FnOnce(T) -> Answer,
) -> Query {
    let started = Instant::now();
    let answer = match tokio::time::timeout(budget, query).await {
        Ok(Ok(value)) => read(value),
        Ok(Err(failure)) => Answer::Failed {
            kind: failure.kind,
            message: failure.to_string(),
        },
        Err(_) => Answer::TimedOut,
    };
    query_after(started, budget, answer)
}

/// The query that ended with `answer`; one that timed out took the time it was given
/// (what the timer overshot by is noise).
fn query_after(started: Instant, budget: Duration, answer: Answer) -> Query {
    let elapsed = match answer {
        Answer::TimedOut => budget,
        _ => started.elapsed(),
    };
    Query {
        elapsed,
        answer,
        ttl: None,
    }
}

/// `query` when `ask`, else nothing.
async fn maybe(ask: bool, query: impl Future<Output = Query>) -> Option<Query> {
    if ask { Some(query.await) } else { None }
}

fn services(records: Vec<ServiceInfo>) -> Answer {
    Answer::Services(
        records
            .into_iter()
            .map(|r| Service {
                priority: r.priority,
                target: r.target,
                alpn: r.alpn,
                port: r.port,
                ech: r.ech.is_some(),
            })
            .collect(),
    )
}

/// The DNS queries, sent together: AAAA, A, HTTPS (https), getaddrinfo (when it asks
/// the same servers) and the DNS64 check.
async fn resolve(
    plan: &Plan,
    resolver: &StaticResolver<DefaultResolver>,
    families: &[AddressFamily],
    budget: Duration,
) -> DnsEvidence {
    let host = plan.host.as_str();
    let none = |source| DnsEvidence {
        source,
        aaaa: None,
        a: None,
        https: None,
        system: None,
        dns64: None,
    };
    if host.parse::<IpAddr>().is_ok() {
        return none(Source::Literal);
    }
    if resolver.get(host, plan.port).is_some() {
        return none(Source::Resolve);
    }
    let system = async {
        let started = Instant::now();
        let answer =
            match tokio::time::timeout(budget, tokio::net::lookup_host((host, plan.port))).await {
                Ok(Ok(addrs)) => {
                    let mut ips: Vec<IpAddr> = Vec::new();
                    for addr in addrs {
                        if !ips.contains(&addr.ip()) {
                            ips.push(addr.ip());
                        }
                    }
                    Answer::Addresses(ips)
                }
                Ok(Err(error)) => Answer::Failed {
                    kind: turbohttp::LookupFailureKind::Other,
                    message: error.to_string(),
                },
                Err(_) => Answer::TimedOut,
            };
        query_after(started, budget, answer)
    };
    let Some(dns) = resolver.fallback().dns_resolver() else {
        return DnsEvidence {
            system: Some(system.await),
            ..none(Source::System)
        };
    };
    let ask = |family| families.contains(&family);
    let lookup = |dns: &DnsResolver, name: String, query: QueryType| {
        let dns = dns.clone();
        async move {
            let mut ttl = None;
            let read = |(addrs, kept): (Vec<IpAddr>, Duration)| {
                ttl = Some(kept);
                Answer::Addresses(addrs)
            };
            let query = timed(budget, dns.lookup_with_ttl(&name, query), read).await;
            Query { ttl, ..query }
        }
    };
    let https_name = https_query_name(host, plan.port);
    let (aaaa, a, https, system, dns64) = tokio::join!(
        maybe(
            ask(AddressFamily::V6),
            lookup(dns, host.to_owned(), QueryType::Aaaa)
        ),
        maybe(
            ask(AddressFamily::V4),
            lookup(dns, host.to_owned(), QueryType::A)
        ),
        maybe(
            plan.https && plan.config.https_records,
            timed(budget, dns.services(&https_name), services)
        ),
        maybe(plan.ask_system, system),
        maybe(
            ask(AddressFamily::V6),
            lookup(dns, IPV4ONLY_ARPA.to_owned(), QueryType::Aaaa)
        ),
    );
    DnsEvidence {
        source: Source::Dns {
            servers: dns.servers().to_vec(),
        },
        aaaa,
        a,
        https,
        system,
        dns64,
    }
}

/// The addresses to probe, IPv6 first, at most `max_per_family` of each; the rest.
fn addresses(
    plan: &Plan,
    resolver: &StaticResolver<DefaultResolver>,
    dns: &DnsEvidence,
    families: &[AddressFamily],
) -> (Vec<SocketAddr>, Vec<SocketAddr>) {
    let found: Vec<SocketAddr> = match &dns.source {
        Source::Literal => plan
            .host
            .parse::<IpAddr>()
            .map(|ip| vec![SocketAddr::new(ip, plan.port)])
            .unwrap_or_default(),
        Source::Resolve => resolver
            .get(&plan.host, plan.port)
            .map(<[_]>::to_vec)
            .unwrap_or_default(),
        Source::Dns { .. } => [&dns.aaaa, &dns.a]
            .into_iter()
            .flatten()
            .flat_map(|q| {
                q.addresses()
                    .iter()
                    .map(|ip| SocketAddr::new(*ip, plan.port))
            })
            .collect(),
        Source::System => dns
            .system
            .iter()
            .flat_map(|q| {
                q.addresses()
                    .iter()
                    .map(|ip| SocketAddr::new(*ip, plan.port))
            })
            .collect(),
    };
    let (mut kept, mut skipped) = (Vec::new(), Vec::new());
    for family in families {
        let mut mine: Vec<SocketAddr> = Vec::new();
        for addr in found.iter().filter(|a| AddressFamily::of(a) == *family) {
            if !mine.contains(addr) {
                mine.push(*addr);
            }
        }
        let cut = mine.len().min(plan.max_per_family);
        skipped.extend(mine.split_off(cut));
        kept.extend(mine);
    }
    (kept, skipped)
}

/// Every address on its own, in parallel, each within `budget`.
pub async fn probe_addresses(
    addrs: &[SocketAddr],
    socket: &SocketOptions,
    tls: Option<&TlsHandshake>,
    budget: Duration,
) -> Vec<AddressProbe> {
    let mut tasks = JoinSet::new();
    for (index, &addr) in addrs.iter().enumerate() {
        let socket = socket.clone();
        let tls = tls.cloned();
        tasks.spawn(async move {
            (
                index,
                probe_address(addr, &socket, tls.as_ref(), budget).await,
            )
        });
    }
    let mut probes: Vec<(usize, AddressProbe)> = Vec::with_capacity(addrs.len());
    while let Some(done) = tasks.join_next().await {
        // A probe cannot panic short of a bug; a lost one is left out.
        if let Ok(probe) = done {
            probes.push(probe);
        }
    }
    probes.sort_by_key(|(index, _)| *index);
    probes.into_iter().map(|(_, probe)| probe).collect()
}

/// One address: the TCP connect, then for https the TLS handshake, both within
/// `budget`. The connection is closed before returning.
pub async fn probe_address(
    addr: SocketAddr,
    socket: &SocketOptions,
    tls: Option<&TlsHandshake>,
    budget: Duration,
) -> AddressProbe {
    let started = Instant::now();
    let tcp = match tokio::time::timeout(budget, connect_socket(addr, socket)).await {
        Err(_) => {
            return AddressProbe {
                addr,
                // The time it was given, not the timer's overshoot.
                connect: Connect::TimedOut(budget),
                tls: None,
            };
        }
        Ok(Err(error)) => {
            let elapsed = started.elapsed();
            let io = error.io_error();
            let connect = if io.kind() == std::io::ErrorKind::ConnectionRefused {
                Connect::Refused(elapsed)
            } else {
                Connect::Failed {
                    elapsed,
                    error: exit::sentence(io),
                }
            };
            return AddressProbe {
                addr,
                connect,
                tls: None,
            };
        }
        Ok(Ok(tcp)) => tcp,
    };
    let connected = started.elapsed();
    let Some(handshake) = tls else {
        return AddressProbe {
            addr,
            connect: Connect::Connected(connected),
            tls: None,
        };
    };
    let left = budget.saturating_sub(connected);
    let started = Instant::now();
    let tls = match tokio::time::timeout(left, handshake.run(tcp)).await {
        Err(_) => Tls::TimedOut(left),
        Ok(Ok(stream)) => {
            let (_, session) = stream.get_ref();
            Tls::Done {
                elapsed: started.elapsed(),
                version: session
                    .protocol_version()
                    .map_or_else(|| "unknown".to_owned(), |v| format!("{v:?}")),
                alpn: session
                    .alpn_protocol()
                    .map(|p| String::from_utf8_lossy(p).into_owned()),
            }
        }
        Ok(Err(error)) => {
            let elapsed = started.elapsed();
            let io = error.io_error();
            match io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<CertificateRejected>())
            {
                Some(rejected) => Tls::CertificateRejected {
                    elapsed,
                    reason: rejected.to_string(),
                },
                None => Tls::Failed {
                    elapsed,
                    reason: exit::sentence(io),
                },
            }
        }
    };
    AddressProbe {
        addr,
        connect: Connect::Connected(connected),
        tls: Some(tls),
    }
}

/// The QUIC layer: where an HTTPS record offers `h3`, or with `--http3`, a handshake
/// to each of `addrs` at the record's port (else the origin's), with the TLS probe's
/// roots and server name, within `budget`; otherwise why not.
async fn quic(
    plan: &Plan,
    transport: &Transport,
    dns: &DnsEvidence,
    addrs: &[SocketAddr],
    tls: Option<&TlsHandshake>,
    budget: Duration,
) -> QuicEvidence {
    if !plan.https {
        return QuicEvidence::NotHttps;
    }
    let record = dns.h3_service();
    if record.is_none() && !plan.http3 {
        return QuicEvidence::NotAdvertised;
    }
    let Some(handshake) = tls else {
        return QuicEvidence::Unavailable("no TLS handshake could be set up for this host".into());
    };
    let config = match quic_client_config(transport.tls_config()) {
        Ok(config) => config,
        Err(error) => return QuicEvidence::Unavailable(exit::sentence(&error)),
    };
    if budget.is_zero() {
        return QuicEvidence::NoTime;
    }
    let port = record.and_then(|r| r.port).unwrap_or(plan.port);
    // The transport's endpoints: the UDP sockets (and socket options) the race uses
    // next. The policy only decides whether a bad certificate ends a race; the probe
    // reads the failure either way.
    let dialer = QuicDialer::new(
        Arc::clone(transport.quic_endpoints()),
        config,
        handshake.server_name(),
        TlsFailurePolicy::default(),
    );
    QuicEvidence::Probed {
        port,
        advertised: record.is_some(),
        ech: record.is_some_and(|r| r.ech),
        probes: probe_quic(addrs, port, &dialer, budget).await,
    }
}

/// A QUIC handshake to every address (at `port`) on its own, in parallel, each within
/// `budget`. Each connection is closed before returning.
pub async fn probe_quic(
    addrs: &[SocketAddr],
    port: u16,
    dialer: &QuicDialer,
    budget: Duration,
) -> Vec<QuicProbe> {
    let mut tasks = JoinSet::new();
    for (index, addr) in addrs.iter().enumerate() {
        let addr = SocketAddr::new(addr.ip(), port);
        let dialer = dialer.clone();
        tasks.spawn(async move {
            let outcome = quic_handshake(&dialer, addr, budget).await;
            (index, QuicProbe { addr, outcome })
        });
    }
    let mut probes: Vec<(usize, QuicProbe)> = Vec::with_capacity(addrs.len());
    while let Some(done) = tasks.join_next().await {
        // A probe cannot panic short of a bug; a lost one is left out.
        if let Ok(probe) = done {
            probes.push(probe);
        }
    }
    probes.sort_by_key(|(index, _)| *index);
    probes.into_iter().map(|(_, probe)| probe).collect()
}

/// One QUIC handshake to `addr` within `budget`.
async fn quic_handshake(dialer: &QuicDialer, addr: SocketAddr, budget: Duration) -> Quic {
    let started = Instant::now();
    let error = match tokio::time::timeout(budget, dialer.connect(addr)).await {
        // Dropping the handshake closes it: nothing is left running.
        Err(_) => return Quic::TimedOut(budget),
        Ok(Ok(quic)) => {
            let elapsed = started.elapsed();
            let alpn = quic
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(&p).into_owned());
            crate::http3::close(quic.connection()).await;
            return Quic::Done { elapsed, alpn };
        }
        Ok(Err(error)) => error,
    };
    let elapsed = started.elapsed();
    let io = error.io_error();
    let inner = io.get_ref();
    if let Some(rejected) = inner.and_then(|e| e.downcast_ref::<CertificateRejected>()) {
        return Quic::CertificateRejected {
            elapsed,
            reason: rejected.to_string(),
        };
    }
    if io.kind() == std::io::ErrorKind::TimedOut {
        // quinn's own handshake timeout: no answer, as the probe's would have said.
        return Quic::TimedOut(elapsed);
    }
    let refused_code = u64::from(quinn::TransportErrorCode::CONNECTION_REFUSED);
    match inner.and_then(|e| e.downcast_ref::<QuicRefused>()) {
        Some(refused) if refused.code() == Some(refused_code) => Quic::Refused {
            elapsed,
            reason: refused.to_string(),
        },
        Some(other) => Quic::Failed {
            elapsed,
            reason: other.to_string(),
        },
        None => Quic::Failed {
            elapsed,
            reason: exit::sentence(io),
        },
    }
}
