//! Pure HTML work: parsing with bounded nesting and walking without recursion ([`dom`]),
//! the one sanitizer policy ([`sanitize`]), URL cleaning ([`url`]), HTML→text ([`text`]),
//! excerpts ([`excerpt`]), escaping ([`escape`]) and the image fixes email needs
//! ([`email`]).

pub mod dom;
pub mod email;
pub mod escape;
pub mod excerpt;
pub mod sanitize;
pub mod text;
pub mod url;
