//! Candidate selection for an edition: which section each stored item belongs to, which
//! items are the same story, and in what order the editor sees them.
//!
//! Pure functions over [`StoredItem`]s and the [`Config`]: section rules (source, tag,
//! keyword; the first matching section in config order wins, else the source's own
//! `section`), duplicates folded behind [`fold_duplicates`], newest first. The store is
//! the one source of truth on duplicates: `annotate` links each copy of another partner's
//! story to its primary (`duplicate_of`: same link, same title within days, or
//! near-identical text; see `dedup`), and curate only groups by that link, so `draft`,
//! `compose --since` and `items` fold exactly the same stories. Hands
//! [`SectionCandidates`] to `edition` (the draft file) and `render` (the window digest).

use std::collections::HashMap;

use crate::annotate::fold::fold;
use crate::config::Config;
use crate::store::StoredItem;

/// One story offered to the editor, with the other copies of it folded in.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub(crate) item: StoredItem,
    /// The same story from other sources (or the same source twice), oldest first.
    pub also: Vec<StoredItem>,
}

/// A config section with its candidates, newest first.
#[derive(Debug, Clone)]
pub struct SectionCandidates {
    pub(crate) section: String,
    pub(crate) candidates: Vec<Candidate>,
}

/// The section `item` goes to: the first section whose rules match it, else its source's.
/// `None` when the item's source is no longer configured.
pub fn section_for<'c>(config: &'c Config, item: &StoredItem) -> Option<&'c str> {
    let source = config.source(&item.source_id)?;
    // The excerpt stops at `excerpt_words`; a call to action is often further down.
    let haystack = fold(&format!(
        "{} {} {}",
        item.title,
        item.excerpt,
        crate::html::text::to_text(item.summary.as_str())
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

/// Groups copies of one story as the store linked them (`duplicate_of`). Each group is
/// led by the story's primary (the original post, as the store chose it) when it is among
/// `items`, else by its oldest copy; groups keep the order in which `items` first names
/// one of their members.
pub fn fold_duplicates(items: Vec<StoredItem>) -> Vec<Candidate> {
    let mut group_of: HashMap<i64, usize> = HashMap::new();
    let mut groups: Vec<(i64, Vec<StoredItem>)> = Vec::new();
    for item in items {
        let story = item.duplicate_of.unwrap_or(item.id);
        let index = *group_of.entry(story).or_insert_with(|| {
            groups.push((story, Vec::new()));
            groups.len() - 1
        });
        if let Some((_, group)) = groups.get_mut(index) {
            group.push(item);
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for (story, mut group) in groups {
        // The primary first, then the copies oldest first; ties go to the lower id.
        group.sort_by_key(|i| (i.id != story, i.date, i.id));
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
pub(crate) mod tests {
    use super::*;
    use crate::html::sanitize::SafeHtml;
    use chrono::{TimeZone, Utc};

    /// A stored item of November 2026, its text its title (also for `notes`' tests).
    pub(crate) fn item(id: i64, source: &str, title: &str, link: &str, day: u32) -> StoredItem {
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
            duplicate_reason: None,
            kept_apart: vec![],
        }
    }

    #[test]
    fn copies_fold_into_their_primary_as_the_store_linked_them() {
        let mut repost = item(
            2,
            "frontera",
            "Acción urgente: amenazas",
            "https://a.example.org/accion/",
            18,
        );
        repost.duplicate_of = Some(1);
        let mut later = item(
            4,
            "istmo",
            "Amenazas en Ixtepec",
            "https://c.example.org/x",
            19,
        );
        later.duplicate_of = Some(1);
        // Same title, but the store did not call it a copy: not folded here either.
        let lookalike = item(
            5,
            "otro",
            "Acción urgente: amenazas",
            "https://d.example.org/y",
            2,
        );
        let items = vec![
            later,
            repost,
            item(3, "otro", "Otra nota", "https://b.example.org/otra", 18),
            item(
                1,
                "oaxaca",
                "Accion urgente",
                "https://a.example.org/accion",
                17,
            ),
            lookalike,
        ];
        let folded = fold_duplicates(items);
        assert_eq!(folded.len(), 3);
        assert_eq!(folded[0].item.id, 1, "the primary leads");
        let also: Vec<i64> = folded[0].also.iter().map(|i| i.id).collect();
        assert_eq!(also, [2, 4], "copies oldest first");
        assert_eq!(folded[2].item.id, 5);
    }

    #[test]
    fn copies_whose_primary_is_outside_the_window_still_fold_together() {
        let mut a = item(7, "a", "Nota", "https://a.example.org/n", 19);
        a.duplicate_of = Some(1);
        let mut b = item(8, "b", "Nota", "https://b.example.org/n", 18);
        b.duplicate_of = Some(1);
        let folded = fold_duplicates(vec![a, b]);
        assert_eq!(folded.len(), 1);
        assert_eq!((folded[0].item.id, folded[0].also[0].id), (8, 7));
    }
}
