//! Pure HTML work: the one sanitizer policy, and what is derived from sanitized HTML.

pub mod email;
pub mod sanitize;
