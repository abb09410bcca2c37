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
                if prev.assignee_id != new.assignee_id {
                    push(ChangeKind::OwnerChanged {
                        from: prev.assignee_id.clone(),
                        to: new.assignee_id.clone(),
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
            out.changes
                .push(change(kind, &ticket, actor.clone(), owner, dep.clone()));
            if event.event_type == "Ticket_Comment_Add" {
                for zuid in mentions(&content) {
                    out.changes.push(change(
                        ChangeKind::Mentioned {
                            zuid,
                            excerpt: content.clone(),
                        },
                        &ticket,
                        actor.clone(),
                        None,
                        dep.clone(),
                    ));
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
mod tests {
    use super::*;
    use crate::notify::event::parse_body;

    fn one(body: &str) -> InboxEvent {
        parse_body(body.as_bytes()).unwrap().remove(0)
    }

    #[test]
    fn the_zoho_sample_update_is_a_status_change_from_prev_state() {
        let body = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/desk/ticket_update_event.json"
        ))
        .unwrap();
        let e = one(&body);
        let c = classify(&e, None, |_| None, None);
        assert_eq!(c.changes.len(), 1);
        assert_eq!(
            c.changes[0].kind,
            ChangeKind::StatusChanged {
                from: "On Hold".into(),
                to: "Open".into()
            }
        );
        assert_eq!(c.ticket.unwrap().number, "1161");
    }

    #[test]
    fn without_prev_state_the_snapshot_tells_what_changed() {
        let stored = TicketSnapshot {
            id: "1".into(),
            status: "Open".into(),
            status_type: "Open".into(),
            assignee_id: Some("7".into()),
            ..Default::default()
        };
        let e = one(
            r#"[{"eventType":"Ticket_Update","payload":{"id":"1","status":"Closed","statusType":"Closed","assigneeId":"8","isEscalated":true}}]"#,
        );
        let kinds: Vec<String> = classify(&e, Some(&stored), |_| None, None)
            .changes
            .iter()
            .map(|c| c.kind.tag())
            .collect();
        assert_eq!(kinds, ["closed", "owner", "escalated"]);
        // Without either, nothing can be said.
        assert!(classify(&e, None, |_| None, None).changes.is_empty());
    }

    fn kinds(c: &Classified) -> Vec<String> {
        c.changes.iter().map(|c| c.kind.tag()).collect()
    }

    #[test]
    fn editing_a_closed_task_with_a_partial_prev_state_does_not_announce_it_done_again() {
        let edit = one(
            r#"[{"eventType":"Task_Update","payload":{"id":"5","subject":"new","ownerId":"7","creatorId":"8","statusType":"Closed","completedTime":1556211131000,"modifiedBy":{"id":"8"},"modifiedTime":1556211139000},"prevState":{"subject":"old"}}]"#,
        );
        let closed = ActivitySnapshot {
            closed: true,
            modified: None,
            deleted: false,
        };
        let c = classify(&edit, None, |_| None, Some(&closed));
        assert!(c.changes.is_empty(), "{:?}", kinds(&c));
        assert!(c.activity.unwrap().1.closed);
        // Its stored state forgotten: a prevState without status keys says they did not change.
        assert!(classify(&edit, None, |_| None, None).changes.is_empty());
        // The stored state stands in for what prevState leaves out.
        let open = ActivitySnapshot {
            closed: false,
            modified: None,
            deleted: false,
        };
        assert_eq!(
            kinds(&classify(&edit, None, |_| None, Some(&open))),
            ["activity_done"]
        );
    }

    #[test]
    fn a_prev_state_naming_the_status_decides_over_the_stored_state() {
        let closed = ActivitySnapshot {
            closed: true,
            modified: None,
            deleted: false,
        };
        for prev in [
            r#"{"statusType":"Open"}"#,
            r#"{"completedTime":null}"#,
            r#"{"status":"Open","statusType":"Open","completedTime":null}"#,
        ] {
            let done = one(&format!(
                r#"[{{"eventType":"Task_Update","payload":{{"id":"5","subject":"s","ownerId":"7","creatorId":"8","statusType":"Closed","completedTime":1556211131000}},"prevState":{prev}}}]"#
            ));
            assert_eq!(
                kinds(&classify(&done, None, |_| None, Some(&closed))),
                ["activity_done"],
                "{prev}"
            );
        }
        let still_closed = one(
            r#"[{"eventType":"Task_Update","payload":{"id":"5","subject":"s","ownerId":"7","creatorId":"8","statusType":"Closed","completedTime":1556211131000},"prevState":{"statusType":"Closed"}}]"#,
        );
        let open = ActivitySnapshot {
            closed: false,
            modified: None,
            deleted: false,
        };
        assert!(
            classify(&still_closed, None, |_| None, Some(&open))
                .changes
                .is_empty()
        );
    }

    #[test]
    fn a_late_ticket_add_is_announced_but_does_not_roll_the_snapshot_back() {
        let newer = TicketSnapshot {
            id: "1".into(),
            status: "Open".into(),
            status_type: "Open".into(),
            assignee_id: Some("7".into()),
            department_id: Some("d1".into()),
            modified_time: "2021-04-15T13:40:00Z".parse().ok(),
            ..Default::default()
        };
        let late = one(
            r#"[{"eventType":"Ticket_Add","payload":{"id":"1","ticketNumber":"101","subject":"Printer","status":"Open","statusType":"Open","assigneeId":null,"departmentId":"d1","dueDate":"2021-04-15T14:00:00.000Z","modifiedTime":"2021-04-15T13:30:00.000Z","createdBy":"9"}}]"#,
        );
        let c = classify(&late, Some(&newer), |_| None, None);
        assert_eq!(c.ticket, None, "the newer snapshot stays as it is");
        assert_eq!(kinds(&c), ["created"]);
        let announced = &c.changes[0];
        assert_eq!(announced.owner.as_deref(), Some("7"));
        assert_eq!(announced.actor.as_deref(), Some("9"));
        assert_eq!(announced.ticket.due_date, None);
        assert_eq!(announced.ticket.modified_time, newer.modified_time);
        // What the newer snapshot lacked comes from the creation.
        assert_eq!(
            (
                announced.ticket.number.as_str(),
                announced.ticket.subject.as_str()
            ),
            ("101", "Printer")
        );
        // In order (or as new as the snapshot), it is applied as before.
        let in_order = one(
            r#"[{"eventType":"Ticket_Add","payload":{"id":"1","assigneeId":null,"modifiedTime":"2021-04-15T13:40:00.000Z"}}]"#,
        );
        let c = classify(&in_order, Some(&newer), |_| None, None);
        assert_eq!(c.ticket.unwrap().assignee_id, None);
    }

    #[test]
    fn an_escalation_sent_as_the_number_1_is_announced() {
        let stored = TicketSnapshot {
            id: "1".into(),
            status: "Open".into(),
            status_type: "Open".into(),
            ..Default::default()
        };
        let e = one(
            r#"[{"eventType":"Ticket_Update","payload":{"id":"1","status":"Open","statusType":"Open","isEscalated":1}}]"#,
        );
        let c = classify(&e, Some(&stored), |_| None, None);
        let kinds: Vec<String> = c.changes.iter().map(|c| c.kind.tag()).collect();
        assert_eq!(kinds, ["escalated"]);
        assert!(c.ticket.unwrap().is_escalated);
    }

    #[test]
    fn comments_carry_their_mentions() {
        assert_eq!(
            mentions("hi zsu[@user:123]zsu and zsu[@user:456]zsu zsu[@user:123]zsu"),
            ["123", "456"]
        );
        let e = one(
            r#"[{"eventType":"Ticket_Comment_Add","payload":{"id":"9","ticketId":"1","content":"zsu[@user:55]zsu look","isPublic":false,"commenterId":"7"}}]"#,
        );
        let c = classify(
            &e,
            None,
            |_| {
                Some(TicketSnapshot {
                    id: "1".into(),
                    assignee_id: Some("8".into()),
                    ..Default::default()
                })
            },
            None,
        );
        assert_eq!(c.changes.len(), 2);
        assert_eq!(c.changes[0].owner.as_deref(), Some("8"));
        assert!(matches!(&c.changes[1].kind, ChangeKind::Mentioned { zuid, .. } if zuid == "55"));
    }

    #[test]
    fn a_call_logged_without_a_due_date_is_announced_with_its_start_time() {
        let add = one(
            r#"[{"eventType":"Call_Add","payload":{"id":"6","subject":"Call back","ownerId":"7","creatorId":"8","dueDate":null,"startTime":"2021-04-15T13:34:27.000Z"}}]"#,
        );
        let c = classify(&add, None, |_| None, None);
        let ChangeKind::ActivityCreated { due, .. } = &c.changes[0].kind else {
            panic!("{:?}", c.changes[0].kind);
        };
        assert_eq!(due.map(|d| d.timestamp()), Some(1_618_493_667));
    }

    #[test]
    fn activities_are_announced_only_when_owner_differs_from_creator_and_completed_once() {
        let add = one(
            r#"[{"eventType":"Task_Add","payload":{"id":"5","subject":"Call back","ownerId":"7","creatorId":"7","modifiedBy":{"id":"7"}}}]"#,
        );
        assert!(classify(&add, None, |_| None, None).changes.is_empty());
        let add = one(
            r#"[{"eventType":"Task_Add","payload":{"id":"5","subject":"Call back","ownerId":"7","creatorId":"8","dueDate":1556211131000}}]"#,
        );
        assert_eq!(classify(&add, None, |_| None, None).changes.len(), 1);
        let done = one(
            r#"[{"eventType":"Task_Update","payload":{"id":"5","subject":"Call back","ownerId":"7","creatorId":"8","statusType":"Closed","completedTime":1556211131000,"modifiedBy":{"id":"8"}}}]"#,
        );
        let c = classify(
            &done,
            None,
            |_| None,
            Some(&ActivitySnapshot {
                closed: false,
                modified: None,
                deleted: false,
            }),
        );
        assert_eq!(c.changes[0].kind.tag(), "activity_done");
        assert_eq!(c.changes[0].actor.as_deref(), Some("8"));
        assert!(
            classify(
                &done,
                None,
                |_| None,
                Some(&ActivitySnapshot {
                    closed: true,
                    modified: None,
                    deleted: false,
                })
            )
            .changes
            .is_empty()
        );
    }
}
