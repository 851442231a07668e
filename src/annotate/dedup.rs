//! One story once: tells when two items from different partners are the same story, judged
//! on what is distinctive in them rather than on the text every post of a network repeats.
//!
//! Partners re-post each other's urgent actions and articles with a line of their own on top,
//! a shortened title, a teaser or a different link; and every network repeats its own
//! boilerplate: call-to-action paragraphs, footers, signatures, "Leer más", share lines. Two
//! posts about different cases share that boilerplate and nothing else, so resemblance is
//! judged on the *distinctive* 3-word shingles of each body:
//!
//! - **source boilerplate**: a shingle carried by at least [`SOURCE_REPEATS`] of a source's
//!   recent items (the new ones and up to [`SOURCE_WINDOW`] stored ones) is that source's
//!   template, flagged in the item's signature ([`source_boilerplate`], [`flag`]). A story
//!   cross-posted by many partners appears once per source, so it is never flagged;
//! - **overall boilerplate**: text that recurs across sources under many different titles
//!   (a coalition's campaign call each member posts once). The store finds it from its
//!   candidate index: a text key whose postings carry at least [`OTHER_TITLES`] other titles
//!   outside the story judged is boilerplate, and a passage two items share is discounted
//!   whole when it holds such a key. A story's copies, retitled or not, count as the story;
//! - **without history**: both bodies saying something of their own at the same places
//!   around what they share (a name, a place, a date: `Frame`) is one template filled
//!   twice ([`Comparison::template_slots`]); a shared closing passage after each body's own
//!   text is a footer ([`Comparison::shared_footer`]); shared text naming nothing either
//!   title names ([`naming_words`]) is no evidence; a title a source gives
//!   several of its items is a template title ([`Boilerplate::titles`]).
//!
//! Two items are one story when (thresholds in README.md, "How duplicates are found"):
//!
//! 1. **link**: their links are equal in the form [`story_link`] gives
//!    [`crate::ingest::normalize::link_key`] (AMP variants, referrers, escapes dropped);
//! 2. **title**: a folded title or title core (the longest part between `:`/`|`/dashes, so
//!    `AU: …` and `… | Red` wrappers drop) of at least [`MIN_TITLE_WORDS`] words is equal,
//!    they are at most [`TITLE_DAYS`] days apart, and the bodies are not plainly different
//!    (with [`MIN_DISTINCT`] distinctive shingles each: [`TITLE_BODY_JACCARD`] or
//!    [`TITLE_BODY_CONTAINMENT`]; shorter: not two notes of [`SAYS_SOMETHING`] shingles with
//!    nothing in common);
//! 3. **the same whole text**: the whole bodies, boilerplate included, are [`IDENTICAL`]
//!    alike and share [`SAYS_SOMETHING`] distinctive shingles that name what the titles
//!    name (a templated post re-posted whole under another headline);
//! 4. **text**: both bodies have [`MIN_DISTINCT`] distinctive shingles, share at least
//!    [`MIN_SHARED`] of them naming what the titles name, are at most [`TEXT_DAYS`] days
//!    apart, and their distinctive resemblance (Jaccard) is at least [`MIN_JACCARD`] or the
//!    share of the shorter one found in the longer (containment: a teaser, an excerpt, a
//!    truncated re-post) at least [`MIN_CONTAINMENT`] with titles naming something in
//!    common.
//!
//! An item joins a story only by matching its primary (the earliest member): never through
//! a chain of copies. Pure: signatures in, a [`Comparison`] out; the store keeps the
//! signatures, the candidate keys ([`keys`]) and the verdicts.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::annotate::fold::fold;

/// Words per shingle: three words are specific enough that two different texts rarely
/// share one by chance, short enough that an edited sentence keeps most of them.
pub const SHINGLE: usize = 3;
/// A shingle in this many of a source's recent items is the source's boilerplate. A real
/// story appears once per source, twice when a source posts an update or a translation
/// that quotes it; three or more is the source's template (footer, call, signature).
pub const SOURCE_REPEATS: usize = 3;
/// Stored items of a source read, besides the new ones, to count its boilerplate: a feed
/// document carries its last 10–30 items, so 20 covers a template's use whatever the
/// source publishes per run; bounded so a source's history costs nothing.
pub const SOURCE_WINDOW: usize = 20;
/// A text key carried by items under this many other title cores (the story being judged
/// and the item itself left out) is overall boilerplate. Partners that re-post a story keep
/// its title or wrap it (`AU: …`), which keeps its core; three differently titled posts
/// sharing a passage is a campaign text, not a story.
pub const OTHER_TITLES: usize = 3;
/// Shorter titles ("Comunicado", "Boletín semanal") never make a story on their own.
pub const MIN_TITLE_WORDS: usize = 4;
/// Equal titles further apart than this are different stories.
pub const TITLE_DAYS: i64 = 4;
/// Resembling bodies further apart than this are different stories.
pub const TEXT_DAYS: i64 = 14;
/// Distinctive shingles a body needs to be judged by its text (about 26 words). The
/// formulas this field repeats across organizations ("exigimos a las autoridades
/// garantizar la integridad física y psicológica de…") run 15–25 words; below this a shared
/// passage can be one of them. A teaser whose first lines are boilerplate is left to its
/// link and title.
pub const MIN_DISTINCT: usize = 24;
/// Distinctive shingles two bodies must share to be one story by text.
pub const MIN_SHARED: usize = 24;
/// Distinctive resemblance that makes one story.
pub const MIN_JACCARD: f64 = 0.5;
/// Share of the shorter distinctive body found in the longer one that makes one story.
pub const MIN_CONTAINMENT: f64 = 0.75;
/// Equal titles over bodies less alike than this (and [`TITLE_BODY_CONTAINMENT`]) are
/// different stories: "Acción urgente: Guerrero" twice, about two people.
pub const TITLE_BODY_JACCARD: f64 = 0.08;
/// See [`TITLE_BODY_JACCARD`]: a teaser under the story's title is mostly contained.
pub const TITLE_BODY_CONTAINMENT: f64 = 0.3;
/// A distinctive shingle whose hash is a multiple of this is a text key ([`keys`]): chosen
/// by content, so any passage two items share gives both the same keys wherever it sits
/// (a teaser of 30 words has about 5).
pub const ANCHOR_EVERY: u32 = 6;
/// Text keys taken in text order: the opening, where teasers and excerpts come from.
pub const LEAD_ANCHORS: usize = 6;
/// Text keys taken by smallest hash from the rest of the body: re-posts that keep the body
/// but not the opening still meet.
pub const SPREAD_ANCHORS: usize = 2;
/// Postings read per key, newest first. A key carried by more items than this is either
/// boilerplate or a story already found through its newest copies.
pub const POSTINGS: usize = 16;
/// Candidates judged per item, ranked by the evidence they share with it.
pub const CANDIDATES: usize = 8;

/// Set on a shingle that is its item's source boilerplate ([`flag`]).
const FLAG: u32 = 1 << 31;
/// Set on a shingle holding a word its item's title names ([`naming_words`]): shared text
/// that names what neither title names is not evidence that two posts tell one story.
const NAMED: u32 = 1 << 30;
/// The low 30 bits of a stored shingle: its hash, flags cleared.
const HASH: u32 = NAMED - 1;

/// Hashes shingle hashes by using them as they are: they are already uniformly mixed, and
/// annotating a first fetch counts millions of them.
#[derive(Default, Clone, Copy)]
pub struct Passthrough(u64);

impl std::hash::Hasher for Passthrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }

    fn write_u32(&mut self, n: u32) {
        // Spread over the high bits too: hashbrown takes its control bits from the top.
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A set of shingle hashes.
pub type ShingleSet = HashSet<u32, std::hash::BuildHasherDefault<Passthrough>>;
type ShingleCounts = HashMap<u32, u16, std::hash::BuildHasherDefault<Passthrough>>;

/// What is compared; computed once per item and stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signature {
    /// [`crate::ingest::normalize::link_key`] of the item's link.
    pub link: Option<String>,
    /// The folded title.
    pub title: String,
    /// The folded longest part of the title (the title itself when it has no parts).
    pub core: String,
    /// Date in seconds (published, else first seen).
    pub date: i64,
    /// Words in the body.
    pub words: usize,
    /// The body's distinct shingle hashes in text order; the top bit marks the source's
    /// boilerplate ([`flag`]).
    pub shingles: Vec<u32>,
}

/// Why two items are one story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// The same canonical link.
    Link,
    /// The same title or title core, bodies not plainly different.
    Title,
    /// Their distinctive text resembles or contains the other's.
    Text,
    /// An editor joined them (`boletin items merge`).
    Editor,
}

impl Reason {
    /// The name stored and shown (`link`, `title`, `text`, `editor`).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Link => "link",
            Reason::Title => "title",
            Reason::Text => "text",
            Reason::Editor => "editor",
        }
    }

    /// The reason a stored name stands for.
    pub fn parse(text: &str) -> Option<Reason> {
        match text {
            "link" => Some(Reason::Link),
            "title" => Some(Reason::Title),
            "text" => Some(Reason::Text),
            "editor" => Some(Reason::Editor),
            _ => None,
        }
    }

    /// Stronger evidence first when an item matches several stories.
    fn rank(self) -> u8 {
        match self {
            Reason::Editor => 4,
            Reason::Link => 3,
            Reason::Title => 2,
            Reason::Text => 1,
        }
    }
}

/// FNV-1a: stable across Rust versions, so stored signatures stay comparable.
fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// splitmix64 finalizer: spreads combined word hashes over all bits.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The shingle hashes of folded text, one per position (repeats kept), and its word count.
pub fn shingle_positions(folded: &str) -> (usize, Vec<u32>) {
    shingles_naming(folded, &[])
}

/// [`shingle_positions`], with [`NAMED`] set on the shingles holding one of `named` (word
/// hashes; a title's few).
fn shingles_naming(folded: &str, named: &[u64]) -> (usize, Vec<u32>) {
    let words: Vec<(u64, bool)> = folded
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let h = fnv(w.as_bytes());
            (h, named.contains(&h))
        })
        .collect();
    let shingles = words
        .windows(SHINGLE)
        .map(|w| {
            let hash = (mix(w[0].0 ^ w[1].0.rotate_left(21) ^ w[2].0.rotate_left(42)) >> 34) as u32;
            if w.iter().any(|(_, n)| *n) {
                hash | NAMED
            } else {
                hash
            }
        })
        .collect();
    (words.len(), shingles)
}

/// The folded longest part of a title between `:`, `|` and dashes (`AU: Acción urgente:
/// desaparición de …` → `desaparicion de …`); the whole folded title when no part is longer.
pub fn title_core(title: &str) -> String {
    let parts = title
        .split([':', '|', '–', '—', '«', '»'])
        .flat_map(|p| p.split(" - "))
        .map(fold)
        .filter(|p| !p.is_empty());
    let mut best = String::new();
    for part in parts {
        if part.split(' ').count() > best.split(' ').count() {
            best = part;
        }
    }
    if best.is_empty() { fold(title) } else { best }
}

/// Query parameters that name how a page was reached, not which page: the AMP variant
/// (`?amp`, `?amp=1`) and share referrers (`?ref=twitter`).
const LINK_NOISE: &[&str] = &["amp", "ref", "ref_src", "ref_url", "usqp", "amp_js_v"];

/// A [`crate::ingest::normalize::link_key`] in the form stories compare links: the same
/// article behind its AMP variants (`…/amp`, `?amp=1`, an `amp.` host, the AMP cache's
/// `<site>.cdn.ampproject.org/c/s/<host>/<path>`), share referrers and percent-escaped
/// letters (`ataque%2Dnuevo` is `ataque-nuevo`) is one link.
pub fn story_link(key: &str) -> String {
    let split = |k: &str| -> (String, String) {
        let at = k.find(['/', '?']).unwrap_or(k.len());
        (k[..at].to_ascii_lowercase(), k[at..].to_string())
    };
    let (mut host, mut rest) = split(key);
    // The AMP cache serves `/c/<host>/<path>` (`/c/s/` for https; `/v/`, `/i/` for viewers
    // and images): the page is the one it names. Unwrapped once, never recursively.
    if host == "cdn.ampproject.org" || host.ends_with(".cdn.ampproject.org") {
        let mut inner = rest.trim_start_matches('/');
        for prefix in ["c/", "v/", "i/"] {
            if let Some(r) = inner.strip_prefix(prefix) {
                inner = r.strip_prefix("s/").unwrap_or(r);
                break;
            }
        }
        if inner.contains('.') {
            (host, rest) = split(inner);
        }
    }
    for prefix in ["amp.", "www."] {
        if let Some(h) = host.strip_prefix(prefix) {
            host = h.to_string();
        }
    }
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest.as_str(), None),
    };
    let mut path = unescape_unreserved(path);
    while path.ends_with('/') {
        path.pop();
    }
    if let Some(p) = path.strip_suffix("/amp") {
        path = p.trim_end_matches('/').to_string();
    }
    let query: Vec<&str> = query
        .unwrap_or_default()
        .split('&')
        .filter(|kv| {
            let name = kv.split('=').next().unwrap_or_default();
            !kv.is_empty() && !LINK_NOISE.iter().any(|n| name.eq_ignore_ascii_case(n))
        })
        .collect();
    if query.is_empty() {
        format!("{host}{path}")
    } else {
        format!("{host}{path}?{}", query.join("&"))
    }
}

/// `path` with percent-escaped letters, digits and `-._~` written as themselves: they mean
/// the same escaped or not (RFC 3986, 2.3). Other escapes stay as they are.
fn unescape_unreserved(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut n = 0;
    while n < bytes.len() {
        let decoded = (bytes[n] == b'%')
            .then(|| path.get(n + 1..n + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(|b| b.is_ascii_alphanumeric() || b"-._~".contains(b));
        match decoded {
            Some(b) => {
                out.push(char::from(b));
                n += 3;
            }
            None => {
                let len = path[n..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&path[n..n + len]);
                n += len;
            }
        }
    }
    out
}

/// The signature of an item: `link_key` already computed, `title` and `body` as plain text.
/// No shingle is flagged yet: the store knows the source's boilerplate ([`flag`]).
pub fn signature(link_key: Option<String>, title: &str, body: &str, date: i64) -> Signature {
    signature_folded(link_key, title, &fold(body), date)
}

/// [`signature`] of a body already folded ([`fold`]).
pub fn signature_folded(
    link_key: Option<String>,
    title: &str,
    folded_body: &str,
    date: i64,
) -> Signature {
    let core = title_core(title);
    let title = fold(title);
    let named: Vec<u64> = naming_words(&title).map(|w| fnv(w.as_bytes())).collect();
    let (words, positions) = shingles_naming(folded_body, &named);
    // The first occurrence of a shingle keeps its place; all occurrences hash alike and hold
    // the same words, so the first carries the mark too.
    let mut seen = ShingleSet::with_capacity_and_hasher(positions.len(), Default::default());
    let shingles = positions
        .into_iter()
        .filter(|s| seen.insert(s & HASH))
        .collect();
    Signature {
        link: link_key.map(|l| story_link(&l)),
        title,
        core,
        date,
        words,
        shingles,
    }
}

/// The hashes (flag cleared) carried by at least [`SOURCE_REPEATS`] of one source's items:
/// `new` ones being annotated and `recent` stored ones.
pub fn source_boilerplate(new: &[&[u32]], recent: &[&[u32]]) -> ShingleSet {
    if new.len() + recent.len() < SOURCE_REPEATS {
        return ShingleSet::default();
    }
    let mut counts = ShingleCounts::default();
    for shingles in new.iter().chain(recent) {
        for s in *shingles {
            let n = counts.entry(s & HASH).or_default();
            *n = n.saturating_add(1);
        }
    }
    counts
        .into_iter()
        .filter(|(_, n)| usize::from(*n) >= SOURCE_REPEATS)
        .map(|(s, _)| s)
        .collect()
}

/// Flags the shingles of `sig` found in `boilerplate`; returns how many are flagged.
pub fn flag(sig: &mut Signature, boilerplate: &ShingleSet) -> usize {
    let mut n = 0;
    for s in &mut sig.shingles {
        if boilerplate.contains(&(*s & HASH)) {
            *s |= FLAG;
        }
        n += usize::from(*s & FLAG != 0);
    }
    n
}

/// What a candidate key says about two items that share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// The canonical link.
    Link,
    /// The folded title or its core.
    Title,
    /// A distinctive shingle of the body.
    Text,
}

/// One entry of the candidate index: items sharing a key are brought together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The hash stored in the index.
    pub value: i64,
    /// What it was made from.
    pub kind: KeyKind,
    /// For text keys: the shingle it stands for (to discount boilerplate passages).
    pub shingle: u32,
}

impl Key {
    fn new(kind: KeyKind, tag: u8, bytes: &[u8], shingle: u32) -> Key {
        let mut h = fnv(&[tag]);
        h ^= fnv(bytes);
        // Stored as SQLite integers: the bits matter, not the sign.
        Key {
            value: mix(h) as i64,
            kind,
            shingle,
        }
    }

    /// How much sharing this key says two items are one story, for ranking candidates.
    pub fn weight(self) -> u32 {
        match self.kind {
            KeyKind::Link => 100,
            KeyKind::Title => 20,
            KeyKind::Text => 1,
        }
    }
}

fn title_words(t: &str) -> usize {
    t.split(' ').filter(|w| !w.is_empty()).count()
}

/// The candidate keys of an item: its link, its title and title core (when long enough),
/// and up to [`LEAD_ANCHORS`] + [`SPREAD_ANCHORS`] of its distinctive shingles.
pub fn keys(sig: &Signature) -> Vec<Key> {
    let mut out = Vec::new();
    if let Some(link) = &sig.link {
        out.push(Key::new(KeyKind::Link, b'l', link.as_bytes(), 0));
    }
    for t in [&sig.title, &sig.core] {
        if title_words(t) >= MIN_TITLE_WORDS {
            let key = Key::new(KeyKind::Title, b't', t.as_bytes(), 0);
            if !out.contains(&key) {
                out.push(key);
            }
        }
    }
    let anchors: Vec<u32> = sig
        .shingles
        .iter()
        .filter(|s| *s & FLAG == 0 && (*s & HASH).is_multiple_of(ANCHOR_EVERY))
        .map(|s| s & HASH)
        .collect();
    let (lead, rest) = anchors.split_at(anchors.len().min(LEAD_ANCHORS));
    let mut rest = rest.to_vec();
    rest.sort_unstable();
    for s in lead.iter().chain(rest.iter().take(SPREAD_ANCHORS)) {
        out.push(Key::new(KeyKind::Text, b'x', &s.to_le_bytes(), *s));
    }
    out
}

/// The title identity used to tell boilerplate from a re-posted story: items that share a
/// passage under many different title cores share boilerplate. 31 bits: SQLite stores it
/// in 4 bytes, not 8, and the key index holds one per key (a collision merely counts two
/// titles as one).
pub fn title_id(sig: &Signature) -> i64 {
    (mix(fnv(sig.core.as_bytes())) >> 33) as i64
}

/// What the store knows is boilerplate beyond each source's flags, when judging an item
/// against one story.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Boilerplate {
    /// Shingles of passages that recur under many titles ([`OTHER_TITLES`]): a shared
    /// passage holding one is discounted whole.
    pub shingles: HashSet<u32>,
    /// Folded titles (or cores) a source gives more than one of its items ("Acción urgente
    /// por las defensoras de Chiapas" every week): a template, not a story's title.
    pub titles: HashSet<String>,
}

/// The key a title (or title core) is stored under.
pub fn title_key(folded: &str) -> i64 {
    Key::new(KeyKind::Title, b't', folded.as_bytes(), 0).value
}

/// Everything the judge saw when comparing two items (for `boletin items why`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Comparison {
    /// Why they are one story; `None`: they are not.
    pub reason: Option<Reason>,
    /// How strongly: 1 for a link; else the larger of resemblance and containment.
    pub score: f64,
    /// Distinctive resemblance (Jaccard).
    pub jaccard: f64,
    /// Share of the smaller distinctive body found in the larger.
    pub containment: f64,
    /// Distinctive shingles both bodies carry.
    pub shared: usize,
    /// Distinctive shingles of each body.
    pub distinct: (usize, usize),
    /// Shingles discounted as either source's boilerplate.
    pub source_boilerplate: usize,
    /// Shared shingles discounted as overall boilerplate (passages that recur under many
    /// titles).
    pub overall_boilerplate: usize,
    /// Shared shingles discounted as a footer: a closing passage after each body's own
    /// text.
    pub shared_footer: usize,
    /// Places where both say something of their own around the same shared passages: one
    /// template filled with two cases (0 when too little is filled to tell).
    pub template_slots: usize,
    /// Own shingles both fill in at those places (the smaller count at each).
    pub template_fill: usize,
    /// Shared distinctive shingles holding a word either title names.
    pub named: usize,
    /// Resemblance of the whole texts, boilerplate included ([`IDENTICAL`]).
    pub whole: f64,
    /// Days between the two dates.
    pub days: i64,
    /// A title or title core of [`MIN_TITLE_WORDS`] words is equal.
    pub same_title: bool,
}

/// Shingles of its own a short body needs (a sentence) to count as saying something.
pub const SAYS_SOMETHING: usize = 6;

/// Title words that name no story: the genre of a post, who shares it, and the field's
/// common roles. What is left names people, places and events.
const GENERIC_TITLE_WORDS: &[&str] = &[
    "accion",
    "urgente",
    "urgent",
    "action",
    "alerta",
    "alert",
    "boletin",
    "bulletin",
    "semanal",
    "weekly",
    "comunicado",
    "statement",
    "denuncia",
    "denuncian",
    "exigen",
    "exigimos",
    "piden",
    "compartimos",
    "difundimos",
    "repost",
    "reposted",
    "nota",
    "notas",
    "caso",
    "casos",
    "noticias",
    "news",
    "informe",
    "report",
    "actualizacion",
    "update",
    "para",
    "desde",
    "sobre",
    "entre",
    "contra",
    "ante",
    "tras",
    "como",
    "este",
    "esta",
    "with",
    "from",
    "that",
    "this",
    "their",
    "after",
    "against",
    "about",
    "defensora",
    "defensor",
    "defensoras",
    "defensores",
    "defender",
    "defenders",
    "comunidad",
    "comunidades",
    "community",
    "communities",
    "pueblo",
    "pueblos",
];

/// The words of a folded title that name something: four letters or more, not a number, not
/// a genre word (`GENERIC_TITLE_WORDS`). What is left names people, places and events.
pub fn naming_words(folded_title: &str) -> impl Iterator<Item = &str> {
    folded_title.split(' ').filter(|w| {
        w.chars().count() >= 4
            && !w.chars().all(|c| c.is_ascii_digit())
            && !GENERIC_TITLE_WORDS.contains(w)
    })
}

/// Whether two titles share a word that names something ([`naming_words`]).
fn titles_related(a: &Signature, b: &Signature) -> bool {
    let wa: HashSet<&str> = naming_words(&a.title).collect();
    naming_words(&b.title).any(|w| wa.contains(w))
}

/// Whether a copy's title still names what its story's primary names: equal (title or
/// core), or naming something in common. A story's retitled copies do; cases folded on
/// text alone under generic or unrelated headlines do not, and the text they share keeps
/// counting as text that recurs under their titles.
pub fn titles_kin(a: &Signature, b: &Signature) -> bool {
    let none = HashSet::new();
    titles_agree(a, b, &none) || titles_agree(b, a, &none) || titles_related(a, b)
}

/// Whether `a` and `b`'s titles or cores agree (long enough to mean something, and not a
/// source's template).
fn titles_agree(a: &Signature, b: &Signature, templates: &HashSet<String>) -> bool {
    [&a.title, &a.core].iter().any(|x| {
        title_words(x) >= MIN_TITLE_WORDS
            && !templates.contains(x.as_str())
            && (**x == b.title || **x == b.core)
    })
}

/// A passage both bodies carry, in `x`'s order.
struct Run {
    /// Its shingles (hashes).
    shingles: Vec<u32>,
    /// It holds an overall boilerplate shingle: discounted whole.
    overall: bool,
    /// `x`'s own shingles between it and the passage before (or the start).
    gap: usize,
    /// Its shingles holding a word either title names.
    named: usize,
}

/// What two bodies share once boilerplate is set aside.
struct Shared {
    /// `x`'s shingles (hashes) that count as shared distinctive text.
    shingles: Vec<u32>,
    /// Of those, the ones holding a word either title names ([`NAMED`]).
    named: usize,
    /// Distinctive shingles of `x` and of `p` (either source's boilerplate left out).
    nx: usize,
    np: usize,
    /// Shingles of `x` that are either source's boilerplate.
    source: usize,
    /// Shared shingles in passages holding an overall boilerplate shingle.
    overall: usize,
    /// Shared shingles of a closing passage after each body's own text (a footer).
    tail: usize,
    /// Where both say something of their own around what they share.
    frame: Frame,
    /// Shingles of `x` that `p` carries whatever their flags: how nearly the whole texts,
    /// template and filling, are the same.
    whole: usize,
}

/// Where both bodies say something of their own around the text they share: a template
/// filled twice. A re-post keeps the story's words, so its own text (an intro, a credit, a
/// corrected figure) sits where the original has none; two cases poured into one template
/// differ at the same places (the name, the place, the date, the police force), each
/// place by a few words. Counted in the smaller body's own shingles at each place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Frame {
    /// Before the first shared passage.
    lead: usize,
    /// Between the same two shared passages, summed over such places.
    inner: usize,
    /// Places between shared passages where both say something of their own.
    places: usize,
}

impl Frame {
    /// Own text both fill in, in shingles: the opening counts only around a filled place
    /// inside (two re-posts may each add a line on top of a story, and nothing else).
    fn fill(self) -> usize {
        if self.places > 0 {
            self.lead + self.inner
        } else {
            0
        }
    }
}

/// Between two passages both bodies share, both say at least this much of their own in all
/// (about a dozen words: a name, a place, a date and what happened): one template filled
/// twice.
pub const SLOT: usize = 10;

/// Where `runs` (shared passages in x's order) sit in `p`, and what both say of their own
/// around them ([`Frame`]).
fn frame(runs: &[Run], p: &Signature, boiler: &dyn Fn(u32) -> bool) -> Frame {
    let Some(first) = runs.first() else {
        return Frame::default();
    };
    // A word cut or added on one side leaves at most SHINGLE - 1 shingles of its own on the
    // other (the ones spanning the cut); a word replaced by another leaves SHINGLE or more
    // on both.
    let filled = |x_own: usize, p_own: usize| Some(x_own.min(p_own)).filter(|n| *n >= SHINGLE);
    let mut shared = ShingleSet::default();
    shared.extend(runs.iter().flat_map(|r| r.shingles.iter().copied()));
    // p's distinctive shingles in order: where each shared one sits, and how many of p's
    // own come before each position. One passage needs only what comes before it.
    let mut position: HashMap<u32, usize, std::hash::BuildHasherDefault<Passthrough>> =
        HashMap::default();
    let mut own_before: Vec<usize> = Vec::new();
    let mut own = 0;
    let opening = first.shingles.first().copied();
    for s in p.shingles.iter().map(|s| s & HASH).filter(|s| !boiler(*s)) {
        if runs.len() == 1 && Some(s) == opening {
            return Frame {
                lead: filled(first.gap, own).unwrap_or(0),
                ..Frame::default()
            };
        }
        position.insert(s, own_before.len());
        own_before.push(own);
        own += usize::from(!shared.contains(&s));
    }
    let mut f = Frame::default();
    if let Some(&at) = opening.as_ref().and_then(|s| position.get(s)) {
        f.lead = filled(first.gap, own_before[at]).unwrap_or(0);
    }
    for w in runs.windows(2) {
        let (Some(&a), Some(&b)) = (
            w[0].shingles.last().and_then(|s| position.get(s)),
            w[1].shingles.first().and_then(|s| position.get(s)),
        ) else {
            continue;
        };
        if b > a
            && let Some(both) = filled(w[1].gap, own_before[b] - own_before[a])
        {
            f.inner += both;
            f.places += 1;
        }
    }
    f
}

/// What `x` shares with `p`: neither source's boilerplate, carried by both, not in a
/// shared passage that holds an `overall` boilerplate shingle, and not a shared closing
/// passage that follows `footer_own` shingles of each body's own text. That last one is a
/// signature or footer two organizations share (seen too rarely to be counted as
/// boilerplate yet); a re-post keeps the story's opening, so its original has no text of its
/// own before what they share, or only a dateline.
fn shared_with(x: &Signature, p: &Signature, overall: &HashSet<u32>, footer_own: usize) -> Shared {
    // Sorted copies answer "does p carry it, with which flags?" by binary search: cheaper
    // than hashing for a few hundred shingles, and no table per comparison.
    let mut p_sorted: Vec<u32> = p.shingles.clone();
    p_sorted.sort_unstable_by_key(|s| s & HASH);
    let p_get = |s: u32| {
        p_sorted
            .binary_search_by_key(&s, |v| v & HASH)
            .ok()
            .map(|i| p_sorted[i])
    };
    let mut x_bp: Vec<u32> = x
        .shingles
        .iter()
        .filter(|s| *s & FLAG != 0)
        .map(|s| s & HASH)
        .collect();
    x_bp.sort_unstable();
    // Either source's boilerplate is discounted from both bodies.
    let boiler = |s: u32| x_bp.binary_search(&s).is_ok() || p_get(s).is_some_and(|v| v & FLAG != 0);
    let mut runs: Vec<Run> = Vec::new();
    let mut open = false;
    let mut last_x = None;
    let mut gap = 0;
    let mut whole = 0;
    for &raw in &x.shingles {
        let s = raw & HASH;
        let in_p = p_get(s);
        whole += usize::from(in_p.is_some());
        if x_bp.binary_search(&s).is_ok() || in_p.is_some_and(|v| v & FLAG != 0) {
            continue;
        }
        last_x = Some(s);
        if let Some(v) = in_p {
            if !open {
                runs.push(Run {
                    shingles: Vec::new(),
                    overall: false,
                    gap,
                    named: 0,
                });
                open = true;
                gap = 0;
            }
            if let Some(run) = runs.last_mut() {
                run.shingles.push(s);
                run.overall |= overall.contains(&s);
                run.named += usize::from((raw | v) & NAMED != 0);
            }
        } else {
            open = false;
            gap += 1;
        }
    }
    let frame = frame(&runs, p, &boiler);
    let nx = x.shingles.iter().filter(|s| !boiler(*s & HASH)).count();
    let np = p.shingles.iter().filter(|s| !boiler(*s & HASH)).count();
    let shared_all: usize = runs.iter().map(|r| r.shingles.len()).sum();
    let last_p = p
        .shingles
        .iter()
        .rev()
        .map(|s| s & HASH)
        .find(|s| !boiler(*s));
    let mut tail = 0;
    if open
        && nx.saturating_sub(shared_all) >= footer_own
        && np.saturating_sub(shared_all) >= footer_own
        && let Some(run) = runs.last_mut()
        && !run.overall
        && last_x.is_some_and(|s| run.shingles.contains(&s))
        && last_p.is_some_and(|s| run.shingles.contains(&s))
    {
        tail = run.shingles.len();
        run.shingles.clear();
        run.named = 0;
    }
    let mut out = Shared {
        shingles: Vec::new(),
        named: 0,
        nx,
        np,
        source: x.shingles.len() - nx,
        overall: 0,
        tail,
        frame,
        whole,
    };
    for run in runs {
        if run.overall {
            out.overall += run.shingles.len();
        } else {
            out.named += run.named;
            out.shingles.extend(run.shingles);
        }
    }
    out
}

/// The shingles (hashes) `x` shares with `p` beyond boilerplate: what `why` shows.
pub fn shared_shingles(x: &Signature, p: &Signature, known: &Boilerplate) -> HashSet<u32> {
    shared_with(x, p, &known.shingles, footer_own(x, p, known))
        .shingles
        .into_iter()
        .collect()
}

/// Own text each body needs before a shared closing passage for it to be a footer: a
/// body's worth when the titles agree (a re-post under the story's title may add a line or
/// two on top), a sentence when they do not (two cases, each a sentence, under one long
/// campaign call: the store may not know the call yet).
fn footer_own(x: &Signature, p: &Signature, known: &Boilerplate) -> usize {
    if titles_agree(x, p, &known.titles) || titles_agree(p, x, &known.titles) {
        MIN_DISTINCT
    } else {
        SAYS_SOMETHING
    }
}

/// Whole texts this alike (resemblance of all their shingles, boilerplate included) are
/// one text: a network's templated post re-posted whole, its filling (name, place, date)
/// and all.
pub const IDENTICAL: f64 = 0.9;

/// Compares `x` with `p` (from another source), discounting both sources' boilerplate and
/// what else is `known` to be boilerplate.
pub fn compare(x: &Signature, p: &Signature, known: &Boilerplate) -> Comparison {
    let days = (x.date - p.date).abs() / 86_400;
    let same_title = titles_agree(x, p, &known.titles) || titles_agree(p, x, &known.titles);
    let sh = shared_with(x, p, &known.shingles, footer_own(x, p, known));
    // Discounted shared passages leave both bodies.
    let gone = sh.overall + sh.tail;
    let (nx, np) = (sh.nx.saturating_sub(gone), sh.np.saturating_sub(gone));
    let shared_n = sh.shingles.len();
    let union = (nx + np).saturating_sub(shared_n).max(1);
    let jaccard = shared_n as f64 / union as f64;
    let containment = shared_n as f64 / nx.min(np).max(1) as f64;
    let whole_union = (x.shingles.len() + p.shingles.len()).saturating_sub(sh.whole);
    let whole = sh.whole as f64 / whole_union.max(1) as f64;
    let fill = sh.frame.fill();
    let mut c = Comparison {
        reason: None,
        score: jaccard.max(containment).min(1.0),
        jaccard,
        containment: containment.min(1.0),
        shared: shared_n,
        distinct: (nx, np),
        source_boilerplate: sh.source,
        overall_boilerplate: sh.overall,
        shared_footer: sh.tail,
        template_slots: if fill > 0 {
            sh.frame.places + usize::from(sh.frame.lead > 0)
        } else {
            0
        },
        template_fill: fill,
        named: sh.named,
        whole,
        days,
        same_title,
    };
    if let (Some(a), Some(b)) = (&x.link, &p.link)
        && a == b
    {
        c.reason = Some(Reason::Link);
        c.score = 1.0;
        return c;
    }
    // One template filled with two cases: whatever they share is the frame, not a story,
    // whatever their titles say. A few words at a few places are enough when they are a
    // fair part of what each says of its own (a generic headline over two one-line
    // excerpts); a re-post that corrects a figure or two changes little of a long text.
    if fill >= SLOT || (fill >= SAYS_SOMETHING && 4 * fill >= nx.min(np)) {
        return c;
    }
    // Shared text that names nothing either title names (when both name something) is not
    // what the posts are about: a campaign call under two cases' headlines.
    let names = sh.named > 0
        || naming_words(&x.title).next().is_none()
        || naming_words(&p.title).next().is_none();
    let judged = nx.min(np) >= MIN_DISTINCT;
    // Too short to judge by text, yet each says something and nothing in common: two notes
    // under one generic headline.
    let unrelated_notes = !judged && nx.min(np) >= SAYS_SOMETHING && shared_n == 0;
    if same_title
        && days <= TITLE_DAYS
        && !unrelated_notes
        && (!judged || jaccard >= TITLE_BODY_JACCARD || containment >= TITLE_BODY_CONTAINMENT)
    {
        c.reason = Some(Reason::Title);
        if !judged {
            c.score = 1.0;
        }
        return c;
    }
    // The same whole text, filling included, is the strongest evidence after a link, however
    // little of it is distinctive: a network's templated post re-posted whole under a
    // partner's headline ([`better`] ranks it above a title). Some of what they share must
    // still be their own (a text all boilerplate says nothing of the case), and name what
    // the titles name.
    if names
        && days <= TEXT_DAYS
        && whole >= IDENTICAL
        && x.shingles.len().min(p.shingles.len()) >= MIN_DISTINCT
        && shared_n >= SAYS_SOMETHING
    {
        c.reason = Some(Reason::Text);
        c.score = whole;
        return c;
    }
    // Containment alone (a short text inside a longer one) also fits a bulletin that quotes
    // the story among others: the titles must name something in common too.
    if judged
        && names
        && days <= TEXT_DAYS
        && shared_n >= MIN_SHARED
        && (jaccard >= MIN_JACCARD
            || (containment >= MIN_CONTAINMENT && (same_title || titles_related(x, p))))
    {
        c.reason = Some(Reason::Text);
    }
    c
}

/// Whether `x` and `p` are one story, and why (no boilerplate known beyond the flags).
pub fn same_story(x: &Signature, p: &Signature) -> Option<Reason> {
    compare(x, p, &Boilerplate::default()).reason
}

/// Whether the candidate index brings `a` and `b` together: they share a key.
pub fn is_candidate(a: &Signature, b: &Signature) -> bool {
    let ka: HashSet<i64> = keys(a).iter().map(|k| k.value).collect();
    keys(b).iter().any(|k| ka.contains(&k.value))
}

/// The better of two verdicts for the same item: stronger evidence, then higher score. The
/// same whole text ([`IDENTICAL`]) comes after the editor and the link, before a title.
pub fn better(a: &Comparison, b: &Comparison) -> bool {
    let strength = |c: &Comparison| {
        c.reason.map(|r| {
            let rank = 2 * r.rank();
            let identical = matches!(r, Reason::Title | Reason::Text) && c.whole >= IDENTICAL;
            (if identical { 5 } else { rank }, c.score)
        })
    };
    match (strength(a), strength(b)) {
        (Some(x), Some(y)) => x > y,
        (Some(_), None) => true,
        _ => false,
    }
}

/// A signature's shingles as stored (little-endian `u32`s, flags included).
pub fn shingles_bytes(sig: &Signature) -> Vec<u8> {
    sig.shingles.iter().flat_map(|h| h.to_le_bytes()).collect()
}

/// Shingles read back from the store; a malformed tail is dropped.
pub fn shingles_from_bytes(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Candidate keys as stored with an item (little-endian `i64` value, kind byte, shingle),
/// so they can be removed when the item is annotated again or deleted.
pub fn keys_bytes(keys: &[Key]) -> Vec<u8> {
    let mut out = Vec::with_capacity(keys.len() * 13);
    for k in keys {
        out.extend_from_slice(&k.value.to_le_bytes());
        out.push(match k.kind {
            KeyKind::Link => b'l',
            KeyKind::Title => b't',
            KeyKind::Text => b'x',
        });
        out.extend_from_slice(&k.shingle.to_le_bytes());
    }
    out
}

/// Keys read back from the store; anything malformed is dropped.
pub fn keys_from_bytes(bytes: &[u8]) -> Vec<Key> {
    bytes
        .chunks_exact(13)
        .filter_map(|c| {
            let mut v = [0u8; 8];
            v.copy_from_slice(&c[..8]);
            let kind = match c[8] {
                b'l' => KeyKind::Link,
                b't' => KeyKind::Title,
                b'x' => KeyKind::Text,
                _ => return None,
            };
            Some(Key {
                value: i64::from_le_bytes(v),
                kind,
                shingle: u32::from_le_bytes([c[9], c[10], c[11], c[12]]),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "Las autoridades del estado de Guerrero deben localizar con vida a la defensora \
        comunitaria María López, desaparecida el 12 de noviembre tras salir de una reunión de la \
        asamblea en Tlapa de Comonfort. Su familia denunció la desaparición ante la Fiscalía y \
        exige que se active el protocolo de búsqueda inmediata. Organizaciones de la Montaña \
        señalan que había recibido amenazas por su trabajo contra la minería.";

    const CALL: &str = "Las organizaciones firmantes exigimos garantías para la vida, la integridad \
        y la libertad de las personas defensoras. Invitamos a difundir esta acción urgente y a \
        enviar cartas a las autoridades señaladas. Se convoca a una jornada de solidaridad el \
        próximo viernes frente a la Secretaría de Gobernación. Firma la petición, comparte en \
        tus redes sociales. Leer más.";

    #[test]
    fn a_repost_with_an_intro_is_one_story() {
        let a = signature(None, "Acción urgente", BODY, 0);
        let repost = format!("Compartimos la acción urgente de Tlachinollan. {BODY} Difunde.");
        let b = signature(None, "AU: María López", &repost, 86_400);
        assert_eq!(same_story(&b, &a), Some(Reason::Text));
        assert!(is_candidate(&a, &b));
    }

    #[test]
    fn equal_titles_fold_accents_wrappers_but_short_titles_do_not_count() {
        let a = signature(
            None,
            "Acción urgente: desaparición de María López en Tlapa",
            "",
            0,
        );
        let b = signature(
            None,
            "AU | ACCION URGENTE — desaparicion de maria lopez en tlapa",
            "",
            3600,
        );
        assert_eq!(same_story(&a, &b), Some(Reason::Title));
        assert!(is_candidate(&a, &b));
        let c = signature(None, "Comunicado", "", 0);
        assert_eq!(same_story(&c, &c.clone()), None);
        let far = signature(
            None,
            "Acción urgente: desaparición de María López en Tlapa",
            "",
            30 * 86_400,
        );
        assert_eq!(same_story(&a, &far), None);
    }

    #[test]
    fn links_match_at_any_distance() {
        let a = signature(Some("x.org/a".into()), "Uno", "", 0);
        let b = signature(Some("x.org/a".into()), "Dos", "", 400 * 86_400);
        assert_eq!(same_story(&a, &b), Some(Reason::Link));
    }

    /// `words` words of Spanish-looking text, different for every `seed`.
    fn prose(seed: u64, words: usize) -> String {
        const VOCABULARY: &str = "la asamblea comunitaria denuncia que el gobierno estatal \
            otorgó concesiones mineras sin consulta previa mientras las defensoras del \
            territorio reciben amenazas y hostigamiento de grupos armados en la región de los \
            valles centrales sierra norte costa istmo mixteca cañada papaloapan frontera sur \
            caravana migrantes albergue fiscalía desaparición búsqueda familias madres tribunal \
            agrario ejido manantiales agua bosque maíz milpa cosecha radio comunitaria";
        let vocabulary: Vec<&str> = VOCABULARY.split_whitespace().collect();
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..words)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                vocabulary[(state >> 33) as usize % vocabulary.len()]
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn a_shared_call_folds_nothing_once_the_source_boilerplate_is_known() {
        // One network, six posts about different cases: the same 60-word call on top, then
        // 40 words of facts each. Unflagged, the call makes them look alike.
        let mut sigs: Vec<Signature> = (0..6)
            .map(|n| {
                signature(
                    None,
                    &format!("Caso {n}"),
                    &format!("{CALL} {}", prose(n, 40)),
                    0,
                )
            })
            .collect();
        let raw = compare(&sigs[0], &sigs[1], &Boilerplate::default());
        assert!(raw.containment > 0.5, "{raw:?}");
        let lists: Vec<&[u32]> = sigs.iter().map(|s| s.shingles.as_slice()).collect();
        let bp = source_boilerplate(&lists, &[]);
        for s in &mut sigs {
            assert!(flag(s, &bp) >= 50);
        }
        for a in &sigs {
            for b in &sigs {
                if a != b {
                    assert_eq!(compare(a, b, &Boilerplate::default()).reason, None);
                }
            }
        }
        // A partner's re-post of case 2 with the call and its own intro is still case 2.
        let repost = signature(
            None,
            "Difundimos",
            &format!("Desde la Red compartimos: {CALL} {}", prose(2, 40)),
            86_400,
        );
        let c = compare(&repost, &sigs[2], &Boilerplate::default());
        assert_eq!(c.reason, Some(Reason::Text), "{c:?}");
        assert_eq!(
            compare(&repost, &sigs[3], &Boilerplate::default()).reason,
            None
        );
        // The call's text keys are not the items' keys: they meet only through their facts.
        assert!(!is_candidate(&sigs[0], &sigs[1]));
    }

    #[test]
    fn an_overall_boilerplate_passage_is_discounted_whole() {
        // The call opens both (a closing one would be a footer): unknown, it makes them
        // look alike.
        let a = signature(None, "Uno", &format!("{CALL} {}", prose(7, 20)), 0);
        let b = signature(None, "Dos", &format!("{CALL} {}", prose(8, 20)), 0);
        assert_eq!(
            compare(&a, &b, &Boilerplate::default()).reason,
            Some(Reason::Text)
        );
        // One shingle of the call known as overall boilerplate discounts the passage.
        let overall: HashSet<u32> = keys(&a)
            .iter()
            .filter(|k| k.kind == KeyKind::Text && keys(&b).contains(k))
            .map(|k| k.shingle)
            .take(1)
            .collect();
        assert_eq!(overall.len(), 1);
        let known = Boilerplate {
            shingles: overall,
            ..Boilerplate::default()
        };
        let c = compare(&a, &b, &known);
        assert_eq!(c.reason, None, "{c:?}");
        assert!(c.overall_boilerplate >= 50, "{c:?}");
    }

    #[test]
    fn a_shared_closing_passage_after_each_own_story_is_a_footer() {
        // Seen twice only, nothing is flagged: what tells the footer is where it sits.
        let a = signature(None, "Uno", &format!("{} {CALL}", prose(11, 40)), 0);
        let b = signature(None, "Dos", &format!("{} {CALL}", prose(12, 40)), 0);
        let c = compare(&a, &b, &Boilerplate::default());
        assert_eq!(c.reason, None, "{c:?}");
        assert!(c.shared_footer >= 50, "{c:?}");
        // A re-post keeps the story's opening: the original has nothing of its own before
        // what they share, so the shared text is the story, footer included.
        let repost = signature(
            None,
            "Tres",
            &format!(
                "Compartimos esta nota de nuestras compañeras. {} {CALL}",
                prose(11, 40)
            ),
            0,
        );
        let c = compare(&repost, &a, &Boilerplate::default());
        assert_eq!(c.reason, Some(Reason::Text), "{c:?}");
        assert_eq!(c.shared_footer, 0, "{c:?}");
    }

    #[test]
    fn one_template_filled_with_two_cases_is_not_a_story() {
        // Seen twice only, nothing is flagged: what tells the template is that both say
        // something of their own between the same passages.
        let head = "La Red Nacional de Defensoras y Defensores Comunitarios expresa su profunda \
                    preocupación por los hechos ocurridos en la comunidad y exige a las \
                    autoridades de los tres niveles de gobierno garantizar la vida y la \
                    integridad de las personas defensoras.";
        let fill = |n| format!("{head} {} {CALL}", prose(n, 30));
        let (a, b) = (
            signature(None, "Uno", &fill(21), 0),
            signature(None, "Dos", &fill(22), 0),
        );
        let c = compare(&a, &b, &Boilerplate::default());
        assert_eq!(c.reason, None, "{c:?}");
        assert_eq!(c.template_slots, 1, "{c:?}");
        // A re-post that drops a sentence leaves a gap on one side only.
        let words: Vec<&str> = BODY.split_whitespace().collect();
        let edited = format!("{} {}", words[..20].join(" "), words[34..].join(" "));
        let original = signature(None, "Uno", &format!("{BODY} {CALL}"), 0);
        let repost = signature(None, "Dos", &format!("{edited} {CALL}"), 0);
        let c = compare(&repost, &original, &Boilerplate::default());
        assert_eq!(c.reason, Some(Reason::Text), "{c:?}");
        assert_eq!(c.template_slots, 0, "{c:?}");
    }

    #[test]
    fn short_excerpts_are_judged_on_what_is_distinctive() {
        let full = signature(
            None,
            "Acción urgente: desaparición de María López en Tlapa",
            BODY,
            0,
        );
        let words: Vec<&str> = BODY.split_whitespace().collect();
        let excerpt = format!("{} […]", words[..30].join(" "));
        let teaser = signature(None, "Exigen localizar a María López", &excerpt, 0);
        assert_eq!(
            compare(&teaser, &full, &Boilerplate::default()).reason,
            Some(Reason::Text)
        );
        assert!(is_candidate(&teaser, &full));
        // The same lines inside something titled otherwise (a weekly bulletin quoting it)
        // are contained, not the same story.
        let bulletin = signature(None, "Boletín semanal n.º 12", &excerpt, 0);
        assert_eq!(
            compare(&bulletin, &full, &Boilerplate::default()).reason,
            None
        );
        let tiny = signature(
            None,
            "Exigen localizar a María López",
            &words[..12].join(" "),
            0,
        );
        assert_eq!(compare(&tiny, &full, &Boilerplate::default()).reason, None);
    }

    #[test]
    fn a_generic_headline_over_two_unrelated_notes_is_not_a_story() {
        let title = "Acción urgente: exigimos la presentación con vida de los defensores";
        let a = signature(
            None,
            title,
            "Desaparecen dos integrantes del consejo de ejidatarios de Carrizalillo.",
            0,
        );
        let b = signature(
            None,
            title,
            "Desaparece un topil de San Juan Copala tras una asamblea.",
            0,
        );
        assert_eq!(compare(&a, &b, &Boilerplate::default()).reason, None);
        // Under it, the same note (or none) is the same story.
        let c = signature(None, title, "", 0);
        assert_eq!(
            compare(&a, &c, &Boilerplate::default()).reason,
            Some(Reason::Title)
        );
        assert_eq!(
            compare(&a, &a.clone(), &Boilerplate::default()).reason,
            Some(Reason::Title)
        );
    }

    /// A coalition's urgent action: the same paragraphs, a person, a place, a date and a
    /// police force of each case's own.
    fn coalition_case(name: &str, place: &str, state: &str, day: u32, police: &str) -> String {
        format!(
            "La Red Nacional de Organismos Civiles de Derechos Humanos, conformada por 88 \
             organizaciones en 23 estados, expresa su profunda preocupación por la detención \
             arbitraria de {name}, defensor comunitario de {place}, {state}, ocurrida el {day} de \
             noviembre por elementos de la {police}. De acuerdo con la información documentada, \
             {name} fue trasladado a las instalaciones de la Fiscalía sin que se informara a sus \
             familiares sobre su paradero durante varias horas. {name} ha acompañado durante años \
             la lucha de su comunidad contra los proyectos extractivos en la región. Exigimos \
             garantizar la integridad física y psicológica de {name} y de su familia y cesar la \
             criminalización de las personas defensoras en {state}. Invitamos a difundir esta \
             acción urgente y a enviar cartas para exigir la libertad inmediata de {name}."
        )
    }

    #[test]
    fn one_template_with_short_slots_is_two_cases_even_unknown() {
        let a = signature(
            None,
            "Detienen arbitrariamente a Rosa Méndez Cruz, defensor comunitario de Tila",
            &coalition_case("Rosa Méndez Cruz", "Tila", "Chiapas", 3, "Policía Estatal"),
            0,
        );
        let b = signature(
            None,
            "Detienen arbitrariamente a Saúl Girón Reyes, defensor comunitario de Cherán",
            &coalition_case(
                "Saúl Girón Reyes",
                "Cherán",
                "Michoacán",
                7,
                "Guardia Nacional",
            ),
            7 * 3600,
        );
        // Two members, no history: nothing is known boilerplate, and most words are shared.
        let c = compare(&a, &b, &Boilerplate::default());
        assert!(c.jaccard > 0.3, "{c:?}");
        assert_eq!(c.reason, None, "{c:?}");
        assert!(c.template_slots >= 3 && c.template_fill >= SLOT, "{c:?}");
        // The same case re-posted by a partner, a line of its own on top, is one story.
        let repost = signature(
            None,
            "Exigen la libertad de Rosa Méndez Cruz",
            &format!(
                "Compartimos: {}",
                coalition_case("Rosa Méndez Cruz", "Tila", "Chiapas", 3, "Policía Estatal")
            ),
            86_400,
        );
        let c = compare(&repost, &a, &Boilerplate::default());
        assert_eq!(c.reason, Some(Reason::Text), "{c:?}");
        assert_eq!(c.template_slots, 0, "{c:?}");
    }

    #[test]
    fn a_campaign_call_under_cases_of_their_own_is_no_story_even_unknown() {
        // A sentence of each case's own, then the call: the store may not know the call yet.
        let a = signature(
            None,
            "Detienen a Olga Gutiérrez Zárate en Palenque",
            &format!(
                "Olga Gutiérrez Zárate fue detenida el 3 de noviembre en Palenque, Chiapas. {CALL}"
            ),
            0,
        );
        let b = signature(
            None,
            "Detienen a Juan Pérez Cruz en Zongolica",
            &format!(
                "Juan Pérez Cruz fue detenido el 5 de noviembre en Zongolica, Veracruz. {CALL}"
            ),
            86_400,
        );
        let c = compare(&a, &b, &Boilerplate::default());
        assert_eq!(c.reason, None, "{c:?}");
        assert!(c.shared_footer >= 40, "{c:?}");
        // Nothing of their own: the call names nothing either headline names.
        let a = signature(
            None,
            "Detienen a Olga Gutiérrez Zárate en Palenque",
            CALL,
            0,
        );
        let b = signature(None, "Detienen a Juan Pérez Cruz en Zongolica", CALL, 0);
        let c = compare(&a, &b, &Boilerplate::default());
        assert!(c.jaccard > 0.99 && c.named == 0, "{c:?}");
        assert_eq!(c.reason, None, "{c:?}");
    }

    #[test]
    fn a_generic_headline_over_excerpts_about_different_people_is_not_enough() {
        let title = "Acción urgente: desaparición forzada en Guerrero";
        let excerpt = |who: &str, day: u32| {
            format!("{who} fue desaparecido el {day} de noviembre en Chilapa. [Leer más]")
        };
        let a = signature(None, title, &excerpt("Felipe Ramírez Luna", 3), 0);
        let b = signature(None, title, &excerpt("Irma Castillo Ortiz", 4), 86_400);
        let c = compare(&a, &b, &Boilerplate::default());
        assert!(c.same_title && c.shared > 0, "{c:?}");
        assert_eq!(c.reason, None, "{c:?}");
        let en = |who: &str, day: u32| {
            format!(
                "Please share widely. The network urges you to write to the authorities. {who} \
                 was abducted on {day} November in Ocosingo, Chiapas. Read more"
            )
        };
        let title = "Urgent Action: Enforced disappearance in Chiapas";
        let a = signature(None, title, &en("Norma Flores Díaz", 3), 0);
        let b = signature(None, title, &en("Abel Torres Nava", 4), 86_400);
        assert_eq!(compare(&a, &b, &Boilerplate::default()).reason, None);
        // The same excerpt under that headline is the same story.
        let same = signature(None, title, &en("Norma Flores Díaz", 3), 86_400);
        assert_eq!(
            compare(&a, &same, &Boilerplate::default()).reason,
            Some(Reason::Title)
        );
    }

    #[test]
    fn a_templated_post_re_posted_whole_is_one_story_however_little_is_its_own() {
        // The network and the aggregator each post thirty cases on the template, many from
        // the same state, on the same day, by the same police: each source flags all that,
        // leaving only the names of its own.
        let text = coalition_case("Rosa Méndez Cruz", "Tila", "Chiapas", 3, "Policía Estatal");
        let other = coalition_case("Saúl Girón Reyes", "Tila", "Chiapas", 3, "Policía Estatal");
        let mut a = signature(
            None,
            "Detienen arbitrariamente a Rosa Méndez Cruz, defensor comunitario de Tila",
            &text,
            0,
        );
        let mut b = signature(
            None,
            "Exigen libertad inmediata de Rosa Méndez Cruz",
            &format!("{text} Fuente: Red TDT"),
            7200,
        );
        let frame = |case: &str| signature(None, "", case, 0).shingles;
        let (fa, fb) = (frame(&text), frame(&other));
        let template: ShingleSet = fa.iter().filter(|s| fb.contains(s)).copied().collect();
        flag(&mut a, &template);
        flag(&mut b, &template);
        let c = compare(&b, &a, &Boilerplate::default());
        assert!(c.distinct.0.min(c.distinct.1) < MIN_DISTINCT, "{c:?}");
        assert!(c.whole >= IDENTICAL, "{c:?}");
        assert_eq!(c.reason, Some(Reason::Text), "{c:?}");
    }

    #[test]
    fn links_of_one_article_in_their_amp_referrer_and_escaped_forms_are_one_link() {
        let key = "orig.example.org/2026/11/ataque-nuevo-san-gregorio";
        for form in [
            "orig.example.org/2026/11/ataque-nuevo-san-gregorio/amp",
            "orig.example.org/2026/11/ataque-nuevo-san-gregorio?amp=1",
            "orig.example.org/2026/11/ataque-nuevo-san-gregorio?amp",
            "amp.orig.example.org/2026/11/ataque-nuevo-san-gregorio",
            "orig-example-org.cdn.ampproject.org/c/s/orig.example.org/2026/11/ataque-nuevo-san-gregorio",
            "orig.example.org/2026/11/ataque-nuevo-san-gregorio?ref=twitter",
            "orig.example.org/2026/11/ataque%2Dnuevo%2dsan%2Dgregorio",
        ] {
            assert_eq!(story_link(form), key, "{form}");
        }
        // What names another page stays.
        assert_eq!(
            story_link("orig.example.org/?p=4812&amp=1"),
            "orig.example.org?p=4812"
        );
        assert_eq!(
            story_link("orig.example.org/amplio"),
            "orig.example.org/amplio"
        );
        assert_eq!(
            story_link("orig.example.org/a%20b%C3%B1"),
            "orig.example.org/a%20b%C3%B1"
        );
        assert_eq!(
            story_link("cdn.ampproject.org/c/s/"),
            "cdn.ampproject.org/c/s"
        );
    }

    #[test]
    fn stored_forms_round_trip() {
        let mut a = signature(
            Some("x.org/a".into()),
            "Acción urgente en Tlapa de Comonfort",
            BODY,
            0,
        );
        a.shingles[0] |= FLAG;
        assert_eq!(shingles_from_bytes(&shingles_bytes(&a)), a.shingles);
        let k = keys(&a);
        assert!(k.len() >= 3);
        assert_eq!(keys_from_bytes(&keys_bytes(&k)), k);
        assert!(keys_from_bytes(&[1, 2, 3]).is_empty());
    }
}
