//! `deskcliq run`: the start-up story, the signal loop (SIGHUP reload, SIGTERM/SIGINT
//! shutdown, watchdog) and the ordered shutdown.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use crate::app::App;
use crate::clock::Clock;
use crate::config::{Config, ConfigError, LoadEnv};
use crate::http::HttpError;
use crate::metrics::MetricsError;
use crate::store::StoreError;
use crate::systemd;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error("cannot install the {signal} handler: {source}")]
    Signal {
        signal: &'static str,
        source: std::io::Error,
    },
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    #[error("Zoho clients: {0}")]
    Zoho(String),
    #[error(
        "the store at {0} failed on a disk error, which sled does not recover from in place: \
         the disk has room again, so deskcliq exits for systemd to start it again on the store"
    )]
    StoreNeedsReopen(PathBuf),
}

/// How often a store broken by a disk error is checked for room to write again.
const REOPEN_CHECK: Duration = Duration::from_secs(2);

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(config_path: &Path) -> Result<(), DaemonError> {
    let env = LoadEnv::from_process();
    let config = Config::load(config_path, &env)?;
    for w in &config.warnings {
        tracing::warn!(key = %w.key, "{}", w.message);
    }
    let system = actix::System::new();
    let result = system.block_on(serve(config_path.to_path_buf(), env, config));
    actix::System::current().stop();
    result
}

struct Signals {
    hup: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

fn install_signals() -> Result<Signals, DaemonError> {
    let make = |kind, name| {
        signal(kind).map_err(|source| DaemonError::Signal {
            signal: name,
            source,
        })
    };
    Ok(Signals {
        hup: make(SignalKind::hangup(), "SIGHUP")?,
        term: make(SignalKind::terminate(), "SIGTERM")?,
        int: make(SignalKind::interrupt(), "SIGINT")?,
    })
}

async fn serve(path: PathBuf, env: LoadEnv, config: Config) -> Result<(), DaemonError> {
    // Handlers first: SIGHUP's default action would kill us.
    let mut signals = install_signals()?;
    let mut app = App::start(config, Clock::system()).await?;
    let listening = app
        .addrs
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    tracing::info!(listen = %listening, departments = app.supervisor().department_ids().len(), "deskcliq ready");
    let status = format!("listening on {listening}");
    systemd::ready(&status);

    let mut watchdog = systemd::watchdog_interval().map(tokio::time::interval);
    let mut reopen_check = tokio::time::interval(REOPEN_CHECK);
    let reason = loop {
        tokio::select! {
            _ = signals.hup.recv() => {
                reload(&path, &env, &mut app);
                systemd::ready(&status);
            }
            _ = signals.term.recv() => break "SIGTERM",
            _ = signals.int.recv() => break "SIGINT",
            // Webhooks are answered 503 while the disk is full; once it has room, only a new
            // process gets a working store (systemd's Restart=on-failure starts it).
            _ = reopen_check.tick() => {
                if app.store.needs_reopen() && app.store.has_room() {
                    break "store";
                }
            }
            _ = tick(&mut watchdog) => {
                if app.responsive(Duration::from_secs(1)).await {
                    systemd::watchdog();
                } else {
                    tracing::error!("actors unresponsive: withholding the watchdog ping");
                }
            }
        }
    };

    tracing::info!(signal = reason, "shutting down");
    systemd::stopping();
    if reason == "store" {
        let path = app.store.path().to_path_buf();
        // The final flush fails like every write since the disk error: nothing is lost by it,
        // as nothing was acknowledged or sent without a flush that succeeded.
        if let Err(e) = app.stop().await {
            tracing::warn!(error = %e, "stopping with a broken store");
        }
        return Err(DaemonError::StoreNeedsReopen(path));
    }
    app.stop().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn tick(watchdog: &mut Option<tokio::time::Interval>) {
    match watchdog {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// SIGHUP: validate the whole file, and only then apply it.
fn reload(path: &Path, env: &LoadEnv, app: &mut App) {
    systemd::reloading();
    match Config::load(path, env) {
        Ok(new) => {
            let old = app.config();
            for key in restart_only_changes(&old, &new) {
                tracing::warn!(key, "changed: takes effect at the next restart");
            }
            for w in &new.warnings {
                tracing::warn!(key = %w.key, "{}", w.message);
            }
            let report = app.apply(new);
            tracing::info!(
                started = ?report.started,
                retired = ?report.retired,
                rerouted = ?report.rerouted,
                "config reloaded"
            );
        }
        Err(e) => {
            app.metrics.config_rejected();
            for issue in e.issues() {
                tracing::error!(key = %issue.key, "{}", issue.message);
            }
            tracing::error!(path = %path.display(), "config reload rejected; the previous config stays in force");
        }
    }
}

/// The keys a reload cannot apply, because they are read once at start (the listener, the
/// store, the Zoho clients and their grant) and `new` changes: each is logged, so an admin
/// who rotated a credential knows it needs a restart.
fn restart_only_changes(old: &Config, new: &Config) -> Vec<&'static str> {
    let (o, n) = (&old.zoho, &new.zoho);
    [
        ("server.listen", old.server.listen != new.server.listen),
        ("storage.path", old.storage.path != new.storage.path),
        ("zoho.data_center", o.data_center != n.data_center),
        ("zoho.accounts_url", o.urls.accounts != n.urls.accounts),
        ("zoho.desk_url", o.urls.desk != n.urls.desk),
        ("zoho.cliq_url", o.urls.cliq != n.urls.cliq),
        ("zoho.jwks_url", o.urls.jwks != n.urls.jwks),
        ("zoho.client_id", o.client_id != n.client_id),
        (
            "zoho.client_secret",
            o.client_secret.expose() != n.client_secret.expose(),
        ),
        (
            "zoho.refresh_token",
            o.refresh_token.expose() != n.refresh_token.expose(),
        ),
        ("desk.org_id", old.desk.org_id != new.desk.org_id),
        ("cliq.bot", old.cliq.bot != new.cliq.bot),
        (
            "limits.desk_concurrency",
            old.limits.desk_concurrency != new.limits.desk_concurrency,
        ),
    ]
    .into_iter()
    .filter_map(|(key, changed)| changed.then_some(key))
    .collect()
}
