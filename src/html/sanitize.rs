//! The one HTML policy: what may reach a subscriber's inbox.
//!
//! Every piece of partner HTML goes through [`sanitize`] before it is stored, so the store
//! and the templates only ever see [`SafeHtml`]. Two passes: a rewriting walk over the
//! parsed tree that knows the email rules (lazy images promoted, tracker pixels dropped,
//! video/audio/iframe embeds turned into plain links, every URL resolved against the
//! item's base and stripped of tracking parameters, `alt` always present), then ammonia
//! with the same small allow-list as a second, independent net. Also owns the HTML →
//! plain text conversion and the word-bounded excerpts (plain and HTML).

use std::collections::HashSet;
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};
use ego_tree::NodeRef;
use scraper::Node;
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
    "__hssc",
    "__hstc",
    "__hsfp",
    "hsctatracking",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "vero_conv",
    "ref_src",
    "s_cid",
    "wt_mc",
    "wt.mc_id",
    "__twitter_impression",
    "_ga",
    "_gl",
    "ga_source",
    "ga_medium",
    "ga_campaign",
    "ga_term",
    "ga_content",
    "cmpid",
    "ncid",
    "sr_share",
    "ocid",
    "rb_clickid",
    "ttclid",
    "twclid",
    "li_fat_id",
    "epik",
    "pk_campaign",
    "pk_kwd",
    "pk_source",
    "pk_medium",
    "mtm_campaign",
    "mtm_source",
    "mtm_medium",
    "spm",
];

/// Hosts whose images are only there to count opens.
const TRACKER_HOSTS: &[&str] = &[
    "pixel.wp.com",
    "stats.wp.com",
    "stats.wordpress.com",
    "feeds.feedburner.com",
    "feedproxy.google.com",
    "www.google-analytics.com",
    "google-analytics.com",
    "ssl.google-analytics.com",
    "www.googletagmanager.com",
    "stats.g.doubleclick.net",
    "ad.doubleclick.net",
    "www.facebook.com",
    "pixel.quantserve.com",
    "mc.yandex.ru",
    "sb.scorecardresearch.com",
    "b.scorecardresearch.com",
    "pixel.mathtag.com",
    "t.co",
    "bat.bing.com",
    "px.ads.linkedin.com",
    "ct.pinterest.com",
    "analytics.twitter.com",
];

static DROP_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| DROP_WITH_CONTENT.iter().copied().collect());

/// Whether a query parameter only tracks the reader.
pub fn is_tracking_param(name: &str) -> bool {
    let k = name.to_ascii_lowercase();
    k.starts_with("utm_") || TRACKING_PARAMS.contains(&k.as_str())
}

/// Removes tracking parameters (utm_*, fbclid, gclid, mc_cid, …) from `url`.
pub fn strip_tracking(url: &mut Url) {
    if url.query().is_none() {
        return;
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !is_tracking_param(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else if kept.len() != url.query_pairs().count() {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
}

/// `value` resolved against `base`, kept only if its scheme is in `schemes`, tracking
/// parameters removed.
fn resolve(value: &str, base: &Url, schemes: &[&str]) -> Option<Url> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let mut url = base.join(value).ok()?;
    if !schemes.contains(&url.scheme()) {
        return None;
    }
    if matches!(url.scheme(), "http" | "https") && url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    strip_tracking(&mut url);
    Some(url)
}

const WEB: &[&str] = &["http", "https"];
const LINKS: &[&str] = &["http", "https", "mailto"];

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

/// Cleans partner HTML for email, resolving relative URLs against `base`.
pub fn sanitize(html: &str, base: &Url) -> SafeHtml {
    let fragment = scraper::Html::parse_fragment(html);
    let mut walked = String::with_capacity(html.len());
    for child in fragment.tree.root().children() {
        walk(child, base, &mut walked);
    }
    SafeHtml(AMMONIA.clean(&walked).to_string().trim().to_string())
}

fn walk(node: NodeRef<'_, Node>, base: &Url, out: &mut String) {
    match node.value() {
        Node::Text(t) => out.push_str(&escape_text(t)),
        Node::Element(e) => {
            // Foreign content (svg, math and anything inside them) never survives.
            if &*e.name.ns != "http://www.w3.org/1999/xhtml" {
                return;
            }
            let name = e.name();
            if EMBEDS.contains(&name) {
                embed_link(node, e, base, out);
                return;
            }
            if DROP_SET.contains(name) {
                return;
            }
            let name = match name {
                "h1" => "h2",
                "h5" | "h6" => "h4",
                other => other,
            };
            if name == "img" {
                image(e, base, out);
                return;
            }
            if !ALLOWED_TAGS.contains(&name) {
                // Unknown wrappers (div, span, font, section…) go; their content stays.
                let block = !matches!(name, "span" | "font" | "mark" | "ins" | "time" | "label");
                if block {
                    out.push('\n');
                }
                for child in node.children() {
                    walk(child, base, out);
                }
                if block {
                    out.push('\n');
                }
                return;
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
            if !matches!(name, "br" | "hr") {
                for child in node.children() {
                    walk(child, base, out);
                }
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
        }
        _ => {}
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

/// The page a player URL plays: `youtube.com/embed/ID` → `youtube.com/watch?v=ID`,
/// `player.vimeo.com/video/ID` → `vimeo.com/ID`; anything else as is.
fn original_of_embed(url: &Url) -> Url {
    let host = url.host_str().unwrap_or_default();
    let segments: Vec<&str> = url.path_segments().map(|s| s.collect()).unwrap_or_default();
    let rewritten = match (host, segments.as_slice()) {
        (
            "www.youtube.com" | "youtube.com" | "www.youtube-nocookie.com" | "youtube-nocookie.com",
            ["embed", id],
        ) if !id.is_empty() => format!("https://www.youtube.com/watch?v={id}"),
        ("player.vimeo.com", ["video", id]) if !id.is_empty() => {
            format!("https://vimeo.com/{id}")
        }
        _ => return url.clone(),
    };
    Url::parse(&rewritten).unwrap_or_else(|_| url.clone())
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

/// Every candidate of a `srcset` resolved, web-only and untracked; `None` when none is.
fn clean_srcset(srcset: &str, base: &Url) -> Option<String> {
    let mut out = Vec::new();
    for candidate in srcset.split(',') {
        let mut parts = candidate.split_whitespace();
        let Some(url) = parts.next().and_then(|u| resolve(u, base, WEB)) else {
            continue;
        };
        let descriptor: String = parts
            .next()
            .filter(|d| {
                d.len() < 8
                    && d.ends_with(['w', 'x'])
                    && d[..d.len() - 1]
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == '.')
            })
            .map(|d| format!(" {d}"))
            .unwrap_or_default();
        // A comma inside a URL would split the list differently when read back.
        if url.as_str().contains(',') {
            continue;
        }
        out.push(format!("{}{descriptor}", url.as_str()));
    }
    (!out.is_empty()).then(|| out.join(", "))
}

/// Images that only count opens: known tracker hosts and open-tracking paths.
fn is_tracker(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let path = url.path().to_ascii_lowercase();
    TRACKER_HOSTS.contains(&host.as_str())
        || host.starts_with("pixel.")
        || host.starts_with("tracking.")
        || path.contains("/pixel")
        || path.ends_with("/open")
        || path.contains("/track/open")
        || path.contains("/wf/open")
        || path.contains("/beacon")
        || path.ends_with("/1x1.gif")
        || path.ends_with("/1x1.png")
        || path.contains("/~r/")
}

fn push_attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    out.push_str(&escape(value));
    out.push('"');
}

fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
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
            Node::Text(t) => {
                let skip = node.ancestors().any(|a| {
                    a.value()
                        .as_element()
                        .is_some_and(|e| DROP_SET.contains(e.name()))
                });
                if !skip {
                    out.push_str(t);
                }
            }
            Node::Element(e)
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

/// Words in an excerpt unless the config says otherwise (`[newsletter] excerpt_words`).
pub const DEFAULT_EXCERPT_WORDS: usize = 60;

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

/// Inline and block elements an HTML excerpt keeps; images, figures, tables and code
/// blocks are left out (their text too), the rest is unwrapped.
const EXCERPT_TAGS: &[&str] = &[
    "a",
    "b",
    "strong",
    "em",
    "i",
    "u",
    "s",
    "del",
    "small",
    "sub",
    "sup",
    "abbr",
    "cite",
    "q",
    "code",
    "p",
    "br",
    "ul",
    "ol",
    "li",
    "blockquote",
];
const EXCERPT_SKIP: &[&str] = &["img", "figure", "table", "pre", "hr"];

/// The first `words` words of sanitized HTML as HTML: cut at a word boundary, every open
/// tag closed, entities whole (text is re-escaped, never cut inside `&…;`), an ellipsis
/// when cut.
pub fn excerpt_html(html: &SafeHtml, words: usize) -> SafeHtml {
    struct Cut {
        left: usize,
        more: bool,
        cut: bool,
        out: String,
    }
    fn go(node: NodeRef<'_, Node>, st: &mut Cut) {
        if st.cut {
            return;
        }
        match node.value() {
            Node::Text(t) => {
                let text: &str = t;
                // Keep the original spacing of the text, cutting after the last whole word.
                let mut end = 0;
                let mut in_word = false;
                for (i, c) in text.char_indices() {
                    if c.is_whitespace() {
                        if in_word {
                            in_word = false;
                            st.left -= 1;
                            end = i;
                            if st.left == 0 {
                                break;
                            }
                        }
                    } else {
                        in_word = true;
                    }
                }
                if in_word && st.left > 0 {
                    st.left -= 1;
                    end = text.len();
                }
                if st.left == 0 {
                    st.out.push_str(&escape_text(&text[..end]));
                    if st.more {
                        st.out.push('…');
                    }
                    st.cut = true;
                } else {
                    st.out.push_str(&escape_text(text));
                }
            }
            Node::Element(e) => {
                let name = e.name();
                if EXCERPT_SKIP.contains(&name) {
                    return;
                }
                let keep = EXCERPT_TAGS.contains(&name);
                if keep {
                    st.out.push('<');
                    st.out.push_str(name);
                    if name == "a"
                        && let Some(href) = e.attr("href")
                    {
                        push_attr(&mut st.out, "href", href);
                    }
                    st.out.push('>');
                    if name == "br" {
                        return;
                    }
                }
                for child in node.children() {
                    go(child, st);
                    if st.cut {
                        break;
                    }
                }
                if keep {
                    st.out.push_str("</");
                    st.out.push_str(name);
                    st.out.push('>');
                }
            }
            _ => {
                for child in node.children() {
                    go(child, st);
                }
            }
        }
    }
    if words == 0 {
        return SafeHtml::default();
    }
    let total = to_text(html.as_str()).split_whitespace().count();
    let fragment = scraper::Html::parse_fragment(html.as_str());
    let mut st = Cut {
        left: words,
        more: total > words,
        cut: false,
        out: String::new(),
    };
    for child in fragment.tree.root().children() {
        go(child, &mut st);
        if st.cut || st.left == 0 {
            break;
        }
    }
    let out = st.out;
    // The pieces came from sanitized HTML; ammonia re-checks the assembled fragment.
    SafeHtml(AMMONIA.clean(&out).to_string().trim().to_string())
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

    #[test]
    fn html_excerpt_is_balanced_and_keeps_entities() {
        let html = sanitize(
            "<p>Uno <strong>dos &amp; tres <em>cuatro cinco</em> seis</strong> siete</p><p>ocho</p>",
            &base(),
        );
        let out = excerpt_html(&html, 4);
        assert_eq!(
            out.as_str(),
            "<p>Uno <strong>dos &amp; tres…</strong></p>",
            "{out:?}"
        );
        let all = excerpt_html(&html, 60);
        assert!(!all.as_str().contains('…'));
        assert!(all.as_str().contains("ocho"));
        let words = to_text(excerpt_html(&html, 6).as_str());
        assert_eq!(words, "Uno dos & tres cuatro cinco…");
    }
}
