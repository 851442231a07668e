//! One subscriber's message: the headers and parts that `mime` writes for every boletin
//! message (List-Id, List-Unsubscribe with the personal https URL and a mailto,
//! List-Unsubscribe-Post for RFC 8058 one-click), optionally DKIM-signed with both
//! unsubscribe headers among the signed ones.

use lettre::Message;
use lettre::message::Mailbox;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::HeaderName;

use super::DeliverError;
use crate::config::{Dkim, DkimAlgorithm};
use crate::publish::mime;

/// Header names signed by DKIM. Both unsubscribe headers are signed so that nobody on the
/// way can swap the link (Gmail and Yahoo require this for one-click). Content-Type is not
/// listed: lettre writes a multipart body's Content-Type after signing, so signing it would
/// break every signature (the body hash covers the parts anyway).
pub const SIGNED_HEADERS: &[&str] = &[
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// The message, signed if `dkim` is given.
pub fn build(
    headers: &mime::Headers<'_>,
    text: &str,
    html: &str,
    dkim: Option<&DkimConfig>,
) -> Result<Message, DeliverError> {
    let mut message = mime::build(headers, text, html)
        .map_err(|e| DeliverError::Message(format!("{}: {e}", headers.to.email)))?;
    if let Some(dkim) = dkim {
        message.sign(dkim);
    }
    Ok(message)
}

/// Reads the DKIM key named in `[delivery.dkim]`.
pub fn dkim_config(d: &Dkim) -> Result<DkimConfig, DeliverError> {
    let shown = d.key_file.display().to_string();
    let text = std::fs::read_to_string(&d.key_file).map_err(|e| DeliverError::Dkim {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    let algorithm = match d.algorithm {
        DkimAlgorithm::Rsa => DkimSigningAlgorithm::Rsa,
        DkimAlgorithm::Ed25519 => DkimSigningAlgorithm::Ed25519,
    };
    let key = DkimSigningKey::new(text.trim(), algorithm).map_err(|e| DeliverError::Dkim {
        path: shown,
        message: format!(
            "not a usable key ({e}); RSA keys must be PKCS#1 PEM, Ed25519 keys the base64 of the 32-byte secret"
        ),
    })?;
    Ok(dkim_from_key(&d.selector, &d.domain, key))
}

/// A DKIM config over [`SIGNED_HEADERS`] with relaxed/relaxed canonicalization.
pub fn dkim_from_key(selector: &str, domain: &str, key: DkimSigningKey) -> DkimConfig {
    DkimConfig::new(
        selector.to_string(),
        domain.to_string(),
        key,
        SIGNED_HEADERS
            .iter()
            .map(|h| HeaderName::new_from_ascii_str(h))
            .collect(),
        DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        },
    )
}

/// Parses `Name <user@domain>` or `user@domain`.
pub fn mailbox(text: &str) -> Result<Mailbox, DeliverError> {
    mime::mailbox(text.trim()).map_err(|e| DeliverError::Message(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dkim: Option<&DkimConfig>) -> String {
        let from =
            mailbox("Boletín Solidaridad <boletin@example.org>").unwrap_or_else(|_| unreachable!());
        let to = mailbox("María Pérez <maria@example.org>").unwrap_or_else(|_| unreachable!());
        let url = "https://boletin.example.org/unsubscribe?token=7.AAAAAAAAAAAAAAAAAAAAAA";
        let h = mime::Headers {
            from: &from,
            to: &to,
            subject: "Boletín n.º 47 · 21 de noviembre de 2026",
            date: std::time::SystemTime::UNIX_EPOCH,
            message_id: "abc.2026-W47@example.org",
            list_id: "\"Boletin\" <boletin.example.org>",
            unsubscribe_url: Some(url),
            one_click: true,
            unsubscribe_mailto: Some("baja@example.org"),
            language: Some("es"),
        };
        let m = build(
            &h,
            "Acción urgente en Oaxaca\n",
            "<p>Acción urgente en Oaxaca</p>",
            dkim,
        )
        .unwrap_or_else(|err| panic!("{err}"));
        String::from_utf8_lossy(&m.formatted()).into_owned()
    }

    #[test]
    fn list_headers_are_present_and_unfolded() {
        let raw = sample(None);
        assert!(raw.contains("\r\nList-Unsubscribe: <https://boletin.example.org/unsubscribe?token=7.AAAAAAAAAAAAAAAAAAAAAA>, <mailto:baja@example.org?subject=unsubscribe>\r\n"), "{raw}");
        assert!(raw.contains("\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
        assert!(raw.contains("Message-ID: <abc.2026-W47@example.org>\r\n"));
        assert!(raw.contains("List-Id: \"Boletin\" <boletin.example.org>\r\n"));
        for name in ["From", "To", "Date", "Message-ID", "Subject"] {
            assert_eq!(
                raw.matches(&format!("\r\n{name}: ")).count()
                    + usize::from(raw.starts_with(&format!("{name}: "))),
                1,
                "{name}: {raw}"
            );
        }
    }

    #[test]
    fn dkim_signature_covers_both_unsubscribe_headers() {
        use base64::Engine;
        // A generated test key: 32 fixed bytes as an Ed25519 secret.
        let secret = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let key = DkimSigningKey::new(&secret, DkimSigningAlgorithm::Ed25519)
            .unwrap_or_else(|e| panic!("{e}"));
        let config = dkim_from_key("boletin2026", "example.org", key);
        let raw = sample(Some(&config));
        let start = raw
            .find("DKIM-Signature:")
            .unwrap_or_else(|| panic!("unsigned: {raw}"));
        let end = raw[start..].find("\r\n").map_or(raw.len(), |i| start + i);
        // The header may be folded over several lines.
        let mut sig = raw[start..end].to_string();
        let mut rest = &raw[end..];
        while let Some(next) = rest
            .strip_prefix("\r\n")
            .filter(|r| r.starts_with([' ', '\t']))
        {
            let stop = next.find("\r\n").unwrap_or(next.len());
            sig.push_str(&next[..stop]);
            rest = &next[stop..];
        }
        let sig: String = sig.split_whitespace().collect();
        assert!(sig.contains("d=example.org"), "{sig}");
        assert!(sig.contains("s=boletin2026"), "{sig}");
        let h = sig
            .split(';')
            .find_map(|t| t.trim().strip_prefix("h="))
            .unwrap_or_else(|| panic!("no h= in {sig}"))
            .to_ascii_lowercase();
        let signed: Vec<&str> = h.split(':').collect();
        for name in [
            "list-unsubscribe",
            "list-unsubscribe-post",
            "from",
            "list-id",
        ] {
            assert!(signed.contains(&name), "{name} not signed: {h}");
        }
    }
}
