//! `DigestActor`: sends the daily summaries on `digest.schedule` in `org.timezone`. It
//! knows, after every reconfiguration, when the next one is due.

use std::sync::Arc;

use actix::{Handler, Message, MessageResult};
use chrono::{DateTime, Utc};

use super::guard::{guarded, status_handler, supervised_actor};
use super::{Reconfigure, Shared, Shutdown};
use crate::config::Config;

pub struct DigestActor {
    shared: Shared,
    config: Arc<Config>,
    next: Option<DateTime<Utc>>,
    starts: u32,
    handled: u64,
}

impl DigestActor {
    pub fn new(shared: Shared, config: Arc<Config>) -> Self {
        let mut actor = DigestActor {
            shared,
            config,
            next: None,
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
}

supervised_actor!(DigestActor, "digest");
status_handler!(DigestActor);

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

    fn handle(&mut self, _msg: Shutdown, _ctx: &mut Self::Context) {
        tracing::debug!("digest actor shut down");
    }
}
