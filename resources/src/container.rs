//! Containers: created from a [`ContainerSpec`] (with its files copied in before it starts),
//! read back as a [`ContainerActual`], waited on until Docker reports them healthy, renamed
//! for create-before-destroy replacement, removed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path};
use std::time::Duration;

use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum, ContainerUpdateBody,
    EndpointSettings, HealthConfig, HealthStatusEnum, HostConfig, NetworkConnectRequest,
    NetworkingConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptions, LogsOptions, RemoveContainerOptions, RenameContainerOptions,
    StopContainerOptions, UploadToContainerOptions,
};
use futures_util::StreamExt;
use tokio::time::Instant;

use crate::docker::Docker;
use crate::error::{Error, Result, docker as docker_error, is_not_found};
use crate::events::Watch;
use crate::timestamp::Time;

/// Where published ports are bound on the host: loopback only, always.
const HOST_IP: &str = "127.0.0.1";
/// How often [`wait_healthy`] reports that it is still waiting.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// How long a container without a health check must stay running to count as up: a
/// command that fails at once is then reported instead of passing as healthy.
const SETTLE: Duration = Duration::from_secs(1);
/// How many log lines an [`Error::Exited`] carries.
const LOG_TAIL_LINES: usize = 20;

/// Everything yoyoform declares about one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerSpec {
    /// The container's name, `<project>-<name>[-<i>]`.
    pub name: String,
    /// The image reference (tag or id).
    pub image: String,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
    /// Files copied in before the container starts: absolute container path to content.
    /// They are owned by root, mode 0644 (readable by the images' non-root user), and their
    /// missing parent folders are created mode 0755. The archive carries those folders as
    /// entries, so Docker may also reset a parent that exists in the image to 0755
    /// root:root: do not copy files straight into folders like `/tmp`.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Published ports, `(host, container)`, always bound to 127.0.0.1 (TCP).
    pub ports: Vec<(u16, u16)>,
    /// Arguments after the image's entrypoint; `None` keeps the image's `CMD`.
    pub command: Option<Vec<String>>,
    /// The networks to attach to, by name (the first when the container is created, the
    /// others before it starts); none leaves Docker's default bridge.
    pub networks: Vec<String>,
    /// The container's names on each of its networks (Docker's DNS answers them).
    pub aliases: Vec<String>,
    /// Labels (see [`crate::labels`]).
    pub labels: BTreeMap<String, String>,
    /// The health check; `None` keeps the image's own, untouched.
    pub health: Option<HealthSpec>,
    /// Named volumes mounted in it: `(volume name, container path)`.
    pub volumes: Vec<(String, String)>,
}

/// How the image's health check is changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthSpec {
    /// No health check at all, even if the image has one.
    Disabled,
    /// The image's check command with these timings. A `None` keeps the image's value:
    /// Docker fills empty fields (the test command included) in from the image.
    Timings(HealthTimings),
    /// This command (run without a shell: scratch images have none) with these timings,
    /// for an image without a check of its own or to replace the one it has.
    Command(Vec<String>, HealthTimings),
}

/// Timings of a health check; `None` keeps the image's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HealthTimings {
    /// Time between two checks.
    pub interval: Option<Duration>,
    /// How long one check may run.
    pub timeout: Option<Duration>,
    /// Consecutive failures that make the container unhealthy.
    pub retries: Option<u32>,
    /// Grace time after start during which failures do not count.
    pub start_period: Option<Duration>,
}

/// Docker's verdict on a container with a health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthStatus {
    /// Not yet healthy; failures do not count yet or not enough of them.
    Starting,
    /// The last check passed.
    Healthy,
    /// `retries` checks in a row failed.
    Unhealthy,
}

/// The health check a container really runs, as Docker merged it with the image's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckActual {
    /// The test, e.g. `["CMD", "/usr/bin/redis-cli", "-e", "ping"]`; `["NONE"]` when
    /// disabled.
    pub test: Vec<String>,
    /// Time between two checks (`None`: Docker's default, 30 s).
    pub interval: Option<Duration>,
    /// How long one check may run.
    pub timeout: Option<Duration>,
    /// Failures that make the container unhealthy.
    pub retries: Option<u32>,
    /// Grace time after start.
    pub start_period: Option<Duration>,
}

/// A container as Docker has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerActual {
    /// Its id.
    pub id: String,
    /// Its name (without Docker's leading `/`).
    pub name: String,
    /// The image reference it was created from, as given.
    pub image: String,
    /// The id of that image.
    pub image_id: String,
    /// Its whole environment: the image's variables (e.g. `PATH`) as well as the declared
    /// ones, so compare only the keys that are declared.
    pub env: BTreeMap<String, String>,
    /// Its labels, including those inherited from the image.
    pub labels: BTreeMap<String, String>,
    /// Arguments after the entrypoint (`Config.Cmd`).
    pub command: Option<Vec<String>>,
    /// Whether it is running.
    pub running: bool,
    /// Docker's state name: `created`, `running`, `exited`, ...
    pub status: String,
    /// The exit code of its last run (0 while running).
    pub exit_code: Option<i64>,
    /// When it last started; `None` when it never did.
    pub started_at: Option<Time>,
    /// Its health; `None` when it has no health check.
    pub health: Option<HealthStatus>,
    /// Its health check as configured.
    pub health_check: Option<HealthCheckActual>,
    /// Published ports `(host, container)` bound to 127.0.0.1, sorted.
    pub ports: Vec<(u16, u16)>,
    /// The networks it is attached to, by name, with its aliases there. Docker adds the
    /// container's short id to the aliases: compare only the declared ones.
    pub networks: BTreeMap<String, Vec<String>>,
    /// How many times Docker restarted it (its restart policy at work).
    pub restart_count: i64,
    /// Its restart policy's name (`no` when none was given).
    pub restart_policy: String,
}

/// Creates the container, copies its files in, starts it and returns its id.
///
/// If copying or starting fails, the half-made container is removed again, so a retry does
/// not trip over its name.
pub async fn create(docker: &Docker, spec: &ContainerSpec) -> Result<String> {
    let archive = files_tar(&spec.name, &spec.files)?;
    let options = CreateContainerOptions {
        name: Some(spec.name.clone()),
        ..Default::default()
    };
    let id = docker
        .client()
        .create_container(Some(options), create_body(spec))
        .await
        .map_err(docker_error("creating", "container", &spec.name))?
        .id;
    let started = async {
        for network in spec.networks.iter().skip(1) {
            let request = NetworkConnectRequest {
                container: id.clone(),
                endpoint_config: Some(EndpointSettings {
                    aliases: Some(spec.aliases.clone()),
                    ..Default::default()
                }),
            };
            docker
                .client()
                .connect_network(network, request)
                .await
                .map_err(docker_error(
                    "connecting to network",
                    "container",
                    &spec.name,
                ))?;
        }
        if let Some(archive) = archive {
            let options = UploadToContainerOptions {
                path: "/".to_string(),
                ..Default::default()
            };
            docker
                .client()
                .upload_to_container(&id, Some(options), bollard::body_full(archive.into()))
                .await
                .map_err(docker_error("copying files into", "container", &spec.name))?;
        }
        docker
            .client()
            .start_container(&id, None)
            .await
            .map_err(docker_error("starting", "container", &spec.name))
    };
    if let Err(error) = started.await {
        // Best effort: the error that matters is the one above.
        let _ = remove(docker, &id).await;
        return Err(error);
    }
    Ok(id)
}

/// The create request for a spec.
fn create_body(spec: &ContainerSpec) -> ContainerCreateBody {
    let env = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let port_bindings: HashMap<String, Option<Vec<PortBinding>>> = spec
        .ports
        .iter()
        .map(|(host, container)| {
            let binding = PortBinding {
                host_ip: Some(HOST_IP.to_string()),
                host_port: Some(host.to_string()),
            };
            (format!("{container}/tcp"), Some(vec![binding]))
        })
        .collect();
    // Docker publishes only exposed ports; the image may not expose the ones declared.
    let exposed_ports: Vec<String> = port_bindings.keys().cloned().collect();
    // Docker before API 1.44 takes one network at create; the others are connected after.
    let networking_config = spec.networks.first().map(|network| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(
            network.clone(),
            EndpointSettings {
                aliases: Some(spec.aliases.clone()),
                ..Default::default()
            },
        )])),
    });
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        env: Some(env),
        cmd: spec.command.clone(),
        labels: Some(spec.labels.clone().into_iter().collect()),
        exposed_ports: (!exposed_ports.is_empty()).then_some(exposed_ports),
        healthcheck: spec.health.clone().map(health_config),
        host_config: Some(HostConfig {
            network_mode: spec.networks.first().cloned(),
            port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
            binds: (!spec.volumes.is_empty()).then(|| {
                spec.volumes
                    .iter()
                    .map(|(volume, path)| format!("{volume}:{path}"))
                    .collect()
            }),
            ..Default::default()
        }),
        networking_config,
        ..Default::default()
    }
}

/// Docker's health config for a spec: an empty test means "the image's test". Swarm services
/// (see [`crate::swarm::service`]) take the same config.
pub(crate) fn health_config(health: HealthSpec) -> HealthConfig {
    let nanos = |d: Option<Duration>| d.map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    let (test, timings) = match health {
        HealthSpec::Disabled => {
            return HealthConfig {
                test: Some(vec!["NONE".to_string()]),
                ..Default::default()
            };
        }
        HealthSpec::Timings(timings) => (None, timings),
        HealthSpec::Command(command, timings) => {
            let test = std::iter::once("CMD".to_string()).chain(command).collect();
            (Some(test), timings)
        }
    };
    HealthConfig {
        test,
        interval: nanos(timings.interval),
        timeout: nanos(timings.timeout),
        retries: timings.retries.map(i64::from),
        start_period: nanos(timings.start_period),
        start_interval: None,
    }
}

/// Gives a container its restart policy (`no`, `on-failure`, `unless-stopped` or
/// `always`). Containers are made without one and given it once they are up: a container
/// that fails as it starts is a failure to report, not one for Docker to retry.
pub async fn set_restart_policy(docker: &Docker, id: &str, name: &str) -> Result<()> {
    let update = ContainerUpdateBody {
        restart_policy: Some(restart_policy(name)),
        ..Default::default()
    };
    docker
        .client()
        .update_container(id, update)
        .await
        .map_err(docker_error(
            "setting the restart policy of",
            "container",
            id,
        ))
}

/// Docker's restart policy of a name; `on-failure` retries without a limit.
fn restart_policy(name: &str) -> RestartPolicy {
    let name = match name {
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "always" => RestartPolicyNameEnum::ALWAYS,
        _ => RestartPolicyNameEnum::NO,
    };
    RestartPolicy {
        name: Some(name),
        maximum_retry_count: None,
    }
}

/// The tar archive of a container's files, to be extracted at `/`; `None` when there are
/// none. Entries are sorted, owned by root, with mtime 0, so equal files give equal bytes.
pub(crate) fn files_tar(
    container: &str,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<Option<Vec<u8>>> {
    if files.is_empty() {
        return Ok(None);
    }
    let invalid = |message: String| Error::InvalidSpec {
        container: container.to_string(),
        message,
    };
    let mut folders = BTreeSet::new();
    let mut entries = Vec::new();
    for (path, content) in files {
        let mut parts = Vec::new();
        let mut components = Path::new(path).components();
        let absolute = components.next() == Some(Component::RootDir);
        for component in components {
            match component {
                Component::Normal(part) if absolute => {
                    parts.push(part.to_string_lossy().into_owned())
                }
                _ => {
                    return Err(invalid(format!(
                        "file path `{path}` must be absolute, without `.` or `..`"
                    )));
                }
            }
        }
        if !absolute {
            return Err(invalid(format!("file path `{path}` must be absolute")));
        }
        if parts.is_empty() {
            return Err(invalid(format!("file path `{path}` names no file")));
        }
        for depth in 1..parts.len() {
            folders.insert(parts[..depth].join("/"));
        }
        entries.push((parts.join("/"), content));
    }
    let tar_error = |source| Error::Io {
        action: "archiving files for",
        path: container.into(),
        source,
    };
    let mut archive = tar::Builder::new(Vec::new());
    // BTreeSet order puts a folder before everything inside it.
    for folder in &folders {
        let mut header = tar_header(tar::EntryType::Directory, 0o755, 0);
        archive
            .append_data(&mut header, format!("{folder}/"), std::io::empty())
            .map_err(tar_error)?;
    }
    for (path, content) in entries {
        let mut header = tar_header(tar::EntryType::Regular, 0o644, content.len() as u64);
        archive
            .append_data(&mut header, path, content.as_slice())
            .map_err(tar_error)?;
    }
    archive.into_inner().map(Some).map_err(tar_error)
}

/// A tar header owned by root with a fixed mtime.
pub(crate) fn tar_header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header
}

/// Reads a container by id or name; `None` when it does not exist.
pub async fn inspect(docker: &Docker, id: &str) -> Result<Option<ContainerActual>> {
    match docker.client().inspect_container(id, None).await {
        Ok(response) => Ok(Some(actual(response))),
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(docker_error("inspecting", "container", id)(error)),
    }
}

/// Turns Docker's inspect answer into what yoyoform compares.
fn actual(response: ContainerInspectResponse) -> ContainerActual {
    let config = response.config.unwrap_or_default();
    let state = response.state.unwrap_or_default();
    let restart_policy = response
        .host_config
        .as_ref()
        .and_then(|host| host.restart_policy.as_ref())
        .and_then(|policy| policy.name)
        .map_or_else(|| "no".to_string(), |name| name.to_string());
    let restart_policy = if restart_policy.is_empty() {
        "no".to_string()
    } else {
        restart_policy
    };
    let env = config
        .env
        .unwrap_or_default()
        .into_iter()
        .map(|entry| match entry.split_once('=') {
            Some((key, value)) => (key.to_string(), value.to_string()),
            None => (entry, String::new()),
        })
        .collect();
    let mut ports: Vec<(u16, u16)> = response
        .host_config
        .and_then(|host| host.port_bindings)
        .unwrap_or_default()
        .into_iter()
        .flat_map(|(container_port, bindings)| {
            let container_port = container_port
                .strip_suffix("/tcp")
                .and_then(|port| port.parse::<u16>().ok());
            bindings
                .unwrap_or_default()
                .into_iter()
                .filter(|binding| binding.host_ip.as_deref() == Some(HOST_IP))
                .filter_map(move |binding| {
                    Some((binding.host_port?.parse::<u16>().ok()?, container_port?))
                })
        })
        .collect();
    ports.sort_unstable();
    let networks = response
        .network_settings
        .and_then(|settings| settings.networks)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, endpoint)| (name, endpoint.aliases.unwrap_or_default()))
        .collect();
    let duration = |nanos: Option<i64>| {
        nanos
            .filter(|n| *n > 0)
            .map(|n| Duration::from_nanos(n as u64))
    };
    let health_check = config.healthcheck.map(|check| HealthCheckActual {
        test: check.test.unwrap_or_default(),
        interval: duration(check.interval),
        timeout: duration(check.timeout),
        retries: check
            .retries
            .filter(|r| *r > 0)
            .and_then(|r| u32::try_from(r).ok()),
        start_period: duration(check.start_period),
    });
    ContainerActual {
        id: response.id.unwrap_or_default(),
        name: response
            .name
            .map(|name| name.trim_start_matches('/').to_string())
            .unwrap_or_default(),
        image: config.image.unwrap_or_default(),
        image_id: response.image.unwrap_or_default(),
        env,
        labels: config.labels.unwrap_or_default().into_iter().collect(),
        command: config.cmd,
        running: state.running.unwrap_or(false),
        status: state.status.map(|s| s.to_string()).unwrap_or_default(),
        exit_code: state.exit_code,
        started_at: state.started_at.as_deref().and_then(Time::parse),
        health: state
            .health
            .as_ref()
            .and_then(|health| health.status)
            .and_then(health_status),
        health_check,
        ports,
        networks,
        restart_count: response.restart_count.unwrap_or(0),
        restart_policy,
    }
}

fn health_status(status: HealthStatusEnum) -> Option<HealthStatus> {
    match status {
        HealthStatusEnum::STARTING => Some(HealthStatus::Starting),
        HealthStatusEnum::HEALTHY => Some(HealthStatus::Healthy),
        HealthStatusEnum::UNHEALTHY => Some(HealthStatus::Unhealthy),
        HealthStatusEnum::NONE | HealthStatusEnum::EMPTY => None,
    }
}

/// Starts a created or stopped container; one already running is left as is.
pub async fn start(docker: &Docker, id: &str) -> Result<()> {
    docker
        .client()
        .start_container(id, None)
        .await
        .map_err(docker_error("starting", "container", id))
}

/// Renames a container, e.g. the old one of a replacement out of the way of the new one.
pub async fn rename(docker: &Docker, id: &str, new_name: &str) -> Result<()> {
    let options = RenameContainerOptions {
        name: new_name.to_string(),
    };
    docker
        .client()
        .rename_container(id, options)
        .await
        .map_err(docker_error("renaming", "container", id))
}

/// Removes a container, running or not, with its anonymous volumes; one already gone counts
/// as removed.
pub async fn remove(docker: &Docker, id: &str) -> Result<()> {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    match docker.client().remove_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(error) => Err(docker_error("removing", "container", id)(error)),
    }
}

/// Stops a container the way `docker stop` does (SIGTERM, then SIGKILL after `grace`), so
/// the requests it is serving finish, then removes it. One already gone counts as removed.
pub async fn stop_and_remove(docker: &Docker, id: &str, grace: Duration) -> Result<()> {
    let options = StopContainerOptions {
        t: Some(grace.as_secs().try_into().unwrap_or(i32::MAX)),
        ..Default::default()
    };
    match docker.client().stop_container(id, Some(options)).await {
        // 304: it was not running; either way it is stopped now.
        Ok(()) => {}
        Err(error) if is_not_found(&error) => return Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        }) => {}
        Err(error) => return Err(docker_error("stopping", "container", id)(error)),
    }
    remove(docker, id).await
}

/// Waits until Docker reports the container healthy, or, for a container without a health
/// check, until it has been running for a second.
///
/// Reacts to Docker's events about the container (see [`crate::events`]): it looks again
/// the moment Docker says the health status changed or the container stopped or started,
/// and calls `progress(elapsed)` every 10 s of waiting. Fails with [`Error::Unhealthy`]
/// (with the last check's output) as soon as Docker says `unhealthy`, with
/// [`Error::Exited`] (exit code and last log lines) when the container stops, with
/// [`Error::Restarting`] when its restart policy restarts it meanwhile, with
/// [`Error::HealthTimeout`] after `timeout`.
pub async fn wait_healthy(
    docker: &Docker,
    id: &str,
    timeout: Duration,
    progress: impl FnMut(Duration),
) -> Result<()> {
    let began = Instant::now();
    let waited = wait_for_health(docker, id, timeout, None, progress).await;
    tracing::debug!(id, healthy = waited.is_ok(), elapsed = ?began.elapsed(), "waited for Docker's health status");
    waited
}

/// As [`wait_healthy`], but also runs the container's health check itself every
/// `every` meanwhile, as Docker's `start_interval` does from API 1.44 on (Docker 20.10
/// has no such setting): the first check passing is enough.
///
/// Docker runs a container's first check one whole `interval` after it starts (1 s
/// here), so a chain of containers each waiting for the one before pays that interval
/// once per layer, although a server is usually ready in a tenth of it. The check run
/// here is the container's own (its test, as its user, within its timeout), so what
/// passes is what Docker would have seen pass; Docker's own status follows at its first
/// interval. A check that cannot be run this way (none, or one Docker refuses to exec)
/// leaves Docker's verdict alone to decide.
pub async fn wait_checked(
    docker: &Docker,
    id: &str,
    timeout: Duration,
    every: Duration,
    progress: impl FnMut(Duration),
) -> Result<()> {
    let began = Instant::now();
    let waited = wait_for_health(docker, id, timeout, Some(every), progress).await;
    tracing::debug!(id, healthy = waited.is_ok(), elapsed = ?began.elapsed(), "waited for the health check, running it meanwhile");
    waited
}

/// [`wait_healthy`], probing every `probe` when given: see [`wait_checked`].
async fn wait_for_health(
    docker: &Docker,
    id: &str,
    timeout: Duration,
    probe: Option<Duration>,
    mut progress: impl FnMut(Duration),
) -> Result<()> {
    let began = Instant::now();
    let deadline = began + timeout;
    let mut next_progress = began + PROGRESS_EVERY;
    let mut running_since: Option<Instant> = None;
    let mut restarts_at_start = None;
    let mut watch = None;
    // The check run here, started with the first look: it ends when the check passes
    // (`true`), or when it cannot be run (`false`, and it is not asked again).
    let mut probing = None;
    let mut probe_given_up = false;
    loop {
        let (response, name) = inspect_waited(docker, id).await?;
        let watch = watch.get_or_insert_with(|| watch_of(docker, id, &response));
        if let Some(every) = probe
            && probing.is_none()
            && !probe_given_up
        {
            let check = response
                .config
                .as_ref()
                .and_then(|config| config.healthcheck.clone());
            probing = Some(Box::pin(check_until_it_passes(docker, id, check, every)));
        }
        let state = response.state.clone().unwrap_or_default();
        let health = state.health.clone().unwrap_or_default();
        let last_output = || {
            health
                .log
                .as_ref()
                .and_then(|log| log.last())
                .map(|result| {
                    let output = result.output.as_deref().unwrap_or("").trim();
                    if output.is_empty() {
                        format!("(no output, exit code {})", result.exit_code.unwrap_or(-1))
                    } else {
                        output.to_string()
                    }
                })
                .unwrap_or_else(|| "(no check has run yet)".to_string())
        };
        // A restart policy brings a container that exited back: it failed all the same.
        let restarts = response.restart_count.unwrap_or(0);
        let restarts_before = *restarts_at_start.get_or_insert(restarts);
        if restarts > restarts_before || state.restarting == Some(true) {
            return Err(Error::Restarting {
                logs: log_tail(docker, id).await,
                container: name,
            });
        }
        if matches!(
            state.status,
            Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD)
        ) {
            return Err(Error::Exited {
                exit_code: state.exit_code.unwrap_or(-1),
                logs: log_tail(docker, id).await,
                container: name,
            });
        }
        let running = state.running.unwrap_or(false);
        // Without a health check, no event says "up": the second of running is timed here.
        let mut wake = deadline.min(next_progress);
        match health.status.and_then(health_status) {
            Some(HealthStatus::Healthy) => return Ok(()),
            Some(HealthStatus::Unhealthy) => {
                return Err(Error::Unhealthy {
                    container: name,
                    output: last_output(),
                });
            }
            Some(HealthStatus::Starting) => {}
            None if running => {
                let since = *running_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= SETTLE {
                    return Ok(());
                }
                wake = wake.min(since + SETTLE);
            }
            None => running_since = None,
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::HealthTimeout {
                container: name,
                waited: now - began,
                status: state
                    .status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "unknown".to_string()),
                output: last_output(),
            });
        }
        if now >= next_progress {
            progress(now - began);
            next_progress += PROGRESS_EVERY;
            continue;
        }
        match probing.as_mut().filter(|_| !probe_given_up) {
            Some(check) => tokio::select! {
                passed = check => {
                    if passed {
                        return Ok(());
                    }
                    probe_given_up = true;
                }
                _ = watch.next(wake) => {}
            },
            None => {
                watch.next(wake).await;
            }
        }
    }
}

/// Runs the health check `check` of the running container `id` every `every` until it
/// passes (`true`); `false` at once when it cannot be run here: no check, or one Docker
/// will not exec (the container gone, stopped).
async fn check_until_it_passes(
    docker: &Docker,
    id: &str,
    check: Option<HealthConfig>,
    every: Duration,
) -> bool {
    let Some(check) = check else {
        return false;
    };
    let test = check.test.unwrap_or_default();
    // Docker's forms: ["CMD", program, args...] or ["CMD-SHELL", "command line"].
    let command: Vec<String> = match test.split_first() {
        Some((form, rest)) if form == "CMD" && !rest.is_empty() => rest.to_vec(),
        Some((form, rest)) if form == "CMD-SHELL" => {
            vec!["/bin/sh".into(), "-c".into(), rest.join(" ")]
        }
        _ => return false,
    };
    // Docker's default timeout of one check: 30 s.
    let timeout = check
        .timeout
        .filter(|nanos| *nanos > 0)
        .map_or(Duration::from_secs(30), |nanos| {
            Duration::from_nanos(nanos.unsigned_abs())
        });
    loop {
        match tokio::time::timeout(timeout, run_check(docker, id, &command)).await {
            Ok(Ok(0)) => return true,
            // Failed, or too slow: as Docker, try again at the next turn.
            Ok(Ok(_)) | Err(_) => {}
            Ok(Err(_)) => return false,
        }
        tokio::time::sleep(every).await;
    }
}

/// Runs `command` in the container as its check would run (its user, its environment),
/// and returns its exit status; its output is read and dropped.
async fn run_check(docker: &Docker, id: &str, command: &[String]) -> Result<i64> {
    let failed = || docker_error("running the health check of", "container", id);
    let client = docker.client();
    let options = CreateExecOptions {
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        cmd: Some(command.to_vec()),
        ..Default::default()
    };
    let created = client.create_exec(id, options).await.map_err(failed())?;
    if let StartExecResults::Attached { mut output, .. } = client
        .start_exec(&created.id, None)
        .await
        .map_err(failed())?
    {
        while output.next().await.is_some() {}
    }
    let inspected = client.inspect_exec(&created.id).await.map_err(failed())?;
    Ok(inspected.exit_code.unwrap_or(-1))
}

/// Waits until a container that runs to completion (a job) has exited: `Ok` when it
/// exited 0, [`Error::Exited`] with its exit code and last log lines otherwise,
/// [`Error::StillRunning`] when it still runs after `timeout`. Reacts to Docker's events,
/// as [`wait_healthy`] does.
pub async fn wait_exit(docker: &Docker, id: &str, timeout: Duration) -> Result<()> {
    let began = Instant::now();
    let deadline = began + timeout;
    let mut watch = None;
    loop {
        let (response, name) = inspect_waited(docker, id).await?;
        let watch = watch.get_or_insert_with(|| watch_of(docker, id, &response));
        let state = response.state.unwrap_or_default();
        if matches!(
            state.status,
            Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD)
        ) {
            return match state.exit_code.unwrap_or(-1) {
                0 => Ok(()),
                exit_code => Err(Error::Exited {
                    exit_code,
                    logs: log_tail(docker, id).await,
                    container: name,
                }),
            };
        }
        if Instant::now() >= deadline {
            return Err(Error::StillRunning {
                container: name,
                waited: began.elapsed(),
            });
        }
        watch.next(deadline).await;
    }
}

/// The events of a container being waited on, from its creation on.
fn watch_of<'a>(docker: &'a Docker, id: &str, response: &ContainerInspectResponse) -> Watch<'a> {
    let created = response.created.as_deref().and_then(Time::parse);
    Watch::new(docker, id, created)
}

/// A container being waited on, with its name: one that vanished meanwhile is an error.
async fn inspect_waited(docker: &Docker, id: &str) -> Result<(ContainerInspectResponse, String)> {
    let response = match docker.client().inspect_container(id, None).await {
        Ok(response) => response,
        Err(error) if is_not_found(&error) => {
            return Err(Error::Vanished {
                container: id.to_string(),
            });
        }
        Err(error) => return Err(docker_error("inspecting", "container", id)(error)),
    };
    let name = response
        .name
        .as_deref()
        .map(|name| name.trim_start_matches('/').to_string())
        .unwrap_or_else(|| id.to_string());
    Ok((response, name))
}

/// The last lines of a container's output, for an error message; never fails (a failure
/// to read them is said in their place).
async fn log_tail(docker: &Docker, id: &str) -> String {
    let options = LogsOptions {
        stdout: true,
        stderr: true,
        tail: LOG_TAIL_LINES.to_string(),
        ..Default::default()
    };
    let mut stream = docker.client().logs(id, Some(options));
    let mut text = String::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(output) => text.push_str(&output.to_string()),
            Err(error) => {
                text.push_str(&format!("(reading the logs failed: {error})"));
                break;
            }
        }
    }
    let text = text.trim_end();
    if text.is_empty() {
        "(no output)".to_string()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(archive: &[u8]) -> Vec<(String, tar::EntryType, u32, Vec<u8>)> {
        let mut archive = tar::Archive::new(archive);
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                let mut entry = entry.unwrap();
                let mut content = Vec::new();
                std::io::Read::read_to_end(&mut entry, &mut content).unwrap();
                let header = entry.header();
                (
                    entry.path().unwrap().to_string_lossy().into_owned(),
                    header.entry_type(),
                    header.mode().unwrap(),
                    content,
                )
            })
            .collect()
    }

    #[test]
    fn files_tar_has_parent_folders_then_files_readable_by_all() {
        let files = BTreeMap::from([
            ("/etc/yoyo/users.json".to_string(), b"[]".to_vec()),
            ("/etc/yoyo/a/b.txt".to_string(), b"b".to_vec()),
            ("/top".to_string(), b"t".to_vec()),
        ]);
        let archive = files_tar("c", &files).unwrap().unwrap();
        let dir = tar::EntryType::Directory;
        let file = tar::EntryType::Regular;
        assert_eq!(
            entries(&archive),
            vec![
                ("etc/".to_string(), dir, 0o755, vec![]),
                ("etc/yoyo/".to_string(), dir, 0o755, vec![]),
                ("etc/yoyo/a/".to_string(), dir, 0o755, vec![]),
                ("etc/yoyo/a/b.txt".to_string(), file, 0o644, b"b".to_vec()),
                (
                    "etc/yoyo/users.json".to_string(),
                    file,
                    0o644,
                    b"[]".to_vec()
                ),
                ("top".to_string(), file, 0o644, b"t".to_vec()),
            ]
        );
        // Same files, same bytes: nothing depends on the time or the user building it.
        assert_eq!(files_tar("c", &files).unwrap().unwrap(), archive);
    }

    #[test]
    fn files_tar_refuses_paths_that_are_not_plain_absolute_paths() {
        // (`/etc/./x` is `/etc/x`: Path drops inner `.` components.)
        for path in ["etc/x", "/etc/../x", "/", "./x", ""] {
            let files = BTreeMap::from([(path.to_string(), b"x".to_vec())]);
            let Err(error) = files_tar("web", &files) else {
                panic!("`{path}` was accepted");
            };
            assert!(
                matches!(&error, Error::InvalidSpec { container, .. } if container == "web"),
                "{path}: {error}"
            );
        }
        assert!(files_tar("web", &BTreeMap::new()).unwrap().is_none());
    }

    #[test]
    fn create_body_binds_ports_to_loopback_and_attaches_the_network() {
        let spec = ContainerSpec {
            name: "p-web".into(),
            image: "p-web:1".into(),
            env: BTreeMap::from([("A".into(), "1".into())]),
            ports: vec![(8080, 5000)],
            networks: vec!["p-platform".into(), "p-other".into()],
            aliases: vec!["web".into()],
            ..Default::default()
        };
        let body = create_body(&spec);
        assert_eq!(body.env, Some(vec!["A=1".to_string()]));
        assert_eq!(body.exposed_ports, Some(vec!["5000/tcp".to_string()]));
        let host = body.host_config.unwrap();
        let binding = &host.port_bindings.unwrap()["5000/tcp"].clone().unwrap()[0];
        assert_eq!(binding.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(binding.host_port.as_deref(), Some("8080"));
        assert_eq!(host.network_mode.as_deref(), Some("p-platform"));
        // Given once the container is up, not at create.
        assert_eq!(host.restart_policy, None);
        let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(
            endpoints["p-platform"].aliases,
            Some(vec!["web".to_string()])
        );
    }

    #[test]
    fn health_config_keeps_the_image_test_or_disables_it() {
        let timings = HealthTimings {
            interval: Some(Duration::from_secs(1)),
            retries: Some(3),
            ..Default::default()
        };
        let config = health_config(HealthSpec::Timings(timings));
        assert_eq!(config.test, None);
        assert_eq!(config.interval, Some(1_000_000_000));
        assert_eq!(config.retries, Some(3));
        assert_eq!(config.timeout, None);
        let config = health_config(HealthSpec::Disabled);
        assert_eq!(config.test, Some(vec!["NONE".to_string()]));
        let command = vec!["/bin/check".to_string(), "--quick".to_string()];
        let config = health_config(HealthSpec::Command(command, timings));
        assert_eq!(
            config.test,
            Some(vec![
                "CMD".to_string(),
                "/bin/check".to_string(),
                "--quick".to_string()
            ])
        );
        assert_eq!(config.interval, Some(1_000_000_000));
    }
}
