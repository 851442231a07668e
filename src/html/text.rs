//! HTML → plain text for search, language detection, tags, duplicate signatures and
//! excerpts: block boundaries become spaces, whitespace is folded, and what the sanitizer
//! drops with its content (scripts, styles, forms…) is not text. Pure.

use ego_tree::NodeRef;
use scraper::Node;

use crate::html::dom::{self, Visit};
use crate::html::sanitize::drops_content;

/// The text of an HTML fragment, with block boundaries as spaces and whitespace folded.
pub fn to_text(html: &str) -> String {
    if !html.contains('<') && !html.contains('&') {
        return fold_whitespace(html);
    }
    let tree = dom::fragment(html);
    let mut text = Text(String::with_capacity(html.len()));
    // The root's own children: the context element counts as a block like any other.
    dom::walk(tree.tree.root(), &mut text);
    fold_whitespace(&text.0)
}

struct Text(String);

impl<'a> Visit<'a> for Text {
    type Leave = ();

    fn enter(&mut self, node: NodeRef<'a, Node>) -> Option<()> {
        match node.value() {
            Node::Text(t) => {
                self.0.push_str(t);
                return None;
            }
            Node::Element(e) => {
                let name = e.name();
                if !matches!(
                    name,
                    "a" | "b" | "i" | "em" | "strong" | "span" | "u" | "small" | "abbr" | "code"
                ) {
                    self.0.push(' ');
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
    s.split_whitespace().collect::<Vec<_>>().join(" ")
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
}
