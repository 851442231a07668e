//! The seam between composing and sending: an [`OutgoingEdition`] is an edition rendered
//! once per language, with a placeholder where each subscriber's unsubscribe link goes.
//!
//! It is built from the edition file `boletin draft` writes and the editor edits
//! (`editions/2026-W47.toml`) by the same [`render_edition`] that `boletin compose` and
//! `boletin preview` use. Only the unsubscribe link differs: personalized per subscriber by
//! [`personalize`].

use std::path::Path;

use super::DeliverError;
use crate::config::Config;
use crate::lang::Lang;
use crate::publish::{Versions, render_edition};
use crate::store::Store;

/// Stands where the unsubscribe URL goes in the rendered edition. Letters, digits and `_`
/// only, so HTML escaping and text wrapping leave it whole.
pub const UNSUBSCRIBE_PLACEHOLDER: &str = "BOLETIN_UNSUBSCRIBE_URL_7f3c9a1e";

/// One language version of an edition, rendered with the placeholder.
#[derive(Debug, Clone)]
pub struct EditionVersion {
    pub(crate) lang: Lang,
    pub(crate) subject: String,
    pub(crate) html: String,
    pub(crate) text: String,
}

/// An edition ready to personalize and send.
#[derive(Debug, Clone)]
pub struct OutgoingEdition {
    /// Stable id, the journal key and part of each Message-ID: the edition's `week`
    /// (`2026-W47`), the same slug `compose` names its folder and web page with.
    pub id: String,
    /// Versions in preference order: the first is sent to subscribers whose language the
    /// edition does not have.
    pub by_lang: Vec<EditionVersion>,
    /// Items included in the edition.
    pub items: usize,
    /// What the editor should look at before sending (see `RenderedEdition::warnings`).
    pub warnings: Vec<crate::edition::EditionWarning>,
    /// Why it shows no item, when it shows none (see `RenderedEdition::why_empty`).
    pub why_empty: String,
}

impl OutgoingEdition {
    /// A copy for `send --test`: each subject starts with `[PRUEBA]` or `[TEST]`, in its
    /// version's language, so nobody takes a test for the edition itself.
    pub fn marked_as_test(&self) -> OutgoingEdition {
        let mut copy = self.clone();
        for v in &mut copy.by_lang {
            let mark = match v.lang {
                Lang::Es => "[PRUEBA]",
                Lang::En => "[TEST]",
            };
            v.subject = format!("{mark} {}", v.subject);
        }
        copy
    }

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
        .replace(UNSUBSCRIBE_PLACEHOLDER, &crate::html::escape::escape(url));
    let text = version.text.replace(UNSUBSCRIBE_PLACEHOLDER, url);
    (html, text)
}

/// Reads the edition file at `path`, checks it against the config and the store, and
/// renders it once per language of the edition (a bilingual `language = ["es", "en"]`
/// edition gives an `es` and an `en` version; each subscriber gets theirs).
pub fn load(config: &Config, store: &Store, path: &Path) -> Result<OutgoingEdition, DeliverError> {
    let rendered = render_edition(
        config,
        store,
        path,
        Versions::PerLanguage,
        UNSUBSCRIBE_PLACEHOLDER,
    )?;
    let items = rendered.item_count();
    let why_empty = rendered.why_empty();
    let warnings = rendered.warnings;
    let by_lang = std::iter::once(rendered.first)
        .chain(rendered.others)
        .map(|v| EditionVersion {
            lang: v.lang,
            subject: v.email.subject,
            html: v.email.html,
            text: v.email.text,
        })
        .collect();
    Ok(OutgoingEdition {
        id: rendered.edition.week,
        by_lang,
        items,
        warnings,
        why_empty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_copies_are_marked_in_each_language() {
        let version = |lang, subject: &str| EditionVersion {
            lang,
            subject: subject.into(),
            html: String::new(),
            text: String::new(),
        };
        let edition = OutgoingEdition {
            id: "2026-W47".into(),
            by_lang: vec![
                version(Lang::Es, "Boletín n.º 47: acciones en Oaxaca"),
                version(Lang::En, "Newsletter No. 47: actions in Oaxaca"),
            ],
            items: 3,
            warnings: Vec::new(),
            why_empty: String::new(),
        };
        let test = edition.marked_as_test();
        let subjects: Vec<&str> = test.by_lang.iter().map(|v| v.subject.as_str()).collect();
        assert_eq!(
            subjects,
            [
                "[PRUEBA] Boletín n.º 47: acciones en Oaxaca",
                "[TEST] Newsletter No. 47: actions in Oaxaca"
            ]
        );
        assert_eq!(
            edition.by_lang[0].subject,
            "Boletín n.º 47: acciones en Oaxaca"
        );
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
