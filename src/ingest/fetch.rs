//! Retrieves source documents: `http(s)://` through shared clients, `file://` from disk.
//!
//! Owns politeness and limits (global and per-host concurrency, conditional GET, connect /
//! total / stall timeouts, a body cap counted after decompression, redirect handling) and
//! hands on a [`Response`] of raw bytes. It never parses and never touches the store. The
//! one function that decides whether a failure is worth a retry is [`FetchError::disposition`].
//!
//! It also owns where a request may go. Every request is made for an *origin*: the URL the
//! editor configured (in feeds.toml or on the command line). Only that exact URL may be a
//! local file, and only that URL's scheme, host and port may be an internal address
//! (loopback, private, link-local, …). Everything else — redirects, followed item links,
//! discovered feeds — is http(s) to the public internet, checked on every hop and after DNS
//! resolution, so that a partner's page cannot make boletin read local files or call the
//! services beside it (cloud metadata, routers, admin panels).

use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::config::Settings;
use crate::ingest::egress::{Route, inward_kind, refused_address, route, shown_url};
use crate::ingest::freshness::{freshness, header_str, parse_retry_after};
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
        /// The status code.
        code: HttpStatus,
        /// When the server asked to be asked again (`Retry-After`), if it did.
        retry_after: Option<DateTime<Utc>>,
    },
    /// A redirect loop, too many redirects, or a redirect without a usable Location.
    #[error("redirect error: {0}")]
    Redirect(String),
    /// A local file could not be read.
    #[error("cannot read {path}: {message}")]
    File {
        /// The file, as a path.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The address is not one this request may reach: a local file or an internal address
    /// named by fetched content rather than by the editor.
    #[error("refused {0}")]
    Refused(String),
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
    /// The `ETag` it answered with, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// The `Last-Modified` it answered with, sent back as `If-Modified-Since`.
    pub last_modified: Option<String>,
}

/// A successful answer: a body, or 304 Not Modified (`body` is `None`).
#[derive(Debug)]
pub struct Response {
    /// The final status (200 for a local file).
    pub status: HttpStatus,
    /// Where the document was finally found.
    pub final_url: Url,
    /// Set when every hop was a permanent redirect (301/308): the URL to remember.
    pub moved_to: Option<Url>,
    /// What to send next time for a conditional GET.
    pub validators: Validators,
    /// From Cache-Control max-age or Expires: no need to ask before this.
    pub fresh_until: Option<DateTime<Utc>>,
    /// The `Content-Type` header, for decoding.
    pub content_type: Option<String>,
    /// The body, decompressed, within the cap; `None` for 304 Not Modified.
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

/// The shared HTTP clients plus the concurrency limits.
pub struct Fetcher {
    /// For the origin the editor configured: resolves and connects anywhere.
    client: reqwest::Client,
    /// For every other address: its resolver drops internal addresses, and it uses no proxy
    /// (a proxy would resolve names where they cannot be checked).
    outward: reqwest::Client,
    settings: Settings,
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Fetcher {
    /// The clients and limits for `settings` (timeouts, User-Agent, concurrency).
    pub fn new(settings: &Settings) -> Result<Fetcher, FetchError> {
        let builder = || {
            reqwest::Client::builder()
                .user_agent(settings.user_agent.clone())
                .connect_timeout(settings.connect_timeout)
                // The whole-request limit is applied around redirects and body in `fetch`, so
                // that it reports as `Timeout` rather than as a transport error. Redirects
                // are followed there too, each hop checked like a first request.
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(settings.per_host)
        };
        let build =
            |b: reqwest::ClientBuilder| b.build().map_err(|e| FetchError::Transport(e.to_string()));
        Ok(Fetcher {
            client: build(builder())?,
            outward: build(builder().no_proxy().dns_resolver(Arc::new(OutwardResolver)))?,
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
    /// `follow = true`): takes the host and global slots, sends no validators. `origin` is
    /// the URL the editor configured for the source this request serves.
    pub async fn get(&self, url: &Url, origin: &Url, accept: &str) -> Result<Response, FetchError> {
        let gate = Arc::new(Semaphore::new(1));
        let _slot = self.slot(url, &gate).await;
        self.fetch(url, origin, &Validators::default(), accept, Utc::now())
            .await
    }

    /// Fetches `url` for `origin` (the URL the editor configured; see the module notes),
    /// sending the validators for a conditional GET. The caller holds a [`Fetcher::slot`]
    /// while this runs. `now` is the clock that Retry-After seconds and max-age are counted
    /// from (pinned in tests).
    pub async fn fetch(
        &self,
        url: &Url,
        origin: &Url,
        validators: &Validators,
        accept: &str,
        now: DateTime<Utc>,
    ) -> Result<Response, FetchError> {
        if url.scheme() == "file" && url == origin {
            return self.read_file(url).await;
        }
        let total = self.settings.timeout;
        let request = self.fetch_http(url, origin, validators, accept, now);
        match tokio::time::timeout(total, request).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout(total)),
        }
    }

    /// Reads a configured local file on the blocking pool, within the body cap and the
    /// total timeout.
    async fn read_file(&self, url: &Url) -> Result<Response, FetchError> {
        let path = url.to_file_path().map_err(|()| FetchError::File {
            path: url.path().to_string(),
            message: "not a local path".into(),
        })?;
        let cap = self.settings.max_body_bytes;
        let total = self.settings.timeout;
        let shown = path.display().to_string();
        let read = tokio::task::spawn_blocking(move || read_regular_file(&path, cap));
        let body = match tokio::time::timeout(total, read).await {
            Err(_) => return Err(FetchError::Timeout(total)),
            Ok(Err(join)) => {
                return Err(FetchError::File {
                    path: shown,
                    message: join.to_string(),
                });
            }
            Ok(Ok(result)) => result?,
        };
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
        origin: &Url,
        validators: &Validators,
        accept: &str,
        now: DateTime<Utc>,
    ) -> Result<Response, FetchError> {
        let stall = self.settings.stall_timeout;
        let mut current = url.clone();
        let mut seen = vec![current.clone()];
        let mut all_permanent = true;
        let response = loop {
            let route = route(&current, origin)?;
            let client = match route {
                Route::Origin => &self.client,
                Route::Outward => &self.outward,
            };
            let mut request = client.get(current.as_str()).header(header::ACCEPT, accept);
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
            // The resolver already refused internal addresses; this also covers a pooled
            // connection or a resolver that was bypassed.
            if route == Route::Outward
                && let Some(peer) = response.remote_addr()
                && let Some(kind) = inward_kind(peer.ip())
            {
                return Err(refused_address(&current, peer.ip(), kind));
            }
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

/// Reads a regular file (not a device, pipe or folder: `/dev/zero` never ends and a FIFO
/// never answers) of at most `cap` bytes, whatever size the file system reports.
fn read_regular_file(path: &Path, cap: u64) -> Result<Vec<u8>, FetchError> {
    let file_err = |message: String| FetchError::File {
        path: path.display().to_string(),
        message,
    };
    let not_regular = || file_err("not a regular file (a device, pipe or folder)".into());
    // Checked before opening, since opening a FIFO waits for a writer.
    let meta = std::fs::metadata(path).map_err(|e| file_err(e.to_string()))?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    if meta.len() > cap {
        return Err(FetchError::TooLarge(cap));
    }
    let file = std::fs::File::open(path).map_err(|e| file_err(e.to_string()))?;
    // And again on what was opened, in case the path changed in between.
    let opened = file.metadata().map_err(|e| file_err(e.to_string()))?;
    if !opened.is_file() {
        return Err(not_regular());
    }
    let expected = usize::try_from(opened.len().min(cap)).unwrap_or(0);
    let mut body = Vec::with_capacity(expected);
    file.take(cap.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| file_err(e.to_string()))?;
    if body.len() as u64 > cap {
        return Err(FetchError::TooLarge(cap));
    }
    Ok(body)
}

/// The resolver of the outward client: addresses the name resolves to that are internal
/// are dropped; a name with only internal addresses is refused. Checking after resolution
/// catches names that point inward (`localhost.`, a partner domain turned hostile) and
/// every address a name has, not only the first.
struct OutwardResolver;

/// A name that resolved only to internal addresses.
#[derive(Debug)]
struct InwardName {
    name: String,
    ip: IpAddr,
    kind: &'static str,
}

impl std::fmt::Display for InwardName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} resolves to {}, {} address, and only the source's own address may be one",
            self.name, self.ip, self.kind
        )
    }
}

impl std::error::Error for InwardName {}

impl reqwest::dns::Resolve for OutwardResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_string();
        Box::pin(async move {
            let lookup = name.clone();
            let found: Vec<SocketAddr> =
                tokio::task::spawn_blocking(move || (lookup.as_str(), 0).to_socket_addrs())
                    .await??
                    .collect();
            let public: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| inward_kind(a.ip()).is_none())
                .collect();
            match (public.is_empty(), found.first()) {
                (true, Some(first)) => Err(Box::new(InwardName {
                    name,
                    ip: first.ip(),
                    kind: inward_kind(first.ip()).unwrap_or("an internal"),
                })
                    as Box<dyn std::error::Error + Send + Sync>),
                _ => Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs),
            }
        })
    }
}

fn transport_error(e: reqwest::Error) -> FetchError {
    // reqwest's own message only repeats the URL the report already names; the causes say
    // what happened ("tcp connect error: Connection refused", "dns error: …").
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        if let Some(inward) = cause.downcast_ref::<InwardName>() {
            let url = e.url().map(shown_url).unwrap_or_default();
            return FetchError::Refused(format!("{url}: {inward}"));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

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

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn internal_addresses_in_every_notation() {
        for inward in [
            "http://127.0.0.1/",
            "http://0x7f.1/",
            "http://2130706433/",
            "http://017700000001/",
            "http://0.0.0.0/",
            "http://10.1.2.3/",
            "http://172.31.255.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.100.100.200/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://[::1]/",
            "http://[::]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::a00:1]/",
            "http://[2002:c0a8:101::1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[ff02::1]/",
        ] {
            let origin = url("https://partner.example.org/feed");
            let refused = route(&url(inward), &origin);
            assert!(
                matches!(refused, Err(FetchError::Refused(_))),
                "{inward}: {refused:?}"
            );
        }
        for public in ["93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1"] {
            let ip: IpAddr = public.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            assert_eq!(inward_kind(ip), None, "{public}");
        }
        let v6: IpAddr = "2606:4700::1111"
            .parse()
            .unwrap_or(IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(inward_kind(v6), None);
    }

    #[test]
    fn the_configured_origin_may_be_internal_and_nothing_else() {
        let origin = url("http://127.0.0.1:8080/noticias");
        assert_eq!(
            route(&url("http://127.0.0.1:8080/nota/1"), &origin).ok(),
            Some(Route::Origin)
        );
        // Another port, scheme or spelling of the host is another origin.
        for other in [
            "http://127.0.0.1:8081/admin",
            "https://127.0.0.1:8080/nota/1",
            "http://127.0.0.2:8080/",
        ] {
            assert!(route(&url(other), &origin).is_err(), "{other}");
        }
        assert_eq!(
            route(&url("http://localhost:8080/"), &origin).ok(),
            Some(Route::Outward)
        );
        // Local files only when the editor named that very file.
        let file = url("file:///srv/boletin/sources/a.xml");
        assert!(route(&url("file:///etc/hostname"), &file).is_err());
        assert!(route(&url("ftp://partner.example.org/"), &origin).is_err());
    }

    #[test]
    fn only_regular_files_within_the_cap() {
        let err = read_regular_file(Path::new("/dev/zero"), 1024).err();
        assert!(
            err.as_ref()
                .is_some_and(|e| e.to_string().contains("not a regular file")),
            "{err:?}"
        );
        let err = read_regular_file(Path::new("/"), 1024).err();
        assert!(matches!(err, Some(FetchError::File { .. })), "{err:?}");
        // /proc files report length 0 and may be long: the cap counts what is read.
        let err = read_regular_file(Path::new("/proc/self/maps"), 8).err();
        assert!(matches!(err, Some(FetchError::TooLarge(8))), "{err:?}");
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
