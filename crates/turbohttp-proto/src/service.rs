//! What an origin's HTTPS records (RFC 9460) say about its service, as plain data: the
//! resolver turns each record into a [`ServiceInfo`], and the race decides what of it
//! to use ([`ServiceInfo::verdict`]) and in which order ([`order_services`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The SvcParamKeys the race understands (RFC 9460 §14.3.2, RFC 9848): a record whose
/// `mandatory` list names any other key is skipped.
pub mod key {
    /// `mandatory`: the keys a client must understand to use the record.
    pub const MANDATORY: u16 = 0;
    /// `alpn`: the protocols the service speaks.
    pub const ALPN: u16 = 1;
    /// `no-default-alpn`: `http/1.1` is not implied.
    pub const NO_DEFAULT_ALPN: u16 = 2;
    /// `port`: the port to connect to.
    pub const PORT: u16 = 3;
    /// `ipv4hint`: IPv4 addresses to use until the A answer comes.
    pub const IPV4HINT: u16 = 4;
    /// `ech`: an ECHConfigList (RFC 9848).
    pub const ECH: u16 = 5;
    /// `ipv6hint`: IPv6 addresses to use until the AAAA answer comes.
    pub const IPV6HINT: u16 = 6;

    /// Whether the race knows what `key` means.
    pub fn understood(key: u16) -> bool {
        key <= IPV6HINT
    }

    /// The key's name in presentation format: `alpn`, ..., `key65000` for one the
    /// race does not know.
    pub fn name(key: u16) -> String {
        let known = [
            "mandatory",
            "alpn",
            "no-default-alpn",
            "port",
            "ipv4hint",
            "ech",
            "ipv6hint",
        ];
        known
            .get(usize::from(key))
            .map_or_else(|| format!("key{key}"), |name| (*name).to_owned())
    }
}

/// A set of the HTTP protocols an endpoint may speak, by ALPN id: `h3` (QUIC),
/// `h2` and `http/1.1` (TCP and TLS). Other ALPN ids are not kept.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Protocols(u8);

impl Protocols {
    /// No protocol.
    pub const NONE: Self = Self(0);
    /// HTTP/3, over QUIC.
    pub const H3: Self = Self(1);
    /// HTTP/2, over TCP and TLS.
    pub const H2: Self = Self(2);
    /// HTTP/1.1, over TCP (and TLS for https).
    pub const HTTP_1_1: Self = Self(4);
    /// What runs over TCP: `h2` and `http/1.1`.
    pub const TCP: Self = Self(2 | 4);
    /// Every protocol the race knows.
    pub const ALL: Self = Self(1 | 2 | 4);

    /// The protocol an ALPN id names, if the race knows it.
    pub fn of_alpn(id: &str) -> Option<Self> {
        match id {
            "h3" => Some(Self::H3),
            "h2" => Some(Self::H2),
            "http/1.1" => Some(Self::HTTP_1_1),
            _ => None,
        }
    }

    /// The protocols these ALPN ids name (unknown ids left out).
    pub fn of_alpns<S: AsRef<str>>(ids: impl IntoIterator<Item = S>) -> Self {
        ids.into_iter()
            .filter_map(|id| Self::of_alpn(id.as_ref()))
            .fold(Self::NONE, Self::union)
    }

    /// Both sets.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// What both sets hold.
    pub const fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// Whether every protocol of `other` is in this set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The ALPN ids of the set, in the order a client offers them (`h3`, `h2`,
    /// `http/1.1`).
    pub fn alpn_ids(self) -> impl Iterator<Item = &'static str> {
        [
            (Self::H3, "h3"),
            (Self::H2, "h2"),
            (Self::HTTP_1_1, "http/1.1"),
        ]
        .into_iter()
        .filter(move |(p, _)| self.contains(*p))
        .map(|(_, id)| id)
    }
}

impl fmt::Debug for Protocols {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.alpn_ids()).finish()
    }
}

impl fmt::Display for Protocols {
    /// `h2,http/1.1`, or `-` for none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("-");
        }
        for (i, id) in self.alpn_ids().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(id)?;
        }
        Ok(())
    }
}

/// One HTTPS record (RFC 9460), as the race reads it: AliasMode when `priority` is 0,
/// ServiceMode otherwise.
///
/// ```
/// use turbohttp_proto::service::{Protocols, ServiceInfo, Verdict};
///
/// let record = ServiceInfo::service(1, None).with_alpn(["h2"]).with_port(8443);
/// // http/1.1 is implied unless no-default-alpn says otherwise.
/// assert_eq!(record.protocols(), Protocols::TCP);
/// assert_eq!(record.verdict(Protocols::TCP), Verdict::Use(Protocols::TCP));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ServiceInfo {
    /// 0 for AliasMode; otherwise lower is preferred.
    pub priority: u16,
    /// The TargetName; `None` for "." (the owner name itself: the origin, or the
    /// name an alias led to).
    pub target: Option<String>,
    /// The `alpn` key's ids, in the record's order.
    pub alpn: Vec<String>,
    /// The `no-default-alpn` key: `http/1.1` is not implied.
    pub no_default_alpn: bool,
    /// The `port` key.
    pub port: Option<u16>,
    /// The `ipv4hint` key.
    pub ipv4_hints: Vec<Ipv4Addr>,
    /// The `ipv6hint` key.
    pub ipv6_hints: Vec<Ipv6Addr>,
    /// The `ech` key: an ECHConfigList, as sent.
    pub ech: Option<Vec<u8>>,
    /// The `mandatory` key's list.
    pub mandatory: Vec<u16>,
}

/// What the race makes of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Used: its endpoints are dialed over TCP, offering these protocols.
    Use(Protocols),
    /// An AliasMode record: the race follows it, and dials nothing of its own.
    Alias,
    /// Skipped: its `mandatory` list names a key the race does not understand.
    MandatoryUnknown(u16),
    /// Skipped: it offers only HTTP/3, and QUIC is not dialed.
    QuicOnly,
    /// Skipped: it shares no protocol with the caller.
    NoSharedProtocol,
    /// An AliasMode record that leads back to a name the chain has been through, the
    /// origin's own included: not followed; the origin's own addresses are dialed.
    AliasLoop,
    /// An AliasMode record past the longest chain the race follows
    /// ([`MAX_ALIAS_CHAIN`]): not followed.
    AliasChainTooLong,
    /// An AliasMode record whose target is "." (RFC 9460 §2.5.1: the service is not
    /// available): not followed; the origin's own addresses are dialed.
    AliasToNothing,
    /// Skipped: a ServiceMode record beside an AliasMode record, which takes
    /// precedence (RFC 9460 §2.4.2).
    BesideAlias,
    /// Skipped: its target would be one name more than the race asks addresses for
    /// ([`MAX_TARGETS`]).
    TooManyTargets,
    /// Skipped: past the most records a race uses ([`MAX_SERVICES`]), by priority.
    TooManyRecords,
}

/// The most records of an answer a race uses (by priority; the rest are skipped): each
/// turns the origin's whole answer into endpoints, so an answer of thousands of records
/// would multiply it.
pub const MAX_SERVICES: usize = 16;

/// The most hints of one family a race takes from one record.
pub const MAX_HINTS: usize = 16;

/// The most AliasMode records a race follows, one after the other.
pub const MAX_ALIAS_CHAIN: usize = 4;

/// The most names other than the origin whose addresses a race asks (the targets of
/// HTTPS records, the name an alias led to).
pub const MAX_TARGETS: usize = 4;

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Use(p) => write!(f, "used ({p})"),
            Self::Alias => f.write_str("alias, followed"),
            Self::MandatoryUnknown(k) => {
                write!(
                    f,
                    "skipped: it requires {}, which is not understood",
                    key::name(*k)
                )
            }
            Self::QuicOnly => f.write_str("skipped: HTTP/3 only, and QUIC is not dialed"),
            Self::NoSharedProtocol => f.write_str("skipped: no protocol in common"),
            Self::AliasLoop => f.write_str("alias not followed: it loops"),
            Self::AliasChainTooLong => write!(
                f,
                "alias not followed: more than {MAX_ALIAS_CHAIN} aliases in a row"
            ),
            Self::AliasToNothing => f.write_str("alias to \".\": the service is not available"),
            Self::BesideAlias => f.write_str("skipped: an alias in the same answer comes first"),
            Self::TooManyTargets => {
                write!(f, "skipped: more than {MAX_TARGETS} target names")
            }
            Self::TooManyRecords => write!(f, "skipped: more than {MAX_SERVICES} records"),
        }
    }
}

impl fmt::Display for ServiceInfo {
    /// The record in presentation format (RFC 9460 §2.1), without owner, TTL and
    /// type: `1 . alpn=h2 port=8443 ipv4hint=192.0.2.1`, `0 alias.example` (an ECH
    /// configuration shows its length: `ech=(45 bytes)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            self.priority,
            self.target.as_deref().unwrap_or(".")
        )?;
        if !self.mandatory.is_empty() {
            let keys: Vec<String> = self.mandatory.iter().map(|&k| key::name(k)).collect();
            write!(f, " mandatory={}", keys.join(","))?;
        }
        if !self.alpn.is_empty() {
            write!(f, " alpn={}", self.alpn.join(","))?;
        }
        if self.no_default_alpn {
            f.write_str(" no-default-alpn")?;
        }
        if let Some(port) = self.port {
            write!(f, " port={port}")?;
        }
        let list = |ips: Vec<String>| ips.join(",");
        if !self.ipv4_hints.is_empty() {
            let ips = self.ipv4_hints.iter().map(ToString::to_string).collect();
            write!(f, " ipv4hint={}", list(ips))?;
        }
        if let Some(ech) = &self.ech {
            write!(f, " ech=({} bytes)", ech.len())?;
        }
        if !self.ipv6_hints.is_empty() {
            let ips = self.ipv6_hints.iter().map(ToString::to_string).collect();
            write!(f, " ipv6hint={}", list(ips))?;
        }
        Ok(())
    }
}

/// One record of an HTTPS answer and what the race made of it, as the report keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceRecord {
    /// The record.
    pub info: ServiceInfo,
    /// Used or skipped, and why.
    pub verdict: Verdict,
    /// Its place in the order services are tried (0 first), if used.
    pub rank: Option<usize>,
}

impl ServiceInfo {
    /// A ServiceMode record of `priority` (at least 1) for `target` (`None`: ".").
    pub fn service(priority: u16, target: Option<&str>) -> Self {
        Self {
            priority: priority.max(1),
            target: target.map(str::to_owned),
            ..Self::default()
        }
    }

    /// An AliasMode record pointing to `target`.
    pub fn alias(target: &str) -> Self {
        // Priority 0, the default, is AliasMode.
        Self {
            target: Some(target.to_owned()),
            ..Self::default()
        }
    }

    /// With the `alpn` key.
    pub fn with_alpn<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.alpn = ids.into_iter().map(Into::into).collect();
        self
    }

    /// With the `no-default-alpn` key.
    pub fn with_no_default_alpn(mut self) -> Self {
        self.no_default_alpn = true;
        self
    }

    /// With the `port` key.
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// With `ipv4hint` and `ipv6hint` keys holding these addresses.
    pub fn with_hints(mut self, hints: impl IntoIterator<Item = IpAddr>) -> Self {
        for ip in hints {
            match ip {
                IpAddr::V4(v4) => self.ipv4_hints.push(v4),
                IpAddr::V6(v6) => self.ipv6_hints.push(v6),
            }
        }
        self
    }

    /// With the `ech` key.
    pub fn with_ech(mut self, config_list: Vec<u8>) -> Self {
        self.ech = Some(config_list);
        self
    }

    /// With the `mandatory` key.
    pub fn with_mandatory(mut self, keys: impl IntoIterator<Item = u16>) -> Self {
        self.mandatory = keys.into_iter().collect();
        self
    }

    /// Whether this is an AliasMode record.
    pub fn is_alias(&self) -> bool {
        self.priority == 0
    }

    /// The protocols the record says the service speaks: its `alpn` ids, plus
    /// `http/1.1` unless `no-default-alpn` (RFC 9460 §7.1.2).
    pub fn protocols(&self) -> Protocols {
        let listed = Protocols::of_alpns(&self.alpn);
        if self.no_default_alpn {
            listed
        } else {
            listed.union(Protocols::HTTP_1_1)
        }
    }

    /// The hints the race uses, IPv6 first: at most [`MAX_HINTS`] of each family.
    pub fn hints(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let v6 = self
            .ipv6_hints
            .iter()
            .take(MAX_HINTS)
            .map(|&ip| IpAddr::V6(ip));
        v6.chain(
            self.ipv4_hints
                .iter()
                .take(MAX_HINTS)
                .map(|&ip| IpAddr::V4(ip)),
        )
    }

    /// What the race makes of this record for a caller that speaks `caller` over TCP
    /// (QUIC not dialed, see [`ServiceInfo::verdict_dialing`]: a record whose only
    /// shared protocol would be `h3` is skipped as [`Verdict::QuicOnly`]).
    pub fn verdict(&self, caller: Protocols) -> Verdict {
        self.verdict_dialing(caller, false)
    }

    /// [`ServiceInfo::verdict`] for a caller that can dial QUIC when `quic`: then
    /// `h3`, if the caller speaks it, is used like the TCP protocols (the record's
    /// endpoints are dialed over QUIC for it), and a record that shares only `h3`
    /// is used too.
    pub fn verdict_dialing(&self, caller: Protocols, quic: bool) -> Verdict {
        if self.is_alias() {
            return Verdict::Alias;
        }
        if let Some(&k) = self.mandatory.iter().find(|&&k| !key::understood(k)) {
            return Verdict::MandatoryUnknown(k);
        }
        let dialed = if quic { Protocols::ALL } else { Protocols::TCP };
        let tcp = self.protocols().intersection(caller).intersection(dialed);
        if !tcp.is_empty() {
            Verdict::Use(tcp)
        } else if self.protocols().contains(Protocols::H3) {
            // Whatever the caller asked for: no attempt of this crate speaks QUIC yet.
            Verdict::QuicOnly
        } else {
            Verdict::NoSharedProtocol
        }
    }
}

/// The order in which services are tried (draft-ietf-happy-happyeyeballs-v3 §5.2):
/// by priority, lowest first; services of equal priority shuffled by `seed`, so that
/// load spreads across them while a test with a fixed seed stays exact. Returns the
/// indices into `records`, of the records given by `usable`.
pub fn order_services(
    records: &[ServiceInfo],
    usable: impl Fn(usize) -> bool,
    seed: u64,
) -> Vec<usize> {
    let mut order: Vec<(u16, u64, usize)> = records
        .iter()
        .enumerate()
        .filter(|&(i, _)| usable(i))
        .map(|(i, r)| (r.priority, mix(seed ^ (i as u64)), i))
        .collect();
    order.sort_unstable();
    order.into_iter().map(|(_, _, i)| i).collect()
}

/// SplitMix64's finaliser: a seed and an index into an evenly spread number.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
