//! [`SocketOptions`] and [`connect_socket`], the one function that opens a TCP
//! connection for the transport. Every path of the race (racing, sequential,
//! single-family) dials through it, so every connection gets the same options.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, TcpKeepalive, Type};
use tokio::net::{TcpSocket, TcpStream};

use crate::transport::connection::{AddressFamily, AttemptError};

/// The options set on every socket before it connects. Made from
/// [`TransportOptions::socket_options`](super::TransportOptions::socket_options).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SocketOptions {
    /// `TCP_NODELAY`.
    pub nodelay: bool,
    /// `SO_KEEPALIVE` with this idle time and probe interval, or off.
    pub keepalive: Option<Duration>,
    /// The local address to bind (port 0) before connecting.
    pub local_address: Option<IpAddr>,
}

impl Default for SocketOptions {
    /// The same defaults as [`TransportOptions`](super::TransportOptions).
    fn default() -> Self {
        super::TransportOptions::default().socket_options()
    }
}

/// Opens a TCP connection to `addr` with `options`: creates the socket with socket2,
/// sets `TCP_NODELAY` and keepalive, binds the local address, then connects without
/// blocking on tokio.
///
/// Errors: a local address of the other family, a failed bind or a failed connect are
/// [`AttemptError::connect`]; a socket option the OS refuses is
/// [`AttemptError::setup`]. Neither stops a race. OS errors are passed on unchanged so
/// that their `errno` reaches the race report. Dropping the future closes the socket.
pub async fn connect_socket(
    addr: SocketAddr,
    options: &SocketOptions,
) -> Result<TcpStream, AttemptError> {
    let socket = configured_socket(addr, options)?;
    TcpSocket::from_std_stream(socket.into())
        .connect(addr)
        .await
        .map_err(AttemptError::connect)
}

fn configured_socket(addr: SocketAddr, options: &SocketOptions) -> Result<Socket, AttemptError> {
    if let Some(local) = options.local_address {
        let (have, want) = (AddressFamily::of_ip(&local), AddressFamily::of(&addr));
        if have != want {
            return Err(AttemptError::connect(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!(
                    "the local address {local} is {have}, so it cannot dial the {want} \
                     address {addr}"
                ),
            )));
        }
    }
    // tokio needs a non-blocking socket. On Linux it is created so (SOCK_NONBLOCK), which
    // saves two fcntl calls per attempt; socket2 sets close-on-exec everywhere.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )
    .map_err(AttemptError::connect)?;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let socket = {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .map_err(AttemptError::connect)?;
        socket
            .set_nonblocking(true)
            .map_err(AttemptError::connect)?;
        socket
    };
    socket
        .set_tcp_nodelay(options.nodelay)
        .map_err(AttemptError::setup)?;
    if let Some(idle) = options.keepalive {
        let keepalive = TcpKeepalive::new().with_time(idle).with_interval(idle);
        socket
            .set_tcp_keepalive(&keepalive)
            .map_err(AttemptError::setup)?;
    }
    if let Some(local) = options.local_address {
        socket
            .bind(&SockAddr::from(SocketAddr::new(local, 0)))
            .map_err(AttemptError::connect)?;
    }
    Ok(socket)
}
