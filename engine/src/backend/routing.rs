//! The backends of one project: the one env.toml chooses (`[project] backend`), where
//! everything new is made, and the ones the state file's records were made on, where
//! those are read and removed. A project moving from one Docker daemon to a swarm is
//! planned as the replacement of every instance (the planner says so); this is what
//! carries each half out on its own backend, one instance at a time, so that an apply
//! stopped half-way leaves a state whose every record still names where it lives.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::docker::{DockerBackend, DockerHost};
use super::swarm::{SwarmBackend, SwarmHost};
use resources::exec::Exec;
use resources::logs::{LogStream, LogsRequest};

use super::{Backend, Found, Process, Swept};
use crate::attributes::Attributes;
use crate::config::model::{Config, Target};
use crate::error::Error;
use crate::kind::{Applied, Driver, Recorded, Work};
use crate::plan::Instance;

/// Routes each change to its backend: see the [module](self).
pub struct Routing {
    /// Where new instances are made.
    target: Target,
    /// Every backend, by target; the same backend may stand for several.
    backends: BTreeMap<Target, Arc<dyn Backend>>,
    /// One router per kind, made once.
    drivers: BTreeMap<&'static str, Router>,
}

impl Routing {
    /// The backends of `config`'s project on the daemon at `address` (`--host`; `None`:
    /// `DOCKER_HOST` or the local socket): one Docker daemon, and the swarm it manages
    /// (which is only asked for when the project or a record is on swarm).
    pub fn on_daemon(config: &Config, address: Option<String>) -> Routing {
        let daemon = DockerHost::new(address);
        let swarm = SwarmHost::new(&daemon, config.registry.clone());
        let backends: BTreeMap<Target, Arc<dyn Backend>> = BTreeMap::from([
            (
                Target::Docker,
                Arc::new(DockerBackend::new(&daemon)) as Arc<dyn Backend>,
            ),
            (Target::Swarm, Arc::new(SwarmBackend::new(&swarm))),
        ]);
        Routing::new(config.target, backends)
    }

    /// New instances on `target`; records on whichever of `backends` made them.
    pub fn new(target: Target, backends: BTreeMap<Target, Arc<dyn Backend>>) -> Self {
        let kinds: Vec<&'static str> = crate::kinds::registry().names().collect();
        let drivers = kinds
            .into_iter()
            .map(|kind| {
                let router = Router {
                    kind,
                    target,
                    backends: backends.clone(),
                };
                (kind, router)
            })
            .collect();
        Routing {
            target,
            backends,
            drivers,
        }
    }

    /// The backend of `target`.
    fn of(&self, target: Target) -> Result<&Arc<dyn Backend>, Error> {
        self.backends
            .get(&target)
            .ok_or_else(|| Error::Backend(format!("there is no {target} backend here")))
    }
}

#[async_trait::async_trait]
impl Backend for Routing {
    fn name(&self) -> &'static str {
        self.target.name()
    }

    fn driver(&self, kind: &'static str) -> Result<&dyn Driver, Error> {
        // A kind must have a driver where new instances go; elsewhere only when a record
        // is there, which the router finds out when asked.
        self.of(self.target)?.driver(kind)?;
        self.drivers
            .get(kind)
            .map(|router| router as &dyn Driver)
            .ok_or_else(|| Error::Bug(format!("`{kind}` is not a registered kind")))
    }

    /// The backends share the daemon they reach (a swarm's manager is a Docker daemon),
    /// and with it the daemon's lock: env.toml's backend takes it.
    fn hold(&self, project: &str, holder: state::LockInfo) {
        if let Ok(backend) = self.of(self.target) {
            backend.hold(project, holder);
        }
    }

    async fn release(&self) -> Result<(), Error> {
        self.of(self.target)?.release().await
    }

    /// What the daemon holds, as env.toml's backend sees it (a swarm manager's view has
    /// the daemon's containers, networks and volumes too).
    async fn survey(&self) -> Result<Vec<Found>, Error> {
        self.of(self.target)?.survey().await
    }

    /// Everything labelled with the project and made by this state, on the daemon (its
    /// swarm services too, when it manages a swarm).
    async fn sweep(&self, project: &str, lineage: &str, keep_images: bool) -> Result<Swept, Error> {
        self.of(self.target)?
            .sweep(project, lineage, keep_images)
            .await
    }

    /// On the backend the process runs on.
    async fn logs(&self, process: &Process, request: &LogsRequest) -> Result<LogStream, Error> {
        self.of(process.target)?.logs(process, request).await
    }

    /// On the backend the process runs on.
    async fn exec(&self, process: &Process, exec: Exec) -> Result<i64, Error> {
        self.of(process.target)?.exec(process, exec).await
    }
}

/// One kind's drivers on every backend, each change sent to the one it concerns.
struct Router {
    kind: &'static str,
    target: Target,
    backends: BTreeMap<Target, Arc<dyn Backend>>,
}

impl Router {
    /// The kind's driver on `target`.
    fn on(&self, target: Target) -> Result<&dyn Driver, Error> {
        let backend = self
            .backends
            .get(&target)
            .ok_or_else(|| Error::Backend(format!("there is no {target} backend here")))?;
        backend.driver(self.kind)
    }

    /// Where new instances go.
    fn here(&self) -> Result<&dyn Driver, Error> {
        self.on(self.target)
    }
}

#[async_trait::async_trait]
impl Driver for Router {
    async fn read(
        &self,
        instance: &Instance,
        project: &str,
        recorded: &Recorded,
    ) -> Result<Option<Attributes>, Error> {
        self.on(recorded.target)?
            .read(instance, project, recorded)
            .await
    }

    /// What is made is made here, so it is prepared here.
    async fn prepare(&self, work: &Work<'_>, planned: &Attributes) -> Result<(), Error> {
        self.here()?.prepare(work, planned).await
    }

    async fn create(&self, work: &Work<'_>, planned: &Attributes) -> Result<Applied, Error> {
        self.here()?.create(work, planned).await
    }

    async fn check(
        &self,
        work: &Work<'_>,
        planned: &Attributes,
        replacing: Option<&Recorded>,
    ) -> Result<(), Error> {
        self.here()?.check(work, planned, replacing).await
    }

    async fn update(
        &self,
        work: &Work<'_>,
        prior: &Recorded,
        planned: &Attributes,
    ) -> Result<Applied, Error> {
        self.on(prior.target)?.update(work, prior, planned).await
    }

    /// On the same backend, its own replacement; across backends the old one goes
    /// first (it may hold the host port the new one publishes), then the new one is made.
    async fn replace(
        &self,
        work: &Work<'_>,
        prior: &Recorded,
        planned: &Attributes,
    ) -> Result<Applied, Error> {
        if prior.target == self.target {
            return self.here()?.replace(work, prior, planned).await;
        }
        self.on(prior.target)?.delete(work, prior).await?;
        self.here()?.create(work, planned).await
    }

    async fn adopt(
        &self,
        work: &Work<'_>,
        id: &str,
        planned: &Attributes,
    ) -> Result<Applied, Error> {
        self.here()?.adopt(work, id, planned).await
    }

    async fn import(
        &self,
        instance: &Instance,
        project: &str,
        id: &str,
        planned: &Attributes,
    ) -> Result<Option<Applied>, Error> {
        self.here()?.import(instance, project, id, planned).await
    }

    async fn delete(&self, work: &Work<'_>, prior: &Recorded) -> Result<(), Error> {
        self.on(prior.target)?.delete(work, prior).await
    }

    async fn processes(
        &self,
        instance: &Instance,
        recorded: &Recorded,
    ) -> Result<Vec<Process>, Error> {
        self.on(recorded.target)?
            .processes(instance, recorded)
            .await
    }
}
