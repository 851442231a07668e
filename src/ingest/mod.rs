//! Ingest: configured sources in, normalized items in the store.
//!
//! [`run`] drives the stage: it asks every due source concurrently through [`fetch`] (in
//! [`schedule`]'s order, when [`state`] says it is due), reads each answer by its kind
//! ([`kind`]: [`decode`], then [`feed`] parsing or [`scrape`], then [`normalize`] into
//! [`item::Item`]s, annotated as they are read when the run has an annotator; [`follow`]
//! fetches item pages for kinds that want them), and commits each source's items with the
//! next state [`state`] decides, several sources a transaction. It hands on a
//! [`report::RunReport`]; annotation then finishes over the store. `inspect`
//! ([`run::inspect`], shown as an [`inspect::View`]) and `add` ([`discover`]) use the same
//! fetch and reading without the store; [`lock`] keeps two runs off one database.
//!
//! I/O lives in [`run`], [`fetch`], [`follow`], [`discover`] and [`lock`]; the other
//! modules are pure.

pub mod date;
pub mod decode;
pub mod discover;
pub mod egress;
pub mod feed;
pub mod fetch;
pub mod follow;
pub mod freshness;
pub mod http_status;
pub mod inspect;
pub mod item;
pub mod kind;
pub mod lock;
pub mod normalize;
pub mod report;
pub mod run;
pub mod schedule;
pub mod scrape;
pub mod state;
