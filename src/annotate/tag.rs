//! Findable by place and topic: region and topic tags from a gazetteer, and the language
//! of an item.
//!
//! The gazetteer (`gazetteer.toml`, compiled in; an editor's copy is named by
//! `[newsletter] gazetteer`) lists regions with their names in Spanish and English and
//! topics with bilingual keywords. Matching is on folded words (accents and case ignored)
//! and word boundaries; a `*` at the end of a word matches any ending (`migra*`). The
//! longest match wins and `[[ignore]]` phrases hide what they contain, so "New Mexico" or
//! "Golfo de México" never tag `mexico`, and "Nuevo León" is not the city of León. A
//! region's `within` adds its parent (Chiapas → México).

use std::collections::{BTreeSet, HashMap};

use rustc_hash::FxHashMap;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::annotate::fold::{fold, slug};

/// The gazetteer shipped with boletin.
pub const DEFAULT_GAZETTEER: &str = include_str!("../../gazetteer.toml");

/// Why a gazetteer could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    /// The editor's gazetteer file could not be read.
    #[error("cannot read gazetteer {path}: {source}")]
    Read {
        /// Path of the file, as it was opened.
        path: String,
        /// Why the operating system refused it.
        source: std::io::Error,
    },
    /// The TOML is malformed, does not match the schema, or an entry's tag is empty.
    #[error("gazetteer {path}: {message}")]
    Syntax {
        /// Path of the file as it was opened, or `gazetteer.toml` for the built-in one.
        path: String,
        /// The TOML parser's message on one line, or which entry has an empty tag.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[serde(default)]
    ignore: Vec<IgnoreSpec>,
    #[serde(default)]
    region: Vec<EntrySpec>,
    #[serde(default)]
    topic: Vec<EntrySpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IgnoreSpec {
    names: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntrySpec {
    tag: String,
    #[serde(default)]
    within: Option<String>,
    #[serde(alias = "keywords")]
    names: Vec<String>,
}

/// Characters of a prefix that key [`Gazetteer::prefix`].
const PREFIX_KEY: usize = 2;

/// The first [`PREFIX_KEY`] characters of `word`, if it has that many.
fn prefix_key(word: &str) -> Option<&str> {
    let end = word
        .char_indices()
        .nth(PREFIX_KEY)
        .map_or(word.len(), |(i, _)| i);
    (word[..end].chars().count() == PREFIX_KEY).then(|| &word[..end])
}

/// One phrase: folded words, each maybe a prefix (`migra*`).
#[derive(Debug, Clone)]
struct Phrase {
    words: Vec<(String, bool)>,
    /// Index into `tags`, or `None` for an ignore phrase.
    tag: Option<usize>,
    /// Topic keywords overlap freely; only places compete for words.
    topic: bool,
}

/// A loaded gazetteer, ready to tag text.
#[derive(Debug, Clone)]
pub struct Gazetteer {
    tags: Vec<String>,
    parents: HashMap<String, String>,
    /// Phrases whose first word is exact, by that word. (Looked up for every word of every
    /// item: a fast hash, not the default one that resists collision attacks.)
    exact: FxHashMap<String, Vec<Phrase>>,
    /// Phrases whose first word is a prefix, by that prefix's first [`PREFIX_KEY`] characters
    /// (shorter prefixes under ""): a word is tried only against the prefixes it could match.
    prefix: FxHashMap<String, Vec<Phrase>>,
    /// SHA-256 of the text it was parsed from.
    digest: [u8; 32],
}

impl Default for Gazetteer {
    fn default() -> Self {
        // The shipped file is checked by a unit test; an error here cannot reach users.
        Gazetteer::parse(DEFAULT_GAZETTEER, "gazetteer.toml").unwrap_or_else(|_| Gazetteer {
            tags: Vec::new(),
            parents: HashMap::new(),
            exact: FxHashMap::default(),
            prefix: FxHashMap::default(),
            digest: [0; 32],
        })
    }
}

impl Gazetteer {
    /// Reads an editor's gazetteer file.
    pub fn load(path: &std::path::Path) -> Result<Gazetteer, TagError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TagError::Read {
            path: shown.clone(),
            source,
        })?;
        Gazetteer::parse(&text, &shown)
    }

    /// What the gazetteer was read from, so annotations made with another one are redone.
    pub fn digest(&self) -> &[u8] {
        &self.digest
    }

    /// Parses gazetteer TOML; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Gazetteer, TagError> {
        let spec: Spec = toml::from_str(text).map_err(|e| TagError::Syntax {
            path: path.to_string(),
            message: e.message().trim().replace('\n', " "),
        })?;
        let mut g = Gazetteer {
            tags: Vec::new(),
            parents: HashMap::new(),
            exact: FxHashMap::default(),
            prefix: FxHashMap::default(),
            digest: Sha256::digest(text.as_bytes()).into(),
        };
        for ignore in &spec.ignore {
            for name in &ignore.names {
                g.add(name, None, false);
            }
        }
        let topics = spec.region.len();
        for (n, entry) in spec.region.iter().chain(&spec.topic).enumerate() {
            let tag = slug(&entry.tag);
            if tag.is_empty() {
                return Err(TagError::Syntax {
                    path: path.to_string(),
                    message: format!("empty tag in entry with names {:?}", entry.names),
                });
            }
            if let Some(parent) = &entry.within {
                g.parents.insert(tag.clone(), slug(parent));
            }
            let index = g.tags.len();
            g.tags.push(tag);
            for name in &entry.names {
                g.add(name, Some(index), n >= topics);
            }
        }
        Ok(g)
    }

    fn add(&mut self, name: &str, tag: Option<usize>, topic: bool) {
        let words: Vec<(String, bool)> = name
            .split_whitespace()
            .flat_map(|w| {
                let star = w.ends_with('*');
                let folded = fold(w.trim_end_matches('*'));
                let parts: Vec<String> = folded.split(' ').map(str::to_string).collect();
                let last = parts.len().saturating_sub(1);
                parts
                    .into_iter()
                    .enumerate()
                    .map(move |(i, p)| (p, star && i == last))
                    .collect::<Vec<_>>()
            })
            .filter(|(w, _)| !w.is_empty())
            .collect();
        let Some((first, star)) = words.first().cloned() else {
            return;
        };
        let phrase = Phrase { words, tag, topic };
        if star {
            self.prefix
                .entry(prefix_key(&first).unwrap_or_default().to_string())
                .or_default()
                .push(phrase);
        } else {
            self.exact.entry(first).or_default().push(phrase);
        }
    }

    /// Region and topic tags of `text`, parents included, sorted.
    pub fn tag(&self, text: &str) -> Vec<String> {
        self.tag_folded(&fold(text))
    }

    /// [`Gazetteer::tag`] of text already folded (annotation folds an item's text once for
    /// tags and its duplicate signature).
    pub fn tag_folded(&self, folded: &str) -> Vec<String> {
        let words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
        // (start, length, tag, topic) of every phrase occurrence.
        let mut found: Vec<(usize, usize, Option<usize>, bool)> = Vec::new();
        let matches = |p: &Phrase, at: usize| {
            p.words.len() <= words.len() - at
                && p.words.iter().enumerate().all(|(i, (w, star))| {
                    let t = words[at + i];
                    if *star {
                        t.starts_with(w.as_str())
                    } else {
                        t == w
                    }
                })
        };
        let short = self.prefix.get("");
        for (at, word) in words.iter().enumerate() {
            if let Some(phrases) = self.exact.get(*word) {
                for p in phrases.iter().filter(|p| matches(p, at)) {
                    found.push((at, p.words.len(), p.tag, p.topic));
                }
            }
            let keyed = prefix_key(word).and_then(|k| self.prefix.get(k));
            for p in keyed
                .into_iter()
                .chain(short)
                .flatten()
                .filter(|p| matches(p, at))
            {
                found.push((at, p.words.len(), p.tag, p.topic));
            }
        }
        // Longest first; a place inside a longer place (or an ignored phrase) does not
        // count; topic keywords only yield to ignored phrases.
        found.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut taken = vec![false; words.len()];
        let mut ignored = vec![false; words.len()];
        let mut tags = BTreeSet::new();
        for (start, len, tag, topic) in found {
            let span = start..start + len;
            if topic {
                if ignored[span].iter().any(|t| *t) {
                    continue;
                }
            } else {
                if taken[span.clone()].iter().any(|t| *t) {
                    continue;
                }
                taken[span.clone()].iter_mut().for_each(|t| *t = true);
                if tag.is_none() {
                    ignored[span].iter_mut().for_each(|t| *t = true);
                }
            }
            if let Some(i) = tag {
                let mut tag = self.tags[i].clone();
                // Parents, guarding against a loop an editor might write.
                for _ in 0..8 {
                    let parent = self.parents.get(&tag).cloned();
                    tags.insert(tag);
                    match parent {
                        Some(p) => tag = p,
                        None => break,
                    }
                }
            }
        }
        tags.into_iter().collect()
    }

    /// The parent chain of `tag` (Chiapas → mexico → …), for callers labelling by hand.
    pub fn ancestors(&self, tag: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut t = tag.to_string();
        for _ in 0..8 {
            match self.parents.get(&t) {
                Some(p) => {
                    out.push(p.clone());
                    t = p.clone();
                }
                None => break,
            }
        }
        out
    }
}

/// Characters read to detect a language: enough for a reliable guess on Spanish and English
/// prose, and detection costs grow with the text.
pub(crate) const LANGUAGE_SAMPLE: usize = 400;

/// An item's language: `es`, `en` or `other`, from its title and text. `None` when there is
/// too little text to tell.
pub fn detect_language(text: &str) -> Option<&'static str> {
    use whatlang::{Detector, Lang, Script};
    /// Latin-script languages partners or their readers write in: comparing only these (not
    /// whatlang's 69) makes detection ~10× cheaper, and anything else is `other` to us anyway.
    static LATIN: std::sync::LazyLock<Detector> = std::sync::LazyLock::new(|| {
        Detector::with_allowlist(vec![
            Lang::Spa,
            Lang::Eng,
            Lang::Por,
            Lang::Fra,
            Lang::Ita,
            Lang::Deu,
            Lang::Cat,
            Lang::Nld,
        ])
    });
    /// Short, unsure texts: choose among the languages partners actually write in.
    static PARTNERS: std::sync::LazyLock<Detector> = std::sync::LazyLock::new(|| {
        Detector::with_allowlist(vec![Lang::Spa, Lang::Eng, Lang::Por, Lang::Fra])
    });
    let text: String = text.chars().take(LANGUAGE_SAMPLE).collect();
    if text.split_whitespace().count() < 3 {
        return None;
    }
    if whatlang::detect_script(&text)? != Script::Latin {
        return Some("other");
    }
    let info = LATIN.detect(&text)?;
    let lang = if info.is_reliable() {
        info.lang()
    } else {
        PARTNERS.detect_lang(&text)?
    };
    Some(match lang {
        Lang::Spa => "es",
        Lang::Eng => "en",
        _ => "other",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_gazetteer_parses() {
        let g = Gazetteer::parse(DEFAULT_GAZETTEER, "gazetteer.toml");
        assert!(g.is_ok_and(|g| g.tags.len() > 60));
    }

    #[test]
    fn regions_fold_accents_and_respect_boundaries() {
        let g = Gazetteer::default();
        assert_eq!(g.tag("Marcha en MEXICO"), vec!["mexico".to_string()]);
        assert!(g.tag("Protest in Albuquerque, New Mexico").is_empty());
        assert!(
            g.tag("Mexicanos al grito de guerra")
                .contains(&"mexico".to_string())
        );
        let t = g.tag("Desplazamiento en Chenalhó, Los Altos de Chiapas");
        assert!(
            t.contains(&"chiapas".to_string()) && t.contains(&"mexico".to_string()),
            "{t:?}"
        );
        let nl = g.tag("Monterrey, Nuevo León");
        assert!(
            nl.contains(&"nuevo-leon".to_string()) && !nl.contains(&"guanajuato".to_string()),
            "{nl:?}"
        );
    }

    #[test]
    fn topics_match_prefixes_in_both_languages() {
        let g = Gazetteer::default();
        assert!(
            g.tag("Caravana de migrantes")
                .contains(&"migration".to_string())
        );
        assert!(g.tag("asylum seekers").contains(&"migration".to_string()));
        assert!(
            g.tag("Madres buscadoras hallan fosas")
                .contains(&"disappearances".to_string())
        );
    }

    #[test]
    fn language_is_told_apart() {
        assert_eq!(
            detect_language(
                "Miles marchan en Oaxaca contra las concesiones mineras en los Valles Centrales"
            ),
            Some("es")
        );
        assert_eq!(
            detect_language("Women defenders in the Bajo Aguán denounce a new wave of threats"),
            Some("en")
        );
        assert_eq!(detect_language("Oaxaca"), None);
        // Neither Spanish nor English, in Latin script or not.
        assert_eq!(
            detect_language("Mulheres defensoras denunciam ameaças contra as comunidades"),
            Some("other")
        );
        assert_eq!(
            detect_language("Die Delegation besucht die Gemeinden in Chiapas im Dezember"),
            Some("other")
        );
        assert_eq!(
            detect_language("Солидарность с общинами Оахаки и Чьяпаса"),
            Some("other")
        );
    }

    #[test]
    fn prefix_phrases_are_keyed_by_characters_not_bytes() {
        assert_eq!(prefix_key("méxico"), Some("mé"));
        assert_eq!(prefix_key("ñu"), Some("ñu"));
        assert_eq!(prefix_key("a"), None);
        let g = Gazetteer::parse(
            "[[topic]]\ntag = \"land\"\nnames = [\"t*\", \"ejid*\"]\n",
            "test.toml",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(g.tag("Tierra y libertad"), vec!["land".to_string()]);
        assert_eq!(g.tag("Los ejidatarios"), vec!["land".to_string()]);
        assert!(g.tag("Agua y bosque").is_empty());
    }
}
