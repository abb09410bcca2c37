//! The actor tree: one `Department` actor per enabled department, the `DeadlineWatcher`,
//! the `DmRouter`, the `DigestActor` and the `Outbox`, each under an `actix::Supervisor`.
//! State that must survive lives in the store, so a restarted actor loses nothing.

pub mod deadline;
mod department;
pub mod digest;
mod dm;
mod guard;
pub mod outbox;
mod supervisor;

use std::sync::Arc;

use actix::Message;

use crate::clock::Clock;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::Store;

pub use deadline::{Attach, DeadlineWatcher, Track, TrackActivity};
pub use department::{
    Announce, Department, DepartmentRoute, DepartmentStatus, Retire, RouteStatus, UpdateRoute,
};
pub use digest::{DigestActor, NextDigest};
pub use dm::{Direct, DmRouter};
pub use outbox::{Outbox, Wake};
pub use supervisor::{ApplyReport, RouteTable, Supervisor};

#[cfg(test)]
pub use department::Panic;

/// What every actor is given: the store, the metrics, the clock, and the Zoho clients (absent
/// in tests of the actor tree alone).
#[derive(Clone)]
pub struct Shared {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub clock: Clock,
    pub zoho: Option<ZohoClients>,
}

/// The service grant's clients.
#[derive(Clone)]
pub struct ZohoClients {
    pub desk: crate::desk::DeskClient,
    pub cliq: crate::cliq::CliqClient,
}

/// A new configuration to apply from the next message on.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Reconfigure(pub Arc<Config>);

/// Shutdown: persist in-flight work; the reply says it is done.
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct Shutdown;

/// How an actor is doing (for health checks and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorStatus {
    /// Times the actor has been started: 1, plus one per restart.
    pub starts: u32,
    /// Messages handled since the process started.
    pub handled: u64,
}

#[derive(Message, Clone, Copy)]
#[rtype(result = "ActorStatus")]
pub struct Status;

#[cfg(test)]
mod tests;
