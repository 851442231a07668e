//! What email needs beyond sanitizing, done on the parsed tree: every `<img>` gets a
//! `width` that fits the card, an `alt` and a fluid style, so the layout holds in clients
//! that ignore CSS and reads well with images off. Pure: sanitized HTML in, HTML out.
//!
//! The sanitizer has already resolved each image's source and written its `alt`, `width`
//! and `height` as plain values; this module only fits them to the email. Everything else
//! is written back exactly as the sanitizer's serializer (ammonia's html5ever) writes it,
//! attributes in their order, so only the images change. scraper's own serializer is an
//! older html5ever that leaves `<` and `>` unescaped in attribute values, which would
//! change text the sanitizer wrote, hence the few lines of serializing here.

use ego_tree::iter::Edge;
use scraper::node::Element;
use scraper::{Html, Node};

use crate::html::sanitize::SafeHtml;

/// Lets an image shrink with a narrow screen and keep its proportions.
const FLUID_STYLE: &str = "max-width:100%;height:auto;";

/// Elements that have no content and no end tag.
const VOID: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input",
    "keygen", "link", "meta", "param", "source", "track", "wbr",
];

/// Elements whose text is written unescaped.
const RAW_TEXT: &[&str] = &[
    "style",
    "script",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "plaintext",
];

/// `html` with every image fitted to a card `max_width` pixels wide: a missing, unreadable
/// or wider `width` becomes `max_width` (and a `height` given with it goes, since it was
/// that width's), a missing `alt` becomes empty, and a missing `style` the fluid one.
pub fn fit_images(html: &SafeHtml, max_width: u32) -> String {
    let html = html.as_str();
    if !html.contains("<img") {
        return html.to_string();
    }
    let fragment = Html::parse_fragment(html);
    // The parser puts a fragment's nodes inside an `<html>` element of its own.
    let Some(wrapper) = fragment
        .tree
        .root()
        .children()
        .find(|n| n.value().is_element())
    else {
        return html.to_string();
    };
    let card_width = max_width.to_string();
    let mut out = String::with_capacity(html.len() + 128);
    // `traverse` walks the tree without recursion, however deep the partner nested it.
    for edge in wrapper.traverse() {
        match edge {
            Edge::Open(node) if node.id() != wrapper.id() => match node.value() {
                Node::Element(e) if e.name() == "img" => {
                    start_tag(e.name(), fitted(e, max_width, &card_width), &mut out)
                }
                Node::Element(e) => start_tag(e.name(), e.attrs(), &mut out),
                Node::Text(t) => {
                    let raw = node
                        .parent()
                        .and_then(|p| p.value().as_element())
                        .is_some_and(|p| RAW_TEXT.contains(&p.name()));
                    if raw {
                        out.push_str(t);
                    } else {
                        escape_into(t, false, &mut out);
                    }
                }
                Node::Comment(c) => {
                    out.push_str("<!--");
                    out.push_str(c);
                    out.push_str("-->");
                }
                _ => {}
            },
            Edge::Close(node) if node.id() != wrapper.id() => {
                if let Node::Element(e) = node.value()
                    && !VOID.contains(&e.name())
                {
                    out.push_str("</");
                    out.push_str(e.name());
                    out.push('>');
                }
            }
            _ => {}
        }
    }
    out
}

/// The attributes of an `<img>` fitted to the card, in their order, the added ones last.
fn fitted<'a>(e: &'a Element, max_width: u32, card_width: &'a str) -> Vec<(&'a str, &'a str)> {
    let width = e
        .attr("width")
        .and_then(|w| w.trim_end_matches("px").parse::<u32>().ok());
    let fits = width.is_some_and(|w| w <= max_width);
    let sized = e.attr("width").is_some();
    let mut attrs: Vec<(&str, &str)> = e
        .attrs()
        .filter(|(name, _)| fits || !(*name == "width" || (sized && *name == "height")))
        .collect();
    if !fits {
        attrs.push(("width", card_width));
    }
    if e.attr("alt").is_none() {
        attrs.push(("alt", ""));
    }
    if e.attr("style").is_none() {
        attrs.push(("style", FLUID_STYLE));
    }
    attrs
}

fn start_tag<'a>(
    name: &str,
    attrs: impl IntoIterator<Item = (&'a str, &'a str)>,
    out: &mut String,
) {
    out.push('<');
    out.push_str(name);
    for (name, value) in attrs {
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        escape_into(value, true, out);
        out.push('"');
    }
    out.push('>');
}

/// Escapes as the HTML serializer does: `&`, no-break spaces, `<` and `>` everywhere, and
/// `"` inside attribute values.
fn escape_into(text: &str, attribute: bool, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::sanitize::sanitize;
    use url::Url;

    fn base() -> Url {
        Url::parse("https://colectivo.example.org/noticias/").unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn images_get_a_width_that_fits_an_alt_and_a_fluid_style() {
        let html = sanitize(
            r#"<p><img src="x.jpg"> y <img src="y.jpg" alt="Marcha > 2 km" width="1200" height="800"><img width="40" height="40" title="Logo" src="s.png"></p>"#,
            &base(),
        );
        let out = fit_images(&html, 536);
        assert_eq!(
            out,
            "<p><img src=\"https://colectivo.example.org/noticias/x.jpg\" alt=\"\" width=\"536\" style=\"max-width:100%;height:auto;\"> y \
             <img src=\"https://colectivo.example.org/noticias/y.jpg\" alt=\"Marcha &gt; 2 km\" width=\"536\" style=\"max-width:100%;height:auto;\">\
             <img src=\"https://colectivo.example.org/noticias/s.png\" alt=\"Logo\" width=\"40\" height=\"40\" style=\"max-width:100%;height:auto;\"></p>"
        );
    }

    #[test]
    fn everything_but_the_images_comes_back_as_the_sanitizer_wrote_it() {
        // Entities, no-break spaces, quotes, accents, tables, lists, preformatted text and
        // an image that already fits: only the image's style may be added.
        let html = sanitize(
            "<h2>Caravana &amp; «foro»</h2><p>Oaxaca&nbsp;— \"Chiapas\" & <a href=\"/a?x=1&y=<2>\" title=\"Ver &quot;más&quot; <aquí>\">más</a></p>\
             <table><tr><td colspan=\"2\">Día</td></tr></table><ul><li>uno<li>dos</ul><pre>  código\n  <b>x</b></pre>\
             <p><img src=\"f.jpg\" alt=\"Asamblea en Juchitán, 3 < 4\" width=\"300\" height=\"200\"></p><p>Fin: 5 > 3</p>",
            &base(),
        );
        assert!(
            html.as_str().contains("&nbsp;") && html.as_str().contains("<table>"),
            "{}",
            html.as_str()
        );
        let out = fit_images(&html, 536);
        assert_eq!(
            out.replace(" style=\"max-width:100%;height:auto;\"", ""),
            html.as_str()
        );
        assert_eq!(out.matches("style=").count(), 1, "{out}");
    }

    #[test]
    fn html_without_images_is_returned_as_is() {
        let html = sanitize("<p>Sin imágenes, con &lt;img&gt; en el texto</p>", &base());
        assert_eq!(fit_images(&html, 536), html.as_str());
    }
}
