//! What every Yoyo platform service shares: settings read from the environment, the
//! customer token, JSON errors and request fields, serving with graceful shutdown, and the
//! `healthcheck` command that a scratch image's Docker HEALTHCHECK runs.
#![deny(missing_docs)]

pub mod fields;
pub mod health;
pub mod reply;
pub mod serve;
pub mod settings;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token;
