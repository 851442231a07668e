//! Subscribers, suppressions and the send journal: what delivery remembers between runs.
//!
//! An address joins by a list import, an editor's word or the reader's confirmed signup
//! ([`Store::activate`]); the last two also bring back an address that unsubscribed, and
//! only an editor's explicit force brings back one that bounced.
//!
//! The journal holds one row per (edition, subscriber), created for the whole audience in
//! one transaction when an edition's first `send` starts (so the audience is a snapshot and
//! a crash can never skip anyone). A row goes `queued` → `pending` (committed *before* the
//! SMTP transaction) → `sent` (committed right after the server's 250) / `deferred` (4xx,
//! with the time of the next try) / `failed` (5xx; the address is suppressed as bounced in
//! the same transaction). A row found `pending` by a later run was in flight at a crash.

use chrono::{DateTime, Utc};
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{Store, StoreError, from_ts};
use crate::lang::Lang;

/// The key every spelling of one address shares: `JOSÉ@Ejemplo.org`, `josé@ejemplo.org`
/// and `jose\u{301}@EJEMPLO.ORG` are one subscriber and one suppression. The local part is
/// lower-cased with Unicode rules and composed (NFC); the domain goes through IDNA, so
/// `ejemplo.org`, `EJEMPLO.ORG` and an accented domain in Unicode or in `xn--` form agree.
///
/// RFC 5321 lets a server tell `Ana@` from `ana@`, but no mail system people use does, and
/// the key only decides which rows are one person: at worst two mailboxes differing in
/// case count as one, so one of them is not mailed, never that someone who unsubscribed
/// is mailed again. Mail still goes to the address as it was written. Used by the CSV
/// import to find repeats and by the store's UNIQUE `key` columns (as the SQL function
/// `address_key`, for the migration that added them).
pub fn address_key(email: &str) -> String {
    let email = email.trim();
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let nfc = icu_normalizer::ComposingNormalizerBorrowed::new_nfc();
    let local = local.to_lowercase();
    let domain = match idna::domain_to_ascii(domain) {
        Ok(ascii) => ascii,
        // Not a domain IDNA accepts (the CSV import refuses those): compared as text.
        Err(_) => nfc.normalize(&domain.to_lowercase()).into_owned(),
    };
    format!("{}@{domain}", nfc.normalize(&local))
}

/// Makes [`address_key`] callable from SQL on `conn` (migrations use it to fill the key
/// of rows stored before it existed).
pub(super) fn register_address_key(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "address_key",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(ctx.get::<Option<String>>(0)?.map(|e| address_key(&e))),
    )
}

/// Why an address gets no more mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SuppressionReason {
    /// The subscriber (or an editor, with `subscribers remove`) asked to stop.
    Unsubscribed,
    /// The server refused the address with a permanent (5xx) error.
    Bounced,
}

impl SuppressionReason {
    /// The word stored in the database and shown in listings: `unsubscribed` or `bounced`.
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionReason::Unsubscribed => "unsubscribed",
            SuppressionReason::Bounced => "bounced",
        }
    }

    fn parse(s: &str) -> SuppressionReason {
        if s == "bounced" {
            SuppressionReason::Bounced
        } else {
            SuppressionReason::Unsubscribed
        }
    }
}

/// How a subscriber came, or last came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// From a list (`subscribers import`), on the word of whoever kept it.
    Import,
    /// Added by an editor (`subscribers add`), who vouches for the address.
    Editor,
    /// The reader's own signup, confirmed by following the link mailed to the address.
    Signup,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Import => "import",
            Origin::Editor => "editor",
            Origin::Signup => "signup",
        }
    }

    fn parse(s: &str) -> Origin {
        match s {
            "editor" => Origin::Editor,
            "signup" => Origin::Signup,
            _ => Origin::Import,
        }
    }
}

/// On whose word an address is (re)activated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// The reader followed the confirmation link of a signup sent at `asked`.
    Signup {
        /// When the signup form was sent (the link carries it).
        asked: DateTime<Utc>,
    },
    /// An editor vouches for the address; `force` brings back even one that bounced.
    Editor {
        /// Re-activate a bounced address too.
        force: bool,
    },
}

/// An address to make active.
#[derive(Debug, Clone)]
pub struct Activation<'a> {
    /// A checked address (see `deliver::subscribers::normalize_email`).
    pub email: &'a str,
    /// `None` keeps a known subscriber's name (a new one gets none).
    pub name: Option<&'a str>,
    /// `None` keeps a known subscriber's language (a new one gets `default_language`).
    pub language: Option<Lang>,
    /// The language of a new subscriber for whom none was given.
    pub default_language: Lang,
    /// Whose word it is.
    pub consent: Consent,
}

/// What [`Store::activate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activated {
    /// A new subscriber, in the audience of every edition whose sending starts from now on.
    Added,
    /// Suppressed for this reason before; active again.
    Returned(SuppressionReason),
    /// Already active; a name or language given replaced the stored one.
    AlreadyActive,
    /// Left suppressed: the address bounced, and only an editor's force brings it back.
    Bounced {
        /// When it bounced.
        at: DateTime<Utc>,
        /// The server's refusal, as recorded.
        detail: String,
    },
    /// Left suppressed: unsubscribed after the signup was sent, which outweighs its link.
    UnsubscribedSince(DateTime<Utc>),
}

/// A subscriber as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Subscriber {
    /// Row id; unsubscribe tokens and Message-IDs are derived from it.
    pub id: i64,
    /// The address as imported, domain lower-cased.
    pub email: String,
    /// Display name from the imported list; empty when it gave none.
    pub name: String,
    /// The language their editions are sent in (Spanish if the stored code is unknown).
    pub language: Lang,
    /// When the address was imported.
    pub created: DateTime<Utc>,
    /// `None` while the address receives mail.
    pub suppressed: Option<SuppressionReason>,
    /// When the address was suppressed; `None` while it receives mail.
    pub suppressed_at: Option<DateTime<Utc>>,
    /// How the subscriber came, or last came back.
    pub origin: Origin,
    /// When the reader last confirmed a signup by its link; `None` if they never did.
    pub confirmed: Option<DateTime<Utc>>,
}

/// A validated row to import.
#[derive(Debug, Clone)]
pub struct NewSubscriber {
    /// Checked address, domain lower-cased (see `deliver::subscribers::normalize_email`).
    pub email: String,
    pub(crate) name: String,
    pub(crate) language: Lang,
}

/// What importing one address did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// New: stored, and in the audience of every edition whose sending starts from now on.
    Added,
    /// Already subscribed; nothing changed.
    Existing,
    /// Unsubscribed or bounced earlier: not re-imported.
    Suppressed(SuppressionReason),
}

/// Subscriber totals.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct SubscriberCounts {
    /// Addresses that receive mail.
    pub active: u64,
    /// Addresses suppressed because the subscriber (or an editor) unsubscribed them.
    pub unsubscribed: u64,
    /// Addresses suppressed after a permanent (5xx) refusal.
    pub bounced: u64,
}

/// Where one (edition, subscriber) delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// In the audience, not yet attempted (or handed back after the sender was refused).
    Queued,
    /// An SMTP transaction began and its end is not recorded: in flight, or cut by a crash.
    Pending,
    /// The server accepted it (250); never sent again.
    Sent,
    /// A 4xx or a broken connection: tried again once its next-try time has come.
    Deferred,
    /// Given up: a 5xx (the address is then suppressed as bounced), too many 4xx, or an
    /// address SMTP cannot carry.
    Failed,
    /// Unsubscribed or bounced after the edition's audience was taken.
    Skipped,
}

impl DeliveryState {
    fn parse(s: &str) -> DeliveryState {
        match s {
            "pending" => DeliveryState::Pending,
            "sent" => DeliveryState::Sent,
            "deferred" => DeliveryState::Deferred,
            "failed" => DeliveryState::Failed,
            "skipped" => DeliveryState::Skipped,
            _ => DeliveryState::Queued,
        }
    }
}

/// A journal row due for an attempt, with what the message needs to know.
#[derive(Debug, Clone)]
pub struct JournalRow {
    pub(crate) subscriber_id: i64,
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) language: Option<Lang>,
    /// Where the row stands: queued, pending (in flight at a crash) or deferred and due.
    pub state: DeliveryState,
    pub(crate) attempts: u32,
    pub(crate) message_id: String,
}

/// Journal totals for one edition.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct JournalCounts {
    /// Rows not attempted yet.
    pub queued: u64,
    /// Rows in flight: from a run that crashed, unless one is running now.
    pub pending: u64,
    /// Rows the server accepted.
    pub sent: u64,
    /// Rows waiting for a retry after a 4xx.
    pub deferred: u64,
    /// Rows given up.
    pub failed: u64,
    /// Rows whose address was suppressed after the audience was taken.
    pub skipped: u64,
}

impl JournalCounts {
    /// Rows that still need an attempt.
    pub fn open(&self) -> u64 {
        self.queued + self.pending + self.deferred
    }

    pub(crate) fn total(&self) -> u64 {
        self.open() + self.sent + self.failed + self.skipped
    }
}

/// An edition's send as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct EditionSend {
    pub(crate) edition: String,
    pub(crate) subject: String,
    pub(crate) started: DateTime<Utc>,
    pub(crate) finished: Option<DateTime<Utc>>,
}

impl Store {
    /// Adds each address unless it (under its [`address_key`]) is already there or
    /// suppressed; one transaction.
    pub fn import_subscribers(
        &mut self,
        rows: &[NewSubscriber],
        now: DateTime<Utc>,
    ) -> Result<Vec<AddOutcome>, StoreError> {
        let tx = self.write_tx()?;
        let mut out = Vec::with_capacity(rows.len());
        {
            let mut suppressed =
                tx.prepare_cached("SELECT reason FROM suppressions WHERE key = ?1")?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO subscribers (email, key, name, language, created)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT DO NOTHING",
            )?;
            for row in rows {
                let key = address_key(&row.email);
                let reason: Option<String> = suppressed
                    .query_row(params![key], |r| r.get(0))
                    .optional()?;
                if let Some(reason) = reason {
                    out.push(AddOutcome::Suppressed(SuppressionReason::parse(&reason)));
                    continue;
                }
                let added = insert.execute(params![
                    row.email,
                    key,
                    row.name,
                    row.language.code(),
                    now.timestamp()
                ])?;
                out.push(if added == 1 {
                    AddOutcome::Added
                } else {
                    AddOutcome::Existing
                });
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Makes `a.email` active, in one transaction: adds it, brings it back from an
    /// unsubscribe, or (by an editor's force) from a bounce. Refuses a bounced address
    /// otherwise, and a signup whose address unsubscribed after the signup was sent.
    pub fn activate(
        &mut self,
        a: &Activation<'_>,
        now: DateTime<Utc>,
    ) -> Result<Activated, StoreError> {
        let key = address_key(a.email);
        let tx = self.write_tx()?;
        let suppression: Option<(String, String, i64)> = tx
            .query_row(
                "SELECT reason, detail, at FROM suppressions WHERE key = ?1",
                params![key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let mut returned = None;
        if let Some((reason, detail, at)) = suppression {
            let reason = SuppressionReason::parse(&reason);
            let at = from_ts(Some(at)).unwrap_or_default();
            match (reason, a.consent) {
                (SuppressionReason::Bounced, Consent::Signup { .. })
                | (SuppressionReason::Bounced, Consent::Editor { force: false }) => {
                    return Ok(Activated::Bounced { at, detail });
                }
                // Both are recorded to the second: an unsubscribe in the same second as
                // the request is taken as the later, since keeping a reader out by
                // mistake costs a new signup and mailing one who left costs their trust.
                (SuppressionReason::Unsubscribed, Consent::Signup { asked }) if at >= asked => {
                    return Ok(Activated::UnsubscribedSince(at));
                }
                _ => {}
            }
            tx.execute("DELETE FROM suppressions WHERE key = ?1", params![key])?;
            returned = Some(reason);
        }
        let (origin, confirmed) = match a.consent {
            Consent::Signup { .. } => (Origin::Signup, Some(now.timestamp())),
            Consent::Editor { .. } => (Origin::Editor, None),
        };
        // A known subscriber's origin changes when they come back or confirm a signup
        // themselves, not when an editor merely renames them.
        let renew = returned.is_some() || matches!(a.consent, Consent::Signup { .. });
        let updated = tx.execute(
            "UPDATE subscribers SET name = COALESCE(?2, name), language = COALESCE(?3, language),
                    origin = CASE WHEN ?4 THEN ?5 ELSE origin END,
                    confirmed = CASE WHEN ?4 THEN COALESCE(?6, confirmed) ELSE confirmed END
             WHERE key = ?1",
            params![
                key,
                a.name,
                a.language.map(Lang::code),
                renew,
                origin.as_str(),
                confirmed
            ],
        )?;
        if updated == 0 {
            tx.execute(
                "INSERT INTO subscribers (email, key, name, language, created, origin, confirmed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    a.email,
                    key,
                    a.name.unwrap_or(""),
                    a.language.unwrap_or(a.default_language).code(),
                    now.timestamp(),
                    origin.as_str(),
                    confirmed
                ],
            )?;
        }
        tx.commit()?;
        Ok(match returned {
            Some(reason) => Activated::Returned(reason),
            None if updated == 0 => Activated::Added,
            None => Activated::AlreadyActive,
        })
    }

    /// Why `email` (in any spelling) gets no mail, if it gets none.
    pub fn suppression(&self, email: &str) -> Result<Option<SuppressionReason>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT reason FROM suppressions WHERE key = ?1",
                params![address_key(email)],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .as_deref()
            .map(SuppressionReason::parse))
    }

    /// Every subscriber (suppressed ones included), oldest first.
    pub fn subscribers(&self) -> Result<Vec<Subscriber>, StoreError> {
        self.query_subscribers("", params![])
    }

    /// One subscriber by id.
    pub fn subscriber(&self, id: i64) -> Result<Option<Subscriber>, StoreError> {
        Ok(self
            .query_subscribers("WHERE s.id = ?1", params![id])?
            .into_iter()
            .next())
    }

    /// One subscriber by address (any spelling with the same [`address_key`]).
    pub fn subscriber_by_email(&self, email: &str) -> Result<Option<Subscriber>, StoreError> {
        Ok(self
            .query_subscribers("WHERE s.key = ?1", params![address_key(email)])?
            .into_iter()
            .next())
    }

    fn query_subscribers(
        &self,
        filter: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<Subscriber>, StoreError> {
        let sql = format!(
            "SELECT s.id, s.email, s.name, s.language, s.created, p.reason, p.at, s.origin,
                    s.confirmed
             FROM subscribers s LEFT JOIN suppressions p ON p.key = s.key {filter}
             ORDER BY s.id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(args, |r| {
            let reason: Option<String> = r.get(5)?;
            Ok(Subscriber {
                id: r.get(0)?,
                email: r.get(1)?,
                name: r.get(2)?,
                language: Lang::from_code(&r.get::<_, String>(3)?).unwrap_or(Lang::Es),
                created: from_ts(r.get(4)?).unwrap_or_default(),
                suppressed: reason.as_deref().map(SuppressionReason::parse),
                suppressed_at: from_ts(r.get(6)?),
                origin: Origin::parse(&r.get::<_, String>(7)?),
                confirmed: from_ts(r.get(8)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Active, unsubscribed and bounced totals.
    pub fn subscriber_counts(&self) -> Result<SubscriberCounts, StoreError> {
        // Counted by SQLite, not by reading every subscriber.
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.reason, COUNT(*) FROM subscribers s
             LEFT JOIN suppressions p ON p.key = s.key GROUP BY p.reason",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?))
        })?;
        let mut counts = SubscriberCounts::default();
        for row in rows {
            let (reason, n) = row?;
            let n = n.max(0) as u64;
            match reason.as_deref().map(SuppressionReason::parse) {
                None => counts.active += n,
                Some(SuppressionReason::Unsubscribed) => counts.unsubscribed += n,
                Some(SuppressionReason::Bounced) => counts.bounced += n,
            }
        }
        Ok(counts)
    }

    /// Suppresses `email` for good; returns false if it already was.
    pub fn suppress(
        &self,
        email: &str,
        reason: SuppressionReason,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(insert_suppression(&self.conn, email, reason, detail, now)?)
    }

    /// Whether `email` may receive mail no more.
    pub fn is_suppressed(&self, email: &str) -> Result<bool, StoreError> {
        Ok(self.suppression(email)?.is_some())
    }

    /// The recorded send of `edition`, if it ever started.
    pub fn edition_send(&self, edition: &str) -> Result<Option<EditionSend>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT edition, subject, started, finished FROM editions_sent WHERE edition = ?1",
                params![edition],
                |r| {
                    Ok(EditionSend {
                        edition: r.get(0)?,
                        subject: r.get(1)?,
                        started: from_ts(r.get(2)?).unwrap_or_default(),
                        finished: from_ts(r.get(3)?),
                    })
                },
            )
            .optional()?)
    }

    /// Takes the audience of `edition`: every active subscriber gets a `queued` row, all in
    /// one transaction. Does nothing if the edition was started before.
    pub fn start_edition(
        &mut self,
        edition: &str,
        subject: &str,
        message_id: &dyn Fn(i64) -> String,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let tx = self.write_tx()?;
        let n = tx.execute(
            "INSERT INTO editions_sent (edition, subject, started) VALUES (?1, ?2, ?3)
             ON CONFLICT(edition) DO NOTHING",
            params![edition, subject, now.timestamp()],
        )?;
        if n == 1 {
            let ids: Vec<(i64, String)> = {
                let mut stmt = tx.prepare(
                    "SELECT s.id, s.email FROM subscribers s
                     WHERE NOT EXISTS (SELECT 1 FROM suppressions p WHERE p.key = s.key)
                     ORDER BY s.id",
                )?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<Result<_, _>>()?
            };
            let mut insert = tx.prepare_cached(
                "INSERT INTO send_journal (edition, subscriber_id, email, state, message_id, updated)
                 VALUES (?1, ?2, ?3, 'queued', ?4, ?5)",
            )?;
            for (id, email) in ids {
                insert.execute(params![edition, id, email, message_id(id), now.timestamp()])?;
            }
        }
        tx.commit()?;
        Ok(n == 1)
    }

    /// Rows to attempt now: those in flight at a crash first, then queued ones in
    /// subscriber order, then deferred ones whose time has come.
    pub fn due_deliveries(
        &self,
        edition: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<JournalRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT j.subscriber_id, j.email, COALESCE(s.name, ''), s.language, j.state, j.attempts,
                    j.message_id
             FROM send_journal j LEFT JOIN subscribers s ON s.id = j.subscriber_id
             WHERE j.edition = ?1
               AND (j.state IN ('queued', 'pending') OR (j.state = 'deferred' AND j.next_try <= ?2))
             ORDER BY CASE j.state WHEN 'pending' THEN 0 WHEN 'queued' THEN 1 ELSE 2 END,
                      j.subscriber_id",
        )?;
        let rows = stmt.query_map(params![edition, now.timestamp()], |r| {
            Ok(JournalRow {
                subscriber_id: r.get(0)?,
                email: r.get(1)?,
                name: r.get(2)?,
                language: r
                    .get::<_, Option<String>>(3)?
                    .as_deref()
                    .and_then(Lang::from_code),
                state: DeliveryState::parse(&r.get::<_, String>(4)?),
                attempts: r.get(5)?,
                message_id: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When the earliest deferred row of `edition` is due.
    pub fn next_deferred(&self, edition: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let t: Option<i64> = self.conn.query_row(
            "SELECT MIN(next_try) FROM send_journal WHERE edition = ?1 AND state = 'deferred'",
            params![edition],
            |r| r.get(0),
        )?;
        Ok(from_ts(t))
    }

    fn set_state(
        &self,
        edition: &str,
        id: i64,
        state: &str,
        next_try: Option<DateTime<Utc>>,
        reply: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE send_journal SET state = ?3, next_try = ?4, last_reply = COALESCE(?5, last_reply),
                    updated = ?6
             WHERE edition = ?1 AND subscriber_id = ?2",
            params![
                edition,
                id,
                state,
                next_try.map(|t| t.timestamp()),
                reply,
                now.timestamp()
            ],
        )?;
        Ok(())
    }

    /// Records an attempt as started. Committed before the SMTP transaction begins.
    pub fn mark_pending(
        &self,
        edition: &str,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE send_journal SET state = 'pending', attempts = attempts + 1, updated = ?3
             WHERE edition = ?1 AND subscriber_id = ?2",
            params![edition, id, now.timestamp()],
        )?;
        Ok(())
    }

    /// The server answered 250 to the end of DATA.
    pub fn mark_sent(
        &self,
        edition: &str,
        id: i64,
        reply: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.set_state(edition, id, "sent", None, Some(reply), now)
    }

    /// A 4xx (or a broken connection): try again at `next_try`.
    pub fn mark_deferred(
        &self,
        edition: &str,
        id: i64,
        next_try: DateTime<Utc>,
        reply: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.set_state(edition, id, "deferred", Some(next_try), Some(reply), now)
    }

    /// Undoes an attempt that never reached the recipient's stage (the server refused the
    /// sender or the connection): the row is queued again and the attempt not counted.
    pub fn mark_requeued(
        &self,
        edition: &str,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE send_journal SET state = 'queued', attempts = MAX(attempts - 1, 0), updated = ?3
             WHERE edition = ?1 AND subscriber_id = ?2",
            params![edition, id, now.timestamp()],
        )?;
        Ok(())
    }

    /// Gives up on a row; with `bounce`, the address is suppressed in the same transaction.
    pub fn mark_failed(
        &mut self,
        edition: &str,
        id: i64,
        email: &str,
        reply: &str,
        bounce: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.write_tx()?;
        tx.execute(
            "UPDATE send_journal SET state = 'failed', next_try = NULL, last_reply = ?3, updated = ?4
             WHERE edition = ?1 AND subscriber_id = ?2",
            params![edition, id, reply, now.timestamp()],
        )?;
        if bounce {
            insert_suppression(&tx, email, SuppressionReason::Bounced, reply, now)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The address was suppressed after the audience was taken.
    pub fn mark_skipped(
        &self,
        edition: &str,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.set_state(edition, id, "skipped", None, None, now)
    }

    /// Journal totals for `edition`.
    pub fn journal_counts(&self, edition: &str) -> Result<JournalCounts, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT state, COUNT(*) FROM send_journal WHERE edition = ?1 GROUP BY state",
        )?;
        let rows = stmt.query_map(params![edition], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
        })?;
        let mut c = JournalCounts::default();
        for row in rows {
            let (state, n) = row?;
            match DeliveryState::parse(&state) {
                DeliveryState::Queued => c.queued = n,
                DeliveryState::Pending => c.pending = n,
                DeliveryState::Sent => c.sent = n,
                DeliveryState::Deferred => c.deferred = n,
                DeliveryState::Failed => c.failed = n,
                DeliveryState::Skipped => c.skipped = n,
            }
        }
        Ok(c)
    }

    /// Marks `edition` finished if no row needs another attempt; returns whether it is.
    pub fn finish_edition_if_done(
        &self,
        edition: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if self.journal_counts(edition)?.open() > 0 {
            return Ok(false);
        }
        self.conn.execute(
            "UPDATE editions_sent SET finished = COALESCE(finished, ?2) WHERE edition = ?1",
            params![edition, now.timestamp()],
        )?;
        Ok(true)
    }

    /// Makes every commit durable on disk before it returns (`synchronous = FULL`): the
    /// journal's promise must hold across a power cut, not only a crash.
    pub fn durable_commits(&self) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(())
    }
}

/// Suppresses `email` unless it (under its [`address_key`]) already is: the first reason
/// stays. True if it was added.
fn insert_suppression(
    conn: &Connection,
    email: &str,
    reason: SuppressionReason,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<bool, rusqlite::Error> {
    let n = conn.execute(
        "INSERT INTO suppressions (email, key, reason, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT DO NOTHING",
        params![
            email,
            address_key(email),
            reason.as_str(),
            detail,
            now.timestamp()
        ],
    )?;
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    #[test]
    fn every_spelling_of_an_address_has_one_key() {
        let key = address_key("josé@ejemplo.org");
        for same in [
            "JOSÉ@ejemplo.org",
            "José@Ejemplo.ORG",
            // Decomposed (e + combining acute), as some Mac exports write it.
            "Jose\u{301}@EJEMPLO.org",
            " josé@ejemplo.org ",
        ] {
            assert_eq!(address_key(same), key, "{same}");
        }
        assert_eq!(
            address_key("Ana@Correo-Ñandú.MX"),
            address_key("ana@xn--correo-and-z9a5i.mx")
        );
        assert_ne!(address_key("jose@ejemplo.org"), key, "accents are kept");
        assert_ne!(address_key("josé@ejemplo.com"), key);
    }

    #[test]
    fn an_unsubscribed_address_stays_out_in_any_spelling() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut store = Store::open(&dir.path().join("b.db")).unwrap_or_else(|e| panic!("{e}"));
        let now = Utc
            .with_ymd_and_hms(2026, 11, 20, 9, 0, 0)
            .single()
            .unwrap_or_default();
        let row = |email: &str| NewSubscriber {
            email: email.into(),
            name: "José Pérez".into(),
            language: Lang::Es,
        };
        let added = store
            .import_subscribers(&[row("JOSÉ@ejemplo.org")], now)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(added, [AddOutcome::Added]);
        assert_eq!(
            store
                .import_subscribers(&[row("josé@Ejemplo.org")], now)
                .unwrap_or_else(|e| panic!("{e}")),
            [AddOutcome::Existing]
        );
        assert!(
            store
                .suppress("José@ejemplo.org", SuppressionReason::Unsubscribed, "", now)
                .unwrap_or_else(|e| panic!("{e}"))
        );
        assert!(
            !store
                .suppress("josé@EJEMPLO.ORG", SuppressionReason::Bounced, "", now)
                .unwrap_or_else(|e| panic!("{e}")),
            "already suppressed under another spelling"
        );
        assert_eq!(
            store
                .import_subscribers(&[row("jose\u{301}@ejemplo.org")], now)
                .unwrap_or_else(|e| panic!("{e}")),
            [AddOutcome::Suppressed(SuppressionReason::Unsubscribed)]
        );
        let counts = store.subscriber_counts().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((counts.active, counts.unsubscribed), (0, 1));
        assert!(
            store
                .is_suppressed("josé@ejemplo.org")
                .unwrap_or_else(|e| panic!("{e}"))
        );
        let found = store
            .subscriber_by_email("josé@ejemplo.org")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            found.map(|s| (s.email, s.suppressed)),
            Some((
                "JOSÉ@ejemplo.org".to_string(),
                Some(SuppressionReason::Unsubscribed)
            ))
        );
    }

    #[test]
    fn activation_brings_back_the_unsubscribed_and_keeps_bounces_out() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut store = Store::open(&dir.path().join("b.db")).unwrap_or_else(|e| panic!("{e}"));
        let t = |h: u32| {
            Utc.with_ymd_and_hms(2026, 11, 20, h, 0, 0)
                .single()
                .unwrap_or_default()
        };
        let signup = |email, asked| Activation {
            email,
            name: Some("Lucía Hernández"),
            language: Some(Lang::En),
            default_language: Lang::Es,
            consent: Consent::Signup { asked },
        };
        let editor = |email, force| Activation {
            email,
            name: None,
            language: None,
            default_language: Lang::Es,
            consent: Consent::Editor { force },
        };
        let mut activate =
            |a: &Activation<'_>, now| store.activate(a, now).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            activate(&signup("lucia@ejemplo.org", t(9)), t(10)),
            Activated::Added
        );
        assert_eq!(
            activate(&signup("LUCIA@ejemplo.org", t(9)), t(10)),
            Activated::AlreadyActive
        );
        assert_eq!(
            activate(&editor("pedro@ejemplo.org", false), t(10)),
            Activated::Added
        );
        store
            .suppress(
                "lucia@ejemplo.org",
                SuppressionReason::Unsubscribed,
                "",
                t(11),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .suppress(
                "rebota@ejemplo.org",
                SuppressionReason::Bounced,
                "550 5.1.1 unknown",
                t(11),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let mut activate =
            |a: &Activation<'_>, now| store.activate(a, now).unwrap_or_else(|e| panic!("{e}"));
        // A link sent before the unsubscribe does not undo it; a new signup does.
        assert_eq!(
            activate(&signup("lucia@ejemplo.org", t(9)), t(12)),
            Activated::UnsubscribedSince(t(11))
        );
        assert_eq!(
            activate(&signup("lucia@ejemplo.org", t(12)), t(13)),
            Activated::Returned(SuppressionReason::Unsubscribed)
        );
        for a in [
            signup("rebota@ejemplo.org", t(12)),
            editor("rebota@ejemplo.org", false),
        ] {
            assert_eq!(
                activate(&a, t(13)),
                Activated::Bounced {
                    at: t(11),
                    detail: "550 5.1.1 unknown".into()
                }
            );
        }
        assert_eq!(
            activate(&editor("rebota@ejemplo.org", true), t(14)),
            Activated::Returned(SuppressionReason::Bounced)
        );
        let subs = store.subscribers().unwrap_or_else(|e| panic!("{e}"));
        let seen: Vec<_> = subs
            .iter()
            .map(|s| {
                (
                    s.email.as_str(),
                    s.language,
                    s.origin,
                    s.confirmed,
                    s.suppressed,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (
                    "lucia@ejemplo.org",
                    Lang::En,
                    Origin::Signup,
                    Some(t(13)),
                    None
                ),
                ("pedro@ejemplo.org", Lang::Es, Origin::Editor, None, None),
                ("rebota@ejemplo.org", Lang::Es, Origin::Editor, None, None),
            ]
        );
        assert_eq!(subs[0].name, "Lucía Hernández");
    }
}
