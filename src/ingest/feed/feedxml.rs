//! A small, forgiving element tree of a (repaired) feed document.
//!
//! feed-rs reads the common elements of RSS and Atom; feeds in the wild also carry Dublin
//! Core (`dc:creator`, `dc:date`, `dc:subject`), `content:encoded`, `xhtml:body`, RSS 1.0
//! `rdf:about`, `managingEditor` and other elements it skips. `parse` fills those gaps from
//! this tree. Names are namespace-resolved to short, fixed prefixes (`dc:`, `dcterms:`,
//! `content:`, `xhtml:`, `rdf:`, `atom:`; RSS elements have none), whatever prefix the
//! document itself chose. Never fails: a broken tail is simply left out.
//!
//! Memory stays linear in the document: an element's markup is kept as a range of the
//! document ([`Node::inner`]), not a copy, text is copied into the few innermost elements
//! only and never into the document's containers, and elements nested deeper than
//! [`crate::ingest::feed::repair::MAX_DEPTH`] are read as text of their ancestor (so the tree
//! is never deep enough for its recursive drop to matter).

use std::collections::HashMap;
use std::ops::Range;

use crate::ingest::feed::repair::MAX_DEPTH;

/// One element.
#[derive(Debug, Clone, Default)]
pub struct Node {
    /// `prefix:local` with a canonical prefix, or the local name for RSS and unknown-free names.
    pub name: String,
    /// Attributes by their written name (`rdf:about`, `isPermaLink`).
    pub attrs: Vec<(String, String)>,
    /// Child elements, in document order.
    pub children: Vec<Node>,
    /// The element's text content (descendants up to four levels down), entities decoded;
    /// empty for the containers (`rss`, `channel`, `item`, `feed`, `entry`, `rdf:RDF`).
    pub text: String,
    /// Where the element's content as written (markup included) lies in the document.
    pub inner: Range<usize>,
}

impl Node {
    /// The element's content as written in `doc` (the text it was parsed from), for XHTML
    /// bodies.
    pub fn inner<'d>(&self, doc: &'d str) -> &'d str {
        doc.get(self.inner.clone()).unwrap_or_default()
    }

    /// The attribute written `name`, or with a prefix before it (`rdf:about` for `about`).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name || k.rsplit(':').next() == Some(name))
            .map(|(_, v)| v.as_str())
    }

    /// Direct children named `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The first direct child named `name`.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Trimmed, non-empty text of the first child named `name`.
    pub fn text_of(&self, name: &str) -> Option<String> {
        self.children
            .iter()
            .filter(|c| c.name == name)
            .map(|c| c.text.trim().to_string())
            .find(|t| !t.is_empty())
    }
}

fn canonical_prefix(uri: &str) -> Option<&'static str> {
    Some(match uri.trim_end_matches(['/', '#']) {
        "http://purl.org/dc/elements/1.1" => "dc",
        "http://purl.org/dc/terms" => "dcterms",
        "http://purl.org/rss/1.0/modules/content" => "content",
        "http://www.w3.org/1999/xhtml" => "xhtml",
        "http://www.w3.org/1999/02/22-rdf-syntax-ns" => "rdf",
        "http://www.w3.org/2005/Atom" | "http://purl.org/atom/ns" => "atom",
        "http://www.itunes.com/dtds/podcast-1.0.dtd" => "itunes",
        "http://search.yahoo.com/mrss" => "media",
        "http://purl.org/rss/1.0"
        | "http://my.netscape.com/rdf/simple/0.9"
        | "http://backend.userland.com/rss2"
        | "http://blogs.law.harvard.edu/tech/rss" => "",
        _ => return None,
    })
}

struct Open {
    node: Node,
    /// The name as written (`dc:creator`), to match the end tag.
    qname: String,
    /// Prefixes this element declared (popped when it closes).
    declared: Vec<String>,
    inner_start: usize,
    /// Whether text inside is copied into this element's `text`.
    collects: bool,
}

/// Elements whose text is never read: copying the whole document into each would cost
/// several times its size.
fn is_container(name: &str) -> bool {
    matches!(
        name,
        "rss" | "channel" | "item" | "feed" | "entry" | "atom:feed" | "atom:entry" | "rdf:RDF"
    )
}

/// Builds the tree of `text`; `None` when there is no element at all.
pub fn parse(text: &str) -> Option<Node> {
    let mut ns: HashMap<String, Vec<String>> = HashMap::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Node> = None;
    // Start tags past `MAX_DEPTH` still open, read as text of the deepest element kept.
    let mut skipped = 0usize;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        let rest = &text[i..];
        if let Some(cdata) = rest.strip_prefix("<![CDATA[") {
            let end = cdata.find("]]>").unwrap_or(cdata.len());
            push_text(&mut stack, &cdata[..end]);
            i += (9 + end + 3).min(rest.len());
            continue;
        }
        if let Some(comment) = rest.strip_prefix("<!--") {
            i += comment.find("-->").map_or(rest.len(), |e| e + 7);
            continue;
        }
        if rest.starts_with("<?") {
            i += rest.find("?>").map_or(rest.len(), |e| e + 2);
            continue;
        }
        if rest.starts_with("<!") {
            let close = match (rest.find('['), rest.find('>')) {
                (Some(b), Some(g)) if b < g => rest[b..].find("]>").map(|e| b + e + 2),
                (_, Some(g)) => Some(g + 1),
                _ => None,
            };
            i += close.unwrap_or(rest.len());
            continue;
        }
        if rest.starts_with("</") {
            let end = rest.find('>').map_or(rest.len(), |e| e + 1);
            if skipped > 0 {
                skipped -= 1;
                i += end;
                continue;
            }
            let written = rest[2..end].trim_end_matches('>').trim();
            // Close up to the matching open element (tolerates unclosed children).
            if let Some(pos) = stack.iter().rposition(|o| o.qname == written) {
                while stack.len() > pos {
                    close(&mut stack, &mut ns, &mut root, i);
                }
            }
            i += end;
            continue;
        }
        if rest.starts_with('<') && rest[1..].starts_with(|c: char| c.is_alphabetic() || c == '_') {
            let end = crate::ingest::feed::repair::tag_end(rest);
            let tag = rest[1..end].strip_suffix('>').unwrap_or(&rest[1..end]);
            let self_closing = tag.ends_with('/');
            if stack.len() >= MAX_DEPTH {
                skipped += usize::from(!self_closing);
                i += end;
                continue;
            }
            let tag = tag.trim_end_matches('/');
            let (qname, attrs) = split_tag(tag);
            let mut declared = Vec::new();
            for (k, v) in &attrs {
                if k == "xmlns" {
                    declared.push(String::new());
                    ns.entry(String::new()).or_default().push(v.clone());
                } else if let Some(p) = k.strip_prefix("xmlns:") {
                    declared.push(p.to_string());
                    ns.entry(p.to_string()).or_default().push(v.clone());
                }
            }
            let (prefix, local) = match qname.split_once(':') {
                Some((p, l)) => (p, l),
                None => ("", qname),
            };
            let uri = ns.get(prefix).and_then(|v| v.last());
            let name = match uri.map(|u| canonical_prefix(u)) {
                Some(Some("")) | None if prefix.is_empty() => local.to_string(),
                Some(Some("")) => local.to_string(),
                Some(Some(p)) => format!("{p}:{local}"),
                // Unknown namespace or undeclared prefix: keep what was written.
                _ => qname.to_string(),
            };
            let collects = !is_container(&name);
            let open = Open {
                node: Node {
                    name,
                    attrs: attrs
                        .into_iter()
                        .map(|(k, v)| (k, decode_entities(&v)))
                        .collect(),
                    ..Node::default()
                },
                qname: qname.to_string(),
                declared,
                inner_start: i + end,
                collects,
            };
            stack.push(open);
            i += end;
            if self_closing {
                close(&mut stack, &mut ns, &mut root, i);
            }
            continue;
        }
        let first = rest.chars().next().map_or(1, char::len_utf8);
        let next = rest[first..].find('<').map_or(rest.len(), |e| e + first);
        push_text(&mut stack, &decode_entities(&rest[..next]));
        i += next;
    }
    while !stack.is_empty() {
        close(&mut stack, &mut ns, &mut root, text.len());
    }
    root
}

/// Text goes to the innermost few open elements only: enough for a title holding inline
/// XHTML, without copying a 15 MiB document into every ancestor.
fn push_text(stack: &mut [Open], text: &str) {
    for open in stack.iter_mut().rev().take(4).filter(|o| o.collects) {
        open.node.text.push_str(text);
    }
}

fn close(
    stack: &mut Vec<Open>,
    ns: &mut HashMap<String, Vec<String>>,
    root: &mut Option<Node>,
    at: usize,
) {
    let Some(mut open) = stack.pop() else { return };
    for prefix in &open.declared {
        if let Some(v) = ns.get_mut(prefix) {
            v.pop();
        }
    }
    open.node.inner = open.inner_start..at.max(open.inner_start);
    match stack.last_mut() {
        Some(parent) => parent.node.children.push(open.node),
        None => {
            if root.is_none() {
                *root = Some(open.node);
            }
        }
    }
}

fn split_tag(tag: &str) -> (&str, Vec<(String, String)>) {
    let name_end = tag.find(char::is_whitespace).unwrap_or(tag.len());
    let name = &tag[..name_end];
    let mut attrs = Vec::new();
    let mut rest = tag[name_end..].trim_start();
    while !rest.is_empty() {
        let eq = match rest.find('=') {
            Some(e) => e,
            None => break,
        };
        let key = rest[..eq].trim().to_string();
        let after = rest[eq + 1..].trim_start();
        let Some(q) = after.chars().next() else { break };
        let (value, used) = if q == '"' || q == '\'' {
            let close = after[1..].find(q).map_or(after.len(), |c| c + 1);
            (after[1..close].to_string(), (close + 1).min(after.len()))
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (after[..end].to_string(), end)
        };
        attrs.push((key, value));
        rest = after[used..].trim_start();
    }
    (name, attrs)
}

/// Decodes the five XML entities and numeric references (the repair made the rest numeric).
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = crate::ingest::feed::repair::semicolon_within(rest, 12);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(h) => u32::from_str_radix(h, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((c, e + 1))
        });
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: text starting with a multi-byte character (EUC-KR and Big5 files of the
    /// feedparser suite, decoded) used to slice inside a character and panic.
    #[test]
    fn text_starting_with_multibyte_characters() {
        let root = parse("<rss><title>\u{b144}\u{b144}</title>ñ<x/>é").unwrap_or_default();
        assert_eq!(root.text_of("title").as_deref(), Some("\u{b144}\u{b144}"));
        assert!(parse("ñ").is_none());
        let cut = parse("<a><b>é</b").unwrap_or_default();
        assert_eq!(cut.text_of("b").as_deref(), Some("é"));
    }

    #[test]
    fn deep_documents_stay_shallow_and_linear() {
        let n = 100_000;
        let doc = format!(
            "<rss><channel><item><title>Hondo</title><description>{}texto{}</description></item></channel></rss>",
            "<a>".repeat(n),
            "</a>".repeat(n)
        );
        let root = parse(&doc).unwrap_or_default();
        let item = root.child("channel").and_then(|c| c.child("item"));
        assert_eq!(
            item.and_then(|i| i.text_of("title")).as_deref(),
            Some("Hondo")
        );
        let description = item.and_then(|i| i.child("description"));
        // The markup as written is a range of the document, not a copy per element.
        assert_eq!(
            description.map(|d| d.inner(&doc).len()),
            Some(3 * n + 5 + 4 * n)
        );
        let mut depth = 0;
        let mut node = description;
        while let Some(n) = node.and_then(|n| n.children.first()) {
            depth += 1;
            node = Some(n);
        }
        assert!(depth < MAX_DEPTH, "{depth}");
        // The text is kept, in the deepest elements read.
        assert_eq!(node.map(|n| n.text.as_str()), Some("texto"));
        // Containers keep no copy of the text inside them.
        assert!(root.text.is_empty() && item.is_some_and(|i| i.text.is_empty()));
    }

    #[test]
    fn namespaces_resolve_to_fixed_prefixes() {
        let doc = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:foo="http://purl.org/dc/elements/1.1/">
            <item rdf:about="http://example.org/1"><title>T &amp; U</title><foo:creator>Ana</foo:creator></item></rdf:RDF>"#;
        let root = parse(doc).unwrap_or_default();
        assert_eq!(root.name, "rdf:RDF");
        let item = root.child("item");
        assert_eq!(
            item.and_then(|i| i.attr("rdf:about")),
            Some("http://example.org/1")
        );
        assert_eq!(
            item.and_then(|i| i.text_of("title")).as_deref(),
            Some("T & U")
        );
        assert_eq!(
            item.and_then(|i| i.text_of("dc:creator")).as_deref(),
            Some("Ana")
        );
    }
}
