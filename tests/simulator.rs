//! The simulator behaves as Zoho's documents say, whatever deskcliq sends: raw HTTP here.

mod common;

use chrono::Duration;
use common::sim::{Receiver, Zoho};
use deskcliq::jwt::{self, Jwks};
use deskcliq::sim::{self, NewTicket, TicketPatch};
use serde_json::{Value, json};

const SUPPORT: &str = "1892000000082069";

struct Raw {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Raw {
    async fn new(z: &Zoho) -> Raw {
        Raw {
            http: deskcliq::zoho_http::client(),
            base: z.sim.base_url(),
            token: z.tokens.access_token().await.unwrap(),
        }
    }

    fn desk(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/api/v1{path}", self.base))
            .header("Authorization", format!("Zoho-oauthtoken {}", self.token))
            .header("orgId", sim::DESK_ORG_ID)
    }

    fn cliq(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/api/v2{path}", self.base))
            .header("Authorization", format!("Zoho-oauthtoken {}", self.token))
    }
}

async fn status_and_body(r: reqwest::RequestBuilder) -> (u16, Value) {
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let body = r.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[actix_rt::test]
async fn the_eleventh_refresh_in_ten_minutes_is_refused() {
    let z = Zoho::start().await;
    let http = deskcliq::zoho_http::client();
    let url = format!("{}/oauth/v2/token", z.sim.base_url());
    let params = [
        ("client_id", sim::CLIENT_ID),
        ("client_secret", sim::CLIENT_SECRET),
        ("grant_type", "refresh_token"),
        ("refresh_token", sim::SERVICE_REFRESH_TOKEN),
    ];
    for _ in 0..10 {
        let (status, body) = status_and_body(http.post(&url).query(&params)).await;
        assert_eq!(status, 200);
        assert_eq!(body["expires_in"], 3600);
        assert!(body["access_token"].as_str().unwrap().starts_with("1000."));
    }
    let (status, body) = status_and_body(http.post(&url).query(&params)).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "Access Denied");
    z.clock.advance(Duration::minutes(10));
    // Form-encoded parameters are accepted too.
    let (status, body) = status_and_body(http.post(&url).form(&params)).await;
    assert_eq!((status, body["token_type"].as_str()), (200, Some("Bearer")));
    // A bad refresh token: HTTP 200 with an error, as Zoho answers.
    let bad = [params[0], params[1], params[2], ("refresh_token", "nope")];
    let (status, body) = status_and_body(http.post(&url).query(&bad)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (200, Some("invalid_code"))
    );
}

#[actix_rt::test]
async fn desk_requires_a_token_and_the_org_id() {
    let z = Zoho::start().await;
    let raw = Raw::new(&z).await;
    let (status, body) = status_and_body(
        raw.http
            .get(format!("{}/api/v1/departments", raw.base))
            .header("orgId", sim::DESK_ORG_ID),
    )
    .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (401, Some("UNAUTHORIZED"))
    );
    let (status, body) = status_and_body(
        raw.http
            .get(format!("{}/api/v1/departments", raw.base))
            .header("Authorization", format!("Zoho-oauthtoken {}", raw.token)),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = status_and_body(
        raw.http
            .get(format!("{}/api/v1/departments", raw.base))
            .header("Authorization", "Zoho-oauthtoken 1000.forged")
            .header("orgId", sim::DESK_ORG_ID),
    )
    .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (401, Some("INVALID_OAUTH"))
    );
}

#[actix_rt::test]
async fn an_empty_list_is_204_with_no_body() {
    let z = Zoho::start().await;
    let raw = Raw::new(&z).await;
    let r = raw
        .desk(reqwest::Method::GET, "/tickets")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert!(r.bytes().await.unwrap().is_empty());
    // TicketCount.json declares a 204 for counts by field too.
    let r = raw
        .desk(
            reqwest::Method::GET,
            "/ticketsCountByFieldValues?field=statusType,overDue",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert!(r.bytes().await.unwrap().is_empty());
    // Teams answer an empty list under "teams", not 204.
    let (status, body) =
        status_and_body(raw.desk(reqwest::Method::GET, "/departments/1892000000082070/teams"))
            .await;
    assert_eq!((status, body), (200, json!({"teams": []})));
}

#[actix_rt::test]
async fn desk_rejects_what_the_documents_forbid() {
    let z = Zoho::start().await;
    let raw = Raw::new(&z).await;
    let get = |p: &str| raw.desk(reqwest::Method::GET, p);
    for bad in [
        "/tickets/search?sortBy=dueDate",
        "/tickets/search?from=1000",
        "/tickets/search?limit=101",
        "/tickets?limit=0",
        "/tickets?limit=101",
        "/tickets?sortBy=subject",
        "/ticketsCountByFieldValues?field=colour",
        "/ticketsCountByFieldValues",
        "/agents?limit=201",
        // Ranges are UTC with a Z (yyyy-MM-ddThh:mm:ss.SSSZ): no offset, no bare date.
        "/tickets/search?createdTimeRange=2026-01-01T00:00:00%2B09:00,2026-01-02T00:00:00.000Z",
        "/tickets/search?modifiedTimeRange=2026-01-01T00:00:00.0000Z,2026-01-02T00:00:00.000Z",
        "/ticketsCount?createdTimeRange=2026-01-01,2026-01-02",
    ] {
        let (status, body) = status_and_body(get(bad)).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["errorCode"], "UNPROCESSABLE_ENTITY", "{bad}");
    }
    let id = z
        .sim
        .create_ticket(NewTicket {
            subject: "x".into(),
            department_id: SUPPORT.into(),
            contact_email: "a@example.com".into(),
            ..Default::default()
        })
        .id;
    let (status, body) = status_and_body(
        raw.desk(reqwest::Method::PATCH, &format!("/tickets/{id}"))
            .json(&json!({"colour": "red"})),
    )
    .await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (422, Some("INVALID_DATA"))
    );
    assert_eq!(body["errors"][0]["fieldName"], "/colour");
    let (status, _) = status_and_body(
        raw.desk(reqwest::Method::POST, &format!("/tickets/{id}/comments"))
            .json(&json!({"isPublic": true})),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = status_and_body(
        raw.desk(reqwest::Method::POST, "/webhooks")
            .json(&json!({"url": "https://x.example.com/h"})),
    )
    .await;
    assert_eq!(status, 422, "a webhook without subscriptions");
    // An email ticket starts with the customer's message; replies become threads.
    let (status, body) = status_and_body(get(&format!("/tickets/{id}/threads"))).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["data"][0]["direction"], "in");
    assert_eq!(body["data"][0]["to"], "support@example.zohodesk.jp");
    let reply = json!({"channel": "EMAIL", "content": "ok", "fromEmailAddress": "support@example.zohodesk.jp"});
    let (status, _) = status_and_body(
        raw.desk(reqwest::Method::POST, &format!("/tickets/{id}/sendReply"))
            .json(&reply),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = status_and_body(get(&format!("/tickets/{id}/threads"))).await;
    assert_eq!(
        (status, body["data"][0]["direction"].as_str()),
        (200, Some("out"))
    );
    let (status, body) = status_and_body(get("/nosuch")).await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (404, Some("URL_NOT_FOUND"))
    );
}

#[actix_rt::test]
async fn cliq_rejects_wrong_shapes() {
    let z = Zoho::start().await;
    let raw = Raw::new(&z).await;
    let (status, body) = status_and_body(
        raw.cliq("/bots/deskbot/message")
            .json(&json!({"text": "x", "userids": ["a@example.com"]})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("input_invalid")),
        "userids must be one string"
    );
    let (status, body) = status_and_body(
        raw.cliq("/bots/deskbot/message")
            .json(&json!({"text": "x", "chatid": "CT_1", "userids": "a"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("extra_key_found"))
    );
    let six: Vec<Value> = (0..6)
        .map(|i| json!({"label": format!("b{i}"), "type": "+", "action": {"type": "invoke.function", "data": {"name": "deskaction"}}}))
        .collect();
    let (status, _) = status_and_body(
        raw.cliq("/channelsbyname/desk/message?bot_unique_name=deskbot")
            .json(&json!({"text": "x", "buttons": six})),
    )
    .await;
    assert_eq!(status, 400, "six buttons");
    let (status, _) = status_and_body(
        raw.cliq("/channelsbyname/desk/message?bot_unique_name=deskbot")
            .json(&json!({"text": "x".repeat(5001)})),
    )
    .await;
    assert_eq!(status, 400, "text over 5,000");
    let (status, _) = status_and_body(
        raw.cliq("/channelsbyname/desk/message?bot_unique_name=deskbot")
            .json(&json!({"card": {"title": "no text"}})),
    )
    .await;
    assert_eq!(status, 400, "no text");
    let button = |b: Value| json!({"text": "x", "buttons": [b]});
    let invoke = json!({"type": "invoke.function", "data": {"name": "deskaction"}});
    for (what, body) in [
        (
            "a label over 20",
            button(json!({"label": "l".repeat(21), "type": "+", "action": invoke})),
        ),
        (
            "a type other than + or -",
            button(json!({"label": "l", "type": "*", "action": invoke})),
        ),
        (
            "a hint over 100",
            button(json!({"label": "l", "hint": "h".repeat(101), "action": invoke})),
        ),
        (
            "invoke.function without a name",
            button(json!({"label": "l", "action": {"type": "invoke.function", "data": {}}})),
        ),
        (
            "open.url over 256",
            button(json!({"label": "l", "action": {"type": "open.url",
                "data": {"web": format!("https://x/{}", "a".repeat(256))}}})),
        ),
        (
            "a row keyed by no header",
            json!({"text": "x", "slides": [{"type": "table",
                "data": {"headers": ["#"], "rows": [{"Subject": "s"}]}}]}),
        ),
        (
            "a list of non-strings",
            json!({"text": "x", "slides": [{"type": "list", "data": [1, 2]}]}),
        ),
        (
            "a text slide without text",
            json!({"text": "x", "slides": [{"type": "text", "data": ["t"]}]}),
        ),
        (
            "an unknown card theme",
            json!({"text": "x", "card": {"title": "t", "theme": "fancy"}}),
        ),
    ] {
        let (status, body) = status_and_body(
            raw.cliq("/channelsbyname/desk/message?bot_unique_name=deskbot")
                .json(&body),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("input_invalid")),
            "{what}"
        );
    }
    // A late answer at response_url is held to the same rules.
    let late = |output: Value| {
        raw.http
            .post(format!("{}/api/v2/responses/1", raw.base))
            .json(&json!({ "output": output }))
    };
    let (status, _) =
        status_and_body(late(json!({"type": "banner", "status": "ok", "text": "t"}))).await;
    assert_eq!(status, 400, "a banner's status is success or failure");
    let (status, _) =
        status_and_body(late(json!({"text": "x", "buttons": [{"label": "l"}]}))).await;
    assert_eq!(status, 400, "a button without an action");
    let (status, _) = status_and_body(late(
        json!({"type": "banner", "status": "success", "text": "t"}),
    ))
    .await;
    assert_eq!(status, 204);
    let r = raw
        .http
        .post(format!("{}/api/v2/channelsbyname/desk/message", raw.base))
        .json(&json!({"text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(
        r.bytes().await.unwrap().is_empty(),
        "no auth: an empty body"
    );
    let (status, body) = status_and_body(
        raw.http
            .post(format!("{}/api/v2/channelsbyname/desk/message", raw.base))
            .header("Authorization", "Zoho-oauthtoken 1000.bad")
            .json(&json!({"text": "x"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("oauthtoken_invalid"))
    );
    assert!(z.sim.cliq_messages().is_empty());
    // Both readings of a label slide pass.
    for data in [
        json!([{"Status": "Open"}]),
        json!([{"label": "Status", "value": "Open"}]),
    ] {
        let (status, _) = status_and_body(
            raw.cliq("/channelsbyname/desk/message?bot_unique_name=deskbot")
                .json(&json!({"text": "x", "slides": [{"type": "label", "data": data}]})),
        )
        .await;
        assert_eq!(status, 204, "{data}");
    }
    assert_eq!(z.sim.cliq_messages().len(), 2);
}

#[actix_rt::test]
async fn the_cliq_lockout_lasts_ten_simulated_minutes() {
    let z = Zoho::start().await;
    let raw = Raw::new(&z).await;
    let post = || {
        raw.cliq("/channelsbyname/desk/message?bot_unique_name=deskbot")
            .json(&json!({"text": "x"}))
    };
    for _ in 0..50 {
        assert_eq!(post().send().await.unwrap().status().as_u16(), 204);
    }
    let (status, body) = status_and_body(post()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("request_limit_exceeded"))
    );
    // A minute later the window is clear, but the lockout holds for ten minutes.
    z.clock
        .advance(Duration::minutes(9) + Duration::seconds(59));
    assert_eq!(post().send().await.unwrap().status().as_u16(), 400);
    z.clock.advance(Duration::seconds(2));
    assert_eq!(post().send().await.unwrap().status().as_u16(), 204);
}

#[actix_rt::test]
async fn deliveries_carry_a_jwt_that_verifies_with_the_served_jwks() {
    let z = Zoho::start().await;
    let rx = Receiver::start(200).await;
    let desk = z.desk(2);
    let hook = desk
        .create_webhook(&deskcliq::desk::NewWebhook {
            name: "deskcliq".into(),
            url: rx.url.clone(),
            subscriptions: json!({"Ticket_Add": {"departmentIds": [SUPPORT]}, "Ticket_Update": {"includePrevState": true}}),
            include_automation: false,
            ignore_source_id: None,
            is_enabled: None,
        })
        .await
        .unwrap();
    let t = z.sim.create_ticket(NewTicket {
        subject: "件名".into(),
        department_id: SUPPORT.into(),
        contact_email: "a@example.com".into(),
        ..Default::default()
    });
    // Another department's new ticket is filtered out by the subscription.
    z.sim.create_ticket(NewTicket {
        subject: "b".into(),
        department_id: "1892000000082070".into(),
        contact_email: "a@example.com".into(),
        ..Default::default()
    });
    z.sim.update_ticket(
        &t.id,
        TicketPatch {
            status: Some("On Hold".into()),
            ..Default::default()
        },
        None,
    );
    let deliveries = z
        .sim
        .wait_deliveries(2, std::time::Duration::from_secs(5))
        .await;
    assert_eq!(deliveries.len(), 2);
    assert!(deliveries.iter().all(|d| d.status == Some(200)));
    let posts = rx.posts();
    let (jwt_add, add) = &posts[0];
    assert!(add.is_array());
    assert_eq!(add[0]["eventType"], "Ticket_Add");
    assert_eq!(add[0]["orgId"], sim::DESK_ORG_ID);
    assert!(add[0]["eventTime"].is_string());
    assert_eq!(add[0]["payload"]["subject"], "件名");
    let (_, update) = &posts[1];
    assert_eq!(update[0]["eventType"], "Ticket_Update");
    assert_eq!(update[0]["prevState"]["status"], "Open");
    assert_eq!(update[0]["payload"]["status"], "On Hold");

    // The JWT verifies with the JWKS the simulator serves, and carries Desk's claims.
    let jwks: Jwks = reqwest::get(format!("{}/.well-known/jwks.json", z.sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = jwt_add.as_deref().unwrap();
    let claims = jwt::verify(token, &jwks).unwrap();
    assert_eq!(claims["iss"], format!("orgId:{}", sim::DESK_ORG_ID));
    assert_eq!(claims["aud"], format!("webhookId:{}", hook.id));
    let now = z.clock.now().timestamp();
    assert!(jwt::validate_desk_claims(&claims, sim::DESK_ORG_ID, Some(&hook.id), now, 0).is_ok());
    // A tampered token does not.
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged = base64_payload(&json!({"iss": "orgId:1", "exp": now + 60}));
    parts[1] = &forged;
    assert!(jwt::verify(&parts.join("."), &jwks).is_err());
}

fn base64_payload(v: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[actix_rt::test]
async fn a_batch_can_be_delivered_twice_as_desk_may() {
    let z = Zoho::start().await;
    let rx = Receiver::start(200).await;
    z.desk(2)
        .create_webhook(&deskcliq::desk::NewWebhook {
            name: "d".into(),
            url: rx.url.clone(),
            subscriptions: json!({"Ticket_Comment_Add": null}),
            include_automation: false,
            ignore_source_id: None,
            is_enabled: None,
        })
        .await
        .unwrap();
    z.sim.with(|st| {
        st.deliver_twice = true;
        st.jwt_exp_in_millis = true;
    });
    let t = z.sim.create_ticket(NewTicket {
        subject: "x".into(),
        department_id: SUPPORT.into(),
        contact_email: "a@example.com".into(),
        ..Default::default()
    });
    z.sim
        .add_comment(
            &t.id,
            "1892000000056007",
            "zsu[@user:55667789]zsu 確認お願いします",
            false,
        )
        .unwrap();
    let d = z
        .sim
        .wait_deliveries(2, std::time::Duration::from_secs(5))
        .await;
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].body, d[1].body);
    assert_eq!(d[0].body[0]["eventType"], "Ticket_Comment_Add");
    assert_eq!(d[0].body[0]["payload"]["ticketId"], t.id.as_str());
    // exp in milliseconds still validates.
    let claims = jwt::verify(&d[0].jwt, &z.sim.jwks()).unwrap();
    assert!(claims["exp"].as_i64().unwrap() > 100_000_000_000);
    assert!(
        jwt::validate_desk_claims(
            &claims,
            sim::DESK_ORG_ID,
            None,
            z.clock.now().timestamp(),
            0
        )
        .is_ok()
    );
}

#[actix_rt::test]
async fn subscriptions_are_checked_and_a_410_deletes_one() {
    let z = Zoho::start().await;
    let desk = z.desk(2);
    let gone = Receiver::start(200).await;
    let hook = |subs: Value, url: &str| deskcliq::desk::NewWebhook {
        name: "d".into(),
        url: url.to_string(),
        subscriptions: subs,
        include_automation: false,
        ignore_source_id: None,
        is_enabled: None,
    };
    let typo = desk
        .create_webhook(&hook(json!({"Ticket_Updated": null}), &gone.url))
        .await
        .unwrap_err();
    assert!(
        matches!(&typo, deskcliq::desk::DeskError::Api { status: 422, .. }),
        "{typo}"
    );
    let bad_filter = desk
        .create_webhook(&hook(json!({"Ticket_Add": {"colour": 1}}), &gone.url))
        .await;
    assert!(bad_filter.is_err());
    // Each event takes the filters Webhook.json gives it: no previous state on a new ticket
    // or a comment edit, no filter at all on a deletion, at most five fields.
    for subs in [
        json!({"Ticket_Add": {"includePrevState": true}}),
        json!({"Ticket_Comment_Update": {"includePrevState": true}}),
        json!({"Ticket_Delete": {"departmentIds": [SUPPORT]}}),
        json!({"Ticket_Update": {"fields": ["a", "b", "c", "d", "e", "f"]}}),
    ] {
        let refused = desk.create_webhook(&hook(subs.clone(), &gone.url)).await;
        assert!(
            matches!(
                &refused,
                Err(deskcliq::desk::DeskError::Api { status: 422, .. })
            ),
            "{subs}: {refused:?}"
        );
    }
    // Department ids may be numbers.
    desk.create_webhook(&hook(
        json!({"Ticket_Add": {"departmentIds": [1892000000082069u64]}}),
        &gone.url,
    ))
    .await
    .unwrap();
    z.sim.create_ticket(NewTicket {
        subject: "x".into(),
        department_id: SUPPORT.into(),
        contact_email: "a@example.com".into(),
        ..Default::default()
    });
    assert_eq!(
        z.sim
            .wait_deliveries(1, std::time::Duration::from_secs(5))
            .await
            .len(),
        1
    );

    // A receiver that answers 410 Gone loses its subscription.
    let rx410 = Receiver::start(200).await;
    let w = desk
        .create_webhook(&hook(json!({"Ticket_Add": null}), &rx410.url))
        .await
        .unwrap();
    rx410.stop().await;
    let gone_rx = Receiver::start(410).await;
    // Point the webhook at the 410 receiver (validation GET answers 410 too: set it directly).
    z.sim.with(|st| {
        st.desk
            .webhooks
            .iter_mut()
            .filter(|h| h.id == w.id)
            .for_each(|h| h.url = gone_rx.url.clone())
    });
    z.sim.create_ticket(NewTicket {
        subject: "y".into(),
        department_id: SUPPORT.into(),
        contact_email: "a@example.com".into(),
        ..Default::default()
    });
    let d = z
        .sim
        .wait_deliveries(3, std::time::Duration::from_secs(5))
        .await;
    assert!(d.iter().any(|d| d.status == Some(410)));
    assert!(
        !desk
            .list_webhooks()
            .await
            .unwrap()
            .iter()
            .any(|h| h.id == w.id)
    );
}

#[actix_rt::test]
async fn only_successful_calls_spend_credits() {
    let z = Zoho::start().await;
    let raw = Raw::new(&z).await;
    let (status, _) = status_and_body(raw.desk(reqwest::Method::GET, "/tickets?limit=500")).await;
    assert_eq!(status, 422);
    assert_eq!(z.sim.desk_credits_used(), 0);
    let (status, _) = status_and_body(raw.desk(reqwest::Method::GET, "/departments")).await;
    assert_eq!(status, 200);
    assert_eq!(z.sim.desk_credits_used(), 3);
}

#[actix_rt::test]
async fn an_answer_cliq_would_refuse_comes_back_refused() {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let z = Zoho::start().await;
    let server = HttpServer::new(|| {
        App::new()
            .route(
                "/bad",
                web::post().to(|| async {
                    HttpResponse::Ok().json(json!({"output": {"text": "x", "buttons": [
                        {"label": "A label far longer than twenty", "type": "+",
                         "action": {"type": "invoke.function", "data": {"name": "deskaction"}}}]}}))
                }),
            )
            .route(
                "/good",
                web::post().to(|| async {
                    HttpResponse::Ok().json(
                        json!({"output": {"type": "banner", "status": "success", "text": "ok"}}),
                    )
                }),
            )
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    let user = sim::CliqUser::new("55667788", "sato@example.co.jp", "en");
    let ticket = sim::Invocation::Command {
        name: "ticket".into(),
        arguments: String::new(),
    };
    let (status, bad) = z
        .sim
        .invoke(
            &format!("http://{addr}/bad"),
            &ticket,
            &user,
            &sim::ChatRef::bot(),
        )
        .await;
    assert_eq!(status, 200);
    assert!(bad.get("output").is_none(), "{bad}");
    assert!(bad["refused_by_cliq"]["output"].is_object(), "{bad}");
    let (_, good) = z
        .sim
        .invoke(
            &format!("http://{addr}/good"),
            &ticket,
            &user,
            &sim::ChatRef::bot(),
        )
        .await;
    assert_eq!(good["output"]["status"], "success", "{good}");
    handle.stop(false).await;
}
