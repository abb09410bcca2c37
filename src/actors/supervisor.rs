//! Starts the actor tree, applies a reloaded config to it, and shuts it down in order.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix::{Addr, Handler, Message, Recipient};

use super::{
    DeadlineWatcher, Department, DepartmentRoute, DigestActor, DmRouter, Outbox, Reconfigure,
    Retire, Shared, Shutdown, Status, UpdateRoute,
};
use crate::config::Config;

/// What a reload changed in the tree.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    pub started: Vec<String>,
    pub retired: Vec<String>,
    pub rerouted: Vec<String>,
}

/// The addresses the notification pipeline sends to; republished on every reload.
#[derive(Clone)]
pub struct RouteTable {
    pub departments: std::collections::HashMap<String, Addr<Department>>,
    pub dm: Addr<DmRouter>,
    pub outbox: Addr<Outbox>,
    pub deadline: Addr<DeadlineWatcher>,
}

pub struct Supervisor {
    routes: tokio::sync::watch::Sender<std::sync::Arc<RouteTable>>,
    shared: Shared,
    config: Arc<Config>,
    departments: BTreeMap<String, (DepartmentRoute, Addr<Department>)>,
    deadline: Addr<DeadlineWatcher>,
    dm: Addr<DmRouter>,
    digest: Addr<DigestActor>,
    outbox: Addr<Outbox>,
}

/// The department actors a config asks for: one per listed, enabled department.
fn wanted(config: &Config) -> BTreeMap<String, DepartmentRoute> {
    config
        .departments
        .iter()
        .filter(|d| d.enabled)
        .map(|d| {
            (
                d.id.clone(),
                DepartmentRoute {
                    id: d.id.clone(),
                    name: d.name.clone(),
                    channel: config.route(&d.id).channel.to_string(),
                },
            )
        })
        .collect()
}

fn start_department(shared: &Shared, route: DepartmentRoute) -> Addr<Department> {
    let shared = shared.clone();
    actix::Supervisor::start(move |_| Department::new(shared, route))
}

impl Supervisor {
    /// Starts every actor. Must run inside an actix `System`.
    pub fn start(shared: Shared, config: Arc<Config>) -> Supervisor {
        let s = shared.clone();
        let c = config.clone();
        let deadline = actix::Supervisor::start(move |_| DeadlineWatcher::new(s, c));
        let s = shared.clone();
        let c = config.clone();
        let dm = actix::Supervisor::start(move |_| DmRouter::new(s, c));
        let s = shared.clone();
        let c = config.clone();
        let digest = actix::Supervisor::start(move |_| DigestActor::new(s, c));
        let s = shared.clone();
        let c = config.clone();
        let outbox = actix::Supervisor::start(move |_| Outbox::new(s, c));
        let departments = wanted(&config)
            .into_iter()
            .map(|(id, route)| {
                let addr = start_department(&shared, route.clone());
                (id, (route, addr))
            })
            .collect();
        let table = RouteTable {
            departments: std::collections::HashMap::new(),
            dm: dm.clone(),
            outbox: outbox.clone(),
            deadline: deadline.clone(),
        };
        let (routes, _) = tokio::sync::watch::channel(std::sync::Arc::new(table));
        let tree = Supervisor {
            routes,
            shared,
            config,
            departments,
            deadline,
            dm,
            digest,
            outbox,
        };
        tree.publish();
        tree
    }

    fn publish(&self) {
        let table = RouteTable {
            departments: self
                .departments
                .iter()
                .map(|(id, (_, addr))| (id.clone(), addr.clone()))
                .collect(),
            dm: self.dm.clone(),
            outbox: self.outbox.clone(),
            deadline: self.deadline.clone(),
        };
        self.routes.send_replace(std::sync::Arc::new(table));
    }

    /// The current addresses, updated on every reload.
    pub fn routes(&self) -> tokio::sync::watch::Receiver<std::sync::Arc<RouteTable>> {
        self.routes.subscribe()
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// Applies an already validated config: new departments get actors, removed or disabled
    /// ones retire after their queued messages, the rest take the new routing for their
    /// next message.
    pub fn apply(&mut self, config: Arc<Config>) -> ApplyReport {
        let mut report = ApplyReport::default();
        let want = wanted(&config);
        let gone: Vec<String> = self
            .departments
            .keys()
            .filter(|id| !want.contains_key(*id))
            .cloned()
            .collect();
        for id in gone {
            if let Some((_, addr)) = self.departments.remove(&id) {
                // Queued behind everything already sent; with this address dropped the
                // actor is not restarted once it stops.
                addr.do_send(Retire);
                report.retired.push(id);
            }
        }
        for (id, route) in want {
            match self.departments.get_mut(&id) {
                Some((current, addr)) => {
                    if *current != route {
                        addr.do_send(UpdateRoute(route.clone()));
                        *current = route;
                        report.rerouted.push(id);
                    }
                }
                None => {
                    let addr = start_department(&self.shared, route.clone());
                    self.departments.insert(id.clone(), (route, addr));
                    report.started.push(id);
                }
            }
        }
        let msg = Reconfigure(config.clone());
        self.deadline.do_send(msg.clone());
        self.dm.do_send(msg.clone());
        self.digest.do_send(msg.clone());
        self.outbox.do_send(msg);
        self.config = config;
        self.publish();
        report
    }

    /// The actor of a department, when it has one (listed and enabled).
    pub fn department(&self, id: &str) -> Option<&Addr<Department>> {
        self.departments.get(id).map(|(_, addr)| addr)
    }

    pub fn department_ids(&self) -> Vec<String> {
        self.departments.keys().cloned().collect()
    }

    pub fn deadline(&self) -> &Addr<DeadlineWatcher> {
        &self.deadline
    }

    pub fn digest(&self) -> &Addr<DigestActor> {
        &self.digest
    }

    /// Every actor, as a recipient of `M`.
    fn all<M>(&self) -> Vec<Recipient<M>>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        DeadlineWatcher: Handler<M>,
        DmRouter: Handler<M>,
        DigestActor: Handler<M>,
        Outbox: Handler<M>,
        Department: Handler<M>,
    {
        let mut out: Vec<Recipient<M>> = vec![
            self.outbox.clone().recipient(),
            self.deadline.clone().recipient(),
            self.dm.clone().recipient(),
            self.digest.clone().recipient(),
        ];
        out.extend(
            self.departments
                .values()
                .map(|(_, a)| a.clone().recipient()),
        );
        out
    }

    /// True when every actor answers within `within` (checked before a watchdog ping).
    pub async fn responsive(&self, within: Duration) -> bool {
        let checks = self.all::<Status>();
        let all = async {
            for c in checks {
                if c.send(Status).await.is_err() {
                    return false;
                }
            }
            true
        };
        matches!(tokio::time::timeout(within, all).await, Ok(true))
    }

    /// Asks every actor to persist in-flight work, waiting at most `within` in all.
    pub async fn shutdown(self, within: Duration) {
        let waits = self.all::<Shutdown>();
        let done = async {
            for w in waits {
                if let Err(e) = w.send(Shutdown).await {
                    tracing::warn!(error = %e, "an actor did not acknowledge shutdown");
                }
            }
        };
        if tokio::time::timeout(within, done).await.is_err() {
            tracing::warn!(?within, "actors did not all shut down in time");
        }
    }
}
