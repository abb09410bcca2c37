//! The Desk client: typed calls for everything deskcliq reads and writes in Desk, with the
//! `orgId` (header and query parameter) and service token on every call, 204 read as an
//! empty list, Zoho's error bodies as typed errors, back-off on 429, at most
//! `limits.desk_concurrency` calls in flight, and every credit spent counted.

pub mod lenient;
mod requests;
pub mod types;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::oauth::TokenManager;
use crate::store::{Store, TreeName};
use crate::zoho_http::{self, CallError, RawResponse};

pub use requests::*;
pub use types::*;

/// Retries of a call Desk answered 429 (or 5xx, for reads) before giving up.
const MAX_RETRIES: u32 = 3;
/// A `Retry-After` longer than this (the daily credits are gone) is not slept through.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error("Desk answered HTTP {status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
        /// `errors[].fieldName` of a validation error.
        fields: Vec<String>,
    },
    #[error("Desk rate limit: {code}")]
    RateLimited {
        code: String,
        retry_after: Option<Duration>,
    },
    #[error("cannot decode Desk's answer to {what}: {reason}")]
    Decode { what: String, reason: String },
    #[error(transparent)]
    Call(#[from] CallError),
}

impl DeskError {
    pub fn code(&self) -> Option<&str> {
        match self {
            DeskError::Api { code, .. } | DeskError::RateLimited { code, .. } => Some(code),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct DeskClient {
    http: reqwest::Client,
    api: String,
    org_id: String,
    tokens: Arc<TokenManager>,
    permits: Arc<Semaphore>,
    metrics: Arc<Metrics>,
    store: Store,
    clock: Clock,
}

/// A request before it is sent: method, path under `/api/v1`, query, body, documented cost.
struct Call<'a> {
    method: Method,
    path: String,
    query: Vec<(&'a str, String)>,
    body: Option<Value>,
    cost: u64,
}

impl DeskClient {
    /// `desk_url` is `zoho.desk_url` (without `/api/v1`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        desk_url: &str,
        org_id: &str,
        concurrency: u32,
        tokens: Arc<TokenManager>,
        metrics: Arc<Metrics>,
        store: Store,
        clock: Clock,
    ) -> Self {
        DeskClient {
            http: zoho_http::client(),
            api: format!("{}/api/v1", desk_url.trim_end_matches('/')),
            org_id: org_id.to_string(),
            tokens,
            permits: Arc::new(Semaphore::new(concurrency.max(1) as usize)),
            metrics,
            store,
            clock,
        }
    }

    /// The same client acting with another grant (an agent's own), sharing this one's
    /// concurrency limit and credit count.
    pub fn with_tokens(&self, tokens: Arc<TokenManager>) -> DeskClient {
        DeskClient {
            tokens,
            ..self.clone()
        }
    }

    /// Credits spent on `day` (UTC), as recorded in the store.
    pub fn credits_on(&self, day: chrono::NaiveDate) -> u64 {
        self.store
            .tree::<String, u64>(TreeName::Meta)
            .get(&credits_key(day))
            .ok()
            .flatten()
            .unwrap_or(0)
    }

    fn charge(&self, r: &RawResponse, documented: u64) {
        // Desk reports the weight of a call; without the header, the documented cost.
        let cost = r
            .header("x-rate-limit-request-weight-v3")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(documented);
        self.metrics.desk_credits_used_total.inc_by(cost);
        let tree = self.store.tree::<String, u64>(TreeName::Meta);
        let key = credits_key(self.clock.now().date_naive());
        match tree.update(&key, |spent| spent.unwrap_or(0) + cost) {
            Ok(today) => self
                .metrics
                .desk_credits_today
                .set(i64::try_from(today).unwrap_or(i64::MAX)),
            Err(e) => tracing::warn!(error = %e, "cannot record Desk credits"),
        }
    }

    async fn send(&self, call: &Call<'_>) -> Result<RawResponse, DeskError> {
        let url = format!("{}{}", self.api, call.path);
        let idempotent = call.method == Method::GET;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = {
                let _permit =
                    self.permits.acquire().await.map_err(|_| {
                        DeskError::Call(CallError::Transport("client closed".into()))
                    })?;
                zoho_http::send_authed(&self.tokens, |auth| {
                    // `orgId` is a header in Desk's API reference and a query parameter in
                    // its OpenAPI files (Common.json): sent as both, any reading accepts it.
                    let mut rb = self
                        .http
                        .request(call.method.clone(), &url)
                        .header("Authorization", auth)
                        .header("orgId", &self.org_id)
                        .query(&[("orgId", self.org_id.as_str())]);
                    if !call.query.is_empty() {
                        rb = rb.query(&call.query);
                    }
                    if let Some(body) = &call.body {
                        rb = rb.json(body);
                    }
                    rb
                })
                .await
            };
            let r = match result {
                Ok(r) => r,
                Err(CallError::Transport(t)) if idempotent && attempt <= MAX_RETRIES => {
                    self.outcome("transport");
                    tracing::warn!(path = %call.path, error = %t, attempt, "Desk call failed; retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(e) => {
                    self.outcome("transport");
                    return Err(e.into());
                }
            };
            let code = r.error_code().unwrap_or_default();
            if (200..300).contains(&r.status) {
                self.outcome("ok");
                self.charge(&r, call.cost);
                return Ok(r);
            }
            if r.status == 429 || code == "TOO_MANY_REQUESTS" {
                self.outcome("throttled");
                let wait = r.retry_after();
                if attempt <= MAX_RETRIES && wait.is_none_or(|w| w <= MAX_RETRY_AFTER) {
                    let wait = wait.unwrap_or_else(|| backoff(attempt));
                    tracing::warn!(path = %call.path, ?wait, attempt, "Desk answered 429; backing off");
                    tokio::time::sleep(wait).await;
                    continue;
                }
                return Err(DeskError::RateLimited {
                    code: if code.is_empty() {
                        "TOO_MANY_REQUESTS".into()
                    } else {
                        code
                    },
                    retry_after: wait,
                });
            }
            if code == "THRESHOLD_EXCEEDED" {
                self.outcome("throttled");
                return Err(DeskError::RateLimited {
                    code,
                    retry_after: r.retry_after(),
                });
            }
            if r.status >= 500 && idempotent && attempt <= MAX_RETRIES {
                self.outcome("error");
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            self.outcome("error");
            return Err(api_error(&r, code));
        }
    }

    fn outcome(&self, outcome: &str) {
        self.metrics
            .desk_requests_total
            .with_label_values(&[outcome])
            .inc();
    }

    async fn object<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, DeskError> {
        let r = self.send(&call).await?;
        decode(&r.body, &call.path)
    }

    /// A list endpoint: `{key: [...]}`, or 204 for none.
    async fn list<T: DeserializeOwned>(
        &self,
        call: Call<'_>,
        key: &str,
    ) -> Result<Vec<T>, DeskError> {
        let r = self.send(&call).await?;
        if r.status == 204 || r.body.is_empty() {
            return Ok(Vec::new());
        }
        let v: Value = decode(&r.body, &call.path)?;
        match v.get(key) {
            Some(items) => decode_items(items, &call.path),
            None => Err(DeskError::Decode {
                what: call.path.clone(),
                reason: format!("no `{key}` in the answer"),
            }),
        }
    }

    // ------------------------------------------------------------------ tickets

    /// `GET /tickets`: the way to walk tickets by due date.
    pub async fn list_tickets(&self, q: &TicketQuery) -> Result<Vec<Ticket>, DeskError> {
        self.list(get("/tickets", q.to_query(), 3), "data").await
    }

    /// `GET /tickets/{id}`.
    pub async fn get_ticket(&self, id: &str, include: &[Include]) -> Result<Ticket, DeskError> {
        let mut query = Vec::new();
        if !include.is_empty() {
            query.push(("include", Include::join(include)));
        }
        self.object(get(&format!("/tickets/{}", segment(id)), query, 1))
            .await
    }

    /// `GET /tickets/search`: by number, email, status or time ranges.
    pub async fn search_tickets(&self, q: &TicketSearch) -> Result<SearchResult, DeskError> {
        let call = get("/tickets/search", q.to_query(), 3);
        let r = self.send(&call).await?;
        if r.status == 204 || r.body.is_empty() {
            return Ok(SearchResult::default());
        }
        let v: Value = decode(&r.body, &call.path)?;
        let tickets: Vec<Ticket> = decode_items(v.get("data").unwrap_or(&Value::Null), &call.path)?;
        let count = v
            .get("count")
            .and_then(lenient::value_count)
            .unwrap_or(tickets.len() as u64);
        Ok(SearchResult { tickets, count })
    }

    /// `PATCH /tickets/{id}`.
    pub async fn update_ticket(
        &self,
        id: &str,
        update: &TicketUpdate,
    ) -> Result<Ticket, DeskError> {
        self.object(write(
            Method::PATCH,
            &format!("/tickets/{}", segment(id)),
            update.to_json(),
        ))
        .await
    }

    /// `POST /tickets/{id}/sendReply`.
    pub async fn send_reply(&self, id: &str, reply: &Reply) -> Result<Thread, DeskError> {
        self.object(write(
            Method::POST,
            &format!("/tickets/{}/sendReply", segment(id)),
            reply.to_json(),
        ))
        .await
    }

    /// `GET /tickets/{id}/threads`, newest first (one page).
    pub async fn list_threads(&self, id: &str, limit: u32) -> Result<Vec<Thread>, DeskError> {
        let query = vec![
            ("from", "0".to_string()),
            ("limit", limit.clamp(1, 100).to_string()),
        ];
        self.list(
            get(&format!("/tickets/{}/threads", segment(id)), query, 3),
            "data",
        )
        .await
    }

    /// `POST /tickets/{id}/comments`.
    pub async fn add_comment(&self, id: &str, comment: &NewComment) -> Result<Comment, DeskError> {
        self.object(write(
            Method::POST,
            &format!("/tickets/{}/comments", segment(id)),
            comment.to_json(),
        ))
        .await
    }

    /// `GET /tickets/{id}/comments`.
    pub async fn list_comments(
        &self,
        id: &str,
        from: u32,
        limit: u32,
    ) -> Result<Vec<Comment>, DeskError> {
        let query = vec![
            ("from", from.to_string()),
            ("limit", limit.clamp(1, 100).to_string()),
        ];
        self.list(
            get(&format!("/tickets/{}/comments", segment(id)), query, 3),
            "data",
        )
        .await
    }

    // ------------------------------------------------------------------ people

    /// `GET /agents`, one page (`limit` ≤ 200).
    pub async fn list_agents(&self, from: u32, limit: u32) -> Result<Vec<Agent>, DeskError> {
        let query = vec![
            ("from", from.to_string()),
            ("limit", limit.clamp(1, 200).to_string()),
        ];
        self.list(get("/agents", query, 3), "data").await
    }

    /// Every agent, page by page, until a short page, or a full page that brings no agent
    /// not seen already (a Desk that does not move on would otherwise be asked forever).
    pub async fn all_agents(&self) -> Result<Vec<Agent>, DeskError> {
        const PAGE: u32 = 200;
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut from = 0u32;
        loop {
            let page = self.list_agents(from, PAGE).await?;
            let n = page.len();
            let before = out.len();
            out.extend(page.into_iter().filter(|a| seen.insert(a.id.clone())));
            if n < PAGE as usize {
                return Ok(out);
            }
            if out.len() == before {
                tracing::warn!(
                    from,
                    "Desk answered a page of agents already listed; stopping there"
                );
                return Ok(out);
            }
            from = from.saturating_add(PAGE);
        }
    }

    /// `GET /myinfo`: the agent who owns the token.
    pub async fn my_info(&self) -> Result<Agent, DeskError> {
        self.object(get("/myinfo", vec![], 1)).await
    }

    /// The portal's ticket statuses (name, status type) from `GET /fields?module=tickets`
    /// (the `status` field's `pickListValues`; older answers name them `allowedValues`).
    pub async fn ticket_statuses(&self) -> Result<Vec<(String, StatusType)>, DeskError> {
        let query = vec![
            ("module", "tickets".to_string()),
            ("apiNames", "status".into()),
        ];
        // A list: 3 credits when Desk does not say its weight.
        let r = self.send(&get("/fields", query, 3)).await?;
        let v: Value = if r.body.is_empty() {
            Value::Null
        } else {
            decode(&r.body, "/fields")?
        };
        let fields = v
            .get("data")
            .unwrap_or(&v)
            .as_array()
            .cloned()
            .unwrap_or_default();
        let status = fields
            .iter()
            .find(|f| f.get("apiName").and_then(Value::as_str) == Some("status"));
        let values = status
            .and_then(|f| f.get("pickListValues").or_else(|| f.get("allowedValues")))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(values
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some((s.clone(), StatusType::parse(s))),
                Value::Object(o) => {
                    let name = o.get("value").and_then(Value::as_str)?.to_string();
                    let kind = o
                        .get("statusType")
                        .and_then(Value::as_str)
                        .map(StatusType::parse)
                        .unwrap_or_else(|| StatusType::parse(&name));
                    Some((name, kind))
                }
                _ => None,
            })
            .filter(|(n, _)| !n.trim().is_empty())
            .collect())
    }

    /// `GET /agentsByIds` (up to 50 ids a call; more are asked for in several calls).
    pub async fn agents_by_ids(&self, ids: &[String]) -> Result<Vec<Agent>, DeskError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(50) {
            let query = vec![("agentIds", chunk.join(","))];
            out.extend(
                self.list::<Agent>(get("/agentsByIds", query, 1), "data")
                    .await?,
            );
        }
        Ok(out)
    }

    /// `GET /departments` (enabled ones only when `enabled_only`).
    pub async fn list_departments(&self, enabled_only: bool) -> Result<Vec<Department>, DeskError> {
        let mut query = vec![("limit", "200".to_string())];
        if enabled_only {
            query.push(("isEnabled", "true".into()));
        }
        self.list(get("/departments", query, 3), "data").await
    }

    pub async fn get_department(&self, id: &str) -> Result<Department, DeskError> {
        self.object(get(&format!("/departments/{}", segment(id)), vec![], 1))
            .await
    }

    /// `GET /teams` (answered under `teams`).
    pub async fn list_teams(&self) -> Result<Vec<Team>, DeskError> {
        self.list(get("/teams", vec![], 3), "teams").await
    }

    pub async fn department_teams(&self, department_id: &str) -> Result<Vec<Team>, DeskError> {
        self.list(
            get(
                &format!("/departments/{}/teams", segment(department_id)),
                vec![],
                3,
            ),
            "teams",
        )
        .await
    }

    // ------------------------------------------------------------------ counts

    /// `GET /ticketsCount`. An answer without a readable `count` is an error, not 0: a
    /// summary says a figure is unavailable rather than invent one. A 204 is none.
    pub async fn tickets_count(&self, q: &CountQuery) -> Result<u64, DeskError> {
        let call = get("/ticketsCount", q.to_query(), 3);
        let r = self.send(&call).await?;
        if r.status == 204 || r.body.is_empty() {
            return Ok(0);
        }
        let v: Value = decode(&r.body, &call.path)?;
        v.get("count")
            .and_then(lenient::value_count)
            .ok_or_else(|| DeskError::Decode {
                what: call.path.clone(),
                reason: "no readable `count` in the answer".into(),
            })
    }

    /// `GET /ticketsCountByFieldValues?field=…`.
    pub async fn tickets_count_by_field(
        &self,
        fields: &[&str],
        q: &CountQuery,
    ) -> Result<FieldCounts, DeskError> {
        let mut query = q.to_query();
        query.push(("field", fields.join(",")));
        let call = get("/ticketsCountByFieldValues", query, 3);
        let r = self.send(&call).await?;
        if r.status == 204 || r.body.is_empty() {
            return Ok(FieldCounts::default());
        }
        let v: Value = decode(&r.body, &call.path)?;
        Ok(FieldCounts::from_json(&v))
    }

    /// `GET /agentsTicketsCount` (up to 50 agents a call).
    pub async fn agents_tickets_count(
        &self,
        agent_ids: &[String],
        department_id: Option<&str>,
    ) -> Result<Vec<AgentCounts>, DeskError> {
        let mut out = Vec::new();
        for chunk in agent_ids.chunks(50) {
            let query = vec![
                ("agentIds", chunk.join(",")),
                (
                    "departmentId",
                    department_id.unwrap_or("allDepartment").to_string(),
                ),
            ];
            out.extend(
                self.list::<AgentCounts>(get("/agentsTicketsCount", query, 3), "data")
                    .await?,
            );
        }
        Ok(out)
    }

    /// `GET /customerHappiness`: ratings, newest first where Desk sorts so.
    pub async fn customer_happiness(&self, q: &HappinessQuery) -> Result<Vec<Rating>, DeskError> {
        let items: Vec<Value> = self
            .list(get("/customerHappiness", q.to_query(), 3), "data")
            .await?;
        Ok(items.iter().filter_map(Rating::from_json).collect())
    }

    // ------------------------------------------------------------------ activities

    /// `GET /tasks` in a department (or all).
    pub async fn list_tasks(
        &self,
        department_id: Option<&str>,
        from: u32,
        limit: u32,
    ) -> Result<Vec<Task>, DeskError> {
        let mut query = vec![
            ("from", from.to_string()),
            ("limit", limit.clamp(1, 100).to_string()),
        ];
        if let Some(d) = department_id {
            query.push(("departmentId", d.to_string()));
        }
        self.list(get("/tasks", query, 3), "data").await
    }

    pub async fn ticket_tasks(&self, ticket_id: &str) -> Result<Vec<Task>, DeskError> {
        self.list(
            get(
                &format!("/tickets/{}/tasks", segment(ticket_id)),
                vec![("limit", "100".into())],
                3,
            ),
            "data",
        )
        .await
    }

    // ------------------------------------------------------------------ webhooks

    pub async fn create_webhook(&self, w: &NewWebhook) -> Result<Webhook, DeskError> {
        self.object(write(Method::POST, "/webhooks", w.to_json()))
            .await
    }

    pub async fn list_webhooks(&self) -> Result<Vec<Webhook>, DeskError> {
        self.list(get("/webhooks", vec![], 3), "data").await
    }

    pub async fn get_webhook(&self, id: &str) -> Result<Webhook, DeskError> {
        self.object(get(&format!("/webhooks/{}", segment(id)), vec![], 1))
            .await
    }

    /// `PATCH /webhooks/{id}` (Desk requires `subscriptions` on every PATCH).
    /// Updates a webhook; `url` is sent only when `move_url` (Desk's update accepts shorter
    /// URLs than its create: up to 100 characters, no `~`, so an unchanged one is left out).
    pub async fn update_webhook(
        &self,
        id: &str,
        w: &NewWebhook,
        move_url: bool,
    ) -> Result<Webhook, DeskError> {
        let mut body = w.to_json();
        if !move_url && let Some(o) = body.as_object_mut() {
            o.remove("url");
        }
        self.object(write(
            Method::PATCH,
            &format!("/webhooks/{}", segment(id)),
            body,
        ))
        .await
    }

    pub async fn delete_webhook(&self, id: &str) -> Result<(), DeskError> {
        let call = Call {
            method: Method::DELETE,
            path: format!("/webhooks/{}", segment(id)),
            query: vec![],
            body: None,
            cost: 1,
        };
        self.send(&call).await.map(|_| ())
    }
}

fn credits_key(day: chrono::NaiveDate) -> String {
    format!("desk_credits:{day}")
}

fn get<'a>(path: &str, query: Vec<(&'a str, String)>, cost: u64) -> Call<'a> {
    Call {
        method: Method::GET,
        path: path.to_string(),
        query,
        body: None,
        cost,
    }
}

fn write<'a>(method: Method, path: &str, body: Value) -> Call<'a> {
    Call {
        method,
        path: path.to_string(),
        query: vec![],
        body: Some(body),
        cost: 1,
    }
}

/// An id as a path segment: digits pass; anything else is percent-encoded.
fn segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64 << attempt.min(6))
}

fn api_error(r: &RawResponse, code: String) -> DeskError {
    let fields = serde_json::from_slice::<Value>(&r.body)
        .ok()
        .and_then(|v| v.get("errors").and_then(|e| e.as_array()).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| {
            e.get("fieldName")
                .and_then(|f| f.as_str())
                .map(str::to_string)
        })
        .collect();
    // Desk says what is wrong with each field in `errors[].errorMessage`.
    let details: Vec<String> = serde_json::from_slice::<Value>(&r.body)
        .ok()
        .and_then(|v| v.get("errors").and_then(|e| e.as_array()).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| {
            let field = e.get("fieldName").and_then(|f| f.as_str()).unwrap_or("");
            let msg = e.get("errorMessage").and_then(|m| m.as_str())?;
            Some(
                format!("{} {msg}", field.trim_start_matches('/'))
                    .trim()
                    .to_string(),
            )
        })
        .collect();
    let mut message = r.error_message();
    if !details.is_empty() {
        message = format!("{message} ({})", details.join("; "));
    }
    DeskError::Api {
        status: r.status,
        code: if code.is_empty() {
            format!("HTTP_{}", r.status)
        } else {
            code
        },
        message,
        fields,
    }
}

fn decode<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, DeskError> {
    serde_json::from_slice(body).map_err(|e| DeskError::Decode {
        what: what.to_string(),
        reason: e.to_string(),
    })
}

/// The items of a list answer. Zoho's schemas allow `"data": null` and null items (none
/// there): both are read as nothing rather than as an error.
fn decode_items<T: DeserializeOwned>(items: &Value, what: &str) -> Result<Vec<T>, DeskError> {
    match items {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .filter(|i| !i.is_null())
            .map(|i| decode_value(i.clone(), what))
            .collect(),
        other => decode_value(other.clone(), what),
    }
}

fn decode_value<T: DeserializeOwned>(v: Value, what: &str) -> Result<T, DeskError> {
    serde_json::from_value(v).map_err(|e| DeskError::Decode {
        what: what.to_string(),
        reason: e.to_string(),
    })
}

/// Desk's time-range format: `yyyy-MM-ddThh:mm:ss.SSSZ,yyyy-MM-ddThh:mm:ss.SSSZ`.
pub fn time_range(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let f = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    format!("{},{}", f(from), f(to))
}
