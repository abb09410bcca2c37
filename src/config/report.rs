//! What `check-config` prints for a valid file: effective routing and derived URLs, never a
//! secret (secrets are described by where they come from).

use std::fmt::Write as _;

use super::{Config, Secret};

/// A department's quick actions as `check-config` shows them: off without the secret key
/// (agents' tokens could not be kept encrypted), else the effective set.
fn actions_line(c: &Config, actions: &[&str]) -> String {
    if c.storage.secret_key.is_none() {
        "off (quick actions need storage.secret_key_file: agents' Zoho tokens are kept encrypted with it)".into()
    } else if actions.is_empty() {
        "none".into()
    } else {
        actions.join(", ")
    }
}

fn secret_line(secret: Option<&Secret>) -> String {
    match secret {
        Some(s) => s.source().to_string(),
        None => "not set".to_string(),
    }
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

fn switch_line(entries: &[(&'static str, bool)]) -> String {
    entries
        .iter()
        .map(|(name, on)| format!("{name}={}", on_off(*on)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The report `check-config` prints on success.
pub fn render_check(c: &Config) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(out, "config OK: {}", c.source.display());
    let _ = writeln!(out);
    let _ = writeln!(out, "Zoho (data center {}):", c.zoho.data_center);
    let u = &c.zoho.urls;
    let _ = writeln!(out, "  accounts   {}", u.accounts);
    let _ = writeln!(out, "  token      {}", u.token_endpoint());
    let _ = writeln!(
        out,
        "  desk API   {}  (orgId {})",
        u.desk_api(),
        c.desk.org_id
    );
    let _ = writeln!(
        out,
        "  cliq API   {}  (org {}, bot {})",
        u.cliq_api(),
        c.cliq.org_id,
        c.cliq.bot
    );
    let _ = writeln!(out, "  jwks       {}", u.jwks);
    let _ = writeln!(out, "  webhook    {}", c.webhook_url_redacted());
    let _ = writeln!(out, "  client_id      {}", c.zoho.client_id);
    let _ = writeln!(
        out,
        "  client_secret  {}",
        secret_line(Some(&c.zoho.client_secret))
    );
    let _ = writeln!(
        out,
        "  refresh_token  {}",
        secret_line(Some(&c.zoho.refresh_token))
    );
    let _ = writeln!(
        out,
        "  webhook_token  {}",
        secret_line(Some(&c.desk.webhook_token))
    );
    let _ = writeln!(
        out,
        "  webhook JWT    {}",
        if c.desk.verify_jwt {
            match &c.desk.webhook_id {
                Some(id) => format!("verified (aud webhookId:{id})"),
                None => "verified (webhook id learned from Desk)".to_string(),
            }
        } else {
            "NOT verified (desk.verify_jwt = false)".to_string()
        }
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Server:");
    let _ = writeln!(out, "  listen       {}", c.server.listen);
    let _ = writeln!(out, "  public_url   {}", c.server.public_url);
    let _ = writeln!(out, "  store        {}", c.storage.path.display());
    let _ = writeln!(
        out,
        "  secret_key   {}",
        secret_line(c.storage.secret_key.as_ref())
    );
    let _ = writeln!(
        out,
        "  cliq key     {}",
        secret_line(c.cliq.public_key.as_ref())
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Routing (org channel #{}):", c.cliq.org_channel);
    for dep in &c.departments {
        let route = c.route(&dep.id);
        let actions: Vec<&str> = c.actions_for(&dep.id).iter().map(|a| a.as_str()).collect();
        let _ = writeln!(
            out,
            "  department {} \"{}\" -> #{}{}  {}  actions: {}",
            dep.id,
            dep.name,
            route.channel,
            if dep.channel.is_none() {
                " (org channel)"
            } else {
                ""
            },
            if dep.enabled {
                "enabled"
            } else {
                "DISABLED (no channel posts; DMs still go)"
            },
            actions_line(c, &actions),
        );
    }
    let others: Vec<&str> = c.actions.allowed.iter().map(|a| a.as_str()).collect();
    let _ = writeln!(
        out,
        "  any other department -> #{} (org channel)  actions: {}",
        c.cliq.org_channel,
        actions_line(c, &others),
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Notifications:");
    let _ = writeln!(
        out,
        "  ticket    {}",
        switch_line(&c.notify.ticket.entries())
    );
    let _ = writeln!(
        out,
        "  activity  {}",
        switch_line(&c.notify.activity.entries())
    );
    let _ = writeln!(out, "  dm        {}", switch_line(&c.notify.dm.entries()));
    let offsets: Vec<String> = c
        .sla
        .alert_before_minutes
        .iter()
        .map(|m| format!("{m} min"))
        .collect();
    let _ = writeln!(
        out,
        "  sla       alerts {} before due; reconcile every {} min",
        if offsets.is_empty() {
            "none".to_string()
        } else {
            offsets.join(", ")
        },
        c.sla.reconcile_minutes
    );
    let _ = writeln!(
        out,
        "  reconcile with Desk: at least {} credits a day (more when many tickets are due or changed)",
        crate::reconcile::credits_per_day(c.sla.reconcile_minutes)
    );
    let _ = writeln!(
        out,
        "  ratings   polled every {} min",
        c.desk.rating_poll_minutes
    );
    let now = chrono::Utc::now().with_timezone(&c.org.timezone);
    let next = c
        .digest
        .schedule
        .next_after(&now)
        .map(|t| t.format("%Y-%m-%d %H:%M %Z").to_string())
        .unwrap_or_else(|| "never".into());
    let _ = writeln!(
        out,
        "  digest    \"{}\" in {} (next {})",
        c.digest.schedule.expression,
        c.org.timezone.name(),
        next
    );
    let _ = writeln!(out, "  locale    {}", c.org.locale.as_str());
    let _ = writeln!(
        out,
        "  limits    {} Cliq posts/min, {} concurrent Desk calls",
        c.limits.cliq_posts_per_minute, c.limits.desk_concurrency
    );
    if !c.warnings.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Warnings:");
        for w in &c.warnings {
            let _ = writeln!(out, "  {w}");
        }
    }
    out
}
