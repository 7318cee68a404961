//! Fuzz target `authority`: the check lives in `fuzz/checks/authority.rs`, shared with the corpus
//! replay test (`crates/turbohttp/tests/fuzz_corpus.rs`).
#![no_main]

#[path = "../checks/authority.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
