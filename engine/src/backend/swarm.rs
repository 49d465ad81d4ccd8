//! A Docker Swarm cluster, through one of its managers (the daemon `--host` or
//! `DOCKER_HOST` names): the kinds' swarm drivers. Swarm is the distributed engine; this
//! backend only tells it what to run. The manager's daemon is a Docker daemon too, so the
//! connection, the project's lock and the image builds are the Docker backend's
//! ([`DockerHost`]); the daemon must be a manager of an active swarm, checked once.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::OnceCell;

use resources::exec::Exec;
use resources::logs::{LogStream, LogsRequest};

use super::docker::{DockerHost, container_of, describe, survey};
use super::{Backend, Found, Process, Swept};
use crate::error::Error;
use crate::kind::Driver;
use crate::kinds::registry;

/// What the swarm drivers share: the manager's daemon, and where images go.
pub struct SwarmHost {
    daemon: Arc<DockerHost>,
    /// `[project] registry`: built images are pushed there, and the nodes pull them.
    registry: Option<String>,
    /// The manager, checked on first use: its node id.
    manager: OnceCell<String>,
}

impl SwarmHost {
    /// The swarm managed by `daemon`'s daemon, pushing images to `registry` if given.
    pub fn new(daemon: &Arc<DockerHost>, registry: Option<String>) -> Arc<SwarmHost> {
        Arc::new(SwarmHost {
            daemon: daemon.clone(),
            registry,
            manager: OnceCell::new(),
        })
    }

    /// The manager's daemon, as the Docker backend has it (builds, volumes).
    pub fn daemon(&self) -> &Arc<DockerHost> {
        &self.daemon
    }

    /// Where built images are pushed, if anywhere.
    pub fn registry(&self) -> Option<&str> {
        self.registry.as_deref()
    }

    /// The connection to the manager, which is checked to be one the first time.
    pub async fn docker(&self) -> Result<&resources::Docker, Error> {
        let docker = self.daemon.docker().await?;
        self.manager(docker).await?;
        Ok(docker)
    }

    /// The manager's node id: tasks there have their containers on the daemon yoyoform
    /// talks to.
    pub async fn node(&self) -> Result<&str, Error> {
        let docker = self.daemon.docker().await?;
        self.manager(docker).await.map(String::as_str)
    }

    /// The manager's node id, checked the first time.
    async fn manager(&self, docker: &resources::Docker) -> Result<&String, Error> {
        self.manager
            .get_or_try_init(|| async {
                let info = resources::swarm::info(docker).await?;
                match (info.active, info.manager, info.node_id) {
                    (true, true, Some(node)) => Ok(node),
                    (active, _, _) => Err(Error::NotASwarm {
                        host: self.daemon.address(),
                        state: if active { "a worker" } else { "not in a swarm" },
                    }),
                }
            })
            .await
    }
}

/// The swarm backend: each kind's swarm driver.
pub struct SwarmBackend {
    host: Arc<SwarmHost>,
    drivers: BTreeMap<&'static str, Box<dyn Driver>>,
}

impl SwarmBackend {
    /// The backend on `host`, with a driver for every kind that has one on swarm.
    pub fn new(host: &Arc<SwarmHost>) -> Self {
        let drivers = registry()
            .iter()
            .filter_map(|kind| Some((kind.name(), kind.on_swarm(host)?)))
            .collect();
        SwarmBackend {
            host: host.clone(),
            drivers,
        }
    }
}

#[async_trait::async_trait]
impl Backend for SwarmBackend {
    fn name(&self) -> &'static str {
        "swarm"
    }

    fn driver(&self, kind: &'static str) -> Result<&dyn Driver, Error> {
        self.drivers
            .get(kind)
            .map(|driver| driver.as_ref())
            .ok_or(Error::Unsupported {
                kind,
                backend: self.name(),
            })
    }

    fn hold(&self, project: &str, holder: state::LockInfo) {
        self.host.daemon.hold(project, holder);
    }

    async fn release(&self) -> Result<(), Error> {
        self.host.daemon.release().await
    }

    /// The manager's containers, networks and volumes, and the swarm's services.
    async fn survey(&self) -> Result<Vec<Found>, Error> {
        survey(self.host.docker().await?).await
    }

    async fn sweep(&self, project: &str, lineage: &str, keep_images: bool) -> Result<Swept, Error> {
        let docker = self.host.docker().await?;
        let removed =
            resources::sweep::remove_project(docker, project, Some(lineage), keep_images).await?;
        Ok(describe(&removed))
    }

    /// A task's logs, through the manager, wherever in the swarm the task runs.
    async fn logs(&self, process: &Process, request: &LogsRequest) -> Result<LogStream, Error> {
        let docker = self.host.docker().await?;
        match &process.task_id {
            Some(task) => Ok(resources::logs::task(docker, task, request)),
            None => Err(Error::NotRunning {
                process: process.name(),
                state: process.state.clone(),
            }),
        }
    }

    /// In the task's container, when it runs on the manager yoyoform talks to: Docker runs
    /// commands only in the containers of the daemon asked.
    async fn exec(&self, process: &Process, exec: Exec) -> Result<i64, Error> {
        let docker = self.host.docker().await?;
        let container = container_of(process)?;
        let here = self.host.node().await?;
        if let Some(node) = process.node.as_deref().filter(|node| *node != here) {
            return Err(Error::OnAnotherNode {
                process: process.name(),
                node: node.to_owned(),
                host: self.host.daemon.address(),
                container: container.to_owned(),
            });
        }
        Ok(resources::exec::run(docker, container, exec).await?)
    }
}
