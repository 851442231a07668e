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
/// How many of a source's newest items its usual rhythm is measured over.
const RHYTHM_ITEMS: usize = 20;
/// A source is not called stale before its newest item is this old, however often it
/// usually publishes: a quiet week is not a broken scraper.
const STALE_FLOOR: Duration = Duration::days(14);

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
    /// Days since the newest item, to a tenth.
    newest_item_age_days: Option<f64>,
    /// The median gap between its recent items, in days: how often it usually publishes.
    usual_gap_days: Option<f64>,
    /// The newest item is much older than the source's rhythm: fetches may succeed while
    /// a page rule matches only old blocks, or a feed stopped being updated.
    stale: bool,
    #[serde(skip)]
    age: Option<Duration>,
    #[serde(skip)]
    gap: Option<Duration>,
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
    let recent = store
        .recent_item_dates(RHYTHM_ITEMS)
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let rows: Vec<Health> = config
        .sources
        .iter()
        .map(|s| {
            let st = boletin::ingest::state::current_state(&states, s);
            let stat = stats.get(&s.id);
            let failing_since = st.and_then(|st| st.failing_since);
            let newest = stat.and_then(|x| x.newest);
            let gap = recent.get(&s.id).and_then(|d| usual_gap(d));
            let age = newest.map(|n| (now - n).max(Duration::zero()));
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
                newest_item: newest,
                newest_item_age_days: age.map(days),
                usual_gap_days: gap.map(days),
                stale: age.is_some_and(|a| a > stale_after(gap)),
                age,
                gap,
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
        "{:<24} {:>6} {:>6} {:<16} {:<16} {:>4}  STATUS",
        "SOURCE", "ITEMS", "NEWEST", "LAST OK", "NEXT", "ERRS"
    );
    for h in &rows {
        let status = if h.gone {
            "GONE (410): remove it or fetch --force".to_string()
        } else if h.failing_over_7_days {
            format!("FAILING >7 DAYS: {}", h.last_error.as_deref().unwrap_or(""))
        } else if let Some(e) = &h.last_error {
            format!("failing: {e}")
        } else if h.stale {
            format!(
                "STALE: newest item {} old, usually one every {}: check it with `boletin inspect {} --source {}`",
                h.age.map_or("-".into(), short_age),
                h.gap.map_or("?".into(), short_age),
                h.url,
                h.id
            )
        } else if h.last_success.is_some() {
            "ok".to_string()
        } else {
            "never fetched".to_string()
        };
        println!(
            "{:<24} {:>6} {:>6} {:<16} {:<16} {:>4}  {}",
            h.id,
            h.items,
            h.age.map_or("-".into(), short_age),
            day(h.last_success),
            day(h.next_attempt),
            h.errors_in_a_row,
            super::one_line(&status)
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

/// The median gap between consecutive dates (newest first); `None` below two gaps, where
/// one long pause would pass for the rhythm.
fn usual_gap(newest_first: &[DateTime<Utc>]) -> Option<Duration> {
    let mut gaps: Vec<Duration> = newest_first
        .windows(2)
        .map(|w| (w[0] - w[1]).abs())
        .collect();
    if gaps.len() < 2 {
        return None;
    }
    gaps.sort_unstable();
    Some(gaps[gaps.len() / 2])
}

/// How old a source's newest item may grow before the source is flagged: three of its
/// usual gaps, and never under [`STALE_FLOOR`].
fn stale_after(usual_gap: Option<Duration>) -> Duration {
    usual_gap.map_or(STALE_FLOOR, |g| (g * 3).max(STALE_FLOOR))
}

fn days(d: Duration) -> f64 {
    (d.num_minutes() as f64 / (24.0 * 60.0) * 10.0).round() / 10.0
}

/// `3d`, `5h` or `0h`: an age for a narrow column.
fn short_age(d: Duration) -> String {
    if d.num_days() >= 1 {
        format!("{}d", d.num_days())
    } else {
        format!("{}h", d.num_hours())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dates(days_ago: &[i64]) -> Vec<DateTime<Utc>> {
        let now = DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
        days_ago.iter().map(|d| now - Duration::days(*d)).collect()
    }

    #[test]
    fn the_rhythm_is_the_median_gap_and_one_long_pause_does_not_set_it() {
        // Weekly, with one month-long summer break.
        let weekly = dates(&[0, 7, 14, 21, 51, 58, 65]);
        assert_eq!(usual_gap(&weekly), Some(Duration::days(7)));
        assert_eq!(stale_after(usual_gap(&weekly)), Duration::days(21));
        // Several a day: the floor keeps a quiet fortnight from being flagged.
        let daily = dates(&[0, 0, 1, 1, 2]);
        assert_eq!(stale_after(usual_gap(&daily)), STALE_FLOOR);
        assert_eq!(usual_gap(&dates(&[0, 30])), None);
        assert_eq!(stale_after(None), STALE_FLOOR);
    }

    #[test]
    fn ages_read_in_days_or_hours() {
        assert_eq!(short_age(Duration::hours(5)), "5h");
        assert_eq!(short_age(Duration::days(40) + Duration::hours(23)), "40d");
        assert_eq!(days(Duration::hours(36)), 1.5);
    }
}
