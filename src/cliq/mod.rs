//! The Cliq client: posts as the bot to channels and in DMs, edits messages, creates
//! channels and adds the bot to them. Zoho's JSON stays here and in [`message`].

pub mod admin;
pub mod callback;
pub mod message;

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::metrics::Metrics;
use crate::oauth::TokenManager;
use crate::zoho_http::{self, CallError, RawResponse};

pub use message::{Button, Message, Slide};

#[derive(Debug, thiserror::Error)]
pub enum CliqError {
    /// Over a Cliq limit (HTTP 429, or 400 `request_limit_exceeded`): the outbox backs off.
    #[error("Cliq throttled the sender ({code})")]
    Throttled {
        code: String,
        retry_after: Option<Duration>,
    },
    #[error("Cliq answered HTTP {status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error(transparent)]
    Call(#[from] CallError),
}

impl CliqError {
    /// Throttling is retried later by the outbox; other errors are not the budget's business.
    pub fn is_throttle(&self) -> bool {
        matches!(self, CliqError::Throttled { .. })
    }
}

/// A channel Cliq created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Channel {
    #[serde(default)]
    pub channel_id: Option<String>,
    #[serde(default)]
    pub unique_name: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub chat_id: Option<String>,
}

/// Cliq's over-the-limit answers: HTTP 429, or (as v2 does in practice) HTTP 400
/// `request_limit_exceeded` / "You have exceeded the URL throttle limits".
fn is_throttle(r: &RawResponse, code: &str) -> bool {
    r.status == 429
        || matches!(code, "request_limit_exceeded" | "rate_limit_exceeded")
        || (r.status == 400 && r.error_message().contains("throttle limit"))
}

/// `id` with its `%XX` escapes decoded. A message id may hold a space, and Zoho gives it
/// either as it is (`1709038327622 29706114886`) or already percent-encoded
/// (`1709038327622%2029706114886`): decoded first, it is encoded exactly once in the path.
/// Anything that does not decode to UTF-8 is left as it was.
fn percent_decoded(id: &str) -> String {
    let bytes = id.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| id.to_string())
}

#[derive(Clone)]
pub struct CliqClient {
    http: reqwest::Client,
    base: String,
    bot: String,
    tokens: Arc<TokenManager>,
    metrics: Arc<Metrics>,
}

impl CliqClient {
    /// `base` is `zoho.cliq_url` (without `/api/v2`).
    pub fn new(base: &str, bot: &str, tokens: Arc<TokenManager>, metrics: Arc<Metrics>) -> Self {
        CliqClient {
            http: zoho_http::client(),
            base: base.trim_end_matches('/').to_string(),
            bot: bot.to_string(),
            tokens,
            metrics,
        }
    }

    /// `{base}/{segments…}` with each segment percent-encoded (message ids may hold spaces).
    fn url(&self, segments: &[&str]) -> String {
        match url::Url::parse(&self.base) {
            Ok(mut u) => {
                if let Ok(mut path) = u.path_segments_mut() {
                    path.pop_if_empty().extend(segments);
                }
                u.to_string()
            }
            Err(_) => format!("{}/{}", self.base, segments.join("/")),
        }
    }

    async fn call(
        &self,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<RawResponse, CliqError> {
        let r = zoho_http::send_authed(&self.tokens, build).await;
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                self.metrics
                    .cliq_requests_total
                    .with_label_values(&["transport"])
                    .inc();
                return Err(e.into());
            }
        };
        let code = r.error_code().unwrap_or_default();
        let outcome = if (200..300).contains(&r.status) {
            "ok"
        } else if is_throttle(&r, &code) {
            "throttled"
        } else {
            "error"
        };
        self.metrics
            .cliq_requests_total
            .with_label_values(&[outcome])
            .inc();
        match outcome {
            "ok" => Ok(r),
            "throttled" => Err(CliqError::Throttled {
                code: if code.is_empty() {
                    "http_429".into()
                } else {
                    code
                },
                retry_after: r.retry_after(),
            }),
            _ => Err(CliqError::Api {
                status: r.status,
                code,
                message: r.error_message(),
            }),
        }
    }

    /// Posts to a channel as the bot (`channelsbyname`, `bot_unique_name`); the bot must be a
    /// participant of the channel.
    pub async fn post_to_channel(&self, channel: &str, msg: &Message) -> Result<(), CliqError> {
        self.post_raw_to_channel(channel, &msg.to_json()).await
    }

    /// [`CliqClient::post_to_channel`] for a message already in Cliq's JSON (from the outbox).
    pub async fn post_raw_to_channel(
        &self,
        channel: &str,
        body: &serde_json::Value,
    ) -> Result<(), CliqError> {
        let url = self.url(&["api", "v2", "channelsbyname", channel, "message"]);
        self.call(|auth| {
            self.http
                .post(&url)
                .query(&[("bot_unique_name", self.bot.as_str())])
                .header("Authorization", auth)
                .json(body)
        })
        .await?;
        Ok(())
    }

    /// A DM from the bot to each of `users` (Cliq user ids or emails), in one call:
    /// `userids` is one comma-separated string.
    pub async fn dm(&self, users: &[String], msg: &Message) -> Result<(), CliqError> {
        self.dm_raw(users, &msg.to_json()).await
    }

    /// [`CliqClient::dm`] for a message already in Cliq's JSON.
    pub async fn dm_raw(
        &self,
        users: &[String],
        body: &serde_json::Value,
    ) -> Result<(), CliqError> {
        if users.is_empty() {
            return Err(CliqError::Api {
                status: 0,
                code: "no_recipients".into(),
                message: "a DM needs at least one user".into(),
            });
        }
        let url = self.url(&["api", "v2", "bots", &self.bot, "message"]);
        let mut body = body.clone();
        if let Some(obj) = body.as_object_mut() {
            obj.insert("userids".into(), users.join(",").into());
        }
        self.call(|auth| {
            self.http
                .post(&url)
                .header("Authorization", auth)
                .json(&body)
        })
        .await?;
        Ok(())
    }

    /// Rewrites a message's text.
    pub async fn edit_message(
        &self,
        chat_id: &str,
        message_id: &str,
        text: &str,
        notify_edit: bool,
    ) -> Result<(), CliqError> {
        let message_id = percent_decoded(message_id);
        let url = self.url(&["api", "v2", "chats", chat_id, "messages", &message_id]);
        let body = serde_json::json!({
            "text": message::truncate(text, message::TEXT_MAX),
            "notify_edit": notify_edit,
        });
        self.call(|auth| {
            self.http
                .put(&url)
                .header("Authorization", auth)
                .json(&body)
        })
        .await?;
        Ok(())
    }

    /// Creates an organisation-wide channel.
    pub async fn create_channel(
        &self,
        name: &str,
        description: &str,
    ) -> Result<Channel, CliqError> {
        let url = self.url(&["api", "v2", "channels"]);
        let body = serde_json::json!({
            "name": name,
            "level": "organization",
            "description": description,
        });
        let r = self
            .call(|auth| {
                self.http
                    .post(&url)
                    .header("Authorization", auth)
                    .json(&body)
            })
            .await?;
        // Tolerate either a bare channel object or one under "data".
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        let obj = v.get("data").cloned().unwrap_or(v);
        Ok(serde_json::from_value(obj).unwrap_or_default())
    }

    /// Adds the bot to a channel (Cliq allows 5 of these a minute).
    pub async fn associate_bot(&self, channel_unique_name: &str) -> Result<(), CliqError> {
        let url = self.url(&["api", "v3", "bots", &self.bot, "associate"]);
        let body = serde_json::json!({ "channel_unique_name": channel_unique_name });
        match self
            .call(|auth| {
                self.http
                    .post(&url)
                    .header("Authorization", auth)
                    .json(&body)
            })
            .await
        {
            Err(CliqError::Api { code, .. }) if code == "bot_already_member" => Ok(()),
            other => other.map(|_| ()),
        }
    }
}
