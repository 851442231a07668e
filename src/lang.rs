//! The languages a newsletter is written in.
//!
//! A shared vocabulary rather than a stage: the config names the newsletter's languages,
//! the store records each subscriber's, the edition file picks some, publish words dates
//! and labels in them and deliver sends each reader the version in theirs. Living outside
//! every stage, it lets each of them name a language without depending on another.

/// Whether `c` sets the direction of the text around it: the Arabic letter mark, the
/// left-to-right and right-to-left marks, embeddings, overrides and isolates. Shown in a
/// title, a name or a terminal line they can make it display something other than what
/// it holds, so every place that prints or stores one-line text from outside decides on
/// them; right-to-left text needs at most the marks and isolates.
pub fn is_direction_mark(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// A newsletter language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Spanish (`es`).
    Es,
    /// English (`en`).
    En,
}

impl Lang {
    /// The ISO 639-1 code used in config, edition files, the store and `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Es => "es",
            Lang::En => "en",
        }
    }

    /// The language with this code (`es`, `en`), if it is one.
    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "es" => Some(Lang::Es),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}
