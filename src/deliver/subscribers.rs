//! Reads subscriber lists (CSV: email, name, language) into validated rows.
//!
//! Spreadsheets export these files in many shapes, so this accepts a header row or none,
//! `,` or `;` separators, a UTF-8 BOM, Windows-1252 text, and language written as `es`,
//! `es-MX`, `Español`, `English`… Every bad row is reported with its line number and
//! the rest are kept; an address repeated in the file (in any spelling with the same
//! [`address_key`], the store's) is kept once. Storing the rows (and refusing suppressed
//! addresses) is the store's job.
//!
//! [`normalize_email`] is the one rule for an address coming in, whether by the import,
//! `subscribers add` or the signup form, and [`clean_name`] the one for a name: what they
//! accept, `send` can mail and a terminal can show.

use std::collections::HashMap;

use crate::lang::Lang;
use crate::publish::mime;
use crate::store::{NewSubscriber, address_key};

/// Longest name kept, in characters (a display name, not a biography).
pub const MAX_NAME_CHARS: usize = 100;

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowProblem {
    /// 1-based line in the file (0 when the CSV reader could not tell).
    pub line: u64,
    /// Why the row was left out, naming the address when there is one.
    pub message: String,
}

/// A validated row and the line it came from.
#[derive(Debug, Clone)]
pub struct ParsedRow {
    /// 1-based line in the file.
    pub line: u64,
    /// The row, checked and ready for the store.
    pub subscriber: NewSubscriber,
}

/// The rows of one file.
#[derive(Debug, Default)]
pub struct ParsedList {
    /// Good rows in file order, each address once.
    pub rows: Vec<ParsedRow>,
    /// Bad rows (invalid address, unknown language, missing email).
    pub problems: Vec<RowProblem>,
    /// Addresses seen earlier in the same file.
    pub duplicates: Vec<RowProblem>,
}

/// Checks an address: `local@domain.tld`, no display name, no spaces, composed (NFC), so
/// `mari\u{301}a@` and `maría@` are one spelling. Returns it with the domain lower-cased
/// (the local part is the receiving server's business).
///
/// Accepted is what a message can be addressed to: a dot-atom local part (no quoted
/// string such as `"a b"@` or `"x@y"@`), a domain name with a dot (no `[127.0.0.1]`
/// literal), and an address that [`mime::mailbox`], the message builder's parser, reads
/// back unchanged.
pub fn normalize_email(raw: &str) -> Result<String, String> {
    let t = raw.trim().trim_start_matches("mailto:");
    if t.is_empty() {
        return Err("no email address".into());
    }
    let t: String = icu_normalizer::ComposingNormalizerBorrowed::new_nfc()
        .normalize(t)
        .into_owned();
    let Some((local, domain)) = t.rsplit_once('@') else {
        return Err(format!("`{t}` is not an email address (no @)"));
    };
    let domain = domain.to_ascii_lowercase();
    let email = format!("{local}@{domain}");
    let mailable = mime::mailbox(&email).is_ok_and(|m| m.email.to_string() == email);
    if !mailable
        || local.contains(['"', '\\', '(', ')', ',', ';', ':', '<', '>', '[', ']'])
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
        || !domain.contains('.')
        || domain.starts_with(['.', '['])
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return Err(format!("`{t}` is not a valid email address"));
    }
    Ok(email)
}

/// A name as it is stored: control characters and line breaks become spaces, the
/// invisible marks that reorder or hide text (bidi overrides and isolates) are dropped,
/// spaces are folded, and at most [`MAX_NAME_CHARS`] characters are kept. A name reaches
/// terminals (`subscribers list`), headers and pages; none of them should be steered by it.
pub fn clean_name(raw: &str) -> String {
    let spaced: String = raw
        .chars()
        .filter(|&c| !crate::lang::is_direction_mark(c))
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect();
    spaced
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_NAME_CHARS)
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// Reads a language as people write it in a spreadsheet.
pub fn parse_language(raw: &str) -> Option<Lang> {
    let t = raw.trim().to_lowercase();
    let base = t.split(['-', '_']).next().unwrap_or("");
    match base {
        "es" | "spa" | "español" | "espanol" | "spanish" | "castellano" => Some(Lang::Es),
        "en" | "eng" | "inglés" | "ingles" | "english" => Some(Lang::En),
        _ => None,
    }
}

/// Parses a CSV subscriber list. `default_lang` is used when a row gives no language.
pub fn parse_csv(bytes: &[u8], default_lang: Lang) -> ParsedList {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_string(),
        // Spreadsheets on Windows still export Windows-1252.
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    };
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.contains(';') && !first.contains(',') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());

    let mut out = ParsedList::default();
    let mut columns = (0usize, Some(1usize), Some(2usize));
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                out.problems.push(RowProblem {
                    line,
                    message: format!("unreadable CSV: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(i as u64 + 1, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        if i == 0 {
            let names: Vec<String> = record.iter().map(str::to_lowercase).collect();
            let find = |keys: &[&str]| names.iter().position(|n| keys.contains(&n.as_str()));
            if let Some(email) = find(&["email", "e-mail", "correo", "mail", "correo electrónico"])
            {
                columns = (
                    email,
                    find(&["name", "nombre"]),
                    find(&["language", "lang", "idioma", "lengua"]),
                );
                continue;
            }
        }
        let field = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("").trim();
        let email = match normalize_email(field(Some(columns.0))) {
            Ok(e) => e,
            Err(message) => {
                out.problems.push(RowProblem { line, message });
                continue;
            }
        };
        let lang_raw = field(columns.2);
        let language = if lang_raw.is_empty() {
            default_lang
        } else if let Some(l) = parse_language(lang_raw) {
            l
        } else {
            out.problems.push(RowProblem {
                line,
                message: format!("{email}: unknown language `{lang_raw}` (use es or en)"),
            });
            continue;
        };
        let key = address_key(&email);
        if let Some(first) = seen.get(&key) {
            out.duplicates.push(RowProblem {
                line,
                message: format!("{email} is already on line {first}"),
            });
            continue;
        }
        seen.insert(key, line);
        out.rows.push(ParsedRow {
            line,
            subscriber: NewSubscriber {
                email,
                name: clean_name(field(columns.1)),
                language,
            },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_bom_quotes_and_bad_rows_with_line_numbers() {
        let csv = "\u{feff}email,name,language\n\
                   ana.lopez@Ejemplo.ORG,\"López, Ana\",es\n\
                   not-an-address,Juan,es\n\
                   john@example.org,John Smith,English\n\
                   maria@example.org,María,fr\n\
                   ANA.LOPEZ@ejemplo.org,Ana otra vez,es\n\
                   \n\
                   pedro@example.org,Pedro Méndez,\n";
        let list = parse_csv(csv.as_bytes(), Lang::Es);
        let emails: Vec<&str> = list
            .rows
            .iter()
            .map(|r| r.subscriber.email.as_str())
            .collect();
        assert_eq!(
            emails,
            [
                "ana.lopez@ejemplo.org",
                "john@example.org",
                "pedro@example.org"
            ]
        );
        assert_eq!(list.rows[0].subscriber.name, "López, Ana");
        assert_eq!(list.rows[1].subscriber.language, Lang::En);
        assert_eq!(list.rows[2].subscriber.language, Lang::Es);
        let lines: Vec<u64> = list.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 5], "{:?}", list.problems);
        assert_eq!(list.duplicates.len(), 1);
        assert_eq!(list.duplicates[0].line, 6);
    }

    #[test]
    fn headerless_semicolons_and_windows_1252() {
        // "José" in Windows-1252.
        let bytes = b"jose@example.org;Jos\xe9;es-MX\n";
        let list = parse_csv(bytes, Lang::En);
        assert_eq!(list.rows.len(), 1, "{:?}", list.problems);
        assert_eq!(list.rows[0].subscriber.name, "José");
        assert_eq!(list.rows[0].subscriber.language, Lang::Es);
    }

    #[test]
    fn addresses_are_validated() {
        for bad in [
            "",
            "ana",
            "ana@",
            "@x.org",
            "ana@localhost",
            "ana @x.org",
            "a@x..org",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
        assert_eq!(
            normalize_email(" Ana@Example.Org ").as_deref(),
            Ok("Ana@example.org")
        );
    }

    #[test]
    fn only_addresses_a_message_can_carry_and_composed() {
        for bad in [
            "a@[127.0.0.1]",
            "\"a b\"@ejemplo.org",
            "\"evil@attacker.org\"@ejemplo.org",
            "a.@ejemplo.org",
            ".a@ejemplo.org",
            "a(b)@ejemplo.org",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
        for good in [
            "maría.núñez@ejemplo.org",
            "o'neil+boletin@example.org",
            "josé@correos.méxico.mx",
        ] {
            assert_eq!(normalize_email(good).as_deref(), Ok(good));
            let to = mime::recipient(good, "").map(|m| m.email.to_string()).ok();
            assert_eq!(to.as_deref(), Some(good));
        }
        assert_eq!(
            normalize_email("mari\u{301}a@Ejemplo.org").as_deref(),
            Ok("maría@ejemplo.org")
        );
    }

    #[test]
    fn names_lose_controls_and_reordering_marks() {
        assert_eq!(clean_name("  Ana\r\nNúñez\u{1b}[2J "), "Ana Núñez [2J");
        assert_eq!(clean_name("Acción\u{202e}txt.exe\u{2066}"), "Accióntxt.exe");
        assert_eq!(clean_name("Tab\tbed\u{2028}línea"), "Tab bed línea");
        assert_eq!(clean_name(&"ñ".repeat(150)).chars().count(), MAX_NAME_CHARS);
        assert_eq!(clean_name("María José Pérez"), "María José Pérez");
    }
}
