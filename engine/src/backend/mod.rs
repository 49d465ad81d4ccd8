//! The backend seam: where resources are made. A backend is a set of [`Driver`]s, one per
//! kind it can realise, plus what it does for a project as a whole (the sweep by label of
//! `destroy`). The core asks a backend for the driver of a kind and never looks behind it;
//! a second backend plugs in as a set of kind implementations, without touching the core.
//!
//! - [`docker::DockerBackend`]: one Docker daemon, the kinds' `on_docker` drivers.
//! - [`swarm::SwarmBackend`]: a Docker Swarm cluster, the kinds' `on_swarm` drivers.
//! - [`routing::Routing`]: the backends of one project, each change sent to its own.
//! - [`memory::MemoryBackend`]: a backend in memory, for fast tests of the core.
//!
//! What runs for an instance ([`Process`]) is its kind's driver's to say
//! ([`Driver::processes`]); its logs and a command run in it are the backend's, whatever
//! the kind ([`Backend::logs`], [`Backend::exec`]).

pub mod docker;
pub mod memory;
pub mod process;
pub mod routing;
pub mod swarm;

pub use process::Process;

use std::collections::BTreeMap;

use resources::exec::Exec;
use resources::logs::{LogStream, LogsRequest};

use crate::error::Error;
use crate::kind::Driver;

/// An object the backend holds under a name, whoever made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// What it is, as a kind's claims say it: `container`, `network`, `volume`.
    pub object: String,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its labels: whose it is.
    pub labels: BTreeMap<String, String>,
}

impl Found {
    /// The claim of its name, as a kind writes it: `network:yoyo-platform`.
    pub fn claim(&self) -> String {
        format!("{}:{}", self.object, self.name)
    }
}

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

    /// Holds the project on the backend for the length of a command that changes it, from
    /// the first time the backend is reached: another state file changing the same project
    /// at the same time is refused and told who holds it. By default there is nothing to
    /// hold.
    fn hold(&self, _project: &str, _holder: state::LockInfo) {}

    /// Lets go of the project, if this command holds it.
    async fn release(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Every object the backend holds under a name a plan may claim, whoever made it.
    async fn survey(&self) -> Result<Vec<Found>, Error>;

    /// Removes every object labelled with the project and made by the state of `lineage`,
    /// whatever the state records: the last step of `destroy`, for what an interrupted
    /// apply made and could not record. Images stay when `keep_images`.
    async fn sweep(&self, project: &str, lineage: &str, keep_images: bool) -> Result<Swept, Error>;

    /// The logs of `process` (one its driver reported). By default a backend keeps none.
    async fn logs(&self, process: &Process, _request: &LogsRequest) -> Result<LogStream, Error> {
        Err(Error::Backend(format!(
            "the {} backend keeps no logs of `{}`",
            self.name(),
            process.name()
        )))
    }

    /// Runs a command in `process`, which runs, and returns its exit status. By default a
    /// backend runs nothing.
    async fn exec(&self, process: &Process, _exec: Exec) -> Result<i64, Error> {
        Err(Error::Backend(format!(
            "the {} backend cannot run a command in `{}`",
            self.name(),
            process.name()
        )))
    }
}
