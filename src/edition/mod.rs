//! The edition file (`editions/2026-W47.toml`): what the editor writes, read back and
//! checked, and how `draft` adds candidates to it without losing a single edit.
//!
//! Reading goes through serde with spans, so every error names the file and line. Every
//! text the editor writes (subject, preheader, intro, notes, title overrides) is one
//! string or one per language ([`Localized`]). Beside the errors, the reading side finds
//! what renders but should be looked at before sending ([`EditionWarning`]): an item id
//! whose stored title or link is not the one the file shows, a text one language's
//! readers would get in another.
//! Writing goes through `toml_edit`: a second `draft` parses the file the editor touched,
//! appends only items it has not offered before to the end of their sections, not
//! included, and leaves every other byte as it was; `notes` writes the comments a draft
//! adds for the editor. Hands [`Edition`] to `render` and `archive`.

pub mod curate;
mod notes;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;
use toml::Spanned;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};

use crate::config::check::{
    NO_LANGUAGE, id_rule, is_id, languages, line_of, localized, toml_error,
};
use crate::config::spec::{LangSpec, LocalizedSpec};
use crate::config::{Config, Localized};
use crate::edition::curate::SectionCandidates;
use crate::lang::Lang;
use crate::store::StoredItem;

/// Why an edition file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EditionError {
    /// The file could not be read.
    #[error("{path}: cannot read edition: {source}")]
    Read {
        /// Path of the edition file, as it was opened.
        path: String,
        /// Why the operating system refused it (missing, unreadable, not UTF-8).
        source: std::io::Error,
    },
    /// The TOML is malformed or has an unknown key or a wrong type.
    #[error("{path}:{line}: {message}")]
    Syntax {
        /// Path of the edition file, as it was opened.
        path: String,
        /// 1-based line of the offending TOML (0 when the parser gives no position).
        line: usize,
        /// The TOML parser's message, on one line.
        message: String,
    },
    /// A value names something that does not exist (section, item) or is repeated.
    #[error("{path}:{line}: {message}")]
    Invalid {
        /// Path of the edition file, as it was opened.
        path: String,
        /// 1-based line of the offending value (1 for a bad `week`).
        line: usize,
        /// What is wrong, naming the key or the item id.
        message: String,
    },
}

/// Something in an edition the editor should look at before sending, though it renders:
/// a text one language's readers get in another, an item id whose title or link is not the
/// one the file shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EditionWarning {
    /// The file it is in: the edition, or the config for the footer and section titles.
    pub path: String,
    /// 1-based line of the text or item (0: the file as a whole).
    pub line: usize,
    /// What is wrong, naming the key or the item id.
    pub message: String,
}

impl std::fmt::Display for EditionWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.path, self.message),
            line => write!(f, "{}:{line}: {}", self.path, self.message),
        }
    }
}

/// The warning for `text` (`what` names it) when readers of some language in `langs` get
/// another language's text, naming the file, the line and the languages left out.
pub fn translation_gap(
    path: &Path,
    what: &str,
    text: &Localized,
    langs: &[Lang],
) -> Option<EditionWarning> {
    let gaps = text.missing(langs);
    if gaps.is_empty() {
        return None;
    }
    let parts: Vec<String> = gaps
        .iter()
        .map(|(left_out, instead)| {
            format!(
                "no `{}` text, so {} readers get the {} one",
                left_out.code(),
                language_name(*left_out),
                language_name(*instead)
            )
        })
        .collect();
    Some(EditionWarning {
        path: path.display().to_string(),
        line: text.line,
        message: format!("{what} has {}", parts.join("; ")),
    })
}

fn language_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Es => "Spanish",
        Lang::En => "English",
    }
}

/// Whether the file's `link` is the stored one: as URLs when both parse (so scheme and
/// host case do not count), else as text.
fn same_url(link: &str, stored: Option<&str>) -> bool {
    let Some(stored) = stored.map(str::trim) else {
        return false;
    };
    match (url::Url::parse(link), url::Url::parse(stored)) {
        (Ok(a), Ok(b)) => a == b,
        _ => link == stored,
    }
}

/// Whitespace folded, so a title the editor re-wrapped still reads as the same.
fn folded(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditionSpec {
    week: Option<Spanned<String>>,
    number: Option<u32>,
    date: Spanned<String>,
    language: Option<Spanned<LangSpec>>,
    subject: Spanned<LocalizedSpec>,
    #[serde(default)]
    preheader: Option<Spanned<LocalizedSpec>>,
    #[serde(default)]
    intro: Option<Spanned<LocalizedSpec>>,
    #[serde(default, rename = "section")]
    sections: Vec<SectionSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SectionSpec {
    id: Spanned<String>,
    /// Shown in the file only, to orient the editor; the config's title is what renders.
    #[serde(default)]
    #[allow(
        dead_code,
        reason = "read to accept the key; the config's title renders"
    )]
    title: Option<LocalizedSpec>,
    #[serde(default, rename = "item")]
    items: Vec<EntrySpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntrySpec {
    id: Spanned<i64>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    #[allow(dead_code, reason = "shown to the editor and used to place new items")]
    date: Option<String>,
    #[serde(default = "yes")]
    include: bool,
    #[serde(default)]
    blurb: Option<Spanned<LocalizedSpec>>,
    #[serde(default)]
    title_override: Option<Spanned<LocalizedSpec>>,
    #[serde(default)]
    also: Vec<Spanned<i64>>,
}

fn yes() -> bool {
    true
}

/// A parsed edition file. Item ids are not yet checked against the store: see
/// [`Edition::validate`].
#[derive(Debug, Clone)]
pub struct Edition {
    pub(crate) path: PathBuf,
    /// The ISO week that names this edition's folders and URLs, e.g. `2026-W47` (default:
    /// the file name without `.toml` when it is one, else the week of `date`).
    pub week: String,
    /// The issue number ("Número 12" / "Issue 12") in the email and archive; `None` shows
    /// no number.
    pub number: Option<u32>,
    /// The date readers see on the edition (`date = "YYYY-MM-DD"`).
    pub date: NaiveDate,
    /// Empty = the config's languages.
    pub languages: Vec<Lang>,
    /// One subject for every version, or one per language (see [`Edition::subject_for`]).
    pub subject: Localized,
    /// The inbox preview line; empty: the first titles.
    pub(crate) preheader: Localized,
    /// Markdown.
    pub intro: Localized,
    pub(crate) sections: Vec<EditionSection>,
}

/// A section as the edition lists it.
#[derive(Debug, Clone)]
pub struct EditionSection {
    pub(crate) id: String,
    pub(crate) line: usize,
    pub(crate) entries: Vec<Entry>,
}

/// One candidate item, as the editor left it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub(crate) id: i64,
    pub(crate) line: usize,
    /// The title the file shows (`draft` writes it to orient the editor); the stored item's
    /// title is what renders.
    pub title: String,
    /// The source name the file shows, for the editor only.
    pub source: String,
    /// The link the file shows, for the editor only.
    pub link: Option<String>,
    pub(crate) include: bool,
    /// The editor's note (Markdown); empty when none.
    pub blurb: Localized,
    /// The editor's title, shown instead of the item's; empty when none.
    pub(crate) title_override: Localized,
    /// Ids of the other copies of this story (folded duplicates).
    pub also: Vec<i64>,
}

impl Edition {
    /// Reads and parses the edition at `path`.
    pub fn load(path: &Path) -> Result<Edition, EditionError> {
        let text = std::fs::read_to_string(path).map_err(|source| EditionError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Edition::parse(&text, path)
    }

    /// Parses edition text as if read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Edition, EditionError> {
        let shown = path.display().to_string();
        let spec: EditionSpec = toml::from_str(text).map_err(|e| {
            let (line, message) = toml_error(text, e.span(), e.message());
            EditionError::Syntax {
                path: shown.clone(),
                line,
                message,
            }
        })?;
        let invalid = |span: std::ops::Range<usize>, message: String| EditionError::Invalid {
            path: shown.clone(),
            line: line_of(text, span.start),
            message,
        };
        let date =
            NaiveDate::parse_from_str(spec.date.get_ref().trim(), "%Y-%m-%d").map_err(|_| {
                invalid(
                    spec.date.span(),
                    format!(
                        "`date`: `{}` is not a date (YYYY-MM-DD)",
                        spec.date.get_ref()
                    ),
                )
            })?;
        let languages = match spec.language {
            None => Vec::new(),
            Some(l) => {
                languages(l).map_err(|span| invalid(span, format!("`language`: {NO_LANGUAGE}")))?
            }
        };
        let week = match spec.week {
            Some(w) => {
                let text = w.get_ref().trim();
                if !is_id(text) {
                    let message = format!("`week`: {} (it names a folder)", id_rule(text));
                    return Err(invalid(w.span(), message));
                }
                if iso_week_monday(text).is_none() {
                    return Err(invalid(w.span(), format!("`week`: {}", not_a_week(text))));
                }
                text.to_string()
            }
            None => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .filter(|stem| iso_week_monday(stem).is_some())
                .unwrap_or_else(|| iso_week(date)),
        };
        let subject_span = spec.subject.span();
        let subject = localized(spec.subject, text);
        if subject.is_empty() {
            return Err(invalid(
                subject_span,
                "`subject`: write one (a string, or `{ es = \"…\", en = \"…\" }`)".into(),
            ));
        }
        let mut seen: HashMap<i64, usize> = HashMap::new();
        let mut sections = Vec::new();
        for s in spec.sections {
            let mut entries = Vec::new();
            for e in s.items {
                let line = line_of(text, e.id.span().start);
                for (id, at) in std::iter::once((*e.id.get_ref(), line)).chain(
                    e.also
                        .iter()
                        .map(|a| (*a.get_ref(), line_of(text, a.span().start))),
                ) {
                    if let Some(first) = seen.insert(id, at) {
                        return Err(EditionError::Invalid {
                            path: shown.clone(),
                            line: at,
                            message: format!("item {id} is already listed on line {first}"),
                        });
                    }
                }
                entries.push(Entry {
                    id: *e.id.get_ref(),
                    line,
                    title: e.title,
                    source: e.source,
                    link: e.link,
                    include: e.include,
                    blurb: e.blurb.map(|b| localized(b, text)).unwrap_or_default(),
                    title_override: e
                        .title_override
                        .map(|t| localized(t, text))
                        .unwrap_or_default(),
                    also: e.also.iter().map(|a| *a.get_ref()).collect(),
                });
            }
            sections.push(EditionSection {
                line: line_of(text, s.id.span().start),
                id: s.id.into_inner(),
                entries,
            });
        }
        Ok(Edition {
            path: path.to_path_buf(),
            week,
            number: spec.number,
            date,
            languages,
            subject,
            preheader: spec
                .preheader
                .map(|p| localized(p, text))
                .unwrap_or_default(),
            intro: spec.intro.map(|i| localized(i, text)).unwrap_or_default(),
            sections,
        })
    }

    /// The edition's languages, or the config's when the file sets none.
    pub fn languages(&self, config: &Config) -> Vec<Lang> {
        if self.languages.is_empty() {
            config.newsletter.languages.clone()
        } else {
            self.languages.clone()
        }
    }

    /// The subject for a version in `langs`: the one subject, or the subjects of those
    /// languages (joined ` / ` for a bilingual email), else the first one written.
    pub fn subject_for(&self, langs: &[Lang]) -> String {
        self.subject.each(langs).join(" / ")
    }

    /// The entries that are sent, section by section in the file's order.
    pub fn included(&self) -> impl Iterator<Item = &Entry> {
        self.sections
            .iter()
            .flat_map(|s| s.entries.iter())
            .filter(|e| e.include)
    }

    /// Every text of the edition that readers of some language in `langs` get in another
    /// language (the subject, preheader, intro, and the notes and titles of included
    /// items), one warning each.
    pub fn translation_gaps(&self, langs: &[Lang]) -> Vec<EditionWarning> {
        let mut texts: Vec<(String, &Localized)> = vec![
            ("`subject`".into(), &self.subject),
            ("`preheader`".into(), &self.preheader),
            ("`intro`".into(), &self.intro),
        ];
        for e in self.included() {
            texts.push((format!("the `blurb` of item {}", e.id), &e.blurb));
            texts.push((
                format!("the `title_override` of item {}", e.id),
                &e.title_override,
            ));
        }
        texts
            .into_iter()
            .filter_map(|(what, text)| translation_gap(&self.path, &what, text, langs))
            .collect()
    }

    /// Included items whose title or link in the file is not the stored item's: the id
    /// may name another story than the one the editor meant. A title or link the file
    /// leaves out is not compared; titles are compared NFC-normalized with whitespace
    /// folded, links as URLs (scheme and host in any case). A title that differs beside a
    /// matching link is the editor's edit, not a wrong id: the `title` line does not
    /// render, so the warning points to `title_override` (none when that is set).
    pub fn mismatches(&self, items: &HashMap<i64, StoredItem>) -> Vec<EditionWarning> {
        let nfc = icu_normalizer::ComposingNormalizerBorrowed::new_nfc();
        let title_of = |t: &str| folded(&nfc.normalize(t));
        let mut out = Vec::new();
        for e in self.included() {
            let Some(item) = items.get(&e.id) else {
                continue;
            };
            let (title, stored) = (title_of(&e.title), title_of(&item.title));
            let link = e.link.as_deref().map(str::trim).unwrap_or_default();
            let same_link = (!link.is_empty()).then(|| same_url(link, item.link.as_deref()));
            let title_differs = !title.is_empty() && title != stored;
            let message = match (title_differs, same_link) {
                (true, Some(true)) if !e.title_override.is_empty() => continue,
                (true, Some(true)) => format!(
                    "item {}: the `title` line is not rendered (readers get «{stored}»); to change the title, write title_override = \"{title}\"",
                    e.id
                ),
                (true, _) => format!(
                    "item {} is «{stored}» in the store, the file says «{title}» — wrong id?",
                    e.id
                ),
                (false, Some(false)) => format!(
                    "item {} links to {} in the store, the file says {link} — wrong id?",
                    e.id,
                    item.link.as_deref().unwrap_or("nothing")
                ),
                (false, _) => continue,
            };
            out.push(EditionWarning {
                path: self.path.display().to_string(),
                line: e.line,
                message,
            });
        }
        out
    }

    /// Every item id the file names (entries and their folded copies).
    pub fn item_ids(&self) -> Vec<i64> {
        self.sections
            .iter()
            .flat_map(|s| s.entries.iter())
            .flat_map(|e| std::iter::once(e.id).chain(e.also.iter().copied()))
            .collect()
    }

    /// Checks the file against the config and the stored items: every section exists in
    /// the config and every item id is in `items`. The error names the line.
    pub fn validate(
        &self,
        config: &Config,
        items: &HashMap<i64, StoredItem>,
    ) -> Result<(), EditionError> {
        let shown = self.path.display().to_string();
        let mut seen_sections = HashSet::new();
        for s in &self.sections {
            if config.section(&s.id).is_none() {
                let known: Vec<&str> = config.sections.iter().map(|c| c.id.as_str()).collect();
                return Err(EditionError::Invalid {
                    path: shown,
                    line: s.line,
                    message: format!(
                        "unknown section `{}` (the config has: {})",
                        s.id,
                        known.join(", ")
                    ),
                });
            }
            if !seen_sections.insert(s.id.as_str()) {
                return Err(EditionError::Invalid {
                    path: shown,
                    line: s.line,
                    message: format!("section `{}` is listed twice", s.id),
                });
            }
            for e in &s.entries {
                if let Some(missing) = std::iter::once(&e.id)
                    .chain(e.also.iter())
                    .find(|id| !items.contains_key(id))
                {
                    return Err(EditionError::Invalid {
                        path: shown,
                        line: e.line,
                        message: format!(
                            "unknown item id {missing}: it is not in the database (see `boletin items --json`)"
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The Monday of ISO week `text` (`2026-W47`: four-digit year, two-digit week), if that
/// week exists: W53 only in the years that have it.
pub fn iso_week_monday(text: &str) -> Option<NaiveDate> {
    let (year, week) = text.split_once("-W")?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(year, 4) || !digits(week, 2) {
        return None;
    }
    NaiveDate::from_isoywd_opt(year.parse().ok()?, week.parse().ok()?, Weekday::Mon)
}

/// The ISO week `date` falls in, as `2026-W47`.
pub fn iso_week(date: NaiveDate) -> String {
    let w = date.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// Why `text` is not a week [`iso_week_monday`] accepts, with the weeks its year has.
pub fn not_a_week(text: &str) -> String {
    let year = text
        .split_once("-W")
        .and_then(|(y, _)| y.parse::<i32>().ok())
        // 28 December is always in the last ISO week of its year.
        .and_then(|y| NaiveDate::from_ymd_opt(y, 12, 28))
        .filter(|_| text.len() == 8);
    match year {
        Some(last) => format!(
            "`{text}` is not an ISO week ({} has weeks W01 to W{:02})",
            last.year(),
            last.iso_week().week()
        ),
        None => format!("`{text}` is not an ISO week (example: 2026-W47)"),
    }
}

/// The top of a new edition file.
#[derive(Debug, Clone)]
pub struct DraftMeta {
    /// Written as `week`: the slug, e.g. `2026-W47`, that names its folder and URL.
    pub week: String,
    /// Written as `number` (the CLI takes one more than the highest beside the file).
    pub number: u32,
    /// Written as `date`: the date readers will see.
    pub date: NaiveDate,
    /// Written as `language`: one code, or a list for a bilingual edition.
    pub languages: Vec<Lang>,
    /// Written as `subject`, a starting point the editor rewrites: one per language of
    /// the edition (`{ es = "…", en = "…" }`), one string when it has one language.
    pub subject: Vec<(Lang, String)>,
    /// Written as `preheader`, the inbox preview line (may be empty).
    pub preheader: String,
    /// Written as `intro`, Markdown (may be empty), one per language like `subject`.
    pub intro: Vec<(Lang, String)>,
    /// The day of this draft run: the `# new since` line above what a later draft adds
    /// carries it, so each batch says when it arrived in the file.
    pub today: NaiveDate,
}

/// What a draft run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DraftReport {
    /// Items added to the file by this run.
    pub added: usize,
    /// Items the file already listed (left as the editor had them).
    pub kept: usize,
    /// Items an earlier draft offered and the editor deleted from the file: not offered
    /// again.
    pub dropped: usize,
    /// Whether the file already held the editor's choices, so what this run added came at
    /// the end of its section, not included.
    pub redraft: bool,
    /// The ids the file listed before this run, each with its line, so the caller can say
    /// which of them the store no longer has.
    #[serde(skip)]
    pub listed: Vec<(i64, usize)>,
}

const HEADER: &str = "\
# boletin edition. Edit freely: `boletin compose <this file>` renders it and
# `boletin preview <this file>` shows it while you edit.
#
# Running `boletin draft` again keeps every edit, order and comment: it only adds items
# that arrived since, at the end of their section under a `# new since` line, with
# include = false. An item you delete is not offered again (the ids drafts offered are
# listed at the end of the file).
#
# Above each item: the first words of its text, its language and its tags. intro and
# blurb are Markdown. For each item: include = true|false; blurb = \"\"\"the editor's
# note\"\"\"; title_override = \"a better title\". `also` lists the ids of other copies of
# the same story (they are credited, not repeated).
";

fn str_value(s: &str) -> toml_edit::Item {
    value(s.to_string())
}

/// The text of a new, empty edition (meta and one `[[section]]` per config section).
fn new_document(meta: &DraftMeta, config: &Config) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    let kv = |k: &str, v: toml_edit::Item| format!("{k} = {}\n", v.to_string().trim());
    out.push_str(&kv("week", str_value(&meta.week)));
    out.push_str(&kv("number", value(i64::from(meta.number))));
    out.push_str(&kv(
        "date",
        str_value(&meta.date.format("%Y-%m-%d").to_string()),
    ));
    let langs = meta.languages.iter().map(|l| l.code()).collect::<Vec<_>>();
    if langs.len() == 1 {
        out.push_str(&kv("language", str_value(langs[0])));
    } else {
        let arr: toml_edit::Array = langs.iter().copied().collect();
        out.push_str(&kv("language", value(arr)));
    }
    match meta.subject.as_slice() {
        [(_, one)] => out.push_str(&kv("subject", str_value(one))),
        many => {
            let mut table = toml_edit::InlineTable::new();
            for (lang, text) in many {
                table.insert(lang.code(), text.as_str().into());
            }
            out.push_str(&kv("subject", value(table)));
        }
    }
    out.push_str(&kv("preheader", str_value(&meta.preheader)));
    // Dotted keys, one per language, so each text stays a multi-line string of its own.
    let one = meta.intro.len() == 1;
    for (lang, text) in &meta.intro {
        let key = if one {
            "intro".to_string()
        } else {
            format!("intro.{}", lang.code())
        };
        out.push_str(&format!(
            "{key} = \"\"\"\n{}\n\"\"\"\n",
            escape_multiline(text)
        ));
    }
    for s in &config.sections {
        out.push_str(&format!(
            "\n[[section]]\nid = {}\ntitle = {}\n",
            str_value(&s.id).to_string().trim(),
            str_value(&s.title).to_string().trim()
        ));
    }
    out
}

/// Text safe inside a TOML `"""` string.
fn escape_multiline(text: &str) -> String {
    text.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\"")
}

/// A candidate's `[[section.item]]` table, with the comments above it: `heading` (the
/// `# new since` line) when given, the editor's corrections of the story, then the first
/// words of its text, its language and its tags.
fn entry_table(
    c: &crate::edition::curate::Candidate,
    source_name: &str,
    include: bool,
    heading: Option<&str>,
) -> Table {
    let mut t = Table::new();
    t.insert("id", value(c.item.id));
    t.insert("title", str_value(&c.item.title));
    t.insert("source", str_value(source_name));
    t.insert(
        "date",
        str_value(&c.item.date.format("%Y-%m-%d").to_string()),
    );
    if let Some(link) = &c.item.link {
        t.insert("link", str_value(link));
    }
    t.insert("include", value(include));
    if !c.also.is_empty() {
        let arr: toml_edit::Array = c.also.iter().map(|i| i.id).collect();
        t.insert("also", value(arr));
    }
    // The editor's corrections of this story (`boletin items merge` / `split`), so the
    // draft shows why it is grouped as it is.
    let ids = |ids: &mut dyn Iterator<Item = i64>| {
        ids.map(|i| format!("#{i}")).collect::<Vec<_>>().join(", ")
    };
    let joined: Vec<i64> = c
        .also
        .iter()
        .filter(|i| i.duplicate_reason.as_deref() == Some("editor"))
        .map(|i| i.id)
        .collect();
    let mut lines = Vec::new();
    if let Some(heading) = heading {
        lines.push(format!("{heading}\n"));
    }
    if !joined.is_empty() {
        lines.push(format!(
            "# joined to this story by the editor: {} (boletin items merge)",
            ids(&mut joined.iter().copied())
        ));
    }
    if !c.item.kept_apart.is_empty() {
        lines.push(format!(
            "# kept apart by the editor from {} (boletin items split)",
            ids(&mut c.item.kept_apart.iter().copied())
        ));
    }
    lines.extend(notes::candidate_lines(&c.item));
    t.decor_mut()
        .set_prefix(format!("\n{}\n", lines.join("\n")));
    t
}

/// Adds `candidates` to the edition text `existing` (or to a new file made from `meta`).
///
/// Items the file lists anywhere, and items an earlier draft offered that the editor
/// deleted (the record at the end of the file), are left out. The first draft lists the
/// rest newest first, included. A later one appends them to the end of their section,
/// newest first, not included, under a `# new since` line: nothing the editor placed
/// moves, and every byte the editor wrote is kept.
pub fn draft(
    existing: Option<&str>,
    path: &Path,
    meta: &DraftMeta,
    config: &Config,
    candidates: &[SectionCandidates],
) -> Result<(String, DraftReport), EditionError> {
    let original = match existing {
        Some(t) => t.to_string(),
        None => new_document(meta, config),
    };
    // A file saved on Windows keeps its byte-order mark and its line endings.
    let bom = original.starts_with('\u{feff}');
    let text = original
        .strip_prefix('\u{feff}')
        .unwrap_or(&original)
        .to_string();
    let shown = path.display().to_string();
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        let (line, message) = toml_error(&text, e.span(), e.message());
        EditionError::Syntax {
            path: shown.clone(),
            line,
            message,
        }
    })?;
    // The strict reader too, so a draft never builds on a broken file; it also says what the
    // editor already listed.
    let parsed = Edition::parse(&text, path)?;
    let on_file: HashSet<i64> = parsed.item_ids().into_iter().collect();
    // Only the file's own trailing comments: what a string or an item's comment holds is
    // content, never the record.
    let offered_before = notes::offered(doc.trailing().as_str().unwrap_or_default());
    let mut listed: BTreeSet<i64> = on_file.iter().chain(&offered_before).copied().collect();
    let mut report = DraftReport {
        kept: parsed.sections.iter().map(|s| s.entries.len()).sum(),
        redraft: !on_file.is_empty() || !offered_before.is_empty(),
        listed: parsed
            .sections
            .iter()
            .flat_map(|s| &s.entries)
            .flat_map(|e| {
                std::iter::once(e.id)
                    .chain(e.also.iter().copied())
                    .map(|id| (id, e.line))
            })
            .collect(),
        ..DraftReport::default()
    };
    let heading = notes::new_since(meta.today);
    for sc in candidates {
        let ids = |c: &crate::edition::curate::Candidate| {
            std::iter::once(c.item.id)
                .chain(c.also.iter().map(|a| a.id))
                .collect::<Vec<_>>()
        };
        let mut fresh = Vec::new();
        for c in &sc.candidates {
            let ids = ids(c);
            if ids.iter().any(|i| on_file.contains(i)) {
                continue;
            }
            if ids.iter().any(|i| listed.contains(i)) {
                report.dropped += 1;
                continue;
            }
            fresh.push(c);
        }
        if fresh.is_empty() {
            continue;
        }
        let sections = doc
            .entry("section")
            .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()));
        let Some(sections) = sections.as_array_of_tables_mut() else {
            return Err(EditionError::Invalid {
                path: shown,
                line: 1,
                message: "`section` must be an array of tables ([[section]])".into(),
            });
        };
        let found = sections
            .iter()
            .position(|t| t.get("id").and_then(Item::as_str) == Some(sc.section.as_str()));
        let index = match found {
            Some(i) => i,
            None => {
                let mut t = Table::new();
                t.insert("id", str_value(&sc.section));
                if let Some(c) = config.section(&sc.section) {
                    t.insert("title", str_value(&c.title));
                }
                sections.push(t);
                sections.len() - 1
            }
        };
        let Some(section) = sections.get_mut(index) else {
            continue;
        };
        let items = section
            .entry("item")
            .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()));
        let Some(items) = items.as_array_of_tables_mut() else {
            return Err(EditionError::Invalid {
                path: shown,
                line: 1,
                message: format!(
                    "`item` in section `{}` must be an array of tables ([[section.item]])",
                    sc.section
                ),
            });
        };
        // Candidates come newest first; each goes after everything already in its
        // section, so the editor's order is never touched.
        for (n, c) in fresh.into_iter().enumerate() {
            let source = config
                .source(&c.item.source_id)
                .map_or(c.item.source_id.as_str(), |s| s.name.as_str());
            let heading = (report.redraft && n == 0).then_some(heading.as_str());
            items.push(entry_table(c, source, !report.redraft, heading));
            listed.extend(ids(c));
            report.added += 1;
        }
    }
    if report.added == 0 {
        // Not even re-serialized: a run with nothing new leaves the file as it was.
        return Ok((original, report));
    }
    let trailing = doc.trailing().as_str().unwrap_or_default().to_string();
    doc.set_trailing(notes::with_record(&trailing, &offered_before, &listed));
    let mut out = doc.to_string();
    if mostly_crlf(&text) {
        out = with_crlf(&out);
    }
    if bom {
        out.insert(0, '\u{feff}');
    }
    Ok((out, report))
}

/// Whether most lines of `text` end in CRLF (a file saved on Windows).
fn mostly_crlf(text: &str) -> bool {
    let crlf = text.matches("\r\n").count();
    crlf > 0 && crlf * 2 >= text.matches('\n').count()
}

/// `text` with every bare LF made CRLF: what `draft` adds (written with LF) takes the
/// file's own line ending; lines already ending in CRLF are left as they are.
fn with_crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut previous = '\0';
    for c in text.chars() {
        if c == '\n' && previous != '\r' {
            out.push('\r');
        }
        out.push(c);
        previous = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
week = "2026-W47"
date = "2026-11-21"
subject = "Boletín"

[[section]]
id = "urgent"

[[section.item]]
id = 3
include = true

[[section.item]]
id = 3
"#;

    #[test]
    fn a_repeated_item_names_both_lines() {
        let err = Edition::parse(FILE, Path::new("e.toml"))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("e.toml:14: item 3 is already listed on line 10")
        );
    }

    #[test]
    fn language_and_week_are_held_to_the_config_s_rules() {
        for (text, want) in [
            (
                "date = \"2026-11-21\"\nsubject = \"Boletín\"\nlanguage = []\n",
                "e.toml:3: `language`: give at least one language",
            ),
            (
                "week = \"2026 W47\"\ndate = \"2026-11-21\"\nsubject = \"Boletín\"\n",
                "e.toml:1: `week`: `2026 W47` must be non-empty and use only letters, digits, `-` and `_` (it names a folder)",
            ),
        ] {
            let err = Edition::parse(text, Path::new("e.toml"))
                .err()
                .map(|e| e.to_string());
            assert_eq!(err.as_deref(), Some(want));
        }
    }

    #[test]
    fn unknown_keys_name_their_line() {
        let text = "date = \"2026-11-21\"\nsubject = \"x\"\ncolour = 1\n";
        let err = Edition::parse(text, Path::new("e.toml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("e.toml:3: unknown field `colour`"), "{err}");
    }

    #[test]
    fn subjects_per_language_pick_the_version_s_own() {
        let text =
            "date = \"2026-11-21\"\nsubject = { es = \"Boletín 47\", en = \"Newsletter 47\" }\n";
        let e = Edition::parse(text, Path::new("e.toml")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.subject_for(&[Lang::Es]), "Boletín 47");
        assert_eq!(e.subject_for(&[Lang::En]), "Newsletter 47");
        assert_eq!(
            e.subject_for(&[Lang::Es, Lang::En]),
            "Boletín 47 / Newsletter 47"
        );
        let one = Edition::parse(
            "date = \"2026-11-21\"\nsubject = \"Boletín\"\n",
            Path::new("e.toml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(one.subject_for(&[Lang::En]), "Boletín");
        let es_only = "date = \"2026-11-21\"\nsubject = { es = \"Boletín 47\" }\n";
        let e = Edition::parse(es_only, Path::new("e.toml")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            e.subject_for(&[Lang::En]),
            "Boletín 47",
            "falls back to the first"
        );
        for bad in ["subject = \"  \"", "subject = { fr = \"Bulletin\" }"] {
            let text = format!("date = \"2026-11-21\"\n{bad}\n");
            let err = Edition::parse(&text, Path::new("e.toml"))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.starts_with("e.toml:2: "), "{bad}: {err}");
        }
    }

    const BILINGUAL: &str = r#"date = "2026-11-21"
language = ["es", "en"]
subject = { es = "Boletín 47", en = "Newsletter 47" }
preheader = "Oaxaca · Chiapas"
intro = { es = "Hola, lectoras.", en = "Hello, readers." }

[[section]]
id = "urgent"
title = { es = "Urgente", en = "Urgent" }

[[section.item]]
id = 3
blurb = { es = "Firma la carta." }
title_override = { es = "Desplazadas en Aldama", en = "Displaced in Aldama" }

[[section.item]]
id = 4
include = false
blurb = { en = "Not sent." }
"#;

    #[test]
    fn every_text_takes_one_per_language_and_a_gap_names_its_line() {
        let e = Edition::parse(BILINGUAL, Path::new("e.toml")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.intro.get(Lang::En), Some("Hello, readers."));
        assert_eq!(e.preheader.get(Lang::En), Some("Oaxaca · Chiapas"));
        let entry = &e.sections[0].entries[0];
        assert_eq!(
            entry.title_override.get(Lang::En),
            Some("Displaced in Aldama")
        );
        assert_eq!(
            entry.blurb.get(Lang::En),
            Some("Firma la carta."),
            "falls back"
        );
        let gaps: Vec<String> = e
            .translation_gaps(&[Lang::Es, Lang::En])
            .iter()
            .map(ToString::to_string)
            .collect();
        // Only the note of the included item: the one left out is not sent.
        assert_eq!(
            gaps,
            [
                "e.toml:13: the `blurb` of item 3 has no `en` text, so English readers get the Spanish one"
            ]
        );
        assert!(e.translation_gaps(&[Lang::Es]).is_empty());
    }

    #[test]
    fn a_wrong_shape_names_its_line_and_the_shapes_that_work() {
        for (line, want) in [
            (
                "intro = { es = \"Hola\", de = \"Hallo\" }",
                "e.toml:3: unknown language `de`: write the text as { es = \"…\", en = \"…\" }",
            ),
            (
                "intro = 47",
                "e.toml:3: invalid type: integer `47`, expected a string, or one per language: { es = \"…\", en = \"…\" }",
            ),
            (
                "preheader = { es = 1 }",
                "e.toml:3: invalid type: integer `1`, expected a string",
            ),
        ] {
            let text = format!("date = \"2026-11-21\"\nsubject = \"Boletín\"\n{line}\n");
            let err = Edition::parse(&text, Path::new("e.toml"))
                .err()
                .map(|e| e.to_string());
            assert_eq!(err.as_deref(), Some(want), "{line}");
        }
    }

    #[test]
    fn weeks_are_real_iso_weeks_and_errors_name_their_line() {
        let file = |week: &str| {
            format!(
                "# Boletín 47\n\ndate = \"2026-11-21\"\nsubject = \"Boletín\"\nweek = \"{week}\"\nnumber = 47\n"
            )
        };
        let parse = |text: &str, path: &str| {
            Edition::parse(text, Path::new(path))
                .map(|e| e.week)
                .map_err(|e| e.to_string())
        };
        for (week, want) in [
            (
                "2026-W99",
                "e.toml:5: `week`: `2026-W99` is not an ISO week (2026 has weeks W01 to W53)",
            ),
            (
                "2025-W53",
                "e.toml:5: `week`: `2025-W53` is not an ISO week (2025 has weeks W01 to W52)",
            ),
            (
                "2026-W00",
                "e.toml:5: `week`: `2026-W00` is not an ISO week (2026 has weeks W01 to W53)",
            ),
            (
                "2026-W7",
                "e.toml:5: `week`: `2026-W7` is not an ISO week (example: 2026-W47)",
            ),
            (
                "semana-47",
                "e.toml:5: `week`: `semana-47` is not an ISO week (example: 2026-W47)",
            ),
            (
                "2026/W47",
                "e.toml:5: `week`: `2026/W47` must be non-empty and use only letters, digits, `-` and `_` (it names a folder)",
            ),
        ] {
            assert_eq!(
                parse(&file(week), "e.toml"),
                Err(want.to_string()),
                "{week}"
            );
        }
        assert_eq!(parse(&file("2026-W53"), "e.toml"), Ok("2026-W53".into()));
        assert_eq!(parse(&file("2020-W53"), "e.toml"), Ok("2020-W53".into()));
        // Without `week`: the file name when it is a week, else the week of `date`.
        let bare = "date = \"2026-11-21\"\nsubject = \"Boletín\"\n";
        assert_eq!(parse(bare, "editions/2026-W48.toml"), Ok("2026-W48".into()));
        assert_eq!(parse(bare, "editions/especial.toml"), Ok("2026-W47".into()));
        assert_eq!(parse(bare, "editions/2026-W99.toml"), Ok("2026-W47".into()));
    }
}
