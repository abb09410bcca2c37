//! A submitted action form: run once, as the agent, then the card edited.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::super::render::{Ctx, banner};
use super::super::{Reply, Service, reply};
use crate::cliq::callback::Callback;
use crate::config::Action;
use crate::desk::{ContentType, DeskClient, DeskError, NewComment, TicketUpdate};
use crate::i18n::{Texts, fill, texts};
use crate::notify::inert::inert;
use crate::notify::model::AgentInfo;
use crate::store::TreeName;

use super::echo::*;
use super::forms::*;
use super::open::{definite_refusal, grant_dead};

/// An action's run that Cliq's time limit cut off (the callback's answer was given up while
/// Desk had not answered): Desk may have made the change, so, as for any unknown outcome, the
/// run is recorded as done rather than left "in progress", and the same form does not run it
/// again.
struct CutOff<'a> {
    done: &'a crate::store::Tree<String, ActionRecord>,
    key: &'a str,
    at: DateTime<Utc>,
    armed: bool,
}

impl CutOff<'_> {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for CutOff<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        tracing::warn!("a quick action was cut off before Desk answered; its outcome is unknown");
        let record = ActionRecord {
            at: self.at,
            state: ActionState::Done,
        };
        if let Err(e) = self.done.insert(&self.key.to_string(), &record) {
            tracing::error!(error = %e, "cannot record a cut-off action");
        }
    }
}

/// Why an action was not run: a bad choice in the form, or Desk's refusal.
enum Refusal {
    Local(String),
    Desk(DeskError),
}

/// What an action did, to be said in either language: the banner in the agent's, the
/// rewritten card (a notification) in the org's.
enum Done {
    Status { number: String, status: String },
    Assign { number: String, who: Option<Who> },
    Reply { number: String, to: String },
    Comment { number: String },
}

/// Who a ticket was assigned to.
enum Who {
    Agent(String),
    Team(String),
}

impl Done {
    fn text(&self, tx: &Texts) -> String {
        let a = tx.act;
        match self {
            Done::Status { number, status } => fill(
                a.done_status,
                &[("number", number), ("status", &inert(status, 60))],
            ),
            Done::Assign {
                number,
                who: Some(who),
            } => {
                let who = match who {
                    Who::Agent(name) => inert(name, 60),
                    Who::Team(name) => fill(a.team, &[("name", &inert(name, 60))]),
                };
                fill(a.done_assign, &[("number", number), ("who", &who)])
            }
            Done::Assign { number, who: None } => fill(a.done_unassign, &[("number", number)]),
            Done::Reply { number, to } => {
                fill(a.done_reply, &[("number", number), ("to", &inert(to, 254))])
            }
            Done::Comment { number } => fill(a.done_comment, &[("number", number)]),
        }
    }
}

impl Service {
    /// A submitted action form: runs the action once, as the agent.
    pub(crate) async fn form_submit(
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
        let cut_off = CutOff {
            done: &done,
            key: &once,
            at: self.now(),
            armed: true,
        };
        let outcome = self
            .run(action, &desk, &context, values, content.as_deref(), ctx)
            .await;
        cut_off.disarm();
        let did = match outcome {
            Ok(did) => did,
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
                return self.desk_failure(&e, cb, ctx, name, false).await;
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
        self.edit_card(&context, &did, agent, ctx).await;
        self.router
            .shared
            .metrics
            .actions_total
            .with_label_values(&[name, "done"])
            .inc();
        tracing::info!(action = name, ticket = %context.ticket_id, agent = %agent.id, "quick action done");
        reply(banner(true, &did.text(ctx.tx)), name, "done")
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
    ) -> Result<Done, Refusal> {
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
                Ok(Done::Status { number, status })
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
                            Some(Who::Agent(
                                ctx.agents.name(agent_id).unwrap_or(agent_id).to_string(),
                            )),
                        )
                    }
                    Some(("team", team_id)) => {
                        let desk = self.desk().map_err(Refusal::Desk)?;
                        let teams = self
                            .lookups
                            .teams(desk, &context.department_id, self.now())
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
                            Some(Who::Team(team.name)),
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
                Ok(Done::Assign { number, who })
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
                Ok(Done::Reply { number, to })
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
                Ok(Done::Comment { number })
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

    /// Rewrites the clicked card: the ticket, what was done and by whom. The card is a
    /// notification, which others may read too: it stays in the org's language.
    async fn edit_card(&self, context: &FormContext, did: &Done, agent: &AgentInfo, ctx: &Ctx<'_>) {
        let (Some(chat), Some(message)) = (&context.chat_id, &context.message_id) else {
            return;
        };
        let Some(z) = &self.router.shared.zoho else {
            return;
        };
        let tx = texts(ctx.config.org.locale);
        let text = format!(
            "*#{}* {}\n{}",
            inert(&context.ticket_number, 20),
            inert(&context.subject, 150),
            fill(
                tx.act.edited,
                &[
                    // The banner's sentence, without its full stop: the card goes on.
                    ("what", did.text(tx).trim_end_matches(['.', '。'])),
                    ("agent", &inert(&agent.name, 60))
                ]
            ),
        );
        // Within the outbox's budget, and nothing during a lockout (DESIGN): the agent's banner
        // says what was done even when the card cannot be rewritten.
        let shared = &self.router.shared;
        let limit = ctx.config.limits.cliq_posts_per_minute;
        match crate::actors::outbox::take_budget(&shared.store, limit, self.now()).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(
                    "the clicked card is not rewritten: Cliq's budget is spent or deskcliq is locked out"
                );
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the clicked card is not rewritten: cannot count it in the budget");
                return;
            }
        }
        match z.cliq.edit_message(chat, message, &text, false).await {
            Ok(()) => {}
            Err(crate::cliq::CliqError::Throttled { code, retry_after }) => {
                match crate::actors::outbox::throttled_elsewhere(
                    &shared.store,
                    self.now(),
                    retry_after,
                )
                .await
                {
                    Ok(until) => {
                        tracing::error!(%code, %until, "Cliq throttled a card edit: sending nothing until then")
                    }
                    Err(e) => {
                        tracing::error!(%code, error = %e, "Cliq throttled a card edit; cannot record the lockout")
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot edit the clicked card"),
        }
    }
}
