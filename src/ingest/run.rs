//! The fetch run: every due source fetched concurrently (the tokio fan-out), read by its
//! kind (and its items annotated, when the run has an annotator), and written to the store
//! by one writer, a source at a time, several sources a transaction; and `inspect`, the same
//! fetch and read for one source without the store.
//!
//! The I/O of ingest and nothing else: how a document is read is [`kind`]'s, what an outcome
//! makes of a source's state is [`state`]'s, when and in what order sources are asked is
//! [`schedule`]'s. Hands on a [`RunReport`]; annotation then finishes over the store (what
//! the run did not annotate, and stories).

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use tokio::sync::{OwnedSemaphorePermit, mpsc};

use crate::annotate::Annotator;
use crate::config::{Config, Settings, Source};
use crate::ingest::fetch::{self, FetchError, Fetcher, Validators};
use crate::ingest::inspect::{self, View};
use crate::ingest::kind::{self, LocalBase, SourceError};
use crate::ingest::report::{RunReport, SourceReport, Status};
use crate::ingest::state::{self, Outcome};
use crate::ingest::{follow, schedule};
use crate::store::{FetchBatch, SourceState, Store, StoreError};

/// A write transaction of the fetch is committed once it holds this many items (their
/// search entries wait in memory until then)…
const BATCH_ITEMS: usize = 8192;
/// …or has held the write lock this long: an editor's command waiting for it gives up
/// after the store's busy timeout.
const BATCH_HOLD: std::time::Duration = std::time::Duration::from_secs(2);

/// Why a whole run (not one source) failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store failed; the run stops so nothing is half-written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client could not be built.
    #[error("cannot start the HTTP client: {0}")]
    Client(#[from] FetchError),
}

/// Options of one fetch run.
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// Ignore backoff, hints and gone marks.
    pub force: bool,
    /// Only these source ids (all when empty).
    pub only: Vec<String>,
    /// Set from a signal handler: start no more requests.
    pub cancel: Arc<AtomicBool>,
    /// A pinned clock (`fetch --now`): every due check, backoff and hint is counted from it,
    /// so tests can let hours pass without sleeping.
    pub now: Option<DateTime<Utc>>,
    /// Annotates items as they are read (on the cores parsing them, from the text and
    /// tree reading made) and stores them annotated; without one, annotation reads them
    /// back from the store afterwards.
    pub annotator: Option<Arc<Annotator>>,
}

impl FetchOptions {
    fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }
}

/// What the concurrent part hands to the writer for one source.
struct Done {
    index: usize,
    /// `None`: the run was interrupted before the source's turn.
    outcome: Option<Outcome>,
    ms: u64,
    /// Held until the outcome is stored: bounds how many fetched documents (bodies and
    /// parsed items) wait in memory when the writer is slower than the network.
    _gate: Option<OwnedSemaphorePermit>,
}

/// What `boletin inspect` shows: one source fetched (or read) and read exactly as `fetch`
/// would, item pages followed too, without the store. A local file without `site` has its
/// links resolved against the home page it names.
pub async fn inspect(settings: &Settings, source: &Source) -> Result<View, SourceError> {
    let fetcher = Fetcher::new(settings)?;
    let response = fetcher
        .get(&source.url, &source.url, source.kind.reader().accept())
        .await?;
    let document = follow::read_and_follow(&fetcher, source, &response, LocalBase::Home).await?;
    Ok(inspect::view(source, document))
}

/// Everything one source's task needs.
struct Job {
    fetcher: Arc<Fetcher>,
    annotator: Option<Arc<Annotator>>,
    source: Arc<Source>,
    url: url::Url,
    prior: Validators,
    prior_hash: Option<String>,
    cancel: Arc<AtomicBool>,
    now: DateTime<Utc>,
    gate: Arc<tokio::sync::Semaphore>,
}

/// Waits for the source's turn, then fetches and reads it. Thousands of these wait at
/// once, so the waiting future is kept small: the request and parsing futures (kilobytes
/// each) are boxed and allocated only when the turn comes.
async fn fetch_one(job: Job) -> (Option<Outcome>, u64, Option<OwnedSemaphorePermit>) {
    let slot = job.fetcher.slot(&job.url, &job.gate).await;
    if job.cancel.load(Ordering::SeqCst) {
        return (None, 0, None);
    }
    let (outcome, ms, gate) = Box::pin(fetch_and_read(job, slot)).await;
    (Some(outcome), ms, gate)
}

async fn fetch_and_read(
    job: Job,
    slot: fetch::Slot,
) -> (Outcome, u64, Option<OwnedSemaphorePermit>) {
    let Job {
        fetcher,
        annotator,
        source,
        url,
        prior,
        prior_hash,
        now,
        ..
    } = job;
    let started = Instant::now();
    let fetched = fetcher
        .fetch(
            &url,
            &source.url,
            &prior,
            source.kind.reader().accept(),
            now,
        )
        .await;
    // `BOLETIN_LOG=debug boletin fetch` shows every request.
    match &fetched {
        Ok(r) => tracing::debug!(
            source = %source.id, %url, status = r.status.as_u16(), ms = started.elapsed().as_millis() as u64,
            bytes = r.body.as_ref().map_or(0, Vec::len), "fetched"
        ),
        Err(e) => tracing::debug!(source = %source.id, %url, error = %e, "fetch failed"),
    }
    // Reading is CPU work: the host and global slots go to the next request meanwhile.
    let gate = slot.into_gate();
    let outcome = match fetched {
        Err(e) => {
            let status = e.http_status();
            Outcome::Failed(e.into(), status)
        }
        Ok(response) => match response.body.as_deref() {
            None => Outcome::NotModified(response),
            Some(body) => {
                let hash = state::body_hash(body);
                let bytes = body.len() as u64;
                if prior_hash.as_deref() == Some(hash.as_str()) {
                    Outcome::SameBody(response)
                } else {
                    read(&fetcher, annotator, source, response, hash, bytes).await
                }
            }
        },
    };
    (outcome, started.elapsed().as_millis() as u64, gate)
}

/// Reads a new body into items. Kinds that follow item links fetch them here (the host slot
/// was given back: item pages queue for it too); the others are read on the blocking pool.
async fn read(
    fetcher: &Fetcher,
    annotator: Option<Arc<Annotator>>,
    source: Arc<Source>,
    response: fetch::Response,
    body_hash: String,
    bytes: u64,
) -> Outcome {
    let (response, read) = if source.kind.reader().follows() {
        let reading = follow::read_and_follow(fetcher, &source, &response, LocalBase::File);
        // A panic while reading one source fails that source, not the run.
        let read = match AssertUnwindSafe(reading).catch_unwind().await {
            Ok(read) => read.map(|document| document.into_items(&source, annotator.as_deref())),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let crashed = FetchError::Transport(format!("parser crashed: {message:?}"));
                return Outcome::Failed(crashed.into(), None);
            }
        };
        (response, read)
    } else {
        let joined = tokio::task::spawn_blocking(move || {
            let read = kind::read(&source, &response, LocalBase::File)
                .map(|document| document.into_items(&source, annotator.as_deref()));
            (response, read)
        })
        .await;
        match joined {
            Ok(done) => done,
            Err(join) => {
                let crashed = FetchError::Transport(format!("parser crashed: {join}"));
                return Outcome::Failed(crashed.into(), None);
            }
        }
    };
    match read {
        Ok((items, ttl_minutes)) => Outcome::Items {
            response,
            body_hash,
            items,
            ttl_minutes,
            bytes,
        },
        Err(e) => Outcome::Failed(e, Some(response.status)),
    }
}

/// Fetches every due source, stores what was found and reports on each source.
/// `on_source` is called as each source finishes (for progress display).
pub async fn fetch_sources(
    config: &Config,
    store: &mut Store,
    options: &FetchOptions,
    on_source: &mut dyn FnMut(&SourceReport),
) -> Result<RunReport, RunError> {
    let started = options.now();
    let clock = Instant::now();
    let states = store.source_states()?;
    let fetcher = Arc::new(Fetcher::new(&config.settings)?);
    let selected: Vec<(usize, &Source)> = config
        .sources
        .iter()
        .enumerate()
        .filter(|(_, s)| options.only.is_empty() || options.only.contains(&s.id))
        .collect();

    let mut reports: HashMap<usize, SourceReport> = HashMap::new();
    let mut due: Vec<usize> = Vec::with_capacity(selected.len());
    for &(index, source) in &selected {
        let state = state::current_state(&states, source);
        match state::not_due(source, state, options.now(), options.force) {
            Some(r) => {
                on_source(&r);
                reports.insert(index, r);
            }
            None => due.push(index),
        }
    }

    // Tasks are started lazily, a window at a time, hosts taken in turn: memory stays flat
    // however many sources there are, and no host's queue can fill the window while other
    // hosts have work.
    let mut pending = schedule::interleave_by_host(&config.sources, due);
    let window = config.settings.concurrency.saturating_mul(4).max(8);
    let (tx, mut rx) = mpsc::channel::<Done>(window);
    let mut tx = Some(tx);
    // Requests in flight plus a few documents parsing or waiting for the writer.
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let gate = Arc::new(tokio::sync::Semaphore::new(
        config.settings.concurrency.saturating_add(cores),
    ));
    let start = |index: usize, tx: &mpsc::Sender<Done>| {
        let source = &config.sources[index];
        let state = state::current_state(&states, source);
        let (prior, prior_hash) = state::conditional(state, options.force);
        let job = Job {
            fetcher: fetcher.clone(),
            annotator: options.annotator.clone(),
            source: Arc::new(source.clone()),
            url: state::effective_url(source, state),
            prior,
            prior_hash,
            cancel: options.cancel.clone(),
            now: options.now(),
            gate: gate.clone(),
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            let (outcome, ms, gate) = fetch_one(job).await;
            let _ = tx
                .send(Done {
                    index,
                    outcome,
                    ms,
                    _gate: gate,
                })
                .await;
        });
    };
    let mut start_more = |n: usize, tx: &mut Option<mpsc::Sender<Done>>| {
        for _ in 0..n {
            match (pending.pop_front(), tx.as_ref()) {
                (Some(index), Some(sender)) => start(index, sender),
                _ => break,
            }
        }
        if pending.is_empty() {
            // The last task holds the last sender: the loop below ends when it is done.
            *tx = None;
        }
    };
    start_more(window, &mut tx);

    let stamp = options.annotator.as_deref().map(Annotator::stamp);
    let mut annotated = 0;
    let mut failure: Option<StoreError> = None;
    // Several sources a transaction: their candidate keys and search entries go in
    // together, as annotation writes a page (a transaction per source rewrote most of the
    // key index each time). The transaction is open only while sources keep coming: it is
    // committed when it holds enough or has held the write lock long enough.
    let mut open = true;
    while open && failure.is_none() {
        let Some(first) = rx.recv().await else {
            break;
        };
        let mut batch = match store.fetch_batch(stamp) {
            Ok(batch) => batch,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        let mut next = Some(first);
        while let Some(done) = next.take() {
            if options.cancel.load(Ordering::SeqCst) {
                tx = None;
            } else {
                start_more(1, &mut tx);
            }
            let source = &config.sources[done.index];
            let report = match done.outcome {
                None => SourceReport::new(&source.id, source.url.as_str(), Status::Interrupted),
                Some(outcome) => {
                    let prior = state::current_state(&states, source);
                    match commit(&mut batch, source, prior, outcome, done.ms, options.now()) {
                        Ok(r) => r,
                        Err(e) => {
                            failure = Some(e);
                            break;
                        }
                    }
                }
            };
            on_source(&report);
            reports.insert(done.index, report);
            if batch.items() >= BATCH_ITEMS {
                break;
            }
            next = match tokio::time::timeout(BATCH_HOLD.saturating_sub(batch.held()), rx.recv())
                .await
            {
                Ok(Some(done)) => Some(done),
                Ok(None) => {
                    open = false;
                    None
                }
                // Nothing came in time: the batch is committed and the lock let go.
                Err(_) => None,
            };
        }
        if failure.is_some() {
            // Rolled back: the batch's sources are fetched again by the next run.
            break;
        }
        annotated += batch.annotated();
        if let Err(e) = batch.commit() {
            failure = Some(e);
            break;
        }
        // A process waiting for the write lock (an editor's command) takes it now.
        tokio::time::sleep(crate::store::MAKE_WAY).await;
    }
    if failure.is_some() {
        // Start nothing more; what was committed stays committed. The tasks in flight end.
        options.cancel.store(true, Ordering::SeqCst);
        drop(tx.take());
        while rx.recv().await.is_some() {}
    }
    // Never started because the run was interrupted.
    for index in pending {
        let source = &config.sources[index];
        let r = SourceReport::new(&source.id, source.url.as_str(), Status::Interrupted);
        on_source(&r);
        reports.insert(index, r);
    }
    if let Some(e) = failure {
        return Err(e.into());
    }

    let mut sources: Vec<SourceReport> = Vec::with_capacity(reports.len());
    for (index, _) in selected {
        if let Some(r) = reports.remove(&index) {
            sources.push(r);
        }
    }
    Ok(RunReport {
        started,
        ms: clock.elapsed().as_millis() as u64,
        interrupted: options.cancel.load(Ordering::SeqCst),
        sources,
        annotated,
    })
}

/// Writes the state [`state::next`] gives `source` after `outcome`, with its items, into
/// `batch`; the store's counts complete the report.
fn commit(
    batch: &mut FetchBatch<'_>,
    source: &Source,
    prior: Option<&SourceState>,
    mut outcome: Outcome,
    ms: u64,
    now: DateTime<Utc>,
) -> Result<SourceReport, StoreError> {
    let (state, mut report) = state::next(source, prior, &outcome, now);
    let counts = batch.commit_source(&state, outcome.take_items(), now)?;
    report.ms = ms;
    report.new = counts.new;
    report.updated = counts.updated;
    report.unchanged = counts.unchanged;
    Ok(report)
}
