//! Proxies on loopback for the proxy tests: an HTTP CONNECT proxy and a SOCKS5 proxy
//! (no authentication). Each records what it was asked, resolves the origin's name
//! itself from its own table (the proxy's DNS, loopback addresses only), connects,
//! and splices both ways. Either can be told to refuse, or to stay silent, instead.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// What a proxy does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Connects to the target and splices.
    Allow,
    /// Refuses: `403 Forbidden` to CONNECT, "connection not allowed" (0x02) to SOCKS.
    Refuse,
    /// Accepts the connection, reads what the client sends and never answers.
    Silent,
}

/// What a SOCKS5 client asked to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocksTarget {
    /// A name, for the proxy to resolve (ATYP 0x03).
    Domain(String, u16),
    /// An address the client resolved (ATYP 0x01 or 0x04).
    Ip(SocketAddr),
}

/// The proxies' own name table and what they were asked, shared by every proxy of a
/// lab; their tasks end (and close every socket) when the lab is shut down or dropped.
pub struct ProxyLab {
    tasks: JoinSet<()>,
    names: Arc<HashMap<String, IpAddr>>,
    connect_requests: Arc<Mutex<Vec<String>>>,
    socks_requests: Arc<Mutex<Vec<SocksTarget>>>,
}

impl ProxyLab {
    /// A lab whose proxies resolve each `(name, ip)` of `names` (loopback only).
    pub fn new(names: impl IntoIterator<Item = (&'static str, IpAddr)>) -> Self {
        let names: HashMap<_, _> = names
            .into_iter()
            .inspect(|(_, ip)| assert!(ip.is_loopback(), "the lab stays on loopback"))
            .map(|(name, ip)| (name.to_owned(), ip))
            .collect();
        Self {
            tasks: JoinSet::new(),
            names: Arc::new(names),
            connect_requests: Arc::default(),
            socks_requests: Arc::default(),
        }
    }

    /// The request lines the CONNECT proxies received, in order.
    pub fn connect_requests(&self) -> Vec<String> {
        self.connect_requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The targets the SOCKS5 proxies were asked for, in order.
    pub fn socks_requests(&self) -> Vec<SocksTarget> {
        self.socks_requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// An HTTP CONNECT proxy on `addr`; returns its port.
    pub async fn http_connect(&mut self, addr: SocketAddr, policy: Policy) -> u16 {
        let names = Arc::clone(&self.names);
        let asked = Arc::clone(&self.connect_requests);
        self.serve(addr, move |client| {
            connect_proxy(client, policy, Arc::clone(&names), Arc::clone(&asked))
        })
        .await
    }

    /// A SOCKS5 proxy (no authentication, CONNECT only) on `addr`; returns its port.
    pub async fn socks5(&mut self, addr: SocketAddr, policy: Policy) -> u16 {
        let names = Arc::clone(&self.names);
        let asked = Arc::clone(&self.socks_requests);
        self.serve(addr, move |client| {
            socks5_proxy(client, policy, Arc::clone(&names), Arc::clone(&asked))
        })
        .await
    }

    /// Stops every proxy and waits until their sockets are closed.
    pub async fn shutdown(mut self) {
        self.tasks.shutdown().await;
    }

    /// Accepts on `addr` and runs `handle` per connection, as tasks owned by the
    /// accept task, so that stopping it aborts them too.
    async fn serve<F, H>(&mut self, addr: SocketAddr, handle: H) -> u16
    where
        H: Fn(TcpStream) -> F + Send + 'static,
        F: Future<Output = io::Result<()>> + Send + 'static,
    {
        let listener = TcpListener::bind(addr).await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        self.tasks.spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { continue };
                        connections.spawn(handle(client));
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        port
    }
}

fn record<T>(list: &Mutex<Vec<T>>, item: T) {
    list.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(item);
}

/// The proxy's DNS: the lab's table, or an IP literal; loopback only.
fn resolve(names: &HashMap<String, IpAddr>, host: &str) -> Option<IpAddr> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let ip = names.get(host).copied().or_else(|| bare.parse().ok())?;
    ip.is_loopback().then_some(ip)
}

/// Holds the connection open without a word until the client leaves.
async fn stay_silent(mut client: TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 1024];
    while client.read(&mut buf).await? > 0 {}
    Ok(())
}

/// One CONNECT: reads the head, records its request line, answers and splices.
async fn connect_proxy(
    mut client: TcpStream,
    policy: Policy,
    names: Arc<HashMap<String, IpAddr>>,
    asked: Arc<Mutex<Vec<String>>>,
) -> io::Result<()> {
    if policy == Policy::Silent {
        return stay_silent(client).await;
    }
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let end = loop {
        let n = client.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let text = String::from_utf8_lossy(&head[..end]).into_owned();
    let line = text.lines().next().unwrap_or_default().to_owned();
    record(&asked, line.clone());
    let target = line
        .strip_prefix("CONNECT ")
        .and_then(|rest| rest.strip_suffix(" HTTP/1.1"))
        .and_then(|authority| authority.rsplit_once(':'))
        .and_then(|(host, port)| Some((resolve(&names, host)?, port.parse::<u16>().ok()?)));
    let upstream = match (policy, target) {
        (Policy::Allow, Some(target)) => TcpStream::connect(target).await.ok(),
        _ => None,
    };
    let Some(mut upstream) = upstream else {
        client
            .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await?;
    // Whatever the client sent after the head belongs to the origin.
    upstream.write_all(&head[end..]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// One SOCKS5 session (RFC 1928): no authentication, CONNECT only.
async fn socks5_proxy(
    mut client: TcpStream,
    policy: Policy,
    names: Arc<HashMap<String, IpAddr>>,
    asked: Arc<Mutex<Vec<SocksTarget>>>,
) -> io::Result<()> {
    if policy == Policy::Silent {
        return stay_silent(client).await;
    }
    // Greeting: VER NMETHODS METHODS...; "no authentication" must be among them.
    let [version, count] = read_array(&mut client).await?;
    let mut methods = vec![0u8; usize::from(count)];
    client.read_exact(&mut methods).await?;
    if version != 5 || !methods.contains(&0) {
        client.write_all(&[5, 0xFF]).await?;
        return Ok(());
    }
    client.write_all(&[5, 0]).await?;

    // Request: VER CMD RSV ATYP DST.ADDR DST.PORT.
    let [_, command, _, kind] = read_array(&mut client).await?;
    let target = match kind {
        1 => IpAddr::from(read_array::<4>(&mut client).await?),
        4 => IpAddr::from(read_array::<16>(&mut client).await?),
        3 => {
            let [len] = read_array(&mut client).await?;
            let mut name = vec![0u8; usize::from(len)];
            client.read_exact(&mut name).await?;
            let name = String::from_utf8_lossy(&name).into_owned();
            let port = u16::from_be_bytes(read_array(&mut client).await?);
            record(&asked, SocksTarget::Domain(name.clone(), port));
            let ip = resolve(&names, &name);
            return socks5_reply(client, command, policy, ip.map(|ip| (ip, port).into())).await;
        }
        _ => return reply(&mut client, 8).await, // address type not supported
    };
    let port = u16::from_be_bytes(read_array(&mut client).await?);
    let target = SocketAddr::new(target, port);
    record(&asked, SocksTarget::Ip(target));
    let target = target.ip().is_loopback().then_some(target);
    socks5_reply(client, command, policy, target).await
}

async fn socks5_reply(
    mut client: TcpStream,
    command: u8,
    policy: Policy,
    target: Option<SocketAddr>,
) -> io::Result<()> {
    if command != 1 {
        return reply(&mut client, 7).await; // command not supported
    }
    if policy == Policy::Refuse {
        return reply(&mut client, 2).await; // connection not allowed by ruleset
    }
    let Some(target) = target else {
        return reply(&mut client, 4).await; // host unreachable
    };
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        return reply(&mut client, 5).await; // connection refused
    };
    reply(&mut client, 0).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// A reply with `status`, bound to 0.0.0.0:0 (clients ignore it for CONNECT).
async fn reply(client: &mut TcpStream, status: u8) -> io::Result<()> {
    client.write_all(&[5, status, 0, 1, 0, 0, 0, 0, 0, 0]).await
}

async fn read_array<const N: usize>(stream: &mut TcpStream) -> io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    stream.read_exact(&mut bytes).await?;
    Ok(bytes)
}
