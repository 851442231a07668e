//! The one HTML policy: what may reach a subscriber's inbox. Pure.
//!
//! Every piece of partner HTML goes through [`sanitize`] before it is stored, so the store
//! and the templates only ever see [`SafeHtml`], and only this module makes one. Two passes:
//! a rewriting walk over the parsed tree that knows the email rules (lazy images promoted,
//! tracker pixels dropped, video/audio/iframe embeds turned into plain links, every URL
//! cleaned by [`crate::html::url`], `alt` always present, nesting flattened beyond
//! [`MAX_NESTING`]), then ammonia with the same small allow-list as a second, independent
//! net. HTML→text, excerpts and escaping live beside it in `html/`.

use std::collections::HashSet;
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};
use ego_tree::NodeRef;
use scraper::Node;
use serde::Serialize;
use url::Url;

use crate::html::dom::{self, Visit};
use crate::html::escape::{escape, escape_text, push_attr};
use crate::html::url::{LINKS, WEB, clean_srcset, is_tracker, original_of_embed, resolve};

/// HTML that went through [`sanitize`]. Only this module (and the store, reading back what
/// this module produced) can make one, so templates may mark it safe.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct SafeHtml(String);

impl SafeHtml {
    /// The sanitized HTML, for templates and the store.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The sanitized HTML, owned.
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

/// Every element that may reach an email. Nothing else survives.
pub const ALLOWED_TAGS: &[&str] = &[
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

/// Every `(element, attribute)` that may reach an email.
pub const ALLOWED_ATTRIBUTES: &[(&str, &str)] = &[
    ("a", "href"),
    ("a", "title"),
    ("a", "rel"),
    ("img", "src"),
    ("img", "srcset"),
    ("img", "alt"),
    ("img", "width"),
    ("img", "height"),
    ("img", "title"),
    ("td", "colspan"),
    ("td", "rowspan"),
    ("th", "colspan"),
    ("th", "rowspan"),
];

/// Elements removed together with everything inside them.
const DROP_WITH_CONTENT: &[&str] = &[
    "script",
    "style",
    "svg",
    "math",
    "template",
    "applet",
    "noscript",
    "title",
    "select",
    "textarea",
    "button",
    "input",
    "option",
    "optgroup",
    "datalist",
    "output",
    "frameset",
    "noembed",
    "noframes",
    "xmp",
    "plaintext",
    "head",
    "base",
    "meta",
    "link",
    "param",
    "source",
    "track",
    "canvas",
    "map",
    "area",
    "dialog",
    "portal",
    "slot",
    "keygen",
    "object",
    "embed",
];

/// Embeds that become a plain link to what they played.
const EMBEDS: &[&str] = &["iframe", "frame", "video", "audio", "object", "embed"];

static DROP_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| DROP_WITH_CONTENT.iter().copied().collect());

/// The ammonia pass: the same allow-list, applied to the walk's output.
fn ammonia_policy() -> Builder<'static> {
    let mut b = Builder::empty();
    b.tags(ALLOWED_TAGS.iter().copied().collect())
        .clean_content_tags(
            DROP_WITH_CONTENT
                .iter()
                .chain(["iframe", "frame", "video", "audio"].iter())
                .copied()
                .filter(|t| !ALLOWED_TAGS.contains(t))
                .collect(),
        )
        .url_schemes(LINKS.iter().copied().collect())
        // The walk made every URL absolute; anything still relative is dropped.
        .url_relative(UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer"))
        .attribute_filter(|element, attribute, value| {
            // Images load without a click: only http(s), never mailto.
            if element == "img" && attribute == "src" {
                let lower = value.trim_start().to_ascii_lowercase();
                if !(lower.starts_with("http://") || lower.starts_with("https://")) {
                    return None;
                }
            }
            // ammonia does not look inside srcset: every candidate must be http(s).
            if attribute == "srcset"
                && !value.split(',').all(|c| {
                    let l = c.trim_start().to_ascii_lowercase();
                    l.starts_with("http://") || l.starts_with("https://")
                })
            {
                return None;
            }
            Some(value.into())
        });
    for (tag, attr) in ALLOWED_ATTRIBUTES {
        if *attr != "rel" {
            b.add_tag_attributes(tag, [*attr]);
        }
    }
    b
}

static AMMONIA: LazyLock<Builder<'static>> = LazyLock::new(ammonia_policy);

/// Whether the sanitizer drops `element` together with everything inside it.
pub(crate) fn drops_content(element: &str) -> bool {
    DROP_SET.contains(element)
}

/// Allowed elements nested deeper than this are unwrapped (their content stays). Articles
/// nest a few levels; the bound keeps every later reader of stored HTML (ammonia, the
/// excerpts, the text part's renderer, mail clients) away from pathological depth.
pub const MAX_NESTING: usize = 64;

/// Elements that sit inside a line: unwrapped, they leave no line break behind.
const INLINE: &[&str] = &[
    "span", "font", "mark", "ins", "time", "label", "a", "abbr", "b", "cite", "code", "del", "em",
    "i", "q", "s", "small", "strong", "sub", "sup", "u",
];

/// Cleans partner HTML for email, resolving relative URLs against `base`.
pub fn sanitize(html: &str, base: &Url) -> SafeHtml {
    let tree = dom::fragment(html);
    let mut walk = Walk {
        base,
        depth: 0,
        out: String::with_capacity(html.len()),
    };
    dom::walk(tree.tree.root(), &mut walk);
    recheck(&walk.out)
}

/// Runs ammonia with the policy over HTML assembled from sanitized pieces (or from the
/// walk), so that nothing reaches a [`SafeHtml`] without passing the allow-list.
pub(crate) fn recheck(html: &str) -> SafeHtml {
    SafeHtml(AMMONIA.clean(html).to_string().trim().to_string())
}

/// The rewriting walk: writes the email form of each node it enters.
struct Walk<'b> {
    base: &'b Url,
    /// Allowed elements open in `out`.
    depth: usize,
    out: String,
}

/// What closes an element the walk entered.
enum Close<'a> {
    /// The end tag of an allowed element.
    Tag(&'a str),
    /// A line break after an unwrapped block.
    Newline,
    Nothing,
}

impl<'a> Visit<'a> for Walk<'_> {
    type Leave = Close<'a>;

    fn enter(&mut self, node: NodeRef<'a, Node>) -> Option<Close<'a>> {
        let out = &mut self.out;
        let base = self.base;
        let e = match node.value() {
            Node::Text(t) => {
                out.push_str(&escape_text(t));
                return None;
            }
            Node::Element(e) => e,
            _ => return None,
        };
        // Foreign content (svg, math and anything inside them) never survives.
        if &*e.name.ns != "http://www.w3.org/1999/xhtml" {
            return None;
        }
        let name = e.name();
        if EMBEDS.contains(&name) {
            embed_link(node, e, base, out);
            return None;
        }
        if DROP_SET.contains(name) {
            return None;
        }
        let name = match name {
            "h1" => "h2",
            "h5" | "h6" => "h4",
            other => other,
        };
        if name == "img" {
            image(e, base, out);
            return None;
        }
        let void = matches!(name, "br" | "hr");
        if !ALLOWED_TAGS.contains(&name) || (!void && self.depth >= MAX_NESTING) {
            // Unknown wrappers (div, span, font, section…) go; their content stays.
            if !INLINE.contains(&name) {
                out.push('\n');
                return Some(Close::Newline);
            }
            return Some(Close::Nothing);
        }
        out.push('<');
        out.push_str(name);
        match name {
            "a" => {
                if let Some(href) = e.attr("href").and_then(|h| resolve(h, base, LINKS)) {
                    push_attr(out, "href", href.as_str());
                }
                if let Some(title) = e.attr("title") {
                    push_attr(out, "title", title);
                }
            }
            "td" | "th" => {
                for attr in ["colspan", "rowspan"] {
                    if let Some(v) = e.attr(attr).map(str::trim)
                        && v.parse::<u16>().is_ok()
                    {
                        push_attr(out, attr, v);
                    }
                }
            }
            _ => {}
        }
        out.push('>');
        if void {
            return None;
        }
        self.depth += 1;
        Some(Close::Tag(name))
    }

    fn leave(&mut self, close: Close<'a>) {
        match close {
            Close::Tag(name) => {
                self.depth -= 1;
                self.out.push_str("</");
                self.out.push_str(name);
                self.out.push('>');
            }
            Close::Newline => self.out.push('\n'),
            Close::Nothing => {}
        }
    }
}

/// An embed becomes `<p><a href="…">title or address</a></p>`, or nothing if it names no
/// web address.
fn embed_link(node: NodeRef<'_, Node>, e: &scraper::node::Element, base: &Url, out: &mut String) {
    // Hidden or 1×1 frames only track; there is nothing to link to.
    let tiny = |a: &str| {
        e.attr(a)
            .map(|v| v.trim().trim_end_matches("px"))
            .and_then(|v| v.parse::<u32>().ok())
            .is_some_and(|v| v <= 1)
    };
    let style = e
        .attr("style")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .replace(' ', "");
    if tiny("width")
        || tiny("height")
        || e.attr("hidden").is_some()
        || style.contains("display:none")
        || style.contains("visibility:hidden")
    {
        return;
    }
    let mut candidates: Vec<&str> = ["src", "data-src", "data", "href"]
        .iter()
        .filter_map(|a| e.attr(a))
        .collect();
    for d in node.descendants() {
        if let Some(child) = d.value().as_element()
            && matches!(child.name(), "source" | "embed" | "a")
        {
            candidates.extend(child.attr("src").or(child.attr("href")));
        }
    }
    let Some(url) = candidates
        .into_iter()
        .find_map(|c| resolve(c, base, WEB))
        .filter(|u| !is_tracker(u))
        .map(|u| original_of_embed(&u))
    else {
        return;
    };
    let label = e
        .attr("title")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| url.as_str().to_string());
    out.push_str("<p>");
    out.push_str("<a");
    push_attr(out, "href", url.as_str());
    out.push('>');
    out.push_str("▶ ");
    out.push_str(&escape_text(&label));
    out.push_str("</a></p>");
}

/// Attributes lazy-loading scripts keep the real image in, best first.
const LAZY_SRC: &[&str] = &[
    "data-src",
    "data-lazy-src",
    "data-original",
    "data-lazy",
    "data-url",
    "data-hi-res-src",
];
const LAZY_SRCSET: &[&str] = &["data-srcset", "data-lazy-srcset", "srcset"];

/// A `src` that only holds a place for the real image.
fn is_placeholder(src: &str) -> bool {
    let l = src.trim().to_ascii_lowercase();
    l.is_empty()
        || l.starts_with("data:")
        || l.starts_with("about:")
        || [
            "blank.gif",
            "spacer.gif",
            "placeholder",
            "lazy",
            "loading.gif",
            "transparent.gif",
        ]
        .iter()
        .any(|p| l.contains(p))
}

fn image(e: &scraper::node::Element, base: &Url, out: &mut String) {
    let srcset = LAZY_SRCSET
        .iter()
        .filter_map(|a| e.attr(a))
        .find_map(|s| clean_srcset(s, base));
    let src = LAZY_SRC
        .iter()
        .filter_map(|a| e.attr(a))
        .chain(e.attr("src").filter(|s| !is_placeholder(s)))
        .find_map(|s| resolve(s, base, WEB))
        .or_else(|| {
            srcset
                .as_deref()
                .and_then(|s| s.split(',').next())
                .and_then(|c| c.split_whitespace().next())
                .and_then(|u| Url::parse(u).ok())
        })
        // A `src` that only looked like a placeholder is still better than no image.
        .or_else(|| e.attr("src").and_then(|s| resolve(s, base, WEB)));
    let Some(src) = src else {
        // An image that cannot be shown still says something: keep its description as
        // text, as a mail client would show it.
        let alt = e
            .attr("alt")
            .map(|a| a.split_whitespace().collect::<Vec<_>>().join(" "));
        if let Some(alt) = alt.filter(|a| !a.is_empty()) {
            out.push_str(&escape(&alt));
        }
        return;
    };
    let dim = |a: &str| {
        e.attr(a)
            .map(|v| v.trim().trim_end_matches("px"))
            .and_then(|v| v.parse::<u32>().ok())
    };
    let (width, height) = (dim("width"), dim("height"));
    if width.is_some_and(|w| w <= 1) || height.is_some_and(|h| h <= 1) || is_tracker(&src) {
        return;
    }
    out.push_str("<img");
    push_attr(out, "src", src.as_str());
    if let Some(s) = &srcset {
        push_attr(out, "srcset", s);
    }
    let alt = e
        .attr("alt")
        .or(e.attr("title"))
        .map(|a| a.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    push_attr(out, "alt", &alt);
    if let Some(w) = width {
        push_attr(out, "width", &w.to_string());
    }
    if let Some(h) = height {
        push_attr(out, "height", &h.to_string());
    }
    out.push('>');
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
        assert!(!s.contains("javascript:") && !s.contains("<iframe"), "{s}");
        assert!(
            s.contains(r#"<img src="https://colectivo.example.org/noticias/x.jpg" alt="">"#),
            "{s}"
        );
    }

    #[test]
    fn an_image_without_a_usable_source_leaves_its_description() {
        let out = sanitize(
            r#"<p>Mapa: <img alt="Territorio &lt;zapoteco&gt;"><img src="javascript:x()"></p>"#,
            &base(),
        );
        assert_eq!(out.as_str(), "<p>Mapa: Territorio &lt;zapoteco&gt;</p>");
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
    fn lazy_images_are_promoted_and_pixels_dropped() {
        let html = r#"<p><img src="data:image/gif;base64,R0lGOD" data-src="/img/marcha.jpg?utm_source=rss&amp;w=600" alt="Marcha">
            <img data-lazy-src="b.jpg"><img src="placeholder.png" data-original="c.jpg">
            <img srcset="/d-300.jpg 300w, /d-600.jpg 600w" alt="D">
            <img src="https://colectivo.example.org/t.gif" width="1" height="1">
            <img src="https://pixel.wp.com/g.gif?blog=1"></p>"#;
        let s = sanitize(html, &base()).into_string();
        assert!(
            s.contains(r#"src="https://colectivo.example.org/img/marcha.jpg?w=600" alt="Marcha""#),
            "{s}"
        );
        assert!(
            s.contains("noticias/b.jpg") && s.contains("noticias/c.jpg"),
            "{s}"
        );
        assert!(
            s.contains(r#"srcset="https://colectivo.example.org/d-300.jpg 300w, https://colectivo.example.org/d-600.jpg 600w""#),
            "{s}"
        );
        assert!(!s.contains("t.gif") && !s.contains("pixel.wp.com"), "{s}");
        assert!(!s.contains("data:") && !s.contains("placeholder"), "{s}");
        assert_eq!(s.matches("<img").count(), s.matches("alt=").count(), "{s}");
        let river = sanitize(r#"<img src="/fotos/lazy-river.jpg" alt="Río">"#, &base());
        assert!(river.as_str().contains("lazy-river.jpg"), "{river:?}");
    }

    #[test]
    fn embeds_become_links_and_forms_go() {
        let html = r#"<p>Mira:</p><iframe src="https://www.youtube.com/embed/abc123" title="Marcha en Oaxaca"></iframe>
            <video controls><source src="/media/v.mp4" type="video/mp4"></video>
            <form action="/x"><input name="q"><button>Enviar</button></form><svg><a href="https://x.example/">s</a></svg>"#;
        let s = sanitize(html, &base()).into_string();
        assert!(
            s.contains(r#"<a href="https://www.youtube.com/watch?v=abc123" rel="noopener noreferrer">▶ Marcha en Oaxaca</a>"#),
            "{s}"
        );
        assert!(
            s.contains("https://colectivo.example.org/media/v.mp4"),
            "{s}"
        );
        assert!(
            !s.contains("<form") && !s.contains("<input") && !s.contains("Enviar"),
            "{s}"
        );
        assert!(!s.contains("x.example") && !s.contains("<svg"), "{s}");
    }

    #[test]
    fn style_class_id_and_bad_schemes_go() {
        let html = r#"<p style="color:red" class="a" id="b"><a href="vbscript:x">v</a><a href="mailto:a@b.org">m</a>
            <img src="mailto:a@b.org"><a href="https://e.example/?fbclid=1&amp;id=2&amp;mc_eid=3">e</a></p><style>p{}</style>"#;
        let s = sanitize(html, &base()).into_string();
        assert!(!s.contains("style") && !s.contains("class") && !s.contains("id=\"b\""));
        assert!(
            !s.contains("vbscript") && s.contains("mailto:a@b.org\""),
            "{s}"
        );
        assert!(!s.contains("<img"), "{s}");
        assert!(s.contains("https://e.example/?id=2\""), "{s}");
    }

    #[test]
    fn nesting_is_flattened_beyond_the_bound() {
        let html = format!(
            "{}<p>Desalojo en <b>Chenalhó</b></p>{}<p>Fin</p>",
            "<blockquote><div>".repeat(100),
            "</div></blockquote>".repeat(100)
        );
        let s = sanitize(&html, &base()).into_string();
        // The paragraph and its bold text are the innermost of all: unwrapped.
        assert_eq!(s.matches("<blockquote>").count(), MAX_NESTING, "{s}");
        assert_eq!(s.matches("</blockquote>").count(), MAX_NESTING, "{s}");
        assert!(s.contains("Desalojo en Chenalhó"), "{s}");
        assert!(
            s.ends_with("</blockquote><p>Fin</p>"),
            "{:?}",
            s.get(s.len().saturating_sub(60)..)
        );
    }

    #[test]
    fn depth_costs_no_stack_and_no_quadratic_time() {
        let started = std::time::Instant::now();
        // A small fraction of a tokio blocking thread's 2 MiB is enough at any depth.
        let thread = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                for tag in ["div", "b", "blockquote"] {
                    let n = 100_000;
                    let html = format!(
                        "{}Acción urgente{}",
                        format!("<{tag}>").repeat(n),
                        format!("</{tag}>").repeat(n)
                    );
                    let safe = sanitize(&html, &base());
                    assert!(safe.as_str().contains("Acción urgente"), "{tag}");
                    assert_eq!(crate::html::text::to_text(&html), "Acción urgente");
                    let cut = crate::html::excerpt::excerpt_html(&safe, 1);
                    assert!(cut.as_str().contains("Acción…"), "{tag}: {cut:?}");
                }
            });
        assert!(thread.is_ok_and(|t| t.join().is_ok()));
        // Minutes before the parser's nesting bound; about a second unoptimized after.
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }
}
