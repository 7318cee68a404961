//! The loopback servers, each scenario's address list, and the run: every wanted
//! scenario, contenders in a rotated order every round.

use std::io::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::common::{drain, ms, probe_python, rotation, us};
use crate::contenders::{Clients, External, Python, Who, find_cli, probe_curl};
use crate::samplers::{fds_wanted, latency_batch, many_once, planner_rows, s4_once, throughput};
use crate::table::{Results, many_keys};
use crate::{HOST, Settings};

// ---------------------------------------------------------------------------------
// Loopback servers

pub(crate) fn listener(addr: SocketAddr, backlog: i32) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket)
}

/// The healthy listeners (served on their own thread and runtime) and the stalled one.
pub(crate) struct Servers {
    /// Scenario 1 and 4: `127.0.0.1:p1`.
    pub(crate) p1: u16,
    /// Scenario 2: `[::1]:p2` stalled and `127.0.0.1:p2` healthy.
    pub(crate) p2: Result<u16, String>,
    /// Scenario 3: `[::1]:p3` refused and `127.0.0.1:p3` healthy.
    pub(crate) p3: Result<u16, String>,
    pub(crate) _stalled: Option<(Socket, Vec<std::net::TcpStream>)>,
}

pub(crate) fn localhost(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
}

pub(crate) fn v6_localhost(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port)
}

pub(crate) fn start_servers() -> io::Result<Servers> {
    let healthy1 = listener(localhost(0), 1024)?;
    let p1 = port_of(&healthy1)?;
    let mut healthy = vec![healthy1];

    // Scenario 2: the same port on both families, so that curl's --resolve works.
    let mut stalled = None;
    let p2 = stalled_pair(1, Duration::from_millis(300)).map(|(port, v4, v6)| {
        healthy.extend(v4);
        stalled = Some(v6);
        port
    });

    // Scenario 3: a port with nothing on [::1].
    let p3 = (|| -> Result<u16, String> {
        for _ in 0..20 {
            let v4 = listener(localhost(0), 1024).map_err(|e| e.to_string())?;
            let port = port_of(&v4).map_err(|e| e.to_string())?;
            match std::net::TcpStream::connect_timeout(&v6_localhost(port), Duration::from_secs(1))
            {
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    healthy.push(v4);
                    return Ok(port);
                }
                Err(e) => return Err(format!("[::1] does not refuse as expected: {e}")),
                Ok(_) => continue,
            }
        }
        Err("found no port refused on [::1]".into())
    })();

    let listeners: Vec<std::net::TcpListener> = healthy.into_iter().map(Into::into).collect();
    thread::Builder::new()
        .name("bench-servers".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(async move {
                for l in listeners {
                    l.set_nonblocking(true).expect("nonblocking listener");
                    let l = tokio::net::TcpListener::from_std(l).expect("tokio listener");
                    tokio::spawn(async move {
                        loop {
                            if let Ok((s, _)) = l.accept().await {
                                tokio::spawn(drain(s));
                            }
                        }
                    });
                }
                std::future::pending::<()>().await;
            });
        })?;
    Ok(Servers {
        p1,
        p2,
        p3,
        _stalled: stalled,
    })
}

/// A stalled listener: `[::1]:P` with backlog 0 and its one queue slot taken, so that
/// the kernel drops every further SYN (the client retransmits after 1 s).
pub(crate) type Stalled = (Socket, Vec<std::net::TcpStream>);

/// A port `P` with `listeners` healthy `127.0.0.1:P` listeners (more than one: an
/// `SO_REUSEPORT` group, each with its own accept queue) and a stalled `[::1]:P`,
/// checked: one more connect to it gets no answer within `check`.
pub(crate) fn stalled_pair(
    listeners: usize,
    check: Duration,
) -> Result<(u16, Vec<Socket>, Stalled), String> {
    for _ in 0..20 {
        let v4 = healthy_group(0, listeners).map_err(|e| e.to_string())?;
        let port = port_of(&v4[0]).map_err(|e| e.to_string())?;
        let Ok(v6) = listener(v6_localhost(port), 0) else {
            continue;
        };
        // Fill the accept queue, then check that one more connect hangs.
        let mut fillers = Vec::new();
        for _ in 0..4 {
            match std::net::TcpStream::connect_timeout(&v6_localhost(port), check) {
                Ok(s) => fillers.push(s),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    return Ok((port, v4, (v6, fillers)));
                }
                Err(e) => return Err(format!("[::1] is not usable here: {e}")),
            }
        }
        return Err("a full listen backlog on [::1] does not stall connects here".into());
    }
    Err("found no port free on both 127.0.0.1 and [::1]".into())
}

/// `count` listeners on `127.0.0.1:port` (0: a free port), an `SO_REUSEPORT` group if
/// more than one, each with the largest backlog the system allows.
pub(crate) fn healthy_group(port: u16, count: usize) -> io::Result<Vec<Socket>> {
    let mut group: Vec<Socket> = Vec::with_capacity(count);
    let mut port = port;
    for _ in 0..count.max(1) {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        if count > 1 {
            socket.set_reuse_port(true)?;
        }
        socket.bind(&localhost(port).into())?;
        socket.listen(if count > 1 { 65_535 } else { 1024 })?;
        port = port_of(&socket)?;
        group.push(socket);
    }
    Ok(group)
}

/// Listeners that accept and drop every connection, on a thread of their own, until
/// this is dropped.
pub(crate) struct AcceptDrop {
    stop: tokio_util::sync::CancellationToken,
    thread: Option<thread::JoinHandle<()>>,
}

impl AcceptDrop {
    pub(crate) fn start(listeners: Vec<Socket>) -> io::Result<AcceptDrop> {
        let stop = tokio_util::sync::CancellationToken::new();
        let token = stop.clone();
        let listeners: Vec<std::net::TcpListener> = listeners.into_iter().map(Into::into).collect();
        for l in &listeners {
            l.set_nonblocking(true)?;
        }
        let thread = thread::Builder::new()
            .name("bench-accept-drop".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("server runtime");
                runtime.block_on(async move {
                    for l in listeners {
                        let l = tokio::net::TcpListener::from_std(l).expect("tokio listener");
                        tokio::spawn(async move {
                            loop {
                                drop(l.accept().await);
                            }
                        });
                    }
                    token.cancelled().await;
                });
            })?;
        Ok(AcceptDrop {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for AcceptDrop {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Scenario 6's listeners, fresh for every burst (so that no burst meets the last
/// one's TIME_WAIT sockets): (a) a healthy `127.0.0.1:P` group; (b) a stalled
/// `[::1]:P` and a healthy `127.0.0.1:P` group. The target lists them in that order.
pub(crate) fn many_servers(stalled: bool) -> Result<(Target, AcceptDrop, Option<Stalled>), String> {
    // Four accept queues of up to net.core.somaxconn each: 10,000 SYNs at once overflow
    // none of them even while the accepting thread waits for a core.
    const GROUP: usize = 4;
    let (port, v4, v6) = if stalled {
        let (port, v4, v6) = stalled_pair(GROUP, Duration::from_millis(100))?;
        (port, v4, Some(v6))
    } else {
        let v4 = healthy_group(0, GROUP).map_err(|e| e.to_string())?;
        (port_of(&v4[0]).map_err(|e| e.to_string())?, v4, None)
    };
    let server = AcceptDrop::start(v4).map_err(|e| e.to_string())?;
    let mut addrs = vec![localhost(port)];
    if stalled {
        addrs.insert(0, v6_localhost(port));
    }
    Ok((Target { port, addrs }, server, v6))
}

/// The profile mode's scenario 6 target: a group of `127.0.0.1:P` listeners that never
/// accept, with `stalled` (6b) a stalled `[::1]:P` listed before it. The kernel
/// completes every handshake into an accept queue, so a burst needs no server thread in
/// the profiled process, and a profiler sees the contender's work alone. The group has
/// a listener per `net.core.somaxconn` ÷ 2 connects (at least four), so that no queue
/// overflows (an overflow drops the SYN: a 1 s retransmit).
pub(crate) fn unaccepted_group(
    n: usize,
    stalled: bool,
) -> io::Result<(Target, Vec<Socket>, Option<Stalled>)> {
    let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(128)
        .clamp(2, 65_535);
    let count = (2 * (n + 1)).div_ceil(somaxconn).max(4);
    if stalled {
        let (port, group, v6) =
            stalled_pair(count, Duration::from_millis(100)).map_err(io::Error::other)?;
        let target = Target {
            port,
            addrs: vec![v6_localhost(port), localhost(port)],
        };
        return Ok((target, group, Some(v6)));
    }
    let group = healthy_group(0, count)?;
    let port = port_of(&group[0])?;
    let target = Target {
        port,
        addrs: vec![localhost(port)],
    };
    Ok((target, group, None))
}

pub(crate) fn port_of(socket: &Socket) -> io::Result<u16> {
    socket
        .local_addr()?
        .as_socket()
        .map(|a| a.port())
        .ok_or_else(|| io::Error::other("not an inet socket"))
}

// ---------------------------------------------------------------------------------
// Address lists

/// One scenario's address list (the same for every contender) and its healthy address.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) port: u16,
    pub(crate) addrs: Vec<SocketAddr>,
}

impl Target {
    pub(crate) fn healthy(&self) -> SocketAddr {
        localhost(self.port)
    }

    /// `PORT;ADDR,ADDR` (IPv6 without brackets): the asyncio script's and the worker's.
    pub(crate) fn spec(&self) -> String {
        let ips: Vec<String> = self.addrs.iter().map(|a| a.ip().to_string()).collect();
        format!("{};{}", self.port, ips.join(","))
    }

    /// `bench.test:PORT:ADDR,[ADDR]`: curl's and the command's `--resolve`.
    pub(crate) fn resolve_arg(&self) -> String {
        let ips: Vec<String> = self
            .addrs
            .iter()
            .map(|a| match a.ip() {
                IpAddr::V4(ip) => ip.to_string(),
                IpAddr::V6(ip) => format!("[{ip}]"),
            })
            .collect();
        format!("{HOST}:{}:{}", self.port, ips.join(","))
    }

    /// The worker's stdin form: the port, then one address a line, then an empty line.
    pub(crate) fn write_lines(&self, out: &mut impl std::io::Write) -> io::Result<()> {
        let mut out = std::io::BufWriter::new(out);
        writeln!(out, "{}", self.port)?;
        for a in &self.addrs {
            writeln!(out, "{}", a.ip())?;
        }
        writeln!(out)?;
        out.flush()
    }

    /// Reads [`write_lines`](Self::write_lines)'s form a line at a time, so that no text
    /// of the whole list is ever held; the vector is exactly as long as the list.
    pub(crate) fn read_lines(input: &mut impl std::io::BufRead) -> io::Result<Target> {
        let bad = |what: &str| io::Error::other(format!("bad target on stdin: {what}"));
        let mut line = String::with_capacity(64);
        input.read_line(&mut line)?;
        let port: u16 = line.trim().parse().map_err(|_| bad(&line))?;
        let mut addrs = Vec::new();
        loop {
            line.clear();
            if input.read_line(&mut line)? == 0 || line.trim().is_empty() {
                break;
            }
            let ip: IpAddr = line.trim().parse().map_err(|_| bad(&line))?;
            addrs.push(SocketAddr::new(ip, port));
        }
        addrs.shrink_to_fit();
        Ok(Target { port, addrs })
    }

    pub(crate) fn parse_spec(spec: &str) -> Option<Target> {
        let (port, ips) = spec.split_once(';')?;
        let port: u16 = port.parse().ok()?;
        let addrs = ips
            .split(',')
            .map(|ip| ip.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, port)))
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        Some(Target { port, addrs })
    }
}

/// `n` distinct refusing addresses from 127.0.0.2 upwards (skipping x.x.x.0 and
/// x.x.x.255, which some tools treat specially).
pub(crate) fn refusing(n: usize) -> Vec<Ipv4Addr> {
    let mut out = Vec::with_capacity(n);
    let mut next = u32::from(Ipv4Addr::new(127, 0, 0, 2));
    while out.len() < n {
        let ip = Ipv4Addr::from(next);
        next += 1;
        let last = ip.octets()[3];
        if last != 0 && last != 255 {
            out.push(ip);
        }
    }
    out
}

// ---------------------------------------------------------------------------------
// The run

/// Every wanted scenario, each contender in turn, round after round.
pub(crate) fn run(settings: &Settings) -> Results {
    let mut results = Results::default();

    let ext = External {
        curl: probe_curl(),
        python: probe_python(),
        cli: find_cli(),
    };
    let mut active = vec![
        Who::Floor,
        Who::Turbo,
        Who::HyperTurboOpts,
        Who::TurboHyperOpts,
        Who::Hyper,
        Who::TurboBare,
    ];
    for (who, ok) in [
        (Who::Curl, ext.curl.as_ref().err()),
        (Who::Asyncio, ext.python.as_ref().err()),
        (Who::Cli, ext.cli.as_ref().err()),
    ] {
        match ok {
            None => active.push(who),
            Some(why) => results.skipped.push((who, why.clone())),
        }
    }
    let mut python = if active.contains(&Who::Asyncio) {
        match Python::start() {
            Ok(p) => Some(p),
            Err(e) => {
                active.retain(|w| *w != Who::Asyncio);
                results
                    .skipped
                    .push((Who::Asyncio, format!("cannot start python3: {e}")));
                None
            }
        }
    } else {
        None
    };

    let servers = start_servers().expect("loopback listeners on 127.0.0.1");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let stagger = settings.stagger;
    let started = Instant::now();
    let rounds = settings.rounds;
    let wanted = |n: u8| settings.scenarios.contains(&n);

    // Scenario 1.
    let s1 = Target {
        port: servers.p1,
        addrs: vec![localhost(servers.p1)],
    };
    let c1 = Arc::new(Clients::new(&s1, stagger));
    // Warm every path once (first-connect costs are not what we measure).
    for &who in &active {
        if who.in_process() {
            let _ = runtime.block_on(c1.timed(who));
        }
    }
    // Scenario 4: a contender that failed once (curl runs into the 10 s bound) is not
    // run again, in this run or the next.
    let mut gave_up: Vec<Who> = Vec::new();

    // The whole set of rounds, `runs` times: each run gives every row one statistic,
    // and the table shows how far the runs spread.
    for run in 0..settings.runs {
        results.run = run;
        eprintln!("run {} of {}", run + 1, settings.runs);
        eprintln!(
            "scenario 1: latency ({rounds} rounds × {} connects)",
            settings.batch
        );
        for round in 0..if wanted(1) { rounds } else { 0 } {
            for who in rotation(&active, round) {
                latency_batch(
                    &runtime,
                    &mut results,
                    "s1.lat",
                    who,
                    &c1,
                    &ext,
                    &mut python,
                    settings.batch,
                    us,
                    Duration::ZERO,
                );
            }
        }
        eprintln!(
            "scenario 1: throughput ({} rounds × {} connects, 1 and 64 at a time)",
            rounds.div_ceil(2),
            settings.tp_n
        );
        for round in 0..if wanted(1) { rounds.div_ceil(2) } else { 0 } {
            for who in rotation(&active, round) {
                for (key, conc) in [("s1.tp1", 1), ("s1.tp64", 64)] {
                    if let Some(r) =
                        throughput(&runtime, who, &c1, &mut python, conc, settings.tp_n)
                    {
                        results.record(key, who, r);
                    }
                }
            }
        }

        // Scenarios 2 and 3.
        for (key, port, first, batch, name) in [
            (
                "s2.time",
                &servers.p2,
                "stalled",
                1,
                "scenario 2 (::1 stalled)",
            ),
            (
                "s3.time",
                &servers.p3,
                "refused",
                settings.batch.min(10),
                "scenario 3 (::1 refused)",
            ),
        ] {
            if !wanted(if key == "s2.time" { 2 } else { 3 }) {
                continue;
            }
            let port = match port {
                Ok(p) => *p,
                Err(why) => {
                    results.skip_scenario(format!("{name}: {why}"));
                    continue;
                }
            };
            eprintln!(
                "{name}: {rounds} rounds × {batch} connects ([::1]:{port} {first}, then 127.0.0.1:{port})"
            );
            let target = Target {
                port,
                addrs: vec![v6_localhost(port), localhost(port)],
            };
            let clients = Clients::new(&target, stagger);
            for round in 0..rounds {
                for who in rotation(&active, round) {
                    latency_batch(
                        &runtime,
                        &mut results,
                        key,
                        who,
                        &clients,
                        &ext,
                        &mut python,
                        batch,
                        ms,
                        stagger,
                    );
                }
            }
        }

        // Scenario 4.
        let bad: Vec<SocketAddr> = refusing(settings.bad)
            .into_iter()
            .map(|ip| SocketAddr::new(IpAddr::V4(ip), servers.p1))
            .collect();
        let refused_probe = std::net::TcpStream::connect_timeout(&bad[0], Duration::from_secs(1));
        if !wanted(4) {
        } else if refused_probe
            .as_ref()
            .is_err_and(|e| e.kind() == io::ErrorKind::ConnectionRefused)
        {
            let mut addrs = bad.clone();
            addrs.push(localhost(servers.p1));
            let big = Target {
                port: servers.p1,
                addrs,
            };
            let small = s1.clone();
            let mut addrs: Vec<SocketAddr> = refusing(5 * settings.bad)
                .into_iter()
                .map(|ip| SocketAddr::new(IpAddr::V4(ip), servers.p1))
                .collect();
            addrs.push(localhost(servers.p1));
            let bigger = Target {
                port: servers.p1,
                addrs,
            };
            let s4_rounds = rounds.div_ceil(2);
            eprintln!(
                "scenario 4: {s4_rounds} rounds; {} refusing addresses ({}..{}) then 127.0.0.1:{}",
                settings.bad,
                bad[0].ip(),
                bad[bad.len() - 1].ip(),
                servers.p1
            );
            for round in 0..s4_rounds {
                for who in rotation(&active, round) {
                    if gave_up.contains(&who) {
                        continue;
                    }
                    let one = s4_once(who, &ext, &small, &small, stagger);
                    if who == Who::Floor {
                        // The floor dials only the healthy address: the time reference.
                        results.record("s4.time", who, one.map(|s| ms(s.took)));
                        continue;
                    }
                    let many = s4_once(who, &ext, &big, &small, stagger);
                    match (one, many) {
                        (Ok(one), Ok(many)) => {
                            results.add("s4.time", who, ms(many.took));
                            results.add(
                                "s4.perattempt",
                                who,
                                us(many.took) / (settings.bad + 1) as f64,
                            );
                            results.add("s4.sockets", who, many.peak_sockets as f64);
                            results.add("s4.sockets1", who, one.peak_sockets as f64);
                            if let Some(n) = many.in_flight {
                                results.add("s4.inflight", who, n as f64);
                            }
                            let extra = many.hwm_kib as f64 - one.hwm_kib as f64;
                            results.add("s4.mem", who, extra);
                            results.add("s4.peraddr", who, extra * 1024.0 / settings.bad as f64);
                        }
                        (Err(e), _) | (_, Err(e)) => {
                            results.record("s4.time", who, Err(e));
                            gave_up.push(who);
                        }
                    }
                    // Linearity: five times the addresses, for the contenders that can dial
                    // 5,000 refusing addresses well within the 10 s bound.
                    if (who.in_process() && who != Who::Floor) || who == Who::Cli {
                        let one = s4_once(who, &ext, &small, &small, stagger);
                        let many = s4_once(who, &ext, &bigger, &small, stagger);
                        match (one, many) {
                            (Ok(one), Ok(many)) => {
                                let n = bigger.addrs.len() - 1;
                                results.add("s4x.perattempt", who, us(many.took) / (n + 1) as f64);
                                let extra = many.hwm_kib as f64 - one.hwm_kib as f64;
                                results.add("s4x.peraddr", who, extra * 1024.0 / n as f64);
                            }
                            (Err(e), _) | (_, Err(e)) => {
                                results.record("s4x.perattempt", who, Err(e))
                            }
                        }
                    }
                }
            }
        } else {
            results.skip_scenario(format!(
                "scenario 4: {} does not refuse: {refused_probe:?}",
                bad[0]
            ));
        }

        // Scenario 6: many races at once, each burst in a fresh process against fresh
        // listeners.
        let s6_rounds = rounds.div_ceil(4);
        for slot in 0..2 {
            if !wanted(6) {
                break;
            }
            for (stalled, case) in [(false, "a"), (true, "b")] {
                let counts = if stalled {
                    &settings.many_stalled
                } else {
                    &settings.many
                };
                let Some(&n) = counts.get(slot) else {
                    continue;
                };
                eprintln!(
                    "scenario 6{case}: {s6_rounds} rounds × {n} connects at once ({})",
                    if stalled {
                        "[::1] stalled, then 127.0.0.1"
                    } else {
                        "127.0.0.1"
                    }
                );
                let keys = many_keys(slot, stalled);
                for round in 0..s6_rounds {
                    for who in rotation(&active, round) {
                        if !(who.in_process() || who == Who::Asyncio) {
                            continue;
                        }
                        let burst = many_servers(stalled).map_err(io::Error::other).and_then(
                            |(target, server, stalled_guard)| {
                                let sample = many_once(who, n, &target, &s1, stagger);
                                drop(server);
                                drop(stalled_guard);
                                sample
                            },
                        );
                        let burst = burst.and_then(|b| {
                            // 6b means something only if no connect got through to the
                            // stalled [::1] and none was done before the stagger.
                            if stalled && who != Who::Floor && (b.v6 > 0 || b.first < stagger) {
                                Err(io::Error::other(format!(
                                    "the stalled [::1] let connects through: {} on IPv6, the \
                                     first done after {:.1} ms",
                                    b.v6,
                                    ms(b.first)
                                )))
                            } else {
                                Ok(b)
                            }
                        });
                        match burst {
                            Ok(b) => {
                                let want = fds_wanted(n, if stalled { 2 } else { 1 });
                                if b.fd_limit > 0 && b.fd_limit < want as u64 {
                                    results.skip_scenario(format!(
                                        "scenario 6 at {n}: the workers' fd soft limit is {} \
                                         (the hard limit), under the {} that {n} races may \
                                         need at once; a race short of an fd fails",
                                        b.fd_limit, want
                                    ));
                                }
                                results.add(keys.wall, who, ms(b.wall));
                                results.add(keys.p50, who, ms(b.p50));
                                results.add(keys.p99, who, ms(b.p99));
                                results.add(keys.max, who, ms(b.max));
                                results.add(keys.cpu, who, us(b.cpu) / n as f64);
                                results.add(keys.rss, who, b.hwm_kib as f64 * 1024.0 / n as f64);
                            }
                            Err(e) => results.record(keys.wall, who, Err(e)),
                        }
                    }
                }
            }
        }

        // Scenario 5.
        if wanted(5) {
            eprintln!("scenario 5: planner");
            planner_rows(&mut results, rounds);
        }
    }
    // The excess over the stagger means nothing for the floor, which does not race.
    results.samples.remove(&("s2.excess", Who::Floor));

    drop(python);
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
    results
}
