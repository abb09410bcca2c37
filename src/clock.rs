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
