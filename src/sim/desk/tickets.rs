//! Tickets: list, search, get, update, replies, comments, tasks.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::*;

pub(super) async fn list_tickets(
    sim: web::Data<Inner>,
    req: HttpRequest,
    q: Query,
) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 3).await);
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

pub(super) async fn search_tickets(
    sim: web::Data<Inner>,
    req: HttpRequest,
    q: Query,
) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 3).await);
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
        // Search.json: ticket numbers are int32.
        if numbers
            .as_ref()
            .is_some_and(|n| n.iter().any(|n| n.trim().parse::<i32>().is_err()))
        {
            return Err(bad_param("ticketNumber"));
        }
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
            .filter(|t| {
                // `${open}`, `${onhold}`, `${closed}` select by status type.
                statuses.as_ref().is_none_or(|s| {
                    s.iter().any(|x| match x.as_str() {
                        "${open}" => t.status_type == "Open",
                        "${onhold}" => t.status_type == "On Hold",
                        "${closed}" => t.status_type == "Closed",
                        name => name == t.status,
                    })
                })
            })
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

pub(super) async fn get_ticket(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    q: Query,
) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 1).await);
    let inc = or_answer!(includes(&q));
    let st = sim.state();
    let resp = match st.ticket(&path) {
        Some(t) => HttpResponse::Ok().json(with_includes(&st, t, &inc)),
        None => not_found(),
    };
    with_weight(resp, 1)
}

/// The fields PATCH /tickets/{id} accepts (Zoho's schema has additionalProperties: false).
pub(super) const TICKET_FIELDS: [&str; 18] = [
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

pub(super) async fn update_ticket(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, _f) = or_answer!(enter(&sim, &req, 1).await);
    let obj = or_answer!(body_object(&body));
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
                    let status = v
                        .as_str()
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| desk_invalid(k, "must be a status name"))?;
                    // Only the portal's statuses (custom ones included) are accepted.
                    if st.desk.status_type(status).is_none() {
                        return Err(desk_invalid(k, "is not a status of the portal"));
                    }
                    patch.status = Some(status.to_string())
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
                    patch.due_date =
                        Some(match v {
                            Value::Null => None,
                            Value::String(s) => Some(desk_time(s).ok_or_else(|| {
                                desk_invalid(k, "must be yyyy-MM-ddTHH:mm:ss.SSSZ")
                            })?),
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
        crate::sim::webhooks::send(&sim, e);
    }
    with_weight(HttpResponse::Ok().json(ticket), 1)
}

pub(super) async fn send_reply(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, _f) = or_answer!(enter(&sim, &req, 1).await);
    let obj = or_answer!(body_object(&body));
    let now = sim.clock.now();
    let mut st = sim.state();
    let Some(ticket) = st.ticket(&path).cloned() else {
        return not_found();
    };
    const REPLY_FIELDS: [&str; 17] = [
        "channel",
        "content",
        "contentType",
        "fromEmailAddress",
        "to",
        "cc",
        "bcc",
        "isForward",
        "inReplyToThreadId",
        "attachmentIds",
        "ticketStatus",
        "isPrivate",
        "sendAsEmailMode",
        "direction",
        "layoutId",
        "cf",
        "respondedIn",
    ];
    if let Some(k) = obj.keys().find(|k| !REPLY_FIELDS.contains(&k.as_str())) {
        return desk_invalid(k, "is not a field of a reply");
    }
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
    // The reply is the token owner's: the agent with that zuid.
    let responder = st.desk.agents.iter().find(|a| a.zuid == user);
    let responder_id = responder.map(|a| a.id.clone());
    let author = match responder {
        Some(a) => json!({"id": a.id, "firstName": a.first_name, "lastName": a.last_name,
                          "name": a.name, "email": a.email_id, "photoURL": a.photo_url,
                          "type": "AGENT"}),
        None => json!({"id": user, "type": "AGENT"}),
    };
    let id = st.desk.new_id();
    let thread = crate::sim::state::SimThread {
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
        responder_id,
        author,
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

pub(super) async fn add_comment(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, _f) = or_answer!(enter(&sim, &req, 1).await);
    let obj = or_answer!(body_object(&body));
    if let Some(k) = obj
        .keys()
        .find(|k| !["content", "isPublic", "contentType", "attachmentIds"].contains(&k.as_str()))
    {
        return desk_invalid(k, "is not a field of a comment");
    }
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
        crate::sim::webhooks::send(&sim, e);
    }
    with_weight(HttpResponse::Ok().json(comment), 1)
}

/// `GET /tickets/{id}/threads`: newest first, `{"data": [...]}` (204 when none).
pub(super) async fn list_threads(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    q: Query,
) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 3).await);
    let (from, limit) = match (
        int_param(&q, "from", 0, 0, i64::MAX),
        int_param(&q, "limit", 25, 1, 100),
    ) {
        (Ok(f), Ok(l)) => (f as usize, l as usize),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let st = sim.state();
    if st.ticket(&path).is_none() {
        return not_found();
    }
    let items = st
        .desk
        .threads
        .iter()
        .rev()
        .filter(|t| t.ticket_id == *path)
        .skip(from)
        .take(limit)
        .map(|t| serde_json::to_value(t).unwrap_or_default())
        .collect();
    with_weight(list_or_204("data", items), 3)
}

pub(super) async fn list_comments(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    q: Query,
) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 3).await);
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

pub(super) fn tasks_response(
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

pub(super) async fn list_tasks(sim: web::Data<Inner>, req: HttpRequest, q: Query) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 3).await);
    let st = sim.state();
    with_weight(tasks_response(&st, &q, None).unwrap_or_else(|e| e), 3)
}

pub(super) async fn ticket_tasks(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    q: Query,
) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 3).await);
    let st = sim.state();
    if st.ticket(&path).is_none() {
        return not_found();
    }
    with_weight(
        tasks_response(&st, &q, Some(&path)).unwrap_or_else(|e| e),
        3,
    )
}
