//! boletin: partner feeds and news pages in, a curated email newsletter out.
//!
//! The library prints nothing and knows no exit codes; `main.rs` owns both. See
//! `ARCHITECTURE.md` for the stages and where each lives.
pub mod annotate;
pub mod archive;
pub mod config;
pub mod curate;
pub mod date;
pub mod decode;
pub mod dedup;
pub mod deliver;
pub mod discover;
pub mod edition;
pub mod feedxml;
pub mod fetch;
pub mod fold;
pub mod i18n;
pub mod inspect;
pub mod item;
pub mod lock;
pub mod mime;
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
pub mod serve;
pub mod store;
pub mod subscribers;
pub mod tag;
pub mod token;
pub mod when;
