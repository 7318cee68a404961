//! One GET over the winner of a race: HTTP/1.1 or HTTP/2 with hyper over TCP
//! (`http.rs`), HTTP/3 with h3 over QUIC (`http3.rs`), behind one face for `get` and
//! the demo.

use bytes::Bytes;
use http_body_util::Empty;
use turbohttp::{Connection, QuicConnection, TransportStream};

use crate::exit::{self, CliError};
use crate::parse::Url;
use crate::{http, http3};

/// The GET to send: HTTP/1.1 or HTTP/2 with hyper over TCP, HTTP/3 over QUIC.
pub enum Exchange {
    /// HTTP/1.1 or HTTP/2 (by ALPN) over TCP.
    Hyper(TransportStream, hyper::Request<Empty<Bytes>>),
    /// HTTP/3 over QUIC.
    Http3(QuicConnection, hyper::Request<()>),
}

/// A response's body still to come.
pub enum Body {
    /// hyper's.
    Hyper(hyper::body::Incoming),
    /// h3's (boxed: the stream and its connection are large).
    Http3(Box<http3::Body>),
}

impl Exchange {
    /// The GET of `url` over the race's winner.
    pub fn new(connection: Connection, url: &Url) -> Result<Self, CliError> {
        match connection {
            Connection::Quic(quic) => Ok(Self::Http3(quic, http3::request(url)?)),
            Connection::Tcp(stream) => {
                let request = http::request(url, stream.is_h2())?;
                Ok(Self::Hyper(stream, request))
            }
            _ => Err(CliError::new(
                exit::CONNECT,
                "the race yielded neither TCP nor QUIC",
            )),
        }
    }

    /// The ALPN id of the protocol spoken, as curl's Alt-Svc cache names it (`h1`,
    /// `h2`, `h3`).
    pub fn alpn(&self) -> &'static str {
        match self.version() {
            "3" => "h3",
            "2" => "h2",
            _ => "h1",
        }
    }

    /// `1.1`, `2` or `3`.
    pub fn version(&self) -> &'static str {
        match self {
            Self::Hyper(_, request) if request.version() == hyper::Version::HTTP_2 => "2",
            Self::Hyper(..) => "1.1",
            Self::Http3(..) => "3",
        }
    }

    /// The request head as `-v` shows it.
    pub fn request_head(&self, url: &Url) -> String {
        match self {
            Self::Hyper(_, request) => http::request_head(request, url),
            Self::Http3(_, request) => http::request_head(request, url),
        }
    }

    /// Sends the request; the response head and its body still to come.
    pub async fn send(self) -> Result<(hyper::Response<()>, Body), CliError> {
        match self {
            Self::Hyper(stream, request) => {
                let (parts, body) = http::send(stream, request).await?.into_parts();
                Ok((hyper::Response::from_parts(parts, ()), Body::Hyper(body)))
            }
            Self::Http3(quic, request) => {
                let (response, body) = http3::send(quic, request).await?;
                Ok((response, Body::Http3(Box::new(body))))
            }
        }
    }
}

impl Body {
    /// Copies the body to `sink` as it arrives; returns the number of bytes.
    pub async fn copy_to<W: tokio::io::AsyncWrite + Unpin>(
        self,
        sink: &mut W,
    ) -> Result<u64, CliError> {
        match self {
            Self::Hyper(body) => http::copy_body(body, sink).await,
            Self::Http3(body) => http3::copy_body(*body, sink).await,
        }
    }
}
