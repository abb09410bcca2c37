//! `GET|POST /webhooks/desk/{webhook_token}`: Desk's deliveries. Checks in DESIGN.md's order:
//! token (404), size (413), validation request (200), JWT (401), shape (400), then the events
//! are made durable and only then answered 200. Never 410: that would delete the subscription.

use std::sync::atomic::Ordering;

use actix_web::{HttpRequest, HttpResponse, web};

use super::AppState;
use crate::notify::event::{InboxEvent, parse_body};
use crate::store::{StoreError, TreeName};

/// Desk's bodies are small; anything past this is refused.
pub const MAX_BODY: usize = 1 << 20;

/// Leeway for `exp` against clock skew.
const JWT_LEEWAY_SECS: i64 = 60;

use super::text;

/// Compares without leaking, through timing, how much (or how long a prefix) matched: the
/// digests are compared in full, whatever the inputs' lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let da = ring::digest::digest(&ring::digest::SHA256, a);
    let db = ring::digest::digest(&ring::digest::SHA256, b);
    da.as_ref()
        .iter()
        .zip(db.as_ref())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Counts a delivery in flight until it is answered.
struct InFlight<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> InFlight<'a> {
    fn new(n: &'a std::sync::atomic::AtomicUsize) -> InFlight<'a> {
        n.fetch_add(1, Ordering::Relaxed);
        InFlight(n)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    mut payload: web::Payload,
) -> HttpResponse {
    use actix_web::http::StatusCode as S;
    let arrived = std::time::Instant::now();
    let config = state.config.borrow().clone();
    if !constant_time_eq(token.as_bytes(), config.desk.webhook_token.expose()) {
        return text(S::NOT_FOUND, "not found");
    }
    // Only deliveries to the right URL count: strangers cannot make routing wait.
    let _counted = InFlight::new(&state.ingest_in_flight);
    let body = match super::read_body(&req, &mut payload, MAX_BODY).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    // Desk validates a new webhook URL with a GET (or an empty POST) and needs 200.
    let trimmed = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect::<Vec<u8>>();
    if req.method() == actix_web::http::Method::GET || trimmed.is_empty() || trimmed == b"[]" {
        return text(S::OK, "ok");
    }
    if config.desk.verify_jwt {
        let Some(jwt) = req
            .headers()
            .get("X-ZDesk-JWT")
            .and_then(|v| v.to_str().ok())
        else {
            state
                .metrics
                .webhook_events_total
                .with_label_values(&["-", "unauthenticated"])
                .inc();
            return text(S::UNAUTHORIZED, "missing X-ZDesk-JWT");
        };
        let claims = match state.jwks.verify(jwt.trim()).await {
            Ok(c) => c,
            // Desk's keys could not be had: not the sender's fault, so Desk should retry.
            Err(e @ crate::jwks::JwksError::Fetch(_)) => {
                tracing::warn!(error = %e, "cannot verify a webhook: answering 503");
                return text(S::SERVICE_UNAVAILABLE, "cannot fetch Desk's signing keys");
            }
            Err(e) => {
                state
                    .metrics
                    .webhook_events_total
                    .with_label_values(&["-", "unauthenticated"])
                    .inc();
                return text(S::UNAUTHORIZED, &format!("bad X-ZDesk-JWT: {e}"));
            }
        };
        let webhook_id = state
            .webhook_id
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let now = state.clock.now().timestamp();
        let check = |id: Option<&str>| {
            crate::jwt::validate_desk_claims(&claims, &state.desk_org_id, id, now, JWT_LEEWAY_SECS)
        };
        let mut checked = check(webhook_id.as_deref());
        // Only the audience is wrong (every other claim holds): perhaps a webhook registered
        // anew since the id was learned.
        if let Err(crate::jwt::JwtError::Claim { claim: "aud", .. }) = checked
            && check(None).is_ok()
            && let Some(id) = look_again(&state, &config, webhook_id.as_deref(), arrived).await
            && Some(id.as_str()) != webhook_id.as_deref()
        {
            checked = check(Some(&id));
        }
        if let Err(e) = checked {
            state
                .metrics
                .webhook_events_total
                .with_label_values(&["-", "unauthenticated"])
                .inc();
            return text(S::UNAUTHORIZED, &format!("bad X-ZDesk-JWT: {e}"));
        }
    }
    let events = match parse_body(&body) {
        Ok(e) => e,
        Err(e) => {
            state
                .metrics
                .webhook_events_total
                .with_label_values(&["-", "malformed"])
                .inc();
            return text(S::BAD_REQUEST, &e.0);
        }
    };
    match store_events(&state, events).await {
        Ok(()) => {
            state.wake.notify_one();
            text(S::OK, "ok")
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot store webhook events: answering 503 so Desk retries");
            text(S::SERVICE_UNAVAILABLE, "store unusable")
        }
    }
}

/// How long a delivery waits for a second look at the webhook's id, at most, and by when
/// after its arrival that wait ends (the rest of Desk's 5 s goes to the JWKS and the store).
const LOOK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);
const LOOK_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3);

/// The webhook's id after a second look ([`crate::pipeline::WebhookIdLookup`]), run on the
/// daemon's own runtime so that it completes (and is kept) even when this delivery stops
/// waiting for it.
async fn look_again(
    state: &AppState,
    config: &std::sync::Arc<crate::config::Config>,
    seen: Option<&str>,
    arrived: std::time::Instant,
) -> Option<String> {
    let patience = LOOK_DEADLINE
        .saturating_sub(arrived.elapsed())
        .min(LOOK_PATIENCE);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (lookup, config, into, seen) = (
        state.webhook_lookup.clone(),
        config.clone(),
        state.webhook_id.clone(),
        seen.map(str::to_string),
    );
    actix_rt::System::current().arbiter().spawn(async move {
        let id = lookup.look_again(&config, &into, seen.as_deref()).await;
        let _ = tx.send(id);
    });
    tokio::time::timeout(patience, rx).await.ok()?.ok()?
}

/// Writes the known, new events to the inbox and makes them durable (group commit).
async fn store_events(state: &AppState, events: Vec<InboxEvent>) -> Result<(), StoreError> {
    let seen = state.store.tree::<String, i64>(TreeName::Events);
    let inbox = state.store.tree::<u64, InboxEvent>(TreeName::Inbox);
    let now = state.clock.now().timestamp_millis();
    let mut outcomes = Vec::with_capacity(events.len());
    for event in events {
        let outcome = if !event.is_known() {
            "ignored"
        } else if seen.insert_pair_if_absent(
            &event.identity,
            &now,
            &inbox,
            &state.store.next_id()?,
            &event,
        )? {
            // The inbox entry first, then the identity: a crash between them leaves at most a
            // second copy of the event, which the router takes harmlessly.
            "accepted"
        } else {
            "duplicate"
        };
        outcomes.push((event.event_type, outcome));
    }
    state.store.commit().await?;
    for (event_type, outcome) in outcomes {
        // Unknown types are counted under one label: the type is the sender's to choose.
        let label = if outcome == "ignored" {
            "unknown"
        } else {
            event_type.as_str()
        };
        state
            .metrics
            .webhook_events_total
            .with_label_values(&[label, outcome])
            .inc();
    }
    Ok(())
}
