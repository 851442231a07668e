//! Excerpts: the first words of an item, as plain text and as HTML, cut at a word boundary
//! with an ellipsis. Annotation computes both with the configured length. Pure.

use ego_tree::NodeRef;
use scraper::Node;

use crate::html::dom::{self, Visit};
use crate::html::escape::{escape_text, push_attr};
use crate::html::sanitize::{self, SafeHtml};
use crate::html::text::Parsed;

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
    let parsed = Parsed::new(html);
    excerpt_html_of(&parsed, &parsed.text(), words)
}

/// [`excerpt_html`] of HTML already parsed, whose text ([`Parsed::text`]) is `text`.
pub fn excerpt_html_of(html: &Parsed<'_>, text: &str, words: usize) -> SafeHtml {
    if words == 0 {
        return SafeHtml::default();
    }
    let mut cut = Cut {
        left: words,
        more: text.split_whitespace().nth(words).is_some(),
        cut: false,
        out: String::new(),
    };
    dom::walk(html.tree().tree.root(), &mut cut);
    // The pieces came from sanitized HTML; the policy re-checks the assembled fragment.
    sanitize::recheck(&cut.out)
}

/// An HTML excerpt being written: words still to take, whether the text goes on after
/// them, and whether the cut was made.
struct Cut {
    left: usize,
    more: bool,
    cut: bool,
    out: String,
}

impl Cut {
    fn text(&mut self, text: &str) {
        // Keep the original spacing of the text, cutting after the last whole word.
        let mut end = 0;
        let mut in_word = false;
        for (i, c) in text.char_indices() {
            if c.is_whitespace() {
                if in_word {
                    in_word = false;
                    self.left -= 1;
                    end = i;
                    if self.left == 0 {
                        break;
                    }
                }
            } else {
                in_word = true;
            }
        }
        if in_word && self.left > 0 {
            self.left -= 1;
            end = text.len();
        }
        if self.left == 0 {
            self.out.push_str(&escape_text(&text[..end]));
            if self.more {
                self.out.push('…');
            }
            self.cut = true;
        } else {
            self.out.push_str(&escape_text(text));
        }
    }
}

impl<'a> Visit<'a> for Cut {
    /// The tag to close, if the element was kept.
    type Leave = Option<&'a str>;

    fn enter(&mut self, node: NodeRef<'a, Node>) -> Option<Option<&'a str>> {
        match node.value() {
            Node::Text(t) => {
                self.text(t);
                None
            }
            Node::Element(e) => {
                let name = e.name();
                if EXCERPT_SKIP.contains(&name) {
                    return None;
                }
                if !EXCERPT_TAGS.contains(&name) {
                    return Some(None);
                }
                self.out.push('<');
                self.out.push_str(name);
                if name == "a"
                    && let Some(href) = e.attr("href")
                {
                    push_attr(&mut self.out, "href", href);
                }
                self.out.push('>');
                (name != "br").then_some(Some(name))
            }
            _ => Some(None),
        }
    }

    fn leave(&mut self, leave: Option<&'a str>) {
        if let Some(name) = leave {
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push('>');
        }
    }

    fn done(&self) -> bool {
        self.cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::sanitize::sanitize;
    use crate::html::text::to_text;

    fn base() -> url::Url {
        url::Url::parse("https://colectivo.example.org/noticias/")
            .unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn excerpt_cuts_at_words() {
        assert_eq!(excerpt("uno dos tres cuatro", 2), "uno dos…");
        assert_eq!(excerpt("uno dos", 5), "uno dos");
        assert_eq!(excerpt("Marcha, mitin; asamblea", 2), "Marcha, mitin…");
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

    #[test]
    fn html_excerpt_leaves_out_figures_and_unwraps_the_rest() {
        let html = sanitize(
            r#"<figure><img src="/f.jpg" alt="Foto"><figcaption>Pie de foto</figcaption></figure>
               <h2>Título</h2><p>Texto <a href="https://e.example/">enlace</a><br>fin</p>"#,
            &base(),
        );
        assert_eq!(
            excerpt_html(&html, 3).as_str(),
            "Título<p>Texto <a href=\"https://e.example/\" rel=\"noopener noreferrer\">enlace…</a></p>"
        );
        assert_eq!(excerpt_html(&html, 0), SafeHtml::default());
    }
}
