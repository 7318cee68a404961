//! Every socket option, set through `connect_socket` and through `RawSocketTransport`'s
//! race, read back from the real connected socket (127.0.0.1 and ::1 only); the family
//! restriction; and the refusal of bad values, message by message.

// Reads options back with socket2 calls that exist on Linux only.
#![cfg(target_os = "linux")]
// Options are built as `default()` then assigned, never as literals: the option structs
// become #[non_exhaustive] (which silences this lint by itself).

mod support;

use support::chain_text;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use support::tls_lab;
use turbohttp::ConnectParams;

use hyper::Uri;
use socket2::SockRef;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tower_service::Service;
use turbohttp::AttemptOutcome;
use turbohttp::{AddressFamily, AttemptError, ConnectError, ConnectErrorKind, Established};
use turbohttp::{
    RawSocketTransport, Scheme, SocketOptions, SocketOptionsError, TransportOptions,
    TransportOptionsError, TransportStream, connect_socket,
};

use tls_lab::*;

const NAME: &str = "dual.test";
const PORT: u16 = 443;
const ENODEV: i32 = 19;

/// A second loopback address (all of 127/8 is on `lo`), so that a bound IPv4 local
/// address shows: 127.0.0.1 is what the OS would pick anyway.
const V4_LOCAL: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// What the connected socket says its options are, for comparison with what was set.
#[derive(Debug, PartialEq, Eq)]
struct ReadBack {
    nodelay: bool,
    keepalive: bool,
    keepalive_time: Option<Duration>,
    keepalive_interval: Option<Duration>,
    keepalive_retries: Option<u32>,
    tcp_user_timeout: Option<Duration>,
    device: Option<Vec<u8>>,
    reuse_address: bool,
    local_ip: IpAddr,
}

impl ReadBack {
    fn of(stream: &TcpStream) -> Self {
        let socket = SockRef::from(stream);
        let keepalive = socket.keepalive().unwrap();
        Self {
            nodelay: socket.tcp_nodelay().unwrap(),
            keepalive,
            keepalive_time: keepalive.then(|| socket.tcp_keepalive_time().unwrap()),
            keepalive_interval: keepalive.then(|| socket.tcp_keepalive_interval().unwrap()),
            keepalive_retries: keepalive.then(|| socket.tcp_keepalive_retries().unwrap()),
            tcp_user_timeout: socket.tcp_user_timeout().unwrap(),
            device: socket.device().unwrap(),
            reuse_address: socket.reuse_address().unwrap(),
            local_ip: stream.local_addr().unwrap().ip(),
        }
    }

    /// What a socket connected to `remote` with `options` must say. Values left to the
    /// system are read from a fresh socket of the same family.
    fn expected(options: &SocketOptions, remote: SocketAddr) -> Self {
        let fresh = socket2::Socket::new(
            socket2::Domain::for_address(remote),
            socket2::Type::STREAM,
            None,
        )
        .unwrap();
        let family = AddressFamily::of(&remote);
        let on = options.keepalive.is_some();
        Self {
            nodelay: options.nodelay,
            keepalive: on,
            keepalive_time: options.keepalive,
            keepalive_interval: on.then(|| {
                options
                    .keepalive_interval
                    .unwrap_or_else(|| fresh.tcp_keepalive_interval().unwrap())
            }),
            keepalive_retries: on.then(|| {
                options
                    .keepalive_retries
                    .unwrap_or_else(|| fresh.tcp_keepalive_retries().unwrap())
            }),
            tcp_user_timeout: options.tcp_user_timeout,
            device: options
                .interface
                .as_ref()
                .map(|name| name.clone().into_bytes()),
            reuse_address: options.reuse_address,
            local_ip: options.local_address(family).unwrap_or(remote.ip()),
        }
    }
}

/// Buffer sizes below loopback's defaults, distinct from each other and from any
/// default (`tcp_wmem`'s 16384 included), so that a size that was not set reads back as
/// something else.
const SEND_BUFFER: usize = 6_000;
const RECV_BUFFER: usize = 7_000;

/// Checks every option of `stream`, including the buffer sizes: Linux stores twice the
/// value given (the other half is its bookkeeping) and stops autotuning a buffer whose
/// size was set, so exactly twice the value reads back, and a buffer left to the system
/// reads back as something else.
fn assert_options(stream: &TcpStream, options: &SocketOptions, remote: SocketAddr, path: &str) {
    assert_eq!(
        ReadBack::of(stream),
        ReadBack::expected(options, remote),
        "{path}"
    );
    let socket = SockRef::from(stream);
    for (buffer, set, got) in [
        (
            "send",
            options.send_buffer_size,
            socket.send_buffer_size().unwrap(),
        ),
        (
            "receive",
            options.recv_buffer_size,
            socket.recv_buffer_size().unwrap(),
        ),
    ] {
        match set {
            Some(size) => assert_eq!(got, 2 * size, "{path}: {buffer} buffer"),
            None => assert!(
                got != 2 * SEND_BUFFER && got != 2 * RECV_BUFFER,
                "{path}: {buffer} buffer {got} though none was set"
            ),
        }
    }
}

/// One option set per case, and all of them together.
fn cases() -> Vec<(&'static str, SocketOptions)> {
    let all = SocketOptions::default()
        .with_keepalive(Some(Duration::from_secs(17)))
        .with_keepalive_interval(Duration::from_secs(5))
        .with_keepalive_retries(3)
        .with_tcp_user_timeout(Duration::from_millis(12_345))
        .with_interface("lo")
        .with_local_address_v4(V4_LOCAL)
        .with_local_address_v6(V6)
        .with_send_buffer_size(SEND_BUFFER)
        .with_recv_buffer_size(RECV_BUFFER)
        .with_reuse_address(true);
    vec![
        ("defaults", SocketOptions::default()),
        (
            "nodelay and keepalive off",
            SocketOptions::default()
                .with_nodelay(false)
                .with_keepalive(None),
        ),
        (
            "keepalive time, interval and retries",
            SocketOptions::default()
                .with_keepalive(Some(Duration::from_secs(17)))
                .with_keepalive_interval(Duration::from_secs(5))
                .with_keepalive_retries(3),
        ),
        ("keepalive with the system's interval and retries", {
            // A setter takes a value; the system's is asked for by clearing the field.
            let mut options =
                SocketOptions::default().with_keepalive(Some(Duration::from_secs(42)));
            options.keepalive_interval = None;
            options
        }),
        (
            "user timeout",
            SocketOptions::default().with_tcp_user_timeout(Duration::from_millis(12_345)),
        ),
        (
            "interface lo",
            SocketOptions::default().with_interface("lo"),
        ),
        (
            "buffer sizes",
            SocketOptions::default()
                .with_send_buffer_size(SEND_BUFFER)
                .with_recv_buffer_size(RECV_BUFFER),
        ),
        (
            "reuse address",
            SocketOptions::default().with_reuse_address(true),
        ),
        (
            "local address pair",
            SocketOptions::default()
                .with_local_address(IpAddr::V4(V4_LOCAL))
                .with_local_address(IpAddr::V6(V6)),
        ),
        ("everything", all),
    ]
}

/// Binding to a device needs `CAP_NET_RAW` before Linux 5.7: without it the attempt
/// fails, terminally, with `PermissionDenied` and a sentence naming the interface.
fn refused_binding(options: &SocketOptions, error: &AttemptError) -> bool {
    let Some(name) = &options.interface else {
        return false;
    };
    let refused = error.io_error().kind() == io::ErrorKind::PermissionDenied;
    if refused {
        assert!(error.is_terminal(), "{error}");
        assert_eq!(
            error.to_string(),
            format!(
                "setup failed: cannot bind to the interface {name:?}: Operation not permitted \
                 (os error 1) (binding to an interface needs CAP_NET_RAW on Linux before 5.7)"
            )
        );
    }
    refused
}

/// The same options without the interface: what is checked where binding is refused.
fn without_interface(options: &SocketOptions) -> SocketOptions {
    let mut options = options.clone();
    options.interface = None;
    options
}

#[test]
fn every_option_reads_back_from_connect_socket() {
    run(async {
        for (case, options) in cases() {
            for listen in [v4(0), v6(0)] {
                let (_listener, port) = idle_listener(listen);
                let remote = SocketAddr::new(listen.ip(), port);
                let path = format!("{case}, connect_socket to {remote}");
                match connect_socket(remote, &options).await {
                    Ok(stream) => assert_options(&stream, &options, remote, &path),
                    Err(e) if refused_binding(&options, &e) => {
                        // Every other option still reads back.
                        let rest = without_interface(&options);
                        let path = format!("{path}, without the interface");
                        let stream = connect_socket(remote, &rest)
                            .await
                            .unwrap_or_else(|e| panic!("{path}: {e}"));
                        assert_options(&stream, &rest, remote, &path);
                    }
                    Err(e) => panic!("{path}: {e}"),
                }
            }
        }
    });
}

/// A race through a transport with `socket`, to `addrs` in this order.
async fn race(
    socket: &SocketOptions,
    addrs: [SocketAddr; 2],
) -> Result<Established<TransportStream>, ConnectError> {
    let mut options = TransportOptions::default();
    options.socket = socket.clone();
    RawSocketTransport::new(options)
        .expect("valid options")
        .with_resolver(resolver(NAME, PORT, addrs))
        .connect_with(
            NAME,
            PORT,
            Scheme::Http,
            ConnectParams::default().with_cancel(CancellationToken::new()),
        )
        .await
}

#[test]
fn every_option_reads_back_from_the_race() {
    run(async {
        for (case, socket) in cases() {
            // The IPv6 listener wins when it can; the IPv4 one after a refused IPv6
            // attempt, so that the race's fallback path is the one measured.
            let (_ipv6, p6) = idle_listener(v6(0));
            let (_ipv4, p4) = idle_listener(v4(0));
            let closed = closed_port(v6(0));
            let refused = closed.port;
            for (addrs, remote, attempts) in [
                ([v6(p6), v4(p4)], v6(p6), 1),
                ([v6(refused), v4(p4)], v4(p4), 2),
            ] {
                let path = format!("{case}, race won by {remote}");
                let (socket, path) = match race(&socket, addrs).await {
                    Ok(won) => {
                        assert_eq!(won.report.attempts.len(), attempts, "{path}");
                        assert_options(won.stream.tcp(), &socket, remote, &path);
                        continue;
                    }
                    Err(e) => {
                        // Binding refused: the race stops at its first attempt, and
                        // every other option must still read back.
                        assert_eq!(e.kind(), ConnectErrorKind::SetupRejected, "{path}: {e:#}");
                        let failures: Vec<_> = e
                            .attempts()
                            .iter()
                            .filter_map(|a| a.failure.as_ref())
                            .collect();
                        assert_eq!(failures.len(), 1, "{path}: {e:#}");
                        assert!(
                            socket.interface.is_some()
                                && failures[0].terminal
                                && failures[0].kind == io::ErrorKind::PermissionDenied,
                            "{path}: {e:#}"
                        );
                        (
                            without_interface(&socket),
                            format!("{path}, without the interface"),
                        )
                    }
                };
                let won = race(&socket, addrs)
                    .await
                    .unwrap_or_else(|e| panic!("{path}: {e:#}"));
                assert_eq!(won.report.attempts.len(), attempts, "{path}");
                assert_options(won.stream.tcp(), &socket, remote, &path);
            }
        }
    });
}

/// The sentence of a missing interface: `No such device`, or, where binding needs a
/// capability the test lacks (Linux before 5.7), the refusal, checked for all options.
fn missing_interface_message(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => format!(
            "cannot bind to the interface \"nosuchif0\": No such device (os error {ENODEV})"
        ),
        io::ErrorKind::PermissionDenied => "cannot bind to the interface \"nosuchif0\": \
            Operation not permitted (os error 1) (binding to an interface needs CAP_NET_RAW \
            on Linux before 5.7)"
            .to_owned(),
        other => panic!("unexpected {other:?}: {error}"),
    }
}

/// No address would do better through a missing interface: the attempt is terminal and
/// its sentence names the interface.
#[test]
fn a_missing_interface_is_terminal_and_named() {
    run(async {
        let (_listener, port) = idle_listener(v4(0));
        let options = SocketOptions::default().with_interface("nosuchif0");
        let error = connect_socket(v4(port), &options)
            .await
            .expect_err("no such interface");
        assert!(error.is_terminal(), "{error}");
        assert_eq!(
            error.to_string(),
            format!(
                "connect failed: {}",
                missing_interface_message(error.io_error())
            )
        );
    });
}

/// The race stops at its first attempt: no other address is dialed, and the error
/// lists one failure, not one per address.
#[test]
fn a_missing_interface_stops_the_race_at_the_first_attempt() {
    run(async {
        let (ipv6, p6) = idle_listener(v6(0));
        let (ipv4, p4) = idle_listener(v4(0));
        let options = SocketOptions::default().with_interface("nosuchif0");
        let error = race(&options, [v6(p6), v4(p4)])
            .await
            .expect_err("no such interface");
        assert_eq!(error.kind(), ConnectErrorKind::SetupRejected, "{error:#}");
        let endpoints: Vec<_> = error.attempts().iter().map(|a| a.endpoint).collect();
        assert_eq!(endpoints, [v6(p6)], "{error:#}");
        let failure = error.attempts()[0].failure.as_ref().expect("failed");
        assert!(failure.terminal, "{error:#}");
        let message = missing_interface_message(&io::Error::from(failure.kind));
        assert_eq!(failure.message(), message);
        assert_eq!(
            chain_text(&error),
            format!("connecting to {NAME}:{PORT} stopped: {message}")
        );
        assert!(!was_dialed(&ipv6) && !was_dialed(&ipv4));
    });
}

/// hyper-util's rule: with one family's local address only, the other family is not
/// dialed by the transport, and `connect_socket` refuses it with a sentence.
#[test]
fn a_single_local_address_restricts_dialing_to_its_family() {
    run(async {
        let (_ipv6, p6) = idle_listener(v6(0));
        let (_ipv4, p4) = idle_listener(v4(0));
        let cancel = CancellationToken::new();

        let only_v4 = SocketOptions::default().with_local_address_v4(V4_LOCAL);
        let error = connect_socket(v6(p6), &only_v4)
            .await
            .expect_err("no IPv6 local address");
        assert_eq!(error.io_error().kind(), io::ErrorKind::AddrNotAvailable);
        assert_eq!(
            error.to_string(),
            format!(
                "connect failed: the only local address, 127.0.0.2, is IPv4, so it cannot \
                 dial the IPv6 address [::1]:{p6}; set a local address of both families"
            )
        );

        let mut options = TransportOptions::default();
        options.socket = only_v4;
        assert_eq!(options.dial_family(), Some(AddressFamily::V4));
        let won = RawSocketTransport::new(options)
            .unwrap()
            .with_resolver(resolver(NAME, PORT, [v6(p6), v4(p4)]))
            .connect_with(
                NAME,
                PORT,
                Scheme::Http,
                ConnectParams::default().with_cancel(cancel.clone()),
            )
            .await
            .expect("IPv4 connects");
        let endpoints: Vec<_> = won.report.attempts.iter().map(|a| a.endpoint).collect();
        assert_eq!(endpoints, [v4(p4)]);
        assert_eq!(won.stream.local_addr().unwrap().ip(), IpAddr::V4(V4_LOCAL));
    });
}

#[test]
fn the_transport_family_restricts_connect_and_the_service() {
    run(async {
        let (_ipv6, p6) = idle_listener(v6(0));
        let (_ipv4, p4) = idle_listener(v4(0));
        let cancel = CancellationToken::new();
        for (family, winner) in [(AddressFamily::V4, v4(p4)), (AddressFamily::V6, v6(p6))] {
            let mut options = TransportOptions::default();
            options.family = Some(family);
            let mut transport = RawSocketTransport::new(options)
                .unwrap()
                .with_resolver(resolver(NAME, PORT, [v6(p6), v4(p4)]));

            let won = transport
                .connect_with(
                    NAME,
                    PORT,
                    Scheme::Http,
                    ConnectParams::default().with_cancel(cancel.clone()),
                )
                .await
                .expect("connects");
            let endpoints: Vec<_> = won.report.attempts.iter().map(|a| a.endpoint).collect();
            assert_eq!(endpoints, [winner], "{family}");

            // The same family asked for explicitly is no contradiction.
            let won = transport
                .connect_with(
                    NAME,
                    PORT,
                    Scheme::Http,
                    ConnectParams::default()
                        .with_family(Some(family))
                        .with_cancel(cancel.clone()),
                )
                .await
                .expect("connects");
            assert_eq!(won.report.attempts.len(), 1);

            // hyper-util's path asks for no family: the transport's applies.
            let uri: Uri = format!("http://{NAME}:{PORT}/").parse().unwrap();
            let io = transport.call(uri).await.expect("connects");
            let info = io.inner().info();
            assert_eq!(info.remote_addr, winner, "{family}");
            let attempts = &info.report.attempts;
            assert_eq!(attempts.len(), 1, "{attempts:#?}");
            assert_eq!(attempts[0].outcome, AttemptOutcome::Won);

            // The other family asked for explicitly: refused before anything is sent.
            let error = transport
                .connect_with(
                    NAME,
                    PORT,
                    Scheme::Http,
                    ConnectParams::default()
                        .with_family(Some(family.other()))
                        .with_cancel(cancel.clone()),
                )
                .await
                .expect_err("contradicts the transport");
            assert_eq!(error.kind(), ConnectErrorKind::InvalidInput);
            assert!(error.attempts().is_empty());
            assert_eq!(
                error.to_string(),
                format!(
                    "cannot connect: {} was asked for, but this transport dials {family} only",
                    family.other()
                )
            );
        }
        // No listener was dialed beyond the attempts counted above.
    });
}

#[test]
fn bad_values_are_refused_with_a_sentence() {
    let mut table: Vec<(SocketOptions, &str)> = vec![
        (
            SocketOptions::default().with_keepalive(Some(Duration::ZERO)),
            "the TCP keepalive time is zero; use None to turn keepalive off",
        ),
        (
            SocketOptions::default().with_keepalive(Some(Duration::from_millis(500))),
            "the TCP keepalive time 500ms is not 1 to 32767 seconds (the system counts whole \
             seconds)",
        ),
        (
            SocketOptions::default().with_keepalive(Some(Duration::from_secs(40_000))),
            "the TCP keepalive time 40000s is not 1 to 32767 seconds (the system counts whole \
             seconds)",
        ),
        (
            SocketOptions::default().with_keepalive_interval(Duration::ZERO),
            "the TCP keepalive interval is zero; use None for the system's interval",
        ),
        (
            SocketOptions::default().with_keepalive_interval(Duration::from_millis(999)),
            "the TCP keepalive interval 999ms is not 1 to 32767 seconds (the system counts \
             whole seconds)",
        ),
        (
            SocketOptions::default().with_keepalive_retries(0),
            "the TCP keepalive retry count is zero; use None for the system's count",
        ),
        (
            SocketOptions::default().with_keepalive_retries(128),
            "the TCP keepalive retry count 128 is above the system's limit of 127",
        ),
        (
            SocketOptions::default().with_interface(""),
            "the interface name \"\" cannot be used: it is empty",
        ),
        (
            SocketOptions::default().with_interface("sixteen-bytes-16"),
            "the interface name \"sixteen-bytes-16\" cannot be used: interface names are at \
             most 15 bytes long",
        ),
        (
            SocketOptions::default().with_interface("eth 0"),
            "the interface name \"eth 0\" cannot be used: interface names have no NUL, slash \
             or white space",
        ),
        (
            SocketOptions::default().with_send_buffer_size(0),
            "the send buffer size 0 is not 1 to 2147483647 bytes; use None for the system's \
             size",
        ),
        (
            SocketOptions::default().with_recv_buffer_size(0),
            "the receive buffer size 0 is not 1 to 2147483647 bytes; use None for the \
             system's size",
        ),
        (
            SocketOptions::default().with_recv_buffer_size(1 << 31),
            "the receive buffer size 2147483648 is not 1 to 2147483647 bytes; use None for \
             the system's size",
        ),
    ];
    if cfg!(target_os = "linux") {
        table.extend([
            (
                SocketOptions::default().with_tcp_user_timeout(Duration::ZERO),
                "the TCP user timeout 0ns is below 1ms (the system counts whole milliseconds \
                 and reads 0 as off); use None for the system's behaviour",
            ),
            (
                SocketOptions::default().with_tcp_user_timeout(Duration::from_micros(999)),
                "the TCP user timeout 999µs is below 1ms (the system counts whole \
                 milliseconds and reads 0 as off); use None for the system's behaviour",
            ),
        ]);
    } else {
        table.push((
            SocketOptions::default().with_tcp_user_timeout(Duration::from_secs(1)),
            "TCP_USER_TIMEOUT is not available on this system",
        ));
    }
    for (socket, message) in table {
        assert_eq!(socket.validate().expect_err(message).to_string(), message);
        let mut options = TransportOptions::default();
        options.socket = socket.clone();
        let error = RawSocketTransport::new(options).expect_err(message);
        assert!(
            matches!(&error, TransportOptionsError::Socket(e) if e.to_string() == message),
            "{error:?}"
        );
        assert_eq!(error.to_string(), message);
    }

    // Keepalive off: its interval and retries are not used, so not checked.
    let off = SocketOptions::default()
        .with_keepalive(None)
        .with_keepalive_retries(0);
    assert!(off.validate().is_ok());

    // A family restriction with only the other family's local address dials nothing.
    let mut options = TransportOptions::default();
    options.family = Some(AddressFamily::V6);
    options.socket = SocketOptions::default().with_local_address_v4(V4_LOCAL);
    let error = RawSocketTransport::new(options).expect_err("nothing to dial");
    assert!(matches!(
        error,
        TransportOptionsError::FamilyWithoutLocalAddress { .. }
    ));
    assert_eq!(
        error.to_string(),
        "the transport dials IPv6 only, but its only local address, 127.0.0.2, is IPv4; \
         set a local address of IPv6 or drop the restriction"
    );
}

/// `connect_socket` checks too, so that a caller without a transport never hands a bad
/// value to the OS: refused before a socket exists, terminal (no address does better).
#[test]
fn connect_socket_refuses_bad_values_before_opening_a_socket() {
    run(async {
        let (_listener, port) = idle_listener(v4(0));
        let options = SocketOptions::default().with_keepalive_retries(0);
        let error = connect_socket(v4(port), &options)
            .await
            .expect_err("invalid");
        assert!(error.is_terminal());
        assert_eq!(error.io_error().kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            error.to_string(),
            "setup failed: the TCP keepalive retry count is zero; use None for the system's \
             count"
        );
        assert!(matches!(
            error
                .io_error()
                .get_ref()
                .and_then(|e| e.downcast_ref::<SocketOptionsError>()),
            Some(SocketOptionsError::ZeroKeepaliveRetries)
        ));
    });
}
