//! `feeds.toml` exactly as written: serde structs that mirror the file, table for table.
//!
//! Unknown keys are rejected (`deny_unknown_fields`) and every value a check may refuse
//! keeps its span, so `check` can name the line. Nothing here judges a value beyond its
//! TOML type; `check` turns these into the validated types of the parent module.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

use super::DkimAlgorithm;
use crate::lang::Lang;

/// `language = "es"` or `language = ["es", "en"]`, in the config and in edition files.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum LangSpec {
    One(Lang),
    Many(Vec<Lang>),
}

/// A text for every language, `footer = "…"`, or one per language, `footer = { es = "…",
/// en = "…" }`, in the config and in edition files. Read by hand rather than as an untagged
/// enum, so a wrong shape says which shapes are right and an unknown language is named.
#[derive(Debug)]
pub(crate) enum LocalizedSpec {
    One(String),
    ByLang(Vec<(Lang, String)>),
}

impl<'de> Deserialize<'de> for LocalizedSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LocalizedVisitor)
    }
}

struct LocalizedVisitor;

impl<'de> Visitor<'de> for LocalizedVisitor {
    type Value = LocalizedSpec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, or one per language: { es = \"…\", en = \"…\" }")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<LocalizedSpec, E> {
        Ok(LocalizedSpec::One(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<LocalizedSpec, E> {
        Ok(LocalizedSpec::One(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LocalizedSpec, A::Error> {
        let mut texts: Vec<(Lang, String)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let Some(lang) = Lang::from_code(&key) else {
                return Err(de::Error::custom(format!(
                    "unknown language `{key}`: write the text as {{ es = \"…\", en = \"…\" }}"
                )));
            };
            // TOML itself refuses a key given twice.
            texts.push((lang, map.next_value::<LangText>()?.0));
        }
        Ok(LocalizedSpec::ByLang(texts))
    }
}

/// One language's text; a table there (`{ es.x = "…" }`) gets the shape hint.
struct LangText(String);

impl<'de> Deserialize<'de> for LangText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LangTextVisitor)
    }
}

struct LangTextVisitor;

impl<'de> Visitor<'de> for LangTextVisitor {
    type Value = LangText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<LangText, E> {
        Ok(LangText(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<LangText, E> {
        Ok(LangText(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<LangText, A::Error> {
        Err(de::Error::custom(
            "invalid type: a table inside a language, expected a string: write the text as { es = \"…\", en = \"…\" }",
        ))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigSpec {
    pub(super) newsletter: NewsletterSpec,
    #[serde(default)]
    pub(super) settings: SettingsSpec,
    #[serde(default)]
    pub(super) delivery: DeliverySpec,
    #[serde(default, rename = "section")]
    pub(super) sections: Vec<SectionSpec>,
    #[serde(default, rename = "source")]
    pub(super) sources: Vec<SourceSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewsletterSpec {
    pub(super) title: String,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) language: Option<Spanned<LangSpec>>,
    pub(super) from: Spanned<String>,
    pub(super) archive_url: Option<Spanned<String>>,
    pub(super) templates: Option<String>,
    /// Region and topic tags file (default: the built-in gazetteer).
    pub(super) gazetteer: Option<String>,
    /// Words in item excerpts (default 60).
    pub(super) excerpt_words: Option<Spanned<usize>>,
    /// Markdown ending every email: the organization's postal address and contact.
    pub(super) footer: Option<Spanned<LocalizedSpec>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SettingsSpec {
    pub(super) user_agent: Option<Spanned<String>>,
    pub(super) timeout_secs: Option<Spanned<u64>>,
    pub(super) connect_timeout_secs: Option<Spanned<u64>>,
    pub(super) stall_timeout_secs: Option<Spanned<u64>>,
    pub(super) concurrency: Option<Spanned<usize>>,
    pub(super) per_host: Option<Spanned<usize>>,
    pub(super) max_body_mib: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SectionSpec {
    pub(super) id: Spanned<String>,
    pub(super) title: Spanned<LocalizedSpec>,
    /// Spanish and English titles, beside a `title` written as one string.
    pub(super) title_es: Option<String>,
    pub(super) title_en: Option<String>,
    /// Section rules: items from these sources, with these tags, or whose title or
    /// excerpt contains one of these keywords go here (first matching section wins).
    #[serde(default)]
    pub(super) sources: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) tags: Vec<String>,
    #[serde(default)]
    pub(super) keywords: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SourceSpec {
    pub(super) id: Spanned<String>,
    pub(super) name: String,
    pub(super) url: Spanned<String>,
    #[serde(default)]
    pub(super) kind: SourceKindSpec,
    pub(super) section: Spanned<String>,
    #[serde(default)]
    pub(super) tags: Vec<String>,
    pub(super) site: Option<Spanned<String>>,
    pub(super) language: Option<Lang>,
    pub(super) timezone: Option<Spanned<String>>,
    /// How numeric dates such as `03/06/2024` read: "day-first" (default) or "month-first".
    pub(super) day_order: Option<Spanned<String>>,
    pub(super) scrape: Option<Spanned<ScrapeSpec>>,
}

#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum SourceKindSpec {
    #[default]
    Feed,
    Page,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScrapeSpec {
    pub(super) item: Spanned<String>,
    pub(super) title: Spanned<ExtractSpec>,
    pub(super) link: Spanned<ExtractSpec>,
    pub(super) date: Option<Spanned<ExtractSpec>>,
    pub(super) summary: Option<Spanned<ExtractSpec>>,
    pub(super) author: Option<Spanned<ExtractSpec>>,
    pub(super) image: Option<Spanned<ExtractSpec>>,
    pub(super) content: Option<Spanned<ExtractSpec>>,
    #[serde(default)]
    pub(super) follow: bool,
}

/// `title = "h2 a"`, or `date = { selector = "time", attr = "datetime", … }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum ExtractSpec {
    Css(String),
    Rule(ExtractRuleSpec),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExtractRuleSpec {
    pub(super) selector: String,
    pub(super) attr: Option<String>,
    pub(super) format: Option<String>,
    pub(super) order: Option<String>,
}

/// The `[delivery]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeliverySpec {
    pub(super) smtp_url: Option<Spanned<String>>,
    pub(super) smtp_ca_file: Option<String>,
    pub(super) list_id: Option<Spanned<String>>,
    pub(super) unsubscribe_url: Option<Spanned<String>>,
    pub(super) unsubscribe_mailto: Option<Spanned<String>>,
    pub(super) secret: Option<Spanned<String>>,
    pub(super) rate: Option<Spanned<String>>,
    pub(super) connections: Option<Spanned<usize>>,
    pub(super) retry_base_secs: Option<Spanned<u64>>,
    pub(super) max_attempts: Option<Spanned<u32>>,
    pub(super) max_wait_secs: Option<Spanned<u64>>,
    pub(super) archive_dir: Option<String>,
    pub(super) dkim: Option<DkimSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DkimSpec {
    pub(super) selector: Spanned<String>,
    pub(super) domain: Option<Spanned<String>>,
    pub(super) key_file: String,
    #[serde(default)]
    pub(super) algorithm: DkimAlgorithm,
}
