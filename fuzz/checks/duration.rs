//! `sim::parse_duration` on arbitrary text: never panics; what it accepts is at most a
//! year, has a unit, is a whole number of milliseconds, and reads back exactly.
//!
//! Shared by the fuzz target `duration` and the corpus replay test.

use std::time::Duration;

use turbohttp::sim::parse_duration;

/// The largest duration accepted.
const MAX: Duration = Duration::from_secs(86_400 * 365);

/// Runs the check on one input.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_str(text);
}

/// The check on text.
pub fn check_str(text: &str) {
    match parse_duration(text) {
        Ok(duration) => {
            assert!(duration <= MAX, "{text:?} -> {duration:?}");
            assert!(!text.starts_with('-') && !text.starts_with('+'), "{text:?}");
            let unit_at = text
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .expect("an accepted duration has a unit");
            assert!(
                ["us", "µs", "ms", "s", "m", "min"].contains(&&text[unit_at..]),
                "{text:?}"
            );
            // Whole milliseconds (the timers' tick), read exactly: printed back in
            // milliseconds or in seconds with nine decimals, it is the same duration.
            assert_eq!(
                duration.subsec_nanos() % 1_000_000,
                0,
                "{text:?} -> {duration:?}"
            );
            for shown in [
                format!("{}ms", duration.as_millis()),
                format!("{}.{:09}s", duration.as_secs(), duration.subsec_nanos()),
            ] {
                assert_eq!(
                    parse_duration(&shown),
                    Ok(duration),
                    "{text:?} -> {duration:?} printed as {shown:?}"
                );
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
