//! Group commit with a committer thread of its own.
//!
//! Callers number their commits; the committer flushes whatever was written, publishes the
//! highest number the flush covered, and starts the next flush as soon as a caller is waiting.
//! The next flush never waits for an async task to be polled on a busy HTTP worker (as a flush
//! taken in turns by the callers did): under a flood of webhooks that hand-over, not the disk,
//! set how often the store flushed. During a flood flushes start at most every
//! [`FLUSH_GAP`], so each covers many commits.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::watch;

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
    thread: Option<JoinHandle<()>>,
}

impl Committer {
    pub(super) fn start(db: sled::Db, fault: Arc<Fault>) -> Result<Committer, std::io::Error> {
        let counts = Arc::new(Counts::default());
        let (kick, kicks) = mpsc::sync_channel(1);
        let (publish, flushed) = watch::channel(Flushed {
            covered: 0,
            durable: 0,
            outcome: Ok(()),
        });
        let thread = {
            let counts = counts.clone();
            std::thread::Builder::new()
                .name("store-commit".into())
                .spawn(move || run(&db, &fault, &counts, &kicks, &publish))?
        };
        Ok(Committer {
            counts,
            kick: Some(kick),
            flushed,
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
                Err(Failed::Injected) => Err(StoreError::Injected),
                Err(Failed::Sled(source)) => Err(StoreError::Sled {
                    tree: "(all)",
                    source: source.clone(),
                }),
                Err(Failed::Panicked) => Err(StoreError::FlushPanicked),
            }
        }
    }

    pub(super) fn flushes(&self) -> u64 {
        self.counts.flushes.load(Ordering::SeqCst)
    }
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
    fault: &Fault,
    counts: &Counts,
    kicks: &mpsc::Receiver<()>,
    publish: &watch::Sender<Flushed>,
) {
    // When the last flush started, if it covered a flood's worth of commits.
    let mut flood_flush: Option<Instant> = None;
    while kicks.recv().is_ok() {
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
            // A panic in sled fails the commits it covered; the next flush is tried afresh.
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| db.flush())) {
                Ok(flushed) => flushed.map(|_| ()).map_err(Failed::Sled),
                Err(_) => {
                    tracing::error!("the store's flush panicked: its commits are refused");
                    Err(Failed::Panicked)
                }
            }
        };
        let durable = if outcome.is_ok() { covered } else { durable };
        publish.send_replace(Flushed {
            covered,
            durable,
            outcome,
        });
    }
}
