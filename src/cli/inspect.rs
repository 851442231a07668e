//! `boletin inspect URL|FILE [--source ID] [--json]`: what boletin would store for one
//! source, fetched or read now, without opening the database.

use std::process::ExitCode;

use boletin::config::{Settings, Source};
use boletin::ingest::inspect::View;
use url::Url;

use super::{Context, code, fail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A feed or page URL, or a local file.
    target: String,
    /// Apply this configured source's settings (page rules, time zone, day order).
    #[arg(long = "source", value_name = "ID")]
    source: Option<String>,
}

/// `https://…` as is; anything else is a path, made absolute.
pub fn target_url(target: &str) -> Result<Url, String> {
    if target.starts_with("http://")
        || target.starts_with("https://")
        || target.starts_with("file://")
    {
        return Url::parse(target).map_err(|e| format!("`{target}` is not a valid URL: {e}"));
    }
    let path = std::path::Path::new(target);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| format!("cannot resolve `{target}`: {e}"))?
            .join(path)
    };
    if !absolute.exists() {
        return Err(format!(
            "`{target}`: no such file (give an http(s) URL or a path)"
        ));
    }
    Url::from_file_path(&absolute).map_err(|()| format!("`{target}` is not a usable path"))
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitCode, ExitCode> {
    let url = target_url(&args.target).map_err(|e| super::usage(&e))?;
    let (source, settings) = match &args.source {
        Some(id) => {
            let config = ctx.load_config()?;
            let Some(found) = config.source(id) else {
                let known: Vec<&str> = config.sources.iter().map(|s| s.id.as_str()).collect();
                return Err(super::usage(&format!(
                    "no source `{id}` in {} (known: {})",
                    config.path.display(),
                    known.join(", ")
                )));
            };
            let mut source = found.clone();
            // The rules and settings of the source, applied to the document given.
            if url != source.url {
                source.url = url.clone();
            }
            (source, config.settings.clone())
        }
        None => (Source::adhoc(url.clone()), Settings::default()),
    };
    let runtime =
        super::runtime(super::Runtime::OneThread).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let view = runtime
        .block_on(boletin::ingest::run::inspect(&settings, &source))
        .map_err(|e| {
            let hint = match (&e, &args.source) {
                (boletin::ingest::kind::SourceError::Parse(_), None) => {
                    " (a web page? `boletin add URL` finds its feed; `--source ID` applies page rules)"
                }
                _ => "",
            };
            eprintln!("boletin: {}: {e}{hint}", source.url);
            ExitCode::from(code::SOURCES_FAILED)
        })?;
    if ctx.json {
        super::print_json(&view)?;
    } else if !ctx.quiet {
        print_text(&view);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_text(view: &View) {
    let f = &view.feed;
    println!(
        "{} <{}>",
        f.title.as_deref().unwrap_or("(untitled)"),
        f.link.as_deref().unwrap_or("no link")
    );
    println!("{} entries", view.entries.len());
    for e in &view.entries {
        println!();
        println!("  {}", e.title);
        println!("    link:      {}", e.link.as_deref().unwrap_or("-"));
        println!(
            "    published: {}",
            e.published
                .as_deref()
                .unwrap_or("none (stored with its first-seen time)")
        );
        if let Some(id) = &e.id {
            println!("    id:        {id}");
        }
        println!("    key:       {}", e.key);
        let authors: Vec<&str> = e.authors.iter().filter_map(|a| a.name.as_deref()).collect();
        if !authors.is_empty() {
            println!("    authors:   {}", authors.join(", "));
        }
        if !e.categories.is_empty() {
            println!("    tags:      {}", e.categories.join(", "));
        }
        let text = boletin::html::excerpt::excerpt(&boletin::html::text::to_text(&e.summary), 30);
        if !text.is_empty() {
            println!("    summary:   {text}");
        }
        if e.content.is_some() {
            println!("    content:   yes");
        }
    }
}
