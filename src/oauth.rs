//! Zoho OAuth: the token endpoint, and a [`TokenManager`] per grant that caches the access
//! token in the store (a restart spends no new one), refreshes it ahead of expiry with one
//! refresh in flight, and never asks for more than 10 tokens in 10 minutes: past that Zoho
//! blocks the refresh token itself.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::config::Secret;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError, TreeName};
use crate::zoho_http::{self, CallError};

/// Zoho issues at most this many access tokens per refresh token…
pub const MAX_REFRESHES: usize = 10;
/// …in this window.
pub const REFRESH_WINDOW: Duration = Duration::minutes(10);
/// A token this close to its expiry is refreshed before use.
pub const REFRESH_AHEAD: Duration = Duration::minutes(5);

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "token refresh refused locally: {MAX_REFRESHES} refreshes in the last 10 minutes already \
         (Zoho would block the grant); next allowed at {next_allowed}"
    )]
    Budget { next_allowed: DateTime<Utc> },
    #[error("Zoho refused the {grant} grant: {error}")]
    Rejected { grant: String, error: String },
    #[error("token endpoint answered HTTP {status}: {message}")]
    Http { status: u16, message: String },
    #[error("token endpoint: {0}")]
    Transport(String),
    /// No connection to the accounts server (DNS, refused, unreachable): the request never
    /// reached Zoho.
    #[error("token endpoint unreachable: {0}")]
    Unreachable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A refresh just failed; callers that were waiting for it get its outcome instead of
    /// each spending a refresh of their own. `rejected`: Zoho refused the grant itself.
    #[error("token refresh failed moments ago: {message}")]
    RecentFailure { message: String, rejected: bool },
}

/// The accounts server's token endpoint, for one OAuth client.
#[derive(Clone)]
pub struct OAuthClient {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    client_secret: Secret,
}

/// A token endpoint answer: Zoho answers HTTP 200 with `{"error": …}` for a bad grant.
#[derive(Debug, Deserialize)]
struct TokenResponse {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    /// Some accounts servers give the lifetime here in seconds, and `expires_in` in ms.
    #[serde(default)]
    expires_in_sec: Option<serde_json::Value>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// A new access token (and, for the authorization-code grant, a refresh token).
#[derive(Clone)]
pub struct Issued {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: Duration,
}

/// Without the tokens: a `{:?}` in a log line or an error must not carry them.
impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

impl OAuthClient {
    pub fn new(
        http: reqwest::Client,
        accounts_url: &str,
        client_id: &str,
        client_secret: Secret,
    ) -> Self {
        OAuthClient {
            http,
            token_url: format!("{}/oauth/v2/token", accounts_url.trim_end_matches('/')),
            client_id: client_id.to_string(),
            client_secret,
        }
    }

    /// Names the grant of `refresh_token` at this client and accounts server, without
    /// revealing it: a cached access token is used only by the grant that issued it.
    fn fingerprint(&self, refresh_token: &Secret) -> String {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [
            self.token_url.as_bytes(),
            self.client_id.as_bytes(),
            refresh_token.expose(),
        ] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        ctx.finish().as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    async fn token_call(&self, grant: &str, params: &[(&str, &str)]) -> Result<Issued, TokenError> {
        let mut query: Vec<(&str, &str)> = vec![
            ("client_id", &self.client_id),
            ("client_secret", self.client_secret.expose_str()),
        ];
        query.extend_from_slice(params);
        // Zoho documents the parameters in the query string of the POST.
        let resp = self
            .http
            .post(&self.token_url)
            .query(&query)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    TokenError::Unreachable(e.without_url().to_string())
                } else {
                    TokenError::Transport(e.without_url().to_string())
                }
            })?;
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .await
            .map_err(|e| TokenError::Transport(e.without_url().to_string()))?;
        let parsed: Result<TokenResponse, _> = serde_json::from_slice(&body);
        match parsed {
            Ok(TokenResponse {
                error: Some(error),
                error_description,
                ..
            }) => Err(TokenError::Rejected {
                grant: grant.to_string(),
                error: match error_description {
                    Some(d) => format!("{error} ({d})"),
                    None => error,
                },
            }),
            Ok(TokenResponse {
                access_token: Some(access_token),
                refresh_token,
                expires_in,
                expires_in_sec,
                ..
            }) if (200..300).contains(&status) => {
                let number = |v: serde_json::Value| match v {
                    serde_json::Value::Number(n) => n.as_i64(),
                    serde_json::Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                };
                let secs = expires_in_sec
                    .and_then(number)
                    .or_else(|| {
                        // Zoho's tokens live an hour: a figure beyond a day is milliseconds.
                        expires_in
                            .and_then(number)
                            .map(|n| if n > 86_400 { n / 1000 } else { n })
                    })
                    .filter(|n| *n > 0)
                    .unwrap_or(3600);
                Ok(Issued {
                    access_token,
                    refresh_token,
                    expires_in: Duration::seconds(secs),
                })
            }
            // Never the body itself: it may hold a token.
            _ => Err(TokenError::Http {
                status,
                message: serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| {
                        v.get("error")
                            .or_else(|| v.get("code"))
                            .and_then(|e| e.as_str())
                            .map(|e| {
                                e.chars()
                                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                                    .take(60)
                                    .collect()
                            })
                    })
                    .unwrap_or_else(|| "no error code".into()),
            }),
        }
    }

    /// `grant_type=refresh_token`.
    pub async fn refresh(&self, grant: &str, refresh_token: &Secret) -> Result<Issued, TokenError> {
        self.token_call(
            grant,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose_str()),
            ],
        )
        .await
    }

    /// Revokes a refresh token at Zoho (`POST /oauth/v2/token/revoke?token=…`), so that a
    /// grant deskcliq will not keep cannot be used by anyone.
    pub async fn revoke(&self, refresh_token: &str) -> Result<(), TokenError> {
        let resp = self
            .http
            .post(format!("{}/revoke", self.token_url))
            .query(&[("token", refresh_token)])
            .send()
            .await
            .map_err(|e| TokenError::Transport(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(TokenError::Http {
                status,
                message: "revoke refused".into(),
            })
        }
    }

    /// `grant_type=authorization_code` (an agent linking their account).
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<Issued, TokenError> {
        self.token_call(
            "authorization_code",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
            ],
        )
        .await
    }
}

#[derive(Clone, Serialize, Deserialize)]
struct CachedToken {
    access_token: String,
    expires_at: DateTime<Utc>,
    /// [`OAuthClient::fingerprint`] of the grant that issued it (absent in stores written
    /// before it was kept: such a token is taken as the configured grant's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    grant: Option<String>,
}

/// Without the token (see [`Issued`]'s `Debug`).
impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("access_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("grant", &self.grant)
            .finish()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RefreshLog {
    at: Vec<DateTime<Utc>>,
}

/// Access tokens for one grant (the service grant, or one agent's).
pub struct TokenManager {
    oauth: OAuthClient,
    grant: String,
    refresh_token: Secret,
    /// [`OAuthClient::fingerprint`] of `refresh_token`.
    fingerprint: String,
    store: Store,
    clock: Clock,
    metrics: Arc<Metrics>,
    cached: Mutex<Option<CachedToken>>,
    refreshing: tokio::sync::Mutex<()>,
    /// Refresh attempts so far, and the last failure with when it happened.
    attempts: std::sync::atomic::AtomicU64,
    last_failure: Mutex<Option<(std::time::Instant, String, bool)>>,
    /// Refreshes allowed in [`REFRESH_WINDOW`] (Zoho's limit, or fewer: a setup run takes one).
    max_refreshes: usize,
    /// Whether the access token is kept in the store (the service grant's, so a restart
    /// spends no new one); agents' access tokens stay in memory only.
    persist_access: bool,
    /// The API host whose 401 made the refresh now due (see [`TokenManager::refused`]).
    refused_by: Mutex<Option<String>>,
    /// The cached token, when it replaced one that this API host refused and the host has
    /// not accepted it yet: another 401 from that host is not the token's fault.
    replaced_for: Mutex<Option<(String, String)>>,
}

/// A token this close to its expiry is not used any more, even when no new one can be had.
const STILL_VALID_MARGIN: Duration = Duration::seconds(30);

/// After a failed refresh, callers get its error for this long before one tries again.
const FAILURE_COOLDOWN: std::time::Duration = std::time::Duration::from_secs(5);

impl TokenManager {
    /// `grant` names the grant in the store (`service`, `agent:<zuid>`).
    pub fn new(
        oauth: OAuthClient,
        grant: &str,
        refresh_token: Secret,
        store: Store,
        clock: Clock,
        metrics: Arc<Metrics>,
    ) -> Result<TokenManager, TokenError> {
        let fingerprint = oauth.fingerprint(&refresh_token);
        // Unreadable (a corrupt record): set aside, and a new token requested; the next
        // refresh writes the record anew.
        let cached = store
            .tree::<String, CachedToken>(TreeName::Tokens)
            .get_readable(&format!("{grant}:access"))?
            // A token of another grant (zoho.refresh_token, client_id or the accounts server
            // changed since it was kept) would act with that grant's user and scopes.
            .filter(|t| {
                let same = t.grant.as_ref().is_none_or(|g| *g == fingerprint);
                if !same {
                    tracing::info!(
                        grant = %grant,
                        "the kept access token was issued to another grant; a new one will be requested"
                    );
                }
                same
            });
        Ok(TokenManager {
            oauth,
            grant: grant.to_string(),
            refresh_token,
            fingerprint,
            store,
            clock,
            metrics,
            cached: Mutex::new(cached),
            refreshing: tokio::sync::Mutex::new(()),
            attempts: std::sync::atomic::AtomicU64::new(0),
            last_failure: Mutex::new(None),
            persist_access: true,
            max_refreshes: MAX_REFRESHES,
            refused_by: Mutex::new(None),
            replaced_for: Mutex::new(None),
        })
    }

    /// Allows at most `n` refreshes in [`REFRESH_WINDOW`] (never more than Zoho's limit).
    pub fn at_most(mut self, n: usize) -> Self {
        self.max_refreshes = n.min(MAX_REFRESHES);
        self
    }

    /// Keeps access tokens in memory only (an agent's grant: nothing secret at rest but the
    /// sealed refresh token).
    pub fn in_memory(mut self) -> Self {
        self.persist_access = false;
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self
    }

    pub fn grant_name(&self) -> &str {
        &self.grant
    }

    fn fresh(&self) -> Option<String> {
        let now = self.clock.now();
        let guard = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .filter(|t| t.expires_at - REFRESH_AHEAD > now)
            .map(|t| t.access_token.clone())
    }

    /// A valid access token: the cached one, or a new one (one refresh in flight at a time).
    pub async fn access_token(&self) -> Result<String, TokenError> {
        use std::sync::atomic::Ordering;
        if let Some(t) = self.fresh() {
            return Ok(t);
        }
        let seen = self.attempts.load(Ordering::SeqCst);
        let _one_at_a_time = self.refreshing.lock().await;
        // Whoever held the lock before us may have refreshed already…
        if let Some(t) = self.fresh() {
            return Ok(t);
        }
        // …or failed: then share that failure rather than spend another refresh at once.
        let failure = self
            .last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some((at, message, rejected)) = failure
            && (self.attempts.load(Ordering::SeqCst) != seen || at.elapsed() < FAILURE_COOLDOWN)
        {
            return self.or_unexpired(TokenError::RecentFailure { message, rejected });
        }
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let result = self.refresh().await;
        *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) = match &result {
            Err(e) if !matches!(e, TokenError::Budget { .. }) => {
                Some((std::time::Instant::now(), e.to_string(), e.grant_rejected()))
            }
            _ => None,
        };
        result.or_else(|e| self.or_unexpired(e))
    }

    /// After a refresh ahead of expiry failed (accounts server down, the local budget spent):
    /// the current token while it is still valid, unless Zoho refused the grant itself.
    fn or_unexpired(&self, e: TokenError) -> Result<String, TokenError> {
        if e.grant_rejected() {
            return Err(e);
        }
        let now = self.clock.now();
        let current = self
            .cached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .filter(|t| t.expires_at - STILL_VALID_MARGIN > now)
            .map(|t| t.access_token.clone());
        match current {
            Some(t) => {
                // Once per failed refresh, not for each caller sharing it.
                if !matches!(e, TokenError::RecentFailure { .. }) {
                    tracing::warn!(grant = %self.grant, error = %e, "token refresh failed; using the current token until it expires");
                }
                Ok(t)
            }
            None => Err(e),
        }
    }

    /// Uses `access_token` (just issued with the grant) until it expires, without a refresh;
    /// kept in the store as well when `persist`.
    pub fn prime(
        &self,
        access_token: &str,
        expires_in: Duration,
        persist: bool,
    ) -> Result<(), TokenError> {
        let token = CachedToken {
            access_token: access_token.to_string(),
            expires_at: self.clock.now() + expires_in,
            grant: Some(self.fingerprint.clone()),
        };
        if persist && self.persist_access {
            self.store
                .tree::<String, CachedToken>(TreeName::Tokens)
                .insert(&format!("{}:access", self.grant), &token)?;
        }
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some(token);
        Ok(())
    }

    /// `host` (an API: `desk.zoho.jp`) answered 401 to `token`. Forgets it, so that the next
    /// call refreshes, and says whether a retry with a new token may help. Not when `token`
    /// was issued because that same host refused the one before and it has accepted none
    /// since: then the host refuses this grant's tokens whatever they are (another data
    /// center, another portal), and each refresh would spend one of Zoho's 10 in 10 minutes
    /// until the grant is blocked for every API.
    pub fn refused(&self, token: &str, host: &str) -> bool {
        let replaced = self
            .replaced_for
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if replaced.is_some_and(|(t, h)| t == token && h == host) {
            tracing::warn!(
                grant = %self.grant,
                host,
                "a new access token was refused too; not refreshing again (check zoho.data_center and the URL overrides)"
            );
            return false;
        }
        let mut guard = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if guard.as_ref().is_some_and(|t| t.access_token == token) {
            *guard = None;
            *self.refused_by.lock().unwrap_or_else(|p| p.into_inner()) = Some(host.to_string());
        }
        true
    }

    /// `host` answered a call made with `token` (anything but a dead-token 401).
    pub fn accepted(&self, token: &str, host: &str) {
        let mut guard = self.replaced_for.lock().unwrap_or_else(|p| p.into_inner());
        if guard.as_ref().is_some_and(|(t, h)| t == token && h == host) {
            *guard = None;
        }
    }

    /// Forgets `token` after Zoho refused it, so the next call refreshes.
    pub fn invalidate(&self, token: &str) {
        let mut guard = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if guard.as_ref().is_some_and(|t| t.access_token == token) {
            *guard = None;
        }
    }

    async fn refresh(&self) -> Result<String, TokenError> {
        let now = self.clock.now();
        let log_tree = self.store.tree::<String, RefreshLog>(TreeName::Tokens);
        let log_key = format!("{}:refreshes", self.grant);
        // Unreadable: set aside and started anew (it is rewritten below), rather than every
        // refresh of this grant failing for good. At worst Zoho sees more than its 10 in this
        // one window, and blocks new tokens for the rest of it, as this guard would.
        let mut log = log_tree.get_readable(&log_key)?.unwrap_or_default();
        log.at.retain(|t| *t > now - REFRESH_WINDOW);
        if log.at.len() >= self.max_refreshes {
            let next_allowed = log.at.iter().min().copied().unwrap_or(now) + REFRESH_WINDOW;
            self.metrics.token_refresh_refused_total.inc();
            tracing::error!(
                grant = %self.grant,
                %next_allowed,
                "token refresh refused: {MAX_REFRESHES} in 10 minutes already; Zoho would block the grant"
            );
            return Err(TokenError::Budget { next_allowed });
        }
        // Counted before the call: a call that reaches Zoho counts there even if it fails here.
        log.at.push(now);
        log_tree.insert(&log_key, &log)?;
        self.store.flush().await?;
        self.metrics.token_refreshes_total.inc();
        let issued = match self.oauth.refresh(&self.grant, &self.refresh_token).await {
            Ok(issued) => issued,
            Err(e) => {
                // Never reached Zoho: not one of its 10, and an outage of the network must
                // not leave the grant refused here for 10 minutes after it ends.
                if matches!(e, TokenError::Unreachable(_)) {
                    if let Some(i) = log.at.iter().rposition(|t| *t == now) {
                        log.at.remove(i);
                    }
                    if let Err(e) = log_tree.insert(&log_key, &log) {
                        tracing::warn!(grant = %self.grant, error = %e, "cannot uncount a refresh that never reached Zoho");
                    }
                }
                return Err(e);
            }
        };
        let token = CachedToken {
            access_token: issued.access_token.clone(),
            expires_at: self.clock.now() + issued.expires_in,
            grant: Some(self.fingerprint.clone()),
        };
        if self.persist_access {
            // Zoho has issued it (one of its 10 in 10 minutes): a store that cannot keep it
            // (a full disk) costs only a new one after a restart, not this one.
            let kept = match self
                .store
                .tree::<String, CachedToken>(TreeName::Tokens)
                .insert(&format!("{}:access", self.grant), &token)
            {
                Ok(()) => self.store.flush().await,
                Err(e) => Err(e),
            };
            if let Err(e) = kept {
                tracing::warn!(grant = %self.grant, error = %e, "the new access token cannot be kept in the store; using it from memory");
            }
        }
        tracing::info!(grant = %self.grant, expires_at = %token.expires_at, "access token refreshed");
        let refused_by = self
            .refused_by
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        *self.replaced_for.lock().unwrap_or_else(|p| p.into_inner()) =
            refused_by.map(|host| (issued.access_token.clone(), host));
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some(token);
        Ok(issued.access_token)
    }
}

impl TokenError {
    /// Whether Zoho refused the grant itself (revoked, expired, deleted): it will not work
    /// again, the user must grant anew.
    pub fn grant_rejected(&self) -> bool {
        match self {
            TokenError::Rejected { error, .. } => {
                let e = error.to_ascii_lowercase();
                e.starts_with("invalid_code")
                    || e.starts_with("invalid_grant")
                    || e.contains("revoked")
            }
            TokenError::RecentFailure { rejected, .. } => *rejected,
            _ => false,
        }
    }
}

impl From<CallError> for TokenError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Token(t) => t,
            CallError::Transport(t) => TokenError::Transport(t),
        }
    }
}

/// Builds the service grant's manager from the config.
pub fn service_tokens(
    config: &crate::config::Config,
    store: Store,
    clock: Clock,
    metrics: Arc<Metrics>,
) -> Result<TokenManager, TokenError> {
    let oauth = OAuthClient::new(
        zoho_http::client(),
        &config.zoho.urls.accounts,
        &config.zoho.client_id,
        config.zoho.client_secret.clone(),
    );
    TokenManager::new(
        oauth,
        "service",
        config.zoho.refresh_token.clone(),
        store,
        clock,
        metrics,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_show_in_debug_output() {
        let issued = Issued {
            access_token: "1000.access-secret".into(),
            refresh_token: Some("1000.refresh-secret".into()),
            expires_in: Duration::hours(1),
        };
        let cached = CachedToken {
            access_token: "1000.access-secret".into(),
            expires_at: Utc::now(),
            grant: None,
        };
        let shown = format!("{issued:?} {cached:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
