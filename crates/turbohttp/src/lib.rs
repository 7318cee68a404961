#![doc = include_str!("../README.md")]
//!
//! ## Where things live in this crate
//!
//! * [`transport::connection`]: hosts, resolvers, dialers and the
//!   [`happy_eyeballs`](transport::connection::happy_eyeballs) race (planner, sans-IO
//!   state machine, tokio driver, errors).
//! * [`transport`]: [`RawSocketTransport`], the race over real sockets with socket
//!   options and rustls TLS, usable as a hyper-util connector.
//! * [`sim`]: simulated endpoints, to run the real race in virtual time.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod sim;
pub mod transport;

/// The token that cancels a connect (dropping its future does too).
pub use tokio_util::sync::CancellationToken;
pub use transport::connection::{
    AddressFamily, AttemptError, AttemptRecord, ConnectError, ConnectErrorKind, ConnectParams,
    DefaultResolver, Dialer, DnsOptions, DnsResolver, Established, HappyEyeballs,
    HappyEyeballsOptions, OptionsError, QueryRecord, RaceReport, Resolver, StaticResolver,
    SystemResolver, TcpDialer, connect,
};
pub use transport::{
    ClientCertificate, ClientStream, ConnectionInfo, DEFAULT_CONNECT_TIMEOUT, HandshakeRefused,
    RawSocketTransport, Scheme, SocketOptions, SocketOptionsError, TlsFailurePolicy, TlsOptions,
    TlsThroughProxy, TlsVersion, TransportError, TransportOptions, TransportOptionsError,
    TransportStream,
};
