//! Who hears of a change: DESIGN.md feature 1's routing rules and `[notify]` switches.

use std::collections::HashMap;

use super::model::{AgentInfo, Change, ChangeKind, Target};
use crate::config::Config;

/// The portal's agents, by Desk id and by Zoho user (zuid).
#[derive(Debug, Clone, Default)]
pub struct Agents {
    by_id: HashMap<String, AgentInfo>,
}

impl Agents {
    pub fn new(list: Vec<AgentInfo>) -> Agents {
        Agents {
            by_id: list.into_iter().map(|a| (a.id.clone(), a)).collect(),
        }
    }

    pub fn get(&self, id: &str) -> Option<&AgentInfo> {
        self.by_id.get(id)
    }

    /// The Cliq user of a Desk agent: their Zoho user, once their account is confirmed,
    /// unless Cliq said that user is no Cliq user of this organisation.
    pub fn cliq_user(&self, agent_id: &str) -> Option<&str> {
        self.by_id
            .get(agent_id)
            .filter(|a| a.reachable_in_cliq())
            .and_then(|a| a.zuid.as_deref())
            .filter(|z| !z.is_empty())
    }

    /// The agent whose Zoho user id is `zuid`; none for a blank one (agents who never
    /// confirmed their account have none).
    pub fn by_zuid(&self, zuid: &str) -> Option<&AgentInfo> {
        let zuid = zuid.trim();
        if zuid.is_empty() {
            return None;
        }
        self.by_id
            .values()
            .find(|a| a.zuid.as_deref().map(str::trim) == Some(zuid))
    }

    /// The agent whose email is `email` (any case).
    pub fn by_email(&self, email: &str) -> Option<&AgentInfo> {
        let email = email.trim();
        if email.is_empty() {
            return None;
        }
        self.by_id.values().find(|a| {
            a.email
                .as_deref()
                .is_some_and(|e| e.trim().eq_ignore_ascii_case(email))
        })
    }

    pub fn name(&self, agent_id: &str) -> Option<&str> {
        self.by_id
            .get(agent_id)
            .map(|a| a.name.as_str())
            .filter(|n| !n.is_empty())
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn all(&self) -> impl Iterator<Item = &AgentInfo> {
        self.by_id.values()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// Whether the `[notify]` switch of this change is on.
fn switched_on(kind: &ChangeKind, c: &Config) -> bool {
    let t = &c.notify.ticket;
    let a = &c.notify.activity;
    let dm = &c.notify.dm;
    match kind {
        ChangeKind::Created => t.created,
        ChangeKind::Closed => t.closed,
        ChangeKind::Reopened => t.reopened,
        ChangeKind::StatusChanged { .. } => t.status_changed,
        ChangeKind::OwnerChanged { .. } => t.owner_changed,
        ChangeKind::DepartmentChanged { .. } => t.department_changed,
        ChangeKind::Escalated => t.escalated,
        ChangeKind::CommentAdded { .. } => t.comment_added,
        ChangeKind::CommentEdited { .. } => t.comment_edited,
        ChangeKind::Mentioned { .. } => dm.enabled && dm.mention,
        ChangeKind::ActivityCreated { .. } => a.created,
        ChangeKind::ActivityCompleted { .. } => a.completed,
        ChangeKind::Rated { .. } => dm.enabled && dm.csat,
        ChangeKind::DueSoon { .. } => t.due_soon,
        ChangeKind::Reminder { .. } => a.reminder,
        ChangeKind::Missed { .. } => true,
    }
}

/// The targets of a change (none when switched off or made by its owner).
pub fn targets(change: &Change, config: &Config, agents: &Agents) -> Vec<Target> {
    if !switched_on(&change.kind, config) {
        return Vec::new();
    }
    let dm_on = config.notify.dm.enabled;
    if let ChangeKind::Mentioned { zuid, edited, .. } = &change.kind {
        // Only agents of this portal are DMed (a comment can name any number), never the one
        // who wrote it.
        let Some(agent) = agents.by_zuid(zuid).filter(|a| a.reachable_in_cliq()) else {
            return Vec::new();
        };
        let actor_zuid = change.actor.as_deref().and_then(|a| agents.cliq_user(a));
        if actor_zuid == Some(zuid.as_str()) {
            return Vec::new();
        }
        // The owner hears of the comment (or its edit) itself by DM already, when those are
        // announced; otherwise the mention is how they hear of it.
        let comment_announced = if *edited {
            config.notify.ticket.comment_edited
        } else {
            config.notify.ticket.comment_added
        };
        if dm_on
            && comment_announced
            && change.owner.as_deref() == Some(agent.id.as_str())
            && change.actor != change.owner
        {
            return Vec::new();
        }
        return vec![Target::Dm(vec![zuid.clone()])];
    }
    if let ChangeKind::Rated { .. } = &change.kind {
        // Always a DM to the agent concerned, and nowhere else: the feedback is theirs.
        return match (
            dm_on,
            change.owner.as_deref().and_then(|o| agents.cliq_user(o)),
        ) {
            (true, Some(user)) => vec![Target::Dm(vec![user.to_string()])],
            _ => Vec::new(),
        };
    }
    // A change made by the record's owner is not announced.
    if change.actor.is_some() && change.actor == change.owner {
        return Vec::new();
    }
    let owner_user = change.owner.as_deref().and_then(|o| agents.cliq_user(o));
    if let (true, Some(user)) = (dm_on, owner_user) {
        return vec![Target::Dm(vec![user.to_string()])];
    }
    // Unassigned, team only, or an owner without a Cliq user: the department's channel.
    let route = config.route(change.department_id.as_deref().unwrap_or(""));
    if route.enabled {
        vec![Target::Channel(route.channel.to_string())]
    } else {
        Vec::new()
    }
}
