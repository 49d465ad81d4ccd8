//! The backend seam: where resources are made. A backend is a set of [`Driver`]s, one per
//! kind it can realise, plus what it does for a project as a whole (the sweep by label of
//! `destroy`). The core asks a backend for the driver of a kind and never looks behind it;
//! a second backend plugs in as a set of kind implementations, without touching the core.
//!
//! - [`docker::DockerBackend`]: one Docker daemon, the kinds' `on_docker` drivers.
//! - [`memory::MemoryBackend`]: a backend in memory, for fast tests of the core.

pub mod docker;
pub mod memory;

use crate::error::Error;
use crate::kind::Driver;

/// What a backend removed when sweeping a project.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swept {
    /// Objects that stood for instances (containers), which the state did not know.
    pub instances: usize,
    /// Everything removed, described: `container yoyo-auth-api`.
    pub objects: Vec<String>,
}

/// Where resources are made.
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// Its name, for messages.
    fn name(&self) -> &'static str;

    /// The driver of `kind` on this backend.
    fn driver(&self, kind: &'static str) -> Result<&dyn Driver, Error>;

    /// Removes every object labelled with the project, whatever the state says: the last
    /// step of `destroy`, for what an interrupted apply made and could not record. Images
    /// stay when `keep_images`.
    async fn sweep(&self, project: &str, keep_images: bool) -> Result<Swept, Error>;
}
