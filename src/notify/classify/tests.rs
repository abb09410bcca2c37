//! Tests of [`super::classify`].
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
fn an_owner_change_to_or_from_a_team_names_the_team() {
    // Zoho's ticket JSON may embed the team ({id, name}); without it the team is unnamed.
    let e = one(
        r#"[{"eventType":"Ticket_Update","payload":{"id":"1","assigneeId":null,"teamId":"30","team":{"id":"30","name":"Level 2"},"modifiedBy":"9"},"prevState":{"id":"1","assigneeId":"7","teamId":null,"team":null}}]"#,
    );
    let c = classify(&e, None, |_| None, None);
    assert_eq!(
        c.changes[0].kind,
        ChangeKind::OwnerChanged {
            from: Some("7".into()),
            to: None,
            from_team: None,
            to_team: Some("Level 2".into()),
        }
    );
    let e = one(
        r#"[{"eventType":"Ticket_Update","payload":{"id":"1","assigneeId":"7","teamId":null,"modifiedBy":"9"},"prevState":{"id":"1","assigneeId":null,"teamId":"30"}}]"#,
    );
    let c = classify(&e, None, |_| None, None);
    assert_eq!(
        c.changes[0].kind,
        ChangeKind::OwnerChanged {
            from: None,
            to: Some("7".into()),
            from_team: Some(String::new()),
            to_team: None,
        }
    );
}

#[test]
fn a_ticket_handed_from_one_team_to_another_or_from_no_one_to_a_team_is_an_owner_change() {
    // No agent before or after: the team is the owner that changed.
    let e = one(
        r#"[{"eventType":"Ticket_Update","payload":{"id":"1","assigneeId":null,"teamId":"31","team":{"id":"31","name":"Level 3"},"modifiedBy":"9"},"prevState":{"id":"1","teamId":"30","team":{"id":"30","name":"Level 2"}}}]"#,
    );
    let c = classify(&e, None, |_| None, None);
    assert_eq!(
        c.changes[0].kind,
        ChangeKind::OwnerChanged {
            from: None,
            to: None,
            from_team: Some("Level 2".into()),
            to_team: Some("Level 3".into()),
        }
    );
    let e = one(
        r#"[{"eventType":"Ticket_Update","payload":{"id":"1","assigneeId":null,"teamId":"30","modifiedBy":"9"},"prevState":{"id":"1","teamId":null}}]"#,
    );
    let c = classify(&e, None, |_| None, None);
    assert_eq!(
        c.changes[0].kind,
        ChangeKind::OwnerChanged {
            from: None,
            to: None,
            from_team: None,
            to_team: Some(String::new()),
        }
    );
}

#[test]
fn an_agent_moving_between_teams_keeps_the_ticket_and_is_no_owner_change() {
    let e = one(
        r#"[{"eventType":"Ticket_Update","payload":{"id":"1","assigneeId":"7","teamId":"31","modifiedBy":"9"},"prevState":{"id":"1","assigneeId":"7","teamId":"30"}}]"#,
    );
    let c = classify(&e, None, |_| None, None);
    assert!(c.changes.is_empty(), "{:?}", c.changes);
}

#[test]
fn a_mention_written_by_a_customer_mentions_no_one() {
    // A help-center user's comment (commenter type END_USER, as a string or, as in Zoho's
    // examples, a one-item array) is announced, but its mention markup is only text.
    for kind in [r#""END_USER""#, r#"["END_USER"]"#, r#""end_user""#] {
        let e = one(&format!(
            r#"[{{"eventType":"Ticket_Comment_Add","payload":{{"id":"9","ticketId":"1","content":"zsu[@user:55]zsu call me","isPublic":true,"commenterId":"4000000008692","commenter":{{"name":"Jade Tywin","type":{kind}}}}}}}]"#
        ));
        let c = classify(&e, None, |_| None, None);
        assert_eq!(kinds(&c), ["comment"], "{kind}");
    }
    // An agent's comment (type AGENT, either form) still mentions.
    for kind in [r#""AGENT""#, r#"["AGENT"]"#] {
        let e = one(&format!(
            r#"[{{"eventType":"Ticket_Comment_Add","payload":{{"id":"9","ticketId":"1","content":"zsu[@user:55]zsu look","isPublic":false,"commenterId":"7","commenter":{{"type":{kind}}}}}}}]"#
        ));
        let c = classify(&e, None, |_| None, None);
        assert_eq!(kinds(&c), ["comment", "mention:55"], "{kind}");
    }
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
