//! The signup form `boletin serve` answers on `/subscribe`, and its confirmation page:
//! double opt-in, with nothing stored before the reader follows the mailed link.
//!
//! - `GET /subscribe` shows the form (name, email, the newsletter's language), a plain HTML
//!   form that needs no JavaScript, in Spanish or English (`?lang=`, else the browser's
//!   `Accept-Language`). A field hidden from people (the honeypot) catches bots that fill
//!   every field.
//! - `POST /subscribe` answers one page whatever the address's state (new, subscribed,
//!   unsubscribed, bounced), so the form tells nobody who is on the list. Behind it, a
//!   confirmation is mailed unless the honeypot was filled, the address bounced, or the
//!   address has had its share of mails lately; a client that posts too often gets 429.
//! - `GET /subscribe/confirm?token=…` asks with a button, never activating by itself (mail
//!   scanners follow links); the button's `POST` activates the reader
//!   ([`crate::store::Store::activate`]): new, or back after an unsubscribe. A bounced address stays
//!   suppressed, and so does one unsubscribed after the link was mailed.
//!
//! The rate limits live in memory, each bounded in the number of keys it keeps. Client
//! addresses come from the connection, or from `X-Forwarded-For` when the connection is
//! one of the configured trusted proxies. Confirmations are mailed by one worker thread
//! from a bounded queue, so a slow mail server holds up no page.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};
use chrono::Utc;

use super::http::Peer;
use super::serve::{
    App, Reply, ServeConfig, form_body, invalid_link, masked, method_not_allowed, page,
    query_param, same_target,
};
use crate::deliver::confirm::Confirmations;
use crate::deliver::smtp::Outcome;
use crate::deliver::subscribers::normalize_email;
use crate::deliver::token::{self, SIGNUP_VALID_HOURS, Signup, SignupRefused};
use crate::html::escape::escape;
use crate::lang::Lang;
use crate::store::{Activated, Activation, Consent, SuppressionReason, address_key};

/// What the signup needs beyond the rest of `serve`.
#[derive(Debug, Clone)]
pub struct SignupConfig {
    /// Mails the confirmation links.
    pub mail: Arc<Confirmations>,
    /// The form's path, beside the unsubscribe path (`/subscribe` is always answered
    /// too); the confirmation page is under it, `<path>/confirm`.
    pub path: String,
    /// The newsletter's languages: the ones a reader can choose.
    pub languages: Vec<Lang>,
    /// The newsletter's description, shown above the form; may be empty.
    pub description: String,
    /// The address readers write to when a page cannot help them.
    pub contact: String,
}

impl SignupConfig {
    /// The confirmation page's path.
    pub fn confirm_path(&self) -> String {
        format!("{}/confirm", self.path.trim_end_matches('/'))
    }
}

/// Confirmation mails per address in [`ADDRESS_WINDOW`]: a reader who lost the first gets
/// another, and nobody can flood a stranger's mailbox through the form.
const ADDRESS_MAILS: u32 = 3;
const ADDRESS_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// Signup posts per client in [`CLIENT_WINDOW`]: room for a few people behind one
/// address (a workshop's wifi), little for a script.
const CLIENT_POSTS: u32 = 12;
const CLIENT_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Keys each limit keeps at most; when full of recent keys, new ones are refused rather
/// than old ones forgotten (forgetting would hand a flood a fresh allowance).
const LIMIT_KEYS: usize = 20_000;
/// Confirmations waiting for the mail worker; beyond it, the form asks to try later.
const QUEUE: usize = 256;
/// Longest name kept from the form, in characters.
const MAX_NAME_CHARS: usize = 100;

/// Counts events per key in fixed windows, keeping at most `cap` keys.
struct Limiter {
    max: u32,
    window: Duration,
    cap: usize,
    seen: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Limiter {
    fn new(max: u32, window: Duration, cap: usize) -> Limiter {
        Limiter {
            max,
            window,
            cap,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one event for `key` at `now`; false when `key` has had its share.
    fn allow(&self, key: &str, now: Instant) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((start, n)) = seen.get_mut(key) {
            if now.duration_since(*start) >= self.window {
                (*start, *n) = (now, 1);
                return true;
            }
            if *n >= self.max {
                return false;
            }
            *n += 1;
            return true;
        }
        if seen.len() >= self.cap {
            seen.retain(|_, (start, _)| now.duration_since(*start) < self.window);
            if seen.len() >= self.cap {
                return false;
            }
        }
        seen.insert(key.to_string(), (now, 1));
        true
    }
}

/// The signup's state while `serve` runs: its limits and the confirmation queue.
pub(super) struct Desk {
    by_client: Limiter,
    by_address: Limiter,
    outbox: SyncSender<Signup>,
    /// Confirmations queued or being sent.
    pending: Arc<AtomicUsize>,
}

impl Desk {
    /// Starts the worker that mails confirmations through `mail`.
    pub(super) fn open(mail: &Arc<Confirmations>) -> std::io::Result<Desk> {
        let (outbox, inbox) = mpsc::sync_channel::<Signup>(QUEUE);
        let pending = Arc::new(AtomicUsize::new(0));
        let (mail, done) = (Arc::clone(mail), Arc::clone(&pending));
        std::thread::Builder::new()
            .name("confirmations".into())
            .spawn(move || {
                while let Ok(first) = inbox.recv() {
                    // What queued up meanwhile goes over the same connection.
                    let mut batch = vec![first];
                    batch.extend(inbox.try_iter().take(31));
                    for (signup, result) in batch.iter().zip(mail.send(&batch)) {
                        let who = masked(&signup.email);
                        match result {
                            Ok(Outcome::Sent(_)) => tracing::info!("confirmation mailed to {who}"),
                            Ok(other) => tracing::warn!(
                                "confirmation to {who} not delivered: {} ({})",
                                other.label(),
                                other.reply()
                            ),
                            Err(e) => tracing::warn!("confirmation to {who} not sent: {e}"),
                        }
                    }
                    done.fetch_sub(batch.len(), Ordering::SeqCst);
                }
            })?;
        Ok(Desk {
            by_client: Limiter::new(CLIENT_POSTS, CLIENT_WINDOW, LIMIT_KEYS),
            by_address: Limiter::new(ADDRESS_MAILS, ADDRESS_WINDOW, LIMIT_KEYS),
            outbox,
            pending,
        })
    }

    /// Queues a confirmation; false when the queue is full.
    fn post(&self, signup: Signup) -> bool {
        self.pending.fetch_add(1, Ordering::SeqCst);
        match self.outbox.try_send(signup) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.pending.fetch_sub(1, Ordering::SeqCst);
                false
            }
        }
    }

    /// Waits, up to `limit`, for every queued confirmation to be handed to the server.
    pub(super) async fn drain(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.pending.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The client's address: the connection's, or, when the connection comes from a trusted
/// proxy, the last address in `X-Forwarded-For` that is not itself a trusted proxy (the
/// ones before it are whatever the client chose to write).
fn client_ip<'a>(
    peer: IpAddr,
    forwarded: impl DoubleEndedIterator<Item = &'a str>,
    trusted: &[IpAddr],
) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(&peer) {
        return peer;
    }
    for hop in forwarded.rev().flat_map(|v| v.rsplit(',')) {
        match parse_hop(hop) {
            Some(ip) if trusted.contains(&ip) => continue,
            Some(ip) => return ip,
            // A proxy wrote what is not an address: count the proxy itself.
            None => return peer,
        }
    }
    peer
}

/// One `X-Forwarded-For` entry: `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1` or
/// `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<SocketAddr>()
        .ok()
        .map(|s| s.ip().to_canonical())
}

/// The rate-limit key of a client: its IPv4 address, or the /64 of its IPv6 address (one
/// machine commonly holds a whole /64).
fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The page language: `asked` if it names one, else the browser's first choice among
/// ours (`Accept-Language`, by quality), else `default`.
fn page_lang(asked: &str, headers: &HeaderMap, default: Lang) -> Lang {
    if let Some(lang) = Lang::from_code(asked.trim()) {
        return lang;
    }
    let accept = headers
        .get_all(header::ACCEPT_LANGUAGE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let mut best: Option<(f32, Lang)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let Some(lang) = Lang::from_code(tag.split('-').next().unwrap_or("")) else {
            continue;
        };
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, lang));
        }
    }
    best.map_or(default, |(_, lang)| lang)
}

/// `es` or `en`, whichever is `lang`.
fn t(lang: Lang, es: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Es => es,
        Lang::En => en,
    }
}

const LABEL: &str = "display:block;margin:1.1em 0 .3em;font-weight:bold";
const FIELD: &str = "display:block;width:100%;box-sizing:border-box;font-size:1em;padding:.6em;border:1px solid #888;border-radius:4px;background:#fff;color:#222";
const BUTTON: &str = "font-size:1.1em;padding:.6em 1.2em;margin-top:1.4em;background:#8b1e3f;color:#fff;border:0;border-radius:4px;cursor:pointer";
const LINK: &str = "color:#8b1e3f";

/// What a reader typed, shown again when the form comes back with an error.
#[derive(Default)]
struct Typed {
    name: String,
    email: String,
    lang: Option<Lang>,
}

fn form_page(
    cfg: &ServeConfig,
    signup: &SignupConfig,
    lang: Lang,
    action: &str,
    typed: &Typed,
    error: Option<&str>,
) -> String {
    let mut inner = String::new();
    inner.push_str(&format!(
        "<p>{}</p>",
        escape(&match lang {
            Lang::Es => format!("Recibe «{}» en tu correo.", cfg.title),
            Lang::En => format!("Get “{}” in your inbox.", cfg.title),
        })
    ));
    if !signup.description.trim().is_empty() {
        inner.push_str(&format!(
            "<p style=\"color:#555\">{}</p>",
            escape(signup.description.trim())
        ));
    }
    if let Some(error) = error {
        inner.push_str(&format!(
            "<p role=\"alert\" style=\"color:#8b1e3f;font-weight:bold\">{}</p>",
            escape(error)
        ));
    }
    inner.push_str(&format!(
        "<form method=\"post\" action=\"{}\">\
<label for=\"email\" style=\"{LABEL}\">{}</label>\
<input id=\"email\" name=\"email\" type=\"email\" required maxlength=\"254\" autocomplete=\"email\" value=\"{}\" style=\"{FIELD}\">\
<label for=\"name\" style=\"{LABEL}\">{}</label>\
<input id=\"name\" name=\"name\" type=\"text\" maxlength=\"{MAX_NAME_CHARS}\" autocomplete=\"name\" value=\"{}\" style=\"{FIELD}\">",
        escape(action),
        t(lang, "Correo electrónico", "Email address"),
        escape(&typed.email),
        t(lang, "Nombre (opcional)", "Name (optional)"),
        escape(&typed.name),
    ));
    let chosen = typed
        .lang
        .filter(|l| signup.languages.contains(l))
        .or_else(|| signup.languages.contains(&lang).then_some(lang))
        .or_else(|| signup.languages.first().copied())
        .unwrap_or(lang);
    if signup.languages.len() > 1 {
        inner.push_str(&format!(
            "<label for=\"lang\" style=\"{LABEL}\">{}</label><select id=\"lang\" name=\"lang\" style=\"{FIELD}\">",
            t(lang, "Idioma del boletín", "Newsletter language")
        ));
        for l in &signup.languages {
            inner.push_str(&format!(
                "<option value=\"{}\"{}>{}</option>",
                l.code(),
                if *l == chosen { " selected" } else { "" },
                t(*l, "Español", "English")
            ));
        }
        inner.push_str("</select>");
    } else {
        inner.push_str(&format!(
            "<input type=\"hidden\" name=\"lang\" value=\"{}\">",
            chosen.code()
        ));
    }
    // The honeypot: off-screen and out of the tab order and the accessibility tree, so
    // people never fill it; scripts that fill every field do.
    inner.push_str(&format!(
        "<div aria-hidden=\"true\" style=\"position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden\">\
<label for=\"website\">{}</label><input id=\"website\" name=\"website\" type=\"text\" tabindex=\"-1\" autocomplete=\"off\" value=\"\"></div>\
<button type=\"submit\" style=\"{BUTTON}\">{}</button></form>\
<p style=\"color:#555;font-size:.95em;margin-top:1.5em\">{}</p>\
<p><a href=\"?lang={}\" lang=\"{}\" style=\"{LINK}\">{}</a></p>",
        t(lang, "No escribas en este campo", "Leave this field empty"),
        t(lang, "Suscribirme", "Subscribe"),
        escape(t(
            lang,
            "Te enviaremos un correo con un enlace para confirmar: hasta que lo sigas no recibirás nada. Cada boletín trae un enlace para darte de baja cuando quieras.",
            "We will send you an email with a link to confirm: until you follow it you will receive nothing. Every newsletter has a link to unsubscribe whenever you like."
        )),
        other(lang).code(),
        other(lang).code(),
        t(lang, "Read this page in English", "Lee esta página en español"),
    ));
    page(lang, &cfg.title, t(lang, "Suscríbete", "Subscribe"), &inner)
}

fn other(lang: Lang) -> Lang {
    match lang {
        Lang::Es => Lang::En,
        Lang::En => Lang::Es,
    }
}

/// A page of one paragraph (its text escaped) and, optionally, a link back to the form.
fn message_page(
    cfg: &ServeConfig,
    status: u16,
    lang: Lang,
    title: &str,
    text: &str,
    back_to_form: Option<&SignupConfig>,
) -> Reply {
    let mut inner = format!("<p>{}</p>", escape(text));
    if let Some(signup) = back_to_form {
        inner.push_str(&format!(
            "<p><a href=\"{}\" style=\"{LINK}\">{}</a></p>",
            escape(&format!("{}?lang={}", signup.path, lang.code())),
            t(lang, "Suscribirme de nuevo", "Subscribe again")
        ));
    }
    Reply::html(status, page(lang, &cfg.title, title, &inner))
}

/// `GET` and `POST /subscribe`.
pub(super) async fn form(app: Arc<App>, request: Request) -> Reply {
    let (Some(signup), Some(desk)) = (&app.cfg.signup, &app.desk) else {
        return Reply::plain(404, "not found\n");
    };
    let (parts, body) = request.into_parts();
    let asked_lang = query_param(&parts.uri, "lang");
    let lang = page_lang(&asked_lang, &parts.headers, app.cfg.default_lang);
    let action = parts.uri.path().to_string();
    if matches!(parts.method, Method::GET | Method::HEAD) {
        let html = form_page(&app.cfg, signup, lang, &action, &Typed::default(), None);
        return Reply::html(200, html);
    }
    if parts.method == Method::POST {
        // Counted before the body is read: a client over its share costs nothing more.
        let peer = parts
            .extensions
            .get::<Peer>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |p| p.0.ip());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        let client = client_ip(peer, forwarded, &app.cfg.trusted_proxies);
        if !desk.by_client.allow(&client_key(client), Instant::now()) {
            let mut reply = message_page(
                &app.cfg,
                429,
                lang,
                t(lang, "Demasiadas solicitudes", "Too many requests"),
                t(
                    lang,
                    "Llegaron demasiadas solicitudes desde tu conexión. Vuelve a intentarlo dentro de un rato.",
                    "Too many requests came from your connection. Please try again in a while.",
                ),
                None,
            );
            reply
                .headers
                .push((header::RETRY_AFTER, CLIENT_WINDOW.as_secs().to_string()));
            return reply;
        }
    }
    let body = match form_body(&parts.method, body).await {
        Ok(Some(body)) => body,
        Ok(None) => return method_not_allowed("POST"),
        Err(reply) => return reply,
    };
    let field = |name: &str| {
        url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let typed = Typed {
        name: field("name")
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(MAX_NAME_CHARS)
            .collect(),
        email: field("email").trim().to_string(),
        lang: Lang::from_code(field("lang").trim()),
    };
    // The page speaks the language the reader chose for the newsletter.
    let lang = typed.lang.unwrap_or(lang);
    // RFC 5321's limit; a longer one is refused, never cut into another address.
    let checked = match typed.email.len() {
        0..=254 => normalize_email(&typed.email).ok(),
        _ => None,
    };
    let email = match checked {
        Some(email) => email,
        None => {
            let typed = Typed {
                email: typed.email.chars().take(254).collect(),
                ..typed
            };
            let error = t(
                lang,
                "Esa dirección no parece válida: revísala (por ejemplo, nombre@ejemplo.org).",
                "That address does not look valid: please check it (for example, name@example.org).",
            );
            let html = form_page(&app.cfg, signup, lang, &action, &typed, Some(error));
            return Reply::html(400, html);
        }
    };
    let newsletter_lang = typed
        .lang
        .filter(|l| signup.languages.contains(l))
        .or_else(|| signup.languages.first().copied())
        .unwrap_or(lang);
    let is_bot = !field("website").trim().is_empty();
    let fresh = !is_bot && desk.by_address.allow(&address_key(&email), Instant::now());
    if fresh {
        // Every address that gets this far is looked up, bounced or not, so the answer
        // takes as long whatever the address's state.
        let looked_up = email.clone();
        let bounced = app
            .stores
            .with(move |store| store.suppression(&looked_up))
            .await;
        let bounced = match bounced {
            Some(Ok(reason)) => reason == Some(SuppressionReason::Bounced),
            _ => return Reply::unavailable(),
        };
        let queued = bounced
            || desk.post(Signup {
                email: email.clone(),
                name: typed.name.clone(),
                lang: newsletter_lang,
                asked: Utc::now(),
            });
        if !queued {
            return Reply::plain(
                503,
                "too many signups at once; try again in a few minutes\n",
            );
        }
    }
    let text = match lang {
        Lang::Es => format!(
            "Si la dirección {email} puede recibir el boletín, te acabamos de enviar un correo con un enlace para confirmar. El enlace vale {SIGNUP_VALID_HOURS} horas; si no llega en unos minutos, busca en la carpeta de correo no deseado."
        ),
        Lang::En => format!(
            "If the address {email} can receive the newsletter, we have just sent it an email with a link to confirm. The link works for {SIGNUP_VALID_HOURS} hours; if it does not arrive within a few minutes, look in your spam folder."
        ),
    };
    message_page(
        &app.cfg,
        200,
        lang,
        t(lang, "Revisa tu correo", "Check your email"),
        &text,
        None,
    )
}

/// `GET` (a page with a button) and `POST` (activation) of `/subscribe/confirm?token=…`.
pub(super) async fn confirm(app: Arc<App>, request: Request) -> Reply {
    let Some(signup_cfg) = &app.cfg.signup else {
        return Reply::plain(404, "not found\n");
    };
    let (parts, body) = request.into_parts();
    let token = query_param(&parts.uri, "token");
    let target = same_target(&parts.uri);
    let posted = match form_body(&parts.method, body).await {
        Ok(body) => body.is_some(),
        Err(reply) => return reply,
    };
    let signup = match token::verify_signup(&app.cfg.secret, &token, Utc::now()) {
        Ok(signup) => signup,
        Err(SignupRefused::Invalid) => return invalid_link(&app.cfg),
        Err(SignupRefused::Expired) => {
            let lang = page_lang("", &parts.headers, app.cfg.default_lang);
            let text = match lang {
                Lang::Es => format!(
                    "Este enlace de confirmación valía {SIGNUP_VALID_HOURS} horas y ya caducó. Vuelve a suscribirte y te enviaremos otro."
                ),
                Lang::En => format!(
                    "This confirmation link worked for {SIGNUP_VALID_HOURS} hours and has expired. Subscribe again and we will send you a new one."
                ),
            };
            return message_page(
                &app.cfg,
                410,
                lang,
                t(lang, "El enlace caducó", "The link has expired"),
                &text,
                Some(signup_cfg),
            );
        }
    };
    let lang = signup.lang;
    let who = masked(&signup.email);
    if !posted {
        let inner = format!(
            "<p>{} <strong>{}</strong>?</p>\
<form method=\"post\" action=\"{}\"><button type=\"submit\" style=\"{BUTTON}\">{}</button></form>",
            escape(&match lang {
                Lang::Es => format!("¿Quieres recibir «{}» en", app.cfg.title),
                Lang::En => format!("Do you want to receive “{}” at", app.cfg.title),
            }),
            escape(&who),
            escape(&target),
            t(lang, "Sí, suscribirme", "Yes, subscribe me"),
        );
        let title = t(lang, "Confirma tu suscripción", "Confirm your subscription");
        return Reply::html(200, page(lang, &app.cfg.title, title, &inner));
    }
    let activated = app
        .stores
        .with(move |store| {
            store.activate(
                &Activation {
                    email: &signup.email,
                    name: Some(signup.name.as_str()).filter(|n| !n.is_empty()),
                    language: Some(signup.lang),
                    default_language: signup.lang,
                    consent: Consent::Signup {
                        asked: signup.asked,
                    },
                },
                Utc::now(),
            )
        })
        .await;
    let cfg = &app.cfg;
    match activated {
        Some(Ok(Activated::Added | Activated::Returned(_) | Activated::AlreadyActive)) => {
            let text = match lang {
                Lang::Es => format!(
                    "Listo: recibirás «{}» en {who} desde la próxima edición. Cada boletín trae un enlace para darte de baja.",
                    cfg.title
                ),
                Lang::En => format!(
                    "Done: you will receive “{}” at {who} from the next edition on. Every newsletter has a link to unsubscribe.",
                    cfg.title
                ),
            };
            let title = t(lang, "Suscripción confirmada", "Subscription confirmed");
            message_page(cfg, 200, lang, title, &text, None)
        }
        Some(Ok(Activated::Bounced { .. })) => {
            let text = match lang {
                Lang::Es => format!(
                    "El servidor de correo de esta dirección rechazó nuestros envíos, así que no podemos activarla. Si ya funciona, escríbenos a {}.",
                    signup_cfg.contact
                ),
                Lang::En => format!(
                    "The mail server of this address refused our messages, so we cannot activate it. If it works again, write to us at {}.",
                    signup_cfg.contact
                ),
            };
            let title = t(
                lang,
                "No podemos activar esta dirección",
                "We cannot activate this address",
            );
            message_page(cfg, 200, lang, title, &text, None)
        }
        Some(Ok(Activated::UnsubscribedSince(_))) => message_page(
            cfg,
            200,
            lang,
            t(
                lang,
                "Este enlace ya no vale",
                "This link is no longer valid",
            ),
            t(
                lang,
                "Cancelaste la suscripción después de pedir este enlace, así que no la reactivamos. Si quieres volver, suscríbete otra vez.",
                "You unsubscribed after asking for this link, so we did not subscribe you again. If you want to come back, subscribe again.",
            ),
            Some(signup_cfg),
        ),
        Some(Err(_)) | None => Reply::unavailable(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_counts_per_key_resets_per_window_and_stays_bounded() {
        let limit = Limiter::new(2, Duration::from_secs(60), 3);
        let t0 = Instant::now();
        assert!(limit.allow("ana@ejemplo.org", t0));
        assert!(limit.allow("ana@ejemplo.org", t0));
        assert!(!limit.allow("ana@ejemplo.org", t0));
        assert!(limit.allow("ana@ejemplo.org", t0 + Duration::from_secs(61)));
        // Full of recent keys: a new one waits until old ones expire.
        assert!(limit.allow("b", t0));
        assert!(limit.allow("c", t0));
        assert!(!limit.allow("d", t0 + Duration::from_secs(1)));
        assert!(limit.allow("d", t0 + Duration::from_secs(70)));
        assert!(limit.seen.lock().map(|s| s.len()).unwrap_or(99) <= 3);
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or_else(|e| panic!("{s}: {e}"));
        let proxy = ip("10.0.0.2");
        let trusted = [proxy, ip("10.0.0.3")];
        let client = |peer, xff: &[&str]| client_ip(peer, xff.iter().copied(), &trusted);
        // From anyone else the header is ignored.
        assert_eq!(
            client(ip("198.51.100.9"), &["203.0.113.7"]),
            ip("198.51.100.9")
        );
        // From the proxy: the last hop it did not add itself, not what the client wrote.
        assert_eq!(client(proxy, &["203.0.113.7"]), ip("203.0.113.7"));
        assert_eq!(
            client(proxy, &["6.6.6.6, 203.0.113.7, 10.0.0.3"]),
            ip("203.0.113.7")
        );
        assert_eq!(
            client(proxy, &["6.6.6.6", "203.0.113.7:4711"]),
            ip("203.0.113.7")
        );
        assert_eq!(client(proxy, &["[2001:db8::1]:443"]), ip("2001:db8::1"));
        assert_eq!(client(proxy, &["basura"]), proxy);
        assert_eq!(client(proxy, &[]), proxy);
        assert_eq!(
            client(ip("::ffff:10.0.0.2"), &["203.0.113.7"]),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_key(ip("2001:db8:aa:bb:1:2:3:4")),
            client_key(ip("2001:db8:aa:bb:ffff::9"))
        );
        assert_ne!(client_key(ip("203.0.113.7")), client_key(ip("203.0.113.8")));
    }

    #[test]
    fn page_language_from_the_query_then_the_browser() {
        let mut headers = HeaderMap::new();
        assert_eq!(page_lang("", &headers, Lang::Es), Lang::Es);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            axum::http::HeaderValue::from_static("fr-CA, en-GB;q=0.8, es;q=0.5"),
        );
        assert_eq!(page_lang("", &headers, Lang::Es), Lang::En);
        assert_eq!(page_lang("es", &headers, Lang::En), Lang::Es);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            axum::http::HeaderValue::from_static("es-MX,es;q=0.9,en;q=0.3"),
        );
        assert_eq!(page_lang("xx", &headers, Lang::En), Lang::Es);
    }
}
