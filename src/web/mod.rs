//! The HTTP side: `serve` (unsubscribe, the signup form in `subscribe`, and the archive)
//! and `preview` (an edition as the editor edits it), both on one hardened stack, `http`.

pub mod http;
pub mod preview;
pub mod serve;
pub mod subscribe;
