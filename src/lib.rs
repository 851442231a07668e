//! boletin: partner feeds and news pages in, a curated email newsletter out.
//!
//! The library prints nothing and knows no exit codes; `main.rs` owns both. See
//! `ARCHITECTURE.md` for the stages and where each lives.
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
