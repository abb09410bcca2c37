//! The portal's people and figures: agents, departments, teams, counts, ratings.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::*;

pub(super) async fn list_agents(sim: web::Data<Inner>, req: HttpRequest, q: Query) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 3).await);
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

pub(super) async fn agents_by_ids(
    sim: web::Data<Inner>,
    req: HttpRequest,
    q: Query,
) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 1).await);
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

/// `GET /myinfo`: the agent the OAuth token acts as, shaped like an item of `GET /agents`;
/// 403 when the token's Zoho user is not an agent of the portal.
pub(super) async fn my_info(sim: web::Data<Inner>, req: HttpRequest) -> HttpResponse {
    let (user, _f) = or_answer!(enter(&sim, &req, 1).await);
    let st = sim.state();
    let resp = match st.desk.agents.iter().find(|a| a.zuid == user) {
        Some(a) => HttpResponse::Ok().json(a),
        None => desk_error(
            403,
            "FORBIDDEN",
            "You are not authorized to access this resource.",
        ),
    };
    with_weight(resp, 1)
}

pub(super) async fn list_departments(
    sim: web::Data<Inner>,
    req: HttpRequest,
    q: Query,
) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 3).await);
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

pub(super) async fn get_department(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 1).await);
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

pub(super) fn teams_response(st: &State, department: Option<&str>) -> HttpResponse {
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

pub(super) async fn list_teams(sim: web::Data<Inner>, req: HttpRequest) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 3).await);
    let st = sim.state();
    with_weight(teams_response(&st, None), 3)
}

pub(super) async fn department_teams(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 3).await);
    let st = sim.state();
    if !st.desk.departments.iter().any(|d| d.id == *path) {
        return not_found();
    }
    with_weight(teams_response(&st, Some(&path)), 3)
}

/// The tickets a count query selects (`departmentId`, `assigneeId`, time ranges).
pub(super) fn counted<'a>(st: &'a State, q: &Query) -> Result<Vec<&'a SimTicket>, HttpResponse> {
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

pub(super) async fn tickets_count(
    sim: web::Data<Inner>,
    req: HttpRequest,
    q: Query,
) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 3).await);
    let st = sim.state();
    let resp = match counted(&st, &q) {
        Ok(t) => HttpResponse::Ok().json(json!({"count": t.len()})),
        Err(r) => r,
    };
    with_weight(resp, 3)
}

pub(super) fn overdue(t: &SimTicket, now: DateTime<Utc>) -> bool {
    t.status_type != "Closed" && t.due_date.is_some_and(|d| d < now)
}

pub(super) async fn count_by_field(
    sim: web::Data<Inner>,
    req: HttpRequest,
    q: Query,
) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 3).await);
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
    let tickets = or_answer!(counted(&st, &q));
    // TicketCount.json declares 204 for this call: no ticket matched.
    if tickets.is_empty() {
        return with_weight(HttpResponse::NoContent().finish(), 3);
    }
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

pub(super) async fn agents_tickets_count(
    sim: web::Data<Inner>,
    req: HttpRequest,
    q: Query,
) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 3).await);
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

pub(super) async fn customer_happiness(
    sim: web::Data<Inner>,
    req: HttpRequest,
    q: Query,
) -> HttpResponse {
    let (_user, _f) = or_answer!(enter(&sim, &req, 3).await);
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
        let st = sim.state();
        let time = |k: &str| {
            q.get(k)
                .and_then(|s| s.parse::<i64>().ok())
                .filter(|_| st.desk.ratings_time_filter)
        };
        let (start, end) = (time("startTime"), time("endTime"));
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
