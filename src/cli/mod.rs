//! Command-line surface: argument parsing, output formats and exit codes.
//!
//! Errors name values from outside (a config value, an edition line, a feed's title, a CSV
//! row), and any of them may hold a line break or a terminal escape. Every line written to
//! stderr, and every `tracing` field, goes through [`one_line`].

/// std's `eprintln!`, each line through [`one_line`]. Defined before the command modules,
/// it is the `eprintln!` they all call, so none can print a raw value by forgetting.
macro_rules! eprintln {
    ($($arg:tt)*) => {
        ::std::eprintln!("{}", $crate::cli::one_line(&::std::format!($($arg)*)))
    };
}

/// std's `println!` and `print!`, for a reader that may stop reading: `boletin items | head`
/// closes stdout early, and a closed pipe is the reader's choice, not an error, so the
/// command ends quietly (exit 0) instead of panicking. Another failure to write stdout is
/// an error on stderr (exit 2).
macro_rules! println {
    () => {
        $crate::cli::write_stdout(::std::format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(::std::format_args!("{}\n", ::std::format_args!($($arg)*)))
    };
}

/// See [`println!`].
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(::std::format_args!($($arg)*))
    };
}

mod add;
mod backup;
mod check;
mod compose;
mod draft;
mod fetch;
mod init;
mod inspect;
mod items;
mod opml;
mod preview;
mod prune;
mod send;
mod serve;
mod sources;
mod subscribers;
mod when;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use boletin::config::{self, Config};
use clap::{Parser, Subcommand};

/// Exit codes cron can act on.
pub mod code {
    pub const OK: u8 = 0;
    pub const SOURCES_FAILED: u8 = 1;
    pub const CONFIG_OR_DB: u8 = 2;
    pub const LOCKED: u8 = 3;
    /// `send` refused an edition that includes no item (`--allow-empty` sends it).
    pub const EMPTY_EDITION: u8 = 4;
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, Parser)]
#[command(
    name = "boletin",
    version,
    about = "Partner feeds and news pages in, a curated email newsletter out"
)]
pub struct Cli {
    /// The sources file.
    #[arg(
        long,
        global = true,
        env = "BOLETIN_CONFIG",
        default_value = "feeds.toml"
    )]
    config: PathBuf,
    /// The SQLite database [default: boletin.db beside the config].
    #[arg(long, global = true, env = "BOLETIN_DB")]
    db: Option<PathBuf>,
    /// Machine-readable JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// Print nothing but errors.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a commented starting feeds.toml (and editions/) in DIR; never overwrites.
    Init(init::Args),
    /// Fetch every due source and store new items (what cron runs).
    Fetch(fetch::Args),
    /// List stored items, newest first (filter by tag, language, text); `items remove ID`.
    Items(items::Args),
    /// Delete old items for good (tombstones keep them from coming back).
    Prune(prune::Args),
    /// Write or update this week's edition file with candidate items.
    Draft(draft::Args),
    /// Render an edition file (email HTML, text, .eml, archive page) or a window's digest.
    Compose(compose::Args),
    /// Serve an edition on 127.0.0.1, re-rendering on every change.
    Preview(preview::Args),
    /// Show every source's health: last success, errors, next attempt.
    Sources(sources::Args),
    /// Validate the config and exit; writes nothing.
    Check(check::Args),
    /// Import, list, count and remove subscribers.
    Subscribers(subscribers::Args),
    /// Send an edition to every subscriber, exactly once (safe to rerun after a crash).
    Send(send::Args),
    /// Serve one-click unsubscribe and the web archive (behind an HTTPS proxy).
    Serve(serve::Args),
    /// Find a site's feed and append it to feeds.toml as a new source.
    Add(add::Args),
    /// Show what boletin would store for one URL or file, without the database.
    Inspect(inspect::Args),
    /// Import or export the sources as OPML 2.0.
    Opml(opml::Args),
    /// Copy the live database to FILE and check the copy (safe while fetch, send or serve run).
    Backup(backup::Args),
}

/// Shared by every command: where things are and how to speak.
pub struct Context {
    pub config_path: PathBuf,
    pub db: Option<PathBuf>,
    pub json: bool,
    pub quiet: bool,
}

impl Context {
    /// Loads the config; the error is already a one-line, file:line message.
    pub fn load_config(&self) -> Result<Config, ExitCode> {
        config::load(&self.config_path).map_err(|e| fail(code::CONFIG_OR_DB, &e))
    }

    /// The config and the text it was read from (for commands that edit the file).
    pub fn load_config_text(&self) -> Result<(Config, String), ExitCode> {
        config::load_with_text(&self.config_path).map_err(|e| fail(code::CONFIG_OR_DB, &e))
    }

    /// `--db`, `BOLETIN_DB`, or `boletin.db` beside the config.
    pub fn db_path(&self) -> PathBuf {
        self.db.clone().unwrap_or_else(|| {
            let dir = self.config_path.parent().unwrap_or(Path::new(""));
            dir.join("boletin.db")
        })
    }

    pub fn interactive(&self) -> bool {
        !self.quiet && !self.json && std::io::stderr().is_terminal()
    }
}

/// `text` on one line, with control characters (CR, LF, ESC…) and the invisible ones that
/// move or reorder text (line separators, bidi overrides) written as escapes: `\r`, `\n`,
/// `\u{1b}`. A value cannot then split a message into lines a log reader takes for
/// another, nor drive the terminal.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let hidden = boletin::lang::is_direction_mark(c) || matches!(c, '\u{2028}' | '\u{2029}');
        if c.is_control() || hidden {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// Prints `error` with its cause chain on one line and returns `code`.
pub fn fail(code: u8, error: &dyn std::error::Error) -> ExitCode {
    let mut line = format!("boletin: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    eprintln!("{line}");
    ExitCode::from(code)
}

/// A file a command reads or writes beside the database (editions, output).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("cannot write {0}: {1}")]
    Write(String, std::io::Error),
}

/// Prints a usage-style message and returns exit code 2.
pub fn usage(message: &str) -> ExitCode {
    eprintln!("boletin: {message}");
    ExitCode::from(code::CONFIG_OR_DB)
}

/// The `--now` of a command: RFC 3339 or a date; a bad value is a usage error.
pub fn pinned_now(now: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>, ExitCode> {
    now.map(|n| crate::cli::when::parse_now(n).map_err(|e| usage(&e)))
        .transpose()
}

/// Takes the run lock at `path`: another run holding it exits 3, anything else 2.
pub fn lock(path: &Path) -> Result<boletin::ingest::lock::RunLock, ExitCode> {
    use boletin::ingest::lock::{LockError, RunLock};
    RunLock::acquire(path).map_err(|e| match e {
        LockError::Held { .. } => fail(code::LOCKED, &e),
        LockError::Io { .. } => fail(code::CONFIG_OR_DB, &e),
    })
}

/// The tokio runtimes commands use; every one is built by [`runtime`].
#[derive(Debug, Clone, Copy)]
pub enum Runtime {
    /// One thread: a single fetch (`add`, `inspect`), the signal watcher, or a server's
    /// connections (`serve`, `preview`; their blocking work goes to the blocking pool).
    OneThread,
    /// The fetch fan-out: a worker per core, and a blocking pool (where parsing runs)
    /// capped at the core count, since more CPU-bound threads would only add memory (one
    /// malloc arena each) and contention.
    FanOut,
}

/// Builds a tokio runtime of `kind` with I/O and timers enabled.
pub fn runtime(kind: Runtime) -> std::io::Result<tokio::runtime::Runtime> {
    match kind {
        Runtime::OneThread => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Runtime::FanOut => {
            let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
            tokio::runtime::Builder::new_multi_thread()
                .max_blocking_threads(cores)
                .enable_all()
                .build()
        }
    }
}

/// Writes to stdout for [`println!`]: a closed pipe ends the command quietly.
pub fn write_stdout(text: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    if let Err(e) = std::io::stdout().lock().write_fmt(text) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("boletin: cannot write the output: {e}");
        std::process::exit(i32::from(code::CONFIG_OR_DB));
    }
}

pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), ExitCode> {
    match serde_json::to_string_pretty(value) {
        Ok(s) => {
            println!("{s}");
            Ok(())
        }
        Err(e) => Err(fail(code::CONFIG_OR_DB, &e)),
    }
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    use tracing_subscriber::field::MakeExt;
    let filter = tracing_subscriber::EnvFilter::try_from_env("BOLETIN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Each field through `one_line`, as the errors are.
    let fields = tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        let text = one_line(&format!("{value:?}"));
        if field.name() == "message" {
            write!(w, "{text}")
        } else {
            write!(w, "{field}={text}")
        }
    })
    .delimited(" ");
    tracing_subscriber::fmt()
        .fmt_fields(fields)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
    let ctx = Context {
        config_path: cli.config,
        db: cli.db,
        json: cli.json,
        quiet: cli.quiet,
    };
    let result = match cli.command {
        Command::Fetch(args) => fetch::run(&ctx, args),
        Command::Items(args) => items::run(&ctx, args),
        Command::Prune(args) => prune::run(&ctx, args),
        Command::Draft(args) => draft::run(&ctx, args),
        Command::Compose(args) => compose::run(&ctx, args),
        Command::Preview(args) => preview::run(&ctx, args),
        Command::Sources(args) => sources::run(&ctx, args),
        Command::Check(args) => check::run(&ctx, args),
        Command::Subscribers(args) => subscribers::run(&ctx, args),
        Command::Send(args) => send::run(&ctx, args),
        Command::Serve(args) => serve::run(&ctx, args),
        Command::Add(args) => add::run(&ctx, args),
        Command::Inspect(args) => inspect::run(&ctx, args),
        Command::Opml(args) => opml::run(&ctx, args),
        Command::Init(args) => init::run(&ctx, args),
        Command::Backup(args) => backup::run(&ctx, args),
    };
    result.unwrap_or_else(|code| code)
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn values_print_on_one_line_with_controls_escaped() {
        assert_eq!(
            one_line("feeds.toml:3: `Boletín\r\nboletin: ok\u{1b}[2J\t`"),
            "feeds.toml:3: `Boletín\\r\\nboletin: ok\\u{1b}[2J\\t`"
        );
        // Text that would read backwards, or break the line in a terminal that honours it.
        assert_eq!(
            one_line("Acción\u{202e}lmth.exe\u{2028}fin"),
            "Acción\\u{202e}lmth.exe\\u{2028}fin"
        );
        assert_eq!(one_line("Niñas y niños — «paz»"), "Niñas y niños — «paz»");
    }
}
