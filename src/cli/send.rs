//! `boletin send`: deliver an edition file (the one `compose` renders) to every
//! subscriber exactly once.

use std::path::PathBuf;
use std::process::ExitCode;

use boletin::config::Config;
use boletin::deliver::rate::parse_rate;
use boletin::deliver::token::Secret;
use boletin::deliver::{self, Mailing, RowOutcome, SendOptions, SmtpTarget, message};
use boletin::publish::address::address_domain;
use boletin::store::Store;
use indicatif::{ProgressBar, ProgressStyle};
use lettre::message::dkim::DkimConfig;

use super::{Context, code, fail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The edition file from `boletin draft`, e.g. editions/2026-W47.toml: sent exactly as
    /// `boletin compose` renders it, once per language; its `week` is the edition's id.
    edition: PathBuf,
    /// Render and build every message, report who would get which language; send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Send every language version to these addresses only (the journal is not touched).
    #[arg(long = "test", value_name = "ADDR", num_args = 1..)]
    test: Vec<String>,
    /// At most this many messages, e.g. 60/min, 2/s, 1000/h [default: [delivery] rate].
    #[arg(long)]
    rate: Option<String>,
    /// Attempt at most N messages in this run (the rest wait for the next run).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Send an edition that includes no item (refused otherwise, with exit code 4).
    #[arg(long)]
    allow_empty: bool,
}

fn secret(config: &Config) -> Result<Secret, ExitCode> {
    Secret::resolve(
        std::env::var("BOLETIN_SECRET").ok(),
        config.delivery.secret.as_ref(),
    )
    .map_err(|e| fail(code::CONFIG_OR_DB, &e))
}

/// The signing key of `[delivery.dkim]`, if signing is configured.
pub(super) fn dkim(config: &Config) -> Result<Option<DkimConfig>, ExitCode> {
    config
        .delivery
        .dkim
        .as_ref()
        .map(message::dkim_config)
        .transpose()
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))
}

/// The SMTP server of `[delivery] smtp_url`, with credentials from the environment.
pub(super) fn target(config: &Config) -> Result<SmtpTarget, ExitCode> {
    let Some(url) = &config.delivery.smtp_url else {
        return Err(super::usage(&format!(
            "{}: set [delivery] smtp_url (e.g. \"smtp://mail.example.org:587\") to send",
            config.path.display()
        )));
    };
    let user = std::env::var("BOLETIN_SMTP_USER").ok();
    let password = std::env::var("BOLETIN_SMTP_PASSWORD").ok();
    let credentials = match (user, password) {
        (Some(u), Some(p)) if !u.is_empty() => Some((u, p)),
        (None, None) => None,
        _ => {
            return Err(super::usage(
                "set both BOLETIN_SMTP_USER and BOLETIN_SMTP_PASSWORD, or neither",
            ));
        }
    };
    let hello = address_domain(&config.newsletter.from).unwrap_or("localhost");
    let mut target =
        SmtpTarget::from_url(url, credentials, hello).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    if let Some(path) = &config.delivery.smtp_ca_file {
        target.ca_pem = Some(std::fs::read(path).map_err(|e| {
            super::usage(&format!("[delivery] smtp_ca_file {}: {e}", path.display()))
        })?);
    }
    Ok(target)
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitCode, ExitCode> {
    let config = ctx.load_config()?;
    let secret = secret(&config)?;
    let per_minute = match &args.rate {
        Some(r) => Some(parse_rate(r).ok_or_else(|| {
            super::usage(&format!(
                "--rate `{r}`: use a rate such as 60/min, 2/s or 1000/h"
            ))
        })?),
        None => config.delivery.per_minute,
    };
    let db = ctx.db_path();
    let mut store = Store::open_existing(&db).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let edition = deliver::outgoing::load(&config, &store, &args.edition)
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let dkim = dkim(&config)?;
    let mailing = Mailing::new(&config, &edition, &secret, dkim.as_ref())
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    if !ctx.quiet {
        for warning in &edition.warnings {
            eprintln!("boletin: warning: {warning}");
        }
    }
    let refuse_empty = edition.items == 0 && !args.allow_empty;
    // Exit code 4 says it to cron; the dry run answers as the real run would.
    let refusal = |verdict: &str| {
        format!(
            "{}: {verdict}: {}; include one, or pass --allow-empty to send it as it is",
            args.edition.display(),
            edition.why_empty
        )
    };
    if config.delivery.unsubscribe_url.is_none() && !ctx.quiet {
        eprintln!(
            "boletin: warning: no [delivery] unsubscribe_url, so no one-click unsubscribe; Gmail and Yahoo expect one from bulk senders"
        );
    }

    if args.dry_run {
        let report =
            deliver::dry_run(&store, &mailing).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
        if ctx.json {
            let mut json = serde_json::to_value(&report).unwrap_or_default();
            if let Some(fields) = json.as_object_mut() {
                fields.insert("items".into(), edition.items.into());
                fields.insert("refused_empty".into(), refuse_empty.into());
            }
            super::print_json(&json)?;
        } else if !ctx.quiet {
            let langs: Vec<String> = report
                .by_language
                .iter()
                .map(|(l, n)| format!("{n} in {l}"))
                .collect();
            // Refused, it sends nothing: a count beside the refusal would read as a promise.
            let would = if refuse_empty {
                "would send nothing (refused: the edition shows no item)".to_string()
            } else {
                format!(
                    "would send {} messages ({})",
                    report.would_send,
                    if langs.is_empty() {
                        "none".into()
                    } else {
                        langs.join(", ")
                    }
                )
            };
            println!(
                "{}: {would}; {} already sent; {} suppressed; {} items",
                report.edition, report.already_sent, report.suppressed, edition.items
            );
            for (lang, subject) in &report.subjects {
                println!("  subject ({lang}): {subject}");
            }
        }
        if refuse_empty {
            eprintln!("boletin: {}", refusal("send would refuse it"));
            return Ok(ExitCode::from(code::EMPTY_EDITION));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if refuse_empty {
        eprintln!("boletin: {}", refusal("refused, nothing sent"));
        return Ok(ExitCode::from(code::EMPTY_EDITION));
    }

    let target = target(&config)?;
    if !args.test.is_empty() {
        let mut addresses = Vec::new();
        for a in &args.test {
            addresses.push(
                boletin::deliver::subscribers::normalize_email(a).map_err(|e| super::usage(&e))?,
            );
        }
        let results = deliver::send_test(&mailing, &target, &addresses)
            .map_err(|e| fail(code::SOURCES_FAILED, &e))?;
        let mut ok = true;
        let mut json = Vec::new();
        for (addr, lang, outcome) in &results {
            let sent = matches!(outcome, deliver::smtp::Outcome::Sent(_));
            let (state, detail) = (outcome.label(), outcome.reply());
            ok &= sent;
            if ctx.json {
                json.push(
                    serde_json::json!({"to": addr, "lang": lang, "state": state, "reply": detail}),
                );
            } else if !ctx.quiet || !sent {
                println!("test {lang} → {addr}: {state} ({detail})");
            }
        }
        if ctx.json {
            super::print_json(&json)?;
        }
        return Ok(ExitCode::from(if ok {
            code::OK
        } else {
            code::SOURCES_FAILED
        }));
    }

    // Two sends of one database at once would race for the same rows.
    let mut lock_name = db.as_os_str().to_owned();
    lock_name.push(".send");
    let _lock = super::lock(&PathBuf::from(lock_name))?;

    let bar = ctx.interactive().then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    if let Some(bar) = &bar {
        let open = match store.edition_send(&edition.id) {
            Ok(Some(_)) => store
                .journal_counts(&edition.id)
                .map(|c| c.open())
                .unwrap_or(0),
            _ => store.subscriber_counts().map(|c| c.active).unwrap_or(0),
        };
        bar.set_length(args.limit.map_or(open, |l| open.min(l as u64)));
    }
    let options = SendOptions {
        limit: args.limit,
        per_minute,
        connections: config.delivery.connections,
        retry_base: config.delivery.retry_base,
        max_attempts: config.delivery.max_attempts,
        max_wait: config.delivery.max_wait,
    };
    let log_problems = bar.is_none() && !ctx.quiet && !ctx.json;
    let progress = |p: &deliver::Progress<'_>| {
        let problem = (p.outcome != RowOutcome::Sent).then(|| {
            let detail = p.detail.map(|d| format!(" ({d})")).unwrap_or_default();
            format!("{}: {}{detail}", p.email, p.outcome)
        });
        if let Some(bar) = &bar {
            // A deferred message comes round again; every other outcome is final.
            if p.outcome != RowOutcome::Deferred {
                bar.inc(1);
            }
            bar.set_message(p.email.to_string());
            if let Some(line) = problem {
                bar.println(line);
            }
        } else if log_problems && let Some(line) = problem {
            // Without a bar (cron, logs), each problem gets its own line on stderr.
            eprintln!("{line}");
        }
    };
    let result = deliver::send(&mut store, &mailing, &target, &options, &progress);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = result.map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    if ctx.json {
        super::print_json(&report)?;
    } else if !ctx.quiet {
        println!("{}", report.summary());
    }
    if let Some(reason) = &report.stopped {
        eprintln!("boletin: stopped: {reason}");
    }
    let exit = if report.stopped.is_some() || report.journal.deferred > 0 {
        code::SOURCES_FAILED
    } else {
        code::OK
    };
    Ok(ExitCode::from(exit))
}
