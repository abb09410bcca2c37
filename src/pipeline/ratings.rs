//! Customer-happiness ratings: Desk sends no webhook for them, so they are polled every
//! `desk.rating_poll_minutes`, and each new one becomes a DM to the ticket's agent.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::Router;
use crate::actors::Wake;
use crate::notify::model::{Change, ChangeKind, RatingKind, TicketSnapshot};
use crate::store::TreeName;

/// Polls customer-happiness ratings every `desk.rating_poll_minutes`; each new rating becomes a
/// DM to the ticket's agent.
pub async fn poll_ratings(router: Arc<Router>, mut stop: watch::Receiver<bool>) {
    let meta = router
        .shared
        .store
        .tree::<String, DateTime<Utc>>(TreeName::Meta);
    let key = "ratings_since".to_string();
    // A fresh store starts from now: old ratings are history, not news.
    if meta.get(&key).ok().flatten().is_none() {
        let _ = meta.insert(&key, &router.shared.clock.now());
    }
    // A reload changing `desk.rating_poll_minutes` re-plans the next poll from the last one.
    let mut reloads = router.config.clone();
    let mut started = router.shared.clock.now();
    loop {
        let clock = &router.shared.clock;
        if !crate::clock::wait_interval(
            clock,
            started,
            &mut reloads,
            |c| c.desk.rating_poll_minutes,
            &mut stop,
        )
        .await
        {
            return;
        }
        started = router.shared.clock.now();
        if let Err(e) = poll_once(&router).await {
            tracing::warn!(error = %e, "rating poll failed");
        }
    }
}

/// One poll: every rating newer than the last one seen.
pub async fn poll_once(router: &Router) -> Result<usize, String> {
    let Some(z) = &router.shared.zoho else {
        return Ok(0);
    };
    let meta = router
        .shared
        .store
        .tree::<String, DateTime<Utc>>(TreeName::Meta);
    let key = "ratings_since".to_string();
    let since = meta.get(&key).map_err(|e| e.to_string())?;
    let now = router.shared.clock.now();
    let mut ratings = Vec::new();
    for page in 0..20u32 {
        let q = crate::desk::HappinessQuery {
            since,
            until: Some(now),
            from: page * 100,
            limit: 100,
            ..Default::default()
        };
        let batch = z
            .desk
            .customer_happiness(&q)
            .await
            .map_err(|e| e.to_string())?;
        let n = batch.len();
        // Desk's reference documents no time filter for this list (desk-api.md [?]): a Desk
        // that ignores `startTime` answers with older ratings too, which are history, not news.
        // Compared to the whole second: Desk writes times to the millisecond or the second,
        // the last poll's time has nanoseconds, and a rating at that very instant is new (one
        // seen already is skipped by its identity below).
        ratings.extend(batch.into_iter().filter(|r| {
            r.rated_time
                .is_none_or(|t| since.is_none_or(|s| t.timestamp() >= s.timestamp()))
        }));
        if n < 100 {
            break;
        }
    }
    let seen = router.shared.store.tree::<String, i64>(TreeName::Events);
    let tickets = router
        .shared
        .store
        .tree::<String, TicketSnapshot>(TreeName::Tickets);
    let mut n = 0;
    for r in ratings {
        let rating = match r.rating {
            crate::desk::RatingValue::Good => RatingKind::Good,
            crate::desk::RatingValue::Okay => RatingKind::Okay,
            crate::desk::RatingValue::Bad => RatingKind::Bad,
            crate::desk::RatingValue::Other(_) => continue,
        };
        let identity = format!("rating:{}", r.id);
        if seen.contains(&identity).map_err(|e| e.to_string())? {
            continue;
        }
        let ticket = r
            .ticket_id
            .as_ref()
            .and_then(|id| tickets.get(id).ok().flatten())
            .unwrap_or_else(|| TicketSnapshot {
                id: r.ticket_id.clone().unwrap_or_default(),
                number: r.ticket_number.clone().unwrap_or_default(),
                status_type: "Closed".into(),
                department_id: r.department_id.clone(),
                ..Default::default()
            });
        let change = Change {
            kind: ChangeKind::Rated {
                rating,
                feedback: r.feedback.clone(),
            },
            department_id: ticket.department_id.clone().or(r.department_id.clone()),
            owner: r.agent_id.clone().or(ticket.assignee_id.clone()),
            actor: None,
            ticket,
            event: identity.clone(),
        };
        // Queued first, then marked seen: a failure leaves it for the next poll.
        router.deliver(&change).await?;
        seen.insert(&identity, &now.timestamp_millis())
            .map_err(|e| e.to_string())?;
        n += 1;
    }
    meta.insert(&key, &now).map_err(|e| e.to_string())?;
    router.routes.borrow().outbox.do_send(Wake);
    Ok(n)
}
