//! The types items pass through: [`RawItem`] as a parser or scraper found it, [`Item`]
//! after normalization (plain-text title, sanitized HTML, a stable identity, and its
//! annotation when the fetch made it).

use chrono::{DateTime, Utc};
use url::Url;

use crate::html::sanitize::SafeHtml;
use crate::store::Annotation;

/// One entry as found in a feed or on a page: untrusted, unnormalized.
#[derive(Debug, Clone, Default)]
pub struct RawItem {
    pub(crate) guid: Option<String>,
    pub(crate) link: Option<String>,
    /// Title as HTML-ish text (entities decoded, tags possible).
    pub title: Option<String>,
    pub(crate) authors: Vec<String>,
    /// Summary HTML (untrusted).
    pub summary: Option<String>,
    /// Full content HTML (untrusted).
    pub content: Option<String>,
    pub(crate) published: Option<DateTime<Utc>>,
    pub(crate) updated: Option<DateTime<Utc>>,
    pub(crate) categories: Vec<String>,
    /// Base for relative URLs inside this item (xml:base or the document URL).
    pub base: Option<Url>,
}

/// A normalized, sanitized item ready for the store.
#[derive(Debug, Clone)]
pub struct Item {
    pub(crate) source_id: String,
    /// Stable per-source identity: the same entry fetched again has the same key.
    pub key: String,
    pub(crate) guid: Option<String>,
    pub(crate) link: Option<Url>,
    /// Plain text.
    pub title: String,
    pub(crate) author: Option<String>,
    pub(crate) summary: SafeHtml,
    pub(crate) content: Option<SafeHtml>,
    pub(crate) published: Option<DateTime<Utc>>,
    pub(crate) updated: Option<DateTime<Utc>>,
    pub(crate) categories: Vec<String>,
    /// Hash of what a reader sees; a change means the item was really updated.
    pub fingerprint: String,
    /// Its annotation, when the fetch annotated it as it read it (else annotation reads it
    /// back from the store).
    pub(crate) annotation: Option<Annotation>,
}
