//! The `get` command's URL parser on arbitrary text: never panics; an accepted URL has a
//! valid host, a port other than 0 and a path starting with `/`, and printed back it
//! parses to the same URL; a refusal is one line.
//!
//! Shared by the fuzz target `cli_url` and the CLI's corpus replay test.

use turbohttp::Host;
use turbohttp_cli::parse::url;

/// Runs the check on one input.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_str(text);
}

/// The check on text.
pub fn check_str(text: &str) {
    match url(text) {
        Ok(parsed) => {
            assert_ne!(parsed.port, 0, "{text:?}");
            assert!(
                parsed.path_and_query.starts_with('/'),
                "{text:?}: {parsed:?}"
            );
            assert!(
                !parsed.path_and_query.contains('#'),
                "{text:?}: fragment kept"
            );
            if !parsed.explicit_port {
                assert_eq!(parsed.port, parsed.scheme.default_port());
            }
            assert_eq!(
                Host::parse(&parsed.host.to_string()).as_ref(),
                Ok(&parsed.host)
            );
            let shown = parsed.to_string();
            let again = url(&shown)
                .unwrap_or_else(|e| panic!("{text:?} printed as {shown:?} is refused: {e}"));
            assert_eq!(again, parsed, "{text:?} printed as {shown:?}");
            // The Host header and the TLS name are never empty.
            assert!(!parsed.authority().is_empty() && !parsed.server_name().is_empty());
        }
        Err(message) => {
            assert!(
                !message.is_empty() && !message.contains('\n'),
                "{message:?}"
            );
        }
    }
}
