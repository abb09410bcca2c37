//! Panics at the handler edge. actix does not restart an actor whose handler panicked; it
//! restarts one that stopped itself. [`guarded`] turns a panic into a logged stop, and the
//! actor's `actix::Supervisor` starts it again on the same address.

use std::panic::{AssertUnwindSafe, catch_unwind};

use actix::ActorContext;

/// Runs `body`; on a panic logs it, stops the actor (so its supervisor restarts it) and
/// returns `None`.
pub fn guarded<C, R>(actor: &str, ctx: &mut C, body: impl FnOnce() -> R) -> Option<R>
where
    C: ActorContext,
{
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => Some(r),
        Err(payload) => {
            let reason = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            tracing::error!(actor, %reason, "actor panicked; restarting it");
            ctx.stop();
            None
        }
    }
}

/// Declares an actor whose supervisor restart is logged and counted in
/// `deskcliq_actor_restarts_total{actor}`.
macro_rules! supervised_actor {
    ($ty:ty, $label:expr) => {
        impl actix::Actor for $ty {
            type Context = actix::Context<Self>;

            fn started(&mut self, _ctx: &mut Self::Context) {
                self.starts += 1;
                tracing::debug!(actor = $label, starts = self.starts, "actor started");
            }
        }

        impl actix::Supervised for $ty {
            fn restarting(&mut self, _ctx: &mut Self::Context) {
                tracing::warn!(actor = $label, "actor restarting");
                self.shared
                    .metrics
                    .actor_restarts_total
                    .with_label_values(&[$label])
                    .inc();
            }
        }
    };
}

pub(crate) use supervised_actor;

/// The `Status` handler every actor answers the same way (`starts`, `handled`).
macro_rules! status_handler {
    ($ty:ty) => {
        impl actix::Handler<super::Status> for $ty {
            type Result = actix::MessageResult<super::Status>;

            fn handle(&mut self, _msg: super::Status, _ctx: &mut Self::Context) -> Self::Result {
                actix::MessageResult(super::ActorStatus {
                    starts: self.starts,
                    handled: self.handled,
                })
            }
        }
    };
}

pub(crate) use status_handler;
