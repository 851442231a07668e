//! `boletin items`: what is in the store, filtered by date, source, tag, language and
//! text, one line per story (copies from other partners folded under "also by");
//! `boletin items remove ID…` takes stories out for good.

use std::collections::HashMap;
use std::process::ExitCode;

use crate::cli::when;
use boletin::store::{ItemQuery, Store};
use chrono::Utc;

use super::{Context, code, fail};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    /// Only items from this far back (7d, 24h, 2w) or since a date (2026-11-01).
    #[arg(long, default_value = "30d")]
    since: String,
    /// Only items before this date.
    #[arg(long)]
    until: Option<String>,
    /// Only this source (repeatable).
    #[arg(long = "source", value_name = "ID")]
    sources: Vec<String>,
    /// Only items with this tag: a region (chiapas), a topic (migration) or a source tag
    /// (repeatable: all must match).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Only items in this language: es, en or other.
    #[arg(long, value_name = "LANG", value_parser = ["es", "en", "other"])]
    lang: Option<String>,
    /// Only items whose title, text or tags contain every word (accents and case ignored;
    /// `migra*` for prefixes).
    #[arg(long, value_name = "TEXT")]
    search: Option<String>,
    /// List other partners' copies of a story too (folded under the earliest by default).
    #[arg(long)]
    all: bool,
    /// At most this many items.
    #[arg(long)]
    limit: Option<usize>,
    /// Pin "today" (YYYY-MM-DD or RFC 3339) for reproducible windows.
    #[arg(long)]
    now: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Remove items (a story's primary takes its copies with it); they never come back.
    Remove {
        /// Item ids, as shown by `boletin items --json`.
        #[arg(required = true)]
        ids: Vec<i64>,
    },
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitCode, ExitCode> {
    if let Some(Action::Remove { ids }) = &args.action {
        return remove(ctx, ids);
    }
    let now = super::pinned_now(args.now.as_deref())?.unwrap_or_else(Utc::now);
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
            tags: args.tags,
            language: args.lang,
            search: args.search,
            fold_duplicates: !args.all,
            ..Default::default()
        })
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    if ctx.json {
        super::print_json(&items)?;
    } else {
        // Source names read better than ids in "also by"; a broken config just means ids.
        let names: HashMap<String, String> = boletin::config::load(&ctx.config_path)
            .map(|c| c.sources.into_iter().map(|s| (s.id, s.name)).collect())
            .unwrap_or_default();
        for item in &items {
            println!(
                "{}  {:<20}  {}  {}",
                item.date.format("%Y-%m-%d"),
                item.source_id,
                item.title,
                item.link.as_deref().unwrap_or("-")
            );
            let mut notes = vec![format!("#{}", item.id)];
            notes.extend(item.language.clone());
            if !item.tags.is_empty() {
                notes.push(item.tags.join(", "));
            }
            if let Some(primary) = item.duplicate_of {
                notes.push(format!("copy of #{primary}"));
            }
            if !item.also_by.is_empty() {
                let by: Vec<&str> = item
                    .also_by
                    .iter()
                    .map(|s| names.get(s).map_or(s.as_str(), String::as_str))
                    .collect();
                notes.push(format!("also by: {}", by.join(", ")));
            }
            println!("            {}", notes.join(" · "));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn remove(ctx: &Context, ids: &[i64]) -> Result<ExitCode, ExitCode> {
    let mut store =
        Store::open_existing(&ctx.db_path()).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let removed = store
        .remove_items(ids, "editor", Utc::now())
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|i| !removed.contains(i))
        .collect();
    if ctx.json {
        super::print_json(&serde_json::json!({ "removed": removed, "missing": missing }))?;
    } else if !ctx.quiet {
        println!(
            "removed {} item(s); they will not be stored again",
            removed.len()
        );
    }
    for id in &missing {
        eprintln!("boletin: no item with id {id}");
    }
    Ok(ExitCode::from(if missing.is_empty() {
        code::OK
    } else {
        code::SOURCES_FAILED
    }))
}
