//! The command's `--resolve HOST:PORT:ADDR[,ADDR...]` parser on arbitrary text: never
//! panics; an accepted entry has a host, a port from 1 to 65535 and at least one address
//! at that port, and written back in canonical form it parses to the same entry; a
//! refusal is one line.
//!
//! Shared by the fuzz target `cli_resolve` and the CLI's corpus replay test.

use std::net::SocketAddr;

use turbohttp::Host;
use turbohttp_cli::parse::resolve_entry;

/// Runs the check on one input.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_str(text);
}

fn canonical_addr(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V4(v4) => v4.ip().to_string(),
        SocketAddr::V6(v6) if v6.scope_id() == 0 => format!("[{}]", v6.ip()),
        SocketAddr::V6(v6) => format!("[{}%{}]", v6.ip(), v6.scope_id()),
    }
}

/// The check on text.
pub fn check_str(text: &str) {
    match resolve_entry(text) {
        Ok(entry) => {
            assert_ne!(entry.port, 0, "{text:?}");
            assert!(!entry.addrs.is_empty(), "{text:?}");
            assert!(
                Host::parse(&entry.host).is_ok(),
                "{text:?}: host {:?}",
                entry.host
            );
            for addr in &entry.addrs {
                assert_eq!(addr.port(), entry.port, "{text:?}");
                if let SocketAddr::V6(v6) = addr {
                    assert_eq!(v6.flowinfo(), 0);
                }
            }
            let list: Vec<String> = entry.addrs.iter().map(canonical_addr).collect();
            let shown = format!("{}:{}:{}", entry.host, entry.port, list.join(","));
            let again = resolve_entry(&shown)
                .unwrap_or_else(|e| panic!("{text:?} written as {shown:?} is refused: {e}"));
            assert_eq!(again, entry, "{text:?} written as {shown:?}");
        }
        Err(message) => {
            assert!(
                !message.is_empty() && !message.contains('\n'),
                "{message:?}"
            );
        }
    }
}
