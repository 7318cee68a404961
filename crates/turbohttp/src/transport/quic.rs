//! The transport's QUIC (feature `quic`): [`RawSocketTransport::connect_any`], a race
//! of QUIC and TCP whose winner is either, over endpoints and a memory of broken QUIC
//! that every connect of the transport shares.

use std::sync::{Arc, Mutex};

use rustls::ClientConfig;
use turbohttp_proto::quic::QuicMemory;

use super::RawSocketTransport;
use crate::dial::{
    Connection, EndpointDialer, QuicDialer, QuicEndpoints, SocketOptions, TlsConfigError,
    quic_client_config,
};
use crate::host::InputError;
use crate::race::{ConnectError, ConnectParams, Established, Http3};
use crate::resolve::Resolver;
use crate::scheme::Scheme;

/// What every QUIC attempt of a transport shares.
pub(super) struct QuicShared {
    endpoints: Arc<QuicEndpoints>,
    /// The transport's TLS configuration with ALPN `h3`; an error when it cannot
    /// run QUIC (TLS 1.2 only), told to a connect that asks for HTTP/3.
    config: Result<quinn::ClientConfig, TlsConfigError>,
    memory: Arc<Mutex<QuicMemory>>,
}

impl QuicShared {
    pub(super) fn new(socket: &SocketOptions, tls: &ClientConfig) -> Self {
        Self {
            endpoints: Arc::new(QuicEndpoints::new(socket.clone())),
            config: quic_client_config(tls),
            memory: Arc::new(Mutex::new(QuicMemory::default())),
        }
    }
}

impl<R> RawSocketTransport<R> {
    /// The QUIC endpoints every connect of this transport shares (bound on first use).
    pub fn quic_endpoints(&self) -> &Arc<QuicEndpoints> {
        &self.shared.quic.endpoints
    }

    /// The memory of origins whose QUIC got no answer while TCP won
    /// ([`HappyEyeballs::with_quic_memory`](crate::HappyEyeballs::with_quic_memory)).
    pub fn quic_memory(&self) -> &Arc<Mutex<QuicMemory>> {
        &self.shared.quic.memory
    }
}

impl<R: Resolver> RawSocketTransport<R> {
    /// Connects to the https origin `host:port` racing QUIC against TCP as
    /// [`ConnectParams::http3`] says (draft-ietf-happy-happyeyeballs-v3 §6): QUIC
    /// first where `h3` is advertised or asked for, TCP one attempt delay later (at
    /// once when QUIC fails fast), an origin whose QUIC got no answer while TCP won
    /// raced over TCP alone for a while ([`quic_memory`](Self::quic_memory)). The
    /// winner is a [`Connection`]: QUIC (speak HTTP/3 on it, feature `http3`) or
    /// TCP with TLS (HTTP/2 or HTTP/1.1, hyper). With [`Http3::Off`] it is
    /// [`connect_with`](Self::connect_with) for https, as a [`Connection::Tcp`].
    ///
    /// QUIC uses the transport's TLS configuration (roots, client certificate,
    /// verifier, the server name override) with ALPN `h3`, TLS 1.3, and the socket
    /// options that apply to UDP (interface, local address, buffer sizes). A
    /// certificate that does not verify ends the race as over TCP. ECH is not
    /// offered over QUIC (rustls offers it over TCP only): a QUIC endpoint of a
    /// record that requires it fails without sending anything.
    ///
    /// hyper's `Service<Uri>` cannot speak HTTP/3, so the transport's `Service`
    /// never dials QUIC; this method is the way to it.
    pub async fn connect_any(
        &self,
        host: &str,
        port: u16,
        params: ConnectParams,
    ) -> Result<Established<Connection>, ConnectError> {
        let (tcp, params) = self.prepare(host, port, Scheme::Https, params)?;
        let config = match (&self.shared.quic.config, params.http3) {
            (_, Http3::Off) => None,
            (Ok(config), _) => Some(config.clone()),
            (Err(e), Http3::Only) => {
                let reason = e.to_string();
                return Err(self.refused(host, port, InputError::Http3Unavailable { reason }));
            }
            (Err(e), _) => {
                tracing::debug!(%e, "HTTP/3 asked for, but QUIC cannot run: TCP only");
                None
            }
        };
        let Some(config) = config else {
            let won = self.connector(tcp).connect_with(host, port, params).await?;
            return Ok(won.map(Connection::Tcp));
        };
        let Some(tls) = tcp.tls() else {
            unreachable!("an https dialer has a TLS step");
        };
        let quic = QuicDialer::new(
            Arc::clone(&self.shared.quic.endpoints),
            config,
            tls.server_name(),
            self.shared.options.tls.failure_policy,
        );
        let dialer = EndpointDialer::new(tcp, quic);
        self.connector(dialer)
            .with_quic_memory(Arc::clone(self.quic_memory()))
            .connect_with(host, port, params)
            .await
    }
}
