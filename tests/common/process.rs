//! The real binary with the simulator in the test process.

use std::time::Duration;

use super::app::TOKEN;
use deskcliq::sim::Simulator;

/// Starts the binary and returns it with its address, once READY=1 arrived.
pub async fn start(
    dir: &std::path::Path,
    config: &std::path::Path,
) -> (std::process::Child, std::net::SocketAddr) {
    let dir = dir.to_path_buf();
    let config = config.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let (mut child, notify, stderr, _reader) = super::spawn(&dir, &config, &[], &[]);
        notify
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut buf = [0u8; 4096];
        loop {
            let n = match notify.recv(&mut buf) {
                Ok(n) => n,
                Err(_) => {
                    if let Some(status) = child.try_wait().unwrap() {
                        panic!("deskcliq exited ({status}):\n{}", stderr.lock().unwrap());
                    }
                    assert!(
                        std::time::Instant::now() < deadline,
                        "no READY=1 from deskcliq"
                    );
                    continue;
                }
            };
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
    sim.with(|st| st.add_deskcliq_webhook(id, url, chrono::Utc::now()));
}

/// A real-time simulator (the child's clock is the system's, and so must the JWTs' be) with a
/// `support` channel, and a config file for the binary: the Support department, a known
/// webhook id, and `extra`. Returns the simulator, the directory, the config path and the id.
pub async fn setup(extra: &str) -> (Simulator, tempfile::TempDir, std::path::PathBuf, String) {
    const DEPARTMENT: &str =
        "[[departments]]\nid = \"1892000000082069\"\nname = \"Support\"\nchannel = \"support\"\n";
    let sim = Simulator::start(deskcliq::clock::Clock::system())
        .await
        .unwrap();
    sim.with(|st| st.add_channel("support", true));
    let dir = tempfile::tempdir().unwrap();
    let webhook_id = sim.with(|st| st.desk.new_id());
    let text = sim.daemon_config(
        &dir.path().join("state"),
        super::app::TEST_SECRET_KEY,
        TOKEN,
        Some(&webhook_id),
        &format!("{DEPARTMENT}{extra}"),
    );
    let config = dir.path().join("config.toml");
    std::fs::write(&config, text).unwrap();
    (sim, dir, config, webhook_id)
}
