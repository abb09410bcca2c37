//! What every simulated API call goes through: faults, latency, the OAuth token, and Zoho's
//! error bodies.

use actix_web::{HttpRequest, HttpResponse};

use super::Inner;
use super::state::FaultKind;

/// Which API's conventions an error follows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Desk,
    Cliq,
}

/// Desk: `{"errorCode":"…","message":"…"}`.
pub fn desk_error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default())
        .json(serde_json::json!({"errorCode": code, "message": message}))
}

/// Desk's 422 with a field error.
pub fn desk_invalid(field: &str, message: &str) -> HttpResponse {
    HttpResponse::UnprocessableEntity().json(serde_json::json!({
        "errorCode": "INVALID_DATA",
        "message": "An invalid value has been passed.",
        "errors": [{"fieldName": format!("/{field}"), "errorType": "invalid", "errorMessage": message}],
    }))
}

/// Cliq: `{"code":"snake_case","message":"…"}`.
pub fn cliq_error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default())
        .json(serde_json::json!({"code": code, "message": message}))
}

/// Applies latency and any injected fault for this path.
pub async fn faults(sim: &Inner, req: &HttpRequest, api: Api) -> Option<HttpResponse> {
    let (latency, fault) = {
        let mut st = sim.state();
        let path = req.path().to_string();
        let fault = st
            .faults
            .iter_mut()
            .find(|f| f.times > 0 && path.contains(&f.path_contains))
            .map(|f| {
                f.times -= 1;
                f.kind.clone()
            });
        st.faults.retain(|f| f.times > 0);
        let fault = fault.or_else(|| {
            let c = st
                .chaos
                .as_mut()
                .filter(|c| path.contains(&c.path_contains))?;
            c.seen += 1;
            // xorshift, one step per request.
            c.seed ^= c.seed << 13;
            c.seed ^= c.seed >> 7;
            c.seed ^= c.seed << 17;
            let roll = (c.seed % 1000) as u32;
            if c.throttle_every > 0 && c.seen % c.throttle_every == 0 {
                Some(FaultKind::Throttle)
            } else if roll < c.error_per_mille {
                Some(FaultKind::Status(503))
            } else if roll < c.error_per_mille + c.timeout_per_mille {
                Some(FaultKind::Delay(c.timeout))
            } else {
                None
            }
        });
        (st.latency, fault)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault? {
        FaultKind::Delay(d) => {
            tokio::time::sleep(d).await;
            None
        }
        FaultKind::Status(status) => Some(match api {
            Api::Desk => match status {
                // Common.json's forbiddenErrorResponse: the agent's profile lacks a permission.
                403 => desk_error(
                    403,
                    "FORBIDDEN",
                    "You are not authorized to access this resource.",
                ),
                404 => desk_error(
                    404,
                    "URL_NOT_FOUND",
                    "The URL you requested could not be found.",
                ),
                _ => desk_error(status, "INTERNAL_SERVER_ERROR", "Internal server error"),
            },
            Api::Cliq => cliq_error(status, "internal_error", "Cliq server encountered an error"),
        }),
        FaultKind::Throttle => Some(match api {
            Api::Desk => desk_error(429, "TOO_MANY_REQUESTS", "Too many requests"),
            Api::Cliq => cliq_error(
                400,
                "request_limit_exceeded",
                "You have exceeded the URL throttle limits.",
            ),
        }),
        FaultKind::Answer { status, body } => Some(
            HttpResponse::build(
                actix_web::http::StatusCode::from_u16(status)
                    .unwrap_or(actix_web::http::StatusCode::OK),
            )
            .content_type("application/json")
            .body(body),
        ),
        FaultKind::TooManyRequests { retry_after } => Some(match api {
            Api::Desk => HttpResponse::TooManyRequests()
                .insert_header(("Retry-After", retry_after.to_string()))
                .json(serde_json::json!({"errorCode": "TOO_MANY_REQUESTS", "message": "Too many requests"})),
            Api::Cliq => HttpResponse::TooManyRequests()
                .insert_header(("Retry-After", retry_after.to_string()))
                .json(serde_json::json!({"code": "too_many_requests", "message": "Too many requests"})),
        }),
    }
}

/// The scopes of the grant behind a request's token (empty: the grant was made by the
/// scripting API and may do anything).
pub fn scopes(sim: &Inner, req: &HttpRequest) -> Vec<String> {
    let token = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Zoho-oauthtoken "))
        .unwrap_or("")
        .trim()
        .to_string();
    let st = sim.state();
    st.accounts
        .access
        .get(&token)
        .and_then(|t| st.accounts.grants.get(&t.refresh_token))
        .map(|g| g.scopes.clone())
        .unwrap_or_default()
}

/// Whether `granted` covers `needed` (`Desk.tickets.READ` is covered by itself or by
/// `Desk.tickets.ALL`; scopes compare without regard to case).
pub fn covers(granted: &[String], needed: &str) -> bool {
    let family = needed.rsplit_once('.').map(|(f, _)| f).unwrap_or(needed);
    granted
        .iter()
        .any(|g| g.eq_ignore_ascii_case(needed) || g.eq_ignore_ascii_case(&format!("{family}.ALL")))
}

/// The Zoho user a request's `Authorization: Zoho-oauthtoken …` acts as, or the 401 Zoho gives.
pub fn authenticate(sim: &Inner, req: &HttpRequest, api: Api) -> Result<String, HttpResponse> {
    let header = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(token) = header.strip_prefix("Zoho-oauthtoken ") else {
        return Err(match api {
            Api::Desk => desk_error(
                401,
                "UNAUTHORIZED",
                "You are not authenticated to perform this operation.",
            ),
            // Cliq answers a missing token with an empty HTML body.
            Api::Cliq => HttpResponse::Unauthorized()
                .content_type("text/html")
                .finish(),
        });
    };
    let now = sim.clock.now();
    let st = sim.state();
    match st.accounts.access.get(token.trim()) {
        Some(t) if t.expires_at > now => Ok(st
            .accounts
            .grants
            .get(&t.refresh_token)
            .map(|g| g.zuid.clone())
            .unwrap_or_default()),
        _ => Err(match api {
            Api::Desk => desk_error(
                401,
                "INVALID_OAUTH",
                "The OAuth Token you provided is invalid.",
            ),
            Api::Cliq => cliq_error(401, "oauthtoken_invalid", "Invalid OAuth token passed."),
        }),
    }
}
