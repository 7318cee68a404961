//! `turbohttp simulate --endpoint ADDR=BEHAVIOUR ...`: the real race on simulated
//! endpoints, in virtual time. Two runs with the same arguments print the same bytes.

use std::net::SocketAddr;
use std::time::Duration;
use turbohttp::ConnectParams;

use tokio_util::sync::CancellationToken;
use turbohttp::ConnectError;
use turbohttp::DisplayDuration;
use turbohttp::HappyEyeballs;
use turbohttp::Http3;
use turbohttp::Protocols;
use turbohttp::RaceReport;
use turbohttp::sim::{Behavior, DnsBehavior, HttpsBehavior, SimNetwork, SimStats};

use crate::args::SimulateArgs;
use crate::commands::connect::{finish, is_usage_error, present};
use crate::exit::CliError;
use crate::options::RaceConfig;
use crate::{output, parse};

/// The name the simulated network answers for.
pub const SIMULATED_HOST: &str = "simulated.test";

/// What a simulated race left behind.
#[derive(Debug)]
pub struct SimRun {
    /// The race's report.
    pub report: RaceReport,
    /// Why it failed, if it did.
    pub error: Option<ConnectError>,
    /// The network's socket counters, after the winner (if any) was closed.
    pub stats: SimStats,
}

/// Runs `simulate`.
pub fn run(args: &SimulateArgs) -> Result<(), CliError> {
    let (host, port, endpoints) = match &args.target {
        // The name of the simulated network, at the first endpoint's port.
        None => {
            let endpoints = endpoints(&args.endpoint, 443)?;
            let port = endpoints.first().map_or(443, |(addr, _)| addr.port());
            (SIMULATED_HOST.to_owned(), port, endpoints)
        }
        Some(first) => {
            let target = parse::target(first, args.port.as_deref()).map_err(|e| {
                CliError::usage("TARGET", format!("{e} (see turbohttp simulate --help)"))
            })?;
            let endpoints = endpoints(&args.endpoint, target.port)?;
            (target.host.to_string(), target.port, endpoints)
        }
    };
    let config = RaceConfig::from_args(&args.race)?;
    let cancel_after = args
        .cancel_after
        .as_deref()
        .map(parse::duration)
        .transpose()
        .map_err(|e| CliError::usage("--cancel-after", e))?;
    let dns = dns_behaviours(args)?;
    let https = https_behaviour(args)?;
    let quic_endpoints = quic_endpoints(args, port)?;
    let http3 = if args.http3 {
        Http3::Also
    } else if args.http3_only {
        Http3::Only
    } else {
        Http3::Advertised
    };
    let net = network(&endpoints, dns, https.as_ref(), quic_endpoints.as_deref());
    let run = simulate(
        &host,
        port,
        &net,
        https.is_some(),
        http3,
        &config,
        cancel_after,
    )?;
    if is_usage_error(run.error.as_ref()) {
        return finish(run.error.as_ref(), false, args.json);
    }

    let mut extra = serde_json::Map::new();
    extra.insert("endpoints".into(), endpoints_json(&endpoints));
    if let Some(quic) = &quic_endpoints {
        extra.insert("quic_endpoints".into(), endpoints_json(quic));
    }
    if let Some((aaaa, a)) = dns {
        let mut behaviour = serde_json::json!({ "AAAA": aaaa.to_string(), "A": a.to_string() });
        if let Some(https) = &https {
            behaviour["HTTPS"] = https.to_string().into();
        }
        extra.insert("dns_behaviour".into(), behaviour);
    }
    extra.insert(
        "sockets".into(),
        serde_json::json!({
            "opened": run.stats.opened,
            "closed": run.stats.closed,
            "open": run.stats.open,
            "peak_open": run.stats.peak_open,
        }),
    );
    if let Some(after) = cancel_after {
        extra.insert("cancel_after_ms".into(), crate::json::ms(after).into());
    }
    let mut text = String::new();
    if !args.json {
        text.push_str(&network_line(&endpoints));
        text.push('\n');
        if let Some(quic) = &quic_endpoints {
            text.push_str(&quic_line(quic));
            text.push('\n');
        }
        if let Some((aaaa, a)) = dns {
            let https = https
                .as_ref()
                .map_or_else(String::new, |h| format!("HTTPS {h}, "));
            text.push_str(&format!(
                "simulated DNS: {https}AAAA {aaaa}, A {a} (asked separately)\n"
            ));
        }
        if let Some(after) = cancel_after {
            text.push_str(&format!(
                "cancelled by the caller at +{}\n",
                DisplayDuration(after)
            ));
        }
    }
    text.push_str(&present(
        &run.report,
        run.error.as_ref(),
        &config,
        args.json,
        Some(extra),
    ));
    if !args.json {
        text.push_str(&sockets_line(&run.stats));
        text.push('\n');
    }
    output::stdout(&text);
    finish(run.error.as_ref(), false, args.json)
}

/// The `--endpoint` values, a bare IP at `port`; an address given twice is refused
/// (the second would silently replace the first).
pub fn endpoints(texts: &[String], port: u16) -> Result<Vec<(SocketAddr, Behavior)>, CliError> {
    let mut endpoints: Vec<(SocketAddr, Behavior)> = Vec::with_capacity(texts.len());
    for text in texts {
        let (addr, behavior) =
            parse::endpoint_at(text, port).map_err(|e| CliError::usage("--endpoint", e))?;
        if let Some((_, first)) = endpoints.iter().find(|(a, _)| *a == addr) {
            return Err(CliError::usage(
                "--endpoint",
                format!(
                    "{text:?}: {addr} is already simulated ({addr}={first}); give each \
                     address once"
                ),
            ));
        }
        endpoints.push((addr, behavior));
    }
    Ok(endpoints)
}

/// `--quic` (and `--http3`, `--http3-only`): the network speaks QUIC, each `--quic`
/// address as given, any other with no answer (UDP blocked). `None` without them.
pub fn quic_endpoints(
    args: &SimulateArgs,
    port: u16,
) -> Result<Option<Vec<(SocketAddr, Behavior)>>, CliError> {
    if args.quic.is_empty() && !args.http3 && !args.http3_only {
        return Ok(None);
    }
    endpoints(&args.quic, port)
        .map(Some)
        .map_err(|e| CliError::usage("--quic", e.message))
}

/// `simulated QUIC: [2001:db8::1]:443 ok@5ms; any other address: no answer`
pub fn quic_line(quic: &[(SocketAddr, Behavior)]) -> String {
    let list = quic
        .iter()
        .map(|(addr, behavior)| format!("{addr} {behavior}"))
        .collect::<Vec<_>>();
    if list.is_empty() {
        "simulated QUIC: no answer from any address (UDP blocked)".to_owned()
    } else {
        format!(
            "simulated QUIC: {}; any other address: no answer",
            list.join(", ")
        )
    }
}

/// `--dns-aaaa` and `--dns-a`: `None` when neither is given (every address known at
/// once), else both, the one not given answering at once.
pub fn dns_behaviours(args: &SimulateArgs) -> Result<Option<(DnsBehavior, DnsBehavior)>, CliError> {
    let parse = |flag: &str, text: &Option<String>| {
        text.as_deref()
            .map(|t| {
                if t.contains("@-") {
                    return Err(CliError::usage(
                        flag,
                        format!("{t:?}: the duration is negative"),
                    ));
                }
                t.parse::<DnsBehavior>()
                    .map_err(|e| CliError::usage(flag, e))
            })
            .transpose()
    };
    let aaaa = parse("--dns-aaaa", &args.dns_aaaa)?;
    let a = parse("--dns-a", &args.dns_a)?;
    let at_once = DnsBehavior::Answer(Duration::ZERO);
    Ok(match (aaaa, a) {
        // An HTTPS record is asked only with AAAA and A apart.
        (None, None) if args.dns_https.is_none() => None,
        (aaaa, a) => Some((aaaa.unwrap_or(at_once), a.unwrap_or(at_once))),
    })
}

/// `--dns-https`, if given.
pub fn https_behaviour(args: &SimulateArgs) -> Result<Option<HttpsBehavior>, CliError> {
    let Some(text) = args.dns_https.as_deref() else {
        return Ok(None);
    };
    if text.contains("@-") {
        let why = format!("{text:?}: the duration is negative");
        return Err(CliError::usage("--dns-https", why));
    }
    text.parse()
        .map(Some)
        .map_err(|e| CliError::usage("--dns-https", e))
}

/// `simulated network: [2001:db8::1]:443 stall, 192.0.2.1:443 ok@20ms`
pub fn network_line(endpoints: &[(SocketAddr, Behavior)]) -> String {
    let list = endpoints
        .iter()
        .map(|(addr, behavior)| format!("{addr} {behavior}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("simulated network (virtual time): {list}")
}

/// `[{"address": "192.0.2.1:443", "behaviour": "ok@20ms"}, ...]`
pub fn endpoints_json(endpoints: &[(SocketAddr, Behavior)]) -> serde_json::Value {
    endpoints
        .iter()
        .map(|(addr, behavior)| {
            serde_json::json!({ "address": addr.to_string(), "behaviour": behavior.to_string() })
        })
        .collect()
}

/// `sockets: 2 opened, 2 closed, at most 2 open at once`
pub fn sockets_line(stats: &SimStats) -> String {
    format!(
        "sockets: {} opened, {} closed, at most {} open at once",
        stats.opened, stats.closed, stats.peak_open
    )
}

/// The simulated network of `endpoints` (in resolver order): `dns` says how AAAA and A
/// are answered, if separately; `https` the HTTPS record; `quic` how QUIC to each
/// address behaves, when the network speaks QUIC.
pub fn network(
    endpoints: &[(SocketAddr, Behavior)],
    dns: Option<(DnsBehavior, DnsBehavior)>,
    https: Option<&HttpsBehavior>,
    quic: Option<&[(SocketAddr, Behavior)]>,
) -> SimNetwork {
    let mut net = SimNetwork::new(endpoints.iter().copied());
    if let Some((aaaa, a)) = dns {
        net = net.with_dns(aaaa, a);
    }
    if let Some(https) = https {
        net = net.with_https(https.clone());
    }
    if let Some(quic) = quic {
        net = net.with_quic(quic.iter().copied());
    }
    net
}

/// Runs the race on `net` ([`network`]) in virtual time: a current-thread runtime
/// whose clock is paused, so that only the simulated delays move it. `https`: the
/// origin is an https one (its HTTPS record is asked); `http3`: where QUIC is raced.
/// `cancel_after` cancels the race that long after it starts.
pub fn simulate(
    host: &str,
    port: u16,
    net: &SimNetwork,
    https: bool,
    http3: Http3,
    config: &RaceConfig,
    cancel_after: Option<Duration>,
) -> Result<SimRun, CliError> {
    let runtime = super::build_runtime(
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true),
    )?;
    let connector = HappyEyeballs::from_parts(config.options, net.clone(), net.clone());
    Ok(runtime.block_on(async {
        let cancel = CancellationToken::new();
        if let Some(after) = cancel_after {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                cancel.cancel();
            });
        }
        let mut params = ConnectParams::default()
            .with_family(config.family)
            .with_timeout(config.connect_timeout)
            .with_cancel(cancel.clone())
            .with_http3(http3);
        if https {
            // The simulated origin is an https one, for a caller of h2 and http/1.1.
            // A fixed seed: two runs with the same arguments print the same bytes.
            params = params.with_services(Protocols::TCP).with_shuffle_seed(0);
        }
        let result = connector.connect_with(host, port, params).await;
        let (report, error) = match result {
            Ok(won) => (won.report, None),
            Err(error) => (error.report().clone(), Some(error)),
        };
        SimRun {
            report,
            error,
            stats: net.stats(),
        }
    }))
}
