//! A channel by unique name and its members, a user with their organisation (v2).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::super::gate::cliq_error;
use super::super::{BOT, Inner};
use super::enter;

// ------------------------------------------------------------------- channels, users

pub(super) async fn channel_by_name(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let st = sim.state();
    let Some(c) = st.cliq.channels.get(path.as_str()) else {
        return cliq_error(400, "channel_not_found", "The channel does not exist.");
    };
    HttpResponse::Ok().json(json!({
        "name": c.name,
        "channel_id": c.channel_id,
        "unique_name": c.unique_name,
        "chat_id": c.chat_id,
        "level": "organization",
        "status": "created",
        "joined": true,
        "participant_count": 1,
        "organization_id": st.cliq.org_id,
    }))
}

pub(super) async fn channel_members(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let caller = or_answer!(enter(&sim, &req).await);
    let st = sim.state();
    let Some(c) = st.cliq.channels.values().find(|c| c.channel_id == *path) else {
        return cliq_error(400, "channel_not_found", "The channel does not exist.");
    };
    let mut members: Vec<Value> = st
        .cliq
        .users
        .iter()
        .filter(|u| u.id == caller)
        .map(|u| {
            json!({"user_id": u.id, "email_id": u.email, "name": format!("{} {}", u.first_name, u.last_name),
                   "user_role": "super_admin"})
        })
        .collect();
    if c.bot_member {
        // The channel's bot: the seeded one while it exists.
        let bot = st
            .cliq
            .bot_records
            .get(BOT)
            .or_else(|| st.cliq.bot_records.values().next());
        members.push(match bot {
            Some(b) => json!({"user_id": format!("b-{}", b.id), "name": b.name, "type": "bot",
                              "unique_name": b.unique_name, "user_role": "member"}),
            None => json!({"user_id": "b-0", "name": BOT, "type": "bot", "unique_name": BOT,
                           "user_role": "member"}),
        });
    }
    HttpResponse::Ok().json(json!({ "members": members }))
}

pub(super) async fn get_user(
    sim: web::Data<Inner>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    or_answer!(enter(&sim, &req).await);
    let st = sim.state();
    let id = path.as_str();
    let Some(u) = st
        .cliq
        .users
        .iter()
        .find(|u| u.id == id || u.email.eq_ignore_ascii_case(id))
    else {
        return cliq_error(400, "user_not_found", "No user with this id.");
    };
    HttpResponse::Ok().json(json!({"data": {
        "id": u.id,
        "email_id": u.email,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "display_name": format!("{} {}", u.first_name, u.last_name),
        "organization_id": u.organization_id,
        "admin": u.admin,
        "status": "active",
    }}))
}
