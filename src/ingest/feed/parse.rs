//! Parses feed documents (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed 1.0/1.1) into
//! [`RawItem`]s with feed-rs, after [`crate::ingest::feed::repair`] has fixed what a strict XML parser
//! rejects. Text in, items out: no I/O, no sanitizing (that is `normalize`'s job).
//!
//! Relative links resolve against `xml:base` (feed-rs tracks it per element) and then the
//! document's own URL. An entry without an id keeps `guid: None`; `normalize` derives a
//! stable identity from its link, or its title and date, so a refetch never invents a new one.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use feed_rs::model::{Entry, Feed, Link, Person as FeedPerson, Text};
use url::Url;

use crate::ingest::date::{self, DayOrder};
use crate::ingest::feed::feedxml::Node;
use crate::ingest::item::RawItem;

/// Why a document is not a readable feed.
#[derive(Debug, thiserror::Error)]
#[error("not a readable feed: {0}")]
pub struct ParseError(String);

/// A person named by a feed or entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Person {
    /// The name as written.
    pub name: Option<String>,
    /// An email address, from the field or split out of `Name (a@b.c)`.
    pub email: Option<String>,
    /// A home page (Atom `uri`, resolved).
    pub uri: Option<String>,
}

/// A media file attached to an entry (RSS `<enclosure>`, Atom `rel="enclosure"`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Enclosure {
    /// The file's URL, resolved.
    pub url: String,
    /// Its media type as declared (`audio/mpeg`).
    #[serde(rename = "type")]
    pub media_type: Option<String>,
    /// Its size in bytes as declared.
    pub length: Option<u64>,
}

/// What an entry holds beyond what the store keeps in [`RawItem`]: shown by `inspect`.
#[derive(Debug, Clone, Default)]
pub struct EntryDetail {
    /// The entry's authors, with addresses and home pages.
    pub authors: Vec<Person>,
    /// Media files attached to the entry.
    pub enclosures: Vec<Enclosure>,
}

/// What a feed document holds.
#[derive(Debug, Default)]
pub struct ParsedFeed {
    /// The feed's title.
    pub title: Option<String>,
    /// The feed's home page (its `alternate` link), resolved.
    pub link: Option<String>,
    /// The feed's own id (Atom `id`), when it gives one.
    pub id: Option<String>,
    /// When the feed says it last changed.
    pub updated: Option<DateTime<Utc>>,
    /// When the feed says it was first published.
    pub published: Option<DateTime<Utc>>,
    /// The feed's authors or editors.
    pub authors: Vec<Person>,
    /// RSS `<ttl>` in minutes: the publisher asks not to be polled more often.
    pub ttl_minutes: Option<u32>,
    /// The entries, in document order.
    pub items: Vec<RawItem>,
    /// One per item, in the same order.
    pub details: Vec<EntryDetail>,
}

/// Parses `text` (already decoded to UTF-8); relative links resolve against `base`.
/// Zone-less dates are read in `tz`, numeric dates day-first.
pub fn parse_feed(text: &str, base: &Url, tz: Tz) -> Result<ParsedFeed, ParseError> {
    parse_feed_with(text, base, tz, DayOrder::DayFirst)
}

/// [`parse_feed`] with an explicit day/month order for numeric dates.
pub fn parse_feed_with(
    text: &str,
    base: &Url,
    tz: Tz,
    order: DayOrder,
) -> Result<ParsedFeed, ParseError> {
    let repaired = crate::ingest::feed::repair::repair(text);
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        // An empty id tells us the feed gave none; identity is decided in `normalize`.
        .id_generator(|_, _, _| String::new())
        .sanitize_content(false)
        .timestamp_parser(move |s| date::parse(s, tz, None, order))
        .build();
    let feed = parser
        .parse(repaired.as_bytes())
        .map_err(|e| ParseError(e.to_string()))?;
    let mut parsed = convert(feed, base);
    if let Some(root) = crate::ingest::feed::feedxml::parse(&repaired) {
        supplement(&mut parsed, &root, &repaired, base, tz, order);
    }
    Ok(parsed)
}

/// Fills what feed-rs skipped in RSS 0.9x/1.0/2.0 documents: Dublin Core and
/// `content:encoded` fields, `managingEditor`, RSS 1.0 `rdf:about` ids, a permalink GUID
/// standing in for a missing link, and items feed-rs did not read at all.
/// `doc` is the text `root` was read from.
fn supplement(out: &mut ParsedFeed, root: &Node, doc: &str, base: &Url, tz: Tz, order: DayOrder) {
    let root_base = xml_base(base, root);
    let (channel, items): (Option<&Node>, Vec<(&Node, Url)>) = match root.name.as_str() {
        "rss" => {
            let channel = root.child("channel");
            let channel_base = channel.map_or(root_base.clone(), |c| xml_base(&root_base, c));
            let mut items: Vec<(&Node, Url)> = channel
                .map(|c| {
                    c.all("item")
                        .map(|i| (i, xml_base(&channel_base, i)))
                        .collect()
                })
                .unwrap_or_default();
            items.extend(root.all("item").map(|i| (i, xml_base(&root_base, i))));
            (channel, items)
        }
        "rdf:RDF" => (
            root.child("channel"),
            root.all("item")
                .map(|i| (i, xml_base(&root_base, i)))
                .collect(),
        ),
        "atom:feed" | "feed" => return supplement_atom(out, root, doc, &root_base),
        _ => return,
    };
    let when = |n: &Node, names: &[&str]| {
        names
            .iter()
            .filter_map(|name| n.text_of(name))
            .find_map(|t| date::parse(&t, tz, None, order))
    };
    if let Some(ch) = channel {
        if out.title.is_none() {
            out.title = ch.text_of("title").or_else(|| ch.text_of("dc:title"));
        }
        if out.link.is_none() {
            out.link = ch
                .text_of("link")
                .and_then(|l| base.join(&l).ok())
                .map(String::from);
        }
        if out.authors.is_empty() {
            out.authors = dom_people(ch, &["author", "managingEditor", "dc:author", "dc:creator"]);
        }
        if out.updated.is_none() {
            out.updated = when(ch, &["dc:date", "dcterms:modified", "lastBuildDate"]);
        }
        if out.published.is_none() {
            out.published = when(ch, &["pubDate", "dcterms:issued", "dcterms:created"]);
        }
    }
    let from_dom: Vec<(RawItem, EntryDetail)> = items
        .iter()
        .map(|(n, b)| dom_item(n, doc, b, &when))
        .collect();
    if from_dom.len() != out.items.len() {
        // feed-rs read a different set of items (RSS 0.90, stray items): trust the tree.
        (out.items, out.details) = from_dom.into_iter().unzip();
        return;
    }
    for (((item, detail), (dom, dom_detail)), node) in out
        .items
        .iter_mut()
        .zip(out.details.iter_mut())
        .zip(from_dom)
        .zip(items.iter().map(|(n, _)| n))
    {
        item.base = dom.base.clone();
        item.guid = item.guid.take().or(dom.guid);
        item.title = item.title.take().filter(|t| !t.is_empty()).or(dom.title);
        // The item's own `<link>`, not one nested in an `<image>` feed-rs may have taken.
        item.link = dom.link.or(item.link.take());
        item.content = item.content.take().or(dom.content);
        item.summary = if node.child("summary").is_some() && node.child("description").is_some() {
            dom.summary
        } else {
            item.summary.take().or(dom.summary)
        };
        item.published = item.published.or(dom.published);
        item.updated = item.updated.or(dom.updated);
        if item.categories.is_empty() {
            item.categories = dom.categories;
        }
        if detail.authors.is_empty() {
            detail.authors = dom_detail.authors;
            item.authors = dom.authors;
        }
        if detail.enclosures.is_empty() {
            detail.enclosures = dom_detail.enclosures;
        }
    }
}

/// Atom text constructs feed-rs flattens: inline XHTML (kept as markup, entities intact),
/// markup without a `type` (read as HTML, as every reader does) and Atom 0.3 base64.
fn supplement_atom(out: &mut ParsedFeed, root: &Node, doc: &str, base: &Url) {
    if let Some(title) = root.child("atom:title").or_else(|| root.child("title"))
        && let Some(html) = text_construct(title, doc)
    {
        out.title = Some(html);
    }
    atom_people(&mut out.authors, root, base);
    if let Some(id) = out.id.as_mut()
        && id.starts_with('/')
        && let Ok(abs) = base.join(id)
    {
        *id = abs.to_string();
    }
    let entries: Vec<&Node> = root
        .children
        .iter()
        .filter(|c| c.name == "atom:entry" || c.name == "entry")
        .collect();
    if entries.len() != out.items.len() {
        return;
    }
    for ((item, detail), node) in out.items.iter_mut().zip(&mut out.details).zip(entries) {
        let entry_base = xml_base(base, node);
        // Atom ids are IRIs; a path-only id is read against the base like a link.
        if let Some(id) = item.guid.as_mut()
            && id.starts_with('/')
            && let Ok(abs) = entry_base.join(id)
        {
            *id = abs.to_string();
        }
        let content_node = node.child("atom:content").or_else(|| node.child("content"));
        item.base = Some(content_node.map_or(entry_base.clone(), |c| xml_base(&entry_base, c)));
        atom_people(&mut detail.authors, node, base);
        let field = |name: &str| {
            node.child(&format!("atom:{name}"))
                .or_else(|| node.child(name))
                .and_then(|n| text_construct(n, doc))
        };
        if let Some(t) = field("title") {
            item.title = Some(t);
        }
        if let Some(t) = field("summary") {
            item.summary = Some(t);
        }
        if let Some(t) = field("content") {
            item.content = Some(t);
        }
    }
}

/// Author home pages feed-rs misses (`<url>`, the Atom 0.3 name) or leaves relative.
fn atom_people(people: &mut [Person], parent: &Node, base: &Url) {
    let nodes = parent
        .children
        .iter()
        .filter(|c| c.name == "atom:author" || c.name == "author");
    for (person, node) in people.iter_mut().zip(nodes) {
        let uri = person.uri.clone().or_else(|| {
            ["atom:url", "url", "atom:uri", "uri"]
                .iter()
                .find_map(|n| node.text_of(n))
        });
        person.uri = uri.map(|u| base.join(&u).map(String::from).unwrap_or(u));
    }
}

/// The HTML of a text construct when feed-rs's reading of it would lose something.
fn text_construct(n: &Node, doc: &str) -> Option<String> {
    let kind = n
        .attr("boletin-type")
        .or(n.attr("type"))
        .unwrap_or("text")
        .to_ascii_lowercase();
    if n.attr("mode") == Some("base64") {
        let bytes = base64(&n.text)?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        return Some(if kind.contains("html") {
            text
        } else {
            crate::html::escape::escape(&text)
        });
    }
    let has_markup = !n.children.is_empty();
    // RFC 4287 §4.1.3.3: content of any other media type is base64.
    let textual = matches!(kind.as_str(), "text" | "html" | "xhtml")
        || kind.starts_with("text/")
        || kind.contains("xml");
    if !textual && n.attr("src").is_none() {
        let bytes = base64(&n.text)?;
        return Some(String::from_utf8_lossy(&bytes).into_owned());
    }
    match kind.as_str() {
        "xhtml" | "application/xhtml+xml" if has_markup => Some(n.inner(doc).trim().to_string()),
        "text" | "text/plain" if has_markup => Some(n.inner(doc).trim().to_string()),
        _ => None,
    }
}

/// Standard base64 (whitespace ignored); `None` when it is not base64.
fn base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// `base` updated by the element's `xml:base`, if it has one.
fn xml_base(base: &Url, n: &Node) -> Url {
    n.attrs
        .iter()
        .find(|(k, _)| k == "xml:base")
        .and_then(|(_, b)| base.join(b.trim()).ok())
        .unwrap_or_else(|| base.clone())
}

fn dom_people(n: &Node, names: &[&str]) -> Vec<Person> {
    names
        .iter()
        .filter_map(|name| n.text_of(name))
        .map(|text| contact_person(&text))
        .take(1)
        .collect()
}

/// A person from one free-text contact field (`Name (a@b.c)`, `a@b.c`, `Name`).
fn contact_person(text: &str) -> Person {
    match split_contact(text) {
        Some((name, email)) => Person {
            name,
            email: Some(email),
            uri: None,
        },
        None => Person {
            name: Some(text.trim().to_string()),
            ..Person::default()
        },
    }
}

/// Reads the first parsable date among an element's children.
type DateOf<'a> = dyn Fn(&Node, &[&str]) -> Option<DateTime<Utc>> + 'a;

fn dom_item(n: &Node, doc: &str, base: &Url, when: &DateOf<'_>) -> (RawItem, EntryDetail) {
    let guid_node = n.child("guid");
    let guid = n
        .text_of("guid")
        .or_else(|| n.attr("rdf:about").map(str::to_string))
        .filter(|g| !g.trim().is_empty());
    let permalink = guid_node.is_some_and(|g| {
        !g.attr("isPermaLink")
            .is_some_and(|p| p.eq_ignore_ascii_case("false"))
    });
    let link = n
        .text_of("link")
        .or_else(|| {
            n.text_of("guid")
                .filter(|g| permalink && (g.starts_with("http://") || g.starts_with("https://")))
        })
        .and_then(|l| base.join(&l).ok())
        .map(String::from);
    let authors = dom_people(n, &["author", "dc:author", "dc:creator", "itunes:author"]);
    // A non-standard `<summary>` beside `<description>`: the first is the summary, the
    // other the content, so no text is lost.
    let pair: Vec<&Node> = n
        .children
        .iter()
        .filter(|c| c.name == "summary" || c.name == "description")
        .collect();
    let (summary, second) = match pair.as_slice() {
        [a, b, ..] if a.name != b.name => (
            Some(a.text.trim().to_string()),
            Some(b.text.trim().to_string()),
        ),
        _ => (
            n.text_of("description")
                .or_else(|| n.text_of("dc:description"))
                .or_else(|| n.text_of("itunes:summary")),
            None,
        ),
    };
    let content = n
        .text_of("content:encoded")
        .or_else(|| {
            n.child("xhtml:body")
                .or_else(|| n.child("body"))
                .map(|b| b.inner(doc).trim().to_string())
                .filter(|b| !b.is_empty())
        })
        .or_else(|| n.text_of("fullitem"))
        .or(second);
    let mut categories: Vec<String> = Vec::new();
    for c in &n.children {
        match c.name.as_str() {
            "category" | "dc:subject" | "media:category" => {
                categories.push(c.text.trim().to_string())
            }
            // Podcast categories nest: `<itunes:category text="Technology"><itunes:category text="Gadgets"/>`.
            "itunes:category" => {
                categories.extend(c.attr("text").map(str::to_string));
                categories.extend(
                    c.all("itunes:category")
                        .filter_map(|s| s.attr("text").map(str::to_string)),
                );
            }
            _ => {}
        }
    }
    categories.retain(|c| !c.trim().is_empty());
    let enclosures = n
        .all("enclosure")
        .filter_map(|e| {
            let url = base.join(e.attr("url")?.trim()).ok()?;
            Some(Enclosure {
                url: url.to_string(),
                media_type: e.attr("type").map(str::to_string),
                length: e.attr("length").and_then(|l| l.trim().parse().ok()),
            })
        })
        .collect();
    let item = RawItem {
        guid,
        link,
        title: n
            .text_of("title")
            .or_else(|| n.text_of("dc:title"))
            .or_else(|| n.text_of("media:title")),
        authors: authors
            .iter()
            .filter_map(|p| p.name.clone().or_else(|| p.email.clone()))
            .collect(),
        summary,
        content,
        published: when(n, &["pubDate", "dcterms:issued", "dcterms:created"]),
        updated: when(n, &["dc:date", "dcterms:modified"]),
        categories,
        base: Some(base.clone()),
    };
    (
        item,
        EntryDetail {
            authors,
            enclosures,
        },
    )
}

fn convert(feed: Feed, base: &Url) -> ParsedFeed {
    let link = pick_link(&feed.links);
    let mut items = Vec::with_capacity(feed.entries.len());
    let mut details = Vec::with_capacity(feed.entries.len());
    for entry in feed.entries {
        let (item, detail) = raw_item(entry, base);
        items.push(item);
        details.push(detail);
    }
    ParsedFeed {
        title: feed.title.map(|t| t.content).filter(|t| !t.is_empty()),
        link,
        id: Some(feed.id).filter(|id| !id.trim().is_empty()),
        updated: feed.updated,
        published: feed.published,
        authors: people(feed.authors),
        ttl_minutes: feed.ttl,
        items,
        details,
    }
}

/// The `alternate` link (or the first link with no `rel`), else any link.
fn pick_link(links: &[Link]) -> Option<String> {
    links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| {
            links
                .iter()
                .find(|l| !matches!(l.rel.as_deref(), Some("self" | "enclosure" | "hub")))
        })
        .map(|l| l.href.trim().to_string())
        .filter(|h| !h.is_empty())
}

fn html_of(text: Text) -> String {
    if text.content_type.to_string().contains("html") {
        text.content
    } else {
        crate::html::escape::escape(&text.content)
    }
}

/// Splits RSS's `me@example.com (Name)` and `Name <me@example.com>` into parts.
fn person(p: FeedPerson) -> Person {
    let clean = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let mut name = clean(Some(p.name));
    let mut email = clean(p.email);
    let uri = clean(p.uri);
    // feed-rs names RSS author/managingEditor/webMaster people after their role and puts
    // the element's text in `email`, address or not.
    if matches!(
        name.as_deref(),
        Some("author" | "managingEditor" | "webMaster")
    ) && email.is_some()
    {
        name = None;
    }
    if name.is_none() && email.as_deref().is_some_and(|e| !e.contains('@')) {
        name = email.take();
    }
    let candidates = [name.clone(), email.clone()];
    for text in candidates.into_iter().flatten() {
        if let Some((n, e)) = split_contact(&text) {
            name = n.or(name.filter(|n| n != &text));
            email = Some(e);
            break;
        }
    }
    Person { name, email, uri }
}

/// `a@b.c (Name)`, `Name (a@b.c)`, `Name <a@b.c>`, `a@b.c` → (name, email).
fn split_contact(text: &str) -> Option<(Option<String>, String)> {
    let t = text.trim();
    let is_email = |s: &str| {
        let s = s.trim().trim_start_matches("mailto:");
        s.contains('@') && !s.contains(char::is_whitespace)
    };
    let strip = |s: &str| s.trim().trim_start_matches("mailto:").to_string();
    for (open, close) in [('(', ')'), ('<', '>')] {
        if let (Some(o), true) = (t.find(open), t.ends_with(close)) {
            let outside = t[..o].trim();
            let inside = t[o + 1..t.len() - 1].trim();
            if is_email(outside) {
                return Some((
                    Some(inside.to_string()).filter(|s| !s.is_empty()),
                    strip(outside),
                ));
            }
            if is_email(inside) {
                return Some((
                    Some(outside.to_string()).filter(|s| !s.is_empty()),
                    strip(inside),
                ));
            }
        }
    }
    is_email(t).then(|| (None, strip(t)))
}

fn people(list: Vec<FeedPerson>) -> Vec<Person> {
    list.into_iter()
        .map(person)
        .filter(|p| p.name.is_some() || p.email.is_some() || p.uri.is_some())
        .collect()
}

fn enclosures(entry: &Entry) -> Vec<Enclosure> {
    let page = pick_link(&entry.links);
    let mut found: Vec<Enclosure> = entry
        .links
        .iter()
        .filter(|l| {
            l.rel.as_deref() == Some("enclosure")
                // JSON Feed attachments: links with a media type and no relation.
                || (l.rel.is_none()
                    && Some(l.href.trim()) != page.as_deref()
                    && l.media_type.as_deref().is_some_and(|t| !t.contains("html")))
        })
        .map(|l| Enclosure {
            url: l.href.clone(),
            media_type: l.media_type.clone(),
            length: l.length,
        })
        .collect();
    for media in &entry.media {
        for c in &media.content {
            if let Some(url) = &c.url
                && !found.iter().any(|e| e.url == url.as_str())
            {
                found.push(Enclosure {
                    url: url.to_string(),
                    media_type: c.content_type.as_ref().map(|t| t.to_string()),
                    length: c.size,
                });
            }
        }
    }
    found
}

fn raw_item(entry: Entry, base: &Url) -> (RawItem, EntryDetail) {
    let item_base = entry
        .base
        .as_deref()
        .and_then(|b| base.join(b.trim()).ok())
        .unwrap_or_else(|| base.clone());
    let link = pick_link(&entry.links);
    let detail = EntryDetail {
        authors: Vec::new(),
        enclosures: enclosures(&entry),
    };
    let content = entry.content.and_then(|c| {
        let html = c.content_type.to_string().contains("html");
        c.body.map(|b| {
            if html {
                b
            } else {
                crate::html::escape::escape(&b)
            }
        })
    });
    let authors = people(entry.authors);
    let names = authors
        .iter()
        .filter_map(|p| p.name.clone().or_else(|| p.email.clone()))
        .collect();
    let categories = entry
        .categories
        .into_iter()
        .map(|c| c.label.unwrap_or(c.term).trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    let item = RawItem {
        guid: Some(entry.id).filter(|id| !id.trim().is_empty()),
        link,
        title: entry.title.map(|t| t.content),
        authors: names,
        summary: entry.summary.map(html_of),
        content,
        published: entry.published,
        updated: entry.updated,
        categories,
        base: Some(item_base),
    };
    (item, EntryDetail { authors, ..detail })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MX: Tz = chrono_tz::America::Mexico_City;

    fn base() -> Url {
        Url::parse("https://educa.example.org/feed/").unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn rss_without_guid_has_no_invented_id() {
        let xml = r#"<rss version="2.0"><channel><title>t</title><ttl>120</ttl>
            <item><title>Marcha en Oaxaca</title><link>/2026/11/marcha</link>
            <pubDate>Tue, 17 Nov 2026 09:00:00 -0600</pubDate></item></channel></rss>"#;
        let feed = parse_feed(xml, &base(), MX).map_err(|e| e.to_string());
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

    #[test]
    fn broken_wordpress_feed_is_repaired() {
        let xml = "\u{feff}\n\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss><channel>\
            <title>Educa Oaxaca &#8211; Noticias</title>\
            <item><title>Caf&eacute; &amp; ma&iacute;z&nbsp;libre &rsquo;24</title>\
            <link>https://educa.example.org/?p=1&lang=es</link>\
            <author>prensa@educa.example.org (Área de Prensa)</author>\
            <pubDate>lun, 3 jun 2024 10:00:00 CST</pubDate></item></channel></rss>";
        let feed = parse_feed(xml, &base(), MX).map_err(|e| e.to_string());
        let feed = feed.as_ref();
        assert_eq!(
            feed.map(|f| f.title.clone()),
            Ok(Some("Educa Oaxaca – Noticias".into()))
        );
        let item = feed.ok().and_then(|f| f.items.first());
        assert_eq!(
            item.and_then(|i| i.title.clone()).as_deref(),
            Some("Café & maíz\u{a0}libre ’24")
        );
        assert_eq!(
            item.and_then(|i| i.link.clone()).as_deref(),
            Some("https://educa.example.org/?p=1&lang=es")
        );
        let detail = feed.ok().and_then(|f| f.details.first());
        assert_eq!(
            detail.map(|d| d.authors.clone()),
            Some(vec![Person {
                name: Some("Área de Prensa".into()),
                email: Some("prensa@educa.example.org".into()),
                uri: None
            }])
        );
        assert_eq!(
            item.and_then(|i| i.published).map(|d| d.to_rfc3339()),
            Some("2024-06-03T16:00:00+00:00".into())
        );
    }

    #[test]
    fn json_feed_and_atom_xml_base() {
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"Voces",
            "items":[{"id":"v1","url":"/notas/1","title":"Nota","content_html":"<p>Hola</p>",
            "date_published":"2024-06-03T10:00:00-06:00","authors":[{"name":"Ana"}]}]}"#;
        let feed = parse_feed(json, &base(), MX).map_err(|e| e.to_string());
        let item = feed.as_ref().ok().and_then(|f| f.items.first());
        assert_eq!(item.and_then(|i| i.guid.clone()).as_deref(), Some("v1"));
        assert_eq!(
            item.map(|i| i.authors.clone()),
            Some(vec!["Ana".to_string()])
        );

        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://a.example/es/">
            <title>A</title><entry><id>tag:a,1</id><title>E</title>
            <link href="notas/2"/><updated>2024-06-03T10:00:00Z</updated></entry></feed>"#;
        let feed = parse_feed(atom, &base(), MX).map_err(|e| e.to_string());
        let item = feed.as_ref().ok().and_then(|f| f.items.first());
        assert_eq!(
            item.and_then(|i| i.link.clone()).as_deref(),
            Some("https://a.example/es/notas/2")
        );
    }
}
