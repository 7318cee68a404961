//! The transport as a `tower_service::Service<Uri>`: the connector interface of
//! hyper-util's legacy `Client`.

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::Uri;
use hyper_util::rt::TokioIo;
use tower_service::Service;

use super::RawSocketTransport;
use super::connection_info::{ClientStream, ConnectionInfo};
use crate::dial::TransportStream;
use crate::race::{ConnectError, Established};
use crate::resolve::Resolver;
use crate::scheme::Scheme;

/// Why a connect for a URI failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The URI names no host, or a scheme other than `http` and `https`.
    #[error("cannot connect to {uri}: {reason}")]
    InvalidUri {
        /// The URI.
        uri: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The connect itself failed.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The connection was made but its addresses could not be read (it closed at once).
    #[error("the connection closed before it could be used: {0}")]
    Connected(io::Error),
}

impl TransportError {
    /// The connect error, if the failure happened while connecting.
    pub fn connect_error(&self) -> Option<&ConnectError> {
        match self {
            Self::Connect(e) => Some(e),
            Self::InvalidUri { .. } | Self::Connected(_) => None,
        }
    }
}

impl From<TransportError> for io::Error {
    fn from(error: TransportError) -> Self {
        match error {
            TransportError::Connect(e) => e.into(),
            TransportError::Connected(e) => e,
            invalid => io::Error::new(io::ErrorKind::InvalidInput, invalid),
        }
    }
}

// Here rather than beside `ConnectError`: it looks through `TransportError`, which
// wraps it, and the race's module does not know the transport above it.
impl ConnectError {
    /// The `ConnectError` somewhere in `error`'s source chain: the one call that gets
    /// the race's story out of an error of hyper-util's client (which reads
    /// `client error (Connect)`), or out of any error that wraps one.
    ///
    /// ```no_run
    /// # async fn run(client: hyper_util::client::legacy::Client<turbohttp::RawSocketTransport, http_body_util::Empty<bytes::Bytes>>) {
    /// use turbohttp::ConnectError;
    /// if let Err(error) = client.get("http://example.com/".parse().unwrap()).await {
    ///     match ConnectError::find_in(&error) {
    ///         Some(connect) => eprintln!("{connect:#}"), // every query and attempt
    ///         None => eprintln!("{error}"),
    ///     }
    /// }
    /// # }
    /// ```
    pub fn find_in<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a ConnectError> {
        let mut next = Some(error);
        while let Some(error) = next {
            if let Some(found) = error.downcast_ref::<ConnectError>() {
                return Some(found);
            }
            // Transparent: its source() is the ConnectError's own source, not the error.
            if let Some(found) = error
                .downcast_ref::<crate::transport::TransportError>()
                .and_then(crate::transport::TransportError::connect_error)
            {
                return Some(found);
            }
            next = error.source();
        }
        None
    }
}

/// The future of [`RawSocketTransport`]'s `Service::call`.
pub type Connecting =
    Pin<Box<dyn Future<Output = Result<TokioIo<ClientStream>, TransportError>> + Send>>;

impl<R: Resolver> RawSocketTransport<R> {
    /// Connects to the host of `uri`: `http` without TLS, `https` with it, the port
    /// of the URI or the scheme's default (80, 443).
    pub async fn connect_uri(
        &self,
        uri: &Uri,
    ) -> Result<Established<TransportStream>, TransportError> {
        let invalid = |reason| TransportError::InvalidUri {
            uri: uri.to_string(),
            reason,
        };
        let scheme = uri
            .scheme_str()
            .ok_or_else(|| invalid("it has no scheme"))?;
        let scheme =
            Scheme::parse(scheme).ok_or_else(|| invalid("only http and https are supported"))?;
        let host = uri.host().ok_or_else(|| invalid("it names no host"))?;
        let port = uri.port_u16().unwrap_or_else(|| scheme.default_port());
        Ok(self.connect(host, port, scheme).await?)
    }
}

impl<R: Resolver + 'static> Service<Uri> for RawSocketTransport<R> {
    type Response = TokioIo<ClientStream>;
    type Error = TransportError;
    type Future = Connecting;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // No pool or limit here: every call connects on its own.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let transport = self.clone();
        Box::pin(async move {
            // hyper drops this future when it no longer needs the connection, which
            // cancels the race completely.
            let established = transport.connect_uri(&uri).await?;
            // Carried into every response's extensions by hyper-util's client.
            let info = ConnectionInfo::of(&established).map_err(TransportError::Connected)?;
            Ok(TokioIo::new(ClientStream::new(established.stream, info)))
        })
    }
}
