//! `Outbox`: the only actor that talks to Cliq. Its queue, its send budget and Cliq's lockout
//! live in the store, so neither a crash nor a restart loses a message or breaks the budget.
//!
//! - Every message has an idempotency key, marked delivered right after Cliq accepted it: only
//!   the one post in flight at a kill can repeat.
//! - At most `limits.cliq_posts_per_minute` posts in any 60 seconds, all targets together.
//! - When more is waiting than the budget allows, a target's messages are merged into one
//!   summary card, oldest first, as many as fit in Cliq's characters of slides: nothing is
//!   dropped.
//! - A throttle answer stops all sending for 10 minutes (longer when its `Retry-After` says
//!   so, up to an hour); 5xx and timeouts back off
//!   exponentially with jitter; other refusals are dead-lettered with the reason.

use std::sync::Arc;
use std::time::Duration;

use actix::{ActorFutureExt, AsyncContext, Handler, Message, WrapFuture};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::guard::{guarded, status_handler};
use super::{Reconfigure, Shared, Shutdown};
use crate::cliq::{CliqClient, CliqError};
use crate::config::Config;
use crate::notify::card::{Card, SUMMARY_ROWS, summary, summary_capacity};
use crate::notify::model::Target;
use crate::store::{Store, StoreError, TreeName};

mod budget;
pub use budget::{Budget, LOCKOUT, take_budget, throttled_elsewhere};
use budget::{WINDOW, count_post, lock_out, read_budget};

/// How long delivered keys are remembered (Desk's duplicates come well within this).
pub const REMEMBER: chrono::Duration = chrono::Duration::days(7);
/// How long a message Cliq refused for good is kept in the `dead` tree, from when it was
/// queued.
pub const DEAD_KEPT: chrono::Duration = chrono::Duration::days(30);
/// A message's line in a summary card is at most this long; a card holds as many lines as fit
/// in Cliq's characters of slides ([`summary_capacity`]).
const LINE_MAX: usize = 150;
const TICK: Duration = Duration::from_millis(200);

/// A message waiting in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queued {
    pub key: String,
    pub target: Target,
    pub message: serde_json::Value,
    /// The line that stands for this message in a summary card.
    pub line: String,
    pub enqueued_at: DateTime<Utc>,
    pub attempts: u32,
    pub not_before: Option<DateTime<Utc>>,
    /// Sent alone, never merged (see [`Card::whole`]).
    #[serde(default)]
    pub whole: bool,
}

/// Where a key stands: queued, sent, or refused for good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Mark {
    Queued,
    Sent(DateTime<Utc>),
    Dead(DateTime<Utc>),
}

/// Queues `card` for `target` under `key`, unless that key was queued or sent already.
/// Returns whether it was queued now.
pub fn enqueue(
    store: &Store,
    key: &str,
    target: Target,
    card: &Card,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    enqueue_json(
        store,
        key,
        target,
        card.message.to_json(),
        (&card.line, card.whole),
        now,
    )
}

/// [`enqueue`] for a message already in Cliq's JSON (a kept command answer); `line` is the
/// card's line and whether it must go whole ([`Card::whole`]).
pub fn enqueue_json(
    store: &Store,
    key: &str,
    target: Target,
    message: serde_json::Value,
    (line, whole): (&str, bool),
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let marks = store.tree::<String, Mark>(TreeName::Delivered);
    if marks.contains(&key.to_string())? {
        return Ok(false);
    }
    let item = Queued {
        key: key.to_string(),
        target,
        message,
        line: crate::cliq::message::truncate(line, LINE_MAX),
        enqueued_at: now,
        attempts: 0,
        not_before: None,
        whole,
    };
    // The message first, then its key's mark (see `Tree::insert_pair_if_absent`).
    marks.insert_pair_if_absent(
        &key.to_string(),
        &Mark::Queued,
        &store.tree::<u64, Queued>(TreeName::Outbox),
        &store.next_id()?,
        &item,
    )
}

pub struct Outbox {
    shared: Shared,
    cliq: Option<CliqClient>,
    config: Arc<Config>,
    /// Store errors of the pump, logged when they start and end.
    failing: crate::logging::Recurring,
    busy: bool,
    /// The pump interval: cancelled on shutdown, so the actor can end once its mailbox closes.
    ticker: Option<actix::SpawnHandle>,
    /// Set on shutdown: a pump in progress stops before its next post.
    stopping: Arc<std::sync::atomic::AtomicBool>,
    /// Held by the pump in progress: shutdown waits for it, so a post Cliq took is marked
    /// sent before the store's last flush (else it would be posted again after the restart).
    pumping: Arc<tokio::sync::Mutex<()>>,
    starts: u32,
    handled: u64,
    /// When the queue was last counted for the depth metric.
    depth_at: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
    /// Nothing in the queue may go before this (every message waits on a retry after Cliq
    /// failed), as of the last round, and when that round ran: ticks skip reading the queue
    /// until then, or for [`IDLE_RESCAN`] at most (for a message queued without a wake-up).
    idle: Option<(DateTime<Utc>, std::time::Instant)>,
}

impl Outbox {
    pub fn new(shared: Shared, config: Arc<Config>) -> Self {
        Outbox {
            cliq: shared.zoho.as_ref().map(|z| z.cliq.clone()),
            shared,
            config,
            busy: false,
            failing: Default::default(),
            ticker: None,
            stopping: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            pumping: Arc::default(),
            starts: 0,
            handled: 0,
            depth_at: Arc::default(),
            idle: None,
        }
    }

    fn pump(&mut self, ctx: &mut actix::Context<Self>) {
        let Some(cliq) = self.cliq.clone() else {
            return;
        };
        if self.busy {
            return;
        }
        if let Some((until, at)) = self.idle {
            if self.shared.clock.now() < until && at.elapsed() < IDLE_RESCAN {
                return;
            }
            self.idle = None;
        }
        let Ok(pumping) = self.pumping.clone().try_lock_owned() else {
            return;
        };
        self.busy = true;
        let fut = pump(
            self.shared.clone(),
            cliq,
            self.config.clone(),
            self.stopping.clone(),
            self.depth_at.clone(),
        );
        ctx.spawn(fut.into_actor(self).map(move |result, act, _| {
            drop(pumping);
            act.busy = false;
            match result {
                Ok(idle) => {
                    act.failing.cleared("outbox: store");
                    act.idle = idle.map(|until| (until, std::time::Instant::now()));
                }
                Err(e) => act.failing.failed("outbox: store error", &e),
            }
        }));
    }
}

impl actix::Actor for Outbox {
    type Context = actix::Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.starts += 1;
        self.busy = false;
        // Intervals do not survive a restart: registered here, on every start.
        if self.cliq.is_some() {
            self.ticker = Some(ctx.run_interval(TICK, |act, ctx| act.pump(ctx)));
        }
    }
}

impl actix::Supervised for Outbox {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        tracing::warn!(actor = "outbox", "actor restarting");
        self.shared
            .metrics
            .actor_restarts_total
            .with_label_values(&["outbox"])
            .inc();
    }
}

status_handler!(Outbox);

/// Something was queued: look now rather than at the next tick.
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct Wake;

impl Handler<Wake> for Outbox {
    type Result = ();

    fn handle(&mut self, _msg: Wake, ctx: &mut Self::Context) {
        // Something new may be ready now.
        self.idle = None;
        self.pump(ctx);
    }
}

impl Handler<Reconfigure> for Outbox {
    type Result = ();

    fn handle(&mut self, msg: Reconfigure, ctx: &mut Self::Context) {
        guarded("outbox", ctx, || {
            let new = msg.0.limits.cliq_posts_per_minute;
            if new != self.config.limits.cliq_posts_per_minute {
                tracing::info!(posts_per_minute = new, "Cliq send budget changed");
            }
            self.config = msg.0;
            self.handled += 1;
        });
    }
}

impl Handler<Shutdown> for Outbox {
    type Result = actix::ResponseFuture<()>;

    fn handle(&mut self, _msg: Shutdown, ctx: &mut Self::Context) -> Self::Result {
        // The queue is in the store; stop sending so the store can be flushed and closed.
        self.cliq = None;
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.ticker.take() {
            ctx.cancel_future(t);
        }
        // The reply waits for the post in flight, if any, to be marked (it stops before the
        // next one): the store's final flush then covers it.
        let pumping = self.pumping.clone();
        Box::pin(async move {
            let _idle = pumping.lock().await;
            tracing::debug!("outbox shut down");
        })
    }
}

fn backoff(attempts: u32) -> chrono::Duration {
    use backon::BackoffBuilder as _;
    let delay = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(2))
        .with_max_delay(Duration::from_secs(300))
        .with_max_times(usize::MAX)
        .with_jitter()
        .build()
        .nth(attempts.saturating_sub(1) as usize)
        .unwrap_or(Duration::from_secs(300));
    chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::minutes(5))
}

/// Past a first burst, when the next post may go: the budget left in the window is spread
/// evenly from the last post until the oldest leaves the window, so a sustained flood is
/// posted steadily (each post merging what waited) instead of spending the budget in half a
/// minute and then sending nothing until the window frees up.
fn next_paced(sent: &[DateTime<Utc>], limit: usize) -> DateTime<Utc> {
    let (Some(oldest), Some(last)) = (sent.first(), sent.last()) else {
        return DateTime::<Utc>::MIN_UTC;
    };
    // The `left` posts go at equal steps that all fall before the oldest leaves the window
    // (at that instant a slot frees anyway): `left + 1` steps, or the last one would be lost.
    let left = limit.saturating_sub(sent.len()) as i32;
    *last + (*oldest + WINDOW - *last) / (left + 1)
}

/// How long ticks skip reading a queue whose messages all wait on a retry, at most.
const IDLE_RESCAN: Duration = Duration::from_secs(2);
/// Messages a round reads at most once more is ready than the budget allows.
const SCAN_MAX: usize = 2_000;
/// How often the queue is counted for the depth metric (sled counts by walking the tree).
const DEPTH_EVERY: Duration = Duration::from_secs(1);

/// Sets the queue's depth and oldest age, counting at most every [`DEPTH_EVERY`].
fn report_depth(
    queue: &crate::store::Tree<u64, Queued>,
    metrics: &crate::metrics::Metrics,
    now: DateTime<Utc>,
    depth_at: &std::sync::Mutex<Option<std::time::Instant>>,
) -> Result<(), StoreError> {
    let mut at = depth_at.lock().unwrap_or_else(|p| p.into_inner());
    if at.is_some_and(|t| t.elapsed() < DEPTH_EVERY) {
        return Ok(());
    }
    *at = Some(std::time::Instant::now());
    metrics.outbox_depth.set(queue.len()? as i64);
    metrics.outbox_oldest_age_seconds.set(
        queue
            .first_readable(1)?
            .first()
            .map(|(_, q)| (now - q.enqueued_at).num_milliseconds() as f64 / 1000.0)
            .unwrap_or(0.0),
    );
    Ok(())
}

/// One round: sends what the budget allows now. When nothing was ready, returns when the
/// first waiting message may go (the queue need not be read before then).
async fn pump(
    shared: Shared,
    cliq: CliqClient,
    config: Arc<Config>,
    stopping: Arc<std::sync::atomic::AtomicBool>,
    depth_at: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let store = &shared.store;
    let metrics = &shared.metrics;
    let limit = config.limits.cliq_posts_per_minute as usize;
    let queue = store.tree::<u64, Queued>(TreeName::Outbox);
    let marks = store.tree::<String, Mark>(TreeName::Delivered);
    for _ in 0..limit.max(1) {
        if stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(None);
        }
        let now = shared.clock.now();
        let mut budget = read_budget(store, now, limit)?;
        // Cliq counts a post when it arrives, deskcliq when it sends: a second of margin keeps
        // the two windows from ever seeing one post more than the budget.
        budget.sent.retain(|t| *t > now - WINDOW);
        metrics.cliq_posts_last_minute.set(budget.sent.len() as i64);
        report_depth(&queue, metrics, now, &depth_at)?;
        // Nothing can go out now (lockout, budget spent, or paced).
        let burst = (limit / 2).max(1);
        let too_soon = budget.sent.len() >= burst && now < next_paced(&budget.sent, limit);
        if budget.locked_until.is_some_and(|t| t > now) || budget.sent.len() >= limit || too_soon {
            return Ok(None);
        }
        let available = limit - budget.sent.len();
        // Past a burst of half the budget, posts are spread over the window (see `next_paced`):
        // what waits meanwhile is merged.
        let paced = budget.sent.len() >= burst;
        // The oldest ready message names the target; its companions are gathered up to a
        // card's rows. The queue is read only as far as that needs (a flood can hold tens of
        // thousands of messages): once more is ready than the budget allows, at most
        // `SCAN_MAX` messages are read.
        let mut target: Option<Target> = None;
        let mut group: Vec<(u64, Queued)> = Vec::new();
        let mut ready = 0;
        let mut first_waiting: Option<DateTime<Utc>> = None;
        // A message that cannot be read is set aside, not an error every round forever.
        for (read, item) in queue.iter_readable()?.enumerate() {
            let (seq, q) = item?;
            if ready > available && (group.len() >= SUMMARY_ROWS || read >= SCAN_MAX) {
                break;
            }
            if let Some(t) = q.not_before.filter(|t| *t > now) {
                first_waiting = Some(first_waiting.map_or(t, |f| f.min(t)));
                continue;
            }
            ready += 1;
            // A message that must go whole (a daily summary, a posted answer) is sent alone:
            // it leads a group of one and joins no other group.
            let alone =
                group.first().is_some_and(|(_, g)| g.whole) || (!group.is_empty() && q.whole);
            if group.len() < SUMMARY_ROWS
                && !alone
                && target.get_or_insert_with(|| q.target.clone()) == &q.target
            {
                group.push((seq, q));
            }
        }
        let Some(target) = target else {
            return Ok(first_waiting);
        };
        // More waiting than the budget allows: merge this target's messages into one.
        let coalesce = group.len() > 1 && (ready > available || paced);
        let fits = if coalesce {
            summary_capacity(group.iter().map(|(_, q)| q.line.as_str()), &config)
        } else {
            1
        };
        group.truncate(fits);
        // A copy left by a crash between queueing a message and marking its key (see
        // `Tree::insert_pair_if_absent`) is dropped once its key is sent, dead or taken.
        let mut keys = std::collections::HashSet::new();
        let mut batch: Vec<(u64, Queued)> = Vec::with_capacity(group.len());
        for (seq, q) in group {
            let settled = matches!(
                marks.get_readable(&q.key)?,
                Some(Mark::Sent(_) | Mark::Dead(_))
            );
            if settled || !keys.insert(q.key.clone()) {
                queue.remove(&seq)?;
                continue;
            }
            batch.push((seq, q));
        }
        if batch.is_empty() {
            continue;
        }
        let coalesce = coalesce && batch.len() > 1;
        let message = if coalesce {
            let lines: Vec<String> = batch.iter().map(|(_, q)| q.line.clone()).collect();
            summary(&lines, &config).to_json()
        } else {
            batch[0].1.message.clone()
        };
        // The post is counted before it is sent, and made durable: a crash cannot give back
        // budget that Cliq has already counted. Counted into the stored window with one more
        // look at it: a card edit (see `take_budget`) may have taken the last post or met a
        // lockout since the window was read above.
        if !count_post(store, limit, now)? {
            return Ok(None);
        }
        store.flush().await?;
        let result = match &target {
            Target::Channel(channel) => cliq.post_raw_to_channel(channel, &message).await,
            Target::Dm(users) => cliq.dm_raw(users, &message).await,
        };
        let now = shared.clock.now();
        match result {
            Ok(()) => {
                for (seq, q) in &batch {
                    marks.insert(&q.key, &Mark::Sent(now))?;
                    queue.remove(seq)?;
                }
                store.flush().await?;
                if coalesce {
                    metrics
                        .deliveries_total
                        .with_label_values(&["coalesced"])
                        .inc_by(batch.len() as u64);
                }
                metrics.deliveries_total.with_label_values(&["sent"]).inc();
                tracing::debug!(target = %target.label(), messages = batch.len(), "posted to Cliq");
            }
            Err(CliqError::Throttled { code, retry_after }) => {
                let until = lock_out(store, now, retry_after)?;
                store.flush().await?;
                metrics
                    .deliveries_total
                    .with_label_values(&["throttled"])
                    .inc();
                tracing::error!(%code, %until, "Cliq throttled deskcliq: sending nothing until then");
                return Ok(None);
            }
            // A refusal for good; 401/403 are the grant's trouble, not the message's: retried.
            Err(CliqError::Api {
                status,
                code,
                message,
            }) if (400..500).contains(&status) && status != 401 && status != 403 => {
                for (seq, q) in &batch {
                    store
                        .tree::<String, (Queued, String)>(TreeName::Dead)
                        .insert(
                            &q.key,
                            &(q.clone(), format!("HTTP {status} {code}: {message}")),
                        )?;
                    marks.insert(&q.key, &Mark::Dead(now))?;
                    queue.remove(seq)?;
                }
                store.flush().await?;
                metrics
                    .deliveries_total
                    .with_label_values(&["dead"])
                    .inc_by(batch.len() as u64);
                tracing::error!(target = %target.label(), status, %code, %message, "Cliq refused a message: dead-lettered");
            }
            Err(e) => {
                // 5xx, timeouts, token trouble: try again later, with backoff.
                for (seq, q) in &batch {
                    let mut q = q.clone();
                    q.attempts += 1;
                    q.not_before = Some(now + backoff(q.attempts));
                    queue.insert(seq, &q)?;
                }
                metrics
                    .deliveries_total
                    .with_label_values(&["retried"])
                    .inc();
                tracing::warn!(target = %target.label(), error = %e, "Cliq post failed; will retry");
                return Ok(None);
            }
        }
    }
    Ok(None)
}

/// Forgets delivered keys older than [`REMEMBER`] and seen webhook events likewise. A record
/// that cannot be read is set aside on the way (see [`crate::store::Tree::iter_readable`]):
/// it must not stop every later prune, or the trees would grow for good.
pub fn prune(store: &Store, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let marks = store.tree::<String, Mark>(TreeName::Delivered);
    let mut n = 0;
    for item in marks.iter_readable()? {
        let (k, m) = item?;
        if matches!(m, Mark::Sent(t) | Mark::Dead(t) if t < now - REMEMBER) {
            marks.remove(&k)?;
            n += 1;
        }
    }
    // Dead letters, a month after they were queued: Cliq refused them for good, the log
    // said why, and nothing reads them again.
    let dead = store.tree::<String, (Queued, String)>(TreeName::Dead);
    for item in dead.iter_readable()? {
        let (k, (q, _)) = item?;
        if q.enqueued_at < now - DEAD_KEPT {
            dead.remove(&k)?;
            n += 1;
        }
    }
    n += crate::stats::prune_log(store, now - REMEMBER)?;
    // Closed tickets untouched for a month, and their alert records.
    let month = chrono::Duration::days(30);
    let tickets = store.tree::<String, crate::notify::model::TicketSnapshot>(TreeName::Tickets);
    let armed = store.tree::<String, crate::deadlines::Armed>(TreeName::Armed);
    for item in tickets.iter_readable()? {
        let (id, t) = item?;
        if t.status_type == "Closed" && t.modified_time.is_none_or(|m| m < now - month) {
            tickets.remove(&id)?;
            if armed.get_readable(&id)?.is_some_and(|a| a.keys.is_empty()) {
                armed.remove(&id)?;
            }
            n += 1;
        }
    }
    // Closed activities untouched for a month.
    let activities =
        store.tree::<String, crate::notify::classify::ActivitySnapshot>(TreeName::Activities);
    for item in activities.iter_readable()? {
        let (id, a) = item?;
        if a.closed && a.modified.is_none_or(|m| m < now - month) {
            activities.remove(&id)?;
            n += 1;
        }
    }
    // Alert records with nothing left armed: of due dates long past, or of activities
    // forgotten above (an activity's record has no due date, only the reminders it sent).
    for item in armed.iter_readable()? {
        let (id, a) = item?;
        let spent = a.due.is_some_and(|d| d < now - chrono::Duration::days(1))
            || (a.due.is_none() && !activities.contains(&id)? && !tickets.contains(&id)?);
        if a.keys.is_empty() && spent {
            armed.remove(&id)?;
            n += 1;
        }
    }
    let seen = store.tree::<String, i64>(TreeName::Events);
    let cutoff = (now - REMEMBER).timestamp_millis();
    for item in seen.iter_readable()? {
        let (k, at) = item?;
        if at < cutoff {
            seen.remove(&k)?;
            n += 1;
        }
    }
    Ok(n)
}
