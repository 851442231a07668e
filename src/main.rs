//! The `boletin` command: parses arguments, calls the library, prints, and maps the
//! outcome to an exit code (0 ok, 1 some sources failed, 2 config/database/template
//! error, 3 another run holds the lock, 130 interrupted).

mod cli;

use std::process::ExitCode;

/// Parsing and sanitizing partner HTML allocates millions of small nodes and strings:
/// mimalloc serves them faster than the system's allocator, across threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::run()
}
