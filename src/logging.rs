//! Tracing set-up: readable lines by default, JSON with `--log-format json`.
//! `RUST_LOG` overrides the default level (`info`).
//!
//! One event is one line: text from outside (a Zoho error message, a customer's subject in an
//! error) may hold line breaks or control characters, which would otherwise forge log lines in
//! the journal. The readable format escapes them ([`one_line`]); JSON escapes them itself.

use std::io::{IsTerminal as _, Write};

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || OneLine { ansi })
        .with_target(false)
        .with_ansi(ansi);
    let result = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    if let Err(e) = result {
        eprintln!("deskcliq: logging already initialised: {e}");
    }
}

/// Standard error, one line per event (the formatter writes each event whole).
struct OneLine {
    ansi: bool,
}

impl Write for OneLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::io::stderr()
            .lock()
            .write_all(&one_line(buf, self.ansi))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// `event` with every line break but a final one, and every control character but tab,
/// escaped (`\n`, `\r`, `\x07`); the escape character stays when colours are on.
fn one_line(event: &[u8], ansi: bool) -> Vec<u8> {
    let (body, end) = match event.strip_suffix(b"\n") {
        Some(body) => (body, &b"\n"[..]),
        None => (event, &b""[..]),
    };
    let mut out = Vec::with_capacity(event.len());
    for &b in body {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.push(b),
            0x1b if ansi => out.push(b),
            0x00..=0x1f | 0x7f => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.extend_from_slice(end);
    out
}

/// How often a failure that goes on is logged again.
const STILL_FAILING_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// A failure a loop retries every second or so (the store on a full disk): logged when it
/// starts, every [`STILL_FAILING_EVERY`] while it lasts (with how many retries failed), and
/// once when it clears, rather than once a retry.
#[derive(Debug, Default)]
pub struct Recurring {
    /// When the failure was last logged, and the failed retries since.
    failing: Option<(std::time::Instant, u64)>,
}

impl Recurring {
    /// A retry failed with `error`; logged as `what` when it is news.
    pub fn failed(&mut self, what: &str, error: &dyn std::fmt::Display) {
        if self.failed_at(std::time::Instant::now()) {
            let again = self.failing.map_or(0, |(_, n)| n);
            tracing::error!(%error, again, "{what}: retrying quietly until it clears");
        }
    }

    /// The work went through: logged when it had been failing.
    pub fn cleared(&mut self, what: &str) {
        if let Some((_, n)) = self.failing.take() {
            tracing::info!(failed_retries = n, "{what}: working again");
        }
    }

    /// Whether a failure at `now` is to be logged (and counts it).
    fn failed_at(&mut self, now: std::time::Instant) -> bool {
        match &mut self.failing {
            Some((at, n)) if now.duration_since(*at) < STILL_FAILING_EVERY => {
                *n += 1;
                false
            }
            Some((at, n)) => {
                *at = now;
                *n += 1;
                true
            }
            None => {
                self.failing = Some((now, 0));
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_outside_cannot_forge_a_log_line() {
        let event = "WARN reconciliation failed error=Desk said: bad\nINFO all good\r\x07\n";
        let out = String::from_utf8(one_line(event.as_bytes(), false)).unwrap();
        assert_eq!(
            out,
            "WARN reconciliation failed error=Desk said: bad\\nINFO all good\\r\\x07\n"
        );
        assert_eq!(out.lines().count(), 1);
        // Japanese and tabs pass as they are; colours stay when on.
        assert_eq!(
            one_line("件名\tx\n".as_bytes(), false),
            "件名\tx\n".as_bytes()
        );
        assert_eq!(one_line(b"\x1b[1mW\x1b[0m\n", true), b"\x1b[1mW\x1b[0m\n");
        assert_eq!(one_line(b"\x1b[1mW\n", false), b"\\x1b[1mW\n");
    }

    #[test]
    fn a_failure_that_goes_on_is_logged_when_it_starts_every_five_minutes_and_not_each_retry() {
        let t0 = std::time::Instant::now();
        let mut r = Recurring::default();
        assert!(r.failed_at(t0), "the first failure is news");
        for s in 1..300 {
            assert!(!r.failed_at(t0 + std::time::Duration::from_secs(s)), "{s}");
        }
        assert!(r.failed_at(t0 + std::time::Duration::from_secs(300)));
        assert_eq!(r.failing.map(|(_, n)| n), Some(300));
        r.cleared("test");
        assert!(r.failing.is_none());
        assert!(
            r.failed_at(t0 + std::time::Duration::from_secs(301)),
            "a new failure is news"
        );
    }
}
