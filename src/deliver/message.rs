//! One subscriber's message. A [`Mailing`] (one edition, the list's headers, the secret
//! and the DKIM key) turns a journal row into the bytes for DATA: the subscriber's
//! language version, their unsubscribe link in the footer, the headers and parts that
//! `mime` writes for every boletin message (List-Id, List-Unsubscribe with the personal
//! https URL and a mailto, List-Unsubscribe-Post for RFC 8058 one-click), optionally
//! DKIM-signed with both unsubscribe headers among the signed ones. It sends nothing.

use lettre::message::Mailbox;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::HeaderName;
use lettre::{Address, Message};
use url::Url;

use super::outgoing::{OutgoingEdition, personalize};
use super::{DeliverError, token};
use crate::config::{Config, Dkim, DkimAlgorithm};
use crate::deliver::token::Secret;
use crate::lang::Lang;
use crate::publish::{links, mime};
use crate::store::JournalRow;

/// One edition's mailing: everything needed to turn a subscriber into their message.
#[derive(Clone)]
pub struct Mailing<'a> {
    pub(crate) edition: &'a OutgoingEdition,
    pub(crate) list: mime::ListHeaders,
    /// `[delivery] unsubscribe_url`: each subscriber's link is it plus a signed token.
    pub unsubscribe_url: Option<Url>,
    /// The footer's unsubscribe link when there is no web endpoint (the mailto).
    pub fallback_link: String,
    pub(crate) secret: &'a Secret,
    pub(crate) dkim: Option<&'a DkimConfig>,
}

impl<'a> Mailing<'a> {
    /// The mailing of `edition` with the config's `[newsletter]` and `[delivery]` settings.
    pub fn new(
        config: &Config,
        edition: &'a OutgoingEdition,
        secret: &'a Secret,
        dkim: Option<&'a DkimConfig>,
    ) -> Result<Mailing<'a>, DeliverError> {
        Ok(Mailing {
            edition,
            list: mime::ListHeaders::new(config)
                .map_err(|e| DeliverError::Message(e.to_string()))?,
            unsubscribe_url: config.delivery.unsubscribe_url.clone(),
            fallback_link: links::default_unsubscribe_url(config),
            secret,
            dkim,
        })
    }

    /// The envelope sender: the address of `[newsletter] from`.
    pub fn sender(&self) -> &Address {
        &self.list.from.email
    }

    /// The personal unsubscribe URL of subscriber `id`.
    pub fn unsubscribe_link(&self, id: i64) -> Option<String> {
        self.link_with_token(&token::sign(self.secret, id))
    }

    /// The unsubscribe URL of a test send in `lang`: it leads to a page saying so, and
    /// unsubscribes nobody.
    pub fn test_unsubscribe_link(&self, lang: Lang) -> Option<String> {
        self.link_with_token(&token::sign_test(self.secret, lang))
    }

    fn link_with_token(&self, token: &str) -> Option<String> {
        self.unsubscribe_url.as_ref().map(|base| {
            let mut url = base.clone();
            url.query_pairs_mut().append_pair("token", token);
            url.to_string()
        })
    }

    /// The Message-ID of this edition's message to subscriber `id`: stable across retries
    /// (so duplicates are recognizable), unguessable, and unique per (edition, subscriber).
    pub fn message_id(&self, id: i64) -> String {
        let tag = self
            .secret
            .derive_hex("message-id", &format!("{}/{id}", self.edition.id), 12);
        format!("{tag}.{}@{}", self.edition.id, self.sender().domain())
    }

    /// The finished message for one recipient, as bytes for DATA, and its language.
    pub fn message(
        &self,
        to: Mailbox,
        lang: Option<Lang>,
        unsubscribe_id: i64,
        message_id: &str,
    ) -> Result<(Lang, Vec<u8>), DeliverError> {
        self.message_with_link(to, lang, self.unsubscribe_link(unsubscribe_id), message_id)
    }

    /// [`Mailing::message`] with `link` as its unsubscribe link (a test send's).
    pub fn message_with_link(
        &self,
        to: Mailbox,
        lang: Option<Lang>,
        link: Option<String>,
        message_id: &str,
    ) -> Result<(Lang, Vec<u8>), DeliverError> {
        let version = self
            .edition
            .version_for(lang)
            .ok_or_else(|| DeliverError::Setup("the edition has no language version".into()))?;
        // Without a web endpoint the footer link falls back to the mailto.
        let (html, text) = personalize(version, link.as_deref().unwrap_or(&self.fallback_link));
        let headers = mime::MessageHeaders {
            to: &to,
            subject: &version.subject,
            date: std::time::SystemTime::now(),
            message_id,
            unsubscribe_url: link.as_deref(),
            language: Some(version.lang.code()),
        };
        let m = build(&self.list, &headers, &text, &html, self.dkim)?;
        Ok((version.lang, m.formatted()))
    }

    /// A journal row's message, with its recipient's address for the envelope.
    pub fn row_message(&self, row: &JournalRow) -> Result<(Address, Lang, Vec<u8>), DeliverError> {
        let to = recipient(&row.email, &row.name)?;
        let address = to.email.clone();
        let (lang, bytes) = self.message(to, row.language, row.subscriber_id, &row.message_id)?;
        Ok((address, lang, bytes))
    }
}

/// A subscriber's mailbox; an address the store kept but SMTP cannot carry is this
/// recipient's failure alone.
pub fn recipient(email: &str, name: &str) -> Result<Mailbox, DeliverError> {
    mime::recipient(email, name).map_err(|e| DeliverError::Message(e.to_string()))
}

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
    list: &mime::ListHeaders,
    headers: &mime::MessageHeaders<'_>,
    text: &str,
    html: &str,
    dkim: Option<&DkimConfig>,
) -> Result<Message, DeliverError> {
    let mut message = mime::build(list, headers, text, html)
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

#[cfg(test)]
mod tests {
    use super::*;
    use mime::mailbox;

    fn sample(dkim: Option<&DkimConfig>) -> String {
        let list = mime::ListHeaders {
            from: mailbox("Boletín Solidaridad <boletin@example.org>")
                .unwrap_or_else(|_| unreachable!()),
            list_id: "\"Boletin\" <boletin.example.org>".into(),
            unsubscribe_mailto: "baja@example.org".into(),
        };
        let to = mailbox("María Pérez <maria@example.org>").unwrap_or_else(|_| unreachable!());
        let url = "https://boletin.example.org/unsubscribe?token=7.AAAAAAAAAAAAAAAAAAAAAA";
        let h = mime::MessageHeaders {
            to: &to,
            subject: "Boletín n.º 47 · 21 de noviembre de 2026",
            date: std::time::SystemTime::UNIX_EPOCH,
            message_id: "abc.2026-W47@example.org",
            unsubscribe_url: Some(url),
            language: Some("es"),
        };
        let m = build(
            &list,
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
