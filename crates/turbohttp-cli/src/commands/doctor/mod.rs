//! `turbohttp doctor TARGET`: probes each layer of a host's dual-stack path on its own
//! (this machine's routes, DNS per query, every address over TCP and TLS, then QUIC
//! where `h3` is advertised or `--http3` asks, the race a user gets) and says which
//! part is broken, in sentences with their evidence.
//!
//! * `evidence.rs`: what the probes found, as plain data.
//! * `probes.rs`: the IO that finds it, bounded in time and count.
//! * `findings.rs`: the pure function from the evidence to findings and a verdict.
//! * `render.rs`: the text and the `--json` object.

pub mod evidence;
pub mod findings;
pub mod probes;
pub mod render;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use turbohttp::{AddressFamily, Scheme};

use crate::args::{DoctorArgs, ResolverArgs, ResolverKind};
use crate::exit::CliError;
use crate::options::{self, RaceConfig};
use crate::transport::{self, TlsSettings};
use crate::{json, output, parse};

/// The overall bound when `--connect-timeout` is not given: a doctor should answer in
/// seconds, not in a connect's 30.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Each query's and address's own bound when `--probe-timeout` is not given.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Addresses probed per family when `--max-addresses` is not given.
pub const DEFAULT_MAX_ADDRESSES: usize = 4;

/// Runs `doctor`.
pub fn run(args: &DoctorArgs) -> Result<(), CliError> {
    let plan = plan(args)?;
    let resolver_args = ResolverArgs {
        dns_servers: args.dns_servers.clone(),
        resolver: args.resolver,
        no_https_rr: args.no_https_rr,
        ..ResolverArgs::default()
    };
    // Two resolvers: the probes' answers must not be the race's (it asks anew, so its
    // timeline shows what a user's connect sees).
    let probe_resolver = options::resolver(&args.resolve, &resolver_args)?;
    let race_resolver = options::resolver(&args.resolve, &resolver_args)?;
    for warning in options::unused_resolve_entries(&args.resolve, &plan.host, plan.port) {
        output::warning_line(&warning);
    }
    let tls = TlsSettings {
        cacert: args.cacert.clone(),
        servername: args.servername.clone(),
        ca_native: args.ca_native,
        ..TlsSettings::default()
    };
    let transport = transport::build(
        &plan.config,
        &tls,
        &turbohttp::SocketOptions::default(),
        race_resolver,
    )?;
    let runtime = super::runtime()?;
    let (evidence, report) = runtime.block_on(probes::run(&plan, &probe_resolver, &transport));
    let diagnosis = findings::diagnose(&evidence);
    let text = if args.json {
        json::to_text(&render::json(&evidence, &diagnosis, &report, &plan.config))
    } else {
        render::text(&evidence, &diagnosis, &report, &plan.config)
    };
    output::stdout(&text);
    match diagnosis.code {
        crate::exit::OK => Ok(()),
        code => Err(CliError::new(
            code,
            diagnosis
                .findings
                .first()
                .map(|f| f.message.clone())
                .unwrap_or_default(),
        )
        // The findings are printed; only the status is left to give.
        .reported()),
    }
}

/// The doctor on the demo's lab: `host:port` answered by `addrs` (a built-in
/// `--resolve`), the route probes at loopback (the lab needs no network), each address
/// given `probe_timeout`. Returns the text and the JSON object.
pub async fn on_lab(
    host: &str,
    port: u16,
    addrs: &[SocketAddr],
    connect_timeout: Duration,
    probe_timeout: Duration,
) -> Result<(String, serde_json::Value, findings::Diagnosis), CliError> {
    let config = RaceConfig {
        options: turbohttp::HappyEyeballsOptions::default(),
        connect_timeout,
        family: None,
        https_records: true,
    };
    let plan = probes::Plan {
        host: host.to_owned(),
        port,
        https: false,
        config,
        probe_timeout,
        max_per_family: DEFAULT_MAX_ADDRESSES,
        route_probes: [
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 9)),
            SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 9)),
        ],
        ask_system: false,
        http3: false,
    };
    let resolver = || {
        options::resolver_with(&[], turbohttp::DefaultResolver::system()).map(|mut r| {
            r.insert(host, port, addrs.iter().copied());
            r
        })
    };
    let transport = transport::build(
        &config,
        &TlsSettings::default(),
        &turbohttp::SocketOptions::default(),
        resolver()?,
    )?;
    let (evidence, report) = probes::run(&plan, &resolver()?, &transport).await;
    let diagnosis = findings::diagnose(&evidence);
    Ok((
        render::text(&evidence, &diagnosis, &report, &config),
        render::json(&evidence, &diagnosis, &report, &config),
        diagnosis,
    ))
}

/// Reads and checks the arguments: every mistake is a usage error (exit 2) naming its
/// argument, before anything is sent.
pub fn plan(args: &DoctorArgs) -> Result<probes::Plan, CliError> {
    let target = parse::target(&args.target, args.port.as_deref())
        .map_err(|e| CliError::usage("TARGET", format!("{e} (see turbohttp doctor --help)")))?;
    let mut race = args.race.clone();
    let mut config = {
        let given = race.connect_timeout.is_some();
        if !given {
            race.connect_timeout = Some(format!("{}ms", DEFAULT_TIMEOUT.as_millis()));
        }
        RaceConfig::from_args(&race)?
    };
    config.https_records = !args.no_https_rr;
    if let (Some(family), Some(ip)) = (config.family, target.host.ip())
        && AddressFamily::of_ip(&ip) != family
    {
        let flag = match family {
            AddressFamily::V4 => "-4",
            AddressFamily::V6 => "-6",
        };
        return Err(CliError::usage(
            flag,
            format!(
                "{ip} is an {} address, and {flag} allows {family} only",
                AddressFamily::of_ip(&ip)
            ),
        ));
    }
    if args.resolver == Some(ResolverKind::System) && args.dns_servers.is_some() {
        return Err(CliError::usage(
            "--dns-servers",
            "getaddrinfo (--resolver system) asks the system's servers only; drop one of the two",
        ));
    }
    let probe_timeout = match &args.probe_timeout {
        None => DEFAULT_PROBE_TIMEOUT,
        Some(text) => parse::timeout(text).map_err(|e| CliError::usage("--probe-timeout", e))?,
    };
    let max_per_family = match &args.max_addresses {
        None => DEFAULT_MAX_ADDRESSES,
        Some(text) => match parse::count(text) {
            Ok(0) => {
                return Err(CliError::usage(
                    "--max-addresses",
                    "0 would probe no address; give 1 or more",
                ));
            }
            Ok(n) => n,
            Err(e) => return Err(CliError::usage("--max-addresses", e)),
        },
    };
    let route_probes = [
        route_probe(
            "--route-probe-v6",
            args.route_probe_v6.as_deref(),
            probes::ROUTE_PROBE_V6,
            AddressFamily::V6,
        )?,
        route_probe(
            "--route-probe-v4",
            args.route_probe_v4.as_deref(),
            probes::ROUTE_PROBE_V4,
            AddressFamily::V4,
        )?,
    ];
    let https = args.tls || target.scheme == Some(Scheme::Https);
    if args.http3 && !https {
        return Err(CliError::usage(
            "--http3",
            "HTTP/3 runs over QUIC, which is TLS: add --tls or give an https:// target",
        ));
    }
    // getaddrinfo asks the system's servers: beside --dns-servers it would compare
    // answers from different servers (and send the name where it was not meant to go).
    let ask_system = args.dns_servers.is_none() && args.resolver != Some(ResolverKind::System);
    // Bare, as DNS and the probes take it (an IPv6 literal without brackets).
    let host = match target.host.ip() {
        Some(ip) => ip.to_string(),
        None => target.host.to_string(),
    };
    Ok(probes::Plan {
        host,
        port: target.port,
        https,
        config,
        probe_timeout,
        max_per_family,
        route_probes,
        ask_system,
        http3: args.http3,
    })
}

/// A `--route-probe-*` value: a socket address of its family.
fn route_probe(
    flag: &str,
    text: Option<&str>,
    default: SocketAddr,
    family: AddressFamily,
) -> Result<SocketAddr, CliError> {
    let Some(text) = text else {
        return Ok(default);
    };
    let addr: SocketAddr = text.parse().or_else(|_| {
        text.parse::<IpAddr>()
            .map(|ip| SocketAddr::new(ip, default.port()))
            .map_err(|_| {
                CliError::usage(
                    flag,
                    format!("{text:?} is not an address (write ADDR:PORT, [IPv6]:PORT or ADDR)"),
                )
            })
    })?;
    if AddressFamily::of(&addr) != family {
        return Err(CliError::usage(
            flag,
            format!("{addr} is not an {family} address"),
        ));
    }
    Ok(addr)
}
