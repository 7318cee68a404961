//! [`BlackHole`]: an address on `[::1]` where TCP connects stall, as on a network whose
//! IPv6 route is broken.
//!
//! It is a listener with a listen backlog of 0 whose accept queue is filled with
//! connections of its own, never accepted. The kernel then drops further SYNs, so a
//! connect to it neither succeeds nor fails.

use std::net::{Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::timeout;

/// How long a probe connect to the black hole may take before it counts as stalled.
const PROBE: Duration = Duration::from_millis(100);

/// The most connections the lab makes to fill the black hole's queue (one is enough
/// on Linux with a backlog of 0; some kernels queue a few more).
const MAX_FILLERS: usize = 16;

/// An address on `[::1]` where connects stall, for as long as this value lives.
#[derive(Debug)]
pub struct BlackHole {
    addr: SocketAddr,
    _listener: TcpListener,
    _fillers: Vec<TcpStream>,
}

impl BlackHole {
    /// Builds the black hole; needs a tokio runtime. The error says why it cannot be
    /// built here (no `::1`, or a kernel that does not drop SYNs to a full queue).
    pub async fn new() -> Result<Self, String> {
        Self::at(0).await
    }

    /// The same on a chosen port of `[::1]` (0: any), for instance the port an IPv4
    /// server already has, so that one `--resolve HOST:PORT:[::1],127.0.0.1` entry
    /// names both.
    pub async fn at(port: u16) -> Result<Self, String> {
        let unavailable = |e: std::io::Error| format!("IPv6 loopback (::1) is not available: {e}");
        let socket = TcpSocket::new_v6().map_err(unavailable)?;
        socket
            .bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port)))
            .map_err(unavailable)?;
        let listener = socket.listen(0).map_err(unavailable)?;
        let addr = listener.local_addr().map_err(unavailable)?;
        let mut fillers = Vec::new();
        for _ in 0..MAX_FILLERS {
            match timeout(PROBE, TcpStream::connect(addr)).await {
                // Queued: hold it, and see whether the queue has room for more.
                Ok(Ok(stream)) => fillers.push(stream),
                Ok(Err(e)) => return Err(unavailable(e)),
                // No answer: the queue is full, further connects stall.
                Err(_) if !fillers.is_empty() => {
                    return Ok(Self {
                        addr,
                        _listener: listener,
                        _fillers: fillers,
                    });
                }
                Err(_) => {
                    return Err(format!(
                        "connecting to {addr} stalled before its queue was filled"
                    ));
                }
            }
        }
        Err(format!(
            "the kernel kept accepting connections to {addr}, so it cannot be black-holed"
        ))
    }

    /// The address where connects stall.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}
