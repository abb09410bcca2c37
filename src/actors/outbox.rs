//! `Outbox`: the only actor that talks to Cliq. It keeps the send budget
//! (`limits.cliq_posts_per_minute`) and the queued messages in the store.

use std::sync::Arc;

use actix::Handler;

use super::guard::{guarded, status_handler, supervised_actor};
use super::{Reconfigure, Shared, Shutdown};
use crate::config::Config;

pub struct Outbox {
    shared: Shared,
    posts_per_minute: u32,
    starts: u32,
    handled: u64,
}

impl Outbox {
    pub fn new(shared: Shared, config: Arc<Config>) -> Self {
        Outbox {
            shared,
            posts_per_minute: config.limits.cliq_posts_per_minute,
            starts: 0,
            handled: 0,
        }
    }
}

supervised_actor!(Outbox, "outbox");
status_handler!(Outbox);

impl Handler<Reconfigure> for Outbox {
    type Result = ();

    fn handle(&mut self, msg: Reconfigure, ctx: &mut Self::Context) {
        guarded("outbox", ctx, || {
            let new = msg.0.limits.cliq_posts_per_minute;
            if new != self.posts_per_minute {
                tracing::info!(posts_per_minute = new, "Cliq send budget changed");
            }
            self.posts_per_minute = new;
            self.handled += 1;
        });
    }
}

impl Handler<Shutdown> for Outbox {
    type Result = ();

    fn handle(&mut self, _msg: Shutdown, _ctx: &mut Self::Context) {
        // Queued messages live in the store's outbox tree; the daemon flushes it after this.
        tracing::debug!(store = ?self.shared.store.path(), "outbox shut down");
    }
}
