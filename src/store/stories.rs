//! Item annotations and stories: language, tags, HTML excerpts, the search index, the
//! links between an item and the other partners' copies of its story, tombstones and
//! retention. The rules (what is a duplicate, which tags) live in `dedup` and `tag`; this
//! file only stores their verdicts.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{ItemQuery, Store, StoreError, StoredItem};
use crate::annotate::dedup::{self, Reason, Signature};
use crate::html::sanitize::SafeHtml;

/// An item whose annotation is missing or out of date.
#[derive(Debug, Clone)]
pub struct PendingItem {
    pub id: i64,
    pub source_id: String,
    pub title: String,
    pub link: Option<String>,
    pub summary: SafeHtml,
    pub content: Option<SafeHtml>,
    /// Seconds: published, else first seen.
    pub sort_at: i64,
    pub fingerprint: String,
}

/// What annotating one item found.
#[derive(Debug, Clone)]
pub struct Annotation {
    pub language: Option<String>,
    pub tags: Vec<String>,
    pub excerpt: String,
    pub excerpt_html: SafeHtml,
    pub signature: Signature,
    /// Plain text indexed for search.
    pub body: String,
}

/// Another source's item that might be the same story.
#[derive(Debug, Clone)]
pub struct StoryMember {
    pub id: i64,
    pub source_id: String,
    pub signature: Signature,
}

/// What `prune` did.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct PruneCounts {
    pub removed: usize,
    pub tombstones: usize,
}

/// Appends the annotation filters (tags, language, search, folding) to an items query.
pub(super) fn filter_sql(q: &ItemQuery, sql: &mut String, args: &mut Vec<rusqlite::types::Value>) {
    for tag in &q.tags {
        sql.push_str(" AND EXISTS (SELECT 1 FROM json_each(items.tags) WHERE json_each.value = ?)");
        args.push(crate::annotate::fold::slug(tag).into());
    }
    if let Some(lang) = &q.language {
        sql.push_str(" AND language = ?");
        args.push(lang.to_ascii_lowercase().into());
    }
    if let Some(text) = &q.search {
        sql.push_str(" AND id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)");
        args.push(fts_query(text).into());
    }
    if q.fold_duplicates {
        sql.push_str(" AND duplicate_of IS NULL");
    }
}

/// User text as an FTS5 query: every word must appear (prefixes with a trailing `*`);
/// quoting each word keeps FTS5 syntax (AND, NEAR, quotes, columns) out of users' way.
fn fts_query(text: &str) -> String {
    let words: Vec<String> = text
        .split_whitespace()
        .filter_map(|w| {
            let star = w.ends_with('*');
            let w: String = w
                .chars()
                .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '\'' | '’'))
                .collect();
            (!w.is_empty()).then(|| format!("\"{w}\"{}", if star { "*" } else { "" }))
        })
        .collect();
    if words.is_empty() {
        // Matches nothing rather than failing on empty input.
        "\"\"".to_string()
    } else {
        words.join(" ")
    }
}

/// A transaction in which pages of items are annotated: each page saved together, then
/// linked to its stories. Dropped without [`AnnotationBatch::commit`], it rolls back, so an
/// item is never marked annotated without its story links.
pub struct AnnotationBatch<'a> {
    tx: rusqlite::Transaction<'a>,
}

impl Store {
    /// Starts a transaction for annotating pages of items.
    pub fn annotation_batch(&mut self) -> Result<AnnotationBatch<'_>, StoreError> {
        Ok(AnnotationBatch {
            tx: self.write_tx()?,
        })
    }
}

impl AnnotationBatch<'_> {
    /// Up to `limit` items never annotated, changed since, or annotated under another
    /// `stamp` (config), with ids after `after`: a page at a time, so a first fetch of
    /// thousands of feeds is never all in memory. In id order, so a page's writes land
    /// together in the tables and indexes keyed by id.
    pub fn pending(
        &self,
        stamp: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<PendingItem>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT id, source_id, title, link, summary_html, content_html, sort_at, fingerprint FROM items
             WHERE (annotated IS NULL OR annotated != fingerprint || '|' || ?1) AND id > ?2
             ORDER BY id LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![stamp, after, limit as i64], |r| {
            Ok(PendingItem {
                id: r.get(0)?,
                source_id: r.get(1)?,
                title: r.get(2)?,
                link: r.get(3)?,
                summary: SafeHtml::from_store(r.get(4)?),
                content: r.get::<_, Option<String>>(5)?.map(SafeHtml::from_store),
                sort_at: r.get(6)?,
                fingerprint: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stores the annotations of a page (search entries and LSH bands included) and detaches
    /// each item from its story, so the caller links them again with what they are now.
    pub fn save(
        &self,
        page: &[(&PendingItem, &Annotation)],
        stamp: &str,
    ) -> Result<(), StoreError> {
        let tx = &self.tx;
        {
            let mut update = tx.prepare_cached(
                "UPDATE items SET language = ?2, tags = ?3, excerpt = ?4, excerpt_html = ?5,
                        link_key = ?6, title_key = ?7, words = ?8, shingles = ?9, minhash = ?10,
                        annotated = ?11, duplicate_of = NULL, duplicate_reason = NULL
                 WHERE id = ?1",
            )?;
            let mut unband = tx.prepare_cached("DELETE FROM story_bands WHERE item_id = ?1")?;
            let mut unindex = tx.prepare_cached("DELETE FROM items_fts WHERE rowid = ?1")?;
            let mut index = tx.prepare_cached(
                "INSERT INTO items_fts (rowid, title, body, tags) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (item, a) in page {
                let tags = serde_json::to_string(&a.tags).unwrap_or_else(|_| "[]".into());
                update.execute(params![
                    item.id,
                    a.language,
                    tags,
                    a.excerpt,
                    a.excerpt_html.as_str(),
                    a.signature.link,
                    a.signature.title,
                    a.signature.words as i64,
                    a.signature.shingles as i64,
                    dedup::minhash_bytes(&a.signature),
                    format!("{}|{stamp}", item.fingerprint),
                ])?;
                unband.execute([item.id])?;
                unindex.execute([item.id])?;
                index.execute(params![item.id, item.title, a.body, a.tags.join(" ")])?;
            }
        }
        // In key order: the page's thousands of band keys go into the index in one sweep
        // instead of as many random seeks (a third of the cost of annotating, measured).
        let mut bands: Vec<(i64, i64)> = page
            .iter()
            .flat_map(|(item, a)| dedup::bands(&a.signature).into_iter().map(|k| (k, item.id)))
            .collect();
        bands.sort_unstable();
        let mut band =
            tx.prepare_cached("INSERT OR IGNORE INTO story_bands (band, item_id) VALUES (?1, ?2)")?;
        for (key, id) in bands {
            band.execute(params![key, id])?;
        }
        Ok(())
    }

    /// Items of other sources that could be the same story as `item`: the same link, or
    /// dated within [`dedup::TEXT_DAYS`] of it with the same folded title or
    /// [`dedup::MIN_SHARED_BANDS`] shared LSH bands of the body ([`dedup::bands`]). Every
    /// lookup goes through an index.
    pub fn story_candidates(
        &self,
        id: i64,
        source_id: &str,
        sig: &Signature,
    ) -> Result<Vec<StoryMember>, StoreError> {
        let window = dedup::TEXT_DAYS.max(dedup::TITLE_DAYS) * 86_400 + 86_400;
        let (from, to) = (sig.date - window, sig.date + window);
        let mut ids: Vec<i64> = Vec::new();
        if let Some(link) = &sig.link {
            let mut stmt = self
                .tx
                .prepare_cached("SELECT id FROM items WHERE link_key = ?1")?;
            for row in stmt.query_map([link], |r| r.get(0))? {
                ids.push(row?);
            }
        }
        if !sig.title.is_empty() {
            let mut stmt = self.tx.prepare_cached(
                "SELECT id FROM items WHERE title_key = ?1 AND sort_at BETWEEN ?2 AND ?3",
            )?;
            for row in stmt.query_map(params![sig.title, from, to], |r| r.get(0))? {
                ids.push(row?);
            }
        }
        let bands = dedup::bands(sig);
        if !bands.is_empty() {
            let mut stmt = self.tx.prepare_cached(
                "SELECT item_id FROM story_bands WHERE band IN (SELECT value FROM json_each(?1))
                 GROUP BY item_id HAVING COUNT(*) >= ?2",
            )?;
            let keys = serde_json::to_string(&bands).unwrap_or_else(|_| "[]".into());
            let rows =
                stmt.query_map(params![keys, dedup::MIN_SHARED_BANDS as i64], |r| r.get(0))?;
            for row in rows {
                ids.push(row?);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        let mut stmt = self.tx.prepare_cached(
            "SELECT id, source_id, link_key, title_key, sort_at, words, shingles, minhash FROM items
             WHERE id = ?1 AND id != ?2 AND source_id != ?3 AND annotated IS NOT NULL
               AND ((?4 IS NOT NULL AND link_key = ?4) OR sort_at BETWEEN ?5 AND ?6)",
        )?;
        let mut out = Vec::new();
        for candidate in ids {
            let found = stmt
                .query_row(params![candidate, id, source_id, sig.link, from, to], |r| {
                    let minhash: Option<Vec<u8>> = r.get(7)?;
                    Ok(StoryMember {
                        id: r.get(0)?,
                        source_id: r.get(1)?,
                        signature: Signature {
                            link: r.get(2)?,
                            title: r.get(3)?,
                            date: r.get(4)?,
                            words: r.get::<_, i64>(5)?.max(0) as usize,
                            shingles: r.get::<_, i64>(6)?.max(0) as usize,
                            minhash: minhash
                                .as_deref()
                                .map(dedup::minhash_from_bytes)
                                .unwrap_or_default(),
                        },
                    })
                })
                .optional()?;
            out.extend(found);
        }
        Ok(out)
    }

    /// Makes `a` and `b` (and the stories they belong to) one story whose primary is the
    /// earliest member (by date, then first seen, then id).
    pub fn link_story(&self, a: i64, b: i64, reason: Reason) -> Result<(), StoreError> {
        let tx = &self.tx;
        let root = |id: i64| -> Result<i64, rusqlite::Error> {
            let dup: Option<Option<i64>> = tx
                .query_row("SELECT duplicate_of FROM items WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?;
            Ok(dup.flatten().unwrap_or(id))
        };
        let (ra, rb) = (root(a)?, root(b)?);
        if ra == rb {
            return Ok(());
        }
        let members: Vec<(i64, i64, i64)> = {
            let mut stmt = tx.prepare_cached(
                "SELECT id, sort_at, first_seen FROM items
                 WHERE id IN (?1, ?2) OR duplicate_of IN (?1, ?2)",
            )?;
            let rows = stmt.query_map([ra, rb], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let Some(&(primary, _, _)) = members
            .iter()
            .min_by_key(|(id, sort, seen)| (*sort, *seen, *id))
        else {
            return Ok(());
        };
        for (id, _, _) in &members {
            if *id == primary {
                tx.execute(
                    "UPDATE items SET duplicate_of = NULL, duplicate_reason = NULL WHERE id = ?1",
                    [id],
                )?;
            } else {
                tx.execute(
                    "UPDATE items SET duplicate_of = ?2,
                            duplicate_reason = COALESCE(duplicate_reason, ?3)
                     WHERE id = ?1",
                    params![id, primary, reason.as_str()],
                )?;
            }
        }
        Ok(())
    }

    /// Makes the page's annotations and links permanent.
    pub fn commit(self) -> Result<(), StoreError> {
        self.tx.commit()?;
        Ok(())
    }
}

impl Store {
    /// Fills `also_by` of each primary with the sources of its duplicates.
    pub(super) fn fill_also_by(&self, items: &mut [StoredItem]) -> Result<(), StoreError> {
        if items.is_empty() {
            return Ok(());
        }
        // Only the copies of these items, through the `duplicate_of` index: not every copy in
        // the store on every listing.
        let mut stmt = self.conn.prepare_cached(
            "SELECT duplicate_of, source_id FROM items
             WHERE duplicate_of IN (SELECT value FROM json_each(?1)) ORDER BY sort_at, id",
        )?;
        let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
        let ids = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
        let mut by: HashMap<i64, Vec<String>> = HashMap::new();
        let rows = stmt.query_map([ids], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (primary, source) = row?;
            let list = by.entry(primary).or_default();
            if !list.contains(&source) {
                list.push(source);
            }
        }
        for item in items {
            if let Some(list) = by.remove(&item.id) {
                item.also_by = list.into_iter().filter(|s| *s != item.source_id).collect();
            }
        }
        Ok(())
    }

    /// Removes items for good: each item, and when it is a story's primary its copies too,
    /// is deleted and tombstoned so no later fetch stores it again. Returns the ids removed.
    pub fn remove_items(
        &mut self,
        ids: &[i64],
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        let tx = self.write_tx()?;
        let mut removed = BTreeSet::new();
        {
            let mut story =
                tx.prepare("SELECT id FROM items WHERE id = ?1 OR duplicate_of = ?1")?;
            for id in ids {
                let rows = story.query_map([id], |r| r.get::<_, i64>(0))?;
                for row in rows {
                    removed.insert(row?);
                }
            }
        }
        bury(&tx, &removed, reason, now)?;
        tx.commit()?;
        Ok(removed.into_iter().collect())
    }

    /// Deletes items dated before `before` (tombstones keep them from coming back) and
    /// gives the stories that lost their primary a new one.
    pub fn prune(
        &mut self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<PruneCounts, StoreError> {
        let tx = self.write_tx()?;
        let old: BTreeSet<i64> = {
            let mut stmt = tx.prepare("SELECT id FROM items WHERE sort_at < ?1")?;
            let rows = stmt.query_map([before.timestamp()], |r| r.get::<_, i64>(0))?;
            rows.collect::<Result<_, _>>()?
        };
        bury(&tx, &old, "retention", now)?;
        let tombstones: i64 = tx.query_row("SELECT COUNT(*) FROM tombstones", [], |r| r.get(0))?;
        tx.commit()?;
        Ok(PruneCounts {
            removed: old.len(),
            tombstones: tombstones.max(0) as usize,
        })
    }

    /// Tombstones recorded (for reports and tests).
    pub fn tombstone_count(&self) -> Result<usize, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM tombstones", [], |r| r.get(0))?;
        Ok(n.max(0) as usize)
    }
}

/// Tombstones and deletes `ids`, then re-heads stories whose primary went.
fn bury(
    tx: &rusqlite::Transaction<'_>,
    ids: &BTreeSet<i64>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    {
        let mut stone = tx.prepare_cached(
            "INSERT OR REPLACE INTO tombstones (source_id, key, link, title, removed_at, reason)
             SELECT source_id, key, link, title, ?2, ?3 FROM items WHERE id = ?1",
        )?;
        let mut delete = tx.prepare_cached("DELETE FROM items WHERE id = ?1")?;
        for id in ids {
            stone.execute(params![id, now.timestamp(), reason])?;
            delete.execute([id])?;
        }
    }
    // Copies whose primary was removed: the earliest of each group becomes the primary.
    let orphans: Vec<(i64, i64)> = {
        let mut stmt = tx.prepare(
            "SELECT duplicate_of, id FROM items
             WHERE duplicate_of IS NOT NULL AND duplicate_of NOT IN (SELECT id FROM items)
             ORDER BY duplicate_of, sort_at, first_seen, id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut head: HashMap<i64, i64> = HashMap::new();
    for (old, id) in orphans {
        match head.get(&old) {
            None => {
                head.insert(old, id);
                tx.execute(
                    "UPDATE items SET duplicate_of = NULL, duplicate_reason = NULL WHERE id = ?1",
                    [id],
                )?;
            }
            Some(&primary) => {
                tx.execute(
                    "UPDATE items SET duplicate_of = ?2 WHERE id = ?1",
                    params![id, primary],
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn search_text_cannot_inject_fts_syntax() {
        assert_eq!(fts_query("México  OR \"x"), "\"México\" \"OR\" \"x\"");
        assert_eq!(fts_query("migra*"), "\"migra\"*");
        assert_eq!(fts_query("  "), "\"\"");
    }
}

#[cfg(test)]
mod story_tests {
    use chrono::{TimeZone, Utc};

    use crate::annotate::Annotator;
    use crate::annotate::tag::Gazetteer;
    use crate::html::sanitize::SafeHtml;
    use crate::ingest::item::Item;
    use crate::store::{ItemQuery, SourceState, Store};

    fn item(source: &str, key: &str, day: u32) -> Item {
        Item {
            source_id: source.into(),
            key: key.into(),
            guid: None,
            link: url::Url::parse("https://a.example.org/accion-urgente/?utm_source=x").ok(),
            title: format!("Acción urgente {source}"),
            author: None,
            summary: SafeHtml::from_text("Texto"),
            content: None,
            published: Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).single(),
            updated: None,
            categories: vec![],
            fingerprint: format!("fp-{source}"),
        }
    }

    #[test]
    fn an_earlier_copy_fetched_later_becomes_the_primary() {
        let dir = tempfile::tempdir().unwrap_or_else(|_| unreachable!());
        let mut store = Store::open(&dir.path().join("t.db")).unwrap_or_else(|_| unreachable!());
        let annotator = Annotator::new(Gazetteer::default(), 60, &[]);
        let now = Utc::now();
        let state = |id: &str| SourceState {
            id: id.into(),
            ..SourceState::default()
        };
        let run = |store: &mut Store, src: &str, day: u32| {
            store
                .commit_source(&state(src), &[item(src, "k", day)], now)
                .unwrap_or_else(|_| unreachable!());
            annotator.run(store).unwrap_or_else(|_| unreachable!())
        };
        run(&mut store, "repost", 18);
        let report = run(&mut store, "original", 17);
        assert_eq!(report.duplicates, 1);
        let q = ItemQuery {
            fold_duplicates: true,
            ..ItemQuery::default()
        };
        let items = store.items(&q).unwrap_or_else(|_| unreachable!());
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].source_id, "original");
        assert_eq!(items[0].also_by, vec!["repost".to_string()]);
        // Removing the primary's copy only leaves the primary; a tombstone keeps it out.
        let all = store
            .items(&ItemQuery::default())
            .unwrap_or_else(|_| unreachable!());
        let copy = all.iter().find(|i| i.source_id == "repost").map(|i| i.id);
        let removed = store
            .remove_items(&copy.into_iter().collect::<Vec<_>>(), "editor", now)
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(removed.len(), 1);
        let counts = store
            .commit_source(&state("repost"), &[item("repost", "k", 18)], now)
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(counts.new, 0);
        assert_eq!(store.tombstone_count().unwrap_or_default(), 1);
    }
}
