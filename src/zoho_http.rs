//! HTTP plumbing shared by the Zoho clients: one reqwest client (rustls on ring), calls made
//! with the service grant's access token, and one refresh-and-retry after a dead token.

use std::sync::Once;
use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::oauth::{TokenError, TokenManager};

/// A `Retry-After` value read at `now`: delay-seconds or an HTTP date (IMF-fixdate, which
/// RFC 2822 parsing reads).
fn retry_after_at(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&chrono::Utc) - now)
        .to_std()
        .ok()
        .filter(|d| !d.is_zero())
}

/// The raw outcome of a call: status, headers and body, for the client to decode.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `Retry-After`, when present: seconds, or an HTTP date (RFC 9110 allows both), counted
    /// from now. A date already past says nothing: the caller's own waits apply.
    pub fn retry_after(&self) -> Option<Duration> {
        retry_after_at(self.header("retry-after")?, chrono::Utc::now())
    }

    /// The body's error object: the body itself, or what it holds under `error` (Cliq's v3
    /// answers some calls with `{"error": {"code", "message"}}`).
    fn error_object(&self) -> Option<serde_json::Value> {
        let v: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        match v.get("error") {
            Some(e) if e.is_object() => Some(e.clone()),
            _ => Some(v),
        }
    }

    /// The Zoho error code of the body: Desk's `errorCode` or Cliq's `code` (at the top or
    /// under `error`).
    pub fn error_code(&self) -> Option<String> {
        let v = self.error_object()?;
        v.get("errorCode")
            .or_else(|| v.get("code"))
            .and_then(|c| c.as_str())
            .map(str::to_string)
    }

    pub fn error_message(&self) -> String {
        self.error_object()
            .and_then(|v| {
                v.get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| {
                let text = String::from_utf8_lossy(&self.body);
                text.chars().take(200).collect()
            })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Connection, TLS or timeout; the message never carries the URL (it may hold secrets).
    #[error("transport: {0}")]
    Transport(String),
}

pub fn transport(e: reqwest::Error) -> CallError {
    CallError::Transport(e.without_url().to_string())
}

/// The reqwest client every Zoho call uses.
pub fn client() -> reqwest::Client {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        // Another part of the process may have installed one already; either is ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .user_agent(concat!("deskcliq/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|e| {
            tracing::error!(error = %e.without_url(), "cannot build the HTTP client; using defaults");
            reqwest::Client::new()
        })
}

/// True for the answers Zoho gives to a dead or revoked access token.
/// Desk says `INVALID_OAUTH` ("invalid or expired") or `UNAUTHORIZED` ("the authentication
/// token is invalid", its API reference); Cliq `oauthtoken_invalid`, or only a message about
/// an invalid AuthToken (its v3 spec), or nothing at all: a 401 whose body is empty or HTML
/// rather than JSON (Cliq's answer to a token it does not take). The refreshes this leads to
/// are bounded by [`TokenManager::refused`] and the token manager's own limit.
fn token_is_dead(r: &RawResponse) -> bool {
    r.status == 401
        && (matches!(
            r.error_code().as_deref(),
            Some("INVALID_OAUTH")
                | Some("UNAUTHORIZED")
                | Some("oauthtoken_invalid")
                | Some("invalid_oauthtoken")
        ) || r.error_message().contains("invalid AuthToken")
            || serde_json::from_slice::<serde_json::Value>(&r.body).is_err())
}

/// Sends `request`; the answer, and the host (with its port) that gave it.
async fn send_once(request: reqwest::RequestBuilder) -> Result<(RawResponse, String), CallError> {
    let (client, request) = request.build_split();
    let request = request.map_err(transport)?;
    let host = format!(
        "{}:{}",
        request.url().host_str().unwrap_or(""),
        request.url().port_or_known_default().unwrap_or(0)
    );
    let resp = client.execute(request).await.map_err(transport)?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.map_err(transport)?.to_vec();
    Ok((
        RawResponse {
            status,
            headers,
            body,
        },
        host,
    ))
}

/// Sends the request `build` makes with a current access token; after a 401 INVALID_OAUTH /
/// oauthtoken_invalid (or an empty or HTML 401), refreshes once and sends it once more (unless
/// the host refuses new tokens as well: [`TokenManager::refused`]).
pub async fn send_authed(
    tokens: &TokenManager,
    build: impl Fn(&str) -> reqwest::RequestBuilder,
) -> Result<RawResponse, CallError> {
    let token = tokens.access_token().await?;
    let (first, host) = send_once(build(&format!("Zoho-oauthtoken {token}"))).await?;
    if !token_is_dead(&first) {
        tokens.accepted(&token, &host);
        return Ok(first);
    }
    if !tokens.refused(&token, &host) {
        return Ok(first);
    }
    tracing::info!(
        grant = tokens.grant_name(),
        "access token refused; refreshing once"
    );
    let token = tokens.access_token().await?;
    let (second, host) = send_once(build(&format!("Zoho-oauthtoken {token}"))).await?;
    if !token_is_dead(&second) {
        tokens.accepted(&token, &host);
    }
    Ok(second)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> RawResponse {
        RawResponse {
            status,
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-26T07:28:00Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        assert_eq!(retry_after_at(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after_at("Thu, 26 Nov 2026 07:38:00 GMT", now),
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            retry_after_at("Thu, 26 Nov 2026 07:00:00 GMT", now),
            None,
            "a date already past"
        );
        assert_eq!(retry_after_at("soon", now), None);
    }

    #[test]
    fn an_error_nested_under_error_gives_its_code_and_message() {
        let r = answer(
            400,
            r#"{"error":{"code":"bot_already_member","message":"Already a member."}}"#,
        );
        assert_eq!(r.error_code().as_deref(), Some("bot_already_member"));
        assert_eq!(r.error_message(), "Already a member.");
        // The top-level shapes read as before.
        let r = answer(
            400,
            r#"{"code":"channel_not_found","message":"No such channel."}"#,
        );
        assert_eq!(r.error_code().as_deref(), Some("channel_not_found"));
        assert_eq!(r.error_message(), "No such channel.");
        let r = answer(422, r#"{"errorCode":"INVALID_DATA","message":"bad"}"#);
        assert_eq!(r.error_code().as_deref(), Some("INVALID_DATA"));
    }
}
