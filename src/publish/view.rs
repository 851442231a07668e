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
use crate::publish::markdown::{markdown_html, markdown_text};
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
    title: Option<&'a str>,
    blurb: Option<&'a str>,
}

impl<'a> Pick<'a> {
    fn plain(item: &'a StoredItem, copies: Vec<&'a StoredItem>) -> Pick<'a> {
        Pick {
            item,
            copies,
            title: None,
            blurb: None,
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
    if let Some(t) = pick.title
        && t.trim() != view.title
    {
        view.original_title = Some(std::mem::replace(&mut view.title, t.trim().to_string()));
    }
    if let Some(blurb) = pick.blurb {
        view.blurb_html = Some(Value::from_safe_string(
            markdown_html(blurb, base).into_string(),
        ));
        view.blurb_text = markdown_text(blurb, base);
    }
    Some(view)
}

/// Stored HTML with its images fitted to the email's card.
fn email_html(html: &SafeHtml) -> String {
    crate::html::email::fit_images(html, IMAGE_WIDTH)
}

/// Sanitized HTML as plain text for the text part, wrapped at 72 columns. Links are
/// footnotes, each address on one line however long: a URL broken across lines is not the
/// link the HTML part carries.
fn html_text(html: &str) -> String {
    html2text::config::plain_no_decorate()
        .link_footnotes(true)
        .no_link_wrapping()
        .string_from_read(html.as_bytes(), 72)
        .map(|t| t.trim().to_string())
        .unwrap_or_else(|_| crate::html::text::to_text(html))
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
                Some(Pick {
                    item: items.get(&e.id)?,
                    copies: e.also.iter().filter_map(|id| items.get(id)).collect(),
                    title: e.title_override.as_deref(),
                    blurb: e.blurb.as_deref(),
                })
            });
            section_view(config, &s.id, picks, &langs, &base)
        })
        .collect();
    let intro = edition.intro.trim();
    let preheader = edition.preheader.trim();
    let frame = Frame {
        subject: edition.subject_for(&langs),
        intro: markdown_text(intro, &base),
        intro_html: (!intro.is_empty())
            .then(|| Value::from_safe_string(markdown_html(intro, &base).into_string())),
        date: i18n::edition_long_dates(edition.date, &langs),
        preheader: (!preheader.is_empty()).then(|| preheader.to_string()),
        web_url: links::edition_url(config, &edition.week),
        feed_url: links::feed_url(config),
        unsubscribe_url: Some(unsubscribe_url.to_string()),
        number: edition.number,
        week: Some(edition.week.clone()),
    };
    framed(config, &langs, sections, frame)
}
