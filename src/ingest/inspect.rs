//! The stable JSON view of one source that `boletin inspect` prints: what boletin would
//! store, without touching the database. Pure: parsed items in, a serializable view out.
//!
//! Shape (documented in the README, kept stable for scripts):
//! `{"feed": {title, link, id, updated, published, authors}, "entries": [{id, title, link,
//! published, updated, authors, summary, content, categories, enclosures}]}`. Dates are
//! RFC 3339 in UTC or null, titles plain text, summary and content sanitized HTML. Each
//! entry also carries `key` (the stable identity the store uses) and `date_missing`
//! (true when the source gave no parsable date: the store then keeps the first-seen time).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::config::Source;
use crate::html::{sanitize, text};
use crate::ingest::feed::parse::{Enclosure, EntryDetail, ParsedFeed, Person};
use crate::ingest::item::RawItem;
use crate::ingest::kind::Document;
use crate::ingest::normalize;

/// The whole document.
#[derive(Debug, Serialize)]
pub struct View {
    /// The document's own metadata (for a page, what the source config says).
    pub feed: FeedView,
    /// Entries in document order; those with neither title nor link, which the store skips,
    /// are left out.
    pub entries: Vec<EntryView>,
}

/// The feed's own metadata (pages: only what the source config says).
#[derive(Debug, Default, Serialize)]
pub struct FeedView {
    /// Plain-text title; for a page, the source's name.
    pub title: Option<String>,
    /// The site's link, made absolute; for a page, the page's URL.
    pub link: Option<String>,
    /// The feed's id: Atom `<id>`, else a hash of its link made by the parser; null for
    /// pages.
    pub id: Option<String>,
    /// When the feed says it last changed: RFC 3339 in UTC, or null.
    pub updated: Option<String>,
    /// When the feed says it was published: RFC 3339 in UTC, or null.
    pub published: Option<String>,
    /// The feed-level authors as given.
    pub authors: Vec<Person>,
}

/// One entry as it would be stored.
#[derive(Debug, Serialize)]
pub struct EntryView {
    /// The id the source gave (GUID, Atom id, JSON Feed id), or null.
    pub id: Option<String>,
    /// The identity the store uses: from the id, else the link, else title and date.
    pub key: String,
    /// Plain text; the first words of the body when the entry has no title.
    pub title: String,
    /// Absolute http(s) URL, tracking parameters removed; null when the entry has none.
    pub link: Option<String>,
    /// Publication date, else the update date: RFC 3339 in UTC, or null.
    pub published: Option<String>,
    /// Last-update date: RFC 3339 in UTC, or null.
    pub updated: Option<String>,
    /// No parsable date: stored with `published: null`, sorted by first-seen time.
    pub date_missing: bool,
    /// Authors as the entry gives them (for a page, names only).
    pub authors: Vec<Person>,
    /// Sanitized HTML; the content's first 60 words when the entry has no summary.
    pub summary: String,
    /// Sanitized full-text HTML; null when the entry has only a summary.
    pub content: Option<String>,
    /// Categories as the entry gives them.
    pub categories: Vec<String>,
    /// Attached media files, URLs made absolute (feeds only).
    pub enclosures: Vec<Enclosure>,
}

fn rfc3339(d: Option<DateTime<Utc>>) -> Option<String> {
    d.map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// The view of a document as `source` would store it: a feed describes itself, a page is
/// described by the source's config.
pub fn view(source: &Source, document: Document) -> View {
    match document {
        Document::Feed(feed) => feed_view(source, feed),
        Document::Entries(items) => page_view(source, items),
    }
}

/// The view of a parsed feed as `source` would store it.
pub fn feed_view(source: &Source, feed: ParsedFeed) -> View {
    feed_view_with(source, feed, false)
}

/// [`feed_view`], optionally keeping entries the store would skip (no title and no link),
/// with an empty `key`: the conformance runner scores the parser on those too.
pub fn feed_view_with(source: &Source, feed: ParsedFeed, keep_all: bool) -> View {
    let base = source.base_url().clone();
    let meta = FeedView {
        title: feed
            .title
            .as_deref()
            .map(text::to_text)
            .filter(|t| !t.is_empty()),
        link: feed
            .link
            .as_deref()
            .and_then(|l| base.join(l).ok())
            .map(String::from),
        id: feed.id,
        updated: rfc3339(feed.updated),
        published: rfc3339(feed.published),
        authors: feed.authors,
    };
    View {
        feed: meta,
        entries: entries(
            source,
            feed.items.into_iter().zip(feed.details).collect(),
            keep_all,
        ),
    }
}

/// The view of entries the source's config describes (a scraped page).
fn page_view(source: &Source, items: Vec<RawItem>) -> View {
    let pairs = items
        .into_iter()
        .map(|item| {
            let authors = item
                .authors
                .iter()
                .map(|a| Person {
                    name: Some(a.clone()),
                    ..Person::default()
                })
                .collect();
            (
                item,
                EntryDetail {
                    authors,
                    enclosures: Vec::new(),
                },
            )
        })
        .collect();
    View {
        feed: FeedView {
            title: Some(source.name.clone()).filter(|n| !n.is_empty()),
            link: Some(source.url.to_string()),
            ..FeedView::default()
        },
        entries: entries(source, pairs, false),
    }
}

/// What `normalize` makes of an entry it would not store, for `keep_all`.
fn unstored(source: &Source, raw: RawItem) -> crate::ingest::item::Item {
    let base = raw
        .base
        .clone()
        .unwrap_or_else(|| source.base_url().clone());
    let clean = |h: &Option<String>| h.as_deref().map(|h| sanitize::sanitize(h, &base));
    crate::ingest::item::Item {
        source_id: source.id.clone(),
        key: String::new(),
        guid: raw.guid.clone(),
        link: None,
        title: raw.title.as_deref().map(text::to_text).unwrap_or_default(),
        author: None,
        summary: clean(&raw.summary).unwrap_or_else(|| sanitize::SafeHtml::from_text("")),
        content: clean(&raw.content),
        published: raw.published.or(raw.updated),
        updated: raw.updated,
        categories: raw.categories,
        fingerprint: String::new(),
        annotation: None,
    }
}

fn entries(source: &Source, pairs: Vec<(RawItem, EntryDetail)>, keep_all: bool) -> Vec<EntryView> {
    pairs
        .into_iter()
        .filter_map(|(raw, detail)| {
            let base = raw
                .base
                .clone()
                .unwrap_or_else(|| source.base_url().clone());
            let raw_guid = raw.guid.clone();
            // A copy (content and all) only for showing what normalize drops.
            let kept = keep_all.then(|| raw.clone());
            let item = match (normalize::normalize(source, raw), kept) {
                (Some(item), _) => item,
                (None, Some(raw)) => unstored(source, raw),
                (None, None) => return None,
            };
            let enclosures = detail
                .enclosures
                .into_iter()
                .filter_map(|e| {
                    let url = base.join(e.url.trim()).ok()?;
                    Some(Enclosure {
                        url: url.to_string(),
                        ..e
                    })
                })
                .collect();
            Some(EntryView {
                id: raw_guid.map(|g| g.trim().to_string()),
                key: item.key,
                title: item.title,
                link: item.link.map(String::from),
                published: rfc3339(item.published),
                updated: rfc3339(item.updated),
                date_missing: item.published.is_none(),
                authors: detail.authors,
                summary: item.summary.into_string(),
                content: item.content.map(|c| c.into_string()),
                categories: item.categories,
                enclosures,
            })
        })
        .collect()
}
