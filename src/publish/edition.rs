//! The one publish path: an edition file read, checked against the config and the store,
//! and rendered to email. `compose` writes what [`render_edition`] returns, `preview`
//! shows it and `send` sends it, so the three cannot drift apart.

use std::collections::HashMap;
use std::path::Path;

use crate::config::Config;
use crate::edition::{Edition, EditionError, EditionWarning, translation_gap};
use crate::lang::Lang;
use crate::publish::templates::{Rendered, Renderer, TemplateError};
use crate::publish::view::{self, DigestView, SectionView};
use crate::store::{ItemQuery, Store, StoreError, StoredItem};

/// Why an edition could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The edition file is missing, malformed, or names something that does not exist.
    #[error(transparent)]
    Edition(#[from] EditionError),
    /// The items could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A template did not render.
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// Which versions of an edition to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versions {
    /// One version: in this language, else in every language of the edition at once
    /// (labels joined " / "). What `compose` writes and `preview` shows.
    One(Option<Lang>),
    /// One version per language of the edition: what each subscriber receives.
    PerLanguage,
}

/// One version of an edition: its languages, the view the templates got, and the email.
#[derive(Debug, Clone)]
pub struct RenderedVersion {
    /// The first of [`langs`](Self::langs): the language of the version's `<html>`.
    pub lang: Lang,
    /// Every language the version is written in: one, or all of the edition's at once.
    pub langs: Vec<Lang>,
    /// What the templates received, kept for pages rendered from the same data.
    pub view: DigestView,
    /// The rendered email: subject, HTML and plain text.
    pub email: Rendered,
}

/// An edition file rendered: the file as read, its versions (never none) and the renderer
/// that made them, for the archive pages.
pub struct RenderedEdition {
    /// The edition file as parsed and checked.
    pub edition: Edition,
    /// The templates the versions were rendered with (configured ones over the built-ins).
    pub renderer: Renderer,
    /// The first version, the only one with [`Versions::One`].
    pub first: RenderedVersion,
    /// The versions in the edition's other languages, with [`Versions::PerLanguage`].
    pub others: Vec<RenderedVersion>,
    /// What the editor should look at before sending (an item id whose title or link is
    /// not the file's, a text a language's readers get in another), in file order.
    pub warnings: Vec<EditionWarning>,
    /// Included items left out because their source is no longer in the config.
    pub sourceless: Vec<i64>,
}

impl RenderedEdition {
    /// Every version, the first first.
    pub fn versions(&self) -> impl Iterator<Item = &RenderedVersion> {
        std::iter::once(&self.first).chain(&self.others)
    }

    /// Items readers get, the same in every version: none means an empty email.
    pub fn item_count(&self) -> usize {
        self.first.view.item_count
    }

    /// The warning for an edition that includes no item (which `send` refuses), if it is one.
    pub fn empty_warning(&self) -> Option<EditionWarning> {
        (self.item_count() == 0).then(|| EditionWarning {
            path: self.edition.path.display().to_string(),
            line: 0,
            message: format!(
                "{}: the email would carry only its intro; `send` refuses it without --allow-empty",
                self.why_empty()
            ),
        })
    }

    /// Why an edition shows no item, in the editor's terms: nothing has `include = true`,
    /// or what has it comes from sources feeds.toml no longer lists.
    pub fn why_empty(&self) -> String {
        if self.sourceless.is_empty() {
            return "no item is included (each has `include = false`, or the week had none)".into();
        }
        let ids: Vec<String> = self.sourceless.iter().map(i64::to_string).collect();
        format!(
            "no item is shown (included: {}, but their sources are no longer in feeds.toml)",
            ids.join(", ")
        )
    }
}

/// Included items of `edition` whose source `config` no longer lists: they render as
/// nothing, so each gets a warning naming its line, and the ids are returned.
fn sourceless(
    config: &Config,
    edition: &Edition,
    items: &HashMap<i64, StoredItem>,
) -> (Vec<i64>, Vec<EditionWarning>) {
    let mut ids = Vec::new();
    let mut warnings = Vec::new();
    for e in edition.included() {
        let Some(item) = items.get(&e.id) else {
            continue;
        };
        if config.source(&item.source_id).is_some() {
            continue;
        }
        ids.push(e.id);
        warnings.push(EditionWarning {
            path: edition.path.display().to_string(),
            line: e.line,
            message: format!(
                "item {}'s source `{}` is no longer in feeds.toml; it is left out",
                e.id, item.source_id
            ),
        });
    }
    (ids, warnings)
}

/// The warnings of `edition` rendered in `langs`: its item ids checked against the store,
/// and every text its readers would get in another language, the config's footer and the
/// titles of the sections it shows among them.
fn warnings(
    config: &Config,
    edition: &Edition,
    items: &HashMap<i64, StoredItem>,
    langs: &[Lang],
    shown: &[SectionView],
) -> Vec<EditionWarning> {
    let mut out = edition.mismatches(items);
    out.extend(sourceless(config, edition, items).1);
    out.extend(edition.translation_gaps(langs));
    out.sort_by_key(|w| w.line);
    let sections = shown
        .iter()
        .filter_map(|s| config.section(&s.id))
        .map(|s| (format!("the title of section `{}`", s.id), &s.titles));
    let footer = std::iter::once(("`footer`".to_string(), &config.newsletter.footer));
    out.extend(
        sections
            .chain(footer)
            .filter_map(|(what, text)| translation_gap(&config.path, &what, text, langs)),
    );
    out
}

/// Reads the edition file at `path`, checks it against the config and the items in
/// `store` (an unknown section or a missing item is an error naming the file and line), and
/// renders `versions` with the configured templates, `unsubscribe_url` in the footer.
pub fn render_edition(
    config: &Config,
    store: &Store,
    path: &Path,
    versions: Versions,
    unsubscribe_url: &str,
) -> Result<RenderedEdition, RenderError> {
    let edition = Edition::load(path)?;
    let items = edition_items(store, &edition)?;
    edition.validate(config, &items)?;
    let mut sets = match versions {
        Versions::One(Some(lang)) => vec![vec![lang]],
        Versions::One(None) => vec![edition.languages(config)],
        Versions::PerLanguage => edition
            .languages(config)
            .into_iter()
            .map(|l| vec![l])
            .collect(),
    }
    .into_iter();
    let renderer = Renderer::new(&config.newsletter.templates);
    let render = |langs: Vec<Lang>| -> Result<RenderedVersion, TemplateError> {
        let view = view::edition_view(config, &edition, &items, &langs, unsubscribe_url);
        Ok(RenderedVersion {
            lang: langs.first().copied().unwrap_or(Lang::Es),
            email: renderer.email(&view)?,
            langs,
            view,
        })
    };
    // The config never has an empty list of languages; an empty set would still render.
    let first = render(sets.next().unwrap_or_default())?;
    let others = sets.map(&render).collect::<Result<Vec<_>, _>>()?;
    let warnings = warnings(
        config,
        &edition,
        &items,
        &edition.languages(config),
        &first.view.sections,
    );
    let (sourceless, _) = sourceless(config, &edition, &items);
    Ok(RenderedEdition {
        edition,
        renderer,
        first,
        others,
        warnings,
        sourceless,
    })
}

/// The stored items an edition names, by id.
fn edition_items(store: &Store, edition: &Edition) -> Result<HashMap<i64, StoredItem>, StoreError> {
    let ids = edition.item_ids();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let items = store.items(&ItemQuery {
        ids,
        ..Default::default()
    })?;
    Ok(items.into_iter().map(|i| (i.id, i)).collect())
}
