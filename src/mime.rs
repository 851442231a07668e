//! The complete message (`.eml`) of a rendered edition: RFC 5322 headers and a
//! `multipart/alternative` body, text first then HTML, both UTF-8 and quoted-printable.
//!
//! Built with lettre's `Message` builder, which delivery uses too. Exactly one each of
//! From, To, Date, Message-ID (`<…@domain of From>`) and Subject; the subject has its
//! control characters stripped and its length capped; `List-Id` names the list and
//! `List-Unsubscribe` carries the footer's link.

use std::time::SystemTime;

use lettre::Message;
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use sha2::{Digest, Sha256};

/// Why a message could not be built.
#[derive(Debug, thiserror::Error)]
pub enum MimeError {
    /// The From or To address does not parse.
    #[error("`{address}` is not a usable email address: {message}")]
    Address { address: String, message: String },
    /// lettre refused the message.
    #[error("cannot build the message: {0}")]
    Build(String),
}

/// Longest subject kept, in characters: long enough for any real subject, short enough
/// that no client or filter chokes.
pub const MAX_SUBJECT_CHARS: usize = 150;

/// What goes into one message besides its parts.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    /// `Name <address>` or a bare address.
    pub from: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub date: SystemTime,
    /// Stable for one edition and recipient: the local part of the Message-ID is derived
    /// from it (so re-composing an edition gives the same id).
    pub id_seed: &'a str,
    /// The list's name, for `List-Id`.
    pub list_name: &'a str,
    pub unsubscribe_url: Option<&'a str>,
}

/// The bare address in `Name <address>` (or the whole text when there are no brackets).
pub fn address_of(from: &str) -> &str {
    match (from.rfind('<'), from.rfind('>')) {
        (Some(a), Some(b)) if a < b => from[a + 1..b].trim(),
        _ => from.trim(),
    }
}

/// The domain of an address (`boletin@example.org` → `example.org`).
pub fn domain_of(from: &str) -> &str {
    let address = address_of(from);
    address.rsplit_once('@').map_or(address, |(_, d)| d)
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

fn mailbox(text: &str) -> Result<Mailbox, MimeError> {
    let cleaned: String = text.chars().filter(|c| !c.is_control()).collect();
    cleaned.parse::<Mailbox>().map_err(|e| MimeError::Address {
        address: text.to_string(),
        message: e.to_string(),
    })
}

fn short_hash(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    digest.iter().take(10).map(|b| format!("{b:02x}")).collect()
}

/// `List-Id: Name <local.domain>` (RFC 2919), from the From address.
fn list_id(list_name: &str, from: &str) -> String {
    let address = address_of(from);
    let (local, domain) = address.rsplit_once('@').unwrap_or((address, "localhost"));
    let id: String = format!("{local}.{domain}")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .collect();
    // An ASCII phrase avoids RFC 2047 in a header filters read: accents are dropped.
    let name: String = list_name
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'ä' | 'â' => 'a',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' | 'ì' | 'ï' | 'î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' => 'o',
            'ú' | 'ù' | 'ü' | 'û' => 'u',
            'ñ' => 'n',
            'Á' => 'A',
            'É' => 'E',
            'Í' => 'I',
            'Ó' => 'O',
            'Ú' => 'U',
            'Ñ' => 'N',
            '–' | '—' => '-',
            c => c,
        })
        .filter(|c| c.is_ascii() && !c.is_ascii_control() && !matches!(c, '"' | '\\' | '<' | '>'))
        .collect();
    if name.trim().is_empty() {
        format!("<{id}>")
    } else {
        format!("\"{}\" <{id}>", name.trim())
    }
}

/// Builds the whole message: text part first, then HTML, each UTF-8 quoted-printable.
pub fn message(envelope: &Envelope<'_>, text: &str, html: &str) -> Result<Vec<u8>, MimeError> {
    let from = mailbox(envelope.from)?;
    let to = mailbox(envelope.to)?;
    let domain = from.email.domain().to_string();
    let seed_hash = short_hash(envelope.id_seed);
    let qp = |content_type: ContentType, body: &str| -> Result<SinglePart, MimeError> {
        let body =
            Body::new_with_encoding(body.to_string(), ContentTransferEncoding::QuotedPrintable)
                .map_err(|_| MimeError::Build("body cannot be quoted-printable".into()))?;
        Ok(SinglePart::builder().header(content_type).body(body))
    };
    let alternative = MultiPart::alternative()
        .boundary(format!("boletin-{seed_hash}"))
        .singlepart(qp(ContentType::TEXT_PLAIN, text)?)
        .singlepart(qp(ContentType::TEXT_HTML, html)?);
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(clean_subject(envelope.subject))
        .date(envelope.date)
        .message_id(Some(format!("<{seed_hash}.boletin@{domain}>")))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Id"),
            list_id(envelope.list_name, envelope.from),
        ));
    if let Some(url) = envelope.unsubscribe_url {
        let url: String = url.chars().filter(|c| !c.is_control()).collect();
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{url}>"),
        ));
    }
    let message = builder
        .multipart(alternative)
        .map_err(|e| MimeError::Build(e.to_string()))?;
    Ok(message.formatted())
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
    fn addresses_and_domains() {
        assert_eq!(
            address_of("Boletín <boletin@example.org>"),
            "boletin@example.org"
        );
        assert_eq!(domain_of("boletin@example.org"), "example.org");
        assert_eq!(
            list_id(
                "Boletín Solidaridad Oaxaca–Chiapas",
                "Boletín <boletin@example.org>"
            ),
            "\"Boletin Solidaridad Oaxaca-Chiapas\" <boletin.example.org>"
        );
    }
}
