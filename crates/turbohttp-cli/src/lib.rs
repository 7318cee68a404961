//! The `turbohttp` command, as a library: argument parsing, the parsers of its values,
//! the timeline and JSON renderings of a race, and the five subcommands.
//!
//! The binary (`src/main.rs`) only calls [`main`]. Everything else is public so that
//! tests and fuzz targets can reach the parsers ([`parse`]) directly.
//!
//! * [`args`]: the command line (clap).
//! * [`parse`]: durations, `HOST:PORT`, `--resolve`, `--endpoint`, URLs.
//! * [`options`]: race flags into options, timeout and family; `--resolve` into a resolver.
//! * [`timeline`]: the table and chart of a race. [`json`]: the `--json` contract.
//! * [`exit`]: curl's exit codes and the error that carries one.
//! * [`http`]: one HTTP GET over a connected stream, and the demo's server.
//! * [`lab`]: the demo's dual-stack lab on loopback (a black-holed `[::1]` from
//!   `turbohttp-lab`, whose DNS server the demo's third scene uses too).
//! * [`transport`]: the library's transport, built from the flags.
//! * [`commands`]: `connect`, `get`, `simulate`, `doctor`, `demo`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod alt_svc;
pub mod args;
pub mod commands;
pub mod exchange;
pub mod exit;
pub mod http;
pub mod http3;
pub mod json;
pub mod lab;
pub mod options;
pub mod output;
pub mod parse;
pub mod timeline;
pub mod transport;

use std::ffi::OsString;

use clap::Parser;
use clap::error::ErrorKind;

use crate::args::Cli;

/// Runs the command with these arguments (the first is the program name) and returns
/// the exit code. Never panics on bad input: every mistake is one line on standard
/// error and exit code 2.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(error) => return clap_error(&error, subcommand(&args)),
    };
    match commands::run(cli.command) {
        Ok(()) => exit::OK,
        Err(error) => {
            if !error.reported {
                output::error_line(&error.message);
            }
            error.code
        }
    }
}

/// The entry point of the binary.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(run(std::env::args_os()))
}

/// The subcommand named on the command line, if any: its help is the one to point at.
fn subcommand(args: &[OsString]) -> Option<&'static str> {
    const SUBCOMMANDS: [&str; 5] = ["connect", "get", "simulate", "doctor", "demo"];
    args.iter()
        .skip(1)
        .find_map(|arg| SUBCOMMANDS.into_iter().find(|s| arg.to_str() == Some(s)))
}

/// Help and version go to standard output with exit 0; no subcommand at all prints the
/// help to standard error with exit 2; every other clap error becomes one line,
/// `turbohttp: error: ...`, and exit 2, pointing at the subcommand's help.
fn clap_error(error: &clap::Error, subcommand: Option<&str>) -> u8 {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            output::stdout(&error.render().to_string());
            exit::OK
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            output::stderr(&error.render().to_string());
            exit::USAGE
        }
        _ => {
            let rendered = error.render().to_string();
            let line = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ");
            let line = line.strip_prefix("error: ").unwrap_or(&line);
            let help = subcommand.map_or_else(
                || "turbohttp --help".to_owned(),
                |name| format!("turbohttp {name} --help"),
            );
            output::error_line(&format!("{line} (see {help})"));
            exit::USAGE
        }
    }
}
