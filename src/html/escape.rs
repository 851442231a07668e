//! Escaping text for HTML: the only way plain text enters HTML that boletin writes
//! (templates' own escaping aside). Pure.

/// Escapes text for HTML content and attributes.
pub fn escape(text: &str) -> String {
    escape_with(text, true)
}

/// Escapes text for HTML content (not attributes): quotes stay as they are.
pub fn escape_text(text: &str) -> String {
    escape_with(text, false)
}

fn escape_with(text: &str, quotes: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quotes => out.push_str("&quot;"),
            '\'' if quotes => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Appends ` name="value"` with `value` escaped.
pub(crate) fn push_attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    out.push_str(&escape(value));
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_escape_quotes_and_text_keeps_them() {
        let s = r#"Tom & "Jerry" <l'été>"#;
        assert_eq!(escape(s), "Tom &amp; &quot;Jerry&quot; &lt;l&#39;été&gt;");
        assert_eq!(escape_text(s), r#"Tom &amp; "Jerry" &lt;l'été&gt;"#);
        let mut out = String::from("<a");
        push_attr(&mut out, "title", s);
        assert_eq!(
            out,
            r#"<a title="Tom &amp; &quot;Jerry&quot; &lt;l&#39;été&gt;""#
        );
    }
}
