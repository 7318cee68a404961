//! The subcommands.

pub mod connect;
pub mod demo;
pub mod get;
pub mod simulate;

use tokio::runtime::{Builder, Runtime};

use crate::args::Command;
use crate::exit::{self, CliError};

/// Runs one subcommand.
pub fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Connect(args) => connect::run(&args),
        Command::Get(args) => get::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Demo(args) => demo::run(&args),
    }
}

/// A runtime for real sockets: one thread is plenty for one race.
pub(crate) fn runtime() -> Result<Runtime, CliError> {
    build_runtime(Builder::new_current_thread().enable_all())
}

/// The runtime `builder` describes; failing to start one is exit 7.
pub(crate) fn build_runtime(builder: &mut Builder) -> Result<Runtime, CliError> {
    builder
        .build()
        .map_err(|e| CliError::new(exit::CONNECT, format!("cannot start the runtime: {e}")))
}
