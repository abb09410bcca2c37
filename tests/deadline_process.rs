//! The real binary in real time: an SLA alert armed before a SIGKILL fires once after the
//! restart, and never again after a later restart.

mod common;

use std::time::Duration;

use common::app::SUPPORT;
use common::process::{point_webhook, setup, start};
use deskcliq::sim::{NewTicket, Simulator};

fn alerts(sim: &Simulator) -> usize {
    sim.cliq_messages()
        .iter()
        .filter(|m| {
            m.message["text"]
                .as_str()
                .is_some_and(|t| t.contains("Due in"))
        })
        .count()
}

async fn metric(addr: std::net::SocketAddr, name: &str) -> f64 {
    let body = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    body.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[actix_rt::test]
async fn an_alert_armed_before_a_sigkill_fires_once_after_restart() {
    let (sim, dir, config, webhook_id) = setup("[sla]\nalert_before_minutes = [60]\n").await;

    let (mut first, addr) = start(dir.path(), &config).await;
    point_webhook(&sim, &webhook_id, addr);
    // Due in 60 minutes and 4 seconds: the 60-minute alert is 4 s away.
    sim.create_ticket(NewTicket {
        subject: "due soon".into(),
        department_id: SUPPORT.into(),
        contact_email: "c@example.com".into(),
        due_date: Some(chrono::Utc::now() + chrono::Duration::seconds(3604)),
        ..Default::default()
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while metric(addr, "deskcliq_deadlines_tracked").await < 1.0 {
        assert!(tokio::time::Instant::now() < deadline, "never armed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(alerts(&sim), 0);
    // Down past the alert's time (the ticket is not yet due): it fires at once on restart.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (mut second, addr) = start(dir.path(), &config).await;
    point_webhook(&sim, &webhook_id, addr);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while alerts(&sim) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the alert never fired after the restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Stopped after it fired (cleanly: a post in flight at a SIGKILL may repeat once, by
    // contract), then restarted: never again.
    std::process::Command::new("kill")
        .arg("-TERM")
        .arg(second.id().to_string())
        .status()
        .unwrap();
    assert!(second.wait().unwrap().success());
    let (mut third, _addr) = start(dir.path(), &config).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    third.kill().unwrap();
    third.wait().unwrap();
    assert_eq!(alerts(&sim), 1);
}
