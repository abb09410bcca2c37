//! The machine, percentiles, and the sections this benchmark keeps in BENCHMARKS.md.

use std::time::Duration;

use crate::Ctx;

/// Cores, memory and model from `/proc`, and how busy the machine was at the start.
pub struct Machine {
    pub cores: usize,
    pub mem_gib: f64,
    pub cpu: String,
}

impl Machine {
    pub fn read() -> Machine {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0);
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_gib = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0 / 1024.0)
            .unwrap_or(0.0);
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, m)| m.trim().to_string())
            .unwrap_or_else(|| "unknown CPU".into());
        Machine {
            cores,
            mem_gib,
            cpu,
        }
    }

    pub fn line(&self) -> String {
        format!(
            "{} cores, {:.0} GiB ({}) · load average {}",
            self.cores,
            self.mem_gib,
            self.cpu,
            load_average()
        )
    }
}

/// The 1-minute load average now (other work on the machine skews every figure).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Nearest-rank percentile of `v` (sorted here); 0 when empty.
pub fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Whether a figure met its goal, in words.
pub fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

/// One section of BENCHMARKS.md: `## System: {title}`.
pub struct Section {
    pub title: String,
    /// How it was measured (a paragraph).
    pub method: String,
    /// The table: `| figure | goal | measured |` rows, or a table of its own.
    pub table: String,
    /// Notes under the table (where the time goes…).
    pub notes: String,
    /// The benchmark's name (for the command line).
    pub name: &'static str,
}

impl Section {
    pub fn render(&self, ctx: &Ctx) -> String {
        let command = format!(
            "`cargo bench --bench system -- {}` (also part of `cargo bench --bench system`)",
            self.name
        );
        let mut out = format!(
            "## System: {}\n\nCommand: {command} · {} · {} cores, {:.0} GiB · load average {} at the end\n\n{}\n\n{}\n",
            self.title,
            chrono::Utc::now().format("%Y-%m-%d"),
            ctx.machine.cores,
            ctx.machine.mem_gib,
            load_average(),
            self.method.trim(),
            self.table.trim_end(),
        );
        if !self.notes.trim().is_empty() {
            out.push('\n');
            out.push_str(self.notes.trim());
            out.push('\n');
        }
        out
    }

    /// Replaces this section in BENCHMARKS.md (in place), or appends it.
    pub fn write(&self, text: &str) {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md");
        let existing = std::fs::read_to_string(path).unwrap_or_else(|_| {
            "# Benchmarks\n\nFigures written by the benchmarks themselves; each names the command that produced it.\n\n".into()
        });
        let marker = format!("## System: {}\n", self.title);
        let updated = match existing.find(&marker) {
            Some(i) => {
                let rest = &existing[i + marker.len()..];
                let end = rest
                    .find("\n## ")
                    .map(|j| i + marker.len() + j + 1)
                    .unwrap_or(existing.len());
                let tail = &existing[end..];
                let sep = if tail.is_empty() { "" } else { "\n" };
                format!("{}{text}{sep}{tail}", &existing[..i])
            }
            None => format!("{}\n\n{text}", existing.trim_end()),
        };
        if let Err(e) = std::fs::write(path, updated) {
            eprintln!("cannot write BENCHMARKS.md: {e}");
        }
    }
}
