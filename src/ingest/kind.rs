//! What each kind of source is, in one place: the documents to ask for, how a fetched one
//! is read into [`RawItem`]s, and whether items are completed from their own pages.
//!
//! A kind is a [`Reader`]; [`SourceKind::reader`] is the one `match` on the config's kinds.
//! [`read`] is the one path from a fetched response to a [`Document`] (decode → the base
//! links resolve against → the kind's reader), shared by the fetch run and `inspect`. Pure:
//! fetching item pages for kinds that follow is [`super::follow`]'s.

use url::Url;

use crate::annotate::Annotator;
use crate::config::{ScrapeRules, Source, SourceKind};
use crate::ingest::feed::parse::{self, ParsedFeed};
use crate::ingest::fetch::{self, Disposition, FetchError};
use crate::ingest::item::{Item, RawItem};
use crate::ingest::{decode, normalize, scrape};

/// Why one source produced no items this run.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The document could not be retrieved (network, HTTP status, size or time limits).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The document does not read as RSS, Atom or JSON Feed.
    #[error(transparent)]
    Parse(#[from] parse::ParseError),
    /// The page did not yield to its scrape rules (e.g. the item selector matched nothing).
    #[error(transparent)]
    Scrape(#[from] scrape::ScrapeError),
}

impl SourceError {
    /// Whether to try again, and when: a document that cannot be read is retried with
    /// backoff like a transient fetch failure (the site may fix it).
    pub fn disposition(&self) -> Disposition {
        match self {
            SourceError::Fetch(e) => e.disposition(),
            _ => Disposition::Backoff,
        }
    }
}

/// One kind of source: everything the fetch run and `inspect` need to know about it.
pub trait Reader: Sync {
    /// The `Accept` header its documents are asked for with.
    fn accept(&self) -> &'static str;

    /// Reads one decoded document of `source`; relative links resolve against `base`.
    fn read(&self, text: &str, base: &Url, source: &Source) -> Result<Document, SourceError>;

    /// Whether each item's own page is fetched and handed to [`Reader::complete`].
    fn follows(&self) -> bool {
        false
    }

    /// Completes `item` from the decoded text of its own page, found at `page_url`.
    fn complete(&self, _item: &mut RawItem, _page: &str, _page_url: &Url, _source: &Source) {}
}

impl SourceKind {
    /// The reader of this kind of source. A new kind is one arm here and its [`Reader`].
    pub fn reader(&self) -> &dyn Reader {
        match self {
            SourceKind::Feed => &FeedReader,
            SourceKind::Page(rules) => rules.as_ref(),
        }
    }
}

/// RSS, Atom and JSON Feed documents.
struct FeedReader;

impl Reader for FeedReader {
    fn accept(&self) -> &'static str {
        fetch::ACCEPT_FEED
    }

    fn read(&self, text: &str, base: &Url, source: &Source) -> Result<Document, SourceError> {
        let feed = parse::parse_feed_with(text, base, source.timezone, source.day_order)?;
        Ok(Document::Feed(feed))
    }
}

/// News pages, scraped with the source's CSS rules.
impl Reader for ScrapeRules {
    fn accept(&self) -> &'static str {
        fetch::ACCEPT_PAGE
    }

    fn read(&self, text: &str, base: &Url, source: &Source) -> Result<Document, SourceError> {
        let items = scrape::scrape_page_with(text, base, self, source.timezone, source.day_order)?;
        Ok(Document::Entries(items))
    }

    fn follows(&self) -> bool {
        self.follow
    }

    fn complete(&self, item: &mut RawItem, page: &str, page_url: &Url, source: &Source) {
        scrape::enrich_from_page(
            item,
            page,
            page_url,
            self,
            source.timezone,
            source.day_order,
        );
    }
}

/// A fetched document as its kind read it.
#[derive(Debug)]
pub enum Document {
    /// A feed: its entries and what it says about itself (title, home page, `<ttl>`).
    Feed(ParsedFeed),
    /// Entries only: the source's config describes the document (pages).
    Entries(Vec<RawItem>),
}

impl Document {
    /// The entries, for completing them in place.
    pub fn items_mut(&mut self) -> &mut Vec<RawItem> {
        match self {
            Document::Feed(feed) => &mut feed.items,
            Document::Entries(items) => items,
        }
    }

    /// The entries as the store takes them (normalized; those without title and link
    /// dropped; annotated when an `annotator` is given), and the publisher's polling hint
    /// (RSS `<ttl>`, minutes).
    pub fn into_items(
        self,
        source: &Source,
        annotator: Option<&Annotator>,
    ) -> (Vec<Item>, Option<u32>) {
        let (raw, ttl) = match self {
            Document::Feed(feed) => (feed.items, feed.ttl_minutes),
            Document::Entries(items) => (items, None),
        };
        let items = raw
            .into_iter()
            .filter_map(|r| normalize::normalize_with(source, r, annotator))
            .collect();
        (items, ttl)
    }

    /// The home page the document names (a feed's `alternate` link), when it is on the web.
    fn home(&self) -> Option<Url> {
        match self {
            Document::Feed(feed) => feed
                .link
                .as_deref()
                .and_then(|l| Url::parse(l).ok())
                .filter(|home| matches!(home.scheme(), "http" | "https")),
            Document::Entries(_) => None,
        }
    }
}

/// What relative links in a local file resolve against when its source gives no `site`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalBase {
    /// The file's own URL: what the fetch run stores.
    File,
    /// The home page the document names, when it names one on the web: `inspect FILE`
    /// shows a downloaded feed's links as they are on its site.
    Home,
}

/// The one path from a fetched response to a document: decode the body, take the base its
/// relative links resolve against, and read it as the source's kind says.
pub fn read(
    source: &Source,
    response: &fetch::Response,
    local: LocalBase,
) -> Result<Document, SourceError> {
    let text = decode::response_text(response);
    let base = document_base(source, response);
    let reader = source.kind.reader();
    let document = reader.read(&text, &base, source)?;
    let rebase = local == LocalBase::Home && base.scheme() == "file";
    match document.home().filter(|_| rebase) {
        Some(home) => reader.read(&text, &home, source),
        None => Ok(document),
    }
}

/// Where relative links in a fetched document resolve: where it was finally found, or the
/// source's `site` (else the file itself) for local files.
fn document_base(source: &Source, response: &fetch::Response) -> Url {
    if source.url.scheme() == "file" {
        source.base_url().clone()
    } else {
        response.final_url.clone()
    }
}
