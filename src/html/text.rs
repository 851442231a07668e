//! HTML → plain text for search, language detection, tags, duplicate signatures and
//! excerpts: block boundaries become spaces, whitespace is folded, and what the sanitizer
//! drops with its content (scripts, styles, forms…) is not text. Pure.
//!
//! [`Parsed`] is sanitized HTML parsed once: an item's text, its excerpt and the links its
//! fingerprint counts are all read from that one tree.

use std::cell::OnceCell;

use ego_tree::NodeRef;
use scraper::{Html, Node};

use crate::html::dom::{self, Visit};
use crate::html::sanitize::{SafeHtml, drops_content};

/// The text of an HTML fragment, with block boundaries as spaces and whitespace folded.
pub fn to_text(html: &str) -> String {
    if is_plain(html) {
        return fold_whitespace(html);
    }
    text_of(&dom::fragment(html))
}

/// Text with nothing for a parser to read: it is its own text.
fn is_plain(html: &str) -> bool {
    !html.contains('<') && !html.contains('&')
}

/// The text of a parsed fragment (see [`to_text`]).
fn text_of(tree: &Html) -> String {
    let mut text = Text {
        out: String::new(),
        space: false,
    };
    // The root's own children: the context element counts as a block like any other.
    dom::walk(tree.tree.root(), &mut text);
    text.out
}

/// Sanitized HTML, parsed (once) when something first needs its tree: its text
/// ([`Parsed::text`]), its excerpt ([`crate::html::excerpt::excerpt_html_of`]) and its
/// elements ([`Parsed::tree`]) all come from the one parse.
pub struct Parsed<'h> {
    html: &'h SafeHtml,
    tree: OnceCell<Html>,
}

impl<'h> Parsed<'h> {
    /// `html`, not parsed yet.
    pub fn new(html: &'h SafeHtml) -> Parsed<'h> {
        Parsed {
            html,
            tree: OnceCell::new(),
        }
    }

    /// The sanitized HTML itself.
    pub fn html(&self) -> &'h SafeHtml {
        self.html
    }

    /// The parsed tree.
    pub fn tree(&self) -> &Html {
        self.tree.get_or_init(|| dom::safe_fragment(self.html))
    }

    /// [`to_text`] of the HTML.
    pub fn text(&self) -> String {
        if is_plain(self.html.as_str()) {
            return fold_whitespace(self.html.as_str());
        }
        text_of(self.tree())
    }
}

/// Text folded as it is collected: `space` says whitespace (or a block boundary) came since
/// the last word, written as one space before the next word.
struct Text {
    out: String,
    space: bool,
}

impl Text {
    fn push(&mut self, text: &str) {
        let mut words = text.split_whitespace();
        let Some(first) = words.next() else {
            self.space |= !text.is_empty();
            return;
        };
        if (self.space || text.starts_with(char::is_whitespace)) && !self.out.is_empty() {
            self.out.push(' ');
        }
        self.out.push_str(first);
        for word in words {
            self.out.push(' ');
            self.out.push_str(word);
        }
        self.space = text.ends_with(char::is_whitespace);
    }
}

impl<'a> Visit<'a> for Text {
    type Leave = ();

    fn enter(&mut self, node: NodeRef<'a, Node>) -> Option<()> {
        match node.value() {
            Node::Text(t) => {
                self.push(t);
                return None;
            }
            Node::Element(e) => {
                let name = e.name();
                if !matches!(
                    name,
                    "a" | "b" | "i" | "em" | "strong" | "span" | "u" | "small" | "abbr" | "code"
                ) {
                    self.space = true;
                }
                if drops_content(name) {
                    return None;
                }
            }
            _ => {}
        }
        Some(())
    }

    fn leave(&mut self, (): ()) {}
}

fn fold_whitespace(s: &str) -> String {
    let mut text = Text {
        out: String::with_capacity(s.len()),
        space: false,
    };
    text.push(s);
    text.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_block_boundaries_and_drops_scripts() {
        assert_eq!(
            to_text("<p>Uno.</p><p>Dos <b>tres</b></p><script>x()</script>"),
            "Uno. Dos tres"
        );
        assert_eq!(to_text("Caf&eacute; &amp; pan"), "Café & pan");
        assert_eq!(
            to_text("Niñas<br>y niños <svg><text>icono</text></svg>en <i>la</i>  escuela"),
            "Niñas y niños en la escuela"
        );
    }

    #[test]
    fn whitespace_folds_as_words_joined_by_one_space() {
        for s in [
            "",
            "   ",
            " \u{a0}uno\tdos \n tres\u{2003}",
            "uno",
            "\u{3000}Acción  urgente ",
        ] {
            assert_eq!(
                fold_whitespace(s),
                s.split_whitespace().collect::<Vec<_>>().join(" "),
                "{s:?}"
            );
        }
        // Text split over nodes folds as the text joined would.
        let html = "<p> Uno<b>dos</b> <i> tres</i></p>\n<p>cuatro <span>cinco </span>seis</p>";
        assert_eq!(to_text(html), "Unodos tres cuatro cinco seis");
        let safe = SafeHtml::from_store(html.to_string());
        assert_eq!(Parsed::new(&safe).text(), to_text(html));
    }
}
