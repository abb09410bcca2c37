//! The forms of quick actions: their names, their context, their values.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::super::FUNCTION;
use crate::config::Action;

/// How long an opened form can be submitted.
pub const FORM_LIFETIME: chrono::Duration = chrono::Duration::hours(1);
/// Statuses offered when Desk cannot list the portal's own.
pub(super) const DEFAULT_STATUSES: [&str; 4] = ["Open", "On Hold", "Escalated", "Closed"];

/// The card a form was opened from, and what the form needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FormContext {
    pub ticket_id: String,
    pub ticket_number: String,
    pub subject: String,
    pub department_id: String,
    pub chat_id: Option<String>,
    pub message_id: Option<String>,
    /// Reply: the customer's address and the portal's from-address.
    pub to: Option<String>,
    pub from: Option<String>,
    /// Reply: the channel to answer on (`EMAIL` unless the ticket came by a social channel).
    #[serde(default)]
    pub channel: Option<String>,
    /// Status: the statuses the form offered (a submitted one must be among them).
    #[serde(default)]
    pub choices: Vec<String>,
    pub created: DateTime<Utc>,
}

pub(super) fn form_key(cliq_user: &str, base: &str) -> String {
    format!("{cliq_user}|{base}")
}

/// A form's name: the button key it came from (`status:<ticketId>`), with `:send` for the
/// reply's confirmation step.
pub(super) fn parse_form_name(name: &str) -> Option<(Action, String, bool)> {
    let (action, rest) = name.split_once(':')?;
    let action = Action::parse(action)?;
    let (id, send) = match rest.strip_suffix(":send") {
        Some(id) => (id, true),
        None => (rest, false),
    };
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
        .then(|| (action, id.to_string(), send))
}

/// A select's value: `{label, value}` or a plain string.
pub(super) fn value_of(values: &Value, field: &str) -> Option<String> {
    let v = values.get(field)?;
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("value").and_then(|x| {
            x.as_str()
                .map(str::to_string)
                .or_else(|| Some(x.to_string()))
        }),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
    .map(|s| s.trim().to_string())
    .filter(|s| !s.is_empty())
}

/// A Cliq form that submits to `deskaction`.
pub(super) fn form_json(title: &str, name: &str, button: &str, inputs: Vec<Value>) -> Value {
    json!({
        "type": "form",
        "title": crate::cliq::message::truncate(title, 100),
        "name": name,
        "button_label": button,
        "inputs": inputs,
        "action": {"type": "invoke.function", "name": FUNCTION},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_names_are_button_keys_with_an_optional_send_step() {
        assert_eq!(
            parse_form_name("status:123"),
            Some((Action::Status, "123".into(), false))
        );
        assert_eq!(
            parse_form_name("reply:123:send"),
            Some((Action::Reply, "123".into(), true))
        );
        assert_eq!(parse_form_name("post:abc"), None);
        assert_eq!(parse_form_name("status:"), None);
        assert_eq!(parse_form_name("status:12a"), None);
        assert_eq!(parse_form_name("delete:1"), None);
    }

    #[test]
    fn select_values_are_read_from_objects_or_strings() {
        let v =
            json!({"status": {"label": "Closed", "value": "Closed"}, "content": " hi ", "n": 5});
        assert_eq!(value_of(&v, "status").as_deref(), Some("Closed"));
        assert_eq!(value_of(&v, "content").as_deref(), Some("hi"));
        assert_eq!(value_of(&v, "n").as_deref(), Some("5"));
        assert_eq!(value_of(&v, "missing"), None);
    }
}
