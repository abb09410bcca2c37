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

use super::Inner;
use super::gate::{self, Api, cliq_error};
use super::state::State;

mod bots;
mod channels;
mod component_handlers;
mod components;

use bots::{
    create_bot, create_bot_handler, delete_bot, delete_bot_handler, get_bot, get_bot_handler,
    list_bots, update_bot, update_bot_handler,
};
use channels::{channel_by_name, channel_members, get_user};
use component_handlers::{
    create_component_handler, delete_component_handler, get_component_handler,
    update_component_handler,
};
use components::{
    create_component, delete_component, get_component, list_components, update_component,
};

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

// ------------------------------------------------------------------- handlers

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
