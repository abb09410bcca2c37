//! The one source of time. The daemon uses [`Clock::system`]; in-process tests drive a
//! [`Clock::manual`] clock instead of sleeping.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

#[derive(Clone)]
pub struct Clock {
    manual: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.manual {
            None => f.write_str("Clock(system)"),
            Some(_) => write!(f, "Clock(manual {})", self.now()),
        }
    }
}

impl Clock {
    pub fn system() -> Clock {
        Clock { manual: None }
    }

    pub fn manual(start: DateTime<Utc>) -> Clock {
        Clock {
            manual: Some(Arc::new(Mutex::new(start))),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            None => Utc::now(),
            Some(t) => match t.lock() {
                Ok(g) => *g,
                Err(poisoned) => *poisoned.into_inner(),
            },
        }
    }

    /// Moves a manual clock forward; a system clock ignores it.
    pub fn advance(&self, by: Duration) {
        if let Some(t) = &self.manual {
            let mut g = match t.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            *g += by;
        }
    }
}

/// Waits out the interval of a periodic task: `minutes_of(config)` from now, re-planned when
/// a reload changes it (then counted from `started`, when the last run began on `clock`, and
/// over at once if the new interval has passed already). False when `stop` says to stop.
pub async fn wait_interval<C>(
    clock: &Clock,
    started: DateTime<Utc>,
    reloads: &mut tokio::sync::watch::Receiver<C>,
    minutes_of: impl Fn(&C) -> u32,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> bool {
    let minutes = |m: u32| std::time::Duration::from_secs(u64::from(m) * 60);
    let mut every = minutes_of(&reloads.borrow());
    let mut next = tokio::time::Instant::now() + minutes(every);
    let mut reloading = true;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => return true,
            changed = reloads.changed(), if reloading => {
                // No more reloads once the app lets go of the config (it is stopping).
                reloading = changed.is_ok();
                let now_every = minutes_of(&reloads.borrow());
                if reloading && now_every != every {
                    every = now_every;
                    let since = (clock.now() - started).to_std().unwrap_or_default();
                    match minutes(every).checked_sub(since) {
                        Some(left) if !left.is_zero() => {
                            next = tokio::time::Instant::now() + left;
                        }
                        _ => return true,
                    }
                }
            }
            _ = stop.changed() => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let start = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let c = Clock::manual(start);
        assert_eq!(c.now(), start);
        c.advance(Duration::minutes(5));
        assert_eq!(c.now(), start + Duration::minutes(5));
    }
}
