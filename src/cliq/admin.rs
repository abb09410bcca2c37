//! Cliq's administration APIs, for `deskcliq install`, `doctor` and `uninstall`: channels
//! looked up by unique name and their members, users and their organisation, and the
//! platform components that reach deskcliq by webhook (the bot and its handlers, slash
//! commands, functions).
//!
//! Paths and JSON fields follow Zoho's documents (`shared/zoho/cliq-api.md`, Zoho's v3
//! OpenAPI files for Bots, Slash Commands and Functions):
//! - `GET /api/v2/channelsbyname/{unique_name}`, `GET /api/v2/channels/{channel_id}/members`,
//!   `GET /api/v2/users/{id}` (v2; the answer may be bare or under `data`: both are read);
//! - `/api/v3/bots`, `/api/v3/bots/b-{id}`, `/api/v3/bots/b-{id}/handlers[/{type}]`;
//! - `/api/v3/commands`, `/api/v3/commands/{id}`, `/api/v3/commands/{id}/handlers[/{type}]`;
//! - `/api/v3/functions`, `/api/v3/functions/{id}`, `/api/v3/functions/{id}/handlers[/{type}]`.
//!
//! v3 answers are envelopes `{"url", "type", "data"}`; lists page with `limit` (at most 50)
//! and `next_token`. A component with `execution_type: "webhook"` is created first, then its
//! handlers are given the `permissions` (the data Cliq puts in the POST to the execution URL).
//!
//! The definitions ([`BotDef`], [`CommandDef`], [`FunctionDef`]) serialise with `to_json()`
//! to what the developer console needs, handlers included, so `install` can write them to
//! files where the API refuses.

use serde::Serialize;
use serde_json::{Value, json};

use super::{CliqClient, CliqError};
use crate::zoho_http::RawResponse;

/// The page size asked of Cliq's v3 lists (their maximum).
pub const PAGE_LIMIT: u32 = 50;
/// Pages read at most from one list (2,000 components).
const MAX_PAGES: usize = 40;

/// The bot's menu actions (Cliq allows 5, each at most 15 characters).
pub const MENU_ACTIONS: [&str; 3] = ["Overdue Tickets", "Due Today", "Open Tickets"];
/// The function every button and form of deskcliq invokes.
pub const FUNCTION: &str = "deskaction";

impl CliqError {
    /// Cliq refused this account the call: permissions, OAuth scope, or the plan's limits
    /// (`install` then writes the definitions for the developer console instead).
    pub fn is_refusal(&self) -> bool {
        match self {
            CliqError::Api { status, code, .. } => {
                *status == 403
                    || code.contains("permission")
                    || code.contains("scope")
                    || code.contains("plan")
                    || code.contains("restricted")
                    || code.ends_with("creation_limit_exceeded")
                    || matches!(code.as_str(), "operation_not_allowed" | "forbidden")
            }
            _ => false,
        }
    }

    /// Cliq says the thing asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            CliqError::Api { status, code, .. } => {
                *status == 404 || code.ends_with("_not_found") || code.contains("not_exist")
            }
            _ => false,
        }
    }
}

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

// ------------------------------------------------------------------- definitions

/// A handler to give a webhook component: its type, the data Cliq sends (`permissions`),
/// and, for a menu action, its label and icon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandlerDef {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    pub permissions: Vec<String>,
}

impl HandlerDef {
    pub fn new(kind: &str, permissions: &[&str]) -> HandlerDef {
        HandlerDef {
            kind: kind.into(),
            name: None,
            icon: None,
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
        }
    }

    /// A bot menu action (`menu_handler` with a label; Cliq sends no `message` for these).
    pub fn menu_action(label: &str) -> HandlerDef {
        HandlerDef {
            name: Some(label.into()),
            ..HandlerDef::new("menu_handler", &["chat", "user"])
        }
    }

    fn body(&self, with_type: bool) -> Value {
        let mut v = json!({ "permissions": self.permissions });
        if let Some(o) = v.as_object_mut() {
            if with_type {
                o.insert("type".into(), self.kind.clone().into());
            }
            if let Some(n) = &self.name {
                o.insert("name".into(), n.clone().into());
            }
            if let Some(i) = &self.icon {
                o.insert("icon".into(), i.clone().into());
            }
        }
        v
    }
}

/// A bot whose handlers run by webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BotDef {
    /// Display name (at most 20 characters).
    pub name: String,
    /// The unique name deskcliq expects (`cliq.bot`). Cliq derives it from the name when it
    /// creates the bot and never takes it as input: shown for the developer console only.
    pub unique_name: String,
    pub description: String,
    pub scope: String,
    pub execution_type: String,
    pub execution_url: String,
    pub channel_participation: Vec<String>,
    pub handlers: Vec<HandlerDef>,
}

impl BotDef {
    /// The definition with its handlers, for the developer console.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// `POST /api/v3/bots`: without the unique name and handlers.
    fn create_body(&self) -> Value {
        json!({
            "name": self.name,
            "description": self.description,
            "scope": self.scope,
            "execution_type": self.execution_type,
            "execution_url": self.execution_url,
            "channel_participation": self.channel_participation,
        })
    }

    /// `PATCH /api/v3/bots/b-{id}`: what an update may change.
    fn update_body(&self) -> Value {
        json!({
            "description": self.description,
            "execution_url": self.execution_url,
            "channel_participation": self.channel_participation,
        })
    }
}

/// A slash command run by webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandDef {
    /// Lowercase letters, at most 30.
    pub name: String,
    /// At most 128 characters.
    pub hint: String,
    /// At most 300 characters.
    pub description: String,
    pub scope: String,
    pub execution_type: String,
    pub execution_url: String,
    pub handlers: Vec<HandlerDef>,
}

impl CommandDef {
    /// An organisation-wide command POSTed to `url`, with the chat and the user in it.
    pub fn webhook(name: &str, hint: &str, description: &str, url: &str) -> CommandDef {
        CommandDef {
            name: name.into(),
            hint: hint.into(),
            description: description.into(),
            scope: "organization".into(),
            execution_type: "webhook".into(),
            execution_url: url.into(),
            handlers: vec![HandlerDef::new("execution_handler", &["chat", "user"])],
        }
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn create_body(&self) -> Value {
        json!({
            "name": self.name,
            "hint": self.hint,
            "description": self.description,
            "scope": self.scope,
            "execution_type": self.execution_type,
            "execution_url": self.execution_url,
        })
    }

    /// `PATCH /api/v3/commands/{id}`: the execution type cannot change.
    fn update_body(&self) -> Value {
        json!({
            "hint": self.hint,
            "description": self.description,
            "scope": self.scope,
            "execution_url": self.execution_url,
        })
    }
}

/// A function run by webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionDef {
    /// At most 30 characters.
    pub name: String,
    /// At most 300 characters.
    pub description: String,
    /// `button` | `form` (fixed once created).
    pub function_type: String,
    pub execution_type: String,
    pub execution_url: String,
    pub handlers: Vec<HandlerDef>,
}

impl FunctionDef {
    /// A button function: Cliq sends the chat, the clicked message and the user.
    pub fn button(name: &str, description: &str, url: &str) -> FunctionDef {
        FunctionDef {
            name: name.into(),
            description: description.into(),
            function_type: "button".into(),
            execution_type: "webhook".into(),
            execution_url: url.into(),
            handlers: vec![HandlerDef::new(
                "button_handler",
                &["chat", "message", "user"],
            )],
        }
    }

    /// A form function: Cliq sends the chat, the message and the user on submit.
    pub fn form(name: &str, description: &str, url: &str) -> FunctionDef {
        FunctionDef {
            function_type: "form".into(),
            handlers: vec![HandlerDef::new(
                "form_submit_handler",
                &["chat", "message", "user"],
            )],
            ..FunctionDef::button(name, description, url)
        }
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn create_body(&self) -> Value {
        json!({
            "name": self.name,
            "description": self.description,
            "function_type": self.function_type,
            "execution_type": self.execution_type,
            "execution_url": self.execution_url,
        })
    }

    /// `PATCH /api/v3/functions/{id}`: the type cannot change.
    fn update_body(&self) -> Value {
        json!({ "description": self.description, "execution_url": self.execution_url })
    }
}

/// Everything deskcliq registers in Cliq.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Definitions {
    pub bot: BotDef,
    pub commands: Vec<CommandDef>,
    pub functions: Vec<FunctionDef>,
}

impl Definitions {
    /// deskcliq's bot (`Deskbot`: message handler and the three menu actions), its commands
    /// (`ticket`, `pendingtickets`, `deskstatus`, `deskcliq`) and the `deskaction` button
    /// function, all POSTing to `callback_url` (`{public_url}/cliq/callback`).
    pub fn deskcliq(callback_url: &str, bot_unique_name: &str) -> Definitions {
        let mut handlers = vec![HandlerDef::new(
            "message_handler",
            &["chat", "message", "user"],
        )];
        handlers.extend(MENU_ACTIONS.iter().map(|a| HandlerDef::menu_action(a)));
        let bot = BotDef {
            name: "Deskbot".into(),
            unique_name: bot_unique_name.into(),
            description: "Zoho Desk notifications, ticket look-ups and quick actions (deskcliq)."
                .into(),
            scope: "organization".into(),
            execution_type: "webhook".into(),
            execution_url: callback_url.into(),
            channel_participation: vec!["send_message".into()],
            handlers,
        };
        let commands = vec![
            CommandDef::webhook(
                "ticket",
                "Your recent tickets, a ticket by number, or a customer's by email",
                "/ticket shows the 3 most recent tickets assigned to you; /ticket 115 shows ticket 115; /ticket someone@example.com the customer's 3 most recent.",
                callback_url,
            ),
            CommandDef::webhook(
                "pendingtickets",
                "Unresolved tickets: open, on hold, overdue, unassigned",
                "Counts of the portal's unresolved tickets.",
                callback_url,
            ),
            CommandDef::webhook(
                "deskstatus",
                "Last 24 h: new, closed, csat or top agents",
                "/deskstatus [new|closed|csat|top]: the last 24 hours' figures.",
                callback_url,
            ),
            CommandDef::webhook(
                "deskcliq",
                "Link or unlink your Zoho Desk account, or help",
                "/deskcliq link|unlink|help",
                callback_url,
            ),
        ];
        let functions = vec![FunctionDef::button(
            FUNCTION,
            "The buttons and forms of deskcliq's cards (status, assign, reply, comment, Post here).",
            callback_url,
        )];
        Definitions {
            bot,
            commands,
            functions,
        }
    }

    /// `{"bot": …, "commands": […], "functions": […]}` for the developer console.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

// ------------------------------------------------------------------- reading answers

fn json_of(r: &RawResponse) -> Value {
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

/// The record of an answer: under `data` (v3 envelopes), `channel`, or the answer itself.
fn record(v: Value) -> Value {
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
fn text(v: &Value, keys: &[&str]) -> Option<String> {
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

fn invalid(r: &RawResponse, what: &str) -> CliqError {
    CliqError::Api {
        status: r.status,
        code: "invalid_response".into(),
        message: format!("Cliq answered without {what}"),
    }
}

fn handler_of(v: &Value) -> HandlerInfo {
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

fn channel_of(v: &Value) -> ChannelInfo {
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

fn member_of(v: &Value) -> ChannelMember {
    ChannelMember {
        user_id: text(v, &["user_id", "id"]).unwrap_or_default(),
        email: text(v, &["email_id", "email"]),
        name: text(v, &["name", "display_name"]),
        role: text(v, &["user_role", "role"]),
        kind: text(v, &["type"]),
        unique_name: text(v, &["unique_name", "bot_unique_name"]),
    }
}

fn bot_of(v: &Value) -> BotInfo {
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

fn command_of(v: &Value) -> CommandInfo {
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

fn function_of(v: &Value) -> FunctionInfo {
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

fn user_of(v: &Value) -> CliqUser {
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
fn bot_path(id: &str) -> String {
    if id.starts_with("b-") {
        id.to_string()
    } else {
        format!("b-{id}")
    }
}

/// Replaces the handlers of `info` listed in `defs` by what was registered.
fn merge_handlers(handlers: &mut Vec<HandlerInfo>, done: Vec<HandlerInfo>) {
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

// ------------------------------------------------------------------- the calls

/// The two kinds of component that share the v3 handler endpoints.
#[derive(Clone, Copy)]
enum Component {
    Commands,
    Functions,
}

impl Component {
    fn segment(self) -> &'static str {
        match self {
            Component::Commands => "commands",
            Component::Functions => "functions",
        }
    }
}

impl CliqClient {
    async fn get_json(&self, segments: &[&str]) -> Result<(RawResponse, Value), CliqError> {
        let url = self.url(segments);
        let r = self
            .call(|auth| self.http.get(&url).header("Authorization", auth))
            .await?;
        let v = json_of(&r);
        Ok((r, v))
    }

    async fn send_json(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<(RawResponse, Value), CliqError> {
        let url = self.url(segments);
        let r = self
            .call(|auth| {
                let b = self
                    .http
                    .request(method.clone(), &url)
                    .query(query)
                    .header("Authorization", auth);
                match body {
                    Some(body) => b.json(body),
                    None => b,
                }
            })
            .await?;
        let v = json_of(&r);
        Ok((r, v))
    }

    /// Every item of a v3 list, following `next_token`.
    async fn list_all(&self, segments: &[&str]) -> Result<Vec<Value>, CliqError> {
        let url = self.url(segments);
        let limit = PAGE_LIMIT.to_string();
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let r = self
                .call(|auth| {
                    let mut q = vec![("limit", limit.as_str())];
                    if let Some(t) = &token {
                        q.push(("next_token", t.as_str()));
                    }
                    self.http.get(&url).query(&q).header("Authorization", auth)
                })
                .await?;
            let v = json_of(&r);
            if let Some(items) = v.get("data").and_then(Value::as_array) {
                out.extend(items.iter().cloned());
            }
            match v.get("next_token").and_then(Value::as_str) {
                Some(t) if !t.is_empty() && token.as_deref() != Some(t) => {
                    token = Some(t.to_string())
                }
                _ => return Ok(out),
            }
        }
        Ok(out)
    }

    // ---------------------------------------------------------------- channels, users

    /// The channel with this unique name (`None`: Cliq says there is none).
    pub async fn channel_by_name(
        &self,
        unique_name: &str,
    ) -> Result<Option<ChannelInfo>, CliqError> {
        match self
            .get_json(&["api", "v2", "channelsbyname", unique_name])
            .await
        {
            Ok((r, v)) => {
                let mut c = channel_of(&record(v));
                if c.channel_id.is_empty() {
                    return Err(invalid(&r, "a channel_id"));
                }
                if c.unique_name.is_empty() {
                    c.unique_name = unique_name.to_string();
                }
                Ok(Some(c))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The members of a channel (by its `channel_id`).
    pub async fn channel_members(&self, channel_id: &str) -> Result<Vec<ChannelMember>, CliqError> {
        let (_, v) = self
            .get_json(&["api", "v2", "channels", channel_id, "members"])
            .await?;
        let list = v
            .get("members")
            .or_else(|| v.get("data"))
            .and_then(Value::as_array)
            .map(|a| a.iter().map(member_of).collect())
            .unwrap_or_default();
        Ok(list)
    }

    /// Whether the configured bot is a member of the channel (`false` when the channel
    /// does not exist). Read from the channel's members: see [`ChannelMember::is_bot`].
    pub async fn bot_in_channel(&self, unique_name: &str) -> Result<bool, CliqError> {
        let Some(channel) = self.channel_by_name(unique_name).await? else {
            return Ok(false);
        };
        let members = self.channel_members(&channel.channel_id).await?;
        Ok(members.iter().any(|m| m.is_bot(&self.bot)))
    }

    /// A Cliq user by zuid (or email), with their organisation (`None`: no such user).
    pub async fn user(&self, id: &str) -> Result<Option<CliqUser>, CliqError> {
        match self.get_json(&["api", "v2", "users", id]).await {
            Ok((r, v)) => {
                let u = user_of(&record(v));
                if u.id.is_empty() {
                    return Err(invalid(&r, "a user id"));
                }
                Ok(Some(u))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    // ---------------------------------------------------------------- bots

    /// The bots the token's user can see.
    pub async fn list_bots(&self) -> Result<Vec<BotInfo>, CliqError> {
        let items = self.list_all(&["api", "v3", "bots"]).await?;
        Ok(items.iter().map(bot_of).collect())
    }

    /// The bot with this unique name, handlers included.
    pub async fn get_bot(&self, unique_name: &str) -> Result<Option<BotInfo>, CliqError> {
        let bots = self.list_bots().await?;
        Ok(bots.into_iter().find(|b| b.unique_name == unique_name))
    }

    /// Whether the configured bot (`cliq.bot`) exists.
    pub async fn bot_exists(&self) -> Result<bool, CliqError> {
        Ok(self.get_bot(&self.bot).await?.is_some())
    }

    /// Creates the bot, then its handlers. Cliq chooses the unique name (from the display
    /// name): compare the answer's `unique_name` with `cliq.bot`.
    pub async fn create_bot(&self, def: &BotDef) -> Result<BotInfo, CliqError> {
        let (r, v) = self
            .send_json(
                reqwest::Method::POST,
                &["api", "v3", "bots"],
                &[],
                Some(&def.create_body()),
            )
            .await?;
        let mut bot = bot_of(&record(v));
        if bot.id.is_empty() {
            return Err(invalid(&r, "the bot's id"));
        }
        let mut done = Vec::new();
        for h in &def.handlers {
            done.push(self.create_bot_handler(&bot.id, h).await?);
        }
        merge_handlers(&mut bot.handlers, done);
        Ok(bot)
    }

    /// Updates a bot's description, execution URL and channel participation (its display
    /// name and unique name are left alone). Handlers are not touched.
    pub async fn update_bot(&self, bot_id: &str, def: &BotDef) -> Result<BotInfo, CliqError> {
        let path = bot_path(bot_id);
        let (r, v) = self
            .send_json(
                reqwest::Method::PATCH,
                &["api", "v3", "bots", &path],
                &[],
                Some(&def.update_body()),
            )
            .await?;
        let bot = bot_of(&record(v));
        if bot.id.is_empty() {
            return Err(invalid(&r, "the bot's id"));
        }
        Ok(bot)
    }

    /// Deletes a bot (`false`: it was not there).
    pub async fn delete_bot(&self, bot_id: &str) -> Result<bool, CliqError> {
        let path = bot_path(bot_id);
        self.delete(&["api", "v3", "bots", &path], &[]).await
    }

    /// Adds a handler to a bot (a menu action each time for `menu_handler`).
    pub async fn create_bot_handler(
        &self,
        bot_id: &str,
        handler: &HandlerDef,
    ) -> Result<HandlerInfo, CliqError> {
        let path = bot_path(bot_id);
        let (_, v) = self
            .send_json(
                reqwest::Method::POST,
                &["api", "v3", "bots", &path, "handlers"],
                &[],
                Some(&handler.body(true)),
            )
            .await?;
        Ok(registered(handler, &record(v)))
    }

    /// The handler of a bot (`handler_id` picks one menu action); `None`: there is none.
    pub async fn get_bot_handler(
        &self,
        bot_id: &str,
        kind: &str,
        handler_id: Option<&str>,
    ) -> Result<Option<HandlerInfo>, CliqError> {
        let path = bot_path(bot_id);
        let query: Vec<(&str, &str)> = handler_id.map(|h| ("handler_id", h)).into_iter().collect();
        match self
            .send_json(
                reqwest::Method::GET,
                &["api", "v3", "bots", &path, "handlers", kind],
                &query,
                None,
            )
            .await
        {
            Ok((_, v)) => {
                let mut h = handler_of(&record(v));
                if h.kind.is_empty() {
                    h.kind = kind.to_string();
                }
                Ok(Some(h))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sets a bot handler's permissions (and a menu action's label and icon).
    pub async fn update_bot_handler(
        &self,
        bot_id: &str,
        handler: &HandlerDef,
        handler_id: Option<&str>,
    ) -> Result<HandlerInfo, CliqError> {
        let path = bot_path(bot_id);
        let query: Vec<(&str, &str)> = handler_id.map(|h| ("handler_id", h)).into_iter().collect();
        let (_, v) = self
            .send_json(
                reqwest::Method::PATCH,
                &["api", "v3", "bots", &path, "handlers", &handler.kind],
                &query,
                Some(&handler.body(false)),
            )
            .await?;
        let mut h = registered(handler, &record(v));
        if h.id.is_none() {
            h.id = handler_id.map(str::to_string);
        }
        Ok(h)
    }

    /// Removes a bot handler (`false`: it was not there).
    pub async fn delete_bot_handler(
        &self,
        bot_id: &str,
        kind: &str,
        handler_id: Option<&str>,
    ) -> Result<bool, CliqError> {
        let path = bot_path(bot_id);
        let query: Vec<(&str, &str)> = handler_id.map(|h| ("handler_id", h)).into_iter().collect();
        self.delete(&["api", "v3", "bots", &path, "handlers", kind], &query)
            .await
    }

    // ---------------------------------------------------------------- commands

    /// Every slash command the token's user can see.
    pub async fn list_commands(&self) -> Result<Vec<CommandInfo>, CliqError> {
        let items = self.list_all(&["api", "v3", "commands"]).await?;
        Ok(items.iter().map(command_of).collect())
    }

    /// Creates a command, then sets its handlers' permissions.
    pub async fn create_command(&self, def: &CommandDef) -> Result<CommandInfo, CliqError> {
        let (r, v) = self
            .send_json(
                reqwest::Method::POST,
                &["api", "v3", "commands"],
                &[],
                Some(&def.create_body()),
            )
            .await?;
        let mut c = command_of(&record(v));
        if c.id.is_empty() {
            return Err(invalid(&r, "the command's id"));
        }
        let done = self
            .set_handlers(Component::Commands, &c.id, &def.handlers)
            .await?;
        merge_handlers(&mut c.handlers, done);
        Ok(c)
    }

    /// Updates a command's hint, description, scope and execution URL, then its handlers.
    pub async fn update_command(
        &self,
        id: &str,
        def: &CommandDef,
    ) -> Result<CommandInfo, CliqError> {
        let (r, v) = self
            .send_json(
                reqwest::Method::PATCH,
                &["api", "v3", "commands", id],
                &[],
                Some(&def.update_body()),
            )
            .await?;
        let mut c = command_of(&record(v));
        if c.id.is_empty() {
            return Err(invalid(&r, "the command's id"));
        }
        let done = self
            .set_handlers(Component::Commands, id, &def.handlers)
            .await?;
        merge_handlers(&mut c.handlers, done);
        Ok(c)
    }

    /// Deletes a command (`false`: it was not there).
    pub async fn delete_command(&self, id: &str) -> Result<bool, CliqError> {
        self.delete(&["api", "v3", "commands", id], &[]).await
    }

    /// A command's handler (`None`: there is none).
    pub async fn get_command_handler(
        &self,
        id: &str,
        kind: &str,
    ) -> Result<Option<HandlerInfo>, CliqError> {
        self.get_handler(Component::Commands, id, kind).await
    }

    // ---------------------------------------------------------------- functions

    /// Every function the token's user defined.
    pub async fn list_functions(&self) -> Result<Vec<FunctionInfo>, CliqError> {
        let items = self.list_all(&["api", "v3", "functions"]).await?;
        Ok(items.iter().map(function_of).collect())
    }

    /// Creates a function, then sets its handlers' permissions.
    pub async fn create_function(&self, def: &FunctionDef) -> Result<FunctionInfo, CliqError> {
        let (r, v) = self
            .send_json(
                reqwest::Method::POST,
                &["api", "v3", "functions"],
                &[],
                Some(&def.create_body()),
            )
            .await?;
        let mut f = function_of(&record(v));
        if f.id.is_empty() {
            return Err(invalid(&r, "the function's id"));
        }
        let done = self
            .set_handlers(Component::Functions, &f.id, &def.handlers)
            .await?;
        merge_handlers(&mut f.handlers, done);
        Ok(f)
    }

    /// Updates a function's description and execution URL, then its handlers.
    pub async fn update_function(
        &self,
        id: &str,
        def: &FunctionDef,
    ) -> Result<FunctionInfo, CliqError> {
        let (r, v) = self
            .send_json(
                reqwest::Method::PATCH,
                &["api", "v3", "functions", id],
                &[],
                Some(&def.update_body()),
            )
            .await?;
        let mut f = function_of(&record(v));
        if f.id.is_empty() {
            return Err(invalid(&r, "the function's id"));
        }
        let done = self
            .set_handlers(Component::Functions, id, &def.handlers)
            .await?;
        merge_handlers(&mut f.handlers, done);
        Ok(f)
    }

    /// Deletes a function (`false`: it was not there).
    pub async fn delete_function(&self, id: &str) -> Result<bool, CliqError> {
        self.delete(&["api", "v3", "functions", id], &[]).await
    }

    /// A function's handler (`None`: there is none).
    pub async fn get_function_handler(
        &self,
        id: &str,
        kind: &str,
    ) -> Result<Option<HandlerInfo>, CliqError> {
        self.get_handler(Component::Functions, id, kind).await
    }

    // ---------------------------------------------------------------- shared

    async fn delete(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<bool, CliqError> {
        match self
            .send_json(reqwest::Method::DELETE, segments, query, None)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn get_handler(
        &self,
        component: Component,
        id: &str,
        kind: &str,
    ) -> Result<Option<HandlerInfo>, CliqError> {
        match self
            .get_json(&["api", "v3", component.segment(), id, "handlers", kind])
            .await
        {
            Ok((_, v)) => {
                let data = record(v);
                let mut h = handler_of(&data);
                // Command and function handlers name their type in `name`.
                h.kind = text(&data, &["type"])
                    .filter(|t| t.ends_with("_handler"))
                    .unwrap_or_else(|| kind.to_string());
                h.name = None;
                Ok(Some(h))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Gives each handler its permissions: the default handler exists once the component
    /// does (PATCH); any other is created (POST).
    async fn set_handlers(
        &self,
        component: Component,
        id: &str,
        handlers: &[HandlerDef],
    ) -> Result<Vec<HandlerInfo>, CliqError> {
        let seg = component.segment();
        let mut done = Vec::new();
        for h in handlers {
            let patched = self
                .send_json(
                    reqwest::Method::PATCH,
                    &["api", "v3", seg, id, "handlers", &h.kind],
                    &[],
                    Some(&h.body(false)),
                )
                .await;
            match patched {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {
                    self.send_json(
                        reqwest::Method::POST,
                        &["api", "v3", seg, id, "handlers"],
                        &[],
                        Some(&h.body(true)),
                    )
                    .await?;
                }
                Err(e) => return Err(e),
            }
            done.push(HandlerInfo {
                kind: h.kind.clone(),
                id: None,
                name: h.name.clone(),
                icon: h.icon.clone(),
                permissions: h.permissions.clone(),
            });
        }
        Ok(done)
    }
}

/// What Cliq says it registered for `def` (the definition fills what it leaves out).
fn registered(def: &HandlerDef, v: &Value) -> HandlerInfo {
    let mut h = handler_of(v);
    if h.kind.is_empty() || !h.kind.ends_with("_handler") {
        h.kind = def.kind.clone();
    }
    if h.name.is_none() {
        h.name = def.name.clone();
    }
    if h.icon.is_none() {
        h.icon = def.icon.clone();
    }
    if h.permissions.is_empty() {
        h.permissions = def.permissions.clone();
    }
    h
}

/// `definitions` as the files `install` writes: one JSON object per component.
pub fn definition_files(definitions: &Definitions) -> Vec<(String, Value)> {
    let mut files = vec![("bot.json".to_string(), definitions.bot.to_json())];
    files.extend(
        definitions
            .commands
            .iter()
            .map(|c| (format!("command-{}.json", c.name), c.to_json())),
    );
    files.extend(
        definitions
            .functions
            .iter()
            .map(|f| (format!("function-{}.json", f.name), f.to_json())),
    );
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_carry_webhook_urls_and_handlers() {
        let d = Definitions::deskcliq("https://d.example.com/cliq/callback", "deskbot");
        let v = d.to_json();
        assert_eq!(v["bot"]["name"], "Deskbot");
        assert_eq!(v["bot"]["unique_name"], "deskbot");
        assert_eq!(v["bot"]["execution_type"], "webhook");
        assert_eq!(v["bot"]["handlers"][0]["type"], "message_handler");
        assert_eq!(v["bot"]["handlers"][1]["name"], "Overdue Tickets");
        let names: Vec<_> = d.commands.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["ticket", "pendingtickets", "deskstatus", "deskcliq"]
        );
        for c in &d.commands {
            assert!(c.name.chars().all(|ch| ch.is_ascii_lowercase()));
            assert!(c.hint.chars().count() <= 128);
            assert!(c.description.chars().count() <= 300);
            assert_eq!(
                c.to_json()["execution_url"],
                "https://d.example.com/cliq/callback"
            );
            assert!(c.create_body().get("handlers").is_none());
        }
        assert_eq!(d.functions[0].name, "deskaction");
        assert_eq!(d.functions[0].to_json()["function_type"], "button");
        for a in MENU_ACTIONS {
            assert!(a.chars().count() <= 15);
        }
        assert!(d.bot.create_body().get("unique_name").is_none());
        let files = definition_files(&d);
        assert_eq!(files.len(), 6);
        assert_eq!(files[1].0, "command-ticket.json");
    }

    #[test]
    fn answers_are_read_bare_or_under_data() {
        let c = channel_of(&record(
            json!({"data": {"channel_id": 12, "unique_name": "desk"}}),
        ));
        assert_eq!(c.channel_id, "12");
        let u = user_of(&record(
            json!({"zuid": "5", "email": "a@b", "organization_id": 6011234}),
        ));
        assert_eq!(
            (u.id.as_str(), u.organization_id.as_deref()),
            ("5", Some("6011234"))
        );
        let h = handler_of(&json!({"type": "menu_handler", "id": "9",
            "display_props": {"name": "Due Today", "icon": "x"}}));
        assert_eq!(h.name.as_deref(), Some("Due Today"));
    }

    #[test]
    fn a_bot_member_is_recognised_by_unique_name_or_name() {
        let m = ChannelMember {
            user_id: "b-1".into(),
            name: Some("Desk Bot".into()),
            ..Default::default()
        };
        assert!(m.is_bot("deskbot"));
        let human = ChannelMember {
            user_id: "55".into(),
            name: Some("deskbot".into()),
            ..Default::default()
        };
        assert!(!human.is_bot("deskbot"));
    }

    #[test]
    fn refusals_and_absences_are_told_apart() {
        let e = |status, code: &str| CliqError::Api {
            status,
            code: code.into(),
            message: String::new(),
        };
        assert!(e(403, "permission_denied").is_refusal());
        assert!(e(400, "bot_creation_limit_exceeded").is_refusal());
        assert!(!e(400, "execution_url_not_allowed").is_refusal());
        assert!(e(400, "command_not_found").is_not_found());
        assert!(!e(400, "invalid_inputs").is_not_found());
    }
}
