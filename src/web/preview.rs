//! `boletin preview`'s server: an edition on 127.0.0.1, re-rendered whenever the edition
//! file, the config or a template changes, so the editor sees each edit.
//!
//! Runs on [`super::http`] (its limits are [`LIMITS`]): requests are answered concurrently,
//! so a stuck connection never holds up the editor's browser. It listens on loopback only
//! and answers only requests addressed to `127.0.0.1:<port>` or `localhost:<port>`: a web
//! page the editor visits could otherwise point a name of its own at 127.0.0.1 (DNS
//! rebinding) and read the unpublished edition. Changes are found by polling modification
//! times on each request; the page polls `/version` once a second and reloads itself when
//! it changes. A render error is shown in the page (the editor fixes the file and the page
//! recovers), never a crash. The edition renders through `publish::render_edition`,
//! exactly as `compose` writes it. Prints nothing.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::http::{self, BindError, Limits};
use crate::config;
use crate::html::escape::escape;
use crate::lang::Lang;
use crate::publish::{Versions, links, render_edition};
use crate::store::Store;

/// What `preview` accepts: one editor's browser, requests without bodies. One request
/// per connection, as the page's once-a-second poll needs no more.
pub const LIMITS: Limits = Limits {
    header_bytes: 32 * 1024,
    body_bytes: 1024,
    header_timeout: Duration::from_secs(10),
    request_timeout: Duration::from_secs(30),
    stall_timeout: Duration::from_secs(30),
    connections: 128,
    keep_alive: false,
};

/// What the preview shows and where it reads it from.
#[derive(Debug, Clone)]
pub struct PreviewSettings {
    /// `feeds.toml`, re-read when it changes.
    pub config_path: PathBuf,
    /// The store the edition's items are read from.
    pub db: PathBuf,
    /// The edition file being edited, re-rendered when it changes.
    pub edition: PathBuf,
    /// The email's own words in this language, else in the edition's.
    pub lang: Option<Lang>,
    /// The templates folder of the config as first loaded (a later config may move it).
    pub templates: PathBuf,
}

/// A listener on 127.0.0.1:`port` (0: any free port) and the address it got.
pub fn bind(port: u16) -> Result<(TcpListener, SocketAddr), BindError> {
    http::bind(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// What the browser gets, rebuilt when an input changes.
struct Page {
    html: String,
    text: String,
    archive: String,
    /// Bumped on every re-render; the page reloads when it changes.
    version: u64,
    stamp: Vec<(PathBuf, Option<SystemTime>)>,
}

const RELOAD: &str = "<script>(function(){var v=null;setInterval(function(){fetch('/version').then(function(r){return r.text()}).then(function(t){if(v!==null&&t!==v){location.reload()}v=t}).catch(function(){})},1000)})();</script>";

/// The rendered page and what it was rendered from.
struct Rendered {
    page: Option<Page>,
    templates: Option<PathBuf>,
}

struct Preview {
    settings: PreviewSettings,
    /// The port the browser must name in `Host`.
    port: u16,
    rendered: Mutex<Rendered>,
}

/// Serves the preview on `listener` (from [`bind`]) until `stop` completes.
pub async fn run(
    listener: TcpListener,
    settings: PreviewSettings,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let port = listener.local_addr()?.port();
    let templates = Some(settings.templates.clone());
    let preview = Preview {
        settings,
        port,
        rendered: Mutex::new(Rendered {
            page: None,
            templates,
        }),
    };
    let app = Router::new().fallback(answer).with_state(Arc::new(preview));
    http::run(listener, app, LIMITS, stop).await
}

async fn answer(
    State(preview): State<Arc<Preview>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if !addressed_to_us(&headers, &uri, preview.port) {
        let text = format!(
            "the preview answers only http://127.0.0.1:{0}/ and http://localhost:{0}/\n",
            preview.port
        );
        return plain(StatusCode::MISDIRECTED_REQUEST, text);
    }
    if method != Method::GET && method != Method::HEAD {
        let mut r = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed\n".into(),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let path = uri.path().to_string();
    // Checking the files and rendering block; the other requests go on meanwhile.
    let page = tokio::task::spawn_blocking(move || preview.respond(&path)).await;
    match page {
        Ok((status, kind, body)) => {
            let mut r = (status, body).into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(_) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the preview failed\n".into(),
        ),
    }
}

fn plain(status: StatusCode, text: String) -> Response {
    let mut r = (status, text).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Whether the request names this preview, and only it, as its host: one `Host` header
/// that is `127.0.0.1:<port>` or `localhost:<port>` (in any case), and the same in an
/// absolute-form request target if there is one. Anything else is a name that someone
/// else controls, or a client that never said.
fn addressed_to_us(headers: &HeaderMap, uri: &Uri, port: u16) -> bool {
    let ours = |host: &str| {
        host.rsplit_once(':').is_some_and(|(name, p)| {
            p == port.to_string() && (name == "127.0.0.1" || name.eq_ignore_ascii_case("localhost"))
        })
    };
    let mut hosts = headers.get_all(header::HOST).iter();
    let host_ok = match (hosts.next(), hosts.next()) {
        (Some(host), None) => host.to_str().is_ok_and(ours),
        _ => false,
    };
    host_ok && uri.authority().is_none_or(|a| ours(a.as_str()))
}

impl Preview {
    /// The answer to `path`, re-rendering first if an input changed. Blocking.
    fn respond(&self, path: &str) -> (StatusCode, &'static str, String) {
        let mut rendered = self.rendered.lock().unwrap_or_else(PoisonError::into_inner);
        let settings = &self.settings;
        let stamp = mtimes(settings, rendered.templates.as_deref());
        let stale = rendered.page.as_ref().is_none_or(|p| p.stamp != stamp);
        if stale {
            let (html, text, archive, dir) = render_all(settings);
            rendered.templates = dir.or(rendered.templates.take());
            let version = rendered.page.as_ref().map_or(1, |p| p.version + 1);
            // Stamp after rendering with the (possibly new) templates folder.
            let stamp = mtimes(settings, rendered.templates.as_deref());
            rendered.page = Some(Page {
                html,
                text,
                archive,
                version,
                stamp,
            });
        }
        let Some(page) = &rendered.page else {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                String::new(),
            );
        };
        let html = "text/html; charset=utf-8";
        let text = "text/plain; charset=utf-8";
        match path {
            "/" | "/index.html" => (StatusCode::OK, html, page.html.clone()),
            "/text" => (StatusCode::OK, text, page.text.clone()),
            "/archive" => (StatusCode::OK, html, page.archive.clone()),
            "/version" => (StatusCode::OK, text, page.version.to_string()),
            _ => (StatusCode::NOT_FOUND, text, "not found\n".to_string()),
        }
    }
}

fn mtimes(
    settings: &PreviewSettings,
    templates: Option<&Path>,
) -> Vec<(PathBuf, Option<SystemTime>)> {
    let mut paths = vec![settings.edition.clone(), settings.config_path.clone()];
    if let Some(dir) = templates {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            if let Ok(entries) = std::fs::read_dir(&d) {
                for e in entries.flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else {
                        paths.push(p);
                    }
                }
            }
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let t = std::fs::metadata(&p).and_then(|m| m.modified()).ok();
            (p, t)
        })
        .collect()
}

fn error_page(message: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>boletin preview: error</title></head><body style=\"font:16px/1.5 sans-serif;padding:2rem;\"><h1 style=\"color:#8b1e3f;\">The edition does not render</h1><pre style=\"white-space:pre-wrap;\">{}</pre><p>Fix the file; this page reloads by itself.</p>{RELOAD}</body></html>",
        escape(message)
    )
}

/// Renders everything once: the email's HTML and text, the archive page, and the
/// templates folder of the config just read. An error becomes the page.
fn render_all(settings: &PreviewSettings) -> (String, String, String, Option<PathBuf>) {
    let config = match config::load(&settings.config_path) {
        Ok(c) => c,
        Err(e) => {
            let m = e.to_string();
            return (error_page(&m), m.clone(), error_page(&m), None);
        }
    };
    let templates = Some(config.newsletter.templates.clone());
    let result = (|| -> Result<(String, String, String), String> {
        let store = Store::open_existing(&settings.db).map_err(|e| e.to_string())?;
        let published = render_edition(
            &config,
            &store,
            &settings.edition,
            Versions::One(settings.lang),
            &links::default_unsubscribe_url(&config),
        )
        .map_err(|e| e.to_string())?;
        let archive = published
            .renderer
            .archive_page(&published.first.view)
            .map_err(|e| e.to_string())?;
        let email = published.first.email;
        Ok((email.html, email.text, archive))
    })();
    match result {
        Ok((html, text, archive)) => (inject(&html), text, inject(&archive), templates),
        Err(m) => (error_page(&m), m.clone(), error_page(&m), templates),
    }
}

fn inject(html: &str) -> String {
    match html.rfind("</body>") {
        Some(at) => format!("{}{RELOAD}{}", &html[..at], &html[at..]),
        None => format!("{html}{RELOAD}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_host(host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(host) {
            h.insert(header::HOST, v);
        }
        h
    }

    #[test]
    fn only_loopback_names_with_our_port_are_answered() {
        let path = Uri::from_static("/");
        for ok in ["127.0.0.1:8047", "localhost:8047", "LocalHost:8047"] {
            assert!(addressed_to_us(&with_host(ok), &path, 8047), "{ok}");
        }
        for bad in [
            "evil.example:8047",
            "localhost.:8047",
            "127.0.0.1",
            "127.0.0.1:80",
            "localhost:8047.evil.example",
            "127.0.0.1.nip.io:8047",
            "[::1]:8047",
            "",
        ] {
            assert!(!addressed_to_us(&with_host(bad), &path, 8047), "{bad}");
        }
        assert!(!addressed_to_us(&HeaderMap::new(), &path, 8047), "no Host");
        let absolute = Uri::from_static("http://evil.example:8047/");
        assert!(!addressed_to_us(
            &with_host("127.0.0.1:8047"),
            &absolute,
            8047
        ));
    }
}
