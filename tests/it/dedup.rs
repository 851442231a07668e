//! One story once. The labelled cross-post sets (precision and recall): pairs judged one by
//! one, and networks' feeds that repeat their boilerplate, fetched whole by the binary; a
//! shared footer makes no story however the items arrive; candidates stay bounded on a
//! store of near-identical templated items; the editor's splits and merges survive
//! re-annotation and fetches; the demo's two cross-posts folded by `items`, tombstones
//! (editor removal and retention), GUID reuse, and updates in place that ignore
//! cache-busting noise.

use std::collections::{HashMap, HashSet};

use boletin::annotate::dedup;
use boletin::ingest::normalize::link_key;
use proptest::prelude::*;
use serde_json::Value;

use crate::common::{EDITION, Scratch, manifest_dir};

fn sig(v: &serde_json::Value) -> dedup::Signature {
    let link = v["link"]
        .as_str()
        .and_then(|l| url::Url::parse(l).ok())
        .map(|u| link_key(&u));
    dedup::signature(
        link,
        v["title"].as_str().unwrap_or_default(),
        v["text"].as_str().unwrap_or_default(),
        v["date"].as_i64().unwrap_or_default(),
    )
}

#[test]
fn labelled_cross_posts_precision_and_recall() {
    let path = manifest_dir().join("fixtures/dedup/pairs.json");
    let pairs: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(pairs.len() >= 60);
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let mut misses = Vec::new();
    // The closest a negative came to the text thresholds, for the README.
    let mut closest = (0.0f64, 0.0f64);
    for p in &pairs {
        let (a, b) = (sig(&p["a"]), sig(&p["b"]));
        // The store only compares pairs its indexes bring together (same link, same title,
        // or shared LSH bands): a pair counts as found only if it is a candidate too.
        let verdict = dedup::same_story(&a, &b).filter(|_| dedup::is_candidate(&a, &b));
        let truth = p["same"].as_bool().unwrap();
        if !truth {
            let c = dedup::compare(&a, &b, &Default::default());
            closest = (closest.0.max(c.jaccard), closest.1.max(c.containment));
        }
        match (verdict.is_some(), truth) {
            (true, true) => tp += 1,
            (true, false) => {
                fp += 1;
                misses.push(format!("false positive ({verdict:?}): {}", p["kind"]));
            }
            (false, true) => {
                fn_ += 1;
                misses.push(format!("missed: {} — {}", p["kind"], p["a"]["title"]));
            }
            (false, false) => {}
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    println!(
        "dedup: {} pairs ({} cross-posts), precision {precision:.3}, recall {recall:.3}; \
         highest negative resemblance {:.2}, containment {:.2}; {misses:#?}",
        pairs.len(),
        tp + fn_,
        closest.0,
        closest.1
    );
    assert!(precision >= 0.99, "precision {precision:.3}: {misses:#?}");
    assert!(recall >= 0.9, "recall {recall:.3}: {misses:#?}");
}

/// XML text content.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One RSS feed per source of a labelled set (`sources`: id, name, site, items with key,
/// title, link, RFC 3339 date, summary HTML and optional content HTML), and a config naming
/// them; `extra_config` goes under `[newsletter]`.
fn write_feeds(s: &Scratch, sources: &[Value], extra_config: &str) {
    let mut config = format!(
        "[newsletter]\ntitle = \"Boletín\"\nfrom = \"Boletín <boletin@example.org>\"\n{extra_config}\n\
         [[section]]\nid = \"news\"\ntitle = \"Noticias\"\n"
    );
    for src in sources {
        let id = src["id"].as_str().unwrap();
        let site = src["site"].as_str().unwrap();
        let mut rss = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" \
             xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel><title>{}</title>\
             <link>{site}</link><description>Noticias</description>\n",
            xml(src["name"].as_str().unwrap())
        );
        for it in src["items"].as_array().unwrap() {
            let date = chrono::DateTime::parse_from_rfc3339(it["date"].as_str().unwrap()).unwrap();
            rss.push_str(&format!(
                "<item><title>{}</title><link>{}</link><guid isPermaLink=\"false\">{}</guid>\
                 <pubDate>{}</pubDate><description><![CDATA[{}]]></description>",
                xml(it["title"].as_str().unwrap()),
                xml(it["link"].as_str().unwrap()),
                it["key"].as_str().unwrap(),
                date.to_rfc2822(),
                it["summary"].as_str().unwrap()
            ));
            if let Some(content) = it["content"].as_str() {
                rss.push_str(&format!(
                    "<content:encoded><![CDATA[{content}]]></content:encoded>"
                ));
            }
            rss.push_str("</item>\n");
        }
        rss.push_str("</channel></rss>\n");
        s.write(&format!("{id}.xml"), &rss);
        config.push_str(&format!(
            "\n[[source]]\nid = \"{id}\"\nname = \"{}\"\nurl = \"{id}.xml\"\nsite = \"{site}\"\nsection = \"news\"\n",
            src["name"].as_str().unwrap().replace('"', "'")
        ));
    }
    s.write("feeds.toml", &config);
}

/// Every stored item by `source/key` (the link is the site, the key and a slash), with the
/// story it was put in (its primary's id, or its own).
fn stories(s: &Scratch, sources: &[Value]) -> HashMap<String, (i64, i64)> {
    let stored = s.items(&["--all"]);
    let by_link: HashMap<&str, &Value> = stored
        .iter()
        .map(|i| (i["link"].as_str().unwrap_or_default(), i))
        .collect();
    let mut out = HashMap::new();
    for src in sources {
        for it in src["items"].as_array().unwrap() {
            let name = format!(
                "{}/{}",
                src["id"].as_str().unwrap(),
                it["key"].as_str().unwrap()
            );
            let found = by_link
                .get(it["link"].as_str().unwrap())
                .unwrap_or_else(|| panic!("{name} was not stored"));
            let id = found["id"].as_i64().unwrap();
            out.insert(name, (id, found["duplicate_of"].as_i64().unwrap_or(id)));
        }
    }
    out
}

/// (true positives, false positives, false negatives) and what went wrong.
fn score<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str, bool, &'a str)>,
    stories: &HashMap<String, (i64, i64)>,
) -> ((usize, usize, usize), Vec<String>) {
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    let mut wrong = Vec::new();
    for (a, b, same, kind) in pairs {
        let folded = stories[a].1 == stories[b].1;
        match (folded, same) {
            (true, true) => tp += 1,
            (true, false) => {
                fp += 1;
                wrong.push(format!("folded, should not: {a} ~ {b} ({kind})"));
            }
            (false, true) => {
                fn_ += 1;
                wrong.push(format!("missed: {a} ~ {b} ({kind})"));
            }
            (false, false) => {}
        }
    }
    ((tp, fp, fn_), wrong)
}

fn ratios((tp, fp, fn_): (usize, usize, usize)) -> (f64, f64) {
    (
        tp as f64 / (tp + fp).max(1) as f64,
        tp as f64 / (tp + fn_).max(1) as f64,
    )
}

#[test]
fn networks_boilerplate_precision_and_recall() {
    let path = manifest_dir().join("fixtures/dedup/boilerplate-pairs.json");
    let set: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let sources = set["sources"].as_array().unwrap();
    let pairs = set["pairs"].as_array().unwrap();
    assert!(pairs.len() >= 150);
    let s = Scratch::empty();
    write_feeds(&s, sources, "");
    s.run(&["fetch", "--quiet", "--now", "2026-11-21"]).ok();
    let stories = stories(&s, sources);

    let labelled = pairs.iter().map(|p| {
        (
            p["a"].as_str().unwrap(),
            p["b"].as_str().unwrap(),
            p["same"].as_bool().unwrap(),
            p["kind"].as_str().unwrap(),
        )
    });
    let (counts, wrong) = score(labelled, &stories);
    let (precision, recall) = ratios(counts);
    // Every other pair of items from two sources, labelled by the story each tells.
    let mut all = Vec::new();
    let items: Vec<(String, String)> = sources
        .iter()
        .flat_map(|src| {
            src["items"].as_array().unwrap().iter().map(move |it| {
                (
                    format!(
                        "{}/{}",
                        src["id"].as_str().unwrap(),
                        it["key"].as_str().unwrap()
                    ),
                    it["story"].as_str().unwrap().to_string(),
                )
            })
        })
        .collect();
    for (n, (a, sa)) in items.iter().enumerate() {
        for (b, sb) in &items[n + 1..] {
            if a.split('/').next() != b.split('/').next() {
                all.push((a.as_str(), b.as_str(), sa == sb, "any two items"));
            }
        }
    }
    let (all_counts, all_wrong) = score(all.iter().copied(), &stories);
    let (all_precision, all_recall) = ratios(all_counts);
    println!(
        "networks' boilerplate: {} labelled pairs ({} cross-posts): precision {precision:.3}, \
         recall {recall:.3}; all {} pairs of items from two sources: precision {all_precision:.3}, \
         recall {all_recall:.3}; {wrong:#?}",
        pairs.len(),
        counts.0 + counts.2,
        all.len()
    );
    assert!(precision >= 0.99, "precision {precision:.3}: {wrong:#?}");
    assert!(recall >= 0.9, "recall {recall:.3}: {wrong:#?}");
    assert!(all_precision >= 0.99, "{all_wrong:#?}");
}

/// The coalition set: each scenario (a coalition's template, a campaign call among few
/// members or members arriving over several fetches, a generic headline, a story retitled
/// by many partners, an aggregator, one link in many forms, items stored newest first) in a
/// store of its own, its sources added fetch by fetch; every pair of items from two sources
/// scored by the story each tells.
#[test]
fn coalitions_campaigns_and_retitled_stories_precision_and_recall() {
    let path = manifest_dir().join("fixtures/dedup/coalition-pairs.json");
    let scenarios: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(scenarios.len() >= 15);
    let (mut total, mut pairs) = ((0, 0, 0), 0);
    let mut lines = Vec::new();
    for sc in &scenarios {
        let sources = sc["sources"].as_array().unwrap();
        let s = Scratch::empty();
        write_feeds(&s, sources, "");
        // A fetch of some sources: the store grows as it would as partners are added (a
        // changed config would annotate everything again).
        for fetch in sc["fetches"].as_array().unwrap() {
            let mut args = vec!["fetch", "--quiet", "--now", "2026-11-21"];
            for id in fetch.as_array().unwrap() {
                args.extend(["--source", id.as_str().unwrap()]);
            }
            s.run(&args).ok();
        }
        // Items are found by source and title: links are stored in their canonical form.
        let stored = s.items(&["--all"]);
        let mut stories = HashMap::new();
        let mut labelled = Vec::new();
        for src in sources {
            let id = src["id"].as_str().unwrap();
            for it in src["items"].as_array().unwrap() {
                let found = stored
                    .iter()
                    .find(|i| i["source_id"] == id && i["title"] == it["title"])
                    .unwrap_or_else(|| panic!("{id}: «{}» was not stored", it["title"]));
                let n = found["id"].as_i64().unwrap();
                let name = format!("{id}/{}", it["key"].as_str().unwrap());
                stories.insert(
                    name.clone(),
                    (n, found["duplicate_of"].as_i64().unwrap_or(n)),
                );
                labelled.push((name, it["story"].as_str().unwrap().to_string()));
            }
        }
        let mut all = Vec::new();
        for (n, (a, sa)) in labelled.iter().enumerate() {
            for (b, sb) in &labelled[n + 1..] {
                if a.split('/').next() != b.split('/').next() {
                    all.push((a.as_str(), b.as_str(), sa == sb, "any two items"));
                }
            }
        }
        pairs += all.len();
        let ((tp, fp, fn_), wrong) = score(all.iter().copied(), &stories);
        total = (total.0 + tp, total.1 + fp, total.2 + fn_);
        lines.push(format!(
            "{}: {tp} folded right, {fp} wrongly, {fn_} missed{}",
            sc["name"].as_str().unwrap(),
            if wrong.is_empty() {
                String::new()
            } else {
                format!(" {:?}", &wrong[..wrong.len().min(4)])
            }
        ));
    }
    let (precision, recall) = ratios(total);
    println!(
        "coalitions, campaigns and retitled stories: {} scenarios, {pairs} pairs of items from two \
         sources ({} the same story): precision {precision:.3}, recall {recall:.3}\n{}",
        scenarios.len(),
        total.0 + total.2,
        lines.join("\n")
    );
    assert!(pairs >= 150);
    assert!(
        precision >= 0.99,
        "precision {precision:.3}\n{}",
        lines.join("\n")
    );
    assert!(recall >= 0.9, "recall {recall:.3}\n{}", lines.join("\n"));
}

/// Words for bodies that differ from item to item (a wide vocabulary: chance trigrams are
/// rare, as in real prose).
const WORDS: &str = "asamblea comunidad ejido territorio defensora defensor agua río bosque mina \
    concesión consulta fiscalía juez amparo tribunal policía guardia ejército retén albergue \
    caravana madres familias desplazadas escuela clínica partera radio cooperativa café maíz \
    milpa semilla lluvia sequía manantial pozo carretera tren puerto presa parque eólico \
    tierra comunal agrario comisariado autoridades municipio estado federación denuncia queja \
    informe testimonio audiencia sentencia medida protección amenaza hostigamiento detención \
    desaparición búsqueda fosa identificación peritaje forense memoria justicia verdad reparación \
    marcha plantón bloqueo foro taller encuentro jornada mujeres jóvenes niñas ancianos pueblo \
    zapoteco mixe chatino mixteco tsotsil tseltal chol tojolabal purépecha wixárika rarámuri \
    náhuatl mazateco chinanteco triqui amuzgo zoque huave chontal otomí mazahua garífuna maya \
    lunes martes miércoles jueves viernes sábado domingo enero febrero marzo abril mayo junio \
    julio agosto septiembre octubre noviembre diciembre mañana tarde noche madrugada semana";

fn vocabulary() -> Vec<&'static str> {
    WORDS.split_whitespace().collect()
}

/// A source of a labelled set, as `write_feeds` reads it.
fn source_json(id: &str, name: &str, items: Vec<Value>) -> Value {
    serde_json::json!({
        "id": id, "name": name, "site": format!("https://{id}.example.org/"), "items": items,
    })
}

const FOOTERS: [&str; 3] = [
    "Red Nacional de Defensoras y Defensores Comunitarios «Tierra y Libertad» · 64 organizaciones en \
     19 estados · Suscríbete a nuestras acciones urgentes · Síguenos en Facebook, X e Instagram. \
     Invitamos a difundir esta información y a enviar cartas a las autoridades señaladas. Leer más.",
    "Se convoca a la Jornada Global de Solidaridad con las Personas Defensoras de la Tierra el \
     próximo 10 de diciembre: organiza una acción en tu ciudad, regístrala en el mapa de la campaña \
     y comparte las fotografías. Firma la petición · Comparte en Facebook · Twitter · WhatsApp.",
    "Mesoamerica Solidarity Network · Please write to the authorities listed above, urging them to \
     guarantee the safety of the defenders and to carry out a prompt, thorough and impartial \
     investigation. Share this alert: Facebook · Twitter · Email · Donate to our rapid response fund.",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// However many items share a footer, from however many sources, and whatever else
    /// each says, the footer makes no story among them.
    #[test]
    fn a_shared_footer_makes_no_story(
        posts in prop::collection::vec(
            (
                0usize..6,
                prop::collection::vec(prop::sample::select(vocabulary()), 30..70),
                prop::collection::vec(prop::sample::select(vocabulary()), 4..8),
            ),
            2..16,
        ),
        footer in 0usize..FOOTERS.len(),
    ) {
        // Each post: its source, its own words, its title's words.
        let mut by_source: Vec<Vec<Value>> = vec![Vec::new(); 6];
        for (n, (source, own, title)) in posts.iter().enumerate() {
            let body = format!("<p>{}.</p><p>{}</p>", own.join(" "), FOOTERS[footer]);
            by_source[*source].push(serde_json::json!({
                "key": format!("n{n}"),
                "title": format!("Nota {n}: {}", title.join(" ")),
                "link": format!("https://org{source}.example.org/n{n}/"),
                "date": format!("2026-11-{:02}T12:00:00Z", 10 + n % 5),
                "summary": body,
                "content": null,
            }));
        }
        let sources: Vec<Value> = by_source
            .into_iter()
            .enumerate()
            .filter(|(_, items)| !items.is_empty())
            .map(|(k, items)| source_json(&format!("org{k}"), &format!("Organización {k}"), items))
            .collect();
        let s = Scratch::empty();
        write_feeds(&s, &sources, "");
        s.run(&["fetch", "--quiet", "--now", "2026-11-21"]).ok();
        let stored = s.items(&["--all"]);
        prop_assert_eq!(stored.len(), posts.len());
        let copies: Vec<&Value> = stored.iter().filter(|i| !i["duplicate_of"].is_null()).collect();
        prop_assert!(copies.is_empty(), "{:#?}", copies);
    }
}

#[test]
fn candidates_stay_bounded_on_ten_thousand_templated_items() {
    // 5,000 sources × 2 items, one frame, one title, a case number the only difference: too
    // few items per source to flag the frame, one title so it is no boilerplate across
    // sources either. Every item's keys are carried by all the others.
    let sources: Vec<Value> = (0..5000)
        .map(|k| {
            let items: Vec<Value> = (0..2)
                .map(|i| {
                    let n = k * 2 + i;
                    serde_json::json!({
                        "key": format!("au-{i}"),
                        "title": "Acción urgente: amenazas contra personas defensoras en la Montaña",
                        "link": format!("https://red{k}.example.org/au-{i}/"),
                        "date": format!("2026-11-{:02}T{:02}:00:00Z", 1 + n % 20, n % 24),
                        "summary": format!(
                            "<p>ACCIÓN URGENTE. La Red Nacional de Defensoras y Defensores \
                             Comunitarios expresa su profunda preocupación por el caso número {n} \
                             de amenazas contra personas defensoras en la Montaña de Guerrero.</p>\
                             <p>{}</p>",
                            FOOTERS[0]
                        ),
                        "content": null,
                    })
                })
                .collect();
            source_json(&format!("red{k}"), &format!("Red {k}"), items)
        })
        .collect();
    let s = Scratch::empty();
    write_feeds(&s, &sources, "");
    let run = s
        .run(&["fetch", "--json", "--now", "2026-11-21"])
        .ok()
        .json();
    let annotation = &run["annotation"];
    assert_eq!(annotation["annotated"], 10_000, "{annotation}");
    let most = annotation["max_candidates"].as_u64().unwrap();
    println!(
        "10,000 near-identical items: at most {most} candidates judged per item; {annotation}"
    );
    assert_eq!(
        most as usize,
        dedup::CANDIDATES,
        "the cap is reached and holds"
    );
}

/// The demo's item whose title starts with `title`, from `source`.
fn demo_item<'a>(items: &'a [Value], source: &str, title: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["source_id"] == source && i["title"].as_str().unwrap().starts_with(title))
        .unwrap_or_else(|| panic!("no {source} item «{title}»"))
}

#[test]
fn splits_and_merges_survive_re_annotation_and_fetches() {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();
    let all = s.items(&["--all"]);
    let copy = demo_item(&all, "frontera-digna", "Acción urgente: amenazas");
    let primary = copy["duplicate_of"]
        .as_i64()
        .expect("the demo's cross-post is folded");
    let copy_id = copy["id"].as_i64().unwrap();
    let aguan = demo_item(&all, "red-defensoras", "Honduras: women defenders")["id"]
        .as_i64()
        .unwrap();
    let aldama = demo_item(&all, "cdh-altos", "Aldama y Chenalhó")["id"]
        .as_i64()
        .unwrap();

    // why: the reason, the score and the text shared beyond boilerplate.
    let why = s
        .run(&["items", "why", &copy_id.to_string(), "--json"])
        .ok()
        .json();
    assert_eq!(why["primary"], primary, "{why}");
    assert_eq!(why["reason"], "link", "{why}");
    assert_eq!(why["compared"][0]["id"], primary, "{why}");
    let shared = why["compared"][0]["shared_text"][0].as_str().unwrap();
    assert!(shared.contains("Ixtepec"), "{shared}");
    let text = s.run(&["items", "why", &copy_id.to_string()]).ok().stdout;
    assert!(text.contains(&format!("a copy of #{primary}")), "{text}");
    assert!(text.contains("shared: «"), "{text}");
    let alone = s.run(&["items", "why", &aguan.to_string()]).ok().stdout;
    assert!(alone.contains("stands alone"), "{alone}");
    let bad = s.run(&["items", "why", "99999"]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("no item with id 99999"),
        "{}",
        bad.stderr
    );

    let split = s
        .run(&["items", "split", &copy_id.to_string(), "--json"])
        .ok()
        .json();
    assert_eq!(split["kept_apart"], serde_json::json!([primary]), "{split}");
    let merged = s
        .run(&[
            "items",
            "merge",
            &aguan.to_string(),
            &aldama.to_string(),
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(
        merged["merged"],
        serde_json::json!([aguan, aldama]),
        "{merged}"
    );
    let same = s.run(&["items", "merge", "3", "3"]);
    assert_eq!(same.code, 2, "{}", same.stderr);

    let check = |when: &str| {
        let all = s.items(&["--all"]);
        let by_id = |id: i64| all.iter().find(|i| i["id"] == id).unwrap().clone();
        let copy = by_id(copy_id);
        assert!(
            copy["duplicate_of"].is_null(),
            "{when}: split undone: {copy}"
        );
        assert_eq!(copy["kept_apart"], serde_json::json!([primary]), "{when}");
        let (a, b) = (by_id(aguan), by_id(aldama));
        let (later, earlier) = if a["duplicate_of"].is_null() {
            (b, a)
        } else {
            (a, b)
        };
        assert_eq!(later["duplicate_of"], earlier["id"], "{when}: merge undone");
        assert_eq!(later["duplicate_reason"], "editor", "{when}");
    };
    check("after the commands");
    // A changed excerpt length re-annotates every item; a fetch then changes the split
    // item's text.
    let config = s.read("feeds.toml");
    s.write(
        "feeds.toml",
        &config.replacen("[newsletter]", "[newsletter]\nexcerpt_words = 45", 1),
    );
    let run = s.run(&["fetch", "--json", "--force"]).ok().json();
    assert!(
        run["annotation"]["annotated"].as_u64().unwrap() >= 29,
        "{run}"
    );
    check("after re-annotation");
    let feed_path = "sources/jsonfeed.json";
    let feed = s.read(feed_path);
    assert!(feed.contains("Ciudad Ixtepec"));
    s.write(
        feed_path,
        &feed.replacen("Ciudad Ixtepec", "Ciudad Ixtepec, Oaxaca,", 1),
    );
    let run = s.run(&["fetch", "--json", "--force"]).ok().json();
    let updated: u64 = run["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["updated"].as_u64().unwrap_or(0))
        .sum();
    assert!(updated >= 1, "{run}");
    check("after a fetch that changed the split item");

    // The draft shows both corrections.
    s.run(&["draft", "--now", "2026-11-21"]).ok();
    let draft = s.read(EDITION);
    assert!(
        draft.contains(&format!("# kept apart by the editor from #{primary}")),
        "{draft}"
    );
    assert!(
        draft.contains("# joined to this story by the editor: #"),
        "{draft}"
    );
}

/// Stories as (item id → its story's primary) for every stored item.
fn roots(s: &Scratch) -> HashMap<i64, i64> {
    s.items(&["--all"])
        .iter()
        .map(|i| {
            let id = i["id"].as_i64().unwrap();
            (id, i["duplicate_of"].as_i64().unwrap_or(id))
        })
        .collect()
}

#[test]
fn a_campaign_call_folded_early_is_judged_again_once_more_members_post_it() {
    // Numbered headlines that name nothing, a line naming each case, the campaign's call:
    // three members' posts look like one text re-posted, until ten more post the call too.
    let names = [
        "Juan Pérez López",
        "María Santiz Girón",
        "Pedro Cruz Méndez",
        "Rosa Vázquez Luna",
        "Miguel Ortiz Reyes",
        "Lucía Nava Bautista",
        "José Torres Flores",
        "Ana Ramírez Castillo",
        "Carlos Aguilar Díaz",
        "Teresa Morales Ruiz",
        "Felipe Domínguez Sánchez",
        "Isabel Jiménez Zárate",
        "Andrés Velasco Gómez",
    ];
    let sources: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(k, who)| {
            source_json(
                &format!("miembro{k}"),
                &format!("Miembro {k}"),
                vec![serde_json::json!({
                    "key": "au",
                    "title": format!("Acción urgente n.º {}", 120 + k),
                    "link": format!("https://miembro{k}.example.org/au/"),
                    "date": format!("2026-11-{:02}T12:00:00Z", 10 + k % 5),
                    "summary": format!("<p>Caso de {who}.</p><p>{}</p>", FOOTERS[1]),
                    "content": null,
                })],
            )
        })
        .collect();
    let s = Scratch::empty();
    write_feeds(&s, &sources, "");
    let fetch = |from: usize, to: usize| {
        let ids: Vec<String> = (from..to).map(|k| format!("miembro{k}")).collect();
        let mut args = vec!["fetch", "--quiet", "--now", "2026-11-21"];
        for id in &ids {
            args.extend(["--source", id.as_str()]);
        }
        s.run(&args).ok();
    };
    fetch(0, 3);
    let early = roots(&s);
    let stories: HashSet<i64> = early.values().copied().collect();
    assert!(
        stories.len() < 3,
        "too little is known to tell yet: {early:?}"
    );
    fetch(3, names.len());
    let after = roots(&s);
    assert_eq!(after.len(), names.len());
    assert!(
        after.iter().all(|(id, root)| id == root),
        "the call recurs under thirteen headlines: no case is another's copy: {after:?}"
    );
}

#[test]
fn a_story_re_posted_whole_under_many_headlines_is_one_story() {
    let story = "<p>La madrugada del 9 de noviembre, un grupo de aproximadamente cuarenta \
        hombres armados irrumpió en la comunidad tseltal de Nuevo San Gregorio, municipio de \
        Huixtán, Chiapas, quemó seis viviendas y destruyó la milpa colectiva que sostiene a \
        veintidós familias.</p><p>Según los testimonios recogidos por el equipo de \
        documentación, los agresores pertenecen a un grupo de ganaderos de la región que desde \
        2019 reclama las tierras recuperadas por las bases de apoyo.</p>";
    let titles = [
        "Ataque armado en Nuevo San Gregorio, Huixtán: seis casas quemadas",
        "Quema de casas en Nuevo San Gregorio deja 22 familias sin techo",
        "Huixtán: desplazan a 22 familias tseltales de Nuevo San Gregorio",
        "Grupo armado ataca Nuevo San Gregorio",
        "Denuncian ataque armado contra bases de apoyo en Nuevo San Gregorio",
        "Nuevo San Gregorio bajo ataque: seis viviendas incendiadas",
        "Chiapas: familias tseltales huyen a la montaña tras ataque en Huixtán",
        "Nueva agresión en Nuevo San Gregorio, Huixtán",
    ];
    let sources: Vec<Value> = titles
        .iter()
        .enumerate()
        .map(|(k, title)| {
            let intro = if k == 0 {
                String::new()
            } else {
                "<p>Compartimos la denuncia que nos hicieron llegar.</p>".to_string()
            };
            source_json(
                &format!("medio{k}"),
                &format!("Medio {k}"),
                vec![serde_json::json!({
                    "key": "ataque",
                    "title": title,
                    "link": format!("https://medio{k}.example.org/ataque/"),
                    "date": format!("2026-11-10T{:02}:00:00Z", 8 + k),
                    "summary": format!("{intro}{story}"),
                    "content": null,
                })],
            )
        })
        .collect();
    // All at once, and one partner at a time: eight headlines of one story are not eight
    // posts sharing boilerplate.
    for one_by_one in [false, true] {
        let s = Scratch::empty();
        write_feeds(&s, &sources, "");
        if one_by_one {
            for k in 0..titles.len() {
                s.run(&["fetch", "--quiet", "--source", &format!("medio{k}")])
                    .ok();
            }
        } else {
            s.run(&["fetch", "--quiet"]).ok();
        }
        let stories: HashSet<i64> = roots(&s).values().copied().collect();
        assert_eq!(
            stories.len(),
            1,
            "one by one: {one_by_one}: {:?}",
            roots(&s)
        );
    }
}

/// `feeds.toml` of the demo with `source` (an RSS feed of one item) added.
fn add_source(s: &Scratch, id: &str, title: &str, link: &str, html: &str) {
    let rss = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>{id}</title>\
         <link>https://{id}.example.org/</link><description>x</description><item><title>{}</title>\
         <link>{link}</link><guid isPermaLink=\"false\">{id}-1</guid>\
         <pubDate>Thu, 19 Nov 2026 18:00:00 +0000</pubDate><description><![CDATA[{html}]]></description>\
         </item></channel></rss>",
        xml(title)
    );
    s.write(&format!("sources/{id}.xml"), &rss);
    let config = s.read("feeds.toml");
    s.write(
        "feeds.toml",
        &format!(
            "{config}\n[[source]]\nid = \"{id}\"\nname = \"{id}\"\nurl = \"sources/{id}.xml\"\n\
             kind = \"feed\"\nsection = \"urgent\"\nsite = \"https://{id}.example.org/\"\n"
        ),
    );
}

#[test]
fn an_exact_copy_of_a_split_item_goes_with_it_not_back_into_the_story() {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();
    let all = s.items(&["--all"]);
    let copy = demo_item(&all, "frontera-digna", "Acción urgente: amenazas");
    let copy_id = copy["id"].as_i64().unwrap();
    let primary = copy["duplicate_of"].as_i64().expect("folded by its link");
    s.run(&["items", "split", &copy_id.to_string()]).ok();
    // Two partners post Frontera Digna's item as it is: one with the link it carries (the
    // original's), one with a link of its own.
    let title = copy["title"].as_str().unwrap();
    let html = copy["content"].as_str().unwrap();
    let link = copy["link"].as_str().unwrap();
    add_source(&s, "eco-sur", title, link, html);
    add_source(&s, "espejo", title, "https://espejo.example.org/au/", html);
    s.run(&["fetch", "--quiet"]).ok();
    let all = s.items(&["--all"]);
    for partner in ["eco-sur", "espejo"] {
        let item = all.iter().find(|i| i["source_id"] == partner).unwrap();
        assert_eq!(
            item["duplicate_of"], copy_id,
            "{partner} joins the item it copies, not #{primary} it was split from: {item}"
        );
    }
    let copy = all.iter().find(|i| i["id"] == copy_id).unwrap();
    assert!(copy["duplicate_of"].is_null(), "the split holds: {copy}");
}

#[test]
fn merges_through_a_story_survive_re_annotation_whichever_item_is_placed_first() {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();
    let all = s.items(&["--all"]);
    let mut ids: Vec<i64> = [
        demo_item(&all, "red-defensoras", "Honduras: women defenders"),
        demo_item(&all, "cdh-altos", "Aldama y Chenalhó"),
        demo_item(&all, "colectivo-oaxaca", "Miles marchan"),
    ]
    .iter()
    .map(|i| i["id"].as_i64().unwrap())
    .collect();
    ids.sort_unstable();
    let [a, b, c] = [ids[0], ids[1], ids[2]];
    // The last joined to the middle one, then the first to the last: re-annotated in id
    // order, the last is placed when both others stand placed.
    s.run(&["items", "merge", &c.to_string(), &b.to_string()])
        .ok();
    s.run(&["items", "merge", &a.to_string(), &c.to_string()])
        .ok();
    let one_story = |when: &str| {
        let r = roots(&s);
        assert!(
            r[&a] == r[&b] && r[&b] == r[&c],
            "{when}: #{a} #{b} #{c} in {:?}",
            (r[&a], r[&b], r[&c])
        );
    };
    one_story("after the commands");
    let config = s.read("feeds.toml");
    s.write(
        "feeds.toml",
        &config.replacen("[newsletter]", "[newsletter]\nexcerpt_words = 41", 1),
    );
    s.run(&["fetch", "--quiet", "--force"]).ok();
    one_story("after re-annotation");
}

/// What three bulletins say besides the story they quote.
const OTHER_NEWS: [&str; 3] = [
    "<p>En Guelatao, el taller de radio comunitaria formó a veinte jóvenes zapotecos que ya \
     transmiten un programa semanal en su lengua. En Tlaxiaco, las parteras tradicionales \
     presentaron un informe sobre la falta de medicamentos en la clínica rural y pidieron una \
     mesa de trabajo con la Secretaría de Salud del estado.</p>",
    "<p>La feria del café de Pluma Hidalgo reunió a cooperativas de la Costa que venden sin \
     intermediarios. En Zimatlán, el comisariado ejidal denunció la tala clandestina en el \
     cerro y anunció rondas comunitarias; en Juchitán, familias damnificadas por el sismo \
     siguen esperando la reconstrucción de sus viviendas.</p>",
    "<p>El foro del agua en Zaachila acordó defender los pozos comunitarios frente a las \
     concesiones de riego. En Ixtepec, el albergue para migrantes recibió a trescientas \
     personas esta semana; en Tuxtepec, la asamblea de pescadores exigió limpiar el río \
     Papaloapan de los desechos del ingenio azucarero.</p>",
];

#[test]
fn why_tells_the_stored_decision_and_what_the_store_would_decide_now() {
    // A story's text, quoted under three other headlines before a partner re-posts it: the
    // re-post is placed alone (the text seemed to recur under many titles). The three go;
    // judged now, the re-post would be the story's copy: `why` says both.
    let story = "<p>La asamblea de Capulálpam de Méndez rechazó por unanimidad la reapertura de \
        la mina de oro y plata en la Sierra Juárez. Las comunidades zapotecas recuerdan que los \
        manantiales se secaron durante la última concesión y exigen que el gobierno federal \
        respete su derecho a la consulta previa, libre e informada antes de cualquier permiso.</p>";
    let item = |k: &str, title: &str, day: u32, extra: &str| {
        serde_json::json!({
            "key": k, "title": title, "link": format!("https://x.example.org/{k}/"),
            "date": format!("2026-11-{day:02}T12:00:00Z"),
            "summary": format!("{story}{extra}"), "content": null,
        })
    };
    let sources = vec![
        source_json(
            "sierra",
            "Sierra",
            vec![item(
                "mina",
                "Capulálpam rechaza la reapertura de la mina en la Sierra Juárez",
                10,
                "",
            )],
        ),
        source_json(
            "boletin1",
            "B1",
            vec![item("b1", "Lo que pasó esta quincena", 11, OTHER_NEWS[0])],
        ),
        source_json(
            "boletin2",
            "B2",
            vec![item("b2", "Resumen de quince días", 11, OTHER_NEWS[1])],
        ),
        source_json(
            "boletin3",
            "B3",
            vec![item("b3", "Agenda y noticias breves", 11, OTHER_NEWS[2])],
        ),
        source_json(
            "eco",
            "Eco",
            vec![item(
                "eco",
                "Capulálpam dice no a la mina en la Sierra Juárez",
                12,
                "",
            )],
        ),
    ];
    let s = Scratch::empty();
    write_feeds(&s, &sources, "");
    for id in ["sierra", "boletin1", "boletin2", "boletin3", "eco"] {
        s.run(&["fetch", "--quiet", "--source", id]).ok();
    }
    let all = s.items(&["--all"]);
    let id_of = |src: &str| {
        all.iter().find(|i| i["source_id"] == src).unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (sierra, eco) = (id_of("sierra"), id_of("eco"));
    let quotes: Vec<String> = ["boletin1", "boletin2", "boletin3"]
        .iter()
        .map(|b| id_of(b).to_string())
        .collect();
    let roots_before = roots(&s);
    assert_eq!(roots_before[&eco], eco, "placed alone: {roots_before:?}");
    let mut remove = vec!["items", "remove"];
    remove.extend(quotes.iter().map(String::as_str));
    s.run(&remove).ok();

    let json = s
        .run(&["items", "why", &eco.to_string(), "--json"])
        .ok()
        .json();
    assert!(json["primary"].is_null(), "{json}");
    assert_eq!(json["agrees"], false, "{json}");
    assert_eq!(json["today"]["primary"], sierra, "{json}");
    let text = s.run(&["items", "why", &eco.to_string()]).ok().stdout;
    assert!(text.contains("stands alone"), "{text}");
    assert!(
        text.contains(&format!(
            "with what it holds now it would be one story with #{sierra}"
        )),
        "{text}"
    );
}

#[test]
fn why_names_a_removed_item_and_shows_partners_text_without_obeying_it() {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();
    // A partner's text with a right-to-left override: shown escaped, not obeyed.
    add_source(
        &s,
        "espejo",
        "Exigen justicia en Ixtepec para la defensora",
        "https://espejo.example.org/au/",
        "<p>El 15 de noviembre de 2026, hombres armados se presentaron en la puerta del albergue \
         para personas migrantes «Caminantes del Sur», en Ciudad Ixtepec, y amenazaron de \u{202e}muerte \
         a su coordinadora, la defensora Rosa Elvira Toledo Matus.</p>",
    );
    s.run(&["fetch", "--quiet"]).ok();
    let all = s.items(&["--all"]);
    let id = all.iter().find(|i| i["source_id"] == "espejo").unwrap()["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let why = s.run(&["items", "why", &id]).ok().stdout;
    assert!(why.contains("shared: «"), "{why}");
    assert!(!why.contains('\u{202e}'), "{why}");
    assert!(why.contains("amenazaron de \\u{202e}muerte"), "{why}");
    // A removed item: said so, not "run boletin fetch".
    s.run(&["items", "remove", &id]).ok();
    let gone = s.run(&["items", "why", &id]);
    assert_eq!(gone.code, 1, "{}", gone.stderr);
    assert!(
        gone.stderr
            .contains("was removed by the editor (boletin items remove)"),
        "{}",
        gone.stderr
    );
    assert!(!gone.stderr.contains("boletin fetch"), "{}", gone.stderr);
    let split = s.run(&["items", "split", &id]);
    assert!(split.stderr.contains("was removed"), "{}", split.stderr);
}

#[test]
fn items_folds_the_demo_cross_posts_under_the_earliest() {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();
    let all = s.items(&["--all"]);
    assert_eq!(all.len(), 29);
    let folded = s.items(&[]);
    assert_eq!(folded.len(), 27, "two cross-posts fold");
    let ua = "https://colectivo-oaxaca.example.org/2026/11/accion-urgente/";
    let primaries: Vec<_> = folded.iter().filter(|i| i["link"] == ua).collect();
    assert_eq!(primaries.len(), 1);
    assert_eq!(
        primaries[0]["source_id"], "colectivo-oaxaca",
        "the original is primary"
    );
    assert_eq!(
        primaries[0]["also_by"],
        serde_json::json!(["frontera-digna"])
    );
    let film = folded
        .iter()
        .find(|i| i["link"] == "https://colectivo-solidario.example.org/node/491")
        .unwrap();
    assert_eq!(film["source_id"], "colectivo-solidario");
    assert_eq!(film["also_by"], serde_json::json!(["red-defensoras"]));
    let text = s.run(&["items", "--since", "3650d"]).ok().stdout;
    assert!(text.contains("also by: Frontera Digna"), "{text}");
    // A second fetch changes nothing.
    s.run(&["fetch", "--quiet", "--force"]).ok();
    assert_eq!(s.items(&[]).len(), 27);
}

#[test]
fn removed_and_pruned_items_do_not_come_back() {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();
    let before = s.items(&["--all"]);
    let march = before
        .iter()
        .find(|i| i["title"].as_str().unwrap().starts_with("Miles marchan"))
        .unwrap();
    let id = march["id"].as_i64().unwrap().to_string();
    let run = s.run(&["items", "remove", &id, "--json"]).ok();
    assert_eq!(run.json()["removed"].as_array().unwrap().len(), 1);
    // Removing a story's primary takes its copies too.
    let ua = before
        .iter()
        .find(|i| {
            i["source_id"] == "colectivo-oaxaca"
                && i["link"] == "https://colectivo-oaxaca.example.org/2026/11/accion-urgente/"
        })
        .unwrap();
    let run = s
        .run(&[
            "items",
            "remove",
            &ua["id"].as_i64().unwrap().to_string(),
            "--json",
        ])
        .ok();
    assert_eq!(run.json()["removed"].as_array().unwrap().len(), 2);
    s.run(&["fetch", "--quiet", "--force"]).ok();
    let after = s.items(&["--all"]);
    assert_eq!(after.len(), 26, "removed items stayed removed");
    assert!(
        after
            .iter()
            .all(|i| !i["title"].as_str().unwrap().starts_with("Miles marchan"))
    );

    // Retention: everything before 2026-11-14 goes, and stays gone.
    let pruned = s
        .run(&[
            "prune",
            "--older-than",
            "7d",
            "--now",
            "2026-11-21",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(pruned["removed"], 15, "{pruned}");
    assert_eq!(pruned["tombstones"], 18);
    s.run(&["fetch", "--quiet", "--force"]).ok();
    assert_eq!(s.items(&["--all"]).len(), 11);
    let bad = s.run(&["items", "remove", "99999"]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(bad.stderr.contains("no item with id 99999"));
}

const FEED_CONFIG: &str = r#"
[newsletter]
title = "Prueba"
from = "b@example.org"

[[section]]
id = "news"
title = "Noticias"

[[source]]
id = "cms"
name = "CMS"
url = "feed.xml"
site = "https://cms.example.org/"
section = "news"
"#;

fn rss(items: &[(&str, &str, &str, &str)]) -> String {
    let mut out = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>CMS</title><link>https://cms.example.org/</link><description>x</description>"#,
    );
    for (guid, link, title, body) in items {
        out.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{guid}</guid><link>{link}</link><title>{title}</title>\
             <pubDate>Thu, 19 Nov 2026 17:42:00 +0000</pubDate><description><![CDATA[{body}]]></description></item>"
        ));
    }
    out.push_str("</channel></rss>");
    out
}

#[test]
fn a_reused_guid_keeps_items_apart_and_noise_is_not_an_update() {
    let s = Scratch::empty();
    s.write("feeds.toml", FEED_CONFIG);
    let body = |stamp: &str, token: &str, extra: &str| {
        format!(
            "<p>Actualizado: {stamp}. La asamblea de Unión Hidalgo rechaza el parque eólico.{extra}</p>\
             <img src=\"https://cms.example.org/foto.jpg?itok={token}\" alt=\"Asamblea\">"
        )
    };
    let write = |stamp: &str, token: &str, extra: &str| {
        s.write(
            "feed.xml",
            &rss(&[
                (
                    "1",
                    "https://cms.example.org/a",
                    "Asamblea rechaza parque eólico",
                    &body(stamp, token, extra),
                ),
                (
                    "1",
                    "https://cms.example.org/b",
                    "Foro sobre el Corredor Interoceánico",
                    "<p>Foro en Juchitán.</p>",
                ),
            ]),
        );
    };
    write("13:05:22", "AbC123", "");
    let first = s.run(&["fetch", "--json"]).ok().json();
    assert_eq!(
        first["sources"][0]["new"], 2,
        "a reused GUID still gives two items"
    );
    let seen = s.items(&[]);
    let first_seen = seen
        .iter()
        .find(|i| i["link"] == "https://cms.example.org/a")
        .unwrap()["first_seen"]
        .clone();
    // A later fetch would record a later first-seen time if the item were re-inserted.
    std::thread::sleep(std::time::Duration::from_millis(1100));

    write("14:41:07", "ZzZ999", "");
    let second = s.run(&["fetch", "--json"]).ok().json();
    assert_eq!(
        second["sources"][0]["updated"], 0,
        "clock and image token are noise"
    );

    write("14:41:07", "ZzZ999", " Corrección: fueron 400 personas.");
    let third = s.run(&["fetch", "--json"]).ok().json();
    assert_eq!(
        third["sources"][0]["updated"], 1,
        "a real change is an update"
    );
    let now = s.items(&[]);
    assert_eq!(now.len(), 2);
    let updated = now
        .iter()
        .find(|i| i["link"] == "https://cms.example.org/a")
        .unwrap();
    assert!(
        updated["content"]
            .as_str()
            .unwrap_or_default()
            .contains("400")
            || updated["summary"].as_str().unwrap().contains("400")
    );
    assert_eq!(updated["first_seen"], first_seen, "first seen is kept");
}

/// The adversarial pairs, each in a store of its own (with only the history its `context`
/// gives): what the rules get right and wrong, printed; the figures in README.md are these.
#[test]
fn adversarial_pairs() {
    let path = manifest_dir().join("fixtures/dedup/adversarial-pairs.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(cases.len(), 20);
    let (mut tp, mut fp, mut fn_, mut tn) = (0, 0, 0, 0);
    let mut lines = Vec::new();
    for case in &cases {
        let mut by_source: Vec<(String, Vec<Value>)> = Vec::new();
        let context = case["context"].as_array().unwrap();
        for it in context.iter().chain([&case["a"], &case["b"]]) {
            let source = it["source"].as_str().unwrap().to_string();
            match by_source.iter_mut().find(|(s, _)| *s == source) {
                Some((_, items)) => items.push(it.clone()),
                None => by_source.push((source, vec![it.clone()])),
            }
        }
        let sources: Vec<Value> = by_source
            .into_iter()
            .map(|(id, items)| source_json(&id, &id, items))
            .collect();
        let s = Scratch::empty();
        write_feeds(&s, &sources, "");
        s.run(&["fetch", "--quiet", "--now", "2026-11-21"]).ok();
        let stored = s.items(&["--all"]);
        let story = |it: &Value| {
            let found = stored
                .iter()
                .find(|i| i["source_id"] == it["source"] && i["title"] == it["title"])
                .unwrap_or_else(|| panic!("{} was not stored", it["key"]));
            found["duplicate_of"]
                .as_i64()
                .unwrap_or(found["id"].as_i64().unwrap())
        };
        let folded = story(&case["a"]) == story(&case["b"]);
        let same = case["same"].as_bool().unwrap();
        match (folded, same) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            (false, false) => tn += 1,
        }
        lines.push(format!(
            "{} {}: {}",
            if folded == same { "right" } else { "WRONG" },
            if folded { "folded" } else { "apart" },
            case["name"].as_str().unwrap()
        ));
    }
    println!(
        "adversarial pairs: {} right of 20 (folded {tp} of 10 real, {fp} of 10 impostors); \
         precision {:.2}, recall {:.2}\n{}",
        tp + tn,
        tp as f64 / (tp + fp).max(1) as f64,
        tp as f64 / (tp + fn_).max(1) as f64,
        lines.join("\n")
    );
    assert_eq!(tp + fp + fn_ + tn, 20);
    // What README.md reports: a change that makes these worse must update it.
    assert!(tp + tn >= ADVERSARIAL_RIGHT, "{}", lines.join("\n"));
}

/// Adversarial pairs the rules get right (README.md, "How duplicates are found").
const ADVERSARIAL_RIGHT: usize = 18;
