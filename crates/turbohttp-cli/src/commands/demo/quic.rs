//! The demo's fourth scene: HTTP/3 raced against TCP (draft-ietf-happy-happyeyeballs-v3
//! §6). One origin name, `h3.test`, served on two loopback ports, each with HTTPS
//! (HTTP/2) on TCP: on the first, HTTP/3 answers on the same UDP port; on the second,
//! the UDP port is bound and never answers, as behind a firewall that drops UDP.
//!
//! turbohttp (`get --http3`) tries QUIC first and TCP one attempt delay later: HTTP/3
//! wins where UDP is open, HTTP/2 where it is blocked, at the cost of that delay. A
//! client that speaks HTTP/3 only (prior knowledge, QUIC first with no race) waits for
//! its timeout.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::time::Instant;
use turbohttp::{
    ConnectParams, Connection, DisplayDuration, Http3, NoResolver, SocketOptions, StaticResolver,
    Transport,
};
use turbohttp_lab::h3::{H3Server, QuicBehaviour, UdpBlackHole};
use turbohttp_lab::tls::LabCa;

use super::{LAB_CONNECT_TIMEOUT, Run, happy_eyeballs_config, section};
use crate::exchange::Exchange;
use crate::exit::{self, CliError};
use crate::options::RaceConfig;
use crate::parse::{self, Url};
use crate::transport::{self, TlsSettings};
use crate::{http, http3};

/// The origin's name.
pub const H3_HOST: &str = "h3.test";

/// What HTTP/3 answers.
const H3_BODY: &str = "hello over HTTP/3\n";
/// What HTTP/2 over TCP answers.
const H2_BODY: &str = "hello over HTTP/2\n";

const OPEN_TITLE: &str = "4a. UDP open: QUIC first, TCP one attempt delay later (get --http3)";
const BLOCKED_TITLE: &str = "4b. UDP blocked: the same race";
const QUIC_ONLY_TITLE: &str =
    "4c. UDP blocked, a client that speaks HTTP/3 only (prior knowledge, no race)";

/// The scene's three fetches.
pub(super) struct Scene {
    open: (Url, Run),
    blocked: (Url, Run),
    quic_only: (Url, Run),
}

fn failed(what: &str, e: impl std::fmt::Display) -> CliError {
    CliError::new(exit::CONNECT, format!("the HTTP/3 lab cannot {what}: {e}"))
}

/// Builds the two origins and fetches from them.
pub(super) async fn run() -> Result<Scene, CliError> {
    let ca = LabCa::new().map_err(|e| failed("make its CA", e))?;
    let server = ca
        .server_config(H3_HOST, &[b"h3"])
        .map_err(|e| failed("make its certificate", e))?;
    let bind = || async {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| failed("listen on 127.0.0.1", e))
    };
    let (open, blocked) = (bind().await?, bind().await?);
    let open_addr = open.local_addr().map_err(|e| failed("listen", e))?;
    let blocked_addr = blocked.local_addr().map_err(|e| failed("listen", e))?;
    let servers = [
        tokio::spawn(http::serve_https_h2(open, server.clone(), H2_BODY)),
        tokio::spawn(http::serve_https_h2(blocked, server.clone(), H2_BODY)),
    ];
    let _h3 = H3Server::start(open_addr, server, QuicBehaviour::serve(H3_BODY))
        .map_err(|e| failed("serve HTTP/3", e))?;
    let _hole = UdpBlackHole::bind(blocked_addr).map_err(|e| failed("bind UDP", e))?;

    let resolver = StaticResolver::with_fallback(NoResolver)
        .with_override(H3_HOST, open_addr.port(), [open_addr])
        .with_override(H3_HOST, blocked_addr.port(), [blocked_addr]);
    let tls = TlsSettings {
        roots: vec![ca.root()],
        ..TlsSettings::default()
    };
    let config = happy_eyeballs_config();
    let transport = transport::build(&config, &tls, &SocketOptions::default(), resolver)?;
    let url = |addr: SocketAddr| {
        parse::url(&format!("https://{H3_HOST}:{}/", addr.port()))
            .map_err(|e| CliError::usage("demo", e))
    };
    let (open_url, blocked_url) = (url(open_addr)?, url(blocked_addr)?);
    let open = fetch(&transport, config, &open_url, Http3::Also).await;
    let blocked = fetch(&transport, config, &blocked_url, Http3::Also).await;
    // A fresh transport: the first one now remembers the blocked origin's QUIC as
    // broken, and a QUIC-only client has no such memory.
    let fresh = transport::build(
        &config,
        &tls,
        &SocketOptions::default(),
        transport.resolver().clone(),
    )?;
    let quic_only = fetch(&fresh, config, &blocked_url, Http3::Only).await;
    for server in servers {
        server.abort();
    }
    Ok(Scene {
        open: (open_url, open),
        blocked: (blocked_url.clone(), blocked),
        quic_only: (blocked_url, quic_only),
    })
}

async fn fetch(
    transport: &transport::Transport<StaticResolver<NoResolver>>,
    config: RaceConfig,
    url: &Url,
    http3: Http3,
) -> Run {
    let started = Instant::now();
    let params = ConnectParams::default().with_http3(http3);
    let result = transport
        .connect_any(&url.host.to_string(), url.port, params)
        .await;
    let (report, error, response) = match result {
        Err(error) => (error.report().clone(), Some(error), None),
        Ok(won) => {
            let quic = match &won.stream {
                Connection::Quic(quic) => Some(quic.connection().clone()),
                _ => None,
            };
            let exchange = async {
                let (response, body) = Exchange::new(won.stream, url)?.send().await?;
                let mut bytes = Vec::new();
                body.copy_to(&mut bytes).await?;
                Ok((
                    response.status(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ))
            };
            let response = exchange.await;
            if let Some(quic) = &quic {
                http3::close(quic).await;
            }
            (won.report, None, Some(response))
        }
    };
    Run {
        config,
        report,
        error,
        response,
        total: started.elapsed(),
    }
}

impl Scene {
    /// The three fetches, their timelines and the verdict.
    pub(super) fn text(&self) -> String {
        let mut text = format!(
            "\n== 4. HTTP/3 raced against TCP (Happy Eyeballs v3) ==\n\n  {host} has HTTPS \
             (HTTP/2) on TCP at two ports of 127.0.0.1; on UDP,\n    {open:<22} HTTP/3 \
             answers (quinn + h3)\n    {blocked:<22} nothing answers: UDP blocked\n",
            host = H3_HOST,
            open = format!("udp {}", self.open.0.port),
            blocked = format!("udp {}", self.blocked.0.port),
        );
        for (title, (url, run)) in [
            (OPEN_TITLE, &self.open),
            (BLOCKED_TITLE, &self.blocked),
            (QUIC_ONLY_TITLE, &self.quic_only),
        ] {
            text.push_str(&section(title, run, url));
        }
        text.push_str(&self.verdict());
        text.push('\n');
        text
    }

    fn verdict(&self) -> String {
        let (open, blocked, only) = (&self.open.1, &self.blocked.1, &self.quic_only.1);
        let quic_won = open
            .report
            .winner
            .is_some_and(|w| open.report.attempts[w].transport == Transport::Quic);
        if !open.succeeded() || !blocked.succeeded() || !quic_won {
            return "\nthe HTTP/3 lab did not behave as expected: see the errors above".to_owned();
        }
        let tcp_start = blocked
            .report
            .attempts
            .iter()
            .find(|a| a.transport == Transport::Tcp)
            .map_or(Duration::ZERO, |a| a.started);
        format!(
            "\nWith UDP open, HTTP/3 won in {}. With UDP blocked, TCP started {} after QUIC \
             and HTTP/2 answered in {}; the client that speaks HTTP/3 only {} after {}. \
             turbohttp now remembers that origin's QUIC as broken: its next connects there go \
             straight to TCP for 5 minutes.",
            DisplayDuration(open.total),
            DisplayDuration(tcp_start),
            DisplayDuration(blocked.total),
            if only.succeeded() {
                "got through"
            } else {
                "gave up"
            },
            DisplayDuration(only.total),
        )
    }

    /// `{"open", "blocked", "quic_only"}`, each a run.
    pub(super) fn json(&self) -> Value {
        json!({
            "host": H3_HOST,
            "connect_timeout_ms": crate::json::ms(LAB_CONNECT_TIMEOUT),
            "open": self.open.1.json(),
            "blocked": self.blocked.1.json(),
            "quic_only": self.quic_only.1.json(),
        })
    }

    /// turbohttp's two races must have worked; the QUIC-only client is expected to fail.
    pub(super) fn outcome(&self) -> Result<(), CliError> {
        super::outcome(&self.open.1).and_then(|()| super::outcome(&self.blocked.1))
    }
}
