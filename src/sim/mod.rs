//! A faithful in-process fake of Zoho's accounts server, Desk API and Cliq API, for
//! `deskcliq demo` and the integration tests. Written from Zoho's documents
//! (`shared/zoho/*.md`, Zoho's OpenAPI files): same paths, JSON shapes, 204s, error bodies,
//! limits and JWT signing. When a client sends a wrong shape it answers as Zoho would.
//!
//! All three services are served from one loopback port; [`Simulator::config_urls`] gives the
//! `[zoho]` overrides that point deskcliq at it. Its clock is the one the tests control.

// Handlers answer errors as ready `HttpResponse`s; their size does not matter in a simulator.
#![allow(clippy::result_large_err)]

/// The value of `Ok`, or the `Err` response returned from the handler.
macro_rules! or_answer {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(response) => return response,
        }
    };
}

mod accounts;
mod callbacks;
mod cliq;
mod cliq_admin;
mod cliq_state;
mod desk;
mod gate;
mod model;
mod state;
mod state_accounts;
pub(crate) mod webhooks;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::{App, HttpServer, web};

use crate::clock::Clock;
use crate::jwt::{Jwks, SigningKey};

pub use callbacks::{Carrier, ChatRef, CliqUser, Invocation, send_callback};
pub use state::{
    BrowserUser, Chaos, CliqRecord, CliqTarget, Delivery, Fault, FaultKind, NewTicket, SimAgent,
    SimComment, SimDepartment, SimTask, SimTeam, SimTicket, SimWebhook, TicketPatch,
};
pub use state::{CliqRefusal, SimBot, SimCliqUser, SimCommand, SimFunction, SimHandler};

/// The OAuth client the simulator accepts.
pub const CLIENT_ID: &str = "1000.SIMULATORCLIENT";
pub const CLIENT_SECRET: &str = "sim-client-secret";
/// The service grant (a refresh token with Desk and Cliq scopes).
pub const SERVICE_REFRESH_TOKEN: &str = "1000.sim-service-refresh-token";
/// The Desk portal and the Cliq organisation.
pub const DESK_ORG_ID: &str = "54983163";
/// The seeded portal's two departments as deskcliq's config lists them (tests and benches).
pub const DEPARTMENTS_TOML: &str = r#"
[[departments]]
id = "1892000000082069"
name = "Support"
channel = "support"
[[departments]]
id = "1892000000082070"
name = "Billing"
channel = "billing"
"#;
pub const CLIQ_ORG_ID: &str = "6011234";
/// Another Cliq organisation, and the seeded Cliq user who belongs to it.
pub const OTHER_CLIQ_ORG_ID: &str = "6099999";
pub const FOREIGN_CLIQ_ZUID: &str = "55667799";
pub const BOT: &str = "deskbot";
/// Access tokens live this long, as Zoho's do.
pub const TOKEN_LIFETIME_SECS: i64 = 3600;

const DESK_PRIVATE_KEY: &str = include_str!("keys/desk-jwt.pkcs8.pem");
/// The Cliq extension's key pair: the simulator signs callbacks; deskcliq verifies them.
pub const CLIQ_EXTENSION_PRIVATE_KEY: &str = include_str!("keys/cliq-extension.pkcs8.pem");
pub const CLIQ_EXTENSION_PUBLIC_KEY: &str = include_str!("keys/cliq-extension.pub.pem");
pub const DESK_JWT_KID: &str = "sim-desk-2026";

pub(crate) struct Inner {
    pub(crate) state: Mutex<state::State>,
    pub(crate) clock: Clock,
    pub(crate) desk_key: SigningKey,
    pub(crate) http: reqwest::Client,
    pub(crate) deliveries: tokio::sync::mpsc::UnboundedSender<webhooks::Outgoing>,
    /// Batches sent to the delivery task and not yet attempted.
    pub(crate) pending: std::sync::atomic::AtomicUsize,
}

impl Inner {
    pub(crate) fn state(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("simulator: {0}")]
    Start(String),
}

/// A running simulator. Dropping it stops its server.
pub struct Simulator {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
    server: actix_web::dev::ServerHandle,
}

impl Simulator {
    /// Starts the simulator on a free loopback port (inside an actix runtime), with one
    /// department, agents, channels and the bot as [`state::State::seeded`] sets them up.
    pub async fn start(clock: Clock) -> Result<Simulator, SimError> {
        let desk_key = SigningKey::from_pkcs8_pem(DESK_PRIVATE_KEY, DESK_JWT_KID)
            .map_err(|e| SimError::Start(e.to_string()))?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            state: Mutex::new(state::State::seeded(clock.now())),
            clock,
            desk_key,
            http: crate::zoho_http::client(),
            deliveries: tx,
            pending: std::sync::atomic::AtomicUsize::new(0),
        });
        let data = web::Data::from(inner.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::JsonConfig::default().limit(4 << 20))
                .configure(accounts::routes)
                .configure(desk::routes)
                .configure(cliq::routes)
                .configure(cliq_admin::routes)
                .configure(callbacks::routes)
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .bind(("127.0.0.1", 0))
        .map_err(|e| SimError::Start(e.to_string()))?;
        let addr = server
            .addrs()
            .first()
            .copied()
            .ok_or_else(|| SimError::Start("no address bound".into()))?;
        inner.state().web_base = format!("http://{addr}");
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        actix_rt::spawn(webhooks::deliver(inner.clone(), rx));
        Ok(Simulator {
            addr,
            inner,
            server: handle,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `[zoho]` lines that point deskcliq at this simulator.
    pub fn config_urls(&self) -> String {
        let b = self.base_url();
        format!(
            "accounts_url = \"{b}\"\ndesk_url = \"{b}\"\ncliq_url = \"{b}\"\njwks_url = \"{b}/.well-known/jwks.json\"\n"
        )
    }

    /// A whole config for a deskcliq that talks to this simulator (service grant, Cliq
    /// extension key, webhook token `webhook_token`, the webhook's id when known so the JWT's
    /// audience is checked), with `extra` appended (departments, switches…).
    pub fn daemon_config(
        &self,
        state: &std::path::Path,
        secret_key: &str,
        webhook_token: &str,
        webhook_id: Option<&str>,
        extra: &str,
    ) -> String {
        let webhook_id = webhook_id
            .map(|id| format!("webhook_id = \"{id}\"\n"))
            .unwrap_or_default();
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
public_url = "https://deskcliq.example.com"
[storage]
path = "{state}"
secret_key = "{secret_key}"
[zoho]
data_center = "jp"
{urls}client_id = "{client_id}"
client_secret = "{client_secret}"
refresh_token = "{refresh}"
[desk]
org_id = "{org}"
webhook_token = "{webhook_token}"
{webhook_id}[cliq]
org_id = "{cliq_org}"
bot = "deskbot"
org_channel = "desk"
public_key = """{cliq_key}"""
[org]
timezone = "Asia/Tokyo"
locale = "en"
{extra}
"#,
            state = state.display(),
            urls = self.config_urls(),
            client_id = CLIENT_ID,
            client_secret = CLIENT_SECRET,
            refresh = SERVICE_REFRESH_TOKEN,
            org = DESK_ORG_ID,
            cliq_org = CLIQ_ORG_ID,
            cliq_key = CLIQ_EXTENSION_PUBLIC_KEY,
        )
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The JWKS the simulator's Desk serves.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self.inner.desk_key.jwk().into_iter().collect(),
        }
    }

    /// Signs a JWT as the simulator's Desk does (for tests of the verifier).
    pub fn sign_desk_jwt(&self, claims: &serde_json::Value) -> Option<String> {
        self.inner.desk_key.sign_jwt(claims).ok()
    }

    /// Runs `f` on the simulator's state (the scripting API of tests and the demo).
    pub fn with<R>(&self, f: impl FnOnce(&mut state::State) -> R) -> R {
        let mut guard = self.inner.state();
        f(&mut guard)
    }

    /// Ticket changes made through the scripting API, delivered as Desk would.
    pub fn create_ticket(&self, t: NewTicket) -> SimTicket {
        let now = self.inner.clock.now();
        let (ticket, events) = self.inner.state().create_ticket(t, now);
        self.emit(events);
        ticket
    }

    pub fn update_ticket(
        &self,
        id: &str,
        patch: TicketPatch,
        actor: Option<&str>,
    ) -> Option<SimTicket> {
        let now = self.inner.clock.now();
        let (ticket, events) = self.inner.state().update_ticket(id, patch, actor, now)?;
        self.emit(events);
        Some(ticket)
    }

    pub fn add_comment(
        &self,
        ticket_id: &str,
        author: &str,
        content: &str,
        public: bool,
    ) -> Option<SimComment> {
        let now = self.inner.clock.now();
        let (comment, events) = self
            .inner
            .state()
            .add_comment(ticket_id, author, content, public, now)?;
        self.emit(events);
        Some(comment)
    }

    /// Edits a comment (Desk sends `Ticket_Comment_Update`).
    pub fn edit_comment(&self, comment_id: &str, content: &str) -> Option<SimComment> {
        let now = self.inner.clock.now();
        let (comment, events) = self.inner.state().edit_comment(comment_id, content, now)?;
        self.emit(events);
        Some(comment)
    }

    /// A new task (Desk sends `Task_Add`).
    pub fn create_task(&self, task: SimTask) -> SimTask {
        let now = self.inner.clock.now();
        let (task, events) = self.inner.state().create_task(task, now);
        self.emit(events);
        task
    }

    /// Completes a task (Desk sends `Task_Update`).
    pub fn complete_task(&self, id: &str, actor: &str) -> Option<SimTask> {
        let now = self.inner.clock.now();
        let (task, events) = self.inner.state().complete_task(id, actor, now)?;
        self.emit(events);
        Some(task)
    }

    /// Requests that reached Cliq's posting endpoints, accepted or refused.
    pub fn cliq_post_requests(&self) -> usize {
        self.inner.state().cliq_post_requests
    }

    fn emit(&self, events: Vec<webhooks::Outgoing>) {
        for e in events {
            webhooks::send(&self.inner, e);
        }
    }

    /// Everything posted to Cliq, in order.
    pub fn cliq_messages(&self) -> Vec<CliqRecord> {
        self.inner.state().cliq.records.clone()
    }

    /// Batches queued for delivery and not yet attempted.
    pub fn pending_deliveries(&self) -> usize {
        self.inner.pending.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Every webhook delivery attempt, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.state().deliveries.clone()
    }

    /// Waits until `n` deliveries were attempted (or `timeout` passes).
    pub async fn wait_deliveries(&self, n: usize, timeout: Duration) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let d = self.deliveries();
            if d.len() >= n || tokio::time::Instant::now() >= deadline {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Makes the next matching requests fail (see [`Fault`]).
    pub fn inject(&self, fault: Fault) {
        self.inner.state().faults.push(fault);
    }

    /// Adds latency to every request.
    pub fn set_latency(&self, latency: Duration) {
        self.inner.state().latency = latency;
    }

    /// Token grants issued so far (refresh and authorization code).
    pub fn tokens_issued(&self) -> usize {
        self.inner.state().accounts.issued
    }

    /// Forgets every access token, as if Zoho had revoked them: the next call gets a 401.
    pub fn revoke_access_tokens(&self) {
        self.inner.state().accounts.access.clear();
    }

    /// Revokes a grant as Zoho does when the user or an admin removes it: the refresh token
    /// and every access token issued from it stop working (the token endpoint answers
    /// `{"error":"invalid_code"}`, Desk and Cliq answer 401).
    pub fn revoke_grant(&self, refresh_token: &str) {
        self.inner.state().revoke_grant(refresh_token);
    }

    /// The current grants a client holds, sorted: (refresh token, zuid of the user).
    pub fn grants(&self) -> Vec<(String, String)> {
        self.inner.state().grants()
    }

    /// The scopes a grant was consented with (`None`: no such grant; empty: not recorded).
    pub fn grant_scopes(&self, refresh_token: &str) -> Option<Vec<String>> {
        self.inner
            .state()
            .accounts
            .grants
            .get(refresh_token)
            .map(|g| g.scopes.clone())
    }

    /// Desk API credits spent so far.
    pub fn desk_credits_used(&self) -> u64 {
        self.inner.state().desk_credits
    }

    /// The highest number of Desk calls that were in flight at once.
    pub fn desk_max_in_flight(&self) -> usize {
        self.inner.state().desk_max_in_flight
    }

    pub async fn stop(self) {
        self.server.stop(false).await;
    }
}
