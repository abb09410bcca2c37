//! The outbox's send budget: the persisted sliding window of posts and Cliq's lockout, shared
//! by the queue's pump and the requests made outside it (a card rewritten after a quick action).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError, TreeName};

/// How long Cliq locks out a sender past its limit.
pub const LOCKOUT: chrono::Duration = chrono::Duration::minutes(10);
/// The sliding window of posts and the lockout, persisted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub sent: Vec<DateTime<Utc>>,
    pub locked_until: Option<DateTime<Utc>>,
}

const BUDGET_KEY: &str = "cliq";

/// The window the budget is counted over: Cliq's minute and a second of margin.
pub(super) const WINDOW: chrono::Duration = chrono::Duration::seconds(61);

/// The longest `Retry-After` the lockout follows: past it, a garbled value cannot silence
/// deskcliq for days.
const LOCKOUT_MAX: chrono::Duration = chrono::Duration::hours(1);

/// How long to send nothing after a throttle answer: Cliq's 10-minute lock, or longer when the
/// answer's `Retry-After` asks for longer (up to [`LOCKOUT_MAX`]); never shorter.
fn lockout(retry_after: Option<Duration>) -> chrono::Duration {
    retry_after
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map_or(LOCKOUT, |d| d.clamp(LOCKOUT, LOCKOUT_MAX))
}

/// Sends nothing until [`lockout`] has passed, and returns when that is.
pub(super) fn lock_out(
    store: &Store,
    now: DateTime<Utc>,
    retry_after: Option<Duration>,
) -> Result<DateTime<Utc>, StoreError> {
    let until = now + lockout(retry_after);
    let b =
        store
            .tree::<String, Budget>(TreeName::Budget)
            .update(&BUDGET_KEY.to_string(), |old| {
                let mut b = old.unwrap_or_default();
                b.locked_until = Some(b.locked_until.map_or(until, |t| t.max(until)));
                b
            })?;
    Ok(b.locked_until.unwrap_or(until))
}

/// The stored send budget. One that cannot be read is set aside: what went out lately is
/// unknown, so the window counts as spent now (written, so the next reader sees it): a minute
/// of silence, never a lockout.
pub(super) fn read_budget(
    store: &Store,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Budget, StoreError> {
    let budgets = store.tree::<String, Budget>(TreeName::Budget);
    match budgets.get(&BUDGET_KEY.to_string()) {
        Ok(budget) => Ok(budget.unwrap_or_default()),
        Err(e @ StoreError::Corrupt { .. }) => {
            budgets.set_aside(&e);
            let spent = Budget {
                sent: vec![now; limit],
                locked_until: None,
            };
            budgets.insert(&BUDGET_KEY.to_string(), &spent)?;
            Ok(spent)
        }
        Err(e) => Err(e),
    }
}

/// Takes one post of the send budget for a request made outside the queue (a card rewritten
/// after a quick action), so that Cliq sees no more than the budget from deskcliq in any
/// window: refused during a lockout or with the window's budget spent. Made durable as the
/// queue's posts are. Returns whether the request may go.
pub async fn take_budget(
    store: &Store,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    // An unreadable record is replaced first as the pump replaces it (a window spent now):
    // `Tree::update` would take it as absent, an empty window without a lockout.
    read_budget(store, now, limit as usize)?;
    let taken = count_post(store, limit as usize, now)?;
    if taken {
        store.flush().await?;
    }
    Ok(taken)
}

/// Counts one post at `now` in the stored window, in one atomic step with the check that
/// there is room for it (no lockout, fewer than `limit` posts in the window); whether it was
/// counted. Not made durable here.
pub(super) fn count_post(
    store: &Store,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let taken = std::cell::Cell::new(false);
    store
        .tree::<String, Budget>(TreeName::Budget)
        .update(&BUDGET_KEY.to_string(), |old| {
            let mut b = old.unwrap_or_default();
            b.sent.retain(|t| *t > now - WINDOW);
            let free = b.locked_until.is_none_or(|t| t <= now) && b.sent.len() < limit;
            taken.set(free);
            if free {
                b.sent.push(now);
            }
            b
        })?;
    Ok(taken.get())
}

/// Cliq throttled a request made outside the queue: the queue is locked out as for its own.
pub async fn throttled_elsewhere(
    store: &Store,
    now: DateTime<Utc>,
    retry_after: Option<Duration>,
) -> Result<DateTime<Utc>, StoreError> {
    let until = lock_out(store, now, retry_after)?;
    store.flush().await?;
    Ok(until)
}
