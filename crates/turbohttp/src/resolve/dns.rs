//! [`DnsResolver`]: DNS lookups of one record type per call (AAAA or A) on
//! hickory-resolver, so that the race can hold the two queries as separate futures and
//! start connecting as soon as either answers (RFC 8305 §3).
//!
//! hickory's `lookup_ip` joins the A and AAAA queries into one future; it is not used.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::lookup::Lookup;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::rdata::svcb::{SVCB, SvcParamValue};
use hickory_resolver::proto::rr::rdata::{A, AAAA, CNAME};
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use turbohttp_proto::dns::{LookupFailure, LookupFailureKind, QueryType};
use turbohttp_proto::service::ServiceInfo;

/// The file [`DnsResolver::system`] reads on Unix.
#[cfg(all(unix, not(any(target_os = "android", target_vendor = "apple"))))]
const RESOLV_CONF: &str = "/etc/resolv.conf";

/// A DNS stub resolver that asks one record type per call, on hickory-resolver and
/// tokio.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use turbohttp::DnsResolver;
/// use turbohttp::QueryType;
///
/// let resolver = DnsResolver::with_servers(&["127.0.0.1:53".parse()?]);
/// // Two independent futures: the race starts on whichever answers first.
/// let (v6, v4) = tokio::join!(
///     resolver.lookup("dual.test", QueryType::Aaaa),
///     resolver.lookup("dual.test", QueryType::A),
/// );
/// println!("AAAA: {v6:?}, A: {v4:?}");
/// # Ok(())
/// # }
/// ```
///
/// Built either from the system configuration ([`DnsResolver::system`]: resolv.conf,
/// `/etc/hosts`) or for exactly the given servers ([`DnsResolver::with_servers`],
/// [`DnsResolver::new`]). Queries go over UDP and are retried over TCP when the answer
/// comes back truncated. Answers are cached for their TTL unless
/// [`DnsOptions::cache`] is off.
///
/// Cloning is cheap (the resolver, its cache and its connections are shared). A lookup
/// future owns no task and no thread: dropping it abandons its query at once.
#[derive(Clone)]
pub struct DnsResolver {
    inner: Arc<Inner>,
}

struct Inner {
    /// hickory cannot fail to build a resolver without TLS, but its signature says it
    /// can: a failure is kept here and returned by every lookup rather than panicking.
    resolver: Result<TokioResolver, NetError>,
    /// Where the configuration came from, for Debug.
    source: Option<PathBuf>,
    servers: Vec<SocketAddr>,
    options: DnsOptions,
    /// Addresses answered before, until their TTL runs out, [A, AAAA], when the cache
    /// is on. hickory caches whole messages; on a warm connect, going through its cache
    /// costs more than the connect's own race, so answers are kept here too.
    answers: Option<Mutex<[HashMap<String, Answer>; 2]>>,
}

/// A remembered answer.
struct Answer {
    addrs: Vec<IpAddr>,
    valid_until: Instant,
}

/// The most names remembered per record type; past it the memory starts over.
const MAX_REMEMBERED: usize = 1024;

/// How a [`DnsResolver`] built by [`DnsResolver::new`] queries its servers.
///
/// ```
/// use std::time::Duration;
/// use turbohttp::DnsOptions;
///
/// let options = DnsOptions::default()
///     .with_timeout(Duration::from_millis(500))
///     .with_attempts(1)
///     .with_cache(false);
/// assert_eq!(options.attempts, 1);
/// assert!(!options.hosts_file);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DnsOptions {
    /// How long one try of a query waits for its answer. Default 5 s, resolv.conf's.
    pub timeout: Duration,
    /// How many times a query is sent before it fails (1: no retry; 0 counts as 1).
    /// Default 2, resolv.conf's. Only silences, timeouts and unreadable answers are
    /// retried: NXDOMAIN and NODATA are final.
    pub attempts: usize,
    /// Keep answers, positive and negative, for their TTL. Default true.
    pub cache: bool,
    /// Answer from the system's hosts file (`/etc/hosts`) before asking the servers.
    /// Default false: the resolver asks exactly the servers it was given.
    pub hosts_file: bool,
}

impl Default for DnsOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            attempts: 2,
            cache: true,
            hosts_file: false,
        }
    }
}

impl DnsOptions {
    /// Sets [`DnsOptions::timeout`].
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets [`DnsOptions::attempts`].
    #[must_use]
    pub fn with_attempts(mut self, attempts: usize) -> Self {
        self.attempts = attempts;
        self
    }

    /// Sets [`DnsOptions::cache`].
    #[must_use]
    pub fn with_cache(mut self, cache: bool) -> Self {
        self.cache = cache;
        self
    }

    /// Sets [`DnsOptions::hosts_file`].
    #[must_use]
    pub fn with_hosts_file(mut self, hosts_file: bool) -> Self {
        self.hosts_file = hosts_file;
        self
    }

    /// hickory's options for these: hickory counts retries, not tries.
    fn to_hickory(&self) -> ResolverOpts {
        let mut opts = ResolverOpts::default();
        opts.timeout = self.timeout;
        opts.attempts = self.attempts.max(1) - 1;
        opts.use_hosts_file = if self.hosts_file {
            ResolveHosts::Always
        } else {
            ResolveHosts::Never
        };
        if !self.cache {
            // An empty cache whose entries expire at once, whatever its eviction lag.
            opts.cache_size = 0;
            opts.positive_max_ttl = Some(Duration::ZERO);
            opts.negative_max_ttl = Some(Duration::ZERO);
        }
        opts
    }

    /// Ours, read back from hickory's (for the system configuration's Debug).
    fn from_hickory(opts: &ResolverOpts) -> Self {
        Self {
            timeout: opts.timeout,
            attempts: opts.attempts + 1,
            cache: opts.cache_size > 0,
            hosts_file: opts.use_hosts_file != ResolveHosts::Never,
        }
    }
}

/// Why [`DnsResolver::system`] could not read the system's DNS configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DnsConfigError {
    /// The configuration file could not be read.
    #[error("cannot read the DNS configuration {}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why (in the message already, so not a `source()`).
        error: io::Error,
    },
    /// The configuration file was read but cannot be used.
    #[error("cannot use the DNS configuration {}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What hickory-resolver objected to.
        reason: String,
    },
    /// The platform's configuration (not a file) could not be read.
    #[error("cannot read the system's DNS configuration: {reason}")]
    System {
        /// What hickory-resolver reported.
        reason: String,
    },
}

impl DnsResolver {
    /// The system's configuration: nameservers, search list, `ndots`, timeout and
    /// attempts from `/etc/resolv.conf` (the platform's equivalent elsewhere), the
    /// hosts file answering first, the cache on.
    ///
    /// Fails, without falling back to anything, when the configuration cannot be read
    /// or used (a missing file, no `nameserver` line, an invalid search domain): the
    /// caller decides what to do instead. Options hickory does not know
    /// (`options no-aaaa`, `retrans:1`, ...) are skipped with a tracing warning, not
    /// refused.
    pub fn system() -> Result<Self, DnsConfigError> {
        #[cfg(all(unix, not(any(target_os = "android", target_vendor = "apple"))))]
        {
            Self::from_resolv_conf_file(std::path::Path::new(RESOLV_CONF))
        }
        #[cfg(not(all(unix, not(any(target_os = "android", target_vendor = "apple")))))]
        {
            let (config, mut opts) =
                hickory_resolver::system_conf::read_system_conf().map_err(|error| {
                    DnsConfigError::System {
                        reason: reason(&error),
                    }
                })?;
            opts.use_hosts_file = ResolveHosts::Always;
            Ok(Self::build(config, opts, None))
        }
    }

    /// What [`DnsResolver::system`] does with the resolv.conf at `path`; tests give
    /// it other files.
    #[cfg(all(unix, not(any(target_os = "android", target_vendor = "apple"))))]
    pub(crate) fn from_resolv_conf_file(path: &std::path::Path) -> Result<Self, DnsConfigError> {
        let text = std::fs::read(path).map_err(|error| DnsConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        Self::from_resolv_conf(path, &text)
    }

    /// The resolver [`DnsResolver::system`] builds from resolv.conf text read at
    /// `path`. hickory parses it (`parse_resolv_conf`); its own reading of the file
    /// would not name the file in its errors.
    #[cfg(all(unix, not(any(target_os = "android", target_vendor = "apple"))))]
    pub(crate) fn from_resolv_conf(
        path: &std::path::Path,
        text: &[u8],
    ) -> Result<Self, DnsConfigError> {
        let (config, mut opts) =
            hickory_resolver::system_conf::parse_resolv_conf(text).map_err(|error| {
                DnsConfigError::Invalid {
                    path: path.to_owned(),
                    reason: reason(&error),
                }
            })?;
        opts.use_hosts_file = ResolveHosts::Always;
        Ok(Self::build(config, opts, Some(path.to_owned())))
    }

    /// Exactly these servers (UDP, TCP for truncated answers), with the default
    /// [`DnsOptions`]: no hosts file, no resolv.conf, no search list.
    pub fn with_servers(servers: &[SocketAddr]) -> Self {
        Self::new(servers, &DnsOptions::default())
    }

    /// Exactly these servers, queried in the given order, with these options. With no
    /// server, every lookup fails (kind [`Other`](LookupFailureKind::Other)).
    pub fn new(servers: &[SocketAddr], options: &DnsOptions) -> Self {
        let name_servers = servers
            .iter()
            .map(|server| {
                let mut udp = ConnectionConfig::udp();
                udp.port = server.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = server.port();
                NameServerConfig::new(server.ip(), true, vec![udp, tcp])
            })
            .collect();
        let config = ResolverConfig::from_parts(None, Vec::new(), name_servers);
        let mut opts = options.to_hickory();
        // Ask the servers in the caller's order, not by hickory's latency statistics.
        opts.server_ordering_strategy =
            hickory_resolver::config::ServerOrderingStrategy::UserProvidedOrder;
        Self::build(config, opts, None)
    }

    fn build(config: ResolverConfig, opts: ResolverOpts, source: Option<PathBuf>) -> Self {
        let servers = config
            .name_servers()
            .iter()
            .filter_map(|server| {
                let port = server.connections.first()?.port;
                Some(SocketAddr::new(server.ip, port))
            })
            .collect();
        let options = DnsOptions::from_hickory(&opts);
        let resolver = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(opts)
            .build();
        let answers = options.cache.then(Mutex::default);
        Self {
            inner: Arc::new(Inner {
                resolver,
                source,
                servers,
                options,
                answers,
            }),
        }
    }

    /// The servers asked, in order.
    pub fn servers(&self) -> &[SocketAddr] {
        &self.inner.servers
    }

    /// The addresses of one record type of `name`, in the server's order: AAAA
    /// ([`QueryType::Aaaa`]) or A ([`QueryType::A`]), CNAMEs followed.
    ///
    /// An IP literal answers itself (its own family) without a query.
    /// [`QueryType::AddrInfo`] is not a DNS query and fails (kind
    /// [`Other`](LookupFailureKind::Other)). Nothing a server sends makes this panic:
    /// every failure is a [`LookupFailure`] whose kind says NXDOMAIN, NODATA, SERVFAIL,
    /// REFUSED, timeout or unusable answer.
    pub fn lookup<'a>(
        &'a self,
        name: &'a str,
        query: QueryType,
    ) -> impl Future<Output = Result<Vec<IpAddr>, LookupFailure>> + Send + 'a {
        // The one lookup's own future, not one awaiting it: the race holds it inline.
        self.lookup_reading(name, query, |addrs, _| addrs)
    }

    /// [`lookup`](Self::lookup), with how long the answer may be kept: the least TTL
    /// of its address records, or what is left of it for an answer remembered from
    /// before; zero for an IP literal (no query). A diagnosis shows it (`doctor`).
    pub fn lookup_with_ttl<'a>(
        &'a self,
        name: &'a str,
        query: QueryType,
    ) -> impl Future<Output = Result<(Vec<IpAddr>, Duration), LookupFailure>> + Send + 'a {
        self.lookup_reading(name, query, |addrs, ttl| (addrs, ttl))
    }

    /// The lookup both of those are, `read` making its result of the addresses and
    /// their TTL.
    async fn lookup_reading<T>(
        &self,
        name: &str,
        query: QueryType,
        read: impl FnOnce(Vec<IpAddr>, Duration) -> T + Send,
    ) -> Result<T, LookupFailure> {
        let want_v6 = match query {
            QueryType::Aaaa => true,
            QueryType::A => false,
            _ => {
                return Err(LookupFailure::new(
                    LookupFailureKind::Other,
                    "a one-shot lookup of every family is not a DNS query; ask for AAAA or A"
                        .to_owned(),
                ));
            }
        };
        if let Ok(ip) = name.parse::<IpAddr>() {
            return if ip.is_ipv6() == want_v6 {
                Ok(read(vec![ip], Duration::ZERO))
            } else {
                let family = if ip.is_ipv6() { "IPv6" } else { "IPv4" };
                Err(LookupFailure::new(
                    LookupFailureKind::NoData,
                    format!("{name} is an {family} address: it has no {query} record"),
                ))
            };
        }
        if name.is_empty() {
            return Err(invalid_name(name, "it is empty"));
        }
        if let Some((addrs, left)) = self.remembered(name, want_v6) {
            return Ok(read(addrs, left));
        }
        let (dns_name, resolver) = self.asking(name)?;
        let result = if want_v6 {
            resolver.ipv6_lookup(dns_name.clone()).await
        } else {
            resolver.ipv4_lookup(dns_name.clone()).await
        };
        match result {
            Ok(lookup) => {
                let addrs = addresses(&lookup, &dns_name, want_v6);
                if addrs.is_empty() {
                    Err(LookupFailure::new(
                        LookupFailureKind::BadAnswer,
                        format!("the answer for {name} held no {query} record"),
                    ))
                } else {
                    self.remember(name, want_v6, &addrs, lookup.valid_until());
                    let ttl = least_ttl(&lookup, &dns_name, want_v6);
                    Ok(read(addrs, ttl))
                }
            }
            Err(error) => Err(self.failure(&error, name, query)),
        }
    }

    /// The HTTPS records (RFC 9460) at `name`, asked as is (an origin's are at
    /// [`https_query_name`](turbohttp_proto::dns::https_query_name)`(host, port)`: `_PORT._https.host` unless the port is
    /// 443), CNAMEs followed, each read into a [`ServiceInfo`] (AliasMode included;
    /// which to use is the race's decision). An IP literal has none (NODATA, without
    /// a query); SvcParams that cannot be read are a
    /// [`BadAnswer`](LookupFailureKind::BadAnswer).
    pub async fn services(&self, name: &str) -> Result<Vec<ServiceInfo>, LookupFailure> {
        if name.parse::<IpAddr>().is_ok() {
            return Err(LookupFailure::new(
                LookupFailureKind::NoData,
                format!("{name} is an IP address: it has no HTTPS record"),
            ));
        }
        if name.is_empty() {
            return Err(invalid_name(name, "it is empty"));
        }
        let (dns_name, resolver) = self.asking(name)?;
        match resolver.lookup(dns_name.clone(), RecordType::HTTPS).await {
            Ok(lookup) => {
                let owners = owners(&lookup, &dns_name);
                Ok(lookup
                    .answers()
                    .iter()
                    .filter(|record| owners.contains(&&record.name))
                    .filter_map(|record| match &record.data {
                        RData::HTTPS(https) => Some(service_info(&https.0)),
                        _ => None,
                    })
                    .collect())
            }
            Err(error) => Err(self.failure(&error, name, QueryType::Https)),
        }
    }

    /// `name` as a DNS name, and the client to ask it with: what both lookups need
    /// before sending, each failure a [`LookupFailure`].
    fn asking(&self, name: &str) -> Result<(Name, &TokioResolver), LookupFailure> {
        let dns_name =
            Name::from_utf8(name).map_err(|error| invalid_name(name, &error.to_string()))?;
        match &self.inner.resolver {
            Ok(resolver) => Ok((dns_name, resolver)),
            Err(error) => Err(LookupFailure::new(
                LookupFailureKind::Other,
                format!("the DNS resolver could not be set up: {}", reason(error)),
            )),
        }
    }

    /// The addresses answered for `name` before, if still within their TTL, and what
    /// is left of it.
    fn remembered(&self, name: &str, want_v6: bool) -> Option<(Vec<IpAddr>, Duration)> {
        let answers = self.inner.answers.as_ref()?;
        let answers = answers.lock().unwrap_or_else(PoisonError::into_inner);
        let answer = answers[usize::from(want_v6)].get(name)?;
        let left = answer.valid_until.checked_duration_since(Instant::now())?;
        (!left.is_zero()).then(|| (answer.addrs.clone(), left))
    }

    fn remember(&self, name: &str, want_v6: bool, addrs: &[IpAddr], valid_until: Instant) {
        let Some(answers) = &self.inner.answers else {
            return;
        };
        let mut answers = answers.lock().unwrap_or_else(PoisonError::into_inner);
        let table = &mut answers[usize::from(want_v6)];
        if table.len() >= MAX_REMEMBERED && !table.contains_key(name) {
            table.clear();
        }
        table.insert(
            name.to_owned(),
            Answer {
                addrs: addrs.to_vec(),
                valid_until,
            },
        );
    }

    /// hickory's error as the race's kind and a short phrase.
    fn failure(&self, error: &NetError, name: &str, query: QueryType) -> LookupFailure {
        use LookupFailureKind as Kind;
        match error {
            NetError::Dns(DnsError::NoRecordsFound(no_records)) => {
                match no_records.response_code {
                    ResponseCode::NXDomain => LookupFailure::new(
                        Kind::NxDomain,
                        format!("{name} does not exist (NXDOMAIN)"),
                    ),
                    // Also what hickory reports for records owned by another name and
                    // for CNAME chains that never reach a record (loops): it keeps only
                    // records for the names it asked, and finds none.
                    ResponseCode::NoError => {
                        LookupFailure::new(Kind::NoData, format!("no {query} record for {name}"))
                    }
                    code => response_code_failure(code),
                }
            }
            NetError::Dns(DnsError::ResponseCode(code)) => response_code_failure(*code),
            NetError::Timeout => {
                let options = &self.inner.options;
                let tries = match options.attempts {
                    1 => String::new(),
                    tries => format!(", {tries} tries"),
                };
                LookupFailure::new(
                    Kind::TimedOut,
                    format!(
                        "no answer for {name} within {:?}{tries} ({})",
                        options.timeout,
                        self.asked()
                    ),
                )
            }
            NetError::Proto(error) => LookupFailure::new(
                Kind::BadAnswer,
                format!("the answer could not be read: {error}"),
            ),
            NetError::QueryCaseMismatch => LookupFailure::new(
                Kind::BadAnswer,
                "the answer's question did not match the query's case (spoofed?)",
            ),
            NetError::ForeignClassRecord { .. } => LookupFailure::new(
                Kind::BadAnswer,
                "the answer held a record of another class than IN",
            ),
            NetError::Truncated => {
                LookupFailure::new(Kind::BadAnswer, "the answer was truncated even over TCP")
            }
            NetError::NoConnections if self.inner.servers.is_empty() => {
                LookupFailure::new(Kind::Other, "no DNS server is configured")
            }
            NetError::NoConnections => LookupFailure::new(
                Kind::Other,
                format!("no DNS server could be reached ({})", self.asked()),
            ),
            NetError::Io(error) => LookupFailure::new(
                Kind::Other,
                format!("cannot reach the DNS server ({}): {error}", self.asked()),
            ),
            other => LookupFailure::new(Kind::Other, reason(other)),
        }
    }
}

impl DnsResolver {
    /// `asked 127.0.0.53:53`: the servers a failure came from, so that an operator
    /// knows which configuration to check.
    fn asked(&self) -> String {
        /// A long list is cut: the first few say which configuration it was.
        const NAMED: usize = 3;
        let servers = &self.inner.servers;
        let mut text = String::from("asked ");
        for (i, server) in servers.iter().take(NAMED).enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            text.push_str(&server.to_string());
        }
        if servers.len() > NAMED {
            text.push_str(&format!(" and {} more", servers.len() - NAMED));
        }
        text
    }
}

impl fmt::Debug for DnsResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("DnsResolver")
            .field("source", &inner.source)
            .field("servers", &inner.servers)
            .field("options", &inner.options)
            .finish_non_exhaustive()
    }
}

/// The addresses of `lookup` of the asked family, in order, owned by the asked name or
/// a CNAME target reached from it: hickory hands back the server's whole message when
/// it holds the answer, other owners included.
fn addresses(lookup: &Lookup, asked: &Name, want_v6: bool) -> Vec<IpAddr> {
    let owners = owners(lookup, asked);
    lookup
        .answers()
        .iter()
        .filter(|record| owners.contains(&&record.name))
        .filter_map(|record| match (&record.data, want_v6) {
            (RData::AAAA(AAAA(v6)), true) => Some(IpAddr::V6(*v6)),
            (RData::A(A(v4)), false) => Some(IpAddr::V4(*v4)),
            _ => None,
        })
        .collect()
}

/// The least TTL of the address records `addresses` reads from `lookup`.
fn least_ttl(lookup: &Lookup, asked: &Name, want_v6: bool) -> Duration {
    let owners = owners(lookup, asked);
    let ttl = lookup
        .answers()
        .iter()
        .filter(|record| owners.contains(&&record.name))
        .filter(|record| match &record.data {
            RData::AAAA(_) => want_v6,
            RData::A(_) => !want_v6,
            _ => false,
        })
        .map(|record| record.ttl)
        .min()
        .unwrap_or(0);
    Duration::from_secs(u64::from(ttl))
}

/// One HTTPS record as the race reads it: "." as `None`, each key it knows by value,
/// the keys it does not know only through `mandatory` (which the race checks).
fn service_info(svcb: &SVCB) -> ServiceInfo {
    let target = (!svcb.target_name.is_root()).then(|| {
        let name = svcb.target_name.to_utf8();
        name.strip_suffix('.').map(str::to_owned).unwrap_or(name)
    });
    let mut info = if svcb.svc_priority == 0 {
        ServiceInfo::alias(target.as_deref().unwrap_or("."))
    } else {
        ServiceInfo::service(svcb.svc_priority, target.as_deref())
    };
    for (_, value) in &svcb.svc_params {
        match value {
            SvcParamValue::Mandatory(keys) => {
                info = info.with_mandatory(keys.0.iter().map(|&k| u16::from(k)));
            }
            SvcParamValue::Alpn(alpn) => info = info.with_alpn(alpn.0.iter().cloned()),
            SvcParamValue::NoDefaultAlpn => info = info.with_no_default_alpn(),
            SvcParamValue::Port(port) => info = info.with_port(*port),
            SvcParamValue::Ipv4Hint(hints) => {
                info = info.with_hints(hints.0.iter().map(|A(v4)| IpAddr::V4(*v4)));
            }
            SvcParamValue::Ipv6Hint(hints) => {
                info = info.with_hints(hints.0.iter().map(|AAAA(v6)| IpAddr::V6(*v6)));
            }
            SvcParamValue::EchConfigList(list) => info = info.with_ech(list.0.clone()),
            _ => {}
        }
    }
    info
}

/// The names whose records count in `lookup`: the name asked, the name hickory asked
/// last (with a search list), and CNAME targets reached from them. Borrowed: no Name
/// is cloned on the hot path.
fn owners<'a>(lookup: &'a Lookup, asked: &'a Name) -> Vec<&'a Name> {
    let mut owners: Vec<&Name> = vec![asked];
    // With a search list, the name that answered is the one hickory asked last.
    if let Some(query) = lookup.message().queries.first() {
        owners.push(query.name());
    }
    for record in lookup.answers() {
        if let RData::CNAME(CNAME(target)) = &record.data
            && owners.contains(&&record.name)
            && !owners.contains(&target)
        {
            owners.push(target);
        }
    }
    owners
}

fn response_code_failure(code: ResponseCode) -> LookupFailure {
    use LookupFailureKind as Kind;
    match code {
        ResponseCode::ServFail => {
            LookupFailure::new(Kind::ServFail, "the server failed (SERVFAIL)")
        }
        ResponseCode::Refused => {
            LookupFailure::new(Kind::Refused, "the server refused the query (REFUSED)")
        }
        code => LookupFailure::new(
            Kind::Other,
            format!(
                "the server answered {} ({})",
                u16::from(code),
                code.to_str().to_lowercase()
            ),
        ),
    }
}

fn invalid_name(name: &str, why: &str) -> LookupFailure {
    LookupFailure::new(
        LookupFailureKind::Other,
        format!("{name:?} is not a valid DNS name: {why}"),
    )
}

/// hickory's words, without its "io error: " wrapping of its own messages.
fn reason(error: &NetError) -> String {
    match error {
        NetError::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

impl super::Resolver for DnsResolver {
    /// AAAA and A at once, joined: the IPv6 addresses first. The race does not use
    /// this; it asks each family on its own ([`Answers::PerFamily`](crate::Answers)).
    async fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        let (v6, v4) = tokio::join!(
            DnsResolver::lookup(self, host, QueryType::Aaaa),
            DnsResolver::lookup(self, host, QueryType::A)
        );
        match (v6, v4) {
            (Err(v6), Err(v4)) => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("AAAA: {v6}; A: {v4}"),
            )),
            (v6, v4) => Ok(v6
                .unwrap_or_default()
                .into_iter()
                .chain(v4.unwrap_or_default())
                .map(|ip| SocketAddr::new(ip, port))
                .collect()),
        }
    }

    fn answers(&self, _host: &str, _port: u16) -> super::Answers {
        super::Answers::PerFamily
    }

    fn asks_services(&self, host: &str, _port: u16) -> bool {
        host.parse::<IpAddr>().is_err()
    }

    fn services(
        &self,
        name: &str,
    ) -> impl std::future::Future<Output = Result<Vec<ServiceInfo>, LookupFailure>> + Send {
        DnsResolver::services(self, name)
    }

    async fn lookup(
        &self,
        host: &str,
        port: u16,
        query: QueryType,
    ) -> Result<Vec<SocketAddr>, LookupFailure> {
        if query == QueryType::AddrInfo {
            // Boxed: two lookups joined are twice a query's state, and every race would
            // carry room for them although the race asks AAAA and A apart.
            return Box::pin(super::Resolver::resolve(self, host, port))
                .await
                .map_err(|e| super::lookup_failure(&e));
        }
        let ips = DnsResolver::lookup(self, host, query).await?;
        Ok(ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[cfg(all(unix, not(any(target_os = "android", target_vendor = "apple"))))]
    fn parse(text: &str) -> Result<DnsResolver, DnsConfigError> {
        DnsResolver::from_resolv_conf(Path::new("/test/resolv.conf"), text.as_bytes())
    }

    #[test]
    #[cfg(all(unix, not(any(target_os = "android", target_vendor = "apple"))))]
    fn a_good_resolv_conf_gives_its_nameservers_and_options() {
        let resolver = parse(
            "# comment\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n\
             search corp.test\noptions ndots:2 timeout:3 attempts:4\n",
        )
        .expect("parsed");
        assert_eq!(
            resolver.servers(),
            [
                "192.0.2.53:53".parse().unwrap(),
                "[2001:db8::53]:53".parse().unwrap()
            ]
        );
        let options = &resolver.inner.options;
        assert_eq!(options.timeout, Duration::from_secs(3));
        // hickory reads `attempts:4` as four retries, five tries.
        assert_eq!(options.attempts, 5);
        assert!(options.cache);
        assert!(options.hosts_file);
        assert_eq!(
            resolver.inner.source.as_deref(),
            Some(Path::new("/test/resolv.conf"))
        );
    }

    /// hickory 0.26 (resolv-conf 0.7.6) skips options it does not know, with a
    /// warning: the configuration stays usable (hickory issue #3137 is fixed there).
    #[test]
    #[cfg(all(unix, not(any(target_os = "android", target_vendor = "apple"))))]
    fn unknown_options_are_skipped_not_refused() {
        let resolver = parse("nameserver 192.0.2.53\noptions edns0 no-aaaa retrans:1 frobnicate\n")
            .expect("unknown options are skipped");
        assert_eq!(resolver.servers(), ["192.0.2.53:53".parse().unwrap()]);
    }

    #[test]
    #[cfg(all(unix, not(any(target_os = "android", target_vendor = "apple"))))]
    fn a_resolv_conf_without_nameservers_is_refused_with_a_sentence() {
        let error = parse("search corp.test\noptions ndots:1\n").unwrap_err();
        assert!(matches!(error, DnsConfigError::Invalid { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            "cannot use the DNS configuration /test/resolv.conf: no nameservers found in config"
        );
    }

    #[test]
    #[cfg(all(unix, not(any(target_os = "android", target_vendor = "apple"))))]
    fn an_invalid_search_domain_is_refused() {
        let label = "x".repeat(64);
        let error = parse(&format!("nameserver 192.0.2.53\nsearch {label}.test\n")).unwrap_err();
        assert!(matches!(error, DnsConfigError::Invalid { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .starts_with("cannot use the DNS configuration /test/resolv.conf: ")
        );
    }

    #[test]
    #[cfg(all(unix, not(any(target_os = "android", target_vendor = "apple"))))]
    fn a_file_is_read_then_parsed() {
        let path =
            std::env::temp_dir().join(format!("turbohttp-resolv-{}.conf", std::process::id()));
        std::fs::write(&path, "nameserver 192.0.2.54\n").expect("write");
        let parsed = DnsResolver::from_resolv_conf_file(&path);
        std::fs::remove_file(&path).expect("remove");
        assert_eq!(
            parsed.expect("parsed").servers(),
            ["192.0.2.54:53".parse().unwrap()]
        );
    }

    #[test]
    #[cfg(all(unix, not(any(target_os = "android", target_vendor = "apple"))))]
    fn a_missing_file_is_a_read_error_naming_the_file() {
        let path = Path::new("/nonexistent-turbohttp-test/resolv.conf");
        let error = DnsResolver::from_resolv_conf_file(path).unwrap_err();
        let DnsConfigError::Read { error: cause, .. } = &error else {
            panic!("expected a read error, got {error:?}");
        };
        assert_eq!(cause.kind(), io::ErrorKind::NotFound);
        // The message holds the cause; no source() repeats it.
        assert!(std::error::Error::source(&error).is_none());
        assert_eq!(
            error.to_string(),
            "cannot read the DNS configuration /nonexistent-turbohttp-test/resolv.conf: \
             No such file or directory (os error 2)"
        );
    }

    #[test]
    fn options_count_tries_and_turn_the_cache_off() {
        let options = DnsOptions::default().with_attempts(0).with_cache(false);
        let opts = options.to_hickory();
        assert_eq!(opts.attempts, 0, "0 tries counts as 1 try, no retry");
        assert_eq!(opts.cache_size, 0);
        assert_eq!(opts.use_hosts_file, ResolveHosts::Never);
        assert_eq!(DnsOptions::default().to_hickory().attempts, 1);
    }
}
