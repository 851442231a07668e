//! The mail that confirms a signup (double opt-in): it carries the sealed, expiring link
//! (see [`token::sign_signup`]) that makes the reader active when followed; nothing is
//! stored before that.
//!
//! Built and carried like an edition's messages: the list's headers through
//! `publish::mime`, DKIM-signed by [`message::build`] when signing is configured, and sent
//! over [`smtp`] sessions to the configured server. Its text is the newsletter's and the
//! reader's own address only: the name typed on the form is not in it, so the form cannot
//! be used to mail a stranger someone else's words.

use lettre::Address;
use lettre::message::dkim::DkimConfig;
use url::Url;

use super::token::{self, SIGNUP_VALID_HOURS, Secret, Signup};
use super::{DeliverError, message, smtp};
use crate::config::Config;
use crate::html::escape::escape;
use crate::lang::Lang;
use crate::publish::mime;

/// Everything needed to mail confirmation links.
pub struct Confirmations {
    list: mime::ListHeaders,
    title: String,
    secret: Secret,
    dkim: Option<DkimConfig>,
    target: smtp::SmtpTarget,
    /// `boletin serve`'s public confirmation page; the token goes in `?token=`.
    confirm_url: Url,
}

impl std::fmt::Debug for Confirmations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Confirmations")
            .field("confirm_url", &self.confirm_url.as_str())
            .field(
                "smtp",
                &format_args!("{}:{}", self.target.host, self.target.port),
            )
            .finish_non_exhaustive()
    }
}

impl Confirmations {
    /// Confirmations from the config's `[newsletter]` and `[delivery]`, sent through
    /// `target` with links to `confirm_url`.
    pub fn new(
        config: &Config,
        secret: Secret,
        target: smtp::SmtpTarget,
        dkim: Option<DkimConfig>,
        confirm_url: Url,
    ) -> Result<Confirmations, DeliverError> {
        Ok(Confirmations {
            list: mime::ListHeaders::new(config)
                .map_err(|e| DeliverError::Message(e.to_string()))?,
            title: config.newsletter.title.clone(),
            secret,
            dkim,
            target,
            confirm_url,
        })
    }

    /// The link that confirms `signup`.
    pub fn link(&self, signup: &Signup) -> Result<String, DeliverError> {
        let token = token::sign_signup(&self.secret, signup)
            .map_err(|e| DeliverError::Message(e.to_string()))?;
        let mut url = self.confirm_url.clone();
        url.query_pairs_mut().append_pair("token", &token);
        Ok(url.to_string())
    }

    /// The scheme, host and port readers reach `serve` at (`https://boletin.example.org`):
    /// the origin of the signup form's own page.
    pub fn origin(&self) -> String {
        self.confirm_url.origin().ascii_serialization()
    }

    /// The confirmation message for `signup`, as bytes for DATA, and its recipient.
    pub fn message(&self, signup: &Signup) -> Result<(Address, Vec<u8>), DeliverError> {
        let to = message::recipient(&signup.email, "")?;
        let link = self.link(signup)?;
        let (subject, text, html) = words(signup.lang, &self.title, &signup.email, &link);
        let tag = self.secret.derive_hex(
            "confirm-message-id",
            &format!("{}/{}", signup.email, signup.asked.timestamp()),
            12,
        );
        let message_id = format!("confirm.{tag}@{}", self.list.from.email.domain());
        let headers = mime::MessageHeaders {
            to: &to,
            subject: &subject,
            date: std::time::SystemTime::now(),
            message_id: &message_id,
            unsubscribe_url: None,
            language: Some(signup.lang.code()),
        };
        let m = message::build(&self.list, &headers, &text, &html, self.dkim.as_ref())?;
        Ok((to.email, m.formatted()))
    }

    /// Mails each of `signups` over one SMTP session; one result per signup, in order.
    /// A message that cannot be built, or a server that cannot be reached, fails only the
    /// signups it concerns.
    pub fn send(&self, signups: &[Signup]) -> Vec<Result<smtp::Outcome, DeliverError>> {
        let mut session: Option<smtp::Session> = None;
        let mut out = Vec::with_capacity(signups.len());
        for signup in signups {
            out.push(self.send_one(&mut session, signup));
        }
        if let Some(s) = session {
            s.quit();
        }
        out
    }

    fn send_one(
        &self,
        session: &mut Option<smtp::Session>,
        signup: &Signup,
    ) -> Result<smtp::Outcome, DeliverError> {
        let (to, bytes) = self.message(signup)?;
        if session.as_ref().is_none_or(|s| !s.usable()) {
            *session = Some(self.target.connect()?);
        }
        let Some(conn) = session.as_mut() else {
            return Err(DeliverError::Smtp("no connection".into()));
        };
        Ok(conn.send(&self.list.from.email, &to, &bytes))
    }
}

/// Subject, text and HTML of the confirmation in `lang`.
fn words(lang: Lang, title: &str, email: &str, link: &str) -> (String, String, String) {
    let hours = SIGNUP_VALID_HOURS;
    let (subject, greeting, asked, open, ignore, button) = match lang {
        Lang::Es => (
            format!("Confirma tu suscripción a {title}"),
            "Hola:",
            format!("Alguien (seguramente tú) pidió recibir «{title}» en {email}."),
            format!(
                "Para confirmar la suscripción, abre este enlace en las próximas {hours} horas:"
            ),
            "Si no lo pediste tú, ignora este correo: sin confirmar no te enviaremos nada.",
            "Confirmar mi suscripción",
        ),
        Lang::En => (
            format!("Confirm your subscription to {title}"),
            "Hello,",
            format!("Someone (most likely you) asked to receive “{title}” at {email}."),
            format!("To confirm the subscription, open this link within {hours} hours:"),
            "If it was not you, ignore this message: without confirmation we will send you nothing.",
            "Confirm my subscription",
        ),
    };
    // The link on a line of its own, never wrapped: text-only readers can copy it whole.
    let text = format!("{greeting}\n\n{asked}\n{open}\n\n{link}\n\n{ignore}\n");
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"{code}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{subject}</title></head>\
<body style=\"font-family:Arial,Helvetica,sans-serif;color:#222;line-height:1.5;max-width:36em;margin:0 auto;padding:1em\">\
<p style=\"color:#8b1e3f;font-weight:bold\">{title_html}</p><p>{greeting}</p><p>{asked}</p><p>{open}</p>\
<p><a href=\"{link}\" style=\"display:inline-block;padding:.6em 1.2em;background:#8b1e3f;color:#fff;text-decoration:none;border-radius:4px\">{button}</a></p>\
<p style=\"font-size:.9em;word-break:break-all\"><a href=\"{link}\" style=\"color:#8b1e3f\">{link_text}</a></p>\
<p style=\"color:#555\">{ignore}</p></body></html>\n",
        code = lang.code(),
        subject = escape(&subject),
        title_html = escape(title),
        greeting = escape(greeting),
        asked = escape(&asked),
        open = escape(&open),
        link = escape(link),
        link_text = escape(link),
        button = escape(button),
        ignore = escape(ignore),
    );
    (subject, text, html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_holds_the_whole_link_in_both_languages() {
        let link = "https://boletin.example.org/subscribe/confirm?token=MTc5NTAwMDAwMApl.AbC-dEf_0123456789abcd";
        let (subject, text, html) = words(Lang::Es, "Boletín Solidaridad", "ana@ejemplo.org", link);
        assert_eq!(subject, "Confirma tu suscripción a Boletín Solidaridad");
        assert!(text.contains(&format!("\n{link}\n")), "{text}");
        assert!(
            html.contains(&format!("href=\"{}\"", escape(link))),
            "{html}"
        );
        assert!(text.contains("48 horas"), "{text}");
        let (subject, text, _) = words(Lang::En, "Solidarity", "ana@ejemplo.org", link);
        assert_eq!(subject, "Confirm your subscription to Solidarity");
        assert!(text.contains("within 48 hours"), "{text}");
    }
}
