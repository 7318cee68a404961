//! Turning the race flags into [`HappyEyeballsOptions`], a connect timeout and a
//! requested family, and `--resolve` entries into a resolver, checking everything
//! before anything is dialed.

use std::time::Duration;

use turbohttp::{AddressFamily, HappyEyeballsOptions};
use turbohttp::{DefaultResolver, DisplayDuration, DnsResolver, OptionsError, StaticResolver};

use crate::args::{Family, RaceArgs, ResolverArgs, ResolverKind};
use crate::exit::CliError;
use crate::parse;

/// The connect timeout when `--connect-timeout` is not given.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = turbohttp::DEFAULT_CONNECT_TIMEOUT;

/// Everything the race needs besides the host and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaceConfig {
    /// The pacing of the race.
    pub options: HappyEyeballsOptions,
    /// The bound on the whole connect.
    pub connect_timeout: Duration,
    /// `-4` / `-6`.
    pub family: Option<AddressFamily>,
    /// Ask the HTTPS record of an https origin (`--no-https-rr` turns it off).
    pub https_records: bool,
}

impl RaceConfig {
    /// Reads and checks the race flags. Every problem is a usage error naming its flag.
    pub fn from_args(args: &RaceArgs) -> Result<Self, CliError> {
        let defaults = HappyEyeballsOptions::default();
        let delay = |flag: &str, value: &Option<String>, default: Duration| match value {
            None => Ok(default),
            Some(text) => parse::duration(text).map_err(|e| CliError::usage(flag, e)),
        };
        let connect_timeout = match &args.connect_timeout {
            None => DEFAULT_CONNECT_TIMEOUT,
            Some(text) => {
                parse::timeout(text).map_err(|e| CliError::usage("--connect-timeout", e))?
            }
        };
        let max_concurrent_attempts = match &args.max_concurrent {
            None => defaults.max_concurrent_attempts,
            Some(text) => parse::count(text).map_err(|e| CliError::usage("--max-concurrent", e))?,
        };
        let options = HappyEyeballsOptions::default()
            .with_family_stagger_delay(delay(
                "--stagger",
                &args.stagger,
                defaults.family_stagger_delay,
            )?)
            .with_attempt_spacing_delay(delay(
                "--spacing",
                &args.spacing,
                defaults.attempt_spacing_delay,
            )?)
            .with_max_concurrent_attempts(max_concurrent_attempts)
            .with_prefer_ipv6(args.prefer != Some(Family::Ipv4))
            .with_enable(!args.no_happy_eyeballs)
            .with_resolution_delay(delay(
                "--resolution-delay",
                &args.resolution_delay,
                defaults.resolution_delay,
            )?)
            .with_first_address_family_count(match &args.first_family_count {
                None => defaults.first_address_family_count,
                Some(text) => {
                    parse::count(text).map_err(|e| CliError::usage("--first-family-count", e))?
                }
            })
            .with_follow_resolver_order(args.prefer == Some(Family::Resolver));
        options
            .validate_with_timeout(connect_timeout)
            .map_err(options_error)?;
        let family = match (args.ipv4, args.ipv6) {
            (true, _) => Some(AddressFamily::V4),
            (_, true) => Some(AddressFamily::V6),
            _ => None,
        };
        Ok(Self {
            options,
            connect_timeout,
            family,
            https_records: true,
        })
    }
}

/// The library's verdict on the options, as a usage error naming the flag.
pub fn options_error(error: OptionsError) -> CliError {
    match error {
        OptionsError::ConcurrencyTooLow { value } => CliError::usage(
            "--max-concurrent",
            format!(
                "{value} is too low: a race needs at least 2 attempts in flight \
                 (use --no-happy-eyeballs to dial one address at a time)"
            ),
        ),
        OptionsError::DelayTooShort { field, value } => CliError::usage(
            match field {
                "attempt_spacing_delay" => "--spacing",
                "resolution_delay" => "--resolution-delay",
                _ => "--stagger",
            },
            format!(
                "{} is below the 10ms minimum of RFC 8305",
                DisplayDuration(value)
            ),
        ),
        OptionsError::FirstFamilyCountZero => CliError::usage(
            "--first-family-count",
            "0 would let the other family go first; use --prefer to choose the family",
        ),
        OptionsError::FirstFamilyCountTooHigh {
            count,
            max_concurrent_attempts,
        } => CliError::usage(
            "--first-family-count",
            format!(
                "{count} needs --max-concurrent {} or more (it is {max_concurrent_attempts}): \
                 the last slot is the other family's until it starts",
                count + 1
            ),
        ),
        OptionsError::ZeroTimeout => {
            CliError::usage("--connect-timeout", "zero leaves no time to connect")
        }
        other => CliError::usage("options", other),
    }
}

/// A resolver answering the `--resolve` entries and asking `fallback` for the rest.
pub fn resolver_with<R>(entries: &[String], fallback: R) -> Result<StaticResolver<R>, CliError> {
    let mut resolver = StaticResolver::with_fallback(fallback);
    for text in entries {
        let entry = parse::resolve_entry(text).map_err(|e| CliError::usage("--resolve", e))?;
        resolver.insert(&entry.host, entry.port, entry.addrs);
    }
    Ok(resolver)
}

/// The `--resolve` entries that name `host` for another port than `port`, and none for
/// `port`: curl ignores them without a word; the command says so, naming each entry.
pub fn unused_resolve_entries(entries: &[String], host: &str, port: u16) -> Vec<String> {
    let parsed: Vec<(&String, parse::ResolveEntry)> = entries
        .iter()
        .filter_map(|text| parse::resolve_entry(text).ok().map(|e| (text, e)))
        // As the table matches: without regard to case, the name as written.
        .filter(|(_, e)| e.host.eq_ignore_ascii_case(host))
        .collect();
    if parsed.iter().any(|(_, e)| e.port == port) {
        return Vec::new();
    }
    parsed
        .iter()
        .map(|(text, e)| {
            format!(
                "--resolve {text:?} is for port {}, not {port}: it is not used, and {host} \
                 is resolved as usual",
                e.port
            )
        })
        .collect()
}

/// The DNS servers `resolver` asks, as text (`127.0.0.53:53, [::1]:53`); `None` when
/// getaddrinfo answers instead.
pub fn dns_servers_of(resolver: &StaticResolver<DefaultResolver>) -> Option<String> {
    let servers = resolver.fallback().dns_resolver()?.servers();
    Some(
        servers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// A connect whose DNS queries failed or went unanswered names the DNS servers it
/// asked, unless its words already do: the first thing an operator checks is whether
/// the right servers were asked. Nothing is added when no query failed (an IP literal,
/// a `--resolve` entry, a family absent from a good answer).
pub fn note_dns_servers(
    error: CliError,
    connect: &turbohttp::ConnectError,
    servers: Option<&str>,
) -> CliError {
    let failed_query = connect.report().dns.iter().any(|q| {
        matches!(
            q.outcome,
            turbohttp::QueryOutcome::Failed(_) | turbohttp::QueryOutcome::TimedOut
        )
    });
    match servers {
        Some(servers) if failed_query && !error.message.contains("asked ") && !error.reported => {
            let message = format!("{} (DNS servers asked: {servers})", error.message);
            CliError { message, ..error }
        }
        _ => error,
    }
}

/// The resolver of `connect` and `get`: `--resolve` entries in front of DNS per family
/// (the system's servers, or `--dns-servers`), or of getaddrinfo (`--resolver system`).
pub fn resolver(
    entries: &[String],
    args: &ResolverArgs,
) -> Result<StaticResolver<DefaultResolver>, CliError> {
    let fallback = match (args.resolver, &args.dns_servers) {
        (Some(ResolverKind::System), Some(_)) => {
            return Err(CliError::usage(
                "--dns-servers",
                "getaddrinfo (--resolver system) asks the system's servers only; drop one of the two",
            ));
        }
        (Some(ResolverKind::System), None) => DefaultResolver::system(),
        (_, Some(list)) => {
            let servers =
                parse::dns_servers(list).map_err(|e| CliError::usage("--dns-servers", e))?;
            DefaultResolver::dns(DnsResolver::with_servers(&servers))
        }
        // Asked for by name: no silent fallback to getaddrinfo.
        (Some(ResolverKind::Dns), None) => DefaultResolver::dns(
            DnsResolver::system().map_err(|e| CliError::usage("--resolver", e))?,
        ),
        (None, None) => DefaultResolver::new(),
    };
    resolver_with(entries, fallback)
}

impl RaceConfig {
    /// One line: `Happy Eyeballs: IPv6 first, stagger 250ms, spacing 125ms, 2 in flight;
    /// connect timeout 10s`.
    pub fn describe(&self) -> String {
        let o = &self.options;
        let family = match self.family {
            Some(family) => format!("; {family} only"),
            None => String::new(),
        };
        if o.enable {
            // The DNS knobs are named only when they differ from RFC 8305's defaults.
            let defaults = HappyEyeballsOptions::default();
            let mut dns = String::new();
            if o.resolution_delay != defaults.resolution_delay {
                dns.push_str(&format!(
                    ", resolution delay {}",
                    DisplayDuration(o.resolution_delay)
                ));
            }
            if o.first_address_family_count != defaults.first_address_family_count {
                dns.push_str(&format!(
                    ", {} of the first family first",
                    o.first_address_family_count
                ));
            }
            let first = if o.follow_resolver_order {
                "the resolver's first family".to_owned()
            } else {
                format!("{} first", o.preferred_family())
            };
            format!(
                "Happy Eyeballs: {first}, stagger {}, spacing {}, at most {} in flight{dns}; \
                 connect timeout {}{family}",
                DisplayDuration(o.family_stagger_delay),
                DisplayDuration(o.attempt_spacing_delay),
                o.max_concurrent_attempts,
                DisplayDuration(self.connect_timeout),
            )
        } else {
            format!(
                "sequential (no Happy Eyeballs): one address at a time in resolver order; \
                 connect timeout {}{family}",
                DisplayDuration(self.connect_timeout),
            )
        }
    }

    /// The settings, for the JSON output.
    pub fn to_json(&self) -> serde_json::Value {
        let o = &self.options;
        serde_json::json!({
            "happy_eyeballs": o.enable,
            "prefer": if o.follow_resolver_order { "resolver" } else { o.preferred_family().as_str() },
            "resolution_delay_ms": crate::json::ms(o.resolution_delay),
            "first_family_count": o.first_address_family_count,
            "stagger_ms": crate::json::ms(o.family_stagger_delay),
            "spacing_ms": crate::json::ms(o.attempt_spacing_delay),
            "max_concurrent": o.max_concurrent_attempts,
            "connect_timeout_ms": crate::json::ms(self.connect_timeout),
            "family": self.family.map(|f| f.as_str()),
        })
    }
}
