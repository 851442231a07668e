//! Reads `feeds.toml` into a validated [`Config`].
//!
//! One module per job: `spec` deserializes the file into structs that mirror the TOML
//! exactly (unknown keys rejected, spans kept); `check` judges every value once (URLs
//! parse, CSS selectors compile, ids are unique, sections exist, numbers are in range)
//! and builds the types defined here; [`opml`] appends sources to the text with
//! `toml_edit` for `add` and `opml import`. Every error names the file, the line and the
//! key. Nothing downstream re-validates: stages receive a [`Config`] and [`Source`] values
//! that are known to be usable.

pub(crate) mod check;
pub use check::{id_rule, is_id};
pub mod opml;
pub(crate) mod spec;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use serde::Deserialize;
use url::Url;

use crate::deliver::token::Secret;
use crate::ingest::date::DayOrder;
use crate::lang::Lang;

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{path}: cannot read config: {source}")]
    Read {
        /// Path of the config file, as it was opened.
        path: String,
        /// Why the operating system refused it (missing, unreadable, not UTF-8).
        source: std::io::Error,
    },
    /// The TOML is malformed or does not match the schema (unknown key, wrong type).
    #[error("{path}:{line}: {message}")]
    Syntax {
        /// Path of the config file, as it was opened.
        path: String,
        /// 1-based line of the offending TOML (0 when the parser gives no position).
        line: usize,
        /// The TOML parser's message, on one line.
        message: String,
    },
    /// A value has the right type but cannot be used.
    #[error("{path}:{line}: `{key}`: {message}")]
    Invalid {
        /// Path of the config file, as it was opened.
        path: String,
        /// 1-based line of the offending value.
        line: usize,
        /// Dotted key of the value, e.g. `source.timezone` or `delivery.smtp_url`.
        key: String,
        /// What is wrong and, where possible, what to write instead.
        message: String,
    },
}

/// The DKIM key type in `[delivery.dkim]`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DkimAlgorithm {
    /// A PKCS#1 PEM RSA key (`-----BEGIN RSA PRIVATE KEY-----`).
    #[default]
    Rsa,
    /// The base64 of a raw 32-byte Ed25519 secret key.
    Ed25519,
}

/// The `[delivery]` table: how editions reach subscribers. Secrets (the HMAC secret,
/// SMTP credentials) normally come from the environment, not this file.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// `smtp://host[:port][?tls=required|opportunistic|none]` or `smtps://host[:port]`.
    pub smtp_url: Option<Url>,
    /// Extra CA certificates (PEM) trusted for the SMTP server, e.g. a private CA.
    pub smtp_ca_file: Option<PathBuf>,
    /// The `List-Id` value without angle brackets, e.g. `boletin.example.org`.
    pub list_id: String,
    /// The https URL `boletin serve` answers on; the token is added as `?token=`.
    pub unsubscribe_url: Option<Url>,
    /// The bare address (`user@domain`) for the `mailto:` form of List-Unsubscribe.
    pub unsubscribe_mailto: Option<String>,
    /// The HMAC secret when `BOLETIN_SECRET` is not set.
    pub secret: Option<Secret>,
    /// Messages per minute at most, at least one an hour (`None`: as fast as the server
    /// takes them).
    pub per_minute: Option<f64>,
    /// SMTP connections used at once, 1 to 32 (each has at most one message in flight).
    pub connections: usize,
    /// First retry delay after a 4xx; each further retry waits four times longer.
    pub retry_base: Duration,
    /// Attempts before a deferred message is given up as failed.
    pub max_attempts: u32,
    /// How long one `send` run waits for deferred retries before leaving them to the next
    /// run; a day at most.
    pub max_wait: Duration,
    /// The `compose` output folder that `boletin serve` publishes as the web archive.
    pub archive_dir: PathBuf,
    /// Signing settings; `None` sends unsigned messages.
    pub dkim: Option<Dkim>,
}

/// `[delivery.dkim]`: sign every message.
#[derive(Debug, Clone)]
pub struct Dkim {
    /// A DNS name, like `domain`: both go into the signature and the key's DNS record.
    pub selector: String,
    pub(crate) domain: String,
    pub(crate) key_file: PathBuf,
    pub(crate) algorithm: DkimAlgorithm,
}

/// The whole validated configuration.
#[derive(Debug)]
pub struct Config {
    /// Where the config was read from; relative paths resolve against its folder.
    pub path: PathBuf,
    /// `[newsletter]`: the identity and look of the editions.
    pub newsletter: Newsletter,
    /// `[settings]`: HTTP limits for fetching sources, defaults filled in.
    pub settings: Settings,
    /// `[delivery]`: SMTP, unsubscribe and archive settings, defaults filled in.
    pub delivery: DeliverySettings,
    /// `[[section]]` tables in file order: the order drafts and digests list them in.
    pub sections: Vec<Section>,
    /// `[[source]]` tables in file order; ids unique, each in a known section.
    pub sources: Vec<Source>,
}

impl Config {
    /// The source with this id.
    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.id == id)
    }

    /// The section with this id.
    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }
}

/// The `[newsletter]` table.
#[derive(Debug, Clone)]
pub struct Newsletter {
    /// Newsletter name: heads every email and archive page and starts digest subjects.
    pub title: String,
    /// Short blurb: the archive's description and the intro of digests; may be empty.
    pub description: String,
    /// At least one.
    pub languages: Vec<Lang>,
    /// `Name <user@domain>` or `user@domain`, known to parse as a mailbox.
    pub from: String,
    pub(crate) archive_url: Option<Url>,
    /// Folder whose files override the built-in templates.
    pub templates: PathBuf,
    /// An editor's gazetteer file; `None` uses the built-in one.
    pub gazetteer: Option<PathBuf>,
    /// Words in item excerpts, 1 to 1000.
    pub excerpt_words: usize,
    /// Markdown ending every email and digest (the organization's postal address and
    /// contact); empty when unset.
    pub footer: Localized,
}

/// HTTP politeness and limits, with defaults for anything unset.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Printable ASCII, as a header value must be.
    pub user_agent: String,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) stall_timeout: Duration,
    /// Requests at once overall, 1 to 256.
    pub concurrency: usize,
    /// Requests at once to one host, 1 to 32.
    pub per_host: usize,
    /// At most 1 GiB.
    pub max_body_bytes: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            user_agent: default_user_agent(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(15),
            concurrency: 16,
            per_host: 2,
            max_body_bytes: 15 * 1024 * 1024,
        }
    }
}

fn default_user_agent() -> String {
    format!(
        "boletin/{} (+https://github.com/boletin/boletin)",
        env!("CARGO_PKG_VERSION")
    )
}

/// A newsletter section, in display order.
#[derive(Debug, Clone)]
pub struct Section {
    /// Unique id (letters, digits, `-`, `_`) that sources and edition files refer to.
    pub id: String,
    /// The title as one line for the editor (`draft` writes it beside the section): as
    /// written, or its languages' titles joined " / ".
    pub(crate) title: String,
    /// The titles readers see: `title`, one per language, and `title_es` / `title_en`.
    pub(crate) titles: Localized,
    /// Section rules (see `curate`): source ids, tags and keywords that send an item here
    /// whatever its source's own `section`.
    pub rule_sources: Vec<String>,
    pub(crate) rule_tags: Vec<String>,
    pub(crate) rule_keywords: Vec<String>,
}

impl Section {
    /// The title for an edition in `langs`: each language's own title, joined " / " when
    /// bilingual; the title written for every language where one has none of its own.
    pub fn title_for(&self, langs: &[Lang]) -> String {
        let titles = self.titles.each(langs);
        if titles.is_empty() {
            self.title.clone()
        } else {
            titles.join(" / ")
        }
    }
}

/// A text written once for every language, `intro = "…"`, or once per language, `intro =
/// { es = "…", en = "…" }`: the config's footer and section titles, and the edition's
/// subject, preheader, intro, notes and title overrides. Each reader gets their language's;
/// a language left out gets another's (see [`Localized::missing`] for the warning).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Localized {
    /// `(None, text)` for every language, `(Some(lang), text)` for one; trimmed, and a
    /// blank text is not kept, so it reads as left out.
    texts: Vec<(Option<Lang>, String)>,
    /// The 1-based line the text is written on, for warnings; 0 when it is not written.
    pub line: usize,
}

impl Localized {
    /// The texts as written on `line`: `(None, text)` for every language, `(Some(lang),
    /// text)` for one.
    pub fn new(texts: impl IntoIterator<Item = (Option<Lang>, String)>, line: usize) -> Localized {
        Localized {
            texts: texts
                .into_iter()
                .map(|(l, t)| (l, t.trim().to_string()))
                .filter(|(_, t)| !t.is_empty())
                .collect(),
            line,
        }
    }

    /// No text in any language.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// The text for `lang` alone: its own, else the one for every language.
    fn own(&self, lang: Lang) -> Option<&str> {
        let find = |want: Option<Lang>| {
            self.texts
                .iter()
                .find(|(l, _)| *l == want)
                .map(|(_, t)| t.as_str())
        };
        find(Some(lang)).or_else(|| find(None))
    }

    /// The text `lang`'s readers get: [`own`](Self::own), else the first one written.
    pub fn get(&self, lang: Lang) -> Option<&str> {
        self.own(lang)
            .or_else(|| self.texts.first().map(|(_, t)| t.as_str()))
    }

    /// The texts of a version in `langs` (two for a bilingual version), each once, in the
    /// order of `langs`; the first written when `langs` is empty, none when nothing is.
    pub fn each(&self, langs: &[Lang]) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for text in langs.iter().filter_map(|&l| self.get(l)) {
            if !out.contains(&text) {
                out.push(text);
            }
        }
        if out.is_empty() {
            out.extend(self.texts.first().map(|(_, t)| t.as_str()));
        }
        out
    }

    /// The languages of `langs` whose readers get another language's text (written for
    /// some language, but neither for theirs nor for every language), each with the
    /// language whose text they get instead.
    pub fn missing(&self, langs: &[Lang]) -> Vec<(Lang, Lang)> {
        let Some((Some(instead), _)) = self.texts.first() else {
            // Nothing written, or a text for every language: no one is left out.
            return Vec::new();
        };
        langs
            .iter()
            .copied()
            .filter(|&l| self.own(l).is_none())
            .map(|l| (l, *instead))
            .collect()
    }
}

/// What kind of document a source publishes.
#[derive(Debug, Clone)]
pub enum SourceKind {
    /// RSS, Atom or JSON Feed.
    Feed,
    /// An HTML news page scraped with CSS rules.
    Page(Box<ScrapeRules>),
}

/// CSS rules that turn a news page into items.
#[derive(Debug, Clone)]
pub struct ScrapeRules {
    pub(crate) item: scraper::Selector,
    pub(crate) item_css: String,
    pub(crate) title: Extract,
    pub(crate) link: Extract,
    pub(crate) date: Option<Extract>,
    pub(crate) summary: Option<Extract>,
    pub(crate) author: Option<Extract>,
    /// The item's picture: `src` (or `data-src`, `srcset`) unless `attr` says otherwise.
    pub image: Option<Extract>,
    /// Full text: inside the item, or on the item's own page when `follow` is set.
    pub content: Option<Extract>,
    /// Fetch each item's own page for its content and, when needed, its date.
    pub follow: bool,
}

/// One extraction: the first element matching `selector`, then its text or `attr`.
#[derive(Debug, Clone)]
pub struct Extract {
    pub(crate) selector: scraper::Selector,
    pub(crate) attr: Option<String>,
    /// A chrono format tried before the human-date parser (dates only).
    pub format: Option<String>,
    /// Day/month order for numeric dates, overriding the source's (dates only).
    pub order: Option<DayOrder>,
}

/// A validated source.
#[derive(Debug, Clone)]
pub struct Source {
    /// Unique id (letters, digits, `-`, `_`) that keys its items and state in the store.
    pub id: String,
    /// Display name credited under each item and in `sources` output.
    pub name: String,
    /// `http(s)://` or `file://`.
    pub url: Url,
    /// How its document is read: as a feed, or as a page with its scrape rules.
    pub kind: SourceKind,
    /// Id of the configured section its items go to unless a section rule claims them.
    pub section: String,
    /// Tags given to every item of this source, as written (slugged when applied).
    pub tags: Vec<String>,
    /// Base for relative links when the document itself gives none (local files).
    pub site: Option<Url>,
    pub(crate) language: Option<Lang>,
    /// Zone for dates the source writes without an offset, and for showing its dates
    /// (default America/Mexico_City).
    pub timezone: Tz,
    /// How numeric dates read for this source.
    pub day_order: DayOrder,
}

impl Source {
    /// A source made up for a URL or file outside the config (`boletin inspect`, `add`).
    pub fn adhoc(url: Url) -> Source {
        Source {
            id: "inspect".into(),
            name: url.host_str().unwrap_or("local file").to_string(),
            url,
            kind: SourceKind::Feed,
            section: String::new(),
            tags: Vec::new(),
            site: None,
            language: None,
            timezone: chrono_tz::America::Mexico_City,
            day_order: DayOrder::DayFirst,
        }
    }

    /// The URL relative links in this source's documents resolve against.
    pub fn base_url(&self) -> &Url {
        match (&self.site, self.url.scheme()) {
            (Some(site), "file") => site,
            _ => &self.url,
        }
    }
}

/// Reads and validates the config at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_with_text(path).map(|(config, _)| config)
}

/// [`load`], also returning the text read (for commands that edit the file).
pub fn load_with_text(path: &Path) -> Result<(Config, String), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    Ok((parse(&text, path)?, text))
}

/// Validates config text as if it had been read from `path`.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let spec: spec::ConfigSpec = toml::from_str(text).map_err(|e| {
        let (line, message) = check::toml_error(text, e.span(), e.message());
        ConfigError::Syntax {
            path: path.display().to_string(),
            line,
            message,
        }
    })?;
    check::config(spec, text, path)
}
