//! Completes items from their own pages, for kinds that follow item links (page sources with
//! `follow = true`): each item's page is fetched through the shared [`Fetcher`], one at a
//! time and through its per-host slots (the same politeness as every other request), and
//! handed to the kind's [`Reader::complete`](crate::ingest::kind::Reader::complete). I/O
//! only; reading a page is the kind's, and pure.

use crate::config::Source;
use crate::ingest::decode;
use crate::ingest::fetch::{self, Fetcher};
use crate::ingest::item::RawItem;
use crate::ingest::kind::{self, Document, LocalBase, SourceError};

/// Item pages fetched per run and source, at most.
pub const MAX_FOLLOW: usize = 40;

/// A fetched response read by its kind ([`kind::read`]) and, when the kind follows item
/// links, completed from each item's page.
pub async fn read_and_follow(
    fetcher: &Fetcher,
    source: &Source,
    response: &fetch::Response,
    local: LocalBase,
) -> Result<Document, SourceError> {
    let mut document = kind::read(source, response, local)?;
    follow(fetcher, source, document.items_mut()).await;
    Ok(document)
}

/// Fetches each item's own page and lets the kind take what it needs from it. An item whose
/// page fails keeps what the list page gave.
async fn follow(fetcher: &Fetcher, source: &Source, items: &mut [RawItem]) {
    let reader = source.kind.reader();
    if !reader.follows() {
        return;
    }
    for item in items.iter_mut().take(MAX_FOLLOW) {
        let Some(link) = item.link.as_deref().and_then(|l| url::Url::parse(l).ok()) else {
            continue;
        };
        // The fetcher refuses local files and internal addresses other than the source's.
        let response = match fetcher.get(&link, &source.url, fetch::ACCEPT_PAGE).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!("{}: cannot follow {link}: {e}", source.id);
                continue;
            }
        };
        if response.body.is_none() {
            continue;
        }
        let page = decode::response_text(&response);
        reader.complete(item, &page, &response.final_url, source);
    }
}
