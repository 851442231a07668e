//! `boletin add URL`: find a site's feed and append it to feeds.toml as a new source,
//! keeping the file's comments and layout. Without a feed, prints a page source and a
//! scrape rule to start from. Either way the source is named after the site
//! (`discover::name`), and `--id`, `--name` and `--section` are honoured.

use std::process::ExitCode;

use boletin::ingest::discover::{self, Discovery, name};
use boletin::ingest::fetch::Fetcher;
use toml_edit::{DocumentMut, Table};
use url::Url;

use super::{Context, code, fail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The site, page or feed URL.
    url: String,
    /// The new source's id [default: from the site's name, else its host].
    #[arg(long)]
    id: Option<String>,
    /// The new source's display name [default: the feed's title].
    #[arg(long)]
    name: Option<String>,
    /// The section it goes to [default: the first [[section]] in feeds.toml].
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
    let doc: DocumentMut = config_text.parse().map_err(|e: toml_edit::TomlError| {
        eprintln!("boletin: {}: {}", ctx.config_path.display(), e.message());
        ExitCode::from(code::CONFIG_OR_DB)
    })?;
    let (mut ids, urls, _) = boletin::config::opml::existing(&doc);
    // Settled before anything is fetched: a wrong argument costs no request.
    let section = section(&config, args.section.as_deref())?;
    if let Some(id) = &args.id {
        if !boletin::config::is_id(id) {
            return Err(super::usage(&format!(
                "--id {}",
                boletin::config::id_rule(id)
            )));
        }
        // Ids that differ only by case name one source to a reader of the file.
        if let Some(taken) = ids.iter().find(|have| have.eq_ignore_ascii_case(id)) {
            return Err(super::usage(&format!(
                "a source with id `{taken}` is already in {}: choose another --id",
                ctx.config_path.display()
            )));
        }
    }
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
    let feed = found.feeds.first();
    let source_url = feed.map_or(&found.page, |f| &f.url);
    if urls.contains(source_url.as_str()) {
        eprintln!(
            "boletin: {source_url} is already in {}",
            ctx.config_path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let feed_name = feed
        .and_then(|f| f.title.as_deref())
        .and_then(name::from_feed_title);
    // The site's own name first (og:site_name, the title part naming the site), then the
    // feed's title; the id always comes from the name chosen, else from the host.
    let chosen = args
        .name
        .clone()
        .or_else(|| found.page_title.clone().filter(|t| !name::is_generic(t)))
        .or(feed_name);
    let display = chosen
        .clone()
        .unwrap_or_else(|| url.host_str().unwrap_or("source").to_string());
    let id = match &args.id {
        Some(id) => {
            ids.insert(id.clone());
            id.clone()
        }
        None => boletin::config::opml::unique_id(&default_id(chosen.as_deref(), &found), &mut ids),
    };
    let mut table = Table::new();
    table.insert("id", toml_edit::value(id.clone()));
    table.insert("name", toml_edit::value(display.clone()));
    table.insert("url", toml_edit::value(source_url.as_str()));
    if feed.is_none() {
        table.insert("kind", toml_edit::value("page"));
    }
    table.insert("section", toml_edit::value(section.clone()));
    let block = boletin::config::opml::render_tables("source", vec![table]);
    let Some(feed) = feed else {
        let rule = found.page_rule.as_deref().unwrap_or_default();
        let suggestion = format!("{block}\n{rule}");
        // The suggestion is checked as the config would read it, so what is printed can
        // be pasted as it is.
        let mut whole = config_text.clone();
        whole.push_str("\n\n");
        whole.push_str(&suggestion);
        let checked = boletin::config::parse(&whole, &ctx.config_path).err();
        if ctx.json {
            let mut out = serde_json::to_value(&found).unwrap_or_default();
            if let Some(o) = out.as_object_mut() {
                o.insert("id".into(), id.clone().into());
                o.insert("name".into(), display.clone().into());
                o.insert("section".into(), section.clone().into());
                o.insert("suggestion".into(), suggestion.clone().into());
            }
            super::print_json(&out)?;
        } else {
            eprintln!(
                "boletin: no feed found on {} (no <link rel=\"alternate\">, none of {} answered with a feed)",
                found.page,
                discover::COMMON_PATHS.join(" ")
            );
            println!("# A starting point: add this to feeds.toml and adjust the selectors,");
            println!(
                "# then check it with `boletin inspect {} --source {id}`.",
                found.page
            );
            print!("{suggestion}");
        }
        if let Some(e) = checked {
            eprintln!(
                "boletin: the suggested source needs editing before the config accepts it: {e}"
            );
        }
        return Ok(ExitCode::from(code::SOURCES_FAILED));
    };
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
            "name": display,
            "url": feed.url,
            "kind": feed.kind,
            "section": section,
            "feeds": found.feeds,
        }))?;
    } else if !ctx.quiet {
        let verb = if args.dry_run { "would add" } else { "added" };
        println!(
            "{verb} source `{id}` ({display}) to {}:",
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

/// The section asked for, which must exist, else the config's first.
fn section(config: &boletin::config::Config, asked: Option<&str>) -> Result<String, ExitCode> {
    match asked {
        Some(s) if config.sections.iter().any(|x| x.id == s) => Ok(s.to_string()),
        Some(s) => Err(super::usage(&format!(
            "unknown section `{s}` (known: {})",
            config
                .sections
                .iter()
                .map(|x| x.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        None => config
            .sections
            .first()
            .map(|s| s.id.clone())
            .ok_or_else(|| super::usage("feeds.toml has no [[section]] to add the source to")),
    }
}

/// An id from the name chosen for the source, else from the host's registered name (or
/// the page's first path segment on a bare address).
fn default_id(chosen: Option<&str>, found: &Discovery) -> String {
    chosen
        .map(name::id_from_name)
        .into_iter()
        .chain([name::id_from_url(&found.page)])
        .find(|id| !id.is_empty())
        .unwrap_or_else(|| "source".into())
}
