//! The handlers of slash commands and functions
//! (`/api/v3/{commands|functions}/{id}/handlers`).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::super::Inner;
use super::super::gate::cliq_error;
use super::super::state::SimHandler;
use super::components::{
    Kind, component_handler_permissions, default_function_handler, handlers_of,
};
use super::{enter, envelope, handler_permissions, invalid, object};

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

pub(super) async fn create_component_handler(
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

pub(super) async fn get_component_handler(
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

pub(super) async fn update_component_handler(
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

pub(super) async fn delete_component_handler(
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
