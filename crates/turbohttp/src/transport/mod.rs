//! [`RawSocketTransport`]: the Happy Eyeballs race over real sockets, with socket
//! options and optional TLS (`mod.rs`); its options (`options.rs`); its
//! `tower_service::Service<Uri>` for hyper-util's client (`service.rs`); and the
//! [`ConnectionInfo`] that service hands hyper with each stream (`connection_info.rs`).
//!
//! "Raw socket" is the seed's name (`RawSocketTransport.cs`): a socket as the OS gives
//! it, with no pool and no HTTP on it yet; it is not a `SOCK_RAW` socket.

mod connection_info;
mod options;
#[cfg(feature = "quic")]
mod quic;
mod service;

pub use connection_info::{ClientStream, ConnectionInfo};
pub use options::{TransportOptions, TransportOptionsError};
pub use service::{Connecting, TransportError};

use std::fmt;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;

use crate::dial::{RawSocketDialer, TlsHandshake, TlsOptions, TransportStream, server_name_of};
use crate::host::{Host, InputError};
use crate::race::{ConnectError, ConnectParams, Established, HappyEyeballs};
use crate::resolve::{DefaultResolver, Resolver};
use crate::scheme::Scheme;
use turbohttp_proto::RaceReport;
use turbohttp_proto::service::Protocols;

/// An HTTP client transport: resolves a host once, races IPv6 and IPv4 (Happy
/// Eyeballs), sets socket options on every connection and runs the TLS handshake as
/// part of each attempt.
///
/// It is cheap to clone (the options and resolver are shared) and implements
/// `tower_service::Service<hyper::Uri>`, so it plugs into hyper-util's legacy client:
///
/// ```no_run
/// use bytes::Bytes;
/// use http_body_util::Empty;
/// use hyper_util::client::legacy::Client;
/// use hyper_util::rt::TokioExecutor;
/// use turbohttp::{RawSocketTransport, TransportOptions};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let transport = RawSocketTransport::new(TransportOptions::default())?;
/// let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(transport);
/// let response = client.get("https://example.com/".parse()?).await?;
/// println!("{} {:?}", response.status(), response.version());
/// # Ok(()) }
/// ```
pub struct RawSocketTransport<R = DefaultResolver> {
    shared: Arc<Shared>,
    resolver: Arc<R>,
}

struct Shared {
    options: TransportOptions,
    tls_config: Arc<ClientConfig>,
    server_name: Option<ServerName<'static>>,
    /// The TLS options again, for configurations that offer ECH (built per
    /// configuration list), when ECH can be offered.
    ech: Option<Arc<TlsOptions>>,
    /// QUIC's endpoints, client configuration and memory of broken QUIC.
    #[cfg(feature = "quic")]
    quic: quic::QuicShared,
}

impl RawSocketTransport {
    /// A transport on the [`DefaultResolver`] (DNS per family from the system
    /// configuration, its cache shared by every connect of this transport). The
    /// options are checked and the TLS configuration is built now, so that a bad
    /// option fails here, not per request.
    pub fn new(options: TransportOptions) -> Result<Self, TransportOptionsError> {
        Self::new_with_resolver(options, DefaultResolver::new())
    }
}

impl<R> RawSocketTransport<R> {
    /// A transport on `resolver` (hyper-util's `new_with_resolver`): what
    /// [`RawSocketTransport::new`] does without building the default resolver first.
    pub fn new_with_resolver(
        options: TransportOptions,
        resolver: R,
    ) -> Result<Self, TransportOptionsError> {
        // Not `options.validate()`: that builds the TLS configuration too, and building
        // it twice would scan the platform's store twice (`native_roots`).
        options.validate_except_tls()?;
        let tls_config = options.tls.client_config()?;
        let server_name = options.tls.server_name_override()?;
        let ech = options
            .tls
            .ech_usable()
            .then(|| Arc::new(options.tls.clone()));
        #[cfg(feature = "quic")]
        let quic = quic::QuicShared::new(&options.socket, &tls_config);
        Ok(Self {
            shared: Arc::new(Shared {
                options,
                tls_config,
                #[cfg(feature = "quic")]
                quic,
                server_name,
                ech,
            }),
            resolver: Arc::new(resolver),
        })
    }

    /// The same transport with another resolver, for instance a
    /// [`StaticResolver`](crate::StaticResolver) that pins
    /// addresses (curl's `--resolve`).
    pub fn with_resolver<R2>(self, resolver: R2) -> RawSocketTransport<R2> {
        RawSocketTransport {
            shared: self.shared,
            resolver: Arc::new(resolver),
        }
    }

    /// The options.
    pub fn options(&self) -> &TransportOptions {
        &self.shared.options
    }

    /// The resolver.
    pub fn resolver(&self) -> &R {
        &self.resolver
    }

    /// The rustls configuration every TLS handshake uses.
    pub fn tls_config(&self) -> &Arc<ClientConfig> {
        &self.shared.tls_config
    }

    /// The parsed [`TlsOptions::server_name`](crate::TlsOptions::server_name) override.
    pub(crate) fn server_name_override(&self) -> Option<&ServerName<'static>> {
        self.shared.server_name.as_ref()
    }

    /// The dialer a connect to `host` with `scheme` races with: the socket options,
    /// and for `https` a TLS handshake for the server name (the override, else `host`).
    pub fn dialer(&self, host: &str, scheme: Scheme) -> Result<RawSocketDialer, InputError> {
        let tls = match scheme {
            Scheme::Http => None,
            Scheme::Https => {
                let server_name = match &self.shared.server_name {
                    Some(name) => name.clone(),
                    None => {
                        let parsed = Host::parse(host)?;
                        server_name_of(&parsed).ok_or_else(|| InputError::InvalidHost {
                            host: host.to_owned(),
                            reason: "not usable as a TLS server name",
                        })?
                    }
                };
                let handshake = TlsHandshake::new(
                    Arc::clone(&self.shared.tls_config),
                    server_name,
                    self.shared.options.tls.failure_policy,
                );
                Some(match &self.shared.ech {
                    Some(options) => handshake.with_ech(Arc::clone(options)),
                    None => handshake,
                })
            }
        };
        Ok(RawSocketDialer::new(
            self.shared.options.socket.clone(),
            tls,
        ))
    }
}

impl<R: Resolver> RawSocketTransport<R> {
    /// Connects to `host:port`: resolves it, races its addresses and, for
    /// [`Scheme::Https`], completes a TLS handshake within each attempt. Returns the
    /// connection with the race's report.
    ///
    /// With no family in `params`, the transport's
    /// [`dial_family`](TransportOptions::dial_family) applies (its `family`, or the
    /// family of its only local address). A family in `params` that contradicts it is
    /// [`InputError::FamilyExcluded`] (kind `InvalidInput`), before anything is sent:
    /// the restriction is the transport's configuration, and a caller asking past it
    /// has a bug worth hearing about.
    ///
    /// The connect timeout of the options bounds the whole call. Dropping the future
    /// stops every attempt; no socket outlives the call except the winner's.
    pub async fn connect(
        &self,
        host: &str,
        port: u16,
        scheme: Scheme,
    ) -> Result<Established<TransportStream>, ConnectError> {
        self.connect_with(host, port, scheme, ConnectParams::default())
            .await
    }

    /// [`connect`](Self::connect) with a family restriction, a timeout (instead of
    /// the options' `connect_timeout`) or a cancellation token of this call's own.
    pub async fn connect_with(
        &self,
        host: &str,
        port: u16,
        scheme: Scheme,
        params: ConnectParams,
    ) -> Result<Established<TransportStream>, ConnectError> {
        let (dialer, params) = self.prepare(host, port, scheme, params)?;
        self.connector(dialer)
            .connect_with(host, port, params)
            .await
    }

    /// The dialer and the params of a connect to `host:port` with `scheme`: the
    /// family the params and the options allow (a contradiction is refused), and for
    /// https the HTTPS record asked for the TLS step's protocols.
    fn prepare(
        &self,
        host: &str,
        port: u16,
        scheme: Scheme,
        params: ConnectParams,
    ) -> Result<(RawSocketDialer, ConnectParams), ConnectError> {
        let family = match (params.family, self.shared.options.dial_family()) {
            (Some(requested), Some(allowed)) if requested != allowed => {
                let refused = InputError::FamilyExcluded { requested, allowed };
                return Err(self.refused(host, port, refused));
            }
            (requested, allowed) => requested.or(allowed),
        };
        let dialer = self
            .dialer(host, scheme)
            .map_err(|e| self.refused(host, port, e))?;
        let protocols = dialer.tls().map(TlsHandshake::protocols);
        let params = self.race_params(protocols, params.with_family(family));
        Ok((dialer, params))
    }

    /// The error of a connect to `host:port` refused before anything was sent.
    fn refused(&self, host: &str, port: u16, error: InputError) -> ConnectError {
        let preferred = self.shared.options.happy_eyeballs.preferred_family();
        ConnectError::input(error, RaceReport::new(host.to_owned(), port, preferred))
    }

    /// The connector of a race through `dialer`: the transport's options and
    /// resolver (`connect_any` adds the memory of broken QUIC). Not an async step of
    /// its own, so that a connect's future holds no second copy of the race's state.
    fn connector<D>(&self, dialer: D) -> HappyEyeballs<&R, D> {
        let options = &self.shared.options;
        // From its parts: `default()` would build (and drop) a resolver per connect.
        HappyEyeballs::from_parts(options.happy_eyeballs, &*self.resolver, dialer)
            .with_connect_timeout(options.connect_timeout)
    }

    /// `params` for a race to an https origin: it asks its HTTPS record, for the
    /// `protocols` its TLS step's ALPN list offers.
    fn race_params(&self, protocols: Option<Protocols>, params: ConnectParams) -> ConnectParams {
        match protocols {
            Some(protocols) if self.shared.options.https_records && params.services.is_none() => {
                params.with_services(protocols)
            }
            _ => params,
        }
    }
}

impl<R> Clone for RawSocketTransport<R> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            resolver: Arc::clone(&self.resolver),
        }
    }
}

impl<R> fmt::Debug for RawSocketTransport<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawSocketTransport")
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}
