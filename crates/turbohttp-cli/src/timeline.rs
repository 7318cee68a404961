//! The race as people read it: a table with one row per DNS query, a table with one
//! row per attempt, a small chart of both over time, and the winner. Every time counts
//! from the start of the connect.
//!
//! ```text
//! dual.test:443 resolved to 1 address in 0.4ms: 192.0.2.1:443 (IPv4 only: no race)
//!
//!   query  start  end     outcome    answer
//!   AAAA   +0ms   +51ms   cancelled  not needed: the race ended first
//!   A      +0ms   +0.4ms  answered   192.0.2.1:443
//!
//!   #  address        family  start   end     outcome  error
//!   0  192.0.2.1:443  ipv4    +50ms   +51ms   won
//!
//!   AAAA    |=================================================~|
//!   A       |*                                                 |
//!   #0 ipv4 |                                                 *|
//!           0ms                                            51ms
//!           = waiting  * won/answered  x failed  ! timed out  ~ cancelled  > still pending
//!
//! winner: #0 192.0.2.1:443 (IPv4), connected at +51ms; total 51ms
//! ```

use std::fmt::Write as _;
use std::time::Duration;

use turbohttp::DisplayDuration;
use turbohttp::{
    AddressFamily, AttemptOutcome, AttemptPhase, AttemptRecord, Host, QueryOutcome, QueryRecord,
    RaceReport, Transport,
};

/// The width of the chart, in columns.
pub const CHART_WIDTH: usize = 50;

/// Renders the whole timeline: resolution line, table, chart and the winner line (or
/// `no winner` and the total time).
pub fn render(report: &RaceReport) -> String {
    let mut out = String::new();
    out.push_str(&resolution_line(report));
    out.push('\n');
    if !report.dns.is_empty() {
        out.push('\n');
        out.push_str(&dns_table(&report.dns));
    }
    if !report.alternatives.is_empty() {
        // The Alt-Svc alternatives given (--alt-svc), each with what the race made of it.
        out.push('\n');
        for (i, r) in report.alternatives.iter().enumerate() {
            let _ = writeln!(out, "  alt-svc #{i}  {r}");
        }
    }
    if report.quic_remembered_broken {
        out.push_str(
            "\n  QUIC not tried: it got no answer from this origin lately (remembered broken)\n",
        );
    }
    if report.attempts.is_empty() {
        out.push_str("\n  no connection attempt was started\n");
    } else {
        out.push('\n');
        out.push_str(&table(&report.attempts));
        if report.attempts.iter().any(|a| {
            a.failure
                .as_ref()
                .is_some_and(|f| f.phase == AttemptPhase::Setup)
        }) {
            out.push_str(SETUP_LEGEND);
        }
    }
    if !report.attempts.is_empty() || !report.dns.is_empty() {
        out.push('\n');
        out.push_str(&chart(report));
    }
    out.push('\n');
    out.push_str(&summary(report));
    out.push('\n');
    out
}

/// Whether the race resolved IPv6 and IPv4 addresses: only with both is there a race.
pub fn families_resolved(report: &RaceReport) -> (bool, bool) {
    let has = |family| {
        report
            .resolved
            .iter()
            .any(|a| AddressFamily::of(a) == family)
    };
    (has(AddressFamily::V6), has(AddressFamily::V4))
}

/// What "setup failed" in the attempts table means, printed under it when it appears.
pub const SETUP_LEGEND: &str = "  (setup failed: the TCP connection was made, then the step after \
     it failed: the TLS handshake, for https)\n";

/// `dual.test:443 resolved to 2 addresses in 0.01ms: [::1]:443, 127.0.0.1:443 (IPv6
/// first)`; `(IPv4 only: no race)` when one family alone was resolved.
pub fn resolution_line(report: &RaceReport) -> String {
    let literal = Host::parse(&report.host).is_ok_and(|h| h.ip().is_some());
    let addresses = report
        .resolved
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if literal {
        return format!("{} is an IP address: nothing to resolve", report.target());
    }
    let n = report.resolved.len();
    let race = match families_resolved(report) {
        (true, true) => format!(" ({} first)", report.preferred_family),
        (true, false) => " (IPv6 only: no race)".to_owned(),
        (false, true) => " (IPv4 only: no race)".to_owned(),
        (false, false) => String::new(),
    };
    format!(
        "{} resolved to {n} address{} in {}{}{}{race}",
        report.target(),
        if n == 1 { "" } else { "es" },
        DisplayDuration(report.resolve_time),
        if n == 0 { "" } else { ": " },
        addresses,
    )
}

/// One row per DNS query: type, start, end, outcome, and its addresses or why none.
pub fn dns_table(queries: &[QueryRecord]) -> String {
    let header = ["query", "start", "end", "outcome", "answer"];
    let rows: Vec<[String; 5]> = queries
        .iter()
        .map(|q| {
            let answer = match &q.outcome {
                QueryOutcome::Records { .. } => records_cell(q),
                QueryOutcome::Answered { .. } if q.addresses.is_empty() => "no address".to_owned(),
                QueryOutcome::Answered { .. } => q
                    .addresses
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            [
                q.query.to_string(),
                format!("+{}", DisplayDuration(q.started)),
                q.ended.map_or_else(
                    || "pending".to_owned(),
                    |e| format!("+{}", DisplayDuration(e)),
                ),
                q.outcome.as_str().to_owned(),
                answer,
            ]
        })
        .collect();
    columns(&header, &rows)
}

/// An HTTPS answer's cell: each record and what the race made of it, `; `-joined
/// (`1 . alpn=h2 port=8443: used (h2,http/1.1)`), or `no record`.
fn records_cell(q: &QueryRecord) -> String {
    if q.services.is_empty() {
        return "no record".to_owned();
    }
    let records = q.services.iter();
    let cells: Vec<String> = records
        .map(|r| format!("{}: {}", r.info, r.verdict))
        .collect();
    cells.join("; ")
}

/// One row per attempt: number, address, family, start, end, outcome, error; with
/// an `alpn` column after the family when an HTTPS record narrowed what an attempt
/// offers (`-`: the caller's own list; `+ECH` when it offers Encrypted Client Hello),
/// each cell led by `QUIC` or `TCP` when QUIC raced TCP.
pub fn table(attempts: &[AttemptRecord]) -> String {
    let quic = attempts.iter().any(|a| a.transport == Transport::Quic);
    if quic || attempts.iter().any(|a| a.alpn.is_some()) {
        let header = [
            "#", "address", "family", "alpn", "start", "end", "outcome", "error",
        ];
        let rows: Vec<[String; 8]> = attempts
            .iter()
            .map(|a| {
                let [n, address, family, start, end, outcome, error] = row(a);
                let mut alpn = a.alpn.map_or_else(|| "-".to_owned(), |p| p.to_string());
                if a.ech {
                    alpn.push_str(" +ECH");
                }
                if quic {
                    let via = match a.transport {
                        Transport::Quic => "QUIC",
                        _ => "TCP",
                    };
                    alpn = format!("{via} {alpn}");
                }
                [n, address, family, alpn, start, end, outcome, error]
            })
            .collect();
        return columns(&header, &rows);
    }
    let header = ["#", "address", "family", "start", "end", "outcome", "error"];
    let rows: Vec<[String; 7]> = attempts.iter().map(row).collect();
    columns(&header, &rows)
}

/// An attempt's cells, but for the ALPN column.
fn row(a: &AttemptRecord) -> [String; 7] {
    let time = |t: Option<Duration>| {
        t.map_or_else(
            || "pending".to_owned(),
            |t| format!("+{}", DisplayDuration(t)),
        )
    };
    [
        a.attempt.to_string(),
        a.endpoint.to_string(),
        a.family.as_str().to_owned(),
        time(Some(a.started)),
        time(a.ended),
        a.outcome.as_str().to_owned(),
        a.failure
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    ]
}

/// A left-aligned table, two spaces in, columns as wide as their widest cell.
fn columns<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::from(" ");
        for (i, cell) in cells.iter().enumerate() {
            let _ = write!(text, " {cell:<width$} ", width = widths[i]);
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header);
    for row in rows {
        line(&row.each_ref().map(String::as_str));
    }
    out
}

fn marker(outcome: AttemptOutcome, ended: Option<Duration>) -> char {
    if ended.is_none() {
        return '>';
    }
    match outcome {
        AttemptOutcome::Won => '*',
        AttemptOutcome::Failed => 'x',
        AttemptOutcome::TimedOut => '!',
        _ => '~',
    }
}

fn query_marker(outcome: &QueryOutcome, ended: Option<Duration>) -> char {
    match (outcome, ended) {
        (_, None) | (QueryOutcome::Pending, _) => '>',
        (QueryOutcome::Answered { .. } | QueryOutcome::Records { .. }, _) => '*',
        (QueryOutcome::Failed(_), _) => 'x',
        (QueryOutcome::TimedOut, _) => '!',
        _ => '~',
    }
}

/// The chart: one bar per query and per attempt from its start to its end, on a common
/// time axis from the start of the connect to its last moment.
pub fn chart(report: &RaceReport) -> String {
    let race_end = report.elapsed;
    let span = report
        .attempts
        .iter()
        .map(|a| a.ended.unwrap_or(race_end))
        .chain(report.dns.iter().map(|q| q.ended.unwrap_or(race_end)))
        .chain([race_end])
        .max()
        .unwrap_or_default();
    let column = |t: Duration| -> usize {
        if span.is_zero() {
            return 0;
        }
        let ratio = t.as_secs_f64() / span.as_secs_f64();
        // Rounded to the nearest column; the clamp keeps float noise in range.
        ((ratio * (CHART_WIDTH - 1) as f64).round() as usize).min(CHART_WIDTH - 1)
    };
    // (label, start, end, marker) per query, then per attempt.
    let bars: Vec<(String, Duration, Option<Duration>, char)> = report
        .dns
        .iter()
        .map(|q| {
            let mark = query_marker(&q.outcome, q.ended);
            (q.query.to_string(), q.started, q.ended, mark)
        })
        .chain(report.attempts.iter().map(|a| {
            let label = format!("#{} {}", a.attempt, a.family.as_str());
            (label, a.started, a.ended, marker(a.outcome, a.ended))
        }))
        .collect();
    let label_width = bars.iter().map(|b| b.0.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (label, started, ended, mark) in &bars {
        let mut bar = vec![' '; CHART_WIDTH];
        let from = column(*started);
        let to = column(ended.unwrap_or(span));
        for cell in &mut bar[from..=to.max(from)] {
            *cell = '=';
        }
        bar[to.max(from)] = *mark;
        let bar: String = bar.into_iter().collect();
        let _ = writeln!(out, "  {label:<label_width$} |{bar}|");
    }
    let pad = " ".repeat(label_width + 4);
    let start = "0ms";
    let end = DisplayDuration(span).to_string();
    let gap = CHART_WIDTH.saturating_sub(start.len() + end.len()).max(1);
    let _ = writeln!(out, "{pad}{start}{}{end}", " ".repeat(gap));
    let _ = writeln!(
        out,
        "{pad}= waiting  * won/answered  x failed  ! timed out  ~ cancelled  > still pending"
    );
    out
}

/// `winner: #1 127.0.0.1:80 (IPv4), connected at +250ms; total 251ms`, or
/// `no winner; total 2s`.
pub fn summary(report: &RaceReport) -> String {
    match report.winning_attempt() {
        Some(w) => format!(
            "winner: #{} {} ({}), connected at +{}; total {}",
            w.attempt,
            w.endpoint,
            w.family,
            DisplayDuration(w.ended.unwrap_or_default()),
            DisplayDuration(report.elapsed)
        ),
        None => format!("no winner; total {}", DisplayDuration(report.elapsed)),
    }
}
