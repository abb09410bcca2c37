//! Zoho accounts: `POST /oauth/v2/token` for the refresh-token and authorization-code grants,
//! with Zoho's limit of 10 access tokens per refresh token in 10 minutes.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;

use super::state::AccessToken;
use super::{CLIENT_ID, CLIENT_SECRET, Inner, TOKEN_LIFETIME_SECS};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/oauth/v2/token", web::post().to(token));
}

/// Zoho's answer to a bad grant: HTTP 200 with an `error` field.
fn grant_error(error: &str) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"error": error}))
}

async fn token(sim: web::Data<Inner>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    // Parameters come in the query string (as Zoho documents) or a form body.
    let mut params: HashMap<String, String> =
        web::Query::<HashMap<String, String>>::from_query(req.query_string())
            .map(|q| q.into_inner())
            .unwrap_or_default();
    if let Ok(form) = serde_urlencoded::from_bytes::<HashMap<String, String>>(&body) {
        params.extend(form);
    }
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    if get("client_id") != CLIENT_ID || get("client_secret") != CLIENT_SECRET {
        return grant_error("invalid_client");
    }
    let now = sim.clock.now();
    let mut st = sim.state();
    let (refresh_token, new_refresh) = match get("grant_type") {
        "refresh_token" => {
            let rt = get("refresh_token").to_string();
            if !st.accounts.grants.contains_key(&rt) {
                return grant_error("invalid_code");
            }
            let log = st.accounts.refresh_log.entry(rt.clone()).or_default();
            while log
                .front()
                .is_some_and(|t| *t <= now - Duration::minutes(10))
            {
                log.pop_front();
            }
            if log.len() >= 10 {
                return HttpResponse::BadRequest().json(serde_json::json!({
                    "error_description": "You have made too many requests continuously. Please try again after some time.",
                    "error": "Access Denied",
                    "status": "failure",
                }));
            }
            log.push_back(now);
            (rt, false)
        }
        "authorization_code" => {
            let Some(code) = st.accounts.codes.remove(get("code")) else {
                return grant_error("invalid_code");
            };
            if code.redirect_uri != get("redirect_uri") {
                return grant_error("invalid_redirect_uri");
            }
            st.accounts.next += 1;
            let rt = format!("1000.sim-refresh-{}", st.accounts.next);
            st.add_grant(&rt, &code.zuid, &code.email);
            (rt, true)
        }
        "" => return grant_error("invalid_request"),
        _ => return grant_error("unsupported_grant_type"),
    };
    st.accounts.next += 1;
    st.accounts.issued += 1;
    let access = format!(
        "1000.sim-access-{}-{}",
        st.accounts.next,
        now.timestamp_millis()
    );
    st.accounts.access.insert(
        access.clone(),
        AccessToken {
            refresh_token: refresh_token.clone(),
            expires_at: now + Duration::seconds(TOKEN_LIFETIME_SECS),
        },
    );
    let mut body = serde_json::json!({
        "access_token": access,
        "api_domain": "https://www.zohoapis.jp",
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECS,
    });
    if new_refresh && let Some(o) = body.as_object_mut() {
        o.insert("refresh_token".into(), refresh_token.into());
    }
    HttpResponse::Ok().json(body)
}
