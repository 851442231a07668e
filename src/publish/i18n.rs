//! Words the digest prints itself, in Spanish and English: dates, labels, footer.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime};
use chrono_tz::Tz;

use crate::lang::Lang;

const MONTHS_ES: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "21 de noviembre de 2026" / "November 21, 2026".
pub fn long_date(date: DateTime<Tz>, lang: Lang) -> String {
    let m = date.month0() as usize;
    match lang {
        Lang::Es => format!("{} de {} de {}", date.day(), MONTHS_ES[m], date.year()),
        Lang::En => format!("{} {}, {}", MONTHS_EN[m], date.day(), date.year()),
    }
}

/// The fixed strings templates use, by key.
pub fn labels(lang: Lang) -> std::collections::BTreeMap<&'static str, &'static str> {
    let pairs: &[(&str, &str, &str)] = &[
        ("read_more", "Leer más", "Read more"),
        ("by", "por", "by"),
        ("in_this_issue", "En este número", "In this issue"),
        ("items", "notas", "stories"),
        (
            "no_items",
            "No hubo publicaciones nuevas en este periodo.",
            "No new posts in this period.",
        ),
        ("unsubscribe", "Cancelar suscripción", "Unsubscribe"),
        ("archive", "Ver en el navegador", "View in your browser"),
        (
            "why",
            "Recibes este boletín porque te suscribiste a las noticias de nuestra red de solidaridad.",
            "You receive this newsletter because you subscribed to our solidarity network's news.",
        ),
        ("sources", "Fuentes", "Sources"),
        ("week_of", "Semana que termina el", "Week ending"),
        ("edition", "Número", "Issue"),
        ("also_in", "También en", "Also in"),
        ("view_online", "Ver en el navegador", "View in your browser"),
        (
            "archive_title",
            "Archivo de boletines",
            "Newsletter archive",
        ),
        ("all_editions", "Todos los números", "All issues"),
        ("feed", "Suscribirse por Atom", "Subscribe via Atom"),
        ("editors_note", "Nota de la redacción", "Editor's note"),
    ];
    pairs
        .iter()
        .map(|(k, es, en)| (*k, if lang == Lang::Es { *es } else { *en }))
        .collect()
}

/// The labels for an edition in `langs`: each label in every language, joined by " / "
/// (one language gives that language's words unchanged).
pub fn labels_for(langs: &[Lang]) -> std::collections::BTreeMap<&'static str, String> {
    let first = langs.first().copied().unwrap_or(Lang::Es);
    let mut out: std::collections::BTreeMap<&'static str, String> = labels(first)
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    for &lang in langs.iter().skip(1) {
        for (k, v) in labels(lang) {
            if let Some(joined) = out.get_mut(k)
                && joined != v
            {
                joined.push_str(" / ");
                joined.push_str(v);
            }
        }
    }
    out
}

/// One label per language, for the sentences that read badly when joined (the footer).
pub fn label_each(key: &str, langs: &[Lang]) -> Vec<String> {
    langs
        .iter()
        .filter_map(|&l| labels(l).get(key).map(|v| v.to_string()))
        .collect()
}

/// The long date in every language of `langs`, joined by " · ".
pub fn long_dates(date: DateTime<Tz>, langs: &[Lang]) -> String {
    let mut out: Vec<String> = langs.iter().map(|&l| long_date(date, l)).collect();
    out.dedup();
    out.join(" · ")
}

/// Where editions are dated and weeks begin: the partners' editors work on Mexico City time.
pub const EDITION_TZ: Tz = chrono_tz::America::Mexico_City;

/// Noon of `date` in [`EDITION_TZ`]: the moment an edition dated `date` stands for.
pub fn edition_noon(date: NaiveDate) -> Option<DateTime<Tz>> {
    date.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN))
        .and_local_timezone(EDITION_TZ)
        .earliest()
}

/// [`long_dates`] of an edition's `date`.
pub fn edition_long_dates(date: NaiveDate, langs: &[Lang]) -> String {
    edition_noon(date).map_or_else(|| date.to_string(), |d| long_dates(d, langs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dates_in_both_languages() {
        let d = chrono_tz::America::Mexico_City
            .with_ymd_and_hms(2026, 11, 21, 9, 0, 0)
            .single();
        let d = d.unwrap_or_else(|| unreachable!());
        assert_eq!(long_date(d, Lang::Es), "21 de noviembre de 2026");
        assert_eq!(long_date(d, Lang::En), "November 21, 2026");
        assert_eq!(
            long_dates(d, &[Lang::Es, Lang::En]),
            "21 de noviembre de 2026 · November 21, 2026"
        );
    }

    #[test]
    fn bilingual_labels_join_both_languages() {
        let l = labels_for(&[Lang::Es, Lang::En]);
        assert_eq!(
            l.get("unsubscribe").map(String::as_str),
            Some("Cancelar suscripción / Unsubscribe")
        );
        assert_eq!(label_each("why", &[Lang::Es, Lang::En]).len(), 2);
    }
}
