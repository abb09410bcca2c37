//! Durable webhook ingest: events/s and ack latency at fixed offered loads, the release
//! daemon beside a bare actix-web handler that parses the same body and answers 200.

use std::time::Duration;

use super::harness::{
    Bare, Daemon, SUPPORT, SUPPORT_DEPARTMENT, http_client, simulator, thread_ticks,
    ticket_add_body, ticket_template, ticks_per_second,
};
use super::load::{Outcome, open_loop, outcome};
use super::report::{Section, verdict};
use crate::Ctx;

pub async fn run(ctx: &Ctx) -> Section {
    // (events/s, seconds): the last two are past what deskcliq can take on 2 cores; the last
    // is about what the bare handler and the sender, sharing the 2 cores, can.
    // `DESKCLIQ_BENCH_INGEST_LOADS=16000:4,4000:6` measures only those (for profiling).
    let chosen: Vec<(f64, f64)> = std::env::var("DESKCLIQ_BENCH_INGEST_LOADS")
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|l| {
                    let (r, s) = l.split_once(':')?;
                    Some((r.trim().parse().ok()?, s.trim().parse().ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    let loads: &[(f64, f64)] = if !chosen.is_empty() {
        &chosen
    } else if ctx.quick {
        &[(200.0, 2.0), (4000.0, 2.0)]
    } else {
        &[
            (500.0, 6.0),
            (2000.0, 6.0),
            (4000.0, 6.0),
            (16000.0, 4.0),
            (32000.0, 3.0),
            (64000.0, 2.0),
        ]
    };
    let sim = simulator().await;
    let client = http_client();
    let template = ticket_template(&sim);
    let bare = Bare::start();
    let mut rows = Vec::new();
    let mut next_number = 100_000u64;
    let mut threads = Vec::new();
    let mut cpu_per_event = 0.0;
    let mut deliveries_per_flush = 0.0;
    for &(rate, secs) in loads {
        let n = (rate * secs).round() as usize;
        let mut bodies = |count: usize| -> Vec<Vec<u8>> {
            let b = (0..count as u64)
                .map(|k| ticket_add_body(&template, next_number + k, SUPPORT))
                .collect();
            next_number += count as u64;
            b
        };
        // A fresh daemon for each load: each starts from an empty store and inbox.
        let daemon = Daemon::start(&ctx.binary, &sim, SUPPORT_DEPARTMENT).await;
        let warm = bodies(20);
        let _ = open_loop(
            &client,
            &sim,
            &daemon.webhook_id,
            &daemon.webhook_url(),
            100.0,
            warm.clone(),
        )
        .await;
        let _ = open_loop(&client, &sim, &daemon.webhook_id, &bare.url(), 100.0, warm).await;
        let load = bodies(n);
        let (started, shots) = open_loop(
            &client,
            &sim,
            &daemon.webhook_id,
            &bare.url(),
            rate,
            load.clone(),
        )
        .await;
        let b = outcome(rate, started, &shots);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = thread_ticks(daemon.pid());
        let (started, shots) = open_loop(
            &client,
            &sim,
            &daemon.webhook_id,
            &daemon.webhook_url(),
            rate,
            load,
        )
        .await;
        let d = outcome(rate, started, &shots);
        let flushes = super::burst::metric(
            &daemon.metrics(&client).await,
            "deskcliq_store_flushes_total",
        );
        deliveries_per_flush = d.acked as f64 / flushes.max(1.0);
        println!(
            "  deskcliq flushed {flushes:.0} times: {deliveries_per_flush:.1} deliveries a flush"
        );
        // Where the daemon's CPU went while it took this load in.
        let after = thread_ticks(daemon.pid());
        let mut used: Vec<(String, f64)> = after
            .iter()
            .map(|(name, t)| {
                let t0 = before.get(name).copied().unwrap_or(0);
                (
                    name.clone(),
                    t.saturating_sub(t0) as f64 / ticks_per_second(),
                )
            })
            .filter(|(_, secs)| *secs > 0.0)
            .collect();
        used.sort_by(|a, b| b.1.total_cmp(&a.1));
        let total: f64 = used.iter().map(|(_, s)| s).sum();
        cpu_per_event = 1000.0 * total / n as f64;
        threads = used;
        let refused: usize = shots.iter().filter(|s| s.status != 200).count();
        if refused > 0 {
            let mut statuses: Vec<u16> = shots
                .iter()
                .filter(|s| s.status != 200)
                .map(|s| s.status)
                .collect();
            statuses.dedup();
            println!("  deskcliq did not acknowledge {refused} deliveries: statuses {statuses:?}");
        }
        let line = |who: &str, o: &Outcome| {
            println!(
                "  {who:9} offered {:6.0}/s: {:6.0} events/s acknowledged ({}/{}), ack p50 {:7.2} ms p99 {:7.2} ms",
                o.offered, o.throughput, o.acked, o.sent, o.p50_ms, o.p99_ms
            )
        };
        line("bare", &b);
        line("deskcliq", &d);
        rows.push((b, d));
        drop(daemon);
    }
    drop(bare);
    sim.stop().await;

    let mut table = String::from(
        "| offered events/s | deskcliq events/s | deskcliq ack p50 | deskcliq ack p99 | bare events/s | bare ack p50 | bare ack p99 | ratio (goal ≥ 0.5) |\n|---|---|---|---|---|---|---|---|\n",
    );
    for (b, d) in &rows {
        let ratio = d.throughput / b.throughput.max(1e-9);
        table.push_str(&format!(
            "| {:.0} | {:.0} ({} of {} acknowledged) | {:.2} ms | {:.2} ms | {:.0} | {:.2} ms | {:.2} ms | {:.2} |\n",
            d.offered, d.throughput, d.acked, d.sent, d.p50_ms, d.p99_ms, b.throughput, b.p50_ms, b.p99_ms, ratio
        ));
    }
    let (b, d) = rows.last().expect("a load");
    let most = |f: fn(&(Outcome, Outcome)) -> f64| rows.iter().map(f).fold(0.0, f64::max);
    let (most_d, most_b) = (most(|r| r.1.throughput), most(|r| r.0.throughput));
    // Capacity against capacity: the most each took at any load.
    let ratio = most_d / most_b.max(1e-9);
    // The highest offered load at which deskcliq took at least half of what the bare handler did.
    let kept_half = rows
        .iter()
        .take_while(|(b, d)| d.throughput >= 0.5 * b.throughput)
        .last()
        .map(|(_, d)| format!("every offered load up to {:.0} events/s", d.offered))
        .unwrap_or_else(|| "none of the offered loads".into());
    let total: f64 = threads.iter().map(|(_, s)| s).sum();
    let split: Vec<String> = threads
        .iter()
        .take(4)
        .map(|(name, s)| format!("`{name}` {:.0} %", 100.0 * s / total.max(1e-9)))
        .collect();
    let notes = format!(
        "Per load: deskcliq took at least half of what the bare handler took at {kept_half}. Capacity: deskcliq acknowledged at most {most_d:.0} events/s, the bare handler {most_b:.0}{}: ratio **{ratio:.2}**, goal ≥ 0.5 {}. At the highest offered load deskcliq took {:.0} events/s with {deliveries_per_flush:.0} deliveries sharing each flush to disk, and used {cpu_per_event:.2} ms of CPU per event ({total:.1} s in all), by thread: {}.",
        if b.p99_ms < 50.0 {
            " (it kept up with the sender at every load, so its capacity is higher still and the true ratio lower)"
        } else {
            ""
        },
        verdict(ratio >= 0.5),
        d.throughput,
        split.join(", ")
    );
    println!("  {notes}");
    Section {
        title: "durable webhook ingest".into(),
        name: "ingest",
        method: format!(
            "Signed deliveries like the simulator's (a JSON array of one `Ticket_Add`, ~2 KB, with an RS256 `X-ZDesk-JWT` signed anew each second, as Desk's `iat` is in seconds) POSTed to `/webhooks/desk/{{token}}` over loopback by an open-loop sender at each fixed rate for 3–6 s (at most {} in flight; latency counted from when each was due, so queueing counts). deskcliq is the release binary (a fresh store per load; 200 only once the event is flushed to disk); the bare handler is an actix-web server with the same 2 workers, in its own process, that parses the same body as JSON and answers 200. Both are driven by the same sender in the same run, one after the other at each load. events/s = deliveries answered 200 per second.",
            super::load::MAX_IN_FLIGHT
        ),
        table,
        notes,
    }
}
