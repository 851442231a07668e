//! Findable by place and topic. Tagging precision/recall and language accuracy on
//! a hand-labelled sample, and the `items` filters (--tag, --lang, --search) on the demo.

use std::collections::BTreeSet;

use boletin::annotate::tag::{Gazetteer, detect_language};

use crate::common::{Scratch, manifest_dir};

#[derive(Default)]
struct Score {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Score {
    fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
}

#[test]
fn labelled_sample_precision_recall_and_language() {
    let g = Gazetteer::default();
    let path = manifest_dir().join("fixtures/tags/sample.json");
    let sample: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(sample.len() >= 100);
    let topics: BTreeSet<&str> = [
        "migration",
        "gender-violence",
        "defenders",
        "land-mining",
        "indigenous",
        "militarization",
        "disappearances",
        "elections",
    ]
    .into();
    let (mut regions, mut topic_score) = (Score::default(), Score::default());
    let (mut lang_ok, mut errors) = (0usize, Vec::new());
    for item in &sample {
        let text = format!(
            "{}\n{}",
            item["title"].as_str().unwrap(),
            item["text"].as_str().unwrap()
        );
        let predicted: BTreeSet<String> = g.tag(&text).into_iter().collect();
        let mut expected = BTreeSet::new();
        for key in ["regions", "topics"] {
            for t in item[key].as_array().unwrap() {
                let t = t.as_str().unwrap().to_string();
                expected.extend(g.ancestors(&t));
                expected.insert(t);
            }
        }
        for t in predicted.union(&expected) {
            let score = if topics.contains(t.as_str()) {
                &mut topic_score
            } else {
                &mut regions
            };
            match (predicted.contains(t), expected.contains(t)) {
                (true, true) => score.tp += 1,
                (true, false) => {
                    score.fp += 1;
                    errors.push(format!("+{t}: {}", item["title"]));
                }
                (false, true) => {
                    score.fn_ += 1;
                    errors.push(format!("-{t}: {}", item["title"]));
                }
                (false, false) => {}
            }
        }
        if detect_language(&text) == item["lang"].as_str() {
            lang_ok += 1;
        } else {
            errors.push(format!(
                "language {:?}: {}",
                detect_language(&text),
                item["title"]
            ));
        }
    }
    let all = Score {
        tp: regions.tp + topic_score.tp,
        fp: regions.fp + topic_score.fp,
        fn_: regions.fn_ + topic_score.fn_,
    };
    println!(
        "tags on {} labelled items: regions P {:.3} R {:.3}; topics P {:.3} R {:.3}; all P {:.3} R {:.3}; \
         language {}/{} right\n{errors:#?}",
        sample.len(),
        regions.precision(),
        regions.recall(),
        topic_score.precision(),
        topic_score.recall(),
        all.precision(),
        all.recall(),
        lang_ok,
        sample.len()
    );
    // Floors a regression would break; the measured figures are in the README.
    assert!(regions.precision() >= 0.9 && regions.recall() >= 0.85);
    assert!(topic_score.precision() >= 0.85 && topic_score.recall() >= 0.75);
    assert!(lang_ok * 100 >= sample.len() * 95);
}

fn titles(items: &[serde_json::Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn items_filter_by_tag_language_and_accent_free_search() {
    let s = Scratch::demo();
    s.run(&["fetch", "--quiet"]).ok();
    // `mexico` finds `México` (FTS5, diacritics removed), in titles and text.
    let found = titles(&s.items(&["--search", "mexico", "--all"]));
    assert!(
        found
            .iter()
            .any(|t| t.contains("Unión Hidalgo, Oaxaca, México")),
        "{found:?}"
    );
    let plain = titles(&s.items(&["--search", "UNION HIDALGO"]));
    let accented = titles(&s.items(&["--search", "unión hidalgo"]));
    assert_eq!(plain, accented);
    assert!(
        plain
            .iter()
            .any(|t| t.starts_with("Asamblea en Unión Hidalgo")),
        "{plain:?}"
    );
    assert!(s.items(&["--search", "zzzxq"]).is_empty());
    // Punctuation and FTS syntax in user text are plain words, not errors.
    s.run(&["items", "--search", "\"OR( chiapas*", "--json"])
        .ok();

    // Region tags from the gazetteer, with parents.
    let guerrero_free = s.items(&["--tag", "chiapas", "--all"]);
    assert!(
        titles(&guerrero_free)
            .iter()
            .any(|t| t.contains("Ocosingo"))
    );
    for i in &guerrero_free {
        let tags: Vec<&str> = i["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(tags.contains(&"chiapas"), "{tags:?}");
    }
    let honduras = titles(&s.items(&["--tag", "honduras"]));
    assert!(
        honduras.iter().any(|t| t.contains("Bajo Aguán")),
        "{honduras:?}"
    );
    let mexico = s.items(&["--tag", "mexico", "--all"]);
    assert!(mexico.len() >= 15, "states imply mexico: {}", mexico.len());
    // Topic tags, and several tags at once (all must match).
    let mining = titles(&s.items(&["--tag", "land-mining", "--tag", "oaxaca"]));
    assert!(
        mining.iter().any(|t| t.contains("concesiones mineras")),
        "{mining:?}"
    );
    let migration = titles(&s.items(&["--tag", "migration"]));
    assert!(
        migration.iter().any(|t| t.contains("COMAR")),
        "{migration:?}"
    );
    // A source's configured tags are added (cdh-altos has `displacement`).
    let displacement = s.items(&["--tag", "displacement", "--all"]);
    assert_eq!(displacement.len(), 4);

    // Language: per-source override (the demo sets each source's), es/en filters.
    let en = s.items(&["--lang", "en", "--all"]);
    let es = s.items(&["--lang", "es", "--all"]);
    assert_eq!(en.len() + es.len(), 29);
    assert!(en.iter().all(|i| i["language"] == "en"));
    assert!(titles(&en).iter().any(|t| t.contains("Bajo Aguán")));
    let bad = s.run(&["items", "--lang", "fr"]);
    assert_eq!(bad.code, 2);
}

#[test]
fn detected_language_and_an_editors_gazetteer() {
    let s = Scratch::demo();
    // Drop the per-source language overrides so detection decides.
    let config = std::fs::read_to_string(s.config()).unwrap();
    let config: String = config
        .lines()
        // The newsletter's own `language` defaults to es, so every `language` line can go.
        .filter(|l| !l.starts_with("language = "))
        .map(|l| format!("{l}\n"))
        .collect();
    let config = config.replacen(
        "[newsletter]\n",
        "[newsletter]\ngazetteer = \"mi-gazetteer.toml\"\nexcerpt_words = 5\n",
        1,
    );
    s.write("feeds.toml", &config);
    s.write(
        "mi-gazetteer.toml",
        "[[region]]\ntag = \"valles\"\nnames = [\"Valles Centrales\"]\n\n[[topic]]\ntag = \"agua\"\nkeywords = [\"agua\", \"water\"]\n",
    );
    s.run(&["fetch", "--quiet"]).ok();
    let all = s.items(&["--all"]);
    let march = all
        .iter()
        .find(|i| i["title"].as_str().unwrap().starts_with("Miles marchan"))
        .unwrap();
    let tags: Vec<&str> = march["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        tags.contains(&"valles") && tags.contains(&"agua"),
        "{tags:?}"
    );
    assert!(
        !tags.contains(&"oaxaca-valles-centrales"),
        "the editor's file replaces the default"
    );
    assert_eq!(march["language"], "es");
    // Five-word excerpts, plain and HTML.
    assert_eq!(
        march["excerpt"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .count(),
        5
    );
    assert!(march["excerpt"].as_str().unwrap().ends_with('…'));
    let html = march["excerpt_html"].as_str().unwrap();
    assert!(html.starts_with("<p>") && html.ends_with("</p>"), "{html}");
    let aguan = all
        .iter()
        .find(|i| i["title"].as_str().unwrap().contains("Bajo Aguán"))
        .unwrap();
    assert_eq!(aguan["language"], "en");

    // A broken gazetteer is one clear line naming the file.
    s.write("mi-gazetteer.toml", "[[region]]\nnames = 3\n");
    for cmd in ["fetch", "check"] {
        let bad = s.run(&[cmd]);
        assert_eq!(bad.code, 2, "{cmd}");
        assert!(
            bad.stderr.contains("mi-gazetteer.toml"),
            "{cmd}: {}",
            bad.stderr
        );
        assert_eq!(bad.stderr.trim().lines().count(), 1, "{}", bad.stderr);
    }
}
