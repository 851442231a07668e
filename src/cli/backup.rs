//! `boletin backup FILE`: a checked copy of the live database, safe to take while fetch,
//! send or serve run (see `store::backup` for how).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use boletin::store::Store;

use super::{Context, code, fail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the copy (a new file unless --force).
    file: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    force: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitCode, ExitCode> {
    let started = Instant::now();
    let store = Store::open_existing(&ctx.db_path()).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let report = store
        .backup_to(&args.file, args.force)
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let seconds = started.elapsed().as_secs_f64();
    if ctx.json {
        super::print_json(&serde_json::json!({
            "file": report.file,
            "bytes": report.bytes,
            "pages": report.pages,
            "integrity": "ok",
            "counts": report.counts,
            "seconds": (seconds * 1000.0).round() / 1000.0,
        }))?;
    } else if !ctx.quiet {
        let c = report.counts;
        println!(
            "backup written to {} ({:.1} MiB in {seconds:.1} s): integrity ok; {} items, {} subscribers, {} suppressions, {} journal rows",
            report.file.display(),
            report.bytes as f64 / (1024.0 * 1024.0),
            c.items,
            c.subscribers,
            c.suppressions,
            c.journal
        );
    }
    Ok(ExitCode::SUCCESS)
}
