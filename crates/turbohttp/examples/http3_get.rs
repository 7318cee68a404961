//! An HTTP/3 GET through turbohttp, with fallback to HTTP/2: QUIC and TCP race
//! (`RawSocketTransport::connect_any`), and the request goes over whichever won:
//! HTTP/3 (h3) over QUIC, HTTP/2 or HTTP/1.1 (hyper) over TCP.
//!
//! ```text
//! cargo run -p turbohttp --features http3 --example http3_get                  # offline
//! cargo run -p turbohttp --features http3 --example http3_get -- https://example.com/
//! ```
//!
//! Without an argument it builds a lab on 127.0.0.1 (a throwaway CA, an HTTP/3 server
//! on UDP and an HTTPS server on the same TCP port, `localhost` pinned to them) and
//! GETs twice: with UDP open (HTTP/3 wins) and with UDP blocked by a port that never
//! answers (HTTP/2 wins one attempt delay later), then a third time, when the memory
//! of broken QUIC sends it straight to TCP.

use std::convert::Infallible;
use std::error::Error;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use turbohttp::{
    ALPN_H2, ConnectParams, Connection, Http3, RawSocketTransport, Resolver, StaticResolver,
    TransportOptions, http3_handshake,
};
use turbohttp_lab::h3::{H3Server, QuicBehaviour, UdpBlackHole};

type BoxError = Box<dyn Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    if let Some(url) = std::env::args().nth(1) {
        let uri: hyper::Uri = url.parse()?;
        let transport = RawSocketTransport::new(TransportOptions::default())?;
        return get(&transport, &uri).await;
    }
    let (server, ca) = server_config()?;
    // Two origins on 127.0.0.1, each an HTTPS server on TCP: the first with HTTP/3 on
    // its UDP port, the second with a UDP port that never answers.
    let open = TcpListener::bind("127.0.0.1:0").await?;
    let blocked = TcpListener::bind("127.0.0.1:0").await?;
    let (open_addr, blocked_addr) = (open.local_addr()?, blocked.local_addr()?);
    tokio::spawn(serve_h2(open, Arc::clone(&server)));
    tokio::spawn(serve_h2(blocked, Arc::clone(&server)));
    let _h3 = H3Server::start(
        open_addr,
        server,
        QuicBehaviour::serve("hello over HTTP/3\n"),
    )?;
    let _hole = UdpBlackHole::bind(blocked_addr)?;

    let mut options = TransportOptions::default();
    options.tls.webpki_roots = false;
    options.tls.extra_roots.push(ca);
    let resolver = StaticResolver::new()
        .with_override("localhost", open_addr.port(), [open_addr])
        .with_override("localhost", blocked_addr.port(), [blocked_addr]);
    let transport = RawSocketTransport::new(options)?.with_resolver(resolver);
    let url = |addr: SocketAddr| format!("https://localhost:{}/", addr.port()).parse();

    println!("UDP open:");
    get(&transport, &url(open_addr)?).await?;
    println!("\nUDP blocked:");
    get(&transport, &url(blocked_addr)?).await?;
    println!("\nUDP blocked, again (QUIC remembered broken):");
    get(&transport, &url(blocked_addr)?).await
}

/// Races QUIC (HTTP/3 at the origin) against TCP and GETs `uri` over the winner.
async fn get<R: Resolver>(
    transport: &RawSocketTransport<R>,
    uri: &hyper::Uri,
) -> Result<(), BoxError> {
    let host = uri.host().ok_or("the URL has no host")?;
    let port = uri.port_u16().unwrap_or(443);
    let params = ConnectParams::default().with_http3(Http3::Also);
    let won = transport.connect_any(host, port, params).await?;
    for attempt in &won.report.attempts {
        println!(
            "  {} {} started +{:?}: {}",
            attempt.transport,
            attempt.endpoint,
            attempt.started,
            attempt.outcome.as_str()
        );
    }
    if won.report.quic_remembered_broken {
        println!("  (QUIC not tried: it got no answer here lately)");
    }
    let (status, version, body) = match won.stream {
        Connection::Quic(quic) => {
            let (mut driver, mut send) = http3_handshake(quic).await?;
            let driving = tokio::spawn(async move { driver.wait_idle().await });
            let mut stream = send
                .send_request(hyper::Request::get(uri.clone()).body(())?)
                .await?;
            stream.finish().await?;
            let response = stream.recv_response().await?;
            let mut body = Vec::new();
            while let Some(mut chunk) = stream.recv_data().await? {
                while chunk.has_remaining() {
                    let piece = chunk.chunk();
                    body.extend_from_slice(piece);
                    let n = piece.len();
                    chunk.advance(n);
                }
            }
            driving.abort();
            (response.status(), "HTTP/3", body)
        }
        Connection::Tcp(stream) => {
            let h2 = stream.is_h2();
            let io = TokioIo::new(stream);
            let request = |version| {
                hyper::Request::get(uri.clone())
                    .version(version)
                    .header(
                        hyper::header::HOST,
                        uri.authority().map_or("", |a| a.as_str()),
                    )
                    .body(Empty::<Bytes>::new())
            };
            let response = if h2 {
                let (mut send, connection) =
                    hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
                tokio::spawn(connection);
                send.send_request(request(hyper::Version::HTTP_2)?).await?
            } else {
                let (mut send, connection) = hyper::client::conn::http1::handshake(io).await?;
                tokio::spawn(connection);
                send.send_request(request(hyper::Version::HTTP_11)?).await?
            };
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes().to_vec();
            (status, if h2 { "HTTP/2" } else { "HTTP/1.1" }, body)
        }
        _ => return Err("a race yields QUIC or TCP".into()),
    };
    println!("  GET {uri}: {status} over {version}, {} bytes", body.len());
    if let Ok(text) = std::str::from_utf8(&body) {
        print!("  {}", text.chars().take(200).collect::<String>());
    }
    Ok(())
}

/// A throwaway CA and a server configuration for `localhost` it signed.
fn server_config() -> Result<
    (
        Arc<rustls::ServerConfig>,
        rustls::pki_types::CertificateDer<'static>,
    ),
    BoxError,
> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let cert = CertificateParams::new(vec!["localhost".to_owned()])?.signed_by(&key, &ca)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )?;
    Ok((Arc::new(server), ca.der().clone()))
}

/// HTTP/2 over TLS on `listener`.
async fn serve_h2(listener: TcpListener, server: Arc<rustls::ServerConfig>) {
    let mut config = (*server).clone();
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    while let Ok((tcp, _)) = listener.accept().await {
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service =
                hyper::service::service_fn(|request: hyper::Request<Incoming>| async move {
                    let body = format!("hello over {:?}\n", request.version());
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(body))))
                });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}
