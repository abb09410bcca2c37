//! Opening an action: the checks, the agent's link, and the action's form.

use serde_json::{Value, json};

use super::super::render::{Ctx, banner};
use super::super::{Reply, Service, reply};
use crate::cliq::callback::Callback;
use crate::cliq::{Button, Message};
use crate::config::Action;
use crate::desk::{DeskClient, DeskError, Include};
use crate::i18n::fill;
use crate::link::LinkError;
use crate::notify::inert::inert;
use crate::notify::model::AgentInfo;
use crate::store::TreeName;
use crate::zoho_http::CallError;

use super::forms::*;

/// Whether Zoho refused the agent's grant itself (revoked, expired): they must link again.
/// Told only by the accounts server refusing a refresh: a 401 that reaches here was given to
/// an access token the grant has just been issued (the call refreshes once after a 401), so
/// the grant works, and forgetting and revoking it would not help.
pub(super) fn grant_dead(e: &DeskError) -> bool {
    match e {
        DeskError::Call(CallError::Token(t)) => t.grant_rejected(),
        _ => false,
    }
}

/// Whether Desk answered and refused for good (so the action surely did not happen): a 4xx,
/// or its API limit (429 / `THRESHOLD_EXCEEDED`: the request was turned away, not run).
pub(super) fn definite_refusal(e: &DeskError) -> bool {
    matches!(e, DeskError::RateLimited { .. })
        || matches!(e, DeskError::Api { status, .. } if (400..500).contains(status) && *status != 408 && *status != 429)
}

/// Whether Desk says the ticket is not there for the agent: gone (404), or, while it is being
/// read (`reading`), not theirs to see (403). A 403 to a change of a ticket they could read is
/// a refusal of that change (their profile's permissions; `LICENSE_ACCESS_LIMITED`: the
/// edition), to be shown in Desk's words.
pub(super) fn not_found(e: &DeskError, reading: bool) -> bool {
    let code = e.code().unwrap_or_default();
    if code == "LICENSE_ACCESS_LIMITED" {
        return false;
    }
    matches!(e, DeskError::Api { status: 404, .. })
        || code == "URL_NOT_FOUND"
        || (reading && (matches!(e, DeskError::Api { status: 403, .. }) || code == "FORBIDDEN"))
}

impl Service {
    /// The Connect Zoho Desk message (after a revocation, with `reconnect`'s words).
    pub(crate) fn connect_prompt(&self, cb: &Callback, ctx: &Ctx, reconnect: bool) -> Reply {
        let a = ctx.tx.act;
        let url = self
            .linker
            .start_url(&cb.caller.id, &cb.caller.email, ctx.locale);
        match url
            .ok()
            .and_then(|u| Button::open_url(a.connect_button, &u))
        {
            Some(button) => {
                let text = if reconnect { a.reconnect } else { a.connect };
                let m = Message::new(text)
                    .with_bot("Deskbot", None)
                    .with_button(button);
                reply(m.to_json(), "link", "connect_prompt")
            }
            None => {
                tracing::error!("cannot make a Connect link (public_url too long?)");
                reply(banner(false, a.page_error), "link", "error")
            }
        }
    }

    /// The agent's Desk client, or the reply that replaces the action (off, connect).
    pub(super) fn agent_desk(&self, cb: &Callback, ctx: &Ctx) -> Result<DeskClient, Reply> {
        match self.linker.desk_for(&cb.caller.id) {
            Ok(d) => Ok(d),
            Err(LinkError::Disabled) => Err(reply(banner(false, ctx.tx.act.off), "action", "off")),
            Err(LinkError::NotLinked) => Err(self.connect_prompt(cb, ctx, false)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot use an agent's grant; asking to reconnect");
                Err(self.connect_prompt(cb, ctx, true))
            }
        }
    }

    /// What a Desk error becomes: a reconnect prompt, "not found", or Desk's own words
    /// (`reading`: the ticket was being read, not changed; see [`not_found`]).
    pub(super) async fn desk_failure(
        &self,
        e: &DeskError,
        cb: &Callback,
        ctx: &Ctx<'_>,
        name: &'static str,
        reading: bool,
    ) -> Reply {
        let a = ctx.tx.act;
        if grant_dead(e) {
            if let Err(err) = self.linker.unlink(&cb.caller.id).await {
                tracing::warn!(error = %err, "cannot forget a dead grant");
            }
            return self.connect_prompt(cb, ctx, true);
        }
        if not_found(e, reading) {
            return reply(banner(false, a.not_found), name, "not_found");
        }
        let message = match e {
            DeskError::RateLimited { code, .. } => {
                return reply(
                    banner(false, &fill(a.desk_limit, &[("code", &inert(code, 60))])),
                    name,
                    "throttled",
                );
            }
            DeskError::Api { message, .. } if !message.trim().is_empty() => message.clone(),
            DeskError::Api { code, .. } => code.clone(),
            // Not Desk's words (a token or network problem): nothing internal is shown.
            _ => {
                tracing::warn!(error = %e, "a quick action failed before Desk answered");
                return reply(banner(false, ctx.tx.cmd.desk_unavailable), name, "error");
            }
        };
        reply(
            banner(
                false,
                &fill(a.desk_refused, &[("message", &inert(&message, 300))]),
            ),
            name,
            "desk_error",
        )
    }

    /// A card's action button: checks, then the action's form.
    pub(crate) async fn action_button(
        &self,
        action: Action,
        ticket_id: &str,
        cb: &Callback,
        agent: &AgentInfo,
        ctx: &Ctx<'_>,
    ) -> Reply {
        let name = action.as_str();
        let a = ctx.tx.act;
        if !self.linker.enabled() {
            return reply(banner(false, a.off), name, "off");
        }
        if ticket_id.is_empty() || !ticket_id.chars().all(|c| c.is_ascii_digit()) {
            return reply(banner(false, a.not_found), name, "not_found");
        }
        // What deskcliq already knows of the ticket refuses a forged click before any link.
        if let Ok(Some(known)) = self
            .router
            .shared
            .store
            .tree::<String, crate::notify::model::TicketSnapshot>(TreeName::Tickets)
            .get(&ticket_id.to_string())
            && let Some(dep) = known.department_id.as_deref()
        {
            if !agent.departments.iter().any(|d| d == dep) {
                return reply(banner(false, a.not_found), name, "not_found");
            }
            if !ctx.config.actions_for(dep).contains(&action) {
                return reply(banner(false, a.not_allowed), name, "not_allowed");
            }
        }
        // A ticket deskcliq does not know: an action that none of the agent's departments
        // allows is refused all the same, rather than answered with a link to connect first.
        if !agent
            .departments
            .iter()
            .any(|d| ctx.config.actions_for(d).contains(&action))
        {
            return reply(banner(false, a.not_allowed), name, "not_allowed");
        }
        let desk = match self.agent_desk(cb, ctx) {
            Ok(d) => d,
            Err(r) => return r,
        };
        let ticket = match desk.get_ticket(ticket_id, &[Include::Contacts]).await {
            Ok(t) => t,
            Err(e) => return self.desk_failure(&e, cb, ctx, name, true).await,
        };
        let Some(dep) = ticket
            .department_id
            .clone()
            .filter(|d| agent.departments.contains(d))
        else {
            return reply(banner(false, a.not_found), name, "not_found");
        };
        if !ctx.config.actions_for(&dep).contains(&action) {
            return reply(banner(false, a.not_allowed), name, "not_allowed");
        }
        let mut form = FormContext {
            ticket_id: ticket.id.clone(),
            ticket_number: ticket.ticket_number.clone(),
            subject: ticket.subject.clone().unwrap_or_default(),
            department_id: dep,
            chat_id: Some(cb.chat.id.clone()).filter(|c| !c.is_empty()),
            message_id: cb.message_id.clone(),
            to: None,
            from: None,
            channel: None,
            choices: Vec::new(),
            created: self.now(),
        };
        let number = inert(&ticket.ticket_number, 20);
        let base = format!("{name}:{}", ticket.id);
        let output = match action {
            Action::Status => {
                let statuses = match desk.ticket_statuses().await {
                    Ok(s) if !s.is_empty() => s.into_iter().map(|(n, _)| n).collect(),
                    _ => DEFAULT_STATUSES
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>(),
                };
                let options: Vec<Value> = statuses
                    .iter()
                    .map(|s| json!({"label": inert(s, 60), "value": s}))
                    .collect();
                form.choices = statuses.clone();
                let mut select = json!({"type": "select", "name": "status", "label": a.status_label,
                    "options": options, "mandatory": true});
                if let Some(current) = &ticket.status {
                    select["value"] = json!(current);
                }
                form_json(
                    &fill(a.status_title, &[("number", &number)]),
                    &base,
                    a.status_button,
                    vec![select],
                )
            }
            Action::Assign => form_json(
                &fill(a.assign_title, &[("number", &number)]),
                &base,
                a.assign_button,
                vec![
                    json!({"type": "dynamic_select", "name": "assignee", "label": a.assign_label,
                    "placeholder": a.assign_placeholder, "mandatory": true}),
                ],
            ),
            Action::Reply => {
                let to = ticket
                    .email
                    .clone()
                    .or_else(|| ticket.contact.as_ref().and_then(|c| c.email.clone()))
                    .filter(|e| !e.trim().is_empty());
                let Some(to) = to else {
                    return reply(banner(false, a.no_recipient), name, "refused");
                };
                let from = match self.reply_from(&desk, &ticket.id).await {
                    Ok(Some(f)) => f,
                    Ok(None) => return reply(banner(false, a.no_from), name, "refused"),
                    Err(e) => return self.desk_failure(&e, cb, ctx, name, true).await,
                };
                form.to = Some(to);
                form.from = Some(from);
                // Replies go back on the ticket's own channel where Desk can answer on it.
                let channel = ticket.channel.as_deref().unwrap_or("").to_ascii_uppercase();
                form.channel = Some(
                    if ["FACEBOOK", "TWITTER", "FORUMS"].contains(&channel.as_str()) {
                        channel
                    } else {
                        "EMAIL".into()
                    },
                );
                form_json(
                    &fill(a.reply_title, &[("number", &number)]),
                    &base,
                    a.reply_next,
                    vec![
                        json!({"type": "textarea", "name": "content", "label": a.reply_label,
                        "mandatory": true, "max_length": 5000}),
                    ],
                )
            }
            Action::Comment => form_json(
                &fill(a.comment_title, &[("number", &number)]),
                &base,
                a.comment_button,
                vec![
                    json!({"type": "textarea", "name": "content", "label": a.comment_label,
                        "mandatory": true, "max_length": 5000}),
                    json!({"type": "select", "name": "visibility", "label": a.visibility,
                        "options": [{"label": a.private, "value": "private"}, {"label": a.public, "value": "public"}],
                        "value": "private", "mandatory": true}),
                ],
            ),
        };
        if let Err(e) = self
            .router
            .shared
            .store
            .tree::<String, FormContext>(TreeName::Forms)
            .insert(&form_key(&cb.caller.id, &base), &form)
        {
            tracing::error!(error = %e, "cannot keep a form's context");
            return reply(
                banner(false, ctx.tx.cmd.desk_unavailable),
                name,
                "store_error",
            );
        }
        reply(output, name, "form")
    }

    /// The address replies go from: the one the customer last wrote to, else the one the
    /// portal last replied from.
    async fn reply_from(
        &self,
        desk: &DeskClient,
        ticket_id: &str,
    ) -> Result<Option<String>, DeskError> {
        let threads = desk.list_threads(ticket_id, 20).await?;
        let first = |s: &str| {
            s.split([',', ';'])
                .map(|a| {
                    a.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string()
                })
                .find(|a| a.contains('@'))
        };
        let email = |t: &&crate::desk::Thread| {
            t.channel
                .as_deref()
                .is_none_or(|c| c.eq_ignore_ascii_case("EMAIL"))
        };
        let incoming = threads
            .iter()
            .filter(email)
            .filter(|t| t.direction.as_deref() == Some("in"))
            .find_map(|t| t.to.as_deref().and_then(first));
        let outgoing = || {
            threads
                .iter()
                .filter(email)
                .filter(|t| t.direction.as_deref() == Some("out"))
                .find_map(|t| t.from_email_address.as_deref().and_then(first))
        };
        Ok(incoming.or_else(outgoing))
    }

    /// A dynamic select of the assign form: the department's agents and teams matching
    /// `query`, and Unassign.
    pub(crate) async fn form_values(
        &self,
        form: &str,
        field: &str,
        query: &str,
        cb: &Callback,
        ctx: &Ctx<'_>,
    ) -> Reply {
        let Some((Action::Assign, ticket_id, _)) = parse_form_name(form) else {
            return reply(json!({"options": []}), "form_values", "refused");
        };
        if field != "assignee" {
            return reply(json!({"options": []}), "form_values", "refused");
        }
        let Ok(Some(context)) = self
            .router
            .shared
            .store
            .tree::<String, FormContext>(TreeName::Forms)
            .get(&form_key(&cb.caller.id, &format!("assign:{ticket_id}")))
        else {
            return reply(json!({"options": []}), "form_values", "expired");
        };
        let q = query.trim().to_lowercase();
        let matches = |s: &str| q.is_empty() || s.to_lowercase().contains(&q);
        let mut options = Vec::new();
        if matches(ctx.tx.act.unassign) || q.is_empty() {
            options.push(json!({"label": ctx.tx.act.unassign, "value": "none"}));
        }
        let mut agents: Vec<&AgentInfo> = ctx
            .agents
            .all()
            .filter(|a| a.active && a.departments.contains(&context.department_id))
            .filter(|a| matches(&a.name) || a.email.as_deref().is_some_and(matches))
            .collect();
        agents.sort_by(|a, b| a.name.cmp(&b.name));
        for agent in agents.into_iter().take(20) {
            options.push(
                json!({"label": inert(&agent.name, 60), "value": format!("agent:{}", agent.id)}),
            );
        }
        if let Ok(desk) = self.desk() {
            match self
                .lookups
                .teams(desk, &context.department_id, self.now())
                .await
            {
                Ok(teams) => {
                    for t in teams.into_iter().filter(|t| matches(&t.name)).take(10) {
                        options.push(json!({
                            "label": fill(ctx.tx.act.team, &[("name", &inert(&t.name, 60))]),
                            "value": format!("team:{}", t.id),
                        }));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot list the department's teams"),
            }
        }
        reply(json!({"options": options}), "form_values", "answered")
    }
}
