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
    /// connect to a name already in lower case allocates nothing here.
    table: HashMap<String, Ports, BuildHasherDefault<Fnv>>,
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
            table: HashMap::default(),
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
        let ports = self.table.entry(host.to_ascii_lowercase()).or_default();
        match ports.iter_mut().find(|(p, _)| *p == port) {
            Some(entry) => entry.1 = addrs,
            None => ports.push((port, addrs)),
        }
    }

    /// The overridden addresses for `host:port`, if any.
    pub fn get(&self, host: &str, port: u16) -> Option<&[SocketAddr]> {
        let name = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(host.to_ascii_lowercase())
        } else {
            Cow::Borrowed(host)
        };
        let ports = self.table.get(name.as_ref())?;
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
