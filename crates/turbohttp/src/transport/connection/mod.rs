//! Getting from a host name to one connected socket: hosts and families, resolvers,
//! dialers, and the Happy Eyeballs race that ties them together.

mod dial;
mod dns_resolver;
pub mod happy_eyeballs;
mod host;
mod resolve;

pub use dial::{Dialer, TcpDialer};
pub use dns_resolver::{DnsConfigError, DnsOptions, DnsResolver};
pub use happy_eyeballs::{
    AttemptFailure, AttemptOutcome, AttemptRecord, ConnectError, ConnectErrorKind, Established,
    HappyEyeballs, HappyEyeballsOptions, OptionsError, RaceReport, connect,
};
pub use host::{Host, InputError, parse_authority, parse_port};
pub use resolve::{Answers, NoResolver, Resolver, StaticResolver, SystemResolver};
pub use turbohttp_proto::{AddressFamily, AttemptError, AttemptPhase};
