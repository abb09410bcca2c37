//! What Cliq answers: channels, members, users and the platform components, and how
//! their JSON is read.

use serde::Serialize;
use serde_json::Value;

use super::CliqError;
use crate::zoho_http::RawResponse;

// ------------------------------------------------------------------- what Cliq answers

/// A channel (`GET /api/v2/channelsbyname/{unique_name}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChannelInfo {
    /// The channel object's id (members and settings calls use it).
    pub channel_id: String,
    pub unique_name: String,
    pub name: String,
    /// The message stream's id (`CT_…`).
    pub chat_id: Option<String>,
    /// `organization` | `team` | `private` | `external`.
    pub level: Option<String>,
    pub participant_count: Option<u64>,
    /// Whether the token's user is a member.
    pub joined: Option<bool>,
}

/// A member of a channel (`GET /api/v2/channels/{channel_id}/members`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChannelMember {
    pub user_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    /// `bot` for a bot, when Cliq says so.
    pub kind: Option<String>,
    /// A bot member's unique name, when Cliq gives it.
    pub unique_name: Option<String>,
}

impl ChannelMember {
    /// Whether this member is the bot with unique name `bot`. Zoho does not document how
    /// a bot appears among members: a member marked as a bot (`type` or `user_role` `bot`,
    /// or an id `b-…`) whose unique name, or whose name without spaces, is `bot`.
    pub fn is_bot(&self, bot: &str) -> bool {
        let bot = bot.to_lowercase();
        if self
            .unique_name
            .as_deref()
            .is_some_and(|u| u.to_lowercase() == bot)
        {
            return true;
        }
        let bot_like = self.kind.as_deref() == Some("bot")
            || self.role.as_deref() == Some("bot")
            || self.user_id.starts_with("b-");
        bot_like
            && self.name.as_deref().is_some_and(|n| {
                n.chars()
                    .filter(|c| !c.is_whitespace())
                    .collect::<String>()
                    .to_lowercase()
                    == bot
            })
    }
}

/// A handler of a bot, command or function as Cliq lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HandlerInfo {
    /// `message_handler`, `menu_handler`, `execution_handler`, `button_handler`…
    #[serde(rename = "type")]
    pub kind: String,
    /// Menu actions carry an id (`handler_id` in updates).
    pub id: Option<String>,
    /// A menu action's label.
    pub name: Option<String>,
    pub icon: Option<String>,
    /// Webhook handlers: what Cliq puts in the POST (empty when Cliq did not say).
    pub permissions: Vec<String>,
}

/// A bot (`/api/v3/bots`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BotInfo {
    /// Numeric id; paths use `b-{id}`.
    pub id: String,
    pub unique_name: String,
    pub name: String,
    pub description: Option<String>,
    pub scope: Option<String>,
    /// `deluge` | `webhook`.
    pub execution_type: Option<String>,
    pub execution_url: Option<String>,
    pub status: Option<String>,
    pub handlers: Vec<HandlerInfo>,
}

impl BotInfo {
    /// The menu action labelled `name`.
    pub fn menu_action(&self, name: &str) -> Option<&HandlerInfo> {
        self.handlers
            .iter()
            .find(|h| h.kind == "menu_handler" && h.name.as_deref() == Some(name))
    }

    pub fn has_handler(&self, kind: &str) -> bool {
        self.handlers.iter().any(|h| h.kind == kind)
    }
}

/// A slash command (`/api/v3/commands`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CommandInfo {
    pub id: String,
    pub name: String,
    pub hint: Option<String>,
    pub description: Option<String>,
    pub scope: Option<String>,
    pub execution_type: Option<String>,
    pub execution_url: Option<String>,
    pub status: Option<String>,
    pub handlers: Vec<HandlerInfo>,
}

/// A function (`/api/v3/functions`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FunctionInfo {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// `button` | `form` | `widget_button`.
    pub function_type: Option<String>,
    pub execution_type: Option<String>,
    pub execution_url: Option<String>,
    pub status: Option<String>,
    pub handlers: Vec<HandlerInfo>,
}

/// A Cliq user (`GET /api/v2/users/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CliqUser {
    /// The zuid.
    pub id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    /// The user's Cliq organisation (compare with `cliq.org_id` as strings).
    pub organization_id: Option<String>,
}

impl CliqUser {
    /// Whether the user belongs to organisation `org_id`.
    pub fn in_org(&self, org_id: &str) -> bool {
        self.organization_id.as_deref() == Some(org_id)
    }
}

// ------------------------------------------------------------------- reading answers

pub(super) fn json_of(r: &RawResponse) -> Value {
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

/// The record of an answer: under `data` (v3 envelopes), `channel`, or the answer itself.
pub(super) fn record(v: Value) -> Value {
    match v {
        Value::Object(mut o) => {
            for key in ["data", "channel", "user"] {
                if o.get(key).is_some_and(Value::is_object) {
                    return o.remove(key).unwrap_or_default();
                }
            }
            Value::Object(o)
        }
        other => other,
    }
}

/// The first of `keys` present as a string (numbers are ids too).
pub(super) fn text(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match v.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn invalid(r: &RawResponse, what: &str) -> CliqError {
    CliqError::Api {
        status: r.status,
        code: "invalid_response".into(),
        message: format!("Cliq answered without {what}"),
    }
}

pub(super) fn handler_of(v: &Value) -> HandlerInfo {
    let props = v.get("display_props").cloned().unwrap_or(Value::Null);
    HandlerInfo {
        kind: text(v, &["type"]).unwrap_or_default(),
        id: text(v, &["id", "handler_id"]),
        name: text(v, &["name"]).or_else(|| text(&props, &["name"])),
        icon: text(v, &["icon"]).or_else(|| text(&props, &["icon"])),
        permissions: strings(v.get("permissions")),
    }
}

fn handlers_of(v: &Value) -> Vec<HandlerInfo> {
    v.get("handlers")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(handler_of).collect())
        .unwrap_or_default()
}

pub(super) fn channel_of(v: &Value) -> ChannelInfo {
    ChannelInfo {
        channel_id: text(v, &["channel_id", "id"]).unwrap_or_default(),
        unique_name: text(v, &["unique_name"]).unwrap_or_default(),
        name: text(v, &["name"]).unwrap_or_default(),
        chat_id: text(v, &["chat_id"]),
        level: text(v, &["level"]),
        participant_count: v.get("participant_count").and_then(|n| {
            n.as_u64()
                .or_else(|| n.as_str().and_then(|s| s.parse().ok()))
        }),
        joined: v.get("joined").and_then(Value::as_bool),
    }
}

pub(super) fn member_of(v: &Value) -> ChannelMember {
    ChannelMember {
        user_id: text(v, &["user_id", "id"]).unwrap_or_default(),
        email: text(v, &["email_id", "email"]),
        name: text(v, &["name", "display_name"]),
        role: text(v, &["user_role", "role"]),
        kind: text(v, &["type"]),
        unique_name: text(v, &["unique_name", "bot_unique_name"]),
    }
}

pub(super) fn bot_of(v: &Value) -> BotInfo {
    BotInfo {
        id: text(v, &["id"]).unwrap_or_default(),
        unique_name: text(v, &["unique_name"]).unwrap_or_default(),
        name: text(v, &["name"]).unwrap_or_default(),
        description: text(v, &["description"]),
        scope: text(v, &["scope"]),
        execution_type: text(v, &["execution_type"]),
        execution_url: text(v, &["execution_url"]),
        status: text(v, &["status"]),
        handlers: handlers_of(v),
    }
}

pub(super) fn command_of(v: &Value) -> CommandInfo {
    CommandInfo {
        id: text(v, &["id"]).unwrap_or_default(),
        name: text(v, &["name"]).unwrap_or_default(),
        hint: text(v, &["hint"]),
        description: text(v, &["description"]),
        scope: text(v, &["scope"]),
        execution_type: text(v, &["execution_type"]),
        execution_url: text(v, &["execution_url"]),
        status: text(v, &["status"]),
        handlers: handlers_of(v),
    }
}

pub(super) fn function_of(v: &Value) -> FunctionInfo {
    FunctionInfo {
        id: text(v, &["id"]).unwrap_or_default(),
        name: text(v, &["name"]).unwrap_or_default(),
        description: text(v, &["description"]),
        function_type: text(v, &["function_type"]),
        execution_type: text(v, &["execution_type"]),
        execution_url: text(v, &["execution_url"]),
        status: text(v, &["status"]),
        handlers: handlers_of(v),
    }
}

pub(super) fn user_of(v: &Value) -> CliqUser {
    CliqUser {
        id: text(v, &["id", "user_id", "zuid"]).unwrap_or_default(),
        email: text(v, &["email_id", "email"]),
        first_name: text(v, &["first_name"]),
        last_name: text(v, &["last_name"]),
        display_name: text(v, &["display_name", "name"]),
        organization_id: text(v, &["organization_id", "org_id", "zoid"]),
    }
}

/// `b-{id}`, the form v3 bot paths take.
pub(super) fn bot_path(id: &str) -> String {
    if id.starts_with("b-") {
        id.to_string()
    } else {
        format!("b-{id}")
    }
}

/// Replaces the handlers of `info` listed in `defs` by what was registered.
pub(super) fn merge_handlers(handlers: &mut Vec<HandlerInfo>, done: Vec<HandlerInfo>) {
    for h in done {
        match handlers
            .iter_mut()
            .find(|x| x.kind == h.kind && (h.name.is_none() || x.name == h.name))
        {
            Some(x) => {
                x.permissions = h.permissions;
                if h.id.is_some() {
                    x.id = h.id;
                }
            }
            None => handlers.push(h),
        }
    }
}
