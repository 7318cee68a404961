//! What a connection made by the transport knows of how it was made, carried through
//! hyper-util's pooled `Client` into every response's extensions.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::{Connected, Connection};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::dial::TransportStream;
use crate::race::Established;
use turbohttp_proto::{AttemptRecord, RaceReport};

/// How a connection was made: the addresses, the negotiated protocol, and the whole
/// race. hyper-util's `Client` hands it to every response made on the connection:
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use bytes::Bytes;
/// use http_body_util::Empty;
/// use hyper_util::client::legacy::Client;
/// use hyper_util::rt::TokioExecutor;
/// use turbohttp::{ConnectionInfo, RawSocketTransport, TransportOptions};
///
/// let transport = RawSocketTransport::new(TransportOptions::default())?;
/// let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(transport);
/// let response = client.get("http://example.com/".parse()?).await?;
/// if let Some(info) = response.extensions().get::<ConnectionInfo>() {
///     println!("{} after {:?}", info.remote_addr, info.report.elapsed);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectionInfo {
    /// The address connected to.
    pub remote_addr: SocketAddr,
    /// The local address of the connection.
    pub local_addr: SocketAddr,
    /// The protocol ALPN chose (`b"h2"`, `b"http/1.1"`), for TLS.
    pub alpn: Option<Vec<u8>>,
    /// The race that made the connection: queries, attempts, the winner.
    pub report: Arc<RaceReport>,
}

impl ConnectionInfo {
    /// The info of an established connection.
    pub fn of(established: &Established<TransportStream>) -> io::Result<Self> {
        let stream = &established.stream;
        Ok(Self {
            remote_addr: stream.peer_addr()?,
            local_addr: stream.local_addr()?,
            alpn: stream.alpn_protocol().map(<[u8]>::to_vec),
            report: Arc::new(established.report.clone()),
        })
    }

    /// The attempt that won the race.
    pub fn winning_attempt(&self) -> Option<&AttemptRecord> {
        self.report.winning_attempt()
    }
}

/// The connection the transport's `Service` gives hyper-util: a [`TransportStream`]
/// that also reports its [`ConnectionInfo`] (`Connected::extra`).
///
/// `Service::call` answers `TokioIo<ClientStream>` (hyper's IO traits over tokio's).
/// Calling the service yourself, the socket is three steps in: `inner()` (hyper-util's
/// `TokioIo`), `stream()` (this type's [`TransportStream`]), `tcp()` (tokio's
/// `TcpStream`), or `tls()` for the rustls connection:
///
/// ```
/// use tower_service::Service;
/// use turbohttp::{RawSocketTransport, TransportOptions};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let uri = format!("http://{}/", listener.local_addr()?).parse()?;
/// let mut transport = RawSocketTransport::new(TransportOptions::default())?;
/// let io = transport.call(uri).await?;
/// let tcp = io.inner().stream().tcp();
/// assert_eq!(tcp.peer_addr()?, listener.local_addr()?);
/// assert!(tcp.nodelay()?); // the transport's default socket options
/// assert!(io.inner().stream().tls().is_none());
/// println!("{}", io.inner().info().report); // the race, one line
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ClientStream {
    stream: TransportStream,
    info: ConnectionInfo,
}

impl ClientStream {
    /// A stream and what is known of it.
    pub fn new(stream: TransportStream, info: ConnectionInfo) -> Self {
        Self { stream, info }
    }

    /// The stream.
    pub fn stream(&self) -> &TransportStream {
        &self.stream
    }

    /// How it was made.
    pub fn info(&self) -> &ConnectionInfo {
        &self.info
    }

    /// The stream, without its info.
    pub fn into_stream(self) -> TransportStream {
        self.stream
    }
}

impl Connection for ClientStream {
    /// The stream's own (HTTP/2 when ALPN chose it), with the [`ConnectionInfo`].
    fn connected(&self) -> Connected {
        self.stream.connected().extra(self.info.clone())
    }
}

// TransportStream is Unpin: plain `Pin::new` reaches it.
impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
