//! The `dbkit` binary: a thin CLI over the library. See `dbkit --help`.

fn main() -> std::process::ExitCode {
    dbkit_cli::main()
}

#[path = "cli/mod.rs"]
mod dbkit_cli;
