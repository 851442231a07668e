//! `boletin check`: validate the config without touching anything else.

use std::process::ExitCode;

use boletin::config::SourceKind;

use super::Context;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(ctx: &Context, _args: Args) -> Result<ExitCode, ExitCode> {
    let config = ctx.load_config()?;
    // The editor's gazetteer, if any, must parse too.
    boletin::annotate::Annotator::from_config(&config)
        .map_err(|e| super::fail(super::code::CONFIG_OR_DB, &e))?;
    // And the DKIM key `send` signs with, rather than at its first message.
    if let Some(dkim) = &config.delivery.dkim {
        boletin::deliver::message::dkim_config(dkim)
            .map_err(|e| super::fail(super::code::CONFIG_OR_DB, &e))?;
    }
    let pages = config
        .sources
        .iter()
        .filter(|s| matches!(s.kind, SourceKind::Page(_)))
        .count();
    if ctx.json {
        super::print_json(&serde_json::json!({
            "config": config.path,
            "sources": config.sources.len(),
            "pages": pages,
            "sections": config.sections.len(),
        }))?;
    } else if !ctx.quiet {
        println!(
            "{}: ok ({} sources, {} of them pages; {} sections)",
            config.path.display(),
            config.sources.len(),
            pages,
            config.sections.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
