//! `DeadlineWatcher`: times SLA alerts before a ticket's due date and activity reminders.
//! It keeps its deadlines in the store; here it follows the configured offsets and switches.

use std::sync::Arc;

use actix::Handler;

use super::guard::{guarded, status_handler, supervised_actor};
use super::{Reconfigure, Shared, Shutdown};
use crate::config::Config;

pub struct DeadlineWatcher {
    shared: Shared,
    config: Arc<Config>,
    starts: u32,
    handled: u64,
}

impl DeadlineWatcher {
    pub fn new(shared: Shared, config: Arc<Config>) -> Self {
        DeadlineWatcher {
            shared,
            config,
            starts: 0,
            handled: 0,
        }
    }
}

supervised_actor!(DeadlineWatcher, "deadline_watcher");
status_handler!(DeadlineWatcher);

impl Handler<Reconfigure> for DeadlineWatcher {
    type Result = ();

    fn handle(&mut self, msg: Reconfigure, ctx: &mut Self::Context) {
        guarded("deadline_watcher", ctx, || {
            let old = &self.config;
            let new = &msg.0;
            if old.sla.alert_before_minutes != new.sla.alert_before_minutes
                || old.notify.ticket.due_soon != new.notify.ticket.due_soon
                || old.notify.activity.reminder != new.notify.activity.reminder
            {
                tracing::info!(
                    offsets = ?new.sla.alert_before_minutes,
                    due_soon = new.notify.ticket.due_soon,
                    reminders = new.notify.activity.reminder,
                    "SLA alert schedule changed"
                );
            }
            self.config = msg.0;
            self.handled += 1;
        });
    }
}

impl Handler<Shutdown> for DeadlineWatcher {
    type Result = ();

    fn handle(&mut self, _msg: Shutdown, _ctx: &mut Self::Context) {
        tracing::debug!(store = ?self.shared.store.path(), "deadline watcher shut down");
    }
}
