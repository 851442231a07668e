//! The HTTP side: `serve` (unsubscribe and the archive) and `preview` (an edition as the
//! editor edits it).

pub mod preview;
pub mod serve;
