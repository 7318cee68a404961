//! The findings: a pure function from the [`Evidence`] to sentences, each with a
//! severity, the layer and the family it is about, worst first, and the verdict.
//!
//! A finding says only what its evidence shows: a timed-out connect is "times out",
//! not "is filtered"; a cost is named only where the race's own rules give it.

use std::time::Duration;

use turbohttp::{AddressFamily, DisplayDuration, LookupFailureKind, QuicMemory, QuicOutcome};

use super::evidence::{
    AddressProbe, Answer, Connect, Evidence, Query, Quic, QuicEvidence, QuicProbe, Source, Tls,
};
use crate::exit;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Nobody can connect this way.
    Error,
    /// Something is broken or slow, and users pay for it.
    Warning,
    /// Worth knowing; nothing is broken.
    Info,
}

impl Severity {
    /// `"error"`, `"warning"`, `"info"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        }
    }
}

/// The layer a finding is about, in the order the doctor probes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    /// This machine's routes.
    Route,
    /// Name resolution.
    Dns,
    /// TCP connects.
    Connect,
    /// TLS handshakes.
    Tls,
    /// QUIC handshakes.
    Quic,
    /// The race a user gets.
    Race,
}

impl Layer {
    /// `"route"`, `"dns"`, `"connect"`, `"tls"`, `"quic"`, `"race"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Route => "route",
            Self::Dns => "dns",
            Self::Connect => "connect",
            Self::Tls => "tls",
            Self::Quic => "quic",
            Self::Race => "race",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// Which layer.
    pub layer: Layer,
    /// Which family, when it is about one.
    pub family: Option<AddressFamily>,
    /// The sentence: what is wrong, the evidence, and what it costs users.
    pub message: String,
}

/// The overall state of the host's paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every family probed works, nothing slow.
    Healthy,
    /// Reachable, but something is broken or slow.
    Degraded,
    /// No usable connection.
    Unreachable,
}

impl Verdict {
    /// `"healthy"`, `"degraded"`, `"unreachable"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::Unreachable => "unreachable",
        }
    }
}

/// The findings, worst first, the verdict and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// Worst first; within a severity, in the order of the layers.
    pub findings: Vec<Finding>,
    /// The verdict.
    pub verdict: Verdict,
    /// The exit code: 0 healthy, [`exit::DEGRADED`], or for unreachable 6 (no
    /// address), 28 (no time left to probe the addresses), 35 (connected, but no TLS
    /// handshake succeeded) or 7.
    pub code: u8,
}

/// A DNS answer this much slower than the other family's is named.
pub const SLOW_DNS: Duration = Duration::from_millis(100);

/// The findings of `e`.
pub fn diagnose(e: &Evidence) -> Diagnosis {
    let mut findings = Vec::new();
    let unresolvable = unresolvable(e, &mut findings);
    if !unresolvable {
        for family in e.families() {
            route(e, family, &mut findings);
            dns_family(e, family, &mut findings);
        }
        dns_extras(e, &mut findings);
        connects(e, &mut findings);
        tls(e, &mut findings);
        quic(e, &mut findings);
        race(e, &mut findings);
    }
    // Reachable over TCP, over QUIC (HTTP/3 clients connect), or by the race.
    let usable = e.addresses.iter().any(AddressProbe::usable)
        || e.quic
            .probes()
            .iter()
            .any(|p| matches!(p.outcome, Quic::Done { .. }))
        || e.race.result.is_ok();
    let broken = findings.iter().any(|f| f.severity != Severity::Info);
    let verdict = if !usable {
        Verdict::Unreachable
    } else if broken {
        Verdict::Degraded
    } else {
        Verdict::Healthy
    };
    // Stable: within a severity, the order of the layers, then of the families.
    findings.sort_by_key(|f| (f.severity, f.layer));
    if verdict == Verdict::Healthy {
        // The verdict first; the notes after it.
        findings.insert(0, healthy(e));
    }
    let code = match verdict {
        Verdict::Healthy => exit::OK,
        Verdict::Degraded => exit::DEGRADED,
        // Addresses, but no time left to probe them: the timeout's code, not "no address".
        Verdict::Unreachable if e.addresses.is_empty() && !e.skipped.is_empty() => exit::TIMEOUT,
        Verdict::Unreachable if e.addresses.is_empty() => exit::RESOLVE,
        Verdict::Unreachable
            if e.addresses
                .iter()
                .any(|p| matches!(p.connect, Connect::Connected(_))) =>
        {
            exit::TLS
        }
        Verdict::Unreachable => exit::CONNECT,
    };
    Diagnosis {
        findings,
        verdict,
        code,
    }
}

/// A duration as findings print it.
fn ms(d: Duration) -> DisplayDuration {
    // Tenths of a millisecond are plenty in a sentence.
    let tenths = (d.as_secs_f64() * 10_000.0).round() / 10_000.0;
    DisplayDuration(Duration::from_secs_f64(tenths))
}

fn finding(
    severity: Severity,
    layer: Layer,
    family: Option<AddressFamily>,
    message: String,
) -> Finding {
    Finding {
        severity,
        layer,
        family,
        message,
    }
}

/// `AAAA` or `A`.
fn record(family: AddressFamily) -> &'static str {
    match family {
        AddressFamily::V6 => "AAAA",
        AddressFamily::V4 => "A",
    }
}

/// What a failed query answered, in a few words.
fn how_failed(query: &Query) -> String {
    match &query.answer {
        Answer::TimedOut => format!("gets no answer within {}", ms(query.elapsed)),
        Answer::Failed {
            kind: LookupFailureKind::TimedOut,
            ..
        } => format!(
            "gets no answer (the resolver gave up after {})",
            ms(query.elapsed)
        ),
        Answer::Failed { kind, message } => {
            let code = match kind {
                LookupFailureKind::NxDomain => "NXDOMAIN".to_owned(),
                LookupFailureKind::NoData => "NODATA".to_owned(),
                LookupFailureKind::ServFail => "SERVFAIL".to_owned(),
                LookupFailureKind::Refused => "REFUSED".to_owned(),
                _ => message.clone(),
            };
            format!("fails in {} ({code})", ms(query.elapsed))
        }
        Answer::Addresses(_) | Answer::Services(_) => {
            format!("answers in {}", ms(query.elapsed))
        }
    }
}

/// No address at all: the name does not exist, or resolving fails for every family.
/// Returns whether that is the case (nothing else is then worth saying).
fn unresolvable(e: &Evidence, findings: &mut Vec<Finding>) -> bool {
    if !e.addresses.is_empty() || !e.skipped.is_empty() {
        return false;
    }
    let host = &e.host;
    let message = match &e.dns.source {
        Source::Dns { .. } => {
            let queries: Vec<(AddressFamily, &Query)> = e
                .families()
                .into_iter()
                .filter_map(|f| e.query_of(f).map(|q| (f, q)))
                .collect();
            if queries.is_empty() {
                return false;
            }
            let nxdomain = queries
                .iter()
                .all(|(_, q)| q.failure() == Some(LookupFailureKind::NxDomain));
            let each = queries
                .iter()
                .map(|(f, q)| format!("{} {}", record(*f), how_failed(q)))
                .collect::<Vec<_>>()
                .join(", ");
            if nxdomain {
                format!("{host} does not exist: the DNS server answers NXDOMAIN ({each}).")
            } else if queries.iter().all(|(_, q)| q.addresses().is_empty()) {
                let only = match e.family {
                    Some(family) => format!(" of {family}"),
                    None => String::new(),
                };
                format!("{host} has no address{only}: {each}.")
            } else {
                return false;
            }
        }
        Source::System => match &e.dns.system {
            Some(query) => format!(
                "{host} cannot be resolved: getaddrinfo {}.",
                how_failed(query)
            ),
            None => return false,
        },
        Source::Literal | Source::Resolve => return false,
    };
    findings.push(finding(Severity::Error, Layer::Dns, None, message));
    true
}

/// No route for `family` on this machine.
fn route(e: &Evidence, family: AddressFamily, findings: &mut Vec<Finding>) {
    let Some(probe) = e.route_of(family) else {
        return;
    };
    let Err(error) = &probe.result else {
        return;
    };
    let probes = e.probes_of(family);
    let (severity, effect) = if probes.is_empty() {
        (
            Severity::Info,
            format!("this host has no {family} address anyway"),
        )
    } else if probes
        .iter()
        .any(|p| matches!(p.connect, Connect::Connected(_)))
    {
        (
            Severity::Warning,
            format!(
                "this host's {family} addresses still connect (they are on a route the probe \
                 does not take), but {family} destinations beyond it are unreachable from here"
            ),
        )
    } else {
        (
            Severity::Warning,
            format!("this host's {family} addresses cannot be reached from here"),
        )
    };
    findings.push(finding(
        severity,
        Layer::Route,
        Some(family),
        format!(
            "No {family} route on this machine: connect() of a UDP socket towards {} fails \
             ({error}); {effect}.",
            probe.probe
        ),
    ));
}

/// One family's query against the other's.
fn dns_family(e: &Evidence, family: AddressFamily, findings: &mut Vec<Finding>) {
    if !matches!(e.dns.source, Source::Dns { .. }) {
        return;
    }
    let Some(query) = e.query_of(family) else {
        return;
    };
    let other = e.query_of(family.other());
    let other_answered = other.filter(|q| !q.addresses().is_empty());
    let (this, that) = (record(family), record(family.other()));
    if query.lost() {
        let Some(other) = other_answered else {
            return;
        };
        let turbohttp = match family {
            AddressFamily::V6 => format!(
                "turbohttp starts on the A answer after its {} resolution delay, and never \
                 tries IPv6",
                ms(e.resolution_delay)
            ),
            AddressFamily::V4 => {
                "turbohttp starts on the AAAA answer, but has no IPv4 address to fall back to"
                    .to_owned()
            }
        };
        findings.push(finding(
            Severity::Warning,
            Layer::Dns,
            Some(family),
            format!(
                "The {this} query {} while {that} answers in {}: clients that wait for both \
                 answers (getaddrinfo) wait until their resolver gives up (5s a try with \
                 resolv.conf's defaults); {turbohttp}.",
                how_failed(query),
                ms(other.elapsed)
            ),
        ));
        return;
    }
    match query.failure() {
        Some(LookupFailureKind::NoData) if other_answered.is_some() => {
            findings.push(finding(
                Severity::Info,
                Layer::Dns,
                Some(family),
                format!(
                    "{} has no {family} address (the {this} query answers NODATA): it is \
                     reached over {} only.",
                    e.host,
                    family.other()
                ),
            ));
            return;
        }
        Some(_) if other_answered.is_some() => {
            findings.push(finding(
                Severity::Warning,
                Layer::Dns,
                Some(family),
                format!(
                    "The {this} query {} while {that} answers: {family} is never tried for \
                     this host.",
                    how_failed(query)
                ),
            ));
            return;
        }
        _ => {}
    }
    // Both answered: is this one much slower?
    let Some(other) = other_answered else {
        return;
    };
    if query.addresses().is_empty() {
        return;
    }
    let slow = query.elapsed > other.elapsed + SLOW_DNS && query.elapsed > other.elapsed * 2;
    if !slow {
        return;
    }
    let turbohttp = match family {
        AddressFamily::V6 => format!(
            "turbohttp waits the {} resolution delay",
            ms(e.resolution_delay)
        ),
        AddressFamily::V4 => "turbohttp starts on the AAAA answer".to_owned(),
    };
    findings.push(finding(
        Severity::Warning,
        Layer::Dns,
        Some(family),
        format!(
            "{this} answers take {} while {that} takes {}: getaddrinfo clients wait {}; \
             {turbohttp}.",
            ms(query.elapsed),
            ms(other.elapsed),
            ms(query.elapsed),
        ),
    ));
}

/// The HTTPS query, getaddrinfo beside DNS, DNS64.
fn dns_extras(e: &Evidence, findings: &mut Vec<Finding>) {
    if let Some(query) = &e.dns.https {
        let failed = query.lost()
            || matches!(
                query.failure(),
                Some(
                    LookupFailureKind::ServFail
                        | LookupFailureKind::Refused
                        | LookupFailureKind::BadAnswer
                        | LookupFailureKind::Other
                )
            );
        if failed {
            findings.push(finding(
                Severity::Warning,
                Layer::Dns,
                None,
                format!(
                    "The HTTPS query {}: clients that ask for HTTPS records (browsers, \
                     turbohttp) learn no protocols, port or ECH configuration from it.",
                    how_failed(query)
                ),
            ));
        }
    }
    system_differences(e, findings);
    if let Some(dns64) = &e.dns.dns64 {
        let synthesized: Vec<_> = dns64
            .addresses()
            .iter()
            .filter_map(|ip| match ip {
                std::net::IpAddr::V6(v6) => Some(*v6),
                std::net::IpAddr::V4(_) => None,
            })
            .collect();
        if let Some(first) = synthesized.first() {
            let prefix = nat64_prefix(first);
            let own = e
                .query_of(AddressFamily::V6)
                .map(Query::addresses)
                .unwrap_or_default();
            let mine = if !own.is_empty()
                && own.iter().all(|ip| match (ip, &prefix) {
                    (std::net::IpAddr::V6(v6), Some(p)) => v6.segments()[..6] == p.segments()[..6],
                    _ => false,
                }) {
                " This host's IPv6 addresses are in that prefix: they are synthesized, and \
                 its IPv6 path is the NAT64 gateway's."
                    .to_owned()
            } else {
                String::new()
            };
            let prefix = prefix.map_or_else(
                || "a prefix the answer does not show (no 192.0.0.170/171 in it)".to_owned(),
                |p| format!("prefix {p}/96"),
            );
            findings.push(finding(
                Severity::Info,
                Layer::Dns,
                Some(AddressFamily::V6),
                format!(
                    "NAT64: ipv4only.arpa has an AAAA answer ({first}, RFC 7050), so the DNS \
                     server synthesizes AAAA records ({prefix}): IPv6 connections to IPv4-only \
                     hosts go through a NAT64 gateway.{mine}"
                ),
            ));
        }
    }
}

/// The /96 prefix of a synthesized `ipv4only.arpa` address: the one whose last 32 bits
/// are 192.0.0.170 or 192.0.0.171 (RFC 7050 §3). Other prefix lengths are not read.
pub fn nat64_prefix(addr: &std::net::Ipv6Addr) -> Option<std::net::Ipv6Addr> {
    let o = addr.octets();
    if o[12..15] == [192, 0, 0] && matches!(o[15], 170 | 171) {
        let mut prefix = o;
        prefix[12..].fill(0);
        Some(std::net::Ipv6Addr::from(prefix))
    } else {
        None
    }
}

/// What getaddrinfo answers that DNS does not, and the other way round.
fn system_differences(e: &Evidence, findings: &mut Vec<Finding>) {
    let Some(system) = &e.dns.system else {
        return;
    };
    let dns: Vec<std::net::IpAddr> = e
        .families()
        .into_iter()
        .filter_map(|f| e.query_of(f))
        .flat_map(|q| q.addresses().iter().copied())
        .collect();
    if dns.is_empty() {
        return;
    }
    let mine: Vec<_> = system
        .addresses()
        .iter()
        .copied()
        .filter(|ip| e.family.is_none_or(|f| AddressFamily::of_ip(ip) == f))
        .collect();
    if mine.is_empty() && !system.addresses().is_empty() {
        return;
    }
    if mine.is_empty() {
        findings.push(finding(
            Severity::Warning,
            Layer::Dns,
            None,
            format!(
                "getaddrinfo {} while the DNS servers answer: applications that use the \
                 system's resolver cannot resolve {}.",
                how_failed(system),
                e.host
            ),
        ));
        return;
    }
    let extra: Vec<String> = mine
        .iter()
        .filter(|ip| !dns.contains(ip))
        .map(ToString::to_string)
        .collect();
    if !extra.is_empty() {
        findings.push(finding(
            Severity::Info,
            Layer::Dns,
            None,
            format!(
                "getaddrinfo answers {}, which the DNS servers do not: a name in /etc/hosts \
                 or another source of the system's resolver.",
                extra.join(", ")
            ),
        ));
    }
    for family in e.families() {
        let in_dns = dns.iter().any(|ip| AddressFamily::of_ip(ip) == family);
        let in_system = mine.iter().any(|ip| AddressFamily::of_ip(ip) == family);
        if in_dns && !in_system {
            findings.push(finding(
                Severity::Warning,
                Layer::Dns,
                Some(family),
                format!(
                    "getaddrinfo gives no {family} address though the {} query answers: \
                     applications that use it never try {family} (glibc leaves out a family \
                     this machine has no address of, with AI_ADDRCONFIG).",
                    record(family)
                ),
            ));
        }
    }
}

/// "the IPv6 address", "both IPv6 addresses", "all 3 IPv6 addresses".
fn addresses_phrase(n: usize, family: AddressFamily) -> String {
    match n {
        1 => format!("the {family} address"),
        2 => format!("both {family} addresses"),
        n => format!("all {n} {family} addresses"),
    }
}

/// What the failed connects of a family did, as a verb phrase.
fn connect_failures(probes: &[&AddressProbe], probe_timeout: Duration) -> String {
    let n = probes.len();
    let all = |pred: fn(&Connect) -> bool| probes.iter().all(|p| pred(&p.connect));
    let plural = n > 1;
    if all(|c| matches!(c, Connect::TimedOut(_))) {
        let timeout = probes
            .iter()
            .map(|p| match p.connect {
                Connect::TimedOut(d) => d,
                _ => Duration::ZERO,
            })
            .max()
            .unwrap_or_default()
            // The bound given, not the few microseconds the timer fired past it.
            .min(probe_timeout);
        format!(
            "time{} out (no answer within {})",
            if plural { "" } else { "s" },
            ms(timeout)
        )
    } else if all(|c| matches!(c, Connect::Refused(_))) {
        format!("refuse{} connections", if plural { "" } else { "s" })
    } else {
        let each = probes
            .iter()
            .map(|p| format!("{} {}", p.addr, connect_word(&p.connect)))
            .collect::<Vec<_>>()
            .join(", ");
        format!("fail{} ({each})", if plural { "" } else { "s" })
    }
}

/// One connect's outcome in a word or two.
fn connect_word(connect: &Connect) -> String {
    match connect {
        Connect::Connected(d) => format!("connects in {}", ms(*d)),
        Connect::Refused(_) => "is refused".to_owned(),
        Connect::TimedOut(d) => format!("times out after {}", ms(*d)),
        Connect::Failed { error, .. } => format!("fails ({error})"),
    }
}

/// The fastest usable connect of a family.
fn fastest(probes: &[&AddressProbe]) -> Option<Duration> {
    probes
        .iter()
        .filter(|p| p.usable())
        .filter_map(|p| match p.connect {
            Connect::Connected(d) => Some(d),
            _ => None,
        })
        .min()
}

/// TCP connects per family.
fn connects(e: &Evidence, findings: &mut Vec<Finding>) {
    let families = e.families();
    let failing: Vec<AddressFamily> = families
        .iter()
        .copied()
        .filter(|f| {
            let probes = e.probes_of(*f);
            !probes.is_empty()
                && probes
                    .iter()
                    .all(|p| !matches!(p.connect, Connect::Connected(_)))
        })
        .collect();
    let connected_any = e
        .addresses
        .iter()
        .any(|p| matches!(p.connect, Connect::Connected(_)));
    if !connected_any && !e.addresses.is_empty() {
        let each = failing
            .iter()
            .map(|f| {
                format!(
                    "{f}: {}",
                    connect_failures(&e.probes_of(*f), e.probe_timeout)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let family = (failing.len() == 1).then(|| failing[0]);
        // The race had more time than a probe: if it connected, the host is slow, not
        // unreachable.
        if let Ok((addr, d)) = &e.race.result
            && e.race.quic
        {
            findings.push(finding(
                Severity::Warning,
                Layer::Connect,
                family,
                format!(
                    "No address of {} connects over TCP ({each}), but the race connected to \
                     {addr} over QUIC in {}: clients without HTTP/3 cannot connect.",
                    e.host,
                    ms(*d)
                ),
            ));
            return;
        }
        if let Ok((addr, d)) = &e.race.result {
            findings.push(finding(
                Severity::Warning,
                Layer::Connect,
                family,
                format!(
                    "No address of {} connects on its own within the probe timeout \
                     ({each}), but the race connected to {addr} in {}: connects are slow.",
                    e.host,
                    ms(*d)
                ),
            ));
            return;
        }
        findings.push(finding(
            Severity::Error,
            Layer::Connect,
            family,
            format!("Unreachable: no address of {} connects ({each}).", e.host),
        ));
        return;
    }
    for &family in &families {
        let probes = e.probes_of(family);
        if probes.is_empty() {
            continue;
        }
        let failed: Vec<&AddressProbe> = probes
            .iter()
            .copied()
            .filter(|p| !matches!(p.connect, Connect::Connected(_)))
            .collect();
        if failed.is_empty() {
            continue;
        }
        if failed.len() == probes.len() {
            let other = fastest(&e.probes_of(family.other()));
            let dns = match e.query_of(family) {
                Some(q) if !q.addresses().is_empty() => {
                    format!("{} answers in {} but ", record(family), ms(q.elapsed))
                }
                _ => String::new(),
            };
            let other_text = match other {
                Some(d) => format!("; {} connects in {}", family.other(), ms(d)),
                None => String::new(),
            };
            let timed_out = failed
                .iter()
                .any(|p| matches!(p.connect, Connect::TimedOut(_)));
            let cost = if family == e.preferred && timed_out {
                format!(
                    " Every new connection pays the {} fallback (clients without Happy \
                     Eyeballs wait for their connect timeout).",
                    ms(e.stagger)
                )
            } else if family == e.preferred {
                format!(
                    " Every new connection tries {family} first and moves on at the refusal: \
                     one round trip more."
                )
            } else {
                format!(" Clients that reach this host over {family} only cannot connect.")
            };
            findings.push(finding(
                Severity::Warning,
                Layer::Connect,
                Some(family),
                format!(
                    "{family} is broken for this host: {dns}{} {}{other_text}.{cost}",
                    addresses_phrase(probes.len(), family),
                    connect_failures(&failed, e.probe_timeout),
                ),
            ));
        } else {
            let each = failed
                .iter()
                .map(|p| format!("{} {}", p.addr, connect_word(&p.connect)))
                .collect::<Vec<_>>()
                .join(", ");
            findings.push(finding(
                Severity::Warning,
                Layer::Connect,
                Some(family),
                format!(
                    "{} of {} {family} addresses do{} not connect ({each}): connections that \
                     try {} first wait for the next attempt.",
                    failed.len(),
                    probes.len(),
                    if failed.len() == 1 { "es" } else { "" },
                    if failed.len() == 1 { "it" } else { "them" },
                ),
            ));
        }
    }
}

/// What a failed handshake was, in a clause.
fn tls_word(tls: &Tls) -> Option<String> {
    match tls {
        Tls::Done { .. } => None,
        Tls::CertificateRejected { reason, .. } => Some(reason.clone()),
        Tls::Failed { reason, .. } => Some(format!("the handshake fails: {reason}")),
        Tls::TimedOut(d) => Some(format!("the handshake does not finish within {}", ms(*d))),
    }
}

/// TLS handshakes per family.
fn tls(e: &Evidence, findings: &mut Vec<Finding>) {
    if !e.https {
        return;
    }
    let handshaken: Vec<&AddressProbe> = e.addresses.iter().filter(|p| p.tls.is_some()).collect();
    if handshaken.is_empty() {
        return;
    }
    let failed = |p: &&AddressProbe| !matches!(p.tls, Some(Tls::Done { .. }));
    let certificate = |p: &&AddressProbe| matches!(p.tls, Some(Tls::CertificateRejected { .. }));
    if handshaken.iter().all(failed) {
        let first = handshaken[0];
        let what = if handshaken.iter().all(certificate) {
            "The certificate fails verification on every address"
        } else {
            "No TLS handshake succeeds"
        };
        findings.push(finding(
            Severity::Error,
            Layer::Tls,
            None,
            format!(
                "{what}: {} ({}).",
                first.tls.as_ref().and_then(tls_word).unwrap_or_default(),
                first.addr
            ),
        ));
        return;
    }
    for family in e.families() {
        let mine: Vec<&AddressProbe> = handshaken
            .iter()
            .copied()
            .filter(|p| AddressFamily::of(&p.addr) == family)
            .collect();
        let bad: Vec<&AddressProbe> = mine.iter().copied().filter(|p| failed(p)).collect();
        let Some(first) = bad.first() else {
            continue;
        };
        let reason = first.tls.as_ref().and_then(tls_word).unwrap_or_default();
        let other_ok = handshaken
            .iter()
            .any(|p| AddressFamily::of(&p.addr) == family.other() && !failed(p));
        let contrast = if other_ok {
            format!(" while over {} it verifies", family.other())
        } else {
            String::new()
        };
        let message = if bad.iter().all(certificate) {
            format!(
                "The certificate served over {family} fails verification{contrast}: {reason} \
                 ({}). Clients whose connection goes over {family} get a certificate error.",
                first.addr
            )
        } else {
            format!(
                "TLS over {family} fails{contrast}: {reason} ({}). Clients whose connection \
                 goes over {family} cannot use it.",
                first.addr
            )
        };
        findings.push(finding(
            Severity::Warning,
            Layer::Tls,
            Some(family),
            message,
        ));
    }
}

/// How long turbohttp skips QUIC to an origin whose QUIC got no answer while TCP
/// won, the first time: asked of the library's own memory, so that the sentence
/// follows the library.
fn quic_remembered_for() -> Duration {
    let now = std::time::Instant::now();
    let mut memory = QuicMemory::new(1);
    memory.record("doctor.invalid", 443, QuicOutcome::NoAnswerWhileTcpWon, now);
    memory
        .broken_until("doctor.invalid", 443, now)
        .map_or(Duration::ZERO, |until| until.saturating_duration_since(now))
}

/// `5 minutes`, `1 minute`; other durations as findings print them.
fn minutes(d: Duration) -> String {
    match d.as_secs() {
        60 => "1 minute".to_owned(),
        s if s > 60 && s % 60 == 0 && d.subsec_nanos() == 0 => format!("{} minutes", s / 60),
        _ => ms(d).to_string(),
    }
}

/// One QUIC handshake's failure in a few words.
fn quic_word(quic: &Quic) -> String {
    match quic {
        Quic::Done { elapsed, .. } => format!("completes in {}", ms(*elapsed)),
        Quic::Refused { reason, .. } => format!("is refused ({reason})"),
        Quic::CertificateRejected { reason, .. } => reason.clone(),
        Quic::Failed { reason, .. } => format!("fails ({reason})"),
        Quic::TimedOut(d) => format!("gets no answer within {}", ms(*d)),
    }
}

/// What HTTP/3 costs where QUIC gets no answer, in turbohttp's own numbers.
fn quic_cost(e: &Evidence) -> String {
    format!(
        "HTTP/3 will cost one attempt delay ({}) on each first connect (turbohttp starts TCP \
         that long after QUIC), then be skipped for {}",
        ms(e.spacing),
        minutes(quic_remembered_for())
    )
}

/// The QUIC handshakes, where they were probed. Where no HTTPS record offers `h3`
/// (`--http3` asked), a QUIC path that does not work costs nobody who did not ask,
/// so it is a note; a certificate that does not verify is judged as over TCP.
fn quic(e: &Evidence, findings: &mut Vec<Finding>) {
    let QuicEvidence::Probed {
        port,
        advertised,
        ech,
        probes,
    } = &e.quic
    else {
        return;
    };
    if probes.is_empty() {
        return;
    }
    let (port, advertised) = (*port, *advertised);
    let done = |p: &QuicProbe| matches!(p.outcome, Quic::Done { .. });
    let certificate = |p: &QuicProbe| matches!(p.outcome, Quic::CertificateRejected { .. });
    let timed_out = |p: &QuicProbe| matches!(p.outcome, Quic::TimedOut(_));
    let severity = if advertised {
        Severity::Warning
    } else {
        Severity::Info
    };
    let unasked = if advertised {
        String::new()
    } else {
        " The origin advertises no h3, so clients try QUIC only when asked (--http3).".to_owned()
    };
    let tls_verifies = e
        .addresses
        .iter()
        .any(|p| matches!(p.tls, Some(Tls::Done { .. })));

    if probes.iter().all(certificate) {
        let first = &probes[0];
        let contrast = if tls_verifies {
            " while over TCP it verifies"
        } else {
            ""
        };
        findings.push(finding(
            Severity::Error,
            Layer::Quic,
            None,
            format!(
                "The certificate served over QUIC fails verification on every address{contrast}: \
                 {} ({}). Clients that try HTTP/3 get a certificate error (turbohttp's race \
                 ends at it, as over TCP).",
                quic_word(&first.outcome),
                first.addr
            ),
        ));
        return;
    }

    // Families whose QUIC gets no answer while TCP and TLS work there: (family, how
    // many addresses, whether QUIC answers over the other family).
    let mut blocked: Vec<(AddressFamily, usize, bool)> = Vec::new();
    let mut probed_families = 0;
    for family in e.families() {
        let mine: Vec<&QuicProbe> = probes
            .iter()
            .filter(|p| AddressFamily::of(&p.addr) == family)
            .collect();
        if mine.is_empty() {
            continue;
        }
        probed_families += 1;
        let bad: Vec<&QuicProbe> = mine.iter().copied().filter(|p| !done(p)).collect();
        let Some(first) = bad.first() else {
            continue;
        };
        let other_ok = probes
            .iter()
            .any(|p| AddressFamily::of(&p.addr) == family.other() && done(p));
        let contrast = if other_ok {
            format!(" while over {} it completes", family.other())
        } else {
            String::new()
        };
        let all = bad.len() == mine.len();
        if bad.iter().all(|p| certificate(p)) {
            let contrast = if other_ok {
                format!(" while over {} it verifies", family.other())
            } else {
                String::new()
            };
            findings.push(finding(
                Severity::Warning,
                Layer::Quic,
                Some(family),
                format!(
                    "The certificate QUIC serves over {family} fails verification{contrast}: \
                     {} ({}). Clients whose HTTP/3 goes over {family} get a certificate error.",
                    quic_word(&first.outcome),
                    first.addr
                ),
            ));
        } else if all && bad.iter().all(|p| timed_out(p)) {
            let tcp_works = e.probes_of(family).iter().any(|p| p.usable());
            if tcp_works {
                blocked.push((family, mine.len(), other_ok));
            } else {
                // The family is broken over TCP as well, which its own finding says.
                findings.push(finding(
                    Severity::Info,
                    Layer::Quic,
                    Some(family),
                    format!(
                        "QUIC gets no answer over {family} either: {} on UDP port {port} \
                         {}.",
                        addresses_phrase(mine.len(), family),
                        quic_no_answer(&mine, e.probe_timeout),
                    ),
                ));
            }
        } else if all
            && bad
                .iter()
                .all(|p| matches!(p.outcome, Quic::Refused { .. }))
        {
            findings.push(finding(
                severity,
                Layer::Quic,
                Some(family),
                format!(
                    "The QUIC server on UDP port {port} refuses connections over {family}\
                     {contrast}: {} ({}). Clients fall back to TCP at once; HTTP/3 is not \
                     used.{unasked}",
                    match &first.outcome {
                        Quic::Refused { reason, .. } => reason.clone(),
                        other => quic_word(other),
                    },
                    first.addr
                ),
            ));
        } else {
            let each = bad
                .iter()
                .map(|p| format!("{} {}", p.addr, quic_word(&p.outcome)))
                .collect::<Vec<_>>()
                .join(", ");
            findings.push(finding(
                severity,
                Layer::Quic,
                Some(family),
                format!(
                    "QUIC over {family} fails on {} of {} address{}{contrast} ({each}): HTTP/3 \
                     clients fall back to TCP there.{unasked}",
                    bad.len(),
                    mine.len(),
                    if mine.len() == 1 { "" } else { "es" },
                ),
            ));
        }
    }

    if !blocked.is_empty() {
        let everywhere = blocked.len() == probed_families;
        let (family, where_, contrast) = match blocked.as_slice() {
            [(family, n, other_ok)] if !everywhere => (
                Some(*family),
                format!(" over {family}"),
                format!(
                    " from {}{}",
                    addresses_phrase(*n, *family),
                    if *other_ok {
                        format!(" (over {} it answers)", family.other())
                    } else {
                        String::new()
                    }
                ),
            ),
            [(family, n, _)] => (
                Some(*family),
                String::new(),
                format!(" from {}", addresses_phrase(*n, *family)),
            ),
            _ => (None, String::new(), " from any address".to_owned()),
        };
        let mine: Vec<&QuicProbe> = probes
            .iter()
            .filter(|p| {
                blocked
                    .iter()
                    .any(|(f, _, _)| *f == AddressFamily::of(&p.addr))
            })
            .collect();
        let within = quic_no_answer(&mine, e.probe_timeout);
        let message = if advertised {
            format!(
                "UDP to port {port} looks blocked{where_}: the QUIC handshake {within}{contrast} \
                 while TCP and TLS work. The origin advertises h3: {}.",
                quic_cost(e)
            )
        } else {
            format!(
                "QUIC gets no answer on UDP port {port}{where_}: the handshake {within}\
                 {contrast} while TCP and TLS work (UDP blocked, or no QUIC server there). The \
                 origin advertises no h3, so only clients that ask for HTTP/3 (--http3) pay: \
                 {}.",
                quic_cost(e)
            )
        };
        findings.push(finding(severity, Layer::Quic, family, message));
    }

    if probes.iter().all(done) {
        let times = e
            .families()
            .into_iter()
            .filter_map(|family| {
                probes
                    .iter()
                    .filter(|p| AddressFamily::of(&p.addr) == family)
                    .map(|p| p.outcome.elapsed())
                    .min()
                    .map(|d| format!("{} over {family}", ms(d)))
            })
            .collect::<Vec<_>>()
            .join(" and ");
        let mut message = format!(
            "QUIC works on UDP port {port}: the handshake (TLS 1.3, ALPN h3) completes in \
             {times}."
        );
        if !advertised {
            message.push_str(
                " The origin advertises no h3, so clients use it only when asked (--http3) \
                 or told by an Alt-Svc header.",
            );
        } else if *ech {
            message.push_str(
                " turbohttp does not use it: the HTTPS record carries ECH, which rustls \
                 offers over TCP only.",
            );
        }
        findings.push(finding(Severity::Info, Layer::Quic, None, message));
    }
}

/// "gets no answer within 2s", for QUIC handshakes that all timed out.
fn quic_no_answer(probes: &[&QuicProbe], probe_timeout: Duration) -> String {
    let timeout = probes
        .iter()
        .map(|p| p.outcome.elapsed())
        .max()
        .unwrap_or_default()
        // The bound given, not what the timer fired past it.
        .min(probe_timeout);
    format!("gets no answer within {}", ms(timeout))
}

/// The race, where it tells more than the probes.
fn race(e: &Evidence, findings: &mut Vec<Finding>) {
    if e.race.result.is_err() && e.addresses.is_empty() && !e.skipped.is_empty() {
        // The race's own error is in its section; its words vary with the few
        // milliseconds it had.
        findings.push(finding(
            Severity::Error,
            Layer::Race,
            None,
            format!(
                "Out of time: the connect timeout ran out before any address was probed \
                 ({} not probed), and the race failed too; give a longer --connect-timeout.",
                e.skipped.len()
            ),
        ));
    }
    if let Err(error) = &e.race.result
        && let Some(usable) = e.addresses.iter().find(|p| p.usable())
    {
        findings.push(finding(
            Severity::Warning,
            Layer::Race,
            None,
            format!(
                "The race fails ({error}) though {} works on its own.",
                usable.addr
            ),
        ));
    }
}

/// The one finding of a healthy host.
fn healthy(e: &Evidence) -> Finding {
    let connecting: Vec<AddressFamily> = e
        .families()
        .into_iter()
        .filter(|f| e.probes_of(*f).iter().any(|p| p.usable()))
        .collect();
    let both = match connecting.as_slice() {
        [a, b] => format!("{a} and {b} both connect"),
        [a] => format!("{a} connects"),
        _ => "the race connects".to_owned(),
    };
    let winner = match &e.race.result {
        Ok((addr, d)) => format!(
            "; {} wins{} in {}",
            AddressFamily::of(addr),
            if e.race.quic { " over QUIC" } else { "" },
            ms(*d)
        ),
        Err(_) => String::new(),
    };
    finding(
        Severity::Info,
        Layer::Race,
        None,
        format!("Healthy: {both}{winner}."),
    )
}

#[cfg(test)]
mod tests;
