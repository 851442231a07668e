//! One story once: tells when two items from different partners are the same story.
//!
//! Partners re-post each other's urgent actions and articles, often with a line of their
//! own on top, a shortened title or a different link. Two items are one story when
//! (thresholds, also in README.md):
//!
//! 1. **link**: their canonical links are equal ([`crate::ingest::normalize::link_key`]), at any
//!    distance in time;
//! 2. **title**: their folded titles (accents, case and punctuation folded) are equal, the
//!    title has at least [`MIN_TITLE_WORDS`] words, they are at most [`TITLE_DAYS`] days
//!    apart, and, when both have a body of [`MIN_WORDS`] words or more, those bodies are not
//!    plainly different (estimated resemblance at least [`TITLE_BODY_FLOOR`]);
//! 3. **text**: both bodies have at least [`MIN_WORDS`] words, they are at most
//!    [`TEXT_DAYS`] days apart, and the MinHash estimate over 3-word shingles gives a
//!    resemblance (Jaccard) of at least [`MIN_JACCARD`] or a containment (the share of the
//!    shorter text found in the longer) of at least [`MIN_CONTAINMENT`].
//!
//! The earliest item of a story is its primary; the store keeps the others as "also
//! published by". Pure: signatures in, a verdict out.

use serde::Serialize;

use crate::annotate::fold::fold;

/// Shorter bodies are not compared by text.
pub const MIN_WORDS: usize = 40;
/// Shorter titles ("Comunicado", "Boletín semanal") never make a story on their own.
pub const MIN_TITLE_WORDS: usize = 4;
/// Equal titles further apart than this are different stories.
pub const TITLE_DAYS: i64 = 4;
/// Near-identical bodies further apart than this are different stories.
pub const TEXT_DAYS: i64 = 14;
/// MinHash resemblance that makes one story.
pub const MIN_JACCARD: f64 = 0.5;
/// Share of the shorter body found in the longer one that makes one story.
pub const MIN_CONTAINMENT: f64 = 0.75;
/// Equal titles with bodies this different are different stories.
pub const TITLE_BODY_FLOOR: f64 = 0.08;
/// MinHash functions per signature.
pub const HASHES: usize = 64;
/// LSH bands of two MinHash values each.
pub const PAIR_BANDS: usize = HASHES / 2;
/// Bands two bodies must share to be compared by text. With one, boilerplate every partner's
/// WordPress shares ("Leer más", "Firma la petición", resemblance ~0.03) made ~60 false
/// candidates per item; two cut them ~40×, while bodies of resemblance 0.5 still share two
/// with probability > 0.998 (0.35: 0.93; 0.3: 0.84).
pub const MIN_SHARED_BANDS: usize = 2;
const SHINGLE: usize = 3;

/// What is compared; computed once per item and stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signature {
    /// [`crate::ingest::normalize::link_key`] of the item's link.
    pub link: Option<String>,
    /// The folded title.
    pub title: String,
    /// Date in seconds (published, else first seen).
    pub date: i64,
    /// Words in the body.
    pub words: usize,
    /// Distinct shingles in the body.
    pub shingles: usize,
    /// [`HASHES`] minimum hashes of the body's shingles (empty for short bodies).
    pub minhash: Vec<u64>,
}

/// Why two items are one story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    Link,
    Title,
    Text,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Link => "link",
            Reason::Title => "title",
            Reason::Text => "text",
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

/// splitmix64: turns one shingle hash into the i-th independent hash.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The LSH band keys of a body's MinHash ([`PAIR_BANDS`]; none for a short body). Two bodies
/// are compared by text only when they share [`MIN_SHARED_BANDS`] keys (or a link or title),
/// which keeps finding candidates proportional to the candidates, not to the store. The
/// price: an excerpt inside a much longer article (resemblance under ~0.3) is found only
/// through its link or title.
pub fn bands(sig: &Signature) -> Vec<i64> {
    if sig.minhash.len() != HASHES {
        return Vec::new();
    }
    sig.minhash
        .chunks_exact(2)
        .enumerate()
        .map(|(i, p)| mix(mix(i as u64) ^ p[0]) ^ p[1].rotate_left(29))
        // Stored as SQLite integers: the bits matter, not the sign.
        .map(|k| k as i64)
        .collect()
}

/// Whether the store brings `a` and `b` together to be judged by [`same_story`]: the same
/// link, the same folded title, or at least [`MIN_SHARED_BANDS`] shared bands.
pub fn is_candidate(a: &Signature, b: &Signature) -> bool {
    let (ka, kb) = (bands(a), bands(b));
    (a.link.is_some() && a.link == b.link)
        || (!a.title.is_empty() && a.title == b.title)
        || ka.iter().filter(|k| kb.contains(k)).count() >= MIN_SHARED_BANDS
}

/// The signature of an item: `link_key` already computed, `title` and `body` as plain text.
pub fn signature(link_key: Option<String>, title: &str, body: &str, date: i64) -> Signature {
    let folded = fold(body);
    let words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    let mut shingles: Vec<u64> = words
        .windows(SHINGLE)
        .map(|w| fnv(w.join(" ").as_bytes()))
        .collect();
    shingles.sort_unstable();
    shingles.dedup();
    let minhash = if words.len() >= MIN_WORDS && !shingles.is_empty() {
        (0..HASHES as u64)
            .map(|i| {
                let seed = mix(i.wrapping_add(1));
                shingles
                    .iter()
                    .map(|s| mix(s ^ seed))
                    .min()
                    .unwrap_or(u64::MAX)
            })
            .collect()
    } else {
        Vec::new()
    };
    Signature {
        link: link_key,
        title: fold(title),
        date,
        words: words.len(),
        shingles: shingles.len(),
        minhash,
    }
}

/// Estimated Jaccard resemblance and containment of two bodies; `None` if either is short.
pub fn resemblance(a: &Signature, b: &Signature) -> Option<(f64, f64)> {
    if a.minhash.len() != HASHES || b.minhash.len() != HASHES {
        return None;
    }
    let equal = a
        .minhash
        .iter()
        .zip(&b.minhash)
        .filter(|(x, y)| x == y)
        .count();
    let j = equal as f64 / HASHES as f64;
    // |A∩B| = J(|A|+|B|)/(1+J); containment = |A∩B| / min(|A|,|B|).
    let (na, nb) = (a.shingles as f64, b.shingles as f64);
    let inter = j * (na + nb) / (1.0 + j);
    let c = (inter / na.min(nb).max(1.0)).min(1.0);
    Some((j, c))
}

/// Whether `a` and `b` (from different sources) are one story, and why.
pub fn same_story(a: &Signature, b: &Signature) -> Option<Reason> {
    if let (Some(x), Some(y)) = (&a.link, &b.link)
        && x == y
    {
        return Some(Reason::Link);
    }
    let days = (a.date - b.date).abs() / 86_400;
    let text = resemblance(a, b);
    if !a.title.is_empty()
        && a.title == b.title
        && a.title.split(' ').count() >= MIN_TITLE_WORDS
        && days <= TITLE_DAYS
        && text.is_none_or(|(j, _)| j >= TITLE_BODY_FLOOR)
    {
        return Some(Reason::Title);
    }
    if days <= TEXT_DAYS
        && let Some((j, c)) = text
        && (j >= MIN_JACCARD || c >= MIN_CONTAINMENT)
    {
        return Some(Reason::Text);
    }
    None
}

/// A signature's MinHash as stored (little-endian bytes).
pub fn minhash_bytes(sig: &Signature) -> Vec<u8> {
    sig.minhash.iter().flat_map(|h| h.to_le_bytes()).collect()
}

/// A MinHash read back from the store; anything malformed reads as "no body".
pub fn minhash_from_bytes(bytes: &[u8]) -> Vec<u64> {
    if bytes.len() != HASHES * 8 {
        return Vec::new();
    }
    bytes
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            u64::from_le_bytes(b)
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

    #[test]
    fn a_repost_with_an_intro_is_one_story() {
        let a = signature(None, "Acción urgente", BODY, 0);
        let repost = format!("Compartimos la acción urgente de Tlachinollan. {BODY} Difunde.");
        let b = signature(None, "AU: María López", &repost, 86_400);
        assert_eq!(same_story(&a, &b), Some(Reason::Text));
    }

    #[test]
    fn equal_titles_fold_accents_but_short_titles_do_not_count() {
        let a = signature(None, "Acción urgente: María López", "", 0);
        let b = signature(None, "ACCION URGENTE — maria lopez", "", 3600);
        assert_eq!(same_story(&a, &b), Some(Reason::Title));
        let c = signature(None, "Comunicado", "", 0);
        assert_eq!(same_story(&c, &c.clone()), None);
        let far = signature(None, "Acción urgente: María López", "", 30 * 86_400);
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
    fn a_shared_footer_does_not_make_candidates_but_a_repost_does() {
        let footer = "Firma la petición y difunde esta acción urgente entre tus redes. \
            Leer más / Read more. Síguenos en nuestras redes sociales. La entrada apareció \
            primero en Red Nacional de Defensoras. Dona para sostener nuestro trabajo.";
        let stories: Vec<String> = (0..200)
            .map(|n| format!("{} {footer}", prose(n, 100)))
            .collect();
        let sigs: Vec<Signature> = stories.iter().map(|b| signature(None, "", b, 0)).collect();
        // Different stories with the same footer (resemblance ~0.1): about half of the pairs
        // share one band; requiring two makes candidates of a small fraction, for the store to
        // fetch and judge.
        let one_band = sigs
            .windows(2)
            .filter(|w| bands(&w[0]).iter().any(|k| bands(&w[1]).contains(k)))
            .count();
        let candidates = sigs
            .windows(2)
            .filter(|w| is_candidate(&w[0], &w[1]))
            .count();
        assert!(
            candidates * 5 <= one_band && candidates <= 20,
            "{candidates} candidates, {one_band} pairs sharing a band, of 199"
        );
        assert!(sigs.windows(2).all(|w| same_story(&w[0], &w[1]).is_none()));
        // Every re-post with an intro of its own is still a candidate.
        let reposts = stories
            .iter()
            .zip(&sigs)
            .filter(|(body, sig)| {
                let repost =
                    format!("Compartimos esta acción urgente de nuestras compañeras. {body}");
                is_candidate(sig, &signature(None, "", &repost, 0))
            })
            .count();
        assert_eq!(reposts, 200);
    }

    #[test]
    fn minhash_round_trips() {
        let a = signature(None, "t", BODY, 0);
        assert_eq!(minhash_from_bytes(&minhash_bytes(&a)), a.minhash);
        assert!(minhash_from_bytes(&[1, 2, 3]).is_empty());
    }
}
