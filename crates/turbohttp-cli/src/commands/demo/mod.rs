//! `turbohttp demo`: a dual-stack lab on loopback, fetched from without and with Happy
//! Eyeballs.
//!
//! The lab ([`crate::lab`]), built fresh on every run, needs no network and no
//! privileges:
//!
//! * a **black-holed IPv6 endpoint** on `[::1]`, where connects stall;
//! * a **healthy IPv4 HTTP server** on `127.0.0.1`;
//! * a resolver that answers `dual-stack.test` with the IPv6 address first, then the
//!   IPv4 one, as `getaddrinfo` orders them on a dual-stack host.
//!
//! A third scene (`lost_aaaa.rs`) puts a DNS server on loopback that never answers AAAA:
//! a resolver that waits for both answers, as `getaddrinfo` does, against turbohttp's,
//! which asks each family apart and starts on the first answer.
//!
//! A fourth (`quic.rs`) races HTTP/3 over QUIC against HTTP/2 over TCP, with UDP open
//! and with UDP blocked, beside a client that speaks HTTP/3 only.
//!
//! Last, `doctor` examines the lab's broken host: each address on its own, then the
//! race, and the finding that names IPv6 at the connect.
//!
//! Where `::1` is not available, the demo says so and runs the same races on the
//! simulated network, in virtual time.

mod lost_aaaa;
mod quic;

use std::net::{Ipv6Addr, SocketAddr};
use std::time::Duration;
use turbohttp::{ConnectParams, Http3};

use http_body_util::BodyExt;
use serde_json::{Map, Value, json};
use tokio::time::Instant;
use turbohttp::DisplayDuration;
use turbohttp::sim::Behavior;
use turbohttp::{ConnectError, HappyEyeballsOptions, SocketOptions};
use turbohttp::{NoResolver, RaceReport, Resolver, StaticResolver};

use crate::args::DemoArgs;
use crate::commands::connect::present;
use crate::commands::doctor;
use crate::commands::simulate::{SIMULATED_HOST, endpoints_json, network, network_line, simulate};
use crate::exit::{self, CliError};
use crate::lab::{Lab, LabError};
use crate::options::RaceConfig;
use crate::parse::{self, Url};
use crate::transport::{self, TlsSettings};
use crate::{http, json, output};

/// The name the lab's resolver answers.
pub const LAB_HOST: &str = "dual-stack.test";

/// The connect timeout of both runs. The sequential connector gives the stalled IPv6
/// address its budget (`max(timeout / 2, 2s)` = 2 s) before it tries IPv4.
pub const LAB_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The heading of the first run.
const SEQUENTIAL_TITLE: &str =
    "1. plain sequential connector (--no-happy-eyeballs --connect-timeout 3)";

/// The heading of the second run.
const HAPPY_EYEBALLS_TITLE: &str = "2. Happy Eyeballs (the defaults: IPv6 first, IPv4 250ms later)";

/// The heading of the last scene, the diagnosis.
const DOCTOR_TITLE: &str = "5. turbohttp doctor dual-stack.test: which part is broken \
     (--probe-timeout 1s, route probes at loopback)";

/// Each address's own limit in the doctor scene: enough to tell a stall from a slow
/// connect on loopback, short enough to keep the demo quick.
const DOCTOR_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// What the IPv4 server answers.
pub const LAB_BODY: &str = "hello from the IPv4 side of the dual-stack lab\n";

/// Runs `demo`.
pub fn run(args: &DemoArgs) -> Result<(), CliError> {
    let no_ipv6 = if args.simulated {
        None
    } else {
        let runtime = super::runtime()?;
        match runtime.block_on(loopback(args.json)) {
            Ok(()) => return Ok(()),
            Err(LabError::Failed(error)) => return Err(error),
            Err(LabError::NoBlackHole(reason)) => Some(reason),
        }
    };
    simulated(args.json, no_ipv6)
}

/// One fetch of the lab's URL.
struct Run {
    config: RaceConfig,
    report: RaceReport,
    error: Option<ConnectError>,
    /// The response's status and body, or why the exchange failed.
    response: Option<Result<(hyper::StatusCode, String), CliError>>,
    /// From the start of the connect to the end of the body.
    total: Duration,
}

impl Run {
    fn succeeded(&self) -> bool {
        matches!(self.response, Some(Ok(_)))
    }

    fn json(&self) -> Value {
        let failure = self
            .error
            .as_ref()
            .map(|e| (e.kind().as_str(), exit::sentence(e)));
        let mut object = json::race(
            &self.report,
            failure.as_ref().map(|(k, m)| (*k, m.as_str())),
        );
        object.insert("options".into(), self.config.to_json());
        object.insert("total_ms".into(), json::ms(self.total).into());
        object.insert(
            "http".into(),
            match &self.response {
                Some(Ok((status, body))) => json!({ "status": status.as_u16(), "body": body }),
                Some(Err(e)) => json!({ "error": e.message }),
                None => Value::Null,
            },
        );
        Value::Object(object)
    }
}

fn sequential_config() -> RaceConfig {
    RaceConfig {
        options: HappyEyeballsOptions::sequential(),
        connect_timeout: LAB_CONNECT_TIMEOUT,
        family: None,
        https_records: true,
    }
}

fn happy_eyeballs_config() -> RaceConfig {
    RaceConfig {
        options: HappyEyeballsOptions::default(),
        connect_timeout: LAB_CONNECT_TIMEOUT,
        family: None,
        https_records: true,
    }
}

async fn fetch<R: Resolver + 'static>(
    config: RaceConfig,
    resolver: R,
    url: &Url,
) -> Result<Run, CliError> {
    let transport = transport::build(
        &config,
        &TlsSettings::default(),
        &SocketOptions::default(),
        resolver,
    )?;
    let started = Instant::now();
    let result = transport
        .connect_with(
            &url.host.to_string(),
            url.port,
            url.scheme,
            ConnectParams::default(),
        )
        .await;
    let (report, error, response) = match result {
        Err(error) => (error.report().clone(), Some(error), None),
        Ok(won) => {
            let exchange = async {
                let request = http::request(url, false)?;
                let response = http::send(won.stream, request).await?;
                let status = response.status();
                let body = response.into_body().collect().await.map_err(|e| {
                    CliError::new(exit::HTTP, format!("receiving the body failed: {e}"))
                })?;
                let body = String::from_utf8_lossy(&body.to_bytes()).into_owned();
                Ok((status, body))
            };
            (won.report, None, Some(exchange.await))
        }
    };
    Ok(Run {
        config,
        report,
        error,
        response,
        total: started.elapsed(),
    })
}

async fn loopback(as_json: bool) -> Result<(), LabError> {
    let lab = Lab::build(LAB_BODY).await?;
    let url = parse::url(&format!("http://{LAB_HOST}:{}/", lab.v4.port()))
        .map_err(|e| LabError::Failed(CliError::usage("demo", e)))?;
    let resolver = StaticResolver::with_fallback(NoResolver).with_override(
        LAB_HOST,
        url.port,
        [lab.v6, lab.v4],
    );

    let intro = format!(
        "turbohttp demo: a dual-stack lab on loopback (no network, no root needed)\n\
         \n  {url} resolves (a built-in --resolve) to, in this order:\n    \
         {v6:<22} IPv6, black-holed: its listen queue is full, connects to it get no answer\n    \
         {v4:<22} IPv4, a healthy HTTP server\n",
        v6 = lab.v6.to_string(),
        v4 = lab.v4.to_string(),
    );
    if !as_json {
        output::stdout(&intro);
    }
    let sequential = fetch(sequential_config(), resolver.clone(), &url)
        .await
        .map_err(LabError::Failed)?;
    if !as_json {
        output::stdout(&section(SEQUENTIAL_TITLE, &sequential, &url));
    }
    let happy = fetch(happy_eyeballs_config(), resolver, &url)
        .await
        .map_err(LabError::Failed)?;
    if !as_json {
        output::stdout(&section(HAPPY_EYEBALLS_TITLE, &happy, &url));
        output::stdout(&format!("{}\n", verdict(&sequential, &happy)));
    }
    let dns_scene = lost_aaaa::run(lab.v4).await.map_err(LabError::Failed)?;
    let quic_scene = quic::run().await.map_err(LabError::Failed)?;
    // Last, the diagnosis: which part of the lab's path is broken, and what it costs.
    let (doctor_text, doctor_json, _) = doctor::on_lab(
        LAB_HOST,
        url.port,
        &[lab.v6, lab.v4],
        LAB_CONNECT_TIMEOUT,
        DOCTOR_PROBE_TIMEOUT,
    )
    .await
    .map_err(LabError::Failed)?;
    drop(lab);
    let simulate_hint = format!(
        "the same race without sockets: turbohttp simulate --endpoint '[::1]:{}=stall' \
         --endpoint 127.0.0.1:{}=ok@1ms",
        sequential
            .report
            .resolved
            .first()
            .map_or(0, SocketAddr::port),
        url.port
    );
    if as_json {
        let lab = json!({
            "mode": "loopback",
            "url": url.to_string(),
            "endpoints": [
                { "address": sequential.report.resolved.first().map(ToString::to_string), "role": "black-holed" },
                { "address": sequential.report.resolved.get(1).map(ToString::to_string), "role": "http-server" },
            ],
            "ipv6_unavailable": null,
        });
        let mut object = comparison(lab, &sequential, &happy);
        object.insert("lost_aaaa".into(), dns_scene.json());
        object.insert("http3".into(), quic_scene.json());
        object.insert("doctor".into(), doctor_json);
        output::stdout(&json::to_text(&Value::Object(object)));
    } else {
        output::stdout(&dns_scene.text());
        output::stdout(&format!(
            "\n{simulate_hint}\n{}\n",
            lost_aaaa::SIMULATE_HINT
        ));
        output::stdout(&quic_scene.text());
        output::stdout(&format!("\n== {DOCTOR_TITLE} ==\n{doctor_text}"));
    }
    outcome(&happy)
        .and_then(|()| dns_scene.outcome())
        .and_then(|()| quic_scene.outcome())
        .map_err(LabError::Failed)
}

/// The heading and the race of one run.
fn race_section(title: &str, run: &Run) -> String {
    let mut text = format!("\n== {title} ==\n");
    text.push_str(&present(
        &run.report,
        run.error.as_ref(),
        &run.config,
        false,
        None,
    ));
    text
}

/// The heading, the race and the HTTP exchange of one run.
fn section(title: &str, run: &Run, url: &Url) -> String {
    let mut text = race_section(title, run);
    match (&run.error, &run.response) {
        (Some(error), _) => text.push_str(&format!("connect failed: {error}\n")),
        (None, Some(Ok((status, body)))) => text.push_str(&format!(
            "GET {url} -> {} {:?}, {} from the start of the connect\n",
            http::status_text(*status),
            body.trim_end(),
            DisplayDuration(run.total)
        )),
        (None, Some(Err(error))) => text.push_str(&format!("GET {url} failed: {error}\n")),
        (None, None) => {}
    }
    text
}

fn verdict(sequential: &Run, happy: &Run) -> String {
    if !sequential.succeeded() || !happy.succeeded() {
        return "\nthe lab did not behave as expected: see the errors above".to_owned();
    }
    match sequential.total.checked_sub(happy.total) {
        Some(saved) if !saved.is_zero() => format!(
            "\nHappy Eyeballs saved {}: {} instead of {}. The sequential connector waited for \
             the stalled IPv6 attempt to use up its budget before it tried IPv4; Happy \
             Eyeballs started IPv4 after {} and dropped the IPv6 attempt when IPv4 won.",
            DisplayDuration(saved),
            DisplayDuration(happy.total),
            DisplayDuration(sequential.total),
            DisplayDuration(happy.config.options.family_stagger_delay),
        ),
        _ => format!(
            "\nHappy Eyeballs saved nothing this time ({} against {}).",
            DisplayDuration(happy.total),
            DisplayDuration(sequential.total)
        ),
    }
}

fn comparison(lab: Value, sequential: &Run, happy: &Run) -> Map<String, Value> {
    let saved = sequential.total.as_secs_f64() - happy.total.as_secs_f64();
    let mut object = Map::new();
    object.insert("lab".into(), lab);
    object.insert("sequential".into(), sequential.json());
    object.insert("happy_eyeballs".into(), happy.json());
    object.insert("saved_ms".into(), (saved * 1000.0).into());
    object
}

fn comparison_json(lab: Value, sequential: &Run, happy: &Run) -> String {
    json::to_text(&Value::Object(comparison(lab, sequential, happy)))
}

fn outcome(happy: &Run) -> Result<(), CliError> {
    match (&happy.error, &happy.response) {
        (Some(error), _) => Err(CliError::new(
            exit::connect_code(error, false),
            exit::sentence(error),
        )),
        (None, Some(Err(error))) => Err(error.clone()),
        _ => Ok(()),
    }
}

/// The lab on the simulated network: the same two races, in virtual time.
fn simulated(as_json: bool, no_ipv6: Option<String>) -> Result<(), CliError> {
    let endpoints: [(SocketAddr, Behavior); 2] = [
        (
            SocketAddr::from((Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 80)),
            Behavior::Stall,
        ),
        (
            SocketAddr::from(([192, 0, 2, 1], 80)),
            Behavior::Connect(Duration::from_millis(1)),
        ),
    ];
    let mut runs = Vec::new();
    for config in [sequential_config(), happy_eyeballs_config()] {
        let net = network(&endpoints, None, None, None);
        let sim = simulate(SIMULATED_HOST, 80, &net, false, Http3::Off, &config, None)?;
        runs.push(Run {
            config,
            total: sim.report.elapsed,
            report: sim.report,
            response: sim.error.is_none().then(|| {
                Ok((
                    hyper::StatusCode::OK,
                    "(simulated: no HTTP exchange)".to_owned(),
                ))
            }),
            error: sim.error,
        });
    }
    let [sequential, happy] = <[Run; 2]>::try_from(runs)
        .map_err(|_| CliError::new(exit::CONNECT, "the simulation did not run twice"))?;
    if as_json {
        let lab = json!({
            "mode": "simulated",
            "url": null,
            "endpoints": endpoints_json(&endpoints),
            "ipv6_unavailable": no_ipv6,
        });
        output::stdout(&comparison_json(lab, &sequential, &happy));
        return outcome(&happy);
    }
    let mut text = String::new();
    if let Some(reason) = &no_ipv6 {
        text.push_str(&format!(
            "turbohttp demo: {reason}.\nThe loopback lab needs a black-holed [::1] endpoint, so \
             this demo runs the same two races on the simulated network instead (virtual time, \
             no sockets, no HTTP).\n"
        ));
    } else {
        text.push_str(
            "turbohttp demo: the dual-stack lab on the simulated network (virtual time, no \
             sockets, no HTTP)\n",
        );
    }
    text.push_str(&format!("\n  {}\n", network_line(&endpoints)));
    for (title, run) in [
        (SEQUENTIAL_TITLE, &sequential),
        (HAPPY_EYEBALLS_TITLE, &happy),
    ] {
        text.push_str(&race_section(title, run));
    }
    text.push_str(&verdict(&sequential, &happy));
    text.push('\n');
    output::stdout(&text);
    outcome(&happy)
}
