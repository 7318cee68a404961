//! A GET through hyper-util's legacy `Client` on turbohttp's `RawSocketTransport`.
//!
//! ```text
//! cargo run --example hyper_client                       # offline: a local HTTPS server
//! cargo run --example hyper_client -- https://example.com/
//! ```
//!
//! Without an argument it starts an HTTPS server (HTTP/1.1 and h2, certificate from a
//! throwaway CA) on 127.0.0.1, pins `localhost` to it and trusts that CA, so it runs
//! without a network; the response comes back over h2, chosen by ALPN.

use std::convert::Infallible;
use std::error::Error;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::Uri;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use turbohttp::StaticResolver;
use turbohttp::{ALPN_H2, ALPN_HTTP_1_1, RawSocketTransport, TransportOptions};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    match std::env::args().nth(1) {
        Some(url) => {
            let transport = RawSocketTransport::new(TransportOptions::default())?;
            get(transport, url.parse()?).await
        }
        None => {
            let (uri, transport) = local_server().await?;
            get(transport, uri).await
        }
    }
}

async fn get<R>(
    transport: RawSocketTransport<R>,
    uri: Uri,
) -> Result<(), Box<dyn Error + Send + Sync>>
where
    R: turbohttp::Resolver + 'static,
{
    let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(transport);
    let response = client.get(uri.clone()).await?;
    println!("GET {uri}: {} {:?}", response.status(), response.version());
    let body = response.into_body().collect().await?.to_bytes();
    println!("{} bytes of body", body.len());
    if let Ok(text) = std::str::from_utf8(&body) {
        println!("{}", text.chars().take(300).collect::<String>());
    }
    Ok(())
}

/// Starts an HTTPS server on 127.0.0.1 and returns its URL with a transport that
/// trusts it and resolves `localhost` to it only.
async fn local_server()
-> Result<(Uri, RawSocketTransport<StaticResolver>), Box<dyn Error + Send + Sync>> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let cert = CertificateParams::new(vec!["localhost".to_owned()])?.signed_by(&key, &ca)?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )?;
    server.alpn_protocols = vec![ALPN_H2.to_vec(), ALPN_HTTP_1_1.to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
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
    });

    let mut options = TransportOptions::default();
    options.tls.webpki_roots = false;
    options.tls.extra_roots.push(ca.der().clone());
    let transport = RawSocketTransport::new(options)?
        .with_resolver(StaticResolver::new().with_override("localhost", addr.port(), [addr]));
    let uri = format!("https://localhost:{}/", addr.port()).parse()?;
    Ok((uri, transport))
}
