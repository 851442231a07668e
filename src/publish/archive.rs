//! The web archive of editions: each edition's record, `archive/index.html` listing them
//! all, and `archive/feed.xml`, an Atom feed of editions.
//!
//! `compose` writes `out/<week>/edition.json` beside each edition's page; the index and
//! the feed are rebuilt from those records every time, so they always list exactly the
//! editions present in `out/`. Pages are linked relatively (the folder can be published
//! anywhere); the feed's links are absolute, from `archive_url`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::html::escape::escape;
use crate::lang::Lang;
use crate::publish::i18n;
use crate::publish::links::feed_url;

/// One composed edition, as the archive lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EditionRecord {
    /// The edition's slug (`2026-W47`): its folder under `out/`, linked as `../<week>/`.
    pub week: String,
    /// The issue number, when the edition file gives one.
    pub number: Option<u32>,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The long date in the edition's languages.
    pub long_date: String,
    /// The archived version's subject, on one line.
    pub subject: String,
    /// The inbox preview line; may be empty.
    pub preheader: String,
    /// The languages of the archived version (two for a bilingual page).
    pub languages: Vec<Lang>,
    /// The edition's public page, when `archive_url` is set.
    pub url: Option<String>,
}

/// Why the archive could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The output folder exists but could not be listed.
    #[error("cannot read the archive folder {path}: {source}")]
    Read {
        /// The output folder (`compose --out`).
        path: String,
        /// Why the operating system refused it.
        source: std::io::Error,
    },
}

/// The file each edition's folder keeps its record in.
pub const RECORD_FILE: &str = "edition.json";

/// Every edition record under `out/*/edition.json`, newest first. A record that does not
/// parse is skipped (it was not written by boletin).
pub fn load_records(out: &Path) -> Result<Vec<EditionRecord>, ArchiveError> {
    let mut records = Vec::new();
    let entries = match std::fs::read_dir(out) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(records),
        Err(source) => {
            return Err(ArchiveError::Read {
                path: out.display().to_string(),
                source,
            });
        }
    };
    for entry in entries.flatten() {
        let path = entry.path().join(RECORD_FILE);
        if let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(record) = serde_json::from_str::<EditionRecord>(&text)
        {
            records.push(record);
        }
    }
    records.sort_by(|a, b| b.date.cmp(&a.date).then(b.week.cmp(&a.week)));
    Ok(records)
}

/// What `archive_index.html` receives.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveIndexView {
    /// `<html lang>`: the config's first language.
    pub lang: &'static str,
    /// `[newsletter] title`, heading the page.
    pub title: String,
    /// `[newsletter] description`; may be empty.
    pub description: String,
    /// Every composed edition under `out/`, newest first.
    pub editions: Vec<EditionRecord>,
    /// Public address of the Atom feed of editions; `None` without `archive_url`.
    pub feed_url: Option<String>,
    /// Short interface labels in the config's languages, joined " / " when bilingual.
    pub labels: BTreeMap<&'static str, String>,
}

/// The index view in the config's languages.
pub fn index_view(config: &Config, records: &[EditionRecord]) -> ArchiveIndexView {
    let langs = &config.newsletter.languages;
    ArchiveIndexView {
        lang: langs.first().map_or("es", |l| l.code()),
        title: config.newsletter.title.clone(),
        description: config.newsletter.description.clone(),
        editions: records.to_vec(),
        feed_url: feed_url(config),
        labels: i18n::labels_for(langs),
    }
}

/// An Atom feed of `records` (newest first), one entry per edition.
pub fn atom_feed(config: &Config, records: &[EditionRecord]) -> String {
    let domain =
        crate::publish::address::address_domain(&config.newsletter.from).unwrap_or("localhost");
    let updated = records
        .first()
        .map_or_else(|| "1970-01-01".to_string(), |r| r.date.clone());
    let feed_id = feed_url(config).unwrap_or_else(|| format!("tag:{domain},2026:boletin"));
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str(&format!(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{}\">\n",
        config
            .newsletter
            .languages
            .first()
            .map_or("es", |l| l.code())
    ));
    out.push_str(&format!(
        "  <title>{}</title>\n",
        escape(&config.newsletter.title)
    ));
    if !config.newsletter.description.is_empty() {
        out.push_str(&format!(
            "  <subtitle>{}</subtitle>\n",
            escape(&config.newsletter.description)
        ));
    }
    out.push_str(&format!("  <id>{}</id>\n", escape(&feed_id)));
    out.push_str(&format!("  <updated>{updated}T12:00:00-06:00</updated>\n"));
    if let Some(url) = feed_url(config) {
        out.push_str(&format!(
            "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
            escape(&url)
        ));
    }
    if let Some(archive) = &config.newsletter.archive_url {
        out.push_str(&format!(
            "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            escape(archive.as_str())
        ));
    }
    out.push_str(&format!(
        "  <author><name>{}</name></author>\n",
        escape(&config.newsletter.title)
    ));
    for r in records {
        let id = r
            .url
            .clone()
            .unwrap_or_else(|| format!("tag:{domain},{}:{}", r.date, r.week));
        out.push_str("  <entry>\n");
        out.push_str(&format!("    <title>{}</title>\n", escape(&r.subject)));
        out.push_str(&format!("    <id>{}</id>\n", escape(&id)));
        if let Some(url) = &r.url {
            out.push_str(&format!(
                "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
                escape(url)
            ));
        }
        out.push_str(&format!(
            "    <updated>{}T12:00:00-06:00</updated>\n",
            r.date
        ));
        out.push_str(&format!(
            "    <summary>{}</summary>\n",
            escape(&r.preheader)
        ));
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out
}
