//! One SMTP session at a time, driven command by command so that every reply can be
//! placed: a refusal of MAIL FROM is the sender's problem (stop the run), a refusal of
//! RCPT TO or of the message is the recipient's (4xx: defer, 5xx: bounce), and a broken
//! connection after the message was handed over leaves its fate unknown.
//!
//! An address with a non-ASCII mailbox name (or a domain with no ASCII form) needs the
//! server's SMTPUTF8; a server without it cannot carry that message, which says nothing
//! about the mailbox: such a row is [`Outcome::Unsupported`], never a bounce, whether the
//! server's EHLO lacks SMTPUTF8 or its 5xx reply says it only takes ASCII.
//!
//! `smtp://host[:port]` uses STARTTLS (required, port 587) except towards a loopback
//! host, where it is plain; `?tls=required|opportunistic|none` overrides. `smtps://` is
//! TLS from the first byte (port 465). Credentials come from `BOLETIN_SMTP_USER` and
//! `BOLETIN_SMTP_PASSWORD`.

use std::time::Duration;

use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use url::Url;

use super::DeliverError;

/// How the connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (`smtps://`).
    Implicit,
    /// STARTTLS, refusing to go on without it.
    Required,
    /// STARTTLS when offered.
    Opportunistic,
    /// Plain text (only sensible on loopback).
    None,
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct SmtpTarget {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) tls: TlsMode,
    pub(crate) credentials: Option<(String, String)>,
    /// Extra trusted CA certificates (PEM), besides the public web roots.
    pub ca_pem: Option<Vec<u8>>,
    /// The EHLO name: the sender's domain.
    pub hello: String,
    pub(crate) timeout: Duration,
}

impl SmtpTarget {
    /// Reads an `smtp://` / `smtps://` URL; `credentials` from the environment.
    pub fn from_url(
        url: &Url,
        credentials: Option<(String, String)>,
        hello: &str,
    ) -> Result<SmtpTarget, DeliverError> {
        let bad = |m: &str| DeliverError::Smtp(format!("{url}: {m}"));
        let host = url
            .host_str()
            .ok_or_else(|| bad("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        let asked = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let tls = match (url.scheme(), asked.as_deref()) {
            ("smtps", _) => TlsMode::Implicit,
            (_, Some("required")) => TlsMode::Required,
            (_, Some("opportunistic")) => TlsMode::Opportunistic,
            (_, Some("none")) => TlsMode::None,
            (_, Some(other)) => {
                return Err(bad(&format!(
                    "unknown tls={other} (use required, opportunistic or none)"
                )));
            }
            (_, None) if loopback => TlsMode::None,
            (_, None) => TlsMode::Required,
        };
        let port = url.port().unwrap_or(match tls {
            TlsMode::Implicit => 465,
            _ => 587,
        });
        Ok(SmtpTarget {
            host,
            port,
            tls,
            credentials,
            ca_pem: None,
            hello: hello.to_string(),
            timeout: Duration::from_secs(60),
        })
    }

    fn tls_parameters(&self) -> Result<TlsParameters, DeliverError> {
        let fail = |e: lettre::transport::smtp::Error| {
            DeliverError::Smtp(format!("{}: TLS setup: {e}", self.host))
        };
        let mut builder = TlsParameters::builder(self.host.clone());
        if let Some(pem) = &self.ca_pem {
            builder = builder.add_root_certificate(Certificate::from_pem(pem).map_err(fail)?);
        }
        builder.build_rustls().map_err(fail)
    }

    /// Opens a session: connect, EHLO, STARTTLS if asked, AUTH if credentials were given.
    pub fn connect(&self) -> Result<Session, DeliverError> {
        let hello = ClientId::Domain(self.hello.clone());
        let fail = |what: &str, e: lettre::transport::smtp::Error| {
            DeliverError::Smtp(format!("{}:{}: {what}: {e}", self.host, self.port))
        };
        let implicit = match self.tls {
            TlsMode::Implicit => Some(self.tls_parameters()?),
            _ => None,
        };
        let mut conn = SmtpConnection::connect(
            (self.host.as_str(), self.port),
            Some(self.timeout),
            &hello,
            implicit.as_ref(),
            None,
        )
        .map_err(|e| fail("cannot connect", e))?;
        match self.tls {
            TlsMode::Required | TlsMode::Opportunistic if conn.can_starttls() => {
                let params = self.tls_parameters()?;
                conn.starttls(&params, &hello)
                    .map_err(|e| fail("STARTTLS failed", e))?;
            }
            TlsMode::Required => {
                conn.abort();
                return Err(DeliverError::Smtp(format!(
                    "{}:{}: the server does not offer STARTTLS; use smtps:// or add ?tls=opportunistic to the URL",
                    self.host, self.port
                )));
            }
            _ => {}
        }
        if let Some((user, password)) = &self.credentials {
            conn.auth(
                &[Mechanism::Plain, Mechanism::Login],
                &Credentials::new(user.clone(), password.clone()),
            )
            .map_err(|e| {
                fail(
                    "login refused (check BOLETIN_SMTP_USER / BOLETIN_SMTP_PASSWORD)",
                    e,
                )
            })?;
        }
        Ok(Session { conn, used: false })
    }
}

/// How one transaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 250 after the message: delivered to the server.
    Sent(String),
    /// A 4xx for this recipient or message: try later.
    Deferred(String),
    /// A 5xx for this recipient or message: never again.
    Rejected(String),
    /// The server refused the sender (MAIL FROM): nothing about this recipient is known.
    SenderRefused(String),
    /// The connection broke; if it broke after the message was handed over, the server
    /// may have it. Retried like a 4xx.
    Broken(String),
    /// Our server lacks what this address needs (SMTPUTF8): the row fails, but the
    /// mailbox did not refuse anything, so the address is kept.
    Unsupported(String),
}

impl Outcome {
    /// A short word for people and JSON: `sent`, `deferred`, `rejected`, `sender refused`
    /// or `connection broke`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Sent(_) => "sent",
            Outcome::Deferred(_) => "deferred",
            Outcome::Rejected(_) => "rejected",
            Outcome::SenderRefused(_) => "sender refused",
            Outcome::Broken(_) => "connection broke",
            Outcome::Unsupported(_) => "not supported by the server",
        }
    }

    /// What the server said (or how the connection failed).
    pub fn reply(&self) -> &str {
        match self {
            Outcome::Sent(r)
            | Outcome::Deferred(r)
            | Outcome::Rejected(r)
            | Outcome::SenderRefused(r)
            | Outcome::Broken(r)
            | Outcome::Unsupported(r) => r,
        }
    }
}

/// `to` as plain ASCII (the domain in its IDNA form), or `None` when only SMTPUTF8 can
/// carry it: a non-ASCII mailbox name, or a domain with no ASCII form.
fn ascii_form(to: &Address) -> Option<Address> {
    if !to.user().is_ascii() {
        return None;
    }
    if to.domain().is_ascii() {
        return Some(to.clone());
    }
    let domain = idna::domain_to_ascii(to.domain()).ok()?;
    Address::new(to.user(), domain).ok()
}

/// Whether a 5xx reply says the server refuses non-ASCII (no SMTPUTF8, "strict ASCII"),
/// which is about our server, not about the mailbox.
fn refuses_non_ascii(reply: &str) -> bool {
    let reply = reply.to_ascii_lowercase();
    [
        "smtputf8",
        "strict ascii",
        "non-ascii",
        "non ascii",
        "8-bit characters",
        "utf8 not",
    ]
    .iter()
    .any(|m| reply.contains(m))
}

/// An open SMTP session.
pub struct Session {
    conn: SmtpConnection,
    used: bool,
}

fn reply_of(e: &lettre::transport::smtp::Error) -> String {
    e.to_string()
}

impl Session {
    /// Whether the session can carry another transaction.
    pub fn usable(&self) -> bool {
        !self.conn.has_broken()
    }

    /// One MAIL / RCPT / DATA transaction for one recipient.
    pub fn send(&mut self, from: &Address, to: &Address, message: &[u8]) -> Outcome {
        if self.used
            && let Err(e) = self.conn.command(Rset)
        {
            self.conn.abort();
            return Outcome::Broken(reply_of(&e));
        }
        let mut params = Vec::new();
        let to = match ascii_form(to) {
            Some(ascii) => ascii,
            None if self
                .conn
                .server_info()
                .supports_feature(Extension::SmtpUtfEight) =>
            {
                params.push(MailParameter::SmtpUtfEight);
                to.clone()
            }
            None => {
                return Outcome::Unsupported(format!(
                    "the SMTP server does not offer SMTPUTF8, which the non-ASCII address {to} needs; not a bounce (the address is kept): use a server with SMTPUTF8"
                ));
            }
        };
        self.used = true;
        if !message.is_ascii()
            && self
                .conn
                .server_info()
                .supports_feature(Extension::EightBitMime)
        {
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        if let Err(e) = self.conn.command(Mail::new(Some(from.clone()), params)) {
            return if e.status().is_some() {
                Outcome::SenderRefused(reply_of(&e))
            } else {
                self.conn.abort();
                Outcome::Broken(reply_of(&e))
            };
        }
        if let Err(e) = self.conn.command(Rcpt::new(to, vec![])) {
            return self.classify(e);
        }
        if let Err(e) = self.conn.command(Data) {
            return self.classify(e);
        }
        match self.conn.message(message) {
            Ok(reply) => Outcome::Sent(
                format!(
                    "{} {}",
                    reply.code(),
                    reply.message().collect::<Vec<_>>().join(" ")
                )
                .trim()
                .to_string(),
            ),
            Err(e) => self.classify(e),
        }
    }

    fn classify(&mut self, e: lettre::transport::smtp::Error) -> Outcome {
        let reply = reply_of(&e);
        if e.is_permanent() && refuses_non_ascii(&reply) {
            Outcome::Unsupported(format!(
                "{reply} (the server refused non-ASCII text; not a bounce: the address is kept)"
            ))
        } else if e.is_permanent() {
            Outcome::Rejected(reply_of(&e))
        } else if e.is_transient() {
            Outcome::Deferred(reply_of(&e))
        } else {
            self.conn.abort();
            Outcome::Broken(reply_of(&e))
        }
    }

    /// Says goodbye.
    pub fn quit(mut self) {
        let _ = self.conn.quit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Result<SmtpTarget, DeliverError> {
        let url = Url::parse(url).map_err(|e| DeliverError::Smtp(e.to_string()))?;
        SmtpTarget::from_url(&url, None, "example.org")
    }

    #[test]
    fn url_schemes_choose_tls_and_port() {
        let t = target("smtp://mail.example.org").map_err(|e| e.to_string());
        assert_eq!(
            t.as_ref().map(|t| (t.tls, t.port)),
            Ok((TlsMode::Required, 587))
        );
        let t = target("smtps://mail.example.org").map_err(|e| e.to_string());
        assert_eq!(
            t.as_ref().map(|t| (t.tls, t.port)),
            Ok((TlsMode::Implicit, 465))
        );
        let t = target("smtp://127.0.0.1:2525").map_err(|e| e.to_string());
        assert_eq!(
            t.as_ref().map(|t| (t.tls, t.port)),
            Ok((TlsMode::None, 2525))
        );
        let t = target("smtp://mail.example.org:25?tls=opportunistic").map_err(|e| e.to_string());
        assert_eq!(t.as_ref().map(|t| t.tls), Ok(TlsMode::Opportunistic));
        assert!(target("smtp://mail.example.org?tls=maybe").is_err());
    }
}
