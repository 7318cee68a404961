//! Replays the committed fuzz corpus of the command's parsers (`fuzz/corpus/cli_*/`)
//! through the very checks the fuzz targets run (`fuzz/checks/cli_*.rs`), so that
//! `cargo test` re-checks every input the fuzzers kept, on stable, without cargo-fuzz.

#[path = "../../../fuzz/checks/cli_endpoint.rs"]
mod cli_endpoint;
#[path = "../../../fuzz/checks/cli_resolve.rs"]
mod cli_resolve;
#[path = "../../../fuzz/checks/cli_timeout.rs"]
mod cli_timeout;
#[path = "../../../fuzz/checks/cli_url.rs"]
mod cli_url;

#[path = "../../../fuzz/checks/replay.rs"]
mod corpus;

/// Replays `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` through `check`.
fn replay(target: &str, check: fn(&[u8])) {
    let fuzz = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    corpus::replay(&fuzz, target, check);
}

#[test]
fn corpus_cli_resolve() {
    replay("cli_resolve", cli_resolve::check);
}

#[test]
fn corpus_cli_endpoint() {
    replay("cli_endpoint", cli_endpoint::check);
}

#[test]
fn corpus_cli_timeout() {
    replay("cli_timeout", cli_timeout::check);
}

#[test]
fn corpus_cli_url() {
    replay("cli_url", cli_url::check);
}

/// Canonical spellings round-trip through the checks (and so through the parsers).
#[test]
fn canonical_spellings_pass_the_checks() {
    cli_resolve::check_str("example.test:443:[::1],127.0.0.1");
    cli_endpoint::check_str("[2001:db8::1]:8443=refuse@1ms");
    cli_url::check_str("https://[::1]:8443/a?b=c#frag");
    cli_timeout::check_str("2.5");
    cli_timeout::check_str("2500ms");
}
