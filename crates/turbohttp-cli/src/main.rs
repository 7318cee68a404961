//! The `turbohttp` binary: see the `turbohttp_cli` library.

fn main() -> std::process::ExitCode {
    turbohttp_cli::main()
}
