//! `boletin draft`: writes or updates an edition file with this week's candidates.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::when;
use boletin::edition::curate;
use boletin::edition::{self, DraftMeta, Edition, iso_week};
use boletin::lang::Lang;
use boletin::publish::i18n;
use boletin::store::{ItemQuery, Store};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use super::{Context, code, fail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Candidates from this far back (7d) or since a date [default: 7d].
    #[arg(long, conflicts_with = "week")]
    since: Option<String>,
    /// Candidates from one ISO week, Monday to Sunday (e.g. 2026-W47).
    #[arg(long)]
    week: Option<String>,
    /// Pin "today" (YYYY-MM-DD = through the end of that day, or RFC 3339).
    #[arg(long)]
    now: Option<String>,
    /// The edition file to write or update [default: editions/<week>.toml].
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Monday 00:00 to the next Monday 00:00, Mexico City time, of an ISO week `2026-W47`.
fn week_window(text: &str) -> Result<(DateTime<Utc>, DateTime<Utc>, NaiveDate), String> {
    let bad = || edition::not_a_week(text.trim());
    // The rule the edition file's `week` is read with, so a draft can always be read back.
    let monday = edition::iso_week_monday(text.trim()).ok_or_else(bad)?;
    let tz = i18n::EDITION_TZ;
    let start = monday
        .and_time(NaiveTime::MIN)
        .and_local_timezone(tz)
        .earliest()
        .ok_or_else(bad)?
        .with_timezone(&Utc);
    Ok((start, start + Duration::days(7), monday + Duration::days(6)))
}

/// One more than the highest `number` among the other edition files beside `path`.
fn next_number(path: &Path) -> u32 {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 1;
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p != path)
        .filter_map(|p| Edition::load(&p).ok().and_then(|e| e.number))
        .max()
        .map_or(1, |n| n + 1)
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitCode, ExitCode> {
    let config = ctx.load_config()?;
    let now = super::pinned_now(args.now.as_deref())?.unwrap_or_else(Utc::now);
    let tz = i18n::EDITION_TZ;
    // "Today" as a reader sees it is the last instant of the window.
    let today = (now - Duration::seconds(1)).with_timezone(&tz).date_naive();
    let (since, until, date, week) = match &args.week {
        Some(w) => {
            let (since, until, sunday) = week_window(w).map_err(|e| super::usage(&e))?;
            (since, until, sunday, w.trim().to_string())
        }
        None => {
            let since = when::parse_since(args.since.as_deref().unwrap_or("7d"), now)
                .map_err(|e| super::usage(&e))?;
            (since, now, today, iso_week(today))
        }
    };
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("editions").join(format!("{week}.toml")));
    let existing = match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(fail(
                code::CONFIG_OR_DB,
                &super::FileError::Read(path.display().to_string(), e),
            ));
        }
    };
    let store = Store::open_existing(&ctx.db_path()).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let items = store
        .window_items(since, until)
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let candidates = curate::candidates(&config, items);
    let languages = config.newsletter.languages.clone();
    // One subject and intro per language, each with its own long date, for the editor to
    // translate: never one string joining both languages.
    let per_language = |text: &dyn Fn(Lang) -> String| -> Vec<(Lang, String)> {
        languages.iter().map(|&l| (l, text(l))).collect()
    };
    let meta = DraftMeta {
        week: week.clone(),
        number: next_number(&path),
        date,
        subject: per_language(&|l| {
            format!(
                "{} · {}",
                config.newsletter.title,
                i18n::edition_long_dates(date, &[l])
            )
        }),
        preheader: String::new(),
        intro: per_language(&|_| config.newsletter.description.clone()),
        languages,
        today,
    };
    let (text, report) = edition::draft(existing.as_deref(), &path, &meta, &config, &candidates)
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    write_atomically(&path, &text).map_err(|e| {
        fail(
            code::CONFIG_OR_DB,
            &super::FileError::Write(path.display().to_string(), e),
        )
    })?;
    let gone = gone_from_store(&store, &report.listed).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    for (id, line) in &gone {
        eprintln!(
            "boletin: {}:{line}: item {id} is no longer in the database (removed or pruned): \
             delete it from the file, or compose will refuse it",
            path.display()
        );
    }
    if ctx.json {
        super::print_json(&serde_json::json!({
            "path": path, "week": week, "added": report.added, "kept": report.kept,
            "dropped": report.dropped, "redraft": report.redraft,
            "new_since": (report.redraft && report.added > 0).then(|| today.to_string()),
            "gone": gone.iter().map(|(id, line)| serde_json::json!({"id": id, "line": line})).collect::<Vec<_>>(),
            "since": since.to_rfc3339(), "until": until.to_rfc3339(),
        }))?;
    } else if !ctx.quiet {
        let placed = if report.redraft && report.added > 0 {
            format!(" (at the end of their sections, under `# new since {today}`, not included)")
        } else {
            String::new()
        };
        let dropped = match report.dropped {
            0 => String::new(),
            n => format!(", {n} you deleted not offered again"),
        };
        println!(
            "{}: {} new candidates{placed}, {} kept as edited{dropped}. Edit it, then: boletin compose {}",
            path.display(),
            report.added,
            report.kept,
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The listed `(id, line)`s whose item the store no longer has (`items remove`, `prune`).
fn gone_from_store(
    store: &Store,
    listed: &[(i64, usize)],
) -> Result<Vec<(i64, usize)>, boletin::store::StoreError> {
    if listed.is_empty() {
        return Ok(Vec::new());
    }
    let present: std::collections::HashSet<i64> = store
        .items(&ItemQuery {
            ids: listed.iter().map(|(id, _)| *id).collect(),
            ..ItemQuery::default()
        })?
        .into_iter()
        .map(|i| i.id)
        .collect();
    Ok(listed
        .iter()
        .filter(|(id, _)| !present.contains(id))
        .copied()
        .collect())
}

/// Writes beside the target and renames, so an interrupted draft never leaves half a file.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks_run_monday_to_sunday_in_mexico_city() {
        let (since, until, sunday) = week_window("2026-W47").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(since.to_rfc3339(), "2026-11-16T06:00:00+00:00");
        assert_eq!(until.to_rfc3339(), "2026-11-23T06:00:00+00:00");
        assert_eq!(sunday.to_string(), "2026-11-22");
        assert_eq!(iso_week(sunday), "2026-W47");
        assert!(week_window("semana 47").is_err());
    }
}
