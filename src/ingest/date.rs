//! Parses the dates partners actually publish into UTC instants.
//!
//! Machine formats first (RFC 3339, RFC 2822 with named zones, ISO 8601 without a zone or
//! without a time), then dates written by hand in Spanish or English: `15 de enero de
//! 2014`, `lunes, 3 de junio de 2024`, `Jan 15th, '14`, `on Jun 5th, '13`, `03/06/2024`.
//! A value without a zone is read in the source's time zone. Pure: no clock, no I/O.

use chrono::{
    DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;

/// How to read `03/06/2024`: day first (Mexico, most of the world) or month first (US).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DayOrder {
    /// `03/06/2024` is 3 June (`day_order = "day-first"`, the default).
    #[default]
    DayFirst,
    /// `03/06/2024` is 6 March (`day_order = "month-first"`).
    MonthFirst,
}

/// Parses `text` with an optional chrono `format` tried first; zone-less values are in `tz`.
pub fn parse(text: &str, tz: Tz, format: Option<&str>, order: DayOrder) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() || text.len() > 200 {
        return None;
    }
    if let Some(fmt) = format
        && let Some(d) = with_format(text, fmt, tz)
    {
        return Some(d);
    }
    machine(text, tz).or_else(|| human(text, tz, order))
}

fn with_format(text: &str, fmt: &str, tz: Tz) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_str(text, fmt) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDateTime::parse_from_str(text, fmt) {
        return local(d, tz);
    }
    NaiveDate::parse_from_str(text, fmt)
        .ok()
        .and_then(|d| local(d.and_time(NaiveTime::MIN), tz))
}

fn local(naive: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(d) => Some(d.with_timezone(&Utc)),
        LocalResult::Ambiguous(d, _) => Some(d.with_timezone(&Utc)),
        // A time skipped by a DST change: the hour after is what the writer meant.
        LocalResult::None => tz
            .from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
            .map(|d| d.with_timezone(&Utc)),
    }
}

fn machine(text: &str, tz: Tz) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(text) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(text) {
        return Some(d.with_timezone(&Utc));
    }
    const WITH_ZONE: &[&str] = &[
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S %z",
    ];
    for fmt in WITH_ZONE {
        if let Ok(d) = DateTime::parse_from_str(text, fmt) {
            return Some(d.with_timezone(&Utc));
        }
    }
    const NAIVE: &[&str] = &[
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ];
    for fmt in NAIVE {
        if let Ok(d) = NaiveDateTime::parse_from_str(text, fmt) {
            return local(d, tz);
        }
    }
    for fmt in ["%Y-%m-%d", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(text, fmt) {
            return local(d.and_time(NaiveTime::MIN), tz);
        }
    }
    // ISO basic format in UTC: `20261117T090000Z`.
    if let Ok(d) = NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ") {
        return Some(d.and_utc());
    }
    // `2026-11-17 09:00:00 UTC`: an ISO value followed by a zone name.
    if let Some((value, zone)) = text.rsplit_once(' ')
        && let Some(offset) = zone_offset(&zone.to_ascii_lowercase())
        && value.starts_with(|c: char| c.is_ascii_digit())
    {
        for fmt in NAIVE {
            if let Ok(d) = NaiveDateTime::parse_from_str(value.trim(), fmt) {
                return FixedOffset::east_opt(offset)?
                    .from_local_datetime(&d)
                    .single()
                    .map(|d| d.with_timezone(&Utc));
            }
        }
    }
    // W3C-DTF reduced precision: `2026-11` and `2026`.
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    match text.split_once('-') {
        Some((y, m)) if y.len() == 4 && m.len() == 2 && digits(y) && digits(m) => {
            let d = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)?;
            local(d.and_time(NaiveTime::MIN), tz)
        }
        None if text.len() == 4 && digits(text) => {
            let d = NaiveDate::from_ymd_opt(text.parse().ok()?, 1, 1)?;
            local(d.and_time(NaiveTime::MIN), tz)
        }
        _ => None,
    }
}

fn month_number(word: &str) -> Option<u32> {
    const MONTHS: [(&str, &str, &str, &str); 12] = [
        ("jan", "january", "ene", "enero"),
        ("feb", "february", "feb", "febrero"),
        ("mar", "march", "mar", "marzo"),
        ("apr", "april", "abr", "abril"),
        ("may", "may", "may", "mayo"),
        ("jun", "june", "jun", "junio"),
        ("jul", "july", "jul", "julio"),
        ("aug", "august", "ago", "agosto"),
        ("sep", "september", "sept", "septiembre"),
        ("oct", "october", "oct", "octubre"),
        ("nov", "november", "nov", "noviembre"),
        ("dec", "december", "dic", "diciembre"),
    ];
    if word == "set" || word == "setiembre" || word == "sept" {
        return Some(9);
    }
    MONTHS
        .iter()
        .position(|(a, b, c, d)| word == *a || word == *b || word == *c || word == *d)
        .map(|i| i as u32 + 1)
}

fn zone_offset(word: &str) -> Option<i32> {
    let hours = match word {
        "utc" | "gmt" | "ut" | "z" => 0,
        "est" => -5,
        "edt" => -4,
        "cst" => -6,
        "cdt" => -5,
        "mst" => -7,
        "mdt" => -6,
        "pst" => -8,
        "pdt" => -7,
        "akst" => -9,
        "akdt" => -8,
        "hst" => -10,
        "ast" => -4,
        "adt" => -3,
        "cet" => 1,
        "cest" => 2,
        "wet" => 0,
        "west" => 1,
        "bst" => 1,
        _ => return None,
    };
    Some(hours * 3600)
}

fn fold(c: char) -> char {
    match c {
        'á' | 'à' | 'ä' | 'â' => 'a',
        'é' | 'è' | 'ë' | 'ê' => 'e',
        'í' | 'ì' | 'ï' | 'î' => 'i',
        'ó' | 'ò' | 'ö' | 'ô' => 'o',
        'ú' | 'ù' | 'ü' | 'û' => 'u',
        other => other,
    }
}

#[derive(Default)]
struct Parts {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    time: Option<NaiveTime>,
    offset: Option<i32>,
    pm: Option<bool>,
}

fn human(text: &str, tz: Tz, order: DayOrder) -> Option<DateTime<Utc>> {
    let lower: String = text.to_lowercase().chars().map(fold).collect();
    if let Some(d) = numeric(&lower, tz, order) {
        return Some(d);
    }
    let mut parts = Parts::default();
    let mut loose_numbers: Vec<u32> = Vec::new();
    let spaced = lower.replace([',', '|', '(', ')'], " ");
    // `17-nov-26` (RFC 850) and `3-junio-2024`: dashes between words are separators.
    let tokens: Vec<&str> = spaced
        .split_whitespace()
        .flat_map(|t| {
            let dashed =
                !t.starts_with(['-', '+']) && t.contains('-') && t.chars().any(char::is_alphabetic);
            let parts: Vec<&str> = if dashed {
                t.split('-').collect()
            } else {
                vec![t]
            };
            parts
        })
        .collect();
    for raw in tokens {
        let token = raw.trim_end_matches('.');
        if token.is_empty() {
            continue;
        }
        if let Some(rest) = token.strip_prefix('\'').or_else(|| token.strip_prefix('’')) {
            if rest.len() == 2
                && let Ok(yy) = rest.parse::<i32>()
            {
                parts.year = Some(if yy < 70 { 2000 + yy } else { 1900 + yy });
            }
            continue;
        }
        if token.contains(':') {
            parts.time = parse_clock(token).or(parts.time);
            if token.ends_with("pm") || token.ends_with("p.m") {
                parts.pm = Some(true);
            }
            continue;
        }
        if (token.starts_with('+') || token.starts_with('-')) && token.len() >= 5 {
            let digits: String = token[1..].chars().filter(char::is_ascii_digit).collect();
            if digits.len() == 4
                && let (Ok(h), Ok(m)) = (digits[..2].parse::<i32>(), digits[2..].parse::<i32>())
            {
                let sign = if token.starts_with('-') { -1 } else { 1 };
                parts.offset = Some(sign * (h * 3600 + m * 60));
            }
            continue;
        }
        match token {
            "am" | "a.m" => parts.pm = Some(false),
            "pm" | "p.m" => parts.pm = Some(true),
            _ => {}
        }
        if let Some(m) = month_number(token) {
            parts.month = Some(m);
            continue;
        }
        if let Some(off) = zone_offset(token) {
            parts.offset = Some(off);
            continue;
        }
        let digits: String = token.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            continue;
        }
        let suffix = &token[digits.len()..];
        if !matches!(
            suffix,
            "" | "st" | "nd" | "rd" | "th" | "o" | "º" | "°" | "ro" | "hrs" | "h"
        ) {
            continue;
        }
        let Ok(n) = digits.parse::<u32>() else {
            continue;
        };
        if digits.len() == 4 {
            parts.year = Some(n as i32);
        } else if suffix == "hrs" || suffix == "h" {
            parts.time = NaiveTime::from_hms_opt(n, 0, 0).or(parts.time);
        } else {
            loose_numbers.push(n);
        }
    }
    let month = parts.month?;
    let day = match (parts.day, loose_numbers.first()) {
        (Some(d), _) => d,
        (None, Some(&d)) if (1..=31).contains(&d) => d,
        _ => return None,
    };
    if parts.year.is_none()
        && let Some(&yy) = loose_numbers.get(1)
        && yy < 100
    {
        parts.year = Some(2000 + yy as i32);
    }
    let date = NaiveDate::from_ymd_opt(parts.year?, month, day)?;
    let mut time = parts.time.unwrap_or(NaiveTime::MIN);
    if parts.pm == Some(true) && time < NaiveTime::from_hms_opt(12, 0, 0)? {
        time += chrono::Duration::hours(12);
    }
    let naive = date.and_time(time);
    match parts.offset {
        Some(secs) => FixedOffset::east_opt(secs)?
            .from_local_datetime(&naive)
            .single()
            .map(|d| d.with_timezone(&Utc)),
        None => local(naive, tz),
    }
}

fn parse_clock(token: &str) -> Option<NaiveTime> {
    let clean: String = token
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ':')
        .collect();
    let mut it = clean.split(':');
    let h = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let s = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    NaiveTime::from_hms_opt(h, m, s)
}

/// `03/06/2024`, `3-6-2024`, `03.06.24`, with the configured day/month order.
fn numeric(text: &str, tz: Tz, order: DayOrder) -> Option<DateTime<Utc>> {
    let first = text.split_whitespace().next()?;
    let fields: Vec<&str> = first.split(['/', '-', '.']).collect();
    if fields.len() != 3
        || !fields
            .iter()
            .all(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let nums: Vec<u32> = fields.iter().filter_map(|f| f.parse().ok()).collect();
    if nums.len() != 3 || fields[0].len() == 4 {
        return None;
    }
    let year = if fields[2].len() == 2 {
        2000 + nums[2] as i32
    } else {
        nums[2] as i32
    };
    let (day, month) = match order {
        DayOrder::DayFirst => (nums[0], nums[1]),
        DayOrder::MonthFirst => (nums[1], nums[0]),
    };
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let time = text
        .split_whitespace()
        .nth(1)
        .and_then(parse_clock)
        .unwrap_or(NaiveTime::MIN);
    local(date.and_time(time), tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MX: Tz = chrono_tz::America::Mexico_City;

    fn p(text: &str) -> Option<String> {
        parse(text, MX, None, DayOrder::DayFirst).map(|d| d.to_rfc3339())
    }

    #[test]
    fn spanish_human_dates() {
        assert_eq!(
            p("15 de enero de 2014").as_deref(),
            Some("2014-01-15T06:00:00+00:00")
        );
        assert_eq!(
            p("lunes, 3 de junio de 2024").as_deref(),
            Some("2024-06-03T06:00:00+00:00")
        );
        assert_eq!(
            p("3 junio, 2024").as_deref(),
            Some("2024-06-03T06:00:00+00:00")
        );
        assert_eq!(
            p("Miércoles 18 de noviembre de 2026, 10:30 hrs").as_deref(),
            Some("2026-11-18T16:30:00+00:00")
        );
        assert_eq!(
            p("1º de septiembre de 2025").as_deref(),
            Some("2025-09-01T06:00:00+00:00")
        );
    }

    #[test]
    fn english_human_dates() {
        assert_eq!(
            p("Jan 15th, '14").as_deref(),
            Some("2014-01-15T06:00:00+00:00")
        );
        assert_eq!(
            p("on Jun 5th, '13").as_deref(),
            Some("2013-06-05T05:00:00+00:00")
        );
        assert_eq!(
            p("November 18, 2026 3:15 pm").as_deref(),
            Some("2026-11-18T21:15:00+00:00")
        );
    }

    #[test]
    fn numeric_dates_follow_the_source_order() {
        // Mexico City has had no daylight saving time since 2022.
        assert_eq!(
            p("03/06/2024").as_deref(),
            Some("2024-06-03T06:00:00+00:00")
        );
        let us = parse("03/06/2024", MX, None, DayOrder::MonthFirst).map(|d| d.to_rfc3339());
        assert_eq!(us.as_deref(), Some("2024-03-06T06:00:00+00:00"));
    }

    #[test]
    fn machine_dates_and_named_zones() {
        assert_eq!(
            p("Tue, 17 Nov 2026 09:00:00 CST").as_deref(),
            Some("2026-11-17T15:00:00+00:00")
        );
        assert_eq!(
            p("2026-11-17T09:00:00-06:00").as_deref(),
            Some("2026-11-17T15:00:00+00:00")
        );
        assert_eq!(
            p("2026-11-17 09:00").as_deref(),
            Some("2026-11-17T15:00:00+00:00")
        );
        assert_eq!(
            p("2026-11-17").as_deref(),
            Some("2026-11-17T06:00:00+00:00")
        );
        assert_eq!(
            p("17 Nov 2026 09:00:00 -0600").as_deref(),
            Some("2026-11-17T15:00:00+00:00")
        );
    }

    #[test]
    fn nonsense_is_none_not_now() {
        assert_eq!(p(""), None);
        assert_eq!(p("pronto"), None);
        assert_eq!(p("31 de febrero de 2024"), None);
        assert_eq!(p("99/99/9999"), None);
    }
}

#[cfg(test)]
mod more_formats {
    use super::*;

    fn utc(text: &str) -> Option<String> {
        parse(
            text,
            chrono_tz::America::Mexico_City,
            None,
            DayOrder::DayFirst,
        )
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }

    #[test]
    fn rfc822_variants_and_named_zones() {
        for (text, want) in [
            ("Tue, 17 Nov 2026 09:00 GMT", "2026-11-17T09:00:00Z"),
            ("17 Nov 26 09:00:00 EST", "2026-11-17T14:00:00Z"),
            ("Tue,17 Nov 2026 09:00:00 PST", "2026-11-17T17:00:00Z"),
            ("Tue, 17 Nov 2026 09:00:00 CDT", "2026-11-17T14:00:00Z"),
            ("Tue, 17 Nov 2026 09:00:00 MDT", "2026-11-17T15:00:00Z"),
            ("Tuesday, 17-Nov-26 09:00:00 UTC", "2026-11-17T09:00:00Z"),
            ("Tue, 17 Nov 2026 09:00:00 +0100", "2026-11-17T08:00:00Z"),
            ("Tue, 17 Nov 2026 09:00:00", "2026-11-17T15:00:00Z"),
            ("2026-11-17T09:00:00.123+0000", "2026-11-17T09:00:00Z"),
            ("2026-11-17T09:00:00Z", "2026-11-17T09:00:00Z"),
            ("2026-11-17 09:00:00 UTC", "2026-11-17T09:00:00Z"),
            ("2026-11-17T09:00:00 -06:00", "2026-11-17T15:00:00Z"),
            ("20261117T090000Z", "2026-11-17T09:00:00Z"),
            ("2026-11", "2026-11-01T06:00:00Z"),
            ("2026", "2026-01-01T06:00:00Z"),
        ] {
            assert_eq!(utc(text).as_deref(), Some(want), "{text}");
        }
    }

    #[test]
    fn source_time_zone_applies_to_zone_less_values() {
        let madrid: Tz = chrono_tz::Europe::Madrid;
        let d = parse("2024-06-03 10:00", madrid, None, DayOrder::DayFirst)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        assert_eq!(d.as_deref(), Some("2024-06-03T08:00:00Z"));
        let d = parse("3 de junio de 2024", madrid, None, DayOrder::DayFirst)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        assert_eq!(d.as_deref(), Some("2024-06-02T22:00:00Z"));
    }
}
