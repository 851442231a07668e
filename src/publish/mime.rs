//! The complete message (`.eml`) of a rendered edition: RFC 5322 headers and a
//! `multipart/alternative` body, text first then HTML, both UTF-8 and quoted-printable.
//!
//! The one place that writes a boletin message's headers and parts: `compose` (the
//! `.eml` beside an edition) and `deliver` (each subscriber's message, then DKIM-signed)
//! both build through [`build`] ([`builder`] + [`alternative`]), from the list's
//! [`ListHeaders`] (read from the config once) and the message's own [`MessageHeaders`].
//! Exactly one each of From, To, Date, Message-ID and Subject; the subject has its control
//! characters stripped and its length capped; `List-Id` names the list;
//! `List-Unsubscribe` carries the recipient's one-click link, if any, and a `mailto:`,
//! with `List-Unsubscribe-Post` when there is a link. [`mailbox`] is the one parser of
//! addresses.
//!
//! Every header line stays within RFC 5322's 998 octets, and within 78 where the value has
//! spaces to fold at: lettre folds (and RFC 2047-encodes) the values written here, display
//! names and the `List-Id` phrase are capped, and the config check bounds what else comes
//! from the config (addresses, the list id, the unsubscribe URL). `List-Unsubscribe` keeps
//! its URIs on one line when they fit.

use std::time::SystemTime;

use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MessageBuilder, MultiPart, SinglePart};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::publish::links;

/// Why a message could not be built.
#[derive(Debug, thiserror::Error)]
pub enum MimeError {
    /// The From or To address does not parse.
    #[error("`{address}` is not a usable email address: {message}")]
    Address {
        /// The address text as given.
        address: String,
        /// lettre's reason it does not parse.
        message: String,
    },
    /// lettre refused the message.
    #[error("cannot build the message: {0}")]
    Build(String),
}

/// Longest subject kept, in characters: long enough for any real subject, short enough
/// that no client or filter chokes.
pub const MAX_SUBJECT_CHARS: usize = 150;

/// Longest display name (From, To) and `List-Id` phrase kept, in characters: a name is
/// one quoted word lettre cannot fold, so it must fit on a line with its address.
pub const MAX_NAME_CHARS: usize = 64;

/// What every message of the newsletter says the same way, read from the config once:
/// who sends it, the list it belongs to, and the address that unsubscribes by mail.
#[derive(Debug, Clone)]
pub struct ListHeaders {
    /// `[newsletter] from`, parsed: the From of every message and the list's own address.
    pub from: Mailbox,
    /// The whole `List-Id` value, from [`list_id`].
    pub list_id: String,
    /// The address that unsubscribes by mail: the `mailto:` target of `List-Unsubscribe`.
    pub unsubscribe_mailto: String,
}

impl ListHeaders {
    /// `[newsletter] from` and title, `[delivery] list_id` and the unsubscribe address.
    pub fn new(config: &Config) -> Result<ListHeaders, MimeError> {
        Ok(ListHeaders {
            from: mailbox(&config.newsletter.from)?,
            list_id: list_id(&config.newsletter.title, &config.delivery.list_id),
            unsubscribe_mailto: links::unsubscribe_address(config),
        })
    }

    /// The list's own address, without a name: whom an edition's `.eml` is addressed to,
    /// so it shows what every subscriber gets.
    pub fn list_address(&self) -> Mailbox {
        Mailbox::new(None, self.from.email.clone())
    }
}

/// What one message says of its own.
#[derive(Debug, Clone)]
pub struct MessageHeaders<'a> {
    /// The recipient: a subscriber, or the list's own address for an edition's `.eml`.
    pub to: &'a Mailbox,
    /// As the editor wrote it: [`builder`] cleans and caps it.
    pub subject: &'a str,
    /// The `Date` header: when it is sent, or noon of the edition's date for an `.eml`.
    pub date: SystemTime,
    /// Without angle brackets: `local@domain`.
    pub message_id: &'a str,
    /// The recipient's own unsubscribe link, `boletin serve`'s endpoint: listed first in
    /// `List-Unsubscribe`, with `List-Unsubscribe-Post` since it takes RFC 8058 one-click
    /// POSTs.
    pub unsubscribe_url: Option<&'a str>,
    /// `Content-Language` (`es`, `en`, `es, en`), or none.
    pub language: Option<&'a str>,
}

/// The bare address in `Name <address>` (or the whole text when there are no brackets).
pub fn address_of(from: &str) -> &str {
    match (from.rfind('<'), from.rfind('>')) {
        (Some(a), Some(b)) if a < b => from[a + 1..b].trim(),
        _ => from.trim(),
    }
}

/// A subject with control characters (CR, LF, tabs…) replaced by spaces, whitespace
/// folded and length capped with an ellipsis.
pub fn clean_subject(subject: &str) -> String {
    one_line(subject, MAX_SUBJECT_CHARS, "…")
}

/// `text` on one line (controls as spaces, whitespace folded), at most `max` characters:
/// longer text is cut and ends in `ellipsis`.
fn one_line(text: &str, max: usize, ellipsis: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let folded = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= max {
        return folded;
    }
    let keep = max.saturating_sub(ellipsis.chars().count());
    let mut cut: String = folded.chars().take(keep).collect();
    cut = cut.trim_end().to_string();
    cut.push_str(ellipsis);
    cut
}

/// Parses `Name <user@domain>` or `user@domain` (control characters dropped): the one
/// parser of addresses for messages.
pub fn mailbox(text: &str) -> Result<Mailbox, MimeError> {
    let cleaned: String = text.chars().filter(|c| !c.is_control()).collect();
    cleaned
        .trim()
        .parse::<Mailbox>()
        .map_err(|e| MimeError::Address {
            address: text.to_string(),
            message: e.to_string(),
        })
}

/// A subscriber as a mailbox: the address as stored, the name as imported (none when
/// blank; [`builder`] drops control characters from it).
pub fn recipient(email: &str, name: &str) -> Result<Mailbox, MimeError> {
    let address = mailbox(email)?.email;
    let name = name.trim();
    Ok(Mailbox::new(
        (!name.is_empty()).then(|| name.to_string()),
        address,
    ))
}

fn short_hash(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    digest.iter().take(10).map(|b| format!("{b:02x}")).collect()
}

/// The `List-Id` value (RFC 2919): `"Title" <id>`, e.g.
/// `"Boletin Solidaridad" <boletin.example.org>` (`[delivery] list_id`). The title is cut
/// to [`MAX_NAME_CHARS`]: filters match on the id, and a long title would only make an
/// unfoldable line.
pub fn list_id(title: &str, id: &str) -> String {
    // An ASCII phrase avoids RFC 2047 in a header filters read: accents are dropped.
    let name: String = crate::annotate::fold::ascii(title)
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control() && !matches!(c, '"' | '\\' | '<' | '>'))
        .collect();
    let name = one_line(&name, MAX_NAME_CHARS, "...");
    let id: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    if name.is_empty() {
        format!("<{id}>")
    } else {
        format!("\"{name}\" <{id}>")
    }
}

/// The longest header line RFC 5322 allows, without its CRLF.
const MAX_LINE_OCTETS: usize = 998;

/// A header as lettre writes its own: control characters dropped, folded at spaces (never
/// inside a word, so a URL is never split), non-ASCII words RFC 2047-encoded.
fn header(name: &'static str, value: String) -> HeaderValue {
    let name = HeaderName::new_from_ascii_str(name);
    let value: String = value.chars().filter(|c| !c.is_control()).collect();
    HeaderValue::new(name, value)
}

/// A header of URIs (`List-Unsubscribe`): on one line, the way senders write it and mail
/// providers read it, when it fits in [`MAX_LINE_OCTETS`] (the config check bounds the
/// unsubscribe URL and address so that it does); else folded like any other.
fn uri_header(name: &'static str, value: String) -> HeaderValue {
    let value: String = value.chars().filter(|c| !c.is_control()).collect();
    if value.is_ascii() && name.len() + ": ".len() + value.len() <= MAX_LINE_OCTETS {
        let name = HeaderName::new_from_ascii_str(name);
        HeaderValue::dangerous_new_pre_encoded(name, value.clone(), value)
    } else {
        header(name, value)
    }
}

/// `m` with its display name on one line and capped at [`MAX_NAME_CHARS`]: a line break in
/// a display name (a spreadsheet cell) would make lettre panic or a header split, and a
/// long one an unfoldable line.
fn clean_mailbox(m: &Mailbox) -> Mailbox {
    let name = m
        .name
        .as_deref()
        .map(|n| one_line(n, MAX_NAME_CHARS, "…"))
        .filter(|n| !n.is_empty());
    Mailbox::new(name, m.email.clone())
}

/// The headers of a message, ready for its body.
pub fn builder(list: &ListHeaders, h: &MessageHeaders<'_>) -> MessageBuilder {
    let mut builder = lettre::Message::builder()
        .from(clean_mailbox(&list.from))
        .to(clean_mailbox(h.to))
        .subject(clean_subject(h.subject))
        .date(h.date)
        .message_id(Some(format!(
            "<{}>",
            h.message_id
                .chars()
                .filter(|c| !c.is_control())
                .collect::<String>()
        )))
        .raw_header(header("List-Id", list.list_id.clone()));
    if let Some(lang) = h.language {
        builder = builder.raw_header(header("Content-Language", lang.to_string()));
    }
    let mut targets = Vec::new();
    if let Some(url) = h.unsubscribe_url {
        targets.push(format!("<{url}>"));
    }
    targets.push(format!(
        "<{}>",
        links::unsubscribe_mailto(&list.unsubscribe_mailto)
    ));
    builder = builder.raw_header(uri_header("List-Unsubscribe", targets.join(", ")));
    if h.unsubscribe_url.is_some() {
        builder = builder.raw_header(header(
            "List-Unsubscribe-Post",
            "List-Unsubscribe=One-Click".into(),
        ));
    }
    builder
}

/// The body: text part first, then HTML, each UTF-8 quoted-printable, between a boundary
/// derived from `seed` (so one message always encodes the same).
pub fn alternative(text: &str, html: &str, seed: &str) -> Result<MultiPart, MimeError> {
    let qp = |content_type: ContentType, body: &str| -> Result<SinglePart, MimeError> {
        let body =
            Body::new_with_encoding(body.to_string(), ContentTransferEncoding::QuotedPrintable)
                .map_err(|_| MimeError::Build("body cannot be quoted-printable".into()))?;
        Ok(SinglePart::builder().header(content_type).body(body))
    };
    Ok(MultiPart::alternative()
        .boundary(format!("boletin-{}", short_hash(seed)))
        .singlepart(qp(ContentType::TEXT_PLAIN, text)?)
        .singlepart(qp(ContentType::TEXT_HTML, html)?))
}

/// The whole message: [`builder`]'s headers over [`alternative`]'s parts.
pub fn build(
    list: &ListHeaders,
    headers: &MessageHeaders<'_>,
    text: &str,
    html: &str,
) -> Result<lettre::Message, MimeError> {
    builder(list, headers)
        .multipart(alternative(text, html, headers.message_id)?)
        .map_err(|e| MimeError::Build(e.to_string()))
}

/// A Message-ID (without brackets) stable for `seed`, in the domain of `from`: re-composing
/// an edition gives the same id.
pub fn message_id(seed: &str, from: &Mailbox) -> String {
    format!("{}.boletin@{}", short_hash(seed), from.email.domain())
}

/// The size of `body` once quoted-printable encoded: what a mail client downloads and
/// what Gmail measures before clipping.
pub fn encoded_len(body: &str) -> usize {
    Body::new_with_encoding(body.to_string(), ContentTransferEncoding::QuotedPrintable)
        .map_or(body.len(), |b| b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_lose_control_characters_and_are_capped() {
        assert_eq!(
            clean_subject("Hola\r\nBcc: x@y.z\tya"),
            "Hola Bcc: x@y.z ya"
        );
        let long = "á".repeat(400);
        let cut = clean_subject(&long);
        assert_eq!(cut.chars().count(), MAX_SUBJECT_CHARS);
        assert!(cut.ends_with('…'));
    }

    /// The header block of the message `list` and `h` make.
    fn head_of(list: &ListHeaders, h: &MessageHeaders<'_>) -> String {
        let raw = String::from_utf8(
            build(list, h, "texto", "<p>texto</p>")
                .unwrap_or_else(|e| panic!("{e}"))
                .formatted(),
        )
        .unwrap_or_default();
        raw[..raw.find("\r\n\r\n").unwrap_or(raw.len())].to_string()
    }

    #[test]
    fn one_of_each_header_and_no_injected_lines() {
        let from = mailbox("Boletín <boletin@example.org>").unwrap_or_else(|e| panic!("{e}"));
        // What a Mailbox built from a spreadsheet's name column may hold.
        let to = Mailbox::new(
            Some("Ana\r\nBcc: x@evil.example".into()),
            "ana@example.org".parse().unwrap_or_else(|e| panic!("{e}")),
        );
        let list = ListHeaders {
            from,
            list_id: list_id("Boletín", "boletin.example.org"),
            unsubscribe_mailto: "baja@example.org".into(),
        };
        let h = MessageHeaders {
            to: &to,
            subject: "Hola\r\nBcc: x@evil.example",
            date: SystemTime::UNIX_EPOCH,
            message_id: "a.2026-W47@example.org\r\nX-Evil: 1",
            unsubscribe_url: Some("https://boletin.example.org/unsubscribe?token=1.x"),
            language: Some("es"),
        };
        let head = head_of(&list, &h);
        for name in [
            "From",
            "To",
            "Date",
            "Message-ID",
            "Subject",
            "List-Id",
            "List-Unsubscribe",
            "List-Unsubscribe-Post",
        ] {
            let n = head
                .split("\r\n")
                .filter(|l| l.starts_with(&format!("{name}: ")))
                .count();
            assert_eq!(n, 1, "{name} in {head}");
        }
        assert!(
            !head.contains("\r\nBcc:") && !head.contains("\r\nX-Evil:"),
            "{head}"
        );
    }

    #[test]
    fn addresses_and_domains() {
        assert_eq!(
            address_of("Boletín <boletin@example.org>"),
            "boletin@example.org"
        );
        assert_eq!(
            list_id("Boletín Solidaridad Oaxaca–Chiapas", "boletin.example.org"),
            "\"Boletin Solidaridad Oaxaca-Chiapas\" <boletin.example.org>"
        );
    }

    #[test]
    fn long_titles_and_names_fold_within_the_line_limits() {
        let title =
            "Boletín de la Red de Solidaridad con los Pueblos de Oaxaca y Chiapas ".repeat(45);
        assert!(title.chars().count() > 3000);
        let from = mailbox(&format!("\"{}\" <boletin@example.org>", &title[..900]))
            .unwrap_or_else(|e| panic!("{e}"));
        // A name cell with no space to fold at, as a broken export writes it.
        let to = Mailbox::new(
            Some("Ñ".repeat(3000)),
            "ana@example.org".parse().unwrap_or_else(|e| panic!("{e}")),
        );
        let list = ListHeaders {
            from,
            list_id: list_id(&title, "boletin.example.org"),
            unsubscribe_mailto: "bajas?cc=otra@example.org".into(),
        };
        let h = MessageHeaders {
            to: &to,
            subject: &title,
            date: SystemTime::UNIX_EPOCH,
            message_id: "a.2026-W47@example.org",
            unsubscribe_url: Some("https://boletin.example.org/unsubscribe?token=1.x"),
            language: Some("es, en"),
        };
        let head = head_of(&list, &h);
        // Within 998 octets everywhere; within 78 where boletin writes the phrase (a name
        // is followed by its address, which lettre does not fold before).
        let mut name = "";
        for line in head.split("\r\n") {
            if !line.starts_with(' ') {
                name = line.split(':').next().unwrap_or_default();
            }
            assert!(line.len() <= 998, "{} octets: {line}", line.len());
            if matches!(name, "Subject" | "List-Id" | "Content-Language") {
                assert!(line.len() <= 78, "{} octets: {line}", line.len());
            }
        }
        assert!(
            head.contains("List-Id: \"Boletin de la Red de Solidaridad con los Pueblos de Oaxaca y...\"\r\n <boletin.example.org>\r\n"),
            "{head}"
        );
        // A `?` in the address is part of it, not the start of the URI's headers.
        assert!(
            head.contains("<mailto:bajas%3Fcc%3Dotra@example.org?subject=unsubscribe>"),
            "{head}"
        );
    }
}
