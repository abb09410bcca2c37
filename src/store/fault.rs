//! The store's fault-injection hook (tests run as root: a read-only directory proves nothing).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use super::StoreError;

/// Fault injection: while on, every write fails as on a full disk. Turned on in-process
/// ([`Store::inject_fault`]) or, for a running daemon, by the existence of the file named by
/// `DESKCLIQ_STORE_FAULT_FILE` (looked at most every 200 ms).
#[derive(Default)]
pub struct Fault {
    pub(super) on: std::sync::atomic::AtomicBool,
    file: Option<PathBuf>,
    file_on: std::sync::atomic::AtomicBool,
    checked_ms: AtomicU64,
}

impl Fault {
    pub(super) fn from_env() -> Fault {
        Fault {
            file: std::env::var_os("DESKCLIQ_STORE_FAULT_FILE").map(PathBuf::from),
            ..Fault::default()
        }
    }

    pub(super) fn active(&self) -> bool {
        if self.on.load(Ordering::Relaxed) {
            return true;
        }
        let Some(file) = &self.file else { return false };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        if now.saturating_sub(self.checked_ms.load(Ordering::Relaxed)) >= 200 {
            self.checked_ms.store(now, Ordering::Relaxed);
            self.file_on.store(file.exists(), Ordering::Relaxed);
        }
        self.file_on.load(Ordering::Relaxed)
    }

    pub(super) fn check(&self) -> Result<(), StoreError> {
        if self.active() {
            Err(StoreError::Injected)
        } else {
            Ok(())
        }
    }
}
