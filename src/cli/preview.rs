//! `boletin preview`: serves an edition on 127.0.0.1 (the server is `web::preview`), one
//! tab per language as each language's readers receive it, re-rendering it whenever the
//! edition file, the config or a template changes.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use boletin::edition::Edition;
use boletin::lang::Lang;
use boletin::web::preview::{self, PreviewSettings};

use super::{Context, Runtime, code, fail, runtime};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The edition file to show.
    edition: PathBuf,
    /// Port on 127.0.0.1 (0 = any free port; the address is printed).
    #[arg(long, default_value_t = 8047)]
    port: u16,
    /// The language tab shown first, and the archive page's language [default: the
    /// edition's first].
    #[arg(long, value_parser = ["es", "en"])]
    lang: Option<String>,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitCode, ExitCode> {
    // Fail early on what the editor cannot fix from the browser.
    let config = ctx.load_config()?;
    Edition::load(&args.edition).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let (listener, addr) = preview::bind(args.port).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    println!(
        "Previewing {} at http://{addr}/ (a tab per language; text: /text, archive page: /archive). Ctrl-C to stop.",
        args.edition.display()
    );
    let _ = std::io::stdout().flush();
    let settings = PreviewSettings {
        config_path: ctx.config_path.clone(),
        db: ctx.db_path(),
        edition: args.edition,
        lang: args.lang.as_deref().and_then(Lang::from_code),
        templates: config.newsletter.templates.clone(),
    };
    let runtime = runtime(Runtime::OneThread).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    runtime
        .block_on(preview::run(
            listener,
            settings,
            super::serve::stop_signal(),
        ))
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    Ok(ExitCode::SUCCESS)
}
