//! Fuzz target `cli_timeout`: the check lives in `fuzz/checks/cli_timeout.rs`, shared
//! with the CLI's corpus replay test (`crates/turbohttp-cli/tests/fuzz_corpus.rs`).
#![no_main]

#[path = "../checks/cli_timeout.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
