//! The Desk API: `/api/v1/…` with Zoho's paths, shapes, 204s, errors, restrictions and
//! credit accounting; and the JWKS at `/.well-known/jwks.json`.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::Inner;
use super::gate::{self, Api, desk_error, desk_invalid};
use super::state::{SimTicket, SimWebhook, State, TicketPatch};

type Query = web::Query<HashMap<String, String>>;
type Range = Option<(DateTime<Utc>, DateTime<Utc>)>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/.well-known/jwks.json", web::get().to(jwks))
        .service(
            web::scope("/api/v1")
                .route("/tickets", web::get().to(list_tickets))
                .route("/tickets/search", web::get().to(search_tickets))
                .route("/tickets/{id}", web::get().to(get_ticket))
                .route("/tickets/{id}", web::patch().to(update_ticket))
                .route("/tickets/{id}/sendReply", web::post().to(send_reply))
                .route("/tickets/{id}/comments", web::post().to(add_comment))
                .route("/tickets/{id}/comments", web::get().to(list_comments))
                .route("/tickets/{id}/tasks", web::get().to(ticket_tasks))
                .route("/tasks", web::get().to(list_tasks))
                .route("/agents", web::get().to(list_agents))
                .route("/agentsByIds", web::get().to(agents_by_ids))
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

async fn jwks(sim: web::Data<Inner>) -> HttpResponse {
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

/// Faults, concurrency, token, `orgId`, credits: what every Desk call goes through.
/// Returns the caller's zuid and the call's in-flight marker.
async fn enter<'a>(
    sim: &'a Inner,
    req: &HttpRequest,
    cost: u64,
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
    let mut st = sim.state();
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
    st.desk_credits += cost;
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
    let parse = |s: &str| DateTime::parse_from_rfc3339(s.trim()).map(|t| t.with_timezone(&Utc));
    match parts.as_slice() {
        [a, b] => match (parse(a), parse(b)) {
            (Ok(a), Ok(b)) => Ok(Some((a, b))),
            _ => Err(bad_param(name)),
        },
        _ => Err(bad_param(name)),
    }
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

async fn list_tickets(sim: web::Data<Inner>, req: HttpRequest, q: Query) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 3).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let result = (|| -> Result<HttpResponse, HttpResponse> {
        let from = int_param(&q, "from", 0, 0, i64::MAX)? as usize;
        let limit = int_param(&q, "limit", 25, 1, 100)? as usize;
        let inc = includes(&q)?;
        let sort_by = q
            .get("sortBy")
            .cloned()
            .unwrap_or_else(|| "createdTime".into());
        let allowed = [
            "dueDate",
            "createdTime",
            "responseDueDate",
            "customerResponseTime",
            "recentThread",
        ];
        if !allowed.contains(&sort_by.trim_start_matches('-')) {
            return Err(bad_param("sortBy"));
        }
        let st = sim.state();
        let statuses = csv(&q, "status");
        let assignees = csv(&q, "assignee");
        let department = q.get("departmentId").cloned();
        let mut tickets: Vec<&SimTicket> = st
            .desk
            .tickets
            .values()
            .filter(|t| department.as_ref().is_none_or(|d| &t.department_id == d))
            .filter(|t| {
                statuses
                    .as_ref()
                    .is_none_or(|s| s.iter().any(|s| s == &t.status))
            })
            .filter(|t| {
                assignees.as_ref().is_none_or(|a| {
                    a.iter().any(|a| {
                        (a == "Unassigned" && t.assignee_id.is_none())
                            || t.assignee_id.as_deref() == Some(a.as_str())
                    })
                })
            })
            .collect();
        sort_tickets(&mut tickets, &sort_by);
        let items = tickets
            .into_iter()
            .skip(from)
            .take(limit)
            .map(|t| {
                let mut v = with_includes(&st, t, &inc);
                if let Some(o) = v.as_object_mut() {
                    // List items leave these out unless asked for with `fields`.
                    o.remove("modifiedTime");
                    o.remove("description");
                    o.remove("cf");
                }
                v
            })
            .collect();
        Ok(list_or_204("data", items))
    })();
    with_weight(result.unwrap_or_else(|e| e), 3)
}

async fn search_tickets(sim: web::Data<Inner>, req: HttpRequest, q: Query) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 3).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let result = (|| -> Result<HttpResponse, HttpResponse> {
        let from = int_param(&q, "from", 0, 0, 999)? as usize;
        let limit = int_param(&q, "limit", 10, 1, 100)? as usize;
        let sort_by = q
            .get("sortBy")
            .cloned()
            .unwrap_or_else(|| "relevance".into());
        let allowed = [
            "relevance",
            "modifiedTime",
            "createdTime",
            "customerResponseTime",
        ];
        if !allowed.contains(&sort_by.trim_start_matches('-')) {
            return Err(bad_param("sortBy"));
        }
        if q.contains_key("include") {
            return Err(bad_param("include"));
        }
        let created = range(&q, "createdTimeRange")?;
        let modified = range(&q, "modifiedTimeRange")?;
        let due = range(&q, "dueDateRange")?;
        let numbers = csv(&q, "ticketNumber");
        let emails =
            csv(&q, "email").map(|e| e.into_iter().map(|e| e.to_lowercase()).collect::<Vec<_>>());
        let statuses = csv(&q, "status");
        let assignees = csv(&q, "assigneeId");
        let department = q.get("departmentId").cloned();
        let st = sim.state();
        let mut tickets: Vec<&SimTicket> = st
            .desk
            .tickets
            .values()
            .filter(|t| {
                numbers
                    .as_ref()
                    .is_none_or(|n| n.contains(&t.ticket_number))
            })
            .filter(|t| {
                emails.as_ref().is_none_or(|e| {
                    t.email
                        .as_ref()
                        .is_some_and(|m| e.contains(&m.to_lowercase()))
                })
            })
            .filter(|t| statuses.as_ref().is_none_or(|s| s.contains(&t.status)))
            .filter(|t| {
                assignees
                    .as_ref()
                    .is_none_or(|a| t.assignee_id.as_ref().is_some_and(|id| a.contains(id)))
            })
            .filter(|t| department.as_ref().is_none_or(|d| &t.department_id == d))
            .filter(|t| in_range(Some(t.created_time), &created))
            .filter(|t| in_range(Some(t.modified_time), &modified))
            .filter(|t| in_range(t.due_date, &due))
            .collect();
        let total = tickets.len();
        let sort_key = if sort_by.trim_start_matches('-') == "relevance" {
            "-modifiedTime"
        } else {
            sort_by.as_str()
        };
        sort_tickets(&mut tickets, sort_key);
        let items: Vec<Value> = tickets
            .into_iter()
            .skip(from)
            .take(limit)
            .map(|t| {
                let mut v = serde_json::to_value(t).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("assignee".into(), agent_ref(&st, &t.assignee_id, true));
                    o.insert("department".into(), department_ref(&st, &t.department_id));
                    o.insert("team".into(), team_ref(&st, &t.team_id));
                    o.insert("contact".into(), contact_ref(t));
                }
                v
            })
            .collect();
        if items.is_empty() {
            return Ok(HttpResponse::NoContent().finish());
        }
        Ok(HttpResponse::Ok().json(json!({"data": items, "count": total})))
    })();
    with_weight(result.unwrap_or_else(|e| e), 3)
}

fn not_found() -> HttpResponse {
    desk_error(
        404,
        "URL_NOT_FOUND",
        "The URL you requested could not be found.",
    )
}

async fn get_ticket(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    q: Query,
) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 1).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let inc = match includes(&q) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let st = sim.state();
    let resp = match st.ticket(&path) {
        Some(t) => HttpResponse::Ok().json(with_includes(&st, t, &inc)),
        None => not_found(),
    };
    with_weight(resp, 1)
}

/// The fields PATCH /tickets/{id} accepts (Zoho's schema has additionalProperties: false).
const TICKET_FIELDS: [&str; 18] = [
    "subject",
    "description",
    "status",
    "priority",
    "channel",
    "language",
    "classification",
    "category",
    "subCategory",
    "email",
    "phone",
    "dueDate",
    "responseDueDate",
    "assigneeId",
    "teamId",
    "departmentId",
    "contactId",
    "cf",
];

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

async fn update_ticket(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, _f) = match enter(&sim, &req, 1).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let obj = match body_object(&body) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let now = sim.clock.now();
    let mut patch = TicketPatch::default();
    let parsed = (|| -> Result<(), HttpResponse> {
        let st = sim.state();
        if st.ticket(&path).is_none() {
            return Err(not_found());
        }
        for (k, v) in &obj {
            if !TICKET_FIELDS.contains(&k.as_str()) {
                return Err(desk_invalid(k, "is not a field of a ticket"));
            }
            match k.as_str() {
                "subject" => {
                    patch.subject = Some(
                        v.as_str()
                            .ok_or_else(|| desk_invalid(k, "must be a string"))?
                            .to_string(),
                    )
                }
                "status" => {
                    patch.status = Some(
                        v.as_str()
                            .filter(|s| !s.is_empty())
                            .ok_or_else(|| desk_invalid(k, "must be a status name"))?
                            .to_string(),
                    )
                }
                "priority" => {
                    patch.priority = Some(
                        v.as_str()
                            .ok_or_else(|| desk_invalid(k, "must be a string"))?
                            .to_string(),
                    )
                }
                "assigneeId" => {
                    let id = opt_id(v, k)?;
                    if let Some(id) = &id
                        && !st.desk.agents.iter().any(|a| &a.id == id)
                    {
                        return Err(desk_invalid(k, "no such agent"));
                    }
                    patch.assignee_id = Some(id);
                }
                "teamId" => {
                    let id = opt_id(v, k)?;
                    if let Some(id) = &id
                        && !st.desk.teams.iter().any(|t| &t.id == id)
                    {
                        return Err(desk_invalid(k, "no such team"));
                    }
                    patch.team_id = Some(id);
                }
                "departmentId" => {
                    let id = opt_id(v, k)?.ok_or_else(|| desk_invalid(k, "is required"))?;
                    if !st.desk.departments.iter().any(|d| d.id == id) {
                        return Err(desk_invalid(k, "no such department"));
                    }
                    patch.department_id = Some(id);
                }
                "dueDate" => {
                    patch.due_date = Some(match v {
                        Value::Null => None,
                        Value::String(s) => Some(
                            DateTime::parse_from_rfc3339(s)
                                .map_err(|_| desk_invalid(k, "must be yyyy-MM-ddTHH:mm:ss.SSSZ"))?
                                .with_timezone(&Utc),
                        ),
                        _ => return Err(desk_invalid(k, "must be a date")),
                    })
                }
                _ => {}
            }
        }
        Ok(())
    })();
    if let Err(r) = parsed {
        return r;
    }
    let (ticket, events) = {
        let mut st = sim.state();
        let actor = actor_of(&st, &user);
        match st.update_ticket(&path, patch, actor.as_deref(), now) {
            Some(x) => x,
            None => return not_found(),
        }
    };
    for e in events {
        let _ = sim.deliveries.send(e);
    }
    with_weight(HttpResponse::Ok().json(ticket), 1)
}

async fn send_reply(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 1).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let obj = match body_object(&body) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let now = sim.clock.now();
    let mut st = sim.state();
    let Some(ticket) = st.ticket(&path).cloned() else {
        return not_found();
    };
    let channel = obj.get("channel").and_then(|v| v.as_str()).unwrap_or("");
    if !["EMAIL", "FACEBOOK", "TWITTER", "FORUMS"].contains(&channel) {
        return desk_invalid("channel", "must be EMAIL, FACEBOOK, TWITTER or FORUMS");
    }
    let Some(content) = obj
        .get("content")
        .and_then(|v| v.as_str())
        .filter(|c| !c.is_empty())
    else {
        return desk_invalid("content", "is required");
    };
    let content_type = obj
        .get("contentType")
        .and_then(|v| v.as_str())
        .unwrap_or("plainText");
    if !["html", "plainText"].contains(&content_type) {
        return desk_invalid("contentType", "must be html or plainText");
    }
    let from = obj
        .get("fromEmailAddress")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    if channel == "EMAIL" && !st.from_addresses.iter().any(|a| a == from) {
        return desk_invalid(
            "fromEmailAddress",
            "is not a from-address configured in the portal",
        );
    }
    let to = obj
        .get("to")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .or(ticket.email.clone())
        .unwrap_or_default();
    let id = st.desk.new_id();
    let thread = super::state::SimThread {
        id,
        ticket_id: ticket.id.clone(),
        channel: channel.to_string(),
        direction: "out".into(),
        content: content.to_string(),
        content_type: if content_type == "html" {
            "text/html"
        } else {
            "text/plain"
        }
        .into(),
        from_email_address: from.to_string(),
        to,
        created_time: now,
        status: "SUCCESS".into(),
    };
    st.desk.threads.push(thread.clone());
    if let Some(t) = path
        .parse::<u64>()
        .ok()
        .and_then(|n| st.desk.tickets.get_mut(&n))
    {
        let count: u64 = t.thread_count.parse().unwrap_or(0);
        t.thread_count = (count + 1).to_string();
    }
    with_weight(HttpResponse::Ok().json(thread), 1)
}

async fn add_comment(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, _f) = match enter(&sim, &req, 1).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let obj = match body_object(&body) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let Some(content) = obj
        .get("content")
        .and_then(|v| v.as_str())
        .filter(|c| !c.is_empty())
    else {
        return desk_invalid("content", "is required");
    };
    if content.chars().count() > 32_000 {
        return desk_invalid("content", "is longer than 32000 characters");
    }
    let public = match obj.get("isPublic") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return desk_invalid("isPublic", "must be a boolean"),
    };
    if let Some(ct) = obj.get("contentType")
        && !matches!(ct.as_str(), Some("html") | Some("plainText"))
    {
        return desk_invalid("contentType", "must be html or plainText");
    }
    let now = sim.clock.now();
    let (comment, events) = {
        let mut st = sim.state();
        let author = actor_of(&st, &user).unwrap_or(user);
        match st.add_comment(&path, &author, content, public, now) {
            Some(x) => x,
            None => return not_found(),
        }
    };
    for e in events {
        let _ = sim.deliveries.send(e);
    }
    with_weight(HttpResponse::Ok().json(comment), 1)
}

async fn list_comments(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    q: Query,
) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 3).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let from = match int_param(&q, "from", 0, 0, i64::MAX) {
        Ok(v) => v as usize,
        Err(r) => return r,
    };
    let limit = match int_param(&q, "limit", 50, 1, 100) {
        Ok(v) => v as usize,
        Err(r) => return r,
    };
    let st = sim.state();
    if st.ticket(&path).is_none() {
        return not_found();
    }
    let items: Vec<Value> = st
        .desk
        .comments
        .iter()
        .filter(|c| c.ticket_id == *path)
        .skip(from)
        .take(limit)
        .map(|c| serde_json::to_value(c).unwrap_or_default())
        .collect();
    // The comments list is not declared to answer 204.
    with_weight(HttpResponse::Ok().json(json!({"data": items})), 3)
}

fn tasks_response(
    st: &State,
    q: &Query,
    ticket: Option<&str>,
) -> Result<HttpResponse, HttpResponse> {
    let from = int_param(q, "from", 0, 0, i64::MAX)? as usize;
    let limit = int_param(q, "limit", 25, 1, 100)? as usize;
    let department = q.get("departmentId").cloned();
    let items = st
        .desk
        .tasks
        .iter()
        .filter(|t| ticket.is_none_or(|id| t.ticket_id.as_deref() == Some(id)))
        .filter(|t| department.as_ref().is_none_or(|d| &t.department_id == d))
        .skip(from)
        .take(limit)
        .map(|t| serde_json::to_value(t).unwrap_or_default())
        .collect();
    Ok(list_or_204("data", items))
}

async fn list_tasks(sim: web::Data<Inner>, req: HttpRequest, q: Query) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 3).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let st = sim.state();
    with_weight(tasks_response(&st, &q, None).unwrap_or_else(|e| e), 3)
}

async fn ticket_tasks(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    q: Query,
) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 3).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let st = sim.state();
    if st.ticket(&path).is_none() {
        return not_found();
    }
    with_weight(
        tasks_response(&st, &q, Some(&path)).unwrap_or_else(|e| e),
        3,
    )
}

async fn list_agents(sim: web::Data<Inner>, req: HttpRequest, q: Query) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 3).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let result = (|| -> Result<HttpResponse, HttpResponse> {
        let from = int_param(&q, "from", 0, 0, i64::MAX)? as usize;
        let limit = int_param(&q, "limit", 10, 0, 200)? as usize;
        let status = q.get("status").cloned();
        if let Some(s) = &status
            && !["ACTIVE", "DISABLED", "DELETED", "IMPORTED"].contains(&s.as_str())
        {
            return Err(bad_param("status"));
        }
        let deps = csv(&q, "departmentIds");
        let st = sim.state();
        let items = st
            .desk
            .agents
            .iter()
            .filter(|a| status.as_ref().is_none_or(|s| &a.status == s))
            .filter(|a| {
                deps.as_ref()
                    .is_none_or(|d| a.associated_department_ids.iter().any(|x| d.contains(x)))
            })
            .skip(from)
            .take(if limit == 0 { 10 } else { limit })
            .map(|a| serde_json::to_value(a).unwrap_or_default())
            .collect();
        Ok(list_or_204("data", items))
    })();
    with_weight(result.unwrap_or_else(|e| e), 3)
}

async fn agents_by_ids(sim: web::Data<Inner>, req: HttpRequest, q: Query) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 1).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(ids) = csv(&q, "agentIds").filter(|ids| !ids.is_empty() && ids.len() <= 50) else {
        return bad_param("agentIds");
    };
    let st = sim.state();
    let items: Vec<Value> = st
        .desk
        .agents
        .iter()
        .filter(|a| ids.contains(&a.id))
        .map(|a| {
            json!({"id": a.id, "firstName": a.first_name, "lastName": a.last_name, "emailId": a.email_id,
                   "zuid": a.zuid, "photoURL": a.photo_url, "roleId": a.role_id})
        })
        .collect();
    with_weight(HttpResponse::Ok().json(json!({"data": items})), 1)
}

async fn list_departments(sim: web::Data<Inner>, req: HttpRequest, q: Query) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 3).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let result = (|| -> Result<HttpResponse, HttpResponse> {
        let from = int_param(&q, "from", 0, 0, i64::MAX)? as usize;
        let limit = int_param(&q, "limit", 200, 0, 200)? as usize;
        let enabled = match q.get("isEnabled").map(String::as_str) {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => return Err(bad_param("isEnabled")),
        };
        let st = sim.state();
        let items = st
            .desk
            .departments
            .iter()
            .filter(|d| enabled.is_none_or(|e| d.is_enabled == e))
            .skip(from)
            .take(if limit == 0 { 200 } else { limit })
            .map(|d| serde_json::to_value(d).unwrap_or_default())
            .collect();
        Ok(list_or_204("data", items))
    })();
    with_weight(result.unwrap_or_else(|e| e), 3)
}

async fn get_department(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 1).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let st = sim.state();
    let Some(d) = st.desk.departments.iter().find(|d| d.id == *path) else {
        return not_found();
    };
    let mut v = serde_json::to_value(d).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        let agents: Vec<&String> = st
            .desk
            .agents
            .iter()
            .filter(|a| a.associated_department_ids.contains(&d.id))
            .map(|a| &a.id)
            .collect();
        o.insert("associatedAgentIds".into(), json!(agents));
    }
    with_weight(HttpResponse::Ok().json(v), 1)
}

fn teams_response(st: &State, department: Option<&str>) -> HttpResponse {
    let teams: Vec<Value> = st
        .desk
        .teams
        .iter()
        .filter(|t| department.is_none_or(|d| t.department_id == d))
        .map(|t| {
            let mut v = serde_json::to_value(t).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                let members: Vec<&String> = st
                    .desk
                    .agents
                    .iter()
                    .filter(|a| a.associated_department_ids.contains(&t.department_id))
                    .map(|a| &a.id)
                    .collect();
                o.insert("agents".into(), json!(members));
                o.insert("derivedAgents".into(), json!(members));
                o.insert("subTeams".into(), json!([]));
                o.insert("logoUrl".into(), Value::Null);
            }
            v
        })
        .collect();
    // Teams answer under "teams", and with an empty list rather than 204.
    HttpResponse::Ok().json(json!({"teams": teams}))
}

async fn list_teams(sim: web::Data<Inner>, req: HttpRequest) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 3).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let st = sim.state();
    with_weight(teams_response(&st, None), 3)
}

async fn department_teams(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 3).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let st = sim.state();
    if !st.desk.departments.iter().any(|d| d.id == *path) {
        return not_found();
    }
    with_weight(teams_response(&st, Some(&path)), 3)
}

/// The tickets a count query selects (`departmentId`, `assigneeId`, time ranges).
fn counted<'a>(st: &'a State, q: &Query) -> Result<Vec<&'a SimTicket>, HttpResponse> {
    let deps = csv(q, "departmentId");
    let assignees = csv(q, "assigneeId");
    let created = range(q, "createdTimeRange")?;
    let modified = range(q, "modifiedTimeRange")?;
    Ok(st
        .desk
        .tickets
        .values()
        .filter(|t| deps.as_ref().is_none_or(|d| d.contains(&t.department_id)))
        .filter(|t| {
            assignees
                .as_ref()
                .is_none_or(|a| t.assignee_id.as_ref().is_some_and(|id| a.contains(id)))
        })
        .filter(|t| in_range(Some(t.created_time), &created))
        .filter(|t| in_range(Some(t.modified_time), &modified))
        .collect())
}

async fn tickets_count(sim: web::Data<Inner>, req: HttpRequest, q: Query) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 3).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let st = sim.state();
    let resp = match counted(&st, &q) {
        Ok(t) => HttpResponse::Ok().json(json!({"count": t.len()})),
        Err(r) => r,
    };
    with_weight(resp, 3)
}

fn overdue(t: &SimTicket, now: DateTime<Utc>) -> bool {
    t.status_type != "Closed" && t.due_date.is_some_and(|d| d < now)
}

async fn count_by_field(sim: web::Data<Inner>, req: HttpRequest, q: Query) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 3).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let known = [
        "statusType",
        "status",
        "priority",
        "channel",
        "spam",
        "escalated",
        "overDue",
    ];
    let Some(fields) =
        csv(&q, "field").filter(|f| !f.is_empty() && f.iter().all(|f| known.contains(&f.as_str())))
    else {
        return bad_param("field");
    };
    let now = sim.clock.now();
    let st = sim.state();
    let tickets = match counted(&st, &q) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let mut out = serde_json::Map::new();
    let grouped = |f: &dyn Fn(&SimTicket) -> String| -> Value {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for t in &tickets {
            let k = f(t);
            match counts.iter_mut().find(|(v, _)| *v == k) {
                Some((_, n)) => *n += 1,
                None => counts.push((k, 1)),
            }
        }
        // Counts come as strings in these arrays.
        Value::Array(
            counts
                .into_iter()
                .map(|(value, n)| json!({"value": value, "count": n.to_string()}))
                .collect(),
        )
    };
    for field in &fields {
        let v = match field.as_str() {
            "statusType" => {
                let n = |kind: &str| {
                    tickets
                        .iter()
                        .filter(|t| t.status_type == kind)
                        .count()
                        .to_string()
                };
                json!([
                    {"value": "OPEN", "count": n("Open")},
                    {"value": "ONHOLD", "count": n("On Hold")},
                    {"value": "CLOSED", "count": n("Closed")},
                ])
            }
            "status" => grouped(&|t| t.status.to_lowercase()),
            "priority" => grouped(&|t| t.priority.clone().unwrap_or_default().to_lowercase()),
            "channel" => grouped(&|t| t.channel.to_lowercase()),
            "spam" => json!(tickets.iter().filter(|t| t.is_spam).count()),
            "escalated" => json!(tickets.iter().filter(|t| t.is_escalated).count()),
            _ => json!(tickets.iter().filter(|t| overdue(t, now)).count()),
        };
        out.insert(field.clone(), v);
    }
    with_weight(HttpResponse::Ok().json(Value::Object(out)), 3)
}

async fn agents_tickets_count(sim: web::Data<Inner>, req: HttpRequest, q: Query) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 3).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(ids) = csv(&q, "agentIds").filter(|i| !i.is_empty() && i.len() <= 50) else {
        return desk_invalid("agentIds", "is required (at most 50)");
    };
    let department = q
        .get("departmentId")
        .filter(|d| d.as_str() != "allDepartment")
        .cloned();
    let now = sim.clock.now();
    let st = sim.state();
    let data: Vec<Value> = ids
        .iter()
        .map(|id| {
            let mine: Vec<&SimTicket> = st
                .desk
                .tickets
                .values()
                .filter(|t| t.assignee_id.as_deref() == Some(id.as_str()))
                .filter(|t| department.as_ref().is_none_or(|d| &t.department_id == d))
                .collect();
            json!({
                "agentId": id,
                "openCount": mine.iter().filter(|t| t.status_type == "Open").count(),
                "onholdCount": mine.iter().filter(|t| t.status_type == "On Hold").count(),
                "overDueCount": mine.iter().filter(|t| overdue(t, now)).count(),
                "dueIn1HrCount": mine.iter().filter(|t| t.status_type != "Closed" && t.due_date.is_some_and(|d| d >= now && d < now + chrono::Duration::hours(1))).count(),
                "isOnline": false,
            })
        })
        .collect();
    with_weight(HttpResponse::Ok().json(json!({"data": data})), 3)
}

async fn customer_happiness(sim: web::Data<Inner>, req: HttpRequest, q: Query) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 3).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let result = (|| -> Result<HttpResponse, HttpResponse> {
        let from = int_param(&q, "from", 0, 0, i64::MAX)? as usize;
        let limit = int_param(&q, "limit", 50, 1, 100)? as usize;
        // `department` is required: an id or allDepartment.
        let Some(department) = q
            .get("department")
            .or_else(|| q.get("departmentId"))
            .cloned()
        else {
            return Err(bad_param("department"));
        };
        let rating = q.get("rating").cloned();
        if let Some(r) = &rating
            && !["good", "okay", "ok", "bad"].contains(&r.as_str())
        {
            return Err(bad_param("rating"));
        }
        let start = q.get("startTime").and_then(|s| s.parse::<i64>().ok());
        let end = q.get("endTime").and_then(|s| s.parse::<i64>().ok());
        let st = sim.state();
        let items = st
            .desk
            .ratings
            .iter()
            .filter(|r| department == "allDepartment" || r.department_id == department)
            .filter(|r| {
                rating
                    .as_ref()
                    .is_none_or(|x| r.rating == *x || (x == "ok" && r.rating == "okay"))
            })
            .filter(|r| start.is_none_or(|s| r.rated_time.timestamp_millis() >= s))
            .filter(|r| end.is_none_or(|e| r.rated_time.timestamp_millis() <= e))
            .skip(from)
            .take(limit)
            .map(|r| serde_json::to_value(r).unwrap_or_default())
            .collect();
        Ok(list_or_204("data", items))
    })();
    with_weight(result.unwrap_or_else(|e| e), 3)
}

/// Desk validates a webhook URL with a GET, then a POST, and needs a 200 from one of them.
async fn validate_url(sim: &Inner, url: &str) -> bool {
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

fn webhook_fields(obj: &serde_json::Map<String, Value>, require: bool) -> Result<(), HttpResponse> {
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
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 500 {
            return Err(desk_invalid(
                "url",
                "must be an http(s) URL of at most 500 characters",
            ));
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

async fn create_webhook(sim: web::Data<Inner>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 1).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let obj = match body_object(&body) {
        Ok(o) => o,
        Err(r) => return r,
    };
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

async fn list_webhooks(sim: web::Data<Inner>, req: HttpRequest) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 3).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let st = sim.state();
    let items = st
        .desk
        .webhooks
        .iter()
        .map(|w| serde_json::to_value(w).unwrap_or_default())
        .collect();
    with_weight(list_or_204("data", items), 3)
}

async fn get_webhook(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 1).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let st = sim.state();
    match st.desk.webhooks.iter().find(|w| w.id == *path) {
        Some(w) => with_weight(HttpResponse::Ok().json(w), 1),
        None => not_found(),
    }
}

async fn patch_webhook(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 1).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let obj = match body_object(&body) {
        Ok(o) => o,
        Err(r) => return r,
    };
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

async fn delete_webhook(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let (_user, _f) = match enter(&sim, &req, 1).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let mut st = sim.state();
    let before = st.desk.webhooks.len();
    st.desk.webhooks.retain(|w| w.id != *path);
    if st.desk.webhooks.len() == before {
        return not_found();
    }
    // DELETE answers 200 with no body, not 204.
    with_weight(HttpResponse::Ok().finish(), 1)
}
