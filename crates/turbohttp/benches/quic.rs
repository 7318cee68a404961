//! QUIC raced against TCP (issue 23), side by side, on loopback only (127.0.0.1),
//! interleaved, printing two tables.
//!
//! ```text
//! cargo bench -p turbohttp --features http3 --bench quic
//! ```
//!
//! One origin name, `bench.test`, pinned by every client to the same one address
//! (turbohttp a `StaticResolver`, hyper-util a resolver service returning the list,
//! quinn the address itself). One private CA (rcgen) and one server certificate for
//! every server; every client trusts that CA alone, on turbohttp's crypto provider,
//! and keeps one TLS configuration for all its connects, as a client would. (In
//! scenario 1 every handshake is a full one, for every client: a connection is closed
//! as soon as it is usable, before the server's session tickets are read.) The
//! servers run on a thread and runtime of their own; the clients share one
//! current-thread runtime.
//!
//! 1. **UDP blocked, h3 advertised.** UDP port P is a `UdpBlackHole` (it never
//!    answers), TCP port P serves HTTP/2 over TLS. Time to a usable HTTP connection
//!    (connect, TLS, and the HTTP/2 handshake done: the client preface and SETTINGS
//!    sent) for: turbohttp's `connect_any` with `Http3::Also` (QUIC first, TCP one
//!    attempt delay later; its memory of broken QUIC cleared before each sample, so
//!    every sample is a first race); the same with the memory kept (a later race,
//!    straight to TCP); turbohttp's TCP-only `connect`; hyper-util's `HttpConnector`
//!    with tokio-rustls and hyper's HTTP/2 handshake (the TCP-only baseline, given
//!    turbohttp's socket options: `TCP_NODELAY`, keepalive 60 s); and quinn alone (a
//!    QUIC-only client, as HTTP/3 prior knowledge is), which never gets a connection:
//!    its time until it gives up, with quinn's default transport configuration
//!    (`max_idle_timeout` 30 s; one sample, after the runs). The issue's goal:
//!    turbohttp within one attempt delay + 5 ms of TCP-only hyper-util.
//! 2. **h3 healthy.** UDP port Q serves HTTP/3 (the lab's `H3Server`), TCP port Q
//!    HTTP/2 over TLS (hyper's server over tokio-rustls), the same 1 KiB body and the
//!    same two headers. On one connection each, made anew every round: the time to
//!    a usable connection, the first GET's time to the response head, then N
//!    sequential GETs (each body read to its end): their time to the response head
//!    (median, p99) and requests per second. Contenders: turbohttp HTTP/3
//!    (`connect_any` + `http3_handshake`), turbohttp HTTP/2 (`connect` with
//!    `Scheme::Https` + hyper's HTTP/2 client), hyper-util HTTP/2 (`HttpConnector` +
//!    tokio-rustls + hyper's HTTP/2 client).
//!
//! Each round runs every contender once, in an order rotated by one every round.
//! Every contender makes one untimed warm-up connection first.
//!
//! Environment:
//! * `TURBOHTTP_BENCH_SMOKE=1`: tiny counts (CI keeps this compiling and running, in
//!   seconds); quinn alone then gives up after 0.3 s (a short idle timeout and
//!   initial RTT), not 30 s. No number it prints means anything.
//! * `TURBOHTTP_BENCH_RUNS=R`: how many times the whole set of rounds is run (default
//!   5; smoke 2). Each cell is the median over the runs of each run's statistic, with
//!   the runs' minimum and maximum beside it.
//! * `TURBOHTTP_BENCH_ITERS=N`: rounds per scenario in each run (default 8; smoke 1).
//! * `TURBOHTTP_BENCH_GETS=N`: sequential GETs per connection in scenario 2 (default
//!   1,000; smoke 20).
//! * `TURBOHTTP_BENCH_QUIC_ONLY=N`: quinn-alone samples (default 1; 0 leaves it out).
//! * `TURBOHTTP_BENCH_SCENARIOS=1,2`: run only these scenarios.
//!
//! BENCHMARKS.md (at the workspace root, "QUIC and HTTP/3 (issue 23)") has a run.

#[path = "support/common.rs"]
mod common;

use std::collections::HashMap;
use std::convert::Infallible;
use std::env;
use std::error::Error as StdError;
use std::fmt::{Display, Write as _};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, LazyLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use common::{Agg, Cell, ms, number, percentile, rotation, us};
use http_body_util::{BodyExt, Empty, Full};
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tower_service::Service;
use turbohttp::{
    ALPN_H2, ALPN_HTTP_1_1, AttemptOutcome, ConnectParams, Connection, HappyEyeballsOptions, Http3,
    Http3SendRequest, NoResolver, QuicMemory, RawSocketTransport, Scheme, SocketOptions,
    StaticResolver, TlsOptions, Transport, TransportOptions, http3_handshake, quinn,
};
use turbohttp_lab::h3::{H3Server, QuicBehaviour, UdpBlackHole};

/// The origin every client asks for, through its own resolver hook.
const HOST: &str = "bench.test";
/// The bound on one connect, for every client.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Loopback only.
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// The body both servers answer every GET with: 1 KiB of text.
static BODY: LazyLock<String> = LazyLock::new(|| {
    let line = "turbohttp QUIC benchmark body, the same over HTTP/2 and HTTP/3.\n";
    line.repeat(1024 / line.len() + 1)[..1024].to_owned()
});

// ---------------------------------------------------------------------------------
// Settings

#[derive(Debug, Clone)]
struct Settings {
    smoke: bool,
    runs: usize,
    rounds: usize,
    gets: usize,
    quic_only: usize,
    scenarios: Vec<u8>,
}

impl Settings {
    fn from_env() -> Self {
        let smoke = env::var("TURBOHTTP_BENCH_SMOKE").is_ok_and(|v| !v.is_empty() && v != "0");
        let number = |name: &str| {
            env::var(name)
                .ok()
                .and_then(|v| v.trim().replace('_', "").parse::<usize>().ok())
        };
        Self {
            smoke,
            runs: number("TURBOHTTP_BENCH_RUNS")
                .unwrap_or(if smoke { 2 } else { 5 })
                .max(1),
            rounds: number("TURBOHTTP_BENCH_ITERS")
                .unwrap_or(if smoke { 1 } else { 8 })
                .max(1),
            gets: number("TURBOHTTP_BENCH_GETS")
                .unwrap_or(if smoke { 20 } else { 1000 })
                .max(1),
            quic_only: number("TURBOHTTP_BENCH_QUIC_ONLY").unwrap_or(1),
            scenarios: env::var("TURBOHTTP_BENCH_SCENARIOS")
                .ok()
                .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
                .filter(|v: &Vec<u8>| !v.is_empty())
                .unwrap_or_else(|| vec![1, 2]),
        }
    }
}

/// A count as the tables print it (`1,000`).
fn count(n: usize) -> String {
    if n >= 1000 {
        number(n as f64)
    } else {
        n.to_string()
    }
}

fn other(context: &'static str) -> impl Fn(&dyn Display) -> io::Error {
    move |e| io::Error::other(format!("{context}: {e}"))
}

/// An error and its sources joined with ": ".
fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(source) = next {
        let _ = write!(text, ": {source}");
        next = source.source();
    }
    text
}

// ---------------------------------------------------------------------------------
// Certificates and servers

/// A private CA and one server certificate for [`HOST`] that it signed.
struct Pki {
    root: CertificateDer<'static>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Pki {
    fn new() -> io::Result<Self> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(io::Error::other)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer =
            CertifiedIssuer::self_signed(params, KeyPair::generate().map_err(io::Error::other)?)
                .map_err(io::Error::other)?;
        let key = KeyPair::generate().map_err(io::Error::other)?;
        let mut params = CertificateParams::new(vec![HOST.to_owned()]).map_err(io::Error::other)?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &issuer).map_err(io::Error::other)?;
        Ok(Self {
            root: issuer.der().clone(),
            chain: vec![cert.der().clone()],
            key: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        })
    }

    /// A server configuration with the one certificate, offering `alpn`.
    fn server_config(&self, alpn: &[&[u8]]) -> io::Result<Arc<ServerConfig>> {
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(turbohttp::crypto_provider()))
                .with_safe_default_protocol_versions()
                .map_err(io::Error::other)?
                .with_no_client_auth()
                .with_single_cert(self.chain.clone(), self.key.clone_key())
                .map_err(io::Error::other)?;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }

    fn roots(&self) -> io::Result<RootCertStore> {
        let mut roots = RootCertStore::empty();
        roots.add(self.root.clone()).map_err(io::Error::other)?;
        Ok(roots)
    }
}

/// The servers of both scenarios, on a thread and runtime of their own until dropped.
struct Lab {
    /// Scenario 1: UDP a black hole, TCP HTTP/2 over TLS.
    blocked: u16,
    /// Scenario 2: UDP HTTP/3, TCP HTTP/2 over TLS.
    healthy: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Lab {
    fn start(pki: &Pki) -> io::Result<Self> {
        let h2 = pki.server_config(&[ALPN_H2])?;
        // The lab's HTTP/3 server sets ALPN h3 itself.
        let h3 = pki.server_config(&[])?;
        let (ready, ports) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = thread::Builder::new()
            .name("quic-bench-servers".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let started = async {
                        // UDP P is taken by the black hole (or h3) once TCP P is known.
                        let (blocked, hole) = with_udp_twin(&h2, UdpBlackHole::bind).await?;
                        let (healthy, h3) = with_udp_twin(&h2, |addr| {
                            H3Server::start(
                                addr,
                                Arc::clone(&h3),
                                QuicBehaviour::serve(BODY.as_str()),
                            )
                        })
                        .await?;
                        io::Result::Ok((blocked, healthy, hole, h3))
                    };
                    match started.await {
                        Ok((blocked, healthy, hole, h3)) => {
                            let _ = ready.send(Ok((blocked, healthy)));
                            let _ = stopped.await;
                            drop((hole, h3));
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e));
                        }
                    }
                });
            })?;
        let (blocked, healthy) = ports
            .recv()
            .map_err(|_| io::Error::other("the server thread ended"))??;
        Ok(Self {
            blocked,
            healthy,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// An HTTP/2 TLS server on a free TCP port of loopback, and `udp` bound to the same
/// port number (a few tries: that UDP port may be taken).
async fn with_udp_twin<U>(
    tls: &Arc<ServerConfig>,
    udp: impl Fn(SocketAddr) -> io::Result<U>,
) -> io::Result<(u16, U)> {
    let mut last = None;
    for _ in 0..16 {
        let listener = TcpListener::bind(SocketAddr::new(LOOPBACK, 0)).await?;
        let port = listener.local_addr()?.port();
        match udp(SocketAddr::new(LOOPBACK, port)) {
            Ok(twin) => {
                tokio::spawn(serve_h2(listener, TlsAcceptor::from(Arc::clone(tls))));
                return Ok((port, twin));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no port")))
}

/// HTTP/2 over TLS (hyper's server), every GET answered `200` with [`BODY`] and the
/// two headers the lab's HTTP/3 server sends.
async fn serve_h2(listener: TcpListener, acceptor: TlsAcceptor) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                // Without it, Nagle and delayed ACKs hold small h2 frames back.
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let service = hyper::service::service_fn(|_: Request<hyper::body::Incoming>| async {
                        let body: &'static str = &BODY;
                        let response = Response::builder()
                            .header("server", "turbohttp-lab-h2")
                            .header("content-length", body.len())
                            .body(Full::new(Bytes::from_static(body.as_bytes())));
                        Ok::<_, Infallible>(response.unwrap_or_default())
                    });
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

// ---------------------------------------------------------------------------------
// Clients

/// hyper-util's resolver hook: the one address, whatever the name.
#[derive(Clone)]
struct ListResolver(Arc<[SocketAddr]>);

impl Service<Name> for ListResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = io::Error;
    type Future = std::future::Ready<Result<Self::Response, io::Error>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Name) -> Self::Future {
        std::future::ready(Ok(Vec::from(&self.0[..]).into_iter()))
    }
}

type Turbo = RawSocketTransport<StaticResolver<NoResolver>>;

/// A turbohttp transport to `port`, trusting the lab's CA alone.
fn turbo(pki: &Pki, port: u16) -> io::Result<Turbo> {
    let mut options = TransportOptions::default();
    options.tls = TlsOptions::default()
        .with_webpki_roots(false)
        .with_root(pki.root.clone());
    options.connect_timeout = TIMEOUT;
    let resolver = StaticResolver::with_fallback(NoResolver).with_override(
        HOST,
        port,
        [SocketAddr::new(LOOPBACK, port)],
    );
    RawSocketTransport::new_with_resolver(options, resolver).map_err(|e| other("options")(&e))
}

/// The TCP-only baseline: hyper-util's connector (turbohttp's socket options) and a
/// TLS handshake by hand with tokio-rustls: turbohttp's crypto provider and ALPN
/// (h2, http/1.1), the same roots.
#[derive(Clone)]
struct HyperTcp {
    connector: HttpConnector<ListResolver>,
    tls: TlsConnector,
    uri: Uri,
}

impl HyperTcp {
    fn new(pki: &Pki, port: u16) -> io::Result<Self> {
        let mut connector = HttpConnector::new_with_resolver(ListResolver(
            vec![SocketAddr::new(LOOPBACK, port)].into(),
        ));
        connector.set_happy_eyeballs_timeout(Some(Duration::from_millis(250)));
        connector.set_connect_timeout(Some(TIMEOUT));
        let ours = SocketOptions::default();
        connector.set_nodelay(ours.nodelay);
        connector.set_keepalive(ours.keepalive);
        connector.set_keepalive_interval(ours.keepalive_interval);
        connector.set_keepalive_retries(ours.keepalive_retries);
        let mut tls = ClientConfig::builder_with_provider(Arc::new(turbohttp::crypto_provider()))
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(pki.roots()?)
            .with_no_client_auth();
        tls.alpn_protocols = vec![ALPN_H2.to_vec(), ALPN_HTTP_1_1.to_vec()];
        Ok(Self {
            connector,
            tls: TlsConnector::from(Arc::new(tls)),
            // http: hyper-util's connector only dials; TLS is done here.
            uri: format!("http://{HOST}:{port}/")
                .parse()
                .map_err(io::Error::other)?,
        })
    }

    /// Connect, TLS and the HTTP/2 handshake.
    async fn h2(&self) -> io::Result<Session> {
        let mut connector = self.connector.clone();
        let tcp = connector
            .call(self.uri.clone())
            .await
            .map_err(|e| io::Error::other(chain(&e)))?
            .into_inner();
        let server_name = ServerName::try_from(HOST).map_err(io::Error::other)?;
        let tls = self.tls.connect(server_name, tcp).await?;
        if tls.get_ref().1.alpn_protocol() != Some(ALPN_H2) {
            return Err(io::Error::other("the server did not choose h2"));
        }
        h2_session(tls).await
    }
}

/// One HTTP connection, ready for requests: HTTP/2 (hyper) or HTTP/3 (h3), with the
/// task that drives it.
enum Session {
    H2(
        hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
        JoinHandle<()>,
    ),
    H3(Http3SendRequest, JoinHandle<()>),
}

async fn h2_session<I>(io: I) -> io::Result<Session>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io))
            .await
            .map_err(|e| other("h2 handshake")(&e))?;
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Session::H2(send, task))
}

async fn h3_session(quic: turbohttp::QuicConnection) -> io::Result<Session> {
    let (mut driver, send) = http3_handshake(quic)
        .await
        .map_err(|e| other("h3 handshake")(&e))?;
    let task = tokio::spawn(async move {
        let _ = driver.wait_idle().await;
    });
    Ok(Session::H3(send, task))
}

impl Session {
    /// One GET of `uri`: the time from sending it to the response head, and the
    /// body's length (read to its end).
    async fn get(&mut self, uri: &Uri) -> io::Result<(Duration, usize)> {
        match self {
            Self::H2(send, _) => {
                send.ready().await.map_err(|e| other("h2")(&e))?;
                let request = Request::get(uri.clone())
                    .body(Empty::new())
                    .map_err(io::Error::other)?;
                let start = Instant::now();
                let response = send
                    .send_request(request)
                    .await
                    .map_err(|e| other("h2 request")(&e))?;
                let head = start.elapsed();
                if !response.status().is_success() {
                    return Err(io::Error::other(format!("status {}", response.status())));
                }
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| other("h2 body")(&e))?;
                Ok((head, body.to_bytes().len()))
            }
            Self::H3(send, _) => {
                let request = Request::get(uri.clone())
                    .body(())
                    .map_err(io::Error::other)?;
                let start = Instant::now();
                let mut stream = send
                    .send_request(request)
                    .await
                    .map_err(|e| other("h3 request")(&e))?;
                stream.finish().await.map_err(|e| other("h3 finish")(&e))?;
                let response = stream
                    .recv_response()
                    .await
                    .map_err(|e| other("h3 response")(&e))?;
                let head = start.elapsed();
                if !response.status().is_success() {
                    return Err(io::Error::other(format!("status {}", response.status())));
                }
                let mut length = 0;
                while let Some(chunk) =
                    stream.recv_data().await.map_err(|e| other("h3 body")(&e))?
                {
                    length += chunk.remaining();
                }
                Ok((head, length))
            }
        }
    }

    /// Closes the connection now (its driver stopped, its handles dropped).
    fn close(self) {
        match self {
            Self::H2(send, task) => {
                drop(send);
                task.abort();
            }
            Self::H3(send, task) => {
                drop(send);
                task.abort();
            }
        }
    }
}

/// turbohttp's QUIC-first race with `Http3::Also`, its winner made usable: HTTP/3
/// over QUIC, HTTP/2 over TCP. Also the race's report.
async fn turbo_any(transport: &Turbo, port: u16) -> io::Result<(Session, turbohttp::RaceReport)> {
    let won = transport
        .connect_any(HOST, port, ConnectParams::default().with_http3(Http3::Also))
        .await
        .map_err(|e| io::Error::other(chain(&e)))?;
    let session = match won.stream {
        Connection::Quic(quic) => h3_session(quic).await?,
        Connection::Tcp(stream) if stream.is_h2() => h2_session(stream).await?,
        _ => return Err(io::Error::other("TCP won without h2")),
    };
    Ok((session, won.report))
}

/// turbohttp's TCP-only connect with TLS, and the HTTP/2 handshake.
async fn turbo_tcp(transport: &Turbo, port: u16) -> io::Result<Session> {
    let won = transport
        .connect(HOST, port, Scheme::Https)
        .await
        .map_err(|e| io::Error::other(chain(&e)))?;
    if !won.stream.is_h2() {
        return Err(io::Error::other("the server did not choose h2"));
    }
    h2_session(won.stream).await
}

/// `(transport, outcome)` of every attempt of a race.
fn attempts(report: &turbohttp::RaceReport) -> Vec<(Transport, AttemptOutcome)> {
    report
        .attempts
        .iter()
        .map(|a| (a.transport, a.outcome))
        .collect()
}

/// quinn alone, QUIC only, to `addr`: the time until it gives up, and its error.
/// `short`: a 0.3 s idle timeout and a 10 ms initial RTT (smoke), else quinn's
/// defaults (idle timeout 30 s, initial RTT 333 ms).
async fn quinn_alone(pki: &Pki, addr: SocketAddr, short: bool) -> io::Result<(Duration, String)> {
    let mut tls = ClientConfig::builder_with_provider(Arc::new(turbohttp::crypto_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(io::Error::other)?
        .with_root_certificates(pki.roots()?)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h3".to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(Arc::new(tls))
        .map_err(io::Error::other)?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    if short {
        let mut transport = quinn::TransportConfig::default();
        transport
            .max_idle_timeout(Some(
                Duration::from_millis(300)
                    .try_into()
                    .map_err(io::Error::other)?,
            ))
            .initial_rtt(Duration::from_millis(10));
        config.transport_config(Arc::new(transport));
    }
    let endpoint = quinn::Endpoint::client(SocketAddr::new(addr.ip(), 0))?;
    let start = Instant::now();
    let connecting = endpoint
        .connect_with(config, addr, HOST)
        .map_err(io::Error::other)?;
    let outcome = connecting.await;
    let took = start.elapsed();
    endpoint.close(0u32.into(), b"");
    match outcome {
        Ok(_) => Err(io::Error::other("QUIC connected to a black hole")),
        Err(e) => Ok((took, e.to_string())),
    }
}

// ---------------------------------------------------------------------------------
// Samples, rows and tables

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Better {
    Lower,
    Higher,
    /// A difference or a diagnostic: no ratio to a best.
    None,
}

struct Row {
    key: &'static str,
    label: String,
    unit: &'static str,
    agg: Agg,
    better: Better,
    target: &'static str,
}

/// Samples by `(row key, column)`, one vector per run.
#[derive(Default)]
struct Samples {
    run: usize,
    by: HashMap<(&'static str, usize), Vec<Vec<f64>>>,
    /// The first error of each `(row key, column)` and how many there were.
    errors: HashMap<(&'static str, usize), (String, usize)>,
}

impl Samples {
    fn add(&mut self, key: &'static str, column: usize, value: f64) {
        let runs = self.by.entry((key, column)).or_default();
        if runs.len() <= self.run {
            runs.resize_with(self.run + 1, Vec::new);
        }
        runs[self.run].push(value);
    }

    fn error(&mut self, key: &'static str, column: usize, e: &io::Error) {
        self.errors
            .entry((key, column))
            .or_insert_with(|| (e.to_string(), 0))
            .1 += 1;
    }

    /// Each run's statistic of a row and column.
    fn per_run(&self, key: &'static str, column: usize, agg: Agg) -> Vec<f64> {
        self.by
            .get(&(key, column))
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .map(|samples| {
                let mut v = samples.clone();
                v.sort_by(f64::total_cmp);
                match agg {
                    Agg::Median => percentile(&v, 0.5),
                    Agg::P99 => percentile(&v, 0.99),
                    Agg::Max => v[v.len() - 1],
                }
            })
            .collect()
    }
}

/// One table: a column per contender, a row per metric; `extra` cells (a row key and
/// column) are given by the caller (differences computed run by run).
fn render(
    columns: &[&str],
    rows: &[Row],
    samples: &Samples,
    extra: &HashMap<(&'static str, usize), Cell>,
    text: &HashMap<(&'static str, usize), String>,
) -> String {
    let mut out = String::new();
    let _ = write!(out, "| scenario and metric | unit |");
    for c in columns {
        let _ = write!(out, " {c} |");
    }
    let _ = writeln!(out, " target |");
    let _ = write!(out, "|---|---|");
    for _ in columns {
        let _ = write!(out, "---:|");
    }
    let _ = writeln!(out, "---|");
    for row in rows {
        let cells: Vec<Option<Cell>> = (0..columns.len())
            .map(|c| {
                extra
                    .get(&(row.key, c))
                    .copied()
                    .or_else(|| Cell::of(samples.per_run(row.key, c, row.agg), row.agg))
            })
            .collect();
        let values = cells.iter().flatten().map(|c| c.value);
        let best = match row.better {
            Better::Lower => values.fold(None, |b: Option<f64>, v| Some(b.map_or(v, |b| b.min(v)))),
            Better::Higher => {
                values.fold(None, |b: Option<f64>, v| Some(b.map_or(v, |b| b.max(v))))
            }
            Better::None => None,
        };
        let several = cells.iter().flatten().count() > 1;
        let _ = write!(out, "| {} | {} |", row.label, row.unit);
        for (c, cell) in cells.iter().enumerate() {
            let shown = match (cell, best) {
                (Some(cell), Some(best)) if several && best > 0.0 && cell.value > 0.0 => {
                    let ratio = match row.better {
                        Better::Higher => best / cell.value,
                        _ => cell.value / best,
                    };
                    format!("{} ({ratio:.2}×)", cell.show())
                }
                (Some(cell), _) => cell.show(),
                (None, _) => text
                    .get(&(row.key, c))
                    .cloned()
                    .unwrap_or_else(|| "—".to_owned()),
            };
            let _ = write!(out, " {shown} |");
        }
        let _ = writeln!(out, " {} |", row.target);
    }
    out
}

fn notes_of(samples: &Samples, columns: &[&str], out: &mut String) -> bool {
    let mut turbo_failed = false;
    let mut errors: Vec<_> = samples.errors.iter().collect();
    errors.sort_by_key(|((key, c), _)| (*key, *c));
    for ((key, c), (first, count)) in errors {
        let _ = writeln!(
            out,
            "error in {key} for {} ({count}×): {first}",
            columns[*c]
        );
        turbo_failed |= columns[*c].starts_with("turbohttp");
    }
    turbo_failed
}

// ---------------------------------------------------------------------------------
// Scenario 1: UDP blocked, h3 advertised

const S1: [&str; 5] = [
    "turbohttp connect_any, Http3::Also (QUIC first, memory cleared)",
    "turbohttp connect_any, QUIC remembered broken (a later race)",
    "turbohttp TCP only (connect, https)",
    "hyper-util TCP only (HttpConnector + tokio-rustls)",
    "quinn alone (QUIC only)",
];
const QUIC_FIRST: usize = 0;
const REMEMBERED: usize = 1;
const TURBO_TCP: usize = 2;
const HYPER_TCP: usize = 3;
const QUINN: usize = 4;

struct Blocked {
    port: u16,
    quic_first: Turbo,
    remembered: Turbo,
    tcp: Turbo,
    hyper: HyperTcp,
}

impl Blocked {
    /// One sample of `column`: the time to a usable HTTP connection, and for the
    /// QUIC-first race the TCP attempt's start after the QUIC attempt's.
    async fn sample(&self, column: usize) -> io::Result<(Duration, Option<Duration>)> {
        match column {
            QUIC_FIRST => {
                // Every sample is a first race: nothing learned from the last one.
                *self
                    .quic_first
                    .quic_memory()
                    .lock()
                    .map_err(|_| io::Error::other("memory poisoned"))? = QuicMemory::default();
                let start = Instant::now();
                let (session, report) = turbo_any(&self.quic_first, self.port).await?;
                let took = start.elapsed();
                session.close();
                let seen = attempts(&report);
                if seen
                    != [
                        (Transport::Quic, AttemptOutcome::Cancelled),
                        (Transport::Tcp, AttemptOutcome::Won),
                    ]
                {
                    return Err(io::Error::other(format!("unexpected attempts {seen:?}")));
                }
                let spacing = report.attempts[1]
                    .started
                    .saturating_sub(report.attempts[0].started);
                Ok((took, Some(spacing)))
            }
            REMEMBERED => {
                let broken = self
                    .remembered
                    .quic_memory()
                    .lock()
                    .map_err(|_| io::Error::other("memory poisoned"))?
                    .is_broken(HOST, self.port, Instant::now());
                if !broken {
                    // Untimed: one race that teaches the memory (again, if it expired).
                    turbo_any(&self.remembered, self.port).await?.0.close();
                }
                let start = Instant::now();
                let (session, report) = turbo_any(&self.remembered, self.port).await?;
                let took = start.elapsed();
                session.close();
                let seen = attempts(&report);
                if !report.quic_remembered_broken || seen != [(Transport::Tcp, AttemptOutcome::Won)]
                {
                    return Err(io::Error::other(format!(
                        "the memory was not used: attempts {seen:?}"
                    )));
                }
                Ok((took, None))
            }
            TURBO_TCP => {
                let start = Instant::now();
                let session = turbo_tcp(&self.tcp, self.port).await?;
                let took = start.elapsed();
                session.close();
                Ok((took, None))
            }
            _ => {
                let start = Instant::now();
                let session = self.hyper.h2().await?;
                let took = start.elapsed();
                session.close();
                Ok((took, None))
            }
        }
    }
}

fn s1_rows() -> Vec<Row> {
    vec![
        Row {
            key: "s1.ready",
            label: "1 UDP blocked, h3 advertised: time to a usable HTTP connection, median".into(),
            unit: "ms",
            agg: Agg::Median,
            better: Better::None,
            target: "",
        },
        Row {
            key: "s1.ready",
            label: "1 UDP blocked: time to a usable HTTP connection, max".into(),
            unit: "ms",
            agg: Agg::Max,
            better: Better::None,
            target: "",
        },
        Row {
            key: "s1.over",
            label: "1 UDP blocked: over hyper-util TCP only (medians, run by run)".into(),
            unit: "ms",
            agg: Agg::Median,
            better: Better::None,
            target: "QUIC first: ≤ attempt delay + 5 ms",
        },
        Row {
            key: "s1.spacing",
            label:
                "1 UDP blocked: TCP attempt's start after the QUIC attempt's (race report), median"
                    .into(),
            unit: "ms",
            agg: Agg::Median,
            better: Better::None,
            target: "= attempt delay",
        },
        Row {
            key: "s1.quinn",
            label: "1 UDP blocked: time until it gives up (never connects)".into(),
            unit: "s",
            agg: Agg::Median,
            better: Better::None,
            target: "",
        },
    ]
}

async fn scenario1(
    settings: &Settings,
    pki: &Pki,
    port: u16,
    samples: &mut Samples,
) -> io::Result<()> {
    let blocked = Blocked {
        port,
        quic_first: turbo(pki, port)?,
        remembered: turbo(pki, port)?,
        tcp: turbo(pki, port)?,
        hyper: HyperTcp::new(pki, port)?,
    };
    let active = [QUIC_FIRST, REMEMBERED, TURBO_TCP, HYPER_TCP];
    // Warm-up: endpoints bound, TLS tickets taken, the memory taught.
    for &c in &active {
        if let Err(e) = blocked.sample(c).await {
            samples.error("s1.warm-up", c, &e);
        }
    }
    let start = samples.run;
    for run in 0..settings.runs {
        samples.run = start + run;
        for round in 0..settings.rounds {
            for c in rotation(&active, round) {
                match blocked.sample(c).await {
                    Ok((took, spacing)) => {
                        samples.add("s1.ready", c, ms(took));
                        if let Some(spacing) = spacing {
                            samples.add("s1.spacing", c, ms(spacing));
                        }
                    }
                    Err(e) => samples.error("s1.ready", c, &e),
                }
            }
        }
    }
    samples.run = start;
    Ok(())
}

/// The difference to hyper-util TCP-only of each turbohttp column, run by run.
fn s1_over(samples: &Samples) -> HashMap<(&'static str, usize), Cell> {
    let hyper = samples.per_run("s1.ready", HYPER_TCP, Agg::Median);
    let mut cells = HashMap::new();
    for c in [QUIC_FIRST, REMEMBERED, TURBO_TCP] {
        let ours = samples.per_run("s1.ready", c, Agg::Median);
        if ours.len() != hyper.len() {
            continue;
        }
        let diffs = ours.iter().zip(&hyper).map(|(a, b)| a - b).collect();
        if let Some(cell) = Cell::of(diffs, Agg::Median) {
            cells.insert(("s1.over", c), cell);
        }
    }
    cells
}

// ---------------------------------------------------------------------------------
// Scenario 2: h3 healthy

const S2: [&str; 3] = [
    "turbohttp HTTP/3 (connect_any + http3_handshake)",
    "turbohttp HTTP/2 (connect + hyper http2)",
    "hyper-util HTTP/2 (HttpConnector + tokio-rustls + hyper http2)",
];
const TURBO_H3: usize = 0;
const TURBO_H2: usize = 1;
const HYPER_H2: usize = 2;

struct Healthy {
    port: u16,
    uri: Uri,
    h3: Turbo,
    h2: Turbo,
    hyper: HyperTcp,
}

/// What one connection of scenario 2 measured.
struct Exchange {
    ready: Duration,
    first: Duration,
    heads: Vec<Duration>,
    rate: f64,
}

impl Healthy {
    async fn connect(&self, column: usize) -> io::Result<Session> {
        match column {
            TURBO_H3 => {
                let (session, report) = turbo_any(&self.h3, self.port).await?;
                if !matches!(session, Session::H3(..)) {
                    let seen = attempts(&report);
                    return Err(io::Error::other(format!("QUIC lost: attempts {seen:?}")));
                }
                Ok(session)
            }
            TURBO_H2 => turbo_tcp(&self.h2, self.port).await,
            _ => self.hyper.h2().await,
        }
    }

    /// One connection of `column`, the first GET on it, then `gets` more.
    async fn exchange(&self, column: usize, gets: usize) -> io::Result<Exchange> {
        let start = Instant::now();
        let mut session = self.connect(column).await?;
        let ready = start.elapsed();
        let result = async {
            let (first, length) = session.get(&self.uri).await?;
            let mut heads = Vec::with_capacity(gets);
            let start = Instant::now();
            for _ in 0..gets {
                let (head, length) = session.get(&self.uri).await?;
                if length != BODY.len() {
                    return Err(io::Error::other(format!("a body of {length} bytes")));
                }
                heads.push(head);
            }
            let rate = gets as f64 / start.elapsed().as_secs_f64();
            if length != BODY.len() {
                return Err(io::Error::other(format!("a body of {length} bytes")));
            }
            Ok(Exchange {
                ready,
                first,
                heads,
                rate,
            })
        }
        .await;
        session.close();
        result
    }
}

fn s2_rows(gets: usize) -> Vec<Row> {
    vec![
        Row {
            key: "s2.ready",
            label: "2 h3 healthy: time to a usable HTTP connection, median".into(),
            unit: "ms",
            agg: Agg::Median,
            better: Better::Lower,
            target: "",
        },
        Row {
            key: "s2.first",
            label:
                "2 h3 healthy: first GET on the new connection, request to response head, median"
                    .into(),
            unit: "µs",
            agg: Agg::Median,
            better: Better::Lower,
            target: "",
        },
        Row {
            key: "s2.head",
            label: format!(
                "2 h3 healthy: the next {} GETs, request to response head, median",
                count(gets)
            ),
            unit: "µs",
            agg: Agg::Median,
            better: Better::Lower,
            target: "",
        },
        Row {
            key: "s2.head",
            label: format!(
                "2 h3 healthy: the next {} GETs, request to response head, p99",
                count(gets)
            ),
            unit: "µs",
            agg: Agg::P99,
            better: Better::Lower,
            target: "",
        },
        Row {
            key: "s2.rate",
            label: format!(
                "2 h3 healthy: requests/s, {} sequential GETs on one connection, median",
                count(gets)
            ),
            unit: "/s",
            agg: Agg::Median,
            better: Better::Higher,
            target: "",
        },
    ]
}

async fn scenario2(
    settings: &Settings,
    pki: &Pki,
    port: u16,
    samples: &mut Samples,
) -> io::Result<()> {
    let healthy = Healthy {
        port,
        uri: format!("https://{HOST}:{port}/")
            .parse()
            .map_err(io::Error::other)?,
        h3: turbo(pki, port)?,
        h2: turbo(pki, port)?,
        hyper: HyperTcp::new(pki, port)?,
    };
    let active = [TURBO_H3, TURBO_H2, HYPER_H2];
    for &c in &active {
        if let Err(e) = healthy.exchange(c, 1).await {
            samples.error("s2.warm-up", c, &e);
        }
    }
    let start = samples.run;
    for run in 0..settings.runs {
        samples.run = start + run;
        for round in 0..settings.rounds {
            for c in rotation(&active, round) {
                match healthy.exchange(c, settings.gets).await {
                    Ok(x) => {
                        samples.add("s2.ready", c, ms(x.ready));
                        samples.add("s2.first", c, us(x.first));
                        for head in x.heads {
                            samples.add("s2.head", c, us(head));
                        }
                        samples.add("s2.rate", c, x.rate);
                    }
                    Err(e) => samples.error("s2.exchange", c, &e),
                }
            }
        }
    }
    samples.run = start;
    Ok(())
}

// ---------------------------------------------------------------------------------
// The run

fn main() {
    let settings = Settings::from_env();
    match run(&settings) {
        Ok(true) => {}
        // The library failing is a bug worth a red CI.
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("quic bench: {e}");
            std::process::exit(1);
        }
    }
}

/// Runs the wanted scenarios and prints their tables; `false` when turbohttp failed.
fn run(settings: &Settings) -> io::Result<bool> {
    let pki = Pki::new()?;
    let lab = Lab::start(&pki)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let delay = HappyEyeballsOptions::default().attempt_spacing_delay;
    let goal = delay + Duration::from_millis(5);
    let began = Instant::now();
    let mut ok = true;
    let mut out = String::new();

    if settings.scenarios.contains(&1) {
        let mut samples = Samples::default();
        runtime.block_on(scenario1(settings, &pki, lab.blocked, &mut samples))?;
        // quinn alone, after the runs: each sample takes its whole timeout.
        let addr = SocketAddr::new(LOOPBACK, lab.blocked);
        let mut quinn_error = None;
        for i in 0..settings.quic_only {
            samples.run = i;
            match runtime.block_on(quinn_alone(&pki, addr, settings.smoke)) {
                Ok((took, error)) => {
                    samples.add("s1.quinn", QUINN, took.as_secs_f64());
                    quinn_error.get_or_insert(error);
                }
                Err(e) => samples.error("s1.quinn", QUINN, &e),
            }
        }
        samples.run = 0;
        let mut text = HashMap::new();
        if settings.quic_only > 0 {
            text.insert(("s1.ready", QUINN), "never".to_owned());
        }
        let over = s1_over(&samples);
        let _ = writeln!(out);
        out.push_str(&render(&S1, &s1_rows(), &samples, &over, &text));
        let _ = writeln!(
            out,
            "\ncell: median over the runs of each run's statistic [smallest–largest run] (a \
             maximum: the largest run). {} runs × {} rounds, one connect per contender per round; attempt delay (attempt_spacing_delay) \
             {:.0} ms.",
            settings.runs,
            settings.rounds,
            ms(delay)
        );
        if let Some(cell) = over.get(&("s1.over", QUIC_FIRST)) {
            let holds = cell.hi <= ms(goal);
            let _ = writeln!(
                out,
                "goal: turbohttp (QUIC first) − hyper-util TCP only ≤ attempt delay + 5 ms = {:.0} \
                 ms: {} (median {} ms, runs {}–{} ms)",
                ms(goal),
                if holds {
                    "holds in every run"
                } else {
                    "missed in at least one run"
                },
                number(cell.value),
                number(cell.lo),
                number(cell.hi)
            );
        }
        if let Some(error) = quinn_error {
            let _ = writeln!(
                out,
                "quinn alone ({} sample{}, {}): gave up with \"{error}\"",
                settings.quic_only,
                if settings.quic_only == 1 { "" } else { "s" },
                if settings.smoke {
                    "smoke: idle timeout 0.3 s, initial RTT 10 ms"
                } else {
                    "quinn's default transport config: max_idle_timeout 30 s"
                }
            );
        }
        ok &= !notes_of(&samples, &S1, &mut out);
    }

    if settings.scenarios.contains(&2) {
        let mut samples = Samples::default();
        runtime.block_on(scenario2(settings, &pki, lab.healthy, &mut samples))?;
        let _ = writeln!(out);
        out.push_str(&render(
            &S2,
            &s2_rows(settings.gets),
            &samples,
            &HashMap::new(),
            &HashMap::new(),
        ));
        let _ = writeln!(
            out,
            "\ncell: median over the runs of each run's statistic [smallest–largest run]; ratio: \
             times worse than the best on the row (rates: best ÷ value). {} runs × {} rounds, one \
             new connection per contender per round, then 1 + {} GETs of a {}-byte body on it.",
            settings.runs,
            settings.rounds,
            count(settings.gets),
            count(BODY.len())
        );
        ok &= !notes_of(&samples, &S2, &mut out);
    }

    drop(runtime);
    drop(lab);
    let _ = writeln!(
        out,
        "\n{:.1} s of measuring{}",
        began.elapsed().as_secs_f64(),
        if settings.smoke {
            " (smoke: the numbers mean nothing)"
        } else {
            ""
        }
    );
    print!("{out}");
    Ok(ok)
}
