//! The fetcher under cron, against a real HTTP server on 127.0.0.1 (tests/it/server.rs).
//!
//! Timeouts in these configs are short (stall 1 s, whole request 4 s) so misbehaving servers
//! are cut off quickly; nothing asserts on durations, only on what was reported and stored.
//! Time that must pass (backoff, Retry-After) is simulated with `fetch --now`.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::common::{Run, Scratch, boletin};
use crate::server::{Body, Reply, Server};

const SETTINGS: &str = "timeout_secs = 4\nconnect_timeout_secs = 2\nstall_timeout_secs = 1\n\
                        concurrency = 8\nper_host = 4\n";

/// A scratch folder whose feeds.toml lists `sources` (id, url) under `settings`.
fn setup_with(settings: &str, sources: &[(&str, String)]) -> Scratch {
    let s = Scratch::empty();
    let mut toml = format!(
        "[newsletter]\ntitle = \"Boletín de prueba\"\nfrom = \"Boletín Solidaridad <boletin@example.org>\"\n\
         archive_url = \"https://boletin.example.org/archivo/\"\n\n[settings]\n{settings}\n\
         [[section]]\nid = \"news\"\ntitle = \"Noticias / News\"\n"
    );
    for (id, url) in sources {
        toml.push_str(&format!(
            "\n[[source]]\nid = \"{id}\"\nname = \"Fuente {id}\"\nurl = \"{url}\"\nsection = \"news\"\n"
        ));
    }
    s.write("feeds.toml", &toml);
    s
}

fn setup(sources: &[(&str, String)]) -> Scratch {
    setup_with(SETTINGS, sources)
}

/// An RSS 2.0 feed of `n` items in Spanish and English; `channel_extra` goes in <channel>.
fn rss(tag: &str, n: usize, channel_extra: &str) -> String {
    let mut items = String::new();
    for i in 0..n {
        items.push_str(&format!(
            "<item><title>{tag} {i}: Acción urgente por las defensoras de Chiapas</title>\
             <link>https://{tag}.example.org/noticias/{i}</link><guid>https://{tag}.example.org/noticias/{i}</guid>\
             <pubDate>Fri, {day:02} Nov 2026 12:00:00 +0000</pubDate>\
             <description>Las comunidades de San Cristóbal de las Casas exigen justicia. \
             Communities in Chiapas demand justice for the displaced families.</description></item>",
            day = 1 + i % 28
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>{tag}</title>\
         <link>https://{tag}.example.org/</link><description>Noticias</description>{channel_extra}{items}</channel></rss>"
    )
}

fn feed(tag: &str, n: usize) -> Reply {
    Reply::ok("application/rss+xml; charset=utf-8", rss(tag, n, ""))
}

fn fetch(s: &Scratch, extra: &[&str]) -> (Run, Value) {
    let mut args = vec!["fetch", "--json"];
    args.extend_from_slice(extra);
    let run = s.run(&args);
    let json = run.json();
    (run, json)
}

fn report<'a>(json: &'a Value, id: &str) -> &'a Value {
    json["sources"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["id"] == id))
        .unwrap_or_else(|| panic!("no report for {id} in {json}"))
}

fn health(s: &Scratch) -> HashMap<String, Value> {
    let run = s.run(&["sources", "--json"]).ok();
    run.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["id"].as_str().unwrap().to_string(), h.clone()))
        .collect()
}

/// Every item stored for source `id`, copies of other sources' stories included: the
/// fetch tests count what was stored, not how stories fold.
fn items(s: &Scratch, id: &str) -> Vec<Value> {
    let run = s
        .run(&[
            "items", "--since", "36500d", "--json", "--all", "--source", id,
        ])
        .ok();
    run.json().as_array().cloned().unwrap_or_default()
}

fn time(v: &Value) -> DateTime<Utc> {
    let text = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

fn at(text: &str) -> DateTime<Utc> {
    time(&Value::String(text.into()))
}

fn error_of(json: &Value, id: &str) -> String {
    report(json, id)["error"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// An RSS reply whose `body` arrives in `chunk`-byte parts, with `pause` before each.
fn trickle(body: &[u8], chunk: usize, pause: Duration) -> Reply {
    let parts = body.chunks(chunk).map(<[u8]>::to_vec).collect();
    Reply::ok("application/rss+xml", "").body(Body::Trickle { parts, pause })
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) fn spawn_fetch(s: &Scratch) -> Child {
    boletin()
        .current_dir(s.path())
        .args(["--config"])
        .arg(s.config())
        .args(["fetch", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn boletin")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn conditional_get_round_trip_sends_both_validators() {
    let server = Server::start();
    let lm = "Wed, 18 Nov 2026 10:00:00 GMT";
    server.route("/feed", move |req| {
        if req.header("if-none-match") == Some("\"v1\"") {
            Reply::new(304).header("ETag", "\"v1\"")
        } else {
            feed("etag", 3)
                .header("ETag", "\"v1\"")
                .header("Last-Modified", lm)
        }
    });
    let s = setup(&[("etag", server.url("/feed"))]);

    let (run, json) = fetch(&s, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let r = report(&json, "etag");
    assert_eq!(
        (r["status"].as_str(), r["new"].as_u64()),
        (Some("ok"), Some(3))
    );
    let first = server.last("/feed").unwrap();
    assert_eq!(first.header("if-none-match"), None);
    assert_eq!(first.header("if-modified-since"), None);
    // Politeness headers: a contact, feed types first, compression.
    let ua = first.header("user-agent").unwrap();
    assert!(ua.contains("mailto:boletin@example.org"), "{ua}");
    assert!(ua.contains("https://boletin.example.org/archivo/"), "{ua}");
    let accept = first.header("accept").unwrap();
    assert!(accept.starts_with("application/rss+xml"), "{accept}");
    let encodings = first.header("accept-encoding").unwrap();
    for enc in ["gzip", "br", "deflate"] {
        assert!(encodings.contains(enc), "{encodings}");
    }

    let (run, json) = fetch(&s, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let second = server.last("/feed").unwrap();
    assert_eq!(second.header("if-none-match"), Some("\"v1\""));
    assert_eq!(second.header("if-modified-since"), Some(lm));
    let r = report(&json, "etag");
    assert_eq!(r["status"], "not_modified");
    assert_eq!(r["http_status"], 304);
    assert_eq!(
        (r["new"].as_u64(), r["unchanged"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(items(&s, "etag").len(), 3);

    // --force asks without validators (a full refetch).
    fetch(&s, &["--force"]);
    assert_eq!(server.last("/feed").unwrap().header("if-none-match"), None);
}

#[test]
fn an_identical_body_without_validators_is_not_parsed_again() {
    let server = Server::start();
    server.fixed("/feed", || feed("same", 4));
    let s = setup(&[("same", server.url("/feed"))]);
    let (_, json) = fetch(&s, &[]);
    assert_eq!(report(&json, "same")["new"], 4);
    let (run, json) = fetch(&s, &[]);
    assert_eq!(run.code, 0);
    let r = report(&json, "same");
    assert_eq!(r["status"], "not_modified");
    assert_eq!(r["http_status"], 200);
    // Parsed again, the four items would count as unchanged.
    assert_eq!(
        (r["new"].as_u64(), r["unchanged"].as_u64()),
        (Some(0), Some(0))
    );
}

#[test]
fn gzip_bodies_are_decompressed() {
    let server = Server::start();
    server.route("/feed", |req| {
        assert!(req.header("accept-encoding").unwrap_or("").contains("gzip"));
        let body = gzip(rss("gz", 5, "").as_bytes());
        Reply::ok("application/rss+xml", body).header("Content-Encoding", "gzip")
    });
    let s = setup(&[("gz", server.url("/feed"))]);
    let (run, json) = fetch(&s, &[]);
    assert_eq!(run.code, 0, "{json}");
    assert_eq!(report(&json, "gz")["new"], 5);
}

#[test]
fn one_client_reuses_its_connection() {
    let server = Server::start();
    let ids = ["a", "b", "c", "d", "e", "f"];
    let mut sources = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let path = format!("/feed{i}");
        server.fixed(&path, move || feed(&format!("reuse{i}"), 2));
        sources.push((*id, server.url(&path)));
    }
    let settings = "timeout_secs = 4\nstall_timeout_secs = 1\nconcurrency = 1\nper_host = 1\n";
    let s = setup_with(settings, &sources);
    s.run(&["fetch"]).ok();
    assert_eq!(server.requests().len(), 6);
    // One at a time to one host: normally a single connection. The client's pool may
    // occasionally open a second one when a request starts before the previous connection
    // is back in the pool, so the assertion is "reused", not "exactly one".
    assert!(
        server.connections() < 6,
        "six requests, {} connections: none reused",
        server.connections()
    );
}

/// A route that takes a while and records how many requests were being answered at once
/// (across servers, through the shared counters).
fn slow_counted(current: &Arc<AtomicUsize>, max: &Arc<AtomicUsize>, tag: String) -> Reply {
    let now = current.fetch_add(1, Ordering::SeqCst) + 1;
    max.fetch_max(now, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(500));
    current.fetch_sub(1, Ordering::SeqCst);
    feed(&tag, 1)
}

#[test]
fn per_host_limit_holds() {
    let server = Server::start();
    let (current, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut sources = Vec::new();
    let ids = ["h0", "h1", "h2", "h3", "h4", "h5"];
    for (i, id) in ids.iter().enumerate() {
        let (c, m) = (current.clone(), max.clone());
        let path = format!("/f{i}");
        server.route(&path, move |_| slow_counted(&c, &m, format!("host{i}")));
        sources.push((*id, server.url(&path)));
    }
    let settings = "timeout_secs = 5\nstall_timeout_secs = 2\nconcurrency = 16\nper_host = 2\n";
    let s = setup_with(settings, &sources);
    s.run(&["fetch"]).ok();
    assert_eq!(server.requests().len(), 6);
    assert_eq!(max.load(Ordering::SeqCst), 2, "per_host = 2");
}

#[test]
fn global_limit_holds_across_hosts() {
    let (current, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut sources = Vec::new();
    let ids = ["g0", "g1", "g2", "g3", "g4", "g5"];
    let mut servers = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        // Six hosts: 127.0.0.11 … 127.0.0.16.
        let server = Server::start_on(&format!("127.0.0.{}", 11 + i));
        let (c, m) = (current.clone(), max.clone());
        server.route("/feed", move |_| slow_counted(&c, &m, format!("global{i}")));
        sources.push((*id, server.url("/feed")));
        servers.push(server);
    }
    let settings = "timeout_secs = 5\nstall_timeout_secs = 2\nconcurrency = 3\nper_host = 2\n";
    let s = setup_with(settings, &sources);
    s.run(&["fetch"]).ok();
    assert!(servers.iter().all(|s| s.hits("/feed") == 1));
    assert_eq!(max.load(Ordering::SeqCst), 3, "concurrency = 3");
}

#[test]
fn stalled_trickling_and_silent_servers_are_cut_off() {
    let server = Server::start();
    // Pauses longer than the 1 s stall timeout between bytes.
    server.fixed("/trickle-slow", || {
        let body = rss("slow", 2, "").into_bytes();
        trickle(&body, body.len() / 3 + 1, Duration::from_millis(2500))
    });
    // Never pauses long enough to stall, but would take 10 s: the 4 s total timeout ends it.
    server.fixed("/trickle-long", || {
        let body = rss("long", 2, "").into_bytes();
        trickle(&body, body.len() / 50 + 1, Duration::from_millis(200))
    });
    // Headers, half a body, then nothing.
    server.fixed("/stall", || {
        Reply::ok("application/rss+xml", "").body(Body::Stall {
            first: b"<rss><channel>".to_vec(),
            declared: 5000,
        })
    });
    // Accepts the request and never answers.
    server.fixed("/silent", || Reply::new(200).body(Body::Silent));
    server.fixed("/ok", || feed("fine", 2));
    let s = setup(&[
        ("trickle-slow", server.url("/trickle-slow")),
        ("trickle-long", server.url("/trickle-long")),
        ("stall", server.url("/stall")),
        ("silent", server.url("/silent")),
        ("ok", server.url("/ok")),
    ]);
    let (run, json) = fetch(&s, &[]);
    assert_eq!(run.code, 1, "{json}");
    assert!(
        error_of(&json, "trickle-slow").contains("stalled"),
        "{json}"
    );
    assert!(
        error_of(&json, "trickle-long").contains("timed out after 4s"),
        "{json}"
    );
    assert!(error_of(&json, "stall").contains("stalled"), "{json}");
    assert!(error_of(&json, "silent").contains("stalled"), "{json}");
    assert_eq!(report(&json, "ok")["new"], 2);
}

#[test]
fn endless_huge_and_bomb_bodies_stop_at_the_cap() {
    let server = Server::start();
    server.fixed("/endless", || {
        Reply::ok("application/rss+xml", "").body(Body::Endless(
            b"<item><title>otra vez</title></item>".repeat(200),
        ))
    });
    server.fixed("/huge", || {
        Reply::ok("application/rss+xml", "").body(Body::Huge { len: 50_000_000 })
    });
    // 30 MB of zeros, about 30 KB on the wire: only counting decompressed bytes catches it.
    let bomb = gzip(&vec![0u8; 30_000_000]);
    assert!(bomb.len() < 1024 * 1024);
    server.route("/bomb", move |_| {
        Reply::ok("application/rss+xml", bomb.clone()).header("Content-Encoding", "gzip")
    });
    server.fixed("/ok", || feed("fine", 2));
    let settings = format!("{SETTINGS}max_body_mib = 2\n");
    let s = setup_with(
        &settings,
        &[
            ("endless", server.url("/endless")),
            ("huge", server.url("/huge")),
            ("bomb", server.url("/bomb")),
            ("ok", server.url("/ok")),
        ],
    );
    let (run, json) = fetch(&s, &[]);
    assert_eq!(run.code, 1);
    for id in ["endless", "huge", "bomb"] {
        assert_eq!(
            error_of(&json, id),
            "body larger than 2 MiB",
            "{id}: {json}"
        );
    }
    assert_eq!(report(&json, "ok")["new"], 2);
}

#[test]
fn a_50_mb_body_is_refused_at_the_default_cap() {
    let server = Server::start();
    server.fixed("/huge", || {
        Reply::ok("application/rss+xml", "").body(Body::Huge { len: 50_000_000 })
    });
    let s = setup(&[("huge", server.url("/huge"))]);
    let (run, json) = fetch(&s, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(error_of(&json, "huge"), "body larger than 15 MiB");
}

#[test]
fn redirects_loops_and_limits() {
    let server = Server::start();
    server.fixed("/loop-a", || Reply::redirect(302, "/loop-b"));
    server.fixed("/loop-b", || Reply::redirect(307, "/loop-a"));
    for i in 0..7 {
        let next = format!("/r{}", i + 1);
        server.fixed(&format!("/r{i}"), move || Reply::redirect(302, &next));
    }
    // Exactly five hops is allowed.
    for i in 0..5 {
        let next = if i == 4 {
            "/five".to_string()
        } else {
            format!("/s{}", i + 1)
        };
        server.fixed(&format!("/s{i}"), move || Reply::redirect(302, &next));
    }
    server.fixed("/five", || feed("five", 1));
    server.fixed("/r7", || feed("seven", 1));
    server.fixed("/nowhere", || Reply::new(301));
    let s = setup(&[
        ("loop", server.url("/loop-a")),
        ("too-many", server.url("/r0")),
        ("five", server.url("/s0")),
        ("no-location", server.url("/nowhere")),
    ]);
    let (run, json) = fetch(&s, &[]);
    assert_eq!(run.code, 1);
    assert!(error_of(&json, "loop").contains("loop back to"), "{json}");
    assert_eq!(server.hits("/loop-a"), 1);
    assert!(
        error_of(&json, "too-many").contains("more than 5 redirects"),
        "{json}"
    );
    assert_eq!(server.hits("/r6"), 0);
    assert_eq!(report(&json, "five")["status"], "ok");
    assert!(
        error_of(&json, "no-location").contains("without Location"),
        "{json}"
    );
}

#[test]
fn permanent_redirects_are_remembered_and_temporary_ones_are_not() {
    let server = Server::start();
    server.fixed("/old", || Reply::redirect(301, "/mid"));
    server.fixed("/mid", || Reply::redirect(308, "/new"));
    server.fixed("/new", || feed("moved", 2));
    server.fixed("/temp", || Reply::redirect(302, "/new2"));
    server.fixed("/new2", || feed("temp", 2));
    server.fixed("/mixed", || Reply::redirect(301, "/mixed2"));
    server.fixed("/mixed2", || Reply::redirect(307, "/new3"));
    server.fixed("/new3", || feed("mixed", 2));
    let s = setup(&[
        ("moved", server.url("/old")),
        ("temp", server.url("/temp")),
        ("mixed", server.url("/mixed")),
    ]);
    let new_url = server.url("/new");
    let (run, json) = fetch(&s, &[]);
    assert_eq!(run.code, 0, "{json}");
    assert_eq!(report(&json, "moved")["moved_to"], new_url.as_str());
    assert_eq!(report(&json, "temp")["moved_to"], Value::Null);
    assert_eq!(report(&json, "mixed")["moved_to"], Value::Null);
    assert_eq!(health(&s)["moved"]["suggested_url"], new_url.as_str());

    // Next run goes straight to the new URL, and still tells the editor to update feeds.toml.
    let run = s.run(&["fetch"]).ok();
    assert_eq!(server.hits("/old"), 1);
    assert_eq!(server.hits("/new"), 2);
    assert_eq!(server.hits("/temp"), 2);
    assert_eq!(server.hits("/mixed"), 2);
    assert!(
        run.stdout
            .contains(&format!("moved (update feeds.toml): moved -> {new_url}")),
        "{}",
        run.stdout
    );
    let text = s.run(&["sources"]).ok();
    assert!(
        text.stdout
            .contains(&format!("moved permanently: put url = \"{new_url}\"")),
        "{}",
        text.stdout
    );
}

#[test]
fn gone_sources_are_reported_every_run_and_skipped_until_forced() {
    let server = Server::start();
    server.fixed("/gone", || Reply::new(410));
    server.fixed("/ok", || feed("fine", 1));
    let s = setup(&[("gone", server.url("/gone")), ("ok", server.url("/ok"))]);
    let (run, json) = fetch(&s, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(report(&json, "gone")["status"], "gone");
    assert_eq!(report(&json, "gone")["http_status"], 410);

    let run = s.run(&["fetch"]);
    assert_eq!(run.code, 1, "gone is still reported");
    assert!(run.stdout.contains("1 gone; "), "{}", run.stdout);
    assert!(run.stdout.contains("gone: gone"), "{}", run.stdout);
    assert_eq!(server.hits("/gone"), 1, "not requested again");
    assert_eq!(server.hits("/ok"), 2);
    let h = health(&s);
    assert_eq!(h["gone"]["gone"], true);
    assert_eq!(h["gone"]["next_attempt"], Value::Null);

    server.fixed("/gone", || feed("back", 1));
    let (run, json) = fetch(&s, &["--force"]);
    assert_eq!(run.code, 0);
    assert_eq!(server.hits("/gone"), 2);
    assert_eq!(report(&json, "gone")["status"], "ok");
    assert_eq!(health(&s)["gone"]["gone"], false);
}

#[test]
fn retry_after_in_seconds_is_honoured_per_source() {
    let server = Server::start();
    server.fixed("/busy", || Reply::new(429).header("Retry-After", "120"));
    server.fixed("/other", || feed("other", 1));
    let s = setup(&[
        ("busy", server.url("/busy")),
        ("other", server.url("/other")),
    ]);
    let (run, json) = fetch(&s, &["--now", "2026-11-21T12:00:00Z"]);
    assert_eq!(run.code, 1);
    let r = report(&json, "busy");
    assert_eq!(r["http_status"], 429);
    assert_eq!(time(&r["next_attempt"]), at("2026-11-21T12:02:00Z"));

    let (_, json) = fetch(&s, &["--now", "2026-11-21T12:01:00Z"]);
    assert_eq!(report(&json, "busy")["status"], "waiting");
    assert_eq!(server.hits("/busy"), 1);
    // The same host's other feed is not held back: Retry-After is per source.
    assert_eq!(server.hits("/other"), 2);

    fetch(&s, &["--now", "2026-11-21T12:02:01Z"]);
    assert_eq!(server.hits("/busy"), 2);
}

#[test]
fn retry_after_as_a_date_is_honoured_and_force_overrides_it() {
    let server = Server::start();
    server.fixed("/down", || {
        Reply::new(503).header("Retry-After", "Sat, 21 Nov 2026 15:00:00 GMT")
    });
    let s = setup(&[("down", server.url("/down"))]);
    let (_, json) = fetch(&s, &["--now", "2026-11-21T12:00:00Z"]);
    let r = report(&json, "down");
    assert_eq!(r["http_status"], 503);
    assert_eq!(time(&r["next_attempt"]), at("2026-11-21T15:00:00Z"));

    let (_, json) = fetch(&s, &["--now", "2026-11-21T14:59:00Z"]);
    assert_eq!(report(&json, "down")["status"], "waiting");
    assert_eq!(server.hits("/down"), 1);
    fetch(&s, &["--now", "2026-11-21T14:59:00Z", "--force"]);
    assert_eq!(server.hits("/down"), 2);
    fetch(&s, &["--now", "2026-11-21T15:00:01Z"]);
    assert_eq!(server.hits("/down"), 3);
}

#[test]
fn freshness_hints_delay_the_next_request_up_to_a_week() {
    let server = Server::start();
    server.fixed("/max-age", || {
        feed("maxage", 1).header("Cache-Control", "public, max-age=7200")
    });
    server.fixed("/expires", || {
        feed("expires", 1).header("Expires", "Sat, 21 Nov 2026 18:30:00 GMT")
    });
    server.fixed("/ttl", || {
        Reply::ok("application/rss+xml", rss("ttl", 1, "<ttl>90</ttl>"))
    });
    server.fixed("/year", || {
        feed("year", 1).header("Cache-Control", "max-age=31536000")
    });
    server.fixed("/no-cache", || {
        feed("nocache", 1).header("Cache-Control", "no-cache, max-age=600")
    });
    let s = setup(&[
        ("max-age", server.url("/max-age")),
        ("expires", server.url("/expires")),
        ("ttl", server.url("/ttl")),
        ("year", server.url("/year")),
        ("no-cache", server.url("/no-cache")),
    ]);
    let (run, json) = fetch(&s, &["--now", "2026-11-21T12:00:00Z"]);
    assert_eq!(run.code, 0, "{json}");
    let next = |id: &str| time(&report(&json, id)["next_attempt"]);
    assert_eq!(next("max-age"), at("2026-11-21T14:00:00Z"));
    assert_eq!(next("expires"), at("2026-11-21T18:30:00Z"));
    assert_eq!(next("ttl"), at("2026-11-21T13:30:00Z"));
    assert_eq!(next("year"), at("2026-11-28T12:00:00Z"), "capped at 7 days");
    assert_eq!(report(&json, "no-cache")["next_attempt"], Value::Null);

    let (_, json) = fetch(&s, &["--now", "2026-11-21T13:45:00Z"]);
    let status = |id: &str| report(&json, id)["status"].as_str().unwrap().to_string();
    assert_eq!(status("max-age"), "waiting");
    assert_eq!(status("expires"), "waiting");
    assert_eq!(status("year"), "waiting");
    assert_eq!(status("ttl"), "not_modified", "the ttl has passed");
    assert_eq!(server.hits("/max-age"), 1);
    assert_eq!(server.hits("/ttl"), 2);
    assert_eq!(server.hits("/no-cache"), 2);
    // Nothing was parsed this time, yet the feed's <ttl> still holds.
    assert_eq!(
        time(&report(&json, "ttl")["next_attempt"]),
        at("2026-11-21T15:15:00Z")
    );
}

#[test]
fn an_unlabelled_iso_8859_1_feed_keeps_its_accents() {
    let text = include_str!("../../fixtures/quirks/rss-latin1-undeclared.xml");
    let (latin1, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
    assert!(!unmappable);
    let bytes = latin1.into_owned();
    assert!(std::str::from_utf8(&bytes).is_err(), "really not UTF-8");
    let server = Server::start();
    // No charset in the header, none in the XML declaration.
    server.route("/latin1", move |_| {
        Reply::ok("application/rss+xml", bytes.clone())
    });
    let s = setup(&[("latin1", server.url("/latin1"))]);
    s.run(&["fetch"]).ok();
    let stored = items(&s, "latin1");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0]["title"],
        "Acción urgente: niñas desplazadas en Chenalhó"
    );
    let summary = stored[0]["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("señora Pérez"), "{summary}");
}

#[test]
fn a_broken_source_never_stops_the_healthy_ones() {
    let server = Server::start();
    for (path, tag) in [("/a", "sana-a"), ("/b", "sana-b"), ("/c", "sana-c")] {
        server.fixed(path, move || feed(tag, 3));
    }
    server.fixed("/500", || Reply::new(500));
    server.fixed("/html", || {
        Reply::ok(
            "text/html",
            "<html><body><h1>Mantenimiento</h1></body></html>",
        )
    });
    server.fixed("/stall", || {
        Reply::ok("application/rss+xml", "").body(Body::Stall {
            first: b"<rss>".to_vec(),
            declared: 100,
        })
    });
    // A port nobody listens on.
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/feed", l.local_addr().unwrap())
    };
    let s = setup(&[
        ("a", server.url("/a")),
        ("err500", server.url("/500")),
        ("b", server.url("/b")),
        ("missing", server.url("/404")),
        ("html", server.url("/html")),
        ("stall", server.url("/stall")),
        ("refused", refused),
        ("c", server.url("/c")),
    ]);
    let run = s.run(&["fetch"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // Not a terminal: exactly one line, naming what needs a look.
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("failed: err500, missing, html, stall, refused"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("3 ok"), "{}", run.stdout);
    for id in ["a", "b", "c"] {
        assert_eq!(items(&s, id).len(), 3, "{id}");
    }
    let h = health(&s);
    for id in ["err500", "missing", "html", "stall", "refused"] {
        assert_eq!(h[id]["errors_in_a_row"], 1, "{id}");
        assert!(h[id]["last_error"].is_string(), "{id}");
        assert!(h[id]["next_attempt"].is_string(), "{id}");
    }
    assert!(
        h["err500"]["last_error"]
            .as_str()
            .unwrap()
            .contains("HTTP 500")
    );
    assert!(
        h["missing"]["last_error"]
            .as_str()
            .unwrap()
            .contains("HTTP 404")
    );
    assert!(
        h["refused"]["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot connect")
    );
    assert_eq!(h["a"]["items"], 3);
    assert_eq!(h["a"]["errors_in_a_row"], 0);
    assert!(h["a"]["newest_item"].is_string());

    // --quiet: nothing at all on stdout or stderr, same exit code.
    let quiet = s.run(&["fetch", "--quiet", "--force"]);
    assert_eq!(quiet.code, 1);
    assert_eq!((quiet.stdout.as_str(), quiet.stderr.as_str()), ("", ""));
}

#[test]
fn json_report_has_every_field() {
    let server = Server::start();
    server.fixed("/feed", || feed("json", 2));
    let s = setup(&[("json", server.url("/feed"))]);
    let (run, json) = fetch(&s, &[]);
    assert_eq!(run.code, 0);
    let r = report(&json, "json");
    for key in [
        "status",
        "http_status",
        "new",
        "updated",
        "unchanged",
        "bytes",
        "ms",
        "error",
        "next_attempt",
        "moved_to",
    ] {
        assert!(r.get(key).is_some(), "missing {key}: {r}");
    }
    assert_eq!(r["http_status"], 200);
    assert!(r["bytes"].as_u64().unwrap() > 500);
    assert_eq!(json["interrupted"], false);
}

#[test]
fn backoff_grows_then_resets_after_a_success() {
    let server = Server::start();
    let broken = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let b = broken.clone();
    server.route("/flaky", move |_| {
        if b.load(Ordering::SeqCst) {
            Reply::new(502)
        } else {
            feed("flaky", 2)
        }
    });
    let s = setup(&[("flaky", server.url("/flaky"))]);
    let next_after = |now: &str| -> Option<DateTime<Utc>> {
        let (_, json) = fetch(&s, &["--now", now]);
        let v = &report(&json, "flaky")["next_attempt"];
        (!v.is_null()).then(|| time(v))
    };
    // 1 h, 2 h, 4 h … each attempt made just after the previous wait ends.
    let mut now = at("2026-11-01T00:00:00Z");
    let mut waits = Vec::new();
    for _ in 0..7 {
        let next = next_after(&now.to_rfc3339()).unwrap();
        waits.push((next - now).num_hours());
        // Halfway through the wait: not asked.
        let hits = server.hits("/flaky");
        let (_, json) = fetch(&s, &["--now", &(now + (next - now) / 2).to_rfc3339()]);
        assert_eq!(report(&json, "flaky")["status"], "waiting");
        assert_eq!(server.hits("/flaky"), hits);
        now = next + chrono::Duration::seconds(1);
    }
    assert_eq!(
        waits,
        [1, 2, 4, 8, 16, 24, 24],
        "doubling to a 24 h ceiling"
    );
    assert_eq!(health(&s)["flaky"]["errors_in_a_row"], 7);

    broken.store(false, Ordering::SeqCst);
    assert_eq!(
        next_after(&now.to_rfc3339()),
        None,
        "a success clears the backoff"
    );
    let h = health(&s);
    assert_eq!(h["flaky"]["errors_in_a_row"], 0);
    assert_eq!(h["flaky"]["last_error"], Value::Null);

    broken.store(true, Ordering::SeqCst);
    now += chrono::Duration::hours(1);
    let next = next_after(&now.to_rfc3339()).unwrap();
    assert_eq!((next - now).num_hours(), 1, "back to the first step");
}

#[test]
fn sources_failing_for_over_a_week_stand_out() {
    let server = Server::start();
    server.fixed("/down", || Reply::new(500));
    server.fixed("/ok", || feed("fine", 2));
    let s = setup(&[("down", server.url("/down")), ("ok", server.url("/ok"))]);
    fetch(&s, &["--now", "2026-11-01T08:00:00Z"]);
    fetch(&s, &["--now", "2026-11-05T08:00:00Z"]);
    let soon = s
        .run(&["sources", "--json", "--now", "2026-11-06T08:00:00Z"])
        .ok();
    assert_eq!(soon.json()[0]["failing_over_7_days"], false);
    let late = s
        .run(&["sources", "--json", "--now", "2026-11-09T08:00:00Z"])
        .ok();
    let down = &late.json()[0];
    assert_eq!(down["id"], "down");
    assert_eq!(down["failing_over_7_days"], true);
    assert_eq!(down["errors_in_a_row"], 2);
    assert_eq!(time(&down["failing_since"]), at("2026-11-01T08:00:00Z"));
    assert_eq!(down["last_success"], Value::Null);
    let text = s.run(&["sources", "--now", "2026-11-09T08:00:00Z"]).ok();
    let line = text.stdout.lines().find(|l| l.starts_with("down")).unwrap();
    assert!(line.contains("FAILING >7 DAYS: HTTP 500"), "{line}");
    let ok = text.stdout.lines().find(|l| l.starts_with("ok ")).unwrap();
    assert!(ok.trim_end().ends_with("ok"), "{ok}");
}

/// Five feeds, each a little slow, fetched one at a time.
fn five_slow_sources(server: &Server) -> Scratch {
    let ids = ["s1", "s2", "s3", "s4", "s5"];
    let mut sources = Vec::new();
    for id in ids {
        let path = format!("/{id}");
        let tag = format!("lento-{id}");
        server.fixed(&path, move || {
            let body = rss(&tag, 2, "").into_bytes();
            trickle(&body, body.len() / 2 + 1, Duration::from_millis(400))
        });
        sources.push((id, server.url(&path)));
    }
    let settings = "timeout_secs = 10\nstall_timeout_secs = 2\nconcurrency = 1\nper_host = 1\n";
    setup_with(settings, &sources)
}

fn sources_with_items(s: &Scratch) -> usize {
    health(s)
        .values()
        .filter(|h| h["items"].as_u64() == Some(2))
        .count()
}

#[test]
fn sigterm_stores_what_was_fetched_and_the_next_run_completes() {
    let server = Server::start();
    let s = five_slow_sources(&server);
    let child = spawn_fetch(&s);
    wait_until("third request", || server.requests().len() >= 3);
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["interrupted"], true);
    let started = server.requests().len();
    assert!(started < 5, "no new request after the signal");
    // Every request that was started was finished and stored.
    assert_eq!(sources_with_items(&s), started);
    let interrupted = json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "interrupted")
        .count();
    assert_eq!(interrupted, 5 - started);

    s.run(&["fetch"]).ok();
    assert_eq!(sources_with_items(&s), 5);
}

#[test]
fn kill_9_leaves_a_consistent_store_and_no_stale_lock() {
    let server = Server::start();
    let s = five_slow_sources(&server);
    let mut child = spawn_fetch(&s);
    wait_until("third request", || server.requests().len() >= 3);
    child.kill().unwrap();
    child.wait().unwrap();

    let conn = rusqlite::Connection::open(s.db()).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);

    let run = s.run(&["fetch"]);
    assert_eq!(run.code, 0, "the lock died with its holder: {}", run.stderr);
    assert_eq!(sources_with_items(&s), 5);
}

#[test]
fn a_second_run_exits_3_while_the_first_holds_the_lock() {
    let server = Server::start();
    let first = Arc::new(AtomicUsize::new(0));
    let f = first.clone();
    server.route("/slow", move |_| {
        let body = rss("lock", 2, "").into_bytes();
        if f.fetch_add(1, Ordering::SeqCst) == 0 {
            // The first run's request: slow enough to overlap with the second run.
            trickle(&body, 64, Duration::from_millis(500))
        } else {
            Reply::ok("application/rss+xml", body)
        }
    });
    let settings = "timeout_secs = 60\nstall_timeout_secs = 5\n";
    let s = setup_with(settings, &[("slow", server.url("/slow"))]);
    let mut child = spawn_fetch(&s);
    assert!(server.wait_for("/slow", 1), "never happened: first request");

    let second = s.run(&["fetch"]);
    assert_eq!(second.code, 3, "{}", second.stderr);
    assert!(
        second.stderr.contains("another boletin run")
            && second.stderr.contains(&child.id().to_string()),
        "{}",
        second.stderr
    );
    assert_eq!(server.hits("/slow"), 1, "the second run requested nothing");

    child.kill().unwrap();
    child.wait().unwrap();
    let third = s.run(&["fetch"]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(items(&s, "slow").len(), 2);
}

#[test]
fn a_terminal_gets_a_progress_bar_and_failures_as_they_happen() {
    let server = Server::start();
    server.fixed("/ok", || feed("terminal", 2));
    server.fixed("/broken", || Reply::new(500));
    let s = setup(&[("ok", server.url("/ok")), ("broken", server.url("/broken"))]);
    // `script` (util-linux, essential on Debian) runs the command on a pseudo-terminal.
    let command = format!(
        "'{}' --config '{}' fetch",
        env!("CARGO_BIN_EXE_boletin"),
        s.config().display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("BOLETIN_DB")
        .env_remove("BOLETIN_LOG")
        .current_dir(s.path())
        .output()
        .expect("run script");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("/2"), "no progress bar: {text}");
    assert!(text.contains("broken: HTTP 500"), "{text}");
    assert!(text.contains("2 sources: 1 ok"), "{text}");
    // The one-line cron tail is for logs, not for a person at a terminal.
    assert!(!text.contains("; failed: broken"), "{text}");
}

#[test]
fn a_user_agent_with_accents_is_a_config_error() {
    let s = setup_with(
        "user_agent = \"boletín/1 (+https://boletin.example.org/)\"\n",
        &[("x", "http://127.0.0.1:9/feed".to_string())],
    );
    let run = s.run(&["check"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("settings.user_agent") && run.stderr.contains("ASCII"),
        "{}",
        run.stderr
    );
}
