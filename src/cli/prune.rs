//! `boletin prune --older-than 180d`: retention. Old items are deleted and tombstoned, so
//! a partner feed that still lists them does not bring them back.

use std::process::ExitCode;

use crate::cli::when;
use boletin::store::Store;
use chrono::Utc;

use super::{Context, code, fail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Delete items dated before this far back (180d, 26w).
    #[arg(long, value_name = "SPAN")]
    older_than: String,
    /// Pin "today" (YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    now: Option<String>,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitCode, ExitCode> {
    let now = super::pinned_now(args.now.as_deref())?.unwrap_or_else(Utc::now);
    let span = when::parse_span(&args.older_than).map_err(|e| super::usage(&e))?;
    let db = ctx.db_path();
    // A fetch writing at the same time would race the tombstones.
    let _lock = super::lock(&db)?;
    let mut store = Store::open_existing(&db).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let counts = store
        .prune(now - span, Utc::now())
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    if ctx.json {
        super::print_json(&counts)?;
    } else if !ctx.quiet {
        println!(
            "pruned {} item(s) older than {}; {} tombstone(s) kept",
            counts.removed, args.older_than, counts.tombstones
        );
    }
    Ok(ExitCode::SUCCESS)
}
