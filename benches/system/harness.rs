//! The release daemon as a child process, the simulator it talks to, Desk's signed webhook
//! bodies, and the bare actix-web handler that ingest is compared with.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use deskcliq::sim::{self, NewTicket, Simulator};
use serde_json::{Value, json};

pub const TOKEN: &str = "wh-bench-token-0123456789";
pub const SUPPORT: &str = "1892000000082069";
pub const SATO_ZUID: &str = "55667788";
pub const SATO_EMAIL: &str = "sato@example.co.jp";
pub const SUPPORT_DEPARTMENT: &str =
    "[[departments]]\nid = \"1892000000082069\"\nname = \"Support\"\nchannel = \"support\"\n";

/// The argument that makes this binary the bare server (a child of itself).
pub const BARE_SERVER_ARG: &str = "--bare-server";

/// `target/release/deskcliq`: `cargo bench` builds the package's binary before this bench, with
/// the bench profile (the release profile's settings) into `target/release/`. (Running
/// `cargo build --release` from here would rebuild the dependencies on every run: the two
/// builds take turns invalidating each other's artifacts.)
pub fn release_binary() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_deskcliq"));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release` or `cargo bench --bench system`",
        bin.display()
    );
    bin
}

/// A simulator on the system clock (the child's clock) with a `support` channel.
pub async fn simulator() -> Simulator {
    let sim = Simulator::start(deskcliq::clock::Clock::system())
        .await
        .expect("simulator");
    sim.with(|st| st.add_channel("support", true));
    sim
}

/// The config the daemon runs on: the simulator's URLs, a known webhook id (so the JWT's
/// audience is checked), the Cliq extension's key, and `extra`.
pub fn config_text(sim: &Simulator, state: &Path, webhook_id: &str, extra: &str) -> String {
    sim.daemon_config(state, BENCH_SECRET_KEY, TOKEN, Some(webhook_id), extra)
}

pub const BENCH_SECRET_KEY: &str = "0123456789abcdef0123456789abcdef-bench-key";

/// `deskcliq run` of the release binary, ready (READY=1) and listening.
pub struct Daemon {
    pub child: Child,
    pub addr: SocketAddr,
    pub webhook_id: String,
    pub dir: tempfile::TempDir,
    _notify: UnixDatagram,
}

impl Daemon {
    /// Starts the daemon on the simulator with `extra` config (departments, limits…).
    pub async fn start(binary: &Path, sim: &Simulator, extra: &str) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let webhook_id = sim.with(|st| st.desk.new_id());
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            config_text(sim, &dir.path().join("state"), &webhook_id, extra),
        )
        .expect("write config");
        let binary = binary.to_path_buf();
        let path = dir.path().to_path_buf();
        let (child, addr, notify) =
            tokio::task::spawn_blocking(move || spawn_ready(&binary, &path, &config))
                .await
                .expect("spawn");
        Daemon {
            child,
            addr,
            webhook_id,
            dir,
            _notify: notify,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn webhook_url(&self) -> String {
        format!("http://{}/webhooks/desk/{TOKEN}", self.addr)
    }

    pub fn callback_url(&self) -> String {
        format!("http://{}/cliq/callback", self.addr)
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// `/metrics`, as text.
    pub async fn metrics(&self, client: &reqwest::Client) -> String {
        match client
            .get(format!("http://{}/metrics", self.addr))
            .send()
            .await
        {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Our own child, by its id.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_ready(binary: &Path, dir: &Path, config: &Path) -> (Child, SocketAddr, UnixDatagram) {
    let sock = dir.join("notify.sock");
    let notify = UnixDatagram::bind(&sock).expect("bind notify socket");
    notify
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("socket timeout");
    let log = std::fs::File::create(dir.join("stderr.log")).expect("log file");
    let mut child = Command::new(binary)
        .arg("run")
        .arg("--config")
        .arg(config)
        .env("NOTIFY_SOCKET", &sock)
        .env_remove("RUST_LOG")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn deskcliq");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 4096];
    let mut addr = None;
    loop {
        match notify.recv(&mut buf) {
            Ok(n) => {
                let msg = String::from_utf8_lossy(&buf[..n]).to_string();
                for l in msg.lines() {
                    if let Some(a) = l.strip_prefix("STATUS=listening on ") {
                        addr = a.split(',').next().and_then(|a| a.trim().parse().ok());
                    }
                }
                if msg.lines().any(|l| l == "READY=1")
                    && let Some(addr) = addr
                {
                    return (child, addr, notify);
                }
            }
            Err(_) => {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "deskcliq exited ({status}):\n{}",
                        std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
                    );
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("no READY=1 from deskcliq within 30 s");
                }
            }
        }
    }
}

/// An X-ZDesk-JWT as the simulator's Desk signs it for `webhook_id`, valid 5 minutes.
pub fn desk_jwt(sim: &Simulator, webhook_id: &str) -> String {
    let now = Utc::now().timestamp();
    sim.sign_desk_jwt(&json!({
        "iss": format!("orgId:{}", sim::DESK_ORG_ID),
        "aud": format!("webhookId:{webhook_id}"),
        "iat": now,
        "exp": now + 300,
    }))
    .expect("sign JWT")
}

/// A ticket as the simulator's Desk serialises it: the payload every `Ticket_Add` copies.
pub fn ticket_template(sim: &Simulator) -> Value {
    let now = Utc::now();
    let t = sim.with(|st| {
        st.create_ticket(
            NewTicket {
                subject: "Printer on the 3rd floor prints blank pages".into(),
                description: Some("Since this morning every job comes out blank.".into()),
                department_id: SUPPORT.into(),
                contact_email: "customer@example.com".into(),
                due_date: Some(now + chrono::Duration::days(2)),
                priority: Some("High".into()),
                ..Default::default()
            },
            now,
        )
        .0
    });
    serde_json::to_value(&t).expect("ticket JSON")
}

/// The body Desk posts for a new ticket numbered `number` in `department`: a JSON array of
/// one `Ticket_Add` event.
pub fn ticket_add_body(template: &Value, number: u64, department: &str) -> Vec<u8> {
    let mut p = template.clone();
    let now = Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    p["id"] = json!((1_892_000_001_000_000u64 + number).to_string());
    p["ticketNumber"] = json!(number.to_string());
    p["subject"] = json!(format!("Load ticket {number}: printer prints blank pages"));
    p["departmentId"] = json!(department);
    p["createdTime"] = json!(now);
    p["modifiedTime"] = json!(now);
    serde_json::to_vec(&json!([{
        "eventType": "Ticket_Add",
        "orgId": sim::DESK_ORG_ID,
        "eventTime": Utc::now().timestamp_millis().to_string(),
        "payload": p,
    }]))
    .expect("body")
}

/// When each ticket number first appeared in a Cliq message (`#123 ` in a card or a summary
/// line), by the simulator's clock.
pub fn first_seen(sim: &Simulator) -> HashMap<u64, DateTime<Utc>> {
    let mut seen: HashMap<u64, DateTime<Utc>> = HashMap::new();
    for m in sim.cliq_messages() {
        let text = m.message.to_string();
        let bytes = text.as_bytes();
        let mut i = 0;
        while let Some(j) = text[i..].find('#') {
            let start = i + j + 1;
            let mut end = start;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            if end > start
                && bytes.get(end) == Some(&b' ')
                && let Ok(n) = text[start..end].parse::<u64>()
            {
                seen.entry(n)
                    .and_modify(|t| *t = (*t).min(m.at))
                    .or_insert(m.at);
            }
            i = end.max(start);
        }
    }
    seen
}

/// Resident memory (`VmRSS`) or its peak (`VmHWM`) of a process, in MiB.
pub fn rss_mib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// The HTTP client of the load generator: keeps connections, many to one host.
pub fn http_client() -> reqwest::Client {
    // Installs the crypto provider reqwest needs even for plain HTTP.
    let _ = deskcliq::zoho_http::client();
    reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("HTTP client")
}

/// The bare actix-web handler: parses the body as JSON (an array, as the daemon wants) and
/// answers 200, nothing durable. Runs as a child process of this binary, like the daemon, with
/// the daemon's 2 workers; prints its address on stdout.
pub fn bare_server_main() {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let sys = actix_rt::System::new();
    sys.block_on(async {
        let server = HttpServer::new(|| {
            App::new().route(
                "/webhooks/desk/{token}",
                web::post().to(|body: web::Bytes| async move {
                    match serde_json::from_slice::<Value>(&body) {
                        Ok(Value::Array(_)) => HttpResponse::Ok().body("ok"),
                        _ => HttpResponse::BadRequest().body("not an array"),
                    }
                }),
            )
        })
        .workers(2)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .expect("bind");
        println!("LISTENING {}", server.addrs()[0]);
        server.run().await.expect("bare server");
    });
}

/// The bare server as a child process of this benchmark.
pub struct Bare {
    child: Child,
    pub addr: SocketAddr,
}

impl Bare {
    pub fn start() -> Bare {
        let exe = std::env::current_exe().expect("current exe");
        let mut child = Command::new(exe)
            .arg(BARE_SERVER_ARG)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn bare server");
        let out = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(out).read_line(&mut line).expect("read");
        let addr = line
            .trim()
            .strip_prefix("LISTENING ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("bare server said {line:?}"));
        Bare { child, addr }
    }

    pub fn url(&self) -> String {
        format!("http://{}/webhooks/desk/{TOKEN}", self.addr)
    }
}

impl Drop for Bare {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU ticks (user + system) of each thread of a process, summed by thread name (digits
/// dropped, so `actix-server worker 0` and `… 1` count together).
pub fn thread_ticks(pid: u32) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        let path = t.path();
        let name: String = std::fs::read_to_string(path.join("comm"))
            .unwrap_or_default()
            .trim()
            .chars()
            .filter(|c| !c.is_ascii_digit())
            .collect();
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
            + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        *out.entry(name.trim().to_string()).or_default() += ticks;
    }
    out
}

/// Clock ticks per second of `/proc` CPU times (`getconf CLK_TCK`, 100 on Linux).
pub fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
