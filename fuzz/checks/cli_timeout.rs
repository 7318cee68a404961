//! The `--connect-timeout` parser on arbitrary text (curl's seconds, `2.5`, or a duration
//! with a unit, `2500ms`): never panics; what it accepts is more than zero and at most a
//! year, a number of seconds as written, or exactly what `parse_duration` makes of a
//! duration with a unit; a refusal is one line.
//!
//! Shared by the fuzz target `cli_timeout` and the CLI's corpus replay test.

use std::time::Duration;

use turbohttp::sim::parse_duration;
use turbohttp_cli::parse::timeout;

/// Runs the check on one input.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_str(text);
}

/// The check on text.
pub fn check_str(text: &str) {
    match timeout(text) {
        Ok(value) => {
            assert!(!value.is_zero(), "{text:?}");
            assert!(value <= Duration::from_secs(86_400 * 365), "{text:?}");
            let plain = text.bytes().all(|b| b.is_ascii_digit() || b == b'.');
            if plain {
                let seconds: f64 = text.parse().expect("a plain number");
                let error = (value.as_secs_f64() - seconds).abs();
                assert!(error <= seconds * 1e-12 + 1e-9, "{text:?} -> {value:?}");
            } else {
                assert_eq!(parse_duration(text), Ok(value), "{text:?}");
            }
        }
        Err(message) => {
            assert!(
                !message.is_empty() && !message.contains('\n'),
                "{message:?}"
            );
        }
    }
}
