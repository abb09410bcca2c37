//! The daemon's parts put together: store, Zoho clients, actor tree, notification pipeline and
//! HTTP listener. `deskcliq run` drives it from signals; `deskcliq demo` and the in-process
//! tests drive it directly.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::actors::{ApplyReport, Shared, Supervisor, ZohoClients};
use crate::clock::Clock;
use crate::config::Config;
use crate::daemon::DaemonError;
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::pipeline::{Directory, Router};
use crate::store::Store;

/// How often the agent directory is refreshed from Desk (and on `Agent_*` events).
const AGENTS_EVERY: Duration = Duration::from_secs(3600);
/// How often delivered keys and seen events older than 7 days are forgotten.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// The first prune after start: soon, so that a daemon restarted more often than
/// [`PRUNE_EVERY`] still prunes.
const FIRST_PRUNE: Duration = Duration::from_secs(300);

pub struct App {
    pub addrs: Vec<SocketAddr>,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub clock: Clock,
    pub router: Arc<Router>,
    supervisor: Supervisor,
    config_tx: watch::Sender<Arc<Config>>,
    server: actix_web::dev::ServerHandle,
    server_task: actix_rt::task::JoinHandle<std::io::Result<()>>,
    stop_tx: watch::Sender<bool>,
    tasks: Vec<actix_rt::task::JoinHandle<()>>,
    ready: Arc<AtomicBool>,
    webhook_id: Arc<RwLock<Option<String>>>,
}

impl App {
    /// Starts everything on `config` (inside an actix System).
    pub async fn start(config: Config, clock: Clock) -> Result<App, DaemonError> {
        let metrics = Arc::new(Metrics::new()?);
        let store = Store::open(&config.storage.path)?;
        metrics
            .store_schema_version
            .set(i64::from(store.schema_version()?));
        metrics.config_applied(&config);
        tracing::info!(store = %store.path().display(), "store open");
        // A new store logs every create and close from now on.
        crate::stats::covered_from(&store, clock.now(), false)?;
        // Down for more than a minute: creates and closes of that time may be missing from the
        // log, so figures of windows before now come from Desk.
        let meta =
            store.tree::<String, chrono::DateTime<chrono::Utc>>(crate::store::TreeName::Meta);
        let down_long = match meta.get(&crate::actors::digest::ALIVE_KEY.to_string()) {
            Ok(alive) => alive.is_some_and(|t| clock.now() - t > chrono::Duration::minutes(1)),
            // Unreadable: how long deskcliq was down is unknown, so the log may have a gap
            // (the record is written anew while running). Not a reason to refuse to start.
            Err(e @ crate::store::StoreError::Corrupt { .. }) => {
                meta.set_aside(&e);
                true
            }
            Err(e) => return Err(e.into()),
        };
        if down_long {
            crate::stats::covered_from(&store, clock.now(), true)?;
        }

        let tokens = Arc::new(
            crate::oauth::service_tokens(&config, store.clone(), clock.clone(), metrics.clone())
                .map_err(|e| DaemonError::Zoho(e.to_string()))?,
        );
        let zoho = ZohoClients {
            desk: crate::desk::DeskClient::new(
                &config.zoho.urls.desk,
                &config.desk.org_id,
                config.limits.desk_concurrency,
                tokens.clone(),
                metrics.clone(),
                store.clone(),
                clock.clone(),
            ),
            cliq: crate::cliq::CliqClient::new(
                &config.zoho.urls.cliq,
                &config.cliq.bot,
                tokens,
                metrics.clone(),
            ),
        };
        let shared = Shared {
            store: store.clone(),
            metrics: metrics.clone(),
            clock: clock.clone(),
            zoho: Some(zoho),
        };
        let config = Arc::new(config);
        let (config_tx, config_rx) = watch::channel(config.clone());
        let supervisor = Supervisor::start(shared.clone(), config.clone());
        let (stop_tx, stop_rx) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let agents_stale = Arc::new(Notify::new());
        let directory = Directory::load(&shared);
        let ingest_in_flight = Arc::new(AtomicUsize::new(0));
        let router = Arc::new(Router {
            ingest_in_flight: ingest_in_flight.clone(),
            shared: shared.clone(),
            config: config_rx.clone(),
            routes: supervisor.routes(),
            directory: directory.clone(),
            wake: wake.clone(),
            agents_stale: agents_stale.clone(),
        });
        supervisor
            .deadline()
            .do_send(crate::actors::Attach(router.clone()));
        supervisor
            .digest()
            .do_send(crate::actors::Attach(router.clone()));
        let webhook_id = Arc::new(RwLock::new(config.desk.webhook_id.clone()));

        let linker = Arc::new(crate::link::Linker::new(
            shared.clone(),
            config_rx.clone(),
            directory.clone(),
        ));
        let commands = Arc::new(crate::commands::Service::new(router.clone(), linker));
        let mut tasks = Vec::new();
        {
            let (shared, directory, stale, mut stop, config) = (
                shared.clone(),
                directory.clone(),
                agents_stale.clone(),
                stop_rx.clone(),
                config_rx.clone(),
            );
            tasks.push(actix_rt::spawn(async move {
                loop {
                    let cliq_org = config.borrow().cliq.org_id.clone();
                    if let Err(e) = directory.refresh(&shared, &cliq_org).await {
                        tracing::warn!(error = %e, "cannot refresh the agent directory");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(AGENTS_EVERY) => {}
                        _ = stale.notified() => {}
                        _ = stop.changed() => return,
                    }
                }
            }));
        }
        {
            let (router, stop) = (router.clone(), stop_rx.clone());
            tasks.push(actix_rt::spawn(async move {
                Router::run_shared(router, stop).await;
            }));
        }
        tasks.push(actix_rt::spawn(crate::pipeline::poll_ratings(
            router.clone(),
            stop_rx.clone(),
        )));
        tasks.push(actix_rt::spawn(crate::reconcile::run(
            router.clone(),
            webhook_id.clone(),
            stop_rx.clone(),
        )));
        {
            let (shared, commands, mut stop) = (shared.clone(), commands.clone(), stop_rx.clone());
            tasks.push(actix_rt::spawn(async move {
                let mut wait = FIRST_PRUNE;
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => return,
                    }
                    wait = PRUNE_EVERY;
                    if let Err(e) = commands.prune() {
                        tracing::warn!(error = %e, "cannot prune command answers");
                    }
                    if let Err(e) = commands.linker().prune() {
                        tracing::warn!(error = %e, "cannot prune Connect links");
                    }
                    if let Err(e) =
                        crate::commands::actions::prune(&shared.store, shared.clock.now())
                    {
                        tracing::warn!(error = %e, "cannot prune quick-action records");
                    }
                    match crate::actors::outbox::prune(&shared.store, shared.clock.now()) {
                        Ok(n) if n > 0 => tracing::info!(
                            forgotten = n,
                            "pruned delivered keys and seen events older than 7 days"
                        ),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "prune failed"),
                    }
                }
            }));
        }

        let ready = Arc::new(AtomicBool::new(false));
        let state = AppState {
            metrics: metrics.clone(),
            store: store.clone(),
            config: config_rx,
            ready: ready.clone(),
            clock: clock.clone(),
            desk_org_id: config.desk.org_id.clone(),
            jwks: Arc::new(crate::jwks::JwksCache::new(&config.zoho.urls.jwks)),
            webhook_id: webhook_id.clone(),
            webhook_lookup: Arc::new(crate::pipeline::WebhookIdLookup::new(shared.clone())),
            wake,
            commands: commands.clone(),
            ingest_in_flight,
        };
        let (server, addrs) = http::bind(config.server.listen, state)?;
        let handle = server.handle();
        let server_task = actix_rt::spawn(server);
        ready.store(true, Ordering::SeqCst);
        Ok(App {
            addrs,
            store,
            metrics,
            clock,
            router,
            supervisor,
            config_tx,
            server: handle,
            server_task,
            stop_tx,
            tasks,
            ready,
            webhook_id,
        })
    }

    pub fn config(&self) -> Arc<Config> {
        self.supervisor.config().clone()
    }

    pub fn supervisor(&self) -> &Supervisor {
        &self.supervisor
    }

    /// Applies an already validated config.
    pub fn apply(&mut self, config: Config) -> ApplyReport {
        let config = Arc::new(config);
        if let Some(id) = &config.desk.webhook_id {
            *self.webhook_id.write().unwrap_or_else(|p| p.into_inner()) = Some(id.clone());
        }
        let report = self.supervisor.apply(config.clone());
        self.metrics.config_applied(&config);
        self.config_tx.send_replace(config);
        report
    }

    pub async fn responsive(&self, within: Duration) -> bool {
        self.supervisor.responsive(within).await
    }

    /// Stops in order: HTTP (requests in flight finish: their events are stored before the
    /// 200), the pipeline, the actors, then a final flush.
    pub async fn stop(self) -> Result<(), DaemonError> {
        self.ready.store(false, Ordering::SeqCst);
        self.server.stop(true).await;
        let _ = self.server_task.await;
        let _ = self.stop_tx.send(true);
        // One 5-second budget for all of them, not one each: the whole stop stays well inside
        // the unit's TimeoutStopSec (HTTP 5 s, tasks 5 s, actors 5 s, the flush).
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            futures_util::future::join_all(self.tasks),
        )
        .await;
        self.supervisor.shutdown(Duration::from_secs(5)).await;
        self.store.flush().await?;
        Ok(())
    }
}
