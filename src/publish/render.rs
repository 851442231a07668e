//! Renders editions and digests with minijinja: view structs in, HTML and plain text out.
//!
//! The default templates are compiled into the binary; a file of the same name in the
//! configured templates folder overrides one. Undefined variables are errors, HTML
//! templates autoescape, and the only values marked safe are sanitized HTML (item
//! summaries from the store, the editor's Markdown after `sanitize`). The email HTML then
//! has its CSS inlined (css-inline), keeping the `@media` rules for narrow screens and
//! dark mode. `compose`, `preview` and `send` render an edition the same way:
//! [`checked_items`], [`edition_view`], [`Renderer::email`].

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;
use url::Url;

use crate::config::{Config, Lang};
use crate::edition::{Edition, EditionError};
use crate::publish::i18n;
use crate::store::{ItemQuery, Store, StoreError, StoredItem};

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template has a syntax error or used an undefined value.
    #[error("template {name}: {message}")]
    Template { name: String, message: String },
    /// The rendered HTML could not have its CSS inlined.
    #[error("cannot inline the email's CSS: {0}")]
    Inline(String),
    /// The edition file names something that does not exist.
    #[error(transparent)]
    Edition(#[from] EditionError),
    /// The items could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

const BUILTIN: &[(&str, &str)] = &[
    ("email.html", include_str!("../../templates/email.html")),
    ("email.txt", include_str!("../../templates/email.txt")),
    ("archive.html", include_str!("../../templates/archive.html")),
    (
        "archive_index.html",
        include_str!("../../templates/archive_index.html"),
    ),
    (
        "partials/item.html",
        include_str!("../../templates/partials/item.html"),
    ),
    (
        "partials/section.html",
        include_str!("../../templates/partials/section.html"),
    ),
];

/// A rendered email: what delivery puts in the message.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The subject line as the editor wrote it (the MIME layer strips and caps it).
    pub subject: String,
    /// The email HTML with its CSS inlined.
    pub html: String,
    pub text: String,
}

/// One item as templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    pub id: i64,
    /// The editor's title override, else the item's own title.
    pub title: String,
    /// The item's own title when the editor overrode it (shown as a subtitle).
    pub original_title: Option<String>,
    pub link: Option<String>,
    pub source: String,
    pub author: Option<String>,
    pub date: String,
    /// Sanitized HTML, marked safe.
    pub summary: Value,
    pub excerpt: String,
    /// The summary as shown in the HTML, as wrapped plain text (links as footnotes).
    pub summary_text: String,
    /// The editor's note: sanitized HTML from Markdown (marked safe), or none.
    pub blurb_html: Option<Value>,
    /// The editor's note as plain text, or empty.
    pub blurb_text: String,
    /// Names of the other sources that published the same story.
    pub also: Vec<String>,
}

/// One section with its items.
#[derive(Debug, Clone, Serialize)]
pub struct SectionView {
    pub id: String,
    pub title: String,
    pub items: Vec<ItemView>,
}

/// Everything the email and archive-page templates receive.
#[derive(Debug, Clone, Serialize)]
pub struct DigestView {
    /// The `lang` of `<html>`: the first language.
    pub lang: &'static str,
    pub langs: Vec<&'static str>,
    pub title: String,
    pub subject: String,
    /// The introduction as plain text.
    pub intro: String,
    /// The introduction as sanitized HTML (marked safe), or none.
    pub intro_html: Option<Value>,
    pub date: String,
    pub preheader: String,
    pub archive_url: Option<String>,
    /// This edition's page in the web archive.
    pub web_url: Option<String>,
    /// The Atom feed of editions.
    pub feed_url: Option<String>,
    pub unsubscribe_url: Option<String>,
    pub number: Option<u32>,
    pub week: Option<String>,
    pub item_count: usize,
    pub sections: Vec<SectionView>,
    /// Short labels, joined " / " when bilingual.
    pub labels: BTreeMap<&'static str, String>,
    /// "Why you get this", one sentence per language.
    pub why: Vec<String>,
}

/// Summaries longer than this show as their excerpt: the email must stay under Gmail's
/// clipping size, and the link leads to the whole text.
const MAX_SUMMARY_BYTES: usize = 2500;

fn item_view(
    config: &Config,
    item: &StoredItem,
    langs: &[Lang],
    email_images_width: u32,
) -> Option<ItemView> {
    let source = config.source(&item.source_id)?;
    // The partner's whole text when it is short enough (quotes and calls to action are
    // what the editor picked it for), else its summary, else the excerpt.
    let full = item
        .content
        .as_ref()
        .map(|c| c.as_str())
        .filter(|c| c.len() <= MAX_SUMMARY_BYTES && c.len() > item.summary.as_str().len());
    let summary = match full {
        Some(content) => email_images(content, email_images_width),
        None if item.summary.as_str().len() > MAX_SUMMARY_BYTES => {
            format!("<p>{}</p>", crate::html::sanitize::escape(&item.excerpt))
        }
        None => email_images(item.summary.as_str(), email_images_width),
    };
    Some(ItemView {
        id: item.id,
        title: item.title.clone(),
        original_title: None,
        link: item.link.clone(),
        source: source.name.clone(),
        author: item.author.clone(),
        date: i18n::long_dates(item.date.with_timezone(&source.timezone), langs),
        summary_text: html_text(&summary),
        summary: Value::from_safe_string(summary),
        excerpt: item.excerpt.clone(),
        blurb_html: None,
        blurb_text: String::new(),
        also: Vec::new(),
    })
}

/// Sanitized HTML as plain text for the text part, wrapped at 72 columns.
fn html_text(html: &str) -> String {
    html2text::config::plain_no_decorate()
        .link_footnotes(true)
        .string_from_read(html.as_bytes(), 72)
        .map(|t| t.trim().to_string())
        .unwrap_or_else(|_| crate::html::sanitize::to_text(html))
}

/// The widest an image may be inside the 600 px card (600 minus the padding).
const IMAGE_WIDTH: u32 = 536;

/// The digest of a window, for `compose --since`: `items` grouped into sections by the
/// same rules `draft` uses (`curate::candidates`), each story once (copies folded into
/// their primary and credited under it), newest first.
pub fn digest_view(
    config: &Config,
    items: &[StoredItem],
    now: DateTime<Utc>,
    lang: Lang,
) -> DigestView {
    let tz = i18n::EDITION_TZ;
    let langs = [lang];
    let mut sections = Vec::new();
    for section in crate::edition::curate::candidates(config, items.to_vec()) {
        let Some(cs) = config.section(&section.section) else {
            continue;
        };
        let views: Vec<ItemView> = section
            .candidates
            .iter()
            .filter_map(|c| {
                let mut view = item_view(config, &c.item, &langs, IMAGE_WIDTH)?;
                view.also = also_names(config, &c.item, c.also.iter());
                Some(view)
            })
            .collect();
        if !views.is_empty() {
            sections.push(SectionView {
                id: section.section,
                title: cs.title_for(&langs),
                items: views,
            });
        }
    }
    let preheader = default_preheader(&sections);
    let date = i18n::long_date(now.with_timezone(&tz), lang);
    DigestView {
        lang: lang.code(),
        langs: vec![lang.code()],
        title: config.newsletter.title.clone(),
        subject: format!("{} · {date}", config.newsletter.title),
        intro: config.newsletter.description.clone(),
        intro_html: None,
        date,
        preheader,
        archive_url: config
            .newsletter
            .archive_url
            .as_ref()
            .map(|u| u.to_string()),
        web_url: None,
        feed_url: None,
        unsubscribe_url: None,
        number: None,
        week: None,
        item_count: sections.iter().map(|s| s.items.len()).sum(),
        sections,
        labels: i18n::labels_for(&langs),
        why: i18n::label_each("why", &langs),
    }
}

/// The names of the other sources that published `item`'s story: those of `copies` (the
/// copies folded into it here) and those the store links to it (`also_by`), each once,
/// never its own source.
fn also_names<'a>(
    config: &Config,
    item: &StoredItem,
    copies: impl Iterator<Item = &'a StoredItem>,
) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let ids = copies
        .map(|c| c.source_id.as_str())
        .chain(item.also_by.iter().map(String::as_str));
    for id in ids.filter(|id| *id != item.source_id) {
        if let Some(source) = config.source(id)
            && !names.contains(&source.name)
        {
            names.push(source.name.clone());
        }
    }
    names
}

/// The first three titles, joined: what an inbox shows after the subject.
pub fn default_preheader(sections: &[SectionView]) -> String {
    sections
        .iter()
        .flat_map(|s| s.items.iter().map(|i| i.title.as_str()))
        .take(3)
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The base relative links in the editor's Markdown resolve against.
fn markdown_base(config: &Config) -> Url {
    config.newsletter.archive_url.clone().unwrap_or_else(|| {
        let domain = crate::config::address_domain(&config.newsletter.from).unwrap_or("localhost");
        Url::parse(&format!("https://{domain}/"))
            .or_else(|_| Url::parse("https://localhost/"))
            .unwrap_or_else(|_| unreachable!("a constant URL parses"))
    })
}

/// The editor's Markdown as sanitized HTML (relative links made absolute against `base`).
pub fn markdown_html(markdown: &str, base: &Url) -> crate::html::sanitize::SafeHtml {
    let parser = pulldown_cmark::Parser::new_ext(markdown, pulldown_cmark::Options::empty());
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, parser);
    crate::html::sanitize::sanitize(&html, base)
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

/// Gives every `<img>` a `width` no wider than the card and an `alt` (empty when the
/// partner gave none), so the layout holds in clients that ignore CSS and reads well
/// with images off. `html` is sanitizer output: attributes are quoted.
pub fn email_images(html: &str, max_width: u32) -> String {
    let mut out = String::with_capacity(html.len() + 64);
    let mut rest = html;
    while let Some(start) = rest.find("<img") {
        out.push_str(&rest[..start]);
        let tag_and_more = &rest[start..];
        // The tag ends at the first `>` outside quotes.
        let mut in_quote = false;
        let end = tag_and_more
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    in_quote = !in_quote;
                }
                c == '>' && !in_quote
            })
            .map_or(tag_and_more.len(), |(i, _)| i + 1);
        let tag = &tag_and_more[..end];
        let body = tag.trim_end_matches('>').trim_end_matches('/').trim_end();
        let mut fixed = String::from(body);
        let width = attr(tag, "width").and_then(|w| w.trim_end_matches("px").parse::<u32>().ok());
        if width.is_none_or(|w| w > max_width) {
            if width.is_some() {
                fixed = remove_attr(&fixed, "width");
                fixed = remove_attr(&fixed, "height");
            }
            fixed.push_str(&format!(" width=\"{max_width}\""));
        }
        if attr(tag, "alt").is_none() {
            fixed.push_str(" alt=\"\"");
        }
        if attr(tag, "style").is_none() {
            fixed.push_str(" style=\"max-width:100%;height:auto;\"");
        }
        fixed.push('>');
        out.push_str(&fixed);
        rest = &tag_and_more[end..];
    }
    out.push_str(rest);
    out
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

fn remove_attr(tag: &str, name: &str) -> String {
    let needle = format!(" {name}=\"");
    match tag.find(&needle) {
        Some(start) => {
            let after = start + needle.len();
            let end = tag[after..].find('"').map_or(tag.len(), |l| after + l + 1);
            format!("{}{}", &tag[..start], &tag[end..])
        }
        None => tag.to_string(),
    }
}

/// The address that unsubscribes by mail: `[delivery] unsubscribe_mailto`, else the
/// sender. `send` lists it in `List-Unsubscribe` beside the personal link.
pub fn unsubscribe_address(config: &Config) -> String {
    config
        .delivery
        .unsubscribe_mailto
        .clone()
        .unwrap_or_else(|| crate::publish::mime::address_of(&config.newsletter.from).to_string())
}

/// Where subscribers unsubscribe when there is no per-subscriber link (compose, preview,
/// the web archive): a mail to [`unsubscribe_address`]. (`boletin serve` only answers
/// personal links, so there is no public web page to point to.)
pub fn default_unsubscribe_url(config: &Config) -> String {
    format!("mailto:{}?subject=unsubscribe", unsubscribe_address(config))
}

/// The public address of an edition's web page: `out/archive/` is published at
/// `archive_url`, so `out/<week>/` is at `archive_url/../<week>/`.
pub fn edition_url(config: &Config, week: &str) -> Option<String> {
    let archive = config.newsletter.archive_url.as_ref()?;
    archive
        .join(&format!("../{week}/"))
        .ok()
        .map(|u| u.to_string())
}

/// The stored items an edition names, by id.
fn edition_items(store: &Store, edition: &Edition) -> Result<HashMap<i64, StoredItem>, StoreError> {
    let ids = edition.item_ids();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let items = store.items(&ItemQuery {
        ids,
        ..Default::default()
    })?;
    Ok(items.into_iter().map(|i| (i.id, i)).collect())
}

/// The view of an edition in `langs` (one language, or two for a bilingual edition):
/// only included items, in the file's order, with the editor's titles and notes.
pub fn edition_view(
    config: &Config,
    edition: &Edition,
    items: &HashMap<i64, StoredItem>,
    langs: &[Lang],
    unsubscribe_url: &str,
) -> DigestView {
    let langs: Vec<Lang> = if langs.is_empty() {
        edition.languages(config)
    } else {
        langs.to_vec()
    };
    let base = markdown_base(config);
    let mut sections = Vec::new();
    for s in &edition.sections {
        let Some(cs) = config.section(&s.id) else {
            continue;
        };
        let mut views = Vec::new();
        for e in s.entries.iter().filter(|e| e.include) {
            let Some(item) = items.get(&e.id) else {
                continue;
            };
            let Some(mut view) = item_view(config, item, &langs, IMAGE_WIDTH) else {
                continue;
            };
            if let Some(t) = &e.title_override
                && t.trim() != view.title
            {
                view.original_title =
                    Some(std::mem::replace(&mut view.title, t.trim().to_string()));
            }
            if let Some(blurb) = &e.blurb {
                view.blurb_html = Some(Value::from_safe_string(
                    markdown_html(blurb, &base).into_string(),
                ));
                view.blurb_text = markdown_text(blurb, &base);
            }
            view.also = also_names(config, item, e.also.iter().filter_map(|id| items.get(id)));
            views.push(view);
        }
        if !views.is_empty() {
            sections.push(SectionView {
                id: s.id.clone(),
                title: cs.title_for(&langs),
                items: views,
            });
        }
    }
    let date = i18n::edition_long_dates(edition.date, &langs);
    let preheader = if edition.preheader.trim().is_empty() {
        default_preheader(&sections)
    } else {
        edition.preheader.trim().to_string()
    };
    let item_count = sections.iter().map(|s| s.items.len()).sum();
    let intro = edition.intro.trim();
    let codes: Vec<&'static str> = langs.iter().map(|l| l.code()).collect();
    DigestView {
        lang: codes.first().copied().unwrap_or("es"),
        langs: codes,
        title: config.newsletter.title.clone(),
        subject: edition.subject_for(&langs),
        intro: markdown_text(intro, &base),
        intro_html: (!intro.is_empty())
            .then(|| Value::from_safe_string(markdown_html(intro, &base).into_string())),
        date,
        preheader,
        archive_url: config
            .newsletter
            .archive_url
            .as_ref()
            .map(|u| u.to_string()),
        web_url: edition_url(config, &edition.week),
        feed_url: crate::publish::archive::feed_url(config),
        unsubscribe_url: Some(unsubscribe_url.to_string()),
        number: edition.number,
        week: Some(edition.week.clone()),
        item_count,
        sections,
        labels: i18n::labels_for(&langs),
        why: i18n::label_each("why", &langs),
    }
}

/// The stored items `edition` names, once the edition is checked against the config and
/// them (an unknown section or a missing item is an error naming the file and line).
/// `compose`, `preview` and `send` all start here, then render with [`edition_view`].
pub fn checked_items(
    config: &Config,
    store: &Store,
    edition: &Edition,
) -> Result<HashMap<i64, StoredItem>, RenderError> {
    let items = edition_items(store, edition)?;
    edition.validate(config, &items)?;
    Ok(items)
}

/// A template environment over the built-in templates and `dir`'s overrides.
pub struct Renderer {
    env: Environment<'static>,
}

impl Renderer {
    pub fn new(dir: &Path) -> Renderer {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.add_filter("wrap", wrap);
        // minijinja's default also escapes `/`, which bloats every URL in an email.
        env.set_formatter(|out, state, value| {
            if state.auto_escape() == minijinja::AutoEscape::Html
                && !value.is_safe()
                && let Some(text) = value.as_str()
            {
                return out
                    .write_str(&crate::html::sanitize::escape(text))
                    .map_err(minijinja::Error::from);
            }
            minijinja::escape_formatter(out, state, value)
        });
        let dir: PathBuf = dir.to_path_buf();
        env.set_loader(move |name| {
            if name.contains("..") {
                return Ok(None);
            }
            match std::fs::read_to_string(dir.join(name)) {
                Ok(text) => Ok(Some(text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BUILTIN
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, t)| t.to_string())),
                Err(e) => Err(minijinja::Error::new(
                    minijinja::ErrorKind::TemplateNotFound,
                    format!("cannot read {}: {e}", dir.join(name).display()),
                )),
            }
        });
        Renderer { env }
    }

    /// Renders template `name` with any view.
    pub fn render<T: Serialize>(&self, name: &str, view: &T) -> Result<String, RenderError> {
        let err = |e: minijinja::Error| RenderError::Template {
            name: name.to_string(),
            message: format!("{e:#}")
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        };
        let template = self.env.get_template(name).map_err(err)?;
        template.render(view).map_err(err)
    }

    /// Renders the HTML email (CSS inlined) and its plain-text twin.
    pub fn email(&self, view: &DigestView) -> Result<Rendered, RenderError> {
        let html = self.render("email.html", view)?;
        Ok(Rendered {
            subject: view.subject.clone(),
            html: inline_css(&html)?,
            text: self.render("email.txt", view)?,
        })
    }

    /// The edition's page in the web archive.
    pub fn archive_page(&self, view: &DigestView) -> Result<String, RenderError> {
        self.render("archive.html", view)
    }
}

/// Moves the `<style>` rules onto the elements (many clients drop `<style>`), keeping
/// `@media` rules (narrow screens, dark mode) in a `<style>` for the clients that read it.
pub fn inline_css(html: &str) -> Result<String, RenderError> {
    css_inline::CSSInliner::options()
        .keep_at_rules(true)
        .load_remote_stylesheets(false)
        .build()
        .inline(html)
        .map_err(|e| RenderError::Inline(e.to_string()))
}

/// Wraps text at `width` columns (plain-text mail reads best under 78).
fn wrap(text: String, width: Option<usize>) -> String {
    let width = width.unwrap_or(72).max(20);
    let mut out = String::with_capacity(text.len() + text.len() / width);
    for (i, paragraph) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut col = 0;
        for word in paragraph.split_whitespace() {
            let len = word.chars().count();
            if col > 0 && col + 1 + len > width {
                out.push('\n');
                col = 0;
            } else if col > 0 {
                out.push(' ');
                col += 1;
            }
            out.push_str(word);
            col += len;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_get_a_width_and_an_alt() {
        let out = email_images(
            r#"<p><img src="https://a.example/x.jpg"> y <img src="https://a.example/y.jpg" alt="Marcha > 2 km" width="1200" height="800"><img width="40" alt="logo" src="s.png"></p>"#,
            536,
        );
        assert_eq!(out.matches("width=\"536\"").count(), 2, "{out}");
        assert!(out.contains(r#"alt="Marcha > 2 km""#), "{out}");
        assert!(
            !out.contains("1200") && !out.contains("height=\"800\""),
            "{out}"
        );
        assert!(
            out.contains(r#"<img width="40" alt="logo" src="s.png""#),
            "{out}"
        );
        assert_eq!(out.matches("alt=").count(), 3);
    }

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

    #[test]
    fn wrap_breaks_at_width_without_splitting_words() {
        let out = wrap(
            "Delegación de solidaridad a Oaxaca y Chiapas en diciembre".into(),
            Some(20),
        );
        assert!(out.lines().all(|l| l.chars().count() <= 20), "{out}");
        assert_eq!(out.split_whitespace().count(), 9);
    }
}
