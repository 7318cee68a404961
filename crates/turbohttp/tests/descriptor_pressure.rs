//! With no file descriptor left for a socket (`EMFILE`), an attempt fails at once with
//! a sentence that says so, the race moves on as for any failed attempt, and a race with
//! nothing left in flight ends then, not at its timeout. The limit is process-wide, so
//! the case runs in a child process: this test binary again, with `CHILD` set, under a
//! lowered `RLIMIT_NOFILE` with every descriptor in use.
#![cfg(target_os = "linux")]

mod support;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::process::Command;
use std::time::Duration;

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use support::chain_text;
use turbohttp::{
    ConnectErrorKind, ConnectParams, HappyEyeballs, HappyEyeballsOptions, NoResolver,
    StaticResolver, TcpDialer,
};

const CHILD: &str = "TURBOHTTP_DESCRIPTOR_PRESSURE_CHILD";
const EMFILE: i32 = 24;

#[test]
fn with_no_descriptor_left_attempts_fail_at_once_and_the_race_ends() {
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("descriptor pressure checked"), "{stdout}");
}

/// The case itself; passes at once unless run as the child.
#[test]
fn child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    // A low limit, so that using every descriptor up is quick.
    let limit = getrlimit(Resource::Nofile);
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(128),
            maximum: limit.maximum,
        },
    )
    .expect("lower RLIMIT_NOFILE");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Servers on both families: with a descriptor, each attempt would connect.
    let v4 = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1");
    let port = v4.local_addr().expect("addr").port();
    let v6 = TcpListener::bind((Ipv6Addr::LOCALHOST, port)).expect("bind [::1]");
    let addrs = [
        SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
    ];
    let connector = HappyEyeballs::from_parts(
        HappyEyeballsOptions::default(),
        StaticResolver::with_fallback(NoResolver).with_override("full.test", port, addrs),
        TcpDialer::default(),
    );
    let params = || ConnectParams::default().with_timeout(Duration::from_secs(10));

    // Every descriptor in use.
    let mut held = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(file) => held.push(file),
            Err(error) => {
                assert_eq!(error.raw_os_error(), Some(EMFILE), "{error}");
                break;
            }
        }
    }
    let error = runtime
        .block_on(connector.connect_with("full.test", port, params()))
        .expect_err("no socket can be opened");
    assert_eq!(
        error.kind(),
        ConnectErrorKind::AllAttemptsFailed,
        "{error:#}"
    );
    let attempts = error.attempts();
    assert_eq!(attempts.len(), 2, "{error:#}");
    for attempt in attempts {
        let failure = attempt.failure.as_ref().expect("failed");
        assert_eq!(failure.os_error, Some(EMFILE), "{error:#}");
        assert!(
            failure
                .message()
                .starts_with("no socket could be opened: the process has as many files open"),
            "{error:#}"
        );
    }
    // The IPv4 attempt did not wait for the 250 ms stagger: IPv6 failed at once.
    let stagger = HappyEyeballsOptions::default().family_stagger_delay;
    assert!(attempts[1].started < stagger, "{error:#}");
    // The chain keeps both the sentence and the OS error under it.
    let chain = chain_text(&error);
    assert!(
        chain.contains("raise it with ulimit -n")
            && chain.ends_with(": Too many open files (os error 24)"),
        "{chain}"
    );
    assert_eq!(error.raw_os_error(), Some(EMFILE));

    // Descriptors back: the same race connects.
    drop(held);
    let won = runtime
        .block_on(connector.connect_with("full.test", port, params()))
        .expect("a descriptor is free again");
    assert_eq!(won.stream.peer_addr().expect("peer"), addrs[0]);
    drop((won, v4, v6));
    println!("descriptor pressure checked");
}
