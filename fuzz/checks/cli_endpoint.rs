//! The `simulate --endpoint ADDR=BEHAVIOUR` parser on arbitrary text: never panics; an
//! accepted endpoint has a port other than 0 and, written back as `ADDR=BEHAVIOUR`,
//! parses to the same address and behaviour; a refusal is one line.
//!
//! Shared by the fuzz target `cli_endpoint` and the CLI's corpus replay test.

use turbohttp_cli::parse::endpoint;

/// Runs the check on one input.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_str(text);
}

/// The check on text.
pub fn check_str(text: &str) {
    match endpoint(text) {
        Ok((addr, behavior)) => {
            assert_ne!(addr.port(), 0, "{text:?}");
            let shown = format!("{addr}={behavior}");
            let (addr2, behavior2) = endpoint(&shown)
                .unwrap_or_else(|e| panic!("{text:?} written as {shown:?} is refused: {e}"));
            assert_eq!(addr2, addr, "{text:?} written as {shown:?}");
            assert_eq!(behavior2, behavior, "{text:?} written as {shown:?}");
        }
        Err(message) => {
            assert!(
                !message.is_empty() && !message.contains('\n'),
                "{message:?}"
            );
        }
    }
}
