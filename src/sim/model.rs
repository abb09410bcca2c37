//! The records of the simulated world: grants, Desk records as Zoho serialises them, Cliq
//! messages, faults.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Zoho's timestamp format: ISO-8601 UTC with milliseconds.
pub fn zoho_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn opt_time<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&zoho_time(*t)),
        None => s.serialize_none(),
    }
}

fn time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&zoho_time(*t))
}

// ---------------------------------------------------------------- accounts

pub struct Grant {
    /// The Zoho user the grant acts as (zuid).
    pub zuid: String,
    pub email: String,
    /// The scopes the user consented to (empty for grants made by the scripting API).
    pub scopes: Vec<String>,
    /// Offline grants are refresh tokens the client holds; an online grant (`access_type=online`)
    /// only backs the access token issued with it and is never disclosed.
    pub offline: bool,
}

pub struct AccessToken {
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
}

pub struct AuthCode {
    pub zuid: String,
    pub email: String,
    pub redirect_uri: String,
    /// The scopes asked for at `/oauth/v2/auth`; the grant made from the code keeps them.
    pub scopes: Vec<String>,
    /// `access_type=offline`: the exchange answers with a refresh token.
    pub offline: bool,
}

/// The Zoho user signed in to the simulated browser that visits `/oauth/v2/auth`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserUser {
    pub zuid: String,
    pub email: String,
}

#[derive(Default)]
pub struct Accounts {
    pub grants: HashMap<String, Grant>,
    pub access: HashMap<String, AccessToken>,
    pub refresh_log: HashMap<String, VecDeque<DateTime<Utc>>>,
    pub codes: HashMap<String, AuthCode>,
    /// Who is signed in to the browser that opens `/oauth/v2/auth` (`None`: nobody).
    pub browser_user: Option<BrowserUser>,
    /// The signed-in user presses "Reject" on the consent page.
    pub deny_consent: bool,
    /// Access tokens issued (both grants).
    pub issued: usize,
    pub next: u64,
}

// ---------------------------------------------------------------- desk

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimDepartment {
    pub id: String,
    pub name: String,
    pub is_enabled: bool,
    pub description: String,
    pub is_default: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimAgent {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub name: String,
    pub email_id: String,
    pub zuid: String,
    pub status: String,
    pub associated_department_ids: Vec<String>,
    pub role_id: String,
    /// `Admin` for administrators, `AgentPublic` for the others here.
    pub role_permission_type: String,
    pub is_confirmed: bool,
    #[serde(rename = "photoURL")]
    pub photo_url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimTeam {
    pub id: String,
    pub name: String,
    pub description: String,
    pub department_id: String,
    pub roles: Vec<String>,
    pub sub_roles: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimTicket {
    pub id: String,
    pub ticket_number: String,
    pub subject: String,
    pub description: Option<String>,
    pub status: String,
    pub status_type: String,
    #[serde(serialize_with = "opt_time")]
    pub due_date: Option<DateTime<Utc>>,
    #[serde(serialize_with = "opt_time")]
    pub response_due_date: Option<DateTime<Utc>>,
    pub is_over_due: bool,
    pub is_escalated: bool,
    pub is_spam: bool,
    pub department_id: String,
    pub assignee_id: Option<String>,
    pub team_id: Option<String>,
    pub contact_id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub priority: Option<String>,
    pub channel: String,
    pub language: Option<String>,
    #[serde(serialize_with = "time")]
    pub created_time: DateTime<Utc>,
    #[serde(serialize_with = "time")]
    pub modified_time: DateTime<Utc>,
    #[serde(serialize_with = "opt_time")]
    pub closed_time: Option<DateTime<Utc>>,
    #[serde(serialize_with = "opt_time")]
    pub onhold_time: Option<DateTime<Utc>>,
    #[serde(serialize_with = "opt_time")]
    pub customer_response_time: Option<DateTime<Utc>>,
    pub created_by: String,
    pub modified_by: String,
    pub web_url: String,
    /// Zoho's samples send these counts as strings.
    pub thread_count: String,
    pub comment_count: String,
    pub cf: serde_json::Value,
}

#[derive(Debug, Clone, Default)]
pub struct NewTicket {
    pub subject: String,
    pub description: Option<String>,
    pub department_id: String,
    pub contact_email: String,
    pub assignee_id: Option<String>,
    pub team_id: Option<String>,
    pub due_date: Option<DateTime<Utc>>,
    pub priority: Option<String>,
    /// The agent who created it (`None`: the customer, by email).
    pub created_by: Option<String>,
}

/// A change to a ticket; `Some(None)` clears a field.
#[derive(Debug, Clone, Default)]
pub struct TicketPatch {
    pub subject: Option<String>,
    pub status: Option<String>,
    pub assignee_id: Option<Option<String>>,
    pub team_id: Option<Option<String>>,
    pub department_id: Option<String>,
    pub due_date: Option<Option<DateTime<Utc>>>,
    pub priority: Option<String>,
    pub is_escalated: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimComment {
    pub id: String,
    #[serde(skip)]
    pub ticket_id: String,
    pub content: String,
    pub content_type: String,
    pub is_public: bool,
    #[serde(serialize_with = "time")]
    pub commented_time: DateTime<Utc>,
    #[serde(serialize_with = "opt_time")]
    pub modified_time: Option<DateTime<Utc>>,
    pub commenter_id: String,
    pub commenter: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimThread {
    pub id: String,
    #[serde(skip)]
    pub ticket_id: String,
    pub channel: String,
    pub direction: String,
    pub content: String,
    pub content_type: String,
    pub from_email_address: String,
    pub to: String,
    #[serde(serialize_with = "time")]
    pub created_time: DateTime<Utc>,
    pub status: String,
    /// The agent who sent it (outgoing replies).
    pub responder_id: Option<String>,
    /// `{id, firstName, lastName, name, email, photoURL, type}` as Desk's threads carry it.
    pub author: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimTask {
    pub id: String,
    pub subject: String,
    pub department_id: String,
    pub ticket_id: Option<String>,
    pub owner_id: String,
    pub creator_id: String,
    pub status: String,
    pub status_type: String,
    /// Task examples give times as epoch milliseconds.
    pub due_date: Option<i64>,
    pub completed_time: Option<i64>,
    pub reminder: Vec<serde_json::Value>,
    pub created_time: i64,
    pub modified_time: i64,
    pub web_url: String,
    pub modified_by: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimRating {
    pub id: String,
    pub rating: String,
    pub feedback: Option<String>,
    pub ticket_id: String,
    pub ticket_number: String,
    pub department_id: String,
    pub agent_id: Option<String>,
    pub contact_id: String,
    #[serde(serialize_with = "time")]
    pub rated_time: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimWebhook {
    pub id: String,
    pub name: String,
    pub url: String,
    pub description: Option<String>,
    pub subscriptions: serde_json::Value,
    pub include_events_from: Vec<String>,
    pub ignore_source_id: Option<String>,
    pub is_enabled: bool,
    #[serde(serialize_with = "time")]
    pub created_time: DateTime<Utc>,
    #[serde(rename = "type")]
    pub kind: String,
}

/// One delivery attempt of a batch of events.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub webhook_id: String,
    pub url: String,
    pub jwt: String,
    pub body: serde_json::Value,
    /// The receiver's status, or `None` when it could not be reached.
    pub status: Option<u16>,
}

pub struct Desk {
    pub org_id: String,
    pub departments: Vec<SimDepartment>,
    pub agents: Vec<SimAgent>,
    pub teams: Vec<SimTeam>,
    pub tickets: BTreeMap<u64, SimTicket>,
    pub comments: Vec<SimComment>,
    pub threads: Vec<SimThread>,
    pub tasks: Vec<SimTask>,
    pub ratings: Vec<SimRating>,
    /// Whether the ratings list honours `startTime` / `endTime`. Zoho documents no time
    /// filter for it (desk-api.md [?]): false plays a Desk that ignores them.
    pub ratings_time_filter: bool,
    pub webhooks: Vec<SimWebhook>,
    /// The portal's ticket statuses, in order: (name, status type `Open` | `On Hold` | `Closed`).
    pub statuses: Vec<(String, String)>,
    pub next_id: u64,
    pub next_number: u64,
}

impl Desk {
    pub fn new_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    /// The status type of a status of the portal (`None`: not one of its statuses).
    pub fn status_type(&self, status: &str) -> Option<&str> {
        self.statuses
            .iter()
            .find(|(name, _)| name == status)
            .map(|(_, kind)| kind.as_str())
    }
}

/// The statuses a new portal has: (name, status type).
pub const DEFAULT_STATUSES: [(&str, &str); 4] = [
    ("Open", "Open"),
    ("On Hold", "On Hold"),
    ("Escalated", "Open"),
    ("Closed", "Closed"),
];

// ---------------------------------------------------------------- cliq

#[derive(Debug, Clone)]
pub struct SimChannel {
    pub channel_id: String,
    pub chat_id: String,
    pub name: String,
    pub unique_name: String,
    pub bot_member: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliqTarget {
    Channel(String),
    /// A bot DM to these users (ids or emails, as given).
    Dm(Vec<String>),
}

/// A message Cliq accepted.
#[derive(Debug, Clone)]
pub struct CliqRecord {
    pub target: CliqTarget,
    /// The Zoho user whose token posted it.
    pub sender: String,
    pub message: serde_json::Value,
    pub chat_id: String,
    pub message_id: String,
    pub at: DateTime<Utc>,
    pub edits: Vec<String>,
}

pub struct Cliq {
    pub org_id: String,
    pub bots: Vec<String>,
    pub channels: BTreeMap<String, SimChannel>,
    pub records: Vec<CliqRecord>,
    pub sent: HashMap<String, VecDeque<DateTime<Utc>>>,
    pub locked_until: HashMap<String, DateTime<Utc>>,
    pub associate_calls: HashMap<String, VecDeque<DateTime<Utc>>>,
    pub next: u64,
    /// What reached the `response_url`s of callbacks, in order: (path, body).
    pub responses: Vec<(String, serde_json::Value)>,
    /// The bots' configurations (v3 Bots API), by unique name; `bots` lists the same names.
    pub bot_records: BTreeMap<String, SimBot>,
    /// Slash commands (v3 Slash Commands API), in creation order.
    pub commands: Vec<SimCommand>,
    /// Functions (v3 Functions API), in creation order.
    pub functions: Vec<SimFunction>,
    /// Users known to this organisation's Cliq, with their organisation.
    pub users: Vec<SimCliqUser>,
    /// Administration APIs scripted to refuse with a permission error.
    pub refusals: Vec<CliqRefusal>,
    /// Ids of platform components (bots, handlers, commands, functions).
    pub next_component: u64,
}

/// A handler of a bot, command or function as Cliq keeps it (webhook components carry
/// `permissions`; menu actions a `name`, `icon` and `position`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimHandler {
    pub id: String,
    /// `message_handler`, `menu_handler`, `execution_handler`, `button_handler`…
    pub kind: String,
    pub name: Option<String>,
    pub icon: Option<String>,
    pub position: Option<u32>,
    pub permissions: Vec<String>,
}

/// A bot (v3 Bots API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimBot {
    /// Numeric id; paths use `b-{id}`.
    pub id: String,
    pub unique_name: String,
    pub name: String,
    pub description: String,
    pub scope: String,
    /// `deluge` | `webhook`.
    pub execution_type: String,
    pub execution_url: Option<String>,
    pub channel_participation: Vec<String>,
    pub handlers: Vec<SimHandler>,
    /// The zuid of the user who created it.
    pub creator: String,
}

/// A slash command (v3 Slash Commands API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimCommand {
    pub id: String,
    pub name: String,
    pub hint: String,
    pub description: String,
    pub scope: String,
    pub execution_type: String,
    pub execution_url: Option<String>,
    pub handlers: Vec<SimHandler>,
    pub creator: String,
}

/// A function (v3 Functions API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimFunction {
    pub id: String,
    pub name: String,
    pub description: String,
    /// `button` | `form` | `widget_button`.
    pub function_type: String,
    pub execution_type: String,
    pub execution_url: Option<String>,
    pub handlers: Vec<SimHandler>,
    pub creator: String,
}

/// A Cliq user and the organisation they belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimCliqUser {
    /// The zuid.
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub organization_id: String,
    pub admin: bool,
}

/// Makes Cliq's administration APIs whose path contains `path_contains` answer 403 (for
/// every method, or only for changes when `writes_only`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliqRefusal {
    pub path_contains: String,
    pub writes_only: bool,
}

// ---------------------------------------------------------------- faults

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this status and a Zoho error body (Desk: 403 `FORBIDDEN`, 404
    /// `URL_NOT_FOUND`, else `INTERNAL_SERVER_ERROR`, as Common.json documents them).
    Status(u16),
    /// Answer 429 TOO_MANY_REQUESTS with this `Retry-After` (seconds).
    TooManyRequests { retry_after: u64 },
    /// Answer only after this long (a client timeout).
    Delay(Duration),
    /// The throttle answer (Cliq: 400 `request_limit_exceeded`; Desk: 429).
    Throttle,
    /// Answer with this status and this JSON body as it is (an answer of an unexpected shape).
    Answer { status: u16, body: String },
}

/// Random trouble on every request whose path contains `path_contains`: a share of server
/// errors, a share of answers that come only after `timeout` (the client gives up; the request
/// may still have been done), and a throttle answer every `throttle_every` requests.
/// Deterministic from `seed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chaos {
    pub path_contains: String,
    pub error_per_mille: u32,
    pub timeout_per_mille: u32,
    pub timeout: Duration,
    pub throttle_every: u32,
    pub seed: u64,
    pub seen: u32,
}

/// Makes the next `times` requests whose path contains `path_contains` fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub path_contains: String,
    pub kind: FaultKind,
    pub times: u32,
}
