//! OPML 2.0 in and out of `feeds.toml`, the format every feed reader exchanges.
//!
//! Export groups sources under one outline per section. Each source outline carries the
//! standard attributes (`text`, `type`, `xmlUrl`, `htmlUrl`, `category`) for other readers,
//! plus `boletin:source`, the whole `[[source]]` table as inline TOML, so that a round trip
//! through boletin keeps every source exactly (page rules, time zone, tags included).
//! Import appends the outlines' sources (and any missing sections) to the config text with
//! `toml_edit`, leaving the existing text, comments and formatting untouched. Pure: text in,
//! text out; the CLI reads and writes the files.

use std::collections::HashSet;

use toml_edit::{DocumentMut, InlineTable, Item, Table, Value};

use crate::ingest::feed::feedxml::{self, Node};

/// The namespace of boletin's own outline attributes.
pub const NAMESPACE: &str = "https://github.com/boletin/boletin/opml";

/// Why OPML could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum OpmlError {
    /// The config text does not parse as TOML; the parser's message.
    #[error("feeds.toml is not valid TOML: {0}")]
    Config(String),
    /// The document lacks an `<opml>` root with a `<body>`.
    #[error("not an OPML document (no <opml><body>)")]
    NotOpml,
    /// An outline's `boletin:source` attribute is not an inline TOML table: the outline's
    /// text, then the TOML parser's message.
    #[error("outline `{0}`: `boletin:source` is not a valid source table: {1}")]
    BadSource(String, String),
}

/// What an import added and skipped.
#[derive(Debug, Default, serde::Serialize)]
pub struct ImportReport {
    /// Ids of the appended sources in outline order (`-2`, `-3`… added to taken ones).
    pub added: Vec<String>,
    /// Ids of the sections created because an imported source named one the config lacked.
    pub sections_added: Vec<String>,
    /// URLs already in the config.
    pub skipped: Vec<String>,
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\n', "&#10;")
}

fn str_of<'a>(t: &'a Table, key: &str) -> Option<&'a str> {
    t.get(key).and_then(Item::as_str)
}

/// Renders every source of `config_text` as OPML 2.0.
pub fn export(config_text: &str) -> Result<String, OpmlError> {
    let doc: DocumentMut = config_text
        .parse()
        .map_err(|e: toml_edit::TomlError| OpmlError::Config(e.message().to_string()))?;
    let title = doc
        .get("newsletter")
        .and_then(Item::as_table)
        .and_then(|n| str_of(n, "title"))
        .unwrap_or("boletin");
    let sections: Vec<(String, String)> = doc
        .get("section")
        .and_then(Item::as_array_of_tables)
        .map(|a| {
            a.iter()
                .filter_map(|t| {
                    Some((
                        str_of(t, "id")?.to_string(),
                        str_of(t, "title").unwrap_or_default().to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let sources: Vec<&Table> = doc
        .get("source")
        .and_then(Item::as_array_of_tables)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\" xmlns:boletin=\"{NAMESPACE}\">\n  <head>\n    <title>{}</title>\n  </head>\n  <body>\n",
        escape_attr(title)
    );
    let mut written = HashSet::new();
    let mut groups: Vec<(String, String)> = sections.clone();
    // Sources whose section is not declared still get exported.
    for s in &sources {
        if let Some(sec) = str_of(s, "section")
            && !groups.iter().any(|(id, _)| id == sec)
        {
            groups.push((sec.to_string(), sec.to_string()));
        }
    }
    for (id, section_title) in &groups {
        out.push_str(&format!(
            "    <outline text=\"{}\" title=\"{}\" boletin:section=\"{}\">\n",
            escape_attr(section_title),
            escape_attr(section_title),
            escape_attr(id)
        ));
        for (i, s) in sources.iter().enumerate() {
            if str_of(s, "section") != Some(id.as_str()) || !written.insert(i) {
                continue;
            }
            out.push_str("      ");
            out.push_str(&source_outline(s));
            out.push('\n');
        }
        out.push_str("    </outline>\n");
    }
    out.push_str("  </body>\n</opml>\n");
    Ok(out)
}

fn source_outline(s: &Table) -> String {
    let name = str_of(s, "name").unwrap_or_default();
    let url = str_of(s, "url").unwrap_or_default();
    let page = str_of(s, "kind") == Some("page");
    let mut attrs = vec![
        ("text", name.to_string()),
        ("title", name.to_string()),
        ("type", if page { "link" } else { "rss" }.to_string()),
    ];
    attrs.push((if page { "url" } else { "xmlUrl" }, url.to_string()));
    if let Some(site) = str_of(s, "site") {
        attrs.push(("htmlUrl", site.to_string()));
    }
    let tags: Vec<&str> = s
        .get("tags")
        .and_then(Item::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !tags.is_empty() {
        attrs.push(("category", tags.join(",")));
    }
    let mut whole = s.clone();
    whole.set_implicit(false);
    let inline: InlineTable = whole.into_inline_table();
    attrs.push(("boletin:source", inline.to_string().trim().to_string()));
    let body: Vec<String> = attrs
        .into_iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_attr(&v)))
        .collect();
    format!("<outline {}/>", body.join(" "))
}

/// One source found in an OPML file.
#[derive(Debug, Clone)]
struct Outline {
    /// The complete source table when boletin wrote the file.
    table: Option<Table>,
    name: String,
    url: String,
    site: Option<String>,
    tags: Vec<String>,
    page: bool,
    section: Option<(String, String)>,
}

fn attr_ci<'a>(n: &'a Node, name: &str) -> Option<&'a str> {
    n.attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn collect(
    n: &Node,
    section: Option<(String, String)>,
    out: &mut Vec<Outline>,
) -> Result<(), OpmlError> {
    for child in n.children.iter().filter(|c| c.name == "outline") {
        let text = attr_ci(child, "text")
            .or_else(|| attr_ci(child, "title"))
            .unwrap_or_default()
            .to_string();
        let feed_url = attr_ci(child, "xmlUrl");
        let page_url = (attr_ci(child, "type") == Some("link"))
            .then(|| attr_ci(child, "url"))
            .flatten();
        match feed_url.or(page_url) {
            Some(url) => {
                let table = match attr_ci(child, "boletin:source") {
                    None => None,
                    Some(inline) => {
                        let doc: DocumentMut = format!("s = {inline}").parse().map_err(
                            |e: toml_edit::TomlError| {
                                OpmlError::BadSource(text.clone(), e.message().to_string())
                            },
                        )?;
                        doc.get("s")
                            .and_then(Item::as_inline_table)
                            .map(|t| t.clone().into_table())
                    }
                };
                out.push(Outline {
                    table,
                    name: if text.is_empty() {
                        url.to_string()
                    } else {
                        text
                    },
                    url: url.to_string(),
                    site: attr_ci(child, "htmlUrl").map(str::to_string),
                    tags: attr_ci(child, "category")
                        .map(|c| {
                            c.split(',')
                                .map(|t| t.trim().trim_start_matches('/').to_string())
                                .filter(|t| !t.is_empty())
                                .collect()
                        })
                        .unwrap_or_default(),
                    page: page_url.is_some() && feed_url.is_none(),
                    section: section.clone(),
                });
            }
            None => {
                // A folder: its sources go to the section it names.
                let id = attr_ci(child, "boletin:section")
                    .map(str::to_string)
                    .unwrap_or_else(|| slug(&text));
                let group = if id.is_empty() {
                    section.clone()
                } else {
                    Some((id, text))
                };
                collect(child, group, out)?;
            }
        }
    }
    Ok(())
}

/// `Educa Oaxaca — Noticias` → `educa-oaxaca-noticias`.
pub fn slug(text: &str) -> String {
    let folded: String = text
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'ä' | 'â' => 'a',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' | 'ì' | 'ï' | 'î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' => 'o',
            'ú' | 'ù' | 'ü' | 'û' => 'u',
            'ñ' => 'n',
            c if c.is_ascii_alphanumeric() => c,
            _ => '-',
        })
        .collect();
    folded
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
        .chars()
        .take(40)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

/// `base`, or `base-2`, `base-3`… whichever is not taken yet (and records it).
pub fn unique_id(base: &str, taken: &mut HashSet<String>) -> String {
    let base = if base.is_empty() { "source" } else { base };
    let mut id = base.to_string();
    let mut n = 2;
    while taken.contains(&id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    taken.insert(id.clone());
    id
}

/// Ids and URLs of the sources and ids of the sections already in `doc`.
pub fn existing(doc: &DocumentMut) -> (HashSet<String>, HashSet<String>, Vec<String>) {
    let tables = |key: &str| -> Vec<Table> {
        doc.get(key)
            .and_then(Item::as_array_of_tables)
            .map(|a| a.iter().cloned().collect())
            .unwrap_or_default()
    };
    let sources = tables("source");
    let ids = sources
        .iter()
        .filter_map(|t| str_of(t, "id").map(str::to_string))
        .collect();
    let urls = sources
        .iter()
        .filter_map(|t| str_of(t, "url").map(str::to_string))
        .collect();
    let sections = tables("section")
        .iter()
        .filter_map(|t| str_of(t, "id").map(str::to_string))
        .collect();
    (ids, urls, sections)
}

/// Renders `[[key]]` blocks for `tables`, as toml_edit formats them.
pub fn render_tables(key: &str, tables: Vec<Table>) -> String {
    let mut doc = DocumentMut::new();
    let mut array = toml_edit::ArrayOfTables::new();
    for t in tables {
        array.push(t);
    }
    doc.insert(key, Item::ArrayOfTables(array));
    doc.to_string()
}

/// Appends the sources of `opml` (and sections they need) to `config_text`.
/// `default_section` receives sources that are in no folder.
pub fn import(
    config_text: &str,
    opml: &str,
    default_section: Option<&str>,
) -> Result<(String, ImportReport), OpmlError> {
    let doc: DocumentMut = config_text
        .parse()
        .map_err(|e: toml_edit::TomlError| OpmlError::Config(e.message().to_string()))?;
    let root = feedxml::parse(opml).ok_or(OpmlError::NotOpml)?;
    let body = root
        .child("body")
        .filter(|_| root.name.eq_ignore_ascii_case("opml"))
        .ok_or(OpmlError::NotOpml)?;
    let mut outlines = Vec::new();
    collect(body, None, &mut outlines)?;

    let (mut ids, mut urls, sections) = existing(&doc);
    let mut report = ImportReport::default();
    let mut new_sections: Vec<Table> = Vec::new();
    let mut known_sections: HashSet<String> = sections.iter().cloned().collect();
    let fallback = default_section
        .map(str::to_string)
        .or_else(|| sections.first().cloned())
        .unwrap_or_else(|| "noticias".to_string());
    let mut new_sources = Vec::new();
    for o in outlines {
        if !urls.insert(o.url.clone()) {
            report.skipped.push(o.url);
            continue;
        }
        let table = o.table.clone().unwrap_or_else(|| {
            let mut t = Table::new();
            t.insert("name", toml_edit::value(o.name.clone()));
            t.insert("url", toml_edit::value(o.url.clone()));
            if o.page {
                t.insert("kind", toml_edit::value("page"));
            }
            if let Some(site) = &o.site {
                t.insert("site", toml_edit::value(site.clone()));
            }
            if !o.tags.is_empty() {
                let mut tags = toml_edit::Array::new();
                for tag in &o.tags {
                    tags.push(tag.as_str());
                }
                t.insert("tags", toml_edit::value(tags));
            }
            t
        });
        let section = match (&o.section, str_of(&table, "section")) {
            (_, Some(s)) if default_section.is_none() => (s.to_string(), s.to_string()),
            (Some(s), _) if default_section.is_none() => s.clone(),
            _ => (fallback.clone(), fallback.clone()),
        };
        if known_sections.insert(section.0.clone()) {
            let mut t = Table::new();
            t.insert("id", toml_edit::value(section.0.clone()));
            t.insert(
                "title",
                toml_edit::value(if section.1.is_empty() {
                    section.0.clone()
                } else {
                    section.1.clone()
                }),
            );
            report.sections_added.push(section.0.clone());
            new_sections.push(t);
        }
        let wanted = str_of(&table, "id")
            .map(str::to_string)
            .unwrap_or_else(|| slug(&o.name));
        let id = unique_id(&wanted, &mut ids);
        // Key order: id first, as people write it.
        let mut ordered = Table::new();
        ordered.insert("id", toml_edit::value(id.clone()));
        ordered.insert("name", toml_edit::value(o.name.clone()));
        ordered.insert("url", toml_edit::value(o.url.clone()));
        ordered.insert("section", toml_edit::value(section.0.clone()));
        for (k, v) in table.iter() {
            if !matches!(k, "id" | "name" | "url" | "section") {
                ordered.insert(k, v.clone());
            }
        }
        report.added.push(id);
        new_sources.push(ordered);
    }
    let mut text = config_text.to_string();
    if !new_sections.is_empty() || !new_sources.is_empty() {
        if !text.ends_with('\n') {
            text.push('\n');
        }
        if !new_sections.is_empty() {
            text.push('\n');
            text.push_str(&render_tables("section", new_sections));
        }
        if !new_sources.is_empty() {
            text.push('\n');
            text.push_str(&render_tables("source", new_sources));
        }
    }
    Ok((text, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_fold_accents() {
        assert_eq!(slug("Educa Oaxaca — Noticias"), "educa-oaxaca-noticias");
        assert_eq!(
            slug("Derechos Humanos: Año 2024"),
            "derechos-humanos-ano-2024"
        );
    }

    #[test]
    fn import_from_another_reader_appends_and_keeps_comments() {
        let config = "# Boletín de la red\n[newsletter]\ntitle = \"B\" # título\nfrom = \"b@example.org\"\n\n[[section]]\nid = \"noticias\"\ntitle = \"Noticias\"\n";
        let opml = r#"<?xml version="1.0"?><opml version="1.0"><body>
            <outline text="Derechos humanos"><outline text="Centro Prodh" type="rss" xmlUrl="https://prodh.example.org/feed/" htmlUrl="https://prodh.example.org/" category="/ddhh,/mexico"/></outline>
            <outline text="Tlachinollan" xmlUrl="https://tlachinollan.example.org/rss.xml"/></body></opml>"#;
        let (text, report) = import(config, opml, None).unwrap_or_else(|e| panic!("{e}"));
        assert!(text.starts_with(config), "{text}");
        assert_eq!(report.added, vec!["centro-prodh", "tlachinollan"]);
        assert_eq!(report.sections_added, vec!["derechos-humanos"]);
        let cfg = crate::config::parse(&text, std::path::Path::new("/tmp/feeds.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(cfg.sources[0].section, "derechos-humanos");
        assert_eq!(cfg.sources[0].tags, vec!["ddhh", "mexico"]);
        assert_eq!(cfg.sources[1].section, "noticias");
    }
}
