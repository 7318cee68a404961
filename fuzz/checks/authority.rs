//! `parse_authority` (`HOST:PORT`) and `parse_port` on arbitrary text: never panic;
//! what they accept is a valid host and a port from 1 to 65535 that prints back to the
//! same pair; an unbracketed IPv6 literal is always refused as ambiguous.
//!
//! Shared by the fuzz target `authority` and the corpus replay test.

use turbohttp::{Host, InputError, parse_authority, parse_port};

/// Runs the check on one input.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_str(text);
}

/// The check on text.
pub fn check_str(text: &str) {
    port(text);
    if let Some((_, after)) = text.rsplit_once(':') {
        port(after);
    }
    authority(text);
}

fn port(text: &str) {
    match parse_port(text) {
        Ok(port) => {
            assert_ne!(port, 0);
            assert!(text.bytes().all(|b| b.is_ascii_digit()), "{text:?}");
            assert_eq!(text.parse::<u32>().ok(), Some(u32::from(port)));
        }
        Err(InputError::MissingPort) => assert!(text.is_empty()),
        Err(InputError::PortZero) => {
            assert!(
                text.bytes().all(|b| b == b'0') && !text.is_empty(),
                "{text:?}"
            );
        }
        Err(InputError::InvalidPort { input }) => {
            assert_eq!(input, text);
            let in_range = text.bytes().all(|b| b.is_ascii_digit())
                && text.parse::<u16>().is_ok_and(|p| p != 0);
            assert!(!in_range, "{text:?} refused but it is a port");
        }
        Err(other) => panic!("parse_port({text:?}) returned {other:?}"),
    }
}

fn authority(text: &str) {
    match parse_authority(text) {
        Ok((host, port)) => {
            assert_ne!(port, 0);
            let shown = format!("{host}:{port}");
            assert_eq!(
                parse_authority(&shown),
                Ok((host.clone(), port)),
                "{text:?} printed as {shown:?}"
            );
            // The host part is exactly what Host::parse accepts.
            let (host_text, _) = text
                .rsplit_once(':')
                .expect("an accepted authority has ':'");
            assert_eq!(Host::parse(host_text).as_ref(), Ok(&host), "{text:?}");
            if matches!(host, Host::V6(..)) {
                assert!(text.starts_with('['), "unbracketed IPv6 accepted: {text:?}");
            }
        }
        Err(error) => {
            let message = error.to_string();
            assert!(!message.is_empty() && !message.contains('\n'));
            match error {
                InputError::EmptyHost => assert!(text.is_empty() || text.starts_with(':')),
                InputError::UnbracketedIpv6 { input } => {
                    assert_eq!(input, text);
                    assert!(!text.starts_with('['));
                    assert!(text.matches(':').count() >= 2);
                }
                _ => {}
            }
        }
    }
}
