//! Hostile partner content, as a hacked or defaced partner site would serve it. Each file of
//! `fixtures/hostile/` is one attack; each goes through `inspect`, two `fetch` runs beside
//! healthy sources (which must be stored and annotated both times), `compose` and an
//! edition's `.eml`, every run with its peak memory measured and bounded. Beside the partner
//! runs a service boletin must never call, and a local file it must never read.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::common::{Run, Scratch, manifest_dir};
use crate::server::{Reply, Server};

/// Peak resident memory allowed to any one run, for any input within the body cap.
const PEAK_KB: u64 = 300 * 1024;

/// What the service beside boletin answers, and the local file holds: never to be seen.
const INTERNAL_SECRET: &str = "SECRETO-INTERNO-credenciales";
const LOCAL_SECRET: &str = "SECRETO-LOCAL-llave-privada";

/// One measured run of the binary.
struct Measured {
    run: Run,
    /// Peak resident set, in KiB.
    peak_kb: u64,
    /// The signal that ended it, if one did.
    signal: Option<i32>,
    secs: f64,
}

impl Measured {
    /// Asserts the run ended by itself (exit 0, or 1 for "a source failed") within the bound.
    #[track_caller]
    fn bounded(self, what: &str) -> Run {
        assert_eq!(
            self.signal, None,
            "{what}: killed by a signal\nstderr: {}",
            self.run.stderr
        );
        assert!(
            matches!(self.run.code, 0 | 1),
            "{what}: exit {}\nstdout: {}\nstderr: {}",
            self.run.code,
            self.run.stdout,
            self.run.stderr
        );
        assert!(
            self.peak_kb < PEAK_KB,
            "{what}: peak RSS {} MiB (bound {} MiB)",
            self.peak_kb / 1024,
            PEAK_KB / 1024
        );
        eprintln!(
            "hostile: {what}: peak RSS {:.1} MiB, {:.1} s",
            self.peak_kb as f64 / 1024.0,
            self.secs
        );
        self.run
    }
}

/// Runs `boletin ARGS` in `dir` and measures its peak RSS: with GNU time when installed,
/// else by reading the child's high-water mark (`VmHWM`) until it exits.
fn measured(dir: &Path, args: &[&str]) -> Measured {
    let bin = env!("CARGO_BIN_EXE_boletin");
    let time = Path::new("/usr/bin/time");
    let report = dir.join(format!(".peak-{}", std::process::id()));
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-o").arg(&report).args(["-f", "%M", bin]);
        c
    } else {
        Command::new(bin)
    };
    for (k, _) in std::env::vars() {
        if k.starts_with("BOLETIN_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("run boletin");
    // Both pipes drained on their own threads, so a chatty child never blocks on them.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status_file = format!("/proc/{}/status", child.id());
    let mut sampled = 0u64;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if let Some(kb) = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|s| vm_kb(&s, "VmHWM:"))
        {
            sampled = sampled.max(kb);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let secs = started.elapsed().as_secs_f64();
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    use std::os::unix::process::ExitStatusExt;
    let (code, signal, peak_kb) = if time.exists() {
        let text = std::fs::read_to_string(&report).unwrap_or_default();
        let _ = std::fs::remove_file(&report);
        let peak = text
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(u64::MAX);
        let signal = text
            .split("terminated by signal ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|n| n.parse().ok());
        (status.code().unwrap_or(-1), signal, peak)
    } else {
        (status.code().unwrap_or(-1), status.signal(), sampled)
    };
    Measured {
        run: Run {
            code,
            stdout,
            stderr,
        },
        peak_kb,
        signal,
        secs,
    }
}

fn vm_kb(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn fixture(name: &str) -> Vec<u8> {
    let path = manifest_dir().join("fixtures/hostile").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("gzip fixture");
    out
}

/// The partner site as hacked, the service beside boletin, a healthy partner, and a scratch
/// folder with a secret file.
struct World {
    partner: Server,
    inward: Server,
    healthy: Server,
    scratch: Scratch,
    secret_file: PathBuf,
}

impl World {
    fn new() -> World {
        let inward = Server::start();
        let leak = format!(
            "<html><body><article><div class=\"cuerpo\">{INTERNAL_SECRET}</div></article></body></html>"
        );
        inward.fallback(move |_| Reply::ok("text/html", leak.clone()));
        let healthy = Server::start();
        let demo = manifest_dir().join("fixtures/demo/sources");
        for (path, file, ct) in [
            ("/oaxaca.xml", "wordpress-es.xml", "application/rss+xml"),
            ("/defensoras.xml", "atom-en.xml", "application/atom+xml"),
        ] {
            let body = std::fs::read(demo.join(file)).unwrap();
            healthy.fixed(path, move || Reply::ok(ct, body.clone()));
        }
        let scratch = Scratch::empty();
        std::fs::create_dir_all(scratch.path().join("sources")).unwrap();
        std::fs::copy(
            demo.join("rss1.rdf"),
            scratch.path().join("sources/rss1.rdf"),
        )
        .unwrap();
        let secret_dir = scratch.path().join("privado");
        std::fs::create_dir_all(&secret_dir).unwrap();
        let secret_file = secret_dir.join("secreto.txt");
        std::fs::write(&secret_file, LOCAL_SECRET).unwrap();
        World {
            partner: Server::start(),
            inward,
            healthy,
            scratch,
            secret_file,
        }
    }

    /// A fixture with its placeholders filled in for this world.
    fn fill(&self, name: &str) -> Vec<u8> {
        let bytes = fixture(name);
        let Ok(text) = String::from_utf8(bytes.clone()) else {
            return bytes;
        };
        let folder = self.secret_file.parent().unwrap();
        text.replace("{{PUERTO_INTERNO}}", &self.inward_port())
            .replace(
                "{{ARCHIVO_SECRETO}}",
                &self.secret_file.display().to_string(),
            )
            .replace("{{CARPETA_SECRETA}}", &folder.display().to_string())
            .replace(
                "{{ARCHIVO_FEED}}",
                &self
                    .scratch
                    .path()
                    .join("sources/rss1.rdf")
                    .display()
                    .to_string(),
            )
            .into_bytes()
    }

    fn inward_port(&self) -> String {
        let url = self.inward.url("");
        url.rsplit(':').next().unwrap().to_string()
    }

    /// Serves fixture `name` on the partner's `path`; `.gz` fixtures gzip-encoded, as a
    /// compressing server sends them.
    fn serve(&self, path: &str, name: &str, content_type: &str) {
        let body = self.fill(name);
        let ct = content_type.to_string();
        let gz = name.ends_with(".gz");
        self.partner.fixed(path, move || {
            let reply = Reply::ok(&ct, body.clone());
            if gz {
                reply.header("Content-Encoding", "gzip")
            } else {
                reply
            }
        });
    }

    /// feeds.toml: the hostile source first (a crash there would stop every later one),
    /// then two healthy partners over HTTP and one local file.
    fn config(&self, hostile: &str) {
        let text = format!(
            r#"[newsletter]
title = "Boletín Solidaridad Oaxaca–Chiapas"
from = "Boletín <boletin@example.org>"
language = "es"

[settings]
timeout_secs = 20
connect_timeout_secs = 5
stall_timeout_secs = 5

[[section]]
id = "noticias"
title = "Noticias / News"

{hostile}
[[source]]
id = "colectivo-oaxaca"
name = "Colectivo Oaxaqueño por la Defensa de los Territorios"
url = "{}"
section = "noticias"

[[source]]
id = "red-defensoras"
name = "Red de Defensoras Mesoamericanas"
url = "{}"
section = "noticias"

[[source]]
id = "cdh-altos"
name = "Centro de Derechos Humanos de los Altos de Chiapas"
url = "sources/rss1.rdf"
section = "noticias"
site = "https://cdh-altos.example.org/"
"#,
            self.healthy.url("/oaxaca.xml"),
            self.healthy.url("/defensoras.xml"),
        );
        self.scratch.write("feeds.toml", &text);
    }

    fn run(&self, args: &[&str]) -> Measured {
        let config = self.scratch.config();
        let mut full = vec!["--config", config.to_str().unwrap()];
        full.extend_from_slice(args);
        measured(self.scratch.path(), &full)
    }

    /// `fetch` twice (the second forced, so the hostile document is read again), checking
    /// each time that the run completed, the healthy sources were stored and annotated, and
    /// the hostile source got a report of its own. Returns the two reports.
    fn fetch_twice(&self, name: &str) -> [serde_json::Value; 2] {
        let mut reports = Vec::new();
        for (round, extra) in [(1, None), (2, Some("--force"))] {
            let mut args = vec!["fetch", "--json"];
            args.extend(extra);
            let what = format!("{name}: fetch #{round}");
            let report = self.run(&args).bounded(&what).json();
            let status = |id: &str| {
                source_report(&report, id)["status"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            };
            for id in ["colectivo-oaxaca", "red-defensoras", "cdh-altos"] {
                let st = status(id);
                assert!(st == "ok" || st == "not_modified", "{what}: {id} is {st}");
            }
            let hostile = status("atacada");
            assert!(
                ["ok", "failed", "not_modified"].contains(&hostile.as_str()),
                "{what}: {hostile}"
            );
            self.assert_healthy_annotated(&what);
            reports.push(report);
        }
        [reports.remove(0), reports.remove(0)]
    }

    #[track_caller]
    fn assert_healthy_annotated(&self, what: &str) {
        let items = self.scratch.items(&["--all"]);
        for (id, expected) in [
            ("colectivo-oaxaca", 6),
            ("red-defensoras", 5),
            ("cdh-altos", 4),
        ] {
            let mine: Vec<&serde_json::Value> =
                items.iter().filter(|i| i["source_id"] == id).collect();
            assert_eq!(mine.len(), expected, "{what}: items of {id}");
            for item in mine {
                assert!(
                    item["language"].is_string(),
                    "{what}: {id} not annotated: {item}"
                );
            }
        }
    }

    /// `compose --since`, then `draft` and the edition's `compose`; returns every file made.
    fn compose(&self, name: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let now = ["--now", "2026-11-21"];
        let since = [
            &["compose", "--since", "7d", "--out", "out-since"][..],
            &now,
        ]
        .concat();
        self.run(&since)
            .bounded(&format!("{name}: compose --since"));
        let draft = [&["draft", "--out", "editions/2026-W47.toml"][..], &now].concat();
        self.run(&draft).bounded(&format!("{name}: draft"));
        self.run(&["compose", "editions/2026-W47.toml", "--out", "out"])
            .bounded(&format!("{name}: compose edition"));
        let mut files = Vec::new();
        for dir in ["out-since", "out"] {
            collect(&self.scratch.path().join(dir), &mut files);
        }
        assert!(
            files.iter().any(|(p, _)| p.ends_with("email.eml")),
            "{name}: no .eml in {files:?}"
        );
        files
    }

    /// Nothing secret in the composed `files`, the `printed` outputs or the store, and the
    /// service beside boletin never asked anything.
    #[track_caller]
    fn assert_nothing_leaked(&self, name: &str, files: &[(PathBuf, Vec<u8>)], printed: &[&str]) {
        let stored = serde_json::Value::Array(self.scratch.items(&["--all"])).to_string();
        let composed = files.iter().map(|(_, b)| String::from_utf8_lossy(b));
        for text in composed
            .chain(printed.iter().map(|t| (*t).into()))
            .chain([stored.into()])
        {
            assert!(
                !text.contains(INTERNAL_SECRET),
                "{name}: internal service leaked"
            );
            assert!(!text.contains(LOCAL_SECRET), "{name}: local file leaked");
        }
        let asked: Vec<String> = self.inward.requests().into_iter().map(|r| r.path).collect();
        assert!(
            asked.is_empty(),
            "{name}: the internal service was called: {asked:?}"
        );
    }

    fn hostile_items(&self) -> Vec<serde_json::Value> {
        self.scratch
            .items(&["--all", "--source", "atacada"])
            .into_iter()
            .collect()
    }
}

/// Source `id`'s entry in a `fetch --json` report.
#[track_caller]
fn source_report<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["sources"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["id"] == id))
        .unwrap_or_else(|| panic!("no report for {id}: {report}"))
}

fn collect(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            let bytes = std::fs::read(&path).unwrap();
            out.push((path, bytes));
        }
    }
}

/// A feed source on the partner's `path`.
fn feed_source(url: &str) -> String {
    format!(
        "[[source]]\nid = \"atacada\"\nname = \"Organización aliada (sitio intervenido)\"\nurl = \"{url}\"\nsection = \"noticias\"\n"
    )
}

/// A page source on the partner's `path`, with `follow = true`.
fn page_source(url: &str, item: &str) -> String {
    format!(
        "{}kind = \"page\"\n[source.scrape]\nitem = \"{item}\"\ntitle = \"h2\"\nlink = {{ selector = \"h2 a\", attr = \"href\" }}\ncontent = \"article .cuerpo\"\nfollow = true\n",
        feed_source(url)
    )
}

/// The whole round for one hostile feed fixture: inspect, fetch twice, compose. Returns
/// the world (for more checks), the `inspect` output and the composed files.
fn feed_attack(name: &str) -> (World, String, Vec<(PathBuf, Vec<u8>)>) {
    let w = World::new();
    w.serve("/feed.xml", name, "application/rss+xml; charset=utf-8");
    let url = w.partner.url("/feed.xml");
    w.config(&feed_source(&url));
    let inspect = w
        .run(&["inspect", &url, "--source", "atacada", "--json"])
        .bounded(&format!("{name}: inspect"));
    w.fetch_twice(name);
    let files = w.compose(name);
    w.assert_nothing_leaked(name, &files, &[&inspect.stdout]);
    (w, inspect.stdout, files)
}

fn eml_size(files: &[(PathBuf, Vec<u8>)]) -> usize {
    files
        .iter()
        .filter(|(p, _)| p.ends_with("email.eml"))
        .map(|(_, b)| b.len())
        .max()
        .unwrap_or(0)
}

#[test]
fn a_megabyte_entity_used_200_times_expands_once_within_the_budget() {
    let served = String::from_utf8(gunzip(&fixture("entity-budget.xml.gz"))).unwrap();
    assert_eq!(
        served.matches("&relleno;").count(),
        200,
        "the attack is whole"
    );
    let (w, _, files) = feed_attack("entity-budget.xml.gz");
    let items = w.hostile_items();
    let atoyac = items
        .iter()
        .find(|i| i["title"] == "Comunicado: defensa del río Atoyac")
        .expect("the item is kept");
    // Expansions may add no more than the document's own length (about 1 MiB).
    let stored = atoyac.to_string().len();
    assert!(stored < 5 << 20, "{stored} bytes stored for one item");
    assert!(
        eml_size(&files) < 2 << 20,
        "{} bytes of .eml",
        eml_size(&files)
    );
}

#[test]
fn ten_thousand_nested_elements_are_read_flat_and_fast() {
    let (w, inspect, _) = feed_attack("deep-xml-10k.xml");
    assert!(inspect.contains("Radio Ñomndaa sale del aire"), "{inspect}");
    assert!(
        w.hostile_items()
            .iter()
            .any(|i| i["title"] == "Radio Ñomndaa sale del aire tras amenazas"),
        "stored"
    );
}

#[test]
fn a_hundred_thousand_nested_elements_neither_crash_nor_hang() {
    let (w, inspect, _) = feed_attack("deep-xml-100k.xml.gz");
    assert!(inspect.contains("Radio Ñomndaa sale del aire"), "{inspect}");
    assert_eq!(w.hostile_items().len(), 2);
}

#[test]
fn a_tag_with_two_hundred_thousand_attributes_costs_seconds_not_minutes() {
    let w = World::new();
    let name = "crowded-attributes.xml.gz";
    w.serve("/feed.xml", name, "application/rss+xml; charset=utf-8");
    let url = w.partner.url("/feed.xml");
    w.config(&feed_source(&url));
    // Compared pairwise, the attributes took minutes; read once and cut, well under a second.
    let inspect = w.run(&["inspect", &url, "--source", "atacada", "--json"]);
    assert!(inspect.secs < 30.0, "inspect took {:.1} s", inspect.secs);
    let inspect = inspect.bounded(&format!("{name}: inspect"));
    assert!(
        inspect.stdout.contains("San Juan Copala"),
        "{}",
        inspect.stdout
    );
    w.fetch_twice(name);
    let items = w.hostile_items();
    assert_eq!(items.len(), 2, "both items stored");
    let desalojo = items
        .iter()
        .find(|i| i["title"] == "Desalojo en San Juan Copala")
        .expect("the crowded item");
    let summary = desalojo["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("familias triquis"), "{summary:.300}");
    assert!(!summary.contains("d199999"), "the crowded tag is left out");
    let files = w.compose(name);
    w.assert_nothing_leaked(name, &files, &[&inspect.stdout]);
}

#[test]
fn deep_html_in_one_item_fails_no_run() {
    let (w, _, _) = feed_attack("deep-html.xml");
    let items = w.hostile_items();
    assert_eq!(items.len(), 2, "both items of the source stored");
    let deep = items
        .iter()
        .find(|i| i["link"] == "https://montana.example.org/2026/11/hostigamiento")
        .expect("the deep item");
    assert!(
        deep["content"]
            .as_str()
            .unwrap_or_default()
            .contains("Tlapa de Comonfort"),
        "the text inside survives: {}",
        deep["content"].as_str().unwrap_or_default().len()
    );
}

#[test]
fn a_twelve_megabyte_title_is_cut_to_one_line() {
    let served = gunzip(&fixture("huge-title.xml.gz"));
    assert!(
        served.len() > 12 << 20,
        "the attack is whole: {} bytes",
        served.len()
    );
    let (w, inspect, files) = feed_attack("huge-title.xml.gz");
    let items = w.hostile_items();
    let title = items
        .iter()
        .filter_map(|i| i["title"].as_str())
        .find(|t| t.starts_with("¡URGENTE! Desalojo violento"))
        .expect("the item is kept")
        .to_string();
    assert!(
        title.chars().count() <= 1001,
        "{} chars",
        title.chars().count()
    );
    assert!(title.ends_with('…'), "{title}");
    assert!(
        inspect.len() < 1 << 20,
        "inspect printed {} bytes",
        inspect.len()
    );
    assert!(
        eml_size(&files) < 512 << 10,
        "{} bytes of .eml",
        eml_size(&files)
    );
}

#[test]
fn nul_bytes_and_invalid_utf8_become_clean_text() {
    let (w, _, files) = feed_attack("nul-invalid-utf8.xml");
    let items = w.hostile_items();
    assert_eq!(items.len(), 2, "{items:?}");
    for item in &items {
        let title = item["title"].as_str().unwrap();
        assert!(!title.chars().any(char::is_control), "{title:?}");
    }
    assert!(
        items.iter().any(|i| i["title"]
            .as_str()
            .unwrap()
            .starts_with("Asamblea en Tlaxiaco")),
        "{items:?}"
    );
    for (path, bytes) in &files {
        assert!(!bytes.contains(&0), "NUL in {}", path.display());
    }
}

/// The round for a page source with `follow = true`.
fn page_attack(name: &str, item: &str) -> World {
    let w = World::new();
    w.serve("/noticias", name, "text/html; charset=utf-8");
    w.partner.fixed("/notas/asamblea-guelatao", || {
        Reply::ok(
            "text/html; charset=utf-8",
            "<html><body><article><div class=\"cuerpo\"><p>Las autoridades de doce comunidades \
             zapotecas acordaron vigilar el bosque comunal de Guelatao.</p></div></article></body></html>",
        )
    });
    let url = w.partner.url("/noticias");
    w.config(&page_source(&url, item));
    let inspect = w
        .run(&["inspect", &url, "--source", "atacada", "--json"])
        .bounded(&format!("{name}: inspect"));
    let reports = w.fetch_twice(name);
    let files = w.compose(name);
    let reports = reports.map(|r| r.to_string());
    w.assert_nothing_leaked(name, &files, &[&inspect.stdout, &reports[0], &reports[1]]);
    w
}

#[test]
fn followed_links_to_local_files_and_internal_services_are_refused() {
    let w = page_attack("follow-local-links.html", ".nota");
    // The partner's own item page is still followed and its text kept.
    assert!(
        w.partner.hits("/notas/asamblea-guelatao") >= 3,
        "inspect and two fetches"
    );
    let items = w.hostile_items();
    assert_eq!(items.len(), 6, "every list entry kept: {items:?}");
    let own = items
        .iter()
        .find(|i| i["title"] == "Asamblea regional en Guelatao por el bosque comunal")
        .unwrap();
    assert!(
        own["content"]
            .as_str()
            .unwrap_or_default()
            .contains("bosque comunal"),
        "{own}"
    );
    // A `file:` link is not even kept as a link.
    let local = items
        .iter()
        .find(|i| i["title"] == "Documento interno de la asamblea")
        .unwrap();
    assert!(local["link"].is_null(), "{local}");
}

#[test]
fn a_base_href_to_the_file_system_is_ignored() {
    let w = page_attack("base-href-file.html", "article.nota");
    let items = w.hostile_items();
    assert_eq!(items.len(), 2, "{items:?}");
    // Resolved against the page itself instead.
    let mut links: Vec<&str> = items.iter().filter_map(|i| i["link"].as_str()).collect();
    links.sort_unstable();
    assert_eq!(
        links,
        [w.partner.url("/anexo.txt"), w.partner.url("/secreto.txt")]
    );
    assert!(w.partner.hits("/secreto.txt") >= 1);
}

#[test]
fn add_never_writes_a_local_or_internal_feed_it_discovered() {
    let w = World::new();
    w.serve("/", "declares-file-feed.html", "text/html; charset=utf-8");
    let feed =
        std::fs::read(manifest_dir().join("fixtures/demo/sources/wordpress-es.xml")).unwrap();
    w.partner.fixed("/feed/", move || {
        Reply::ok("application/rss+xml", feed.clone())
    });
    w.inward
        .fallback(|_| Reply::ok("application/atom+xml", format!("<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>{INTERNAL_SECRET}</title></feed>")));
    w.config("");
    let before = w.scratch.read("feeds.toml");
    let run = w
        .run(&["add", &w.partner.url("/"), "--id", "atacada"])
        .bounded("declares-file-feed.html: add");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let after = w.scratch.read("feeds.toml");
    let added = after.strip_prefix(&before).expect("appended only");
    assert!(
        added.contains(&format!("url = \"{}\"", w.partner.url("/feed/"))),
        "{added}"
    );
    assert!(!after.contains("file://"), "{added}");
    assert!(!after.contains(&w.inward_port()), "{added}");
    assert!(
        !run.stdout.contains("file://"),
        "not even offered: {}",
        run.stdout
    );
    // The added source then runs beside the healthy ones like any other.
    w.fetch_twice("declares-file-feed.html");
    let files = w.compose("declares-file-feed.html");
    w.assert_nothing_leaked("declares-file-feed.html", &files, &[&run.stdout]);
}

#[test]
fn a_redirect_to_an_internal_address_is_refused() {
    let w = World::new();
    let raw = String::from_utf8(w.fill("redirect-inward.http")).unwrap();
    let status: u16 = raw.split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = raw
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect();
    w.partner.fixed("/feed.xml", move || {
        headers
            .iter()
            .fold(Reply::new(status), |r, (k, v)| r.header(k, v))
    });
    let url = w.partner.url("/feed.xml");
    w.config(&feed_source(&url));
    let inspect = w
        .run(&["inspect", &url, "--source", "atacada", "--json"])
        .bounded("redirect-inward.http: inspect");
    assert_eq!(inspect.code, 1);
    assert!(inspect.stderr.contains("refused"), "{}", inspect.stderr);
    let [first, second] = w.fetch_twice("redirect-inward.http");
    for report in [&first, &second] {
        let atacada = source_report(report, "atacada");
        assert_eq!(atacada["status"], "failed", "{atacada}");
        let error = atacada["error"].as_str().unwrap();
        assert!(error.starts_with("refused http://127.0.0.1:"), "{error}");
        assert!(!error.contains('\n'), "{error}");
        assert!(atacada["next_attempt"].is_string(), "backoff: {atacada}");
    }
    let files = w.compose("redirect-inward.http");
    w.assert_nothing_leaked("redirect-inward.http", &files, &[&inspect.stderr]);
}

#[test]
fn configured_devices_pipes_and_folders_are_not_read() {
    let w = World::new();
    let fifo = w.scratch.path().join("tuberia.xml");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    for (url, shown) in [
        ("/dev/zero", "/dev/zero"),
        (fifo.to_str().unwrap(), "tuberia.xml"),
        ("privado", "privado"),
    ] {
        w.config(&feed_source(url));
        let started = Instant::now();
        let report = w
            .run(&["fetch", "--json"])
            .bounded(&format!("{shown}: fetch"))
            .json();
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{shown}: took too long"
        );
        let atacada = source_report(&report, "atacada");
        let error = atacada["error"].as_str().unwrap_or_default();
        assert!(error.contains("not a regular file"), "{shown}: {atacada}");
        w.assert_healthy_annotated(shown);
    }
}

/// Pieces hostile documents are made of, repeated many times each.
const PIECES: &[&str] = &[
    "<rss version=\"2.0\"><channel><item><title>",
    "<!DOCTYPE rss [<!ENTITY e \"¡Alerta! ¡Alerta! ¡Alerta! ¡Alerta! ¡Alerta!\">]>",
    "&e;",
    "<a>",
    "</a>",
    "<div>",
    "<p>",
    "<![CDATA[<div><b>",
    "]]>",
    "<",
    "&",
    "&nbsp;",
    "&#0;",
    "<x a=\"",
    "\"",
    "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><content type=\"xhtml\">",
    "{\"version\":\"https://jsonfeed.org/version/1.1\",\"items\":[",
    "[",
    "{\"a\":",
    "\u{0}",
    "\u{feff}",
    "ñá ",
];

fn hostile_document() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => (prop::sample::select(PIECES), 1usize..60_000)
            .prop_map(|(p, n)| p.repeat(n).into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..4096),
    ];
    prop::collection::vec(piece, 1..8).prop_map(|parts| {
        let mut doc = parts.concat();
        doc.truncate(1 << 20);
        doc
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]

    /// Any document up to 1 MB: `inspect` ends by itself, within the memory bound.
    #[test]
    fn inspect_ends_within_bounds_on_any_document(doc in hostile_document()) {
        let s = Scratch::empty();
        std::fs::write(s.path().join("doc.xml"), &doc).unwrap();
        let m = measured(s.path(), &["inspect", "doc.xml", "--json"]);
        prop_assert_eq!(m.signal, None, "{}", m.run.stderr);
        prop_assert!(matches!(m.run.code, 0 | 1), "exit {}: {}", m.run.code, m.run.stderr);
        prop_assert!(m.peak_kb < PEAK_KB, "peak RSS {} MiB", m.peak_kb / 1024);
    }
}
