//! `deskcliq install [--dry-run] [--force]`: the brief's setup steps, idempotent. Creates the
//! channels that do not exist and adds the bot to each; the bot, the commands and the
//! `deskaction` function where Cliq's API allows (else their definitions are written for the
//! developer console); and registers or updates the Desk webhook.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::handlers;
use super::{
    SetupError, Zoho, channels, other_deskcliq, slack_webhook, webhook_definition, webhook_matches,
};
use crate::cliq::admin::Definitions;
use crate::config::Config;

pub struct Options {
    pub dry_run: bool,
    /// Install even though the portal already has a Slack integration.
    pub force: bool,
    /// Where the Cliq definitions go when Cliq's API refuses to create them.
    pub definitions_dir: PathBuf,
}

/// What a run did (or would do): one line per step.
#[derive(Debug, Default)]
pub struct Outcome {
    pub lines: Vec<String>,
    /// Steps that changed something (or would, in a dry run).
    pub changes: usize,
    /// Whether Cliq definitions were written for the developer console.
    pub definitions_written: Option<PathBuf>,
    pub webhook_id: Option<String>,
    /// Steps left for another run (Cliq's limits stopped them): install exits 1.
    pub incomplete: bool,
}

impl Outcome {
    fn same(&mut self, text: String) {
        self.lines.push(format!("= {text}"));
    }

    fn change(&mut self, dry: bool, done: String, would: String) {
        self.changes += 1;
        self.lines.push(if dry {
            format!("~ {would}")
        } else {
            format!("+ {done}")
        });
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            let _ = writeln!(out, "{l}");
        }
        out
    }
}

pub async fn run(config: &Config, opts: &Options) -> Result<Outcome, SetupError> {
    let z = Zoho::connect(config)?;
    let mut out = Outcome::default();
    let dry = opts.dry_run;
    let zoho = |e: &dyn std::fmt::Display| SetupError::Zoho(e.to_string());

    // Preconditions of the brief.
    let hooks = z.desk.list_webhooks().await.map_err(|e| zoho(&e))?;
    if let Some(h) = slack_webhook(&hooks) {
        if !opts.force {
            return Err(SetupError::Refused(format!(
                "this portal already sends to Slack (webhook \"{}\"): Zoho does not support Slack and Cliq integrations on one portal; remove it, or run install --force",
                h.name.as_deref().unwrap_or(&h.id)
            )));
        }
        out.lines.push(
            "! a Slack webhook is registered on this portal; installing anyway (--force)".into(),
        );
    }
    out.lines.push(format!("  ({})", super::EXTENSIONS_NOTE));
    if let Some(h) = other_deskcliq(&hooks, config) {
        return Err(SetupError::Refused(format!(
            "another deskcliq is registered on this portal (webhook {} to {}): one deskcliq per portal",
            h.id,
            crate::setup::doctor::host_of(&h.url)
        )));
    }

    // The bot first: it must exist before it can join channels.
    // The bot, the commands and the function.
    let defs = handlers::definitions(config);
    let refused = cliq_handlers(&z, &defs, dry, &mut out).await?;
    // Cliq names a new bot itself: it must be the one config.toml names.
    if !dry && !refused.iter().any(|r| r.starts_with("the bot")) {
        match z.cliq.get_bot(&config.cliq.bot).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                let named = z
                    .cliq
                    .list_bots()
                    .await
                    .ok()
                    .and_then(|b| b.into_iter().find(|b| b.name == defs.bot.name))
                    .map(|b| b.unique_name);
                return Err(SetupError::Refused(match named {
                    Some(n) => format!(
                        "Cliq named the bot \"{n}\", but config.toml says cliq.bot = \"{}\": set cliq.bot = \"{n}\" and run install again",
                        config.cliq.bot
                    ),
                    None => format!(
                        "the bot {} is not in Cliq after creating it",
                        config.cliq.bot
                    ),
                }));
            }
            Err(e) => return Err(zoho(&e)),
        }
    }
    if !refused.is_empty() {
        if dry {
            out.lines.push(format!(
                "~ Cliq refuses to create {}: would write their definitions to {}",
                refused.join(", "),
                opts.definitions_dir.display()
            ));
        } else {
            write_definitions(&opts.definitions_dir, &defs, &refused)?;
            out.lines.push(format!(
                "! Cliq refused to create {}: definitions and steps for Cliq's developer console written to {}",
                refused.join(", "),
                opts.definitions_dir.display()
            ));
            out.definitions_written = Some(opts.definitions_dir.clone());
        }
    }

    // Channels, and the bot in each. Cliq lets a bot join 5 channels a minute: past that,
    // the channels left are named for another run and the rest of install goes on.
    let mut left: Vec<String> = Vec::new();
    let throttled = |e: &crate::cliq::CliqError| e.is_throttle();
    for channel in channels(config) {
        match z
            .cliq
            .channel_by_name(&channel)
            .await
            .map_err(|e| zoho(&e))?
        {
            None => {
                if !dry && !left.is_empty() {
                    left.push(channel);
                    continue;
                }
                if !dry {
                    match z
                        .cliq
                        .create_channel(&channel, "Zoho Desk notifications (deskcliq)")
                        .await
                    {
                        Err(e) if throttled(&e) => {
                            left.push(channel);
                            continue;
                        }
                        other => other.map_err(|e| zoho(&e))?,
                    };
                    match z.cliq.associate_bot(&channel).await {
                        Err(e) if throttled(&e) => {
                            out.change(false, format!("created channel #{channel}"), String::new());
                            left.push(channel);
                            continue;
                        }
                        other => other.map_err(|e| zoho(&e))?,
                    }
                }
                out.change(
                    dry,
                    format!("created channel #{channel} and added the bot"),
                    format!("would create channel #{channel} and add the bot"),
                );
            }
            Some(_) => {
                if z.cliq
                    .bot_in_channel(&channel)
                    .await
                    .map_err(|e| zoho(&e))?
                {
                    out.same(format!("channel #{channel} exists; the bot is a member"));
                } else {
                    if !dry && !left.is_empty() {
                        left.push(channel);
                        continue;
                    }
                    if !dry {
                        match z.cliq.associate_bot(&channel).await {
                            Err(e) if throttled(&e) => {
                                left.push(channel);
                                continue;
                            }
                            other => other.map_err(|e| zoho(&e))?,
                        }
                    }
                    out.change(
                        dry,
                        format!("added the bot to #{channel}"),
                        format!("would add the bot to #{channel}"),
                    );
                }
            }
        }
    }

    if !left.is_empty() {
        out.incomplete = true;
        out.lines.push(format!(
            "! Cliq lets the bot join 5 channels a minute: not done yet for {}; run install again in a few minutes (it goes on from there)",
            left.iter()
                .map(|c| format!("#{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    // The Desk webhook.
    let want = webhook_definition(config);
    let ours = hooks
        .iter()
        .find(|h| h.url.trim_end_matches('/') == want.url.trim_end_matches('/'))
        // Registered by this deskcliq under an older URL (a new token or path): updated.
        .or_else(|| super::stale_own_webhook(&hooks, config));
    match ours {
        Some(h) if webhook_matches(h, &want) => {
            out.same(format!(
                "Desk webhook {} is registered as it should be",
                h.id
            ));
            out.webhook_id = Some(h.id.clone());
        }
        Some(h) => {
            let moved = h.url.trim_end_matches('/') != want.url.trim_end_matches('/');
            let updated = if dry {
                Ok(())
            } else {
                z.desk.update_webhook(&h.id, &want, moved).await.map(|_| ())
            };
            match updated {
                Ok(()) => {
                    out.change(
                        dry,
                        format!("updated Desk webhook {} (every event, no department filter, previous state, automation)", h.id),
                        format!("would update Desk webhook {}", h.id),
                    );
                    out.webhook_id = Some(h.id.clone());
                }
                // Desk's update takes shorter URLs than its create (Webhook.json: at most 100
                // characters, no `~`): a URL it refuses there is registered anew, then the
                // old webhook removed.
                Err(crate::desk::DeskError::Api { fields, .. })
                    if moved && fields.iter().any(|f| f.trim_start_matches('/') == "url") =>
                {
                    let new = register_webhook(&z, config, &want).await?;
                    z.desk.delete_webhook(&h.id).await.map_err(|e| zoho(&e))?;
                    out.change(
                        dry,
                        format!(
                            "registered Desk webhook {} (Desk would not move webhook {} to the new URL; it is removed)",
                            new.id, h.id
                        ),
                        String::new(),
                    );
                    out.webhook_id = Some(new.id);
                }
                Err(e) => return Err(zoho(&e)),
            }
        }
        None => {
            if dry {
                out.change(dry, String::new(), "would register the Desk webhook".into());
            } else {
                let h = register_webhook(&z, config, &want).await?;
                out.change(
                    dry,
                    format!("registered Desk webhook {}", h.id),
                    String::new(),
                );
                out.webhook_id = Some(h.id);
            }
        }
    }
    if let Some(id) = &out.webhook_id {
        out.lines.push(format!(
            "  webhook id: {id} (deskcliq learns it by itself; desk.webhook_id = \"{id}\" pins it)"
        ));
    }
    if out.changes == 0 && !out.incomplete {
        out.lines.push("nothing to change".into());
    }
    Ok(out)
}

/// Registers the Desk webhook; a refused URL is explained (its length, or Desk not reaching
/// it), never shown (its path is the secret token).
async fn register_webhook(
    z: &Zoho,
    config: &Config,
    want: &crate::desk::NewWebhook,
) -> Result<crate::desk::Webhook, SetupError> {
    z.desk.create_webhook(want).await.map_err(|e| match &e {
        crate::desk::DeskError::Api { fields, .. }
            if fields.iter().any(|f| f.trim_start_matches('/') == "url")
                && want.url.len() > crate::config::DESK_WEBHOOK_URL_MAX =>
        {
            SetupError::Refused(format!(
                "Desk refused the webhook URL (server.public_url/webhooks/desk/<desk.webhook_token>): it is {} characters long and Desk's webhook API documents at most {}: use a shorter desk.webhook_token (e.g. `openssl rand -hex 16`) or server.public_url ({e})",
                want.url.len(),
                crate::config::DESK_WEBHOOK_URL_MAX
            ))
        }
        crate::desk::DeskError::Api { fields, .. }
            if fields.iter().any(|f| f.trim_start_matches('/') == "url") =>
        {
            SetupError::Refused(format!(
                "Desk could not reach {} (it checks a webhook URL when it is registered): start the daemon first (systemctl start deskcliq) and make sure server.public_url reaches it from the internet ({e})",
                config.server.public_url
            ))
        }
        _ => SetupError::Zoho(e.to_string()),
    })
}

/// The bot, commands and function: created or updated where Cliq's API allows; returns what
/// Cliq refused (permissions, plan).
async fn cliq_handlers(
    z: &Zoho,
    defs: &Definitions,
    dry: bool,
    out: &mut Outcome,
) -> Result<Vec<String>, SetupError> {
    let mut refused = Vec::new();
    for step in handlers::plan(&z.cliq, defs).await {
        match step {
            handlers::Step::Same(what) => out.same(what),
            handlers::Step::Create { what, apply } | handlers::Step::Update { what, apply } => {
                if dry {
                    out.change(true, String::new(), format!("would {what}"));
                    continue;
                }
                match apply.run(&z.cliq).await {
                    Ok(()) => out.change(false, what.clone(), String::new()),
                    Err(e) if e.is_refusal() => refused.push(apply.name()),
                    Err(e) => return Err(SetupError::Zoho(format!("{what}: {e}"))),
                }
            }
            handlers::Step::Refused(name) => refused.push(name),
            handlers::Step::Foreign(name) => out.lines.push(format!(
                "! {name} exists in Cliq and belongs to something else: left alone; remove or rename it, then run install again"
            )),
            handlers::Step::Failed(why) => return Err(SetupError::Zoho(why)),
        }
    }
    refused.dedup();
    Ok(refused)
}

fn write_definitions(dir: &Path, defs: &Definitions, refused: &[String]) -> Result<(), SetupError> {
    let w = |path: PathBuf, text: String| {
        std::fs::write(&path, text).map_err(|source| SetupError::Write { path, source })
    };
    std::fs::create_dir_all(dir).map_err(|source| SetupError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    for (file, json) in handlers::files(defs) {
        w(
            dir.join(file),
            serde_json::to_string_pretty(&json).unwrap_or_default(),
        )?;
    }
    w(dir.join("STEPS.md"), handlers::steps(defs, refused))?;
    Ok(())
}
