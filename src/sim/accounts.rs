//! Zoho accounts: `GET /oauth/v2/auth` (the consent page of the authorization-code flow, as
//! the signed-in user of a simulated browser answers it) and `POST /oauth/v2/token` for the
//! refresh-token and authorization-code grants, with Zoho's limit of 10 access tokens per
//! refresh token in 10 minutes.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;

use super::state::{AccessToken, Grant};
use super::{CLIENT_ID, CLIENT_SECRET, Inner, TOKEN_LIFETIME_SECS};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/oauth/v2/token", web::post().to(token))
        .route("/oauth/v2/auth", web::get().to(auth))
        .route("/oauth/v2/token/revoke", web::post().to(revoke));
}

/// What Zoho shows instead of redirecting when the request itself is wrong: an error page.
fn error_page(title: &str, detail: &str) -> HttpResponse {
    HttpResponse::BadRequest()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!DOCTYPE html><html><head><title>{title}</title></head>\
             <body><h1>{title}</h1><p>{detail}</p></body></html>"
        ))
}

/// `redirect_uri` with `params` added to its query (after any it already has).
fn redirect(redirect_uri: &url::Url, params: &[(&str, &str)]) -> HttpResponse {
    let mut to = redirect_uri.clone();
    {
        let mut q = to.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    HttpResponse::Found()
        .insert_header(("Location", to.as_str()))
        .finish()
}

/// `GET /oauth/v2/auth?scope&client_id&response_type=code&redirect_uri&state&access_type&prompt`:
/// the signed-in user consents (302 to `redirect_uri` with `code`, `state`, `location`,
/// `accounts-server`) or rejects (302 with `error=access_denied`). A bad request gets an error
/// page and no redirect, as Zoho answers.
async fn auth(sim: web::Data<Inner>, req: HttpRequest) -> HttpResponse {
    let Ok(params) = web::Query::<HashMap<String, String>>::from_query(req.query_string()) else {
        return error_page("Invalid Request", "The request could not be read.");
    };
    let get = |k: &str| params.get(k).map(String::as_str);
    if get("client_id") != Some(CLIENT_ID) {
        return error_page(
            "Invalid Client",
            "The client_id is not a registered client.",
        );
    }
    let Some(redirect_uri) = get("redirect_uri")
        .filter(|r| !r.is_empty())
        .and_then(|r| url::Url::parse(r).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
    else {
        return error_page(
            "Invalid Redirect Uri",
            "The redirect_uri is missing or is not an absolute http(s) address.",
        );
    };
    if get("response_type") != Some("code") {
        return error_page("Invalid Response Type", "The response_type must be code.");
    }
    let scopes: Vec<String> = get("scope")
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if scopes.is_empty() || scopes.iter().any(|s| !s.contains('.')) {
        return error_page("Invalid OAuth Scope", "The scope is missing or invalid.");
    }
    // Zoho's default is online: an access token only, no refresh token.
    let offline = match get("access_type") {
        None | Some("online") => false,
        Some("offline") => true,
        Some(_) => {
            return error_page(
                "Invalid Access Type",
                "The access_type must be offline or online.",
            );
        }
    };
    let state = get("state");
    let mut st = sim.state();
    let Some(user) = st.accounts.browser_user.clone() else {
        return error_page(
            "Not Signed In",
            "No Zoho user is signed in to this browser.",
        );
    };
    if st.accounts.deny_consent {
        let mut out = vec![("error", "access_denied")];
        out.extend(state.map(|s| ("state", s)));
        return redirect(&redirect_uri, &out);
    }
    st.accounts.next += 1;
    let code = format!("1000.sim-code-{}", st.accounts.next);
    st.add_auth_code_with_scopes(
        &code,
        &user.zuid,
        &user.email,
        redirect_uri.as_str(),
        &scopes,
        offline,
    );
    let accounts_server = st.web_base.clone();
    drop(st);
    let mut out = vec![("code", code.as_str())];
    out.extend(state.map(|s| ("state", s)));
    out.push(("location", "jp"));
    out.push(("accounts-server", accounts_server.as_str()));
    redirect(&redirect_uri, &out)
}

/// `POST /oauth/v2/token/revoke?token=…`: a refresh token (with its access tokens) or one
/// access token stops working.
async fn revoke(sim: web::Data<Inner>, req: HttpRequest) -> HttpResponse {
    let q = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    let Some(token) = q.get("token").filter(|t| !t.is_empty()) else {
        return grant_error("invalid_request");
    };
    let mut st = sim.state();
    if !st.revoke_grant(token) {
        st.accounts.access.remove(token);
    }
    HttpResponse::Ok().json(serde_json::json!({"status": "success"}))
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
            if !st.accounts.grants.get(&rt).is_some_and(|g| g.offline) {
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
            let n = st.accounts.next;
            if code.offline {
                let rt = format!("1000.sim-refresh-{n}");
                st.add_grant_with_scopes(&rt, &code.zuid, &code.email, &code.scopes);
                (rt, true)
            } else {
                // An online grant only backs the access token; the client never sees it.
                let key = format!("sim-online-grant-{n}");
                st.accounts.grants.insert(
                    key.clone(),
                    Grant {
                        zuid: code.zuid,
                        email: code.email,
                        scopes: code.scopes,
                        offline: false,
                    },
                );
                (key, false)
            }
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
