//! The signed tokens in the links boletin mails: `serve` trusts a link without a session
//! or a lookup table, and nobody without the secret can forge or alter one.
//!
//! Each kind signs with its own purpose, so a token of one kind never passes for another:
//! - unsubscribe, `<id>.<tag>`: `tag` is the first 16 bytes of HMAC-SHA256(secret,
//!   `"boletin-unsubscribe-v1:" + id`) in unpadded base64url;
//! - a test send's unsubscribe link, `test-<lang>.<tag>` (purpose
//!   `boletin-unsubscribe-test-v1`): it names no subscriber, and `serve` answers it with
//!   a page saying it came from a test and changed nothing;
//! - a signup confirmation, `<payload>.<tag>` (purpose `boletin-subscribe-v1`): the
//!   address, name, language and time of the request, so that nothing is stored before
//!   the reader follows the link, which expires [`SIGNUP_VALID_HOURS`] later.
//!
//! Tags are checked in constant time before anything is read from the token or the
//! database, so a forged token learns nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
const SIGNUP_PURPOSE: &str = "boletin-subscribe-v1";

/// How long a signup confirmation link works.
pub const SIGNUP_VALID_HOURS: i64 = 48;

/// Longest signup token read: an address (254) and a name (100 characters, up to 4 bytes
/// each) in base64 fit well inside; anything longer is not one of ours.
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
    /// Genuine, but older than [`SIGNUP_VALID_HOURS`].
    Expired,
}

/// The confirmation token for `signup`.
pub fn sign_signup(secret: &Secret, signup: &Signup) -> String {
    // Lines, since neither an address nor a name from the form holds a line break.
    let text = format!(
        "{}\n{}\n{}\n{}",
        signup.asked.timestamp(),
        signup.lang.code(),
        signup.email,
        signup.name
    );
    let payload = URL_SAFE_NO_PAD.encode(text.as_bytes());
    let tag = tag(secret, SIGNUP_PURPOSE, &payload);
    format!("{payload}.{tag}")
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
    let (payload, tag) = token.split_once('.').ok_or(SignupRefused::Invalid)?;
    if !check(secret, SIGNUP_PURPOSE, payload, tag) {
        return Err(SignupRefused::Invalid);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| SignupRefused::Invalid)?;
    let text = String::from_utf8(bytes).map_err(|_| SignupRefused::Invalid)?;
    let mut parts = text.splitn(4, '\n');
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
        return Err(SignupRefused::Expired);
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
    fn signup_tokens_carry_the_request_and_expire() {
        let signup = Signup {
            email: "maría.núñez@ejemplo.org".into(),
            name: "María Núñez".into(),
            lang: Lang::Es,
            asked: at(0),
        };
        let t = sign_signup(&secret(), &signup);
        assert!(t.len() < MAX_SIGNUP_TOKEN, "{}", t.len());
        assert_eq!(verify_signup(&secret(), &t, at(1)), Ok(signup.clone()));
        assert_eq!(verify_signup(&secret(), &t, at(48)), Ok(signup.clone()));
        assert_eq!(
            verify_signup(&secret(), &t, at(49)),
            Err(SignupRefused::Expired)
        );
        // Another address in the payload, the old tag kept.
        let (_, tag) = t.split_once('.').unwrap_or_default();
        let forged = format!(
            "{}.{tag}",
            URL_SAFE_NO_PAD.encode(format!("{}\nes\nintruso@ejemplo.org\n", at(0).timestamp()))
        );
        assert_eq!(
            verify_signup(&secret(), &forged, at(1)),
            Err(SignupRefused::Invalid)
        );
        // Other kinds of token, and junk.
        for junk in [
            sign(&secret(), 7),
            sign_test(&secret(), Lang::Es),
            String::new(),
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
