//! `boletin serve`: the one-click unsubscribe endpoint, the signup form and the web
//! archive of editions, meant to sit behind the organization's HTTPS reverse proxy.
//!
//! - `GET <unsubscribe path>?token=…` shows a confirmation page in the subscriber's
//!   language with a button; it never unsubscribes by itself (mail scanners follow links).
//! - `POST` to the same URL with the body `List-Unsubscribe=One-Click` (RFC 8058; what
//!   Gmail and Yahoo send, and what the button sends) unsubscribes at once: 200, no
//!   redirect, no login. A test send's token gets a page saying so, and changes nothing.
//! - A missing, forged or altered token gets one generic page that says nothing about
//!   who, if anyone, the token was for.
//! - `/subscribe` and its confirmation page, when sending is configured: see
//!   [`super::subscribe`].
//! - Everything else is a static file from the `compose` output folder (the archive), never
//!   one reached through a symlink that leads out of it. Redirects name a path, never a host.
//!
//! Runs on [`super::http`] (its limits are [`LIMITS`]); the database work goes to a few
//! connections on the blocking pool, so a slow disk or a busy database holds up neither
//! the archive nor other clients.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use tokio::sync::Semaphore;

use super::http::{self, BindError, Limits};
use super::subscribe::{self, Desk, SignupConfig};
use crate::deliver::token::{self, Secret};
use crate::html::escape::escape;
use crate::lang::Lang;
use crate::store::{Store, StoreError, SuppressionReason};

/// What `serve` accepts. Forms here are a few dozen bytes; headers get the room that
/// reverse proxies and browsers with a few cookies need.
pub const LIMITS: Limits = Limits {
    header_bytes: 32 * 1024,
    body_bytes: 16 * 1024,
    header_timeout: Duration::from_secs(10),
    request_timeout: Duration::from_secs(10),
    stall_timeout: Duration::from_secs(30),
    connections: 512,
    keep_alive: true,
};

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The listener failed.
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

/// What the server needs to know.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The store whose suppressions unsubscribes write.
    pub db: PathBuf,
    /// The folder `compose` writes (`out/`): `archive/` and one folder per edition.
    pub archive_dir: PathBuf,
    /// Verifies unsubscribe tokens (the same secret `send` signs with).
    pub secret: Secret,
    /// The path of `[delivery] unsubscribe_url` (`/unsubscribe` is always answered too).
    pub unsubscribe_path: String,
    /// The language of pages for a subscriber whose language is unknown.
    pub default_lang: Lang,
    /// The newsletter's title, shown on the pages.
    pub title: String,
    /// The signup form and its confirmations; `None` when sending is not configured.
    pub signup: Option<SignupConfig>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (for the signup's rate
    /// limits); from any other peer the header is ignored.
    pub trusted_proxies: Vec<IpAddr>,
}

/// A reply, before the security headers every answer carries.
pub(super) struct Reply {
    status: u16,
    content_type: &'static str,
    pub(super) headers: Vec<(HeaderName, String)>,
    body: Body,
}

impl Reply {
    pub(super) fn html(status: u16, body: String) -> Reply {
        Reply {
            status,
            content_type: "text/html; charset=utf-8",
            headers: vec![
                (header::CACHE_CONTROL, "no-store".into()),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
                        .into(),
                ),
            ],
            body: body.into(),
        }
    }

    pub(super) fn plain(status: u16, text: &'static str) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
            body: text.into(),
        }
    }

    pub(super) fn unavailable() -> Reply {
        Reply::plain(503, "database unavailable; try again later\n")
    }

    /// A redirect to `path` on this same host (see [`path_only`]).
    fn redirect(status: u16, path: &str) -> Reply {
        let mut r = Reply::plain(status, "moved\n");
        r.headers.push((header::LOCATION, path_only(path)));
        r
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = Response::new(self.body);
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        // Unsubscribe URLs carry a token: never leak it to another site.
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        response
    }
}

/// `path` as a `Location` that stays on this host: `//evil.example/` and `/\evil.example/`
/// are read by browsers as another host, so any run of leading slashes or backslashes
/// becomes one slash.
fn path_only(path: &str) -> String {
    format!("/{}", path.trim_start_matches(['/', '\\']))
}

/// A bound server, ready to [`run`].
pub struct Bound {
    listener: std::net::TcpListener,
    addr: std::net::SocketAddr,
}

impl Bound {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> String {
        self.addr.to_string()
    }
}

/// Binds `addr` (e.g. `127.0.0.1:8080`).
pub fn bind(addr: &str) -> Result<Bound, ServeError> {
    let (listener, addr) = http::bind(addr)?;
    Ok(Bound { listener, addr })
}

/// Database connections shared by the requests, at most `slots` in use at once.
pub(super) struct Stores {
    db: PathBuf,
    idle: Mutex<Vec<Store>>,
    slots: Semaphore,
}

impl Stores {
    /// Runs `work` with a connection on the blocking pool; `None` if the database cannot be
    /// opened (or `work` panicked).
    pub(super) async fn with<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&mut Store) -> T + Send + 'static,
    ) -> Option<T> {
        let _slot = self.slots.acquire().await.ok()?;
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let idle = this
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let mut store = match idle {
                Some(store) => store,
                None => Store::open(&this.db).ok()?,
            };
            let out = work(&mut store);
            this.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(store);
            Some(out)
        })
        .await
        .ok()
        .flatten()
    }
}

pub(super) struct App {
    pub(super) cfg: ServeConfig,
    pub(super) stores: Arc<Stores>,
    /// The signup's rate limits and outgoing confirmations, when signup is on.
    pub(super) desk: Option<Desk>,
}

/// Answers requests until `stop` completes (then finishes those in flight). `threads`
/// database connections serve the unsubscribe requests.
pub async fn run(
    bound: Bound,
    cfg: ServeConfig,
    threads: usize,
    stop: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    // Fail before accepting anything if the database is unusable.
    let first = Store::open(&cfg.db)?;
    let stores = Arc::new(Stores {
        db: cfg.db.clone(),
        idle: Mutex::new(vec![first]),
        slots: Semaphore::new(threads.max(1)),
    });
    let desk = cfg.signup.as_ref().map(Desk::open).transpose()?;
    let app = Arc::new(App { cfg, stores, desk });
    let router = Router::new().fallback(answer).with_state(Arc::clone(&app));
    http::run(bound.listener, router, LIMITS, stop).await?;
    if let Some(desk) = &app.desk {
        // Confirmations already promised on a page go out before the process ends.
        desk.drain(Duration::from_secs(10)).await;
    }
    Ok(())
}

async fn answer(State(app): State<Arc<App>>, request: Request) -> Reply {
    let path = request.uri().path();
    if path == app.cfg.unsubscribe_path || path == "/unsubscribe" {
        return unsubscribe(app, request).await;
    }
    // `/subscribe/` is `/subscribe`: people type the slash, and sites link with it.
    let path = match path.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    };
    if let Some(signup) = &app.cfg.signup {
        if path == signup.path || path == "/subscribe" {
            return subscribe::form(app, request).await;
        }
        if path == signup.confirm_path() || path == "/subscribe/confirm" {
            return subscribe::confirm(app, request).await;
        }
    }
    let (method, path) = (request.method(), request.uri().path());
    match *method {
        Method::GET | Method::HEAD => {
            archive(&app.cfg.archive_dir, path, method == Method::HEAD).await
        }
        _ => method_not_allowed("GET, HEAD"),
    }
}

/// The value of `name` in the query of `uri` (empty when absent).
pub(super) fn query_param(uri: &Uri, name: &str) -> String {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Where a page's form posts back to: the path and query it came from, never a host a
/// client named in an absolute-form request target.
pub(super) fn same_target(uri: &Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string())
}

/// The body of a GET (none) or a POST (read up to the cap); any other method is refused.
pub(super) async fn form_body(method: &Method, body: Body) -> Result<Option<Bytes>, Reply> {
    match *method {
        Method::GET | Method::HEAD => Ok(None),
        Method::POST => match axum::body::to_bytes(body, LIMITS.body_bytes).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if too_long(&e) => Err(Reply::plain(413, "request body too large\n")),
            Err(_) => Err(Reply::plain(400, "the request body could not be read\n")),
        },
        _ => Err(method_not_allowed("GET, HEAD, POST")),
    }
}

async fn unsubscribe(app: Arc<App>, request: Request) -> Reply {
    let (parts, body) = request.into_parts();
    let token = query_param(&parts.uri, "token");
    let target = same_target(&parts.uri);
    let body = match form_body(&parts.method, body).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let stores = Arc::clone(&app.stores);
    stores
        .with(move |store| match body {
            None => unsubscribe_page(&app.cfg, store, &token, &target),
            Some(body) => unsubscribe_post(&app.cfg, store, &token, &body),
        })
        .await
        .unwrap_or_else(Reply::unavailable)
}

/// Whether a body error is the body cap rather than a broken connection.
fn too_long(e: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

pub(super) fn method_not_allowed(allow: &str) -> Reply {
    let mut r = Reply::plain(405, "method not allowed\n");
    r.headers.push((header::ALLOW, allow.to_string()));
    r
}

/// What a token turned out to be, once checked.
enum Holder {
    /// Not a genuine token.
    Invalid,
    /// A genuine token whose subscriber is gone.
    Nobody,
    /// A test send's token: it names nobody, and following it changes nothing.
    Test(Lang),
    Subscriber {
        email: String,
        lang: Lang,
        unsubscribed: bool,
    },
}

fn holder(cfg: &ServeConfig, store: &Store, token: &str) -> Result<Holder, StoreError> {
    if let Some(lang) = token::verify_test(&cfg.secret, token) {
        return Ok(Holder::Test(lang));
    }
    let Some(id) = token::verify(&cfg.secret, token) else {
        return Ok(Holder::Invalid);
    };
    Ok(match store.subscriber(id)? {
        None => Holder::Nobody,
        Some(s) => Holder::Subscriber {
            email: s.email,
            lang: s.language,
            unsubscribed: s.suppressed.is_some(),
        },
    })
}

/// `m•••a@example.org`: enough for the reader to recognize, little for anyone else.
pub(super) fn masked(email: &str) -> String {
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let chars: Vec<char> = local.chars().collect();
    let shown = match chars.len() {
        0..=2 => format!(
            "{}•••",
            chars.first().map(|c| c.to_string()).unwrap_or_default()
        ),
        n => format!("{}•••{}", chars[0], chars[n - 1]),
    };
    format!("{shown}@{domain}")
}

struct Words {
    confirm_title: &'static str,
    confirm_text: &'static str,
    button: &'static str,
    done_title: &'static str,
    done_text: &'static str,
    /// After `done_text` when there is no signup form to link to (an editor can add the
    /// reader back with `subscribers add`).
    write_to_us: &'static str,
    /// After `done_text`: the link back in through the signup form.
    mistake: &'static str,
    subscribe_again: &'static str,
    test_title: &'static str,
    test_text: &'static str,
}

fn words(lang: Lang) -> Words {
    match lang {
        Lang::Es => Words {
            confirm_title: "Cancelar la suscripción",
            confirm_text: "¿Quieres dejar de recibir este boletín en",
            button: "Cancelar mi suscripción",
            done_title: "Suscripción cancelada",
            done_text: "Listo: ya no recibirás este boletín.",
            write_to_us: "Si fue un error, escríbenos y te volvemos a suscribir.",
            mistake: "¿Fue un error?",
            subscribe_again: "Vuelve a suscribirte",
            test_title: "Envío de prueba",
            test_text: "Este enlace viene de un envío de prueba del boletín. No se cambió nada: ninguna suscripción se canceló.",
        },
        Lang::En => Words {
            confirm_title: "Unsubscribe",
            confirm_text: "Do you want to stop receiving this newsletter at",
            button: "Unsubscribe me",
            done_title: "You are unsubscribed",
            done_text: "Done: you will not receive this newsletter any more.",
            write_to_us: "If this was a mistake, write to us and we will add you back.",
            mistake: "A mistake?",
            subscribe_again: "Subscribe again",
            test_title: "Test send",
            test_text: "This link comes from a test send of the newsletter. Nothing was changed: no subscription was cancelled.",
        },
    }
}

/// A whole page in the look every `serve` page shares; `inner` is HTML. A long address or
/// link wraps anywhere rather than widen a phone's page.
pub(super) fn page(lang: Lang, site: &str, title: &str, inner: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"robots\" content=\"noindex\"><title>{} · {}</title></head>\
<body style=\"font-family:Arial,Helvetica,sans-serif;max-width:36em;margin:3em auto;padding:0 1em;color:#222;line-height:1.5;overflow-wrap:anywhere;word-break:break-word\">\
<p style=\"color:#8b1e3f;font-weight:bold\">{}</p><h1 style=\"font-family:Georgia,serif\">{}</h1>{}</body></html>\n",
        lang.code(),
        escape(title),
        escape(site),
        escape(site),
        escape(title),
        inner
    )
}

/// The one answer for tokens that are not genuine, in both languages.
pub(super) fn invalid_link(cfg: &ServeConfig) -> Reply {
    Reply::html(
        400,
        page(
            cfg.default_lang,
            &cfg.title,
            "Enlace no válido · Invalid link",
            "<p lang=\"es\">Este enlace no es válido. Usa el enlace completo del correo que recibiste.</p>\
<p lang=\"en\">This link is not valid. Use the complete link from the email you received.</p>",
        ),
    )
}

fn done_page(cfg: &ServeConfig, lang: Lang) -> Reply {
    let w = words(lang);
    let back = match &cfg.signup {
        Some(signup) => format!(
            "{} <a href=\"{}\" style=\"color:#8b1e3f\">{}</a>.",
            escape(w.mistake),
            escape(&format!("{}?lang={}", signup.path, lang.code())),
            escape(w.subscribe_again)
        ),
        None => escape(w.write_to_us),
    };
    Reply::html(
        200,
        page(
            lang,
            &cfg.title,
            w.done_title,
            &format!("<p>{} {back}</p>", escape(w.done_text)),
        ),
    )
}

/// What a test send's link leads to, whether followed or posted: nothing changes.
fn test_page(cfg: &ServeConfig, lang: Lang) -> Reply {
    let w = words(lang);
    Reply::html(
        200,
        page(
            lang,
            &cfg.title,
            w.test_title,
            &format!("<p>{}</p>", escape(w.test_text)),
        ),
    )
}

fn unsubscribe_page(cfg: &ServeConfig, store: &Store, token: &str, target: &str) -> Reply {
    match holder(cfg, store, token) {
        Err(_) => Reply::unavailable(),
        Ok(Holder::Invalid) => invalid_link(cfg),
        Ok(Holder::Test(lang)) => test_page(cfg, lang),
        Ok(Holder::Nobody) => done_page(cfg, cfg.default_lang),
        Ok(Holder::Subscriber {
            unsubscribed: true,
            lang,
            ..
        }) => done_page(cfg, lang),
        Ok(Holder::Subscriber { email, lang, .. }) => {
            let w = words(lang);
            let inner = format!(
                "<p>{} <strong>{}</strong>?</p>\
<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
<button type=\"submit\" style=\"font-size:1.1em;padding:.6em 1.2em;background:#8b1e3f;color:#fff;border:0;border-radius:4px;cursor:pointer\">{}</button></form>",
                escape(w.confirm_text),
                escape(&masked(&email)),
                escape(target),
                escape(w.button)
            );
            Reply::html(200, page(lang, &cfg.title, w.confirm_title, &inner))
        }
    }
}

/// RFC 8058: the body is `List-Unsubscribe=One-Click`, form-urlencoded or multipart.
fn is_one_click(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    if url::form_urlencoded::parse(text.trim().as_bytes())
        .any(|(k, v)| k == "List-Unsubscribe" && v == "One-Click")
    {
        return true;
    }
    // multipart/form-data: a part named List-Unsubscribe whose value is One-Click.
    text.split("name=\"List-Unsubscribe\"")
        .nth(1)
        .and_then(|rest| {
            rest.split("\r\n\r\n")
                .nth(1)
                .or_else(|| rest.split("\n\n").nth(1))
        })
        .is_some_and(|v| v.trim_start().starts_with("One-Click"))
}

fn unsubscribe_post(cfg: &ServeConfig, store: &Store, token: &str, body: &[u8]) -> Reply {
    match holder(cfg, store, token) {
        Err(_) => Reply::unavailable(),
        Ok(Holder::Invalid) => invalid_link(cfg),
        Ok(Holder::Test(lang)) => test_page(cfg, lang),
        Ok(_) if !is_one_click(body) => Reply::plain(400, "expected List-Unsubscribe=One-Click\n"),
        Ok(Holder::Nobody) => done_page(cfg, cfg.default_lang),
        Ok(Holder::Subscriber { email, lang, .. }) => {
            match store.suppress(
                &email,
                SuppressionReason::Unsubscribed,
                "one-click unsubscribe",
                Utc::now(),
            ) {
                Ok(_) => done_page(cfg, lang),
                Err(_) => Reply::unavailable(),
            }
        }
    }
}

fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("xml" | "rss" | "atom") => "application/xml; charset=utf-8",
        Some("json") => "application/json",
        Some("eml") => "message/rfc822",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("svg") => "image/svg+xml",
        Some("ico") => "image/x-icon",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// Where a request path leads in the archive.
#[derive(Debug)]
enum Lookup {
    /// A regular file inside the archive: the path asked for (its extension names the
    /// type), the file and its length.
    File(PathBuf, std::fs::File, u64),
    Redirect(u16, String),
    Missing,
}

/// Resolves a raw request path (still percent-encoded) inside `root`. Blocking.
fn locate(root: &Path, raw: &str) -> Lookup {
    let mut path = root.to_path_buf();
    let mut segments = Vec::new();
    for seg in raw.split('/').filter(|s| !s.is_empty()) {
        let Ok(decoded) = percent_decode(seg) else {
            return Lookup::Missing;
        };
        // No way out of the archive folder, and no hidden files.
        if decoded.starts_with('.') || decoded.contains(['/', '\\', '\0']) {
            return Lookup::Missing;
        }
        path.push(decoded);
        segments.push(seg);
    }
    // Symlinks may point anywhere inside the archive, and nowhere outside it.
    let Ok(real_root) = root.canonicalize() else {
        return Lookup::Missing;
    };
    let inside = |p: &Path| {
        p.canonicalize()
            .ok()
            .filter(|real| real.starts_with(&real_root))
    };
    let Some(mut real) = inside(&path) else {
        return Lookup::Missing;
    };
    if real.is_dir() {
        if !raw.ends_with('/') {
            // Rebuilt from the non-empty segments: `//archive` leads to `/archive/`.
            return Lookup::Redirect(301, format!("/{}/", segments.join("/")));
        }
        path.push("index.html");
        match inside(&path) {
            Some(index) => real = index,
            None if segments.is_empty() && inside(&root.join("archive/index.html")).is_some() => {
                return Lookup::Redirect(302, "/archive/".into());
            }
            None => return Lookup::Missing,
        }
    }
    // A regular file only: a FIFO or a device would block or never end.
    match std::fs::metadata(&real) {
        Ok(meta) if meta.is_file() => match std::fs::File::open(&real) {
            Ok(file) => Lookup::File(path, file, meta.len()),
            Err(_) => Lookup::Missing,
        },
        _ => Lookup::Missing,
    }
}

async fn archive(root: &Path, raw: &str, head: bool) -> Reply {
    let root = root.to_path_buf();
    let raw = raw.to_string();
    let found = tokio::task::spawn_blocking(move || locate(&root, &raw)).await;
    match found {
        Ok(Lookup::File(path, file, len)) => {
            let body = if head {
                Body::empty()
            } else {
                let file = tokio::fs::File::from_std(file);
                Body::from_stream(tokio_util::io::ReaderStream::new(file))
            };
            Reply {
                status: 200,
                content_type: content_type(&path),
                headers: vec![
                    (header::CONTENT_LENGTH, len.to_string()),
                    (header::CACHE_CONTROL, "public, max-age=300".into()),
                    (
                        header::CONTENT_SECURITY_POLICY,
                        "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; frame-ancestors 'none'"
                            .into(),
                    ),
                ],
                body,
            }
        }
        Ok(Lookup::Redirect(status, location)) => Reply::redirect(status, &location),
        Ok(Lookup::Missing) | Err(_) => Reply::plain(404, "not found\n"),
    }
}

fn percent_decode(seg: &str) -> Result<String, ()> {
    let bytes: Vec<u8> =
        url::form_urlencoded::parse(format!("x={}", seg.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned().into_bytes())
            .ok_or(())?;
    String::from_utf8(bytes).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_click_bodies_in_both_encodings() {
        assert!(is_one_click(b"List-Unsubscribe=One-Click"));
        assert!(is_one_click(
            b"--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n"
        ));
        assert!(!is_one_click(b""));
        assert!(!is_one_click(b"List-Unsubscribe=Maybe"));
    }

    #[test]
    fn masking_keeps_the_ends() {
        assert_eq!(masked("maria@example.org"), "m•••a@example.org");
        assert_eq!(masked("al@example.org"), "a•••@example.org");
    }

    #[test]
    fn static_paths_cannot_escape_the_root() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let root = dir.path().join("archivo");
        std::fs::create_dir_all(root.join("2026-W47")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(root.join("2026-W47/index.html"), "<p>Edición</p>")
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("feeds.toml"), "secret = 1")
            .unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink(dir.path().join("feeds.toml"), root.join("fuera.html"))
            .unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink(root.join("2026-W47"), root.join("ultima"))
            .unwrap_or_else(|e| panic!("{e}"));
        for p in [
            "/../feeds.toml",
            "/%2e%2e/feeds.toml",
            "/.git/config",
            "/a/..%2F..%2Fetc",
            "/2026-W47/%00index.html",
            "/fuera.html",
        ] {
            assert!(matches!(locate(&root, p), Lookup::Missing), "{p}");
        }
        assert!(matches!(
            locate(&root, "/ultima/index.html"),
            Lookup::File(..)
        ));
        for (p, to) in [("//2026-W47", "/2026-W47/"), ("/ultima", "/ultima/")] {
            match locate(&root, p) {
                Lookup::Redirect(301, location) => assert_eq!(location, to, "{p}"),
                other => panic!("{p}: {other:?}"),
            }
        }
    }

    #[test]
    fn locations_never_name_another_host() {
        assert_eq!(path_only("//evil.example/"), "/evil.example/");
        assert_eq!(path_only("/\\evil.example/"), "/evil.example/");
        assert_eq!(path_only("/archive/"), "/archive/");
    }
}
