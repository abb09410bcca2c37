//! Reconciliation: what the webhooks did not bring is found in Desk.

mod common;

use std::time::Duration;

use chrono::Duration as Span;
use common::app::*;
use deskcliq::reconcile::reconcile_once;
use deskcliq::sim::{CliqTarget, NewTicket, TicketPatch};

fn webhooks(env: &Env, on: bool) {
    env.sim
        .with(|st| st.desk.webhooks.iter_mut().for_each(|w| w.is_enabled = on));
}

/// A minute on, Kim changes ticket `id` by `patch` (no webhook comes); past the two minutes
/// a webhook may still take, reconciliation finds the one change: every message so far.
async fn missed_by_kim(env: &Env, id: &str, patch: TicketPatch) -> Vec<deskcliq::sim::CliqRecord> {
    env.clock.advance(Span::minutes(1));
    env.sim.update_ticket(id, patch, Some(KIM));
    env.clock.advance(Span::minutes(3));
    let report = reconcile_once(&env.app().router).await.unwrap();
    assert_eq!(report.missed, 1, "{report:?}");
    env.settle().await
}

/// A ticket ("seen") deskcliq took in, closed by Kim while no webhook came, then reconciled
/// past the two minutes a webhook may still take: the ticket and every message so far.
async fn closed_while_not_listening(
    env: &Env,
) -> (deskcliq::sim::SimTicket, Vec<deskcliq::sim::CliqRecord>) {
    let t = env.sim.create_ticket(NewTicket {
        subject: "seen".into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        ..Default::default()
    });
    env.settle().await;
    webhooks(env, false);
    let msgs = missed_by_kim(
        env,
        &t.id,
        TicketPatch {
            status: Some("Closed".into()),
            ..Default::default()
        },
    )
    .await;
    (t, msgs)
}

#[actix_rt::test]
async fn a_ticket_no_webhook_mentioned_is_found_and_alerted() {
    let env = Env::start("").await;
    webhooks(&env, false);
    env.sim.create_ticket(NewTicket {
        subject: "quiet".into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        due_date: Some(env.clock.now() + Span::minutes(45)),
        ..Default::default()
    });
    let report = reconcile_once(&env.app().router).await.unwrap();
    assert_eq!(report.changed, 1, "{report:?}");
    the_one_alert_says_due_in_45_min(&env).await;
}

#[actix_rt::test]
async fn a_ticket_whose_record_cannot_be_read_is_reconciled_and_alerted() {
    let env = Env::start("").await;
    webhooks(&env, false);
    let t = env.sim.create_ticket(NewTicket {
        subject: "garbled".into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        due_date: Some(env.clock.now() + Span::minutes(45)),
        ..Default::default()
    });
    // deskcliq's record of the ticket can no longer be read.
    let store = env.app().store.clone();
    store
        .tree::<String, String>(deskcliq::store::TreeName::Tickets)
        .insert(&t.id, &"garbled".to_string())
        .unwrap();
    let report = reconcile_once(&env.app().router)
        .await
        .expect("an unreadable record does not fail the run");
    assert_eq!(report.changed, 1, "{report:?}");
    assert!(
        store
            .tree::<String, deskcliq::notify::model::TicketSnapshot>(
                deskcliq::store::TreeName::Tickets
            )
            .get(&t.id)
            .unwrap()
            .is_some(),
        "written anew"
    );
    the_one_alert_says_due_in_45_min(&env).await;
}

#[actix_rt::test]
async fn a_ticket_deleted_while_no_webhook_came_loses_its_sla_alerts() {
    let env = Env::start("").await;
    let t = env.sim.create_ticket(NewTicket {
        subject: "doomed".into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        due_date: Some(env.clock.now() + Span::minutes(45)),
        ..Default::default()
    });
    let before = env.settle().await.len();
    // Deleted in Desk while deskcliq was not listening: no Ticket_Delete reached it.
    env.sim
        .with(|st| st.desk.tickets.remove(&t.id.parse::<u64>().unwrap()));
    env.clock.advance(Span::minutes(1));
    let credits = env.sim.desk_credits_used();
    let report = reconcile_once(&env.app().router).await.unwrap();
    let used = env.sim.desk_credits_used() - credits;
    // Past the 30-minute alert's time, before the due date.
    env.clock.advance(Span::minutes(15));
    tokio::time::sleep(Duration::from_millis(600)).await;
    let msgs = env.settle().await;
    assert_eq!(msgs.len(), before, "{:?}", &msgs[before..]);
    // The ticket was read once to tell (at most 1 credit), beyond the run's search.
    assert!(
        used <= u64::from(report.calls - 1) * 3 + 1,
        "{used} {report:?}"
    );
}

#[actix_rt::test]
async fn a_change_missed_while_not_listening_is_reported_once_in_a_summary() {
    let env = Env::start("").await;
    let (t, msgs) = closed_while_not_listening(&env).await;
    assert_eq!(msgs.len(), 2);
    let summary = &msgs[1];
    assert_eq!(summary.target, CliqTarget::Channel("support".into()));
    assert_eq!(
        summary.message["card"]["title"],
        "While deskcliq was not listening"
    );
    assert!(
        summary
            .message
            .to_string()
            .contains(&format!("#{} seen — Ticket closed", t.ticket_number)),
        "{}",
        summary.message
    );
    // Reconciling again finds nothing new.
    env.clock.advance(Span::minutes(10));
    assert_eq!(reconcile_once(&env.app().router).await.unwrap().missed, 0);
    assert_eq!(env.settle().await.len(), 2);
}

#[actix_rt::test]
async fn a_missed_change_to_a_ticket_due_soon_is_reported_not_absorbed_by_the_due_pass() {
    let env = Env::start("").await;
    let t = env.sim.create_ticket(NewTicket {
        subject: "due soon".into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        due_date: Some(env.clock.now() + Span::minutes(50)),
        ..Default::default()
    });
    env.settle().await;
    webhooks(&env, false);
    // The due-date pass reads the ticket too (it is due within the alerts' reach): it arms
    // (here: cancels) its alerts, but the change is still reported as missed.
    let msgs = missed_by_kim(
        &env,
        &t.id,
        TicketPatch {
            status: Some("On Hold".into()),
            ..Default::default()
        },
    )
    .await;
    let summary = msgs
        .iter()
        .find(|m| m.message["card"]["title"] == "While deskcliq was not listening")
        .unwrap_or_else(|| panic!("no summary: {msgs:?}"));
    assert!(
        summary
            .message
            .to_string()
            .contains(&format!("#{} due soon", t.ticket_number)),
        "{}",
        summary.message
    );
    // On Hold: its alerts are cancelled, and the change is not reported again.
    env.clock.advance(Span::minutes(30));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(reconcile_once(&env.app().router).await.unwrap().missed, 0);
    let after = env.settle().await;
    assert_eq!(after.len(), msgs.len(), "{after:?}");
}

#[actix_rt::test]
async fn a_ticket_older_than_the_install_closed_while_not_listening_is_reported_closed_not_new() {
    let env = Env::start("").await;
    webhooks(&env, false);
    // Created before deskcliq listened: no webhook ever brought it.
    let t = env.sim.create_ticket(NewTicket {
        subject: "old".into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        ..Default::default()
    });
    let msgs = missed_by_kim(
        &env,
        &t.id,
        TicketPatch {
            status: Some("Closed".into()),
            ..Default::default()
        },
    )
    .await;
    let text = msgs
        .iter()
        .map(|m| m.message.to_string())
        .collect::<String>();
    assert!(
        text.contains(&format!("#{} old — Ticket closed", t.ticket_number)),
        "{text}"
    );
    assert!(!text.contains("New ticket"), "{text}");
}

#[actix_rt::test]
async fn an_escalation_missed_while_not_listening_is_reported() {
    let env = Env::start("").await;
    let t = env.sim.create_ticket(NewTicket {
        subject: "hot".into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        ..Default::default()
    });
    env.settle().await;
    webhooks(&env, false);
    let text = missed_by_kim(
        &env,
        &t.id,
        TicketPatch {
            is_escalated: Some(true),
            ..Default::default()
        },
    )
    .await
    .iter()
    .map(|m| m.message.to_string())
    .collect::<String>();
    assert!(
        text.contains(&format!("#{} hot — Ticket escalated", t.ticket_number)),
        "{text}"
    );
}

#[actix_rt::test]
async fn a_single_missed_change_is_counted_in_the_singular() {
    let env = Env::start("").await;
    let (_, msgs) = closed_while_not_listening(&env).await;
    let summary = msgs.last().unwrap();
    assert_eq!(
        summary.message["text"], "1 change was found by reconciliation",
        "{}",
        summary.message
    );
}

#[actix_rt::test]
async fn many_missed_changes_are_split_into_cards_cliq_accepts() {
    let env = Env::start("").await;
    webhooks(&env, false);
    env.clock.advance(Span::seconds(1));
    let mut numbers = Vec::new();
    for i in 0..250 {
        let t = env.sim.create_ticket(NewTicket {
            subject: format!("missed {i} {}", "y".repeat(120)),
            department_id: SUPPORT.into(),
            contact_email: "c@example.com".into(),
            ..Default::default()
        });
        numbers.push(t.ticket_number);
    }
    env.clock.advance(Span::minutes(3));
    let report = reconcile_once(&env.app().router).await.unwrap();
    assert_eq!(report.missed, 250, "{report:?}");
    let msgs = env.settle().await;
    let cards: Vec<_> = msgs
        .iter()
        .filter(|m| m.message["card"]["title"] == "While deskcliq was not listening")
        .collect();
    assert!(cards.len() >= 3, "{} cards", cards.len());
    for m in &cards {
        let slides = serde_json::to_string(&m.message["slides"]).unwrap();
        assert!(
            slides.chars().count() <= 10_000,
            "{} characters",
            slides.chars().count()
        );
    }
    let all: String = cards.iter().map(|m| m.message.to_string()).collect();
    for n in &numbers {
        assert!(all.contains(&format!("#{n} ")), "ticket #{n} missing");
    }
}

#[actix_rt::test]
async fn between_full_walks_a_run_searches_only_due_dates_coming_into_reach() {
    let env = Env::start("").await;
    webhooks(&env, false);
    let start = env.clock.now();
    // 150 long-overdue open tickets: walking the list by due date passes them all.
    for i in 0..150 {
        env.sim.create_ticket(NewTicket {
            subject: format!("old {i}"),
            department_id: SUPPORT.into(),
            contact_email: "c@example.com".into(),
            due_date: Some(start - Span::days(2)),
            ..Default::default()
        });
    }
    // The start-up run walked an empty list; a day later the whole list is walked again.
    env.clock.advance(Span::hours(25));
    let daily = reconcile_once(&env.app().router).await.unwrap();
    assert_eq!(daily.walked, 150, "{daily:?}");
    env.clock.advance(Span::minutes(10));
    let quiet = env.sim.create_ticket(NewTicket {
        subject: "quiet".into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        due_date: Some(env.clock.now() + Span::minutes(45)),
        ..Default::default()
    });
    let credits = env.sim.desk_credits_used();
    let next = reconcile_once(&env.app().router).await.unwrap();
    // One dueDateRange search and one modifiedTimeRange search: 6 credits, not a walk past
    // the overdue tickets.
    assert_eq!(next.calls, 2, "{next:?}");
    assert_eq!(env.sim.desk_credits_used() - credits, 6);
    assert_eq!(next.walked, 1, "{next:?}");
    env.clock.advance(Span::seconds(1));
    tokio::time::sleep(Duration::from_millis(600)).await;
    let text = serde_json::to_string(
        &env.settle()
            .await
            .iter()
            .map(|m| &m.message)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(
        text.contains(&format!("#{} ", quiet.ticket_number)) && text.contains("Due in"),
        "{text}"
    );
    // After a pause longer than the alerts reach, the whole list is walked again.
    env.clock.advance(Span::hours(3));
    let after_pause = reconcile_once(&env.app().router).await.unwrap();
    assert!(after_pause.walked >= 150, "{after_pause:?}");
}

#[actix_rt::test]
async fn a_reload_shortening_reconcile_minutes_applies_from_the_last_run() {
    use deskcliq::config::{Config, LoadEnv};
    let hourly = "[sla]\nreconcile_minutes = 60\n";
    let mut env = Env::start(hourly).await;
    // The start-up run is over once Desk stops being asked.
    let mut credits = env.sim.desk_credits_used();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = env.sim.desk_credits_used();
        if now == credits && now > 0 {
            break;
        }
        credits = now;
    }
    webhooks(&env, false);
    env.sim.create_ticket(NewTicket {
        subject: "quiet".into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        due_date: Some(env.clock.now() + Span::minutes(45)),
        ..Default::default()
    });
    // Two minutes after that run, a reload makes the interval one minute: the next run is due
    // already, and finds the ticket no webhook mentioned.
    env.clock.advance(Span::minutes(2));
    let text = env
        .config_text
        .replace(hourly, "[sla]\nreconcile_minutes = 1\n");
    let path = env.dir.path().join("config.toml");
    let config = Config::parse(&text, &path, &LoadEnv::default()).unwrap();
    env.app.as_mut().unwrap().apply(config);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let msgs = env.settle().await;
        if msgs.iter().any(|m| {
            m.message["text"]
                .as_str()
                .unwrap_or("")
                .contains("Due in 43 min")
        }) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no run: {msgs:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn check_config_shows_what_reconciliation_costs() {
    // 144 runs a day at 10 minutes, two calls of 3 credits each.
    assert_eq!(deskcliq::reconcile::credits_per_day(10), 864);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_deskcliq"))
        .args([
            "check-config",
            "--config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml"),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("at least 864 credits a day"), "{stdout}");
}

/// A second later, Cliq has received exactly one message: the SLA alert 45 minutes ahead.
async fn the_one_alert_says_due_in_45_min(env: &Env) {
    env.clock.advance(Span::seconds(1));
    tokio::time::sleep(Duration::from_millis(600)).await;
    let msgs = env.settle().await;
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(
        msgs[0].message["text"]
            .as_str()
            .unwrap()
            .contains("Due in 45 min")
    );
}
