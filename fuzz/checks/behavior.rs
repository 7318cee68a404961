//! `sim::Behavior::from_str` (the `--endpoint` behaviour spelling) on arbitrary text:
//! never panics; what it accepts prints back (`Display`) as text that parses to the very
//! same behaviour.
//!
//! Shared by the fuzz target `behavior` and the corpus replay test.

use std::time::Duration;

use turbohttp::sim::Behavior;

/// Runs the check on one input.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_str(text);
}

fn delay(behavior: Behavior) -> Option<Duration> {
    match behavior {
        Behavior::Connect(d)
        | Behavior::Refuse(d)
        | Behavior::SetupFail(d)
        | Behavior::Reject(d) => Some(d),
        Behavior::Stall => None,
    }
}

/// The check on text.
pub fn check_str(text: &str) {
    match text.parse::<Behavior>() {
        Ok(behavior) => {
            if behavior == Behavior::Stall {
                assert_eq!(text, "stall");
            }
            // Delays are whole milliseconds, printed exactly: the spelling reads back
            // as the very same behaviour, and printing is a fixed point.
            let shown = behavior.to_string();
            let again: Behavior = shown
                .parse()
                .unwrap_or_else(|e| panic!("{text:?} printed as {shown:?}, refused: {e}"));
            assert_eq!(again, behavior, "{text:?} printed as {shown:?}");
            assert_eq!(again.to_string(), shown, "{text:?}");
            if let Some(d) = delay(behavior) {
                assert_eq!(d.subsec_nanos() % 1_000_000, 0, "{text:?}");
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
