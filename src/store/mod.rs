//! The SQLite store: items, and each source's fetch state and health.
//!
//! One file, WAL mode, migrations keyed by `PRAGMA user_version`. Everything a source's
//! fetch changes (its items, their annotations and its state: validators, errors, next
//! attempt) is written in one transaction (the fetch's writer puts several sources in one,
//! [`FetchBatch`]), so a crash at any point leaves either the old or the new state and the
//! next run redoes the work.
//!
//! Cron's `fetch` and an editor's commands (`items remove`, `subscribers import`, `send`,
//! `serve`'s unsubscribe) write the same file at once. Every write transaction comes from
//! [`Store::write_tx`], which takes the write lock when it begins: a transaction that read
//! first and asked for the lock later could find that another process committed since its
//! read, and SQLite fails that at once ("database is locked") instead of waiting.

mod backup;
mod delivery;
mod migrations;
mod stories;

pub use backup::{BackupError, BackupReport, TableCounts};
pub use stories::{
    Annotation, AnnotationBatch, Compared, Explanation, LinkReport, Overrides, PendingItem,
    PruneCounts, Row, StoryItem,
};

pub use delivery::{
    Activated, Activation, AddOutcome, Consent, DeliveryState, EditionSend, JournalCounts,
    JournalRow, NewSubscriber, Origin, Subscriber, SubscriberCounts, SuppressionReason,
    address_key,
};

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;

use crate::html::sanitize::SafeHtml;
use crate::ingest::http_status::HttpStatus;
use crate::ingest::item::Item;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or created.
    #[error("cannot open database {path}: {source}")]
    Open {
        /// The database file, as given (`--db` or the default beside the config).
        path: String,
        /// SQLite's reason: missing folder, no permission, not a database, locked.
        source: rusqlite::Error,
    },
    /// The database was written by a newer boletin.
    #[error(
        "database {path} has schema version {found}, newer than this boletin ({supported}); upgrade boletin"
    )]
    TooNew {
        /// The database file, as given.
        path: String,
        /// Its `PRAGMA user_version`.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },
    /// There is no database yet.
    #[error("no database at {0}: run `boletin fetch` first (or pass --db)")]
    Missing(String),
    /// A query failed.
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// What is remembered about fetching one source between runs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceState {
    pub(crate) id: String,
    /// The URL as configured when this state was written.
    pub url: String,
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
    pub(crate) body_hash: Option<String>,
    /// When it was last asked, whatever came of it; `None` before its first fetch.
    pub last_attempt: Option<DateTime<Utc>>,
    /// When it last answered usably (a document read, 304 or an unchanged body).
    pub last_success: Option<DateTime<Utc>>,
    /// HTTP status of the last answer; `None` when the last try got no answer
    /// (DNS, refused connection, timeout).
    pub last_status: Option<HttpStatus>,
    /// Why the last attempt failed, one line; `None` since its last success.
    pub last_error: Option<String>,
    /// Failures in a row; 0 after a success.
    pub error_count: u32,
    /// When the current run of failures began.
    pub failing_since: Option<DateTime<Utc>>,
    /// Not asked again before this (backoff or the publisher's freshness hints); `None`:
    /// the next run asks.
    pub next_attempt: Option<DateTime<Utc>>,
    /// The server answered 410 Gone: not asked again until a forced run or a new URL.
    pub gone: bool,
    /// Where a chain of permanent redirects led: the URL to put in feeds.toml.
    pub moved_to: Option<String>,
    /// The feed's last RSS `<ttl>` in minutes.
    pub ttl_minutes: Option<u32>,
}

/// How a source's items changed in one fetch.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub(crate) new: usize,
    pub(crate) updated: usize,
    pub(crate) unchanged: usize,
}

/// An item as read back for listing and composing.
#[derive(Debug, Clone, Serialize)]
pub struct StoredItem {
    /// Row id: how edition files and `items --json` name the item; never reused.
    pub id: i64,
    /// Id of the source it was fetched from (the source may since have left the config).
    pub source_id: String,
    /// Plain text; the first words of the body when the entry had no title.
    pub title: String,
    /// Absolute http(s) URL of the item's page, tracking parameters removed; `None` when
    /// the entry had none.
    pub link: Option<String>,
    /// The entry's authors joined with ", "; `None` when it named none.
    pub author: Option<String>,
    /// Sanitized summary HTML; the content's first 60 words when the entry had no summary.
    pub summary: SafeHtml,
    /// Sanitized full-text HTML, when the entry carried more than a summary.
    pub content: Option<SafeHtml>,
    /// Plain-text start of the content (else the summary), `[newsletter] excerpt_words`
    /// words long; empty until the item is annotated.
    pub excerpt: String,
    /// The entry's publication date, else its update date; `None` when it gave neither.
    pub published: Option<DateTime<Utc>>,
    /// When a fetch first stored it.
    pub first_seen: DateTime<Utc>,
    /// `published`, or `first_seen` for items without a date.
    pub date: DateTime<Utc>,
    /// Categories as the entry gave them (not slugged; see `tags`).
    pub categories: Vec<String>,
    /// `es`, `en` or `other`; `None` until annotated or when too short to tell.
    pub language: Option<String>,
    /// Region, topic and source tags (slugs).
    pub tags: Vec<String>,
    /// The first `excerpt_words` words as safe HTML (balanced tags).
    pub excerpt_html: Option<SafeHtml>,
    /// The primary item when this one repeats another partner's story.
    pub duplicate_of: Option<i64>,
    /// Sources that also published this story (on a primary).
    pub also_by: Vec<String>,
    /// Why this copy was folded into its primary: `link`, `title`, `text` or `editor`.
    pub duplicate_reason: Option<String>,
    /// Items the editor kept apart from this one (`boletin items split`).
    pub kept_apart: Vec<i64>,
}

/// Which items to read.
#[derive(Debug, Clone, Default)]
pub struct ItemQuery {
    /// Only items dated (published, else first seen) at or after this.
    pub since: Option<DateTime<Utc>>,
    /// Only items dated before this.
    pub until: Option<DateTime<Utc>>,
    /// Only items of these source ids (empty = every source).
    pub sources: Vec<String>,
    /// At most this many, newest first.
    pub limit: Option<usize>,
    /// Only items with every one of these tags (slugs).
    pub tags: Vec<String>,
    /// Only items in this language (`es`, `en`, `other`).
    pub language: Option<String>,
    /// Full-text search (FTS5; accents and case ignored).
    pub search: Option<String>,
    /// Leave out items that repeat another partner's story (their primary lists them).
    pub fold_duplicates: bool,
    /// Only these item ids (empty = no filter).
    pub ids: Vec<i64>,
}

/// A source's health, for `boletin sources`.
#[derive(Debug, Clone, Serialize)]
pub struct SourceStats {
    /// Items stored for the source.
    pub items: u64,
    /// Date (published, else first seen) of its newest item; `None` when it has none.
    pub newest: Option<DateTime<Utc>>,
}

/// An open boletin database: items and their stories, source states, subscribers and the
/// send journal.
pub struct Store {
    conn: Connection,
}

/// How long a write waits for another process's write transaction before failing. Every
/// write transaction must stay well under it: long work (annotation) commits as it goes and
/// calls [`make_way`] between transactions.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a waiting write tries again. SQLite's own busy timeout backs off to a try
/// every 100 ms, and a process that commits batch after batch never leaves the lock free
/// that long: an editor's command would wait for the whole run, then fail.
const BUSY_POLL: Duration = Duration::from_millis(5);

/// The busy handler: try again every [`BUSY_POLL`], up to [`BUSY_TIMEOUT`].
fn wait_for_the_writer(attempts: i32) -> bool {
    if BUSY_POLL.saturating_mul(u32::try_from(attempts).unwrap_or(u32::MAX)) >= BUSY_TIMEOUT {
        return false;
    }
    std::thread::sleep(BUSY_POLL);
    true
}

/// Between two write transactions of a long job: a pause in which a process waiting for the
/// write lock (trying every [`BUSY_POLL`]) takes it.
pub fn make_way() {
    std::thread::sleep(MAKE_WAY);
}

/// How long [`make_way`] pauses.
pub const MAKE_WAY: Duration = BUSY_POLL.saturating_mul(2);

/// `BEGIN IMMEDIATE` on `conn`: see [`Store::write_tx`].
pub(super) fn write_tx(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

fn ts(d: Option<DateTime<Utc>>) -> Option<i64> {
    d.map(|d| d.timestamp())
}

fn from_ts(v: Option<i64>) -> Option<DateTime<Utc>> {
    v.and_then(|s| DateTime::from_timestamp(s, 0))
}

/// Stored as its number in the `last_status` INTEGER column.
impl rusqlite::ToSql for HttpStatus {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_u16().into())
    }
}

impl rusqlite::types::FromSql for HttpStatus {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let n = value.as_i64()?;
        u16::try_from(n)
            .ok()
            .and_then(HttpStatus::from_u16)
            .ok_or(rusqlite::types::FromSqlError::OutOfRange(n))
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        let open_err = |source| StoreError::Open {
            path: shown.clone(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_handler(Some(wait_for_the_writer))
            .map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        // Annotating and linking run a few dozen distinct statements per item: every one
        // stays prepared (rusqlite keeps 16 by default). Without the query planner
        // stability guarantee, SQLite (built with STAT4) marks a statement expired whenever
        // a parameter the planner looked at is bound again — any `LIMIT ?` — and parses it
        // anew on the next step: a tenth of a first fetch's time, measured with perf.
        conn.set_prepared_statement_cache_capacity(64);
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )
        .map_err(open_err)?;
        // A first fetch of thousands of feeds writes tens of thousands of items and their
        // band keys. An 8 MiB page cache (SQLite's default is 2) and a checkpoint every 32 MiB
        // of WAL (not 4) took a cold fetch of 1,000 feeds from 8.1 s to 7.8 s; a bigger cache
        // only cost memory. The WAL file is trimmed back to 64 MiB after checkpoints.
        conn.execute_batch(
            "PRAGMA cache_size = -8192;
             PRAGMA temp_store = MEMORY;
             PRAGMA wal_autocheckpoint = 8192;
             PRAGMA journal_size_limit = 67108864;",
        )
        .map_err(open_err)?;
        delivery::register_address_key(&conn).map_err(open_err)?;
        migrations::migrate(&mut conn, &shown)?;
        Ok(Store { conn })
    }

    /// Opens an existing database; a missing file is an error rather than a new empty store.
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing(path.display().to_string()));
        }
        Store::open(path)
    }

    /// A write transaction, holding the write lock from its first statement; waits for
    /// another process's write (up to the busy timeout) instead of failing. Every write
    /// transaction of the store begins here.
    pub(crate) fn write_tx(&mut self) -> Result<Transaction<'_>, StoreError> {
        Ok(write_tx(&mut self.conn)?)
    }

    /// Every source's remembered state, keyed by id.
    pub fn source_states(&self) -> Result<HashMap<String, SourceState>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, url, etag, last_modified, body_hash, last_attempt, last_success, last_status,
                    last_error, error_count, failing_since, next_attempt, gone, moved_to, ttl_minutes
             FROM sources",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SourceState {
                id: r.get(0)?,
                url: r.get(1)?,
                etag: r.get(2)?,
                last_modified: r.get(3)?,
                body_hash: r.get(4)?,
                last_attempt: from_ts(r.get(5)?),
                last_success: from_ts(r.get(6)?),
                last_status: r.get(7)?,
                last_error: r.get(8)?,
                error_count: r.get(9)?,
                failing_since: from_ts(r.get(10)?),
                next_attempt: from_ts(r.get(11)?),
                gone: r.get(12)?,
                moved_to: r.get(13)?,
                ttl_minutes: r.get(14)?,
            })
        })?;
        let mut out = HashMap::new();
        for row in rows {
            let s = row?;
            out.insert(s.id.clone(), s);
        }
        Ok(out)
    }

    /// Writes a source's new state and its items in one transaction.
    pub fn commit_source(
        &mut self,
        state: &SourceState,
        items: &[Item],
        now: DateTime<Utc>,
    ) -> Result<Counts, StoreError> {
        let mut batch = self.fetch_batch(None)?;
        let counts = batch.commit_source(state, items.to_vec(), now)?;
        batch.commit()?;
        Ok(counts)
    }

    /// A write transaction for the fetch run's writer: sources' states and items, with the
    /// annotations the fetch made of them when `stamp` (the annotator's) is given.
    pub fn fetch_batch(&mut self, stamp: Option<&str>) -> Result<FetchBatch<'_>, StoreError> {
        Ok(FetchBatch {
            batch: self.annotation_batch()?,
            stamp: stamp.map(str::to_string),
            deferred: stories::Deferred::default(),
            items: 0,
            annotated: 0,
            began: std::time::Instant::now(),
        })
    }
    /// The `[since, until)` window of stored items a digest or a draft is made from.
    pub fn window_items(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<StoredItem>, StoreError> {
        self.items(&ItemQuery {
            since: Some(since),
            until: Some(until),
            ..ItemQuery::default()
        })
    }

    /// Items matching `q`, newest first.
    pub fn items(&self, q: &ItemQuery) -> Result<Vec<StoredItem>, StoreError> {
        let mut sql = String::from(
            "SELECT id, source_id, title, link, author, summary_html, content_html, excerpt, published, first_seen,
                    sort_at, categories, language, tags, excerpt_html, duplicate_of, duplicate_reason FROM items
             WHERE 1 = 1",
        );
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(since) = q.since {
            sql.push_str(" AND sort_at >= ?");
            args.push(since.timestamp().into());
        }
        if let Some(until) = q.until {
            sql.push_str(" AND sort_at < ?");
            args.push(until.timestamp().into());
        }
        if !q.sources.is_empty() {
            sql.push_str(" AND source_id IN (");
            sql.push_str(&vec!["?"; q.sources.len()].join(", "));
            sql.push(')');
            args.extend(q.sources.iter().map(|s| s.clone().into()));
        }
        stories::filter_sql(q, &mut sql, &mut args);
        if !q.ids.is_empty() {
            sql.push_str(" AND id IN (");
            sql.push_str(&vec!["?"; q.ids.len()].join(", "));
            sql.push(')');
            args.extend(q.ids.iter().map(|&i| i.into()));
        }
        sql.push_str(" ORDER BY sort_at DESC, id DESC");
        if let Some(limit) = q.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
            let categories: String = r.get(11)?;
            let tags: String = r.get(13)?;
            let first_seen = from_ts(r.get(9)?).unwrap_or_default();
            Ok(StoredItem {
                id: r.get(0)?,
                source_id: r.get(1)?,
                title: r.get(2)?,
                link: r.get(3)?,
                author: r.get(4)?,
                summary: SafeHtml::from_store(r.get(5)?),
                content: r.get::<_, Option<String>>(6)?.map(SafeHtml::from_store),
                excerpt: r.get(7)?,
                published: from_ts(r.get(8)?),
                first_seen,
                date: from_ts(r.get(10)?).unwrap_or(first_seen),
                categories: serde_json::from_str(&categories).unwrap_or_default(),
                language: r.get(12)?,
                tags: serde_json::from_str(&tags).unwrap_or_default(),
                excerpt_html: r.get::<_, Option<String>>(14)?.map(SafeHtml::from_store),
                duplicate_of: r.get(15)?,
                also_by: Vec::new(),
                duplicate_reason: r.get(16)?,
                kept_apart: Vec::new(),
            })
        })?;
        let mut items: Vec<StoredItem> = rows.collect::<Result<_, _>>()?;
        self.fill_also_by(&mut items)?;
        Ok(items)
    }

    /// Item count and newest item date per source.
    pub fn source_stats(&self) -> Result<HashMap<String, SourceStats>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT source_id, COUNT(*), MAX(sort_at) FROM items GROUP BY source_id")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                SourceStats {
                    items: r.get::<_, i64>(1)?.max(0) as u64,
                    newest: from_ts(r.get(2)?),
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The dates (published, else first seen) of each source's newest `n` items, newest
    /// first: how often a source usually publishes.
    pub fn recent_item_dates(
        &self,
        n: usize,
    ) -> Result<HashMap<String, Vec<DateTime<Utc>>>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT source_id, sort_at FROM (
                 SELECT source_id, sort_at,
                        ROW_NUMBER() OVER (PARTITION BY source_id ORDER BY sort_at DESC, id DESC) AS nth
                 FROM items)
             WHERE nth <= ?1 ORDER BY source_id, nth",
        )?;
        let mut out: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        let mut rows = stmt.query([limit])?;
        while let Some(r) = rows.next()? {
            if let Some(date) = from_ts(r.get(1)?) {
                out.entry(r.get(0)?).or_default().push(date);
            }
        }
        Ok(out)
    }

    /// Every tag stored items carry, with how many carry it, most used first.
    pub fn tag_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT t.value, COUNT(*) FROM items, json_each(items.tags) AS t
             GROUP BY t.value ORDER BY COUNT(*) DESC, t.value",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?.max(0).unsigned_abs(),
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Several sources' fetch results written in one transaction: each source's state with its
/// items, and the annotations the fetch made of them (story rows at once; candidate keys and
/// search entries together at [`FetchBatch::commit`], as annotation writes a page). A
/// source's items and state still land together: a crash (or a failed write, which drops
/// the batch) loses the batch's sources whole, and the next run fetches them again. Dropped
/// without [`FetchBatch::commit`], it rolls back.
pub struct FetchBatch<'a> {
    batch: AnnotationBatch<'a>,
    /// The annotator's stamp: items' annotations are written under it (without one, items
    /// are left for annotation to read back).
    stamp: Option<String>,
    deferred: stories::Deferred,
    items: usize,
    /// Items written with their annotation.
    annotated: usize,
    began: std::time::Instant,
}

impl FetchBatch<'_> {
    /// Writes a source's new state and its items (new or changed ones with their
    /// annotations).
    pub fn commit_source(
        &mut self,
        state: &SourceState,
        mut items: Vec<Item>,
        now: DateTime<Utc>,
    ) -> Result<Counts, StoreError> {
        let tx = &self.batch.tx;
        tx.execute(
            "INSERT INTO sources (id, url, etag, last_modified, body_hash, last_attempt, last_success, last_status,
                                  last_error, error_count, failing_since, next_attempt, gone, moved_to, ttl_minutes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT(id) DO UPDATE SET url = excluded.url, etag = excluded.etag,
                 last_modified = excluded.last_modified, body_hash = excluded.body_hash,
                 last_attempt = excluded.last_attempt, last_success = excluded.last_success,
                 last_status = excluded.last_status, last_error = excluded.last_error,
                 error_count = excluded.error_count, failing_since = excluded.failing_since,
                 next_attempt = excluded.next_attempt, gone = excluded.gone, moved_to = excluded.moved_to,
                 ttl_minutes = excluded.ttl_minutes",
            params![
                state.id,
                state.url,
                state.etag,
                state.last_modified,
                state.body_hash,
                ts(state.last_attempt),
                ts(state.last_success),
                state.last_status,
                state.last_error,
                state.error_count,
                ts(state.failing_since),
                ts(state.next_attempt),
                state.gone,
                state.moved_to,
                state.ttl_minutes,
            ],
        )?;
        let mut counts = Counts::default();
        // Keys of entries sharing one GUID inside this document are told apart first.
        crate::ingest::normalize::disambiguate_keys(&mut items);
        // Items new or changed that come with their annotation.
        let mut fresh: Vec<Fresh> = Vec::new();
        {
            let mut buried = tx.prepare_cached(
                "SELECT 1 FROM tombstones WHERE source_id = ?1 AND (key = ?2 OR (link IS NOT NULL AND link = ?3))",
            )?;
            let mut find = tx.prepare_cached(
                "SELECT id, fingerprint, annotated IS NOT NULL, first_seen FROM items
                 WHERE source_id = ?1 AND key = ?2",
            )?;
            // The excerpt is annotation's: written here when the fetch annotated the item,
            // else when annotation reads it back.
            let mut insert = tx.prepare_cached(
                "INSERT INTO items (source_id, key, guid, link, title, author, summary_html, content_html, excerpt,
                                    published, updated, first_seen, sort_at, categories, fingerprint,
                                    language, tags, excerpt_html, annotated)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, COALESCE(?15, ''), ?9, ?10, ?11, ?12, ?13, ?14,
                         ?16, COALESCE(?17, '[]'), ?18, ?19)",
            )?;
            let mut update = tx.prepare_cached(
                "UPDATE items SET guid = ?2, link = ?3, title = ?4, author = ?5, summary_html = ?6, content_html = ?7,
                        published = ?8, updated = ?9, categories = ?10, fingerprint = ?11,
                        sort_at = COALESCE(?8, first_seen)
                 WHERE id = ?1",
            )?;
            let mut seen_keys = std::collections::HashSet::new();
            for (n, item) in items.iter_mut().enumerate() {
                // A feed that repeats an entry in one document counts it once.
                if !seen_keys.insert(item.key.clone()) {
                    continue;
                }
                // Removed by retention or an editor: it stays removed.
                if buried.exists(params![
                    item.source_id,
                    item.key,
                    item.link.as_ref().map(url::Url::as_str)
                ])? {
                    continue;
                }
                let categories =
                    serde_json::to_string(&item.categories).unwrap_or_else(|_| "[]".into());
                let existing: Option<(i64, String, bool, i64)> = find
                    .query_row(params![item.source_id, item.key], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })
                    .optional()?;
                let annotation = self.stamp.as_ref().and(item.annotation.take());
                // (id, date, first seen, annotated before, inserted) of a row written.
                let written = match existing {
                    Some((_, fp, _, _)) if fp == item.fingerprint => {
                        counts.unchanged += 1;
                        None
                    }
                    Some((id, _, was_annotated, first_seen)) => {
                        update.execute(params![
                            id,
                            item.guid,
                            item.link.as_ref().map(url::Url::as_str),
                            item.title,
                            item.author,
                            item.summary.as_str(),
                            item.content.as_ref().map(SafeHtml::as_str),
                            ts(item.published),
                            ts(item.updated),
                            categories,
                            item.fingerprint,
                        ])?;
                        counts.updated += 1;
                        let sort_at = ts(item.published).unwrap_or(first_seen);
                        Some((id, sort_at, first_seen, was_annotated, false))
                    }
                    None => {
                        let sort_at = ts(item.published).unwrap_or(now.timestamp());
                        let (stamp, a) = (self.stamp.as_deref(), annotation.as_ref());
                        insert.execute(params![
                            item.source_id,
                            item.key,
                            item.guid,
                            item.link.as_ref().map(url::Url::as_str),
                            item.title,
                            item.author,
                            item.summary.as_str(),
                            item.content.as_ref().map(SafeHtml::as_str),
                            ts(item.published),
                            ts(item.updated),
                            now.timestamp(),
                            sort_at,
                            categories,
                            item.fingerprint,
                            a.map(|a| a.excerpt.as_str()),
                            a.and_then(|a| a.language.as_deref()),
                            a.map(stories::tags_json),
                            a.map(|a| a.excerpt_html.as_str()),
                            a.zip(stamp)
                                .map(|(_, stamp)| stories::annotated(&item.fingerprint, stamp)),
                        ])?;
                        counts.new += 1;
                        Some((
                            tx.last_insert_rowid(),
                            sort_at,
                            now.timestamp(),
                            false,
                            true,
                        ))
                    }
                };
                if let (Some((id, sort_at, first_seen, annotated, inserted)), Some(annotation)) =
                    (written, annotation)
                {
                    fresh.push(Fresh {
                        id,
                        sort_at,
                        first_seen,
                        annotated,
                        inserted,
                        item: n,
                        annotation,
                    });
                }
            }
        }
        if let Some(stamp) = &self.stamp {
            let rows: Vec<Row<'_>> = fresh
                .iter()
                .map(|f| {
                    let item = &items[f.item];
                    Row {
                        id: f.id,
                        source_id: &item.source_id,
                        title: &item.title,
                        sort_at: f.sort_at,
                        first_seen: f.first_seen,
                        fingerprint: &item.fingerprint,
                        annotated: f.annotated,
                    }
                })
                .collect();
            let inserted: Vec<bool> = fresh.iter().map(|f| f.inserted).collect();
            let mut annotations: Vec<Annotation> = fresh
                .into_iter()
                .map(|f| {
                    let mut a = f.annotation;
                    // Made before the store knew the item's date (or first-seen time).
                    a.signature.date = f.sort_at;
                    a
                })
                .collect();
            self.batch.flag_boilerplate(&rows, &mut annotations)?;
            self.annotated += annotations.len();
            for ((row, a), inserted) in rows.iter().zip(&annotations).zip(inserted) {
                // A new row was written with its annotation; a changed one has the old.
                if !inserted {
                    self.batch.save_row(row, a, stamp)?;
                }
                self.batch.save_story(row, a, &mut self.deferred)?;
            }
        }
        self.items += counts.new + counts.updated;
        Ok(counts)
    }

    /// Items written since the batch began.
    pub fn items(&self) -> usize {
        self.items
    }

    /// Items written with the annotation the fetch made.
    pub fn annotated(&self) -> usize {
        self.annotated
    }

    /// How long the batch has held the write lock.
    pub fn held(&self) -> std::time::Duration {
        self.began.elapsed()
    }

    /// Writes the keys and search entries waiting, and commits.
    pub fn commit(self) -> Result<(), StoreError> {
        self.batch.flush(self.deferred)?;
        self.batch.commit()
    }
}

/// An item the fetch stored (new or changed) with the annotation it made.
struct Fresh {
    id: i64,
    sort_at: i64,
    first_seen: i64,
    /// The row holds an earlier annotation (its story rows, keys and search entry go).
    annotated: bool,
    /// A new row, written with its annotation.
    inserted: bool,
    /// Its place in the source's items.
    item: usize,
    annotation: Annotation,
}
