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

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

/// Runs every file of `fuzz/corpus/<target>/` (minimized by `cargo fuzz cmin`) and of
/// `fuzz/regressions/<target>/` (crashes found, kept as they were) through `check`; a
/// failure names the file.
fn replay(target: &str, check: fn(&[u8])) {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let dir = fuzz.join("corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    if let Ok(regressions) = std::fs::read_dir(fuzz.join("regressions").join(target)) {
        files.extend(regressions.map(|entry| entry.expect("a regression").path()));
    }
    files.sort();
    assert!(
        files.len() >= 5,
        "{}: only {} inputs; the corpus is committed with the fuzz targets",
        dir.display(),
        files.len()
    );
    for file in &files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            panic!(
                "fuzz target {target}: {} fails its check; reproduce with \
                 `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -s none -a {target} {}`",
                file.display(),
                file.display()
            );
        }
    }
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
