//! Desk's signing keys, fetched from `zoho.jwks_url`, cached, and fetched again when a token
//! names a key the cache does not hold (at most once per [`REFETCH_EVERY`], so forged `kid`s
//! cannot make deskcliq hammer Zoho).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::jwt::{self, Jwks, JwtError};

pub const REFETCH_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error(transparent)]
    Jwt(#[from] JwtError),
    #[error("cannot fetch the JWKS: {0}")]
    Fetch(String),
}

pub struct JwksCache {
    url: String,
    http: reqwest::Client,
    state: Mutex<(Option<Jwks>, Option<Instant>)>,
    fetching: tokio::sync::Mutex<()>,
}

impl JwksCache {
    pub fn new(url: &str) -> JwksCache {
        JwksCache {
            url: url.to_string(),
            http: crate::zoho_http::client(),
            state: Mutex::new((None, None)),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn cached(&self) -> (Option<Jwks>, Option<Instant>) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn fetch(&self) -> Result<Jwks, JwksError> {
        let _one = self.fetching.lock().await;
        let (keys, at) = self.cached();
        if let Some(at) = at
            && at.elapsed() < REFETCH_EVERY
        {
            return match keys {
                Some(keys) => Ok(keys),
                None => Err(JwksError::Fetch("the last fetch failed moments ago".into())),
            };
        }
        let result = async {
            let resp = self
                .http
                .get(&self.url)
                .timeout(Duration::from_secs(3))
                .send()
                .await
                .map_err(|e| JwksError::Fetch(e.without_url().to_string()))?;
            if !resp.status().is_success() {
                return Err(JwksError::Fetch(format!("HTTP {}", resp.status().as_u16())));
            }
            resp.json::<Jwks>()
                .await
                .map_err(|e| JwksError::Fetch(e.without_url().to_string()))
        }
        .await;
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.1 = Some(Instant::now());
        match result {
            Ok(jwks) => {
                st.0 = Some(jwks.clone());
                Ok(jwks)
            }
            Err(e) => {
                tracing::warn!(error = %e, "JWKS fetch failed");
                Err(e)
            }
        }
    }

    /// Verifies `token`'s signature against Desk's keys and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<serde_json::Value, JwksError> {
        let kid = jwt::peek_kid(token)?;
        let (keys, at) = self.cached();
        let known = keys
            .as_ref()
            .is_some_and(|k| kid.is_none() || k.keys.iter().any(|j| j.kid == kid));
        let keys = match keys {
            Some(k) if known => k,
            // Unknown kid or nothing cached: fetch, unless we just did.
            Some(k) if at.is_some_and(|t| t.elapsed() < REFETCH_EVERY) => k,
            _ => self.fetch().await?,
        };
        Ok(jwt::verify(token, &keys)?)
    }
}
