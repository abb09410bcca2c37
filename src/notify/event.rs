//! Desk webhook events as deskcliq stores and reads them: parsed from the untrusted body, with
//! an identity that makes Desk's duplicate deliveries harmless.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::desk::lenient;

/// The event types deskcliq acts on. Every other type is counted and answered 200.
pub const KNOWN_EVENTS: [&str; 17] = [
    "Ticket_Add",
    "Ticket_Update",
    "Ticket_Delete",
    "Ticket_Comment_Add",
    "Ticket_Comment_Update",
    "Task_Add",
    "Task_Update",
    "Call_Add",
    "Call_Update",
    "Event_Add",
    "Event_Update",
    "Task_Delete",
    "Call_Delete",
    "Event_Delete",
    "Agent_Add",
    "Agent_Update",
    "Agent_Delete",
];

/// One event of a webhook body, as kept in the inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxEvent {
    pub event_type: String,
    pub event_time: Option<DateTime<Utc>>,
    pub payload: Value,
    pub prev_state: Option<Value>,
    /// See [`InboxEvent::identity`].
    pub identity: String,
}

/// Why a webhook body is not an array of events (answered 400 with this reason).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct ShapeError(pub String);

/// Parses a webhook body: a JSON array of event objects, each with a string `eventType` and,
/// for the types deskcliq takes, an object `payload` or an array of them (one event each).
/// Returns every event, known or not.
pub fn parse_body(body: &[u8]) -> Result<Vec<InboxEvent>, ShapeError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ShapeError(format!("body is not JSON: {e}")))?;
    let Value::Array(items) = v else {
        return Err(ShapeError("body is not a JSON array of events".into()));
    };
    let mut events = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(mut o) = item else {
            return Err(ShapeError(format!("event {i} is not an object")));
        };
        let event_type = match o.remove("eventType") {
            Some(Value::String(s)) if !s.is_empty() => s,
            _ => return Err(ShapeError(format!("event {i} has no eventType"))),
        };
        let known = KNOWN_EVENTS.contains(&event_type.as_str());
        let event_time = o.get("eventTime").and_then(lenient::value_time);
        let prev_state = o.remove("prevState");
        // A payload may be an array of records (one event each, as a delete of several).
        let records = match o.remove("payload") {
            Some(p @ Value::Object(_)) => vec![(p, prev_state.filter(Value::is_object))],
            Some(Value::Array(records)) if known => {
                let mut prev = match prev_state {
                    Some(Value::Array(p)) => p,
                    _ => Vec::new(),
                }
                .into_iter();
                let mut out = Vec::with_capacity(records.len());
                for r in records {
                    if !r.is_object() {
                        return Err(ShapeError(format!(
                            "event {i} ({event_type}) has a payload record that is not an object"
                        )));
                    }
                    out.push((r, prev.next().filter(Value::is_object)));
                }
                out
            }
            // A type deskcliq does not take is counted and answered 200 whatever it holds:
            // it must not make Desk retry the events beside it.
            p if !known => vec![(p.unwrap_or(Value::Null), None)],
            _ => {
                return Err(ShapeError(format!(
                    "event {i} ({event_type}) has no payload object"
                )));
            }
        };
        for (payload, prev_state) in records {
            let identity = identity(&event_type, &payload, event_time);
            events.push(InboxEvent {
                event_type: event_type.clone(),
                event_time,
                payload,
                prev_state,
                identity,
            });
        }
    }
    Ok(events)
}

impl InboxEvent {
    pub fn is_known(&self) -> bool {
        KNOWN_EVENTS.contains(&self.event_type.as_str())
    }
}

/// `type:id:time:digest-of-payload`: the same change delivered twice has the same identity; two
/// changes of one record do not. The time is the payload's `modifiedTime`, else (for a new
/// comment, whose `modifiedTime` is null) its `commentedTime` or `createdTime`, else the
/// `eventTime`, which a redelivery may stamp anew.
fn identity(event_type: &str, payload: &Value, event_time: Option<DateTime<Utc>>) -> String {
    let id = payload
        .get("id")
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .unwrap_or_default();
    // Only new comments: an edit is told from a later edit back to the same text by its
    // eventTime when its modifiedTime is missing; every other identity stays as stores hold it.
    let created = || {
        if event_type != "Ticket_Comment_Add" {
            return None;
        }
        ["commentedTime", "createdTime"]
            .iter()
            .find_map(|k| payload.get(*k).and_then(identity_time))
    };
    let when = payload
        .get("modifiedTime")
        .and_then(identity_time)
        .or_else(created)
        .or(event_time)
        .map(|t| t.timestamp_millis().to_string())
        .unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, payload.to_string().as_bytes());
    let hex: String = digest.as_ref()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{event_type}:{id}:{when}:{hex}")
}

/// How identities read a time: RFC 3339 or positive epoch milliseconds, nothing else. Frozen
/// (not [`lenient::value_time`], which learns new forms): stores hold identities made with it
/// to recognise redeliveries, so a change here would let a redelivery through as new.
fn identity_time(v: &Value) -> Option<DateTime<Utc>> {
    let from_ms = |ms: i64| {
        (ms > 0)
            .then(|| DateTime::from_timestamp_millis(ms))
            .flatten()
    };
    match v {
        Value::Number(n) => n.as_i64().and_then(from_ms),
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                None
            } else if let Ok(ms) = s.parse::<i64>() {
                from_ms(ms)
            } else {
                DateTime::parse_from_rfc3339(s)
                    .ok()
                    .map(|t| t.with_timezone(&Utc))
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_must_be_an_array_of_events_with_type_and_payload() {
        assert!(parse_body(b"{}").is_err());
        assert!(parse_body(b"not json").is_err());
        assert!(parse_body(br#"[{"payload":{}}]"#).is_err());
        assert!(parse_body(br#"[{"eventType":"Ticket_Add"}]"#).is_err());
        assert!(parse_body(br#"[{"eventType":"Ticket_Add","payload":null}]"#).is_err());
        // A type deskcliq does not take may hold anything.
        let other = parse_body(br#"[{"eventType":"Agent_Presence_Update","payload":null}]"#);
        assert!(!other.unwrap()[0].is_known());
        assert!(parse_body(br#"[{"eventType":"Ticket_Delete","payload":[1]}]"#).is_err());
    }

    #[test]
    fn a_payload_array_is_one_event_per_record() {
        let e = parse_body(
            br#"[{"eventType":"Ticket_Delete","eventTime":"1","payload":[{"id":"1"},{"id":"2"}]}]"#,
        )
        .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].payload["id"], "1");
        assert_eq!(e[1].payload["id"], "2");
        assert_ne!(e[0].identity, e[1].identity);
        assert_eq!(parse_body(b"[]").unwrap(), vec![]);
        let e = parse_body(
            br#"[{"eventType":"Ticket_Add","eventTime":"1618493667780","payload":{"id":"1"}}]"#,
        )
        .unwrap();
        assert_eq!(
            e[0].event_time.unwrap().timestamp_millis(),
            1_618_493_667_780
        );
        assert!(e[0].is_known());
    }

    #[test]
    fn the_same_change_has_the_same_identity_and_another_does_not() {
        let a = parse_body(br#"[{"eventType":"Ticket_Update","eventTime":"1","payload":{"id":"1","status":"Open","modifiedTime":"2021-04-15T13:34:27.000Z"}}]"#).unwrap();
        let b = parse_body(br#"[{"eventType":"Ticket_Update","eventTime":"2","payload":{"id":"1","status":"Open","modifiedTime":"2021-04-15T13:34:27.000Z"}}]"#).unwrap();
        let c = parse_body(br#"[{"eventType":"Ticket_Update","eventTime":"1","payload":{"id":"1","status":"Closed","modifiedTime":"2021-04-15T13:35:27.000Z"}}]"#).unwrap();
        assert_eq!(a[0].identity, b[0].identity);
        assert_ne!(a[0].identity, c[0].identity);
    }

    #[test]
    fn a_new_comment_redelivered_with_a_new_event_time_has_the_same_identity() {
        let comment = |event_time: &str, when: &str| {
            parse_body(format!(r#"[{{"eventType":"Ticket_Comment_Add","eventTime":"{event_time}","payload":{{"id":"9","ticketId":"1","content":"x","modifiedTime":null,{when}}}}}]"#).as_bytes()).unwrap().remove(0).identity
        };
        for when in [
            r#""commentedTime":"2021-04-15T13:34:27.000Z""#,
            r#""createdTime":"2021-04-15T13:34:27.000Z""#,
        ] {
            let first = comment("1618493667780", when);
            assert_eq!(first, comment("1618493669999", when), "{when}");
            assert!(
                first.starts_with("Ticket_Comment_Add:9:1618493667000:"),
                "{first}"
            );
        }
        // Without any of them, the eventTime is all there is.
        assert_ne!(
            comment("1618493667780", r#""isPublic":true"#),
            comment("1618493669999", r#""isPublic":true"#)
        );
    }

    #[test]
    fn identities_other_than_a_new_comments_are_unchanged() {
        // As made before commentedTime/createdTime counted: other events keep the eventTime.
        let id = |body: &str| parse_body(body.as_bytes()).unwrap().remove(0).identity;
        assert_eq!(
            id(
                r#"[{"eventType":"Ticket_Add","eventTime":"1618493667780","payload":{"id":"1","createdTime":"2021-04-15T13:34:27.000Z"}}]"#
            ),
            "Ticket_Add:1:1618493667780:c24d0d7cef2d38c7969b3196"
        );
        assert_eq!(
            id(
                r#"[{"eventType":"Ticket_Comment_Update","eventTime":"1618493667780","payload":{"id":"9","modifiedTime":null,"commentedTime":"2021-04-15T13:34:27.000Z"}}]"#
            ),
            "Ticket_Comment_Update:9:1618493667780:df667ec33defed0abd0b5a45"
        );
    }

    #[test]
    fn identities_do_not_change_when_time_parsing_learns_new_forms() {
        // Made before `+0000` offsets were read: the eventTime stood in for modifiedTime.
        let e = parse_body(br#"[{"eventType":"Ticket_Update","eventTime":"1618493667780","payload":{"id":"1","modifiedTime":"2021-04-15T13:34:27.000+0000"}}]"#).unwrap();
        assert_eq!(
            e[0].identity,
            "Ticket_Update:1:1618493667780:1d01a51810ec781a32685c75"
        );
    }
}
