//! `deskcliq doctor`: one ✓/✗ line per check, each ✗ with a fix; exit 1 on any ✗.

use std::fmt::Write as _;

use super::{
    SetupError, Zoho, channels, live_metrics, metric_value, slack_webhook, webhook_matches,
};
use crate::config::Config;
use crate::desk::DeskError;

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub ok: bool,
    pub what: String,
    /// The fix, for a ✗.
    pub hint: Option<String>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub checks: Vec<Check>,
    /// Lines of information (live figures), not checks.
    pub notes: Vec<String>,
    /// The config's warnings (`⚠`): not failures, but worth knowing.
    pub warnings: Vec<String>,
}

impl Report {
    fn ok(&mut self, what: impl Into<String>) {
        self.checks.push(Check {
            ok: true,
            what: what.into(),
            hint: None,
        });
    }

    fn fail(&mut self, what: impl Into<String>, hint: impl Into<String>) {
        self.checks.push(Check {
            ok: false,
            what: what.into(),
            hint: Some(hint.into()),
        });
    }

    pub fn healthy(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let _ = writeln!(out, "{} {}", if c.ok { "✓" } else { "✗" }, c.what);
            if let Some(h) = &c.hint {
                let _ = writeln!(out, "    fix: {h}");
            }
        }
        for w in &self.warnings {
            let _ = writeln!(out, "⚠ {w}");
        }
        for n in &self.notes {
            let _ = writeln!(out, "  {n}");
        }
        out
    }
}

/// The host of a URL (never its path: a webhook URL's path holds the secret token).
pub fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// The scope a failed Desk call lacks, when that is why it failed.
fn missing_scope(e: &DeskError) -> bool {
    e.code().is_some_and(|c| c == "SCOPE_MISMATCH")
}

/// Every check, against Zoho and the running daemon; `config` was loaded (the config check
/// itself is the caller's).
pub async fn run(config: &Config) -> Result<Report, SetupError> {
    let mut r = Report::default();
    r.ok(format!("config {} is valid", config.source.display()));
    r.warnings = config.warnings.iter().map(ToString::to_string).collect();
    if config.server.public_url.scheme() == "https" {
        r.ok(format!("public_url {} is HTTPS", config.server.public_url));
    } else {
        r.fail(
            format!("public_url {} is not HTTPS", config.server.public_url),
            "Zoho calls deskcliq over the internet: put it behind HTTPS (a reverse proxy with a certificate) and set server.public_url to the https:// address",
        );
    }
    let z = Zoho::connect(config)?;
    match z.tokens.access_token().await {
        Ok(_) => r.ok("the service grant (zoho.refresh_token) gives an access token"),
        Err(e) => {
            r.fail(
                format!("the service grant gives no access token: {e}"),
                "make a new refresh token in Zoho's API console (Self Client) with deskcliq's scopes and put it in zoho.refresh_token; check zoho.client_id, client_secret and data_center",
            );
            live_figures(&mut r, config).await;
            return Ok(r);
        }
    }

    // Desk: the organisation, the scopes, admin rights, departments, the webhook.
    let mut scopes_missing: Vec<&str> = Vec::new();
    let departments = match z.desk.list_departments(false).await {
        Ok(d) => {
            r.ok(format!(
                "Desk organisation {} answers to this grant",
                config.desk.org_id
            ));
            Some(d)
        }
        Err(e) if e.code() == Some("OAUTH_ORG_MISMATCH") => {
            r.fail(
                format!("the grant does not belong to Desk organisation {}", config.desk.org_id),
                "set desk.org_id to the portal's id (Desk: Setup → Developer Space → API), or make the grant with a user of that portal",
            );
            live_figures(&mut r, config).await;
            return Ok(r);
        }
        Err(e) if missing_scope(&e) => {
            scopes_missing.push("Desk.basic.READ");
            None
        }
        Err(e) => {
            r.fail(
                format!("Desk does not answer: {e}"),
                "check zoho.data_center (or desk_url) and the network",
            );
            live_figures(&mut r, config).await;
            return Ok(r);
        }
    };
    let probes: [(&str, Result<(), DeskError>); 3] = [
        (
            "Desk.tickets.READ",
            z.desk
                .list_tickets(&crate::desk::TicketQuery {
                    limit: 1,
                    ..Default::default()
                })
                .await
                .map(|_| ()),
        ),
        (
            "Desk.search.READ",
            z.desk
                .search_tickets(&crate::desk::TicketSearch {
                    limit: 1,
                    ..Default::default()
                })
                .await
                .map(|_| ()),
        ),
        ("Desk.events.ALL", z.desk.list_webhooks().await.map(|_| ())),
    ];
    for (scope, result) in probes {
        if let Err(e) = result
            && missing_scope(&e)
        {
            scopes_missing.push(scope);
        }
    }
    if scopes_missing.is_empty() {
        r.ok("the grant has the Desk scopes deskcliq uses");
    } else {
        r.fail(
            format!("the grant lacks the scopes {}", scopes_missing.join(", ")),
            "make a new refresh token with Desk.tickets.ALL, Desk.search.READ, Desk.basic.READ, Desk.settings.READ, Desk.contacts.READ, Desk.activities.READ, Desk.events.ALL and the Cliq scopes",
        );
    }
    match z.desk.my_info().await {
        Ok(me) if me.role_permission_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("Admin")) => {
            r.ok(format!("the service account {} is a Desk administrator", me.email.as_deref().unwrap_or(&me.id)))
        }
        Ok(me) => r.fail(
            format!("the service account {} is not a Desk administrator", me.email.as_deref().unwrap_or(&me.id)),
            "make the grant with a Desk administrator (the brief requires admin rights: webhooks and every department)",
        ),
        Err(e) => r.fail(
            format!("cannot tell whether the service account is a Desk administrator: {e}"),
            "make the grant with a Desk agent who is an administrator",
        ),
    }
    if let Some(deps) = &departments {
        for d in &config.departments {
            match deps.iter().find(|x| x.id == d.id) {
                Some(x) if x.is_enabled => r.ok(format!(
                    "department {} \"{}\" exists and is enabled in Desk",
                    d.id, d.name
                )),
                Some(_) => r.fail(
                    format!("department {} \"{}\" is disabled in Desk", d.id, d.name),
                    "enable it in Desk (Setup → Departments), or remove it from config.toml",
                ),
                None => r.fail(
                    format!("department {} \"{}\" does not exist in Desk", d.id, d.name),
                    "fix its id in config.toml (Desk: Setup → Departments, the id is in the URL)",
                ),
            }
        }
    }
    match z.desk.list_webhooks().await {
        Ok(hooks) => {
            if let Some(h) = slack_webhook(&hooks) {
                r.fail(
                    format!("a Slack integration is on this portal (webhook \"{}\")", h.name.as_deref().unwrap_or(&h.id)),
                    "Zoho does not support Slack and Cliq integrations on one portal: remove the Slack one",
                );
            }
            let want = super::webhook_definition(config);
            match hooks.iter().find(|h| h.url.trim_end_matches('/') == want.url.trim_end_matches('/')) {
                Some(h) if !h.is_enabled => r.fail(
                    format!("the Desk webhook {} is disabled", h.id),
                    "enable it in Desk (Setup → Developer Space → Webhooks), or run deskcliq install",
                ),
                Some(h) if webhook_matches(h, &want) => {
                    r.ok(format!("the Desk webhook {} is registered, enabled and points at this deskcliq", h.id))
                }
                Some(h) => r.fail(
                    format!("the Desk webhook {} points at this deskcliq but misses events or settings", h.id),
                    "run deskcliq install to update it",
                ),
                None => r.fail(
                    format!("no Desk webhook points at {}", host_of(&want.url)),
                    "run deskcliq install",
                ),
            }
        }
        Err(e) if missing_scope(&e) => {}
        Err(e) => r.fail(
            format!("cannot list Desk's webhooks: {e}"),
            "check the grant's Desk.events.ALL scope",
        ),
    }

    // Cliq: channels and the bot in each; agents' Cliq users.
    for channel in channels(config) {
        match z.cliq.channel_by_name(&channel).await {
            Ok(None) => r.fail(
                format!("channel #{channel} does not exist"),
                "run deskcliq install, or create it in Cliq",
            ),
            Ok(Some(_)) => match z.cliq.bot_in_channel(&channel).await {
                Ok(true) => r.ok(format!("channel #{channel} exists and the bot is in it")),
                Ok(false) => r.fail(
                    format!("the bot {} is not in #{channel}", config.cliq.bot),
                    "run deskcliq install, or add the bot to the channel in Cliq",
                ),
                Err(e) => r.fail(
                    format!("cannot tell whether the bot is in #{channel}: {e}"),
                    "check the Cliq scopes",
                ),
            },
            Err(e) => r.fail(
                format!("cannot look up channel #{channel}: {e}"),
                "check zoho.data_center (or cliq_url) and the Cliq scopes",
            ),
        }
    }
    match z.desk.all_agents().await {
        Ok(agents) => {
            let mut unmapped = Vec::new();
            for a in agents.iter().filter(|a| {
                a.status
                    .as_deref()
                    .is_none_or(|s| s.eq_ignore_ascii_case("ACTIVE"))
            }) {
                let name = a
                    .name
                    .clone()
                    .or_else(|| a.email.clone())
                    .unwrap_or_else(|| a.id.clone());
                let Some(zuid) = a.zuid.as_deref().filter(|z| !z.is_empty()) else {
                    unmapped.push(format!("{name} (no Zoho user: account not confirmed)"));
                    continue;
                };
                match z.cliq.user(zuid).await {
                    // An answer that names no organisation is read as the daemon reads it
                    // (`pipeline::Directory::refresh`): not known to be outside, so DMed.
                    Ok(Some(u))
                        if u.organization_id
                            .as_deref()
                            .is_none_or(|o| o == config.cliq.org_id) => {}
                    Ok(Some(_)) => {
                        unmapped.push(format!("{name} (a Cliq user of another organisation)"))
                    }
                    Ok(None) => unmapped.push(format!("{name} (no Cliq user)")),
                    Err(e) => unmapped.push(format!("{name} (cannot look up: {e})")),
                }
            }
            if unmapped.is_empty() {
                r.ok(format!(
                    "every active agent ({}) is a Cliq user of organisation {}",
                    agents.len(),
                    config.cliq.org_id
                ));
            } else {
                r.fail(
                    format!(
                        "{} agent(s) map to no Cliq user of organisation {}: they get no DMs and cannot use commands: {}",
                        unmapped.len(),
                        config.cliq.org_id,
                        unmapped.join("; ")
                    ),
                    "invite them to this Cliq organisation with their Zoho account (and have them confirm their Desk invitation)",
                );
            }
        }
        Err(e) if missing_scope(&e) => {}
        Err(e) => r.fail(
            format!("cannot list Desk's agents: {e}"),
            "check the grant's Desk.basic.READ scope",
        ),
    }

    live_figures(&mut r, config).await;
    Ok(r)
}

/// The running daemon's figures (from its `/metrics`), whatever the checks before found: they
/// need no grant, and a daemon that cannot reach Zoho is when they matter most.
async fn live_figures(r: &mut Report, config: &Config) {
    match live_metrics(config).await {
        Some(page) => {
            let f = |n: &str| {
                metric_value(&page, n)
                    .map(|v| format!("{v}"))
                    .unwrap_or_else(|| "?".into())
            };
            r.notes.push(format!(
                "daemon up on {}: Desk credits today {}, Cliq posts in the last minute {}, outbox depth {}, dead letters {}",
                config.server.listen,
                f("deskcliq_desk_credits_today"),
                f("deskcliq_cliq_posts_last_minute"),
                f("deskcliq_outbox_depth"),
                f("deskcliq_deliveries_total{outcome=\"dead\"}"),
            ));
        }
        None => r.notes.push(format!(
            "no daemon answers on {} (not running, or not reachable from here)",
            config.server.listen
        )),
    }
}
