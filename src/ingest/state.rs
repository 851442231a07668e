//! What is remembered about a source between runs, and how one fetch changes it: which
//! stored state applies, what to send for a conditional GET, whether the source is due,
//! and its next state and report line after an [`Outcome`]. Pure: the fetch run
//! ([`super::run`]) commits what [`next`] decides.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::Source;
use crate::ingest::fetch::{self, Disposition, Validators};
use crate::ingest::http_status::HttpStatus;
use crate::ingest::item::Item;
use crate::ingest::kind::SourceError;
use crate::ingest::report::{SourceReport, Status};
use crate::ingest::schedule;
use crate::store::SourceState;

/// What fetching and reading one source came to.
#[derive(Debug)]
pub enum Outcome {
    /// 304 Not Modified.
    NotModified(fetch::Response),
    /// A body identical to the last one: nothing was read.
    SameBody(fetch::Response),
    /// Read: the items to store.
    Items {
        /// The answer: status, validators, redirect and freshness hints.
        response: fetch::Response,
        /// [`body_hash`] of the body read.
        body_hash: String,
        /// The document's entries, normalized and ready for the store.
        items: Vec<Item>,
        /// RSS `<ttl>` in minutes.
        ttl_minutes: Option<u32>,
        /// Size of the body read, after decompression.
        bytes: u64,
    },
    /// Nothing to store; the HTTP status when the server answered.
    Failed(SourceError, Option<HttpStatus>),
}

impl Outcome {
    /// The items to store with the new state.
    pub fn items(&self) -> &[Item] {
        match self {
            Outcome::Items { items, .. } => items,
            _ => &[],
        }
    }

    /// The items to store, taken out.
    pub fn take_items(&mut self) -> Vec<Item> {
        match self {
            Outcome::Items { items, .. } => std::mem::take(items),
            _ => Vec::new(),
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
pub fn effective_url(source: &Source, state: Option<&SourceState>) -> Url {
    state
        .and_then(|s| s.moved_to.as_deref())
        .and_then(|u| Url::parse(u).ok())
        .unwrap_or_else(|| source.url.clone())
}

/// The validators to send and the body hash an answer is compared with: none without a
/// state or when the run is forced (a forced run reads the document again).
pub fn conditional(state: Option<&SourceState>, force: bool) -> (Validators, Option<String>) {
    match state.filter(|_| !force) {
        Some(s) => (
            Validators {
                etag: s.etag.clone(),
                last_modified: s.last_modified.clone(),
            },
            s.body_hash.clone(),
        ),
        None => (Validators::default(), None),
    }
}

/// The report of a source not asked this run (gone, or not due before `now`); `None` when
/// it is to be asked. A forced run asks every source.
pub fn not_due(
    source: &Source,
    state: Option<&SourceState>,
    now: DateTime<Utc>,
    force: bool,
) -> Option<SourceReport> {
    let state = state.filter(|_| !force)?;
    let report = |status| SourceReport::new(&source.id, source.url.as_str(), status);
    if state.gone {
        let mut r = report(Status::Gone);
        r.error = state.last_error.clone();
        r.http_status = state.last_status;
        return Some(r);
    }
    if state.next_attempt.is_some_and(|t| t > now) {
        let mut r = report(Status::Waiting);
        r.next_attempt = state.next_attempt;
        r.error = state.last_error.clone();
        return Some(r);
    }
    None
}

/// What is remembered of a body to notice the same one again without reading it.
pub fn body_hash(body: &[u8]) -> String {
    Sha256::digest(body)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The state of `source` after `outcome` at `now` (`prior`: [`current_state`]), and its
/// report line without the item counts, which only the commit knows.
pub fn next(
    source: &Source,
    prior: Option<&SourceState>,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> (SourceState, SourceReport) {
    let mut state = prior.cloned().unwrap_or_else(|| SourceState {
        id: source.id.clone(),
        url: source.url.to_string(),
        ..SourceState::default()
    });
    let mut report = SourceReport::new(&source.id, source.url.as_str(), Status::Ok);
    state.last_attempt = Some(now);
    state.gone = false;
    match outcome {
        Outcome::NotModified(response) | Outcome::SameBody(response) => {
            // Nothing was read: the feed's <ttl> is the one it had last time.
            let ttl = state.ttl_minutes;
            succeeded(&mut state, &mut report, response, ttl, now);
            report.status = Status::NotModified;
            report.bytes = response.body.as_ref().map_or(0, |b| b.len() as u64);
        }
        Outcome::Items {
            response,
            body_hash,
            ttl_minutes,
            bytes,
            ..
        } => {
            succeeded(&mut state, &mut report, response, *ttl_minutes, now);
            state.ttl_minutes = *ttl_minutes;
            state.body_hash = Some(body_hash.clone());
            report.bytes = *bytes;
        }
        Outcome::Failed(error, http_status) => {
            let disposition = error.disposition();
            state.error_count = state.error_count.saturating_add(1);
            state.failing_since = state.failing_since.or(Some(now));
            state.last_error = Some(error.to_string());
            state.last_status = *http_status;
            state.next_attempt = schedule::after_failure(now, state.error_count, disposition);
            state.gone = disposition == Disposition::Gone;
            // A failed read must not leave validators that would turn the next try into a 304.
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
    (state, report)
}

/// A successful answer (read or not): errors cleared, validators and hints taken.
fn succeeded(
    state: &mut SourceState,
    report: &mut SourceReport,
    response: &fetch::Response,
    ttl_minutes: Option<u32>,
    now: DateTime<Utc>,
) {
    state.last_success = Some(now);
    state.last_status = Some(response.status);
    state.last_error = None;
    state.error_count = 0;
    state.failing_since = None;
    // A 304 without validators keeps the ones it answered.
    if response.validators.etag.is_some()
        || response.validators.last_modified.is_some()
        || response.status != HttpStatus(StatusCode::NOT_MODIFIED)
    {
        state.etag = response.validators.etag.clone();
        state.last_modified = response.validators.last_modified.clone();
    }
    state.next_attempt = schedule::after_success(now, response.fresh_until, ttl_minutes);
    if response.moved_to.is_some() {
        state.moved_to = response.moved_to.as_ref().map(|u| u.to_string());
    }
    report.http_status = Some(response.status);
    report.next_attempt = state.next_attempt;
    report.moved_to = state.moved_to.clone();
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::ingest::fetch::FetchError;

    fn source() -> Source {
        let toml = "[newsletter]\ntitle = \"Boletín\"\nfrom = \"boletin@example.org\"\n\
                    [[section]]\nid = \"noticias\"\ntitle = \"Noticias\"\n\
                    [[source]]\nid = \"cdh-altos\"\nname = \"Centro de Derechos Humanos de los Altos\"\n\
                    url = \"https://cdh-altos.example.org/feed/\"\nsection = \"noticias\"\n";
        match crate::config::parse(toml, std::path::Path::new("feeds.toml")) {
            Ok(mut config) => config.sources.remove(0),
            Err(e) => panic!("{e}"),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 6, 0, 0)
            .single()
            .unwrap_or_else(|| unreachable!())
    }

    fn response(code: StatusCode, etag: Option<&str>, body: Option<&str>) -> fetch::Response {
        fetch::Response {
            status: HttpStatus(code),
            final_url: source().url,
            moved_to: None,
            validators: Validators {
                etag: etag.map(str::to_string),
                last_modified: None,
            },
            fresh_until: None,
            content_type: Some("application/rss+xml; charset=utf-8".into()),
            body: body.map(|b| b.as_bytes().to_vec()),
        }
    }

    fn read(etag: Option<&str>, ttl_minutes: Option<u32>) -> Outcome {
        Outcome::Items {
            response: response(StatusCode::OK, etag, Some("<rss/>")),
            body_hash: body_hash(b"<rss/>"),
            items: Vec::new(),
            ttl_minutes,
            bytes: 6,
        }
    }

    fn failed(code: StatusCode) -> Outcome {
        let status = HttpStatus(code);
        let error = FetchError::Status {
            code: status,
            retry_after: None,
        };
        Outcome::Failed(error.into(), Some(status))
    }

    #[test]
    fn a_first_read_remembers_validators_ttl_and_body() {
        let (state, report) = next(&source(), None, &read(Some("\"v1\""), Some(90)), now());
        assert_eq!(state.id, "cdh-altos");
        assert_eq!(state.url, "https://cdh-altos.example.org/feed/");
        assert_eq!(state.etag.as_deref(), Some("\"v1\""));
        assert_eq!(state.ttl_minutes, Some(90));
        assert_eq!(state.body_hash, Some(body_hash(b"<rss/>")));
        assert_eq!(state.last_success, Some(now()));
        assert_eq!(state.next_attempt, Some(now() + Duration::minutes(90)));
        assert_eq!(report.status, Status::Ok);
        assert_eq!(report.http_status, Some(HttpStatus(StatusCode::OK)));
        assert_eq!(report.bytes, 6);
    }

    #[test]
    fn a_304_keeps_the_validators_ttl_and_hash_it_answered() {
        let (prior, _) = next(&source(), None, &read(Some("\"v1\""), Some(90)), now());
        let later = now() + Duration::hours(3);
        let outcome = Outcome::NotModified(response(StatusCode::NOT_MODIFIED, None, None));
        let (state, report) = next(&source(), Some(&prior), &outcome, later);
        assert_eq!(state.etag.as_deref(), Some("\"v1\""));
        assert_eq!(state.body_hash, prior.body_hash);
        assert_eq!(state.next_attempt, Some(later + Duration::minutes(90)));
        assert_eq!(report.status, Status::NotModified);
        assert_eq!(report.bytes, 0);
    }

    #[test]
    fn failures_back_off_clear_validators_and_keep_when_they_began() {
        let (ok, _) = next(&source(), None, &read(Some("\"v1\""), None), now());
        let (first, _) = next(
            &source(),
            Some(&ok),
            &failed(StatusCode::BAD_GATEWAY),
            now(),
        );
        let later = now() + Duration::hours(2);
        let (second, report) = next(
            &source(),
            Some(&first),
            &failed(StatusCode::BAD_GATEWAY),
            later,
        );
        assert_eq!(second.error_count, 2);
        assert_eq!(second.failing_since, Some(now()));
        assert_eq!(second.next_attempt, Some(later + Duration::hours(2)));
        assert_eq!(second.etag, None);
        assert_eq!(second.body_hash, None);
        assert_eq!(second.last_success, Some(now()));
        assert_eq!(second.last_error.as_deref(), Some("HTTP 502"));
        assert_eq!(report.status, Status::Failed);
        assert_eq!(
            report.http_status,
            Some(HttpStatus(StatusCode::BAD_GATEWAY))
        );

        let (back, report) = next(&source(), Some(&second), &read(None, None), later);
        assert_eq!(back.error_count, 0);
        assert_eq!((back.failing_since, back.last_error), (None, None));
        assert_eq!(report.error, None);
    }

    #[test]
    fn a_410_marks_the_source_gone_until_forced() {
        let (state, report) = next(&source(), None, &failed(StatusCode::GONE), now());
        assert!(state.gone);
        assert_eq!(state.next_attempt, None);
        assert_eq!(report.status, Status::Gone);
        let skipped = not_due(&source(), Some(&state), now(), false);
        assert_eq!(
            skipped.map(|r| (r.status, r.http_status)),
            Some((Status::Gone, state.last_status))
        );
        assert!(not_due(&source(), Some(&state), now(), true).is_none());
    }

    #[test]
    fn a_source_backing_off_waits_until_its_next_attempt() {
        let (state, _) = next(
            &source(),
            None,
            &failed(StatusCode::SERVICE_UNAVAILABLE),
            now(),
        );
        let waiting = not_due(
            &source(),
            Some(&state),
            now() + Duration::minutes(30),
            false,
        );
        assert_eq!(waiting.as_ref().map(|r| r.status), Some(Status::Waiting));
        assert_eq!(waiting.and_then(|r| r.next_attempt), state.next_attempt);
        assert!(not_due(&source(), Some(&state), now() + Duration::hours(1), false).is_none());
    }

    #[test]
    fn a_permanent_redirect_is_remembered_and_requested() {
        let mut moved = response(StatusCode::OK, None, Some("<rss/>"));
        let new_home = Url::parse("https://cdh-altos.example.org/noticias/feed/")
            .unwrap_or_else(|_| unreachable!());
        moved.moved_to = Some(new_home.clone());
        let (state, report) = next(&source(), None, &Outcome::SameBody(moved), now());
        assert_eq!(report.moved_to.as_deref(), Some(new_home.as_str()));
        assert_eq!(effective_url(&source(), Some(&state)), new_home);
        // A later answer without a redirect does not forget it.
        let (state, _) = next(&source(), Some(&state), &read(None, None), now());
        assert_eq!(state.moved_to.as_deref(), Some(new_home.as_str()));
    }

    #[test]
    fn an_edited_url_or_a_forced_run_starts_afresh() {
        let (state, _) = next(&source(), None, &read(Some("\"v1\""), None), now());
        let states = HashMap::from([(state.id.clone(), state)]);
        let current = current_state(&states, &source());
        let (validators, hash) = conditional(current, false);
        assert_eq!(validators.etag.as_deref(), Some("\"v1\""));
        assert_eq!(hash, Some(body_hash(b"<rss/>")));
        let (validators, hash) = conditional(current, true);
        assert_eq!((validators.etag, hash), (None, None));

        let mut edited = source();
        edited.url =
            Url::parse("https://cdh-altos.example.org/es/feed/").unwrap_or_else(|_| unreachable!());
        assert!(current_state(&states, &edited).is_none());
    }
}
