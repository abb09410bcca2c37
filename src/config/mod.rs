//! `config.toml`: the whole file of DESIGN.md, validated at once.
//!
//! [`Config::load`] reads the file, reports *every* problem with its key path, and returns a
//! fully validated [`Config`] or the list of [`Issue`]s. Nothing else in the crate parses TOML.

mod build;
mod datacenter;
mod fields;
mod reader;
mod report;
mod secret;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;

pub use datacenter::DataCenter;

/// The longest webhook `url` Desk's API documents (Webhook.json, `maxLength`).
pub const DESK_WEBHOOK_URL_MAX: usize = 100;
pub use reader::{Diagnostics, Issue};
pub use report::render_check;
pub use secret::{Secret, SecretSource};

use reader::Section;

/// Why a config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} has {} error(s):\n{}", .issues.len(), list(.issues))]
    Invalid { path: PathBuf, issues: Vec<Issue> },
}

fn list(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(|i| format!("  {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ConfigError {
    /// The individual problems (one for an unreadable file).
    pub fn issues(&self) -> Vec<Issue> {
        match self {
            ConfigError::Read { source, .. } => vec![Issue {
                key: "(file)".into(),
                message: format!("cannot read the file: {source}"),
            }],
            ConfigError::Invalid { issues, .. } => issues.clone(),
        }
    }
}

/// What the environment contributes to loading (kept explicit so tests need not touch
/// the process environment).
#[derive(Debug, Clone, Default)]
pub struct LoadEnv {
    /// `$CREDENTIALS_DIRECTORY`, set by systemd for `LoadCredential=`.
    pub credentials_directory: Option<PathBuf>,
}

impl LoadEnv {
    pub fn from_process() -> Self {
        LoadEnv {
            credentials_directory: std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from.
    pub source: PathBuf,
    pub server: Server,
    pub storage: Storage,
    pub zoho: Zoho,
    pub desk: Desk,
    pub cliq: Cliq,
    pub org: Org,
    pub departments: Vec<Department>,
    pub notify: Notify,
    pub sla: Sla,
    pub digest: Digest,
    pub actions: Actions,
    pub limits: Limits,
    /// Things that are allowed but worth an admin's look (shown by `check-config`, logged at start).
    pub warnings: Vec<Issue>,
}

#[derive(Debug, Clone)]
pub struct Server {
    pub listen: SocketAddr,
    pub public_url: url::Url,
}

#[derive(Debug, Clone)]
pub struct Storage {
    pub path: PathBuf,
    /// Encrypts agents' tokens and signs OAuth state; without it quick actions are off.
    pub secret_key: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct Zoho {
    pub data_center: DataCenter,
    pub urls: ZohoUrls,
    pub client_id: String,
    pub client_secret: Secret,
    pub refresh_token: Secret,
}

/// Base URLs, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZohoUrls {
    pub accounts: String,
    pub desk: String,
    pub cliq: String,
    pub jwks: String,
}

impl ZohoUrls {
    /// `{desk}/api/v1`
    pub fn desk_api(&self) -> String {
        format!("{}/api/v1", self.desk)
    }

    /// `{cliq}/api/v2`
    pub fn cliq_api(&self) -> String {
        format!("{}/api/v2", self.cliq)
    }

    /// `{accounts}/oauth/v2/token`
    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth/v2/token", self.accounts)
    }
}

#[derive(Debug, Clone)]
pub struct Desk {
    pub org_id: String,
    pub webhook_token: Secret,
    pub webhook_id: Option<String>,
    pub verify_jwt: bool,
    pub rating_poll_minutes: u32,
}

#[derive(Debug, Clone)]
pub struct Cliq {
    pub org_id: String,
    pub bot: String,
    pub org_channel: String,
    /// The extension's public key (PEM), which verifies callbacks. Without it every callback
    /// is refused.
    pub public_key: Option<Secret>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    Ja,
    En,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Ja => "ja",
            Locale::En => "en",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Org {
    pub timezone: Tz,
    pub locale: Locale,
}

/// A quick action that can be offered on a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Status,
    Assign,
    Reply,
    Comment,
}

impl Action {
    pub const ALL: [Action; 4] = [
        Action::Status,
        Action::Assign,
        Action::Reply,
        Action::Comment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Status => "status",
            Action::Assign => "assign",
            Action::Reply => "reply",
            Action::Comment => "comment",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub id: String,
    pub name: String,
    /// `None`: the department posts to `cliq.org_channel`.
    pub channel: Option<String>,
    pub enabled: bool,
    /// `None`: `[actions].allowed` applies.
    pub actions: Option<Vec<Action>>,
}

/// Where a department's channel posts go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRoute<'a> {
    pub channel: &'a str,
    /// `false`: a listed department with `enabled = false`: no channel posts.
    pub enabled: bool,
    /// `true` when the department is listed in `[[departments]]`.
    pub listed: bool,
}

macro_rules! switches {
    ($(#[$meta:meta])* $name:ident { $($field:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name { $(pub $field: bool,)+ }

        impl $name {
            pub const NAMES: &'static [&'static str] = &[$(stringify!($field)),+];

            fn read(s: &mut Section<'_>, d: &mut Diagnostics) -> Self {
                $name { $($field: s.bool(d, stringify!($field), true),)+ }
            }

            /// Every switch with its value, in file order.
            pub fn entries(&self) -> Vec<(&'static str, bool)> {
                vec![$((stringify!($field), self.$field)),+]
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $($field: true,)+ }
            }
        }
    };
}

switches!(
    /// `[notify.ticket]`
    TicketSwitches {
        created, closed, reopened, comment_added, comment_edited, status_changed,
        owner_changed, department_changed, escalated, due_soon,
    }
);
switches!(
    /// `[notify.activity]`
    ActivitySwitches { created, completed, reminder }
);
switches!(
    /// `[notify.dm]`
    DmSwitches { enabled, csat, mention }
);

#[derive(Debug, Clone, Default)]
pub struct Notify {
    pub ticket: TicketSwitches,
    pub activity: ActivitySwitches,
    pub dm: DmSwitches,
}

#[derive(Debug, Clone)]
pub struct Sla {
    /// Distinct, sorted from the largest offset to the smallest.
    pub alert_before_minutes: Vec<u32>,
    pub reconcile_minutes: u32,
}

/// A validated `digest.schedule`.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub expression: String,
    pub cron: croner::Cron,
}

impl Schedule {
    /// Parses crontab(5) syntax (5 fields, days of week 0–7 with 0 and 7 = Sunday,
    /// day-of-month and day-of-week ORed when both are restricted, i.e. neither starts with
    /// `*`), or 6 fields with seconds first. `croner` follows Vixie cron here (told so for a
    /// stepped star), which the `cron` crate does not.
    pub fn parse(expression: &str) -> Result<Schedule, String> {
        let trimmed = expression.trim();
        let fields = trimmed.split_whitespace().count();
        if !(trimmed.starts_with('@') || fields == 5 || fields == 6) {
            return Err(format!(
                "`{trimmed}` has {fields} field(s); write 5 (minute hour day-of-month month \
                 day-of-week, as in crontab) or 6 (seconds first)"
            ));
        }
        // crontab ORs the two day fields only when both are restricted, and a field that
        // starts with `*` (`*/2` too) is not: then both must match. croner counts only a bare
        // `*` as unrestricted, so a stepped star is told to it as AND.
        let days: Vec<&str> = match fields {
            5 | 6 => trimmed.split_whitespace().skip(fields - 3).collect(),
            _ => Vec::new(),
        };
        let stepped_star = matches!(days.as_slice(), [dom, _, dow]
            if (dom.starts_with('*') || dow.starts_with('*')) && (*dom != "*" && *dow != "*"));
        let parser = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Optional)
            .year(croner::parser::Year::Disallowed)
            .dom_and_dow(stepped_star)
            .build();
        let cron = parser
            .parse(trimmed)
            .map_err(|e| format!("`{trimmed}` is not a valid cron expression: {e}"))?;
        // A date no calendar has (`0 9 30 2 *`): crontab takes it and never runs it, so no
        // summary would ever come. Any real date comes round within 8 years (29 February),
        // whatever the time zone, so one search from a fixed instant tells.
        let reference = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        if cron.find_next_occurrence(&reference, false).is_err() {
            return Err(format!(
                "`{trimmed}` never runs: no month has the day of the month it names"
            ));
        }
        Ok(Schedule {
            expression: trimmed.to_string(),
            cron,
        })
    }

    /// The first run strictly after `after`, in the given zone.
    pub fn next_after(&self, after: &chrono::DateTime<Tz>) -> Option<chrono::DateTime<Tz>> {
        self.cron.find_next_occurrence(after, false).ok()
    }
}

#[derive(Debug, Clone)]
pub struct Digest {
    pub schedule: Schedule,
    /// A run missed while the daemon was down is sent on start if fewer hours than this passed.
    pub catch_up_hours: u32,
}

#[derive(Debug, Clone)]
pub struct Actions {
    pub allowed: Vec<Action>,
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub cliq_posts_per_minute: u32,
    pub desk_concurrency: u32,
}

/// Cliq's own ceiling: a sender past 50 posts a minute is locked out for 10 minutes.
pub const CLIQ_POSTS_PER_MINUTE_MAX: u32 = 50;

impl Config {
    /// Reads and validates `path`; on failure every problem is listed.
    pub fn load(path: &Path, env: &LoadEnv) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path, env)
    }

    /// Validates `text` as if read from `path` (relative `*_file` and `storage.path` resolve
    /// against the directory of `path`).
    pub fn parse(text: &str, path: &Path, env: &LoadEnv) -> Result<Config, ConfigError> {
        let invalid = |issues| ConfigError::Invalid {
            path: path.to_path_buf(),
            issues,
        };
        let doc: toml::Table = toml::from_str(text).map_err(|e| {
            // toml's own Display quotes the offending line, which may hold a secret: report
            // the position and the reason only.
            let at = e
                .span()
                .map(|span| {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                    format!(" at line {line}, column {col}")
                })
                .unwrap_or_default();
            invalid(vec![Issue {
                key: "(file)".into(),
                message: format!("not valid TOML{at}: {}", e.message().trim()),
            }])
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let mut d = Diagnostics::default();
        let ctx = fields::Ctx { base, env };
        let built = build::build(&doc, &ctx, &mut d, path);
        match built {
            Some(config) if d.errors.is_empty() => Ok(Config {
                warnings: d.warnings,
                ..config
            }),
            _ => Err(invalid(d.errors)),
        }
    }

    pub fn department(&self, id: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.id == id)
    }

    /// The channel a department's posts go to: its own, or `cliq.org_channel` when it is
    /// unlisted or has no `channel`.
    pub fn route(&self, department_id: &str) -> ChannelRoute<'_> {
        match self.department(department_id) {
            Some(dep) => ChannelRoute {
                channel: dep.channel.as_deref().unwrap_or(&self.cliq.org_channel),
                enabled: dep.enabled,
                listed: true,
            },
            None => ChannelRoute {
                channel: &self.cliq.org_channel,
                enabled: true,
                listed: false,
            },
        }
    }

    /// The quick actions a department's cards offer.
    pub fn actions_for(&self, department_id: &str) -> &[Action] {
        self.department(department_id)
            .and_then(|d| d.actions.as_deref())
            .unwrap_or(&self.actions.allowed)
    }

    /// `{public_url}/webhooks/desk/<token>`: the token itself is a secret, so this is only
    /// for registering the webhook; use [`Config::webhook_url_redacted`] for display.
    pub fn webhook_url(&self) -> String {
        format!(
            "{}/webhooks/desk/{}",
            self.server.public_url.as_str().trim_end_matches('/'),
            self.desk.webhook_token.expose_str()
        )
    }

    pub fn webhook_url_redacted(&self) -> String {
        format!(
            "{}/webhooks/desk/<desk.webhook_token>",
            self.server.public_url.as_str().trim_end_matches('/')
        )
    }
}
