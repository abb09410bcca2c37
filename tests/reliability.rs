//! The reliability suite: DESIGN.md's guarantees under kills, reloads and a full disk, with
//! real processes where the guarantee is about processes. Each test has a CI-sized variant
//! (the default) and a full one: `DESKCLIQ_RELIABILITY=full cargo test --release --test
//! reliability`.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::app::{Env, SUPPORT};
use common::process::{point_webhook, setup, start};
use deskcliq::sim::{NewTicket, Simulator};

fn full() -> bool {
    std::env::var("DESKCLIQ_RELIABILITY").is_ok_and(|v| v == "full")
}

fn new_ticket(n: usize) -> NewTicket {
    NewTicket {
        subject: format!("stream {n}"),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        ..Default::default()
    }
}

/// A small deterministic generator (xorshift), so that a failing run can be repeated.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// How many times each ticket number appears in what Cliq received (a card of its own, or a
/// line of a summary).
fn posted(sim: &Simulator, numbers: &[String]) -> HashMap<String, usize> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for m in sim.cliq_messages() {
        let title = m.message["card"]["title"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let all = m.message.to_string();
        for n in numbers {
            if title.starts_with(&format!("#{n} ")) || all.contains(&format!("\"#{n} ")) {
                *counts.entry(n.clone()).or_default() += 1;
            }
        }
    }
    counts
}

fn acknowledged(sim: &Simulator) -> Vec<String> {
    sim.deliveries()
        .iter()
        .filter(|d| d.status == Some(200))
        .flat_map(|d| {
            d.body
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|e| e["payload"]["ticketNumber"].as_str().map(str::to_string))
        })
        .collect()
}

#[actix_rt::test]
async fn acknowledged_events_survive_repeated_sigkills_mid_burst() {
    let kills = if full() { 20 } else { 3 };
    let (sim, dir, config, webhook_id) = setup("[limits]\ncliq_posts_per_minute = 50\n").await;
    // A slow Cliq: posting lags behind the stream, so each kill leaves work in the store.
    sim.set_latency(Duration::from_millis(60));
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let mut numbers = Vec::new();
    let mut n = 0;
    for _ in 0..kills {
        let (mut child, addr) = start(dir.path(), &config).await;
        point_webhook(&sim, &webhook_id, addr);
        let burst = 5 + rng.below(10) as usize;
        for _ in 0..burst {
            numbers.push(sim.create_ticket(new_ticket(n)).ticket_number);
            n += 1;
            tokio::time::sleep(Duration::from_millis(rng.below(30))).await;
        }
        // At a random point of the delivery and posting under way.
        tokio::time::sleep(Duration::from_millis(rng.below(200))).await;
        child.kill().unwrap();
        child.wait().unwrap();
    }
    sim.set_latency(Duration::ZERO);
    let _ = sim
        .wait_deliveries(numbers.len(), Duration::from_secs(10))
        .await;
    let acked = acknowledged(&sim);
    assert!(!acked.is_empty());
    let (mut last, _) = start(dir.path(), &config).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let counts = loop {
        let counts = posted(&sim, &numbers);
        if acked.iter().all(|n| counts.contains_key(n)) || tokio::time::Instant::now() > deadline {
            break counts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    last.kill().unwrap();
    last.wait().unwrap();
    for n in &acked {
        assert!(
            counts.contains_key(n),
            "acknowledged ticket #{n} was never posted"
        );
    }
    // At most the one post in flight at each kill repeats.
    let repeats: usize = counts.values().map(|c| c - 1).sum();
    assert!(
        repeats <= kills,
        "{repeats} repeats after {kills} kills: {counts:?}"
    );
}

#[actix_rt::test]
async fn sighups_alternating_valid_and_broken_during_traffic_lose_nothing_and_apply_the_last_valid_config()
 {
    let reloads = if full() { 100 } else { 10 };
    let (sim, dir, config, webhook_id) = setup("").await;
    let good = std::fs::read_to_string(&config).unwrap();
    let (mut child, addr) = start(dir.path(), &config).await;
    point_webhook(&sim, &webhook_id, addr);
    let pid = child.id().to_string();
    let mut numbers = Vec::new();
    for i in 0..reloads {
        // Valid configs move a Sales department between channels; broken ones do not parse.
        let text = if i % 2 == 0 {
            format!(
                "{good}\n[[departments]]\nid = \"1892000000082071\"\nname = \"Sales\"\nchannel = \"sales-{i}\"\n"
            )
        } else {
            format!("{good}\n[org]\ntimezone = \"Mars/Olympus\"\n")
        };
        std::fs::write(&config, text).unwrap();
        assert!(
            std::process::Command::new("kill")
                .args(["-HUP", &pid])
                .status()
                .unwrap()
                .success()
        );
        numbers.push(sim.create_ticket(new_ticket(i)).ticket_number);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = sim
        .wait_deliveries(numbers.len(), Duration::from_secs(20))
        .await;
    let acked = acknowledged(&sim);
    assert_eq!(
        acked.len(),
        numbers.len(),
        "every event was acknowledged during the reloads"
    );
    // Past 45 posts the budget waits for the next minute (the rest coalesce into summaries).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(if full() { 150 } else { 30 });
    let counts = loop {
        let counts = posted(&sim, &numbers);
        if acked.iter().all(|n| counts.contains_key(n)) || tokio::time::Instant::now() > deadline {
            break counts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for n in &acked {
        assert_eq!(counts.get(n), Some(&1), "#{n}: {counts:?}");
    }
    // The last file was broken: the last valid one (the one before it) is in force.
    let last_valid = if reloads % 2 == 0 {
        reloads - 2
    } else {
        reloads - 1
    };
    let metrics = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!("channel=\"sales-{last_valid}\"")),
        "{metrics}"
    );
    assert!(
        metrics.contains("deskcliq_config_last_reload_successful 0"),
        "{metrics}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[actix_rt::test]
async fn a_full_disk_answers_webhooks_503_and_recovers_when_it_clears() {
    let env = Env::start("").await;
    let ready = |env: &Env| {
        let url = format!("http://{}/readyz", env.app().addrs[0]);
        async move { reqwest::get(url).await.unwrap().status().as_u16() }
    };
    assert_eq!(ready(&env).await, 200);
    env.app().store.inject_fault(true);
    let lost = env.sim.create_ticket(new_ticket(1));
    let deliveries = env.sim.wait_deliveries(1, Duration::from_secs(10)).await;
    assert_eq!(deliveries[0].status, Some(503), "Desk is told to retry");
    assert_eq!(ready(&env).await, 503);
    env.app().store.inject_fault(false);
    assert_eq!(ready(&env).await, 200, "ready again once the disk has room");
    let kept = env.sim.create_ticket(new_ticket(2));
    let records = env.settle().await;
    let all =
        serde_json::to_string(&records.iter().map(|r| &r.message).collect::<Vec<_>>()).unwrap();
    assert!(all.contains(&format!("#{} ", kept.ticket_number)), "{all}");
    assert!(
        !all.contains(&format!("#{} ", lost.ticket_number)),
        "an unacknowledged event is Desk's to retry"
    );
}

/// A real full disk: the state directory on a small tmpfs. `None` where mounting is not
/// allowed (the test then says so and proves nothing).
fn small_disk(dir: &std::path::Path) -> Option<Unmount> {
    std::fs::create_dir_all(dir).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    mounted.then(|| Unmount(dir.to_path_buf()))
}

struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Fills the file system holding `dir` to the last byte it takes.
fn fill(dir: &std::path::Path) -> std::path::PathBuf {
    use std::io::Write as _;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    for size in [1 << 16, 1 << 12, 1 << 9, 1] {
        let chunk = vec![0u8; size];
        while f.write_all(&chunk).is_ok() {}
    }
    let _ = f.sync_all();
    path
}

#[actix_rt::test]
async fn a_real_full_disk_answers_503_and_once_it_has_room_a_restart_reopens_the_store() {
    let (sim, dir, config, webhook_id) = setup("").await;
    let state = dir.path().join("state");
    let Some(_unmount) = small_disk(&state) else {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    };
    let (mut child, addr) = start(dir.path(), &config).await;
    point_webhook(&sim, &webhook_id, addr);
    let before = sim.create_ticket(new_ticket(1));
    let first = sim.wait_deliveries(1, Duration::from_secs(10)).await;
    assert_eq!(first[0].status, Some(200));
    let filler = fill(&state);
    // sled fails once its log needs a page the disk no longer has.
    let mut refused = false;
    for n in 2..200 {
        sim.create_ticket(new_ticket(n));
        let all = sim.wait_deliveries(n, Duration::from_secs(10)).await;
        if all.last().and_then(|d| d.status) == Some(503) {
            refused = true;
            break;
        }
    }
    assert!(refused, "the full disk never refused a delivery");
    std::fs::remove_file(&filler).unwrap();
    // Room again: the daemon leaves, for systemd's Restart=on-failure to start it anew.
    let status = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                panic!("deskcliq did not leave once the disk had room");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await
    .unwrap();
    assert!(!status.success(), "{status}");
    let (mut again, addr) = start(dir.path(), &config).await;
    point_webhook(&sim, &webhook_id, addr);
    let after = sim.create_ticket(new_ticket(1000));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let wanted = [before.ticket_number.clone(), after.ticket_number.clone()];
    loop {
        let counts = posted(&sim, &wanted);
        if wanted.iter().all(|n| counts.contains_key(n)) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not posted after the restart: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    again.kill().unwrap();
    again.wait().unwrap();
}

#[actix_rt::test]
async fn cliq_errors_timeouts_and_throttles_still_deliver_everything_and_nothing_is_sent_during_a_lockout()
 {
    let env = Env::start("").await;
    let every = 15;
    env.sim.with(|st| {
        st.chaos = Some(deskcliq::sim::Chaos {
            path_contains: "/message".into(),
            error_per_mille: 300,
            // Real client timeouts take 30 s each: only in the full run.
            timeout_per_mille: if full() { 100 } else { 0 },
            timeout: Duration::from_secs(31),
            throttle_every: every,
            seed: 0x00c0_ffee_1234_5678,
            seen: 0,
        })
    });
    let tickets = if full() { 120 } else { 30 };
    // Tickets a few seconds apart, so they are posted one by one rather than merged into a
    // card or two: enough requests to meet the faults and the throttles.
    let mut numbers = Vec::new();
    for i in 0..tickets {
        numbers.push(env.sim.create_ticket(new_ticket(i)).ticket_number);
        env.clock.advance(chrono::Duration::seconds(3));
        // A timed-out request holds the outbox for 30 real seconds: in the full run the
        // tickets come slowly enough that not all of them pile up behind one.
        let gap = if full() { 1000 } else { 20 };
        tokio::time::sleep(Duration::from_millis(gap)).await;
    }
    let mut counts = HashMap::new();
    for _ in 0..2000 {
        counts = posted(&env.sim, &numbers);
        if counts.len() == numbers.len() {
            break;
        }
        env.clock.advance(chrono::Duration::seconds(20));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    for n in &numbers {
        assert!(
            counts.contains_key(n),
            "#{n} never reached Cliq: {counts:?}"
        );
    }
    // After each throttle answer, nothing for ten minutes.
    let times = env.sim.with(|st| st.cliq_post_times.clone());
    let throttles = times.len() / every as usize;
    assert!(
        throttles >= 1,
        "the test throttled nobody: {} requests",
        times.len()
    );
    for (i, t) in times.iter().enumerate() {
        if (i + 1) % every as usize == 0
            && let Some(next) = times.get(i + 1)
        {
            assert!(
                *next - *t >= chrono::Duration::minutes(10),
                "request {} came {} after a throttle",
                i + 2,
                *next - *t
            );
        }
    }
}

#[actix_rt::test]
async fn desk_down_for_ten_minutes_webhooks_are_still_acknowledged_alerts_fire_and_reconciliation_catches_up()
 {
    use deskcliq::reconcile::reconcile_once;
    let env = Env::start("").await;
    let start = env.clock.now();
    let due = env.sim.create_ticket(NewTicket {
        subject: "due soon".into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        due_date: Some(start + chrono::Duration::minutes(35)),
        ..Default::default()
    });
    let quiet = env.sim.create_ticket(new_ticket(1));
    env.settle().await;
    // Desk's API is down: every call fails.
    env.desk_api_down();
    // Webhooks still come and are acknowledged and announced.
    let during = env.sim.create_ticket(new_ticket(2));
    let records = env.settle().await;
    assert!(env.sim.deliveries().iter().all(|d| d.status == Some(200)));
    let all = |r: &[deskcliq::sim::CliqRecord]| {
        serde_json::to_string(&r.iter().map(|m| &m.message).collect::<Vec<_>>()).unwrap()
    };
    assert!(all(&records).contains(&format!("#{} ", during.ticket_number)));
    // A change whose webhook never comes (Desk's delivery is lost).
    env.clock.advance(chrono::Duration::minutes(1));
    env.sim.with(|st| {
        st.desk
            .webhooks
            .iter_mut()
            .for_each(|w| w.is_enabled = false)
    });
    env.sim.update_ticket(
        &quiet.id,
        deskcliq::sim::TicketPatch {
            status: Some("Closed".into()),
            ..Default::default()
        },
        Some(common::app::KIM),
    );
    env.sim.with(|st| {
        st.desk
            .webhooks
            .iter_mut()
            .for_each(|w| w.is_enabled = true)
    });
    // The 30-minute alert of the due ticket fires from the store, Desk or no Desk.
    let mut alerted = false;
    for _ in 0..40 {
        env.clock.advance(chrono::Duration::seconds(15));
        tokio::time::sleep(Duration::from_millis(30)).await;
        let text = all(&env.sim.cliq_messages());
        if text.contains("Due in") && text.contains(&format!("#{} ", due.ticket_number)) {
            alerted = true;
            break;
        }
    }
    assert!(alerted, "no SLA alert while Desk was down");
    assert!(
        reconcile_once(&env.app().router).await.is_err(),
        "Desk is down"
    );
    // Ten minutes later Desk is back: reconciliation finds what was missed.
    env.clock
        .advance(start + chrono::Duration::minutes(10) - env.clock.now());
    env.sim.with(|st| st.chaos = None);
    env.clock.advance(chrono::Duration::minutes(3));
    let report = reconcile_once(&env.app().router).await.unwrap();
    assert!(report.missed >= 1, "{report:?}");
    let records = env.settle().await;
    let summary = records
        .iter()
        .find(|r| r.message["card"]["title"] == "While deskcliq was not listening")
        .expect("a summary of what was missed");
    assert!(
        summary
            .message
            .to_string()
            .contains(&format!("#{} ", quiet.ticket_number)),
        "{}",
        summary.message
    );
}
