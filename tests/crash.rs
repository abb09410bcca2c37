//! The real binary killed with SIGKILL in the middle of a webhook stream: after a restart,
//! every event that was answered 200 is posted, and at most the one post in flight at the kill
//! appears twice.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::app::SUPPORT;
use common::process::{point_webhook, setup, start};
use deskcliq::sim::NewTicket;

#[actix_rt::test]
async fn every_acknowledged_event_is_posted_after_a_sigkill() {
    let (sim, dir, config, webhook_id) = setup("[limits]\ncliq_posts_per_minute = 50\n").await;

    let (mut first, addr) = start(dir.path(), &config).await;
    point_webhook(&sim, &webhook_id, addr);
    // A slow Cliq: posting lags behind the stream, so the kill leaves work in the store.
    sim.set_latency(Duration::from_millis(150));
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
    // Enough of the stream was acknowledged for the test to mean something (how much of it
    // reached the first process before the kill depends on the machine's load).
    assert!(
        acknowledged.len() >= 15,
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
    // Only the one post in flight at the kill may repeat (a summary card repeats whole): at
    // most one message appears twice, and without it every ticket appears once.
    let msgs: Vec<String> = sim
        .cliq_messages()
        .iter()
        .map(|m| m.message.to_string())
        .collect();
    let mut seen = std::collections::HashMap::<&String, usize>::new();
    for m in &msgs {
        *seen.entry(m).or_default() += 1;
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).collect();
    assert!(
        repeated.len() <= 1 && repeated.iter().all(|(_, c)| **c == 2),
        "posted more than once: {repeated:?}"
    );
    let dup_tickets: usize = repeated
        .iter()
        .map(|(m, _)| {
            numbers
                .iter()
                .filter(|n| m.contains(&format!("\"#{n} ")))
                .count()
        })
        .sum();
    let total: usize = counts.values().sum();
    assert_eq!(
        total,
        counts.len() + dup_tickets,
        "a ticket was posted twice outside the one repeated post: {counts:?}"
    );
}
