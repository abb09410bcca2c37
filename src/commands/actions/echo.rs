//! Running an action once, and recognising its webhook echo.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::forms::{FORM_LIFETIME, FormContext};
use crate::store::TreeName;

/// How long a Desk change's echo is waited for.
pub const ECHO_LIFETIME: chrono::Duration = chrono::Duration::hours(1);

/// A quick action's run, by idempotency key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionRecord {
    pub at: DateTime<Utc>,
    pub state: ActionState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionState {
    Running,
    Done,
}

/// An action under way on a ticket by an agent: its webhook (modified by that agent) is the
/// action's echo even before Desk's answer tells its `modifiedTime`.
pub fn echo_key_actor(ticket_id: &str, agent_id: &str) -> String {
    format!("actor:{ticket_id}:{agent_id}")
}

/// How long after an action its echo is recognised by the acting agent alone.
const ACTOR_ECHO_WINDOW: chrono::Duration = chrono::Duration::minutes(2);

/// The webhook echo of a ticket change deskcliq made: the ticket and its new `modifiedTime`.
pub fn echo_key_ticket(ticket_id: &str, modified: DateTime<Utc>) -> String {
    format!("ticket:{ticket_id}:{}", modified.timestamp_millis())
}

/// Whether a webhook event is the echo of a change deskcliq made: the exact change (ticket and
/// its new `modifiedTime`, or the comment's id), or a change of that ticket by the acting agent
/// within two minutes of the action (the webhook may come before Desk's answer).
pub fn is_echo(store: &crate::store::Store, event_type: &str, payload: &Value) -> bool {
    let echoes = store.tree::<String, DateTime<Utc>>(TreeName::Echoes);
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let Some(id) = text(payload.get("id")) else {
        return false;
    };
    let modified = payload
        .get("modifiedTime")
        .or_else(|| payload.get("commentedTime"))
        .and_then(crate::desk::lenient::value_time);
    let (exact, ticket, actor) = if event_type.starts_with("Ticket_Comment") {
        (
            format!("comment:{id}"),
            text(payload.get("ticketId"))
                .or_else(|| text(payload.get("ticket").and_then(|t| t.get("id")))),
            text(payload.get("commenterId"))
                .or_else(|| text(payload.get("commenter").and_then(|c| c.get("id")))),
        )
    } else if event_type == "Ticket_Update" {
        (
            modified
                .map(|m| echo_key_ticket(&id, m))
                .unwrap_or_default(),
            Some(id.clone()),
            text(payload.get("modifiedBy")),
        )
    } else {
        return false;
    };
    if !exact.is_empty() && echoes.contains(&exact).unwrap_or(false) {
        return true;
    }
    let (Some(ticket), Some(actor)) = (ticket, actor) else {
        return false;
    };
    match echoes.get(&echo_key_actor(&ticket, &actor)) {
        Ok(Some(at)) => modified
            .is_none_or(|m| m >= at - chrono::Duration::seconds(5) && m <= at + ACTOR_ECHO_WINDOW),
        _ => false,
    }
}

/// Forgets echoes and done actions past their lifetime, and stale forms. A record that
/// cannot be read is set aside on the way: it must not stop every later prune.
pub fn prune(
    store: &crate::store::Store,
    now: DateTime<Utc>,
) -> Result<usize, crate::store::StoreError> {
    let mut n = 0;
    let echoes = store.tree::<String, DateTime<Utc>>(TreeName::Echoes);
    for item in echoes.iter_readable()? {
        let (k, at) = item?;
        if now - at > ECHO_LIFETIME {
            echoes.remove(&k)?;
            n += 1;
        }
    }
    let done = store.tree::<String, ActionRecord>(TreeName::ActionsDone);
    for item in done.iter_readable()? {
        let (k, r) = item?;
        if now - r.at > chrono::Duration::days(1) {
            done.remove(&k)?;
            n += 1;
        }
    }
    let forms = store.tree::<String, FormContext>(TreeName::Forms);
    for item in forms.iter_readable()? {
        let (k, f) = item?;
        if now - f.created > FORM_LIFETIME {
            forms.remove(&k)?;
            n += 1;
        }
    }
    Ok(n)
}

pub(super) fn idempotency_key(context: &FormContext, base: &str, values: &Value) -> String {
    let canonical = serde_json::to_string(&sorted(values)).unwrap_or_default();
    let material = format!(
        "{}|{}|{base}|{canonical}",
        context.message_id.as_deref().unwrap_or("-"),
        context.created.timestamp_millis()
    );
    let digest = ring::digest::digest(&ring::digest::SHA256, material.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// `v` with object keys sorted (so that key order does not change the key).
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&o[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_idempotency_key_ignores_key_order_but_not_content() {
        let c = FormContext {
            ticket_id: "1".into(),
            ticket_number: "1".into(),
            subject: String::new(),
            department_id: "d".into(),
            chat_id: None,
            message_id: Some("m1".into()),
            to: None,
            from: None,
            channel: None,
            choices: Vec::new(),
            created: DateTime::<Utc>::UNIX_EPOCH,
        };
        let a = idempotency_key(
            &c,
            "comment:1",
            &json!({"content": "x", "visibility": "private"}),
        );
        let b = idempotency_key(
            &c,
            "comment:1",
            &json!({"visibility": "private", "content": "x"}),
        );
        let d = idempotency_key(
            &c,
            "comment:1",
            &json!({"visibility": "private", "content": "y"}),
        );
        assert_eq!(a, b);
        assert_ne!(a, d);
    }
}
