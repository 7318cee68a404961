//! Turning a host name into socket addresses: the [`Resolver`] trait and its two
//! implementations, the system resolver and a static override table.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use turbohttp_proto::dns::{LookupFailure, LookupFailureKind, QueryType};

/// How a resolver answers a name: all at once, or one query per family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answers {
    /// One answer carries every family ([`Resolver::resolve`]): `getaddrinfo`, a
    /// static table. The race starts when it arrives.
    Combined,
    /// AAAA and A are asked separately ([`Resolver::lookup`]) and the race starts on
    /// the first answer, by the resolution delay rule (RFC 8305 §3).
    PerFamily,
}

/// Resolves a host name into socket addresses, in the resolver's order of preference.
///
/// A one-shot resolver implements [`Resolver::resolve`] only: its single answer
/// carries every family. A resolver that can ask for each family on its own (like
/// [`DnsResolver`](super::DnsResolver)) also says [`Answers::PerFamily`] and
/// implements [`Resolver::lookup`], so that the race can start on the first answer.
///
/// An implementation must not block the calling thread ([`SystemResolver`] moves
/// `getaddrinfo` onto tokio's blocking pool), and the race drops a lookup's future
/// once its answer is not needed.
pub trait Resolver: Send + Sync {
    /// The addresses of `host` at `port`, in resolver order. An empty list is allowed
    /// (the connect then fails with
    /// [`ConnectErrorKind::NoAddresses`](super::ConnectErrorKind::NoAddresses)).
    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = io::Result<Vec<SocketAddr>>> + Send;

    /// How this resolver answers `host:port`. [`Answers::Combined`] unless overridden.
    fn answers(&self, host: &str, port: u16) -> Answers {
        let _ = (host, port);
        Answers::Combined
    }

    /// One query: [`QueryType::Aaaa`] or [`QueryType::A`] for a resolver that answers
    /// [`Answers::PerFamily`], [`QueryType::AddrInfo`] for every resolver. The default
    /// answers every query with [`Resolver::resolve`].
    fn lookup(
        &self,
        host: &str,
        port: u16,
        query: QueryType,
    ) -> impl Future<Output = Result<Vec<SocketAddr>, LookupFailure>> + Send {
        let _ = query;
        async move {
            self.resolve(host, port)
                .await
                .map_err(|e| lookup_failure(&e))
        }
    }
}

/// A one-shot resolver's error as a query failure: its kind where it tells one, its
/// words in any case.
pub(crate) fn lookup_failure(error: &io::Error) -> LookupFailure {
    let kind = match error.kind() {
        io::ErrorKind::TimedOut => LookupFailureKind::TimedOut,
        io::ErrorKind::NotFound => LookupFailureKind::NxDomain,
        _ => LookupFailureKind::Other,
    };
    LookupFailure::new(kind, error.to_string())
}

impl<R: Resolver + ?Sized> Resolver for &R {
    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = io::Result<Vec<SocketAddr>>> + Send {
        (**self).resolve(host, port)
    }

    fn answers(&self, host: &str, port: u16) -> Answers {
        (**self).answers(host, port)
    }

    fn lookup(
        &self,
        host: &str,
        port: u16,
        query: QueryType,
    ) -> impl Future<Output = Result<Vec<SocketAddr>, LookupFailure>> + Send {
        (**self).lookup(host, port, query)
    }
}

impl<R: Resolver + ?Sized> Resolver for Arc<R> {
    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = io::Result<Vec<SocketAddr>>> + Send {
        (**self).resolve(host, port)
    }

    fn answers(&self, host: &str, port: u16) -> Answers {
        (**self).answers(host, port)
    }

    fn lookup(
        &self,
        host: &str,
        port: u16,
        query: QueryType,
    ) -> impl Future<Output = Result<Vec<SocketAddr>, LookupFailure>> + Send {
        (**self).lookup(host, port, query)
    }
}

/// The operating system's resolver (`getaddrinfo`), run on tokio's blocking pool.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }
}

/// A resolver that answers from a fixed table for the `host:port` pairs it knows, in
/// the order given, and asks its fallback for all others: curl's `--resolve`.
///
/// ```
/// # tokio_test_block_on(async {
/// use turbohttp::transport::connection::{Resolver, StaticResolver};
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
    table: HashMap<(String, u16), Vec<SocketAddr>>,
    fallback: R,
}

impl StaticResolver<SystemResolver> {
    /// An empty table in front of the system resolver.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R> StaticResolver<R> {
    /// An empty table in front of `fallback`.
    pub fn with_fallback(fallback: R) -> Self {
        Self {
            table: HashMap::new(),
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
        self.table.insert(
            (host.to_ascii_lowercase(), port),
            addrs.into_iter().collect(),
        );
    }

    /// The overridden addresses for `host:port`, if any.
    pub fn get(&self, host: &str, port: u16) -> Option<&[SocketAddr]> {
        self.table
            .get(&(host.to_ascii_lowercase(), port))
            .map(Vec::as_slice)
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
            Some(addrs) => Ok(addrs
                .iter()
                .copied()
                .filter(|a| match query {
                    QueryType::Aaaa => a.is_ipv6(),
                    QueryType::A => a.is_ipv4(),
                    _ => true,
                })
                .collect()),
            None => self.fallback.lookup(host, port, query).await,
        }
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
