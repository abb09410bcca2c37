//! Supervision of the real actor tree: a panicking actor is restarted on the same address
//! and its siblings never stop; reloads start, retire and reroute department actors.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::config::{Config, LoadEnv};

const CONFIG: &str = r#"
[server]
public_url = "https://deskcliq.example.com"
[zoho]
data_center = "jp"
client_id = "1000.T"
client_secret = "cs-0123456789"
refresh_token = "rt-0123456789"
[desk]
org_id = "1"
webhook_token = "wh-0123456789abcdef"
[cliq]
org_id = "2"
[[departments]]
id = "10"
channel = "ten"
[[departments]]
id = "20"
channel = "twenty"
"#;

fn config(extra: &str) -> Arc<Config> {
    let text = format!("{CONFIG}{extra}");
    Arc::new(
        Config::parse(
            &text,
            std::path::Path::new("/tmp/c.toml"),
            &LoadEnv::default(),
        )
        .expect("valid test config"),
    )
}

fn shared(dir: &tempfile::TempDir) -> Shared {
    Shared {
        store: crate::store::Store::open(&dir.path().join("state")).expect("store"),
        metrics: Arc::new(crate::metrics::Metrics::new().expect("metrics")),
        clock: crate::clock::Clock::system(),
        zoho: None,
    }
}

#[actix_rt::test]
async fn panicking_department_is_restarted_on_the_same_address_and_siblings_keep_running() {
    let dir = tempfile::tempdir().unwrap();
    let shared = shared(&dir);
    let metrics = shared.metrics.clone();
    let tree = Supervisor::start(shared, config(""));
    let ten = tree.department("10").unwrap().clone();
    let twenty = tree.department("20").unwrap().clone();
    assert_eq!(twenty.send(Status).await.unwrap().starts, 1);

    ten.do_send(Panic);
    // The next message to the same address is handled by the restarted actor.
    let status = ten
        .send(RouteStatus)
        .await
        .expect("restarted actor answers");
    assert_eq!(status.actor.starts, 2, "restarted exactly once");
    assert_eq!(status.route.channel, "ten");
    assert_eq!(
        metrics
            .actor_restarts_total
            .with_label_values(&["department"])
            .get(),
        1
    );
    // The sibling never stopped.
    let sibling = twenty.send(Status).await.unwrap();
    assert_eq!(sibling.starts, 1);
    assert!(tree.responsive(Duration::from_secs(1)).await);
}

#[actix_rt::test]
async fn reload_starts_new_departments_retires_removed_ones_and_reroutes_changed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let shared = shared(&dir);
    let tree_metrics = shared.metrics.clone();
    let mut tree = Supervisor::start(shared, config(""));
    let ten = tree.department("10").unwrap().clone();
    let twenty = tree.department("20").unwrap().clone();

    let changed = CONFIG
        .replace("channel = \"ten\"", "channel = \"tenth\"")
        .replace("id = \"20\"", "id = \"30\"");
    let new = Arc::new(
        Config::parse(
            &changed,
            std::path::Path::new("/tmp/c.toml"),
            &LoadEnv::default(),
        )
        .unwrap(),
    );
    let report = tree.apply(new);
    assert_eq!(report.started, vec!["30".to_string()]);
    assert_eq!(report.retired, vec!["20".to_string()]);
    assert_eq!(report.rerouted, vec!["10".to_string()]);
    assert_eq!(
        tree.department_ids(),
        vec!["10".to_string(), "30".to_string()]
    );

    // Rerouted: the same actor, with the new channel from its next message on.
    let status = ten.send(RouteStatus).await.unwrap();
    assert_eq!(status.route.channel, "tenth");
    assert_eq!(status.actor.starts, 1);
    // Retired: handles what was queued, then stops; it is not counted as a restart, and
    // an address someone still holds reaches an inert actor until it is dropped.
    let status = twenty.send(RouteStatus).await.unwrap();
    assert!(status.retired);
    assert_eq!(status.actor.starts, 1);
    assert_eq!(
        tree_metrics
            .actor_restarts_total
            .with_label_values(&["department"])
            .get(),
        0
    );
}

#[actix_rt::test]
async fn disabled_department_gets_no_actor() {
    let dir = tempfile::tempdir().unwrap();
    let text = CONFIG.replace(
        "channel = \"twenty\"",
        "channel = \"twenty\"\nenabled = false",
    );
    let cfg = Arc::new(
        Config::parse(
            &text,
            std::path::Path::new("/tmp/c.toml"),
            &LoadEnv::default(),
        )
        .unwrap(),
    );
    let tree = Supervisor::start(shared(&dir), cfg);
    assert_eq!(tree.department_ids(), vec!["10".to_string()]);
}

#[actix_rt::test]
async fn digest_is_planned_from_the_schedule_in_the_org_time_zone() {
    use chrono::TimeZone as _;
    let dir = tempfile::tempdir().unwrap();
    let mut s = shared(&dir);
    // Wednesday 2026-11-25 10:00 JST: the next 09:00 JST is Thursday 00:00 UTC.
    let now = chrono_tz::Asia::Tokyo
        .with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
        .unwrap()
        .with_timezone(&chrono::Utc);
    s.clock = crate::clock::Clock::manual(now);
    let mut tree = Supervisor::start(s, config("[org]\ntimezone = \"Asia/Tokyo\"\n"));
    let next = tree.digest().send(NextDigest).await.unwrap().unwrap();
    assert_eq!(next.to_rfc3339(), "2026-11-26T00:00:00+00:00");

    tree.apply(config(
        "[org]\ntimezone = \"Asia/Tokyo\"\n[digest]\nschedule = \"30 17 * * *\"\n",
    ));
    let next = tree.digest().send(NextDigest).await.unwrap().unwrap();
    assert_eq!(next.to_rfc3339(), "2026-11-25T08:30:00+00:00");
}
