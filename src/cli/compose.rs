//! `boletin compose`: an edition file rendered to email (HTML, text, .eml) and web
//! archive; or, without a file, the digest of a window of stored items.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::when;
use boletin::config::Config;
use boletin::lang::Lang;
use boletin::publish::archive::{self, EditionRecord};
use boletin::publish::templates::Renderer;
use boletin::publish::view::{self, DigestView};
use boletin::publish::{Versions, links, mime, render_edition};
use boletin::store::Store;
use chrono::Utc;

use super::{Context, code, fail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The edition file to render (from `boletin draft`). Without it, compose renders the
    /// digest of a window (--since, --now) to newsletter.html and newsletter.txt.
    edition: Option<PathBuf>,
    /// The window: items from this far back (7d) or since a date (without EDITION).
    #[arg(long, default_value = "7d")]
    since: String,
    /// Pin "today" (YYYY-MM-DD = through the end of that day, or RFC 3339).
    #[arg(long)]
    now: Option<String>,
    /// Output folder: an edition goes to OUT/<week>/, the archive to OUT/archive/.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Language of the email's own words [default: the edition's, else the config's].
    #[arg(long, value_parser = ["es", "en"])]
    lang: Option<String>,
}

/// Above this encoded size compose warns: Gmail clips at about 102 KB and hides the
/// footer (and its unsubscribe link) behind "View entire message".
pub const WARN_BYTES: usize = 80 * 1024;

pub fn run(ctx: &Context, args: Args) -> Result<ExitCode, ExitCode> {
    match args.edition.clone() {
        Some(path) => run_edition(ctx, &args, &path),
        None => run_window(ctx, &args),
    }
}

fn write(path: &Path, body: &[u8]) -> Result<(), ExitCode> {
    path.parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(path, body))
        .map_err(|e| {
            fail(
                code::CONFIG_OR_DB,
                &super::FileError::Write(path.display().to_string(), e),
            )
        })
}

/// The items that weigh most in the email, heaviest first: `(id, title, bytes)`.
pub fn costliest(view: &DigestView, n: usize) -> Vec<(i64, String, usize)> {
    let mut costs: Vec<(i64, String, usize)> = view
        .sections
        .iter()
        .flat_map(|s| s.items.iter())
        .map(|i| {
            let html = i.summary.as_str().unwrap_or_default().len()
                + i.blurb_html
                    .as_ref()
                    .and_then(|b| b.as_str().map(str::len))
                    .unwrap_or(0);
            (i.id, i.title.clone(), html + i.title.len() * 2 + 600)
        })
        .collect();
    costs.sort_by_key(|c| std::cmp::Reverse(c.2));
    costs.truncate(n);
    costs
}

fn run_edition(ctx: &Context, args: &Args, path: &Path) -> Result<ExitCode, ExitCode> {
    let config = ctx.load_config()?;
    let store = Store::open_existing(&ctx.db_path()).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let lang = args.lang.as_deref().and_then(Lang::from_code);
    let published = render_edition(
        &config,
        &store,
        path,
        Versions::One(lang),
        &links::default_unsubscribe_url(&config),
    )
    .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let (edition, renderer, version) = (&published.edition, &published.renderer, &published.first);
    let (view, rendered) = (&version.view, &version.email);
    let page = renderer
        .archive_page(view)
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let sent_at = boletin::publish::i18n::edition_noon(edition.date)
        .map_or_else(Utc::now, |d| d.with_timezone(&Utc));
    let fail_mime = |e: mime::MimeError| fail(code::CONFIG_OR_DB, &e);
    let list = mime::ListHeaders::new(&config).map_err(fail_mime)?;
    let eml = mime::build(
        &list,
        &mime::MessageHeaders {
            to: &list.list_address(),
            subject: &rendered.subject,
            date: sent_at.into(),
            message_id: &mime::message_id(
                &format!("{}/{}", config.newsletter.title, edition.week),
                &list.from,
            ),
            // Only `send` has a subscriber, hence a personal one-click link.
            unsubscribe_url: None,
            language: Some(&view.langs.join(", ")),
        },
        &rendered.text,
        &rendered.html,
    )
    .map_err(fail_mime)?
    .formatted();

    let dir = args.out.join(&edition.week);
    let record = EditionRecord {
        week: edition.week.clone(),
        number: edition.number,
        date: edition.date.format("%Y-%m-%d").to_string(),
        long_date: view.date.clone(),
        subject: mime::clean_subject(&rendered.subject),
        preheader: view.preheader.clone(),
        languages: version.langs.clone(),
        url: view.web_url.clone(),
    };
    let record_json = serde_json::to_string_pretty(&record).unwrap_or_default();
    write(&dir.join("email.html"), rendered.html.as_bytes())?;
    write(&dir.join("email.txt"), rendered.text.as_bytes())?;
    write(&dir.join("email.eml"), &eml)?;
    write(&dir.join("index.html"), page.as_bytes())?;
    write(&dir.join(archive::RECORD_FILE), record_json.as_bytes())?;
    update_archive(&config, renderer, &args.out)?;

    let empty = published.empty_warning();
    if !ctx.quiet {
        for warning in published.warnings.iter().chain(&empty) {
            eprintln!("boletin: warning: {warning}");
        }
    }
    let encoded = mime::encoded_len(&rendered.html);
    let heavy = costliest(view, 3);
    if encoded > WARN_BYTES && !ctx.quiet {
        let names: Vec<String> = heavy
            .iter()
            .map(|(id, title, bytes)| {
                format!("item {id} \"{title}\" (~{:.1} KB)", *bytes as f64 / 1024.0)
            })
            .collect();
        eprintln!(
            "boletin: warning: the HTML email is {:.1} KB encoded (over {} KB; Gmail clips above ~102 KB and hides the unsubscribe link). Costliest: {}",
            encoded as f64 / 1024.0,
            WARN_BYTES / 1024,
            names.join(", ")
        );
    }
    if ctx.json {
        super::print_json(&serde_json::json!({
            "dir": dir, "week": edition.week, "items": view.item_count,
            "html_bytes": rendered.html.len(), "html_encoded_bytes": encoded,
            "over_warning_size": encoded > WARN_BYTES,
            "costliest": heavy.iter().map(|(id, title, bytes)| serde_json::json!({"id": id, "title": title, "bytes": bytes})).collect::<Vec<_>>(),
            "archive": args.out.join("archive"),
            "warnings": published.warnings.iter().chain(&empty).map(ToString::to_string).collect::<Vec<_>>(),
            "empty": empty.is_some(),
        }))?;
    } else if !ctx.quiet {
        println!(
            "{} items → {} (email.html, email.txt, email.eml, index.html); archive: {}",
            view.item_count,
            dir.display(),
            args.out.join("archive").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Rebuilds `out/archive/index.html` and `out/archive/feed.xml` from every edition record.
fn update_archive(config: &Config, renderer: &Renderer, out: &Path) -> Result<(), ExitCode> {
    let records = archive::load_records(out).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let index = renderer
        .render("archive_index.html", &archive::index_view(config, &records))
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    write(&out.join("archive").join("index.html"), index.as_bytes())?;
    write(
        &out.join("archive").join("feed.xml"),
        archive::atom_feed(config, &records).as_bytes(),
    )
}

fn run_window(ctx: &Context, args: &Args) -> Result<ExitCode, ExitCode> {
    let config = ctx.load_config()?;
    let now = super::pinned_now(args.now.as_deref())?.unwrap_or_else(Utc::now);
    let since = when::parse_since(&args.since, now).map_err(|e| super::usage(&e))?;
    let lang = args
        .lang
        .as_deref()
        .and_then(Lang::from_code)
        .or_else(|| config.newsletter.languages.first().copied())
        .unwrap_or(Lang::Es);
    let store = Store::open_existing(&ctx.db_path()).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let items = store
        .window_items(since, now)
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    // "Today" as a reader sees it is the last instant of the window.
    let view = view::digest_view(&config, &items, now - chrono::Duration::seconds(1), lang);
    let rendered = Renderer::new(&config.newsletter.templates)
        .email(&view)
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let html = args.out.join("newsletter.html");
    let text = args.out.join("newsletter.txt");
    write(&html, rendered.html.as_bytes())?;
    write(&text, rendered.text.as_bytes())?;
    if ctx.json {
        super::print_json(&serde_json::json!({
            "html": html, "text": text, "items": view.item_count,
            "since": since.to_rfc3339(), "until": now.to_rfc3339(),
        }))?;
    } else if !ctx.quiet {
        println!(
            "{} items → {} (open in a browser) and {}",
            view.item_count,
            html.display(),
            text.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
