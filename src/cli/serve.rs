//! `boletin serve`: one-click unsubscribe and the web archive, behind an HTTPS proxy.

use std::process::ExitCode;

use boletin::deliver::token::Secret;
use boletin::lang::Lang;
use boletin::web::serve::{self, ServeConfig};

use super::{Context, Runtime, code, fail, runtime};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Database connections: unsubscribe requests handled at once (the archive and
    /// waiting clients need none).
    #[arg(long, default_value_t = 4)]
    threads: usize,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitCode, ExitCode> {
    let config = ctx.load_config()?;
    let secret = Secret::resolve(
        std::env::var("BOLETIN_SECRET").ok(),
        config.delivery.secret.as_ref(),
    )
    .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let unsubscribe_path = config
        .delivery
        .unsubscribe_url
        .as_ref()
        .map_or_else(|| "/unsubscribe".to_string(), |u| u.path().to_string());
    let cfg = ServeConfig {
        db: ctx.db_path(),
        archive_dir: config.delivery.archive_dir.clone(),
        secret,
        unsubscribe_path,
        default_lang: config
            .newsletter
            .languages
            .first()
            .copied()
            .unwrap_or(Lang::Es),
        title: config.newsletter.title.clone(),
    };
    let bound = serve::bind(&args.listen).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let addr = bound.local_addr();
    if ctx.json {
        super::print_json(&serde_json::json!({ "listening": format!("http://{addr}") }))?;
    } else if !ctx.quiet {
        println!(
            "listening on http://{addr} (unsubscribe at {}, archive from {})",
            cfg.unsubscribe_path,
            cfg.archive_dir.display()
        );
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // One thread carries every connection; database and file work go to the blocking pool.
    let runtime = runtime(Runtime::OneThread).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    runtime
        .block_on(serve::run(bound, cfg, args.threads, stop_signal()))
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    Ok(ExitCode::SUCCESS)
}

/// Completes on Ctrl-C or SIGTERM: the servers then finish the requests in flight and exit 0,
/// as a service manager expects of a clean stop.
pub(super) async fn stop_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    let interrupt = async {
        // Without a handler, the default (end the process) still applies.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = term => {}
        () = interrupt => {}
    }
}
