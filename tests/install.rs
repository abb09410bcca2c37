//! `deskcliq install`, `doctor` and `uninstall` against the simulator (in-process, and the
//! binary for exit codes).

mod common;

use std::path::Path;

use chrono::Utc;
use common::app::{DEPARTMENTS, SUPPORT, TOKEN, config_text};
use deskcliq::clock::Clock;
use deskcliq::config::{Config, LoadEnv};
use deskcliq::setup::{doctor, install, uninstall};
use deskcliq::sim::{SimAgent, SimWebhook, Simulator};
use serde_json::json;

const SERVICE_ZUID: &str = "70000001";

struct Setup {
    sim: Simulator,
    dir: tempfile::TempDir,
    text: String,
    /// The daemon, reachable at its public URL (Desk validates a webhook URL when it is
    /// registered).
    app: Option<deskcliq::app::App>,
}

impl Setup {
    /// A simulator where the service account is a Desk administrator and a Cliq user, and a
    /// config with the `support` and `billing` channels (which do not exist yet).
    async fn new() -> Setup {
        let sim = Simulator::start(Clock::manual(Utc::now())).await.unwrap();
        sim.with(|st| {
            let mut admin: SimAgent = st.desk.agents[0].clone();
            admin.id = "1892000000056001".into();
            admin.first_name = "Desk".into();
            admin.last_name = "Admin".into();
            admin.name = "Desk Admin".into();
            admin.email_id = "deskcliq-service@example.co.jp".into();
            admin.zuid = SERVICE_ZUID.into();
            admin.role_permission_type = "Admin".into();
            st.desk.agents.push(admin);
            st.add_cliq_user(
                SERVICE_ZUID,
                "deskcliq-service@example.co.jp",
                "Desk",
                "Admin",
                deskcliq::sim::CLIQ_ORG_ID,
            );
        });
        let dir = tempfile::tempdir().unwrap();
        // A fixed port, so that doctor finds the running daemon's /metrics.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let text = config_text(&sim, &dir.path().join("state"), DEPARTMENTS).replace(
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"127.0.0.1:{port}\""),
        );
        let mut s = Setup {
            sim,
            dir,
            text,
            app: None,
        };
        s.start_daemon().await;
        s
    }

    /// Starts the daemon on the current config, reachable at its public URL.
    async fn start_daemon(&mut self) {
        let app = deskcliq::app::App::start(self.config(), self.sim.clock().clone())
            .await
            .unwrap();
        let addr = app.addrs[0].to_string();
        self.sim
            .with(|st| st.public_host("deskcliq.example.com", &addr));
        self.app = Some(app);
    }

    async fn stop_daemon(&mut self) {
        if let Some(app) = self.app.take() {
            app.stop().await.unwrap();
        }
        // The actors let go of the store once their mailboxes close.
        let path = self.config().storage.path;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while !matches!(deskcliq::store::holder(&path), Ok(None)) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the store stays locked"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    fn config(&self) -> Config {
        self.config_from(&self.text)
    }

    fn config_from(&self, text: &str) -> Config {
        Config::parse(
            text,
            &self.dir.path().join("config.toml"),
            &LoadEnv::default(),
        )
        .unwrap()
    }

    fn opts(&self, dry_run: bool, force: bool) -> install::Options {
        install::Options {
            dry_run,
            force,
            definitions_dir: self.dir.path().join("cliq-setup"),
        }
    }

    async fn install(&self) -> install::Outcome {
        install::run(&self.config(), &self.opts(false, false))
            .await
            .unwrap()
    }

    async fn doctor(&self) -> doctor::Report {
        doctor::run(&self.config()).await.unwrap()
    }
}

/// The ✗ line of a report that mentions `text`, with its fix.
fn failed<'a>(r: &'a doctor::Report, text: &str) -> &'a doctor::Check {
    r.checks
        .iter()
        .find(|c| !c.ok && c.what.contains(text))
        .unwrap_or_else(|| panic!("no ✗ about {text:?}:\n{}", r.render()))
}

#[actix_rt::test]
async fn install_on_an_empty_simulator_creates_channels_the_bot_in_them_handlers_and_the_webhook() {
    let s = Setup::new().await;
    let out = s.install().await;
    assert!(out.changes > 0, "{}", out.render());
    let config = s.config();
    let callback = "https://deskcliq.example.com/cliq/callback";
    s.sim.with(|st| {
        for c in ["support", "billing", "desk"] {
            let ch = st
                .cliq
                .channels
                .get(c)
                .unwrap_or_else(|| panic!("#{c} missing"));
            assert!(ch.bot_member, "the bot is in #{c}");
        }
        let bot = st.cliq_bot("deskbot").expect("the bot");
        assert_eq!(bot.execution_url.as_deref(), Some(callback));
        for name in ["ticket", "pendingtickets", "deskstatus", "deskcliq"] {
            let c = st
                .cliq_command(name)
                .unwrap_or_else(|| panic!("/{name} missing"));
            assert_eq!(c.execution_type, "webhook");
            assert_eq!(c.execution_url.as_deref(), Some(callback));
        }
        assert_eq!(
            st.cliq_function("deskaction")
                .unwrap()
                .execution_url
                .as_deref(),
            Some(callback)
        );
        assert_eq!(st.desk.webhooks.len(), 1);
        let hook = &st.desk.webhooks[0];
        assert_eq!(hook.url, config.webhook_url());
        assert_eq!(hook.include_events_from, vec!["AUTOMATION".to_string()]);
        let subs = hook.subscriptions.as_object().unwrap();
        for e in [
            "Ticket_Add",
            "Ticket_Update",
            "Ticket_Comment_Add",
            "Task_Update",
            "Agent_Update",
        ] {
            assert!(subs.contains_key(e), "{e}");
        }
        assert_eq!(subs["Ticket_Update"], json!({"includePrevState": true}));
        assert!(
            !hook.subscriptions.to_string().contains("departmentId"),
            "no department filter"
        );
    });
    assert!(out.render().contains("webhook id"), "{}", out.render());
}

#[actix_rt::test]
async fn a_second_install_changes_nothing_and_a_dry_run_changes_nothing() {
    let s = Setup::new().await;
    let dry = install::run(&s.config(), &s.opts(true, false))
        .await
        .unwrap();
    assert!(dry.changes > 0);
    assert!(dry.render().contains("would"), "{}", dry.render());
    s.sim.with(|st| {
        assert!(!st.cliq.channels.contains_key("support"));
        assert!(st.desk.webhooks.is_empty());
        assert!(st.cliq_command("ticket").is_none());
    });
    s.install().await;
    let requests = s.sim.cliq_post_requests();
    let again = s.install().await;
    assert_eq!(again.changes, 0, "{}", again.render());
    assert!(again.render().contains("nothing to change"));
    assert_eq!(s.sim.cliq_post_requests(), requests);
    assert_eq!(s.sim.with(|st| st.desk.webhooks.len()), 1);
}

#[actix_rt::test]
async fn where_cliq_refuses_install_writes_the_definitions_and_steps() {
    let s = Setup::new().await;
    s.sim.with(|st| st.refuse_cliq_writes("/commands"));
    let out = s.install().await;
    let dir = out
        .definitions_written
        .clone()
        .expect("definitions written");
    assert!(out.render().contains("Cliq refused"), "{}", out.render());
    let steps = std::fs::read_to_string(dir.join("STEPS.md")).unwrap();
    assert!(
        steps.contains("/ticket") && steps.contains("https://deskcliq.example.com/cliq/callback"),
        "{steps}"
    );
    let ticket: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("command-ticket.json")).unwrap())
            .unwrap();
    assert_eq!(ticket["execution_type"], "webhook");
}

#[actix_rt::test]
async fn a_slack_integration_on_the_portal_makes_install_refuse_without_force() {
    let s = Setup::new().await;
    s.sim.with(|st| {
        let id = st.desk.new_id();
        st.desk.webhooks.push(SimWebhook {
            id,
            name: "Slack".into(),
            url: "https://hooks.slack.com/services/T000/B000/XXXX".into(),
            description: None,
            subscriptions: json!({"Ticket_Add": null}),
            include_events_from: vec![],
            ignore_source_id: None,
            is_enabled: true,
            created_time: Utc::now(),
            kind: "CUSTOMER_WEBHOOK".into(),
        });
    });
    let refused = install::run(&s.config(), &s.opts(false, false)).await;
    let err = refused.expect_err("refused").to_string();
    assert!(err.contains("Slack") && err.contains("--force"), "{err}");
    assert!(
        s.sim.with(|st| st.cliq_command("ticket").is_none()),
        "nothing done"
    );
    let forced = install::run(&s.config(), &s.opts(false, true))
        .await
        .unwrap();
    assert!(forced.render().contains("Slack"), "{}", forced.render());
    assert!(s.sim.with(|st| st.cliq_command("ticket").is_some()));
}

#[actix_rt::test]
async fn doctor_is_all_green_after_install() {
    let s = Setup::new().await;
    s.install().await;
    let r = s.doctor().await;
    assert!(r.healthy(), "{}", r.render());
    assert!(r.checks.len() >= 10, "{}", r.render());
    let text = r.render();
    assert!(
        text.contains("daemon up on") && text.contains("Desk credits today"),
        "{text}"
    );
}

#[actix_rt::test]
async fn doctor_shows_the_running_daemons_figures_even_when_the_grant_fails() {
    let s = Setup::new().await;
    s.install().await;
    // The service grant revoked in Zoho: doctor gets no token and checks nothing else.
    s.sim.with(|st| {
        st.accounts
            .grants
            .remove(deskcliq::sim::SERVICE_REFRESH_TOKEN)
    });
    let r = s.doctor().await;
    let text = r.render();
    assert!(failed(&r, "gives no access token").hint.is_some(), "{text}");
    assert!(
        text.contains("daemon up on") && text.contains("dead letters"),
        "{text}"
    );
}

#[actix_rt::test]
async fn doctor_names_each_problem_with_its_fix() {
    let s = Setup::new().await;
    s.install().await;
    s.sim.with(|st| {
        st.remove_bot_from_channel("billing");
        st.delete_channel("support");
        st.remove_cliq_user("55667789");
        if let Some(d) = st.desk.departments.iter_mut().find(|d| d.id == SUPPORT) {
            d.is_enabled = false;
        }
    });
    let r = s.doctor().await;
    assert!(!r.healthy());
    assert!(
        failed(&r, "#support does not exist")
            .hint
            .as_deref()
            .unwrap()
            .contains("install")
    );
    assert!(failed(&r, "not in #billing").hint.is_some());
    assert!(failed(&r, "is disabled in Desk").what.contains("Support"));
    assert!(
        failed(&r, "map to no Cliq user")
            .what
            .contains("Taro Suzuki")
    );
}

#[actix_rt::test]
async fn doctor_takes_a_cliq_user_whose_organisation_cliq_does_not_name_for_a_cliq_user() {
    // Cliq's users API is not documented to name the organisation: an answer without it is
    // "not known to be outside", as the daemon reads it (it DMs such an agent), not "a Cliq
    // user of another organisation".
    let s = Setup::new().await;
    s.install().await;
    s.sim.with(|st| {
        let u = st
            .cliq
            .users
            .iter_mut()
            .find(|u| u.id == "55667789")
            .expect("user");
        u.organization_id = String::new();
    });
    let r = s.doctor().await;
    assert!(r.healthy(), "{}", r.render());
    // A user Cliq names in another organisation is still reported.
    s.sim.with(|st| {
        let u = st
            .cliq
            .users
            .iter_mut()
            .find(|u| u.id == "55667789")
            .expect("user");
        u.organization_id = "999".into();
    });
    let r = s.doctor().await;
    assert!(
        failed(&r, "map to no Cliq user")
            .what
            .contains("another organisation")
    );
}

#[actix_rt::test]
async fn doctor_warns_when_webhooks_are_not_verified() {
    let s = Setup::new().await;
    s.install().await;
    assert!(s.doctor().await.warnings.is_empty());
    let unverified = s.text.replace(
        "org_id = \"54983163\"",
        "org_id = \"54983163\"\nverify_jwt = false",
    );
    assert_ne!(unverified, s.text);
    let r = doctor::run(&s.config_from(&unverified)).await.unwrap();
    let text = r.render();
    assert!(
        text.contains("⚠ desk.verify_jwt") && text.contains("URL token alone"),
        "{text}"
    );
    // A warning, not a failure.
    assert!(r.healthy(), "{text}");
}

#[actix_rt::test]
async fn doctor_flags_a_missing_scope_a_wrong_org_and_a_plain_http_public_url() {
    let s = Setup::new().await;
    s.install().await;
    s.sim.with(|st| {
        if let Some(g) = st
            .accounts
            .grants
            .get_mut(deskcliq::sim::SERVICE_REFRESH_TOKEN)
        {
            g.scopes = ["Desk.tickets.ALL", "Desk.basic.READ", "Desk.search.READ"]
                .map(String::from)
                .to_vec();
        }
    });
    let r = s.doctor().await;
    assert!(
        failed(&r, "lacks the scopes")
            .what
            .contains("Desk.events.ALL"),
        "{}",
        r.render()
    );
    let wrong_org = s
        .text
        .replace("org_id = \"54983163\"", "org_id = \"11111111\"");
    let r = doctor::run(&s.config_from(&wrong_org)).await.unwrap();
    assert!(
        failed(&r, "does not belong to Desk organisation 11111111")
            .hint
            .as_deref()
            .unwrap()
            .contains("desk.org_id")
    );
    let plain = s.text.replace(
        "https://deskcliq.example.com",
        "http://deskcliq.example.com",
    );
    let r = doctor::run(&s.config_from(&plain)).await.unwrap();
    assert!(
        failed(&r, "is not HTTPS")
            .hint
            .as_deref()
            .unwrap()
            .contains("https://")
    );
}

#[actix_rt::test]
async fn uninstall_refuses_while_a_daemon_holds_the_store_then_removes_webhook_and_handlers() {
    let mut s = Setup::new().await;
    s.install().await;
    let config = s.config();
    let err = uninstall::run(&config, &uninstall::Options { purge: false })
        .await
        .expect_err("refused")
        .to_string();
    assert!(err.contains("stop the service first"), "{err}");
    assert_eq!(
        s.sim.with(|st| st.desk.webhooks.len()),
        1,
        "nothing removed"
    );
    s.stop_daemon().await;
    let lines = uninstall::run(&config, &uninstall::Options { purge: false })
        .await
        .unwrap()
        .join("\n");
    assert!(lines.contains("removed Desk webhook"), "{lines}");
    s.sim.with(|st| {
        assert!(st.desk.webhooks.is_empty());
        assert!(st.cliq_command("ticket").is_none());
        assert!(st.cliq_function("deskaction").is_none());
        assert!(st.cliq.channels.contains_key("support"), "channels stay");
    });
    assert!(config.storage.path.exists(), "the store is kept");
    uninstall::run(&config, &uninstall::Options { purge: true })
        .await
        .unwrap();
    assert!(!config.storage.path.exists(), "--purge removes the store");
}

#[actix_rt::test]
async fn purge_removes_the_store_itself_when_its_path_is_systemds_state_directory_link() {
    let mut s = Setup::new().await;
    s.install().await;
    s.stop_daemon().await;
    // systemd's DynamicUser=: /var/lib/deskcliq is a link to /var/lib/private/deskcliq.
    let real = s.dir.path().join("state");
    let link = s.dir.path().join("state-link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let text = s
        .text
        .replace(&real.display().to_string(), &link.display().to_string());
    let config = s.config_from(&text);
    assert_eq!(config.storage.path, link);
    uninstall::run(&config, &uninstall::Options { purge: true })
        .await
        .unwrap();
    assert!(
        !real.exists(),
        "--purge removes the store, not only the link to it"
    );
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "nor leaves the link"
    );
}

#[actix_rt::test]
async fn uninstall_that_cannot_look_at_the_lock_says_so_rather_than_that_the_daemon_runs() {
    let mut s = Setup::new().await;
    s.install().await;
    s.stop_daemon().await;
    let config = s.config();
    // Tests run as root: a lock file that cannot be opened for writing stands in for another
    // user's store.
    let lock = config.storage.path.join("deskcliq.lock");
    std::fs::remove_file(&lock).unwrap();
    std::fs::create_dir(&lock).unwrap();
    let err = uninstall::run(&config, &uninstall::Options { purge: false })
        .await
        .expect_err("refused")
        .to_string();
    assert!(err.contains("cannot tell whether"), "{err}");
    assert!(err.contains("deskcliq.lock"), "names the file: {err}");
    assert!(!err.contains("stop the service"), "{err}");
    assert_eq!(
        s.sim.with(|st| st.desk.webhooks.len()),
        1,
        "nothing removed"
    );
}

#[actix_rt::test]
async fn uninstall_also_removes_the_webhook_it_registered_under_an_older_token() {
    let mut s = Setup::new().await;
    s.install().await;
    s.stop_daemon().await;
    // desk.webhook_token was changed since, and install not run again: the webhook Desk
    // still calls is the one with the old token.
    let rotated = s.config_from(&s.text.replace(TOKEN, "wh-rotated-test-token-0123"));
    let lines = uninstall::run(&rotated, &uninstall::Options { purge: false })
        .await
        .unwrap()
        .join("\n");
    assert!(lines.contains("removed Desk webhook"), "{lines}");
    assert!(s.sim.with(|st| st.desk.webhooks.is_empty()), "{lines}");
}

#[actix_rt::test]
async fn a_webhook_moved_to_a_url_desks_update_refuses_is_registered_anew() {
    let mut s = Setup::new().await;
    s.install().await;
    let old = s.sim.with(|st| st.desk.webhooks[0].id.clone());
    s.stop_daemon().await;
    // A new token with `~`: Desk's create takes such a URL, its update (PATCH) does not.
    s.text = s.text.replace(TOKEN, "wh~rotated~test-token-0123");
    s.start_daemon().await;
    let out = install::run(&s.config(), &s.opts(false, false))
        .await
        .expect("the webhook is registered anew");
    let hooks = s.sim.with(|st| st.desk.webhooks.clone());
    assert_eq!(hooks.len(), 1, "the old webhook is removed: {hooks:?}");
    assert_ne!(hooks[0].id, old);
    assert_eq!(hooks[0].url, s.config().webhook_url());
    assert_eq!(out.webhook_id.as_deref(), Some(hooks[0].id.as_str()));
    assert!(
        out.render().contains("registered Desk webhook"),
        "{}",
        out.render()
    );
    assert_eq!(
        s.install().await.changes,
        0,
        "{}",
        s.install().await.render()
    );
}

#[actix_rt::test]
async fn a_webhook_url_desk_refuses_as_too_long_is_named_as_such() {
    let s = Setup::new().await;
    let long_token = "t".repeat(480);
    let config = s.config_from(&s.text.replace(TOKEN, &long_token));
    let err = install::run(&config, &s.opts(false, false))
        .await
        .expect_err("Desk refuses the URL")
        .to_string();
    assert!(err.contains("characters"), "{err}");
    assert!(err.contains("desk.webhook_token"), "{err}");
    assert!(!err.contains("start the daemon first"), "{err}");
    assert!(!err.contains(&long_token), "the token is a secret: {err}");
}

#[test]
fn the_doctor_command_exits_1_on_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    // A config that points at nothing: the token cannot be had.
    let text = common::config_for(&dir.path().join("state"), "")
        .replace("[zoho]\n", "[zoho]\naccounts_url = \"http://127.0.0.1:9\"\ndesk_url = \"http://127.0.0.1:9\"\ncliq_url = \"http://127.0.0.1:9\"\n");
    std::fs::write(&config, text).unwrap();
    let out = std::process::Command::new(common::binary())
        .args(["doctor", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("✗") && stdout.contains("fix:"), "{stdout}");
    assert!(!stdout.contains("rt-test-0123456789"), "no secret printed");
    let _ = Path::new("");
}

#[actix_rt::test]
async fn without_a_bot_install_creates_it_before_adding_it_to_channels() {
    let s = Setup::new().await;
    s.sim.with(|st| {
        st.delete_bot("deskbot");
    });
    let out = s.install().await;
    assert!(
        out.render().contains("create the bot Deskbot"),
        "{}",
        out.render()
    );
    s.sim.with(|st| {
        let bot = st.cliq_bot("deskbot").expect("created");
        assert!(bot.handlers.iter().any(|h| h.kind == "message_handler"));
        assert_eq!(
            bot.handlers
                .iter()
                .filter(|h| h.kind == "menu_handler")
                .count(),
            3
        );
        assert!(
            st.cliq
                .channels
                .get("support")
                .is_some_and(|c| c.bot_member)
        );
    });
}

#[actix_rt::test]
async fn each_run_spends_one_token_grant_and_a_dry_run_touches_nothing_in_cliq() {
    let s = Setup::new().await;
    let handlers = s
        .sim
        .with(|st| st.cliq_bot("deskbot").map(|b| b.handlers.len()));
    // The daemon's own token first (it fetches one as it starts).
    let mut before = s.sim.tokens_issued();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = s.sim.tokens_issued();
        if now == before && now > 0 {
            break;
        }
        before = now;
    }
    install::run(&s.config(), &s.opts(true, false))
        .await
        .unwrap();
    assert_eq!(s.sim.tokens_issued(), before + 1);
    assert_eq!(
        s.sim
            .with(|st| st.cliq_bot("deskbot").map(|b| b.handlers.len())),
        handlers
    );
    s.install().await;
    s.doctor().await;
    assert_eq!(s.sim.tokens_issued(), before + 3, "one grant per run");
}

#[actix_rt::test]
async fn install_repairs_a_disabled_or_department_filtered_webhook() {
    let s = Setup::new().await;
    s.install().await;
    s.sim.with(|st| {
        let h = &mut st.desk.webhooks[0];
        h.is_enabled = false;
        h.subscriptions["Ticket_Add"] = json!({"departmentIds": [SUPPORT]});
    });
    assert!(failed(&s.doctor().await, "is disabled").hint.is_some());
    let out = s.install().await;
    assert!(
        out.render().contains("updated Desk webhook"),
        "{}",
        out.render()
    );
    s.sim.with(|st| {
        let h = &st.desk.webhooks[0];
        assert!(h.is_enabled);
        assert!(
            !h.subscriptions.to_string().contains("departmentIds"),
            "{}",
            h.subscriptions
        );
    });
    assert_eq!(s.install().await.changes, 0);
}

#[actix_rt::test]
async fn a_command_of_the_same_name_that_belongs_to_something_else_is_left_alone() {
    let s = Setup::new().await;
    s.install().await;
    s.sim.with(|st| {
        if let Some(c) = st.cliq.commands.iter_mut().find(|c| c.name == "ticket") {
            c.execution_type = "deluge".into();
            c.execution_url = None;
        }
    });
    let out = s.install().await;
    assert!(
        out.render()
            .contains("/ticket exists in Cliq and belongs to something else"),
        "{}",
        out.render()
    );
    assert_eq!(
        s.sim
            .with(|st| st.cliq_command("ticket").unwrap().execution_type.clone()),
        "deluge"
    );
}

#[actix_rt::test]
async fn uninstall_removes_only_deskcliqs_bot_handlers() {
    let mut s = Setup::new().await;
    s.install().await;
    s.sim.with(|st| {
        let id = st.new_component_id();
        if let Some(b) = st.cliq.bot_records.get_mut("deskbot") {
            b.handlers.push(deskcliq::sim::SimHandler {
                id,
                kind: "welcome_handler".into(),
                name: None,
                icon: None,
                position: None,
                permissions: vec![],
            });
        }
    });
    s.stop_daemon().await;
    uninstall::run(&s.config(), &uninstall::Options { purge: false })
        .await
        .unwrap();
    s.sim.with(|st| {
        let kinds: Vec<String> = st
            .cliq_bot("deskbot")
            .unwrap()
            .handlers
            .iter()
            .map(|h| h.kind.clone())
            .collect();
        assert_eq!(kinds, vec!["welcome_handler".to_string()]);
    });
}

#[actix_rt::test]
async fn uninstall_removes_the_function_when_cliqs_list_shows_no_urls() {
    let mut s = Setup::new().await;
    s.install().await;
    // Cliq's list answers may leave out execution_url (its documented examples carry none);
    // a function of someone else's stays whatever its list entry shows.
    s.sim.with(|st| {
        for f in st.cliq.functions.iter_mut() {
            f.execution_url = None;
        }
        let mut other = st.cliq.functions[0].clone();
        other.id = st.new_component_id();
        other.name = "approveexpense".into();
        st.cliq.functions.push(other);
    });
    s.stop_daemon().await;
    let lines = uninstall::run(&s.config(), &uninstall::Options { purge: false })
        .await
        .unwrap()
        .join("\n");
    s.sim.with(|st| {
        assert!(st.cliq_function("deskaction").is_none(), "{lines}");
        assert!(st.cliq_function("approveexpense").is_some(), "{lines}");
    });
}

#[actix_rt::test]
async fn past_cliqs_five_channel_joins_a_minute_install_finishes_the_rest_and_says_to_rerun() {
    let s = Setup::new().await;
    // Six channels to create and join; Cliq lets the bot join five a minute.
    let mut text = s.text.clone();
    for n in 3..=6 {
        text.push_str(&format!(
            "\n[[departments]]\nid = \"18920000000820{n:02}\"\nname = \"Team {n}\"\nchannel = \"team{n}\"\n"
        ));
    }
    let config = s.config_from(&text);
    let out = install::run(&config, &s.opts(false, false)).await.unwrap();
    let report = out.render();
    assert!(out.incomplete, "{report}");
    assert!(report.contains("#team6"), "{report}");
    assert!(report.contains("run install again"), "{report}");
    // The rest was done: the Desk webhook is registered.
    assert_eq!(s.sim.with(|st| st.desk.webhooks.len()), 1, "{report}");
    // A minute later, a second run finishes; a third changes nothing.
    s.sim.clock().advance(chrono::Duration::seconds(61));
    let again = install::run(&config, &s.opts(false, false)).await.unwrap();
    assert!(!again.incomplete, "{}", again.render());
    assert!(s.sim.with(|st| st.cliq.channels.contains_key("team6")));
    let third = install::run(&config, &s.opts(false, false)).await.unwrap();
    assert_eq!(third.changes, 0, "{}", third.render());
}
