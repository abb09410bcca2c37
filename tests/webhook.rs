//! `GET|POST /webhooks/desk/{token}`: DESIGN.md's checks, in their order.

mod common;

use common::app::*;
use deskcliq::store::TreeName;
use serde_json::{Value, json};

struct Call {
    status: u16,
    body: String,
}

async fn post(env: &Env, token: &str, jwt: Option<&str>, body: Vec<u8>) -> Call {
    let url = format!("http://{}/webhooks/desk/{token}", env.app().addrs[0]);
    let mut rb = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(j) = jwt {
        rb = rb.header("X-ZDesk-JWT", j);
    }
    let r = rb.send().await.unwrap();
    Call {
        status: r.status().as_u16(),
        body: r.text().await.unwrap(),
    }
}

fn claims(env: &Env, iss: &str, aud: &str, exp_offset: i64) -> Value {
    let now = env.clock.now().timestamp();
    json!({"iss": iss, "aud": aud, "iat": now, "exp": now + exp_offset})
}

fn webhook_id(env: &Env) -> String {
    env.sim.with(|st| st.desk.webhooks[0].id.clone())
}

fn good_jwt(env: &Env) -> String {
    env.sim
        .sign_desk_jwt(&claims(
            env,
            &format!("orgId:{}", deskcliq::sim::DESK_ORG_ID),
            &format!("webhookId:{}", webhook_id(env)),
            300,
        ))
        .unwrap()
}

fn event_body() -> Vec<u8> {
    json!([{"eventType": "Ticket_Add", "orgId": deskcliq::sim::DESK_ORG_ID, "eventTime": "1764032400000",
            "payload": {"id": "77", "ticketNumber": "500", "subject": "hello", "status": "Open", "statusType": "Open",
                        "departmentId": SUPPORT, "modifiedTime": "2026-11-25T01:00:00.000Z"}}])
    .to_string()
    .into_bytes()
}

fn stored(env: &Env) -> usize {
    let s = &env.app().store;
    s.tree::<u64, Value>(TreeName::Inbox).len().unwrap()
        + s.tree::<String, i64>(TreeName::Events).len().unwrap()
}

#[actix_rt::test]
async fn a_wrong_token_is_404_before_anything_else() {
    let env = Env::start("").await;
    let huge = vec![b' '; 2 << 20];
    assert_eq!(post(&env, "wrong-token", None, huge).await.status, 404);
    let r = reqwest::get(format!("http://{}/webhooks/desk/nope", env.app().addrs[0]))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

#[actix_rt::test]
async fn only_get_and_post_reach_the_webhook_url_other_methods_are_404() {
    let env = Env::start("").await;
    let url = format!("http://{}/webhooks/desk/{TOKEN}", env.app().addrs[0]);
    let client = reqwest::Client::new();
    let put = client.put(&url).body("[]").send().await.unwrap();
    assert_eq!(put.status().as_u16(), 404);
    let delete = client.delete(&url).send().await.unwrap();
    assert_eq!(delete.status().as_u16(), 404);
    let get = client.get(&url).send().await.unwrap();
    assert_eq!(get.status().as_u16(), 200);
    assert_eq!(post(&env, TOKEN, None, b"[]".to_vec()).await.status, 200);
}

#[actix_rt::test]
async fn a_body_over_one_mebibyte_is_413() {
    let env = Env::start("").await;
    let mut body = b"[".to_vec();
    body.extend(std::iter::repeat_n(b' ', (1 << 20) + 10));
    body.push(b']');
    assert_eq!(post(&env, TOKEN, None, body).await.status, 413);
}

#[actix_rt::test]
async fn desks_validation_requests_get_200() {
    let env = Env::start("").await;
    let r = reqwest::get(format!(
        "http://{}/webhooks/desk/{TOKEN}",
        env.app().addrs[0]
    ))
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(post(&env, TOKEN, None, vec![]).await.status, 200);
    assert_eq!(post(&env, TOKEN, None, b" [ ] ".to_vec()).await.status, 200);
}

#[actix_rt::test]
async fn a_missing_or_bad_jwt_is_401_and_nothing_is_stored() {
    let env = Env::start("").await;
    let org = format!("orgId:{}", deskcliq::sim::DESK_ORG_ID);
    let aud = format!("webhookId:{}", webhook_id(&env));
    let tampered = {
        let good = good_jwt(&env);
        let mut parts: Vec<String> = good.split('.').map(String::from).collect();
        use base64::Engine as _;
        parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(claims(&env, &org, &aud, 9999).to_string());
        parts.join(".")
    };
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("tampered", Some(tampered)),
        (
            "expired",
            env.sim.sign_desk_jwt(&claims(&env, &org, &aud, -600)),
        ),
        (
            "wrong iss",
            env.sim.sign_desk_jwt(&claims(&env, "orgId:1", &aud, 300)),
        ),
        (
            "wrong aud",
            env.sim
                .sign_desk_jwt(&claims(&env, &org, "webhookId:1", 300)),
        ),
        ("garbage", Some("not.a.jwt".into())),
    ];
    for (what, jwt) in cases {
        let r = post(&env, TOKEN, jwt.as_deref(), event_body()).await;
        assert_eq!(r.status, 401, "{what}: {}", r.body);
    }
    assert_eq!(stored(&env), 0);
    assert_eq!(
        post(&env, TOKEN, Some(&good_jwt(&env)), event_body())
            .await
            .status,
        200
    );
    assert_eq!(env.settle().await.len(), 1);
}

#[actix_rt::test]
async fn a_token_accepted_once_is_refused_after_it_expires() {
    let env = Env::start("").await;
    let jwt = good_jwt(&env);
    assert_eq!(
        post(&env, TOKEN, Some(&jwt), event_body()).await.status,
        200
    );
    // The same token again (Desk's deliveries within one `iat` second share it): its
    // signature is remembered, its claims are checked again, against the clock of now.
    env.clock.advance(chrono::Duration::seconds(300 + 120));
    let r = post(&env, TOKEN, Some(&jwt), event_body()).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.body.contains("exp"), "{}", r.body);
}

#[actix_rt::test]
async fn a_jwt_not_valid_yet_or_issued_in_the_future_is_401_and_nothing_is_stored() {
    let env = Env::start("").await;
    let org = format!("orgId:{}", deskcliq::sim::DESK_ORG_ID);
    let aud = format!("webhookId:{}", webhook_id(&env));
    let later = env.clock.now().timestamp() + 3600;
    for (claim, value) in [
        ("nbf", json!(later)),
        ("iat", json!(later)),
        ("iat", json!(later * 1000)),
    ] {
        let mut c = claims(&env, &org, &aud, 7200);
        c[claim] = value.clone();
        let jwt = env.sim.sign_desk_jwt(&c).unwrap();
        let r = post(&env, TOKEN, Some(&jwt), event_body()).await;
        assert_eq!(r.status, 401, "{claim} {value}: {}", r.body);
        assert!(r.body.contains(claim), "{}", r.body);
    }
    assert_eq!(stored(&env), 0);
}

#[actix_rt::test]
async fn a_body_that_is_not_an_array_of_events_is_400_with_the_reason() {
    let env = Env::start("").await;
    let jwt = good_jwt(&env);
    for (body, reason) in [
        (b"{not json".to_vec(), "not JSON"),
        (br#"{"eventType":"Ticket_Add"}"#.to_vec(), "array"),
        (br#"[{"payload":{}}]"#.to_vec(), "eventType"),
    ] {
        let r = post(&env, TOKEN, Some(&jwt), body).await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains(reason), "{}", r.body);
    }
    assert_eq!(stored(&env), 0);
}

#[actix_rt::test]
async fn an_unknown_event_type_is_200_and_ignored() {
    let env = Env::start("").await;
    let body = json!([{"eventType": "Article_Add", "payload": {"id": "1"}}])
        .to_string()
        .into_bytes();
    assert_eq!(
        post(&env, TOKEN, Some(&good_jwt(&env)), body).await.status,
        200
    );
    assert_eq!(stored(&env), 0);
    let metrics = env.app().metrics.render();
    assert!(
        metrics.contains(r#"deskcliq_webhook_events_total{outcome="ignored",type="unknown"} 1"#),
        "{metrics}"
    );
}

#[actix_rt::test]
async fn an_unknown_event_without_a_payload_object_does_not_refuse_the_events_beside_it() {
    let env = Env::start("").await;
    let mut events: Vec<Value> = serde_json::from_slice(&event_body()).unwrap();
    events.push(json!({"eventType": "Agent_Presence_Update", "payload": null}));
    events.push(json!({"eventType": "Article_Add"}));
    let body = serde_json::to_vec(&events).unwrap();
    let r = post(&env, TOKEN, Some(&good_jwt(&env)), body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let msgs = env.settle().await;
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].message.to_string().contains("hello"), "{msgs:?}");
}

#[actix_rt::test]
async fn a_delete_whose_payload_is_an_array_of_records_forgets_each_ticket() {
    let env = Env::start("").await;
    let jwt = good_jwt(&env);
    assert_eq!(
        post(&env, TOKEN, Some(&jwt), event_body()).await.status,
        200
    );
    env.settle().await;
    let known = |id: &str| {
        env.app()
            .store
            .tree::<String, Value>(TreeName::Tickets)
            .contains(&id.to_string())
            .unwrap()
    };
    assert!(known("77"));
    let body = json!([{"eventType": "Ticket_Delete", "orgId": deskcliq::sim::DESK_ORG_ID,
                       "eventTime": "1764032500000", "payload": [{"id": "77"}, {"id": "78"}]}])
    .to_string()
    .into_bytes();
    assert_eq!(post(&env, TOKEN, Some(&jwt), body).await.status, 200);
    env.settle().await;
    assert!(!known("77"), "the deleted ticket is still tracked");
}

#[actix_rt::test]
async fn without_jwt_verification_the_url_token_alone_guards() {
    let env = Env::start("").await;
    let mut cfg = (*env.app().config()).clone();
    cfg.desk.verify_jwt = false;
    let mut env = env;
    env.app.as_mut().unwrap().apply(cfg);
    assert_eq!(post(&env, TOKEN, None, event_body()).await.status, 200);
    assert_eq!(env.settle().await.len(), 1);
}

#[actix_rt::test]
async fn a_reload_that_changes_desk_org_id_keeps_the_old_issuer_until_the_restart() {
    let mut env = Env::start("").await;
    let mut cfg = (*env.app().config()).clone();
    cfg.desk.org_id = "11111111".into();
    env.app.as_mut().unwrap().apply(cfg);
    // desk.org_id takes effect at the next restart: until then deskcliq serves the portal it
    // started with, its webhook deliveries included.
    let r = post(&env, TOKEN, Some(&good_jwt(&env)), event_body()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(env.settle().await.len(), 1);
}

#[actix_rt::test]
async fn a_webhook_registered_anew_is_accepted_at_its_first_delivery() {
    // No desk.webhook_id: deskcliq learns it from Desk's list of webhooks.
    let clock = deskcliq::clock::Clock::manual(t0());
    let sim = deskcliq::sim::Simulator::start(clock.clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = sim.daemon_config(
        &dir.path().join("state"),
        TEST_SECRET_KEY,
        TOKEN,
        None,
        DEPARTMENTS,
    );
    let config = deskcliq::config::Config::parse(
        &text,
        &dir.path().join("config.toml"),
        &deskcliq::config::LoadEnv::default(),
    )
    .unwrap();
    let url = config.webhook_url();
    let old_id = sim.with(|st| {
        st.add_channel("support", true);
        st.desk.new_id()
    });
    sim.with(|st| st.add_deskcliq_webhook(&old_id, url.clone(), t0()));
    let app = deskcliq::app::App::start(config, clock.clone())
        .await
        .unwrap();
    let env = Env {
        sim,
        app: Some(app),
        clock,
        dir,
        config_text: text,
    };
    let learned = || {
        env.app()
            .store
            .tree::<String, String>(TreeName::Meta)
            .get(&"webhook_id".to_string())
            .unwrap()
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while learned().as_deref() != Some(old_id.as_str()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "webhook id not learned"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The webhook is registered anew (as install does when Desk will not move it to a new
    // URL): same URL, a new id, and so a new JWT audience, well inside the hourly look.
    let new_id = env.sim.with(|st| {
        let id = st.desk.new_id();
        st.desk.webhooks.retain(|w| w.id != old_id);
        st.add_deskcliq_webhook(&id, url.clone(), t0());
        id
    });
    env.clock.advance(chrono::Duration::minutes(5));
    let org = format!("orgId:{}", deskcliq::sim::DESK_ORG_ID);
    let jwt = |aud: &str| {
        env.sim
            .sign_desk_jwt(&claims(&env, &org, &format!("webhookId:{aud}"), 300))
    };
    let r = post(&env, TOKEN, jwt(&new_id).as_deref(), event_body()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(learned().as_deref(), Some(new_id.as_str()));
    assert_eq!(env.settle().await.len(), 1);
    // Another audience is still refused.
    let r = post(&env, TOKEN, jwt(&old_id).as_deref(), event_body()).await;
    assert_eq!(r.status, 401, "{}", r.body);
}

#[actix_rt::test]
async fn an_unreachable_jwks_is_503_so_desk_retries() {
    let env = Env::start("").await;
    // Break the JWKS endpoint for the next fetches.
    env.sim.inject(deskcliq::sim::Fault {
        path_contains: "/.well-known/jwks.json".into(),
        kind: deskcliq::sim::FaultKind::Status(500),
        times: 5,
    });
    let r = post(&env, TOKEN, Some(&good_jwt(&env)), event_body()).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(stored(&env), 0);
}

#[actix_rt::test]
async fn a_new_comment_redelivered_with_a_new_event_time_is_announced_once() {
    let env = Env::start("").await;
    let ticket = env.sim.create_ticket(deskcliq::sim::NewTicket {
        subject: "comment twice".into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        assignee_id: Some(SATO.into()),
        ..Default::default()
    });
    env.settle().await;
    let before = env.sim.cliq_messages().len();
    // Desk's Ticket_Comment_Add has a null modifiedTime; its retry is stamped anew.
    let body = |event_time: &str| {
        json!([{"eventType": "Ticket_Comment_Add", "orgId": deskcliq::sim::DESK_ORG_ID,
                "eventTime": event_time,
                "payload": {"id": "1892000000555001", "ticketId": ticket.id, "content": "said once",
                            "isPublic": false, "commenterId": SUZUKI, "modifiedTime": null,
                            "commentedTime": "2026-11-25T01:00:00.000Z"}}])
        .to_string()
        .into_bytes()
    };
    for event_time in ["1764032400000", "1764032460000"] {
        let call = post(&env, TOKEN, Some(&good_jwt(&env)), body(event_time)).await;
        assert_eq!(call.status, 200, "{}", call.body);
    }
    let msgs = env.settle().await;
    let said: Vec<_> = msgs[before..]
        .iter()
        .filter(|m| m.message.to_string().contains("said once"))
        .collect();
    assert_eq!(said.len(), 1, "{msgs:?}");
}
