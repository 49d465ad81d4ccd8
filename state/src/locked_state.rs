//! A state file locked for the length of a command, and its writes.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::StateError;
use crate::replace_file;
use crate::state::{FORMAT_VERSION, ResourceState, State};

/// A state file this process has locked, with the state as last written.
///
/// Share it between tokio tasks behind an `Arc`: every method takes `&self`, and writes are
/// serialized by an internal mutex, so the file always holds the result of whole updates in
/// order. A write blocks its thread on two fsyncs (a few milliseconds); call it from
/// `spawn_blocking` if that matters.
///
/// **Serials are bumped here**, never by the caller: each write that changes the resources,
/// outputs or format version stores the current serial + 1; one that changes nothing writes
/// nothing and keeps the serial.
///
/// The lock is released when this value is dropped.
#[derive(Debug)]
pub struct LockedState {
    path: PathBuf,
    writer_version: String,
    /// `Some` for the whole life of the value (taken in `drop` to close the file); `None`
    /// for a state opened to be read only, which refuses every write.
    lock: Option<fd_lock::RwLock<File>>,
    current: Mutex<State>,
}

impl LockedState {
    pub(crate) fn new(
        path: PathBuf,
        writer_version: String,
        lock: fd_lock::RwLock<File>,
        state: State,
    ) -> LockedState {
        LockedState {
            path,
            writer_version,
            lock: Some(lock),
            current: Mutex::new(state),
        }
    }

    /// The state as it is, without taking the lock, to be read only: every write is
    /// refused ([`StateError::ReadOnly`]).
    pub(crate) fn read_only(path: PathBuf, writer_version: String, state: State) -> LockedState {
        LockedState {
            path,
            writer_version,
            lock: None,
            current: Mutex::new(state),
        }
    }

    /// The state file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A copy of the current state: as loaded, or as last written.
    pub fn state(&self) -> State {
        self.current().clone()
    }

    /// The current serial, without copying the state.
    pub fn serial(&self) -> u64 {
        self.current().serial
    }

    /// The state's lineage.
    pub fn lineage(&self) -> String {
        self.current().lineage.clone()
    }

    /// Replaces the whole state with `state` and returns the serial now on disk.
    ///
    /// `state` must be a changed copy of the current one (from [`LockedState::state`]): a
    /// different lineage is refused ([`StateError::LineageMismatch`]), and so is an older
    /// serial ([`StateError::Stale`]), which means another write happened since the copy was
    /// taken and would be lost. Tasks that change the state concurrently should use
    /// [`LockedState::update`] instead. The serial and writer version are set by the write.
    pub fn write(&self, state: &State) -> Result<u64, StateError> {
        let mut current = self.current();
        if state.lineage != current.lineage {
            return Err(self.lineage_mismatch(&current, state));
        }
        if state.serial != current.serial {
            return Err(StateError::Stale {
                path: self.path.clone(),
                current: current.serial,
                found: state.serial,
            });
        }
        self.persist(&mut current, state.clone())
    }

    /// Applies `change` to the current state and writes the result if anything changed;
    /// returns what `change` returned. Other writers wait meanwhile, so concurrent updates
    /// never lose each other's changes. Changes to the serial are ignored; a change of
    /// lineage is refused. If the write fails, the state stays as it was.
    pub fn update<R>(&self, change: impl FnOnce(&mut State) -> R) -> Result<R, StateError> {
        self.change(change).map(|(result, _serial)| result)
    }

    /// Records `resource` under its address, replacing what was there; returns the serial.
    pub fn set_resource(&self, resource: ResourceState) -> Result<u64, StateError> {
        self.change(|state| {
            state.resources.insert(resource.address.clone(), resource);
        })
        .map(|((), serial)| serial)
    }

    /// Forgets the resource at `address`; returns what was recorded for it, if anything.
    pub fn remove_resource(&self, address: &str) -> Result<Option<ResourceState>, StateError> {
        self.update(|state| state.resources.remove(address))
    }

    /// [`LockedState::update`], also returning the serial written, read under the same lock
    /// (a later read could see another task's write).
    fn change<R>(&self, change: impl FnOnce(&mut State) -> R) -> Result<(R, u64), StateError> {
        let mut current = self.current();
        let mut next = current.clone();
        let result = change(&mut next);
        if next.lineage != current.lineage {
            return Err(self.lineage_mismatch(&current, &next));
        }
        let serial = self.persist(&mut current, next)?;
        Ok((result, serial))
    }

    fn current(&self) -> MutexGuard<'_, State> {
        // The state behind the mutex is replaced only after a successful write, never left
        // half changed, so a panic elsewhere while holding it does not make it unusable.
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `next` over `current` if their content differs, with the serial bumped.
    fn persist(&self, current: &mut State, mut next: State) -> Result<u64, StateError> {
        if self.lock.is_none() {
            return Err(StateError::ReadOnly {
                path: self.path.clone(),
            });
        }
        next.version = FORMAT_VERSION;
        if next.same_content(current) {
            return Ok(current.serial);
        }
        next.serial = current.serial + 1;
        next.yoyoform_version.clone_from(&self.writer_version);
        let mut json =
            serde_json::to_vec_pretty(&next).map_err(|source| StateError::Serialize {
                path: self.path.clone(),
                source,
            })?;
        json.push(b'\n');
        replace_file::replace(&self.path, &json)?;
        *current = next;
        Ok(current.serial)
    }

    fn lineage_mismatch(&self, current: &State, found: &State) -> StateError {
        StateError::LineageMismatch {
            path: self.path.clone(),
            expected: current.lineage.clone(),
            found: found.lineage.clone(),
        }
    }
}

impl Drop for LockedState {
    fn drop(&mut self) {
        if let Some(lock) = self.lock.take() {
            let file = lock.into_inner();
            // Clear the holder's details while the lock is still ours, so the file never
            // names a process that no longer holds it; closing the file releases the flock.
            let _ = file.set_len(0);
            drop(file);
        }
    }
}
