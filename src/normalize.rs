//! Turns a [`RawItem`] into an [`Item`]: plain-text title, sanitized HTML, an excerpt, a
//! canonical link and a stable identity. Pure; the sanitizer is the last thing HTML meets.

use sha2::{Digest, Sha256};
use url::Url;

use crate::config::Source;
use crate::item::{Item, RawItem};
use crate::sanitize::{self, SafeHtml};

/// Words in a stored excerpt.
pub const EXCERPT_WORDS: usize = 60;

/// Query parameters that only track the reader.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "yclid",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "ref_src",
    "s_cid",
    "wt_mc",
    "__twitter_impression",
];

/// The link as it should be stored and compared: tracking parameters removed, fragment
/// dropped. Scheme, host and default port are already normalized by `url`.
pub fn canonical_link(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| {
                let k = k.to_ascii_lowercase();
                !k.starts_with("utm_") && !TRACKING_PARAMS.contains(&k.as_str())
            })
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    url
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
        .map(|h| sanitize::to_text(h.as_str()))
        .unwrap_or_default();
    let title = raw
        .title
        .as_deref()
        .map(sanitize::to_text)
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| sanitize::excerpt(&body_text, 12));
    if title.is_empty() && link.is_none() {
        return None;
    }
    let excerpt = sanitize::excerpt(&body_text, EXCERPT_WORDS);
    // A feed with only full content still gets a short summary for the digest.
    let summary = match summary_html {
        Some(s) if !s.as_str().is_empty() => s,
        _ => SafeHtml::from_text(&excerpt),
    };
    let published = raw.published.or(raw.updated);
    let guid = raw.guid.map(|g| g.trim().to_string());
    let key = match (&guid, &link) {
        (Some(g), _) => hash(&["guid", g]),
        (None, Some(l)) => hash(&["link", l.as_str()]),
        (None, None) => hash(&[
            "title",
            &title,
            &published.map(|d| d.to_rfc3339()).unwrap_or_default(),
        ]),
    };
    let content_text = content_html
        .as_ref()
        .map(|c| c.as_str())
        .unwrap_or_default();
    let fingerprint = hash(&[
        &title,
        summary.as_str(),
        content_text,
        link.as_ref().map(Url::as_str).unwrap_or(""),
    ]);
    Some(Item {
        source_id: source.id.clone(),
        key,
        guid,
        link,
        title,
        author: (!raw.authors.is_empty()).then(|| raw.authors.join(", ")),
        summary,
        content: content_html.filter(|c| !c.as_str().is_empty()),
        excerpt,
        published,
        updated: raw.updated,
        categories: raw.categories,
        fingerprint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_parameters_and_fragments_are_dropped() {
        let u = Url::parse("HTTPS://Example.ORG:443/a/?utm_source=x&id=3&fbclid=y#top")
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(canonical_link(&u).as_str(), "https://example.org/a/?id=3");
    }
}
