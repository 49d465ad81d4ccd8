//! Everything yoyoform does to Docker, through bollard: networks, containers (with their
//! files and health), images (built from a context, the static binary build step, the
//! Redis image, pushed to a registry), swarm services with their secrets and configs, the
//! hashes `plan` compares, and the sweep by project label.
//!
//! Functions take a [`Docker`] handle and return [`Error`]s that name the object and say
//! what Docker answered. Nothing here prints. Removing something already gone is success.
//!
//! ```no_run
//! # async fn example() -> resources::Result<()> {
//! use resources::{Docker, labels::Labels, network};
//! let docker = Docker::connect().await?;
//! let labels = Labels::new("yoyo").address("network.platform").build();
//! let id = network::create(&docker, "yoyo-platform", &labels).await?;
//! network::remove(&docker, &id).await?;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod binary;
pub mod container;
mod docker;
mod dockerignore;
mod error;
mod events;
pub mod exec;
pub mod hash;
pub mod image;
pub mod inventory;
pub mod labels;
pub mod logs;
pub mod network;
pub mod redis_image;
pub mod source;
pub mod swarm;
pub mod sweep;
pub mod timestamp;
pub mod volume;
pub mod workspace;

pub use docker::Docker;
pub use error::{Error, Result};
