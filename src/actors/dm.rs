//! `DmRouter`: sends an agent's notifications as bot DMs, following `[notify.dm]`.

use std::sync::Arc;

use actix::{Handler, Message};

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

/// DM `change` to `users` (Cliq users): render and queue durably.
#[derive(Message)]
#[rtype(result = "Result<bool, String>")]
pub struct Direct {
    pub change: crate::notify::model::Change,
    pub users: Vec<String>,
    pub config: Arc<Config>,
    pub agents: Arc<crate::notify::route::Agents>,
}

impl Handler<Direct> for DmRouter {
    type Result = Result<bool, String>;

    fn handle(&mut self, msg: Direct, ctx: &mut Self::Context) -> Self::Result {
        let shared = self.shared.clone();
        guarded("dm_router", ctx, || {
            self.handled += 1;
            crate::pipeline::queue(
                &shared,
                &msg.change,
                crate::notify::model::Target::Dm(msg.users),
                &msg.config,
                &msg.agents,
            )
        })
        .unwrap_or_else(|| Err("DM router panicked".into()))
    }
}

impl Handler<Shutdown> for DmRouter {
    type Result = ();

    fn handle(&mut self, _msg: Shutdown, _ctx: &mut Self::Context) {
        tracing::debug!(store = ?self.shared.store.path(), "DM router shut down");
    }
}
