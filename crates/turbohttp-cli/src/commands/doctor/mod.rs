//! `turbohttp doctor TARGET`: probes each layer of a host's dual-stack path on its own
//! (this machine's routes, DNS per query, every address, the race a user gets) and
//! says which part is broken, in sentences with their evidence.
//!
//! * `evidence.rs`: what the probes found, as plain data.
//! * `findings.rs`: the pure function from the evidence to findings and a verdict.

pub mod evidence;
pub mod findings;
