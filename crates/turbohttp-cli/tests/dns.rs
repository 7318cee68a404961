//! DNS in the command: `--dns-servers` and `--resolver` against the DNS lab on
//! loopback, the DNS rows of the timeline and of `--json`, and `simulate`'s
//! `--dns-aaaa` / `--dns-a`.

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use turbohttp_lab::dns::{Behaviour, DnsLab, Zone};

const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn turbohttp() -> Command {
    Command::cargo_bin("turbohttp").expect("the turbohttp binary is built")
}

/// The lab on a runtime of its own, serving while the command runs. Fields drop in
/// order: the lab stops its tasks, then the runtime ends.
struct Lab {
    lab: DnsLab,
    _runtime: tokio::runtime::Runtime,
}

impl Lab {
    fn start(zone: Zone) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let lab = runtime.block_on(DnsLab::start(zone)).expect("lab");
        Self {
            lab,
            _runtime: runtime,
        }
    }

    fn server(&self) -> String {
        self.lab.addr().to_string()
    }
}

fn stdout_json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[test]
fn connect_through_the_dns_lab_starts_on_the_a_answer_when_aaaa_is_lost() {
    let lab = Lab::start(
        Zone::new()
            .aaaa("lost-aaaa.test", Behaviour::Silent)
            .a("lost-aaaa.test", Behaviour::answer([V4])),
    );
    let listener = TcpListener::bind((V4, 0)).expect("bind");
    let target = format!(
        "lost-aaaa.test:{}",
        listener.local_addr().expect("addr").port()
    );
    let output = turbohttp()
        .args(["connect", "--json", "--dns-servers", &lab.server(), &target])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json = stdout_json(&output);
    let dns = json["dns"].as_array().expect("a dns array");
    assert_eq!(dns.len(), 2);
    assert_eq!(dns[0]["type"], "AAAA");
    assert_eq!(dns[0]["outcome"], "cancelled");
    assert_eq!(dns[1]["type"], "A");
    assert_eq!(dns[1]["outcome"], "answered");
    assert_eq!(
        dns[1]["addresses"][0],
        format!("127.0.0.1:{}", &target[15..])
    );
    for query in dns {
        for field in ["start_ms", "end_ms"] {
            assert!(query[field].is_f64(), "{field}: {query}");
        }
        assert!(query["error"].is_null());
    }
    let started = json["attempts"][0]["start_ms"].as_f64().expect("start");
    let answered = dns[1]["end_ms"].as_f64().expect("end");
    assert!(started >= answered + 50.0, "{started} vs {answered}");
    assert_eq!(json["winner"]["family"], "ipv4");
    assert_eq!(json["options"]["resolution_delay_ms"], 50.0);

    // The text timeline puts the queries above the attempts.
    let output = turbohttp()
        .args(["connect", "--dns-servers", &lab.server(), &target])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let queries = text.find("  query  ").expect("a DNS table");
    let attempts = text.find("  #  address").expect("an attempt table");
    assert!(queries < attempts, "{text}");
    assert!(text.contains("  AAAA   +0ms"), "{text}");
    assert!(text.contains("not needed: the race ended first"), "{text}");
    assert!(text.contains("\n  AAAA    |"), "{text}");
}

#[test]
fn both_answers_lost_exit_28_when_the_timeout_says() {
    let lab = Lab::start(
        Zone::new()
            .aaaa("lost.test", Behaviour::Silent)
            .a("lost.test", Behaviour::Silent),
    );
    let started = Instant::now();
    let output = turbohttp()
        .args([
            "connect",
            "--connect-timeout",
            "2",
            "--dns-servers",
            &lab.server(),
            "lost.test:443",
        ])
        .timeout(Duration::from_secs(30))
        .output()
        .expect("runs");
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(28), "{output:?}");
    // The whole process, not only the race: nothing holds its exit (getaddrinfo would
    // take the resolver's 5 s timeout, twice).
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .contains("while resolving (AAAA: no answer before the connect timeout; A: no answer"),
        "{stderr}"
    );
}

#[test]
fn a_failed_resolution_names_both_queries_and_exits_6() {
    let lab = Lab::start(
        Zone::new()
            .aaaa("broken.test", Behaviour::ServFail)
            .a("broken.test", Behaviour::Refused),
    );
    let output = turbohttp()
        .args(["connect", "--dns-servers", &lab.server(), "broken.test:443"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(6), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("could not resolve broken.test: AAAA: "),
        "{stderr}"
    );
    assert!(stderr.contains("; A: "), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("servfail") && stdout.contains("refused"),
        "{stdout}"
    );
}

#[test]
fn bad_resolver_flags_are_usage_errors() {
    for (args, expected) in [
        (vec!["--dns-servers", ""], "--dns-servers: no server given"),
        (
            vec!["--dns-servers", "dns.test"],
            "--dns-servers: \"dns.test\" is not an IP address",
        ),
        (vec!["--dns-servers", "127.0.0.1:0"], "--dns-servers:"),
        (
            vec!["--dns-servers", "127.0.0.1", "--resolver", "system"],
            "--dns-servers: getaddrinfo (--resolver system) asks the system's servers only",
        ),
        (
            vec!["--resolver", "carrier-pigeon"],
            "invalid value 'carrier-pigeon'",
        ),
    ] {
        let mut all = vec!["connect"];
        all.extend(&args);
        all.push("example.test:443");
        let output = turbohttp().args(&all).output().expect("runs");
        assert_eq!(output.status.code(), Some(2), "{all:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{all:?}: {stderr}");
        assert!(stderr.contains(expected), "{all:?}: {stderr}");
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn simulate_explores_the_dns_rules_in_virtual_time() {
    let args = [
        "simulate",
        "--endpoint",
        "[2001:db8::1]:443=ok@1ms",
        "--endpoint",
        "192.0.2.1:443=ok@20ms",
        "--dns-aaaa",
        "lost",
        "--dns-a",
        "answer@3ms",
    ];
    let first = turbohttp().args(args).output().expect("runs");
    let second = turbohttp().args(args).output().expect("runs");
    assert!(first.status.success());
    assert_eq!(first.stdout, second.stdout, "byte for byte");
    let expected = "\
simulated network (virtual time): [2001:db8::1]:443 ok@1ms, 192.0.2.1:443 ok@20ms
simulated DNS: AAAA lost, A answer@3ms (asked separately)
Happy Eyeballs: IPv6 first, stagger 250ms, spacing 125ms, at most 2 in flight; connect timeout 30s
simulated.test:443 resolved to 1 address in 3ms: 192.0.2.1:443 (IPv4 only: no race)

  query  start  end    outcome    answer
  AAAA   +0ms   +73ms  cancelled  not needed: the race ended first
  A      +0ms   +3ms   answered   192.0.2.1:443

  #  address        family  start  end    outcome  error
  0  192.0.2.1:443  ipv4    +53ms  +73ms  won

  AAAA    |=================================================~|
  A       |==*                                               |
  #0 ipv4 |                                    =============*|
           0ms                                           73ms
           = waiting  * won/answered  x failed  ! timed out  ~ cancelled  > still pending

winner: #0 192.0.2.1:443 (IPv4), connected at +73ms; total 73ms
sockets: 1 opened, 1 closed, at most 1 open at once
";
    assert_eq!(String::from_utf8_lossy(&first.stdout), expected);

    // AAAA at 30 ms, inside the resolution delay: IPv6 leads from its answer.
    let output = turbohttp()
        .args([
            "simulate",
            "--json",
            "--endpoint",
            "[2001:db8::1]:443=stall",
            "--endpoint",
            "192.0.2.1:443=ok@1ms",
            "--dns-aaaa",
            "answer@30ms",
            "--dns-a",
            "answer@0ms",
            "--resolution-delay",
            "40ms",
        ])
        .output()
        .expect("runs");
    assert!(output.status.success());
    let json = stdout_json(&output);
    let starts: Vec<f64> = json["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["start_ms"].as_f64().expect("start"))
        .collect();
    assert_eq!(starts, [30.0, 280.0]);
    assert_eq!(json["dns_behaviour"]["AAAA"], "answer@30ms");
    assert_eq!(json["options"]["resolution_delay_ms"], 40.0);

    // A failed AAAA query ends the wait at once.
    let output = turbohttp()
        .args([
            "simulate",
            "--json",
            "--endpoint",
            "192.0.2.1:443=ok@1ms",
            "--dns-aaaa",
            "servfail@7ms",
        ])
        .output()
        .expect("runs");
    let json = stdout_json(&output);
    assert_eq!(json["attempts"][0]["start_ms"], 7.0);
    assert_eq!(json["dns"][0]["outcome"], "servfail");
}

#[test]
fn simulate_refuses_unknown_dns_behaviours() {
    for (flag, value, expected) in [
        ("--dns-aaaa", "explode", "unknown DNS behaviour \"explode\""),
        ("--dns-a", "lost@5ms", "\"lost\" takes no delay"),
        ("--dns-a", "answer@-5ms", "the duration is negative"),
        ("--dns-aaaa", "answer@soon", "--dns-aaaa:"),
    ] {
        let output = turbohttp()
            .args(["simulate", "--endpoint", "192.0.2.1=ok@1ms", flag, value])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{flag} {value}: {stderr}");
    }
}

/// Whether this machine lets the test make a private network and mount namespace
/// (root, or user namespaces), where getaddrinfo can be pointed at a server of ours.
fn namespaces() -> Result<(), String> {
    let status = std::process::Command::new("unshare")
        .args(["-n", "-m", "true"])
        .status()
        .map_err(|e| format!("no unshare: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("unshare -n -m failed ({status}): not root?"))
    }
}

/// getaddrinfo blocked on a DNS server that never answers (glibc: 5 s a try, 2 tries)
/// holds a thread; the command still exits when `--connect-timeout 2` says, process
/// included. The server is a UDP socket that is never read, on 127.0.0.1:53 inside a
/// private network namespace whose /etc/resolv.conf (bind-mounted there only) names it.
#[test]
fn with_getaddrinfo_blocked_the_command_exits_at_its_timeout() {
    if let Err(reason) = namespaces() {
        eprintln!("skipped: {reason}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("turbohttp-dns-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let resolv = dir.join("resolv.conf");
    std::fs::write(
        &resolv,
        "nameserver 127.0.0.1\noptions timeout:5 attempts:2\n",
    )
    .expect("resolv.conf");
    let silent = "import socket, time\n\
                  s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
                  s.bind(('127.0.0.1', 53))\n\
                  time.sleep(12)";
    let binary = assert_cmd::cargo::cargo_bin("turbohttp");
    // Wait until the silent server is bound (python starts slowly on a busy machine),
    // then time the command alone, from its start to its exit.
    let script = format!(
        "ip link set lo up && mount --bind '{resolv}' /etc/resolv.conf && \
         {{ python3 -c \"{silent}\" >/dev/null 2>&1 </dev/null & }} && \
         i=0; until ss -Huln 'sport = :53' | grep -q 127.0.0.1 || [ $i -ge 400 ]; \
         do sleep 0.05; i=$((i+1)); done; \
         start=$(date +%s%N); '{binary}' connect --resolver system --connect-timeout 2 \
         lost.test:443; code=$?; end=$(date +%s%N); \
         echo \"took_ms=$(( (end - start) / 1000000 ))\" >&2; exit $code",
        resolv = resolv.display(),
        binary = binary.display(),
    );
    let output = std::process::Command::new("unshare")
        .args(["-n", "-m", "sh", "-c", &script])
        .output()
        .expect("runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(28), "{stderr}");
    assert!(
        stderr.contains("stopped after 2") && stderr.contains("the connect timeout ran out"),
        "{stderr}"
    );
    let took = stderr
        .lines()
        .find_map(|line| line.strip_prefix("took_ms="))
        .and_then(|ms| ms.trim().parse::<u64>().ok())
        .map(Duration::from_millis)
        .expect("the script timed the command");
    // Two seconds of timeout; getaddrinfo alone holds its thread 5 s or more.
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_millis(4_500),
        "{took:?}: {stderr}"
    );
}
