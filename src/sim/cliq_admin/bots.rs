//! The platform's bots and their handlers (`/api/v3/bots`).

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::super::gate::cliq_error;
use super::super::state::{SimBot, SimHandler, State};
use super::super::{BOT, Inner};
use super::{
    checked_url, creator, enter, envelope, execution, handler_permissions, invalid, list, object,
    page, required, scope, text, url_not_allowed,
};

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

pub(super) async fn list_bots(
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

pub(super) async fn create_bot(
    sim: web::Data<Inner>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
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

pub(super) async fn get_bot(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
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

pub(super) async fn update_bot(
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

pub(super) async fn delete_bot(
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

pub(super) async fn create_bot_handler(
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
pub(super) struct HandlerQuery {
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

pub(super) async fn get_bot_handler(
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

pub(super) async fn update_bot_handler(
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

pub(super) async fn delete_bot_handler(
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
