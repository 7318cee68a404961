//! The resolver a connector uses unless told otherwise: DNS queries per family from
//! the system configuration, or `getaddrinfo` where that configuration cannot be read.

use std::io;
use std::net::SocketAddr;

use turbohttp_proto::dns::{LookupFailure, QueryType};
use turbohttp_proto::service::ServiceInfo;

use super::{Answers, DnsResolver, Resolver, SystemResolver};

/// [`DnsResolver::system`] (AAAA and A asked separately, so that the race starts on
/// the first answer), or [`SystemResolver`] (`getaddrinfo`) with a `tracing` warning
/// where the system's DNS configuration cannot be read or used.
///
/// `getaddrinfo` is the choice for names that only nsswitch knows (mDNS, LDAP, ...):
/// build the connector with [`DefaultResolver::system`] or [`SystemResolver`] then.
///
/// ```
/// use turbohttp::DefaultResolver;
/// let resolver = DefaultResolver::system();
/// assert_eq!(resolver.kind(), "system");
/// ```
#[derive(Debug, Clone)]
pub struct DefaultResolver {
    inner: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    Dns(DnsResolver),
    System(SystemResolver),
}

impl DefaultResolver {
    /// DNS from the system configuration, or `getaddrinfo` if it cannot be read (a
    /// missing `/etc/resolv.conf`, no nameserver in it): a warning says which and why.
    pub fn new() -> Self {
        Self::or_system(DnsResolver::system())
    }

    /// The DNS resolver, or `getaddrinfo` with a warning saying why.
    fn or_system(dns: Result<DnsResolver, super::DnsConfigError>) -> Self {
        match dns {
            Ok(dns) => Self::dns(dns),
            Err(error) => {
                tracing::warn!(
                    %error,
                    "using the system resolver (getaddrinfo) instead of DNS queries per family: \
                     a lost AAAA answer will delay connects until getaddrinfo gives up"
                );
                Self::system()
            }
        }
    }

    /// Per-family DNS through `resolver`.
    pub fn dns(resolver: DnsResolver) -> Self {
        Self {
            inner: Inner::Dns(resolver),
        }
    }

    /// `getaddrinfo`.
    pub fn system() -> Self {
        Self {
            inner: Inner::System(SystemResolver),
        }
    }

    /// The DNS resolver, when DNS answers (not `getaddrinfo`): its servers say where a
    /// failed query went.
    pub fn dns_resolver(&self) -> Option<&DnsResolver> {
        match &self.inner {
            Inner::Dns(dns) => Some(dns),
            Inner::System(_) => None,
        }
    }

    /// `"dns"` or `"system"`: which one answers.
    pub fn kind(&self) -> &'static str {
        match self.inner {
            Inner::Dns(_) => "dns",
            Inner::System(_) => "system",
        }
    }
}

impl Default for DefaultResolver {
    fn default() -> Self {
        Self::new()
    }
}

impl Resolver for DefaultResolver {
    async fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        match &self.inner {
            Inner::Dns(dns) => Resolver::resolve(dns, host, port).await,
            Inner::System(system) => system.resolve(host, port).await,
        }
    }

    fn answers(&self, host: &str, port: u16) -> Answers {
        match &self.inner {
            Inner::Dns(dns) => Resolver::answers(dns, host, port),
            Inner::System(system) => system.answers(host, port),
        }
    }

    async fn lookup(
        &self,
        host: &str,
        port: u16,
        query: QueryType,
    ) -> Result<Vec<SocketAddr>, LookupFailure> {
        match &self.inner {
            Inner::Dns(dns) => Resolver::lookup(dns, host, port, query).await,
            Inner::System(system) => system.lookup(host, port, query).await,
        }
    }

    fn asks_services(&self, host: &str, port: u16) -> bool {
        match &self.inner {
            Inner::Dns(dns) => Resolver::asks_services(dns, host, port),
            Inner::System(system) => system.asks_services(host, port),
        }
    }

    async fn services(&self, name: &str) -> Result<Vec<ServiceInfo>, LookupFailure> {
        match &self.inner {
            Inner::Dns(dns) => dns.services(name).await,
            Inner::System(system) => system.services(name).await,
        }
    }
}

#[cfg(all(test, unix, not(any(target_os = "android", target_vendor = "apple"))))]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn falls_back_to_getaddrinfo_where_the_configuration_cannot_be_read() {
        let missing = DnsResolver::from_resolv_conf_file(Path::new("/nonexistent/resolv.conf"));
        let resolver = DefaultResolver::or_system(missing);
        assert_eq!(resolver.kind(), "system");
        assert_eq!(resolver.answers("dual.test", 443), Answers::Combined);

        let empty = DnsResolver::from_resolv_conf(Path::new("resolv.conf"), b"# no server\n");
        assert_eq!(DefaultResolver::or_system(empty).kind(), "system");

        let good = DnsResolver::from_resolv_conf(
            Path::new("resolv.conf"),
            b"nameserver 127.0.0.1\noptions unknown-option timeout:1\n",
        );
        let resolver = DefaultResolver::or_system(good);
        assert_eq!(resolver.kind(), "dns");
        assert_eq!(resolver.answers("dual.test", 443), Answers::PerFamily);
    }
}
