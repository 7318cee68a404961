//! What the integration tests share, one module for all of them: servers on loopback
//! that each test drives its own way. The DNS lab and the black-holed IPv6 address live
//! in the `turbohttp-lab` crate, which the command's demo uses too.
//!
//! * `tls_lab`: certificates (rcgen), TLS and plain listeners, stalled listeners,
//!   descriptor counts.
//! * `proxy_lab`: HTTP CONNECT and SOCKS5 proxies.
//! * `fault_server`: endpoints that echo, reset, stay silent or speak bad TLS.
//! * `ech`: ECH configuration lists, and a listener that reads a ClientHello.

#![allow(dead_code)] // each test file uses a different subset

pub mod ech;
pub mod fault_server;
pub mod proxy_lab;
pub mod tls_lab;

/// An error and its sources joined with ": ", as anyhow's `{:#}` and the command print
/// them: the whole story of a `ConnectError` in one line.
pub fn chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(source) = next {
        text.push_str(": ");
        text.push_str(&source.to_string());
        next = source.source();
    }
    text
}
