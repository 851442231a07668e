//! All integration tests, in one binary. Each module drives the real `boletin` binary
//! the way a user or cron would.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod common;
mod dedup;
mod delivery;
mod demo;
mod edition;
mod email;
mod fetch;
mod parsing;
mod robustness;
mod safety;
mod serve;
mod server;
mod tags;
