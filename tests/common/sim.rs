//! The Zoho clients wired to a running simulator, in-process.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use deskcliq::cliq::CliqClient;
use deskcliq::clock::Clock;
use deskcliq::config::{Secret, SecretSource};
use deskcliq::desk::DeskClient;
use deskcliq::metrics::Metrics;
use deskcliq::oauth::{OAuthClient, TokenManager};
use deskcliq::sim::{self, Simulator};
use deskcliq::store::Store;

pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 1, 0, 0).unwrap()
}

pub struct Zoho {
    pub sim: Simulator,
    pub clock: Clock,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub tokens: Arc<TokenManager>,
    pub dir: tempfile::TempDir,
}

pub fn secret(s: &str) -> Secret {
    Secret::new(s.as_bytes().to_vec(), SecretSource::Inline)
}

pub fn oauth(sim: &Simulator) -> OAuthClient {
    oauth_at(&sim.base_url())
}

/// The client of an accounts server at `url`, with the simulator's client id and secret.
pub fn oauth_at(url: &str) -> OAuthClient {
    OAuthClient::new(
        deskcliq::zoho_http::client(),
        url,
        sim::CLIENT_ID,
        secret(sim::CLIENT_SECRET),
    )
}

pub fn token_manager(
    sim: &Simulator,
    store: &Store,
    clock: &Clock,
    metrics: &Arc<Metrics>,
) -> TokenManager {
    TokenManager::new(
        oauth(sim),
        "service",
        secret(sim::SERVICE_REFRESH_TOKEN),
        store.clone(),
        clock.clone(),
        metrics.clone(),
    )
    .expect("token manager")
}

impl Zoho {
    pub async fn start() -> Zoho {
        let clock = Clock::manual(start_time());
        let sim = Simulator::start(clock.clone()).await.expect("simulator");
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("state")).expect("store");
        let metrics = Arc::new(Metrics::new().expect("metrics"));
        let tokens = Arc::new(token_manager(&sim, &store, &clock, &metrics));
        Zoho {
            sim,
            clock,
            store,
            metrics,
            tokens,
            dir,
        }
    }

    pub fn desk(&self, concurrency: u32) -> DeskClient {
        DeskClient::new(
            &self.sim.base_url(),
            sim::DESK_ORG_ID,
            concurrency,
            self.tokens.clone(),
            self.metrics.clone(),
            self.store.clone(),
            self.clock.clone(),
        )
    }

    pub fn cliq(&self) -> CliqClient {
        CliqClient::new(
            &self.sim.base_url(),
            sim::BOT,
            self.tokens.clone(),
            self.metrics.clone(),
        )
    }
}

/// What a receiver got: the `X-ZDesk-JWT` header and the JSON body of each POST.
pub type Posts = Arc<std::sync::Mutex<Vec<(Option<String>, serde_json::Value)>>>;

/// A webhook receiver on loopback: answers 200 (or `status`) and records every POST.
pub struct Receiver {
    pub url: String,
    pub posts: Posts,
    pub gets: Arc<std::sync::atomic::AtomicUsize>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    pub async fn start(status: u16) -> Receiver {
        use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
        let posts: Posts = Arc::default();
        let gets: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
        let (p, g) = (posts.clone(), gets.clone());
        let server = HttpServer::new(move || {
            let p = p.clone();
            let g = g.clone();
            App::new()
                .route(
                    "/hook",
                    web::get().to(move || {
                        let g = g.clone();
                        async move {
                            g.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            HttpResponse::build(
                                actix_web::http::StatusCode::from_u16(status).unwrap(),
                            )
                            .finish()
                        }
                    }),
                )
                .route(
                    "/hook",
                    web::post().to(move |req: HttpRequest, body: web::Bytes| {
                        let p = p.clone();
                        async move {
                            let jwt = req
                                .headers()
                                .get("X-ZDesk-JWT")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_string);
                            let v =
                                serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                            p.lock().unwrap().push((jwt, v));
                            HttpResponse::build(
                                actix_web::http::StatusCode::from_u16(status).unwrap(),
                            )
                            .finish()
                        }
                    }),
                )
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Receiver {
            url: format!("http://{addr}/hook"),
            posts,
            gets,
            handle,
        }
    }

    pub fn posts(&self) -> Vec<(Option<String>, serde_json::Value)> {
        self.posts.lock().unwrap().clone()
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}
