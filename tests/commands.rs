//! Feature 4: Cliq commands, bot phrases, menu actions and Post here, through the real
//! `POST /cliq/callback` of the whole app against the simulator.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::app::*;
use deskcliq::sim::{Carrier, ChatRef, CliqTarget, CliqUser, Invocation, NewTicket, SimTicket};
use serde_json::{Value, json};

const SATO_EMAIL: &str = "sato@example.co.jp";
const KIM_ZUID: &str = "55667790";

fn sato(lang: &str) -> CliqUser {
    CliqUser::new(SATO_ZUID, SATO_EMAIL, lang)
}

fn command(name: &str, arguments: &str) -> Invocation {
    Invocation::Command {
        name: name.into(),
        arguments: arguments.into(),
    }
}

/// A ticket put straight into the simulated Desk (no webhook), a minute after the last one.
fn put(
    env: &Env,
    subject: &str,
    dep: &str,
    assignee: Option<&str>,
    due: Option<DateTime<Utc>>,
    email: &str,
) -> SimTicket {
    env.clock.advance(chrono::Duration::minutes(1));
    let now = env.clock.now();
    env.sim.with(|st| {
        st.create_ticket(
            NewTicket {
                subject: subject.into(),
                department_id: dep.into(),
                contact_email: email.into(),
                assignee_id: assignee.map(str::to_string),
                due_date: due,
                ..Default::default()
            },
            now,
        )
        .0
    })
}

async fn ask(env: &Env, inv: Invocation, user: &CliqUser, chat: &ChatRef) -> (u16, Value) {
    env.sim.invoke(&env.callback_url(), &inv, user, chat).await
}

/// The answer's first table: its rows' `#` cells, in order.
fn numbers(output: &Value) -> Vec<String> {
    output["slides"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["type"] == "table"))
        .and_then(|t| t["data"]["rows"].as_array())
        .map(|rows| {
            rows.iter()
                .map(|r| r["#"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn has_number(cell: &str, number: &str) -> bool {
    cell.starts_with(&format!("[#{number}]")) || cell == format!("#{number}")
}

fn post_key(output: &Value) -> Option<String> {
    output["buttons"]
        .as_array()?
        .iter()
        .find_map(|b| b["key"].as_str().filter(|k| k.starts_with("post:")))
        .map(str::to_string)
}

fn assert_banner(v: &Value, status: &str) -> String {
    let o = &v["output"];
    assert_eq!(o["type"], "banner", "{v}");
    assert_eq!(o["status"], status, "{v}");
    o["text"].as_str().unwrap_or_default().to_string()
}

#[actix_rt::test]
async fn ticket_without_argument_lists_my_three_most_recent_assigned_tickets() {
    let env = Env::start("").await;
    let a = put(&env, "Printer", SUPPORT, Some(SATO), None, "a@example.com");
    let b = put(&env, "Scanner", SUPPORT, Some(SATO), None, "b@example.com");
    let _other = put(
        &env,
        "Not mine",
        SUPPORT,
        Some(SUZUKI),
        None,
        "c@example.com",
    );
    let c = put(&env, "Router", SUPPORT, Some(SATO), None, "d@example.com");
    let d = put(&env, "Mouse", SUPPORT, Some(SATO), None, "e@example.com");
    let (status, v) = ask(
        &env,
        command("ticket", ""),
        &sato("en"),
        &ChatRef::channel("support"),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let o = &v["output"];
    let rows = numbers(o);
    assert_eq!(rows.len(), 3, "{v}");
    for (cell, t) in rows.iter().zip([&d, &c, &b]) {
        assert!(
            has_number(cell, &t.ticket_number),
            "{cell} vs {}",
            t.ticket_number
        );
    }
    assert!(
        !v.to_string().contains(&a.subject),
        "the oldest is left out"
    );
    assert!(!v.to_string().contains("Not mine"));
    assert_eq!(o["card"]["title"], "Your most recent tickets");
    let headers = &o["slides"][0]["data"]["headers"];
    assert_eq!(
        headers,
        &json!(["#", "Subject", "Status", "Due", "Assignee"])
    );
    assert!(post_key(o).is_some(), "a Post here button: {o}");
    assert!(
        rows[0].contains("](http"),
        "the number links to Desk: {}",
        rows[0]
    );
}

#[actix_rt::test]
async fn ticket_number_in_every_form_finds_the_ticket_in_japanese_too() {
    let env = Env::start("").await;
    let t = put(&env, "Invoice wrong", SUPPORT, None, None, "a@example.com");
    let n = t.ticket_number.clone();
    let full_width: String = n
        .chars()
        .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
        .collect();
    for arg in [n.clone(), format!("#{n}"), full_width, format!("  # {n}  ")] {
        let (status, v) = ask(&env, command("ticket", &arg), &sato("en"), &ChatRef::bot()).await;
        assert_eq!(status, 200);
        let rows = numbers(&v["output"]);
        assert_eq!(rows.len(), 1, "{arg}: {v}");
        assert!(has_number(&rows[0], &n), "{arg}: {v}");
        assert_eq!(v["output"]["card"]["title"], format!("Ticket #{n}"));
    }
    let (_, v) = ask(&env, command("ticket", &n), &sato("ja"), &ChatRef::bot()).await;
    assert_eq!(v["output"]["card"]["title"], format!("チケット #{n}"));
    assert_eq!(v["output"]["slides"][0]["data"]["headers"][1], "件名");
}

#[actix_rt::test]
async fn a_number_longer_than_desks_ticket_numbers_is_not_found_without_asking_desk() {
    let env = Env::start("").await;
    let t = put(
        &env,
        "Printer on fire",
        SUPPORT,
        None,
        None,
        "a@example.com",
    );
    // An agent pastes the ticket's id (from its Desk URL) instead of its number: Desk's
    // ticket numbers are 32-bit (Search.json), so no ticket has it.
    for (lang, expected) in [
        (
            "en",
            format!("Ticket #{} was not found in your departments.", t.id),
        ),
        (
            "ja",
            format!("チケット #{} はあなたの部門に見つかりません。", t.id),
        ),
    ] {
        let (s, v) = ask(&env, command("ticket", &t.id), &sato(lang), &ChatRef::bot()).await;
        assert_eq!(s, 200);
        assert_eq!(assert_banner(&v, "failure"), expected);
    }
    let m = env.app().metrics.render();
    assert!(
        m.contains(r#"deskcliq_command_desk_credits_total{name="ticket"} 0"#),
        "no Desk call: {m}"
    );
}

#[actix_rt::test]
async fn ticket_of_another_department_is_answered_like_a_missing_ticket() {
    let env = Env::start("").await;
    let billing = put(
        &env,
        "Secret billing matter",
        BILLING,
        Some(KIM),
        None,
        "vip@example.com",
    );
    let n = billing.ticket_number.clone();
    let missing = (n.parse::<u64>().unwrap() + 50).to_string();
    let (s1, theirs) = ask(&env, command("ticket", &n), &sato("en"), &ChatRef::bot()).await;
    let (s2, none) = ask(
        &env,
        command("ticket", &missing),
        &sato("en"),
        &ChatRef::bot(),
    )
    .await;
    assert_eq!((s1, s2), (200, 200));
    let a = assert_banner(&theirs, "failure");
    let b = assert_banner(&none, "failure");
    assert_eq!(a.replace(&n, "N"), b.replace(&missing, "N"));
    let body = theirs.to_string();
    for secret in [
        "Secret billing",
        &billing.id,
        "vip@example.com",
        "Alex",
        BILLING,
    ] {
        assert!(!body.contains(secret), "{secret} leaked: {body}");
    }
    // Suzuki belongs to Billing too: he sees it.
    let suzuki = CliqUser::new(SUZUKI_ZUID, "suzuki@example.co.jp", "en");
    let (_, v) = ask(&env, command("ticket", &n), &suzuki, &ChatRef::bot()).await;
    assert_eq!(numbers(&v["output"]).len(), 1, "{v}");
}

#[actix_rt::test]
async fn ticket_by_email_in_any_case_lists_the_customers_recent_tickets_in_my_departments() {
    let env = Env::start("").await;
    let a = put(&env, "First", SUPPORT, None, None, "Yamada@Example.com");
    let _b = put(
        &env,
        "Billing one",
        BILLING,
        None,
        None,
        "yamada@example.com",
    );
    let c = put(
        &env,
        "Second",
        SUPPORT,
        Some(SUZUKI),
        None,
        "yamada@example.com",
    );
    let _d = put(
        &env,
        "Someone else",
        SUPPORT,
        None,
        None,
        "other@example.com",
    );
    let (_, v) = ask(
        &env,
        command("ticket", "  YAMADA@example.COM "),
        &sato("en"),
        &ChatRef::bot(),
    )
    .await;
    let rows = numbers(&v["output"]);
    assert_eq!(rows.len(), 2, "{v}");
    assert!(has_number(&rows[0], &c.ticket_number));
    assert!(has_number(&rows[1], &a.ticket_number));
    assert!(!v.to_string().contains("Billing one"));
    let (_, none) = ask(
        &env,
        command("ticket", "nobody@example.com"),
        &sato("ja"),
        &ChatRef::bot(),
    )
    .await;
    assert_eq!(numbers(&none["output"]).len(), 0);
    assert_eq!(
        none["output"]["text"],
        "あなたの部門に nobody@example.com からのチケットはありません。"
    );
}

#[actix_rt::test]
async fn ticket_with_anything_else_explains_the_three_forms_in_the_callers_language() {
    let env = Env::start("").await;
    for junk in ["hello", "115 116", "#abc", "a@b"] {
        let (status, v) = ask(&env, command("ticket", junk), &sato("en"), &ChatRef::bot()).await;
        assert_eq!(status, 200);
        let text = assert_banner(&v, "failure");
        assert!(
            text.contains("/ticket 115") && text.contains("someone@example.com"),
            "{text}"
        );
    }
    let (_, v) = ask(&env, command("ticket", "xyz"), &sato("ja"), &ChatRef::bot()).await;
    assert!(assert_banner(&v, "failure").contains("顧客のチケット"));
    // A language other than ja or en: the org's (en in this config).
    let (_, v) = ask(&env, command("ticket", "xyz"), &sato("fr"), &ChatRef::bot()).await;
    assert!(assert_banner(&v, "failure").starts_with("Use /ticket"));
}

#[actix_rt::test]
async fn my_tickets_when_none_says_so_in_words() {
    let env = Env::start("").await;
    let (_, en) = ask(&env, command("ticket", ""), &sato("en"), &ChatRef::bot()).await;
    assert_eq!(en["output"]["text"], "No tickets are assigned to you.");
    assert!(numbers(&en["output"]).is_empty());
    let (_, ja) = ask(&env, command("ticket", ""), &sato("ja"), &ChatRef::bot()).await;
    assert_eq!(
        ja["output"]["text"],
        "あなたに割り当てられたチケットはありません。"
    );
}

#[actix_rt::test]
async fn pendingtickets_while_desk_is_down_is_a_banner_in_the_askers_language_not_a_card() {
    let env = Env::start("").await;
    put(&env, "Loose", SUPPORT, None, None, "b@example.com");
    env.desk_api_down();
    for (lang, cmd) in [("en", "pendingtickets"), ("ja", "deskstatus")] {
        let before = env.sim.cliq_responses().len();
        let (_, mut v) = ask(&env, command(cmd, ""), &sato(lang), &ChatRef::bot()).await;
        // Desk's retries outlast Cliq's wait: the answer may follow at the response URL.
        if v["output"]["status"] == "success" {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            v = loop {
                if let Some(r) = env.sim.cliq_responses().into_iter().nth(before) {
                    break r.1;
                }
                assert!(tokio::time::Instant::now() < deadline, "no late answer");
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
        }
        let text = assert_banner(&v, "failure");
        assert!(post_key(&v["output"]).is_none(), "{v}");
        assert!(!text.is_empty(), "{v}");
        if lang == "ja" {
            assert!(!text.is_ascii(), "{text}");
        }
    }
}

#[actix_rt::test]
async fn pendingtickets_counts_open_on_hold_overdue_and_unassigned_of_my_departments() {
    let env = Env::start("").await;
    let now = env.clock.now();
    put(
        &env,
        "Late",
        SUPPORT,
        Some(SATO),
        Some(now - chrono::Duration::hours(1)),
        "a@example.com",
    );
    put(&env, "Loose", SUPPORT, None, None, "b@example.com");
    let held = put(&env, "Waiting", SUPPORT, Some(SATO), None, "c@example.com");
    put(&env, "Other dept", BILLING, None, None, "d@example.com");
    let at = env.clock.now();
    env.sim.with(|st| {
        st.update_ticket(
            &held.id,
            deskcliq::sim::TicketPatch {
                status: Some("On Hold".into()),
                ..Default::default()
            },
            Some(SATO),
            at,
        )
    });
    let (_, v) = ask(
        &env,
        command("pendingtickets", ""),
        &sato("en"),
        &ChatRef::bot(),
    )
    .await;
    let o = &v["output"];
    assert_eq!(o["card"]["title"], "Pending tickets", "{v}");
    let slides = o["slides"].as_array().unwrap();
    assert_eq!(slides.len(), 1, "Sato is in Support only: {v}");
    assert_eq!(slides[0]["title"], "Support");
    assert_eq!(
        slides[0]["data"],
        json!([{"Open": "2"}, {"On hold": "1"}, {"Overdue": "1"}, {"Unassigned": "1"}]),
        "{v}"
    );
    let (_, ja) = ask(
        &env,
        command("pendingtickets", ""),
        &sato("ja"),
        &ChatRef::bot(),
    )
    .await;
    assert_eq!(ja["output"]["card"]["title"], "未解決のチケット");
    assert!(post_key(&ja["output"]).is_some());
}

#[actix_rt::test]
async fn the_help_names_the_pendingtickets_figures_in_the_words_of_the_answer() {
    let env = Env::start("").await;
    put(&env, "Loose", SUPPORT, None, None, "b@example.com");
    for lang in ["en", "ja"] {
        let (_, v) = ask(
            &env,
            command("pendingtickets", ""),
            &sato(lang),
            &ChatRef::bot(),
        )
        .await;
        let labels: Vec<String> = v["output"]["slides"][0]["data"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .flat_map(|pair| pair.as_object().unwrap().keys().cloned())
            .collect();
        assert_eq!(labels.len(), 4, "{v}");
        let (_, help) = ask(
            &env,
            Invocation::BotMessage("?".into()),
            &sato(lang),
            &ChatRef::bot(),
        )
        .await;
        let item = help["output"]["slides"][0]["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .find(|i| i.starts_with("/pendingtickets"))
            .unwrap_or_else(|| panic!("{help}"))
            .to_lowercase();
        for label in labels {
            assert!(
                item.contains(&label.to_lowercase()),
                "{lang}: {label} in {item}"
            );
        }
    }
}

#[actix_rt::test]
async fn deskstatus_shows_the_last_24_hours_or_the_one_attribute_asked_for() {
    let env = Env::start("").await;
    put(&env, "New one", SUPPORT, None, None, "a@example.com");
    put(&env, "New two", SUPPORT, None, None, "b@example.com");
    // The window ends just before now.
    env.clock.advance(chrono::Duration::seconds(1));
    let (_, all) = ask(
        &env,
        command("deskstatus", ""),
        &sato("en"),
        &ChatRef::bot(),
    )
    .await;
    let o = &all["output"];
    assert_eq!(o["card"]["title"], "Desk status, last 24 hours", "{all}");
    let labels = o["slides"][0]["data"].to_string();
    for l in [
        "Created",
        "Closed",
        "Ratings",
        "Open",
        "Overdue",
        "Unassigned",
    ] {
        assert!(labels.contains(l), "{l} in {labels}");
    }
    assert!(labels.contains(r#"{"Created":"2"}"#), "{labels}");
    let (_, new) = ask(
        &env,
        command("deskstatus", "NEW"),
        &sato("en"),
        &ChatRef::bot(),
    )
    .await;
    assert_eq!(
        new["output"]["slides"][0]["data"],
        json!([{"Created": "2"}]),
        "{new}"
    );
    let (_, closed) = ask(
        &env,
        command("deskstatus", "closed"),
        &sato("en"),
        &ChatRef::bot(),
    )
    .await;
    assert_eq!(
        closed["output"]["slides"][0]["data"],
        json!([{"Closed": "0"}]),
        "{closed}"
    );
    let (_, csat) = ask(
        &env,
        command("deskstatus", "csat"),
        &sato("en"),
        &ChatRef::bot(),
    )
    .await;
    let csat_text = csat["output"]["slides"][0]["data"].to_string();
    assert!(
        csat_text.contains("Ratings") && !csat_text.contains("Created"),
        "{csat}"
    );
    let (_, top) = ask(
        &env,
        command("deskstatus", "top"),
        &sato("ja"),
        &ChatRef::bot(),
    )
    .await;
    let slides = top["output"]["slides"].as_array().unwrap();
    assert_eq!(slides.len(), 1, "{top}");
    assert_eq!(slides[0]["data"], "クローズされたチケットなし");
    let (_, junk) = ask(
        &env,
        command("deskstatus", "everything"),
        &sato("en"),
        &ChatRef::bot(),
    )
    .await;
    assert!(assert_banner(&junk, "failure").contains("/deskstatus new"));
}

#[actix_rt::test]
async fn bot_phrases_and_menu_actions_list_overdue_due_today_and_open_tickets() {
    let env = Env::start("").await;
    let now = env.clock.now();
    let hour = chrono::Duration::hours(1);
    // Yesterday (10:00 JST now), and earlier today.
    let late1 = put(
        &env,
        "Late one",
        SUPPORT,
        Some(SATO),
        Some(now - hour * 30),
        "a@example.com",
    );
    let late2 = put(
        &env,
        "Late two",
        SUPPORT,
        None,
        Some(now - hour),
        "b@example.com",
    );
    let today = put(
        &env,
        "Due soon",
        SUPPORT,
        None,
        Some(now + hour * 2),
        "c@example.com",
    );
    let _later = put(
        &env,
        "Next week",
        SUPPORT,
        None,
        Some(now + hour * 24 * 7),
        "d@example.com",
    );
    let _billing = put(
        &env,
        "Billing late",
        BILLING,
        None,
        Some(now - hour),
        "e@example.com",
    );
    let cases: Vec<(Invocation, Vec<&SimTicket>)> = vec![
        (
            Invocation::BotMessage("Overdue Tickets".into()),
            vec![&late2, &late1],
        ),
        (
            Invocation::MenuAction("Overdue Tickets".into()),
            vec![&late2, &late1],
        ),
        (
            Invocation::BotMessage("期限切れ".into()),
            vec![&late2, &late1],
        ),
        // Due today: earlier today (already overdue) and still to come, soonest first.
        (
            Invocation::BotMessage("due TODAY".into()),
            vec![&late2, &today],
        ),
        (
            Invocation::MenuAction("Due Today".into()),
            vec![&late2, &today],
        ),
        (
            Invocation::BotMessage("今日が期限".into()),
            vec![&late2, &today],
        ),
        (
            Invocation::MenuAction("Open Tickets".into()),
            vec![&_later, &today, &late2],
        ),
        (
            Invocation::BotMessage("未完了".into()),
            vec![&_later, &today, &late2],
        ),
    ];
    for (inv, want) in cases {
        let (status, v) = ask(&env, inv.clone(), &sato("en"), &ChatRef::bot()).await;
        assert_eq!(status, 200);
        let rows = numbers(&v["output"]);
        assert_eq!(rows.len(), want.len(), "{inv:?}: {v}");
        for (cell, t) in rows.iter().zip(want) {
            assert!(
                has_number(cell, &t.ticket_number),
                "{inv:?}: {cell} vs {}",
                t.ticket_number
            );
        }
        assert!(!v.to_string().contains("Billing late"));
    }
    let (_, ja) = ask(
        &env,
        Invocation::MenuAction("Overdue Tickets".into()),
        &sato("ja"),
        &ChatRef::bot(),
    )
    .await;
    assert_eq!(ja["output"]["card"]["title"], "期限切れのチケット");
}

#[actix_rt::test]
async fn phrases_with_nothing_to_show_say_so_and_anything_else_gets_the_help_card() {
    let env = Env::start("").await;
    let (_, en) = ask(
        &env,
        Invocation::BotMessage("Overdue Tickets".into()),
        &sato("en"),
        &ChatRef::bot(),
    )
    .await;
    assert_eq!(
        en["output"]["text"],
        "No overdue tickets in your departments."
    );
    let (_, ja) = ask(
        &env,
        Invocation::MenuAction("Due Today".into()),
        &sato("ja"),
        &ChatRef::bot(),
    )
    .await;
    assert_eq!(
        ja["output"]["text"],
        "あなたの部門に今日が期限のチケットはありません。"
    );
    let (_, open) = ask(
        &env,
        Invocation::BotMessage("open tickets".into()),
        &sato("en"),
        &ChatRef::bot(),
    )
    .await;
    assert_eq!(
        open["output"]["text"],
        "No open tickets in your departments."
    );
    let (_, help) = ask(
        &env,
        Invocation::BotMessage("hello there".into()),
        &sato("en"),
        &ChatRef::bot(),
    )
    .await;
    assert_eq!(
        help["output"]["card"]["title"], "What I understand",
        "{help}"
    );
    let items = help["output"]["slides"][0]["data"].to_string();
    assert!(
        items.contains("Overdue Tickets") && items.contains("/pendingtickets"),
        "{items}"
    );
    let (_, help_ja) = ask(
        &env,
        Invocation::BotMessage("こんにちは".into()),
        &sato("ja"),
        &ChatRef::bot(),
    )
    .await;
    assert_eq!(help_ja["output"]["card"]["title"], "使い方");
}

#[actix_rt::test]
async fn customer_text_in_answers_cannot_ping_or_link() {
    let env = Env::start("").await;
    put(
        &env,
        "{@all} see [here](https://evil.example) *now*",
        SUPPORT,
        Some(SATO),
        None,
        "a@example.com",
    );
    let (_, v) = ask(&env, command("ticket", ""), &sato("en"), &ChatRef::bot()).await;
    let subject = v["output"]["slides"][0]["data"]["rows"][0]["Subject"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !subject.contains("{@all}") && !subject.contains("](") && !subject.contains("https://"),
        "{subject}"
    );
}

async fn signed_raw(env: &Env, body: Vec<u8>, sig: Option<String>) -> (u16, Value) {
    deskcliq::sim::send_callback(&env.callback_url(), body, sig).await
}

#[actix_rt::test]
async fn callbacks_are_refused_401_unless_signed_fresh_and_unaltered() {
    let env = Env::start("").await;
    let body = env
        .sim
        .callback_body(&command("ticket", ""), &sato("en"), &ChatRef::bot());
    let bytes = serde_json::to_vec(&body).unwrap();
    // Missing.
    let (s, _) = signed_raw(&env, bytes.clone(), None).await;
    assert_eq!(s, 401);
    // Signed with another key (the Desk JWT key of the simulator).
    let other = deskcliq::jwt::SigningKey::from_pkcs8_pem(
        include_str!("../src/sim/keys/desk-jwt.pkcs8.pem"),
        "x",
    )
    .unwrap();
    use base64::Engine as _;
    let wrong = base64::engine::general_purpose::STANDARD.encode(other.sign_raw(&bytes).unwrap());
    let (s, _) = signed_raw(&env, bytes.clone(), Some(wrong)).await;
    assert_eq!(s, 401);
    // Altered after signing.
    let good = env.sim.sign_cliq(&bytes);
    let altered = String::from_utf8(bytes.clone())
        .unwrap()
        .replace(SATO_EMAIL, "kim@example.com");
    let (s, _) = signed_raw(&env, altered.into_bytes(), Some(good.clone())).await;
    assert_eq!(s, 401);
    // Garbage in the header.
    let (s, _) = signed_raw(&env, bytes.clone(), Some("not base64!".into())).await;
    assert_eq!(s, 401);
    // Stale: signed properly, but six minutes old.
    let mut old = body.clone();
    old["timestamp"] = json!(env.clock.now().timestamp_millis() - 6 * 60 * 1000);
    let (b, h) = env.sim.signed_callback(&old, Carrier::Header);
    let (s, _) = signed_raw(&env, b, h).await;
    assert_eq!(s, 401);
    // Nothing was answered or kept for any of them.
    assert!(
        env.app()
            .store
            .tree::<String, Value>(deskcliq::store::TreeName::Answers)
            .is_empty()
            .unwrap()
    );
    // Both carriers of a good signature are accepted.
    for carrier in [Carrier::Header, Carrier::BodyField] {
        let (b, h) = env.sim.signed_callback(&body, carrier);
        let (s, v) = signed_raw(&env, b, h).await;
        assert_eq!(s, 200, "{carrier:?}: {v}");
        assert_eq!(v["output"]["text"], "No tickets are assigned to you.");
    }
    // Signed but not Cliq's shape: 400 with the reason.
    let (b, h) = env
        .sim
        .signed_callback(&json!({"type": "command"}), Carrier::Header);
    let (s, v) = signed_raw(&env, b, h).await;
    assert_eq!(s, 400);
    assert!(v.as_str().unwrap_or_default().contains("params"), "{v}");
}

#[actix_rt::test]
async fn a_caller_from_another_organisation_or_not_an_agent_gets_only_a_banner() {
    let env = Env::start("").await;
    put(&env, "Mine", SUPPORT, Some(SATO), None, "a@example.com");
    let mut outsider = sato("en");
    outsider.organization_id = "9999999".into();
    let (s, v) = ask(&env, command("ticket", ""), &outsider, &ChatRef::bot()).await;
    assert_eq!(s, 200);
    assert!(assert_banner(&v, "failure").contains("another Cliq organisation"));
    assert!(!v.to_string().contains("Mine"));
    let stranger = CliqUser::new("123", "stranger@example.com", "ja");
    let (_, v) = ask(&env, command("ticket", ""), &stranger, &ChatRef::bot()).await;
    assert_eq!(
        assert_banner(&v, "failure"),
        "あなたはこのDeskポータルのエージェントではありません。"
    );
    assert!(
        env.app()
            .store
            .tree::<String, Value>(deskcliq::store::TreeName::Answers)
            .is_empty()
            .unwrap()
    );
    let m = env.app().metrics.render();
    assert!(
        m.contains(r#"deskcliq_commands_total{name="ticket",outcome="not_an_agent"} 1"#),
        "{m}"
    );
}

#[actix_rt::test]
async fn desk_slow_answers_working_at_once_then_posts_the_answer_to_response_url() {
    let env = Env::start("").await;
    let t = put(&env, "Slow one", SUPPORT, Some(SATO), None, "a@example.com");
    env.sim.set_latency(Duration::from_secs(4));
    let started = std::time::Instant::now();
    let (s, v) = ask(
        &env,
        command("ticket", &t.ticket_number),
        &sato("en"),
        &ChatRef::bot(),
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "answered before Desk did"
    );
    assert!(assert_banner(&v, "success").contains("Asking Desk"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let late = loop {
        if let Some(r) = env.sim.cliq_responses().into_iter().next() {
            break r;
        }
        assert!(tokio::time::Instant::now() < deadline, "no late answer");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let rows = numbers(&late.1["output"]);
    assert_eq!(rows.len(), 1, "{late:?}");
    assert!(has_number(&rows[0], &t.ticket_number));
    env.sim.set_latency(Duration::ZERO);
}

/// Asks `/ticket` in `chat` and clicks the answer's Post here as `clicker`, `times` times.
async fn post_here(env: &Env, chat: &ChatRef, clicker: &CliqUser, times: usize) -> Vec<Value> {
    let (_, v) = ask(env, command("ticket", ""), &sato("en"), chat).await;
    let key = post_key(&v["output"]).expect("a Post here button");
    let mut out = Vec::new();
    for _ in 0..times {
        let (s, r) = ask(env, Invocation::Button(key.clone()), clicker, chat).await;
        assert_eq!(s, 200);
        out.push(r);
    }
    out
}

fn posts_of(records: &[deskcliq::sim::CliqRecord], title: &str) -> Vec<CliqTarget> {
    records
        .iter()
        .filter(|r| r.message["card"]["title"] == title)
        .map(|r| r.target.clone())
        .collect()
}

#[actix_rt::test]
async fn post_here_posts_the_answer_once_in_the_channel_even_when_clicked_twice() {
    let env = Env::start("").await;
    put(&env, "Shared", SUPPORT, Some(SATO), None, "a@example.com");
    let replies = post_here(&env, &ChatRef::channel("support"), &sato("en"), 2).await;
    assert_eq!(assert_banner(&replies[0], "success"), "Posted.");
    assert_eq!(
        assert_banner(&replies[1], "success"),
        "This answer was already posted."
    );
    let records = env.settle().await;
    let posts = posts_of(&records, "Your most recent tickets");
    assert_eq!(posts, vec![CliqTarget::Channel("support".into())]);
    let posted = records
        .iter()
        .find(|r| r.message["card"]["title"] == "Your most recent tickets")
        .unwrap();
    assert!(posted.message.to_string().contains("Shared"));
    assert!(
        !posted.message.to_string().contains("post:"),
        "no Post here on the post"
    );
}

#[actix_rt::test]
async fn post_here_in_the_bots_chat_is_a_bot_dm_and_elsewhere_is_refused() {
    let env = Env::start("").await;
    put(&env, "Shared", SUPPORT, Some(SATO), None, "a@example.com");
    let r = post_here(&env, &ChatRef::bot(), &sato("en"), 1).await;
    assert_eq!(assert_banner(&r[0], "success"), "Posted.");
    let r = post_here(&env, &ChatRef::direct(), &sato("en"), 1).await;
    assert!(assert_banner(&r[0], "failure").contains("only in a channel I belong to"));
    let r = post_here(&env, &ChatRef::channel("random"), &sato("ja"), 1).await;
    assert_banner(&r[0], "failure");
    // Someone else cannot post Sato's answer.
    let kim = CliqUser::new(KIM_ZUID, "kim@example.com", "en");
    let r = post_here(&env, &ChatRef::channel("support"), &kim, 1).await;
    assert_banner(&r[0], "failure");
    let records = env.settle().await;
    let posts = posts_of(&records, "Your most recent tickets");
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(
        matches!(&posts[0], CliqTarget::Dm(users) if users.contains(&SATO_ZUID.to_string())),
        "{posts:?}"
    );
}

/// JSON with non-ASCII written as `\uXXXX`, as Python's `json.dumps` and Java write it.
fn ascii_json(v: &Value) -> String {
    serde_json::to_string(v)
        .unwrap()
        .chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                let mut buf = [0u16; 2];
                c.encode_utf16(&mut buf)
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect()
            }
        })
        .collect()
}

#[actix_rt::test]
async fn a_body_field_signature_over_ascii_escaped_japanese_is_accepted() {
    let env = Env::start("").await;
    let mut body = env.sim.callback_body(
        &Invocation::BotMessage("期限切れ".into()),
        &sato("ja"),
        &ChatRef::bot(),
    );
    let signed = ascii_json(&body);
    assert!(signed.contains("\\u671f"), "{signed}");
    body["signature"] = json!(env.sim.sign_cliq(signed.as_bytes()));
    let (s, v) = signed_raw(&env, ascii_json(&body).into_bytes(), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["output"]["text"],
        "あなたの部門に期限切れのチケットはありません。"
    );
}

#[actix_rt::test]
async fn post_here_never_puts_another_departments_tickets_in_a_department_channel() {
    let env = Env::start("").await;
    put(
        &env,
        "Support side",
        SUPPORT,
        None,
        None,
        "both@example.com",
    );
    put(
        &env,
        "Billing side",
        BILLING,
        None,
        None,
        "both@example.com",
    );
    let suzuki = CliqUser::new(SUZUKI_ZUID, "suzuki@example.co.jp", "en");
    let mut results = Vec::new();
    for chat in [ChatRef::channel("support"), ChatRef::channel("desk")] {
        let (_, v) = ask(&env, command("ticket", "both@example.com"), &suzuki, &chat).await;
        assert_eq!(numbers(&v["output"]).len(), 2, "{v}");
        let key = post_key(&v["output"]).unwrap();
        let (_, r) = ask(&env, Invocation::Button(key), &suzuki, &chat).await;
        results.push(r);
    }
    assert_banner(&results[0], "failure");
    assert_eq!(assert_banner(&results[1], "success"), "Posted.");
    let posts = posts_of(
        &env.settle().await,
        "Most recent tickets from both@example.com",
    );
    assert_eq!(posts, vec![CliqTarget::Channel("desk".into())]);
}

#[actix_rt::test]
async fn the_help_card_is_not_kept_and_has_no_post_here() {
    let env = Env::start("").await;
    let (_, help) = ask(
        &env,
        Invocation::BotMessage("hello".into()),
        &sato("en"),
        &ChatRef::bot(),
    )
    .await;
    assert!(post_key(&help["output"]).is_none());
    assert!(
        env.app()
            .store
            .tree::<String, Value>(deskcliq::store::TreeName::Answers)
            .is_empty()
            .unwrap()
    );
}

#[actix_rt::test]
async fn a_disabled_agent_is_answered_like_a_non_agent() {
    let env = Env::start("").await;
    env.sim.with(|st| {
        if let Some(a) = st.desk.agents.iter_mut().find(|a| a.id == SATO) {
            a.status = "DISABLED".into();
        }
    });
    env.app()
        .router
        .directory
        .refresh(&env.app().router.shared, deskcliq::sim::CLIQ_ORG_ID)
        .await
        .unwrap();
    let (_, v) = ask(&env, command("ticket", ""), &sato("en"), &ChatRef::bot()).await;
    assert_eq!(
        assert_banner(&v, "failure"),
        "You are not an agent of this Desk portal."
    );
}

/// `body` signed in the `X-Cliq-Signature` header and sent.
async fn signed(env: &Env, body: &Value) -> (u16, Value) {
    let (b, h) = env.sim.signed_callback(body, Carrier::Header);
    signed_raw(env, b, h).await
}

#[actix_rt::test]
async fn an_older_menu_action_with_only_a_top_level_handler_name_is_answered() {
    let env = Env::start("").await;
    let now = env.clock.now();
    let late = put(
        &env,
        "Late one",
        SUPPORT,
        Some(SATO),
        Some(now - chrono::Duration::hours(3)),
        "a@example.com",
    );
    let mut body = env.sim.callback_body(
        &Invocation::MenuAction("Overdue Tickets".into()),
        &sato("en"),
        &ChatRef::bot(),
    );
    let o = body.as_object_mut().unwrap();
    o.remove("handler");
    o.insert("handler_name".into(), json!("Overdue Tickets"));
    let (s, v) = signed(&env, &body).await;
    assert_eq!(s, 200, "{v}");
    let rows = numbers(&v["output"]);
    assert_eq!(rows.len(), 1, "{v}");
    assert!(has_number(&rows[0], &late.ticket_number), "{v}");
    let m = env.app().metrics.render();
    assert!(
        m.contains(r#"deskcliq_commands_total{name="menu_action",outcome="answered"} 1"#),
        "{m}"
    );
}

#[actix_rt::test]
async fn a_fresh_fractional_timestamp_in_milliseconds_or_seconds_is_accepted() {
    let env = Env::start("").await;
    let ms = env.clock.now().timestamp_millis();
    for t in [
        json!(ms as f64 + 0.5),
        json!(ms as f64 / 1000.0),
        json!(format!("{}.25", ms)),
    ] {
        let mut body = env
            .sim
            .callback_body(&command("ticket", ""), &sato("en"), &ChatRef::bot());
        body["timestamp"] = t.clone();
        let (s, v) = signed(&env, &body).await;
        assert_eq!(s, 200, "{t}: {v}");
        assert_eq!(
            v["output"]["text"], "No tickets are assigned to you.",
            "{t}"
        );
    }
    // A stale one is still refused, whatever its form.
    let mut body = env
        .sim
        .callback_body(&command("ticket", ""), &sato("en"), &ChatRef::bot());
    body["timestamp"] = json!((ms - 6 * 60 * 1000) as f64 / 1000.0);
    let (s, _) = signed(&env, &body).await;
    assert_eq!(s, 401);
}

#[actix_rt::test]
async fn a_correctly_signed_body_that_is_not_a_cliq_callback_is_refused_400_with_the_reason() {
    let env = Env::start("").await;
    for (bytes, reason) in [
        (b"not json at all".to_vec(), "not JSON"),
        (b"{\"type\": \"command\",".to_vec(), "not JSON"),
        (b"[1, 2]".to_vec(), "not a JSON object"),
        (b"{\"type\": \"command\"}".to_vec(), "params"),
    ] {
        let sig = env.sim.sign_cliq(&bytes);
        let (s, v) = signed_raw(&env, bytes.clone(), Some(sig)).await;
        assert_eq!(s, 400, "{}: {v}", String::from_utf8_lossy(&bytes));
        assert!(v.as_str().unwrap_or_default().contains(reason), "{v}");
    }
    // The same bytes unsigned or wrongly signed are still 401.
    let (s, _) = signed_raw(&env, b"not json at all".to_vec(), None).await;
    assert_eq!(s, 401);
    let other = env.sim.sign_cliq(b"something else");
    let (s, _) = signed_raw(&env, b"not json at all".to_vec(), Some(other)).await;
    assert_eq!(s, 401);
    let m = env.app().metrics.render();
    assert!(
        m.contains(r#"deskcliq_commands_total{name="-",outcome="malformed"} 4"#),
        "{m}"
    );
}

#[actix_rt::test]
async fn a_caller_known_only_by_params_access_is_mapped_to_their_agent_by_zoho_user_id() {
    let env = Env::start("").await;
    let t = put(&env, "Mine", SUPPORT, Some(SATO), None, "a@example.com");
    let without_user = |user: &CliqUser| {
        let mut body = env
            .sim
            .callback_body(&command("ticket", ""), user, &ChatRef::bot());
        body["params"].as_object_mut().unwrap().remove("user");
        body
    };
    // Sato's id and organisation only in params.access: their tickets, in the org's language.
    let (s, v) = signed(&env, &without_user(&sato("ja"))).await;
    assert_eq!(s, 200, "{v}");
    let rows = numbers(&v["output"]);
    assert_eq!(rows.len(), 1, "{v}");
    assert!(has_number(&rows[0], &t.ticket_number), "{v}");
    assert_eq!(v["output"]["card"]["title"], "Your most recent tickets");
    // An id that is no agent's: a banner that says the email was missing.
    let (s, v) = signed(
        &env,
        &without_user(&CliqUser::new("123", "stranger@example.com", "en")),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        assert_banner(&v, "failure"),
        "Cliq did not send your email address, and your Zoho user is not an agent of this Desk portal."
    );
    // Another organisation in params.access is still refused.
    let mut outsider = sato("en");
    outsider.organization_id = "9999999".into();
    let (_, v) = signed(&env, &without_user(&outsider)).await;
    assert!(assert_banner(&v, "failure").contains("another Cliq organisation"));
    // No user id anywhere: 400, nothing kept beyond Sato's one answer.
    let mut body = without_user(&sato("en"));
    body["params"]["access"]
        .as_object_mut()
        .unwrap()
        .remove("user_id");
    let (s, v) = signed(&env, &body).await;
    assert_eq!(s, 400, "{v}");
    assert!(v.as_str().unwrap_or_default().contains("no user"), "{v}");
    assert_eq!(
        env.app()
            .store
            .tree::<String, Value>(deskcliq::store::TreeName::Answers)
            .len()
            .unwrap(),
        1
    );
}

#[actix_rt::test]
async fn ticket_by_email_in_brackets_a_mailto_link_or_with_invisible_characters_finds_the_customer()
{
    let env = Env::start("").await;
    let t = put(&env, "Wrapped", SUPPORT, None, None, "yamada@example.com");
    for arg in [
        "<yamada@example.com>",
        "[yamada@example.com](mailto:yamada@example.com)",
        "mailto:Yamada@Example.com",
        "\u{200B}yamada@example.com\u{FEFF}",
    ] {
        let (s, v) = ask(&env, command("ticket", arg), &sato("en"), &ChatRef::bot()).await;
        assert_eq!(s, 200, "{arg:?}: {v}");
        let rows = numbers(&v["output"]);
        assert_eq!(rows.len(), 1, "{arg:?}: {v}");
        assert!(has_number(&rows[0], &t.ticket_number), "{arg:?}: {v}");
    }
    // A link whose text is not its address is not guessed at.
    let (_, v) = ask(
        &env,
        command("ticket", "[yamada@example.com](mailto:other@example.com)"),
        &sato("en"),
        &ChatRef::bot(),
    )
    .await;
    assert_eq!(v["output"]["type"], "banner", "{v}");
}
