//! Templates: view structs in, HTML and plain text out (minijinja), the email's CSS
//! inlined (css-inline).
//!
//! The default templates are compiled into the binary; a file of the same name in the
//! configured templates folder overrides one. Undefined variables are errors, HTML
//! templates autoescape, and the only values marked safe are sanitized HTML (item
//! summaries from the store, the editor's Markdown after `sanitize`). The email HTML then
//! has its CSS inlined, keeping the `@media` rules for narrow screens and dark mode.

use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::publish::view::DigestView;

/// Why a template did not render.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A template has a syntax error or used an undefined value.
    #[error("template {name}: {message}")]
    Template {
        /// The template file, e.g. `email.html` or `partials/item.html`.
        name: String,
        /// minijinja's error, first line only (it names the line in the template).
        message: String,
    },
    /// The rendered HTML could not have its CSS inlined.
    #[error("cannot inline the email's CSS: {0}")]
    Inline(String),
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
    /// The plain-text part, rendered from `email.txt` (wrapped, links as footnotes).
    pub text: String,
}

/// A template environment over the built-in templates and `dir`'s overrides.
pub struct Renderer {
    env: Environment<'static>,
}

impl Renderer {
    /// Templates read from `dir` (the configured folder) where it has the file, else the
    /// built-in ones; read lazily, so an unreadable file fails at render time.
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
                    .write_str(&crate::html::escape::escape(text))
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
    pub fn render<T: Serialize>(&self, name: &str, view: &T) -> Result<String, TemplateError> {
        let err = |e: minijinja::Error| TemplateError::Template {
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
    pub fn email(&self, view: &DigestView) -> Result<Rendered, TemplateError> {
        let html = self.render("email.html", view)?;
        Ok(Rendered {
            subject: view.subject.clone(),
            html: inline_css(&html)?,
            text: self.render("email.txt", view)?,
        })
    }

    /// The edition's page in the web archive.
    pub fn archive_page(&self, view: &DigestView) -> Result<String, TemplateError> {
        self.render("archive.html", view)
    }
}

/// Moves the `<style>` rules onto the elements (many clients drop `<style>`), keeping
/// `@media` rules (narrow screens, dark mode) in a `<style>` for the clients that read it.
pub fn inline_css(html: &str) -> Result<String, TemplateError> {
    css_inline::CSSInliner::options()
        .keep_at_rules(true)
        .load_remote_stylesheets(false)
        .build()
        .inline(html)
        .map_err(|e| TemplateError::Inline(e.to_string()))
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
