//! One HTTP GET over a QUIC connection the race produced (HTTP/3, h3 through the
//! library), with its failures as sentences and curl's exit codes (95: "HTTP/3
//! layer problem"; 56: the body failed to arrive).

use std::time::Duration;

use bytes::{Buf, Bytes};
use hyper::header::{ACCEPT, USER_AGENT};
use hyper::{Request, Response};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::task::JoinHandle;
use turbohttp::h3::client::RequestStream;
use turbohttp::h3_quinn::BidiStream;
use turbohttp::{Http3Error, Http3SendRequest, QuicConnection, http3_handshake, quinn};

use crate::exit::{self, CliError};
use crate::http::USER_AGENT_VALUE;
use crate::parse::Url;

/// The GET request for `url` over HTTP/3 (`:authority` from the URL).
pub fn request(url: &Url) -> Result<Request<()>, CliError> {
    Request::get(url.to_string())
        .version(hyper::Version::HTTP_3)
        .header(USER_AGENT, USER_AGENT_VALUE)
        .header(ACCEPT, "*/*")
        .body(())
        .map_err(|e| CliError::usage("URL", e))
}

/// A response's body still to come, with what keeps its connection alive.
pub struct Body {
    stream: RequestStream<BidiStream<Bytes>, Bytes>,
    _send: Http3SendRequest,
    driver: JoinHandle<()>,
}

impl Drop for Body {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Starts HTTP/3 on `quic`, sends `request` and waits for the response head.
pub async fn send(
    quic: QuicConnection,
    request: Request<()>,
) -> Result<(Response<()>, Body), CliError> {
    let (mut driver, mut send) = http3_handshake(quic).await.map_err(failed)?;
    let driver = tokio::spawn(async move {
        let _ = driver.wait_idle().await;
    });
    let exchange = async {
        let mut stream = send.send_request(request).await?;
        stream.finish().await?;
        let response = stream.recv_response().await?;
        Ok::<_, Http3Error>((response, stream))
    };
    match exchange.await {
        Ok((response, stream)) => Ok((
            response,
            Body {
                stream,
                _send: send,
                driver,
            },
        )),
        Err(e) => {
            driver.abort();
            Err(failed(e))
        }
    }
}

/// Copies the body to `sink` as it arrives; returns the number of bytes. A failed
/// read is exit 56, a failed write exit 23.
pub async fn copy_body<W: AsyncWrite + Unpin>(
    mut body: Body,
    sink: &mut W,
) -> Result<u64, CliError> {
    let mut total = 0u64;
    loop {
        let chunk = body.stream.recv_data().await.map_err(|e| {
            CliError::new(
                exit::HTTP,
                format!("receiving the body failed: {}", Http3Error::from(e)),
            )
        })?;
        let Some(mut chunk) = chunk else { break };
        while chunk.has_remaining() {
            let piece = chunk.chunk();
            let len = piece.len();
            sink.write_all(piece)
                .await
                .map_err(|e| CliError::new(exit::WRITE, format!("writing the body failed: {e}")))?;
            total += len as u64;
            chunk.advance(len);
        }
    }
    sink.flush()
        .await
        .map_err(|e| CliError::new(exit::WRITE, format!("writing the body failed: {e}")))?;
    Ok(total)
}

/// HTTP/3's `H3_NO_ERROR` (RFC 9114, section 8.1): the code of a connection closed
/// with nothing wrong, as a client closes one it has no more requests for.
const H3_NO_ERROR: u32 = 0x100;

/// How long [`close`] waits, at most, for its CONNECTION_CLOSE to leave.
const CLOSE_WAIT: Duration = Duration::from_millis(100);

/// Closes `connection` (`H3_NO_ERROR`, no reason phrase) and waits until its
/// CONNECTION_CLOSE has left, at most `CLOSE_WAIT` (100 ms). quinn sends it from a
/// task of its own and the command exits next: a close still queued when the runtime
/// stops is never sent, and the server holds the connection until its idle timeout
/// (30 s against aioquic, as the interop test saw). A connection already closed (by
/// the server, or on an error) is left as it is.
pub async fn close(connection: &quinn::Connection) {
    if connection.close_reason().is_some() {
        return;
    }
    // A closed connection sends nothing but CONNECTION_CLOSE: the next datagram is it.
    // (quinn counts the frame in no `frame_tx` statistic.)
    let datagrams = connection.stats().udp_tx.datagrams;
    connection.close(quinn::VarInt::from_u32(H3_NO_ERROR), b"");
    let sent = async {
        // quinn's connection task, woken by the close, runs first: usually sent now.
        tokio::task::yield_now().await;
        while connection.stats().udp_tx.datagrams == datagrams {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, sent).await;
}

/// What a failed HTTP/3 exchange on `connection` says: when the server closed the
/// connection with a TLS alert this client's settings caused (a client certificate
/// it requires), exit 35 with the sentence TCP's TLS gives; else `error`.
pub fn refusal(connection: &quinn::Connection, error: CliError) -> CliError {
    match connection
        .close_reason()
        .as_ref()
        .and_then(turbohttp::QuicRefused::tls_refusal)
    {
        Some(refused) => CliError::new(exit::TLS, format!("the HTTP/3 exchange failed: {refused}")),
        None => error,
    }
}

fn failed(error: Http3Error) -> CliError {
    CliError::new(exit::HTTP3, format!("the HTTP/3 exchange failed: {error}"))
}
