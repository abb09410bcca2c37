//! Desk webhook bodies: `deskcliq::notify::event::parse_body` on arbitrary bytes.
//!
//! Invariants: never panics; deterministic; an accepted body is a JSON array with one event per
//! element (per record when a known type's payload is an array of them), each event's fields
//! are the element's; the identity is
//! `type:id:millis-or-empty:24-hex`; whitespace between tokens changes nothing.
#![no_main]

use deskcliq::notify::event::{KNOWN_EVENTS, parse_body};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| check(data));

fn check(data: &[u8]) {
    let first = parse_body(data);
    assert_eq!(first, parse_body(data), "parse_body is not deterministic");
    let events = match first {
        Ok(events) => events,
        Err(e) => {
            assert!(!e.0.is_empty(), "an empty reason");
            return;
        }
    };
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(data) else {
        panic!("accepted a body that is not a JSON array");
    };
    let expected = expected_events(&items);
    assert_eq!(expected.len(), events.len(), "one event per element or record");
    for ((item, payload, prev_state), ev) in expected.iter().zip(&events) {
        assert!(!ev.event_type.is_empty(), "an empty eventType");
        assert_eq!(
            item.get("eventType"),
            Some(&Value::String(ev.event_type.clone()))
        );
        assert_eq!(&ev.payload, payload, "payload");
        assert_eq!(&ev.prev_state, prev_state, "prevState");
        assert_eq!(
            ev.is_known(),
            KNOWN_EVENTS.contains(&ev.event_type.as_str())
        );
        let rest = ev
            .identity
            .strip_prefix(&format!("{}:", ev.event_type))
            .unwrap_or_else(|| panic!("identity {:?} without its type", ev.identity));
        let mut parts = rest.rsplitn(3, ':');
        let hex = parts.next().unwrap_or_default();
        let when = parts.next().unwrap_or_else(|| panic!("identity {rest:?}"));
        let id = parts.next().unwrap_or_else(|| panic!("identity {rest:?}"));
        assert_eq!(hex.len(), 24, "digest {hex:?}");
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert!(
            when.is_empty() || when.parse::<i64>().is_ok(),
            "time {when:?}"
        );
        let expected_id = match ev.payload.get("id") {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        assert_eq!(id, expected_id, "identity id");
    }
    // The same events, differently spaced, are the same events (numbers are left as they
    // were written: serde_json without `float_roundtrip` may read a re-printed float 1 ULP off).
    assert_eq!(
        parse_body(&spaced(data)),
        Ok(events),
        "whitespace changed the events"
    );
}

/// The events an accepted body's elements stand for, with the payload and prevState each must
/// carry: one per record when a known type's payload is an array (its prevState, if an array,
/// matched by position), else one; a type deskcliq does not take may hold any payload.
fn expected_events(items: &[Value]) -> Vec<(&Value, Value, Option<Value>)> {
    let mut out = Vec::new();
    for item in items {
        let known = item
            .get("eventType")
            .and_then(Value::as_str)
            .is_some_and(|t| KNOWN_EVENTS.contains(&t));
        let prev = item.get("prevState");
        match item.get("payload") {
            Some(Value::Array(records)) if known => {
                for (k, r) in records.iter().enumerate() {
                    assert!(r.is_object(), "accepted a record that is not an object");
                    let p = prev
                        .and_then(Value::as_array)
                        .and_then(|a| a.get(k))
                        .filter(|p| p.is_object());
                    out.push((item, r.clone(), p.cloned()));
                }
            }
            Some(p) if p.is_object() => {
                out.push((item, p.clone(), prev.filter(|p| p.is_object()).cloned()));
            }
            p => {
                assert!(!known, "accepted a known event without a payload object");
                out.push((item, p.cloned().unwrap_or(Value::Null), None));
            }
        }
    }
    out
}

/// `json` with a space after every `,`, `:`, `[` and `{` outside strings, and newlines around.
fn spaced(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() * 2 + 2);
    out.push(b'\n');
    let (mut in_string, mut escaped) = (false, false);
    for &b in json {
        out.push(b);
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if matches!(b, b',' | b':' | b'[' | b'{') {
            out.push(b' ');
        }
    }
    out.extend_from_slice(b" \n");
    out
}
