//! Retrieves source documents: `http(s)://` through one shared client, `file://` from disk.
//!
//! Owns politeness and limits (global and per-host concurrency, conditional GET, connect /
//! total / stall timeouts, a body cap counted after decompression, redirect handling) and
//! hands on a [`Response`] of raw bytes. It never parses and never touches the store. The
//! one function that decides whether a failure is worth a retry is [`FetchError::disposition`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::config::Settings;
use crate::ingest::http_status::HttpStatus;

/// At most this many redirects are followed for one request.
pub const MAX_REDIRECTS: usize = 5;

/// `Accept` for feed sources: feed types first, HTML last (some sites serve feeds as HTML).
pub const ACCEPT_FEED: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
     application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, \
     text/html;q=0.5, */*;q=0.1";
/// `Accept` for news pages.
pub const ACCEPT_PAGE: &str = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1";

/// Why a document could not be retrieved.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// DNS, TCP or TLS failed before any response.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The whole request took longer than the configured timeout.
    #[error("timed out after {}s", .0.as_secs())]
    Timeout(Duration),
    /// The server sent no bytes for longer than the stall timeout.
    #[error("stalled: no data for {}s", .0.as_secs())]
    Stalled(Duration),
    /// The body (after decompression) exceeded the cap.
    #[error("body larger than {} MiB", .0 / (1024 * 1024))]
    TooLarge(u64),
    /// The server answered with an error status.
    #[error("HTTP {code}{}", retry_after.map(|t| format!(" (retry after {})", t.to_rfc3339())).unwrap_or_default())]
    Status {
        code: HttpStatus,
        retry_after: Option<DateTime<Utc>>,
    },
    /// A redirect loop, too many redirects, or a redirect without a usable Location.
    #[error("redirect error: {0}")]
    Redirect(String),
    /// A local file could not be read.
    #[error("cannot read {path}: {message}")]
    File { path: String, message: String },
    /// The connection broke while reading the body, or another transport error.
    #[error("transport error: {0}")]
    Transport(String),
}

/// What to do about a failed source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Try again after the source's exponential backoff.
    Backoff,
    /// The server named a time; do not ask before it.
    RetryAt(DateTime<Utc>),
    /// 410 Gone: stop until the user forces a fetch.
    Gone,
}

impl FetchError {
    /// The one place that decides transient vs permanent. Nothing is given up for good
    /// except an explicit 410: sites of small organizations break and come back.
    pub fn disposition(&self) -> Disposition {
        match self {
            FetchError::Status {
                code: HttpStatus(StatusCode::GONE),
                ..
            } => Disposition::Gone,
            FetchError::Status {
                code: HttpStatus(StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE),
                retry_after: Some(t),
            } => Disposition::RetryAt(*t),
            _ => Disposition::Backoff,
        }
    }

    /// The HTTP status, when there was one.
    pub fn http_status(&self) -> Option<HttpStatus> {
        match self {
            FetchError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Validators from the previous successful fetch.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A successful answer: a body, or 304 Not Modified (`body` is `None`).
#[derive(Debug)]
pub struct Response {
    pub status: HttpStatus,
    /// Where the document was finally found.
    pub final_url: Url,
    /// Set when every hop was a permanent redirect (301/308): the URL to remember.
    pub moved_to: Option<Url>,
    pub validators: Validators,
    /// From Cache-Control max-age or Expires: no need to ask before this.
    pub fresh_until: Option<DateTime<Utc>>,
    pub content_type: Option<String>,
    pub body: Option<Vec<u8>>,
}

/// The permits one fetch holds; see [`Fetcher::slot`].
#[derive(Debug)]
pub struct Slot {
    host: Option<OwnedSemaphorePermit>,
    global: Option<OwnedSemaphorePermit>,
    gate: Option<OwnedSemaphorePermit>,
}

impl Slot {
    /// The request is over: frees the host and global slots for the next request and keeps
    /// the gate's permit, to be dropped when the document has been stored.
    pub fn into_gate(self) -> Option<OwnedSemaphorePermit> {
        drop(self.host);
        drop(self.global);
        self.gate
    }
}

/// The shared HTTP client plus the concurrency limits.
pub struct Fetcher {
    client: reqwest::Client,
    settings: Settings,
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Fetcher {
    pub fn new(settings: &Settings) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .connect_timeout(settings.connect_timeout)
            // The whole-request limit is applied around redirects and body in `fetch`, so
            // that it reports as `Timeout` rather than as a transport error.
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(settings.per_host)
            .build()
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        Ok(Fetcher {
            client,
            settings: settings.clone(),
            global: Arc::new(Semaphore::new(settings.concurrency)),
            hosts: Mutex::new(HashMap::new()),
        })
    }

    /// Waits for a slot for `url`'s host, then a permit from the caller's `gate` (which
    /// bounds work in progress: fetched documents not yet stored), then a global slot.
    /// Host first, so a task queued behind a busy host never holds a permit others could
    /// use. `file://` sources only take the gate.
    pub async fn slot(&self, url: &Url, gate: &Arc<Semaphore>) -> Slot {
        if url.scheme() == "file" {
            return Slot {
                host: None,
                global: None,
                gate: gate.clone().acquire_owned().await.ok(),
            };
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let sem = {
            let mut hosts = match self.hosts.lock() {
                Ok(h) => h,
                Err(poisoned) => poisoned.into_inner(),
            };
            hosts
                .entry(host)
                .or_insert_with(|| Arc::new(Semaphore::new(self.settings.per_host)))
                .clone()
        };
        let host = sem.acquire_owned().await.ok();
        let gate = gate.clone().acquire_owned().await.ok();
        let global = self.global.clone().acquire_owned().await.ok();
        Slot { host, global, gate }
    }

    /// One polite request outside a fetch run (discovery, `inspect`, item pages of
    /// `follow = true`): takes the host and global slots, sends no validators.
    pub async fn get(&self, url: &Url, accept: &str) -> Result<Response, FetchError> {
        let gate = Arc::new(Semaphore::new(1));
        let _slot = self.slot(url, &gate).await;
        self.fetch(url, &Validators::default(), accept, Utc::now())
            .await
    }

    /// Fetches `url`, sending the validators for a conditional GET. The caller holds a
    /// [`Fetcher::slot`] while this runs. `now` is the clock that Retry-After seconds and
    /// max-age are counted from (pinned in tests).
    pub async fn fetch(
        &self,
        url: &Url,
        validators: &Validators,
        accept: &str,
        now: DateTime<Utc>,
    ) -> Result<Response, FetchError> {
        if url.scheme() == "file" {
            return self.read_file(url);
        }
        let total = self.settings.timeout;
        match tokio::time::timeout(total, self.fetch_http(url, validators, accept, now)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout(total)),
        }
    }

    fn read_file(&self, url: &Url) -> Result<Response, FetchError> {
        let file_err = |message: String| FetchError::File {
            path: url.path().to_string(),
            message,
        };
        let path = url
            .to_file_path()
            .map_err(|()| file_err("not a local path".into()))?;
        let len = std::fs::metadata(&path)
            .map_err(|e| file_err(e.to_string()))?
            .len();
        if len > self.settings.max_body_bytes {
            return Err(FetchError::TooLarge(self.settings.max_body_bytes));
        }
        let body = std::fs::read(&path).map_err(|e| file_err(e.to_string()))?;
        Ok(Response {
            status: HttpStatus(StatusCode::OK),
            final_url: url.clone(),
            moved_to: None,
            validators: Validators::default(),
            fresh_until: None,
            content_type: None,
            body: Some(body),
        })
    }

    async fn fetch_http(
        &self,
        url: &Url,
        validators: &Validators,
        accept: &str,
        now: DateTime<Utc>,
    ) -> Result<Response, FetchError> {
        let stall = self.settings.stall_timeout;
        let mut current = url.clone();
        let mut seen = vec![current.clone()];
        let mut all_permanent = true;
        let response = loop {
            let mut request = self
                .client
                .get(current.as_str())
                .header(header::ACCEPT, accept);
            if let Some(etag) = &validators.etag {
                request = request.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &validators.last_modified {
                request = request.header(header::IF_MODIFIED_SINCE, lm);
            }
            // A server that accepts the connection and then says nothing is stalled too.
            let response = tokio::time::timeout(stall, request.send())
                .await
                .map_err(|_| FetchError::Stalled(stall))?
                .map_err(transport_error)?;
            let status = response.status();
            if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
                break response;
            }
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    FetchError::Redirect(format!("HTTP {} without Location", status.as_u16()))
                })?;
            let next = current
                .join(location)
                .map_err(|e| FetchError::Redirect(format!("bad Location `{location}`: {e}")))?;
            if seen.contains(&next) {
                return Err(FetchError::Redirect(format!("loop back to {next}")));
            }
            if seen.len() > MAX_REDIRECTS {
                return Err(FetchError::Redirect(format!(
                    "more than {MAX_REDIRECTS} redirects"
                )));
            }
            all_permanent &= matches!(status.as_u16(), 301 | 308);
            seen.push(next.clone());
            current = next;
        };

        let status = response.status();
        let headers = response.headers();
        if status.is_client_error() || status.is_server_error() {
            return Err(FetchError::Status {
                code: status.into(),
                retry_after: header_str(headers, header::RETRY_AFTER)
                    .and_then(|v| parse_retry_after(v, now)),
            });
        }
        let moved_to = (all_permanent && current != *url).then(|| current.clone());
        let validators = Validators {
            etag: header_str(headers, header::ETAG).map(str::to_string),
            last_modified: header_str(headers, header::LAST_MODIFIED).map(str::to_string),
        };
        let fresh_until = freshness(headers, now);
        let content_type = header_str(headers, header::CONTENT_TYPE).map(str::to_string);
        // A 304 has no body to read: nothing changed since the validators.
        let body = if status == StatusCode::NOT_MODIFIED {
            None
        } else {
            Some(self.read_body(response).await?)
        };
        Ok(Response {
            status: status.into(),
            final_url: current,
            moved_to,
            validators,
            fresh_until,
            content_type,
            body,
        })
    }

    async fn read_body(&self, response: reqwest::Response) -> Result<Vec<u8>, FetchError> {
        let cap = self.settings.max_body_bytes;
        if response.content_length().is_some_and(|n| n > cap) {
            return Err(FetchError::TooLarge(cap));
        }
        let stall = self.settings.stall_timeout;
        let expected = response.content_length().unwrap_or(0).min(cap);
        let mut stream = response.bytes_stream();
        let mut body = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
        loop {
            match tokio::time::timeout(stall, stream.next()).await {
                Err(_) => return Err(FetchError::Stalled(stall)),
                Ok(None) => return Ok(body),
                Ok(Some(Err(e))) => return Err(transport_error(e)),
                Ok(Some(Ok(chunk))) => {
                    // Counted on decompressed bytes, so a gzip bomb stops at the cap too.
                    if body.len() as u64 + chunk.len() as u64 > cap {
                        return Err(FetchError::TooLarge(cap));
                    }
                    body.extend_from_slice(&chunk);
                }
            }
        }
    }
}

fn transport_error(e: reqwest::Error) -> FetchError {
    // reqwest's own message only repeats the URL the report already names; the causes say
    // what happened ("tcp connect error: Connection refused", "dns error: …").
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    let message = if causes.is_empty() {
        e.to_string()
    } else {
        causes.join(": ")
    };
    if e.is_timeout() {
        FetchError::Transport(format!("timeout: {message}"))
    } else if e.is_connect() {
        FetchError::Connect(message)
    } else {
        FetchError::Transport(message)
    }
}

fn header_str(headers: &HeaderMap<HeaderValue>, name: header::HeaderName) -> Option<&str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// `Retry-After` as delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(now + chrono::Duration::seconds(secs.min(i64::MAX as u64 / 2000) as i64));
    }
    parse_http_date(value)
}

fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(value.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Cache-Control max-age wins over Expires (RFC 9111 §5.3).
fn freshness(headers: &HeaderMap<HeaderValue>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Some(cc) = header_str(headers, header::CACHE_CONTROL) {
        let lower = cc.to_ascii_lowercase();
        if lower.contains("no-cache") || lower.contains("no-store") {
            return None;
        }
        for part in lower.split(',') {
            if let Some(secs) = part.trim().strip_prefix("max-age=") {
                return secs
                    .trim_matches('"')
                    .parse::<i64>()
                    .ok()
                    .filter(|s| *s > 0)
                    .map(|s| now + chrono::Duration::seconds(s.min(365 * 86_400)));
            }
        }
    }
    header_str(headers, header::EXPIRES)
        .and_then(parse_http_date)
        .filter(|t| *t > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        let now =
            DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z").map(|d| d.with_timezone(&Utc));
        let now = now.unwrap_or_default();
        assert_eq!(
            parse_retry_after("120", now),
            Some(now + chrono::Duration::seconds(120))
        );
        let date = parse_retry_after("Sat, 21 Nov 2026 13:00:00 GMT", now);
        assert_eq!(
            date.map(|d| d.to_rfc3339()),
            Some("2026-11-21T13:00:00+00:00".into())
        );
        assert_eq!(parse_retry_after("mañana", now), None);
    }

    #[test]
    fn only_410_is_gone_and_only_dated_429_503_wait() {
        let t = Utc::now();
        let status = |code, retry_after| FetchError::Status {
            code: HttpStatus::from_u16(code).unwrap_or_else(|| unreachable!()),
            retry_after,
        };
        assert_eq!(status(410, None).disposition(), Disposition::Gone);
        assert_eq!(status(429, Some(t)).disposition(), Disposition::RetryAt(t));
        assert_eq!(status(503, Some(t)).disposition(), Disposition::RetryAt(t));
        assert_eq!(status(429, None).disposition(), Disposition::Backoff);
        assert_eq!(status(404, None).disposition(), Disposition::Backoff);
        assert_eq!(
            FetchError::Stalled(Duration::from_secs(1)).disposition(),
            Disposition::Backoff
        );
    }
}
