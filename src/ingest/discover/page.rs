//! What a fetched page or feed says about a site's feeds, for discovery: whether a document
//! is a feed and which kind, the feeds a page declares and the site's name. Pure: text
//! in, findings out.

use url::Url;

use super::name;
use crate::ingest::scrape::selector;

/// What kind of feed a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedKind {
    /// RSS 0.9x, 1.0 (RDF) or 2.0.
    Rss,
    /// Atom 0.3 or 1.0.
    Atom,
    /// JSON Feed 1.0 or 1.1.
    Json,
}

/// A feed found for a site.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FoundFeed {
    /// Where the feed answered (http or https only).
    pub url: Url,
    /// What kind of feed it is.
    pub kind: FeedKind,
    /// The feed's own title (or the `<link title>`), when known.
    pub title: Option<String>,
}

/// The feed `text` (found at `url`) is, if it is one.
pub fn as_feed(text: &str, url: &Url) -> Option<FoundFeed> {
    let kind = sniff(text)?;
    Some(FoundFeed {
        url: url.clone(),
        kind,
        title: feed_title(text, url),
    })
}

/// Whether `text` is a feed, and which kind.
pub fn sniff(text: &str) -> Option<FeedKind> {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('{') {
        return t
            .get(..t.len().min(2000))
            .filter(|head| head.contains("jsonfeed.org/version"))
            .map(|_| FeedKind::Json);
    }
    let head = t.get(..t.len().min(2000)).unwrap_or(t);
    let head = head.to_ascii_lowercase();
    // Skip the prolog, comments and processing instructions to find the root element.
    let root = head
        .match_indices('<')
        .map(|(i, _)| &head[i + 1..])
        .find(|rest| rest.starts_with(|c: char| c.is_ascii_alphabetic()))?;
    if root.starts_with("rss") || root.starts_with("rdf:rdf") {
        Some(FeedKind::Rss)
    } else if root.starts_with("feed") {
        Some(FeedKind::Atom)
    } else {
        None
    }
}

/// Feeds a page declares with `<link rel="alternate" type="…">`, resolved against `base`.
pub fn feed_links(html: &str, base: &Url) -> Vec<FoundFeed> {
    let doc = crate::ingest::scrape::parse_page(html);
    let page_base = crate::ingest::scrape::document_base(&doc, base);
    let mut found: Vec<FoundFeed> = Vec::new();
    for link in doc.select(&selector("link[href][type]")) {
        let el = link.value();
        let rel = el.attr("rel").unwrap_or_default().to_ascii_lowercase();
        if !rel.split_whitespace().any(|r| r == "alternate") {
            continue;
        }
        let kind = match el
            .attr("type")
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "application/rss+xml" | "application/rdf+xml" => FeedKind::Rss,
            "application/atom+xml" => FeedKind::Atom,
            "application/feed+json" | "application/json" => FeedKind::Json,
            _ => continue,
        };
        // Only http(s): `add` must never write a local file a page names.
        let Some(url) = el
            .attr("href")
            .and_then(|h| page_base.join(h.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
        else {
            continue;
        };
        // WordPress also declares one comments feed per page; the site feed comes first.
        let title = el
            .attr("title")
            .map(crate::ingest::normalize::one_line)
            .filter(|t| !t.is_empty());
        if !found.iter().any(|f| f.url == url) {
            found.push(FoundFeed { url, kind, title });
        }
    }
    let comments = |f: &FoundFeed| {
        f.url.path().contains("comments")
            || f.title.as_deref().is_some_and(|t| {
                let t = t.to_lowercase();
                t.contains("comments") || t.contains("comentarios")
            })
    };
    found.sort_by_key(|f| comments(f));
    found
}

/// The site's name as a page gives it: `og:site_name`, else the part of its `<title>`
/// that is neither the page's heading nor a section word (see [`name::site_from_title`]);
/// `None` when the title names no site.
pub fn html_title(html: &str) -> Option<String> {
    let doc = crate::ingest::scrape::parse_page(html);
    let og = doc
        .select(&selector("meta[property='og:site_name']"))
        .find_map(|m| m.value().attr("content").map(str::to_string));
    let heading = doc
        .select(&selector("h1"))
        .next()
        .map(|h| crate::ingest::normalize::one_line(&h.text().collect::<String>()));
    og.map(|t| crate::ingest::normalize::one_line(&t))
        .filter(|t| !t.is_empty())
        .or_else(|| {
            doc.select(&selector("title")).next().and_then(|t| {
                name::site_from_title(&t.text().collect::<String>(), heading.as_deref())
            })
        })
}

fn feed_title(text: &str, url: &Url) -> Option<String> {
    crate::ingest::feed::parse::parse_feed(text, url, chrono_tz::UTC)
        .ok()
        .and_then(|f| f.title)
        .map(|t| crate::ingest::normalize::one_line(&crate::html::text::to_text(&t)))
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://voces.example.org/es/").unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn only_http_feeds_are_offered_and_titles_stay_one_line() {
        let html = format!(
            r#"<link rel="alternate" type="application/rss+xml" href="file:///srv/secreto.xml">
            <link rel="alternate" type="application/rss+xml" href="ftp://voces.example.org/feed">
            <link rel="alternate" type="application/atom+xml" title="{}" href="/feed/">"#,
            "Voces\n del Sur ".repeat(500)
        );
        let found = feed_links(&html, &base());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].url.as_str(), "https://voces.example.org/feed/");
        let title = found[0].title.as_deref().unwrap_or_default();
        assert!(title.starts_with("Voces del Sur Voces"), "{title}");
        assert!(
            title.ends_with('…') && title.chars().count() <= 1001,
            "{title}"
        );
    }

    #[test]
    fn declared_feeds_in_order_comments_last() {
        let html = r#"<html><head><title>Voces del Sur</title>
            <link rel="alternate" type="application/rss+xml" title="Voces &raquo; Comentarios" href="/comments/feed/">
            <link rel="alternate" type="application/rss+xml" title="Voces &raquo; Feed" href="/feed/">
            <link rel="alternate home" type="application/feed+json" href="feed.json">
            <link rel="stylesheet" type="text/css" href="/s.css"></head></html>"#;
        let found = feed_links(html, &base());
        let urls: Vec<&str> = found.iter().map(|f| f.url.as_str()).collect();
        assert_eq!(
            urls,
            vec![
                "https://voces.example.org/feed/",
                "https://voces.example.org/es/feed.json",
                "https://voces.example.org/comments/feed/"
            ]
        );
        assert_eq!(found[1].kind, FeedKind::Json);
    }

    #[test]
    fn sniffing() {
        assert_eq!(
            sniff("\u{feff}<?xml version=\"1.0\"?>\n<!-- x --><rss version=\"2.0\">"),
            Some(FeedKind::Rss)
        );
        assert_eq!(
            sniff("<feed xmlns=\"http://www.w3.org/2005/Atom\">"),
            Some(FeedKind::Atom)
        );
        assert_eq!(
            sniff(r#"{"version": "https://jsonfeed.org/version/1.1", "items": []}"#),
            Some(FeedKind::Json)
        );
        assert_eq!(sniff("<!DOCTYPE html><html><body>"), None);
    }
}
