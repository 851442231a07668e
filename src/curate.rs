//! Candidate selection for an edition: which section each stored item belongs to, which
//! items are the same story, and in what order the editor sees them.
//!
//! Pure functions over [`StoredItem`]s and the [`Config`]: section rules (source, tag,
//! keyword; the first matching section in config order wins, else the source's own
//! `section`), duplicates folded behind [`fold_duplicates`], newest first. Hands
//! [`SectionCandidates`] to `edition` (the draft file) and nothing else.

use std::collections::HashMap;

use crate::config::Config;
use crate::store::StoredItem;

/// One story offered to the editor, with the other copies of it folded in.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub item: StoredItem,
    /// The same story from other sources (or the same source twice), oldest first.
    pub also: Vec<StoredItem>,
}

/// A config section with its candidates, newest first.
#[derive(Debug, Clone)]
pub struct SectionCandidates {
    pub section: String,
    pub candidates: Vec<Candidate>,
}

/// The section `item` goes to: the first section whose rules match it, else its source's.
/// `None` when the item's source is no longer configured.
pub fn section_for<'c>(config: &'c Config, item: &StoredItem) -> Option<&'c str> {
    let source = config.sources.iter().find(|s| s.id == item.source_id)?;
    // The excerpt is cut at 60 words; a call to action is often further down.
    let haystack = fold(&format!(
        "{} {} {}",
        item.title,
        item.excerpt,
        crate::sanitize::to_text(item.summary.as_str())
    ));
    let tags: Vec<String> = item
        .categories
        .iter()
        .chain(source.tags.iter())
        .map(|t| fold(t))
        .collect();
    let by_rule = config.sections.iter().find(|section| {
        section.rule_sources.contains(&item.source_id)
            || section
                .rule_tags
                .iter()
                .any(|t| tags.iter().any(|have| *have == fold(t)))
            || section
                .rule_keywords
                .iter()
                .any(|k| !k.trim().is_empty() && haystack.contains(&fold(k)))
    });
    Some(by_rule.map_or(source.section.as_str(), |s| s.id.as_str()))
}

/// Lowercase without accents, whitespace folded: how rules and duplicate titles compare.
fn fold(text: &str) -> String {
    let mapped: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'ä' | 'â' => 'a',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' | 'ì' | 'ï' | 'î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' => 'o',
            'ú' | 'ù' | 'ü' | 'û' => 'u',
            'ñ' => 'n',
            c => c,
        })
        .collect();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A link reduced to what identifies the page: no scheme, `www.`, fragment, trailing
/// slash or `utm_*` parameters.
fn canonical_link(link: &str) -> Option<String> {
    let mut url = url::Url::parse(link.trim()).ok()?;
    url.set_fragment(None);
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !k.starts_with("utm_"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    let host = url.host_str()?.trim_start_matches("www.").to_lowercase();
    let path = url.path().trim_end_matches('/');
    let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
    Some(format!("{host}{path}{query}"))
}

/// Groups copies of one story: the same canonical link, or the same title (folded).
/// Each group is led by its oldest item (the original post); groups keep the order of
/// their leaders in `items`.
///
/// This is the one place that decides what counts as a duplicate, so that it can later
/// read the store's cross-partner duplicate data instead.
pub fn fold_duplicates(items: Vec<StoredItem>) -> Vec<Candidate> {
    let mut group_of_key: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Vec<StoredItem>> = Vec::new();
    for item in items {
        let mut keys = vec![format!("title:{}", fold(&item.title))];
        if let Some(link) = item.link.as_deref().and_then(canonical_link) {
            keys.push(format!("link:{link}"));
        }
        let found = keys.iter().find_map(|k| group_of_key.get(k).copied());
        let index = found.unwrap_or_else(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        for k in keys {
            group_of_key.entry(k).or_insert(index);
        }
        if let Some(group) = groups.get_mut(index) {
            group.push(item);
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for mut group in groups {
        // The original is the oldest copy; ties go to the lower id (stored first).
        group.sort_by_key(|i| (i.date, i.id));
        let mut it = group.into_iter();
        if let Some(item) = it.next() {
            out.push(Candidate {
                item,
                also: it.collect(),
            });
        }
    }
    out
}

/// The candidates of every config section, in config order, each ranked newest first.
/// Items whose source is gone from the config are left out.
pub fn candidates(config: &Config, items: Vec<StoredItem>) -> Vec<SectionCandidates> {
    let mut sections: Vec<SectionCandidates> = config
        .sections
        .iter()
        .map(|s| SectionCandidates {
            section: s.id.clone(),
            candidates: Vec::new(),
        })
        .collect();
    for candidate in fold_duplicates(items) {
        let Some(section) = section_for(config, &candidate.item) else {
            continue;
        };
        if let Some(s) = sections.iter_mut().find(|s| s.section == section) {
            s.candidates.push(candidate);
        }
    }
    for s in &mut sections {
        s.candidates.sort_by(|a, b| {
            b.item
                .date
                .cmp(&a.item.date)
                .then(b.item.id.cmp(&a.item.id))
        });
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sanitize::SafeHtml;
    use chrono::{TimeZone, Utc};

    fn item(id: i64, source: &str, title: &str, link: &str, day: u32) -> StoredItem {
        let date = Utc
            .with_ymd_and_hms(2026, 11, day, 12, 0, 0)
            .single()
            .unwrap_or_default();
        StoredItem {
            id,
            source_id: source.into(),
            title: title.into(),
            link: Some(link.into()),
            author: None,
            summary: SafeHtml::from_text(title),
            content: None,
            excerpt: title.into(),
            published: Some(date),
            first_seen: date,
            date,
            categories: vec![],
            language: None,
            tags: vec![],
            excerpt_html: None,
            duplicate_of: None,
            also_by: vec![],
        }
    }

    #[test]
    fn same_link_or_title_folds_into_the_oldest_copy() {
        let items = vec![
            item(
                2,
                "frontera",
                "Acción urgente: amenazas",
                "https://a.example.org/accion/?utm_source=x",
                18,
            ),
            item(3, "otro", "Otra nota", "https://b.example.org/otra", 18),
            item(
                1,
                "oaxaca",
                "Accion urgente:  amenazas",
                "https://www.a.example.org/accion",
                17,
            ),
        ];
        let folded = fold_duplicates(items);
        assert_eq!(folded.len(), 2);
        assert_eq!(folded[0].item.id, 1, "the original leads");
        assert_eq!(folded[0].also.len(), 1);
        assert_eq!(folded[0].also[0].id, 2);
    }

    #[test]
    fn canonical_links_ignore_tracking_and_slashes() {
        assert_eq!(
            canonical_link("https://www.Example.org/a/?utm_medium=x&id=3#top"),
            canonical_link("http://example.org/a?id=3")
        );
        assert_ne!(
            canonical_link("https://example.org/a"),
            canonical_link("https://example.org/b")
        );
    }
}
