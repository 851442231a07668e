//! `boletin preview`'s server: an edition on 127.0.0.1, re-rendered whenever the edition
//! file, the config or a template changes, so the editor sees each edit.
//!
//! One tab per language of the edition, each showing exactly the email that language's
//! readers receive (`/es`, `/en`; `/` is the first, or `--lang`'s), with its subject, inbox
//! preview line and plain text (`/es/text`), and the edition's warnings above it: an item
//! id that names another story, a text a language's readers get in another, no item at
//! all. `/archive` is the web archive page, as `compose` writes it. The email sits in a
//! sandboxed frame, so its styles and links are its own.
//!
//! Runs on [`super::http`] (its limits are [`LIMITS`]): requests are answered concurrently,
//! so a stuck connection never holds up the editor's browser. It listens on loopback only
//! and answers only requests addressed to `127.0.0.1:<port>` or `localhost:<port>`: a web
//! page the editor visits could otherwise point a name of its own at 127.0.0.1 (DNS
//! rebinding) and read the unpublished edition. Changes are found by polling modification
//! times on each request; the page polls `/version` once a second and reloads itself when
//! it changes. A render error is shown in the page (the editor fixes the file and the page
//! recovers), never a crash. The edition renders through `publish::render_edition`,
//! exactly as `send` sends it. Prints nothing.

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
use crate::publish::{RenderedVersion, Versions, links, mime, render_edition};
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
    /// The tab `/` shows (when the edition has this language) and the language of the
    /// archive page's own words, as `compose --lang` writes it.
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
    /// One per language of the edition, `/` first; none when the edition does not render.
    tabs: Vec<Tab>,
    /// `/` and `/text` when there are no tabs: the error.
    error: Option<String>,
    archive: String,
    /// Bumped on every re-render; the page reloads when it changes.
    version: u64,
    stamp: Vec<(PathBuf, Option<SystemTime>)>,
}

const RELOAD: &str = "<script>(function(){var v=null;setInterval(function(){fetch('/version').then(function(r){return r.text()}).then(function(t){if(v!==null&&t!==v){location.reload()}v=t}).catch(function(){})},1000)})();</script>";

/// One language version, as its readers receive it.
struct Tab {
    lang: Lang,
    /// The tab's page: the tabs, the subject, the warnings and the email in a frame.
    page: String,
    /// The plain-text part.
    text: String,
}

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
            let (mut page, dir) = render_all(settings);
            rendered.templates = dir.or(rendered.templates.take());
            page.version = rendered.page.as_ref().map_or(1, |p| p.version + 1);
            // Stamp after rendering with the (possibly new) templates folder.
            page.stamp = mtimes(settings, rendered.templates.as_deref());
            rendered.page = Some(page);
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
        let (tab, part) = match path {
            "/" | "/index.html" => (page.tabs.first(), "page"),
            "/text" => (page.tabs.first(), "text"),
            "/archive" => return (StatusCode::OK, html, page.archive.clone()),
            "/version" => return (StatusCode::OK, text, page.version.to_string()),
            other => {
                let (code, part) = other
                    .trim_start_matches('/')
                    .split_once('/')
                    .unwrap_or((other.trim_start_matches('/'), "page"));
                let tab = page.tabs.iter().find(|t| t.lang.code() == code);
                match (tab, part) {
                    (Some(tab), "" | "page" | "text") => (Some(tab), part),
                    _ => return (StatusCode::NOT_FOUND, text, "not found\n".to_string()),
                }
            }
        };
        match (tab, part) {
            (Some(tab), "text") => (StatusCode::OK, text, tab.text.clone()),
            (Some(tab), _) => (StatusCode::OK, html, tab.page.clone()),
            (None, "text") => (StatusCode::OK, text, page.error.clone().unwrap_or_default()),
            (None, _) => (
                StatusCode::OK,
                html,
                error_page(page.error.as_deref().unwrap_or_default()),
            ),
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

/// Renders everything once: a tab per language, the archive page, and the templates
/// folder of the config just read. An error becomes the page.
fn render_all(settings: &PreviewSettings) -> (Page, Option<PathBuf>) {
    let page = |tabs: Vec<Tab>, error: Option<String>, archive: String| Page {
        tabs,
        error,
        archive,
        version: 0,
        stamp: Vec::new(),
    };
    let config = match config::load(&settings.config_path) {
        Ok(c) => c,
        Err(e) => {
            let m = e.to_string();
            return (page(Vec::new(), Some(m.clone()), error_page(&m)), None);
        }
    };
    let templates = Some(config.newsletter.templates.clone());
    let result = (|| -> Result<(Vec<Tab>, String), String> {
        let store = Store::open_existing(&settings.db).map_err(|e| e.to_string())?;
        let unsubscribe = links::default_unsubscribe_url(&config);
        let render = |versions| {
            render_edition(&config, &store, &settings.edition, versions, &unsubscribe)
                .map_err(|e| e.to_string())
        };
        let published = render(Versions::PerLanguage)?;
        // The web archive page is the one version `compose` writes, every language at once.
        let joined = render(Versions::One(settings.lang))?;
        let archive = joined
            .renderer
            .archive_page(&joined.first.view)
            .map_err(|e| e.to_string())?;
        let warnings: Vec<String> = published
            .warnings
            .iter()
            .chain(&published.empty_warning())
            .map(ToString::to_string)
            .collect();
        let langs: Vec<Lang> = published.versions().map(|v| v.lang).collect();
        let mut tabs: Vec<Tab> = published
            .versions()
            .map(|v| Tab {
                lang: v.lang,
                page: tab_page(v, &langs, &warnings),
                text: v.email.text.clone(),
            })
            .collect();
        if let Some(at) = tabs.iter().position(|t| Some(t.lang) == settings.lang) {
            tabs[..=at].rotate_right(1);
        }
        Ok((tabs, inject(&archive)))
    })();
    match result {
        Ok((tabs, archive)) => (page(tabs, None, archive), templates),
        Err(m) => (page(Vec::new(), Some(m.clone()), error_page(&m)), templates),
    }
}

/// The name of a language in itself, for its tab.
fn endonym(lang: Lang) -> &'static str {
    match lang {
        Lang::Es => "Español",
        Lang::En => "English",
    }
}

const TAB_STYLE: &str = "html,body{margin:0;height:100%}\
body{display:flex;flex-direction:column;background:#f2efe9;color:#222;font:15px/1.45 system-ui,Arial,sans-serif}\
header{padding:10px 12px 0;background:#fff;border-bottom:2px solid #8b1e3f}\
nav{display:flex;flex-wrap:wrap;gap:4px}\
nav a{padding:8px 16px;border:1px solid #d9d2c5;border-bottom:0;border-radius:6px 6px 0 0;background:#f7f4ef;color:#8b1e3f;text-decoration:none}\
nav a[aria-current=page]{background:#8b1e3f;border-color:#8b1e3f;color:#fff;font-weight:bold}\
.meta{margin:8px 0;overflow-wrap:anywhere}\
.meta b{color:#5f5f5f;font-weight:normal}\
ul{margin:0 0 8px;padding:0;list-style:none}\
li{margin:4px 0;padding:6px 10px;border-left:4px solid #b36b00;background:#fff4d6;overflow-wrap:anywhere}\
iframe{flex:1;width:100%;min-height:60vh;border:0;background:#fff}\
@media (prefers-color-scheme:dark){header{background:#262626;color:#eee}li{background:#3a2f17;color:#eee}.meta b{color:#bbb}}";

/// A tab's page: the tabs of every language in `langs`, this version's subject and inbox
/// line, the edition's warnings, and the email itself in a sandboxed frame (its links open
/// outside the preview, as a mail client opens them).
fn tab_page(version: &RenderedVersion, langs: &[Lang], warnings: &[String]) -> String {
    let code = version.lang.code();
    let tabs: String = langs
        .iter()
        .map(|&l| {
            let current = if l == version.lang {
                " aria-current=\"page\""
            } else {
                ""
            };
            format!(
                "<a href=\"/{0}\" hreflang=\"{0}\" lang=\"{0}\"{current}>{1}</a>",
                l.code(),
                endonym(l)
            )
        })
        .collect();
    let warnings: String = if warnings.is_empty() {
        String::new()
    } else {
        let items: String = warnings
            .iter()
            .map(|w| format!("<li>{}</li>", escape(w)))
            .collect();
        format!("<ul aria-label=\"Warnings\">{items}</ul>")
    };
    let subject = mime::clean_subject(&version.email.subject);
    let email = version
        .email
        .html
        .replacen("<head>", "<head><base target=\"_blank\">", 1);
    format!(
        "<!DOCTYPE html><html lang=\"{code}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title} · {code} · boletin preview</title><style>{TAB_STYLE}</style></head><body><header><nav aria-label=\"Versions\">{tabs}</nav><p class=\"meta\"><b>Subject:</b> {title}<br><b>Inbox line:</b> {preheader}<br><a href=\"/{code}/text\">Plain text</a> · <a href=\"/archive\">Web archive page</a></p>{warnings}</header><iframe title=\"{endonym}: the email\" sandbox=\"allow-popups allow-popups-to-escape-sandbox\" srcdoc=\"{srcdoc}\"></iframe>{RELOAD}</body></html>",
        title = escape(&subject),
        preheader = escape(&version.view.preheader),
        endonym = endonym(version.lang),
        srcdoc = escape(&email),
    )
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
