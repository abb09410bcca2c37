//! What Cliq sends to `POST /cliq/callback` (commands, bot messages, menu actions, button
//! clicks, form submits): its signature, and its JSON read into a [`Callback`]. Cliq's shape
//! (`shared/zoho/cliq-api.md`): `type`, a `handler` object, `timestamp`, `response_url`, and
//! everything else under `params`.

use base64::Engine as _;
use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallbackError {
    #[error("unsigned: no X-Cliq-Signature header and no signature field")]
    Unsigned,
    #[error("bad signature")]
    BadSignature,
    #[error("no usable Cliq public key: {0}")]
    Key(String),
    #[error("timestamp missing or more than 5 minutes away from now")]
    Stale,
    #[error("not a Cliq callback: {0}")]
    Shape(String),
}

/// How far `timestamp` may be from now, either way.
pub const MAX_AGE_MS: i64 = 5 * 60 * 1000;

/// Checks the RSA-SHA256 signature of `raw` (from `header`, or from the body's `signature`
/// field) with the extension's public key, over the raw bytes and otherwise over the compact
/// JSON without `signature`. Returns the body without `signature`. Only a body whose signature
/// holds can be [`CallbackError::Shape`] (signed, but not JSON); every other error means the
/// signature did not.
pub fn verify(
    public_key_pem: &str,
    raw: &[u8],
    header: Option<&str>,
) -> Result<Value, CallbackError> {
    let (n, e) = crate::jwt::rsa_public_from_pem(public_key_pem)
        .map_err(|e| CallbackError::Key(e.to_string()))?;
    let mut body: Option<Value> = serde_json::from_slice(raw).ok();
    let field = body
        .as_mut()
        .and_then(Value::as_object_mut)
        .and_then(|o| o.shift_remove("signature"))
        .and_then(|v| v.as_str().map(str::to_string));
    let signatures: Vec<Vec<u8>> = header
        .into_iter()
        .map(str::to_string)
        .chain(field)
        .filter_map(|s| decode_base64(&s))
        .collect();
    if signatures.is_empty() {
        return if header.is_some() {
            Err(CallbackError::BadSignature)
        } else {
            Err(CallbackError::Unsigned)
        };
    }
    let mut messages = vec![raw.to_vec()];
    if let Some(v) = &body
        && let Ok(compact) = serde_json::to_vec(v)
    {
        // Serialisers differ on non-ASCII text: as UTF-8, or as `\uXXXX` escapes.
        let escaped = ascii_escaped(&compact);
        messages.push(compact);
        if let Some(e) = escaped {
            messages.push(e);
        }
    }
    let ok = signatures.iter().any(|sig| {
        messages
            .iter()
            .any(|m| crate::jwt::verify_rsa_sha256(&n, &e, m, sig))
    });
    match (ok, body) {
        (true, Some(v)) => Ok(v),
        (true, None) => Err(CallbackError::Shape("the body is not JSON".into())),
        (false, _) => Err(CallbackError::BadSignature),
    }
}

/// Compact JSON with every non-ASCII character written as a `\uXXXX` escape (lowercase hex,
/// surrogate pairs past U+FFFF), as Java's and Python's default serialisers write it; `None`
/// when there is nothing to escape.
fn ascii_escaped(compact: &[u8]) -> Option<Vec<u8>> {
    let s = std::str::from_utf8(compact).ok()?;
    if s.is_ascii() {
        return None;
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    Some(out.into_bytes())
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    engines.iter().find_map(|e| e.decode(s).ok())
}

/// Who is calling, as Cliq says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The Cliq user id (their Zoho user id); never blank.
    pub id: String,
    /// Empty when Cliq sent no `params.user` (only `params.access`).
    pub email: String,
    /// `ja`, `en`, `ja_JP`… as Cliq sends it.
    pub language: Option<String>,
    pub timezone: Option<String>,
    /// From `params.user.organization_id` and `params.access.organization.id`.
    pub organizations: Vec<String>,
}

/// The chat the call came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chat {
    pub id: String,
    /// `channel`, `bot`, `chat`, `groupchat`…
    pub kind: String,
    pub channel_unique_name: Option<String>,
}

/// What the call asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A slash command with its argument text.
    Command { name: String, arguments: String },
    /// Text typed to the bot.
    BotMessage { text: String },
    /// A bot menu action, by name.
    MenuAction { name: String },
    /// A button of one of our messages, by key.
    Button { key: String },
    /// A form submitted, with its values (text fields strings, selects `{label, value}`).
    Form { name: String, values: Value },
    /// A dynamic select of a form asking for options matching `query`.
    FormValues {
        name: String,
        field: String,
        query: String,
    },
    /// Anything else Cliq may send.
    Other { kind: String, handler: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub request: Request,
    /// Milliseconds since the epoch.
    pub timestamp_ms: Option<i64>,
    pub response_url: Option<String>,
    pub caller: Caller,
    pub chat: Chat,
    /// The clicked message (a button click): `params.message.id` or `params.access.message_id`.
    pub message_id: Option<String>,
}

/// A string or a number, as text.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

/// Below this a timestamp is read as seconds (should Cliq ever send them), else milliseconds.
const SECONDS_BELOW: i64 = 100_000_000_000;

/// `timestamp` in milliseconds: a whole number exactly, else a fractional one (`1700000000000.5`,
/// seconds `1700000000.123`), as a number or as text; `None` when it is neither or not finite.
fn timestamp_ms(v: Option<&Value>) -> Option<i64> {
    enum T {
        Whole(i64),
        Fraction(f64),
    }
    let t = match v? {
        Value::Number(n) => n
            .as_i64()
            .map(T::Whole)
            .or_else(|| n.as_f64().map(T::Fraction)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>()
                .ok()
                .map(T::Whole)
                .or_else(|| s.parse::<f64>().ok().map(T::Fraction))
        }
        _ => None,
    }?;
    match t {
        T::Whole(t) if t < SECONDS_BELOW => Some(t.saturating_mul(1000)),
        T::Whole(t) => Some(t),
        // `as` saturates: out-of-range values become i64::MIN/MAX, which are never fresh.
        T::Fraction(t) if !t.is_finite() => None,
        T::Fraction(t) if t < SECONDS_BELOW as f64 => Some((t * 1000.0).floor() as i64),
        T::Fraction(t) => Some(t.floor() as i64),
    }
}

impl Callback {
    /// Reads Cliq's JSON. A body without `params`, or without a user id in `params.user` or
    /// `params.access`, is refused.
    pub fn parse(v: &Value) -> Result<Callback, CallbackError> {
        let shape = |m: &str| CallbackError::Shape(m.to_string());
        if !v.is_object() {
            return Err(shape("the body is not a JSON object"));
        }
        let params = v
            .get("params")
            .filter(|p| p.is_object())
            .ok_or_else(|| shape("no params"))?;
        let kind = text(v.get("type")).unwrap_or_default();
        // `handler` is an object; one older sample has a top-level `handler_name`.
        let handler = text(at(v, &["handler", "type"]))
            .or_else(|| text(v.get("handler")))
            .unwrap_or_default();
        let handler_name =
            text(at(v, &["handler", "name"])).or_else(|| text(v.get("handler_name")));
        let timestamp_ms = timestamp_ms(v.get("timestamp"));
        // `params.user` and `params.chat` may be missing: `params.access` (`user_id`, `chat_id`,
        // `organization.id`) then says who called and from where.
        let user = params.get("user").filter(|u| u.is_object());
        let from_user = |k: &str| user.and_then(|u| text(u.get(k)));
        let access = |path: &[&str]| text(at(params, &[&["access"], path].concat()));
        let id = [from_user("id"), from_user("zuid"), access(&["user_id"])]
            .into_iter()
            .flatten()
            .map(|s| s.trim().to_string())
            .find(|s| !s.is_empty())
            .ok_or_else(|| shape("no user: neither params.user.id nor params.access.user_id"))?;
        let mut organizations: Vec<String> = [
            from_user("organization_id"),
            access(&["organization", "id"]),
        ]
        .into_iter()
        .flatten()
        .map(|s| s.trim().to_string())
        .collect();
        organizations.dedup();
        let caller = Caller {
            id,
            // Unknown without `params.user`: the caller is then mapped by id alone.
            email: from_user("email").unwrap_or_default(),
            language: from_user("language"),
            timezone: from_user("timezone"),
            organizations,
        };
        let chat = params.get("chat").filter(|c| c.is_object());
        let chat = Chat {
            id: [
                chat.and_then(|c| text(c.get("id"))),
                chat.and_then(|c| text(c.get("chat_id"))),
                access(&["chat_id"]),
            ]
            .into_iter()
            .flatten()
            .find(|s| !s.trim().is_empty())
            .unwrap_or_default(),
            kind: chat.and_then(|c| text(c.get("type"))).unwrap_or_default(),
            channel_unique_name: chat.and_then(|c| text(c.get("channel_unique_name"))),
        };
        let menu_name = handler_name
            .clone()
            .or_else(|| text(at(params, &["action", "name"])))
            .filter(|n| !n.trim().is_empty());
        let command = || Request::Command {
            name: text(v.get("name"))
                .or_else(|| handler_name.clone())
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_ascii_lowercase(),
            arguments: text(params.get("arguments")).unwrap_or_default(),
        };
        let bot_message = || Request::BotMessage {
            text: text(params.get("message"))
                .or_else(|| text(at(params, &["message", "text"])))
                .or_else(|| text(at(params, &["message_details", "message", "text"])))
                .unwrap_or_default(),
        };
        // The handler says what happened; `type` only when there is no handler.
        let request = match (handler.as_str(), kind.as_str()) {
            ("execution_handler", _) => command(),
            ("message_handler", _) => bot_message(),
            ("action_handler", _) | ("menu_handler", _) => Request::MenuAction {
                name: handler_name
                    .clone()
                    .or_else(|| text(at(params, &["action", "name"])))
                    .or_else(|| text(v.get("name")))
                    .unwrap_or_default(),
            },
            ("button_handler", _) => Request::Button {
                key: button_key(params).ok_or_else(|| shape("a button click without a key"))?,
            },
            ("form_handler", _) | ("form_submit_handler", _) => Request::Form {
                name: text(at(params, &["form", "name"])).unwrap_or_default(),
                values: at(params, &["form", "values"])
                    .cloned()
                    .unwrap_or(Value::Null),
            },
            ("form_values_handler", _) | ("form_dynamic_field_handler", _) => Request::FormValues {
                name: text(at(params, &["form", "name"])).unwrap_or_default(),
                field: text(at(params, &["target", "name"])).unwrap_or_default(),
                query: text(at(params, &["target", "query"])).unwrap_or_default(),
            },
            ("", "command") => command(),
            ("", "bot") if params.get("message").is_some() => bot_message(),
            // An older shape of a menu action: a top-level `handler_name` and no handler type.
            ("", "bot") if menu_name.is_some() => Request::MenuAction {
                name: menu_name.unwrap_or_default(),
            },
            _ => Request::Other { kind, handler },
        };
        Ok(Callback {
            request,
            timestamp_ms,
            response_url: text(v.get("response_url")).filter(|u| !u.is_empty()),
            caller,
            chat,
            message_id: text(at(params, &["message", "id"]))
                .or_else(|| text(at(params, &["access", "message_id"])))
                .or_else(|| text(at(params, &["message_details", "message", "id"])))
                .filter(|m| !m.is_empty()),
        })
    }

    /// Whether `timestamp` is within five minutes of `now_ms`.
    pub fn fresh(&self, now_ms: i64) -> bool {
        self.timestamp_ms
            .is_some_and(|t| now_ms.abs_diff(t) <= MAX_AGE_MS.unsigned_abs())
    }
}

/// The clicked button's key: in `params.arguments` (`key`, or the arguments map), or in
/// `params.target` (`key`, or `object.key`).
fn button_key(params: &Value) -> Option<String> {
    [
        at(params, &["arguments", "key"]),
        at(params, &["target", "key"]),
        at(params, &["target", "object", "key"]),
        params.get("key"),
        params.get("arguments").filter(|a| a.is_string()),
        at(params, &["target", "id"]),
    ]
    .into_iter()
    .find_map(|v| text(v).filter(|k| !k.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(kind: &str, handler: Value, params: Value) -> Value {
        json!({"type": kind, "name": "deskbot", "handler": handler, "timestamp": 1_700_000_000_000i64, "params": params})
    }

    fn user() -> Value {
        json!({"id": 55667788, "email": "sato@example.co.jp", "organization_id": 6011234, "language": "ja"})
    }

    #[test]
    fn the_handler_decides_what_happened_not_the_type() {
        let click = body(
            "command",
            json!({"type": "button_handler"}),
            json!({"user": user(), "arguments": {"key": "post:abc"}}),
        );
        assert_eq!(
            Callback::parse(&click).unwrap().request,
            Request::Button {
                key: "post:abc".into()
            }
        );
        let cmd = json!({"type": "command", "name": "ticket", "params": {"user": user(), "arguments": "115"}});
        assert_eq!(
            Callback::parse(&cmd).unwrap().request,
            Request::Command {
                name: "ticket".into(),
                arguments: "115".into()
            }
        );
    }

    #[test]
    fn a_menu_action_without_a_handler_name_reads_the_action_not_the_bot() {
        let v = body(
            "bot",
            json!({"type": "action_handler"}),
            json!({"user": user(), "action": {"name": "Due Today"}}),
        );
        assert_eq!(
            Callback::parse(&v).unwrap().request,
            Request::MenuAction {
                name: "Due Today".into()
            }
        );
    }

    #[test]
    fn an_older_menu_action_with_a_top_level_handler_name_and_no_handler_is_the_menu_action() {
        let old = json!({"type": "bot", "name": "deskbot", "handler_name": "Overdue Tickets",
            "timestamp": 1_700_000_000_000i64, "params": {"user": user(), "chat": {"id": "CT_1"}}});
        assert_eq!(
            Callback::parse(&old).unwrap().request,
            Request::MenuAction {
                name: "Overdue Tickets".into()
            }
        );
        let by_action =
            json!({"type": "bot", "params": {"user": user(), "action": {"name": "Due Today"}}});
        assert_eq!(
            Callback::parse(&by_action).unwrap().request,
            Request::MenuAction {
                name: "Due Today".into()
            }
        );
        // Typed text still wins, and a bot call with neither is not guessed at.
        let typed = json!({"type": "bot", "handler_name": "x", "params": {"user": user(), "message": "open"}});
        assert_eq!(
            Callback::parse(&typed).unwrap().request,
            Request::BotMessage {
                text: "open".into()
            }
        );
        let neither = json!({"type": "bot", "params": {"user": user()}});
        assert!(matches!(
            Callback::parse(&neither).unwrap().request,
            Request::Other { .. }
        ));
    }

    #[test]
    fn fractional_timestamps_in_milliseconds_or_seconds_are_read() {
        let read = |t: Value| {
            let mut v = body(
                "bot",
                json!({"type": "message_handler"}),
                json!({"user": user(), "message": "x"}),
            );
            v["timestamp"] = t;
            Callback::parse(&v).unwrap()
        };
        let now = 1_700_000_000_000i64;
        for t in [
            json!(1_700_000_000_000.5f64),
            json!(1_700_000_000.123f64),
            json!("1700000000000.5"),
            json!(" 1700000000.123 "),
            json!("1700000000000"),
        ] {
            let cb = read(t.clone());
            assert!(cb.fresh(now), "{t}: {:?}", cb.timestamp_ms);
            assert!(
                cb.timestamp_ms.is_some_and(|ms| (ms - now).abs() <= 1000),
                "{t}: {:?}",
                cb.timestamp_ms
            );
        }
        for t in [
            json!("NaN"),
            json!("inf"),
            json!("-infinity"),
            json!(1e300),
            json!(-1e300),
            json!(true),
        ] {
            assert!(!read(t.clone()).fresh(now), "{t}");
        }
        assert_eq!(read(json!("NaN")).timestamp_ms, None);
    }

    #[test]
    fn without_params_user_or_chat_the_caller_and_chat_come_from_params_access() {
        let v = body(
            "function",
            json!({"type": "button_handler"}),
            json!({"arguments": {"key": "status:1"},
                   "access": {"user_id": 55667788, "chat_id": "CT_9", "message_id": "m 1",
                              "organization": {"type": "company", "id": " 6011234 "}}}),
        );
        let cb = Callback::parse(&v).unwrap();
        assert_eq!(
            cb.caller,
            Caller {
                id: "55667788".into(),
                email: String::new(),
                language: None,
                timezone: None,
                organizations: vec!["6011234".into()],
            }
        );
        assert_eq!(
            cb.chat,
            Chat {
                id: "CT_9".into(),
                ..Chat::default()
            }
        );
        assert_eq!(cb.message_id.as_deref(), Some("m 1"));
        // A chat object without an id, and a user object without one, fall back too.
        let v = body(
            "command",
            json!({"type": "execution_handler"}),
            json!({"user": {"email": "sato@example.co.jp", "id": " "}, "chat": {"type": "bot"},
                   "access": {"user_id": "55667788", "chat_id": "CT_bot"}}),
        );
        let cb = Callback::parse(&v).unwrap();
        assert_eq!(cb.caller.id, "55667788");
        assert_eq!(cb.caller.email, "sato@example.co.jp");
        assert_eq!(
            (cb.chat.id.as_str(), cb.chat.kind.as_str()),
            ("CT_bot", "bot")
        );
    }

    #[test]
    fn a_call_with_no_user_id_anywhere_is_refused() {
        for params in [
            json!({"chat": {"id": "CT_1"}}),
            json!({"user": {"email": "sato@example.co.jp"}}),
            json!({"user": {"id": ""}, "access": {"user_id": "  ", "chat_id": "CT_1"}}),
            json!({"user": "55667788"}),
        ] {
            let v = body(
                "command",
                json!({"type": "execution_handler"}),
                params.clone(),
            );
            assert!(
                matches!(Callback::parse(&v), Err(CallbackError::Shape(m)) if m.contains("no user")),
                "{params}"
            );
        }
    }

    #[test]
    fn button_keys_are_found_where_cliq_puts_them() {
        for params in [
            json!({"user": user(), "arguments": {"key": "post:1"}}),
            json!({"user": user(), "target": {"type": "button", "object": {"key": "post:1"}}}),
            json!({"user": user(), "target": {"name": "x", "key": "post:1"}}),
            json!({"user": user(), "key": "post:1", "target": {"id": "other"}}),
        ] {
            let v = body("function", json!({"type": "button_handler"}), params);
            assert_eq!(
                Callback::parse(&v).unwrap().request,
                Request::Button {
                    key: "post:1".into()
                }
            );
        }
    }

    #[test]
    fn ids_given_as_numbers_read_as_text_and_seconds_as_milliseconds() {
        let mut v = body(
            "bot",
            json!({"type": "message_handler"}),
            json!({"user": user(), "message": "期限切れ", "access": {"organization": {"id": 6011234}}}),
        );
        v["timestamp"] = json!(1_700_000_000);
        let cb = Callback::parse(&v).unwrap();
        assert_eq!(cb.caller.id, "55667788");
        assert_eq!(cb.caller.organizations, vec!["6011234".to_string()]);
        assert_eq!(cb.timestamp_ms, Some(1_700_000_000_000));
        assert_eq!(
            cb.request,
            Request::BotMessage {
                text: "期限切れ".into()
            }
        );
        assert!(Callback::parse(&json!({"type": "command"})).is_err());
    }

    #[test]
    fn extreme_timestamps_are_stale_not_a_panic() {
        for t in [i64::MIN, -9_223_372_036_854_775, i64::MAX, -1, 0] {
            let mut v = body(
                "bot",
                json!({"type": "message_handler"}),
                json!({"user": user(), "message": "x"}),
            );
            v["timestamp"] = json!(t);
            let cb = Callback::parse(&v).unwrap();
            assert!(!cb.fresh(1_700_000_000_000), "{t}");
        }
    }

    #[test]
    fn non_ascii_text_is_escaped_as_java_and_python_write_it() {
        assert_eq!(
            ascii_escaped("{\"m\":\"期限😀\"}".as_bytes()).unwrap(),
            br#"{"m":"\u671f\u9650\ud83d\ude00"}"#.to_vec()
        );
        assert!(ascii_escaped(b"{\"m\":\"plain\"}").is_none());
    }
}
