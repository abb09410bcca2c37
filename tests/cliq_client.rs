//! The Cliq client against the simulator.

mod common;

use common::sim::Zoho;
use deskcliq::cliq::{Button, CliqError, Message, Slide};
use deskcliq::sim::CliqTarget;

fn card() -> Message {
    Message::new("*#115* プリンターが燃えています")
        .with_bot("Deskbot", None)
        .with_card("Ticket #115", "modern-inline")
        .with_button(Button::invoke(
            "Change status",
            "deskaction",
            "status:1892000000093123",
        ))
        .with_slide(Slide::label(None, vec![("Status".into(), "Open".into())]))
}

#[actix_rt::test]
async fn a_channel_post_goes_out_as_the_bot() {
    let z = Zoho::start().await;
    z.cliq().post_to_channel("desk", &card()).await.unwrap();
    let msgs = z.sim.cliq_messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].target, CliqTarget::Channel("desk".into()));
    assert_eq!(
        msgs[0].message["buttons"][0]["key"],
        "status:1892000000093123"
    );
    assert_eq!(msgs[0].message["card"]["title"], "Ticket #115");
}

#[actix_rt::test]
async fn slides_cut_to_fit_are_accepted_by_cliq_which_counts_the_whole_slides_array() {
    let z = Zoho::start().await;
    // A second slide too long for what the first leaves: cut to fit, and Cliq must take it.
    let msg = Message::new("x")
        .with_slide(Slide::label(None, vec![("Status".into(), "Open".into())]))
        .with_slide(Slide::text(None, &"y".repeat(20_000)));
    z.cliq().post_to_channel("desk", &msg).await.unwrap();
    let sent = z.sim.cliq_messages().remove(0).message;
    assert!(sent["slides"].to_string().chars().count() <= 10_000);
    assert!(sent["slides"][1]["data"].as_str().unwrap().ends_with('…'));
}

#[actix_rt::test]
async fn one_dm_reaches_several_users() {
    let z = Zoho::start().await;
    let users = vec!["sato@example.co.jp".to_string(), "55667789".to_string()];
    z.cliq()
        .dm(&users, &Message::new("due in 30 min"))
        .await
        .unwrap();
    let msgs = z.sim.cliq_messages();
    assert_eq!(msgs[0].target, CliqTarget::Dm(users));
    assert!(msgs[0].message.get("userids").is_none());
}

#[actix_rt::test]
async fn a_message_is_edited_by_its_id_even_with_a_space_in_it() {
    let z = Zoho::start().await;
    let cliq = z.cliq();
    cliq.post_to_channel("desk", &card()).await.unwrap();
    let rec = z.sim.cliq_messages().remove(0);
    assert!(rec.message_id.contains(' '));
    cliq.edit_message(&rec.chat_id, &rec.message_id, "✅ 対応済み", false)
        .await
        .unwrap();
    let rec = z.sim.cliq_messages().remove(0);
    assert_eq!(rec.edits, ["✅ 対応済み"]);
    assert_eq!(rec.message["text"], "✅ 対応済み");
    let err = cliq
        .edit_message(&rec.chat_id, "1 2", "x", false)
        .await
        .unwrap_err();
    assert!(matches!(err, CliqError::Api { .. }), "{err}");
}

#[actix_rt::test]
async fn a_message_id_that_comes_percent_encoded_is_encoded_only_once() {
    let z = Zoho::start().await;
    let cliq = z.cliq();
    cliq.post_to_channel("desk", &card()).await.unwrap();
    let rec = z.sim.cliq_messages().remove(0);
    // Zoho's own documents show message ids as `1709038327622%2029706114886`.
    let encoded = rec.message_id.replace(' ', "%20");
    assert_ne!(encoded, rec.message_id);
    cliq.edit_message(&rec.chat_id, &encoded, "✅ 対応済み", false)
        .await
        .unwrap();
    assert_eq!(z.sim.cliq_messages().remove(0).edits, ["✅ 対応済み"]);
}

#[actix_rt::test]
async fn a_created_channel_takes_posts_once_the_bot_is_associated() {
    let z = Zoho::start().await;
    let cliq = z.cliq();
    let ch = cliq.create_channel("Billing", "請求チーム").await.unwrap();
    assert_eq!(ch.unique_name.as_deref(), Some("billing"));
    let err = cliq
        .post_to_channel("billing", &Message::new("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CliqError::Api { code, .. } if code == "bot_not_participant"),
        "{err}"
    );
    cliq.associate_bot("billing").await.unwrap();
    // Associating again is fine (Cliq says bot_already_member).
    cliq.associate_bot("billing").await.unwrap();
    cliq.post_to_channel("billing", &Message::new("x"))
        .await
        .unwrap();
}

#[actix_rt::test]
async fn the_51st_post_in_a_minute_is_a_throttle_outcome() {
    let z = Zoho::start().await;
    let cliq = z.cliq();
    for i in 0..50 {
        cliq.post_to_channel("desk", &Message::new(&format!("{i}")))
            .await
            .unwrap();
    }
    let err = cliq
        .post_to_channel("desk", &Message::new("51"))
        .await
        .unwrap_err();
    assert!(err.is_throttle(), "{err}");
    assert!(matches!(&err, CliqError::Throttled { code, .. } if code == "request_limit_exceeded"));
    // DMs share the sender's budget and lockout.
    assert!(
        cliq.dm(&["suzuki@example.co.jp".into()], &Message::new("dm"))
            .await
            .unwrap_err()
            .is_throttle()
    );
    assert_eq!(z.sim.cliq_messages().len(), 50);
}

/// A Cliq that answers every call with `status` and the JSON `body`.
async fn cliq_answering(
    status: u16,
    body: serde_json::Value,
) -> (String, actix_web::dev::ServerHandle) {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let server = HttpServer::new(move || {
        let body = body.clone();
        App::new().default_service(web::to(move || {
            let body = body.clone();
            async move {
                HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                    .json(body)
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let url = format!("http://{}", server.addrs()[0]);
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    (url, handle)
}

#[actix_rt::test]
async fn a_throttle_code_nested_under_error_is_still_a_throttle() {
    let z = Zoho::start().await;
    // Cliq's v3 shape for errors: {"error": {"code", "message"}}.
    let (url, server) = cliq_answering(
        400,
        serde_json::json!({"error": {"code": "request_limit_exceeded",
                                     "message": "Too many requests within a certain time frame."}}),
    )
    .await;
    let cliq = deskcliq::cliq::CliqClient::new(
        &url,
        deskcliq::sim::BOT,
        z.tokens.clone(),
        z.metrics.clone(),
    );
    let err = cliq
        .post_to_channel("desk", &Message::new("x"))
        .await
        .unwrap_err();
    assert!(err.is_throttle(), "{err}");
    server.stop(false).await;
}

#[actix_rt::test]
async fn an_unknown_channel_is_an_api_error_not_a_throttle() {
    let z = Zoho::start().await;
    let err = z
        .cliq()
        .post_to_channel("nosuch", &Message::new("x"))
        .await
        .unwrap_err();
    assert!(!err.is_throttle());
    assert!(
        matches!(&err, CliqError::Api { status: 400, code, .. } if code == "channel_not_found"),
        "{err}"
    );
}
