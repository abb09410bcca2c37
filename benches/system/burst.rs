//! Burst: 5,000 events in 60 s over 20 department channels, release daemon, real time ⇒ the
//! most posts in any 60 s, events dropped, and when the last one reached Cliq.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::harness::{
    Daemon, first_seen, http_client, simulator, ticket_add_body, ticket_template,
};
use super::load::open_loop;
use super::report::{Section, verdict};
use crate::Ctx;

const TARGETS: usize = 20;
const BUDGET: usize = 45;

fn department(i: usize) -> String {
    format!("90000000000000{i:02}")
}

pub async fn run(ctx: &Ctx) -> Section {
    let (events, secs, wait) = if ctx.quick {
        (500u64, 10.0, 150u64)
    } else {
        (5_000u64, 60.0, 300u64)
    };
    let sim = simulator().await;
    sim.with(|st| (0..TARGETS).for_each(|i| st.add_channel(&format!("c{i}"), true)));
    let departments: String = (0..TARGETS)
        .map(|i| {
            format!(
                "[[departments]]\nid = \"{}\"\nname = \"D{i}\"\nchannel = \"c{i}\"\n",
                department(i)
            )
        })
        .collect();
    let extra = format!("{departments}[limits]\ncliq_posts_per_minute = {BUDGET}\n");
    let client = http_client();
    let template = ticket_template(&sim);
    let daemon = Daemon::start(&ctx.binary, &sim, &extra).await;
    let first = 300_000u64;
    let bodies = (0..events)
        .map(|k| ticket_add_body(&template, first + k, &department(k as usize % TARGETS)))
        .collect();
    let burst_start = Utc::now();
    let clock_start = Instant::now();
    let (_, shots) = open_loop(
        &client,
        &sim,
        &daemon.webhook_id,
        &daemon.webhook_url(),
        events as f64 / secs,
        bodies,
    )
    .await;
    let sent_secs = clock_start.elapsed().as_secs_f64();
    let acked: Vec<u64> = shots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.status == 200)
        .map(|(i, _)| first + i as u64)
        .collect();
    println!(
        "  {events} events sent in {sent_secs:.1} s, {} acknowledged; waiting for Cliq (at most {wait} s from the start)",
        acked.len()
    );
    let deadline = clock_start + Duration::from_secs(wait);
    let mut last_print = Instant::now();
    let seen = loop {
        let seen = first_seen(&sim);
        let missing = acked.iter().filter(|k| !seen.contains_key(k)).count();
        if missing == 0 || Instant::now() > deadline {
            break seen;
        }
        if last_print.elapsed() > Duration::from_secs(20) {
            println!(
                "  … {:.0} s: {} of {} in Cliq, {} messages",
                clock_start.elapsed().as_secs_f64(),
                acked.len() - missing,
                acked.len(),
                sim.cliq_messages().len()
            );
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let metrics = daemon.metrics(&client).await;
    let dead = metric(&metrics, "deskcliq_deliveries_total{outcome=\"dead\"}");
    let throttled = metric(&metrics, "deskcliq_deliveries_total{outcome=\"throttled\"}");
    let messages = sim.cliq_messages();
    let times: Vec<DateTime<Utc>> = messages.iter().map(|m| m.at).collect();
    let (mut max_window, mut window_span) = (0, 0.0);
    for (i, start) in times.iter().enumerate() {
        let inside: Vec<&DateTime<Utc>> = times[i..]
            .iter()
            .take_while(|t| **t < *start + chrono::Duration::seconds(60))
            .collect();
        if inside.len() > max_window {
            max_window = inside.len();
            window_span = inside
                .last()
                .map(|l| (**l - *start).num_milliseconds() as f64 / 1000.0)
                .unwrap_or(0.0);
        }
    }
    let requests = sim.cliq_post_requests();
    let delivered = acked.iter().filter(|k| seen.contains_key(k)).count();
    let not_acked = events as usize - acked.len();
    let missing = acked.len() - delivered;
    let last = acked.iter().filter_map(|k| seen.get(k)).max().copied();
    let last_secs = last
        .map(|t| (t - burst_start).num_milliseconds() as f64 / 1000.0)
        .unwrap_or(f64::NAN);
    let complete = missing == 0;
    let time_cell = if complete {
        format!(
            "{last_secs:.1} s from the first event ({:.1} s after the last was sent)",
            last_secs - sent_secs
        )
    } else {
        format!("not all within {wait} s: {missing} acknowledged events not in Cliq yet")
    };
    println!(
        "  {} Cliq messages ({requests} post requests), most in any 60 s: {max_window} (first to last {window_span:.3} s apart); not acknowledged {not_acked}, acknowledged but not in Cliq {missing}, dead-lettered {dead}, throttled {throttled}; last in Cliq {time_cell}",
        messages.len()
    );
    drop(daemon);
    sim.stop().await;
    let dropped = not_acked + missing;
    let by = |secs: i64| {
        acked
            .iter()
            .filter_map(|k| seen.get(k))
            .filter(|t| **t <= burst_start + chrono::Duration::seconds(secs))
            .count()
    };
    let most_rows = messages
        .iter()
        .filter_map(|m| m.message["slides"][0]["data"]["rows"].as_array())
        .map(Vec::len)
        .max()
        .unwrap_or(1);
    let notes = format!(
        "In Cliq by 60 s: {} events, by 120 s: {}, by 180 s: {}, by {wait} s: {delivered}. {} posts carried them ({:.0} events a post; the fullest summary card {most_rows} lines: as many as fit in Cliq's 10,000 characters of slides). The first half of the budget goes out one event a post as the burst starts; the other half is spread until the first post leaves the window, each post merging one target's waiting events.",
        by(60),
        by(120),
        by(180),
        messages.len(),
        delivered as f64 / messages.len().max(1) as f64,
    );
    Section {
        title: format!("burst of {events} events in {secs:.0} s over {TARGETS} targets"),
        name: "burst",
        method: format!(
            "The release daemon with `cliq_posts_per_minute` = {BUDGET} and {TARGETS} departments, each with its own channel; {events} signed `Ticket_Add` deliveries spread evenly over {secs:.0} s (round-robin over the departments), real time. Posts are counted where the simulated Cliq received them; an event counts as delivered once a Cliq message names its ticket (its own card or a line of a summary card)."
        ),
        table: format!(
            "| figure | goal | measured |\n|---|---|---|\n\
             | most posts in any 60 s | ≤ {BUDGET} ({}) | {max_window} (the first and last of them {window_span:.3} s apart; {} messages, {requests} post requests) |\n\
             | events dropped | 0 ({}) | {dropped} ({not_acked} not acknowledged, {missing} acknowledged but not in Cliq, {dead} dead-lettered) |\n\
             | time until the last is delivered | ≤ 120 s ({}) | {time_cell} |\n",
            verdict(max_window <= BUDGET),
            messages.len(),
            verdict(dropped == 0),
            verdict(complete && last_secs <= 120.0),
        ),
        notes,
    }
}

/// The value of a series in Prometheus text (0 when absent).
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}
