//! When a source may be asked again (backoff after failures, publisher hints after
//! successes) and in which order the due ones are started (hosts take turns). Pure
//! functions of the sources, their state and the clock.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};

use crate::config::Source;
use crate::ingest::fetch::Disposition;

/// First wait after a failure; doubles with each failure in a row.
pub const BACKOFF_START: Duration = Duration::hours(1);
/// The longest backoff: a broken source is still tried once a day, forever.
pub const BACKOFF_CEILING: Duration = Duration::hours(24);
/// Publisher hints (Retry-After, max-age, Expires, ttl) are honoured up to this.
pub const MAX_HINT: Duration = Duration::days(7);

/// Next attempt after a success, from the publisher's freshness hints; `None` = next run.
pub fn after_success(
    now: DateTime<Utc>,
    fresh_until: Option<DateTime<Utc>>,
    ttl_minutes: Option<u32>,
) -> Option<DateTime<Utc>> {
    let ttl = ttl_minutes.map(|m| now + Duration::minutes(i64::from(m)));
    let hint = match (fresh_until, ttl) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }?;
    (hint > now).then(|| hint.min(now + MAX_HINT))
}

/// Next attempt after the `failures`-th failure in a row.
pub fn after_failure(
    now: DateTime<Utc>,
    failures: u32,
    disposition: Disposition,
) -> Option<DateTime<Utc>> {
    match disposition {
        Disposition::Gone => None,
        Disposition::RetryAt(t) => Some(t.clamp(now, now + MAX_HINT)),
        Disposition::Backoff => Some(now + backoff(failures)),
    }
}

/// 1 h, 2 h, 4 h, … up to 24 h.
pub fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    let wait = BACKOFF_START * (1i32 << doublings);
    wait.min(BACKOFF_CEILING)
}

/// Source indices reordered so hosts take turns: a, b, c, a, b, a … (first-seen host order,
/// config order within a host).
pub fn interleave_by_host(sources: &[Source], due: Vec<usize>) -> VecDeque<usize> {
    let mut queues: Vec<VecDeque<usize>> = Vec::new();
    let mut by_host: HashMap<&str, usize> = HashMap::new();
    for index in due {
        let host = sources[index].url.host_str().unwrap_or_default();
        let q = *by_host.entry(host).or_insert_with(|| {
            queues.push(VecDeque::new());
            queues.len() - 1
        });
        queues[q].push_back(index);
    }
    let mut out = VecDeque::new();
    while !queues.is_empty() {
        queues.retain_mut(|q| match q.pop_front() {
            Some(index) => {
                out.push_back(index);
                true
            }
            None => false,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_ceiling_and_never_stops() {
        let hours: Vec<i64> = (1..=8).map(|n| backoff(n).num_hours()).collect();
        assert_eq!(hours, [1, 2, 4, 8, 16, 24, 24, 24]);
        assert_eq!(backoff(10_000).num_hours(), 24);
    }

    #[test]
    fn hints_are_capped_at_a_week() {
        let now = Utc::now();
        let far = now + Duration::days(30);
        assert_eq!(after_success(now, Some(far), None), Some(now + MAX_HINT));
        assert_eq!(
            after_success(now, None, Some(60)),
            Some(now + Duration::minutes(60))
        );
        assert_eq!(after_success(now, None, None), None);
        assert_eq!(
            after_failure(now, 1, Disposition::RetryAt(far)),
            Some(now + MAX_HINT)
        );
    }

    #[test]
    fn hosts_take_turns() {
        let mut toml = String::from(
            "[newsletter]\ntitle = \"t\"\nfrom = \"b@example.org\"\n[[section]]\nid = \"s\"\ntitle = \"S\"\n",
        );
        for (id, host) in [
            ("a1", "a"),
            ("a2", "a"),
            ("a3", "a"),
            ("b1", "b"),
            ("c1", "c"),
            ("b2", "b"),
        ] {
            toml.push_str(&format!(
                "[[source]]\nid = \"{id}\"\nname = \"{id}\"\nurl = \"https://{host}.example.org/{id}\"\nsection = \"s\"\n"
            ));
        }
        let config = crate::config::parse(&toml, std::path::Path::new("feeds.toml"));
        let Ok(config) = config else {
            panic!("{config:?}");
        };
        let order: Vec<&str> = interleave_by_host(&config.sources, (0..6).collect())
            .into_iter()
            .map(|i| config.sources[i].id.as_str())
            .collect();
        assert_eq!(order, ["a1", "b1", "c1", "a2", "b2", "a3"]);
    }
}
