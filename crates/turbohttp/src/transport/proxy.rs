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

use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tower_service::Service;

use super::connection::Host;
use super::connection_info::ClientStream;
use super::tls::{ALPN_H2, TlsFailurePolicy, classify_handshake_error, server_name_of};

/// A connector over a proxy connector (`Tunnel` or `SocksV5` over a
/// [`RawSocketTransport`](super::RawSocketTransport)) that, for `https` URIs, runs
/// the TLS handshake with the origin, verified for the origin's name, through the
/// tunnel. `http` URIs pass through. The [`ConnectionInfo`](super::ConnectionInfo)
/// (the race to the proxy) still reaches every response:
///
/// ```no_run
/// use bytes::Bytes;
/// use http_body_util::Empty;
/// use hyper_util::client::legacy::Client;
/// use hyper_util::client::legacy::connect::proxy::Tunnel;
/// use hyper_util::rt::TokioExecutor;
/// use turbohttp::transport::{ConnectionInfo, RawSocketTransport, TlsThroughProxy, TransportOptions};
///
/// async fn run() -> Result<(), Box<dyn std::error::Error>> {
///     let transport = RawSocketTransport::new(TransportOptions::default())?;
///     let tls = transport.tls_config().clone();
///     // The race connects to proxy.example; the proxy connects to example.com.
///     let tunnel = Tunnel::new("http://proxy.example:3128".parse()?, transport);
///     let client = Client::builder(TokioExecutor::new())
///         .build::<_, Empty<Bytes>>(TlsThroughProxy::new(tunnel, tls));
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
}

impl<C> TlsThroughProxy<C> {
    /// `inner`, with TLS to `https` origins by `tls_config` (for instance
    /// `transport.tls_config().clone()`).
    pub fn new(inner: C, tls_config: Arc<ClientConfig>) -> Self {
        Self { inner, tls_config }
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
        let connector = TlsConnector::from(Arc::clone(&self.tls_config));
        let connecting = self.inner.call(uri);
        Box::pin(async move {
            let tunnel = connecting.await.map_err(Into::into)?.into_inner();
            if !https {
                return Ok(TokioIo::new(ProxiedStream::Plain(tunnel)));
            }
            let name = Host::parse(&host)
                .ok()
                .as_ref()
                .and_then(server_name_of)
                .ok_or_else(|| {
                    let reason = format!("{host:?} is not usable as a TLS server name");
                    io::Error::new(io::ErrorKind::InvalidInput, reason)
                })?;
            let tls = connector.connect(name, tunnel).await.map_err(|e| {
                // rustls' certificate refusal as the transport's sentence.
                classify_handshake_error(e, TlsFailurePolicy::StopRace).into_io_error()
            })?;
            Ok(TokioIo::new(ProxiedStream::Tls(Box::new(tls))))
        })
    }
}

impl Connection for ProxiedStream {
    /// The race's [`ConnectionInfo`](super::ConnectionInfo); HTTP/2 when the origin
    /// chose it by ALPN (never from the proxy connection's own ALPN).
    fn connected(&self) -> Connected {
        let (inner, h2) = match self {
            Self::Plain(s) => (s, false),
            Self::Tls(s) => (
                s.get_ref().0,
                s.get_ref().1.alpn_protocol() == Some(ALPN_H2),
            ),
        };
        let connected = Connected::new().extra(inner.info().clone());
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
