//! Drives the real `deskcliq` binary: a generated config on a free port, a temporary state
//! directory, and a test `NOTIFY_SOCKET` that receives its systemd notifications.
#![allow(dead_code)]

pub mod app;
pub mod process;
pub mod sim;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A config that passes validation, listening on a free loopback port. `{state}` is
/// replaced by the state directory.
pub const BASE_CONFIG: &str = r#"
[server]
listen = "127.0.0.1:0"
public_url = "https://deskcliq.example.com"
[storage]
path = "{state}"
[zoho]
data_center = "jp"
client_id = "1000.TEST"
client_secret = "cs-test-0123456789"
refresh_token = "rt-test-0123456789"
[desk]
org_id = "54983163"
webhook_token = "wh-test-token-0123456789"
[cliq]
org_id = "6011234"
[[departments]]
id = "100"
name = "Support"
channel = "support"
"#;

pub struct Daemon {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub state_dir: PathBuf,
    pub addr: SocketAddr,
    notify: UnixDatagram,
    stderr: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_deskcliq")
}

pub fn config_for(state: &Path, extra: &str) -> String {
    BASE_CONFIG.replace("{state}", &state.display().to_string()) + extra
}

/// Spawns `deskcliq run`; `env` adds variables. Does not wait for readiness.
pub fn spawn(
    dir: &Path,
    config_path: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> (
    Child,
    UnixDatagram,
    Arc<Mutex<String>>,
    std::thread::JoinHandle<()>,
) {
    let sock_path = dir.join(format!("notify-{}.sock", rand_suffix()));
    let notify = UnixDatagram::bind(&sock_path).expect("bind notify socket");
    notify
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("socket timeout");
    let mut cmd = Command::new(binary());
    cmd.args(args)
        .arg("run")
        .arg("--config")
        .arg(config_path)
        .env("NOTIFY_SOCKET", &sock_path)
        .env("RUST_LOG", "info")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn deskcliq");
    let stderr = Arc::new(Mutex::new(String::new()));
    let pipe = child.stderr.take().expect("stderr pipe");
    let sink = stderr.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
            s.push_str(&line);
            s.push('\n');
        }
    });
    (child, notify, stderr, reader)
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

impl Daemon {
    /// Starts a daemon on `BASE_CONFIG` + `extra` and waits for `READY=1`.
    pub fn start(extra: &str) -> Daemon {
        Daemon::start_with(extra, &[], &[])
    }

    pub fn start_with(extra: &str, env: &[(&str, &str)], args: &[&str]) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let state_dir = dir.path().join("state");
        let config_path = dir.path().join("config.toml");
        std::fs::write(&config_path, config_for(&state_dir, extra)).expect("write config");
        let (child, notify, stderr, reader) = spawn(dir.path(), &config_path, env, args);
        let mut d = Daemon {
            child,
            dir,
            config_path,
            state_dir,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            notify,
            stderr,
            reader: Some(reader),
        };
        let msgs = d.wait_for_notify("READY=1", Duration::from_secs(30));
        let status = msgs
            .iter()
            .flat_map(|m| m.lines())
            .find_map(|l| l.strip_prefix("STATUS=listening on "))
            .unwrap_or_else(|| panic!("no STATUS=listening on … in {msgs:?}"));
        d.addr = status
            .split(',')
            .next()
            .and_then(|a| a.trim().parse().ok())
            .unwrap_or_else(|| panic!("unparsable STATUS address {status}"));
        d
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits until the log holds `needle` (the log is read by another thread).
    pub fn wait_for_stderr(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.stderr();
            if s.contains(needle) || Instant::now() >= deadline {
                return s;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Collects notifications until one contains `needle`; panics after `timeout`.
    pub fn wait_for_notify(&mut self, needle: &str, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            match self.notify.recv(&mut buf) {
                Ok(n) => {
                    let msg = String::from_utf8_lossy(&buf[..n]).to_string();
                    let done = msg.lines().any(|l| l == needle);
                    seen.push(msg);
                    if done {
                        return seen;
                    }
                }
                Err(_) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        panic!(
                            "deskcliq exited ({status}) before {needle}; notifications {seen:?}\nstderr:\n{}",
                            self.stderr()
                        );
                    }
                }
            }
        }
        panic!(
            "no {needle} within {timeout:?}; got {seen:?}\nstderr:\n{}",
            self.stderr()
        );
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(ok.success(), "kill -{sig} failed");
    }

    pub fn write_config(&self, extra: &str) {
        std::fs::write(&self.config_path, config_for(&self.state_dir, extra)).expect("write");
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.addr, path)
    }

    /// The value of an unlabelled metric, or of the first line starting with `series`.
    pub fn metric(&self, series: &str) -> Option<f64> {
        let (_, body) = self.get("/metrics");
        body.lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with([' ', '{']))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // The process is gone, so its stderr is closed: collect the last lines.
                if let Some(r) = self.reader.take() {
                    let _ = r.join();
                }
                return status;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "deskcliq did not exit within {timeout:?}\nstderr:\n{}",
            self.stderr()
        );
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 GET over loopback (the tests need no HTTP client crate).
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("write request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad response: {text}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
