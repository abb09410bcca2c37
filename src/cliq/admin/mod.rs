//! Cliq's administration APIs, for `deskcliq install`, `doctor` and `uninstall`: channels
//! looked up by unique name and their members, users and their organisation, and the
//! platform components that reach deskcliq by webhook (the bot and its handlers, slash
//! commands, functions).
//!
//! Paths and JSON fields follow Zoho's documents (`shared/zoho/cliq-api.md`, Zoho's v3
//! OpenAPI files for Bots, Slash Commands and Functions):
//! - `GET /api/v2/channelsbyname/{unique_name}`, `GET /api/v2/channels/{channel_id}/members`,
//!   `GET /api/v2/users/{id}` (v2; the answer may be bare or under `data`: both are read);
//! - `/api/v3/bots`, `/api/v3/bots/b-{id}`, `/api/v3/bots/b-{id}/handlers[/{type}]`;
//! - `/api/v3/commands`, `/api/v3/commands/{id}`, `/api/v3/commands/{id}/handlers[/{type}]`;
//! - `/api/v3/functions`, `/api/v3/functions/{id}`, `/api/v3/functions/{id}/handlers[/{type}]`.
//!
//! v3 answers are envelopes `{"url", "type", "data"}`; lists page with `limit` (at most 50)
//! and `next_token`. A component with `execution_type: "webhook"` is created first, then its
//! handlers are given the `permissions` (the data Cliq puts in the POST to the execution URL).
//!
//! The definitions ([`BotDef`], [`CommandDef`], [`FunctionDef`]) serialise with `to_json()`
//! to what the developer console needs, handlers included, so `install` can write them to
//! files where the API refuses.

use super::CliqError;

mod client;
mod defs;
mod types;

pub use defs::{BotDef, CommandDef, Definitions, FunctionDef, HandlerDef, definition_files};
pub use types::{
    BotInfo, ChannelInfo, ChannelMember, CliqUser, CommandInfo, FunctionInfo, HandlerInfo,
};

/// The page size asked of Cliq's v3 lists (their maximum).
pub const PAGE_LIMIT: u32 = 50;
/// Pages read at most from one list (2,000 components).
const MAX_PAGES: usize = 40;

/// The bot's menu actions (Cliq allows 5, each at most 15 characters).
pub const MENU_ACTIONS: [&str; 3] = ["Overdue Tickets", "Due Today", "Open Tickets"];
/// The function every button and form of deskcliq invokes.
pub const FUNCTION: &str = "deskaction";

impl CliqError {
    /// Cliq refused this account the call: permissions, OAuth scope, or the plan's limits
    /// (`install` then writes the definitions for the developer console instead).
    pub fn is_refusal(&self) -> bool {
        match self {
            CliqError::Api { status, code, .. } => {
                *status == 403
                    || code.contains("permission")
                    || code.contains("scope")
                    || code.contains("plan")
                    || code.contains("restricted")
                    || code.ends_with("creation_limit_exceeded")
                    || matches!(code.as_str(), "operation_not_allowed" | "forbidden")
            }
            _ => false,
        }
    }

    /// Cliq says the thing asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            CliqError::Api { status, code, .. } => {
                *status == 404 || code.ends_with("_not_found") || code.contains("not_exist")
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::types::{channel_of, handler_of, record, user_of};
    use super::*;

    #[test]
    fn definitions_carry_webhook_urls_and_handlers() {
        let d = Definitions::deskcliq("https://d.example.com/cliq/callback", "deskbot");
        let v = d.to_json();
        assert_eq!(v["bot"]["name"], "Deskbot");
        assert_eq!(v["bot"]["unique_name"], "deskbot");
        assert_eq!(v["bot"]["execution_type"], "webhook");
        assert_eq!(v["bot"]["handlers"][0]["type"], "message_handler");
        assert_eq!(v["bot"]["handlers"][1]["name"], "Overdue Tickets");
        let names: Vec<_> = d.commands.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["ticket", "pendingtickets", "deskstatus", "deskcliq"]
        );
        for c in &d.commands {
            assert!(c.name.chars().all(|ch| ch.is_ascii_lowercase()));
            assert!(c.hint.chars().count() <= 128);
            assert!(c.description.chars().count() <= 300);
            assert_eq!(
                c.to_json()["execution_url"],
                "https://d.example.com/cliq/callback"
            );
            assert!(c.create_body().get("handlers").is_none());
        }
        assert_eq!(d.functions[0].name, "deskaction");
        assert_eq!(d.functions[0].to_json()["function_type"], "button");
        for a in MENU_ACTIONS {
            assert!(a.chars().count() <= 15);
        }
        assert!(d.bot.create_body().get("unique_name").is_none());
        let files = definition_files(&d);
        assert_eq!(files.len(), 6);
        assert_eq!(files[1].0, "command-ticket.json");
    }

    #[test]
    fn answers_are_read_bare_or_under_data() {
        let c = channel_of(&record(
            json!({"data": {"channel_id": 12, "unique_name": "desk"}}),
        ));
        assert_eq!(c.channel_id, "12");
        let u = user_of(&record(
            json!({"zuid": "5", "email": "a@b", "organization_id": 6011234}),
        ));
        assert_eq!(
            (u.id.as_str(), u.organization_id.as_deref()),
            ("5", Some("6011234"))
        );
        let h = handler_of(&json!({"type": "menu_handler", "id": "9",
            "display_props": {"name": "Due Today", "icon": "x"}}));
        assert_eq!(h.name.as_deref(), Some("Due Today"));
    }

    #[test]
    fn a_bot_member_is_recognised_by_unique_name_or_name() {
        let m = ChannelMember {
            user_id: "b-1".into(),
            name: Some("Desk Bot".into()),
            ..Default::default()
        };
        assert!(m.is_bot("deskbot"));
        let human = ChannelMember {
            user_id: "55".into(),
            name: Some("deskbot".into()),
            ..Default::default()
        };
        assert!(!human.is_bot("deskbot"));
    }

    #[test]
    fn refusals_and_absences_are_told_apart() {
        let e = |status, code: &str| CliqError::Api {
            status,
            code: code.into(),
            message: String::new(),
        };
        assert!(e(403, "permission_denied").is_refusal());
        assert!(e(400, "bot_creation_limit_exceeded").is_refusal());
        assert!(!e(400, "execution_url_not_allowed").is_refusal());
        assert!(e(400, "command_not_found").is_not_found());
        assert!(!e(400, "invalid_inputs").is_not_found());
    }
}
