//! The store: one owner per directory, clear errors, typed trees that survive a reopen.

use deskcliq::store::{SCHEMA_VERSION, Store, StoreError, TreeName};

#[test]
fn a_locked_directory_is_refused_with_another_deskcliq_holds() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Store::open(dir.path()).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "another deskcliq holds {} (pid {})",
            dir.path().display(),
            std::process::id()
        )),
        "{msg}"
    );
}

#[test]
fn the_lock_is_released_when_the_store_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    Store::open(dir.path()).unwrap();
}

#[test]
fn an_uncreatable_state_directory_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let path = file.join("state");
    let err = Store::open(&path).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "cannot create the state directory {}",
            path.display()
        )),
        "{msg}"
    );
}

#[test]
fn a_new_store_records_the_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
}

#[test]
fn a_store_from_a_newer_deskcliq_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store
            .tree::<String, u32>(TreeName::Meta)
            .insert(&"schema_version".to_string(), &(SCHEMA_VERSION + 1))
            .unwrap();
        store.flush_blocking().unwrap();
    }
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::SchemaTooNew { .. }), "{err:?}");
    assert!(err.to_string().contains("newer than this deskcliq"));
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Queued {
    channel: String,
    text: String,
}

#[test]
fn typed_records_survive_a_reopen_in_key_order() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        let outbox = store.tree::<u64, Queued>(TreeName::Outbox);
        for (id, text) in [(2u64, "second"), (1, "first"), (300, "third")] {
            outbox
                .insert(
                    &id,
                    &Queued {
                        channel: "desk".into(),
                        text: text.into(),
                    },
                )
                .unwrap();
        }
        store.flush_blocking().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let outbox = store.tree::<u64, Queued>(TreeName::Outbox);
    let texts: Vec<String> = outbox
        .all()
        .unwrap()
        .into_iter()
        .map(|(_, q)| q.text)
        .collect();
    assert_eq!(texts, ["first", "second", "third"]);
    assert_eq!(outbox.remove(&1).unwrap().unwrap().text, "first");
    assert!(outbox.get(&1).unwrap().is_none());
    // Trees are separate namespaces.
    assert!(
        store
            .tree::<u64, Queued>(TreeName::Inbox)
            .is_empty()
            .unwrap()
    );
}

#[test]
fn a_record_of_the_wrong_shape_is_a_corrupt_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .tree::<String, String>(TreeName::Tickets)
        .insert(&"t".to_string(), &"not a Queued".to_string())
        .unwrap();
    let err = store
        .tree::<String, Queued>(TreeName::Tickets)
        .get(&"t".to_string())
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Corrupt {
                tree: "tickets",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn ids_increase_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let store = Store::open(dir.path()).unwrap();
        let id = store.next_id().unwrap();
        store.flush_blocking().unwrap();
        id
    };
    let store = Store::open(dir.path()).unwrap();
    assert!(store.next_id().unwrap() > first);
}

#[actix_rt::test]
async fn concurrent_commits_share_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..64u64 {
        let store = store.clone();
        set.spawn(async move {
            store
                .tree::<u64, u64>(TreeName::Inbox)
                .insert(&i, &i)
                .unwrap();
            store.commit().await.unwrap();
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    assert_eq!(store.tree::<u64, u64>(TreeName::Inbox).len().unwrap(), 64);
    assert!(
        store.commit_flushes() < 64,
        "{} flushes for 64 commits",
        store.commit_flushes()
    );
}

#[actix_rt::test]
async fn a_commit_fails_while_the_disk_is_full_and_succeeds_once_it_clears() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.commit().await.unwrap();
    store.inject_fault(true);
    let err = store.commit().await.unwrap_err();
    assert!(matches!(err, StoreError::Injected), "{err:?}");
    store.inject_fault(false);
    store.commit().await.unwrap();
}

#[actix_rt::test]
async fn a_commit_a_flush_made_durable_is_not_failed_by_a_later_flush_that_fails() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // Numbered now, looked at only once a later flush has failed.
    let first = store.commit();
    // Numbered after it: once this one is durable, so is the first.
    store.commit().await.unwrap();
    store.inject_fault(true);
    let err = store.commit().await.unwrap_err();
    assert!(matches!(err, StoreError::Injected), "{err:?}");
    // The last flush failed, but the first commit's flush had not.
    first.await.unwrap();
}

#[actix_rt::test]
async fn a_store_that_committed_can_be_opened_again_as_soon_as_it_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .tree::<u64, u64>(TreeName::Inbox)
        .insert(&1, &7)
        .unwrap();
    store.commit().await.unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.tree::<u64, u64>(TreeName::Inbox).get(&1).unwrap(),
        Some(7)
    );
}

#[test]
fn pruning_forgets_old_log_entries_closed_tickets_and_spent_alert_records() {
    use chrono::{Duration, TimeZone, Utc};
    use deskcliq::deadlines::Armed;
    use deskcliq::notify::model::TicketSnapshot;
    use deskcliq::stats::{LogEntry, record};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap();
    let entry = |days: i64, id: &str| LogEntry {
        closed: false,
        ticket_id: id.into(),
        department_id: None,
        assignee_id: None,
        at: now - Duration::days(days),
    };
    record(&store, &entry(10, "old")).unwrap();
    record(&store, &entry(1, "new")).unwrap();
    let tickets = store.tree::<String, TicketSnapshot>(TreeName::Tickets);
    let snap = |id: &str, closed: bool, days: i64| TicketSnapshot {
        id: id.into(),
        status_type: if closed { "Closed" } else { "Open" }.into(),
        modified_time: Some(now - Duration::days(days)),
        ..Default::default()
    };
    for t in [
        snap("closed-long-ago", true, 40),
        snap("closed-lately", true, 2),
        snap("open-long-ago", false, 40),
    ] {
        tickets.insert(&t.id, &t).unwrap();
    }
    let armed = store.tree::<String, Armed>(TreeName::Armed);
    armed
        .insert(
            &"spent".to_string(),
            &Armed {
                due: Some(now - Duration::days(3)),
                alerted: vec![60, 30],
                ..Default::default()
            },
        )
        .unwrap();
    armed
        .insert(
            &"pending".to_string(),
            &Armed {
                due: Some(now + Duration::days(1)),
                keys: vec!["k".into()],
                ..Default::default()
            },
        )
        .unwrap();

    let activities =
        store.tree::<String, deskcliq::notify::classify::ActivitySnapshot>(TreeName::Activities);
    let act = |closed: bool, days: i64| deskcliq::notify::classify::ActivitySnapshot {
        closed,
        modified: Some(now - Duration::days(days)),
        deleted: false,
    };
    activities
        .insert(&"done-long-ago".to_string(), &act(true, 40))
        .unwrap();
    activities
        .insert(&"open".to_string(), &act(false, 40))
        .unwrap();

    deskcliq::actors::outbox::prune(&store, now).unwrap();

    let act_ids: Vec<String> = activities
        .all()
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(act_ids, ["open"]);

    let log: Vec<String> = store
        .tree::<String, LogEntry>(TreeName::Log)
        .all()
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.ticket_id)
        .collect();
    assert_eq!(log, ["new"]);
    let ids: Vec<String> = tickets.all().unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(ids, ["closed-lately", "open-long-ago"]);
    let armed_ids: Vec<String> = armed.all().unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(armed_ids, ["pending"]);
}

#[test]
fn pruning_forgets_dead_letters_a_month_after_they_were_queued() {
    use chrono::{Duration, TimeZone, Utc};
    use deskcliq::actors::outbox::Queued;
    use deskcliq::notify::model::Target;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap();
    let dead = store.tree::<String, (Queued, String)>(TreeName::Dead);
    for (key, days) in [("refused-long-ago", 31), ("refused-lately", 29)] {
        let q = Queued {
            key: key.into(),
            target: Target::Channel("gone".into()),
            message: serde_json::json!({ "text": key }),
            line: key.into(),
            enqueued_at: now - Duration::days(days),
            attempts: 0,
            not_before: None,
            whole: false,
        };
        dead.insert(&q.key, &(q.clone(), "HTTP 400 no_such_channel".into()))
            .unwrap();
    }
    deskcliq::actors::outbox::prune(&store, now).unwrap();
    let kept: Vec<String> = dead.all().unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(kept, ["refused-lately"]);
}

#[test]
fn pruning_forgets_the_reminder_records_of_activities_it_forgot() {
    use chrono::{Duration, TimeZone, Utc};
    use deskcliq::deadlines::Armed;
    use deskcliq::notify::classify::ActivitySnapshot;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap();
    let activities = store.tree::<String, ActivitySnapshot>(TreeName::Activities);
    let armed = store.tree::<String, Armed>(TreeName::Armed);
    for (id, closed, days) in [("done-long-ago", true, 40), ("still-open", false, 40)] {
        activities
            .insert(
                &id.to_string(),
                &ActivitySnapshot {
                    closed,
                    modified: Some(now - Duration::days(days)),
                    deleted: false,
                },
            )
            .unwrap();
        // Its reminder went out: the record remembers it, with nothing armed.
        armed
            .insert(
                &id.to_string(),
                &Armed {
                    reminded: vec![(now - Duration::days(days)).timestamp_millis()],
                    ..Default::default()
                },
            )
            .unwrap();
    }
    deskcliq::actors::outbox::prune(&store, now).unwrap();
    let kept: Vec<String> = armed.all().unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(kept, ["still-open"]);
}

#[test]
fn pruning_goes_on_past_a_record_it_cannot_read() {
    use chrono::{Duration, TimeZone, Utc};
    use deskcliq::actors::outbox::Mark;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap();
    let long_ago = now - Duration::days(8);
    let marks = store.tree::<String, Mark>(TreeName::Delivered);
    marks
        .insert(&"b-sent-long-ago".to_string(), &Mark::Sent(long_ago))
        .unwrap();
    let seen = store.tree::<String, i64>(TreeName::Events);
    seen.insert(&"b-seen-long-ago".to_string(), &long_ago.timestamp_millis())
        .unwrap();
    // Ahead of them in each tree, a record that cannot be read.
    for tree in [TreeName::Delivered, TreeName::Events] {
        store
            .tree::<String, String>(tree)
            .insert(&"a-garbled".to_string(), &"?".to_string())
            .unwrap();
    }
    deskcliq::actors::outbox::prune(&store, now).unwrap();
    assert!(marks.is_empty().unwrap());
    assert!(seen.is_empty().unwrap());
    assert_eq!(store.corrupt_records(), 2);
}

#[test]
fn pruning_quick_action_records_goes_on_past_one_it_cannot_read() {
    use chrono::{Duration, TimeZone, Utc};
    use deskcliq::commands::actions::FormContext;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap();
    let forms = store.tree::<String, FormContext>(TreeName::Forms);
    forms
        .insert(
            &"sato|status:1".to_string(),
            &FormContext {
                ticket_id: "1".into(),
                ticket_number: "101".into(),
                subject: "opened long ago".into(),
                department_id: "d".into(),
                chat_id: None,
                message_id: None,
                to: None,
                from: None,
                channel: None,
                choices: Vec::new(),
                created: now - Duration::days(2),
            },
        )
        .unwrap();
    store
        .tree::<String, String>(TreeName::Forms)
        .insert(&"a-garbled".to_string(), &"?".to_string())
        .unwrap();
    deskcliq::commands::actions::prune(&store, now).unwrap();
    assert!(forms.is_empty().unwrap());
    assert_eq!(store.corrupt_records(), 1);
}

#[actix_rt::test]
async fn a_record_too_large_for_the_log_is_synced_to_disk_before_its_commit_is_ok() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let tree = store.tree::<u64, String>(TreeName::Inbox);
    // Small records live in sled's log, which its own flush syncs: no blob file to sync.
    tree.insert(&1, &"small".to_string()).unwrap();
    store.commit().await.unwrap();
    assert_eq!(store.blobs_synced(), 0);
    // Over 128 KiB, sled writes the record to a file of its own and never syncs it.
    let large = "x".repeat(300 << 10);
    tree.insert(&2, &large).unwrap();
    store.commit().await.unwrap();
    assert!(store.blobs_synced() >= 1, "the blob file was not synced");
    // Each file is synced once, not at every flush.
    let synced = store.blobs_synced();
    tree.insert(&3, &"small".to_string()).unwrap();
    store.commit().await.unwrap();
    assert_eq!(store.blobs_synced(), synced);
    drop((tree, store));
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.tree::<u64, String>(TreeName::Inbox).get(&2).unwrap(),
        Some(large)
    );
}
