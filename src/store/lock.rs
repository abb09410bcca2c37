//! The store's directory lock: one daemon per store, and who holds it.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use super::StoreError;

const LOCK_FILE: &str = "deskcliq.lock";

pub(super) fn take_lock(dir: &Path) -> Result<File, StoreError> {
    let lock_path = dir.join(LOCK_FILE);
    let lock_err = |source| StoreError::Lock {
        path: lock_path.clone(),
        source,
    };
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(lock_err)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let pid = file
                .read_to_string(&mut text)
                .ok()
                .and_then(|_| text.trim().parse().ok());
            return Err(StoreError::Locked {
                path: dir.to_path_buf(),
                pid,
            });
        }
        Err(TryLockError::Error(e)) => return Err(lock_err(e)),
    }
    file.set_len(0).map_err(lock_err)?;
    file.rewind().map_err(lock_err)?;
    writeln!(file, "{}", std::process::id()).map_err(lock_err)?;
    Ok(file)
}

/// Who holds the store at `dir`: `None` when nobody does (or there is no store), else the
/// holder's pid when it wrote one. Takes nothing: a free lock is released at once. An error
/// when the lock cannot be looked at (another user's store): nobody can tell then.
pub fn holder(dir: &Path) -> Result<Option<Option<u32>>, StoreError> {
    let lock_path = dir.join(LOCK_FILE);
    let file = match File::options().read(true).write(true).open(&lock_path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StoreError::Lock {
                path: lock_path,
                source,
            });
        }
    };
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            Ok(None)
        }
        Err(TryLockError::Error(source)) => Err(StoreError::Lock {
            path: lock_path,
            source,
        }),
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let pid = (&file)
                .read_to_string(&mut text)
                .ok()
                .and_then(|_| text.trim().parse().ok());
            Ok(Some(pid))
        }
    }
}
