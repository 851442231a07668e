//! The HTTP side: `serve` (unsubscribe and the archive).

pub mod serve;
