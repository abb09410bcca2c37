//! The release daemon doing nothing: resident memory and CPU over ~30 s.

use std::time::{Duration, Instant};

use super::harness::{Daemon, SUPPORT_DEPARTMENT, rss_mib, simulator, ticks_per_second};
use super::report::Section;
use crate::Ctx;

/// utime + stime of a process, in clock ticks (`/proc/{pid}/stat` fields 14 and 15).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces: count fields after its closing parenthesis.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ')': field 3 (state) is f[0], so field 14 is f[11] and field 15 f[12].
    let utime = f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let stime = f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    utime + stime
}

fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0)
}

pub async fn run(ctx: &Ctx) -> Section {
    let secs = if ctx.quick { 5 } else { 30 };
    let sim = simulator().await;
    let daemon = Daemon::start(&ctx.binary, &sim, SUPPORT_DEPARTMENT).await;
    let pid = daemon.pid();
    // Start-up work (token, agent list, first reconciliation) is done well within this.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ticks0 = cpu_ticks(pid);
    let t0 = Instant::now();
    let mut rss = Vec::new();
    while t0.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss.push(rss_mib(pid, "VmRSS:"));
    }
    let ticks = cpu_ticks(pid) - ticks0;
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu_secs = ticks as f64 / ticks_per_second();
    let cpu_pct = 100.0 * cpu_secs / elapsed;
    let rss_end = rss.last().copied().unwrap_or(0.0);
    let rss_max = rss.iter().copied().fold(0.0, f64::max);
    let peak = rss_mib(pid, "VmHWM:");
    let n_threads = threads(pid);
    let desk_requests = sim.desk_credits_used();
    println!(
        "  idle {elapsed:.0} s: CPU {cpu_secs:.2} s ({cpu_pct:.2} % of one core); RSS {rss_end:.1} MiB (max {rss_max:.1}, peak since start {peak:.1}); {n_threads} threads"
    );
    drop(daemon);
    sim.stop().await;
    Section {
        title: "idle daemon".into(),
        name: "idle",
        method: format!(
            "The release daemon on one department, started against the simulator and left alone for {secs} s after 3 s of start-up (token, agent list, first reconciliation: {desk_requests} Desk credits); CPU from `/proc/{{pid}}/stat` (user + system), memory from `/proc/{{pid}}/status`, sampled every second."
        ),
        table: format!(
            "| figure | goal | measured |\n|---|---|---|\n\
             | CPU while idle | — | {cpu_secs:.2} s in {elapsed:.0} s ({cpu_pct:.2} % of one core) |\n\
             | resident memory (VmRSS) at the end / max | — | {rss_end:.1} MiB / {rss_max:.1} MiB |\n\
             | peak resident memory since start (VmHWM) | — | {peak:.1} MiB |\n\
             | threads | — | {n_threads} |\n"
        ),
        notes: String::new(),
    }
}
