//! The one HTML policy: what may reach a subscriber's inbox.
//!
//! Every piece of partner HTML goes through [`sanitize`] before it is stored, so the store
//! and the templates only ever see [`SafeHtml`]. The allow-list is small and email-safe;
//! relative URLs are made absolute against the item's base. Also owns the HTML → plain
//! text conversion used for excerpts and search.

use std::collections::HashSet;
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};
use serde::Serialize;
use url::Url;

/// HTML that went through [`sanitize`]. Only this module (and the store, reading back what
/// this module produced) can make one, so templates may mark it safe.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct SafeHtml(String);

impl SafeHtml {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// Wraps HTML read back from the store, which holds only sanitized HTML.
    pub(crate) fn from_store(html: String) -> SafeHtml {
        SafeHtml(html)
    }

    /// Plain text, HTML-escaped, as safe HTML.
    pub fn from_text(text: &str) -> SafeHtml {
        SafeHtml(escape(text))
    }
}

const TAGS: &[&str] = &[
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "dd",
    "del",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h2",
    "h3",
    "h4",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
];

/// Elements removed together with everything inside them.
const DROP_WITH_CONTENT: &[&str] = &[
    "script",
    "style",
    "svg",
    "math",
    "template",
    "object",
    "embed",
    "applet",
    "noscript",
    "title",
    "select",
    "textarea",
    "button",
    "iframe",
    "frame",
    "frameset",
    "noembed",
    "noframes",
    "xmp",
    "plaintext",
];

static ALLOWED_TAGS: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| TAGS.iter().copied().collect());

fn policy(base: &Url) -> Builder<'static> {
    let mut b = Builder::empty();
    b.tags(ALLOWED_TAGS.clone())
        .clean_content_tags(DROP_WITH_CONTENT.iter().copied().collect())
        .add_tag_attributes("a", ["href", "title"])
        .add_tag_attributes("img", ["src", "alt", "width", "height", "title"])
        .add_tag_attributes("td", ["colspan", "rowspan"])
        .add_tag_attributes("th", ["colspan", "rowspan"])
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .url_relative(UrlRelative::RewriteWithBase(base.clone()))
        .link_rel(Some("noopener"))
        .attribute_filter(|element, attribute, value| {
            // Images load without a click: only http(s), never mailto. The filter sees the
            // value before relative URLs are resolved, so scheme-less values pass.
            if element == "img" && attribute == "src" && has_scheme(value) {
                let lower = value.trim_start().to_ascii_lowercase();
                if !(lower.starts_with("http://") || lower.starts_with("https://")) {
                    return None;
                }
            }
            Some(value.into())
        });
    b
}

/// Whether a URL names a scheme (`x:` before any `/`, `?` or `#`).
fn has_scheme(url: &str) -> bool {
    let url = url.trim_start();
    match url.find(':') {
        Some(colon) => !url[..colon].contains(['/', '?', '#']),
        None => false,
    }
}

/// Cleans partner HTML for email, resolving relative URLs against `base`.
pub fn sanitize(html: &str, base: &Url) -> SafeHtml {
    SafeHtml(policy(base).clean(html).to_string().trim().to_string())
}

/// Escapes text for HTML content and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The text of an HTML fragment, with block boundaries as spaces and whitespace folded.
pub fn to_text(html: &str) -> String {
    if !html.contains('<') && !html.contains('&') {
        return fold_whitespace(html);
    }
    let fragment = scraper::Html::parse_fragment(html);
    let mut out = String::with_capacity(html.len());
    for node in fragment.tree.root().descendants() {
        match node.value() {
            scraper::Node::Text(t) => {
                let skip = node.ancestors().any(|a| {
                    a.value()
                        .as_element()
                        .is_some_and(|e| DROP_WITH_CONTENT.contains(&e.name()))
                });
                if !skip {
                    out.push_str(t);
                }
            }
            scraper::Node::Element(e)
                if !matches!(
                    e.name(),
                    "a" | "b" | "i" | "em" | "strong" | "span" | "u" | "small" | "abbr" | "code"
                ) =>
            {
                out.push(' ');
            }
            _ => {}
        }
    }
    fold_whitespace(&out)
}

fn fold_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first `words` words of `text`, with an ellipsis when cut.
pub fn excerpt(text: &str, words: usize) -> String {
    let mut it = text.split_whitespace();
    let taken: Vec<&str> = it.by_ref().take(words).collect();
    let mut out = taken.join(" ");
    if it.next().is_some() {
        out = out
            .trim_end_matches([',', ';', ':', '.', '—', '-'])
            .to_string();
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://colectivo.example.org/noticias/").unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn scripts_handlers_and_javascript_urls_are_removed() {
        let html = r#"<p onclick="steal()">Hola <script>alert(1)</script><a href="javascript:alert(1)">x</a>
            <img src="x.jpg" onerror="alert(1)"><iframe src="https://evil.example/"></iframe></p>"#;
        let out = sanitize(html, &base());
        let s = out.as_str();
        assert!(
            !s.contains("script") && !s.contains("onclick") && !s.contains("onerror"),
            "{s}"
        );
        assert!(!s.contains("javascript:") && !s.contains("iframe"), "{s}");
        assert!(
            s.contains(r#"<img src="https://colectivo.example.org/noticias/x.jpg">"#),
            "{s}"
        );
    }

    #[test]
    fn relative_links_become_absolute() {
        let out = sanitize(r#"<a href="/2026/11/accion/">Acción</a>"#, &base());
        assert!(
            out.as_str()
                .contains(r#"href="https://colectivo.example.org/2026/11/accion/""#),
            "{out:?}"
        );
    }

    #[test]
    fn text_keeps_block_boundaries_and_drops_scripts() {
        assert_eq!(
            to_text("<p>Uno.</p><p>Dos <b>tres</b></p><script>x()</script>"),
            "Uno. Dos tres"
        );
        assert_eq!(to_text("Caf&eacute; &amp; pan"), "Café & pan");
    }

    #[test]
    fn excerpt_cuts_at_words() {
        assert_eq!(excerpt("uno dos tres cuatro", 2), "uno dos…");
        assert_eq!(excerpt("uno dos", 5), "uno dos");
    }
}
