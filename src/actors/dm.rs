//! `DmRouter`: sends an agent's notifications as bot DMs, following `[notify.dm]`.

use std::sync::Arc;

use actix::Handler;

use super::guard::{guarded, status_handler, supervised_actor};
use super::{Reconfigure, Shared, Shutdown};
use crate::config::{Config, DmSwitches};

pub struct DmRouter {
    shared: Shared,
    switches: DmSwitches,
    starts: u32,
    handled: u64,
}

impl DmRouter {
    pub fn new(shared: Shared, config: Arc<Config>) -> Self {
        DmRouter {
            shared,
            switches: config.notify.dm,
            starts: 0,
            handled: 0,
        }
    }
}

supervised_actor!(DmRouter, "dm_router");
status_handler!(DmRouter);

impl Handler<Reconfigure> for DmRouter {
    type Result = ();

    fn handle(&mut self, msg: Reconfigure, ctx: &mut Self::Context) {
        guarded("dm_router", ctx, || {
            if self.switches != msg.0.notify.dm {
                tracing::info!(dm = ?msg.0.notify.dm, "DM switches changed");
            }
            self.switches = msg.0.notify.dm;
            self.handled += 1;
        });
    }
}

impl Handler<Shutdown> for DmRouter {
    type Result = ();

    fn handle(&mut self, _msg: Shutdown, _ctx: &mut Self::Context) {
        tracing::debug!(store = ?self.shared.store.path(), "DM router shut down");
    }
}
