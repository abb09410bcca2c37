//! The simulated Cliq organisation's seed and its scripting methods (bots, channels,
//! users, refused APIs).

use std::collections::BTreeMap;

use super::state::*;
use super::{BOT, CLIQ_ORG_ID, FOREIGN_CLIQ_ZUID, OTHER_CLIQ_ORG_ID};

/// The seeded bot: `deskbot` (Deskbot), a webhook bot without handlers yet.
pub(super) fn seeded_bots() -> BTreeMap<String, SimBot> {
    let bot = SimBot {
        id: "227828000000120001".into(),
        unique_name: BOT.into(),
        name: "Deskbot".into(),
        description: "Zoho Desk notifications".into(),
        scope: "organization".into(),
        execution_type: "webhook".into(),
        execution_url: Some("https://deskcliq.example.com/cliq/callback".into()),
        channel_participation: vec!["send_message".into()],
        handlers: Vec::new(),
        creator: SERVICE_ZUID.into(),
    };
    BTreeMap::from([(BOT.to_string(), bot)])
}

/// The Cliq users: the service account, the seeded agents (same zuids as in Desk) and
/// one user of another organisation.
pub(super) fn seeded_cliq_users() -> Vec<SimCliqUser> {
    let user =
        |id: &str, email: &str, first: &str, last: &str, org: &str, admin: bool| SimCliqUser {
            id: id.into(),
            email: email.into(),
            first_name: first.into(),
            last_name: last.into(),
            organization_id: org.into(),
            admin,
        };
    vec![
        user(
            SERVICE_ZUID,
            "deskcliq-service@example.co.jp",
            "deskcliq",
            "Service",
            CLIQ_ORG_ID,
            true,
        ),
        user(
            "55667788",
            "sato@example.co.jp",
            "Hanako",
            "Sato",
            CLIQ_ORG_ID,
            false,
        ),
        user(
            "55667789",
            "suzuki@example.co.jp",
            "Taro",
            "Suzuki",
            CLIQ_ORG_ID,
            false,
        ),
        user(
            "55667790",
            "kim@example.com",
            "Alex",
            "Kim",
            CLIQ_ORG_ID,
            false,
        ),
        user(
            FOREIGN_CLIQ_ZUID,
            "park@partner.example.com",
            "Mina",
            "Park",
            OTHER_CLIQ_ORG_ID,
            false,
        ),
    ]
}

/// The zuid of the service grant's user.
const SERVICE_ZUID: &str = "70000001";

impl State {
    /// Makes every Cliq administration API whose path contains `path_contains` (e.g.
    /// `/api/v3/commands`, `/handlers`, `/api/v2/users`) answer 403 with a permission error.
    pub fn refuse_cliq_api(&mut self, path_contains: &str) {
        self.cliq.refusals.push(CliqRefusal {
            path_contains: path_contains.into(),
            writes_only: false,
        });
    }

    /// Like [`State::refuse_cliq_api`] for changes only (POST, PATCH, DELETE): reads work.
    pub fn refuse_cliq_writes(&mut self, path_contains: &str) {
        self.cliq.refusals.push(CliqRefusal {
            path_contains: path_contains.into(),
            writes_only: true,
        });
    }

    /// Lifts every refusal made by [`State::refuse_cliq_api`] / [`State::refuse_cliq_writes`].
    pub fn allow_cliq_api(&mut self) {
        self.cliq.refusals.clear();
    }

    /// Takes the bot out of a channel (as a channel admin can). Returns whether it was in.
    pub fn remove_bot_from_channel(&mut self, unique_name: &str) -> bool {
        match self.cliq.channels.get_mut(unique_name) {
            Some(c) if c.bot_member => {
                c.bot_member = false;
                true
            }
            _ => false,
        }
    }

    /// Deletes a Cliq channel. Returns whether it existed.
    pub fn delete_channel(&mut self, unique_name: &str) -> bool {
        self.cliq.channels.remove(unique_name).is_some()
    }

    /// Deletes a bot (it can no longer post, nor be found). Returns whether it existed.
    pub fn delete_bot(&mut self, unique_name: &str) -> bool {
        let existed = self.cliq.bot_records.remove(unique_name).is_some();
        let listed = self.cliq.bots.iter().any(|b| b == unique_name);
        self.cliq.bots.retain(|b| b != unique_name);
        existed || listed
    }

    /// Adds (or replaces) a Cliq user of organisation `organization_id`.
    pub fn add_cliq_user(
        &mut self,
        zuid: &str,
        email: &str,
        first_name: &str,
        last_name: &str,
        organization_id: &str,
    ) {
        self.cliq.users.retain(|u| u.id != zuid);
        self.cliq.users.push(SimCliqUser {
            id: zuid.into(),
            email: email.into(),
            first_name: first_name.into(),
            last_name: last_name.into(),
            organization_id: organization_id.into(),
            admin: false,
        });
    }

    /// Adds a user of another Cliq organisation ([`OTHER_CLIQ_ORG_ID`]).
    pub fn add_foreign_cliq_user(&mut self, zuid: &str, email: &str) {
        self.add_cliq_user(zuid, email, "External", "User", OTHER_CLIQ_ORG_ID);
    }

    /// Removes a Cliq user (an agent then maps to nobody). Returns whether they existed.
    pub fn remove_cliq_user(&mut self, zuid: &str) -> bool {
        let before = self.cliq.users.len();
        self.cliq.users.retain(|u| u.id != zuid);
        self.cliq.users.len() != before
    }

    /// The bot with this unique name, as the v3 Bots API keeps it.
    pub fn cliq_bot(&self, unique_name: &str) -> Option<&SimBot> {
        self.cliq.bot_records.get(unique_name)
    }

    /// The slash command with this name.
    pub fn cliq_command(&self, name: &str) -> Option<&SimCommand> {
        self.cliq.commands.iter().find(|c| c.name == name)
    }

    /// The function with this name.
    pub fn cliq_function(&self, name: &str) -> Option<&SimFunction> {
        self.cliq.functions.iter().find(|f| f.name == name)
    }

    /// A fresh id for a platform component.
    pub fn new_component_id(&mut self) -> String {
        self.cliq.next_component += 1;
        self.cliq.next_component.to_string()
    }
}
