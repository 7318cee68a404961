//! The transport: everything between a URL's authority and a connected stream.
//!
//! * [`connection`]: hosts, resolvers, dialers and the Happy Eyeballs race.
//! * [`RawSocketTransport`]: the race over real sockets, with [`TransportOptions`]
//!   (socket options applied by the one function [`connect_socket`], TLS by
//!   [`TlsOptions`]), yielding a [`TransportStream`]; a `tower_service::Service<Uri>`
//!   for hyper-util's legacy client.
//! * [`proxy`]: TLS to the origin through hyper-util's `Tunnel` or `SocksV5` over the
//!   transport ([`TlsThroughProxy`]).

pub mod connection;
pub mod connection_info;
pub mod options;
pub mod proxy;
pub mod raw_socket;
pub mod scheme;
pub mod service;
pub mod socket_options;
pub mod stream;
pub mod tls;

pub use connection_info::{ClientStream, ConnectionInfo};
pub use options::{DEFAULT_CONNECT_TIMEOUT, TransportOptions, TransportOptionsError};
pub use proxy::{ProxiedStream, TlsThroughProxy};
pub use raw_socket::{RawSocketDialer, RawSocketTransport};
pub use scheme::Scheme;
pub use service::{Connecting, TransportError};
pub use socket_options::{
    DEFAULT_KEEPALIVE, MAX_INTERFACE_NAME_LEN, SocketOptions, SocketOptionsError, connect_socket,
};
pub use stream::TransportStream;
pub use tls::{
    ALPN_H2, ALPN_HTTP_1_1, CertificateRejected, ClientCertificate, HandshakeRefused,
    TlsFailurePolicy, TlsHandshake, TlsOptions, TlsVersion, classify_handshake_error,
    is_certificate_error, server_name_of,
};
