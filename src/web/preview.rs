//! `boletin preview`'s server: an edition on 127.0.0.1, re-rendered whenever the edition
//! file, the config or a template changes, so the editor sees each edit.
//!
//! A tiny sequential HTTP/1.1 server on std::net (one editor, one browser tab). Changes
//! are found by polling modification times on each request; the page polls `/version`
//! once a second and reloads itself when it changes. A render error is shown in the page
//! (the editor fixes the file and the page recovers), never a crash. The edition renders
//! through `publish::render_edition`, exactly as `compose` writes it. Prints nothing.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::config;
use crate::html::escape::escape;
use crate::lang::Lang;
use crate::publish::{Versions, links, render_edition};
use crate::store::Store;

/// What the preview shows and where it reads it from.
#[derive(Debug, Clone)]
pub struct PreviewSettings {
    pub config_path: PathBuf,
    pub db: PathBuf,
    pub edition: PathBuf,
    /// The email's own words in this language, else in the edition's.
    pub lang: Option<Lang>,
    /// The templates folder of the config as first loaded (a later config may move it).
    pub templates: PathBuf,
}

/// The port could not be listened on.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on 127.0.0.1:{0}: {1}")]
pub struct BindError(pub u16, pub std::io::Error);

/// A listener on 127.0.0.1:`port` (0: any free port) and the address it got.
pub fn bind(port: u16) -> Result<(TcpListener, SocketAddr), BindError> {
    let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|e| BindError(port, e))?;
    let addr = listener.local_addr().map_err(|e| BindError(port, e))?;
    Ok((listener, addr))
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

/// Serves the preview on `listener` until the process ends.
pub fn run(listener: TcpListener, settings: &PreviewSettings) {
    let mut page: Option<Page> = None;
    let mut templates = Some(settings.templates.clone());
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let stamp = mtimes(settings, templates.as_deref());
        let stale = page.as_ref().is_none_or(|p| p.stamp != stamp);
        if stale {
            let (html, text, archive, dir) = render_all(settings);
            templates = dir.or(templates);
            let version = page.as_ref().map_or(1, |p| p.version + 1);
            // Stamp after rendering with the (possibly new) templates folder.
            let stamp = mtimes(settings, templates.as_deref());
            page = Some(Page {
                html,
                text,
                archive,
                version,
                stamp,
            });
        }
        if let Some(p) = &page {
            serve(stream, p);
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

fn serve(mut stream: TcpStream, page: &Page) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 8192];
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/");
    let path = path.split('?').next().unwrap_or("/");
    let (status, kind, body) = match path {
        "/" | "/index.html" => ("200 OK", "text/html; charset=utf-8", page.html.clone()),
        "/text" => ("200 OK", "text/plain; charset=utf-8", page.text.clone()),
        "/archive" => ("200 OK", "text/html; charset=utf-8", page.archive.clone()),
        "/version" => (
            "200 OK",
            "text/plain; charset=utf-8",
            page.version.to_string(),
        ),
        _ => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found\n".to_string(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}
