//! Desk → webhook delivery: JSON arrays of events, signed with an RS256 `X-ZDesk-JWT`.

use std::sync::Arc;

use super::Inner;
use super::state::Delivery;

/// A batch of events for one webhook.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub webhook_id: String,
    pub url: String,
    pub events: Vec<serde_json::Value>,
}

/// The JWT Desk puts on a delivery to webhook `webhook_id`.
pub fn jwt_for(sim: &Inner, webhook_id: &str) -> String {
    let now = sim.clock.now().timestamp();
    let (org, millis) = {
        let st = sim.state();
        (st.desk.org_id.clone(), st.jwt_exp_in_millis)
    };
    let exp = if millis {
        (now + 300) * 1000
    } else {
        now + 300
    };
    let claims = serde_json::json!({
        "iss": format!("orgId:{org}"),
        "aud": format!("webhookId:{webhook_id}"),
        "iat": now,
        "exp": exp,
    });
    sim.desk_key.sign_jwt(&claims).unwrap_or_default()
}

/// Counts batches as pending until their delivery was attempted.
struct Pending<'a>(&'a Inner, usize);

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0
            .pending
            .fetch_sub(self.1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Queues a batch for delivery.
pub fn send(sim: &Inner, batch: Outgoing) {
    sim.pending
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let _ = sim.deliveries.send(batch);
}

/// Delivers batches in order, each once (twice when `deliver_twice`), recording every attempt.
/// With `batch_deliveries`, what was queued meanwhile for the same webhook goes in one array.
pub async fn deliver(sim: Arc<Inner>, mut rx: tokio::sync::mpsc::UnboundedReceiver<Outgoing>) {
    while let Some(first) = rx.recv().await {
        let mut queued = vec![first];
        if sim.state().batch_deliveries {
            while let Ok(more) = rx.try_recv() {
                queued.push(more);
            }
        }
        let mut groups: Vec<(Outgoing, usize)> = Vec::new();
        for b in queued {
            match groups.last_mut() {
                Some((g, n)) if g.webhook_id == b.webhook_id && g.url == b.url => {
                    g.events.extend(b.events);
                    *n += 1;
                }
                _ => groups.push((b, 1)),
            }
        }
        for (batch, n) in groups {
            deliver_one(&sim, batch, n).await;
        }
    }
}

/// Delivers one batch (standing for `n` queued ones).
async fn deliver_one(sim: &Inner, batch: Outgoing, n: usize) {
    {
        let _pending = Pending(sim, n);
        let copies = if sim.state().deliver_twice { 2 } else { 1 };
        for _ in 0..copies {
            let jwt = jwt_for(sim, &batch.webhook_id);
            let body = serde_json::Value::Array(batch.events.clone());
            let target = sim.state().reach(&batch.url);
            let status = sim
                .http
                .post(target)
                .header("X-ZDesk-JWT", &jwt)
                .json(&body)
                .timeout(std::time::Duration::from_secs(5))
                .send()
                .await
                .ok()
                .map(|r| r.status().as_u16());
            let mut st = sim.state();
            // 410 Gone deletes the subscription, as Desk does.
            if status == Some(410) {
                st.desk.webhooks.retain(|w| w.id != batch.webhook_id);
            }
            st.deliveries.push(Delivery {
                webhook_id: batch.webhook_id.clone(),
                url: batch.url.clone(),
                jwt,
                body,
                status,
            });
        }
    }
}
