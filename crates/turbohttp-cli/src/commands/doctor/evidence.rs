//! What the probes found, as plain data: the input of [`super::findings`], filled by
//! [`super::probes`] from sockets, and by the unit tests by hand.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use turbohttp::{AddressFamily, LookupFailureKind};

/// Everything the doctor saw of one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The host as given.
    pub host: String,
    /// The port.
    pub port: u16,
    /// Whether TLS handshakes were part of the probes (an https target, or `--tls`).
    pub https: bool,
    /// `-4` / `-6`: the only family probed.
    pub family: Option<AddressFamily>,
    /// The family the race tries first.
    pub preferred: AddressFamily,
    /// The race's head start of the preferred family, for the costs findings name.
    pub stagger: Duration,
    /// How long the race waits for AAAA after A, for the costs findings name.
    pub resolution_delay: Duration,
    /// The connection attempt delay: how long after QUIC the race starts TCP, for the
    /// costs findings name.
    pub spacing: Duration,
    /// `--http3`: QUIC probed at the origin's port even unadvertised, and the race run
    /// as `get --http3` runs it.
    pub http3: bool,
    /// The time each query and address probe was given.
    pub probe_timeout: Duration,
    /// The route probe of each family probed.
    pub routes: Vec<RouteProbe>,
    /// The DNS queries.
    pub dns: DnsEvidence,
    /// Each address on its own, in the order probed (IPv6 first).
    pub addresses: Vec<AddressProbe>,
    /// Addresses not probed: past the per-family limit, or no time was left.
    pub skipped: Vec<SocketAddr>,
    /// QUIC handshakes to the same addresses, or why there were none.
    pub quic: QuicEvidence,
    /// The race a user gets.
    pub race: RaceOutcome,
}

/// Whether the machine has a route for one family: a UDP socket `connect()`ed towards
/// `probe` (no packet is sent) and the source address the kernel chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteProbe {
    /// The family.
    pub family: AddressFamily,
    /// The address the socket was pointed at.
    pub probe: SocketAddr,
    /// The source address chosen, or the OS error as text.
    pub result: Result<IpAddr, String>,
}

/// Where the addresses came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The host is an IP literal: nothing was asked.
    Literal,
    /// A `--resolve` entry answered.
    Resolve,
    /// DNS queries per type, to these servers.
    Dns {
        /// The servers asked.
        servers: Vec<SocketAddr>,
    },
    /// The system's resolver only (`--resolver system`).
    System,
}

/// The DNS part of the evidence: each query on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsEvidence {
    /// Where the addresses came from.
    pub source: Source,
    /// The AAAA query (with DNS, unless `-4`).
    pub aaaa: Option<Query>,
    /// The A query (with DNS, unless `-6`).
    pub a: Option<Query>,
    /// The HTTPS query (with DNS, for https targets).
    pub https: Option<Query>,
    /// `getaddrinfo`'s answer, beside DNS's (only when DNS asks the system's own
    /// servers: with `--dns-servers` the two would ask different servers).
    pub system: Option<Query>,
    /// The AAAA query for `ipv4only.arpa` (RFC 7050), with DNS.
    pub dns64: Option<Query>,
}

/// One query: how long it took and what came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// From sending to the answer (or to giving up).
    pub elapsed: Duration,
    /// The answer.
    pub answer: Answer,
    /// How long the addresses may be kept (the least TTL of the records), for a DNS
    /// answer of addresses.
    pub ttl: Option<Duration>,
}

/// What a query answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Addresses, in the answer's order.
    Addresses(Vec<IpAddr>),
    /// HTTPS records.
    Services(Vec<Service>),
    /// An error answer, or the resolver's own failure.
    Failed {
        /// Its kind: NXDOMAIN, NODATA, SERVFAIL...
        kind: LookupFailureKind,
        /// The resolver's words.
        message: String,
    },
    /// Nothing within the time it was given ([`Query::elapsed`]).
    TimedOut,
}

/// One HTTPS record, as much of it as the findings and the output use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// 0 for AliasMode.
    pub priority: u16,
    /// The target name; `None` for the owner itself.
    pub target: Option<String>,
    /// The `alpn` ids.
    pub alpn: Vec<String>,
    /// The `port` key.
    pub port: Option<u16>,
    /// Whether it carries an ECH configuration.
    pub ech: bool,
}

/// One address probed on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressProbe {
    /// The address.
    pub addr: SocketAddr,
    /// The TCP connect.
    pub connect: Connect,
    /// The TLS handshake, for https targets once connected.
    pub tls: Option<Tls>,
}

/// How a TCP connect ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connect {
    /// Connected after this long.
    Connected(Duration),
    /// Refused (RST) after this long.
    Refused(Duration),
    /// No answer within the time it was given (this long).
    TimedOut(Duration),
    /// Another error.
    Failed {
        /// When.
        elapsed: Duration,
        /// The OS error as text.
        error: String,
    },
}

/// How a TLS handshake ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tls {
    /// Done, the certificate verified.
    Done {
        /// The handshake alone.
        elapsed: Duration,
        /// The protocol version (`TLSv1_3`).
        version: String,
        /// The ALPN protocol agreed, if any.
        alpn: Option<String>,
    },
    /// The server's certificate did not verify.
    CertificateRejected {
        /// When.
        elapsed: Duration,
        /// Why, as a sentence.
        reason: String,
    },
    /// Another handshake failure.
    Failed {
        /// When.
        elapsed: Duration,
        /// Why.
        reason: String,
    },
    /// No end within what was left of the probe timeout.
    TimedOut(Duration),
}

/// The QUIC layer of an https target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuicEvidence {
    /// Not an https target: QUIC is TLS, there is nothing to probe.
    NotHttps,
    /// No HTTPS record offers `h3` (or none was asked) and `--http3` was not given:
    /// no client tries QUIC unasked, so nothing was sent.
    NotAdvertised,
    /// This TLS configuration cannot run QUIC (why, as a sentence).
    Unavailable(String),
    /// The overall timeout ran out before QUIC's turn.
    NoTime,
    /// A QUIC handshake to each address probed over TCP, at `port`.
    Probed {
        /// The UDP port: the `h3` record's, else the origin's.
        port: u16,
        /// Whether an HTTPS record offers `h3` (else `--http3` asked for it).
        advertised: bool,
        /// Whether that record carries an ECH configuration (turbohttp then does not
        /// use QUIC: rustls offers ECH over TCP only).
        ech: bool,
        /// Each address, in the order of [`Evidence::addresses`].
        probes: Vec<QuicProbe>,
    },
}

/// One QUIC handshake to one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuicProbe {
    /// The address, with the QUIC port.
    pub addr: SocketAddr,
    /// How it ended.
    pub outcome: Quic,
}

/// How a QUIC handshake (TLS 1.3, ALPN `h3`) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quic {
    /// Done, the certificate verified.
    Done {
        /// The handshake, from the first packet.
        elapsed: Duration,
        /// The ALPN protocol agreed (`h3`).
        alpn: Option<String>,
    },
    /// The server refused the connection at once (CONNECTION_REFUSED).
    Refused {
        /// When.
        elapsed: Duration,
        /// The sentence.
        reason: String,
    },
    /// The server's certificate did not verify.
    CertificateRejected {
        /// When.
        elapsed: Duration,
        /// Why, as a sentence.
        reason: String,
    },
    /// Another failure.
    Failed {
        /// When.
        elapsed: Duration,
        /// Why.
        reason: String,
    },
    /// No answer within the time it was given (this long).
    TimedOut(Duration),
}

/// What the race a user gets came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaceOutcome {
    /// The winning address and when it won, or the error.
    pub result: Result<(SocketAddr, Duration), String>,
    /// Whether the winner is a QUIC connection.
    pub quic: bool,
}

impl Evidence {
    /// The families probed, IPv6 first.
    pub fn families(&self) -> Vec<AddressFamily> {
        [AddressFamily::V6, AddressFamily::V4]
            .into_iter()
            .filter(|f| self.family.is_none_or(|only| only == *f))
            .collect()
    }

    /// The address probes of `family`.
    pub fn probes_of(&self, family: AddressFamily) -> Vec<&AddressProbe> {
        self.addresses
            .iter()
            .filter(|p| AddressFamily::of(&p.addr) == family)
            .collect()
    }

    /// The DNS query of `family` (AAAA or A).
    pub fn query_of(&self, family: AddressFamily) -> Option<&Query> {
        match family {
            AddressFamily::V6 => self.dns.aaaa.as_ref(),
            AddressFamily::V4 => self.dns.a.as_ref(),
        }
    }

    /// The route probe of `family`.
    pub fn route_of(&self, family: AddressFamily) -> Option<&RouteProbe> {
        self.routes.iter().find(|r| r.family == family)
    }
}

impl DnsEvidence {
    /// The HTTPS record that offers `h3`, of the least priority (the one a client
    /// tries first); AliasMode records carry no protocols.
    pub fn h3_service(&self) -> Option<&Service> {
        let Some(Query {
            answer: Answer::Services(services),
            ..
        }) = &self.https
        else {
            return None;
        };
        services
            .iter()
            .filter(|s| s.priority > 0 && s.alpn.iter().any(|a| a == "h3"))
            .min_by_key(|s| s.priority)
    }
}

impl QuicEvidence {
    /// The probes, when there were any.
    pub fn probes(&self) -> &[QuicProbe] {
        match self {
            Self::Probed { probes, .. } => probes,
            _ => &[],
        }
    }
}

impl Quic {
    /// `"done"`, `"refused"`, `"certificate_rejected"`, `"failed"`, `"timed_out"`:
    /// the outcome's name in the JSON output.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Done { .. } => "done",
            Self::Refused { .. } => "refused",
            Self::CertificateRejected { .. } => "certificate_rejected",
            Self::Failed { .. } => "failed",
            Self::TimedOut(_) => "timed_out",
        }
    }

    /// How long it took (a timeout: the time it was given).
    pub fn elapsed(&self) -> Duration {
        match self {
            Self::Done { elapsed, .. }
            | Self::Refused { elapsed, .. }
            | Self::CertificateRejected { elapsed, .. }
            | Self::Failed { elapsed, .. } => *elapsed,
            Self::TimedOut(d) => *d,
        }
    }
}

impl AddressProbe {
    /// Connected, and for https the handshake done with a verified certificate: a
    /// connection a client could use.
    pub fn usable(&self) -> bool {
        matches!(self.connect, Connect::Connected(_))
            && matches!(self.tls, None | Some(Tls::Done { .. }))
    }
}

impl Query {
    /// The addresses answered; empty for anything else.
    pub fn addresses(&self) -> &[IpAddr] {
        match &self.answer {
            Answer::Addresses(addrs) => addrs,
            _ => &[],
        }
    }

    /// No answer came: the probe's timeout or the resolver's own.
    pub fn lost(&self) -> bool {
        matches!(
            self.answer,
            Answer::TimedOut
                | Answer::Failed {
                    kind: LookupFailureKind::TimedOut,
                    ..
                }
        )
    }

    /// The failure kind, if it failed with an answer.
    pub fn failure(&self) -> Option<LookupFailureKind> {
        match &self.answer {
            Answer::Failed { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// `"answered"`, `"nxdomain"`, `"nodata"`, `"servfail"`, `"timed_out"`...: the
    /// outcome's name in the JSON output, `connect`'s spelling.
    pub fn outcome(&self) -> &'static str {
        match &self.answer {
            Answer::Addresses(_) | Answer::Services(_) => "answered",
            Answer::Failed { kind, .. } => kind.as_str(),
            Answer::TimedOut => "timed_out",
        }
    }
}
