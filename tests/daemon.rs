//! The real binary under the process-level contract: readiness, SIGHUP reload, shutdown,
//! the state-directory lock, the watchdog and the log formats.

mod common;

use std::time::Duration;

use common::{Daemon, config_for, spawn};

const NEW_DEPARTMENT: &str = r#"
[[departments]]
id = "200"
name = "Billing"
channel = "billing"
"#;

#[test]
fn healthz_readyz_and_metrics_answer_once_ready_arrives() {
    let d = Daemon::start("");
    assert_eq!(d.get("/healthz"), (200, "ok\n".to_string()));
    let (status, body) = d.get("/readyz");
    assert_eq!(status, 200, "{body}");
    let (status, body) = d.get("/metrics");
    assert_eq!(status, 200);
    assert!(
        body.contains("deskcliq_config_last_reload_successful 1"),
        "{body}"
    );
    assert!(
        body.contains(
            r#"deskcliq_department_info{channel="support",enabled="true",id="100",name="Support"} 1"#
        ),
        "{body}"
    );
    assert!(body.contains("deskcliq_store_schema_version 1"), "{body}");
    assert!(body.contains("process_resident_memory_bytes"), "{body}");
    // Before any traffic, every metric of the contract is there, at 0.
    for series in [
        r#"deskcliq_deliveries_total{outcome="dead"} 0"#,
        r#"deskcliq_webhook_events_total{outcome="accepted",type="Ticket_Add"} 0"#,
        r#"deskcliq_commands_total{name="ticket",outcome="answered"} 0"#,
        r#"deskcliq_actions_total{name="status",outcome="done"} 0"#,
        r#"deskcliq_desk_requests_total{outcome="error"} 0"#,
    ] {
        assert!(body.contains(series), "{series} in {body}");
    }
    // The estimate check-config shows (reconcile_minutes = 10: 144 runs of 6 credits).
    assert!(
        body.contains("deskcliq_reconcile_credits_per_day 864"),
        "{body}"
    );
    // The bound address is logged.
    let log = d.wait_for_stderr(&d.addr.to_string(), Duration::from_secs(5));
    assert!(log.contains(&d.addr.to_string()), "{log}");
}

#[test]
fn sighup_applies_a_new_department_with_reloading_then_ready() {
    let mut d = Daemon::start("");
    let before = d
        .metric("deskcliq_config_last_reload_success_timestamp_seconds")
        .unwrap();
    d.write_config(NEW_DEPARTMENT);
    d.signal("HUP");
    let msgs = d.wait_for_notify("READY=1", Duration::from_secs(10));
    let reloading = msgs
        .iter()
        .find(|m| m.lines().any(|l| l == "RELOADING=1"))
        .unwrap_or_else(|| panic!("no RELOADING=1 before READY=1: {msgs:?}"));
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading}");
    let (_, body) = d.get("/metrics");
    assert!(
        body.contains(
            r#"deskcliq_department_info{channel="billing",enabled="true",id="200",name="Billing"} 1"#
        ),
        "{body}"
    );
    assert_eq!(
        d.metric("deskcliq_config_last_reload_successful"),
        Some(1.0)
    );
    let after = d
        .metric("deskcliq_config_last_reload_success_timestamp_seconds")
        .unwrap();
    assert!(after >= before);
}

#[test]
fn sighup_with_a_broken_file_keeps_the_old_config_and_reports_0() {
    let mut d = Daemon::start("");
    let before = d
        .metric("deskcliq_config_last_reload_success_timestamp_seconds")
        .unwrap();
    d.write_config("[org]\ntimezone = \"Mars/Olympus\"\n[[departments]]\nid = \"300\"\n");
    d.signal("HUP");
    d.wait_for_notify("READY=1", Duration::from_secs(10));
    assert_eq!(d.get("/healthz").0, 200);
    assert_eq!(
        d.metric("deskcliq_config_last_reload_successful"),
        Some(0.0)
    );
    assert_eq!(
        d.metric("deskcliq_config_last_reload_success_timestamp_seconds"),
        Some(before)
    );
    let (_, body) = d.get("/metrics");
    assert!(body.contains(r#"id="100""#), "{body}");
    assert!(!body.contains(r#"id="300""#), "{body}");
    let log = d.wait_for_stderr("org.timezone", Duration::from_secs(5));
    assert!(log.contains("org.timezone"), "{log}");

    // Fixing the file and reloading again applies it.
    d.write_config(NEW_DEPARTMENT);
    d.signal("HUP");
    d.wait_for_notify("READY=1", Duration::from_secs(10));
    assert_eq!(
        d.metric("deskcliq_config_last_reload_successful"),
        Some(1.0)
    );
}

#[test]
fn sighup_names_each_changed_key_that_only_a_restart_applies() {
    let mut d = Daemon::start("");
    // The Zoho clients keep the grant, the bot and the concurrency they were started with.
    let text = config_for(&d.state_dir, "[limits]\ndesk_concurrency = 5\n")
        .replace("rt-test-0123456789", "rt-test-rotated-0123456789");
    std::fs::write(&d.config_path, text).unwrap();
    d.signal("HUP");
    d.wait_for_notify("READY=1", Duration::from_secs(10));
    assert_eq!(
        d.metric("deskcliq_config_last_reload_successful"),
        Some(1.0)
    );
    for key in ["limits.desk_concurrency", "zoho.refresh_token"] {
        let log = d.wait_for_stderr(key, Duration::from_secs(5));
        let line = log.lines().find(|l| l.contains(key)).unwrap_or("");
        assert!(line.contains("next restart"), "{key}: {log}");
    }
    let log = d.wait_for_stderr("config reloaded", Duration::from_secs(5));
    assert!(
        !log.contains("rt-test-rotated"),
        "a secret in the log: {log}"
    );
    assert!(!log.contains("cliq.bot"), "{log}");
}

#[test]
fn fifty_sighups_in_a_row_leave_it_healthy() {
    let mut d = Daemon::start("");
    d.write_config(NEW_DEPARTMENT);
    for _ in 0..50 {
        d.signal("HUP");
    }
    d.wait_for_notify("READY=1", Duration::from_secs(10));
    // Let the last signals be handled, then it must still answer and be in one piece.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        d.child.try_wait().unwrap().is_none(),
        "it exited:\n{}",
        d.stderr()
    );
    assert_eq!(d.get("/healthz").0, 200);
    assert_eq!(d.get("/readyz").0, 200);
    assert_eq!(
        d.metric("deskcliq_config_last_reload_successful"),
        Some(1.0)
    );
    let (_, body) = d.get("/metrics");
    assert!(body.contains(r#"id="200""#), "{body}");
}

#[test]
fn sigterm_exits_0_after_stopping() {
    let mut d = Daemon::start("");
    d.signal("TERM");
    d.wait_for_notify("STOPPING=1", Duration::from_secs(10));
    let status = d.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "exit {status}\n{}", d.stderr());
    assert!(d.stderr().contains("stopped"), "{}", d.stderr());
}

#[test]
fn sigint_exits_0() {
    let mut d = Daemon::start("");
    d.signal("INT");
    let status = d.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "exit {status}\n{}", d.stderr());
}

#[test]
fn a_second_instance_on_the_same_state_dir_fails_with_a_clear_message() {
    let d = Daemon::start("");
    let (mut second, _notify, stderr, reader) = spawn(d.dir.path(), &d.config_path, &[], &[]);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = second.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "second instance kept running"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    reader.join().unwrap();
    let err = stderr.lock().unwrap().clone();
    assert!(
        err.contains(&format!(
            "another deskcliq holds {} (pid {})",
            d.state_dir.display(),
            d.pid()
        )),
        "{err}"
    );
    assert!(err.contains(&d.state_dir.display().to_string()), "{err}");
    // The first one is unaffected.
    assert_eq!(d.get("/healthz").0, 200);
}

#[test]
fn a_clean_stop_releases_the_state_dir_for_the_next_start() {
    let mut d = Daemon::start("");
    d.signal("TERM");
    assert!(d.wait_exit(Duration::from_secs(15)).success());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, config_for(&d.state_dir, "")).unwrap();
    let (mut again, notify, stderr, _reader) = spawn(dir.path(), &config, &[], &[]);
    notify
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 1024];
    loop {
        match notify.recv(&mut buf) {
            Ok(n) if String::from_utf8_lossy(&buf[..n]).contains("READY=1") => break,
            Ok(_) => {}
            Err(_) => {
                if let Some(status) = again.try_wait().unwrap() {
                    panic!(
                        "the restarted daemon exited ({status}):\n{}",
                        stderr.lock().unwrap()
                    );
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "no READY from the restarted daemon"
                );
            }
        }
    }
    let _ = again.kill();
    let _ = again.wait();
}

#[test]
fn watchdog_pings_at_half_the_interval() {
    let mut d = Daemon::start_with("", &[("WATCHDOG_USEC", "400000")], &[]);
    d.wait_for_notify("WATCHDOG=1", Duration::from_secs(5));
    // At half of 400 ms there are about ten pings in two seconds; at the full interval,
    // five. Counting over a window keeps a loaded machine's jitter out of it.
    let start = std::time::Instant::now();
    let mut pings = 0;
    while start.elapsed() < Duration::from_secs(2) {
        d.wait_for_notify("WATCHDOG=1", Duration::from_secs(5));
        pings += 1;
    }
    assert!(pings >= 7, "{pings} pings in 2 s");
}

#[test]
fn a_zero_watchdog_usec_means_no_watchdog_and_the_daemon_runs_on() {
    let mut d = Daemon::start_with("", &[("WATCHDOG_USEC", "0")], &[]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(d.get("/healthz").0, 200, "{}", d.stderr());
    d.signal("TERM");
    let status = d.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "exit {status}\n{}", d.stderr());
}

#[test]
fn json_log_format_writes_one_json_object_per_line() {
    let mut d = Daemon::start_with("", &[], &["--log-format", "json"]);
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(15));
    let logs = d.stderr();
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v.get("level").is_some(), "{line}");
    }
}

#[test]
fn logs_never_contain_a_secret() {
    let mut d = Daemon::start_with("", &[("RUST_LOG", "trace")], &[]);
    d.write_config(NEW_DEPARTMENT);
    d.signal("HUP");
    d.wait_for_notify("READY=1", Duration::from_secs(10));
    d.signal("TERM");
    d.wait_exit(Duration::from_secs(15));
    let logs = d.stderr();
    for secret in [
        "cs-test-0123456789",
        "rt-test-0123456789",
        "wh-test-token-0123456789",
    ] {
        assert!(!logs.contains(secret), "{secret} in logs:\n{logs}");
    }
}

#[test]
fn run_with_an_invalid_config_exits_1_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        config_for(&dir.path().join("state"), "[limits]\ndesk_concurency = 3\n"),
    )
    .unwrap();
    let out = std::process::Command::new(common::binary())
        .args(["run", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("limits.desk_concurency"), "{err}");
    assert!(err.contains("limits.desk_concurrency"), "{err}");
}
