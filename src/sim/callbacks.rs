//! Cliq calling deskcliq: the callback bodies Cliq sends for commands, bot messages, menu
//! actions and button clicks (`shared/zoho/cliq-api.md`), signed with the extension's key,
//! and the `response_url` where late answers are posted (recorded for tests).

use actix_web::{HttpResponse, web};
use base64::Engine as _;
use serde_json::{Value, json};

use super::{CLIQ_EXTENSION_PRIVATE_KEY, CLIQ_ORG_ID, Inner, Simulator};
use crate::jwt::SigningKey;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v2/responses/{id}", web::post().to(response_url));
}

/// A late answer: Cliq takes `{"output": …}` and shows it to the user.
async fn response_url(
    sim: web::Data<Inner>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return super::gate::cliq_error(400, "invalid_json", "The body is not JSON.");
    };
    let Some(output) = v.get("output") else {
        return super::gate::cliq_error(400, "output_missing", "No output in the response.");
    };
    if let Err(r) = super::cliq::check_output(output) {
        return r;
    }
    sim.state()
        .cliq
        .responses
        .push((format!("/api/v2/responses/{path}"), v));
    HttpResponse::NoContent().finish()
}

/// A Cliq user calling.
#[derive(Debug, Clone)]
pub struct CliqUser {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub organization_id: String,
    pub language: String,
    pub timezone: String,
}

impl CliqUser {
    /// A user of the simulator's Cliq organisation.
    pub fn new(id: &str, email: &str, language: &str) -> CliqUser {
        CliqUser {
            id: id.into(),
            email: email.into(),
            first_name: "Cliq".into(),
            last_name: "User".into(),
            organization_id: CLIQ_ORG_ID.into(),
            language: language.into(),
            timezone: "Asia/Tokyo".into(),
        }
    }
}

/// The chat a call comes from.
#[derive(Debug, Clone)]
pub struct ChatRef {
    pub id: String,
    /// `channel`, `bot`, `chat`…
    pub kind: String,
    pub channel_unique_name: Option<String>,
}

impl ChatRef {
    pub fn channel(unique_name: &str) -> ChatRef {
        ChatRef {
            id: format!("CT_{unique_name}"),
            kind: "channel".into(),
            channel_unique_name: Some(unique_name.into()),
        }
    }

    /// The user's chat with the bot.
    pub fn bot() -> ChatRef {
        ChatRef {
            id: "CT_bot_deskbot".into(),
            kind: "bot".into(),
            channel_unique_name: None,
        }
    }

    /// A one-to-one chat between people.
    pub fn direct() -> ChatRef {
        ChatRef {
            id: "CT_direct".into(),
            kind: "chat".into(),
            channel_unique_name: None,
        }
    }
}

/// What the user did.
#[derive(Debug, Clone)]
pub enum Invocation {
    Command {
        name: String,
        arguments: String,
    },
    BotMessage(String),
    MenuAction(String),
    /// A click on a button of a message, with its key.
    Button(String),
    /// A click on a button of a message Cliq holds (a card deskcliq posted).
    CardButton {
        key: String,
        chat_id: String,
        message_id: String,
    },
    /// A form submitted, with its values.
    Form {
        name: String,
        values: Value,
    },
    /// A dynamic select of a form asking for options.
    FormValues {
        name: String,
        field: String,
        query: String,
    },
}

/// Where the signature travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    Header,
    BodyField,
}

impl Simulator {
    /// The body Cliq posts for `inv` by `user` in `chat`, stamped now, with a `response_url`.
    pub fn callback_body(&self, inv: &Invocation, user: &CliqUser, chat: &ChatRef) -> Value {
        let n = {
            let mut st = self.inner.state();
            st.cliq.next += 1;
            st.cliq.next
        };
        let mut params = json!({
            "user": {
                "id": user.id, "email": user.email,
                "first_name": user.first_name, "last_name": user.last_name,
                "organization_id": user.organization_id,
                "timezone": user.timezone, "language": user.language, "admin": false,
            },
            "chat": {
                "id": chat.id, "type": chat.kind, "title": chat.channel_unique_name.clone().unwrap_or_default(),
            },
            "access": {
                "user_id": user.id, "chat_id": chat.id,
                "organization": {"type": "company", "id": user.organization_id},
            },
            "mentions": [], "attachments": [],
        });
        if let (Some(name), Some(c)) = (&chat.channel_unique_name, params["chat"].as_object_mut()) {
            c.insert("channel_unique_name".into(), json!(name));
        }
        let (kind, handler, name) = match inv {
            Invocation::Command { name, arguments } => {
                params["arguments"] = json!(arguments);
                params["options"] = json!({});
                ("command", json!({"type": "execution_handler"}), json!(name))
            }
            Invocation::BotMessage(text) => {
                params["message"] = json!(text);
                params["message_details"] = json!({"message": {"text": text, "type": "text"}});
                ("bot", json!({"type": "message_handler"}), json!(super::BOT))
            }
            Invocation::MenuAction(action) => (
                "bot",
                json!({"type": "action_handler", "name": action}),
                json!(super::BOT),
            ),
            Invocation::Button(key) => {
                params["arguments"] = json!({"key": key});
                params["target"] =
                    json!({"type": "button", "object": {"key": key, "label": "button"}});
                params["message"] = json!({"id": format!("{n}_msg"), "type": "text"});
                (
                    "function",
                    json!({"type": "button_handler"}),
                    json!("deskaction"),
                )
            }
            Invocation::CardButton {
                key,
                chat_id,
                message_id,
            } => {
                params["arguments"] = json!({"key": key});
                params["target"] =
                    json!({"type": "button", "object": {"key": key, "label": "button"}});
                params["message"] = json!({"id": message_id, "type": "card"});
                params["chat"]["id"] = json!(chat_id);
                params["access"]["chat_id"] = json!(chat_id);
                params["access"]["message_id"] = json!(message_id);
                (
                    "function",
                    json!({"type": "button_handler"}),
                    json!("deskaction"),
                )
            }
            Invocation::Form { name, values } => {
                params["form"] = json!({"name": name, "action": "submit", "values": values});
                (
                    "function",
                    json!({"type": "form_handler"}),
                    json!("deskaction"),
                )
            }
            Invocation::FormValues { name, field, query } => {
                params["form"] = json!({"name": name, "values": {}});
                params["target"] = json!({"name": field, "query": query});
                (
                    "function",
                    json!({"type": "form_values_handler"}),
                    json!("deskaction"),
                )
            }
        };
        json!({
            "type": kind,
            "name": name,
            "handler": handler,
            "timestamp": self.inner.clock.now().timestamp_millis(),
            "response_url": format!("{}/api/v2/responses/{n}", self.base_url()),
            "params": params,
        })
    }

    /// The extension's RSA-SHA256 signature of `bytes`, base64.
    pub fn sign_cliq(&self, bytes: &[u8]) -> String {
        SigningKey::from_pkcs8_pem(CLIQ_EXTENSION_PRIVATE_KEY, "cliq")
            .and_then(|k| k.sign_raw(bytes))
            .map(|s| base64::engine::general_purpose::STANDARD.encode(s))
            .unwrap_or_default()
    }

    /// `body` serialised and signed as Cliq sends it: the signature in the `X-Cliq-Signature`
    /// header, or as a `signature` field of the body (signed without it). Returns the bytes
    /// and the header.
    pub fn signed_callback(&self, body: &Value, carrier: Carrier) -> (Vec<u8>, Option<String>) {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let signature = self.sign_cliq(&bytes);
        match carrier {
            Carrier::Header => (bytes, Some(signature)),
            Carrier::BodyField => {
                let mut with = body.clone();
                if let Some(o) = with.as_object_mut() {
                    o.insert("signature".into(), json!(signature));
                }
                (serde_json::to_vec(&with).unwrap_or_default(), None)
            }
        }
    }

    /// Sends `inv` to deskcliq's callback URL as Cliq would (signed in the header); returns the
    /// status and the body.
    pub async fn invoke(
        &self,
        callback_url: &str,
        inv: &Invocation,
        user: &CliqUser,
        chat: &ChatRef,
    ) -> (u16, Value) {
        let body = self.callback_body(inv, user, chat);
        let (bytes, header) = self.signed_callback(&body, Carrier::Header);
        let (status, reply) = send_callback(callback_url, bytes, header).await;
        // Cliq shows an error instead of an output it refuses (limits, shapes): the reply is
        // then handed back under `refused_by_cliq`, with no `output`.
        match reply.get("output").map(super::cliq::check_output) {
            Some(Err(_)) => (status, json!({ "refused_by_cliq": reply })),
            _ => (status, reply),
        }
    }

    /// What reached `response_url`s, in order.
    pub fn cliq_responses(&self) -> Vec<(String, Value)> {
        self.inner.state().cliq.responses.clone()
    }
}

/// POSTs a callback body as Cliq does; the answer as JSON (or as a string when it is not JSON).
pub async fn send_callback(url: &str, bytes: Vec<u8>, signature: Option<String>) -> (u16, Value) {
    let mut req = crate::zoho_http::client()
        .post(url)
        .header("content-type", "application/json")
        .body(bytes);
    if let Some(s) = signature {
        req = req.header("X-Cliq-Signature", s);
    }
    match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
            (status, v)
        }
        Err(e) => (0, Value::String(e.to_string())),
    }
}
