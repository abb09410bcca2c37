//! Replays the fuzzers' committed inputs (`fuzz/corpus/<target>/` and any crash inputs in
//! `fuzz/artifacts/<target>/`) through the parsers the fuzz targets drive, with the same
//! invariants, so every `cargo test` catches a regression without cargo-fuzz. The invariants are
//! restated here on purpose: this test shares no code with the `fuzz/` crate.

use std::path::{Path, PathBuf};

use deskcliq::cliq::callback::{Callback, CallbackError, Request, verify};
use deskcliq::commands::args::{TicketArg, narrow, phrase, status_part, ticket_arg, visible};
use deskcliq::notify::event::{KNOWN_EVENTS, parse_body};
use deskcliq::sim::CLIQ_EXTENSION_PUBLIC_KEY;
use serde_json::Value;

/// What one target checks of one input.
type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 3] = [
    ("webhook_body", webhook_body),
    ("cliq_callback", cliq_callback),
    ("command_args", command_args),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files directly in `dir` (none when it does not exist), sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` on every file, and fails naming every file that broke an invariant.
fn replay(dir: &Path, check: Check) -> usize {
    let files = files(dir);
    let failed: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let data = std::fs::read(path).unwrap();
            std::panic::catch_unwind(|| check(&data))
                .err()
                .map(|_| path.display().to_string())
        })
        .collect();
    assert!(
        failed.is_empty(),
        "inputs that broke an invariant: {failed:#?}"
    );
    files.len()
}

#[test]
fn every_fuzz_directory_belongs_to_a_known_target() {
    for kind in ["corpus", "artifacts"] {
        for dir in std::fs::read_dir(fuzz_dir().join(kind))
            .into_iter()
            .flatten()
        {
            let name = dir.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                TARGETS.iter().any(|(t, _)| *t == name),
                "fuzz/{kind}/{name} is not replayed by this test"
            );
        }
    }
}

#[test]
fn the_webhook_corpus_and_crashes_replay() {
    assert!(replay(&fuzz_dir().join("corpus/webhook_body"), webhook_body) >= 10);
    replay(&fuzz_dir().join("artifacts/webhook_body"), webhook_body);
}

#[test]
fn the_cliq_callback_corpus_and_crashes_replay() {
    assert!(replay(&fuzz_dir().join("corpus/cliq_callback"), cliq_callback) >= 10);
    replay(&fuzz_dir().join("artifacts/cliq_callback"), cliq_callback);
}

#[test]
fn the_command_args_corpus_and_crashes_replay() {
    assert!(replay(&fuzz_dir().join("corpus/command_args"), command_args) >= 10);
    replay(&fuzz_dir().join("artifacts/command_args"), command_args);
}

/// The seeds signed with the simulator's extension key still verify, so the corpus keeps
/// reaching the accepting path of `verify`.
#[test]
fn the_signed_callback_seeds_verify() {
    let signed: Vec<PathBuf> = files(&fuzz_dir().join("corpus/cliq_callback"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("_signed"))
        .collect();
    assert!(signed.len() >= 3);
    for path in signed {
        let data = std::fs::read(&path).unwrap();
        let v = verify(CLIQ_EXTENSION_PUBLIC_KEY, &data, None)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(Callback::parse(&v).is_ok(), "{}", path.display());
    }
}

// ---- webhook_body: `parse_body` ----

fn webhook_body(data: &[u8]) {
    let first = parse_body(data);
    assert_eq!(first, parse_body(data), "parse_body is not deterministic");
    let events = match first {
        Ok(events) => events,
        Err(e) => {
            assert!(!e.0.is_empty());
            return;
        }
    };
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(data) else {
        panic!("accepted a body that is not a JSON array");
    };
    let expected = expected_events(&items);
    assert_eq!(expected.len(), events.len());
    for ((item, payload, prev_state), ev) in expected.iter().zip(&events) {
        assert!(!ev.event_type.is_empty());
        assert_eq!(
            item.get("eventType"),
            Some(&Value::String(ev.event_type.clone()))
        );
        assert_eq!(&ev.payload, payload);
        assert_eq!(&ev.prev_state, prev_state);
        assert_eq!(
            ev.is_known(),
            KNOWN_EVENTS.contains(&ev.event_type.as_str())
        );
        // `type:id:millis-or-empty:24 hex digits`.
        let rest = ev
            .identity
            .strip_prefix(&format!("{}:", ev.event_type))
            .unwrap();
        let parts: Vec<&str> = rest.rsplitn(3, ':').collect();
        assert_eq!(parts.len(), 3, "identity {:?}", ev.identity);
        let (hex, when, id) = (parts[0], parts[1], parts[2]);
        assert_eq!(hex.len(), 24);
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert!(when.is_empty() || when.parse::<i64>().is_ok());
        let expected_id = match ev.payload.get("id") {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        assert_eq!(id, expected_id);
    }
    // Whitespace between tokens changes nothing (numbers stay as written).
    assert_eq!(parse_body(&spaced(data)), Ok(events));
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
    let mut out = vec![b'\n'];
    let (mut in_string, mut escaped) = (false, false);
    for &b in json {
        out.push(b);
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if b",:[{".contains(&b) {
            out.push(b' ');
        }
    }
    out.extend_from_slice(b" \n");
    out
}

// ---- cliq_callback: `verify` and `Callback::parse` ----

fn cliq_callback(data: &[u8]) {
    let json = serde_json::from_slice::<Value>(data).ok();
    let lossy = String::from_utf8_lossy(data);
    for header in [Some(lossy.as_ref()), None] {
        match verify(CLIQ_EXTENSION_PUBLIC_KEY, data, header) {
            Err(CallbackError::Key(e)) => panic!("the simulator's key did not load: {e}"),
            Err(CallbackError::Unsigned) => assert!(header.is_none()),
            Err(_) => {}
            Ok(v) => {
                let mut original = json.clone().expect("accepted a body that is not JSON");
                if let Some(o) = original.as_object_mut() {
                    assert!(o.shift_remove("signature").is_some() || header.is_some());
                }
                assert_eq!(v, original);
            }
        }
    }
    if json.as_ref().and_then(|v| v.get("signature")).is_none() {
        assert_eq!(
            verify(CLIQ_EXTENSION_PUBLIC_KEY, data, None),
            Err(CallbackError::Unsigned)
        );
    }
    let Some(v) = json else {
        return;
    };
    let parsed = Callback::parse(&v);
    assert_eq!(parsed, Callback::parse(&v));
    let Ok(cb) = parsed else {
        return;
    };
    let params = v.get("params").filter(|p| p.is_object());
    assert!(params.is_some());
    // A user id, from params.user or params.access.
    assert!(!cb.caller.id.trim().is_empty());
    assert!(
        params.and_then(|p| p.get("user")).is_some()
            || params.and_then(|p| p.get("access")).is_some()
    );
    match &cb.request {
        Request::Command { name, .. } => {
            assert!(!name.starts_with('/'));
            assert_eq!(name, &name.to_ascii_lowercase());
        }
        Request::Button { key } => assert!(!key.trim().is_empty()),
        _ => {}
    }
    assert_ne!(cb.response_url.as_deref(), Some(""));
    assert_ne!(cb.message_id.as_deref(), Some(""));
    for org in &cb.caller.organizations {
        assert_eq!(org, org.trim());
    }
    let sent = match v.get("timestamp") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match sent {
        Some(t) if t < 100_000_000_000 => match t.checked_mul(1000) {
            Some(ms) => assert_eq!(cb.timestamp_ms, Some(ms)),
            // Seconds too far out for milliseconds: refused or clamped, never fresh.
            None => assert!(!cb.fresh(1_700_000_000_000)),
        },
        Some(t) => assert_eq!(cb.timestamp_ms, Some(t)),
        None => {
            // A fractional number, or text of one, is read when finite; nothing else is.
            let fraction = match v.get("timestamp") {
                Some(Value::Number(n)) => n.as_f64(),
                Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .filter(|f| f.is_finite());
            assert_eq!(cb.timestamp_ms.is_some(), fraction.is_some());
        }
    }
    let _ = cb.fresh(1_700_000_000_000);
    match cb.timestamp_ms {
        Some(t) => assert!(cb.fresh(t)),
        None => assert!(!cb.fresh(1_700_000_000_000)),
    }
}

// ---- command_args: `narrow`, `ticket_arg`, `status_part`, `phrase` ----

fn command_args(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let s = s.as_ref();
    let narrowed = narrow(s);
    assert_eq!(s.chars().count(), narrowed.chars().count());
    for (a, b) in s.chars().zip(narrowed.chars()) {
        let expected = match a {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(a as u32 - 0xFEE0).unwrap(),
            '\u{3000}' => ' ',
            c => c,
        };
        assert_eq!(b, expected);
    }
    assert_eq!(narrow(&narrowed), narrowed);

    let padded = format!(" \u{3000}{s}\t\u{3000} ");
    let arg = ticket_arg(s);
    assert_eq!(arg, ticket_arg(&narrowed));
    assert_eq!(arg, ticket_arg(&padded));
    match &arg {
        TicketArg::Mine => assert!(visible(&narrowed).split_whitespace().next().is_none()),
        TicketArg::Number(n) => {
            assert!(!n.is_empty() && n.len() <= 18);
            assert!(n.bytes().all(|b| b.is_ascii_digit()));
            assert!(!n.starts_with('0'));
            assert!(n.parse::<u64>().unwrap() > 0);
            assert_eq!(ticket_arg(n), arg);
            assert_eq!(ticket_arg(&format!("#{n}")), arg);
        }
        TicketArg::Email(e) => {
            assert!(e.is_ascii() && e.len() <= 254);
            assert_eq!(e.matches('@').count(), 1);
            assert_eq!(e, &e.to_ascii_lowercase());
            assert!(!e.chars().any(char::is_whitespace));
            assert!(!e.contains(['*', '?', '{', '}', '$']));
            let (local, domain) = e.split_once('@').unwrap();
            assert!(!local.is_empty() && domain.contains('.'));
            assert_eq!(ticket_arg(e), arg);
            assert_eq!(ticket_arg(&e.to_ascii_uppercase()), arg);
            assert_eq!(ticket_arg(&format!("<{e}>")), arg);
            assert_eq!(ticket_arg(&format!("[{e}](mailto:{e})")), arg);
        }
        TicketArg::Invalid => {}
    }

    let part = status_part(s);
    assert_eq!(part, status_part(&narrowed));
    assert_eq!(part, status_part(&padded));
    if part.is_some() {
        let word = narrowed.trim().to_ascii_lowercase();
        assert!(["", "new", "closed", "csat", "top"].contains(&word.as_str()));
    }

    let p = phrase(s);
    assert_eq!(p, phrase(&narrowed));
    assert_eq!(p, phrase(&padded));
}
