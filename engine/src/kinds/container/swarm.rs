//! The swarm driver of every container kind: one swarm service per instance, made from
//! its planned attributes alone (see the tables in [`super`]). Swarm runs the tasks,
//! restarts them, spreads them over the nodes and rolls an update back when its new tasks
//! fail; the driver gives it the spec and waits until it has converged.
//!
//! What a service is made from besides its spec lives in swarm too, as objects named
//! after a digest of their content (a new content is a new object, since swarm's are
//! immutable): its secrets (`<project>-<secret>-<digest>`) and its files, as configs
//! (`<project>-<resource>-<file>-<digest>`). Each is made when a service first needs it
//! and removed when the last service that used it moves off it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use resources::Docker;
use resources::labels::{ADDRESS, PROJECT};
use resources::swarm::secret::Kind as Store;
use resources::swarm::service::{
    FileReference, Mode, RestartCondition, ServiceActual, ServiceSpec, UpdateOrder, VolumeMount,
};
use resources::swarm::task::{Task, TaskState};
use sha2::Digest;

use super::hooks::{Hooks, ensure_built, ours};
use super::{JOB_TIMEOUT, STOP_GRACE, content_bytes, health_spec, planned_files};
use crate::attributes::Attributes;
use crate::backend::Process;
use crate::backend::swarm::SwarmHost;
use crate::config::model::Target;
use crate::error::Error;
use crate::kind::{Applied, Driver, Progress, Recorded, Work, check_import_name};
use crate::kinds::secret;
use crate::plan::Instance;

/// How long a service may take to converge: every task running and healthy.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long the tasks of a removed service may take to go.
const REMOVE_TIMEOUT: Duration = Duration::from_secs(60);

/// Makes swarm services.
pub struct SwarmService {
    swarm: Arc<SwarmHost>,
    hooks: Box<dyn Hooks>,
}

impl SwarmService {
    /// The driver of a container kind with these hooks.
    pub fn new(swarm: &Arc<SwarmHost>, hooks: impl Hooks + 'static) -> Self {
        SwarmService {
            swarm: swarm.clone(),
            hooks: Box::new(hooks),
        }
    }

    /// Everything before the service is made or updated: the image where the nodes find
    /// it, the kind's own preparation (Redis's volume), the secrets and configs, the spec.
    async fn before_start(
        &self,
        work: &Work<'_>,
        planned: &Attributes,
    ) -> Result<ServiceSpec, Error> {
        self.ensure_image(work, planned).await?;
        let docker = self.swarm.docker().await?;
        self.hooks.before_create(docker, work, planned).await?;
        spec(docker, work, planned, self.hooks.runs_to_completion()).await
    }

    /// Builds the image unless the manager's daemon has it; pushes it to the registry
    /// when there is one (the planned image is the registry's reference then).
    async fn ensure_image(&self, work: &Work<'_>, planned: &Attributes) -> Result<(), Error> {
        // What yoyoform makes is planned as the registry's reference when there is one.
        let image = planned.get_text("image").unwrap_or_default();
        let local = match self.swarm.registry() {
            Some(registry) => image.strip_prefix(&format!("{registry}/")).unwrap_or(image),
            None => image,
        };
        let daemon = self.swarm.daemon();
        let built = ensure_built(self.hooks.as_ref(), daemon, work, planned, local).await?;
        let Some(mut ready) = built else {
            return Ok(());
        };
        let docker = self.swarm.docker().await?;
        if let Some(registry) = self.swarm.registry()
            && local != image
        {
            let began = Instant::now();
            (work.progress)(Progress::Step(format!("Pushing image {image}...")));
            resources::image::push(docker, local, registry).await?;
            (work.progress)(Progress::Pushed {
                image: image.to_owned(),
                took: began.elapsed(),
            });
        }
        *ready = true;
        Ok(())
    }

    /// Waits until the service runs what it was given: every task running (healthy), or
    /// for a job, its run completed. A failure names the task and what swarm said.
    async fn converge(&self, docker: &Docker, id: &str) -> Result<(), Error> {
        if self.hooks.runs_to_completion() {
            resources::swarm::converge::wait_job(docker, id, JOB_TIMEOUT).await?;
        } else {
            resources::swarm::converge::wait_converged(docker, id, CONVERGE_TIMEOUT).await?;
        }
        Ok(())
    }

    /// What was made, as swarm has it now.
    async fn applied(
        &self,
        docker: &Docker,
        work: &Work<'_>,
        planned: &Attributes,
        id: String,
    ) -> Result<Applied, Error> {
        let actual = resources::swarm::service::inspect(docker, &id)
            .await?
            .ok_or_else(|| {
                Error::Backend(format!("the service `{id}` went as soon as it was made"))
            })?;
        let mut attributes = observed(work.project, work.instance, planned, &actual);
        attributes.text("id", id.clone());
        let mut ids = vec![id];
        ids.extend(self.hooks.owned(planned));
        Ok(Applied { ids, attributes })
    }

    /// Makes the service and waits for it; one that does not converge is removed again,
    /// so that nothing half-made is left.
    async fn start(&self, work: &Work<'_>, spec: &ServiceSpec) -> Result<String, Error> {
        let docker = self.swarm.docker().await?;
        clear_leftover(docker, work, &spec.name).await?;
        let id = resources::swarm::service::create(docker, spec).await?;
        if let Err(error) = self.converge(docker, &id).await {
            let _ = remove(docker, work.project, &id).await;
            return Err(error);
        }
        Ok(id)
    }
}

#[async_trait::async_trait]
impl Driver for SwarmService {
    async fn read(
        &self,
        instance: &Instance,
        project: &str,
        recorded: &Recorded,
    ) -> Result<Option<Attributes>, Error> {
        let docker = self.swarm.docker().await?;
        let id = recorded.ids.first().map_or("", String::as_str);
        let actual = resources::swarm::service::inspect(docker, id).await?;
        Ok(actual.map(|actual| observed(project, instance, &recorded.attributes, &actual)))
    }

    /// The image, built (and pushed) while the dependencies come up.
    async fn prepare(&self, work: &Work<'_>, planned: &Attributes) -> Result<(), Error> {
        self.ensure_image(work, planned).await
    }

    async fn create(&self, work: &Work<'_>, planned: &Attributes) -> Result<Applied, Error> {
        let spec = self.before_start(work, planned).await?;
        let id = self.start(work, &spec).await?;
        let docker = self.swarm.docker().await?;
        self.applied(docker, work, planned, id).await
    }

    /// A rolling update: swarm replaces the tasks one at a time in the planned order and
    /// rolls the update back should the new ones fail; the error then says why.
    async fn update(
        &self,
        work: &Work<'_>,
        prior: &Recorded,
        planned: &Attributes,
    ) -> Result<Applied, Error> {
        let spec = self.before_start(work, planned).await?;
        let docker = self.swarm.docker().await?;
        let id = prior.ids.first().cloned().unwrap_or_default();
        let inspect = || async {
            resources::swarm::service::inspect(docker, &id)
                .await?
                .ok_or_else(|| Error::Backend(format!("the service `{id}` is gone")))
        };
        let before = inspect().await?;
        resources::swarm::service::update(docker, &id, before.version, &spec).await?;
        match self.converge(docker, &id).await {
            // Docker sometimes fails to mount a new task's secrets, and swarm rolls the
            // update back though nothing is wrong with it: it is given once more.
            Err(Error::Docker(resources::Error::ServiceFailed { message, .. }))
                if resources::swarm::converge::secrets_mount_race(&message) =>
            {
                (work.progress)(Progress::Step(format!(
                    "Docker could not mount the new task's secrets ({message}); updating again"
                )));
                let rolled_back = inspect().await?;
                resources::swarm::service::update(docker, &id, rolled_back.version, &spec).await?;
                self.converge(docker, &id).await?;
            }
            result => result?,
        }
        release_unused(docker, work.project, &before, &spec).await?;
        self.applied(docker, work, planned, id).await
    }

    async fn import(
        &self,
        instance: &Instance,
        project: &str,
        id: &str,
        planned: &Attributes,
    ) -> Result<Option<Applied>, Error> {
        let docker = self.swarm.docker().await?;
        let Some(actual) = resources::swarm::service::inspect(docker, id).await? else {
            return Ok(None);
        };
        check_import_name(instance, "service", planned, id, &actual.name)?;
        let mut attributes = observed(project, instance, planned, &actual);
        attributes.text("id", &actual.id);
        let mut ids = vec![actual.id];
        ids.extend(self.hooks.owned(planned));
        Ok(Some(Applied { ids, attributes }))
    }

    /// A service an interrupted apply made: kept when it was made from the same plan (its
    /// config hash) and converges, made anew otherwise.
    async fn adopt(
        &self,
        work: &Work<'_>,
        id: &str,
        planned: &Attributes,
    ) -> Result<Applied, Error> {
        let docker = self.swarm.docker().await?;
        let found = resources::swarm::service::inspect(docker, id).await?;
        let hash = resources::labels::CONFIG_HASH;
        if let Some(found) = &found {
            if found.labels.get(hash) == work.labels.get(hash) {
                self.converge(docker, id).await?;
                return self.applied(docker, work, planned, id.to_owned()).await;
            }
            remove(docker, work.project, id).await?;
        }
        self.create(work, planned).await
    }

    async fn delete(&self, work: &Work<'_>, prior: &Recorded) -> Result<(), Error> {
        let docker = self.swarm.docker().await?;
        if let Some(id) = prior.ids.first() {
            remove(docker, work.project, id).await?;
        }
        if !work.for_replacement {
            self.hooks.after_delete(docker, work, prior).await?;
        }
        Ok(())
    }

    /// The service's current tasks, the newest of each slot (swarm keeps the ones it
    /// replaced beside it, `shutdown`), in slot order. A task on the manager yoyoform talks
    /// to is read from its container (its name, health, start); one elsewhere as swarm
    /// reports it.
    async fn processes(
        &self,
        instance: &Instance,
        recorded: &Recorded,
    ) -> Result<Vec<Process>, Error> {
        let docker = self.swarm.docker().await?;
        let here = self.swarm.node().await?;
        let service = recorded.attributes.get_text("name").unwrap_or_default();
        let id = recorded.ids.first().map_or("", String::as_str);
        let mut current: BTreeMap<String, Task> = BTreeMap::new();
        if !id.is_empty() {
            for task in resources::swarm::task::list(docker, id).await? {
                if matches!(task.desired_state, TaskState::Running | TaskState::Complete) {
                    current.insert(task_name(&task), task);
                }
            }
        }
        if current.is_empty() {
            let mut missing = Process::missing(instance, Target::Swarm, service);
            if !id.is_empty()
                && resources::swarm::service::inspect(docker, id)
                    .await?
                    .is_some()
            {
                missing.state = "no tasks".to_owned();
            }
            return Ok(vec![missing]);
        }
        let mut processes = Vec::new();
        for (slot, task) in current {
            let local = task.node_id.as_deref() == Some(here);
            let container = match (&task.container_id, local) {
                (Some(container), true) => resources::container::inspect(docker, container).await?,
                _ => None,
            };
            let mut process = match &container {
                Some(actual) => Process::of_container(instance, Target::Swarm, actual),
                None => Process::missing(instance, Target::Swarm, &format!("{service}.{slot}")),
            };
            let running = task.state == TaskState::Running;
            process.task = Some(slot);
            process.task_id = Some(task.id.clone());
            process.container_id = task.container_id.clone();
            process.node = task.node_id.clone();
            process.state = task.state.as_str().to_owned();
            process.exit_code = task.exit_code;
            process.ports = task
                .ports
                .iter()
                .map(|(published, target, protocol)| {
                    format!("0.0.0.0:{published}->{target}/{protocol}")
                })
                .collect();
            if container.is_none() {
                process.started_at = task.since.filter(|_| running);
            }
            processes.push(process);
        }
        processes.sort_by_key(|process| {
            let slot = process
                .task
                .as_deref()
                .and_then(|slot| slot.parse::<u64>().ok());
            (slot.is_none(), slot, process.task.clone())
        });
        Ok(processes)
    }
}

/// How a task is named after its service: its slot, or for a job's task (which has none)
/// the start of its id.
fn task_name(task: &Task) -> String {
    match task.slot {
        Some(slot) => slot.to_string(),
        None => resources::swarm::task::short(&task.id).to_owned(),
    }
}

/// Removes a service, waits until its tasks are gone (what it used is free then), and
/// lets go of the secrets and configs no other service uses.
async fn remove(docker: &Docker, project: &str, id: &str) -> Result<(), Error> {
    let Some(actual) = resources::swarm::service::inspect(docker, id).await? else {
        return Ok(());
    };
    resources::swarm::service::remove_and_wait(docker, &actual.id, REMOVE_TIMEOUT).await?;
    let none = ServiceSpec::default();
    release_unused(docker, project, &actual, &none).await
}

/// A service left with this name by an interrupted apply of this project is ours to
/// remove; anyone else's is not.
async fn clear_leftover(docker: &Docker, work: &Work<'_>, name: &str) -> Result<(), Error> {
    let Some(existing) = resources::swarm::service::inspect(docker, name).await? else {
        return Ok(());
    };
    if !ours(&existing.labels, work.project) {
        return Err(Error::NotOurs {
            object: "service",
            name: name.to_owned(),
            project: work.project.to_owned(),
        });
    }
    remove(docker, work.project, &existing.id).await
}

/// Removes the project's secrets and configs `old` mounted and `new` does not, unless
/// another service still mounts them (swarm refuses then, and the last one to let go
/// removes them).
async fn release_unused(
    docker: &Docker,
    project: &str,
    old: &ServiceActual,
    new: &ServiceSpec,
) -> Result<(), Error> {
    let kept: BTreeSet<&str> = new
        .secrets
        .iter()
        .chain(&new.configs)
        .map(|file| file.name.as_str())
        .collect();
    let used = [(Store::Secret, &old.secrets), (Store::Config, &old.configs)];
    for (store, names) in used {
        for name in names.iter().filter(|name| !kept.contains(name.as_str())) {
            let Some(found) = resources::swarm::secret::inspect(docker, store, name).await? else {
                continue;
            };
            if found.labels.get(PROJECT).map(String::as_str) == Some(project) {
                resources::swarm::secret::remove(docker, store, &found.id).await?;
            }
        }
    }
    Ok(())
}

/// The service the planned attributes describe (a job's when `job`), its secrets and
/// configs made where missing.
async fn spec(
    docker: &Docker,
    work: &Work<'_>,
    planned: &Attributes,
    job: bool,
) -> Result<ServiceSpec, Error> {
    let text = |name: &str| planned.get_text(name).unwrap_or_default().to_owned();
    let image = text("image");
    let mode = match planned.get_text("replicas") {
        Some(count) => Mode::Replicated {
            replicas: count
                .parse()
                .map_err(|_| Error::Bug(format!("planned replicas `{count}` is not a number")))?,
        },
        None if job => Mode::Job,
        None => Mode::Replicated { replicas: 1 },
    };
    let alias = text("host");
    let networks = planned
        .get_list("networks")
        .unwrap_or_default()
        .iter()
        .map(|network| (network.clone(), vec![alias.clone()]))
        .collect();
    let ports = planned
        .get_list("ports")
        .unwrap_or_default()
        .iter()
        .map(|mapping| parse_port(mapping))
        .collect::<Result<Vec<_>, Error>>()?;
    let volumes = planned
        .get_map("volumes")
        .into_iter()
        .flatten()
        .map(|(target, volume)| VolumeMount {
            volume: volume.clone(),
            target: target.clone(),
            labels: work.labels.clone(),
        })
        .collect();
    let (uid, gid) = resources::image::user(docker, &image)
        .await?
        .unwrap_or((0, 0));
    let mut secrets = Vec::new();
    for (name, value) in planned.get_map("secrets").into_iter().flatten() {
        let object = secret::object_name(work.project, name, value);
        let labels = object_labels(work, &format!("secret.{name}"));
        let id = resources::swarm::secret::ensure(
            docker,
            Store::Secret,
            &object,
            value.as_bytes(),
            &labels,
        )
        .await?;
        secrets.push(FileReference {
            id,
            name: object,
            target: name.clone(),
            uid,
            gid,
            // Readable by the service's user alone.
            mode: 0o400,
        });
    }
    let mut configs = Vec::new();
    let address = work.instance.resource.to_string();
    for (target, content) in planned_files(work, planned)? {
        let object = config_name(
            work.project,
            &work.instance.resource.name,
            &target,
            &content,
        );
        let labels = object_labels(work, &address);
        let id =
            resources::swarm::secret::ensure(docker, Store::Config, &object, &content, &labels)
                .await?;
        configs.push(FileReference {
            id,
            name: object,
            target,
            uid: 0,
            gid: 0,
            mode: 0o444,
        });
    }
    let restart = match text("restart").as_str() {
        "no" => RestartCondition::None,
        "on-failure" => RestartCondition::OnFailure,
        _ => RestartCondition::Any,
    };
    let update_order = match text("update_order").as_str() {
        "start-first" => UpdateOrder::StartFirst,
        _ => UpdateOrder::StopFirst,
    };
    Ok(ServiceSpec {
        name: text("name"),
        image,
        env: planned.get_map("env").cloned().unwrap_or_default(),
        command: planned.get_list("command").map(<[String]>::to_vec),
        labels: work.labels.clone(),
        mode,
        networks,
        ports,
        volumes,
        secrets,
        configs,
        health: Some(health_spec(planned)?),
        restart,
        restart_delay: None,
        constraints: planned.get_list("placement").unwrap_or_default().to_vec(),
        update_order,
        update_monitor: None,
        stop_grace_period: Some(STOP_GRACE),
    })
}

/// The labels of a secret or config: the project and state's, and the resource it
/// stands for (a secret's is the secret's, whichever service made it first).
pub fn object_labels(work: &Work<'_>, address: &str) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = work
        .labels
        .iter()
        .filter(|(name, _)| *name != resources::labels::CONFIG_HASH)
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    labels.insert(ADDRESS.to_owned(), address.to_owned());
    labels
}

/// The name of the config holding one file of a service: its resource and the file's
/// name (as far as swarm's names allow), then a digest of the content. Swarm takes at
/// most 64 characters of `[a-zA-Z0-9-_.]`.
fn config_name(project: &str, resource: &str, target: &str, content: &[u8]) -> String {
    let digest = format!("{:x}", sha2::Sha256::digest(content));
    let file: String = target
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let head: String = format!("{project}-{resource}-{file}")
        .chars()
        .take(51)
        .collect();
    format!("{head}-{}", &digest[..12])
}

/// `0.0.0.0:HOST:CONTAINER` → `(HOST, CONTAINER)`.
fn parse_port(mapping: &str) -> Result<(u16, u16), Error> {
    let fields: Vec<&str> = mapping.split(':').collect();
    match fields.as_slice() {
        ["0.0.0.0", host, container] => match (host.parse(), container.parse()) {
            (Ok(host), Ok(container)) => Ok((host, container)),
            _ => Err(Error::Bug(format!(
                "planned port `{mapping}` is not numbers"
            ))),
        },
        _ => Err(Error::Bug(format!(
            "planned port `{mapping}` is not a swarm host-mode port"
        ))),
    }
}

/// The record with what swarm really has put in: the image, the values of the declared
/// env keys, the replica count, the networks, the secrets and files mounted. Swarm's own additions (the image's env, a
/// digest on the image) are not compared, so they never make a perpetual difference.
fn observed(
    project: &str,
    instance: &Instance,
    recorded: &Attributes,
    actual: &ServiceActual,
) -> Attributes {
    let mut attributes = recorded.clone();
    // So is a file's config, by its content: one not mounted reads as an empty file. (A
    // binary file is recorded by its digest alone, which does not name its config: it is
    // taken as mounted.)
    if let Some(files) = recorded.get_map("files") {
        let mounted = files
            .iter()
            .map(|(target, content)| {
                let mounted = content_bytes(content).is_none_or(|bytes| {
                    let object = config_name(project, &instance.resource.name, target, bytes);
                    actual.configs.contains(&object)
                });
                if mounted {
                    (target.clone(), content.clone())
                } else {
                    (target.clone(), String::new())
                }
            })
            .collect();
        attributes.map("files", mounted);
    }
    // A secret is mounted under a name made of its value: one not mounted any more (taken
    // off by hand, or swapped for another) reads as a value that differs, still sensitive.
    if let Some(secrets) = recorded.get_map("secrets") {
        let mounted = secrets
            .iter()
            .map(|(name, value)| {
                let object = secret::object_name(project, name, value);
                if actual.secrets.contains(&object) {
                    (name.clone(), value.clone())
                } else {
                    (name.clone(), String::new())
                }
            })
            .collect();
        attributes.map("secrets", mounted);
    }
    if attributes.get_text("image").is_some() {
        attributes.text("image", actual.image.clone());
    }
    if let Some(env) = recorded.get_map("env") {
        let now = env
            .keys()
            .map(|key| {
                let value = actual.env.get(key).cloned().unwrap_or_default();
                (key.clone(), value)
            })
            .collect();
        attributes.map("env", now);
    }
    if let (Some(_), Mode::Replicated { replicas }) = (recorded.get_text("replicas"), actual.mode) {
        attributes.text("replicas", replicas.to_string());
    }
    if let Some(declared) = recorded.get_list("networks") {
        let attached = |name: &String| actual.networks.contains_key(name);
        let mut networks: Vec<String> = declared.iter().filter(|n| attached(n)).cloned().collect();
        networks.extend(
            actual
                .networks
                .keys()
                .filter(|name| !declared.contains(name))
                .cloned(),
        );
        attributes.list("networks", networks);
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_are_named_after_their_file_and_content() {
        let name = config_name("yoyo", "auth-api", "/etc/yoyo/users.json", b"[]\n");
        assert!(name.starts_with("yoyo-auth-api-users.json-"), "{name}");
        assert_eq!(name.len(), "yoyo-auth-api-users.json-".len() + 12);
        assert_ne!(
            name,
            config_name("yoyo", "auth-api", "/etc/yoyo/users.json", b"[1]\n")
        );
        let long = config_name(&"p".repeat(40), &"r".repeat(40), "/a b", b"x");
        assert_eq!(long.len(), 64);
        assert!(
            long.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
    }

    #[test]
    fn ports_are_host_mode() {
        assert_eq!(parse_port("0.0.0.0:8080:5000").unwrap(), (8080, 5000));
        assert!(parse_port("127.0.0.1:8080:5000").is_err());
    }
}
