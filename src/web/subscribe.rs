//! The signup form `boletin serve` answers on `/subscribe`, and its confirmation page:
//! double opt-in, with nothing stored before the reader follows the mailed link.
//!
//! - `GET /subscribe` shows the form (name, email, the newsletter's language), a plain HTML
//!   form that needs no JavaScript, in Spanish or English (`?lang=`, else the browser's
//!   `Accept-Language`). A field hidden from people (the honeypot) catches bots that fill
//!   every field.
//! - `POST /subscribe` (form-encoded, and not from another site: see `cross_site`)
//!   answers one page whatever the address's state (new, subscribed, unsubscribed,
//!   bounced), so the form tells nobody who is on the list. Behind it, a confirmation is
//!   mailed unless the honeypot was filled, the address bounced, or the address has had
//!   its share of mails lately; a client that posts too often gets 429, and when the
//!   confirmations cannot go out now (the hourly budget is spent or the queue is full)
//!   every reader gets the same page asking to retry in a few minutes.
//! - `GET /subscribe/confirm?token=…` asks with a button, never activating by itself (mail
//!   scanners follow links); the button's `POST` activates the reader
//!   ([`crate::store::Store::activate`]): new, or back after an unsubscribe. A bounced address stays
//!   suppressed, and so does one unsubscribed after the link was mailed.
//!
//! The limits live in memory. Each map of keys is bounded; when it is full of recent
//! keys the oldest are forgotten, and a warning is logged: a flood may win back an
//! allowance that way, but it can never lock real readers out or silence them, and the
//! hourly budget of confirmations bounds what any flood gets mailed. Client addresses come
//! from the connection, or from `X-Forwarded-For` when the connection is one of the
//! configured trusted proxies. Confirmations are mailed by one worker thread from a
//! bounded queue, so a slow mail server holds up no page; a bounced address's request
//! takes its place in that queue too (and is dropped there), so that nothing in the
//! answer depends on the address's state.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender};
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
use crate::deliver::subscribers::{MAX_NAME_CHARS, clean_name, normalize_email};
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
    /// Confirmations mailed per hour at most, across all addresses
    /// ([`SIGNUPS_PER_HOUR`] unless the operator says otherwise).
    pub per_hour: u32,
}

impl SignupConfig {
    /// The confirmation page's path.
    pub fn confirm_path(&self) -> String {
        format!("{}/confirm", self.path.trim_end_matches('/'))
    }
}

/// Confirmation mails per hour across all addresses, by default: far above what a
/// newsletter's signups come to on a busy day, and small enough that no flood of made-up
/// addresses makes the list's mail server a source of bounces. Refilled evenly (one every
/// 12 s), so a reader asked to retry in a few minutes finds room.
pub const SIGNUPS_PER_HOUR: u32 = 300;
/// Confirmation mails per address in [`ADDRESS_WINDOW`]: a reader who lost the first gets
/// another, and nobody can flood a stranger's mailbox through the form.
const ADDRESS_MAILS: u32 = 3;
const ADDRESS_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// Signup posts per client in [`CLIENT_WINDOW`]: room for a few people behind one
/// address (a workshop's wifi), little for a script.
const CLIENT_POSTS: u32 = 12;
/// Signup posts per IPv6 /48 (one site: a home, an office) in [`CLIENT_WINDOW`]: whoever
/// holds a /48 holds 65,536 /64s, and gets four clients' share for all of them.
const NETWORK_POSTS: u32 = 4 * CLIENT_POSTS;
const CLIENT_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Keys each limit keeps at most.
const LIMIT_KEYS: usize = 20_000;
/// Confirmations waiting for the mail worker.
const QUEUE: usize = 256;
/// What the retry page asks for, in seconds (`Retry-After`).
const RETRY_SECS: u64 = 180;
/// Warnings about one limit, at most this often.
const WARN_EVERY: Duration = Duration::from_secs(60);
/// Addresses named in the shutdown warning about unsent confirmations.
const NAMED_AT_SHUTDOWN: usize = 20;

/// Whether a warning is due, at most one per [`WARN_EVERY`]; counts the events in between.
#[derive(Default)]
struct Hush {
    last: Option<Instant>,
    since: u64,
}

impl Hush {
    /// `Some(events since the last warning)` when one is due.
    fn due(&mut self, now: Instant) -> Option<u64> {
        self.since += 1;
        if self
            .last
            .is_some_and(|l| now.duration_since(l) < WARN_EVERY)
        {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.since))
    }
}

/// What [`Limiter::admit`] decided.
#[derive(Debug, PartialEq, Eq)]
enum Admit<E> {
    /// A key had its share: nothing was done or counted.
    Over,
    /// Every key had room, but the action failed: nothing counted.
    Refused(E),
    /// Done and counted.
    Counted,
}

/// Per key: when its window started, and the events counted in it.
type Seen = HashMap<String, (Instant, u32)>;

/// Counts events per key in fixed windows, keeping at most `cap` keys.
struct Limiter {
    /// What the keys are, for the log ("clients", "addresses").
    what: &'static str,
    window: Duration,
    cap: usize,
    state: Mutex<(Seen, Hush)>,
}

impl Limiter {
    fn new(what: &'static str, window: Duration, cap: usize) -> Limiter {
        Limiter {
            what,
            window,
            cap,
            state: Mutex::new((HashMap::new(), Hush::default())),
        }
    }

    /// Counts one event for each `(key, max)` if every key has had fewer than its `max`
    /// in its window at `now` and `act` succeeds; `act` runs under the limiter's lock, so
    /// two requests cannot both take a key's last event.
    fn admit<E>(
        &self,
        keys: &[(&str, u32)],
        now: Instant,
        act: impl FnOnce() -> Result<(), E>,
    ) -> Admit<E> {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (seen, hush) = &mut *guard;
        let used = |key: &str| match seen.get(key) {
            Some((start, n)) if now.duration_since(*start) < self.window => *n,
            _ => 0,
        };
        if keys.iter().any(|(key, max)| used(key) >= *max) {
            return Admit::Over;
        }
        if let Err(e) = act() {
            return Admit::Refused(e);
        }
        for (key, _) in keys {
            match seen.get_mut(*key) {
                Some((start, n)) if now.duration_since(*start) < self.window => *n += 1,
                Some(entry) => *entry = (now, 1),
                None => {
                    self.make_room(seen, hush, now);
                    seen.insert((*key).to_string(), (now, 1));
                }
            }
        }
        Admit::Counted
    }

    /// Frees room for a key when the map is full: the expired keys first, then, if a
    /// flood filled it with recent ones, the oldest eighth (so the cost of the scan is
    /// shared by the next `cap / 8` new keys).
    fn make_room(&self, seen: &mut Seen, hush: &mut Hush, now: Instant) {
        if seen.len() < self.cap {
            return;
        }
        seen.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        if seen.len() < self.cap {
            return;
        }
        let mut starts: Vec<Instant> = seen.values().map(|(start, _)| *start).collect();
        let nth = self.cap / 8;
        let (_, cut, _) = starts.select_nth_unstable(nth);
        let cut = *cut;
        seen.retain(|_, (start, _)| *start > cut);
        if let Some(times) = hush.due(now) {
            tracing::warn!(
                "signup limit per {} is full ({} keys, all recent): forgetting the oldest; a flood of signups may be under way ({times} times since the last warning)",
                self.what,
                self.cap
            );
        }
    }
}

/// Confirmations mailed per hour, across all addresses: a token bucket refilled evenly.
struct Budget {
    per_hour: u32,
    state: Mutex<(f64, Instant, Hush)>,
}

impl Budget {
    fn new(per_hour: u32, now: Instant) -> Budget {
        Budget {
            per_hour,
            state: Mutex::new((f64::from(per_hour), now, Hush::default())),
        }
    }

    /// Spends one confirmation if there is one and `act` succeeds (under the lock).
    fn spend(&self, now: Instant, act: impl FnOnce() -> bool) -> Result<(), Busy> {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (left, at, hush) = &mut *guard;
        let per_hour = f64::from(self.per_hour);
        *left = (*left + now.duration_since(*at).as_secs_f64() * per_hour / 3600.0).min(per_hour);
        *at = now;
        if *left < 1.0 {
            if let Some(times) = hush.due(now) {
                tracing::warn!(
                    "signup confirmations: the budget of {} an hour is spent; readers are asked to retry in a few minutes ({times} asked since the last warning)",
                    self.per_hour
                );
            }
            return Err(Busy::Budget);
        }
        if !act() {
            return Err(Busy::Queue);
        }
        *left -= 1.0;
        Ok(())
    }
}

/// Why a confirmation cannot go out now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Busy {
    /// The hourly budget is spent.
    Budget,
    /// The queue is full: the mail server is slow or away.
    Queue,
}

/// One request for the mail worker.
struct Job {
    id: u64,
    signup: Signup,
    /// False for a bounced address: it holds its place in the queue and is dropped.
    mail: bool,
}

/// The signup's state while `serve` runs: its limits and the confirmation queue.
pub(super) struct Desk {
    by_client: Limiter,
    by_address: Limiter,
    budget: Budget,
    outbox: SyncSender<Job>,
    next_id: AtomicU64,
    /// Requests queued or being sent, by id: the masked address of each promised mail
    /// (`None` for a bounced address's placeholder).
    waiting: Arc<Mutex<BTreeMap<u64, Option<String>>>>,
    queue_hush: Mutex<Hush>,
}

impl Desk {
    /// Starts the worker that mails confirmations through `mail`.
    pub(super) fn open(signup: &SignupConfig) -> std::io::Result<Desk> {
        let (outbox, inbox) = mpsc::sync_channel::<Job>(QUEUE);
        let waiting = Arc::new(Mutex::new(BTreeMap::new()));
        let (mail, done) = (Arc::clone(&signup.mail), Arc::clone(&waiting));
        std::thread::Builder::new()
            .name("confirmations".into())
            .spawn(move || {
                while let Ok(first) = inbox.recv() {
                    // What queued up meanwhile goes over the same connection.
                    let mut batch = vec![first];
                    batch.extend(inbox.try_iter().take(31));
                    let signups: Vec<Signup> = batch
                        .iter()
                        .filter(|job| job.mail)
                        .map(|job| job.signup.clone())
                        .collect();
                    for (signup, result) in signups.iter().zip(mail.send(&signups)) {
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
                    let mut done = done.lock().unwrap_or_else(PoisonError::into_inner);
                    for job in &batch {
                        done.remove(&job.id);
                    }
                }
            })?;
        let now = Instant::now();
        Ok(Desk {
            by_client: Limiter::new("client", CLIENT_WINDOW, LIMIT_KEYS),
            by_address: Limiter::new("address", ADDRESS_WINDOW, LIMIT_KEYS),
            budget: Budget::new(signup.per_hour.max(1), now),
            outbox,
            next_id: AtomicU64::new(0),
            waiting,
            queue_hush: Mutex::new(Hush::default()),
        })
    }

    /// Takes a signup in: queued for the mail worker (a bounced address's as a
    /// placeholder) and counted against the address and the budget; `Over` when the
    /// address has had its share (nothing is sent, nothing counted); `Refused` when
    /// nothing can go out now, with nothing counted. Nothing here depends on `bounced`
    /// but what the worker does with the request.
    fn take(&self, signup: Signup, bounced: bool, now: Instant) -> Admit<Busy> {
        let key = address_key(&signup.email);
        self.by_address.admit(&[(&key, ADDRESS_MAILS)], now, || {
            self.budget.spend(now, || {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                let who = (!bounced).then(|| masked(&signup.email));
                let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
                let job = Job {
                    id,
                    signup,
                    mail: !bounced,
                };
                // Registered before it is queued, so the worker never finishes a job
                // it is not yet waiting for.
                waiting.insert(id, who);
                if self.outbox.try_send(job).is_ok() {
                    return true;
                }
                waiting.remove(&id);
                drop(waiting);
                let mut hush = self.queue_hush.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(times) = hush.due(now) {
                    tracing::warn!(
                        "the queue of signup confirmations is full ({QUEUE}): is the mail server slow? readers are asked to retry in a few minutes ({times} asked since the last warning)"
                    );
                }
                false
            })
        })
    }

    /// Waits, up to `limit`, for every queued confirmation to be handed to the server;
    /// warns of those still unsent then, naming each address masked.
    pub(super) async fn drain(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let unsent = loop {
            let unsent: Vec<String> = self
                .waiting
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .values()
                .flatten()
                .cloned()
                .collect();
            if unsent.is_empty() || Instant::now() >= deadline {
                break unsent;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        if unsent.is_empty() {
            return;
        }
        let mut named = unsent
            .iter()
            .take(NAMED_AT_SHUTDOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if unsent.len() > NAMED_AT_SHUTDOWN {
            named.push_str(&format!(" and {} more", unsent.len() - NAMED_AT_SHUTDOWN));
        }
        tracing::warn!(
            "stopping with {} signup confirmations unsent after {}s (the readers were told one was on its way; they can sign up again): {named}",
            unsent.len(),
            limit.as_secs()
        );
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

/// The rate-limit keys of a client, each with its allowance: its IPv4 address; or the /64
/// of its IPv6 address (one machine commonly holds a whole /64) and the /48 around it.
fn client_keys(ip: IpAddr) -> Vec<(String, u32)> {
    match ip {
        IpAddr::V4(v4) => vec![(v4.to_string(), CLIENT_POSTS)],
        IpAddr::V6(v6) => {
            let s = v6.segments();
            vec![
                (
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]),
                    CLIENT_POSTS,
                ),
                (
                    format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]),
                    NETWORK_POSTS,
                ),
            ]
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

/// Why a signup post is refused before it is read, if it is: a body that is not a form
/// (415), or a post from another site's page (403). Browsers say where a post comes from:
/// `Sec-Fetch-Site` (every current one), else `Origin`, which must be this server's own
/// (its public origin, or the `Host` it was asked by). A post with neither comes from an
/// old browser or a script, which the other limits handle.
fn cross_site(headers: &HeaderMap, own_origin: &str) -> Option<u16> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let media = text(header::CONTENT_TYPE)
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if !media.is_some_and(|m| m.eq_ignore_ascii_case("application/x-www-form-urlencoded")) {
        return Some(415);
    }
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        return site.eq_ignore_ascii_case("cross-site").then_some(403);
    }
    let origin = text(header::ORIGIN)?;
    let host = text(header::HOST).unwrap_or("");
    let origin_host = origin
        .split_once("://")
        .map_or("", |(_, rest)| rest.trim_end_matches('/'));
    let own = origin.eq_ignore_ascii_case(own_origin)
        || (!host.is_empty() && origin_host.eq_ignore_ascii_case(host));
    (!own).then_some(403)
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
        match cross_site(&parts.headers, &signup.mail.origin()) {
            Some(415) => {
                return Reply::plain(415, "expected a form (application/x-www-form-urlencoded)\n");
            }
            Some(_) => {
                return message_page(
                    &app.cfg,
                    403,
                    lang,
                    t(lang, "Formulario de otro sitio", "A form from another site"),
                    t(
                        lang,
                        "Solo aceptamos suscripciones desde nuestro propio formulario.",
                        "We only take signups from our own form.",
                    ),
                    Some(signup),
                );
            }
            None => {}
        }
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
        let keys = client_keys(client);
        let keys: Vec<(&str, u32)> = keys.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        let counted = desk
            .by_client
            .admit(&keys, Instant::now(), || Ok::<(), ()>(()));
        if counted != Admit::Counted {
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
        name: clean_name(&field("name")),
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
    if !is_bot {
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
        let signup = Signup {
            email: email.clone(),
            name: typed.name.clone(),
            lang: newsletter_lang,
            asked: Utc::now(),
        };
        if let Admit::Refused(_) = desk.take(signup, bounced, Instant::now()) {
            let mut reply = message_page(
                &app.cfg,
                503,
                lang,
                t(
                    lang,
                    "Inténtalo dentro de unos minutos",
                    "Please try again in a few minutes",
                ),
                t(
                    lang,
                    "Ahora mismo llegan más suscripciones de las que podemos confirmar, así que no te enviamos el correo. Vuelve a enviar el formulario dentro de unos minutos.",
                    "More signups are arriving right now than we can confirm, so we did not send you the email. Please send the form again in a few minutes.",
                ),
                None,
            );
            reply
                .headers
                .push((header::RETRY_AFTER, RETRY_SECS.to_string()));
            return reply;
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
        // The reader's own choice, whatever the browser says.
        Err(SignupRefused::Expired(lang)) => {
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

    fn allow(limit: &Limiter, key: &str, max: u32, at: Instant) -> bool {
        limit.admit(&[(key, max)], at, || Ok::<(), ()>(())) == Admit::Counted
    }

    #[test]
    fn a_limit_counts_per_key_resets_per_window_and_stays_bounded() {
        let limit = Limiter::new("address", Duration::from_secs(60), 16);
        let t0 = Instant::now();
        assert!(allow(&limit, "ana@ejemplo.org", 2, t0));
        assert!(allow(&limit, "ana@ejemplo.org", 2, t0));
        assert!(!allow(&limit, "ana@ejemplo.org", 2, t0));
        assert!(allow(
            &limit,
            "ana@ejemplo.org",
            2,
            t0 + Duration::from_secs(61)
        ));
        // Nothing is counted when the action fails, nor for the other keys of a refusal.
        let t1 = t0 + Duration::from_secs(62);
        let refused = limit.admit(&[("luis@ejemplo.org", 1)], t1, || Err("cola llena"));
        assert_eq!(refused, Admit::Refused("cola llena"));
        assert!(allow(&limit, "luis@ejemplo.org", 1, t1));
        let both = [("ana@ejemplo.org", 2), ("eva@ejemplo.org", 2)];
        assert_eq!(limit.admit(&both, t1, || Ok::<(), ()>(())), Admit::Counted);
        assert_eq!(limit.admit(&both, t1, || Ok::<(), ()>(())), Admit::Over);
        assert!(allow(&limit, "eva@ejemplo.org", 2, t1));
    }

    #[test]
    fn a_full_limit_forgets_the_expired_then_the_oldest_and_never_refuses_a_new_key() {
        let limit = Limiter::new("client", Duration::from_secs(600), 16);
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_millis(s);
        // A flood of recent keys, one a millisecond.
        for i in 0..40u64 {
            assert!(allow(&limit, &format!("flood{i}"), 1, at(i)), "{i}");
        }
        let size = || limit.state.lock().map(|s| s.0.len()).unwrap_or(99);
        assert!(size() <= 16, "{}", size());
        // The newest are still counted; the oldest went first.
        assert!(!allow(&limit, "flood39", 1, at(41)));
        assert!(allow(&limit, "flood0", 1, at(42)));
        // After the window, expired keys make room without forgetting recent ones.
        let later = t0 + Duration::from_secs(601);
        assert!(allow(&limit, "lectora", 1, later));
        assert!(!allow(&limit, "lectora", 1, later));
        assert!(size() <= 16);
    }

    #[test]
    fn the_budget_refills_evenly_and_spends_only_what_goes_out() {
        let t0 = Instant::now();
        let budget = Budget::new(3600, t0);
        for _ in 0..3600 {
            assert_eq!(budget.spend(t0, || true), Ok(()));
        }
        assert_eq!(budget.spend(t0, || true), Err(Busy::Budget));
        // One a second comes back; a full queue spends none of it.
        let t1 = t0 + Duration::from_millis(1500);
        assert_eq!(budget.spend(t1, || false), Err(Busy::Queue));
        assert_eq!(budget.spend(t1, || true), Ok(()));
        assert_eq!(budget.spend(t1, || true), Err(Busy::Budget));
    }

    #[test]
    fn posts_from_other_sites_or_not_forms_are_refused() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, axum::http::HeaderValue::from_static(v));
            }
            h
        };
        let own = "https://boletin.example.org";
        let form = (
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        );
        assert_eq!(cross_site(&headers(&[form]), own), None);
        assert_eq!(
            cross_site(
                &headers(&[form, ("origin", "https://boletin.example.org")]),
                own
            ),
            None
        );
        assert_eq!(
            cross_site(
                &headers(&[
                    form,
                    ("origin", "http://127.0.0.1:8080"),
                    ("host", "127.0.0.1:8080")
                ]),
                own
            ),
            None
        );
        assert_eq!(
            cross_site(&headers(&[form, ("sec-fetch-site", "same-origin")]), own),
            None
        );
        assert_eq!(
            cross_site(&headers(&[form, ("origin", "https://evil.example")]), own),
            Some(403)
        );
        assert_eq!(
            cross_site(&headers(&[form, ("origin", "null")]), own),
            Some(403)
        );
        assert_eq!(
            cross_site(&headers(&[form, ("sec-fetch-site", "cross-site")]), own),
            Some(403)
        );
        assert_eq!(
            cross_site(&headers(&[("content-type", "text/plain")]), own),
            Some(415)
        );
        assert_eq!(cross_site(&headers(&[]), own), Some(415));
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
            client_keys(ip("2001:db8:aa:bb:1:2:3:4")),
            client_keys(ip("2001:db8:aa:bb:ffff::9"))
        );
        // Another /64 of the same /48 shares the /48's allowance.
        assert_eq!(
            client_keys(ip("2001:db8:aa:cc::1"))[1],
            client_keys(ip("2001:db8:aa:bb::1"))[1]
        );
        assert_ne!(
            client_keys(ip("203.0.113.7")),
            client_keys(ip("203.0.113.8"))
        );
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
