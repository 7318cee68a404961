//! Fuzz target `planner`: the check lives in `fuzz/checks/planner.rs`, shared with the corpus
//! replay test (`crates/turbohttp/tests/fuzz_corpus.rs`).
#![no_main]

#[path = "../checks/planner.rs"]
mod check;
#[path = "../checks/common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
