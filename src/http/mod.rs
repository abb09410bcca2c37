//! The one HTTP listener (actix-web). This module holds the operational endpoints
//! (`/healthz`, `/readyz`, `/metrics`); the webhook, Cliq and OAuth routes hang off the
//! same app.

pub mod desk_webhook;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use actix_web::{App, HttpResponse, HttpServer, dev::Server, web};
use tokio::sync::watch;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::Store;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub metrics: Arc<Metrics>,
    pub store: Store,
    /// The config in force; replaced on every successful reload.
    pub config: watch::Receiver<Arc<Config>>,
    /// False until start-up has finished and again once shutdown begins.
    pub ready: Arc<AtomicBool>,
    /// False after a write to the store failed (disk full): readiness says so.
    pub store_healthy: Arc<AtomicBool>,
    pub clock: crate::clock::Clock,
    /// Desk's signing keys.
    pub jwks: Arc<crate::jwks::JwksCache>,
    /// The webhook's id, the JWT audience, once known (config or learned from Desk).
    pub webhook_id: Arc<RwLock<Option<String>>>,
    /// Wakes the router after events were stored.
    pub wake: Arc<tokio::sync::Notify>,
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Binds `listen` and returns the server (not yet polled) with the bound addresses.
pub fn bind(listen: SocketAddr, state: AppState) -> Result<(Server, Vec<SocketAddr>), HttpError> {
    let data = web::Data::new(state);
    let server = HttpServer::new(move || App::new().app_data(data.clone()).configure(routes))
        .workers(2)
        // Shutdown is ours: stop HTTP, drain the actors, flush the store (STYLE.md).
        .disable_signals()
        .shutdown_timeout(5)
        .bind(listen)
        .map_err(|source| HttpError::Bind {
            addr: listen,
            source,
        })?;
    let addrs = server.addrs();
    Ok((server.run(), addrs))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route(
            "/webhooks/desk/{token}",
            web::get().to(desk_webhook::handle),
        )
        .route(
            "/webhooks/desk/{token}",
            web::post().to(desk_webhook::handle),
        );
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if !state.ready.load(Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("not ready: starting or stopping\n");
    }
    match state.store.probe().await {
        Ok(()) => HttpResponse::Ok()
            .content_type("text/plain")
            .body("ready\n"),
        Err(e) => {
            tracing::error!(error = %e, "readiness probe: store unusable");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body(format!("not ready: store unusable: {e}\n"))
        }
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let m = &state.metrics;
    m.store_size_bytes
        .set(i64::try_from(state.store.size_on_disk()).unwrap_or(i64::MAX));
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(m.render())
}
