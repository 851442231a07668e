//! What a fetch run did, per source: the data behind the summary line, `--json`, and the
//! exit code (the binary decides the code; this module only says whether all went well).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ingest::http_status::HttpStatus;

/// How one source fared in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Fetched and parsed; items stored.
    Ok,
    /// 304, or a body identical to the last one: nothing to parse.
    NotModified,
    /// Not due yet (backoff or a publisher's hint); not requested.
    Waiting,
    /// Marked gone (410); not requested until `--force`.
    Gone,
    /// Failed this run.
    Failed,
    /// Not started because the run was interrupted.
    Interrupted,
}

/// One source's line in the report.
#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    /// The source's id in the config.
    pub id: String,
    /// The URL as configured (a remembered permanent redirect may have been asked instead).
    pub url: String,
    /// What came of the source this run; `Failed` and `Gone` count as failures.
    pub status: Status,
    /// The server's answer (for a gone source, the one that marked it); `None` when no
    /// server answered or none was asked.
    pub http_status: Option<HttpStatus>,
    /// Items stored for the first time.
    pub new: usize,
    /// Items already stored whose visible text or link changed (a new fingerprint).
    pub updated: usize,
    /// Items already stored and seen again as they were.
    pub unchanged: usize,
    /// Size of the document body received, after decompression; 0 when none was.
    pub bytes: u64,
    /// Milliseconds spent fetching and reading it; 0 when it was not asked.
    pub ms: u64,
    /// Why it failed, one line; for a waiting or gone source, the error that put it there.
    pub error: Option<String>,
    /// Not asked again before this (backoff or the publisher's hints); `None`: the next run
    /// asks.
    pub next_attempt: Option<DateTime<Utc>>,
    /// A permanent redirect led here: put this URL in feeds.toml.
    pub moved_to: Option<String>,
}

impl SourceReport {
    pub(crate) fn new(id: &str, url: &str, status: Status) -> SourceReport {
        SourceReport {
            id: id.to_string(),
            url: url.to_string(),
            status,
            http_status: None,
            new: 0,
            updated: 0,
            unchanged: 0,
            bytes: 0,
            ms: 0,
            error: None,
            next_attempt: None,
            moved_to: None,
        }
    }
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// When the run began (the pinned `--now` clock when given).
    pub started: DateTime<Utc>,
    /// Wall-clock milliseconds of the whole run.
    pub ms: u64,
    /// A signal stopped it early: sources not yet started are reported `Interrupted`.
    pub interrupted: bool,
    /// One per selected source, in config order.
    pub sources: Vec<SourceReport>,
    /// Items annotated as they were read (see `FetchOptions::annotator`).
    #[serde(skip)]
    pub annotated: usize,
}

impl RunReport {
    fn count(&self, status: Status) -> usize {
        self.sources.iter().filter(|s| s.status == status).count()
    }

    /// Sources that need a person's attention: failed this run, or gone.
    pub fn failures(&self) -> usize {
        self.count(Status::Failed) + self.count(Status::Gone)
    }

    /// The sources that need a person, as a tail for the summary line:
    /// `; failed: a, b; gone: c; moved (update feeds.toml): d -> URL` (empty when all is
    /// well). Details are in `boletin sources`.
    pub fn attention(&self) -> String {
        let ids = |pick: &dyn Fn(&SourceReport) -> bool| -> Vec<&str> {
            self.sources
                .iter()
                .filter(|s| pick(s))
                .map(|s| s.id.as_str())
                .collect()
        };
        let mut tail = String::new();
        for (label, list) in [
            ("failed", ids(&|s| s.status == Status::Failed)),
            ("gone", ids(&|s| s.status == Status::Gone)),
        ] {
            if !list.is_empty() {
                tail.push_str(&format!("; {label}: {}", list.join(", ")));
            }
        }
        let moved: Vec<String> = self
            .sources
            .iter()
            .filter_map(|s| Some(format!("{} -> {}", s.id, s.moved_to.as_ref()?)))
            .collect();
        if !moved.is_empty() {
            tail.push_str(&format!(
                "; moved (update feeds.toml): {}",
                moved.join(", ")
            ));
        }
        tail
    }

    /// One line for cron's mail and the terminal.
    pub fn summary(&self) -> String {
        let new: usize = self.sources.iter().map(|s| s.new).sum();
        let updated: usize = self.sources.iter().map(|s| s.updated).sum();
        let mut line = format!(
            "{} sources: {} ok, {} not modified, {} waiting, {} failed, {} gone; {} new items, {} updated in {:.1}s",
            self.sources.len(),
            self.count(Status::Ok),
            self.count(Status::NotModified),
            self.count(Status::Waiting),
            self.count(Status::Failed),
            self.count(Status::Gone),
            new,
            updated,
            self.ms as f64 / 1000.0
        );
        if self.interrupted {
            line.push_str(&format!(
                " (interrupted; {} not started)",
                self.count(Status::Interrupted)
            ));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attention_names_failed_gone_and_moved_sources() {
        let mut moved = SourceReport::new("a", "http://a/", Status::Ok);
        moved.moved_to = Some("http://b/".into());
        let report = RunReport {
            started: Utc::now(),
            ms: 1200,
            interrupted: false,
            annotated: 0,
            sources: vec![
                moved,
                SourceReport::new("ok", "http://ok/", Status::NotModified),
                SourceReport::new("x", "http://x/", Status::Failed),
                SourceReport::new("y", "http://y/", Status::Failed),
                SourceReport::new("z", "http://z/", Status::Gone),
            ],
        };
        assert_eq!(
            report.attention(),
            "; failed: x, y; gone: z; moved (update feeds.toml): a -> http://b/"
        );
        assert_eq!(report.failures(), 3);
        assert!(
            report
                .summary()
                .starts_with("5 sources: 1 ok, 1 not modified")
        );
    }
}
