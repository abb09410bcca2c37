//! The whole daemon in-process (`App`) against the simulator, with the simulator's webhook
//! pointed at it: changes made in the simulated Desk reach deskcliq as signed deliveries.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use deskcliq::app::App;
use deskcliq::clock::Clock;
use deskcliq::config::{Config, LoadEnv};
use deskcliq::sim::{CliqRecord, Simulator};
use deskcliq::store::TreeName;

pub const SUPPORT: &str = "1892000000082069";
pub const BILLING: &str = "1892000000082070";
/// Known to Desk, not listed in the config: posts to the org channel.
pub const SALES: &str = "1892000000082071";
pub const SATO: &str = "1892000000056007";
pub const SATO_ZUID: &str = "55667788";
pub const SUZUKI: &str = "1892000000056008";
pub const SUZUKI_ZUID: &str = "55667789";
pub const KIM: &str = "1892000000056009";
/// An agent who never confirmed their account: no Zoho user, so no Cliq user.
pub const NOUSER: &str = "1892000000056010";
pub const TOKEN: &str = "wh-notify-test-token-0123";

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 1, 0, 0).unwrap()
}

pub struct Env {
    pub sim: Simulator,
    pub app: Option<App>,
    pub clock: Clock,
    pub dir: tempfile::TempDir,
    pub config_text: String,
}

/// `extra` is appended to the config (departments, switches…).
pub fn config_text(sim: &Simulator, state: &Path, extra: &str) -> String {
    sim.daemon_config(state, TEST_SECRET_KEY, TOKEN, None, extra)
}

pub const TEST_SECRET_KEY: &str = "0123456789abcdef0123456789abcdef-test-key";

pub use deskcliq::sim::DEPARTMENTS_TOML as DEPARTMENTS;

impl Env {
    /// The simulator (with `support` and `billing` channels, a Sales department and an agent
    /// without a Cliq user) and the app on `DEPARTMENTS` + `extra`.
    pub async fn start(extra: &str) -> Env {
        Env::start_with(DEPARTMENTS, extra).await
    }

    pub async fn start_with(departments: &str, extra: &str) -> Env {
        let clock = Clock::manual(t0());
        let sim = Simulator::start(clock.clone()).await.unwrap();
        sim.with(|st| {
            st.add_channel("support", true);
            st.add_channel("billing", true);
            st.desk.departments.push(deskcliq::sim::SimDepartment {
                id: SALES.into(),
                name: "Sales".into(),
                is_enabled: true,
                description: "Sales".into(),
                is_default: false,
            });
            let mut nouser = st.desk.agents[0].clone();
            nouser.id = NOUSER.into();
            nouser.first_name = "Nobu".into();
            nouser.last_name = "User".into();
            nouser.name = "Nobu User".into();
            nouser.email_id = "nobu@example.co.jp".into();
            nouser.zuid = String::new();
            nouser.is_confirmed = false;
            st.desk.agents.push(nouser);
        });
        let dir = tempfile::tempdir().unwrap();
        // The webhook's id is known up front, so the JWT audience is checked.
        let webhook_id = sim.with(|st| st.desk.new_id());
        let text = sim.daemon_config(
            &dir.path().join("state"),
            TEST_SECRET_KEY,
            TOKEN,
            Some(&webhook_id),
            &format!("{departments}\n{extra}"),
        );
        let config =
            Config::parse(&text, &dir.path().join("config.toml"), &LoadEnv::default()).unwrap();
        let app = App::start(config, clock.clone()).await.unwrap();
        let url = format!("http://{}/webhooks/desk/{TOKEN}", app.addrs[0]);
        sim.with(|st| st.add_deskcliq_webhook(&webhook_id, url, t0()));
        let env = Env {
            sim,
            app: Some(app),
            clock,
            dir,
            config_text: text,
        };
        // The agent directory is fetched at start.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while env.app().router.directory.get().len() < 4 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "agent directory not loaded"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        env
    }

    /// Stops the app and starts a new one on the same store and config (a restart). The
    /// webhook follows it to its new port.
    pub async fn restart(&mut self) {
        if let Some(app) = self.app.take() {
            app.stop().await.unwrap();
        }
        // The old actors let go of the store once their mailboxes close.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let app = loop {
            let config = Config::parse(
                &self.config_text,
                &self.dir.path().join("config.toml"),
                &LoadEnv::default(),
            )
            .unwrap();
            match App::start(config, self.clock.clone()).await {
                Ok(app) => break app,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("restart: {e}"),
            }
        };
        let url = format!("http://{}/webhooks/desk/{TOKEN}", app.addrs[0]);
        self.sim.with(|st| {
            st.desk
                .webhooks
                .iter_mut()
                .for_each(|w| w.url = url.clone())
        });
        self.app = Some(app);
    }

    /// Stops the app, lets `span` of the controlled clock pass, and starts it again (downtime).
    pub async fn down_for(&mut self, span: chrono::Duration) {
        if let Some(app) = self.app.take() {
            app.stop().await.unwrap();
        }
        self.clock.advance(span);
        self.restart().await;
    }

    /// Waits until `/metrics` shows `line` (something the app does in the background).
    pub async fn wait_metric(&self, line: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !self.app().metrics.render().contains(line) {
            assert!(tokio::time::Instant::now() < deadline, "never saw {line}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the inbox is empty (every delivered event taken in and routed).
    /// Desk's API fails every call from now on (the simulator's chaos at 100 %).
    pub fn desk_api_down(&self) {
        self.sim.with(|st| {
            st.chaos = Some(deskcliq::sim::Chaos {
                path_contains: "/api/v1/".into(),
                error_per_mille: 1000,
                timeout_per_mille: 0,
                timeout: Duration::ZERO,
                throttle_every: 0,
                seed: 7,
                seen: 0,
            })
        });
    }

    pub async fn drained(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        loop {
            let inbox = self
                .app()
                .store
                .tree::<u64, serde_json::Value>(TreeName::Inbox)
                .is_empty()
                .unwrap();
            if inbox && self.sim.pending_deliveries() == 0 {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "inbox not drained");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// deskcliq's `POST /cliq/callback`.
    pub fn callback_url(&self) -> String {
        format!("http://{}/cliq/callback", self.app().addrs[0])
    }

    pub fn app(&self) -> &App {
        self.app.as_ref().unwrap()
    }

    /// Waits until every delivery was answered, the inbox is empty and the outbox sent all it
    /// can; returns what Cliq received.
    pub async fn settle(&self) -> Vec<CliqRecord> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let store = &self.app().store;
            let inbox_empty = store
                .tree::<u64, serde_json::Value>(TreeName::Inbox)
                .is_empty()
                .unwrap();
            let outbox_empty = store
                .tree::<u64, serde_json::Value>(TreeName::Outbox)
                .is_empty()
                .unwrap();
            let delivered = self.sim.deliveries().iter().all(|d| d.status.is_some());
            if inbox_empty && outbox_empty && delivered && self.sim.pending_deliveries() == 0 {
                // One more tick for anything racing the checks.
                tokio::time::sleep(Duration::from_millis(250)).await;
                let store = &self.app().store;
                if store
                    .tree::<u64, serde_json::Value>(TreeName::Inbox)
                    .is_empty()
                    .unwrap()
                    && store
                        .tree::<u64, serde_json::Value>(TreeName::Outbox)
                        .is_empty()
                        .unwrap()
                {
                    return self.sim.cliq_messages();
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "did not settle: deliveries {:?}",
                self.sim.deliveries().len()
            );
        }
    }
}
