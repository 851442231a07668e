//! Publishing: an edition or a window of stored items rendered to email (HTML, text,
//! `.eml`) and to the web archive.
//!
//! [`edition::render_edition`] is the one path from an edition file to its email, shared
//! by `compose`, `preview` and `send`. Around it, one module per job: [`view`] builds what
//! templates receive, [`markdown`] turns the editor's notes into HTML and text,
//! [`templates`] renders and inlines CSS, [`links`] derives the public addresses, [`i18n`]
//! holds the words, [`mime`] writes every message's headers and parts, and [`archive`]
//! lists composed editions on the web and in an Atom feed.

pub mod address;
pub mod archive;
pub mod edition;
pub mod i18n;
pub mod links;
pub mod markdown;
pub mod mime;
pub mod templates;
pub mod view;

pub use edition::{RenderError, RenderedEdition, RenderedVersion, Versions, render_edition};
