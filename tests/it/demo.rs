//! The main job end to end on the bundled demo (`fixtures/demo`), offline: `fetch` stores
//! every source (WordPress, Atom, RSS 1.0, JSON Feed, Latin-1, a scraped page) as inert HTML
//! with absolute links, `compose --since` renders exactly the week, paths come from flags
//! and environment, and config errors name the file, line and key.

use std::collections::HashMap;

use crate::common::{Scratch, boletin, manifest_dir};

/// Items per source in fixtures/demo (see fixtures/demo/README.md).
const EXPECTED: &[(&str, u64)] = &[
    ("colectivo-oaxaca", 6),
    ("red-defensoras", 5),
    ("cdh-altos", 4),
    ("frontera-digna", 4),
    ("asamblea-istmo", 4),
    ("colectivo-solidario", 6),
];

/// Links of the items dated inside the week ending 2026-11-21 (cross-posts share one link).
const IN_WINDOW: &[&str] = &[
    "https://defensoras-network.example.org/news/2026/11/honduras-bajo-aguan-threats",
    "https://asamblea-istmo.example.org/noticias/2026/11/union-hidalgo-rechaza-parque-eolico",
    "https://colectivo-solidario.example.org/node/493",
    "https://colectivo-oaxaca.example.org/2026/11/miles-marchan-contra-concesiones-mineras/",
    "https://cdh-altos.example.org/boletines/2026/desplazamiento-aldama-chenalho",
    "https://colectivo-oaxaca.example.org/2026/11/accion-urgente/",
    "https://colectivo-solidario.example.org/node/492",
    "https://asamblea-istmo.example.org/noticias/2026/11/foro-corredor-interoceanico",
    "https://cdh-altos.example.org/acciones-urgentes/2026/pedro-gomez-santiz",
    "https://colectivo-solidario.example.org/node/491",
    "https://colectivo-oaxaca.example.org/2026/11/asamblea-regional-capulalpam-manantiales/",
    "https://frontera-digna.example.org/en/2026/11/tapachula-comar-appointments-suspended/",
];

const OUT_OF_WINDOW: &[&str] = &[
    "https://frontera-digna.example.org/en/2026/11/mothers-caravan-enters-chiapas/",
    "https://defensoras-network.example.org/news/2026/11/guatemala-xinka-consultation",
    "https://colectivo-oaxaca.example.org/2026/11/suspension-provisional-magdalena-ocotlan/",
    "https://colectivo-solidario.example.org/node/487",
    "https://colectivo-oaxaca.example.org/2026/10/12-de-octubre-534-anos-de-resistencia/",
];

fn all_items(s: &Scratch) -> Vec<serde_json::Value> {
    s.items(&["--all"])
}

/// No element, attribute or URL that can run code.
fn assert_inert(html: &str, context: &str) {
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script"), "{context}: <script> survived");
    assert!(
        !lower.contains("javascript:"),
        "{context}: javascript: URL survived"
    );
    assert!(!lower.contains("<iframe"), "{context}: <iframe> survived");
    assert!(
        !lower.contains("evil.example.com"),
        "{context}: hostile URL survived"
    );
    let bytes = lower.as_bytes();
    for (i, _) in lower.match_indices(" on") {
        let rest = &lower[i + 3..];
        let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let after = rest[name_len..].trim_start();
        let inside_tag = lower[..i].rfind('<') > lower[..i].rfind('>');
        assert!(
            !(inside_tag && name_len > 0 && after.starts_with('=')),
            "{context}: event handler survived near {:?}",
            String::from_utf8_lossy(&bytes[i..(i + 40).min(bytes.len())])
        );
    }
}

#[test]
fn fetch_stores_every_item_of_every_source_and_a_second_fetch_adds_nothing() {
    let s = Scratch::demo();
    let first = s.run(&["fetch", "--json"]).ok().json();
    let new: HashMap<String, u64> = first["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["new"].as_u64().unwrap(),
            )
        })
        .collect();
    for (id, count) in EXPECTED {
        assert_eq!(new.get(*id), Some(count), "new items for {id}");
    }
    assert!(
        s.db().exists(),
        "database defaults to boletin.db beside the config"
    );

    let second = s.run(&["fetch", "--json"]).ok().json();
    for r in second["sources"].as_array().unwrap() {
        assert_eq!(r["new"], 0, "second fetch added items for {}", r["id"]);
        assert_eq!(
            r["updated"], 0,
            "second fetch changed items for {}",
            r["id"]
        );
    }
    assert_eq!(all_items(&s).len(), 29);
}

#[test]
fn stored_html_is_inert_and_links_are_absolute() {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();
    let items = all_items(&s);
    for item in &items {
        for field in ["summary", "content"] {
            if let Some(html) = item[field].as_str() {
                assert_inert(html, &format!("{} {field}", item["title"]));
            }
        }
    }
    let march = items
        .iter()
        .find(|i| {
            i["title"]
                .as_str()
                .unwrap()
                .starts_with("Miles marchan en Oaxaca")
        })
        .expect("the hostile WordPress item");
    let content = march["content"].as_str().unwrap();
    assert!(
        content.contains(r#"href="https://colectivo-oaxaca.example.org/2026/11/accion-urgente/""#),
        "{content}"
    );
    assert!(
        content.contains(
            r#"src="https://colectivo-oaxaca.example.org/wp-content/uploads/2026/11/marcha.jpg""#
        ),
        "{content}"
    );
    assert!(
        content.contains("mapa de concesiones 2026"),
        "link text kept: {content}"
    );
    assert!(
        content.contains("«El agua de los Valles no se vende»"),
        "{content}"
    );
    assert!(
        !content.contains("alert(1)"),
        "script text removed: {content}"
    );
}

#[test]
fn latin1_feed_keeps_its_accents() {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();
    let titles: Vec<String> = all_items(&s)
        .iter()
        .filter(|i| i["source_id"] == "asamblea-istmo")
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(titles.len(), 4);
    assert!(
        titles.iter().any(|t| t.contains("Oaxaca, México")),
        "{titles:?}"
    );
    assert!(
        titles.iter().any(|t| t.contains("Niñas y niños zapotecos")),
        "{titles:?}"
    );
    assert!(
        titles
            .iter()
            .all(|t| !t.contains('\u{fffd}') && !t.contains("Ã")),
        "mojibake: {titles:?}"
    );
}

#[test]
fn page_source_yields_entries_with_authors_and_dates() {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();
    let page: Vec<serde_json::Value> = all_items(&s)
        .into_iter()
        .filter(|i| i["source_id"] == "colectivo-solidario")
        .collect();
    assert_eq!(page.len(), 6);
    let delegation = page
        .iter()
        .find(|i| i["link"] == "https://colectivo-solidario.example.org/node/493")
        .expect("relative /node/493 resolved against the site");
    assert_eq!(delegation["author"], "Andrea Caraballo");
    assert!(
        delegation["published"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-20"),
        "{delegation}"
    );
    let no_byline = page
        .iter()
        .find(|i| i["link"] == "https://colectivo-solidario.example.org/node/487")
        .unwrap();
    assert!(no_byline["author"].is_null());
    assert!(
        page.iter().all(|i| !i["published"].is_null()),
        "every entry has a parsed date"
    );
}

#[test]
fn compose_renders_exactly_the_window() {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();
    let out = s.path().join("out");
    let run = s
        .run(&[
            "compose",
            "--since",
            "7d",
            "--now",
            "2026-11-21",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ])
        .ok();
    // 14 items in the window, 12 stories: each cross-post once, under its original.
    assert_eq!(run.json()["items"], 12);
    let html = std::fs::read_to_string(out.join("newsletter.html")).unwrap();
    let text = std::fs::read_to_string(out.join("newsletter.txt")).unwrap();
    for (title, also) in [
        (
            "Acción urgente: amenazas contra defensora del albergue",
            "También en: Frontera Digna",
        ),
        (
            "Screening and conversation: Guardianas del territorio",
            "También en: Red de Defensoras Mesoamericanas",
        ),
    ] {
        assert_eq!(html.matches(title).count(), 1, "{title} shown once");
        assert_eq!(text.matches(title).count(), 1, "{title} once in text");
        let at = html.find(title).unwrap();
        let credit = html[at..].find(also).expect("credited");
        let next_item = html[at..].find("<h3").unwrap_or(usize::MAX);
        assert!(credit < next_item, "{also} under {title}");
        assert!(text.contains(also), "text credits {also}");
    }
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(html.contains(r#"<html lang="es""#));
    assert!(
        html.contains("Boletín Solidaridad Oaxaca–Chiapas")
            && text.contains("Boletín Solidaridad Oaxaca–Chiapas")
    );
    assert!(text.contains("21 de noviembre de 2026"));
    for link in IN_WINDOW {
        assert!(
            html.contains(&format!("href=\"{link}\"")),
            "HTML misses {link}"
        );
        assert!(text.contains(link), "text misses {link}");
    }
    for link in OUT_OF_WINDOW {
        assert!(!html.contains(link), "HTML has out-of-window {link}");
        assert!(!text.contains(link), "text has out-of-window {link}");
    }
    // Sections appear in config order and carry their items.
    let urgent = html.find("Acciones urgentes / Urgent actions").unwrap();
    let news = html.find("Noticias / News").unwrap();
    let events = html.find("Eventos y delegaciones").unwrap();
    assert!(urgent < news && news < events);
    assert!(html[events..].contains("node/493") && !html[urgent..news].contains("node/493"));
    // The urgent action lives where its original (colectivo-oaxaca, news) puts it.
    let accion = html
        .find("Acción urgente: amenazas contra defensora")
        .unwrap();
    assert!(news < accion && accion < events);
    assert_inert(&html, "newsletter.html");
    assert!(!text.contains('<'), "plain text has markup: {text}");
}

#[test]
fn paths_come_from_flags_and_environment() {
    let s = Scratch::demo();
    let db = s.path().join("elsewhere.db");
    let run = boletin()
        .current_dir(s.path())
        .env("BOLETIN_DB", &db)
        .args(["--quiet", "fetch"])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        db.exists() && !s.db().exists(),
        "BOLETIN_DB chose the database; ./feeds.toml was the default config"
    );

    let other = Scratch::empty();
    let flag_db = other.path().join("flag.db");
    let run = boletin()
        .current_dir(other.path())
        .env("BOLETIN_CONFIG", s.config())
        .env("BOLETIN_DB", &db)
        .args(["--db", flag_db.to_str().unwrap(), "--quiet", "fetch"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0));
    assert!(flag_db.exists(), "--db wins over BOLETIN_DB");
}

#[test]
fn the_shipped_feeds_toml_loads() {
    let s = Scratch::empty();
    let config = manifest_dir().join("feeds.toml");
    let run = s
        .run_bare(&["--config", config.to_str().unwrap(), "check", "--json"])
        .ok();
    let report = run.json();
    assert!(report["sources"].as_u64().unwrap() >= 12, "{report}");
    assert!(!s.path().join("boletin.db").exists());
}

const HEAD: &str = "[newsletter]\ntitle = \"Boletín\"\nfrom = \"boletin@example.org\"\n\n[[section]]\nid = \"news\"\ntitle = \"Noticias\"\n\n";

#[test]
fn config_errors_name_file_line_and_key_exit_2_and_write_nothing() {
    let source =
        |body: &str| format!("{HEAD}[[source]]\nid = \"educa\"\nname = \"EDUCA Oaxaca\"\n{body}");
    let cases: Vec<(String, &str)> = vec![
        (
            source("url = \"a.xml\"\nsection = \"news\"\ncolour = \"rojo\"\n"),
            ":14: unknown field `colour`",
        ),
        (
            source("url = \"ht!tp://educa\"\nsection = \"news\"\n"),
            ":12: `source.url`: `ht!tp://educa` is not a valid URL",
        ),
        (
            source(
                "url = \"a.xml\"\nsection = \"news\"\nkind = \"page\"\n[source.scrape]\nitem = \"div[[\"\ntitle = \"h2\"\nlink = \"a\"\n",
            ),
            ":16: `source.scrape.item`: invalid CSS selector `div[[`",
        ),
        (
            source(
                "url = \"a.xml\"\nsection = \"news\"\n\n[[source]]\nid = \"educa\"\nname = \"Otra\"\nurl = \"b.xml\"\nsection = \"news\"\n",
            ),
            ":16: `source.id`: duplicate source id `educa`",
        ),
        (
            source("url = \"a.xml\"\nsection = \"noticias\"\n"),
            ":13: `source.section`: unknown section `noticias`",
        ),
        (format!("{HEAD}[[source]\n"), ":9: "),
    ];
    for (text, expected) in cases {
        let s = Scratch::empty();
        s.write("feeds.toml", &text);
        let run = s.run(&["fetch"]);
        assert_eq!(run.code, 2, "{expected}: {run:?}");
        let want = format!("boletin: {}{expected}", s.config().display());
        assert!(
            run.stderr.starts_with(&want),
            "want {want}\ngot  {}",
            run.stderr
        );
        assert_eq!(
            run.stderr.trim().lines().count(),
            1,
            "one line: {}",
            run.stderr
        );
        let left: Vec<_> = std::fs::read_dir(s.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            left,
            vec![std::ffi::OsString::from("feeds.toml")],
            "{expected}: something was written"
        );
    }
}

#[test]
fn errors_quoting_a_value_stay_on_one_line_with_controls_escaped() {
    // What a pasted value, a hostile spreadsheet or a broken edition can carry: a line
    // that looks like another message, and a terminal escape that clears the screen.
    let s = Scratch::demo();
    let config = s.read("feeds.toml").replace(
        "from = \"Boletín Solidaridad <boletin@example.org>\"",
        "from = \"Boletín\\u001b[2J\\r\\nboletin: feeds.toml: ok <boletin@example.org\"",
    );
    s.write("mala.toml", &config);
    s.write(
        "lista.csv",
        "email,name,language\n\"ana@x.org\rboletin: 1 added\",Ana,es\nluis@example.org,Luis,\"fr\u{1b}]0;pwned\u{7}\"\n",
    );
    s.write(
        "editions/2026-W47.toml",
        "date = \"2026-11-21\"\nsubject = \"Boletín\"\nweek = \"2026-W47\\r\\n\\u001b[31mboletin: ok\"\n",
    );
    let runs = [
        (
            s.run_bare(&["--config", "mala.toml", "check"]),
            "boletin: mala.toml:13: `newsletter.from`: `Boletín\\u{1b}[2J\\r\\nboletin: feeds.toml: ok <boletin@example.org` is not an email address",
        ),
        (
            s.run(&["subscribers", "import", "lista.csv"]),
            "lista.csv:2: `ana@x.org\\rboletin: 1 added` is not a valid email address\nlista.csv:3: luis@example.org: unknown language `fr\\u{1b}]0;pwned\\u{7}` (use es or en)",
        ),
        (
            s.run(&["compose", "editions/2026-W47.toml"]),
            "boletin: editions/2026-W47.toml:3: `week`: `2026-W47\\r\\n\\u{1b}[31mboletin: ok` must be non-empty",
        ),
    ];
    for (run, want) in runs {
        assert_ne!(run.code, 0, "{run:?}");
        assert!(
            run.stderr.starts_with(want),
            "want {want}\ngot  {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains(['\r', '\u{1b}', '\u{7}']),
            "{:?}",
            run.stderr
        );
        assert_eq!(
            run.stderr.lines().count(),
            want.lines().count(),
            "{:?}",
            run.stderr
        );
    }
}

#[test]
fn check_refuses_what_compose_and_send_would_fail_on_naming_the_line() {
    let s = Scratch::demo();
    let demo = s.read("feeds.toml");
    let from = "from = \"Boletín Solidaridad <boletin@example.org>\"";
    let line = demo.lines().position(|l| l == from).unwrap() + 1;
    let end = demo.lines().count();
    let cases = [
        (
            demo.replace(
                from,
                "from = \"Boletín: Oaxaca y Chiapas <boletin@example.org>\"",
            ),
            format!(
                "feeds.toml:{line}: `newsletter.from`: `Boletín: Oaxaca y Chiapas <boletin@example.org>` is not an email address (a name with `:`, `,`, `;` or brackets goes in double quotes: `\"Boletín: Oaxaca y Chiapas\" <boletin@example.org>`)"
            ),
        ),
        (
            format!(
                "{demo}\n[delivery]\nunsubscribe_mailto = \"a@x.org>, <mailto:b@evil.example\"\n"
            ),
            format!(
                "feeds.toml:{}: `delivery.unsubscribe_mailto`: `a@x.org>, <mailto:b@evil.example` is not an email address",
                end + 3
            ),
        ),
    ];
    for (config, want) in cases {
        s.write("feeds.toml", &config);
        let run = s.run(&["check"]);
        assert_eq!(run.code, 2, "{want}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr.contains(&want),
            "want {want}\ngot  {}",
            run.stderr
        );
    }
    // A DKIM key not there yet: the config is valid, and check says what `send` will need.
    s.write(
        "feeds.toml",
        &format!(
            "{demo}\n[delivery]\nsecret = \"una clave de prueba larga\"\n[delivery.dkim]\nselector = \"b2026\"\nkey_file = \"claves/dkim.pem\"\n"
        ),
    );
    let run = s.run(&["check"]).ok();
    assert!(
        run.stderr.starts_with(&format!(
            "boletin: warning: DKIM key {}/claves/dkim.pem: ",
            s.path().display()
        )) && run
            .stderr
            .trim_end()
            .ends_with("`send` will not start without it"),
        "{}",
        run.stderr
    );
    // Quoted, the name passes check and compose writes it.
    s.write(
        "feeds.toml",
        &demo.replace(
            from,
            "from = '\"Boletín: Oaxaca y Chiapas\" <boletin@example.org>'",
        ),
    );
    s.run(&["check"]).ok();
    s.run(&["fetch", "--quiet"]).ok();
    s.run(&[
        "draft",
        "--now",
        "2026-11-21",
        "--out",
        "editions/2026-W47.toml",
    ])
    .ok();
    s.run(&["compose", "editions/2026-W47.toml", "--out", "out"])
        .ok();
    let eml = s.read("out/2026-W47/email.eml");
    // RFC 2047 (base64) of the name as written, then the address.
    assert!(
        eml.starts_with(
            "From: =?utf-8?b?Qm9sZXTDrW46IE9heGFjYSB5IENoaWFwYXM=?= <boletin@example.org>\r\n"
        ),
        "{eml}"
    );
}

#[test]
fn a_reader_that_stops_early_ends_the_listing_quietly() {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();
    // What `boletin items | head -1` comes to once head has exited: a pipe with no reader.
    // Its read end is closed right after the start, before the listing is written.
    let mut child = boletin()
        .current_dir(s.path())
        .arg("--config")
        .arg(s.config())
        .args(["items", "--since", "3650d", "--now", "2026-11-21", "--all"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run boletin");
    drop(child.stdout.take());
    let done = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(done.status.code(), Some(0), "{stderr}");
}
