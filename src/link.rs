//! Per-agent linking (feature 2): an agent grants deskcliq their own Zoho Desk access once,
//! so that quick actions run in Desk as them. The Connect button carries a signed, expiring,
//! single-use `state` bound to the Cliq user; `/oauth/start` sends the browser to Zoho's consent
//! page; `/oauth/callback` exchanges the code, checks with Desk's `myinfo` that the grant is the
//! Desk agent mapped to that Cliq user, and keeps the refresh token sealed in the store
//! ([`crate::crypto`]). Unlinking forgets it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::actors::Shared;
use crate::config::{Config, Locale, Secret, SecretSource};
use crate::crypto::Keys;
use crate::desk::DeskClient;
use crate::oauth::{OAuthClient, TokenManager};
use crate::pipeline::Directory;
use crate::store::TreeName;

/// The scopes an agent grants: tickets read/update (status, assign), create (replies,
/// comments), and basic read (`myinfo`, agents, the status list).
pub const AGENT_SCOPES: &str =
    "Desk.tickets.READ,Desk.tickets.UPDATE,Desk.tickets.CREATE,Desk.basic.READ";
/// How long a Connect link works.
pub const STATE_LIFETIME: chrono::Duration = chrono::Duration::minutes(15);

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("quick actions are off: storage.secret_key is not set")]
    Disabled,
    #[error("not linked")]
    NotLinked,
    #[error("this link is invalid or has expired")]
    BadState,
    /// Used, or expired and since forgotten (pruned): the two look the same.
    #[error("this link was already used or has expired")]
    StateUsed,
    #[error("Zoho did not grant access: {0}")]
    Denied(String),
    #[error("this Zoho account is not the Desk agent of the Cliq user who asked")]
    WrongUser,
    #[error("not an agent of this Desk portal")]
    NotAnAgent,
    #[error("cannot reach Zoho: {0}")]
    Zoho(String),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Crypto(#[from] crate::crypto::CryptoError),
}

/// What a Connect link stands for, kept in the store under its nonce until used or expired;
/// the `state` itself is only the nonce, signed (short enough for Cliq's 256-character URLs).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    /// The Cliq user (their Zoho user id).
    u: String,
    /// Their Cliq email, which maps them to a Desk agent.
    e: String,
    /// Their language (`ja` / `en`), for the pages.
    l: String,
    /// The nonce (its key in the store).
    n: String,
    /// Expiry, seconds since the epoch.
    x: i64,
}

/// An agent's grant as kept in the store (the refresh token sealed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkedGrant {
    pub cliq_user: String,
    pub agent_id: String,
    pub sealed_refresh_token: String,
    pub linked_at: DateTime<Utc>,
}

/// A completed link: who, and the language to thank them in.
#[derive(Debug, Clone)]
pub struct Linked {
    pub agent_id: String,
    pub locale: Locale,
}

fn pending_key(nonce: &str) -> String {
    format!("oauth-pending:{nonce}")
}

fn grant_key(cliq_user: &str) -> String {
    format!("agent:{cliq_user}:grant")
}

fn token_grant(cliq_user: &str) -> String {
    format!("agent:{cliq_user}")
}

pub struct Linker {
    shared: Shared,
    config: watch::Receiver<Arc<Config>>,
    directory: Directory,
    managers: Mutex<HashMap<String, Arc<TokenManager>>>,
}

impl Linker {
    pub fn new(
        shared: Shared,
        config: watch::Receiver<Arc<Config>>,
        directory: Directory,
    ) -> Linker {
        Linker {
            shared,
            config,
            directory,
            managers: Mutex::new(HashMap::new()),
        }
    }

    /// Whether quick actions are on: `storage.secret_key` is set in the config in force.
    pub fn enabled(&self) -> bool {
        self.config.borrow().storage.secret_key.is_some()
    }

    /// The keys of the config in force (a reload may add, remove or change the secret).
    fn keys(&self) -> Result<Keys, LinkError> {
        let config = self.config.borrow().clone();
        let secret = config
            .storage
            .secret_key
            .as_ref()
            .ok_or(LinkError::Disabled)?;
        Ok(Keys::derive(secret.expose())?)
    }

    fn oauth(&self, config: &Config) -> OAuthClient {
        OAuthClient::new(
            crate::zoho_http::client(),
            &config.zoho.urls.accounts,
            &config.zoho.client_id,
            config.zoho.client_secret.clone(),
        )
    }

    fn redirect_uri(config: &Config) -> String {
        format!(
            "{}/oauth/callback",
            config.server.public_url.as_str().trim_end_matches('/')
        )
    }

    /// The Connect link for a Cliq user: `{public_url}/oauth/start?state=…`.
    pub fn start_url(
        &self,
        cliq_user: &str,
        email: &str,
        locale: Locale,
    ) -> Result<String, LinkError> {
        let keys = self.keys()?;
        let config = self.config.borrow().clone();
        let state = State {
            u: cliq_user.to_string(),
            e: email.to_string(),
            l: locale.as_str().to_string(),
            n: keys.random_hex(16)?,
            x: (self.shared.clock.now() + STATE_LIFETIME).timestamp(),
        };
        self.shared
            .store
            .tree::<String, State>(TreeName::Tokens)
            .insert(&pending_key(&state.n), &state)?;
        let mut url = config.server.public_url.clone();
        url.set_path(&format!(
            "{}/oauth/start",
            config.server.public_url.path().trim_end_matches('/')
        ));
        url.query_pairs_mut()
            .clear()
            .append_pair("state", &keys.sign(state.n.as_bytes()));
        Ok(url.to_string())
    }

    fn nonce(&self, signed: &str) -> Result<String, LinkError> {
        let payload = self.keys()?.verify(signed).ok_or(LinkError::BadState)?;
        String::from_utf8(payload).map_err(|_| LinkError::BadState)
    }

    /// The state `signed` stands for, expired or not (until pruned).
    fn stored_state(&self, signed: &str) -> Result<State, LinkError> {
        let n = self.nonce(signed)?;
        self.shared
            .store
            .tree::<String, State>(TreeName::Tokens)
            .get(&pending_key(&n))?
            .ok_or(LinkError::StateUsed)
    }

    fn read_state(&self, signed: &str) -> Result<State, LinkError> {
        let state = self.stored_state(signed)?;
        if state.x < self.shared.clock.now().timestamp() {
            return Err(LinkError::BadState);
        }
        Ok(state)
    }

    /// The language a state was made for, expired or not: "this link has expired" is the
    /// page an agent most often sees. `None` for a state that is not ours (or is gone).
    pub fn locale_of_state(&self, signed: &str) -> Option<Locale> {
        match self.stored_state(signed).map(|s| s.l) {
            Ok(l) if l == "ja" => Some(Locale::Ja),
            Ok(l) if l == "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// The org's language (for a page about a state that says none).
    pub fn org_locale(&self) -> Locale {
        self.config.borrow().org.locale
    }

    /// Where `/oauth/start` sends the browser: Zoho's consent page for this state.
    pub fn authorize_url(&self, signed_state: &str) -> Result<String, LinkError> {
        self.read_state(signed_state)?;
        let config = self.config.borrow().clone();
        let mut url = url::Url::parse(&format!(
            "{}/oauth/v2/auth",
            config.zoho.urls.accounts.trim_end_matches('/')
        ))
        .map_err(|e| LinkError::Zoho(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("scope", AGENT_SCOPES)
            .append_pair("client_id", &config.zoho.client_id)
            .append_pair("response_type", "code")
            .append_pair("access_type", "offline")
            .append_pair("prompt", "consent")
            .append_pair("redirect_uri", &Self::redirect_uri(&config))
            .append_pair("state", signed_state);
        Ok(url.to_string())
    }

    /// Whether a state Zoho sent back is one of ours, unexpired and not spent yet (read only:
    /// [`Linker::complete`] spends it).
    pub fn check_state(&self, signed_state: &str) -> Result<(), LinkError> {
        let state = self.read_state(signed_state)?;
        if self
            .shared
            .store
            .tree::<String, State>(TreeName::Tokens)
            .contains(&pending_key(&state.n))?
        {
            Ok(())
        } else {
            Err(LinkError::StateUsed)
        }
    }

    /// `/oauth/callback`: checks and spends the state, exchanges the code, checks the grant's
    /// owner, and keeps the sealed refresh token.
    pub async fn complete(&self, code: &str, signed_state: &str) -> Result<Linked, LinkError> {
        let state = self.read_state(signed_state)?;
        let keys = self.keys()?;
        // Single use: the state is spent before anything else happens.
        if self
            .shared
            .store
            .tree::<String, State>(TreeName::Tokens)
            .remove(&pending_key(&state.n))?
            .is_none()
        {
            return Err(LinkError::StateUsed);
        }
        self.shared.store.flush().await?;
        let locale = if state.l == "ja" {
            Locale::Ja
        } else {
            Locale::En
        };
        let agents = self.directory.get();
        let agent = agents
            .by_email(&state.e)
            .or_else(|| agents.by_zuid(&state.u))
            .cloned()
            .ok_or(LinkError::NotAnAgent)?;
        let config = self.config.borrow().clone();
        let oauth = self.oauth(&config);
        let issued = oauth
            .exchange_code(code, &Self::redirect_uri(&config))
            .await
            .map_err(|e| LinkError::Denied(e.to_string()))?;
        let refresh = issued
            .refresh_token
            .clone()
            .ok_or_else(|| LinkError::Denied("Zoho gave no refresh token".into()))?;
        let tokens = Arc::new(
            TokenManager::new(
                oauth.clone(),
                &token_grant(&state.u),
                Secret::new(refresh.clone().into_bytes(), SecretSource::Inline),
                self.shared.store.clone(),
                self.shared.clock.clone(),
                self.shared.metrics.clone(),
            )
            .map_err(|e| LinkError::Zoho(e.to_string()))?
            .in_memory(),
        );
        tokens
            .prime(&issued.access_token, issued.expires_in, false)
            .map_err(|e| LinkError::Zoho(e.to_string()))?;
        let desk = self.service_desk()?.with_tokens(tokens.clone());
        let me = match desk.my_info().await {
            Ok(me) => Some(me),
            // Not an agent of this portal: not the agent asked for.
            Err(crate::desk::DeskError::Api {
                status: 401 | 403, ..
            }) => None,
            Err(e) => {
                let _ = oauth.revoke(&refresh).await;
                return Err(LinkError::Zoho(e.to_string()));
            }
        };
        if me.is_none_or(|me| me.id != agent.id) {
            tracing::warn!(cliq_user = %state.u, "a Zoho grant of another user was refused (and revoked)");
            if let Err(e) = oauth.revoke(&refresh).await {
                tracing::warn!(error = %e, "cannot revoke a refused grant");
            }
            return Err(LinkError::WrongUser);
        }
        let grant = LinkedGrant {
            cliq_user: state.u.clone(),
            agent_id: agent.id.clone(),
            sealed_refresh_token: keys.seal(refresh.as_bytes(), &grant_key(&state.u))?,
            linked_at: self.shared.clock.now(),
        };
        self.shared
            .store
            .tree::<String, LinkedGrant>(TreeName::Tokens)
            .insert(&grant_key(&state.u), &grant)?;
        tokens
            .prime(&issued.access_token, issued.expires_in, true)
            .map_err(|e| LinkError::Zoho(e.to_string()))?;
        self.shared.store.flush().await?;
        self.managers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(state.u.clone(), tokens);
        tracing::info!(cliq_user = %state.u, agent = %agent.id, "agent linked their Zoho Desk account");
        Ok(Linked {
            agent_id: agent.id,
            locale,
        })
    }

    fn service_desk(&self) -> Result<DeskClient, LinkError> {
        self.shared
            .zoho
            .as_ref()
            .map(|z| z.desk.clone())
            .ok_or_else(|| LinkError::Zoho("no Desk client".into()))
    }

    /// An unreadable grant (a corrupt record) is set aside and taken as none: the agent is
    /// offered a new link, which writes the record anew.
    pub fn grant(&self, cliq_user: &str) -> Result<Option<LinkedGrant>, LinkError> {
        Ok(self
            .shared
            .store
            .tree::<String, LinkedGrant>(TreeName::Tokens)
            .get_readable(&grant_key(cliq_user))?)
    }

    /// Forgets a Cliq user's grant (and its cached access token); whether there was one.
    pub async fn unlink(&self, cliq_user: &str) -> Result<bool, LinkError> {
        let tokens = self
            .shared
            .store
            .tree::<String, LinkedGrant>(TreeName::Tokens);
        // An unreadable one is removed all the same (there is nothing in it to revoke).
        let had = match tokens.remove(&grant_key(cliq_user)) {
            Err(e @ crate::store::StoreError::Corrupt { .. }) => {
                tokens.set_aside(&e);
                None
            }
            other => other?,
        };
        self.shared.store.flush().await?;
        self.managers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(cliq_user);
        // Revoked at Zoho too, best effort (it may be dead already).
        if let Some(g) = &had
            && let Ok(keys) = self.keys()
            && let Ok(refresh) = keys.open(&g.sealed_refresh_token, &grant_key(cliq_user))
        {
            let config = self.config.borrow().clone();
            let token = String::from_utf8_lossy(&refresh).into_owned();
            if let Err(e) = self.oauth(&config).revoke(&token).await {
                tracing::info!(error = %e, "cannot revoke an unlinked grant at Zoho");
            }
        }
        Ok(had.is_some())
    }

    /// A Desk client acting as the Cliq user's own grant.
    pub fn desk_for(&self, cliq_user: &str) -> Result<DeskClient, LinkError> {
        let keys = self.keys()?;
        if let Some(m) = self
            .managers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(cliq_user)
            .cloned()
        {
            return Ok(self.service_desk()?.with_tokens(m));
        }
        let grant = self.grant(cliq_user)?.ok_or(LinkError::NotLinked)?;
        let refresh = keys.open(&grant.sealed_refresh_token, &grant_key(cliq_user))?;
        let config = self.config.borrow().clone();
        let tokens = Arc::new(
            TokenManager::new(
                self.oauth(&config),
                &token_grant(cliq_user),
                Secret::new(refresh, SecretSource::Inline),
                self.shared.store.clone(),
                self.shared.clock.clone(),
                self.shared.metrics.clone(),
            )
            .map_err(|e| LinkError::Zoho(e.to_string()))?
            .in_memory(),
        );
        self.managers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(cliq_user.to_string(), tokens.clone());
        Ok(self.service_desk()?.with_tokens(tokens))
    }

    /// Forgets Connect links past their lifetime; returns how many.
    pub fn prune(&self) -> Result<usize, LinkError> {
        let now = self.shared.clock.now().timestamp();
        let tree = self
            .shared
            .store
            .tree::<String, serde_json::Value>(TreeName::Tokens);
        let mut n = 0;
        // A record that cannot be read is set aside (removed, logged, counted) rather than
        // stop the pruning for good.
        let records = tree
            .iter_readable()?
            .collect::<Result<Vec<_>, crate::store::StoreError>>()?;
        for (k, v) in records {
            if k.starts_with("oauth-pending:")
                && v.get("x")
                    .and_then(serde_json::Value::as_i64)
                    .is_none_or(|x| x < now)
            {
                tree.remove(&k)?;
                n += 1;
            }
        }
        Ok(n)
    }
}
