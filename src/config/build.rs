//! The whole of config.toml, section by section, with every problem recorded.

use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;

use chrono_tz::Tz;

use super::fields::*;
use super::reader::{Diagnostics, Section, suggest};
use super::*;

pub(super) fn build(
    doc: &toml::Table,
    ctx: &Ctx<'_>,
    d: &mut Diagnostics,
    path: &Path,
) -> Option<Config> {
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
            let names: Vec<&str> = DataCenter::ALL.iter().map(|dc| dc.name()).collect();
            d.error(
                s.key("data_center"),
                format!("missing (this key is required: one of {})", names.join(" ")),
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
        // Config::webhook_url's length, measured without showing it (the token is a secret).
        let url_len = public_url
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').len() + "/webhooks/desk/".len() + t.len())
            .unwrap_or(0);
        // A URL path segment: RFC 3986's unreserved characters need no encoding.
        if !t
            .expose()
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
        {
            d.error(
                key,
                "may use only letters, digits, `-`, `_`, `.` and `~` (it is a URL path segment)",
            );
        } else if t.len() < 16 {
            d.warn(key, "is short: anyone who guesses it can reach the webhook endpoint (use 16+ random characters, e.g. `openssl rand -hex 24`)");
        } else if url_len > super::DESK_WEBHOOK_URL_MAX {
            d.warn(
                key,
                format!(
                    "makes the webhook URL (server.public_url/webhooks/desk/<token>) {url_len} characters long; \
                     Desk's webhook API documents at most {}, so install may be refused: \
                     use a shorter token (e.g. `openssl rand -hex 16`) or public_url",
                    super::DESK_WEBHOOK_URL_MAX
                ),
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
    let catch_up_hours = s.uint(d, "catch_up_hours", 6, 0, 48);
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
            catch_up_hours,
        },
        actions: Actions { allowed },
        limits: Limits {
            cliq_posts_per_minute: posts,
            desk_concurrency,
        },
        warnings: Vec::new(),
    })
}
