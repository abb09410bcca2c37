//! `POST /cliq/callback`: Cliq's commands, bot messages, menu actions, button clicks and form
//! submits. Signature first (else 401, nothing done), then the timestamp (older than five
//! minutes: 401), then the shape (400); then [`crate::commands`] answers `{"output": …}`.
//! When Desk is slow the caller gets a "working on it" banner at once and the answer goes to
//! `response_url` when it is ready; the request never hangs.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};

use super::{AppState, text};
use crate::cliq::callback::{Callback, CallbackError, verify};
use crate::commands::{Reply, Service, deliver_late, locale_of, render::banner};

/// Cliq's bodies are small.
pub const MAX_BODY: usize = 1 << 20;
/// How long the caller waits for an answer before getting "working on it".
pub const PATIENCE: Duration = Duration::from_secs(3);
/// Cliq takes answers until ~15 s after `timestamp`: a late answer must be ready by then.
const CLIQ_WINDOW: Duration = Duration::from_secs(14);

fn output(v: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "output": v }))
}

fn count(state: &AppState, name: &str, outcome: &str) {
    state
        .metrics
        .commands_total
        .with_label_values(&[name, outcome])
        .inc();
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> HttpResponse {
    use actix_web::http::StatusCode as S;
    let config = state.config.borrow().clone();
    let body = match super::read_body(&req, &mut payload, MAX_BODY).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(key) = config.cliq.public_key.as_ref() else {
        count(&state, "-", "unauthenticated");
        return text(
            S::UNAUTHORIZED,
            "no cliq.public_key_file configured: callbacks cannot be verified",
        );
    };
    let header = req
        .headers()
        .get("X-Cliq-Signature")
        .and_then(|v| v.to_str().ok());
    let key = key.expose_str();
    let value = match verify(key, &body, header) {
        Ok(v) => v,
        // Signed, but not a Cliq callback (not JSON): the signature held, so 400, not 401.
        Err(e @ CallbackError::Shape(_)) => {
            count(&state, "-", "malformed");
            return text(S::BAD_REQUEST, &e.to_string());
        }
        Err(e) => {
            count(&state, "-", "unauthenticated");
            return text(S::UNAUTHORIZED, &e.to_string());
        }
    };
    let callback = match Callback::parse(&value) {
        Ok(c) => c,
        Err(e) => {
            count(&state, "-", "malformed");
            return text(S::BAD_REQUEST, &e.to_string());
        }
    };
    if !callback.fresh(state.clock.now().timestamp_millis()) {
        count(&state, "-", "stale");
        return text(S::UNAUTHORIZED, &CallbackError::Stale.to_string());
    }
    answer(state.commands.clone(), callback, &state).await
}

/// Runs the answer on the daemon's own runtime; waits [`PATIENCE`] for it, else answers
/// "working on it" and leaves the answer to go to `response_url`.
async fn answer(service: Arc<Service>, callback: Callback, state: &AppState) -> HttpResponse {
    let (tx, mut rx) = tokio::sync::oneshot::channel::<Reply>();
    let config = state.config.borrow().clone();
    let metrics = state.metrics.clone();
    let late_url = callback.response_url.clone();
    let name = crate::commands::metric_name(&callback.request);
    let texts = crate::i18n::texts(locale_of(callback.caller.language.as_deref(), &config));
    let working = banner(true, texts.cmd.working);
    // A form submit cut off here was a quick action Desk may have made: not "try again".
    let failed = if matches!(
        callback.request,
        crate::cliq::callback::Request::Form { .. }
    ) {
        banner(false, texts.act.unknown_outcome)
    } else {
        banner(false, texts.cmd.desk_unavailable)
    };
    // What is left of Cliq's window (at least a few seconds, whatever the clocks say).
    let now_ms = state.clock.now().timestamp_millis();
    let left = callback
        .timestamp_ms
        .map(|t| t + CLIQ_WINDOW.as_millis() as i64 - now_ms)
        .and_then(|ms| u64::try_from(ms).ok())
        .map(Duration::from_millis)
        .unwrap_or(CLIQ_WINDOW)
        .max(PATIENCE + Duration::from_secs(2));
    // Without a response_url a late answer cannot be delivered: wait as long as Cliq does.
    let patience = if late_url.is_some() { PATIENCE } else { left };
    let task = async move {
        let reply = match tokio::time::timeout(left, service.answer(&callback)).await {
            Ok(r) => r,
            Err(_) => Reply {
                output: failed,
                outcome: crate::commands::Outcome {
                    name,
                    outcome: "timeout",
                },
            },
        };
        // A Post here is acknowledged only once it is durable.
        if let Err(e) = service.commit().await {
            tracing::error!(error = %e, "cannot make a command's result durable");
        }
        let Err(reply) = tx.send(reply) else { return };
        // The caller was told "working on it": the answer goes to response_url.
        let outcome = reply.outcome;
        let result = match &late_url {
            Some(url) => deliver_late(url, &reply.output, &config).await,
            None => Err("no response_url".into()),
        };
        let label = match &result {
            Ok(()) => "answered_late",
            Err(e) => {
                tracing::warn!(command = outcome.name, error = %e, "cannot deliver a late answer");
                "late_failed"
            }
        };
        metrics
            .commands_total
            .with_label_values(&[outcome.name, label])
            .inc();
    };
    actix_rt::System::current().arbiter().spawn(task);
    let reply = match tokio::time::timeout(patience, &mut rx).await {
        Ok(Ok(reply)) => Some(reply),
        Ok(Err(_)) => None,
        Err(_) => {
            // No answer yet: from now on it goes to response_url (unless it just arrived).
            rx.close();
            rx.try_recv().ok()
        }
    };
    match reply {
        Some(r) => {
            count(state, r.outcome.name, r.outcome.outcome);
            output(r.output)
        }
        None => {
            count(state, name, "deferred");
            output(working)
        }
    }
}
