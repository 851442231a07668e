//! The editor's file across the week, and naming what `add` finds.
//!
//! Partners' feeds are served by the loopback server and change between fetches, as they do
//! during a week; the edition file is edited as text, the way an editor's text editor
//! leaves it. A second `draft` must leave every byte the editor wrote where it was and put
//! what arrived since at the end of its section, not included, under `# new since`; each
//! candidate shows its first words, language and tags in a comment that stays a comment
//! whatever a feed puts in its text. `add` names a source after the site (never after an
//! IP address), honours `--id` for the page rule too, and picks the list of posts over a
//! sidebar of bare links.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::common::{EDITION, Run, Scratch};
use crate::server::{Reply, Server};

/// One post in a partner's feed.
struct Post {
    slug: &'static str,
    title: &'static str,
    day: u32,
    text: &'static str,
    category: &'static str,
}

const URGENT: &[Post] = &[
    Post {
        slug: "hostigamiento-copala",
        title: "Acción urgente: hostigamiento a la defensora Rosa Martínez en San Juan Copala",
        day: 16,
        text: "Desde el 12 de noviembre, hombres armados vigilan el domicilio de nuestra compañera en San Juan Copala. Pedimos enviar cartas al gobierno del estado de Oaxaca exigiendo medidas de protección inmediatas para ella y su familia.",
        category: "Defensoras",
    },
    Post {
        slug: "desplazamiento-chenalho",
        title: "Chenalhó: 80 familias tsotsiles desplazadas por ataques armados",
        day: 18,
        text: "Chenalhó: 80 familias tsotsiles desplazadas por ataques armados. Las familias salieron de sus casas el domingo tras los disparos contra la comunidad de Santa Martha; el centro de derechos humanos que las acompaña pide ayuda humanitaria urgente.",
        category: "Chiapas",
    },
];

const NEWS: &[Post] = &[
    Post {
        slug: "marcha-valles-centrales",
        title: "Miles marchan en Oaxaca contra las concesiones mineras",
        day: 15,
        text: "Más de tres mil personas de catorce comunidades zapotecas de los Valles Centrales marcharon desde el Llano hasta el zócalo para exigir la cancelación de las concesiones mineras otorgadas sin consulta.",
        category: "Minería",
    },
    Post {
        slug: "honduras-bajo-aguan",
        title: "Honduras: women defenders in the Bajo Aguán denounce new threats",
        day: 17,
        text: "Women defenders from three peasant cooperatives in the Bajo Aguán report death threats by phone and anonymous notes left at their homes, after they denounced the eviction of two communities.",
        category: "Honduras",
    },
    Post {
        slug: "union-hidalgo-eolico",
        title: "Asamblea en Unión Hidalgo rechaza parque eólico sin consulta",
        day: 19,
        text: "Más de 500 comuneras y comuneros zapotecos reunidos en asamblea general en Unión Hidalgo votaron contra la instalación de un nuevo parque eólico de 96 aerogeneradores.",
        category: "Istmo",
    },
];

/// What arrives between the first draft and the second.
const LATER_URGENT: &[Post] = &[Post {
    slug: "amenazas-radio-comunitaria",
    title: "Amenazas contra la radio comunitaria de Tlaxiaco",
    day: 20,
    text: "La radio comunitaria de Tlaxiaco recibió amenazas de muerte después de transmitir la asamblea contra la concesión minera; sus locutoras piden la solidaridad de medios libres.",
    category: "Oaxaca",
}];

const LATER_NEWS: &[Post] = &[
    Post {
        slug: "foro-agua-ocotlan",
        title: "Encuentro de mujeres zapotecas en defensa del agua en Ocotlán",
        day: 20,
        text: "Más de doscientas mujeres de los Valles Centrales se reunieron en Ocotlán para compartir sus luchas contra la sobreexplotación de los pozos y la contaminación de los ríos.",
        category: "Agua",
    },
    Post {
        slug: "guatemala-desalojo",
        title: "Guatemala: eviction of Q'eqchi' families in El Estor",
        day: 18,
        text: "Police and private guards evicted forty Q'eqchi' families from land they have farmed for decades, near the nickel mine in El Estor; community leaders ask for international observers.",
        category: "Guatemala",
    },
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An RSS 2.0 feed of `posts` from `host`, as WordPress writes one.
fn rss(host: &str, posts: &[&Post]) -> String {
    let mut items = String::new();
    for p in posts {
        items.push_str(&format!(
            "<item><title>{}</title><link>https://{host}/2026/11/{}/</link>\
             <guid isPermaLink=\"false\">https://{host}/?p={}</guid>\
             <pubDate>{} Nov 2026 15:30:00 +0000</pubDate><category><![CDATA[{}]]></category>\
             <description><![CDATA[<p>{}</p>]]></description></item>\n",
            escape(p.title),
            p.slug,
            p.day * 7,
            p.day,
            p.category,
            p.text
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>{host}</title>\
         <link>https://{host}/</link><description>Noticias</description><language>es-MX</language>\n{items}</channel></rss>\n"
    )
}

/// A feed the test can change between fetches.
struct LiveFeed(Arc<Mutex<String>>);

impl LiveFeed {
    fn serve(server: &Server, path: &str, body: String) -> LiveFeed {
        let shared = Arc::new(Mutex::new(body));
        let served = shared.clone();
        server.fixed(path, move || {
            let body = served.lock().map(|b| b.clone()).unwrap_or_default();
            Reply::ok("application/rss+xml; charset=UTF-8", body)
        });
        LiveFeed(shared)
    }

    fn set(&self, body: String) {
        *self.0.lock().unwrap() = body;
    }
}

const CONFIG: &str = r#"# Boletín de la red: acciones urgentes primero.
[newsletter]
title = "Boletín Solidaridad Oaxaca–Chiapas"
from = "Boletín Solidaridad <boletin@example.org>"
archive_url = "https://boletin.example.org/archivo/"
language = "es"

[settings]
timeout_secs = 4
connect_timeout_secs = 2

[[section]]
id = "urgent"
title = "Acciones urgentes / Urgent actions"

[[section]]
id = "news"
title = "Noticias / News"
"#;

fn source(id: &str, name: &str, url: &str, section: &str) -> String {
    format!(
        "\n[[source]]\nid = \"{id}\"\nname = \"{name}\"\nurl = \"{url}\"\nsection = \"{section}\"\n"
    )
}

const DRAFT: &[&str] = &["draft", "--now", "2026-11-21", "--out", EDITION];

/// The text of the edition split before each table header, each piece starting with the
/// blank line and comments above its header (what an editor moves with it).
fn blocks(text: &str) -> Vec<String> {
    let mut blocks: Vec<Vec<&str>> = vec![Vec::new()];
    for line in text.split_inclusive('\n') {
        if line.starts_with("[[") {
            let current = blocks.last_mut().unwrap();
            let mut above = Vec::new();
            while current
                .last()
                .is_some_and(|l| l.starts_with('#') || l.trim().is_empty())
            {
                above.insert(0, current.pop().unwrap());
            }
            // The blank line that separated it stays with what it separated from.
            let keep = above.iter().take_while(|l| l.trim().is_empty()).count();
            let moved: Vec<&str> = above.split_off(keep);
            current.extend(above);
            blocks.push(moved);
        }
        blocks.last_mut().unwrap().push(line);
    }
    blocks.into_iter().map(|b| b.concat()).collect()
}

fn block_id(block: &str) -> Option<i64> {
    block
        .lines()
        .find_map(|l| l.strip_prefix("id = "))
        .and_then(|v| v.trim().parse().ok())
}

/// Ids of the items `items --json` lists, by title.
fn id_of(s: &Scratch, title: &str) -> i64 {
    s.items(&[])
        .iter()
        .find(|i| i["title"] == title)
        .and_then(|i| i["id"].as_i64())
        .unwrap_or_else(|| panic!("no item titled {title}"))
}

/// The edition's items per section, in file order: (id, include).
fn sections(text: &str) -> Vec<(String, Vec<(i64, bool)>)> {
    let doc: toml::Value = toml::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    doc["section"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let items = s
                .get("item")
                .and_then(|i| i.as_array())
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|i| {
                    (
                        i["id"].as_integer().unwrap(),
                        i["include"].as_bool().unwrap(),
                    )
                })
                .collect();
            (s["id"].as_str().unwrap().to_string(), items)
        })
        .collect()
}

/// The comment lines right above item `id`'s header.
fn comments_above(text: &str, id: i64) -> Vec<String> {
    let block = blocks(text)
        .into_iter()
        .find(|b| block_id(b) == Some(id) && b.contains("[[section.item]]"))
        .unwrap_or_else(|| panic!("no item {id}"));
    block
        .lines()
        .take_while(|l| !l.starts_with("[["))
        .filter(|l| l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_second_draft_keeps_every_byte_the_editor_wrote_and_adds_at_the_section_ends() {
    let server = Server::start();
    let host_u = "cdh-altos.example.org";
    let host_n = "defensoras.example.org";
    let urgent = LiveFeed::serve(
        &server,
        "/urgentes/feed/",
        rss(host_u, &URGENT.iter().collect::<Vec<_>>()),
    );
    let news = LiveFeed::serve(
        &server,
        "/noticias/feed/",
        rss(host_n, &NEWS.iter().collect::<Vec<_>>()),
    );
    let s = Scratch::empty();
    s.write(
        "feeds.toml",
        &format!(
            "{CONFIG}{}{}",
            source(
                "cdh-altos",
                "Centro de Derechos Humanos de los Altos",
                &server.url("/urgentes/feed/"),
                "urgent"
            ),
            source(
                "red-defensoras",
                "Red de Defensoras",
                &server.url("/noticias/feed/"),
                "news"
            ),
        ),
    );
    s.run(&["fetch", "--quiet"]).ok();

    // The first draft: newest first, every item included, each with its words, language
    // and tags above it.
    s.run(DRAFT).ok();
    let first = s.read(EDITION);
    let id = |title: &str| id_of(&s, title);
    let (u16, u18) = (id(URGENT[0].title), id(URGENT[1].title));
    let (n15, n17, n19) = (id(NEWS[0].title), id(NEWS[1].title), id(NEWS[2].title));
    assert_eq!(
        sections(&first),
        [
            ("urgent".to_string(), vec![(u18, true), (u16, true)]),
            (
                "news".to_string(),
                vec![(n19, true), (n17, true), (n15, true)]
            ),
        ]
    );
    assert!(
        !first.lines().any(|l| l.starts_with("# new since")),
        "{first}"
    );
    let above = comments_above(&first, u18);
    // The feed repeats the title at the start of its text; the comment does not.
    assert_eq!(
        above[0],
        "# Las familias salieron de sus casas el domingo tras los disparos contra la comunidad de \
         Santa Martha; el centro de derechos humanos que las acompaña…"
    );
    assert!(above[1].starts_with("# lang: es · tags: "), "{above:?}");
    assert!(above[1].contains("chiapas"), "{above:?}");
    let above = comments_above(&first, n17);
    assert!(
        above[0].starts_with("# Women defenders from three peasant cooperatives"),
        "{above:?}"
    );
    assert!(
        above[1].starts_with("# lang: en · tags: ") && above[1].contains("honduras"),
        "{above:?}"
    );

    // The editor, in a text editor: the oldest story leads the news, one is left out, the
    // lead gets a note and a comment, and one urgent action is deleted from the file.
    // The record of offered ids closes the file; the editor's moves leave it there.
    let (body, record) = first.split_at(
        first
            .find("\n# Items `boletin draft` has offered")
            .expect("record")
            + 1,
    );
    let mut pieces = blocks(body);
    let at = |pieces: &Vec<String>, id: i64| {
        pieces
            .iter()
            .position(|b| block_id(b) == Some(id) && b.contains("[[section.item]]"))
            .unwrap()
    };
    let lead = pieces.remove(at(&pieces, n15));
    let lead = lead
        .replace("[[section.item]]", "# Abrimos con la marcha — Ana, 21/11\n[[section.item]]")
        .replace(
            "include = true\n",
            "include = true\nblurb = \"\"\"\nLa marcha más grande en años: **firma la carta** de las comunidades.\n\"\"\"\n",
        );
    let top = at(&pieces, n19);
    pieces.insert(top, lead);
    let skipped = at(&pieces, n17);
    pieces[skipped] = pieces[skipped].replace("include = true", "include = false");
    pieces.remove(at(&pieces, u16));
    let edited = pieces.concat() + record;
    s.write(EDITION, &edited);
    assert_eq!(
        sections(&edited),
        [
            ("urgent".to_string(), vec![(u18, true)]),
            (
                "news".to_string(),
                vec![(n15, true), (n19, true), (n17, false)]
            ),
        ]
    );

    // More arrives during the week.
    urgent.set(rss(
        host_u,
        &URGENT.iter().chain(LATER_URGENT).collect::<Vec<_>>(),
    ));
    news.set(rss(
        host_n,
        &NEWS.iter().chain(LATER_NEWS).collect::<Vec<_>>(),
    ));
    s.run(&["fetch", "--quiet", "--force"]).ok();
    let (u20, n20, n18) = (
        id(LATER_URGENT[0].title),
        id(LATER_NEWS[0].title),
        id(LATER_NEWS[1].title),
    );
    let run = s.run(&[&["--json"][..], DRAFT].concat()).ok();
    let report = run.json();
    assert_eq!(report["added"], 3, "{report}");
    assert_eq!(report["kept"], 4, "{report}");
    assert_eq!(
        report["dropped"], 1,
        "the deleted action is not offered again: {report}"
    );
    assert_eq!(report["new_since"], "2026-11-21", "{report}");
    let after = s.read(EDITION);

    // New ones at the end of their sections, newest first, not included.
    assert_eq!(
        sections(&after),
        [
            ("urgent".to_string(), vec![(u18, true), (u20, false)]),
            (
                "news".to_string(),
                vec![
                    (n15, true),
                    (n19, true),
                    (n17, false),
                    (n20, false),
                    (n18, false)
                ]
            ),
        ]
    );
    let heading = "# new since 2026-11-21: not included until you set include = true";
    assert_eq!(after.matches(heading).count(), 2, "{after}");
    assert_eq!(comments_above(&after, u20)[0], heading);
    assert_eq!(comments_above(&after, n20)[0], heading);
    assert!(
        comments_above(&after, n18)[1].starts_with("# lang: en"),
        "{after}"
    );

    // Take the added blocks out: what is left is the editor's file, byte for byte, and
    // one more line of the record of offered ids.
    let mut rest = after.clone();
    while let Some(start) = rest.find(&format!("\n{heading}")) {
        let tail = &rest[start..];
        let end = ["\n\n[[section]]", "\n\n# Items `boletin draft`"]
            .iter()
            .filter_map(|m| tail.find(m))
            .min()
            .unwrap_or_else(|| panic!("nothing after the new items:\n{after}"));
        rest.replace_range(start + 1..start + end + 2, "");
    }
    let added_record = rest
        .strip_prefix(&edited)
        .unwrap_or_else(|| panic!("the editor's part changed:\n{rest}\n---\n{edited}"));
    let mut ids = [u20, n20, n18];
    ids.sort();
    assert_eq!(
        added_record,
        format!("# offered: {} {} {}\n", ids[0], ids[1], ids[2])
    );

    // Nothing new: the file is not touched.
    s.run(DRAFT).ok();
    assert_eq!(s.read(EDITION), after);

    // The email follows the editor's order and choices, and leaves the new ones out.
    let composed = s
        .run(&["--json", "compose", EDITION, "--out", "out"])
        .ok()
        .json();
    assert_eq!(composed["items"], 3, "{composed}");
    let email = s.read("out/2026-W47/email.txt");
    let pos = |t: &str| {
        email
            .find(t)
            .unwrap_or_else(|| panic!("{t} missing:\n{email}"))
    };
    assert!(
        pos(NEWS[0].title) < pos(NEWS[2].title),
        "the editor's lead first"
    );
    assert!(email.contains("firma la carta"), "{email}");
    for gone in [
        NEWS[1].title,
        LATER_NEWS[0].title,
        LATER_URGENT[0].title,
        URGENT[0].title,
    ] {
        assert!(!email.contains(gone), "{gone} should not be sent:\n{email}");
    }

    // An item the store no longer has (the editor removed it) is named with its line.
    s.run(&["items", "remove", &n17.to_string()]).ok();
    let run = s.run(DRAFT).ok();
    let line = after
        .lines()
        .position(|l| l == format!("id = {n17}"))
        .unwrap()
        + 1;
    assert!(
        run.stderr.contains(&format!(
            "{EDITION}:{line}: item {n17} is no longer in the database"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(s.read(EDITION), after, "and the file is left as it was");
}

/// Text a feed may carry that must not break out of a comment line.
const HOSTILE: &[(&str, &str)] = &[
    (
        "Comunicado \"\"\" cierre ''' # [[section]] id = 1",
        "Primera línea\ncon salto\r\nde línea \"\"\" y ''' # [[section.item]]\nid = 99\ninclude = true",
    ),
    (
        "تضامن مع المدافعات عن الأرض في أواكساكا",
        "\u{202e}txet desrever\u{202c} \u{200f}بيان من الشبكة\u{200e} \u{2028}separador de línea\u{2029} fin\u{85} nel\u{7f}",
    ),
];

#[test]
fn hostile_titles_and_text_stay_inside_their_comment_lines() {
    let long_word = "Ñ".repeat(3000);
    let mut items = String::new();
    let texts: Vec<(String, String)> = HOSTILE
        .iter()
        .map(|(t, x)| (t.to_string(), x.to_string()))
        .chain([(
            format!("Palabra larga {long_word}"),
            format!("{long_word} y después"),
        )])
        .collect();
    for (n, (title, text)) in texts.iter().enumerate() {
        let xml = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('\r', "&#13;")
                .replace('\u{85}', "&#x85;")
                .replace('\u{7f}', "&#x7f;")
        };
        items.push_str(&format!(
            "<item><title>{}</title><link>https://hostil.example.org/{n}</link>\
             <pubDate>{} Nov 2026 10:00:00 +0000</pubDate><description>{}</description></item>\n",
            xml(title),
            18 + n,
            xml(text)
        ));
    }
    let feed = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Hostil</title>\
         <link>https://hostil.example.org/</link><description>x</description>{items}</channel></rss>"
    );
    let server = Server::pages(&[("/feed/", "application/rss+xml", &feed)]);
    let s = Scratch::empty();
    s.write(
        "feeds.toml",
        &format!(
            "{CONFIG}{}",
            source("hostil", "Fuente hostil", &server.url("/feed/"), "news")
        ),
    );
    s.run(&["fetch", "--quiet"]).ok();
    s.run(DRAFT).ok();
    let text = s.read(EDITION);
    let stored = s.items(&[]);
    assert_eq!(stored.len(), 3, "{stored:?}");
    // Valid TOML, with exactly the stored items, titles whole.
    let listed = sections(&text);
    let ids: Vec<i64> = listed
        .iter()
        .flat_map(|(_, items)| items.iter().map(|(id, _)| *id))
        .collect();
    assert_eq!(ids.len(), 3, "{text}");
    let doc: toml::Value = toml::from_str(&text).unwrap();
    let titles: Vec<&str> = doc["section"][1]["item"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    for item in &stored {
        assert!(titles.contains(&item["title"].as_str().unwrap()), "{item}");
    }
    for id in ids {
        let lines = comments_above(&text, id);
        assert_eq!(lines.len(), 2, "{lines:?}");
        for line in &lines {
            assert!(line.starts_with("# "), "{line:?}");
            assert!(
                !line.chars().any(|c| c.is_control()
                    || matches!(
                        c,
                        '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{200e}' | '\u{200f}'
                    )),
                "{line:?}"
            );
            assert!(line.chars().count() < 240, "{} chars", line.chars().count());
        }
    }
    // The Arabic text is kept, only its direction marks go; the long word is cut.
    assert!(text.contains("بيان من الشبكة"), "{text}");
    assert!(text.contains(&format!("# {}…", "Ñ".repeat(40))), "{text}");
    // The file composes: what a comment holds is not read as a key or a table.
    let run = s.run(&["--json", "compose", EDITION, "--out", "out"]).ok();
    assert_eq!(run.json()["items"], 3);
    // And a re-draft on it works the same.
    s.run(&["fetch", "--quiet", "--force"]).ok();
    let again = s.run(DRAFT).ok();
    assert!(
        again.stdout.contains("0 new candidates"),
        "{}",
        again.stdout
    );
}

fn add(s: &Scratch, args: &[&str]) -> Run {
    s.run(&[&["add"][..], args].concat())
}

#[test]
fn add_names_a_source_on_a_bare_address_after_the_site_and_never_reuses_an_id() {
    let feed = rss("defensoras.example.org", &NEWS.iter().collect::<Vec<_>>()).replace(
        "<title>defensoras.example.org</title>",
        "<title>Red de Defensoras de Oaxaca</title>",
    );
    let home = r#"<!DOCTYPE html><html lang="es-MX"><head><meta charset="UTF-8">
<title>Inicio | Red de Defensoras de Oaxaca &#8211; Defendiendo la vida y el territorio</title>
<link rel="alternate" type="application/rss+xml" title="Red de Defensoras de Oaxaca &raquo; Feed" href="/feed/" />
<link rel="alternate" type="application/rss+xml" title="Red de Defensoras de Oaxaca &raquo; Feed de los comentarios" href="/comments/feed/" />
</head><body class="home blog"></body></html>"#;
    let server = Server::pages(&[
        ("/", "text/html; charset=UTF-8", home),
        ("/feed/", "application/rss+xml; charset=UTF-8", &feed),
        (
            "/comments/feed/",
            "application/rss+xml; charset=UTF-8",
            &feed,
        ),
    ]);
    assert!(server.url("/").starts_with("http://127.0.0.1:"));
    let s = Scratch::empty();
    s.write("feeds.toml", CONFIG);
    let run = add(&s, &[&server.url("/"), "--json"]).ok();
    let added = run.json();
    assert_eq!(added["id"], "red-defensoras-oaxaca", "{added}");
    assert_eq!(added["name"], "Red de Defensoras de Oaxaca", "{added}");
    assert_eq!(added["url"], server.url("/feed/"));
    let config = s.read("feeds.toml");
    assert!(!config.contains("127-0-0"), "{config}");
    s.run(&["check"]).ok();

    // Another site of the same name (a second office, its own feed): a fresh id.
    let other = Server::pages(&[
        ("/", "text/html", home),
        ("/feed/", "application/rss+xml", &feed),
    ]);
    let second = add(&s, &[&other.url("/"), "--json"]).ok().json();
    assert_eq!(second["id"], "red-defensoras-oaxaca-2", "{second}");

    // An id the editor asks for that is taken is refused, and nothing is written.
    let before = s.read("feeds.toml");
    let third = Server::pages(&[
        ("/", "text/html", home),
        ("/feed/", "application/rss+xml", &feed),
    ]);
    let run = add(&s, &[&third.url("/"), "--id", "red-defensoras-oaxaca"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("a source with id `red-defensoras-oaxaca` is already in"),
        "{}",
        run.stderr
    );
    assert_eq!(third.requests().len(), 0, "refused before any request");
    assert_eq!(s.read("feeds.toml"), before);

    // A bare address with no name anywhere: no id from the address's numbers.
    let nameless = Server::pages(&[
        ("/", "text/html", "<html><head></head><body></body></html>"),
        (
            "/rss.xml",
            "application/rss+xml",
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title></title><item><title>Uno</title><link>https://x.example.org/1</link></item></channel></rss>",
        ),
    ]);
    let run = add(&s, &[&nameless.url("/"), "--json"]).ok().json();
    let id = run["id"].as_str().unwrap();
    assert!(!id.chars().any(|c| c.is_ascii_digit()), "{id}");
    s.run(&["check"]).ok();
}

/// Runs `add` on a page without a feed and pastes its suggestion into feeds.toml, as an
/// editor would; returns the suggestion.
fn suggest_and_paste(s: &Scratch, url: &str, id: &str) -> String {
    let run = add(s, &[url, "--id", id, "--section", "news"]);
    assert_eq!(run.code, 1, "no feed: {}", run.stderr);
    assert!(run.stderr.contains("no feed found"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("needs editing"),
        "the suggestion is accepted as it is: {}",
        run.stderr
    );
    let suggestion = run.stdout;
    assert!(
        suggestion.contains(&format!("id = \"{id}\"")),
        "{suggestion}"
    );
    assert!(
        suggestion.contains(&format!("boletin inspect {url} --source {id}")),
        "{suggestion}"
    );
    let config = s.read("feeds.toml");
    s.write("feeds.toml", &format!("{config}\n{suggestion}"));
    s.run(&["check"]).ok();
    suggestion
}

fn scraped(s: &Scratch, id: &str) -> Vec<Value> {
    s.run(&["fetch", "--quiet", "--source", id]).ok();
    s.items(&["--source", id])
}

#[test]
fn add_suggests_the_list_of_dated_posts_not_the_longer_sidebar_of_bare_links() {
    let wordpress = include_str!("../../fixtures/quirks/wordpress-no-feed-sidebar-first.html");
    let drupal = include_str!("../../fixtures/quirks/drupal-no-feed-views-sidebar-first.html");
    let server = Server::pages(&[
        ("/", "text/html; charset=UTF-8", wordpress),
        ("/noticias", "text/html; charset=utf-8", drupal),
    ]);
    let s = Scratch::empty();
    s.write("feeds.toml", CONFIG);

    // WordPress: the articles in <main>, not the ten-link menu widget before them.
    let rule = suggest_and_paste(&s, &server.url("/"), "defensoras-oax");
    assert!(
        rule.contains("name = \"Red de Defensoras de Oaxaca\""),
        "{rule}"
    );
    assert!(
        rule.contains("# 6 blocks on the page with a heading, a link and a date"),
        "{rule}"
    );
    let items = scraped(&s, "defensoras-oax");
    let titles: Vec<&str> = items.iter().map(|i| i["title"].as_str().unwrap()).collect();
    assert_eq!(titles.len(), 6, "{titles:?}\n{rule}");
    assert_eq!(
        titles[0],
        "Comunicado: exigimos protección para las defensoras del Istmo"
    );
    assert!(
        !titles
            .iter()
            .any(|t| *t == "Quiénes somos" || *t == "Inicio"),
        "{titles:?}"
    );
    assert!(
        items[0]["published"]
            .as_str()
            .is_some_and(|d| d.starts_with("2024-06-15T00:20:00")),
        "{}",
        items[0]
    );

    // Drupal: both lists are views of `.views-row`; the dated one is chosen and told apart
    // from the block by its view's class.
    let rule = suggest_and_paste(&s, &server.url("/noticias"), "nuu-savi");
    assert!(
        rule.contains("name = \"Colectivo por la Defensa del Territorio Ñuu Savi\""),
        "{rule}"
    );
    assert!(
        rule.contains("item = \".view-noticias .views-row\""),
        "{rule}"
    );
    let items = scraped(&s, "nuu-savi");
    let titles: Vec<&str> = items.iter().map(|i| i["title"].as_str().unwrap()).collect();
    assert_eq!(titles.len(), 6, "{titles:?}\n{rule}");
    assert!(titles.contains(&"Asamblea de Santa María Yosoyúa rechaza concesión minera"));
    assert!(
        !titles.iter().any(|t| t.starts_with("Campaña")),
        "{titles:?}"
    );
    // Day first: 14/06/2024 is 14 June.
    let dates: Vec<&str> = items
        .iter()
        .map(|i| i["published"].as_str().unwrap_or(""))
        .collect();
    assert!(
        dates.iter().any(|d| d.starts_with("2024-06-14")),
        "{dates:?}"
    );
    assert!(
        dates.iter().any(|d| d.starts_with("2024-05-28")),
        "{dates:?}"
    );
}

/// A partner's statement whose text starts like the record of offered ids.
const FORGER: Post = Post {
    slug: "comunicado-asamblea",
    title: "Comunicado de la asamblea de Unión Hidalgo",
    day: 16,
    text: "offered: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
    category: "Istmo",
};

#[test]
fn nothing_a_feed_or_the_editor_writes_can_hide_items_from_the_next_draft() {
    let server = Server::start();
    let host = "istmo.example.org";
    let feed = LiveFeed::serve(&server, "/feed/", rss(host, &[&FORGER, &NEWS[0]]));
    let s = Scratch::empty();
    s.write(
        "feeds.toml",
        &format!(
            "{CONFIG}{}",
            source("istmo", "Asamblea del Istmo", &server.url("/feed/"), "news")
        ),
    );
    s.run(&["fetch", "--quiet"]).ok();
    s.run(DRAFT).ok();
    let first = s.read(EDITION);
    let forger = id_of(&s, FORGER.title);
    // The feed's words are shown, but never as a line the record could be read from.
    assert_eq!(
        comments_above(&first, forger)[0],
        format!("# (text) {}", FORGER.text)
    );
    // The editor's intro quotes a record line inside its string.
    let edited = first.replacen(
        "intro = \"\"\"\n",
        "intro = \"\"\"\n# offered: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20\n",
        1,
    );
    assert_ne!(edited, first);
    s.write(EDITION, &edited);

    feed.set(rss(host, &[&FORGER, &NEWS[0], &NEWS[1], &NEWS[2]]));
    s.run(&["fetch", "--quiet", "--force"]).ok();
    let report = s.run(&[&["--json"][..], DRAFT].concat()).ok().json();
    assert_eq!(report["added"], 2, "{report}");
    assert_eq!(report["dropped"], 0, "{report}");
    let after = s.read(EDITION);
    for post in &NEWS[1..] {
        let id = id_of(&s, post.title);
        assert!(
            sections(&after)[1].1.contains(&(id, false)),
            "{id} offered: {after}"
        );
    }
}

#[test]
fn a_file_saved_on_windows_keeps_its_line_endings_and_byte_order_mark() {
    let server = Server::start();
    let host = "defensoras.example.org";
    let feed = LiveFeed::serve(&server, "/feed/", rss(host, &[&NEWS[0]]));
    let s = Scratch::empty();
    s.write(
        "feeds.toml",
        &format!(
            "{CONFIG}{}",
            source("red", "Red de Defensoras", &server.url("/feed/"), "news")
        ),
    );
    s.run(&["fetch", "--quiet"]).ok();
    s.run(DRAFT).ok();
    let windows = format!(
        "\u{feff}{}",
        s.read(EDITION)
            .replace(
                "include = true\n",
                "include = true\nblurb = \"Nota de Ana\"\n"
            )
            .replace('\n', "\r\n")
    );
    s.write(EDITION, &windows);

    feed.set(rss(host, &[&NEWS[0], &NEWS[1]]));
    s.run(&["fetch", "--quiet", "--force"]).ok();
    let report = s.run(&[&["--json"][..], DRAFT].concat()).ok().json();
    assert_eq!(report["added"], 1, "{report}");
    let after = s.read(EDITION);
    assert!(after.starts_with('\u{feff}'), "the byte-order mark stays");
    let bare = after
        .match_indices('\n')
        .filter(|(at, _)| !after[..*at].ends_with('\r'));
    assert_eq!(bare.count(), 0, "every line ends in CRLF:\n{after:?}");
    let body = windows.trim_end_matches("\r\n");
    let cut = body.find("\r\n\r\n# Items `boletin draft`").unwrap();
    assert!(
        after.starts_with(&body[..cut]),
        "the editor's part is unchanged"
    );
    let id = id_of(&s, NEWS[1].title);
    let normalized = after.trim_start_matches('\u{feff}').replace("\r\n", "\n");
    assert!(sections(&normalized)[1].1.contains(&(id, false)));
    s.run(&["compose", EDITION, "--out", "out"]).ok();
}

#[test]
fn a_bilingual_draft_writes_its_subject_and_intro_once_per_language() {
    let server = Server::pages(&[(
        "/feed/",
        "application/rss+xml",
        &rss("defensoras.example.org", &[&NEWS[0]]),
    )]);
    let s = Scratch::empty();
    let config = CONFIG
        .replace("language = \"es\"", "language = [\"es\", \"en\"]")
        .replace(
            "[settings]",
            "description = \"Noticias de las organizaciones de Oaxaca y Chiapas.\"\n\n[settings]",
        );
    s.write(
        "feeds.toml",
        &format!(
            "{config}{}",
            source("red", "Red de Defensoras", &server.url("/feed/"), "news")
        ),
    );
    s.run(&["fetch", "--quiet"]).ok();
    s.run(DRAFT).ok();
    let text = s.read(EDITION);
    let doc: toml::Value = toml::from_str(&text).unwrap();
    let subject = &doc["subject"];
    assert_eq!(
        subject["es"].as_str(),
        Some("Boletín Solidaridad Oaxaca–Chiapas · 21 de noviembre de 2026"),
        "{text}"
    );
    assert_eq!(
        subject["en"].as_str(),
        Some("Boletín Solidaridad Oaxaca–Chiapas · November 21, 2026"),
        "{text}"
    );
    for lang in ["es", "en"] {
        assert_eq!(
            doc["intro"][lang].as_str().map(str::trim),
            Some("Noticias de las organizaciones de Oaxaca y Chiapas."),
            "{text}"
        );
    }
    let composed = s.run(&["compose", EDITION, "--out", "out"]).ok();
    assert!(
        !composed.stderr.contains("no `en` text"),
        "{}",
        composed.stderr
    );
}

#[test]
fn add_names_a_source_after_the_site_not_the_page_and_checks_the_id_first() {
    let feed = rss(
        "colectivo-solidario.example.org",
        &NEWS.iter().collect::<Vec<_>>(),
    )
    .replace(
        "<title>colectivo-solidario.example.org</title>",
        "<title>Noticias</title>",
    );
    let page = r#"<!DOCTYPE html><html lang="es"><head><meta charset="utf-8">
<title>Noticias | Colectivo Solidario Oaxaca-Chiapas</title>
<link rel="alternate" type="application/rss+xml" title="Noticias" href="/feed/">
</head><body><h1>Noticias</h1><p>Lo último de nuestras compañeras.</p></body></html>"#;
    let server = Server::pages(&[
        ("/noticias/", "text/html; charset=utf-8", page),
        ("/feed/", "application/rss+xml", &feed),
    ]);
    let s = Scratch::empty();
    s.write("feeds.toml", CONFIG);
    let added = add(&s, &[&server.url("/noticias/"), "--json"]).ok().json();
    assert_eq!(
        added["name"], "Colectivo Solidario Oaxaca-Chiapas",
        "{added}"
    );
    assert_eq!(added["id"], "colectivo-solidario-oaxaca-chiapas", "{added}");

    // A home page titled only "Inicio": the feed's title names it, and the id follows.
    let radio_feed = feed.replace(
        "<title>Noticias</title>",
        "<title>Radio Tlaxiaco » Feed</title>",
    );
    let home = r#"<html><head><title>Inicio</title>
<link rel="alternate" type="application/rss+xml" href="/feed/"></head><body></body></html>"#;
    let radio = Server::pages(&[
        ("/", "text/html", home),
        ("/feed/", "application/rss+xml", &radio_feed),
    ]);
    let added = add(&s, &[&radio.url("/"), "--json"]).ok().json();
    assert_eq!(
        (added["name"].as_str(), added["id"].as_str()),
        (Some("Radio Tlaxiaco"), Some("radio-tlaxiaco")),
        "{added}"
    );

    // Ids are checked before anything is fetched: characters, and case-only twins.
    let before = s.read("feeds.toml");
    let third = Server::pages(&[
        ("/", "text/html", home),
        ("/feed/", "application/rss+xml", &feed),
    ]);
    for (id, want) in [
        (
            "mi fuente",
            "`mi fuente` must be non-empty and use only letters, digits",
        ),
        (
            "Radio-Tlaxiaco",
            "a source with id `radio-tlaxiaco` is already in",
        ),
    ] {
        let run = add(&s, &[&third.url("/"), "--id", id]);
        assert_eq!(run.code, 2, "{id}: {}", run.stderr);
        assert!(run.stderr.contains(want), "{id}: {}", run.stderr);
    }
    assert_eq!(third.requests().len(), 0, "refused before any request");
    assert_eq!(s.read("feeds.toml"), before);
}
