//! The definitions of what deskcliq registers in Cliq, and the files `install` writes.

use serde::Serialize;
use serde_json::{Value, json};

use super::{FUNCTION, MENU_ACTIONS};

// ------------------------------------------------------------------- definitions

/// A handler to give a webhook component: its type, the data Cliq sends (`permissions`),
/// and, for a menu action, its label and icon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandlerDef {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    pub permissions: Vec<String>,
}

impl HandlerDef {
    pub fn new(kind: &str, permissions: &[&str]) -> HandlerDef {
        HandlerDef {
            kind: kind.into(),
            name: None,
            icon: None,
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
        }
    }

    /// A bot menu action (`menu_handler` with a label; Cliq sends no `message` for these).
    pub fn menu_action(label: &str) -> HandlerDef {
        HandlerDef {
            name: Some(label.into()),
            ..HandlerDef::new("menu_handler", &["chat", "user"])
        }
    }

    pub(super) fn body(&self, with_type: bool) -> Value {
        let mut v = json!({ "permissions": self.permissions });
        if let Some(o) = v.as_object_mut() {
            if with_type {
                o.insert("type".into(), self.kind.clone().into());
            }
            if let Some(n) = &self.name {
                o.insert("name".into(), n.clone().into());
            }
            if let Some(i) = &self.icon {
                o.insert("icon".into(), i.clone().into());
            }
        }
        v
    }
}

/// A bot whose handlers run by webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BotDef {
    /// Display name (at most 20 characters).
    pub name: String,
    /// The unique name deskcliq expects (`cliq.bot`). Cliq derives it from the name when it
    /// creates the bot and never takes it as input: shown for the developer console only.
    pub unique_name: String,
    pub description: String,
    pub scope: String,
    pub execution_type: String,
    pub execution_url: String,
    pub channel_participation: Vec<String>,
    pub handlers: Vec<HandlerDef>,
}

impl BotDef {
    /// The definition with its handlers, for the developer console.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// `POST /api/v3/bots`: without the unique name and handlers.
    pub(super) fn create_body(&self) -> Value {
        json!({
            "name": self.name,
            "description": self.description,
            "scope": self.scope,
            "execution_type": self.execution_type,
            "execution_url": self.execution_url,
            "channel_participation": self.channel_participation,
        })
    }

    /// `PATCH /api/v3/bots/b-{id}`: what an update may change.
    pub(super) fn update_body(&self) -> Value {
        json!({
            "description": self.description,
            "execution_url": self.execution_url,
            "channel_participation": self.channel_participation,
        })
    }
}

/// A slash command run by webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandDef {
    /// Lowercase letters, at most 30.
    pub name: String,
    /// At most 128 characters.
    pub hint: String,
    /// At most 300 characters.
    pub description: String,
    pub scope: String,
    pub execution_type: String,
    pub execution_url: String,
    pub handlers: Vec<HandlerDef>,
}

impl CommandDef {
    /// An organisation-wide command POSTed to `url`, with the chat and the user in it.
    pub fn webhook(name: &str, hint: &str, description: &str, url: &str) -> CommandDef {
        CommandDef {
            name: name.into(),
            hint: hint.into(),
            description: description.into(),
            scope: "organization".into(),
            execution_type: "webhook".into(),
            execution_url: url.into(),
            handlers: vec![HandlerDef::new("execution_handler", &["chat", "user"])],
        }
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    pub(super) fn create_body(&self) -> Value {
        json!({
            "name": self.name,
            "hint": self.hint,
            "description": self.description,
            "scope": self.scope,
            "execution_type": self.execution_type,
            "execution_url": self.execution_url,
        })
    }

    /// `PATCH /api/v3/commands/{id}`: the execution type cannot change.
    pub(super) fn update_body(&self) -> Value {
        json!({
            "hint": self.hint,
            "description": self.description,
            "scope": self.scope,
            "execution_url": self.execution_url,
        })
    }
}

/// A function run by webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionDef {
    /// At most 30 characters.
    pub name: String,
    /// At most 300 characters.
    pub description: String,
    /// `button` | `form` (fixed once created).
    pub function_type: String,
    pub execution_type: String,
    pub execution_url: String,
    pub handlers: Vec<HandlerDef>,
}

impl FunctionDef {
    /// A button function: Cliq sends the chat, the clicked message and the user.
    pub fn button(name: &str, description: &str, url: &str) -> FunctionDef {
        FunctionDef {
            name: name.into(),
            description: description.into(),
            function_type: "button".into(),
            execution_type: "webhook".into(),
            execution_url: url.into(),
            handlers: vec![HandlerDef::new(
                "button_handler",
                &["chat", "message", "user"],
            )],
        }
    }

    /// A form function: Cliq sends the chat, the message and the user on submit.
    pub fn form(name: &str, description: &str, url: &str) -> FunctionDef {
        FunctionDef {
            function_type: "form".into(),
            handlers: vec![HandlerDef::new(
                "form_submit_handler",
                &["chat", "message", "user"],
            )],
            ..FunctionDef::button(name, description, url)
        }
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    pub(super) fn create_body(&self) -> Value {
        json!({
            "name": self.name,
            "description": self.description,
            "function_type": self.function_type,
            "execution_type": self.execution_type,
            "execution_url": self.execution_url,
        })
    }

    /// `PATCH /api/v3/functions/{id}`: the type cannot change.
    pub(super) fn update_body(&self) -> Value {
        json!({ "description": self.description, "execution_url": self.execution_url })
    }
}

/// Everything deskcliq registers in Cliq.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Definitions {
    pub bot: BotDef,
    pub commands: Vec<CommandDef>,
    pub functions: Vec<FunctionDef>,
}

impl Definitions {
    /// deskcliq's bot (`Deskbot`: message handler and the three menu actions), its commands
    /// (`ticket`, `pendingtickets`, `deskstatus`, `deskcliq`) and the `deskaction` button
    /// function, all POSTing to `callback_url` (`{public_url}/cliq/callback`).
    pub fn deskcliq(callback_url: &str, bot_unique_name: &str) -> Definitions {
        let mut handlers = vec![HandlerDef::new(
            "message_handler",
            &["chat", "message", "user"],
        )];
        handlers.extend(MENU_ACTIONS.iter().map(|a| HandlerDef::menu_action(a)));
        let bot = BotDef {
            name: "Deskbot".into(),
            unique_name: bot_unique_name.into(),
            description: "Zoho Desk notifications, ticket look-ups and quick actions (deskcliq)."
                .into(),
            scope: "organization".into(),
            execution_type: "webhook".into(),
            execution_url: callback_url.into(),
            channel_participation: vec!["send_message".into()],
            handlers,
        };
        let commands = vec![
            CommandDef::webhook(
                "ticket",
                "Your recent tickets, a ticket by number, or a customer's by email",
                "/ticket shows the 3 most recent tickets assigned to you; /ticket 115 shows ticket 115; /ticket someone@example.com the customer's 3 most recent.",
                callback_url,
            ),
            CommandDef::webhook(
                "pendingtickets",
                "Unresolved tickets: open, on hold, overdue, unassigned",
                "Counts of the portal's unresolved tickets.",
                callback_url,
            ),
            CommandDef::webhook(
                "deskstatus",
                "Last 24 h: new, closed, csat or top agents",
                "/deskstatus [new|closed|csat|top]: the last 24 hours' figures.",
                callback_url,
            ),
            CommandDef::webhook(
                "deskcliq",
                "Link or unlink your Zoho Desk account, or help",
                "/deskcliq link|unlink|help",
                callback_url,
            ),
        ];
        let functions = vec![FunctionDef::button(
            FUNCTION,
            "The buttons and forms of deskcliq's cards (status, assign, reply, comment, Post here).",
            callback_url,
        )];
        Definitions {
            bot,
            commands,
            functions,
        }
    }

    /// `{"bot": …, "commands": […], "functions": […]}` for the developer console.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// `definitions` as the files `install` writes: one JSON object per component.
pub fn definition_files(definitions: &Definitions) -> Vec<(String, Value)> {
    let mut files = vec![("bot.json".to_string(), definitions.bot.to_json())];
    files.extend(
        definitions
            .commands
            .iter()
            .map(|c| (format!("command-{}.json", c.name), c.to_json())),
    );
    files.extend(
        definitions
            .functions
            .iter()
            .map(|f| (format!("function-{}.json", f.name), f.to_json())),
    );
    files
}
