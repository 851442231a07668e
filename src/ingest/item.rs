//! The types items pass through: [`RawItem`] as a parser or scraper found it, [`Item`]
//! after normalization (plain-text title, sanitized HTML, a stable identity).

use chrono::{DateTime, Utc};
use url::Url;

use crate::html::sanitize::SafeHtml;

/// One entry as found in a feed or on a page: untrusted, unnormalized.
#[derive(Debug, Clone, Default)]
pub struct RawItem {
    pub guid: Option<String>,
    pub link: Option<String>,
    /// Title as HTML-ish text (entities decoded, tags possible).
    pub title: Option<String>,
    pub authors: Vec<String>,
    /// Summary HTML (untrusted).
    pub summary: Option<String>,
    /// Full content HTML (untrusted).
    pub content: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub categories: Vec<String>,
    /// Base for relative URLs inside this item (xml:base or the document URL).
    pub base: Option<Url>,
}

/// A normalized, sanitized item ready for the store.
#[derive(Debug, Clone)]
pub struct Item {
    pub source_id: String,
    /// Stable per-source identity: the same entry fetched again has the same key.
    pub key: String,
    pub guid: Option<String>,
    pub link: Option<Url>,
    /// Plain text.
    pub title: String,
    pub author: Option<String>,
    pub summary: SafeHtml,
    pub content: Option<SafeHtml>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub categories: Vec<String>,
    /// Hash of what a reader sees; a change means the item was really updated.
    pub fingerprint: String,
}
