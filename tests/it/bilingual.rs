//! An editor's week in two languages, with the guards that keep a wrong email from leaving:
//! an empty edition is warned about and not sent, a swapped item id is named with its line,
//! every text reaches each reader in their language, the plain-text part carries every
//! link of the HTML part whole, the footer ends both, and `preview` shows one tab per
//! language. Against aiosmtpd on loopback, the preview server and Chromium.

use std::path::PathBuf;

use toml_edit::{DocumentMut, InlineTable, Table, value};

use crate::common::{EDITION, Scratch};
use crate::delivery::{SmtpServer, header, import, qp_decoded, run, world};
use crate::email::chromium_probe;
use crate::serve::{Serve, http};

/// A URL longer than any line of the text part, as partners publish their reports.
const REPORT: &str = "https://cdh-altos.example.org/documentos/2026/informe-anual-desplazamiento-forzado-interno-en-los-altos-de-chiapas-y-la-selva-lacandona-2026.pdf";

/// The edition file of `s`, edited as an editor would (comments and order kept).
fn edit(s: &Scratch, f: impl FnOnce(&mut DocumentMut)) {
    let mut doc: DocumentMut = s.read(EDITION).parse().unwrap();
    f(&mut doc);
    s.write(EDITION, &doc.to_string());
}

/// Every `[[section.item]]` of the edition, in file order.
fn items(doc: &mut DocumentMut) -> Vec<&mut Table> {
    doc["section"]
        .as_array_of_tables_mut()
        .unwrap()
        .iter_mut()
        .flat_map(|s| s["item"].as_array_of_tables_mut().unwrap().iter_mut())
        .collect()
}

/// `{ es = "…", en = "…" }` (a language left out when `None`).
fn per_language(es: Option<&str>, en: Option<&str>) -> toml_edit::Item {
    let mut t = InlineTable::new();
    for (lang, text) in [("es", es), ("en", en)] {
        if let Some(text) = text {
            t.insert(lang, text.into());
        }
    }
    value(t)
}

/// The 1-based line of the first line of `text` that contains `needle`.
fn line_with(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in {text}"))
        + 1
}

/// A sent message's HTML and plain-text parts, decoded.
fn parts(raw: &str) -> (String, String) {
    let body = qp_decoded(raw);
    let part = |kind: &str| {
        let start = body
            .find(&format!("Content-Type: {kind}"))
            .unwrap_or_else(|| panic!("no {kind} part"));
        let body_start = start + body[start..].find("\r\n\r\n").unwrap() + 4;
        let end = body_start + body[body_start..].find("\r\n--boletin-").unwrap();
        body[body_start..end].replace("\r\n", "\n")
    };
    (part("text/html"), part("text/plain"))
}

/// Every `href` of an HTML part, entities undone as a mail client reads them.
fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}

/// Asserts that every link of `html` is in `text` whole, and returns them.
fn assert_links_whole(html: &str, text: &str, who: &str) -> Vec<String> {
    let links = hrefs(html);
    assert!(links.len() > 10, "{who}: {links:?}");
    for link in &links {
        assert!(
            text.contains(link.as_str()),
            "{who}: {link} is not whole in the text part:\n{text}"
        );
    }
    links
}

#[test]
fn an_empty_edition_is_warned_about_refused_by_send_and_sent_only_when_allowed() {
    let (_tmp, smtp, s) = world(0, 0.0, "");
    import(&s, 3, &[]);
    edit(&s, |doc| {
        for item in items(doc) {
            item["include"] = value(false);
        }
    });

    // compose writes it, and says what is wrong.
    let composed = run(&s, &["compose", EDITION, "--out", "out"]).ok();
    assert!(
        composed.stderr.contains(
            "boletin: warning: editions/2026-W47.toml: no item is included (each has `include = false`, or the week had none)"
        ),
        "{}",
        composed.stderr
    );
    assert!(
        composed.stdout.starts_with("0 items →"),
        "{}",
        composed.stdout
    );

    // The dry run answers as the real send would, with the exit code cron can act on.
    let dry = run(&s, &["send", EDITION, "--dry-run"]);
    assert_eq!(dry.code, 4, "{dry:?}");
    assert!(dry.stdout.contains("0 items"), "{}", dry.stdout);
    assert!(
        dry.stdout.contains("would send nothing") && !dry.stdout.contains("would send 3"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stderr
            .contains("editions/2026-W47.toml: send would refuse it: no item is included"),
        "{}",
        dry.stderr
    );
    let json = run(&s, &["--json", "send", EDITION, "--dry-run"]);
    assert_eq!(json.code, 4);
    let json = json.json();
    assert_eq!(
        (json["items"].as_u64(), json["refused_empty"].as_bool()),
        (Some(0), Some(true))
    );
    assert_eq!(json["would_send"], 3, "{json}");

    let refused = run(&s, &["send", EDITION]);
    assert_eq!(refused.code, 4, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("refused, nothing sent: no item is included")
            && refused.stderr.contains("--allow-empty"),
        "{}",
        refused.stderr
    );
    assert_eq!(smtp.count(), 0, "nothing reached the server");
    // Not started either: the journal is untouched, all three are still to send.
    let after = run(
        &s,
        &["--json", "send", EDITION, "--dry-run", "--allow-empty"],
    );
    assert_eq!(after.code, 0, "{after:?}");
    assert_eq!(after.json()["already_sent"], 0);

    run(&s, &["send", EDITION, "--allow-empty"]).ok();
    assert_eq!(smtp.count(), 3, "sent when the editor says so");
}

#[test]
fn a_swapped_item_id_is_named_with_its_line_and_a_missing_one_is_an_error() {
    let s = Scratch::demo();
    s.run(&["--quiet", "fetch"]).ok();
    s.run(&["--quiet", "draft", "--now", "2026-11-21", "--out", EDITION])
        .ok();
    // The editor meant one story and typed the id of another (the file's title and link
    // are still the first story's); and edited another item's link by hand.
    let (mut meant, mut typed) = (String::new(), String::new());
    let mut ids = (0, 0);
    edit(&s, |doc| {
        let mut all = items(doc);
        meant = all[0]["title"].as_str().unwrap().to_string();
        typed = all[1]["title"].as_str().unwrap().to_string();
        ids = (
            all[0]["id"].as_integer().unwrap(),
            all[1]["id"].as_integer().unwrap(),
        );
        all[0]["id"] = value(ids.1);
        all[1]["id"] = value(ids.0 + 100_000);
        all[1]["include"] = value(false);
        all[2]["link"] = value("https://colectivo-oaxaca.example.org/2026/11/otra-nota/");
    });
    // The excluded entry names an id that does not exist: still an error, with its line.
    let text = s.read(EDITION);
    let missing = run(&s, &["compose", EDITION, "--out", "out"]);
    assert_eq!(missing.code, 2);
    let line = line_with(&text, &format!("id = {}", ids.0 + 100_000));
    assert!(
        missing.stderr.contains(&format!(
            "editions/2026-W47.toml:{line}: unknown item id {}",
            ids.0 + 100_000
        )),
        "{}",
        missing.stderr
    );

    edit(&s, |doc| items(doc)[1]["id"] = value(ids.0));
    let text = s.read(EDITION);
    let composed = run(&s, &["compose", EDITION, "--out", "out"]).ok();
    let first = line_with(&text, &format!("id = {}", ids.1));
    assert!(
        composed.stderr.contains(&format!(
            "boletin: warning: editions/2026-W47.toml:{first}: item {} is «{typed}» in the store, the file says «{meant}» — wrong id?",
            ids.1
        )),
        "{}",
        composed.stderr
    );
    assert!(
        composed.stderr.contains(
            "the file says https://colectivo-oaxaca.example.org/2026/11/otra-nota/ — wrong id?"
        ),
        "{}",
        composed.stderr
    );
    // The entry left out is not sent, so its (now right) id is not compared: two warnings.
    assert_eq!(
        composed.stderr.matches("wrong id?").count(),
        2,
        "{}",
        composed.stderr
    );
    let json = run(&s, &["--json", "compose", EDITION, "--out", "out"])
        .ok()
        .json();
    assert_eq!(json["warnings"].as_array().map(Vec::len), Some(2), "{json}");
    assert_eq!(json["empty"], false);
}

/// The demo, made bilingual by hand: every text per language, one note left in Spanish.
const INTRO_ES: &str = "Esta semana, las comunidades tsotsiles de Aldama piden [ayuda humanitaria](https://cdh-altos.example.org/ayuda/).";
const INTRO_EN: &str = "This week, the Tsotsil communities of Aldama ask for [humanitarian aid](https://cdh-altos.example.org/en/aid/).";
const FOOTER_ES: &str = "Red de Solidaridad Oaxaca–Chiapas, A.C. · Calle Macedonio Alcalá 412, Centro, 68000 Oaxaca\nEscríbenos: [contacto@example.org](mailto:contacto@example.org)";
const FOOTER_EN: &str = "Oaxaca–Chiapas Solidarity Network · Calle Macedonio Alcalá 412, Centro, 68000 Oaxaca, Mexico\nWrite to us: [contact@example.org](mailto:contact@example.org)";

/// Config and edition of `s` (from [`world`]) made bilingual in every text; returns the
/// line of the note written only in Spanish.
fn bilingual(s: &Scratch) -> usize {
    let config = s.read("feeds.toml");
    let start = config.find("footer = \"\"\"").unwrap();
    let end = start + 12 + config[start + 12..].find("\"\"\"").unwrap() + 3;
    let footer = format!("footer = {{ es = {:?}, en = {:?} }}", FOOTER_ES, FOOTER_EN);
    let config = format!("{}{footer}{}", &config[..start], &config[end..]).replace(
        "title = \"Acciones urgentes / Urgent actions\"",
        "title = { es = \"Acciones urgentes\", en = \"Urgent actions\" }",
    );
    s.write("feeds.toml", &config);
    edit(s, |doc| {
        doc["intro"] = per_language(Some(INTRO_ES), Some(INTRO_EN));
        doc["preheader"] = per_language(
            Some("Aldama, Tapachula, Unión Hidalgo"),
            Some("Aldama, Tapachula and Unión Hidalgo"),
        );
        let mut all = items(doc);
        all[0]["title_override"] = per_language(
            Some("Aldama: 80 familias desplazadas"),
            Some("Aldama: 80 families displaced"),
        );
        all[0]["blurb"] = per_language(
            Some("Firma la **carta** al gobierno de Chiapas."),
            Some("Sign the **letter** to the Chiapas government."),
        );
        all[1]["blurb"] = per_language(Some("Nota solo en español, sin traducir."), None);
    });
    line_with(&s.read(EDITION), "Nota solo en español")
}

#[test]
fn each_reader_gets_their_language_s_texts_and_every_link_whole_in_the_text_part() {
    let (_tmp, smtp, s) = world(0, 0.0, "");
    import(&s, 4, &[]);
    let gap = bilingual(&s);
    let warning = format!("editions/2026-W47.toml:{gap}: the `blurb` of item");
    let composed = run(&s, &["compose", EDITION, "--out", "out"]).ok();
    assert!(
        composed.stderr.contains(&warning)
            && composed
                .stderr
                .contains("has no `en` text, so English readers get the Spanish one"),
        "{}",
        composed.stderr
    );
    // The joined version compose writes for the web shows both languages.
    let archive = s.read("out/2026-W47/index.html");
    assert!(archive.contains("humanitarian aid") && archive.contains("ayuda humanitaria"));
    let dry = run(&s, &["send", EDITION, "--dry-run"]).ok();
    assert!(dry.stderr.contains(&warning), "{}", dry.stderr);

    run(&s, &["send", EDITION]).ok();
    let messages = smtp.messages();
    assert_eq!(messages.len(), 4);
    for (rcpt, raw) in &messages {
        let english = header(raw, "Content-Language").as_deref() == Some("en");
        let (html, text) = parts(raw);
        let (own, other) = if english {
            (
                [
                    "humanitarian aid",
                    "Aldama: 80 families displaced",
                    "Sign the <strong>letter</strong>",
                    "Oaxaca–Chiapas Solidarity Network",
                    "Aldama, Tapachula and Unión Hidalgo",
                    ">Urgent actions<",
                ],
                [
                    "ayuda humanitaria",
                    "80 familias desplazadas",
                    "Firma la",
                    "Red de Solidaridad",
                    "Tapachula, Unión Hidalgo",
                    ">Acciones urgentes<",
                ],
            )
        } else {
            (
                [
                    "ayuda humanitaria",
                    "Aldama: 80 familias desplazadas",
                    "Firma la <strong>carta</strong>",
                    "Red de Solidaridad Oaxaca–Chiapas",
                    "Aldama, Tapachula, Unión Hidalgo",
                    ">Acciones urgentes<",
                ],
                [
                    "humanitarian aid",
                    "80 families displaced",
                    "Sign the",
                    "Solidarity Network",
                    "Tapachula and Unión",
                    ">Urgent actions<",
                ],
            )
        };
        for t in own {
            assert!(html.contains(t), "{rcpt}: no {t:?} in the HTML part");
        }
        for t in other {
            assert!(!html.contains(t), "{rcpt}: {t:?} is the other language's");
            assert!(
                !text.contains(t.trim_matches(['>', '<'])),
                "{rcpt}: {t:?} in the text part"
            );
        }
        // The note written only in Spanish reaches the English readers too.
        assert!(html.contains("Nota solo en español"), "{rcpt}");
        let heading = if english {
            "== Urgent actions =="
        } else {
            "== Acciones urgentes =="
        };
        assert!(text.contains(heading), "{rcpt}: {text}");

        // Every link of the HTML part, the personal unsubscribe link among them, is in
        // the text part whole; the text part ends with that link and then the footer.
        let links = assert_links_whole(&html, &text, rcpt);
        let unsubscribe = links
            .iter()
            .find(|l| l.starts_with("http://127.0.0.1:8080/unsubscribe?token="))
            .unwrap_or_else(|| panic!("{rcpt}: no personal link in {links:?}"));
        let (label, footer) = if english {
            (
                "Unsubscribe",
                "Oaxaca–Chiapas Solidarity Network · Calle Macedonio Alcalá 412, Centro,\n68000 Oaxaca, Mexico\nWrite to us: contact@example.org <mailto:contact@example.org>\n",
            )
        } else {
            (
                "Cancelar suscripción",
                "Red de Solidaridad Oaxaca–Chiapas, A.C. · Calle Macedonio Alcalá 412,\nCentro, 68000 Oaxaca\nEscríbenos: contacto@example.org <mailto:contacto@example.org>\n",
            )
        };
        assert!(
            text.ends_with(&format!("{label}: {unsubscribe}\n\n{footer}")),
            "{rcpt}: the end of the text part:\n{}",
            &text[text.len().saturating_sub(400)..]
        );
        assert!(
            html.contains("href=\"mailto:conta"),
            "{rcpt}: the footer's contact is a link in the HTML part"
        );
    }
    let english = messages
        .iter()
        .filter(|(_, raw)| header(raw, "Content-Language").as_deref() == Some("en"))
        .count();
    assert_eq!(english, 1, "every fourth reader reads English");
}

#[test]
fn a_url_longer_than_a_line_is_whole_in_the_text_part_wherever_it_is_written() {
    let s = Scratch::demo();
    // A partner whose report links run past any line: written out in the text, as a
    // link's text, quoted and listed.
    s.write(
        "sources/informes.xml",
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
<title>CDH Altos — Informes</title>
<link>https://cdh-altos.example.org/informes/</link>
<description>Informes y documentos</description>
<item>
<title>Informe anual: 12 mil personas desplazadas en los Altos y la Selva en 2026</title>
<link>https://cdh-altos.example.org/informes/2026/desplazamiento-forzado</link>
<pubDate>Thu, 19 Nov 2026 10:00:00 -0600</pubDate>
<description><![CDATA[<p>El Centro presenta su informe anual sobre desplazamiento forzado; puede descargarse completo en {REPORT} o desde <a href="{REPORT}">esta liga</a>.</p>
<blockquote><p>Documentamos cada caso con testimonios recogidos en las comunidades: {REPORT}</p></blockquote>
<ul><li>Versión completa: <a href="{REPORT}">{REPORT}</a></li><li>Resumen en tsotsil y tseltal.</li></ul>]]></description>
</item>
</channel></rss>
"#
        ),
    );
    let mut config = s.read("feeds.toml");
    config.push_str(
        "\n[[source]]\nid = \"cdh-informes\"\nname = \"CDH Altos — Informes\"\nurl = \"sources/informes.xml\"\nkind = \"feed\"\nsection = \"news\"\nsite = \"https://cdh-altos.example.org/\"\nlanguage = \"es\"\n",
    );
    s.write("feeds.toml", &config);
    s.run(&["--quiet", "fetch"]).ok();
    s.run(&["--quiet", "draft", "--now", "2026-11-21", "--out", EDITION])
        .ok();
    let pedido = format!("{REPORT}?descarga=1&formato=pdf");
    edit(&s, |doc| {
        doc["intro"] = value(format!(
            "Lee el [informe]({REPORT}) y compártelo. La dirección completa, para copiarla: {pedido}"
        ));
        for item in items(doc) {
            if item["link"].as_str()
                == Some("https://cdh-altos.example.org/informes/2026/desplazamiento-forzado")
            {
                item["include"] = value(true);
                item["blurb"] = value(format!("Léelo antes del jueves: {REPORT}"));
            }
        }
    });
    s.run(&["compose", EDITION, "--out", "out"]).ok();
    let text = s.read("out/2026-W47/email.txt");
    let html = s.read("out/2026-W47/email.html");
    assert_links_whole(&html, &text, "compose");
    // Written out in the summary (paragraph, quote, a link's text), its two link
    // footnotes, the note and the intro (a link, and inside the longer address): eight
    // times, each whole.
    assert_eq!(text.matches(REPORT).count(), 8, "{text}");
    assert!(text.contains(&pedido), "{text}");
    // The text around a long address still wraps at 72 columns; the address takes a
    // line of its own, whole, in a paragraph as in a quote.
    assert!(
        text.contains(&format!(
            "sobre desplazamiento forzado; puede\ndescargarse completo en\n{REPORT}\no desde [esta liga][1]."
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("en las comunidades:\n> {REPORT}\n")),
        "{text}"
    );
}

#[test]
fn check_warns_when_sending_is_set_up_without_a_footer() {
    let s = Scratch::empty();
    s.run_bare(&["--quiet", "init"]).ok();
    let config = s.read("feeds.toml");
    assert!(
        config.contains("\n# footer = \""),
        "the footer is explained, commented"
    );
    let sending = format!("{config}\n[delivery]\nsmtp_url = \"smtp://mail.example.org:587\"\n");
    s.write("feeds.toml", &sending);
    let warned = s.run(&["check"]).ok();
    assert!(
        warned
            .stderr
            .contains("[delivery] is set but [newsletter] has no `footer`"),
        "{}",
        warned.stderr
    );
    // Uncommented, the template's example is a footer check accepts.
    s.write(
        "feeds.toml",
        &sending.replace("\n# footer = \"", "\nfooter = \""),
    );
    let ok = s.run(&["check"]).ok();
    assert_eq!(ok.stderr, "", "no warning with a footer");
    // Without [delivery] there is nothing to warn about.
    s.write("feeds.toml", &config);
    assert_eq!(s.run(&["check"]).ok().stderr, "");
}

/// Where screenshots for review are kept, beside the email and signup ones:
/// `target/tmp/preview-screenshots/` (copies for review under `docs/screenshots/`).
fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("preview-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn preview_shows_one_tab_per_language_each_as_its_readers_receive_it() {
    let tmp = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(tmp.path(), 0, 0.0);
    let s = crate::delivery::setup(smtp.port, "");
    let gap = bilingual(&s);
    let preview = Serve::preview(&s);
    let get = |path: &str| {
        let r = http(&preview.addr, "GET", path, "");
        assert_eq!(r.status, 200, "{path}");
        r.body
    };
    let es = get("/");
    let en = get("/en");
    assert_eq!(get("/es"), es, "/ is the first language's tab");
    for (page, lang, own, other) in [
        (&es, "es", "ayuda humanitaria", "humanitarian aid"),
        (&en, "en", "humanitarian aid", "ayuda humanitaria"),
    ] {
        assert!(page.contains(&format!("<html lang=\"{lang}\"")));
        assert!(
            page.contains(&format!(
                "href=\"/{lang}\" hreflang=\"{lang}\" lang=\"{lang}\" aria-current=\"page\""
            )),
            "{lang}: its tab is the current one"
        );
        assert!(
            page.contains("href=\"/es\"") && page.contains("href=\"/en\""),
            "both tabs"
        );
        assert!(
            page.contains(own) && !page.contains(other),
            "{lang}: only its own intro"
        );
        assert!(
            page.contains(&format!(
                "editions/2026-W47.toml:{gap}: the `blurb` of item"
            )),
            "{lang}: the warning is shown"
        );
    }
    assert!(es.contains("Subject:</b> Boletín n.º 47"), "{es}");
    assert!(en.contains("Subject:</b> Newsletter No. 47"));
    assert!(get("/en/text").contains("This week, the Tsotsil communities"));
    assert!(get("/text").contains("Esta semana, las comunidades"));
    let archive = get("/archive");
    assert!(archive.contains("ayuda humanitaria") && archive.contains("humanitarian aid"));
    assert_eq!(http(&preview.addr, "GET", "/fr", "").status, 404);

    // At 375 px each tab fits the phone: no sideways scroll, both tabs on screen, and the
    // email below them taller than the header.
    let probe = "document.documentElement.scrollWidth+'x'+innerWidth+'x'+document.querySelectorAll('nav a').length+'x'+Math.round(document.querySelector('iframe').getBoundingClientRect().height)+'x'+document.querySelector('header').getBoundingClientRect().height";
    for (lang, page) in [("es", &es), ("en", &en)] {
        let shot = screenshots().join(format!("preview-tab-{lang}-375px.png"));
        // Time for the email's own frame to load before the screenshot.
        let value = chromium_probe(
            page,
            375,
            &["--virtual-time-budget=5000"],
            probe,
            Some(&shot),
        );
        let n: Vec<f64> = value
            .split('x')
            .map(|v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("{lang}: probe gave {value}"))
            })
            .collect();
        println!(
            "preview /{lang} at 375 px: scrollWidth {}, innerWidth {}, tabs {}, email frame {} px, header {} px; screenshot {}",
            n[0],
            n[1],
            n[2],
            n[3],
            n[4],
            shot.display()
        );
        assert!(n[0] <= n[1], "{lang}: sideways scroll {} > {}", n[0], n[1]);
        assert_eq!(n[1], 375.0, "{lang}: the frame is 375 px wide");
        assert_eq!(n[2], 2.0, "{lang}: both tabs");
        assert!(
            n[3] > n[4],
            "{lang}: the email gets more room than the header"
        );
    }
}

/// The demo fetched and drafted for W47; the edition's text.
fn drafted() -> Scratch {
    let s = Scratch::demo();
    s.run(&["--quiet", "fetch"]).ok();
    s.run(&["--quiet", "draft", "--now", "2026-11-21", "--out", EDITION])
        .ok();
    s
}

#[test]
fn an_item_whose_source_left_feeds_toml_is_named_and_the_empty_guard_says_why() {
    let s = drafted();
    let source_of: std::collections::HashMap<i64, String> = s
        .items(&[])
        .iter()
        .map(|i| {
            (
                i["id"].as_i64().unwrap(),
                i["source_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let gone = "colectivo-solidario";
    // Only the removed partner's stories stay included.
    let mut kept = Vec::new();
    edit(&s, |doc| {
        for item in items(doc) {
            let id = item["id"].as_integer().unwrap();
            let theirs = source_of[&id] == gone;
            item["include"] = value(theirs);
            if theirs {
                kept.push(id);
            }
        }
    });
    assert!(!kept.is_empty(), "the demo has stories from {gone}");
    let mut config: DocumentMut = s.read("feeds.toml").parse().unwrap();
    config["source"]
        .as_array_of_tables_mut()
        .unwrap()
        .retain(|t| t["id"].as_str() != Some(gone));
    s.write("feeds.toml", &config.to_string());

    let text = s.read(EDITION);
    let composed = s.run(&["compose", EDITION, "--out", "out"]).ok();
    for id in &kept {
        let line = line_with(&text, &format!("id = {id}"));
        assert!(
            composed.stderr.contains(&format!(
                "boletin: warning: editions/2026-W47.toml:{line}: item {id}'s source `{gone}` is no longer in feeds.toml; it is left out"
            )),
            "{}",
            composed.stderr
        );
    }
    let ids: Vec<String> = kept.iter().map(i64::to_string).collect();
    let why = format!(
        "no item is shown (included: {}, but their sources are no longer in feeds.toml)",
        ids.join(", ")
    );
    assert!(composed.stderr.contains(&why), "{}", composed.stderr);
    assert!(
        !composed.stderr.contains("each has `include = false`"),
        "{}",
        composed.stderr
    );
}

#[test]
fn an_edited_title_or_a_respelled_link_is_not_called_a_wrong_id() {
    let s = drafted();
    let mut lines = Vec::new();
    edit(&s, |doc| {
        let mut all = items(doc);
        // The same title typed with decomposed accents (as macOS editors may save it).
        let title = all[0]["title"].as_str().unwrap().to_string();
        let decomposed = title
            .replace('á', "a\u{301}")
            .replace('é', "e\u{301}")
            .replace('í', "i\u{301}")
            .replace('ó', "o\u{301}")
            .replace('ñ', "n\u{303}");
        all[0]["title"] = value(decomposed);
        // The same link with the scheme and host in capitals.
        let link = all[1]["link"].as_str().unwrap().to_string();
        let upper = link.replacen("https://", "HTTPS://", 1);
        let (scheme, rest) = upper.split_at(8);
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        all[1]["link"] = value(format!("{scheme}{}{path}", host.to_uppercase()));
        // The title rewritten where it does not render; then one with title_override too.
        all[2]["title"] = value("Desplazamiento en Chenalhó: urge ayuda");
        lines.push(all[2]["id"].as_integer().unwrap());
        all[3]["title"] = value("Un título mejor");
        all[3]["title_override"] = value("Un título mejor");
    });
    let text = s.read(EDITION);
    let composed = s.run(&["compose", EDITION, "--out", "out"]).ok();
    assert_eq!(
        composed.stderr.matches("wrong id?").count(),
        0,
        "{}",
        composed.stderr
    );
    let line = line_with(&text, &format!("id = {}", lines[0]));
    assert!(
        composed.stderr.contains(&format!(
            "editions/2026-W47.toml:{line}: item {}: the `title` line is not rendered (readers get «",
            lines[0]
        )) && composed.stderr.contains(
            "to change the title, write title_override = \"Desplazamiento en Chenalhó: urge ayuda\""
        ),
        "{}",
        composed.stderr
    );
    assert!(
        !composed.stderr.contains("Un título mejor"),
        "{}",
        composed.stderr
    );
}

#[test]
fn a_note_in_a_nested_table_gets_the_shape_hint_and_an_autolink_is_written_once() {
    let s = drafted();
    edit(&s, |doc| {
        let mut all = items(doc);
        all[0]["blurb"] = value(
            "Firma la carta en <https://carta.example.org/firma-chenalho>, antes del viernes.",
        );
    });
    s.run(&["compose", EDITION, "--out", "out"]).ok();
    let text = s.read("out/2026-W47/email.txt");
    assert_eq!(
        text.matches("https://carta.example.org/firma-chenalho")
            .count(),
        1,
        "{text}"
    );

    let good = s.read(EDITION);
    let nested = good.replacen(
        "blurb = \"Firma",
        "blurb = { es.nota = \"Firma\" }\n# blurb = \"Firma",
        1,
    );
    s.write(EDITION, &nested);
    let failed = s.run(&["compose", EDITION, "--out", "out"]);
    assert_eq!(failed.code, 2, "{}", failed.stderr);
    let line = line_with(&nested, "blurb = { es.nota");
    assert!(
        failed
            .stderr
            .contains(&format!("editions/2026-W47.toml:{line}: "))
            && failed
                .stderr
                .contains("write the text as { es = \"…\", en = \"…\" }"),
        "{}",
        failed.stderr
    );
}
