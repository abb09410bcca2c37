//! sled 0.34 writes a record too large for its log (over a quarter of a segment: 128 KiB, a
//! large event or a consolidated page of large records) to a file of its own under `blobs/`,
//! and never syncs that file or the directory: its flush syncs only the log that points at
//! the file. A power cut after an acknowledged commit could leave the log pointing at a blob
//! that never reached the disk. So every flush of the store first syncs the blob files sled
//! has written since the last time, and their directory, and syncs again once the flush is
//! done: sled may rewrite a page (consolidation, its cleaner) while the flush runs, and the
//! flush can make that rewrite's log entry durable before its blob. The second sync narrows
//! that window (unbounded without it: until the kernel writes the file back) to the flush.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

pub(super) struct Blobs {
    dir: PathBuf,
    /// Blob files already synced (sled never rewrites one: a new version is a new file).
    synced: Mutex<HashSet<OsString>>,
    /// Blob files synced so far.
    count: AtomicU64,
}

impl Blobs {
    /// `db` is the directory sled was opened on.
    pub(super) fn new(db: &Path) -> Blobs {
        Blobs {
            dir: db.join("blobs"),
            synced: Mutex::new(HashSet::new()),
            count: AtomicU64::new(0),
        }
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Syncs every blob file not synced yet, then the directory if it gained any. A blob sled
    /// removed meanwhile (its page was rewritten) is skipped. Every blob a write that returned
    /// before this call refers to exists by now: sled writes the file while the write runs.
    pub(super) fn sync(&self) -> std::io::Result<()> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            // None written yet.
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        let mut present = HashSet::with_capacity(synced.len());
        let mut new = 0u64;
        for entry in entries {
            let name = entry?.file_name();
            if !synced.contains(&name) {
                match File::open(self.dir.join(&name)).and_then(|f| f.sync_all()) {
                    Ok(()) => new += 1,
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                }
            }
            present.insert(name);
        }
        if new > 0 {
            File::open(&self.dir)?.sync_all()?;
            self.count.fetch_add(new, Ordering::Relaxed);
        }
        // Names sled removed are forgotten, so the set stays as small as the directory.
        *synced = present;
        Ok(())
    }

    pub(super) fn synced(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}
