//! `boletin serve`: the one-click unsubscribe endpoint and the web archive of editions,
//! meant to sit behind the organization's HTTPS reverse proxy.
//!
//! - `GET <unsubscribe path>?token=…` shows a confirmation page in the subscriber's
//!   language with a button; it never unsubscribes by itself (mail scanners follow links).
//! - `POST` to the same URL with the body `List-Unsubscribe=One-Click` (RFC 8058; what
//!   Gmail and Yahoo send, and what the button sends) unsubscribes at once: 200, no
//!   redirect, no login.
//! - A missing, forged or altered token gets one generic page that says nothing about
//!   who, if anyone, the token was for.
//! - Everything else is a static file from the `compose` output folder (the archive).
//!
//! A small blocking server (tiny_http) with a few worker threads, each with its own
//! database connection: the load is a handful of clicks after each edition.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;

use crate::deliver::token::{self, Secret};
use crate::html::escape::escape;
use crate::lang::Lang;
use crate::store::{Store, StoreError, SuppressionReason};

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {message}")]
    Bind { addr: String, message: String },
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the server needs to know.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub db: PathBuf,
    pub archive_dir: PathBuf,
    pub secret: Secret,
    /// The path of `[delivery] unsubscribe_url` (`/unsubscribe` is always answered too).
    pub unsubscribe_path: String,
    pub default_lang: Lang,
    pub title: String,
}

/// A reply, independent of the HTTP library.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    fn html(status: u16, body: String) -> Reply {
        Reply {
            status,
            content_type: "text/html; charset=utf-8",
            headers: vec![
                ("Cache-Control", "no-store".into()),
                (
                    "Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
                        .into(),
                ),
            ],
            body: body.into_bytes(),
        }
    }

    fn plain(status: u16, text: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
            body: text.as_bytes().to_vec(),
        }
    }
}

/// A bound server, ready to [`run`].
pub struct Bound {
    server: tiny_http::Server,
}

impl Bound {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> String {
        match self.server.server_addr() {
            tiny_http::ListenAddr::IP(a) => a.to_string(),
            #[allow(unreachable_patterns, reason = "unix sockets exist on unix only")]
            other => format!("{other:?}"),
        }
    }
}

/// Binds `addr` (e.g. `127.0.0.1:8080`).
pub fn bind(addr: &str) -> Result<Bound, ServeError> {
    tiny_http::Server::http(addr)
        .map(|server| Bound { server })
        .map_err(|e| ServeError::Bind {
            addr: addr.to_string(),
            message: e.to_string(),
        })
}

/// Answers requests until the process ends.
pub fn run(bound: Bound, cfg: ServeConfig, threads: usize) -> Result<(), ServeError> {
    // Fail before accepting anything if the database is unusable.
    drop(Store::open(&cfg.db)?);
    let server = Arc::new(bound.server);
    let cfg = Arc::new(cfg);
    let handles: Vec<_> = (0..threads.max(1))
        .map(|_| {
            let server = Arc::clone(&server);
            let cfg = Arc::clone(&cfg);
            std::thread::spawn(move || worker(&server, &cfg))
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    Ok(())
}

fn worker(server: &tiny_http::Server, cfg: &ServeConfig) {
    let mut store = None;
    while let Ok(mut request) = server.recv() {
        if store.is_none() {
            store = Store::open(&cfg.db).ok();
        }
        let method = request.method().as_str().to_ascii_uppercase();
        let mut body = Vec::new();
        if method == "POST" {
            // Forms here are a few dozen bytes; read no more than a little over that.
            let _ = request.as_reader().take(16 * 1024).read_to_end(&mut body);
        }
        let reply = match &store {
            Some(store) => handle(cfg, store, &method, request.url(), &body),
            None => Reply::plain(503, "database unavailable; try again later\n"),
        };
        let mut response = tiny_http::Response::from_data(if method == "HEAD" {
            Vec::new()
        } else {
            reply.body
        })
        .with_status_code(reply.status);
        let mut headers = reply.headers;
        headers.push(("Content-Type", reply.content_type.to_string()));
        headers.push(("X-Content-Type-Options", "nosniff".into()));
        // Unsubscribe URLs carry a token: never leak it to another site.
        headers.push(("Referrer-Policy", "no-referrer".into()));
        for (name, value) in headers {
            if let Ok(h) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
                response.add_header(h);
            }
        }
        let _ = request.respond(response);
    }
}

/// Answers one request.
pub fn handle(cfg: &ServeConfig, store: &Store, method: &str, target: &str, body: &[u8]) -> Reply {
    let Ok(url) = url::Url::parse(&format!("http://localhost{target}")) else {
        return Reply::plain(400, "bad request\n");
    };
    let path = url.path();
    if path == cfg.unsubscribe_path || path == "/unsubscribe" {
        let token = url
            .query_pairs()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        return match method {
            "GET" | "HEAD" => unsubscribe_page(cfg, store, &token, target),
            "POST" => unsubscribe_post(cfg, store, &token, body),
            _ => method_not_allowed("GET, HEAD, POST"),
        };
    }
    match method {
        "GET" | "HEAD" => static_file(&cfg.archive_dir, &url),
        _ => method_not_allowed("GET, HEAD"),
    }
}

fn method_not_allowed(allow: &str) -> Reply {
    let mut r = Reply::plain(405, "method not allowed\n");
    r.headers.push(("Allow", allow.to_string()));
    r
}

/// What a token turned out to be, once checked.
enum Holder {
    /// Not a genuine token.
    Invalid,
    /// A genuine token whose subscriber is gone (or a test send's token).
    Nobody,
    Subscriber {
        email: String,
        lang: Lang,
        unsubscribed: bool,
    },
}

fn holder(cfg: &ServeConfig, store: &Store, token: &str) -> Result<Holder, StoreError> {
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
fn masked(email: &str) -> String {
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
}

fn words(lang: Lang) -> Words {
    match lang {
        Lang::Es => Words {
            confirm_title: "Cancelar la suscripción",
            confirm_text: "¿Quieres dejar de recibir este boletín en",
            button: "Cancelar mi suscripción",
            done_title: "Suscripción cancelada",
            done_text: "Listo: ya no recibirás este boletín. Si fue un error, escríbenos y te volvemos a suscribir.",
        },
        Lang::En => Words {
            confirm_title: "Unsubscribe",
            confirm_text: "Do you want to stop receiving this newsletter at",
            button: "Unsubscribe me",
            done_title: "You are unsubscribed",
            done_text: "Done: you will not receive this newsletter any more. If this was a mistake, write to us and we will add you back.",
        },
    }
}

fn page(lang: Lang, site: &str, title: &str, inner: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"robots\" content=\"noindex\"><title>{} · {}</title></head>\
<body style=\"font-family:Arial,Helvetica,sans-serif;max-width:36em;margin:3em auto;padding:0 1em;color:#222;line-height:1.5\">\
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
fn invalid_link(cfg: &ServeConfig) -> Reply {
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
    Reply::html(
        200,
        page(
            lang,
            &cfg.title,
            w.done_title,
            &format!("<p>{}</p>", escape(w.done_text)),
        ),
    )
}

fn unsubscribe_page(cfg: &ServeConfig, store: &Store, token: &str, target: &str) -> Reply {
    match holder(cfg, store, token) {
        Err(_) => Reply::plain(503, "database unavailable; try again later\n"),
        Ok(Holder::Invalid) => invalid_link(cfg),
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
        Err(_) => Reply::plain(503, "database unavailable; try again later\n"),
        Ok(Holder::Invalid) => invalid_link(cfg),
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
                Err(_) => Reply::plain(503, "database unavailable; try again later\n"),
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

fn static_file(root: &Path, url: &url::Url) -> Reply {
    let not_found = || Reply::plain(404, "not found\n");
    let mut path = root.to_path_buf();
    let trailing_dir = url.path().ends_with('/');
    for seg in url.path_segments().into_iter().flatten() {
        if seg.is_empty() {
            continue;
        }
        let Ok(seg) = percent_decode(seg) else {
            return not_found();
        };
        // No way out of the archive folder, and no hidden files.
        if seg.starts_with('.') || seg.contains(['/', '\\', '\0']) {
            return not_found();
        }
        path.push(seg);
    }
    if path.is_dir() {
        if !trailing_dir {
            let mut r = Reply::plain(301, "moved\n");
            r.headers.push(("Location", format!("{}/", url.path())));
            return r;
        }
        let index = path.join("index.html");
        if index.is_file() {
            path = index;
        } else if url.path() == "/" && root.join("archive/index.html").is_file() {
            let mut r = Reply::plain(302, "see /archive/\n");
            r.headers.push(("Location", "/archive/".into()));
            return r;
        } else {
            return not_found();
        }
    }
    match std::fs::read(&path) {
        Ok(body) => Reply {
            status: 200,
            content_type: content_type(&path),
            headers: vec![
                ("Cache-Control", "public, max-age=300".into()),
                (
                    "Content-Security-Policy",
                    "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; frame-ancestors 'none'"
                        .into(),
                ),
            ],
            body,
        },
        Err(_) => not_found(),
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
        let dir = std::env::temp_dir();
        for p in [
            "/../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/.git/config",
            "/a/..%2F..%2Fetc",
        ] {
            let url = url::Url::parse(&format!("http://localhost{p}"));
            let status = url.map(|u| static_file(&dir.join("no-such-archive"), &u).status);
            assert_eq!(status.ok(), Some(404), "{p}");
        }
    }
}
