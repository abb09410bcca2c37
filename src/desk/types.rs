//! The Desk records deskcliq reads, decoded leniently (see [`super::lenient`]).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::lenient;

/// `statusType`: `Open | On Hold | Closed` on tickets, `OPEN | ONHOLD | CLOSED` in counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StatusType {
    #[default]
    Open,
    OnHold,
    Closed,
    Other(String),
}

impl StatusType {
    pub fn parse(s: &str) -> StatusType {
        match s
            .trim()
            .to_ascii_uppercase()
            .replace([' ', '_'], "")
            .as_str()
        {
            "OPEN" => StatusType::Open,
            "ONHOLD" => StatusType::OnHold,
            "CLOSED" => StatusType::Closed,
            _ => StatusType::Other(s.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for StatusType {
    /// `null` (which Zoho's list and search schemas allow) is `Other("")`: not said, which
    /// is not `Open` (see [`Ticket::status_kind`]).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(lenient::text(d)?
            .map(|s| StatusType::parse(&s))
            .unwrap_or_else(|| StatusType::Other(String::new())))
    }
}

/// An agent as embedded in a ticket (`email` there, `emailId` in search results).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AgentRef {
    #[serde(deserialize_with = "lenient::id_req")]
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(alias = "emailId")]
    pub email: Option<String>,
    #[serde(deserialize_with = "lenient::id")]
    pub zuid: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NamedRef {
    #[serde(deserialize_with = "lenient::id_req")]
    pub id: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContactRef {
    #[serde(deserialize_with = "lenient::id_req")]
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Ticket {
    #[serde(deserialize_with = "lenient::id_req")]
    pub id: String,
    #[serde(deserialize_with = "lenient::id_req")]
    pub ticket_number: String,
    pub subject: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub status_type: StatusType,
    #[serde(deserialize_with = "lenient::time")]
    pub due_date: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "lenient::time")]
    pub response_due_date: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "lenient::flag")]
    pub is_over_due: bool,
    #[serde(deserialize_with = "lenient::flag")]
    pub is_escalated: bool,
    #[serde(deserialize_with = "lenient::flag")]
    pub is_spam: bool,
    #[serde(deserialize_with = "lenient::id")]
    pub department_id: Option<String>,
    #[serde(deserialize_with = "lenient::id")]
    pub assignee_id: Option<String>,
    #[serde(deserialize_with = "lenient::id")]
    pub team_id: Option<String>,
    #[serde(deserialize_with = "lenient::id")]
    pub contact_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub priority: Option<String>,
    pub channel: Option<String>,
    pub language: Option<String>,
    #[serde(deserialize_with = "lenient::time")]
    pub created_time: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "lenient::time")]
    pub modified_time: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "lenient::time")]
    pub closed_time: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "lenient::time")]
    pub onhold_time: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "lenient::time")]
    pub customer_response_time: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "lenient::id")]
    pub created_by: Option<String>,
    #[serde(deserialize_with = "lenient::id")]
    pub modified_by: Option<String>,
    pub web_url: Option<String>,
    #[serde(deserialize_with = "lenient::count")]
    pub thread_count: Option<u64>,
    #[serde(deserialize_with = "lenient::count")]
    pub comment_count: Option<u64>,
    pub assignee: Option<AgentRef>,
    pub contact: Option<ContactRef>,
    pub team: Option<NamedRef>,
    pub department: Option<NamedRef>,
    pub cf: Option<Value>,
}

impl Ticket {
    /// The kind of status the ticket is in: its `statusType`, or, where Desk left that null
    /// or empty, what its status name says when that is a system one (Open, On Hold,
    /// Closed); `None` when neither tells.
    pub fn status_kind(&self) -> Option<StatusType> {
        match &self.status_type {
            StatusType::Other(s) if s.trim().is_empty() => {
                match self.status.as_deref().map(StatusType::parse) {
                    Some(k @ (StatusType::Open | StatusType::OnHold | StatusType::Closed)) => {
                        Some(k)
                    }
                    _ => None,
                }
            }
            k => Some(k.clone()),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Agent {
    #[serde(deserialize_with = "lenient::id_req")]
    pub id: String,
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(alias = "emailId")]
    pub email: Option<String>,
    /// May be null for an agent who has not confirmed their account.
    #[serde(deserialize_with = "lenient::id")]
    pub zuid: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub status: Option<String>,
    #[serde(deserialize_with = "lenient::ids")]
    pub associated_department_ids: Vec<String>,
    #[serde(deserialize_with = "lenient::id")]
    pub role_id: Option<String>,
    /// `Admin`, `AgentPublic`, `AgentPersonal`, `AgentTeamPersonal`, `Light`, `Custom`.
    #[serde(deserialize_with = "lenient::text")]
    pub role_permission_type: Option<String>,
    #[serde(deserialize_with = "lenient::flag")]
    pub is_confirmed: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Department {
    #[serde(deserialize_with = "lenient::id_req")]
    pub id: String,
    #[serde(deserialize_with = "lenient::text_or_empty")]
    pub name: String,
    #[serde(deserialize_with = "lenient::flag")]
    pub is_enabled: bool,
    #[serde(deserialize_with = "lenient::flag")]
    pub is_default: bool,
    pub description: Option<String>,
    #[serde(deserialize_with = "lenient::ids")]
    pub associated_agent_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Team {
    #[serde(deserialize_with = "lenient::id_req")]
    pub id: String,
    /// "" when Desk says null (Team.json allows it).
    #[serde(deserialize_with = "lenient::text_or_empty")]
    pub name: String,
    pub description: Option<String>,
    #[serde(deserialize_with = "lenient::id")]
    pub department_id: Option<String>,
    #[serde(deserialize_with = "lenient::ids")]
    pub agents: Vec<String>,
    #[serde(deserialize_with = "lenient::ids")]
    pub derived_agents: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Comment {
    #[serde(deserialize_with = "lenient::id_req")]
    pub id: String,
    /// "" when Desk says null (TicketComment.json allows it).
    #[serde(deserialize_with = "lenient::text_or_empty")]
    pub content: String,
    pub content_type: Option<String>,
    #[serde(deserialize_with = "lenient::flag")]
    pub is_public: bool,
    #[serde(deserialize_with = "lenient::time")]
    pub commented_time: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "lenient::time")]
    pub modified_time: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "lenient::id")]
    pub commenter_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Thread {
    #[serde(deserialize_with = "lenient::id_req")]
    pub id: String,
    pub channel: Option<String>,
    pub direction: Option<String>,
    pub status: Option<String>,
    pub content: Option<String>,
    #[serde(deserialize_with = "lenient::time")]
    pub created_time: Option<DateTime<Utc>>,
    /// The addresses of an email thread (`to` may list several, comma-separated).
    pub to: Option<String>,
    pub from_email_address: Option<String>,
}

/// A person as Desk embeds one in activities (`modifiedBy` is an object there).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PersonRef {
    #[serde(deserialize_with = "lenient::id_req")]
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Task {
    #[serde(deserialize_with = "lenient::id_req")]
    pub id: String,
    pub subject: Option<String>,
    #[serde(deserialize_with = "lenient::id")]
    pub department_id: Option<String>,
    #[serde(deserialize_with = "lenient::id")]
    pub ticket_id: Option<String>,
    #[serde(deserialize_with = "lenient::id")]
    pub owner_id: Option<String>,
    #[serde(deserialize_with = "lenient::id")]
    pub creator_id: Option<String>,
    pub status: Option<String>,
    pub status_type: StatusType,
    #[serde(deserialize_with = "lenient::time")]
    pub due_date: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "lenient::time")]
    pub completed_time: Option<DateTime<Utc>>,
    pub reminder: Option<Value>,
    #[serde(deserialize_with = "lenient::time")]
    pub created_time: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "lenient::time")]
    pub modified_time: Option<DateTime<Utc>>,
    pub web_url: Option<String>,
    pub modified_by: Option<PersonRef>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Webhook {
    #[serde(deserialize_with = "lenient::id_req")]
    pub id: String,
    pub name: Option<String>,
    /// "" when Desk says null (another extension's webhook may have none).
    #[serde(deserialize_with = "lenient::text_or_empty")]
    pub url: String,
    pub subscriptions: Value,
    #[serde(deserialize_with = "lenient::flag")]
    pub is_enabled: bool,
    pub include_events_from: Option<Value>,
    pub ignore_source_id: Option<String>,
    #[serde(deserialize_with = "lenient::time")]
    pub created_time: Option<DateTime<Utc>>,
}

/// One line of `agentsTicketsCount`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AgentCounts {
    #[serde(deserialize_with = "lenient::id_req")]
    pub agent_id: String,
    #[serde(deserialize_with = "lenient::count")]
    pub open_count: Option<u64>,
    #[serde(deserialize_with = "lenient::count")]
    pub onhold_count: Option<u64>,
    #[serde(deserialize_with = "lenient::count")]
    pub over_due_count: Option<u64>,
    #[serde(rename = "dueIn1HrCount", deserialize_with = "lenient::count")]
    pub due_in_1hr_count: Option<u64>,
    #[serde(deserialize_with = "lenient::flag")]
    pub is_online: bool,
}

/// `ticketsCountByFieldValues`, per requested field: value → count, or one number
/// (`spam`, `escalated`, `overDue`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldCounts {
    pub fields: std::collections::BTreeMap<String, FieldCount>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldCount {
    Values(Vec<(String, u64)>),
    Total(u64),
}

impl FieldCounts {
    pub fn from_json(v: &Value) -> FieldCounts {
        let mut fields = std::collections::BTreeMap::new();
        if let Some(obj) = v.as_object() {
            for (k, val) in obj {
                let count = match val {
                    Value::Array(items) => FieldCount::Values(
                        items
                            .iter()
                            .map(|i| {
                                (
                                    i.get("value")
                                        .and_then(|v| v.as_str())
                                        .unwrap_or("")
                                        .to_string(),
                                    i.get("count").and_then(lenient::value_count).unwrap_or(0),
                                )
                            })
                            .collect(),
                    ),
                    other => FieldCount::Total(lenient::value_count(other).unwrap_or(0)),
                };
                fields.insert(k.clone(), count);
            }
        }
        FieldCounts { fields }
    }

    /// The count of `value` (case-insensitive, spaces ignored: `On Hold` = `ONHOLD`) in
    /// `field`, or the field's total.
    pub fn get(&self, field: &str, value: Option<&str>) -> u64 {
        let norm = |s: &str| s.to_ascii_uppercase().replace([' ', '_'], "");
        match (self.fields.get(field), value) {
            (Some(FieldCount::Values(vs)), Some(v)) => vs
                .iter()
                .filter(|(k, _)| norm(k) == norm(v))
                .map(|(_, n)| n)
                .sum(),
            (Some(FieldCount::Values(vs)), None) => vs.iter().map(|(_, n)| n).sum(),
            (Some(FieldCount::Total(n)), _) => *n,
            (None, _) => 0,
        }
    }
}

/// A customer-satisfaction rating. Zoho documents no schema for the list (desk-api.md [?]):
/// the fields are read from the names its clients use, in either of the plausible places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    pub id: String,
    pub rating: RatingValue,
    pub feedback: Option<String>,
    pub ticket_id: Option<String>,
    pub ticket_number: Option<String>,
    pub department_id: Option<String>,
    pub agent_id: Option<String>,
    pub rated_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RatingValue {
    Good,
    Okay,
    Bad,
    Other(String),
}

impl RatingValue {
    pub fn parse(s: &str) -> RatingValue {
        match s.trim().to_ascii_lowercase().as_str() {
            "good" | "happy" | "positive" => RatingValue::Good,
            "okay" | "ok" | "neutral" => RatingValue::Okay,
            "bad" | "unhappy" | "negative" => RatingValue::Bad,
            other => RatingValue::Other(other.to_string()),
        }
    }
}

impl Rating {
    pub fn from_json(v: &Value) -> Option<Rating> {
        let s = |keys: &[&str]| -> Option<String> {
            keys.iter().find_map(|k| {
                let mut cur = v;
                for part in k.split('.') {
                    cur = cur.get(part)?;
                }
                match cur {
                    Value::String(s) if !s.is_empty() => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                }
            })
        };
        let rating = s(&["rating", "ratingValue", "happinessRating"])?;
        let ticket_id = s(&["ticketId", "ticket.id"]);
        let ticket_number = s(&["ticketNumber", "ticket.ticketNumber"]);
        let rated_time = ["ratedTime", "createdTime", "time"]
            .iter()
            .find_map(|k| v.get(*k).and_then(lenient::value_time));
        // The list's items are not documented to carry an id: without one, a rating is
        // known by its ticket, time and value (an empty id would make every rating after
        // the first look already announced).
        let id = s(&["id"]).unwrap_or_else(|| {
            format!(
                "{}:{}:{}",
                ticket_id
                    .as_deref()
                    .or(ticket_number.as_deref())
                    .unwrap_or(""),
                rated_time.map(|t| t.timestamp_millis()).unwrap_or(0),
                rating.trim().to_ascii_lowercase()
            )
        });
        Some(Rating {
            id,
            rating: RatingValue::parse(&rating),
            feedback: s(&["feedback", "comment", "reason"]),
            ticket_id,
            ticket_number,
            department_id: s(&["departmentId", "department.id"]),
            agent_id: s(&["agentId", "agent.id", "assigneeId"]),
            rated_time,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_without_a_url_and_a_department_without_a_name_are_read() {
        // Zoho's schemas allow null for both: one such item must not fail a whole list.
        let hooks: Vec<Webhook> = serde_json::from_str(
            r#"[{"id":"1","name":"other","url":null,"subscriptions":{}},{"id":"2","url":"https://a.example/x"}]"#,
        )
        .expect("webhooks");
        assert_eq!(hooks[0].url, "");
        assert_eq!(hooks[1].url, "https://a.example/x");
        let deps: Vec<Department> =
            serde_json::from_str(r#"[{"id":"7","name":null,"isEnabled":true}]"#).expect("deps");
        assert_eq!(deps[0].name, "");
        assert!(deps[0].is_enabled);
    }

    #[test]
    fn ratings_without_an_id_are_told_apart_by_ticket_time_and_value() {
        let rating = |json: &str| Rating::from_json(&serde_json::from_str(json).expect("json"));
        let a = rating(
            r#"{"rating":"good","ticket":{"id":"11"},"ratedTime":"2026-11-25T01:00:00.000Z"}"#,
        )
        .expect("a");
        let b = rating(
            r#"{"rating":"bad","ticket":{"id":"12"},"ratedTime":"2026-11-25T01:05:00.000Z"}"#,
        )
        .expect("b");
        let a_again =
            rating(r#"{"rating":"good","ticketId":"11","ratedTime":"2026-11-25T01:00:00.000Z"}"#)
                .expect("a again");
        assert!(!a.id.is_empty());
        assert_ne!(a.id, b.id);
        assert_eq!(a.id, a_again.id, "the same rating read twice is one");
        let with_id = rating(r#"{"id":"77","rating":"okay","ticketId":"11"}"#).expect("id");
        assert_eq!(with_id.id, "77");
    }

    #[test]
    fn a_team_without_a_name_and_a_comment_without_content_are_read() {
        // Team.json and TicketComment.json allow null for both: the assign form's team list
        // and the answer to a comment just added must not fail on it.
        let teams: Vec<Team> = serde_json::from_str(
            r#"[{"id":"5","name":null,"derivedAgents":["1"]},{"id":"6","name":"Tier 2"}]"#,
        )
        .expect("teams");
        assert_eq!(teams[0].name, "");
        assert_eq!(teams[0].derived_agents, ["1"]);
        assert_eq!(teams[1].name, "Tier 2");
        let c: Comment = serde_json::from_str(
            r#"{"id":"9","content":null,"isPublic":false,"commentedTime":"2026-11-25T01:00:00.000Z"}"#,
        )
        .expect("comment");
        assert_eq!((c.id.as_str(), c.content.as_str()), ("9", ""));
    }
}
