//! What Cliq sends to `POST /cliq/callback` (commands, bot messages, menu actions, button
//! clicks, form submits): its signature, and its JSON read into a [`Callback`]. Cliq's shape
//! (`shared/zoho/cliq-api.md`): `type`, a `handler` object, `timestamp`, `response_url`, and
//! everything else under `params`.

use base64::Engine as _;
use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallbackError {
    #[error("unsigned: no X-Cliq-Signature header and no signature field")]
    Unsigned,
    #[error("bad signature")]
    BadSignature,
    #[error("no usable Cliq public key: {0}")]
    Key(String),
    #[error("timestamp missing or more than 5 minutes away from now")]
    Stale,
    #[error("not a Cliq callback: {0}")]
    Shape(String),
}

/// How far `timestamp` may be from now, either way.
pub const MAX_AGE_MS: i64 = 5 * 60 * 1000;

/// Checks the RSA-SHA256 signature of `raw` (from `header`, or from the body's `signature`
/// field) with the extension's public key, over the raw bytes and otherwise over the compact
/// JSON without `signature`. Returns the body without `signature`.
pub fn verify(
    public_key_pem: &str,
    raw: &[u8],
    header: Option<&str>,
) -> Result<Value, CallbackError> {
    let (n, e) = crate::jwt::rsa_public_from_pem(public_key_pem)
        .map_err(|e| CallbackError::Key(e.to_string()))?;
    let mut body: Option<Value> = serde_json::from_slice(raw).ok();
    let field = body
        .as_mut()
        .and_then(Value::as_object_mut)
        .and_then(|o| o.shift_remove("signature"))
        .and_then(|v| v.as_str().map(str::to_string));
    let signatures: Vec<Vec<u8>> = header
        .into_iter()
        .map(str::to_string)
        .chain(field)
        .filter_map(|s| decode_base64(&s))
        .collect();
    if signatures.is_empty() {
        return if header.is_some() {
            Err(CallbackError::BadSignature)
        } else {
            Err(CallbackError::Unsigned)
        };
    }
    let mut messages = vec![raw.to_vec()];
    if let Some(v) = &body
        && let Ok(compact) = serde_json::to_vec(v)
    {
        messages.push(compact);
    }
    let ok = signatures.iter().any(|sig| {
        messages
            .iter()
            .any(|m| crate::jwt::verify_rsa_sha256(&n, &e, m, sig))
    });
    match (ok, body) {
        (true, Some(v)) => Ok(v),
        (true, None) => Err(CallbackError::Shape("the body is not JSON".into())),
        (false, _) => Err(CallbackError::BadSignature),
    }
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    engines.iter().find_map(|e| e.decode(s).ok())
}

/// Who is calling, as Cliq says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The Cliq user id (their Zoho user id).
    pub id: String,
    pub email: String,
    /// `ja`, `en`, `ja_JP`… as Cliq sends it.
    pub language: Option<String>,
    pub timezone: Option<String>,
    /// From `params.user.organization_id` and `params.access.organization.id`.
    pub organizations: Vec<String>,
}

/// The chat the call came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chat {
    pub id: String,
    /// `channel`, `bot`, `chat`, `groupchat`…
    pub kind: String,
    pub channel_unique_name: Option<String>,
}

/// What the call asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A slash command with its argument text.
    Command { name: String, arguments: String },
    /// Text typed to the bot.
    BotMessage { text: String },
    /// A bot menu action, by name.
    MenuAction { name: String },
    /// A button of one of our messages, by key.
    Button { key: String },
    /// A form submitted (or a dynamic select asking for options).
    Form { name: String },
    /// Anything else Cliq may send.
    Other { kind: String, handler: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub request: Request,
    /// Milliseconds since the epoch.
    pub timestamp_ms: Option<i64>,
    pub response_url: Option<String>,
    pub caller: Caller,
    pub chat: Chat,
}

/// A string or a number, as text.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

impl Callback {
    /// Reads Cliq's JSON. A body without `params` or without a user is refused.
    pub fn parse(v: &Value) -> Result<Callback, CallbackError> {
        let shape = |m: &str| CallbackError::Shape(m.to_string());
        if !v.is_object() {
            return Err(shape("the body is not a JSON object"));
        }
        let params = v
            .get("params")
            .filter(|p| p.is_object())
            .ok_or_else(|| shape("no params"))?;
        let kind = text(v.get("type")).unwrap_or_default();
        // `handler` is an object; one older sample has a top-level `handler_name`.
        let handler = text(at(v, &["handler", "type"]))
            .or_else(|| text(v.get("handler")))
            .unwrap_or_default();
        let handler_name = text(at(v, &["handler", "name"]))
            .or_else(|| text(v.get("handler_name")))
            .or_else(|| text(v.get("name")));
        let timestamp_ms = match v.get("timestamp") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
        // Seconds, should Cliq ever send them.
        .map(|t| if t < 100_000_000_000 { t * 1000 } else { t });
        let user = params.get("user").ok_or_else(|| shape("no params.user"))?;
        let mut organizations: Vec<String> = [
            text(user.get("organization_id")),
            text(at(params, &["access", "organization", "id"])),
        ]
        .into_iter()
        .flatten()
        .map(|s| s.trim().to_string())
        .collect();
        organizations.dedup();
        let caller = Caller {
            id: text(user.get("id"))
                .or_else(|| text(user.get("zuid")))
                .or_else(|| text(at(params, &["access", "user_id"])))
                .unwrap_or_default(),
            email: text(user.get("email")).unwrap_or_default(),
            language: text(user.get("language")),
            timezone: text(user.get("timezone")),
            organizations,
        };
        let chat = params
            .get("chat")
            .map(|c| Chat {
                id: text(c.get("id"))
                    .or_else(|| text(c.get("chat_id")))
                    .or_else(|| text(at(params, &["access", "chat_id"])))
                    .unwrap_or_default(),
                kind: text(c.get("type")).unwrap_or_default(),
                channel_unique_name: text(c.get("channel_unique_name")),
            })
            .unwrap_or_default();
        let request = match (kind.as_str(), handler.as_str()) {
            ("command", _) | (_, "execution_handler") if kind != "bot" && kind != "function" => {
                Request::Command {
                    name: text(v.get("name"))
                        .or(handler_name)
                        .unwrap_or_default()
                        .trim_start_matches('/')
                        .to_ascii_lowercase(),
                    arguments: text(params.get("arguments")).unwrap_or_default(),
                }
            }
            (_, "message_handler") => Request::BotMessage {
                text: text(params.get("message"))
                    .or_else(|| text(at(params, &["message", "text"])))
                    .unwrap_or_default(),
            },
            (_, "action_handler") => Request::MenuAction {
                name: handler_name
                    .or_else(|| text(at(params, &["action", "name"])))
                    .unwrap_or_default(),
            },
            (_, "button_handler") => Request::Button {
                key: button_key(params).ok_or_else(|| shape("a button click without a key"))?,
            },
            (_, "form_handler") | (_, "form_values_handler") => Request::Form {
                name: text(at(params, &["form", "name"]))
                    .or_else(|| text(at(params, &["target", "name"])))
                    .unwrap_or_default(),
            },
            _ => Request::Other { kind, handler },
        };
        Ok(Callback {
            request,
            timestamp_ms,
            response_url: text(v.get("response_url")).filter(|u| !u.is_empty()),
            caller,
            chat,
        })
    }

    /// Whether `timestamp` is within five minutes of `now_ms`.
    pub fn fresh(&self, now_ms: i64) -> bool {
        self.timestamp_ms
            .is_some_and(|t| (now_ms - t).abs() <= MAX_AGE_MS)
    }
}

/// The clicked button's key: in `params.arguments` (`key`, or the arguments map), or in
/// `params.target` (`key`, or `object.key`).
fn button_key(params: &Value) -> Option<String> {
    [
        at(params, &["arguments", "key"]),
        at(params, &["target", "key"]),
        at(params, &["target", "object", "key"]),
        at(params, &["target", "id"]),
        params.get("key"),
        params.get("arguments").filter(|a| a.is_string()),
    ]
    .into_iter()
    .find_map(|v| text(v).filter(|k| !k.trim().is_empty()))
}
