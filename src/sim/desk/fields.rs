//! Field metadata: `GET /fields?module=…` (Field.json, `getFields`), with the ticket `status`
//! field listing the portal's statuses and their status types.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::*;

/// The system modules `module` may name (Field.json); only tickets' fields are modelled.
const MODULES: [&str; 10] = [
    "tickets",
    "contacts",
    "accounts",
    "tasks",
    "timeEntry",
    "products",
    "calls",
    "events",
    "contracts",
    "agents",
];

/// Desk's 422 for a missing parameter.
fn missing(field: &str) -> HttpResponse {
    HttpResponse::UnprocessableEntity().json(json!({
        "errorCode": "INVALID_DATA",
        "message": "An invalid value has been passed.",
        "errors": [{"fieldName": format!("/{field}"), "errorType": "missing",
                    "errorMessage": format!("{field} is required")}],
    }))
}

/// What every field of a system module carries (Field.json `commonFieldResponse`).
fn system_field(id: &str, api_name: &str, label: &str, kind: &str, mandatory: bool) -> Value {
    json!({
        "id": id,
        "name": api_name,
        "apiName": api_name,
        "displayLabel": label,
        "i18NLabel": label,
        "type": kind,
        "maxLength": 255,
        "isMandatory": mandatory,
        "isCustomField": false,
        "isEncryptedField": false,
        "isIdentifier": false,
        "isSortable": false,
        "isComputed": false,
        "isIndexed": false,
        "isPresence": true,
        "isBasic": mandatory,
        "isInternalState": false,
        "showToHelpCenter": false,
        "sourceType": "SYSTEM",
        "createdBy": null,
        "modifiedBy": null,
        "createdTime": null,
        "modifiedTime": null,
    })
}

/// The ticket module's fields the simulator models.
fn ticket_fields(st: &State) -> Vec<Value> {
    let subject = system_field("1892000000000401", "subject", "Subject", "Text", true);
    let mut status = system_field("1892000000000403", "status", "Status", "Picklist", true);
    if let Some(o) = status.as_object_mut() {
        // `statusFieldResponseNew`: each value with the status type it maps to.
        let values: Vec<Value> = st
            .desk
            .statuses
            .iter()
            .map(|(value, kind)| json!({"value": value, "statusType": kind}))
            .collect();
        o.insert("pickListValues".into(), Value::Array(values));
        o.insert("maxLength".into(), json!(120));
    }
    vec![subject, status]
}

/// `GET /fields?module=tickets[&apiNames=status,…]`: `{"data":[…]}`.
pub(super) async fn list_fields(sim: web::Data<Inner>, req: HttpRequest, q: Query) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 1).await);
    let Some(module) = q.get("module").map(|m| m.trim()).filter(|m| !m.is_empty()) else {
        return missing("module");
    };
    if !MODULES.contains(&module) {
        return desk_invalid("module", "is not a module of the portal");
    }
    let names = csv(&q, "apiNames").filter(|n| !n.is_empty());
    if names.as_ref().is_some_and(|n| n.len() > 300) {
        return desk_invalid("apiNames", "lists more than 300 fields");
    }
    let st = sim.state();
    let fields = if module == "tickets" {
        ticket_fields(&st)
    } else {
        Vec::new()
    };
    let data: Vec<Value> = fields
        .into_iter()
        .filter(|f| {
            names.as_ref().is_none_or(|n| {
                f.get("apiName")
                    .and_then(Value::as_str)
                    .is_some_and(|a| n.iter().any(|x| x == a))
            })
        })
        .collect();
    with_weight(HttpResponse::Ok().json(json!({ "data": data })), 1)
}
