//! `turbohttp connect TARGET`: run the race, print every attempt.

use turbohttp::ConnectParams;
use turbohttp::{AttemptOutcome, DisplayDuration, MIN_ATTEMPT_BUDGET, RaceReport};
use turbohttp::{ConnectError, Connection, EchStatus, Scheme, TransportStream};

use crate::args::ConnectArgs;
use crate::exit::{self, CliError};
use crate::options::{self, RaceConfig};
use crate::transport::{self, TlsSettings};
use crate::{alt_svc, json, output, parse, timeline};

/// Runs `connect`.
pub fn run(args: &ConnectArgs) -> Result<(), CliError> {
    let target = parse::target(&args.target, args.port.as_deref())
        .map_err(|e| CliError::usage("TARGET", format!("{e} (see turbohttp connect --help)")))?;
    let (host, port) = (target.host, target.port);
    let mut config = RaceConfig::from_args(&args.race)?;
    config.https_records = !args.resolver.no_https_rr;
    let resolver = options::resolver(&args.resolve, &args.resolver)?;
    for warning in options::unused_resolve_entries(&args.resolve, &host.to_string(), port) {
        output::warning_line(&warning);
    }
    let tls = TlsSettings {
        cacert: args.tls.cacert.clone(),
        servername: args.tls.servername.clone(),
        alpn: args.versions.tcp_alpn(),
        ca_native: args.tls.ca_native,
        cert: args.tls.cert.clone(),
        key: args.tls.key.clone(),
        min_version: transport::min_version(args.tls.tlsv1_2, args.tls.tlsv1_3),
        no_ech: args.resolver.no_ech,
        roots: Vec::new(),
    };
    let socket = transport::socket_options(&args.socket)?;
    let dns_servers = options::dns_servers_of(&resolver);
    let transport = transport::build(&config, &tls, &socket, resolver)?;
    let scheme = if args.tls.tls || target.scheme == Some(Scheme::Https) {
        Scheme::Https
    } else {
        Scheme::Http
    };
    if let (Some(flag), Scheme::Http) = (args.versions.quic_flag(), scheme) {
        return Err(CliError::usage(
            flag,
            "HTTP/3 runs over QUIC, which is TLS: add --tls or give an https:// target",
        ));
    }
    let runtime = super::runtime()?;
    let host = host.to_string();
    let alternatives = alternatives(args.resolver.alt_svc.as_deref(), &host, port)?.1;
    let params = ConnectParams::default()
        .with_family(config.family)
        .with_alt_svc(alternatives)
        .with_http3(args.versions.http3());
    let result = runtime.block_on(async {
        let result = match scheme {
            Scheme::Https => transport.connect_any(&host, port, params).await,
            _ => transport
                .connect_with(&host, port, scheme, params)
                .await
                .map(|won| won.map(Connection::Tcp)),
        };
        // The race is all `connect` wanted: close a QUIC winner while the runtime
        // still runs, so that its CONNECTION_CLOSE is sent before the command exits.
        if let Ok(won) = &result
            && let Connection::Quic(quic) = &won.stream
        {
            crate::http3::close(quic.connection()).await;
        }
        result
    });
    let (report, tls, local, error) = match result {
        Ok(won) => match &won.stream {
            Connection::Tcp(stream) => {
                let local = stream.local_addr().ok();
                (won.report, tls_summary(stream), local, None)
            }
            Connection::Quic(quic) => {
                let family = turbohttp::AddressFamily::of(&quic.peer_addr());
                let local = transport.quic_endpoints().local_addr(family);
                (won.report, Some(TlsSummary::quic()), local, None)
            }
            _ => (won.report, None, None, None),
        },
        Err(error) => (error.report().clone(), None, None, Some(error)),
    };
    let mut extra = serde_json::Map::new();
    if let Some(local) = local {
        // Where the connection left from: what --interface chose, or the OS.
        extra.insert("local_address".into(), local.to_string().into());
    }
    if let Some(tls) = &tls {
        extra.insert("tls".into(), tls.to_json());
    }
    let mut text = present(&report, error.as_ref(), &config, args.json, Some(extra));
    if let (Some(tls), false) = (&tls, args.json) {
        text.push_str(&tls.line());
    }
    output::stdout(&text);
    finish(error.as_ref(), scheme == Scheme::Https, args.json).map_err(|e| match &error {
        Some(connect) => options::note_dns_servers(e, connect, dns_servers.as_deref()),
        None => e,
    })
}

/// `--alt-svc FILE`: the cache (empty without the flag) and its live alternatives for
/// `host:port`; lines it cannot read are skipped with a warning.
pub fn alternatives(
    file: Option<&std::path::Path>,
    host: &str,
    port: u16,
) -> Result<(alt_svc::Cache, Vec<turbohttp::AltService>), CliError> {
    let Some(path) = file else {
        return Ok(Default::default());
    };
    let (cache, warnings) =
        alt_svc::Cache::load(path).map_err(|e| CliError::usage("--alt-svc", e))?;
    for warning in warnings {
        output::warning_line(&warning);
    }
    let live = cache.alternatives_for(host, port, alt_svc::now());
    Ok((cache, live))
}

/// The TLS version and the ALPN protocol a TLS stream negotiated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSummary {
    /// The protocol version, as rustls names it (`TLSv1_3`).
    pub version: String,
    /// The ALPN protocol, if one was agreed.
    pub alpn: Option<String>,
    /// Whether Encrypted Client Hello was offered and accepted: `accepted` (or
    /// `not offered`, `rejected`, ...).
    pub ech: String,
}

impl TlsSummary {
    /// A QUIC connection's: TLS 1.3 (QUIC's own), ALPN `h3`, no ECH (not offered over
    /// QUIC).
    pub fn quic() -> Self {
        Self {
            version: "TLSv1_3".into(),
            alpn: Some("h3".into()),
            ech: "not offered".into(),
        }
    }

    /// `tls: TLSv1_3, ALPN h2`, with its newline; `, ECH accepted` when ECH was
    /// offered.
    pub fn line(&self) -> String {
        let ech = match self.ech.as_str() {
            "not offered" => String::new(),
            other => format!(", ECH {other}"),
        };
        format!(
            "tls: {}, ALPN {}{ech}\n",
            self.version,
            self.alpn.as_deref().unwrap_or("none")
        )
    }

    /// `{"version": ..., "alpn": ..., "ech": ...}`, for the JSON output.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "version": self.version, "alpn": self.alpn, "ech": self.ech })
    }
}

/// The TLS version and the ALPN protocol of a TLS stream; `None` for plain TCP.
pub fn tls_summary(stream: &TransportStream) -> Option<TlsSummary> {
    let tls = stream.tls()?;
    let version = tls
        .protocol_version()
        .map_or_else(|| "unknown".to_owned(), |v| format!("{v:?}"));
    let alpn = stream
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let ech = match tls.ech_status() {
        EchStatus::NotOffered => "not offered",
        EchStatus::Grease => "grease",
        EchStatus::Offered => "offered",
        EchStatus::Accepted => "accepted",
        EchStatus::Rejected => "rejected",
    };
    Some(TlsSummary {
        version,
        alpn,
        ech: ech.to_owned(),
    })
}

/// The text to print for a race: the JSON object (with `extra` members merged in), or
/// the settings line and the timeline. A race that failed before any query or attempt
/// (an IP literal of the wrong family) prints no timeline in text mode: the error line
/// says it all.
pub fn present(
    report: &RaceReport,
    error: Option<&ConnectError>,
    config: &RaceConfig,
    as_json: bool,
    extra: Option<serde_json::Map<String, serde_json::Value>>,
) -> String {
    if is_usage_error(error) {
        // Reported as one line, like every other usage error.
        return String::new();
    }
    if as_json {
        let message = error.map(|e| exit::sentence(e));
        let failure = error.map(|e| e.kind().as_str()).zip(message.as_deref());
        let mut object = json::race(report, failure);
        object.insert("options".into(), config.to_json());
        if let Some(extra) = extra {
            object.extend(extra);
        }
        return json::to_text(&serde_json::Value::Object(object));
    }
    if error.is_some() && report.attempts.is_empty() && report.dns.is_empty() {
        return String::new();
    }
    let mut text = format!("{}\n{}", config.describe(), timeline::render(report));
    if let Some(legend) = budget_legend(report, config) {
        text.push_str(&legend);
    }
    text
}

/// Where an attempt ran out of its budget, the rule that set the budget, in words and
/// with this race's numbers, so that a 2s budget out of a 3s timeout is not a riddle.
pub fn budget_legend(report: &RaceReport, config: &RaceConfig) -> Option<String> {
    let attempt = report.attempts.iter().find(|a| {
        a.outcome == AttemptOutcome::TimedOut
            && a.failure
                .as_ref()
                .is_some_and(|f| f.message().contains("budget"))
    })?;
    let remaining = config.connect_timeout.saturating_sub(attempt.started);
    let left = report.resolved.len().saturating_sub(attempt.attempt).max(1);
    // The plan races only when both families are there; one family goes one at a time.
    let at_once = if config.options.enable && timeline::families_resolved(report) == (true, true) {
        config.options.max_concurrent_attempts
    } else {
        1
    };
    let rounds = left.div_ceil(at_once).max(1);
    let share = remaining / u32::try_from(rounds).unwrap_or(u32::MAX);
    let floor = MIN_ATTEMPT_BUDGET.min(remaining);
    let ms = DisplayDuration;
    let (how, budget) = if share >= floor {
        (format!("{} each", ms(share)), share)
    } else {
        (
            format!("{} each, raised to the {} floor", ms(share), ms(floor)),
            floor,
        )
    };
    Some(format!(
        "budget: an attempt may wait for the time left, shared among the rounds of \
         attempts still to run, but at least {} unless less is left. #{} started with {} \
         left for {left} address{}, {at_once} at a time: {how}, so {}.\n",
        ms(MIN_ATTEMPT_BUDGET),
        attempt.attempt,
        ms(remaining),
        if left == 1 { "" } else { "es" },
        ms(budget),
    ))
}

/// Whether the connect failed on its input (options the library could only check once
/// it saw the addresses): a usage error, with no race to show.
pub fn is_usage_error(error: Option<&ConnectError>) -> bool {
    error.is_some_and(|e| e.kind() == turbohttp::ConnectErrorKind::InvalidInput)
}

/// The command's result after the race was printed: `Ok` for a winner, else the error
/// with its exit code (already reported when the JSON object carried it).
pub fn finish(error: Option<&ConnectError>, tls: bool, as_json: bool) -> Result<(), CliError> {
    match error {
        None => Ok(()),
        // Options the library could only check once it saw both families resolved.
        Some(error) if error.options_error().is_some() => Err(error
            .options_error()
            .cloned()
            .map_or_else(|| CliError::usage("options", error), options::options_error)),
        Some(error) => {
            let failure = CliError::new(exit::connect_code(error, tls), exit::sentence(error));
            Err(if as_json && !is_usage_error(Some(error)) {
                failure.reported()
            } else {
                failure
            })
        }
    }
}
