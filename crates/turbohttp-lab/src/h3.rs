//! An HTTP/3 server on loopback (quinn + h3) for QUIC races: [`H3Server`] serves GETs,
//! or refuses every connection at once ([`QuicBehaviour::Refuse`]); [`UdpBlackHole`]
//! is a bound UDP port that never answers (UDP blocked by a firewall).
//!
//! ```no_run
//! # async fn run(tls: std::sync::Arc<rustls::ServerConfig>) -> std::io::Result<()> {
//! use turbohttp_lab::h3::{H3Server, QuicBehaviour};
//!
//! let server = H3Server::start("[::1]:0".parse().unwrap(), tls, QuicBehaviour::serve("hello"))?;
//! println!("HTTP/3 on udp {}", server.addr());
//! # Ok(()) }
//! ```

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use tokio::task::JoinHandle;

/// What an [`H3Server`] does with a connection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum QuicBehaviour {
    /// Completes the handshake and answers every request `200` with `body` (and
    /// `alt-svc`, `server: turbohttp-lab-h3`).
    Serve {
        /// The response body.
        body: &'static str,
    },
    /// Refuses every connection at once (CONNECTION_REFUSED, before any TLS).
    Refuse,
    /// Completes the QUIC handshake, then closes the connection with
    /// H3_GENERAL_PROTOCOL_ERROR before any request: QUIC works, HTTP/3 does not.
    BreakHttp3,
}

impl QuicBehaviour {
    /// [`QuicBehaviour::Serve`].
    pub fn serve(body: &'static str) -> Self {
        Self::Serve { body }
    }
}

/// An HTTP/3 server on a UDP port of loopback, running on the current tokio runtime
/// until dropped.
#[derive(Debug)]
pub struct H3Server {
    addr: SocketAddr,
    endpoint: quinn::Endpoint,
    handshakes: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl H3Server {
    /// Binds `addr` and serves with `tls` (its certificate; ALPN is set to `h3`).
    /// Needs a tokio runtime.
    pub fn start(
        addr: SocketAddr,
        tls: Arc<rustls::ServerConfig>,
        behaviour: QuicBehaviour,
    ) -> io::Result<Self> {
        let mut tls = (*tls).clone();
        tls.alpn_protocols = vec![b"h3".to_vec()];
        tls.max_early_data_size = 0;
        let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(Arc::new(tls))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
        let endpoint = quinn::Endpoint::server(config, addr)?;
        let addr = endpoint.local_addr()?;
        let handshakes = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(accept_loop(
            endpoint.clone(),
            behaviour,
            Arc::clone(&handshakes),
        ));
        Ok(Self {
            addr,
            endpoint,
            handshakes,
            task,
        })
    }

    /// The UDP address it serves on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many QUIC handshakes completed.
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }

    /// How many QUIC connections it holds now (open, or closing but not yet gone).
    pub fn open_connections(&self) -> usize {
        self.endpoint.open_connections()
    }
}

impl Drop for H3Server {
    fn drop(&mut self) {
        self.endpoint.close(0u32.into(), b"lab closed");
        self.task.abort();
    }
}

async fn accept_loop(
    endpoint: quinn::Endpoint,
    behaviour: QuicBehaviour,
    handshakes: Arc<AtomicUsize>,
) {
    while let Some(incoming) = endpoint.accept().await {
        match &behaviour {
            QuicBehaviour::Refuse => incoming.refuse(),
            QuicBehaviour::BreakHttp3 => {
                let handshakes = Arc::clone(&handshakes);
                tokio::spawn(async move {
                    let Ok(connection) = incoming.await else {
                        return;
                    };
                    handshakes.fetch_add(1, Ordering::SeqCst);
                    const H3_GENERAL_PROTOCOL_ERROR: u32 = 0x101;
                    connection.close(H3_GENERAL_PROTOCOL_ERROR.into(), b"no HTTP/3 here");
                });
            }
            QuicBehaviour::Serve { body } => {
                let body = *body;
                let handshakes = Arc::clone(&handshakes);
                tokio::spawn(async move {
                    let Ok(connection) = incoming.await else {
                        return;
                    };
                    handshakes.fetch_add(1, Ordering::SeqCst);
                    serve(connection, body).await;
                });
            }
        }
    }
}

async fn serve(connection: quinn::Connection, body: &'static str) {
    let Ok(mut h3) =
        h3::server::Connection::<_, Bytes>::new(h3_quinn::Connection::new(connection)).await
    else {
        return;
    };
    while let Ok(Some(resolver)) = h3.accept().await {
        tokio::spawn(async move {
            let Ok((_request, mut stream)) = resolver.resolve_request().await else {
                return;
            };
            let response = http::Response::builder()
                .status(http::StatusCode::OK)
                .header("server", "turbohttp-lab-h3")
                .header("content-length", body.len())
                .body(())
                .unwrap_or_default();
            if stream.send_response(response).await.is_ok()
                && stream
                    .send_data(Bytes::from_static(body.as_bytes()))
                    .await
                    .is_ok()
            {
                let _ = stream.finish().await;
            }
        });
    }
}

/// A UDP port on loopback that receives and never answers: QUIC to it gets no reply,
/// as behind a firewall that drops UDP.
#[derive(Debug)]
pub struct UdpBlackHole {
    socket: UdpSocket,
}

impl UdpBlackHole {
    /// Binds `addr` (port 0: any free port).
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        Ok(Self {
            socket: UdpSocket::bind(addr)?,
        })
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.socket
            .local_addr()
            .unwrap_or_else(|_| unreachable!("a bound socket has an address"))
    }

    /// How many datagrams reached it since the last call (read without waiting; a
    /// peek by [`was_sent_to`](Self::was_sent_to) leaves its datagram to be counted).
    pub fn take_datagrams(&self) -> usize {
        let mut buf = [0u8; 2048];
        let mut count = 0;
        if self.socket.set_nonblocking(true).is_err() {
            return 0;
        }
        while self.socket.recv_from(&mut buf).is_ok() {
            count += 1;
        }
        count
    }

    /// Whether a datagram reached it (read without waiting).
    pub fn was_sent_to(&self) -> bool {
        let mut buf = [0u8; 1];
        self.socket.set_nonblocking(true).is_ok() && self.socket.peek_from(&mut buf).is_ok()
    }
}
