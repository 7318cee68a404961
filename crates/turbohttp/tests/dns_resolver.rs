//! `DnsResolver` against the DNS lab: real UDP and TCP on 127.0.0.1, one test per server
//! behaviour, each asserting the exact addresses or failure kind. The resolver asks
//! only the lab (never resolv.conf, never a real name), with a 500 ms timeout and one
//! try, so that failures are quick.

use std::future::Future;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use turbohttp::{DnsOptions, DnsResolver};
use turbohttp::{LookupFailure, LookupFailureKind, QueryType};
use turbohttp_lab::dns::RecordType;
use turbohttp_lab::dns::{Behaviour, DnsLab, SeenQuery, Transport, Zone};

const TIMEOUT: Duration = Duration::from_millis(500);

/// The thread count test must not see other tests' threads come and go: every test of
/// this file runs under this lock.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `test` on a fresh current-thread runtime, one test at a time, and fails it
/// instead of hanging if it outlives a generous bound.
fn run<F: Future>(test: F) -> F::Output {
    let _serial: MutexGuard<'_, ()> = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(30), test)
            .await
            .expect("the test hung")
    })
}

async fn lab(zone: Zone) -> DnsLab {
    DnsLab::start(zone).await.expect("the DNS lab starts")
}

/// Only the lab, 500 ms, one try.
fn resolver(lab: &DnsLab) -> DnsResolver {
    DnsResolver::new(
        &[lab.addr()],
        &DnsOptions::default().with_timeout(TIMEOUT).with_attempts(1),
    )
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("an IP address")
}

fn failure(result: Result<Vec<IpAddr>, LookupFailure>) -> LookupFailure {
    match result {
        Ok(addrs) => panic!("expected a failure, got {addrs:?}"),
        Err(failure) => failure,
    }
}

fn transports(queries: &[SeenQuery]) -> Vec<(RecordType, Transport)> {
    queries
        .iter()
        .map(|query| (query.record_type, query.transport))
        .collect()
}

#[test]
fn answers_come_back_in_the_servers_order() {
    run(async {
        let v6 = [ip("2001:db8::3"), ip("2001:db8::1"), ip("2001:db8::2")];
        let v4 = [ip("192.0.2.9"), ip("192.0.2.1")];
        let lab = lab(Zone::new()
            .aaaa("dual.test", Behaviour::answer(v6))
            .a("dual.test", Behaviour::answer(v4)))
        .await;
        let resolver = resolver(&lab);

        assert_eq!(
            resolver.lookup("dual.test", QueryType::Aaaa).await,
            Ok(v6.to_vec())
        );
        assert_eq!(
            resolver.lookup("DUAL.test.", QueryType::A).await,
            Ok(v4.to_vec())
        );
        assert_eq!(
            transports(&lab.queries_for("dual.test")),
            [
                (RecordType::AAAA, Transport::Udp),
                (RecordType::A, Transport::Udp)
            ],
            "one query per call, one record type each"
        );
    });
}

#[test]
fn the_cache_answers_a_repeated_lookup() {
    run(async {
        let lab =
            lab(Zone::new().aaaa("cached.test", Behaviour::answer([ip("2001:db8::1")]))).await;
        let resolver = resolver(&lab);
        for _ in 0..3 {
            assert_eq!(
                resolver.lookup("cached.test", QueryType::Aaaa).await,
                Ok(vec![ip("2001:db8::1")])
            );
        }
        assert_eq!(lab.queries_for("cached.test").len(), 1);
    });
}

#[test]
fn the_ttl_comes_with_the_answer_and_a_remembered_one_tells_what_is_left() {
    run(async {
        let answer = Behaviour::Answer {
            addrs: vec![ip("2001:db8::7"), ip("2001:db8::8")],
            ttl: 120,
            delay: Duration::ZERO,
        };
        let lab = lab(Zone::new().aaaa("ttl.test", answer)).await;
        let resolver = resolver(&lab);
        let (addrs, ttl) = resolver
            .lookup_with_ttl("ttl.test", QueryType::Aaaa)
            .await
            .expect("answered");
        assert_eq!(addrs, [ip("2001:db8::7"), ip("2001:db8::8")]);
        assert_eq!(ttl, Duration::from_secs(120));
        // From the cache: no more than what is left, and more than nothing.
        let (_, left) = resolver
            .lookup_with_ttl("ttl.test", QueryType::Aaaa)
            .await
            .expect("remembered");
        assert!(left <= ttl && left > Duration::from_secs(100), "{left:?}");
        assert_eq!(lab.queries_for("ttl.test").len(), 1);
        // A literal answers itself, with nothing to keep.
        assert_eq!(
            resolver.lookup_with_ttl("::1", QueryType::Aaaa).await,
            Ok((vec![ip("::1")], Duration::ZERO))
        );
    });
}

#[test]
fn a_cached_answer_lasts_its_ttl_and_no_longer() {
    run(async {
        let answer = Behaviour::Answer {
            addrs: vec![ip("2001:db8::7")],
            ttl: 1,
            delay: Duration::ZERO,
        };
        let lab = lab(Zone::new().aaaa("short.test", answer)).await;
        let resolver = resolver(&lab);
        let expected = Ok(vec![ip("2001:db8::7")]);
        assert_eq!(
            resolver.lookup("short.test", QueryType::Aaaa).await,
            expected
        );
        assert_eq!(
            resolver.lookup("short.test", QueryType::Aaaa).await,
            expected
        );
        assert_eq!(lab.queries_for("short.test").len(), 1);
        // The one-second TTL runs out: the server is asked again.
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        assert_eq!(
            resolver.lookup("short.test", QueryType::Aaaa).await,
            expected
        );
        assert_eq!(lab.queries_for("short.test").len(), 2);

        // With the cache off, every lookup asks.
        let uncached = DnsResolver::new(
            &[lab.addr()],
            &DnsOptions::default()
                .with_timeout(TIMEOUT)
                .with_cache(false),
        );
        for _ in 0..2 {
            assert_eq!(
                uncached.lookup("short.test", QueryType::Aaaa).await,
                expected
            );
        }
        assert_eq!(lab.queries_for("short.test").len(), 4);
    });
}

#[test]
fn a_delayed_aaaa_does_not_delay_the_a_lookup() {
    run(async {
        let lab = lab(Zone::new()
            .aaaa(
                "slow6.test",
                Behaviour::answer_after(Duration::from_millis(300), [ip("2001:db8::6")]),
            )
            .a("slow6.test", Behaviour::answer([ip("192.0.2.4")])))
        .await;
        let resolver = resolver(&lab);
        let finished = Mutex::new(Vec::new());
        let lookup = |query| {
            let (resolver, finished) = (&resolver, &finished);
            async move {
                let result = resolver.lookup("slow6.test", query).await;
                finished.lock().unwrap().push(query);
                result
            }
        };

        let (v6, v4) = tokio::join!(lookup(QueryType::Aaaa), lookup(QueryType::A));

        assert_eq!(v6, Ok(vec![ip("2001:db8::6")]));
        assert_eq!(v4, Ok(vec![ip("192.0.2.4")]));
        assert_eq!(*finished.lock().unwrap(), [QueryType::A, QueryType::Aaaa]);
    });
}

#[test]
fn a_silent_server_is_a_timeout() {
    run(async {
        let lab = lab(Zone::new().aaaa("silent.test", Behaviour::Silent)).await;
        let failure = failure(resolver(&lab).lookup("silent.test", QueryType::Aaaa).await);
        assert_eq!(failure.kind, LookupFailureKind::TimedOut, "{failure}");
        // The failure names the server it asked.
        assert_eq!(
            failure.message,
            format!(
                "no answer for silent.test within 500ms (asked {})",
                lab.addr()
            )
        );
    });
}

#[test]
fn servfail_is_servfail() {
    run(async {
        let lab = lab(Zone::new().aaaa("servfail.test", Behaviour::ServFail)).await;
        let failure = failure(
            resolver(&lab)
                .lookup("servfail.test", QueryType::Aaaa)
                .await,
        );
        assert_eq!(failure.kind, LookupFailureKind::ServFail, "{failure}");
        assert_eq!(failure.message, "the server failed (SERVFAIL)");
    });
}

#[test]
fn refused_is_refused() {
    run(async {
        let lab = lab(Zone::new().a("refused.test", Behaviour::Refused)).await;
        let failure = failure(resolver(&lab).lookup("refused.test", QueryType::A).await);
        assert_eq!(failure.kind, LookupFailureKind::Refused, "{failure}");
        assert_eq!(failure.message, "the server refused the query (REFUSED)");
    });
}

#[test]
fn nxdomain_is_nxdomain_and_so_is_an_unknown_name() {
    run(async {
        let lab = lab(Zone::new().aaaa("gone.test", Behaviour::NxDomain)).await;
        let resolver = resolver(&lab);
        let failure_ = failure(resolver.lookup("gone.test", QueryType::Aaaa).await);
        assert_eq!(failure_.kind, LookupFailureKind::NxDomain, "{failure_}");
        assert_eq!(failure_.message, "gone.test does not exist (NXDOMAIN)");

        let unknown = failure(resolver.lookup("unknown.test", QueryType::A).await);
        assert_eq!(unknown.kind, LookupFailureKind::NxDomain, "{unknown}");
    });
}

#[test]
fn nodata_is_nodata_and_so_is_a_type_the_name_lacks() {
    run(async {
        let lab = lab(Zone::new()
            .aaaa("nodata.test", Behaviour::NoData)
            .a("v4only.test", Behaviour::answer([ip("192.0.2.1")])))
        .await;
        let resolver = resolver(&lab);
        let nodata = failure(resolver.lookup("nodata.test", QueryType::Aaaa).await);
        assert_eq!(nodata.kind, LookupFailureKind::NoData, "{nodata}");
        assert_eq!(nodata.message, "no AAAA record for nodata.test");

        let v4only = failure(resolver.lookup("v4only.test", QueryType::Aaaa).await);
        assert_eq!(v4only.kind, LookupFailureKind::NoData, "{v4only}");
        assert_eq!(
            resolver.lookup("v4only.test", QueryType::A).await,
            Ok(vec![ip("192.0.2.1")])
        );
    });
}

#[test]
fn a_truncated_answer_is_fetched_again_over_tcp() {
    run(async {
        let addrs = [ip("2001:db8::1"), ip("2001:db8::2")];
        let lab = lab(Zone::new().aaaa("tc.test", Behaviour::truncated(addrs))).await;
        assert_eq!(
            resolver(&lab).lookup("tc.test", QueryType::Aaaa).await,
            Ok(addrs.to_vec())
        );
        assert_eq!(
            transports(&lab.queries_for("tc.test")),
            [
                (RecordType::AAAA, Transport::Udp),
                (RecordType::AAAA, Transport::Tcp)
            ]
        );
    });
}

#[test]
fn a_malformed_answer_is_a_bad_answer() {
    run(async {
        let lab = lab(Zone::new().aaaa("garbage.test", Behaviour::Malformed)).await;
        let failure = failure(resolver(&lab).lookup("garbage.test", QueryType::Aaaa).await);
        assert_eq!(failure.kind, LookupFailureKind::BadAnswer, "{failure}");
        assert!(
            failure
                .message
                .starts_with("the answer could not be read: "),
            "{failure}"
        );
    });
}

/// hickory keeps only records owned by the names it asked for, finds none, and reports
/// what a NODATA answer gives: the other name's address never comes back.
#[test]
fn records_for_another_name_are_not_used() {
    run(async {
        let lab = lab(Zone::new().aaaa(
            "asked.test",
            Behaviour::wrong_name("other.test", [ip("2001:db8::bad")]),
        ))
        .await;
        let failure = failure(resolver(&lab).lookup("asked.test", QueryType::Aaaa).await);
        assert_eq!(failure.kind, LookupFailureKind::NoData, "{failure}");
        assert_eq!(failure.message, "no AAAA record for asked.test");
    });
}

#[test]
fn two_thousand_records_arrive_over_tcp() {
    run(async {
        let lab = lab(Zone::new().a("huge.test", Behaviour::Huge { count: 2000 })).await;
        let addrs = resolver(&lab)
            .lookup("huge.test", QueryType::A)
            .await
            .expect("2,000 records over TCP");
        assert_eq!(addrs.len(), 2000);
        assert_eq!(addrs[0], ip("10.0.0.0"));
        assert_eq!(addrs[1999], ip("10.0.7.207"));
        assert_eq!(
            transports(&lab.queries_for("huge.test")),
            [
                (RecordType::A, Transport::Udp),
                (RecordType::A, Transport::Tcp)
            ]
        );
    });
}

#[test]
fn a_cname_is_followed() {
    run(async {
        let lab = lab(Zone::new()
            .cname("alias.test", "target.test")
            .aaaa("target.test", Behaviour::answer([ip("2001:db8::7")])))
        .await;
        assert_eq!(
            resolver(&lab).lookup("alias.test", QueryType::Aaaa).await,
            Ok(vec![ip("2001:db8::7")])
        );
    });
}

/// hickory follows the loop a few hops (it asks again, up to its depth limit of 8),
/// then reports that no record was found: a typed failure, promptly.
#[test]
fn a_cname_loop_is_a_typed_failure() {
    run(async {
        let lab = lab(Zone::new().cname_loop("loop-a.test", "loop-b.test")).await;
        let failure = failure(resolver(&lab).lookup("loop-a.test", QueryType::A).await);
        assert_eq!(failure.kind, LookupFailureKind::NoData, "{failure}");
        assert!(lab.queries().len() <= 8, "{:?}", lab.queries());
    });
}

#[test]
fn getaddrinfo_is_not_a_dns_query() {
    run(async {
        let lab = lab(Zone::new()).await;
        let failure = failure(
            resolver(&lab)
                .lookup("dual.test", QueryType::AddrInfo)
                .await,
        );
        assert_eq!(failure.kind, LookupFailureKind::Other);
        assert_eq!(
            failure.message,
            "a one-shot lookup of every family is not a DNS query; ask for AAAA or A"
        );
        assert!(lab.queries().is_empty());
    });
}

#[test]
fn ip_literals_and_invalid_names_send_no_query() {
    run(async {
        let lab = lab(Zone::new()).await;
        let resolver = resolver(&lab);
        assert_eq!(
            resolver.lookup("::1", QueryType::Aaaa).await,
            Ok(vec![ip("::1")])
        );
        let v4_as_v6 = failure(resolver.lookup("127.0.0.1", QueryType::Aaaa).await);
        assert_eq!(v4_as_v6.kind, LookupFailureKind::NoData);
        assert_eq!(
            v4_as_v6.message,
            "127.0.0.1 is an IPv4 address: it has no AAAA record"
        );
        let long_label = format!("{}.test", "x".repeat(64));
        for name in ["", long_label.as_str()] {
            let failure = failure(resolver.lookup(name, QueryType::A).await);
            assert_eq!(
                failure.kind,
                LookupFailureKind::Other,
                "{name:?}: {failure}"
            );
            assert!(
                failure.message.contains("is not a valid DNS name"),
                "{failure}"
            );
        }
        assert!(lab.queries().is_empty());
    });
}

#[test]
fn no_server_is_a_typed_failure() {
    run(async {
        let resolver = DnsResolver::new(&[], &DnsOptions::default().with_timeout(TIMEOUT));
        let failure = failure(resolver.lookup("dual.test", QueryType::Aaaa).await);
        assert_eq!(failure.kind, LookupFailureKind::Other, "{failure}");
        assert_eq!(failure.message, "no DNS server is configured");
    });
}

/// This process's threads, from /proc/self/status.
fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|count| count.trim().parse().ok())
        .expect("a Threads: line")
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// Hundreds of lookups dropped mid-query (by a timeout, as the race drops a losing
/// query) leave no thread, task or socket behind, and the resolver still works.
#[test]
fn dropped_lookups_leave_nothing_behind() {
    run(async {
        let lab = lab(Zone::new()
            .aaaa("silent.test", Behaviour::Silent)
            .aaaa("warm.test", Behaviour::answer([ip("2001:db8::1")]))
            .aaaa("after.test", Behaviour::answer([ip("2001:db8::2")])))
        .await;
        let resolver = resolver(&lab);
        // Whatever hickory makes lazily is made before counting.
        assert_eq!(
            resolver.lookup("warm.test", QueryType::Aaaa).await,
            Ok(vec![ip("2001:db8::1")])
        );
        // Test threads that just finished (before this one took the lock) exit now.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let metrics = tokio::runtime::Handle::current().metrics();
        let (threads_before, tasks_before, fds_before) =
            (threads(), metrics.num_alive_tasks(), open_fds());

        for _ in 0..300 {
            let lookup = resolver.lookup("silent.test", QueryType::Aaaa);
            let dropped = tokio::time::timeout(Duration::from_millis(5), lookup).await;
            assert!(dropped.is_err(), "the silent name answered: {dropped:?}");
        }
        tokio::task::yield_now().await;

        assert!(
            lab.queries_for("silent.test").len() >= 250,
            "the queries were sent"
        );
        assert!(
            threads() <= threads_before,
            "{} threads, {threads_before} before",
            threads()
        );
        assert!(
            metrics.num_alive_tasks() <= tasks_before,
            "{} tasks, {tasks_before} before",
            metrics.num_alive_tasks()
        );
        assert!(
            open_fds() <= fds_before,
            "{} fds, {fds_before} before",
            open_fds()
        );
        assert_eq!(
            resolver.lookup("after.test", QueryType::Aaaa).await,
            Ok(vec![ip("2001:db8::2")])
        );
    });
}

#[test]
fn an_unreachable_server_is_named() {
    run(async {
        // A UDP port on loopback where nothing listens: the query is refused (ICMP).
        let closed = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let addr = closed.local_addr().expect("addr");
        drop(closed);
        let resolver = DnsResolver::new(
            &[addr],
            &DnsOptions::default()
                .with_timeout(std::time::Duration::from_millis(300))
                .with_attempts(1),
        );
        let failure = failure(resolver.lookup("any.test", QueryType::A).await);
        assert!(
            failure.message.contains(&format!("asked {addr}")),
            "{failure}"
        );
    });
}
