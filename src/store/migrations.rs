//! Schema migrations, applied in order; `PRAGMA user_version` counts those applied.

use rusqlite::Connection;

use super::StoreError;

/// Append only: never edit a migration that has shipped.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE sources (
    id            TEXT PRIMARY KEY,
    url           TEXT NOT NULL,
    etag          TEXT,
    last_modified TEXT,
    body_hash     TEXT,
    last_attempt  INTEGER,
    last_success  INTEGER,
    last_status   INTEGER,
    last_error    TEXT,
    error_count   INTEGER NOT NULL DEFAULT 0,
    failing_since INTEGER,
    next_attempt  INTEGER,
    gone          INTEGER NOT NULL DEFAULT 0,
    moved_to      TEXT
);
CREATE TABLE items (
    id           INTEGER PRIMARY KEY,
    source_id    TEXT NOT NULL,
    key          TEXT NOT NULL,
    guid         TEXT,
    link         TEXT,
    title        TEXT NOT NULL,
    author       TEXT,
    summary_html TEXT NOT NULL,
    content_html TEXT,
    excerpt      TEXT NOT NULL,
    published    INTEGER,
    updated      INTEGER,
    first_seen   INTEGER NOT NULL,
    sort_at      INTEGER NOT NULL,
    categories   TEXT NOT NULL DEFAULT '[]',
    fingerprint  TEXT NOT NULL,
    UNIQUE (source_id, key)
);
CREATE INDEX items_sort_at ON items (sort_at);
"#,
    r#"
-- Language, tags, HTML excerpts, cross-partner duplicates, tombstones, search.
ALTER TABLE items ADD COLUMN language TEXT;
ALTER TABLE items ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE items ADD COLUMN excerpt_html TEXT;
-- The primary item of the story this one repeats (NULL: this is a primary).
ALTER TABLE items ADD COLUMN duplicate_of INTEGER;
ALTER TABLE items ADD COLUMN duplicate_reason TEXT;
ALTER TABLE items ADD COLUMN link_key TEXT;
ALTER TABLE items ADD COLUMN title_key TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN words INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN shingles INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN minhash BLOB;
-- What the annotation was computed from; differs from `fingerprint` (or the config
-- stamp) when the item must be annotated again.
ALTER TABLE items ADD COLUMN annotated TEXT;
CREATE INDEX items_link_key ON items (link_key);
CREATE INDEX items_duplicate_of ON items (duplicate_of);
-- Items removed by retention or an editor: never stored again.
CREATE TABLE tombstones (
    source_id  TEXT NOT NULL,
    key        TEXT NOT NULL,
    link       TEXT,
    title      TEXT NOT NULL,
    removed_at INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    PRIMARY KEY (source_id, key)
);
CREATE INDEX tombstones_link ON tombstones (source_id, link);
-- Accent- and case-insensitive search: `mexico` finds `México`.
CREATE VIRTUAL TABLE items_fts USING fts5 (
    title, body, tags,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    DELETE FROM items_fts WHERE rowid = old.id;
END;
"#,
    // Subscribers, suppressions and the send journal.
    r#"
CREATE TABLE subscribers (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    email    TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name     TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL,
    created  INTEGER NOT NULL
);
CREATE TABLE suppressions (
    email  TEXT PRIMARY KEY COLLATE NOCASE,
    reason TEXT NOT NULL CHECK (reason IN ('unsubscribed', 'bounced')),
    detail TEXT NOT NULL DEFAULT '',
    at     INTEGER NOT NULL
);
CREATE TABLE editions_sent (
    edition  TEXT PRIMARY KEY,
    subject  TEXT NOT NULL,
    started  INTEGER NOT NULL,
    finished INTEGER
);
CREATE TABLE send_journal (
    edition       TEXT NOT NULL REFERENCES editions_sent (edition),
    subscriber_id INTEGER NOT NULL,
    email         TEXT NOT NULL,
    state         TEXT NOT NULL
                  CHECK (state IN ('queued', 'pending', 'sent', 'deferred', 'failed', 'skipped')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_try      INTEGER,
    message_id    TEXT NOT NULL,
    last_reply    TEXT,
    updated       INTEGER NOT NULL,
    PRIMARY KEY (edition, subscriber_id)
);
CREATE INDEX send_journal_state ON send_journal (edition, state);
"#,
    // The feed's RSS <ttl>, so it is still honoured after a 304 (nothing parsed).
    r#"
ALTER TABLE sources ADD COLUMN ttl_minutes INTEGER;
"#,
    // Duplicate candidates through indexes instead of a scan of the date window
    // (a first fetch of 1,000 feeds compared 30,000 items with each other).
    r#"
CREATE TABLE story_bands (
    band    INTEGER NOT NULL,
    item_id INTEGER NOT NULL,
    PRIMARY KEY (band, item_id)
) WITHOUT ROWID;
CREATE INDEX story_bands_item ON story_bands (item_id);
CREATE INDEX items_title_key ON items (title_key);
CREATE TRIGGER items_bands_delete AFTER DELETE ON items BEGIN
    DELETE FROM story_bands WHERE item_id = old.id;
END;
-- Annotated before bands existed: annotate again so their bands are stored.
UPDATE items SET annotated = NULL;
"#,
    // Search entries without a second copy of every item's text (MATCH needs only the
    // index): less to write on a first fetch of thousands of feeds. Rebuilt by annotating
    // again.
    r#"
DROP TRIGGER items_fts_delete;
DROP TABLE items_fts;
CREATE VIRTUAL TABLE items_fts USING fts5 (
    title, body, tags,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    DELETE FROM items_fts WHERE rowid = old.id;
END;
UPDATE items SET annotated = NULL;
"#,
    // One key per address (`address_key`: Unicode lower case, NFC, IDNA domain), so
    // `JOSÉ@…` and `josé@…` are one subscriber and one suppression (NOCASE folds ASCII only).
    // Rows the old rule kept apart are merged: the oldest subscriber stays (the journal
    // names it) and the first suppression stays; since suppressions now match by key, a
    // suppressed spelling suppresses every other one.
    r#"
ALTER TABLE subscribers ADD COLUMN key TEXT NOT NULL DEFAULT '';
ALTER TABLE suppressions ADD COLUMN key TEXT NOT NULL DEFAULT '';
UPDATE subscribers SET key = address_key(email);
UPDATE suppressions SET key = address_key(email);
DELETE FROM subscribers WHERE id NOT IN (SELECT MIN(id) FROM subscribers GROUP BY key);
DELETE FROM suppressions WHERE rowid NOT IN (
    SELECT rowid FROM (
        SELECT rowid, ROW_NUMBER() OVER (PARTITION BY key ORDER BY at, rowid) AS n
        FROM suppressions
    ) WHERE n = 1
);
CREATE UNIQUE INDEX subscribers_key ON subscribers (key);
CREATE UNIQUE INDEX suppressions_key ON suppressions (key);
"#,
    // Stories judged on distinctive text. Each item's shingles (its source's boilerplate
    // flagged) and candidate keys live in narrow tables the judge reads without touching
    // the items' HTML; `story_keys` replaces the MinHash bands; `story_overrides` keeps the
    // editor's merges and splits across re-annotation. Annotated again to fill them.
    r#"
DROP TRIGGER items_bands_delete;
DROP TABLE story_bands;
DROP INDEX items_link_key;
DROP INDEX items_title_key;
CREATE TABLE story_items (
    item_id    INTEGER PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    source_id  TEXT NOT NULL,
    sort_at    INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    link_key   TEXT,
    title      TEXT NOT NULL,
    core       TEXT NOT NULL,
    words      INTEGER NOT NULL,
    -- The story's primary (NULL: this item leads its story or stands alone).
    primary_id INTEGER,
    reason     TEXT,
    score      REAL,
    -- Its place in a story is decided (0: the linking pass judges it).
    linked     INTEGER NOT NULL DEFAULT 0
);
-- A source's recent items, to count its boilerplate. (A story's copies are found through
-- items.duplicate_of, kept in step; unplaced items by a scan in id order, which a first
-- fetch reads whole anyway: no index to keep up for either.)
CREATE INDEX story_items_source ON story_items (source_id, sort_at);
CREATE TABLE story_text (
    item_id  INTEGER PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    shingles BLOB NOT NULL,
    keys     BLOB NOT NULL
);
CREATE TABLE story_keys (
    key     INTEGER NOT NULL,
    item_id INTEGER NOT NULL,
    -- The item's title core, to tell a re-posted story from a passage that recurs under
    -- many titles, and its source: the key index alone answers a lookup.
    title   INTEGER NOT NULL,
    source  INTEGER NOT NULL,
    PRIMARY KEY (key, item_id)
) WITHOUT ROWID;
-- The editor's corrections between two items (a < b): 1 merged, 0 kept apart.
CREATE TABLE story_overrides (
    a        INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    b        INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    together INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (a, b)
) WITHOUT ROWID;
CREATE INDEX story_overrides_b ON story_overrides (b);
UPDATE items SET annotated = NULL, duplicate_of = NULL, duplicate_reason = NULL,
    link_key = NULL, title_key = '', words = 0, shingles = 0, minhash = NULL;
"#,
    // How each subscriber came (or came back): an imported list, an editor's `subscribers
    // add`, or the reader's own signup; and when a signup was confirmed by its link, the
    // record double opt-in is kept for.
    r#"
ALTER TABLE subscribers ADD COLUMN origin TEXT NOT NULL DEFAULT 'import'
    CHECK (origin IN ('import', 'editor', 'signup'));
ALTER TABLE subscribers ADD COLUMN confirmed INTEGER;
"#,
    // Stories judged again. Each key's postings carry the story their item is in, so text a
    // story's retitled copies share is not taken for text that recurs under many titles;
    // `story_basis` keeps the text keys each copy was folded on, to judge it again when the
    // store later finds one recurs under many titles (a campaign call it did not know yet);
    // a tombstone names the item it stands for. Shingles now mark the words their title
    // names: every item is annotated again.
    r#"
DROP TABLE story_keys;
CREATE TABLE story_keys (
    key     INTEGER NOT NULL,
    item_id INTEGER NOT NULL,
    title   INTEGER NOT NULL,
    source  INTEGER NOT NULL,
    -- The story the item is in: its primary, or itself.
    story   INTEGER NOT NULL,
    PRIMARY KEY (key, item_id)
) WITHOUT ROWID;
CREATE TABLE story_basis (
    key     INTEGER NOT NULL,
    item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    PRIMARY KEY (key, item_id)
) WITHOUT ROWID;
CREATE INDEX story_basis_item ON story_basis (item_id);
ALTER TABLE tombstones ADD COLUMN item_id INTEGER;
CREATE INDEX tombstones_item ON tombstones (item_id);
DELETE FROM story_text;
DELETE FROM story_items;
UPDATE items SET annotated = NULL, duplicate_of = NULL, duplicate_reason = NULL;
"#,
];

pub(super) fn migrate(conn: &mut Connection, path: &str) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let supported = MIGRATIONS.len() as i64;
    if version > supported {
        return Err(StoreError::TooNew {
            path: path.to_string(),
            found: version,
            supported,
        });
    }
    apply(conn, version.max(0) as usize, MIGRATIONS.len())
}

/// Applies migrations `from..to`, each in its own transaction. Two processes may open an
/// old store at once: each migration takes the write lock first and is skipped if the
/// other process applied it meanwhile.
fn apply(conn: &mut Connection, from: usize, to: usize) -> Result<(), StoreError> {
    for (i, sql) in MIGRATIONS.iter().enumerate().take(to).skip(from) {
        let tx = super::write_tx(conn)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > i as i64 {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use rusqlite::Connection;

    use crate::annotate::Annotator;
    use crate::annotate::tag::Gazetteer;
    use crate::lang::Lang;
    use crate::store::{
        AddOutcome, ItemQuery, NewSubscriber, Store, SubscriberCounts, SuppressionReason,
    };

    #[test]
    fn a_store_from_before_contentless_search_is_searchable_after_upgrading() {
        let dir = tempfile::tempdir().unwrap_or_else(|_| unreachable!());
        let path = dir.path().join("old.db");
        let mut conn = Connection::open(&path).unwrap_or_else(|_| unreachable!());
        super::apply(&mut conn, 0, 6).unwrap_or_else(|_| unreachable!());
        let at = Utc
            .with_ymd_and_hms(2026, 11, 18, 12, 0, 0)
            .single()
            .map_or(0, |d| d.timestamp());
        conn.execute_batch(&format!(
            "INSERT INTO items (id, source_id, key, title, summary_html, excerpt, first_seen,
                                sort_at, fingerprint, annotated)
             VALUES (7, 'cdh', 'k', 'Desalojo en Chenalhó', '<p>Familias desplazadas.</p>',
                     'Familias desplazadas.', {at}, {at}, 'fp', 'fp|old');
             INSERT INTO items_fts (rowid, title, body, tags)
             VALUES (7, 'Desalojo en Chenalhó', 'Familias desplazadas.', '');"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        drop(conn);

        let mut store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let annotator = Annotator::new(Gazetteer::default(), 60, &[]);
        let report = annotator.run(&mut store).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.annotated, 1);
        let search = |store: &Store, text: &str| {
            store
                .items(&ItemQuery {
                    search: Some(text.into()),
                    ..ItemQuery::default()
                })
                .map(|items| items.len())
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(search(&store, "chenalho"), 1);
        assert_eq!(search(&store, "desplaz*"), 1);
        assert_eq!(search(&store, "Oaxaca"), 0);
        // Removing the item takes its search entry with it.
        store
            .remove_items(&[7], "editor", Utc::now())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(search(&store, "chenalho"), 0);
    }

    #[test]
    fn spellings_of_one_address_merge_and_the_suppression_wins() {
        let dir = tempfile::tempdir().unwrap_or_else(|_| unreachable!());
        let path = dir.path().join("old.db");
        let mut conn = Connection::open(&path).unwrap_or_else(|_| unreachable!());
        // The schema just before the address key.
        let before = super::MIGRATIONS
            .iter()
            .position(|m| m.contains("subscribers ADD COLUMN key"))
            .unwrap_or_else(|| unreachable!());
        super::apply(&mut conn, 0, before).unwrap_or_else(|e| panic!("{e}"));
        // What ASCII-only NOCASE let in: one person under two spellings, the older one
        // unsubscribed; another suppressed twice, bounced after unsubscribing.
        conn.execute_batch(
            "INSERT INTO subscribers (id, email, name, language, created) VALUES
                 (1, 'JOSÉ@ejemplo.org', 'José', 'es', 100),
                 (2, 'ana@ejemplo.org', 'Ana', 'es', 100),
                 (3, 'josé@ejemplo.org', 'José Pérez', 'es', 200),
                 (4, 'MARÍA@ejemplo.org', 'María', 'es', 100),
                 (5, 'maría@ejemplo.org', 'María', 'es', 300);
             INSERT INTO suppressions (email, reason, detail, at) VALUES
                 ('JOSÉ@ejemplo.org', 'unsubscribed', 'one-click', 150),
                 ('maría@ejemplo.org', 'bounced', '550', 400),
                 ('MARÍA@ejemplo.org', 'unsubscribed', 'one-click', 350);",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        drop(conn);

        let mut store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let subs = store.subscribers().unwrap_or_else(|e| panic!("{e}"));
        let rows: Vec<(i64, &str, Option<SuppressionReason>)> = subs
            .iter()
            .map(|s| (s.id, s.email.as_str(), s.suppressed))
            .collect();
        assert_eq!(
            rows,
            [
                (1, "JOSÉ@ejemplo.org", Some(SuppressionReason::Unsubscribed)),
                (2, "ana@ejemplo.org", None),
                (
                    4,
                    "MARÍA@ejemplo.org",
                    Some(SuppressionReason::Unsubscribed)
                ),
            ]
        );
        let SubscriberCounts {
            active,
            unsubscribed,
            bounced,
        } = store.subscriber_counts().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((active, unsubscribed, bounced), (1, 2, 0));
        // The lower-case spelling, imported again, stays out.
        let again = store
            .import_subscribers(
                &[NewSubscriber {
                    email: "josé@ejemplo.org".into(),
                    name: "José".into(),
                    language: Lang::Es,
                }],
                Utc::now(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            again,
            [AddOutcome::Suppressed(SuppressionReason::Unsubscribed)]
        );
    }
}
