//! Fuzz target `race`: the check lives in `fuzz/checks/race.rs`, shared with the corpus
//! replay test (`crates/turbohttp/tests/fuzz_corpus.rs`).
#![no_main]

#[path = "../checks/race.rs"]
mod check;
#[path = "../checks/common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
