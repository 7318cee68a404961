//! How late the IPv4 fallback starts: `[::1]:P` black-holed (a listener whose one
//! accept-queue slot is taken, so SYNs are dropped) and `127.0.0.1:P` healthy, raced
//! with a 250 ms family stagger; prints the median and max excess of the whole
//! connect over the stagger (the fallback's timer lateness plus one loopback
//! connect), and, from the race report, how late the IPv4 attempt started (the
//! timer's lateness alone, as the race saw it). A measurement, not a test: the
//! numbers depend on the machine's load.
//!
//! ```text
//! cargo run --release -p turbohttp --example stagger_excess --locked [-- RUNS]
//! ```

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use turbohttp::{HappyEyeballs, HappyEyeballsOptions, StaticResolver};

const STAGGER: Duration = Duration::from_millis(250);

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .map_or(20, |n| n.parse().expect("RUNS is a number"));
    // The stalled [::1] listener: backlog 0 and one connection in its only slot.
    let stalled = Socket::new(Domain::IPV6, Type::STREAM, Some(Protocol::TCP)).expect("socket");
    stalled
        .bind(&SocketAddr::from((Ipv6Addr::LOCALHOST, 0)).into())
        .expect("bind [::1]");
    stalled.listen(0).expect("listen");
    let port = stalled
        .local_addr()
        .expect("addr")
        .as_socket()
        .expect("inet")
        .port();
    let _filler = TcpStream::connect_timeout(
        &SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
        Duration::from_secs(5),
    )
    .expect("the first connect fills the queue");
    let healthy = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .expect("127.0.0.1 on the same port");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let addrs = [
        SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
    ];
    let connector = HappyEyeballs::default()
        .with_options(HappyEyeballsOptions::default().with_family_stagger_delay(STAGGER))
        .with_resolver(StaticResolver::new().with_override("stalled.test", port, addrs));
    let mut excess = Vec::with_capacity(runs);
    let mut late_start = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let won = runtime
            .block_on(connector.connect("stalled.test", port))
            .expect("127.0.0.1 wins");
        excess.push(start.elapsed().saturating_sub(STAGGER));
        assert!(won.stream.peer_addr().expect("peer").is_ipv4());
        let fallback = won.report.attempts.last().expect("two attempts");
        late_start.push(fallback.started.saturating_sub(STAGGER));
        // Keep the backlog of the healthy listener empty.
        drop(healthy.accept().expect("accept"));
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (what, mut samples) in [
        ("connect's excess over the stagger", excess),
        ("IPv4 attempt's start after the stagger", late_start),
    ] {
        samples.sort();
        println!(
            "{runs} runs, {what} ({} ms): median {:.3} ms, min {:.3} ms, max {:.3} ms",
            STAGGER.as_millis(),
            ms(samples[runs / 2]),
            ms(samples[0]),
            ms(samples[runs - 1]),
        );
    }
}
