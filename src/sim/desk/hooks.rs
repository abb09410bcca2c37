//! Webhook subscriptions: create (with Desk's URL validation), list, get, patch, delete.

use actix_web::{HttpRequest, HttpResponse, web};

use serde_json::{Value, json};

use super::*;

/// Desk validates a webhook URL with a GET, then a POST, and needs a 200 from one of them.
pub(super) async fn validate_url(sim: &Inner, url: &str) -> bool {
    let reached = sim.state().reach(url);
    let url = &reached;
    let ok =
        |r: Result<reqwest::Response, reqwest::Error>| r.is_ok_and(|r| r.status().as_u16() == 200);
    let timeout = std::time::Duration::from_secs(5);
    ok(sim.http.get(url).timeout(timeout).send().await)
        || ok(sim
            .http
            .post(url)
            .timeout(timeout)
            .json(&json!([]))
            .send()
            .await)
}

/// The event names a subscription may name (Webhook.json).
const WEBHOOK_EVENTS: [&str; 52] = [
    "Ticket_Add",
    "Ticket_Update",
    "Ticket_Delete",
    "Ticket_Thread_Add",
    "Ticket_Comment_Add",
    "Ticket_Comment_Update",
    "Ticket_Approval_Add",
    "Ticket_Approval_Update",
    "Ticket_Attachment_Add",
    "Ticket_Attachment_Update",
    "Ticket_Attachment_Delete",
    "Ticket_Comment_Attachment_Add",
    "Ticket_Comment_Attachment_Delete",
    "Task_Add",
    "Task_Update",
    "Task_Delete",
    "Call_Add",
    "Call_Update",
    "Call_Delete",
    "Event_Add",
    "Event_Update",
    "Event_Delete",
    "TimeEntry_Add",
    "TimeEntry_Update",
    "TimeEntry_Delete",
    "Contact_Add",
    "Contact_Update",
    "Contact_Delete",
    "Account_Add",
    "Account_Update",
    "Account_Delete",
    "Agent_Add",
    "Agent_Update",
    "Agent_Delete",
    "Agent_Presence_Update",
    "Agent_Channel_Preference_Update",
    "Department_Add",
    "Department_Update",
    "Article_Add",
    "Article_Update",
    "Article_Delete",
    "Article_Translation_Add",
    "Article_Translation_Update",
    "Article_Translation_Delete",
    "Article_Feedback_Add",
    "KBSection_Update",
    "KBRootCategory_Update",
    "IM_Session_Status",
    "IM_Message_Add",
    "IM_Message_Status",
    "Ticket_Attachment_Trashed",
    "Ticket_Attachment_Restored",
];

/// The filters an event's subscription takes (Webhook.json, `subscriptions`): `None` for the
/// events whose subscription is only ever null (no filter at all).
fn event_filters(event: &str) -> Option<&'static [&'static str]> {
    const DEPARTMENTS: &[&str] = &["departmentId", "departmentIds"];
    const DEPARTMENT_IDS: &[&str] = &["departmentIds"];
    const PREV: &[&str] = &["includePrevState"];
    const DEPARTMENT_IDS_PREV: &[&str] = &["departmentIds", "includePrevState"];
    match event {
        "Ticket_Update" => Some(&[
            "departmentId",
            "departmentIds",
            "fields",
            "includePrevState",
        ]),
        "Ticket_Thread_Add" => Some(&["departmentId", "departmentIds", "direction"]),
        "Ticket_Add" | "Ticket_Comment_Add" | "Ticket_Comment_Update" | "IM_Session_Status" => {
            Some(DEPARTMENTS)
        }
        "Task_Add"
        | "Call_Add"
        | "Event_Add"
        | "IM_Message_Add"
        | "IM_Message_Status"
        | "Ticket_Attachment_Trashed"
        | "Ticket_Attachment_Restored"
        | "Ticket_Attachment_Delete" => Some(DEPARTMENT_IDS),
        "Task_Update" | "Call_Update" | "Event_Update" => Some(DEPARTMENT_IDS_PREV),
        "Agent_Update"
        | "Contact_Update"
        | "Account_Update"
        | "Department_Update"
        | "Article_Update"
        | "Article_Translation_Update"
        | "KBSection_Update"
        | "KBRootCategory_Update"
        | "TimeEntry_Update"
        | "Ticket_Approval_Update" => Some(PREV),
        "Ticket_Attachment_Add" | "Ticket_Attachment_Update" => Some(&[]),
        _ => None,
    }
}

/// Webhook.json's `url`: on create at most 500 characters; on update (`PATCH`) at most 100,
/// from a narrower set of characters (no `~`, `!`, `*`, brackets…). Both: http(s), a host.
fn webhook_url_ok(url: &str, create: bool) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let (max, extra): (usize, &str) = if create {
        (500, "-.?,|:'/\\+=&%$#_[]@!()*;~")
    } else {
        (100, "-.?,:'/\\+=&;%$#_@")
    };
    url.chars().count() <= max
        && rest
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

pub(super) fn webhook_fields(
    obj: &serde_json::Map<String, Value>,
    require: bool,
) -> Result<(), HttpResponse> {
    const FIELDS: [&str; 7] = [
        "name",
        "url",
        "description",
        "subscriptions",
        "includeEventsFrom",
        "ignoreSourceId",
        "isEnabled",
    ];
    for k in obj.keys() {
        if !FIELDS.contains(&k.as_str()) {
            return Err(desk_invalid(k, "is not a field of a webhook"));
        }
    }
    if require && !obj.contains_key("url") {
        return Err(desk_invalid("url", "is required"));
    }
    // The schema requires subscriptions on create and on PATCH alike.
    match obj.get("subscriptions") {
        Some(Value::Object(subs)) if !subs.is_empty() => {
            for (event, filter) in subs {
                if !WEBHOOK_EVENTS.contains(&event.as_str()) {
                    return Err(desk_invalid(
                        &format!("subscriptions/{event}"),
                        "is not a Desk event",
                    ));
                }
                let allowed = event_filters(event);
                if let Some(f) = filter.as_object() {
                    let Some(allowed) = allowed else {
                        return Err(desk_invalid(
                            &format!("subscriptions/{event}"),
                            "takes no filter: pass null",
                        ));
                    };
                    if let Some(bad) = f.keys().find(|k| !allowed.contains(&k.as_str())) {
                        return Err(desk_invalid(
                            &format!("subscriptions/{event}/{bad}"),
                            "is not a filter of this event",
                        ));
                    }
                    if f.get("fields")
                        .and_then(Value::as_array)
                        .is_some_and(|a| a.len() > 5)
                    {
                        return Err(desk_invalid(
                            &format!("subscriptions/{event}/fields"),
                            "lists at most 5 fields",
                        ));
                    }
                }
                if !(filter.is_null() || filter.is_object()) {
                    return Err(desk_invalid(
                        &format!("subscriptions/{event}"),
                        "must be an object or null",
                    ));
                }
            }
        }
        _ => {
            return Err(desk_invalid(
                "subscriptions",
                "is required: an object of event names",
            ));
        }
    }
    if let Some(u) = obj.get("url") {
        let url = u.as_str().unwrap_or("");
        if !webhook_url_ok(url, require) {
            return Err(desk_invalid(
                "url",
                if require {
                    "must be an http(s) URL of at most 500 characters"
                } else {
                    "must be an http(s) URL of at most 100 characters, without `~`"
                },
            ));
        }
    }
    if let Some(id) = obj.get("ignoreSourceId") {
        let ok = match id.as_str() {
            Some("") => true,
            Some(u) => {
                u.len() == 36
                    && u.chars().enumerate().all(|(i, c)| {
                        if [8, 13, 18, 23].contains(&i) {
                            c == '-'
                        } else {
                            c.is_ascii_hexdigit()
                        }
                    })
            }
            None => false,
        };
        if !ok {
            return Err(desk_invalid("ignoreSourceId", "must be a UUID"));
        }
    }
    if let Some(inc) = obj.get("includeEventsFrom")
        && !inc
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x.as_str() == Some("AUTOMATION")))
    {
        return Err(desk_invalid(
            "includeEventsFrom",
            "may only hold \"AUTOMATION\"",
        ));
    }
    Ok(())
}

pub(super) async fn create_webhook(
    sim: web::Data<Inner>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 1).await);
    let obj = or_answer!(body_object(&body));
    if let Err(r) = webhook_fields(&obj, true) {
        return r;
    }
    let url = obj
        .get("url")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    if !validate_url(&sim, &url).await {
        return desk_invalid(
            "url",
            "the URL did not answer the validation request with 200",
        );
    }
    let now = sim.clock.now();
    let mut st = sim.state();
    if st.desk.webhooks.len() >= 20 {
        return desk_error(
            422,
            "UNPROCESSABLE_ENTITY",
            "At most 20 webhooks can be configured.",
        );
    }
    let id = st.desk.new_id();
    let hook = SimWebhook {
        id,
        name: obj
            .get("name")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string(),
        url,
        description: obj
            .get("description")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        subscriptions: obj.get("subscriptions").cloned().unwrap_or_default(),
        include_events_from: obj
            .get("includeEventsFrom")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        ignore_source_id: obj
            .get("ignoreSourceId")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        is_enabled: obj
            .get("isEnabled")
            .and_then(|v| v.as_bool())
            .unwrap_or(true),
        created_time: now,
        kind: "CUSTOMER_WEBHOOK".into(),
    };
    st.desk.webhooks.push(hook.clone());
    with_weight(HttpResponse::Ok().json(hook), 1)
}

pub(super) async fn list_webhooks(sim: web::Data<Inner>, req: HttpRequest) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 3).await);
    let st = sim.state();
    let items = st
        .desk
        .webhooks
        .iter()
        .map(|w| serde_json::to_value(w).unwrap_or_default())
        .collect();
    with_weight(list_or_204("data", items), 3)
}

pub(super) async fn get_webhook(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 1).await);
    let st = sim.state();
    match st.desk.webhooks.iter().find(|w| w.id == *path) {
        Some(w) => with_weight(HttpResponse::Ok().json(w), 1),
        None => not_found(),
    }
}

pub(super) async fn patch_webhook(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 1).await);
    let obj = or_answer!(body_object(&body));
    if let Err(r) = webhook_fields(&obj, false) {
        return r;
    }
    if !sim.state().desk.webhooks.iter().any(|w| w.id == *path) {
        return not_found();
    }
    if let Some(url) = obj.get("url").and_then(|v| v.as_str())
        && !validate_url(&sim, url).await
    {
        return desk_invalid(
            "url",
            "the URL did not answer the validation request with 200",
        );
    }
    let mut st = sim.state();
    let Some(w) = st.desk.webhooks.iter_mut().find(|w| w.id == *path) else {
        return not_found();
    };
    if let Some(u) = obj.get("url").and_then(|v| v.as_str()) {
        w.url = u.to_string();
    }
    if let Some(n) = obj.get("name").and_then(|v| v.as_str()) {
        w.name = n.to_string();
    }
    if let Some(s) = obj.get("subscriptions") {
        w.subscriptions = s.clone();
    }
    if let Some(e) = obj.get("isEnabled").and_then(|v| v.as_bool()) {
        w.is_enabled = e;
    }
    let w = w.clone();
    with_weight(HttpResponse::Ok().json(w), 1)
}

pub(super) async fn delete_webhook(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 1).await);
    let mut st = sim.state();
    let before = st.desk.webhooks.len();
    st.desk.webhooks.retain(|w| w.id != *path);
    if st.desk.webhooks.len() == before {
        return not_found();
    }
    // DELETE answers 200 with no body, not 204.
    with_weight(HttpResponse::Ok().finish(), 1)
}
