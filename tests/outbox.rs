//! The outbox under Cliq's limits: the budget holds in every 60-second window, across a
//! restart, with nothing dropped; a throttle answer silences it for 10 minutes.

mod common;

use std::time::Duration;

use chrono::Duration as Span;
use common::app::*;
use deskcliq::sim::{Fault, FaultKind, NewTicket};
use deskcliq::store::TreeName;

fn ten_departments() -> String {
    (0..10)
        .map(|i| format!("[[departments]]\nid = \"90000000000000{i:02}\"\nname = \"D{i}\"\nchannel = \"c{i}\"\n"))
        .collect()
}

async fn outbox_empty(env: &Env) -> bool {
    env.app()
        .store
        .tree::<u64, serde_json::Value>(TreeName::Outbox)
        .is_empty()
        .unwrap()
}

/// Moves the clock 31 s at a time (half the budget's window and a second) until the outbox
/// is empty.
async fn drain_every_half_minute(env: &Env) {
    let mut rounds = 0;
    while !outbox_empty(env).await {
        env.clock.advance(Span::seconds(31));
        tokio::time::sleep(Duration::from_millis(150)).await;
        rounds += 1;
        assert!(rounds < 200, "outbox never emptied");
    }
}

#[actix_rt::test]
async fn a_burst_stays_within_the_budget_in_every_window_and_nothing_is_dropped() {
    let mut env =
        Env::start_with(&ten_departments(), "[limits]\ncliq_posts_per_minute = 45\n").await;
    env.sim
        .with(|st| (0..10).for_each(|i| st.add_channel(&format!("c{i}"), true)));
    let mut numbers = Vec::new();
    for n in 0..500 {
        let t = env.sim.create_ticket(NewTicket {
            subject: format!("burst {n}"),
            department_id: format!("90000000000000{:02}", n % 10),
            contact_email: "c@example.com".into(),
            ..Default::default()
        });
        numbers.push(t.ticket_number);
    }
    env.drained().await;
    // Let the outbox spend its first minute's budget, then restart in the middle of the burst.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while env.sim.cliq_messages().len() < 10 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing posted before the restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    env.restart().await;
    let mut rounds = 0;
    while !outbox_empty(&env).await {
        env.clock.advance(Span::seconds(5));
        tokio::time::sleep(Duration::from_millis(250)).await;
        rounds += 1;
        assert!(rounds < 400, "outbox never emptied");
    }
    let msgs = env.settle().await;
    // No 60-second window holds more than the budget.
    let times: Vec<_> = msgs.iter().map(|m| m.at).collect();
    for (i, start) in times.iter().enumerate() {
        let in_window = times[i..]
            .iter()
            .take_while(|t| **t < *start + Span::seconds(60))
            .count();
        assert!(
            in_window <= 45,
            "{in_window} posts in the minute from {start}"
        );
    }
    // Coalesced into far fewer messages than events…
    assert!(msgs.len() < 500, "{} messages", msgs.len());
    // …and every event is in one of them.
    let all: String = msgs.iter().map(|m| m.message.to_string()).collect();
    for n in &numbers {
        assert!(all.contains(&format!("#{n} ")), "ticket #{n} was dropped");
    }
    let metrics = env.app().metrics.render();
    let coalesced = metrics
        .lines()
        .find_map(|l| l.strip_prefix("deskcliq_deliveries_total{outcome=\"coalesced\"} "))
        .and_then(|v| v.parse::<f64>().ok());
    assert!(coalesced.is_some_and(|n| n > 0.0), "{metrics}");
}

#[actix_rt::test]
async fn a_daily_summary_or_a_posted_answer_queued_during_a_flood_is_sent_whole_not_merged() {
    let env = Env::start("[limits]\ncliq_posts_per_minute = 2\n").await;
    let create = |n: u32| {
        env.sim.create_ticket(NewTicket {
            subject: format!("flood {n}"),
            department_id: SUPPORT.into(),
            contact_email: "c@example.com".into(),
            ..Default::default()
        })
    };
    (0..20).for_each(|n| {
        create(n);
    });
    env.drained().await;
    // A card that must reach Cliq as it is (a daily summary's figures), behind the flood and
    // before more of it.
    let whole = deskcliq::notify::card::Card {
        message: deskcliq::cliq::Message::new("Daily summary: 7 created, 3 closed"),
        line: "support 2026-11-25T09:00:00+09:00".into(),
        whole: true,
    };
    deskcliq::actors::outbox::enqueue(
        &env.app().store,
        "digest:test",
        deskcliq::notify::model::Target::Channel("support".into()),
        &whole,
        env.clock.now(),
    )
    .unwrap();
    (20..40).for_each(|n| {
        create(n);
    });
    env.drained().await;
    drain_every_half_minute(&env).await;
    let msgs = env.settle().await;
    // The flood was merged…
    assert!(msgs.len() < 41, "{} messages", msgs.len());
    // …but the summary went alone, with its figures.
    assert!(
        msgs.iter()
            .any(|m| m.message["text"] == "Daily summary: 7 created, 3 closed"),
        "{msgs:?}"
    );
    let all: String = msgs.iter().map(|m| m.message.to_string()).collect();
    assert!(!all.contains("2026-11-25T09:00:00"), "merged by its line");
}

#[actix_rt::test]
async fn a_summary_card_holds_as_many_lines_as_fit_in_cliqs_slide_characters() {
    let env = Env::start("[limits]\ncliq_posts_per_minute = 2\n").await;
    // Short subjects first, then long ones (cut to the longest line a summary takes).
    let mut numbers = Vec::new();
    for n in 0..300 {
        let subject = if n < 200 {
            format!("s{n}")
        } else {
            format!("長い件名 {n} {}", "x".repeat(300))
        };
        let t = env.sim.create_ticket(NewTicket {
            subject,
            department_id: SUPPORT.into(),
            contact_email: "c@example.com".into(),
            ..Default::default()
        });
        numbers.push(t.ticket_number);
    }
    env.drained().await;
    drain_every_half_minute(&env).await;
    let msgs = env.settle().await;
    let rows = |m: &deskcliq::sim::CliqRecord| {
        m.message["slides"][0]["data"]["rows"]
            .as_array()
            .map_or(0, |r| r.len())
    };
    // Short lines: one card holds well over 50 of them…
    assert!(
        msgs.iter().any(|m| rows(m) > 50),
        "{:?}",
        msgs.iter().map(rows).collect::<Vec<_>>()
    );
    // …and no card's slides pass Cliq's 10,000 characters, long lines included.
    for m in &msgs {
        let slides = serde_json::to_string(&m.message["slides"]).unwrap();
        assert!(
            slides.chars().count() <= 10_000,
            "{} characters",
            slides.chars().count()
        );
    }
    let all: String = msgs.iter().map(|m| m.message.to_string()).collect();
    for n in &numbers {
        assert!(all.contains(&format!("#{n} ")), "ticket #{n} was dropped");
    }
}

#[actix_rt::test]
async fn a_paced_flood_uses_the_whole_budget_of_every_window_and_never_more() {
    let env = Env::start("[limits]\ncliq_posts_per_minute = 4\n").await;
    // A new ticket every second for three minutes: always something waiting.
    for n in 0..180 {
        env.sim.create_ticket(NewTicket {
            subject: format!("steady {n}"),
            department_id: SUPPORT.into(),
            contact_email: "c@example.com".into(),
            ..Default::default()
        });
        env.clock.advance(Span::seconds(1));
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Any 60-second window, as the contract says, by the simulator's clock: a post reaches it
    // a moment after the outbox sent it (the clock runs fast here: a second every 25 ms, so a
    // loaded machine delays a post by a simulated second or more), which the outbox's second
    // of margin covers.
    let times = env.sim.with(|st| st.cliq_post_times.clone());
    let most = times
        .iter()
        .map(|start| {
            times
                .iter()
                .filter(|t| **t >= *start && **t < *start + Span::seconds(60))
                .count()
        })
        .max()
        .unwrap_or(0);
    assert_eq!(most, 4, "{times:?}");
    // Three minutes of a 4-a-minute budget: about 12 posts, none held back.
    assert!(times.len() >= 11, "{} posts: {times:?}", times.len());
}

#[actix_rt::test]
async fn a_copy_left_by_a_crash_between_queueing_and_marking_is_posted_once() {
    use deskcliq::actors::outbox::{Mark, Queued};
    use deskcliq::notify::model::Target;
    let env = Env::start("").await;
    let store = env.app().store.clone();
    let queue = store.tree::<u64, Queued>(TreeName::Outbox);
    let marks = store.tree::<String, Mark>(TreeName::Delivered);
    let item = |key: &str, text: &str| Queued {
        key: key.into(),
        target: Target::Channel("support".into()),
        message: serde_json::json!({ "text": text }),
        line: text.into(),
        enqueued_at: env.clock.now(),
        attempts: 0,
        not_before: None,
        whole: false,
    };
    // What a crash can leave: a message whose key was marked sent by the post before the
    // crash, and a message queued twice under one key (the second copy without its mark).
    queue
        .insert(&store.next_id().unwrap(), &item("already", "already sent"))
        .unwrap();
    marks
        .insert(&"already".to_string(), &Mark::Sent(env.clock.now()))
        .unwrap();
    for _ in 0..2 {
        queue
            .insert(&store.next_id().unwrap(), &item("twice", "queued twice"))
            .unwrap();
    }
    env.app().router.wake_outbox();
    let mut rounds = 0;
    while !outbox_empty(&env).await {
        env.clock.advance(Span::seconds(5));
        tokio::time::sleep(Duration::from_millis(100)).await;
        rounds += 1;
        assert!(rounds < 100, "outbox never emptied");
    }
    let all: Vec<String> = env
        .settle()
        .await
        .iter()
        .map(|m| m.message.to_string())
        .collect();
    assert!(!all.iter().any(|m| m.contains("already sent")), "{all:?}");
    assert_eq!(
        all.iter().filter(|m| m.contains("queued twice")).count(),
        1,
        "{all:?}"
    );
}

#[actix_rt::test]
async fn an_unreadable_message_mark_or_budget_record_does_not_stop_the_outbox() {
    use deskcliq::actors::outbox::Queued;
    use deskcliq::notify::model::Target;
    let env = Env::start("").await;
    let store = env.app().store.clone();
    let garbled = "garbled".to_string();
    // An unreadable message ahead of a good one, an unreadable mark for the good one's key and
    // an unreadable send budget.
    store
        .tree::<u64, String>(TreeName::Outbox)
        .insert(&store.next_id().unwrap(), &garbled)
        .unwrap();
    store
        .tree::<String, String>(TreeName::Delivered)
        .insert(&"good".to_string(), &garbled)
        .unwrap();
    store
        .tree::<String, String>(TreeName::Budget)
        .insert(&"cliq".to_string(), &garbled)
        .unwrap();
    store
        .tree::<u64, Queued>(TreeName::Outbox)
        .insert(
            &store.next_id().unwrap(),
            &Queued {
                key: "good".into(),
                target: Target::Channel("support".into()),
                message: serde_json::json!({ "text": "behind bad records" }),
                line: "behind bad records".into(),
                enqueued_at: env.clock.now(),
                attempts: 0,
                not_before: None,
                whole: false,
            },
        )
        .unwrap();
    env.app().router.wake_outbox();
    let mut rounds = 0;
    while !outbox_empty(&env).await {
        env.clock.advance(Span::seconds(5));
        tokio::time::sleep(Duration::from_millis(100)).await;
        rounds += 1;
        assert!(rounds < 100, "outbox never emptied");
    }
    let all = env.settle().await;
    assert_eq!(
        all.iter()
            .filter(|m| m.message.to_string().contains("behind bad records"))
            .count(),
        1,
        "{all:?}"
    );
    assert_eq!(store.corrupt_records(), 3);
}

#[actix_rt::test]
async fn a_card_edit_is_not_sent_while_the_send_budget_cannot_be_read() {
    use deskcliq::actors::outbox::{Budget, take_budget};
    let dir = tempfile::tempdir().unwrap();
    let store = deskcliq::store::Store::open(dir.path()).unwrap();
    let now = chrono::Utc::now();
    // What went out lately, and whether Cliq has deskcliq locked out, is unknown.
    store
        .tree::<String, String>(TreeName::Budget)
        .insert(&"cliq".to_string(), &"garbled".to_string())
        .unwrap();
    assert!(
        !take_budget(&store, 45, now).await.unwrap(),
        "an unreadable budget is a window spent now, as the outbox takes it"
    );
    assert_eq!(store.corrupt_records(), 1);
    let budget = store
        .tree::<String, Budget>(TreeName::Budget)
        .get(&"cliq".to_string())
        .unwrap()
        .unwrap();
    assert_eq!(budget.sent.len(), 45, "{budget:?}");
    // A minute of silence, not a lockout.
    assert!(
        take_budget(&store, 45, now + Span::seconds(62))
            .await
            .unwrap()
    );
}

#[actix_rt::test]
async fn a_stop_waits_for_the_post_in_flight_to_be_marked_sent() {
    use deskcliq::actors::outbox::{Budget, Mark};
    let mut env = Env::start("").await;
    // Cliq takes the post but answers only after a while.
    env.sim.inject(Fault {
        path_contains: "/channelsbyname/".into(),
        kind: FaultKind::Delay(Duration::from_millis(1500)),
        times: 1,
    });
    env.sim.create_ticket(NewTicket {
        subject: "in flight at the stop".into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        ..Default::default()
    });
    env.drained().await;
    // The post is counted in the budget (and made durable) just before it is sent.
    let store = env.app().store.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while store
        .tree::<String, Budget>(TreeName::Budget)
        .get(&"cliq".to_string())
        .unwrap()
        .is_none_or(|b| b.sent.is_empty())
    {
        assert!(tokio::time::Instant::now() < deadline, "nothing was posted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    env.app.take().unwrap().stop().await.unwrap();
    // Stopped: the post Cliq answered is marked sent in the store, not left to go again.
    let marks: Vec<Mark> = store
        .tree::<String, Mark>(TreeName::Delivered)
        .all()
        .unwrap()
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    assert!(matches!(marks.as_slice(), [Mark::Sent(_)]), "{marks:?}");
    assert!(
        store
            .tree::<u64, serde_json::Value>(TreeName::Outbox)
            .is_empty()
            .unwrap()
    );
}

#[actix_rt::test]
async fn a_throttle_answer_stops_all_sending_for_ten_minutes() {
    let env = Env::start("").await;
    env.sim.inject(Fault {
        path_contains: "/channelsbyname/".into(),
        kind: FaultKind::TooManyRequests { retry_after: 600 },
        times: 1,
    });
    env.sim.create_ticket(NewTicket {
        subject: "a".into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        ..Default::default()
    });
    // The lockout is recorded before the clock moves on.
    env.wait_metric("deskcliq_deliveries_total{outcome=\"throttled\"} 1")
        .await;
    env.sim.create_ticket(NewTicket {
        subject: "b".into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        ..Default::default()
    });
    env.drained().await;
    // Nine minutes and more of the controlled clock: not one request reaches Cliq.
    for _ in 0..9 {
        env.clock.advance(Span::minutes(1));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    env.clock.advance(Span::seconds(59));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.sim.cliq_post_requests(), 1);
    assert!(env.sim.cliq_messages().is_empty());
    // Past ten minutes, delivery resumes and completes.
    env.clock.advance(Span::seconds(2));
    let msgs = env.settle().await;
    assert_eq!(msgs.len(), 2);
    let metrics = env.app().metrics.render();
    assert!(
        metrics.contains("deskcliq_deliveries_total{outcome=\"throttled\"} 1"),
        "{metrics}"
    );
}

#[actix_rt::test]
async fn a_throttle_asking_to_retry_after_more_than_ten_minutes_is_obeyed() {
    let env = Env::start("").await;
    env.sim.inject(Fault {
        path_contains: "/channelsbyname/".into(),
        kind: FaultKind::TooManyRequests { retry_after: 900 },
        times: 1,
    });
    env.sim.create_ticket(NewTicket {
        subject: "a".into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        ..Default::default()
    });
    env.wait_metric("deskcliq_deliveries_total{outcome=\"throttled\"} 1")
        .await;
    // Past Cliq's usual ten minutes, but inside the fifteen it asked for: nothing is sent.
    for _ in 0..14 {
        env.clock.advance(Span::minutes(1));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    env.clock.advance(Span::seconds(58));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.sim.cliq_post_requests(), 1);
    // Once the fifteen minutes are over, it goes.
    env.clock.advance(Span::seconds(3));
    assert_eq!(env.settle().await.len(), 1);
}

#[actix_rt::test]
async fn a_refused_message_is_dead_lettered_with_its_reason() {
    let env = Env::start("").await;
    // The bot is not in this channel: Cliq refuses for good.
    env.sim
        .with(|st| st.cliq.channels.get_mut("support").unwrap().bot_member = false);
    env.sim.create_ticket(NewTicket {
        subject: "a".into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        ..Default::default()
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let dead = env
            .app()
            .store
            .tree::<String, (serde_json::Value, String)>(TreeName::Dead)
            .all()
            .unwrap();
        if let Some((_, (_, reason))) = dead.first() {
            assert!(reason.contains("bot_not_participant"), "{reason}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not dead-lettered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(outbox_empty(&env).await);
}

/// A new ticket whose first post Cliq answers 503: returns once its retry is scheduled.
async fn one_ticket_waiting_on_a_retry(env: &Env, subject: &str) {
    env.sim.inject(Fault {
        path_contains: "/channelsbyname/".into(),
        kind: FaultKind::Status(503),
        times: 1,
    });
    env.sim.create_ticket(NewTicket {
        subject: subject.into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        ..Default::default()
    });
    env.drained().await;
    // The retry is scheduled before the clock moves on; the backoff runs on the controlled clock.
    env.wait_metric("deskcliq_deliveries_total{outcome=\"retried\"} 1")
        .await;
}

#[actix_rt::test]
async fn a_server_error_is_retried_with_backoff() {
    let env = Env::start("").await;
    one_ticket_waiting_on_a_retry(&env, "a").await;
    assert_eq!(env.sim.cliq_post_requests(), 1);
    env.clock.advance(Span::minutes(6));
    let msgs = env.settle().await;
    assert_eq!(msgs.len(), 1);
}

#[actix_rt::test]
async fn a_message_queued_without_a_wake_up_while_the_rest_waits_on_a_retry_still_goes_out() {
    let env = Env::start("").await;
    one_ticket_waiting_on_a_retry(&env, "waits on a retry").await;
    // A few ticks find nothing ready and leave the queue alone until the retry is due.
    tokio::time::sleep(Duration::from_millis(800)).await;
    // Queued straight into the store, with no wake-up (as a summary or an alert could be),
    // while the clock stands still and the first message's retry is minutes away.
    let card = deskcliq::notify::card::Card {
        message: deskcliq::cliq::Message::new("queued quietly"),
        line: "queued quietly".into(),
        whole: false,
    };
    deskcliq::actors::outbox::enqueue(
        &env.app().store,
        "quiet-1",
        deskcliq::notify::model::Target::Channel("support".into()),
        &card,
        env.clock.now(),
    )
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let texts: Vec<String> = env
            .sim
            .cliq_messages()
            .iter()
            .map(|m| m.message.to_string())
            .collect();
        if texts.iter().any(|t| t.contains("queued quietly")) {
            assert!(
                !texts.iter().any(|t| t.contains("waits on a retry")),
                "{texts:?}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never sent: {texts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_rt::test]
async fn a_sustained_flood_is_paced_over_the_minute_after_a_first_burst() {
    let env = Env::start("[limits]\ncliq_posts_per_minute = 8\n").await;
    let numbers: Vec<String> = (0..20)
        .map(|n| {
            env.sim
                .create_ticket(NewTicket {
                    subject: format!("flood {n}"),
                    department_id: SUPPORT.into(),
                    contact_email: "c@example.com".into(),
                    ..Default::default()
                })
                .ticket_number
        })
        .collect();
    for _ in 0..90 {
        env.clock.advance(Span::seconds(1));
        tokio::time::sleep(Duration::from_millis(40)).await;
        if outbox_empty(&env).await && env.sim.pending_deliveries() == 0 {
            break;
        }
    }
    let times = env.sim.with(|st| st.cliq_post_times.clone());
    // A burst of half the budget (4), then the other half spread before the first post leaves
    // the 61-s window: about one post every 61/5 s.
    assert!(times.len() > 4, "{times:?}");
    for pair in times[..times.len().min(8)].windows(2).skip(3) {
        assert!(pair[1] - pair[0] >= Span::seconds(11), "{times:?}");
    }
    let all = env.settle().await;
    let text = serde_json::to_string(&all.iter().map(|r| &r.message).collect::<Vec<_>>()).unwrap();
    for n in &numbers {
        assert!(text.contains(&format!("#{n} ")), "#{n} missing");
    }
    assert!(
        all.len() < numbers.len(),
        "merged, not one post each: {}",
        all.len()
    );
}
