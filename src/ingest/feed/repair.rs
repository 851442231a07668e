//! Repairs the everyday breakage of XML feeds before the strict XML parser sees them.
//!
//! Half-broken WordPress and hand-written feeds are common among small organizations, and a
//! strict parser rejects the whole feed for one bad byte. Each repair here is local and
//! keeps a well-formed document byte-for-byte unchanged:
//! - a byte-order mark, whitespace or stray text before the prolog or root element;
//! - control characters XML forbids (and character references to them);
//! - HTML named entities XML does not define (`&nbsp;`, `&rsquo;`, `&aacute;`) become
//!   numeric references, and a bare `&` becomes `&amp;`;
//! - `<rss>` without a `version` attribute (or with an unusual one) is read as RSS 2.0.
//!
//! CDATA sections, comments and the DOCTYPE are copied as they are. JSON Feeds are left
//! alone. Pure: text in, text out.
//!
//! It is also where a hostile document is made harmless for the parsers after it: entities
//! the document declares are expanded within a budget of the document's own length (a
//! megabyte entity used 200 times would otherwise make a 200 MB summary), and elements nested
//! deeper than [`MAX_DEPTH`] lose their tags (their text stays), so no parser holds a deep
//! stack and feed-rs's XML reader never overflows its nesting counter. Entries past
//! [`MAX_ITEMS`] are left out.

/// Element nesting kept. Feeds nest four levels (`rss/channel/item/description`) and inline
/// XHTML adds a few dozen at most.
pub const MAX_DEPTH: usize = 256;

/// Entries read per document (RSS `item`, Atom `entry`, JSON Feed `items`); later ones are
/// left out. Publishing tools serve 10 to 50, a whole archive a few thousand (the XSS
/// corpus the tests run is one feed of 7,191); each parsed entry costs about 2 KB, so 15 MiB
/// of near-empty items (several hundred thousand) would otherwise take most of a gigabyte.
pub const MAX_ITEMS: usize = 20_000;

use std::borrow::Cow;

/// Returns `text` with the repairs above applied (borrowed when nothing needed fixing).
pub fn repair(text: &str) -> Cow<'_, str> {
    let start = match text.find(['<', '{']) {
        Some(i) => i,
        None => return without_forbidden(text),
    };
    let body = &text[start..];
    if body.starts_with('{') {
        // JSON strings may not hold raw control characters either.
        return match without_forbidden(body) {
            Cow::Borrowed(json) => json_items_capped(json, MAX_ITEMS),
            Cow::Owned(json) => Cow::Owned(json_items_capped(&json, MAX_ITEMS).into_owned()),
        };
    }
    let mut atom03 = body.contains("http://purl.org/atom/ns#");
    let mut declared: Vec<(String, String)> = Vec::new();
    let mut out = String::with_capacity(body.len() + 64);
    let mut rest = body;
    let mut root_seen = false;
    // Bytes declared entities may still add.
    let mut budget = body.len();
    // Open elements kept, and open elements dropped past `MAX_DEPTH`.
    let mut depth = 0usize;
    let mut dropped = 0usize;
    let mut entries = 0usize;
    // An entry past `MAX_ITEMS` being read: where its output starts, and the depth it opened at.
    let mut extra_entry: Option<(usize, usize)> = None;
    while !rest.is_empty() {
        // Sections copied verbatim (only forbidden characters removed).
        if let Some(len) = verbatim_len(rest) {
            if rest.starts_with("<!DOCTYPE") || rest.starts_with("<!doctype") {
                declared = internal_entities(&rest[..len]);
            }
            push_allowed(&mut out, &rest[..len]);
            rest = &rest[len..];
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        match c {
            '&' => {
                let used = declared_entity(rest, &declared, &mut budget, &mut out)
                    .unwrap_or_else(|| entity(rest, &mut out));
                rest = &rest[used..];
            }
            '<' if is_tag_start(rest) || rest.starts_with("</") => {
                let end = tag_end(rest);
                let mut entry_closed = false;
                if rest.starts_with("</") {
                    if dropped > 0 {
                        dropped -= 1;
                        rest = &rest[end..];
                        continue;
                    }
                    depth = depth.saturating_sub(1);
                    entry_closed = extra_entry.is_some_and(|(_, d)| d == depth);
                } else if !rest[..end].ends_with("/>") {
                    if depth >= MAX_DEPTH {
                        dropped += 1;
                        rest = &rest[end..];
                        continue;
                    }
                    if is_entry(&rest[..end]) {
                        entries += 1;
                        if entries > MAX_ITEMS && extra_entry.is_none() {
                            extra_entry = Some((out.len(), depth));
                        }
                    }
                    depth += 1;
                }
                if entry_closed && let Some((mark, _)) = extra_entry.take() {
                    out.truncate(mark);
                    rest = &rest[end..];
                    continue;
                }
                let mut tag = Cow::Borrowed(&rest[..end]);
                if !root_seen && !rest.starts_with("</") {
                    root_seen = true;
                    tag = Cow::Owned(fix_rss_version(&tag).into_owned());
                    // A `<feed>` in an old or unknown namespace is read as Atom 0.3.
                    if let Some(fixed) = foreign_feed_root(&tag) {
                        atom03 = true;
                        tag = Cow::Owned(fixed);
                    }
                }
                if atom03 {
                    tag = Cow::Owned(atom03_tag(&tag));
                }
                let tag = fix_text_type(&tag);
                // Attribute values get the same entity repairs as text.
                let mut inner = &tag[..];
                while !inner.is_empty() {
                    match inner.find('&') {
                        Some(i) => {
                            push_allowed(&mut out, &inner[..i]);
                            let used = entity(&inner[i..], &mut out);
                            inner = &inner[i + used..];
                        }
                        None => {
                            push_allowed(&mut out, inner);
                            inner = "";
                        }
                    }
                }
                rest = &rest[end..];
            }
            '<' if !rest[1..].starts_with(['!', '?']) => {
                // A `<` that opens nothing (`a < b`) is text.
                out.push_str("&lt;");
                rest = &rest[1..];
            }
            c if ('\u{80}'..='\u{9f}').contains(&c) => {
                // C1 controls are Windows-1252 bytes decoded as Latin-1: `don\u{92}t`.
                out.extend(char::from_u32(cp1252(c as u32)));
                rest = &rest[c.len_utf8()..];
            }
            _ => {
                // Text up to the next `&`, `<` or C1 control, copied as one run.
                let run = rest
                    .char_indices()
                    .skip(1)
                    .find(|&(_, c)| matches!(c, '&' | '<' | '\u{80}'..='\u{9f}'))
                    .map_or(rest.len(), |(i, _)| i);
                push_allowed(&mut out, &rest[..run]);
                rest = &rest[run..];
            }
        }
    }
    if let Some((mark, _)) = extra_entry {
        out.truncate(mark);
    }
    // A document cut off inside its last end tag (`</feed`) still closes.
    if let (Some(lt), gt) = (out.rfind('<'), out.rfind('>'))
        && gt.is_none_or(|g| g < lt)
        && out[lt..].starts_with("</")
    {
        out.push('>');
    }
    Cow::Owned(out)
}

/// Whether a start tag opens an RSS `item` or Atom `entry` (whatever its prefix).
fn is_entry(tag: &str) -> bool {
    let name_end = tag[1..]
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .map_or(tag.len(), |i| i + 1);
    matches!(tag[1..name_end].rsplit(':').next(), Some("item" | "entry"))
}

/// A JSON Feed with at most `max` entries in its top-level `items` array: cut after the
/// `max`-th and closed (`]}`), dropping whatever followed the array. Read byte by byte,
/// strings and nesting respected, without building the document.
fn json_items_capped(json: &str, max: usize) -> Cow<'_, str> {
    let bytes = json.as_bytes();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    // Where the last top-level key started, and whether we are inside `items`.
    let mut key_start = None;
    let mut in_items = false;
    let mut count = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                if depth == 1 {
                    key_start = Some(i);
                }
            }
            b'{' | b'[' => {
                if depth == 1 && b == b'[' {
                    in_items = key_start.and_then(|k| json.get(k..i)).is_some_and(|key| {
                        key.strip_prefix("\"items\"")
                            .is_some_and(|r| r.trim().trim_end_matches(':').trim().is_empty())
                    });
                }
                depth += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 1 {
                    in_items = false;
                }
            }
            b',' if in_items && depth == 2 => {
                count += 1;
                if count >= max {
                    return Cow::Owned(format!("{}]}}", &json[..i]));
                }
            }
            _ => {}
        }
    }
    Cow::Borrowed(json)
}

/// Atom 0.3 element names and namespace → their Atom 1.0 equivalents, in a start or end tag.
fn atom03_tag(tag: &str) -> String {
    let tag = tag.replace("http://purl.org/atom/ns#", "http://www.w3.org/2005/Atom");
    let (open, name_start) = if tag.starts_with("</") {
        ("</", 2)
    } else {
        ("<", 1)
    };
    let name_end = tag[name_start..]
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .map_or(tag.len(), |i| i + name_start);
    let qname = &tag[name_start..name_end];
    let (prefix, local) = match qname.split_once(':') {
        Some((p, l)) => (format!("{p}:"), l),
        None => (String::new(), qname),
    };
    let renamed = match local {
        "issued" => "published",
        "modified" => "updated",
        "tagline" => "subtitle",
        "copyright" => "rights",
        "url" | "homepage" => "uri",
        _ => return tag,
    };
    format!("{open}{prefix}{renamed}{}", &tag[name_end..])
}

/// Atom text constructs accept only `text`, `html` and `xhtml`; feeds often write MIME
/// types (and Atom 0.3 a `mode`), which feed-rs rejects for the whole feed.
fn fix_text_type(tag: &str) -> Cow<'_, str> {
    if tag.starts_with("</") {
        return Cow::Borrowed(tag);
    }
    let name_end = tag[1..]
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .map_or(tag.len(), |i| i + 1);
    let local = tag[1..name_end].rsplit(':').next().unwrap_or_default();
    if !matches!(
        local,
        "title" | "subtitle" | "summary" | "rights" | "content" | "tagline" | "copyright" | "info"
    ) {
        return Cow::Borrowed(tag);
    }
    let attrs = &tag[name_end..];
    let Some((range, value)) = attr_span(attrs, "type") else {
        return Cow::Borrowed(tag);
    };
    let escaped = attr_span(attrs, "mode").is_some_and(|(_, m)| m == "escaped");
    let inline = attr_span(attrs, "mode").is_some_and(|(_, m)| m == "xml");
    let fixed = match value.to_ascii_lowercase().as_str() {
        "text" | "html" | "xhtml" => return Cow::Borrowed(tag),
        "text/html" if inline => "xhtml",
        "text/html" => "html",
        "application/xhtml+xml" if escaped => "html",
        "application/xhtml+xml" => "xhtml",
        "text/plain" if local == "content" || !escaped => "text",
        "text/plain" => "text",
        // Other media types are fine for `content` (feed-rs keeps them), not for text.
        _ if local == "content" => return Cow::Borrowed(tag),
        _ => "text",
    };
    // The written type stays readable for `parse` (base64 bodies need it).
    Cow::Owned(format!(
        "{}{}type=\"{fixed}\" boletin-type=\"{}\"{}",
        &tag[..name_end],
        &attrs[..range.start],
        value.replace(['"', '<', '&'], ""),
        &attrs[range.end..]
    ))
}

/// Characters XML 1.0 allows in a document.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn without_forbidden(text: &str) -> Cow<'_, str> {
    if text.chars().all(allowed) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|c| allowed(*c)).collect())
    }
}

fn push_allowed(out: &mut String, s: &str) {
    // What XML forbids: C0 controls but tab and line ends, U+FFFE and U+FFFF. Most text has
    // none and is copied whole.
    let clean = s
        .bytes()
        .all(|b| b >= 0x20 || matches!(b, b'\t' | b'\n' | b'\r'))
        && !s.contains(['\u{FFFE}', '\u{FFFF}']);
    if clean {
        out.push_str(s);
    } else {
        out.extend(s.chars().filter(|c| allowed(*c)));
    }
}

/// Length of a CDATA section, comment, processing instruction or DOCTYPE at the start.
fn verbatim_len(s: &str) -> Option<usize> {
    let end_of = |open: &str, close: &str| -> Option<usize> {
        if !s.starts_with(open) {
            return None;
        }
        Some(
            s[open.len()..]
                .find(close)
                .map_or(s.len(), |i| open.len() + i + close.len()),
        )
    };
    end_of("<![CDATA[", "]]>")
        .or_else(|| end_of("<!--", "-->"))
        .or_else(|| end_of("<?", "?>"))
        .or_else(|| {
            if !s.starts_with("<!DOCTYPE") && !s.starts_with("<!doctype") {
                return None;
            }
            // An internal subset `[ ... ]` may contain `>`.
            let close = match (s.find('['), s.find('>')) {
                (Some(b), Some(g)) if b < g => s[b..].find("]>").map(|i| b + i + 2),
                (_, Some(g)) => Some(g + 1),
                _ => None,
            };
            Some(close.unwrap_or(s.len()))
        })
}

fn is_tag_start(s: &str) -> bool {
    s[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
}

/// End of the start tag at the beginning of `s` (after its `>`), respecting quotes.
pub(crate) fn tag_end(s: &str) -> usize {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return i + 1,
            _ => {}
        }
    }
    s.len()
}

/// `<!ENTITY name "value">` declarations of a DOCTYPE's internal subset.
fn internal_entities(doctype: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = doctype;
    while let Some(pos) = rest.find("<!ENTITY") {
        rest = &rest[pos + 8..];
        let decl = &rest[..rest.find('>').unwrap_or(rest.len())];
        let mut parts = decl.trim_start().splitn(2, char::is_whitespace);
        let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
            continue;
        };
        let value = value.trim();
        let Some(q) = value.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        if name == "%" {
            continue;
        }
        if let Some(end) = value[1..].find(q) {
            found.push((name.to_string(), value[1..1 + end].to_string()));
        }
        if found.len() >= 64 {
            break;
        }
    }
    found
}

/// The position of the first `;` in `s` if it is at most `limit`: an entity's end, looked
/// for in the next few bytes only (a search of the whole rest of the document for every bare
/// `&` made repair quadratic).
pub(crate) fn semicolon_within(s: &str, limit: usize) -> Option<usize> {
    s.bytes().take(limit + 1).position(|b| b == b';')
}

/// A reference to an entity the document declared: its value, escaped as text, while the
/// `budget` of expanded bytes lasts (past it the reference is left as written, escaped).
fn declared_entity(
    s: &str,
    declared: &[(String, String)],
    budget: &mut usize,
    out: &mut String,
) -> Option<usize> {
    if declared.is_empty() {
        return None;
    }
    let end = semicolon_within(s, 40)?;
    let name = &s[1..end];
    let (_, value) = declared.iter().find(|(n, _)| n == name)?;
    *budget = budget.checked_sub(value.len())?;
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            c if allowed(c) => out.push(c),
            _ => {}
        }
    }
    Some(end + 1)
}

/// `<feed xmlns="http://example.com/newformat#">` (not Atom 1.0) → the Atom 1.0 namespace.
fn foreign_feed_root(tag: &str) -> Option<String> {
    let rest = tag.strip_prefix("<feed")?;
    if !rest.starts_with(|c: char| c.is_whitespace() || c == '>') {
        return None;
    }
    let (range, value) = attr_span(rest, "xmlns")?;
    if value == "http://www.w3.org/2005/Atom" {
        return None;
    }
    Some(format!(
        "<feed{}xmlns=\"http://www.w3.org/2005/Atom\"{}",
        &rest[..range.start],
        &rest[range.end..]
    ))
}

/// `<rss>` or `<rss version="0.93">` → a version feed-rs reads (`2.0` reads every 0.9x
/// element too); 0.91 and 0.92 are kept since feed-rs has a parser for them.
fn fix_rss_version(tag: &str) -> Cow<'_, str> {
    let name_end = tag[1..]
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .map_or(tag.len(), |i| i + 1);
    if &tag[1..name_end] != "rss" {
        return Cow::Borrowed(tag);
    }
    let attrs = &tag[name_end..];
    let version = attr_span(attrs, "version");
    match version {
        Some((_, "2.0" | "0.91" | "0.92")) => Cow::Borrowed(tag),
        Some((range, _)) => Cow::Owned(format!(
            "<rss{}version=\"2.0\"{}",
            &attrs[..range.start],
            &attrs[range.end..]
        )),
        None => Cow::Owned(format!("<rss version=\"2.0\"{attrs}")),
    }
}

/// Finds `name="value"` among attributes: the byte range of the whole attribute and its value.
fn attr_span<'a>(attrs: &'a str, name: &str) -> Option<(std::ops::Range<usize>, &'a str)> {
    let mut from = 0;
    while let Some(pos) = attrs[from..].find(name) {
        let at = from + pos;
        from = at + name.len();
        let before_ok = at == 0 || attrs[..at].ends_with(char::is_whitespace);
        let after = attrs[from..].trim_start();
        if !before_ok || !after.starts_with('=') {
            continue;
        }
        let after_eq = after[1..].trim_start();
        let quote = after_eq.chars().next()?;
        if quote != '"' && quote != '\'' {
            return None;
        }
        let value_start = attrs.len() - after_eq.len() + 1;
        let value_len = attrs[value_start..].find(quote)?;
        let value = &attrs[value_start..value_start + value_len];
        return Some((at..value_start + value_len + 1, value.trim()));
    }
    None
}

/// Handles the `&` at the start of `s`, writing its repaired form; returns bytes consumed.
/// A character reference at the start of `s` (numeric, or a named one for a single
/// character): its code point and length.
fn numeric_ref(s: &str) -> Option<(u32, usize)> {
    let body = s.strip_prefix('&')?;
    let end = semicolon_within(body, 10)?;
    let name = &body[..end];
    let code = match name.strip_prefix('#') {
        Some(num) => match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        },
        None if name.chars().all(|c| c.is_ascii_alphanumeric()) => {
            match html5ever::data::NAMED_ENTITIES.get(&body[..=end]) {
                Some(&(code, 0)) => code,
                _ => return None,
            }
        }
        None => return None,
    };
    Some((code, end + 2))
}

/// `&#226;&#128;&#166;` or `&acirc;&#128;&brvbar;`: UTF-8 bytes written one reference
/// each (text decoded as Latin-1, then escaped) → `…`.
fn double_encoded(s: &str, out: &mut String) -> Option<usize> {
    let (lead, mut used) = numeric_ref(s)?;
    let len = match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    let mut bytes = vec![lead as u8];
    while bytes.len() < len {
        let (code, n) = numeric_ref(&s[used..])?;
        if !(0x80..=0xBF).contains(&code) {
            return None;
        }
        bytes.push(code as u8);
        used += n;
    }
    let c = std::str::from_utf8(&bytes).ok()?.chars().next()?;
    out.push_str(&format!("&#{};", c as u32));
    Some(used)
}

fn entity(s: &str, out: &mut String) -> usize {
    if let Some(used) = double_encoded(s, out) {
        return used;
    }
    let tail = &s[1..];
    let semicolon = semicolon_within(tail, 40);
    if let Some(i) = semicolon {
        let name = &tail[..i];
        if let Some(num) = name.strip_prefix('#') {
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => num.parse::<u32>().ok(),
            };
            if let Some(code) = code {
                // Windows-1252 bytes written as references (`&#146;`) mean the 1252 glyph.
                let c = char::from_u32(cp1252(code)).filter(|c| allowed(*c));
                if let Some(c) = c {
                    out.push_str(&format!("&#{};", c as u32));
                }
                return i + 2;
            }
        } else if matches!(name, "amp" | "lt" | "gt" | "quot" | "apos") {
            out.push_str(&s[..i + 2]);
            return i + 2;
        } else if !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric())
            && let Some(&(a, b)) = html5ever::data::NAMED_ENTITIES.get(&tail[..=i])
        {
            for code in [a, b] {
                if code != 0 {
                    out.push_str(&format!("&#{code};"));
                }
            }
            return i + 2;
        }
    }
    out.push_str("&amp;");
    1
}

/// Maps the C1 range as Windows-1252 does; other code points are unchanged.
fn cp1252(code: u32) -> u32 {
    const C1: [u32; 32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
        0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ];
    if (0x80..0xA0).contains(&code) {
        C1[(code - 0x80) as usize]
    } else {
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_documents_are_unchanged() {
        let xml = "<rss version=\"2.0\"><channel><title>A &amp; B &#233;</title></channel></rss>";
        assert_eq!(repair(xml), xml);
    }

    #[test]
    fn html_entities_and_bare_ampersands() {
        let xml = "<rss version=\"2.0\"><title>Caf&eacute; &nbsp;M&uuml;ller &rsquo; R&D &bogus; &#0;</title></rss>";
        assert_eq!(
            repair(xml),
            "<rss version=\"2.0\"><title>Caf&#233; &#160;M&#252;ller &#8217; R&amp;D &amp;bogus; </title></rss>"
        );
    }

    #[test]
    fn cdata_and_comments_are_left_alone() {
        let xml = "<rss version=\"2.0\"><!-- a & b --><d><![CDATA[a &nbsp; & b]]></d></rss>";
        assert_eq!(repair(xml), xml);
    }

    #[test]
    fn prolog_junk_controls_and_missing_version() {
        let xml = "\u{feff}\n  <?xml version=\"1.0\"?>\n<rss>\u{1}<channel/></rss>";
        assert_eq!(
            repair(xml),
            "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel/></rss>"
        );
        assert_eq!(
            repair("<rss version='0.94' xmlns:a=\"x\"><c/></rss>"),
            "<rss version=\"2.0\" xmlns:a=\"x\"><c/></rss>"
        );
    }

    #[test]
    fn declared_entities_expand_within_the_documents_length() {
        let value = "x".repeat(1000);
        let uses = "&big;".repeat(50);
        let xml = format!(
            "<!DOCTYPE rss [<!ENTITY big \"{value}\">]><rss version=\"2.0\"><d>{uses}</d></rss>"
        );
        let repaired = repair(&xml);
        // The document is about 1,300 bytes: one expansion fits, the next would not.
        assert_eq!(repaired.matches(&value).count(), 2, "DOCTYPE and one use");
        assert_eq!(repaired.matches("&amp;big;").count(), 49);
        assert!(repaired.len() < 3 * xml.len());
    }

    #[test]
    fn nesting_past_the_limit_keeps_text_and_drops_tags() {
        let n = 100_000;
        let xml = format!(
            "<rss version=\"2.0\"><channel>{}hondo{}</channel></rss>",
            "<a>".repeat(n),
            "</a>".repeat(n)
        );
        let repaired = repair(&xml);
        assert_eq!(repaired.matches("<a>").count(), MAX_DEPTH - 2);
        assert_eq!(repaired.matches("</a>").count(), MAX_DEPTH - 2);
        assert!(repaired.contains("hondo</a>"));
        assert!(
            repaired.ends_with("</a></channel></rss>"),
            "closed in order"
        );
        // Unclosed elements past the limit cost nothing either.
        let open = format!("<rss><channel>{}", "<a>".repeat(n));
        assert_eq!(repair(&open).matches("<a>").count(), MAX_DEPTH - 2);
    }

    #[test]
    fn entries_past_the_limit_are_left_out() {
        let many = |open: &str, close: &str| {
            (0..MAX_ITEMS + 3)
                .map(|i| format!("{open}<title>n{i}</title>{close}"))
                .collect::<String>()
        };
        let rss = format!(
            "<rss version=\"2.0\"><channel>{}</channel></rss>",
            many("<item>", "</item>")
        );
        let repaired = repair(&rss);
        assert_eq!(repaired.matches("<item>").count(), MAX_ITEMS);
        assert!(repaired.ends_with(&format!(
            "n{}</title></item></channel></rss>",
            MAX_ITEMS - 1
        )));
        let atom = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\">{}",
            many("<entry>", "</entry>")
        );
        assert_eq!(repair(&atom).matches("</entry>").count(), MAX_ITEMS);

        let items: Vec<String> = (0..MAX_ITEMS + 3)
            .map(|i| format!("{{\"id\":\"{i}\",\"title\":\"a, [b] {{c}} \\\" ,\"}}"))
            .collect();
        let json = format!(
            "{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"items, [x]\",\"items\": [{}],\"home_page_url\":\"x\"}}",
            items.join(",")
        );
        let capped = repair(&json);
        let value: serde_json::Value =
            serde_json::from_str(&capped).unwrap_or(serde_json::Value::Null);
        assert_eq!(value["items"].as_array().map(Vec::len), Some(MAX_ITEMS));
        assert_eq!(value["title"], "items, [x]");
        let exact = json.replace(&format!(",{}", items[MAX_ITEMS..].join(",")), "");
        assert_eq!(repair(&exact), exact, "at the limit nothing changes");
    }

    #[test]
    fn windows_1252_references_become_their_glyphs() {
        assert_eq!(repair("<a>don&#146;t</a>"), "<a>don&#8217;t</a>");
        assert_eq!(repair("<a>don\u{92}t</a>"), "<a>don\u{2019}t</a>");
        // UTF-8 bytes written as one reference each.
        assert_eq!(
            repair("<a>&#226;&#128;&#166; &acirc;&#128;&brvbar; &#195;&#161;</a>"),
            "<a>&#8230; &#8230; &#225;</a>"
        );
    }
}
