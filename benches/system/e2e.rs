//! End to end: webhook → Cliq post latency at 10 events/s, release daemon, real time.

use std::time::{Duration, Instant};

use super::harness::{
    Daemon, SUPPORT, SUPPORT_DEPARTMENT, first_seen, http_client, simulator, ticket_add_body,
    ticket_template,
};
use super::load::open_loop;
use super::report::{Section, percentile};
use crate::Ctx;

const RATE: f64 = 10.0;

pub async fn run(ctx: &Ctx) -> Section {
    let secs = if ctx.quick { 10.0 } else { 60.0 };
    let sim = simulator().await;
    let client = http_client();
    let template = ticket_template(&sim);
    let daemon = Daemon::start(&ctx.binary, &sim, SUPPORT_DEPARTMENT).await;
    let n = (RATE * secs) as u64;
    let first = 200_000u64;
    let bodies = (first..first + n)
        .map(|k| ticket_add_body(&template, k, SUPPORT))
        .collect();
    let (_, shots) = open_loop(
        &client,
        &sim,
        &daemon.webhook_id,
        &daemon.webhook_url(),
        RATE,
        bodies,
    )
    .await;
    let acked = shots.iter().filter(|s| s.status == 200).count();
    // Wait until every acknowledged event is in a Cliq message (or 3 minutes pass).
    let deadline = Instant::now() + Duration::from_secs(180);
    let seen = loop {
        let seen = first_seen(&sim);
        let all = (first..first + n).all(|k| seen.contains_key(&k));
        if all || Instant::now() > deadline {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let mut lat: Vec<f64> = shots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            seen.get(&(first + i as u64))
                .map(|at| (*at - s.sent_at).num_microseconds().unwrap_or(0) as f64 / 1e6)
        })
        .collect();
    let delivered = lat.len();
    let p50 = percentile(&mut lat, 0.50);
    let p99 = percentile(&mut lat, 0.99);
    let max = lat.last().copied().unwrap_or(0.0);
    let records = sim.cliq_messages();
    let messages = records.len();
    let times: Vec<_> = records.iter().map(|m| m.at).collect();
    let max_window = (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| **t < times[i] + chrono::Duration::seconds(60))
                .count()
        })
        .max()
        .unwrap_or(0);
    let within_1s = lat.iter().filter(|l| **l <= 1.0).count();
    println!(
        "  {n} events at {RATE}/s: {acked} acknowledged, {delivered} in Cliq ({messages} messages); webhook → Cliq p50 {p50:.2} s, p99 {p99:.2} s, max {max:.2} s"
    );
    drop(daemon);
    sim.stop().await;
    Section {
        title: "end-to-end webhook → Cliq post".into(),
        name: "e2e",
        method: format!(
            "The release daemon with default limits (`cliq_posts_per_minute` = 45) and one department channel; {n} signed `Ticket_Add` deliveries at {RATE:.0} events/s for {secs:.0} s; latency from each delivery's send to the simulator's receipt of the first Cliq message that names the ticket (its own card or a summary card), both on the system clock."
        ),
        table: format!(
            "| figure | goal | measured |\n|---|---|---|\n\
             | events acknowledged / in Cliq | all | {acked} / {delivered} of {n} |\n\
             | Cliq messages posted (most in any 60 s) | ≤ 45 in any 60 s | {messages} ({max_window}) |\n\
             | events in Cliq within 1 s | — | {within_1s} of {delivered} |\n\
             | webhook → Cliq p50 | — | {p50:.2} s |\n\
             | webhook → Cliq p99 | — | {p99:.2} s |\n\
             | webhook → Cliq max | — | {max:.2} s |\n"
        ),
        notes: format!(
            "{within_1s} of {delivered} events reached Cliq within 1 s: those that found budget. 10 events/s is 600 a minute against a budget of 45 posts: the outbox posts the first half of the budget one by one as they come, then spreads the other half until the first post leaves the 60-s window, each post merging what waited meanwhile into a summary card; the tail is the wait for budget once the minute's posts are spent, not work."
        ),
    }
}
