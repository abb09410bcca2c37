//! `DeadlineWatcher`: SLA alerts before a ticket's due date and activity reminders. Its timers
//! are in the store, ordered by fire time: it looks at the earliest one every tick (no loop over
//! tickets, no task per ticket) and fires what is due, within a second of its time.

use std::sync::Arc;
use std::time::Duration;

use actix::{ActorFutureExt, AsyncContext, Handler, Message, WrapFuture};
use serde_json::Value;

use super::guard::{guarded, status_handler};
use super::{Reconfigure, Shared, Shutdown};
use crate::config::Config;
use crate::deadlines::{Timer, TimerKind, Timers, reminder_times};
use crate::notify::model::{ActivityKind, Change, ChangeKind, TicketSnapshot};
use crate::pipeline::Router;
use crate::store::{StoreError, TreeName};

const TICK: Duration = Duration::from_millis(250);
/// A reminder more than this late (after downtime) is dropped, not sent.
const REMINDER_TOO_LATE: chrono::Duration = chrono::Duration::hours(1);
/// Timers fired in one go at most (the rest on the next tick).
const BATCH: usize = 2_000;

pub struct DeadlineWatcher {
    shared: Shared,
    config: Arc<Config>,
    router: Option<Arc<Router>>,
    tracked: i64,
    /// Store errors of the firing loop, logged when they start and end.
    failing: crate::logging::Recurring,
    busy: bool,
    ticker: Option<actix::SpawnHandle>,
    starts: u32,
    handled: u64,
}

impl DeadlineWatcher {
    pub fn new(shared: Shared, config: Arc<Config>) -> Self {
        DeadlineWatcher {
            shared,
            config,
            router: None,
            tracked: 0,
            failing: Default::default(),
            busy: false,
            ticker: None,
            starts: 0,
            handled: 0,
        }
    }

    fn set_tracked(&mut self, delta: i64) {
        self.tracked = (self.tracked + delta).max(0);
        self.shared.metrics.deadlines_tracked.set(self.tracked);
    }

    fn tick(&mut self, ctx: &mut actix::Context<Self>) {
        let Some(router) = self.router.clone() else {
            return;
        };
        if self.busy {
            return;
        }
        self.busy = true;
        let shared = self.shared.clone();
        ctx.spawn(
            fire_due(shared, router)
                .into_actor(self)
                .map(|result, act, _| {
                    act.busy = false;
                    match result {
                        Ok(fired) => {
                            act.failing.cleared("deadline watcher: store");
                            act.set_tracked(-(fired as i64));
                        }
                        Err(e) => act.failing.failed("deadline watcher: store error", &e),
                    }
                }),
        );
    }
}

impl actix::Actor for DeadlineWatcher {
    type Context = actix::Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.starts += 1;
        self.busy = false;
        // Rebuilt from the store: the timers are there, ordered by time.
        match Timers::new(&self.shared.store).count() {
            Ok(n) => {
                self.tracked = n as i64;
                self.shared.metrics.deadlines_tracked.set(self.tracked);
            }
            Err(e) => tracing::error!(error = %e, "cannot count timers"),
        }
        // Offsets changed while deskcliq was stopped: the stored timers follow the old ones.
        let armed = self
            .shared
            .store
            .tree::<String, Vec<u32>>(TreeName::Meta)
            .get(&ARMED_OFFSETS_KEY.to_string());
        match armed {
            Ok(Some(armed)) if armed != self.offsets() => self.rearm(ctx),
            // A store from before the offsets were recorded: armed with these, as far as known.
            Ok(None) => self.record_offsets(),
            Ok(Some(_)) => {}
            Err(e) => tracing::error!(error = %e, "cannot read the SLA offsets last armed"),
        }
        self.ticker = Some(ctx.run_interval(TICK, |act, ctx| act.tick(ctx)));
    }
}

/// The SLA offsets the stored timers were armed with (empty: due-soon alerts off).
const ARMED_OFFSETS_KEY: &str = "sla_offsets_armed";

impl DeadlineWatcher {
    /// The SLA offsets in force: none while due-soon alerts are switched off.
    fn offsets(&self) -> Vec<u32> {
        if self.config.notify.ticket.due_soon {
            self.config.sla.alert_before_minutes.clone()
        } else {
            Vec::new()
        }
    }

    fn record_offsets(&self) {
        if let Err(e) = self
            .shared
            .store
            .tree::<String, Vec<u32>>(TreeName::Meta)
            .insert(&ARMED_OFFSETS_KEY.to_string(), &self.offsets())
        {
            tracing::error!(error = %e, "cannot record the SLA offsets armed");
        }
    }

    /// Re-arms every stored ticket's SLA alerts with the offsets in force.
    fn rearm(&mut self, ctx: &mut actix::Context<Self>) {
        tracing::info!(offsets = ?self.config.sla.alert_before_minutes, due_soon = self.config.notify.ticket.due_soon, "SLA alert schedule changed: re-arming");
        let offsets = self.offsets();
        let now = self.shared.clock.now();
        let store = self.shared.store.clone();
        let result = guarded("deadline_watcher", ctx, || -> Result<i64, StoreError> {
            let timers = Timers::new(&store);
            let tickets = store.tree::<String, TicketSnapshot>(TreeName::Tickets);
            let mut delta = 0;
            for record in tickets.iter()? {
                match record {
                    Ok((_, t)) => delta += timers.track_ticket(&t, &offsets, now)?,
                    // One unreadable snapshot must not leave every ticket after it on the old
                    // offsets: set aside (the router writes it anew at the ticket's next event).
                    Err(e @ StoreError::Corrupt { .. }) => tickets.set_aside(&e),
                    Err(e) => return Err(e),
                }
            }
            Ok(delta)
        });
        match result {
            Some(Ok(delta)) => {
                self.set_tracked(delta);
                self.record_offsets();
            }
            Some(Err(e)) => tracing::error!(error = %e, "cannot re-arm SLA alerts"),
            None => {}
        }
    }
}

impl actix::Supervised for DeadlineWatcher {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        tracing::warn!(actor = "deadline_watcher", "actor restarting");
        self.shared
            .metrics
            .actor_restarts_total
            .with_label_values(&["deadline_watcher"])
            .inc();
    }
}

status_handler!(DeadlineWatcher);

/// The router the watcher hands its alerts to (set once the pipeline exists).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Attach(pub Arc<Router>);

impl Handler<Attach> for DeadlineWatcher {
    type Result = ();

    fn handle(&mut self, msg: Attach, _ctx: &mut Self::Context) {
        self.router = Some(msg.0);
    }
}

/// A ticket's snapshot changed (or was first seen): arm, move or cancel its SLA alerts.
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct Track(pub TicketSnapshot);

impl Handler<Track> for DeadlineWatcher {
    type Result = Result<(), String>;

    fn handle(&mut self, msg: Track, ctx: &mut Self::Context) -> Self::Result {
        let offsets = if self.config.notify.ticket.due_soon {
            self.config.sla.alert_before_minutes.clone()
        } else {
            Vec::new()
        };
        let now = self.shared.clock.now();
        let store = self.shared.store.clone();
        let result = guarded("deadline_watcher", ctx, || {
            Timers::new(&store).track_ticket(&msg.0, &offsets, now)
        })
        .ok_or_else(|| "deadline watcher panicked".to_string())?
        .map_err(|e| e.to_string())?;
        self.handled += 1;
        self.set_tracked(result);
        Ok(())
    }
}

/// An activity changed: arm its reminders (none once it is completed or deleted). They are
/// armed whether or not `notify.activity.reminder` is on: the switch is read when one fires
/// (by the router), so switching it back on reminds of activities taken in while it was off.
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct TrackActivity {
    pub kind: ActivityKind,
    pub payload: Value,
    pub done: bool,
}

impl Handler<TrackActivity> for DeadlineWatcher {
    type Result = Result<(), String>;

    fn handle(&mut self, msg: TrackActivity, ctx: &mut Self::Context) -> Self::Result {
        let now = self.shared.clock.now();
        let store = self.shared.store.clone();
        let result = guarded("deadline_watcher", ctx, || -> Result<i64, StoreError> {
            let p = &msg.payload;
            let text = |k: &str| {
                p.get(k).and_then(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .or_else(|| v.as_i64().map(|n| n.to_string()))
                })
            };
            let Some(id) = text("id") else { return Ok(0) };
            let timers = Timers::new(&store);
            let armed = timers.armed_for(&id)?;
            // A reminder still ahead when Desk made the change is armed, even if the change
            // reached deskcliq after it (down, or Desk retrying): it fires late, or is dropped
            // past an hour, like one armed before a restart. One already past then is not.
            let changed_at = p
                .get("modifiedTime")
                .and_then(crate::desk::lenient::value_time)
                .map_or(now, |t| t.min(now));
            let planned: Vec<Timer> = if msg.done {
                Vec::new()
            } else {
                reminder_times(p)
                    .into_iter()
                    .filter(|at| {
                        *at > changed_at - chrono::Duration::minutes(1)
                            && !armed.reminded.contains(&at.timestamp_millis())
                    })
                    .map(|at| Timer {
                        id: id.clone(),
                        fire_at: at,
                        kind: TimerKind::Reminder {
                            kind: msg.kind,
                            subject: text("subject").unwrap_or_default(),
                            // `ownerId`, or the `owner: {id}` object calls and events carry.
                            owner: text("ownerId").filter(|o| !o.is_empty()).or_else(|| {
                                p.get("owner")
                                    .and_then(|o| o.get("id"))
                                    .and_then(crate::desk::lenient::value_id)
                            }),
                            department_id: text("departmentId"),
                            ticket_id: text("ticketId"),
                            due: crate::notify::classify::activity_due(p),
                        },
                    })
                    .collect()
            };
            timers.replace(&id, armed, planned)
        })
        .ok_or_else(|| "deadline watcher panicked".to_string())?
        .map_err(|e| e.to_string())?;
        self.handled += 1;
        self.set_tracked(result);
        Ok(())
    }
}

impl Handler<Reconfigure> for DeadlineWatcher {
    type Result = ();

    fn handle(&mut self, msg: Reconfigure, ctx: &mut Self::Context) {
        let changed = self.config.sla.alert_before_minutes != msg.0.sla.alert_before_minutes
            || self.config.notify.ticket.due_soon != msg.0.notify.ticket.due_soon;
        self.config = msg.0;
        self.handled += 1;
        if !changed {
            return;
        }
        self.rearm(ctx);
    }
}

impl Handler<Shutdown> for DeadlineWatcher {
    type Result = ();

    fn handle(&mut self, _msg: Shutdown, ctx: &mut Self::Context) {
        // Timers are in the store; stop ticking so the actor can end.
        self.router = None;
        if let Some(t) = self.ticker.take() {
            actix::AsyncContext::cancel_future(ctx, t);
        }
    }
}

/// Where fired alerts go: the router in the daemon, a collector in tests of the watcher alone.
pub trait AlertSink {
    fn deliver<'a>(
        &'a self,
        change: &'a Change,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + 'a>>;
    fn flush(&self) {}
}

impl AlertSink for Router {
    fn deliver<'a>(
        &'a self,
        change: &'a Change,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + 'a>> {
        Box::pin(Router::deliver(self, change))
    }

    fn flush(&self) {
        self.wake_outbox();
    }
}

async fn fire_due(shared: Shared, router: Arc<Router>) -> Result<usize, StoreError> {
    fire_due_into(&shared, router.as_ref()).await
}

/// Fires every timer that is due into `sink`; returns how many left the store.
pub async fn fire_due_into(shared: &Shared, router: &dyn AlertSink) -> Result<usize, StoreError> {
    let timers = Timers::new(&shared.store);
    let tickets = shared
        .store
        .tree::<String, TicketSnapshot>(TreeName::Tickets);
    let mut done = 0;
    while done < BATCH {
        let now = shared.clock.now();
        let Some((key, timer)) = timers.next()? else {
            break;
        };
        if timer.fire_at > now {
            break;
        }
        let late = (now - timer.fire_at).num_milliseconds() as f64 / 1000.0;
        match &timer.kind {
            TimerKind::Sla { due, offsets } => {
                // Unreadable: unknown, so the timer is stale (the router writes it anew).
                let ticket = tickets.get_readable(&timer.id)?;
                let current = ticket
                    .as_ref()
                    .is_some_and(|t| t.status_type == "Open" && t.due_date == Some(*due));
                if !current {
                    // Closed, on hold, or moved since: a stale timer, and nothing was sent.
                    timers.discard(&key, &timer)?;
                    done += 1;
                    continue;
                } else if *due <= now {
                    shared.metrics.deadlines_dropped_total.inc();
                    tracing::info!(ticket = %timer.id, %due, "SLA alert dropped: the ticket is already past due");
                } else if let Some(t) = ticket {
                    let minutes_left = ((*due - now).num_seconds() + 59) / 60;
                    let change = Change {
                        kind: ChangeKind::DueSoon {
                            due: *due,
                            minutes_left,
                        },
                        department_id: t.department_id.clone(),
                        owner: t.assignee_id.clone(),
                        actor: None,
                        event: format!(
                            "sla:{}:{}:{}",
                            t.id,
                            due.timestamp_millis(),
                            offsets
                                .iter()
                                .map(|o| o.to_string())
                                .collect::<Vec<_>>()
                                .join(",")
                        ),
                        ticket: t,
                    };
                    if let Err(e) = router.deliver(&change).await {
                        tracing::warn!(error = %e, "SLA alert not queued; retrying");
                        break;
                    }
                    shared.metrics.alert_lateness_seconds.observe(late);
                    // Other offsets of this due date that are due too (after downtime): this
                    // alert, with the true time left, stands for them.
                    done += timers.absorb_due(&key, &timer.id, *due, now)?;
                }
            }
            TimerKind::Reminder { .. } if now - timer.fire_at > REMINDER_TOO_LATE => {
                // Fell due long ago (the daemon was down): a reminder that late helps nobody.
                shared.metrics.deadlines_dropped_total.inc();
                tracing::info!(activity = %timer.id, at = %timer.fire_at, "reminder dropped: more than an hour late");
            }
            TimerKind::Reminder {
                kind,
                subject,
                owner,
                department_id,
                ticket_id,
                due,
            } => {
                let ticket = ticket_id
                    .as_ref()
                    .and_then(|id| tickets.get(id).ok().flatten())
                    .unwrap_or_else(|| TicketSnapshot {
                        id: ticket_id.clone().unwrap_or_default(),
                        status_type: "Open".into(),
                        ..Default::default()
                    });
                let change = Change {
                    kind: ChangeKind::Reminder {
                        kind: *kind,
                        subject: subject.clone(),
                        due: *due,
                    },
                    department_id: department_id.clone().or(ticket.department_id.clone()),
                    owner: owner.clone(),
                    actor: None,
                    event: format!("reminder:{}:{}", timer.id, timer.fire_at.timestamp_millis()),
                    ticket,
                };
                if let Err(e) = router.deliver(&change).await {
                    tracing::warn!(error = %e, "reminder not queued; retrying");
                    break;
                }
                shared.metrics.alert_lateness_seconds.observe(late);
            }
        }
        timers.fired(&key, &timer)?;
        done += 1;
    }
    if done > 0 {
        router.flush();
    }
    Ok(done)
}
