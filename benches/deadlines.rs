//! Benchmark: 1,000,000 tracked tickets — resident memory, rebuild time after a restart, and
//! alert lateness (p50/p99) while alerts fire in real time.
//!
//!     cargo bench --bench deadlines            # writes the figures to BENCHMARKS.md
//!
//! Not part of `cargo test` (`test = false`, `harness = false`).

use std::sync::Arc;
use std::time::{Duration, Instant};

/// The daemon's allocator (src/main.rs), so the memory figures are the daemon's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use chrono::{Duration as Span, Utc};
use deskcliq::actors::Shared;
use deskcliq::actors::deadline::{AlertSink, fire_due_into};
use deskcliq::clock::Clock;
use deskcliq::deadlines::Timers;
use deskcliq::metrics::Metrics;
use deskcliq::notify::model::{Change, ChangeKind, TicketSnapshot};
use deskcliq::store::{Store, TreeName};

const TICKETS: usize = 1_000_000;
/// Alerts that come due during the measured window.
const FIRING: usize = 20_000;
const WINDOW_SECS: i64 = 30;

/// Resident memory now (`VmRSS`) or at its peak so far (`VmHWM`), in MiB.
fn mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l.to_string())
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

struct Lateness(std::sync::Mutex<Vec<f64>>);

impl AlertSink for Lateness {
    fn deliver<'a>(
        &'a self,
        change: &'a Change,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + 'a>> {
        Box::pin(async move {
            if let ChangeKind::DueSoon { due, .. } = &change.kind {
                // The alert was due at due - 60 min.
                let at = *due - Span::minutes(60);
                let late = (Utc::now() - at).num_milliseconds() as f64 / 1000.0;
                self.0.lock().unwrap_or_else(|p| p.into_inner()).push(late);
            }
            Ok(())
        })
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    if v.is_empty() {
        return 0.0;
    }
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let dir = std::env::temp_dir().join(format!("deskcliq-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let arm_started = Instant::now();
    {
        let store = Store::open(&dir).expect("store");
        let tickets = store.tree::<String, TicketSnapshot>(TreeName::Tickets);
        let timers = Timers::new(&store);
        let now = Utc::now();
        // The tickets whose alerts fire in the measured window are armed last, so the window
        // starts after the rebuild.
        let mut start = now;
        for i in 0..TICKETS {
            if i == TICKETS - FIRING {
                start = Utc::now() + Span::seconds(30);
            }
            let due = if i >= TICKETS - FIRING {
                let k = (i - (TICKETS - FIRING)) as i64;
                start
                    + Span::minutes(60)
                    + Span::milliseconds((k * WINDOW_SECS * 1000) / FIRING as i64)
            } else {
                now + Span::days(2) + Span::seconds(i as i64 % 86_400)
            };
            let t = TicketSnapshot {
                id: format!("{i:012}"),
                status_type: "Open".into(),
                due_date: Some(due),
                ..Default::default()
            };
            tickets.insert(&t.id, &t).expect("insert");
            timers.track_ticket(&t, &[60, 30], now).expect("track");
        }
        store.flush_blocking().expect("flush");
    }
    let arm_secs = arm_started.elapsed().as_secs_f64();

    // From here on the process stands for a restarted daemon: its peak is measured from now
    // (writing 5 to clear_refs resets VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    // Restart: open the store and rebuild the watcher's view (it counts the timers).
    let rebuild_started = Instant::now();
    let store = Store::open(&dir).expect("reopen");
    let tracked = Timers::new(&store).count().expect("count");
    let rebuild_secs = rebuild_started.elapsed().as_secs_f64();
    let rss_after_rebuild = mib("VmRSS:");
    let counted = Timers::new(&store).count_slowly().expect("count");
    assert_eq!(
        counted, tracked,
        "the timer counter disagrees with the timers"
    );

    let sys = actix::System::new();
    let sink = Arc::new(Lateness(std::sync::Mutex::new(Vec::new())));
    let shared = Shared {
        store: store.clone(),
        metrics: Arc::new(Metrics::new().expect("metrics")),
        clock: Clock::system(),
        zoho: None,
    };
    let fired = sys.block_on({
        let sink = sink.clone();
        async move {
            let mut fired = 0;
            let end = Instant::now() + Duration::from_secs(35 + WINDOW_SECS as u64);
            while Instant::now() < end {
                fired += fire_due_into(&shared, sink.as_ref()).await.expect("fire");
                // The watcher's tick.
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            fired
        }
    });
    let rss_peak = mib("VmHWM:");
    // The counter the rebuild used agrees with the timers themselves.
    let counted = Timers::new(&store).count_slowly().expect("count");
    assert_eq!(
        counted + fired,
        tracked,
        "the timer counter disagrees with the timers"
    );
    let mut late = sink.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let p50 = percentile(&mut late, 0.50);
    let p99 = percentile(&mut late, 0.99);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().next().and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    let report = format!(
        "## Deadline watcher: {TICKETS} tracked tickets\n\n\
         Command: `cargo bench --bench deadlines` · {} · {cores} cores, {mem_gib:.0} GiB\n\n\
         | figure | target | measured |\n|---|---|---|\n\
         | timers armed | 2 per ticket | {tracked} |\n\
         | arming 1M tickets (webhook path, one by one) | — | {arm_secs:.1} s |\n\
         | rebuild after restart (open store, count timers) | ≤ 10 s | {rebuild_secs:.2} s |\n\
         | resident memory after rebuild | ≤ 256 MiB | {rss_after_rebuild:.0} MiB |\n\
         | peak resident memory after the restart (rebuild and firing) | ≤ 256 MiB | {rss_peak:.0} MiB |\n\
         | alerts fired in the {WINDOW_SECS}-s window | {FIRING} | {fired} (lateness measured on {n}) |\n\
         | alert lateness p50 | — | {p50:.3} s |\n\
         | alert lateness p99 | ≤ 1 s | {p99:.3} s |\n",
        Utc::now().format("%Y-%m-%d"),
        n = late.len(),
    );
    println!("{report}");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md");
    let existing = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n\nFigures written by the benchmarks themselves; each names the command that produced it.\n\n".into());
    let marker = "## Deadline watcher:";
    let kept = match existing.find(marker) {
        Some(i) => {
            let rest = &existing[i + marker.len()..];
            let end = rest
                .find("\n## ")
                .map(|j| i + marker.len() + j + 1)
                .unwrap_or(existing.len());
            format!("{}{}", &existing[..i], &existing[end..])
        }
        None => existing,
    };
    if let Err(e) = std::fs::write(
        path,
        format!("{}{report}", kept.trim_end().to_string() + "\n\n"),
    ) {
        eprintln!("cannot write BENCHMARKS.md: {e}");
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
