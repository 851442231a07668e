//! Delivers an edition to its subscribers exactly once, crashes included.
//!
//! The promise rests on the send journal in the store (see `store/delivery.rs`): the
//! audience is written in one transaction when an edition's first `send` starts; each
//! message's row is committed `pending` (with `synchronous = FULL`) *before* its SMTP
//! transaction begins and `sent` right after the server's 250. A later run sends every
//! row not yet `sent`/`failed`/`skipped`, `pending` ones first. So after a crash or
//! `kill -9` at any moment nobody is skipped, and the only message that can arrive twice
//! is one whose 250 the server sent but the journal never recorded: at most one per SMTP
//! connection (`[delivery] connections`, default 1). Retried messages keep their
//! Message-ID, so a mail client that sees both can tell they are the same message.
//!
//! Stages: [`outgoing::load`] renders once per language → a [`Mailing`] personalizes the
//! unsubscribe link and builds each message ([`message`]) → [`smtp`] carries it → each
//! journal row ends its attempt with a [`RowOutcome`].

pub mod subscribers;
pub mod token;

pub mod confirm;
pub mod message;
pub mod outgoing;
pub mod rate;
pub mod smtp;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::Serialize;

pub use message::Mailing;
pub use outgoing::{EditionVersion, OutgoingEdition, UNSUBSCRIBE_PLACEHOLDER};
pub use smtp::SmtpTarget;

use crate::store::{DeliveryState, JournalCounts, JournalRow, Store, StoreError};

/// Why sending could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// The edition file is missing, malformed, names what does not exist, or does not
    /// render.
    #[error(transparent)]
    Edition(#[from] crate::publish::RenderError),
    /// A message could not be built (bad address, bad header).
    #[error("cannot build message: {0}")]
    Message(String),
    /// The DKIM key is unreadable or unusable.
    #[error("DKIM key {path}: {message}")]
    Dkim {
        /// Path of `[delivery.dkim] key_file`, as opened.
        path: String,
        /// Why it failed: the I/O error, or what form the key must take.
        message: String,
    },
    /// The SMTP server cannot be reached, refused TLS or the login.
    #[error("SMTP: {0}")]
    Smtp(String),
    /// The server refused the sender address itself; no recipient is at fault.
    #[error(
        "the SMTP server refused the sender ({0}); check [newsletter] from and the account's sending rights"
    )]
    SenderRefused(String),
    /// Delivery needs a setting that is missing.
    #[error("{0}")]
    Setup(String),
    /// The journal could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Limits for one `send` run.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// Attempts at most in this run.
    pub limit: Option<usize>,
    /// Messages per minute at most.
    pub per_minute: Option<f64>,
    /// SMTP connections at once, 1 to 32 (`config` checks `[delivery] connections`).
    pub connections: usize,
    /// First retry delay after a 4xx; each further one waits four times longer, up to 6 h.
    pub retry_base: Duration,
    /// Attempts per message, counting the first, before a deferred one is marked failed.
    pub max_attempts: u32,
    /// Wait this long at most for deferred retries before leaving them to the next run.
    pub max_wait: Duration,
}

/// How one attempt at one journal row ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOutcome {
    /// The server took the message (250).
    Sent,
    /// A 4xx or a broken connection: retried later.
    Deferred,
    /// A 5xx for the recipient: the address is suppressed as bounced.
    Bounced,
    /// Given up (too many 4xx, or an address SMTP cannot carry).
    Failed,
    /// Unsubscribed or bounced after the audience was taken.
    Skipped,
}

impl RowOutcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RowOutcome::Sent => "sent",
            RowOutcome::Deferred => "deferred",
            RowOutcome::Bounced => "bounced",
            RowOutcome::Failed => "failed",
            RowOutcome::Skipped => "skipped",
        }
    }
}

impl std::fmt::Display for RowOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finished attempt, for a progress bar.
#[derive(Debug, Clone)]
pub struct Progress<'a> {
    /// The recipient's address as stored.
    pub email: &'a str,
    /// How the attempt ended.
    pub outcome: RowOutcome,
    /// The server's reply or the error behind a deferral or failure; `None` when sent or
    /// skipped.
    pub detail: Option<&'a str>,
}

/// What one `send` run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SendReport {
    /// The edition's id (its `week` slug, e.g. `2026-W47`), the journal key.
    pub edition: String,
    /// This run took the audience (the edition's first run).
    pub started_now: bool,
    /// The edition had been sent completely before this run; nothing was done.
    pub already_finished: bool,
    /// Messages found in flight (pending) from a run that crashed; resent first.
    pub recovered_in_flight: u64,
    /// SMTP transactions begun in this run (rows marked pending), retries included.
    pub attempts: u64,
    /// Messages the server accepted (250) in this run.
    pub sent: u64,
    /// 4xx replies or broken connections in this run, retried later (this run or the next).
    pub deferred: u64,
    /// 5xx: address suppressed as bounced.
    pub bounced: u64,
    /// Given up after too many 4xx, an address SMTP cannot carry, or one the server
    /// lacks SMTPUTF8 for.
    pub failed: u64,
    /// Of `failed`: non-ASCII addresses our server cannot carry (no SMTPUTF8); kept, not
    /// suppressed.
    pub needs_smtputf8: u64,
    /// Unsubscribed or bounced after the audience was taken.
    pub skipped: u64,
    /// Messages sent per language in this run.
    pub by_language: BTreeMap<&'static str, u64>,
    /// The journal after this run.
    pub journal: JournalCounts,
    /// Every row is sent, failed or skipped.
    pub finished: bool,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
}

impl SendReport {
    /// Counts one attempt's outcome.
    fn record(&mut self, outcome: RowOutcome) {
        let counter = match outcome {
            RowOutcome::Sent => &mut self.sent,
            RowOutcome::Deferred => &mut self.deferred,
            RowOutcome::Bounced => &mut self.bounced,
            RowOutcome::Failed => &mut self.failed,
            RowOutcome::Skipped => &mut self.skipped,
        };
        *counter += 1;
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        if self.already_finished {
            return format!(
                "{}: already sent to everyone ({} sent, {} failed, {} skipped); nothing to do",
                self.edition, self.journal.sent, self.journal.failed, self.journal.skipped
            );
        }
        let mut line = format!(
            "{}: {} sent, {} deferred, {} bounced, {} failed, {} skipped this run",
            self.edition, self.sent, self.deferred, self.bounced, self.failed, self.skipped
        );
        if self.needs_smtputf8 > 0 {
            line.push_str(&format!(
                " ({} failed because the SMTP server lacks SMTPUTF8 for non-ASCII addresses; those addresses are kept, not suppressed)",
                self.needs_smtputf8
            ));
        }
        if self.recovered_in_flight > 0 {
            line.push_str(&format!(
                " ({} in flight at an earlier crash resent)",
                self.recovered_in_flight
            ));
        }
        line.push_str(&format!(
            "; edition: {} of {} sent",
            self.journal.sent,
            self.journal.total()
        ));
        if self.finished {
            line.push_str(", finished");
        } else {
            line.push_str(&format!(
                ", {} still to send (run `boletin send` again)",
                self.journal.open()
            ));
        }
        line
    }
}

/// Spaces message starts `interval` apart across all connections.
struct Pacer {
    interval: Option<Duration>,
    next: Mutex<Instant>,
}

impl Pacer {
    fn new(per_minute: Option<f64>) -> Pacer {
        Pacer {
            interval: per_minute.map(|r| {
                Duration::try_from_secs_f64(60.0 / r).unwrap_or(Duration::from_secs(3600))
            }),
            next: Mutex::new(Instant::now()),
        }
    }

    fn wait(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + interval;
            slot
        };
        let now = Instant::now();
        if slot > now {
            std::thread::sleep(slot - now);
        }
    }
}

/// The delay before retry number `attempts` (1-based): base, 4×base, 16×base…, at most 6 h.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    let factor = 4u32.saturating_pow(attempts.saturating_sub(1).min(10));
    base.saturating_mul(factor)
        .min(Duration::from_secs(6 * 3600))
}

/// What the workers of one run share.
struct Shared<'s, 'e> {
    mailing: &'s Mailing<'e>,
    target: &'s SmtpTarget,
    opts: &'s SendOptions,
    pacer: Pacer,
    progress: &'s (dyn Fn(&Progress<'_>) + Sync),
    store: Mutex<&'s mut Store>,
    jobs: Mutex<VecDeque<JournalRow>>,
    report: Mutex<SendReport>,
    stop: Mutex<Option<DeliverError>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking worker cannot leave these half-updated in a way that matters: the
    // journal is the source of truth.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sends `mailing.edition` to everyone in its journal who has not had it yet.
pub fn send(
    store: &mut Store,
    mailing: &Mailing<'_>,
    target: &SmtpTarget,
    opts: &SendOptions,
    progress: &(dyn Fn(&Progress<'_>) + Sync),
) -> Result<SendReport, DeliverError> {
    let id = mailing.edition.id.clone();
    let subject = mailing
        .edition
        .by_lang
        .first()
        .map(|v| v.subject.clone())
        .unwrap_or_default();
    store.durable_commits()?;
    if store.edition_send(&id)?.is_none() && store.subscriber_counts()?.active == 0 {
        // Taking an empty audience would mark the edition finished for good.
        return Err(DeliverError::Setup(
            "no active subscribers: add some with `boletin subscribers import FILE.csv`".into(),
        ));
    }
    let mut report = SendReport {
        edition: id.clone(),
        ..SendReport::default()
    };
    report.started_now =
        store.start_edition(&id, &subject, &|s| mailing.message_id(s), Utc::now())?;
    let before = store.journal_counts(&id)?;
    if before.open() == 0 {
        report.already_finished = !report.started_now;
        report.finished = store.finish_edition_if_done(&id, Utc::now())?;
        report.journal = before;
        return Ok(report);
    }
    report.recovered_in_flight = before.pending;

    let mut budget = opts.limit.unwrap_or(usize::MAX);
    let shared = Shared {
        mailing,
        target,
        opts,
        pacer: Pacer::new(opts.per_minute),
        progress,
        store: Mutex::new(store),
        jobs: Mutex::new(VecDeque::new()),
        report: Mutex::new(report),
        stop: Mutex::new(None),
    };
    loop {
        let due = lock(&shared.store).due_deliveries(&id, Utc::now())?;
        if due.is_empty() {
            let next = lock(&shared.store).next_deferred(&id)?;
            match next {
                Some(t) if budget > 0 => {
                    let wait = (t - Utc::now()).to_std().unwrap_or_default();
                    if wait > opts.max_wait {
                        break;
                    }
                    std::thread::sleep(wait + Duration::from_millis(50));
                    continue;
                }
                _ => break,
            }
        }
        if budget == 0 {
            break;
        }
        let take = due.len().min(budget);
        budget -= take;
        *lock(&shared.jobs) = due.into_iter().take(take).collect();
        let workers = opts.connections.min(take);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| worker(&shared));
            }
        });
        if lock(&shared.stop).is_some() {
            break;
        }
    }
    let stop = shared.stop.into_inner().unwrap_or_else(|p| p.into_inner());
    let store = shared.store.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut report = shared
        .report
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(DeliverError::Store(e)) = stop {
        return Err(DeliverError::Store(e));
    }
    report.stopped = stop.map(|e| e.to_string());
    report.finished = store.finish_edition_if_done(&id, Utc::now())?;
    report.journal = store.journal_counts(&id)?;
    Ok(report)
}

fn worker(shared: &Shared<'_, '_>) {
    let stop = |e: DeliverError| {
        let mut s = lock(&shared.stop);
        if s.is_none() {
            *s = Some(e);
        }
    };
    let mut session: Option<smtp::Session> = None;
    let mut broken_in_row = 0;
    loop {
        if lock(&shared.stop).is_some() {
            break;
        }
        let Some(job) = lock(&shared.jobs).pop_front() else {
            break;
        };
        let result = attempt(shared, &mut session, &job);
        let done = match result {
            Ok(v) => v,
            Err(e) => {
                stop(e);
                break;
            }
        };
        if done.broken {
            broken_in_row += 1;
            if broken_in_row >= 3 {
                stop(DeliverError::Smtp(format!(
                    "the connection to {}:{} broke {broken_in_row} times in a row: {}",
                    shared.target.host,
                    shared.target.port,
                    done.detail.as_deref().unwrap_or("")
                )));
            }
        } else {
            broken_in_row = 0;
        }
        (shared.progress)(&Progress {
            email: &job.email,
            outcome: done.outcome,
            detail: done.detail.as_deref(),
        });
    }
    if let Some(s) = session {
        s.quit();
    }
}

/// What one attempt at one row did.
struct Attempted {
    outcome: RowOutcome,
    /// The connection broke during it.
    broken: bool,
    detail: Option<String>,
}

/// One attempt at one row; returns what happened, or an error that stops the run.
fn attempt(
    shared: &Shared<'_, '_>,
    session: &mut Option<smtp::Session>,
    job: &JournalRow,
) -> Result<Attempted, DeliverError> {
    let (mailing, target, opts) = (shared.mailing, shared.target, shared.opts);
    let id = &mailing.edition.id;
    let ended = |outcome: RowOutcome, broken: bool, detail: Option<String>| {
        lock(&shared.report).record(outcome);
        Ok(Attempted {
            outcome,
            broken,
            detail,
        })
    };
    {
        let store = lock(&shared.store);
        if store.is_suppressed(&job.email)? {
            store.mark_skipped(id, job.subscriber_id, Utc::now())?;
            drop(store);
            return ended(RowOutcome::Skipped, false, None);
        }
    }
    let (to, lang, bytes) = match mailing.row_message(job) {
        Ok(v) => v,
        Err(e) => {
            // Only this recipient is unusable (an address the store kept but SMTP cannot
            // carry); the others go on.
            let text = e.to_string();
            lock(&shared.store).mark_failed(
                id,
                job.subscriber_id,
                &job.email,
                &text,
                false,
                Utc::now(),
            )?;
            return ended(RowOutcome::Failed, false, Some(text));
        }
    };
    if session.as_ref().is_none_or(|s| !s.usable()) {
        match target.connect() {
            Ok(s) => *session = Some(s),
            // The run stops; the row stays queued in the journal for the next one.
            Err(e) => return Err(e),
        }
    }
    let Some(conn) = session.as_mut() else {
        return Err(DeliverError::Smtp("no connection".into()));
    };
    shared.pacer.wait();
    // The promise: the row is durably `pending` before the server sees a byte of it.
    lock(&shared.store).mark_pending(id, job.subscriber_id, Utc::now())?;
    lock(&shared.report).attempts += 1;
    let outcome = conn.send(mailing.sender(), &to, &bytes);
    let now = Utc::now();
    let attempts = job.attempts + 1;
    let mut store = lock(&shared.store);
    match outcome {
        smtp::Outcome::Sent(reply) => {
            store.mark_sent(id, job.subscriber_id, &reply, now)?;
            drop(store);
            *lock(&shared.report)
                .by_language
                .entry(lang.code())
                .or_default() += 1;
            ended(RowOutcome::Sent, false, None)
        }
        smtp::Outcome::Deferred(reply) | smtp::Outcome::Broken(reply) => {
            let broken = !session.as_ref().is_some_and(smtp::Session::usable);
            if broken {
                *session = None;
            }
            if attempts >= opts.max_attempts {
                let text = format!("gave up after {attempts} attempts: {reply}");
                store.mark_failed(id, job.subscriber_id, &job.email, &text, false, now)?;
                drop(store);
                return ended(RowOutcome::Failed, false, Some(text));
            }
            let next = now
                + chrono::Duration::from_std(backoff(opts.retry_base, attempts))
                    .unwrap_or_else(|_| chrono::Duration::hours(6));
            store.mark_deferred(id, job.subscriber_id, next, &reply, now)?;
            drop(store);
            ended(RowOutcome::Deferred, broken, Some(reply))
        }
        // Our server cannot carry this address; the mailbox refused nothing, so it stays.
        smtp::Outcome::Unsupported(reply) => {
            store.mark_failed(id, job.subscriber_id, &job.email, &reply, false, now)?;
            drop(store);
            lock(&shared.report).needs_smtputf8 += 1;
            ended(RowOutcome::Failed, false, Some(reply))
        }
        smtp::Outcome::Rejected(reply) => {
            store.mark_failed(id, job.subscriber_id, &job.email, &reply, true, now)?;
            drop(store);
            ended(RowOutcome::Bounced, false, Some(reply))
        }
        smtp::Outcome::SenderRefused(reply) => {
            store.mark_requeued(id, job.subscriber_id, now)?;
            drop(store);
            let mut report = lock(&shared.report);
            report.attempts = report.attempts.saturating_sub(1);
            Err(DeliverError::SenderRefused(reply))
        }
    }
}

/// What `send --dry-run` would do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DryRunReport {
    /// The edition's id (its `week` slug, e.g. `2026-W47`).
    pub edition: String,
    /// Messages that would be sent now, per language.
    pub by_language: BTreeMap<&'static str, u64>,
    /// Messages that would be sent now, all languages together.
    pub would_send: u64,
    /// Already sent (when the edition was started before).
    pub already_sent: u64,
    /// Subscribers not mailed because they unsubscribed or bounced.
    pub suppressed: u64,
    /// The edition has been sent to everyone.
    pub already_finished: bool,
    /// The subject line of each language version, by language code (`es`, `en`).
    pub subjects: BTreeMap<&'static str, String>,
}

/// Renders and builds every message that `send` would send now, and touches nothing.
pub fn dry_run(store: &Store, mailing: &Mailing<'_>) -> Result<DryRunReport, DeliverError> {
    let id = &mailing.edition.id;
    let mut report = DryRunReport {
        edition: id.clone(),
        subjects: mailing
            .edition
            .by_lang
            .iter()
            .map(|v| (v.lang.code(), v.subject.clone()))
            .collect(),
        ..DryRunReport::default()
    };
    let rows: Vec<JournalRow> = if store.edition_send(id)?.is_some() {
        let counts = store.journal_counts(id)?;
        report.already_sent = counts.sent;
        report.already_finished = counts.open() == 0;
        // Deferred rows count whenever they are due; a dry run does not wait.
        store.due_deliveries(id, Utc::now() + chrono::Duration::days(3650))?
    } else {
        let subs = store.subscribers()?;
        report.suppressed = subs.iter().filter(|s| s.suppressed.is_some()).count() as u64;
        subs.into_iter()
            .filter(|s| s.suppressed.is_none())
            .map(|s| JournalRow {
                message_id: mailing.message_id(s.id),
                subscriber_id: s.id,
                email: s.email,
                name: s.name,
                language: Some(s.language),
                state: DeliveryState::Queued,
                attempts: 0,
            })
            .collect()
    };
    // Every message is built (so a bad address or template shows up) but not signed.
    let mailing = &Mailing {
        dkim: None,
        ..mailing.clone()
    };
    for row in &rows {
        let (_, lang, _) = mailing.row_message(row)?;
        *report.by_language.entry(lang.code()).or_default() += 1;
        report.would_send += 1;
    }
    Ok(report)
}

/// Sends every language version to each test address, its subject marked as a test and
/// its unsubscribe link a test's (which changes nothing); the journal is not touched.
pub fn send_test(
    mailing: &Mailing<'_>,
    target: &SmtpTarget,
    addresses: &[String],
) -> Result<Vec<(String, &'static str, smtp::Outcome)>, DeliverError> {
    let edition = mailing.edition.marked_as_test();
    let mailing = &Mailing {
        edition: &edition,
        ..mailing.clone()
    };
    let mut session = target.connect()?;
    let mut out = Vec::new();
    let stamp = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    for addr in addresses {
        let to = message::recipient(addr, "")?;
        for v in &mailing.edition.by_lang {
            let tag = mailing.secret.derive_hex(
                "test-message-id",
                &format!("{stamp}/{addr}/{}", v.lang.code()),
                12,
            );
            let message_id = format!(
                "test.{tag}.{}@{}",
                mailing.edition.id,
                mailing.sender().domain()
            );
            let link = mailing.test_unsubscribe_link(v.lang);
            let (_, bytes) =
                mailing.message_with_link(to.clone(), Some(v.lang), link, &message_id)?;
            if !session.usable() {
                session = target.connect()?;
            }
            let outcome = session.send(mailing.sender(), &to.email, &bytes);
            if let smtp::Outcome::SenderRefused(r) = &outcome {
                return Err(DeliverError::SenderRefused(r.clone()));
            }
            out.push((addr.clone(), v.lang.code(), outcome));
        }
    }
    session.quit();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_fourfold_and_is_capped() {
        let base = Duration::from_secs(60);
        assert_eq!(backoff(base, 1), Duration::from_secs(60));
        assert_eq!(backoff(base, 2), Duration::from_secs(240));
        assert_eq!(backoff(base, 3), Duration::from_secs(960));
        assert_eq!(backoff(base, 30), Duration::from_secs(6 * 3600));
    }
}
