//! `boletin items`: what is in the store.

use std::process::ExitCode;

use boletin::store::{ItemQuery, Store};
use boletin::when;
use chrono::Utc;

use super::{Context, code, fail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only items from this far back (7d, 24h, 2w) or since a date (2026-11-01).
    #[arg(long, default_value = "30d")]
    since: String,
    /// Only items before this date.
    #[arg(long)]
    until: Option<String>,
    /// Only this source (repeatable).
    #[arg(long = "source", value_name = "ID")]
    sources: Vec<String>,
    /// At most this many items.
    #[arg(long)]
    limit: Option<usize>,
    /// Pin "today" (YYYY-MM-DD or RFC 3339) for reproducible windows.
    #[arg(long)]
    now: Option<String>,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitCode, ExitCode> {
    let now = match &args.now {
        Some(n) => when::parse_now(n).map_err(|e| super::usage(&e))?,
        None => Utc::now(),
    };
    let since = when::parse_since(&args.since, now).map_err(|e| super::usage(&e))?;
    let until = args
        .until
        .as_deref()
        .map(when::parse_now)
        .transpose()
        .map_err(|e| super::usage(&e))?;
    let store = Store::open_existing(&ctx.db_path()).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let items = store
        .items(&ItemQuery {
            since: Some(since),
            until,
            sources: args.sources,
            limit: args.limit,
            ..Default::default()
        })
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    if ctx.json {
        super::print_json(&items)?;
    } else {
        for item in &items {
            println!(
                "{}  {:<20}  {}  {}",
                item.date.format("%Y-%m-%d"),
                item.source_id,
                item.title,
                item.link.as_deref().unwrap_or("-")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
