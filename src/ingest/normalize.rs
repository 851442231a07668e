//! Turns a [`RawItem`] into an [`Item`]: plain-text title, sanitized HTML, a canonical link
//! and a stable identity. Pure; the sanitizer is the last thing HTML meets. The excerpt is
//! annotation's: it has the configured length and redoes every excerpt when it changes.
//!
//! Identity, per source: the GUID, else the link in its comparison form ([`link_key`]),
//! else title and date. [`disambiguate_keys`] separates entries of one document that
//! reuse a GUID. The [`fingerprint`] decides what counts as an update: what a reader
//! sees, minus cache-busting noise (clock times, timestamps, image URL tokens).

use sha2::{Digest, Sha256};
use url::Url;

use crate::config::Source;
use crate::html::excerpt::excerpt;
use crate::html::sanitize::{self, SafeHtml};
use crate::html::text::to_text;
use crate::html::url::strip_tracking;
use crate::ingest::item::{Item, RawItem};

/// Words in the summary made for a feed that has only full content. Fixed, not
/// `excerpt_words`: the summary is part of the fingerprint, so a config edit must not make
/// every item look updated.
const SUMMARY_WORDS: usize = 60;

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
    h.finalize()
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Normalizes one raw item from `source`; `None` for entries with nothing to show.
pub fn normalize(source: &Source, raw: RawItem) -> Option<Item> {
    let base = raw
        .base
        .clone()
        .unwrap_or_else(|| source.base_url().clone());
    let link = raw
        .link
        .as_deref()
        .and_then(|l| base.join(l.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| canonical_link(&u));
    let summary_html = raw.summary.as_deref().map(|h| sanitize::sanitize(h, &base));
    let content_html = raw.content.as_deref().map(|h| sanitize::sanitize(h, &base));
    let body_text = content_html
        .as_ref()
        .or(summary_html.as_ref())
        .map(|h| to_text(h.as_str()))
        .unwrap_or_default();
    let title = raw
        .title
        .as_deref()
        .map(to_text)
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| excerpt(&body_text, 12));
    if title.is_empty() && link.is_none() {
        return None;
    }
    // A feed with only full content still gets a short summary for the digest.
    let summary = match summary_html {
        Some(s) if !s.as_str().is_empty() => s,
        _ => SafeHtml::from_text(&excerpt(&body_text, SUMMARY_WORDS)),
    };
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
    let fingerprint = fingerprint(
        &title,
        &[Some(&summary), content_html.as_ref()],
        link.as_ref(),
    );
    Some(Item {
        source_id: source.id.clone(),
        key,
        guid,
        link,
        title,
        author: (!raw.authors.is_empty()).then(|| raw.authors.join(", ")),
        summary,
        content: content_html.filter(|c| !c.as_str().is_empty()),
        published,
        updated: raw.updated,
        categories: raw.categories,
        fingerprint,
    })
}

/// A hash of what a reader sees, blind to cache-busting noise: clock times and Unix
/// timestamps in the text, and the query strings of image URLs (resizing and cache tokens).
/// Links and every other word count, so a real correction is an update.
pub fn fingerprint(title: &str, html: &[Option<&SafeHtml>], link: Option<&Url>) -> String {
    let mut parts: Vec<String> = vec![title.split_whitespace().collect::<Vec<_>>().join(" ")];
    for h in html.iter().flatten() {
        let text = to_text(h.as_str());
        let words: Vec<&str> = text.split_whitespace().filter(|w| !is_noise(w)).collect();
        parts.push(words.join(" "));
        let doc = scraper::Html::parse_fragment(h.as_str());
        for node in doc.tree.root().descendants() {
            let Some(e) = node.value().as_element() else {
                continue;
            };
            let url = match e.name() {
                "img" => e.attr("src").and_then(|s| Url::parse(s).ok()).map(|mut u| {
                    u.set_query(None);
                    u
                }),
                "a" => e.attr("href").and_then(|s| Url::parse(s).ok()),
                _ => None,
            };
            if let Some(u) = url {
                parts.push(u.to_string());
            }
        }
    }
    parts.push(link.map(Url::as_str).unwrap_or_default().to_string());
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    hash(&refs)
}

/// Words that change on every render without the story changing: clock times
/// (`13:05`, `13:05:22`), ISO timestamps and Unix timestamps (9+ digits).
fn is_noise(word: &str) -> bool {
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
    fn tracking_parameters_and_fragments_are_dropped() {
        let u = Url::parse("HTTPS://Example.ORG:443/a/?utm_source=x&id=3&fbclid=y#top")
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(canonical_link(&u).as_str(), "https://example.org/a/?id=3");
        assert_eq!(link_key(&u), "example.org/a?id=3");
        let v = Url::parse("http://www.example.org:8080/a/index.html?utm_medium=x")
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(link_key(&v), "example.org:8080/a");
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
