//! `boletin items`: what is in the store, filtered by date, source, tag, language and
//! text, one line per story (copies from other partners folded under "also by");
//! `boletin items remove ID…` takes stories out for good; `why ID` says why an item is
//! folded (or not), `split ID` and `merge ID ID` correct the stories for good.

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
    /// Say why an item is folded into a story, or stands alone: reason, score, the
    /// boilerplate set aside and the text it shares beyond it.
    Why {
        /// The item's id.
        id: i64,
    },
    /// Take an item out of its story for good (kept apart through re-annotation and later
    /// fetches).
    Split {
        /// The item's id.
        id: i64,
    },
    /// Make two items (and their stories) one story for good.
    Merge {
        /// One item's id.
        a: i64,
        /// The other's.
        b: i64,
    },
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitCode, ExitCode> {
    match &args.action {
        Some(Action::Remove { ids }) => return remove(ctx, ids),
        Some(Action::Why { id }) => return why(ctx, *id),
        Some(Action::Split { id }) => return split(ctx, *id),
        Some(Action::Merge { a, b }) => return merge(ctx, *a, *b),
        None => {}
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
    let query = ItemQuery {
        since: Some(since),
        until,
        sources: args.sources,
        limit: args.limit,
        tags: args.tags,
        language: args.lang,
        search: args.search,
        fold_duplicates: !args.all,
        ..Default::default()
    };
    let items = store
        .items(&query)
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    if items.is_empty() && !ctx.quiet {
        if !ctx.json {
            println!("0 items");
        }
        for hint in empty_hints(&store, &query, now).map_err(|e| fail(code::CONFIG_OR_DB, &e))? {
            eprintln!("hint: {hint}");
        }
    }
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
                let by = match item.duplicate_reason.as_deref() {
                    Some("editor") => " (joined by the editor)",
                    _ => "",
                };
                notes.push(format!("copy of #{primary}{by}"));
            }
            if !item.kept_apart.is_empty() {
                notes.push(format!("kept apart from {}", hashes(&item.kept_apart)));
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

/// Why a listing came out empty, and what to try: an unknown tag or source (with the
/// closest known ones), or a window that misses every matching item.
fn empty_hints(
    store: &Store,
    query: &ItemQuery,
    now: chrono::DateTime<Utc>,
) -> Result<Vec<String>, boletin::store::StoreError> {
    let mut hints = Vec::new();
    if query.limit == Some(0) {
        return Ok(hints);
    }
    if !query.tags.is_empty() {
        let known = store.tag_counts()?;
        for tag in &query.tags {
            let slug = boletin::annotate::fold::slug(tag);
            if known.iter().any(|(t, _)| *t == slug) {
                continue;
            }
            let close = closest(&slug, known.iter().map(|(t, _)| t.as_str()));
            let used: Vec<String> = known
                .iter()
                .take(8)
                .map(|(t, n)| format!("{t} ({n})"))
                .collect();
            hints.push(unknown(
                &format!("no item is tagged `{tag}`"),
                &close,
                &format!("most used tags: {}", or_none(&used.join(", "))),
            ));
        }
    }
    if !query.sources.is_empty() {
        let stats = store.source_stats()?;
        let mut known: Vec<&str> = stats.keys().map(String::as_str).collect();
        known.sort_unstable();
        for id in query.sources.iter().filter(|id| !stats.contains_key(*id)) {
            hints.push(unknown(
                &format!("no item from source `{id}`"),
                &closest(id, known.iter().copied()),
                &format!("sources with items: {}", or_none(&known.join(", "))),
            ));
        }
    }
    if !hints.is_empty() {
        return Ok(hints);
    }
    // The same filters over all time: is there a match outside the window?
    let newest = store.items(&ItemQuery {
        since: None,
        until: None,
        limit: Some(1),
        ..query.clone()
    })?;
    match (newest.first(), query.since) {
        (Some(item), Some(since)) if item.date < since => {
            let days = (now - item.date).num_days() + 1;
            hints.push(format!(
                "the newest match is from {} (#{}): widen the window, e.g. --since {days}d",
                item.date.format("%Y-%m-%d"),
                item.id
            ));
        }
        (Some(item), _) => hints.push(format!(
            "matches exist after --until (the newest from {}): move or drop --until",
            item.date.format("%Y-%m-%d")
        )),
        (None, _) if store.source_stats()?.is_empty() => {
            hints.push("the store holds no items yet: run `boletin fetch`".to_string());
        }
        (None, _) => hints.push(
            "nothing matches at any date: loosen --search, --lang, --tag or --source".to_string(),
        ),
    }
    Ok(hints)
}

/// `missing`, then the likely misspellings of it, else what there is `instead`.
fn unknown(missing: &str, close: &[&str], instead: &str) -> String {
    if close.is_empty() {
        format!("{missing}; {instead}")
    } else {
        format!("{missing}; did you mean {}?", close.join(", "))
    }
}

fn or_none(list: &str) -> &str {
    if list.is_empty() { "none yet" } else { list }
}

/// Up to three of `known` that look like a misspelling of `word`, closest first.
fn closest<'a>(word: &str, known: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    // Jaro-Winkler favours a shared beginning, which is how tags and ids are mistyped
    // (`chiapa`, `migracion` for `migration`) and shortened (`derechos` for
    // `derechos-humanos`); 0.8 keeps unrelated words of similar length out.
    let mut scored: Vec<(f64, &str)> = known
        .map(|k| (strsim::jaro_winkler(word, k), k))
        .filter(|(score, _)| *score >= 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(3).map(|(_, k)| k).collect()
}

/// `#1, #2` for a list of item ids.
fn hashes(ids: &[i64]) -> String {
    ids.iter()
        .map(|i| format!("#{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An id `why`, `split` or `merge` cannot find: removed (its tombstone says when and by
/// whom), or never stored or annotated.
fn missing(store: &Store, id: i64) -> ExitCode {
    match store.tombstone_of(id) {
        Ok(Some((reason, at))) => {
            let by = match reason.as_str() {
                "editor" => "by the editor (boletin items remove)",
                "retention" => "by retention (boletin prune)",
                _ => "",
            };
            eprintln!(
                "boletin: #{id} was removed {by} on {}; its tombstone keeps it from being stored again",
                at.format("%Y-%m-%d")
            );
        }
        _ => eprintln!("boletin: no item with id {id} (or not annotated yet: run `boletin fetch`)"),
    }
    ExitCode::from(code::SOURCES_FAILED)
}

fn why(ctx: &Context, id: i64) -> Result<ExitCode, ExitCode> {
    let mut store =
        Store::open_existing(&ctx.db_path()).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let Some(w) =
        boletin::annotate::why::why(&mut store, id).map_err(|e| fail(code::CONFIG_OR_DB, &e))?
    else {
        return Err(missing(&store, id));
    };
    if ctx.json {
        super::print_json(&w)?;
        return Ok(ExitCode::SUCCESS);
    }
    // Titles, sources and passages are partners' text: printed on one line, control and
    // direction characters escaped, so none can rewrite what the editor reads.
    let text = super::one_line;
    println!("#{} ({}) {}", w.id, text(&w.source_id), text(&w.title));
    let source_of = |id: i64| {
        w.compared
            .iter()
            .find(|c| c.id == id)
            .map(|c| format!(" ({})", text(&c.source_id)))
            .unwrap_or_default()
    };
    match (w.primary, w.reason) {
        (Some(p), Some(reason)) => println!(
            "  a copy of #{p}{}: {}, score {:.2}",
            source_of(p),
            reason.as_str(),
            w.score.unwrap_or(1.0)
        ),
        (Some(p), None) => println!("  a copy of #{p}{}", source_of(p)),
        (None, _) if !w.copies.is_empty() => {
            println!("  leads a story; its copies: {}", hashes(&w.copies))
        }
        (None, _) => println!("  stands alone ({} candidates judged)", w.candidates),
    }
    if !w.agrees {
        let now = match &w.today {
            Some(t) => format!(
                "be one story with #{}{} ({}, score {:.2})",
                t.primary,
                source_of(t.primary),
                t.reason.map_or("", |r| r.as_str()),
                t.score
            ),
            None => "stand alone".to_string(),
        };
        println!(
            "  placed with what the store held then; with what it holds now it would {now} \
             (it is placed again when it is annotated again)"
        );
    }
    if !w.kept_apart.is_empty() {
        println!("  kept apart by the editor from {}", hashes(&w.kept_apart));
    }
    for c in &w.compared {
        let k = &c.comparison;
        let verdict = match k.reason {
            Some(r) => format!("one story ({})", r.as_str()),
            None => "not one story".to_string(),
        };
        println!(
            "  against #{} ({}) «{}»: {verdict}; resemblance {:.2}, containment {:.2}, \
             {} distinctive shingles shared of {} and {}, {} days apart{}",
            c.id,
            text(&c.source_id),
            text(&c.title),
            k.jaccard,
            k.containment,
            k.shared,
            k.distinct.0,
            k.distinct.1,
            k.days,
            if k.same_title { ", same title" } else { "" }
        );
        println!(
            "    boilerplate set aside: {} shingles of the sources' templates, {} in passages \
             that recur under many titles, {} of a shared footer",
            k.source_boilerplate, k.overall_boilerplate, k.shared_footer
        );
        if k.template_slots > 0 {
            println!(
                "    one template filled with other contents in {} place(s), {} shingles each of its own: the shared text is the frame",
                k.template_slots, k.template_fill
            );
        }
        if k.whole >= boletin::annotate::dedup::IDENTICAL {
            println!(
                "    the whole texts, boilerplate included, are {:.0}% the same",
                k.whole * 100.0
            );
        }
        for passage in &c.shared_text {
            println!("    shared: «{}»", text(passage));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn split(ctx: &Context, id: i64) -> Result<ExitCode, ExitCode> {
    let mut store =
        Store::open_existing(&ctx.db_path()).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let batch = store
        .annotation_batch()
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let apart = batch
        .split(id, Utc::now())
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    batch.commit().map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let Some(apart) = apart else {
        return Err(missing(&store, id));
    };
    if ctx.json {
        super::print_json(&serde_json::json!({ "split": id, "kept_apart": apart }))?;
    } else if !ctx.quiet {
        if apart.is_empty() {
            println!("#{id} is in no story; nothing to split");
        } else {
            println!(
                "#{id} taken out of its story, kept apart from {} (also after re-annotation and later fetches)",
                hashes(&apart)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn merge(ctx: &Context, a: i64, b: i64) -> Result<ExitCode, ExitCode> {
    if a == b {
        return Err(super::usage(&format!(
            "merge needs two different items, not #{a} twice"
        )));
    }
    let mut store =
        Store::open_existing(&ctx.db_path()).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let batch = store
        .annotation_batch()
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let primary = batch
        .merge(a, b, Utc::now())
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    batch.commit().map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let Some(primary) = primary else {
        let unknown = [a, b]
            .into_iter()
            .find(|id| {
                store
                    .items(&ItemQuery {
                        ids: vec![*id],
                        ..ItemQuery::default()
                    })
                    .map(|i| i.is_empty())
                    .unwrap_or(true)
            })
            .unwrap_or(a);
        return Err(missing(&store, unknown));
    };
    if ctx.json {
        super::print_json(&serde_json::json!({ "merged": [a, b], "primary": primary }))?;
    } else if !ctx.quiet {
        println!(
            "#{a} and #{b} are one story, led by #{primary} (also after re-annotation and later fetches)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn closest_names_likely_misspellings_first_and_nothing_unrelated() {
        let known = [
            "chiapas",
            "oaxaca",
            "migration",
            "derechos-humanos",
            "guatemala",
        ];
        assert_eq!(closest("chiapa", known.into_iter()), ["chiapas"]);
        assert_eq!(closest("migracion", known.into_iter()), ["migration"]);
        assert_eq!(closest("derechos", known.into_iter()), ["derechos-humanos"]);
        assert!(closest("agua", known.into_iter()).is_empty());
    }
}
