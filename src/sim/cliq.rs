//! The Cliq API: bot posts to channels and DMs, edits, channel creation, bot association;
//! 50 posts a minute per sender, then a 10-minute lockout.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;
use serde_json::{Value, json};

use super::Inner;
use super::gate::{self, Api, cliq_error};
use super::state::{CliqRecord, CliqTarget, State};

/// Posts a sender may make in any minute…
pub const POSTS_PER_MINUTE: usize = 50;
/// …before being locked out for this long.
pub const LOCKOUT_MINUTES: i64 = 10;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/v2/channelsbyname/{channel}/message",
        web::post().to(post_channel),
    )
    .route("/api/v2/bots/{bot}/message", web::post().to(post_bot_dm))
    .route(
        "/api/v2/chats/{chat}/messages/{message}",
        web::put().to(edit_message),
    )
    .route("/api/v2/channels", web::post().to(create_channel))
    .route("/api/v3/bots/{bot}/associate", web::post().to(associate))
    .route("/api/v2/bots/{bot}/associate", web::post().to(associate));
}

async fn enter(sim: &Inner, req: &HttpRequest) -> Result<String, HttpResponse> {
    if req.path().ends_with("/message") {
        let now = sim.clock.now();
        let mut st = sim.state();
        st.cliq_post_requests += 1;
        st.cliq_post_times.push(now);
    }
    if let Some(r) = gate::faults(sim, req, Api::Cliq).await {
        return Err(r);
    }
    gate::authenticate(sim, req, Api::Cliq)
}

/// Counts a post against the sender's minute; past 50, locks the sender out for 10 minutes.
fn spend_post(
    st: &mut State,
    sender: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), HttpResponse> {
    let throttled = || {
        cliq_error(
            400,
            "request_limit_exceeded",
            "You have exceeded the URL throttle limits.",
        )
    };
    if st.cliq.locked_until.get(sender).is_some_and(|t| *t > now) {
        return Err(throttled());
    }
    let sent = st.cliq.sent.entry(sender.to_string()).or_default();
    while sent
        .front()
        .is_some_and(|t| *t <= now - Duration::minutes(1))
    {
        sent.pop_front();
    }
    if sent.len() >= POSTS_PER_MINUTE {
        st.cliq
            .locked_until
            .insert(sender.to_string(), now + Duration::minutes(LOCKOUT_MINUTES));
        return Err(throttled());
    }
    sent.push_back(now);
    Ok(())
}

/// Checks a message body as Cliq would; returns the message object.
fn check_message(
    body: &[u8],
    allow: &[&str],
) -> Result<serde_json::Map<String, Value>, HttpResponse> {
    let invalid = |m: &str| cliq_error(400, "input_invalid", m);
    let obj = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => o,
        _ => return Err(invalid("The request body must be a JSON object.")),
    };
    const KEYS: [&str; 6] = ["text", "bot", "card", "buttons", "slides", "styles"];
    for k in obj.keys() {
        if !KEYS.contains(&k.as_str()) && !allow.contains(&k.as_str()) {
            return Err(cliq_error(
                400,
                "extra_key_found",
                &format!("Extra key found: {k}"),
            ));
        }
    }
    match obj.get("text") {
        Some(Value::String(t)) if !t.trim().is_empty() && t.chars().count() <= 5_000 => {}
        Some(Value::String(t)) if t.chars().count() > 5_000 => {
            return Err(invalid("text is longer than 5000 characters."));
        }
        _ => return Err(invalid("text is required.")),
    }
    if let Some(b) = obj.get("buttons") {
        let Some(buttons) = b.as_array() else {
            return Err(invalid("buttons must be an array."));
        };
        if buttons.len() > 5 {
            return Err(invalid("At most 5 buttons are allowed."));
        }
        for button in buttons {
            check_button(button).map_err(invalid)?;
        }
    }
    if let Some(s) = obj.get("slides") {
        let Some(slides) = s.as_array() else {
            return Err(invalid("slides must be an array."));
        };
        for slide in slides {
            check_slide(slide).map_err(invalid)?;
        }
        if slides.len() > 20 || s.to_string().chars().count() > 10_000 {
            return Err(invalid(
                "At most 20 slides and 10000 characters are allowed.",
            ));
        }
    }
    if let Some(c) = obj.get("card") {
        check_card(c).map_err(invalid)?;
    }
    Ok(obj)
}

/// A string field of `v` that is present, or `None`; `Err` when present but not a string.
fn opt_str<'a>(v: &'a Value, key: &str) -> Result<Option<&'a str>, &'static str> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err("A field that must be a string is not one."),
    }
}

/// A button as cliq-api.md describes it: `label` ≤ 20 (the cards page allows 30; 20 fits
/// both), `type` `+` or `-`, `key` and `hint` ≤ 100, an action of a known type whose `data`
/// has what that type needs (`invoke.function` a `name`, `open.url` a `web` ≤ 256).
fn check_button(button: &Value) -> Result<(), &'static str> {
    if !button.is_object() {
        return Err("A button must be an object.");
    }
    let label = opt_str(button, "label")?.unwrap_or("");
    if label.is_empty() || label.chars().count() > 20 {
        return Err("A button label is required (at most 20 characters).");
    }
    if opt_str(button, "type")?.is_some_and(|t| t != "+" && t != "-") {
        return Err("A button type is + or -.");
    }
    if opt_str(button, "key")?.is_some_and(|k| k.chars().count() > 100) {
        return Err("A button key is at most 100 characters.");
    }
    if opt_str(button, "hint")?.is_some_and(|h| h.chars().count() > 100) {
        return Err("A button hint is at most 100 characters.");
    }
    let action = button.get("action").unwrap_or(&Value::Null);
    let data = action.get("data").unwrap_or(&Value::Null);
    match opt_str(action, "type")? {
        None => Err("A button needs an action type."),
        Some("invoke.function") => match opt_str(data, "name")? {
            Some(n) if !n.trim().is_empty() => Ok(()),
            _ => Err("An invoke.function action needs data.name."),
        },
        Some("open.url") => match opt_str(data, "web")? {
            Some(u) if !u.is_empty() && u.chars().count() <= 256 => Ok(()),
            _ => Err("An open.url action needs data.web (at most 256 characters)."),
        },
        Some("system.api" | "preview.url" | "copy" | "invoke.bot") => Ok(()),
        Some(_) => Err("Unknown button action type."),
    }
}

/// A slide of a known type with the `data` that type takes: a table's `headers` (strings)
/// and `rows` (objects keyed by those headers), a list's strings, a label's pairs (Zoho's
/// samples `{"Key": "Value"}` or the spec's `{label, value}`: both accepted), a text's
/// string, images' URLs.
fn check_slide(slide: &Value) -> Result<(), &'static str> {
    let data = slide.get("data").unwrap_or(&Value::Null);
    let strings = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
    match opt_str(slide, "type")? {
        Some("table") => {
            let headers = data.get("headers").unwrap_or(&Value::Null);
            if !strings(headers) {
                return Err("A table slide needs data.headers, an array of strings.");
            }
            let headers: Vec<&str> = headers
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let rows_ok = data
                .get("rows")
                .and_then(Value::as_array)
                .is_some_and(|rows| {
                    rows.iter().all(|r| {
                        r.as_object()
                            .is_some_and(|o| o.keys().all(|k| headers.contains(&k.as_str())))
                    })
                });
            if !rows_ok {
                return Err("A table slide's rows are objects keyed by its headers.");
            }
            Ok(())
        }
        Some("list") | Some("images") if strings(data) => Ok(()),
        Some("list") => Err("A list slide's data is an array of strings."),
        Some("images") => Err("An images slide's data is an array of URLs."),
        Some("label") => {
            let pairs_ok = data.as_array().is_some_and(|a| {
                a.iter()
                    .all(|p| p.as_object().is_some_and(|o| !o.is_empty()))
            });
            if pairs_ok {
                Ok(())
            } else {
                Err("A label slide's data is an array of objects.")
            }
        }
        Some("text") if data.is_string() => Ok(()),
        Some("text") => Err("A text slide's data is a string."),
        _ => Err("Unknown slide type."),
    }
}

/// `card.title` ≤ 200; `card.theme` one of Cliq's.
fn check_card(card: &Value) -> Result<(), &'static str> {
    if !card.is_object() {
        return Err("card must be an object.");
    }
    if opt_str(card, "title")?.is_some_and(|t| t.chars().count() > 200) {
        return Err("card title is longer than 200 characters.");
    }
    if opt_str(card, "theme")?.is_some_and(|t| !["modern-inline", "poll", "prompt"].contains(&t)) {
        return Err("card theme must be modern-inline, poll or prompt.");
    }
    Ok(())
}

/// The `output` of a reply Cliq shows the user: a banner (`status` success or failure, a
/// `text`), a form, a `message_edit`, or a message held to the same limits as a post.
pub(super) fn check_output(output: &Value) -> Result<(), HttpResponse> {
    let invalid = |m: &str| cliq_error(400, "input_invalid", m);
    match output.get("type").and_then(Value::as_str) {
        Some("banner") => {
            let status_ok = matches!(
                output.get("status").and_then(Value::as_str),
                Some("success" | "failure")
            );
            let text_ok = output
                .get("text")
                .and_then(Value::as_str)
                .is_some_and(|t| !t.trim().is_empty());
            if status_ok && text_ok {
                Ok(())
            } else {
                Err(invalid(
                    "A banner needs a status (success or failure) and a text.",
                ))
            }
        }
        Some("form") | Some("message_edit") => Ok(()),
        // A dynamic select's answer (form_values_handler): `{"options": [{label, value}…]}`.
        None if output.get("options").is_some() => {
            let ok = output
                .get("options")
                .and_then(Value::as_array)
                .is_some_and(|o| {
                    o.iter()
                        .all(|x| x.get("label").is_some() && x.get("value").is_some())
                });
            if ok {
                Ok(())
            } else {
                Err(invalid("options are {label, value} objects."))
            }
        }
        _ => {
            let mut message = output.clone();
            if let Some(o) = message.as_object_mut() {
                o.remove("type");
            }
            check_message(message.to_string().as_bytes(), &[]).map(|_| ())
        }
    }
}

fn record(
    st: &mut State,
    target: CliqTarget,
    sender: &str,
    chat_id: String,
    message: Value,
    now: chrono::DateTime<chrono::Utc>,
) {
    st.cliq.next += 1;
    let message_id = format!(
        "{} {}",
        now.timestamp_millis(),
        160_000_000_000u64 + st.cliq.next
    );
    st.cliq.records.push(CliqRecord {
        target,
        sender: sender.to_string(),
        message,
        chat_id,
        message_id,
        at: now,
        edits: Vec::new(),
    });
}

#[derive(serde::Deserialize)]
struct BotQuery {
    bot_unique_name: Option<String>,
}

async fn post_channel(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<BotQuery>,
    body: web::Bytes,
) -> HttpResponse {
    let sender = or_answer!(enter(&sim, &req).await);
    let msg = or_answer!(check_message(&body, &["reply_to", "sync_message"]));
    let now = sim.clock.now();
    let mut st = sim.state();
    let Some(channel) = st.cliq.channels.get(path.as_str()).cloned() else {
        return cliq_error(400, "channel_not_found", "The channel does not exist.");
    };
    if let Some(bot) = &q.bot_unique_name {
        if !st.cliq.bots.contains(bot) {
            return cliq_error(400, "bot_not_found", "No bot with this unique name.");
        }
        if !channel.bot_member {
            return cliq_error(
                400,
                "bot_not_participant",
                "The bot is not a participant of this channel.",
            );
        }
    }
    if let Err(r) = spend_post(&mut st, &sender, now) {
        return r;
    }
    record(
        &mut st,
        CliqTarget::Channel(channel.unique_name.clone()),
        &sender,
        channel.chat_id,
        Value::Object(msg),
        now,
    );
    HttpResponse::NoContent().finish()
}

async fn post_bot_dm(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let sender = or_answer!(enter(&sim, &req).await);
    let mut msg = or_answer!(check_message(
        &body,
        &["userids", "broadcast", "sync_message"]
    ));
    let now = sim.clock.now();
    let mut st = sim.state();
    if !st.cliq.bots.contains(&path) {
        return cliq_error(400, "bot_not_found", "No bot with this unique name.");
    }
    let users: Vec<String> = match msg.remove("userids") {
        // One comma-separated string of ids or emails.
        Some(Value::String(s)) => s
            .split(',')
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .collect(),
        Some(_) => {
            return cliq_error(
                400,
                "input_invalid",
                "userids must be a comma-separated string.",
            );
        }
        None if msg.get("broadcast") == Some(&Value::Bool(true)) => vec!["*".into()],
        None => {
            return cliq_error(
                400,
                "botmessage_no_valid_users",
                "No valid users to message.",
            );
        }
    };
    // Only users of this Cliq organisation can be messaged (by id or email); with none of
    // them among `userids`, Cliq refuses the message.
    let org = super::CLIQ_ORG_ID;
    let users: Vec<String> = if users.iter().any(|u| u == "*") {
        users
    } else {
        users
            .into_iter()
            .filter(|u| {
                st.cliq.users.iter().any(|c| {
                    c.organization_id == org && (c.id == *u || c.email.eq_ignore_ascii_case(u))
                })
            })
            .collect()
    };
    if users.is_empty() || users.len() > 100 {
        return cliq_error(
            400,
            "botmessage_no_valid_users",
            "No valid users to message.",
        );
    }
    if let Err(r) = spend_post(&mut st, &sender, now) {
        return r;
    }
    let chat_id = format!("CT_dm_{}", users.join("_"));
    record(
        &mut st,
        CliqTarget::Dm(users),
        &sender,
        chat_id,
        Value::Object(msg),
        now,
    );
    HttpResponse::NoContent().finish()
}

async fn edit_message(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    if let Err(r) = enter(&sim, &req).await {
        return r;
    }
    let (chat, message) = path.into_inner();
    let obj = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(o)) => o,
        _ => {
            return cliq_error(
                400,
                "input_invalid",
                "The request body must be a JSON object.",
            );
        }
    };
    let Some(text) = obj
        .get("text")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty() && t.chars().count() <= 5_000)
    else {
        return cliq_error(
            400,
            "input_invalid",
            "text is required (at most 5000 characters).",
        );
    };
    let mut st = sim.state();
    let Some(rec) = st
        .cliq
        .records
        .iter_mut()
        .find(|r| r.chat_id == chat && r.message_id == message)
    else {
        return cliq_error(400, "message_not_found", "No such message.");
    };
    rec.edits.push(text.to_string());
    if let Some(o) = rec.message.as_object_mut() {
        o.insert("text".into(), text.into());
    }
    HttpResponse::NoContent().finish()
}

async fn create_channel(sim: web::Data<Inner>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if let Err(r) = enter(&sim, &req).await {
        return r;
    }
    let obj = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(o)) => o,
        _ => {
            return cliq_error(
                400,
                "input_invalid",
                "The request body must be a JSON object.",
            );
        }
    };
    let Some(name) = obj
        .get("name")
        .and_then(|n| n.as_str())
        .filter(|n| !n.trim().is_empty() && n.chars().count() <= 50)
    else {
        return cliq_error(
            400,
            "input_invalid",
            "name is required (at most 50 characters).",
        );
    };
    let level = obj.get("level").and_then(|l| l.as_str()).unwrap_or("");
    if !["organization", "team", "private", "external"].contains(&level) {
        return cliq_error(
            400,
            "input_invalid",
            "level must be organization, team, private or external.",
        );
    }
    let unique: String = name
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut st = sim.state();
    if st.cliq.channels.contains_key(&unique) {
        return cliq_error(
            400,
            "channel_name_exists",
            "A channel with this name exists.",
        );
    }
    st.add_channel(&unique, false);
    let c = st.cliq.channels.get(&unique).cloned();
    match c {
        Some(c) => HttpResponse::Ok().json(json!({
            "channel_id": c.channel_id, "chat_id": c.chat_id, "name": name, "unique_name": c.unique_name,
            "level": level, "status": "created", "participant_count": 1,
        })),
        None => cliq_error(500, "internal_error", "channel creation failed"),
    }
}

async fn associate(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let sender = or_answer!(enter(&sim, &req).await);
    let now = sim.clock.now();
    let mut st = sim.state();
    // 5 a minute per user, then a 5-minute lock.
    let calls = st.cliq.associate_calls.entry(sender).or_default();
    while calls
        .front()
        .is_some_and(|t| *t <= now - Duration::minutes(1))
    {
        calls.pop_front();
    }
    if calls.len() >= 5 {
        return cliq_error(
            429,
            "request_limit_exceeded",
            "You have exceeded the URL throttle limits.",
        );
    }
    calls.push_back(now);
    if !st.cliq.bots.contains(&path) {
        return cliq_error(400, "bot_not_found", "No bot with this unique name.");
    }
    let name = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
        v.get("channel_unique_name")
            .and_then(|n| n.as_str())
            .map(str::to_string)
    });
    let Some(name) = name else {
        return cliq_error(400, "input_invalid", "channel_unique_name is required.");
    };
    let Some(channel) = st.cliq.channels.get_mut(&name) else {
        return cliq_error(400, "channel_not_found", "The channel does not exist.");
    };
    if channel.bot_member {
        return cliq_error(
            400,
            "bot_already_member",
            "The bot is already a member of this channel.",
        );
    }
    channel.bot_member = true;
    HttpResponse::NoContent().finish()
}
