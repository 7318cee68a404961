//! `https` through a proxy. hyper-util's `Tunnel` (HTTP CONNECT) and `SocksV5` take the
//! transport as their inner connector: the race connects to the proxy, and they give
//! back that connection, now a byte pipe to the origin. [`TlsThroughProxy`] runs the
//! rustls handshake with the origin over it for `https` URIs.

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tower_service::Service;

use crate::dial::{ALPN_H2, TlsFailurePolicy, classify_handshake_error, server_name_of};
use crate::host::Host;
use crate::race::DEFAULT_CONNECT_TIMEOUT;
use crate::transport::{ClientStream, RawSocketTransport};

/// A connector over a proxy connector (`Tunnel` or `SocksV5` over a
/// [`RawSocketTransport`]) that, for `https` URIs, runs the TLS handshake with the
/// origin, verified for the origin's name, through the tunnel. `http` URIs pass
/// through. The [`ConnectionInfo`](crate::ConnectionInfo) (the race to the proxy, with
/// the ALPN the origin chose) still reaches every response.
///
/// The whole call is bounded by one deadline: the race to the proxy, the proxy's
/// answer (CONNECT reply, SOCKS reply) and the TLS handshake with the origin. The race
/// has its own connect timeout, but a proxy that accepts and stays silent, or an
/// origin that never finishes its handshake, would otherwise hang the request. Past
/// the deadline the call fails with an `io::Error` of kind `TimedOut`.
///
/// [`from_transport`](Self::from_transport) takes everything from the transport the
/// proxy connector wraps: its TLS configuration, its
/// [`server_name`](crate::TlsOptions::server_name) override and
/// [`failure_policy`](crate::TlsOptions::failure_policy), and its
/// [`connect_timeout`](crate::TransportOptions::connect_timeout) as the deadline:
///
/// ```no_run
/// use bytes::Bytes;
/// use http_body_util::Empty;
/// use hyper_util::client::legacy::Client;
/// use hyper_util::client::legacy::connect::proxy::Tunnel;
/// use hyper_util::rt::TokioExecutor;
/// use turbohttp::{ConnectionInfo, RawSocketTransport, TlsThroughProxy, TransportOptions};
///
/// async fn run() -> Result<(), Box<dyn std::error::Error>> {
///     let transport = RawSocketTransport::new(TransportOptions::default())?;
///     // The race connects to proxy.example; the proxy connects to example.com.
///     let tunnel = Tunnel::new("http://proxy.example:3128".parse()?, transport.clone());
///     let connector =
///         TlsThroughProxy::from_transport(tunnel, &transport).with_proxy_name("proxy.example:3128");
///     let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(connector);
///     let response = client.get("https://example.com/".parse()?).await?;
///     if let Some(info) = response.extensions().get::<ConnectionInfo>() {
///         println!("via the proxy at {}", info.remote_addr);
///     }
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct TlsThroughProxy<C> {
    inner: C,
    tls_config: Arc<ClientConfig>,
    server_name: Option<ServerName<'static>>,
    failure_policy: TlsFailurePolicy,
    timeout: Duration,
    proxy_name: Option<Arc<str>>,
}

impl<C> TlsThroughProxy<C> {
    /// `inner`, with TLS to `https` origins by `tls_config`, the origin's own name
    /// verified, and [`DEFAULT_CONNECT_TIMEOUT`] as the deadline of each call.
    /// [`from_transport`](Self::from_transport) takes all of it from the transport.
    pub fn new(inner: C, tls_config: Arc<ClientConfig>) -> Self {
        Self {
            inner,
            tls_config,
            server_name: None,
            failure_policy: TlsFailurePolicy::default(),
            timeout: DEFAULT_CONNECT_TIMEOUT,
            proxy_name: None,
        }
    }

    /// `inner` (a proxy connector over a clone of `transport`), set up as `transport`
    /// is: its TLS configuration, its `server_name` override (verified instead of each
    /// origin's name, as the transport does without a proxy), its `failure_policy`, and
    /// its `connect_timeout` as the deadline of the whole call.
    pub fn from_transport<R>(inner: C, transport: &RawSocketTransport<R>) -> Self {
        let options = transport.options();
        Self {
            inner,
            tls_config: Arc::clone(transport.tls_config()),
            server_name: transport.server_name_override().cloned(),
            failure_policy: options.tls.failure_policy,
            timeout: options.connect_timeout,
            proxy_name: None,
        }
    }

    /// The deadline of each call: race to the proxy, the proxy's answer and the TLS
    /// handshake with the origin together.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The name of the proxy as errors should show it (for instance its URI's
    /// authority). Without it, a timeout names the proxy by address once the tunnel is
    /// up, else only as "the proxy": the inner connector does not say where it goes.
    #[must_use]
    pub fn with_proxy_name(mut self, name: impl Into<String>) -> Self {
        self.proxy_name = Some(name.into().into());
        self
    }

    /// The deadline of each call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// The connection [`TlsThroughProxy`] gives hyper-util: the connection to the
/// proxy, with TLS to the origin on top for `https`.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProxiedStream {
    /// Plain HTTP to the origin through the tunnel.
    Plain(ClientStream),
    /// TLS to the origin through the tunnel.
    Tls(Box<TlsStream<ClientStream>>),
}

impl<C> Service<Uri> for TlsThroughProxy<C>
where
    C: Service<Uri, Response = TokioIo<ClientStream>>,
    C::Future: Send + 'static,
    C::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    type Response = TokioIo<ProxiedStream>;
    /// The inner connector's error as it is (so that
    /// [`ConnectError::find_in`](crate::ConnectError::find_in) still looks through a
    /// `Tunnel`'s), or the handshake's `io::Error`.
    type Error = Box<dyn StdError + Send + Sync>;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let https = uri.scheme_str() == Some("https");
        let host = uri.host().unwrap_or_default().to_owned();
        let origin = format!(
            "{host}:{}",
            uri.port_u16().unwrap_or(if https { 443 } else { 80 })
        );
        let connector = TlsConnector::from(Arc::clone(&self.tls_config));
        let server_name = self.server_name.clone();
        let policy = self.failure_policy;
        let timeout = self.timeout;
        let proxy_name = self.proxy_name.clone();
        let connecting = self.inner.call(uri);
        Box::pin(async move {
            // Where the proxy is, once the tunnel is up: for the timeout's sentence.
            let mut proxy_addr = None;
            let steps = async {
                let tunnel = connecting.await.map_err(Into::into)?.into_inner();
                proxy_addr = Some(tunnel.info().remote_addr);
                if !https {
                    return Ok(ProxiedStream::Plain(tunnel));
                }
                let name = match server_name {
                    Some(name) => name,
                    None => Host::parse(&host)
                        .ok()
                        .as_ref()
                        .and_then(server_name_of)
                        .ok_or_else(|| {
                            let reason = format!("{host:?} is not usable as a TLS server name");
                            io::Error::new(io::ErrorKind::InvalidInput, reason)
                        })?,
                };
                // One connection to the origin: under either policy a certificate
                // refusal ends the call, as the transport's sentence.
                let tls = connector
                    .connect(name, tunnel)
                    .await
                    .map_err(|e| classify_handshake_error(e, policy).into_io_error())?;
                Ok(ProxiedStream::Tls(Box::new(tls)))
            };
            match tokio::time::timeout(timeout, steps).await {
                Ok(stream) => stream.map(TokioIo::new),
                Err(_) => {
                    let proxy = match (proxy_name, proxy_addr) {
                        (Some(name), _) => format!("the proxy {name}"),
                        (None, Some(addr)) => format!("the proxy at {addr}"),
                        (None, None) => "the proxy".to_owned(),
                    };
                    let step = if proxy_addr.is_some() {
                        "the TLS handshake with the origin did not finish"
                    } else {
                        "the proxy did not answer (or could not be reached)"
                    };
                    let reason = format!(
                        "connecting to {origin} through {proxy} took longer than the connect \
                         timeout ({timeout:?}): {step}; check the proxy, or raise the timeout \
                         (TransportOptions::connect_timeout, TlsThroughProxy::with_timeout)"
                    );
                    Err(io::Error::new(io::ErrorKind::TimedOut, reason).into())
                }
            }
        })
    }
}

impl Connection for ProxiedStream {
    /// The race's [`ConnectionInfo`](crate::ConnectionInfo), its `alpn` the origin's
    /// (`None` for plain HTTP); HTTP/2 when the origin chose it by ALPN (never from
    /// the proxy connection's own ALPN).
    fn connected(&self) -> Connected {
        let (inner, h2) = match self {
            Self::Plain(s) => (s, false),
            Self::Tls(s) => (
                s.get_ref().0,
                s.get_ref().1.alpn_protocol() == Some(ALPN_H2),
            ),
        };
        let mut info = inner.info().clone();
        // The proxy connection has no ALPN of its own; what counts is the origin's.
        info.alpn = match self {
            Self::Plain(_) => None,
            Self::Tls(s) => s.get_ref().1.alpn_protocol().map(<[u8]>::to_vec),
        };
        let connected = Connected::new().extra(info);
        if h2 {
            connected.negotiated_h2()
        } else {
            connected
        }
    }
}

// Both variants are Unpin: plain `Pin::new` reaches them.
impl AsyncRead for ProxiedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ProxiedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
