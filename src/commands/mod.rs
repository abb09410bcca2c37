//! Feature 4: answers to Cliq commands (`/ticket`, `/pendingtickets`, `/deskstatus`), bot
//! phrases and menu actions (Overdue Tickets, Due Today, Open Tickets), and the Post here
//! button. An answer is shown to the asker only; it is kept for a day so that Post here can
//! post the same content, as the bot, to the chat it came from, through the outbox.
//!
//! The caller was authenticated by [`crate::http::cliq_callback`]; here the organisation is
//! checked, the Cliq user mapped to a Desk agent by email (else by their Zoho user id, which is
//! all Cliq sends without `params.user`), and every ticket shown limited to the agent's
//! departments.

pub mod actions;
pub mod args;
pub mod lookup;
pub mod render;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use self::args::{Phrase, StatusPart, TicketArg};
use self::lookup::{Lookups, Spend};
use self::render::{Ctx, banner};
use crate::cliq::Button;
use crate::cliq::Message;
use crate::cliq::callback::{Callback, Request};
use crate::config::{Config, Locale};
use crate::desk::DeskError;
use crate::i18n::{fill, texts};
use crate::notify::model::{AgentInfo, Target};
use crate::pipeline::Router;
use crate::stats::Want;
use crate::store::TreeName;

/// How long an answer can be posted with Post here.
pub const ANSWER_LIFETIME: chrono::Duration = chrono::Duration::days(1);
/// The Cliq function that handles every button (DESIGN.md).
pub const FUNCTION: &str = "deskaction";

/// An answer kept for its Post here button.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredAnswer {
    /// The Cliq user who asked: only they can post it.
    pub owner: String,
    /// The departments whose tickets or figures it shows.
    #[serde(default)]
    pub departments: Vec<String>,
    pub message: Value,
    pub line: String,
    pub created: DateTime<Utc>,
}

/// What an answer was, for `deskcliq_commands_total{name,outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub name: &'static str,
    pub outcome: &'static str,
}

/// The reply (`output` of `{"output": …}`) and what it was.
pub struct Reply {
    pub output: Value,
    pub outcome: Outcome,
}

fn reply(output: Value, name: &'static str, outcome: &'static str) -> Reply {
    Reply {
        output,
        outcome: Outcome { name, outcome },
    }
}

/// Answers callbacks; one per daemon.
pub struct Service {
    router: Arc<Router>,
    linker: Arc<crate::link::Linker>,
    lookups: Lookups,
}

/// The caller's language when Cliq gives ja or en (`ja`, `ja_JP`, `en-US`…), else the org's.
pub fn locale_of(language: Option<&str>, config: &Config) -> Locale {
    let lang = language
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>();
    match lang.as_str() {
        "ja" => Locale::Ja,
        "en" => Locale::En,
        _ => config.org.locale,
    }
}

/// The channels deskcliq posts to (the bot is in each: `deskcliq install` adds it).
fn bot_channels(config: &Config) -> Vec<&str> {
    let mut v = vec![config.cliq.org_channel.as_str()];
    v.extend(
        config
            .departments
            .iter()
            .filter_map(|d| d.channel.as_deref()),
    );
    v
}

/// A new unguessable answer id.
fn new_answer_id() -> Option<String> {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new().fill(&mut b).ok()?;
    Some(b.iter().map(|x| format!("{x:02x}")).collect())
}

impl Service {
    pub fn new(router: Arc<Router>, linker: Arc<crate::link::Linker>) -> Service {
        Service {
            router,
            linker,
            lookups: Lookups::default(),
        }
    }

    pub fn linker(&self) -> &Arc<crate::link::Linker> {
        &self.linker
    }

    fn now(&self) -> DateTime<Utc> {
        self.router.shared.clock.now()
    }

    /// The answer to `cb` (already authenticated and fresh).
    pub async fn answer(&self, cb: &Callback) -> Reply {
        let config = self.router.config.borrow().clone();
        let locale = locale_of(cb.caller.language.as_deref(), &config);
        let tx = texts(locale);
        let c = tx.cmd;
        let name = metric_name(&cb.request);
        if cb.caller.organizations.is_empty()
            || cb
                .caller
                .organizations
                .iter()
                .any(|o| o != &config.cliq.org_id)
        {
            return reply(
                banner(false, c.other_organisation),
                name,
                "other_organisation",
            );
        }
        let agents = self.router.directory.get();
        let Some(agent) = agents
            .by_email(&cb.caller.email)
            .or_else(|| agents.by_zuid(&cb.caller.id))
            .filter(|a| a.active)
            .cloned()
        else {
            // Known by id only (no `params.user`): say that the email was missing.
            let text = if cb.caller.email.trim().is_empty() {
                c.not_an_agent_by_id
            } else {
                c.not_an_agent
            };
            return reply(banner(false, text), name, "not_an_agent");
        };
        let tz = cb
            .caller
            .timezone
            .as_deref()
            .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
            .unwrap_or(config.org.timezone);
        let ctx = Ctx {
            config: &config,
            agents: &agents,
            tx,
            tz,
            locale,
        };
        let mut spend = Spend::default();
        let result = match &cb.request {
            Request::Command {
                name: cmd,
                arguments,
            } => match cmd.as_str() {
                "ticket" => self.ticket(&agent, arguments, &ctx, &mut spend).await,
                "pendingtickets" => self.pending(&agent, &ctx, &mut spend).await,
                "deskstatus" => match args::status_part(arguments) {
                    Some(part) => self.status(&agent, part, &ctx, &mut spend).await,
                    None => Ok(Answer::Banner(false, c.deskstatus_usage.to_string())),
                },
                "deskcliq" => return self.deskcliq(arguments, cb, &ctx).await,
                _ => Ok(Answer::Help(render::help(&ctx))),
            },
            Request::BotMessage { text } | Request::MenuAction { name: text } => {
                match args::phrase(text) {
                    Some(p) => self.phrase(&agent, p, &ctx, &mut spend).await,
                    None => Ok(Answer::Help(render::help(&ctx))),
                }
            }
            Request::Button { key } => match key.split_once(':') {
                Some(("post", id)) => return self.post_here(id, cb, &config, &ctx),
                Some((action, id)) => match crate::config::Action::parse(action) {
                    Some(action) => return self.action_button(action, id, cb, &agent, &ctx).await,
                    None => Ok(Answer::Banner(false, c.not_available.to_string())),
                },
                None => Ok(Answer::Banner(false, c.not_available.to_string())),
            },
            Request::Form { name, values } => {
                return self.form_submit(name, values, cb, &agent, &ctx).await;
            }
            Request::FormValues { name, field, query } => {
                return self.form_values(name, field, query, cb, &ctx).await;
            }
            Request::Other { .. } => Ok(Answer::Banner(false, c.not_available.to_string())),
        };
        if spend.credits > 0 {
            self.router
                .shared
                .metrics
                .command_desk_credits_total
                .with_label_values(&[name])
                .inc_by(spend.credits);
        }
        match result {
            Ok(Answer::Private(message, deps)) => {
                match self.keep(message, deps, &cb.caller.id, &ctx) {
                    Ok(output) => reply(output, name, "answered"),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot keep a command answer");
                        reply(banner(false, c.desk_unavailable), name, "store_error")
                    }
                }
            }
            Ok(Answer::Help(message)) => reply(message.to_json(), name, "help"),
            Ok(Answer::Banner(ok, text)) => reply(
                banner(ok, &text),
                name,
                if ok { "answered" } else { "refused" },
            ),
            Err(e) => {
                tracing::warn!(command = name, error = %e, "Desk did not answer a command");
                reply(banner(false, c.desk_unavailable), name, "desk_error")
            }
        }
    }

    /// `/deskcliq link|unlink|help`.
    async fn deskcliq(&self, arguments: &str, cb: &Callback, ctx: &Ctx<'_>) -> Reply {
        const NAME: &str = "deskcliq";
        let a = ctx.tx.act;
        let arg = args::narrow(arguments).trim().to_ascii_lowercase();
        match arg.as_str() {
            "link" | "connect" => {
                if !self.linker.enabled() {
                    return reply(banner(false, a.off), NAME, "off");
                }
                match self.linker.grant(&cb.caller.id) {
                    Ok(Some(_)) => reply(banner(true, a.already_linked), NAME, "answered"),
                    Ok(None) => self.connect_prompt(cb, ctx, false),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read a grant");
                        reply(
                            banner(false, ctx.tx.cmd.desk_unavailable),
                            NAME,
                            "store_error",
                        )
                    }
                }
            }
            "unlink" | "disconnect" => match self.linker.unlink(&cb.caller.id).await {
                Ok(true) => reply(banner(true, a.unlinked), NAME, "answered"),
                Ok(false) => reply(banner(true, a.not_linked), NAME, "answered"),
                Err(e) => {
                    tracing::error!(error = %e, "cannot unlink");
                    reply(
                        banner(false, ctx.tx.cmd.desk_unavailable),
                        NAME,
                        "store_error",
                    )
                }
            },
            _ => {
                let m = Message::new(a.help_title)
                    .with_bot("Deskbot", None)
                    .with_card(a.help_title, "modern-inline")
                    .with_slide(crate::cliq::Slide::list(
                        None,
                        a.help_items.iter().map(|s| s.to_string()).collect(),
                    ));
                reply(m.to_json(), NAME, "help")
            }
        }
    }

    /// Keeps `message` for a day and returns it with its Post here button.
    fn keep(
        &self,
        message: Message,
        departments: Vec<String>,
        owner: &str,
        ctx: &Ctx,
    ) -> Result<Value, String> {
        let id = new_answer_id().ok_or("no random answer id")?;
        let line = message
            .card
            .as_ref()
            .map(|c| c.title.clone())
            .unwrap_or_else(|| message.text.clone());
        let stored = StoredAnswer {
            owner: owner.to_string(),
            departments,
            message: message.to_json(),
            line,
            created: self.now(),
        };
        self.router
            .shared
            .store
            .tree::<String, StoredAnswer>(TreeName::Answers)
            .insert(&id, &stored)
            .map_err(|e| e.to_string())?;
        let message = message.with_button(Button::invoke(
            ctx.tx.cmd.button_post,
            FUNCTION,
            &format!("post:{id}"),
        ));
        Ok(message.to_json())
    }

    async fn ticket(
        &self,
        agent: &AgentInfo,
        arguments: &str,
        ctx: &Ctx<'_>,
        spend: &mut Spend,
    ) -> Result<Answer, DeskError> {
        let c = ctx.tx.cmd;
        let desk = self.desk()?;
        let now = self.now();
        let deps = &agent.departments;
        Ok(match args::ticket_arg(arguments) {
            TicketArg::Mine => {
                let list = self
                    .lookups
                    .assigned(desk, &agent.id, deps, now, spend)
                    .await?;
                Answer::Private(
                    render::tickets(c.my_tickets, c.my_tickets_none, &list, ctx),
                    departments_of(&list),
                )
            }
            TicketArg::Number(n) => match self.lookups.by_number(desk, &n, deps, now, spend).await?
            {
                Some(t) => Answer::Private(
                    render::ticket(&t, ctx),
                    departments_of(std::slice::from_ref(&t)),
                ),
                None => Answer::Banner(false, fill(c.ticket_not_found, &[("number", &n)])),
            },
            TicketArg::Email(email) => {
                let list = self
                    .lookups
                    .by_email(desk, &email, deps, now, spend)
                    .await?;
                let shown = crate::notify::inert::inert(&email, 254);
                Answer::Private(
                    render::tickets(
                        &fill(c.customer_tickets, &[("email", &shown)]),
                        &fill(c.customer_tickets_none, &[("email", &shown)]),
                        &list,
                        ctx,
                    ),
                    departments_of(&list),
                )
            }
            TicketArg::Invalid => Answer::Banner(false, c.ticket_usage.to_string()),
        })
    }

    async fn phrase(
        &self,
        agent: &AgentInfo,
        phrase: Phrase,
        ctx: &Ctx<'_>,
        spend: &mut Spend,
    ) -> Result<Answer, DeskError> {
        let c = ctx.tx.cmd;
        let desk = self.desk()?;
        let now = self.now();
        let deps = &agent.departments;
        let (title, empty, list) = match phrase {
            Phrase::Overdue => (
                c.overdue,
                c.overdue_none,
                self.lookups.overdue(desk, deps, now, spend).await?,
            ),
            Phrase::DueToday => (
                c.due_today,
                c.due_today_none,
                self.lookups
                    .due_today(desk, deps, today(now, ctx.tz), now, spend)
                    .await?,
            ),
            Phrase::Open => (
                c.open,
                c.open_none,
                self.lookups.open(desk, deps, now, spend).await?,
            ),
        };
        Ok(Answer::Private(
            render::tickets(title, empty, &list, ctx),
            departments_of(&list),
        ))
    }

    async fn per_department(
        &self,
        agent: &AgentInfo,
        want: Want,
        ctx: &Ctx<'_>,
        spend: &mut Spend,
    ) -> Result<Vec<(String, crate::stats::Stats)>, DeskError> {
        self.desk()?;
        let now = self.now();
        let mut out = Vec::new();
        for d in agent.departments.iter().take(lookup::MAX_DEPARTMENTS) {
            let s = self
                .lookups
                .stats(&self.router.shared, ctx.agents, d, want, now, spend)
                .await;
            out.push((d.clone(), s));
        }
        // Not one figure: Desk is down, and a card of "unavailable" would pass for an answer.
        if !out.is_empty() && out.iter().all(|(_, s)| !s.any_known(want)) {
            return Err(DeskError::Decode {
                what: "statistics".into(),
                reason: "Desk answered none of the figures".into(),
            });
        }
        Ok(out)
    }

    async fn pending(
        &self,
        agent: &AgentInfo,
        ctx: &Ctx<'_>,
        spend: &mut Spend,
    ) -> Result<Answer, DeskError> {
        let want = Want {
            activity: false,
            ratings: false,
            pending: true,
        };
        let per = self.per_department(agent, want, ctx, spend).await?;
        let deps = per.iter().map(|(d, _)| d.clone()).collect();
        Ok(Answer::Private(render::pending(&per, ctx), deps))
    }

    async fn status(
        &self,
        agent: &AgentInfo,
        part: StatusPart,
        ctx: &Ctx<'_>,
        spend: &mut Spend,
    ) -> Result<Answer, DeskError> {
        let want = match part {
            StatusPart::All => Want::ALL,
            StatusPart::New | StatusPart::Closed | StatusPart::Top => Want {
                activity: true,
                ratings: false,
                pending: false,
            },
            StatusPart::Csat => Want {
                activity: false,
                ratings: true,
                pending: false,
            },
        };
        let per = self.per_department(agent, want, ctx, spend).await?;
        let deps = per.iter().map(|(d, _)| d.clone()).collect();
        Ok(Answer::Private(render::status(&per, part, ctx), deps))
    }

    fn desk(&self) -> Result<&crate::desk::DeskClient, DeskError> {
        self.router
            .shared
            .zoho
            .as_ref()
            .map(|z| &z.desk)
            .ok_or_else(|| DeskError::Decode {
                what: "Desk client".into(),
                reason: "not configured".into(),
            })
    }

    /// Post here: the kept answer, as the bot, to the chat the click came from, once.
    fn post_here(&self, id: &str, cb: &Callback, config: &Config, ctx: &Ctx) -> Reply {
        const NAME: &str = "post";
        let c = ctx.tx.cmd;
        let store = &self.router.shared.store;
        let now = self.now();
        let kept = store
            .tree::<String, StoredAnswer>(TreeName::Answers)
            .get(&id.to_string());
        let answer = match kept {
            Ok(Some(a)) if a.owner == cb.caller.id && now - a.created <= ANSWER_LIFETIME => a,
            Ok(_) => return reply(banner(false, c.answer_expired), NAME, "expired"),
            Err(e) => {
                tracing::error!(error = %e, "cannot read a kept answer");
                return reply(banner(false, c.desk_unavailable), NAME, "store_error");
            }
        };
        let chat = &cb.chat;
        let target = match chat.kind.as_str() {
            "channel" => chat
                .channel_unique_name
                .as_deref()
                .filter(|n| bot_channels(config).contains(n))
                // A department's channel hears only of its own department(s).
                .filter(|n| {
                    *n == config.cliq.org_channel
                        || answer
                            .departments
                            .iter()
                            .all(|d| config.route(d).channel == *n)
                })
                .map(|n| Target::Channel(n.to_string())),
            "bot" => Some(Target::Dm(vec![cb.caller.id.clone()])),
            _ => None,
        };
        let Some(target) = target else {
            return reply(banner(false, c.cannot_post_here), NAME, "refused");
        };
        let message = match serde_json::from_value::<Value>(answer.message.clone()) {
            Ok(m) => m,
            Err(_) => return reply(banner(false, c.answer_expired), NAME, "expired"),
        };
        let queued = crate::actors::outbox::enqueue_json(
            store,
            &format!("post:{id}"),
            target,
            message,
            // Posted as it was shown, never merged into a summary card.
            (&answer.line, true),
            now,
        );
        match queued {
            Ok(true) => {
                self.router.wake_outbox();
                reply(banner(true, c.posted), NAME, "answered")
            }
            Ok(false) => reply(banner(true, c.already_posted), NAME, "duplicate"),
            Err(e) => {
                tracing::error!(error = %e, "cannot queue a Post here");
                reply(banner(false, c.desk_unavailable), NAME, "store_error")
            }
        }
    }

    /// The store must hold a Post here before Cliq is told it is posted.
    pub async fn commit(&self) -> Result<(), crate::store::StoreError> {
        self.router.shared.store.commit().await
    }

    /// Forgets answers older than a day; returns how many.
    pub fn prune(&self) -> Result<usize, crate::store::StoreError> {
        let now = self.now();
        let tree = self
            .router
            .shared
            .store
            .tree::<String, StoredAnswer>(TreeName::Answers);
        let mut n = 0;
        // An answer that cannot be read is set aside: it must not stop every later prune.
        for item in tree.iter_readable()? {
            let (k, a) = item?;
            if now - a.created > ANSWER_LIFETIME {
                tree.remove(&k)?;
                n += 1;
            }
        }
        Ok(n)
    }
}

/// What a handler produced before it is kept or sent.
enum Answer {
    /// A message for the asker, with Post here, and the departments it shows.
    Private(Message, Vec<String>),
    /// What the bot understands: shown, not kept.
    Help(Message),
    /// A banner: success or failure, and its text.
    Banner(bool, String),
}

/// The departments of `tickets`, each once.
fn departments_of(tickets: &[crate::desk::Ticket]) -> Vec<String> {
    let mut v: Vec<String> = tickets
        .iter()
        .filter_map(|t| t.department_id.clone())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// `[start, end)` of `now`'s day in `tz`.
fn today(now: DateTime<Utc>, tz: chrono_tz::Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    use chrono::TimeZone as _;
    let local = now.with_timezone(&tz).date_naive();
    let start_of = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| tz.from_local_datetime(&t).earliest())
            .map(|t| t.with_timezone(&Utc))
    };
    let start = start_of(local).unwrap_or(now);
    let end = local
        .succ_opt()
        .and_then(start_of)
        .unwrap_or(start + chrono::Duration::days(1));
    (start, end)
}

pub fn metric_name(r: &Request) -> &'static str {
    match r {
        Request::Command { name, .. } => match name.as_str() {
            "ticket" => "ticket",
            "pendingtickets" => "pendingtickets",
            "deskstatus" => "deskstatus",
            "deskcliq" => "deskcliq",
            _ => "other_command",
        },
        Request::BotMessage { .. } => "bot_message",
        Request::MenuAction { .. } => "menu_action",
        Request::Button { .. } => "button",
        Request::Form { .. } => "form",
        Request::FormValues { .. } => "form_values",
        Request::Other { .. } => "other",
    }
}

/// POSTs a late answer to Cliq's `response_url` (it came in the signed body). Only to HTTPS,
/// to the configured Cliq host, or to loopback (a local Cliq stand-in).
pub async fn deliver_late(url: &str, output: &Value, config: &Config) -> Result<(), String> {
    let u = url::Url::parse(url).map_err(|e| format!("bad response_url: {e}"))?;
    let cliq = url::Url::parse(&config.zoho.urls.cliq).ok();
    let same_host = cliq.is_some_and(|c| c.origin() == u.origin());
    let loopback = match u.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if u.scheme() != "https" && !same_host && !loopback {
        return Err("response_url is neither HTTPS, the Cliq host nor loopback".into());
    }
    let r = crate::zoho_http::client()
        .post(u)
        .json(&serde_json::json!({ "output": output }))
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| format!("cannot reach response_url: {}", e.without_url()))?;
    if r.status().is_success() {
        Ok(())
    } else {
        Err(format!("response_url answered {}", r.status()))
    }
}
