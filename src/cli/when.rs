//! Relative windows and pinned clocks for the command line: `7d`, `24h`, `2w`, `2026-11-21`.

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// A window length such as `7d`, `36h`, `2w`.
pub fn parse_span(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a time span (examples: 7d, 24h, 2w)"))?;
    let d = match unit {
        "h" => Duration::hours(n),
        "d" | "" => Duration::days(n),
        "w" => Duration::weeks(n),
        _ => return Err(format!("`{text}`: unknown unit `{unit}` (use h, d or w)")),
    };
    Ok(d)
}

/// A pinned "now": RFC 3339, or a date meaning the end of that day (UTC), so that the
/// window includes the whole day named.
pub fn parse_now(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(d.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.succ_opt())
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        .ok_or_else(|| format!("`{text}` is not a date (use YYYY-MM-DD or RFC 3339)"))
}

/// `since` as a span back from `now`, or an absolute date.
pub fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    match parse_span(text) {
        Ok(span) => Ok(now - span),
        Err(span_err) => parse_now(text)
            .map(|end_of_day| end_of_day - Duration::days(1))
            .map_err(|_| span_err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_dates() {
        assert_eq!(parse_span("7d").map(|d| d.num_hours()), Ok(168));
        assert_eq!(parse_span("2w").map(|d| d.num_days()), Ok(14));
        assert!(parse_span("siete").is_err());
        assert_eq!(
            parse_now("2026-11-21").map(|d| d.to_rfc3339()),
            Ok("2026-11-22T00:00:00+00:00".into())
        );
        let now = parse_now("2026-11-21").unwrap_or_default();
        assert_eq!(
            parse_since("2026-11-01", now).map(|d| d.to_rfc3339()),
            Ok("2026-11-01T00:00:00+00:00".into())
        );
    }
}
