//! boletin: partner feeds and news pages in, a curated email newsletter out.
//!
//! The modules are the stages, in the order data flows: [`config`], [`ingest`] (fetch,
//! parse or scrape, normalize), [`html`] (the sanitizer and pure HTML work), [`annotate`]
//! (language, tags, stories), [`store`], [`edition`], [`publish`] (render an edition),
//! [`deliver`] (send it) and [`web`] (unsubscribe, archive, preview). The library prints
//! nothing and knows no exit codes; the binary's `cli` module owns both. See
//! `ARCHITECTURE.md` for what each stage hands on.
#![warn(missing_docs, unreachable_pub)]
pub mod annotate;
pub mod config;
pub mod deliver;
pub mod edition;
pub mod html;
pub mod ingest;
pub mod lang;
pub mod publish;
pub mod store;
pub mod web;
