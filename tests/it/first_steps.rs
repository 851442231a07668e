//! What a new editor meets first: `init`, an empty listing that says why, and `sources`
//! telling a source that went quiet from a healthy one.

use serde_json::Value;

use crate::common::Scratch;
use crate::server::{Reply, Server};

#[test]
fn init_writes_a_config_that_check_accepts_and_never_overwrites_it() {
    let s = Scratch::empty();
    let run = s.run_bare(&["init"]).ok();
    for command in ["boletin add ", "boletin fetch", "boletin draft"] {
        assert!(run.stdout.contains(command), "{command}: {}", run.stdout);
    }
    assert!(s.path().join("editions").is_dir());
    let check = s.run(&["--json", "check"]).ok().json();
    assert_eq!(check["sources"], 2);
    assert_eq!(check["pages"], 1);
    assert_eq!(check["sections"], 2);

    // The editor has started on it; a second init must leave it as it is.
    let edited = s.read("feeds.toml").replace(
        "title = \"Boletín de Solidaridad\"",
        "title = \"Boletín de la Red Oaxaqueña\"",
    );
    s.write("feeds.toml", &edited);
    let again = s.run_bare(&["init"]);
    assert_eq!(again.code, 2, "{again:?}");
    assert!(
        again.stderr.contains("feeds.toml exists"),
        "{}",
        again.stderr
    );
    assert_eq!(s.read("feeds.toml"), edited);
}

#[test]
fn init_explains_every_delivery_key_in_words_check_accepts() {
    let s = Scratch::empty();
    let run = s.run_bare(&["--json", "init", "boletin-red"]).ok().json();
    assert_eq!(run["next"][0], "cd boletin-red");
    let written = s.read("boletin-red/feeds.toml");
    // Uncomment every commented key and table, as an editor setting up sending would.
    let mut keys = 0;
    let uncommented: String = written
        .lines()
        .map(|line| {
            let rest = line.strip_prefix("# ").unwrap_or(line);
            let is_key = rest.split_once(" = ").is_some_and(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            });
            let is_table = rest.starts_with("[settings]") || rest.starts_with("[delivery");
            if line.starts_with("# ") && (is_key || is_table) {
                keys += 1;
                format!("{rest}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    assert!(keys >= 20, "{keys} commented keys");
    for key in [
        "smtp_url",
        "unsubscribe_url",
        "rate",
        "secret",
        "archive_dir",
        "selector",
    ] {
        assert!(
            uncommented.contains(&format!("\n{key} = ")),
            "{key} is explained"
        );
    }
    s.write("boletin-red/feeds.toml", &uncommented);
    let check = s.run_bare(&["--config", "boletin-red/feeds.toml", "check"]);
    assert_eq!(check.code, 0, "{}\n{uncommented}", check.stderr);
}

#[test]
fn an_empty_listing_says_so_and_what_to_try() {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();

    let typo = s
        .run(&[
            "items",
            "--tag",
            "Chiapa",
            "--since",
            "3650d",
            "--now",
            "2026-11-21",
        ])
        .ok();
    assert_eq!(typo.stdout.trim(), "0 items");
    assert!(
        typo.stderr
            .contains("no item is tagged `Chiapa`; did you mean chiapas"),
        "{}",
        typo.stderr
    );
    let unknown = s
        .run(&["items", "--tag", "agua-potable", "--since", "3650d"])
        .ok();
    assert!(
        unknown.stderr.contains("most used tags: mexico (") && unknown.stderr.contains("oaxaca ("),
        "{}",
        unknown.stderr
    );
    let source = s
        .run(&[
            "--json", "items", "--source", "cdh-alto", "--since", "3650d",
        ])
        .ok();
    assert_eq!(source.json(), Value::Array(Vec::new()));
    assert!(
        source.stderr.contains("did you mean cdh-altos?"),
        "{}",
        source.stderr
    );

    // A window after the last fetch: the hint names a window that does list something.
    let late = s
        .run(&["items", "--since", "7d", "--now", "2027-01-15"])
        .ok();
    assert_eq!(late.stdout.trim(), "0 items");
    let suggested = late
        .stderr
        .split("--since ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no --since in {}", late.stderr))
        .to_string();
    assert!(
        late.stderr.contains("the newest match is from 2026-11-20"),
        "{}",
        late.stderr
    );
    let widened = s
        .run(&["items", "--since", &suggested, "--now", "2027-01-15"])
        .ok();
    assert!(widened.stdout.contains("2026-11-20"), "{}", widened.stdout);
    assert!(widened.stderr.is_empty(), "{}", widened.stderr);
}

/// An RSS feed with one item every `every_days` days, the newest on November `newest`.
fn feed(site: &str, newest: u32, every_days: u32, n: u32) -> String {
    let mut items = String::new();
    for i in 0..n {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, newest).unwrap()
            - chrono::Duration::days(i64::from(i * every_days));
        items.push_str(&format!(
            "<item><title>Boletín {i}: las comunidades de Guerrero exigen agua y justicia</title>\
             <link>https://{site}/noticias/{i}</link>\
             <pubDate>{} 10:00:00 -0600</pubDate>\
             <description>Comunicado de las comunidades ñuu savi.</description></item>",
            date.format("%a, %d %b %Y")
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>{site}</title>\
         <link>https://{site}/</link><description>Noticias</description>{items}</channel></rss>"
    )
}

/// A news page whose theme changed: the rule's `article` now only matches the
/// "most read" sidebar, whose stories are from September.
const REDESIGNED_PAGE: &str = r#"<!DOCTYPE html><html lang="es"><head><meta charset="utf-8">
<title>Noticias — Centro de Derechos Humanos Tlachinollan</title></head><body>
<main><div class="nota"><h3><a href="/2026/11/20/marcha">Marcha en Tlapa por los 43</a></h3>
<span class="fecha">20 de noviembre de 2026</span></div>
<div class="nota"><h3><a href="/2026/11/18/agua">Sin agua en la Montaña</a></h3>
<span class="fecha">18 de noviembre de 2026</span></div></main>
<aside><h2>Lo más leído</h2>
<article><h2><a href="/2026/09/30/informe">Informe anual: 30 años de Tlachinollan</a></h2>
<time datetime="2026-09-30T12:00:00-06:00">30 sep 2026</time></article>
<article><h2><a href="/2026/09/26/ayotzinapa">Ayotzinapa: 12 años sin verdad</a></h2>
<time datetime="2026-09-26T12:00:00-06:00">26 sep 2026</time></article>
<article><h2><a href="/2026/09/22/defensores">Defensores comunitarios detenidos</a></h2>
<time datetime="2026-09-22T12:00:00-06:00">22 sep 2026</time></article>
<article><h2><a href="/2026/09/18/mineria">Concesiones mineras en la Montaña</a></h2>
<time datetime="2026-09-18T12:00:00-06:00">18 sep 2026</time></article>
</aside></body></html>"#;

#[test]
fn sources_flags_a_source_whose_newest_item_is_far_older_than_its_rhythm() {
    let server = Server::start();
    let daily = feed("montana.example.org", 20, 1, 10);
    let weekly = feed("semanal.example.org", 6, 7, 6);
    server.fixed("/feed/", move || {
        Reply::ok("application/rss+xml", daily.clone())
    });
    server.fixed("/semanal/feed/", move || {
        Reply::ok("application/rss+xml", weekly.clone())
    });
    server.fixed("/noticias", || {
        Reply::ok("text/html; charset=utf-8", REDESIGNED_PAGE)
    });
    let s = Scratch::empty();
    s.write(
        "feeds.toml",
        &format!(
            "[newsletter]\ntitle = \"Boletín Guerrero\"\nfrom = \"Boletín <boletin@example.org>\"\n\n\
             [[section]]\nid = \"noticias\"\ntitle = \"Noticias / News\"\n\n\
             [[source]]\nid = \"montana\"\nname = \"Montaña\"\nurl = \"{}\"\nsection = \"noticias\"\n\n\
             [[source]]\nid = \"semanal\"\nname = \"Semanario\"\nurl = \"{}\"\nsection = \"noticias\"\n\n\
             [[source]]\nid = \"tlachinollan\"\nname = \"Tlachinollan\"\nurl = \"{}\"\nkind = \"page\"\n\
             section = \"noticias\"\n[source.scrape]\nitem = \"article\"\ntitle = \"h2 a\"\n\
             link = {{ selector = \"h2 a\", attr = \"href\" }}\n\
             date = {{ selector = \"time\", attr = \"datetime\" }}\n",
            server.url("/feed/"),
            server.url("/semanal/feed/"),
            server.url("/noticias"),
        ),
    );
    s.run(&["fetch", "--quiet"]).ok();

    let json = s
        .run(&["--json", "sources", "--now", "2026-11-21T12:00:00Z"])
        .ok()
        .json();
    let by_id = |id: &str| {
        json.as_array()
            .unwrap()
            .iter()
            .find(|h| h["id"] == id)
            .unwrap_or_else(|| panic!("{id} in {json}"))
            .clone()
    };
    let page = by_id("tlachinollan");
    // Every fetch succeeds, yet the newest item is 51 days old against a 4-day rhythm.
    assert_eq!(page["last_error"], Value::Null);
    assert_eq!(page["stale"], true, "{page}");
    assert_eq!(page["usual_gap_days"], 4.0);
    assert!(
        page["newest_item_age_days"].as_f64().unwrap() > 51.0,
        "{page}"
    );
    let daily = by_id("montana");
    assert_eq!(daily["stale"], false, "{daily}");
    assert_eq!(daily["usual_gap_days"], 1.0);
    // Weekly and 15 days quiet: within three of its gaps.
    let weekly = by_id("semanal");
    assert_eq!(weekly["usual_gap_days"], 7.0);
    assert_eq!(weekly["stale"], false, "{weekly}");
    let later = s
        .run(&["--json", "sources", "--now", "2026-11-28T12:00:00Z"])
        .ok()
        .json();
    let weekly_later = later
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == "semanal")
        .unwrap();
    assert_eq!(
        weekly_later["stale"], true,
        "nearly 22 days is over three of its weeks: {weekly_later}"
    );

    let text = s
        .run(&["sources", "--now", "2026-11-21T12:00:00Z"])
        .ok()
        .stdout;
    let line = |id: &str| {
        text.lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} in {text}"))
            .to_string()
    };
    assert!(
        line("tlachinollan").contains("STALE: newest item 51d old, usually one every 4d"),
        "{text}"
    );
    assert!(line("montana").trim_end().ends_with("ok"), "{text}");
    assert!(line("montana").contains(" 20h "), "{text}");
}
