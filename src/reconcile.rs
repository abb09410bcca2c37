//! Reconciliation with the Desk API, at start and every `sla.reconcile_minutes`: tickets due
//! before the next run's alerts reach arm (or cancel) their SLA alerts even when no webhook
//! mentioned them, and changes missed while deskcliq was not listening are found by
//! `modifiedTime` and reported as one summary per target.
//!
//! The whole open list is walked by due date at the first run, after a pause and once a day;
//! between, a run searches only the due dates that came into reach since the last one
//! (`dueDateRange`), so a run costs two searches (6 credits) however many tickets are overdue.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::actors::Track;
use crate::deadlines::{Timer, TimerKind};
use crate::desk::{SearchSort, Ticket, TicketQuery, TicketSearch, TicketSort};
use crate::notify::classify::classify;
use crate::notify::event::InboxEvent;
use crate::notify::model::{Change, ChangeKind, Target, TicketSnapshot};
use crate::notify::route::targets;
use crate::pipeline::{Router, queue};
use crate::store::{Store, StoreError, TreeName};

/// Statuses walked for due dates. Desk's list filter takes status names; custom open statuses
/// other than these are reached by webhooks only.
const OPEN_STATUSES: [&str; 3] = ["Open", "On Hold", "Escalated"];
const PAGE: u32 = 100;
/// Pages walked per run at most (5,000 tickets by due date, 1,000 changes).
const MAX_LIST_PAGES: u32 = 50;
const MAX_SEARCH_PAGES: u32 = 10;
/// Where the newest `modifiedTime` deskcliq has seen is kept.
pub const NEWEST_KEY: &str = "newest_modified";
/// How long a webhook may take to arrive: more recent changes are not searched yet.
const WEBHOOK_LAG: chrono::Duration = chrono::Duration::minutes(2);
/// Up to when reconciliation last searched.
const RECONCILED_KEY: &str = "reconciled_until";
/// When the whole open list was last walked by due date.
const FULL_WALK_KEY: &str = "due_walked_full";
/// Up to which due date the last run looked.
const DUE_COVERED_KEY: &str = "due_covered_until";
/// The whole open list is walked at least this often (and whenever a run's window would not
/// meet the last one's, after a pause); between, a run searches only the due dates that came
/// into reach since the last.
const FULL_WALK_EVERY: chrono::Duration = chrono::Duration::hours(24);
/// Tickets read one by one per run at most (1 credit each), to tell whether they still exist.
const MAX_LOOKUPS: usize = 100;

/// How a run finds the tickets whose alerts it must arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DuePass {
    /// Open tickets listed from the oldest due date to the horizon.
    Full,
    /// A `dueDateRange` search from this instant to the horizon.
    Window(DateTime<Utc>),
}

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub walked: usize,
    pub changed: usize,
    pub missed: usize,
    pub calls: u32,
}

/// The Desk credits a day reconciliation costs at least: per run one list page and one search
/// page, 3 credits each.
pub fn credits_per_day(reconcile_minutes: u32) -> u64 {
    let runs = (24 * 60) / u64::from(reconcile_minutes.max(1));
    runs * 2 * 3
}

/// Whether Desk's item is older than what deskcliq already holds: a webhook taken in while
/// the pages were read. Such an item would roll the ticket back (re-arming alerts of a ticket
/// just closed, or of its old due date).
fn older_than(stored: Option<&TicketSnapshot>, t: &Ticket) -> bool {
    matches!(
        (stored.and_then(|s| s.modified_time), t.modified_time),
        (Some(known), Some(read)) if known > read
    )
}

/// The tickets with an SLA alert armed before `horizon` for a due date in `from..=horizon`
/// (from the oldest when `from` is None) that Desk's answer (`returned`) did not name: deleted
/// (or changed) in Desk while no webhook told. Few: only alerts within reach are looked at.
fn out_of_sight(
    store: &Store,
    returned: &HashSet<String>,
    from: Option<DateTime<Utc>>,
    horizon: DateTime<Utc>,
) -> Result<BTreeSet<String>, StoreError> {
    let timers = store.tree::<String, Timer>(TreeName::Deadlines);
    let mut out = BTreeSet::new();
    for record in timers.iter()? {
        let timer = match record {
            Ok((_, timer)) => timer,
            // The watcher sets such a timer aside when it reaches it.
            Err(StoreError::Corrupt { .. }) => continue,
            Err(e) => return Err(e),
        };
        if timer.fire_at > horizon {
            break;
        }
        if let TimerKind::Sla { due, .. } = timer.kind
            && due <= horizon
            && from.is_none_or(|f| due >= f)
            && !returned.contains(&timer.id)
        {
            out.insert(timer.id);
        }
    }
    Ok(out)
}

/// Copies the fields a list or search item carries into a snapshot.
pub(crate) fn apply(s: &mut TicketSnapshot, t: &Ticket) {
    s.id = t.id.clone();
    if !t.ticket_number.is_empty() {
        s.number = t.ticket_number.clone();
    }
    if let Some(v) = &t.subject {
        s.subject = v.clone();
    }
    if let Some(v) = &t.status {
        s.status = v.clone();
    }
    match t.status_kind() {
        Some(crate::desk::StatusType::Closed) => s.status_type = "Closed".into(),
        Some(crate::desk::StatusType::OnHold) => s.status_type = "On Hold".into(),
        Some(_) => s.status_type = "Open".into(),
        // Desk did not say (a null `statusType` and a custom status): what is known stays;
        // a ticket never seen is taken as open.
        None if s.status_type.is_empty() => s.status_type = "Open".into(),
        None => {}
    }
    s.department_id = t.department_id.clone().or(s.department_id.take());
    s.assignee_id = t.assignee_id.clone();
    s.team_id = t.team_id.clone();
    s.due_date = t.due_date;
    if t.priority.is_some() {
        s.priority = t.priority.clone();
    }
    // Only ever raised: an item that does not carry `isEscalated` reads as false, and must not
    // clear a flag a webhook set (a later escalation would then be announced twice).
    if t.is_escalated {
        s.is_escalated = true;
    }
    if t.web_url.is_some() {
        s.web_url = t.web_url.clone();
    }
    if t.modified_time.is_some() {
        s.modified_time = t.modified_time;
    }
    if t.modified_by.is_some() {
        s.modified_by = t.modified_by.clone();
    }
}

fn ticket_json(s: &TicketSnapshot) -> serde_json::Value {
    serde_json::json!({
        "id": s.id, "ticketNumber": s.number, "subject": s.subject, "status": s.status,
        "statusType": s.status_type, "departmentId": s.department_id, "assigneeId": s.assignee_id,
        "teamId": s.team_id, "priority": s.priority,
        "dueDate": s.due_date.map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
        "webUrl": s.web_url, "isEscalated": s.is_escalated,
        "modifiedTime": s.modified_time.map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
        "modifiedBy": s.modified_by,
    })
}

/// Every page of a ticket search (sorted by `modifiedTime`), at most [`MAX_SEARCH_PAGES`]
/// of them (Desk's `from` stops at 999); each call is counted in `calls`.
async fn search_all(
    desk: &crate::desk::DeskClient,
    base: TicketSearch,
    calls: &mut u32,
) -> Result<Vec<Ticket>, String> {
    let mut all = Vec::new();
    for page in 0..MAX_SEARCH_PAGES {
        let q = TicketSearch {
            sort_by: Some(SearchSort::ModifiedTime),
            from: page * PAGE,
            limit: PAGE,
            ..base.clone()
        };
        *calls += 1;
        let found = desk.search_tickets(&q).await.map_err(|e| e.to_string())?;
        let n = found.tickets.len();
        all.extend(found.tickets);
        if n < PAGE as usize {
            break;
        }
    }
    Ok(all)
}

/// One reconciliation run.
pub async fn reconcile_once(router: &Router) -> Result<Report, String> {
    let Some(z) = &router.shared.zoho else {
        return Ok(Report::default());
    };
    let config = router.config.borrow().clone();
    let store = &router.shared.store;
    let tickets = store.tree::<String, TicketSnapshot>(TreeName::Tickets);
    let meta = store.tree::<String, DateTime<Utc>>(TreeName::Meta);
    let deadline = router.routes.borrow().deadline.clone();
    let now = router.shared.clock.now();
    let mut report = Report::default();
    let max_offset = config
        .sla
        .alert_before_minutes
        .iter()
        .copied()
        .max()
        .unwrap_or(0);
    let horizon = now
        + chrono::Duration::minutes(
            i64::from(max_offset) + i64::from(config.sla.reconcile_minutes),
        );

    // 1. Tickets due before the next run's alerts reach: the whole open list by due date now and
    //    then, else only the window since the last run, by a `dueDateRange` search.
    let walked_full = meta
        .get(&FULL_WALK_KEY.to_string())
        .map_err(|e| e.to_string())?;
    let covered = meta
        .get(&DUE_COVERED_KEY.to_string())
        .map_err(|e| e.to_string())?;
    let window_from = now - chrono::Duration::minutes(i64::from(config.sla.reconcile_minutes) + 5);
    let due = match (walked_full, covered) {
        (Some(full), Some(covered)) if now - full < FULL_WALK_EVERY && covered >= window_from => {
            DuePass::Window(window_from)
        }
        _ => DuePass::Full,
    };
    // Where the search for missed changes (step 2) looks: from the last run (a few minutes'
    // overlap), not from the newest webhook, since a webhook missed while deskcliq was up is
    // followed by later ones that would hide it; the diff against the snapshots makes the
    // overlap harmless. None on a fresh store: nothing to compare with.
    let newest_seen = meta
        .get(&NEWEST_KEY.to_string())
        .map_err(|e| e.to_string())?;
    let last_reconciled = meta
        .get(&RECONCILED_KEY.to_string())
        .map_err(|e| e.to_string())?;
    let missed_since = newest_seen.map(|since| match last_reconciled {
        Some(last) => (last - chrono::Duration::minutes(5)).min(since),
        None => since,
    });
    // Changes of the last two minutes may still be on their way as webhooks: left to them (and
    // to the next run), so nothing is reported twice.
    let until = now - WEBHOOK_LAG;
    let mut seen = Vec::new();
    // Every ticket Desk named, and whether the pass reached the horizon (not stopped by the
    // page limit): only then does a ticket it did not name say anything.
    let mut returned = HashSet::new();
    let mut complete = false;
    match due {
        DuePass::Full => {
            'walk: for page in 0..MAX_LIST_PAGES {
                let q = TicketQuery {
                    from: page * PAGE,
                    limit: PAGE,
                    status: OPEN_STATUSES.iter().map(|s| s.to_string()).collect(),
                    sort_by: Some(TicketSort::DueDate),
                    ..Default::default()
                };
                report.calls += 1;
                let items = z.desk.list_tickets(&q).await.map_err(|e| e.to_string())?;
                let n = items.len();
                for t in items {
                    returned.insert(t.id.clone());
                    // No due date: nothing to arm (wherever Desk sorts such tickets).
                    let Some(at) = t.due_date else { continue };
                    if at > horizon {
                        complete = true;
                        break 'walk;
                    }
                    seen.push(t);
                }
                if n < PAGE as usize {
                    complete = true;
                    break;
                }
            }
        }
        DuePass::Window(from) => {
            let base = TicketSearch {
                due: Some((from, horizon)),
                ..Default::default()
            };
            let found = search_all(&z.desk, base, &mut report.calls).await?;
            complete = found.len() < (MAX_SEARCH_PAGES * PAGE) as usize;
            returned.extend(found.iter().map(|t| t.id.clone()));
            seen.extend(
                found
                    .into_iter()
                    .filter(|t| t.due_date.is_some_and(|d| d >= from && d <= horizon)),
            );
        }
    }
    // A ticket with an alert in reach that Desk did not name: deleted while no webhook told
    // (deskcliq down), or changed. Read once (1 credit): gone, it is forgotten and its alerts
    // cancelled; there, it is taken like a listed one.
    if complete {
        let from = match due {
            DuePass::Full => None,
            DuePass::Window(from) => Some(from),
        };
        let missing = out_of_sight(store, &returned, from, horizon).map_err(|e| e.to_string())?;
        for id in missing.into_iter().take(MAX_LOOKUPS) {
            report.calls += 1;
            match z.desk.get_ticket(&id, &[]).await {
                Ok(t) => seen.push(t),
                Err(e)
                    if matches!(e, crate::desk::DeskError::Api { status: 404, .. })
                        || e.code() == Some("URL_NOT_FOUND") =>
                {
                    tracing::info!(ticket = %id, "ticket gone from Desk: its SLA alerts are cancelled");
                    let gone = tickets.get_readable(&id).map_err(|e| e.to_string())?;
                    // Without its snapshot a timer left behind is stale, and sends nothing.
                    match tickets.remove(&id) {
                        // Removed even when it could not be read.
                        Ok(_) | Err(StoreError::Corrupt { .. }) => {}
                        Err(e) => return Err(e.to_string()),
                    }
                    let mut t = gone.unwrap_or_else(|| TicketSnapshot {
                        id: id.clone(),
                        ..Default::default()
                    });
                    t.status_type = "Closed".into();
                    if let Err(e) = deadline
                        .send(Track(t))
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|r| r)
                    {
                        tracing::warn!(ticket = %id, error = %e, "cannot cancel the alerts of a deleted ticket");
                    }
                    report.changed += 1;
                }
                Err(e) => {
                    tracing::warn!(ticket = %id, error = %e, "cannot tell whether a ticket still exists: retried at the next run");
                }
            }
        }
    }
    for t in seen {
        // A snapshot that cannot be read counts as unknown and is written anew, as the router
        // does: it must not fail every run (and every ticket's alerts with it).
        let stored = tickets.get_readable(&t.id).map_err(|e| e.to_string())?;
        // A closed ticket deskcliq never knew has nothing to arm or cancel.
        if (stored.is_none() && t.status_kind() == Some(crate::desk::StatusType::Closed))
            || older_than(stored.as_ref(), &t)
        {
            continue;
        }
        report.walked += 1;
        let mut snap = stored.clone().unwrap_or_default();
        apply(&mut snap, &t);
        if stored.as_ref() != Some(&snap) {
            // Armed first: a ticket whose alerts could not be armed is not stored as known, so
            // the next run tries again.
            if let Err(e) = deadline
                .send(Track(snap.clone()))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r)
            {
                tracing::warn!(ticket = %snap.id, error = %e, "cannot arm a ticket's alerts: retried at the next run");
                continue;
            }
            // A change step 2 will search for is stored (and reported) there: stored now, it
            // would look known already and never reach the "not listening" summary.
            let reported_below = missed_since
                .is_some_and(|since| t.modified_time.is_some_and(|m| m > since && m <= until));
            if !reported_below {
                tickets.insert(&snap.id, &snap).map_err(|e| e.to_string())?;
            }
            report.changed += 1;
        }
    }
    if due == DuePass::Full {
        meta.insert(&FULL_WALK_KEY.to_string(), &now)
            .map_err(|e| e.to_string())?;
    }
    meta.insert(&DUE_COVERED_KEY.to_string(), &horizon)
        .map_err(|e| e.to_string())?;

    // 2. Changes since the newest one seen: what the webhooks did not bring.
    let Some(since) = missed_since else {
        // A fresh store: nothing to compare with; start listening from now.
        meta.insert(&NEWEST_KEY.to_string(), &now)
            .map_err(|e| e.to_string())?;
        return Ok(report);
    };
    if until <= since {
        return Ok(report);
    }
    let agents = router.directory.get();
    let mut lines: BTreeMap<Target, Vec<String>> = BTreeMap::new();
    let mut newest = since;
    let base = TicketSearch {
        modified: Some((since + chrono::Duration::milliseconds(1), until)),
        ..Default::default()
    };
    for t in search_all(&z.desk, base, &mut report.calls).await? {
        let stored = tickets.get_readable(&t.id).map_err(|e| e.to_string())?;
        if older_than(stored.as_ref(), &t) {
            continue;
        }
        let mut snap = stored.clone().unwrap_or_else(|| TicketSnapshot {
            status_type: "Open".into(),
            ..Default::default()
        });
        apply(&mut snap, &t);
        if let Some(m) = snap.modified_time {
            newest = newest.max(m);
        }
        if stored.as_ref() == Some(&snap) {
            continue;
        }
        // A ticket deskcliq never saw that Desk created before this window (older than the
        // install) is not new: its earlier state is unknown, except that a ticket closed inside
        // the window (its `closedTime` says so) was open before.
        let created_before = stored.is_none() && t.created_time.is_some_and(|c| c <= since);
        let closed_in_window = t.status_kind() == Some(crate::desk::StatusType::Closed)
            && t.closed_time.is_some_and(|c| c > since);
        let event = InboxEvent {
            event_type: if stored.is_some() || created_before {
                "Ticket_Update".into()
            } else {
                "Ticket_Add".into()
            },
            event_time: snap.modified_time,
            payload: ticket_json(&snap),
            prev_state: (created_before && closed_in_window)
                .then(|| serde_json::json!({"statusType": "Open"})),
            identity: format!(
                "reconcile:{}:{}",
                snap.id,
                snap.modified_time
                    .map(|m| m.timestamp_millis())
                    .unwrap_or(0)
            ),
        };
        let c = classify(&event, stored.as_ref(), |_| None, None);
        for change in &c.changes {
            let card = crate::notify::card::render(change, &config, &agents);
            for target in targets(change, &config, &agents) {
                lines.entry(target).or_default().push(card.line.clone());
                report.missed += 1;
            }
        }
        tickets.insert(&snap.id, &snap).map_err(|e| e.to_string())?;
        let id = snap.id.clone();
        if let Err(e) = deadline
            .send(Track(snap))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r)
        {
            tracing::warn!(ticket = %id, error = %e, "cannot arm the alerts of a ticket found by reconciliation");
        }
    }
    if report.missed > 0 || report.changed > 0 {
        // The log missed what the webhooks did not bring: figures before now come from Desk.
        crate::stats::covered_from(store, now, true).map_err(|e| e.to_string())?;
    }
    for (target, mut lines) in lines {
        // One card per as many lines as Cliq's characters of slides hold.
        let mut part = 0;
        while !lines.is_empty() {
            let fits =
                crate::notify::card::summary_capacity(lines.iter().map(String::as_str), &config);
            let rest = lines.split_off(fits.min(lines.len()));
            let change = Change {
                kind: ChangeKind::Missed { lines },
                ticket: TicketSnapshot::default(),
                actor: None,
                owner: None,
                department_id: None,
                event: if part == 0 {
                    format!("missed:{}", now.timestamp_millis())
                } else {
                    format!("missed:{}:{part}", now.timestamp_millis())
                },
            };
            queue(&router.shared, &change, target.clone(), &config, &agents)?;
            lines = rest;
            part += 1;
        }
    }
    meta.insert(&RECONCILED_KEY.to_string(), &until)
        .map_err(|e| e.to_string())?;
    meta.insert(&NEWEST_KEY.to_string(), &newest)
        .map_err(|e| e.to_string())?;
    router.shared.metrics.reconcile_credits_per_day.set(
        (u64::from(report.calls.max(2))
            * 3
            * ((24 * 60) / u64::from(config.sla.reconcile_minutes.max(1)))) as i64,
    );
    router.wake_outbox();
    Ok(report)
}

/// Runs reconciliation at start and every `sla.reconcile_minutes`; each run also looks the
/// webhook's id up again (the JWT audience), unless the config names it.
pub async fn run(
    router: Arc<Router>,
    webhook_id: Arc<std::sync::RwLock<Option<String>>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut reloads = router.config.clone();
    loop {
        let started = router.shared.clock.now();
        let config = router.config.borrow().clone();
        crate::pipeline::learn_webhook_id(&router.shared, &config, &webhook_id).await;
        match reconcile_once(&router).await {
            Ok(r) => tracing::info!(
                walked = r.walked,
                changed = r.changed,
                missed = r.missed,
                calls = r.calls,
                "reconciled with Desk"
            ),
            Err(e) => tracing::warn!(error = %e, "reconciliation failed"),
        }
        // The next run: `sla.reconcile_minutes` after this one, unless a reload changes it.
        let clock = &router.shared.clock;
        if !crate::clock::wait_interval(
            clock,
            started,
            &mut reloads,
            |c| c.sla.reconcile_minutes,
            &mut stop,
        )
        .await
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests;
