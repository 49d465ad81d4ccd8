//! The Docker driver of every container kind: a container made from its planned
//! attributes alone (see the table in [`super`]). What a kind adds (its own image, a data
//! volume, running to completion) comes in through its [`Hooks`].

use std::sync::Arc;
use std::time::Duration;

use resources::Docker;
use resources::container::{ContainerActual, ContainerSpec};

use super::hooks::{Hooks, ensure_built, ours};
use super::{JOB_TIMEOUT, STOP_GRACE, health_spec, planned_files};
use crate::attributes::Attributes;
use crate::backend::Process;
use crate::backend::docker::DockerHost;
use crate::config::model::Target;
use crate::error::Error;
use crate::kind::{Applied, Driver, Recorded, Work, check_import_name};
use crate::plan::Instance;

/// How long a container may take to become healthy.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(180);
/// How often a starting container that another change waits for has its health check run
/// (by yoyoform, besides Docker's own every `interval`). Measured (docs/benchmarks.md,
/// section 1): a check costs the daemon about 20 ms of CPU, an exec through containerd
/// and runc. Run here a few times while a container starts, they cost a fraction of a
/// second of CPU per apply and save most of an interval per layer of the chain; a shorter
/// `interval` would save the same but cost it for as long as the platform runs (at 250 ms,
/// seven containers keep half a core busy), so Docker's interval stays as declared.
const START_CHECK_EVERY: Duration = Duration::from_millis(100);

/// Makes containers on one Docker daemon.
pub struct DockerContainer {
    host: Arc<DockerHost>,
    hooks: Box<dyn Hooks>,
}

impl DockerContainer {
    /// The driver of a container kind with these hooks.
    pub fn new(host: &Arc<DockerHost>, hooks: impl Hooks + 'static) -> Self {
        DockerContainer {
            host: host.clone(),
            hooks: Box::new(hooks),
        }
    }

    /// Everything before the container is made: the spec, the image (ready already when
    /// apply prepared it), the kind's own preparation, its volumes checked.
    async fn before_start(
        &self,
        work: &Work<'_>,
        planned: &Attributes,
    ) -> Result<ContainerSpec, Error> {
        let spec = spec(work, planned)?;
        self.ensure_image(work, planned).await?;
        let docker = self.host.docker().await?;
        self.hooks.before_create(docker, work, planned).await?;
        for (volume, _) in &spec.volumes {
            check_volume(docker, work, volume).await?;
        }
        Ok(spec)
    }

    /// Makes the planned image unless Docker has it; replicas share one build.
    async fn ensure_image(&self, work: &Work<'_>, planned: &Attributes) -> Result<(), Error> {
        let tag = planned.get_text("image").unwrap_or_default();
        let built = ensure_built(self.hooks.as_ref(), &self.host, work, planned, tag).await?;
        if let Some(mut ready) = built {
            *ready = true;
        }
        Ok(())
    }

    /// Makes the container and waits for it: healthy, or (a job) exited 0. A container
    /// that fails is removed again, so nothing half-made is left.
    async fn start(
        &self,
        docker: &Docker,
        work: &Work<'_>,
        spec: &ContainerSpec,
        planned: &Attributes,
    ) -> Result<String, Error> {
        clear_leftover(docker, work, &spec.name).await?;
        let id = resources::container::create(docker, spec).await?;
        let waited = if self.hooks.runs_to_completion() {
            resources::container::wait_exit(docker, &id, JOB_TIMEOUT).await
        } else {
            up(docker, &id, planned, work.awaited).await
        };
        if let Err(error) = waited {
            let _ = resources::container::remove(docker, &id).await;
            return Err(error.into());
        }
        Ok(id)
    }

    /// What was made, as Docker has it now.
    async fn applied(
        &self,
        docker: &Docker,
        planned: &Attributes,
        id: String,
    ) -> Result<Applied, Error> {
        let mut attributes = planned.clone();
        attributes.text("id", id.clone());
        // A job's container has exited: there is nothing running to read back.
        if !self.hooks.runs_to_completion() {
            let actual = resources::container::inspect(docker, &id)
                .await?
                .ok_or_else(|| resources::Error::Vanished {
                    container: id.clone(),
                })?;
            attributes = observed(&attributes, &actual);
        }
        let mut ids = vec![id];
        ids.extend(self.hooks.owned(planned));
        Ok(Applied { ids, attributes })
    }
}

#[async_trait::async_trait]
impl Driver for DockerContainer {
    async fn read(
        &self,
        _instance: &Instance,
        _project: &str,
        recorded: &Recorded,
    ) -> Result<Option<Attributes>, Error> {
        if self.hooks.runs_to_completion() {
            return Ok(Some(recorded.attributes.clone()));
        }
        let docker = self.host.docker().await?;
        let id = recorded.ids.first().map_or("", String::as_str);
        let actual = resources::container::inspect(docker, id).await?;
        Ok(actual.map(|actual| observed(&recorded.attributes, &actual)))
    }

    /// The image, built or pulled while the dependencies come up.
    async fn prepare(&self, work: &Work<'_>, planned: &Attributes) -> Result<(), Error> {
        self.ensure_image(work, planned).await
    }

    async fn create(&self, work: &Work<'_>, planned: &Attributes) -> Result<Applied, Error> {
        let spec = self.before_start(work, planned).await?;
        let docker = self.host.docker().await?;
        let id = self.start(docker, work, &spec, planned).await?;
        self.applied(docker, planned, id).await
    }

    /// Each host port the container publishes must be free on 127.0.0.1, but for those
    /// the container it replaces holds: Docker would refuse it only once it starts.
    async fn check(
        &self,
        work: &Work<'_>,
        planned: &Attributes,
        replacing: Option<&Recorded>,
    ) -> Result<(), Error> {
        let held: Vec<(u16, u16)> = replacing
            .and_then(|old| old.attributes.get_list("ports"))
            .unwrap_or_default()
            .iter()
            .filter_map(|mapping| parse_port(mapping).ok())
            .collect();
        for mapping in planned.get_list("ports").unwrap_or_default() {
            let (host, _) = parse_port(mapping)?;
            if held.iter().any(|(port, _)| *port == host) {
                continue;
            }
            if let Err(error) = std::net::TcpListener::bind(("127.0.0.1", host)) {
                return Err(Error::PortTaken {
                    port: host,
                    instance: work.instance.clone(),
                    reason: error.to_string(),
                });
            }
        }
        Ok(())
    }

    async fn import(
        &self,
        instance: &Instance,
        _project: &str,
        id: &str,
        planned: &Attributes,
    ) -> Result<Option<Applied>, Error> {
        let docker = self.host.docker().await?;
        let Some(actual) = resources::container::inspect(docker, id).await? else {
            return Ok(None);
        };
        check_import_name(instance, "container", planned, id, &actual.name)?;
        let mut attributes = observed(planned, &actual);
        attributes.text("id", &actual.id);
        let mut ids = vec![actual.id];
        ids.extend(self.hooks.owned(planned));
        Ok(Some(Applied { ids, attributes }))
    }

    /// A container an interrupted apply made: kept when it was made from the same plan
    /// (its config hash) and comes up, made anew otherwise.
    async fn adopt(
        &self,
        work: &Work<'_>,
        id: &str,
        planned: &Attributes,
    ) -> Result<Applied, Error> {
        let docker = self.host.docker().await?;
        let found = resources::container::inspect(docker, id).await?;
        let hash = resources::labels::CONFIG_HASH;
        let same = found.as_ref().is_some_and(|found| {
            found.labels.get(hash) == work.labels.get(hash)
                && if self.hooks.runs_to_completion() {
                    found.status == "exited" && found.exit_code == Some(0)
                } else {
                    found.running
                }
        });
        if same {
            // Killed before it was up, or before it got its restart policy.
            if !self.hooks.runs_to_completion() {
                up(docker, id, planned, work.awaited).await?;
            }
            return self.applied(docker, planned, id.to_owned()).await;
        }
        if found.is_some() {
            resources::container::stop_and_remove(docker, id, STOP_GRACE).await?;
        }
        self.create(work, planned).await
    }

    async fn update(
        &self,
        work: &Work<'_>,
        prior: &Recorded,
        planned: &Attributes,
    ) -> Result<Applied, Error> {
        // The one change in place: starting a stopped container.
        let docker = self.host.docker().await?;
        let id = prior.ids.first().cloned().unwrap_or_default();
        resources::container::start(docker, &id).await?;
        up(docker, &id, planned, work.awaited).await?;
        self.applied(docker, planned, id).await
    }

    /// The new one first: the old one is renamed out of the way, the new one starts under
    /// the name and must be healthy, then the old one is stopped gracefully and removed.
    /// Should the new one fail, the old one gets its name back and keeps running.
    async fn replace(
        &self,
        work: &Work<'_>,
        prior: &Recorded,
        planned: &Attributes,
    ) -> Result<Applied, Error> {
        let spec = self.before_start(work, planned).await?;
        let docker = self.host.docker().await?;
        let mut old = None;
        if let Some(id) = prior.ids.first() {
            let parked = format!("{}-replaced-{}", spec.name, short(id));
            match resources::container::rename(docker, id, &parked).await {
                Ok(()) => old = Some(id.clone()),
                // Already gone: nothing to keep running meanwhile.
                Err(_) => resources::container::stop_and_remove(docker, id, STOP_GRACE).await?,
            }
        }
        match self.start(docker, work, &spec, planned).await {
            Ok(id) => {
                if let Some(old) = &old {
                    resources::container::stop_and_remove(docker, old, STOP_GRACE).await?;
                }
                self.applied(docker, planned, id).await
            }
            Err(error) => {
                if let Some(old) = &old {
                    let _ = resources::container::rename(docker, old, &spec.name).await;
                }
                Err(error)
            }
        }
    }

    /// The instance's container as Docker has it now (a job's has exited).
    async fn processes(
        &self,
        instance: &Instance,
        recorded: &Recorded,
    ) -> Result<Vec<Process>, Error> {
        let docker = self.host.docker().await?;
        let name = recorded.attributes.get_text("name").unwrap_or_default();
        let found = match recorded.ids.first() {
            Some(id) if !id.is_empty() => resources::container::inspect(docker, id).await?,
            _ => None,
        };
        let process = match found {
            Some(actual) => Process::of_container(instance, Target::Docker, &actual),
            None => Process::missing(instance, Target::Docker, name),
        };
        Ok(vec![process])
    }

    async fn delete(&self, work: &Work<'_>, prior: &Recorded) -> Result<(), Error> {
        let docker = self.host.docker().await?;
        if let Some(id) = prior.ids.first() {
            resources::container::stop_and_remove(docker, id, STOP_GRACE).await?;
        }
        if !work.for_replacement {
            self.hooks.after_delete(docker, work, prior).await?;
        }
        Ok(())
    }
}

/// Waits until a container that stays up is healthy, then gives it its planned restart
/// policy (not before: one that fails as it starts is reported, not restarted for ever).
/// When another change waits for it (`awaited`), its health check is also run here every
/// [`START_CHECK_EVERY`] until it passes, instead of waiting a whole interval for
/// Docker's first; otherwise Docker's verdict it is.
async fn up(
    docker: &Docker,
    id: &str,
    planned: &Attributes,
    awaited: bool,
) -> resources::Result<()> {
    if awaited {
        resources::container::wait_checked(docker, id, HEALTH_TIMEOUT, START_CHECK_EVERY, |_| {})
            .await?;
    } else {
        resources::container::wait_healthy(docker, id, HEALTH_TIMEOUT, |_| {}).await?;
    }
    match planned.get_text("restart").unwrap_or("no") {
        "no" => Ok(()),
        restart => resources::container::set_restart_policy(docker, id, restart).await,
    }
}

/// The record with what Docker really has put in, for the attributes Docker reports:
/// the image, the values of the declared env keys, the networks, whether it runs.
/// Docker's own additions (env of the image, its defaults) are not compared, so they
/// never make a perpetual difference.
fn observed(recorded: &Attributes, actual: &ContainerActual) -> Attributes {
    let mut attributes = recorded.clone();
    // A replacement killed half-way leaves the old one under its parked name.
    if attributes.get_text("name").is_some() {
        attributes.text("name", actual.name.clone());
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
    if let Some(declared) = recorded.get_list("networks") {
        // Declared ones in their order while attached, then any other it was put on.
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
    if attributes.get_text("running").is_some() {
        attributes.text("running", actual.running.to_string());
    }
    if attributes.get_text("restart").is_some() {
        attributes.text("restart", actual.restart_policy.clone());
    }
    attributes
}

/// The container the planned attributes describe.
fn spec(work: &Work<'_>, planned: &Attributes) -> Result<ContainerSpec, Error> {
    let text = |name: &str| planned.get_text(name).unwrap_or_default().to_owned();
    let files = planned_files(work, planned)?;
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
        .map(|(target, volume)| (volume.clone(), target.clone()))
        .collect();
    Ok(ContainerSpec {
        name: text("name"),
        image: text("image"),
        env: planned.get_map("env").cloned().unwrap_or_default(),
        files,
        ports,
        command: planned.get_list("command").map(<[String]>::to_vec),
        networks: planned.get_list("networks").unwrap_or_default().to_vec(),
        aliases: vec![text("host")],
        labels: work.labels.clone(),
        health: Some(health_spec(planned)?),
        volumes,
    })
}

/// `127.0.0.1:HOST:CONTAINER` → `(HOST, CONTAINER)`.
fn parse_port(mapping: &str) -> Result<(u16, u16), Error> {
    let fields: Vec<&str> = mapping.split(':').collect();
    match fields.as_slice() {
        ["127.0.0.1", host, container] => match (host.parse(), container.parse()) {
            (Ok(host), Ok(container)) => Ok((host, container)),
            _ => Err(Error::Bug(format!(
                "planned port `{mapping}` is not numbers"
            ))),
        },
        _ => Err(Error::Bug(format!(
            "planned port `{mapping}` is not on 127.0.0.1"
        ))),
    }
}

/// A volume the container mounts must be there, and made by yoyoform for this project:
/// Docker would otherwise make a missing one (unlabelled) or mount someone else's.
async fn check_volume(docker: &Docker, work: &Work<'_>, name: &str) -> Result<(), Error> {
    match resources::volume::inspect(docker, name).await? {
        None => Err(Error::MissingVolume {
            instance: work.instance.clone(),
            name: name.to_owned(),
        }),
        Some(volume) if ours(&volume.labels, work.project) => Ok(()),
        Some(_) => Err(Error::NotOurs {
            object: "volume",
            name: name.to_owned(),
            project: work.project.to_owned(),
        }),
    }
}

/// A container left with this name by an interrupted apply of this project is ours to
/// remove; anyone else's is not.
async fn clear_leftover(docker: &Docker, work: &Work<'_>, name: &str) -> Result<(), Error> {
    let Some(existing) = resources::container::inspect(docker, name).await? else {
        return Ok(());
    };
    if !ours(&existing.labels, work.project) {
        return Err(Error::NotOurs {
            object: "container",
            name: name.to_owned(),
            project: work.project.to_owned(),
        });
    }
    resources::container::stop_and_remove(docker, &existing.id, STOP_GRACE).await?;
    Ok(())
}

/// The first 12 characters of a Docker id, as `docker ps` shows it.
pub fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn actual(running: bool, networks: &[&str]) -> ContainerActual {
        ContainerActual {
            id: "c0ffee".into(),
            name: "p-api".into(),
            image: "api:2".into(),
            image_id: "sha256:1".into(),
            env: [
                ("A".to_string(), "9".to_string()),
                ("PATH".into(), "/bin".into()),
            ]
            .into(),
            labels: BTreeMap::new(),
            command: None,
            running,
            status: "running".into(),
            exit_code: Some(0),
            started_at: None,
            health: None,
            health_check: None,
            ports: vec![],
            networks: networks
                .iter()
                .map(|name| (name.to_string(), vec![]))
                .collect(),
            restart_count: 0,
            restart_policy: "no".into(),
        }
    }

    #[test]
    fn observed_puts_in_what_docker_reports_for_what_is_declared() {
        let mut recorded = Attributes::default();
        recorded.text("image", "api:1");
        recorded.map("env", [("A".to_string(), "1".to_string())].into());
        recorded.list("networks", vec!["p-a".into(), "p-b".into()]);
        recorded.text("running", "true");
        recorded.text("name", "p-api");
        let seen = observed(&recorded, &actual(false, &["p-b", "bridge"]));
        assert_eq!(seen.get_text("image"), Some("api:2"));
        // Docker's own PATH is not declared: not compared.
        assert_eq!(seen.get_map("env").unwrap().len(), 1);
        assert_eq!(seen.get_map("env").unwrap()["A"], "9");
        assert_eq!(seen.get_list("networks").unwrap(), ["p-b", "bridge"]);
        assert_eq!(seen.get_text("running"), Some("false"));
        assert_eq!(seen.get_text("name"), Some("p-api"));
        // Nothing declared about networks or running: nothing read.
        let mut bare = Attributes::default();
        bare.text("image", "api:2");
        assert_eq!(observed(&bare, &actual(true, &["bridge"])), bare);
    }

    #[test]
    fn planned_ports_are_on_loopback() {
        assert_eq!(parse_port("127.0.0.1:8080:5000").unwrap(), (8080, 5000));
        assert!(parse_port("0.0.0.0:8080:5000").is_err());
    }
}
