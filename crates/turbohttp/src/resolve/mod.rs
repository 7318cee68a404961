//! Turning a host name into socket addresses: the [`Resolver`] trait, and its
//! implementations, one per file: DNS queries per family (`dns.rs`), `getaddrinfo`
//! (`system.rs`), the choice between them (`default.rs`), and a static override
//! table in front of either (`static_table.rs`).

mod default;
mod dns;
mod static_table;
mod system;

pub use default::DefaultResolver;
pub use dns::{DnsConfigError, DnsOptions, DnsResolver};
pub use static_table::{NoResolver, StaticResolver};
pub use system::SystemResolver;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use turbohttp_proto::dns::{LookupFailure, LookupFailureKind, QueryType};
use turbohttp_proto::service::ServiceInfo;

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
/// [`DnsResolver`](crate::DnsResolver)) also says [`Answers::PerFamily`] and
/// implements [`Resolver::lookup`], so that the race can start on the first answer.
///
/// An implementation must not block the calling thread ([`SystemResolver`] moves
/// `getaddrinfo` onto tokio's blocking pool), and the race drops a lookup's future
/// once its answer is not needed.
pub trait Resolver: Send + Sync {
    /// The addresses of `host` at `port`, in resolver order. An empty list is allowed
    /// (the connect then fails with
    /// [`ConnectErrorKind::NoAddresses`](crate::ConnectErrorKind::NoAddresses)).
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

    /// Whether this resolver asks DNS for `host`'s HTTPS records (RFC 9460) with
    /// [`Resolver::services`]; the race of an https origin then sends an HTTPS query
    /// with its AAAA and A queries. `false` unless overridden.
    fn asks_services(&self, host: &str, port: u16) -> bool {
        let _ = (host, port);
        false
    }

    /// The HTTPS records at `name`, asked as is (for an origin the race asks
    /// [`https_query_name`](turbohttp_proto::dns::https_query_name)`(host, port)`;
    /// where an AliasMode record leads, its target), each as the race reads it. The
    /// default answers that this resolver asks for none.
    fn services(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<ServiceInfo>, LookupFailure>> + Send {
        let _ = name;
        std::future::ready(Err(LookupFailure::new(
            LookupFailureKind::Other,
            "this resolver does not ask for HTTPS records",
        )))
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

    fn asks_services(&self, host: &str, port: u16) -> bool {
        (**self).asks_services(host, port)
    }

    fn services(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<ServiceInfo>, LookupFailure>> + Send {
        (**self).services(name)
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

    fn asks_services(&self, host: &str, port: u16) -> bool {
        (**self).asks_services(host, port)
    }

    fn services(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<ServiceInfo>, LookupFailure>> + Send {
        (**self).services(name)
    }
}
