#![doc = include_str!("../README.md")]
//!
//! ## Where things live in this crate
//!
//! Every public item has one path: the crate root (the list below), or [`sim`] for
//! the simulated network. The modules behind them are private and follow the
//! dependencies, from the bottom up: hosts and schemes; resolvers; dialers (TCP, TLS,
//! socket options); the race's driver; the transport and its `Service<Uri>`; proxies.
//! The rules of the race live in the runtime-free core crate, `turbohttp-proto`.
//!
//! ## Cargo features
//!
//! The default features are the whole TCP + TLS library, the hyper-util
//! `Service<Uri>` included. `quic` adds QUIC attempts raced against TCP (quinn:
//! [`RawSocketTransport::connect_any`], [`EndpointDialer`], [`QuicDialer`]) and
//! `http3` HTTP/3 over a QUIC winner (h3: [`http3_handshake`]); a hyper-only user
//! never builds them. hyper's `Service<Uri>` cannot speak HTTP/3, so it never dials
//! QUIC.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod alt_svc;
mod dial;
mod host;
#[cfg(feature = "http3")]
mod http3;
mod proxy;
mod race;
mod resolve;
mod scheme;
pub mod sim;
mod transport;

// The connector: one call, or a connector that keeps its options, resolver and dialer.
pub use race::{
    ConnectError, ConnectErrorKind, ConnectParams, DEFAULT_CONNECT_TIMEOUT, Established,
    HappyEyeballs, Http3, connect,
};
// QUIC raced against TCP: how an endpoint is dialed, and the memory of broken QUIC.
/// The token that cancels a connect (dropping its future does too).
pub use tokio_util::sync::CancellationToken;
pub use turbohttp_proto::plan::Transport;
pub use turbohttp_proto::quic::{QuicMemory, QuicOutcome};

// The transport: the race over real sockets with socket options and TLS, a
// `tower_service::Service<Uri>` for hyper-util's client, and TLS through proxies.
pub use proxy::{ProxiedStream, TlsThroughProxy};
pub use scheme::Scheme;
pub use transport::{
    ClientStream, Connecting, ConnectionInfo, RawSocketTransport, TransportError, TransportOptions,
    TransportOptionsError,
};

// Options, each with its own error.
pub use dial::{
    ALPN_H2, ALPN_HTTP_1_1, ClientCertificate, DEFAULT_KEEPALIVE, MAX_INTERFACE_NAME_LEN, PemError,
    SocketOptions, SocketOptionsError, TlsConfigError, TlsFailurePolicy, TlsOptions, TlsVersion,
};
pub use turbohttp_proto::plan::MIN_ATTEMPT_BUDGET;
pub use turbohttp_proto::{HappyEyeballsOptions, MIN_DELAY, OptionsError};

// What a failed handshake says, and what a bad host or port is.
pub use dial::{CertificateRejected, HandshakeRefused};
pub use host::{Host, InputError, parse_authority, parse_port};

// Resolvers: how a name becomes addresses.
pub use resolve::{
    Answers, DefaultResolver, DnsConfigError, DnsOptions, DnsResolver, NoResolver, Resolver,
    StaticResolver, SystemResolver,
};
pub use turbohttp_proto::dns::{LookupFailure, LookupFailureKind, QueryType, https_query_name};
// HTTPS records (RFC 9460): what an origin offers, as the race reads it.
pub use turbohttp_proto::service::{Protocols, ServiceInfo, ServiceRecord, Verdict};
// Alt-Svc (RFC 7838): alternatives a response advertised, fed to the next connect.
pub use alt_svc::{AltSvc, AltSvcEntry, AltSvcError, DEFAULT_ALT_SVC_MAX_AGE, parse_alt_svc};
pub use turbohttp_proto::alt_svc::{AltService, AltServiceRecord};

// Dialers: how one address becomes a connection.
pub use dial::{
    Dialer, EchStatus, Offer, RawSocketDialer, SocketUnavailable, TcpDialer, TlsHandshake,
    TransportStream, connect_socket, crypto_provider, server_name_of,
};

// QUIC (feature `quic`): its dialers, endpoints and the winner of a QUIC + TCP race.
#[cfg(feature = "quic")]
pub use dial::{
    Connection, EndpointDialer, QuicConnection, QuicDialer, QuicEndpoints, QuicRefused,
    quic_client_config,
};
#[cfg(feature = "quic")]
pub use quinn;

// HTTP/3 over a QUIC winner (feature `http3`), and the crates it is made of.
#[cfg(feature = "http3")]
pub use http3::{Http3Driver, Http3Error, Http3SendRequest, http3_handshake};
#[cfg(feature = "http3")]
pub use {h3, h3_quinn};

// The report: every query and attempt of a race, with its times and outcome.
pub use turbohttp_proto::{
    AddressFamily, AttemptError, AttemptFailure, AttemptOutcome, AttemptPhase, AttemptRecord,
    DisplayDuration, FailureDepth, QueryOutcome, QueryRecord, RaceReport,
};
