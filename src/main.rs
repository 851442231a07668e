//! The `boletin` command: parses arguments, calls the library, prints, and maps the
//! outcome to an exit code (0 ok, 1 some sources failed, 2 config/database/template
//! error, 3 another run holds the lock, 130 interrupted).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
