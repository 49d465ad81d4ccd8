//! yoyoform's state file: what was applied, recorded as JSON, locked for the length of a
//! command and replaced crash-safely after every change.
//!
//! The crate knows no resource kind: a resource's attributes are opaque JSON.
//!
//! Files next to the state file `<path>`:
//! - `<path>.lock`: the advisory lock, holding who took it, when and for what;
//! - `<path>.tmp`: a new state being written, renamed over `<path>` once on disk;
//! - `<path>.backup`: the state before the last write.
//!
//! The state, its temporary file and its backup are mode 0600: they hold secrets.
#![deny(missing_docs)]

mod error;
mod lock_info;
mod locked_state;
mod replace_file;
mod sidecar;
mod sorted_json;
mod state;
mod state_file;

pub use error::StateError;
pub use lock_info::LockInfo;
pub use locked_state::LockedState;
pub use state::{FORMAT_VERSION, OutputState, ResourceState, State};
pub use state_file::{StateFile, open, read_unlocked};
