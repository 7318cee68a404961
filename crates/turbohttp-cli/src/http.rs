//! One HTTP GET over a connection the race produced (HTTP/1.1, or HTTP/2 when ALPN
//! chose it), with hyper's connection-level client; and the tiny HTTP server of the
//! demo lab.

use std::convert::Infallible;
use std::fmt::Write as _;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST, HeaderMap, HeaderValue, USER_AGENT};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use turbohttp::{HandshakeRefused, TransportStream};

use crate::exit::{self, CliError};
use crate::parse::Url;

/// The `User-Agent` sent: `turbohttp/VERSION`.
pub const USER_AGENT_VALUE: &str = concat!("turbohttp/", env!("CARGO_PKG_VERSION"));

/// The GET request for `url`: origin-form with a `Host` header for HTTP/1.1, absolute
/// form (which hyper turns into `:authority`) for HTTP/2.
pub fn request(url: &Url, h2: bool) -> Result<Request<Empty<Bytes>>, CliError> {
    let invalid = |e: &dyn std::fmt::Display| CliError::usage("URL", e);
    let builder = if h2 {
        Request::get(url.to_string()).version(hyper::Version::HTTP_2)
    } else {
        Request::get(url.path_and_query.as_str()).header(
            HOST,
            HeaderValue::from_str(&url.authority()).map_err(|e| invalid(&e))?,
        )
    };
    builder
        .header(USER_AGENT, USER_AGENT_VALUE)
        .header(ACCEPT, "*/*")
        .body(Empty::new())
        .map_err(|e| invalid(&e))
}

/// Sends `request` on `stream` and waits for the response head. The connection is
/// driven by a task on the current runtime until the response body is done.
pub async fn send(
    stream: TransportStream,
    request: Request<Empty<Bytes>>,
) -> Result<Response<Incoming>, CliError> {
    let failed = |e: hyper::Error| exchange_failed("the HTTP exchange failed", &e);
    let io = TokioIo::new(stream);
    if request.version() == hyper::Version::HTTP_2 {
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(failed)?;
        tokio::spawn(connection);
        sender.send_request(request).await.map_err(failed)
    } else {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(failed)?;
        tokio::spawn(connection);
        sender.send_request(request).await.map_err(failed)
    }
}

/// Copies the body to `sink` as it arrives; returns the number of bytes. A failed read
/// is exit 56, a failed write exit 23.
pub async fn copy_body<W: AsyncWrite + Unpin>(
    mut body: Incoming,
    sink: &mut W,
) -> Result<u64, CliError> {
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| exchange_failed("receiving the body failed", &e))?;
        if let Ok(data) = frame.into_data() {
            sink.write_all(&data).await.map_err(write_error)?;
            total += data.len() as u64;
        }
    }
    sink.flush().await.map_err(write_error)?;
    Ok(total)
}

/// hyper's own message names only its stage ("connection error"); the cause is down
/// the chain. A TLS refusal there (under TLS 1.3 a server that wants a client
/// certificate says so on the first request, after the handshake) is exit 35 with our
/// sentence; anything else is exit 56 with the deepest cause.
fn exchange_failed(what: &str, error: &hyper::Error) -> CliError {
    let mut deepest: Option<&(dyn std::error::Error + 'static)> = None;
    let mut next = std::error::Error::source(error);
    while let Some(cause) = next {
        if let Some(tls) = cause
            .downcast_ref::<rustls::Error>()
            .or_else(|| {
                cause
                    .downcast_ref::<std::io::Error>()
                    .and_then(|io| io.get_ref())
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            })
            .and_then(HandshakeRefused::of)
        {
            return CliError::new(exit::TLS, format!("{what}: {tls}"));
        }
        deepest = Some(cause);
        next = cause.source();
    }
    match deepest {
        Some(cause) => CliError::new(exit::HTTP, format!("{what}: {error}: {cause}")),
        None => CliError::new(exit::HTTP, format!("{what}: {error}")),
    }
}

fn write_error(e: std::io::Error) -> CliError {
    CliError::new(exit::WRITE, format!("writing the body failed: {e}"))
}

/// The request head as curl's `-v` shows it: `> GET / HTTP/1.1` and `> name: value`.
pub fn request_head<B>(request: &Request<B>, url: &Url) -> String {
    let version = match request.version() {
        hyper::Version::HTTP_3 => "HTTP/3",
        hyper::Version::HTTP_2 => "HTTP/2",
        _ => "HTTP/1.1",
    };
    let mut out = format!("> GET {} {version}\n", url.path_and_query);
    if request.version() != hyper::Version::HTTP_11 {
        let _ = writeln!(out, "> :authority: {}", url.authority());
    }
    push_headers(&mut out, '>', request.headers());
    out
}

/// The response head as curl's `-v` shows it: `< HTTP/1.1 200 OK` and `< name: value`.
pub fn response_head<B>(response: &Response<B>) -> String {
    let mut out = format!(
        "< {:?} {}\n",
        response.version(),
        status_text(response.status())
    );
    push_headers(&mut out, '<', response.headers());
    out
}

/// `{marker} name: value` for every header, then a line with the marker alone.
fn push_headers(out: &mut String, marker: char, headers: &HeaderMap) {
    for (name, value) in headers {
        let _ = writeln!(
            out,
            "{marker} {name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        );
    }
    let _ = writeln!(out, "{marker}");
}

/// `200 OK`.
pub fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// The response head as JSON: status, version and headers (in order, repeated names
/// kept).
pub fn response_json<B>(response: &Response<B>) -> serde_json::Value {
    let headers: Vec<serde_json::Value> = response
        .headers()
        .iter()
        .map(|(name, value)| {
            serde_json::json!([name.as_str(), String::from_utf8_lossy(value.as_bytes())])
        })
        .collect();
    serde_json::json!({
        "status": response.status().as_u16(),
        "version": format!("{:?}", response.version()),
        "headers": headers,
    })
}

/// Serves every connection on `listener` with HTTP/1.1, answering every request with
/// `200 OK` and `body` (text/plain). Runs until the task is dropped.
pub async fn serve_text(listener: TcpListener, body: &'static str) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors or similar: nothing sensible to do but stop.
            return;
        };
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |_request| async move {
                let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                Ok::<_, Infallible>(response)
            });
            // A client that goes away mid-request is not the lab's problem.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Serves HTTP/2 over TLS (`config`'s certificate; ALPN set to `h2`) on every
/// connection of `listener`, answering every request with `200 OK` and `body`. Runs
/// until the task is dropped.
pub async fn serve_https_h2(
    listener: TcpListener,
    config: std::sync::Arc<rustls::ServerConfig>,
    body: &'static str,
) {
    let mut config = (*config).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let service = hyper::service::service_fn(move |_request| async move {
                let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                Ok::<_, Infallible>(response)
            });
            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}
