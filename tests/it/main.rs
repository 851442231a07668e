//! All integration tests, in one binary. Each module drives the real `boletin` binary
//! the way a user or cron would, against files under `fixtures/` and servers on loopback;
//! nothing reaches the internet.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

// Helpers: scratch folders and the binary, and the loopback HTTP server.
mod common;
mod server;

// One module per area.
mod backup;
mod beside_cron;
mod bilingual;
mod dedup;
mod delivery;
mod demo;
mod edition;
mod email;
mod fetch;
mod first_steps;
mod hostile;
mod parsing;
mod redraft;
mod robustness;
mod safety;
mod serve;
mod subscribe;
mod tags;
