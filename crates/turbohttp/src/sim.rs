//! Simulated endpoints: a resolver and a dialer whose addresses connect, refuse,
//! stall or fail their setup after given delays, measured on tokio's clock.
//!
//! Under a paused clock (`#[tokio::test(start_paused = true)]`, or a runtime built with
//! `start_paused(true)`) a whole race runs in virtual time, exactly reproducibly, on
//! the very same race logic as a real connect. The network also counts every socket it
//! opens and closes, so that a test can prove every loser was dropped.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
//! use std::time::Duration;
//! use turbohttp::HappyEyeballs;
//! use turbohttp::sim::{Behavior, SimNetwork};
//!
//! let net = SimNetwork::new([
//!     ("[2001:db8::1]:443".parse().unwrap(), Behavior::Stall),
//!     ("192.0.2.1:443".parse().unwrap(), Behavior::Connect(Duration::from_millis(20))),
//! ]);
//! let connector = HappyEyeballs::default()
//!     .with_resolver(net.clone())
//!     .with_dialer(net.clone())
//!     .with_connect_timeout(Duration::from_secs(5));
//! let won = connector.connect("example.test", 443).await.unwrap();
//! assert_eq!(won.report.winner, Some(1));
//! assert_eq!(won.report.elapsed, Duration::from_millis(270)); // 250 ms stagger + 20 ms
//! drop(won);
//! assert_eq!(net.stats().open, 0); // the stalled IPv6 socket was closed
//! # });
//! ```

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::{Instant, sleep};

use turbohttp_proto::dns::{LookupFailure, LookupFailureKind, QueryType};
use turbohttp_proto::service::ServiceInfo;

use crate::dial::{Dialer, Offer};
use crate::resolve::{Answers, Resolver};
use turbohttp_proto::AttemptError;
use turbohttp_proto::plan::Transport;

/// `ECONNREFUSED`, as the OS would report it.
pub const ECONNREFUSED: i32 = if cfg!(windows) {
    10061
} else if cfg!(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd"
)) {
    61
} else {
    111
};

/// `ECONNRESET`, as the OS would report it.
pub const ECONNRESET: i32 = if cfg!(windows) {
    10054
} else if cfg!(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd"
)) {
    54
} else {
    104
};

/// How a simulated endpoint answers a connection attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Behavior {
    /// Connects (and sets up) after this long.
    Connect(Duration),
    /// Refuses (`ECONNREFUSED`) after this long.
    Refuse(Duration),
    /// Never answers.
    Stall,
    /// Connects, then its setup fails (`ECONNRESET`) after this long: the race goes on.
    SetupFail(Duration),
    /// Connects, then its setup is rejected after this long in a way that is terminal
    /// by policy (as an untrusted certificate would be): the race stops.
    Reject(Duration),
}

impl fmt::Display for Behavior {
    /// The `--endpoint` spelling: `ok@40ms`, `refuse@1ms`, `stall`, `setup-fail@5ms`,
    /// `reject@5ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: &Duration| turbohttp_proto::DisplayDuration(*d);
        match self {
            Self::Connect(d) => write!(f, "ok@{}", ms(d)),
            Self::Refuse(d) => write!(f, "refuse@{}", ms(d)),
            Self::Stall => f.write_str("stall"),
            Self::SetupFail(d) => write!(f, "setup-fail@{}", ms(d)),
            Self::Reject(d) => write!(f, "reject@{}", ms(d)),
        }
    }
}

impl FromStr for Behavior {
    type Err = String;

    /// Parses the `--endpoint` spelling: `ok`, `refuse`, `setup-fail` and `reject`
    /// with an optional `@DURATION` (`40ms`, `1.5s`; none is at once), as the DNS
    /// behaviours take theirs; `stall` with none.
    fn from_str(s: &str) -> Result<Self, String> {
        const KINDS: &str = "ok, refuse, stall, setup-fail or reject, with @DURATION \
             (ok@40ms) or without (at once)";
        let (kind, delay) = match s.split_once('@') {
            Some((kind, "")) => {
                return Err(format!(
                    "{kind}@ needs a duration after the @ (as {kind}@40ms), or no @ at all"
                ));
            }
            Some((kind, delay)) => (kind, Some(parse_duration(delay)?)),
            None => (s, None),
        };
        let after = delay.unwrap_or(Duration::ZERO);
        match (kind, delay) {
            ("stall", None) => Ok(Self::Stall),
            ("stall", Some(_)) => Err("\"stall\" takes no duration: it never answers".to_owned()),
            ("ok", _) => Ok(Self::Connect(after)),
            ("refuse", _) => Ok(Self::Refuse(after)),
            ("setup-fail", _) => Ok(Self::SetupFail(after)),
            ("reject", _) => Ok(Self::Reject(after)),
            ("", _) => Err(format!("no behaviour given: expected {KINDS}")),
            (other, _) => Err(format!("unknown behaviour {other:?}: expected {KINDS}")),
        }
    }
}

/// Parses a duration written as a decimal number and a unit: `40ms`, `1.5s`, `2m`,
/// `0ms`, `1000us`. Negative, empty, unit-less and absurdly large values are refused,
/// and so is anything finer than a millisecond (`0.5ms`, `250us`): tokio's timers tick
/// in whole milliseconds, so such a value could not be honoured exactly.
///
/// ```
/// use std::time::Duration;
/// use turbohttp::sim::parse_duration;
/// assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
/// assert!(parse_duration("-1ms").is_err());
/// assert!(parse_duration("10").is_err());
/// assert!(parse_duration("0.5ms").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    const NS_PER_MS: u128 = 1_000_000;
    const MAX: u128 = 86_400 * 365 * 1_000_000_000; // one year, in nanoseconds
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("the duration {s:?} has no unit (write 40ms, 1.5s or 2m)"))?;
    let (number, unit) = s.split_at(split);
    let unit_ns: u128 = match unit {
        "us" | "µs" => 1_000,
        "ms" => NS_PER_MS,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        _ => {
            return Err(format!(
                "the duration {s:?} has an unknown unit {unit:?} (use ms, s, m or us)"
            ));
        }
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(format!(
            "the duration {s:?} is not a non-negative number with a unit"
        ));
    }
    // Exact decimal arithmetic: no float rounding decides what is a whole millisecond.
    let out_of_range = || format!("the duration {s:?} is out of range (at most a year)");
    let whole = whole.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    if whole.len() > 20 || fraction.len() > 20 {
        return Err(out_of_range());
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| out_of_range())?
    };
    let scale = 10u128.pow(u32::try_from(fraction.len()).map_err(|_| out_of_range())?);
    let fraction: u128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().map_err(|_| out_of_range())?
    };
    let total = whole
        .checked_mul(unit_ns)
        .and_then(|w| w.checked_add(fraction * unit_ns / scale))
        .filter(|t| *t <= MAX)
        .ok_or_else(out_of_range)?;
    if total % NS_PER_MS != 0 || !(fraction * unit_ns).is_multiple_of(scale) {
        return Err(format!(
            "the duration {s:?} is finer than a millisecond, the resolution of the timers"
        ));
    }
    u64::try_from(total)
        .map(Duration::from_nanos)
        .map_err(|_| out_of_range())
}

/// What a [`SimNetwork`] has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Sockets open now (dialing, or connected and not yet dropped).
    pub open: usize,
    /// The most sockets open at once.
    pub peak_open: usize,
    /// Sockets opened in all.
    pub opened: usize,
    /// Sockets closed in all.
    pub closed: usize,
    /// Every dial, in order: the address and the instant it started.
    pub dials: Vec<(SocketAddr, Instant)>,
    /// The QUIC dials among them, in order.
    pub quic_dials: Vec<(SocketAddr, Instant)>,
    /// Every DNS query, in order: its type and the instant it was sent.
    pub queries: Vec<(QueryType, Instant)>,
    /// DNS queries still running (sent, not answered, not dropped).
    pub queries_open: usize,
}

/// How a simulated DNS server answers one query type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DnsBehavior {
    /// Answers with the network's addresses of that family after this long.
    Answer(Duration),
    /// Never answers (a lost query, a middlebox that drops AAAA).
    Lost,
    /// SERVFAIL after this long.
    ServFail(Duration),
    /// NXDOMAIN after this long.
    NxDomain(Duration),
    /// NODATA (the name exists, no record of this type) after this long.
    NoData(Duration),
}

impl fmt::Display for DnsBehavior {
    /// The `--dns` spelling: `answer@40ms`, `lost`, `servfail@5ms`, `nxdomain@5ms`,
    /// `nodata@5ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: &Duration| turbohttp_proto::DisplayDuration(*d);
        match self {
            Self::Answer(d) => write!(f, "answer@{}", ms(d)),
            Self::Lost => f.write_str("lost"),
            Self::ServFail(d) => write!(f, "servfail@{}", ms(d)),
            Self::NxDomain(d) => write!(f, "nxdomain@{}", ms(d)),
            Self::NoData(d) => write!(f, "nodata@{}", ms(d)),
        }
    }
}

impl FromStr for DnsBehavior {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (name, delay) = match s.split_once('@') {
            Some((name, delay)) => (name, Some(parse_duration(delay)?)),
            None => (s, None),
        };
        let after = delay.unwrap_or(Duration::ZERO);
        match (name, delay) {
            ("answer", _) => Ok(Self::Answer(after)),
            ("lost", None) => Ok(Self::Lost),
            ("lost", Some(_)) => Err("\"lost\" takes no delay: it never answers".to_owned()),
            ("servfail", _) => Ok(Self::ServFail(after)),
            ("nxdomain", _) => Ok(Self::NxDomain(after)),
            ("nodata", _) => Ok(Self::NoData(after)),
            _ => Err(format!(
                "unknown DNS behaviour {name:?}: expected answer, lost, servfail, nxdomain or nodata \
                 (with @DELAY, e.g. answer@40ms)"
            )),
        }
    }
}

/// How a simulated DNS server answers the HTTPS query (RFC 9460).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpsBehavior {
    /// Answers these records (none: an empty answer) after this long.
    Records(Vec<ServiceInfo>, Duration),
    /// Never answers, or fails as a [`DnsBehavior`] other than `Answer` says.
    Fails(DnsBehavior),
}

impl fmt::Display for HttpsBehavior {
    /// The records in presentation format, `; `-joined, then `@DELAY`; or the
    /// failure's spelling (`lost`, `servfail@5ms`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Records(records, after) => {
                let records: Vec<String> = records.iter().map(ToString::to_string).collect();
                let delay = turbohttp_proto::DisplayDuration(*after);
                write!(f, "{}@{delay}", records.join("; "))
            }
            Self::Fails(failure) => write!(f, "{failure}"),
        }
    }
}

impl FromStr for HttpsBehavior {
    type Err = String;

    /// `lost`, `servfail@D`, `nxdomain@D`, `nodata@D`, `none@D` (an empty answer), or
    /// records `;`-separated, then `@D` (default at once). A record is `,`-separated
    /// keys: `priority=N` (default 1), `target=NAME` (default `.`, the origin),
    /// `alias=NAME` (AliasMode), `alpn=ID+ID`, `no-default-alpn`, `port=N`,
    /// `ipv4hint=IP+IP`, `ipv6hint=IP+IP`, `mandatory=KEY+KEY` (`alpn`, `port`, ...,
    /// or `keyN`), `ech` (the record carries an ECH configuration: the simulated
    /// client offers ECH, so records with one go first, and when every record has
    /// one the origin's own addresses are not dialed).
    ///
    /// ```
    /// use turbohttp::sim::HttpsBehavior;
    /// let b: HttpsBehavior = "alpn=h2,port=8443,ipv4hint=192.0.2.1@5ms".parse().unwrap();
    /// assert_eq!(b.to_string(), "1 . alpn=h2 port=8443 ipv4hint=192.0.2.1@5ms");
    /// ```
    fn from_str(s: &str) -> Result<Self, String> {
        let (body, delay) = match s.rsplit_once('@') {
            Some((body, delay)) => (body, parse_duration(delay)?),
            None => (s, Duration::ZERO),
        };
        match body.trim() {
            "lost" | "servfail" | "nxdomain" | "nodata" => {
                return s.parse::<DnsBehavior>().map(Self::Fails);
            }
            "none" => return Ok(Self::Records(Vec::new(), delay)),
            "" => return Err("no HTTPS record given (use none@DELAY for an empty answer)".into()),
            _ => {}
        }
        let records = body
            .split(';')
            .map(|record| parse_record(record.trim()))
            .collect::<Result<_, _>>()?;
        Ok(Self::Records(records, delay))
    }
}

/// The ECHConfigList a simulated record's `ech` key stands for: an empty list, as no
/// handshake reads it.
const SIM_ECH_CONFIG: &[u8] = &[0, 0];

/// One record of `--dns-https`: see [`HttpsBehavior`]'s `from_str`.
fn parse_record(text: &str) -> Result<ServiceInfo, String> {
    let (mut priority, mut target, mut alias) = (1u16, None::<String>, None::<String>);
    let mut record = ServiceInfo::service(1, None);
    let list = |v: &str| v.split('+').map(str::to_owned).collect::<Vec<_>>();
    let ips = |key: &str, v: &str| {
        list(v)
            .iter()
            .map(|ip| {
                ip.parse::<IpAddr>()
                    .map_err(|e| format!("{key}={ip:?}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()
    };
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (key, value) = item.split_once('=').unwrap_or((item, ""));
        match key {
            "priority" => {
                priority = value
                    .parse()
                    .ok()
                    .filter(|&p| p > 0)
                    .ok_or_else(|| format!("priority={value:?}: a number from 1 to 65535"))?;
            }
            "target" => target = Some(value.trim_end_matches('.').to_owned()),
            "alias" => alias = Some(value.trim_end_matches('.').to_owned()),
            "alpn" => record = record.with_alpn(list(value)),
            "no-default-alpn" => record = record.with_no_default_alpn(),
            // No TLS here: what counts is that the record has a configuration.
            "ech" => record = record.with_ech(SIM_ECH_CONFIG.to_vec()),
            "port" => {
                let port = value
                    .parse()
                    .map_err(|_| format!("port={value:?}: a port"))?;
                record = record.with_port(port);
            }
            "ipv4hint" | "ipv6hint" => {
                let hints = ips(key, value)?;
                let family_ok = hints.iter().all(|ip| ip.is_ipv4() == (key == "ipv4hint"));
                if !family_ok {
                    return Err(format!("{key}={value}: an address of the other family"));
                }
                record = record.with_hints(hints);
            }
            "mandatory" => {
                let keys = list(value)
                    .iter()
                    .map(|k| key_number(k))
                    .collect::<Result<Vec<_>, _>>()?;
                record = record.with_mandatory(keys);
            }
            _ => {
                return Err(format!(
                    "unknown key {key:?} in an HTTPS record: expected priority, target, \
                     alias, alpn, no-default-alpn, port, ipv4hint, ipv6hint, ech or mandatory"
                ));
            }
        }
    }
    if let Some(alias) = alias {
        return Ok(ServiceInfo::alias(&alias));
    }
    record.priority = priority;
    record.target = target.filter(|t| !t.is_empty());
    Ok(record)
}

/// A SvcParamKey by name (`alpn`) or number (`key65000`).
fn key_number(name: &str) -> Result<u16, String> {
    (0..=6)
        .find(|&k| turbohttp_proto::service::key::name(k) == name)
        .or_else(|| name.strip_prefix("key").and_then(|n| n.parse().ok()))
        .ok_or_else(|| format!("mandatory={name:?}: a key name (alpn, port, ...) or keyN"))
}

/// A set of simulated endpoints. Cloning shares the endpoints and the counters.
///
/// As a [`Resolver`] it answers every name with all its addresses in the order given
/// (duplicates included); as a [`Dialer`] it plays each address's [`Behavior`];
/// an address it does not know is unreachable at once.
///
/// With [`SimNetwork::with_dns`] it is a DNS server too: AAAA and A are asked
/// separately ([`Answers::PerFamily`]) and each is answered (or not) as told.
#[derive(Debug, Clone, Default)]
pub struct SimNetwork {
    endpoints: Arc<Vec<(SocketAddr, Behavior)>>,
    dns: Option<(DnsBehavior, DnsBehavior)>,
    https: Option<Arc<HttpsBehavior>>,
    /// How QUIC to each address behaves, when the network speaks QUIC.
    quic: Option<Arc<Vec<(SocketAddr, Behavior)>>>,
    stats: Arc<Mutex<SimStats>>,
}

impl SimNetwork {
    /// A network of these endpoints, in resolver order.
    pub fn new(endpoints: impl IntoIterator<Item = (SocketAddr, Behavior)>) -> Self {
        Self {
            endpoints: Arc::new(endpoints.into_iter().collect()),
            dns: None,
            https: None,
            quic: None,
            stats: Arc::default(),
        }
    }

    /// The same network answering AAAA and A queries separately: `aaaa` and `a` say
    /// how. Without this the network answers every name at once with every address.
    pub fn with_dns(mut self, aaaa: DnsBehavior, a: DnsBehavior) -> Self {
        self.dns = Some((aaaa, a));
        self
    }

    /// The same network answering HTTPS queries as `https` says (it asks for them
    /// only when it also answers AAAA and A apart: [`SimNetwork::with_dns`]).
    pub fn with_https(mut self, https: HttpsBehavior) -> Self {
        self.https = Some(Arc::new(https));
        self
    }

    /// The same network speaking QUIC ([`Dialer::dials_quic`]): a QUIC attempt to an
    /// address of `quic` behaves as given there (a handshake that completes, a
    /// refusal, a stall); to any other address it gets no answer, as when UDP is
    /// blocked. A race asks for QUIC by [`ConnectParams::http3`](crate::ConnectParams::http3).
    pub fn with_quic(mut self, quic: impl IntoIterator<Item = (SocketAddr, Behavior)>) -> Self {
        self.quic = Some(Arc::new(quic.into_iter().collect()));
        self
    }

    /// How AAAA and A are answered, if per family.
    pub fn dns(&self) -> Option<(DnsBehavior, DnsBehavior)> {
        self.dns
    }

    /// The endpoints, in resolver order.
    pub fn endpoints(&self) -> &[(SocketAddr, Behavior)] {
        &self.endpoints
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> SimStats {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, SimStats> {
        // A panicking test thread must not hide the counters from the others.
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn behavior(&self, addr: SocketAddr) -> Option<Behavior> {
        self.endpoints
            .iter()
            .find(|(a, _)| *a == addr)
            .map(|(_, b)| *b)
    }
}

impl Resolver for SimNetwork {
    async fn resolve(&self, _host: &str, _port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok(self.endpoints.iter().map(|(a, _)| *a).collect())
    }

    fn answers(&self, _host: &str, _port: u16) -> Answers {
        match self.dns {
            Some(_) => Answers::PerFamily,
            None => Answers::Combined,
        }
    }

    async fn lookup(
        &self,
        host: &str,
        port: u16,
        query: QueryType,
    ) -> Result<Vec<SocketAddr>, LookupFailure> {
        let _open = OpenQuery::new(&self.stats, query);
        let behavior = match (self.dns, query) {
            (Some((aaaa, _)), QueryType::Aaaa) => aaaa,
            (Some((_, a)), QueryType::A) => a,
            _ => {
                return self
                    .resolve(host, port)
                    .await
                    .map_err(|e| LookupFailure::new(LookupFailureKind::Other, e.to_string()));
            }
        };
        let fail = |kind, words: &str| Err(LookupFailure::new(kind, format!("{words} for {host}")));
        match behavior {
            DnsBehavior::Lost => std::future::pending().await,
            DnsBehavior::Answer(after) => {
                sleep(after).await;
                Ok(self
                    .endpoints
                    .iter()
                    .map(|(a, _)| *a)
                    .filter(|a| query.admits(a))
                    .collect())
            }
            DnsBehavior::ServFail(after) => {
                sleep(after).await;
                fail(LookupFailureKind::ServFail, "the server failed (SERVFAIL)")
            }
            DnsBehavior::NxDomain(after) => {
                sleep(after).await;
                fail(LookupFailureKind::NxDomain, "no such name (NXDOMAIN)")
            }
            DnsBehavior::NoData(after) => {
                sleep(after).await;
                fail(LookupFailureKind::NoData, &format!("no {query} record"))
            }
        }
    }

    fn asks_services(&self, _host: &str, _port: u16) -> bool {
        self.https.is_some() && self.dns.is_some()
    }

    async fn services(&self, host: &str) -> Result<Vec<ServiceInfo>, LookupFailure> {
        let _open = OpenQuery::new(&self.stats, QueryType::Https);
        let Some(https) = self.https.as_deref() else {
            return Err(LookupFailure::new(
                LookupFailureKind::Other,
                "this network simulates no HTTPS record",
            ));
        };
        match https {
            HttpsBehavior::Records(records, after) => {
                sleep(*after).await;
                Ok(records.clone())
            }
            HttpsBehavior::Fails(failure) => {
                let (kind, words, after) = match *failure {
                    DnsBehavior::ServFail(after) => (
                        LookupFailureKind::ServFail,
                        "the server failed (SERVFAIL)",
                        after,
                    ),
                    DnsBehavior::NxDomain(after) => (
                        LookupFailureKind::NxDomain,
                        "no such name (NXDOMAIN)",
                        after,
                    ),
                    DnsBehavior::NoData(after) => {
                        (LookupFailureKind::NoData, "no HTTPS record", after)
                    }
                    DnsBehavior::Lost | DnsBehavior::Answer(_) => std::future::pending().await,
                };
                sleep(after).await;
                Err(LookupFailure::new(kind, format!("{words} for {host}")))
            }
        }
    }
}

/// A query counted open while its future lives: dropped means closed.
struct OpenQuery<'a>(&'a Mutex<SimStats>);

impl<'a> OpenQuery<'a> {
    fn new(stats: &'a Mutex<SimStats>, query: QueryType) -> Self {
        let mut s = stats.lock().unwrap_or_else(PoisonError::into_inner);
        s.queries.push((query, Instant::now()));
        s.queries_open += 1;
        Self(stats)
    }
}

impl Drop for OpenQuery<'_> {
    fn drop(&mut self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .queries_open -= 1;
    }
}

/// A simulated socket: counted open when dialing starts, closed when dropped.
#[derive(Debug)]
pub struct SimSocket {
    addr: SocketAddr,
    stats: Arc<Mutex<SimStats>>,
}

impl SimSocket {
    /// The address it is connected (or connecting) to.
    pub fn peer_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for SimSocket {
    fn drop(&mut self) {
        let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        stats.open -= 1;
        stats.closed += 1;
    }
}

impl Dialer for SimNetwork {
    type Stream = SimSocket;

    /// The simulated client can offer ECH: the race's ECH rules apply to records with
    /// an `ech` key (there is no handshake to offer it in).
    fn offers_ech(&self) -> bool {
        true
    }

    fn dials_quic(&self) -> bool {
        self.quic.is_some()
    }

    async fn dial(&self, addr: SocketAddr) -> Result<SimSocket, AttemptError> {
        self.dial_offering(addr, Offer::default()).await
    }

    async fn dial_offering(
        &self,
        addr: SocketAddr,
        offer: Offer,
    ) -> Result<SimSocket, AttemptError> {
        let quic = offer.transport == Transport::Quic;
        let socket = {
            let mut stats = self.lock();
            stats.open += 1;
            stats.opened += 1;
            stats.peak_open = stats.peak_open.max(stats.open);
            stats.dials.push((addr, Instant::now()));
            if quic {
                stats.quic_dials.push((addr, Instant::now()));
            }
            SimSocket {
                addr,
                stats: self.stats.clone(),
            }
        };
        let os = io::Error::from_raw_os_error;
        let behavior = match &self.quic {
            // UDP that nobody answers: the handshake never completes.
            Some(list) if quic => Some(
                list.iter()
                    .find(|(a, _)| *a == addr)
                    .map_or(Behavior::Stall, |(_, b)| *b),
            ),
            _ => self.behavior(addr),
        };
        match behavior {
            // The report names the address beside this message.
            None => Err(AttemptError::connect(io::Error::new(
                io::ErrorKind::HostUnreachable,
                "not part of the simulated network",
            ))),
            Some(Behavior::Connect(after)) => {
                sleep(after).await;
                Ok(socket)
            }
            Some(Behavior::Refuse(after)) => {
                sleep(after).await;
                Err(AttemptError::connect(os(ECONNREFUSED)))
            }
            Some(Behavior::Stall) => std::future::pending().await,
            Some(Behavior::SetupFail(after)) => {
                sleep(after).await;
                Err(AttemptError::setup(os(ECONNRESET)))
            }
            Some(Behavior::Reject(after)) => {
                sleep(after).await;
                Err(AttemptError::terminal(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the peer's certificate is not valid for this host (simulated)",
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_exact_whole_milliseconds() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("0ms"), Ok(ms(0)));
        assert_eq!(parse_duration("0.001s"), Ok(ms(1)));
        assert_eq!(parse_duration("1000us"), Ok(ms(1)));
        assert_eq!(parse_duration(".25s"), Ok(ms(250)));
        assert_eq!(parse_duration("2m"), Ok(ms(120_000)));
        assert_eq!(parse_duration("1.500000000000000000000s"), Ok(ms(1500)));
        for bad in [
            "0.0001s",
            "1.5ms",
            "5µs",
            ".",
            "ms",
            "1.2.3ms",
            "366d",
            "400000000s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn behaviours_round_trip() {
        for s in [
            "ok@40ms",
            "refuse@1ms",
            "stall",
            "setup-fail@5ms",
            "reject@1.5s",
        ] {
            assert_eq!(s.parse::<Behavior>().unwrap().to_string(), s);
        }
        // No duration is at once, as for the DNS behaviours.
        assert_eq!(
            "ok".parse::<Behavior>(),
            Ok(Behavior::Connect(Duration::ZERO))
        );
        assert_eq!(
            "refuse".parse::<Behavior>(),
            Ok(Behavior::Refuse(Duration::ZERO))
        );
        for bad in [
            "",
            "@1ms",
            "stall@1ms",
            "ok@",
            "ok@-1ms",
            "ok@1",
            "boom@1ms",
            "ok@1.2.3ms",
            "ok@.ms",
            "ok@1e3ms",
            "ok@0.5ms",
            "ok@250us",
            "ok@99999999999999999999999s",
        ] {
            assert!(
                bad.parse::<Behavior>().is_err(),
                "{bad:?} should be refused"
            );
        }
    }
}
