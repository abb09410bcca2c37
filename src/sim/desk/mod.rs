//! The Desk API: `/api/v1/…` with Zoho's paths, shapes, 204s, errors, restrictions and
//! credit accounting; and the JWKS at `/.well-known/jwks.json`.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

mod fields;
mod hooks;
mod org;
mod tickets;

use super::Inner;
use super::gate::{self, Api, desk_error, desk_invalid};
use super::state::{SimTicket, SimWebhook, State, TicketPatch};
use fields::*;
use hooks::*;
use org::*;
use tickets::*;

type Query = web::Query<HashMap<String, String>>;
type Range = Option<(DateTime<Utc>, DateTime<Utc>)>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/.well-known/jwks.json", web::get().to(jwks))
        .service(
            web::scope("/api/v1")
                // Credits are spent by calls that succeed, at the weight the answer reports.
                .wrap_fn(|req, srv| {
                    use actix_web::dev::Service as _;
                    let sim = req.app_data::<web::Data<Inner>>().cloned();
                    let fut = srv.call(req);
                    async move {
                        let res = fut.await?;
                        if res.status().is_success()
                            && let Some(sim) = sim
                        {
                            let weight = res
                                .headers()
                                .get("x-rate-limit-request-weight-v3")
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| v.parse::<u64>().ok())
                                .unwrap_or(0);
                            sim.state().desk_credits += weight;
                        }
                        Ok(res)
                    }
                })
                .route("/tickets", web::get().to(list_tickets))
                .route("/tickets/search", web::get().to(search_tickets))
                .route("/tickets/{id}", web::get().to(get_ticket))
                .route("/tickets/{id}", web::patch().to(update_ticket))
                .route("/tickets/{id}/sendReply", web::post().to(send_reply))
                .route("/tickets/{id}/comments", web::post().to(add_comment))
                .route("/tickets/{id}/comments", web::get().to(list_comments))
                .route("/tickets/{id}/threads", web::get().to(list_threads))
                .route("/tickets/{id}/tasks", web::get().to(ticket_tasks))
                .route("/tasks", web::get().to(list_tasks))
                .route("/agents", web::get().to(list_agents))
                .route("/agentsByIds", web::get().to(agents_by_ids))
                .route("/myinfo", web::get().to(my_info))
                .route("/fields", web::get().to(list_fields))
                .route("/departments", web::get().to(list_departments))
                .route("/departments/{id}", web::get().to(get_department))
                .route("/departments/{id}/teams", web::get().to(department_teams))
                .route("/teams", web::get().to(list_teams))
                .route("/ticketsCount", web::get().to(tickets_count))
                .route("/ticketsCountByFieldValues", web::get().to(count_by_field))
                .route("/agentsTicketsCount", web::get().to(agents_tickets_count))
                .route("/customerHappiness", web::get().to(customer_happiness))
                .route("/webhooks", web::post().to(create_webhook))
                .route("/webhooks", web::get().to(list_webhooks))
                .route("/webhooks/{id}", web::get().to(get_webhook))
                .route("/webhooks/{id}", web::patch().to(patch_webhook))
                .route("/webhooks/{id}", web::delete().to(delete_webhook))
                .default_service(web::to(|| async {
                    desk_error(
                        404,
                        "URL_NOT_FOUND",
                        "The URL you requested could not be found.",
                    )
                })),
        );
}

async fn jwks(sim: web::Data<Inner>, req: HttpRequest) -> HttpResponse {
    if let Some(r) = gate::faults(&sim, &req, Api::Desk).await {
        return r;
    }
    let keys: Vec<_> = sim.desk_key.jwk().into_iter().collect();
    HttpResponse::Ok().json(json!({ "keys": keys }))
}

/// Counts a call in flight until dropped.
struct InFlight<'a>(&'a Inner);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut st = self.0.state();
        st.desk_in_flight = st.desk_in_flight.saturating_sub(1);
    }
}

/// The scope a Desk call needs (desk-api.md "Scopes"; the OAS `security` of each operation).
fn needed_scope(method: &actix_web::http::Method, path: &str) -> &'static str {
    let p = path.trim_start_matches("/api/v1");
    let read = method == actix_web::http::Method::GET;
    if p.starts_with("/webhooks") {
        "Desk.events.ALL"
    } else if p.starts_with("/tickets/search")
        || p.starts_with("/ticketsCount")
        || p.starts_with("/agentsTicketsCount")
    {
        "Desk.search.READ"
    } else if p.starts_with("/tickets") || p.starts_with("/customerHappiness") {
        match (read, p.ends_with("/sendReply") || p.ends_with("/comments")) {
            (true, _) => "Desk.tickets.READ",
            (false, true) => "Desk.tickets.CREATE",
            (false, false) => "Desk.tickets.UPDATE",
        }
    } else if p.starts_with("/tasks") {
        "Desk.activities.READ"
    } else {
        "Desk.basic.READ"
    }
}

/// Faults, concurrency, token, `orgId`, credits: what every Desk call goes through.
/// Returns the caller's zuid and the call's in-flight marker.
async fn enter<'a>(
    sim: &'a Inner,
    req: &HttpRequest,
    // The weight is reported by `with_weight` and charged on success (see `routes`).
    _cost: u64,
) -> Result<(String, InFlight<'a>), HttpResponse> {
    {
        let mut st = sim.state();
        if st.desk_in_flight >= st.desk_concurrency_limit {
            return Err(desk_error(
                429,
                "TOO_MANY_REQUESTS",
                "Too many concurrent requests.",
            ));
        }
        st.desk_in_flight += 1;
        st.desk_max_in_flight = st.desk_max_in_flight.max(st.desk_in_flight);
    }
    let marker = InFlight(sim);
    if let Some(resp) = gate::faults(sim, req, Api::Desk).await {
        return Err(resp);
    }
    let user = gate::authenticate(sim, req, Api::Desk)?;
    let granted = gate::scopes(sim, req);
    if !granted.is_empty() {
        let needed = needed_scope(req.method(), req.path());
        if !gate::covers(&granted, needed) {
            return Err(desk_error(
                401,
                "SCOPE_MISMATCH",
                &format!("The OAuth token does not have the scope {needed}."),
            ));
        }
    }
    // The docs say header; the OAS models a query parameter: accept both.
    let org = req
        .headers()
        .get("orgId")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            web::Query::<HashMap<String, String>>::from_query(req.query_string())
                .ok()
                .and_then(|q| q.get("orgId").cloned())
        });
    let st = sim.state();
    match org {
        None => {
            return Err(desk_error(
                400,
                "BAD_REQUEST",
                "The orgId header is missing.",
            ));
        }
        Some(o) if o.trim() != st.desk.org_id => {
            return Err(desk_error(
                401,
                "OAUTH_ORG_MISMATCH",
                "The OAuth token does not belong to this organization.",
            ));
        }
        Some(_) => {}
    }
    Ok((user, marker))
}

fn with_weight(mut resp: HttpResponse, cost: u64) -> HttpResponse {
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&cost.to_string()) {
        resp.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-rate-limit-request-weight-v3"),
            v,
        );
    }
    resp
}

fn list_or_204(key: &str, items: Vec<Value>) -> HttpResponse {
    if items.is_empty() {
        HttpResponse::NoContent().finish()
    } else {
        HttpResponse::Ok().json(json!({ key: items }))
    }
}

fn bad_param(name: &str) -> HttpResponse {
    desk_error(
        422,
        "UNPROCESSABLE_ENTITY",
        &format!("The value passed for the '{name}' query parameter is invalid."),
    )
}

/// An integer query parameter in `min..=max`, `default` when absent.
fn int_param(q: &Query, name: &str, default: i64, min: i64, max: i64) -> Result<i64, HttpResponse> {
    match q.get(name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(bad_param(name)),
        },
    }
}

fn csv(q: &Query, name: &str) -> Option<Vec<String>> {
    q.get(name).map(|v| {
        v.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

/// `yyyy-MM-ddThh:mm:ss.SSSZ,yyyy-MM-ddThh:mm:ss.SSSZ`
fn range(q: &Query, name: &str) -> Result<Range, HttpResponse> {
    let Some(v) = q.get(name) else {
        return Ok(None);
    };
    let parts: Vec<&str> = v.split(',').collect();
    match parts.as_slice() {
        [a, b] => match (desk_time(a), desk_time(b)) {
            (Some(a), Some(b)) => Ok(Some((a, b))),
            _ => Err(bad_param(name)),
        },
        _ => Err(bad_param(name)),
    }
}

/// One end of a range as the OAS pattern has it: UTC with a `Z`, seconds, at most three
/// digits of fraction (`2017-11-05T00:00:00.000Z`); no offset, no date alone.
fn desk_time(s: &str) -> Option<DateTime<Utc>> {
    let body = s.strip_suffix('Z')?;
    let fraction = body.split_once('.').map(|(_, f)| f).unwrap_or("");
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    chrono::NaiveDateTime::parse_from_str(body, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

fn in_range(t: Option<DateTime<Utc>>, r: &Range) -> bool {
    match r {
        None => true,
        Some((a, b)) => t.is_some_and(|t| t >= *a && t <= *b),
    }
}

fn agent_ref(st: &State, id: &Option<String>, search_style: bool) -> Value {
    let Some(a) = id
        .as_ref()
        .and_then(|id| st.desk.agents.iter().find(|a| &a.id == id))
    else {
        return Value::Null;
    };
    if search_style {
        json!({"id": a.id, "firstName": a.first_name, "lastName": a.last_name, "photoURL": a.photo_url,
               "emailId": a.email_id, "zuid": a.zuid})
    } else {
        json!({"id": a.id, "firstName": a.first_name, "lastName": a.last_name, "photoURL": a.photo_url,
               "email": a.email_id})
    }
}

fn department_ref(st: &State, id: &str) -> Value {
    st.desk
        .departments
        .iter()
        .find(|d| d.id == id)
        .map(|d| json!({"id": d.id, "name": d.name}))
        .unwrap_or(Value::Null)
}

fn team_ref(st: &State, id: &Option<String>) -> Value {
    id.as_ref()
        .and_then(|id| st.desk.teams.iter().find(|t| &t.id == id))
        .map(|t| json!({"id": t.id, "name": t.name, "logoUrl": null}))
        .unwrap_or(Value::Null)
}

fn contact_ref(t: &SimTicket) -> Value {
    json!({"id": t.contact_id, "firstName": null, "lastName": t.email.clone().unwrap_or_default(),
           "email": t.email, "phone": t.phone, "mobile": null, "type": null, "isSpam": false, "account": null})
}

const INCLUDES: [&str; 5] = ["contacts", "products", "departments", "team", "assignee"];

fn with_includes(st: &State, t: &SimTicket, includes: &[String]) -> Value {
    let mut v = serde_json::to_value(t).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        for inc in includes {
            match inc.as_str() {
                "assignee" => {
                    o.insert("assignee".into(), agent_ref(st, &t.assignee_id, false));
                }
                "departments" => {
                    o.insert("department".into(), department_ref(st, &t.department_id));
                }
                "team" => {
                    o.insert("team".into(), team_ref(st, &t.team_id));
                }
                "contacts" => {
                    o.insert("contact".into(), contact_ref(t));
                }
                "products" => {
                    o.insert("product".into(), Value::Null);
                }
                _ => {}
            }
        }
    }
    v
}

fn includes(q: &Query) -> Result<Vec<String>, HttpResponse> {
    let inc = csv(q, "include").unwrap_or_default();
    if inc.iter().any(|i| !INCLUDES.contains(&i.as_str())) {
        return Err(bad_param("include"));
    }
    Ok(inc)
}

fn sort_tickets(tickets: &mut [&SimTicket], sort_by: &str) {
    let (desc, field) = match sort_by.strip_prefix('-') {
        Some(f) => (true, f),
        None => (false, sort_by),
    };
    let key = |t: &SimTicket| -> Option<DateTime<Utc>> {
        match field {
            "dueDate" => t.due_date,
            "responseDueDate" => t.response_due_date,
            "customerResponseTime" => t.customer_response_time,
            "modifiedTime" => Some(t.modified_time),
            _ => Some(t.created_time),
        }
    };
    tickets.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        // Tickets without the field sort last either way.
        let ord = match (ka, kb) {
            (Some(x), Some(y)) => {
                if desc {
                    y.cmp(&x)
                } else {
                    x.cmp(&y)
                }
            }
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        ord.then_with(|| a.id.cmp(&b.id))
    });
}

fn not_found() -> HttpResponse {
    desk_error(
        404,
        "URL_NOT_FOUND",
        "The URL you requested could not be found.",
    )
}

fn body_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, HttpResponse> {
    if body.is_empty() {
        return Err(desk_error(400, "EMPTY_PAYLOAD", "The payload is empty."));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        _ => Err(desk_error(
            400,
            "BAD_REQUEST",
            "The request body is not a JSON object.",
        )),
    }
}

/// The agent acting for a zuid (the token's user), for `modifiedBy`.
fn actor_of(st: &State, zuid: &str) -> Option<String> {
    st.desk
        .agents
        .iter()
        .find(|a| a.zuid == zuid)
        .map(|a| a.id.clone())
}

fn opt_id(v: &Value, field: &str) -> Result<Option<String>, HttpResponse> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) if s.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err(desk_invalid(field, "must be an id")),
    }
}
