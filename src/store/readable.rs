//! Reading past records that cannot be read (damaged, or of a shape this build does not know):
//! one bad record must not stop a queue or a loop for good.

use std::sync::atomic::Ordering;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Key, StoreError, Tree};

impl<K: Key, V: Serialize + DeserializeOwned> Tree<K, V> {
    /// Like [`Tree::get`], but a record that cannot be read is logged, counted
    /// ([`Store::corrupt_records`]) and taken as absent, for callers that overwrite it: one
    /// bad record must not stop the router, the outbox or the timers for good.
    pub fn get_readable(&self, key: &K) -> Result<Option<V>, StoreError> {
        match self.get(key) {
            Err(e @ StoreError::Corrupt { .. }) => {
                self.set_aside(&e);
                Ok(None)
            }
            other => other,
        }
    }

    /// Logs and counts ([`Store::corrupt_records`]) a record of this tree that cannot be
    /// read, for a caller that handles it in its own way.
    pub fn set_aside(&self, e: &StoreError) {
        self.corrupt.fetch_add(1, Ordering::Relaxed);
        tracing::error!(tree = self.name.as_str(), error = %e, "a stored record cannot be read: set aside");
    }

    /// The first `n` records in key order that can be read (see [`Tree::iter_readable`]).
    pub fn first_readable(&self, n: usize) -> Result<Vec<(K, V)>, StoreError> {
        self.iter_readable()?.take(n).collect()
    }

    /// The records in key order, like [`Tree::iter`], except that a record that cannot be
    /// read is removed, logged and counted ([`Store::corrupt_records`]) instead of being an
    /// error every time it is reached: a queue (the inbox, the outbox, the timers) goes on
    /// past it.
    pub fn iter_readable(
        &self,
    ) -> Result<impl Iterator<Item = Result<(K, V), StoreError>> + '_, StoreError> {
        let tree = self.sled()?;
        Ok(tree.iter().filter_map(move |item| {
            let (k, v) = match item {
                Ok(kv) => kv,
                Err(e) => return Some(Err(self.err(e))),
            };
            let key = K::decode(&k).ok_or_else(|| StoreError::Corrupt {
                tree: self.name.as_str(),
                reason: "undecodable key".into(),
            });
            match key.and_then(|key| Ok((key, self.decode_value(&v)?))) {
                Ok(record) => Some(Ok(record)),
                Err(e) => {
                    if let Err(fault) = self.fault.check() {
                        return Some(Err(fault));
                    }
                    // Only the value read: one written meanwhile under that key is kept.
                    if let Err(removing) =
                        tree.compare_and_swap(&k, Some(&v), None as Option<&[u8]>)
                    {
                        return Some(Err(self.err(removing)));
                    }
                    self.set_aside(&e);
                    None
                }
            }
        }))
    }
}
