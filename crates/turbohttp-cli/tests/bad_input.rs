//! Every malformed argument: one line naming the argument on standard error, exit 2,
//! nothing on standard output, never a panic.

use assert_cmd::Command;

/// `(arguments, text the error line must contain)`.
const CASES: &[(&[&str], &str)] = &[
    // HOST:PORT
    (
        &["connect", "example.test"],
        "TARGET: \"example.test\" is not a target: no port",
    ),
    (
        &["connect", "example.test:"],
        "TARGET: \"example.test:\" is not a target: no port",
    ),
    (
        &["connect", "example.test:0"],
        "TARGET: \"example.test:0\" is not a target: port 0",
    ),
    (
        &["connect", "example.test:65536"],
        "TARGET: \"example.test:65536\" is not a target: the port \"65536\"",
    ),
    (
        &["connect", "example.test:-1"],
        "TARGET: \"example.test:-1\" is not a target: the port \"-1\"",
    ),
    (
        &["connect", "example.test:http"],
        "TARGET: \"example.test:http\" is not a target: the port \"http\"",
    ),
    (
        &["connect", "::1:443"],
        "TARGET: \"::1:443\" is not a target: \"::1:443\" is ambiguous",
    ),
    (
        &["connect", "[::1"],
        "TARGET: \"[::1\" is not a target: the host",
    ),
    (
        &["connect", "bad host:80"],
        "TARGET: \"bad host:80\" is not a target: the host \"bad host\"",
    ),
    (
        &["connect", ":80"],
        "TARGET: \":80\" is not a target: the host is empty",
    ),
    // --resolve
    (
        &["connect", "--resolve", "a.test:80", "a.test:80"],
        "--resolve: \"a.test:80\": no address",
    ),
    (
        &["connect", "--resolve", "a.test", "a.test:80"],
        "--resolve: \"a.test\": no port",
    ),
    (
        &["connect", "--resolve", "a.test:0:127.0.0.1", "a.test:80"],
        "--resolve: \"a.test:0:127.0.0.1\": port 0",
    ),
    (
        &[
            "connect",
            "--resolve",
            "a.test:99999:127.0.0.1",
            "a.test:80",
        ],
        "--resolve: \"a.test:99999:127.0.0.1\": the port",
    ),
    (
        &["connect", "--resolve", "a.test:80:localhost", "a.test:80"],
        "--resolve: \"a.test:80:localhost\": \"localhost\" is not an IP address",
    ),
    (
        &["connect", "--resolve", "a.test:80:127.0.0.1,", "a.test:80"],
        "--resolve: \"a.test:80:127.0.0.1,\": an empty address",
    ),
    (
        &["connect", "--resolve", "a.test:80:[::1", "a.test:80"],
        "--resolve: \"a.test:80:[::1\"",
    ),
    (
        &["connect", "--resolve", "*:80:127.0.0.1", "a.test:80"],
        "--resolve: \"*:80:127.0.0.1\": the wildcard",
    ),
    (
        &["get", "--resolve", "a.test:80:999.0.0.1", "http://a.test/"],
        "--resolve: \"a.test:80:999.0.0.1\"",
    ),
    // durations and counts
    (
        &["connect", "--connect-timeout", "0", "a.test:80"],
        "--connect-timeout: the timeout \"0\" is zero",
    ),
    (
        &["connect", "--connect-timeout", "-1", "a.test:80"],
        "--connect-timeout: the duration \"-1\" is negative",
    ),
    (
        &["connect", "--connect-timeout", "soon", "a.test:80"],
        "--connect-timeout: \"soon\" is not a duration: write seconds (2.5)",
    ),
    (
        &["connect", "--stagger", "-5ms", "a.test:80"],
        "--stagger: the duration \"-5ms\" is negative",
    ),
    (
        &["connect", "--stagger", "0ms", "a.test:80"],
        "--stagger: 0ms is below the 10ms minimum",
    ),
    (
        &["connect", "--stagger", "5ms", "a.test:80"],
        "--stagger: 5ms is below the 10ms minimum",
    ),
    (
        &["connect", "--stagger", "abc", "a.test:80"],
        "--stagger: \"abc\" is not a duration: write seconds (2.5) or a number with a unit",
    ),
    (
        &["connect", "--spacing", "9ms", "a.test:80"],
        "--spacing: 9ms is below the 10ms minimum",
    ),
    (
        &["connect", "--spacing", "1x", "a.test:80"],
        "--spacing: the duration \"1x\" has an unknown unit",
    ),
    (
        &["connect", "--max-concurrent", "1", "a.test:80"],
        "--max-concurrent: 1 is too low",
    ),
    (
        &["connect", "--max-concurrent", "0", "a.test:80"],
        "--max-concurrent: 0 is too low",
    ),
    (
        &["connect", "--max-concurrent", "-2", "a.test:80"],
        "--max-concurrent: \"-2\" is not a whole number",
    ),
    (
        &[
            "connect",
            "--max-concurrent",
            "99999999999999999999999",
            "a.test:80",
        ],
        "--max-concurrent: \"99999999999999999999999\" is too large",
    ),
    (
        &["connect", "--prefer", "ipv5", "a.test:80"],
        "'--prefer <FAMILY>'",
    ),
    (
        &["connect", "-4", "-6", "a.test:80"],
        "'--ipv4' cannot be used with '--ipv6'",
    ),
    (&["connect", "--servername", "a.test", "a.test:80"], "--tls"),
    // TLS files and names
    (
        &[
            "connect",
            "--tls",
            "--cacert",
            "/nonexistent/ca.pem",
            "a.test:443",
        ],
        "--cacert: cannot read /nonexistent/ca.pem",
    ),
    (
        &["get", "--cacert", "/nonexistent/ca.pem", "https://a.test/"],
        "--cacert: cannot read /nonexistent/ca.pem",
    ),
    (
        &["connect", "--tls", "--servername", "bad name", "a.test:443"],
        "--servername: \"bad name\"",
    ),
    // URLs
    (
        &["get", "ftp://a.test/"],
        "URL: \"ftp://a.test/\": unsupported scheme \"ftp\"",
    ),
    (
        &["get", "gopher://a.test:70/"],
        "URL: \"gopher://a.test:70/\": unsupported scheme",
    ),
    (&["get", "http://"], "URL: \"http://\": the URL has no host"),
    (
        &["get", "http://a.test:0/"],
        "URL: \"http://a.test:0/\": port 0",
    ),
    (
        &["get", "http://a.test:65536/"],
        "URL: \"http://a.test:65536/\": the port",
    ),
    (
        &["get", "http://a.test:/"],
        "URL: \"http://a.test:/\": no port",
    ),
    (
        &["get", "http://user:pw@a.test/"],
        "URL: \"http://user:pw@a.test/\": user names and passwords",
    ),
    (
        &["get", "http://a.test/a b"],
        "URL: \"http://a.test/a b\": the path",
    ),
    // simulate
    (&["simulate"], "--endpoint <ADDR=BEHAVIOUR>"),
    (
        &["simulate", "--endpoint", "192.0.2.1"],
        "--endpoint: \"192.0.2.1\": expected ADDR=BEHAVIOUR",
    ),
    (
        &["simulate", "--endpoint", "192.0.2.1=explode@1ms"],
        "--endpoint: \"192.0.2.1=explode@1ms\": unknown behaviour \"explode\"",
    ),
    (
        &["simulate", "--endpoint", "192.0.2.1=ok@"],
        "--endpoint: \"192.0.2.1=ok@\": ok@ needs a duration after the @ (as ok@40ms), or no @ at all",
    ),
    (
        &["simulate", "--endpoint", "192.0.2.1=ok@-1ms"],
        "--endpoint: \"192.0.2.1=ok@-1ms\": the duration is negative",
    ),
    (
        &["simulate", "--endpoint", "192.0.2.1=ok@40"],
        "--endpoint: \"192.0.2.1=ok@40\": the duration \"40\" has no unit",
    ),
    (
        &["simulate", "--endpoint", "192.0.2.1:0=stall"],
        "--endpoint: \"192.0.2.1:0=stall\": port 0",
    ),
    (
        &["simulate", "--endpoint", "192.0.2.1:70000=stall"],
        "--endpoint: \"192.0.2.1:70000=stall\"",
    ),
    (
        &["simulate", "--endpoint", "host.test=stall"],
        "--endpoint: \"host.test=stall\": \"host.test\" is not an IP address",
    ),
    (
        &[
            "simulate",
            "--endpoint",
            "192.0.2.1=stall",
            "--cancel-after",
            "-1s",
        ],
        "--cancel-after: the duration \"-1s\" is negative",
    ),
    (
        &[
            "simulate",
            "--endpoint",
            "192.0.2.1=stall",
            "--stagger",
            "1ms",
        ],
        "--stagger: 1ms is below the 10ms minimum",
    ),
    (
        &[
            "simulate",
            "--endpoint",
            "192.0.2.1=stall",
            "--resolution-delay",
            "5ms",
        ],
        "--resolution-delay: 5ms is below the 10ms minimum",
    ),
    (
        &[
            "simulate",
            "--endpoint",
            "192.0.2.1=stall",
            "--first-family-count",
            "0",
        ],
        "--first-family-count: 0 would let the other family go first",
    ),
    (
        &[
            "simulate",
            "--endpoint",
            "192.0.2.1=stall",
            "--first-family-count",
            "2",
        ],
        "--first-family-count: 2 needs --max-concurrent 3 or more (it is 2)",
    ),
    // the command line itself
    (&[], "turbohttp"),
    (&["teleport"], "unrecognized subcommand 'teleport'"),
    (&["connect"], "<TARGET>"),
    (
        &["connect", "--bogus", "a.test:80"],
        "unexpected argument '--bogus'",
    ),
    (&["demo", "extra"], "unexpected argument 'extra'"),
];

#[test]
fn every_malformed_argument_is_one_line_and_exit_2() {
    for (args, expected) in CASES {
        let output = Command::cargo_bin("turbohttp")
            .expect("built")
            .args(*args)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} printed to stdout");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        if args.is_empty() {
            // clap's own help for a missing subcommand.
            assert!(stderr.contains(expected), "{args:?}: {stderr}");
            continue;
        }
        assert_eq!(
            stderr.lines().count(),
            1,
            "{args:?}: one line, got {stderr}"
        );
        assert!(
            stderr.starts_with("turbohttp: error: "),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in {stderr}"
        );
    }
}

#[test]
fn help_and_version_exit_0() {
    for args in [
        &["--help"][..],
        &["connect", "--help"],
        &["--version"],
        &["simulate", "-h"],
    ] {
        let output = Command::cargo_bin("turbohttp")
            .expect("built")
            .args(args)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        assert!(!output.stdout.is_empty(), "{args:?}");
    }
    let output = Command::cargo_bin("turbohttp")
        .expect("built")
        .arg("--help")
        .output()
        .expect("runs");
    let help = String::from_utf8_lossy(&output.stdout);
    for word in ["connect", "get", "simulate", "doctor", "demo", "Exit codes"] {
        assert!(help.contains(word), "{word} missing from {help}");
    }
}
