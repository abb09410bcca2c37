//! Command overhead: `/ticket 115` answer time minus the Desk latency the simulator injects,
//! through signed Cliq callbacks to the release daemon.

use std::time::{Duration, Instant};

use chrono::Utc;
use deskcliq::sim::{Carrier, ChatRef, CliqUser, Invocation, NewTicket, Simulator};

use super::harness::{
    Daemon, SATO_EMAIL, SATO_ZUID, SUPPORT, SUPPORT_DEPARTMENT, http_client, simulator,
};
use super::report::{Section, ms, percentile, verdict};
use crate::Ctx;

const LATENCY: Duration = Duration::from_millis(200);

/// One `/ticket {number}` by Hanako Sato in the bot's chat: the time from sending the signed
/// callback to the whole answer, and whether the answer shows that ticket.
async fn ask(
    client: &reqwest::Client,
    sim: &Simulator,
    url: &str,
    number: &str,
) -> (Duration, bool) {
    let body = sim.callback_body(
        &Invocation::Command {
            name: "ticket".into(),
            arguments: number.into(),
        },
        &CliqUser::new(SATO_ZUID, SATO_EMAIL, "en"),
        &ChatRef::bot(),
    );
    let (bytes, signature) = sim.signed_callback(&body, Carrier::Header);
    let started = Instant::now();
    let r = client
        .post(url)
        .header("content-type", "application/json")
        .header("X-Cliq-Signature", signature.unwrap_or_default())
        .body(bytes)
        .send()
        .await
        .expect("callback");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    let took = started.elapsed();
    (took, status == 200 && text.contains(&format!("#{number}")))
}

pub async fn run(ctx: &Ctx) -> Section {
    let samples = if ctx.quick { 30 } else { 200 };
    let sim = simulator().await;
    // Tickets straight into the simulated Desk (no webhook): one per question, so no answer
    // comes from the 60-second memory of identical reads.
    let now = Utc::now();
    let numbers: Vec<String> = (0..samples * 2 + 100)
        .map(|i| {
            sim.with(|st| {
                st.create_ticket(
                    NewTicket {
                        subject: format!("Question {i}"),
                        department_id: SUPPORT.into(),
                        contact_email: "customer@example.com".into(),
                        assignee_id: Some("1892000000056007".into()),
                        due_date: Some(now + chrono::Duration::hours(30)),
                        ..Default::default()
                    },
                    now,
                )
                .0
                .ticket_number
            })
        })
        .collect();
    let daemon = Daemon::start(&ctx.binary, &sim, SUPPORT_DEPARTMENT).await;
    let client = http_client();
    let url = daemon.callback_url();
    let mut next = numbers.iter();
    // Warm up (tokens, connections), once the agent directory is loaded: until then the
    // caller is not known to be an agent.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut answered = 0;
    while answered < 10 {
        let n = next.next().expect("ticket");
        let (_, ok) = ask(&client, &sim, &url, n).await;
        if ok {
            answered += 1;
        } else {
            assert!(
                Instant::now() < deadline,
                "no answer for /ticket {n}:\n{}",
                daemon.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // Without injected latency: the whole answer time.
    let mut bare = Vec::new();
    for _ in 0..samples {
        let n = next.next().expect("ticket");
        let (took, ok) = ask(&client, &sim, &url, n).await;
        assert!(ok, "no answer for /ticket {n}");
        bare.push(ms(took));
    }
    sim.set_latency(LATENCY);
    let credits_before = sim.desk_credits_used();
    let mut overhead = Vec::new();
    for _ in 0..samples {
        let n = next.next().expect("ticket");
        let (took, ok) = ask(&client, &sim, &url, n).await;
        assert!(ok, "no answer for /ticket {n}");
        overhead.push(ms(took) - ms(LATENCY));
    }
    let credits = sim.desk_credits_used() - credits_before;
    sim.set_latency(Duration::ZERO);
    let per_command = credits as f64 / samples as f64;
    let p50 = percentile(&mut overhead, 0.50);
    let p95 = percentile(&mut overhead, 0.95);
    let max = overhead.last().copied().unwrap_or(0.0);
    let b50 = percentile(&mut bare, 0.50);
    let b95 = percentile(&mut bare, 0.95);
    println!(
        "  {samples} × /ticket N with Desk latency {} ms: overhead p50 {p50:.2} ms, p95 {p95:.2} ms, max {max:.2} ms ({per_command:.1} Desk credits each); with no latency the answer takes p50 {b50:.2} ms, p95 {b95:.2} ms",
        LATENCY.as_millis()
    );
    drop(daemon);
    sim.stop().await;
    Section {
        title: "/ticket command overhead".into(),
        name: "command",
        method: format!(
            "The release daemon; {samples} signed Cliq callbacks `/ticket N` (the `/ticket 115` form, a different ticket each time so none is answered from the 60-s memory of identical reads) by an agent in the bot's chat, one after another over a kept connection, with the simulator's Desk latency set to {} ms (`set_latency`). Overhead = time to the whole answer − {} ms; each answer costs one Desk search ({per_command:.1} credits per command measured).",
            LATENCY.as_millis(),
            LATENCY.as_millis()
        ),
        table: format!(
            "| figure | goal | measured |\n|---|---|---|\n\
             | overhead p50 | — | {p50:.2} ms |\n\
             | overhead p95 | ≤ 20 ms ({}) | {p95:.2} ms |\n\
             | overhead max | — | {max:.2} ms |\n\
             | whole answer with no injected latency, p50 / p95 | — | {b50:.2} ms / {b95:.2} ms |\n",
            verdict(p95 <= 20.0)
        ),
        notes: String::new(),
    }
}
