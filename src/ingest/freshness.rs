//! How long a response stays fresh, read from its headers: `Retry-After`, `Cache-Control:
//! max-age` and `Expires`. Pure; the fetcher hands the instants to the schedule.

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap, HeaderValue};

pub(crate) fn header_str(
    headers: &HeaderMap<HeaderValue>,
    name: header::HeaderName,
) -> Option<&str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// `Retry-After` as delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(now + chrono::Duration::seconds(secs.min(i64::MAX as u64 / 2000) as i64));
    }
    parse_http_date(value)
}

fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(value.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Cache-Control max-age wins over Expires (RFC 9111 §5.3).
pub(crate) fn freshness(
    headers: &HeaderMap<HeaderValue>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if let Some(cc) = header_str(headers, header::CACHE_CONTROL) {
        let lower = cc.to_ascii_lowercase();
        if lower.contains("no-cache") || lower.contains("no-store") {
            return None;
        }
        for part in lower.split(',') {
            if let Some(secs) = part.trim().strip_prefix("max-age=") {
                return secs
                    .trim_matches('"')
                    .parse::<i64>()
                    .ok()
                    .filter(|s| *s > 0)
                    .map(|s| now + chrono::Duration::seconds(s.min(365 * 86_400)));
            }
        }
    }
    header_str(headers, header::EXPIRES)
        .and_then(parse_http_date)
        .filter(|t| *t > now)
}
