//! Swarm services: made from a [`ServiceSpec`], read back as a [`ServiceActual`], updated
//! as a rolling update that rolls itself back when the new tasks fail, removed.
//!
//! Whatever the spec, a service is made the one way that works on this machine (see
//! [`crate::swarm`]): endpoint mode `dnsrr` and ports published in `host` mode. Whether it
//! then runs is [`crate::swarm::converge`]'s question.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use bollard::models::{
    ContainerSummaryStateEnum, EndpointPortConfig, EndpointPortConfigProtocolEnum,
    EndpointPortConfigPublishModeEnum, EndpointSpec, EndpointSpecModeEnum, Mount, MountType,
    MountVolumeOptions, NetworkAttachmentConfig, Service, ServiceSpecMode,
    ServiceSpecModeReplicated, ServiceSpecModeReplicatedJob, ServiceSpecRollbackConfig,
    ServiceSpecRollbackConfigFailureActionEnum, ServiceSpecRollbackConfigOrderEnum,
    ServiceSpecUpdateConfig, ServiceSpecUpdateConfigFailureActionEnum,
    ServiceSpecUpdateConfigOrderEnum, ServiceUpdateStatusStateEnum, TaskSpec,
    TaskSpecContainerSpec, TaskSpecContainerSpecConfigs, TaskSpecContainerSpecFile,
    TaskSpecContainerSpecFile1, TaskSpecContainerSpecSecrets, TaskSpecPlacement,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum,
};
use bollard::query_parameters::{ListContainersOptions, ListServicesOptions, UpdateServiceOptions};

use crate::container::{self, HealthSpec, health_config};
use crate::docker::Docker;
use crate::error::{Error, Result, docker as docker_error, is_not_found};
use crate::labels;
use crate::network;

/// How long swarm watches each updated task for a failure before it counts as updated when
/// the spec does not say: swarm's own default.
pub const DEFAULT_UPDATE_MONITOR: Duration = Duration::from_secs(5);

/// Everything yoyoform declares about one swarm service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The service's name, `<project>-<name>`; Docker's DNS answers it on its networks.
    pub name: String,
    /// The image reference. Every node that runs a task must have it or pull it: beyond one
    /// node, push it to a registry first ([`crate::image::push`]).
    pub image: String,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
    /// Arguments after the image's entrypoint; `None` keeps the image's `CMD`.
    pub command: Option<Vec<String>>,
    /// Labels, put on the service and on each of its task containers (so the containers
    /// are found by label as any other, e.g. by the sweep).
    pub labels: BTreeMap<String, String>,
    /// Replicas, or a job run to completion.
    pub mode: Mode,
    /// Overlay networks to join, by name, with the task's aliases on each (besides the
    /// service's name, which swarm's DNS always answers).
    pub networks: BTreeMap<String, Vec<String>>,
    /// Published ports `(published, target)`, TCP, in host mode: bound on every address of
    /// the node that runs the task, so one task per node can hold each (and an update of a
    /// service with ports must be [`UpdateOrder::StopFirst`] on one node).
    pub ports: Vec<(u16, u16)>,
    /// Named volumes mounted in the tasks, made on each node on first use.
    pub volumes: Vec<VolumeMount>,
    /// Secrets mounted as files (see [`crate::swarm::secret`]); a relative target is under
    /// `/run/secrets/`.
    pub secrets: Vec<FileReference>,
    /// Configs mounted as files; a relative target is under `/`.
    pub configs: Vec<FileReference>,
    /// The health check; `None` keeps the image's own. Swarm keeps a task `starting` until
    /// its check first passes, and replaces one that becomes unhealthy.
    pub health: Option<HealthSpec>,
    /// When swarm starts a task again after its container ended.
    pub restart: RestartCondition,
    /// Time between such restarts; `None` is swarm's default, 5 s.
    pub restart_delay: Option<Duration>,
    /// Placement constraints, e.g. `node.role==manager`, all of which a node must meet.
    pub constraints: Vec<String>,
    /// Whether an update (and its rollback) starts each new task before or after stopping
    /// the old one. An update that fails is rolled back.
    pub update_order: UpdateOrder,
    /// How long each updated task is watched for a failure that rolls the update back;
    /// `None` is [`DEFAULT_UPDATE_MONITOR`]. An update is done only once it has passed for
    /// the last task.
    pub update_monitor: Option<Duration>,
    /// Time between SIGTERM and SIGKILL when a task is stopped; `None` is swarm's default,
    /// 10 s.
    pub stop_grace_period: Option<Duration>,
}

/// How many tasks a service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// This many replicas, kept running.
    Replicated {
        /// The replica count.
        replicas: u64,
    },
    /// A replicated job: one task run to completion (exit 0), then nothing. An update
    /// runs it again.
    Job,
}

impl Default for Mode {
    fn default() -> Mode {
        Mode::Replicated { replicas: 1 }
    }
}

/// When swarm starts a task again after its container ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RestartCondition {
    /// Never: a task that ends stays ended (a job that must run once).
    None,
    /// When it exited non-zero.
    OnFailure,
    /// Whenever it ended.
    #[default]
    Any,
}

/// The order of a rolling update's two steps for each task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UpdateOrder {
    /// The new task starts (and becomes healthy) before the old one stops: no gap.
    StartFirst,
    /// The old task stops before the new one starts: needed when both cannot be at once
    /// (a host port, a volume only one writer may use).
    #[default]
    StopFirst,
}

/// A named volume mounted in a service's tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeMount {
    /// The volume's name.
    pub volume: String,
    /// Where it is mounted, an absolute path in the container.
    pub target: String,
    /// The labels swarm gives the volume when it makes it on a node (an existing volume
    /// keeps its own).
    pub labels: BTreeMap<String, String>,
}

/// A secret or config mounted into a service's tasks as a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReference {
    /// The secret's or config's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The file: a name, or an absolute path in the container.
    pub target: String,
    /// The file's owner.
    pub uid: u32,
    /// The file's group.
    pub gid: u32,
    /// The file's mode, e.g. `0o444`.
    pub mode: u32,
}

/// A service as swarm has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceActual {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The version of its spec, which [`update`] must be given.
    pub version: u64,
    /// The image reference as given, without the `@sha256:...` digest the Docker CLI (or
    /// an older API) pins it to.
    pub image: String,
    /// The declared environment (a task's container also has the image's).
    pub env: BTreeMap<String, String>,
    /// Arguments after the entrypoint.
    pub command: Option<Vec<String>>,
    /// Replicas or job.
    pub mode: Mode,
    /// Its networks by name (by id when the network is gone), with the aliases on each.
    pub networks: BTreeMap<String, Vec<String>>,
    /// The names of the secrets it mounts.
    pub secrets: Vec<String>,
    /// The names of the configs it mounts.
    pub configs: Vec<String>,
    /// Published ports `(published, target)`, sorted.
    pub ports: Vec<(u16, u16)>,
    /// The service's labels.
    pub labels: BTreeMap<String, String>,
    /// Its placement constraints.
    pub constraints: Vec<String>,
    /// How its last rolling update went; `None` when it has had none (or its last update
    /// changed nothing the tasks run, e.g. only the replica count).
    pub update_status: Option<UpdateStatus>,
}

/// Where a service's last rolling update is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateStatus {
    /// The state.
    pub state: UpdateState,
    /// Swarm's message, e.g. `update rolled back due to failure or early termination of
    /// task ...`.
    pub message: String,
}

/// The states of a rolling update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateState {
    /// Tasks are being replaced.
    Updating,
    /// Stopped halfway by a failure (a failure action of `pause`).
    Paused,
    /// Every task runs the new spec.
    Completed,
    /// A new task failed: the old spec is being put back.
    RollbackStarted,
    /// The rollback stopped halfway by a failure.
    RollbackPaused,
    /// The old spec is back: the update failed.
    RollbackCompleted,
}

impl UpdateState {
    /// Swarm's name of the state, e.g. `rollback_completed`.
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateState::Updating => "updating",
            UpdateState::Paused => "paused",
            UpdateState::Completed => "completed",
            UpdateState::RollbackStarted => "rollback_started",
            UpdateState::RollbackPaused => "rollback_paused",
            UpdateState::RollbackCompleted => "rollback_completed",
        }
    }
}

/// Creates the service and returns its id. Its tasks start on their own: see
/// [`crate::swarm::converge::wait_converged`] (or `wait_job`).
pub async fn create(docker: &Docker, spec: &ServiceSpec) -> Result<String> {
    let response = docker
        .client()
        .create_service(service_spec(spec), None)
        .await
        .map_err(docker_error("creating", "service", &spec.name))?;
    match response.id {
        Some(id) => Ok(id),
        // The API always gives it; should it not, the name finds the service as well.
        None => Ok(inspect_raw(docker, &spec.name)
            .await?
            .and_then(|service| service.id)
            .unwrap_or_else(|| spec.name.clone())),
    }
}

/// Reads a service by name or id; `None` when it does not exist.
pub async fn inspect(docker: &Docker, id: &str) -> Result<Option<ServiceActual>> {
    match inspect_raw(docker, id).await? {
        Some(service) => Ok(Some(actual(docker, service).await?)),
        None => Ok(None),
    }
}

/// Swarm's own view of a service; `None` when it does not exist.
pub(crate) async fn inspect_raw(docker: &Docker, id: &str) -> Result<Option<Service>> {
    match docker.client().inspect_service(id, None).await {
        Ok(service) => Ok(Some(service)),
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(docker_error("inspecting", "service", id)(error)),
    }
}

/// Gives the service a new spec: swarm replaces its tasks one at a time in the spec's
/// [`UpdateOrder`], and rolls the update back when a new task fails within the monitor
/// period. `version` is [`ServiceActual::version`] as last read: Docker refuses (500,
/// "update out of sequence") an update of a spec that changed since.
///
/// The name of a service cannot change; a change of the replica count alone scales without
/// replacing any task.
pub async fn update(docker: &Docker, id: &str, version: u64, spec: &ServiceSpec) -> Result<()> {
    let options = UpdateServiceOptions {
        // The API takes an int32: a version past that would be a swarm of two billion
        // changes.
        version: i32::try_from(version).unwrap_or(i32::MAX),
        ..Default::default()
    };
    docker
        .client()
        .update_service(id, service_spec(spec), options, None)
        .await
        .map_err(docker_error("updating", "service", id))?;
    Ok(())
}

/// Removes a service; one already gone counts as removed. Swarm then stops its tasks
/// (SIGTERM, SIGKILL after the grace period) and removes their containers, after this
/// returns; a job's finished containers stay (Docker 20.10). [`remove_and_wait`] waits
/// for the first and removes the second.
pub async fn remove(docker: &Docker, id: &str) -> Result<()> {
    match docker.client().delete_service(id).await {
        Ok(()) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(error) => Err(docker_error("removing", "service", id)(error)),
    }
}

/// Removes a service and waits until its tasks have stopped here (SIGTERM, then SIGKILL
/// after their grace period), at most `timeout`; then removes the task containers left on
/// this daemon: a job's finished ones, which swarm keeps (Docker 20.10), and any still
/// running when `timeout` is up. Once it returns, nothing the service used (a network, a
/// volume, a secret, a config) is held by its tasks on this node; other nodes' tasks stop
/// in their own time. A service already gone counts as removed.
pub async fn remove_and_wait(docker: &Docker, id: &str, timeout: Duration) -> Result<()> {
    let Some(service) = inspect_raw(docker, id).await? else {
        return Ok(());
    };
    // The containers name their service by id, whatever `id` was.
    let id = service.id.unwrap_or_else(|| id.to_string());
    remove(docker, &id).await?;
    remove_task_containers(docker, &BTreeSet::from([id]), timeout).await
}

/// The label swarm puts on each task container: the id of its service.
const SERVICE_ID_LABEL: &str = "com.docker.swarm.service.id";
/// How often [`remove_task_containers`] looks.
const POLL: Duration = Duration::from_millis(250);

/// Waits (up to `timeout`) until no task container of the removed `services` (ids) runs on
/// this daemon, then removes the ones left.
pub(crate) async fn remove_task_containers(
    docker: &Docker,
    services: &BTreeSet<String>,
    timeout: Duration,
) -> Result<()> {
    if services.is_empty() {
        return Ok(());
    }
    // Every task container carries the label; its value is the service's id.
    let filters = HashMap::from([("label".to_string(), vec![SERVICE_ID_LABEL.to_string()])]);
    let began = Instant::now();
    loop {
        let containers = docker
            .client()
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters.clone()),
                ..Default::default()
            }))
            .await
            .map_err(|source| Error::Docker {
                action: "listing the task containers of",
                kind: "service",
                object: services.iter().cloned().collect::<Vec<_>>().join("`, `"),
                source,
            })?;
        let theirs: Vec<_> = containers
            .into_iter()
            .filter(|summary| {
                summary
                    .labels
                    .as_ref()
                    .and_then(|labels| labels.get(SERVICE_ID_LABEL))
                    .is_some_and(|service| services.contains(service))
            })
            .collect();
        let stopping = theirs.iter().any(|summary| {
            !matches!(
                summary.state,
                Some(
                    ContainerSummaryStateEnum::EXITED
                        | ContainerSummaryStateEnum::DEAD
                        | ContainerSummaryStateEnum::CREATED
                )
            )
        });
        if !stopping || began.elapsed() >= timeout {
            for summary in theirs {
                if let Some(id) = summary.id {
                    container::remove(docker, &id).await?;
                }
            }
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The services matching `filters` (every one without), as `(id, name, labels)`.
pub(crate) async fn list_filtered(
    docker: &Docker,
    filters: Option<HashMap<String, Vec<String>>>,
) -> Result<Vec<(String, String, BTreeMap<String, String>)>, bollard::errors::Error> {
    let services = docker
        .client()
        .list_services(Some(ListServicesOptions {
            filters,
            ..Default::default()
        }))
        .await?;
    Ok(services
        .into_iter()
        .filter_map(|service| {
            let spec = service.spec.unwrap_or_default();
            Some((
                service.id?,
                spec.name.unwrap_or_default(),
                spec.labels.unwrap_or_default().into_iter().collect(),
            ))
        })
        .collect())
}

/// The API's spec of a service.
fn service_spec(spec: &ServiceSpec) -> bollard::models::ServiceSpec {
    let labels: HashMap<String, String> = spec.labels.clone().into_iter().collect();
    // The task containers carry the labels (the sweep finds them by these) but the config
    // hash: swarm replaces every task whose template changed, and the hash changes with
    // any declared change, a replica count too, which must scale without replacing.
    let mut task_labels = labels.clone();
    task_labels.remove(labels::CONFIG_HASH);
    let nanos = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    let container = TaskSpecContainerSpec {
        image: Some(spec.image.clone()),
        labels: Some(task_labels),
        args: spec.command.clone(),
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        mounts: Some(spec.volumes.iter().map(volume_mount).collect()),
        stop_grace_period: spec.stop_grace_period.map(nanos),
        health_check: spec.health.clone().map(health_config),
        secrets: Some(
            spec.secrets
                .iter()
                .map(|file| TaskSpecContainerSpecSecrets {
                    file: Some(TaskSpecContainerSpecFile {
                        name: Some(file.target.clone()),
                        uid: Some(file.uid.to_string()),
                        gid: Some(file.gid.to_string()),
                        mode: Some(file.mode),
                    }),
                    secret_id: Some(file.id.clone()),
                    secret_name: Some(file.name.clone()),
                })
                .collect(),
        ),
        configs: Some(
            spec.configs
                .iter()
                .map(|file| TaskSpecContainerSpecConfigs {
                    file: Some(TaskSpecContainerSpecFile1 {
                        name: Some(file.target.clone()),
                        uid: Some(file.uid.to_string()),
                        gid: Some(file.gid.to_string()),
                        mode: Some(file.mode),
                    }),
                    config_id: Some(file.id.clone()),
                    config_name: Some(file.name.clone()),
                    ..Default::default()
                })
                .collect(),
        ),
        ..Default::default()
    };
    let restart_condition = match spec.restart {
        RestartCondition::None => TaskSpecRestartPolicyConditionEnum::NONE,
        RestartCondition::OnFailure => TaskSpecRestartPolicyConditionEnum::ON_FAILURE,
        RestartCondition::Any => TaskSpecRestartPolicyConditionEnum::ANY,
    };
    let task_template = TaskSpec {
        container_spec: Some(container),
        restart_policy: Some(TaskSpecRestartPolicy {
            condition: Some(restart_condition),
            delay: spec.restart_delay.map(nanos),
            ..Default::default()
        }),
        placement: Some(TaskSpecPlacement {
            constraints: Some(spec.constraints.clone()),
            ..Default::default()
        }),
        networks: Some(
            spec.networks
                .iter()
                .map(|(network, aliases)| NetworkAttachmentConfig {
                    target: Some(network.clone()),
                    aliases: Some(aliases.clone()),
                    ..Default::default()
                })
                .collect(),
        ),
        ..Default::default()
    };
    let monitor = nanos(spec.update_monitor.unwrap_or(DEFAULT_UPDATE_MONITOR));
    let (mode, update_config, rollback_config) = match spec.mode {
        Mode::Replicated { replicas } => {
            let (update_order, rollback_order) = match spec.update_order {
                UpdateOrder::StartFirst => (
                    ServiceSpecUpdateConfigOrderEnum::START_FIRST,
                    ServiceSpecRollbackConfigOrderEnum::START_FIRST,
                ),
                UpdateOrder::StopFirst => (
                    ServiceSpecUpdateConfigOrderEnum::STOP_FIRST,
                    ServiceSpecRollbackConfigOrderEnum::STOP_FIRST,
                ),
            };
            let mode = ServiceSpecMode {
                replicated: Some(ServiceSpecModeReplicated {
                    replicas: Some(i64::try_from(replicas).unwrap_or(i64::MAX)),
                }),
                ..Default::default()
            };
            // One task at a time (the API's default, 0, would replace them all at once).
            let update = ServiceSpecUpdateConfig {
                parallelism: Some(1),
                failure_action: Some(ServiceSpecUpdateConfigFailureActionEnum::ROLLBACK),
                monitor: Some(monitor),
                order: Some(update_order),
                ..Default::default()
            };
            // A rollback that fails too stops where it is: there is nothing left to go
            // back to.
            let rollback = ServiceSpecRollbackConfig {
                parallelism: Some(1),
                failure_action: Some(ServiceSpecRollbackConfigFailureActionEnum::PAUSE),
                monitor: Some(monitor),
                order: Some(rollback_order),
                ..Default::default()
            };
            (mode, Some(update), Some(rollback))
        }
        // A job has no rolling update: an update runs it again.
        Mode::Job => {
            let mode = ServiceSpecMode {
                replicated_job: Some(ServiceSpecModeReplicatedJob {
                    max_concurrent: Some(1),
                    total_completions: Some(1),
                }),
                ..Default::default()
            };
            (mode, None, None)
        }
    };
    let ports = spec
        .ports
        .iter()
        .map(|(published, target)| EndpointPortConfig {
            protocol: Some(EndpointPortConfigProtocolEnum::TCP),
            target_port: Some(i64::from(*target)),
            published_port: Some(i64::from(*published)),
            publish_mode: Some(EndpointPortConfigPublishModeEnum::HOST),
            ..Default::default()
        })
        .collect();
    bollard::models::ServiceSpec {
        name: Some(spec.name.clone()),
        labels: Some(labels),
        task_template: Some(task_template),
        mode: Some(mode),
        update_config,
        rollback_config,
        endpoint_spec: Some(EndpointSpec {
            mode: Some(EndpointSpecModeEnum::DNSRR),
            ports: Some(ports),
        }),
        ..Default::default()
    }
}

/// The API's mount of a named volume.
fn volume_mount(volume: &VolumeMount) -> Mount {
    Mount {
        target: Some(volume.target.clone()),
        source: Some(volume.volume.clone()),
        typ: Some(MountType::VOLUME),
        volume_options: Some(MountVolumeOptions {
            labels: Some(volume.labels.clone().into_iter().collect()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Turns swarm's answer into what yoyoform compares; network ids become names.
async fn actual(docker: &Docker, service: Service) -> Result<ServiceActual> {
    let spec = service.spec.unwrap_or_default();
    let task = spec.task_template.unwrap_or_default();
    let container = task.container_spec.unwrap_or_default();
    let mut networks = BTreeMap::new();
    for attachment in task.networks.unwrap_or_default() {
        let target = attachment.target.unwrap_or_default();
        // Swarm answers with the network's id; a network removed meanwhile keeps it.
        let name = match network::inspect(docker, &target).await? {
            Some(found) => found.name,
            None => target,
        };
        networks.insert(name, attachment.aliases.unwrap_or_default());
    }
    let image = container.image.unwrap_or_default();
    let image = match image.split_once('@') {
        Some((reference, _digest)) => reference.to_string(),
        None => image,
    };
    let env = container
        .env
        .unwrap_or_default()
        .into_iter()
        .map(|entry| match entry.split_once('=') {
            Some((key, value)) => (key.to_string(), value.to_string()),
            None => (entry, String::new()),
        })
        .collect();
    let mode = spec.mode.unwrap_or_default();
    let mode = match (mode.replicated, mode.replicated_job) {
        (_, Some(_)) => Mode::Job,
        (Some(replicated), None) => Mode::Replicated {
            replicas: replicated
                .replicas
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0),
        },
        // A global service (one task per node) is not one yoyoform makes; it has no count.
        (None, None) => Mode::Replicated { replicas: 0 },
    };
    let mut ports: Vec<(u16, u16)> = spec
        .endpoint_spec
        .and_then(|endpoint| endpoint.ports)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|port| {
            let published = u16::try_from(port.published_port?).ok()?;
            Some((published, u16::try_from(port.target_port?).ok()?))
        })
        .collect();
    ports.sort_unstable();
    let update_status = service.update_status.and_then(|status| {
        let state = match status.state? {
            ServiceUpdateStatusStateEnum::UPDATING => UpdateState::Updating,
            ServiceUpdateStatusStateEnum::PAUSED => UpdateState::Paused,
            ServiceUpdateStatusStateEnum::COMPLETED => UpdateState::Completed,
            ServiceUpdateStatusStateEnum::ROLLBACK_STARTED => UpdateState::RollbackStarted,
            ServiceUpdateStatusStateEnum::ROLLBACK_PAUSED => UpdateState::RollbackPaused,
            ServiceUpdateStatusStateEnum::ROLLBACK_COMPLETED => UpdateState::RollbackCompleted,
            ServiceUpdateStatusStateEnum::EMPTY => return None,
        };
        Some(UpdateStatus {
            state,
            message: status.message.unwrap_or_default(),
        })
    });
    Ok(ServiceActual {
        id: service.id.unwrap_or_default(),
        name: spec.name.unwrap_or_default(),
        version: service
            .version
            .and_then(|version| version.index)
            .unwrap_or(0),
        image,
        env,
        command: container.args,
        mode,
        networks,
        secrets: container
            .secrets
            .unwrap_or_default()
            .into_iter()
            .filter_map(|secret| secret.secret_name)
            .collect(),
        configs: container
            .configs
            .unwrap_or_default()
            .into_iter()
            .filter_map(|config| config.config_name)
            .collect(),
        ports,
        labels: spec.labels.unwrap_or_default().into_iter().collect(),
        constraints: task
            .placement
            .and_then(|placement| placement.constraints)
            .unwrap_or_default(),
        update_status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::HealthTimings;

    fn web() -> ServiceSpec {
        ServiceSpec {
            name: "p-web".into(),
            image: "p-web:1".into(),
            env: BTreeMap::from([("A".into(), "1".into())]),
            command: Some(vec!["serve".into()]),
            labels: BTreeMap::from([
                ("yoyoform.project".into(), "p".into()),
                (labels::CONFIG_HASH.into(), "h".into()),
            ]),
            networks: BTreeMap::from([("p-platform".into(), vec!["web".into()])]),
            ports: vec![(8080, 5000)],
            update_order: UpdateOrder::StartFirst,
            update_monitor: Some(Duration::from_secs(2)),
            ..Default::default()
        }
    }

    #[test]
    fn every_service_resolves_by_dns_and_publishes_in_host_mode() {
        let spec = service_spec(&web());
        let endpoint = spec.endpoint_spec.unwrap();
        assert_eq!(endpoint.mode, Some(EndpointSpecModeEnum::DNSRR));
        let port = &endpoint.ports.unwrap()[0];
        assert_eq!(
            port.publish_mode,
            Some(EndpointPortConfigPublishModeEnum::HOST)
        );
        assert_eq!(
            (port.published_port, port.target_port),
            (Some(8080), Some(5000))
        );
        assert_eq!(port.protocol, Some(EndpointPortConfigProtocolEnum::TCP));
    }

    #[test]
    fn labels_go_on_the_service_and_on_its_task_containers() {
        let spec = service_spec(&web());
        let container = spec.task_template.unwrap().container_spec.unwrap();
        let service = spec.labels.unwrap();
        let task = container.labels.unwrap();
        assert_eq!(service["yoyoform.project"], "p");
        assert_eq!(task["yoyoform.project"], "p");
        // The plan's hash only on the service: a new plan alone replaces no task.
        assert_eq!(service[labels::CONFIG_HASH], "h");
        assert!(!task.contains_key(labels::CONFIG_HASH), "{task:?}");
        assert_eq!(container.args, Some(vec!["serve".to_string()]));
        assert_eq!(container.env, Some(vec!["A=1".to_string()]));
    }

    #[test]
    fn a_replicated_service_rolls_one_task_at_a_time_and_back_on_failure() {
        let spec = service_spec(&web());
        assert_eq!(spec.mode.unwrap().replicated.unwrap().replicas, Some(1));
        let update = spec.update_config.unwrap();
        assert_eq!(update.parallelism, Some(1));
        assert_eq!(
            update.failure_action,
            Some(ServiceSpecUpdateConfigFailureActionEnum::ROLLBACK)
        );
        assert_eq!(
            update.order,
            Some(ServiceSpecUpdateConfigOrderEnum::START_FIRST)
        );
        assert_eq!(update.monitor, Some(2_000_000_000));
        let rollback = spec.rollback_config.unwrap();
        assert_eq!(
            rollback.order,
            Some(ServiceSpecRollbackConfigOrderEnum::START_FIRST)
        );
        assert_eq!(rollback.monitor, Some(2_000_000_000));
    }

    #[test]
    fn a_job_runs_once_without_an_update_config() {
        let spec = service_spec(&ServiceSpec {
            mode: Mode::Job,
            restart: RestartCondition::None,
            ..web()
        });
        let job = spec.mode.unwrap().replicated_job.unwrap();
        assert_eq!(
            (job.max_concurrent, job.total_completions),
            (Some(1), Some(1))
        );
        assert_eq!(spec.update_config, None);
        assert_eq!(spec.rollback_config, None);
        let restart = spec.task_template.unwrap().restart_policy.unwrap();
        assert_eq!(
            restart.condition,
            Some(TaskSpecRestartPolicyConditionEnum::NONE)
        );
    }

    #[test]
    fn mounts_secrets_configs_networks_and_health_are_carried_over() {
        let file = |id: &str, target: &str| FileReference {
            id: id.into(),
            name: format!("{id}-name"),
            target: target.into(),
            uid: 5,
            gid: 6,
            mode: 0o400,
        };
        let spec = service_spec(&ServiceSpec {
            volumes: vec![VolumeMount {
                volume: "p-data".into(),
                target: "/data".into(),
                labels: BTreeMap::from([("yoyoform.project".into(), "p".into())]),
            }],
            secrets: vec![file("s1", "token")],
            configs: vec![file("c1", "/etc/app.conf")],
            health: Some(HealthSpec::Command(
                vec!["/bin/check".into()],
                HealthTimings {
                    interval: Some(Duration::from_millis(500)),
                    ..Default::default()
                },
            )),
            constraints: vec!["node.role==manager".into()],
            stop_grace_period: Some(Duration::from_secs(1)),
            ..web()
        });
        let task = spec.task_template.unwrap();
        let container = task.container_spec.unwrap();
        let mount = &container.mounts.unwrap()[0];
        assert_eq!(mount.typ, Some(MountType::VOLUME));
        assert_eq!(
            (mount.source.as_deref(), mount.target.as_deref()),
            (Some("p-data"), Some("/data"))
        );
        assert_eq!(
            mount
                .volume_options
                .as_ref()
                .unwrap()
                .labels
                .as_ref()
                .unwrap()["yoyoform.project"],
            "p"
        );
        let secret = &container.secrets.unwrap()[0];
        assert_eq!(secret.secret_id.as_deref(), Some("s1"));
        let file = secret.file.as_ref().unwrap();
        assert_eq!(file.name.as_deref(), Some("token"));
        assert_eq!(
            (file.uid.as_deref(), file.gid.as_deref(), file.mode),
            (Some("5"), Some("6"), Some(0o400))
        );
        let config = &container.configs.unwrap()[0];
        assert_eq!(config.config_name.as_deref(), Some("c1-name"));
        assert_eq!(
            config.file.as_ref().unwrap().name.as_deref(),
            Some("/etc/app.conf")
        );
        let health = container.health_check.unwrap();
        assert_eq!(
            health.test,
            Some(vec!["CMD".to_string(), "/bin/check".to_string()])
        );
        assert_eq!(health.interval, Some(500_000_000));
        assert_eq!(container.stop_grace_period, Some(1_000_000_000));
        let network = &task.networks.unwrap()[0];
        assert_eq!(network.target.as_deref(), Some("p-platform"));
        assert_eq!(network.aliases, Some(vec!["web".to_string()]));
        assert_eq!(
            task.placement.unwrap().constraints,
            Some(vec!["node.role==manager".to_string()])
        );
    }
}
