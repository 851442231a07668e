//! The editor's Markdown (intro and notes in the edition file) as sanitized HTML for the
//! email and as plain text for its text part, the text made from that same sanitized HTML.
//! Pure: text and a base URL in, text out.
//!
//! Relative links resolve against the base [`links::link_base`](crate::publish::links::link_base)
//! gives, so an edition reads the same in a mail client as in the web archive.

use ego_tree::NodeRef;
use scraper::Node;
use url::Url;

use crate::html::dom::{self, Visit};
use crate::html::sanitize::{self, SafeHtml};

/// How the lines of a paragraph read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// Joined, as Markdown reads them: the intro and notes, written as prose.
    Joined,
    /// Each line kept a line: the footer, where an address is written line by line and no
    /// editor should need Markdown's two trailing spaces.
    Kept,
}

/// The editor's Markdown as sanitized HTML (relative links made absolute against `base`).
pub fn markdown_html(markdown: &str, base: &Url) -> SafeHtml {
    markdown_html_lines(markdown, base, Lines::Joined)
}

/// [`markdown_html`], with the lines of a paragraph read as `lines` says.
pub fn markdown_html_lines(markdown: &str, base: &Url, lines: Lines) -> SafeHtml {
    let parser =
        pulldown_cmark::Parser::new_ext(markdown, pulldown_cmark::Options::empty()).map(|event| {
            match event {
                pulldown_cmark::Event::SoftBreak if lines == Lines::Kept => {
                    pulldown_cmark::Event::HardBreak
                }
                event => event,
            }
        });
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, parser);
    sanitize::sanitize(&html, base)
}

/// The editor's Markdown as plain text for the text part: paragraphs kept, emphasis
/// dropped, links written as `text <url>`, list items as `- `, quotes as `> `.
///
/// Made from [`markdown_html`]'s sanitized HTML, not from the Markdown: the text part
/// carries exactly the links the HTML part does (absolute, tracking parameters removed),
/// so a `javascript:` or `data:` link the sanitizer drops is not in either.
pub fn markdown_text(markdown: &str, base: &Url) -> String {
    html_text(&markdown_html(markdown, base))
}

/// HTML from [`markdown_html`] or [`markdown_html_lines`] as the text part's plain text.
pub fn html_text(html: &SafeHtml) -> String {
    let tree = dom::fragment(html.as_str());
    let mut text = PlainText::default();
    dom::walk(tree.tree.root(), &mut text);
    text.out.trim().to_string()
}

/// The walk that writes sanitized HTML as the text part's plain text.
#[derive(Default)]
struct PlainText {
    out: String,
    /// Blockquotes open.
    quote: usize,
    /// `<pre>` elements open: their whitespace is kept.
    pre: usize,
    /// Whitespace seen since the last word, written as one space before the next.
    space: bool,
}

/// What leaving an element writes.
enum Leave {
    /// A link: its address, if the sanitizer kept one, and where its text starts in `out`.
    Link(Option<String>, usize),
    Block,
    Pre,
    Item,
    List,
    Quote,
    Nothing,
}

impl PlainText {
    /// Structure (prefixes, line breaks): swallows the whitespace before it.
    fn mark(&mut self, s: &str) {
        self.space = false;
        self.out.push_str(s);
    }

    /// Starts a block on a line of its own.
    fn block(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.mark("\n\n");
        }
        if self.quote > 0 {
            self.mark("> ");
        }
    }

    fn text(&mut self, t: &str) {
        if self.pre > 0 {
            self.mark(t);
            return;
        }
        for c in t.chars() {
            if c.is_whitespace() {
                self.space = true;
                continue;
            }
            if std::mem::take(&mut self.space)
                && !self.out.is_empty()
                && !self.out.ends_with([' ', '\n'])
            {
                self.out.push(' ');
            }
            self.out.push(c);
        }
    }
}

impl<'a> Visit<'a> for PlainText {
    type Leave = Leave;

    fn enter(&mut self, node: NodeRef<'a, Node>) -> Option<Leave> {
        let e = match node.value() {
            Node::Text(t) => {
                self.text(t);
                return None;
            }
            Node::Element(e) => e,
            _ => return None,
        };
        Some(match e.name() {
            "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "figcaption" => {
                self.block();
                Leave::Block
            }
            "pre" => {
                self.block();
                self.pre += 1;
                Leave::Pre
            }
            "li" => {
                self.mark("- ");
                Leave::Item
            }
            "ul" | "ol" => Leave::List,
            "blockquote" => {
                self.quote += 1;
                Leave::Quote
            }
            "br" => {
                self.mark("\n");
                return None;
            }
            "img" => {
                self.text(e.attr("alt").unwrap_or_default());
                return None;
            }
            "a" => Leave::Link(e.attr("href").map(str::to_string), self.out.len()),
            _ => Leave::Nothing,
        })
    }

    fn leave(&mut self, leave: Leave) {
        match leave {
            Leave::Link(Some(url), start) => {
                // An autolink (`<https://…>`) already shows its address: not twice.
                let shown = self.out.get(start..).unwrap_or_default().trim();
                let same = shown == url
                    || matches!((Url::parse(shown), Url::parse(&url)), (Ok(a), Ok(b)) if a == b);
                if !same {
                    self.mark(&format!(" <{url}>"));
                }
            }
            Leave::Block => self.mark("\n\n"),
            Leave::Pre => {
                self.pre -= 1;
                self.mark("\n\n");
            }
            Leave::Item | Leave::List => self.mark("\n"),
            Leave::Quote => self.quote = self.quote.saturating_sub(1),
            Leave::Link(None, _) | Leave::Nothing => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_text_with_absolute_links() {
        let base =
            Url::parse("https://boletin.example.org/archivo/").unwrap_or_else(|_| unreachable!());
        let text = markdown_text(
            "Firma la **carta** [aquí](/carta/).\n\n- uno\n- dos\n\n> cita",
            &base,
        );
        assert_eq!(
            text,
            "Firma la carta aquí <https://boletin.example.org/carta/>.\n\n- uno\n- dos\n\n> cita"
        );
        assert_eq!(
            markdown_text("Firma en <https://carta.example.org/firma>.", &base),
            "Firma en https://carta.example.org/firma."
        );
        let html = markdown_html("<script>x()</script>\n\n*sí*", &base);
        assert_eq!(html.as_str(), "<p><em>sí</em></p>");
    }

    #[test]
    fn the_footer_keeps_each_line_a_line() {
        let base =
            Url::parse("https://boletin.example.org/archivo/").unwrap_or_else(|_| unreachable!());
        let footer = "Red de Solidaridad, A.C.\nCalle Macedonio Alcalá 412, Oaxaca\n[contacto@example.org](mailto:contacto@example.org)";
        let html = markdown_html_lines(footer, &base, Lines::Kept);
        assert_eq!(html.as_str().matches("<br>").count(), 2, "{html:?}");
        assert_eq!(
            html_text(&html),
            "Red de Solidaridad, A.C.\nCalle Macedonio Alcalá 412, Oaxaca\ncontacto@example.org <mailto:contacto@example.org>"
        );
        // Prose is joined as Markdown reads it.
        assert!(!markdown_html(footer, &base).as_str().contains("<br>"));
    }

    #[test]
    fn the_text_part_has_the_links_of_the_html_part_and_no_others() {
        let base =
            Url::parse("https://boletin.example.org/archivo/").unwrap_or_else(|_| unreachable!());
        let markdown = "Firma [la carta](javascript:alert(document.cookie)) y \
            [mira esto](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==), \
            [otra](vbscript:msgbox) o [esta][ref].\n\n\
            <a href=\"javascript:alert(2)\">en crudo</a> <javascript:alert(3)>\n\n\
            Lee [el informe](https://cdh.example.org/informe?utm_source=boletin&id=7) \
            y escribe a [la red](mailto:red@example.org).\n\n\
            [ref]: JaVaScRiPt:alert(4)";
        let html = markdown_html(markdown, &base);
        let text = markdown_text(markdown, &base);
        for bad in [
            "document.cookie",
            "base64",
            "vbscript",
            "alert(4)",
            "utm_source",
        ] {
            assert!(!text.contains(bad), "{bad} in {text}");
            assert!(!html.as_str().contains(bad), "{bad} in {html:?}");
        }
        // Every address in the text part is one the HTML part links to, and the reverse.
        let hrefs: Vec<&str> = html
            .as_str()
            .split("href=\"")
            .skip(1)
            .filter_map(|h| h.split('"').next())
            .collect();
        let urls: Vec<&str> = text
            .split('<')
            .skip(1)
            .filter_map(|u| u.split('>').next())
            .collect();
        assert_eq!(
            urls,
            [
                "https://cdh.example.org/informe?id=7",
                "mailto:red@example.org"
            ]
        );
        assert_eq!(hrefs, urls);
        // An autolink to a script stays inert text in both parts.
        assert!(
            text.starts_with(
                "Firma la carta y mira esto, otra o esta.\n\nen crudo javascript:alert(3)\n\n"
            ),
            "{text}"
        );
    }
}
