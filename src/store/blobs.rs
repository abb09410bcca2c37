//! sled 0.34 writes a record too large for its log (over a quarter of a segment: 128 KiB, a
//! large event or a consolidated page of large records) to a file of its own under `blobs/`,
//! and never syncs that file or the directory: its flush syncs only the log that points at
//! the file. A power cut after an acknowledged commit could leave the log pointing at a blob
//! that never reached the disk. So every flush of the store first syncs the blob files sled
//! has written since the last time, and their directory. Not only a large record: a page of
//! records (a leaf holds up to 16) over 128 KiB is a blob too.
//!
//! sled also rewrites pages of its own accord (a split during a read, its segment cleaner) and
//! syncs its log every 500 ms, so a rewritten page's log entry can become durable before its
//! blob without any flush of ours. The committer therefore also syncs new blobs every
//! [`SYNC_EVERY`] while idle and once after each flush: that window, unbounded before (until
//! the kernel wrote the file back), is now about that long.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// How often the committer syncs new blobs when no flush did.
pub(super) const SYNC_EVERY: Duration = Duration::from_millis(250);

pub(super) struct Blobs {
    dir: PathBuf,
    /// Blob files synced, with their length then. sled writes a blob once, appending, and
    /// never changes it after: a file seen while sled was still writing it has grown since and
    /// is synced again.
    synced: Mutex<HashMap<OsString, u64>>,
    /// Whether the entry of `dir` itself in sled's directory has been synced.
    dir_entry_synced: AtomicBool,
    /// Blob file syncs so far.
    count: AtomicU64,
}

impl Blobs {
    /// `db` is the directory sled was opened on.
    pub(super) fn new(db: &Path) -> Blobs {
        Blobs {
            dir: db.join("blobs"),
            synced: Mutex::new(HashMap::new()),
            dir_entry_synced: AtomicBool::new(false),
            count: AtomicU64::new(0),
        }
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Syncs every blob file not synced yet (or grown since), then the directory if it gained
    /// any. A blob sled removed meanwhile (its page was rewritten) is skipped. Every blob a
    /// write that returned before this call refers to is complete by now: sled writes the file
    /// while the write runs.
    pub(super) fn sync(&self) -> std::io::Result<()> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            // None written yet.
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if !self.dir_entry_synced.load(Ordering::Relaxed) {
            if let Some(parent) = self.dir.parent() {
                File::open(parent)?.sync_all()?;
            }
            self.dir_entry_synced.store(true, Ordering::Relaxed);
        }
        let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        let mut present = HashMap::with_capacity(synced.len());
        let mut new = 0u64;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let len = match entry.metadata() {
                Ok(m) => m.len(),
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if synced.get(&name) == Some(&len) {
                present.insert(name, len);
                continue;
            }
            // The length is read from the file synced, before the sync: whatever sled appends
            // after it makes the file longer than recorded, so it is synced again.
            let file = match File::open(self.dir.join(&name)) {
                Ok(f) => f,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let len = file.metadata()?.len();
            file.sync_all()?;
            new += 1;
            present.insert(name, len);
        }
        if new > 0 {
            File::open(&self.dir)?.sync_all()?;
            self.count.fetch_add(new, Ordering::Relaxed);
        }
        // Names sled removed are forgotten, so the map stays as small as the directory.
        *synced = present;
        Ok(())
    }

    pub(super) fn synced(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn a_blob_seen_while_sled_was_writing_it_is_synced_again_once_it_has_grown() {
        let db = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(db.path().join("blobs")).expect("blobs dir");
        let blobs = Blobs::new(db.path());
        // sled creates the file first and writes into it afterwards.
        let mut file = File::create(db.path().join("blobs").join("4096")).expect("create");
        blobs.sync().expect("sync");
        assert_eq!(blobs.synced(), 1);
        file.write_all(b"the rest of the record").expect("write");
        blobs.sync().expect("sync");
        assert_eq!(blobs.synced(), 2, "the grown file was not synced again");
        blobs.sync().expect("sync");
        assert_eq!(blobs.synced(), 2, "an unchanged file was synced again");
    }

    #[test]
    fn a_store_without_blobs_has_nothing_to_sync() {
        let db = tempfile::tempdir().expect("tempdir");
        let blobs = Blobs::new(db.path());
        blobs.sync().expect("sync");
        assert_eq!(blobs.synced(), 0);
    }
}
