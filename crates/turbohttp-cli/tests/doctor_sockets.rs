//! The doctor's address probes leave no socket open: run in a test binary of their
//! own, so that no other test opens or closes files meanwhile (as the soak test
//! counts them). Loopback only.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::time::Duration;

use turbohttp::SocketOptions;
use turbohttp_cli::commands::doctor::evidence::Connect;
use turbohttp_cli::commands::doctor::probes::probe_addresses;
use turbohttp_lab::BlackHole;

const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// A port with nothing listening on 127.0.0.1 (nor, most likely, on [::1]).
fn closed_port() -> u16 {
    let listener = TcpListener::bind((V4, 0)).expect("bind");
    listener.local_addr().expect("addr").port()
}

#[test]
fn no_socket_is_left_open_by_the_address_probes() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let listener = TcpListener::bind((V4, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hole = runtime.block_on(BlackHole::at(port)).ok();
    let closed = closed_port();
    let mut addrs = vec![
        SocketAddr::new(V4, port),
        SocketAddr::new(V4, closed),
        SocketAddr::new(V6, closed),
    ];
    if let Some(hole) = &hole {
        addrs.push(hole.addr());
    }
    let before = open_fds();
    for _ in 0..3 {
        let probes = runtime.block_on(probe_addresses(
            &addrs,
            &SocketOptions::default(),
            None,
            Duration::from_millis(300),
        ));
        assert_eq!(probes.len(), addrs.len());
        assert!(
            matches!(probes[1].connect, Connect::Refused(_)),
            "{:?}",
            probes[1]
        );
        if hole.is_some() {
            assert!(
                matches!(probes[3].connect, Connect::TimedOut(_)),
                "{:?}",
                probes[3]
            );
        }
        assert!(matches!(probes[0].connect, Connect::Connected(_)));
    }
    assert_eq!(open_fds(), before, "every probe's socket is closed");
}
