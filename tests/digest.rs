//! Daily summaries: exact figures (from the store's log and from the Desk API), the crontab
//! schedule in the org's zone, catch-up after downtime, one summary per channel.

mod common;

use std::time::Duration;

use chrono::{Duration as Span, TimeZone, Timelike};
use common::app::*;
use deskcliq::config::Schedule;
use deskcliq::sim::{CliqRecord, Fault, FaultKind, NewTicket, TicketPatch};
use deskcliq::stats::{Figure, Ratings, Stats, compute, covered_from};

fn ticket(env: &Env, dep: &str, assignee: Option<&str>, due_in_min: Option<i64>) -> String {
    env.sim
        .create_ticket(NewTicket {
            subject: "t".into(),
            department_id: dep.into(),
            contact_email: "c@example.com".into(),
            assignee_id: assignee.map(str::to_string),
            due_date: due_in_min.map(|m| env.clock.now() + Span::minutes(m)),
            ..Default::default()
        })
        .id
}

fn close(env: &Env, id: &str) {
    env.sim.update_ticket(
        id,
        TicketPatch {
            status: Some("Closed".into()),
            ..Default::default()
        },
        Some(KIM),
    );
}

/// Support: 5 created, 4 closed (Sato 2, Suzuki 2 — a tie — by name), 1 on hold, 1 overdue,
/// ratings 2 good and 1 bad. Billing: 1 created, 1 closed by Kim, unassigned.
async fn build(env: &Env) {
    let a = ticket(env, SUPPORT, Some(SATO), None);
    let b = ticket(env, SUPPORT, Some(SATO), None);
    let c = ticket(env, SUPPORT, Some(SUZUKI), None);
    let d = ticket(env, SUPPORT, Some(SUZUKI), None);
    let late = ticket(env, SUPPORT, None, Some(30));
    let e = ticket(env, BILLING, Some(KIM), None);
    env.clock.advance(Span::minutes(10));
    for id in [&a, &b, &c, &d, &e] {
        close(env, id);
    }
    env.sim.update_ticket(
        &late,
        TicketPatch {
            status: Some("On Hold".into()),
            ..Default::default()
        },
        Some(KIM),
    );
    let _open_overdue = ticket(env, SUPPORT, None, Some(-5));
    let now = env.clock.now();
    env.sim.with(|st| {
        st.add_rating(&a, "good", None, now);
        st.add_rating(&b, "good", None, now);
        st.add_rating(&c, "bad", None, now);
    });
    env.settle().await;
}

fn expected_support(
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Stats {
    Stats {
        from,
        to,
        created: Figure::Known(6),
        closed: Figure::Known(4),
        ratings: Figure::Known(Ratings {
            good: 2,
            okay: 0,
            bad: 1,
        }),
        top: Figure::Known(vec![("Hanako Sato".into(), 2), ("Taro Suzuki".into(), 2)]),
        open: Figure::Known(1),
        on_hold: Figure::Known(1),
        overdue: Figure::Known(1),
        unassigned: Figure::Known(2),
    }
}

#[actix_rt::test]
async fn figures_match_the_portal_from_the_log_and_from_the_api() {
    let env = Env::start("").await;
    build(&env).await;
    // The log covers everything since the app started (t0).
    let (from, to) = (t0(), env.clock.now() + Span::minutes(1));
    let shared = &env.app().router.shared;
    let agents = env.app().router.directory.get();
    // From the store's log (it has seen every create and close).
    let support = compute(shared, &agents, Some(SUPPORT), from, to).await;
    assert_eq!(support, expected_support(from, to));
    let org = compute(shared, &agents, None, from, to).await;
    assert_eq!(org.created, Figure::Known(7));
    assert_eq!(org.closed, Figure::Known(5));
    assert_eq!(
        org.top,
        Figure::Known(vec![
            ("Hanako Sato".into(), 2),
            ("Taro Suzuki".into(), 2),
            ("Alex Kim".into(), 1)
        ])
    );
    // From the Desk API, when the log does not cover the window.
    covered_from(&shared.store, to + Span::days(1), true).unwrap();
    assert_eq!(
        compute(shared, &agents, Some(SUPPORT), from, to).await,
        expected_support(from, to)
    );
    assert_eq!(compute(shared, &agents, None, from, to).await, org);
}

#[actix_rt::test]
async fn a_desk_failure_makes_only_its_figures_unavailable() {
    let env = Env::start("").await;
    build(&env).await;
    env.sim.inject(Fault {
        path_contains: "/ticketsCountByFieldValues".into(),
        kind: FaultKind::Status(500),
        times: 10,
    });
    let (from, to) = (t0() - Span::hours(1), env.clock.now() + Span::minutes(1));
    let s = compute(
        &env.app().router.shared,
        &env.app().router.directory.get(),
        Some(SUPPORT),
        from,
        to,
    )
    .await;
    assert_eq!(
        (s.open, s.on_hold, s.overdue),
        (
            Figure::Unavailable,
            Figure::Unavailable,
            Figure::Unavailable
        )
    );
    assert_eq!(s.created, Figure::Known(6));
    assert_eq!(s.unassigned, Figure::Known(2));
}

#[test]
fn the_schedule_is_crontab_in_the_org_zone_across_dst() {
    let tokyo = chrono_tz::Asia::Tokyo;
    let s = Schedule::parse("0 9 * * *").unwrap();
    let next = s
        .next_after(&tokyo.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap())
        .unwrap();
    assert_eq!(next, tokyo.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap());
    // New York springs forward on 2026-03-08: 09:00 local stays 09:00 local.
    let ny = chrono_tz::America::New_York;
    let before = s
        .next_after(&ny.with_ymd_and_hms(2026, 3, 6, 12, 0, 0).unwrap())
        .unwrap();
    let after = s
        .next_after(&ny.with_ymd_and_hms(2026, 3, 7, 12, 0, 0).unwrap())
        .unwrap();
    assert_eq!((before.hour(), after.hour()), (9, 9));
    assert_eq!(before.naive_utc().hour(), 14); // EST
    assert_eq!(after.naive_utc().hour(), 13); // EDT
    // Mondays; and the 1st *or* Mondays, as crontab(5) has it.
    let monday = Schedule::parse("0 9 * * 1")
        .unwrap()
        .next_after(&tokyo.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap())
        .unwrap();
    assert_eq!(monday.format("%a %d").to_string(), "Mon 30");
    let ored = Schedule::parse("0 9 1 * 1").unwrap();
    let first = ored
        .next_after(&tokyo.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap())
        .unwrap();
    assert_eq!(first.format("%a %d").to_string(), "Tue 01");
    let then = ored.next_after(&first).unwrap();
    assert_eq!(then.format("%a %d").to_string(), "Mon 07");
}

#[test]
fn a_stepped_star_day_field_is_unrestricted_so_both_day_fields_must_match() {
    // crontab ORs day-of-month and day-of-week only when neither starts with `*`: `*/2`
    // does, so "odd days that are Mondays", not "odd days and Mondays".
    let tokyo = chrono_tz::Asia::Tokyo;
    let wed = tokyo.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap();
    let next = |expr: &str| {
        Schedule::parse(expr)
            .unwrap()
            .next_after(&wed)
            .unwrap()
            .format("%a %m-%d %H:%M:%S")
            .to_string()
    };
    assert_eq!(next("0 9 */2 * 1"), "Mon 12-07 09:00:00");
    assert_eq!(next("0 9 1 * */2"), "Tue 12-01 09:00:00");
    assert_eq!(next("30 0 9 */2 * mon"), "Mon 12-07 09:00:30");
    // Restricted without a star: either field, as before.
    assert_eq!(next("0 9 1-31/2 * 1"), "Fri 11-27 09:00:00");
    assert_eq!(next("0 9 * * */2"), "Thu 11-26 09:00:00");
    assert_eq!(next("@weekly"), "Sun 11-29 00:00:00");
}

fn summaries(msgs: &[CliqRecord]) -> Vec<String> {
    msgs.iter()
        .filter_map(|m| m.message["card"]["title"].as_str())
        .filter(|t| t.starts_with("Daily summary") || t.starts_with("日次サマリー"))
        .map(str::to_string)
        .collect()
}

/// t0 is 10:00 in Tokyo; the summary is at 12:00.
const NOON: &str = "[digest]\nschedule = \"0 12 * * *\"\n";

async fn tick(env: &Env, by: Span) -> Vec<CliqRecord> {
    env.clock.advance(by);
    // The actor looks every second; a run computes its figures before anything is queued.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut last = env.settle().await;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = env.settle().await;
        if now.len() == last.len() {
            return now;
        }
        last = now;
    }
    last
}

#[actix_rt::test]
async fn the_summary_goes_to_the_org_channel_and_each_department_channel_once() {
    let env = Env::start(NOON).await;
    let msgs = tick(&env, Span::hours(2) + Span::seconds(1)).await;
    let mut titles = summaries(&msgs);
    titles.sort();
    assert_eq!(
        titles,
        [
            "Daily summary 2026-11-25 — All departments",
            "Daily summary 2026-11-25 — Billing",
            "Daily summary 2026-11-25 — Support"
        ]
    );
    assert_eq!(summaries(&tick(&env, Span::hours(1)).await).len(), 3);
}

#[actix_rt::test]
async fn a_department_on_the_org_channel_gets_no_second_summary() {
    let departments = DEPARTMENTS.replace("channel = \"support\"", "channel = \"desk\"");
    let env = Env::start_with(&departments, NOON).await;
    let msgs = tick(&env, Span::hours(2) + Span::seconds(1)).await;
    let titles = summaries(&msgs);
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(!titles.iter().any(|t| t.ends_with("Support")));
}

#[actix_rt::test]
async fn a_run_missed_while_down_is_caught_up_once_if_recent() {
    let mut env = Env::start(NOON).await;
    tick(&env, Span::hours(1)).await; // 11:00, alive
    // Down at 12:00, back at 13:00.
    env.down_for(Span::hours(2)).await;
    assert_eq!(summaries(&tick(&env, Span::seconds(1)).await).len(), 3);
    // Restarted after sending: no repeat.
    env.restart().await;
    assert_eq!(summaries(&tick(&env, Span::seconds(1)).await).len(), 3);
}

#[actix_rt::test]
async fn a_run_that_fails_on_a_store_error_is_sent_once_the_store_recovers() {
    let env = Env::start(NOON).await;
    env.app().store.inject_fault(true);
    // The run at 12:00 fails (settling would wait for a store that takes writes).
    env.clock.advance(Span::hours(2) + Span::seconds(1));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    env.app().store.inject_fault(false);
    assert!(summaries(&env.sim.cliq_messages()).is_empty());
    // The token refresh that failed with the store is not tried again for 5 s (real time).
    tokio::time::sleep(Duration::from_millis(5500)).await;
    let msgs = tick(&env, Span::minutes(1) + Span::seconds(1)).await;
    assert_eq!(summaries(&msgs).len(), 3, "{:?}", summaries(&msgs));
    // Once, not again.
    assert_eq!(summaries(&tick(&env, Span::minutes(5)).await).len(), 3);
}

#[actix_rt::test]
async fn a_store_whose_summary_records_cannot_be_read_still_starts() {
    use deskcliq::store::TreeName;
    let mut env = Env::start(NOON).await;
    for key in ["log_covered_since", deskcliq::actors::digest::ALIVE_KEY] {
        env.app()
            .store
            .tree::<String, String>(TreeName::Meta)
            .insert(&key.to_string(), &"garbled".to_string())
            .unwrap();
    }
    env.restart().await;
    assert_eq!(env.app().store.corrupt_records(), 2);
    // The summaries go on: the day's figures come from Desk, the log having a gap.
    assert_eq!(
        summaries(&tick(&env, Span::hours(2) + Span::seconds(1)).await).len(),
        3
    );
}

#[actix_rt::test]
async fn a_run_missed_long_ago_is_not_caught_up() {
    let mut env = Env::start(NOON).await;
    tick(&env, Span::hours(1)).await;
    // Back at 19:00: 7 h after the run.
    env.down_for(Span::hours(8)).await;
    assert!(summaries(&tick(&env, Span::seconds(1)).await).is_empty());
}

#[actix_rt::test]
async fn ja_and_en_summaries() {
    let env = Env::start(NOON).await;
    let en = summaries(&tick(&env, Span::hours(2) + Span::seconds(1)).await);
    assert!(en.iter().any(|t| t.contains("All departments")));
    let mut ja = Env::start(NOON).await;
    let mut cfg = (*ja.app().config()).clone();
    cfg.org.locale = deskcliq::config::Locale::Ja;
    ja.app.as_mut().unwrap().apply(cfg);
    let msgs = tick(&ja, Span::hours(2) + Span::seconds(1)).await;
    let titles = summaries(&msgs);
    assert!(
        titles
            .iter()
            .any(|t| t.contains("日次サマリー") && t.contains("全部門")),
        "{titles:?}"
    );
    let card = msgs
        .iter()
        .find(|m| {
            m.message["card"]["title"]
                .as_str()
                .is_some_and(|t| t.contains("全部門"))
        })
        .unwrap();
    assert!(
        card.message.to_string().contains("新規"),
        "{}",
        card.message
    );
}

#[actix_rt::test]
async fn after_downtime_the_log_no_longer_speaks_for_the_day() {
    let mut env = Env::start("").await;
    ticket(&env, SUPPORT, None, None);
    env.settle().await;
    tick(&env, Span::seconds(2)).await;
    env.down_for(Span::minutes(10)).await;
    // The figures now come from Desk: make its count fail to see it.
    env.sim.inject(Fault {
        path_contains: "/ticketsCount".into(),
        kind: FaultKind::Status(500),
        times: 10,
    });
    let (from, to) = (t0(), env.clock.now());
    let s = compute(
        &env.app().router.shared,
        &env.app().router.directory.get(),
        Some(SUPPORT),
        from,
        to,
    )
    .await;
    assert_eq!(s.created, Figure::Unavailable);
}
