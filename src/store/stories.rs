//! Item annotations and stories: language, tags, HTML excerpts, the search index, each
//! item's place in a story (primary, or a copy of another partner's item), the editor's
//! corrections (merged, kept apart), tombstones and retention.
//!
//! The rules (what is boilerplate, what is one story, which tags) live in `dedup` and `tag`;
//! this file keeps their inputs and verdicts, and finds each item's candidates through the
//! key index (`story_keys`, each posting with its item's story): at most
//! [`dedup::CANDIDATES`] per item, ranked by the evidence they share, reading at most
//! [`dedup::POSTINGS`] postings per key, whatever the store holds. An item joins a story only
//! by matching its primary; copies folded on text keep the keys they rested on
//! (`story_basis`) and are judged again when one turns out to recur under many titles.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{ItemQuery, Store, StoreError, StoredItem};
use crate::annotate::dedup::{self, Comparison, Key, KeyKind, Reason, Signature};
use crate::html::sanitize::SafeHtml;

/// An item whose annotation is missing or out of date.
#[derive(Debug, Clone)]
pub struct PendingItem {
    /// The item's row id.
    pub id: i64,
    /// The source it came from.
    pub source_id: String,
    /// Its plain-text title.
    pub title: String,
    /// Its canonical link, as stored.
    pub link: Option<String>,
    /// The feed's summary (sanitized).
    pub summary: SafeHtml,
    /// The full content, when the feed or page gave one (sanitized).
    pub content: Option<SafeHtml>,
    /// Seconds: published, else first seen.
    pub sort_at: i64,
    /// Seconds: when a fetch first stored it.
    pub first_seen: i64,
    /// What a reader sees, hashed: annotated again when it changes.
    pub fingerprint: String,
    /// Annotated before (its search entry, keys and story are to be replaced).
    pub annotated: bool,
}

impl PendingItem {
    /// What the store writes with its annotation.
    pub fn row(&self) -> Row<'_> {
        Row {
            id: self.id,
            source_id: &self.source_id,
            title: &self.title,
            sort_at: self.sort_at,
            first_seen: self.first_seen,
            fingerprint: &self.fingerprint,
            annotated: self.annotated,
        }
    }
}

/// An item as the store writes its annotation: its row and story facts.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// The item's row id.
    pub id: i64,
    /// The source it came from.
    pub source_id: &'a str,
    /// Its plain-text title (for the search entry).
    pub title: &'a str,
    /// Seconds: published, else first seen.
    pub sort_at: i64,
    /// Seconds: when a fetch first stored it.
    pub first_seen: i64,
    /// Its fingerprint, stored with the stamp: annotated again when either changes.
    pub fingerprint: &'a str,
    /// Annotated before (its search entry, keys and story are to be replaced).
    pub annotated: bool,
}

/// Candidate keys and search entries written together after the items they belong to
/// ([`AnnotationBatch::flush`]).
#[derive(Default)]
pub(super) struct Deferred {
    /// (key, item, title id, source id).
    keys: Vec<(i64, i64, i64, i64)>,
    search: Vec<SearchEntry>,
}

/// One item's search entry.
pub(super) struct SearchEntry {
    id: i64,
    /// An entry of an earlier annotation is deleted first.
    replaces: bool,
    title: String,
    body: String,
    tags: String,
}

/// An annotation's tags as stored (a JSON list).
pub(super) fn tags_json(a: &Annotation) -> String {
    serde_json::to_string(&a.tags).unwrap_or_else(|_| "[]".into())
}

/// The `annotated` column: the fingerprint and config annotated under.
pub(super) fn annotated(fingerprint: &str, stamp: &str) -> String {
    format!("{fingerprint}|{stamp}")
}

/// What annotating one item found.
#[derive(Debug, Clone)]
pub struct Annotation {
    /// `es`, `en` or `other`; `None` when too short to tell.
    pub language: Option<String>,
    /// Region, topic and source tags (slugs).
    pub tags: Vec<String>,
    /// The first `excerpt_words` words as plain text.
    pub excerpt: String,
    /// The same words as safe HTML.
    pub excerpt_html: SafeHtml,
    /// Its source's boilerplate is flagged by [`AnnotationBatch::flag_boilerplate`].
    pub signature: Signature,
    /// Plain text indexed for search.
    pub body: String,
}

/// An item as the story judge sees it.
#[derive(Debug, Clone)]
pub struct StoryItem {
    /// The item's row id.
    pub id: i64,
    /// The source it came from.
    pub source_id: String,
    /// Seconds: published, else first seen.
    pub sort_at: i64,
    /// Seconds: when a fetch first stored it.
    pub first_seen: i64,
    /// The story's primary when this item is a copy.
    pub primary: Option<i64>,
    /// Why it was folded into its primary.
    pub reason: Option<Reason>,
    /// How strongly ([`Comparison::score`]).
    pub score: Option<f64>,
    /// Its place in a story is decided.
    pub linked: bool,
    /// What the judge compares.
    pub signature: Signature,
    /// Its entries in the candidate index.
    pub keys: Vec<Key>,
}

impl StoryItem {
    /// Earlier items lead their story: by date, then first seen, then id.
    fn order(&self) -> (i64, i64, i64) {
        (self.sort_at, self.first_seen, self.id)
    }

    fn root(&self) -> i64 {
        self.primary.unwrap_or(self.id)
    }
}

/// One item carrying a key.
#[derive(Debug, Clone, Copy)]
struct Posting {
    item_id: i64,
    /// Its title core ([`dedup::title_id`]).
    title: i64,
    /// Its source ([`source_id`]).
    source: i64,
    /// The story it is in: its primary, or itself.
    story: i64,
}

/// A source as stored beside its keys: enough to leave an item's own source out.
fn source_id(source: &str) -> i64 {
    dedup::title_id(&Signature {
        core: source.to_string(),
        ..Signature::default()
    })
}

/// Postings read ahead for a page of items, every key in one statement (a statement per
/// key cost more than the lookups themselves).
#[derive(Default)]
struct PostingCache {
    postings: HashMap<i64, Vec<Posting>>,
}

/// What the key index says about an item.
struct Lookup {
    /// Candidates (item ids), most evidence first, at most [`dedup::CANDIDATES`].
    candidates: Vec<i64>,
    /// The item's titles some source gives more than one item: templates.
    templates: HashSet<String>,
    /// Each text key's shingle and the postings the item is judged with.
    text: Vec<(u32, Vec<Posting>)>,
    /// Text keys that recur under [`dedup::OTHER_TITLES`] titles outside any one story.
    recurring: Vec<i64>,
}

/// Whether a key's postings outside story `story` carry [`dedup::OTHER_TITLES`] titles or
/// more besides `except`: text that recurs so is boilerplate when judging against that
/// story. A story's retitled copies share its text under their own titles: inside the
/// story they count for nothing.
fn recurs(posts: &[Posting], story: i64, except: &[i64]) -> bool {
    // A few postings each: a scan, no table.
    let mut seen = [0i64; dedup::OTHER_TITLES];
    let mut n = 0;
    for p in posts {
        if p.story != story && !except.contains(&p.title) && !seen[..n].contains(&p.title) {
            seen[n] = p.title;
            n += 1;
            if n == seen.len() {
                return true;
            }
        }
    }
    false
}

/// What a linking pass knows beyond the store.
struct Pass {
    /// The editor's corrections.
    overrides: Overrides,
    /// Items not placed when the pass began, in id order: not reached until placed.
    pending: Vec<i64>,
    /// Items placed since the pass began.
    placed: HashSet<i64>,
    /// Postings read ahead for the page in hand.
    cache: PostingCache,
    /// Text keys found to recur under many titles: the copies folded on them are judged
    /// again at the end of the pass ([`AnnotationBatch::heal`]).
    recurring: BTreeSet<i64>,
}

impl Pass {
    /// Whether the pass has placed `id` (or found it placed): items it has not reached are
    /// nobody's candidates yet, and say nothing about what recurs.
    fn reached(&self, id: i64) -> bool {
        self.placed.contains(&id) || self.pending.binary_search(&id).is_err()
    }
}

/// The editor's corrections, read once per linking pass (there are few).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Items the editor joined, both ways.
    pub together: HashMap<i64, Vec<i64>>,
    /// Pairs (smaller id first) the editor kept apart.
    pub apart: HashSet<(i64, i64)>,
}

impl Overrides {
    fn apart(&self, a: i64, b: i64) -> bool {
        self.apart.contains(&(a.min(b), a.max(b)))
    }
}

/// What linking did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkReport {
    /// Items placed (copies, primaries and items on their own).
    pub linked: usize,
    /// Items that joined another partner's story.
    pub copies: usize,
    /// The most candidates judged for one item (at most [`dedup::CANDIDATES`]).
    pub max_candidates: usize,
    /// Copies taken out of their story when the text they were folded on turned out to
    /// recur under many titles.
    pub healed: usize,
}

/// Re-placements one placement may set off (an earlier item taking over a story re-judges
/// its members); the rest waits for the next run.
const MAX_RELINKS: usize = 256;

/// Copies judged again per linking pass when text they were folded on turns out to recur
/// under many titles; the rest when another item carrying that text arrives.
const MAX_HEAL: usize = 1024;

/// One candidate story, judged.
struct Judged {
    /// Its primary's id.
    root: i64,
    /// Its primary.
    primary: StoryItem,
    /// What the judge saw comparing the item with it.
    comparison: Comparison,
    /// What was known to be boilerplate when judging against this story.
    known: dedup::Boilerplate,
}

/// An item compared with its candidates' stories.
struct Judgement {
    /// The item, with its shingles.
    x: StoryItem,
    /// Candidates the key index returned.
    candidates: usize,
    /// Each candidate story, judged.
    judged: Vec<Judged>,
    /// Its text keys that recur under many titles.
    recurring: Vec<i64>,
}

/// The stories (indexes into `judged`) `x` may join, best first: the strongest evidence
/// (reason, then score), then the earliest primary. Never a story of its own source, nor
/// one the editor keeps it apart from, nor one the editor took an exact copy of it out of
/// (the copy's split holds for the item too).
fn choose(x: &StoryItem, judged: &[Judged], overrides: &Overrides) -> Vec<usize> {
    let mut matched: Vec<usize> = (0..judged.len())
        .filter(|&m| {
            let j = &judged[m];
            j.comparison.reason.is_some()
                && !overrides.apart(x.id, j.root)
                && j.primary.source_id != x.source_id
        })
        .collect();
    let twins: Vec<i64> = matched
        .iter()
        .map(|&m| &judged[m])
        .filter(|j| j.comparison.whole >= dedup::IDENTICAL)
        .map(|j| j.root)
        .collect();
    matched.retain(|&m| {
        let root = judged[m].root;
        !twins
            .iter()
            .any(|&twin| twin != root && overrides.apart(twin, root))
    });
    matched.sort_by(|&a, &b| {
        let (ja, jb) = (&judged[a], &judged[b]);
        if dedup::better(&ja.comparison, &jb.comparison) {
            std::cmp::Ordering::Less
        } else if dedup::better(&jb.comparison, &ja.comparison) {
            std::cmp::Ordering::Greater
        } else {
            ja.primary.order().cmp(&jb.primary.order())
        }
    });
    matched
}

/// What `prune` did.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct PruneCounts {
    /// Items deleted by this prune.
    pub removed: usize,
    /// Tombstones in the store afterwards.
    pub tombstones: usize,
}

/// Appends the filters (tags, language, search, folding) to an items query.
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

/// A transaction in which items are annotated and placed in stories. Dropped without
/// [`AnnotationBatch::commit`], it rolls back.
pub struct AnnotationBatch<'a> {
    pub(super) tx: rusqlite::Transaction<'a>,
    /// Items whose story changed in this transaction, and the story: postings read ahead
    /// before the change are read with it.
    moved: RefCell<HashMap<i64, i64>>,
}

impl Store {
    /// Starts a transaction for annotating items or changing stories.
    pub fn annotation_batch(&mut self) -> Result<AnnotationBatch<'_>, StoreError> {
        Ok(AnnotationBatch {
            tx: self.write_tx()?,
            moved: RefCell::default(),
        })
    }
}

fn read_story_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoryItem> {
    let shingles: Vec<u8> = r.get(12)?;
    let keys: Vec<u8> = r.get(13)?;
    Ok(StoryItem {
        id: r.get(0)?,
        source_id: r.get(1)?,
        sort_at: r.get(2)?,
        first_seen: r.get(3)?,
        primary: r.get(7)?,
        reason: r
            .get::<_, Option<String>>(8)?
            .as_deref()
            .and_then(Reason::parse),
        score: r.get(9)?,
        linked: r.get(10)?,
        signature: Signature {
            link: r.get(4)?,
            title: r.get(5)?,
            core: r.get(6)?,
            date: r.get(2)?,
            words: r.get::<_, i64>(11)?.max(0) as usize,
            shingles: dedup::shingles_from_bytes(&shingles),
        },
        keys: dedup::keys_from_bytes(&keys),
    })
}

const STORY_COLUMNS: &str = "s.item_id, s.source_id, s.sort_at, s.first_seen, s.link_key, s.title,
    s.core, s.primary_id, s.reason, s.score, s.linked, s.words, t.shingles, t.keys
    FROM story_items s JOIN story_text t ON t.item_id = s.item_id";

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
            "SELECT id, source_id, title, link, summary_html, content_html, sort_at, first_seen,
                    fingerprint, annotated IS NOT NULL FROM items
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
                first_seen: r.get(7)?,
                fingerprint: r.get(8)?,
                annotated: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Flags each source's boilerplate in a page's signatures: shingles carried by
    /// [`dedup::SOURCE_REPEATS`] of the source's items among the page's and its
    /// [`dedup::SOURCE_WINDOW`] most recent stored ones. Returns the shingles flagged.
    pub fn flag_boilerplate(
        &self,
        page: &[Row<'_>],
        annotations: &mut [Annotation],
    ) -> Result<usize, StoreError> {
        let mut by_source: HashMap<&str, Vec<usize>> = HashMap::new();
        for (n, item) in page.iter().enumerate() {
            by_source.entry(item.source_id).or_default().push(n);
        }
        let mut stmt = self.tx.prepare_cached(
            "SELECT s.item_id, t.shingles FROM story_items s JOIN story_text t ON t.item_id = s.item_id
             WHERE s.source_id = ?1 ORDER BY s.sort_at DESC LIMIT ?2",
        )?;
        let mut flagged = 0;
        for (source, members) in by_source {
            let ids: HashSet<i64> = members.iter().map(|&n| page[n].id).collect();
            let limit = (dedup::SOURCE_WINDOW + ids.len()) as i64;
            let mut recent: Vec<Vec<u32>> = Vec::new();
            for row in stmt.query_map(params![source, limit], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })? {
                let (id, bytes) = row?;
                if !ids.contains(&id) && recent.len() < dedup::SOURCE_WINDOW {
                    recent.push(dedup::shingles_from_bytes(&bytes));
                }
            }
            let new: Vec<&[u32]> = members
                .iter()
                .filter_map(|&n| annotations.get(n))
                .map(|a| a.signature.shingles.as_slice())
                .collect();
            let recent: Vec<&[u32]> = recent.iter().map(Vec::as_slice).collect();
            let boilerplate = dedup::source_boilerplate(&new, &recent);
            if boilerplate.is_empty() {
                continue;
            }
            for &n in &members {
                if let Some(a) = annotations.get_mut(n) {
                    flagged += dedup::flag(&mut a.signature, &boilerplate);
                }
            }
        }
        Ok(flagged)
    }

    /// Stores the annotations of a page (search entries, shingles and candidate keys
    /// included) and takes each item out of its story, with the copies it led: the linking
    /// pass ([`AnnotationBatch::link_unlinked`]) places them again with what they are now.
    pub fn save(&self, page: &[(Row<'_>, &Annotation)], stamp: &str) -> Result<(), StoreError> {
        let mut deferred = Deferred::default();
        for (item, a) in page {
            self.save_row(item, a, stamp)?;
            self.save_story(item, a, &mut deferred)?;
        }
        self.flush(deferred)
    }

    /// Writes an annotation into its item's row, and takes the item out of its story.
    pub(super) fn save_row(
        &self,
        item: &Row<'_>,
        a: &Annotation,
        stamp: &str,
    ) -> Result<(), StoreError> {
        let mut update = self.tx.prepare_cached(
            "UPDATE items SET language = ?2, tags = ?3, excerpt = ?4, excerpt_html = ?5,
                    annotated = ?6, duplicate_of = NULL, duplicate_reason = NULL
             WHERE id = ?1",
        )?;
        update.execute(params![
            item.id,
            a.language,
            tags_json(a),
            a.excerpt,
            a.excerpt_html.as_str(),
            annotated(item.fingerprint, stamp),
        ])?;
        Ok(())
    }

    /// Writes an item's story rows (shingles and keys) in place of any earlier ones, its
    /// copies set loose; its keys and search entry wait in `deferred` for [`Self::flush`].
    pub(super) fn save_story(
        &self,
        item: &Row<'_>,
        a: &Annotation,
        deferred: &mut Deferred,
    ) -> Result<(), StoreError> {
        let tx = &self.tx;
        // An item annotated for the first time has no keys, story rows or copies to undo (a
        // first fetch's every item).
        if item.annotated {
            let mut old = tx.prepare_cached("SELECT keys FROM story_text WHERE item_id = ?1")?;
            let mut unkey =
                tx.prepare_cached("DELETE FROM story_keys WHERE key = ?1 AND item_id = ?2")?;
            let mut unstory = tx.prepare_cached("DELETE FROM story_items WHERE item_id = ?1")?;
            let mut untext = tx.prepare_cached("DELETE FROM story_text WHERE item_id = ?1")?;
            let mut unbasis = tx.prepare_cached("DELETE FROM story_basis WHERE item_id = ?1")?;
            let before: Option<Vec<u8>> = old.query_row([item.id], |r| r.get(0)).optional()?;
            for k in dedup::keys_from_bytes(&before.unwrap_or_default()) {
                unkey.execute(params![k.value, item.id])?;
            }
            self.release_copies(item.id)?;
            unstory.execute([item.id])?;
            untext.execute([item.id])?;
            unbasis.execute([item.id])?;
            // Its postings are written again, in a story of its own.
            self.moved.borrow_mut().remove(&item.id);
        }
        let mut story = tx.prepare_cached(
            "INSERT INTO story_items (item_id, source_id, sort_at, first_seen, link_key,
                    title, core, words, primary_id, reason, score, linked)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, NULL, NULL, 0)",
        )?;
        let mut text = tx.prepare_cached(
            "INSERT INTO story_text (item_id, shingles, keys) VALUES (?1, ?2, ?3)",
        )?;
        let sig = &a.signature;
        story.execute(params![
            item.id,
            item.source_id,
            item.sort_at,
            item.first_seen,
            sig.link,
            sig.title,
            sig.core,
            sig.words as i64,
        ])?;
        let item_keys = dedup::keys(sig);
        let (title, source) = (dedup::title_id(sig), source_id(item.source_id));
        deferred
            .keys
            .extend(item_keys.iter().map(|k| (k.value, item.id, title, source)));
        text.execute(params![
            item.id,
            dedup::shingles_bytes(sig),
            dedup::keys_bytes(&item_keys)
        ])?;
        deferred.search.push(SearchEntry {
            id: item.id,
            replaces: item.annotated,
            title: item.title.to_string(),
            body: a.body.clone(),
            tags: a.tags.join(" "),
        });
        Ok(())
    }

    /// Writes the keys and search entries [`Self::save_story`] left for later.
    pub(super) fn flush(&self, deferred: Deferred) -> Result<(), StoreError> {
        let Deferred { mut keys, search } = deferred;
        let tx = &self.tx;
        // In key order: the keys go into the index in one sweep instead of as many random
        // seeks.
        keys.sort_unstable();
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO story_keys (key, item_id, title, source, story)
             VALUES (?1, ?2, ?3, ?4, ?2)",
        )?;
        for (key, id, title, source) in keys {
            insert.execute(params![key, id, title, source])?;
        }
        // Search entries last and together. A statement that may abort (a foreign key
        // check) opens a savepoint, and FTS5 writes its pending terms to disk at every
        // savepoint: interleaved with the rows above, every item became a segment of its own
        // to merge (the search index cost a sixth of a first fetch, measured). Together,
        // they are one segment.
        let mut unindex = tx.prepare_cached("DELETE FROM items_fts WHERE rowid = ?1")?;
        let mut index = tx.prepare_cached(
            "INSERT INTO items_fts (rowid, title, body, tags) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for entry in search {
            if entry.replaces {
                unindex.execute([entry.id])?;
            }
            index.execute(params![entry.id, entry.title, entry.body, entry.tags])?;
        }
        Ok(())
    }

    /// The copies `primary` led become unplaced (the linking pass judges them again).
    fn release_copies(&self, primary: i64) -> Result<(), StoreError> {
        for id in self.members(primary)? {
            self.unplace(id)?;
        }
        Ok(())
    }

    /// One item as the judge sees it.
    pub fn story_item(&self, id: i64) -> Result<Option<StoryItem>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached(&format!("SELECT {STORY_COLUMNS} WHERE s.item_id = ?1"))?;
        Ok(stmt.query_row([id], read_story_item).optional()?)
    }

    /// Up to `limit` items not placed in a story yet, with ids after `after`, in id order.
    /// Their shingles are left out (most items meet no candidate and are never judged):
    /// [`AnnotationBatch::place`] reads them when it judges.
    fn unlinked(&self, after: i64, limit: usize) -> Result<Vec<StoryItem>, StoreError> {
        let columns = STORY_COLUMNS.replace("t.shingles", "x''");
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {columns} WHERE s.linked = 0 AND s.item_id > ?1 ORDER BY s.item_id LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![after, limit as i64], read_story_item)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// An item's stored shingles.
    fn shingles_of(&self, id: i64) -> Result<Vec<u32>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT shingles FROM story_text WHERE item_id = ?1")?;
        let bytes: Option<Vec<u8>> = stmt.query_row([id], |r| r.get(0)).optional()?;
        Ok(dedup::shingles_from_bytes(&bytes.unwrap_or_default()))
    }

    /// The copies of `primary`, oldest first (through the `duplicate_of` index).
    pub fn members(&self, primary: i64) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT id FROM items WHERE duplicate_of = ?1 ORDER BY sort_at, first_seen, id",
        )?;
        let rows = stmt.query_map([primary], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest [`dedup::POSTINGS`] items other than `id` carrying `key` (read from the
    /// key index alone).
    fn postings(&self, key: i64, id: i64) -> Result<Vec<Posting>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT item_id, title, source, story FROM story_keys
             WHERE key = ?1 AND item_id != ?2 ORDER BY item_id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![key, id, dedup::POSTINGS as i64], |r| {
            Ok(Posting {
                item_id: r.get(0)?,
                title: r.get(1)?,
                source: r.get(2)?,
                story: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The postings of every key of `items` (the newest [`dedup::POSTINGS`] + 1 of each, so
    /// that leaving the item itself out still leaves enough), in one statement.
    fn prefetch(&self, items: &[StoryItem]) -> Result<PostingCache, StoreError> {
        let mut keys: Vec<i64> = items
            .iter()
            .flat_map(|i| i.keys.iter().map(|k| k.value))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut cache = PostingCache::default();
        if keys.is_empty() {
            return Ok(cache);
        }
        let json = serde_json::to_string(&keys).unwrap_or_else(|_| "[]".into());
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT j.value, k.item_id, k.title, k.source, k.story
             FROM json_each(?1) j JOIN story_keys k ON k.key = j.value
             WHERE k.item_id >= COALESCE((SELECT item_id FROM story_keys WHERE key = j.value
                                          ORDER BY item_id DESC LIMIT 1 OFFSET {}), -9223372036854775808)",
            dedup::POSTINGS
        ))?;
        let rows = stmt.query_map([json], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                Posting {
                    item_id: r.get(1)?,
                    title: r.get(2)?,
                    source: r.get(3)?,
                    story: r.get(4)?,
                },
            ))
        })?;
        for row in rows {
            let (key, posting) = row?;
            cache.postings.entry(key).or_default().push(posting);
        }
        for list in cache.postings.values_mut() {
            list.sort_unstable_by_key(|x| std::cmp::Reverse(x.item_id));
        }
        // Keys nobody else carries: known empty, no lookup later.
        for k in keys {
            cache.postings.entry(k).or_default();
        }
        Ok(cache)
    }

    /// The primary of `id`'s story (itself when it leads or stands alone).
    fn root_of(&self, id: i64) -> Result<Option<i64>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT COALESCE(primary_id, item_id) FROM story_items WHERE item_id = ?1",
        )?;
        Ok(stmt.query_row([id], |r| r.get(0)).optional()?)
    }

    /// Ids of the items not placed yet, in order: the linking pass has not reached them, so
    /// they are nobody's candidates yet.
    fn unlinked_ids(&self) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT item_id FROM story_items WHERE linked = 0 ORDER BY item_id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Places `id` in the story `primary` leads (`None`: its own), in both tables.
    fn set_story(
        &self,
        id: i64,
        primary: Option<i64>,
        reason: Option<Reason>,
        score: Option<f64>,
        was: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut story = self.tx.prepare_cached(
            "UPDATE story_items SET primary_id = ?2, reason = ?3, score = ?4, linked = 1
             WHERE item_id = ?1",
        )?;
        let reason = reason.map(Reason::as_str);
        story.execute(params![id, primary, reason, score])?;
        // Only a change touches the item's (wide) row, its postings and what it was folded on.
        if primary.is_some() || was.is_some() {
            let mut item = self.tx.prepare_cached(
                "UPDATE items SET duplicate_of = ?2, duplicate_reason = ?3 WHERE id = ?1",
            )?;
            item.execute(params![id, primary, reason])?;
            self.forget_basis(id)?;
        }
        if primary != was {
            // A copy counts as its story's in the key index when the editor joined it or its
            // title still names the story's: text a story's retitled copies share is the
            // story's, while cases folded on a campaign call under headlines of their own
            // keep showing that the call recurs under many titles.
            let story = match primary {
                Some(p) if reason == Some("editor") || self.kin(id, p)? => p,
                _ => id,
            };
            self.move_postings(id, story)?;
        }
        Ok(())
    }

    /// Whether `a`'s and `b`'s titles name the same thing ([`dedup::titles_kin`]).
    fn kin(&self, a: i64, b: i64) -> Result<bool, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT title, core FROM story_items WHERE item_id = ?1")?;
        let mut titles = |id: i64| {
            stmt.query_row([id], |r| {
                Ok(Signature {
                    title: r.get(0)?,
                    core: r.get(1)?,
                    ..Signature::default()
                })
            })
            .optional()
        };
        let (Some(x), Some(y)) = (titles(a)?, titles(b)?) else {
            return Ok(false);
        };
        Ok(dedup::titles_kin(&x, &y))
    }

    /// Records in `id`'s postings that it is now in `story`.
    fn move_postings(&self, id: i64, story: i64) -> Result<(), StoreError> {
        let mut keys = self
            .tx
            .prepare_cached("SELECT keys FROM story_text WHERE item_id = ?1")?;
        let stored: Option<Vec<u8>> = keys.query_row([id], |r| r.get(0)).optional()?;
        let mut update = self
            .tx
            .prepare_cached("UPDATE story_keys SET story = ?3 WHERE key = ?1 AND item_id = ?2")?;
        for k in dedup::keys_from_bytes(&stored.unwrap_or_default()) {
            update.execute(params![k.value, id, story])?;
        }
        self.moved.borrow_mut().insert(id, story);
        Ok(())
    }

    /// Records the text keys `x` was folded on by its text (those not known as boilerplate
    /// then): when one is later found to recur under many titles, `x` is judged again. A
    /// title, a link or the editor does not rest on text.
    fn record_basis(
        &self,
        x: &StoryItem,
        reason: Option<Reason>,
        known: &dedup::Boilerplate,
    ) -> Result<(), StoreError> {
        if reason != Some(Reason::Text) {
            return Ok(());
        }
        let mut insert = self
            .tx
            .prepare_cached("INSERT OR IGNORE INTO story_basis (key, item_id) VALUES (?1, ?2)")?;
        for k in &x.keys {
            if k.kind == KeyKind::Text && !known.shingles.contains(&k.shingle) {
                insert.execute(params![k.value, x.id])?;
            }
        }
        Ok(())
    }

    fn forget_basis(&self, id: i64) -> Result<(), StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("DELETE FROM story_basis WHERE item_id = ?1")?;
        stmt.execute([id])?;
        Ok(())
    }

    /// Leaves `id` out of every story until the linking pass judges it again.
    fn unplace(&self, id: i64) -> Result<(), StoreError> {
        let was = self.root_of(id)?;
        let mut story = self.tx.prepare_cached(
            "UPDATE story_items SET primary_id = NULL, reason = NULL, score = NULL, linked = 0
             WHERE item_id = ?1",
        )?;
        story.execute([id])?;
        let mut item = self.tx.prepare_cached(
            "UPDATE items SET duplicate_of = NULL, duplicate_reason = NULL WHERE id = ?1",
        )?;
        item.execute([id])?;
        self.forget_basis(id)?;
        if was.is_some_and(|r| r != id) {
            self.move_postings(id, id)?;
        }
        Ok(())
    }

    /// The editor's corrections.
    pub fn overrides(&self) -> Result<Overrides, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT a, b, together FROM story_overrides")?;
        let mut out = Overrides::default();
        for row in stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, bool>(2)?,
            ))
        })? {
            let (a, b, together) = row?;
            if together {
                out.together.entry(a).or_default().push(b);
                out.together.entry(b).or_default().push(a);
            } else {
                out.apart.insert((a.min(b), a.max(b)));
            }
        }
        Ok(out)
    }

    /// Places every item not placed yet, in id order (as if they had arrived one by one),
    /// [`dedup::CANDIDATES`] candidates at most each; then judges again the copies folded
    /// on text the pass found to recur under many titles (`heal`).
    /// `page` items are read at a time; `on_item` is called after each and stops the pass
    /// when it returns false.
    pub fn link_unlinked(
        &self,
        page: usize,
        on_item: &mut dyn FnMut() -> bool,
    ) -> Result<LinkReport, StoreError> {
        let mut pass = Pass {
            overrides: self.overrides()?,
            pending: self.unlinked_ids()?,
            placed: HashSet::new(),
            cache: PostingCache::default(),
            recurring: BTreeSet::new(),
        };
        let mut report = LinkReport::default();
        let mut after = i64::MIN;
        loop {
            let items = self.unlinked(after, page.max(1))?;
            let Some(last) = items.last().map(|i| i.id) else {
                break;
            };
            pass.cache = self.prefetch(&items)?;
            for item in items {
                self.link(item, &mut pass, &mut report)?;
                if !on_item() {
                    return Ok(report);
                }
            }
            after = last;
        }
        pass.cache = PostingCache::default();
        self.heal(&mut pass, &mut report)?;
        Ok(report)
    }

    /// Places `first`, and the items a placement sets loose, at most [`MAX_RELINKS`].
    fn link(
        &self,
        first: StoryItem,
        pass: &mut Pass,
        report: &mut LinkReport,
    ) -> Result<(), StoreError> {
        let mut queue = VecDeque::from([first]);
        let mut steps = 0;
        while let Some(item) = queue.pop_front() {
            steps += 1;
            if steps > MAX_RELINKS {
                // Left unplaced: the next run's linking pass picks them up.
                break;
            }
            let (copy, judged, loose) = self.place(&item, pass)?;
            pass.placed.insert(item.id);
            report.linked += 1;
            report.copies += usize::from(copy);
            report.max_candidates = report.max_candidates.max(judged);
            for id in loose {
                if let Some(m) = self.story_item(id)? {
                    queue.push_back(m);
                }
            }
        }
        Ok(())
    }

    /// Judges again the copies folded on text keys this pass found to recur under many
    /// titles: a campaign call the store did not know yet when it folded two cases on it.
    /// A copy its primary no longer matches, with what the store knows now, is placed
    /// again; at most [`MAX_HEAL`] copies a pass.
    fn heal(&self, pass: &mut Pass, report: &mut LinkReport) -> Result<(), StoreError> {
        let keys = std::mem::take(&mut pass.recurring);
        let mut suspects = BTreeSet::new();
        {
            let mut stmt = self
                .tx
                .prepare_cached("SELECT item_id FROM story_basis WHERE key = ?1")?;
            for k in keys {
                for row in stmt.query_map([k], |r| r.get::<_, i64>(0))? {
                    suspects.insert(row?);
                }
                if suspects.len() >= MAX_HEAL {
                    break;
                }
            }
        }
        for id in suspects.into_iter().take(MAX_HEAL) {
            let Some(y) = self.story_item(id)? else {
                continue;
            };
            let Some(root) = y.primary else {
                self.forget_basis(id)?;
                continue;
            };
            let Some(primary) = self.story_item(root)? else {
                continue;
            };
            let lookup = self.lookup(&y, pass)?;
            let known = self.known_for(&y, root, &primary, &lookup);
            let c = dedup::compare(&y.signature, &primary.signature, &known);
            if c.reason.is_some() {
                // Still one story: what it rests on now is recorded instead.
                self.forget_basis(id)?;
                self.record_basis(&y, c.reason, &known)?;
                continue;
            }
            self.unplace(id)?;
            report.copies = report.copies.saturating_sub(1);
            report.healed += 1;
            if let Some(y) = self.story_item(id)? {
                self.link(y, pass, report)?;
            }
        }
        Ok(())
    }

    /// Compares `x` with the primary of each story its candidates are in, with what is
    /// known to be boilerplate when judging against that story.
    fn judge(&self, x: &StoryItem, pass: &Pass) -> Result<Judgement, StoreError> {
        let lookup = self.lookup(x, pass)?;
        let mut roots: Vec<i64> = Vec::new();
        for &c in &lookup.candidates {
            if let Some(root) = self.root_of(c)?
                && root != x.id
                && !roots.contains(&root)
            {
                roots.push(root);
            }
        }
        let mut x = x.clone();
        if !roots.is_empty() && x.signature.shingles.is_empty() {
            x.signature.shingles = self.shingles_of(x.id)?;
        }
        let mut judged = Vec::with_capacity(roots.len());
        for root in roots {
            let Some(primary) = self.story_item(root)? else {
                continue;
            };
            let known = self.known_for(&x, root, &primary, &lookup);
            let comparison = dedup::compare(&x.signature, &primary.signature, &known);
            judged.push(Judged {
                root,
                primary,
                comparison,
                known,
            });
        }
        Ok(Judgement {
            x,
            candidates: lookup.candidates.len(),
            judged,
            recurring: lookup.recurring,
        })
    }

    /// Decides `x`'s story: the editor's joins first, else the story whose primary it
    /// matches with the strongest evidence. Returns whether it became a copy, how many
    /// candidates the index returned, and the items set loose when `x` took over an older
    /// story.
    fn place(&self, x: &StoryItem, pass: &mut Pass) -> Result<(bool, usize, Vec<i64>), StoreError> {
        if let Some(loose) = self.join_partners(x, &pass.overrides)? {
            return Ok((true, 0, loose));
        }
        let j = self.judge(x, pass)?;
        pass.recurring.extend(j.recurring.iter().copied());
        let (x, candidates) = (&j.x, j.candidates);
        let matched = choose(x, &j.judged, &pass.overrides);
        let Some(&best) = matched.first() else {
            self.set_story(x.id, None, None, None, x.primary)?;
            return Ok((false, candidates, Vec::new()));
        };
        let lead = &j.judged[best];
        let mut loose = Vec::new();
        if matched
            .iter()
            .all(|&m| x.order() < j.judged[m].primary.order())
        {
            // Earlier than every story it matches: it leads them all, each old primary (which
            // matched it) its copy, their copies judged again against it.
            self.set_story(x.id, None, None, None, x.primary)?;
            for &m in &matched {
                loose.extend(self.take_over(x.id, &j.judged[m])?);
            }
            return Ok((true, candidates, loose));
        }
        if x.order() < lead.primary.order() {
            self.set_story(x.id, None, None, None, x.primary)?;
            loose.extend(self.take_over(x.id, lead)?);
            return Ok((true, candidates, loose));
        }
        let verdict = &lead.comparison;
        self.set_story(
            x.id,
            Some(lead.root),
            verdict.reason,
            Some(verdict.score),
            x.primary,
        )?;
        self.record_basis(x, verdict.reason, &lead.known)?;
        // Two stories x matches are one when their primaries match each other (items that
        // arrived in another order than their dates): the later joins the earlier.
        for &m in &matched[1..] {
            let other = &j.judged[m];
            if pass.overrides.apart(other.root, lead.root)
                || other.primary.source_id == lead.primary.source_id
            {
                continue;
            }
            let c = dedup::compare(
                &other.primary.signature,
                &lead.primary.signature,
                &dedup::Boilerplate::default(),
            );
            if c.reason.is_none() {
                continue;
            }
            let (first, second) = if lead.primary.order() <= other.primary.order() {
                (lead, other)
            } else {
                (other, lead)
            };
            loose.extend(self.take_over(
                first.root,
                &Judged {
                    root: second.root,
                    primary: second.primary.clone(),
                    comparison: c,
                    known: dedup::Boilerplate::default(),
                },
            )?);
        }
        Ok((true, candidates, loose))
    }

    /// The editor's joins: `x` goes with its partners already placed, and their stories
    /// become one. `None` when it has no partner placed yet (they will join it).
    fn join_partners(
        &self,
        x: &StoryItem,
        overrides: &Overrides,
    ) -> Result<Option<Vec<i64>>, StoreError> {
        let Some(partners) = overrides.together.get(&x.id) else {
            return Ok(None);
        };
        let mut roots: Vec<i64> = Vec::new();
        for &y in partners {
            if let Some(p) = self.story_item(y)?.filter(|p| p.linked) {
                let root = p.root();
                if root != x.id && !roots.contains(&root) {
                    roots.push(root);
                }
            }
        }
        let Some(&first) = roots.first() else {
            return Ok(None);
        };
        let verdict = Comparison {
            reason: Some(Reason::Editor),
            score: 1.0,
            ..Comparison::default()
        };
        let loose = self.attach(x, first, &verdict)?;
        // Its other partners' stories join too: each join the editor made holds, whichever
        // item is placed first.
        for &other in &roots[1..] {
            if let (Some(a), Some(b)) = (self.root_of(x.id)?, self.root_of(other)?)
                && a != b
            {
                self.join(a, b, &[x.id])?;
            }
        }
        Ok(Some(loose))
    }

    /// `x`'s candidates from the key index, at most [`dedup::CANDIDATES`], ranked by the
    /// evidence they share with it: a link outweighs a title, a title outweighs text keys.
    /// A text key counts for a candidate only when it is not boilerplate leaving the
    /// candidate's story out, and text alone needs two keys (one shared trigram is chance)
    /// unless the item has only one.
    /// Items the pass has not reached and `x`'s own source are left out.
    fn lookup(&self, x: &StoryItem, pass: &Pass) -> Result<Lookup, StoreError> {
        let x_title = dedup::title_id(&x.signature);
        let x_source = source_id(&x.source_id);
        let mut found: Vec<(Key, Vec<Posting>)> = Vec::with_capacity(x.keys.len());
        {
            let moved = self.moved.borrow();
            for key in &x.keys {
                let posts: Vec<Posting> = match pass.cache.postings.get(&key.value) {
                    Some(list) => list
                        .iter()
                        .filter(|p| p.item_id != x.id)
                        .take(dedup::POSTINGS)
                        .copied()
                        .collect(),
                    None => self.postings(key.value, x.id)?,
                };
                let posts = posts
                    .into_iter()
                    .filter(|p| pass.reached(p.item_id))
                    .map(|mut p| {
                        if let Some(story) = moved.get(&p.item_id) {
                            p.story = *story;
                        }
                        p
                    })
                    .collect();
                found.push((*key, posts));
            }
        }
        // A title one source gives two of its items (x's own source counts, x being one of
        // them) names a series or a template, not a story: no evidence, no title match.
        let mut templates = HashSet::new();
        for (key, posts) in found.iter().filter(|(k, _)| k.kind == KeyKind::Title) {
            let mut per_source: HashMap<i64, usize> = HashMap::from([(x_source, 1)]);
            for p in posts {
                *per_source.entry(p.source).or_default() += 1;
            }
            if per_source.values().any(|n| *n >= 2) {
                for t in [&x.signature.title, &x.signature.core] {
                    if dedup::title_key(t) == key.value {
                        templates.insert(t.clone());
                    }
                }
            }
        }
        // item -> (strong evidence, text keys)
        let mut evidence: HashMap<i64, (u32, u32)> = HashMap::new();
        let mut text = Vec::new();
        let mut recurring = Vec::new();
        for (key, posts) in &found {
            let template = key.kind == KeyKind::Title
                && templates.iter().any(|t| dedup::title_key(t) == key.value);
            for p in posts {
                if template || p.source == x_source {
                    continue;
                }
                let e = evidence.entry(p.item_id).or_insert((0, 0));
                match key.kind {
                    KeyKind::Text => {
                        // Boilerplate leaving this candidate's story out: no evidence.
                        if !recurs(posts, p.story, &[x_title, p.title]) {
                            e.1 += 1;
                        }
                    }
                    _ => e.0 += key.weight(),
                }
            }
            if key.kind == KeyKind::Text {
                if !posts.is_empty() && posts.iter().all(|p| recurs(posts, p.story, &[x_title])) {
                    recurring.push(key.value);
                }
                text.push((key.shingle, posts.clone()));
            }
        }
        // Two text keys, or the one a short distinctive text has.
        let texts_needed = x
            .keys
            .iter()
            .filter(|k| k.kind == KeyKind::Text)
            .count()
            .clamp(1, 2) as u32;
        let mut ranked: Vec<(i64, u32)> = evidence
            .into_iter()
            .filter(|(_, (strong, texts))| *strong > 0 || *texts >= texts_needed)
            .map(|(id, (strong, texts))| (id, strong + texts))
            .collect();
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
        ranked.truncate(dedup::CANDIDATES);
        Ok(Lookup {
            candidates: ranked.into_iter().map(|(id, _)| id).collect(),
            templates,
            text,
            recurring,
        })
    }

    /// What is boilerplate when judging `x` against the story `root` leads: text keys
    /// carried under [`dedup::OTHER_TITLES`] titles outside that story (x's and the
    /// primary's own titles left out), and the titles its source gives several items.
    fn known_for(
        &self,
        x: &StoryItem,
        root: i64,
        primary: &StoryItem,
        lookup: &Lookup,
    ) -> dedup::Boilerplate {
        let except = [
            dedup::title_id(&x.signature),
            dedup::title_id(&primary.signature),
        ];
        let shingles = lookup
            .text
            .iter()
            .filter(|(_, posts)| recurs(posts, root, &except))
            .map(|(s, _)| *s)
            .collect();
        dedup::Boilerplate {
            shingles,
            titles: lookup.templates.clone(),
        }
    }

    /// Puts `x` in the story `root` leads, by `verdict` (the editor's joins): when `x` is
    /// earlier it becomes the primary and takes the story over.
    fn attach(
        &self,
        x: &StoryItem,
        root: i64,
        verdict: &Comparison,
    ) -> Result<Vec<i64>, StoreError> {
        let Some(primary) = self.story_item(root)? else {
            self.set_story(x.id, None, None, None, x.primary)?;
            return Ok(Vec::new());
        };
        if x.order() > primary.order() {
            self.set_story(
                x.id,
                Some(root),
                verdict.reason,
                Some(verdict.score),
                x.primary,
            )?;
            return Ok(Vec::new());
        }
        self.set_story(x.id, None, None, None, x.primary)?;
        self.take_over(
            x.id,
            &Judged {
                root,
                primary,
                comparison: verdict.clone(),
                known: dedup::Boilerplate::default(),
            },
        )
    }

    /// The story `story.root` leads goes to `lead`: its primary becomes `lead`'s copy by
    /// the comparison (it matched it), and its other copies are set loose to be judged
    /// against `lead` (none joins through a chain), unless the editor joined them.
    fn take_over(&self, lead: i64, story: &Judged) -> Result<Vec<i64>, StoreError> {
        let (root, primary, verdict) = (story.root, &story.primary, &story.comparison);
        let members = self.members(root)?;
        self.set_story(
            root,
            Some(lead),
            verdict.reason,
            Some(verdict.score),
            primary.primary,
        )?;
        self.record_basis(primary, verdict.reason, &story.known)?;
        let mut loose = Vec::new();
        for id in members {
            if id == lead {
                continue;
            }
            let Some(m) = self.story_item(id)? else {
                continue;
            };
            if m.reason == Some(Reason::Editor) || verdict.reason == Some(Reason::Editor) {
                self.set_story(id, Some(lead), m.reason, m.score, m.primary)?;
            } else {
                self.unplace(id)?;
                loose.push(id);
            }
        }
        Ok(loose)
    }

    /// Makes the stories `a` and `b` lead one, led by the earlier primary: the other primary
    /// becomes its copy, joined by the editor, and so do its copies (`editors` are the
    /// items the editor named; the others keep their reasons).
    fn join(&self, a: i64, b: i64, editors: &[i64]) -> Result<Option<i64>, StoreError> {
        let (Some(pa), Some(pb)) = (self.story_item(a)?, self.story_item(b)?) else {
            return Ok(None);
        };
        let (lead, other) = if pa.order() <= pb.order() {
            (pa, pb)
        } else {
            (pb, pa)
        };
        for m in self.members(other.id)? {
            if let Some(mi) = self.story_item(m)? {
                let reason = if editors.contains(&m) {
                    Some(Reason::Editor)
                } else {
                    mi.reason
                };
                self.set_story(m, Some(lead.id), reason, mi.score, mi.primary)?;
            }
        }
        self.set_story(
            other.id,
            Some(lead.id),
            Some(Reason::Editor),
            Some(1.0),
            other.primary,
        )?;
        Ok(Some(lead.id))
    }

    /// Why `id` is where it is: the decision stored when it was placed (its primary, reason
    /// and score, or none), its comparison with its primary (for a copy) or its copies' with
    /// it (for a primary), and with its candidates' primaries, judged as placement judges
    /// them; and where placement would put it with what the store holds now.
    pub fn explain(&self, id: i64) -> Result<Option<Explanation>, StoreError> {
        let Some(x) = self.story_item(id)? else {
            return Ok(None);
        };
        let pass = Pass {
            overrides: self.overrides()?,
            pending: Vec::new(),
            placed: HashSet::new(),
            cache: PostingCache::default(),
            recurring: BTreeSet::new(),
        };
        let j = self.judge(&x, &pass)?;
        let today = choose(&j.x, &j.judged, &pass.overrides)
            .first()
            .map(|&m| (j.judged[m].root, j.judged[m].comparison.clone()));
        let x = j.x.clone();
        let compared_with =
            |other: &StoryItem, c: Comparison, known: &dedup::Boilerplate| Compared {
                id: other.id,
                source_id: other.source_id.clone(),
                same_source: other.source_id == x.source_id,
                shared: dedup::shared_shingles(&x.signature, &other.signature, known),
                comparison: c,
            };
        let mut compared: Vec<Compared> = Vec::new();
        // A copy is explained by its primary first, judged with what placement knew of it.
        if let Some(p) = x.primary
            && !j.judged.iter().any(|m| m.root == p)
            && let Some(primary) = self.story_item(p)?
        {
            let lookup = self.lookup(&x, &pass)?;
            let known = self.known_for(&x, p, &primary, &lookup);
            let c = dedup::compare(&x.signature, &primary.signature, &known);
            compared.push(compared_with(&primary, c, &known));
        }
        let mut judged: Vec<&Judged> = j.judged.iter().collect();
        judged.sort_by_key(|m| Some(m.root) != x.primary);
        for m in judged {
            compared.push(compared_with(&m.primary, m.comparison.clone(), &m.known));
        }
        // A primary is explained by its copies' comparisons with it.
        let copies = self.members(id)?;
        for &c in copies.iter().take(dedup::CANDIDATES) {
            if let Some(copy) = self.story_item(c)? {
                let lookup = self.lookup(&copy, &pass)?;
                let known = self.known_for(&copy, id, &x, &lookup);
                compared.insert(
                    0,
                    Compared {
                        id: c,
                        source_id: copy.source_id.clone(),
                        same_source: copy.source_id == x.source_id,
                        comparison: dedup::compare(&copy.signature, &x.signature, &known),
                        shared: dedup::shared_shingles(&copy.signature, &x.signature, &known),
                    },
                );
            }
        }
        Ok(Some(Explanation {
            item: x,
            compared,
            copies,
            candidates: j.candidates,
            today,
        }))
    }

    /// Records an editor's correction between `a` and `b` (`together`: merged, else kept
    /// apart), replacing any earlier one between them.
    pub fn set_override(
        &self,
        a: i64,
        b: i64,
        together: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR REPLACE INTO story_overrides (a, b, together, at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        stmt.execute(params![a.min(b), a.max(b), together, now.timestamp()])?;
        Ok(())
    }

    /// Drops the editor's joins between `id` and any of `others`.
    fn forget_joins(&self, id: i64, others: &[i64]) -> Result<(), StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "DELETE FROM story_overrides WHERE a = ?1 AND b = ?2 AND together = 1",
        )?;
        for &o in others {
            stmt.execute(params![id.min(o), id.max(o)])?;
        }
        Ok(())
    }

    /// `boletin items split ID`: takes `id` out of its story for good (kept apart from every
    /// member, now and after any re-annotation); when it led the story, the copies are
    /// judged again among themselves. Returns the ids it was taken from (empty: it was in
    /// no story).
    pub fn split(&self, id: i64, now: DateTime<Utc>) -> Result<Option<Vec<i64>>, StoreError> {
        let Some(x) = self.story_item(id)? else {
            return Ok(None);
        };
        let root = x.root();
        let mut story = vec![root];
        story.extend(self.members(root)?);
        story.retain(|&m| m != id);
        if story.is_empty() {
            return Ok(Some(Vec::new()));
        }
        for &m in &story {
            self.set_override(id, m, false, now)?;
        }
        self.forget_joins(id, &story)?;
        self.set_story(id, None, None, None, x.primary)?;
        if root == id {
            // Its copies lose their primary: each is judged again, earliest first.
            for &m in &story {
                self.unplace(m)?;
            }
            self.link_unlinked(story.len(), &mut || true)?;
        }
        Ok(Some(story))
    }

    /// `boletin items merge A B`: one story from `a`'s and `b`'s, led by the earliest
    /// primary, kept through re-annotation. `None` when either id is unknown.
    pub fn merge(&self, a: i64, b: i64, now: DateTime<Utc>) -> Result<Option<i64>, StoreError> {
        let (Some(x), Some(y)) = (self.story_item(a)?, self.story_item(b)?) else {
            return Ok(None);
        };
        let (rx, ry) = (x.root(), y.root());
        // Any earlier "kept apart" between the two stories gives way to this merge.
        let mut stmt = self.tx.prepare_cached(
            "DELETE FROM story_overrides WHERE a = ?1 AND b = ?2 AND together = 0",
        )?;
        let mut left = vec![rx];
        left.extend(self.members(rx)?);
        let mut right = vec![ry];
        right.extend(self.members(ry)?);
        for &l in &left {
            for &r in &right {
                stmt.execute(params![l.min(r), l.max(r)])?;
            }
        }
        self.set_override(a, b, true, now)?;
        if rx == ry {
            return Ok(Some(rx));
        }
        self.join(rx, ry, &[a, b])
    }

    /// Makes the page's annotations and links permanent.
    pub fn commit(self) -> Result<(), StoreError> {
        self.tx.commit()?;
        Ok(())
    }
}

/// One comparison `boletin items why` shows.
#[derive(Debug, Clone)]
pub struct Compared {
    /// The primary compared with.
    pub id: i64,
    /// Its source.
    pub source_id: String,
    /// From the item's own source (never one story).
    pub same_source: bool,
    /// What the judge saw.
    pub comparison: Comparison,
    /// Shingles shared beyond boilerplate.
    pub shared: HashSet<u32>,
}

/// Why an item is where it is.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The item explained.
    pub item: StoryItem,
    /// Its copies (for a primary), else its primary first (for a copy), then its
    /// candidates' primaries.
    pub compared: Vec<Compared>,
    /// Its copies (for a primary).
    pub copies: Vec<i64>,
    /// Candidates the key index returned for it.
    pub candidates: usize,
    /// Where placement would put it with what the store holds now: the story's primary
    /// and the comparison (`None`: on its own).
    pub today: Option<(i64, Comparison)>,
}

impl Store {
    /// Fills each listed item's story details: `also_by` of a primary (its copies'
    /// sources), and the editor's "kept apart" ids.
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
        let rows = stmt.query_map([&ids], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (primary, source) = row?;
            let list = by.entry(primary).or_default();
            if !list.contains(&source) {
                list.push(source);
            }
        }
        let mut apart: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT a, b FROM story_overrides WHERE together = 0
               AND (a IN (SELECT value FROM json_each(?1)) OR b IN (SELECT value FROM json_each(?1)))
             ORDER BY a, b",
        )?;
        for row in stmt.query_map([&ids], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
            let (a, b) = row?;
            apart.entry(a).or_default().push(b);
            apart.entry(b).or_default().push(a);
        }
        for item in items {
            if let Some(list) = by.remove(&item.id) {
                item.also_by = list.into_iter().filter(|s| *s != item.source_id).collect();
            }
            item.kept_apart = apart.get(&item.id).cloned().unwrap_or_default();
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
        let batch = self.annotation_batch()?;
        let mut removed = BTreeSet::new();
        {
            let mut story = batch
                .tx
                .prepare("SELECT id FROM items WHERE id = ?1 OR duplicate_of = ?1")?;
            for id in ids {
                let rows = story.query_map([id], |r| r.get::<_, i64>(0))?;
                for row in rows {
                    removed.insert(row?);
                }
            }
        }
        batch.bury(&removed, reason, now)?;
        batch.commit()?;
        Ok(removed.into_iter().collect())
    }

    /// Deletes items dated before `before` (tombstones keep them from coming back); the
    /// copies of a story whose primary went are judged again.
    pub fn prune(
        &mut self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<PruneCounts, StoreError> {
        let batch = self.annotation_batch()?;
        let old: BTreeSet<i64> = {
            let mut stmt = batch
                .tx
                .prepare("SELECT id FROM items WHERE sort_at < ?1")?;
            let rows = stmt.query_map([before.timestamp()], |r| r.get::<_, i64>(0))?;
            rows.collect::<Result<_, _>>()?
        };
        batch.bury(&old, "retention", now)?;
        let tombstones: i64 = batch
            .tx
            .query_row("SELECT COUNT(*) FROM tombstones", [], |r| r.get(0))?;
        batch.commit()?;
        Ok(PruneCounts {
            removed: old.len(),
            tombstones: tombstones.max(0) as usize,
        })
    }

    /// The tombstone item `id` left when it was removed: why (`editor`, `retention`) and
    /// when. `None` when no removed item had that id.
    pub fn tombstone_of(&self, id: i64) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        let row: Option<(String, i64)> = self
            .conn
            .query_row(
                "SELECT reason, removed_at FROM tombstones WHERE item_id = ?1
                 ORDER BY removed_at DESC LIMIT 1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.and_then(|(reason, at)| Some((reason, DateTime::from_timestamp(at, 0)?))))
    }

    /// Tombstones recorded (for reports and tests).
    pub fn tombstone_count(&self) -> Result<usize, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM tombstones", [], |r| r.get(0))?;
        Ok(n.max(0) as usize)
    }
}

impl AnnotationBatch<'_> {
    /// Tombstones and deletes `ids` (their story rows and the editor's corrections go with
    /// them), then judges again the copies whose primary went.
    fn bury(
        &self,
        ids: &BTreeSet<i64>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = &self.tx;
        {
            let mut stone = tx.prepare_cached(
                "INSERT OR REPLACE INTO tombstones (source_id, key, link, title, removed_at, reason,
                                                    item_id)
                 SELECT source_id, key, link, title, ?2, ?3, id FROM items WHERE id = ?1",
            )?;
            let mut keys = tx.prepare_cached("SELECT keys FROM story_text WHERE item_id = ?1")?;
            let mut unkey =
                tx.prepare_cached("DELETE FROM story_keys WHERE key = ?1 AND item_id = ?2")?;
            let mut delete = tx.prepare_cached("DELETE FROM items WHERE id = ?1")?;
            for id in ids {
                stone.execute(params![id, now.timestamp(), reason])?;
                let stored: Option<Vec<u8>> = keys.query_row([id], |r| r.get(0)).optional()?;
                for k in dedup::keys_from_bytes(&stored.unwrap_or_default()) {
                    unkey.execute(params![k.value, id])?;
                }
                delete.execute([id])?;
            }
        }
        let orphans: Vec<i64> = {
            let mut stmt = tx.prepare(
                "SELECT item_id FROM story_items
                 WHERE primary_id IS NOT NULL AND primary_id NOT IN (SELECT item_id FROM story_items)",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        for &id in &orphans {
            self.unplace(id)?;
        }
        if !orphans.is_empty() {
            self.link_unlinked(orphans.len(), &mut || true)?;
        }
        Ok(())
    }
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
            annotation: None,
        }
    }

    #[test]
    fn items_stored_newest_first_in_one_pass_are_one_story() {
        let dir = tempfile::tempdir().unwrap_or_else(|_| unreachable!());
        let mut store = Store::open(&dir.path().join("t.db")).unwrap_or_else(|_| unreachable!());
        let now = Utc::now();
        // Stored newest first (the fetch commits sources as they answer), judged in one pass:
        // the newest has the lowest id, and its copies are not placed yet when it is.
        for (source, day) in [("tercera", 18), ("segunda", 17), ("primera", 16)] {
            let item = Item {
                link: url::Url::parse(&format!("https://{source}.example.org/x")).ok(),
                title:
                    "Exigen justicia: Patricia Nava Jiménez desplazada con su familia en Huitzilan"
                        .into(),
                summary: SafeHtml::from_text(
                    "El 15 de noviembre, Patricia Nava Jiménez fue acusada falsamente de despojo en \
                     Huitzilan, Puebla.",
                ),
                ..item(source, "x", day)
            };
            let state = SourceState {
                id: source.into(),
                ..SourceState::default()
            };
            store
                .commit_source(&state, &[item], now)
                .unwrap_or_else(|_| unreachable!());
        }
        let annotator = Annotator::new(Gazetteer::default(), 60, &[]);
        let report = annotator.run(&mut store).unwrap_or_else(|_| unreachable!());
        assert_eq!(report.annotated, 3);
        let all = store
            .items(&ItemQuery::default())
            .unwrap_or_else(|_| unreachable!());
        let primary = all.iter().find(|i| i.source_id == "primera").map(|i| i.id);
        for i in &all {
            if i.source_id != "primera" {
                assert_eq!(
                    i.duplicate_of, primary,
                    "{}: {:?}",
                    i.source_id, i.duplicate_of
                );
            }
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
