//! The demo's third scene: a DNS server on loopback that never answers AAAA. A
//! resolver that waits for both answers, as `getaddrinfo` does, pays the DNS timeout;
//! turbohttp asks AAAA and A apart and starts on the A answer after the resolution
//! delay (RFC 8305 §3).
//!
//! `getaddrinfo` itself cannot be pointed at a server on an unprivileged port (resolv.conf
//! takes no port), so the "wait for both" side is the same DNS client joining its two
//! queries, with glibc's behaviour and a 2 s query timeout (glibc's default is 5 s).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use turbohttp::DisplayDuration;
use turbohttp::HappyEyeballsOptions;
use turbohttp::{Answers, DnsOptions, DnsResolver, Resolver};

use super::{Run, fetch, section};
use crate::exit::{self, CliError};
use crate::options::RaceConfig;
use crate::parse::{self, Url};
use turbohttp_lab::dns::{Behaviour, DnsLab, Zone};

/// The name whose AAAA query the lab's DNS server never answers.
pub const LOST_AAAA_HOST: &str = "lost-aaaa.test";

/// The DNS query timeout of both resolvers in this scene.
pub const DNS_TIMEOUT: Duration = Duration::from_secs(2);

/// The same scene without sockets.
pub const SIMULATE_HINT: &str = "the lost AAAA without sockets: turbohttp simulate \
     --endpoint '[::1]:80=ok@1ms' --endpoint 127.0.0.1:80=ok@1ms --dns-aaaa lost --dns-a answer@0ms";

const WAIT_TITLE: &str =
    "3a. a lost AAAA answer, resolved like getaddrinfo: AAAA and A together, waiting for both";
const RACE_TITLE: &str =
    "3b. the same, resolved by turbohttp: AAAA and A apart, the race starting on the first answer";

/// A resolver that asks both families and answers once both have ended, as
/// `getaddrinfo` does: the race cannot start before the slower query is over.
#[derive(Debug, Clone)]
struct WaitForBoth(DnsResolver);

impl Resolver for WaitForBoth {
    async fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        Resolver::resolve(&self.0, host, port).await
    }

    fn answers(&self, _host: &str, _port: u16) -> Answers {
        Answers::Combined
    }
}

/// Both runs of the scene.
pub(super) struct Scene {
    server: SocketAddr,
    url: Url,
    wait_for_both: Run,
    per_family: Run,
}

/// Serves `lost-aaaa.test` (A: the HTTP server's address at once, AAAA: never) on a
/// loopback DNS server and fetches `http://lost-aaaa.test:PORT/` through each resolver.
pub(super) async fn run(http_server: SocketAddr) -> Result<Scene, CliError> {
    let zone = Zone::new()
        .a(LOST_AAAA_HOST, Behaviour::answer([http_server.ip()]))
        .aaaa(LOST_AAAA_HOST, Behaviour::Silent);
    let lab = DnsLab::start(zone)
        .await
        .map_err(|e| CliError::new(exit::CONNECT, format!("cannot start the DNS lab: {e}")))?;
    let url = parse::url(&format!("http://{LOST_AAAA_HOST}:{}/", http_server.port()))
        .map_err(|e| CliError::usage("demo", e))?;
    let dns = DnsOptions::default()
        .with_timeout(DNS_TIMEOUT)
        .with_attempts(1)
        .with_cache(false);
    let resolver = DnsResolver::new(&[lab.addr()], &dns);
    let config = RaceConfig {
        options: HappyEyeballsOptions::default(),
        connect_timeout: Duration::from_secs(5),
        family: None,
        https_records: true,
    };
    let wait_for_both = fetch(config, WaitForBoth(resolver.clone()), &url).await?;
    let per_family = fetch(config, resolver, &url).await?;
    Ok(Scene {
        server: lab.addr(),
        url,
        wait_for_both,
        per_family,
    })
}

impl Scene {
    /// The two runs, their timelines and the saving.
    pub(super) fn text(&self) -> String {
        let mut text = format!(
            "\n== 3. a lost AAAA answer ==\n\n  a DNS server on {server} (what --dns-servers {server} \
             passes) answers {host}:\n    A     at once: {ip}\n    AAAA  never\n  \
             both resolvers ask it with a {timeout} query timeout\n",
            server = self.server,
            host = LOST_AAAA_HOST,
            ip = self
                .per_family
                .report
                .resolved
                .first()
                .map_or_else(|| "?".to_owned(), |a| a.ip().to_string()),
            timeout = DisplayDuration(DNS_TIMEOUT),
        );
        text.push_str(&section(WAIT_TITLE, &self.wait_for_both, &self.url));
        text.push_str(&section(RACE_TITLE, &self.per_family, &self.url));
        text.push_str(&self.verdict());
        text.push('\n');
        text
    }

    fn verdict(&self) -> String {
        let (slow, fast) = (self.wait_for_both.total, self.per_family.total);
        if !self.wait_for_both.succeeded() || !self.per_family.succeeded() {
            return "\nthe DNS lab did not behave as expected: see the errors above".to_owned();
        }
        match slow.checked_sub(fast) {
            Some(saved) if !saved.is_zero() => format!(
                "\nAsking each family apart saved {}: {} instead of {}. Waiting for both answers \
                 cost the whole DNS timeout; turbohttp took the A answer, waited the {} \
                 resolution delay for AAAA, and connected over IPv4. (glibc's defaults, a 5s \
                 timeout and 2 tries, make getaddrinfo wait longer still: curl, Python and \
                 getent took 15s when we measured.)",
                DisplayDuration(saved),
                DisplayDuration(fast),
                DisplayDuration(slow),
                DisplayDuration(self.per_family.config.options.resolution_delay),
            ),
            _ => format!(
                "\nAsking each family apart saved nothing this time ({} against {}).",
                DisplayDuration(fast),
                DisplayDuration(slow)
            ),
        }
    }

    /// `{"dns_server", "wait_for_both", "per_family", "saved_ms"}`.
    pub(super) fn json(&self) -> Value {
        let saved = self.wait_for_both.total.as_secs_f64() - self.per_family.total.as_secs_f64();
        json!({
            "dns_server": self.server.to_string(),
            "host": LOST_AAAA_HOST,
            "dns_timeout_ms": crate::json::ms(DNS_TIMEOUT),
            "wait_for_both": self.wait_for_both.json(),
            "per_family": self.per_family.json(),
            "saved_ms": saved * 1000.0,
        })
    }

    /// The scene's verdict as the command's result: turbohttp's run must have worked.
    pub(super) fn outcome(&self) -> Result<(), CliError> {
        super::outcome(&self.per_family)
    }
}
