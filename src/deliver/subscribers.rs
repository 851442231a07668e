//! Reads subscriber lists (CSV: email, name, language) into validated rows.
//!
//! Spreadsheets export these files in many shapes, so this accepts a header row or none,
//! `,` or `;` separators, a UTF-8 BOM, Windows-1252 text, and language written as `es`,
//! `es-MX`, `Español`, `English`… Every bad row is reported with its line number and
//! the rest are kept; an address repeated in the file (in any spelling with the same
//! [`address_key`], the store's) is kept once. Storing the rows (and refusing suppressed
//! addresses) is the store's job.

use std::collections::HashMap;
use std::str::FromStr;

use crate::lang::Lang;
use crate::store::{NewSubscriber, address_key};

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

/// Checks an address: `local@domain.tld`, no display name, no spaces. Returns it with the
/// domain lower-cased (the local part is the receiving server's business).
pub fn normalize_email(raw: &str) -> Result<String, String> {
    let t = raw.trim().trim_start_matches("mailto:");
    if t.is_empty() {
        return Err("no email address".into());
    }
    let Some((local, domain)) = t.rsplit_once('@') else {
        return Err(format!("`{t}` is not an email address (no @)"));
    };
    let domain = domain.to_ascii_lowercase();
    let email = format!("{local}@{domain}");
    if lettre::Address::from_str(&email).is_err()
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return Err(format!("`{t}` is not a valid email address"));
    }
    Ok(email)
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
                name: field(columns.1).to_string(),
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
}
