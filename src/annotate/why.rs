//! Why an item is where it is, in terms an editor can check: which story it was folded into
//! (or why it stands alone), the reason and score, the boilerplate set aside, and the text
//! it shares with the story's primary beyond that boilerplate. Reads the store; hands
//! [`Why`] to `boletin items why`.

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
    /// Its primary first (for a copy), then its candidates' primaries, as judged now.
    pub compared: Vec<Against>,
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
