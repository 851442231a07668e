//! boletin: partner feeds and news pages in, a curated email newsletter out.
//!
//! The library prints nothing and knows no exit codes; `main.rs` owns both. See
//! `ARCHITECTURE.md` for the stages and where each lives.

pub mod config;
pub mod date;
pub mod decode;
pub mod discover;
pub mod feedxml;
pub mod fetch;
pub mod i18n;
pub mod inspect;
pub mod item;
pub mod lock;
pub mod normalize;
pub mod opml;
pub mod parse;
pub mod pipeline;
pub mod render;
pub mod repair;
pub mod report;
pub mod sanitize;
pub mod schedule;
pub mod scrape;
pub mod store;
pub mod when;
