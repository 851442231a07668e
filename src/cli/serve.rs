//! `boletin serve`: one-click unsubscribe, the signup form and the web archive, behind an
//! HTTPS proxy.

use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;

use boletin::config::Config;
use boletin::deliver::confirm::Confirmations;
use boletin::deliver::token::Secret;
use boletin::lang::Lang;
use boletin::publish::links;
use boletin::web::serve::{self, ServeConfig};
use boletin::web::subscribe::{SIGNUPS_PER_HOUR, SignupConfig};

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
    /// The address of a reverse proxy in front of serve (repeat it, or list them with
    /// commas): only from these does X-Forwarded-For name the client, for the signup
    /// form's limits per client.
    #[arg(
        long = "trust-proxy",
        value_name = "IP",
        env = "BOLETIN_TRUST_PROXY",
        value_delimiter = ','
    )]
    trust_proxy: Vec<IpAddr>,
    /// Signup confirmations mailed per hour at most, across all addresses; beyond it the
    /// form asks readers to retry in a few minutes (and the log says so).
    #[arg(long, value_name = "N", default_value_t = SIGNUPS_PER_HOUR, value_parser = clap::value_parser!(u32).range(1..))]
    signups_per_hour: u32,
}

/// The signup form, when mail can be sent and `serve`'s public address is known (the
/// unsubscribe URL's folder: the form is `subscribe` beside it).
fn signup(
    config: &Config,
    secret: &Secret,
    per_hour: u32,
) -> Result<Option<SignupConfig>, ExitCode> {
    let (Some(_), Some(unsubscribe)) =
        (&config.delivery.smtp_url, &config.delivery.unsubscribe_url)
    else {
        return Ok(None);
    };
    let join = |rel: &str| {
        unsubscribe.join(rel).map_err(|e| {
            super::usage(&format!(
                "[delivery] unsubscribe_url {unsubscribe}: no `{rel}` beside it: {e}"
            ))
        })
    };
    let (form, confirm) = (join("subscribe")?, join("subscribe/confirm")?);
    let target = super::send::target(config)?;
    let dkim = super::send::dkim(config)?;
    let mail = Confirmations::new(config, secret.clone(), target, dkim, confirm)
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    Ok(Some(SignupConfig {
        mail: Arc::new(mail),
        path: form.path().to_string(),
        languages: config.newsletter.languages.clone(),
        description: config.newsletter.description.clone(),
        contact: links::unsubscribe_address(config),
        per_hour,
    }))
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
    let signup = signup(&config, &secret, args.signups_per_hour)?;
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
        signup,
        trusted_proxies: args
            .trust_proxy
            .iter()
            .map(|ip| ip.to_canonical())
            .collect(),
    };
    let bound = serve::bind(&args.listen).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let addr = bound.local_addr();
    let signup_path = cfg.signup.as_ref().map(|s| s.path.clone());
    if ctx.json {
        super::print_json(&serde_json::json!({
            "listening": format!("http://{addr}"),
            "signup": signup_path,
        }))?;
    } else if !ctx.quiet {
        println!(
            "listening on http://{addr} (unsubscribe at {}, signup {}, archive from {})",
            cfg.unsubscribe_path,
            signup_path.map_or_else(
                || "off: it needs [delivery] smtp_url and unsubscribe_url".to_string(),
                |p| format!("at {p}")
            ),
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
