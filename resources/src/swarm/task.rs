//! The tasks of a service: one per replica (its slot) or per run of a job, each becoming one
//! container on a node. Swarm keeps the last few tasks of each slot (the failed and the
//! replaced ones) next to the current one: `desired_state` tells them apart.

use std::collections::HashMap;

use bollard::query_parameters::ListTasksOptions;

use crate::docker::Docker;
use crate::error::{Result, docker as docker_error};
use crate::timestamp::Time;

/// Where a task is in its life, as swarm says (in this order, but for the last five).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskState {
    /// Just made.
    New,
    /// Given its network resources by the manager.
    Allocated,
    /// Waiting for a node that fits (its constraints, a free host port).
    Pending,
    /// Given to a node.
    Assigned,
    /// Taken by the node.
    Accepted,
    /// Being prepared: image, mounts, networks.
    Preparing,
    /// Ready to start.
    Ready,
    /// Its container is starting; with a health check, until the check first passes.
    Starting,
    /// Its container runs (and is healthy, if it has a check).
    Running,
    /// Its container exited 0 (a job's run is done).
    Complete,
    /// Stopped by swarm (replaced, scaled down, removed).
    Shutdown,
    /// Its container failed: exited non-zero, could not start, or became unhealthy.
    Failed,
    /// The node refused it (e.g. its image is not there).
    Rejected,
    /// Marked for removal.
    Remove,
    /// Its node has been gone too long to know.
    Orphaned,
}

impl TaskState {
    /// Swarm's name of the state, e.g. `running`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::New => "new",
            TaskState::Allocated => "allocated",
            TaskState::Pending => "pending",
            TaskState::Assigned => "assigned",
            TaskState::Accepted => "accepted",
            TaskState::Preparing => "preparing",
            TaskState::Ready => "ready",
            TaskState::Starting => "starting",
            TaskState::Running => "running",
            TaskState::Complete => "complete",
            TaskState::Shutdown => "shutdown",
            TaskState::Failed => "failed",
            TaskState::Rejected => "rejected",
            TaskState::Remove => "remove",
            TaskState::Orphaned => "orphaned",
        }
    }

    /// Whether the task is over: it will not run (again).
    pub fn is_final(self) -> bool {
        self >= TaskState::Complete
    }

    /// Whether the task ended in failure: its container failed, or no node took it.
    pub fn is_failure(self) -> bool {
        matches!(self, TaskState::Failed | TaskState::Rejected)
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<bollard::models::TaskState> for TaskState {
    fn from(state: bollard::models::TaskState) -> TaskState {
        use bollard::models::TaskState as Swarm;
        match state {
            Swarm::NEW => TaskState::New,
            Swarm::ALLOCATED => TaskState::Allocated,
            Swarm::PENDING => TaskState::Pending,
            Swarm::ASSIGNED => TaskState::Assigned,
            Swarm::ACCEPTED => TaskState::Accepted,
            Swarm::PREPARING => TaskState::Preparing,
            Swarm::READY => TaskState::Ready,
            Swarm::STARTING => TaskState::Starting,
            Swarm::RUNNING => TaskState::Running,
            Swarm::COMPLETE => TaskState::Complete,
            Swarm::SHUTDOWN => TaskState::Shutdown,
            Swarm::FAILED => TaskState::Failed,
            Swarm::REJECTED => TaskState::Rejected,
            Swarm::REMOVE => TaskState::Remove,
            Swarm::ORPHANED => TaskState::Orphaned,
        }
    }
}

/// One task of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Its id.
    pub id: String,
    /// The replica it is, from 1; `None` for a job's task.
    pub slot: Option<u64>,
    /// The node it was given to; `None` before that.
    pub node_id: Option<String>,
    /// What swarm wants of it: `running` for a current replica, `complete` for a job's run,
    /// `shutdown` for one replaced, scaled away or given up.
    pub desired_state: TaskState,
    /// Where it is.
    pub state: TaskState,
    /// Swarm's word on the state, e.g. `started`, `finished`.
    pub message: String,
    /// What went wrong, e.g. `task: non-zero exit (3)` or `starting container failed: ...`.
    pub error: Option<String>,
    /// Its container's exit code, once the task is over.
    pub exit_code: Option<i64>,
    /// Its container, once it has one.
    pub container_id: Option<String>,
    /// When it last changed state (for a running task: since when it runs).
    pub since: Option<Time>,
    /// The ports it publishes on its node (host mode): `(published, target, protocol)`.
    pub ports: Vec<(u16, u16, String)>,
}

impl Task {
    /// How messages name the task: `task 3` (its slot), or `task <id>` for a job's.
    pub fn label(&self) -> String {
        match self.slot {
            Some(slot) => format!("task {slot}"),
            None => format!("task {}", short(&self.id)),
        }
    }
}

/// Every task swarm keeps of a service (by name or id), current and past: by slot, and
/// oldest first within a slot (a job's, oldest first).
pub async fn list(docker: &Docker, service: &str) -> Result<Vec<Task>> {
    let mut tasks: Vec<Task> = list_raw(docker, service)
        .await?
        .into_iter()
        .map(|raw| task(&raw))
        .collect();
    tasks.sort_by_key(|task| task.slot);
    Ok(tasks)
}

/// Swarm's tasks of a service, oldest first.
pub(crate) async fn list_raw(docker: &Docker, service: &str) -> Result<Vec<bollard::models::Task>> {
    let filters = HashMap::from([("service".to_string(), vec![service.to_string()])]);
    let mut tasks = docker
        .client()
        .list_tasks(Some(ListTasksOptions {
            filters: Some(filters),
        }))
        .await
        .map_err(docker_error("listing the tasks of", "service", service))?;
    tasks.sort_by_key(created);
    Ok(tasks)
}

/// Our view of one of swarm's tasks.
pub(crate) fn task(raw: &bollard::models::Task) -> Task {
    let status = raw.status.clone().unwrap_or_default();
    let state = status.state.map_or(TaskState::New, TaskState::from);
    let container = status.container_status.unwrap_or_default();
    Task {
        id: raw.id.clone().unwrap_or_default(),
        slot: raw.slot.and_then(|slot| u64::try_from(slot).ok()),
        node_id: raw.node_id.clone().filter(|id| !id.is_empty()),
        desired_state: raw.desired_state.map_or(TaskState::New, TaskState::from),
        state,
        message: status.message.unwrap_or_default(),
        error: status.err.filter(|err| !err.is_empty()),
        // Swarm reports 0 for a container still running: only an ended one has a code.
        exit_code: container.exit_code.filter(|_| state.is_final()),
        container_id: container.container_id.filter(|id| !id.is_empty()),
        since: status.timestamp.as_deref().and_then(Time::parse),
        ports: published(status.port_status),
    }
}

/// The ports a task publishes, each once: Docker 20.10 reports a host-mode port once per
/// address family it binds.
fn published(status: Option<bollard::models::PortStatus>) -> Vec<(u16, u16, String)> {
    let mut ports: Vec<(u16, u16, String)> = status
        .and_then(|ports| ports.ports)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|port| {
            let published = u16::try_from(port.published_port?).ok()?;
            let target = u16::try_from(port.target_port?).ok()?;
            let protocol = port
                .protocol
                .map_or_else(|| "tcp".to_owned(), |protocol| protocol.to_string());
            Some((published, target, protocol))
        })
        .collect();
    ports.sort();
    ports.dedup();
    ports
}

/// When a task was made, as a key that sorts in time order.
pub(crate) fn created(task: &bollard::models::Task) -> Timestamp {
    Timestamp::parse(task.created_at.as_deref().unwrap_or(""))
}

/// A time as swarm writes it (RFC 3339 in UTC with up to nine decimals, `...:35.8098Z`),
/// ordered correctly: as text, `.8Z` would sort after `.81Z`, Go trimming trailing zeros.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS`, which sorts as text.
    seconds: String,
    /// The fraction, in nanoseconds.
    nanos: u32,
}

impl Timestamp {
    /// Reads a timestamp; one that is not understood sorts first.
    pub(crate) fn parse(text: &str) -> Timestamp {
        let text = text.trim_end_matches('Z');
        let (seconds, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits: String = fraction
            .chars()
            .take_while(char::is_ascii_digit)
            .chain(std::iter::repeat('0'))
            .take(9)
            .collect();
        Timestamp {
            seconds: seconds.to_string(),
            nanos: digits.parse().unwrap_or(0),
        }
    }
}

/// The first 12 characters of an id, as the Docker CLI shows it.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_order_by_time_not_by_text() {
        let earlier = Timestamp::parse("2026-12-02T00:05:35.8Z");
        let later = Timestamp::parse("2026-12-02T00:05:35.81Z");
        assert!(earlier < later);
        assert!(Timestamp::parse("2026-12-02T00:05:35Z") < earlier);
        assert!(
            Timestamp::parse("2026-12-02T00:05:35.999999999Z")
                < Timestamp::parse("2026-12-02T00:05:36Z")
        );
        assert_eq!(
            Timestamp::parse("2026-12-02T00:05:35.800Z"),
            Timestamp::parse("2026-12-02T00:05:35.8Z")
        );
        assert!(Timestamp::parse("") < earlier);
    }

    #[test]
    fn a_task_reads_its_exit_code_only_once_it_is_over() {
        let raw = |state, exit_code| bollard::models::Task {
            id: Some("abcdefghijklmnop".into()),
            slot: Some(2),
            desired_state: Some(bollard::models::TaskState::RUNNING),
            status: Some(bollard::models::TaskStatus {
                state: Some(state),
                err: Some(String::new()),
                container_status: Some(bollard::models::ContainerStatus {
                    container_id: Some("c1".into()),
                    exit_code: Some(exit_code),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let running = task(&raw(bollard::models::TaskState::RUNNING, 0));
        assert_eq!(running.exit_code, None);
        assert_eq!(running.error, None);
        assert_eq!(running.container_id.as_deref(), Some("c1"));
        assert_eq!(running.label(), "task 2");
        let failed = task(&raw(bollard::models::TaskState::FAILED, 3));
        assert_eq!(failed.exit_code, Some(3));
        assert!(failed.state.is_failure() && failed.state.is_final());
        let job = Task {
            slot: None,
            ..failed
        };
        assert_eq!(job.label(), "task abcdefghijkl");
    }
}
