//! Desk credits per day for a modelled portal: 1,000 open tickets, 2,000 webhook events a day,
//! default intervals. The in-process `App` runs on the simulator's manual clock over a
//! simulated day; the simulator counts the credits of every Desk call that succeeds.

use std::time::Duration;

use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use deskcliq::app::App;
use deskcliq::clock::Clock;
use deskcliq::config::{Config, LoadEnv};
use deskcliq::sim::{NewTicket, Simulator, TicketPatch};

use super::harness::{BENCH_SECRET_KEY, TOKEN};
use super::report::{Section, verdict};
use crate::Ctx;

const SUPPORT: &str = "1892000000082069";
const BILLING: &str = "1892000000082070";
const AGENTS: [&str; 3] = ["1892000000056007", "1892000000056008", "1892000000056009"];
const OPEN_TICKETS: usize = 1_000;
const EVENTS_PER_DAY: usize = 2_000;
use deskcliq::sim::DEPARTMENTS_TOML as DEPARTMENTS;

/// A small deterministic generator (the same portal every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[((self.next() * v.len() as f64) as usize).min(v.len() - 1)]
    }

    fn minutes(&mut self, from: i64, to: i64) -> Span {
        Span::minutes(from + (self.next() * (to - from) as f64) as i64)
    }
}

fn t0() -> DateTime<Utc> {
    // 10:00 in Tokyo: the day crosses the 09:00 daily summary once.
    Utc.with_ymd_and_hms(2026, 11, 25, 1, 0, 0).unwrap()
}

/// The portal before deskcliq starts: 1,000 open tickets (85 % Open, 10 % On Hold, 5 %
/// Escalated), 80 % with a due date between a day ago and four days ahead, 70 % assigned.
fn seed(sim: &Simulator, rng: &mut Rng) -> Vec<String> {
    let now = t0();
    let mut open = Vec::new();
    for i in 0..OPEN_TICKETS {
        let created = now - rng.minutes(10, 10 * 24 * 60);
        let due = (rng.next() < 0.8).then(|| now + rng.minutes(-24 * 60, 4 * 24 * 60));
        let assignee = (rng.next() < 0.7).then(|| rng.pick(&AGENTS).to_string());
        let status = match rng.next() {
            x if x < 0.85 => "Open",
            x if x < 0.95 => "On Hold",
            _ => "Escalated",
        };
        let id = sim.with(|st| {
            let (t, _) = st.create_ticket(
                NewTicket {
                    subject: format!("Seeded ticket {i}"),
                    department_id: if i.is_multiple_of(3) {
                        BILLING
                    } else {
                        SUPPORT
                    }
                    .into(),
                    contact_email: format!("customer{}@example.com", i % 400),
                    assignee_id: assignee,
                    due_date: due,
                    ..Default::default()
                },
                created,
            );
            if status != "Open" {
                let _ = st.update_ticket(
                    &t.id,
                    TicketPatch {
                        status: Some(status.into()),
                        ..Default::default()
                    },
                    None,
                    created,
                );
            }
            t.id
        });
        open.push(id);
    }
    open
}

/// Credits spent by what `f` does (other work running meanwhile is counted too: rare here).
async fn spent<F: std::future::Future>(sim: &Simulator, f: F) -> u64 {
    let before = sim.desk_credits_used();
    f.await;
    sim.desk_credits_used() - before
}

pub async fn run(ctx: &Ctx) -> Section {
    let hours: i64 = if ctx.quick { 6 } else { 24 };
    let clock = Clock::manual(t0());
    let sim = Simulator::start(clock.clone()).await.expect("simulator");
    sim.with(|st| {
        st.add_channel("support", true);
        st.add_channel("billing", true);
    });
    let mut rng = Rng(0x5eed_0001);
    let open = seed(&sim, &mut rng);

    let dir = tempfile::tempdir().expect("tempdir");
    let webhook_id = sim.with(|st| st.desk.new_id());
    // As `deskcliq install` leaves it: the webhook id is not pinned, deskcliq learns it.
    let text = sim.daemon_config(
        &dir.path().join("state"),
        BENCH_SECRET_KEY,
        TOKEN,
        None,
        DEPARTMENTS,
    );
    let config =
        Config::parse(&text, &dir.path().join("config.toml"), &LoadEnv::default()).expect("config");
    let (reconcile_every, ratings_every) = (
        i64::from(config.sla.reconcile_minutes),
        i64::from(config.desk.rating_poll_minutes),
    );
    let url = config.webhook_url();
    let app = App::start(config, clock.clone()).await.expect("app");
    // Desk reaches the public URL through the "reverse proxy" in front of the app.
    let proxied = app.addrs[0].to_string();
    sim.with(|st| {
        st.public_host("deskcliq.example.com", &proxied);
        st.add_deskcliq_webhook(&webhook_id, url, t0());
    });
    // Start-up: the agent list and the first reconciliation (the app's own tasks).
    let mut last = u64::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = sim.desk_credits_used();
        if now == last && app.router.directory.get().len() >= 3 {
            break;
        }
        last = now;
    }
    let at_start = sim.desk_credits_used();

    // The simulated days. The app's periodic loops (reconciliation, rating poll, agent list)
    // sleep in real time, not on the clock, so they are run here on the config's intervals,
    // through the same functions; the digest, SLA alerts and the outbox follow the clock.
    let days_run = if ctx.quick { 1 } else { 2 };
    let mut w = World {
        sim: &sim,
        app: &app,
        clock: &clock,
        rng,
        open,
        start: clock.now(),
        minute_done: 0,
        reconcile_every,
        ratings_every,
        webhook_id: std::sync::RwLock::new(None),
    };
    let mut days = Vec::new();
    for d in 0..days_run {
        let day = w.day(hours, d).await;
        println!(
            "  day {}: {} credits{} = reconciliation {} ({} runs) + webhook id {} + rating polls {} ({}) + agent list {} ({}) + while taking events in (and the daily summary) {} + the rest {}; events {:?}; {} open tickets at the end",
            d + 1,
            day.total,
            if hours < 24 {
                format!(" in {hours} h")
            } else {
                String::new()
            },
            day.reconcile,
            day.reconcile_runs,
            day.webhook_id,
            day.ratings,
            day.rating_polls,
            day.agents,
            day.agent_refreshes,
            day.events,
            day.rest(),
            day.kinds,
            day.open_at_end,
        );
        days.push(day);
    }
    // The last posts and the app's own work at the end.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let delivered = sim
        .deliveries()
        .iter()
        .filter(|d| d.status == Some(200))
        .count();
    let posts = sim.cliq_messages().len();
    println!(
        "  start-up {at_start} credits; {delivered} deliveries answered 200; {posts} Cliq posts"
    );
    let _ = app.stop().await;
    sim.stop().await;
    let scale = 24.0 / hours as f64;
    let scaled = if ctx.quick {
        format!(" (quick: {hours} h × {scale:.0})")
    } else {
        String::new()
    };
    let worst = days
        .iter()
        .map(|d| d.total as f64 * scale)
        .fold(0.0, f64::max);
    let mut table = String::from("| figure | goal |");
    for d in 1..=days.len() {
        table.push_str(&format!(" day {d} |"));
    }
    table.push_str("\n|---|---|");
    for _ in &days {
        table.push_str("---|");
    }
    table.push('\n');
    let mut row = |label: String, goal: &str, f: &dyn Fn(&Day) -> String| {
        table.push_str(&format!("| {label} | {goal} |"));
        for d in &days {
            table.push_str(&format!(" {} |", f(d)));
        }
        table.push('\n');
    };
    row(
        format!("Desk credits per day{scaled}"),
        &format!("≤ 2,000 ({})", verdict(worst <= 2000.0)),
        &|d| format!("**{:.0}**", d.total as f64 * scale),
    );
    row("— reconciliation".into(), "—", &|d| {
        format!(
            "{:.0} ({} runs)",
            d.reconcile as f64 * scale,
            d.reconcile_runs
        )
    });
    row(
        "— webhook id check (before each reconciliation)".into(),
        "—",
        &|d| format!("{:.0}", d.webhook_id as f64 * scale),
    );
    row("— rating polls".into(), "—", &|d| {
        format!("{:.0} ({} polls)", d.ratings as f64 * scale, d.rating_polls)
    });
    row("— agent list".into(), "—", &|d| {
        format!(
            "{:.0} ({} refreshes)",
            d.agents as f64 * scale,
            d.agent_refreshes
        )
    });
    row(
        "— while taking the events in (the daily summary runs meanwhile)".into(),
        "—",
        &|d| format!("{:.0}", d.events as f64 * scale),
    );
    row("— the rest".into(), "—", &|d| {
        format!("{:.0}", d.rest() as f64 * scale)
    });
    row("open tickets at the end of the day".into(), "—", &|d| {
        d.open_at_end.to_string()
    });
    table.push_str(&format!(
        "\nStart-up (agent list and first reconciliation, once): {at_start} credits.\n"
    ));
    let notes: Vec<String> = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            format!(
                "day {}: reconciliation {:.0} % of the credits, {:.1} credits ({:.1} Desk calls) a run",
                i + 1,
                100.0 * d.reconcile as f64 / d.total.max(1) as f64,
                d.reconcile as f64 / f64::from(d.reconcile_runs.max(1)),
                d.reconcile as f64 / f64::from(d.reconcile_runs.max(1)) / 3.0
            )
        })
        .collect();
    let notes = format!("{}.", notes.join("; "));
    Section {
        title: "Desk credits per day".into(),
        name: "credits",
        method: format!(
            "The in-process `App` on the simulator's manual clock over {days_run} simulated day(s) from 2026-11-25 10:00 JST (each crosses the 09:00 daily summary once), the config `deskcliq install` leaves (webhook id learned, not pinned; Desk reaches the app through its public URL) with default intervals (`reconcile_minutes` = {reconcile_every}, `rating_poll_minutes` = {ratings_every}, agent list hourly). The modelled portal: {OPEN_TICKETS} open tickets in two departments before start (85 % Open, 10 % On Hold, 5 % Escalated; 80 % with a due date between a day ago and four days ahead; 70 % assigned) and {EVENTS_PER_DAY} webhook events a day, one every {:.1} s: 25 % new tickets (due in 4 h to 3 days), 25 % closes of a random open ticket (a fifth of them rated), 12 % reassignments, 8 % status changes, 30 % comments. The clock moves in those steps; the app's periodic loops sleep in real time rather than on the clock, so the bench runs the reconciliation loop's body (webhook id check, reconciliation), the rating poll and the agent list through the same functions on the config's intervals. Credits are the simulator's count (`desk_credits_used()`: each successful call at the weight it reports), split by what was running when they were spent.",
            86_400.0 / EVENTS_PER_DAY as f64
        ),
        table,
        notes,
    }
}

/// What one simulated day cost.
#[derive(Default)]
struct Day {
    total: u64,
    reconcile: u64,
    webhook_id: u64,
    ratings: u64,
    agents: u64,
    events: u64,
    reconcile_runs: u32,
    rating_polls: u32,
    agent_refreshes: u32,
    kinds: [usize; 5],
    open_at_end: usize,
}

impl Day {
    fn rest(&self) -> u64 {
        self.total.saturating_sub(
            self.reconcile + self.webhook_id + self.ratings + self.agents + self.events,
        )
    }
}

/// The simulated portal and the app, as days go by.
struct World<'a> {
    sim: &'a Simulator,
    app: &'a App,
    clock: &'a Clock,
    rng: Rng,
    open: Vec<String>,
    start: DateTime<Utc>,
    minute_done: i64,
    reconcile_every: i64,
    ratings_every: i64,
    /// What the reconciliation loop knows of the webhook id (read from the store).
    webhook_id: std::sync::RwLock<Option<String>>,
}

impl World<'_> {
    /// `hours` of the portal's life: its share of the day's events, and the periodic work.
    async fn day(&mut self, hours: i64, index: usize) -> Day {
        let (sim, app, clock) = (self.sim, self.app, self.clock);
        let events = EVENTS_PER_DAY * hours as usize / 24;
        let step = Span::milliseconds(86_400_000 / EVENTS_PER_DAY as i64);
        let mut day = Day::default();
        let at_start = sim.desk_credits_used();
        for k in 0..events {
            let e = index * EVENTS_PER_DAY + k;
            clock.advance(step);
            let elapsed = (clock.now() - self.start).num_minutes();
            while self.minute_done < elapsed {
                self.minute_done += 1;
                let m = self.minute_done;
                if m % self.reconcile_every == 0 {
                    // reconcile::run's loop: the webhook id check, then a reconciliation.
                    day.webhook_id += spent(sim, async {
                        let config = app.router.config.borrow().clone();
                        deskcliq::pipeline::learn_webhook_id(
                            &app.router.shared,
                            &config,
                            &self.webhook_id,
                        )
                        .await;
                    })
                    .await;
                    day.reconcile += spent(sim, async {
                        if let Err(err) = deskcliq::reconcile::reconcile_once(&app.router).await {
                            eprintln!("reconciliation failed: {err}");
                        }
                    })
                    .await;
                    day.reconcile_runs += 1;
                }
                if m % self.ratings_every == 0 {
                    day.ratings += spent(sim, async {
                        if let Err(err) = deskcliq::pipeline::poll_once(&app.router).await {
                            eprintln!("rating poll failed: {err}");
                        }
                    })
                    .await;
                    day.rating_polls += 1;
                }
                if m % 60 == 0 {
                    day.agents += spent(sim, async {
                        let org = app.router.config.borrow().cliq.org_id.clone();
                        let _ = app.router.directory.refresh(&app.router.shared, &org).await;
                    })
                    .await;
                    day.agent_refreshes += 1;
                }
            }
            let before = sim.desk_credits_used();
            self.event(e, &mut day);
            // Let the delivery and the app's pipeline run before the clock moves on.
            let mut waited = 0;
            while sim.pending_deliveries() > 0 && waited < 200 {
                tokio::time::sleep(Duration::from_millis(1)).await;
                waited += 1;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            day.events += sim.desk_credits_used() - before;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        day.total = sim.desk_credits_used() - at_start;
        day.open_at_end = self.open.len();
        day
    }

    /// One webhook event: a new ticket, a close, a reassignment, a status change or a
    /// comment; the open count stays near 1,000.
    fn event(&mut self, e: usize, day: &mut Day) {
        let (sim, rng) = (self.sim, &mut self.rng);
        let now = self.clock.now();
        let r = rng.next();
        if r < 0.25 || self.open.is_empty() {
            day.kinds[0] += 1;
            let t = sim.create_ticket(NewTicket {
                subject: format!("New ticket {e}"),
                department_id: if e.is_multiple_of(3) {
                    BILLING
                } else {
                    SUPPORT
                }
                .into(),
                contact_email: format!("customer{}@example.com", e % 400),
                assignee_id: (rng.next() < 0.6).then(|| rng.pick(&AGENTS).to_string()),
                due_date: Some(now + rng.minutes(4 * 60, 3 * 24 * 60)),
                ..Default::default()
            });
            self.open.push(t.id);
            return;
        }
        let i = ((rng.next() * self.open.len() as f64) as usize).min(self.open.len() - 1);
        let id = self.open[i].clone();
        let agent = rng.pick(&AGENTS).to_string();
        let patch = if r < 0.50 {
            day.kinds[1] += 1;
            self.open.swap_remove(i);
            if rng.next() < 0.2 {
                let rating = *rng.pick(&["good", "good", "good", "okay", "bad"]);
                sim.with(|st| st.add_rating(&id, rating, None, now));
            }
            TicketPatch {
                status: Some("Closed".into()),
                ..Default::default()
            }
        } else if r < 0.62 {
            day.kinds[2] += 1;
            TicketPatch {
                assignee_id: Some(Some(agent.clone())),
                ..Default::default()
            }
        } else if r < 0.70 {
            day.kinds[3] += 1;
            TicketPatch {
                status: Some((*rng.pick(&["On Hold", "Open", "Escalated"])).into()),
                ..Default::default()
            }
        } else {
            day.kinds[4] += 1;
            sim.add_comment(
                &id,
                &agent,
                "Checked with the customer, waiting for logs.",
                rng.next() < 0.3,
            );
            return;
        };
        sim.update_ticket(&id, patch, Some(&agent));
    }
}
