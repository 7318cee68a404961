//! The JSON contract of `--json` (on `connect`, `get -v` and `simulate`).
//!
//! One object with:
//! * `outcome`: `"connected"` or `"failed"`;
//! * `elapsed_ms`: the whole connect, resolution included (a float);
//! * `winner`: `null`, or `{"address": "ip:port" | "[ip]:port", "family": "ipv4" | "ipv6"}`;
//! * `attempts`: in start order, each `{"attempt", "address", "family", "start_ms",
//!   "end_ms" (null if still pending when the race ended), "outcome" ("won", "failed",
//!   "timed_out", "cancelled"), "error" (text or null), "os_error" (number or null),
//!   "phase" ("connect", "setup" or null), "alpn" (the protocols offered when an HTTPS
//!   record narrowed them: `["h2", "http/1.1"]`, else null), "service" (the index of
//!   that record in the HTTPS query's `records`, or null), "alternative" (the index of
//!   the Alt-Svc alternative it serves, or null), "ech" (whether it offers Encrypted
//!   Client Hello)}`; times in milliseconds from the start of
//!   the connect (resolution included: an attempt can start no earlier than the
//!   answer that carried its address);
//! * `dns`: every query in the order sent, each `{"type" ("HTTPS", "AAAA", "A", or
//!   "lookup" for a one-shot resolver: getaddrinfo, `--resolve`), "start_ms", "end_ms",
//!   "outcome" ("answered", "nxdomain", "nodata", "servfail", "refused", "timed_out",
//!   "bad_answer", "error", "cancelled"), "addresses" (those answered), "error" (text or
//!   null)}`, and for HTTPS "records": each `{"priority" (0: AliasMode), "target" ("."
//!   for the origin), "alpn" (ids), "no_default_alpn", "port" (or null), "ipv4hint",
//!   "ipv6hint" (addresses), "ech" (whether it carries an ECH configuration),
//!   "mandatory" (key numbers), "verdict" ("used", "alias" (followed),
//!   "mandatory_unknown", "quic_only", "no_shared_protocol", "alias_loop",
//!   "alias_chain_too_long", "alias_to_nothing", "beside_alias", "too_many_targets",
//!   "too_many_records"),
//!   "why" (the verdict as a sentence), "rank" (its place in the order tried, or
//!   null)}`; every query's "name" is null for the origin's, else the name asked (an
//!   HTTPS record's target, where an alias led); empty for an IP literal;
//! * `alternatives`: the Alt-Svc alternatives given (`--alt-svc`), each `{"alpn",
//!   "host" (null: the origin's), "port", "verdict", "why", "rank"}`, and each
//!   attempt's "alternative" (its index there, or null);
//! * on failure, `error`: `{"kind", "message"}`;
//! * and for context: `target`, `host`, `port`, `preferred_family`, `resolved`,
//!   `resolve_ms` (when the first address was known).

use std::time::Duration;

use serde_json::{Map, Value, json};
use turbohttp::{
    AltServiceRecord, AttemptRecord, QueryOutcome, QueryRecord, QueryType, RaceReport,
    ServiceRecord, Verdict,
};

/// Milliseconds as a float (from whole nanoseconds, so that `0.0193` prints as such).
pub fn ms(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1_000_000.0
}

/// One attempt.
pub fn attempt(a: &AttemptRecord) -> Value {
    json!({
        "attempt": a.attempt,
        "address": a.endpoint.to_string(),
        "family": a.family.as_str(),
        "start_ms": ms(a.started),
        "end_ms": a.ended.map(ms),
        "outcome": a.outcome.as_str(),
        "error": a.failure.as_ref().map(ToString::to_string),
        "os_error": a.failure.as_ref().and_then(|f| f.os_error),
        "phase": a.failure.as_ref().map(|f| f.phase.to_string()),
        "alpn": a.alpn.map(|p| p.alpn_ids().collect::<Vec<_>>()),
        "service": a.service,
        "alternative": a.alternative,
        "ech": a.ech,
        "transport": a.transport.as_str(),
    })
}

/// One Alt-Svc alternative the race was given.
pub fn alternative(r: &AltServiceRecord) -> Value {
    json!({
        "alpn": r.alt.alpn,
        "host": r.alt.host,
        "port": r.alt.port,
        "verdict": verdict_name(r.verdict),
        "why": r.verdict.to_string(),
        "rank": r.rank,
    })
}

/// A verdict's JSON spelling.
fn verdict_name(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Use(_) => "used",
        Verdict::Alias => "alias",
        Verdict::MandatoryUnknown(_) => "mandatory_unknown",
        Verdict::QuicOnly => "quic_only",
        Verdict::NoSharedProtocol => "no_shared_protocol",
        Verdict::AliasLoop => "alias_loop",
        Verdict::AliasChainTooLong => "alias_chain_too_long",
        Verdict::AliasToNothing => "alias_to_nothing",
        Verdict::BesideAlias => "beside_alias",
        Verdict::TooManyTargets => "too_many_targets",
        Verdict::TooManyRecords => "too_many_records",
        _ => "other",
    }
}

/// One record of an HTTPS answer.
pub fn service(r: &ServiceRecord) -> Value {
    let info = &r.info;
    let verdict = verdict_name(r.verdict);
    json!({
        "priority": info.priority,
        "target": info.target.as_deref().unwrap_or("."),
        "alpn": info.alpn,
        "no_default_alpn": info.no_default_alpn,
        "port": info.port,
        "ipv4hint": info.ipv4_hints.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "ipv6hint": info.ipv6_hints.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "ech": info.ech.is_some(),
        "mandatory": info.mandatory,
        "verdict": verdict,
        "why": r.verdict.to_string(),
        "rank": r.rank,
    })
}

/// One DNS query.
pub fn query(q: &QueryRecord) -> Value {
    let mut value = json!({
        "type": q.query.as_str(),
        "name": q.name,
        "start_ms": ms(q.started),
        "end_ms": q.ended.map(ms),
        "outcome": q.outcome.as_str(),
        "addresses": q.addresses.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "error": match &q.outcome {
            QueryOutcome::Failed(failure) => Some(failure.message.clone()),
            _ => None,
        },
    });
    if q.query == QueryType::Https {
        value["records"] = q.services.iter().map(service).collect();
    }
    value
}

/// The race object. `error` is `Some((kind, message))` for a failed connect.
pub fn race(report: &RaceReport, error: Option<(&str, &str)>) -> Map<String, Value> {
    let winner = report.winning_attempt().map(|w| {
        json!({
            "attempt": w.attempt,
            "address": w.endpoint.to_string(),
            "family": w.family.as_str(),
        })
    });
    let mut object = Map::new();
    object.insert(
        "outcome".into(),
        json!(if winner.is_some() {
            "connected"
        } else {
            "failed"
        }),
    );
    object.insert("target".into(), json!(report.target()));
    object.insert("host".into(), json!(report.host));
    object.insert("port".into(), json!(report.port));
    object.insert(
        "preferred_family".into(),
        json!(report.preferred_family.as_str()),
    );
    object.insert(
        "resolved".into(),
        Value::Array(
            report
                .resolved
                .iter()
                .map(|a| Value::String(a.to_string()))
                .collect(),
        ),
    );
    object.insert("resolve_ms".into(), json!(ms(report.resolve_time)));
    object.insert("elapsed_ms".into(), json!(ms(report.elapsed)));
    object.insert("winner".into(), winner.unwrap_or(Value::Null));
    object.insert(
        "dns".into(),
        Value::Array(report.dns.iter().map(query).collect()),
    );
    object.insert(
        "alternatives".into(),
        Value::Array(report.alternatives.iter().map(alternative).collect()),
    );
    object.insert(
        "attempts".into(),
        Value::Array(report.attempts.iter().map(attempt).collect()),
    );
    object.insert(
        "quic_remembered_broken".into(),
        report.quic_remembered_broken.into(),
    );
    if let Some((kind, message)) = error {
        object.insert("error".into(), json!({ "kind": kind, "message": message }));
    }
    object
}

/// Pretty-printed, with a final newline.
pub fn to_text(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}
