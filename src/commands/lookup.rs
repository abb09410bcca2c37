//! The Desk reads behind the answers, each bounded in calls, counted in credits, and kept for
//! [`FRESH_FOR`] so that a team asking the same thing within a minute costs Desk nothing more.
//! Every result is cut down to the asker's departments before anyone sees it.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::actors::Shared;
use crate::desk::{
    DeskClient, DeskError, SearchSort, Ticket, TicketQuery, TicketSearch, TicketSort,
};
use crate::notify::route::Agents;
use crate::stats::{Stats, Want};

/// How long a Desk answer is reused.
pub const FRESH_FOR: chrono::Duration = chrono::Duration::seconds(60);
/// Departments looked at for one answer (an agent in more sees the first ones).
pub const MAX_DEPARTMENTS: usize = 10;
/// Pages of 100 searched per department and window for overdue or due-today tickets.
const DUE_PAGES: u32 = 2;
/// What Desk charges: a list or a search 3 credits, a get by id 1 (`desk-api.md`).
const LIST_COST: u64 = 3;
/// Statuses of unresolved tickets that Desk's list filter takes by name (custom open
/// statuses are not known to deskcliq: they reach it by webhook only).
const OPEN_STATUSES: [&str; 3] = ["Open", "On Hold", "Escalated"];

/// Results by query, reused for [`FRESH_FOR`].
struct Fresh<T>(Mutex<HashMap<String, (DateTime<Utc>, T)>>);

impl<T> Default for Fresh<T> {
    fn default() -> Self {
        Fresh(Mutex::new(HashMap::new()))
    }
}

impl<T: Clone> Fresh<T> {
    fn get(&self, key: &str, now: DateTime<Utc>) -> Option<T> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(at, _)| now - *at < FRESH_FOR)
            .map(|(_, v)| v.clone())
    }

    /// Keeps `value`, forgetting what is no longer fresh.
    fn keep(&self, key: String, now: DateTime<Utc>, value: T) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (at, _)| now - *at < FRESH_FOR);
        map.insert(key, (now, value));
    }
}

/// Desk answers reused while fresh.
#[derive(Default)]
pub struct Lookups {
    tickets: Fresh<Vec<Ticket>>,
    stats: Fresh<Stats>,
    teams: Fresh<Vec<crate::desk::Team>>,
}

/// Credits spent on one answer.
#[derive(Debug, Default)]
pub struct Spend {
    pub credits: u64,
}

impl Lookups {
    async fn search(
        &self,
        desk: &DeskClient,
        q: TicketSearch,
        now: DateTime<Utc>,
        spend: &mut Spend,
    ) -> Result<Vec<Ticket>, DeskError> {
        let key = format!("search:{:?}", q.to_query());
        if let Some(t) = self.tickets.get(&key, now) {
            return Ok(t);
        }
        spend.credits += LIST_COST;
        let r = desk.search_tickets(&q).await?.tickets;
        self.tickets.keep(key, now, r.clone());
        Ok(r)
    }

    async fn list(
        &self,
        desk: &DeskClient,
        q: TicketQuery,
        now: DateTime<Utc>,
        spend: &mut Spend,
    ) -> Result<Vec<Ticket>, DeskError> {
        let key = format!("list:{:?}", q.to_query());
        if let Some(t) = self.tickets.get(&key, now) {
            return Ok(t);
        }
        spend.credits += LIST_COST;
        let r = desk.list_tickets(&q).await?;
        self.tickets.keep(key, now, r.clone());
        Ok(r)
    }

    /// The 3 newest tickets a search finds in `departments` (it asks for `limit`, newest
    /// first, as some are of other departments).
    async fn newest_found(
        &self,
        desk: &DeskClient,
        q: TicketSearch,
        departments: &[String],
        now: DateTime<Utc>,
        spend: &mut Spend,
    ) -> Result<Vec<Ticket>, DeskError> {
        let q = TicketSearch {
            sort_by: Some(SearchSort::CreatedTime),
            descending: true,
            ..q
        };
        let found = self.search(desk, q, now, spend).await?;
        Ok(newest(mine(found, departments), 3))
    }

    /// The tickets assigned to `agent_id`, newest first, in `departments`.
    pub async fn assigned(
        &self,
        desk: &DeskClient,
        agent_id: &str,
        departments: &[String],
        now: DateTime<Utc>,
        spend: &mut Spend,
    ) -> Result<Vec<Ticket>, DeskError> {
        let q = TicketSearch {
            assignee_id: Some(agent_id.to_string()),
            limit: 20,
            ..Default::default()
        };
        self.newest_found(desk, q, departments, now, spend).await
    }

    /// The ticket numbered `number`, when it is in `departments` (else none: a ticket of
    /// another department is answered like one that does not exist).
    pub async fn by_number(
        &self,
        desk: &DeskClient,
        number: &str,
        departments: &[String],
        now: DateTime<Utc>,
        spend: &mut Spend,
    ) -> Result<Option<Ticket>, DeskError> {
        // Desk's ticket numbers are int32 (Search.json): a longer number (such as a ticket's
        // id pasted from its URL) names no ticket, and Desk would refuse the search (422).
        if number.parse::<i32>().is_err() {
            return Ok(None);
        }
        let q = TicketSearch {
            ticket_number: Some(number.to_string()),
            limit: 10,
            ..Default::default()
        };
        let found = self.search(desk, q, now, spend).await?;
        Ok(mine(found, departments)
            .into_iter()
            .find(|t| t.ticket_number.trim_start_matches('0') == number))
    }

    /// The customer's most recent tickets in `departments`.
    pub async fn by_email(
        &self,
        desk: &DeskClient,
        email: &str,
        departments: &[String],
        now: DateTime<Utc>,
        spend: &mut Spend,
    ) -> Result<Vec<Ticket>, DeskError> {
        let q = TicketSearch {
            email: Some(email.to_string()),
            limit: 50,
            ..Default::default()
        };
        self.newest_found(desk, q, departments, now, spend).await
    }

    /// A department's teams, reused while fresh: the assign form asks as the agent types.
    pub async fn teams(
        &self,
        desk: &DeskClient,
        department: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::desk::Team>, DeskError> {
        if let Some(t) = self.teams.get(department, now) {
            return Ok(t);
        }
        let t = desk.department_teams(department).await?;
        self.teams.keep(department.to_string(), now, t.clone());
        Ok(t)
    }

    /// The most recently created unresolved tickets of `departments`.
    pub async fn open(
        &self,
        desk: &DeskClient,
        departments: &[String],
        now: DateTime<Utc>,
        spend: &mut Spend,
    ) -> Result<Vec<Ticket>, DeskError> {
        let mut all = Vec::new();
        for d in departments.iter().take(MAX_DEPARTMENTS) {
            let q = TicketQuery {
                limit: 3,
                department_id: Some(d.clone()),
                status: OPEN_STATUSES.iter().map(|s| s.to_string()).collect(),
                sort_by: Some(TicketSort::CreatedTime),
                descending: true,
                ..Default::default()
            };
            all.extend(self.list(desk, q, now, spend).await?);
        }
        Ok(newest(mine(all, departments), 3))
    }

    /// Tickets of `departments` with a due date in `[from, to)`, found with the search's
    /// `dueDateRange` (at most [`DUE_PAGES`] pages of 100 per department).
    async fn due_within(
        &self,
        desk: &DeskClient,
        departments: &[String],
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        now: DateTime<Utc>,
        spend: &mut Spend,
    ) -> Result<Vec<Ticket>, DeskError> {
        let mut all = Vec::new();
        for d in departments.iter().take(MAX_DEPARTMENTS) {
            for page in 0..DUE_PAGES {
                let q = TicketSearch {
                    department_id: Some(d.clone()),
                    // Desk's ranges include both ends; the window excludes its end.
                    due: Some((from, to - chrono::Duration::milliseconds(1))),
                    sort_by: Some(SearchSort::ModifiedTime),
                    descending: true,
                    from: page * 100,
                    limit: 100,
                    ..Default::default()
                };
                let batch = self.search(desk, q, now, spend).await?;
                let full = batch.len() == 100;
                all.extend(batch);
                if !full {
                    break;
                }
            }
        }
        let mut all = mine(all, departments);
        all.retain(|t| t.due_date.is_some_and(|d| d >= from && d < to));
        all.sort_by(|a, b| a.due_date.cmp(&b.due_date).then(a.id.cmp(&b.id)));
        all.dedup_by(|a, b| a.id == b.id);
        Ok(all)
    }

    /// Overdue tickets (past due, open: not on hold, not closed), the most recently due
    /// first: the last day is searched first, then the last week, then the last 30 days.
    pub async fn overdue(
        &self,
        desk: &DeskClient,
        departments: &[String],
        now: DateTime<Utc>,
        spend: &mut Spend,
    ) -> Result<Vec<Ticket>, DeskError> {
        let mut found: Vec<Ticket> = Vec::new();
        let mut to = now;
        for days in [1, 7, 30] {
            let from = now - chrono::Duration::days(days);
            let mut due = self
                .due_within(desk, departments, (from, to), now, spend)
                .await?;
            due.retain(|t| t.status_kind().unwrap_or_default() == crate::desk::StatusType::Open);
            due.reverse();
            found.extend(due);
            if found.len() >= 3 {
                break;
            }
            to = from;
        }
        found.truncate(3);
        Ok(found)
    }

    /// Unresolved tickets due within `[day_start, day_end)`, soonest first.
    pub async fn due_today(
        &self,
        desk: &DeskClient,
        departments: &[String],
        day: (DateTime<Utc>, DateTime<Utc>),
        now: DateTime<Utc>,
        spend: &mut Spend,
    ) -> Result<Vec<Ticket>, DeskError> {
        let mut due = self.due_within(desk, departments, day, now, spend).await?;
        due.retain(|t| t.status_kind() != Some(crate::desk::StatusType::Closed));
        due.truncate(3);
        Ok(due)
    }

    /// Statistics of one department (`want` picks the figures), reused while fresh.
    pub async fn stats(
        &self,
        shared: &Shared,
        agents: &Agents,
        department: &str,
        want: Want,
        now: DateTime<Utc>,
        spend: &mut Spend,
    ) -> Stats {
        let key = format!("{department}:{want:?}");
        if let Some(s) = self.stats.get(&key, now) {
            return s;
        }
        let before = shared
            .zoho
            .as_ref()
            .map(|z| z.desk.credits_on(now.date_naive()))
            .unwrap_or(0);
        let from = now - chrono::Duration::hours(24);
        let s = crate::stats::compute_some(shared, agents, Some(department), from, now, want).await;
        let after = shared
            .zoho
            .as_ref()
            .map(|z| z.desk.credits_on(now.date_naive()))
            .unwrap_or(0);
        spend.credits += after.saturating_sub(before);
        // A figure Desk failed to give is asked again next time.
        use crate::stats::Figure::Unavailable as U;
        let failed = (want.activity && (matches!(s.created, U) || matches!(s.closed, U)))
            || (want.ratings && matches!(s.ratings, U))
            || (want.pending && (matches!(s.open, U) || matches!(s.unassigned, U)));
        if !failed {
            self.stats.keep(key, now, s.clone());
        }
        s
    }
}

/// Only the tickets of `departments`.
fn mine(tickets: Vec<Ticket>, departments: &[String]) -> Vec<Ticket> {
    tickets
        .into_iter()
        .filter(|t| {
            t.department_id
                .as_ref()
                .is_some_and(|d| departments.contains(d))
        })
        .collect()
}

/// The `n` most recently created.
fn newest(mut tickets: Vec<Ticket>, n: usize) -> Vec<Ticket> {
    tickets.sort_by_key(|t| std::cmp::Reverse(t.created_time));
    tickets.dedup_by(|a, b| a.id == b.id);
    tickets.truncate(n);
    tickets
}
