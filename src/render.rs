//! Renders digests with minijinja: view structs in, HTML and plain text out.
//!
//! The default templates are compiled into the binary; a file of the same name in the
//! configured templates folder overrides one. Undefined variables are errors, HTML
//! templates autoescape, and the only values marked safe are sanitized item HTML.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::config::{Config, Lang};
use crate::i18n;
use crate::store::StoredItem;

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template has a syntax error or used an undefined value.
    #[error("template {name}: {message}")]
    Template { name: String, message: String },
}

const BUILTIN: &[(&str, &str)] = &[
    ("email.html", include_str!("../templates/email.html")),
    ("email.txt", include_str!("../templates/email.txt")),
    (
        "partials/item.html",
        include_str!("../templates/partials/item.html"),
    ),
    (
        "partials/section.html",
        include_str!("../templates/partials/section.html"),
    ),
];

/// The rendered digest.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub html: String,
    pub text: String,
}

/// One item as templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    pub title: String,
    pub link: Option<String>,
    pub source: String,
    pub author: Option<String>,
    pub date: String,
    /// Sanitized HTML, marked safe.
    pub summary: Value,
    pub excerpt: String,
}

/// One section with its items.
#[derive(Debug, Clone, Serialize)]
pub struct SectionView {
    pub id: String,
    pub title: String,
    pub items: Vec<ItemView>,
}

/// Everything the digest templates receive.
#[derive(Debug, Clone, Serialize)]
pub struct DigestView {
    pub lang: &'static str,
    pub title: String,
    pub intro: String,
    pub date: String,
    pub preheader: String,
    pub archive_url: Option<String>,
    pub unsubscribe_url: Option<String>,
    pub item_count: usize,
    pub sections: Vec<SectionView>,
    pub labels: std::collections::BTreeMap<&'static str, &'static str>,
}

/// Groups `items` (newest first) by their source's section, in config order.
pub fn digest_view(
    config: &Config,
    items: &[StoredItem],
    now: DateTime<Utc>,
    lang: Lang,
) -> DigestView {
    let tz: Tz = chrono_tz::America::Mexico_City;
    let mut sections: Vec<SectionView> = config
        .sections
        .iter()
        .map(|s| SectionView {
            id: s.id.clone(),
            title: s.title.clone(),
            items: Vec::new(),
        })
        .collect();
    for item in items {
        let Some(source) = config.sources.iter().find(|s| s.id == item.source_id) else {
            continue;
        };
        let Some(section) = sections.iter_mut().find(|s| s.id == source.section) else {
            continue;
        };
        section.items.push(ItemView {
            title: item.title.clone(),
            link: item.link.clone(),
            source: source.name.clone(),
            author: item.author.clone(),
            date: i18n::long_date(item.date.with_timezone(&source.timezone), lang),
            summary: Value::from_safe_string(item.summary.as_str().to_string()),
            excerpt: item.excerpt.clone(),
        });
    }
    sections.retain(|s| !s.items.is_empty());
    let preheader = sections
        .iter()
        .flat_map(|s| s.items.iter().map(|i| i.title.as_str()))
        .take(3)
        .collect::<Vec<_>>()
        .join(" · ");
    DigestView {
        lang: lang.code(),
        title: config.newsletter.title.clone(),
        intro: config.newsletter.description.clone(),
        date: i18n::long_date(now.with_timezone(&tz), lang),
        preheader,
        archive_url: config
            .newsletter
            .archive_url
            .as_ref()
            .map(|u| u.to_string()),
        unsubscribe_url: None,
        item_count: items.len(),
        sections,
        labels: i18n::labels(lang),
    }
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
                    .write_str(&crate::sanitize::escape(text))
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

    fn render(&self, name: &str, view: &DigestView) -> Result<String, RenderError> {
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

    /// Renders the HTML email and its plain-text twin.
    pub fn digest(&self, view: &DigestView) -> Result<Rendered, RenderError> {
        Ok(Rendered {
            html: self.render("email.html", view)?,
            text: self.render("email.txt", view)?,
        })
    }
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
    fn wrap_breaks_at_width_without_splitting_words() {
        let out = wrap(
            "Delegación de solidaridad a Oaxaca y Chiapas en diciembre".into(),
            Some(20),
        );
        assert!(out.lines().all(|l| l.chars().count() <= 20), "{out}");
        assert_eq!(out.split_whitespace().count(), 9);
    }
}
