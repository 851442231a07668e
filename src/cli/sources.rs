//! `boletin sources`: every source's health, for a person or a monitoring script.

use std::process::ExitCode;

use boletin::ingest::http_status::HttpStatus;
use boletin::store::Store;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::{Context, code, fail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Pin the clock (RFC 3339 or YYYY-MM-DD) that "failing for more than 7 days" is
    /// measured from.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
}

/// Failing longer than this stands out.
const LONG_FAILURE: Duration = Duration::days(7);

#[derive(Serialize)]
struct Health {
    id: String,
    name: String,
    url: String,
    last_attempt: Option<DateTime<Utc>>,
    last_success: Option<DateTime<Utc>>,
    last_status: Option<HttpStatus>,
    last_error: Option<String>,
    errors_in_a_row: u32,
    failing_since: Option<DateTime<Utc>>,
    failing_over_7_days: bool,
    next_attempt: Option<DateTime<Utc>>,
    items: u64,
    newest_item: Option<DateTime<Utc>>,
    suggested_url: Option<String>,
    gone: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitCode, ExitCode> {
    let now = super::pinned_now(args.now.as_deref())?.unwrap_or_else(Utc::now);
    let config = ctx.load_config()?;
    let store = Store::open_existing(&ctx.db_path()).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let states = store
        .source_states()
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let stats = store
        .source_stats()
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let rows: Vec<Health> = config
        .sources
        .iter()
        .map(|s| {
            let st = boletin::ingest::state::current_state(&states, s);
            let stat = stats.get(&s.id);
            let failing_since = st.and_then(|st| st.failing_since);
            Health {
                id: s.id.clone(),
                name: s.name.clone(),
                url: s.url.to_string(),
                last_attempt: st.and_then(|st| st.last_attempt),
                last_success: st.and_then(|st| st.last_success),
                last_status: st.and_then(|st| st.last_status),
                last_error: st.and_then(|st| st.last_error.clone()),
                errors_in_a_row: st.map_or(0, |st| st.error_count),
                failing_since,
                failing_over_7_days: failing_since.is_some_and(|t| now - t > LONG_FAILURE),
                next_attempt: st.and_then(|st| st.next_attempt),
                items: stat.map_or(0, |x| x.items),
                newest_item: stat.and_then(|x| x.newest),
                suggested_url: st.and_then(|st| st.moved_to.clone()),
                gone: st.is_some_and(|st| st.gone),
            }
        })
        .collect();
    if ctx.json {
        super::print_json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    let day = |d: Option<DateTime<Utc>>| {
        d.map_or("-".to_string(), |d| d.format("%Y-%m-%d %H:%M").to_string())
    };
    println!(
        "{:<24} {:>6} {:<16} {:<16} {:>4}  STATUS",
        "SOURCE", "ITEMS", "LAST OK", "NEXT", "ERRS"
    );
    for h in &rows {
        let status = if h.gone {
            "GONE (410): remove it or fetch --force".to_string()
        } else if h.failing_over_7_days {
            format!("FAILING >7 DAYS: {}", h.last_error.as_deref().unwrap_or(""))
        } else if let Some(e) = &h.last_error {
            format!("failing: {e}")
        } else if h.last_success.is_some() {
            "ok".to_string()
        } else {
            "never fetched".to_string()
        };
        println!(
            "{:<24} {:>6} {:<16} {:<16} {:>4}  {}",
            h.id,
            h.items,
            day(h.last_success),
            day(h.next_attempt),
            h.errors_in_a_row,
            status
        );
        if let Some(url) = &h.suggested_url {
            println!(
                "{:<24} moved permanently: put url = \"{url}\" in the config",
                ""
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
