//! Malformed and hostile inputs to the library API, table-driven: each row names the
//! exact typed error (and its message, where the message is stable) and how much work
//! was done before it (resolutions, dials). Every connect runs on simulated endpoints
//! in virtual time, under an outer guard that fails the row if the connect's own
//! timeout does not win: nothing hangs.

mod support;

use std::future::pending;
use std::io;
use std::net::{SocketAddr, SocketAddrV6};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use support::chain_text;
use turbohttp::ConnectParams;

use tokio_util::sync::CancellationToken;
use turbohttp::sim::{Behavior, ECONNREFUSED, SimNetwork};
use turbohttp::{AddressFamily, ConnectErrorKind, HappyEyeballs, HappyEyeballsOptions};
use turbohttp::{AttemptOutcome, InputError, OptionsError, Resolver, parse_authority, parse_port};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const V6: &str = "[2001:db8::1]:443";
const V6B: &str = "[2001:db8::2]:443";
const V4: &str = "192.0.2.1:443";
const V4B: &str = "192.0.2.2:443";

/// What the resolver does when asked.
#[derive(Debug, Clone)]
enum Answer {
    /// These addresses.
    Addrs(Vec<SocketAddr>),
    /// One address, this many times.
    Repeated(SocketAddr, usize),
    /// Fails with `NotFound` and this message.
    Fail(&'static str),
    /// Never answers.
    Never,
}

/// A resolver that answers as told and counts how often it was asked.
#[derive(Debug, Clone)]
struct FakeResolver {
    answer: Answer,
    calls: Arc<AtomicUsize>,
}

impl Resolver for FakeResolver {
    async fn resolve(&self, _host: &str, _port: u16) -> io::Result<Vec<SocketAddr>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match &self.answer {
            Answer::Addrs(addrs) => Ok(addrs.clone()),
            Answer::Repeated(addr, n) => Ok(vec![*addr; *n]),
            Answer::Fail(message) => Err(io::Error::new(io::ErrorKind::NotFound, *message)),
            Answer::Never => pending().await,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Cause {
    Input(fn(&InputError) -> bool),
    Options(fn(&OptionsError) -> bool),
    None,
}

#[derive(Debug, Clone)]
enum Expect {
    /// The connect fails with this kind, cause and (when stable) message, after this
    /// many resolutions and dials.
    Error {
        kind: ConnectErrorKind,
        cause: Cause,
        message: Option<&'static str>,
        resolves: usize,
        dials: usize,
    },
    /// The input is odd but valid: the connect wins with this address after this many
    /// dials.
    Wins {
        endpoint: &'static str,
        dials: usize,
    },
}

#[derive(Debug, Clone)]
struct Row {
    name: &'static str,
    host: String,
    port: u16,
    family: Option<AddressFamily>,
    timeout: Duration,
    options: HappyEyeballsOptions,
    answer: Answer,
    /// The simulated network the dialer plays.
    network: Vec<(&'static str, Behavior)>,
    cancel_after: Option<Duration>,
    expect: Expect,
}

impl Row {
    fn new(name: &'static str, host: &str, expect: Expect) -> Self {
        Self {
            name,
            host: host.to_owned(),
            port: 443,
            family: None,
            timeout: Duration::from_secs(5),
            options: HappyEyeballsOptions::default(),
            answer: Answer::Addrs(vec![addr(V6), addr(V4)]),
            network: vec![
                (V6, Behavior::Connect(ms(40))),
                (V4, Behavior::Connect(ms(20))),
            ],
            cancel_after: None,
            expect,
        }
    }
}

fn input(kind_of: fn(&InputError) -> bool, message: &'static str) -> Expect {
    Expect::Error {
        kind: ConnectErrorKind::InvalidInput,
        cause: Cause::Input(kind_of),
        message: Some(message),
        resolves: 0,
        dials: 0,
    }
}

fn options(kind_of: fn(&OptionsError) -> bool, message: &'static str) -> Expect {
    Expect::Error {
        kind: ConnectErrorKind::InvalidInput,
        cause: Cause::Options(kind_of),
        message: Some(message),
        resolves: 0,
        dials: 0,
    }
}

fn rows() -> Vec<Row> {
    let invalid_host = |e: &InputError| matches!(e, InputError::InvalidHost { .. });
    let long_name = vec!["a".repeat(63); 4].join(".");
    let max_name = format!("{}.{}", vec!["a".repeat(63); 3].join("."), "b".repeat(61));
    assert_eq!((long_name.len(), max_name.len()), (255, 253));
    vec![
        Row::new(
            "empty host",
            "",
            input(
                |e| *e == InputError::EmptyHost,
                "cannot connect: the host is empty",
            ),
        ),
        Row::new(
            "a host of one dot",
            ".",
            input(
                invalid_host,
                "cannot connect: the host \".\" is not valid: a name needs at least one label",
            ),
        ),
        Row::new(
            "a host of only dots",
            "...",
            input(
                invalid_host,
                "cannot connect: the host \"...\" is not valid: an empty label (two dots in a row, or a leading dot)",
            ),
        ),
        Row::new(
            "a name over 253 characters",
            &long_name,
            Expect::Error {
                kind: ConnectErrorKind::InvalidInput,
                cause: Cause::Input(invalid_host),
                message: None,
                resolves: 0,
                dials: 0,
            },
        ),
        Row::new(
            "a label over 63 characters",
            &format!("{}.example", "a".repeat(64)),
            Expect::Error {
                kind: ConnectErrorKind::InvalidInput,
                cause: Cause::Input(
                    |e| matches!(e, InputError::InvalidHost { reason, .. } if reason.contains("63")),
                ),
                message: None,
                resolves: 0,
                dials: 0,
            },
        ),
        Row {
            answer: Answer::Addrs(vec![addr(V4)]),
            ..Row::new(
                "a name of exactly 253 characters is fine",
                &max_name,
                Expect::Wins {
                    endpoint: V4,
                    dials: 1,
                },
            )
        },
        Row::new(
            "a space in the name",
            "exa mple.test",
            input(
                invalid_host,
                "cannot connect: the host \"exa mple.test\" is not valid: only letters, digits, '-', '_' and '.' may appear in a name",
            ),
        ),
        Row::new(
            "a bracket without its close",
            "[2001:db8::1",
            input(
                invalid_host,
                "cannot connect: the host \"[2001:db8::1\" is not valid: a '[' without its closing ']'",
            ),
        ),
        Row::new(
            "a zone id that is not a number",
            "[fe80::1%eth0]",
            input(
                invalid_host,
                "cannot connect: the host \"[fe80::1%eth0]\" is not valid: the zone id after '%' must be a numeric interface index",
            ),
        ),
        Row::new(
            "an IPv4 literal in brackets",
            "[192.0.2.1]",
            input(
                invalid_host,
                "cannot connect: the host \"[192.0.2.1]\" is not valid: not a valid IPv6 address",
            ),
        ),
        Row {
            port: 0,
            ..Row::new(
                "port 0",
                "dual.test",
                input(
                    |e| *e == InputError::PortZero,
                    "cannot connect: port 0 cannot be connected to",
                ),
            )
        },
        Row {
            options: HappyEyeballsOptions::default().with_max_concurrent_attempts(0),
            ..Row::new(
                "options with a zero cap",
                "dual.test",
                options(
                    |e| *e == OptionsError::ConcurrencyTooLow { value: 0 },
                    "cannot connect to dual.test:443: max_concurrent_attempts is 0, but a race needs at least 2 attempts in flight (one per family); set enable = false to dial one address at a time",
                ),
            )
        },
        Row {
            options: HappyEyeballsOptions::default().with_max_concurrent_attempts(1),
            ..Row::new(
                "options with a cap of one while racing",
                "dual.test",
                options(
                    |e| *e == OptionsError::ConcurrencyTooLow { value: 1 },
                    "cannot connect to dual.test:443: max_concurrent_attempts is 1, but a race needs at least 2 attempts in flight (one per family); set enable = false to dial one address at a time",
                ),
            )
        },
        Row {
            options: HappyEyeballsOptions::sequential()
                .with_max_concurrent_attempts(0)
                .with_family_stagger_delay(Duration::ZERO),
            ..Row::new(
                "a zero cap and stagger are ignored when racing is off",
                "dual.test",
                Expect::Wins {
                    endpoint: V6,
                    dials: 1,
                },
            )
        },
        Row {
            options: HappyEyeballsOptions::default().with_family_stagger_delay(ms(9)),
            ..Row::new(
                "a stagger under 10ms",
                "dual.test",
                options(
                    |e| matches!(e, OptionsError::DelayTooShort { field: "family_stagger_delay", value } if *value == ms(9)),
                    "cannot connect to dual.test:443: family_stagger_delay is 9ms, below the 10ms minimum of RFC 8305",
                ),
            )
        },
        Row {
            options: HappyEyeballsOptions::default().with_attempt_spacing_delay(Duration::ZERO),
            ..Row::new(
                "a zero spacing",
                "dual.test",
                options(
                    |e| matches!(e, OptionsError::DelayTooShort { field: "attempt_spacing_delay", value } if value.is_zero()),
                    "cannot connect to dual.test:443: attempt_spacing_delay is 0ns, below the 10ms minimum of RFC 8305",
                ),
            )
        },
        Row {
            timeout: Duration::ZERO,
            ..Row::new(
                "a zero timeout",
                "dual.test",
                options(
                    |e| *e == OptionsError::ZeroTimeout,
                    "cannot connect to dual.test:443: the connect timeout is zero, which leaves no time to connect",
                ),
            )
        },
        Row {
            timeout: ms(250),
            network: vec![(V6, Behavior::Stall), (V4, Behavior::Connect(ms(20)))],
            ..Row::new(
                "a stagger not shorter than the timeout: the head start is half the timeout",
                "dual.test",
                Expect::Wins {
                    endpoint: V4,
                    dials: 2,
                },
            )
        },
        Row {
            timeout: ms(100),
            answer: Answer::Addrs(vec![addr(V4)]),
            ..Row::new(
                "a stagger longer than the timeout is fine for one family",
                "dual.test",
                Expect::Wins {
                    endpoint: V4,
                    dials: 1,
                },
            )
        },
        Row {
            answer: Answer::Addrs(Vec::new()),
            ..Row::new(
                "a resolver that returns nothing",
                "dual.test",
                Expect::Error {
                    kind: ConnectErrorKind::NoAddresses,
                    cause: Cause::None,
                    message: Some("dual.test resolved to no addresses"),
                    resolves: 1,
                    dials: 0,
                },
            )
        },
        Row {
            answer: Answer::Repeated(addr(V4), 100_000),
            ..Row::new(
                "a resolver that returns 100,000 duplicates",
                "dual.test",
                Expect::Wins {
                    endpoint: V4,
                    dials: 1,
                },
            )
        },
        Row {
            answer: Answer::Repeated(addr(V6B), 100_000),
            network: vec![(V6B, Behavior::Refuse(ms(3)))],
            ..Row::new(
                "100,000 duplicates of a refusing address",
                "dual.test",
                Expect::Error {
                    kind: ConnectErrorKind::AllAttemptsFailed,
                    cause: Cause::None,
                    message: Some(
                        "the only attempt to connect to dual.test:443, at [2001:db8::2]:443, failed: Connection refused (os error 111)",
                    ),
                    resolves: 1,
                    dials: 1,
                },
            )
        },
        Row {
            answer: Answer::Fail("no such host"),
            ..Row::new(
                "a resolver that errors",
                "dual.test",
                Expect::Error {
                    kind: ConnectErrorKind::Resolve,
                    cause: Cause::None,
                    message: Some("could not resolve dual.test: no such host"),
                    resolves: 1,
                    dials: 0,
                },
            )
        },
        Row {
            answer: Answer::Never,
            timeout: Duration::from_secs(2),
            ..Row::new(
                "a resolver that never returns: the timeout wins",
                "dual.test",
                Expect::Error {
                    kind: ConnectErrorKind::TimedOut,
                    cause: Cause::None,
                    message: Some(
                        "connecting to dual.test:443 stopped after 2s while resolving (no answer before the connect timeout): the connect timeout ran out",
                    ),
                    resolves: 1,
                    dials: 0,
                },
            )
        },
        Row {
            answer: Answer::Never,
            cancel_after: Some(ms(300)),
            ..Row::new(
                "a resolver that never returns, cancelled",
                "dual.test",
                Expect::Error {
                    kind: ConnectErrorKind::Cancelled,
                    cause: Cause::None,
                    message: Some(
                        "connecting to dual.test:443 was cancelled after 300ms (0 attempts started)",
                    ),
                    resolves: 1,
                    dials: 0,
                },
            )
        },
        Row {
            cancel_after: Some(Duration::ZERO),
            ..Row::new(
                "cancelled before it starts",
                "dual.test",
                Expect::Error {
                    kind: ConnectErrorKind::Cancelled,
                    cause: Cause::None,
                    message: Some(
                        "connecting to dual.test:443 was cancelled after 0ms (0 attempts started)",
                    ),
                    resolves: 0,
                    dials: 0,
                },
            )
        },
        Row {
            family: Some(AddressFamily::V6),
            answer: Answer::Addrs(vec![addr(V4), addr(V4B)]),
            ..Row::new(
                "the requested family is absent",
                "dual.test",
                Expect::Error {
                    kind: ConnectErrorKind::FamilyUnavailable,
                    cause: Cause::None,
                    message: Some(
                        "dual.test has no IPv6 address (it resolved to 2 IPv4 addresses)",
                    ),
                    resolves: 1,
                    dials: 0,
                },
            )
        },
        Row {
            family: Some(AddressFamily::V4),
            ..Row::new(
                "-4 on an IPv6 literal",
                "2001:db8::1",
                Expect::Error {
                    kind: ConnectErrorKind::FamilyUnavailable,
                    cause: Cause::None,
                    message: Some(
                        "[2001:db8::1] has no IPv4 address (it resolved to 1 IPv6 address)",
                    ),
                    resolves: 0,
                    dials: 0,
                },
            )
        },
        Row {
            timeout: Duration::from_secs(1),
            network: vec![(V6, Behavior::Stall), (V4, Behavior::Stall)],
            ..Row::new(
                "every address stalls: the timeout wins",
                "dual.test",
                Expect::Error {
                    kind: ConnectErrorKind::TimedOut,
                    cause: Cause::None,
                    message: Some(
                        "connecting to dual.test:443 stopped after 1s (2 attempts started): the connect timeout ran out",
                    ),
                    resolves: 1,
                    dials: 2,
                },
            )
        },
        Row {
            answer: Answer::Addrs(vec![addr("192.0.2.99:443")]),
            ..Row::new(
                "an address nothing answers for",
                "dual.test",
                Expect::Error {
                    kind: ConnectErrorKind::AllAttemptsFailed,
                    cause: Cause::None,
                    message: None,
                    resolves: 1,
                    dials: 1,
                },
            )
        },
        Row {
            timeout: Duration::MAX,
            ..Row::new(
                "a timeout past the end of the clock",
                "dual.test",
                Expect::Wins {
                    endpoint: V6,
                    dials: 1,
                },
            )
        },
        Row {
            answer: Answer::Addrs(vec![
                SocketAddr::V6(SocketAddrV6::new("2001:db8::1".parse().unwrap(), 443, 0, 0)),
                SocketAddr::V6(SocketAddrV6::new(
                    "2001:db8::1".parse().unwrap(),
                    443,
                    99,
                    0,
                )),
            ]),
            network: vec![(V6, Behavior::Refuse(ms(3)))],
            ..Row::new(
                "two answers that differ only in the flow label are one endpoint",
                "dual.test",
                Expect::Error {
                    kind: ConnectErrorKind::AllAttemptsFailed,
                    cause: Cause::None,
                    message: Some(
                        "the only attempt to connect to dual.test:443, at [2001:db8::1]:443, failed: Connection refused (os error 111)",
                    ),
                    resolves: 1,
                    dials: 1,
                },
            )
        },
    ]
}

/// Runs one row in its own paused runtime and checks it.
fn run(row: &Row) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let wall = std::time::Instant::now();
    runtime.block_on(async {
        let calls = Arc::new(AtomicUsize::new(0));
        let resolver = FakeResolver {
            answer: row.answer.clone(),
            calls: calls.clone(),
        };
        let net = SimNetwork::new(row.network.iter().map(|(a, b)| (addr(a), *b)));
        let connector = HappyEyeballs::default()
            .with_options(row.options)
            .with_resolver(resolver)
            .with_dialer(net.clone());
        let cancel = CancellationToken::new();
        if let Some(after) = row.cancel_after {
            if after.is_zero() {
                cancel.cancel();
            } else {
                let cancel = cancel.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    cancel.cancel();
                });
            }
        }
        // The connect's own timeout must win: the guard is a virtual year longer.
        let guard =
            row.timeout.min(Duration::from_secs(86_400 * 365)) + Duration::from_secs(86_400 * 365);
        let result = tokio::time::timeout(
            guard,
            connector.connect_with(
                &row.host,
                row.port,
                ConnectParams::default()
                    .with_family(row.family)
                    .with_timeout(row.timeout)
                    .with_cancel(cancel.clone()),
            ),
        )
        .await
        .unwrap_or_else(|_| panic!("{}: the connect hung past its own timeout", row.name));
        let dials = net.stats().opened;
        let resolves = calls.load(Ordering::SeqCst);
        match (&row.expect, result) {
            (
                Expect::Error {
                    kind,
                    cause,
                    message,
                    resolves: want_resolves,
                    dials: want_dials,
                },
                Err(error),
            ) => {
                assert_eq!(error.kind(), *kind, "{}: {error}", row.name);
                match cause {
                    Cause::Input(is) => {
                        let e = error
                            .input_error()
                            .unwrap_or_else(|| panic!("{}: no input error in {error:?}", row.name));
                        assert!(is(e), "{}: {e:?}", row.name);
                        assert_eq!(error.options_error(), None, "{}", row.name);
                    }
                    Cause::Options(is) => {
                        let e = error.options_error().unwrap_or_else(|| {
                            panic!("{}: no options error in {error:?}", row.name)
                        });
                        assert!(is(e), "{}: {e:?}", row.name);
                        assert_eq!(error.input_error(), None, "{}", row.name);
                    }
                    Cause::None => {
                        assert_eq!(error.input_error(), None, "{}", row.name);
                        assert_eq!(error.options_error(), None, "{}", row.name);
                    }
                }
                if let Some(message) = message {
                    assert_eq!(chain_text(&error), *message, "{}", row.name);
                }
                assert!(!error.to_string().contains('\n'), "{}: one line", row.name);
                assert_eq!(
                    (resolves, dials),
                    (*want_resolves, *want_dials),
                    "{}: (resolutions, dials)",
                    row.name
                );
                assert_eq!(
                    error.attempts().len(),
                    dials,
                    "{}: one record per dial",
                    row.name
                );
                // The record of a failed race names every attempt, in order.
                for pair in error.attempts().windows(2) {
                    assert!(pair[0].started <= pair[1].started, "{}", row.name);
                }
                if *kind == ConnectErrorKind::TimedOut {
                    let elapsed = error.report().elapsed;
                    assert_eq!(
                        elapsed, row.timeout,
                        "{}: ends exactly at the timeout",
                        row.name
                    );
                    assert!(
                        error
                            .attempts()
                            .iter()
                            .all(|a| a.outcome == AttemptOutcome::TimedOut)
                    );
                }
            }
            (
                Expect::Wins {
                    endpoint,
                    dials: want_dials,
                },
                Ok(won),
            ) => {
                assert_eq!(
                    won.stream.peer_addr(),
                    addr(endpoint),
                    "{}: the winner",
                    row.name
                );
                assert_eq!(dials, *want_dials, "{}: dials", row.name);
                assert_eq!(won.report.attempts.len(), dials, "{}", row.name);
                // Dropping the winner closes the last socket.
                drop(won);
            }
            (expect, result) => panic!("{}: expected {expect:?}, got {result:?}", row.name),
        }
        // No socket outlives the call.
        assert_eq!(net.stats().open, 0, "{}: a socket leaked", row.name);
    });
    // Even 100,000 duplicates are cheap: deduplicated before anything is dialed.
    assert!(
        wall.elapsed() < Duration::from_secs(20),
        "{}: took {:?} of real time",
        row.name,
        wall.elapsed()
    );
}

#[test]
fn connect_refuses_bad_input_with_the_exact_error() {
    let rows = rows();
    assert!(rows.len() >= 20);
    for row in &rows {
        run(row);
    }
}

/// The raw OS error of the first meaningful failure survives into `io::Error`.
#[test]
fn a_refused_duplicate_keeps_its_os_error() {
    let row = rows()
        .into_iter()
        .find(|r| r.name == "100,000 duplicates of a refusing address")
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let net = SimNetwork::new(row.network.iter().map(|(a, b)| (addr(a), *b)));
        let resolver = FakeResolver {
            answer: row.answer.clone(),
            calls: Arc::default(),
        };
        let error = HappyEyeballs::default()
            .with_resolver(resolver)
            .with_dialer(net.clone())
            .connect_with(
                "dual.test",
                443,
                ConnectParams::default().with_timeout(row.timeout),
            )
            .await
            .unwrap_err();
        assert_eq!(error.report().resolved, [addr(V6B)]);
        assert_eq!(error.raw_os_error(), Some(ECONNREFUSED));
        let io: io::Error = error.into();
        assert_eq!(io.raw_os_error(), Some(ECONNREFUSED));
    });
}

/// The parsers of `HOST:PORT` and ports, with the exact error of each bad input.
#[test]
fn parsers_refuse_bad_input_with_the_exact_error() {
    let invalid_port = |s: &str| InputError::InvalidPort {
        input: s.to_owned(),
    };
    let table: Vec<(&str, Result<(), InputError>, &str)> = vec![
        (
            "::1:443",
            Err(InputError::UnbracketedIpv6 {
                input: "::1:443".into(),
            }),
            "\"::1:443\" is ambiguous: write an IPv6 address with a port in brackets, as [::1]:443",
        ),
        (
            "2001:db8::1:80",
            Err(InputError::UnbracketedIpv6 {
                input: "2001:db8::1:80".into(),
            }),
            "\"2001:db8::1:80\" is ambiguous: write an IPv6 address with a port in brackets, as [::1]:443",
        ),
        ("", Err(InputError::EmptyHost), "the host is empty"),
        (":443", Err(InputError::EmptyHost), "the host is empty"),
        (
            "example.test",
            Err(InputError::MissingPort),
            "no port was given (expected HOST:PORT)",
        ),
        (
            "example.test:",
            Err(InputError::MissingPort),
            "no port was given (expected HOST:PORT)",
        ),
        (
            "[::1]",
            Err(InputError::MissingPort),
            "no port was given (expected HOST:PORT)",
        ),
        (
            "[::1]443",
            Err(InputError::MissingPort),
            "no port was given (expected HOST:PORT)",
        ),
        (
            "example.test:0",
            Err(InputError::PortZero),
            "port 0 cannot be connected to",
        ),
        (
            "[::1]:0000",
            Err(InputError::PortZero),
            "port 0 cannot be connected to",
        ),
        (
            "example.test:65536",
            Err(invalid_port("65536")),
            "the port \"65536\" is not a number from 1 to 65535",
        ),
        (
            "example.test:-1",
            Err(invalid_port("-1")),
            "the port \"-1\" is not a number from 1 to 65535",
        ),
        (
            "example.test:+443",
            Err(invalid_port("+443")),
            "the port \"+443\" is not a number from 1 to 65535",
        ),
        (
            "example.test: 443",
            Err(invalid_port(" 443")),
            "the port \" 443\" is not a number from 1 to 65535",
        ),
        (
            "[::1:443",
            Err(InputError::InvalidHost {
                host: "[::1:443".into(),
                reason: "a '[' without its closing ']'",
            }),
            "the host \"[::1:443\" is not valid: a '[' without its closing ']'",
        ),
        (
            "[fe80::1%eth0]:443",
            Err(InputError::InvalidHost {
                host: "[fe80::1%eth0]".into(),
                reason: "the zone id after '%' must be a numeric interface index",
            }),
            "the host \"[fe80::1%eth0]\" is not valid: the zone id after '%' must be a numeric interface index",
        ),
        ("[fe80::1%7]:443", Ok(()), ""),
        ("[::1]:443", Ok(()), ""),
    ];
    for (text, expected, message) in table {
        let got = parse_authority(text).map(|_| ());
        assert_eq!(got, expected, "parse_authority({text:?})");
        if let Err(e) = got {
            assert_eq!(e.to_string(), message, "parse_authority({text:?})");
        }
    }
    assert_eq!(parse_port("0"), Err(InputError::PortZero));
    assert_eq!(parse_port(""), Err(InputError::MissingPort));
    assert_eq!(
        parse_port("99999999999999999999"),
        Err(invalid_port("99999999999999999999"))
    );
    assert_eq!(parse_port("٣"), Err(invalid_port("٣")), "non-ASCII digits");
    assert_eq!(parse_port("65535"), Ok(65535));
}
