//! Everything that can go wrong with a state file.

use std::io;
use std::path::PathBuf;

use crate::lock_info::LockInfo;

/// An error reading, locking or writing a state file. Paths are shown as given, so the user
/// recognises the file they named.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The state file exists but could not be read.
    #[error("cannot read state file `{path}`: {source}", path = path.display())]
    Read {
        /// The state file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },

    /// The state file is not valid JSON, or not a state.
    #[error(
        "state file `{path}` is corrupt at line {line}, column {column}: {message}",
        path = path.display()
    )]
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong there, without the position.
        message: String,
        /// The parser's own error.
        source: serde_json::Error,
    },

    /// The state file was written by a newer yoyoform in a format this one does not know.
    #[error(
        "state file `{path}` has format version {found}, but this yoyoform reads only up to \
         version {supported}: use a newer yoyoform",
        path = path.display()
    )]
    UnsupportedVersion {
        /// The state file.
        path: PathBuf,
        /// The version found in the file.
        found: u32,
        /// The newest version this crate reads.
        supported: u32,
    },

    /// A write to a state opened to be read only, without its lock.
    #[error("state file `{path}` was opened to be read only, without its lock", path = path.display())]
    ReadOnly {
        /// The state file.
        path: PathBuf,
    },

    /// Another process holds the lock.
    #[error("state file `{path}` is locked by {holder}", path = path.display())]
    Locked {
        /// The state file.
        path: PathBuf,
        /// Who holds the lock, as that process recorded it (boxed to keep every `Result`
        /// carrying this error small).
        holder: Box<LockInfo>,
    },

    /// The lock file could not be opened, locked or written.
    #[error("cannot lock state file `{path}` through `{lock_path}`: {source}",
        path = path.display(), lock_path = lock_path.display())]
    Lock {
        /// The state file.
        path: PathBuf,
        /// The sidecar lock file.
        lock_path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },

    /// A step of the crash-safe write failed; the state file on disk is still the previous one.
    #[error("cannot write state file `{path}`: {step}: {source}", path = path.display())]
    Write {
        /// The state file.
        path: PathBuf,
        /// The step that failed, e.g. "rename `env.tfstate.tmp` over it".
        step: String,
        /// What the operating system said.
        source: io::Error,
    },

    /// The state to write could not be turned into JSON.
    #[error("cannot serialize the state for `{path}`: {source}", path = path.display())]
    Serialize {
        /// The state file.
        path: PathBuf,
        /// The serializer's error.
        source: serde_json::Error,
    },

    /// The state to write belongs to another lineage than the file: writing it would replace
    /// one environment's record with another's.
    #[error(
        "refusing to write state of lineage `{found}` to state file `{path}` of lineage \
         `{expected}`",
        path = path.display()
    )]
    LineageMismatch {
        /// The state file.
        path: PathBuf,
        /// The lineage of the state file.
        expected: String,
        /// The lineage of the state given to write.
        found: String,
    },

    /// The state to write was read before another write: writing it would lose that write.
    #[error(
        "refusing to write a stale state to `{path}`: it was read at serial {found}, but the \
         file is at serial {current} (update concurrent changes with `LockedState::update`)",
        path = path.display()
    )]
    Stale {
        /// The state file.
        path: PathBuf,
        /// The serial of the state file.
        current: u64,
        /// The serial of the state given to write.
        found: u64,
    },
}
