//! Cliq's administration APIs, as `deskcliq install`, `doctor` and `uninstall` use them:
//! a channel by unique name and its members, a user with their organisation (v2), and the
//! platform's bots with their handlers, slash commands and functions (v3, as in Zoho's v3
//! OpenAPI files: `{"url", "type", "data"}` envelopes, `limit`/`next_token` lists, handlers
//! with `permissions` for webhook components). Errors are Zoho's `{"code", "message"}`;
//! the scripting API can make any of these refuse with 403 (see `State::refuse_cliq_api`).

use std::collections::HashMap;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::gate::{self, Api, cliq_error};
use super::state::{SimBot, SimCommand, SimFunction, SimHandler, State};
use super::{BOT, Inner};

pub fn routes(cfg: &mut web::ServiceConfig) {
    const COMPONENT: &str = "/api/v3/{component:(commands|functions)}";
    cfg.route(
        "/api/v2/channelsbyname/{channel}",
        web::get().to(channel_by_name),
    )
    .route(
        "/api/v2/channels/{id}/members",
        web::get().to(channel_members),
    )
    .route("/api/v2/users/{id}", web::get().to(get_user))
    .route("/api/v3/bots", web::get().to(list_bots))
    .route("/api/v3/bots", web::post().to(create_bot))
    .route("/api/v3/bots/{id}", web::get().to(get_bot))
    .route("/api/v3/bots/{id}", web::patch().to(update_bot))
    .route("/api/v3/bots/{id}", web::delete().to(delete_bot))
    .route(
        "/api/v3/bots/{id}/handlers",
        web::post().to(create_bot_handler),
    )
    .route(
        "/api/v3/bots/{id}/handlers/{kind}",
        web::get().to(get_bot_handler),
    )
    .route(
        "/api/v3/bots/{id}/handlers/{kind}",
        web::patch().to(update_bot_handler),
    )
    .route(
        "/api/v3/bots/{id}/handlers/{kind}",
        web::delete().to(delete_bot_handler),
    )
    .route(COMPONENT, web::get().to(list_components))
    .route(COMPONENT, web::post().to(create_component))
    .route(
        "/api/v3/{component:(commands|functions)}/{id}",
        web::get().to(get_component),
    )
    .route(
        "/api/v3/{component:(commands|functions)}/{id}",
        web::patch().to(update_component),
    )
    .route(
        "/api/v3/{component:(commands|functions)}/{id}",
        web::delete().to(delete_component),
    )
    .route(
        "/api/v3/{component:(commands|functions)}/{id}/handlers",
        web::post().to(create_component_handler),
    )
    .route(
        "/api/v3/{component:(commands|functions)}/{id}/handlers/{kind}",
        web::get().to(get_component_handler),
    )
    .route(
        "/api/v3/{component:(commands|functions)}/{id}/handlers/{kind}",
        web::patch().to(update_component_handler),
    )
    .route(
        "/api/v3/{component:(commands|functions)}/{id}/handlers/{kind}",
        web::delete().to(delete_component_handler),
    );
}

/// Faults, the OAuth token, then any scripted refusal; returns the caller's zuid.
async fn enter(sim: &Inner, req: &HttpRequest) -> Result<String, HttpResponse> {
    if let Some(r) = gate::faults(sim, req, Api::Cliq).await {
        return Err(r);
    }
    let user = gate::authenticate(sim, req, Api::Cliq)?;
    let write = req.method() != Method::GET;
    let path = req.path();
    let refused = sim
        .state()
        .cliq
        .refusals
        .iter()
        .any(|r| path.contains(r.path_contains.as_str()) && (write || !r.writes_only));
    if refused {
        return Err(cliq_error(
            403,
            "permission_denied",
            "The user does not have enough permission or possibly not an user of the respective organization to access the resource.",
        ));
    }
    Ok(user)
}

// ------------------------------------------------------------------- request bodies

fn invalid(message: &str) -> HttpResponse {
    cliq_error(400, "invalid_inputs", message)
}

/// The body as a JSON object with only `allowed` keys.
fn object(body: &[u8], allowed: &[&str]) -> Result<Map<String, Value>, HttpResponse> {
    let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) else {
        return Err(invalid("The request body must be a JSON object."));
    };
    if let Some(k) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid(&format!("Extra key found: {k}")));
    }
    Ok(o)
}

/// A string field of at most `max` characters (`None`: absent).
fn text(o: &Map<String, Value>, key: &str, max: usize) -> Result<Option<String>, HttpResponse> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(invalid(&format!(
            "The {key} must not exceed {max} characters."
        ))),
        Some(_) => Err(invalid(&format!("The {key} must be a string."))),
    }
}

/// A required, non-blank string field of at most `max` characters.
fn required(o: &Map<String, Value>, key: &str, max: usize) -> Result<String, HttpResponse> {
    match text(o, key, max)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(invalid(&format!("The {key} field is required."))),
    }
}

/// An array of strings, each one of `allowed` (`None`: absent).
fn list(
    o: &Map<String, Value>,
    key: &str,
    allowed: &[&str],
    max: usize,
) -> Result<Option<Vec<String>>, HttpResponse> {
    let Some(v) = o.get(key) else {
        return Ok(None);
    };
    let Some(items) = v.as_array() else {
        return Err(invalid(&format!("The {key} must be an array.")));
    };
    let mut out = Vec::new();
    for item in items {
        match item.as_str() {
            Some(s) if allowed.contains(&s) => out.push(s.to_string()),
            _ => {
                return Err(invalid(&format!(
                    "{key}: allowed values are {}.",
                    allowed.join(", ")
                )));
            }
        }
    }
    if out.len() > max {
        return Err(invalid(&format!("At most {max} {key} are allowed.")));
    }
    Ok(Some(out))
}

fn scope(o: &Map<String, Value>, default: &str) -> Result<String, HttpResponse> {
    let s = text(o, "scope", 20)?.unwrap_or_else(|| default.to_string());
    if !["organization", "team", "personal"].contains(&s.as_str()) {
        return Err(cliq_error(
            400,
            "invalid_scope",
            "Allowed values are organization, team, and personal.",
        ));
    }
    if s == "team"
        && o.get("team_ids")
            .and_then(Value::as_array)
            .is_none_or(|a| a.is_empty())
    {
        return Err(invalid("team_ids is required when scope is team."));
    }
    Ok(s)
}

/// `execution_type` (default `deluge`) and the `execution_url` a webhook component needs.
fn execution(o: &Map<String, Value>) -> Result<(String, Option<String>), HttpResponse> {
    let kind = text(o, "execution_type", 10)?.unwrap_or_else(|| "deluge".into());
    let url = text(o, "execution_url", 225)?;
    match (kind.as_str(), url) {
        ("webhook", Some(u)) => Ok((kind, Some(checked_url(&u)?))),
        ("webhook", None) => Err(cliq_error(
            400,
            "execution_url_required",
            "execution_url is required when execution_type is set to webhook.",
        )),
        ("deluge", Some(_)) => Err(url_not_allowed()),
        ("deluge", None) => Ok((kind, None)),
        _ => Err(invalid("execution_type must be deluge or webhook.")),
    }
}

fn checked_url(u: &str) -> Result<String, HttpResponse> {
    match url::Url::parse(u) {
        Ok(p) if matches!(p.scheme(), "https" | "http") && p.host_str().is_some() => {
            Ok(u.to_string())
        }
        _ => Err(invalid("execution_url must be an http(s) URL.")),
    }
}

fn url_not_allowed() -> HttpResponse {
    cliq_error(
        400,
        "execution_url_not_allowed",
        "execution_url is not allowed when execution_type is set to deluge.",
    )
}

// ------------------------------------------------------------------- lists

/// Pages `items` as v3 lists do: `limit` (default 20, at most 50) and an opaque
/// `next_token`. Answers `{url, type, sync_token, data, next_token?}`.
fn page(path: &str, kind: &str, items: Vec<Value>, q: &HashMap<String, String>) -> HttpResponse {
    if let Some(k) = q
        .keys()
        .find(|k| !["limit", "next_token", "sync_token"].contains(&k.as_str()))
    {
        return cliq_error(400, "extra_param_found", &format!("Extra param found: {k}"));
    }
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 20,
        Some(Ok(n)) if (1..=50).contains(&n) => n,
        Some(_) => return invalid("limit must be between 1 and 50."),
    };
    let start = match q.get("next_token") {
        None => 0,
        Some(t) => match base64::engine::general_purpose::STANDARD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("offset|").and_then(|n| n.parse().ok()))
        {
            Some(n) => n,
            None => return invalid("next_token is invalid."),
        },
    };
    let end = (start + limit).min(items.len());
    let data: Vec<Value> = items.get(start..end).unwrap_or_default().to_vec();
    let mut body = json!({
        "url": path,
        "type": kind,
        "sync_token": base64::engine::general_purpose::STANDARD.encode("sync|0"),
        "data": data,
    });
    if end < items.len()
        && let Some(o) = body.as_object_mut()
    {
        o.insert(
            "next_token".into(),
            base64::engine::general_purpose::STANDARD
                .encode(format!("offset|{end}"))
                .into(),
        );
    }
    HttpResponse::Ok().json(body)
}

fn creator(st: &State, zuid: &str) -> Value {
    let name = st
        .cliq
        .users
        .iter()
        .find(|u| u.id == zuid)
        .map(|u| format!("{} {}", u.first_name, u.last_name))
        .unwrap_or_else(|| zuid.to_string());
    json!({"name": name, "id": zuid})
}

fn envelope(url: &str, kind: &str, data: Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({"url": url, "type": kind, "data": data}))
}

// ------------------------------------------------------------------- channels, users

async fn channel_by_name(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let st = sim.state();
    let Some(c) = st.cliq.channels.get(path.as_str()) else {
        return cliq_error(400, "channel_not_found", "The channel does not exist.");
    };
    HttpResponse::Ok().json(json!({
        "name": c.name,
        "channel_id": c.channel_id,
        "unique_name": c.unique_name,
        "chat_id": c.chat_id,
        "level": "organization",
        "status": "created",
        "joined": true,
        "participant_count": 1,
        "organization_id": st.cliq.org_id,
    }))
}

async fn channel_members(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let caller = or_answer!(enter(&sim, &req).await);
    let st = sim.state();
    let Some(c) = st.cliq.channels.values().find(|c| c.channel_id == *path) else {
        return cliq_error(400, "channel_not_found", "The channel does not exist.");
    };
    let mut members: Vec<Value> = st
        .cliq
        .users
        .iter()
        .filter(|u| u.id == caller)
        .map(|u| {
            json!({"user_id": u.id, "email_id": u.email, "name": format!("{} {}", u.first_name, u.last_name),
                   "user_role": "super_admin"})
        })
        .collect();
    if c.bot_member {
        // The channel's bot: the seeded one while it exists.
        let bot = st
            .cliq
            .bot_records
            .get(BOT)
            .or_else(|| st.cliq.bot_records.values().next());
        members.push(match bot {
            Some(b) => json!({"user_id": format!("b-{}", b.id), "name": b.name, "type": "bot",
                              "unique_name": b.unique_name, "user_role": "member"}),
            None => json!({"user_id": "b-0", "name": BOT, "type": "bot", "unique_name": BOT,
                           "user_role": "member"}),
        });
    }
    HttpResponse::Ok().json(json!({ "members": members }))
}

async fn get_user(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let st = sim.state();
    let id = path.as_str();
    let Some(u) = st
        .cliq
        .users
        .iter()
        .find(|u| u.id == id || u.email.eq_ignore_ascii_case(id))
    else {
        return cliq_error(400, "user_not_found", "No user with this id.");
    };
    HttpResponse::Ok().json(json!({"data": {
        "id": u.id,
        "email_id": u.email,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "display_name": format!("{} {}", u.first_name, u.last_name),
        "organization_id": u.organization_id,
        "admin": u.admin,
        "status": "active",
    }}))
}

// ------------------------------------------------------------------- bots

const BOT_HANDLERS: [&str; 9] = [
    "welcome_handler",
    "message_handler",
    "mention_handler",
    "context_handler",
    "participation_handler",
    "incoming_webhook_handler",
    "menu_handler",
    "call_handler",
    "alert_handler",
];
const CHANNEL_PARTICIPATION: [&str; 3] = ["listen_message", "send_message", "auto_follow_thread"];
const BOT_KEYS: [&str; 10] = [
    "name",
    "description",
    "scope",
    "team_ids",
    "status_messages",
    "image",
    "channel_participation",
    "calls",
    "execution_type",
    "execution_url",
];

/// What a webhook bot handler may be given (Zoho's permissions table).
fn bot_permissions(kind: &str) -> &'static [&'static str] {
    match kind {
        "message_handler" => &["attachments", "chat", "location", "message", "user"],
        "mention_handler" => &["chat", "location", "message", "user"],
        "context_handler" => &["attachments", "chat", "user"],
        "participation_handler" => &["chat", "user"],
        "menu_handler" => &["chat", "location", "user"],
        _ => &["user"],
    }
}

fn bot_json(st: &State, b: &SimBot) -> Value {
    let handlers: Vec<Value> = b
        .handlers
        .iter()
        .map(|h| {
            if h.kind == "menu_handler" {
                json!({"type": h.kind, "id": h.id, "name": h.name, "icon": h.icon, "position": h.position})
            } else {
                json!({"type": h.kind})
            }
        })
        .collect();
    let mut v = json!({
        "unique_name": b.unique_name,
        "name": b.name,
        "id": b.id,
        "description": b.description,
        "scope": b.scope,
        "channel_participation": b.channel_participation,
        "handlers": handlers,
        "creator": creator(st, &b.creator),
        "execution_type": b.execution_type,
        "status": "enabled",
        "type": "custom",
        "default": false,
        "subscriber_count": 1,
        "calls": "disabled",
    });
    if let (Some(u), Some(o)) = (&b.execution_url, v.as_object_mut()) {
        o.insert("execution_url".into(), u.clone().into());
    }
    v
}

/// The unique name of the bot a path's `b-{id}` (or bare id) names.
fn bot_by_path(st: &State, id: &str) -> Result<String, HttpResponse> {
    let id = id.strip_prefix("b-").unwrap_or(id);
    st.cliq
        .bot_records
        .values()
        .find(|b| b.id == id)
        .map(|b| b.unique_name.clone())
        .ok_or_else(|| {
            cliq_error(
                400,
                "bot_not_found",
                "Bot with the specified ID does not exist.",
            )
        })
}

async fn list_bots(
    sim: web::Data<Inner>,
    req: HttpRequest,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let st = sim.state();
    let items = st
        .cliq
        .bot_records
        .values()
        .map(|b| bot_json(&st, b))
        .collect();
    page("/api/v3/bots", "bot", items, &q)
}

async fn create_bot(sim: web::Data<Inner>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let caller = or_answer!(enter(&sim, &req).await);
    let o = or_answer!(object(&body, &BOT_KEYS));
    let name = or_answer!(required(&o, "name", 20));
    let description = or_answer!(required(&o, "description", 300));
    let scope = or_answer!(scope(&o, "organization"));
    let (execution_type, execution_url) = or_answer!(execution(&o));
    let participation = or_answer!(list(&o, "channel_participation", &CHANNEL_PARTICIPATION, 3))
        .unwrap_or_default();
    let unique: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    if unique.is_empty() {
        return invalid("The name must contain letters or digits.");
    }
    let mut st = sim.state();
    if st.cliq.bot_records.contains_key(&unique) || st.cliq.bots.contains(&unique) {
        return cliq_error(
            400,
            "bot_name_already_exists",
            "A bot with this name already exists.",
        );
    }
    let bot = SimBot {
        id: st.new_component_id(),
        unique_name: unique.clone(),
        name,
        description,
        scope,
        execution_type,
        execution_url,
        channel_participation: participation,
        handlers: Vec::new(),
        creator: caller,
    };
    st.cliq.bot_records.insert(unique.clone(), bot.clone());
    st.cliq.bots.push(unique);
    envelope("/api/v3/bots", "bot", bot_json(&st, &bot))
}

async fn get_bot(sim: web::Data<Inner>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let st = sim.state();
    let unique = or_answer!(bot_by_path(&st, &path));
    match st.cliq.bot_records.get(&unique) {
        Some(b) => envelope(&format!("/api/v3/bots/b-{}", b.id), "bot", bot_json(&st, b)),
        None => cliq_error(
            400,
            "bot_not_found",
            "Bot with the specified ID does not exist.",
        ),
    }
}

async fn update_bot(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let o = or_answer!(object(
        &body,
        &[
            "name",
            "description",
            "scope",
            "team_ids",
            "status_messages",
            "image",
            "channel_participation",
            "execution_url",
            "calls",
        ]
    ));
    let name = or_answer!(text(&o, "name", 20));
    let description = or_answer!(text(&o, "description", 300));
    let url = or_answer!(text(&o, "execution_url", 225));
    let participation = or_answer!(list(&o, "channel_participation", &CHANNEL_PARTICIPATION, 3));
    let new_scope = if o.contains_key("scope") {
        Some(or_answer!(scope(&o, "organization")))
    } else {
        None
    };
    let mut st = sim.state();
    let unique = or_answer!(bot_by_path(&st, &path));
    let Some(b) = st.cliq.bot_records.get_mut(&unique) else {
        return cliq_error(
            400,
            "bot_not_found",
            "Bot with the specified ID does not exist.",
        );
    };
    if let Some(u) = url {
        if b.execution_type != "webhook" {
            return url_not_allowed();
        }
        b.execution_url = Some(or_answer!(checked_url(&u)));
    }
    if let Some(n) = name.filter(|n| !n.trim().is_empty()) {
        b.name = n;
    }
    if let Some(d) = description {
        b.description = d;
    }
    if let Some(p) = participation {
        b.channel_participation = p;
    }
    if let Some(s) = new_scope {
        b.scope = s;
    }
    let b = b.clone();
    envelope(
        &format!("/api/v3/bots/b-{}", b.id),
        "bot",
        bot_json(&st, &b),
    )
}

async fn delete_bot(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let mut st = sim.state();
    let unique = or_answer!(bot_by_path(&st, &path));
    st.delete_bot(&unique);
    if unique == BOT {
        // Its channel associations go with it.
        for c in st.cliq.channels.values_mut() {
            c.bot_member = false;
        }
    }
    HttpResponse::NoContent().finish()
}

/// Checks a handler body for a component executed as `execution_type`; returns the
/// permissions (webhook) to keep.
fn handler_permissions(
    o: &Map<String, Value>,
    execution_type: &str,
    allowed: &[&str],
    creating: bool,
) -> Result<Option<Vec<String>>, HttpResponse> {
    let data_invalid = |m: &str| cliq_error(400, "execution_handler_data_invalid", m);
    let data_required = |m: &str| cliq_error(400, "execution_handler_data_required", m);
    if execution_type == "webhook" {
        if o.contains_key("script") {
            return Err(data_invalid(
                "script is not applicable to webhook components: give permissions.",
            ));
        }
        match o.get("permissions") {
            None if creating => Err(data_required("permissions are required.")),
            None => Ok(None),
            Some(_) => match list(o, "permissions", allowed, 5) {
                Ok(p) => Ok(p),
                Err(_) => Err(data_invalid(&format!(
                    "permissions: allowed values for this handler are {}.",
                    allowed.join(", ")
                ))),
            },
        }
    } else {
        if o.contains_key("permissions") {
            return Err(data_invalid(
                "permissions are not applicable to deluge components: give a script.",
            ));
        }
        if creating && text(o, "script", 256_000)?.is_none_or(|s| s.trim().is_empty()) {
            return Err(data_required("script is required."));
        }
        Ok(None)
    }
}

fn bot_handler_json(bot: &SimBot, h: &SimHandler) -> HttpResponse {
    let mut data = json!({"type": h.kind, "id": h.id, "handler_id": h.id});
    if let Some(o) = data.as_object_mut() {
        if bot.execution_type == "webhook" {
            o.insert("permissions".into(), json!(h.permissions));
        }
        if h.kind == "menu_handler" {
            o.insert(
                "display_props".into(),
                json!({"name": h.name, "icon": h.icon, "position": h.position}),
            );
            o.insert("name".into(), json!(h.name));
            o.insert("icon".into(), json!(h.icon));
        }
    }
    envelope(
        &format!("/api/v3/bots/b-{}/handlers/{}", bot.id, h.kind),
        "execution_handler",
        data,
    )
}

/// A menu action's label: required, at most 15 characters.
fn menu_name(o: &Map<String, Value>, creating: bool) -> Result<Option<String>, HttpResponse> {
    match o.get("name") {
        None if creating => Err(cliq_error(
            400,
            "execution_handler_data_required",
            "name is required for menu_handler.",
        )),
        None => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 15 => {
            Ok(Some(s.clone()))
        }
        Some(_) => Err(cliq_error(
            400,
            "execution_handler_data_invalid",
            "name: at most 15 characters.",
        )),
    }
}

async fn create_bot_handler(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let o = or_answer!(object(
        &body,
        &[
            "type",
            "script",
            "permissions",
            "name",
            "icon",
            "sub_actions"
        ]
    ));
    let Some(kind) = o
        .get("type")
        .and_then(Value::as_str)
        .filter(|k| BOT_HANDLERS.contains(k))
        .map(str::to_string)
    else {
        return invalid("type: invalid handler type.");
    };
    let menu = kind == "menu_handler";
    if !menu
        && ["name", "icon", "sub_actions"]
            .iter()
            .any(|k| o.contains_key(*k))
    {
        return cliq_error(
            400,
            "execution_handler_data_invalid",
            "name, icon and sub_actions apply to menu_handler only.",
        );
    }
    let name = if menu {
        or_answer!(menu_name(&o, true))
    } else {
        None
    };
    let icon = or_answer!(text(&o, "icon", 100));
    let mut st = sim.state();
    let unique = or_answer!(bot_by_path(&st, &path));
    let id = st.new_component_id();
    let Some(bot) = st.cliq.bot_records.get_mut(&unique) else {
        return cliq_error(
            400,
            "bot_not_found",
            "Bot with the specified ID does not exist.",
        );
    };
    let permissions = or_answer!(handler_permissions(
        &o,
        &bot.execution_type,
        bot_permissions(&kind),
        true
    ))
    .unwrap_or_default();
    let create_failed = |m: &str| cliq_error(400, "execution_handler_create_failed", m);
    let menus = bot
        .handlers
        .iter()
        .filter(|h| h.kind == "menu_handler")
        .count();
    if menu {
        if menus >= 5 {
            return create_failed("A bot has at most 5 menu actions.");
        }
        if bot
            .handlers
            .iter()
            .any(|h| h.kind == kind && h.name == name)
        {
            return create_failed("A menu action with this name exists.");
        }
    } else if bot.handlers.iter().any(|h| h.kind == kind) {
        return create_failed("The bot already has this handler.");
    }
    let handler = SimHandler {
        id,
        kind,
        name,
        icon,
        position: menu.then_some(menus as u32 + 1),
        permissions,
    };
    bot.handlers.push(handler.clone());
    let bot = bot.clone();
    bot_handler_json(&bot, &handler)
}

#[derive(serde::Deserialize)]
struct HandlerQuery {
    handler_id: Option<String>,
}

/// The index of the bot handler a path and `handler_id` name.
fn find_bot_handler(
    bot: &SimBot,
    kind: &str,
    handler_id: Option<&str>,
) -> Result<usize, HttpResponse> {
    let not_found = || {
        cliq_error(
            400,
            "execution_handler_not_found",
            "Specified handler was not found for this bot.",
        )
    };
    let of_kind: Vec<usize> = bot
        .handlers
        .iter()
        .enumerate()
        .filter(|(_, h)| h.kind == kind)
        .map(|(i, _)| i)
        .collect();
    match handler_id {
        Some(id) => of_kind
            .into_iter()
            .find(|i| bot.handlers.get(*i).is_some_and(|h| h.id == id))
            .ok_or_else(not_found),
        None if of_kind.len() > 1 => Err(cliq_error(
            400,
            "execution_handler_data_required",
            "handler_id is required: the bot has several menu actions.",
        )),
        None => of_kind.first().copied().ok_or_else(not_found),
    }
}

async fn get_bot_handler(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<HandlerQuery>,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let (id, kind) = path.into_inner();
    let st = sim.state();
    let unique = or_answer!(bot_by_path(&st, &id));
    let Some(bot) = st.cliq.bot_records.get(&unique) else {
        return cliq_error(
            400,
            "bot_not_found",
            "Bot with the specified ID does not exist.",
        );
    };
    let i = or_answer!(find_bot_handler(bot, &kind, q.handler_id.as_deref()));
    match bot.handlers.get(i) {
        Some(h) => bot_handler_json(bot, h),
        None => cliq_error(400, "execution_handler_not_found", "No such handler."),
    }
}

async fn update_bot_handler(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<HandlerQuery>,
    body: web::Bytes,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let (id, kind) = path.into_inner();
    let o = or_answer!(object(
        &body,
        &["script", "permissions", "name", "icon", "sub_actions"]
    ));
    let mut st = sim.state();
    let unique = or_answer!(bot_by_path(&st, &id));
    let Some(bot) = st.cliq.bot_records.get_mut(&unique) else {
        return cliq_error(
            400,
            "bot_not_found",
            "Bot with the specified ID does not exist.",
        );
    };
    let i = or_answer!(find_bot_handler(bot, &kind, q.handler_id.as_deref()));
    let permissions = or_answer!(handler_permissions(
        &o,
        &bot.execution_type,
        bot_permissions(&kind),
        false
    ));
    let name = if kind == "menu_handler" {
        or_answer!(menu_name(&o, false))
    } else if ["name", "icon", "sub_actions"]
        .iter()
        .any(|k| o.contains_key(*k))
    {
        return cliq_error(
            400,
            "execution_handler_data_invalid",
            "name, icon and sub_actions apply to menu_handler only.",
        );
    } else {
        None
    };
    let icon = or_answer!(text(&o, "icon", 100));
    let Some(h) = bot.handlers.get_mut(i) else {
        return cliq_error(400, "execution_handler_not_found", "No such handler.");
    };
    if let Some(p) = permissions {
        h.permissions = p;
    }
    if name.is_some() {
        h.name = name;
    }
    if icon.is_some() {
        h.icon = icon;
    }
    let h = h.clone();
    let bot = bot.clone();
    bot_handler_json(&bot, &h)
}

async fn delete_bot_handler(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<HandlerQuery>,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let (id, kind) = path.into_inner();
    let mut st = sim.state();
    let unique = or_answer!(bot_by_path(&st, &id));
    let Some(bot) = st.cliq.bot_records.get_mut(&unique) else {
        return cliq_error(
            400,
            "bot_not_found",
            "Bot with the specified ID does not exist.",
        );
    };
    let i = or_answer!(find_bot_handler(bot, &kind, q.handler_id.as_deref()));
    bot.handlers.remove(i);
    HttpResponse::NoContent().finish()
}

// ------------------------------------------------------------------- commands, functions

/// Slash commands and functions share their shape and handler endpoints.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Command,
    Function,
}

impl Kind {
    fn of(segment: &str) -> Kind {
        if segment == "commands" {
            Kind::Command
        } else {
            Kind::Function
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Command => "command",
            Kind::Function => "function",
        }
    }

    fn segment(self) -> &'static str {
        match self {
            Kind::Command => "commands",
            Kind::Function => "functions",
        }
    }

    fn not_found(self) -> HttpResponse {
        match self {
            Kind::Command => cliq_error(
                400,
                "command_not_found",
                "Command with the specified ID was not found.",
            ),
            Kind::Function => cliq_error(
                400,
                "function_not_found",
                "Function with the specified ID was not found.",
            ),
        }
    }
}

/// The handler a function of `function_type` starts with (and keeps).
fn default_function_handler(function_type: &str) -> &'static str {
    match function_type {
        "form" => "form_submit_handler",
        "widget_button" => "widget_button_handler",
        _ => "button_handler",
    }
}

/// The handlers a component may have, and what a webhook one may be given.
fn component_handler_permissions(
    kind: Kind,
    function_type: &str,
    handler: &str,
) -> Option<&'static [&'static str]> {
    match (kind, function_type, handler) {
        (Kind::Command, _, "execution_handler") => {
            Some(&["attachments", "chat", "location", "user"])
        }
        (Kind::Command, _, "suggestion_handler") => Some(&["chat", "location", "user"]),
        (Kind::Function, "button", "button_handler") => Some(&["chat", "message", "user"]),
        (Kind::Function, "form", "form_submit_handler") => Some(&["chat", "message", "user"]),
        (Kind::Function, "form", "form_change_handler" | "form_dynamic_select_handler") => {
            Some(&["chat", "user"])
        }
        (Kind::Function, "form", "form_view_handler") => Some(&["user"]),
        (Kind::Function, "widget_button", "widget_button_handler") => Some(&["user"]),
        _ => None,
    }
}

fn handler_summaries(handlers: &[SimHandler]) -> Vec<Value> {
    handlers.iter().map(|h| json!({"type": h.kind})).collect()
}

fn command_json(st: &State, c: &SimCommand) -> Value {
    let mut v = json!({
        "name": c.name,
        "id": c.id,
        "handlers": handler_summaries(&c.handlers),
        "creator": creator(st, &c.creator),
        "execution_type": c.execution_type,
        "hint": c.hint,
        "status": "enabled",
        "type": "custom",
        "description": c.description,
        "scope": c.scope,
    });
    if let (Some(u), Some(o)) = (&c.execution_url, v.as_object_mut()) {
        o.insert("execution_url".into(), u.clone().into());
    }
    v
}

fn function_json(st: &State, f: &SimFunction) -> Value {
    let mut v = json!({
        "name": f.name,
        "id": f.id,
        "function_type": f.function_type,
        "handlers": handler_summaries(&f.handlers),
        "creator": creator(st, &f.creator),
        "execution_type": f.execution_type,
        "status": "enabled",
        "type": "custom",
        "description": f.description,
        "scope": "personal",
    });
    if let (Some(u), Some(o)) = (&f.execution_url, v.as_object_mut()) {
        o.insert("execution_url".into(), u.clone().into());
    }
    v
}

fn component_json(st: &State, kind: Kind, id: &str) -> Option<Value> {
    match kind {
        Kind::Command => st
            .cliq
            .commands
            .iter()
            .find(|c| c.id == id)
            .map(|c| command_json(st, c)),
        Kind::Function => st
            .cliq
            .functions
            .iter()
            .find(|f| f.id == id)
            .map(|f| function_json(st, f)),
    }
}

/// A component's handlers, execution type and function type.
fn handlers_of<'a>(
    st: &'a mut State,
    kind: Kind,
    id: &str,
) -> Option<(&'a mut Vec<SimHandler>, String, String)> {
    match kind {
        Kind::Command => st
            .cliq
            .commands
            .iter_mut()
            .find(|c| c.id == id)
            .map(|c| (&mut c.handlers, c.execution_type.clone(), String::new())),
        Kind::Function => st.cliq.functions.iter_mut().find(|f| f.id == id).map(|f| {
            (
                &mut f.handlers,
                f.execution_type.clone(),
                f.function_type.clone(),
            )
        }),
    }
}

async fn list_components(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let kind = Kind::of(&path);
    let st = sim.state();
    let items = match kind {
        Kind::Command => st
            .cliq
            .commands
            .iter()
            .map(|c| command_json(&st, c))
            .collect(),
        Kind::Function => st
            .cliq
            .functions
            .iter()
            .map(|f| function_json(&st, f))
            .collect(),
    };
    page(
        &format!("/api/v3/{}", kind.segment()),
        kind.name(),
        items,
        &q,
    )
}

async fn create_component(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let caller = or_answer!(enter(&sim, &req).await);
    let kind = Kind::of(&path);
    let url = format!("/api/v3/{}", kind.segment());
    match kind {
        Kind::Command => {
            let o = or_answer!(object(
                &body,
                &[
                    "name",
                    "hint",
                    "description",
                    "scope",
                    "team_ids",
                    "execution_type",
                    "execution_url",
                    "options",
                    "image",
                    "max_suggestions",
                ]
            ));
            let name = or_answer!(required(&o, "name", 30));
            if !name.chars().all(|c| c.is_ascii_lowercase()) {
                return cliq_error(
                    400,
                    "command_not_valid",
                    "A command name has only lowercase letters.",
                );
            }
            let hint = or_answer!(required(&o, "hint", 128));
            let description = or_answer!(text(&o, "description", 300)).unwrap_or_default();
            if !o.contains_key("scope") {
                return invalid("The scope field is required.");
            }
            let scope = or_answer!(scope(&o, "organization"));
            let (execution_type, execution_url) = or_answer!(execution(&o));
            let mut st = sim.state();
            if st.cliq.commands.iter().any(|c| c.name == name) {
                return cliq_error(
                    400,
                    "command_name_already_exists",
                    "A command with this name already exists.",
                );
            }
            let id = st.new_component_id();
            let command = SimCommand {
                id: id.clone(),
                name,
                hint,
                description,
                scope,
                execution_type,
                execution_url,
                handlers: vec![SimHandler {
                    id: id.clone(),
                    kind: "execution_handler".into(),
                    name: None,
                    icon: None,
                    position: None,
                    permissions: Vec::new(),
                }],
                creator: caller,
            };
            st.cliq.commands.push(command.clone());
            envelope(&url, "command", command_json(&st, &command))
        }
        Kind::Function => {
            let o = or_answer!(object(
                &body,
                &[
                    "name",
                    "description",
                    "function_type",
                    "execution_type",
                    "execution_url",
                ]
            ));
            let name = or_answer!(required(&o, "name", 30));
            let description = or_answer!(required(&o, "description", 300));
            let function_type = or_answer!(required(&o, "function_type", 20));
            if !["button", "form", "widget_button"].contains(&function_type.as_str()) {
                return invalid("function_type must be button, form or widget_button.");
            }
            let (execution_type, execution_url) = or_answer!(execution(&o));
            let mut st = sim.state();
            if st.cliq.functions.iter().any(|f| f.name == name) {
                return cliq_error(
                    400,
                    "function_name_already_exists",
                    "A function with this name already exists.",
                );
            }
            let id = st.new_component_id();
            let function = SimFunction {
                id: id.clone(),
                name,
                description,
                handlers: vec![SimHandler {
                    id: id.clone(),
                    kind: default_function_handler(&function_type).into(),
                    name: None,
                    icon: None,
                    position: None,
                    permissions: Vec::new(),
                }],
                function_type,
                execution_type,
                execution_url,
                creator: caller,
            };
            st.cliq.functions.push(function.clone());
            envelope(&url, "function", function_json(&st, &function))
        }
    }
}

async fn get_component(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let (segment, id) = path.into_inner();
    let kind = Kind::of(&segment);
    let st = sim.state();
    match component_json(&st, kind, &id) {
        Some(v) => envelope(&format!("/api/v3/{}/{id}", kind.segment()), kind.name(), v),
        None => kind.not_found(),
    }
}

async fn update_component(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let (segment, id) = path.into_inner();
    let kind = Kind::of(&segment);
    let allowed: &[&str] = match kind {
        Kind::Command => &[
            "execution_url",
            "name",
            "hint",
            "description",
            "options",
            "scope",
            "team_ids",
            "image",
            "max_suggestions",
        ],
        Kind::Function => &["name", "description", "execution_url"],
    };
    let o = or_answer!(object(&body, allowed));
    let name = or_answer!(text(&o, "name", 30)).filter(|n| !n.trim().is_empty());
    let description = or_answer!(text(&o, "description", 300));
    let hint = or_answer!(text(&o, "hint", 128));
    let url = match or_answer!(text(&o, "execution_url", 225)) {
        Some(u) => Some(or_answer!(checked_url(&u))),
        None => None,
    };
    let new_scope = if o.contains_key("scope") {
        Some(or_answer!(scope(&o, "organization")))
    } else {
        None
    };
    let mut st = sim.state();
    match kind {
        Kind::Command => {
            if let Some(n) = &name
                && (!n
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    || st.cliq.commands.iter().any(|c| &c.name == n && c.id != id))
            {
                return cliq_error(
                    400,
                    "command_name_already_exists",
                    "A command with this name already exists.",
                );
            }
            let Some(c) = st.cliq.commands.iter_mut().find(|c| c.id == id) else {
                return kind.not_found();
            };
            if url.is_some() && c.execution_type != "webhook" {
                return url_not_allowed();
            }
            if let Some(u) = url {
                c.execution_url = Some(u);
            }
            if let Some(n) = name {
                c.name = n;
            }
            if let Some(h) = hint.filter(|h| !h.trim().is_empty()) {
                c.hint = h;
            }
            if let Some(d) = description {
                c.description = d;
            }
            if let Some(s) = new_scope {
                c.scope = s;
            }
            let c = c.clone();
            envelope(
                &format!("/api/v3/commands/{id}"),
                "command",
                command_json(&st, &c),
            )
        }
        Kind::Function => {
            if let Some(n) = &name
                && st.cliq.functions.iter().any(|f| &f.name == n && f.id != id)
            {
                return cliq_error(
                    400,
                    "function_name_already_exists",
                    "Another function with this name already exists.",
                );
            }
            let Some(f) = st.cliq.functions.iter_mut().find(|f| f.id == id) else {
                return kind.not_found();
            };
            if url.is_some() && f.execution_type != "webhook" {
                return url_not_allowed();
            }
            if let Some(u) = url {
                f.execution_url = Some(u);
            }
            if let Some(n) = name {
                f.name = n;
            }
            if let Some(d) = description.filter(|d| !d.trim().is_empty()) {
                f.description = d;
            }
            let f = f.clone();
            envelope(
                &format!("/api/v3/functions/{id}"),
                "function",
                function_json(&st, &f),
            )
        }
    }
}

async fn delete_component(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let (segment, id) = path.into_inner();
    let kind = Kind::of(&segment);
    let mut st = sim.state();
    let removed = match kind {
        Kind::Command => {
            let before = st.cliq.commands.len();
            st.cliq.commands.retain(|c| c.id != id);
            st.cliq.commands.len() != before
        }
        Kind::Function => {
            let before = st.cliq.functions.len();
            st.cliq.functions.retain(|f| f.id != id);
            st.cliq.functions.len() != before
        }
    };
    if removed {
        HttpResponse::NoContent().finish()
    } else {
        kind.not_found()
    }
}

fn component_handler_json(kind: Kind, id: &str, h: &SimHandler, webhook: bool) -> HttpResponse {
    let mut data = json!({"name": h.kind, "function_id": id});
    if webhook && let Some(o) = data.as_object_mut() {
        o.insert("permissions".into(), json!(h.permissions));
    }
    envelope(
        &format!("/api/v3/{}/{id}/handlers/{}", kind.segment(), h.kind),
        &h.kind,
        data,
    )
}

async fn create_component_handler(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let (segment, id) = path.into_inner();
    let kind = Kind::of(&segment);
    let o = or_answer!(object(&body, &["type", "script", "permissions"]));
    let handler = o
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut st = sim.state();
    let handler_id = st.new_component_id();
    let Some((handlers, execution_type, function_type)) = handlers_of(&mut st, kind, &id) else {
        return kind.not_found();
    };
    let Some(allowed) = component_handler_permissions(kind, &function_type, &handler) else {
        return invalid("Invalid handler type.");
    };
    let permissions = or_answer!(handler_permissions(&o, &execution_type, allowed, true));
    if handlers.iter().any(|h| h.kind == handler) {
        return cliq_error(
            400,
            "execution_handler_create_failed",
            "The handler exists.",
        );
    }
    let h = SimHandler {
        id: handler_id,
        kind: handler,
        name: None,
        icon: None,
        position: None,
        permissions: permissions.unwrap_or_default(),
    };
    handlers.push(h.clone());
    component_handler_json(kind, &id, &h, execution_type == "webhook")
}

fn component_handler_not_found() -> HttpResponse {
    cliq_error(
        400,
        "execution_handler_not_found",
        "Handler was not found for this component.",
    )
}

async fn get_component_handler(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let (segment, id, handler) = path.into_inner();
    let kind = Kind::of(&segment);
    let mut st = sim.state();
    let Some((handlers, execution_type, _)) = handlers_of(&mut st, kind, &id) else {
        return kind.not_found();
    };
    match handlers.iter().find(|h| h.kind == handler) {
        Some(h) => component_handler_json(kind, &id, h, execution_type == "webhook"),
        None => component_handler_not_found(),
    }
}

async fn update_component_handler(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let (segment, id, handler) = path.into_inner();
    let kind = Kind::of(&segment);
    let o = or_answer!(object(&body, &["script", "permissions"]));
    let mut st = sim.state();
    let Some((handlers, execution_type, function_type)) = handlers_of(&mut st, kind, &id) else {
        return kind.not_found();
    };
    let Some(h) = handlers.iter_mut().find(|h| h.kind == handler) else {
        return component_handler_not_found();
    };
    let allowed = component_handler_permissions(kind, &function_type, &handler).unwrap_or(&[]);
    if let Some(p) = or_answer!(handler_permissions(&o, &execution_type, allowed, false)) {
        h.permissions = p;
    }
    let h = h.clone();
    component_handler_json(kind, &id, &h, execution_type == "webhook")
}

async fn delete_component_handler(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let (segment, id, handler) = path.into_inner();
    let kind = Kind::of(&segment);
    let mut st = sim.state();
    let Some((handlers, _, function_type)) = handlers_of(&mut st, kind, &id) else {
        return kind.not_found();
    };
    let default = match kind {
        Kind::Command => "execution_handler",
        Kind::Function => default_function_handler(&function_type),
    };
    if handler == default {
        return cliq_error(
            400,
            "default_handler_delete_not_allowed",
            "Default handlers cannot be deleted.",
        );
    }
    let before = handlers.len();
    handlers.retain(|h| h.kind != handler);
    if handlers.len() == before {
        return component_handler_not_found();
    }
    HttpResponse::NoContent().finish()
}
