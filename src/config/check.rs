//! Judges `feeds.toml` as written ([`super::spec`]) and builds the validated types of
//! [`super`]: every value is checked here, once, and every refusal names the file, the line
//! and the key, as in ``feeds.toml:12: `source.url`: …``.
//!
//! Also the checks edition files share with the config, so both read alike: the line of a
//! TOML error, `language` (at least one) and ids that may name a folder.

use std::collections::HashSet;
use std::fmt::Display;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use chrono_tz::Tz;
use toml::Spanned;
use url::Url;

use super::spec::{
    ConfigSpec, DeliverySpec, ExtractSpec, LangSpec, LocalizedSpec, NewsletterSpec, ScrapeSpec,
    SectionSpec, SettingsSpec, SourceKindSpec, SourceSpec,
};
use super::{
    Config, ConfigError, DeliverySettings, Dkim, Extract, Localized, Newsletter, ScrapeRules,
    Section, Settings, Source, SourceKind, default_user_agent,
};
use crate::deliver::rate::parse_rate;
use crate::deliver::token::Secret;
use crate::ingest::date::DayOrder;
use crate::lang::Lang;
use crate::publish::address::address_domain;

/// The 1-based line of byte `offset` in `text`, for `file:line:` messages.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A TOML parse error (from `toml` or `toml_edit`) as the line it is on and its message
/// folded onto one line.
pub(crate) fn toml_error(text: &str, span: Option<Range<usize>>, message: &str) -> (usize, String) {
    (
        span.map_or(0, |s| line_of(text, s.start)),
        message.trim().replace('\n', " "),
    )
}

/// What is wrong with an empty `language = []`.
pub(crate) const NO_LANGUAGE: &str = "give at least one language";

/// The languages of `language = "es"` or `["es", "en"]`; the span of an empty list is
/// refused (see [`NO_LANGUAGE`]).
pub(crate) fn languages(spec: Spanned<LangSpec>) -> Result<Vec<Lang>, Range<usize>> {
    let span = spec.span();
    let langs = match spec.into_inner() {
        LangSpec::One(l) => vec![l],
        LangSpec::Many(v) => v,
    };
    if langs.is_empty() {
        Err(span)
    } else {
        Ok(langs)
    }
}

/// A text for every language or one per language, with the line it is written on.
pub(crate) fn localized(spec: Spanned<LocalizedSpec>, text: &str) -> Localized {
    let line = line_of(text, spec.span().start);
    match spec.into_inner() {
        LocalizedSpec::One(t) => Localized::new([(None, t)], line),
        LocalizedSpec::ByLang(texts) => {
            Localized::new(texts.into_iter().map(|(l, t)| (Some(l), t)), line)
        }
    }
}

/// Whether `id` can name a folder, a URL path segment or a database key as it is:
/// non-empty, ASCII letters, digits, `-` and `_`.
pub fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// What an id that fails [`is_id`] must look like.
pub fn id_rule(id: &str) -> String {
    format!("`{id}` must be non-empty and use only letters, digits, `-` and `_`")
}

/// Whether `name` can be a DNS name (a DKIM selector or domain): dot-separated labels of
/// ASCII letters, digits, `-` and `_`, none empty or longer than 63.
fn is_dns_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// Longest `[delivery] list_id`: RFC 2919's limit.
const MAX_LIST_ID: usize = 255;

/// Longest `[delivery] unsubscribe_url`: far beyond any real endpoint, and short enough that
/// with a token and the `mailto:` it fits on one header line.
const MAX_UNSUBSCRIBE_URL: usize = 512;

/// Longest wait for deferred retries in one `send` run: beyond a day a run is surely
/// misconfigured (minutes or milliseconds written as seconds); the next run retries.
const MAX_WAIT_SECS: u64 = 24 * 3600;

/// Checks `spec`, read from `text` at `path`, into a [`Config`].
pub(super) fn config(spec: ConfigSpec, text: &str, path: &Path) -> Result<Config, ConfigError> {
    Checker {
        path: path.display().to_string(),
        text,
    }
    .validate(spec, path)
}

struct Checker<'a> {
    path: String,
    text: &'a str,
}

impl Checker<'_> {
    fn invalid<T>(&self, span: Range<usize>, key: &str, message: String) -> Result<T, ConfigError> {
        Err(ConfigError::Invalid {
            path: self.path.clone(),
            line: line_of(self.text, span.start),
            key: key.to_string(),
            message,
        })
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

    /// A number that must lie in `range` (`None` when not given).
    fn within<T: Copy + PartialOrd + Display>(
        &self,
        value: Option<&Spanned<T>>,
        key: &str,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<Option<T>, ConfigError> {
        match value {
            Some(v) if !range.contains(v.get_ref()) => self.invalid(
                v.span(),
                key,
                format!(
                    "{} is not between {} and {}",
                    v.get_ref(),
                    range.start(),
                    range.end()
                ),
            ),
            v => Ok(v.map(|v| *v.get_ref())),
        }
    }

    /// `value` as `read` reads it, or `refusal` at its line when `read` cannot (`None`
    /// when not given).
    fn read<T>(
        &self,
        value: Option<&Spanned<String>>,
        key: &str,
        read: impl FnOnce(&str) -> Option<T>,
        refusal: impl FnOnce(&str) -> String,
    ) -> Result<Option<T>, ConfigError> {
        let Some(v) = value else { return Ok(None) };
        match read(v.get_ref()) {
            Some(t) => Ok(Some(t)),
            None => self.invalid(v.span(), key, refusal(v.get_ref())),
        }
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
            sections.push(self.section(s)?);
        }

        let mut sources = Vec::new();
        let mut source_ids = HashSet::new();
        for s in spec.sources {
            let id = s.id.get_ref();
            if !is_id(id) {
                return self.invalid(s.id.span(), "source.id", id_rule(id));
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

    /// A section's titles: `title` (one, or one per language) and `title_es` / `title_en`
    /// beside a single `title`.
    fn section(&self, s: SectionSpec) -> Result<Section, ConfigError> {
        let span = s.title.span();
        let line = line_of(self.text, span.start);
        let (title, titles) = match s.title.into_inner() {
            LocalizedSpec::One(one) => {
                let own = [(Lang::Es, s.title_es), (Lang::En, s.title_en)]
                    .into_iter()
                    .filter_map(|(l, t)| t.map(|t| (Some(l), t)));
                let titles = Localized::new(std::iter::once((None, one.clone())).chain(own), line);
                (one.trim().to_string(), titles)
            }
            LocalizedSpec::ByLang(texts) => {
                if s.title_es.is_some() || s.title_en.is_some() {
                    let key = if s.title_es.is_some() {
                        "section.title_es"
                    } else {
                        "section.title_en"
                    };
                    return self.invalid(
                        span,
                        key,
                        "`title` already has one per language: write each there".into(),
                    );
                }
                let titles = Localized::new(texts.into_iter().map(|(l, t)| (Some(l), t)), line);
                (titles.each(&[Lang::Es, Lang::En]).join(" / "), titles)
            }
        };
        Ok(Section {
            id: s.id.into_inner(),
            title,
            titles,
            rule_sources: s.sources.into_iter().map(Spanned::into_inner).collect(),
            rule_tags: s.tags,
            rule_keywords: s.keywords,
        })
    }

    fn newsletter(&self, n: NewsletterSpec, dir: &Path) -> Result<Newsletter, ConfigError> {
        let languages = match n.language {
            None => vec![Lang::Es],
            Some(spec) => match languages(spec) {
                Ok(langs) => langs,
                Err(span) => {
                    return self.invalid(span, "newsletter.language", NO_LANGUAGE.into());
                }
            },
        };
        self.mail_address(&n.from, "newsletter.from")?;
        let archive_url = match n.archive_url {
            None => None,
            Some(u) => Some(self.http_url(&u, "newsletter.archive_url")?),
        };
        let excerpt_words = self
            .within(
                n.excerpt_words.as_ref(),
                "newsletter.excerpt_words",
                1..=1000,
            )?
            .unwrap_or(crate::html::excerpt::DEFAULT_EXCERPT_WORDS);
        Ok(Newsletter {
            footer: n
                .footer
                .map(|f| localized(f, self.text))
                .unwrap_or_default(),
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
        // Upper bounds keep memory bounded (up to `max_body_mib` per request at once) and
        // stay far below what tokio's semaphores accept.
        let max_body_bytes = self
            .within(s.max_body_mib.as_ref(), "settings.max_body_mib", 1..=1024)?
            .map_or(d.max_body_bytes, |mib| mib * 1024 * 1024);
        let concurrency = self
            .within(s.concurrency.as_ref(), "settings.concurrency", 1..=256)?
            .unwrap_or(d.concurrency);
        let per_host = self
            .within(s.per_host.as_ref(), "settings.per_host", 1..=32)?
            .unwrap_or(d.per_host);
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
            concurrency,
            per_host,
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
            Some(u) => Some(self.smtp_url(u)?),
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
                // With a subscriber's token it goes on one `List-Unsubscribe` line, which
                // RFC 5322 ends at 998 octets.
                if url.as_str().len() > MAX_UNSUBSCRIBE_URL {
                    return self.invalid(
                        u.span(),
                        "delivery.unsubscribe_url",
                        format!(
                            "{} characters is too long for a mail header (at most {MAX_UNSUBSCRIBE_URL})",
                            url.as_str().len()
                        ),
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
                    || v.len() > MAX_LIST_ID
                    || !v.contains('.')
                    || !v
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
                {
                    return self.invalid(
                        l.span(),
                        "delivery.list_id",
                        format!("`{v}` is not a list id (at most {MAX_LIST_ID} letters, digits, `-`, `_` and dots, e.g. boletin.example.org)"),
                    );
                }
                v.to_string()
            }
        };
        // `mailto:` takes the bare address, whatever form the file gives it in.
        let unsubscribe_mailto = match &d.unsubscribe_mailto {
            None => None,
            Some(m) => Some(
                self.mail_address(m, "delivery.unsubscribe_mailto")?
                    .email
                    .to_string(),
            ),
        };
        // The rule `BOLETIN_SECRET` is held to as well.
        let secret = self.read(
            d.secret.as_ref(),
            "delivery.secret",
            |s| Secret::new(s).ok(),
            |_| "use at least 16 characters (better: set BOLETIN_SECRET in the environment)".into(),
        )?;
        let per_minute = self.read(d.rate.as_ref(), "delivery.rate", parse_rate, |r| {
            format!("`{r}` is not a rate such as 60/min, 2/s or 1000/h")
        })?;
        let connections = self
            .within(d.connections.as_ref(), "delivery.connections", 1..=32)?
            .unwrap_or(1);
        let retry_base = self
            .at_least_one(d.retry_base_secs.as_ref(), "delivery.retry_base_secs")?
            .map_or(Duration::from_secs(60), Duration::from_secs);
        let max_attempts = self
            .at_least_one(d.max_attempts.as_ref(), "delivery.max_attempts")?
            .unwrap_or(8);
        let max_wait = match &d.max_wait_secs {
            None => Duration::from_secs(600),
            Some(w) if *w.get_ref() > MAX_WAIT_SECS => {
                return self.invalid(
                    w.span(),
                    "delivery.max_wait_secs",
                    format!(
                        "{} seconds is more than a day ({MAX_WAIT_SECS}); a run should not wait that long for retries: the next `boletin send` picks them up (0 leaves them all to it)",
                        w.get_ref()
                    ),
                );
            }
            Some(w) => Duration::from_secs(*w.get_ref()),
        };
        let dkim = match d.dkim {
            None => None,
            Some(k) => {
                for (name, key) in std::iter::once((&k.selector, "delivery.dkim.selector"))
                    .chain(k.domain.as_ref().map(|d| (d, "delivery.dkim.domain")))
                {
                    if !is_dns_name(name.get_ref()) {
                        return self.invalid(
                            name.span(),
                            key,
                            format!(
                                "`{}` is not a DNS name (letters, digits, `-` and `_`, labels joined by dots)",
                                name.get_ref()
                            ),
                        );
                    }
                }
                Some(Dkim {
                    domain: k
                        .domain
                        .map_or_else(|| from_domain.to_string(), Spanned::into_inner),
                    selector: k.selector.into_inner(),
                    key_file: dir.join(k.key_file),
                    algorithm: k.algorithm,
                })
            }
        };
        Ok(DeliverySettings {
            smtp_url,
            smtp_ca_file: d.smtp_ca_file.map(|f| dir.join(f)),
            list_id,
            unsubscribe_url,
            unsubscribe_mailto,
            secret,
            per_minute,
            connections,
            retry_base,
            max_attempts,
            max_wait,
            archive_dir: dir.join(d.archive_dir.as_deref().unwrap_or("out")),
            dkim,
        })
    }

    fn smtp_url(&self, u: &Spanned<String>) -> Result<Url, ConfigError> {
        let key = "delivery.smtp_url";
        let url = match Url::parse(u.get_ref()) {
            Ok(url) if matches!(url.scheme(), "smtp" | "smtps") && url.host().is_some() => url,
            _ => {
                return self.invalid(
                    u.span(),
                    key,
                    format!(
                        "`{}` is not an smtp:// or smtps:// URL with a host",
                        u.get_ref()
                    ),
                );
            }
        };
        if !url.username().is_empty() || url.password().is_some() {
            return self.invalid(
                u.span(),
                key,
                "put no credentials in the URL; set BOLETIN_SMTP_USER and BOLETIN_SMTP_PASSWORD"
                    .into(),
            );
        }
        // What `send` reads from the URL (`?tls=`), read now so a typo names its line.
        if let Err(e) = crate::deliver::smtp::SmtpTarget::from_url(&url, None, "localhost") {
            return self.invalid(u.span(), key, e.to_string());
        }
        Ok(url)
    }

    /// `from` or `unsubscribe_mailto` as every message carries it: one mailbox, read by
    /// the parser `compose` and `send` build headers with (so neither can fail on it), its
    /// address in ASCII since boletin sends without SMTPUTF8 (a Unicode domain is written
    /// in its `xn--` form).
    fn mail_address(
        &self,
        v: &Spanned<String>,
        key: &str,
    ) -> Result<lettre::message::Mailbox, ConfigError> {
        use crate::publish::mime::{address_of, mailbox};
        let text = v.get_ref();
        let Ok(parsed) = mailbox(text) else {
            // `Name <address>` whose name needs quotes: say how to write it.
            let address = address_of(text);
            let name = text[..text.rfind('<').unwrap_or(0)].trim();
            let hint = if address != text.trim()
                && mailbox(address).is_ok()
                && !name.is_empty()
                && !name.contains('"')
            {
                format!(
                    " (a name with `:`, `,`, `;` or brackets goes in double quotes: `\"{name}\" <{address}>`)"
                )
            } else {
                String::new()
            };
            return self.invalid(
                v.span(),
                key,
                format!("`{text}` is not an email address{hint}"),
            );
        };
        let address = parsed.email.to_string();
        if !address.is_ascii() {
            let (user, domain) = (parsed.email.user(), parsed.email.domain());
            let hint = match idna::domain_to_ascii(domain) {
                Ok(ascii) if user.is_ascii() => format!("write it as `{user}@{ascii}`"),
                _ => "use an address in ASCII".to_string(),
            };
            return self.invalid(
                v.span(),
                key,
                format!(
                    "`{address}` is not ASCII, which mail servers without SMTPUTF8 refuse: {hint}"
                ),
            );
        }
        Ok(parsed)
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
        let timezone = self
            .read(
                s.timezone.as_ref(),
                "source.timezone",
                |tz| tz.parse::<Tz>().ok(),
                |tz| {
                    format!(
                        "unknown time zone `{tz}` (use an IANA name such as America/Mexico_City)"
                    )
                },
            )?
            .unwrap_or(chrono_tz::America::Mexico_City);
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
        // A format chrono cannot read would be skipped on every item, silently.
        if let Some(f) = &format
            && chrono::format::StrftimeItems::new(f)
                .any(|item| matches!(item, chrono::format::Item::Error))
        {
            return self.invalid(
                span,
                key,
                format!("`{f}` is not a date format (chrono strftime, e.g. \"%d/%m/%Y\")"),
            );
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

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
        assert_refused(&[
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
        ]);
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

        let err = error_of(
            "[[source]]\nid = \"p\"\nname = \"P\"\nurl = \"https://p.example.org/\"\nsection = \"news\"\nday_order = \"ymd\"\n",
        );
        assert!(err.contains("`source.day_order`: `ymd`"), "{err}");
        let err = error_of(
            "[[source]]\nid = \"p\"\nname = \"P\"\nurl = \"https://p.example.org/\"\nsection = \"news\"\nkind = \"page\"\n\
             [source.scrape]\nitem = \"li\"\ntitle = { selector = \"a\", format = \"%Y\" }\nlink = \"a\"\n",
        );
        assert!(err.contains("only apply to `date`"), "{err}");
    }

    #[test]
    fn section_titles_and_the_footer_take_one_text_per_language() {
        let text = "[newsletter]\ntitle = \"B\"\nfrom = \"b@example.org\"\nfooter = { es = \"Calle 5 de Mayo 12, Oaxaca\", en = \"5 de Mayo St. 12, Oaxaca\" }\n\n[[section]]\nid = \"urgent\"\ntitle = { es = \"Acciones urgentes\", en = \"Urgent actions\" }\n";
        let cfg = parse(text, Path::new("/tmp/feeds.toml")).map_err(|e| e.to_string());
        let section = cfg.as_ref().map(|c| &c.sections[0]);
        for (langs, want) in [
            (&[Lang::Es][..], "Acciones urgentes"),
            (&[Lang::En][..], "Urgent actions"),
            (
                &[Lang::Es, Lang::En][..],
                "Acciones urgentes / Urgent actions",
            ),
        ] {
            assert_eq!(section.map(|s| s.title_for(langs)), Ok(want.into()));
        }
        // What `draft` writes beside the section, for the editor.
        assert_eq!(
            section.map(|s| s.title.as_str()),
            Ok("Acciones urgentes / Urgent actions")
        );
        let footer = cfg.as_ref().map(|c| &c.newsletter.footer);
        assert_eq!(
            footer.map(|f| f.get(Lang::En)),
            Ok(Some("5 de Mayo St. 12, Oaxaca"))
        );
        assert_eq!(footer.map(|f| f.line), Ok(4));
        // A wrong shape, an unknown language, and two ways of writing one title, each at
        // its line.
        assert_refused(&[
            (
                "\n[[section]]\nid = \"b\"\ntitle = 3\n",
                ":12: invalid type: integer `3`, expected a string, or one per language",
            ),
            (
                "\n[[section]]\nid = \"b\"\ntitle = { es = \"Eventos\", fr = \"Événements\" }\n",
                ":12: unknown language `fr`",
            ),
            (
                "\n[[section]]\nid = \"b\"\ntitle = { es = \"Eventos\" }\ntitle_en = \"Events\"\n",
                ":12: `section.title_en`: `title` already has one per language",
            ),
        ]);
        let err = whole_error(
            "[newsletter]\ntitle = \"B\"\nfrom = \"b@example.org\"\nfooter = [\"Calle 5 de Mayo\"]\n",
        );
        assert!(
            err.as_deref()
                .is_some_and(|e| e.starts_with("/tmp/feeds.toml:4: invalid type: sequence")),
            "{err:?}"
        );
    }

    #[test]
    fn a_text_left_out_for_a_language_falls_back_and_says_so() {
        let es_only = Localized::new([(Some(Lang::Es), "Solo en español".to_string())], 7);
        assert_eq!(es_only.get(Lang::En), Some("Solo en español"));
        assert_eq!(es_only.each(&[Lang::Es, Lang::En]), ["Solo en español"]);
        assert_eq!(
            es_only.missing(&[Lang::Es, Lang::En]),
            [(Lang::En, Lang::Es)]
        );
        assert!(es_only.missing(&[Lang::Es]).is_empty());
        // One text for everyone leaves no one out; a blank one is none at all.
        let one = Localized::new([(None, "Para todas".to_string())], 3);
        assert!(one.missing(&[Lang::Es, Lang::En]).is_empty());
        let blank = Localized::new([(Some(Lang::Es), "  ".to_string())], 3);
        assert!(blank.is_empty() && blank.each(&[Lang::Es]).is_empty());
        // A language's own text wins over the one for everyone, wherever it is written.
        let both = Localized::new(
            [
                (Some(Lang::En), "Urgent".to_string()),
                (None, "Urgente / Urgent".to_string()),
            ],
            1,
        );
        assert_eq!(both.get(Lang::En), Some("Urgent"));
        assert_eq!(both.get(Lang::Es), Some("Urgente / Urgent"));
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_line() {
        let err = error_of(
            "[[source]]\nid = \"a\"\nname = \"A\"\nurl = \"a.xml\"\nsection = \"news\"\ncolour = 1\n",
        );
        assert!(
            err.starts_with("/tmp/feeds.toml:14: unknown field `colour`"),
            "{err}"
        );
    }

    /// The error config `text` leads to, if any.
    fn whole_error(text: &str) -> Option<String> {
        parse(text, Path::new("/tmp/feeds.toml"))
            .err()
            .map(|e| e.to_string())
    }

    /// The error `extra` (appended to [`BASE`]) leads to, or "" when it loads.
    fn error_of(extra: &str) -> String {
        whole_error(&format!("{BASE}{extra}")).unwrap_or_default()
    }

    /// Asserts that each config (appended to [`BASE`]) is refused with an error containing
    /// its fragment.
    fn assert_refused(cases: &[(&str, &str)]) {
        for (extra, fragment) in cases {
            let err = error_of(extra);
            assert!(err.contains(fragment), "{extra}: {err}");
        }
    }

    #[test]
    fn max_wait_is_at_most_a_day_and_zero_leaves_retries_to_the_next_run() {
        let waits = |extra: &str| load_str(extra).map(|c| c.delivery.max_wait.as_secs()).ok();
        assert_eq!(waits(""), Some(600));
        assert_eq!(waits("[delivery]\nmax_wait_secs = 0\n"), Some(0));
        assert_eq!(waits("[delivery]\nmax_wait_secs = 86400\n"), Some(86_400));
        let err = error_of("[delivery]\nrate = \"60/min\"\nmax_wait_secs = 600000\n");
        assert!(
            err.starts_with(
                "/tmp/feeds.toml:11: `delivery.max_wait_secs`: 600000 seconds is more than a day"
            ),
            "{err}"
        );
    }

    #[test]
    fn fetch_limits_have_upper_bounds() {
        assert_refused(&[
            (
                "[settings]\nconcurrency = 100000000000\n",
                ":10: `settings.concurrency`: 100000000000 is not between 1 and 256",
            ),
            (
                "[settings]\nconcurrency = 0\n",
                ":10: `settings.concurrency`: 0 is not between 1 and 256",
            ),
            (
                "[settings]\nper_host = 33\n",
                ":10: `settings.per_host`: 33 is not between 1 and 32",
            ),
            (
                "[settings]\nmax_body_mib = 4096\n",
                ":10: `settings.max_body_mib`: 4096 is not between 1 and 1024",
            ),
            (
                "[delivery]\nconnections = 0\n",
                ":10: `delivery.connections`: 0 is not between 1 and 32",
            ),
        ]);
        let cfg = load_str("[settings]\nconcurrency = 256\nper_host = 32\nmax_body_mib = 1024\n")
            .map(|c| (c.settings.concurrency, c.settings.max_body_bytes))
            .map_err(|e| e.to_string());
        assert_eq!(cfg, Ok((256, 1024 * 1024 * 1024)));
    }

    #[test]
    fn addresses_are_read_as_compose_and_send_read_them() {
        let err =
            whole_error("[newsletter]\ntitle = \"B\"\nfrom = \"Boletín <boletin@example.org\"\n");
        assert_eq!(
            err.as_deref(),
            Some(
                "/tmp/feeds.toml:3: `newsletter.from`: `Boletín <boletin@example.org` is not an email address"
            )
        );
        let mailto =
            load_str("[delivery]\nunsubscribe_mailto = \"Bajas del boletín <baja@example.org>\"\n")
                .map(|c| c.delivery.unsubscribe_mailto)
                .map_err(|e| e.to_string());
        assert_eq!(mailto, Ok(Some("baja@example.org".into())));
        assert!(
            error_of("[delivery]\nunsubscribe_mailto = \"baja en example.org\"\n")
                .contains(":10: `delivery.unsubscribe_mailto`"),
        );
    }

    #[test]
    fn header_values_are_refused_at_their_line_not_in_compose() {
        let newsletter = |from: &str| {
            whole_error(&format!(
                "[newsletter]\ntitle = \"B\"\nfrom = {}\n",
                toml_edit::value(from)
            ))
            .unwrap_or_default()
        };
        assert_eq!(
            newsletter("Boletín: Oaxaca <boletin@example.org>"),
            "/tmp/feeds.toml:3: `newsletter.from`: `Boletín: Oaxaca <boletin@example.org>` is not an email address (a name with `:`, `,`, `;` or brackets goes in double quotes: `\"Boletín: Oaxaca\" <boletin@example.org>`)"
        );
        assert_eq!(newsletter("\"Boletín: Oaxaca\" <boletin@example.org>"), "");
        assert_eq!(
            newsletter("Boletín <boletín@oaxaca.example.org>"),
            "/tmp/feeds.toml:3: `newsletter.from`: `boletín@oaxaca.example.org` is not ASCII, which mail servers without SMTPUTF8 refuse: use an address in ASCII"
        );
        assert_refused(&[
            // A second target smuggled into List-Unsubscribe.
            (
                "[delivery]\nunsubscribe_mailto = \"a@x.org>, <mailto:b@evil.example\"\n",
                ":10: `delivery.unsubscribe_mailto`: `a@x.org>, <mailto:b@evil.example` is not an email address",
            ),
            (
                "[delivery]\nunsubscribe_mailto = \"Bajas <a@x.org> <b@evil.example>\"\n",
                ":10: `delivery.unsubscribe_mailto`: ",
            ),
            (
                "[delivery]\nunsubscribe_mailto = \"bajas@solidaridad-méxico.org\"\n",
                ":10: `delivery.unsubscribe_mailto`: `bajas@solidaridad-méxico.org` is not ASCII, which mail servers without SMTPUTF8 refuse: write it as `bajas@xn--solidaridad-mxico-ntb.org`",
            ),
            (
                &format!(
                    "[delivery]\nlist_id = \"{}.example.org\"\n",
                    "b".repeat(250)
                ),
                ":10: `delivery.list_id`: ",
            ),
            (
                &format!(
                    "[delivery]\nunsubscribe_url = \"https://boletin.example.org/{}\"\n",
                    "baja/".repeat(120)
                ),
                ":10: `delivery.unsubscribe_url`: 628 characters is too long for a mail header (at most 512)",
            ),
        ]);
    }

    #[test]
    fn send_settings_are_read_before_any_send() {
        assert_refused(&[
            (
                "[delivery]\nsmtp_url = \"smtp://mail.example.org:587?tls=always\"\n",
                ":10: `delivery.smtp_url`: SMTP: smtp://mail.example.org:587?tls=always: unknown tls=always",
            ),
            // Sixteen bytes, but not sixteen characters of secret.
            (
                "[delivery]\nsecret = \"  contraseña   \"\n",
                ":10: `delivery.secret`: use at least 16 characters",
            ),
            (
                "[delivery.dkim]\nselector = \"boletín 2026\"\nkey_file = \"dkim.pem\"\n",
                ":10: `delivery.dkim.selector`: `boletín 2026` is not a DNS name",
            ),
            (
                "[delivery.dkim]\nselector = \"b2026\"\ndomain = \"example..org\"\nkey_file = \"dkim.pem\"\n",
                ":11: `delivery.dkim.domain`: `example..org` is not a DNS name",
            ),
        ]);
        let dkim =
            load_str("[delivery.dkim]\nselector = \"boletin2026\"\nkey_file = \"dkim.pem\"\n")
                .map(|c| c.delivery.dkim.map(|d| (d.selector, d.domain)))
                .map_err(|e| e.to_string());
        assert_eq!(dkim, Ok(Some(("boletin2026".into(), "example.org".into()))));
    }

    #[test]
    fn a_date_format_chrono_cannot_read_is_refused() {
        let page = "[[source]]\nid = \"p\"\nname = \"P\"\nurl = \"https://p.example.org/\"\nsection = \"news\"\n\
                    kind = \"page\"\n[source.scrape]\nitem = \"li\"\ntitle = \"a\"\nlink = \"a\"\n";
        let err = error_of(&format!(
            "{page}date = {{ selector = \".fecha\", format = \"%d de %Q de %Y\" }}\n"
        ));
        assert!(
            err.starts_with(
                "/tmp/feeds.toml:19: `source.scrape.date`: `%d de %Q de %Y` is not a date format"
            ),
            "{err}"
        );
        assert_eq!(
            error_of(&format!(
                "{page}date = {{ selector = \".fecha\", format = \"%d/%m/%Y\" }}\n"
            )),
            ""
        );
    }

    #[test]
    fn shared_checks_read_alike_for_config_and_edition_files() {
        assert_eq!(
            languages(Spanned::new(11..13, LangSpec::Many(Vec::new()))),
            Err(11..13)
        );
        assert_eq!(
            languages(Spanned::new(0..4, LangSpec::One(Lang::En))),
            Ok(vec![Lang::En])
        );
        let err =
            whole_error("[newsletter]\ntitle = \"B\"\nfrom = \"b@example.org\"\nlanguage = []\n");
        assert_eq!(
            err.as_deref(),
            Some("/tmp/feeds.toml:4: `newsletter.language`: give at least one language")
        );
        assert!(is_id("2026-W47") && is_id("colectivo_oaxaca"));
        assert!(!is_id("") && !is_id("año") && !is_id("a/b"));
        assert_eq!(
            toml_error(
                "a = 1\nb = \n",
                Some(10..11),
                "invalid string\nexpected `\"`\n"
            ),
            (2, "invalid string expected `\"`".into())
        );
        assert_eq!(toml_error("", None, "x").0, 0);
    }
}
