//! DNS inside the race on real sockets: the DNS lab on loopback answers (or does not
//! answer) AAAA and A, listeners on 127.0.0.1 and ::1 take the connections. One test
//! per row of the table, the isolation test, and bad DNS data.
//!
//! Times are asserted only where the rules fix them (an attempt starts no earlier than
//! the resolution delay after the A answer) or as bounds that tell two behaviours
//! apart (well under the DNS timeout that a resolver waiting for both answers pays).

mod support;

use std::error::Error as _;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use support::chain_text;
use turbohttp::ConnectParams;

use turbohttp::{AddressFamily, ConnectError, ConnectErrorKind, Established, HappyEyeballs};
use turbohttp::{DnsOptions, DnsResolver, TcpDialer};
use turbohttp_lab::dns::{Behaviour, DnsLab, Zone};

/// The lab's DNS timeout: a resolver that waited for the lost answer would take this
/// long, so a connect well under it did not wait.
const DNS_TIMEOUT: Duration = Duration::from_secs(5);

const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

/// Thread and descriptor counts must not see other tests' work: one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn run<F: Future>(test: F) -> F::Output {
    let _serial: MutexGuard<'_, ()> = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(test)
}

/// Listeners on ::1 and 127.0.0.1 on one port (connects to them succeed from the
/// kernel's accept queue; nothing needs to accept).
struct Listeners {
    port: u16,
    _v6: Option<TcpListener>,
    _v4: TcpListener,
}

fn listeners(with_v6: bool) -> Listeners {
    for _ in 0..20 {
        let v4 = TcpListener::bind((V4, 0)).expect("bind 127.0.0.1");
        let port = v4.local_addr().expect("addr").port();
        if !with_v6 {
            return Listeners {
                port,
                _v6: None,
                _v4: v4,
            };
        }
        if let Ok(v6) = TcpListener::bind((V6, port)) {
            return Listeners {
                port,
                _v6: Some(v6),
                _v4: v4,
            };
        }
    }
    panic!("no port free on both 127.0.0.1 and ::1");
}

fn resolver(lab: &DnsLab) -> DnsResolver {
    DnsResolver::new(
        &[lab.addr()],
        &DnsOptions::default()
            .with_timeout(DNS_TIMEOUT)
            .with_attempts(1)
            .with_cache(false),
    )
}

async fn connect(
    lab: &DnsLab,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Established<tokio::net::TcpStream>, ConnectError> {
    HappyEyeballs::default()
        .with_resolver(resolver(lab))
        .with_dialer(TcpDialer::default())
        .connect_with(host, port, ConnectParams::default().with_timeout(timeout))
        .await
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn a_lost_aaaa_answer_costs_the_resolution_delay() {
    run(async {
        let lab = DnsLab::start(
            Zone::new()
                .aaaa("lost-aaaa.test", Behaviour::Silent)
                .a("lost-aaaa.test", Behaviour::answer([V4])),
        )
        .await
        .expect("lab");
        let listening = listeners(false);
        let won = connect(&lab, "lost-aaaa.test", listening.port, ms(30_000))
            .await
            .expect("connected");
        let report = &won.report;
        let a = &report.dns[1];
        assert_eq!(
            (report.dns[0].query.as_str(), a.query.as_str()),
            ("AAAA", "A")
        );
        assert_eq!(report.dns[0].outcome.as_str(), "cancelled");
        let attempt = report.winning_attempt().expect("a winner");
        assert_eq!(attempt.family, AddressFamily::V4);
        // The A answer waited the resolution delay for AAAA, and no longer.
        assert!(
            attempt.started >= a.ended.expect("ended") + ms(50),
            "{report:?}"
        );
        assert!(report.elapsed < DNS_TIMEOUT, "{report:?}");
        // The lost query reached the server; the lab logs it.
        assert_eq!(lab.queries_for("lost-aaaa.test").len(), 2);
    });
}

#[test]
fn an_aaaa_answer_at_300ms_loses_to_ipv4_started_at_the_resolution_delay() {
    run(async {
        let lab = DnsLab::start(
            Zone::new()
                .aaaa("slow-aaaa.test", Behaviour::answer_after(ms(300), [V6]))
                .a("slow-aaaa.test", Behaviour::answer([V4])),
        )
        .await
        .expect("lab");
        let listening = listeners(true);
        let won = connect(&lab, "slow-aaaa.test", listening.port, ms(30_000))
            .await
            .expect("connected");
        let report = &won.report;
        let attempt = report.winning_attempt().expect("a winner");
        assert_eq!(attempt.family, AddressFamily::V4);
        assert_eq!(report.attempts.len(), 1, "{report:?}");
        assert!(attempt.started >= report.dns[1].ended.expect("ended") + ms(50));
        // Connected long before the AAAA answer came: its query was dropped.
        assert_eq!(report.dns[0].outcome.as_str(), "cancelled");
        assert!(report.elapsed < ms(300), "{report:?}");
    });
}

#[test]
fn a_lost_a_answer_lets_ipv6_win_at_once() {
    run(async {
        let lab = DnsLab::start(
            Zone::new()
                .aaaa("lost-a.test", Behaviour::answer([V6]))
                .a("lost-a.test", Behaviour::Silent),
        )
        .await
        .expect("lab");
        let listening = listeners(true);
        let won = connect(&lab, "lost-a.test", listening.port, ms(30_000))
            .await
            .expect("connected");
        let report = &won.report;
        let attempt = report.winning_attempt().expect("a winner");
        assert_eq!(attempt.family, AddressFamily::V6);
        // Started the instant the AAAA answer was read.
        assert_eq!(Some(attempt.started), report.dns[0].ended);
        assert_eq!(report.dns[1].outcome.as_str(), "cancelled");
    });
}

#[test]
fn both_answers_lost_end_at_the_connect_timeout() {
    run(async {
        let lab = DnsLab::start(
            Zone::new()
                .aaaa("lost.test", Behaviour::Silent)
                .a("lost.test", Behaviour::Silent),
        )
        .await
        .expect("lab");
        let started = tokio::time::Instant::now();
        let err = connect(&lab, "lost.test", 443, ms(2_000))
            .await
            .expect_err("nothing answers");
        let took = started.elapsed();
        assert_eq!(err.kind(), ConnectErrorKind::TimedOut);
        assert!(took >= ms(2_000) && took < DNS_TIMEOUT, "{took:?}");
        let outcomes: Vec<&str> = err
            .report()
            .dns
            .iter()
            .map(|q| q.outcome.as_str())
            .collect();
        assert_eq!(outcomes, ["timed_out", "timed_out"]);
        let sentence = chain_text(&err);
        assert!(
            sentence.starts_with("connecting to lost.test:443 stopped after 2")
                && sentence.ends_with(": the connect timeout ran out"),
            "{sentence}"
        );
        let timeout = err.source().and_then(|e| e.downcast_ref::<io::Error>());
        assert_eq!(timeout.map(io::Error::kind), Some(io::ErrorKind::TimedOut));
    });
}

/// Hundreds of connects to a name whose server never answers, each ended by its
/// timeout, then one to a healthy name: it connects at once, and the process holds
/// no thread more than before (no lookup ever ran on a thread of its own).
#[test]
fn a_name_that_never_answers_stalls_nothing_else() {
    run(async {
        let lab = DnsLab::start(
            Zone::new()
                .aaaa("never.test", Behaviour::Silent)
                .a("never.test", Behaviour::Silent)
                .a("healthy.test", Behaviour::answer([V4])),
        )
        .await
        .expect("lab");
        let listening = listeners(false);
        let resolver = resolver(&lab);
        let connector = HappyEyeballs::default()
            .with_resolver(resolver)
            .with_dialer(TcpDialer::default());
        // Whatever is made lazily is made before counting.
        connector
            .connect_with(
                "healthy.test",
                listening.port,
                ConnectParams::default().with_timeout(ms(5_000)),
            )
            .await
            .expect("warm-up");
        let threads_before = threads();

        let mut stalled = tokio::task::JoinSet::new();
        for _ in 0..300 {
            let connector = connector.clone();
            stalled.spawn(async move {
                connector
                    .connect_with(
                        "never.test",
                        443,
                        ConnectParams::default().with_timeout(ms(1_000)),
                    )
                    .await
                    .map(|_| ())
            });
        }
        // Let every stalled connect send its queries before the healthy one starts.
        tokio::time::sleep(ms(100)).await;
        let healthy = connector
            .connect_with(
                "healthy.test",
                listening.port,
                ConnectParams::default().with_timeout(ms(5_000)),
            )
            .await
            .expect("the healthy name connects");
        // Well before the stalled connects' 1 s timeout: not queued behind them.
        assert!(healthy.report.elapsed < ms(900), "{:?}", healthy.report);
        assert_eq!(
            threads(),
            threads_before,
            "a lookup got a thread of its own"
        );

        let mut timed_out = 0;
        while let Some(result) = stalled.join_next().await {
            let err = result
                .expect("no panic")
                .expect_err("never.test never answers");
            assert_eq!(err.kind(), ConnectErrorKind::TimedOut);
            timed_out += 1;
        }
        assert_eq!(timed_out, 300);
        assert_eq!(threads(), threads_before);
        // Both queries went out (hickory shares identical queries in flight).
        let asked: std::collections::HashSet<String> = lab
            .queries_for("never.test")
            .iter()
            .map(|q| q.record_type.to_string())
            .collect();
        assert_eq!(asked.len(), 2, "{asked:?}");

        // The count does see what it looks for: a blocking call gets such a thread.
        tokio::task::spawn_blocking(|| ()).await.expect("ran");
        assert_eq!(threads(), threads_before + 1);
    });
}

#[test]
fn bad_dns_data_is_a_typed_resolution_error() {
    run(async {
        let lab = DnsLab::start(
            Zone::new()
                .aaaa("garbage.test", Behaviour::Malformed)
                .a("garbage.test", Behaviour::Malformed)
                .aaaa("elsewhere.test", Behaviour::wrong_name("other.test", [V6]))
                .a("elsewhere.test", Behaviour::wrong_name("other.test", [V4]))
                .cname_loop("loop-a.test", "loop-b.test"),
        )
        .await
        .expect("lab");
        let err = connect(&lab, "garbage.test", 443, ms(10_000))
            .await
            .expect_err("garbage");
        assert_eq!(err.kind(), ConnectErrorKind::Resolve, "{err}");
        let outcomes: Vec<&str> = err
            .report()
            .dns
            .iter()
            .map(|q| q.outcome.as_str())
            .collect();
        assert_eq!(outcomes, ["bad_answer", "bad_answer"], "{err:#}");
        assert!(
            err.to_string()
                .starts_with("could not resolve garbage.test: AAAA: ")
        );

        // Records for another name are not this name's addresses.
        let err = connect(&lab, "elsewhere.test", 443, ms(10_000))
            .await
            .expect_err("no record for the name asked");
        assert_eq!(err.kind(), ConnectErrorKind::NoAddresses, "{err:#}");

        // A CNAME loop ends, typed, and dials nothing.
        let err = connect(&lab, "loop-a.test", 443, ms(10_000))
            .await
            .expect_err("a loop");
        assert!(
            matches!(
                err.kind(),
                ConnectErrorKind::NoAddresses | ConnectErrorKind::Resolve
            ),
            "{err:#}"
        );
        assert!(err.attempts().is_empty());
    });
}

/// This process's tokio worker and blocking-pool threads (`tokio-rt-worker`), where a
/// `getaddrinfo` lookup would run. The test harness's own threads come and go with
/// other tests, so they are not counted.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end() == "tokio-rt-worker")
        .count()
}
