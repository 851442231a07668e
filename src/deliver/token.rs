//! The signed tokens in the links boletin mails: `serve` trusts a link without a session
//! or a lookup table, and nobody without the secret can forge or alter one.
//!
//! Each kind signs with its own purpose, so a token of one kind never passes for another:
//! - unsubscribe, `<id>.<tag>`: `tag` is the first 16 bytes of HMAC-SHA256(secret,
//!   `"boletin-unsubscribe-v1:" + id`) in unpadded base64url;
//! - a test send's unsubscribe link, `test-<lang>.<tag>` (purpose
//!   `boletin-unsubscribe-test-v1`): it names no subscriber, and `serve` answers it with
//!   a page saying it came from a test and changed nothing;
//! - a signup confirmation, `s2.<sealed>`: the address, name, language and time of the
//!   request, so that nothing is stored before the reader follows the link, which expires
//!   [`SIGNUP_VALID_HOURS`] later. The request is sealed, not only signed: encrypted with
//!   XChaCha20-Poly1305 under a key derived from the secret for this use alone, with a
//!   random nonce, and padded to a multiple of [`SEAL_BLOCK`] bytes. A link ends up in
//!   proxy logs, browser history and mail scanners' reports; what it carries must mean
//!   nothing there, and the token's length tells an address's length only roughly.
//!
//! Tags are checked in constant time, and a sealed token is authenticated before a byte
//! of it is read, so a forged token learns nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::lang::Lang;

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

/// Why a secret cannot be used, or a token made with it.
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
    /// A signup token could not be sealed (the system gave no random nonce).
    #[error("cannot seal a confirmation link: {0}")]
    Random(String),
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

    /// A 256-bit key for `label` alone: a key for one use is no key for another, and
    /// none of them is the secret itself.
    fn derive_key(&self, label: &str) -> Key {
        Key::from(<[u8; 32]>::from(
            self.mac(label, "").finalize().into_bytes(),
        ))
    }

    /// A hex digest for deriving stable identifiers (e.g. Message-IDs) from the secret.
    pub fn derive_hex(&self, purpose: &str, data: &str, bytes: usize) -> String {
        let out = self.mac(purpose, data).finalize().into_bytes();
        out.iter().take(bytes).map(|b| format!("{b:02x}")).collect()
    }
}

/// The unsubscribe token for subscriber `id`.
pub fn sign(secret: &Secret, id: i64) -> String {
    format!("{id}.{}", tag(secret, UNSUBSCRIBE_PURPOSE, &id.to_string()))
}

/// The subscriber id in `token` if its tag is genuine; `None` for anything else.
pub fn verify(secret: &Secret, token: &str) -> Option<i64> {
    let (id, tag) = token.trim().split_once('.')?;
    if id.is_empty() || id.len() > 19 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    check(secret, UNSUBSCRIBE_PURPOSE, id, tag)
        .then(|| id.parse().ok())
        .flatten()
}

/// The unsubscribe token of a test send in `lang`: genuine, and naming nobody.
pub fn sign_test(secret: &Secret, lang: Lang) -> String {
    let kind = format!("test-{}", lang.code());
    format!("{kind}.{}", tag(secret, TEST_PURPOSE, &kind))
}

/// The language of a genuine test send's token; `None` for anything else.
pub fn verify_test(secret: &Secret, token: &str) -> Option<Lang> {
    let (kind, tag) = token.trim().split_once('.')?;
    let lang = Lang::from_code(kind.strip_prefix("test-")?)?;
    check(secret, TEST_PURPOSE, kind, tag).then_some(lang)
}

const UNSUBSCRIBE_PURPOSE: &str = "boletin-unsubscribe-v1";
const TEST_PURPOSE: &str = "boletin-unsubscribe-test-v1";
/// The label of the key that seals signup tokens, also their associated data.
const SIGNUP_KEY: &str = "boletin-subscribe-key-v2";
/// What every sealed signup token starts with: a version, so another kind can follow.
const SIGNUP_PREFIX: &str = "s2.";
/// Sealed requests are padded to a multiple of this many bytes.
const SEAL_BLOCK: usize = 64;
const NONCE_BYTES: usize = 24;
const AEAD_TAG_BYTES: usize = 16;

/// How long a signup confirmation link works.
pub const SIGNUP_VALID_HOURS: i64 = 48;

/// Longest signup token read: an address (254 bytes) and a name (100 characters, up to 4
/// bytes each) sealed and in base64 fit well inside; anything longer is not one of ours.
const MAX_SIGNUP_TOKEN: usize = 1200;

/// What a reader asked for on the signup form, as the confirmation link carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signup {
    /// The address, checked (see `subscribers::normalize_email`).
    pub email: String,
    /// The name as typed, possibly empty.
    pub name: String,
    /// The language the reader chose.
    pub lang: Lang,
    /// When the form was sent, to the second: the link expires from here, and an
    /// unsubscribe after it outweighs the link.
    pub asked: DateTime<Utc>,
}

/// Why a confirmation link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupRefused {
    /// Not a genuine token (forged, altered, cut short, or not a signup token).
    Invalid,
    /// Genuine, but older than [`SIGNUP_VALID_HOURS`]; the language the reader chose,
    /// for the page that says so.
    Expired(Lang),
}

/// The confirmation token for `signup`: the request sealed (see the module header).
pub fn sign_signup(secret: &Secret, signup: &Signup) -> Result<String, TokenError> {
    // Lines, since neither an address nor a cleaned name holds a line break; NUL pads.
    let mut plain = format!(
        "{}\n{}\n{}\n{}",
        signup.asked.timestamp(),
        signup.lang.code(),
        signup.email,
        signup.name
    )
    .into_bytes();
    plain.resize(plain.len().div_ceil(SEAL_BLOCK) * SEAL_BLOCK, 0);
    let nonce = XNonce::try_generate().map_err(|e| TokenError::Random(e.to_string()))?;
    let sealed = XChaCha20Poly1305::new(&secret.derive_key(SIGNUP_KEY))
        .encrypt(
            &nonce,
            Payload {
                msg: &plain,
                aad: SIGNUP_KEY.as_bytes(),
            },
        )
        .map_err(|_| TokenError::Random("the request could not be sealed".into()))?;
    let mut bytes = nonce.to_vec();
    bytes.extend_from_slice(&sealed);
    Ok(format!("{SIGNUP_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The signup in a genuine token still valid at `now`.
pub fn verify_signup(
    secret: &Secret,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Signup, SignupRefused> {
    let token = token.trim();
    if token.len() > MAX_SIGNUP_TOKEN {
        return Err(SignupRefused::Invalid);
    }
    let sealed = token
        .strip_prefix(SIGNUP_PREFIX)
        .and_then(|b64| URL_SAFE_NO_PAD.decode(b64).ok())
        .filter(|b| b.len() >= NONCE_BYTES + AEAD_TAG_BYTES)
        .ok_or(SignupRefused::Invalid)?;
    let (nonce, sealed) = sealed.split_at(NONCE_BYTES);
    let nonce = XNonce::try_from(nonce).map_err(|_| SignupRefused::Invalid)?;
    let plain = XChaCha20Poly1305::new(&secret.derive_key(SIGNUP_KEY))
        .decrypt(
            &nonce,
            Payload {
                msg: sealed,
                aad: SIGNUP_KEY.as_bytes(),
            },
        )
        .map_err(|_| SignupRefused::Invalid)?;
    let text = String::from_utf8(plain).map_err(|_| SignupRefused::Invalid)?;
    let mut parts = text.trim_end_matches('\0').splitn(4, '\n');
    let mut next = || parts.next().ok_or(SignupRefused::Invalid);
    let asked = next()?
        .parse::<i64>()
        .ok()
        .and_then(|t| DateTime::from_timestamp(t, 0))
        .ok_or(SignupRefused::Invalid)?;
    let lang = Lang::from_code(next()?).ok_or(SignupRefused::Invalid)?;
    let email = next()?.to_string();
    let name = next()?.to_string();
    if now - asked > chrono::Duration::hours(SIGNUP_VALID_HOURS) {
        return Err(SignupRefused::Expired(lang));
    }
    Ok(Signup {
        email,
        name,
        lang,
        asked,
    })
}

/// The tag of `data` for `purpose`, as written in tokens.
fn tag(secret: &Secret, purpose: &str, data: &str) -> String {
    let tag = secret.mac(purpose, data).finalize().into_bytes();
    URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES])
}

/// Whether `tag` (as written in a token) is `data`'s for `purpose`, in constant time.
fn check(secret: &Secret, purpose: &str, data: &str, tag: &str) -> bool {
    let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
        return false;
    };
    tag.len() == TAG_BYTES
        && secret
            .mac(purpose, data)
            .verify_truncated_left(&tag)
            .is_ok()
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

    #[test]
    fn test_tokens_are_signed_and_name_nobody() {
        let t = sign_test(&secret(), Lang::En);
        assert!(t.starts_with("test-en."), "{t}");
        assert_eq!(verify_test(&secret(), &t), Some(Lang::En));
        assert_eq!(
            verify_test(&secret(), &sign_test(&secret(), Lang::Es)),
            Some(Lang::Es)
        );
        // Not a subscriber's token, and a subscriber's token is not a test token.
        assert_eq!(verify(&secret(), &t), None);
        assert_eq!(verify_test(&secret(), &sign(&secret(), 42)), None);
        // The language cannot be swapped, nor the tag made up.
        let swapped = t.replacen("test-en.", "test-es.", 1);
        assert_eq!(verify_test(&secret(), &swapped), None);
        assert_eq!(
            verify_test(&secret(), "test-es.AAAAAAAAAAAAAAAAAAAAAA"),
            None
        );
        let other =
            Secret::new("another secret of sufficient length").unwrap_or_else(|_| unreachable!());
        assert_eq!(verify_test(&other, &t), None);
    }

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000 + hours * 3600, 0).unwrap_or_default()
    }

    #[test]
    fn signup_tokens_carry_the_request_sealed_and_expire() {
        let signup = Signup {
            email: "maría.núñez@ejemplo.org".into(),
            name: "María Núñez".into(),
            lang: Lang::Es,
            asked: at(0),
        };
        let t = sign_signup(&secret(), &signup).unwrap_or_default();
        assert!(t.len() < MAX_SIGNUP_TOKEN, "{}", t.len());
        assert_eq!(verify_signup(&secret(), &t, at(1)), Ok(signup.clone()));
        assert_eq!(verify_signup(&secret(), &t, at(48)), Ok(signup.clone()));
        assert_eq!(
            verify_signup(&secret(), &t, at(49)),
            Err(SignupRefused::Expired(Lang::Es))
        );
        // Nothing of the request shows, in the token or in its base64 decoding.
        let bytes = URL_SAFE_NO_PAD
            .decode(t.trim_start_matches(SIGNUP_PREFIX))
            .unwrap_or_default();
        let decoded = String::from_utf8_lossy(&bytes);
        for part in ["núñez", "ejemplo", "María", "1795000000"] {
            assert!(
                !t.contains(part) && !decoded.contains(part),
                "{part} in {t}"
            );
        }
        // Two tokens for one request differ (a fresh nonce each), and both work.
        let again = sign_signup(&secret(), &signup).unwrap_or_default();
        assert_ne!(again, t);
        assert_eq!(verify_signup(&secret(), &again, at(1)), Ok(signup.clone()));
        // Lengths come in steps: a shorter address gives the same length.
        let short = Signup {
            email: "ana@ejemplo.org".into(),
            name: String::new(),
            ..signup.clone()
        };
        let short_token = sign_signup(&secret(), &short).unwrap_or_default();
        assert_eq!(short_token.len(), t.len());
        // Any byte changed, another secret, or the plain payload of the first version.
        let mut altered = bytes.clone();
        altered[30] ^= 1;
        let altered = format!("{SIGNUP_PREFIX}{}", URL_SAFE_NO_PAD.encode(&altered));
        let other =
            Secret::new("another secret of sufficient length").unwrap_or_else(|_| unreachable!());
        let plain =
            URL_SAFE_NO_PAD.encode(format!("{}\nes\nintruso@ejemplo.org\n", at(0).timestamp()));
        for bad in [
            altered,
            format!("{plain}.AAAAAAAAAAAAAAAAAAAAAA"),
            format!("{SIGNUP_PREFIX}{plain}"),
        ] {
            assert_eq!(
                verify_signup(&secret(), &bad, at(1)),
                Err(SignupRefused::Invalid),
                "{bad}"
            );
        }
        assert_eq!(
            verify_signup(&other, &t, at(1)),
            Err(SignupRefused::Invalid)
        );
        // Other kinds of token, and junk.
        for junk in [
            sign(&secret(), 7),
            sign_test(&secret(), Lang::Es),
            String::new(),
            SIGNUP_PREFIX.to_string(),
            format!("{SIGNUP_PREFIX}AAAA"),
            "x".repeat(5000),
        ] {
            assert_eq!(
                verify_signup(&secret(), &junk, at(1)),
                Err(SignupRefused::Invalid),
                "{junk}"
            );
        }
        assert_eq!(verify(&secret(), &t), None);
    }
}
