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
    // The DKIM key `send` signs with: said now rather than at the first message. A warning,
    // not a refusal: the config is valid, and a new one (`init`) names a key not made yet.
    if let Some(dkim) = &config.delivery.dkim
        && let Err(e) = boletin::deliver::message::dkim_config(dkim)
        && !ctx.quiet
    {
        eprintln!("boletin: warning: {e}; `send` will not start without it");
    }
    // Gmail's and Yahoo's bulk-sender rules and CAN-SPAM expect a postal address in every
    // message; a config may be checked long before it sends, so this is a warning.
    if config.delivery.smtp_url.is_some() && config.newsletter.footer.is_empty() && !ctx.quiet {
        eprintln!(
            "boletin: warning: {}: [delivery] is set but [newsletter] has no `footer`: add the organization's postal address and contact (bulk-sender rules and CAN-SPAM expect them in every message)",
            config.path.display()
        );
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
