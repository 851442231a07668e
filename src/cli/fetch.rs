//! `boletin fetch`: the cron job.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use boletin::ingest::report::Status;
use boletin::ingest::run::{self, FetchOptions};
use boletin::store::Store;
use indicatif::{ProgressBar, ProgressStyle};

use super::{Context, code, fail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Fetch even sources that are backing off, asked not to be polled yet, or gone.
    #[arg(long)]
    force: bool,
    /// Only this source (repeatable).
    #[arg(long = "source", value_name = "ID")]
    sources: Vec<String>,
    /// Pin the clock (RFC 3339 or YYYY-MM-DD): backoff, Retry-After and freshness are
    /// counted from it and it is stored as the attempt time. For tests and replaying.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
}

pub fn run(ctx: &Context, args: Args) -> Result<ExitCode, ExitCode> {
    let now = super::pinned_now(args.now.as_deref())?;
    let config = ctx.load_config()?;
    for id in &args.sources {
        if config.source(id).is_none() {
            return Err(super::usage(&format!(
                "{}: no source with id `{id}`",
                ctx.config_path.display()
            )));
        }
    }
    // A broken gazetteer stops the run before anything is fetched.
    let annotator = boletin::annotate::Annotator::from_config(&config)
        .map(Arc::new)
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let db = ctx.db_path();
    let _lock = super::lock(&db)?;
    let mut store = Store::open(&db).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    let runtime =
        super::runtime(super::Runtime::FanOut).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;

    let cancel = Arc::new(AtomicBool::new(false));
    let options = FetchOptions {
        force: args.force,
        only: args.sources,
        cancel: cancel.clone(),
        now,
        annotator: Some(annotator.clone()),
    };
    let selected = if options.only.is_empty() {
        config.sources.len()
    } else {
        options.only.len()
    };
    let bar = ctx.interactive().then(|| {
        let bar = ProgressBar::new(selected as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let mut announced = std::collections::HashSet::new();
    watch_signals_in_background(cancel.clone());
    let result = runtime.block_on(async {
        let mut on_source = |r: &boletin::ingest::report::SourceReport| {
            if let Some(bar) = &bar {
                bar.inc(1);
                bar.set_message(r.id.clone());
                if matches!(r.status, Status::Failed | Status::Gone) {
                    announced.insert(r.id.clone());
                    bar.println(super::one_line(&format!(
                        "{}: {}",
                        r.id,
                        r.error.as_deref().unwrap_or("failed")
                    )));
                }
            }
        };
        run::fetch_sources(&config, &mut store, &options, &mut on_source).await
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    runtime.shutdown_background();
    let mut report = result.map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    // Language, tags, excerpts, search and cross-partner duplicates for what was stored;
    // Ctrl-C stops this too (a first fetch of thousands of feeds gives it tens of thousands
    // of items).
    let spinner = ctx.interactive().then(|| {
        let spinner = ProgressBar::new_spinner();
        spinner.set_message("annotating new items");
        spinner
    });
    let started = std::time::Instant::now();
    let annotated = annotator
        .run_with(&mut store, &cancel, &mut |done| {
            if let Some(s) = &spinner {
                s.set_message(format!("annotated {done} items"));
                s.tick();
            }
        })
        .map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
    if let Some(s) = &spinner {
        s.finish_and_clear();
    }
    report.interrupted |= annotated.stopped;
    let fetch_ms = report.ms;
    let annotate_ms = started.elapsed().as_millis() as u64;
    let annotate_cpu_ms = annotator.cpu().as_millis() as u64;
    report.ms += annotate_ms;

    if ctx.json {
        // Where the run's time went, beside the report (benches/fetch.rs reads it).
        let mut value = serde_json::to_value(&report).map_err(|e| fail(code::CONFIG_OR_DB, &e))?;
        value["annotation"] = serde_json::json!({
            "fetch_ms": fetch_ms,
            "ms": annotate_ms,
            "cpu_ms": annotate_cpu_ms,
            "annotated": report.annotated + annotated.annotated,
            "copies": annotated.duplicates,
            "max_candidates": annotated.max_candidates,
        });
        super::print_json(&value)?;
    } else if bar.is_some() {
        // On a terminal: failures were printed above the bar as they happened.
        for s in &report.sources {
            if s.status == Status::Gone && !announced.contains(&s.id) {
                eprintln!("{}: gone (410); not fetched until --force", s.id);
            }
            if let Some(new_url) = &s.moved_to {
                eprintln!(
                    "{}: moved permanently; put url = \"{new_url}\" in {}",
                    s.id,
                    ctx.config_path.display()
                );
            }
        }
        println!("{}", report.summary());
    } else if !ctx.quiet {
        // Under cron: one line, naming the sources that need a look.
        println!("{}{}", report.summary(), report.attention());
    }
    let exit = if report.interrupted {
        code::INTERRUPTED
    } else if report.failures() > 0 {
        code::SOURCES_FAILED
    } else {
        code::OK
    };
    Ok(ExitCode::from(exit))
}

/// Watches for signals on a thread of its own for the whole command, fetching and annotating
/// (the fetch runtime is shut down before annotation to give its memory back).
fn watch_signals_in_background(cancel: Arc<AtomicBool>) {
    let Ok(runtime) = super::runtime(super::Runtime::OneThread) else {
        return;
    };
    std::thread::spawn(move || runtime.block_on(watch_signals(cancel)));
}

/// First Ctrl-C or SIGTERM: start no more requests, store what was fetched. Second: leave now
/// (the store is transactional, so nothing is left half-written).
async fn watch_signals(cancel: Arc<AtomicBool>) {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    loop {
        #[cfg(unix)]
        let got = match term.as_mut() {
            Some(t) => {
                tokio::select! { r = tokio::signal::ctrl_c() => r.is_ok(), s = t.recv() => s.is_some() }
            }
            None => tokio::signal::ctrl_c().await.is_ok(),
        };
        #[cfg(not(unix))]
        let got = tokio::signal::ctrl_c().await.is_ok();
        if !got {
            return;
        }
        if cancel.swap(true, Ordering::SeqCst) {
            eprintln!("boletin: interrupted again; exiting now");
            std::process::exit(i32::from(code::INTERRUPTED));
        }
        eprintln!(
            "boletin: interrupted; finishing requests in flight (press Ctrl-C again to quit now)"
        );
    }
}
