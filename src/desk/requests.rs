//! What deskcliq asks Desk: typed queries and bodies that can only express what Desk accepts.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::Ticket;
use super::time_range;

/// `include=` of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    Assignee,
    Contacts,
    Team,
    Departments,
}

impl Include {
    fn as_str(self) -> &'static str {
        match self {
            Include::Assignee => "assignee",
            Include::Contacts => "contacts",
            Include::Team => "team",
            Include::Departments => "departments",
        }
    }

    pub fn join(list: &[Include]) -> String {
        list.iter()
            .map(|i| i.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// `sortBy` of the ticket list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketSort {
    DueDate,
    CreatedTime,
    ResponseDueDate,
    CustomerResponseTime,
}

impl TicketSort {
    fn as_str(self) -> &'static str {
        match self {
            TicketSort::DueDate => "dueDate",
            TicketSort::CreatedTime => "createdTime",
            TicketSort::ResponseDueDate => "responseDueDate",
            TicketSort::CustomerResponseTime => "customerResponseTime",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    Agent(String),
    Unassigned,
}

/// `GET /tickets`.
#[derive(Debug, Clone, Default)]
pub struct TicketQuery {
    pub from: u32,
    /// 1–100; 0 leaves it to Desk (25).
    pub limit: u32,
    pub department_id: Option<String>,
    pub assignee: Vec<AssigneeFilter>,
    /// Status names (custom ones allowed).
    pub status: Vec<String>,
    pub sort_by: Option<TicketSort>,
    pub descending: bool,
    pub include: Vec<Include>,
}

impl TicketQuery {
    pub fn to_query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![("from", self.from.to_string())];
        if self.limit > 0 {
            q.push(("limit", self.limit.min(100).to_string()));
        }
        if let Some(d) = &self.department_id {
            q.push(("departmentId", d.clone()));
        }
        if !self.assignee.is_empty() {
            let a: Vec<&str> = self
                .assignee
                .iter()
                .map(|a| match a {
                    AssigneeFilter::Agent(id) => id.as_str(),
                    AssigneeFilter::Unassigned => "Unassigned",
                })
                .collect();
            q.push(("assignee", a.join(",")));
        }
        if !self.status.is_empty() {
            q.push(("status", self.status.join(",")));
        }
        if let Some(s) = self.sort_by {
            let dir = if self.descending { "-" } else { "" };
            q.push(("sortBy", format!("{dir}{}", s.as_str())));
        }
        if !self.include.is_empty() {
            q.push(("include", Include::join(&self.include)));
        }
        q
    }
}

/// `sortBy` of the search: Desk accepts only these four (anything else is a 422).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchSort {
    Relevance,
    ModifiedTime,
    CreatedTime,
    CustomerResponseTime,
}

impl SearchSort {
    fn as_str(self) -> &'static str {
        match self {
            SearchSort::Relevance => "relevance",
            SearchSort::ModifiedTime => "modifiedTime",
            SearchSort::CreatedTime => "createdTime",
            SearchSort::CustomerResponseTime => "customerResponseTime",
        }
    }
}

/// `GET /tickets/search`.
#[derive(Debug, Clone, Default)]
pub struct TicketSearch {
    pub ticket_number: Option<String>,
    pub email: Option<String>,
    pub status: Vec<String>,
    pub department_id: Option<String>,
    pub assignee_id: Option<String>,
    pub created: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub modified: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub due: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub sort_by: Option<SearchSort>,
    pub descending: bool,
    /// 0–999.
    pub from: u32,
    /// 1–100; 0 leaves it to Desk (10).
    pub limit: u32,
}

impl TicketSearch {
    pub fn to_query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![("from", self.from.min(999).to_string())];
        if self.limit > 0 {
            q.push(("limit", self.limit.min(100).to_string()));
        }
        let mut opt = |k: &'static str, v: &Option<String>| {
            if let Some(v) = v {
                q.push((k, v.clone()));
            }
        };
        opt("ticketNumber", &self.ticket_number);
        opt("email", &self.email);
        opt("departmentId", &self.department_id);
        opt("assigneeId", &self.assignee_id);
        if !self.status.is_empty() {
            q.push(("status", self.status.join(",")));
        }
        for (k, r) in [
            ("createdTimeRange", self.created),
            ("modifiedTimeRange", self.modified),
            ("dueDateRange", self.due),
        ] {
            if let Some((a, b)) = r {
                q.push((k, time_range(a, b)));
            }
        }
        if let Some(s) = self.sort_by {
            let dir = if self.descending { "-" } else { "" };
            q.push(("sortBy", format!("{dir}{}", s.as_str())));
        }
        q
    }
}

/// What a search found: a page of tickets and Desk's count of all matches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchResult {
    pub tickets: Vec<Ticket>,
    pub count: u64,
}

/// `PATCH /tickets/{id}`: only the fields that are set are sent; `Some(None)` clears one.
#[derive(Debug, Clone, Default)]
pub struct TicketUpdate {
    pub status: Option<String>,
    pub assignee_id: Option<Option<String>>,
    pub team_id: Option<Option<String>>,
    pub department_id: Option<String>,
    pub due_date: Option<Option<DateTime<Utc>>>,
    pub priority: Option<String>,
}

impl TicketUpdate {
    pub(super) fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(s) = &self.status {
            m.insert("status".into(), s.clone().into());
        }
        if let Some(a) = &self.assignee_id {
            m.insert(
                "assigneeId".into(),
                a.clone().map(Value::from).unwrap_or(Value::Null),
            );
        }
        if let Some(t) = &self.team_id {
            m.insert(
                "teamId".into(),
                t.clone().map(Value::from).unwrap_or(Value::Null),
            );
        }
        if let Some(d) = &self.department_id {
            m.insert("departmentId".into(), d.clone().into());
        }
        if let Some(d) = &self.due_date {
            m.insert(
                "dueDate".into(),
                d.map(|t| Value::from(t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()))
                    .unwrap_or(Value::Null),
            );
        }
        if let Some(p) = &self.priority {
            m.insert("priority".into(), p.clone().into());
        }
        Value::Object(m)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    PlainText,
    Html,
}

impl ContentType {
    fn as_str(self) -> &'static str {
        match self {
            ContentType::PlainText => "plainText",
            ContentType::Html => "html",
        }
    }
}

/// `POST /tickets/{id}/sendReply` (by email Desk needs a configured from-address).
#[derive(Debug, Clone)]
pub struct Reply {
    /// `EMAIL` (the default when empty), `FACEBOOK`, `TWITTER`, `FORUMS`.
    pub channel: String,
    pub content: String,
    pub content_type: ContentType,
    pub from_email_address: String,
    pub to: Option<String>,
}

impl Reply {
    pub(super) fn to_json(&self) -> Value {
        let channel = if self.channel.trim().is_empty() {
            "EMAIL"
        } else {
            self.channel.as_str()
        };
        let mut v = json!({
            "channel": channel,
            "content": self.content,
            "contentType": self.content_type.as_str(),
            "fromEmailAddress": self.from_email_address,
        });
        if let (Some(to), Some(o)) = (&self.to, v.as_object_mut()) {
            o.insert("to".into(), to.clone().into());
        }
        v
    }
}

/// `POST /tickets/{id}/comments` (content ≤ 32,000 characters: longer is cut).
#[derive(Debug, Clone)]
pub struct NewComment {
    pub content: String,
    pub is_public: bool,
    pub content_type: ContentType,
}

impl NewComment {
    pub(super) fn to_json(&self) -> Value {
        let content: String = self.content.chars().take(32_000).collect();
        json!({
            "content": content,
            "isPublic": self.is_public,
            "contentType": self.content_type.as_str(),
        })
    }
}

/// `POST /webhooks` and `PATCH /webhooks/{id}`.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub name: String,
    pub url: String,
    /// Event name → filter object or null.
    pub subscriptions: Value,
    pub include_automation: bool,
    pub ignore_source_id: Option<String>,
    /// `isEnabled`: install turns a disabled webhook back on.
    pub is_enabled: Option<bool>,
}

impl NewWebhook {
    pub(super) fn to_json(&self) -> Value {
        let mut v = json!({
            "name": self.name,
            "url": self.url,
            "subscriptions": self.subscriptions,
        });
        if let Some(o) = v.as_object_mut() {
            if self.include_automation {
                o.insert("includeEventsFrom".into(), json!(["AUTOMATION"]));
            }
            if let Some(id) = &self.ignore_source_id {
                o.insert("ignoreSourceId".into(), id.clone().into());
            }
            if let Some(on) = self.is_enabled {
                o.insert("isEnabled".into(), on.into());
            }
        }
        v
    }
}

/// `GET /ticketsCount` and `ticketsCountByFieldValues` filters.
#[derive(Debug, Clone, Default)]
pub struct CountQuery {
    pub department_id: Option<String>,
    pub assignee_id: Option<String>,
    pub created: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub modified: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl CountQuery {
    pub fn to_query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(d) = &self.department_id {
            q.push(("departmentId", d.clone()));
        }
        if let Some(a) = &self.assignee_id {
            q.push(("assigneeId", a.clone()));
        }
        if let Some((a, b)) = self.created {
            q.push(("createdTimeRange", time_range(a, b)));
        }
        if let Some((a, b)) = self.modified {
            q.push(("modifiedTimeRange", time_range(a, b)));
        }
        q
    }
}

/// `GET /customerHappiness`.
#[derive(Debug, Clone, Default)]
pub struct HappinessQuery {
    /// `None`: every department (`allDepartment`).
    pub department_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub from: u32,
    /// 1–100; 0 leaves it to Desk.
    pub limit: u32,
}

impl HappinessQuery {
    pub fn to_query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![
            (
                "department",
                self.department_id
                    .clone()
                    .unwrap_or_else(|| "allDepartment".into()),
            ),
            ("from", self.from.to_string()),
        ];
        if self.limit > 0 {
            q.push(("limit", self.limit.min(100).to_string()));
        }
        if let Some(s) = self.since {
            q.push(("startTime", s.timestamp_millis().to_string()));
        }
        if let Some(u) = self.until {
            q.push(("endTime", u.timestamp_millis().to_string()));
        }
        q
    }
}
