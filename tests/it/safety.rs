//! The sanitizer against every public XSS vector in `../shared/corpus/xss`, each inside an
//! RSS item and an Atom entry, through the real `boletin fetch`: nothing outside the
//! allow-list may be stored, and a newsletter built from them must run no script in
//! headless Chromium.
//! Item bodies nested 100,000 deep are fetched, annotated and composed in bounded time and
//! memory.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use boletin::html::sanitize::{ALLOWED_ATTRIBUTES, ALLOWED_TAGS};

use crate::common::{Scratch, manifest_dir};

fn corpus_dir() -> PathBuf {
    manifest_dir().join("../shared/corpus/xss")
}

/// Every vector's payload, in corpus order.
fn vectors() -> Vec<(String, String)> {
    let path = corpus_dir().join("vectors.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (CI clones shared/ beside the repo)",
            path.display()
        )
    });
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("vector line is JSON");
            (
                v["vid"].as_str().unwrap_or_default().to_string(),
                v["payload"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Text as XML character data: escaped, characters XML 1.0 forbids removed.
fn xml_text(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
        })
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Dates 16 days apart, so no two vectors fall in one de-duplication window.
fn date(i: usize) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_790_000_000 - (i as i64) * 16 * 86_400, 0).expect("date")
}

const CONFIG: &str = r#"
[newsletter]
title = "Corpus XSS"
language = "es"
from = "Boletín <boletin@example.org>"

[[section]]
id = "news"
title = "Noticias"

[[source]]
id = "rss"
name = "RSS"
url = "rss.xml"
site = "https://rss.example.org/base/"
section = "news"

[[source]]
id = "atom"
name = "Atom"
url = "atom.xml"
site = "https://atom.example.org/base/"
section = "news"
"#;

struct Corpus {
    scratch: Scratch,
    tried: usize,
}

/// The corpus fetched once for the module's tests.
fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let s = Scratch::empty();
        let vectors = vectors();
        let mut rss = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>RSS</title><link>https://rss.example.org/</link><description>x</description>\n",
        );
        let mut atom = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Atom</title><id>urn:atom</id><updated>2026-11-21T00:00:00Z</updated>\n",
        );
        for (i, (vid, payload)) in vectors.iter().enumerate() {
            let p = xml_text(payload);
            let d = date(i);
            rss.push_str(&format!(
                "<item><title>{vid}</title><link>https://rss.example.org/v/{vid}</link><guid>{vid}</guid><pubDate>{}</pubDate><description>{p}</description></item>\n",
                d.to_rfc2822()
            ));
            atom.push_str(&format!(
                "<entry><title>{vid}</title><id>urn:{vid}</id><link href=\"https://atom.example.org/v/{vid}\"/><updated>{0}</updated><published>{0}</published><summary type=\"html\">{p}</summary><content type=\"html\">{p}</content></entry>\n",
                d.to_rfc3339()
            ));
        }
        rss.push_str("</channel></rss>\n");
        atom.push_str("</feed>\n");
        s.write("rss.xml", &rss);
        s.write("atom.xml", &atom);
        s.write("feeds.toml", CONFIG);
        let run = s.run(&["fetch", "--json"]).ok();
        for src in run.json()["sources"].as_array().expect("sources") {
            assert_eq!(src["status"], "ok", "{src}");
        }
        Corpus {
            scratch: s,
            tried: vectors.len(),
        }
    })
}

/// Every element, attribute, URL scheme in `html` that the allow-list does not permit.
fn violations(html: &str) -> Vec<String> {
    let tags: HashSet<&str> = ALLOWED_TAGS.iter().copied().collect();
    let attrs: HashSet<(&str, &str)> = ALLOWED_ATTRIBUTES.iter().copied().collect();
    let doc = scraper::Html::parse_fragment(html);
    let mut out = Vec::new();
    for node in doc.tree.root().descendants() {
        let Some(e) = node.value().as_element() else {
            continue;
        };
        let name = e.name();
        if name == "html" {
            continue;
        }
        if !tags.contains(name) || &*e.name.ns != "http://www.w3.org/1999/xhtml" {
            out.push(format!("element <{name}>"));
        }
        for (attr, value) in e.attrs() {
            if !attrs.contains(&(name, attr)) {
                out.push(format!("attribute {name}[{attr}]"));
                continue;
            }
            let lower = value.trim().to_ascii_lowercase();
            let web = lower.starts_with("http://") || lower.starts_with("https://");
            let ok = match attr {
                "href" => web || lower.starts_with("mailto:"),
                "src" => web,
                "srcset" => lower.split(',').all(|c| {
                    let c = c.trim_start();
                    c.starts_with("http://") || c.starts_with("https://")
                }),
                "rel" => value == "noopener noreferrer",
                "width" | "height" | "colspan" | "rowspan" => {
                    value.chars().all(|c| c.is_ascii_digit())
                }
                _ => true,
            };
            if !ok {
                out.push(format!("URL or value {name}[{attr}={value:?}]"));
            }
        }
    }
    // CSS can only arrive through `style`; neither the element nor the attribute may survive.
    let lower = html.to_ascii_lowercase();
    if lower.contains("<style") || lower.contains(" style=") {
        out.push("CSS".to_string());
    }
    out
}

#[test]
fn every_xss_vector_is_inert_in_the_store() {
    let c = corpus();
    let items = c
        .scratch
        .run(&[
            "items",
            "--since",
            "300000d",
            "--now",
            "2026-11-21",
            "--all",
            "--json",
        ])
        .ok()
        .json();
    let items = items.as_array().expect("items");
    let mut surviving = Vec::new();
    let mut stored = 0;
    for item in items {
        stored += 1;
        for field in ["summary", "content", "excerpt_html"] {
            let html = item[field].as_str().unwrap_or_default();
            let v = violations(html);
            if !v.is_empty() {
                surviving.push(format!("{} {field}: {v:?} in {html:?}", item["title"]));
            }
        }
    }
    println!(
        "xss corpus: {} vectors tried (×2 feeds: {} items stored), {} surviving",
        c.tried,
        stored,
        surviving.len()
    );
    assert!(stored >= c.tried * 2 * 9 / 10, "only {stored} items stored");
    assert!(
        surviving.is_empty(),
        "{:#?}",
        &surviving[..surviving.len().min(20)]
    );
}

/// Records, in a DOM node, every way a script could show it ran. Test-only.
const HOOK: &str = r#"<script>
(function () {
  var rec = [];
  function note(kind, detail) {
    rec.push(kind + ':' + String(detail).slice(0, 80));
    var el = document.getElementById('xss-record');
    if (el) { el.textContent = rec.join('\n'); }
  }
  window.__note = note;
  ['alert', 'confirm', 'prompt', 'print', 'open'].forEach(function (f) {
    window[f] = function (x) { note(f, x); return null; };
  });
  ['log', 'info', 'warn', 'error', 'debug', 'trace'].forEach(function (f) {
    console[f] = function (x) { note('console.' + f, x); };
  });
  window.fetch = function (u) { note('fetch', u); return new Promise(function () {}); };
  var xo = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (m, u) { note('xhr', u); return xo.apply(this, arguments); };
  navigator.sendBeacon = function (u) { note('beacon', u); return true; };
  window.WebSocket = function (u) { note('websocket', u); };
  window.EventSource = function (u) { note('eventsource', u); };
  window.eval = function (x) { note('eval', x); };
  window.Function = function () { note('Function', ''); return function () {}; };
  var st = window.setTimeout, si = window.setInterval;
  window.setTimeout = function (f) { if (typeof f === 'string') note('setTimeout', f); return st.apply(window, arguments); };
  window.setInterval = function (f) { if (typeof f === 'string') note('setInterval', f); return si.apply(window, arguments); };
  document.write = function (x) { note('document.write', x); };
  // The parser sets <img src> without these; only script calls them.
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, 'src');
  Object.defineProperty(HTMLImageElement.prototype, 'src', {
    get: src.get, configurable: true,
    set: function (v) { note('img.src', v); src.set.call(this, v); }
  });
  var setAttr = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (n, v) { note('setAttribute', n + '=' + v); return setAttr.call(this, n, v); };
  document.writeln = function (x) { note('document.writeln', x); };
  try {
    new PerformanceObserver(function (list) {
      list.getEntries().forEach(function (e) {
        // Images in the page load by design; scripts, frames, styles and the rest do not.
        if (e.initiatorType !== 'img' && !/favicon\.ico$/.test(e.name)) {
          note('load.' + e.initiatorType, e.name);
        }
      });
    }).observe({ type: 'resource', buffered: true });
  } catch (e) {}
  document.addEventListener('DOMContentLoaded', function () {
    var scripts = document.getElementsByTagName('script').length;
    if (scripts !== 1) { note('script-elements', scripts); }
    var frames = document.querySelectorAll('iframe,object,embed,frame,base').length;
    if (frames) { note('active-elements', frames); }
  });
})();
</script>"#;

#[test]
fn a_newsletter_of_every_vector_runs_no_script_in_chromium() {
    let chromium = crate::common::chromium_binary();
    let c = corpus();
    let out = c.scratch.path().join("out");
    let run = c
        .scratch
        .run(&[
            "compose",
            "--since",
            "300000d",
            "--now",
            "2026-11-21",
            "--out",
            out.to_str().expect("utf-8 path"),
            "--json",
        ])
        .ok();
    let composed = run.json()["items"].as_u64().unwrap_or(0);
    let html = std::fs::read_to_string(out.join("newsletter.html")).expect("newsletter.html");
    // The hook goes first in <head>, the record node first in <body>.
    let head = html.find("<head>").map(|i| i + "<head>".len()).unwrap_or(0);
    let mut page = format!("{}{HOOK}{}", &html[..head], &html[head..]);
    let body = page
        .find("<body")
        .and_then(|i| page[i..].find('>').map(|j| i + j + 1))
        .expect("<body>");
    page.insert_str(body, "<pre id=\"xss-record\"></pre>");
    let executions = run_in_chromium(&chromium, &page);
    // Positive control: the same hook on a page that does run script must notice it.
    let control = format!(
        "<!DOCTYPE html><html><head>{HOOK}</head><body><pre id=\"xss-record\"></pre>\
         <img src=\"x\" onerror=\"alert(1)\"><script>fetch('/x'); new Image().src = 'beacon.gif';</script></body></html>"
    );
    let noticed = run_in_chromium(&chromium, &control);
    for kind in ["alert:", "fetch:", "img.src:", "request: GET /beacon.gif"] {
        assert!(
            noticed.iter().any(|n| n.starts_with(kind)),
            "the hook misses {kind} {noticed:?}"
        );
    }
    println!(
        "xss corpus in chromium: {} items in the newsletter, {} script executions",
        composed,
        executions.len()
    );
    assert!(
        composed as usize >= c.tried,
        "newsletter holds {composed} items"
    );
    assert!(executions.is_empty(), "scripts ran: {executions:#?}");
}

/// A loopback HTTP server that serves `page` at `/page.html` and records every other
/// request (a beacon, a script, a frame, a stylesheet the page should never ask for).
struct Loopback {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Loopback {
    fn serve(page: String) -> Loopback {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, halt) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !halt.load(Ordering::SeqCst) {
                let mut stream = match listener.accept() {
                    Ok((s, _)) => s,
                    Err(_) => {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        continue;
                    }
                };
                let _ = stream.set_nonblocking(false);
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                // Chromium opens speculative connections that it may close unused; a
                // connection that sent no request line asked for nothing.
                if line.trim().is_empty() {
                    continue;
                }
                let path = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
                let (status, body) = if path == "/page.html" {
                    ("200 OK", page.as_bytes())
                } else {
                    if path != "/favicon.ico" {
                        seen.lock().expect("lock").push(line.clone());
                    }
                    ("404 Not Found", &b""[..])
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(body);
            }
        });
        Loopback {
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves `page` on loopback, renders it in headless Chromium, and returns what the hook
/// saw plus every unexpected request the server received.
fn run_in_chromium(chromium: &std::path::Path, page: &str) -> Vec<String> {
    let server = Loopback::serve(page.to_string());
    let url = format!("http://127.0.0.1:{}/page.html", server.port);
    // One retry: a headless browser on a loaded machine occasionally exits without a DOM.
    let mut dom = String::new();
    let mut stderr = String::new();
    for _ in 0..2 {
        let (d, e) = dump_dom(chromium, &url);
        (dom, stderr) = (d, e);
        if dom.contains("id=\"xss-record\"") {
            break;
        }
    }
    assert!(
        dom.contains("id=\"xss-record\""),
        "chromium produced no DOM: {stderr}"
    );
    let mut seen: Vec<String> = dom
        .split("<pre id=\"xss-record\">")
        .nth(1)
        .and_then(|r| r.split("</pre>").next())
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    seen.extend(
        server
            .requests()
            .into_iter()
            .map(|r| format!("request: {r}")),
    );
    seen
}

/// Chromium's serialized DOM of `file` after load and timers, and its stderr.
fn dump_dom(chromium: &std::path::Path, url: &str) -> (String, String) {
    let profile = tempfile::tempdir().expect("profile dir");
    let output = crate::common::chromium(chromium, profile.path())
        .args(["--virtual-time-budget=5000", "--dump-dom"])
        .arg(url)
        .output()
        .expect("run chromium");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs the binary in `s` with `args`; returns the run, how long it took and its peak
/// resident memory in KiB (read from /proc while it runs; `None` where there is no /proc).
fn run_measured(
    s: &Scratch,
    args: &[&str],
) -> (crate::common::Run, std::time::Duration, Option<u64>) {
    let started = std::time::Instant::now();
    let mut child = crate::common::boletin()
        .current_dir(s.path())
        .arg("--config")
        .arg(s.config())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run boletin");
    let status = format!("/proc/{}/status", child.id());
    let mut peak = None;
    while child.try_wait().expect("wait").is_none() {
        let hwm = std::fs::read_to_string(&status).ok().and_then(|st| {
            st.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        });
        peak = peak.max(hwm);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = child.wait_with_output().expect("output");
    (crate::common::Run::from(out), started.elapsed(), peak)
}

/// One item whose body nests 100,000 `tag` elements around a partner's words: what a
/// hacked or broken CMS can publish. It once overflowed the sanitizer's stack on every run.
fn deep_feed(tag: &str) -> String {
    const N: usize = 100_000;
    let body = format!(
        "<p>Comunicado urgente de la Red de Defensoras.</p>{}Familias desplazadas en Chenalhó \
         piden ayuda humanitaria{}<p>Más información en la página de la Red.</p>",
        format!("<{tag}>").repeat(N),
        format!("</{tag}>").repeat(N)
    );
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Red</title>\
         <link>https://red.example.org/</link><description>Red</description>\
         <item><title>Desplazamiento en Chenalhó ({tag})</title><link>https://red.example.org/{tag}</link>\
         <pubDate>Wed, 18 Nov 2026 12:00:00 +0000</pubDate><description><![CDATA[{body}]]></description>\
         </item></channel></rss>\n"
    )
}

#[test]
fn a_hundred_thousand_nested_elements_are_fetched_annotated_and_composed() {
    let s = Scratch::empty();
    let mut config = String::from(
        "[newsletter]\ntitle = \"Boletín\"\nlanguage = \"es\"\nfrom = \"Boletín <boletin@example.org>\"\n\n\
         [[section]]\nid = \"news\"\ntitle = \"Noticias\"\n",
    );
    let tags = ["div", "b", "blockquote"];
    for tag in tags {
        s.write(&format!("{tag}.xml"), &deep_feed(tag));
        config.push_str(&format!(
            "\n[[source]]\nid = \"{tag}\"\nname = \"Red {tag}\"\nurl = \"{tag}.xml\"\n\
             site = \"https://red.example.org/\"\nsection = \"news\"\n"
        ));
    }
    s.write("feeds.toml", &config);

    let (fetch, took, peak) = run_measured(&s, &["fetch", "--json", "--now", "2026-11-21"]);
    let fetch = fetch.ok();
    for src in fetch.json()["sources"].as_array().expect("sources") {
        assert_eq!(src["status"], "ok", "{src}");
        assert_eq!(src["new"], 1, "{src}");
    }
    println!("100,000 nested div, b, blockquote: fetch {took:?}, peak {peak:?} KiB");
    // Quadratic parsing took minutes per item; linear work takes seconds even unoptimized.
    assert!(
        took < std::time::Duration::from_secs(60),
        "fetch took {took:?}"
    );
    if let Some(kib) = peak {
        assert!(kib < 300 * 1024, "fetch peaked at {kib} KiB");
    }

    // The three items carry the same words, so they fold into one story: list them all.
    let items = s.items(&["--all"]);
    assert_eq!(items.len(), tags.len(), "{items:?}");
    for item in &items {
        // Every word, the innermost ones too, in order.
        let excerpt = item["excerpt"].as_str().unwrap_or_default();
        let mut from = 0;
        for part in [
            "Comunicado urgente de la Red de Defensoras.",
            "Familias desplazadas en Chenalhó piden ayuda humanitaria",
            "Más información en la página de la Red.",
        ] {
            let at = excerpt[from..].find(part);
            assert!(at.is_some(), "{}: {part} in {excerpt}", item["title"]);
            from += at.unwrap_or_default() + part.len();
        }
        let summary = item["summary"].as_str().unwrap_or_default();
        assert!(summary.contains("Chenalhó"), "{summary:.300}");
        // What is stored nests no deeper than the sanitizer allows.
        for tag in ["<b>", "<blockquote>"] {
            let n = summary.matches(tag).count();
            assert!(
                n <= boletin::html::sanitize::MAX_NESTING,
                "{n} × {tag} in {}",
                item["title"]
            );
        }
        let excerpt_html = item["excerpt_html"].as_str().unwrap_or_default();
        assert!(excerpt_html.contains("Chenalhó"), "{excerpt_html:.300}");
    }

    let (compose, took, _) = run_measured(
        &s,
        &[
            "compose",
            "--since",
            "7d",
            "--now",
            "2026-11-21",
            "--out",
            "out",
        ],
    );
    compose.ok();
    assert!(
        took < std::time::Duration::from_secs(60),
        "compose took {took:?}"
    );
    // The innermost words reach the newsletter (once per story: the items share them).
    let html = s.read("out/newsletter.html");
    assert!(
        html.contains("Familias desplazadas en Chenalhó"),
        "{html:.300}"
    );
}
