//! Fixed answers for chosen names (curl's `--resolve`), in front of another resolver.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::net::SocketAddr;

use turbohttp_proto::dns::{LookupFailure, QueryType};
use turbohttp_proto::service::ServiceInfo;

use super::{Answers, Resolver, SystemResolver};

/// A resolver that answers from a fixed table for the `host:port` pairs it knows, in
/// the order given, and asks its fallback for all others: curl's `--resolve`.
///
/// ```
/// # tokio_test_block_on(async {
/// use turbohttp::{Resolver, StaticResolver};
/// let resolver = StaticResolver::new()
///     .with_override("example.test", 443, ["[::1]:443".parse().unwrap(), "127.0.0.1:443".parse().unwrap()]);
/// let addrs = resolver.resolve("EXAMPLE.test", 443).await.unwrap();
/// assert_eq!(addrs.len(), 2);
/// assert!(addrs[0].is_ipv6());
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticResolver<R = SystemResolver> {
    /// Lower-cased name, then port: looked up with a borrowed name, so that a
    /// connect allocates nothing here.
    table: Table,
    fallback: R,
}

impl StaticResolver<SystemResolver> {
    /// An empty table in front of the system resolver.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R> StaticResolver<R> {
    /// The resolver asked for every name the table does not hold.
    pub fn fallback(&self) -> &R {
        &self.fallback
    }

    /// An empty table in front of `fallback`.
    pub fn with_fallback(fallback: R) -> Self {
        Self {
            table: Table::default(),
            fallback,
        }
    }

    /// Answers `host:port` with `addrs`, in that order. Host names match without regard
    /// to ASCII case; a later override of the same pair replaces the earlier one.
    pub fn with_override(
        mut self,
        host: &str,
        port: u16,
        addrs: impl IntoIterator<Item = SocketAddr>,
    ) -> Self {
        self.insert(host, port, addrs);
        self
    }

    /// Adds or replaces an override in place.
    pub fn insert(&mut self, host: &str, port: u16, addrs: impl IntoIterator<Item = SocketAddr>) {
        let addrs = addrs.into_iter().collect();
        let ports = self.table.entry(host.to_ascii_lowercase());
        match ports.iter_mut().find(|(p, _)| *p == port) {
            Some(entry) => entry.1 = addrs,
            None => ports.push((port, addrs)),
        }
    }

    /// The overridden addresses for `host:port`, if any.
    pub fn get(&self, host: &str, port: u16) -> Option<&[SocketAddr]> {
        let ports = self.table.get(host)?;
        ports
            .iter()
            .find(|(p, _)| *p == port)
            .map(|(_, addrs)| addrs.as_slice())
    }
}

impl<R: Resolver> Resolver for StaticResolver<R> {
    async fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        match self.get(host, port) {
            Some(addrs) => Ok(addrs.to_vec()),
            None => self.fallback.resolve(host, port).await,
        }
    }

    /// An override is one answer with every family; other names are the fallback's.
    fn answers(&self, host: &str, port: u16) -> Answers {
        match self.get(host, port) {
            Some(_) => Answers::Combined,
            None => self.fallback.answers(host, port),
        }
    }

    async fn lookup(
        &self,
        host: &str,
        port: u16,
        query: QueryType,
    ) -> Result<Vec<SocketAddr>, LookupFailure> {
        match self.get(host, port) {
            Some(addrs) => {
                // Sized for the whole entry (a filter's size hint is 0): one allocation,
                // not a doubling's worth of slack at the peak of a large race.
                let mut admitted = Vec::with_capacity(addrs.len());
                admitted.extend(addrs.iter().copied().filter(|a| query.admits(a)));
                Ok(admitted)
            }
            None => self.fallback.lookup(host, port, query).await,
        }
    }

    fn asks_services(&self, host: &str, port: u16) -> bool {
        self.get(host, port).is_none() && self.fallback.asks_services(host, port)
    }

    fn services(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<ServiceInfo>, LookupFailure>> + Send {
        // Asked only when the origin is not in the table (`asks_services`).
        self.fallback.services(name)
    }
}

/// A resolver that knows no name: every lookup fails with `NotFound`. The fallback for
/// a [`StaticResolver`] that must never touch DNS (tests, the `simulate` command).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoResolver;

impl Resolver for NoResolver {
    async fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no address is configured for {host}:{port}"),
        ))
    }
}

/// The overrides of one name: each port's addresses.
type Ports = Vec<(u16, Vec<SocketAddr>)>;

/// Up to this many names, the table is a list: a connect compares its name with each
/// (its length first) rather than hashing it, and a connect looks its name up twice
/// ([`Resolver::answers`], then [`Resolver::lookup`]).
const FEW_NAMES: usize = 8;

/// The overrides by lower-cased name: a list while few, a map past [`FEW_NAMES`].
#[derive(Debug, Clone)]
enum Table {
    Few(Vec<(String, Ports)>),
    Many(HashMap<String, Ports, BuildHasherDefault<Fnv>>),
}

impl Default for Table {
    fn default() -> Self {
        Self::Few(Vec::new())
    }
}

impl Table {
    /// The ports of `name` (lower case), made empty if new.
    fn entry(&mut self, name: String) -> &mut Ports {
        if let Self::Few(list) = self
            && list.len() >= FEW_NAMES
            && !list.iter().any(|(known, _)| *known == name)
        {
            *self = Self::Many(std::mem::take(list).into_iter().collect());
        }
        match self {
            Self::Few(list) => {
                let pos = match list.iter().position(|(known, _)| *known == name) {
                    Some(pos) => pos,
                    None => {
                        list.push((name, Vec::new()));
                        list.len() - 1
                    }
                };
                &mut list[pos].1
            }
            Self::Many(map) => map.entry(name).or_default(),
        }
    }

    /// The ports of `host`, in any case.
    fn get(&self, host: &str) -> Option<&Ports> {
        match self {
            Self::Few(list) => list
                .iter()
                // The name as stored (lower case) first: one comparison of the bytes.
                .find(|(known, _)| *known == host || known.eq_ignore_ascii_case(host))
                .map(|(_, ports)| ports),
            Self::Many(map) => {
                let name = if host.bytes().any(|b| b.is_ascii_uppercase()) {
                    Cow::Owned(host.to_ascii_lowercase())
                } else {
                    Cow::Borrowed(host)
                };
                map.get(name.as_ref())
            }
        }
    }
}

/// FNV-1a, the table's hash: its keys are the caller's own names (no one else can
/// fill it with colliding ones, which a keyed hash guards against), and a connect
/// looks its name up twice ([`Resolver::answers`], then [`Resolver::lookup`]), each
/// time a few times cheaper than with SipHash.
#[derive(Debug, Clone, Copy)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("a socket address")
    }

    #[test]
    fn names_match_in_any_case_per_port_and_a_later_override_replaces() {
        let resolver = StaticResolver::with_fallback(NoResolver)
            .with_override("Example.TEST", 443, [addr("[::1]:443")])
            .with_override("example.test", 80, [addr("127.0.0.1:80")])
            .with_override("EXAMPLE.test", 443, [addr("127.0.0.2:443")]);
        assert_eq!(
            resolver.get("example.test", 443),
            Some(&[addr("127.0.0.2:443")][..])
        );
        assert_eq!(
            resolver.get("eXample.Test", 80),
            Some(&[addr("127.0.0.1:80")][..])
        );
        assert_eq!(resolver.get("example.test", 8080), None);
        assert_eq!(resolver.get("other.test", 443), None);
    }

    #[test]
    fn a_table_of_many_names_answers_as_one_of_few() {
        let mut resolver = StaticResolver::with_fallback(NoResolver);
        let name = |i: usize| format!("Host-{i}.test");
        let port = |i: usize| 1000 + u16::try_from(i).expect("a small index");
        let at = |i: usize| SocketAddr::from(([127, 0, 0, 1], port(i)));
        for i in 0..3 * FEW_NAMES {
            resolver.insert(&name(i), port(i), [at(i)]);
            // An override of a name already known, in another case, replaces it.
            resolver.insert(&name(0).to_uppercase(), port(0), [at(i)]);
            assert_eq!(resolver.get(&name(0), port(0)), Some(&[at(i)][..]));
            for j in 1..=i {
                assert_eq!(
                    resolver.get(&name(j).to_lowercase(), port(j)),
                    Some(&[at(j)][..])
                );
            }
            assert_eq!(resolver.get(&name(i + 1), port(i + 1)), None);
        }
        assert!(matches!(resolver.table, Table::Many(_)));
    }

    #[tokio::test]
    async fn a_lookup_keeps_the_queried_family_in_order() {
        let both = [
            addr("[::1]:443"),
            addr("127.0.0.1:443"),
            addr("[::2]:443"),
            addr("127.0.0.2:443"),
        ];
        let resolver = StaticResolver::with_fallback(NoResolver).with_override("a.test", 443, both);
        let lookup = |query| resolver.lookup("A.test", 443, query);
        assert_eq!(lookup(QueryType::AddrInfo).await.unwrap(), both);
        assert_eq!(
            lookup(QueryType::Aaaa).await.unwrap(),
            [addr("[::1]:443"), addr("[::2]:443")]
        );
        assert_eq!(
            lookup(QueryType::A).await.unwrap(),
            [addr("127.0.0.1:443"), addr("127.0.0.2:443")]
        );
        assert!(resolver.lookup("b.test", 443, QueryType::A).await.is_err());
    }
}
