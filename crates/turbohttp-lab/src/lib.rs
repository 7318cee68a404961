//! Loopback labs for turbohttp's demo, tests and benchmarks: real servers on `127.0.0.1`
//! and `[::1]` that behave badly on purpose, needing no network and no privileges.
//!
//! * [`dns`]: a DNS server (UDP and TCP on one port) that answers each name and record
//!   type as a test asks: after a delay, never, SERVFAIL, garbage, truncated…
//! * [`BlackHole`]: an address on `[::1]` where TCP connects stall.
//! * [`ech`]: ECH configuration lists to put in HTTPS records.
//! * [`tls`]: a throwaway CA and a server configuration for a name it signed.
//! * [`h3`]: an HTTP/3 server over QUIC (quinn, h3) that serves, refuses or never
//!   answers.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use std::net::Ipv4Addr;
//! use turbohttp_lab::dns::{Behaviour, DnsLab, Zone};
//!
//! // dual.test answers A at once and never answers AAAA: a lost AAAA answer.
//! let zone = Zone::new()
//!     .a("dual.test", Behaviour::answer([Ipv4Addr::LOCALHOST.into()]))
//!     .aaaa("dual.test", Behaviour::Silent);
//! let lab = DnsLab::start(zone).await?;
//! println!("ask {}", lab.addr());
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod black_hole;
pub mod dns;
pub mod ech;
pub mod h3;
pub mod tls;

pub use black_hole::BlackHole;
