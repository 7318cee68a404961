//! Fuzz target `cli_endpoint`: the check lives in `fuzz/checks/cli_endpoint.rs`, shared with the CLI's
//! corpus replay test (`crates/turbohttp-cli/tests/fuzz_corpus.rs`).
#![no_main]

#[path = "../checks/cli_endpoint.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
