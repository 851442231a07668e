//! `boletin compose`: the digest of a window of stored items, as HTML and plain text.

use std::path::PathBuf;
use std::process::ExitCode;

use boletin::config::Lang;
use boletin::pipeline;
use boletin::render::{self, Renderer};
use boletin::store::Store;
use boletin::when;
use chrono::Utc;

use super::{Context, code, fail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The window: items from this far back (7d) or since a date.
    #[arg(long, default_value = "7d")]
    since: String,
    /// Pin "today" (YYYY-MM-DD = through the end of that day, or RFC 3339).
    #[arg(long)]
    now: Option<String>,
    /// Folder to write newsletter.html and newsletter.txt into.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Language of the digest's own words [default: the config's first language].
    #[arg(long, value_parser = ["es", "en"])]
    lang: Option<String>,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitCode, ExitCode> {
    let config = ctx.load_config()?;
    let now = match &args.now {
        Some(n) => when::parse_now(n).map_err(|e| super::usage(&e))?,
        None => Utc::now(),
    };
    let since = when::parse_since(&args.since, now).map_err(|e| super::usage(&e))?;
    let lang = match args.lang.as_deref() {
        Some("en") => Lang::En,
        Some(_) => Lang::Es,
        None => config
            .newsletter
            .languages
            .first()
            .copied()
            .unwrap_or(Lang::Es),
    };
    let store = Store::open_existing(&ctx.db_path()).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let items =
        pipeline::window_items(&store, since, now).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    // "Today" as a reader sees it is the last instant of the window.
    let view = render::digest_view(&config, &items, now - chrono::Duration::seconds(1), lang);
    let rendered = Renderer::new(&config.newsletter.templates)
        .digest(&view)
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let write = |name: &str, body: &str| -> Result<PathBuf, ExitCode> {
        let path = args.out.join(name);
        std::fs::create_dir_all(&args.out)
            .and_then(|()| std::fs::write(&path, body))
            .map_err(|e| {
                fail(
                    code::CONFIG_OR_DB,
                    &WriteError(path.display().to_string(), e),
                )
            })?;
        Ok(path)
    };
    let html = write("newsletter.html", &rendered.html)?;
    let text = write("newsletter.txt", &rendered.text)?;
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

#[derive(Debug, thiserror::Error)]
#[error("cannot write {0}: {1}")]
struct WriteError(String, std::io::Error);
