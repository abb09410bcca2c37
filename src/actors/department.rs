//! One actor per enabled department: it will turn that department's changes into channel
//! posts. For now it holds its routing and takes reconfiguration and retirement.

use actix::{ActorContext, Handler, Message, MessageResult};

use super::guard::{guarded, status_handler};
use super::{ActorStatus, Shared, Shutdown};

/// A department's routing as its actor needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentRoute {
    pub id: String,
    pub name: String,
    pub channel: String,
}

pub struct Department {
    shared: Shared,
    route: DepartmentRoute,
    starts: u32,
    handled: u64,
    /// Set by [`Retire`]. A retired actor that is restarted (because someone still holds its
    /// address) stays inert until the last address is dropped.
    retired: bool,
}

impl Department {
    pub fn new(shared: Shared, route: DepartmentRoute) -> Self {
        Department {
            shared,
            route,
            starts: 0,
            handled: 0,
            retired: false,
        }
    }
}

impl actix::Actor for Department {
    type Context = actix::Context<Self>;

    fn started(&mut self, _ctx: &mut Self::Context) {
        if !self.retired {
            self.starts += 1;
            tracing::debug!(department = %self.route.id, starts = self.starts, "department actor started");
        }
    }
}

impl actix::Supervised for Department {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        if self.retired {
            return;
        }
        tracing::warn!(actor = "department", department = %self.route.id, "actor restarting");
        self.shared
            .metrics
            .actor_restarts_total
            .with_label_values(&["department"])
            .inc();
    }
}

/// The department's channel or name changed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct UpdateRoute(pub DepartmentRoute);

/// The department was removed or disabled: handle what is queued, then stop. The supervisor
/// has dropped its address, so the actor is not restarted (see `retired`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retire;

/// Routing and health of one department actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentStatus {
    pub route: DepartmentRoute,
    pub retired: bool,
    pub actor: ActorStatus,
}

impl Handler<UpdateRoute> for Department {
    type Result = ();

    fn handle(&mut self, msg: UpdateRoute, ctx: &mut Self::Context) {
        guarded("department", ctx, || {
            if msg.0 != self.route {
                tracing::info!(department = %msg.0.id, channel = %msg.0.channel, "department routing updated");
            }
            self.route = msg.0;
            self.handled += 1;
        });
    }
}

impl Handler<Retire> for Department {
    type Result = ();

    fn handle(&mut self, _msg: Retire, ctx: &mut Self::Context) {
        tracing::info!(department = %self.route.id, "department actor retired");
        self.retired = true;
        ctx.stop();
    }
}

impl Handler<Shutdown> for Department {
    type Result = ();

    fn handle(&mut self, _msg: Shutdown, _ctx: &mut Self::Context) {
        // Everything it has accepted is in the store already; nothing is held in memory.
        tracing::debug!(department = %self.route.id, "department actor shut down");
    }
}

status_handler!(Department);

/// The department's routing, with its actor's figures.
#[derive(Message)]
#[rtype(result = "DepartmentStatus")]
pub struct RouteStatus;

impl Handler<RouteStatus> for Department {
    type Result = MessageResult<RouteStatus>;

    fn handle(&mut self, _msg: RouteStatus, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(DepartmentStatus {
            route: self.route.clone(),
            retired: self.retired,
            actor: ActorStatus {
                starts: self.starts,
                handled: self.handled,
            },
        })
    }
}

/// Post `change` to `channel`: render the card and queue it durably in the outbox. Answers
/// whether it was queued now (false: that key was queued or sent before).
#[derive(Message)]
#[rtype(result = "Result<bool, String>")]
pub struct Announce {
    pub change: crate::notify::model::Change,
    pub channel: String,
    pub config: std::sync::Arc<crate::config::Config>,
    pub agents: std::sync::Arc<crate::notify::route::Agents>,
}

impl Handler<Announce> for Department {
    type Result = Result<bool, String>;

    fn handle(&mut self, msg: Announce, ctx: &mut Self::Context) -> Self::Result {
        if self.retired {
            return Err("department actor retired".into());
        }
        let shared = self.shared.clone();
        guarded("department", ctx, || {
            self.handled += 1;
            crate::pipeline::queue(
                &shared,
                &msg.change,
                crate::notify::model::Target::Channel(msg.channel),
                &msg.config,
                &msg.agents,
            )
        })
        .unwrap_or_else(|| Err("department actor panicked".into()))
    }
}

/// Makes the actor panic inside a handler (tests of the supervision only).
#[cfg(test)]
#[derive(Message)]
#[rtype(result = "()")]
pub struct Panic;

#[cfg(test)]
impl Handler<Panic> for Department {
    type Result = ();

    fn handle(&mut self, _msg: Panic, ctx: &mut Self::Context) {
        guarded("department", ctx, || {
            self.handled += 1;
            panic!("panic requested by a test");
        });
    }
}
