//! Feature 2: the quick actions of a notification card (change status, assign, reply,
//! comment). A button opens a form; the submitted form runs in Desk with the clicking agent's
//! own grant ([`crate::link`]), only on tickets of their departments and only where
//! `[actions]` allows it. The card is then edited in place and a banner confirms; Desk's
//! refusal is shown in a banner. A retried or double submit runs once (idempotency by
//! message, action and form content), and the webhook echo of the change is not announced.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::render::{Ctx, banner};
use super::{FUNCTION, Reply, Service, reply};
use crate::cliq::callback::Callback;
use crate::cliq::{Button, Message};
use crate::config::Action;
use crate::desk::{ContentType, DeskClient, DeskError, Include, NewComment, TicketUpdate};
use crate::i18n::fill;
use crate::link::LinkError;
use crate::notify::inert::inert;
use crate::notify::model::AgentInfo;
use crate::store::TreeName;
use crate::zoho_http::CallError;

/// How long an opened form can be submitted.
pub const FORM_LIFETIME: chrono::Duration = chrono::Duration::hours(1);
/// How long a Desk change's echo is waited for.
pub const ECHO_LIFETIME: chrono::Duration = chrono::Duration::hours(1);
/// Statuses offered when Desk cannot list the portal's own.
const DEFAULT_STATUSES: [&str; 4] = ["Open", "On Hold", "Escalated", "Closed"];

/// The card a form was opened from, and what the form needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FormContext {
    pub ticket_id: String,
    pub ticket_number: String,
    pub subject: String,
    pub department_id: String,
    pub chat_id: Option<String>,
    pub message_id: Option<String>,
    /// Reply: the customer's address and the portal's from-address.
    pub to: Option<String>,
    pub from: Option<String>,
    /// Reply: the channel to answer on (`EMAIL` unless the ticket came by a social channel).
    #[serde(default)]
    pub channel: Option<String>,
    /// Status: the statuses the form offered (a submitted one must be among them).
    #[serde(default)]
    pub choices: Vec<String>,
    pub created: DateTime<Utc>,
}

fn form_key(cliq_user: &str, base: &str) -> String {
    format!("{cliq_user}|{base}")
}

/// A form's name: the button key it came from (`status:<ticketId>`), with `:send` for the
/// reply's confirmation step.
fn parse_form_name(name: &str) -> Option<(Action, String, bool)> {
    let (action, rest) = name.split_once(':')?;
    let action = Action::parse(action)?;
    let (id, send) = match rest.strip_suffix(":send") {
        Some(id) => (id, true),
        None => (rest, false),
    };
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
        .then(|| (action, id.to_string(), send))
}

/// A select's value: `{label, value}` or a plain string.
fn value_of(values: &Value, field: &str) -> Option<String> {
    let v = values.get(field)?;
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("value").and_then(|x| {
            x.as_str()
                .map(str::to_string)
                .or_else(|| Some(x.to_string()))
        }),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
    .map(|s| s.trim().to_string())
    .filter(|s| !s.is_empty())
}

/// Whether Desk refused the agent's grant itself (revoked, expired): they must link again.
fn grant_dead(e: &DeskError) -> bool {
    match e {
        DeskError::Call(CallError::Token(t)) => t.grant_rejected(),
        DeskError::Api {
            status: 401, code, ..
        } => code == "INVALID_OAUTH" || code == "UNAUTHORIZED",
        _ => false,
    }
}

/// Whether Desk answered and refused for good (so the action surely did not happen).
fn definite_refusal(e: &DeskError) -> bool {
    matches!(e, DeskError::Api { status, .. } if (400..500).contains(status) && *status != 408 && *status != 429)
}

fn not_found(e: &DeskError) -> bool {
    matches!(
        e,
        DeskError::Api {
            status: 404 | 403,
            ..
        }
    ) || e
        .code()
        .is_some_and(|c| c == "URL_NOT_FOUND" || c == "FORBIDDEN")
}

impl Service {
    /// The Connect Zoho Desk message (after a revocation, with `reconnect`'s words).
    pub(super) fn connect_prompt(&self, cb: &Callback, ctx: &Ctx, reconnect: bool) -> Reply {
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
    fn agent_desk(&self, cb: &Callback, ctx: &Ctx) -> Result<DeskClient, Reply> {
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

    /// What a Desk error becomes: a reconnect prompt, "not found", or Desk's own words.
    async fn desk_failure(
        &self,
        e: &DeskError,
        cb: &Callback,
        ctx: &Ctx<'_>,
        name: &'static str,
    ) -> Reply {
        let a = ctx.tx.act;
        if grant_dead(e) {
            if let Err(err) = self.linker.unlink(&cb.caller.id).await {
                tracing::warn!(error = %err, "cannot forget a dead grant");
            }
            return self.connect_prompt(cb, ctx, true);
        }
        if not_found(e) {
            return reply(banner(false, a.not_found), name, "not_found");
        }
        let message = match e {
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
    pub(super) async fn action_button(
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
        let desk = match self.agent_desk(cb, ctx) {
            Ok(d) => d,
            Err(r) => return r,
        };
        let ticket = match desk.get_ticket(ticket_id, &[Include::Contacts]).await {
            Ok(t) => t,
            Err(e) => return self.desk_failure(&e, cb, ctx, name).await,
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
                    Err(e) => return self.desk_failure(&e, cb, ctx, name).await,
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
    pub(super) async fn form_values(
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
            match desk.department_teams(&context.department_id).await {
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

    /// A submitted action form: runs the action once, as the agent.
    pub(super) async fn form_submit(
        &self,
        form: &str,
        values: &Value,
        cb: &Callback,
        agent: &AgentInfo,
        ctx: &Ctx<'_>,
    ) -> Reply {
        let a = ctx.tx.act;
        let Some((action, ticket_id, send)) = parse_form_name(form) else {
            return reply(banner(false, ctx.tx.cmd.not_available), "form", "refused");
        };
        let name = action.as_str();
        if !self.linker.enabled() {
            return reply(banner(false, a.off), name, "off");
        }
        let base = format!("{name}:{ticket_id}");
        let forms = self
            .router
            .shared
            .store
            .tree::<String, FormContext>(TreeName::Forms);
        let context = match forms.get(&form_key(&cb.caller.id, &base)) {
            Ok(Some(c)) if self.now() - c.created <= FORM_LIFETIME => c,
            Ok(_) => return reply(banner(false, a.expired), name, "expired"),
            Err(e) => {
                tracing::error!(error = %e, "cannot read a form's context");
                return reply(
                    banner(false, ctx.tx.cmd.desk_unavailable),
                    name,
                    "store_error",
                );
            }
        };
        // What an admin allows may have changed since the form was opened; the agent's
        // departments too.
        if !ctx
            .config
            .actions_for(&context.department_id)
            .contains(&action)
        {
            return reply(banner(false, a.not_allowed), name, "not_allowed");
        }
        if !agent.departments.contains(&context.department_id) {
            return reply(banner(false, a.not_found), name, "not_found");
        }
        let content = value_of(values, "content");
        // The reply's first step only asks for confirmation, with the recipient shown first.
        if action == Action::Reply && !send {
            let Some(content) = content else {
                return reply(banner(false, a.empty), name, "refused");
            };
            let to = context.to.clone().unwrap_or_default();
            let shown = inert(&to, 254);
            let output = form_json(
                &fill(a.confirm_title, &[("to", &shown)]),
                &format!("{base}:send"),
                a.send,
                vec![json!({"type": "textarea", "name": "content",
                    "label": fill(a.confirm_label, &[("to", &shown)]),
                    "value": content, "mandatory": true, "max_length": 5000})],
            );
            return reply(output, name, "confirm");
        }
        if matches!(action, Action::Reply | Action::Comment) && content.is_none() {
            return reply(banner(false, a.empty), name, "refused");
        }
        // Run once per (message, action, form content): a double click or a retried callback
        // gets "already done" (or "in progress" while the first runs).
        let once = idempotency_key(&context, &base, values);
        let done = self
            .router
            .shared
            .store
            .tree::<String, ActionRecord>(TreeName::ActionsDone);
        let running = ActionRecord {
            at: self.now(),
            state: ActionState::Running,
        };
        match done.insert_if_absent(&once, &running) {
            Ok(true) => {}
            Ok(false) => {
                let text = match done.get(&once) {
                    Ok(Some(ActionRecord {
                        state: ActionState::Running,
                        ..
                    })) => a.in_progress,
                    _ => a.already_done,
                };
                return reply(banner(true, text), name, "duplicate");
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot record an action");
                return reply(
                    banner(false, ctx.tx.cmd.desk_unavailable),
                    name,
                    "store_error",
                );
            }
        }
        if let Err(e) = self.router.shared.store.commit().await {
            tracing::error!(error = %e, "cannot record an action");
            let _ = done.remove(&once);
            return reply(
                banner(false, ctx.tx.cmd.desk_unavailable),
                name,
                "store_error",
            );
        }
        let desk = match self.agent_desk(cb, ctx) {
            Ok(d) => d,
            Err(r) => {
                let _ = done.remove(&once);
                return r;
            }
        };
        // Its webhook echo is recognised even when it arrives before Desk's answer.
        self.expect_echo(&echo_key_actor(&context.ticket_id, &agent.id));
        let outcome = self
            .run(action, &desk, &context, values, content.as_deref(), ctx)
            .await;
        let what = match outcome {
            Ok(what) => what,
            Err(Refusal::Local(text)) => {
                let _ = done.remove(&once);
                return reply(banner(false, &text), name, "refused");
            }
            Err(Refusal::Desk(e)) => {
                if definite_refusal(&e) || grant_dead(&e) {
                    let _ = done.remove(&once);
                } else {
                    // Desk may have done it: a second try could do it twice.
                    let _ = done.insert(
                        &once,
                        &ActionRecord {
                            at: self.now(),
                            state: ActionState::Done,
                        },
                    );
                    tracing::warn!(error = %e, action = name, "a quick action's outcome is unknown");
                    return reply(banner(false, a.unknown_outcome), name, "unknown");
                }
                return self.desk_failure(&e, cb, ctx, name).await;
            }
        };
        let _ = done.insert(
            &once,
            &ActionRecord {
                at: self.now(),
                state: ActionState::Done,
            },
        );
        // The form's context stays (until pruned): a second submit of it is "already done".
        self.edit_card(&context, &what, agent, ctx).await;
        self.router
            .shared
            .metrics
            .actions_total
            .with_label_values(&[name, "done"])
            .inc();
        tracing::info!(action = name, ticket = %context.ticket_id, agent = %agent.id, "quick action done");
        reply(banner(true, &what), name, "done")
    }

    /// Runs `action` in Desk; returns the sentence that says what was done.
    async fn run(
        &self,
        action: Action,
        desk: &DeskClient,
        context: &FormContext,
        values: &Value,
        content: Option<&str>,
        ctx: &Ctx<'_>,
    ) -> Result<String, Refusal> {
        let a = ctx.tx.act;
        let number = inert(&context.ticket_number, 20);
        let id = &context.ticket_id;
        match action {
            Action::Status => {
                let status = value_of(values, "status")
                    .filter(|s| context.choices.is_empty() || context.choices.contains(s))
                    .ok_or_else(|| Refusal::Local(a.invalid_choice.to_string()))?;
                let t = desk
                    .update_ticket(
                        id,
                        &TicketUpdate {
                            status: Some(status.clone()),
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(Refusal::Desk)?;
                self.expect_echo_of_ticket(&t);
                Ok(fill(
                    a.done_status,
                    &[("number", &number), ("status", &inert(&status, 60))],
                ))
            }
            Action::Assign => {
                let choice = value_of(values, "assignee")
                    .ok_or_else(|| Refusal::Local(a.invalid_choice.to_string()))?;
                let (update, who) = match choice.split_once(':') {
                    Some(("agent", agent_id))
                        if ctx.agents.get(agent_id).is_some_and(|ag| {
                            ag.active && ag.departments.contains(&context.department_id)
                        }) =>
                    {
                        (
                            TicketUpdate {
                                assignee_id: Some(Some(agent_id.to_string())),
                                ..Default::default()
                            },
                            Some(ctx.agents.name(agent_id).unwrap_or(agent_id).to_string()),
                        )
                    }
                    Some(("team", team_id)) => {
                        let teams = self
                            .desk()
                            .map_err(Refusal::Desk)?
                            .department_teams(&context.department_id)
                            .await
                            .map_err(Refusal::Desk)?;
                        let team = teams
                            .into_iter()
                            .find(|t| t.id == team_id)
                            .ok_or_else(|| Refusal::Local(a.invalid_choice.to_string()))?;
                        (
                            TicketUpdate {
                                team_id: Some(Some(team.id.clone())),
                                assignee_id: Some(None),
                                ..Default::default()
                            },
                            Some(fill(a.team, &[("name", &team.name)])),
                        )
                    }
                    None if choice == "none" => (
                        TicketUpdate {
                            assignee_id: Some(None),
                            ..Default::default()
                        },
                        None,
                    ),
                    _ => return Err(Refusal::Local(a.invalid_choice.to_string())),
                };
                let t = desk
                    .update_ticket(id, &update)
                    .await
                    .map_err(Refusal::Desk)?;
                self.expect_echo_of_ticket(&t);
                Ok(match who {
                    Some(w) => fill(
                        a.done_assign,
                        &[("number", &number), ("who", &inert(&w, 60))],
                    ),
                    None => fill(a.done_unassign, &[("number", &number)]),
                })
            }
            Action::Reply => {
                let to = context.to.clone().unwrap_or_default();
                desk.send_reply(
                    id,
                    &crate::desk::Reply {
                        channel: context.channel.clone().unwrap_or_default(),
                        content: content.unwrap_or_default().to_string(),
                        content_type: ContentType::PlainText,
                        from_email_address: context.from.clone().unwrap_or_default(),
                        to: Some(to.clone()),
                    },
                )
                .await
                .map_err(Refusal::Desk)?;
                Ok(fill(
                    a.done_reply,
                    &[("number", &number), ("to", &inert(&to, 254))],
                ))
            }
            Action::Comment => {
                let public = value_of(values, "visibility").is_some_and(|v| v == "public");
                let c = desk
                    .add_comment(
                        id,
                        &NewComment {
                            content: content.unwrap_or_default().to_string(),
                            is_public: public,
                            content_type: ContentType::PlainText,
                        },
                    )
                    .await
                    .map_err(Refusal::Desk)?;
                self.expect_echo(&format!("comment:{}", c.id));
                Ok(fill(a.done_comment, &[("number", &number)]))
            }
        }
    }

    fn expect_echo_of_ticket(&self, t: &crate::desk::Ticket) {
        if let Some(m) = t.modified_time {
            self.expect_echo(&echo_key_ticket(&t.id, m));
        }
    }

    fn expect_echo(&self, key: &str) {
        if let Err(e) = self
            .router
            .shared
            .store
            .tree::<String, DateTime<Utc>>(TreeName::Echoes)
            .insert(&key.to_string(), &self.now())
        {
            tracing::warn!(error = %e, "cannot record an action's echo");
        }
    }

    /// Rewrites the clicked card: the ticket, what was done and by whom.
    async fn edit_card(&self, context: &FormContext, what: &str, agent: &AgentInfo, ctx: &Ctx<'_>) {
        let (Some(chat), Some(message)) = (&context.chat_id, &context.message_id) else {
            return;
        };
        let Some(z) = &self.router.shared.zoho else {
            return;
        };
        let text = format!(
            "*#{}* {}\n{}",
            inert(&context.ticket_number, 20),
            inert(&context.subject, 150),
            fill(
                ctx.tx.act.edited,
                &[("what", what), ("agent", &inert(&agent.name, 60))]
            ),
        );
        if let Err(e) = z.cliq.edit_message(chat, message, &text, false).await {
            tracing::warn!(error = %e, "cannot edit the clicked card");
        }
    }
}

/// Why an action was not run: a bad choice in the form, or Desk's refusal.
enum Refusal {
    Local(String),
    Desk(DeskError),
}

/// A quick action's run, by idempotency key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionRecord {
    pub at: DateTime<Utc>,
    pub state: ActionState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionState {
    Running,
    Done,
}

/// An action under way on a ticket by an agent: its webhook (modified by that agent) is the
/// action's echo even before Desk's answer tells its `modifiedTime`.
pub fn echo_key_actor(ticket_id: &str, agent_id: &str) -> String {
    format!("actor:{ticket_id}:{agent_id}")
}

/// How long after an action its echo is recognised by the acting agent alone.
const ACTOR_ECHO_WINDOW: chrono::Duration = chrono::Duration::minutes(2);

/// The webhook echo of a ticket change deskcliq made: the ticket and its new `modifiedTime`.
pub fn echo_key_ticket(ticket_id: &str, modified: DateTime<Utc>) -> String {
    format!("ticket:{ticket_id}:{}", modified.timestamp_millis())
}

/// Whether a webhook event is the echo of a change deskcliq made: the exact change (ticket and
/// its new `modifiedTime`, or the comment's id), or a change of that ticket by the acting agent
/// within two minutes of the action (the webhook may come before Desk's answer).
pub fn is_echo(store: &crate::store::Store, event_type: &str, payload: &Value) -> bool {
    let echoes = store.tree::<String, DateTime<Utc>>(TreeName::Echoes);
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let Some(id) = text(payload.get("id")) else {
        return false;
    };
    let modified = payload
        .get("modifiedTime")
        .or_else(|| payload.get("commentedTime"))
        .and_then(crate::desk::lenient::value_time);
    let (exact, ticket, actor) = if event_type.starts_with("Ticket_Comment") {
        (
            format!("comment:{id}"),
            text(payload.get("ticketId"))
                .or_else(|| text(payload.get("ticket").and_then(|t| t.get("id")))),
            text(payload.get("commenterId"))
                .or_else(|| text(payload.get("commenter").and_then(|c| c.get("id")))),
        )
    } else if event_type == "Ticket_Update" {
        (
            modified
                .map(|m| echo_key_ticket(&id, m))
                .unwrap_or_default(),
            Some(id.clone()),
            text(payload.get("modifiedBy")),
        )
    } else {
        return false;
    };
    if !exact.is_empty() && echoes.contains(&exact).unwrap_or(false) {
        return true;
    }
    let (Some(ticket), Some(actor)) = (ticket, actor) else {
        return false;
    };
    match echoes.get(&echo_key_actor(&ticket, &actor)) {
        Ok(Some(at)) => modified
            .is_none_or(|m| m >= at - chrono::Duration::seconds(5) && m <= at + ACTOR_ECHO_WINDOW),
        _ => false,
    }
}

/// Forgets echoes and done actions past their lifetime, and stale forms.
pub fn prune(
    store: &crate::store::Store,
    now: DateTime<Utc>,
) -> Result<usize, crate::store::StoreError> {
    let mut n = 0;
    let echoes = store.tree::<String, DateTime<Utc>>(TreeName::Echoes);
    for (k, at) in echoes.all()? {
        if now - at > ECHO_LIFETIME {
            echoes.remove(&k)?;
            n += 1;
        }
    }
    let done = store.tree::<String, ActionRecord>(TreeName::ActionsDone);
    for (k, r) in done.all()? {
        if now - r.at > chrono::Duration::days(1) {
            done.remove(&k)?;
            n += 1;
        }
    }
    let forms = store.tree::<String, FormContext>(TreeName::Forms);
    for (k, f) in forms.all()? {
        if now - f.created > FORM_LIFETIME {
            forms.remove(&k)?;
            n += 1;
        }
    }
    Ok(n)
}

fn idempotency_key(context: &FormContext, base: &str, values: &Value) -> String {
    let canonical = serde_json::to_string(&sorted(values)).unwrap_or_default();
    let material = format!(
        "{}|{}|{base}|{canonical}",
        context.message_id.as_deref().unwrap_or("-"),
        context.created.timestamp_millis()
    );
    let digest = ring::digest::digest(&ring::digest::SHA256, material.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// `v` with object keys sorted (so that key order does not change the key).
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&o[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// A Cliq form that submits to `deskaction`.
fn form_json(title: &str, name: &str, button: &str, inputs: Vec<Value>) -> Value {
    json!({
        "type": "form",
        "title": crate::cliq::message::truncate(title, 100),
        "name": name,
        "button_label": button,
        "inputs": inputs,
        "action": {"type": "invoke.function", "name": FUNCTION},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_names_are_button_keys_with_an_optional_send_step() {
        assert_eq!(
            parse_form_name("status:123"),
            Some((Action::Status, "123".into(), false))
        );
        assert_eq!(
            parse_form_name("reply:123:send"),
            Some((Action::Reply, "123".into(), true))
        );
        assert_eq!(parse_form_name("post:abc"), None);
        assert_eq!(parse_form_name("status:"), None);
        assert_eq!(parse_form_name("status:12a"), None);
        assert_eq!(parse_form_name("delete:1"), None);
    }

    #[test]
    fn select_values_are_read_from_objects_or_strings() {
        let v =
            json!({"status": {"label": "Closed", "value": "Closed"}, "content": " hi ", "n": 5});
        assert_eq!(value_of(&v, "status").as_deref(), Some("Closed"));
        assert_eq!(value_of(&v, "content").as_deref(), Some("hi"));
        assert_eq!(value_of(&v, "n").as_deref(), Some("5"));
        assert_eq!(value_of(&v, "missing"), None);
    }

    #[test]
    fn the_idempotency_key_ignores_key_order_but_not_content() {
        let c = FormContext {
            ticket_id: "1".into(),
            ticket_number: "1".into(),
            subject: String::new(),
            department_id: "d".into(),
            chat_id: None,
            message_id: Some("m1".into()),
            to: None,
            from: None,
            channel: None,
            choices: Vec::new(),
            created: DateTime::<Utc>::UNIX_EPOCH,
        };
        let a = idempotency_key(
            &c,
            "comment:1",
            &json!({"content": "x", "visibility": "private"}),
        );
        let b = idempotency_key(
            &c,
            "comment:1",
            &json!({"visibility": "private", "content": "x"}),
        );
        let d = idempotency_key(
            &c,
            "comment:1",
            &json!({"visibility": "private", "content": "y"}),
        );
        assert_eq!(a, b);
        assert_ne!(a, d);
    }
}
