//! [`TransportStream`]: the connection a [`RawSocketTransport`](crate::RawSocketTransport)
//! returns, plain TCP or TLS over TCP.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::{Connected, Connection};
use rustls::ClientConnection;
use rustls::client::EchStatus;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::tls::ALPN_H2;

/// A connected stream: plain TCP, or TLS over TCP once its handshake completed.
///
/// It reads and writes with tokio's traits; wrap it in
/// [`hyper_util::rt::TokioIo`] for hyper (the transport's `Service` does).
#[derive(Debug)]
#[non_exhaustive]
pub enum TransportStream {
    /// Plain TCP (`http`).
    Plain(TcpStream),
    /// TLS over TCP (`https`). Boxed: a TLS session is large.
    Tls(Box<TlsStream<TcpStream>>),
}

impl TransportStream {
    /// The TCP socket underneath, for its address and socket options
    /// (`socket2::SockRef::from(stream.tcp())`).
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Self::Plain(tcp) => tcp,
            Self::Tls(tls) => tls.get_ref().0,
        }
    }

    /// The TLS session, for a TLS stream.
    pub fn tls(&self) -> Option<&ClientConnection> {
        match self {
            Self::Plain(_) => None,
            Self::Tls(tls) => Some(tls.get_ref().1),
        }
    }

    /// Whether this is a TLS stream.
    pub fn is_tls(&self) -> bool {
        matches!(self, Self::Tls(_))
    }

    /// The ALPN protocol the server chose (`b"h2"`, `b"http/1.1"`), if any.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.tls().and_then(|tls| tls.alpn_protocol())
    }

    /// Whether Encrypted Client Hello was offered and whether the server accepted it
    /// (`Accepted`: the real server name never crossed the network in the clear);
    /// `None` for plain TCP.
    pub fn ech_status(&self) -> Option<EchStatus> {
        self.tls().map(ClientConnection::ech_status)
    }

    /// Whether the server chose HTTP/2 by ALPN.
    pub fn is_h2(&self) -> bool {
        self.alpn_protocol() == Some(ALPN_H2)
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp().local_addr()
    }
}

// Both variants are Unpin (TcpStream is, and the TLS stream is boxed), so plain
// `Pin::new` reaches them without projection or unsafe.
impl AsyncRead for TransportStream {
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

impl AsyncWrite for TransportStream {
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

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
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

impl Connection for TransportStream {
    /// Reports HTTP/2 when ALPN chose it, so that hyper-util's client speaks h2.
    fn connected(&self) -> Connected {
        let connected = Connected::new();
        if self.is_h2() {
            connected.negotiated_h2()
        } else {
            connected
        }
    }
}
