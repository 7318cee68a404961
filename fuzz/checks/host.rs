//! `Host::parse` on arbitrary text: never panics; what it accepts is well formed and
//! prints back to the same host; what it refuses carries a typed error naming the input.
//!
//! Shared by the fuzz target `host` and the corpus replay test.

use std::net::{Ipv4Addr, Ipv6Addr};

use turbohttp::{Host, InputError};

/// Runs the check on one input.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_str(text);
}

/// The check on text.
pub fn check_str(text: &str) {
    match Host::parse(text) {
        Ok(host) => accepted(text, &host),
        Err(error) => refused(text, &error),
    }
}

fn accepted(text: &str, host: &Host) {
    assert!(!text.is_empty(), "the empty host was accepted");
    // Printing and parsing again gives the same host.
    let shown = host.to_string();
    assert_eq!(
        Host::parse(&shown).as_ref(),
        Ok(host),
        "{text:?} printed as {shown:?}, which parses to something else"
    );
    match host {
        Host::Name(name) => {
            assert_eq!(name, text, "a name is kept as given");
            assert!(
                text.parse::<Ipv4Addr>().is_err(),
                "an IPv4 literal as a name"
            );
            assert!(!text.contains([':', '[', ']', '%']), "{text:?} as a name");
            let bare = name.strip_suffix('.').unwrap_or(name);
            assert!(
                !bare.is_empty() && bare.len() <= 253,
                "name length of {text:?}"
            );
            for label in bare.split('.') {
                assert!(
                    (1..=63).contains(&label.len()),
                    "label {label:?} of {text:?}"
                );
                assert!(
                    label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                    "label {label:?} of {text:?}"
                );
                assert!(!label.starts_with('-') && !label.ends_with('-'));
            }
            assert_eq!(host.ip(), None);
            assert_eq!(host.socket_addr(443), None);
        }
        Host::V4(v4) => {
            assert_eq!(text.parse::<Ipv4Addr>().ok(), Some(*v4));
            assert_eq!(host.socket_addr(80).map(|a| a.port()), Some(80));
        }
        Host::V6(v6, scope) => {
            let inner = text
                .strip_prefix('[')
                .map(|t| t.strip_suffix(']').expect("a '[' host ends with ']'"))
                .unwrap_or(text);
            let (addr, zone) = match inner.split_once('%') {
                Some((addr, zone)) => (addr, Some(zone)),
                None => (inner, None),
            };
            assert_eq!(addr.parse::<Ipv6Addr>().ok(), Some(*v6), "{text:?}");
            match zone {
                None => assert_eq!(*scope, 0),
                Some(zone) => assert_eq!(zone.parse::<u32>().ok(), Some(*scope), "{text:?}"),
            }
            let socket = host
                .socket_addr(443)
                .expect("a literal has a socket address");
            assert!(socket.is_ipv6());
            assert_eq!(socket.port(), 443);
        }
    }
}

fn refused(text: &str, error: &InputError) {
    // The message is one non-empty line.
    let message = error.to_string();
    assert!(
        !message.is_empty() && !message.contains('\n'),
        "{message:?}"
    );
    match error {
        InputError::EmptyHost => assert!(text.is_empty()),
        InputError::InvalidHost { host, reason } => {
            assert_eq!(host, text, "the error names the input");
            assert!(!reason.is_empty());
        }
        other => panic!("Host::parse({text:?}) returned {other:?}, a port error"),
    }
}
