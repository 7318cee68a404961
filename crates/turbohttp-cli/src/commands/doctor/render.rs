//! The doctor's output: sections of aligned text for people, or one JSON object.
//!
//! The JSON object (`--json`), field names stable:
//! * `target`: `{"host", "port", "https"}`;
//! * `verdict`: `"healthy"`, `"degraded"` or `"unreachable"`; `exit_code`: the status;
//! * `findings`: worst first, each `{"severity" ("error", "warning", "info"), "layer"
//!   ("route", "dns", "connect", "tls", "quic", "race"), "family" ("ipv6", "ipv4" or
//!   null), "message"}`;
//! * `routes`: each `{"family", "probe" (the address the UDP socket was pointed at),
//!   "source" (the source address chosen, or null), "error" (or null)}`;
//! * `dns`: `{"source" ("dns", "system", "resolve", "literal"), "servers", "queries"}`,
//!   each query `{"query" ("AAAA", "A", "HTTPS", "getaddrinfo", "DNS64"), "name",
//!   "elapsed_ms", "outcome" ("answered", "nxdomain", "nodata", "servfail", "refused",
//!   "timed_out", "bad_answer", "error"), "addresses", "records" (HTTPS: each
//!   `{"priority", "target", "alpn", "port", "ech"}`), "ttl_s" (the least TTL of the
//!   addresses answered, in seconds, or null), "error" (text or null)}`;
//! * `addresses`: each `{"address", "family", "connect": {"outcome" ("connected",
//!   "refused", "timed_out", "failed"), "elapsed_ms", "error"}, "tls": null or
//!   {"outcome" ("done", "certificate_rejected", "failed", "timed_out"), "elapsed_ms",
//!   "version", "alpn", "error"}}`; `skipped`: addresses not probed (past the
//!   per-family limit, or no time left);
//! * `quic`: for https, where an HTTPS record offers `h3` or with `--http3`,
//!   `{"probed": true, "port" (UDP: the `h3` record's port, else the origin's),
//!   "advertised" (an HTTPS record offers `h3`; false: `--http3` asked), "addresses"}`,
//!   each address `{"address", "family", "outcome" ("done", "refused",
//!   "certificate_rejected", "failed", "timed_out"), "elapsed_ms", "alpn", "error"}`;
//!   otherwise `{"probed": false, "reason" ("not_https", "not_advertised",
//!   "unavailable", "no_time"), "error" (text or null)}`;
//! * `race`: the race, as `connect --json` prints it.

use serde_json::{Map, Value, json};
use turbohttp::{AddressFamily, DisplayDuration, LookupFailureKind, RaceReport, https_query_name};

use super::evidence::{
    AddressProbe, Answer, Connect, Evidence, Query, Quic, QuicEvidence, QuicProbe, Source, Tls,
};
use super::findings::Diagnosis;
use crate::json::ms;
use crate::options::RaceConfig;
use crate::timeline;

/// The queries in the order shown, with their names.
fn queries(e: &Evidence) -> Vec<(&'static str, String, &Query)> {
    let https_name = https_query_name(&e.host, e.port);
    [
        ("AAAA", e.host.clone(), e.dns.aaaa.as_ref()),
        ("A", e.host.clone(), e.dns.a.as_ref()),
        ("HTTPS", https_name, e.dns.https.as_ref()),
        ("getaddrinfo", e.host.clone(), e.dns.system.as_ref()),
        (
            "DNS64",
            super::probes::IPV4ONLY_ARPA.to_owned(),
            e.dns.dns64.as_ref(),
        ),
    ]
    .into_iter()
    .filter_map(|(kind, name, q)| q.map(|q| (kind, name, q)))
    .collect()
}

/// What a query answered, in a few words.
fn answer_text(query: &Query) -> String {
    match &query.answer {
        Answer::Addresses(addrs) => {
            let list = addrs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            match query.ttl {
                Some(ttl) => format!("{list} (TTL {}s)", ttl.as_secs()),
                None => list,
            }
        }
        Answer::Services(records) if records.is_empty() => "no record".to_owned(),
        Answer::Services(records) => records
            .iter()
            .map(|r| {
                let mut text = format!("priority {}", r.priority);
                if let Some(target) = &r.target {
                    text.push_str(&format!(" target {target}"));
                }
                if !r.alpn.is_empty() {
                    text.push_str(&format!(" alpn {}", r.alpn.join(",")));
                }
                if let Some(port) = r.port {
                    text.push_str(&format!(" port {port}"));
                }
                if r.ech {
                    text.push_str(" ech");
                }
                text
            })
            .collect::<Vec<_>>()
            .join("; "),
        // The kind says it for the well-known answers; the resolver's words otherwise.
        Answer::Failed { kind, message } => match kind {
            LookupFailureKind::BadAnswer | LookupFailureKind::Other => {
                format!("{}: {message}", kind.as_str())
            }
            _ => kind.as_str().to_owned(),
        },
        Answer::TimedOut => "no answer in time".to_owned(),
    }
}

fn connect_text(connect: &Connect) -> String {
    let d = DisplayDuration;
    match connect {
        Connect::Connected(t) => format!("connected in {}", d(*t)),
        Connect::Refused(t) => format!("refused after {}", d(*t)),
        Connect::TimedOut(t) => format!("timed out after {}", d(*t)),
        Connect::Failed { elapsed, error } => format!("failed after {}: {error}", d(*elapsed)),
    }
}

fn tls_text(tls: &Tls) -> String {
    let d = DisplayDuration;
    match tls {
        Tls::Done {
            elapsed,
            version,
            alpn,
        } => format!(
            "TLS {version}, ALPN {}, certificate ok, in {}",
            alpn.as_deref().unwrap_or("none"),
            d(*elapsed)
        ),
        Tls::CertificateRejected { elapsed, reason } => {
            format!("TLS certificate rejected after {}: {reason}", d(*elapsed))
        }
        Tls::Failed { elapsed, reason } => format!("TLS failed after {}: {reason}", d(*elapsed)),
        Tls::TimedOut(t) => format!("TLS timed out after {}", d(*t)),
    }
}

fn quic_text(quic: &Quic) -> String {
    let d = DisplayDuration;
    match quic {
        Quic::Done { elapsed, alpn } => format!(
            "QUIC handshake done in {} (TLS 1.3, ALPN {}, certificate ok)",
            d(*elapsed),
            alpn.as_deref().unwrap_or("none")
        ),
        Quic::Refused { elapsed, reason } => format!("refused after {}: {reason}", d(*elapsed)),
        Quic::CertificateRejected { elapsed, reason } => {
            format!("certificate rejected after {}: {reason}", d(*elapsed))
        }
        Quic::Failed { elapsed, reason } => format!("failed after {}: {reason}", d(*elapsed)),
        Quic::TimedOut(t) => format!("timed out after {} (no answer)", d(*t)),
    }
}

/// The QUIC section of the text: a line per address, or why there is none.
fn quic_section(e: &Evidence) -> String {
    let why = match &e.quic {
        QuicEvidence::NotHttps => return String::new(),
        // A record that was not asked, or did not answer, says nothing either way.
        QuicEvidence::NotAdvertised if e.dns.https.as_ref().is_none_or(|q| q.lost()) => {
            "no HTTPS record says whether the origin offers h3; pass --http3 to probe it".to_owned()
        }
        QuicEvidence::NotAdvertised => {
            "the origin advertises no h3; pass --http3 to probe it anyway".to_owned()
        }
        QuicEvidence::Unavailable(reason) => reason.clone(),
        QuicEvidence::NoTime => "no time was left".to_owned(),
        QuicEvidence::Probed {
            port,
            advertised,
            probes,
            ..
        } => {
            let why = if *advertised {
                "where the HTTPS record offers h3"
            } else {
                "asked by --http3"
            };
            let mut out = format!(
                "\nQUIC, each address on its own (UDP port {port}, {why}; in parallel, {} each)\n",
                DisplayDuration(e.probe_timeout)
            );
            if probes.is_empty() {
                out.push_str("  none to probe\n");
            }
            let width = probes
                .iter()
                .map(|p| p.addr.to_string().len())
                .max()
                .unwrap_or(0);
            for p in probes {
                out.push_str(&format!(
                    "  {:<width$}  {}\n",
                    p.addr.to_string(),
                    quic_text(&p.outcome)
                ));
            }
            return out;
        }
    };
    format!("\nQUIC: not probed ({why})\n")
}

/// The text for people.
pub fn text(e: &Evidence, d: &Diagnosis, report: &RaceReport, config: &RaceConfig) -> String {
    let mut out = format!(
        "turbohttp doctor: {}:{}{}\n",
        bracketed(&e.host),
        e.port,
        match (e.https, &e.quic) {
            (true, QuicEvidence::Probed { .. }) => " (https: TCP, TLS and QUIC)",
            (true, _) => " (https: TCP and TLS)",
            (false, _) => " (TCP)",
        }
    );

    out.push_str("\nlocal network (a UDP socket connect()ed per family; nothing is sent)\n");
    for r in &e.routes {
        let line = match &r.result {
            Ok(source) => format!("route, source address {source}"),
            Err(error) => format!("no route: {error}"),
        };
        out.push_str(&format!(
            "  {:<5} {line} (towards {})\n",
            r.family.to_string(),
            r.probe
        ));
    }

    match &e.dns.source {
        Source::Literal => out.push_str("\nDNS: not asked (an IP address)\n"),
        Source::Resolve => out.push_str("\nDNS: not asked (a --resolve entry answers)\n"),
        Source::System => out.push_str("\nDNS: the system's resolver (getaddrinfo)\n"),
        Source::Dns { servers } => out.push_str(&format!(
            "\nDNS, each query on its own (servers {})\n",
            servers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
    let rows = queries(e);
    let uncompared = matches!(e.dns.source, Source::Dns { .. }) && e.dns.system.is_none();
    let width = rows
        .iter()
        .map(|(k, _, _)| k.len())
        .chain(uncompared.then_some("getaddrinfo".len()))
        .max()
        .unwrap_or(0);
    for (kind, name, q) in &rows {
        // The name asked, where it is not the host's own.
        let asked = match *kind {
            "DNS64" => format!("{name} AAAA: "),
            "HTTPS" if name != &e.host => format!("{name}: "),
            _ => String::new(),
        };
        let nat64 = match (*kind, &q.answer) {
            ("DNS64", Answer::Addresses(_)) => " (synthesized: NAT64)",
            ("DNS64", _) => " (no DNS64)",
            _ => "",
        };
        out.push_str(&format!(
            "  {kind:<width$}  {:>9}  {asked}{}{nat64}\n",
            DisplayDuration(q.elapsed).to_string(),
            answer_text(q)
        ));
    }
    if uncompared {
        out.push_str(&format!(
            "  {:<width$}  {:>9}  not compared: --dns-servers names other servers than the \
             system's\n",
            "getaddrinfo", "-"
        ));
    }

    out.push_str(&format!(
        "\naddresses, each on its own (in parallel, {} each)\n",
        DisplayDuration(e.probe_timeout)
    ));
    if e.addresses.is_empty() {
        out.push_str("  none to probe\n");
    }
    let width = e
        .addresses
        .iter()
        .map(|p| p.addr.to_string().len())
        .max()
        .unwrap_or(0);
    for p in &e.addresses {
        let tls = p
            .tls
            .as_ref()
            .map(|t| format!("; {}", tls_text(t)))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {:<width$}  {}{tls}\n",
            p.addr.to_string(),
            connect_text(&p.connect)
        ));
    }
    for addr in &e.skipped {
        out.push_str(&format!(
            "  {addr}  not probed (past --max-addresses, or no time left)\n"
        ));
    }
    out.push_str(&quic_section(e));

    let as_get = match (e.https, e.http3) {
        (true, true) => "as `get --http3` runs it: QUIC at the origin too; ",
        (true, false) => "as `get` runs it: QUIC where h3 is advertised; ",
        (false, _) => "",
    };
    out.push_str(&format!(
        "\nthe race a user gets ({as_get}within what is left of the connect timeout)\n{}\n{}",
        config.describe(),
        timeline::render(report)
    ));

    out.push_str("\nfindings\n");
    for f in &d.findings {
        let about = match f.family {
            Some(family) => format!("{}, {family}", f.layer.as_str()),
            None => f.layer.as_str().to_owned(),
        };
        out.push_str(&format!(
            "  {:<7}  [{about}] {}\n",
            f.severity.as_str(),
            f.message
        ));
    }
    out.push_str(&format!(
        "\nverdict: {} (exit {})\n",
        d.verdict.as_str(),
        d.code
    ));
    out
}

/// An IPv6 literal in brackets, as in a target.
fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

fn family(addr: &std::net::SocketAddr) -> &'static str {
    AddressFamily::of(addr).as_str()
}

fn query_json(kind: &str, name: &str, q: &Query) -> Value {
    let (addresses, records, error) = match &q.answer {
        Answer::Addresses(addrs) => (
            addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            Value::Null,
            Value::Null,
        ),
        Answer::Services(records) => (
            Vec::new(),
            records
                .iter()
                .map(|r| {
                    json!({
                        "priority": r.priority,
                        "target": r.target,
                        "alpn": r.alpn,
                        "port": r.port,
                        "ech": r.ech,
                    })
                })
                .collect(),
            Value::Null,
        ),
        Answer::Failed { message, .. } => (Vec::new(), Value::Null, message.clone().into()),
        Answer::TimedOut => (Vec::new(), Value::Null, "no answer in time".into()),
    };
    json!({
        "query": kind,
        "name": name,
        "elapsed_ms": ms(q.elapsed),
        "outcome": q.outcome(),
        "addresses": addresses,
        "records": records,
        "ttl_s": q.ttl.map(|t| t.as_secs()),
        "error": error,
    })
}

fn address_json(p: &AddressProbe) -> Value {
    let (outcome, elapsed, error) = match &p.connect {
        Connect::Connected(t) => ("connected", *t, None),
        Connect::Refused(t) => ("refused", *t, None),
        Connect::TimedOut(t) => ("timed_out", *t, None),
        Connect::Failed { elapsed, error } => ("failed", *elapsed, Some(error.clone())),
    };
    let tls = p.tls.as_ref().map(|tls| match tls {
        Tls::Done {
            elapsed,
            version,
            alpn,
        } => json!({"outcome": "done", "elapsed_ms": ms(*elapsed), "version": version, "alpn": alpn, "error": null}),
        Tls::CertificateRejected { elapsed, reason } => json!({"outcome": "certificate_rejected", "elapsed_ms": ms(*elapsed), "version": null, "alpn": null, "error": reason}),
        Tls::Failed { elapsed, reason } => json!({"outcome": "failed", "elapsed_ms": ms(*elapsed), "version": null, "alpn": null, "error": reason}),
        Tls::TimedOut(t) => json!({"outcome": "timed_out", "elapsed_ms": ms(*t), "version": null, "alpn": null, "error": null}),
    });
    json!({
        "address": p.addr.to_string(),
        "family": family(&p.addr),
        "connect": {"outcome": outcome, "elapsed_ms": ms(elapsed), "error": error},
        "tls": tls,
    })
}

fn quic_probe_json(p: &QuicProbe) -> Value {
    let (alpn, error) = match &p.outcome {
        Quic::Done { alpn, .. } => (alpn.clone(), None),
        Quic::Refused { reason, .. }
        | Quic::CertificateRejected { reason, .. }
        | Quic::Failed { reason, .. } => (None, Some(reason.clone())),
        Quic::TimedOut(_) => (None, None),
    };
    json!({
        "address": p.addr.to_string(),
        "family": family(&p.addr),
        "outcome": p.outcome.as_str(),
        "elapsed_ms": ms(p.outcome.elapsed()),
        "alpn": alpn,
        "error": error,
    })
}

fn quic_json(quic: &QuicEvidence) -> Value {
    let not_probed = |reason: &str, error: Option<&str>| json!({"probed": false, "reason": reason, "error": error});
    match quic {
        QuicEvidence::NotHttps => not_probed("not_https", None),
        QuicEvidence::NotAdvertised => not_probed("not_advertised", None),
        QuicEvidence::Unavailable(reason) => not_probed("unavailable", Some(reason)),
        QuicEvidence::NoTime => not_probed("no_time", None),
        QuicEvidence::Probed {
            port,
            advertised,
            probes,
            ..
        } => json!({
            "probed": true,
            "port": port,
            "advertised": advertised,
            "addresses": probes.iter().map(quic_probe_json).collect::<Vec<_>>(),
        }),
    }
}

/// The JSON object.
pub fn json(e: &Evidence, d: &Diagnosis, report: &RaceReport, config: &RaceConfig) -> Value {
    let source = match &e.dns.source {
        Source::Literal => "literal",
        Source::Resolve => "resolve",
        Source::System => "system",
        Source::Dns { .. } => "dns",
    };
    let servers: Vec<String> = match &e.dns.source {
        Source::Dns { servers } => servers.iter().map(ToString::to_string).collect(),
        _ => Vec::new(),
    };
    let mut race: Map<String, Value> = crate::json::race(report, None);
    race.insert("options".into(), config.to_json());
    if let Err(message) = &e.race.result {
        race.insert("error".into(), json!({ "message": message }));
    }
    json!({
        "target": {"host": e.host, "port": e.port, "https": e.https},
        "verdict": d.verdict.as_str(),
        "exit_code": d.code,
        "findings": d.findings.iter().map(|f| json!({
            "severity": f.severity.as_str(),
            "layer": f.layer.as_str(),
            "family": f.family.map(AddressFamily::as_str),
            "message": f.message,
        })).collect::<Vec<_>>(),
        "routes": e.routes.iter().map(|r| json!({
            "family": r.family.as_str(),
            "probe": r.probe.to_string(),
            "source": r.result.as_ref().ok().map(ToString::to_string),
            "error": r.result.as_ref().err(),
        })).collect::<Vec<_>>(),
        "dns": {
            "source": source,
            "servers": servers,
            "queries": queries(e).iter().map(|(k, n, q)| query_json(k, n, q)).collect::<Vec<_>>(),
        },
        "addresses": e.addresses.iter().map(address_json).collect::<Vec<_>>(),
        "skipped": e.skipped.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "quic": quic_json(&e.quic),
        "race": Value::Object(race),
    })
}
