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
    // Issue 3: the feed's RSS <ttl>, so it is still honoured after a 304 (nothing parsed).
    r#"
ALTER TABLE sources ADD COLUMN ttl_minutes INTEGER;
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
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
