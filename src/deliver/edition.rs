//! The seam between composing and sending: an [`OutgoingEdition`] is an edition rendered
//! once per language, with a placeholder where each subscriber's unsubscribe link goes.
//!
//! For now it is built from an edition file (`editions/2026-W47.toml`: `number`, `date`,
//! `subject`, `language`, optional `since`; every other key is ignored) and the stored
//! items of its week, through `render::digest_view` and `Renderer::digest`. When the
//! edition renderer lands, only [`load`] changes.

use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

use super::DeliverError;
use crate::config::{Config, Lang};
use crate::render::{self, Renderer};
use crate::store::Store;
use crate::{i18n, pipeline, when};

/// Stands where the unsubscribe URL goes in the rendered edition. Letters, digits and `_`
/// only, so HTML escaping and text wrapping leave it whole.
pub const UNSUBSCRIBE_PLACEHOLDER: &str = "BOLETIN_UNSUBSCRIBE_URL_7f3c9a1e";

/// One language version of an edition, rendered with the placeholder.
#[derive(Debug, Clone)]
pub struct EditionVersion {
    pub lang: Lang,
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// An edition ready to personalize and send.
#[derive(Debug, Clone)]
pub struct OutgoingEdition {
    /// Stable id, the journal key: the edition file's name without `.toml` (`2026-W47`).
    pub id: String,
    /// Versions in preference order: the first is sent to subscribers whose language the
    /// edition does not have.
    pub by_lang: Vec<EditionVersion>,
    /// Stored items in the edition.
    pub items: usize,
}

impl OutgoingEdition {
    /// The version for a subscriber who reads `lang`: theirs if it exists, else the first.
    pub fn version_for(&self, lang: Option<Lang>) -> Option<&EditionVersion> {
        lang.and_then(|l| self.by_lang.iter().find(|v| v.lang == l))
            .or_else(|| self.by_lang.first())
    }
}

/// The HTML and text of `version` with `url` as the unsubscribe link.
pub fn personalize(version: &EditionVersion, url: &str) -> (String, String) {
    let html = version
        .html
        .replace(UNSUBSCRIBE_PLACEHOLDER, &crate::sanitize::escape(url));
    let text = version.text.replace(UNSUBSCRIBE_PLACEHOLDER, url);
    (html, text)
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Text {
    One(String),
    ByLang(std::collections::BTreeMap<String, String>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Langs {
    One(Lang),
    Many(Vec<Lang>),
}

/// The keys of an edition file that sending reads.
#[derive(Debug, Deserialize)]
struct EditionFile {
    number: Option<u32>,
    date: Option<String>,
    subject: Option<Text>,
    language: Option<Langs>,
    since: Option<String>,
}

/// Reads the edition file at `path` and renders it once per language.
pub fn load(config: &Config, store: &Store, path: &Path) -> Result<OutgoingEdition, DeliverError> {
    let shown = path.display().to_string();
    let bad = |message: String| DeliverError::Edition {
        path: shown.clone(),
        message,
    };
    let id = path
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        })
        .ok_or_else(|| bad("the file name must be the edition id, e.g. 2026-W47.toml".into()))?
        .to_string();
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let file: EditionFile =
        toml::from_str(&text).map_err(|e| bad(e.message().trim().replace('\n', " ")))?;

    let end = match file.date.as_deref() {
        Some(d) => when::parse_now(d).map_err(bad)?,
        None => week_end(&id).ok_or_else(|| {
            bad("no `date` (YYYY-MM-DD), and the file name is not an ISO week like 2026-W47".into())
        })?,
    };
    let since = when::parse_since(file.since.as_deref().unwrap_or("7d"), end).map_err(bad)?;
    let langs = match file.language {
        Some(Langs::One(l)) => vec![l],
        Some(Langs::Many(v)) if !v.is_empty() => v,
        _ => config.newsletter.languages.clone(),
    };
    let items = pipeline::window_items(store, since, end)
        .map_err(|e| bad(format!("cannot read items: {e}")))?;
    let renderer = Renderer::new(&config.newsletter.templates);
    let mut by_lang = Vec::new();
    // "Today" as a reader sees it is the last instant of the window.
    let shown_date = end - Duration::seconds(1);
    for lang in langs {
        let mut view = render::digest_view(config, &items, shown_date, lang);
        view.unsubscribe_url = Some(UNSUBSCRIBE_PLACEHOLDER.to_string());
        let rendered = renderer.digest(&view).map_err(|e| bad(e.to_string()))?;
        let subject = match &file.subject {
            Some(Text::One(s)) => s.clone(),
            Some(Text::ByLang(m)) => m
                .get(lang.code())
                .or_else(|| m.values().next())
                .cloned()
                .unwrap_or_default(),
            None => String::new(),
        };
        let subject = if subject.trim().is_empty() {
            default_subject(config, file.number, shown_date, lang)
        } else {
            subject.trim().to_string()
        };
        by_lang.push(EditionVersion {
            lang,
            subject,
            html: rendered.html,
            text: rendered.text,
        });
    }
    Ok(OutgoingEdition {
        id,
        by_lang,
        items: items.len(),
    })
}

fn default_subject(
    config: &Config,
    number: Option<u32>,
    date: DateTime<Utc>,
    lang: Lang,
) -> String {
    let date = i18n::long_date(date.with_timezone(&chrono_tz::America::Mexico_City), lang);
    match (number, lang) {
        (Some(n), Lang::Es) => format!("{} n.º {n} · {date}", config.newsletter.title),
        (Some(n), Lang::En) => format!("{} No. {n} · {date}", config.newsletter.title),
        (None, _) => format!("{} · {date}", config.newsletter.title),
    }
}

/// The end of the Sunday closing ISO week `2026-W47` (exclusive, UTC).
fn week_end(id: &str) -> Option<DateTime<Utc>> {
    let (year, week) = id.split_once("-W")?;
    let sunday = NaiveDate::from_isoywd_opt(
        year.parse().ok()?,
        week.get(..2)?.parse().ok()?,
        chrono::Weekday::Sun,
    )?;
    Some(
        sunday
            .succ_opt()?
            .and_time(chrono::NaiveTime::MIN)
            .and_utc(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_week_ids_give_the_end_of_their_sunday() {
        let end = week_end("2026-W47").map(|d| d.to_rfc3339());
        assert_eq!(end.as_deref(), Some("2026-11-23T00:00:00+00:00"));
        assert_eq!(week_end("boletin-especial"), None);
    }

    #[test]
    fn personalizing_escapes_for_html_and_keeps_text_raw() {
        let v = EditionVersion {
            lang: Lang::Es,
            subject: "s".into(),
            html: format!("<a href=\"{UNSUBSCRIBE_PLACEHOLDER}\">baja</a>"),
            text: format!("Baja: {UNSUBSCRIBE_PLACEHOLDER}\n"),
        };
        let (html, text) = personalize(&v, "https://x.org/u?a=1&token=5.abc");
        assert_eq!(
            html,
            "<a href=\"https://x.org/u?a=1&amp;token=5.abc\">baja</a>"
        );
        assert_eq!(text, "Baja: https://x.org/u?a=1&token=5.abc\n");
    }
}
