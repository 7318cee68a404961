//! What the race knows of DNS: which queries a connect sends, and how each one ended.
//! Plain data; the resolvers that send the queries live in the runtime crate.

use std::fmt;
use std::net::SocketAddr;

use crate::AddressFamily;

/// One query of a resolution, as the race sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum QueryType {
    /// An AAAA query: the IPv6 addresses.
    Aaaa,
    /// An A query: the IPv4 addresses.
    A,
    /// A one-shot lookup (`getaddrinfo`, a static table) whose single answer carries
    /// every family.
    AddrInfo,
    /// An HTTPS query (RFC 9460): the service's records, answered with
    /// [`Race::handle_services`](crate::race::Race::handle_services). Its answer
    /// carries no address of its own, only hints.
    Https,
}

impl QueryType {
    /// `"AAAA"`, `"A"`, `"lookup"` (one-shot) or `"HTTPS"`, the spelling of the
    /// command's JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aaaa => "AAAA",
            Self::A => "A",
            Self::AddrInfo => "lookup",
            Self::Https => "HTTPS",
        }
    }

    /// Whether the answer is a list of addresses (every query but HTTPS).
    pub fn is_address(self) -> bool {
        self != Self::Https
    }
}

impl QueryType {
    /// The query that asks for `family`'s addresses: AAAA or A.
    pub fn of(family: AddressFamily) -> Self {
        match family {
            AddressFamily::V6 => Self::Aaaa,
            AddressFamily::V4 => Self::A,
        }
    }

    /// The family this query asks for; `None` for a one-shot lookup of every family
    /// (and for HTTPS, which asks for no address).
    pub fn family(self) -> Option<AddressFamily> {
        match self {
            Self::Aaaa => Some(AddressFamily::V6),
            Self::A => Some(AddressFamily::V4),
            Self::AddrInfo | Self::Https => None,
        }
    }

    /// Whether `addr` belongs in this query's answer (an A answer carries no IPv6
    /// address, an HTTPS answer none at all, and so on).
    pub fn admits(self, addr: &SocketAddr) -> bool {
        self.is_address()
            && self
                .family()
                .is_none_or(|family| AddressFamily::of(addr) == family)
    }
}

impl fmt::Display for QueryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name an HTTPS query asks for (RFC 9460 §9.1): `NAME` for port 443,
/// `_PORT._https.NAME` for any other.
///
/// ```
/// use turbohttp_proto::dns::https_query_name;
/// assert_eq!(https_query_name("example.com", 443), "example.com");
/// assert_eq!(https_query_name("example.com", 8443), "_8443._https.example.com");
/// ```
pub fn https_query_name(host: &str, port: u16) -> String {
    if port == 443 {
        host.to_owned()
    } else {
        format!("_{port}._https.{host}")
    }
}

/// Why a query gave no address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LookupFailureKind {
    /// The name does not exist (NXDOMAIN).
    NxDomain,
    /// The name exists but has no record of this type (NODATA).
    NoData,
    /// The server failed (SERVFAIL).
    ServFail,
    /// The server refused the query (REFUSED).
    Refused,
    /// No answer came within the resolver's own timeout.
    TimedOut,
    /// The answer could not be used: malformed, for another name, a CNAME loop.
    BadAnswer,
    /// Anything else: no server reachable, a system resolver error.
    Other,
}

impl LookupFailureKind {
    /// `"nxdomain"`, `"nodata"`, `"servfail"`, `"refused"`, `"timed_out"`,
    /// `"bad_answer"` or `"error"`, the spelling of the command's JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NxDomain => "nxdomain",
            Self::NoData => "nodata",
            Self::ServFail => "servfail",
            Self::Refused => "refused",
            Self::TimedOut => "timed_out",
            Self::BadAnswer => "bad_answer",
            Self::Other => "error",
        }
    }
}

/// A query that gave no address, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct LookupFailure {
    /// The kind of failure.
    pub kind: LookupFailureKind,
    /// What the resolver said, as a sentence fragment (`"no record of this type"`).
    pub message: String,
}

impl LookupFailure {
    /// A failure of `kind` with the resolver's words.
    pub fn new(kind: LookupFailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}
