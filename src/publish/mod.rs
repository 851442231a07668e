//! Publishing: an edition or a window of stored items rendered to email (HTML, text,
//! `.eml`) and to the web archive.

pub mod archive;
pub mod i18n;
pub mod mime;
pub mod render;
