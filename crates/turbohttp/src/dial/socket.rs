//! [`SocketOptions`] and [`connect_socket`], the one function that opens a TCP
//! connection for the transport. Every path of the race (racing, sequential,
//! single-family) dials through it, so every connection gets the same options.
//! [`SocketOptionsError`] says why a set of options was refused.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, TcpKeepalive, Type};
use tokio::net::{TcpSocket, TcpStream};

use turbohttp_proto::{AddressFamily, AttemptError};

/// The default TCP keepalive idle time and probe interval: 60 s, as curl's.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(60);

/// The longest interface name `SO_BINDTODEVICE` takes: `IFNAMSIZ` (16) less the NUL.
pub const MAX_INTERFACE_NAME_LEN: usize = 15;

/// The options set on every socket (before it connects; `TCP_NODELAY` and keepalive
/// once it has: see [`connect_socket`]); the transport's are
/// [`TransportOptions::socket`](crate::TransportOptions::socket). They mirror
/// hyper-util's `HttpConnector` setters.
///
/// Fields are public (read and assign them); the struct is `#[non_exhaustive]`, so build
/// it from [`SocketOptions::default`] and the `with_*` setters. As hyper-util's and
/// reqwest's, the setters take the value itself (`with_interface("eth0")`,
/// `with_keepalive_retries(3)`); an option that is `None` by default (the system's
/// value) is cleared again by assigning `None` to its field. The exception is
/// [`with_keepalive`](Self::with_keepalive), which takes an `Option` because `None`
/// means something there: keepalive off.
///
/// ```
/// use std::net::Ipv4Addr;
/// use std::time::Duration;
/// use turbohttp::SocketOptions;
///
/// let options = SocketOptions::default()
///     .with_keepalive_interval(Duration::from_secs(10))
///     .with_keepalive_retries(3)
///     .with_local_address_v4(Ipv4Addr::LOCALHOST);
/// assert!(options.validate().is_ok());
///
/// // A setter takes the value; to clear it again, assign `None` to the field.
/// let mut any_interface = SocketOptions::default().with_interface("eth0");
/// assert_eq!(any_interface.interface.as_deref(), Some("eth0"));
/// any_interface.interface = None;
/// assert_eq!(any_interface, SocketOptions::default());
///
/// let mut broken = options;
/// broken.keepalive_retries = Some(0);
/// assert_eq!(
///     broken.validate().unwrap_err().to_string(),
///     "the TCP keepalive retry count is zero; use None for the system's count",
/// );
/// ```
///
/// Local addresses: each family binds its own (`local_address_v4` for IPv4
/// connections, `local_address_v6` for IPv6). When only one is set, only that family
/// can be dialed, as with hyper-util's `set_local_address`: a
/// [`RawSocketTransport`](crate::RawSocketTransport) then races that family alone, and
/// [`connect_socket`] refuses an address of the other family with a clear error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SocketOptions {
    /// `TCP_NODELAY`: send small writes at once instead of batching them (Nagle's
    /// algorithm off). Default true: HTTP writes whole messages and waits for answers.
    pub nodelay: bool,
    /// TCP keepalive: `Some(idle)` turns `SO_KEEPALIVE` on and sends the first probe
    /// after `idle` without traffic (`TCP_KEEPIDLE`, whole seconds). `None` turns it off
    /// and the interval and retries are then not used. Default
    /// `Some(`[`DEFAULT_KEEPALIVE`]`)` (60 s, as curl), so that a pooled connection
    /// whose peer vanished is noticed.
    pub keepalive: Option<Duration>,
    /// `TCP_KEEPINTVL`: the time between two unanswered probes (whole seconds); `None`
    /// keeps the system's (75 s on Linux). Default `Some(`[`DEFAULT_KEEPALIVE`]`)`, as
    /// curl. Ignored on the few systems without the option (OpenBSD).
    pub keepalive_interval: Option<Duration>,
    /// `TCP_KEEPCNT`: how many unanswered probes close the connection; `None` keeps
    /// the system's (9 on Linux). Default `None`.
    pub keepalive_retries: Option<u32>,
    /// `TCP_USER_TIMEOUT`: how long sent data may stay unacknowledged before the
    /// connection is closed (whole milliseconds). Linux, Android and Fuchsia only:
    /// elsewhere `Some` is refused by [`validate`](Self::validate). Default `None`.
    pub tcp_user_timeout: Option<Duration>,
    /// `SO_BINDTODEVICE`: send through this interface only (`"eth0"`), like curl's
    /// `--interface NAME`. Linux, Android and Fuchsia only; binding needs
    /// `CAP_NET_RAW` on kernels before 5.7. A missing interface or a refused binding
    /// stops the race at its first attempt (see [`connect_socket`]). Default `None`.
    pub interface: Option<String>,
    /// The local address IPv4 connections bind (any port) before connecting. Default
    /// `None`: the OS chooses. See the type's docs for a single-family address.
    pub local_address_v4: Option<Ipv4Addr>,
    /// The local address IPv6 connections bind (any port) before connecting. Default
    /// `None`.
    pub local_address_v6: Option<Ipv6Addr>,
    /// `SO_SNDBUF`, in bytes (Linux doubles it for bookkeeping). Default `None`: the
    /// system's, which autotunes.
    pub send_buffer_size: Option<usize>,
    /// `SO_RCVBUF`, in bytes, set before connecting so that the window scale fits it.
    /// Default `None`: the system's, which autotunes.
    pub recv_buffer_size: Option<usize>,
    /// `SO_REUSEADDR`, for binding a local address still in `TIME_WAIT`. Default false.
    pub reuse_address: bool,
}

impl Default for SocketOptions {
    fn default() -> Self {
        Self {
            nodelay: true,
            keepalive: Some(DEFAULT_KEEPALIVE),
            keepalive_interval: Some(DEFAULT_KEEPALIVE),
            keepalive_retries: None,
            tcp_user_timeout: None,
            interface: None,
            local_address_v4: None,
            local_address_v6: None,
            send_buffer_size: None,
            recv_buffer_size: None,
            reuse_address: false,
        }
    }
}

impl SocketOptions {
    /// Sets [`nodelay`](Self::nodelay).
    #[must_use]
    pub fn with_nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// Sets [`keepalive`](Self::keepalive), the idle time. It alone takes an `Option`,
    /// as hyper-util's `set_keepalive`: `None` turns keepalive off.
    #[must_use]
    pub fn with_keepalive(mut self, idle: Option<Duration>) -> Self {
        self.keepalive = idle;
        self
    }

    /// Sets [`keepalive_interval`](Self::keepalive_interval); assign `None` to the field
    /// for the system's interval.
    #[must_use]
    pub fn with_keepalive_interval(mut self, interval: Duration) -> Self {
        self.keepalive_interval = Some(interval);
        self
    }

    /// Sets [`keepalive_retries`](Self::keepalive_retries); assign `None` to the field
    /// for the system's count.
    #[must_use]
    pub fn with_keepalive_retries(mut self, retries: u32) -> Self {
        self.keepalive_retries = Some(retries);
        self
    }

    /// Sets [`tcp_user_timeout`](Self::tcp_user_timeout); assign `None` to the field
    /// for the system's behaviour.
    #[must_use]
    pub fn with_tcp_user_timeout(mut self, timeout: Duration) -> Self {
        self.tcp_user_timeout = Some(timeout);
        self
    }

    /// Sets [`interface`](Self::interface) (`"eth0"`); assign `None` to the field to
    /// send through any interface.
    #[must_use]
    pub fn with_interface(mut self, interface: impl Into<String>) -> Self {
        self.interface = Some(interface.into());
        self
    }

    /// Sets [`local_address_v4`](Self::local_address_v4); assign `None` to the field to
    /// let the OS choose.
    #[must_use]
    pub fn with_local_address_v4(mut self, address: Ipv4Addr) -> Self {
        self.local_address_v4 = Some(address);
        self
    }

    /// Sets [`local_address_v6`](Self::local_address_v6); assign `None` to the field to
    /// let the OS choose.
    #[must_use]
    pub fn with_local_address_v6(mut self, address: Ipv6Addr) -> Self {
        self.local_address_v6 = Some(address);
        self
    }

    /// Sets the local address of `address`'s family, leaving the other family's as it
    /// is: calling it once with an IPv4 and once with an IPv6 address sets the pair.
    #[must_use]
    pub fn with_local_address(mut self, address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => self.local_address_v4 = Some(v4),
            IpAddr::V6(v6) => self.local_address_v6 = Some(v6),
        }
        self
    }

    /// Sets [`send_buffer_size`](Self::send_buffer_size); assign `None` to the field
    /// for the system's autotuned size.
    #[must_use]
    pub fn with_send_buffer_size(mut self, size: usize) -> Self {
        self.send_buffer_size = Some(size);
        self
    }

    /// Sets [`recv_buffer_size`](Self::recv_buffer_size); assign `None` to the field
    /// for the system's autotuned size.
    #[must_use]
    pub fn with_recv_buffer_size(mut self, size: usize) -> Self {
        self.recv_buffer_size = Some(size);
        self
    }

    /// Sets [`reuse_address`](Self::reuse_address).
    #[must_use]
    pub fn with_reuse_address(mut self, reuse: bool) -> Self {
        self.reuse_address = reuse;
        self
    }

    /// The local address a connection of `family` binds, if any.
    pub fn local_address(&self, family: AddressFamily) -> Option<IpAddr> {
        match family {
            AddressFamily::V4 => self.local_address_v4.map(IpAddr::V4),
            AddressFamily::V6 => self.local_address_v6.map(IpAddr::V6),
        }
    }

    /// The only family that can be dialed when exactly one local address is set.
    pub fn local_address_family(&self) -> Option<AddressFamily> {
        match (self.local_address_v4, self.local_address_v6) {
            (Some(_), None) => Some(AddressFamily::V4),
            (None, Some(_)) => Some(AddressFamily::V6),
            _ => None,
        }
    }

    /// Checks every option: values the system would refuse, or would silently read as
    /// "off" (a zero keepalive, a sub-millisecond user timeout), and options this system
    /// does not have. [`connect_socket`] checks too, so a bad value never reaches the OS.
    pub fn validate(&self) -> Result<(), SocketOptionsError> {
        if let Some(idle) = self.keepalive {
            if idle.is_zero() {
                return Err(SocketOptionsError::ZeroKeepalive);
            }
            keepalive_seconds("time", idle)?;
            if let Some(interval) = self.keepalive_interval {
                if interval.is_zero() {
                    return Err(SocketOptionsError::ZeroKeepaliveInterval);
                }
                keepalive_seconds("interval", interval)?;
            }
            match self.keepalive_retries {
                Some(0) => return Err(SocketOptionsError::ZeroKeepaliveRetries),
                Some(count) if count > MAX_KEEPALIVE_RETRIES => {
                    return Err(SocketOptionsError::KeepaliveRetriesTooHigh { count });
                }
                Some(_) if !HAS_KEEPALIVE_RETRIES => {
                    return Err(SocketOptionsError::Unsupported {
                        option: "TCP_KEEPCNT (keepalive retries)",
                    });
                }
                _ => {}
            }
        }
        if let Some(timeout) = self.tcp_user_timeout {
            if !HAS_LINUX_OPTIONS {
                return Err(SocketOptionsError::Unsupported {
                    option: "TCP_USER_TIMEOUT",
                });
            }
            if timeout < Duration::from_millis(1) {
                return Err(SocketOptionsError::UserTimeoutTooShort { timeout });
            }
        }
        if let Some(name) = &self.interface {
            if !HAS_LINUX_OPTIONS {
                return Err(SocketOptionsError::Unsupported {
                    option: "SO_BINDTODEVICE (binding to an interface)",
                });
            }
            let reason = if name.is_empty() {
                Some("it is empty")
            } else if name.len() > MAX_INTERFACE_NAME_LEN {
                Some("interface names are at most 15 bytes long")
            } else if name.contains(['\0', '/']) || name.chars().any(char::is_whitespace) {
                Some("interface names have no NUL, slash or white space")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(SocketOptionsError::InvalidInterface {
                    name: name.clone(),
                    reason,
                });
            }
        }
        for (buffer, size) in [
            ("send", self.send_buffer_size),
            ("receive", self.recv_buffer_size),
        ] {
            // The OS takes an int: anything larger would wrap to a negative size.
            if let Some(size) = size.filter(|&s| s == 0 || s > i32::MAX as usize) {
                return Err(SocketOptionsError::InvalidBufferSize { buffer, size });
            }
        }
        Ok(())
    }
}

// Linux caps TCP_KEEPIDLE and TCP_KEEPINTVL at 32767 s and TCP_KEEPCNT at 127; other
// systems take at least that much, so these limits hold everywhere.
const MAX_KEEPALIVE_SECONDS: u64 = 32_767;
const MAX_KEEPALIVE_RETRIES: u32 = 127;

const HAS_LINUX_OPTIONS: bool = cfg!(any(
    target_os = "linux",
    target_os = "android",
    target_os = "fuchsia"
));

const HAS_KEEPALIVE_RETRIES: bool = cfg!(any(
    target_os = "android",
    target_os = "dragonfly",
    target_os = "freebsd",
    target_os = "fuchsia",
    target_os = "illumos",
    target_os = "ios",
    target_os = "linux",
    target_os = "macos",
    target_os = "netbsd",
    target_os = "tvos",
    target_os = "watchos",
    target_os = "visionos",
    target_os = "windows",
));

fn keepalive_seconds(which: &'static str, value: Duration) -> Result<(), SocketOptionsError> {
    if value < Duration::from_secs(1) || value.as_secs() > MAX_KEEPALIVE_SECONDS {
        return Err(SocketOptionsError::KeepaliveOutOfRange { which, value });
    }
    Ok(())
}

/// Why a set of [`SocketOptions`] was refused. At the transport's boundary it is
/// [`TransportOptionsError::Socket`](crate::TransportOptionsError::Socket).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SocketOptionsError {
    /// A keepalive time of zero would probe a connection continuously.
    #[error("the TCP keepalive time is zero; use None to turn keepalive off")]
    ZeroKeepalive,
    /// A probe interval of zero would probe continuously.
    #[error("the TCP keepalive interval is zero; use None for the system's interval")]
    ZeroKeepaliveInterval,
    /// Zero retries would close a connection at its first probe.
    #[error("the TCP keepalive retry count is zero; use None for the system's count")]
    ZeroKeepaliveRetries,
    /// The system counts keepalive times in whole seconds, at most 32767.
    #[error(
        "the TCP keepalive {which} {value:?} is not 1 to 32767 seconds (the system counts \
         whole seconds)"
    )]
    KeepaliveOutOfRange {
        /// `"time"` or `"interval"`.
        which: &'static str,
        /// The value given.
        value: Duration,
    },
    /// Linux takes at most 127 keepalive probes.
    #[error("the TCP keepalive retry count {count} is above the system's limit of 127")]
    KeepaliveRetriesTooHigh {
        /// The count given.
        count: u32,
    },
    /// Below one millisecond the user timeout would be rounded to 0, which means "off".
    #[error(
        "the TCP user timeout {timeout:?} is below 1ms (the system counts whole \
         milliseconds and reads 0 as off); use None for the system's behaviour"
    )]
    UserTimeoutTooShort {
        /// The value given.
        timeout: Duration,
    },
    /// The interface name cannot be a network interface's.
    #[error("the interface name {name:?} cannot be used: {reason}")]
    InvalidInterface {
        /// The name given.
        name: String,
        /// Why not.
        reason: &'static str,
    },
    /// A buffer size must be 1 to `i32::MAX` bytes.
    #[error(
        "the {buffer} buffer size {size} is not 1 to 2147483647 bytes; use None for the system's size"
    )]
    InvalidBufferSize {
        /// `"send"` or `"receive"`.
        buffer: &'static str,
        /// The size given.
        size: usize,
    },
    /// The option exists only on other systems; refused rather than silently ignored.
    #[error("{option} is not available on this system")]
    Unsupported {
        /// The option.
        option: &'static str,
    },
}

/// Opens a TCP connection to `addr` with `options`: creates the socket with socket2,
/// sets the options, binds the interface and the local address of `addr`'s family,
/// then connects without blocking on tokio. `TCP_NODELAY` and keepalive are set once
/// connected (as hyper-util sets `TCP_NODELAY`): they act only on a connection, and
/// an attempt that never connects (a stalled address the race gives up on) is
/// spared their four system calls.
///
/// Errors: options that [`SocketOptions::validate`] refuses, and a failed interface
/// binding (a missing device, `NotFound`; a refused binding, `PermissionDenied`), are
/// terminal ([`AttemptError::terminal`], [`AttemptError::local`] for the interface): no
/// other address would do better, so the race stops at
/// the first with one sentence naming the interface (`cannot bind to the interface
/// "eth9": No such device (os error 19)`). Options the OS refuses are
/// [`AttemptError::setup`]; a local address only of the other family (see
/// [`SocketOptions`]), a failed bind or a failed connect are
/// [`AttemptError::connect`]; these two do not stop a race, and their OS errors are
/// passed on unchanged so that their `errno` reaches the race report. Dropping the
/// future closes the socket.
pub async fn connect_socket(
    addr: SocketAddr,
    options: &SocketOptions,
) -> Result<TcpStream, AttemptError> {
    let socket = configured_socket(addr, options)?;
    let stream = TcpSocket::from_std_stream(socket.into())
        .connect(addr)
        .await
        .map_err(AttemptError::connect)?;
    // A new socket has both off: only what differs costs a system call.
    if options.nodelay {
        stream.set_nodelay(true).map_err(AttemptError::setup)?;
    }
    if let Some(idle) = options.keepalive {
        socket2::SockRef::from(&stream)
            .set_tcp_keepalive(&keepalive(idle, options))
            .map_err(AttemptError::setup)?;
    }
    Ok(stream)
}

/// No socket could be opened: the process or the system is out of file descriptors or
/// socket memory. The attempt fails at once, like any failed attempt, and the race
/// goes on with the next address (which may find one freed); the OS error is the
/// [`source`](std::error::Error::source) and the attempt's record keeps its code.
#[derive(Debug)]
pub struct SocketUnavailable {
    error: io::Error,
}

impl SocketUnavailable {
    /// The OS error code (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`).
    pub fn raw_os_error(&self) -> Option<i32> {
        self.error.raw_os_error()
    }
}

impl std::fmt::Display for SocketUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The same codes on Linux, the BSDs and macOS, but ENOBUFS.
        const ENFILE: i32 = 23;
        const EMFILE: i32 = 24;
        f.write_str(match self.error.raw_os_error() {
            Some(EMFILE) => {
                "no socket could be opened: the process has as many files open as its limit \
                 allows (raise it with ulimit -n, or open fewer connections at once)"
            }
            Some(ENFILE) => {
                "no socket could be opened: the system has as many files open as it allows \
                 (fs.file-max)"
            }
            _ => "no socket could be opened: the system is out of memory for sockets",
        })
    }
}

impl std::error::Error for SocketUnavailable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Why `socket(2)` failed, for the attempt: out of descriptors or memory is a
/// [`SocketUnavailable`]; anything else (an address family the system lacks) as is.
fn no_socket(error: io::Error) -> AttemptError {
    // ENFILE, EMFILE, ENOMEM; ENOBUFS is 105 on Linux and 55 on the BSDs and macOS.
    const EXHAUSTED: [i32; 3] = [23, 24, 12];
    const ENOBUFS: i32 = if cfg!(any(target_os = "linux", target_os = "android")) {
        105
    } else {
        55
    };
    match error.raw_os_error() {
        Some(code) if EXHAUSTED.contains(&code) || code == ENOBUFS => {
            AttemptError::connect(io::Error::new(error.kind(), SocketUnavailable { error }))
        }
        _ => AttemptError::connect(error),
    }
}

fn configured_socket(addr: SocketAddr, options: &SocketOptions) -> Result<Socket, AttemptError> {
    // The same for every address: no other attempt could do better.
    options
        .validate()
        .map_err(|e| AttemptError::terminal(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    let want = AddressFamily::of(&addr);
    let local = options.local_address(want);
    if local.is_none()
        && let Some(other) = options.local_address(want.other())
    {
        return Err(AttemptError::connect(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!(
                "the only local address, {other}, is {}, so it cannot dial the {want} \
                 address {addr}; set a local address of both families",
                want.other()
            ),
        )));
    }
    // tokio needs a non-blocking socket. On Linux it is created so (SOCK_NONBLOCK), which
    // saves two fcntl calls per attempt; socket2 sets close-on-exec everywhere.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )
    .map_err(no_socket)?;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let socket = {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .map_err(no_socket)?;
        socket
            .set_nonblocking(true)
            .map_err(AttemptError::connect)?;
        socket
    };
    // A new socket has every option off or at the system's value: only what differs
    // costs a syscall. These act on the handshake (or the bind) and so come first;
    // `TCP_NODELAY` and keepalive wait for the connection (`connect_socket`).
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
    if let Some(timeout) = options.tcp_user_timeout {
        socket
            .set_tcp_user_timeout(Some(timeout))
            .map_err(AttemptError::setup)?;
    }
    set_buffer_sizes(&socket, options)?;
    if options.reuse_address {
        socket
            .set_reuse_address(true)
            .map_err(AttemptError::setup)?;
    }
    // The same device for every address: a missing one or a refused binding ends the
    // race at the first attempt.
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
    if let Some(name) = &options.interface {
        socket
            .bind_device(Some(name.as_bytes()))
            .map_err(|e| interface_error(name, &e))?;
    }
    if let Some(local) = local {
        socket
            .bind(&SockAddr::from(SocketAddr::new(local, 0)))
            .map_err(AttemptError::connect)?;
    }
    Ok(socket)
}

/// The send and receive buffer sizes, where the options set them (TCP and UDP alike).
fn set_buffer_sizes(socket: &Socket, options: &SocketOptions) -> Result<(), AttemptError> {
    if let Some(size) = options.send_buffer_size {
        socket
            .set_send_buffer_size(size)
            .map_err(AttemptError::setup)?;
    }
    if let Some(size) = options.recv_buffer_size {
        socket
            .set_recv_buffer_size(size)
            .map_err(AttemptError::setup)?;
    }
    Ok(())
}

/// A failed `SO_BINDTODEVICE`, as a terminal error whose sentence names the interface.
/// The kind says why (`NotFound` for a missing device, `PermissionDenied` for a
/// refused binding); the OS error's text and code are in the sentence.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
fn interface_error(name: &str, error: &io::Error) -> AttemptError {
    const ENODEV: i32 = 19; // the same on Linux, Android and Fuchsia
    let (kind, hint) = match (error.raw_os_error(), error.kind()) {
        (Some(ENODEV), _) => (io::ErrorKind::NotFound, ""),
        (_, io::ErrorKind::PermissionDenied) => (
            io::ErrorKind::PermissionDenied,
            " (binding to an interface needs CAP_NET_RAW on Linux before 5.7)",
        ),
        (_, kind) => (kind, ""),
    };
    AttemptError::local(io::Error::new(
        kind,
        format!("cannot bind to the interface {name:?}: {error}{hint}"),
    ))
}

/// The keepalive parameters: the idle time, and the interval and retry count where
/// the system has them (validation refused retries where it has not).
fn keepalive(idle: Duration, options: &SocketOptions) -> TcpKeepalive {
    #[allow(unused_mut)]
    let mut keepalive = TcpKeepalive::new().with_time(idle);
    #[cfg(any(
        target_os = "android",
        target_os = "dragonfly",
        target_os = "freebsd",
        target_os = "fuchsia",
        target_os = "illumos",
        target_os = "ios",
        target_os = "linux",
        target_os = "macos",
        target_os = "netbsd",
        target_os = "tvos",
        target_os = "watchos",
        target_os = "visionos",
        target_os = "windows",
    ))]
    {
        if let Some(interval) = options.keepalive_interval {
            keepalive = keepalive.with_interval(interval);
        }
        if let Some(retries) = options.keepalive_retries {
            keepalive = keepalive.with_retries(retries);
        }
    }
    #[cfg(not(any(
        target_os = "android",
        target_os = "dragonfly",
        target_os = "freebsd",
        target_os = "fuchsia",
        target_os = "illumos",
        target_os = "ios",
        target_os = "linux",
        target_os = "macos",
        target_os = "netbsd",
        target_os = "tvos",
        target_os = "watchos",
        target_os = "visionos",
        target_os = "windows",
    )))]
    let _ = options;
    keepalive
}

/// A UDP socket of `family` for QUIC's endpoints with the `options` that apply to UDP:
/// the interface and the local address of that family (else the unspecified one,
/// port 0), buffer sizes; an IPv6 socket is IPv6 only. Failures are what
/// [`connect_socket`] makes of the same options.
#[cfg(feature = "quic")]
pub(crate) fn udp_socket(
    family: AddressFamily,
    options: &SocketOptions,
) -> Result<std::net::UdpSocket, AttemptError> {
    options
        .validate()
        .map_err(|e| AttemptError::terminal(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    let local = match (options.local_address(family), family) {
        (Some(local), _) => local,
        (None, _) if options.local_address(family.other()).is_some() => {
            return Err(AttemptError::connect(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!(
                    "the only local address is {}, so it cannot send QUIC over {family}; set \
                     a local address of both families",
                    family.other()
                ),
            )));
        }
        (None, AddressFamily::V6) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        (None, AddressFamily::V4) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    let local = SocketAddr::new(local, 0);
    let socket = Socket::new(Domain::for_address(local), Type::DGRAM, Some(Protocol::UDP))
        .map_err(no_socket)?;
    if family == AddressFamily::V6 {
        socket.set_only_v6(true).map_err(AttemptError::setup)?;
    }
    set_buffer_sizes(&socket, options)?;
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
    if let Some(name) = &options.interface {
        socket
            .bind_device(Some(name.as_bytes()))
            .map_err(|e| interface_error(name, &e))?;
    }
    socket
        .bind(&SockAddr::from(local))
        .map_err(AttemptError::connect)?;
    socket.set_nonblocking(true).map_err(AttemptError::setup)?;
    Ok(socket.into())
}
