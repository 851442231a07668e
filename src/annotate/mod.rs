//! Each new or changed item gets its language, region/topic/source tags, an excerpt of
//! `excerpt_words` words (plain and HTML), a search entry and a place in a story (primary,
//! or a copy of another partner's item).
//!
//! The fetch annotates items as it reads them ([`Annotator::annotate_read`], on the cores
//! parsing them, from the text and tree normalizing made: an item's body is parsed once
//! after the sanitizer) and stores them annotated. [`Annotator::run_with`] then annotates
//! whatever is still pending, reading it back from the store (items stored some other way,
//! an interrupted run's, every item when the config changed), so an interrupted run is
//! finished by the next one; and decides stories in a second pass over everything
//! annotated. Editing the gazetteer, a source's tags or language, or `excerpt_words`
//! re-annotates every item on the next run.

pub mod dedup;
pub mod fold;
pub mod tag;
pub mod why;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::annotate::fold::slug;
use crate::annotate::tag::{Gazetteer, TagError};
use crate::config::{Config, Source};
use crate::html::sanitize::SafeHtml;
use crate::html::text::Parsed;
use crate::html::{excerpt, text};
use crate::ingest::normalize;
use crate::store::{Annotation, AnnotationBatch, PendingItem, Row, Store, StoreError};

/// Pending items read from the store, annotated and written at a time.
const PAGE: usize = 1024;
/// Items annotated per transaction. A page's band keys land all over the band index, so each
/// commit rewrites most of it: committing every 8 pages (not every page) made a first fetch of
/// 1,000 feeds (30,000 items) ~3 s faster. A crash loses at most this much annotation work,
/// which the next run redoes.
const COMMIT_EVERY: usize = 8 * PAGE;
/// Items placed in stories per read of their postings. Each read sweeps the key index (a
/// page's keys are spread all over it), so on a large store fewer, larger reads cost less:
/// with 150,000 items, 1,024 at a time made linking grow faster than the store.
const LINK_PAGE: usize = 8 * PAGE;
/// Longest a transaction of annotations holds the write lock (on a slow machine 8 pages take
/// longer): an editor's command waiting for it gives up after the store's busy timeout.
const MAX_HOLD: std::time::Duration =
    std::time::Duration::from_secs(crate::store::BUSY_TIMEOUT.as_secs() / 5);

/// Why annotation failed.
#[derive(Debug, thiserror::Error)]
pub enum AnnotateError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The gazetteer could not be read.
    #[error(transparent)]
    Gazetteer(#[from] TagError),
}

/// What one annotation pass did.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct AnnotateReport {
    /// Items annotated in this pass.
    pub annotated: usize,
    /// Items found to repeat another partner's story in this pass.
    pub duplicates: usize,
    /// The most candidates judged for one item (bounded by `dedup::CANDIDATES`).
    pub max_candidates: usize,
    /// Cancelled before every pending item was annotated.
    pub stopped: bool,
}

/// Everything annotation reads from the config.
#[derive(Debug)]
pub struct Annotator {
    gazetteer: Gazetteer,
    excerpt_words: usize,
    sources: HashMap<String, (Vec<String>, Option<&'static str>)>,
    stamp: String,
    /// [`PAGE`], [`COMMIT_EVERY`] and [`LINK_PAGE`]; smaller in tests.
    page: usize,
    commit_every: usize,
    link_page: usize,
    /// CPU time spent annotating, summed over threads (nanoseconds).
    cpu: AtomicU64,
}

/// What annotation reads of an item besides its text.
pub(crate) struct Facts<'a> {
    pub(crate) source_id: &'a str,
    pub(crate) title: &'a str,
    /// [`normalize::link_key`] of its link.
    pub(crate) link_key: Option<String>,
    /// Seconds: published, else first seen (the store sets it when it knows).
    pub(crate) date: i64,
}

impl Annotator {
    /// The annotator for `config`: its gazetteer (or the built-in one), excerpt length,
    /// and each source's tags and language.
    pub fn from_config(config: &Config) -> Result<Annotator, TagError> {
        let gazetteer = match &config.newsletter.gazetteer {
            Some(path) => Gazetteer::load(path)?,
            None => Gazetteer::default(),
        };
        Ok(Annotator::new(
            gazetteer,
            config.newsletter.excerpt_words,
            &config.sources,
        ))
    }

    /// The annotator for a gazetteer, an excerpt length and the configured sources.
    pub fn new(gazetteer: Gazetteer, excerpt_words: usize, sources: &[Source]) -> Annotator {
        let mut h = Sha256::new();
        h.update(gazetteer.digest());
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
            page: PAGE,
            commit_every: COMMIT_EVERY,
            link_page: LINK_PAGE,
            cpu: AtomicU64::new(0),
        }
    }

    /// The annotation of one stored item. Its HTML is parsed once, for its text and its
    /// excerpt.
    pub fn annotate(&self, item: &PendingItem) -> Annotation {
        let html = Parsed::new(item.content.as_ref().unwrap_or(&item.summary));
        let link_key = item
            .link
            .as_deref()
            .and_then(|l| url::Url::parse(l).ok())
            .map(|u| normalize::link_key(&u));
        self.annotate_read(
            &Facts {
                source_id: &item.source_id,
                title: &item.title,
                link_key,
                date: item.sort_at,
            },
            (&html, &html.text()),
            || text::to_text(item.summary.as_str()),
        )
    }

    /// The annotation of an item from its HTML as annotation reads it (the content, else
    /// the summary; [`body_text`]) already parsed, with that HTML's text; `summary_text`
    /// gives the summary's text, read when the content has none.
    pub(crate) fn annotate_read(
        &self,
        item: &Facts<'_>,
        (html, text): (&Parsed<'_>, &str),
        summary_text: impl FnOnce() -> String,
    ) -> Annotation {
        let started = thread_cpu();
        let excerpt_html = excerpt::excerpt_html_of(html, text, self.excerpt_words);
        let body = if text.is_empty() {
            summary_text()
        } else {
            text.to_string()
        };
        let annotation = self.annotate_text(item, body, excerpt_html);
        let spent = thread_cpu().saturating_sub(started);
        self.cpu.fetch_add(
            u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        annotation
    }

    /// CPU time spent annotating so far (text, language, tags, excerpts, signatures; not
    /// the parse of the HTML they are read from, nor storing), summed over threads.
    pub fn cpu(&self) -> Duration {
        Duration::from_nanos(self.cpu.load(Ordering::Relaxed))
    }

    /// The stamp stored with annotations made under this config: annotations under
    /// another stamp are made again.
    pub fn stamp(&self) -> &str {
        &self.stamp
    }

    /// The annotation of an item whose body text ([`body_text`]) and HTML excerpt are made.
    fn annotate_text(&self, item: &Facts<'_>, body: String, excerpt_html: SafeHtml) -> Annotation {
        // Language detection reads the first characters only.
        let head = body
            .char_indices()
            .nth(tag::LANGUAGE_SAMPLE)
            .map_or(body.as_str(), |(end, _)| &body[..end]);
        let text = format!("{}\n{head}", item.title);
        let (source_tags, source_lang) = self
            .sources
            .get(item.source_id)
            .map(|(t, l)| (t.as_slice(), *l))
            .unwrap_or((&[], None));
        let language = source_lang
            .or_else(|| tag::detect_language(&text))
            .map(str::to_string);
        // Folded once for both tags and the duplicate signature: fold(title + "\n" + body)
        // is the two folded halves joined by a space.
        let folded_body = fold::fold(&body);
        let folded_title = fold::fold(item.title);
        let folded = match (folded_title.is_empty(), folded_body.is_empty()) {
            (true, _) => folded_body.clone(),
            (false, true) => folded_title,
            (false, false) => format!("{folded_title} {folded_body}"),
        };
        let mut tags = self.gazetteer.tag_folded(&folded);
        tags.extend(source_tags.iter().cloned());
        tags.sort();
        tags.dedup();
        // The one place excerpts are made: annotation has the configured length, and its
        // stamp redoes every excerpt when that length changes.
        Annotation {
            language,
            tags,
            excerpt: excerpt::excerpt(&body, self.excerpt_words),
            excerpt_html,
            signature: dedup::signature_folded(
                item.link_key.clone(),
                item.title,
                &folded_body,
                item.date,
            ),
            body,
        }
    }

    /// Annotates every pending item in `store` and places it in its story.
    pub fn run(&self, store: &mut Store) -> Result<AnnotateReport, StoreError> {
        self.run_with(store, &AtomicBool::new(false), &mut |_| {})
    }

    /// [`Annotator::run`] in two passes. First every pending item is annotated, a page at a
    /// time (each page computed on the other cores while the previous one is written),
    /// its source's boilerplate flagged and its candidate keys stored; then every item not
    /// yet placed is judged against its candidates' primaries, in id order. Judging after
    /// the whole first pass means a first fetch knows all of its own boilerplate before it
    /// decides any story. `on_page` gets the number of items annotated so far. When `cancel`
    /// is set it stops after the page in hand and commits; the next run does the rest.
    pub fn run_with(
        &self,
        store: &mut Store,
        cancel: &AtomicBool,
        on_page: &mut dyn FnMut(usize),
    ) -> Result<AnnotateReport, StoreError> {
        let mut report = self.annotate_pending(store, cancel, on_page)?;
        if report.stopped {
            return Ok(report);
        }
        let batch = store.annotation_batch()?;
        let mut stopped = false;
        // Linking is cheap per item; it is committed with the batch at the end (a crash
        // leaves items unplaced, and the next run places them).
        let linked = batch.link_unlinked(self.link_page, &mut || {
            stopped = cancel.load(Ordering::Relaxed);
            !stopped
        })?;
        batch.commit()?;
        report.duplicates = linked.copies;
        report.max_candidates = linked.max_candidates;
        report.stopped = stopped;
        Ok(report)
    }

    /// The first pass of [`Annotator::run_with`]: annotations, flags and keys.
    fn annotate_pending(
        &self,
        store: &mut Store,
        cancel: &AtomicBool,
        on_page: &mut dyn FnMut(usize),
    ) -> Result<AnnotateReport, StoreError> {
        let mut report = AnnotateReport::default();
        let mut batch = store.annotation_batch()?;
        let mut held = std::time::Instant::now();
        let mut uncommitted = 0;
        let mut page = batch.pending(&self.stamp, i64::MIN, self.page)?;
        let mut annotations = self.annotate_all(&page);
        while let Some(last) = page.last() {
            let next = batch.pending(&self.stamp, last.id, self.page)?;
            let (stored, next_annotations) = std::thread::scope(|scope| {
                let computing = scope.spawn(|| self.annotate_all(&next));
                let stored = self.store_page(&batch, &page, &mut annotations);
                // A computation that died is redone here, so every item keeps its annotation.
                let next_annotations = computing
                    .join()
                    .unwrap_or_else(|_| self.annotate_all(&next));
                (stored, next_annotations)
            });
            stored?;
            report.annotated += page.len();
            on_page(report.annotated);
            if cancel.load(Ordering::Relaxed) {
                report.stopped = true;
                break;
            }
            uncommitted += page.len();
            if uncommitted >= self.commit_every || held.elapsed() >= MAX_HOLD {
                batch.commit()?;
                crate::store::make_way();
                batch = store.annotation_batch()?;
                held = std::time::Instant::now();
                uncommitted = 0;
            }
            page = next;
            annotations = next_annotations;
        }
        batch.commit()?;
        Ok(report)
    }

    /// Annotations of a page, computed on every core: this part is pure CPU (text, language,
    /// tags, shingles); storing them stays sequential.
    fn annotate_all(&self, page: &[PendingItem]) -> Vec<Annotation> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = page.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let handles: Vec<_> = page
                .chunks(chunk)
                .map(|c| {
                    // Named, so a profile (and the fetch bench) can tell annotation's CPU.
                    let worker = std::thread::Builder::new()
                        .name("annotate".into())
                        .spawn_scoped(scope, move || {
                            c.iter().map(|i| self.annotate(i)).collect::<Vec<_>>()
                        });
                    (c, worker)
                })
                .collect();
            handles
                .into_iter()
                // A worker that died (or never started) is redone here, so every item keeps
                // its annotation.
                .flat_map(|(c, h)| {
                    h.ok()
                        .and_then(|h| h.join().ok())
                        .unwrap_or_else(|| c.iter().map(|i| self.annotate(i)).collect())
                })
                .collect()
        })
    }

    /// Flags each source's boilerplate in a page's signatures, then writes the page.
    fn store_page(
        &self,
        batch: &AnnotationBatch<'_>,
        page: &[PendingItem],
        annotations: &mut [Annotation],
    ) -> Result<(), StoreError> {
        let rows: Vec<Row<'_>> = page.iter().map(PendingItem::row).collect();
        batch.flag_boilerplate(&rows, annotations)?;
        let pairs: Vec<(Row<'_>, &Annotation)> = rows.into_iter().zip(annotations.iter()).collect();
        batch.save(&pairs, &self.stamp)
    }
}

/// An item's text as annotation reads it: its content, else (or when the content has no
/// text) its summary.
pub(crate) fn body_text(content: Option<&SafeHtml>, summary: &SafeHtml) -> String {
    let html = content.unwrap_or(summary);
    let body = text::to_text(html.as_str());
    if body.is_empty() {
        text::to_text(summary.as_str())
    } else {
        body
    }
}

/// The calling thread's CPU time (zero where the system does not tell).
fn thread_cpu() -> Duration {
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        Duration::new(
            u64::try_from(t.tv_sec).unwrap_or(0),
            u32::try_from(t.tv_nsec).unwrap_or(0),
        )
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    Duration::ZERO
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::Annotator;
    use crate::annotate::tag::Gazetteer;
    use crate::html::sanitize::SafeHtml;
    use crate::ingest::item::Item;
    use crate::store::{ItemQuery, SourceState, Store};

    /// Three different stories every source re-posts.
    const STORIES: [&str; 3] = [
        "Las autoridades del estado de Guerrero deben localizar con vida a la defensora \
         comunitaria María López, desaparecida el 12 de noviembre tras salir de una reunión de \
         la asamblea en Tlapa de Comonfort. Su familia denunció la desaparición ante la Fiscalía \
         y exige que se active el protocolo de búsqueda inmediata. Organizaciones de la Montaña \
         señalan que había recibido amenazas por su trabajo contra la minería.",
        "More than three hundred migrants remain stranded in Tapachula after the refugee agency \
         suspended appointments again this week. Shelters along the southern border report \
         overcrowding, families sleeping in the central park and children without access to \
         school, while the National Guard keeps checkpoints on every road leaving the city \
         toward the north of Chiapas.",
        "La asamblea de Capulálpam de Méndez rechazó por unanimidad la reapertura de la mina de \
         oro y plata en la Sierra Juárez. Las comunidades zapotecas recuerdan que los \
         manantiales se secaron durante la última concesión y exigen que el gobierno federal \
         respete su derecho a la consulta previa, libre e informada antes de cualquier permiso.",
    ];

    /// Item `n` of `source`: stories 0, 3 and 6 are re-posted by every source (the first by
    /// link, the others by their text under another title); the rest are each source's own.
    fn item(source: &str, n: u32) -> Item {
        let shared = n.is_multiple_of(3);
        let link = if n == 0 {
            "https://tlachinollan.example.org/accion-urgente/".to_string()
        } else {
            format!("https://{source}.example.org/{n}/")
        };
        let body = if shared {
            format!("Compartimos desde {source}: {}", STORIES[n as usize / 3])
        } else {
            format!("{source} {n}: nota propia sobre la asamblea comunitaria número {n} en Oaxaca.")
        };
        Item {
            source_id: source.into(),
            key: format!("{source}-{n}"),
            guid: None,
            link: url::Url::parse(&link).ok(),
            title: format!("{source}: nota {n}"),
            author: None,
            summary: SafeHtml::from_text(&body),
            content: None,
            published: Utc.with_ymd_and_hms(2026, 11, 1 + n, 12, 0, 0).single(),
            updated: None,
            categories: vec![],
            fingerprint: format!("fp-{source}-{n}"),
            annotation: None,
        }
    }

    /// (source, title, primary's title) of every item after annotating with these page sizes.
    fn stories(page: usize, commit_every: usize) -> Vec<(String, String, Option<String>)> {
        let dir = tempfile::tempdir().unwrap_or_else(|_| unreachable!());
        let mut store = Store::open(&dir.path().join("t.db")).unwrap_or_else(|_| unreachable!());
        for source in ["cdh", "red", "frontera"] {
            let state = SourceState {
                id: source.into(),
                ..SourceState::default()
            };
            let items: Vec<Item> = (0..8).map(|n| item(source, n)).collect();
            store
                .commit_source(&state, &items, Utc::now())
                .unwrap_or_else(|_| unreachable!());
        }
        let mut annotator = Annotator::new(Gazetteer::default(), 60, &[]);
        (annotator.page, annotator.commit_every, annotator.link_page) = (page, commit_every, page);
        let report = annotator.run(&mut store).unwrap_or_else(|_| unreachable!());
        assert_eq!(report.annotated, 24);
        assert_eq!(annotator.run(&mut store).map(|r| r.annotated).ok(), Some(0));
        let all = store
            .items(&ItemQuery::default())
            .unwrap_or_else(|_| unreachable!());
        let title = |id: Option<i64>| {
            id.and_then(|id| all.iter().find(|i| i.id == id))
                .map(|i| i.title.clone())
        };
        let mut out: Vec<_> = all
            .iter()
            .map(|i| (i.source_id.clone(), i.title.clone(), title(i.duplicate_of)))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn a_cancelled_run_keeps_its_pages_and_the_next_run_finishes() {
        let dir = tempfile::tempdir().unwrap_or_else(|_| unreachable!());
        let mut store = Store::open(&dir.path().join("t.db")).unwrap_or_else(|_| unreachable!());
        let state = SourceState {
            id: "cdh".into(),
            ..SourceState::default()
        };
        let items: Vec<Item> = (0..8).map(|n| item("cdh", n)).collect();
        store
            .commit_source(&state, &items, Utc::now())
            .unwrap_or_else(|_| unreachable!());
        let mut annotator = Annotator::new(Gazetteer::default(), 60, &[]);
        (annotator.page, annotator.commit_every, annotator.link_page) = (3, 100, 3);
        let cancel = std::sync::atomic::AtomicBool::new(true);
        let mut seen = Vec::new();
        let first = annotator
            .run_with(&mut store, &cancel, &mut |n| seen.push(n))
            .unwrap_or_else(|_| unreachable!());
        assert_eq!((first.annotated, first.stopped, seen), (3, true, vec![3]));
        let languages = |store: &Store| {
            store
                .items(&ItemQuery::default())
                .unwrap_or_else(|_| unreachable!())
                .iter()
                .filter(|i| i.language.is_some())
                .count()
        };
        assert_eq!(languages(&store), 3, "the stopped run's page was committed");
        let rest = annotator.run(&mut store).unwrap_or_else(|_| unreachable!());
        assert_eq!((rest.annotated, rest.stopped), (5, false));
        assert_eq!(languages(&store), 8);
    }

    #[test]
    fn pages_and_commits_of_any_size_give_the_same_stories() {
        let whole = stories(1024, 8192);
        // Stories 0, 3 and 6 each fold into one primary; nothing else is a copy.
        let copies = whole.iter().filter(|(_, _, p)| p.is_some()).count();
        assert_eq!(copies, 6, "{whole:#?}");
        assert_eq!(stories(2, 3), whole);
        assert_eq!(stories(1, 1), whole);
    }
}
