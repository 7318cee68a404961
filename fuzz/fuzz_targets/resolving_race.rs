//! Fuzz target `resolving_race`: the check lives in `fuzz/checks/resolving_race.rs`, shared
//! with the corpus replay test (`crates/turbohttp/tests/fuzz_corpus.rs`).
#![no_main]

#[path = "../checks/resolving_race.rs"]
mod check;
#[path = "../checks/common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
