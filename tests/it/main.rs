//! All integration tests, in one binary. Each module drives the real `boletin` binary
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly at the first surprise"
)]
//! the way a user or cron would.

mod common;
mod demo;
mod parsing;
mod parsing_server;
mod robustness;
