//! After items are stored: each new or changed item gets its language, region/topic/source
//! tags, an excerpt of `excerpt_words` words (plain and HTML), a search entry and a place
//! in a story (primary, or a copy of another partner's item).
//!
//! Runs after the fetch commits (so it never slows or blocks the concurrent fetch) and
//! works on whatever is pending, so an interrupted run is finished by the next one.
//! Editing the gazetteer, a source's tags or language, or `excerpt_words` re-annotates
//! every item on the next run.

use std::collections::HashMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::{Config, Source};
use crate::dedup;
use crate::fold::slug;
use crate::normalize;
use crate::sanitize;
use crate::store::{Annotation, PendingItem, Store, StoreError};
use crate::tag::{self, Gazetteer, TagError};

/// Pending items read from the store at a time.
const PAGE: usize = 256;

/// Why annotation failed.
#[derive(Debug, thiserror::Error)]
pub enum AnnotateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Gazetteer(#[from] TagError),
}

/// What one annotation pass did.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct AnnotateReport {
    pub annotated: usize,
    /// Items found to repeat another partner's story in this pass.
    pub duplicates: usize,
}

/// Everything annotation reads from the config.
pub struct Annotator {
    gazetteer: Gazetteer,
    excerpt_words: usize,
    sources: HashMap<String, (Vec<String>, Option<&'static str>)>,
    stamp: String,
}

impl Annotator {
    /// The annotator for `config`: its gazetteer (or the built-in one), excerpt length,
    /// and each source's tags and language.
    pub fn from_config(config: &Config) -> Result<Annotator, TagError> {
        let (gazetteer, gaz_text) = match &config.newsletter.gazetteer {
            Some(path) => {
                let g = Gazetteer::load(path)?;
                (g, std::fs::read_to_string(path).unwrap_or_default())
            }
            None => (Gazetteer::default(), tag::DEFAULT_GAZETTEER.to_string()),
        };
        Ok(Annotator::new(
            gazetteer,
            &gaz_text,
            config.newsletter.excerpt_words,
            &config.sources,
        ))
    }

    pub fn new(
        gazetteer: Gazetteer,
        gazetteer_text: &str,
        excerpt_words: usize,
        sources: &[Source],
    ) -> Annotator {
        let mut h = Sha256::new();
        h.update(gazetteer_text.as_bytes());
        h.update(excerpt_words.to_le_bytes());
        let mut map = HashMap::new();
        for s in sources {
            let tags: Vec<String> = s
                .tags
                .iter()
                .map(|t| slug(t))
                .filter(|t| !t.is_empty())
                .collect();
            let lang = s.language.map(|l| l.code());
            h.update(format!("{}\0{:?}\0{:?}\n", s.id, tags, lang).as_bytes());
            map.insert(s.id.clone(), (tags, lang));
        }
        let stamp = h
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        Annotator {
            gazetteer,
            excerpt_words,
            sources: map,
            stamp,
        }
    }

    /// The annotation of one stored item.
    pub fn annotate(&self, item: &PendingItem) -> Annotation {
        let html = item.content.as_ref().unwrap_or(&item.summary);
        let mut body = sanitize::to_text(html.as_str());
        if body.is_empty() {
            body = sanitize::to_text(item.summary.as_str());
        }
        let text = format!("{}\n{}", item.title, body);
        let (source_tags, source_lang) = self
            .sources
            .get(&item.source_id)
            .map(|(t, l)| (t.as_slice(), *l))
            .unwrap_or((&[], None));
        let language = source_lang
            .or_else(|| tag::detect_language(&text))
            .map(str::to_string);
        let mut tags = self.gazetteer.tag(&text);
        tags.extend(source_tags.iter().cloned());
        tags.sort();
        tags.dedup();
        let link_key = item
            .link
            .as_deref()
            .and_then(|l| url::Url::parse(l).ok())
            .map(|u| normalize::link_key(&u));
        Annotation {
            language,
            tags,
            excerpt: sanitize::excerpt(&body, self.excerpt_words),
            excerpt_html: sanitize::excerpt_html(html, self.excerpt_words),
            signature: dedup::signature(link_key, &item.title, &body, item.sort_at),
            body,
        }
    }

    /// Annotates every pending item in `store` and links cross-partner duplicates.
    pub fn run(&self, store: &mut Store) -> Result<AnnotateReport, StoreError> {
        let mut report = AnnotateReport::default();
        let mut after = (i64::MIN, i64::MIN);
        loop {
            let page = store.pending_annotation(&self.stamp, after, PAGE)?;
            let Some(last) = page.last() else { break };
            after = (last.sort_at, last.id);
            let annotations = self.annotate_all(&page);
            store.begin_batch()?;
            let done: Result<(), StoreError> = page
                .iter()
                .zip(annotations)
                .try_for_each(|(item, a)| self.store_one(store, item, a, &mut report));
            store.end_batch(done.is_ok())?;
            done?;
        }
        Ok(report)
    }

    /// Annotations of a page, computed on every core: this part is pure CPU (text, language,
    /// tags, MinHash); storing them stays sequential.
    fn annotate_all(&self, page: &[PendingItem]) -> Vec<Annotation> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = page.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let handles: Vec<_> = page
                .chunks(chunk)
                .map(|c| {
                    (
                        c,
                        scope.spawn(move || c.iter().map(|i| self.annotate(i)).collect::<Vec<_>>()),
                    )
                })
                .collect();
            handles
                .into_iter()
                // A worker that died is redone here, so every item keeps its annotation.
                .flat_map(|(c, h)| {
                    h.join()
                        .unwrap_or_else(|_| c.iter().map(|i| self.annotate(i)).collect())
                })
                .collect()
        })
    }

    fn store_one(
        &self,
        store: &mut Store,
        item: &PendingItem,
        a: Annotation,
        report: &mut AnnotateReport,
    ) -> Result<(), StoreError> {
        store.save_annotation(item, &a, &self.stamp)?;
        report.annotated += 1;
        let mut linked = false;
        for other in store.story_candidates(item.id, &item.source_id, &a.signature)? {
            if let Some(reason) = dedup::same_story(&a.signature, &other.signature) {
                store.link_story(item.id, other.id, reason)?;
                linked = true;
            }
        }
        report.duplicates += usize::from(linked);
        Ok(())
    }
}
