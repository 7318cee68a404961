//! Getting from a host name to one connected socket: hosts and families, resolvers,
//! dialers, and the Happy Eyeballs race that ties them together.

mod dial;
pub mod happy_eyeballs;
mod host;
mod resolve;

pub use dial::{Dialer, TcpDialer};
pub use happy_eyeballs::{
    AttemptFailure, AttemptOutcome, AttemptRecord, ConnectError, ConnectErrorKind, ConnectParams,
    Established, HappyEyeballs, HappyEyeballsOptions, OptionsError, QueryOutcome, QueryRecord,
    RaceReport, connect,
};
pub use host::{Host, InputError, parse_authority, parse_port};
pub use resolve::{
    Answers, DefaultResolver, DnsConfigError, DnsOptions, DnsResolver, NoResolver, Resolver,
    StaticResolver, SystemResolver,
};
/// What the race knows of DNS: query types and their failures.
pub use turbohttp_proto::dns;
pub use turbohttp_proto::{AddressFamily, AttemptError, AttemptPhase};
