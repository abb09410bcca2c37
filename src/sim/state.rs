//! The simulator's world and the changes the scripting API and the API handlers make to it.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use super::model::*;
use super::webhooks::Outgoing;
use super::{BOT, CLIQ_ORG_ID, DESK_ORG_ID, SERVICE_REFRESH_TOKEN};

pub struct State {
    pub accounts: Accounts,
    pub desk: Desk,
    pub cliq: Cliq,
    pub faults: Vec<Fault>,
    /// Random trouble (see [`Chaos`]).
    pub chaos: Option<Chaos>,
    /// When each request reached Cliq's posting endpoints (simulator clock).
    pub cliq_post_times: Vec<DateTime<Utc>>,
    pub latency: Duration,
    pub deliveries: Vec<Delivery>,
    /// Deliver every batch twice (Desk may).
    pub deliver_twice: bool,
    /// Deliver the changes queued meanwhile together, one JSON array per webhook, as Desk
    /// batches events (desk-api.md: "a JSON array of events").
    pub batch_deliveries: bool,
    /// Send the JWT's `exp` in milliseconds instead of seconds (Desk has done both).
    pub jwt_exp_in_millis: bool,
    pub desk_credits: u64,
    pub desk_in_flight: usize,
    pub desk_max_in_flight: usize,
    /// The plan's concurrent-call limit; past it Desk answers 429.
    pub desk_concurrency_limit: usize,
    /// Where the portal's ticket pages are (`webUrl`): the simulator's own address.
    pub web_base: String,
    /// Requests that reached the Cliq posting endpoints (accepted or not).
    pub cliq_post_requests: usize,
    /// From-addresses configured in the portal (a reply must use one).
    pub from_addresses: Vec<String>,
    /// How "the internet" reaches a public host: host → loopback address (a reverse proxy in
    /// front of deskcliq). Desk's validation requests and deliveries go through it.
    pub public_hosts: HashMap<String, String>,
}

impl State {
    /// A portal with two departments, three agents and a team; a Cliq org with the bot in
    /// the `desk` channel; the service grant.
    pub fn seeded(now: DateTime<Utc>) -> State {
        let mut accounts = Accounts::default();
        accounts.grants.insert(
            SERVICE_REFRESH_TOKEN.to_string(),
            Grant {
                zuid: "70000001".into(),
                email: "deskcliq-service@example.co.jp".into(),
                scopes: Vec::new(),
                offline: true,
            },
        );
        let departments = vec![
            SimDepartment {
                id: "1892000000082069".into(),
                name: "Support".into(),
                is_enabled: true,
                description: "Support".into(),
                is_default: true,
            },
            SimDepartment {
                id: "1892000000082070".into(),
                name: "Billing".into(),
                is_enabled: true,
                description: "請求".into(),
                is_default: false,
            },
        ];
        let agent =
            |id: &str, first: &str, last: &str, email: &str, zuid: &str, deps: &[&str]| SimAgent {
                id: id.into(),
                first_name: first.into(),
                last_name: last.into(),
                name: format!("{first} {last}"),
                email_id: email.into(),
                zuid: zuid.into(),
                status: "ACTIVE".into(),
                associated_department_ids: deps.iter().map(|d| d.to_string()).collect(),
                role_id: "1892000000056005".into(),
                role_permission_type: "AgentPublic".into(),
                is_confirmed: true,
                photo_url: None,
            };
        let agents = vec![
            agent(
                "1892000000056007",
                "Hanako",
                "Sato",
                "sato@example.co.jp",
                "55667788",
                &["1892000000082069"],
            ),
            agent(
                "1892000000056008",
                "Taro",
                "Suzuki",
                "suzuki@example.co.jp",
                "55667789",
                &["1892000000082069", "1892000000082070"],
            ),
            agent(
                "1892000000056009",
                "Alex",
                "Kim",
                "kim@example.com",
                "55667790",
                &["1892000000082070"],
            ),
        ];
        let teams = vec![SimTeam {
            id: "1892000000090001".into(),
            name: "Tier 2".into(),
            description: "Escalations".into(),
            department_id: "1892000000082069".into(),
            roles: vec![],
            sub_roles: vec![],
        }];
        let mut channels = BTreeMap::new();
        channels.insert(
            "desk".to_string(),
            SimChannel {
                channel_id: "O1000000000001".into(),
                chat_id: "CT_1000000000001".into(),
                name: "desk".into(),
                unique_name: "desk".into(),
                bot_member: true,
            },
        );
        let _ = now;
        State {
            accounts,
            desk: Desk {
                org_id: DESK_ORG_ID.into(),
                departments,
                agents,
                teams,
                tickets: BTreeMap::new(),
                comments: Vec::new(),
                threads: Vec::new(),
                tasks: Vec::new(),
                ratings: Vec::new(),
                ratings_time_filter: true,
                webhooks: Vec::new(),
                statuses: DEFAULT_STATUSES
                    .iter()
                    .map(|(name, kind)| (name.to_string(), kind.to_string()))
                    .collect(),
                next_id: 1_892_000_000_100_000,
                next_number: 100,
            },
            cliq: Cliq {
                org_id: CLIQ_ORG_ID.into(),
                bots: vec![BOT.into()],
                channels,
                records: Vec::new(),
                sent: HashMap::new(),
                locked_until: HashMap::new(),
                associate_calls: HashMap::new(),
                next: 0,
                responses: Vec::new(),
                bot_records: super::cliq_state::seeded_bots(),
                commands: Vec::new(),
                functions: Vec::new(),
                users: super::cliq_state::seeded_cliq_users(),
                refusals: Vec::new(),
                next_component: 227_828_000_000_130_000,
            },
            faults: Vec::new(),
            chaos: None,
            cliq_post_times: Vec::new(),
            latency: Duration::ZERO,
            deliveries: Vec::new(),
            deliver_twice: false,
            batch_deliveries: false,
            jwt_exp_in_millis: false,
            desk_credits: 0,
            desk_in_flight: 0,
            desk_max_in_flight: 0,
            desk_concurrency_limit: 10,
            cliq_post_requests: 0,
            web_base: "https://desk.zoho.jp".into(),
            from_addresses: vec!["support@example.zohodesk.jp".into()],
            public_hosts: HashMap::new(),
        }
    }

    /// Makes `host` (of an `https://host/...` URL) reach `addr` (`127.0.0.1:port`), as a
    /// reverse proxy with a certificate would.
    pub fn public_host(&mut self, host: &str, addr: &str) {
        self.public_hosts
            .insert(host.to_ascii_lowercase(), addr.to_string());
    }

    /// The URL a request to `url` really goes to.
    pub fn reach(&self, url: &str) -> String {
        let Ok(u) = url::Url::parse(url) else {
            return url.to_string();
        };
        match u
            .host_str()
            .and_then(|h| self.public_hosts.get(&h.to_ascii_lowercase()))
        {
            Some(addr) => {
                let mut path = u.path().to_string();
                if let Some(q) = u.query() {
                    path = format!("{path}?{q}");
                }
                format!("http://{addr}{path}")
            }
            None => url.to_string(),
        }
    }

    /// Puts (or replaces) deskcliq's webhook `id` on the portal, pointed at `url`, as
    /// `deskcliq install` would have left it for the events deskcliq announces.
    pub fn add_deskcliq_webhook(&mut self, id: &str, url: String, created_time: DateTime<Utc>) {
        self.desk.webhooks.retain(|w| w.id != id);
        self.desk.webhooks.push(SimWebhook {
            id: id.to_string(),
            name: "deskcliq".into(),
            url,
            description: None,
            subscriptions: serde_json::json!({
                "Ticket_Add": null,
                "Ticket_Update": {"includePrevState": true},
                "Ticket_Comment_Add": null,
                "Ticket_Comment_Update": null,
                "Task_Add": null,
                "Task_Update": {"includePrevState": true},
            }),
            include_events_from: vec![],
            ignore_source_id: None,
            is_enabled: true,
            created_time,
            kind: "CUSTOMER_WEBHOOK".into(),
        });
    }

    /// Adds a Cliq channel (with the bot as a member when `bot_member`).
    pub fn add_channel(&mut self, unique_name: &str, bot_member: bool) {
        self.cliq.next += 1;
        let n = self.cliq.next;
        self.cliq.channels.insert(
            unique_name.to_string(),
            SimChannel {
                channel_id: format!("O20000000{n:05}"),
                chat_id: format!("CT_20000000{n:05}"),
                name: unique_name.to_string(),
                unique_name: unique_name.to_string(),
                bot_member,
            },
        );
    }

    /// Adds a ticket status to the portal (a custom status), or changes the type of an
    /// existing one. `status_type` is `Open`, `On Hold` or `Closed`.
    pub fn add_status(&mut self, name: &str, status_type: &str) {
        match self.desk.statuses.iter_mut().find(|(n, _)| n == name) {
            Some((_, kind)) => *kind = status_type.to_string(),
            None => self
                .desk
                .statuses
                .push((name.to_string(), status_type.to_string())),
        }
    }

    pub fn ticket(&self, id: &str) -> Option<&SimTicket> {
        id.parse::<u64>()
            .ok()
            .and_then(|n| self.desk.tickets.get(&n))
    }

    pub fn create_ticket(
        &mut self,
        t: NewTicket,
        now: DateTime<Utc>,
    ) -> (SimTicket, Vec<Outgoing>) {
        let id = self.desk.new_id();
        self.desk.next_number += 1;
        let contact_id = self.desk.new_id();
        let ticket = SimTicket {
            web_url: format!(
                "{}/support/example/ShowHomePage.do#Cases/dv/{id}",
                self.web_base
            ),
            id: id.clone(),
            ticket_number: self.desk.next_number.to_string(),
            subject: t.subject,
            description: t.description,
            status: "Open".into(),
            status_type: "Open".into(),
            due_date: t.due_date,
            response_due_date: None,
            is_over_due: false,
            is_escalated: false,
            is_spam: false,
            department_id: t.department_id,
            assignee_id: t.assignee_id,
            team_id: t.team_id,
            contact_id,
            email: Some(t.contact_email),
            phone: None,
            priority: t.priority,
            channel: "Email".into(),
            language: Some("Japanese".into()),
            created_time: now,
            modified_time: now,
            closed_time: None,
            onhold_time: None,
            customer_response_time: Some(now),
            created_by: t.created_by.clone().unwrap_or_else(|| "0".into()),
            modified_by: t.created_by.unwrap_or_else(|| "0".into()),
            thread_count: "1".into(),
            comment_count: "0".into(),
            cf: serde_json::json!({}),
        };
        let n: u64 = id.parse().unwrap_or_default();
        self.desk.tickets.insert(n, ticket.clone());
        // An email ticket starts with the customer's message (threadCount 1).
        let thread_id = self.desk.new_id();
        self.desk.threads.push(SimThread {
            id: thread_id,
            ticket_id: ticket.id.clone(),
            channel: "EMAIL".into(),
            direction: "in".into(),
            content: ticket.description.clone().unwrap_or_default(),
            content_type: "text/plain".into(),
            from_email_address: ticket.email.clone().unwrap_or_default(),
            to: self.from_addresses.first().cloned().unwrap_or_default(),
            created_time: now,
            status: "SUCCESS".into(),
            responder_id: None,
            author: serde_json::json!({"email": ticket.email, "type": "END_USER"}),
        });
        let events = self.events_for("Ticket_Add", &ticket.department_id, now, |_| {
            (serde_json::to_value(&ticket).unwrap_or_default(), None)
        });
        (ticket, events)
    }

    pub fn update_ticket(
        &mut self,
        id: &str,
        patch: TicketPatch,
        actor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Option<(SimTicket, Vec<Outgoing>)> {
        let n: u64 = id.parse().ok()?;
        let before = self.desk.tickets.get(&n)?.clone();
        // The portal's status list decides the type (a name it lacks: Desk's defaults).
        let status = patch.status.map(|status| {
            let kind = self
                .desk
                .status_type(&status)
                .unwrap_or_else(|| status_type_of(&status))
                .to_string();
            (status, kind)
        });
        let t = self.desk.tickets.get_mut(&n)?;
        if let Some(s) = patch.subject {
            t.subject = s;
        }
        if let Some((status, kind)) = status {
            if kind == "Closed" && t.status_type != "Closed" {
                t.closed_time = Some(now);
            }
            if kind != "Closed" {
                t.closed_time = None;
            }
            t.onhold_time = (kind == "On Hold").then_some(now);
            t.status_type = kind;
            t.status = status;
        }
        if let Some(a) = patch.assignee_id {
            t.assignee_id = a;
        }
        if let Some(team) = patch.team_id {
            t.team_id = team;
        }
        if let Some(d) = patch.department_id {
            t.department_id = d;
        }
        if let Some(d) = patch.due_date {
            t.due_date = d;
        }
        if let Some(p) = patch.priority {
            t.priority = Some(p);
        }
        if let Some(e) = patch.is_escalated {
            t.is_escalated = e;
        }
        t.modified_time = now;
        if let Some(a) = actor {
            t.modified_by = a.to_string();
        }
        let after = t.clone();
        let events = self.events_for("Ticket_Update", &after.department_id, now, |wh| {
            let prev = wants_prev_state(wh, "Ticket_Update")
                .then(|| serde_json::to_value(&before).unwrap_or_default());
            (serde_json::to_value(&after).unwrap_or_default(), prev)
        });
        Some((after, events))
    }

    pub fn add_comment(
        &mut self,
        ticket_id: &str,
        author: &str,
        content: &str,
        public: bool,
        now: DateTime<Utc>,
    ) -> Option<(SimComment, Vec<Outgoing>)> {
        let department = self.ticket(ticket_id)?.department_id.clone();
        let id = self.desk.new_id();
        let commenter = self
            .desk
            .agents
            .iter()
            .find(|a| a.id == author)
            .map(|a| {
                serde_json::json!({"id": a.id, "firstName": a.first_name, "lastName": a.last_name,
                                   "name": a.name, "email": a.email_id, "type": "AGENT"})
            })
            .unwrap_or_else(|| serde_json::json!({"id": author, "type": "AGENT"}));
        let comment = SimComment {
            id,
            ticket_id: ticket_id.to_string(),
            content: content.to_string(),
            content_type: "plainText".into(),
            is_public: public,
            commented_time: now,
            modified_time: None,
            commenter_id: author.to_string(),
            commenter,
        };
        self.desk.comments.push(comment.clone());
        if let Some(t) = ticket_id
            .parse::<u64>()
            .ok()
            .and_then(|n| self.desk.tickets.get_mut(&n))
        {
            let count: u64 = t.comment_count.parse().unwrap_or(0);
            t.comment_count = (count + 1).to_string();
        }
        let events = self.events_for("Ticket_Comment_Add", &department, now, |_| {
            let mut v = serde_json::to_value(&comment).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("ticketId".into(), ticket_id.into());
            }
            (v, None)
        });
        Some((comment, events))
    }

    /// A new activity (task); Desk sends `Task_Add`.
    pub fn create_task(
        &mut self,
        mut task: SimTask,
        now: DateTime<Utc>,
    ) -> (SimTask, Vec<Outgoing>) {
        if task.id.is_empty() {
            task.id = self.desk.new_id();
        }
        task.created_time = now.timestamp_millis();
        task.modified_time = now.timestamp_millis();
        self.desk.tasks.push(task.clone());
        let dep = task.department_id.clone();
        let events = self.events_for("Task_Add", &dep, now, |_| {
            (serde_json::to_value(&task).unwrap_or_default(), None)
        });
        (task, events)
    }

    /// Completes a task; Desk sends `Task_Update` (with `prevState` where subscribed).
    pub fn complete_task(
        &mut self,
        id: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Option<(SimTask, Vec<Outgoing>)> {
        let before = self.desk.tasks.iter().find(|t| t.id == id)?.clone();
        let t = self.desk.tasks.iter_mut().find(|t| t.id == id)?;
        t.status = "Completed".into();
        t.status_type = "Closed".into();
        t.completed_time = Some(now.timestamp_millis());
        t.modified_time = now.timestamp_millis();
        t.modified_by = serde_json::json!({"id": actor});
        let after = t.clone();
        let events = self.events_for("Task_Update", &after.department_id, now, |wh| {
            let prev = wants_prev_state(wh, "Task_Update")
                .then(|| serde_json::to_value(&before).unwrap_or_default());
            (serde_json::to_value(&after).unwrap_or_default(), prev)
        });
        Some((after, events))
    }

    /// Edits a comment; Desk sends `Ticket_Comment_Update`.
    pub fn edit_comment(
        &mut self,
        comment_id: &str,
        content: &str,
        now: DateTime<Utc>,
    ) -> Option<(SimComment, Vec<Outgoing>)> {
        let c = self.desk.comments.iter_mut().find(|c| c.id == comment_id)?;
        c.content = content.to_string();
        c.modified_time = Some(now);
        let comment = c.clone();
        let department = self.ticket(&comment.ticket_id)?.department_id.clone();
        let events = self.events_for("Ticket_Comment_Update", &department, now, |_| {
            let mut v = serde_json::to_value(&comment).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("ticketId".into(), comment.ticket_id.clone().into());
            }
            (v, None)
        });
        Some((comment, events))
    }

    /// A customer-satisfaction rating on a ticket.
    pub fn add_rating(
        &mut self,
        ticket_id: &str,
        rating: &str,
        feedback: Option<&str>,
        now: DateTime<Utc>,
    ) -> Option<SimRating> {
        let t = self.ticket(ticket_id)?.clone();
        let id = self.desk.new_id();
        let r = SimRating {
            id,
            rating: rating.to_string(),
            feedback: feedback.map(str::to_string),
            ticket_id: t.id,
            ticket_number: t.ticket_number,
            department_id: t.department_id,
            agent_id: t.assignee_id,
            contact_id: t.contact_id,
            rated_time: now,
        };
        self.desk.ratings.push(r.clone());
        Some(r)
    }

    /// The webhook events one change makes: one per subscribed webhook.
    fn events_for(
        &self,
        event_type: &str,
        department_id: &str,
        now: DateTime<Utc>,
        body: impl Fn(&SimWebhook) -> (serde_json::Value, Option<serde_json::Value>),
    ) -> Vec<Outgoing> {
        self.desk
            .webhooks
            .iter()
            .filter(|w| w.is_enabled)
            .filter_map(|w| {
                let sub = w.subscriptions.get(event_type)?;
                let deps = sub
                    .get("departmentIds")
                    .and_then(|d| d.as_array())
                    .filter(|d| !d.is_empty());
                if let Some(deps) = deps
                    && !deps.iter().any(|d| match d {
                        serde_json::Value::String(s) => s == department_id,
                        serde_json::Value::Number(n) => n.to_string() == department_id,
                        _ => false,
                    })
                {
                    return None;
                }
                let (payload, prev) = body(w);
                let mut event = serde_json::json!({
                    "eventType": event_type,
                    "orgId": self.desk.org_id,
                    "eventTime": now.timestamp_millis().to_string(),
                    "payload": payload,
                });
                if let (Some(prev), Some(o)) = (prev, event.as_object_mut()) {
                    o.insert("prevState".into(), prev);
                }
                Some(Outgoing {
                    webhook_id: w.id.clone(),
                    url: w.url.clone(),
                    events: vec![event],
                })
            })
            .collect()
    }
}

/// Whether webhook `wh` asked for `prevState` on `event` (`includePrevState: true`).
fn wants_prev_state(wh: &SimWebhook, event: &str) -> bool {
    wh.subscriptions
        .get(event)
        .and_then(|s| s.get("includePrevState"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// The status type Desk gives a status name (custom statuses are Open).
pub fn status_type_of(status: &str) -> &'static str {
    match status {
        "Closed" => "Closed",
        "On Hold" => "On Hold",
        _ => "Open",
    }
}
