//! The notification pipeline between the webhook inbox and the outbox: the Router task that
//! takes stored events in order, the agent directory, the ratings poller, and learning the
//! webhook's id (the JWT audience).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};

use crate::actors::{Announce, Direct, RouteTable, Shared, Wake};
use crate::config::Config;
use crate::notify::card::render;
use crate::notify::classify::{ActivitySnapshot, classify};
use crate::notify::event::InboxEvent;
use crate::notify::model::{AgentInfo, Change, ChangeKind, Target, TicketSnapshot};
use crate::notify::route::{Agents, targets};
use crate::store::{StoreError, TreeName};

mod ratings;
pub use ratings::{poll_once, poll_ratings};

/// Renders `change` for `target` and queues it under its idempotency key.
pub fn queue(
    shared: &Shared,
    change: &Change,
    target: Target,
    config: &Config,
    agents: &Agents,
) -> Result<bool, String> {
    let card = render(change, config, agents);
    let key = format!("{}@{}", change.key(), target.label());
    crate::actors::outbox::enqueue(&shared.store, &key, target, &card, shared.clock.now())
        .map_err(|e| e.to_string())
}

/// The portal's agents, shared by the router and the DM router; kept in the store.
#[derive(Clone, Default)]
pub struct Directory {
    agents: Arc<RwLock<Arc<Agents>>>,
}

const AGENTS_KEY: &str = "agents";

impl Directory {
    /// The directory as the store last had it.
    pub fn load(shared: &Shared) -> Directory {
        let list = shared
            .store
            .tree::<String, Vec<AgentInfo>>(TreeName::Meta)
            .get(&AGENTS_KEY.to_string())
            .ok()
            .flatten()
            .unwrap_or_default();
        Directory {
            agents: Arc::new(RwLock::new(Arc::new(Agents::new(list)))),
        }
    }

    pub fn get(&self) -> Arc<Agents> {
        self.agents
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Fetches the agent list from Desk, asks Cliq whether each active agent's Zoho user is
    /// a Cliq user of organisation `cliq_org` (DESIGN: agents who are not are never DMed),
    /// and keeps it.
    pub async fn refresh(&self, shared: &Shared, cliq_org: &str) -> Result<usize, String> {
        let Some(z) = &shared.zoho else { return Ok(0) };
        let agents = z.desk.all_agents().await.map_err(|e| e.to_string())?;
        let mut list: Vec<AgentInfo> = agents
            .into_iter()
            .map(|a| AgentInfo {
                name: a
                    .name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| {
                        format!(
                            "{} {}",
                            a.first_name.unwrap_or_default(),
                            a.last_name.unwrap_or_default()
                        )
                        .trim()
                        .to_string()
                    }),
                id: a.id,
                email: a.email,
                zuid: a.zuid,
                departments: a.associated_department_ids,
                active: a.status.as_deref().is_none_or(|s| {
                    !["DISABLED", "DELETED"].contains(&s.to_ascii_uppercase().as_str())
                }),
                in_cliq: None,
            })
            .collect();
        // What Cliq cannot tell (no permission, a limit, an outage) stays as last known, and
        // an agent never asked about is DMed.
        let known = self.get();
        let mut asking = true;
        for a in list.iter_mut().filter(|a| a.active) {
            let Some(zuid) = a.zuid.clone().filter(|z| !z.trim().is_empty()) else {
                continue;
            };
            let before = known
                .get(&a.id)
                .filter(|k| k.zuid.as_deref() == Some(zuid.as_str()))
                .and_then(|k| k.in_cliq);
            if !asking {
                a.in_cliq = before;
                continue;
            }
            a.in_cliq = match z.cliq.user(zuid.trim()).await {
                Ok(Some(u)) => Some(u.organization_id.as_deref().is_none_or(|o| o == cliq_org)),
                Ok(None) => Some(false),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot tell which agents are Cliq users; DMs go to every agent not known to be outside it");
                    asking = false;
                    before
                }
            };
        }
        let n = list.len();
        shared
            .store
            .tree::<String, Vec<AgentInfo>>(TreeName::Meta)
            .insert(&AGENTS_KEY.to_string(), &list)
            .map_err(|e| e.to_string())?;
        *self.agents.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Agents::new(list));
        tracing::info!(agents = n, "agent directory refreshed");
        Ok(n)
    }
}

/// Everything the router needs.
/// How long routing waits for Desk to tell the ticket of a comment.
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub struct Router {
    pub shared: Shared,
    pub config: watch::Receiver<Arc<Config>>,
    pub routes: watch::Receiver<Arc<RouteTable>>,
    pub directory: Directory,
    pub wake: Arc<Notify>,
    /// Set when an `Agent_*` event asks for a fresh directory.
    pub agents_stale: Arc<Notify>,
    /// Webhook deliveries being taken in right now (see [`INGEST_BUSY`]).
    pub ingest_in_flight: Arc<AtomicUsize>,
}

/// From this many webhook deliveries in flight at once, deskcliq is taking in a flood (a few
/// thousand events a second): routing then waits between batches, so that the CPU goes to
/// making deliveries durable and answering Desk. The events wait in the durable inbox.
pub const INGEST_BUSY: usize = 32;

/// The longest routing waits between two batches during a flood: it never stops.
pub const INGEST_YIELD_MAX: Duration = Duration::from_millis(50);

impl Router {
    /// Takes stored events in order until `stop` fires.
    pub async fn run_shared(this: Arc<Router>, stop: watch::Receiver<bool>) {
        this.run(stop).await
    }

    async fn run(&self, mut stop: watch::Receiver<bool>) {
        let mut failing = crate::logging::Recurring::default();
        loop {
            if *stop.borrow() {
                return;
            }
            let drained = self.drain().await;
            if drained.is_ok() {
                failing.cleared("router: store");
            }
            match drained {
                Ok(0) => {
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => {}
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    failing.failed("router: store error", &e);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Handles every event in the inbox; returns how many.
    pub async fn drain(&self) -> Result<usize, StoreError> {
        let inbox = self.shared.store.tree::<u64, InboxEvent>(TreeName::Inbox);
        let mut handled = 0;
        loop {
            // A record that cannot be read is set aside (logged, counted), not taken again
            // and again: it would hold up every event behind it.
            let batch = inbox.first_readable(64)?;
            if batch.is_empty() {
                return Ok(handled);
            }
            for (seq, event) in batch {
                self.handle(&event).await?;
                inbox.remove(&seq)?;
                handled += 1;
            }
            self.routes.borrow().outbox.do_send(Wake);
            self.yield_to_ingest().await;
        }
    }

    /// Waits while a flood of deliveries is being taken in, at most [`INGEST_YIELD_MAX`].
    async fn yield_to_ingest(&self) {
        let busy = || self.ingest_in_flight.load(Ordering::Relaxed) >= INGEST_BUSY;
        if !busy() {
            return;
        }
        let started = std::time::Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(2)).await;
            if !busy() || started.elapsed() >= INGEST_YIELD_MAX {
                break;
            }
        }
        self.shared
            .metrics
            .router_yield_seconds_total
            .inc_by(started.elapsed().as_secs_f64());
    }

    async fn handle(&self, event: &InboxEvent) -> Result<(), StoreError> {
        let store = &self.shared.store;
        let tickets = store.tree::<String, TicketSnapshot>(TreeName::Tickets);
        let activities = store.tree::<String, ActivitySnapshot>(TreeName::Activities);
        let id = event
            .payload
            .get("id")
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .unwrap_or_default();
        let is_ticket = event.event_type.starts_with("Ticket_")
            && !event.event_type.starts_with("Ticket_Comment");
        if event.event_type.starts_with("Ticket_Comment") {
            self.learn_ticket_of_comment(&event.payload).await?;
        }
        // A snapshot that cannot be read counts as unknown (and is replaced below), rather
        // than keep this event, and every one behind it, in the inbox for good.
        let stored = if is_ticket {
            tickets.get_readable(&id)?
        } else {
            None
        };
        let activity = if !is_ticket {
            activities.get_readable(&id)?
        } else {
            None
        };
        let c = classify(
            event,
            stored.as_ref(),
            |tid| tickets.get(&tid.to_string()).ok().flatten(),
            activity.as_ref(),
        );
        // The log of creates and closes behind the daily summary (whatever is announced).
        for change in &c.changes {
            let closed = match change.kind {
                ChangeKind::Created => false,
                ChangeKind::Closed => true,
                _ => continue,
            };
            let at = change
                .ticket
                .modified_time
                .or(event.event_time)
                .unwrap_or_else(|| self.shared.clock.now());
            crate::stats::record(
                store,
                &crate::stats::LogEntry {
                    closed,
                    ticket_id: change.ticket.id.clone(),
                    department_id: change.ticket.department_id.clone(),
                    assignee_id: change.ticket.assignee_id.clone(),
                    at,
                },
            )?;
        }
        // A change deskcliq made itself (a quick action) edited the clicked card already, so
        // no channel hears of it again; DMs still go (the new assignee, the owner when someone
        // else acted, an agent mentioned: none of them is the agent who clicked).
        let echo = crate::commands::actions::is_echo(store, &event.event_type, &event.payload);
        for change in &c.changes {
            // Not queued: the event stays in the inbox and is taken again.
            if let Err(e) = self.deliver_filtered(change, echo).await {
                return Err(StoreError::Corrupt {
                    tree: "outbox",
                    reason: e,
                });
            }
        }
        let deadline = self.routes.borrow().deadline.clone();
        if let Some(t) = c.ticket {
            tickets.insert(&t.id.clone(), &t)?;
            // The newest change seen: where reconciliation looks for missed ones from.
            if let Some(m) = t.modified_time {
                store
                    .tree::<String, DateTime<Utc>>(TreeName::Meta)
                    .update(&crate::reconcile::NEWEST_KEY.to_string(), |old| {
                        old.map_or(m, |o| o.max(m))
                    })?;
            }
            // Arm, move or cancel its SLA alerts (answered before the event leaves the inbox).
            // Not armed: the event stays in the inbox and is taken again.
            deadline
                .send(crate::actors::Track(t))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r)
                .map_err(|reason| StoreError::Corrupt {
                    tree: "deadlines",
                    reason,
                })?;
        }
        if let Some(gone) = c.deleted_ticket
            && let Some(mut t) = tickets.remove(&gone)?
        {
            t.status_type = "Closed".into();
            let _ = deadline.send(crate::actors::Track(t)).await;
        }
        if let Some((kind, done)) = c.activity_event {
            let msg = crate::actors::TrackActivity {
                kind,
                payload: event.payload.clone(),
                done,
            };
            deadline
                .send(msg)
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r)
                .map_err(|reason| StoreError::Corrupt {
                    tree: "deadlines",
                    reason,
                })?;
        }
        if let Some((id, a)) = c.activity {
            activities.insert(&id, &a)?;
        }
        if c.agents_changed {
            self.agents_stale.notify_one();
        }
        Ok(())
    }

    /// A comment on a ticket deskcliq has not seen (older than the install, or its
    /// `Ticket_Add` not yet here: Desk keeps order within a module only) would go to the org
    /// channel with no number or subject, and never to the assignee. So the ticket is read
    /// from Desk once (1 credit) and remembered, its SLA alerts armed. When Desk cannot answer
    /// within [`LOOKUP_TIMEOUT`] the comment is routed with what is known.
    async fn learn_ticket_of_comment(&self, payload: &serde_json::Value) -> Result<(), StoreError> {
        let Some(z) = &self.shared.zoho else {
            return Ok(());
        };
        let text = |v: Option<&serde_json::Value>| match v {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let Some(ticket_id) = text(payload.get("ticketId"))
            .or_else(|| text(payload.get("ticket").and_then(|t| t.get("id"))))
        else {
            return Ok(());
        };
        let tickets = self
            .shared
            .store
            .tree::<String, TicketSnapshot>(TreeName::Tickets);
        if tickets.contains(&ticket_id)? {
            return Ok(());
        }
        let ticket = match tokio::time::timeout(LOOKUP_TIMEOUT, z.desk.get_ticket(&ticket_id, &[]))
            .await
        {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                tracing::warn!(ticket = %ticket_id, error = %e, "cannot read the ticket of a comment: routed with what is known");
                return Ok(());
            }
            Err(_) => {
                tracing::warn!(ticket = %ticket_id, "Desk did not answer for the ticket of a comment: routed with what is known");
                return Ok(());
            }
        };
        let mut snap = TicketSnapshot {
            status_type: "Open".into(),
            ..Default::default()
        };
        crate::reconcile::apply(&mut snap, &ticket);
        // Its own webhook may have come meanwhile: the newer stays.
        if tickets.insert_if_absent(&ticket_id, &snap)? {
            let deadline = self.routes.borrow().deadline.clone();
            if let Err(e) = deadline
                .send(crate::actors::Track(snap))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r)
            {
                tracing::warn!(ticket = %ticket_id, error = %e, "cannot arm the alerts of a ticket read for a comment");
            }
        }
        Ok(())
    }

    /// Tells the outbox there is something to send.
    pub fn wake_outbox(&self) {
        self.routes.borrow().outbox.do_send(Wake);
    }

    /// Routes one change and hands it to the actor of its target, which queues it.
    pub async fn deliver(&self, change: &Change) -> Result<(), String> {
        self.deliver_filtered(change, false).await
    }

    /// [`Router::deliver`], to DMs only when `dm_only`.
    async fn deliver_filtered(&self, change: &Change, dm_only: bool) -> Result<(), String> {
        let config = self.config.borrow().clone();
        let agents = self.directory.get();
        let targets = targets(change, &config, &agents)
            .into_iter()
            .filter(|t| !dm_only || matches!(t, Target::Dm(_)));
        for target in targets {
            let table = self.routes.borrow().clone();
            let answer = match &target {
                Target::Channel(channel) => {
                    let actor = change
                        .department_id
                        .as_ref()
                        .and_then(|d| table.departments.get(d))
                        .filter(|_| {
                            config
                                .route(change.department_id.as_deref().unwrap_or(""))
                                .channel
                                == channel
                        });
                    match actor {
                        Some(addr) => addr
                            .send(Announce {
                                change: change.clone(),
                                channel: channel.clone(),
                                config: config.clone(),
                                agents: agents.clone(),
                            })
                            .await
                            .map_err(|e| e.to_string())
                            .and_then(|r| r),
                        // Unlisted departments go to the org channel: no department actor.
                        None => queue(&self.shared, change, target.clone(), &config, &agents),
                    }
                }
                Target::Dm(users) => table
                    .dm
                    .send(Direct {
                        change: change.clone(),
                        users: users.clone(),
                        config: config.clone(),
                        agents: agents.clone(),
                    })
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r),
            };
            if let Err(e) = answer {
                // The actor is restarting or retired: queue it here, under the same key.
                tracing::warn!(error = %e, target = %target.label(), "actor did not take a notification; queueing directly");
                queue(&self.shared, change, target.clone(), &config, &agents).map_err(|e| {
                    tracing::error!(error = %e, "cannot queue a notification");
                    e
                })?;
            }
        }
        Ok(())
    }
}

/// Learns the webhook's id (the JWT audience) by finding our URL among the portal's webhooks.
///
/// Called at start (the last learned id is used at once) and again on every reconciliation, so a
/// webhook registered after start, or registered anew, is picked up.
pub async fn learn_webhook_id(shared: &Shared, config: &Config, into: &RwLock<Option<String>>) {
    if let Some(id) = &config.desk.webhook_id {
        *into.write().unwrap_or_else(|p| p.into_inner()) = Some(id.clone());
        return;
    }
    let meta = shared.store.tree::<String, String>(TreeName::Meta);
    if let Ok(Some(id)) = meta.get(&"webhook_id".to_string()) {
        let mut known = into.write().unwrap_or_else(|p| p.into_inner());
        if known.is_none() {
            *known = Some(id);
        }
    }
    // Known already: looked at again hourly (3 credits a look), not every reconciliation.
    let checked = shared
        .store
        .tree::<String, DateTime<Utc>>(TreeName::Meta)
        .get(&"webhook_id_checked".to_string())
        .ok()
        .flatten();
    let now = shared.clock.now();
    if into.read().unwrap_or_else(|p| p.into_inner()).is_some()
        && checked.is_some_and(|t| now - t < chrono::Duration::hours(1))
    {
        return;
    }
    look_up_webhook_id(shared, config, into).await;
}

/// Finds our URL among the portal's webhooks and keeps its id (in `into` and the store).
async fn look_up_webhook_id(shared: &Shared, config: &Config, into: &RwLock<Option<String>>) {
    let Some(z) = &shared.zoho else { return };
    match z.desk.list_webhooks().await {
        Ok(hooks) => {
            let ours = config.webhook_url();
            if let Some(h) = hooks
                .into_iter()
                .find(|h| h.url.trim_end_matches('/') == ours.trim_end_matches('/'))
            {
                let known = into.read().unwrap_or_else(|p| p.into_inner()).clone();
                if known.as_deref() != Some(h.id.as_str()) {
                    tracing::info!(webhook_id = %h.id, "learned the webhook id: the JWT audience is checked from now on");
                }
                let meta = shared.store.tree::<String, String>(TreeName::Meta);
                let _ = meta.insert(&"webhook_id".to_string(), &h.id);
                *into.write().unwrap_or_else(|p| p.into_inner()) = Some(h.id);
                let _ = shared
                    .store
                    .tree::<String, DateTime<Utc>>(TreeName::Meta)
                    .insert(&"webhook_id_checked".to_string(), &shared.clock.now());
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot list the portal's webhooks to learn ours"),
    }
}

/// A second look at the webhook's id, for a delivery whose JWT Desk signed for this portal but
/// for another audience than the learned id: the webhook may have been registered anew (as
/// `install` does when Desk will not move it to a new URL), and its deliveries must not be
/// refused until the hourly look. At most one look a minute, whatever deliveries say; never
/// when `desk.webhook_id` pins the id.
pub struct WebhookIdLookup {
    shared: Shared,
    last: tokio::sync::Mutex<Option<DateTime<Utc>>>,
}

impl WebhookIdLookup {
    /// Looks at most this often.
    pub const EVERY: chrono::Duration = chrono::Duration::minutes(1);

    pub fn new(shared: Shared) -> WebhookIdLookup {
        WebhookIdLookup {
            shared,
            last: tokio::sync::Mutex::new(None),
        }
    }

    /// The learned id after a fresh look, when `seen` (the id a delivery was checked against)
    /// may be outdated: at once when another delivery's look changed it meanwhile; `None` when
    /// the id is pinned, or a look was made less than [`Self::EVERY`] ago.
    pub async fn look_again(
        &self,
        config: &Config,
        into: &RwLock<Option<String>>,
        seen: Option<&str>,
    ) -> Option<String> {
        if config.desk.webhook_id.is_some() {
            return None;
        }
        let mut last = self.last.lock().await;
        let current = || into.read().unwrap_or_else(|p| p.into_inner()).clone();
        let known = current();
        if known.as_deref() != seen {
            return known;
        }
        let now = self.shared.clock.now();
        if last.is_some_and(|t| now - t < Self::EVERY && now >= t) {
            return None;
        }
        *last = Some(now);
        look_up_webhook_id(&self.shared, config, into).await;
        current()
    }
}
