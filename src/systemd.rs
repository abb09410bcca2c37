//! The systemd notification protocol (`Type=notify-reload`). Every call is a no-op when
//! `NOTIFY_SOCKET` is not set, so the daemon runs the same outside systemd.

use std::time::Duration;

use sd_notify::NotifyState;

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// `READY=1` with a status line.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// `RELOADING=1` with `MONOTONIC_USEC`, as `Type=notify-reload` requires.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(usec) => send(&[
            NotifyState::Reloading,
            usec,
            NotifyState::Status("reloading"),
        ]),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the monotonic clock");
            send(&[NotifyState::Reloading]);
        }
    }
}

pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, when systemd asks for it. A
/// `WATCHDOG_USEC` of 0 is no watchdog, as sd_watchdog_enabled(3) reads it (a zero period
/// would panic the timer).
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
        .filter(|d| !d.is_zero())
        .map(|d| d / 2)
}
