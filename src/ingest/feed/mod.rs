//! Feed documents: [`repair`] fixes what a strict XML parser rejects, [`parse`] reads
//! RSS, Atom and JSON Feed with feed-rs, [`feedxml`] fills what feed-rs skips.

pub mod feedxml;
pub mod parse;
pub mod repair;
