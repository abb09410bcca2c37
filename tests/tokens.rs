//! The service grant's token manager against the simulator's accounts server.

mod common;

use std::sync::Arc;

use chrono::Duration;
use common::sim::{Zoho, oauth, oauth_at, secret, token_manager};
use deskcliq::oauth::{MAX_REFRESHES, TokenError, TokenManager};

/// A token manager of grant `name` with refresh token `refresh`, on `z`'s store and clock.
fn manager(
    z: &Zoho,
    client: deskcliq::oauth::OAuthClient,
    name: &str,
    refresh: &str,
) -> TokenManager {
    TokenManager::new(
        client,
        name,
        secret(refresh),
        z.store.clone(),
        z.clock.clone(),
        Arc::clone(&z.metrics),
    )
    .unwrap()
}

#[actix_rt::test]
async fn the_access_token_is_cached_in_the_store_across_a_restart() {
    let z = Zoho::start().await;
    let first = z.tokens.access_token().await.unwrap();
    assert_eq!(z.sim.tokens_issued(), 1);
    // A new manager on the same store (a restarted daemon) spends no new grant.
    let again = token_manager(&z.sim, &z.store, &z.clock, &z.metrics);
    assert_eq!(again.access_token().await.unwrap(), first);
    assert_eq!(z.sim.tokens_issued(), 1);
}

#[actix_rt::test]
async fn the_token_is_refreshed_ahead_of_its_expiry() {
    let z = Zoho::start().await;
    let first = z.tokens.access_token().await.unwrap();
    z.clock.advance(Duration::minutes(54));
    assert_eq!(z.tokens.access_token().await.unwrap(), first);
    assert_eq!(z.sim.tokens_issued(), 1);
    // Within five minutes of expiry, a new one.
    z.clock.advance(Duration::minutes(2));
    let second = z.tokens.access_token().await.unwrap();
    assert_ne!(second, first);
    assert_eq!(z.sim.tokens_issued(), 2);
    assert_eq!(z.metrics.token_refreshes_total.get(), 2);
}

#[actix_rt::test]
async fn fifty_concurrent_callers_share_one_refresh() {
    let z = Zoho::start().await;
    z.sim.set_latency(std::time::Duration::from_millis(100));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let tokens = z.tokens.clone();
        set.spawn(async move { tokens.access_token().await.map_err(|e| e.to_string()) });
    }
    let mut seen = std::collections::HashSet::new();
    while let Some(r) = set.join_next().await {
        seen.insert(r.unwrap().unwrap());
    }
    assert_eq!(seen.len(), 1);
    assert_eq!(z.sim.tokens_issued(), 1);
}

#[actix_rt::test]
async fn no_more_than_ten_refreshes_in_ten_minutes_even_across_a_restart() {
    let z = Zoho::start().await;
    for _ in 0..MAX_REFRESHES {
        let t = z.tokens.access_token().await.unwrap();
        z.tokens.invalidate(&t);
    }
    assert_eq!(z.sim.tokens_issued(), MAX_REFRESHES);
    let err = z.tokens.access_token().await.unwrap_err();
    assert!(matches!(err, TokenError::Budget { .. }), "{err}");
    assert_eq!(
        z.sim.tokens_issued(),
        MAX_REFRESHES,
        "the 11th reached Zoho"
    );
    assert_eq!(z.metrics.token_refresh_refused_total.get(), 1);

    // The count is in the store: a restarted manager is held to it too.
    let restarted = token_manager(&z.sim, &z.store, &z.clock, &z.metrics);
    restarted.invalidate(&restarted.access_token().await.unwrap_or_default());
    assert!(matches!(
        restarted.access_token().await,
        Err(TokenError::Budget { .. })
    ));

    // Ten minutes after the first refresh, one more is allowed.
    z.clock
        .advance(Duration::minutes(10) + Duration::seconds(1));
    assert!(z.tokens.access_token().await.is_ok());
    assert_eq!(z.sim.tokens_issued(), MAX_REFRESHES + 1);
}

#[actix_rt::test]
async fn an_unreadable_token_record_is_set_aside_not_the_grant_dead_for_good() {
    use deskcliq::store::TreeName;
    let z = Zoho::start().await;
    // The kept access token and the refresh log of a grant, both unreadable (a corrupt store,
    // or a shape this build does not know).
    let tokens = z.store.tree::<String, String>(TreeName::Tokens);
    for key in ["unreadable:access", "unreadable:refreshes"] {
        tokens
            .insert(&key.to_string(), &"not a record".to_string())
            .unwrap();
    }
    let tm = manager(
        &z,
        oauth(&z.sim),
        "unreadable",
        deskcliq::sim::SERVICE_REFRESH_TOKEN,
    );
    let first = tm.access_token().await.unwrap();
    assert_eq!(z.store.corrupt_records(), 2);
    // Both records were written anew: a restart uses the kept token, and refreshes go on.
    let again = manager(
        &z,
        oauth(&z.sim),
        "unreadable",
        deskcliq::sim::SERVICE_REFRESH_TOKEN,
    );
    assert_eq!(again.access_token().await.unwrap(), first);
    again.invalidate(&first);
    assert_ne!(again.access_token().await.unwrap(), first);
    assert_eq!(z.store.corrupt_records(), 2);
}

#[actix_rt::test]
async fn refreshes_that_never_reach_zoho_do_not_spend_the_grants_ten() {
    let z = Zoho::start().await;
    // An accounts server nobody answers at (the network is down): a port just let go.
    let url = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    // Many attempts (a restart each, so none waits for the last one's failure to cool down).
    for _ in 0..MAX_REFRESHES + 2 {
        let tm = manager(
            &z,
            oauth_at(&url),
            "unreachable",
            deskcliq::sim::SERVICE_REFRESH_TOKEN,
        );
        let err = tm.access_token().await.unwrap_err();
        assert!(!matches!(err, TokenError::Budget { .. }), "{err}");
    }
    assert_eq!(z.metrics.token_refresh_refused_total.get(), 0);
    // Once Zoho answers again, a token at once rather than 10 minutes later.
    let tm = manager(
        &z,
        oauth(&z.sim),
        "unreachable",
        deskcliq::sim::SERVICE_REFRESH_TOKEN,
    );
    assert!(tm.access_token().await.is_ok());
}

#[actix_rt::test]
async fn a_revoked_token_is_refreshed_once_and_the_call_retried() {
    let z = Zoho::start().await;
    let desk = z.desk(4);
    assert!(!desk.list_departments(false).await.unwrap().is_empty());
    assert_eq!(z.sim.tokens_issued(), 1);
    z.sim.revoke_access_tokens();
    // The call gets 401 INVALID_OAUTH, refreshes once, and succeeds.
    assert!(!desk.list_departments(false).await.unwrap().is_empty());
    assert_eq!(z.sim.tokens_issued(), 2);
    // Cliq's 401 oauthtoken_invalid likewise.
    z.sim.revoke_access_tokens();
    z.cliq()
        .post_to_channel("desk", &deskcliq::cliq::Message::new("hello"))
        .await
        .unwrap();
    assert_eq!(z.sim.tokens_issued(), 3);
}

/// Cliq answering the first call 401 with an empty HTML body (its answer when it does not take
/// the token at all), then 204; records each call's `Authorization`.
async fn cliq_refusing_once_with_an_empty_html_401() -> (
    String,
    Arc<std::sync::Mutex<Vec<String>>>,
    actix_web::dev::ServerHandle,
) {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let s = seen.clone();
    let server = HttpServer::new(move || {
        let s = s.clone();
        App::new().default_service(web::to(move |req: HttpRequest| {
            let s = s.clone();
            async move {
                let auth = req
                    .headers()
                    .get("Authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let mut seen = s.lock().unwrap();
                seen.push(auth);
                if seen.len() == 1 {
                    HttpResponse::Unauthorized()
                        .content_type("text/html")
                        .finish()
                } else {
                    HttpResponse::NoContent().finish()
                }
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
    (url, seen, handle)
}

#[actix_rt::test]
async fn an_empty_html_401_from_cliq_refreshes_the_token_once_and_retries() {
    let z = Zoho::start().await;
    let (url, seen, server) = cliq_refusing_once_with_an_empty_html_401().await;
    let cliq = deskcliq::cliq::CliqClient::new(
        &url,
        deskcliq::sim::BOT,
        z.tokens.clone(),
        z.metrics.clone(),
    );
    cliq.post_to_channel("desk", &deskcliq::cliq::Message::new("hello"))
        .await
        .unwrap();
    assert_eq!(
        z.sim.tokens_issued(),
        2,
        "the refused token was not refreshed"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_ne!(seen[0], seen[1], "the retry used the refused token again");
    server.stop(false).await;
}

#[actix_rt::test]
async fn a_bad_refresh_token_is_a_clear_error_without_the_secret() {
    let z = Zoho::start().await;
    let tm = manager(
        &z,
        oauth(&z.sim),
        "service",
        "1000.not-a-real-refresh-token",
    );
    let err = tm.access_token().await.unwrap_err().to_string();
    assert!(err.contains("invalid_code"), "{err}");
    assert!(!err.contains("not-a-real-refresh-token"), "{err}");
    assert!(!err.contains(deskcliq::sim::CLIENT_SECRET), "{err}");
}

#[actix_rt::test]
async fn a_failing_refresh_is_shared_by_its_waiters_not_repeated() {
    let z = Zoho::start().await;
    // An accounts server that refuses connections.
    let dead = deskcliq::oauth::OAuthClient::new(
        deskcliq::zoho_http::client(),
        "http://127.0.0.1:1",
        deskcliq::sim::CLIENT_ID,
        secret(deskcliq::sim::CLIENT_SECRET),
    );
    let tm = Arc::new(manager(
        &z,
        dead,
        "service",
        deskcliq::sim::SERVICE_REFRESH_TOKEN,
    ));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let tm = tm.clone();
        set.spawn(async move { tm.access_token().await.is_err() });
    }
    while let Some(r) = set.join_next().await {
        assert!(r.unwrap());
    }
    assert_eq!(
        z.metrics.token_refreshes_total.get(),
        1,
        "one network failure spent several refreshes"
    );
    assert_eq!(z.metrics.token_refresh_refused_total.get(), 0);
}

#[actix_rt::test]
async fn a_new_refresh_token_is_used_at_once_not_the_old_grants_cached_token() {
    let z = Zoho::start().await;
    let old = z.tokens.access_token().await.unwrap();
    // The admin makes a new service grant (say, with the scopes doctor found missing), puts
    // it in zoho.refresh_token and restarts deskcliq.
    const NEW_GRANT: &str = "1000.sim-service-refresh-token-2";
    z.sim
        .with(|st| st.add_grant(NEW_GRANT, "70000001", "deskcliq-service@example.co.jp"));
    let restarted = || manager(&z, oauth(&z.sim), "service", NEW_GRANT);
    let new = restarted().access_token().await.unwrap();
    assert_ne!(new, old, "the old grant's access token was used");
    let grant_of = |t: &str| {
        z.sim
            .with(|st| st.accounts.access.get(t).map(|a| a.refresh_token.clone()))
    };
    assert_eq!(grant_of(&new).as_deref(), Some(NEW_GRANT));
    // Restarted again on the same grant: its cached token, no new one.
    assert_eq!(restarted().access_token().await.unwrap(), new);
    assert_eq!(z.sim.tokens_issued(), 2);
}

/// A Zoho API host that refuses every access token with 401 INVALID_OAUTH (as a Desk of
/// another data center does); its base URL.
async fn refusing_host() -> String {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let server = HttpServer::new(|| {
        App::new().default_service(web::to(|| async {
            HttpResponse::Unauthorized().json(serde_json::json!({
                "errorCode": "INVALID_OAUTH",
                "message": "The OAuth Token you provided is invalid."
            }))
        }))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    actix_rt::spawn(server.run());
    format!("http://{addr}")
}

#[actix_rt::test]
async fn a_flood_of_401s_spends_one_refresh_not_the_grants_ten() {
    let z = Zoho::start().await;
    let desk = z.desk(4);
    let refusing = deskcliq::desk::DeskClient::new(
        &refusing_host().await,
        deskcliq::sim::DESK_ORG_ID,
        4,
        z.tokens.clone(),
        z.metrics.clone(),
        z.store.clone(),
        z.clock.clone(),
    );
    // A token Desk has accepted, then a host that refuses every token: one refresh (the
    // token might have been revoked), and no more while that host has accepted none.
    desk.list_departments(false).await.unwrap();
    assert_eq!(z.sim.tokens_issued(), 1);
    for _ in 0..30 {
        assert!(refusing.list_departments(false).await.is_err());
        // Calls to a host that accepts the token go on working between them.
        desk.list_departments(false).await.unwrap();
    }
    assert_eq!(z.sim.tokens_issued(), 2, "401s spent refreshes");
    assert_eq!(z.metrics.token_refresh_refused_total.get(), 0);
    // The token Zoho issued is still fine where it is accepted.
    z.sim.revoke_access_tokens();
    desk.list_departments(false).await.unwrap();
    assert_eq!(z.sim.tokens_issued(), 3);
}

/// A token endpoint that answers its first `answers` calls with `body` (and an access token
/// numbered by the call), and 503 after that; its base URL and the number of calls.
async fn token_host(
    body: serde_json::Value,
    answers: usize,
) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let calls: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
    let c = calls.clone();
    let server = HttpServer::new(move || {
        let c = c.clone();
        let body = body.clone();
        App::new().route(
            "/oauth/v2/token",
            web::post().to(move || {
                let n = c.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                let mut body = body.clone();
                body["access_token"] = serde_json::json!(format!("1000.token-{n}"));
                async move {
                    if n > answers {
                        HttpResponse::ServiceUnavailable().finish()
                    } else {
                        HttpResponse::Ok().json(body)
                    }
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    actix_rt::spawn(server.run());
    (format!("http://{addr}"), calls)
}

#[actix_rt::test]
async fn an_expiry_given_in_milliseconds_still_means_an_hour() {
    let z = Zoho::start().await;
    // Some Zoho accounts servers answer `expires_in` in milliseconds, with `expires_in_sec`
    // beside it; others `expires_in` in seconds alone.
    for body in [
        serde_json::json!({"expires_in_sec": 3600, "expires_in": 3600000,
                           "api_domain": "https://www.zohoapis.jp", "token_type": "Bearer"}),
        serde_json::json!({"expires_in": 3600000, "token_type": "Bearer"}),
    ] {
        let (url, calls) = token_host(body, usize::MAX).await;
        let tm = manager(
            &z,
            oauth_at(&url),
            &format!("test:{url}"),
            deskcliq::sim::SERVICE_REFRESH_TOKEN,
        );
        let first = tm.access_token().await.unwrap();
        z.clock.advance(Duration::minutes(54));
        assert_eq!(tm.access_token().await.unwrap(), first);
        // Five minutes before the hour is up, a new one, not weeks later.
        z.clock.advance(Duration::minutes(2));
        assert_ne!(tm.access_token().await.unwrap(), first);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}

#[actix_rt::test]
async fn a_failed_refresh_ahead_of_expiry_keeps_the_token_until_it_expires() {
    let z = Zoho::start().await;
    let (url, calls) = token_host(serde_json::json!({"expires_in": 3600}), 1).await;
    let tm = manager(
        &z,
        oauth_at(&url),
        "service",
        deskcliq::sim::SERVICE_REFRESH_TOKEN,
    );
    let first = tm.access_token().await.unwrap();
    // Four minutes before expiry the accounts server is down: the token still works.
    z.clock.advance(Duration::minutes(56));
    assert_eq!(tm.access_token().await.unwrap(), first);
    assert_eq!(tm.access_token().await.unwrap(), first);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    // Expired, it is not used any more.
    z.clock.advance(Duration::minutes(4));
    assert!(tm.access_token().await.is_err());
}

#[actix_rt::test]
async fn a_token_issued_while_the_store_cannot_be_written_is_still_used() {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let z = Zoho::start().await;
    // The disk fills while the refresh is at Zoho: the refresh log was written, the new
    // access token cannot be.
    let calls: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
    let (c, store) = (calls.clone(), z.store.clone());
    let server = HttpServer::new(move || {
        let (c, store) = (c.clone(), store.clone());
        App::new().route(
            "/oauth/v2/token",
            web::post().to(move || {
                let n = c.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                store.inject_fault(true);
                async move {
                    HttpResponse::Ok().json(serde_json::json!({
                        "access_token": format!("1000.token-{n}"),
                        "expires_in": 3600,
                        "api_domain": "https://www.zohoapis.jp",
                        "token_type": "Bearer"
                    }))
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let url = format!("http://{}", server.addrs()[0]);
    actix_rt::spawn(server.run());
    let tm = manager(
        &z,
        oauth_at(&url),
        "service",
        deskcliq::sim::SERVICE_REFRESH_TOKEN,
    );
    // The token Zoho issued is used, not thrown away (and a new one spent on every call).
    assert_eq!(tm.access_token().await.unwrap(), "1000.token-1");
    assert_eq!(tm.access_token().await.unwrap(), "1000.token-1");
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    z.store.inject_fault(false);
}

#[actix_rt::test]
async fn a_401_unauthorized_from_desk_refreshes_once_and_retries_like_invalid_oauth() {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let z = Zoho::start().await;
    // Desk's documented code for an invalid token is UNAUTHORIZED as well as INVALID_OAUTH:
    // a host that refuses the first token so, then answers.
    let seen: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
    let s = seen.clone();
    let server = HttpServer::new(move || {
        let s = s.clone();
        App::new().default_service(web::to(move || {
            let n = s.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                if n == 0 {
                    HttpResponse::Unauthorized().json(serde_json::json!({
                        "errorCode": "UNAUTHORIZED",
                        "message": "You are not authorized to perform this operation."
                    }))
                } else {
                    HttpResponse::Ok().json(serde_json::json!({"data": []}))
                }
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    actix_rt::spawn(server.run());
    let desk = deskcliq::desk::DeskClient::new(
        &format!("http://{addr}"),
        deskcliq::sim::DESK_ORG_ID,
        4,
        z.tokens.clone(),
        z.metrics.clone(),
        z.store.clone(),
        z.clock.clone(),
    );
    assert!(desk.list_departments(false).await.unwrap().is_empty());
    assert_eq!(z.sim.tokens_issued(), 2);
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 2);
}
