//! The durable store. This module alone talks to sled: every tree has a name, typed keys
//! and serde values, and the store carries a schema version.

use std::fs::File;
use std::io::Write as _;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

mod blobs;
mod commit;
mod fault;
mod key;
mod lock;
mod readable;

pub use fault::Fault;
pub use key::Key;
pub use lock::holder;
use lock::take_lock;

/// The schema this build writes. Bump it with a migration in [`Store::open`].
pub const SCHEMA_VERSION: u32 = 1;

/// What [`Store::has_room`] writes: room for sled to start a new segment of its log.
const ROOM_PROBE: usize = 1 << 20;
const SCHEMA_KEY: &str = "schema_version";
/// Locks behind [`Tree::insert_pair_if_absent`].
const PAIR_LOCKS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the state directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("another deskcliq holds {path}{}: stop it first, or give this one another storage.path", .pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked { path: PathBuf, pid: Option<u32> },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the store at {path}: {source}")]
    Open { path: PathBuf, source: sled::Error },
    #[error(
        "the store at {path} has schema version {found}, newer than this deskcliq understands \
         ({supported}): run the deskcliq that wrote it, or restore a backup"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("store error in tree `{tree}`: {source}")]
    Sled {
        tree: &'static str,
        source: sled::Error,
    },
    #[error("corrupt record in tree `{tree}`: {reason}")]
    Corrupt { tree: &'static str, reason: String },
    #[error("the store cannot be written: no space left on device (injected fault)")]
    Injected,
    #[error("cannot start the store's committer thread: {0}")]
    CommitterStart(std::io::Error),
    #[error("the store's committer thread has stopped")]
    CommitterGone,
    #[error("flushing the store failed unexpectedly (a panic in sled)")]
    FlushPanicked,
    #[error("cannot sync the store's large records in {path}: {source}")]
    BlobSync {
        path: PathBuf,
        source: Arc<std::io::Error>,
    },
}

/// The named trees of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeName {
    /// Webhook events made durable before the 200.
    Inbox,
    /// What deskcliq knows of each ticket (owner, due date, department…).
    Tickets,
    /// SLA alerts and activity reminders to fire.
    Deadlines,
    /// Cliq messages waiting to be sent.
    Outbox,
    /// Keys of changes already announced (deduplication across restarts).
    Delivered,
    /// Cliq send budget and lockout.
    Budget,
    /// OAuth tokens (service access token, agents' grants).
    Tokens,
    /// Schema version and small records of the daemon itself.
    Meta,
    /// Identities of webhook events already taken in (Desk's duplicate deliveries).
    Events,
    /// What deskcliq remembers of activities (tasks, calls, events).
    Activities,
    /// Messages Cliq refused for good, with the reason.
    Dead,
    /// Per ticket or activity: its armed timers and the SLA offsets already alerted.
    Armed,
    /// Tickets created and closed, by time: the daily summary's figures.
    Log,
    /// Command answers kept for a day, for their Post here button (by answer id).
    Answers,
    /// Quick-action forms opened and not yet submitted: the card they came from.
    Forms,
    /// Quick actions done, by idempotency key (message, action, form content).
    ActionsDone,
    /// Changes deskcliq made in Desk itself, whose webhook echo is not announced.
    Echoes,
}

impl TreeName {
    pub const ALL: [TreeName; 17] = [
        TreeName::Inbox,
        TreeName::Tickets,
        TreeName::Deadlines,
        TreeName::Outbox,
        TreeName::Delivered,
        TreeName::Budget,
        TreeName::Tokens,
        TreeName::Meta,
        TreeName::Events,
        TreeName::Activities,
        TreeName::Dead,
        TreeName::Armed,
        TreeName::Log,
        TreeName::Answers,
        TreeName::Forms,
        TreeName::ActionsDone,
        TreeName::Echoes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TreeName::Inbox => "inbox",
            TreeName::Tickets => "tickets",
            TreeName::Deadlines => "deadlines",
            TreeName::Outbox => "outbox",
            TreeName::Delivered => "delivered",
            TreeName::Budget => "budget",
            TreeName::Tokens => "tokens",
            TreeName::Meta => "meta",
            TreeName::Events => "events",
            TreeName::Activities => "activities",
            TreeName::Dead => "dead",
            TreeName::Armed => "armed",
            TreeName::Log => "log",
            TreeName::Answers => "answers",
            TreeName::Forms => "forms",
            TreeName::ActionsDone => "actions_done",
            TreeName::Echoes => "echoes",
        }
    }
}

struct Inner {
    fault: Arc<Fault>,
    db: sled::Db,
    /// sled's large records, synced before each flush.
    blobs: Arc<blobs::Blobs>,
    path: PathBuf,
    /// Group commit: one flush makes every commit asked for before it durable.
    committer: commit::Committer,
    pairs: Arc<[std::sync::Mutex<()>; PAIR_LOCKS]>,
    /// Records that could not be read and were set aside (see [`Tree::get_readable`]).
    corrupt: Arc<AtomicU64>,
    /// Set by the first I/O error sled reports (see [`Store::needs_reopen`]).
    broken: Arc<std::sync::atomic::AtomicBool>,
    /// Held open for the life of the store: the OS lock is the "one daemon per directory" rule.
    _lock: File,
}

/// The open store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the store at `path`, taking the directory's lock.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(path).map_err(|source| StoreError::CreateDir {
            path: path.to_path_buf(),
            source,
        })?;
        let lock = take_lock(path)?;
        let fault = Arc::new(Fault::from_env());
        let db = sled::Config::new()
            .path(path.join("db"))
            // sled caches 1 GiB by default; deskcliq's working set is small.
            .cache_capacity(16 << 20)
            .open()
            .map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        let blobs = Arc::new(blobs::Blobs::new(&path.join("db")));
        let broken = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let store = Store {
            inner: Arc::new(Inner {
                committer: commit::Committer::start(
                    db.clone(),
                    blobs.clone(),
                    fault.clone(),
                    broken.clone(),
                )
                .map_err(StoreError::CommitterStart)?,
                fault,
                db,
                blobs,
                path: path.to_path_buf(),
                pairs: Arc::new(std::array::from_fn(|_| std::sync::Mutex::new(()))),
                corrupt: Arc::default(),
                broken,
                _lock: lock,
            }),
        };
        let meta = store.tree::<String, u32>(TreeName::Meta);
        match meta.get(&SCHEMA_KEY.to_string())? {
            None => {
                meta.insert(&SCHEMA_KEY.to_string(), &SCHEMA_VERSION)?;
                store.flush_blocking()?;
            }
            Some(found) if found > SCHEMA_VERSION => {
                return Err(StoreError::SchemaTooNew {
                    path: path.to_path_buf(),
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
            Some(_) => {}
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(self
            .tree::<String, u32>(TreeName::Meta)
            .get(&SCHEMA_KEY.to_string())?
            .unwrap_or(0))
    }

    /// A typed view of one tree.
    pub fn tree<K: Key, V: Serialize + DeserializeOwned>(&self, name: TreeName) -> Tree<K, V> {
        Tree {
            db: self.inner.db.clone(),
            fault: self.inner.fault.clone(),
            pairs: self.inner.pairs.clone(),
            corrupt: self.inner.corrupt.clone(),
            broken: self.inner.broken.clone(),
            name,
            _types: PhantomData,
        }
    }

    /// Records that could not be read (bad JSON, a shape this build does not know) and were
    /// set aside rather than stop the work behind them: see [`Tree::get_readable`].
    pub fn corrupt_records(&self) -> u64 {
        self.inner.corrupt.load(Ordering::Relaxed)
    }

    /// True once sled has reported an I/O error (a full disk): sled 0.34 keeps failing every
    /// write from then on, even after space is freed, until the store is opened again.
    pub fn needs_reopen(&self) -> bool {
        self.inner.broken.load(Ordering::SeqCst)
    }

    /// Whether the store's directory can take a write again: a scratch file of
    /// [`ROOM_PROBE`] bytes is written, synced and removed.
    pub fn has_room(&self) -> bool {
        let probe = self.inner.path.join(".room-probe");
        let wrote = File::create(&probe).and_then(|mut f| {
            f.write_all(&vec![0u8; ROOM_PROBE])?;
            f.sync_all()
        });
        let _ = std::fs::remove_file(&probe);
        wrote.is_ok()
    }

    /// A new id, unique and increasing across restarts.
    pub fn next_id(&self) -> Result<u64, StoreError> {
        self.inner
            .db
            .generate_id()
            .map_err(|source| StoreError::Sled {
                tree: "ids",
                source,
            })
    }

    /// Makes every write fail (as on a full disk) until turned off again.
    pub fn inject_fault(&self, on: bool) {
        self.inner.fault.on.store(on, Ordering::SeqCst);
    }

    /// Makes everything written so far durable: a [`Store::commit`].
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.commit().await
    }

    /// Makes everything written before this call durable, sharing the flush with concurrent
    /// callers (group commit): many webhook requests arriving together cost one fsync, not one
    /// each. The commit is numbered at the call, not when the future is first polled, and is
    /// Ok once any flush that covered it succeeded.
    pub fn commit(&self) -> impl Future<Output = Result<(), StoreError>> + Send + 'static + use<> {
        self.inner.committer.commit()
    }

    /// Flushes [`Store::commit`] has made (to see group commit at work).
    pub fn commit_flushes(&self) -> u64 {
        self.inner.committer.flushes()
    }

    /// Blob files (records too large for sled's log) synced so far: see [`Store::flush`].
    pub fn blobs_synced(&self) -> u64 {
        self.inner.blobs.synced()
    }

    /// Like [`Store::flush`], for code that is not async (start-up, shutdown, tests).
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        commit::flush_now(&self.inner.db, &self.inner.blobs)
    }

    /// Proves the store can still take a durable write (readiness probe, disk-full check).
    pub async fn probe(&self) -> Result<(), StoreError> {
        let now = chrono::Utc::now().timestamp_millis().max(0) as u64;
        self.tree::<String, u64>(TreeName::Meta)
            .insert(&"probe".to_string(), &now)?;
        self.flush().await
    }

    pub fn size_on_disk(&self) -> u64 {
        self.inner.db.size_on_disk().unwrap_or(0)
    }
}

/// A typed tree. Values are stored as JSON, so a record stays readable in a dump.
pub struct Tree<K, V> {
    db: sled::Db,
    fault: Arc<Fault>,
    /// Held while a pair is written (see [`Tree::insert_pair_if_absent`]), one per key hash.
    pairs: Arc<[std::sync::Mutex<()>; PAIR_LOCKS]>,
    corrupt: Arc<AtomicU64>,
    broken: Arc<std::sync::atomic::AtomicBool>,
    name: TreeName,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K: Key, V: Serialize + DeserializeOwned> Tree<K, V> {
    fn sled(&self) -> Result<sled::Tree, StoreError> {
        self.db
            .open_tree(self.name.as_str())
            .map_err(|source| self.err(source))
    }

    fn err(&self, source: sled::Error) -> StoreError {
        if matches!(source, sled::Error::Io(_)) {
            self.broken.store(true, Ordering::SeqCst);
        }
        StoreError::Sled {
            tree: self.name.as_str(),
            source,
        }
    }

    fn decode_value(&self, bytes: &[u8]) -> Result<V, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
            tree: self.name.as_str(),
            reason: e.to_string(),
        })
    }

    pub fn get(&self, key: &K) -> Result<Option<V>, StoreError> {
        match self.sled()?.get(key.encode()).map_err(|e| self.err(e))? {
            Some(bytes) => self.decode_value(&bytes).map(Some),
            None => Ok(None),
        }
    }

    pub fn insert(&self, key: &K, value: &V) -> Result<(), StoreError> {
        self.fault.check()?;
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Corrupt {
            tree: self.name.as_str(),
            reason: format!("cannot encode: {e}"),
        })?;
        self.sled()?
            .insert(key.encode(), bytes)
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn remove(&self, key: &K) -> Result<Option<V>, StoreError> {
        self.fault.check()?;
        match self.sled()?.remove(key.encode()).map_err(|e| self.err(e))? {
            Some(bytes) => self.decode_value(&bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Every record in key order.
    pub fn all(&self) -> Result<Vec<(K, V)>, StoreError> {
        self.iter()?.collect()
    }

    /// The records in key order, each read and decoded only when the iterator reaches it.
    pub fn iter(
        &self,
    ) -> Result<impl Iterator<Item = Result<(K, V), StoreError>> + '_, StoreError> {
        Ok(self.sled()?.iter().map(move |item| {
            let (k, v) = item.map_err(|e| self.err(e))?;
            let key = K::decode(&k).ok_or_else(|| StoreError::Corrupt {
                tree: self.name.as_str(),
                reason: "undecodable key".into(),
            })?;
            Ok((key, self.decode_value(&v)?))
        }))
    }

    /// When `key` is absent from this tree, inserts `other_value` under `other_key` in `other`
    /// and then `value` under `key` here; true when it did. Writers of pairs take turns (one
    /// process holds the store), so two callers never both insert the same key. Unlike a
    /// transaction, a reader can see the pair before `key`; `key` is written only if still
    /// absent then (the outbox may already have marked the message sent).
    ///
    /// Not a sled transaction: the first one would switch every sled operation of the process,
    /// reads included, to a global lock (sled 0.34), which cost the webhook path a third of its
    /// throughput in contention. The order of the two writes gives what a crash needs instead:
    /// sled recovers a prefix of its log, so `key` never survives without its pair. The pair
    /// may survive without `key` (a crash between the two writes, before any flush, so nothing
    /// was acknowledged): the caller's reader must take such a copy twice harmlessly (the
    /// outbox drops a message whose key is already marked sent; the router's handling of an
    /// event is idempotent).
    pub fn insert_pair_if_absent<K2: Key, V2: Serialize + DeserializeOwned>(
        &self,
        key: &K,
        value: &V,
        other: &Tree<K2, V2>,
        other_key: &K2,
        other_value: &V2,
    ) -> Result<bool, StoreError> {
        self.fault.check()?;
        let corrupt = |tree: &'static str| {
            move |e: serde_json::Error| StoreError::Corrupt {
                tree,
                reason: e.to_string(),
            }
        };
        let a = serde_json::to_vec(value).map_err(corrupt(self.name.as_str()))?;
        let b = serde_json::to_vec(other_value).map_err(corrupt(other.name.as_str()))?;
        let (k1, k2) = (key.encode(), other_key.encode());
        let (t1, t2) = (self.sled()?, other.sled()?);
        // Same-key writers take turns; others go on in parallel.
        let stripe = {
            use std::hash::{BuildHasher as _, BuildHasherDefault};
            BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(&k1)
                as usize
                % PAIR_LOCKS
        };
        let _one_pair_at_a_time = self.pairs[stripe].lock().unwrap_or_else(|p| p.into_inner());
        if t1.contains_key(&k1).map_err(|e| self.err(e))? {
            return Ok(false);
        }
        t2.insert(k2.as_slice(), b.as_slice())
            .map_err(|e| other.err(e))?;
        // Only if still absent: a reader may already have taken the pair and written `key`
        // (the outbox marking a message sent), which must not be undone.
        let _ = t1
            .compare_and_swap(k1.as_slice(), None as Option<&[u8]>, Some(a.as_slice()))
            .map_err(|e| self.err(e))?;
        Ok(true)
    }

    /// Atomically replaces the value of `key` with `f(old)` (which may run more than once when
    /// writers race) and returns the new value. A stored value that does not decode counts as
    /// absent.
    pub fn update(&self, key: &K, f: impl Fn(Option<V>) -> V) -> Result<V, StoreError> {
        self.fault.check()?;
        let updated = self
            .sled()?
            .update_and_fetch(key.encode(), |old| {
                let old = old.and_then(|b| serde_json::from_slice::<V>(b).ok());
                serde_json::to_vec(&f(old)).ok()
            })
            .map_err(|e| self.err(e))?;
        match updated {
            Some(bytes) => self.decode_value(&bytes),
            None => Err(StoreError::Corrupt {
                tree: self.name.as_str(),
                reason: "cannot encode the updated value".into(),
            }),
        }
    }

    /// Inserts `value` only when `key` is absent; true when it was inserted.
    pub fn insert_if_absent(&self, key: &K, value: &V) -> Result<bool, StoreError> {
        self.fault.check()?;
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Corrupt {
            tree: self.name.as_str(),
            reason: format!("cannot encode: {e}"),
        })?;
        let swapped = self
            .sled()?
            .compare_and_swap(key.encode(), None as Option<&[u8]>, Some(bytes))
            .map_err(|e| self.err(e))?;
        Ok(swapped.is_ok())
    }

    pub fn contains(&self, key: &K) -> Result<bool, StoreError> {
        self.sled()?
            .contains_key(key.encode())
            .map_err(|e| self.err(e))
    }

    /// The records with `from <= key < to`, in key order.
    pub fn range(&self, from: &K, to: &K) -> Result<Vec<(K, V)>, StoreError> {
        let mut out = Vec::new();
        for item in self.sled()?.range(from.encode()..to.encode()) {
            let (k, v) = item.map_err(|e| self.err(e))?;
            let key = K::decode(&k).ok_or_else(|| StoreError::Corrupt {
                tree: self.name.as_str(),
                reason: "undecodable key".into(),
            })?;
            out.push((key, self.decode_value(&v)?));
        }
        Ok(out)
    }

    /// Removes every record whose key is below `to`; returns how many.
    pub fn remove_before(&self, to: &K) -> Result<usize, StoreError> {
        self.fault.check()?;
        let tree = self.sled()?;
        let mut n = 0;
        for item in tree.range(..to.encode()) {
            let (k, _) = item.map_err(|e| self.err(e))?;
            tree.remove(k).map_err(|e| self.err(e))?;
            n += 1;
        }
        Ok(n)
    }

    /// The first `n` records in key order.
    pub fn first(&self, n: usize) -> Result<Vec<(K, V)>, StoreError> {
        self.iter()?.take(n).collect()
    }

    pub fn len(&self) -> Result<usize, StoreError> {
        Ok(self.sled()?.len())
    }

    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.sled()?.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_keys_round_trip_and_order_by_number() {
        let a = ("t1".to_string(), 5u64);
        let b = ("t1".to_string(), 300u64);
        assert_eq!(<(String, u64)>::decode(&a.encode()), Some(a.clone()));
        assert!(a.encode() < b.encode());
        assert_eq!(u64::decode(&7u64.encode()), Some(7));
    }
}
