//! Why an item is where it is, in terms an editor can check: which story it was folded into
//! when it was placed (or that it stands alone), the reason and score, the boilerplate set
//! aside, the text it shares with the story's primary beyond that boilerplate, and where
//! placement would put it with what the store holds now when that differs. Reads the
//! store; hands [`Why`] to `boletin items why`.

use std::collections::HashSet;

use serde::Serialize;

use crate::annotate::dedup::{self, Comparison, Reason};
use crate::annotate::{body_text, fold::fold};
use crate::store::{ItemQuery, Store, StoreError};

/// Shared passages shown per comparison, and words per passage.
const PASSAGES: usize = 3;
const PASSAGE_WORDS: usize = 30;

/// One comparison, as `why` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Against {
    /// The story primary compared with.
    pub id: i64,
    /// Its source.
    pub source_id: String,
    /// Its title.
    pub title: String,
    /// What the judge saw.
    #[serde(flatten)]
    pub comparison: Comparison,
    /// Passages of the item's text it shares with that primary beyond boilerplate.
    pub shared_text: Vec<String>,
}

/// Where placement would put an item with what the store holds now.
#[derive(Debug, Clone, Serialize)]
pub struct Today {
    /// The primary of the story it would join.
    pub primary: i64,
    /// Why.
    pub reason: Option<Reason>,
    /// How strongly.
    pub score: f64,
}

/// Why an item is where it is.
#[derive(Debug, Clone, Serialize)]
pub struct Why {
    /// The item.
    pub id: i64,
    /// Its source.
    pub source_id: String,
    /// Its title.
    pub title: String,
    /// The primary of its story, when it is a copy.
    pub primary: Option<i64>,
    /// Why it was folded (as decided when it was placed).
    pub reason: Option<Reason>,
    /// How strongly (as decided when it was placed).
    pub score: Option<f64>,
    /// Its copies, when it leads a story.
    pub copies: Vec<i64>,
    /// Items the editor kept apart from it.
    pub kept_apart: Vec<i64>,
    /// Candidates the key index returned for it (at most `dedup::CANDIDATES`).
    pub candidates: usize,
    /// Its primary first (for a copy), or its copies (for a primary), then its candidates'
    /// primaries, judged as placement judges them with what the store holds now.
    pub compared: Vec<Against>,
    /// Where placement would put it now (`None`: on its own, or leading its story).
    pub today: Option<Today>,
    /// Whether that is where it is. Items stay where they were placed (the store knew less
    /// then: items that arrived since) until they are annotated again; the editor's joins
    /// always hold.
    pub agrees: bool,
}

/// Explains item `id`; `None` when there is no such item (or it was never annotated).
pub fn why(store: &mut Store, id: i64) -> Result<Option<Why>, StoreError> {
    let explained = {
        let batch = store.annotation_batch()?;
        batch.explain(id)?
    };
    let Some(e) = explained else {
        return Ok(None);
    };
    let mut ids: Vec<i64> = vec![id];
    ids.extend(e.compared.iter().map(|c| c.id));
    let items = store.items(&ItemQuery {
        ids,
        ..ItemQuery::default()
    })?;
    let find = |id: i64| items.iter().find(|i| i.id == id);
    let Some(item) = find(id) else {
        return Ok(None);
    };
    let body = body_text(item.content.as_ref(), &item.summary);
    let compared = e
        .compared
        .iter()
        .map(|c| Against {
            id: c.id,
            source_id: c.source_id.clone(),
            title: find(c.id).map(|i| i.title.clone()).unwrap_or_default(),
            comparison: c.comparison.clone(),
            shared_text: passages(&body, &c.shared),
        })
        .collect();
    let today = e.today.as_ref().map(|(primary, c)| Today {
        primary: *primary,
        reason: c.reason,
        score: c.score,
    });
    let agrees = e.item.reason == Some(Reason::Editor)
        || today.as_ref().map(|t| t.primary) == e.item.primary;
    Ok(Some(Why {
        id,
        source_id: item.source_id.clone(),
        title: item.title.clone(),
        primary: e.item.primary,
        reason: e.item.reason,
        score: e.item.score,
        copies: e.copies,
        kept_apart: item.kept_apart.clone(),
        candidates: e.candidates,
        compared,
        today,
        agrees,
    }))
}

/// The passages of `body` (its own words, accents and punctuation kept) whose shingles are
/// in `shared`, at most [`PASSAGES`] of at most [`PASSAGE_WORDS`] words.
fn passages(body: &str, shared: &HashSet<u32>) -> Vec<String> {
    // Each folded word belongs to one of the text's own words, so a passage is shown as
    // written.
    let tokens: Vec<&str> = body.split_whitespace().collect();
    let mut owner: Vec<usize> = Vec::new();
    for (n, t) in tokens.iter().enumerate() {
        let words = fold(t).split(' ').filter(|w| !w.is_empty()).count();
        owner.extend(std::iter::repeat_n(n, words));
    }
    let folded = fold(body);
    let (_, positions) = dedup::shingle_positions(&folded);
    let mut marked = vec![false; tokens.len()];
    for (i, s) in positions.iter().enumerate() {
        if shared.contains(s) {
            for w in i..i + dedup::SHINGLE {
                if let Some(&t) = owner.get(w) {
                    marked[t] = true;
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut n = 0;
    while n < tokens.len() && out.len() < PASSAGES {
        if !marked[n] {
            n += 1;
            continue;
        }
        let start = n;
        while n < tokens.len() && marked[n] {
            n += 1;
        }
        let words = &tokens[start..n];
        let mut text = words
            .iter()
            .take(PASSAGE_WORDS)
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        if words.len() > PASSAGE_WORDS {
            text.push('…');
        }
        out.push(text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passages_are_shown_as_written() {
        let body = "Compartimos: El 12 de noviembre, la defensora María López salió de Tlapa. \
                    Firma la petición.";
        let sig = dedup::signature(
            None,
            "",
            "el 12 de noviembre la defensora maria lopez salio de tlapa",
            0,
        );
        let shared: HashSet<u32> = sig.shingles.iter().copied().collect();
        let p = passages(body, &shared);
        assert_eq!(
            p,
            vec!["El 12 de noviembre, la defensora María López salió de Tlapa.".to_string()]
        );
        assert!(passages(body, &HashSet::new()).is_empty());
    }
}
