//! Words the digest prints itself, in Spanish and English: dates, labels, footer.

use chrono::{DateTime, Datelike};
use chrono_tz::Tz;

use crate::config::Lang;

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
    ];
    pairs
        .iter()
        .map(|(k, es, en)| (*k, if lang == Lang::Es { *es } else { *en }))
        .collect()
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
    }
}
