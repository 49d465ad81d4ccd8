//! Where a state lives and how to open it: read-only, or locked for a whole command.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::error::StateError;
use crate::lock_info::LockInfo;
use crate::locked_state::LockedState;
use crate::sidecar::sidecar;
use crate::state::{FORMAT_VERSION, State};

/// How often a waiting `open` tries the lock again.
const LOCK_RETRY_INTERVAL: Duration = Duration::from_millis(50);

/// How many more tries a refused `open` makes when the holder's details are unreadable: the
/// holder may be between taking the lock and writing them, or may just have let go.
const UNREADABLE_HOLDER_RETRIES: u32 = 10;

/// A state file on disk and the options for opening it.
///
/// ```no_run
/// use std::time::Duration;
///
/// let state_file = state::StateFile::new("env.tfstate")
///     .lock_timeout(Duration::from_secs(5))
///     .writer_version(env!("CARGO_PKG_VERSION"));
/// let locked = state_file.open("apply")?;
/// locked.update(|state| state.outputs.clear())?;
/// # Ok::<(), state::StateError>(())
/// ```
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
    lock_timeout: Duration,
    writer_version: String,
}

impl StateFile {
    /// The state file at `path`; no lock timeout; writes record this crate's version, which
    /// is the workspace's and so the engine's.
    pub fn new(path: impl Into<PathBuf>) -> StateFile {
        StateFile {
            path: path.into(),
            lock_timeout: Duration::ZERO,
            writer_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// How long `open` keeps trying while another process holds the lock; zero (the default)
    /// fails at once.
    pub fn lock_timeout(mut self, timeout: Duration) -> StateFile {
        self.lock_timeout = timeout;
        self
    }

    /// The yoyoform version recorded in the file by every write, and in a new empty state.
    pub fn writer_version(mut self, version: impl Into<String>) -> StateFile {
        self.writer_version = version.into();
        self
    }

    /// The state file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Locks the state file for the whole `operation` (e.g. `apply`) and loads it; a missing
    /// file gives an empty [`State::new`], not written until something changes.
    ///
    /// The lock is an OS advisory lock (`flock`) on `<path>.lock`, released when the returned
    /// value is dropped or the process dies, so a crash never leaves a stale lock. The holder
    /// records who it is in that file, for [`StateError::Locked`].
    pub fn open(&self, operation: &str) -> Result<LockedState, StateError> {
        let lock = self.acquire_lock(operation)?;
        // Load only once the lock is ours: what we read cannot change under us until we let go.
        let state = load(&self.path, &self.writer_version)?;
        Ok(LockedState::new(
            self.path.clone(),
            self.writer_version.clone(),
            lock,
            state,
        ))
    }

    /// The state as it is, without taking the lock, behind the same interface as a locked
    /// one, every write refused: for a plan made while someone else applies.
    pub fn open_read_only(&self) -> Result<LockedState, StateError> {
        let state = load(&self.path, &self.writer_version)?;
        Ok(LockedState::read_only(
            self.path.clone(),
            self.writer_version.clone(),
            state,
        ))
    }

    /// Reads the state without taking the lock, for inspection (`yoyoform output`). Never
    /// writes anything. A write in progress is never seen half done: writes replace the
    /// file by rename.
    pub fn read_unlocked(&self) -> Result<State, StateError> {
        load(&self.path, &self.writer_version)
    }

    fn acquire_lock(&self, operation: &str) -> Result<fd_lock::RwLock<File>, StateError> {
        let lock_path = sidecar(&self.path, ".lock");
        let lock_failed = |source: io::Error| StateError::Lock {
            path: self.path.clone(),
            lock_path: lock_path.clone(),
            source,
        };
        // Never truncate on open: the file may hold the current holder's details.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&lock_path)
            .map_err(lock_failed)?;
        let mut lock = fd_lock::RwLock::new(file);
        let deadline = Instant::now() + self.lock_timeout;
        let mut unreadable_holder_retries = UNREADABLE_HOLDER_RETRIES;
        loop {
            // `None` while another process holds the lock.
            let attempt = match lock.try_write() {
                Ok(mut guard) => {
                    let recorded = record_holder(&mut guard, &LockInfo::current(operation));
                    if recorded.is_ok() {
                        // The guard borrows `lock`, so it cannot live in `LockedState` beside
                        // it. Forgetting it keeps the flock (the guard's drop would unlock);
                        // closing the file when `LockedState` drops releases it.
                        std::mem::forget(guard);
                    }
                    Some(recorded)
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => None,
                Err(error) => Some(Err(error)),
            };
            match attempt {
                Some(Ok(())) => return Ok(lock),
                Some(Err(error)) => return Err(lock_failed(error)),
                None => {}
            }
            let now = Instant::now();
            if now < deadline {
                thread::sleep(LOCK_RETRY_INTERVAL.min(deadline - now));
                continue;
            }
            let holder = match read_holder(&lock_path) {
                Some(holder) => holder,
                None if unreadable_holder_retries > 0 => {
                    unreadable_holder_retries -= 1;
                    thread::sleep(Duration::from_millis(20));
                    continue;
                }
                None => LockInfo::unknown(),
            };
            return Err(StateError::Locked {
                path: self.path.clone(),
                holder: Box::new(holder),
            });
        }
    }
}

/// Locks the state file at `path` for `operation`; see [`StateFile::open`].
pub fn open(path: impl AsRef<Path>, operation: &str) -> Result<LockedState, StateError> {
    StateFile::new(path.as_ref()).open(operation)
}

/// Reads the state file at `path` without locking; see [`StateFile::read_unlocked`].
pub fn read_unlocked(path: impl AsRef<Path>) -> Result<State, StateError> {
    StateFile::new(path.as_ref()).read_unlocked()
}

fn record_holder(file: &mut File, holder: &LockInfo) -> io::Result<()> {
    let mut text = serde_json::to_string(holder)?;
    text.push('\n');
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(text.as_bytes())
}

fn read_holder(lock_path: &Path) -> Option<LockInfo> {
    let mut text = String::new();
    File::open(lock_path).ok()?.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// Reads and parses the state file; a missing file is a new empty state.
pub(crate) fn load(path: &Path, writer_version: &str) -> Result<State, StateError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Ok(State::new(writer_version));
        }
        Err(source) => {
            return Err(StateError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    parse(path, &bytes)
}

/// Parses a state document, checking its format version before anything else: a newer
/// format may have changed any other field, and "unknown format" is the useful message.
pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<State, StateError> {
    #[derive(Deserialize)]
    struct VersionOnly {
        version: u32,
    }
    let VersionOnly { version } =
        serde_json::from_slice(bytes).map_err(|error| corrupt(path, error))?;
    if version > FORMAT_VERSION {
        return Err(StateError::UnsupportedVersion {
            path: path.to_owned(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    serde_json::from_slice(bytes).map_err(|error| corrupt(path, error))
}

fn corrupt(path: &Path, error: serde_json::Error) -> StateError {
    // serde_json's message ends in " at line L column C"; the position has its own fields
    // and its own place in our message.
    let full = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    let message = full.strip_suffix(&position).unwrap_or(&full).to_owned();
    StateError::Corrupt {
        path: path.to_owned(),
        line: error.line(),
        column: error.column(),
        message,
        source: error,
    }
}
