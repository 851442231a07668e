//! View models: what the templates receive. One builder makes both views: the digest of
//! a window of stored items (`compose --since`) and an edition file's view (compose,
//! preview, send). They differ only in how items are picked and what frames them; an item
//! and a section are built the same way for both. Pure: config, items and the edition in,
//! views out.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use minijinja::Value;
use serde::Serialize;
use url::Url;

use crate::config::Config;
use crate::edition::Edition;
use crate::html::sanitize::SafeHtml;
use crate::lang::Lang;
use crate::publish::markdown::{Lines, markdown_html_lines};
use crate::publish::{i18n, links};
use crate::store::StoredItem;

/// One item as templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    /// The stored item's id, the one edition files name it by.
    pub id: i64,
    /// The editor's title override, else the item's own title.
    pub title: String,
    /// The item's own title when the editor overrode it (shown as a subtitle).
    pub original_title: Option<String>,
    /// The item's page; `None` when the entry had none.
    pub link: Option<String>,
    /// Display name of the source it came from.
    pub source: String,
    /// The entry's authors joined with ", "; `None` when it named none.
    pub author: Option<String>,
    /// The item's date (published, else first seen) written out in the view's languages, in
    /// its source's time zone.
    pub date: String,
    /// Sanitized HTML, marked safe.
    pub summary: Value,
    /// Plain-text start of the item's text, `[newsletter] excerpt_words` words long.
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
    /// The configured section's id.
    pub id: String,
    /// The section's title in the view's languages (joined " / " when bilingual).
    pub title: String,
    /// Its items in order (the edition file's, or newest first in a digest); never empty.
    pub items: Vec<ItemView>,
}

/// Everything the email and archive-page templates receive.
#[derive(Debug, Clone, Serialize)]
pub struct DigestView {
    /// The `lang` of `<html>`: the first language.
    pub lang: &'static str,
    /// Codes of every language of this version, first first (`["es", "en"]` if bilingual).
    pub langs: Vec<&'static str>,
    /// The newsletter's name (`[newsletter] title`), heading the email.
    pub title: String,
    /// The subject line: the edition's for these languages, or title and date for a digest.
    pub subject: String,
    /// The introduction as plain text.
    pub intro: String,
    /// The introduction as sanitized HTML (marked safe), or none.
    pub intro_html: Option<Value>,
    /// The edition's date (now, for a digest) written out in the view's languages.
    pub date: String,
    /// The inbox preview line: the editor's, else the first three titles joined " · ".
    pub preheader: String,
    /// `[newsletter] archive_url`, the archive's index page; `None` when unset.
    pub archive_url: Option<String>,
    /// This edition's page in the web archive.
    pub web_url: Option<String>,
    /// The Atom feed of editions.
    pub feed_url: Option<String>,
    /// The recipient's unsubscribe link (a placeholder until `send` personalizes it);
    /// `None` in a digest.
    pub unsubscribe_url: Option<String>,
    /// The issue number; `None` in a digest or when the edition file gives none.
    pub number: Option<u32>,
    /// The edition's slug (`2026-W47`); `None` in a digest.
    pub week: Option<String>,
    /// Items shown, all sections together.
    pub item_count: usize,
    /// Sections that have items, in order (the edition file's, or the config's in digests).
    pub sections: Vec<SectionView>,
    /// Short labels, joined " / " when bilingual.
    pub labels: BTreeMap<&'static str, String>,
    /// "Why you get this", one sentence per language.
    pub why: Vec<String>,
    /// `[newsletter] footer` (the organization's postal address and contact) as sanitized
    /// HTML (marked safe), each line kept; none when the config has none.
    pub footer_html: Option<Value>,
    /// The footer as plain text, or empty.
    pub footer_text: String,
}

/// Summaries longer than this show as their excerpt: the email must stay under Gmail's
/// clipping size, and the link leads to the whole text.
const MAX_SUMMARY_BYTES: usize = 2500;

/// The widest an image may be inside the 600 px card (600 minus the padding).
const IMAGE_WIDTH: u32 = 536;

/// An item as a section lists it: the stored item, the copies of its story credited under
/// it, and the editor's touches (none in a window's digest).
struct Pick<'a> {
    item: &'a StoredItem,
    copies: Vec<&'a StoredItem>,
    /// The editor's title in the version's languages (joined " / " when bilingual).
    title: Option<String>,
    /// The editor's notes, one per language of the version.
    blurb: Vec<&'a str>,
}

impl<'a> Pick<'a> {
    fn plain(item: &'a StoredItem, copies: Vec<&'a StoredItem>) -> Pick<'a> {
        Pick {
            item,
            copies,
            title: None,
            blurb: Vec::new(),
        }
    }
}

/// The item's view, or none when its source is no longer configured.
fn item_view(config: &Config, pick: &Pick<'_>, langs: &[Lang], base: &Url) -> Option<ItemView> {
    let item = pick.item;
    let source = config.source(&item.source_id)?;
    // The partner's whole text when it is short enough (quotes and calls to action are
    // what the editor picked it for), else its summary, else the excerpt.
    let full = item.content.as_ref().filter(|c| {
        c.as_str().len() <= MAX_SUMMARY_BYTES && c.as_str().len() > item.summary.as_str().len()
    });
    let summary = match full {
        Some(content) => email_html(content),
        None if item.summary.as_str().len() > MAX_SUMMARY_BYTES => {
            format!("<p>{}</p>", crate::html::escape::escape(&item.excerpt))
        }
        None => email_html(&item.summary),
    };
    let mut view = ItemView {
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
        also: also_names(config, item, &pick.copies),
    };
    if let Some(t) = &pick.title
        && t.trim() != view.title
    {
        view.original_title = Some(std::mem::replace(&mut view.title, t.trim().to_string()));
    }
    if let Some((html, text)) = prose(&pick.blurb, base, Lines::Joined) {
        view.blurb_html = Some(html);
        view.blurb_text = text;
    }
    Some(view)
}

/// The editor's Markdown texts of a version (one per language it shows, in order) as the
/// email's HTML, marked safe, and as the text part's; none when there is no text.
fn prose(texts: &[&str], base: &Url, lines: Lines) -> Option<(Value, String)> {
    if texts.is_empty() {
        return None;
    }
    let mut html = String::new();
    let mut text: Vec<String> = Vec::new();
    for t in texts {
        let safe = markdown_html_lines(t, base, lines);
        text.push(crate::publish::markdown::html_text(&safe));
        html.push_str(safe.as_str());
    }
    Some((Value::from_safe_string(html), text.join("\n\n")))
}

/// Stored HTML with its images fitted to the email's card.
fn email_html(html: &SafeHtml) -> String {
    crate::html::email::fit_images(html, IMAGE_WIDTH)
}

/// Sanitized HTML as plain text for the text part, wrapped at 72 columns. Links are
/// footnotes, each address on one line however long, and a word longer than a line (a
/// URL written out in the partner's text) stays whole on a longer line: a URL broken
/// across lines is not the link the HTML part carries.
fn html_text(html: &str) -> String {
    let text = html2text::config::plain_no_decorate()
        .link_footnotes(true)
        .no_link_wrapping()
        .string_from_read(html.as_bytes(), TEXT_WIDTH)
        .map(|t| t.trim().to_string());
    match text {
        Ok(text) => rejoin(text, &crate::html::text::to_text(html)),
        Err(_) => crate::html::text::to_text(html),
    }
}

/// The text part's width: plain-text mail reads best under 78 columns.
const TEXT_WIDTH: usize = 72;

/// Words this long or shorter are never cut: no line of the text part is that narrow.
const CUT_WORDS_ABOVE: usize = 20;

/// `text` with every word of `source` that html2text cut into pieces put back together.
/// html2text hard-wraps a word wider than its line: the word starts a line and fills it to
/// the full width, then the next ones, each after only the line's prefix (the indent of a
/// list item, the `> ` of a quote). Such pieces of a long source word are joined onto
/// their first line.
fn rejoin(text: String, source: &str) -> String {
    let mut words: Vec<&str> = source
        .split_whitespace()
        .filter(|w| w.chars().count() > CUT_WORDS_ABOVE)
        .collect();
    if words.is_empty() {
        return text;
    }
    words.sort_unstable();
    words.dedup();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for word in words {
        // Each join removes a line, so this ends.
        while let Some((first, last, joined)) = split_word(&lines, word) {
            lines.splice(first..=last, [joined]);
        }
    }
    lines.join("\n")
}

/// Where `word` is cut across `lines`: the first and last line of its pieces, and those
/// lines as one, the word whole. Every line but the last is full, as html2text leaves it.
fn split_word(lines: &[String], word: &str) -> Option<(usize, usize, String)> {
    let full = |line: &str| line.chars().count() == TEXT_WIDTH;
    for (first, line) in lines.iter().enumerate().filter(|(_, l)| full(l)) {
        for (cut, _) in word.char_indices().skip(1) {
            let Some(before) = line.strip_suffix(&word[..cut]) else {
                continue;
            };
            let mut rest = &word[cut..];
            for (last, next) in lines.iter().enumerate().skip(first + 1) {
                let piece = next.trim_start_matches([' ', '>']);
                if let Some(after) = piece.strip_prefix(rest) {
                    return Some((first, last, format!("{before}{word}{after}")));
                }
                match rest.strip_prefix(piece) {
                    Some(more) if !piece.is_empty() && full(next) => rest = more,
                    _ => break,
                }
            }
        }
    }
    None
}

/// A configured section with the views of `picks`, or none when the section is unknown
/// or none of its items can be shown.
fn section_view<'a>(
    config: &Config,
    id: &str,
    picks: impl IntoIterator<Item = Pick<'a>>,
    langs: &[Lang],
    base: &Url,
) -> Option<SectionView> {
    let section = config.section(id)?;
    let items: Vec<ItemView> = picks
        .into_iter()
        .filter_map(|p| item_view(config, &p, langs, base))
        .collect();
    (!items.is_empty()).then(|| SectionView {
        id: id.to_string(),
        title: section.title_for(langs),
        items,
    })
}

/// The names of the other sources that published `item`'s story: those of `copies` (the
/// copies shown with it) and those the store links to it (`also_by`), each once, never its
/// own source.
fn also_names(config: &Config, item: &StoredItem, copies: &[&StoredItem]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let ids = copies
        .iter()
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

/// What frames the sections: where a digest and an edition differ.
struct Frame {
    subject: String,
    intro: String,
    intro_html: Option<Value>,
    date: String,
    /// The editor's preheader; none for [`default_preheader`].
    preheader: Option<String>,
    web_url: Option<String>,
    feed_url: Option<String>,
    unsubscribe_url: Option<String>,
    number: Option<u32>,
    week: Option<String>,
}

fn framed(config: &Config, langs: &[Lang], sections: Vec<SectionView>, f: Frame) -> DigestView {
    let codes: Vec<&'static str> = langs.iter().map(|l| l.code()).collect();
    let footer = prose(
        &config.newsletter.footer.each(langs),
        &links::link_base(config),
        Lines::Kept,
    );
    DigestView {
        lang: codes.first().copied().unwrap_or("es"),
        langs: codes,
        title: config.newsletter.title.clone(),
        subject: f.subject,
        intro: f.intro,
        intro_html: f.intro_html,
        date: f.date,
        preheader: f.preheader.unwrap_or_else(|| default_preheader(&sections)),
        archive_url: config
            .newsletter
            .archive_url
            .as_ref()
            .map(|u| u.to_string()),
        web_url: f.web_url,
        feed_url: f.feed_url,
        unsubscribe_url: f.unsubscribe_url,
        number: f.number,
        week: f.week,
        item_count: sections.iter().map(|s| s.items.len()).sum(),
        sections,
        labels: i18n::labels_for(langs),
        why: i18n::label_each("why", langs),
        footer_text: footer.as_ref().map(|f| f.1.clone()).unwrap_or_default(),
        footer_html: footer.map(|f| f.0),
    }
}

/// The digest of a window, for `compose --since`: `items` grouped into sections by the
/// same rules `draft` uses (`curate::candidates`), each story once (copies folded into
/// their primary and credited under it), newest first.
pub fn digest_view(
    config: &Config,
    items: &[StoredItem],
    now: DateTime<Utc>,
    lang: Lang,
) -> DigestView {
    let langs = [lang];
    let base = links::link_base(config);
    let candidates = crate::edition::curate::candidates(config, items.to_vec());
    let sections: Vec<SectionView> = candidates
        .iter()
        .filter_map(|section| {
            let picks = section
                .candidates
                .iter()
                .map(|c| Pick::plain(&c.item, c.also.iter().collect()));
            section_view(config, &section.section, picks, &langs, &base)
        })
        .collect();
    let date = i18n::long_date(now.with_timezone(&i18n::EDITION_TZ), lang);
    let frame = Frame {
        subject: format!("{} · {date}", config.newsletter.title),
        intro: config.newsletter.description.clone(),
        intro_html: None,
        date,
        preheader: None,
        web_url: None,
        feed_url: None,
        unsubscribe_url: None,
        number: None,
        week: None,
    };
    framed(config, &langs, sections, frame)
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
    let base = links::link_base(config);
    let sections: Vec<SectionView> = edition
        .sections
        .iter()
        .filter_map(|s| {
            let picks = s.entries.iter().filter(|e| e.include).filter_map(|e| {
                let titles = e.title_override.each(&langs);
                Some(Pick {
                    item: items.get(&e.id)?,
                    copies: e.also.iter().filter_map(|id| items.get(id)).collect(),
                    title: (!titles.is_empty()).then(|| titles.join(" / ")),
                    blurb: e.blurb.each(&langs),
                })
            });
            section_view(config, &s.id, picks, &langs, &base)
        })
        .collect();
    let intro = prose(&edition.intro.each(&langs), &base, Lines::Joined);
    let preheader = edition.preheader.each(&langs);
    let frame = Frame {
        subject: edition.subject_for(&langs),
        intro: intro.as_ref().map(|i| i.1.clone()).unwrap_or_default(),
        intro_html: intro.map(|i| i.0),
        date: i18n::edition_long_dates(edition.date, &langs),
        preheader: (!preheader.is_empty()).then(|| preheader.join(" / ")),
        web_url: links::edition_url(config, &edition.week),
        feed_url: links::feed_url(config),
        unsubscribe_url: Some(unsubscribe_url.to_string()),
        number: edition.number,
        week: Some(edition.week.clone()),
    };
    framed(config, &langs, sections, frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_longer_than_a_line_stays_whole_in_text_quotes_lists_and_links() {
        let url = "https://cdh-altos.example.org/documentos/informe-anual-sobre-desplazamiento-forzado-en-los-altos-de-chiapas-2026.pdf";
        let html = format!(
            "<p>Descarga el informe completo del Centro de Derechos Humanos en {url} o <a href=\"{url}\">aquí</a>; \
             también <a href=\"{url}?p=2\">{url}?p=2</a>.</p>\
             <blockquote><p>Cita textual con {url}, de la semana pasada.</p></blockquote>\
             <ul><li>Documento: {url}</li><li>Segundo punto, corto.</li></ul>"
        );
        let text = html_text(&html);
        // Whole where written, in the quote, the list and as a link's text; and in both
        // footnotes.
        assert_eq!(text.matches(url).count(), 6, "{text}");
        assert!(
            text.contains(&format!("> Cita textual con\n> {url}, de la")),
            "{text}"
        );
        assert!(text.contains(&format!("* Documento:\n  {url}")), "{text}");
        // Everything else still wraps at 72 columns.
        for line in text.lines().filter(|l| !l.contains("https://")) {
            assert!(line.chars().count() <= 72, "{line:?}");
        }
        // What html2text gives alone, cut in the middle, is what this mends.
        let raw = html2text::config::plain_no_decorate()
            .link_footnotes(true)
            .no_link_wrapping()
            .string_from_read(html.as_bytes(), 72)
            .unwrap_or_default();
        assert_eq!(raw.matches(url).count(), 2, "only the footnotes: {raw}");
    }

    #[test]
    fn text_without_long_words_is_html2text_s_own() {
        let html = "<p>Más de 80 familias tsotsiles desplazadas de Aldama y Chenalhó piden <a href=\"https://cdh.example.org/a\">ayuda humanitaria</a> urgente.</p>";
        let raw = html2text::config::plain_no_decorate()
            .link_footnotes(true)
            .no_link_wrapping()
            .string_from_read(html.as_bytes(), 72)
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        assert_eq!(html_text(html), raw);
        assert!(raw.contains('\n'), "it wraps: {raw}");
    }
}
