//! config.toml: validation, every error with its key, secrets, routing, derived URLs.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Datelike, TimeZone, Timelike};
use deskcliq::config::{Config, ConfigError, DataCenter, Issue, LoadEnv, Schedule};

const MINIMAL: &str = r#"
[server]
public_url = "https://deskcliq.example.com"
[zoho]
data_center = "jp"
client_id = "1000.ABC"
client_secret = "cs-inline-0123456789"
refresh_token = "rt-inline-0123456789"
[desk]
org_id = "54983163"
webhook_token = "wh-token-0123456789abcdef"
[cliq]
org_id = "6011234"
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(
        text,
        Path::new("/etc/deskcliq/config.toml"),
        &LoadEnv::default(),
    )
}

fn parse_in(dir: &Path, text: &str, env: &LoadEnv) -> Result<Config, ConfigError> {
    Config::parse(text, &dir.join("config.toml"), env)
}

fn errors(text: &str) -> Vec<Issue> {
    match parse(text) {
        Ok(_) => panic!("expected errors, the config was accepted:\n{text}"),
        Err(e) => e.issues(),
    }
}

/// The one error reported for `key`; fails when there is none.
fn error_for<'a>(issues: &'a [Issue], key: &str) -> &'a Issue {
    issues
        .iter()
        .find(|i| i.key == key)
        .unwrap_or_else(|| panic!("no error for {key}; got {issues:#?}"))
}

fn with(extra: &str) -> String {
    format!("{MINIMAL}\n{extra}")
}

/// MINIMAL with `[section]` key replaced: appends to the existing table.
fn with_in(section: &str, line: &str) -> String {
    MINIMAL.replace(&format!("[{section}]\n"), &format!("[{section}]\n{line}\n"))
}

fn shipped_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml")
}

fn check_config(path: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_deskcliq"))
        .args(["check-config", "--config"])
        .arg(path)
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .expect("run deskcliq")
}

#[test]
fn shipped_config_toml_validates() {
    let out = check_config(&shipped_config());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "check-config rejected the shipped config.toml:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("config OK"));
    assert!(stdout.contains("https://desk.zoho.jp/api/v1"));
    assert!(stdout.contains("1892000000082069"));
}

#[test]
fn shipped_config_toml_sets_every_key_the_daemon_reads() {
    // Every section of the contract appears in the annotated example.
    let text = std::fs::read_to_string(shipped_config()).unwrap();
    for section in [
        "[server]",
        "[storage]",
        "[zoho]",
        "[desk]",
        "[cliq]",
        "[org]",
        "[[departments]]",
        "[notify.ticket]",
        "[notify.activity]",
        "[notify.dm]",
        "[sla]",
        "[digest]",
        "[actions]",
        "[limits]",
    ] {
        assert!(
            text.contains(section),
            "config.toml does not document {section}"
        );
    }
    for key in [
        "secret_key_file",
        "accounts_url",
        "desk_url",
        "cliq_url",
        "jwks_url",
        "webhook_id",
        "public_key_file",
        "actions =",
    ] {
        assert!(text.contains(key), "config.toml does not document {key}");
    }
}

#[test]
fn minimal_config_takes_the_documented_defaults() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.storage.path, PathBuf::from("/var/lib/deskcliq"));
    assert_eq!(c.cliq.bot, "deskbot");
    assert_eq!(c.cliq.org_channel, "desk");
    assert!(c.desk.verify_jwt);
    assert_eq!(c.desk.rating_poll_minutes, 15);
    assert_eq!(c.sla.alert_before_minutes, vec![60, 30]);
    assert_eq!(c.sla.reconcile_minutes, 10);
    assert_eq!(c.digest.schedule.expression, "0 9 * * *");
    assert_eq!(c.limits.cliq_posts_per_minute, 45);
    assert_eq!(c.limits.desk_concurrency, 10);
    assert_eq!(c.actions.allowed.len(), 4);
    assert!(c.notify.ticket.entries().iter().all(|(_, on)| *on));
    assert!(c.notify.activity.entries().iter().all(|(_, on)| *on));
    assert!(c.notify.dm.entries().iter().all(|(_, on)| *on));
}

#[test]
fn bad_time_zone_is_reported_with_its_key_and_a_suggestion() {
    let issues = errors(&with("[org]\ntimezone = \"Asia/Tokio\""));
    let e = error_for(&issues, "org.timezone");
    assert!(e.message.contains("Asia/Tokyo"), "{e}");
}

#[test]
fn bad_cron_is_reported_with_its_key() {
    let issues = errors(&with("[digest]\nschedule = \"0 25 * * *\""));
    error_for(&issues, "digest.schedule");
    let issues = errors(&with("[digest]\nschedule = \"9 * *\""));
    assert!(
        error_for(&issues, "digest.schedule")
            .message
            .contains("3 field")
    );
}

#[test]
fn a_schedule_that_never_runs_is_reported_with_its_key() {
    for never in ["0 9 30 2 *", "0 9 31 4,6,9,11 *", "0 0 9 31 2 *"] {
        let issues = errors(&with(&format!("[digest]\nschedule = \"{never}\"")));
        assert!(
            error_for(&issues, "digest.schedule")
                .message
                .contains("never runs"),
            "{never}: {issues:?}"
        );
    }
    // A day some month has is fine, however rare: 29 February, the 31st of some months,
    // a day of the month ORed with a day of the week.
    for rare in ["0 9 29 2 *", "0 9 31 1-4 *", "0 9 30 2 mon"] {
        assert!(Schedule::parse(rare).is_ok(), "{rare}");
    }
}

#[test]
fn duplicate_department_id_is_reported() {
    let issues = errors(&with(
        "[[departments]]\nid = \"1\"\nchannel = \"a\"\n[[departments]]\nid = 1\nchannel = \"b\"",
    ));
    assert!(
        error_for(&issues, "departments[1].id")
            .message
            .contains("duplicate")
    );
}

#[test]
fn channel_name_cliq_would_reject_is_reported() {
    for bad in ["#desk", "Support Team", "Desk", "a/b", ""] {
        let issues = errors(&with(&format!(
            "[[departments]]\nid = \"1\"\nchannel = \"{bad}\""
        )));
        error_for(&issues, "departments[0].channel");
    }
    let issues = errors(&with_in("cliq", "org_channel = \"#desk\""));
    assert!(
        error_for(&issues, "cliq.org_channel")
            .message
            .contains("without `#`")
    );
}

#[test]
fn missing_secret_file_is_reported_with_its_key() {
    let cfg = MINIMAL.replace(
        "client_secret = \"cs-inline-0123456789\"",
        "client_secret_file = \"/nonexistent/deskcliq/client_secret\"",
    );
    let issues = errors(&cfg);
    let e = error_for(&issues, "zoho.client_secret_file");
    assert!(
        e.message.contains("/nonexistent/deskcliq/client_secret"),
        "{e}"
    );
}

#[test]
fn listen_address_that_does_not_parse_is_reported() {
    let issues = errors(&with_in("server", "listen = \"localhost:8080\""));
    error_for(&issues, "server.listen");
}

#[test]
fn listen_port_zero_is_accepted() {
    let c = parse(&with_in("server", "listen = \"127.0.0.1:0\"")).unwrap();
    assert_eq!(c.server.listen.port(), 0);
}

#[test]
fn unknown_data_center_is_reported_with_the_known_ones() {
    let issues = errors(&MINIMAL.replace("data_center = \"jp\"", "data_center = \"jpn\""));
    let e = error_for(&issues, "zoho.data_center");
    assert!(e.message.contains("com eu in com.au jp ca sa cn"), "{e}");
    assert!(e.message.contains("`jp`"), "{e}");
}

#[test]
fn missing_required_keys_are_each_reported() {
    let issues = errors("[server]\npublic_url = \"https://x.example.com\"\n");
    for key in [
        "zoho.data_center",
        "zoho.client_id",
        "zoho.client_secret",
        "zoho.refresh_token",
        "desk.org_id",
        "desk.webhook_token",
        "cliq.org_id",
    ] {
        error_for(&issues, key);
    }
}

#[test]
fn several_errors_in_one_file_are_all_reported() {
    let cfg = MINIMAL
        .replace("data_center = \"jp\"", "data_center = \"mars\"")
        .replace("[cliq]\n", "[cliq]\norg_channel = \"Desk Team\"\n")
        + "[org]\ntimezone = \"Nowhere/City\"\n[digest]\nschedule = \"61 * * * *\"\n\
           [limits]\ncliq_posts_per_minute = 60\n[sla]\nreconcile_minuts = 5\n";
    let issues = errors(&cfg);
    for key in [
        "zoho.data_center",
        "cliq.org_channel",
        "org.timezone",
        "digest.schedule",
        "limits.cliq_posts_per_minute",
        "sla.reconcile_minuts",
    ] {
        error_for(&issues, key);
    }
    assert_eq!(issues.len(), 6, "{issues:#?}");
}

#[test]
fn unknown_key_is_an_error_with_the_nearest_known_key() {
    let issues = errors(&with("[notify.ticket]\ncraeted = false"));
    let e = error_for(&issues, "notify.ticket.craeted");
    assert!(e.message.contains("notify.ticket.created"), "{e}");
    let issues = errors(&with("[notfy.ticket]\ncreated = false"));
    assert!(error_for(&issues, "notfy").message.contains("`notify`"));
}

#[test]
fn wrong_value_type_is_reported_with_its_key() {
    let issues = errors(&with("[notify.dm]\nenabled = \"no\""));
    assert!(
        error_for(&issues, "notify.dm.enabled")
            .message
            .contains("true or false")
    );
}

#[test]
fn posts_per_minute_above_cliqs_limit_is_rejected() {
    let issues = errors(&with("[limits]\ncliq_posts_per_minute = 51"));
    assert!(
        error_for(&issues, "limits.cliq_posts_per_minute")
            .message
            .contains("50")
    );
    assert!(parse(&with("[limits]\ncliq_posts_per_minute = 50")).is_ok());
}

#[test]
fn unknown_action_is_reported() {
    let issues = errors(&with("[actions]\nallowed = [\"status\", \"close\"]"));
    error_for(&issues, "actions.allowed[1]");
}

#[test]
fn secrets_are_read_from_files_with_credentials_directory() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("client_secret"), "cs-from-file-xyz\n").unwrap();
    std::fs::write(creds.join("secret_key"), [7u8; 40]).unwrap();
    let cfg = MINIMAL
        .replace(
            "client_secret = \"cs-inline-0123456789\"",
            "client_secret_file = \"$CREDENTIALS_DIRECTORY/client_secret\"",
        )
        .replace(
            "[zoho]\n",
            "[storage]\nsecret_key_file = \"${CREDENTIALS_DIRECTORY}/secret_key\"\n[zoho]\n",
        );
    let env = LoadEnv {
        credentials_directory: Some(creds.clone()),
    };
    let c = parse_in(dir.path(), &cfg, &env).unwrap();
    assert_eq!(c.zoho.client_secret.expose_str(), "cs-from-file-xyz");
    assert_eq!(
        c.storage.secret_key.as_ref().unwrap().expose(),
        &[7u8; 40][..]
    );

    // Without $CREDENTIALS_DIRECTORY the key that uses it is named.
    let issues = parse_in(dir.path(), &cfg, &LoadEnv::default())
        .unwrap_err()
        .issues();
    assert!(
        error_for(&issues, "zoho.client_secret_file")
            .message
            .contains("CREDENTIALS_DIRECTORY")
    );
}

#[test]
fn relative_secret_file_resolves_against_the_config_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rt"), "rt-relative-file").unwrap();
    let cfg = MINIMAL.replace(
        "refresh_token = \"rt-inline-0123456789\"",
        "refresh_token_file = \"rt\"",
    );
    let c = parse_in(dir.path(), &cfg, &LoadEnv::default()).unwrap();
    assert_eq!(c.zoho.refresh_token.expose_str(), "rt-relative-file");
}

#[test]
fn secret_given_inline_and_as_file_is_an_error() {
    let issues = errors(&with_in("desk", "webhook_token_file = \"/etc/x\""));
    error_for(&issues, "desk.webhook_token");
}

#[test]
fn short_secret_key_is_rejected() {
    let issues = errors(&with_in("zoho", "").replace(
        "[zoho]\n",
        "[storage]\nsecret_key = \"too-short\"\n[zoho]\n",
    ));
    assert!(
        error_for(&issues, "storage.secret_key")
            .message
            .contains("32")
    );
}

#[test]
fn unlisted_department_maps_to_the_org_channel() {
    let c = parse(&with(
        "[[departments]]\nid = \"1\"\nname = \"Support\"\nchannel = \"support\"",
    ))
    .unwrap();
    let r = c.route("999");
    assert_eq!(r.channel, "desk");
    assert!(r.enabled && !r.listed);
    assert_eq!(c.route("1").channel, "support");
}

#[test]
fn department_without_channel_maps_to_the_org_channel() {
    let c = parse(
        &(with_in("cliq", "org_channel = \"helpdesk\"")
            + "[[departments]]\nid = \"1\"\nenabled = false\n"),
    )
    .unwrap();
    let r = c.route("1");
    assert_eq!(r.channel, "helpdesk");
    assert!(!r.enabled && r.listed);
}

#[test]
fn department_actions_override_the_allowed_list() {
    let c = parse(&with(
        "[actions]\nallowed = [\"status\"]\n[[departments]]\nid = \"1\"\nactions = [\"reply\", \"comment\"]",
    ))
    .unwrap();
    let names: Vec<_> = c.actions_for("1").iter().map(|a| a.as_str()).collect();
    assert_eq!(names, ["reply", "comment"]);
    let names: Vec<_> = c.actions_for("2").iter().map(|a| a.as_str()).collect();
    assert_eq!(names, ["status"]);
}

#[test]
fn data_center_derives_every_zoho_url() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.zoho.data_center, DataCenter::Jp);
    assert_eq!(c.zoho.urls.accounts, "https://accounts.zoho.jp");
    assert_eq!(c.zoho.urls.desk_api(), "https://desk.zoho.jp/api/v1");
    assert_eq!(c.zoho.urls.cliq_api(), "https://cliq.zoho.jp/api/v2");
    assert_eq!(
        c.zoho.urls.jwks,
        "https://desk.zoho.jp/.well-known/jwks.json"
    );
    let eu = parse(&MINIMAL.replace("\"jp\"", "\"eu\"")).unwrap();
    assert_eq!(eu.zoho.urls.desk, "https://desk.zoho.eu");
    let ca = parse(&MINIMAL.replace("\"jp\"", "\"ca\"")).unwrap();
    assert_eq!(ca.zoho.urls.accounts, "https://accounts.zohocloud.ca");
}

#[test]
fn the_uk_data_center_derives_the_zoho_uk_hosts() {
    // Zoho's accounts server and Cliq list a UK data center (zoho.uk).
    let uk = parse(&MINIMAL.replace("\"jp\"", "\"uk\"")).unwrap();
    assert_eq!(uk.zoho.data_center.name(), "uk");
    assert_eq!(uk.zoho.urls.accounts, "https://accounts.zoho.uk");
    assert_eq!(uk.zoho.urls.desk_api(), "https://desk.zoho.uk/api/v1");
    assert_eq!(uk.zoho.urls.cliq_api(), "https://cliq.zoho.uk/api/v2");
    assert_eq!(
        uk.zoho.urls.jwks,
        "https://desk.zoho.uk/.well-known/jwks.json"
    );
}

#[test]
fn zohos_location_names_us_and_au_name_their_data_centers() {
    // Zoho's OAuth callback says `location=us` / `au` for the com / com.au data centers; an
    // admin who writes that must not be steered to another data center.
    let us = parse(&MINIMAL.replace("\"jp\"", "\"us\"")).unwrap();
    assert_eq!(us.zoho.urls.accounts, "https://accounts.zoho.com");
    assert_eq!(us.zoho.urls.desk, "https://desk.zoho.com");
    let au = parse(&MINIMAL.replace("\"jp\"", "\"au\"")).unwrap();
    assert_eq!(au.zoho.urls.cliq, "https://cliq.zoho.com.au");
}

#[test]
fn zoho_urls_can_each_be_overridden() {
    let c = parse(&with_in(
        "zoho",
        "accounts_url = \"http://127.0.0.1:9001/\"\ndesk_url = \"http://127.0.0.1:9002\"\n\
         cliq_url = \"http://127.0.0.1:9003\"",
    ))
    .unwrap();
    assert_eq!(c.zoho.urls.accounts, "http://127.0.0.1:9001");
    assert_eq!(c.zoho.urls.desk_api(), "http://127.0.0.1:9002/api/v1");
    assert_eq!(c.zoho.urls.cliq, "http://127.0.0.1:9003");
    // The JWKS follows an overridden Desk host unless overridden itself.
    assert_eq!(
        c.zoho.urls.jwks,
        "http://127.0.0.1:9002/.well-known/jwks.json"
    );
    let c = parse(&with_in(
        "zoho",
        "jwks_url = \"http://127.0.0.1:9004/keys\"",
    ))
    .unwrap();
    assert_eq!(c.zoho.urls.jwks, "http://127.0.0.1:9004/keys");
    let issues = errors(&with_in("zoho", "desk_url = \"ftp://x\""));
    error_for(&issues, "zoho.desk_url");
}

#[test]
fn crontab_day_of_week_seven_is_sunday_and_days_are_ored() {
    let tz = chrono_tz::Asia::Tokyo;
    // Wednesday 2026-11-25 10:00 JST.
    let now = tz.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap();
    let sunday = Schedule::parse("0 9 * * 7")
        .unwrap()
        .next_after(&now)
        .unwrap();
    assert_eq!(sunday.weekday(), chrono::Weekday::Sun);
    assert_eq!((sunday.day(), sunday.hour()), (29, 9));
    // crontab(5): "on the 1st OR on Fridays" — the next match is Friday the 27th.
    let ored = Schedule::parse("0 9 1 * 5")
        .unwrap()
        .next_after(&now)
        .unwrap();
    assert_eq!(ored.day(), 27);
    // 6 fields: seconds first.
    let secs = Schedule::parse("30 0 9 * * *")
        .unwrap()
        .next_after(&now)
        .unwrap();
    assert_eq!((secs.hour(), secs.minute(), secs.second()), (9, 0, 30));
}

#[test]
fn check_config_reports_errors_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        MINIMAL.replace("\"jp\"", "\"mars\"") + "[org]\ntimezone = \"X/Y\"\n",
    )
    .unwrap();
    let out = check_config(&path);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("zoho.data_center"), "{stderr}");
    assert!(stderr.contains("org.timezone"), "{stderr}");
}

#[test]
fn check_config_never_prints_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("refresh_token");
    std::fs::write(&secret_file, "rt-SECRET-from-file-4242").unwrap();
    let cfg = MINIMAL
        .replace("cs-inline-0123456789", "cs-SECRET-inline-7777")
        .replace(
            "refresh_token = \"rt-inline-0123456789\"",
            &format!("refresh_token_file = \"{}\"", secret_file.display()),
        )
        .replace("wh-token-0123456789abcdef", "wh-SECRET-token-abcdef123456")
        .replace(
            "[zoho]\n",
            "[storage]\nsecret_key = \"sk-SECRET-key-0123456789abcdef0123456789\"\n[zoho]\n",
        );
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &cfg).unwrap();
    let ok = check_config(&path);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // And when the file has an error elsewhere, the error output shows no secret either.
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        cfg.replace("\"jp\"", "\"mars\"") + "[limits]\nbogus = 1\n",
    )
    .unwrap();
    let bad = check_config(&broken);
    assert_eq!(bad.status.code(), Some(1));
    for out in [&ok, &bad] {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains("SECRET"), "a secret was printed:\n{all}");
    }
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(stdout.contains("<desk.webhook_token>"), "{stdout}");
    assert!(
        stdout.contains(&format!("read from {}", secret_file.display())),
        "{stdout}"
    );
}

#[test]
fn errors_never_echo_a_secret_value() {
    // A syntax error on a secret's line, and a secret of the wrong type.
    let unterminated = MINIMAL.replace(
        "client_secret = \"cs-inline-0123456789\"",
        "client_secret = \"cs-SECRET-unterminated",
    );
    let wrong_type = MINIMAL.replace(
        "refresh_token = \"rt-inline-0123456789\"",
        "refresh_token = 987654321987",
    );
    for text in [unterminated, wrong_type] {
        let issues = errors(&text);
        let all = format!("{issues:?}");
        assert!(
            !all.contains("SECRET") && !all.contains("987654321987"),
            "{all}"
        );
    }
    let issues = errors(&MINIMAL.replace(
        "client_secret = \"cs-inline-0123456789\"",
        "client_secret = \"x",
    ));
    assert!(issues[0].message.contains("line 7"), "{issues:?}");
}

#[test]
fn check_config_prints_routing_and_switches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        with("[[departments]]\nid = \"7\"\nname = \"Billing\"\nchannel = \"billing\"\nenabled = false\n[notify.ticket]\nclosed = false\n"),
    )
    .unwrap();
    let out = check_config(&path);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("department 7 \"Billing\" -> #billing"),
        "{stdout}"
    );
    assert!(stdout.contains("DISABLED"), "{stdout}");
    assert!(stdout.contains("any other department -> #desk"), "{stdout}");
    assert!(stdout.contains("closed=off"), "{stdout}");
    assert!(stdout.contains("https://accounts.zoho.jp"), "{stdout}");
}

#[test]
fn a_short_webhook_token_is_a_warning_and_a_bad_character_an_error() {
    let c = parse(&MINIMAL.replace("wh-token-0123456789abcdef", "test-token")).unwrap();
    assert!(
        c.warnings.iter().any(|w| w.key == "desk.webhook_token"),
        "{:?}",
        c.warnings
    );
    let issues = errors(&MINIMAL.replace("wh-token-0123456789abcdef", "tok/en?with#bad"));
    error_for(&issues, "desk.webhook_token");
}

#[test]
fn a_webhook_url_longer_than_desk_accepts_is_a_warning() {
    // Desk's webhook API documents at most 100 characters for `url`; the README's
    // `openssl rand -hex 24` token behind a longer public_url goes past it.
    let token = "0123456789abcdef0123456789abcdef0123456789abcdef";
    let long = MINIMAL.replace("wh-token-0123456789abcdef", token).replace(
        "https://deskcliq.example.com",
        "https://deskcliq.support.example.co.jp",
    );
    let c = parse(&long).unwrap();
    let w = c
        .warnings
        .iter()
        .find(|w| w.key == "desk.webhook_token")
        .unwrap_or_else(|| panic!("no warning: {:?}", c.warnings));
    assert!(w.message.contains("101 characters"), "{w}");
    assert!(!w.message.contains(token), "the token is a secret: {w}");
    // The same token behind a short public_url fits.
    let c = parse(&MINIMAL.replace("wh-token-0123456789abcdef", token)).unwrap();
    assert!(
        c.warnings.iter().all(|w| w.key != "desk.webhook_token"),
        "{:?}",
        c.warnings
    );
}

#[test]
fn check_config_prints_each_departments_quick_actions_or_why_they_are_off() {
    let deps = r#"
[actions]
allowed = ["status", "comment"]
[[departments]]
id = "1"
name = "Support"
channel = "support"
actions = ["reply"]
[[departments]]
id = "2"
name = "Billing"
channel = "billing"
"#;
    let off = deskcliq::config::render_check(&parse(&with(deps)).unwrap());
    assert!(
        off.contains("actions: off (quick actions need storage.secret_key_file"),
        "{off}"
    );
    let on = deskcliq::config::render_check(
        &parse(&with(&format!(
            "[storage]\nsecret_key = \"0123456789abcdef0123456789abcdef-key\"\n{deps}"
        )))
        .unwrap(),
    );
    assert!(
        on.contains("\"Support\" -> #support  enabled  actions: reply"),
        "{on}"
    );
    assert!(
        on.contains("\"Billing\" -> #billing  enabled  actions: status, comment"),
        "{on}"
    );
    assert!(
        on.contains("any other department -> #desk (org channel)  actions: status, comment"),
        "{on}"
    );
}
