//! `config.toml`: the whole file of DESIGN.md, validated at once.
//!
//! [`Config::load`] reads the file, reports *every* problem with its key path, and returns a
//! fully validated [`Config`] or the list of [`Issue`]s. Nothing else in the crate parses TOML.

mod datacenter;
mod reader;
mod report;
mod secret;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono_tz::Tz;

pub use datacenter::DataCenter;
pub use reader::{Diagnostics, Issue};
pub use report::render_check;
pub use secret::{Secret, SecretSource};

use reader::{Section, suggest};

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
    /// day-of-month and day-of-week ORed when both are restricted), or 6 fields with
    /// seconds first. `croner` follows Vixie cron here, which the `cron` crate does not.
    pub fn parse(expression: &str) -> Result<Schedule, String> {
        let trimmed = expression.trim();
        let fields = trimmed.split_whitespace().count();
        if !(trimmed.starts_with('@') || fields == 5 || fields == 6) {
            return Err(format!(
                "`{trimmed}` has {fields} field(s); write 5 (minute hour day-of-month month \
                 day-of-week, as in crontab) or 6 (seconds first)"
            ));
        }
        let parser = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Optional)
            .year(croner::parser::Year::Disallowed)
            .build();
        let cron = parser
            .parse(trimmed)
            .map_err(|e| format!("`{trimmed}` is not a valid cron expression: {e}"))?;
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
            invalid(vec![Issue {
                key: "(file)".into(),
                message: format!("not valid TOML: {}", e.to_string().trim()),
            }])
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let mut d = Diagnostics::default();
        let ctx = Ctx { base, env };
        let built = build(&doc, &ctx, &mut d, path);
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

struct Ctx<'a> {
    base: PathBuf,
    env: &'a LoadEnv,
}

impl Ctx<'_> {
    /// Expands `$CREDENTIALS_DIRECTORY` / `${CREDENTIALS_DIRECTORY}` and resolves a relative
    /// path against the config file's directory.
    fn resolve(&self, raw: &str) -> Result<PathBuf, String> {
        let mut s = raw.trim().to_string();
        for var in ["${CREDENTIALS_DIRECTORY}", "$CREDENTIALS_DIRECTORY"] {
            if s.contains(var) {
                let dir = self.env.credentials_directory.as_ref().ok_or_else(|| {
                    format!(
                        "uses {var} but CREDENTIALS_DIRECTORY is not set (it is set by systemd \
                         for a unit with LoadCredential=)"
                    )
                })?;
                s = s.replace(var, &dir.to_string_lossy());
            }
        }
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        let p = PathBuf::from(s);
        Ok(if p.is_relative() {
            self.base.join(p)
        } else {
            p
        })
    }
}

/// How a secret's bytes are judged once read.
#[derive(Clone, Copy)]
enum SecretKind {
    /// A token or password: text, surrounding whitespace (a file's newline) trimmed.
    Text,
    /// Key material: raw bytes, only a trailing newline trimmed.
    Bytes,
}

/// Reads `key` or `key_file` (exactly one of them).
fn secret(
    s: &mut Section<'_>,
    d: &mut Diagnostics,
    ctx: &Ctx<'_>,
    key: &'static str,
    key_file: &'static str,
    kind: SecretKind,
    required: bool,
) -> Option<Secret> {
    let inline_present = s.has(key);
    let file_present = s.has(key_file);
    if inline_present && file_present {
        d.error(
            s.key(key),
            format!("give either `{key}` or `{key_file}`, not both"),
        );
        return None;
    }
    if !inline_present && !file_present {
        if required {
            d.error(
                s.key(key),
                format!("missing (this secret is required: set `{key}` or `{key_file}`)"),
            );
        }
        return None;
    }
    let (bytes, source, report_key) = if inline_present {
        let value = s.string(d, key)?;
        (value.into_bytes(), SecretSource::Inline, s.key(key))
    } else {
        let raw = s.string(d, key_file)?;
        let path = match ctx.resolve(&raw) {
            Ok(p) => p,
            Err(reason) => {
                d.error(s.key(key_file), reason);
                return None;
            }
        };
        match std::fs::read(&path) {
            Ok(bytes) => (bytes, SecretSource::File(path), s.key(key_file)),
            Err(e) => {
                d.error(
                    s.key(key_file),
                    format!("cannot read {}: {}", path.display(), io_reason(&e)),
                );
                return None;
            }
        }
    };
    let bytes = match kind {
        SecretKind::Text => match String::from_utf8(bytes) {
            Ok(text) => text.trim().as_bytes().to_vec(),
            Err(_) => {
                d.error(report_key, "is not UTF-8 text");
                return None;
            }
        },
        SecretKind::Bytes => {
            let mut b = bytes;
            if b.last() == Some(&b'\n') {
                b.pop();
                if b.last() == Some(&b'\r') {
                    b.pop();
                }
            }
            b
        }
    };
    if bytes.is_empty() {
        d.error(report_key, "is empty");
        return None;
    }
    Some(Secret::new(bytes, source))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Cliq unique names (channels, bots) as deskcliq accepts them: what appears in
/// `/channelsbyname/{name}/` and `bot_unique_name=`.
fn check_unique_name(value: &str, what: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("the {what} unique name must not be empty"));
    }
    if let Some(rest) = value.strip_prefix('#') {
        return Err(format!(
            "`{value}`: write the {what} unique name without `#` (`{}`)",
            rest.to_lowercase()
        ));
    }
    if value.chars().count() > 100 {
        return Err(format!("`{value}` is longer than 100 characters"));
    }
    if value.chars().any(char::is_whitespace) {
        return Err(format!(
            "`{value}` contains a space; Cliq unique names have none (the unique name of \
             channel \"Support Team\" is `supportteam`)"
        ));
    }
    if value.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "`{value}` has capital letters; Cliq unique names are lowercase (`{}`)",
            value.to_lowercase()
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| c.is_control() || "/\\?#%&@{}[]<>\"'`:;,*!$=+|^~()".contains(*c))
    {
        return Err(format!(
            "`{value}` contains `{bad}`, which Cliq does not allow in a unique name"
        ));
    }
    Ok(())
}

/// An http(s) base URL, returned without its trailing slash.
fn base_url(s: &mut Section<'_>, d: &mut Diagnostics, key: &'static str) -> Option<String> {
    let raw = s.string(d, key)?;
    match url::Url::parse(raw.trim()) {
        Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.host().is_some() => {
            if u.query().is_some() || u.fragment().is_some() {
                d.error(
                    s.key(key),
                    format!("`{raw}` must not have a query or fragment"),
                );
                return None;
            }
            Some(u.as_str().trim_end_matches('/').to_string())
        }
        Ok(_) => {
            d.error(s.key(key), format!("`{raw}` is not an http(s) URL"));
            None
        }
        Err(e) => {
            d.error(s.key(key), format!("`{raw}` is not a URL: {e}"));
            None
        }
    }
}

fn build(doc: &toml::Table, ctx: &Ctx<'_>, d: &mut Diagnostics, path: &Path) -> Option<Config> {
    let mut root = Section::root(doc);

    // [server]
    let mut s = root.section(d, "server");
    let listen = {
        let raw = s
            .string(d, "listen")
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        match SocketAddr::from_str(raw.trim()) {
            Ok(a) => Some(a),
            Err(_) => {
                d.error(
                    s.key("listen"),
                    format!(
                        "`{raw}` is not an IP address and port (e.g. \"127.0.0.1:8080\", \
                         \"[::1]:8080\"; port 0 picks a free port)"
                    ),
                );
                None
            }
        }
    };
    let public_url = match s.string(d, "public_url") {
        None => {
            d.error(
                s.key("public_url"),
                "missing (this key is required: the https address Zoho reaches deskcliq at)",
            );
            None
        }
        Some(raw) => match url::Url::parse(raw.trim()) {
            Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.host().is_some() => {
                if u.query().is_some() || u.fragment().is_some() {
                    d.error(
                        s.key("public_url"),
                        format!("`{raw}` must not have a query or fragment"),
                    );
                    None
                } else {
                    if u.scheme() == "http" {
                        d.warn(
                            s.key("public_url"),
                            "is http: Zoho delivers webhooks and agents' browsers only over https",
                        );
                    }
                    Some(u)
                }
            }
            Ok(_) => {
                d.error(
                    s.key("public_url"),
                    format!("`{raw}` is not an http(s) URL"),
                );
                None
            }
            Err(e) => {
                d.error(s.key("public_url"), format!("`{raw}` is not a URL: {e}"));
                None
            }
        },
    };
    s.finish(d);

    // [storage]
    let mut s = root.section(d, "storage");
    let storage_path = {
        let raw = s
            .string(d, "path")
            .unwrap_or_else(|| "/var/lib/deskcliq".into());
        match ctx.resolve(&raw) {
            Ok(p) => Some(p),
            Err(reason) => {
                d.error(s.key("path"), reason);
                None
            }
        }
    };
    let secret_key = secret(
        &mut s,
        d,
        ctx,
        "secret_key",
        "secret_key_file",
        SecretKind::Bytes,
        false,
    );
    if let Some(k) = &secret_key
        && k.len() < 32
    {
        d.error(
            s.key(match k.source() {
                SecretSource::Inline => "secret_key",
                SecretSource::File(_) => "secret_key_file",
            }),
            format!("is {} bytes; it must be at least 32 random bytes", k.len()),
        );
    }
    if !s.has("secret_key") && !s.has("secret_key_file") {
        d.warn(
            s.key("secret_key_file"),
            "not set: quick actions (and agents' account linking) are off",
        );
    }
    s.finish(d);

    // [zoho]
    let mut s = root.section(d, "zoho");
    let data_center = match s.string(d, "data_center") {
        None if !s.has("data_center") => {
            d.error(
                s.key("data_center"),
                "missing (this key is required: one of com eu in com.au jp ca sa cn)",
            );
            None
        }
        None => None,
        Some(raw) => match DataCenter::parse(&raw) {
            Some(dc) => Some(dc),
            None => {
                let names: Vec<&str> = DataCenter::ALL.iter().map(|dc| dc.name()).collect();
                let hint = suggest(&raw, &names)
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                d.error(
                    s.key("data_center"),
                    format!(
                        "unknown data center `{raw}`: expected one of {}{hint}",
                        names.join(" ")
                    ),
                );
                None
            }
        },
    };
    let overrides = [
        base_url(&mut s, d, "accounts_url"),
        base_url(&mut s, d, "desk_url"),
        base_url(&mut s, d, "cliq_url"),
        base_url(&mut s, d, "jwks_url"),
    ];
    let client_id = s.required_string(d, "client_id");
    let client_secret = secret(
        &mut s,
        d,
        ctx,
        "client_secret",
        "client_secret_file",
        SecretKind::Text,
        true,
    );
    let refresh_token = secret(
        &mut s,
        d,
        ctx,
        "refresh_token",
        "refresh_token_file",
        SecretKind::Text,
        true,
    );
    s.finish(d);
    let urls = data_center.map(|dc| {
        let [accounts, desk, cliq, jwks] = overrides;
        let desk = desk.unwrap_or_else(|| dc.desk_url());
        ZohoUrls {
            accounts: accounts.unwrap_or_else(|| dc.accounts_url()),
            // An overridden Desk host serves its own JWKS unless that is overridden too.
            jwks: jwks.unwrap_or_else(|| format!("{desk}/.well-known/jwks.json")),
            desk,
            cliq: cliq.unwrap_or_else(|| dc.cliq_url()),
        }
    });

    // [desk]
    let mut s = root.section(d, "desk");
    let desk_org_id = s.required_numeric_id(d, "org_id");
    let webhook_token = secret(
        &mut s,
        d,
        ctx,
        "webhook_token",
        "webhook_token_file",
        SecretKind::Text,
        true,
    );
    if let Some(t) = &webhook_token {
        let key = s.key(match t.source() {
            SecretSource::Inline => "webhook_token",
            SecretSource::File(_) => "webhook_token_file",
        });
        if t.len() < 16 {
            d.error(key, "is too short to be unguessable: use at least 16 characters (e.g. `openssl rand -hex 24`)");
        } else if !t
            .expose()
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        {
            d.error(
                key,
                "may use only letters, digits, `-` and `_` (it is a URL path segment)",
            );
        }
    }
    let webhook_id = s.numeric_id(d, "webhook_id");
    let verify_jwt = s.bool(d, "verify_jwt", true);
    if !verify_jwt {
        d.warn(
            s.key("verify_jwt"),
            "is false: webhook calls are trusted on the URL token alone",
        );
    }
    let rating_poll_minutes = s.uint(d, "rating_poll_minutes", 15, 1, 1440);
    s.finish(d);

    // [cliq]
    let mut s = root.section(d, "cliq");
    let cliq_org_id = s.required_numeric_id(d, "org_id");
    let bot = s.string(d, "bot").unwrap_or_else(|| "deskbot".into());
    if let Err(reason) = check_unique_name(&bot, "bot") {
        d.error(s.key("bot"), reason);
    }
    let org_channel = s.string(d, "org_channel").unwrap_or_else(|| "desk".into());
    if let Err(reason) = check_unique_name(&org_channel, "channel") {
        d.error(s.key("org_channel"), reason);
    }
    let public_key = secret(
        &mut s,
        d,
        ctx,
        "public_key",
        "public_key_file",
        SecretKind::Text,
        false,
    );
    match &public_key {
        Some(k) => {
            let text = k.expose_str();
            if !(text.contains("-----BEGIN PUBLIC KEY-----")
                || text.contains("-----BEGIN RSA PUBLIC KEY-----"))
            {
                d.error(
                    s.key(match k.source() {
                        SecretSource::Inline => "public_key",
                        SecretSource::File(_) => "public_key_file",
                    }),
                    "is not a PEM public key (expected -----BEGIN PUBLIC KEY-----)",
                );
            }
        }
        None => d.warn(
            s.key("public_key_file"),
            "not set: Cliq callbacks (commands, buttons) cannot be verified and are refused",
        ),
    }
    s.finish(d);

    // [org]
    let mut s = root.section(d, "org");
    let timezone = {
        let raw = s.string(d, "timezone").unwrap_or_else(|| "UTC".into());
        match Tz::from_str(raw.trim()) {
            Ok(tz) => Some(tz),
            Err(_) => {
                let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()).collect();
                let hint = suggest(&raw, &names)
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_else(|| " (an IANA zone name such as \"Asia/Tokyo\")".into());
                d.error(
                    s.key("timezone"),
                    format!("unknown time zone `{raw}`{hint}"),
                );
                None
            }
        }
    };
    let locale = match s.string(d, "locale").as_deref().map(str::trim) {
        None | Some("en") => Locale::En,
        Some("ja") => Locale::Ja,
        Some(other) => {
            d.error(
                s.key("locale"),
                format!("`{other}` is not a locale deskcliq has: ja or en"),
            );
            Locale::En
        }
    };
    s.finish(d);

    // [actions] (read before departments, which override it)
    let mut s = root.section(d, "actions");
    let allowed = read_actions(&mut s, d, "allowed").unwrap_or_else(|| Action::ALL.to_vec());
    s.finish(d);

    // [[departments]]
    let mut departments: Vec<Department> = Vec::new();
    for mut s in root.table_array(d, "departments") {
        let id = s.required_numeric_id(d, "id");
        let name = s.string(d, "name").map(|n| n.trim().to_string());
        let channel = s.string(d, "channel").map(|c| c.trim().to_string());
        if let Some(c) = &channel
            && let Err(reason) = check_unique_name(c, "channel")
        {
            d.error(s.key("channel"), reason);
        }
        let enabled = s.bool(d, "enabled", true);
        let actions = read_actions(&mut s, d, "actions");
        if let Some(id) = &id
            && let Some(first) = departments.iter().position(|dep| &dep.id == id)
        {
            d.error(
                s.key("id"),
                format!("duplicate department id {id} (also departments[{first}])"),
            );
        }
        s.finish(d);
        if let Some(id) = id {
            departments.push(Department {
                name: name
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| format!("department {id}")),
                id,
                channel,
                enabled,
                actions,
            });
        }
    }

    // [notify]
    let mut n = root.section(d, "notify");
    let mut s = n.section(d, "ticket");
    let ticket = TicketSwitches::read(&mut s, d);
    s.finish(d);
    let mut s = n.section(d, "activity");
    let activity = ActivitySwitches::read(&mut s, d);
    s.finish(d);
    let mut s = n.section(d, "dm");
    let dm = DmSwitches::read(&mut s, d);
    s.finish(d);
    n.finish(d);

    // [sla]
    let mut s = root.section(d, "sla");
    let mut offsets = s
        .uint_list(d, "alert_before_minutes", 1, 7 * 24 * 60)
        .unwrap_or_else(|| vec![60, 30]);
    let before = offsets.len();
    offsets.sort_unstable_by(|a, b| b.cmp(a));
    offsets.dedup();
    if offsets.len() != before {
        d.error(s.key("alert_before_minutes"), "lists the same offset twice");
    }
    let reconcile_minutes = s.uint(d, "reconcile_minutes", 10, 1, 1440);
    s.finish(d);

    // [digest]
    let mut s = root.section(d, "digest");
    let raw = s
        .string(d, "schedule")
        .unwrap_or_else(|| "0 9 * * *".into());
    let schedule = match Schedule::parse(&raw) {
        Ok(sched) => Some(sched),
        Err(reason) => {
            d.error(s.key("schedule"), reason);
            None
        }
    };
    s.finish(d);

    // [limits]
    let mut s = root.section(d, "limits");
    let mut posts = s.uint(d, "cliq_posts_per_minute", 45, 1, u32::MAX);
    if posts > CLIQ_POSTS_PER_MINUTE_MAX {
        d.error(
            s.key("cliq_posts_per_minute"),
            format!(
                "{posts} is above Cliq's limit of {CLIQ_POSTS_PER_MINUTE_MAX} a minute, past which \
                 Cliq locks the sender out for 10 minutes"
            ),
        );
        posts = 45;
    }
    let desk_concurrency = s.uint(d, "desk_concurrency", 10, 1, 25);
    s.finish(d);

    root.finish(d);

    Some(Config {
        source: path.to_path_buf(),
        server: Server {
            listen: listen?,
            public_url: public_url?,
        },
        storage: Storage {
            path: storage_path?,
            secret_key,
        },
        zoho: Zoho {
            data_center: data_center?,
            urls: urls?,
            client_id: client_id?,
            client_secret: client_secret?,
            refresh_token: refresh_token?,
        },
        desk: Desk {
            org_id: desk_org_id?,
            webhook_token: webhook_token?,
            webhook_id,
            verify_jwt,
            rating_poll_minutes,
        },
        cliq: Cliq {
            org_id: cliq_org_id?,
            bot,
            org_channel,
            public_key,
        },
        org: Org {
            timezone: timezone?,
            locale,
        },
        departments,
        notify: Notify {
            ticket,
            activity,
            dm,
        },
        sla: Sla {
            alert_before_minutes: offsets,
            reconcile_minutes,
        },
        digest: Digest {
            schedule: schedule?,
        },
        actions: Actions { allowed },
        limits: Limits {
            cliq_posts_per_minute: posts,
            desk_concurrency,
        },
        warnings: Vec::new(),
    })
}

fn read_actions(
    s: &mut Section<'_>,
    d: &mut Diagnostics,
    key: &'static str,
) -> Option<Vec<Action>> {
    let names = s.string_list(d, key)?;
    let mut out = Vec::new();
    let mut ok = true;
    for (i, name) in names.iter().enumerate() {
        match Action::parse(name.trim()) {
            Some(a) if !out.contains(&a) => out.push(a),
            Some(_) => {}
            None => {
                ok = false;
                let all: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
                let hint = suggest(name, &all)
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                d.error(
                    format!("{}[{i}]", s.key(key)),
                    format!(
                        "unknown action `{name}`: expected status, assign, reply or comment{hint}"
                    ),
                );
            }
        }
    }
    ok.then_some(out)
}
