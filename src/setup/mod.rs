//! Setup and teardown against the real Zoho APIs (URLs from config): `deskcliq install`,
//! `doctor` and `uninstall`. They never open the daemon's store while it runs: the service
//! token they need lives in a throw-away store of their own, so each run spends at most one
//! token grant.

pub mod doctor;
pub mod handlers;
pub mod install;
pub mod uninstall;

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::cliq::CliqClient;
use crate::clock::Clock;
use crate::config::Config;
use crate::desk::{DeskClient, NewWebhook, Webhook};
use crate::metrics::Metrics;
use crate::oauth::TokenManager;
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Metrics(#[from] crate::metrics::MetricsError),
    #[error("Zoho: {0}")]
    Zoho(String),
    #[error("{0}")]
    Refused(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The Zoho clients of one setup run, on a throw-away store.
pub struct Zoho {
    pub desk: DeskClient,
    pub cliq: CliqClient,
    pub tokens: Arc<TokenManager>,
    store: Store,
    dir: PathBuf,
}

impl Drop for Zoho {
    fn drop(&mut self) {
        let _ = &self.store;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Zoho {
    pub fn connect(config: &Config) -> Result<Zoho, SetupError> {
        let mut nonce = [0u8; 8];
        use ring::rand::SecureRandom as _;
        ring::rand::SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SetupError::Zoho("no randomness".into()))?;
        let dir = std::env::temp_dir().join(format!(
            "deskcliq-setup-{}-{}",
            std::process::id(),
            nonce.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ));
        let store = Store::open(&dir)?;
        let metrics = Arc::new(Metrics::new()?);
        let clock = Clock::system();
        // One token grant per run: the daemon shares Zoho's 10-per-10-minutes limit.
        let tokens = Arc::new(
            crate::oauth::service_tokens(config, store.clone(), clock.clone(), metrics.clone())
                .map_err(|e| SetupError::Zoho(e.to_string()))?
                .at_most(1),
        );
        Ok(Zoho {
            desk: DeskClient::new(
                &config.zoho.urls.desk,
                &config.desk.org_id,
                config.limits.desk_concurrency,
                tokens.clone(),
                metrics.clone(),
                store.clone(),
                clock,
            ),
            cliq: CliqClient::new(
                &config.zoho.urls.cliq,
                &config.cliq.bot,
                tokens.clone(),
                metrics,
            ),
            tokens,
            store,
            dir,
        })
    }
}

/// The channels deskcliq posts to: the org channel and each department's, once each.
pub fn channels(config: &Config) -> Vec<String> {
    let mut v = vec![config.cliq.org_channel.clone()];
    for d in &config.departments {
        if let Some(c) = &d.channel
            && !v.contains(c)
        {
            v.push(c.clone());
        }
    }
    v
}

/// The events whose subscription takes `includePrevState` (Webhook.json).
const PREV_STATE_EVENTS: [&str; 5] = [
    "Ticket_Update",
    "Task_Update",
    "Call_Update",
    "Event_Update",
    "Agent_Update",
];

/// The Desk webhook deskcliq needs: every event it reads, **no** department filter (the
/// daemon filters, so departments added later need no re-install), the previous state on
/// updates, and events of time-based automation (escalations arrive only then).
pub fn webhook_definition(config: &Config) -> NewWebhook {
    let mut subs = serde_json::Map::new();
    for e in crate::notify::event::KNOWN_EVENTS {
        // Desk offers the previous state on these updates (not on comment edits).
        let filter = if PREV_STATE_EVENTS.contains(&e) {
            json!({"includePrevState": true})
        } else {
            Value::Null
        };
        subs.insert(e.to_string(), filter);
    }
    NewWebhook {
        name: "deskcliq".into(),
        url: config.webhook_url(),
        subscriptions: Value::Object(subs),
        include_automation: true,
        ignore_source_id: None,
        is_enabled: Some(true),
    }
}

/// Whether a registered webhook already is what [`webhook_definition`] asks for.
pub fn webhook_matches(have: &Webhook, want: &NewWebhook) -> bool {
    let events_match = match (
        have.subscriptions.as_object(),
        want.subscriptions.as_object(),
    ) {
        (Some(h), Some(w)) => {
            h.len() == w.len()
                && w.iter().all(|(event, filter)| {
                    h.get(event).is_some_and(|hf| {
                        let no_departments = hf
                            .get("departmentIds")
                            .or_else(|| hf.get("departmentId"))
                            .is_none_or(|d| {
                                d.is_null() || d.as_array().is_some_and(|a| a.is_empty())
                            });
                        let prev = |v: &Value| {
                            v.get("includePrevState")
                                .and_then(Value::as_bool)
                                .unwrap_or(false)
                        };
                        no_departments && prev(hf) == prev(filter)
                    })
                })
        }
        _ => false,
    };
    let automation = have
        .include_events_from
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("AUTOMATION")));
    events_match && automation && have.is_enabled && have.url.trim_end_matches('/') == want.url
}

/// A webhook of this portal that posts to Slack (Zoho does not support Slack and Cliq
/// integrations on one portal). Desk offers no API listing installed extensions, so only
/// the portal's webhooks are looked at.
pub fn slack_webhook(hooks: &[Webhook]) -> Option<&Webhook> {
    hooks.iter().find(|h| {
        let host = url::Url::parse(&h.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_default();
        host == "slack.com"
            || host.ends_with(".slack.com")
            || h.name
                .as_deref()
                .is_some_and(|n| n.to_ascii_lowercase().contains("slack"))
    })
}

/// What install and doctor say about the extensions they cannot see.
pub const EXTENSIONS_NOTE: &str = "Desk offers no API listing a portal's installed extensions: only its webhooks were checked for a Slack integration";

/// A webhook this deskcliq registered earlier under another URL (the token or the path
/// changed): named `deskcliq`, on this deskcliq's host.
pub fn stale_own_webhook<'a>(hooks: &'a [Webhook], config: &Config) -> Option<&'a Webhook> {
    let ours = config.webhook_url();
    let host = |u: &str| {
        url::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    };
    hooks.iter().find(|h| {
        h.url.trim_end_matches('/') != ours.trim_end_matches('/')
            && h.name.as_deref() == Some("deskcliq")
            && host(&h.url).is_some()
            && host(&h.url) == host(&ours)
    })
}

/// Another deskcliq's webhook on this portal (one deskcliq per portal).
pub fn other_deskcliq<'a>(hooks: &'a [Webhook], config: &Config) -> Option<&'a Webhook> {
    let ours = config.webhook_url();
    let stale = stale_own_webhook(hooks, config).map(|h| h.id.clone());
    hooks.iter().find(|h| {
        h.url.trim_end_matches('/') != ours.trim_end_matches('/')
            && Some(&h.id) != stale.as_ref()
            && (h.url.contains("/webhooks/desk/") || h.name.as_deref() == Some("deskcliq"))
    })
}

/// The daemon's `/metrics` page, when it is up on `server.listen`.
pub async fn live_metrics(config: &Config) -> Option<String> {
    let mut addr = config.server.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    if addr.port() == 0 {
        return None;
    }
    let r = crate::zoho_http::client()
        .get(format!("http://{addr}/metrics"))
        .timeout(std::time::Duration::from_secs(3))
        .send()
        .await
        .ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.text().await.ok()
}

/// The value of a metric line (`name` with its labels, as Prometheus prints it).
pub fn metric_value(page: &str, name: &str) -> Option<f64> {
    page.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (k, v) = l.rsplit_once(' ')?;
        (k == name).then(|| v.trim().parse().ok()).flatten()
    })
}
