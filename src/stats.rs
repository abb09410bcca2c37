//! Statistics for a window and a scope (the org, or one department): what the daily summary
//! and `/deskstatus` / `/pendingtickets` show. The cheapest exact source first: the store's log
//! of creates and closes where it covers the window, else the Desk API. A figure whose source
//! failed is "unavailable"; none is ever guessed.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::actors::Shared;
use crate::desk::{
    AssigneeFilter, CountQuery, HappinessQuery, RatingValue, TicketQuery, TicketSearch,
};
use crate::notify::route::Agents;
use crate::store::{Store, StoreError, TreeName};

/// A figure, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Figure<T> {
    Known(T),
    Unavailable,
}

impl<T> Figure<T> {
    fn from<E: std::fmt::Display>(r: Result<T, E>, what: &str) -> Figure<T> {
        match r {
            Ok(v) => Figure::Known(v),
            Err(e) => {
                tracing::warn!(figure = what, error = %e, "statistic unavailable");
                Figure::Unavailable
            }
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ratings {
    pub good: u64,
    pub okay: u64,
    pub bad: u64,
}

impl Ratings {
    /// The share of good ratings, in percent (none rated: none).
    pub fn good_share(&self) -> Option<u64> {
        let all = self.good + self.okay + self.bad;
        (all > 0).then(|| (self.good * 100 + all / 2) / all)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub created: Figure<u64>,
    pub closed: Figure<u64>,
    pub ratings: Figure<Ratings>,
    /// Agents by tickets closed (the assignee at closing): name and count, ties by name.
    pub top: Figure<TopAgents>,
    pub open: Figure<u64>,
    pub on_hold: Figure<u64>,
    pub overdue: Figure<u64>,
    pub unassigned: Figure<u64>,
}

impl Stats {
    /// Whether any figure `want` asked for is known (none: Desk did not answer at all).
    pub fn any_known(&self, want: Want) -> bool {
        let known = |f: &Figure<u64>| matches!(f, Figure::Known(_));
        (want.activity
            && (known(&self.created)
                || known(&self.closed)
                || matches!(self.top, Figure::Known(_))))
            || (want.ratings && matches!(self.ratings, Figure::Known(_)))
            || (want.pending
                && [&self.open, &self.on_hold, &self.overdue, &self.unassigned]
                    .into_iter()
                    .any(known))
    }
}

/// Agents and their closes, most first.
pub type TopAgents = Vec<(String, u64)>;

/// One create or close, as the router saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub closed: bool,
    pub ticket_id: String,
    pub department_id: Option<String>,
    /// For a close: the assignee at closing.
    pub assignee_id: Option<String>,
    pub at: DateTime<Utc>,
}

/// Since when the log has every create and close, with no gap reconciliation found.
const COVERED_SINCE: &str = "log_covered_since";

fn time_key(t: DateTime<Utc>) -> String {
    format!("{:016x}", t.timestamp_millis().max(0))
}

/// Forgets log entries before `before` (the summaries need a day of them).
pub fn prune_log(store: &Store, before: DateTime<Utc>) -> Result<usize, StoreError> {
    store
        .tree::<String, LogEntry>(TreeName::Log)
        .remove_before(&time_key(before))
}

fn log_key(e: &LogEntry) -> String {
    format!(
        "{:016x}|{}|{}",
        e.at.timestamp_millis().max(0),
        e.ticket_id,
        if e.closed { "closed" } else { "created" }
    )
}

/// Records a create or close.
pub fn record(store: &Store, entry: &LogEntry) -> Result<(), StoreError> {
    store
        .tree::<String, LogEntry>(TreeName::Log)
        .insert(&log_key(entry), entry)
}

/// The log is complete from `since` on (first start; after a gap, from when it was found).
pub fn covered_from(store: &Store, since: DateTime<Utc>, reset: bool) -> Result<(), StoreError> {
    let meta = store.tree::<String, DateTime<Utc>>(TreeName::Meta);
    // Unreadable counts as absent: the log covers from now on (earlier figures from Desk).
    if reset || meta.get_readable(&COVERED_SINCE.to_string())?.is_none() {
        meta.insert(&COVERED_SINCE.to_string(), &since)?;
    }
    Ok(())
}

fn covers(store: &Store, from: DateTime<Utc>) -> bool {
    store
        .tree::<String, DateTime<Utc>>(TreeName::Meta)
        .get(&COVERED_SINCE.to_string())
        .ok()
        .flatten()
        .is_some_and(|since| since <= from)
}

/// An agent as the summary names them: their name, else their email, else their id (an
/// agent no longer listed).
fn display_name(agents: &Agents, id: &str) -> String {
    agents
        .name(id)
        .or_else(|| {
            agents
                .all()
                .find(|a| a.id == id)
                .and_then(|a| a.email.as_deref())
                .filter(|e| !e.trim().is_empty())
        })
        .unwrap_or(id)
        .to_string()
}

fn top3(closes: BTreeMap<String, u64>, agents: &Agents) -> TopAgents {
    let mut v: Vec<(String, u64)> = closes
        .into_iter()
        .map(|(id, n)| (display_name(agents, &id), n))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(3);
    v
}

/// Created, closed and top 3 from the log.
fn from_log(
    store: &Store,
    department: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    agents: &Agents,
) -> Result<(u64, u64, TopAgents), StoreError> {
    // Tickets, not events: a ticket closed, reopened and closed again counts once, for the
    // assignee of its last close in the window (as Desk's own count would).
    let mut created = std::collections::BTreeSet::new();
    let mut last_close: BTreeMap<String, LogEntry> = BTreeMap::new();
    for (_, e) in store.tree::<String, LogEntry>(TreeName::Log).all()? {
        if e.at < from
            || e.at >= to
            || department.is_some_and(|d| e.department_id.as_deref() != Some(d))
        {
            continue;
        }
        if !e.closed {
            created.insert(e.ticket_id);
        } else if last_close.get(&e.ticket_id).is_none_or(|l| l.at <= e.at) {
            last_close.insert(e.ticket_id.clone(), e);
        }
    }
    let mut closes: BTreeMap<String, u64> = BTreeMap::new();
    for e in last_close.values() {
        if let Some(a) = &e.assignee_id {
            *closes.entry(a.clone()).or_default() += 1;
        }
    }
    Ok((
        created.len() as u64,
        last_close.len() as u64,
        top3(closes, agents),
    ))
}

fn too_many(what: &str) -> crate::desk::DeskError {
    crate::desk::DeskError::Decode {
        what: what.to_string(),
        reason: "more results than deskcliq pages through".into(),
    }
}

/// Which figures to compute (the others are left unavailable, and cost nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Want {
    /// Created, closed and the top agents of the window.
    pub activity: bool,
    pub ratings: bool,
    /// Open, on hold, overdue and unassigned now.
    pub pending: bool,
}

impl Want {
    pub const ALL: Want = Want {
        activity: true,
        ratings: true,
        pending: true,
    };
}

/// Computes every figure for `department` (`None`: the org) over `[from, to)`.
pub async fn compute(
    shared: &Shared,
    agents: &Agents,
    department: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Stats {
    compute_some(shared, agents, department, from, to, Want::ALL).await
}

/// Computes the figures `want` asks for.
/// Whether a rating counts for a window and department. Desk may ignore the time and
/// department filters of its ratings list (desk-api.md is unsure of them): what a rating says
/// of itself decides; what it does not say, the filters did.
fn counts(
    r: &crate::desk::Rating,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    dep: Option<&str>,
) -> bool {
    r.rated_time.is_none_or(|t| t >= from && t < to)
        && match (dep, r.department_id.as_deref()) {
            (Some(want), Some(its)) => want == its,
            _ => true,
        }
}

pub async fn compute_some(
    shared: &Shared,
    agents: &Agents,
    department: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    want: Want,
) -> Stats {
    let unavailable = || Stats {
        from,
        to,
        created: Figure::Unavailable,
        closed: Figure::Unavailable,
        ratings: Figure::Unavailable,
        top: Figure::Unavailable,
        open: Figure::Unavailable,
        on_hold: Figure::Unavailable,
        overdue: Figure::Unavailable,
        unassigned: Figure::Unavailable,
    };
    let Some(z) = &shared.zoho else {
        return unavailable();
    };
    let desk = &z.desk;
    let dep = department.map(str::to_string);
    let (created, closed, top) = if !want.activity {
        (
            Figure::Unavailable,
            Figure::Unavailable,
            Figure::Unavailable,
        )
    } else {
        match covers(&shared.store, from)
            .then(|| from_log(&shared.store, department, from, to, agents))
        {
            Some(Ok((c, d, t))) => (Figure::Known(c), Figure::Known(d), Figure::Known(t)),
            _ => {
                let created = Figure::from(
                    desk.tickets_count(&CountQuery {
                        department_id: dep.clone(),
                        // Desk's ranges include both ends; the window excludes its end.
                        created: Some((from, to - chrono::Duration::milliseconds(1))),
                        ..Default::default()
                    })
                    .await,
                    "created",
                );
                // Closed tickets modified in the window, counted by their closing time.
                let closes = async {
                    let mut closes: BTreeMap<String, u64> = BTreeMap::new();
                    let mut closed = 0;
                    for page in 0..10u32 {
                        let q = TicketSearch {
                            status: vec!["${closed}".into()],
                            department_id: dep.clone(),
                            // Closed in the window but perhaps modified since: search up to now.
                            modified: Some((from, shared.clock.now().max(to))),
                            from: page * 100,
                            limit: 100,
                            ..Default::default()
                        };
                        let r = desk.search_tickets(&q).await?;
                        let n = r.tickets.len();
                        for t in r.tickets {
                            if t.closed_time.is_some_and(|c| c >= from && c < to) {
                                closed += 1;
                                if let Some(a) = t.assignee_id {
                                    *closes.entry(a).or_default() += 1;
                                }
                            }
                        }
                        if n < 100 {
                            return Ok::<_, crate::desk::DeskError>((closed, closes));
                        }
                    }
                    // More than the pages walked: a count would be a guess.
                    Err(too_many("closed"))
                }
                .await;
                match closes {
                    Ok((n, by_agent)) => (
                        created,
                        Figure::Known(n),
                        Figure::Known(top3(by_agent, agents)),
                    ),
                    Err(e) => {
                        tracing::warn!(error = %e, "statistic unavailable: closed");
                        (created, Figure::Unavailable, Figure::Unavailable)
                    }
                }
            }
        }
    };
    let ratings = if !want.ratings {
        Figure::Unavailable
    } else {
        Figure::from(
            async {
                let mut r = Ratings::default();
                for page in 0..20u32 {
                    let q = HappinessQuery {
                        department_id: dep.clone(),
                        since: Some(from),
                        until: Some(to),
                        from: page * 100,
                        limit: 100,
                    };
                    let batch = desk.customer_happiness(&q).await?;
                    let n = batch.len();
                    let inside = |r: &crate::desk::Rating| counts(r, from, to, dep.as_deref());
                    for rating in batch.into_iter().filter(inside) {
                        match rating.rating {
                            RatingValue::Good => r.good += 1,
                            RatingValue::Okay => r.okay += 1,
                            RatingValue::Bad => r.bad += 1,
                            RatingValue::Other(_) => {}
                        }
                    }
                    if n < 100 {
                        return Ok::<_, crate::desk::DeskError>(r);
                    }
                }
                Err(too_many("ratings"))
            }
            .await,
            "ratings",
        )
    };
    let counts = if !want.pending {
        None
    } else {
        Some(
            desk.tickets_count_by_field(
                &["statusType", "overDue"],
                &CountQuery {
                    department_id: dep.clone(),
                    ..Default::default()
                },
            )
            .await,
        )
    };
    let (open, on_hold, overdue) = match counts {
        None => (
            Figure::Unavailable,
            Figure::Unavailable,
            Figure::Unavailable,
        ),
        Some(counts) => match counts {
            Ok(c) => (
                Figure::Known(c.get("statusType", Some("OPEN"))),
                Figure::Known(c.get("statusType", Some("ONHOLD"))),
                Figure::Known(c.get("overDue", None)),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "statistic unavailable: open / on hold / overdue");
                (
                    Figure::Unavailable,
                    Figure::Unavailable,
                    Figure::Unavailable,
                )
            }
        },
    };
    let unassigned = if !want.pending {
        Figure::Unavailable
    } else {
        Figure::from(
            async {
                let mut n = 0u64;
                for page in 0..20u32 {
                    let q = TicketQuery {
                        from: page * 100,
                        limit: 100,
                        department_id: dep.clone(),
                        assignee: vec![AssigneeFilter::Unassigned],
                        status: vec!["Open".into(), "On Hold".into(), "Escalated".into()],
                        ..Default::default()
                    };
                    let items = desk.list_tickets(&q).await?;
                    let len = items.len();
                    n += len as u64;
                    if len < 100 {
                        return Ok::<_, crate::desk::DeskError>(n);
                    }
                }
                Err(too_many("unassigned"))
            }
            .await,
            "unassigned",
        )
    };
    Stats {
        from,
        to,
        created,
        closed,
        ratings,
        top,
        open,
        on_hold,
        overdue,
        unassigned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::{Rating, RatingValue};
    use chrono::TimeZone as _;

    #[test]
    fn a_rating_outside_the_window_or_of_another_department_does_not_count() {
        let at = |h: u32| Utc.with_ymd_and_hms(2026, 11, 25, h, 0, 0).unwrap();
        let (from, to) = (at(1), at(9));
        let rating = |time: Option<DateTime<Utc>>, dep: Option<&str>| Rating {
            id: "1".into(),
            rating: RatingValue::Good,
            feedback: None,
            ticket_id: None,
            ticket_number: None,
            department_id: dep.map(str::to_string),
            agent_id: None,
            rated_time: time,
        };
        assert!(counts(
            &rating(Some(at(2)), Some("d1")),
            from,
            to,
            Some("d1")
        ));
        assert!(
            !counts(&rating(Some(at(0)), None), from, to, None),
            "before"
        );
        assert!(
            !counts(&rating(Some(at(9)), None), from, to, None),
            "the end is out"
        );
        assert!(!counts(
            &rating(Some(at(2)), Some("d2")),
            from,
            to,
            Some("d1")
        ));
        // What a rating does not say, Desk's filters did.
        assert!(counts(&rating(None, None), from, to, Some("d1")));
    }

    #[test]
    fn a_ticket_closed_twice_in_the_window_counts_once_for_its_last_closer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let at = |h: u32| Utc.with_ymd_and_hms(2026, 11, 25, h, 0, 0).unwrap();
        let entry = |closed: bool, ticket: &str, who: &str, h: u32| LogEntry {
            closed,
            ticket_id: ticket.into(),
            department_id: Some("d1".into()),
            assignee_id: Some(who.into()),
            at: at(h),
        };
        for e in [
            entry(false, "t1", "a", 1),
            entry(true, "t1", "a", 2),
            entry(true, "t1", "b", 4),
            entry(true, "t2", "b", 3),
        ] {
            record(&store, &e).expect("record");
        }
        let (created, closed, top) =
            from_log(&store, Some("d1"), at(0), at(9), &Agents::default()).expect("log");
        assert_eq!((created, closed), (1, 2));
        assert_eq!(top, vec![("b".to_string(), 2)]);
    }
}
