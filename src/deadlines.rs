//! Timers: SLA alerts before a ticket's `dueDate` and activity reminders. Kept in the store's
//! `deadlines` tree under keys ordered by fire time (the tree is the min-heap), with a per-record
//! index in `armed` that names its timers and the SLA offsets already alerted.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::desk::lenient;
use crate::notify::model::{ActivityKind, TicketSnapshot};
use crate::store::{Store, StoreError, TreeName};

const COUNT_KEY: &str = "timers_count";

/// What a timer does when it fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TimerKind {
    /// Alert that ticket `id` is due at `due`; `offsets` are the offsets this alert stands for
    /// (several when offsets already past collapsed into one immediate alert).
    Sla {
        due: DateTime<Utc>,
        offsets: Vec<u32>,
    },
    /// Remind the owner of activity `id`.
    Reminder {
        kind: ActivityKind,
        subject: String,
        owner: Option<String>,
        department_id: Option<String>,
        ticket_id: Option<String>,
        due: Option<DateTime<Utc>>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timer {
    /// The ticket or activity.
    pub id: String,
    pub fire_at: DateTime<Utc>,
    pub kind: TimerKind,
}

impl Timer {
    /// `<fire time, 16 hex digits>|<id>|<tag>`: byte order is fire-time order.
    pub fn key(&self) -> String {
        let tag = match &self.kind {
            TimerKind::Sla { due, offsets } => format!(
                "sla:{}:{}",
                due.timestamp_millis(),
                offsets
                    .iter()
                    .map(|o| o.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            TimerKind::Reminder { .. } => "reminder".to_string(),
        };
        format!(
            "{:016x}|{}|{}",
            self.fire_at.timestamp_millis().max(0),
            self.id,
            tag
        )
    }
}

/// A record's armed timers and what was already sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Armed {
    pub keys: Vec<String>,
    /// The due date the `alerted` offsets belong to.
    pub due: Option<DateTime<Utc>>,
    pub alerted: Vec<u32>,
    /// Reminders already sent (their fire times, ms).
    pub reminded: Vec<i64>,
}

/// The SLA timers a ticket needs now. Offsets already past (with the due time still ahead)
/// collapse into one timer firing at `now`; offsets already alerted for this due date are
/// skipped, and so is a past offset larger than one already alerted (added by a reload after
/// the nearer alert went: it would only repeat it).
pub fn plan_sla(
    t: &TicketSnapshot,
    offsets: &[u32],
    now: DateTime<Utc>,
    alerted: &[u32],
) -> Vec<Timer> {
    let Some(due) = t.due_date else {
        return Vec::new();
    };
    if t.status_type != "Open" || due <= now {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut past = Vec::new();
    for &off in offsets {
        if alerted.contains(&off) {
            continue;
        }
        let at = due - Duration::minutes(i64::from(off));
        if at > now {
            out.push(Timer {
                id: t.id.clone(),
                fire_at: at,
                kind: TimerKind::Sla {
                    due,
                    offsets: vec![off],
                },
            });
        } else if !alerted.iter().any(|&a| a < off) {
            past.push(off);
        }
    }
    if !past.is_empty() {
        out.push(Timer {
            id: t.id.clone(),
            fire_at: now,
            kind: TimerKind::Sla { due, offsets: past },
        });
    }
    out
}

/// When an activity's reminders fire: `ABSOLUTE` at `reminderTime`, `RELATIVE`
/// `relativeReminderInMin` before its start (calls and events: `startTime`; tasks: `startTime`
/// when set, else `dueDate`).
pub fn reminder_times(activity: &Value) -> Vec<DateTime<Utc>> {
    let start = activity
        .get("startTime")
        .and_then(lenient::value_time)
        .or_else(|| activity.get("dueDate").and_then(lenient::value_time));
    let Some(items) = activity.get("reminder").and_then(|r| r.as_array()) else {
        return Vec::new();
    };
    let mut out: Vec<DateTime<Utc>> = items
        .iter()
        .filter_map(|r| {
            let kind = r.get("reminderType").and_then(|k| k.as_str()).unwrap_or("");
            let absolute = r.get("reminderTime").and_then(lenient::value_time);
            let relative = r
                .get("relativeReminderInMin")
                .and_then(lenient::value_count);
            match (kind, absolute, relative) {
                ("RELATIVE", _, Some(min)) | ("", None, Some(min)) => {
                    start.map(|s| s - Duration::minutes(min as i64))
                }
                (_, Some(at), _) => Some(at),
                _ => None,
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The store side of the timers.
pub struct Timers<'a> {
    store: &'a Store,
}

impl<'a> Timers<'a> {
    pub fn new(store: &'a Store) -> Self {
        Timers { store }
    }

    fn timers(&self) -> crate::store::Tree<String, Timer> {
        self.store.tree(TreeName::Deadlines)
    }

    fn armed(&self) -> crate::store::Tree<String, Armed> {
        self.store.tree(TreeName::Armed)
    }

    fn counter(&self) -> crate::store::Tree<String, i64> {
        self.store.tree(TreeName::Meta)
    }

    pub fn armed_for(&self, id: &str) -> Result<Armed, StoreError> {
        // Unreadable: what was alerted is unknown; the record is rewritten from here.
        Ok(self
            .armed()
            .get_readable(&id.to_string())?
            .unwrap_or_default())
    }

    /// Replaces the timers of record `id` with `timers`; returns the change in the count.
    pub fn replace(
        &self,
        id: &str,
        mut armed: Armed,
        timers: Vec<Timer>,
    ) -> Result<i64, StoreError> {
        let before = armed.keys.len() as i64;
        for k in armed.keys.drain(..) {
            self.timers().remove(&k)?;
        }
        for t in &timers {
            let k = t.key();
            self.timers().insert(&k, t)?;
            armed.keys.push(k);
        }
        let after = armed.keys.len() as i64;
        if after != before {
            self.counter()
                .update(&COUNT_KEY.to_string(), |n| n.unwrap_or(0) + after - before)?;
        }
        if armed == Armed::default() {
            self.armed().remove(&id.to_string())?;
        } else {
            self.armed().insert(&id.to_string(), &armed)?;
        }
        Ok(after - before)
    }

    /// Re-arms a ticket's SLA timers from its snapshot (a moved due date resets what was
    /// alerted). Returns the change in the number of timers.
    pub fn track_ticket(
        &self,
        t: &TicketSnapshot,
        offsets: &[u32],
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut armed = self.armed_for(&t.id)?;
        if armed.due != t.due_date {
            armed.due = t.due_date;
            armed.alerted.clear();
        }
        let timers = plan_sla(t, offsets, now, &armed.alerted);
        self.replace(&t.id, armed, timers)
    }

    /// The earliest timer. One that cannot be read is set aside (see
    /// [`crate::store::Tree::first_readable`]): it would stop every timer behind it.
    pub fn next(&self) -> Result<Option<(String, Timer)>, StoreError> {
        Ok(self.timers().first_readable(1)?.into_iter().next())
    }

    /// Marks as fired, without an alert of their own, the other SLA timers of `id` for `due`
    /// that are already due at `now`; returns how many.
    pub fn absorb_due(
        &self,
        fired_key: &str,
        id: &str,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let mut n = 0;
        for k in self.armed_for(id)?.keys {
            if k == fired_key {
                continue;
            }
            let at = k
                .split('|')
                .next()
                .and_then(|h| i64::from_str_radix(h, 16).ok());
            if at.is_none_or(|ms| ms > now.timestamp_millis()) {
                continue;
            }
            // Unreadable: set aside when the watcher reaches it, not an error that would send
            // this alert again every tick and stop every timer behind it.
            if let Some(t) = self.timers().get_readable(&k)?
                && matches!(&t.kind, TimerKind::Sla { due: d, .. } if *d == due)
            {
                self.fired(&k, &t)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Removes a fired timer and records what it sent.
    pub fn fired(&self, key: &str, timer: &Timer) -> Result<(), StoreError> {
        self.remove(key, timer, true)
    }

    /// Removes a timer that fired stale (its ticket closed or on hold, in the moment before
    /// the watcher heard of it): nothing was sent, so its offsets stay due for a reopening.
    pub fn discard(&self, key: &str, timer: &Timer) -> Result<(), StoreError> {
        self.remove(key, timer, false)
    }

    fn remove(&self, key: &str, timer: &Timer, sent: bool) -> Result<(), StoreError> {
        if self.timers().remove(&key.to_string())?.is_some() {
            self.counter()
                .update(&COUNT_KEY.to_string(), |n| (n.unwrap_or(0) - 1).max(0))?;
        }
        let mut armed = self.armed_for(&timer.id)?;
        armed.keys.retain(|k| k != key);
        match &timer.kind {
            // Only for the due date the record has now (a stale timer's offsets say nothing).
            TimerKind::Sla { offsets, due } if sent && armed.due == Some(*due) => {
                armed.alerted.extend(offsets.iter().copied())
            }
            TimerKind::Sla { .. } => {}
            TimerKind::Reminder { .. } => armed.reminded.push(timer.fire_at.timestamp_millis()),
        }
        self.armed().insert(&timer.id, &armed)
    }

    /// How many timers are armed: kept as a counter, so a restart need not walk the timers.
    pub fn count(&self) -> Result<usize, StoreError> {
        Ok(self
            .counter()
            .get(&COUNT_KEY.to_string())?
            .unwrap_or(0)
            .max(0) as usize)
    }

    /// Counts the timers by walking them (to check the counter).
    pub fn count_slowly(&self) -> Result<usize, StoreError> {
        self.timers().len()
    }
}
