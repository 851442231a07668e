//! Every kind of source becomes clean items — repaired feeds, pages without feeds,
//! Spanish dates, discovery (`add`), OPML, `inspect` — through the real binary. The
//! real-world documents these tests read live one quirk per file in `fixtures/quirks/`.

use crate::common::Scratch;
use crate::server::Server;

const CONFIG: &str = r#"# Boletín de la red de solidaridad: fuentes
[newsletter]
title = "Boletín de prueba"
from = "boletin@example.org"   # remitente

# Secciones, en orden
[[section]]
id = "noticias"
title = "Noticias"

[[section]]
id = "urgentes"
title = "Acciones urgentes"
"#;

/// A WordPress feed as partners really serve it: BOM and blank lines before the prolog,
/// `<rss>` without a version, HTML entities, a bare `&`, a control character, no GUIDs,
/// a hand-written Spanish date and one item without any date.
const BROKEN_FEED: &str = include_str!("../../fixtures/quirks/wordpress-rss-mangled.xml");

#[test]
fn inspect_repairs_a_broken_feed_and_prints_the_documented_json() {
    let server = Server::pages(&[("/feed/", "application/rss+xml; charset=utf-8", BROKEN_FEED)]);
    let s = Scratch::empty();
    let run = s
        .run_bare(&["inspect", &server.url("/feed/"), "--json"])
        .ok();
    let v = run.json();
    // The exact documented shape: these keys, no more and no fewer.
    let keys = |o: &serde_json::Value| {
        let mut k: Vec<String> = o.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&v), vec!["entries", "feed"]);
    assert_eq!(
        keys(&v["feed"]),
        vec!["authors", "id", "link", "published", "title", "updated"]
    );
    let e = &v["entries"][0];
    assert_eq!(
        keys(e),
        vec![
            "authors",
            "categories",
            "content",
            "date_missing",
            "enclosures",
            "id",
            "key",
            "link",
            "published",
            "summary",
            "title",
            "updated"
        ]
    );
    assert_eq!(v["feed"]["title"], "Educa Oaxaca – Noticias");
    assert_eq!(
        e["title"],
        "Café y maíz: la cooperativa de San José & sus aliadas"
    );
    // Relative link resolved against the feed's own URL, tracking parameter removed.
    assert_eq!(e["link"], server.url("/2024/06/cooperativa/?lang=es"));
    assert_eq!(
        e["enclosures"][0]["url"],
        server.url("/audio/cooperativa.mp3")
    );
    // 10:30 in Mexico City (UTC-6, no DST since 2022).
    assert_eq!(e["published"], "2024-06-03T16:30:00Z");
    assert_eq!(e["date_missing"], false);
    assert_eq!(e["id"], serde_json::Value::Null);
    assert_eq!(e["authors"][0]["name"], "María Pérez");
    assert_eq!(e["categories"][0], "Oaxaca");
    assert_eq!(e["enclosures"][0]["type"], "audio/mpeg");
    assert_eq!(e["enclosures"][0]["length"], 1234);
    let summary = e["summary"].as_str().unwrap();
    assert!(
        summary.contains("socias&nbsp;venden en el tianguis ’orgánico’"),
        "{summary}"
    );
    let content = e["content"].as_str().unwrap();
    assert!(!content.contains("<script"), "{content}");
    assert!(content.contains("completo</a>"), "{content}");

    let undated = &v["entries"][1];
    assert_eq!(undated["published"], serde_json::Value::Null);
    assert_eq!(undated["date_missing"], true);

    // Same document, same identities: the key is never random.
    let again = s
        .run_bare(&["inspect", &server.url("/feed/"), "--json"])
        .ok()
        .json();
    assert_eq!(again["entries"][0]["key"], e["key"]);
    assert_eq!(again["entries"][1]["key"], undated["key"]);
    assert_ne!(e["key"], undated["key"]);
}

#[test]
fn undated_items_keep_their_first_seen_time_across_fetches() {
    let s = Scratch::empty();
    s.write("educa.xml", BROKEN_FEED);
    s.write(
        "feeds.toml",
        &format!(
            "{CONFIG}\n[[source]]\nid = \"educa\"\nname = \"Educa\"\nurl = \"educa.xml\"\nsite = \"https://educa.example.org/\"\nsection = \"noticias\"\n"
        ),
    );
    s.run(&["fetch"]).ok();
    let first = s.run(&["items", "--since", "3650d", "--json"]).ok().json();
    let undated = |items: &serde_json::Value| {
        items
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["title"] == "Comunicado sin fecha")
            .cloned()
            .expect("undated item stored")
    };
    let before = undated(&first);
    assert_eq!(before["published"], serde_json::Value::Null);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // The body changed (a new item), so the feed is parsed and stored again.
    let changed = BROKEN_FEED.replace(
        "</channel>",
        "<item><title>Nueva</title><link>https://educa.example.org/nueva</link><pubDate>Tue, 04 Jun 2024 09:00:00 CST</pubDate></item></channel>",
    );
    s.write("educa.xml", &changed);
    s.run(&["fetch", "--force"]).ok();
    let after = undated(&s.run(&["items", "--since", "3650d", "--json"]).ok().json());
    assert_eq!(after["first_seen"], before["first_seen"]);
    assert_eq!(after["date"], before["date"]);
}

/// A Drupal news page without a feed, and the item pages `follow = true` reads.
fn drupal_site() -> Server {
    let list = include_str!("../../fixtures/quirks/drupal-list-spanish-date.html");
    let note1 = include_str!("../../fixtures/quirks/drupal-item-published-time-meta.html");
    let note2 = include_str!("../../fixtures/quirks/drupal-item-json-ld-date.html");
    Server::pages(&[
        ("/noticias", "text/html; charset=utf-8", list),
        ("/nota/desalojo", "text/html; charset=utf-8", note1),
        ("/nota/foro", "text/html; charset=utf-8", note2),
    ])
}

#[test]
fn page_source_with_follow_takes_full_text_and_dates_from_item_pages() {
    let server = drupal_site();
    let s = Scratch::empty();
    s.write(
        "feeds.toml",
        &format!(
            r#"{CONFIG}
[[source]]
id = "frayba"
name = "Frayba"
url = "{}"
kind = "page"
section = "urgentes"
[source.scrape]
item = ".views-row"
title = "h3.t"
link = {{ selector = "h3.t a", attr = "href" }}
date = ".fecha"
image = "img.thumb"
content = "article .cuerpo"
follow = true
"#,
            server.url("/noticias")
        ),
    );
    let v = s
        .run(&[
            "inspect",
            &server.url("/noticias"),
            "--source",
            "frayba",
            "--json",
        ])
        .ok()
        .json();
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    // The list page's Spanish date wins over the item page's meta tag.
    assert_eq!(entries[0]["published"], "2024-06-03T06:00:00Z");
    // No date on the list: JSON-LD datePublished from the followed page.
    assert_eq!(entries[1]["published"], "2024-06-05T23:00:00Z");
    assert!(
        entries[0]["content"]
            .as_str()
            .unwrap()
            .contains("familias tsotsiles"),
        "{}",
        entries[0]["content"]
    );
    let summary = entries[0]["summary"].as_str().unwrap();
    assert!(
        summary.contains(&server.url("/files/desalojo.jpg")),
        "{summary}"
    );
    let asked: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert!(asked.contains(&"/nota/desalojo".to_string()), "{asked:?}");
    assert!(asked.contains(&"/nota/foro".to_string()), "{asked:?}");

    // The same rules through `fetch`: items stored with the followed text.
    s.run(&["fetch"]).ok();
    let items = s.run(&["items", "--since", "3650d", "--json"]).ok().json();
    assert_eq!(items.as_array().unwrap().len(), 2);
}

#[test]
fn a_selector_that_matches_nothing_fails_the_source_by_name() {
    let server = Server::pages(&[(
        "/noticias",
        "text/html",
        "<html><body><p>Sitio en mantenimiento</p></body></html>",
    )]);
    let s = Scratch::empty();
    s.write(
        "feeds.toml",
        &format!(
            "{CONFIG}\n[[source]]\nid = \"cdh\"\nname = \"CDH\"\nurl = \"{}\"\nkind = \"page\"\nsection = \"noticias\"\n[source.scrape]\nitem = \".views-row\"\ntitle = \"h3\"\nlink = \"a\"\n",
            server.url("/noticias")
        ),
    );
    // Under cron the summary line names the failed source; the report carries the reason.
    let run = s.run(&["fetch"]);
    assert_eq!(run.code, 1, "{} {}", run.stdout, run.stderr);
    assert!(run.stdout.contains("failed: cdh"), "{}", run.stdout);
    let run = s.run(&["fetch", "--force", "--json"]);
    assert_eq!(run.code, 1, "{} {}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(
        report["sources"][0]["error"].as_str(),
        Some(
            format!(
                "selector `.views-row` matched 0 elements on {}",
                server.url("/noticias")
            )
            .as_str()
        ),
        "{report}"
    );
}

#[test]
fn add_discovers_the_feed_and_keeps_the_config_comments() {
    let feed = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Tlachinollan — Noticias</title>
        <item><title>Uno</title><link>https://tlachinollan.example.org/1</link></item></channel></rss>"#;
    let server = Server::pages(&[
        (
            "/",
            "text/html",
            include_str!("../../fixtures/quirks/wordpress-comments-feed-first.html"),
        ),
        ("/feed/", "application/rss+xml", feed),
        ("/comments/feed/", "application/rss+xml", feed),
    ]);
    let s = Scratch::empty();
    s.write("feeds.toml", CONFIG);
    let run = s
        .run(&["add", &server.url("/"), "--section", "urgentes"])
        .ok();
    assert!(run.stdout.contains("added source"), "{}", run.stdout);
    let text = std::fs::read_to_string(s.config()).unwrap();
    assert!(
        text.starts_with(CONFIG),
        "comments and layout kept:\n{text}"
    );
    assert!(
        text.contains(&format!("url = \"{}\"", server.url("/feed/"))),
        "{text}"
    );
    // Named after the site (the page's title), not after its feed's section word.
    assert!(text.contains("name = \"Tlachinollan\""), "{text}");
    assert!(text.contains("id = \"tlachinollan\""), "{text}");
    assert!(text.contains("section = \"urgentes\""), "{text}");
    s.run(&["check"]).ok();
    // A second time: already there, nothing written.
    s.run(&["add", &server.url("/")]).ok();
    assert_eq!(std::fs::read_to_string(s.config()).unwrap(), text);
}

#[test]
fn add_tries_common_paths_then_prints_a_page_rule() {
    let json_feed = r#"{"version":"https://jsonfeed.org/version/1.1","title":"Voces","items":[]}"#;
    let server = Server::pages(&[
        (
            "/",
            "text/html",
            "<html><head><title>Voces</title></head></html>",
        ),
        ("/feed.json", "application/feed+json", json_feed),
    ]);
    let s = Scratch::empty();
    s.write("feeds.toml", CONFIG);
    s.run(&["add", &server.url("/"), "--id", "voces"]).ok();
    let text = std::fs::read_to_string(s.config()).unwrap();
    assert!(
        text.contains(&format!("url = \"{}\"", server.url("/feed.json"))),
        "{text}"
    );
    assert!(text.contains("id = \"voces\""), "{text}");

    let bare = Server::pages(&[(
        "/",
        "text/html",
        include_str!("../../fixtures/quirks/no-feed-article-list.html"),
    )]);
    let before = std::fs::read_to_string(s.config()).unwrap();
    let run = s.run(&["add", &bare.url("/")]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no feed found"), "{}", run.stderr);
    assert!(run.stdout.contains("kind = \"page\""), "{}", run.stdout);
    assert!(run.stdout.contains("item = \"article\""), "{}", run.stdout);
    assert_eq!(std::fs::read_to_string(s.config()).unwrap(), before);
}

#[test]
fn opml_round_trip_keeps_every_source() {
    let demo = Scratch::demo();
    let opml = demo.run(&["opml", "export"]).ok().stdout;
    assert!(opml.contains("<opml version=\"2.0\""), "{opml}");
    let original = boletin::config::load(&demo.config()).unwrap();

    // Into a config with no sources and no sections.
    let s = Scratch::empty();
    s.write(
        "feeds.toml",
        "[newsletter]\ntitle = \"Otro\"\nfrom = \"otro@example.org\"\n",
    );
    let file = s.write("demo.opml", &opml);
    let run = s
        .run(&["opml", "import", file.to_str().unwrap(), "--json"])
        .ok();
    assert_eq!(
        run.json()["added"].as_array().unwrap().len(),
        original.sources.len()
    );
    let imported = boletin::config::load(&s.config()).unwrap();
    assert_eq!(imported.sources.len(), original.sources.len());
    let mut before: Vec<_> = original.sources.iter().collect();
    let mut after: Vec<_> = imported.sources.iter().collect();
    before.sort_by(|a, b| a.id.cmp(&b.id));
    after.sort_by(|a, b| a.id.cmp(&b.id));
    for (a, b) in before.into_iter().zip(after) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.name, b.name);
        assert_eq!(a.section, b.section);
        assert_eq!(a.tags, b.tags);
        assert_eq!(a.site, b.site);
        assert_eq!(a.timezone, b.timezone);
        assert_eq!(
            matches!(a.kind, boletin::config::SourceKind::Page(_)),
            matches!(b.kind, boletin::config::SourceKind::Page(_))
        );
        // Relative file sources resolve against each config's own folder.
        assert_eq!(
            a.url.path_segments().and_then(|mut p| p.next_back()),
            b.url.path_segments().and_then(|mut p| p.next_back())
        );
    }
    let sections: Vec<&str> = imported.sections.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(sections, vec!["urgent", "news", "events"]);
    // Importing again adds nothing.
    let again = s
        .run(&["opml", "import", file.to_str().unwrap(), "--json"])
        .ok();
    assert_eq!(again.json()["added"].as_array().unwrap().len(), 0);
}
