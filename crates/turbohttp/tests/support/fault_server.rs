//! A fault server on loopback (127.0.0.1 and ::1 only): one endpoint per fault and
//! family, each behaving one way, and a private PKI for its TLS endpoints. Shutting it
//! down closes every socket it holds before `shutdown` returns, so that a test can
//! count this process's descriptors right after.

use std::fmt;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream as StdTcpStream};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// The only addresses the fault server ever uses.
pub const LOOPBACKS: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::LOCALHOST),
    IpAddr::V6(Ipv6Addr::LOCALHOST),
];

/// How an endpoint behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// Accepts and echoes every byte back (plain TCP).
    Echo,
    /// Accepts and resets at once (`SO_LINGER` 0, then close).
    Reset,
    /// Accepts and never speaks; closes when the client does.
    Silent,
    /// Nothing listens: connects are refused. The port is held by a socket that is
    /// bound but not listening, so no other process can take it.
    Refuse,
    /// The accept queue is full (backlog 0, its one slot taken by our own
    /// connection): connects never complete.
    Stall,
    /// TLS with a certificate valid for the name, then echo.
    TlsEcho,
    /// TLS with a certificate for another name: the handshake fails verification.
    TlsBadCert,
}

impl Fault {
    /// Every fault.
    pub const ALL: [Fault; 7] = [
        Fault::Echo,
        Fault::Reset,
        Fault::Silent,
        Fault::Refuse,
        Fault::Stall,
        Fault::TlsEcho,
        Fault::TlsBadCert,
    ];
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Echo => "echo",
            Self::Reset => "reset",
            Self::Silent => "silent",
            Self::Refuse => "refuse",
            Self::Stall => "stall",
            Self::TlsEcho => "tls-echo",
            Self::TlsBadCert => "tls-bad-cert",
        })
    }
}

/// A private CA, the certificate for the name the tests connect to, and one for
/// another name.
pub struct Pki {
    root: CertificateDer<'static>,
    good: Arc<ServerConfig>,
    bad: Arc<ServerConfig>,
}

impl Pki {
    /// Certificates for `name` (good) and `other` (bad), from a fresh CA.
    pub fn new(name: &str, other: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer =
            CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
        let config = |name: &str| {
            let key = KeyPair::generate().expect("key");
            let cert = CertificateParams::new(vec![name.to_owned()])
                .expect("params")
                .signed_by(&key, &issuer)
                .expect("certificate");
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            Arc::new(
                ServerConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .expect("versions")
                    .with_no_client_auth()
                    .with_single_cert(
                        vec![cert.der().clone()],
                        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
                    )
                    .expect("server config"),
            )
        };
        Self {
            root: issuer.der().clone(),
            good: config(name),
            bad: config(other),
        }
    }

    /// The CA certificate, to trust.
    pub fn root(&self) -> CertificateDer<'static> {
        self.root.clone()
    }
}

/// One endpoint of the fault server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// Where it listens (127.0.0.1 or ::1).
    pub addr: SocketAddr,
    /// How it behaves.
    pub fault: Fault,
}

/// The running fault server: every fault on both loopback addresses.
pub struct FaultServer {
    endpoints: Vec<Endpoint>,
    tasks: JoinSet<()>,
    stop: CancellationToken,
    /// Sockets held without a task: stalled listeners with their fillers, and the
    /// bound-not-listening sockets of the refusing ports.
    held: Vec<Socket>,
    fillers: Vec<StdTcpStream>,
}

impl FaultServer {
    /// Starts every endpoint.
    pub async fn start(pki: &Pki) -> Self {
        let mut server = Self {
            endpoints: Vec::new(),
            tasks: JoinSet::new(),
            stop: CancellationToken::new(),
            held: Vec::new(),
            fillers: Vec::new(),
        };
        for ip in LOOPBACKS {
            for fault in Fault::ALL {
                let port = server.endpoint(ip, fault, pki).await;
                server.endpoints.push(Endpoint {
                    addr: SocketAddr::new(ip, port),
                    fault,
                });
            }
        }
        server
    }

    /// The endpoints, two per fault (one per family).
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    async fn endpoint(&mut self, ip: IpAddr, fault: Fault, pki: &Pki) -> u16 {
        assert!(ip.is_loopback(), "the fault server only uses loopback");
        let any_port = SocketAddr::new(ip, 0);
        match fault {
            Fault::Refuse => {
                let socket = socket_for(any_port);
                socket.bind(&any_port.into()).expect("bind");
                let port = port_of(&socket);
                self.held.push(socket);
                port
            }
            Fault::Stall => {
                let socket = socket_for(any_port);
                socket.bind(&any_port.into()).expect("bind");
                socket.listen(0).expect("listen");
                let port = port_of(&socket);
                let filler = StdTcpStream::connect_timeout(
                    &SocketAddr::new(ip, port),
                    Duration::from_secs(5),
                )
                .expect("the first connect fills the accept queue");
                self.held.push(socket);
                self.fillers.push(filler);
                port
            }
            _ => {
                let listener = TcpListener::bind(any_port).await.expect("bind");
                let port = listener.local_addr().expect("addr").port();
                let tls = match fault {
                    Fault::TlsEcho => Some(TlsAcceptor::from(pki.good.clone())),
                    Fault::TlsBadCert => Some(TlsAcceptor::from(pki.bad.clone())),
                    _ => None,
                };
                self.tasks
                    .spawn(serve(listener, fault, tls, self.stop.clone()));
                port
            }
        }
    }

    /// Stops every endpoint; returns once every socket the server held is closed.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        while let Some(joined) = self.tasks.join_next().await {
            joined.expect("a fault server task panicked");
        }
        drop(self.held);
        drop(self.fillers);
    }
}

fn socket_for(addr: SocketAddr) -> Socket {
    Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).expect("socket")
}

fn port_of(socket: &Socket) -> u16 {
    socket
        .local_addr()
        .expect("local addr")
        .as_socket()
        .expect("inet")
        .port()
}

/// Accepts until stopped; connections are tasks of a set that is shut down (and so
/// every accepted socket closed) before this returns.
async fn serve(
    listener: TcpListener,
    fault: Fault,
    tls: Option<TlsAcceptor>,
    stop: CancellationToken,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                match fault {
                    Fault::Reset => {
                        let _ = SockRef::from(&tcp).set_linger(Some(Duration::ZERO));
                        drop(tcp);
                    }
                    Fault::Echo => {
                        connections.spawn(echo(tcp));
                    }
                    Fault::Silent => {
                        connections.spawn(silent(tcp));
                    }
                    Fault::TlsEcho | Fault::TlsBadCert => {
                        let acceptor = tls.clone().expect("a TLS endpoint has an acceptor");
                        connections.spawn(async move {
                            if let Ok(stream) = acceptor.accept(tcp).await {
                                echo(stream).await;
                            }
                        });
                    }
                    Fault::Refuse | Fault::Stall => unreachable!("no listener task"),
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    let mut buf = vec![0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() || stream.flush().await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Reads (and ignores) until the client closes, never writing a byte.
async fn silent(mut tcp: TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = tcp.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

/// How many descriptors this process has open.
pub fn open_fds() -> usize {
    fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// `(VmRSS, VmHWM)` of this process, in KiB.
pub fn memory_kib() -> (u64, u64) {
    let status = fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in /proc/self/status"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}
