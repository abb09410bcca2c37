//! `DigestActor`: the daily summaries, on `digest.schedule` in `org.timezone`, to the org channel
//! (all departments) and to each enabled department's own channel. A run missed while the daemon
//! was down is sent on start when fewer than `digest.catch_up_hours` have passed; each
//! (scheduled instant, channel) is sent at most once, across restarts too.

use std::sync::Arc;
use std::time::Duration;

use actix::{ActorFutureExt, AsyncContext, Handler, Message, MessageResult, WrapFuture};
use chrono::{DateTime, Utc};

use super::deadline::Attach;
use super::guard::{guarded, status_handler};
use super::{Reconfigure, Shared, Shutdown};
use crate::config::Config;
use crate::notify::card::{Card, digest};
use crate::notify::model::Target;
use crate::pipeline::Router;
use crate::store::TreeName;

const TICK: Duration = Duration::from_secs(1);
/// How long after a failed run (a store error) it is tried again, while still within
/// `digest.catch_up_hours` of its time.
const RETRY_AFTER: chrono::Duration = chrono::Duration::minutes(1);
/// Where the daemon records that it is up (to tell a run missed while it was down).
pub const ALIVE_KEY: &str = "digest_alive";

pub struct DigestActor {
    shared: Shared,
    config: Arc<Config>,
    router: Option<Arc<Router>>,
    next: Option<DateTime<Utc>>,
    caught_up: bool,
    /// A run that failed, and when to try it again.
    retry: Option<(DateTime<Utc>, DateTime<Utc>)>,
    busy: bool,
    ticker: Option<actix::SpawnHandle>,
    starts: u32,
    handled: u64,
}

impl DigestActor {
    pub fn new(shared: Shared, config: Arc<Config>) -> Self {
        let mut actor = DigestActor {
            shared,
            config,
            router: None,
            next: None,
            caught_up: false,
            retry: None,
            busy: false,
            ticker: None,
            starts: 0,
            handled: 0,
        };
        actor.plan();
        actor
    }

    fn plan(&mut self) {
        let now = self
            .shared
            .clock
            .now()
            .with_timezone(&self.config.org.timezone);
        self.next = self
            .config
            .digest
            .schedule
            .next_after(&now)
            .map(|t| t.with_timezone(&Utc));
        tracing::info!(
            schedule = %self.config.digest.schedule.expression,
            timezone = %self.config.org.timezone.name(),
            next = ?self.next,
            "daily summary planned"
        );
    }

    /// The run missed while the daemon was down, if it is recent enough to send now.
    fn missed_run(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let meta = self
            .shared
            .store
            .tree::<String, DateTime<Utc>>(TreeName::Meta);
        let alive = meta.get(&ALIVE_KEY.to_string()).ok().flatten()?;
        let tz = self.config.org.timezone;
        let prev = self
            .config
            .digest
            .schedule
            .cron
            .find_previous_occurrence(&now.with_timezone(&tz), true)
            .ok()?
            .with_timezone(&Utc);
        let fresh =
            now - prev < chrono::Duration::hours(i64::from(self.config.digest.catch_up_hours));
        (prev > alive && fresh).then_some(prev)
    }

    fn tick(&mut self, ctx: &mut actix::Context<Self>) {
        let Some(router) = self.router.clone() else {
            return;
        };
        if self.busy {
            return;
        }
        let now = self.shared.clock.now();
        let run = if !self.caught_up {
            self.caught_up = true;
            self.missed_run(now)
        } else {
            None
        };
        let run = run
            .or_else(|| {
                let (instant, _) = self.retry.filter(|(_, at)| *at <= now)?;
                self.retry = None;
                Some(instant)
            })
            .or_else(|| self.next.filter(|n| *n <= now));
        let Some(instant) = run else {
            // Up, with nothing due: a run before now was not missed.
            let _ = self
                .shared
                .store
                .tree::<String, DateTime<Utc>>(TreeName::Meta)
                .insert(&ALIVE_KEY.to_string(), &now);
            return;
        };
        if self.next.is_some_and(|n| n <= now) {
            let tz = self.config.org.timezone;
            self.next = self
                .config
                .digest
                .schedule
                .next_after(&instant.with_timezone(&tz))
                .map(|t| t.with_timezone(&Utc));
        }
        self.busy = true;
        let fut = send_summaries(self.shared.clone(), router, self.config.clone(), instant);
        ctx.spawn(fut.into_actor(self).map(move |result, act, _| {
            act.busy = false;
            match result {
                // Sent (queued): only now is the run no longer "missed".
                Ok(()) => {
                    let _ = act
                        .shared
                        .store
                        .tree::<String, DateTime<Utc>>(TreeName::Meta)
                        .insert(&ALIVE_KEY.to_string(), &instant);
                }
                // Tried again while it is recent enough to be caught up: the summaries
                // already queued are not queued twice.
                Err(e) => {
                    let now = act.shared.clock.now();
                    let fresh = now - instant
                        < chrono::Duration::hours(i64::from(act.config.digest.catch_up_hours));
                    if fresh {
                        tracing::error!(error = %e, run = %instant, "daily summary failed: trying again in a minute");
                        act.retry = Some((instant, now + RETRY_AFTER));
                    } else {
                        tracing::error!(error = %e, run = %instant, "daily summary failed: too late to try again");
                    }
                }
            }
        }));
    }
}

impl actix::Actor for DigestActor {
    type Context = actix::Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.starts += 1;
        self.busy = false;
        self.ticker = Some(ctx.run_interval(TICK, |act, ctx| act.tick(ctx)));
    }
}

impl actix::Supervised for DigestActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        tracing::warn!(actor = "digest", "actor restarting");
        self.shared
            .metrics
            .actor_restarts_total
            .with_label_values(&["digest"])
            .inc();
    }
}

status_handler!(DigestActor);

impl Handler<Attach> for DigestActor {
    type Result = ();

    fn handle(&mut self, msg: Attach, _ctx: &mut Self::Context) {
        self.router = Some(msg.0);
    }
}

/// When the next daily summary is due.
#[derive(Message)]
#[rtype(result = "Option<DateTime<Utc>>")]
pub struct NextDigest;

impl Handler<NextDigest> for DigestActor {
    type Result = MessageResult<NextDigest>;

    fn handle(&mut self, _msg: NextDigest, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.next)
    }
}

impl Handler<Reconfigure> for DigestActor {
    type Result = ();

    fn handle(&mut self, msg: Reconfigure, ctx: &mut Self::Context) {
        guarded("digest", ctx, || {
            let changed = self.config.digest.schedule.expression
                != msg.0.digest.schedule.expression
                || self.config.org.timezone != msg.0.org.timezone;
            self.config = msg.0;
            if changed {
                self.plan();
            }
            self.handled += 1;
        });
    }
}

impl Handler<Shutdown> for DigestActor {
    type Result = ();

    fn handle(&mut self, _msg: Shutdown, ctx: &mut Self::Context) {
        self.router = None;
        if let Some(t) = self.ticker.take() {
            ctx.cancel_future(t);
        }
    }
}

/// The summaries of the run scheduled at `instant`: the org channel, and each enabled
/// department with a channel of its own.
async fn send_summaries(
    shared: Shared,
    router: Arc<Router>,
    config: Arc<Config>,
    instant: DateTime<Utc>,
) -> Result<(), String> {
    let agents = router.directory.get();
    let from = instant - chrono::Duration::hours(24);
    let mut targets: Vec<(String, Option<(String, String)>)> =
        vec![(config.cliq.org_channel.clone(), None)];
    for d in &config.departments {
        let channel = config.route(&d.id).channel.to_string();
        // Skipped where the department's channel is the org channel: that one covers it.
        if d.enabled && channel != config.cliq.org_channel {
            targets.push((channel, Some((d.id.clone(), d.name.clone()))));
        }
    }
    for (channel, scope) in targets {
        let scope_id = scope.as_ref().map(|(id, _)| id.as_str()).unwrap_or("org");
        let key = format!(
            "digest:{}:{scope_id}@#{channel}",
            instant.timestamp_millis()
        );
        if shared
            .store
            .tree::<String, crate::actors::outbox::Mark>(TreeName::Delivered)
            .contains(&key)
            .map_err(|e| e.to_string())?
        {
            continue;
        }
        let stats = crate::stats::compute(
            &shared,
            &agents,
            scope.as_ref().map(|(id, _)| id.as_str()),
            from,
            instant,
        )
        .await;
        let message = digest(
            &stats,
            &config,
            scope.as_ref().map(|(_, name)| name.as_str()),
        );
        let card = Card {
            line: format!("{channel} {}", instant.to_rfc3339()),
            message,
            whole: true,
        };
        crate::actors::outbox::enqueue(
            &shared.store,
            &key,
            Target::Channel(channel),
            &card,
            shared.clock.now(),
        )
        .map_err(|e| e.to_string())?;
    }
    router.wake_outbox();
    Ok(())
}
