//! Turns fetched bytes into text, guessing the encoding the way small sites need.
//!
//! Order: byte-order mark, then the XML declaration or `<meta charset>` in the head, then
//! the HTTP `charset`, then UTF-8 when the bytes are valid UTF-8, then Windows-1252 (a
//! superset of ISO-8859-1 for every printable byte). Hands on a UTF-8 `String` whose XML
//! declaration, if any, no longer claims another encoding.

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

use crate::ingest::fetch::Response;

/// The text of a fetched document: its body decoded with its Content-Type as a hint (an
/// answer without a body reads as empty).
pub fn response_text(response: &Response) -> String {
    decode(
        response.body.as_deref().unwrap_or_default(),
        response.content_type.as_deref(),
    )
}

/// Decodes `bytes`, using `content_type` (the HTTP header) as one hint among several.
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> String {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return relabel_xml_declaration(text.into_owned());
    }
    let declared =
        declared_in_document(bytes).or_else(|| content_type.and_then(charset_of_content_type));
    let encoding = match declared {
        // A page that says UTF-8 but is not is almost always Windows-1252 in practice.
        Some(enc) if enc == UTF_8 && std::str::from_utf8(bytes).is_err() => WINDOWS_1252,
        Some(enc) => enc,
        None if std::str::from_utf8(bytes).is_ok() => UTF_8,
        None => WINDOWS_1252,
    };
    let (text, _) = encoding.decode_without_bom_handling(bytes);
    relabel_xml_declaration(text.into_owned())
}

/// The `charset` parameter of a Content-Type header.
fn charset_of_content_type(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        label(value.trim().trim_matches(['"', '\'']))
    })
}

/// An encoding label as browsers read it, with UTF-16 ignored (it can't be ASCII-declared).
fn label(name: &str) -> Option<&'static Encoding> {
    let enc = Encoding::for_label(name.trim().as_bytes())?;
    Some(enc.output_encoding())
}

/// How far into an HTML document `<meta charset>` is looked for when `</head>` does not
/// come first: WordPress heads full of inline styles and scripts run long.
const HEAD_LIMIT: usize = 256 * 1024;

/// The encoding named by the XML declaration, or for HTML by a `<meta>` anywhere in the head.
fn declared_in_document(bytes: &[u8]) -> Option<&'static Encoding> {
    let start = &bytes[..bytes.len().min(1024)];
    // The head is ASCII-compatible in every encoding that matters here.
    let start = String::from_utf8_lossy(start).to_ascii_lowercase();
    let start = start.trim_start();
    if start.starts_with("<?xml") {
        let end = start.find("?>").unwrap_or(start.len());
        if let Some(value) = attribute_value(&start[..end], "encoding") {
            return label(value);
        }
    }
    if is_feed(start) {
        // A feed's content may quote whole HTML pages, `<meta>` and all: not its own label.
        return None;
    }
    let head = &bytes[..bytes.len().min(HEAD_LIMIT)];
    let head_end = find_ascii_ci(head, b"</head").unwrap_or(head.len());
    let head = String::from_utf8_lossy(&head[..head_end]).to_ascii_lowercase();
    let mut rest = head.as_str();
    while let Some(pos) = rest.find("<meta") {
        rest = &rest[pos + 5..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        if let Some(value) = attribute_value(tag, "charset") {
            return label(value);
        }
        if tag.contains("http-equiv")
            && let Some(content) = attribute_value(tag, "content")
            && let Some(enc) = charset_of_content_type(content)
        {
            return Some(enc);
        }
    }
    None
}

/// Whether the first element (after the prolog, comments and doctype) is a feed's root.
fn is_feed(start: &str) -> bool {
    let mut rest = start;
    loop {
        rest = rest.trim_start();
        let skip_to = if rest.starts_with("<?") {
            rest.find("?>").map(|i| i + 2)
        } else if rest.starts_with("<!--") {
            rest.find("-->").map(|i| i + 3)
        } else if rest.starts_with("<!") {
            rest.find('>').map(|i| i + 1)
        } else {
            break;
        };
        match skip_to {
            Some(i) => rest = &rest[i..],
            None => return false,
        }
    }
    ["<rss", "<feed", "<rdf:rdf", "<rdf"]
        .iter()
        .any(|root| rest.starts_with(root))
}

/// Byte offset of `needle` (lowercase ASCII) in `hay`, ignoring ASCII case.
fn find_ascii_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// The value of `name=...` inside a tag, quoted or not.
fn attribute_value<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let mut search = tag;
    loop {
        let pos = search.find(name)?;
        let before_ok = pos == 0
            || !search.as_bytes()[pos - 1].is_ascii_alphanumeric()
                && search.as_bytes()[pos - 1] != b'-';
        let after = search[pos + name.len()..].trim_start();
        if before_ok && let Some(after) = after.strip_prefix('=') {
            let after = after.trim_start();
            let value = match after.chars().next() {
                Some(q @ ('"' | '\'')) => after[1..].split(q).next()?,
                _ => after
                    .split(|c: char| c.is_whitespace() || c == '>' || c == '/' || c == ';')
                    .next()?,
            };
            return Some(value);
        }
        search = &search[pos + name.len()..];
    }
}

/// After decoding, the text is UTF-8; a parser that trusts the declaration would misread it.
fn relabel_xml_declaration(text: String) -> String {
    let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if !trimmed.starts_with("<?xml") {
        return text;
    }
    let Some(end) = trimmed.find("?>") else {
        return text;
    };
    let decl = &trimmed[..end];
    let Some(enc_pos) = decl.find("encoding") else {
        return format!("{}{}", decl, &trimmed[end..]);
    };
    let after = &decl[enc_pos..];
    let Some(eq) = after.find('=') else {
        return text;
    };
    let value_part = after[eq + 1..].trim_start();
    let quote = value_part.chars().next();
    let value_len = match quote {
        Some(q @ ('"' | '\'')) => value_part[1..].find(q).map(|n| n + 2),
        _ => None,
    };
    let Some(value_len) = value_len else {
        return text;
    };
    let value_start = decl.len() - value_part.len();
    let mut out = String::with_capacity(text.len());
    out.push_str(&decl[..value_start]);
    out.push_str("\"UTF-8\"");
    out.push_str(&decl[value_start + value_len..]);
    out.push_str(&trimmed[end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_declared_in_xml() {
        let bytes = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><t>Oaxaca, M\xe9xico</t>";
        let text = decode(bytes, Some("text/xml"));
        assert!(text.contains("Oaxaca, México"), "{text}");
        assert!(
            text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            "{text}"
        );
    }

    #[test]
    fn undeclared_latin1_falls_back_to_windows_1252() {
        let text = decode(b"<rss><title>Espa\xf1a \x93citas\x94</title></rss>", None);
        assert_eq!(text, "<rss><title>España “citas”</title></rss>");
    }

    #[test]
    fn meta_charset_beats_http_header() {
        let bytes = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\"></head>Le\xf3n</html>";
        assert!(decode(bytes, Some("text/html; charset=utf-8")).contains("León"));
    }

    #[test]
    fn http_charset_used_when_document_is_silent() {
        assert!(
            decode(
                b"<p>Ca\xf1ada</p>",
                Some("text/html; charset=\"ISO-8859-1\"")
            )
            .contains("Cañada")
        );
    }

    #[test]
    fn meta_charset_found_after_a_long_head() {
        let styles = "<style>.x{color:red}</style>".repeat(400); // ~11 KB before the meta
        let page = format!(
            "<!DOCTYPE html><html><head>{styles}<meta charset=\"iso-8859-1\"></head><body>Acci\u{f3}n</body></html>"
        );
        let mut bytes = page.replace('\u{f3}', "").into_bytes();
        let at = bytes.len() - "n</body></html>".len();
        bytes.insert(at, 0xf3);
        // Declared Latin-1 wins over the HTTP header's wrong UTF-8.
        assert!(decode(&bytes, Some("text/html; charset=utf-8")).contains("Acción"));
    }

    #[test]
    fn a_feed_quoting_a_page_is_not_labelled_by_the_quoted_meta() {
        let feed = "<rss><channel><item><description><![CDATA[<meta charset=\"koi8-r\">]]>\
                    Sesi\u{f3}n</description></item></channel></rss>";
        assert!(decode(feed.as_bytes(), None).contains("Sesión"));
    }

    #[test]
    fn bom_wins() {
        let text = decode(
            b"\xef\xbb\xbf<?xml version='1.0' encoding='iso-8859-1'?><a>\xc3\xb1</a>",
            None,
        );
        assert!(text.ends_with("<a>ñ</a>"), "{text}");
    }
}
