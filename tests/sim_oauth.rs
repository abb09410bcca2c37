//! The simulator's per-agent OAuth linking and what quick actions need: the consent redirect
//! of `/oauth/v2/auth`, `GET /myinfo`, `GET /fields`, the portal's statuses, revoked grants.

mod common;

use common::sim::Zoho;
use deskcliq::sim::{self, NewTicket};
use serde_json::{Value, json};

const SUPPORT: &str = "1892000000082069";
/// Hanako Sato, an agent of the portal.
const HANAKO_ZUID: &str = "55667788";
const HANAKO_ID: &str = "1892000000056007";
const CALLBACK: &str = "https://bridge.example.com/oauth/callback?from=cliq";

/// A client that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    let _ = deskcliq::zoho_http::client(); // installs the TLS provider
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn status_and_body(r: reqwest::RequestBuilder) -> (u16, Value) {
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let body = r.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// `GET /oauth/v2/auth` with `params`: (status, Location, body).
async fn authorize(z: &Zoho, params: &[(&str, &str)]) -> (u16, Option<url::Url>, String) {
    let r = browser()
        .get(format!("{}/oauth/v2/auth", z.sim.base_url()))
        .query(params)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("Location")
        .map(|l| url::Url::parse(l.to_str().unwrap()).unwrap());
    (status, location, r.text().await.unwrap())
}

fn query(u: &url::Url, key: &str) -> Option<String> {
    u.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

async fn token(z: &Zoho, params: &[(&str, &str)]) -> Value {
    let mut all = vec![
        ("client_id", sim::CLIENT_ID),
        ("client_secret", sim::CLIENT_SECRET),
    ];
    all.extend_from_slice(params);
    let (status, body) = status_and_body(
        deskcliq::zoho_http::client()
            .post(format!("{}/oauth/v2/token", z.sim.base_url()))
            .form(&all),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn refresh(z: &Zoho, refresh_token: &str) -> Value {
    token(
        z,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// An access token acting as `zuid` (a grant added through the scripting API).
async fn access_token_for(z: &Zoho, zuid: &str) -> String {
    let rt = format!("1000.test-grant-{zuid}");
    z.sim
        .with(|st| st.add_grant(&rt, zuid, &format!("{zuid}@example.com")));
    refresh(z, &rt).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn desk(z: &Zoho, token: &str, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    deskcliq::zoho_http::client()
        .request(method, format!("{}/api/v1{path}", z.sim.base_url()))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .header("orgId", sim::DESK_ORG_ID)
}

fn new_ticket(z: &Zoho) -> String {
    z.sim
        .create_ticket(NewTicket {
            subject: "Printer on fire".into(),
            department_id: SUPPORT.into(),
            contact_email: "customer@example.com".into(),
            ..Default::default()
        })
        .id
}

#[actix_rt::test]
async fn consent_redirects_with_a_code_that_exchanges_for_a_refresh_token() {
    let z = Zoho::start().await;
    z.sim
        .with(|st| st.sign_in(HANAKO_ZUID, "sato@example.co.jp"));
    let state = "s t&1/é";
    let (status, location, _) = authorize(
        &z,
        &[
            ("scope", "Desk.tickets.ALL,Desk.basic.READ"),
            ("client_id", sim::CLIENT_ID),
            ("response_type", "code"),
            ("access_type", "offline"),
            ("prompt", "consent"),
            ("redirect_uri", CALLBACK),
            ("state", state),
        ],
    )
    .await;
    assert_eq!(status, 302);
    let location = location.expect("a Location");
    assert_eq!(
        (location.host_str(), location.path()),
        (Some("bridge.example.com"), "/oauth/callback")
    );
    // The redirect URI's own query stays; Zoho's parameters follow it.
    let keys: Vec<String> = location
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .collect();
    assert_eq!(
        keys,
        ["from", "code", "state", "location", "accounts-server"]
    );
    assert_eq!(query(&location, "from").as_deref(), Some("cliq"));
    assert_eq!(query(&location, "state").as_deref(), Some(state));
    assert_eq!(query(&location, "location").as_deref(), Some("jp"));
    assert_eq!(query(&location, "accounts-server"), Some(z.sim.base_url()));
    let code = query(&location, "code").unwrap();

    // The wrong redirect_uri does not exchange it; the right one does, once.
    let wrong = token(
        &z,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://evil.example.com/cb"),
        ],
    )
    .await;
    assert_eq!(wrong["error"], "invalid_redirect_uri");
    let (_, location, _) = authorize(
        &z,
        &[
            ("scope", "Desk.tickets.ALL,Desk.basic.READ"),
            ("client_id", sim::CLIENT_ID),
            ("response_type", "code"),
            ("access_type", "offline"),
            ("redirect_uri", CALLBACK),
            ("state", state),
        ],
    )
    .await;
    let code = query(&location.unwrap(), "code").unwrap();
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
    ];
    let body = token(&z, &exchange).await;
    let rt = body["refresh_token"].as_str().expect("a refresh token");
    assert_eq!(body["expires_in"], 3600);
    assert!(
        z.sim
            .grants()
            .contains(&(rt.to_string(), HANAKO_ZUID.to_string()))
    );
    assert_eq!(
        z.sim.grant_scopes(rt),
        Some(vec!["Desk.tickets.ALL".into(), "Desk.basic.READ".into()])
    );
    assert_eq!(token(&z, &exchange).await["error"], "invalid_code");
    // The access token acts as Hanako.
    let access = body["access_token"].as_str().unwrap();
    let (status, me) = status_and_body(desk(&z, access, reqwest::Method::GET, "/myinfo")).await;
    assert_eq!((status, me["id"].as_str()), (200, Some(HANAKO_ID)));
    // So does a refreshed one.
    let again = refresh(&z, rt).await;
    assert!(again["access_token"].is_string() && again["refresh_token"].is_null());

    // access_type=online (Zoho's default): an access token, no refresh token.
    let (_, location, _) = authorize(
        &z,
        &[
            ("scope", "Desk.basic.READ"),
            ("client_id", sim::CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    let location = location.unwrap();
    assert_eq!(query(&location, "state"), None);
    let code = query(&location, "code").unwrap();
    let body = token(
        &z,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert!(body["access_token"].is_string() && body["refresh_token"].is_null());
    assert_eq!(z.sim.grants().len(), 2, "the service grant and Hanako's");
}

#[actix_rt::test]
async fn refused_consent_and_bad_requests() {
    let z = Zoho::start().await;
    let good = [
        ("scope", "Desk.tickets.ALL"),
        ("client_id", sim::CLIENT_ID),
        ("response_type", "code"),
        ("access_type", "offline"),
        ("redirect_uri", CALLBACK),
        ("state", "xyz"),
    ];
    // Nobody signed in: an error page, no redirect.
    let (status, location, page) = authorize(&z, &good).await;
    assert_eq!((status, location), (400, None));
    assert!(page.contains("Not Signed In"), "{page}");

    z.sim.with(|st| {
        st.sign_in(HANAKO_ZUID, "sato@example.co.jp");
        st.set_deny_consent(true);
    });
    let (status, location, _) = authorize(&z, &good).await;
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert_eq!(query(&location, "error").as_deref(), Some("access_denied"));
    assert_eq!(query(&location, "state").as_deref(), Some("xyz"));
    assert_eq!(query(&location, "code"), None);
    assert!(z.sim.with(|st| st.accounts.codes.is_empty()));

    z.sim.with(|st| st.set_deny_consent(false));
    let with = |key: &str, value: Option<&'static str>| -> Vec<(String, String)> {
        good.iter()
            .filter(|(k, _)| *k != key)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain(value.map(|v| (key.to_string(), v.to_string())))
            .collect()
    };
    for (params, what) in [
        (with("client_id", Some("1000.UNKNOWN")), "Invalid Client"),
        (with("client_id", None), "Invalid Client"),
        (with("scope", None), "Invalid OAuth Scope"),
        (with("scope", Some(" , ")), "Invalid OAuth Scope"),
        (
            with("response_type", Some("token")),
            "Invalid Response Type",
        ),
        (with("response_type", None), "Invalid Response Type"),
        (with("redirect_uri", None), "Invalid Redirect Uri"),
        (
            with("redirect_uri", Some("not a url")),
            "Invalid Redirect Uri",
        ),
        (with("access_type", Some("forever")), "Invalid Access Type"),
    ] {
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (status, location, page) = authorize(&z, &pairs).await;
        assert_eq!((status, location), (400, None), "{params:?}");
        assert!(page.contains(what), "{params:?}: {page}");
    }
}

#[actix_rt::test]
async fn myinfo_is_the_token_owners_agent() {
    let z = Zoho::start().await;
    let hanako = access_token_for(&z, HANAKO_ZUID).await;
    let (status, me) = status_and_body(desk(&z, &hanako, reqwest::Method::GET, "/myinfo")).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], HANAKO_ID);
    assert_eq!(me["zuid"], HANAKO_ZUID);
    assert_eq!(me["emailId"], "sato@example.co.jp");
    assert_eq!(me["name"], "Hanako Sato");
    assert_eq!(me["associatedDepartmentIds"], json!([SUPPORT]));
    // The same shape as an item of GET /agents.
    let service = z.tokens.access_token().await.unwrap();
    let (_, agents) = status_and_body(desk(&z, &service, reqwest::Method::GET, "/agents")).await;
    assert_eq!(agents["data"][0], me);
    // The service user is no agent of the portal.
    let (status, body) = status_and_body(desk(&z, &service, reqwest::Method::GET, "/myinfo")).await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (403, Some("FORBIDDEN"))
    );
    let (status, _) = status_and_body(
        deskcliq::zoho_http::client()
            .get(format!("{}/api/v1/myinfo", z.sim.base_url()))
            .header("orgId", sim::DESK_ORG_ID),
    )
    .await;
    assert_eq!(status, 401);
}

#[actix_rt::test]
async fn fields_list_the_portal_statuses_and_patch_accepts_only_them() {
    let z = Zoho::start().await;
    let hanako = access_token_for(&z, HANAKO_ZUID).await;
    let get = |p: &str| desk(&z, &hanako, reqwest::Method::GET, p);
    let (status, body) = status_and_body(get("/fields")).await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (422, Some("INVALID_DATA"))
    );
    assert_eq!(body["errors"][0]["fieldName"], "/module");
    let (status, _) = status_and_body(get("/fields?module=spaceships")).await;
    assert_eq!(status, 422);

    z.sim
        .with(|st| st.add_status("Waiting for parts", "On Hold"));
    let (status, body) = status_and_body(get("/fields?module=tickets&apiNames=status")).await;
    assert_eq!(status, 200, "{body}");
    let fields = body["data"].as_array().unwrap();
    assert_eq!(fields.len(), 1);
    let f = &fields[0];
    assert_eq!(
        (
            &f["apiName"],
            &f["displayLabel"],
            &f["type"],
            &f["isCustomField"]
        ),
        (
            &json!("status"),
            &json!("Status"),
            &json!("Picklist"),
            &json!(false)
        )
    );
    assert!(f["id"].is_string());
    assert_eq!(
        f["pickListValues"],
        json!([
            {"value": "Open", "statusType": "Open"},
            {"value": "On Hold", "statusType": "On Hold"},
            {"value": "Escalated", "statusType": "Open"},
            {"value": "Closed", "statusType": "Closed"},
            {"value": "Waiting for parts", "statusType": "On Hold"},
        ])
    );
    let (_, all) = status_and_body(get("/fields?module=tickets")).await;
    assert!(all["data"].as_array().unwrap().len() >= 2);

    let id = new_ticket(&z);
    let patch = |body: Value| {
        desk(
            &z,
            &hanako,
            reqwest::Method::PATCH,
            &format!("/tickets/{id}"),
        )
        .json(&body)
    };
    let (status, body) = status_and_body(patch(json!({"status": "Waiting on Godot"}))).await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (422, Some("INVALID_DATA"))
    );
    assert_eq!(body["errors"][0]["fieldName"], "/status");
    assert_eq!(body["errors"][0]["errorType"], "invalid");
    assert!(body["errors"][0]["errorMessage"].is_string());
    assert_eq!(
        z.sim.with(|st| st.ticket(&id).unwrap().status.clone()),
        "Open"
    );

    let (status, t) = status_and_body(patch(json!({"status": "Waiting for parts"}))).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(
        (&t["status"], &t["statusType"], &t["modifiedBy"]),
        (
            &json!("Waiting for parts"),
            &json!("On Hold"),
            &json!(HANAKO_ID)
        )
    );
    assert!(t["onholdTime"].is_string());
    let (_, t) = status_and_body(patch(json!({"status": "Escalated"}))).await;
    assert_eq!(
        (&t["statusType"], &t["onholdTime"]),
        (&json!("Open"), &Value::Null)
    );
}

#[actix_rt::test]
async fn replies_and_comments_are_the_token_owners() {
    let z = Zoho::start().await;
    let hanako = access_token_for(&z, HANAKO_ZUID).await;
    let id = new_ticket(&z);
    let (status, thread) = status_and_body(
        desk(
            &z,
            &hanako,
            reqwest::Method::POST,
            &format!("/tickets/{id}/sendReply"),
        )
        .json(&json!({"channel": "EMAIL", "content": "On it.",
                    "fromEmailAddress": "support@example.zohodesk.jp"})),
    )
    .await;
    assert_eq!(status, 200, "{thread}");
    assert_eq!(thread["responderId"], HANAKO_ID);
    assert_eq!(
        (&thread["author"]["id"], &thread["author"]["type"]),
        (&json!(HANAKO_ID), &json!("AGENT"))
    );
    let (status, comment) = status_and_body(
        desk(
            &z,
            &hanako,
            reqwest::Method::POST,
            &format!("/tickets/{id}/comments"),
        )
        .json(&json!({"content": "Called the customer."})),
    )
    .await;
    assert_eq!(status, 200, "{comment}");
    assert_eq!(comment["commenterId"], HANAKO_ID);
    assert_eq!(comment["commenter"]["name"], "Hanako Sato");
}

#[actix_rt::test]
async fn a_revoked_grant_no_longer_refreshes() {
    let z = Zoho::start().await;
    let rt = "1000.hanako-linked";
    z.sim
        .with(|st| st.add_grant(rt, HANAKO_ZUID, "sato@example.co.jp"));
    assert!(
        z.sim
            .grants()
            .contains(&(rt.to_string(), HANAKO_ZUID.to_string()))
    );
    let access = refresh(&z, rt).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = status_and_body(desk(&z, &access, reqwest::Method::GET, "/myinfo")).await;
    assert_eq!(status, 200);

    z.sim.revoke_grant(rt);
    assert!(!z.sim.grants().iter().any(|(r, _)| r == rt));
    assert_eq!(refresh(&z, rt).await["error"], "invalid_code");
    let (status, body) = status_and_body(desk(&z, &access, reqwest::Method::GET, "/myinfo")).await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (401, Some("INVALID_OAUTH"))
    );
    // Other grants keep working.
    assert!(z.tokens.access_token().await.is_ok());
    assert_eq!(z.sim.grants().len(), 1);
}
