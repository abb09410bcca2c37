//! Cliq callbacks: `verify` with the simulator's extension key on arbitrary bytes (the bytes as
//! the body and as the `X-Cliq-Signature` header, and with no header), then
//! `Callback::parse` of the bytes as JSON.
//!
//! Invariants: never panics; the key always loads; an unsigned call is `Unsigned` and never
//! accepted; an accepted body is the JSON without `signature`; a parsed callback has what
//! `parse` promises (params and a user id from `params.user` or `params.access`, a lower-case
//! command name without `/`, a non-blank button key, no empty `response_url` or message id,
//! timestamps in milliseconds, `fresh` never panics).
#![no_main]

use deskcliq::cliq::callback::{Callback, CallbackError, Request, verify};
use deskcliq::sim::CLIQ_EXTENSION_PUBLIC_KEY;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| check(data));

fn check(data: &[u8]) {
    let json = serde_json::from_slice::<Value>(data).ok();
    check_verify(data, json.as_ref());
    if let Some(v) = &json {
        check_parse(v);
    }
}

fn check_verify(data: &[u8], json: Option<&Value>) {
    let header = String::from_utf8_lossy(data);
    for header in [Some(header.as_ref()), None] {
        match verify(CLIQ_EXTENSION_PUBLIC_KEY, data, header) {
            Err(CallbackError::Key(e)) => panic!("the simulator's key did not load: {e}"),
            Err(CallbackError::Unsigned) => assert!(header.is_none(), "a header is a signature"),
            Err(_) => {}
            Ok(v) => {
                let Some(mut original) = json.cloned() else {
                    panic!("accepted a body that is not JSON");
                };
                if let Some(o) = original.as_object_mut() {
                    assert!(o.shift_remove("signature").is_some() || header.is_some());
                }
                assert_eq!(
                    v, original,
                    "the accepted body is the JSON without `signature`"
                );
            }
        }
    }
    if json.as_ref().and_then(|v| v.get("signature")).is_none() {
        assert_eq!(
            verify(CLIQ_EXTENSION_PUBLIC_KEY, data, None),
            Err(CallbackError::Unsigned),
            "no header, no signature field"
        );
    }
}

fn check_parse(v: &Value) {
    let parsed = Callback::parse(v);
    assert_eq!(parsed, Callback::parse(v), "parse is not deterministic");
    let Ok(cb) = parsed else {
        return;
    };
    let params = v.get("params").filter(|p| p.is_object());
    assert!(params.is_some(), "accepted without a params object");
    assert!(
        !cb.caller.id.trim().is_empty(),
        "accepted without a user id"
    );
    assert!(
        params.and_then(|p| p.get("user")).is_some()
            || params.and_then(|p| p.get("access")).is_some(),
        "accepted without params.user or params.access"
    );
    match &cb.request {
        Request::Command { name, .. } => {
            assert!(!name.starts_with('/'), "command name {name:?}");
            assert_eq!(name, &name.to_ascii_lowercase(), "command name {name:?}");
        }
        Request::Button { key } => assert!(!key.trim().is_empty(), "blank button key"),
        _ => {}
    }
    assert_ne!(cb.response_url.as_deref(), Some(""));
    assert_ne!(cb.message_id.as_deref(), Some(""));
    for org in &cb.caller.organizations {
        assert_eq!(org, org.trim(), "organisation id {org:?}");
    }
    let sent = match v.get("timestamp") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match sent {
        Some(t) if t < 100_000_000_000 => match t.checked_mul(1000) {
            Some(ms) => assert_eq!(cb.timestamp_ms, Some(ms), "seconds as milliseconds"),
            // Seconds too far out for milliseconds: refused or clamped, never fresh.
            None => assert!(!cb.fresh(1_700_000_000_000), "timestamp {t} fresh"),
        },
        Some(t) => assert_eq!(cb.timestamp_ms, Some(t), "timestamp"),
        None => {
            // A fractional number, or text of one, is read when finite; nothing else is.
            let fraction = match v.get("timestamp") {
                Some(Value::Number(n)) => n.as_f64(),
                Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .filter(|f| f.is_finite());
            assert_eq!(
                cb.timestamp_ms.is_some(),
                fraction.is_some(),
                "fractional timestamp"
            );
        }
    }
    // As the daemon asks it, and at the call's own time.
    let _ = cb.fresh(1_700_000_000_000);
    if let Some(t) = cb.timestamp_ms {
        assert!(cb.fresh(t), "a call is fresh at its own time");
    } else {
        assert!(!cb.fresh(1_700_000_000_000), "fresh without a timestamp");
    }
}
