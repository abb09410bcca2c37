//! The real binary with the simulator in the test process.

use std::time::Duration;

use super::app::TOKEN;
use deskcliq::sim::{SimWebhook, Simulator};

/// Starts the binary and returns it with its address, once READY=1 arrived.
pub async fn start(
    dir: &std::path::Path,
    config: &std::path::Path,
) -> (std::process::Child, std::net::SocketAddr) {
    let dir = dir.to_path_buf();
    let config = config.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let (child, notify, _stderr, _reader) = super::spawn(&dir, &config, &[], &[]);
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

pub fn point_webhook(sim: &Simulator, id: &str, addr: std::net::SocketAddr) {
    let url = format!("http://{addr}/webhooks/desk/{TOKEN}");
    sim.with(|st| {
        st.desk.webhooks.retain(|w| w.id != id);
        st.desk.webhooks.push(SimWebhook {
            id: id.to_string(),
            name: "deskcliq".into(),
            url,
            description: None,
            subscriptions: serde_json::json!({"Ticket_Add": null, "Ticket_Update": {"includePrevState": true}}),
            include_events_from: vec![],
            ignore_source_id: None,
            is_enabled: true,
            created_time: chrono::Utc::now(),
            kind: "CUSTOMER_WEBHOOK".into(),
        });
    });
}
