//! turbohttp: an HTTP client transport whose connector races IPv6 and IPv4
//! (Happy Eyeballs, RFC 8305), deterministically and without leaking a socket.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use tokio_util::sync::CancellationToken;
//! use turbohttp::{HappyEyeballsOptions, connect};
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let port = listener.local_addr()?.port();
//! let stream = connect(
//!     "127.0.0.1",
//!     port,
//!     None,
//!     Duration::from_secs(5),
//!     &HappyEyeballsOptions::default(),
//!     &CancellationToken::new(),
//! )
//! .await?;
//! assert_eq!(stream.peer_addr()?.port(), port);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! Where things live:
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
    AddressFamily, AttemptRecord, ConnectError, ConnectErrorKind, DefaultResolver, DnsOptions,
    DnsResolver, Established, HappyEyeballs, HappyEyeballsOptions, QueryRecord, RaceReport,
    Resolver, StaticResolver, SystemResolver, connect,
};
pub use transport::{
    RawSocketTransport, Scheme, SocketOptions, SocketOptionsError, TlsFailurePolicy, TlsOptions,
    TransportError, TransportOptions, TransportOptionsError, TransportStream,
};
