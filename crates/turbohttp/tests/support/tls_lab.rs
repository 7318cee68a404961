//! Loopback fixtures for the transport tests: a private CA and TLS servers, a
//! black-holed IPv6 listener, a refusing port, a resetting server, and ways to count
//! this process's sockets. Only 127.0.0.1 and ::1 are ever used.

use std::convert::Infallible;
use std::fs;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream as StdTcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
pub use rcgen::ExtendedKeyUsagePurpose;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use turbohttp::{NoResolver, StaticResolver};

pub const V6: Ipv6Addr = Ipv6Addr::LOCALHOST;
pub const V4: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// Tests that count descriptors or sockets must not overlap with other tests of the
/// same process (`cargo test` runs a file's tests on threads): every test of a file
/// runs under this lock.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `test` on a fresh current-thread runtime, one test at a time.
pub fn run<F: std::future::Future>(test: F) -> F::Output {
    let _serial: MutexGuard<'_, ()> = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let output = runtime.block_on(test);
    // Dropped under the lock: the runtime closes what its tasks still held.
    drop(runtime);
    output
}

/// `name:port` resolves to `addrs`, in that order; nothing else resolves.
pub fn resolver(
    name: &str,
    port: u16,
    addrs: impl IntoIterator<Item = SocketAddr>,
) -> StaticResolver<NoResolver> {
    StaticResolver::with_fallback(NoResolver).with_override(name, port, addrs)
}

pub fn v6(port: u16) -> SocketAddr {
    SocketAddr::from((V6, port))
}

pub fn v4(port: u16) -> SocketAddr {
    SocketAddr::from((V4, port))
}

/// A private CA that signs server certificates.
pub struct Pki {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    pub fn new() -> Self {
        Self::with_params(CertificateParams::new(Vec::<String>::new()).expect("params"))
    }

    /// A CA with a subject name of its own (the CAs of [`Pki::new`] share rcgen's
    /// default one, so a peer takes any of them for the issuer of the others'
    /// certificates and reports a bad signature rather than an unknown issuer).
    pub fn named(common_name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        Self::with_params(params)
    }

    fn with_params(mut params: CertificateParams) -> Self {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().expect("key");
        Self {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA"),
        }
    }

    /// The CA certificate, to trust.
    pub fn root(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// The CA certificate in PEM.
    pub fn root_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A rustls server configuration (ring) with a certificate for `name`, offering
    /// `alpn`.
    pub fn server_config(&self, name: &str, alpn: &[&[u8]]) -> Arc<ServerConfig> {
        self.server_config_with(name, alpn, rustls::DEFAULT_VERSIONS, None)
    }

    /// A server configuration offering only `versions`, and requiring a client
    /// certificate issued by `client_ca` if given (rustls' `WebPkiClientVerifier`).
    pub fn server_config_with(
        &self,
        name: &str,
        alpn: &[&[u8]],
        versions: &[&'static rustls::SupportedProtocolVersion],
        client_ca: Option<&Pki>,
    ) -> Arc<ServerConfig> {
        let (chain, key) = self.certificate(name, ExtendedKeyUsagePurpose::ServerAuth);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(versions)
            .expect("versions");
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(ca.root()).expect("client CA");
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .expect("client verifier");
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_single_cert(chain, key).expect("server config");
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }

    /// A certificate for `name` signed by this CA, for `usage`, and its key.
    pub fn certificate(
        &self,
        name: &str,
        usage: ExtendedKeyUsagePurpose,
    ) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let (cert, key) = self.certificate_pem(name, usage);
        (
            vec![CertificateDer::from_pem_slice(cert.as_bytes()).expect("certificate")],
            PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key"),
        )
    }

    /// A server certificate for `name` signed by this CA, its parameters changed by
    /// `change` first (a validity in the past, say), and its key.
    pub fn certificate_with(
        &self,
        name: &str,
        change: impl FnOnce(&mut CertificateParams),
    ) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("params");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        change(&mut params);
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        (
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
    }

    /// The same, as PEM: the certificate, then the PKCS#8 key.
    pub fn certificate_pem(&self, name: &str, usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("params");
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        (cert.pem(), key.serialize_pem())
    }
}

/// A listener whose accept queue is full: it was made with backlog 0 and one
/// connection already fills its only slot, so further SYNs are dropped and connects
/// stall, like a black-holed path. On `[::1]` it fakes a broken IPv6 network.
pub struct StalledListener {
    pub port: u16,
    _listener: Socket,
    _filler: StdTcpStream,
}

impl StalledListener {
    /// Listens on `addr` (port 0 for any).
    pub fn new(addr: SocketAddr) -> Self {
        let listener = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .expect("socket");
        listener.bind(&addr.into()).expect("bind");
        listener.listen(0).expect("listen");
        let port = listener
            .local_addr()
            .expect("local addr")
            .as_socket()
            .expect("inet")
            .port();
        let filler = StdTcpStream::connect_timeout(
            &SocketAddr::new(addr.ip(), port),
            Duration::from_secs(5),
        )
        .expect("the first connect fills the queue");
        Self {
            port,
            _listener: listener,
            _filler: filler,
        }
    }
}

/// A port where nothing listens, held for as long as the guard lives: its socket is
/// bound but never listens, so connects to [`port`](Self::port) are refused at once and
/// no other test (or process) can take the port meanwhile.
pub struct ClosedPort {
    /// The refused port.
    pub port: u16,
    _socket: Socket,
}

/// A port on `addr`'s address where nothing listens: connects are refused at once for
/// as long as the returned guard lives. Keep the guard (`let closed = closed_port(..)`),
/// not just its port.
#[must_use = "the port is only reserved while the guard lives"]
pub fn closed_port(addr: SocketAddr) -> ClosedPort {
    let socket =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).expect("socket");
    socket.bind(&addr.into()).expect("bind");
    let port = socket
        .local_addr()
        .expect("local addr")
        .as_socket()
        .expect("inet")
        .port();
    ClosedPort {
        port,
        _socket: socket,
    }
}

/// A listener that completes TCP handshakes in the kernel and never accepts, in
/// non-blocking mode so that a test can check, without waiting, whether anything
/// connected.
pub fn idle_listener(addr: SocketAddr) -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind(addr).expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

/// Whether anything connected to an [`idle_listener`].
pub fn was_dialed(listener: &std::net::TcpListener) -> bool {
    match listener.accept() {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(e) => panic!("accept failed: {e}"),
    }
}

/// What a recording server saw of one handshake: the client's certificate chain, or
/// its handshake error as text.
pub type Handshake = Result<Option<Vec<CertificateDer<'static>>>, String>;

/// Servers, as tasks that end (and close every socket they hold) when the set is
/// shut down or dropped. They count the connections they hold open, so that a test
/// can tell its own descriptors from theirs.
pub struct Servers {
    tasks: JoinSet<()>,
    live: Arc<AtomicUsize>,
}

/// One accepted connection held by a server. It is made in the same poll as the
/// `accept` and dropped with the future that holds the stream, so on the tests'
/// one-thread runtime the count always matches the descriptors when a test looks.
struct Live(Arc<AtomicUsize>);

impl Live {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(count))
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Servers {
    pub fn new() -> Self {
        Self {
            tasks: JoinSet::new(),
            live: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// How many accepted connections the servers hold open right now.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Accepts TCP connections on `addr` and resets each one (`SO_LINGER` 0) once it
    /// has sent something (the TLS ClientHello): a path that connects but breaks
    /// during the handshake.
    pub async fn resetting(&mut self, addr: SocketAddr) -> u16 {
        let listener = TcpListener::bind(addr).await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let live = Arc::clone(&self.live);
        self.tasks.spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                let _live = Live::new(&live);
                let mut buf = [0u8; 512];
                let _ = stream.read(&mut buf).await;
                let _ = SockRef::from(&stream).set_linger(Some(Duration::ZERO));
                drop(stream);
            }
        });
        port
    }

    /// Accepts plain TCP connections on `addr` and closes them at once.
    pub async fn accepting(&mut self, addr: SocketAddr) -> u16 {
        let listener = TcpListener::bind(addr).await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        self.tasks.spawn(async move {
            loop {
                drop(listener.accept().await);
            }
        });
        port
    }

    /// Serves HTTP (HTTP/1.1 and h2, by hyper-util's auto builder) over TLS on
    /// `addr`. Connections are tasks owned by the accept task, so that stopping it
    /// aborts them too.
    pub async fn https(&mut self, addr: SocketAddr, config: Arc<ServerConfig>) -> u16 {
        let listener = TcpListener::bind(addr).await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let acceptor = TlsAcceptor::from(config);
        let live = Arc::clone(&self.live);
        self.tasks.spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((tcp, _)) = accepted else { continue };
                        let guard = Live::new(&live);
                        // Without it, Nagle and delayed ACKs hold small h2 frames back.
                        let _ = tcp.set_nodelay(true);
                        let acceptor = acceptor.clone();
                        connections.spawn(async move {
                            let _live = guard;
                            if let Ok(tls) = acceptor.accept(tcp).await {
                                serve_http(TokioIo::new(tls)).await;
                            }
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        port
    }

    /// Like [`Servers::https`], and reports each handshake: the client's certificate
    /// chain (`None` when it sent none) or the server's handshake error.
    pub async fn https_recording(
        &mut self,
        addr: SocketAddr,
        config: Arc<ServerConfig>,
    ) -> (u16, tokio::sync::mpsc::UnboundedReceiver<Handshake>) {
        let listener = TcpListener::bind(addr).await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let acceptor = TlsAcceptor::from(config);
        let (report, handshakes) = tokio::sync::mpsc::unbounded_channel();
        let live = Arc::clone(&self.live);
        self.tasks.spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((tcp, _)) = accepted else { continue };
                        let guard = Live::new(&live);
                        let _ = tcp.set_nodelay(true);
                        let acceptor = acceptor.clone();
                        let report = report.clone();
                        connections.spawn(async move {
                            let _live = guard;
                            match acceptor.accept(tcp).await {
                                Ok(tls) => {
                                    let peer = tls.get_ref().1.peer_certificates().map(<[_]>::to_vec);
                                    let _ = report.send(Ok(peer));
                                    serve_http(TokioIo::new(tls)).await;
                                }
                                Err(e) => {
                                    let _ = report.send(Err(e.to_string()));
                                }
                            }
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        (port, handshakes)
    }

    /// Serves plain HTTP on `addr`.
    pub async fn http(&mut self, addr: SocketAddr) -> u16 {
        let listener = TcpListener::bind(addr).await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let live = Arc::clone(&self.live);
        self.tasks.spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((tcp, _)) = accepted else { continue };
                        let guard = Live::new(&live);
                        // Without it, Nagle and delayed ACKs hold small h2 frames back.
                        let _ = tcp.set_nodelay(true);
                        connections.spawn(async move {
                            let _live = guard;
                            serve_http(TokioIo::new(tcp)).await;
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        port
    }

    /// Stops every server and waits until their sockets are closed.
    pub async fn shutdown(mut self) {
        self.tasks.shutdown().await;
    }
}

async fn serve_http<I>(io: I)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(|request: Request<Incoming>| async move {
        let body = format!("{:?} {}", request.version(), request.uri().path());
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
    });
    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
        .serve_connection(io, service)
        .await;
}

/// How many descriptors this process has open.
pub fn open_fds() -> usize {
    fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}
