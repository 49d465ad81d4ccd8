//! The state file.
