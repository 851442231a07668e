//! Finds the feeds of a web site for `boletin add`, and drafts a page rule when it has none.
//!
//! Order: the URL itself when it already is a feed; the page's `<link rel="alternate">`
//! declarations (RSS, Atom, JSON Feed); then the paths publishing tools use by default
//! (`/feed/` for WordPress, `/rss.xml` for Drupal, `/index.xml` for Hugo, …). Every request
//! goes through the shared [`Fetcher`] and its per-host slots, for the URL the editor gave:
//! a page can declare any feed it likes, but only http(s) feeds that answer from the public
//! internet (or from that URL's own origin) are ever offered, so `add` never writes a local
//! file or an internal address into feeds.toml. What each answer says is read by [`page`],
//! which is pure and tested on its own. Hands on a [`Discovery`].

pub mod name;
pub mod page;
pub mod rule;

use url::Url;

pub use page::{FeedKind, FoundFeed, feed_links, sniff};
pub use rule::starter_rule;

use crate::ingest::decode;
use crate::ingest::fetch::{self, FetchError, Fetcher};
use page::{as_feed, html_title};

/// What discovery learned about a URL.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Discovery {
    /// Where the page was finally found.
    pub page: Url,
    /// The site's name as the page gives it (`og:site_name`, else `<title>`).
    pub page_title: Option<String>,
    /// Best first.
    pub feeds: Vec<FoundFeed>,
    /// A `[source.scrape]` draft when no feed was found and the page is HTML.
    pub page_rule: Option<String>,
}

/// Paths tried when the page declares no feed, most common first.
pub const COMMON_PATHS: &[&str] = &[
    "/feed/",
    "/rss.xml",
    "/atom.xml",
    "/feed.json",
    "/index.xml",
    "/feed.xml",
    "/rss/",
    "/index.rss",
    "/?feed=rss2",
    "/blog/feed/",
    "/noticias/feed/",
];

/// Fetches `url` and finds its feeds.
pub async fn discover(fetcher: &Fetcher, url: &Url) -> Result<Discovery, FetchError> {
    let response = fetcher.get(url, url, fetch::ACCEPT_PAGE).await?;
    let page = response.final_url.clone();
    let text = decode::response_text(&response);
    if let Some(feed) = as_feed(&text, &page) {
        return Ok(Discovery {
            page,
            page_title: None,
            feeds: vec![feed],
            page_rule: None,
        });
    }
    let page_title = html_title(&text);
    let mut feeds = Vec::new();
    for declared in feed_links(&text, &page) {
        // A declared feed that does not answer with a feed is not worth adding.
        if let Some(answered) = probe(fetcher, &declared.url, url).await {
            feeds.push(FoundFeed {
                url: declared.url,
                kind: answered.kind,
                title: declared.title.or(answered.title),
            });
        }
    }
    if feeds.is_empty() {
        for path in COMMON_PATHS {
            let Ok(candidate) = page.join(path) else {
                continue;
            };
            if let Some(found) = probe(fetcher, &candidate, url).await {
                feeds.push(found);
                break;
            }
        }
    }
    let page_rule = feeds.is_empty().then(|| starter_rule(&text));
    Ok(Discovery {
        page,
        page_title,
        feeds,
        page_rule,
    })
}

/// Asks `url` for a feed, for the editor's `origin`: the feed where it finally answered,
/// when the answer is one.
async fn probe(fetcher: &Fetcher, url: &Url, origin: &Url) -> Option<FoundFeed> {
    let response = fetcher.get(url, origin, fetch::ACCEPT_FEED).await.ok()?;
    as_feed(&decode::response_text(&response), &response.final_url)
}
