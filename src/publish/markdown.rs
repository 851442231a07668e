//! The editor's Markdown (intro and notes in the edition file) as sanitized HTML for the
//! email and as plain text for its text part. Pure: text and a base URL in, text out.
//!
//! Relative links resolve against the base [`links::link_base`](crate::publish::links::link_base)
//! gives, so an edition reads the same in a mail client as in the web archive.

use url::Url;

use crate::html::sanitize::{self, SafeHtml};

/// The editor's Markdown as sanitized HTML (relative links made absolute against `base`).
pub fn markdown_html(markdown: &str, base: &Url) -> SafeHtml {
    let parser = pulldown_cmark::Parser::new_ext(markdown, pulldown_cmark::Options::empty());
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, parser);
    sanitize::sanitize(&html, base)
}

/// The editor's Markdown as plain text for the text part: paragraphs kept, emphasis
/// dropped, links written as `text <url>` (made absolute against `base`), list items as
/// `- `, quotes as `> `.
pub fn markdown_text(markdown: &str, base: &Url) -> String {
    use pulldown_cmark::{Event, Tag, TagEnd};
    let mut out = String::new();
    let mut links: Vec<String> = Vec::new();
    let mut quote = 0usize;
    for event in pulldown_cmark::Parser::new(markdown) {
        match event {
            Event::Start(Tag::Item) => out.push_str("- "),
            Event::Start(Tag::BlockQuote(_)) => quote += 1,
            Event::End(TagEnd::BlockQuote(_)) => quote = quote.saturating_sub(1),
            Event::Start(Tag::Paragraph) if quote > 0 => out.push_str("> "),
            Event::Start(Tag::Link { dest_url, .. }) => links.push(
                base.join(&dest_url)
                    .map_or_else(|_| dest_url.to_string(), |u| u.to_string()),
            ),
            Event::End(TagEnd::Link) => {
                if let Some(url) = links.pop() {
                    out.push_str(&format!(" <{url}>"));
                }
            }
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push('\n'),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::CodeBlock) => {
                out.push_str("\n\n")
            }
            Event::End(TagEnd::Item) => out.push('\n'),
            Event::End(TagEnd::List(_)) => out.push('\n'),
            _ => {}
        }
    }
    out.trim().to_string()
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
        let html = markdown_html("<script>x()</script>\n\n*sí*", &base);
        assert_eq!(html.as_str(), "<p><em>sí</em></p>");
    }
}
