//! SLA alerts and activity reminders on the controlled clock, in process.

mod common;

use std::time::Duration;

use chrono::Duration as Span;
use common::app::*;
use deskcliq::sim::{CliqRecord, CliqTarget, NewTicket, SimTask, TicketPatch};

fn due_ticket(env: &Env, minutes: i64, assignee: Option<&str>) -> String {
    env.sim
        .create_ticket(NewTicket {
            subject: "SLA".into(),
            department_id: SUPPORT.into(),
            contact_email: "c@example.com".into(),
            assignee_id: assignee.map(str::to_string),
            due_date: Some(env.clock.now() + Span::minutes(minutes)),
            ..Default::default()
        })
        .id
}

/// Moves the clock and lets the watcher (ticking every 250 ms of real time) see it.
async fn advance(env: &Env, by: Span) -> Vec<CliqRecord> {
    // Changes made before are taken in (and armed or cancelled) before the clock moves.
    env.settle().await;
    env.clock.advance(by);
    tokio::time::sleep(Duration::from_millis(600)).await;
    env.settle().await
}

fn alerts(msgs: &[CliqRecord]) -> Vec<String> {
    msgs.iter()
        .filter_map(|m| m.message["text"].as_str())
        .filter(|t| t.contains("Due in"))
        .map(|t| t.lines().next().unwrap_or("").to_string())
        .collect()
}

#[actix_rt::test]
async fn a_ticket_due_in_two_hours_gets_the_60_and_30_minute_alerts_and_nothing_else() {
    let env = Env::start("").await;
    due_ticket(&env, 120, None);
    env.settle().await;
    assert!(alerts(&advance(&env, Span::minutes(60) - Span::seconds(2)).await).is_empty());
    let msgs = advance(&env, Span::seconds(3)).await;
    assert_eq!(alerts(&msgs), ["*⏰ Due in 60 min*"]);
    assert_eq!(
        msgs.last().unwrap().target,
        CliqTarget::Channel("support".into())
    );
    assert_eq!(alerts(&advance(&env, Span::minutes(29)).await).len(), 1);
    assert_eq!(
        alerts(&advance(&env, Span::minutes(1)).await),
        ["*⏰ Due in 60 min*", "*⏰ Due in 30 min*"]
    );
    assert_eq!(alerts(&advance(&env, Span::minutes(45)).await).len(), 2);
}

#[actix_rt::test]
async fn an_assigned_ticket_alerts_its_agent_by_dm() {
    let env = Env::start("").await;
    due_ticket(&env, 45, Some(SATO));
    let msgs = advance(&env, Span::minutes(15) + Span::seconds(1)).await;
    let last = msgs.last().unwrap();
    assert_eq!(last.target, CliqTarget::Dm(vec![SATO_ZUID.into()]));
    assert!(
        last.message["text"]
            .as_str()
            .unwrap()
            .contains("Due in 30 min")
    );
    // The card carries the actions.
    assert_eq!(last.message["buttons"].as_array().unwrap().len(), 5);
}

#[actix_rt::test]
async fn due_soon_switched_off_means_no_alert() {
    let env = Env::start("[notify.ticket]\ndue_soon = false\n").await;
    due_ticket(&env, 45, None);
    assert!(alerts(&advance(&env, Span::minutes(40)).await).is_empty());
}

#[actix_rt::test]
async fn closing_cancels_on_hold_cancels_and_reopening_rearms() {
    let env = Env::start("").await;
    let id = due_ticket(&env, 120, None);
    env.settle().await;
    env.sim.update_ticket(
        &id,
        TicketPatch {
            status: Some("Closed".into()),
            ..Default::default()
        },
        Some(KIM),
    );
    assert!(alerts(&advance(&env, Span::minutes(61)).await).is_empty());
    // Reopened 59 min before due: re-armed, and the 60-min offset it missed alerts at once.
    env.sim.update_ticket(
        &id,
        TicketPatch {
            status: Some("Open".into()),
            ..Default::default()
        },
        Some(KIM),
    );
    assert_eq!(
        alerts(&advance(&env, Span::seconds(1)).await),
        ["*⏰ Due in 59 min*"]
    );
    env.sim.update_ticket(
        &id,
        TicketPatch {
            status: Some("On Hold".into()),
            ..Default::default()
        },
        Some(KIM),
    );
    assert_eq!(
        alerts(&advance(&env, Span::minutes(30)).await).len(),
        1,
        "an alert while on hold"
    );
    env.sim.update_ticket(
        &id,
        TicketPatch {
            status: Some("Open".into()),
            ..Default::default()
        },
        Some(KIM),
    );
    // Reopened 29 min before due: only the 30-min offset is left, and it comes now.
    let msgs = advance(&env, Span::seconds(1)).await;
    assert_eq!(alerts(&msgs), ["*⏰ Due in 59 min*", "*⏰ Due in 29 min*"]);
}

#[actix_rt::test]
async fn a_due_date_moved_later_after_an_alert_rearms_both() {
    let env = Env::start("").await;
    let id = due_ticket(&env, 90, None);
    env.settle().await;
    assert_eq!(alerts(&advance(&env, Span::minutes(31)).await).len(), 1);
    let new_due = env.clock.now() + Span::minutes(180);
    env.sim.update_ticket(
        &id,
        TicketPatch {
            due_date: Some(Some(new_due)),
            ..Default::default()
        },
        Some(KIM),
    );
    env.settle().await;
    assert_eq!(
        alerts(&advance(&env, Span::minutes(120) + Span::seconds(1)).await).len(),
        2
    );
    assert_eq!(alerts(&advance(&env, Span::minutes(30)).await).len(), 3);
}

#[actix_rt::test]
async fn first_seen_twenty_minutes_before_due_gives_one_immediate_alert() {
    let env = Env::start("").await;
    due_ticket(&env, 20, None);
    let msgs = advance(&env, Span::seconds(1)).await;
    assert_eq!(alerts(&msgs), ["*⏰ Due in 20 min*"]);
    assert_eq!(alerts(&advance(&env, Span::minutes(15)).await).len(), 1);
}

fn task(env: &Env, remind_in_min: i64) -> SimTask {
    let at = env.clock.now() + Span::minutes(remind_in_min);
    SimTask {
        id: String::new(),
        subject: "Call the customer".into(),
        department_id: SUPPORT.into(),
        ticket_id: None,
        owner_id: SATO.into(),
        creator_id: SATO.into(),
        status: "Not Started".into(),
        status_type: "Open".into(),
        due_date: Some((at + Span::minutes(30)).timestamp_millis()),
        completed_time: None,
        reminder: vec![
            serde_json::json!({"alertType": ["POPUP"], "reminderType": "ABSOLUTE", "reminderTime": at.timestamp_millis()}),
        ],
        created_time: 0,
        modified_time: 0,
        web_url: "https://desk.zoho.jp/x".into(),
        modified_by: serde_json::json!({"id": SATO}),
    }
}

#[actix_rt::test]
async fn an_activity_reminder_fires_at_its_time_to_its_owner() {
    let env = Env::start("").await;
    env.sim.create_task(task(&env, 10));
    assert!(advance(&env, Span::minutes(9)).await.is_empty());
    let msgs = advance(&env, Span::minutes(1) + Span::seconds(1)).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].target, CliqTarget::Dm(vec![SATO_ZUID.into()]));
    assert!(
        msgs[0].message["text"]
            .as_str()
            .unwrap()
            .contains("Reminder: task Call the customer")
    );
    // The card names the task's owner, though the task has no ticket.
    let card = msgs[0].message.to_string();
    assert!(
        card.contains("Hanako Sato") && !card.contains("Unassigned"),
        "{card}"
    );
}

#[actix_rt::test]
async fn completing_the_task_first_cancels_its_reminder() {
    let env = Env::start("").await;
    let t = env.sim.create_task(task(&env, 10));
    env.settle().await;
    env.sim.complete_task(&t.id, SATO);
    assert!(advance(&env, Span::minutes(11)).await.is_empty());
}

/// Collects what the watcher fires.
#[derive(Default)]
struct Collect(std::sync::Mutex<Vec<(String, i64)>>);

impl deskcliq::actors::deadline::AlertSink for Collect {
    fn deliver<'a>(
        &'a self,
        change: &'a deskcliq::notify::model::Change,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + 'a>> {
        Box::pin(async move {
            let at = match &change.kind {
                deskcliq::notify::model::ChangeKind::DueSoon { due, minutes_left } => {
                    due.timestamp_millis() - minutes_left * 60_000
                }
                _ => 0,
            };
            self.0.lock().unwrap().push((change.event.clone(), at));
            Ok(())
        })
    }
}

/// What the deadline watcher needs and nothing else: a fresh store, a manual clock at `t0`,
/// no Zoho (the directory holding the store is kept alive by the caller).
fn watcher_alone() -> (
    tempfile::TempDir,
    deskcliq::clock::Clock,
    deskcliq::actors::Shared,
) {
    let dir = tempfile::tempdir().unwrap();
    let clock = deskcliq::clock::Clock::manual(t0());
    let shared = deskcliq::actors::Shared {
        store: deskcliq::store::Store::open(&dir.path().join("state")).unwrap(),
        metrics: std::sync::Arc::new(deskcliq::metrics::Metrics::new().unwrap()),
        clock: clock.clone(),
        zoho: None,
    };
    (dir, clock, shared)
}

#[actix_rt::test]
async fn the_watcher_alone_fires_every_alert_of_100000_tickets_once_in_order() {
    use deskcliq::deadlines::Timers;
    use deskcliq::notify::model::TicketSnapshot;
    let (_dir, clock, shared) = watcher_alone();
    let tickets = shared
        .store
        .tree::<String, TicketSnapshot>(deskcliq::store::TreeName::Tickets);
    let timers = Timers::new(&shared.store);
    const N: i64 = 100_000;
    for i in 0..N {
        // Due dates spread over a day, in an order unrelated to the ids.
        let due = t0() + Span::minutes(61) + Span::seconds((i * 7919) % 86_400);
        let t = TicketSnapshot {
            id: format!("t{i}"),
            status_type: "Open".into(),
            due_date: Some(due),
            ..Default::default()
        };
        tickets.insert(&t.id, &t).unwrap();
        timers.track_ticket(&t, &[60, 30], t0()).unwrap();
    }
    assert_eq!(timers.count().unwrap(), 2 * N as usize);
    let sink = Collect::default();
    let end = t0() + Span::days(2);
    while clock.now() < end {
        clock.advance(Span::minutes(10));
        while deskcliq::actors::deadline::fire_due_into(&shared, &sink)
            .await
            .unwrap()
            > 0
        {}
    }
    let fired = sink.0.into_inner().unwrap();
    assert_eq!(fired.len(), 2 * N as usize);
    let unique: std::collections::HashSet<&String> = fired.iter().map(|(e, _)| e).collect();
    assert_eq!(unique.len(), fired.len(), "an alert fired twice");
    assert!(
        fired.windows(2).all(|w| w[0].1 <= w[1].1 + 600_000),
        "out of order"
    );
    assert_eq!(timers.count().unwrap(), 0);
}

#[actix_rt::test]
async fn an_alert_due_while_its_ticket_was_being_put_on_hold_comes_when_it_reopens() {
    use deskcliq::actors::deadline::fire_due_into;
    use deskcliq::deadlines::Timers;
    use deskcliq::notify::model::TicketSnapshot;
    let (_dir, clock, shared) = watcher_alone();
    let tickets = shared
        .store
        .tree::<String, TicketSnapshot>(deskcliq::store::TreeName::Tickets);
    let timers = Timers::new(&shared.store);
    let due = t0() + Span::minutes(90);
    let open = TicketSnapshot {
        id: "t1".into(),
        status_type: "Open".into(),
        due_date: Some(due),
        ..Default::default()
    };
    tickets.insert(&open.id, &open).unwrap();
    timers.track_ticket(&open, &[60, 30], t0()).unwrap();
    // Put on hold as its 60-minute alert falls due: the router has stored the snapshot, the
    // watcher has not yet heard of it, and fires the alert's timer: stale, nothing sent.
    let held = TicketSnapshot {
        status_type: "On Hold".into(),
        ..open.clone()
    };
    tickets.insert(&held.id, &held).unwrap();
    clock.advance(Span::minutes(30) + Span::seconds(1));
    let sink = Collect::default();
    assert_eq!(fire_due_into(&shared, &sink).await.unwrap(), 1);
    assert!(sink.0.lock().unwrap().is_empty());
    timers.track_ticket(&held, &[60, 30], clock.now()).unwrap();
    // Reopened with the same due date: the 60-minute alert was never sent, so it comes now.
    clock.advance(Span::minutes(5));
    tickets.insert(&open.id, &open).unwrap();
    timers.track_ticket(&open, &[60, 30], clock.now()).unwrap();
    fire_due_into(&shared, &sink).await.unwrap();
    let sent: Vec<String> = sink
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(e, _)| e.clone())
        .collect();
    assert_eq!(sent, [format!("sla:t1:{}:60", due.timestamp_millis())]);
}

#[actix_rt::test]
async fn an_unreadable_timer_or_ticket_record_does_not_stop_the_alerts_behind_it() {
    use deskcliq::actors::deadline::fire_due_into;
    use deskcliq::deadlines::Timers;
    use deskcliq::notify::model::TicketSnapshot;
    use deskcliq::store::TreeName;
    let (_dir, clock, shared) = watcher_alone();
    let tickets = shared
        .store
        .tree::<String, TicketSnapshot>(TreeName::Tickets);
    let timers = Timers::new(&shared.store);
    let due = t0() + Span::minutes(90);
    for id in ["garbled", "good"] {
        let t = TicketSnapshot {
            id: id.into(),
            status_type: "Open".into(),
            due_date: Some(due),
            ..Default::default()
        };
        tickets.insert(&t.id, &t).unwrap();
        timers.track_ticket(&t, &[60], t0()).unwrap();
    }
    // The earliest timer of all cannot be read, nor can the snapshot of the next one's ticket.
    shared
        .store
        .tree::<String, String>(TreeName::Deadlines)
        .insert(&"0000000000000000|lost|sla".to_string(), &"?".to_string())
        .unwrap();
    shared
        .store
        .tree::<String, String>(TreeName::Tickets)
        .insert(&"garbled".to_string(), &"?".to_string())
        .unwrap();
    clock.advance(Span::minutes(30) + Span::seconds(1));
    let sink = Collect::default();
    fire_due_into(&shared, &sink).await.unwrap();
    let sent: Vec<String> = sink
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(e, _)| e.clone())
        .collect();
    assert_eq!(sent, [format!("sla:good:{}:60", due.timestamp_millis())]);
    assert_eq!(shared.store.corrupt_records(), 2);
    assert!(timers.next().unwrap().is_none());
}

#[actix_rt::test]
async fn an_unreadable_timer_an_alert_stands_for_does_not_stop_the_alerts_behind_it() {
    use deskcliq::actors::deadline::fire_due_into;
    use deskcliq::deadlines::{Timer, TimerKind, Timers};
    use deskcliq::notify::model::TicketSnapshot;
    use deskcliq::store::TreeName;
    let (_dir, clock, shared) = watcher_alone();
    let tickets = shared
        .store
        .tree::<String, TicketSnapshot>(TreeName::Tickets);
    let timers = Timers::new(&shared.store);
    let due_a = t0() + Span::minutes(90);
    let due_b = t0() + Span::minutes(95);
    for (id, due, offsets) in [("a", due_a, vec![60, 30]), ("b", due_b, vec![30])] {
        let t = TicketSnapshot {
            id: id.into(),
            status_type: "Open".into(),
            due_date: Some(due),
            ..Default::default()
        };
        tickets.insert(&t.id, &t).unwrap();
        timers.track_ticket(&t, &offsets, t0()).unwrap();
    }
    // Ticket a's 30-minute timer cannot be read.
    let key = Timer {
        id: "a".into(),
        fire_at: due_a - Span::minutes(30),
        kind: TimerKind::Sla {
            due: due_a,
            offsets: vec![30],
        },
    }
    .key();
    shared
        .store
        .tree::<String, String>(TreeName::Deadlines)
        .insert(&key, &"?".to_string())
        .unwrap();
    // After downtime, both of a's offsets and b's are due: a's 60-minute alert stands for its
    // 30-minute one, and b's still comes.
    clock.advance(Span::minutes(66));
    let sink = Collect::default();
    fire_due_into(&shared, &sink).await.unwrap();
    fire_due_into(&shared, &sink).await.unwrap();
    let sent: Vec<String> = sink
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(e, _)| e.clone())
        .collect();
    assert_eq!(
        sent,
        [
            format!("sla:a:{}:60", due_a.timestamp_millis()),
            format!("sla:b:{}:30", due_b.timestamp_millis())
        ]
    );
    assert_eq!(shared.store.corrupt_records(), 2);
    assert!(timers.next().unwrap().is_none());
}

#[actix_rt::test]
async fn after_downtime_an_alert_for_a_ticket_already_past_due_is_dropped_and_counted() {
    let mut env = Env::start("").await;
    due_ticket(&env, 90, None);
    env.settle().await;
    // Down from now until past the due time.
    env.down_for(Span::minutes(100)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let msgs = env.settle().await;
    assert!(alerts(&msgs).is_empty(), "{msgs:?}");
    let metrics = env.app().metrics.render();
    assert!(
        metrics.contains("deskcliq_deadlines_dropped_total 2"),
        "{metrics}"
    );
}

#[actix_rt::test]
async fn offsets_that_fell_due_during_downtime_give_one_alert() {
    let mut env = Env::start("").await;
    due_ticket(&env, 90, None);
    env.settle().await;
    // Down through both the 60- and the 30-minute alerts; back 15 minutes before due.
    env.down_for(Span::minutes(75)).await;
    let msgs = advance(&env, Span::seconds(1)).await;
    assert_eq!(alerts(&msgs), ["*⏰ Due in 15 min*"]);
    assert!(alerts(&advance(&env, Span::minutes(10)).await).len() == 1);
}

#[actix_rt::test]
async fn a_late_ticket_add_after_an_update_neither_rolls_the_ticket_back_nor_rearms_its_alerts() {
    use deskcliq::notify::event::{InboxEvent, parse_body};
    use deskcliq::notify::model::TicketSnapshot;
    use deskcliq::store::TreeName;
    let env = Env::start("").await;
    let iso = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let now = env.clock.now();
    let event = |kind: &str, payload: serde_json::Value| {
        let body = serde_json::json!([{
            "eventType": kind,
            "orgId": deskcliq::sim::DESK_ORG_ID,
            "eventTime": now.timestamp_millis().to_string(),
            "payload": payload,
        }]);
        parse_body(body.to_string().as_bytes()).unwrap().remove(0)
    };
    let id = "1892000000888001";
    // Desk's Ticket_Add is delivered after the update that assigned the ticket and removed
    // its due date.
    let update = event(
        "Ticket_Update",
        serde_json::json!({
            "id": id, "ticketNumber": "888", "subject": "late add", "departmentId": SUPPORT,
            "status": "Open", "statusType": "Open", "assigneeId": SATO, "dueDate": null,
            "modifiedTime": iso(now - Span::minutes(1)),
        }),
    );
    let add = event(
        "Ticket_Add",
        serde_json::json!({
            "id": id, "ticketNumber": "888", "subject": "late add", "departmentId": SUPPORT,
            "status": "Open", "statusType": "Open", "assigneeId": null,
            "dueDate": iso(now + Span::minutes(120)),
            "modifiedTime": iso(now - Span::minutes(5)),
            "createdTime": iso(now - Span::minutes(5)),
        }),
    );
    let store = env.app().store.clone();
    let inbox = store.tree::<u64, InboxEvent>(TreeName::Inbox);
    for e in [&update, &add] {
        inbox.insert(&store.next_id().unwrap(), e).unwrap();
    }
    env.app().router.wake.notify_one();
    let msgs = env.settle().await;
    assert!(
        msgs.iter()
            .any(|m| m.message.to_string().contains("late add")),
        "the creation is still announced: {msgs:?}"
    );
    let t = store
        .tree::<String, TicketSnapshot>(TreeName::Tickets)
        .get(&id.to_string())
        .unwrap()
        .unwrap();
    assert_eq!(
        (t.assignee_id.as_deref(), t.due_date),
        (Some(SATO), None),
        "the newer snapshot stays"
    );
    assert!(alerts(&advance(&env, Span::minutes(100)).await).is_empty());
}

#[actix_rt::test]
async fn a_call_logged_with_a_null_due_date_is_reminded_to_its_owner_at_its_start_time() {
    use deskcliq::notify::event::{InboxEvent, parse_body};
    use deskcliq::store::TreeName;
    let env = Env::start("").await;
    let start = env.clock.now() + Span::minutes(30);
    // Zoho's own Call example: `dueDate` null, the time in `startTime`, people as objects.
    let body = serde_json::json!([{
        "eventType": "Call_Add",
        "orgId": deskcliq::sim::DESK_ORG_ID,
        "eventTime": env.clock.now().timestamp_millis().to_string(),
        "payload": {
            "id": "1892000000999001", "subject": "Ring the customer", "departmentId": SUPPORT,
            "owner": {"id": SATO}, "creator": {"id": KIM}, "status": "Scheduled",
            "dueDate": null, "startTime": start.timestamp_millis(),
            "reminder": [{"reminderType": "RELATIVE", "relativeReminderInMin": 15, "alertType": ["POPUP"]}],
        }
    }]);
    let event = parse_body(body.to_string().as_bytes()).unwrap().remove(0);
    let store = env.app().store.clone();
    store
        .tree::<u64, InboxEvent>(TreeName::Inbox)
        .insert(&store.next_id().unwrap(), &event)
        .unwrap();
    env.app().router.wake.notify_one();
    let before = env.settle().await.len();
    let msgs = advance(&env, Span::minutes(15) + Span::seconds(1)).await;
    let reminder = &msgs[before..];
    assert_eq!(reminder.len(), 1, "{msgs:?}");
    assert_eq!(reminder[0].target, CliqTarget::Dm(vec![SATO_ZUID.into()]));
    let card = reminder[0].message.to_string();
    assert!(card.contains("Ring the customer"), "{card}");
    assert!(card.contains("\"Due\""), "the call's time is shown: {card}");
}

#[actix_rt::test]
async fn offsets_changed_while_deskcliq_was_stopped_are_applied_to_stored_tickets() {
    let mut env = Env::start("").await;
    due_ticket(&env, 180, None);
    env.settle().await;
    env.config_text
        .push_str("\n[sla]\nalert_before_minutes = [120]\n");
    env.restart().await;
    // 120 minutes before it is due is 60 minutes from now: the new offset alerts then, and the
    // old 60 and 30 never do (the records are every message so far).
    let at_120 = alerts(&advance(&env, Span::minutes(61)).await);
    assert_eq!(at_120.len(), 1, "{at_120:?}");
    assert!(at_120[0].contains("Due in 119 min"), "{at_120:?}");
    let all = alerts(&advance(&env, Span::minutes(120)).await);
    assert_eq!(all, at_120, "the old offsets fired too");
}

#[actix_rt::test]
async fn changed_offsets_reach_every_ticket_past_an_unreadable_ticket_record() {
    use deskcliq::store::TreeName;
    let mut env = Env::start("").await;
    due_ticket(&env, 180, None);
    env.settle().await;
    // A snapshot that cannot be read, first in key order.
    env.app()
        .store
        .tree::<String, String>(TreeName::Tickets)
        .insert(&"0".to_string(), &"?".to_string())
        .unwrap();
    env.config_text
        .push_str("\n[sla]\nalert_before_minutes = [120]\n");
    env.restart().await;
    let at_120 = alerts(&advance(&env, Span::minutes(61)).await);
    assert_eq!(at_120.len(), 1, "{at_120:?}");
    assert!(at_120[0].contains("Due in 119 min"), "{at_120:?}");
    assert_eq!(alerts(&advance(&env, Span::minutes(120)).await), at_120);
    assert!(env.app().store.corrupt_records() >= 1);
}

#[actix_rt::test]
async fn an_offset_added_after_a_nearer_alert_went_does_not_alert_again() {
    let mut env = Env::start("").await;
    due_ticket(&env, 90, None);
    let sent = alerts(&advance(&env, Span::minutes(30) + Span::seconds(1)).await);
    assert_eq!(sent, ["*⏰ Due in 60 min*"]);
    // 120 minutes before due is long past, and the 60-minute alert went already: adding the
    // offset sends nothing now; the 30-minute alert still comes at its time.
    env.config_text
        .push_str("\n[sla]\nalert_before_minutes = [120, 60, 30]\n");
    env.restart().await;
    assert_eq!(alerts(&advance(&env, Span::seconds(1)).await), sent);
    assert_eq!(
        alerts(&advance(&env, Span::minutes(30)).await),
        ["*⏰ Due in 60 min*", "*⏰ Due in 30 min*"]
    );
}

/// An activity event as Desk delivers it, changed at `modified` (ms).
fn activity_event(
    kind: &str,
    modified: i64,
    payload: serde_json::Value,
) -> deskcliq::notify::event::InboxEvent {
    let body = serde_json::json!([{
        "eventType": kind, "orgId": deskcliq::sim::DESK_ORG_ID,
        "eventTime": modified.to_string(), "payload": payload,
    }]);
    deskcliq::notify::event::parse_body(body.to_string().as_bytes())
        .unwrap()
        .remove(0)
}

/// Takes `events` in through the inbox, in this order, and waits until they are handled.
/// Takes `events` in, moves the clock past the reminders' time, and returns the texts of the
/// messages sent meanwhile.
async fn texts_after(env: &Env, events: Vec<deskcliq::notify::event::InboxEvent>) -> Vec<String> {
    let before = take_in(env, events).await;
    let msgs = advance(env, Span::minutes(11)).await;
    msgs[before..]
        .iter()
        .filter_map(|m| m.message["text"].as_str().map(str::to_string))
        .collect()
}

async fn take_in(env: &Env, events: Vec<deskcliq::notify::event::InboxEvent>) -> usize {
    use deskcliq::notify::event::InboxEvent;
    use deskcliq::store::TreeName;
    let store = env.app().store.clone();
    let inbox = store.tree::<u64, InboxEvent>(TreeName::Inbox);
    for e in &events {
        inbox.insert(&store.next_id().unwrap(), e).unwrap();
    }
    env.app().router.wake.notify_one();
    env.settle().await.len()
}

/// A task with a reminder at `at`, open or completed, changed at `modified` (ms).
fn task_payload(at: chrono::DateTime<chrono::Utc>, done: bool, modified: i64) -> serde_json::Value {
    serde_json::json!({
        "id": "1892000000777001", "subject": "Late retry", "departmentId": SUPPORT,
        "ownerId": SATO, "creatorId": KIM,
        "statusType": if done { "Closed" } else { "Open" },
        "completedTime": if done { Some(modified) } else { None },
        "dueDate": (at + Span::minutes(30)).timestamp_millis(),
        "modifiedTime": modified,
        "reminder": [{"alertType": ["POPUP"], "reminderTime": at.timestamp_millis()}],
    })
}

#[actix_rt::test]
async fn a_late_older_update_of_a_completed_task_does_not_bring_its_reminder_back() {
    let env = Env::start("").await;
    let now = env.clock.now();
    let at = now + Span::minutes(10);
    let ms = |min: i64| (now - Span::minutes(min)).timestamp_millis();
    // Added; completed (the newest change); then a retry of an older edit arrives late.
    let later = texts_after(
        &env,
        vec![
            activity_event("Task_Add", ms(3), task_payload(at, false, ms(3))),
            activity_event("Task_Update", ms(1), task_payload(at, true, ms(1))),
            activity_event("Task_Update", ms(2), task_payload(at, false, ms(2))),
        ],
    )
    .await;
    assert!(later.is_empty(), "reminder for a completed task: {later:?}");
}

#[actix_rt::test]
async fn a_late_older_update_of_a_deleted_task_does_not_bring_its_reminder_back() {
    let env = Env::start("").await;
    let now = env.clock.now();
    let at = now + Span::minutes(10);
    let ms = |min: i64| (now - Span::minutes(min)).timestamp_millis();
    let later = texts_after(
        &env,
        vec![
            activity_event("Task_Add", ms(3), task_payload(at, false, ms(3))),
            activity_event(
                "Task_Delete",
                ms(1),
                serde_json::json!({"id": "1892000000777001"}),
            ),
            activity_event("Task_Update", ms(2), task_payload(at, false, ms(2))),
        ],
    )
    .await;
    assert!(later.is_empty(), "reminder for a deleted task: {later:?}");
}

#[actix_rt::test]
async fn a_newer_update_reopening_a_completed_task_arms_its_reminder_again() {
    let env = Env::start("").await;
    let now = env.clock.now();
    let at = now + Span::minutes(10);
    let ms = |min: i64| (now - Span::minutes(min)).timestamp_millis();
    let later = texts_after(
        &env,
        vec![
            activity_event("Task_Add", ms(3), task_payload(at, false, ms(3))),
            activity_event("Task_Update", ms(2), task_payload(at, true, ms(2))),
            activity_event("Task_Update", ms(1), task_payload(at, false, ms(1))),
        ],
    )
    .await;
    let reminders: Vec<_> = later
        .iter()
        .filter(|t| t.contains("Reminder: task Late retry"))
        .collect();
    assert_eq!(reminders.len(), 1, "{later:?}");
}

#[actix_rt::test]
async fn a_task_change_taken_in_after_its_reminder_time_still_reminds_within_the_hour() {
    let env = Env::start("").await;
    let made = env.clock.now();
    let ms = made.timestamp_millis();
    // Desk added the task with a reminder 10 minutes ahead; the event reaches deskcliq 30
    // minutes later (it was down, or Desk retried): 20 minutes late, the reminder still goes.
    let late = made + Span::minutes(10);
    env.clock.advance(Span::minutes(30));
    take_in(
        &env,
        vec![activity_event(
            "Task_Add",
            ms,
            task_payload(late, false, ms),
        )],
    )
    .await;
    let texts: Vec<String> = advance(&env, Span::seconds(1))
        .await
        .iter()
        .filter_map(|m| m.message["text"].as_str().map(str::to_string))
        .filter(|t| t.contains("Reminder: task Late retry"))
        .collect();
    assert_eq!(texts.len(), 1, "{texts:?}");
    // Over an hour late, it is dropped and counted.
    let made = env.clock.now();
    let mut old = task_payload(made + Span::minutes(5), false, made.timestamp_millis());
    old["id"] = "1892000000777002".into();
    env.clock.advance(Span::minutes(70));
    take_in(
        &env,
        vec![activity_event("Task_Add", made.timestamp_millis(), old)],
    )
    .await;
    advance(&env, Span::seconds(1)).await;
    env.wait_metric("deskcliq_deadlines_dropped_total 1").await;
}

#[actix_rt::test]
async fn with_reminders_switched_off_no_reminder_is_sent() {
    let env = Env::start("[notify.activity]\nreminder = false\n").await;
    env.sim.create_task(task(&env, 10));
    assert!(advance(&env, Span::minutes(11)).await.is_empty());
}

#[actix_rt::test]
async fn switching_reminders_back_on_reminds_of_activities_taken_in_while_they_were_off() {
    use deskcliq::config::{Config, LoadEnv};
    let off = "[notify.activity]\nreminder = false\n";
    let mut env = Env::start(off).await;
    env.sim.create_task(task(&env, 10));
    env.settle().await;
    // SIGHUP with the switch back on (the reload applies the parsed file).
    let text = env
        .config_text
        .replace(off, "[notify.activity]\nreminder = true\n");
    assert_ne!(text, env.config_text);
    let path = env.dir.path().join("config.toml");
    let config = Config::parse(&text, &path, &LoadEnv::default()).unwrap();
    env.app.as_mut().unwrap().apply(config);
    let msgs = advance(&env, Span::minutes(10) + Span::seconds(1)).await;
    let texts: Vec<_> = msgs
        .iter()
        .filter_map(|m| m.message["text"].as_str())
        .collect();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(
        texts[0].contains("Reminder: task Call the customer"),
        "{texts:?}"
    );
    assert_eq!(msgs[0].target, CliqTarget::Dm(vec![SATO_ZUID.into()]));
}
