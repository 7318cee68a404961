//! QUIC attempts (feature `quic`): the client's UDP endpoints, one per family and
//! shared by every QUIC attempt of a transport (`endpoints.rs`); the dialer that runs
//! a QUIC handshake as one attempt, and the one that dials an endpoint over QUIC or
//! TCP as the race says (`dialer.rs`); the winner, a QUIC connection or a TCP stream
//! (`connection.rs`); and what a failed QUIC handshake says (`refusal.rs`).

mod connection;
mod dialer;
mod endpoints;
mod refusal;

pub use connection::{Connection, QuicConnection};
pub use dialer::{EndpointDialer, QuicDialer, quic_client_config};
pub use endpoints::QuicEndpoints;
pub use refusal::QuicRefused;
