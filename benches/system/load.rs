//! An open-loop load generator: POSTs signed webhook bodies at a fixed rate, whatever the
//! server's answers, and times each from the moment it was due (so a server that falls behind
//! is charged for the wait, not hidden by a slower sender).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use deskcliq::sim::Simulator;

use super::harness::desk_jwt;
use super::report::{ms, percentile};

/// One delivery: when it was due and sent, and how it ended.
#[derive(Clone)]
pub struct Shot {
    pub due: Instant,
    pub sent_at: DateTime<Utc>,
    /// When the answer arrived (`None`: transport error or timeout).
    pub done: Option<Instant>,
    pub status: u16,
}

/// How many deliveries may be in flight at once (Desk's side of the connection).
pub const MAX_IN_FLIGHT: usize = 128;

/// Sends `bodies` to `url` at `rate` per second, each with a fresh-enough X-ZDesk-JWT for
/// `webhook_id`, and waits for every answer.
pub async fn open_loop(
    client: &reqwest::Client,
    sim: &Simulator,
    webhook_id: &str,
    url: &str,
    rate: f64,
    bodies: Vec<Vec<u8>>,
) -> (Instant, Vec<Shot>) {
    let n = bodies.len();
    let shots: Rc<RefCell<Vec<Option<Shot>>>> = Rc::new(RefCell::new(vec![None; n]));
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let mut jwt = (Instant::now(), desk_jwt(sim, webhook_id));
    let started = Instant::now();
    for (i, body) in bodies.into_iter().enumerate() {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        if due > Instant::now() {
            tokio::time::sleep_until(due.into()).await;
        }
        // Desk signs each delivery with `iat` in seconds (as the simulator's Desk does): the
        // deliveries of one second carry the same token, a new one each second.
        if jwt.0.elapsed() >= Duration::from_secs(1) {
            jwt = (Instant::now(), desk_jwt(sim, webhook_id));
        }
        let permit = permits.clone().acquire_owned().await.expect("semaphore");
        let req = client
            .post(url)
            .header("content-type", "application/json")
            .header("X-ZDesk-JWT", jwt.1.clone())
            .body(body);
        let shots = shots.clone();
        actix_rt::spawn(async move {
            let sent_at = Utc::now();
            let (status, done) = match req.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let ok = r.bytes().await.is_ok();
                    (status, ok.then(Instant::now))
                }
                Err(_) => (0, None),
            };
            shots.borrow_mut()[i] = Some(Shot {
                due,
                sent_at,
                done,
                status,
            });
            drop(permit);
        });
    }
    // Every permit back: every answer in.
    let _all = permits
        .acquire_many(MAX_IN_FLIGHT as u32)
        .await
        .expect("semaphore");
    let out = shots.borrow_mut().drain(..).flatten().collect();
    (started, out)
}

/// What a run at one offered load achieved.
pub struct Outcome {
    pub offered: f64,
    pub sent: usize,
    pub acked: usize,
    /// Events answered 200 per second, from the first due time to the last answer.
    pub throughput: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

pub fn outcome(offered: f64, started: Instant, shots: &[Shot]) -> Outcome {
    let acked: Vec<&Shot> = shots
        .iter()
        .filter(|s| s.status == 200 && s.done.is_some())
        .collect();
    let last = acked.iter().filter_map(|s| s.done).max().unwrap_or(started);
    let span = (last - started).as_secs_f64().max(1e-9);
    let mut lat: Vec<f64> = acked
        .iter()
        .filter_map(|s| s.done.map(|d| ms(d - s.due)))
        .collect();
    Outcome {
        offered,
        sent: shots.len(),
        acked: acked.len(),
        throughput: acked.len() as f64 / span,
        p50_ms: percentile(&mut lat, 0.50),
        p99_ms: percentile(&mut lat, 0.99),
    }
}
