//! `boletin subscribers`: import, add, list, count and remove subscribers.

use std::path::PathBuf;
use std::process::ExitCode;

use boletin::deliver::subscribers;
use boletin::lang::Lang;
use boletin::store::{Activated, Activation, AddOutcome, Consent, Store, SuppressionReason};
use chrono::Utc;
use serde::Serialize;

use super::{Context, code, fail};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Add the subscribers in a CSV file (email, name, language; header optional).
    ///
    /// Bad rows are reported with their line numbers and skipped; addresses already
    /// subscribed are left alone; unsubscribed and bounced addresses are never re-added.
    Import {
        /// The CSV file.
        file: PathBuf,
    },
    /// Add one address on the editor's word: active at once, even if it unsubscribed.
    ///
    /// An address that bounced is refused (its server said it does not exist) unless
    /// --force says it works again. An address already subscribed gets the name and
    /// language given.
    Add {
        /// The address.
        email: String,
        /// The subscriber's name.
        #[arg(long)]
        name: Option<String>,
        /// The language their editions come in: es or en [default: the newsletter's first].
        #[arg(long)]
        lang: Option<String>,
        /// Add it even if it bounced.
        #[arg(long)]
        force: bool,
    },
    /// List every subscriber and whether they still receive mail.
    List,
    /// How many subscribers receive mail, and how many unsubscribed or bounced.
    Count,
    /// Unsubscribe an address for good (it stays suppressed, even if imported again).
    Remove {
        /// The address.
        email: String,
    },
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitCode, ExitCode> {
    match args.command {
        Command::Import { file } => import(ctx, &file),
        Command::Add {
            email,
            name,
            lang,
            force,
        } => add(ctx, &email, name.as_deref(), lang.as_deref(), force),
        Command::List => list(ctx),
        Command::Count => count(ctx),
        Command::Remove { email } => remove(ctx, &email),
    }
}

fn open(ctx: &Context) -> Result<Store, ExitCode> {
    Store::open(&ctx.db_path()).map_err(|e| fail(code::CONFIG_OR_DB, &e))
}

#[derive(Debug, Default, Serialize)]
struct ImportReport {
    file: String,
    added: u64,
    existing: u64,
    duplicates: Vec<subscribers::RowProblem>,
    suppressed: Vec<subscribers::RowProblem>,
    bad_rows: Vec<subscribers::RowProblem>,
}

fn import(ctx: &Context, file: &std::path::Path) -> Result<ExitCode, ExitCode> {
    let config = ctx.load_config()?;
    let default_lang = config
        .newsletter
        .languages
        .first()
        .copied()
        .unwrap_or(Lang::Es);
    let shown = file.display().to_string();
    let bytes = std::fs::read(file).map_err(|e| {
        eprintln!("boletin: {shown}: cannot read: {e}");
        ExitCode::from(code::CONFIG_OR_DB)
    })?;
    let parsed = subscribers::parse_csv(&bytes, default_lang);
    let mut store = open(ctx)?;
    let new: Vec<_> = parsed.rows.iter().map(|r| r.subscriber.clone()).collect();
    let outcomes = store
        .import_subscribers(&new, Utc::now())
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let mut report = ImportReport {
        file: shown.clone(),
        duplicates: parsed.duplicates,
        bad_rows: parsed.problems,
        ..ImportReport::default()
    };
    for (row, outcome) in parsed.rows.iter().zip(outcomes) {
        match outcome {
            AddOutcome::Added => report.added += 1,
            AddOutcome::Existing => report.existing += 1,
            AddOutcome::Suppressed(reason) => report.suppressed.push(subscribers::RowProblem {
                line: row.line,
                message: format!(
                    "{} {} earlier; not re-imported",
                    row.subscriber.email,
                    reason.as_str()
                ),
            }),
        }
    }
    if ctx.json {
        super::print_json(&report)?;
    } else {
        for p in report.bad_rows.iter() {
            eprintln!("{shown}:{}: {}", p.line, p.message);
        }
        for p in report.suppressed.iter().chain(&report.duplicates) {
            eprintln!("{shown}:{}: {}", p.line, p.message);
        }
        if !ctx.quiet {
            println!(
                "{shown}: {} added, {} already subscribed, {} suppressed (unsubscribed or bounced), {} repeated in the file, {} bad rows",
                report.added,
                report.existing,
                report.suppressed.len(),
                report.duplicates.len(),
                report.bad_rows.len()
            );
        }
    }
    // Bad rows are the editor's to fix: say so in the exit code, the good rows are in.
    Ok(ExitCode::from(if report.bad_rows.is_empty() {
        code::OK
    } else {
        code::SOURCES_FAILED
    }))
}

fn add(
    ctx: &Context,
    email: &str,
    name: Option<&str>,
    lang: Option<&str>,
    force: bool,
) -> Result<ExitCode, ExitCode> {
    let config = ctx.load_config()?;
    let email = subscribers::normalize_email(email).map_err(|e| super::usage(&e))?;
    let language = lang
        .map(|l| {
            subscribers::parse_language(l)
                .ok_or_else(|| super::usage(&format!("--lang `{l}`: use es or en")))
        })
        .transpose()?;
    let name = name.map(subscribers::clean_name);
    let name = name.as_deref();
    let mut store = open(ctx)?;
    let activated = store
        .activate(
            &Activation {
                email: &email,
                name,
                language,
                default_language: config
                    .newsletter
                    .languages
                    .first()
                    .copied()
                    .unwrap_or(Lang::Es),
                consent: Consent::Editor { force },
            },
            Utc::now(),
        )
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let now = store
        .subscriber_by_email(&email)
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let lang = now.as_ref().map_or("", |s| s.language.code());
    let (outcome, line) = match &activated {
        Activated::Added => (
            "added",
            format!("{email} added ({lang}); it gets the next edition"),
        ),
        Activated::Returned(reason) => (
            "returned",
            format!("{email} had {}; subscribed again ({lang})", reason.as_str()),
        ),
        Activated::AlreadyActive => {
            let given: Vec<String> = [
                name.map(|n| format!("name “{n}”")),
                language.map(|l| format!("language {}", l.code())),
            ]
            .into_iter()
            .flatten()
            .collect();
            let change = if given.is_empty() {
                "nothing changed".to_string()
            } else {
                format!("now with {}", given.join(", "))
            };
            (
                "existing",
                format!("{email} was already subscribed; {change}"),
            )
        }
        Activated::Bounced { at, detail } => (
            "refused",
            format!(
                "{email} bounced on {} ({detail}): its server refused it, so it stays out; add --force if the address works again",
                at.format("%Y-%m-%d")
            ),
        ),
        // Only a signup's link can be outweighed by a later unsubscribe.
        Activated::UnsubscribedSince(_) => ("refused", format!("{email} unsubscribed")),
    };
    let refused = outcome == "refused";
    if ctx.json {
        super::print_json(&serde_json::json!({
            "email": email,
            "outcome": outcome,
            "active": !refused,
            "language": (!lang.is_empty()).then_some(lang),
            "message": line,
        }))?;
    } else if refused {
        eprintln!("boletin: {line}");
    } else if !ctx.quiet {
        println!("{line}");
    }
    Ok(ExitCode::from(if refused {
        code::SOURCES_FAILED
    } else {
        code::OK
    }))
}

fn list(ctx: &Context) -> Result<ExitCode, ExitCode> {
    let store = open(ctx)?;
    let subs = store
        .subscribers()
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    if ctx.json {
        super::print_json(&subs)?;
    } else {
        for s in &subs {
            let status = s.suppressed.map_or("active", SuppressionReason::as_str);
            // Rows stored before names were cleaned may still hold controls.
            println!(
                "{:<40}  {}  {:<12}  {}",
                super::one_line(&s.email),
                s.language.code(),
                status,
                super::one_line(&s.name)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn count(ctx: &Context) -> Result<ExitCode, ExitCode> {
    let store = open(ctx)?;
    let c = store
        .subscriber_counts()
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    if ctx.json {
        super::print_json(&c)?;
    } else {
        println!(
            "{} active, {} unsubscribed, {} bounced",
            c.active, c.unsubscribed, c.bounced
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn remove(ctx: &Context, email: &str) -> Result<ExitCode, ExitCode> {
    let email = subscribers::normalize_email(email).map_err(|e| super::usage(&e))?;
    let store = open(ctx)?;
    let known = store
        .subscriber_by_email(&email)
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let newly = store
        .suppress(
            &email,
            SuppressionReason::Unsubscribed,
            "removed by an editor",
            Utc::now(),
        )
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    if ctx.json {
        super::print_json(&serde_json::json!({
            "email": email, "subscribed": known.is_some(), "newly_suppressed": newly,
        }))?;
    } else if !ctx.quiet {
        match (known.is_some(), newly) {
            (_, false) => println!("{email} was already unsubscribed or bounced"),
            (true, true) => println!("{email} unsubscribed; it will not be mailed again"),
            (false, true) => {
                println!("{email} was not subscribed; it is now blocked from future imports")
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
