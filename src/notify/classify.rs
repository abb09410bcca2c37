//! From a stored webhook event (and the store's snapshot of the ticket) to the changes it
//! means. No Desk call: the payload, `prevState` and the snapshot are enough.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::event::InboxEvent;
use super::model::{ActivityKind, Change, ChangeKind, TicketSnapshot};
use crate::desk::lenient;

/// What deskcliq remembers of an activity, to tell "completed" once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivitySnapshot {
    pub closed: bool,
    /// When Desk last changed it (for forgetting old closed ones, and telling a late
    /// delivery of an older change).
    #[serde(default)]
    pub modified: Option<chrono::DateTime<chrono::Utc>>,
    /// Desk deleted it: kept (as closed) so a late older update cannot bring it back.
    #[serde(default)]
    pub deleted: bool,
}

/// The outcome of one event.
#[derive(Debug, Default, PartialEq)]
pub struct Classified {
    pub changes: Vec<Change>,
    /// The ticket's new snapshot, to store.
    pub ticket: Option<TicketSnapshot>,
    /// A ticket Desk deleted.
    pub deleted_ticket: Option<String>,
    /// An activity's new state, to store.
    pub activity: Option<(String, ActivitySnapshot)>,
    /// An activity event, for its reminders: its kind, and whether it is done (completed or
    /// deleted).
    pub activity_event: Option<(ActivityKind, bool)>,
    /// The agent list changed: refresh the directory.
    pub agents_changed: bool,
}

fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `key` as an id, or `key.id` when Desk sends an object there.
fn person(v: &Value, key: &str) -> Option<String> {
    text(v, key).or_else(|| v.get(key).and_then(|o| text(o, "id")))
}

/// The zuids mentioned in a comment: `zsu[@user:<zuid>]zsu`.
pub fn mentions(content: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = content;
    while let Some(start) = rest.find("zsu[@user:") {
        rest = &rest[start + "zsu[@user:".len()..];
        if let Some(end) = rest.find("]zsu") {
            let zuid = rest[..end].trim();
            if !zuid.is_empty()
                && zuid.bytes().all(|b| b.is_ascii_digit())
                && !out.iter().any(|z| z == zuid)
            {
                out.push(zuid.to_string());
            }
            rest = &rest[end..];
        }
    }
    out
}

/// Whether a comment was written by a customer (a help-center user: `commenter.type`
/// `END_USER`, a string or, in Zoho's examples, a one-item array). A customer can type the
/// mention markup too, but only an agent's comment mentions anyone.
fn by_customer(comment: &Value) -> bool {
    let is_customer = |v: &Value| {
        v.as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("END_USER"))
    };
    match comment.get("commenter").and_then(|c| c.get("type")) {
        Some(Value::Array(kinds)) => kinds.iter().any(is_customer),
        Some(kind) => is_customer(kind),
        None => false,
    }
}

/// `event` against what the store knows: `stored` is the snapshot of the event's ticket,
/// `ticket_of` finds another ticket's snapshot (for comments and activities), `activity` the
/// stored state of the event's activity.
pub fn classify(
    event: &InboxEvent,
    stored: Option<&TicketSnapshot>,
    ticket_of: impl Fn(&str) -> Option<TicketSnapshot>,
    activity: Option<&ActivitySnapshot>,
) -> Classified {
    let p = &event.payload;
    let mut out = Classified::default();
    let change = |kind: ChangeKind,
                  ticket: &TicketSnapshot,
                  actor: Option<String>,
                  owner: Option<String>,
                  department: Option<String>| Change {
        kind,
        ticket: ticket.clone(),
        actor,
        owner,
        department_id: department,
        event: event.identity.clone(),
    };
    match event.event_type.as_str() {
        "Ticket_Add" => {
            let mut t = stored.cloned().unwrap_or_else(|| TicketSnapshot {
                status_type: "Open".into(),
                ..Default::default()
            });
            // A late delivery after a newer change is still announced (a redelivery of one
            // already taken in is dropped by its identity, as before) but must not roll the
            // snapshot back: it is announced with the newer snapshot, completed only where that
            // one is blank.
            let stale = older_than_stored(stored, p);
            if stale {
                let added = TicketSnapshot::from_json(p);
                if t.number.is_empty() {
                    t.number = added.number;
                }
                if t.subject.is_empty() {
                    t.subject = added.subject;
                }
                t.web_url = t.web_url.or(added.web_url);
                t.created_by = t.created_by.or(added.created_by);
            } else {
                t.apply(p);
            }
            out.changes.push(change(
                ChangeKind::Created,
                &t,
                person(p, "createdBy"),
                t.assignee_id.clone(),
                t.department_id.clone(),
            ));
            if !stale {
                out.ticket = Some(t);
            }
        }
        "Ticket_Update" => {
            let mut new = stored.cloned().unwrap_or_else(|| TicketSnapshot {
                status_type: "Open".into(),
                ..Default::default()
            });
            new.apply(p);
            // A late delivery of an older change is announced (from its prevState) but must not
            // roll the snapshot back.
            let stale = older_than_stored(stored, p);
            // prevState is authoritative for what it holds; without it, the snapshot.
            let prev = match (&event.prev_state, stored) {
                (Some(prev_state), _) => {
                    let mut prev = new.clone();
                    prev.apply(prev_state);
                    Some(prev)
                }
                (None, Some(s)) => Some(s.clone()),
                (None, None) => None,
            };
            let prev = if stale {
                prev.filter(|_| event.prev_state.is_some())
            } else {
                prev
            };
            if let Some(prev) = prev {
                // The actor comes from this payload only: the snapshot's modifier is a past one.
                let actor = person(p, "modifiedBy");
                let owner = new.assignee_id.clone();
                let dep = new.department_id.clone();
                let mut push = |k| {
                    out.changes
                        .push(change(k, &new, actor.clone(), owner.clone(), dep.clone()))
                };
                if !prev.is_closed() && new.is_closed() {
                    push(ChangeKind::Closed);
                } else if prev.is_closed() && !new.is_closed() {
                    push(ChangeKind::Reopened);
                } else if prev.status != new.status && !prev.status.is_empty() {
                    push(ChangeKind::StatusChanged {
                        from: prev.status.clone(),
                        to: new.status.clone(),
                    });
                }
                // With no agent before or after, the team holding the ticket is its owner.
                let team_changed = prev.assignee_id.is_none()
                    && new.assignee_id.is_none()
                    && prev.team_id != new.team_id;
                if prev.assignee_id != new.assignee_id || team_changed {
                    push(ChangeKind::OwnerChanged {
                        from: prev.assignee_id.clone(),
                        to: new.assignee_id.clone(),
                        from_team: team_holder(&prev, event.prev_state.as_ref()),
                        to_team: team_holder(&new, Some(p)),
                    });
                }
                if prev.department_id != new.department_id && prev.department_id.is_some() {
                    push(ChangeKind::DepartmentChanged {
                        from: prev.department_id.clone(),
                        to: new.department_id.clone(),
                    });
                }
                if !prev.is_escalated && new.is_escalated {
                    push(ChangeKind::Escalated);
                }
            }
            if !stale {
                out.ticket = Some(new);
            }
        }
        "Ticket_Delete" => out.deleted_ticket = text(p, "id"),
        "Ticket_Comment_Add" | "Ticket_Comment_Update" => {
            let ticket_id =
                text(p, "ticketId").or_else(|| p.get("ticket").and_then(|t| text(t, "id")));
            let ticket = ticket_id
                .as_deref()
                .and_then(&ticket_of)
                .unwrap_or_else(|| TicketSnapshot {
                    id: ticket_id.clone().unwrap_or_default(),
                    status_type: "Open".into(),
                    ..Default::default()
                });
            let content = text(p, "content").unwrap_or_default();
            let actor = person(p, "commenterId").or_else(|| person(p, "commenter"));
            let public = p
                .get("isPublic")
                .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true"));
            let owner = ticket.assignee_id.clone();
            let dep = ticket.department_id.clone();
            let kind = if event.event_type == "Ticket_Comment_Add" {
                ChangeKind::CommentAdded {
                    public,
                    excerpt: content.clone(),
                }
            } else {
                ChangeKind::CommentEdited {
                    excerpt: content.clone(),
                }
            };
            out.changes.push(change(
                kind,
                &ticket,
                actor.clone(),
                owner.clone(),
                dep.clone(),
            ));
            let edited = event.event_type != "Ticket_Comment_Add";
            // A mention is keyed by its comment, whether it came with the comment or with an
            // edit of it: an edit DMs only those it newly names (the others' DMs are
            // remembered, see `outbox::REMEMBER`). An edit naming no comment DMs no one: it
            // would DM everyone it names again.
            let comment = text(p, "id").map(|id| format!("comment:{id}"));
            if !by_customer(p) && (!edited || comment.is_some()) {
                for zuid in mentions(&content) {
                    // The ticket's owner goes with a mention: the owner may hear of the
                    // comment itself already (see `route::targets`).
                    let mut mention = change(
                        ChangeKind::Mentioned {
                            zuid,
                            excerpt: content.clone(),
                            edited,
                        },
                        &ticket,
                        actor.clone(),
                        owner.clone(),
                        dep.clone(),
                    );
                    if let Some(comment) = &comment {
                        mention.event = comment.clone();
                    }
                    out.changes.push(mention);
                }
            }
        }
        t if t.starts_with("Task_") || t.starts_with("Call_") || t.starts_with("Event_") => {
            let kind = match t.split('_').next() {
                Some("Task") => ActivityKind::Task,
                Some("Call") => ActivityKind::Call,
                _ => ActivityKind::Event,
            };
            let Some(id) = text(p, "id") else { return out };
            let incoming = lenient_time(p, "modifiedTime").or(event.event_time);
            if t.ends_with("_Delete") {
                // Remembered as deleted, so a late older update cannot re-arm its reminders.
                let modified = match (activity.and_then(|a| a.modified), incoming) {
                    (Some(known), Some(at)) => Some(known.max(at)),
                    (known, at) => at.or(known),
                };
                out.activity = Some((
                    id,
                    ActivitySnapshot {
                        closed: true,
                        modified,
                        deleted: true,
                    },
                ));
                out.activity_event = Some((kind, true));
                return out;
            }
            // A late delivery of an older change (Desk retries, out of order) must neither roll
            // the stored state back nor touch the reminders; nor may anything but a newer change
            // bring back a deleted activity.
            let stale = activity.is_some_and(|a| activity_stale(a, incoming));
            let gone = stale && activity.is_some_and(|a| a.deleted);
            let owner = person(p, "ownerId").or_else(|| person(p, "owner"));
            let creator = person(p, "creatorId").or_else(|| person(p, "creator"));
            let subject = text(p, "subject").unwrap_or_default();
            let closed = activity_closed(p).unwrap_or(false);
            let ticket_id = text(p, "ticketId");
            let ticket = ticket_id
                .as_deref()
                .and_then(&ticket_of)
                .unwrap_or_else(|| TicketSnapshot {
                    id: ticket_id.clone().unwrap_or_default(),
                    status_type: "Open".into(),
                    ..Default::default()
                });
            let dep = text(p, "departmentId").or_else(|| ticket.department_id.clone());
            // An activity is announced only when its owner is not its creator.
            let announce = owner.is_some() && owner != creator && !gone;
            if t.ends_with("_Add") {
                if announce {
                    let due = activity_due(p);
                    out.changes.push(change(
                        ChangeKind::ActivityCreated {
                            kind,
                            subject: subject.clone(),
                            due,
                        },
                        &ticket,
                        creator.clone(),
                        owner.clone(),
                        dep.clone(),
                    ));
                }
            } else if t.ends_with("_Update") {
                // prevState is authoritative for what it holds; without statusType or
                // completedTime in it, the stored state; without that, a prevState that does
                // not name them says they did not change. A stale one is announced from its
                // prevState only: the stored state is newer than it.
                let from_prev = event.prev_state.as_ref().and_then(activity_closed);
                let was_closed = match (from_prev, activity) {
                    (Some(was), _) => was,
                    (None, _) if stale => true,
                    (None, Some(a)) => a.closed,
                    (None, None) => event.prev_state.is_some() && closed,
                };
                if closed && !was_closed && announce {
                    let actor = person(p, "modifiedBy");
                    out.changes.push(change(
                        ChangeKind::ActivityCompleted { kind, subject },
                        &ticket,
                        actor,
                        owner.clone(),
                        dep,
                    ));
                }
            }
            if stale {
                return out;
            }
            out.activity = Some((
                id,
                ActivitySnapshot {
                    closed,
                    modified: incoming,
                    deleted: false,
                },
            ));
            out.activity_event = Some((kind, closed));
        }
        t if t.starts_with("Agent_") => out.agents_changed = true,
        _ => {}
    }
    out
}

/// The team holding ticket `t` when no agent does: its name from the ticket JSON's embedded
/// `team` (Zoho's ticket objects may carry one), else `""`.
fn team_holder(t: &TicketSnapshot, json: Option<&Value>) -> Option<String> {
    if t.assignee_id.is_some() {
        return None;
    }
    t.team_id.as_ref()?;
    Some(
        json.and_then(|j| j.get("team"))
            .and_then(|team| text(team, "name"))
            .unwrap_or_default(),
    )
}

/// Whether ticket payload `p` is older than the stored snapshot (a late delivery).
fn older_than_stored(stored: Option<&TicketSnapshot>, p: &Value) -> bool {
    matches!(
        (stored, lenient_time(p, "modifiedTime")),
        (Some(s), Some(incoming)) if s.modified_time.is_some_and(|known| known > incoming)
    )
}

/// Whether an activity event changed at `incoming` is older than the stored state `a`: a
/// deleted activity takes only a strictly newer change (or none, when times are unknown).
fn activity_stale(a: &ActivitySnapshot, incoming: Option<chrono::DateTime<chrono::Utc>>) -> bool {
    match (a.modified, incoming) {
        (Some(known), Some(at)) => {
            if a.deleted {
                at <= known
            } else {
                at < known
            }
        }
        _ => a.deleted,
    }
}

/// Whether an activity JSON says it is closed (`statusType` Closed, or a `completedTime`),
/// from the keys it holds; `None` when it holds neither.
fn activity_closed(v: &Value) -> Option<bool> {
    let by_status = v
        .get("statusType")
        .map(|_| text(v, "statusType").is_some_and(|s| s.eq_ignore_ascii_case("closed")));
    let by_completion = v
        .get("completedTime")
        .map(|t| lenient::value_time(t).is_some());
    match (by_status, by_completion) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(false) || b.unwrap_or(false)),
    }
}

fn lenient_time(v: &Value, key: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    v.get(key).and_then(lenient::value_time)
}

/// When an activity is due: its `dueDate`, else (a call logged with `"dueDate": null`) its
/// `startTime`.
pub fn activity_due(p: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    lenient_time(p, "dueDate").or_else(|| lenient_time(p, "startTime"))
}

#[cfg(test)]
mod tests;
