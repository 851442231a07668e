//! `boletin opml import FILE` and `boletin opml export`: sources in and out as OPML 2.0.

use std::process::ExitCode;

use super::{Context, code};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: OpmlCommand,
}

#[derive(Debug, clap::Subcommand)]
enum OpmlCommand {
    /// Append the sources of an OPML file to feeds.toml (existing URLs are skipped).
    Import {
        /// The OPML file (from another feed reader or `boletin opml export`).
        file: std::path::PathBuf,
        /// Put every imported source in this section instead of one per OPML folder.
        #[arg(long)]
        section: Option<String>,
        /// Show what would be added without writing feeds.toml.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print every source of feeds.toml as OPML 2.0 on stdout.
    Export,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitCode, ExitCode> {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|e| {
            eprintln!("boletin: {}: cannot read: {e}", path.display());
            ExitCode::from(code::CONFIG_OR_DB)
        })
    };
    match args.command {
        OpmlCommand::Export => {
            let text = read(&ctx.config_path)?;
            let opml = boletin::config::opml::export(&text).map_err(|e| {
                eprintln!("boletin: {}: {e}", ctx.config_path.display());
                ExitCode::from(code::CONFIG_OR_DB)
            })?;
            print!("{opml}");
            Ok(ExitCode::SUCCESS)
        }
        OpmlCommand::Import {
            file,
            section,
            dry_run,
        } => {
            let config_text = read(&ctx.config_path)?;
            let opml = read(&file)?;
            let (text, report) =
                boletin::config::opml::import(&config_text, &opml, section.as_deref()).map_err(
                    |e| {
                        eprintln!("boletin: {}: {e}", file.display());
                        ExitCode::from(code::CONFIG_OR_DB)
                    },
                )?;
            // Never write a config that would not load.
            boletin::config::parse(&text, &ctx.config_path).map_err(|e| {
                eprintln!("boletin: the imported sources would make the config invalid: {e}");
                ExitCode::from(code::CONFIG_OR_DB)
            })?;
            if !dry_run && text != config_text {
                std::fs::write(&ctx.config_path, &text).map_err(|e| {
                    eprintln!("boletin: {}: cannot write: {e}", ctx.config_path.display());
                    ExitCode::from(code::CONFIG_OR_DB)
                })?;
            }
            if ctx.json {
                super::print_json(&report)?;
            } else if !ctx.quiet {
                let verb = if dry_run { "would add" } else { "added" };
                println!(
                    "{verb} {} sources{}{}",
                    report.added.len(),
                    if report.sections_added.is_empty() {
                        String::new()
                    } else {
                        format!(" and sections {}", report.sections_added.join(", "))
                    },
                    if report.skipped.is_empty() {
                        String::new()
                    } else {
                        format!("; skipped {} already in the config", report.skipped.len())
                    }
                );
                for id in &report.added {
                    println!("  + {id}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
