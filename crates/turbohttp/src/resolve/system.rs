//! The operating system's resolver, `getaddrinfo`.

use std::io;
use std::net::SocketAddr;

use super::Resolver;

/// The operating system's resolver (`getaddrinfo`), run on tokio's blocking pool.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }
}
