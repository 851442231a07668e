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
    let cleaned: String = subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let folded = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= MAX_SUBJECT_CHARS {
        return folded;
    }
    let mut cut: String = folded.chars().take(MAX_SUBJECT_CHARS - 1).collect();
    cut = cut.trim_end().to_string();
    cut.push('…');
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
/// `"Boletin Solidaridad" <boletin.example.org>` (`[delivery] list_id`).
pub fn list_id(title: &str, id: &str) -> String {
    // An ASCII phrase avoids RFC 2047 in a header filters read: accents are dropped.
    let name: String = crate::annotate::fold::ascii(title)
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control() && !matches!(c, '"' | '\\' | '<' | '>'))
        .collect();
    let id: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    if name.trim().is_empty() {
        format!("<{id}>")
    } else {
        format!("\"{}\" <{id}>", name.trim())
    }
}

/// A header whose value is printable ASCII without line breaks (URLs, ids) is written as
/// is: folding it would risk splitting a URL.
fn header(name: &'static str, value: String) -> HeaderValue {
    let name = HeaderName::new_from_ascii_str(name);
    let value: String = value.chars().filter(|c| !c.is_control()).collect();
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        HeaderValue::dangerous_new_pre_encoded(name, value.clone(), value)
    } else {
        HeaderValue::new(name, value)
    }
}

/// `m` without control characters in its name: a line break in a display name (a
/// spreadsheet cell) would make lettre panic or a header split.
fn clean_mailbox(m: &Mailbox) -> Mailbox {
    let name = m
        .name
        .as_deref()
        .map(|n| n.chars().filter(|c| !c.is_control()).collect::<String>())
        .map(|n| n.trim().to_string())
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
        "<mailto:{}?subject=unsubscribe>",
        list.unsubscribe_mailto
    ));
    builder = builder.raw_header(header("List-Unsubscribe", targets.join(", ")));
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
        let raw = String::from_utf8(
            build(&list, &h, "texto", "<p>texto</p>")
                .unwrap_or_else(|e| panic!("{e}"))
                .formatted(),
        )
        .unwrap_or_default();
        let head = &raw[..raw.find("\r\n\r\n").unwrap_or(raw.len())];
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
}
