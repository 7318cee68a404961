//! The subcommands.

pub mod connect;
pub mod demo;
pub mod doctor;
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
        Command::Doctor(args) => doctor::run(&args),
        Command::Demo(args) => demo::run(&args),
    }
}

/// A runtime for real sockets: one thread is plenty for one race.
pub(crate) fn runtime() -> Result<CommandRuntime, CliError> {
    build_runtime(Builder::new_current_thread().enable_all())
}

/// The runtime `builder` describes; failing to start one is exit 7.
pub(crate) fn build_runtime(builder: &mut Builder) -> Result<CommandRuntime, CliError> {
    builder
        .build()
        .map(|runtime| CommandRuntime(Some(runtime)))
        .map_err(|e| CliError::new(exit::CONNECT, format!("cannot start the runtime: {e}")))
}

/// A runtime that, when the command is done, does not wait for its blocking threads: a
/// `getaddrinfo` call the connect timeout gave up on may still be blocked in one, and
/// the command must exit when its timeout says, not when that call returns.
pub(crate) struct CommandRuntime(Option<Runtime>);

impl std::ops::Deref for CommandRuntime {
    type Target = Runtime;

    fn deref(&self) -> &Runtime {
        self.0.as_ref().expect("the runtime lives until drop")
    }
}

impl Drop for CommandRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
