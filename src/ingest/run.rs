//! The only module that knows the order of the stages.
//!
//! fetch: config → [`fetch`] (the one concurrent step) → [`decode`] → [`parse`] or
//! [`scrape`] → [`normalize`] (sanitize) → [`store`], one transaction per source.
//! compose: [`store`] → [`render`] → files.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::config::{Config, Source, SourceKind};
use crate::ingest::feed::parse;
use crate::ingest::fetch::{self, Disposition, FetchError, Fetcher, Validators};
use crate::ingest::item::{Item, RawItem};
use crate::ingest::report::{RunReport, SourceReport, Status};
use crate::ingest::{decode, normalize, schedule, scrape};
use crate::store::{SourceState, Store, StoreError};

/// Why a whole run (not one source) failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The store failed; the run stops so nothing is half-written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client could not be built.
    #[error("cannot start the HTTP client: {0}")]
    Client(#[from] FetchError),
}

/// Why one source produced no items this run.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Parse(#[from] parse::ParseError),
    #[error(transparent)]
    Scrape(#[from] scrape::ScrapeError),
}

impl SourceError {
    fn disposition(&self) -> Disposition {
        match self {
            SourceError::Fetch(e) => e.disposition(),
            _ => Disposition::Backoff,
        }
    }
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
}

impl FetchOptions {
    fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }
}

/// What the concurrent part hands to the writer for one source.
enum Outcome {
    Interrupted,
    NotModified(fetch::Response),
    SameBody(fetch::Response),
    Items {
        response: fetch::Response,
        body_hash: String,
        items: Vec<Item>,
        ttl_minutes: Option<u32>,
        bytes: u64,
    },
    Failed(SourceError, Option<u64>),
}

struct Done {
    index: usize,
    outcome: Outcome,
    ms: u64,
    /// Held until the outcome is stored: bounds how many fetched documents (bodies and
    /// parsed items) wait in memory when the writer is slower than the network.
    _gate: Option<tokio::sync::OwnedSemaphorePermit>,
}

fn body_hash(body: &[u8]) -> String {
    Sha256::digest(body)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Decodes and parses (or scrapes) a body into normalized items. CPU only.
fn process(
    source: &Source,
    response: &fetch::Response,
    body: &[u8],
) -> Result<(Vec<Item>, Option<u32>), SourceError> {
    let text = decode::decode(body, response.content_type.as_deref());
    let base = document_base(source, response);
    let (raw, ttl) = match &source.kind {
        SourceKind::Feed => {
            let feed = parse::parse_feed_with(&text, &base, source.timezone, source.day_order)?;
            (feed.items, feed.ttl_minutes)
        }
        SourceKind::Page(rules) => (
            scrape::scrape_page_with(&text, &base, rules, source.timezone, source.day_order)?,
            None,
        ),
    };
    let items = raw
        .into_iter()
        .filter_map(|r| normalize::normalize(source, r))
        .collect();
    Ok((items, ttl))
}

/// What relative links in a fetched document resolve against: where it was finally found,
/// or the source's `site` for local files.
fn document_base(source: &Source, response: &fetch::Response) -> url::Url {
    if source.url.scheme() == "file" {
        source.base_url().clone()
    } else {
        response.final_url.clone()
    }
}

/// Item pages fetched per run and source when `follow = true`, at most.
pub const MAX_FOLLOW: usize = 40;

/// The raw items of a page source's list page (decode + scrape).
fn scrape_raw(
    source: &Source,
    response: &fetch::Response,
    body: &[u8],
) -> Result<Vec<RawItem>, SourceError> {
    let SourceKind::Page(rules) = &source.kind else {
        return Ok(Vec::new());
    };
    let text = decode::decode(body, response.content_type.as_deref());
    let base = document_base(source, response);
    Ok(scrape::scrape_page_with(
        &text,
        &base,
        rules,
        source.timezone,
        source.day_order,
    )?)
}

/// `follow = true`: scrapes the list page, then completes each item from its own page.
pub async fn process_followed(
    fetcher: &Fetcher,
    source: &Source,
    response: &fetch::Response,
    body: &[u8],
) -> Result<Vec<Item>, SourceError> {
    let raw = scrape_raw(source, response, body)?;
    let raw = follow_items(fetcher, source, raw).await;
    Ok(raw
        .into_iter()
        .filter_map(|r| normalize::normalize(source, r))
        .collect())
}

/// Fetches each item's own page, one at a time and through the fetcher's per-host slots
/// (the same politeness as every other request), and takes its full text and date. An item
/// whose page fails keeps what the list page gave.
pub async fn follow_items(
    fetcher: &Fetcher,
    source: &Source,
    mut raw: Vec<RawItem>,
) -> Vec<RawItem> {
    let SourceKind::Page(rules) = &source.kind else {
        return raw;
    };
    for item in raw.iter_mut().take(MAX_FOLLOW) {
        let Some(link) = item.link.as_deref().and_then(|l| url::Url::parse(l).ok()) else {
            continue;
        };
        if !matches!(link.scheme(), "http" | "https" | "file") {
            continue;
        }
        let response = match fetcher.get(&link, fetch::ACCEPT_PAGE).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!("{}: cannot follow {link}: {e}", source.id);
                continue;
            }
        };
        let Some(body) = response.body.as_deref() else {
            continue;
        };
        let text = decode::decode(body, response.content_type.as_deref());
        scrape::enrich_from_page(
            item,
            &text,
            &response.final_url,
            rules,
            source.timezone,
            source.day_order,
        );
    }
    raw
}

/// What `boletin inspect` shows: one source fetched (or read) and parsed exactly as `fetch`
/// would, without the store. Page sources with `follow = true` fetch their item pages too.
pub async fn inspect(
    settings: &crate::config::Settings,
    source: &Source,
) -> Result<crate::ingest::inspect::View, SourceError> {
    let fetcher = Fetcher::new(settings)?;
    let accept = match source.kind {
        SourceKind::Feed => fetch::ACCEPT_FEED,
        SourceKind::Page(_) => fetch::ACCEPT_PAGE,
    };
    let response = fetcher.get(&source.url, accept).await?;
    let body = response.body.as_deref().unwrap_or_default();
    match &source.kind {
        SourceKind::Feed => {
            let text = decode::decode(body, response.content_type.as_deref());
            let base = document_base(source, &response);
            let mut feed = parse::parse_feed_with(&text, &base, source.timezone, source.day_order)?;
            // A local file with no `site`: its own home-page link is the best base.
            if base.scheme() == "file"
                && let Some(home) = feed.link.as_deref().and_then(|l| url::Url::parse(l).ok())
                && matches!(home.scheme(), "http" | "https")
            {
                feed = parse::parse_feed_with(&text, &home, source.timezone, source.day_order)?;
            }
            Ok(crate::ingest::inspect::feed_view(source, feed))
        }
        SourceKind::Page(rules) => {
            let mut raw = scrape_raw(source, &response, body)?;
            if rules.follow {
                raw = follow_items(&fetcher, source, raw).await;
            }
            Ok(crate::ingest::inspect::page_view(source, raw))
        }
    }
}

/// What is remembered about `source` at the URL the config now gives it: a source whose URL
/// was edited starts afresh (no validators, backoff, redirect or gone mark of the old one).
pub fn current_state<'a>(
    states: &'a HashMap<String, SourceState>,
    source: &Source,
) -> Option<&'a SourceState> {
    states
        .get(&source.id)
        .filter(|s| s.url == source.url.as_str())
}

/// The URL to request: a remembered permanent redirect, else the configured one.
fn effective_url(source: &Source, state: Option<&SourceState>) -> url::Url {
    state
        .and_then(|s| s.moved_to.as_deref())
        .and_then(|u| url::Url::parse(u).ok())
        .unwrap_or_else(|| source.url.clone())
}

/// Everything one source's task needs.
struct Job {
    fetcher: Arc<Fetcher>,
    source: Arc<Source>,
    url: url::Url,
    prior: Validators,
    prior_hash: Option<String>,
    cancel: Arc<AtomicBool>,
    now: DateTime<Utc>,
    gate: Arc<tokio::sync::Semaphore>,
}

/// Waits for the source's turn, then fetches and processes it. Thousands of these wait at
/// once, so the waiting future is kept small: the request and parsing futures (kilobytes
/// each) are boxed and allocated only when the turn comes.
async fn fetch_one(job: Job) -> (Outcome, u64, Option<tokio::sync::OwnedSemaphorePermit>) {
    let slot = job.fetcher.slot(&job.url, &job.gate).await;
    if job.cancel.load(Ordering::SeqCst) {
        return (Outcome::Interrupted, 0, None);
    }
    Box::pin(fetch_and_process(job, slot)).await
}

async fn fetch_and_process(
    job: Job,
    slot: fetch::Slot,
) -> (Outcome, u64, Option<tokio::sync::OwnedSemaphorePermit>) {
    let Job {
        fetcher,
        source,
        url,
        prior,
        prior_hash,
        now,
        ..
    } = job;
    let started = Instant::now();
    let accept = match source.kind {
        SourceKind::Feed => fetch::ACCEPT_FEED,
        SourceKind::Page(_) => fetch::ACCEPT_PAGE,
    };
    let fetched = fetcher.fetch(&url, &prior, accept, now).await;
    // `BOLETIN_LOG=debug boletin fetch` shows every request.
    match &fetched {
        Ok(r) => tracing::debug!(
            source = %source.id, %url, status = r.status, ms = started.elapsed().as_millis() as u64,
            bytes = r.body.as_ref().map_or(0, Vec::len), "fetched"
        ),
        Err(e) => tracing::debug!(source = %source.id, %url, error = %e, "fetch failed"),
    }
    // Parsing is CPU work: the host and global slots go to the next request meanwhile.
    let gate = slot.into_gate();
    let outcome = match fetched {
        Err(e) => {
            let status = e.http_status().map(u64::from);
            Outcome::Failed(e.into(), status)
        }
        Ok(response) => match response.body.as_deref() {
            None => Outcome::NotModified(response),
            Some(body) => {
                let hash = body_hash(body);
                if prior_hash.as_deref() == Some(hash.as_str()) {
                    Outcome::SameBody(response)
                } else if matches!(&source.kind, SourceKind::Page(r) if r.follow) {
                    // The host slot was given back above: item pages queue for it too.
                    let bytes = body.len() as u64;
                    match process_followed(&fetcher, &source, &response, body).await {
                        Ok(items) => Outcome::Items {
                            response,
                            body_hash: hash,
                            items,
                            ttl_minutes: None,
                            bytes,
                        },
                        Err(e) => Outcome::Failed(e, Some(u64::from(response.status))),
                    }
                } else {
                    let bytes = body.len() as u64;
                    let src = source.clone();
                    let joined = tokio::task::spawn_blocking(move || {
                        let body = response.body.as_deref().unwrap_or_default();
                        let result = process(&src, &response, body);
                        (response, result)
                    })
                    .await;
                    match joined {
                        Ok((response, Ok((items, ttl_minutes)))) => Outcome::Items {
                            response,
                            body_hash: hash,
                            items,
                            ttl_minutes,
                            bytes,
                        },
                        Ok((response, Err(e))) => {
                            Outcome::Failed(e, Some(u64::from(response.status)))
                        }
                        Err(join) => Outcome::Failed(
                            SourceError::Fetch(FetchError::Transport(format!(
                                "parser crashed: {join}"
                            ))),
                            None,
                        ),
                    }
                }
            }
        },
    };
    (outcome, started.elapsed().as_millis() as u64, gate)
}

/// Fetches every due source, stores what was found and reports on each source.
/// `on_source` is called as each source finishes (for progress display).
pub async fn fetch_sources(
    config: &Config,
    store: &mut Store,
    options: &FetchOptions,
    on_source: &mut dyn FnMut(&SourceReport),
) -> Result<RunReport, PipelineError> {
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
        let state = current_state(&states, source);
        let now = options.now();
        if !options.force
            && let Some(state) = state
        {
            if state.gone {
                let mut r = SourceReport::new(&source.id, source.url.as_str(), Status::Gone);
                r.error = state.last_error.clone();
                r.http_status = state.last_status;
                on_source(&r);
                reports.insert(index, r);
                continue;
            }
            if state.next_attempt.is_some_and(|t| t > now) {
                let mut r = SourceReport::new(&source.id, source.url.as_str(), Status::Waiting);
                r.next_attempt = state.next_attempt;
                r.error = state.last_error.clone();
                on_source(&r);
                reports.insert(index, r);
                continue;
            }
        }
        due.push(index);
    }

    // Tasks are started lazily, a window at a time, hosts taken in turn: memory stays flat
    // however many sources there are, and no host's queue can fill the window while other
    // hosts have work.
    let mut pending = interleave_by_host(&config.sources, due);
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
        let state = current_state(&states, source);
        let fresh = state.is_some() && !options.force;
        let job = Job {
            fetcher: fetcher.clone(),
            source: Arc::new(source.clone()),
            url: effective_url(source, state),
            prior: match state {
                Some(s) if fresh => Validators {
                    etag: s.etag.clone(),
                    last_modified: s.last_modified.clone(),
                },
                _ => Validators::default(),
            },
            prior_hash: state.filter(|_| fresh).and_then(|s| s.body_hash.clone()),
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

    let mut failure: Option<StoreError> = None;
    while let Some(done) = rx.recv().await {
        if options.cancel.load(Ordering::SeqCst) {
            tx = None;
        } else {
            start_more(1, &mut tx);
        }
        let source = &config.sources[done.index];
        let prior = current_state(&states, source);
        let report = match apply(store, source, prior, done.outcome, done.ms, options.now()) {
            Ok(r) => r,
            Err(e) => {
                // Stop starting new work; what was committed stays committed.
                options.cancel.store(true, Ordering::SeqCst);
                failure.get_or_insert(e);
                continue;
            }
        };
        on_source(&report);
        reports.insert(done.index, report);
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
    })
}

/// Source indices reordered so hosts take turns: a, b, c, a, b, a … (first-seen host order,
/// config order within a host).
fn interleave_by_host(sources: &[Source], due: Vec<usize>) -> VecDeque<usize> {
    let mut queues: Vec<VecDeque<usize>> = Vec::new();
    let mut by_host: HashMap<&str, usize> = HashMap::new();
    for index in due {
        let host = sources[index].url.host_str().unwrap_or_default();
        let q = *by_host.entry(host).or_insert_with(|| {
            queues.push(VecDeque::new());
            queues.len() - 1
        });
        queues[q].push_back(index);
    }
    let mut out = VecDeque::new();
    while !queues.is_empty() {
        queues.retain_mut(|q| match q.pop_front() {
            Some(index) => {
                out.push_back(index);
                true
            }
            None => false,
        });
    }
    out
}

/// Turns one source's outcome into its new state (`prior`: [`current_state`]), commits it
/// with its items, and reports.
fn apply(
    store: &mut Store,
    source: &Source,
    prior: Option<&SourceState>,
    outcome: Outcome,
    ms: u64,
    now: DateTime<Utc>,
) -> Result<SourceReport, StoreError> {
    let mut state = match prior {
        Some(p) => p.clone(),
        None => SourceState {
            id: source.id.clone(),
            url: source.url.to_string(),
            ..SourceState::default()
        },
    };
    let mut report = SourceReport::new(&source.id, source.url.as_str(), Status::Ok);
    report.ms = ms;
    state.last_attempt = Some(now);
    state.gone = false;
    let mut items: &[Item] = &[];
    let mut succeeded = |state: &mut SourceState, response: &fetch::Response, ttl: Option<u32>| {
        state.last_success = Some(now);
        state.last_status = Some(response.status);
        state.last_error = None;
        state.error_count = 0;
        state.failing_since = None;
        if response.validators.etag.is_some()
            || response.validators.last_modified.is_some()
            || response.status != 304
        {
            state.etag = response.validators.etag.clone();
            state.last_modified = response.validators.last_modified.clone();
        }
        state.next_attempt = schedule::after_success(now, response.fresh_until, ttl);
        if response.moved_to.is_some() {
            state.moved_to = response.moved_to.as_ref().map(|u| u.to_string());
        }
        report.http_status = Some(response.status);
        report.next_attempt = state.next_attempt;
        report.moved_to = state.moved_to.clone();
    };
    match &outcome {
        Outcome::Interrupted => {
            return Ok(SourceReport::new(
                &source.id,
                source.url.as_str(),
                Status::Interrupted,
            ));
        }
        Outcome::NotModified(response) | Outcome::SameBody(response) => {
            // Nothing was parsed: the feed's <ttl> is the one it had last time.
            let ttl = state.ttl_minutes;
            succeeded(&mut state, response, ttl);
            report.status = Status::NotModified;
            report.bytes = response.body.as_ref().map_or(0, |b| b.len() as u64);
        }
        Outcome::Items {
            response,
            body_hash,
            items: found,
            ttl_minutes,
            bytes,
        } => {
            succeeded(&mut state, response, *ttl_minutes);
            state.ttl_minutes = *ttl_minutes;
            state.body_hash = Some(body_hash.clone());
            report.bytes = *bytes;
            items = found;
        }
        Outcome::Failed(error, http_status) => {
            let disposition = error.disposition();
            state.error_count = state.error_count.saturating_add(1);
            state.failing_since = state.failing_since.or(Some(now));
            state.last_error = Some(error.to_string());
            state.last_status = http_status.and_then(|s| u16::try_from(s).ok());
            state.next_attempt = schedule::after_failure(now, state.error_count, disposition);
            state.gone = disposition == Disposition::Gone;
            // A failed parse must not leave validators that would turn the next try into a 304.
            state.etag = None;
            state.last_modified = None;
            state.body_hash = None;
            report.status = if state.gone {
                Status::Gone
            } else {
                Status::Failed
            };
            report.http_status = state.last_status;
            report.error = state.last_error.clone();
            report.next_attempt = state.next_attempt;
        }
    }
    let counts = store.commit_source(&state, items, now)?;
    report.new = counts.new;
    report.updated = counts.updated;
    report.unchanged = counts.unchanged;
    Ok(report)
}

/// The `[since, until)` window of stored items for a digest.
pub fn window_items(
    store: &Store,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<crate::store::StoredItem>, StoreError> {
    store.items(&crate::store::ItemQuery {
        since: Some(since),
        until: Some(until),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_take_turns() {
        let mut toml = String::from(
            "[newsletter]\ntitle = \"t\"\nfrom = \"b@example.org\"\n[[section]]\nid = \"s\"\ntitle = \"S\"\n",
        );
        for (id, host) in [
            ("a1", "a"),
            ("a2", "a"),
            ("a3", "a"),
            ("b1", "b"),
            ("c1", "c"),
            ("b2", "b"),
        ] {
            toml.push_str(&format!(
                "[[source]]\nid = \"{id}\"\nname = \"{id}\"\nurl = \"https://{host}.example.org/{id}\"\nsection = \"s\"\n"
            ));
        }
        let config = crate::config::parse(&toml, std::path::Path::new("feeds.toml"));
        let Ok(config) = config else {
            panic!("{config:?}");
        };
        let order: Vec<&str> = interleave_by_host(&config.sources, (0..6).collect())
            .into_iter()
            .map(|i| config.sources[i].id.as_str())
            .collect();
        assert_eq!(order, ["a1", "b1", "c1", "a2", "b2", "a3"]);
    }
}
