//! One actor per enabled department: it will turn that department's changes into channel
//! posts. For now it holds its routing and takes reconfiguration and retirement.

use actix::{ActorContext, Handler, Message, MessageResult};

use super::guard::{guarded, status_handler, supervised_actor};
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
}

impl Department {
    pub fn new(shared: Shared, route: DepartmentRoute) -> Self {
        Department {
            shared,
            route,
            starts: 0,
            handled: 0,
        }
    }
}

supervised_actor!(Department, "department");

/// The department's channel or name changed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct UpdateRoute(pub DepartmentRoute);

/// The department was removed or disabled: handle what is queued, then stop. The supervisor
/// has dropped its address, so the actor is not restarted.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retire;

/// Routing and health of one department actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentStatus {
    pub route: DepartmentRoute,
    pub actor: ActorStatus,
}

impl Handler<UpdateRoute> for Department {
    type Result = ();

    fn handle(&mut self, msg: UpdateRoute, ctx: &mut Self::Context) {
        guarded::<Self, _, _>("department", ctx, || {
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
            actor: ActorStatus {
                starts: self.starts,
                handled: self.handled,
            },
        })
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
        guarded::<Self, _, _>("department", ctx, || {
            self.handled += 1;
            panic!("panic requested by a test");
        });
    }
}
