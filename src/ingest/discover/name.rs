//! What `boletin add` calls a new source: its name from what the site says it is called
//! (`og:site_name`, the `<title>` part that names the site, not the page's heading, its
//! tagline or a section word like "Noticias"; else the feed's own title without
//! "» Feed"), and an id made from that name, else from the host's registered name. Never
//! from an IP address: `127.0.0.1` says nothing about whose site it is. Pure.

use url::{Host, Url};

use crate::annotate::fold::fold;

/// How titles join a page's name to the site's and to taglines.
const SEPARATORS: &[&str] = &[
    " | ", " – ", " — ", " - ", " :: ", " · ", " » ", " « ", " › ", " / ",
];

/// Title parts that name a kind of page, not a site.
const PAGE_WORDS: &[&str] = &[
    "inicio",
    "home",
    "home page",
    "homepage",
    "portada",
    "pagina principal",
    "pagina de inicio",
    "bienvenido",
    "bienvenida",
    "bienvenidos",
    "bienvenidas",
    "welcome",
    "front page",
];

/// Title parts that name a section of a site, not the site (`Noticias | Colectivo …`).
const SECTION_WORDS: &[&str] = &[
    "noticias",
    "ultimas noticias",
    "news",
    "latest news",
    "blog",
    "articulos",
    "publicaciones",
    "comunicados",
    "boletines",
    "prensa",
    "sala de prensa",
    "actualidad",
    "agenda",
    "eventos",
    "events",
    "contacto",
    "contact",
    "nosotros",
    "quienes somos",
    "about",
    "about us",
    "archivo",
    "archive",
    "campanas",
    "acciones urgentes",
];

/// Title parts that name a feed format, not a site (`Voces » Feed`, `Voces - RSS`).
const FEED_WORDS: &[&str] = &[
    "feed",
    "rss",
    "rss 2 0",
    "atom",
    "json feed",
    "comments feed",
    "feed de comentarios",
    "feed de entradas",
    "entries feed",
    "entradas",
    "canal rss",
];

/// Words left out of ids: `Red de Defensoras de Oaxaca` → `red-defensoras-oaxaca`.
const ID_STOP_WORDS: &[&str] = &[
    "de", "del", "la", "las", "el", "los", "y", "e", "en", "por", "para", "a", "al", "the", "of",
    "and", "for", "in", "on", "da", "do", "das", "dos", "le", "les", "des", "du",
];

/// Longest id made from a name, cut at a word.
const ID_CHARS: usize = 40;

/// The parts of `title` between separators, trimmed, in order.
fn parts(title: &str) -> Vec<&str> {
    let mut parts = vec![title];
    for sep in SEPARATORS {
        parts = parts
            .into_iter()
            .flat_map(|p| p.split(sep))
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
    }
    parts
}

/// The first part of `title` that is not one of `generic`, else `title` itself.
fn first_named_part(title: &str, generic: &[&str]) -> Option<String> {
    let title = crate::ingest::normalize::one_line(title);
    if title.is_empty() {
        return None;
    }
    let named = parts(&title)
        .into_iter()
        .find(|p| !generic.contains(&fold(p).as_str()))
        .map(str::to_string);
    Some(named.unwrap_or(title))
}

/// The site's name from a page's `<title>`: "Inicio | Red de Defensoras de Oaxaca" and
/// "Red de Defensoras de Oaxaca – Defendiendo la vida" both give the organization.
pub fn from_page_title(title: &str) -> Option<String> {
    site_from_title(title, None).or_else(|| first_named_part(title, PAGE_WORDS))
}

/// The part of a page's `<title>` that names the site: the first that is neither a page or
/// section word ("Inicio", "Noticias") nor the page's own `heading` (its `<h1>`, the
/// article's title on an article page); `None` when no part is left.
pub fn site_from_title(title: &str, heading: Option<&str>) -> Option<String> {
    let title = crate::ingest::normalize::one_line(title);
    let heading = heading.map(fold).filter(|h| !h.is_empty());
    parts(&title)
        .into_iter()
        .find(|p| {
            let folded = fold(p);
            !is_generic(p) && heading.as_deref() != Some(folded.as_str())
        })
        .map(str::to_string)
}

/// Whether `name` only names a kind of page or a section ("Inicio", "Noticias", "Blog"),
/// not whose site it is.
pub fn is_generic(name: &str) -> bool {
    let folded = fold(name);
    PAGE_WORDS.contains(&folded.as_str()) || SECTION_WORDS.contains(&folded.as_str())
}

/// A feed's title without the format word publishing tools add ("Voces » Feed" → "Voces");
/// `None` when nothing else is left ("RSS").
pub fn from_feed_title(title: &str) -> Option<String> {
    let name = first_named_part(title, FEED_WORDS)?;
    (!FEED_WORDS.contains(&fold(&name).as_str())).then_some(name)
}

/// An id from a name: folded to ASCII, small words left out, at most [`ID_CHARS`]
/// characters cut at a word; empty when the name has no Latin letters or digits.
pub fn id_from_name(name: &str) -> String {
    let folded = fold(name);
    let words: Vec<&str> = folded
        .split(' ')
        .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric()))
        .collect();
    let content: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !ID_STOP_WORDS.contains(w))
        .collect();
    // "La Jornada" keeps its article rather than becoming one word; "El" alone stays "el".
    let words = if content.len() >= 2 || (content.len() == 1 && words.len() == 1) {
        content
    } else {
        words
    };
    let mut id = String::new();
    for word in words {
        let extra = usize::from(!id.is_empty()) + word.len();
        if !id.is_empty() && id.len() + extra > ID_CHARS {
            break;
        }
        if !id.is_empty() {
            id.push('-');
        }
        id.push_str(&word[..word.len().min(ID_CHARS)]);
    }
    id
}

/// An id from `url`'s host when it is a name: the registered name without `www.` and the
/// public suffix (`www.educa-oaxaca.org.mx` → `educa-oaxaca`), else the first path segment
/// (`http://127.0.0.1/defensoras/` → `defensoras`); empty when neither says anything.
pub fn id_from_url(url: &Url) -> String {
    if let Some(Host::Domain(domain)) = url.host() {
        let (unicode, _) = idna::domain_to_unicode(domain);
        let labels: Vec<&str> = unicode
            .trim_end_matches('.')
            .split('.')
            .filter(|l| !l.is_empty())
            .collect();
        if let Some(name) = registered_label(&labels) {
            let id = id_from_name(&name.replace(['-', '_'], " "));
            if !id.is_empty() {
                return id;
            }
        }
    }
    url.path_segments()
        .into_iter()
        .flatten()
        .find(|s| !s.is_empty())
        .map(|s| id_from_name(&s.replace(['-', '_'], " ")))
        .unwrap_or_default()
}

/// Second-level labels under country codes (`org.mx`, `com.ar`, `gob.mx`, `co.uk`).
const SECOND_LEVEL: &[&str] = &[
    "com", "org", "net", "gob", "gov", "edu", "ac", "co", "or", "nom", "info", "mil", "int",
];

/// The label a site registered: `noticias.red.org.mx` → `red`; `localhost` → `localhost`.
fn registered_label<'a>(labels: &[&'a str]) -> Option<&'a str> {
    match labels {
        [] => None,
        [only] => Some(only),
        [.., name, second, tld]
            if tld.len() == 2 && SECOND_LEVEL.contains(&second.to_ascii_lowercase().as_str()) =>
        {
            Some(name)
        }
        [.., name, _tld] => Some(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_names_leave_taglines_and_page_words_out() {
        for (title, want) in [
            (
                "Inicio | Red de Defensoras de Oaxaca",
                "Red de Defensoras de Oaxaca",
            ),
            (
                "Red de Defensoras de Oaxaca – Defendiendo la vida desde 2005",
                "Red de Defensoras de Oaxaca",
            ),
            ("Centro Prodh", "Centro Prodh"),
            ("  Home\n - Voces del Sur ", "Voces del Sur"),
            ("Inicio", "Inicio"),
            (
                "Noticias | Colectivo Solidario Oaxaca-Chiapas",
                "Colectivo Solidario Oaxaca-Chiapas",
            ),
        ] {
            assert_eq!(from_page_title(title).as_deref(), Some(want), "{title}");
        }
        // An article page: its heading leads the title, the site follows.
        assert_eq!(
            site_from_title(
                "Desalojo en El Estor – Colectivo Solidario",
                Some("Desalojo en  El Estor")
            )
            .as_deref(),
            Some("Colectivo Solidario")
        );
        assert_eq!(site_from_title("Noticias · Blog", None), None);
        assert_eq!(from_page_title(" \n "), None);
        assert_eq!(
            from_feed_title("Tlachinollan » Feed").as_deref(),
            Some("Tlachinollan")
        );
        assert_eq!(from_feed_title("Noticias").as_deref(), Some("Noticias"));
        assert_eq!(from_feed_title("RSS"), None);
    }

    #[test]
    fn ids_fold_accents_drop_small_words_and_stop_at_a_word() {
        for (name, want) in [
            ("Red de Defensoras de Oaxaca", "red-defensoras-oaxaca"),
            (
                "Centro de Derechos Humanos Fray Bartolomé de Las Casas, A.C.",
                "centro-derechos-humanos-fray-bartolome",
            ),
            ("Educa Oaxaca — Noticias", "educa-oaxaca-noticias"),
            ("La Jornada", "la-jornada"),
            ("Ñuu Savi: Comunicación", "nuu-savi-comunicacion"),
            ("São Paulo Solidário", "sao-paulo-solidario"),
            ("صوت الجنوب", ""),
        ] {
            assert_eq!(id_from_name(name), want, "{name}");
            assert!(id_from_name(name).len() <= ID_CHARS);
        }
    }

    #[test]
    fn ids_from_hosts_never_from_addresses() {
        let id = |u: &str| id_from_url(&Url::parse(u).unwrap_or_else(|e| panic!("{u}: {e}")));
        assert_eq!(id("https://www.educa-oaxaca.org/noticias/"), "educa-oaxaca");
        assert_eq!(
            id("https://noticias.red-defensoras.org.mx/"),
            "red-defensoras"
        );
        assert_eq!(id("https://tlachinollan.org/"), "tlachinollan");
        assert_eq!(id("https://xn--ceuteo-0wa.mx/"), "ceuteno");
        assert_eq!(id("http://127.0.0.1:8080/"), "");
        assert_eq!(id("http://127.0.0.1:8080/defensoras/"), "defensoras");
        assert_eq!(id("http://[::1]:8080/"), "");
    }
}
