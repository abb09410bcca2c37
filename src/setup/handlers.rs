//! The Cliq side of install and uninstall: the bot (with its message handler and menu
//! actions), the commands and the `deskaction` function, all executed by webhook at
//! `{public_url}/cliq/callback`. What Cliq's API refuses (permissions, plan) is written as
//! definitions for the developer console instead.

use std::fmt::Write as _;

use super::SetupError;
use crate::cliq::CliqClient;
use crate::cliq::CliqError;
use crate::cliq::admin::{BotDef, CommandDef, Definitions, FunctionDef, definition_files};
use crate::config::Config;

pub fn callback_url(config: &Config) -> String {
    format!(
        "{}/cliq/callback",
        config.server.public_url.as_str().trim_end_matches('/')
    )
}

pub fn definitions(config: &Config) -> Definitions {
    Definitions::deskcliq(&callback_url(config), &config.cliq.bot)
}

/// A change to make in Cliq.
pub enum Apply {
    CreateBot(BotDef),
    /// The bot as it is, and as it should be (URL and missing handlers).
    UpdateBot(Box<crate::cliq::admin::BotInfo>, BotDef),
    CreateCommand(CommandDef),
    UpdateCommand(String, CommandDef),
    CreateFunction(FunctionDef),
    UpdateFunction(String, FunctionDef),
}

impl Apply {
    pub async fn run(&self, cliq: &CliqClient) -> Result<(), CliqError> {
        match self {
            Apply::CreateBot(d) => cliq.create_bot(d).await.map(|_| ()),
            Apply::UpdateBot(have, d) => {
                if !ours(have.execution_url.as_deref(), &d.execution_url) {
                    cliq.update_bot(&have.id, d).await?;
                }
                for h in &d.handlers {
                    let present = match h.name.as_deref() {
                        Some(name) if h.kind == "menu_handler" => have.menu_action(name).is_some(),
                        _ => have.has_handler(&h.kind),
                    };
                    if !present {
                        cliq.create_bot_handler(&have.id, h).await?;
                    }
                }
                Ok(())
            }
            Apply::CreateCommand(d) => cliq.create_command(d).await.map(|_| ()),
            Apply::UpdateCommand(id, d) => cliq.update_command(id, d).await.map(|_| ()),
            Apply::CreateFunction(d) => cliq.create_function(d).await.map(|_| ()),
            Apply::UpdateFunction(id, d) => cliq.update_function(id, d).await.map(|_| ()),
        }
    }

    /// The component, as the definitions name it.
    pub fn name(&self) -> String {
        match self {
            Apply::CreateBot(d) | Apply::UpdateBot(_, d) => format!("the bot {}", d.name),
            Apply::CreateCommand(d) | Apply::UpdateCommand(_, d) => format!("/{}", d.name),
            Apply::CreateFunction(d) | Apply::UpdateFunction(_, d) => {
                format!("the function {}", d.name)
            }
        }
    }
}

pub enum Step {
    Same(String),
    Create {
        what: String,
        apply: Apply,
    },
    Update {
        what: String,
        apply: Apply,
    },
    /// Cliq refused even to list these (no permission): their definitions are written.
    Refused(String),
    /// A component of that name belongs to something else: left alone, and said so.
    Foreign(String),
    /// Cliq failed (not a refusal): install stops.
    Failed(String),
}

fn ours(url: Option<&str>, want: &str) -> bool {
    url.is_some_and(|u| u.trim_end_matches('/') == want.trim_end_matches('/'))
}

/// Whether a component Cliq lists is this deskcliq's: its URL is ours, or Cliq's list does
/// not show URLs (Zoho's list answers carry none) and it is a webhook component of our name.
fn ours_or_unknown(url: Option<&str>, execution_type: Option<&str>, want: &str) -> bool {
    match url {
        Some(_) => ours(url, want),
        None => execution_type.is_none_or(|t| t.eq_ignore_ascii_case("webhook")),
    }
}

/// A component of ours whose URL points elsewhere (it can be updated), as opposed to a
/// component of the same name that belongs to something else (a Deluge one).
fn elsewhere(url: Option<&str>, execution_type: Option<&str>) -> bool {
    url.is_some() && execution_type.is_none_or(|t| t.eq_ignore_ascii_case("webhook"))
}

/// What install would change in Cliq.
pub async fn plan(cliq: &CliqClient, defs: &Definitions) -> Vec<Step> {
    let mut steps = Vec::new();
    let url = &defs.bot.execution_url;
    match cliq.get_bot(&defs.bot.unique_name).await {
        Ok(None) => steps.push(Step::Create {
            what: format!(
                "create the bot {} with its message handler and menu actions",
                defs.bot.name
            ),
            apply: Apply::CreateBot(defs.bot.clone()),
        }),
        Ok(Some(b)) => {
            let complete = (b.execution_url.is_none() || ours(b.execution_url.as_deref(), url))
                && b.has_handler("message_handler")
                && crate::cliq::admin::MENU_ACTIONS
                    .iter()
                    .all(|a| b.menu_action(a).is_some());
            if complete {
                steps.push(Step::Same(format!("the bot {} is set up", b.unique_name)));
            } else {
                steps.push(Step::Update {
                    what: format!("point the bot {} and its handlers at {url}", b.unique_name),
                    apply: Apply::UpdateBot(Box::new(b.clone()), defs.bot.clone()),
                });
            }
        }
        Err(e) if e.is_refusal() => steps.push(Step::Refused(format!("the bot {}", defs.bot.name))),
        Err(e) => steps.push(Step::Failed(format!("cannot read the bot: {e}"))),
    }
    match cliq.list_commands().await {
        Ok(have) => {
            for def in &defs.commands {
                match have.iter().find(|c| c.name.eq_ignore_ascii_case(&def.name)) {
                    None => steps.push(Step::Create {
                        what: format!("register /{}", def.name),
                        apply: Apply::CreateCommand(def.clone()),
                    }),
                    Some(c)
                        if ours_or_unknown(
                            c.execution_url.as_deref(),
                            c.execution_type.as_deref(),
                            url,
                        ) =>
                    {
                        steps.push(Step::Same(format!("/{} is registered", def.name)))
                    }
                    Some(c)
                        if elsewhere(c.execution_url.as_deref(), c.execution_type.as_deref()) =>
                    {
                        steps.push(Step::Update {
                            what: format!("point /{} at {url}", def.name),
                            apply: Apply::UpdateCommand(c.id.clone(), def.clone()),
                        })
                    }
                    Some(_) => steps.push(Step::Foreign(format!("/{}", def.name))),
                }
            }
        }
        Err(e) if e.is_refusal() => steps.extend(
            defs.commands
                .iter()
                .map(|d| Step::Refused(format!("/{}", d.name))),
        ),
        Err(e) => steps.push(Step::Failed(format!("cannot list Cliq's commands: {e}"))),
    }
    match cliq.list_functions().await {
        Ok(have) => {
            for def in &defs.functions {
                match have.iter().find(|f| f.name == def.name) {
                    None => steps.push(Step::Create {
                        what: format!("register the function {}", def.name),
                        apply: Apply::CreateFunction(def.clone()),
                    }),
                    Some(f)
                        if ours_or_unknown(
                            f.execution_url.as_deref(),
                            f.execution_type.as_deref(),
                            url,
                        ) =>
                    {
                        steps.push(Step::Same(format!(
                            "the function {} is registered",
                            def.name
                        )))
                    }
                    Some(f)
                        if elsewhere(f.execution_url.as_deref(), f.execution_type.as_deref()) =>
                    {
                        steps.push(Step::Update {
                            what: format!("point the function {} at {url}", def.name),
                            apply: Apply::UpdateFunction(f.id.clone(), def.clone()),
                        })
                    }
                    Some(_) => steps.push(Step::Foreign(format!("the function {}", def.name))),
                }
            }
        }
        Err(e) if e.is_refusal() => steps.extend(
            defs.functions
                .iter()
                .map(|d| Step::Refused(format!("the function {}", d.name))),
        ),
        Err(e) => steps.push(Step::Failed(format!("cannot list Cliq's functions: {e}"))),
    }
    steps
}

/// The definition files and the steps for Cliq's developer console.
pub fn files(defs: &Definitions) -> Vec<(String, serde_json::Value)> {
    let mut f = definition_files(defs);
    f.push(("all.json".into(), defs.to_json()));
    f
}

pub fn steps(defs: &Definitions, refused: &[String]) -> String {
    let url = &defs.bot.execution_url;
    let mut s = String::new();
    let _ = writeln!(s, "# Setting up deskcliq in Cliq's developer console\n");
    let _ = writeln!(
        s,
        "Cliq's API refused to create: {}. Create them by hand (Cliq → Bots & Tools, or the \
         Developer Console), each with **execution type: webhook** and **URL: {url}**:\n",
        refused.join(", ")
    );
    let _ = writeln!(
        s,
        "1. Bot **{}** (`bot.json`): a message handler, and the menu actions Overdue Tickets, \
         Due Today, Open Tickets.",
        defs.bot.name
    );
    for c in &defs.commands {
        let _ = writeln!(
            s,
            "1. Command **/{}** (`command-{}.json`): {}.",
            c.name, c.name, c.hint
        );
    }
    for f in &defs.functions {
        let _ = writeln!(
            s,
            "1. Function **{}** (`function-{}.json`), type {}: every button and form of deskcliq's cards.",
            f.name, f.name, f.function_type
        );
    }
    let _ = writeln!(
        s,
        "\nThen copy the extension's public key (shown in the console) into the file named by \
         `cliq.public_key_file`, and run `deskcliq doctor`."
    );
    s
}

/// Uninstall: removes the commands and function that point at this deskcliq and the bot's
/// handlers (the bot and the channels stay).
pub async fn remove(cliq: &CliqClient, config: &Config) -> Result<Vec<String>, SetupError> {
    let url = callback_url(config);
    let zoho = |e: CliqError| SetupError::Zoho(e.to_string());
    let mut lines = Vec::new();
    match cliq.list_commands().await {
        Ok(cmds) => {
            let names: Vec<String> = definitions(config).commands.into_iter().map(|c| c.name).collect();
            for c in cmds.iter().filter(|c| {
                names.contains(&c.name)
                    && ours_or_unknown(c.execution_url.as_deref(), c.execution_type.as_deref(), &url)
            }) {
                cliq.delete_command(&c.id).await.map_err(zoho)?;
                lines.push(format!("- removed /{}", c.name));
            }
        }
        Err(e) if e.is_refusal() => lines.push(format!(
            "! Cliq refuses to list commands: remove /ticket, /pendingtickets, /deskstatus and /deskcliq by hand ({e})"
        )),
        Err(e) => return Err(zoho(e)),
    }
    match cliq.list_functions().await {
        Ok(fns) => {
            // As for commands: ours by URL, or by name when Cliq's list shows no URL.
            let names: Vec<String> = definitions(config)
                .functions
                .into_iter()
                .map(|f| f.name)
                .collect();
            for f in fns.iter().filter(|f| {
                names.contains(&f.name)
                    && ours_or_unknown(
                        f.execution_url.as_deref(),
                        f.execution_type.as_deref(),
                        &url,
                    )
            }) {
                cliq.delete_function(&f.id).await.map_err(zoho)?;
                lines.push(format!("- removed the function {}", f.name));
            }
        }
        Err(e) if e.is_refusal() => lines.push(format!(
            "! Cliq refuses to list functions: remove deskaction by hand ({e})"
        )),
        Err(e) => return Err(zoho(e)),
    }
    match cliq.get_bot(&config.cliq.bot).await {
        Ok(Some(b)) if b.execution_url.is_none() || ours(b.execution_url.as_deref(), &url) => {
            // Only the handlers deskcliq registers: the message handler and its menu actions.
            let menu = crate::cliq::admin::MENU_ACTIONS;
            for h in b.handlers.iter().filter(|h| {
                h.kind == "message_handler"
                    || (h.kind == "menu_handler"
                        && h.name.as_deref().is_some_and(|n| menu.contains(&n)))
            }) {
                cliq.delete_bot_handler(&b.id, &h.kind, h.id.as_deref())
                    .await
                    .map_err(zoho)?;
            }
            lines.push(format!(
                "- removed the handlers of the bot {} (the bot stays, as do the channels)",
                b.unique_name
            ));
        }
        Ok(_) => {}
        Err(e) if e.is_refusal() => lines.push(format!(
            "! Cliq refuses to read the bot: remove its handlers by hand ({e})"
        )),
        Err(e) => return Err(zoho(e)),
    }
    if lines.is_empty() {
        lines.push("= no Cliq handler of this deskcliq was registered".into());
    }
    Ok(lines)
}
