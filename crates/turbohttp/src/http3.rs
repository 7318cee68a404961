//! HTTP/3 over a QUIC winner (feature `http3`): [`http3_handshake`] starts h3 on a
//! [`QuicConnection`], and [`Http3Error`] says what went wrong as a sentence.

use std::fmt;

use bytes::Bytes;

use crate::dial::QuicConnection;

/// The handle that sends HTTP/3 requests on one connection (h3's `SendRequest`):
/// `send_request(request)`, then the stream's `finish`, `recv_response`, `recv_data`.
pub type Http3SendRequest = h3::client::SendRequest<h3_quinn::OpenStreams, Bytes>;

/// The HTTP/3 connection's driver (h3's `Connection`): poll it (`wait_idle`) on a
/// task of its own while requests run, as hyper's connection future.
pub type Http3Driver = h3::client::Connection<h3_quinn::Connection, Bytes>;

/// Starts HTTP/3 on `connection` (sends the client's SETTINGS): the driver to run and
/// the handle to send requests with.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use turbohttp::{ConnectParams, Connection, Http3, RawSocketTransport, TransportOptions};
///
/// let transport = RawSocketTransport::new(TransportOptions::default())?;
/// let params = ConnectParams::default().with_http3(Http3::Also);
/// let won = transport.connect_any("example.com", 443, params).await?;
/// if let Connection::Quic(quic) = won.stream {
///     let (mut driver, mut send) = turbohttp::http3_handshake(quic).await?;
///     tokio::spawn(async move { driver.wait_idle().await });
///     let request = http::Request::get("https://example.com/").body(())?;
///     let mut stream = send.send_request(request).await?;
///     stream.finish().await?;
///     let response = stream.recv_response().await?;
///     println!("{} over HTTP/3", response.status());
/// }
/// # Ok(()) }
/// ```
pub async fn http3_handshake(
    connection: QuicConnection,
) -> Result<(Http3Driver, Http3SendRequest), Http3Error> {
    h3::client::new(h3_quinn::Connection::new(connection.into_inner()))
        .await
        .map_err(Http3Error::Connection)
}

/// An HTTP/3 exchange that failed, as a sentence: the connection or one request's
/// stream.
#[derive(Debug)]
#[non_exhaustive]
pub enum Http3Error {
    /// The HTTP/3 connection failed (closed, or a protocol error).
    Connection(h3::error::ConnectionError),
    /// One request's stream failed (reset, or the connection under it).
    Stream(h3::error::StreamError),
}

impl fmt::Display for Http3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connection(e) => write!(f, "the HTTP/3 connection failed: {e}"),
            Self::Stream(e) => write!(f, "the HTTP/3 request failed: {e}"),
        }
    }
}

impl std::error::Error for Http3Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Connection(e) => Some(e),
            Self::Stream(e) => Some(e),
        }
    }
}

impl From<h3::error::ConnectionError> for Http3Error {
    fn from(error: h3::error::ConnectionError) -> Self {
        Self::Connection(error)
    }
}

impl From<h3::error::StreamError> for Http3Error {
    fn from(error: h3::error::StreamError) -> Self {
        Self::Stream(error)
    }
}
