//! Ingest: sources in, normalized items stored. The fetch fan-out ([`run`]) drives
//! fetch → decode → parse a feed or scrape a page → normalize, one source at a time into the
//! store; `inspect` and `add` reuse the same steps without a store.

pub mod date;
pub mod decode;
pub mod discover;
pub mod feed;
pub mod fetch;
pub mod inspect;
pub mod item;
pub mod lock;
pub mod normalize;
pub mod report;
pub mod run;
pub mod schedule;
pub mod scrape;
