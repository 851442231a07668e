//! Unsubscribe tokens: a subscriber id and an HMAC-SHA256 tag over it, so that `serve`
//! can trust a link without a session or a lookup table, and nobody can forge one.
//!
//! Format: `<id>.<tag>`, with `tag` the first 16 bytes of HMAC-SHA256(secret,
//! `"boletin-unsubscribe-v1:" + id`) in unpadded base64url. The tag is checked in
//! constant time before the database is consulted, so a forged token learns nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const TAG_BYTES: usize = 16;

/// The secret HMAC key (from `BOLETIN_SECRET` or `[delivery] secret`).
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Why a secret cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// No secret was configured.
    #[error(
        "no unsubscribe secret: set BOLETIN_SECRET (at least 16 characters, e.g. `openssl rand -hex 32`) or [delivery] secret"
    )]
    Missing,
    /// The secret is too short to resist guessing.
    #[error("the unsubscribe secret is too short: use at least 16 characters")]
    TooShort,
}

impl Secret {
    pub(crate) fn new(text: &str) -> Result<Secret, TokenError> {
        if text.trim().len() < 16 {
            return Err(TokenError::TooShort);
        }
        Ok(Secret(text.trim().as_bytes().to_vec()))
    }

    /// `BOLETIN_SECRET` if set, else the configured value (which the config checked).
    pub fn resolve(env: Option<String>, configured: Option<&Secret>) -> Result<Secret, TokenError> {
        match env.filter(|s| !s.trim().is_empty()) {
            Some(s) => Secret::new(&s),
            None => configured.cloned().ok_or(TokenError::Missing),
        }
    }

    fn mac(&self, purpose: &str, data: &str) -> HmacSha256 {
        // HMAC takes keys of any length, so this cannot fail.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(purpose.as_bytes());
        mac.update(b":");
        mac.update(data.as_bytes());
        mac
    }

    /// A hex digest for deriving stable identifiers (e.g. Message-IDs) from the secret.
    pub fn derive_hex(&self, purpose: &str, data: &str, bytes: usize) -> String {
        let out = self.mac(purpose, data).finalize().into_bytes();
        out.iter().take(bytes).map(|b| format!("{b:02x}")).collect()
    }
}

/// The unsubscribe token for subscriber `id`.
pub fn sign(secret: &Secret, id: i64) -> String {
    let tag = secret
        .mac("boletin-unsubscribe-v1", &id.to_string())
        .finalize()
        .into_bytes();
    format!("{id}.{}", URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES]))
}

/// The subscriber id in `token` if its tag is genuine; `None` for anything else.
pub fn verify(secret: &Secret, token: &str) -> Option<i64> {
    let (id, tag) = token.trim().split_once('.')?;
    if id.is_empty() || id.len() > 19 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    if tag.len() != TAG_BYTES {
        return None;
    }
    secret
        .mac("boletin-unsubscribe-v1", id)
        .verify_truncated_left(&tag)
        .ok()?;
    id.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("correct horse battery staple").unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn a_token_round_trips() {
        let t = sign(&secret(), 42);
        assert!(t.starts_with("42."));
        assert_eq!(verify(&secret(), &t), Some(42));
    }

    #[test]
    fn altered_or_foreign_tokens_are_refused() {
        let t = sign(&secret(), 42);
        // Another id with the same tag.
        let swapped = t.replacen("42.", "43.", 1);
        assert_eq!(verify(&secret(), &swapped), None);
        // One character of the tag changed.
        let mut bytes = t.clone().into_bytes();
        let last = bytes.len() - 1;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(verify(&secret(), &String::from_utf8_lossy(&bytes)), None);
        // Signed with another secret.
        let other =
            Secret::new("another secret of sufficient length").unwrap_or_else(|_| unreachable!());
        assert_eq!(verify(&other, &t), None);
        for junk in [
            "",
            ".",
            "42",
            "42.",
            "-1.AAAA",
            "42.!!!",
            "99999999999999999999.AAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(verify(&secret(), junk), None, "{junk}");
        }
    }

    #[test]
    fn short_or_missing_secrets_are_rejected() {
        assert!(matches!(Secret::new("short"), Err(TokenError::TooShort)));
        assert!(matches!(
            Secret::resolve(None, None),
            Err(TokenError::Missing)
        ));
        let configured = secret();
        assert!(Secret::resolve(Some("from the environment!".into()), Some(&configured)).is_ok());
        assert!(Secret::resolve(Some("  ".into()), Some(&configured)).is_ok());
        // The environment wins, so a short one there is refused, not skipped.
        assert!(matches!(
            Secret::resolve(Some("short".into()), Some(&configured)),
            Err(TokenError::TooShort)
        ));
    }
}
