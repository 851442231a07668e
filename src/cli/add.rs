//! `boletin add URL`: find a site's feed and append it to feeds.toml as a new source,
//! keeping the file's comments and layout. Without a feed, prints a page rule to start from.

use std::process::ExitCode;

use boletin::ingest::discover::{self, Discovery};
use boletin::ingest::fetch::Fetcher;
use toml_edit::{DocumentMut, Table};
use url::Url;

use super::{Context, code, fail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The site, page or feed URL.
    url: String,
    /// The new source's id [default: from the site's name or host].
    #[arg(long)]
    id: Option<String>,
    /// The new source's display name [default: the feed's title].
    #[arg(long)]
    name: Option<String>,
    /// The section it goes to [default: the first section].
    #[arg(long)]
    section: Option<String>,
    /// Show the source without writing feeds.toml.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitCode, ExitCode> {
    let url = Url::parse(args.url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| super::usage(&format!("`{}` is not an http(s) URL", args.url)))?;
    // The config must load before and after: `add` never writes a broken file.
    let (config, config_text) = ctx.load_config_text()?;
    let runtime =
        super::runtime(super::Runtime::OneThread).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let found: Discovery = runtime
        .block_on(async {
            let fetcher = Fetcher::new(&config.settings)?;
            discover::discover(&fetcher, &url).await
        })
        .map_err(|e| {
            eprintln!("boletin: {url}: {e}");
            ExitCode::from(code::SOURCES_FAILED)
        })?;
    let Some(feed) = found.feeds.first() else {
        if ctx.json {
            super::print_json(&found)?;
        } else {
            eprintln!(
                "boletin: no feed found on {} (no <link rel=\"alternate\">, none of {} answered with a feed)",
                found.page,
                discover::COMMON_PATHS.join(" ")
            );
            println!("# A starting point: add this to feeds.toml and adjust the selectors,");
            println!(
                "# then check it with `boletin inspect {} --source ID`.",
                found.page
            );
            println!("[[source]]");
            println!("id = \"{}\"", default_id(&found));
            println!(
                "name = \"{}\"",
                found.page_title.as_deref().unwrap_or("").replace('"', "'")
            );
            println!("url = \"{}\"", found.page);
            println!("kind = \"page\"");
            println!(
                "section = \"{}\"",
                args.section
                    .as_deref()
                    .or(config.sections.first().map(|s| s.id.as_str()))
                    .unwrap_or("noticias")
            );
            print!("\n{}", found.page_rule.as_deref().unwrap_or_default());
        }
        return Ok(ExitCode::from(code::SOURCES_FAILED));
    };
    let doc: DocumentMut = config_text.parse().map_err(|e: toml_edit::TomlError| {
        eprintln!("boletin: {}: {}", ctx.config_path.display(), e.message());
        ExitCode::from(code::CONFIG_OR_DB)
    })?;
    let (mut ids, urls, _) = boletin::config::opml::existing(&doc);
    if urls.contains(feed.url.as_str()) {
        eprintln!(
            "boletin: {} is already in {}",
            feed.url,
            ctx.config_path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let section = match args.section.as_deref() {
        Some(s) if config.sections.iter().any(|x| x.id == s) => s.to_string(),
        Some(s) => {
            return Err(super::usage(&format!(
                "unknown section `{s}` (known: {})",
                config
                    .sections
                    .iter()
                    .map(|x| x.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        None => match config.sections.first() {
            Some(s) => s.id.clone(),
            None => {
                return Err(super::usage(
                    "feeds.toml has no [[section]] to add the source to",
                ));
            }
        },
    };
    let name = args
        .name
        .clone()
        .or_else(|| feed.title.clone())
        .or_else(|| found.page_title.clone())
        .unwrap_or_else(|| url.host_str().unwrap_or("source").to_string());
    let wanted = args.id.clone().unwrap_or_else(|| default_id(&found));
    let id = boletin::config::opml::unique_id(&wanted, &mut ids);
    let mut table = Table::new();
    table.insert("id", toml_edit::value(id.clone()));
    table.insert("name", toml_edit::value(name.clone()));
    table.insert("url", toml_edit::value(feed.url.as_str()));
    table.insert("section", toml_edit::value(section.clone()));
    let block = boletin::config::opml::render_tables("source", vec![table]);
    let mut text = config_text.clone();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push('\n');
    text.push_str(&block);
    boletin::config::parse(&text, &ctx.config_path).map_err(|e| {
        eprintln!("boletin: the new source would make the config invalid: {e}");
        ExitCode::from(code::CONFIG_OR_DB)
    })?;
    if !args.dry_run {
        std::fs::write(&ctx.config_path, &text).map_err(|e| {
            eprintln!("boletin: {}: cannot write: {e}", ctx.config_path.display());
            ExitCode::from(code::CONFIG_OR_DB)
        })?;
    }
    if ctx.json {
        super::print_json(&serde_json::json!({
            "added": !args.dry_run,
            "id": id,
            "name": name,
            "url": feed.url,
            "kind": feed.kind,
            "section": section,
            "feeds": found.feeds,
        }))?;
    } else if !ctx.quiet {
        let verb = if args.dry_run { "would add" } else { "added" };
        println!(
            "{verb} source `{id}` ({}) to {}:",
            name,
            ctx.config_path.display()
        );
        print!("{block}");
        if found.feeds.len() > 1 {
            println!("# other feeds found:");
            for other in &found.feeds[1..] {
                println!("#   {}", other.url);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An id from the site's host: `www.educa-oaxaca.org` → `educa-oaxaca`.
fn default_id(found: &Discovery) -> String {
    let host = found.page.host_str().unwrap_or("source");
    let host = host.strip_prefix("www.").unwrap_or(host);
    let stem = host.rsplit_once('.').map_or(host, |(s, _)| s);
    let id = boletin::config::opml::slug(stem);
    if id.is_empty() { "source".into() } else { id }
}
