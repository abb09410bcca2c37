//! The real binary killed with SIGKILL in the middle of a webhook stream: after a restart,
//! every event that was answered 200 is posted, and at most the one post in flight at the kill
//! appears twice.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::app::{SUPPORT, TOKEN, config_text};
use deskcliq::clock::Clock;
use deskcliq::sim::{NewTicket, SimWebhook, Simulator};

const DEPARTMENT: &str =
    "[[departments]]\nid = \"1892000000082069\"\nname = \"Support\"\nchannel = \"support\"\n";

/// Starts the binary and returns it with its address, once READY=1 arrived.
async fn start(
    dir: &std::path::Path,
    config: &std::path::Path,
) -> (std::process::Child, std::net::SocketAddr) {
    let dir = dir.to_path_buf();
    let config = config.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let (child, notify, _stderr, _reader) = common::spawn(&dir, &config, &[], &[]);
        notify
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut buf = [0u8; 4096];
        loop {
            let n = notify.recv(&mut buf).expect("READY=1 from deskcliq");
            let msg = String::from_utf8_lossy(&buf[..n]).to_string();
            if let Some(addr) = msg
                .lines()
                .find_map(|l| l.strip_prefix("STATUS=listening on "))
            {
                return (
                    child,
                    addr.split(',').next().unwrap().trim().parse().unwrap(),
                );
            }
        }
    })
    .await
    .unwrap()
}

fn point_webhook(sim: &Simulator, id: &str, addr: std::net::SocketAddr) {
    let url = format!("http://{addr}/webhooks/desk/{TOKEN}");
    sim.with(|st| {
        st.desk.webhooks.retain(|w| w.id != id);
        st.desk.webhooks.push(SimWebhook {
            id: id.to_string(),
            name: "deskcliq".into(),
            url,
            description: None,
            subscriptions: serde_json::json!({"Ticket_Add": null}),
            include_events_from: vec![],
            ignore_source_id: None,
            is_enabled: true,
            created_time: chrono::Utc::now(),
            kind: "CUSTOMER_WEBHOOK".into(),
        });
    });
}

#[actix_rt::test]
async fn every_acknowledged_event_is_posted_after_a_sigkill() {
    // Real time: the child's clock is the system's, and so must the JWTs' be.
    let sim = Simulator::start(Clock::system()).await.unwrap();
    sim.with(|st| st.add_channel("support", true));
    let dir = tempfile::tempdir().unwrap();
    let webhook_id = sim.with(|st| st.desk.new_id());
    let text = config_text(
        &sim,
        &dir.path().join("state"),
        &format!("{DEPARTMENT}[limits]\ncliq_posts_per_minute = 50\n"),
    )
    .replace(
        "[desk]\n",
        &format!("[desk]\nwebhook_id = \"{webhook_id}\"\n"),
    );
    let config = dir.path().join("config.toml");
    std::fs::write(&config, text).unwrap();

    let (mut first, addr) = start(dir.path(), &config).await;
    point_webhook(&sim, &webhook_id, addr);
    // A slow Cliq: posting lags behind the stream, so the kill leaves work in the store.
    sim.set_latency(Duration::from_millis(60));
    let new = |n: usize| NewTicket {
        subject: format!("stream {n}"),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        ..Default::default()
    };
    let mut numbers = Vec::new();
    for n in 0..20 {
        numbers.push(sim.create_ticket(new(n)).ticket_number);
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    // Mid-stream: the kill lands while deliveries and posts are under way.
    first.kill().unwrap();
    first.wait().unwrap();
    let acked_before_kill = sim
        .deliveries()
        .iter()
        .filter(|d| d.status == Some(200))
        .count();
    let posted_before_kill = sim.cliq_messages().len();
    assert!(
        posted_before_kill < acked_before_kill,
        "nothing was left for the restart: {posted_before_kill} of {acked_before_kill}"
    );
    sim.set_latency(Duration::ZERO);
    for n in 20..30 {
        numbers.push(sim.create_ticket(new(n)).ticket_number);
    }
    let _ = sim.wait_deliveries(30, Duration::from_secs(10)).await;

    let (mut second, addr) = start(dir.path(), &config).await;
    point_webhook(&sim, &webhook_id, addr);
    for n in 30..35 {
        numbers.push(sim.create_ticket(new(n)).ticket_number);
    }
    let deliveries = sim.wait_deliveries(35, Duration::from_secs(10)).await;
    let acknowledged: Vec<String> = deliveries
        .iter()
        .filter(|d| d.status == Some(200))
        .map(|d| {
            d.body[0]["payload"]["ticketNumber"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        acknowledged.len() >= 25,
        "{} acknowledged",
        acknowledged.len()
    );

    // Every acknowledged event is posted (the second process picks up what the first stored).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let counts = loop {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for m in sim.cliq_messages() {
            let title = m.message["card"]["title"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let all = m.message.to_string();
            for n in &numbers {
                if title.starts_with(&format!("#{n} ")) || all.contains(&format!("\"#{n} ")) {
                    *counts.entry(n.clone()).or_default() += 1;
                }
            }
        }
        if acknowledged.iter().all(|n| counts.contains_key(n))
            || tokio::time::Instant::now() > deadline
        {
            break counts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    second.kill().unwrap();
    second.wait().unwrap();
    for n in &acknowledged {
        assert!(
            counts.contains_key(n),
            "acknowledged ticket #{n} was never posted"
        );
    }
    let repeated: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(
        repeated.len() <= 1 && repeated.iter().all(|(_, c)| **c == 2),
        "posted more than once: {repeated:?}"
    );
}
