//! Slash commands and functions (`/api/v3/commands`, `/api/v3/functions`).

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::super::Inner;
use super::super::gate::cliq_error;
use super::super::state::{SimCommand, SimFunction, SimHandler, State};
use super::{
    checked_url, creator, enter, envelope, execution, invalid, object, page, required, scope, text,
    url_not_allowed,
};

// ------------------------------------------------------------------- commands, functions

/// Slash commands and functions share their shape and handler endpoints.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Command,
    Function,
}

impl Kind {
    pub(super) fn of(segment: &str) -> Kind {
        if segment == "commands" {
            Kind::Command
        } else {
            Kind::Function
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::Command => "command",
            Kind::Function => "function",
        }
    }

    pub(super) fn segment(self) -> &'static str {
        match self {
            Kind::Command => "commands",
            Kind::Function => "functions",
        }
    }

    pub(super) fn not_found(self) -> HttpResponse {
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
pub(super) fn default_function_handler(function_type: &str) -> &'static str {
    match function_type {
        "form" => "form_submit_handler",
        "widget_button" => "widget_button_handler",
        _ => "button_handler",
    }
}

/// The handlers a component may have, and what a webhook one may be given.
pub(super) fn component_handler_permissions(
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
pub(super) fn handlers_of<'a>(
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

pub(super) async fn list_components(
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

pub(super) async fn create_component(
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

pub(super) async fn get_component(
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

pub(super) async fn update_component(
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

pub(super) async fn delete_component(
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
