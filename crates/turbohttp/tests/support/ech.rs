//! Encrypted Client Hello on loopback, as far as it can go without an ECH server
//! (rustls has no server side of it; the configuration lists come from
//! `turbohttp_lab::ech`): a listener that reads the first ClientHello sent to it and tells what its outer
//! hello says (the SNI, the `encrypted_client_hello` extension's config id).

use std::net::SocketAddr;

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The `encrypted_client_hello` extension's code point (RFC 9849).
const ECH_EXTENSION: u16 = 0xfe0d;

/// What an outer ClientHello said.
#[derive(Debug, PartialEq, Eq)]
pub struct OuterHello {
    /// The server_name extension's name.
    pub sni: Option<String>,
    /// The `encrypted_client_hello` extension's config id, when it is an outer one.
    pub ech_config_id: Option<u8>,
}

/// A listener on `addr` that reads the first connection's ClientHello, sends what it
/// says, and closes the connection (the client's handshake then fails).
pub async fn capture_hello(addr: SocketAddr) -> (u16, oneshot::Receiver<OuterHello>) {
    let listener = TcpListener::bind(addr).await.expect("binds");
    let port = listener.local_addr().expect("bound").port();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accepts");
        let mut header = [0u8; 5];
        socket
            .read_exact(&mut header)
            .await
            .expect("a record header");
        assert_eq!(header[0], 22, "a handshake record");
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let mut body = vec![0u8; len];
        socket.read_exact(&mut body).await.expect("the record");
        let _ = tx.send(parse_client_hello(&body));
    });
    (port, rx)
}

/// Reads a ClientHello handshake message (RFC 8446 §4.1.2) down to its extensions.
fn parse_client_hello(body: &[u8]) -> OuterHello {
    let mut r = Reader(body);
    assert_eq!(r.u8(), 1, "a ClientHello");
    r.take(3); // length
    r.take(2 + 32); // legacy_version, random
    let session = usize::from(r.u8());
    r.take(session);
    let suites = usize::from(r.u16());
    r.take(suites);
    let compression = usize::from(r.u8());
    r.take(compression);
    let mut extensions = Reader(r.vec16());
    let mut hello = OuterHello {
        sni: None,
        ech_config_id: None,
    };
    while !extensions.0.is_empty() {
        let kind = extensions.u16();
        let mut data = Reader(extensions.vec16());
        match kind {
            0 => {
                data.take(2); // server_name_list length
                assert_eq!(data.u8(), 0, "a host_name");
                let name = data.vec16();
                hello.sni = Some(String::from_utf8(name.to_vec()).expect("ASCII"));
            }
            ECH_EXTENSION if data.u8() == 0 => {
                data.take(4); // cipher suite: KDF, AEAD
                hello.ech_config_id = Some(data.u8());
            }
            _ => {}
        }
    }
    hello
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
    fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }
    fn u16(&mut self) -> u16 {
        let b = self.take(2);
        u16::from_be_bytes([b[0], b[1]])
    }
    /// A vector with a two-byte length.
    fn vec16(&mut self) -> &'a [u8] {
        let len = usize::from(self.u16());
        self.take(len)
    }
}
