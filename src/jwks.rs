//! Desk's signing keys, fetched from `zoho.jwks_url`, cached, and fetched again when a token
//! names a key the cache does not hold, or names none and fails the cached keys (at most once
//! per [`REFETCH_EVERY`], so forged tokens cannot make deskcliq hammer Zoho).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::jwt::{self, Jwks, JwtError};

pub const REFETCH_EVERY: Duration = Duration::from_secs(30);

/// How many verified tokens are remembered (each is a few hundred bytes).
pub const VERIFIED_KEPT: usize = 256;

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
    state: Mutex<Keys>,
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Keys {
    jwks: Option<Arc<Jwks>>,
    /// When the last fetch ended, well or not.
    fetched_at: Option<Instant>,
    /// Tokens whose signature `jwks` verified, by their exact text, with their claims.
    /// Desk's token carries no body hash and no nonce, only `iss`, `aud`, `iat` and `exp`, and
    /// RS256 signs the same claims the same way, so the deliveries to a webhook within one
    /// `iat` tick carry the same token: a flood costs one RSA verification per tick, not one
    /// per delivery. Only the signature is taken from here; the claims are checked against the
    /// clock and the config on every delivery. Emptied whenever the keys change.
    verified: HashMap<String, serde_json::Value>,
}

impl JwksCache {
    pub fn new(url: &str) -> JwksCache {
        JwksCache {
            url: url.to_string(),
            http: crate::zoho_http::client(),
            state: Mutex::new(Keys::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn keys(&self) -> MutexGuard<'_, Keys> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cached(&self) -> (Option<Arc<Jwks>>, Option<Instant>) {
        let k = self.keys();
        (k.jwks.clone(), k.fetched_at)
    }

    async fn fetch(&self) -> Result<Arc<Jwks>, JwksError> {
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
        self.install(result)
    }

    /// Takes the outcome of a fetch: new keys replace the cached ones.
    fn install(&self, result: Result<Jwks, JwksError>) -> Result<Arc<Jwks>, JwksError> {
        let mut st = self.keys();
        st.fetched_at = Some(Instant::now());
        match result {
            Ok(jwks) => {
                if st.jwks.as_deref() != Some(&jwks) {
                    // A key may have been withdrawn: nothing verified before counts any more.
                    st.verified.clear();
                }
                let jwks = Arc::new(jwks);
                st.jwks = Some(jwks.clone());
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
        if let Some(claims) = self.keys().verified.get(token) {
            return Ok(claims.clone());
        }
        let kid = jwt::peek_kid(token)?;
        let (keys, at) = self.cached();
        let known = keys
            .as_ref()
            .is_some_and(|k| kid.is_none() || k.keys.iter().any(|j| j.kid == kid));
        let (mut keys, fetched) = match keys {
            Some(k) if known => (k, false),
            // Unknown kid or nothing cached: fetch, unless we just did.
            Some(k) if at.is_some_and(|t| t.elapsed() < REFETCH_EVERY) => (k, false),
            _ => (self.fetch().await?, true),
        };
        let claims = match jwt::verify(token, &keys) {
            // A token naming no key cannot tell that Desk rotated its keys: when the cached
            // ones fail it, fetch once more (unless we just did; `fetch` keeps to its pace).
            Err(JwtError::Signature) if kid.is_none() && !fetched => {
                let newer = self.fetch().await?;
                if Arc::ptr_eq(&newer, &keys) {
                    return Err(JwtError::Signature.into());
                }
                keys = newer;
                jwt::verify(token, &keys)?
            }
            verified => verified?,
        };
        let mut st = self.keys();
        // Remembered only while the keys that verified it are the ones cached (a fetch may
        // have replaced them meanwhile).
        if st.jwks.as_ref().is_some_and(|k| Arc::ptr_eq(k, &keys)) {
            if st.verified.len() >= VERIFIED_KEPT {
                st.verified.clear();
            }
            st.verified.insert(token.to_string(), claims.clone());
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::SigningKey;

    fn key(pem: &str, kid: &str) -> SigningKey {
        SigningKey::from_pkcs8_pem(pem, kid).expect("test key")
    }

    #[tokio::test]
    async fn a_remembered_token_is_refused_once_desk_withdraws_its_key() {
        let old = key(include_str!("sim/keys/desk-jwt.pkcs8.pem"), "old");
        let new = key(include_str!("sim/keys/cliq-extension.pkcs8.pem"), "new");
        // Nothing listens there: every key comes from `install`.
        let cache = JwksCache::new("http://127.0.0.1:9/.well-known/jwks.json");
        let jwks = |k: &SigningKey| Jwks {
            keys: vec![k.jwk().expect("jwk")],
        };
        cache.install(Ok(jwks(&old))).expect("keys");
        let claims =
            serde_json::json!({"iss": "orgId:1", "aud": "webhookId:2", "exp": 2_000_000_000});
        let token = old.sign_jwt(&claims).expect("sign");
        assert_eq!(cache.verify(&token).await.expect("verified"), claims);
        assert_eq!(cache.verify(&token).await.expect("remembered"), claims);

        // Desk rotates: the old key is gone from its JWKS.
        cache.install(Ok(jwks(&new))).expect("keys");
        assert!(cache.verify(&token).await.is_err());
        let fresh = new.sign_jwt(&claims).expect("sign");
        assert_eq!(cache.verify(&fresh).await.expect("verified"), claims);
    }

    /// A token signed by `k` whose header names no key.
    fn token_without_kid(k: &SigningKey, claims: &serde_json::Value) -> String {
        use base64::Engine as _;
        let b64 = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let input = format!(
            "{}.{}",
            b64(&serde_json::json!({"alg": "RS256", "typ": "JWT"})),
            b64(claims)
        );
        let sig = k.sign_raw(input.as_bytes()).expect("sign");
        format!(
            "{input}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig)
        )
    }

    #[tokio::test]
    async fn a_token_naming_no_key_is_verified_with_keys_desk_rotated_in() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let old = key(include_str!("sim/keys/desk-jwt.pkcs8.pem"), "old");
        let new = key(include_str!("sim/keys/cliq-extension.pkcs8.pem"), "new");
        // Desk's JWKS now holds only the new key.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let body = serde_json::json!({"keys": [new.jwk().expect("jwk")]}).to_string();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(answer.as_bytes()).await;
            }
        });
        let cache = JwksCache::new(&format!("http://{addr}/.well-known/jwks.json"));
        cache
            .install(Ok(Jwks {
                keys: vec![old.jwk().expect("jwk")],
            }))
            .expect("keys");
        // The cached keys were fetched a while ago.
        cache.keys().fetched_at = Some(Instant::now() - REFETCH_EVERY * 2);
        let claims =
            serde_json::json!({"iss": "orgId:1", "aud": "webhookId:2", "exp": 2_000_000_000});
        let token = token_without_kid(&new, &claims);
        assert_eq!(cache.verify(&token).await.expect("verified"), claims);
        // A forged one right after costs no second fetch and is refused.
        let forger = key(include_str!("sim/keys/desk-jwt.pkcs8.pem"), "x");
        let before = cache.keys().fetched_at;
        assert!(
            cache
                .verify(&token_without_kid(&forger, &claims))
                .await
                .is_err()
        );
        assert_eq!(cache.keys().fetched_at, before);
    }

    #[tokio::test]
    async fn a_token_that_fails_verification_is_not_remembered() {
        let desk = key(include_str!("sim/keys/desk-jwt.pkcs8.pem"), "k");
        let forger = key(include_str!("sim/keys/cliq-extension.pkcs8.pem"), "k");
        let cache = JwksCache::new("http://127.0.0.1:9/.well-known/jwks.json");
        cache
            .install(Ok(Jwks {
                keys: vec![desk.jwk().expect("jwk")],
            }))
            .expect("keys");
        let claims =
            serde_json::json!({"iss": "orgId:1", "aud": "webhookId:2", "exp": 2_000_000_000});
        let forged = forger.sign_jwt(&claims).expect("sign");
        assert!(cache.verify(&forged).await.is_err());
        assert!(cache.verify(&forged).await.is_err());
        assert!(cache.keys().verified.is_empty());
    }
}
