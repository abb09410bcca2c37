//! Feature 2: quick actions from a notification card, as the agent, through per-agent OAuth —
//! the whole app against the simulator.

mod common;

use std::time::Duration;

use common::app::*;
use deskcliq::sim::{
    Carrier, ChatRef, CliqRecord, CliqUser, Fault, FaultKind, Invocation, NewTicket, SimTicket,
    send_callback,
};
use serde_json::{Value, json};

const SATO_EMAIL: &str = "sato@example.co.jp";
const KIM_ZUID: &str = "55667790";
const PUBLIC: &str = "https://deskcliq.example.com";

fn sato() -> CliqUser {
    CliqUser::new(SATO_ZUID, SATO_EMAIL, "en")
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// An unassigned Support ticket whose card lands in #support; returns it and its card.
async fn ticket_with_card(env: &Env, subject: &str, dep: &str) -> (SimTicket, CliqRecord) {
    let t = env.sim.create_ticket(NewTicket {
        subject: subject.into(),
        department_id: dep.into(),
        contact_email: "customer@example.com".into(),
        ..Default::default()
    });
    let records = env.settle().await;
    let card = records
        .into_iter()
        .find(|r| {
            r.message.to_string().contains(&format!(":{}\"", t.id))
                || r.message.to_string().contains(subject)
        })
        .expect("a card for the ticket");
    (t, card)
}

fn keys(card: &CliqRecord) -> Vec<String> {
    card.message["buttons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["key"].as_str().map(str::to_string))
        .collect()
}

async fn click(env: &Env, user: &CliqUser, key: &str, card: &CliqRecord, chat: &ChatRef) -> Value {
    let inv = Invocation::CardButton {
        key: key.into(),
        chat_id: card.chat_id.clone(),
        message_id: card.message_id.clone(),
    };
    let (s, v) = env.sim.invoke(&env.callback_url(), &inv, user, chat).await;
    assert_eq!(s, 200, "{v}");
    v["output"].clone()
}

async fn submit(env: &Env, user: &CliqUser, form: &str, values: Value, chat: &ChatRef) -> Value {
    let inv = Invocation::Form {
        name: form.into(),
        values,
    };
    let (s, v) = env.sim.invoke(&env.callback_url(), &inv, user, chat).await;
    assert_eq!(s, 200, "{v}");
    v["output"].clone()
}

/// The Connect button's URL of a prompt, pointed at the app.
fn connect_url(env: &Env, output: &Value) -> String {
    let url = output["buttons"]
        .as_array()
        .and_then(|b| b.iter().find_map(|b| b["action"]["data"]["web"].as_str()))
        .unwrap_or_else(|| panic!("no Connect button: {output}"));
    assert!(
        url.starts_with(&format!("{PUBLIC}/oauth/start?state=")),
        "{url}"
    );
    url.replace(PUBLIC, &format!("http://{}", env.app().addrs[0]))
}

/// Follows a Connect link through Zoho's consent page as the Zoho user `zuid` signed in to
/// the browser; returns the callback page's status and text, and the callback URL used.
async fn consent(env: &Env, start: &str, zuid: &str, email: &str) -> (u16, String, String) {
    let http = no_redirects();
    let r = http.get(start).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 302, "{:?}", r.text().await);
    let auth = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        auth.starts_with(&format!("{}/oauth/v2/auth?", env.sim.base_url())),
        "{auth}"
    );
    for part in [
        "access_type=offline",
        "response_type=code",
        "Desk.tickets.UPDATE",
        "redirect_uri=https%3A%2F%2Fdeskcliq.example.com%2Foauth%2Fcallback",
    ] {
        assert!(auth.contains(part), "{part} in {auth}");
    }
    env.sim.with(|st| st.sign_in(zuid, email));
    let r = http.get(&auth).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 302);
    let back = r.headers()["location"].to_str().unwrap().to_string();
    let back = back.replace(PUBLIC, &format!("http://{}", env.app().addrs[0]));
    let r = http.get(&back).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap(), back)
}

/// Links Sato (clicking an action of `card` first, as an unlinked agent does).
async fn link_sato(env: &Env, card: &CliqRecord, key: &str) {
    let prompt = click(env, &sato(), key, card, &ChatRef::channel("support")).await;
    let (status, page, _) = consent(env, &connect_url(env, &prompt), SATO_ZUID, SATO_EMAIL).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Zoho Desk connected"), "{page}");
}

fn sato_grant(env: &Env) -> Option<String> {
    env.sim
        .grants()
        .into_iter()
        .find(|(_, z)| z == SATO_ZUID)
        .map(|(rt, _)| rt)
}

fn files_contain(dir: &std::path::Path, needle: &[u8]) -> bool {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                return true;
            }
        }
    }
    false
}

#[actix_rt::test]
async fn an_unlinked_agent_gets_a_connect_prompt_and_the_oauth_round_trip_links_them() {
    let env = Env::start("").await;
    let (t, card) = ticket_with_card(&env, "Printer on fire", SUPPORT).await;
    let key = format!("status:{}", t.id);
    assert!(keys(&card).contains(&key), "{:?}", keys(&card));
    let prompt = click(&env, &sato(), &key, &card, &ChatRef::channel("support")).await;
    assert!(
        prompt["text"]
            .as_str()
            .unwrap()
            .contains("Connect your Zoho Desk account")
    );
    assert_eq!(prompt["buttons"][0]["label"], "Connect Zoho Desk");
    let (status, page, _) = consent(&env, &connect_url(&env, &prompt), SATO_ZUID, SATO_EMAIL).await;
    assert_eq!(status, 200, "{page}");
    let refresh = sato_grant(&env).expect("a grant for Sato");
    // The refresh token is nowhere in the store's files as plain text.
    env.app().store.flush().await.unwrap();
    assert!(!files_contain(
        &env.dir.path().join("state"),
        refresh.as_bytes()
    ));
    // Linked: the same click now opens the status form.
    let form = click(&env, &sato(), &key, &card, &ChatRef::channel("support")).await;
    assert_eq!(form["type"], "form", "{form}");
    assert_eq!(form["name"], key);
    // Unlink removes it.
    let (_, v) = env
        .sim
        .invoke(
            &env.callback_url(),
            &Invocation::Command {
                name: "deskcliq".into(),
                arguments: "unlink".into(),
            },
            &sato(),
            &ChatRef::bot(),
        )
        .await;
    assert_eq!(
        v["output"]["text"],
        "Your Zoho Desk account is disconnected."
    );
    let stored = env
        .app()
        .store
        .tree::<String, Value>(deskcliq::store::TreeName::Tokens)
        .get(&format!("agent:{SATO_ZUID}:grant"))
        .unwrap();
    assert!(stored.is_none(), "the sealed grant is gone");
    assert!(sato_grant(&env).is_none(), "and revoked at Zoho");
    let again = click(&env, &sato(), &key, &card, &ChatRef::channel("support")).await;
    assert!(
        again["text"].as_str().unwrap().contains("Connect"),
        "{again}"
    );
    let m = env.app().metrics.render();
    assert!(
        m.contains(r#"deskcliq_actions_total{name="link",outcome="linked"} 1"#),
        "{m}"
    );
}

#[actix_rt::test]
async fn an_unreadable_grant_is_set_aside_and_a_new_link_offered() {
    let env = Env::start("").await;
    let (t, card) = ticket_with_card(&env, "Printer on fire", SUPPORT).await;
    let key = format!("status:{}", t.id);
    // Sato's sealed grant cannot be read (a damaged store, or a shape this build does not know).
    env.app()
        .store
        .tree::<String, String>(deskcliq::store::TreeName::Tokens)
        .insert(
            &format!("agent:{SATO_ZUID}:grant"),
            &"not a record".to_string(),
        )
        .unwrap();
    let deskcliq = |arguments: &str| Invocation::Command {
        name: "deskcliq".into(),
        arguments: arguments.into(),
    };
    // /deskcliq link offers a link, not "Desk did not answer" every time.
    let (_, v) = env
        .sim
        .invoke(
            &env.callback_url(),
            &deskcliq("link"),
            &sato(),
            &ChatRef::bot(),
        )
        .await;
    assert_eq!(
        v["output"]["buttons"][0]["label"], "Connect Zoho Desk",
        "{v}"
    );
    // Unlinking forgets it rather than failing.
    let (_, v) = env
        .sim
        .invoke(
            &env.callback_url(),
            &deskcliq("unlink"),
            &sato(),
            &ChatRef::bot(),
        )
        .await;
    assert_eq!(
        v["output"]["text"], "No Zoho Desk account was connected.",
        "{v}"
    );
    assert!(env.app().store.corrupt_records() >= 1);
    // Linking writes the grant anew, and the action opens.
    link_sato(&env, &card, &key).await;
    let form = click(&env, &sato(), &key, &card, &ChatRef::channel("support")).await;
    assert_eq!(form["type"], "form", "{form}");
}

#[actix_rt::test]
async fn a_grant_of_another_user_and_a_forged_or_reused_state_are_refused() {
    let env = Env::start("").await;
    let (t, card) = ticket_with_card(&env, "Printer on fire", SUPPORT).await;
    let key = format!("status:{}", t.id);
    // Kim signs in to Zoho with Sato's link.
    let prompt = click(&env, &sato(), &key, &card, &ChatRef::channel("support")).await;
    let (status, page, _) = consent(
        &env,
        &connect_url(&env, &prompt),
        KIM_ZUID,
        "kim@example.com",
    )
    .await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("someone else"), "{page}");
    let stored = env
        .app()
        .store
        .tree::<String, Value>(deskcliq::store::TreeName::Tokens)
        .get(&format!("agent:{SATO_ZUID}:grant"))
        .unwrap();
    assert!(stored.is_none());
    // A forged state.
    let http = no_redirects();
    let base = format!("http://{}", env.app().addrs[0]);
    let r = http
        .get(format!("{base}/oauth/start?state=abc.def"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = http
        .get(format!("{base}/oauth/callback?code=x&state=abc.def"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // A forged state is a bad request whatever else the callback says.
    for query in ["state=abc.def", "state=abc.def&error=access_denied", ""] {
        let r = http
            .get(format!("{base}/oauth/callback?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{query}");
    }
    // A used state cannot be used again.
    let prompt = click(&env, &sato(), &key, &card, &ChatRef::channel("support")).await;
    let (status, _, back) = consent(&env, &connect_url(&env, &prompt), SATO_ZUID, SATO_EMAIL).await;
    assert_eq!(status, 200);
    let r = http.get(&back).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("already used"));
}

#[actix_rt::test]
async fn a_page_about_a_link_that_is_not_ours_follows_the_browsers_language() {
    let env = Env::start("").await;
    let base = format!("http://{}", env.app().addrs[0]);
    let get = |path: &str, lang: Option<&str>| {
        let mut r = no_redirects().get(format!("{base}{path}"));
        if let Some(l) = lang {
            r = r.header("Accept-Language", l);
        }
        r.send()
    };
    // The org's language is English; the state says none.
    for path in [
        "/oauth/start?state=abc.def",
        "/oauth/callback?code=x&state=abc.def",
    ] {
        let r = get(path, Some("ja-JP,ja;q=0.9,en-US;q=0.8")).await.unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let page = r.text().await.unwrap();
        assert!(page.contains("<html lang=\"ja\">"), "{path}: {page}");
        assert!(page.contains("このリンクは無効か期限切れです"), "{page}");
        // English preferred, a language deskcliq does not speak, or none: English.
        for lang in [Some("fr-FR, en;q=0.5, ja;q=0.4"), Some("de"), None] {
            let page = get(path, lang).await.unwrap().text().await.unwrap();
            assert!(page.contains("<html lang=\"en\">"), "{lang:?}: {page}");
        }
    }
}

#[actix_rt::test]
async fn an_expired_connect_link_is_explained_in_the_agents_language() {
    let env = Env::start("").await;
    let (t, card) = ticket_with_card(&env, "Printer on fire", SUPPORT).await;
    // The org's language is English; Sato's Cliq is in Japanese.
    let ja = CliqUser::new(SATO_ZUID, SATO_EMAIL, "ja");
    let key = format!("status:{}", t.id);
    let prompt = click(&env, &ja, &key, &card, &ChatRef::channel("support")).await;
    let start = connect_url(&env, &prompt);
    // Past the link's 15 minutes.
    env.clock.advance(chrono::Duration::minutes(16));
    let r = no_redirects().get(&start).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("<html lang=\"ja\">"), "{page}");
    assert!(page.contains("このリンクは無効か期限切れです"), "{page}");
}

#[actix_rt::test]
async fn a_connect_link_forgotten_after_it_expired_is_not_called_used() {
    let env = Env::start("").await;
    let (t, card) = ticket_with_card(&env, "Printer on fire", SUPPORT).await;
    let key = format!("status:{}", t.id);
    let prompt = click(&env, &sato(), &key, &card, &ChatRef::channel("support")).await;
    let start = connect_url(&env, &prompt);
    // Hours later the hourly pruning has forgotten the expired link, as it does.
    env.clock.advance(chrono::Duration::hours(2));
    let tokens = env
        .app()
        .store
        .tree::<String, Value>(deskcliq::store::TreeName::Tokens);
    for (k, _) in tokens.all().unwrap() {
        if k.starts_with("oauth-pending:") {
            tokens.remove(&k).unwrap();
        }
    }
    let r = no_redirects().get(&start).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("expired"), "never used, only expired: {page}");
}

#[actix_rt::test]
async fn an_unreadable_record_does_not_stop_expired_connect_links_being_pruned() {
    let env = Env::start("").await;
    let (t, card) = ticket_with_card(&env, "Printer on fire", SUPPORT).await;
    let key = format!("status:{}", t.id);
    click(&env, &sato(), &key, &card, &ChatRef::channel("support")).await;
    let store = env.app().store.clone();
    // A record whose key cannot be read (a damaged store) among the Connect links.
    store
        .tree::<u64, Value>(deskcliq::store::TreeName::Tokens)
        .insert(&u64::MAX, &json!({}))
        .unwrap();
    let config = deskcliq::config::Config::parse(
        &env.config_text,
        &env.dir.path().join("config.toml"),
        &deskcliq::config::LoadEnv::default(),
    )
    .unwrap();
    let (_keep, config) = tokio::sync::watch::channel(std::sync::Arc::new(config));
    let linker = deskcliq::link::Linker::new(
        deskcliq::actors::Shared {
            store: store.clone(),
            metrics: env.app().metrics.clone(),
            clock: env.clock.clone(),
            zoho: None,
        },
        config,
        deskcliq::pipeline::Directory::default(),
    );
    env.clock.advance(chrono::Duration::hours(2));
    assert_eq!(linker.prune().unwrap(), 1, "the expired Connect link");
    assert_eq!(store.corrupt_records(), 1);
    assert_eq!(linker.prune().unwrap(), 0);
}

#[actix_rt::test]
async fn a_card_is_not_edited_while_cliq_has_the_sender_locked_out() {
    let env = Env::start("").await;
    let (t, card, key) = status_form_opened_by_sato(&env).await;
    // Cliq throttles the next post: the sender is locked out for ten minutes.
    env.sim.inject(Fault {
        path_contains: "/channelsbyname/".into(),
        kind: FaultKind::Throttle,
        times: 1,
    });
    env.sim.create_ticket(NewTicket {
        subject: "another".into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        ..Default::default()
    });
    env.wait_metric("deskcliq_deliveries_total{outcome=\"throttled\"} 1")
        .await;
    // The change itself runs in Desk; nothing is sent to Cliq during the lockout.
    let done = close_from_support(&env, &key).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(
        env.sim
            .with(|st| st.ticket(&t.id).map(|t| t.status.clone())),
        Some("Closed".into())
    );
    let edited = env
        .sim
        .cliq_messages()
        .into_iter()
        .find(|r| r.message_id == card.message_id)
        .unwrap();
    assert!(edited.edits.is_empty(), "{:?}", edited.edits);
}

#[actix_rt::test]
async fn change_status_runs_as_the_agent_edits_the_card_and_its_echo_is_silent() {
    let env = Env::start("").await;
    env.sim
        .with(|st| st.add_status("Waiting for parts", "On Hold"));
    let (t, card) = ticket_with_card(&env, "Printer on fire", SUPPORT).await;
    let key = format!("status:{}", t.id);
    link_sato(&env, &card, &key).await;
    let form = click(&env, &sato(), &key, &card, &ChatRef::channel("support")).await;
    let options = form["inputs"][0]["options"].to_string();
    for s in ["Open", "On Hold", "Closed", "Waiting for parts"] {
        assert!(options.contains(s), "{s} in {options}");
    }
    let before = env.settle().await.len();
    let done = close_from_support(&env, &key).await;
    assert_eq!(done["type"], "banner");
    assert_eq!(done["status"], "success");
    assert!(done["text"].as_str().unwrap().contains("Closed"), "{done}");
    let ticket = env.sim.with(|st| st.ticket(&t.id).cloned()).unwrap();
    assert_eq!(ticket.status, "Closed");
    assert_eq!(
        ticket.modified_by, SATO,
        "done as Sato, not the service account"
    );
    let records = env.settle().await;
    let edited = records
        .iter()
        .find(|r| r.message_id == card.message_id)
        .unwrap();
    let last = edited.edits.last().expect("the card was edited");
    assert!(
        last.contains("Closed") && last.contains("Hanako Sato"),
        "{last}"
    );
    // The webhook of that change produced no notification.
    assert_eq!(records.len(), before, "{:?}", &records[before..]);
}

/// The outbox's persisted send budget (posts in the last minute, lockout).
fn budget(env: &Env) -> deskcliq::actors::outbox::Budget {
    env.app()
        .store
        .tree::<String, deskcliq::actors::outbox::Budget>(deskcliq::store::TreeName::Budget)
        .get(&"cliq".to_string())
        .unwrap()
        .unwrap_or_default()
}

#[actix_rt::test]
async fn a_card_edit_counts_in_the_cliq_budget() {
    let env = Env::start("").await;
    let (_, card, key) = status_form_opened_by_sato(&env).await;
    env.settle().await;
    let posts = budget(&env).sent.len();
    assert_eq!(close_from_support(&env, &key).await["status"], "success");
    let records = env.settle().await;
    let edited = records
        .iter()
        .find(|r| r.message_id == card.message_id)
        .unwrap();
    assert_eq!(edited.edits.len(), 1);
    assert_eq!(budget(&env).sent.len(), posts + 1, "the edit is counted");
}

#[actix_rt::test]
async fn a_throttled_card_edit_locks_the_outbox_out_too() {
    let env = Env::start("").await;
    let (_, _, key) = status_form_opened_by_sato(&env).await;
    env.settle().await;
    env.sim.inject(Fault {
        path_contains: "/messages/".into(),
        kind: FaultKind::Throttle,
        times: 1,
    });
    assert_eq!(close_from_support(&env, &key).await["status"], "success");
    let until = budget(&env).locked_until.expect("locked out");
    assert!(
        until >= env.clock.now() + chrono::Duration::minutes(9),
        "{until}"
    );
}

#[actix_rt::test]
async fn a_rewritten_card_stays_in_the_org_language_while_the_banner_is_the_agents() {
    let env = Env::start("").await;
    let (t, card) = ticket_with_card(&env, "Printer on fire", SUPPORT).await;
    let key = format!("status:{}", t.id);
    link_sato(&env, &card, &key).await;
    // Sato's Cliq is in Japanese; the org's notifications are in English.
    let ja = CliqUser::new(SATO_ZUID, SATO_EMAIL, "ja");
    let chat = ChatRef::channel("support");
    click(&env, &ja, &key, &card, &chat).await;
    let done = submit(
        &env,
        &ja,
        &key,
        json!({"status": {"label": "Closed", "value": "Closed"}}),
        &chat,
    )
    .await;
    assert_eq!(done["status"], "success", "{done}");
    let number = &t.ticket_number;
    assert_eq!(done["text"], format!("#{number} のステータス: Closed"));
    let records = env.settle().await;
    let edited = records
        .iter()
        .find(|r| r.message_id == card.message_id)
        .unwrap();
    let last = edited.edits.last().expect("the card was edited");
    assert!(
        last.contains(&format!("Status of #{number}: Closed"))
            && last.contains("(by Hanako Sato, from Cliq)"),
        "{last}"
    );
}

#[actix_rt::test]
async fn a_rewritten_card_reads_as_one_sentence_without_a_stray_full_stop() {
    let env = Env::start("").await;
    let (t, card, key) = status_form_opened_by_sato(&env).await;
    let done = close_from_support(&env, &key).await;
    let number = &t.ticket_number;
    // The banner is a sentence of its own.
    assert_eq!(done["text"], format!("Status of #{number}: Closed."));
    let records = env.settle().await;
    let edited = records
        .iter()
        .find(|r| r.message_id == card.message_id)
        .unwrap();
    let last = edited.edits.last().expect("the card was edited");
    // Not "Closed. (by …)".
    assert!(
        last.ends_with(&format!(
            "Status of #{number}: Closed (by Hanako Sato, from Cliq)"
        )),
        "{last}"
    );
}

/// A "Printer on fire" ticket's card in #support, Sato linked and her status form open: the
/// ticket, its card and the button key.
async fn status_form_opened_by_sato(env: &Env) -> (SimTicket, CliqRecord, String) {
    let (t, card) = ticket_with_card(env, "Printer on fire", SUPPORT).await;
    let key = format!("status:{}", t.id);
    link_sato(env, &card, &key).await;
    click(env, &sato(), &key, &card, &ChatRef::channel("support")).await;
    (t, card, key)
}

/// Sato submits the Change status form of `key` (opened from #support) with Closed.
async fn close_from_support(env: &Env, key: &str) -> Value {
    submit(
        env,
        &sato(),
        key,
        json!({"status": {"label": "Closed", "value": "Closed"}}),
        &ChatRef::channel("support"),
    )
    .await
}

/// Sato submits the Assign form of `key` (opened from #support) for Taro Suzuki.
async fn assign_to_suzuki(env: &Env, key: &str) {
    let done = submit(
        env,
        &sato(),
        key,
        json!({"assignee": {"label": "Taro Suzuki", "value": format!("agent:{SUZUKI}")}}),
        &ChatRef::channel("support"),
    )
    .await;
    assert_eq!(done["status"], "success", "{done}");
}

#[actix_rt::test]
async fn assign_offers_agents_teams_and_unassign_and_assigns_as_the_agent() {
    let env = Env::start("").await;
    let (t, card) = ticket_with_card(&env, "Router down", SUPPORT).await;
    let key = format!("assign:{}", t.id);
    link_sato(&env, &card, &key).await;
    let form = click(&env, &sato(), &key, &card, &ChatRef::channel("support")).await;
    assert_eq!(form["inputs"][0]["type"], "dynamic_select");
    let values = |q: &str| Invocation::FormValues {
        name: key.clone(),
        field: "assignee".into(),
        query: q.into(),
    };
    let (_, all) = env
        .sim
        .invoke(
            &env.callback_url(),
            &values(""),
            &sato(),
            &ChatRef::channel("support"),
        )
        .await;
    let opts = all["output"]["options"].to_string();
    assert!(
        opts.contains("Unassign") && opts.contains("Taro Suzuki") && opts.contains("Tier 2"),
        "{opts}"
    );
    assert!(!opts.contains("Alex Kim"), "Kim is not in Support: {opts}");
    let (_, suz) = env
        .sim
        .invoke(
            &env.callback_url(),
            &values("suz"),
            &sato(),
            &ChatRef::channel("support"),
        )
        .await;
    assert_eq!(
        suz["output"]["options"],
        json!([{"label": "Taro Suzuki", "value": format!("agent:{SUZUKI}")}])
    );
    assign_to_suzuki(&env, &key).await;
    let ticket = env.sim.with(|st| st.ticket(&t.id).cloned()).unwrap();
    assert_eq!(ticket.assignee_id.as_deref(), Some(SUZUKI));
}

#[actix_rt::test]
async fn assigning_from_a_channel_card_dms_the_new_assignee_and_posts_nothing_to_the_channel() {
    let env = Env::start("").await;
    let (t, card) = ticket_with_card(&env, "Router down", SUPPORT).await;
    let key = format!("assign:{}", t.id);
    link_sato(&env, &card, &key).await;
    click(&env, &sato(), &key, &card, &ChatRef::channel("support")).await;
    let before = env.settle().await.len();
    assign_to_suzuki(&env, &key).await;
    let records = env.settle().await;
    let new: Vec<_> = records[before..].iter().collect();
    // The clicked card says what Sato did; Suzuki, who did not click, hears of it by DM.
    assert_eq!(
        new.iter().map(|r| r.target.clone()).collect::<Vec<_>>(),
        [deskcliq::sim::CliqTarget::Dm(vec![SUZUKI_ZUID.into()])],
        "{new:?}"
    );
    assert!(
        new[0].message.to_string().contains("Router down"),
        "{new:?}"
    );
}

#[actix_rt::test]
async fn reply_shows_the_recipient_before_sending_as_the_agent() {
    let env = Env::start("").await;
    let (t, card) = ticket_with_card(&env, "Where is my order", SUPPORT).await;
    let key = format!("reply:{}", t.id);
    link_sato(&env, &card, &key).await;
    let form = click(&env, &sato(), &key, &card, &ChatRef::channel("support")).await;
    assert_eq!(form["inputs"][0]["type"], "textarea", "{form}");
    let confirm = submit(
        &env,
        &sato(),
        &key,
        json!({"content": "It ships today."}),
        &ChatRef::channel("support"),
    )
    .await;
    assert_eq!(confirm["type"], "form", "{confirm}");
    assert_eq!(confirm["name"], format!("{key}:send"));
    assert!(
        confirm["title"]
            .as_str()
            .unwrap()
            .contains("customer@example.com"),
        "{confirm}"
    );
    let sent_before = env.sim.with(|st| {
        st.desk
            .threads
            .iter()
            .filter(|th| th.direction == "out")
            .count()
    });
    assert_eq!(sent_before, 0, "nothing is sent before the confirmation");
    let done = submit(
        &env,
        &sato(),
        &format!("{key}:send"),
        json!({"content": "It ships today."}),
        &ChatRef::channel("support"),
    )
    .await;
    assert_eq!(done["status"], "success", "{done}");
    let out: Vec<_> = env.sim.with(|st| {
        st.desk
            .threads
            .iter()
            .filter(|th| th.direction == "out")
            .cloned()
            .collect()
    });
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].to, "customer@example.com");
    assert_eq!(out[0].from_email_address, "support@example.zohodesk.jp");
    assert_eq!(out[0].responder_id.as_deref(), Some(SATO));
}

#[actix_rt::test]
async fn a_comment_is_private_by_default_and_a_double_submit_adds_it_once() {
    let env = Env::start("").await;
    let (t, card) = ticket_with_card(&env, "Noisy fan", SUPPORT).await;
    let key = format!("comment:{}", t.id);
    link_sato(&env, &card, &key).await;
    let form = click(&env, &sato(), &key, &card, &ChatRef::channel("support")).await;
    assert_eq!(form["inputs"][1]["value"], "private", "{form}");
    let values = json!({"content": "Checked the fan.", "visibility": {"label": "Agents only (private)", "value": "private"}});
    let first = submit(
        &env,
        &sato(),
        &key,
        values.clone(),
        &ChatRef::channel("support"),
    )
    .await;
    let second = submit(&env, &sato(), &key, values, &ChatRef::channel("support")).await;
    assert_eq!(first["status"], "success", "{first}");
    assert_eq!(second["text"], "This was already done.");
    let comments: Vec<_> = env.sim.with(|st| {
        st.desk
            .comments
            .iter()
            .filter(|c| c.ticket_id == t.id)
            .cloned()
            .collect()
    });
    assert_eq!(comments.len(), 1);
    assert!(!comments[0].is_public);
    // Its webhook echo is not announced either.
    let records = env.settle().await;
    assert!(
        !records
            .iter()
            .any(|r| r.message.to_string().contains("Checked the fan")),
        "{records:?}"
    );
}

#[actix_rt::test]
async fn a_revoked_grant_asks_to_reconnect_and_a_desk_validation_error_is_shown() {
    let env = Env::start("").await;
    let (t, card, key) = status_form_opened_by_sato(&env).await;
    // A status the form did not offer is refused before Desk is asked.
    let refused = submit(
        &env,
        &sato(),
        &key,
        json!({"status": "Nonexistent"}),
        &ChatRef::channel("support"),
    )
    .await;
    assert_eq!(
        refused["text"], "Choose one of the options offered.",
        "{refused}"
    );
    assert_eq!(
        env.sim.with(|st| st.ticket(&t.id).unwrap().status.clone()),
        "Open"
    );
    // Desk's own validation error: the portal lost its from-address meanwhile.
    let rkey = format!("reply:{}", t.id);
    click(&env, &sato(), &rkey, &card, &ChatRef::channel("support")).await;
    env.sim.with(|st| st.from_addresses.clear());
    let refused = submit(
        &env,
        &sato(),
        &format!("{rkey}:send"),
        json!({"content": "Hello"}),
        &ChatRef::channel("support"),
    )
    .await;
    assert_eq!(refused["status"], "failure");
    let text = refused["text"].as_str().unwrap();
    assert!(
        text.starts_with("Desk refused:") && text.contains("from-address"),
        "{refused}"
    );
    env.sim.revoke_grant(&sato_grant(&env).unwrap());
    let prompt = click(&env, &sato(), &key, &card, &ChatRef::channel("support")).await;
    assert!(
        prompt["text"].as_str().unwrap().contains("no longer works"),
        "{prompt}"
    );
    assert!(
        prompt["buttons"][0]["action"]["data"]["web"]
            .as_str()
            .unwrap()
            .contains("/oauth/start")
    );
}

#[actix_rt::test]
async fn a_401_to_a_newly_issued_token_keeps_the_agents_grant() {
    let env = Env::start("").await;
    let (t, _card, key) = status_form_opened_by_sato(&env).await;
    let grant = sato_grant(&env).unwrap();
    // Desk refuses Sato's change with a 401, and again after her grant gave a new token: the
    // grant works (Zoho just issued that token), so it is neither forgotten nor revoked.
    env.sim.inject(Fault {
        path_contains: format!("/tickets/{}", t.id),
        kind: FaultKind::Answer {
            status: 401,
            body: r#"{"errorCode":"UNAUTHORIZED","message":"You are not authorized to perform this operation."}"#.into(),
        },
        times: 2,
    });
    let refused = close_from_support(&env, &key).await;
    assert_eq!(refused["status"], "failure", "{refused}");
    assert!(
        refused["text"]
            .as_str()
            .unwrap()
            .contains("You are not authorized to perform this operation."),
        "{refused}"
    );
    assert_eq!(sato_grant(&env), Some(grant), "revoked at Zoho");
    let stored = env
        .app()
        .store
        .tree::<String, Value>(deskcliq::store::TreeName::Tokens)
        .get(&format!("agent:{SATO_ZUID}:grant"))
        .unwrap();
    assert!(stored.is_some(), "the sealed grant was forgotten");
}

#[actix_rt::test]
async fn a_change_desk_forbids_is_shown_in_desks_words_not_as_a_missing_ticket() {
    let env = Env::start("").await;
    let (t, _, key) = status_form_opened_by_sato(&env).await;
    // Sato could read the ticket; Desk refuses him the change (his profile's permissions).
    env.sim.inject(Fault {
        path_contains: format!("/tickets/{}", t.id),
        kind: FaultKind::Status(403),
        times: 1,
    });
    let refused = close_from_support(&env, &key).await;
    assert_eq!(refused["status"], "failure", "{refused}");
    let text = refused["text"].as_str().unwrap();
    assert!(
        text.starts_with("Desk refused:") && text.contains("not authorized"),
        "{refused}"
    );
    assert_eq!(
        env.sim.with(|st| st.ticket(&t.id).unwrap().status.clone()),
        "Open"
    );
    // A refusal, not an unknown outcome: the same form can be sent again once allowed.
    let done = close_from_support(&env, &key).await;
    assert_eq!(done["status"], "success", "{done}");
}

#[actix_rt::test]
async fn an_action_desk_throttles_is_refused_as_not_done_and_can_be_sent_again() {
    let env = Env::start("").await;
    let (t, _, key) = status_form_opened_by_sato(&env).await;
    // The portal's API credits for today are gone: Desk refuses the change, it did not make it.
    env.sim.inject(Fault {
        path_contains: format!("/tickets/{}", t.id),
        kind: FaultKind::TooManyRequests { retry_after: 3600 },
        times: 1,
    });
    let refused = close_from_support(&env, &key).await;
    assert_eq!(refused["status"], "failure", "{refused}");
    let text = refused["text"].as_str().unwrap();
    assert!(
        text.contains("API limit") && !text.contains("may have been made"),
        "{refused}"
    );
    assert_eq!(
        env.sim.with(|st| st.ticket(&t.id).unwrap().status.clone()),
        "Open"
    );
    // Nothing was done, so the same form is not "already done".
    let done = close_from_support(&env, &key).await;
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(
        env.sim.with(|st| st.ticket(&t.id).unwrap().status.clone()),
        "Closed"
    );
}

#[actix_rt::test]
async fn an_action_cut_off_by_cliqs_time_limit_is_reported_as_maybe_done_and_not_left_in_progress()
{
    let env = Env::start("").await;
    let (t, _, key) = status_form_opened_by_sato(&env).await;
    // Desk takes longer to answer the change than Cliq waits for the callback.
    env.sim.inject(Fault {
        path_contains: format!("/tickets/{}", t.id),
        kind: FaultKind::Delay(Duration::from_secs(30)),
        times: 1,
    });
    let inv = Invocation::Form {
        name: key.clone(),
        values: json!({"status": {"label": "Closed", "value": "Closed"}}),
    };
    let body = env
        .sim
        .callback_body(&inv, &sato(), &ChatRef::channel("support"));
    let (bytes, header) = env.sim.signed_callback(&body, Carrier::Header);
    // The callback reaches deskcliq 9 s after Cliq stamped it: 5 s of Cliq's window are left.
    env.clock.advance(chrono::Duration::seconds(9));
    let (s, v) = send_callback(&env.callback_url(), bytes, header).await;
    assert_eq!(s, 200, "{v}");
    assert!(
        v["output"]["text"]
            .as_str()
            .unwrap()
            .contains("Asking Desk"),
        "{v}"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let late = loop {
        if let Some(r) = env.sim.cliq_responses().into_iter().next() {
            break r.1;
        }
        assert!(tokio::time::Instant::now() < deadline, "no late answer");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(late["output"]["status"], "failure", "{late}");
    assert!(
        late["output"]["text"]
            .as_str()
            .unwrap()
            .contains("may have been made"),
        "{late}"
    );
    // The same form again does not run it a second time, and is not "being done" forever.
    let again = close_from_support(&env, &key).await;
    assert_eq!(again["text"], "This was already done.", "{again}");
}

#[actix_rt::test]
async fn a_ticket_of_another_department_is_refused() {
    let env = Env::start("").await;
    let (support, card) = ticket_with_card(&env, "Printer on fire", SUPPORT).await;
    link_sato(&env, &card, &format!("status:{}", support.id)).await;
    let (billing, bcard) = ticket_with_card(&env, "Invoice", BILLING).await;
    let out = click(
        &env,
        &sato(),
        &format!("status:{}", billing.id),
        &bcard,
        &ChatRef::channel("billing"),
    )
    .await;
    assert_eq!(out["type"], "banner");
    assert_eq!(
        out["text"],
        "This ticket was not found in your departments."
    );
    assert!(!out.to_string().contains("Invoice"));
}

#[actix_rt::test]
async fn an_action_disallowed_for_a_department_has_no_button_and_a_forged_click_is_refused() {
    let deps = r#"
[[departments]]
id = "1892000000082069"
name = "Support"
channel = "support"
actions = ["status"]
[[departments]]
id = "1892000000082070"
name = "Billing"
channel = "billing"
"#;
    let env = Env::start_with(deps, "").await;
    let (t, card) = ticket_with_card(&env, "Printer on fire", SUPPORT).await;
    let k = keys(&card);
    assert!(k.contains(&format!("status:{}", t.id)), "{k:?}");
    assert!(
        !k.iter().any(|k| k.starts_with("assign:")
            || k.starts_with("reply:")
            || k.starts_with("comment:")),
        "{k:?}"
    );
    link_sato(&env, &card, &format!("status:{}", t.id)).await;
    let forged = click(
        &env,
        &sato(),
        &format!("assign:{}", t.id),
        &card,
        &ChatRef::channel("support"),
    )
    .await;
    assert_eq!(
        forged["text"],
        "This action is not allowed for this ticket's department."
    );
    let forged_form = submit(
        &env,
        &sato(),
        &format!("assign:{}", t.id),
        json!({"assignee": format!("agent:{SATO}")}),
        &ChatRef::channel("support"),
    )
    .await;
    assert_eq!(forged_form["status"], "failure", "{forged_form}");
    assert_eq!(
        env.sim
            .with(|st| st.ticket(&t.id).unwrap().assignee_id.clone()),
        None
    );
    let _ = Duration::ZERO;
}

#[actix_rt::test]
async fn a_disallowed_action_on_a_ticket_deskcliq_never_saw_is_refused_not_offered_a_link() {
    let env = Env::start("[actions]\nallowed = [\"status\"]\n").await;
    // Straight into Desk: no webhook, so deskcliq has no snapshot of the ticket.
    let now = env.clock.now();
    let t = env.sim.with(|st| {
        st.create_ticket(
            NewTicket {
                subject: "Old card".into(),
                department_id: SUPPORT.into(),
                contact_email: "customer@example.com".into(),
                ..Default::default()
            },
            now,
        )
        .0
    });
    for lang in ["en", "ja"] {
        let user = CliqUser::new(SATO_ZUID, SATO_EMAIL, lang);
        let inv = Invocation::Button(format!("reply:{}", t.id));
        let (s, v) = env
            .sim
            .invoke(
                &env.callback_url(),
                &inv,
                &user,
                &ChatRef::channel("support"),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let out = &v["output"];
        assert_eq!(out["type"], "banner", "{lang}: no Connect prompt: {out}");
        assert_eq!(out["status"], "failure", "{out}");
        let expected = if lang == "en" {
            "This action is not allowed for this ticket's department."
        } else {
            "このチケットの部門ではこの操作は許可されていません。"
        };
        assert_eq!(out["text"], expected);
    }
    assert!(sato_grant(&env).is_none());
}

#[actix_rt::test]
async fn a_bad_or_foreign_assignee_is_refused_and_changes_nothing() {
    let env = Env::start("").await;
    let (t, card) = ticket_with_card(&env, "Router down", SUPPORT).await;
    let key = format!("assign:{}", t.id);
    link_sato(&env, &card, &key).await;
    click(&env, &sato(), &key, &card, &ChatRef::channel("support")).await;
    for bad in [
        json!({}),
        json!({"assignee": "bogus"}),
        json!({"assignee": format!("agent:{KIM}")}),
        json!({"assignee": "team:999"}),
    ] {
        let out = submit(
            &env,
            &sato(),
            &key,
            bad.clone(),
            &ChatRef::channel("support"),
        )
        .await;
        assert_eq!(
            out["text"], "Choose one of the options offered.",
            "{bad}: {out}"
        );
    }
    let ticket = env.sim.with(|st| st.ticket(&t.id).cloned()).unwrap();
    assert_eq!(ticket.assignee_id, None);
    assert_eq!(ticket.modified_by, "0", "nothing was changed in Desk");
}

#[actix_rt::test]
async fn two_submits_at_once_add_one_comment() {
    let env = Env::start("").await;
    let (t, card) = ticket_with_card(&env, "Noisy fan", SUPPORT).await;
    let key = format!("comment:{}", t.id);
    link_sato(&env, &card, &key).await;
    click(&env, &sato(), &key, &card, &ChatRef::channel("support")).await;
    let values = json!({"content": "Once only.", "visibility": "private"});
    let (user, chat) = (sato(), ChatRef::channel("support"));
    let (a, b) = futures_util::join!(
        submit(&env, &user, &key, values.clone(), &chat),
        submit(&env, &user, &key, values.clone(), &chat),
    );
    let texts = [
        a["text"].as_str().unwrap().to_string(),
        b["text"].as_str().unwrap().to_string(),
    ];
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.starts_with("Comment added"))
            .count(),
        1,
        "{texts:?}"
    );
    let comments = env.sim.with(|st| {
        st.desk
            .comments
            .iter()
            .filter(|c| c.ticket_id == t.id)
            .count()
    });
    assert_eq!(comments, 1);
}

#[actix_rt::test]
async fn the_grant_of_someone_who_is_no_agent_is_refused_and_revoked() {
    let env = Env::start("").await;
    let (t, card) = ticket_with_card(&env, "Printer on fire", SUPPORT).await;
    let prompt = click(
        &env,
        &CliqUser::new(SATO_ZUID, SATO_EMAIL, "ja"),
        &format!("status:{}", t.id),
        &card,
        &ChatRef::channel("support"),
    )
    .await;
    assert!(
        prompt["text"]
            .as_str()
            .unwrap()
            .contains("Zoho Deskアカウント"),
        "{prompt}"
    );
    assert_eq!(prompt["buttons"][0]["label"], "Zoho Deskに接続");
    let (status, page, _) = consent(
        &env,
        &connect_url(&env, &prompt),
        "70000099",
        "someone@example.com",
    )
    .await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("lang=\"ja\""), "{page}");
    assert!(
        !env.sim.grants().iter().any(|(_, z)| z == "70000099"),
        "the refused grant was revoked"
    );
}

#[actix_rt::test]
async fn a_forged_form_for_a_ticket_never_opened_changes_nothing() {
    let env = Env::start("").await;
    let (support, card) = ticket_with_card(&env, "Printer on fire", SUPPORT).await;
    link_sato(&env, &card, &format!("status:{}", support.id)).await;
    let (billing, _) = ticket_with_card(&env, "Invoice", BILLING).await;
    let out = submit(
        &env,
        &sato(),
        &format!("status:{}", billing.id),
        json!({"status": "Closed"}),
        &ChatRef::channel("billing"),
    )
    .await;
    assert_eq!(out["status"], "failure", "{out}");
    assert_eq!(
        env.sim
            .with(|st| st.ticket(&billing.id).unwrap().status.clone()),
        "Open"
    );
}

#[actix_rt::test]
async fn a_click_without_params_chat_still_edits_the_card_through_params_access_chat_id() {
    let env = Env::start("").await;
    let (t, card) = ticket_with_card(&env, "Printer on fire", SUPPORT).await;
    let key = format!("status:{}", t.id);
    link_sato(&env, &card, &key).await;
    // The click as Cliq may send it: the chat only in params.access.
    let mut body = env.sim.callback_body(
        &Invocation::CardButton {
            key: key.clone(),
            chat_id: card.chat_id.clone(),
            message_id: card.message_id.clone(),
        },
        &sato(),
        &ChatRef::channel("support"),
    );
    body["params"].as_object_mut().unwrap().remove("chat");
    assert_eq!(body["params"]["access"]["chat_id"], json!(card.chat_id));
    let (bytes, header) = env
        .sim
        .signed_callback(&body, deskcliq::sim::Carrier::Header);
    let (s, form) = deskcliq::sim::send_callback(&env.callback_url(), bytes, header).await;
    assert_eq!(s, 200, "{form}");
    assert_eq!(form["output"]["type"], "form", "{form}");
    let done = close_from_support(&env, &key).await;
    assert_eq!(done["status"], "success", "{done}");
    let records = env.settle().await;
    let edited = records
        .iter()
        .find(|r| r.message_id == card.message_id)
        .unwrap();
    let last = edited.edits.last().expect("the card was edited");
    assert!(last.contains("Closed"), "{last}");
}
