//! Every metric deskcliq exports, described in one place (names as in DESIGN.md, all
//! prefixed `deskcliq_`), rendered in the Prometheus text format.

use prometheus::{
    Counter, Encoder as _, Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry,
};

use crate::config::Config;

const NS: &str = "deskcliq";

/// The registry and the metrics of the foundation; later features add theirs here.
pub struct Metrics {
    registry: Registry,
    pub config_last_reload_successful: IntGauge,
    pub config_last_reload_success_timestamp_seconds: Gauge,
    pub department_info: IntGaugeVec,
    pub actor_restarts_total: IntCounterVec,
    pub store_size_bytes: IntGauge,
    pub store_flushes_total: IntCounter,
    pub store_corrupt_records_total: IntCounter,
    pub router_yield_seconds_total: Counter,
    pub store_schema_version: IntGauge,
    pub build_info: IntGaugeVec,
    pub token_refreshes_total: IntCounter,
    pub token_refresh_refused_total: IntCounter,
    pub desk_credits_used_total: IntCounter,
    pub desk_credits_today: IntGauge,
    pub desk_requests_total: IntCounterVec,
    pub cliq_requests_total: IntCounterVec,
    pub webhook_events_total: IntCounterVec,
    pub deliveries_total: IntCounterVec,
    pub outbox_depth: IntGauge,
    pub outbox_oldest_age_seconds: Gauge,
    pub cliq_posts_last_minute: IntGauge,
    pub deadlines_tracked: IntGauge,
    pub deadlines_dropped_total: IntCounter,
    pub alert_lateness_seconds: Histogram,
    pub reconcile_credits_per_day: IntGauge,
    pub commands_total: IntCounterVec,
    pub actions_total: IntCounterVec,
    pub command_desk_credits_total: IntCounterVec,
}

#[derive(Debug, thiserror::Error)]
#[error("metrics: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

impl Metrics {
    pub fn new() -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        let opts = |name: &str, help: &str| Opts::new(name, help).namespace(NS);
        let m = Metrics {
            config_last_reload_successful: IntGauge::with_opts(opts(
                "config_last_reload_successful",
                "1 when the last (re)load of config.toml succeeded, 0 when it was rejected",
            ))?,
            config_last_reload_success_timestamp_seconds: Gauge::with_opts(opts(
                "config_last_reload_success_timestamp_seconds",
                "Unix time of the last successful (re)load of config.toml",
            ))?,
            department_info: IntGaugeVec::new(
                opts(
                    "department_info",
                    "Listed departments and their routing (value 1)",
                ),
                &["id", "name", "channel", "enabled"],
            )?,
            actor_restarts_total: IntCounterVec::new(
                opts(
                    "actor_restarts_total",
                    "Actor restarts by the supervisor after a panic",
                ),
                &["actor"],
            )?,
            store_size_bytes: IntGauge::with_opts(opts(
                "store_size_bytes",
                "Size of the sled store on disk",
            ))?,
            store_flushes_total: IntCounter::with_opts(opts(
                "store_flushes_total",
                "Flushes to disk made to acknowledge webhooks (one covers every delivery waiting)",
            ))?,
            store_corrupt_records_total: IntCounter::with_opts(opts(
                "store_corrupt_records_total",
                "Stored records that could not be read and were set aside (logged)",
            ))?,
            router_yield_seconds_total: Counter::with_opts(opts(
                "router_yield_seconds_total",
                "Seconds routing waited for a flood of webhook deliveries to be taken in",
            ))?,
            store_schema_version: IntGauge::with_opts(opts(
                "store_schema_version",
                "Schema version of the open store",
            ))?,
            build_info: IntGaugeVec::new(
                opts("build_info", "deskcliq build (value 1)"),
                &["version"],
            )?,
            token_refreshes_total: IntCounter::with_opts(opts(
                "token_refreshes_total",
                "Access tokens requested from Zoho's accounts server",
            ))?,
            token_refresh_refused_total: IntCounter::with_opts(opts(
                "token_refresh_refused_total",
                "Refreshes refused locally: 10 in 10 minutes already (Zoho would block the grant)",
            ))?,
            desk_credits_used_total: IntCounter::with_opts(opts(
                "desk_credits_used_total",
                "Desk API credits spent (X-Rate-Limit-Request-Weight-v3, or the documented cost)",
            ))?,
            desk_credits_today: IntGauge::with_opts(opts(
                "desk_credits_today",
                "Desk API credits spent today (UTC), this process and earlier ones",
            ))?,
            desk_requests_total: IntCounterVec::new(
                opts("desk_requests_total", "Desk API calls by outcome"),
                &["outcome"],
            )?,
            cliq_requests_total: IntCounterVec::new(
                opts("cliq_requests_total", "Cliq API calls by outcome"),
                &["outcome"],
            )?,
            webhook_events_total: IntCounterVec::new(
                opts(
                    "webhook_events_total",
                    "Desk webhook events by type and outcome",
                ),
                &["type", "outcome"],
            )?,
            commands_total: IntCounterVec::new(
                opts(
                    "commands_total",
                    "Cliq commands, bot messages and buttons answered, by name and outcome",
                ),
                &["name", "outcome"],
            )?,
            actions_total: IntCounterVec::new(
                opts(
                    "actions_total",
                    "Quick actions run in Desk, by name and outcome",
                ),
                &["name", "outcome"],
            )?,
            command_desk_credits_total: IntCounterVec::new(
                opts(
                    "command_desk_credits_total",
                    "Desk credits spent answering Cliq commands, by name",
                ),
                &["name"],
            )?,
            deliveries_total: IntCounterVec::new(
                opts(
                    "deliveries_total",
                    "Cliq deliveries by outcome: sent, coalesced, retried, dead, throttled",
                ),
                &["outcome"],
            )?,
            outbox_depth: IntGauge::with_opts(opts(
                "outbox_depth",
                "Messages waiting to go to Cliq",
            ))?,
            outbox_oldest_age_seconds: Gauge::with_opts(opts(
                "outbox_oldest_age_seconds",
                "Age of the oldest message waiting to go to Cliq",
            ))?,
            cliq_posts_last_minute: IntGauge::with_opts(opts(
                "cliq_posts_last_minute",
                "Posts to Cliq in the last 60 seconds",
            ))?,
            deadlines_tracked: IntGauge::with_opts(opts(
                "deadlines_tracked",
                "SLA alerts and reminders armed",
            ))?,
            deadlines_dropped_total: IntCounter::with_opts(opts(
                "deadlines_dropped_total",
                "Alerts not sent because the ticket was already past due when they came up (after downtime)",
            ))?,
            alert_lateness_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "alert_lateness_seconds",
                    "How late alerts and reminders fire",
                )
                .namespace(NS)
                .buckets(vec![0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 30.0, 60.0, 300.0]),
            )?,
            reconcile_credits_per_day: IntGauge::with_opts(opts(
                "reconcile_credits_per_day",
                "Desk credits a day that reconciliation is expected to spend at the configured interval",
            ))?,
            registry,
        };
        m.registry
            .register(Box::new(m.config_last_reload_successful.clone()))?;
        m.registry.register(Box::new(
            m.config_last_reload_success_timestamp_seconds.clone(),
        ))?;
        m.registry.register(Box::new(m.department_info.clone()))?;
        m.registry
            .register(Box::new(m.actor_restarts_total.clone()))?;
        m.registry.register(Box::new(m.store_size_bytes.clone()))?;
        m.registry
            .register(Box::new(m.store_flushes_total.clone()))?;
        m.registry
            .register(Box::new(m.store_corrupt_records_total.clone()))?;
        m.registry
            .register(Box::new(m.store_schema_version.clone()))?;
        m.registry.register(Box::new(m.build_info.clone()))?;
        m.registry
            .register(Box::new(m.token_refreshes_total.clone()))?;
        m.registry
            .register(Box::new(m.token_refresh_refused_total.clone()))?;
        m.registry
            .register(Box::new(m.desk_credits_used_total.clone()))?;
        m.registry
            .register(Box::new(m.desk_credits_today.clone()))?;
        m.registry
            .register(Box::new(m.desk_requests_total.clone()))?;
        m.registry
            .register(Box::new(m.cliq_requests_total.clone()))?;
        m.registry
            .register(Box::new(m.webhook_events_total.clone()))?;
        m.registry
            .register(Box::new(m.router_yield_seconds_total.clone()))?;
        m.registry.register(Box::new(m.deliveries_total.clone()))?;
        m.registry.register(Box::new(m.commands_total.clone()))?;
        m.registry.register(Box::new(m.actions_total.clone()))?;
        m.registry
            .register(Box::new(m.command_desk_credits_total.clone()))?;
        m.registry.register(Box::new(m.outbox_depth.clone()))?;
        m.registry
            .register(Box::new(m.outbox_oldest_age_seconds.clone()))?;
        m.registry
            .register(Box::new(m.cliq_posts_last_minute.clone()))?;
        m.registry.register(Box::new(m.deadlines_tracked.clone()))?;
        m.registry
            .register(Box::new(m.deadlines_dropped_total.clone()))?;
        m.registry
            .register(Box::new(m.alert_lateness_seconds.clone()))?;
        m.registry
            .register(Box::new(m.reconcile_credits_per_day.clone()))?;
        m.registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        m.build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        m.zero_series();
        Ok(m)
    }

    /// A counter vector is exported only once it has a series: the documented ones start at
    /// 0, so a fresh daemon's `/metrics` lists every metric of the contract (and a rate over
    /// a first event is not lost).
    fn zero_series(&self) {
        for outcome in ["sent", "coalesced", "retried", "dead", "throttled"] {
            self.deliveries_total.with_label_values(&[outcome]);
        }
        for outcome in ["accepted", "duplicate"] {
            for event in crate::notify::event::KNOWN_EVENTS {
                self.webhook_events_total
                    .with_label_values(&[event, outcome]);
            }
        }
        for outcome in ["ignored", "unauthenticated", "malformed"] {
            let kind = if outcome == "ignored" { "unknown" } else { "-" };
            self.webhook_events_total
                .with_label_values(&[kind, outcome]);
        }
        for outcome in ["ok", "throttled", "error", "transport"] {
            self.desk_requests_total.with_label_values(&[outcome]);
            self.cliq_requests_total.with_label_values(&[outcome]);
        }
        for name in ["ticket", "pendingtickets", "deskstatus"] {
            self.commands_total.with_label_values(&[name, "answered"]);
            self.command_desk_credits_total.with_label_values(&[name]);
        }
        for name in ["status", "assign", "reply", "comment"] {
            self.actions_total.with_label_values(&[name, "done"]);
        }
        for actor in [
            "outbox",
            "department",
            "dm_router",
            "deadline_watcher",
            "digest",
        ] {
            self.actor_restarts_total.with_label_values(&[actor]);
        }
    }

    /// Records a successful (re)load: the reload gauges and the department table.
    pub fn config_applied(&self, config: &Config) {
        self.config_last_reload_successful.set(1);
        self.config_last_reload_success_timestamp_seconds
            .set(chrono::Utc::now().timestamp_millis() as f64 / 1000.0);
        // The estimate check-config shows, until a reconciliation run measures it.
        self.reconcile_credits_per_day
            .set(crate::reconcile::credits_per_day(config.sla.reconcile_minutes) as i64);
        self.department_info.reset();
        for dep in &config.departments {
            let route = config.route(&dep.id);
            self.department_info
                .with_label_values(&[
                    dep.id.as_str(),
                    dep.name.as_str(),
                    route.channel,
                    if dep.enabled { "true" } else { "false" },
                ])
                .set(1);
        }
    }

    /// Records a rejected reload; everything else keeps its value.
    pub fn config_rejected(&self) {
        self.config_last_reload_successful.set(0);
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let encoder = prometheus::TextEncoder::new();
        if let Err(e) = encoder.encode(&self.registry.gather(), &mut buf) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_of_the_contract_is_exported() {
        // As a fresh daemon exports them, before any traffic.
        let m = Metrics::new().unwrap();
        let text = m.render();
        for name in [
            "config_last_reload_successful",
            "config_last_reload_success_timestamp_seconds",
            "webhook_events_total",
            "deliveries_total",
            "outbox_depth",
            "outbox_oldest_age_seconds",
            "desk_credits_used_total",
            "desk_requests_total",
            "cliq_posts_last_minute",
            "token_refreshes_total",
            "actor_restarts_total",
            "store_size_bytes",
            "deadlines_tracked",
            "alert_lateness_seconds",
            "commands_total",
            "actions_total",
            "cliq_requests_total",
            "command_desk_credits_total",
            "reconcile_credits_per_day",
            "deliveries_total{outcome=\"dead\"} 0",
        ] {
            assert!(text.contains(&format!("deskcliq_{name}")), "{name} missing");
        }
    }
}
