//! `boletin init [DIR]`: a commented starting `feeds.toml` (that `check` accepts) and the
//! `editions/` folder drafts go to; never overwrites an existing config.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{Context, code};

/// The starting config: every section of the file shown once, sending commented out.
const FEEDS_TOML: &str = include_str!("init_feeds.toml");

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to set up (created if missing) [default: the current folder].
    dir: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitCode, ExitCode> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let config = dir.join("feeds.toml");
    let editions = dir.join("editions");
    let failed = |path: &Path, e: std::io::Error| {
        eprintln!("boletin: cannot write {}: {e}", path.display());
        ExitCode::from(code::CONFIG_OR_DB)
    };
    std::fs::create_dir_all(&dir).map_err(|e| failed(&dir, e))?;
    // `create_new`: an existing config (the editor's sources, maybe years of them) is never
    // touched, even by a second `init` racing this one.
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&config)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "boletin: {} exists; nothing written (edit it, or `boletin add URL` to add a source)",
                config.display()
            );
            return Err(ExitCode::from(code::CONFIG_OR_DB));
        }
        Err(e) => return Err(failed(&config, e)),
    };
    file.write_all(FEEDS_TOML.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| failed(&config, e))?;
    std::fs::create_dir_all(&editions).map_err(|e| failed(&editions, e))?;

    let mut next: Vec<(String, &str)> = Vec::new();
    if dir != Path::new(".") {
        next.push((format!("cd {}", dir.display()), ""));
    }
    next.extend([
        (
            "boletin add https://partner.example.org/".to_string(),
            "a partner's site: finds its feed, appends it",
        ),
        ("boletin fetch".to_string(), "then every hour from cron"),
        (
            "boletin draft".to_string(),
            "this week's edition file, to edit",
        ),
    ]);
    if ctx.json {
        let commands: Vec<&str> = next.iter().map(|(c, _)| c.as_str()).collect();
        super::print_json(&serde_json::json!({
            "config": config,
            "editions": editions,
            "next": commands,
        }))?;
    } else if !ctx.quiet {
        println!(
            "wrote {} and {}/; sending is commented out until you set it up",
            config.display(),
            editions.display()
        );
        println!("replace its two example sources with your partners', then:");
        for (command, why) in &next {
            if why.is_empty() {
                println!("  {command}");
            } else {
                println!("  {command:<42} # {why}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
