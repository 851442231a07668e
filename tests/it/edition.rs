//! The editor's week. `draft` writes an edition file of candidates, a second
//! `draft` keeps every edit, `compose` validates it and writes the email, the `.eml`, the
//! web archive and its feed, and `preview` serves it while it changes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::{EDITION, Scratch, boletin, copy_dir, manifest_dir};

/// The demo, fetched, with a draft of the week ending 2026-11-21.
fn drafted() -> Scratch {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();
    s.run(&["draft", "--now", "2026-11-21", "--out", EDITION])
        .ok();
    s
}

fn edition_toml(s: &Scratch) -> toml::Value {
    edition_toml_at(s, EDITION)
}

fn edition_toml_at(s: &Scratch, rel: &str) -> toml::Value {
    toml::from_str(&s.read(rel)).expect("edition parses")
}

fn items_of(section: &toml::Value) -> Vec<toml::Value> {
    section
        .get("item")
        .and_then(|i| i.as_array())
        .cloned()
        .unwrap_or_default()
}

/// Edits the edition file with toml_edit, as an editor's text editor would.
fn edit(s: &Scratch, f: impl FnOnce(&mut toml_edit::DocumentMut)) {
    let mut doc: toml_edit::DocumentMut = s.read(EDITION).parse().expect("toml");
    f(&mut doc);
    s.write(EDITION, &doc.to_string());
}

/// The item table whose title starts with `prefix`.
fn item_mut<'a>(doc: &'a mut toml_edit::DocumentMut, prefix: &str) -> &'a mut toml_edit::Table {
    let sections = doc["section"].as_array_of_tables_mut().expect("sections");
    for section in sections.iter_mut() {
        if let Some(items) = section
            .get_mut("item")
            .and_then(|i| i.as_array_of_tables_mut())
        {
            for item in items.iter_mut() {
                if item
                    .get("title")
                    .and_then(|t| t.as_str())
                    .is_some_and(|t| t.starts_with(prefix))
                {
                    return item;
                }
            }
        }
    }
    panic!("no item titled {prefix}…");
}

#[test]
fn draft_lists_candidates_per_config_section_newest_first_with_duplicates_folded() {
    let s = drafted();
    let doc = edition_toml(&s);
    assert_eq!(doc["week"].as_str(), Some("2026-W47"));
    assert_eq!(doc["date"].as_str(), Some("2026-11-21"));
    assert_eq!(doc["number"].as_integer(), Some(1));
    assert!(
        doc["subject"]
            .as_str()
            .unwrap()
            .contains("21 de noviembre de 2026")
    );
    let sections = doc["section"].as_array().unwrap();
    let ids: Vec<&str> = sections.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["urgent", "news", "events"]);
    let mut total = 0;
    for section in sections {
        let items = items_of(section);
        let dates: Vec<&str> = items.iter().map(|i| i["date"].as_str().unwrap()).collect();
        let mut sorted = dates.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(dates, sorted, "ranked newest first");
        for item in &items {
            assert!(item["id"].as_integer().is_some());
            assert_eq!(item["include"].as_bool(), Some(true));
            assert!(item["link"].as_str().unwrap().starts_with("https://"));
            assert!(!item["source"].as_str().unwrap().is_empty());
        }
        total += items.len();
    }
    // 14 items in the window, two cross-posts folded into their originals.
    assert_eq!(total, 12);
    let text = s.read(EDITION);
    assert_eq!(
        text.matches("Acción urgente: amenazas contra defensora")
            .count(),
        1,
        "the cross-posted urgent action is listed once"
    );
    assert_eq!(text.matches("also = [").count(), 2, "{text}");
}

#[test]
fn draft_again_keeps_every_edit_and_comment_and_adds_new_candidates() {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();
    s.run(&[
        "draft",
        "--now",
        "2026-11-21",
        "--since",
        "3d",
        "--out",
        EDITION,
    ])
    .ok();
    let before = edition_toml(&s);
    let first_count: usize = before["section"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| items_of(s).len())
        .sum();
    edit(&s, |doc| {
        doc["subject"] = toml_edit::value("Defensoras bajo amenaza — boletín 47");
        let item = item_mut(doc, "Honduras: women defenders");
        item["include"] = toml_edit::value(false);
        item["title_override"] = toml_edit::value("Honduras: nuevas amenazas en el Bajo Aguán");
        item["blurb"] = toml_edit::value("Firma la **carta** de la red.");
        item.decor_mut().set_prefix("\n# Revisado por Ana, 21/11\n");
    });
    let edited = s.read(EDITION);
    let again = [
        "draft",
        "--now",
        "2026-11-21",
        "--since",
        "7d",
        "--out",
        EDITION,
    ];
    let run = s.run(&[&["--json"][..], &again[..]].concat()).ok();
    let report = run.json();
    assert!(report["added"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["kept"].as_u64().unwrap() as usize, first_count);
    let after = s.read(EDITION);
    // Every line the editor had is still there, in the same order.
    let mut rest = after.lines();
    for line in edited.lines() {
        assert!(
            rest.any(|l| l == line),
            "line lost or moved: {line:?}\n---\n{after}"
        );
    }
    assert!(after.contains("# Revisado por Ana, 21/11"));
    assert!(after.contains("Defensoras bajo amenaza — boletín 47"));
    // New candidates went in, and nothing is listed twice.
    let doc: toml::Value = toml::from_str(&after).unwrap();
    let mut ids: Vec<i64> = doc["section"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(items_of)
        .map(|i| i["id"].as_integer().unwrap())
        .collect();
    let n = ids.len();
    assert!(n > first_count);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n);
    // And a third run changes nothing.
    s.run(&again).ok();
    assert_eq!(s.read(EDITION), after);
}

#[test]
fn an_edition_s_week_is_a_real_iso_week_and_its_error_names_the_line() {
    let s = drafted();
    let text = s.read(EDITION);
    let line = text
        .lines()
        .position(|l| l.starts_with("week = "))
        .map(|i| i + 1)
        .unwrap();
    assert!(line > 1, "the draft writes its header first: {text}");
    for (week, why) in [
        ("2026-W99", "(2026 has weeks W01 to W53)"),
        ("2027-W53", "(2027 has weeks W01 to W52)"),
    ] {
        s.write(
            EDITION,
            &text.replace("week = \"2026-W47\"", &format!("week = \"{week}\"")),
        );
        let run = s.run(&["compose", EDITION, "--out", "out"]);
        assert_eq!(run.code, 2, "{run:?}");
        assert_eq!(
            run.stderr.trim(),
            format!("boletin: {EDITION}:{line}: `week`: `{week}` is not an ISO week {why}")
        );
        assert!(!s.path().join(format!("out/{week}")).exists());
    }
    // A draft for a week that does not exist is refused before anything is written.
    let run = s.run(&["draft", "--week", "2026-W99"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("`2026-W99` is not an ISO week"),
        "{}",
        run.stderr
    );
    assert!(!s.path().join("editions/2026-W99.toml").exists());
    // 2026 has a week 53 (28 December to 3 January).
    s.run(&["draft", "--week", "2026-W53"]).ok();
    let doc = edition_toml_at(&s, "editions/2026-W53.toml");
    assert_eq!(doc["week"].as_str(), Some("2026-W53"));
    assert_eq!(doc["date"].as_str(), Some("2027-01-03"));
}

#[test]
fn draft_week_takes_monday_to_sunday_and_names_the_file() {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();
    s.run(&["draft", "--week", "2026-W47"]).ok();
    let doc = edition_toml(&s);
    assert_eq!(doc["date"].as_str(), Some("2026-11-22"));
    let dates: Vec<String> = doc["section"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(items_of)
        .map(|i| i["date"].as_str().unwrap().to_string())
        .collect();
    assert!(!dates.is_empty());
    // Tapachula (15 November) is in the 7-day window but not in ISO week 47.
    assert!(
        dates.iter().all(|d| d.as_str() >= "2026-11-16"),
        "{dates:?}"
    );
}

#[test]
fn compose_names_the_line_of_an_unknown_item_or_section_and_writes_nothing() {
    let s = drafted();
    let original = s.read(EDITION);
    let mut lines: Vec<String> = original.lines().map(String::from).collect();
    let at = lines
        .iter()
        .position(|l| l == "[[section.item]]")
        .expect("an item");
    lines[at + 1] = "id = 99999".into();
    s.write(EDITION, &(lines.join("\n") + "\n"));
    let run = s.run(&["compose", EDITION, "--out", "out"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("2026-W47.toml:{}: unknown item id 99999", at + 2)),
        "{}",
        run.stderr
    );
    assert!(!s.path().join("out").exists(), "nothing written");

    let at = original
        .lines()
        .position(|l| l == "id = \"events\"")
        .unwrap();
    s.write(
        EDITION,
        &original.replace("id = \"events\"", "id = \"eventos\""),
    );
    let run = s.run(&["compose", EDITION]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(&format!(
            "2026-W47.toml:{}: unknown section `eventos`",
            at + 1
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn compose_writes_email_text_eml_archive_page_index_and_atom_feed() {
    let s = drafted();
    let run = s.run(&["--json", "compose", EDITION, "--out", "out"]).ok();
    assert_eq!(run.json()["items"].as_u64(), Some(12));
    for f in ["email.html", "email.txt", "email.eml", "index.html"] {
        let p = s.path().join("out/2026-W47").join(f);
        assert!(p.metadata().map(|m| m.len() > 1000).unwrap_or(false), "{f}");
    }
    let page = s.read("out/2026-W47/index.html");
    assert!(page.contains("Miles marchan en Oaxaca"));
    assert!(page.contains("href=\"../archive/\""));

    // A second edition, a week earlier: the index and the feed list both, newest first.
    s.run(&[
        "draft",
        "--now",
        "2026-11-14",
        "--out",
        "editions/2026-W46.toml",
    ])
    .ok();
    s.run(&["compose", "editions/2026-W46.toml", "--out", "out"])
        .ok();
    let index = s.read("out/archive/index.html");
    let w47 = index.find("href=\"../2026-W47/\"").expect("W47 listed");
    let w46 = index.find("href=\"../2026-W46/\"").expect("W46 listed");
    assert!(w47 < w46, "newest first");
    let feed = s.read("out/archive/feed.xml");
    let parsed = feed_rs::parser::parse(feed.as_bytes()).expect("valid Atom");
    assert_eq!(parsed.entries.len(), 2);
    assert_eq!(
        parsed.entries[0].links[0].href,
        "https://boletin.example.org/2026-W47/"
    );
    assert!(
        parsed.entries[0]
            .title
            .as_ref()
            .unwrap()
            .content
            .contains("21 de noviembre de 2026")
    );
    // The second draft numbered itself after the first.
    assert_eq!(
        edition_toml_at(&s, "editions/2026-W46.toml")["number"].as_integer(),
        Some(2)
    );
}

#[test]
fn editor_markdown_is_sanitized_and_links_made_absolute() {
    let s = drafted();
    edit(&s, |doc| {
        doc["intro"] = toml_edit::value(
            "Hola **red**. <script>alert(1)</script>[Firma](/firma/) y [mal](javascript:alert(1)).",
        );
        let item = item_mut(doc, "Miles marchan");
        item["blurb"] =
            toml_edit::value("Nota: <img src=x onerror=alert(1)> *urgente* [mapa](/mapa.pdf)");
    });
    s.run(&["compose", EDITION, "--out", "out"]).ok();
    let html = s.read("out/2026-W47/email.html");
    for bad in ["<script", "alert(1)", "javascript:", "onerror"] {
        assert!(!html.contains(bad), "{bad} survived");
    }
    assert!(html.contains("<strong>red</strong>"));
    assert!(html.contains("href=\"https://boletin.example.org/firma/\""));
    assert!(html.contains("<em>urgente</em>"));
    let text = s.read("out/2026-W47/email.txt");
    assert!(text.contains("Firma <https://boletin.example.org/firma/>"));
    assert!(text.contains("mapa <https://boletin.example.org/mapa.pdf>"));
}

#[test]
fn bilingual_and_english_editions_speak_both_languages() {
    let s = drafted();
    edit(&s, |doc| {
        let mut langs = toml_edit::Array::new();
        langs.push("es");
        langs.push("en");
        doc["language"] = toml_edit::value(langs);
    });
    s.run(&["compose", EDITION, "--out", "out"]).ok();
    let html = s.read("out/2026-W47/email.html");
    let text = s.read("out/2026-W47/email.txt");
    for body in [&html, &text] {
        assert!(body.contains("21 de noviembre de 2026 · November 21, 2026"));
        assert!(body.contains("Cancelar suscripción / Unsubscribe"));
        assert!(body.contains("Recibes este boletín porque te suscribiste"));
        assert!(body.contains("You receive this newsletter because you subscribed"));
        assert!(body.contains("Acciones urgentes / Urgent actions"));
    }
    assert!(html.contains("<html lang=\"es\""));

    s.run(&["compose", EDITION, "--out", "out-en", "--lang", "en"])
        .ok();
    let html = s.read("out-en/2026-W47/email.html");
    assert!(html.contains("<html lang=\"en\""));
    assert!(html.contains("November 21, 2026"));
    assert!(html.contains(">Unsubscribe<"));
    assert!(html.contains("Read more"));
    assert!(!html.contains("Leer más"));
}

#[test]
fn templates_are_overridden_by_file_and_undefined_values_are_errors() {
    let s = drafted();
    s.write(
        "templates/partials/item.html",
        "<tr><td><p class=\"mine\">{{ item.title }} — {{ item.source }}</p></td></tr>\n",
    );
    s.run(&["compose", EDITION, "--out", "out"]).ok();
    let html = s.read("out/2026-W47/email.html");
    assert!(html.contains(
        "Miles marchan en Oaxaca contra las concesiones mineras en los Valles Centrales — Colectivo"
    ));
    assert!(
        !html.contains("Leer más"),
        "the override replaced the item partial"
    );

    s.write("templates/email.txt", "{{ title }} {{ no_such_value }}\n");
    let run = s.run(&["compose", EDITION, "--out", "out2"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("template email.txt"), "{}", run.stderr);
    assert!(run.stderr.contains("undefined"), "{}", run.stderr);
}

/// The hand-made digest in shared/examples/003_…txt, rebuilt as an edition from fixture
/// items: the editor's headlines, framing, the partners' quotes and the calls to action.
#[test]
fn the_hand_made_digest_is_reproduced_as_an_edition() {
    let s = Scratch::empty();
    copy_dir(&manifest_dir().join("fixtures/digest-003"), s.path());
    s.run(&["fetch", "--quiet"]).ok();
    s.run(&["draft", "--now", "2024-06-30", "--since", "30d"])
        .ok();
    // The week ending Sunday 30 June 2024 is ISO week 26.
    std::fs::rename(
        s.path().join("editions/2024-W26.toml"),
        s.path().join(EDITION),
    )
    .unwrap();
    // The editor's work: a short headline and a framing note per story.
    let editor: &[(&str, &str, &str)] = &[
        (
            "Call on your electeds",
            "Demand that the U.S. oppose the Coup in Bolivia",
            "I wrote a letter for the Action Network letter campaign: *Call on your electeds: denounce the coup in Bolivia!* Add yours.",
        ),
        (
            "Survivors of gun violence",
            "Violence in Mexico and the Arms Trade: Ayotzinapa",
            "Mothers of the disappeared and of Uvalde's children came to Washington together. Comments on the export rule close July 1st.",
        ),
        (
            "Immigration relief",
            "Immigration Victory: Legal Status",
            "President Biden just announced parole in place.",
        ),
        (
            "Poor People's",
            "March on Washington; PPC",
            "National Poor People's Campaign. March on Washington and to the Polls.",
        ),
        (
            "We need safe pathways",
            "Asylum seekers",
            "For Immediate Release: June 5, 2024 — National Network for Immigrant and Refugee Rights.",
        ),
        (
            "Claudia Sheinbaum",
            "The Left Wins in Mexico: Again",
            "Sheinbaum's landslide, and what it means for social movements.",
        ),
        (
            "University of California",
            "UC Workers on Strike",
            "Solidarity with the academic workers.",
        ),
    ];
    edit(&s, |doc| {
        doc["subject"] =
            toml_edit::value("CASA Solidarity News: Bolivia, Ayotzinapa, parole in place");
        doc["intro"] =
            toml_edit::value("This week: actions, victories and analysis from our partners.");
        for (prefix, headline, blurb) in editor {
            let item = item_mut(doc, prefix);
            item["title_override"] = toml_edit::value(*headline);
            item["blurb"] = toml_edit::value(*blurb);
        }
    });
    s.run(&["compose", EDITION, "--out", "out"]).ok();
    let text = s.read("out/2024-W26/email.txt");
    let html = s.read("out/2024-W26/email.html");

    // Every story, under the editor's headline, with the editor's framing.
    for (_, headline, _) in editor {
        assert!(text.contains(headline), "{headline} missing:\n{text}");
        assert!(
            html.contains(&headline.replace('\'', "&#39;")),
            "{headline} missing in HTML"
        );
    }
    assert!(text.contains("I wrote a letter for the Action Network letter campaign"));
    assert!(html.contains("<em>Call on your electeds: denounce the coup in Bolivia!</em>"));
    // The partners' words: quotes and calls to action, in both parts.
    for words in [
        "I am the mother of Benjamin Ascencio Bautista",
        "send a message to comment on the rule",
        "Solidarity with Bolivia! ¡Solidaridad con Bolivia!",
        "¡Sí se puede!",
        "St. Paul’s United Methodist Church",
        "not border closures",
        "58.3 percent to 28.7 percent",
    ] {
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(words), "{words} missing in text");
        assert!(html.contains(words), "{words} missing in HTML");
    }
    assert!(html.contains("<blockquote"), "quotes stay quotes");
    assert!(
        html.contains("href=\"https://globalexchange.example.org/take-action/gun-export-rule\"")
    );
    // Sections per story kind, in the config's order, as the section rules decided.
    let urgent = text.find("== Urgent actions ==").expect("urgent section");
    let news = text.find("== News and analysis ==").expect("news section");
    let events = text
        .find("== Events and delegations ==")
        .expect("events section");
    assert!(urgent < news && news < events);
    let bolivia = text.find("Demand that the U.S. oppose").unwrap();
    let arms = text.find("Violence in Mexico and the Arms Trade").unwrap();
    let march = text.find("March on Washington; PPC").unwrap();
    assert!(
        bolivia > urgent && bolivia < news,
        "keyword rule: call on your"
    );
    assert!(arms > urgent && arms < news, "keyword rule: send a message");
    assert!(march > events, "tag rule: event");
}

/// A running `boletin preview`, killed when dropped.
struct Preview(Child);

impl Drop for Preview {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).unwrap();
    body
}

#[test]
fn preview_serves_the_edition_and_rerenders_when_the_file_or_a_template_changes() {
    let s = drafted();
    let mut child = boletin()
        .current_dir(s.path())
        .args(["--config", "feeds.toml", "preview", EDITION, "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start preview");
    let stdout = child.stdout.take().unwrap();
    let _guard = Preview(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();

    let page = get(&addr, "/");
    assert!(page.starts_with("HTTP/1.1 200"));
    assert!(page.contains("Miles marchan en Oaxaca"));
    assert!(page.contains("/version"), "the page polls for changes");
    let v1 = get(&addr, "/version");

    // The editor changes the subject and adds a note: the next request sees it.
    let started = Instant::now();
    edit(&s, |doc| {
        let item = item_mut(doc, "Miles marchan");
        item["blurb"] = toml_edit::value("¡Nota de la redacción en vivo!");
    });
    let page = get(&addr, "/");
    assert!(
        page.contains("¡Nota de la redacción en vivo!"),
        "not re-rendered after {:?}",
        started.elapsed()
    );
    assert_ne!(get(&addr, "/version"), v1);

    // A template change is picked up too.
    s.write(
        "templates/partials/section.html",
        "<tr><td><h2>SECCIÓN {{ section.title }}</h2></td></tr>{% for item in section.items %}{% include \"partials/item.html\" %}{% endfor %}\n",
    );
    assert!(get(&addr, "/").contains("SECCIÓN Noticias / News"));

    // A broken file shows the error in the page instead of stopping the server.
    s.write(EDITION, "date = \"2026-11-21\"\nsubject = 1\n");
    let page = get(&addr, "/");
    assert!(page.contains("does not render"), "{page}");
    assert!(get(&addr, "/text").contains("2026-W47.toml:2"));
}
