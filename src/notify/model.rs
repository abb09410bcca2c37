//! What the notification pipeline knows and decides: ticket snapshots, agents, changes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::desk::lenient;

/// What deskcliq keeps of each ticket it has seen (the store's `tickets` tree). Deadlines and
/// commands read it too.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TicketSnapshot {
    pub id: String,
    pub number: String,
    pub subject: String,
    pub status: String,
    /// `Open`, `On Hold` or `Closed`.
    pub status_type: String,
    pub department_id: Option<String>,
    pub assignee_id: Option<String>,
    pub team_id: Option<String>,
    pub priority: Option<String>,
    pub due_date: Option<DateTime<Utc>>,
    pub web_url: Option<String>,
    pub is_escalated: bool,
    pub modified_time: Option<DateTime<Utc>>,
    pub modified_by: Option<String>,
    pub created_by: Option<String>,
}

fn s(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The snapshot's name for the kind of status `raw` (a `statusType`) is.
fn kind_name(raw: &str) -> &'static str {
    match crate::desk::StatusType::parse(raw) {
        crate::desk::StatusType::Closed => "Closed",
        crate::desk::StatusType::OnHold => "On Hold",
        _ => "Open",
    }
}

fn id(v: &Value) -> Option<String> {
    s(v).filter(|x| !x.is_empty())
}

impl TicketSnapshot {
    /// Applies the fields present in a ticket JSON (a payload or a `prevState`); absent fields
    /// keep their value, `null` clears, an unreadable time keeps its value.
    pub fn apply(&mut self, v: &Value) {
        let Some(o) = v.as_object() else { return };
        let mut type_unsaid = false;
        for (k, val) in o {
            match k.as_str() {
                "id" => self.id = id(val).unwrap_or_default(),
                "ticketNumber" => self.number = s(val).unwrap_or_default(),
                "subject" => self.subject = s(val).unwrap_or_default(),
                "status" => self.status = s(val).unwrap_or_default(),
                "statusType" => {
                    let raw = s(val).or_else(|| val.as_array().and_then(|a| a.first()).and_then(s));
                    match raw.filter(|r| !r.trim().is_empty()) {
                        Some(raw) => self.status_type = kind_name(&raw).into(),
                        // Null (Zoho's ticket schemas allow it) is not "Open": see below.
                        None => type_unsaid = true,
                    }
                }
                "departmentId" => self.department_id = id(val),
                "assigneeId" => self.assignee_id = id(val),
                "teamId" => self.team_id = id(val),
                "priority" => self.priority = s(val),
                "dueDate" => {
                    if let Some(t) = self.read_time(k, val) {
                        self.due_date = t;
                    }
                }
                "webUrl" => self.web_url = s(val),
                "isEscalated" => self.is_escalated = lenient::value_flag(val),
                "modifiedTime" => {
                    if let Some(t) = self.read_time(k, val) {
                        self.modified_time = t;
                    }
                }
                "modifiedBy" => self.modified_by = id(val).or_else(|| val.get("id").and_then(id)),
                "createdBy" => self.created_by = id(val).or_else(|| val.get("id").and_then(id)),
                _ => {}
            }
        }
        // No status type given: a system status name tells it; a custom one keeps what was
        // known (`reconcile::apply` reads Desk's answers the same way).
        if type_unsaid {
            use crate::desk::StatusType as K;
            match K::parse(&self.status) {
                K::Open | K::OnHold | K::Closed => {
                    self.status_type = kind_name(&self.status).into()
                }
                _ if self.status_type.is_empty() => self.status_type = "Open".into(),
                _ => {}
            }
        }
    }

    /// A time field's new value (`Some(None)`: unset), or `None` when Desk sent something
    /// unreadable: the old value is then kept, not cleared (which would cancel its alerts).
    fn read_time(&self, field: &str, val: &Value) -> Option<Option<DateTime<Utc>>> {
        match lenient::read_time(val) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(ticket = %self.id, field, error = %e, "keeping the previous value");
                None
            }
        }
    }

    pub fn from_json(v: &Value) -> TicketSnapshot {
        let mut t = TicketSnapshot {
            status_type: "Open".into(),
            ..Default::default()
        };
        t.apply(v);
        t
    }

    pub fn is_closed(&self) -> bool {
        self.status_type == "Closed"
    }
}

/// A Desk agent as the pipeline needs one: the Cliq user is the Zoho user (`zuid`), who exists
/// only once the agent confirmed their account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentInfo {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub zuid: Option<String>,
    /// The departments the agent belongs to (`associatedDepartmentIds`): what commands show.
    #[serde(default)]
    pub departments: Vec<String>,
    /// False for an agent Desk lists as disabled (or deleted): they cannot use commands.
    #[serde(default = "yes")]
    pub active: bool,
    /// What Cliq said of the agent's Zoho user: a Cliq user of this organisation or not
    /// (then never DMed: their notifications go to the channel); `None` until it was asked.
    #[serde(default)]
    pub in_cliq: Option<bool>,
}

impl AgentInfo {
    /// Whether the agent can be DMed: not known to be outside this Cliq organisation.
    pub fn reachable_in_cliq(&self) -> bool {
        self.in_cliq != Some(false)
    }
}

fn yes() -> bool {
    true
}

/// The kinds of activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActivityKind {
    Task,
    Call,
    Event,
}

/// A customer-satisfaction rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RatingKind {
    Good,
    Okay,
    Bad,
}

/// What happened, in the terms of DESIGN.md feature 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ChangeKind {
    Created,
    Closed,
    Reopened,
    StatusChanged {
        from: String,
        to: String,
    },
    OwnerChanged {
        from: Option<String>,
        to: Option<String>,
        /// Without an agent on that side, the team that held the ticket: its name, or `""`
        /// when Desk did not name it (agent → team, team → agent).
        #[serde(default)]
        from_team: Option<String>,
        #[serde(default)]
        to_team: Option<String>,
    },
    DepartmentChanged {
        from: Option<String>,
        to: Option<String>,
    },
    Escalated,
    CommentAdded {
        public: bool,
        excerpt: String,
    },
    CommentEdited {
        excerpt: String,
    },
    /// `zuid` was mentioned in a comment.
    Mentioned {
        zuid: String,
        excerpt: String,
        /// Found in an edit of the comment, not in the comment as first written.
        #[serde(default)]
        edited: bool,
    },
    ActivityCreated {
        kind: ActivityKind,
        subject: String,
        due: Option<DateTime<Utc>>,
    },
    ActivityCompleted {
        kind: ActivityKind,
        subject: String,
    },
    /// An SLA alert: the ticket is due at `due`, `minutes_left` from when it was sent.
    DueSoon {
        due: DateTime<Utc>,
        minutes_left: i64,
    },
    /// An activity's reminder.
    Reminder {
        kind: ActivityKind,
        subject: String,
        due: Option<DateTime<Utc>>,
    },
    /// What changed while deskcliq was not listening (found by reconciliation).
    Missed {
        lines: Vec<String>,
    },
    Rated {
        rating: RatingKind,
        feedback: Option<String>,
    },
}

impl ChangeKind {
    /// A short stable tag for idempotency keys.
    pub fn tag(&self) -> String {
        match self {
            ChangeKind::Created => "created".into(),
            ChangeKind::Closed => "closed".into(),
            ChangeKind::Reopened => "reopened".into(),
            ChangeKind::StatusChanged { .. } => "status".into(),
            ChangeKind::OwnerChanged { .. } => "owner".into(),
            ChangeKind::DepartmentChanged { .. } => "department".into(),
            ChangeKind::Escalated => "escalated".into(),
            ChangeKind::CommentAdded { .. } => "comment".into(),
            ChangeKind::CommentEdited { .. } => "comment_edit".into(),
            ChangeKind::Mentioned { zuid, .. } => format!("mention:{zuid}"),
            ChangeKind::ActivityCreated { .. } => "activity".into(),
            ChangeKind::ActivityCompleted { .. } => "activity_done".into(),
            ChangeKind::Rated { .. } => "rating".into(),
            ChangeKind::DueSoon { .. } => "due_soon".into(),
            ChangeKind::Reminder { .. } => "reminder".into(),
            ChangeKind::Missed { .. } => "missed".into(),
        }
    }
}

/// One change to announce, with the ticket as it is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub kind: ChangeKind,
    pub ticket: TicketSnapshot,
    /// The agent who made the change, when known.
    pub actor: Option<String>,
    /// The record's owner (ticket assignee, activity owner), who gets the DM.
    pub owner: Option<String>,
    /// The department whose channel the change belongs to.
    pub department_id: Option<String>,
    /// Identity of the event this came from.
    pub event: String,
}

impl Change {
    pub fn key(&self) -> String {
        format!("{}#{}", self.event, self.kind.tag())
    }
}

/// Where a notification goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Target {
    Channel(String),
    /// A bot DM to these Cliq users (zuids).
    Dm(Vec<String>),
}

impl Target {
    pub fn label(&self) -> String {
        match self {
            Target::Channel(c) => format!("#{c}"),
            Target::Dm(users) => format!("dm:{}", users.join(",")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(json: Value) -> Option<DateTime<Utc>> {
        TicketSnapshot::from_json(&json).due_date
    }

    #[test]
    fn a_null_status_type_is_read_from_a_system_status_or_else_kept() {
        let mut t = TicketSnapshot::from_json(&serde_json::json!({
            "id": "1", "status": "On Hold", "statusType": "On Hold"
        }));
        // A custom status with no type: still on hold (no SLA clock), not "Open".
        t.apply(&serde_json::json!({"statusType": null, "status": "Waiting for parts"}));
        assert_eq!(t.status_type, "On Hold");
        // A system status name says it, whichever key comes first.
        t.apply(&serde_json::json!({"statusType": null, "status": "Closed"}));
        assert_eq!(t.status_type, "Closed");
        t.apply(&serde_json::json!({"status": "Open", "statusType": ""}));
        assert_eq!(t.status_type, "Open");
        // A ticket first seen that way is open.
        let fresh = TicketSnapshot::from_json(&serde_json::json!({
            "id": "2", "status": "Waiting for parts", "statusType": null
        }));
        assert_eq!(fresh.status_type, "Open");
    }

    #[test]
    fn due_dates_in_every_iso_form_zoho_writes_are_read() {
        let at = "2021-04-15T13:34:27Z".parse::<DateTime<Utc>>().ok();
        for form in [
            "2021-04-15T13:34:27.000Z",
            "2021-04-15T13:34:27.000+0000",
            "2021-04-15T13:34:27",
            "1618493667000",
        ] {
            assert_eq!(
                due(serde_json::json!({"id": "1", "dueDate": form})),
                at,
                "{form}"
            );
        }
    }

    #[test]
    fn an_unreadable_due_date_keeps_the_old_one_and_null_clears_it() {
        let mut t = TicketSnapshot::from_json(&serde_json::json!({
            "id": "1", "dueDate": "2021-04-15T13:34:27.000Z",
            "modifiedTime": "2021-04-15T13:00:00.000Z"
        }));
        let (old_due, old_modified) = (t.due_date, t.modified_time);
        assert!(old_due.is_some() && old_modified.is_some());
        t.apply(&serde_json::json!({"dueDate": "soon", "modifiedTime": {"x": 1}}));
        assert_eq!((t.due_date, t.modified_time), (old_due, old_modified));
        t.apply(&serde_json::json!({"dueDate": null}));
        assert_eq!(t.due_date, None);
    }

    #[test]
    fn is_escalated_is_a_lenient_flag() {
        let escalated = |v: Value| {
            TicketSnapshot::from_json(&serde_json::json!({"id": "1", "isEscalated": v}))
                .is_escalated
        };
        assert!(escalated(serde_json::json!(1)));
        assert!(escalated(serde_json::json!("true")));
        assert!(escalated(serde_json::json!(true)));
        assert!(!escalated(serde_json::json!(0)));
        assert!(!escalated(serde_json::json!("false")));
    }
}
