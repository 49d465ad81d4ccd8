//! What runs for an instance, as `ps`, `logs` and `exec` see it: on one Docker daemon the
//! instance's container; on swarm, where an instance is one service, each of its tasks.

use resources::container::{ContainerActual, HealthStatus};
use resources::timestamp::Time;

use crate::config::model::Target;
use crate::plan::Instance;

/// One container (or swarm task) of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// The instance, as the state records it: `service.web[1]`.
    pub instance: Instance,
    /// On swarm, the task: its slot (`2`, as `docker service ps` numbers them, from 1), or
    /// the start of its id for a job's task.
    pub task: Option<String>,
    /// The backend it runs on.
    pub target: Target,
    /// The container's name; for a swarm task on another node, the task's
    /// (`yoyo-web.2`).
    pub container: String,
    /// The container, when there is one (logs and exec go there).
    pub container_id: Option<String>,
    /// The swarm task.
    pub task_id: Option<String>,
    /// The swarm node it runs on.
    pub node: Option<String>,
    /// Docker's state of the container (`running`, `exited`, ...) or swarm's of the task
    /// (`running`, `starting`, `pending`, ...); `missing` when the state records it and the
    /// backend has nothing.
    pub state: String,
    /// How it ended, once it has.
    pub exit_code: Option<i64>,
    /// Its health check's verdict, when it has one and it can be read.
    pub health: Option<HealthStatus>,
    /// What it publishes: `127.0.0.1:8080->5000/tcp`.
    pub ports: Vec<String>,
    /// When it started, while it runs.
    pub started_at: Option<Time>,
}

/// The state of an instance the backend has nothing for.
pub const MISSING: &str = "missing";

impl Process {
    /// How messages and log prefixes name it: the instance, and on swarm the task:
    /// `service.web#2`.
    pub fn name(&self) -> String {
        match &self.task {
            Some(task) => format!("{}#{task}", self.instance),
            None => self.instance.to_string(),
        }
    }

    /// Whether it runs now.
    pub fn running(&self) -> bool {
        self.state == "running"
    }

    /// The container an instance has on one daemon, as Docker reports it.
    pub fn of_container(instance: &Instance, target: Target, actual: &ContainerActual) -> Self {
        let ports = actual
            .ports
            .iter()
            .map(|(host, container)| format!("127.0.0.1:{host}->{container}/tcp"))
            .collect();
        let ended = !actual.running && actual.started_at.is_some();
        Process {
            instance: instance.clone(),
            task: None,
            target,
            container: actual.name.clone(),
            container_id: Some(actual.id.clone()),
            task_id: None,
            node: None,
            state: actual.status.clone(),
            exit_code: actual.exit_code.filter(|_| ended),
            health: actual.health.filter(|_| actual.running),
            ports,
            started_at: actual.started_at.filter(|_| actual.running),
        }
    }

    /// An instance the state records and the backend has nothing for, under the name it
    /// was made with.
    pub fn missing(instance: &Instance, target: Target, name: &str) -> Self {
        Process {
            instance: instance.clone(),
            task: None,
            target,
            container: name.to_owned(),
            container_id: None,
            task_id: None,
            node: None,
            state: MISSING.to_owned(),
            exit_code: None,
            health: None,
            ports: Vec::new(),
            started_at: None,
        }
    }
}
