//! Parses feed documents (RSS 0.9x/1.0/2.0, Atom, JSON Feed) into [`RawItem`]s with
//! feed-rs. Text in, items out: no I/O, no sanitizing (that is `normalize`'s job).

use chrono_tz::Tz;
use feed_rs::model::{Entry, Text};
use url::Url;

use crate::date::{self, DayOrder};
use crate::item::RawItem;

/// Why a document is not a readable feed.
#[derive(Debug, thiserror::Error)]
#[error("not a readable feed: {0}")]
pub struct ParseError(String);

/// What a feed document holds.
#[derive(Debug, Default)]
pub struct ParsedFeed {
    pub title: Option<String>,
    /// RSS `<ttl>` in minutes: the publisher asks not to be polled more often.
    pub ttl_minutes: Option<u32>,
    pub items: Vec<RawItem>,
}

/// Parses `text` (already decoded to UTF-8); relative links resolve against `base`.
pub fn parse_feed(text: &str, base: &Url, tz: Tz) -> Result<ParsedFeed, ParseError> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        // An empty id tells us the feed gave none; identity is decided in `normalize`.
        .id_generator(|_, _, _| String::new())
        .sanitize_content(false)
        .timestamp_parser(move |s| date::parse(s, tz, None, DayOrder::DayFirst))
        .build();
    let feed = parser
        .parse(text.trim_start().as_bytes())
        .map_err(|e| ParseError(e.to_string()))?;
    let items = feed
        .entries
        .into_iter()
        .map(|e| raw_item(e, base))
        .collect();
    Ok(ParsedFeed {
        title: feed.title.map(|t| t.content),
        ttl_minutes: feed.ttl,
        items,
    })
}

fn html_of(text: Text) -> String {
    if text.content_type.to_string().contains("html") {
        text.content
    } else {
        crate::sanitize::escape(&text.content)
    }
}

fn raw_item(entry: Entry, base: &Url) -> RawItem {
    let item_base = entry
        .base
        .as_deref()
        .and_then(|b| base.join(b).ok())
        .unwrap_or_else(|| base.clone());
    let link = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| entry.links.first())
        .map(|l| l.href.trim().to_string())
        .filter(|h| !h.is_empty());
    let content = entry.content.and_then(|c| {
        let html = c.content_type.to_string().contains("html");
        c.body
            .map(|b| if html { b } else { crate::sanitize::escape(&b) })
    });
    let authors = entry
        .authors
        .into_iter()
        .map(|p| p.name.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    let categories = entry
        .categories
        .into_iter()
        .map(|c| c.label.unwrap_or(c.term).trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    RawItem {
        guid: Some(entry.id).filter(|id| !id.trim().is_empty()),
        link,
        title: entry.title.map(|t| t.content),
        authors,
        summary: entry.summary.map(html_of),
        content,
        published: entry.published,
        updated: entry.updated,
        categories,
        base: Some(item_base),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_without_guid_has_no_invented_id() {
        let xml = r#"<rss version="2.0"><channel><title>t</title><ttl>120</ttl>
            <item><title>Marcha en Oaxaca</title><link>/2026/11/marcha</link>
            <pubDate>Tue, 17 Nov 2026 09:00:00 -0600</pubDate></item></channel></rss>"#;
        let base = Url::parse("https://educa.example.org/feed/").unwrap_or_else(|_| unreachable!());
        let feed =
            parse_feed(xml, &base, chrono_tz::America::Mexico_City).map_err(|e| e.to_string());
        let feed = feed.as_ref();
        assert_eq!(feed.map(|f| f.ttl_minutes), Ok(Some(120)));
        let item = feed.ok().and_then(|f| f.items.first());
        assert_eq!(item.and_then(|i| i.guid.clone()), None);
        assert_eq!(
            item.and_then(|i| i.link.clone()).as_deref(),
            Some("https://educa.example.org/2026/11/marcha")
        );
        assert_eq!(
            item.and_then(|i| i.published)
                .map(|d| d.to_rfc3339())
                .as_deref(),
            Some("2026-11-17T15:00:00+00:00")
        );
    }
}
