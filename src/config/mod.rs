//! Reads `feeds.toml` into a validated [`Config`].
//!
//! The file is deserialized into `*Spec` structs that mirror the TOML exactly (unknown keys
//! are rejected), then checked once: URLs parse, CSS selectors compile, ids are unique and
//! sections exist. Every error names the file, the line and the key. Nothing downstream
//! re-validates; stages receive [`Source`] values that are known to be usable.

pub mod opml;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::ingest::date::DayOrder;

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{path}: cannot read config: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The TOML is malformed or does not match the schema (unknown key, wrong type).
    #[error("{path}:{line}: {message}")]
    Syntax {
        path: String,
        line: usize,
        message: String,
    },
    /// A value has the right type but cannot be used.
    #[error("{path}:{line}: `{key}`: {message}")]
    Invalid {
        path: String,
        line: usize,
        key: String,
        message: String,
    },
}

/// A newsletter language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Es,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Es => "es",
            Lang::En => "en",
        }
    }

    /// The language with this code (`es`, `en`), if it is one.
    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "es" => Some(Lang::Es),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum LangSpec {
    One(Lang),
    Many(Vec<Lang>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigSpec {
    newsletter: NewsletterSpec,
    #[serde(default)]
    settings: SettingsSpec,
    #[serde(default)]
    delivery: DeliverySpec,
    #[serde(default, rename = "section")]
    sections: Vec<SectionSpec>,
    #[serde(default, rename = "source")]
    sources: Vec<SourceSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewsletterSpec {
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    language: Option<Spanned<LangSpec>>,
    from: Spanned<String>,
    archive_url: Option<Spanned<String>>,
    templates: Option<String>,
    /// Region and topic tags file (default: the built-in gazetteer).
    gazetteer: Option<String>,
    /// Words in item excerpts (default 60).
    excerpt_words: Option<Spanned<usize>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsSpec {
    user_agent: Option<Spanned<String>>,
    timeout_secs: Option<Spanned<u64>>,
    connect_timeout_secs: Option<Spanned<u64>>,
    stall_timeout_secs: Option<Spanned<u64>>,
    concurrency: Option<Spanned<usize>>,
    per_host: Option<Spanned<usize>>,
    max_body_mib: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SectionSpec {
    id: Spanned<String>,
    title: String,
    /// Spanish and English titles for editions in one language (default: `title`).
    title_es: Option<String>,
    title_en: Option<String>,
    /// Section rules: items from these sources, with these tags, or whose title or
    /// excerpt contains one of these keywords go here (first matching section wins).
    #[serde(default)]
    sources: Vec<Spanned<String>>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceSpec {
    id: Spanned<String>,
    name: String,
    url: Spanned<String>,
    #[serde(default)]
    kind: SourceKindSpec,
    section: Spanned<String>,
    #[serde(default)]
    tags: Vec<String>,
    site: Option<Spanned<String>>,
    language: Option<Lang>,
    timezone: Option<Spanned<String>>,
    /// How numeric dates such as `03/06/2024` read: "day-first" (default) or "month-first".
    day_order: Option<Spanned<String>>,
    scrape: Option<Spanned<ScrapeSpec>>,
}

#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum SourceKindSpec {
    #[default]
    Feed,
    Page,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScrapeSpec {
    item: Spanned<String>,
    title: Spanned<ExtractSpec>,
    link: Spanned<ExtractSpec>,
    date: Option<Spanned<ExtractSpec>>,
    summary: Option<Spanned<ExtractSpec>>,
    author: Option<Spanned<ExtractSpec>>,
    image: Option<Spanned<ExtractSpec>>,
    content: Option<Spanned<ExtractSpec>>,
    #[serde(default)]
    follow: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ExtractSpec {
    Css(String),
    Rule(ExtractRuleSpec),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtractRuleSpec {
    selector: String,
    attr: Option<String>,
    format: Option<String>,
    order: Option<String>,
}

/// The `[delivery]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliverySpec {
    smtp_url: Option<Spanned<String>>,
    smtp_ca_file: Option<String>,
    list_id: Option<Spanned<String>>,
    unsubscribe_url: Option<Spanned<String>>,
    unsubscribe_mailto: Option<Spanned<String>>,
    secret: Option<Spanned<String>>,
    rate: Option<Spanned<String>>,
    connections: Option<Spanned<usize>>,
    retry_base_secs: Option<Spanned<u64>>,
    max_attempts: Option<Spanned<u32>>,
    max_wait_secs: Option<u64>,
    archive_dir: Option<String>,
    dkim: Option<DkimSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DkimSpec {
    selector: String,
    domain: Option<String>,
    key_file: String,
    #[serde(default)]
    algorithm: DkimAlgorithm,
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
    /// The address for the `mailto:` form of List-Unsubscribe.
    pub unsubscribe_mailto: Option<String>,
    /// The HMAC secret when `BOLETIN_SECRET` is not set.
    pub secret: Option<String>,
    /// Messages per minute at most (`None`: as fast as the server takes them).
    pub per_minute: Option<f64>,
    /// SMTP connections used at once (each has at most one message in flight).
    pub connections: usize,
    /// First retry delay after a 4xx; each further retry waits four times longer.
    pub retry_base: Duration,
    /// Attempts before a deferred message is given up as failed.
    pub max_attempts: u32,
    /// How long one `send` run waits for deferred retries before leaving them to the next run.
    pub max_wait: Duration,
    /// The `compose` output folder that `boletin serve` publishes as the web archive.
    pub archive_dir: PathBuf,
    pub dkim: Option<Dkim>,
}

/// `[delivery.dkim]`: sign every message.
#[derive(Debug, Clone)]
pub struct Dkim {
    pub selector: String,
    pub domain: String,
    pub key_file: PathBuf,
    pub algorithm: DkimAlgorithm,
}

/// Parses a rate such as `60/min`, `2/s` or `1000/h` into messages per minute.
pub fn parse_rate(text: &str) -> Option<f64> {
    let (n, unit) = text.trim().split_once('/')?;
    let n: f64 = n.trim().parse().ok()?;
    let per = match unit.trim() {
        "s" | "sec" | "second" => 60.0,
        "m" | "min" | "minute" => 1.0,
        "h" | "hour" => 1.0 / 60.0,
        _ => return None,
    };
    let per_minute = n * per;
    // Fewer than one an hour is surely a typo; so is a rate no float can hold.
    (per_minute.is_finite() && per_minute >= 1.0 / 60.0).then_some(per_minute)
}

/// The domain of an address written as `Name <user@domain>` or `user@domain`.
pub fn address_domain(from: &str) -> Option<&str> {
    let domain = crate::publish::mime::address_of(from)
        .rsplit_once('@')?
        .1
        .trim();
    (!domain.is_empty()).then_some(domain)
}

/// The whole validated configuration.
#[derive(Debug)]
pub struct Config {
    /// Where the config was read from; relative paths resolve against its folder.
    pub path: PathBuf,
    pub newsletter: Newsletter,
    pub settings: Settings,
    pub delivery: DeliverySettings,
    pub sections: Vec<Section>,
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
    pub title: String,
    pub description: String,
    pub languages: Vec<Lang>,
    pub from: String,
    pub archive_url: Option<Url>,
    /// Folder whose files override the built-in templates.
    pub templates: PathBuf,
    /// An editor's gazetteer file; `None` uses the built-in one.
    pub gazetteer: Option<PathBuf>,
    /// Words in item excerpts.
    pub excerpt_words: usize,
}

/// HTTP politeness and limits, with defaults for anything unset.
#[derive(Debug, Clone)]
pub struct Settings {
    pub user_agent: String,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub stall_timeout: Duration,
    pub concurrency: usize,
    pub per_host: usize,
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

/// A User-Agent that tells a site's admin who is asking and how to reach them:
/// `boletin/0.1 (+<archive_url>; mailto:<from address>)`. Header values must be ASCII,
/// so only the address part of `from` is used.
fn contact_user_agent(newsletter: &Newsletter) -> String {
    let email = crate::publish::mime::address_of(&newsletter.from);
    let site = newsletter
        .archive_url
        .as_ref()
        .map_or("https://github.com/boletin/boletin", Url::as_str);
    let ua = format!(
        "boletin/{} (+{site}; mailto:{email})",
        env!("CARGO_PKG_VERSION")
    );
    if ua.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        ua
    } else {
        default_user_agent()
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
    pub id: String,
    pub title: String,
    pub title_es: Option<String>,
    pub title_en: Option<String>,
    /// Section rules (see `curate`): source ids, tags and keywords that send an item here
    /// whatever its source's own `section`.
    pub rule_sources: Vec<String>,
    pub rule_tags: Vec<String>,
    pub rule_keywords: Vec<String>,
}

impl Section {
    /// The title for an edition in `langs`: the language's own title when there is one
    /// language, both joined when bilingual, `title` where a language has none.
    pub fn title_for(&self, langs: &[Lang]) -> String {
        let one = |l: Lang| {
            match l {
                Lang::Es => self.title_es.as_deref(),
                Lang::En => self.title_en.as_deref(),
            }
            .unwrap_or(&self.title)
            .to_string()
        };
        let mut titles: Vec<String> = langs.iter().map(|&l| one(l)).collect();
        titles.dedup();
        if titles.is_empty() {
            self.title.clone()
        } else {
            titles.join(" / ")
        }
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
    pub item: scraper::Selector,
    pub item_css: String,
    pub title: Extract,
    pub link: Extract,
    pub date: Option<Extract>,
    pub summary: Option<Extract>,
    pub author: Option<Extract>,
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
    pub selector: scraper::Selector,
    pub attr: Option<String>,
    /// A chrono format tried before the human-date parser (dates only).
    pub format: Option<String>,
    /// Day/month order for numeric dates, overriding the source's (dates only).
    pub order: Option<DayOrder>,
}

/// A validated source.
#[derive(Debug, Clone)]
pub struct Source {
    pub id: String,
    pub name: String,
    /// `http(s)://` or `file://`.
    pub url: Url,
    pub kind: SourceKind,
    pub section: String,
    pub tags: Vec<String>,
    /// Base for relative links when the document itself gives none (local files).
    pub site: Option<Url>,
    pub language: Option<Lang>,
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
    let checker = Checker {
        path: path.display().to_string(),
        text,
    };
    let spec: ConfigSpec = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        path: checker.path.clone(),
        line: e.span().map_or(0, |s| checker.line_of(s.start)),
        message: e.message().trim().replace('\n', " "),
    })?;
    checker.validate(spec, path)
}

struct Checker<'a> {
    path: String,
    text: &'a str,
}

/// The 1-based line of byte `offset` in `text`, for `file:line:` messages.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl Checker<'_> {
    fn line_of(&self, offset: usize) -> usize {
        line_of(self.text, offset)
    }

    /// A count or duration that must not be 0 (`None` when not given).
    fn at_least_one<T: Copy + Default + PartialEq>(
        &self,
        value: Option<&Spanned<T>>,
        key: &str,
    ) -> Result<Option<T>, ConfigError> {
        match value {
            Some(v) if *v.get_ref() == T::default() => {
                self.invalid(v.span(), key, "must be at least 1".into())
            }
            v => Ok(v.map(|v| *v.get_ref())),
        }
    }

    fn invalid<T>(
        &self,
        span: std::ops::Range<usize>,
        key: &str,
        message: String,
    ) -> Result<T, ConfigError> {
        Err(ConfigError::Invalid {
            path: self.path.clone(),
            line: self.line_of(span.start),
            key: key.to_string(),
            message,
        })
    }

    fn validate(&self, spec: ConfigSpec, path: &Path) -> Result<Config, ConfigError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let newsletter = self.newsletter(spec.newsletter, dir)?;
        let settings = self.settings(spec.settings, &newsletter)?;
        let delivery = self.delivery(spec.delivery, dir, &newsletter)?;

        let mut sections = Vec::new();
        let mut section_ids = HashSet::new();
        // Source ids named by section rules, checked once the sources are known.
        let mut rule_sources: Vec<Spanned<String>> = Vec::new();
        for s in spec.sections {
            if !section_ids.insert(s.id.get_ref().clone()) {
                return self.invalid(
                    s.id.span(),
                    "section.id",
                    format!("duplicate section id `{}`", s.id.get_ref()),
                );
            }
            rule_sources.extend(s.sources.iter().cloned());
            sections.push(Section {
                id: s.id.into_inner(),
                title: s.title,
                title_es: s.title_es,
                title_en: s.title_en,
                rule_sources: s.sources.into_iter().map(Spanned::into_inner).collect(),
                rule_tags: s.tags,
                rule_keywords: s.keywords,
            });
        }

        let mut sources = Vec::new();
        let mut source_ids = HashSet::new();
        for s in spec.sources {
            let id = s.id.get_ref();
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return self.invalid(
                    s.id.span(),
                    "source.id",
                    format!("`{id}` must be non-empty and use only letters, digits, `-` and `_`"),
                );
            }
            if !source_ids.insert(id.clone()) {
                return self.invalid(
                    s.id.span(),
                    "source.id",
                    format!("duplicate source id `{id}`"),
                );
            }
            if !section_ids.contains(s.section.get_ref()) {
                let known: Vec<&str> = sections.iter().map(|s| s.id.as_str()).collect();
                return self.invalid(
                    s.section.span(),
                    "source.section",
                    format!(
                        "unknown section `{}` in source `{id}` (known: {})",
                        s.section.get_ref(),
                        known.join(", ")
                    ),
                );
            }
            sources.push(self.source(s, dir)?);
        }
        if let Some(unknown) = rule_sources
            .iter()
            .find(|r| !source_ids.contains(r.get_ref()))
        {
            return self.invalid(
                unknown.span(),
                "section.sources",
                format!("unknown source `{}` in a section rule", unknown.get_ref()),
            );
        }

        Ok(Config {
            path: path.to_path_buf(),
            newsletter,
            settings,
            delivery,
            sections,
            sources,
        })
    }

    fn newsletter(&self, n: NewsletterSpec, dir: &Path) -> Result<Newsletter, ConfigError> {
        let languages = match n.language {
            None => vec![Lang::Es],
            Some(spanned) => {
                let span = spanned.span();
                let langs = match spanned.into_inner() {
                    LangSpec::One(l) => vec![l],
                    LangSpec::Many(v) => v,
                };
                if langs.is_empty() {
                    return self.invalid(
                        span,
                        "newsletter.language",
                        "give at least one language".into(),
                    );
                }
                langs
            }
        };
        if !n.from.get_ref().contains('@') {
            return self.invalid(
                n.from.span(),
                "newsletter.from",
                format!("`{}` is not an email address", n.from.get_ref()),
            );
        }
        let archive_url = match n.archive_url {
            None => None,
            Some(u) => Some(self.http_url(&u, "newsletter.archive_url")?),
        };
        let excerpt_words = match n.excerpt_words {
            None => crate::html::sanitize::DEFAULT_EXCERPT_WORDS,
            Some(w) if *w.get_ref() == 0 || *w.get_ref() > 1000 => {
                return self.invalid(
                    w.span(),
                    "newsletter.excerpt_words",
                    format!("{} is not between 1 and 1000", w.get_ref()),
                );
            }
            Some(w) => w.into_inner(),
        };
        Ok(Newsletter {
            gazetteer: n.gazetteer.as_deref().map(|g| dir.join(g)),
            excerpt_words,
            title: n.title,
            description: n.description,
            languages,
            from: n.from.into_inner(),
            archive_url,
            templates: dir.join(n.templates.as_deref().unwrap_or("templates")),
        })
    }

    fn settings(&self, s: SettingsSpec, newsletter: &Newsletter) -> Result<Settings, ConfigError> {
        let d = Settings::default();
        let secs = |v: Option<Spanned<u64>>,
                    key: &str,
                    default: Duration|
         -> Result<Duration, ConfigError> {
            Ok(self
                .at_least_one(v.as_ref(), key)?
                .map_or(default, Duration::from_secs))
        };
        let count =
            |v: Option<Spanned<usize>>, key: &str, default: usize| -> Result<usize, ConfigError> {
                Ok(self.at_least_one(v.as_ref(), key)?.unwrap_or(default))
            };
        let max_body_bytes = self
            .at_least_one(s.max_body_mib.as_ref(), "settings.max_body_mib")?
            .map_or(d.max_body_bytes, |mib| mib.saturating_mul(1024 * 1024));
        if let Some(ua) = &s.user_agent
            && !ua.get_ref().bytes().all(|b| (0x20..0x7f).contains(&b))
        {
            return self.invalid(
                ua.span(),
                "settings.user_agent",
                format!(
                    "`{}`: a User-Agent must be plain ASCII (no accents)",
                    ua.get_ref()
                ),
            );
        }
        Ok(Settings {
            // Unset: one that names the newsletter's contact.
            user_agent: s
                .user_agent
                .map_or_else(|| contact_user_agent(newsletter), Spanned::into_inner),
            timeout: secs(s.timeout_secs, "settings.timeout_secs", d.timeout)?,
            connect_timeout: secs(
                s.connect_timeout_secs,
                "settings.connect_timeout_secs",
                d.connect_timeout,
            )?,
            stall_timeout: secs(
                s.stall_timeout_secs,
                "settings.stall_timeout_secs",
                d.stall_timeout,
            )?,
            concurrency: count(s.concurrency, "settings.concurrency", d.concurrency)?,
            per_host: count(s.per_host, "settings.per_host", d.per_host)?,
            max_body_bytes,
        })
    }

    fn delivery(
        &self,
        d: DeliverySpec,
        dir: &Path,
        newsletter: &Newsletter,
    ) -> Result<DeliverySettings, ConfigError> {
        let smtp_url = match &d.smtp_url {
            None => None,
            Some(u) => match Url::parse(u.get_ref()) {
                Ok(url) if matches!(url.scheme(), "smtp" | "smtps") && url.host().is_some() => {
                    if !url.username().is_empty() || url.password().is_some() {
                        return self.invalid(
                            u.span(),
                            "delivery.smtp_url",
                            "put no credentials in the URL; set BOLETIN_SMTP_USER and BOLETIN_SMTP_PASSWORD".into(),
                        );
                    }
                    Some(url)
                }
                _ => {
                    return self.invalid(
                        u.span(),
                        "delivery.smtp_url",
                        format!(
                            "`{}` is not an smtp:// or smtps:// URL with a host",
                            u.get_ref()
                        ),
                    );
                }
            },
        };
        let unsubscribe_url = match &d.unsubscribe_url {
            None => None,
            Some(u) => {
                let url = self.http_url(u, "delivery.unsubscribe_url")?;
                // RFC 8058 one-click needs https; plain http only for a local test server.
                let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
                if url.scheme() != "https" && !local {
                    return self.invalid(
                        u.span(),
                        "delivery.unsubscribe_url",
                        format!("`{url}` must be https (mail providers ignore one-click links over http)"),
                    );
                }
                Some(url)
            }
        };
        let from_domain = address_domain(&newsletter.from).unwrap_or("localhost");
        let list_id = match &d.list_id {
            None => format!("boletin.{from_domain}"),
            Some(l) => {
                let v = l
                    .get_ref()
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>');
                if v.is_empty()
                    || !v.contains('.')
                    || !v
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
                {
                    return self.invalid(
                        l.span(),
                        "delivery.list_id",
                        format!("`{v}` is not a list id (letters, digits, `-`, `_` and dots, e.g. boletin.example.org)"),
                    );
                }
                v.to_string()
            }
        };
        if let Some(m) = &d.unsubscribe_mailto
            && address_domain(m.get_ref()).is_none()
        {
            return self.invalid(
                m.span(),
                "delivery.unsubscribe_mailto",
                format!("`{}` is not an email address", m.get_ref()),
            );
        }
        if let Some(s) = &d.secret
            && s.get_ref().len() < 16
        {
            return self.invalid(
                s.span(),
                "delivery.secret",
                "use at least 16 characters (better: set BOLETIN_SECRET in the environment)".into(),
            );
        }
        let per_minute = match &d.rate {
            None => None,
            Some(r) => match parse_rate(r.get_ref()) {
                Some(v) => Some(v),
                None => {
                    return self.invalid(
                        r.span(),
                        "delivery.rate",
                        format!(
                            "`{}` is not a rate such as 60/min, 2/s or 1000/h",
                            r.get_ref()
                        ),
                    );
                }
            },
        };
        let positive = |v: &Option<Spanned<usize>>, key: &str, default: usize| match v {
            None => Ok(default),
            Some(v) if *v.get_ref() == 0 || *v.get_ref() > 32 => {
                self.invalid(v.span(), key, "must be between 1 and 32".into())
            }
            Some(v) => Ok(*v.get_ref()),
        };
        let retry_base = self
            .at_least_one(d.retry_base_secs.as_ref(), "delivery.retry_base_secs")?
            .map_or(Duration::from_secs(60), Duration::from_secs);
        let max_attempts = self
            .at_least_one(d.max_attempts.as_ref(), "delivery.max_attempts")?
            .unwrap_or(8);
        let dkim = d.dkim.map(|k| Dkim {
            domain: k.domain.unwrap_or_else(|| from_domain.to_string()),
            selector: k.selector,
            key_file: dir.join(k.key_file),
            algorithm: k.algorithm,
        });
        Ok(DeliverySettings {
            smtp_url,
            smtp_ca_file: d.smtp_ca_file.map(|f| dir.join(f)),
            list_id,
            unsubscribe_url,
            unsubscribe_mailto: d.unsubscribe_mailto.map(Spanned::into_inner),
            secret: d.secret.map(Spanned::into_inner),
            per_minute,
            connections: positive(&d.connections, "delivery.connections", 1)?,
            retry_base,
            max_attempts,
            max_wait: Duration::from_secs(d.max_wait_secs.unwrap_or(600)),
            archive_dir: dir.join(d.archive_dir.as_deref().unwrap_or("out")),
            dkim,
        })
    }

    fn http_url(&self, u: &Spanned<String>, key: &str) -> Result<Url, ConfigError> {
        match Url::parse(u.get_ref()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
            Ok(_) => self.invalid(
                u.span(),
                key,
                format!("`{}` is not an http(s) URL", u.get_ref()),
            ),
            Err(e) => self.invalid(
                u.span(),
                key,
                format!("`{}` is not a valid URL: {e}", u.get_ref()),
            ),
        }
    }

    fn source_url(&self, u: &Spanned<String>, dir: &Path) -> Result<Url, ConfigError> {
        let raw = u.get_ref().trim();
        if raw.starts_with("http://") || raw.starts_with("https://") {
            return self.http_url(u, "source.url");
        }
        if let Some(rest) = raw.strip_prefix("file://") {
            return match Url::parse(raw) {
                Ok(url) if url.to_file_path().is_ok() => Ok(url),
                _ => self.invalid(
                    u.span(),
                    "source.url",
                    format!("`{rest}` is not a valid file URL"),
                ),
            };
        }
        if raw.contains("://") || raw.is_empty() {
            return self.invalid(
                u.span(),
                "source.url",
                format!(
                    "`{raw}` is not a valid URL (expected http://, https://, file:// or a path)"
                ),
            );
        }
        let joined = dir.join(raw);
        let absolute = if joined.is_absolute() {
            joined
        } else {
            std::env::current_dir()
                .map(|d| d.join(&joined))
                .unwrap_or(joined)
        };
        match Url::from_file_path(&absolute) {
            Ok(url) => Ok(url),
            Err(()) => self.invalid(
                u.span(),
                "source.url",
                format!("`{raw}` is not a usable path"),
            ),
        }
    }

    fn source(&self, s: SourceSpec, dir: &Path) -> Result<Source, ConfigError> {
        let url = self.source_url(&s.url, dir)?;
        let site = match &s.site {
            None => None,
            Some(u) => Some(self.http_url(u, "source.site")?),
        };
        let timezone = match &s.timezone {
            None => chrono_tz::America::Mexico_City,
            Some(tz) => {
                match tz.get_ref().parse::<Tz>() {
                    Ok(tz) => tz,
                    Err(_) => {
                        return self.invalid(
                        tz.span(),
                        "source.timezone",
                        format!("unknown time zone `{}` (use an IANA name such as America/Mexico_City)", tz.get_ref()),
                    );
                    }
                }
            }
        };
        let day_order = match &s.day_order {
            None => DayOrder::DayFirst,
            Some(v) => self.day_order(v, "source.day_order")?,
        };
        let kind = match (s.kind, s.scrape) {
            (SourceKindSpec::Feed, None) => SourceKind::Feed,
            (SourceKindSpec::Feed, Some(rules)) => {
                return self.invalid(
                    rules.span(),
                    "source.scrape",
                    format!(
                        "source `{}` has scrape rules but kind = \"feed\"; set kind = \"page\"",
                        s.id.get_ref()
                    ),
                );
            }
            (SourceKindSpec::Page, None) => {
                return self.invalid(
                    s.id.span(),
                    "source.scrape",
                    format!(
                        "source `{}` has kind = \"page\" but no [source.scrape] rules",
                        s.id.get_ref()
                    ),
                );
            }
            (SourceKindSpec::Page, Some(rules)) => {
                SourceKind::Page(Box::new(self.scrape(rules.into_inner())?))
            }
        };
        Ok(Source {
            id: s.id.into_inner(),
            name: s.name,
            url,
            kind,
            section: s.section.into_inner(),
            tags: s.tags,
            site,
            language: s.language,
            timezone,
            day_order,
        })
    }

    fn selector(
        &self,
        css: &str,
        span: std::ops::Range<usize>,
        key: &str,
    ) -> Result<scraper::Selector, ConfigError> {
        scraper::Selector::parse(css).or_else(|e| {
            // scraper's messages span several lines; keep the gist on one.
            let detail = e.to_string().replace(
                "Unexpected error occurred. Please report this to the developer",
                "",
            );
            let detail = detail
                .split('(')
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let detail = if detail.is_empty() {
                String::new()
            } else {
                format!(" ({detail})")
            };
            self.invalid(span, key, format!("invalid CSS selector `{css}`{detail}"))
        })
    }

    fn day_order(&self, v: &Spanned<String>, key: &str) -> Result<DayOrder, ConfigError> {
        match v.get_ref().as_str() {
            "day-first" | "dmy" => Ok(DayOrder::DayFirst),
            "month-first" | "mdy" => Ok(DayOrder::MonthFirst),
            other => self.invalid(
                v.span(),
                key,
                format!("`{other}`: use \"day-first\" (03/06 = 3 June) or \"month-first\""),
            ),
        }
    }

    fn extract(&self, spec: Spanned<ExtractSpec>, key: &str) -> Result<Extract, ConfigError> {
        let span = spec.span();
        let (css, attr, format, order) = match spec.into_inner() {
            ExtractSpec::Css(css) => (css, None, None, None),
            ExtractSpec::Rule(r) => (r.selector, r.attr, r.format, r.order),
        };
        if (format.is_some() || order.is_some()) && key != "source.scrape.date" {
            return self.invalid(
                span,
                key,
                "`format` and `order` only apply to `date`".into(),
            );
        }
        let order = match order {
            None => None,
            Some(o) => Some(self.day_order(&Spanned::new(span.clone(), o), key)?),
        };
        Ok(Extract {
            selector: self.selector(&css, span, key)?,
            attr,
            format,
            order,
        })
    }

    fn scrape(&self, r: ScrapeSpec) -> Result<ScrapeRules, ConfigError> {
        let optional = |v: Option<Spanned<ExtractSpec>>, key: &str| {
            v.map(|v| self.extract(v, key)).transpose()
        };
        Ok(ScrapeRules {
            item: self.selector(r.item.get_ref(), r.item.span(), "source.scrape.item")?,
            item_css: r.item.into_inner(),
            title: self.extract(r.title, "source.scrape.title")?,
            link: self.extract(r.link, "source.scrape.link")?,
            date: optional(r.date, "source.scrape.date")?,
            summary: optional(r.summary, "source.scrape.summary")?,
            author: optional(r.author, "source.scrape.author")?,
            image: optional(r.image, "source.scrape.image")?,
            content: optional(r.content, "source.scrape.content")?,
            follow: r.follow,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[newsletter]
title = "Boletín"
from = "boletin@example.org"

[[section]]
id = "news"
title = "Noticias"
"#;

    fn load_str(extra: &str) -> Result<Config, ConfigError> {
        parse(&format!("{BASE}{extra}"), Path::new("/tmp/feeds.toml"))
    }

    #[test]
    fn relative_paths_resolve_against_the_config_folder() {
        let cfg = load_str(
            "[[source]]\nid = \"a\"\nname = \"A\"\nurl = \"demo/a.xml\"\nsection = \"news\"\n",
        )
        .map_err(|e| e.to_string());
        let cfg = cfg.as_ref().map(|c| c.sources[0].url.as_str());
        assert_eq!(cfg, Ok("file:///tmp/demo/a.xml"));
    }

    #[test]
    fn errors_name_line_and_key() {
        let err = load_str(
            "[[source]]\nid = \"a\"\nname = \"A\"\nurl = \"ht!tp://x\"\nsection = \"news\"\n",
        )
        .err()
        .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "/tmp/feeds.toml:12: `source.url`: `ht!tp://x` is not a valid URL (expected http://, https://, file:// or a path)"
            )
        );
    }

    #[test]
    fn delivery_settings_are_checked_with_their_line() {
        let cfg = load_str(
            "[delivery]\nsmtp_url = \"smtps://mail.example.org\"\nunsubscribe_url = \"https://b.example.org/baja\"\nrate = \"2/s\"\n",
        );
        let d = cfg.as_ref().map(|c| &c.delivery);
        assert_eq!(
            d.map(|d| d.list_id.as_str()).ok(),
            Some("boletin.example.org")
        );
        assert_eq!(d.map(|d| d.per_minute).ok(), Some(Some(120.0)));
        for (extra, fragment) in [
            (
                "[delivery]\nunsubscribe_url = \"http://b.example.org/baja\"\n",
                ":10: `delivery.unsubscribe_url`: `http://b.example.org/baja` must be https",
            ),
            (
                "[delivery]\nsmtp_url = \"smtp://user:pw@mail.example.org\"\n",
                ":10: `delivery.smtp_url`: put no credentials in the URL",
            ),
            ("[delivery]\n\nrate = \"fast\"\n", ":11: `delivery.rate`"),
            (
                "[delivery]\nsmtp_url = \"mail.example.org\"\n",
                ":10: `delivery.smtp_url`",
            ),
        ] {
            let err = load_str(extra)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(fragment), "{err}");
        }
    }

    #[test]
    fn section_rules_and_titles_per_language() {
        let cfg = parse(
            "[newsletter]\ntitle = \"B\"\nfrom = \"b@example.org\"\n\n[[section]]\nid = \"urgent\"\ntitle = \"Acciones urgentes / Urgent actions\"\ntitle_en = \"Urgent actions\"\nsources = [\"a\"]\nkeywords = [\"acción urgente\"]\n\n[[source]]\nid = \"a\"\nname = \"A\"\nurl = \"a.xml\"\nsection = \"urgent\"\n",
            Path::new("/tmp/feeds.toml"),
        )
        .map_err(|e| e.to_string());
        let cfg = cfg.as_ref().map(|c| &c.sections[0]);
        assert_eq!(
            cfg.map(|s| s.title_for(&[Lang::En])),
            Ok("Urgent actions".into())
        );
        assert_eq!(
            cfg.map(|s| s.title_for(&[Lang::Es])),
            Ok("Acciones urgentes / Urgent actions".into())
        );
        assert_eq!(cfg.map(|s| s.rule_keywords.len()), Ok(1));
        let err = load_str("sources = [\"nadie\"]\n")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("/tmp/feeds.toml:9: `section.sources`: unknown source `nadie` in a section rule")
        );
    }

    #[test]
    fn page_rules_take_image_content_follow_and_date_order() {
        let cfg = load_str(
            "[[source]]\nid = \"p\"\nname = \"P\"\nurl = \"https://p.example.org/\"\nsection = \"news\"\n\
             kind = \"page\"\nday_order = \"month-first\"\n[source.scrape]\nitem = \"li\"\ntitle = \"a\"\nlink = \"a\"\n\
             date = { selector = \".d\", order = \"day-first\" }\nimage = \"img\"\ncontent = \".body\"\nfollow = true\n",
        )
        .map_err(|e| e.to_string());
        let source = cfg.as_ref().map(|c| &c.sources[0]);
        assert_eq!(source.map(|s| s.day_order), Ok(DayOrder::MonthFirst));
        let rules = match source.map(|s| &s.kind) {
            Ok(SourceKind::Page(r)) => Some(r),
            _ => None,
        };
        assert_eq!(rules.map(|r| r.follow), Some(true));
        assert!(rules.is_some_and(|r| r.image.is_some() && r.content.is_some()));
        assert_eq!(
            rules.and_then(|r| r.date.as_ref()).and_then(|d| d.order),
            Some(DayOrder::DayFirst)
        );

        let err = load_str(
            "[[source]]\nid = \"p\"\nname = \"P\"\nurl = \"https://p.example.org/\"\nsection = \"news\"\nday_order = \"ymd\"\n",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("`source.day_order`: `ymd`"), "{err}");
        let err = load_str(
            "[[source]]\nid = \"p\"\nname = \"P\"\nurl = \"https://p.example.org/\"\nsection = \"news\"\nkind = \"page\"\n\
             [source.scrape]\nitem = \"li\"\ntitle = { selector = \"a\", format = \"%Y\" }\nlink = \"a\"\n",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("only apply to `date`"), "{err}");
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_line() {
        let err = load_str("[[source]]\nid = \"a\"\nname = \"A\"\nurl = \"a.xml\"\nsection = \"news\"\ncolour = 1\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("/tmp/feeds.toml:14: unknown field `colour`"),
            "{err}"
        );
    }
}
