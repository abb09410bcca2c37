//! Group commit with a committer thread of its own.
//!
//! Callers number their commits; the committer flushes whatever was written, publishes the
//! highest number the flush covered, and starts the next flush as soon as a caller is waiting.
//! The next flush never waits for an async task to be polled on a busy HTTP worker (as a flush
//! taken in turns by the callers did): under a flood of webhooks that hand-over, not the disk,
//! set how often the store flushed. During a flood flushes start at most every
//! [`FLUSH_GAP`], so each covers many commits. Each flush syncs sled's blob files first, and
//! the idle committer syncs new ones every [`SYNC_EVERY`] (see [`super::blobs`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::blobs::{Blobs, SYNC_EVERY};
use super::{Fault, StoreError};

/// The shortest time between the starts of two flushes during a flood.
const FLUSH_GAP: Duration = Duration::from_millis(2);

/// A flush covering this many commits means a flood: the next waits for [`FLUSH_GAP`].
const FLOOD_BATCH: u64 = 8;

/// How the last flush went, and which commits it covered.
#[derive(Clone)]
struct Flushed {
    /// Every commit numbered up to this was written before the flush began.
    covered: u64,
    /// The highest `covered` of a flush that succeeded: these commits are durable.
    durable: u64,
    outcome: Result<(), Failed>,
}

#[derive(Clone)]
enum Failed {
    Injected,
    Sled(sled::Error),
    Panicked,
    Blobs(Arc<std::io::Error>),
}

/// Counters shared with the committer thread.
#[derive(Default)]
struct Counts {
    /// Commits asked for so far.
    asked: AtomicU64,
    /// Flushes made for them.
    flushes: AtomicU64,
}

pub(super) struct Committer {
    counts: Arc<Counts>,
    /// Dropped first on drop: the committer then ends and is joined. One kick waiting is
    /// enough: the committer reads the count of commits after taking it.
    kick: Option<mpsc::SyncSender<()>>,
    flushed: watch::Receiver<Flushed>,
    blobs: Arc<Blobs>,
    thread: Option<JoinHandle<()>>,
}

impl Committer {
    pub(super) fn start(
        db: sled::Db,
        blobs: Arc<Blobs>,
        fault: Arc<Fault>,
        broken: Arc<AtomicBool>,
    ) -> Result<Committer, std::io::Error> {
        let counts = Arc::new(Counts::default());
        let (kick, kicks) = mpsc::sync_channel(1);
        let (publish, flushed) = watch::channel(Flushed {
            covered: 0,
            durable: 0,
            outcome: Ok(()),
        });
        let thread = {
            let counts = counts.clone();
            let blobs = blobs.clone();
            std::thread::Builder::new()
                .name("store-commit".into())
                .spawn(move || run(&db, &blobs, &fault, &broken, &counts, &kicks, &publish))?
        };
        Ok(Committer {
            counts,
            kick: Some(kick),
            flushed,
            blobs,
            thread: Some(thread),
        })
    }

    /// Numbers the commit and wakes the committer now; the future resolves once everything
    /// written before the call is durable.
    pub(super) fn commit(
        &self,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static + use<> {
        let mine = self.counts.asked.fetch_add(1, Ordering::SeqCst) + 1;
        let mut flushed = self.flushed.clone();
        if let Some(kick) = &self.kick {
            // Full: a kick is already waiting. Disconnected: the committer is gone, which the
            // wait below reports.
            let _ = kick.try_send(());
        }
        let blobs = self.blobs.clone();
        async move {
            let last = flushed
                .wait_for(|f| f.covered >= mine)
                .await
                .map_err(|_| StoreError::CommitterGone)?;
            // Durable if any flush that covered it succeeded, whatever became of later ones.
            if last.durable >= mine {
                return Ok(());
            }
            match &last.outcome {
                Ok(()) => Ok(()),
                Err(failed) => Err(failed.to_error(&blobs)),
            }
        }
    }

    pub(super) fn flushes(&self) -> u64 {
        self.counts.flushes.load(Ordering::SeqCst)
    }
}

impl Failed {
    fn to_error(&self, blobs: &Blobs) -> StoreError {
        match self {
            Failed::Injected => StoreError::Injected,
            Failed::Sled(source) => StoreError::Sled {
                tree: "(all)",
                source: source.clone(),
            },
            Failed::Panicked => StoreError::FlushPanicked,
            Failed::Blobs(source) => StoreError::BlobSync {
                path: blobs.dir().to_path_buf(),
                source: source.clone(),
            },
        }
    }
}

/// A flush outside the committer, for code that is not async (start-up, shutdown, tests).
pub(super) fn flush_now(db: &sled::Db, blobs: &Blobs) -> Result<(), StoreError> {
    flush(db, blobs).map_err(|f| f.to_error(blobs))
}

/// Syncs sled's blob files, flushes, and syncs the blobs the flush's rewrites added (see
/// [`super::blobs`]).
fn flush(db: &sled::Db, blobs: &Blobs) -> Result<(), Failed> {
    blobs.sync().map_err(|e| Failed::Blobs(Arc::new(e)))?;
    // A panic in sled fails the commits it covered; the next flush is tried afresh.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| db.flush())) {
        Ok(flushed) => flushed.map(|_| ()).map_err(Failed::Sled)?,
        Err(_) => {
            tracing::error!("the store's flush panicked: its commits are refused");
            return Err(Failed::Panicked);
        }
    }
    // The commits covered are durable already: a failure here is the next flush's to retry.
    if let Err(e) = blobs.sync() {
        tracing::warn!(error = %e, dir = %blobs.dir().display(), "cannot sync the store's large records: retried at the next flush");
    }
    Ok(())
}

impl Drop for Committer {
    fn drop(&mut self) {
        drop(self.kick.take());
        if let Some(thread) = self.thread.take() {
            // The committer holds a handle on the database: it must be gone before the store's
            // lock is released, or a store opened next on the same directory could race it.
            let _ = thread.join();
        }
    }
}

fn run(
    db: &sled::Db,
    blobs: &Blobs,
    fault: &Fault,
    broken: &AtomicBool,
    counts: &Counts,
    kicks: &mpsc::Receiver<()>,
    publish: &watch::Sender<Flushed>,
) {
    // When the last flush started, if it covered a flood's worth of commits.
    let mut flood_flush: Option<Instant> = None;
    let mut blobs_failing = false;
    loop {
        match kicks.recv_timeout(SYNC_EVERY) {
            Ok(()) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            // Idle: sync the blobs of pages sled rewrote by itself (see `super::blobs`).
            Err(mpsc::RecvTimeoutError::Timeout) => {
                match blobs.sync() {
                    Ok(()) => blobs_failing = false,
                    Err(e) if !blobs_failing => {
                        blobs_failing = true;
                        tracing::warn!(error = %e, dir = %blobs.dir().display(), "cannot sync the store's large records: retrying");
                    }
                    Err(_) => {}
                }
                continue;
            }
        }
        // Under a flood, a short gap between flushes lets each cover many commits: flushing
        // again the moment the last one ended spent the CPU on flushes of a handful of events.
        // Otherwise (an event now and then, a few hundred a second) the flush starts at once.
        if let Some(gap) = flood_flush.map(|t| FLUSH_GAP.saturating_sub(t.elapsed())) {
            std::thread::sleep(gap);
        }
        while kicks.try_recv().is_ok() {}
        // Everything numbered up to here was written before this flush starts.
        let covered = counts.asked.load(Ordering::SeqCst);
        let (before, durable) = {
            let last = publish.borrow();
            (last.covered, last.durable)
        };
        if covered <= before {
            continue;
        }
        counts.flushes.fetch_add(1, Ordering::SeqCst);
        flood_flush = (covered - before >= FLOOD_BATCH).then(Instant::now);
        let outcome = if fault.active() {
            Err(Failed::Injected)
        } else {
            flush(db, blobs)
        };
        if matches!(outcome, Err(Failed::Sled(sled::Error::Io(_)))) {
            // sled fails every write from now on: see `Store::needs_reopen`.
            broken.store(true, Ordering::SeqCst);
        }
        let durable = if outcome.is_ok() { covered } else { durable };
        publish.send_replace(Flushed {
            covered,
            durable,
            outcome,
        });
    }
}
