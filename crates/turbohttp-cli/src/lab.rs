//! The demo's dual-stack lab on loopback: a black-holed IPv6 endpoint
//! ([`turbohttp_lab::BlackHole`]) and a healthy IPv4 HTTP server. Needs no network and
//! no privileges.

use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::TcpListener;
use turbohttp_lab::BlackHole;

use crate::exit::{self, CliError};
use crate::http;

/// Why the lab could not be built.
#[derive(Debug)]
pub enum LabError {
    /// No black-holed IPv6 endpoint can be built here (the reason is given): the demo
    /// runs on the simulated network instead.
    NoBlackHole(String),
    /// Something else failed.
    Failed(CliError),
}

/// The lab: its two endpoints, alive (and the server serving) as long as this value.
#[derive(Debug)]
pub struct Lab {
    /// The black-holed IPv6 endpoint.
    pub v6: SocketAddr,
    /// The IPv4 HTTP server.
    pub v4: SocketAddr,
    _black_hole: BlackHole,
    server: tokio::task::JoinHandle<()>,
}

impl Lab {
    /// Builds the lab; its IPv4 server answers every request with `body`. Needs a
    /// tokio runtime.
    pub async fn build(body: &'static str) -> Result<Self, LabError> {
        let failed = |e: std::io::Error| {
            LabError::Failed(CliError::new(
                exit::CONNECT,
                format!("the lab cannot listen on 127.0.0.1: {e}"),
            ))
        };
        let server = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(failed)?;
        let v4 = server.local_addr().map_err(failed)?;
        let black_hole = BlackHole::new().await.map_err(LabError::NoBlackHole)?;
        Ok(Self {
            v6: black_hole.addr(),
            v4,
            _black_hole: black_hole,
            server: tokio::spawn(http::serve_text(server, body)),
        })
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.server.abort();
    }
}
