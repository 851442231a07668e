//! Turns a [`RawItem`] into an [`Item`]: plain-text title, sanitized HTML, a canonical link
//! and a stable identity. Pure; the sanitizer is the last thing HTML meets. The excerpt is
//! annotation's: it has the configured length and redoes every excerpt when it changes.
//!
//! Identity, per source: the GUID, else the link in its comparison form ([`link_key`]),
//! else title and date. [`disambiguate_keys`] separates entries of one document that
//! reuse a GUID. The [`fingerprint`] decides what counts as an update: what a reader
//! sees, minus cache-busting noise (clock times, timestamps, image URL tokens).
//!
//! It also caps what one item may hold, whatever the document says: one-line fields (title,
//! author, categories) at [`LINE_CHARS`] with an ellipsis, links at [`MAX_LINK_BYTES`], and
//! item HTML at [`MAX_ITEM_HTML_BYTES`] and [`MAX_ITEM_ELEMENTS`] tags before the sanitizer
//! builds its tree.

use sha2::{Digest, Sha256};
use url::Url;

use crate::annotate::{Annotator, Facts};
use crate::config::Source;
use crate::html::excerpt::excerpt;
use crate::html::sanitize::{self, SafeHtml};
use crate::html::text::{Parsed, to_text};
use crate::html::url::strip_tracking;
use crate::ingest::item::{Item, RawItem};

/// Words in the summary made for a feed that has only full content. Fixed, not
/// `excerpt_words`: the summary is part of the fingerprint, so a config edit must not make
/// every item look updated.
const SUMMARY_WORDS: usize = 60;

/// Characters kept of a one-line field (title, author, category, a discovered source name).
/// Real headlines stay under about 300 characters; a thousand leaves room for a feed that
/// puts its lead paragraph in the title, while a hacked feed's 12 MB title cannot swell every
/// digest, subject line and archive page that shows it.
pub const LINE_CHARS: usize = 1_000;

/// Longer links are dropped: no browser or server takes them, and each would be copied into
/// every message.
pub const MAX_LINK_BYTES: usize = 8 * 1024;

/// Tags of one item's summary or content read ([`cap_markup`]); the rest is cut before
/// sanitizing. A long article has a few thousand (a hundred thousand nested elements still
/// fit); each costs a few hundred bytes in the parsed tree, so 15 MiB of `<p>` (five million
/// tags) would otherwise need gigabytes.
pub const MAX_ITEM_ELEMENTS: usize = 250_000;

/// Bytes of one item's summary or content read: far beyond any article, and a bound on the
/// work per item whatever else the markup holds.
pub const MAX_ITEM_HTML_BYTES: usize = 4 * 1024 * 1024;

/// Elements an HTML parser may re-open in all ([`cap_markup`]): some 75 MB of tree at most.
const MAX_REOPENED: usize = 500_000;

/// Bytes the sanitizer's serializer may scan again in all ([`cap_markup`]). It looks for the
/// next `<` or `>` afresh after every `&` and no-break space it escapes (html5ever 0.40), so
/// text full of them costs the square of its length: a megabyte of `&` took a minute. Real
/// text spends a few thousand; this is a fraction of a second.
const MAX_RESCANNED: u64 = 2_000_000_000;

/// Categories kept per item.
const MAX_CATEGORIES: usize = 100;

/// `text` on one line: control characters and runs of whitespace become one space, the
/// bidirectional overrides are dropped, and past [`LINE_CHARS`] characters it is cut at a
/// word boundary (when there is one nearby) with `…`.
///
/// An override (U+202D, U+202E) makes the rest of a line display in the order it forces, so
/// a hacked partner's title could show the editor and readers one text while it holds
/// another; right-to-left text needs none of them (marks, embeddings and isolates stay).
pub fn one_line(text: &str) -> String {
    // Bounded first, so a 12 MB field costs one pass over its start only.
    let head = match text.char_indices().nth(LINE_CHARS * 4) {
        Some((cut, _)) => &text[..cut],
        None => text,
    };
    let mut out = String::with_capacity(head.len().min(LINE_CHARS * 4));
    let is_override = |c: char| matches!(c, '\u{202D}' | '\u{202E}');
    for word in head.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.chars().all(is_override) {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().filter(|&c| !is_override(c)));
    }
    match out.char_indices().nth(LINE_CHARS) {
        None if head.len() == text.len() => out,
        None => format!("{}…", out.trim_end()),
        Some((cut, _)) => {
            let kept = &out[..cut];
            // A word boundary within the last tenth, else a hard cut.
            let at = kept
                .rfind(' ')
                .filter(|&space| space >= cut - cut / 10)
                .unwrap_or(cut);
            format!("{}…", kept[..at].trim_end())
        }
    }
}

/// The start of `html` an HTML parser and the sanitizer can handle in bounded memory and
/// time: cut before the first byte past one of four budgets.
/// - Tokens, at most `max`: every `<` (each starts a node, or a parse error the parser
///   handles as its own token) and NUL.
/// - Re-opened formatting elements, at most [`MAX_REOPENED`]: for every other tag, the
///   formatting elements (`<b>`, `<font>`, …) still open before it, since a parser re-opens
///   all of them after each block they were closed in; a thousand unclosed `<b id=…>`
///   followed by `<p>x` repeated would make a thousand elements per four bytes. Legitimate
///   markup leaves few of them open.
/// - Attributes, at most [`crate::html::dom::MAX_ATTRIBUTES`] per tag: the markup ends
///   before a tag that carries more.
/// - Rescanned bytes, at most [`MAX_RESCANNED`]: for every `&` or byte `0xC2` (the lead byte
///   of a no-break space), the distance to the next `<` or `>`.
pub fn cap_markup(html: &str, max: usize) -> &str {
    // A tag with too many attributes costs the parser the square of their number.
    let html = crate::html::dom::before_crowded_tag(html);
    // Per formatting element: how many may still be open.
    let mut open = [0usize; FORMATTING.len()];
    let mut open_total = 0usize;
    let mut tokens = 0usize;
    let mut reopened = 0usize;
    // Rescans of finished stretches, and the `&`s waiting for the next `<` or `>`.
    let mut rescanned = 0u64;
    let (mut waiting, mut waiting_from) = (0u64, 0u64);
    let rescans_at = |i: usize, rescanned: u64, waiting: u64, waiting_from: u64| {
        rescanned.saturating_add((waiting * i as u64).saturating_sub(waiting_from))
    };
    let bytes = html.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'&' | 0xC2 => {
                waiting += 1;
                waiting_from += i as u64;
            }
            b'>' => {
                rescanned = rescans_at(i, rescanned, waiting, waiting_from);
                (waiting, waiting_from) = (0, 0);
            }
            b'<' | 0 => {
                rescanned = rescans_at(i, rescanned, waiting, waiting_from);
                (waiting, waiting_from) = (0, 0);
                tokens += 1;
                if b == b'<' {
                    let (closing, name) = tag_name(&bytes[i + 1..]);
                    match FORMATTING.iter().position(|f| f.eq_ignore_ascii_case(name)) {
                        Some(k) => {
                            let before = open[k];
                            open[k] = match (closing, FORMATTING[k]) {
                                (true, _) => before.saturating_sub(1),
                                // A second `<a>` or `<nobr>` closes the first.
                                (false, "a" | "nobr") => 1,
                                (false, _) => before + 1,
                            };
                            open_total = open_total + open[k] - before;
                        }
                        // Other tags may close the block the open ones sit in, after which
                        // the parser re-opens them all (nested formatting alone does not).
                        None if !name.is_empty() => {
                            reopened = reopened.saturating_add(open_total);
                        }
                        None => {}
                    }
                }
            }
            _ => {}
        }
        // The pending rescans grow with every byte; checked often enough to cut near the limit.
        let over_rescans = (i % 4096 == 0 || b == b'&' || b == 0xC2)
            && rescans_at(i, rescanned, waiting, waiting_from) > MAX_RESCANNED;
        if tokens > max || reopened > MAX_REOPENED || over_rescans {
            tracing::debug!("markup cut at byte {i}: {tokens} tokens, {reopened} re-opened");
            return prefix(html, i);
        }
    }
    if rescans_at(html.len(), rescanned, waiting, waiting_from) > MAX_RESCANNED && waiting > 0 {
        // The last stretch: cut where its rescans reach the limit.
        let room = MAX_RESCANNED.saturating_sub(rescanned) + waiting_from;
        return prefix(html, usize::try_from(room / waiting).unwrap_or(html.len()));
    }
    html
}

/// HTML's formatting elements (the ones a parser re-opens).
const FORMATTING: [&str; 14] = [
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u",
];

/// After a `<`: whether it is an end tag, and the tag's name (empty when none).
fn tag_name(after: &[u8]) -> (bool, &str) {
    let (closing, rest) = match after.split_first() {
        Some((b'/', rest)) => (true, rest),
        _ => (false, after),
    };
    let len = rest
        .iter()
        .take(16)
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    (
        closing,
        std::str::from_utf8(&rest[..len]).unwrap_or_default(),
    )
}

/// The first `max` bytes of `text` at most, cut at a character boundary.
pub fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

/// The link as it should be stored: tracking parameters removed, fragment dropped.
/// Scheme, host and default port are already normalized by `url`.
pub fn canonical_link(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    strip_tracking(&mut url);
    url
}

/// The form two links are compared in: [`canonical_link`], then without a trailing slash
/// (`/a/` and `/a` are one page), an empty query, `index.html` or a leading `www.`; the
/// scheme is ignored (`http` and `https` of one page are one page).
pub fn link_key(url: &Url) -> String {
    let url = canonical_link(url);
    let host = url.host_str().unwrap_or_default();
    let host = host.strip_prefix("www.").unwrap_or(host);
    let mut path = url.path().to_string();
    for suffix in ["index.html", "index.htm", "index.php"] {
        if let Some(p) = path.strip_suffix(suffix) {
            path = p.to_string();
        }
    }
    let path = path.trim_end_matches('/');
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    match url.query().filter(|q| !q.is_empty()) {
        Some(q) => format!("{host}{port}{path}?{q}"),
        None => format!("{host}{port}{path}"),
    }
}

fn hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    hex12(&h.finalize())
}

/// The first 12 bytes of a digest in hex: what keys and fingerprints keep.
fn hex12(digest: &[u8]) -> String {
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// Normalizes one raw item from `source`; `None` for entries with nothing to show.
pub fn normalize(source: &Source, raw: RawItem) -> Option<Item> {
    normalize_with(source, raw, None)
}

/// [`normalize`], and with an `annotator` the item's annotation too, made from the text and
/// the parsed HTML normalizing already has: the fetch annotates as it reads, and an item's
/// body is parsed once after the sanitizer.
pub fn normalize_with(
    source: &Source,
    raw: RawItem,
    annotator: Option<&Annotator>,
) -> Option<Item> {
    let base = raw
        .base
        .clone()
        .unwrap_or_else(|| source.base_url().clone());
    let link = raw
        .link
        .as_deref()
        .filter(|l| l.len() <= MAX_LINK_BYTES)
        .and_then(|l| base.join(l.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| canonical_link(&u));
    let sanitized = |h: &str| {
        let h = cap_markup(prefix(h, MAX_ITEM_HTML_BYTES), MAX_ITEM_ELEMENTS);
        sanitize::sanitize(h, &base)
    };
    let summary_html = raw.summary.as_deref().map(sanitized);
    let content_html = raw.content.as_deref().map(sanitized);
    // Each sanitized body is parsed once more, here: its text and links serve the title,
    // the summary, the fingerprint and the annotation alike.
    let content = content_html.as_ref().map(Parsed::new);
    let content_text = content.as_ref().map(Parsed::text);
    let given = summary_html
        .as_ref()
        .filter(|s| !s.as_str().is_empty())
        .map(Parsed::new);
    let given_text = given.as_ref().map(Parsed::text);
    let body_text = content_text
        .as_deref()
        .or(given_text.as_deref())
        .unwrap_or_default();
    let title = raw
        .title
        .as_deref()
        .map(|t| {
            one_line(&to_text(cap_markup(
                prefix(t, TITLE_BYTES),
                MAX_ITEM_ELEMENTS,
            )))
        })
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| one_line(&excerpt(body_text, 12)));
    if title.is_empty() && link.is_none() {
        return None;
    }
    // A feed with only full content still gets a short summary for the digest.
    let made_summary = given
        .is_none()
        .then(|| SafeHtml::from_text(&excerpt(body_text, SUMMARY_WORDS)));
    let made = made_summary.as_ref().map(Parsed::new);
    let made_text = made.as_ref().map(Parsed::text);
    let summary_read = given
        .as_ref()
        .zip(given_text.as_deref())
        .or(made.as_ref().zip(made_text.as_deref()));
    let content_read = content.as_ref().zip(content_text.as_deref());
    let published = raw.published.or(raw.updated);
    let guid = raw.guid.map(|g| g.trim().to_string());
    let key = match (&guid, &link) {
        (Some(g), _) => hash(&["guid", g]),
        (None, Some(l)) => hash(&["link", &link_key(l)]),
        (None, None) => hash(&[
            "title",
            &title,
            &published.map(|d| d.to_rfc3339()).unwrap_or_default(),
        ]),
    };
    let fingerprint = fingerprint_read(&title, &[summary_read, content_read], link.as_ref());
    let annotation = annotator.zip(summary_read).map(|(annotator, summary)| {
        // What annotation reads: the content as stored (when it is not empty), else the
        // summary as stored.
        let html = content_read
            .filter(|(c, _)| !c.html().as_str().is_empty())
            .unwrap_or(summary);
        annotator.annotate_read(
            &Facts {
                source_id: &source.id,
                title: &title,
                link_key: link.as_ref().map(link_key),
                date: published.map_or(0, |d| d.timestamp()),
            },
            html,
            || summary.1.to_string(),
        )
    });
    let summary = match made_summary {
        Some(made) => made,
        None => summary_html.unwrap_or_default(),
    };
    Some(Item {
        source_id: source.id.clone(),
        key,
        guid,
        link,
        title,
        author: (!raw.authors.is_empty()).then(|| one_line(&raw.authors.join(", "))),
        summary,
        content: content_html.filter(|c| !c.as_str().is_empty()),
        published,
        updated: raw.updated,
        categories: raw
            .categories
            .iter()
            .take(MAX_CATEGORIES)
            .map(|c| one_line(c))
            .collect(),
        fingerprint,
        annotation,
    })
}

/// Bytes of a title's raw HTML read: [`LINE_CHARS`] characters of text can hide in at most
/// this much markup in any real feed.
const TITLE_BYTES: usize = 64 * 1024;

/// A hash of what a reader sees, blind to cache-busting noise: clock times and Unix
/// timestamps in the text, and the query strings of image URLs (resizing and cache tokens).
/// Links and every other word count, so a real correction is an update.
pub fn fingerprint(title: &str, html: &[Option<&SafeHtml>], link: Option<&Url>) -> String {
    let parsed: Vec<Option<Parsed<'_>>> = html.iter().map(|h| h.map(Parsed::new)).collect();
    let texts: Vec<Option<String>> = parsed
        .iter()
        .map(|p| p.as_ref().map(Parsed::text))
        .collect();
    let read: Vec<Option<(&Parsed<'_>, &str)>> = parsed
        .iter()
        .zip(&texts)
        .map(|(p, t)| p.as_ref().zip(t.as_deref()))
        .collect();
    fingerprint_read(title, &read, link)
}

/// [`fingerprint`] of HTML already parsed, each with its text ([`Parsed::text`]).
fn fingerprint_read(
    title: &str,
    html: &[Option<(&Parsed<'_>, &str)>],
    link: Option<&Url>,
) -> String {
    // Each part hashed as it is read, ended by a 0 byte: what `hash` makes of the parts
    // joined, without building them.
    let mut h = Sha256::new();
    let words = |h: &mut Sha256, words: &mut dyn Iterator<Item = &str>| {
        for (i, w) in words.enumerate() {
            if i > 0 {
                h.update(b" ");
            }
            h.update(w.as_bytes());
        }
        h.update([0u8]);
    };
    words(&mut h, &mut title.split_whitespace());
    for (parsed, text) in html.iter().flatten() {
        words(
            &mut h,
            &mut text.split_whitespace().filter(|w| !is_noise(w)),
        );
        // Without a `<` there is no element, and no link.
        if !parsed.html().as_str().contains('<') {
            continue;
        }
        for u in parsed
            .tree()
            .tree
            .root()
            .descendants()
            .filter_map(counted_link)
        {
            h.update(u.as_str().as_bytes());
            h.update([0u8]);
        }
    }
    h.update(link.map(Url::as_str).unwrap_or_default().as_bytes());
    h.update([0u8]);
    hex12(&h.finalize())
}

/// The address a node gives that the fingerprint counts: a link, or an image without its
/// query string (resizing and cache tokens).
fn counted_link(node: ego_tree::NodeRef<'_, scraper::Node>) -> Option<Url> {
    let e = node.value().as_element()?;
    match e.name() {
        "img" => e.attr("src").and_then(|s| Url::parse(s).ok()).map(|mut u| {
            u.set_query(None);
            u
        }),
        "a" => e.attr("href").and_then(|s| Url::parse(s).ok()),
        _ => None,
    }
}

/// Words that change on every render without the story changing: clock times
/// (`13:05`, `13:05:22`), ISO timestamps and Unix timestamps (9+ digits).
fn is_noise(word: &str) -> bool {
    // Both kinds have digits; most words have none.
    if !word.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    let w = word.trim_matches(|c: char| !c.is_alphanumeric());
    if w.is_empty() {
        return false;
    }
    let digits = w.chars().filter(char::is_ascii_digit).count();
    let clock = w.contains(':')
        && digits >= 3
        && w.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ':' | '.' | '-' | 'T' | 'Z' | '+'));
    let unix = digits >= 9 && digits == w.chars().count();
    clock || unix
}

/// Gives entries that share a GUID inside one document distinct keys: a feed that reuses
/// one GUID (a CMS bug, a copied template) still has different stories, told apart by link
/// or, without one, by title and date. Entries identical in link and title stay one.
pub fn disambiguate_keys(items: &mut [Item]) {
    use std::collections::HashMap;
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        groups.entry(item.key.clone()).or_default().push(i);
    }
    for indexes in groups.into_values().filter(|g| g.len() > 1) {
        let distinct = |i: usize| {
            let it = &items[i];
            (it.link.as_ref().map(link_key), it.title.clone())
        };
        let first = distinct(indexes[0]);
        if indexes.iter().all(|&i| distinct(i) == first) {
            continue;
        }
        for i in indexes {
            let it = &mut items[i];
            let guid = it.guid.clone().unwrap_or_default();
            it.key = match &it.link {
                Some(l) => hash(&["guid+link", &guid, &link_key(l)]),
                None => hash(&[
                    "guid+title",
                    &guid,
                    &it.title,
                    &it.published.map(|d| d.to_rfc3339()).unwrap_or_default(),
                ]),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_fields_are_folded_and_cut_with_an_ellipsis() {
        assert_eq!(one_line("  Marcha\n en\tOaxaca\u{0} "), "Marcha en Oaxaca");
        assert_eq!(
            one_line(
                "Acci\u{f3}n urgente \u{202E}fdp.exe\u{202C} \u{200F}\u{5e9}\u{5dc}\u{5d5}\u{5dd}"
            ),
            "Acci\u{f3}n urgente fdp.exe\u{202C} \u{200F}\u{5e9}\u{5dc}\u{5d5}\u{5dd}"
        );
        let long = "¡Urgente! Desalojo en Copala ".repeat(400_000);
        let cut = one_line(&long);
        assert!(
            cut.chars().count() <= LINE_CHARS + 1,
            "{}",
            cut.chars().count()
        );
        let kept = cut.strip_suffix('…').unwrap_or_default();
        assert!(long.starts_with(kept), "{cut}");
        assert_eq!(
            long[kept.len()..].chars().next(),
            Some(' '),
            "cut at a word: {cut}"
        );
        let word = "a".repeat(5 * LINE_CHARS);
        assert_eq!(one_line(&word).chars().count(), LINE_CHARS + 1);
    }

    #[test]
    fn markup_is_cut_before_it_costs_too_much() {
        let plain = "<p>Texto con <b>negritas</b> y <a href=\"/x\">enlace</a>.</p>".repeat(100);
        assert_eq!(cap_markup(&plain, 1_000), plain);
        let eleventh = plain.match_indices('<').nth(10).map(|(i, _)| i);
        assert_eq!(Some(cap_markup(&plain, 10).len()), eleventh);
        // Stray `<` and NUL are tokens too.
        assert_eq!(cap_markup(&"<".repeat(50), 10).len(), 10);
        assert_eq!(cap_markup(&"\u{0}".repeat(50), 10).len(), 10);
        // A thousand distinct unclosed `<b>`, then blocks: cut long before the tag limit.
        let open: String = (0..1000).map(|i| format!("<b id={i}>")).collect();
        let amplifier = format!("<p>{open}{}", "<p>x".repeat(10_000));
        let kept = cap_markup(&amplifier, 50_000);
        assert!(
            kept.len() < open.len() + 4 * 600,
            "{} bytes kept",
            kept.len()
        );
        // Closed formatting elements cost nothing, and nor does nesting them deep.
        let closed = format!("{}{}", "<b>x</b>".repeat(1000), "<p>x".repeat(10_000));
        assert_eq!(cap_markup(&closed, 50_000), closed);
        let nested = format!(
            "{}x{}<p>y</p>",
            "<b>".repeat(100_000),
            "</b>".repeat(100_000)
        );
        assert_eq!(cap_markup(&nested, MAX_ITEM_ELEMENTS), nested);
        assert_eq!(prefix("añ", 2), "a");
        // Text the serializer would rescan after every `&`: cut near the square root of the
        // budget; the same `&`s between tags cost nothing.
        let ampersands = "&".repeat(1 << 20);
        let kept = cap_markup(&ampersands, MAX_ITEM_ELEMENTS).len();
        assert!((50_000..80_000).contains(&kept), "{kept}");
        let spaced = "<p>Café &amp; pan&nbsp;dulce ¡ya!</p>".repeat(30_000);
        assert_eq!(cap_markup(&spaced, MAX_ITEM_ELEMENTS), spaced);
    }

    #[test]
    fn tracking_parameters_and_fragments_are_dropped() {
        let u = Url::parse("HTTPS://Example.ORG:443/a/?utm_source=x&id=3&fbclid=y#top")
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(canonical_link(&u).as_str(), "https://example.org/a/?id=3");
        assert_eq!(link_key(&u), "example.org/a?id=3");
        let v = Url::parse("http://www.example.org:8080/a/index.html?utm_medium=x")
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(link_key(&v), "example.org:8080/a");
    }

    /// Items as partners write them: full content with images, links, entities, embeds and
    /// noise; a summary only; content only; text without markup.
    fn raw_items() -> Vec<RawItem> {
        let content = r#"<div class="entry"><p><strong>Acción urgente:</strong> la defensora
            mixe fue detenida el 12 de noviembre a las 13:05 en Tlahuitoltepec &amp; trasladada
            a Oaxaca.</p><figure><img src="/wp-content/uploads/foto.jpg?itok=AbC1" alt="Asamblea"
            width="800"><figcaption>Foto: Colectivo</figcaption></figure>
            <iframe src="https://www.youtube.com/embed/abc123" title="Video"></iframe>
            <p>Women defenders in the Isthmus call for letters to the governor. <a href="/firma/?utm_source=rss">Firma</a>
            · 1732190000</p><script>track()</script></div>"#;
        let raw = |summary: Option<&str>, content: Option<&str>| RawItem {
            guid: Some("https://red.example.org/?p=7".into()),
            link: Some("https://red.example.org/2026/11/accion/?utm_medium=feed".into()),
            title: Some("AU: Detienen a defensora mixe en Oaxaca".into()),
            authors: vec!["Comunicación".into()],
            summary: summary.map(str::to_string),
            content: content.map(str::to_string),
            published: chrono::DateTime::from_timestamp(1_794_000_000, 0),
            base: Url::parse("https://red.example.org/feed/").ok(),
            ..RawItem::default()
        };
        vec![
            raw(Some("La defensora mixe fue detenida […]"), Some(content)),
            raw(Some("<p>Sólo un <b>resumen</b> &amp; nada más.</p>"), None),
            raw(None, Some(content)),
            raw(
                Some(""),
                Some("<p><img src=\"https://red.example.org/x.jpg\"></p>"),
            ),
            raw(
                Some("Texto plano sin marcas, con 14:41:07 y acentos: Chenalhó"),
                None,
            ),
        ]
    }

    #[test]
    fn the_fingerprint_is_read_from_one_parse_as_it_was_from_several() {
        // The fingerprint as first defined: each body's text and links read by a parse of
        // its own. Stored fingerprints must not change (every item would look updated).
        let reference = |item: &Item| {
            let mut parts = vec![item.title.split_whitespace().collect::<Vec<_>>().join(" ")];
            for h in [Some(&item.summary), item.content.as_ref()]
                .into_iter()
                .flatten()
            {
                let text = to_text(h.as_str());
                let words: Vec<&str> = text.split_whitespace().filter(|w| !is_noise(w)).collect();
                parts.push(words.join(" "));
                let doc = scraper::Html::parse_fragment(h.as_str());
                let links = doc.tree.root().descendants().filter_map(counted_link);
                parts.extend(links.map(|u| u.to_string()));
            }
            parts.push(
                item.link
                    .as_ref()
                    .map(Url::as_str)
                    .unwrap_or_default()
                    .to_string(),
            );
            let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
            hash(&refs)
        };
        let source = Source::adhoc(
            Url::parse("https://red.example.org/feed/").unwrap_or_else(|_| unreachable!()),
        );
        for raw in raw_items() {
            let item = normalize(&source, raw).unwrap_or_else(|| unreachable!());
            assert_eq!(item.fingerprint, reference(&item), "{item:?}");
            let again = fingerprint(
                &item.title,
                &[Some(&item.summary), item.content.as_ref()],
                item.link.as_ref(),
            );
            assert_eq!(item.fingerprint, again, "{item:?}");
        }
    }

    #[test]
    fn the_fetch_annotates_as_annotation_reads_back() {
        let source = Source::adhoc(
            Url::parse("https://red.example.org/feed/").unwrap_or_else(|_| unreachable!()),
        );
        let annotator = Annotator::new(
            crate::annotate::tag::Gazetteer::default(),
            12,
            std::slice::from_ref(&source),
        );
        let mut said = 0;
        for raw in raw_items() {
            let item =
                normalize_with(&source, raw, Some(&annotator)).unwrap_or_else(|| unreachable!());
            let fresh = item.annotation.clone().unwrap_or_else(|| unreachable!());
            let date = item.published.map_or(0, |d| d.timestamp());
            let stored = crate::store::PendingItem {
                id: 1,
                source_id: item.source_id.clone(),
                title: item.title.clone(),
                link: item.link.as_ref().map(|l| l.to_string()),
                summary: item.summary.clone(),
                content: item.content.clone(),
                sort_at: date,
                first_seen: date,
                fingerprint: item.fingerprint.clone(),
                annotated: false,
            };
            let read_back = annotator.annotate(&stored);
            assert_eq!(fresh.language, read_back.language, "{item:?}");
            assert_eq!(fresh.tags, read_back.tags, "{item:?}");
            assert_eq!(fresh.excerpt, read_back.excerpt, "{item:?}");
            assert_eq!(fresh.excerpt_html, read_back.excerpt_html, "{item:?}");
            assert_eq!(fresh.signature, read_back.signature, "{item:?}");
            assert_eq!(fresh.body, read_back.body, "{item:?}");
            said += usize::from(!fresh.body.is_empty() && fresh.language.is_some());
        }
        // All but the image alone say something, in a language.
        assert_eq!(said, 4);
    }

    #[test]
    fn noise_is_not_a_change_but_words_are() {
        let t = "Acción urgente";
        let h = |s: &str| SafeHtml::from_store(s.to_string());
        let a = h(
            r#"<p>Actualizado 13:05:22 · 1732190000</p><img src="https://a.example/x.jpg?itok=AbC" alt="">"#,
        );
        let b = h(
            r#"<p>Actualizado 14:41:07 · 1732193600</p><img src="https://a.example/x.jpg?itok=ZzZ" alt="">"#,
        );
        let c = h(
            r#"<p>Actualizado 14:41:07 · 1732193600 corrección</p><img src="https://a.example/x.jpg" alt="">"#,
        );
        assert_eq!(
            fingerprint(t, &[Some(&a)], None),
            fingerprint(t, &[Some(&b)], None)
        );
        assert_ne!(
            fingerprint(t, &[Some(&a)], None),
            fingerprint(t, &[Some(&c)], None)
        );
    }
}
