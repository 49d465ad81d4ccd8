//! One Docker daemon, local or named by `--host` / `DOCKER_HOST`: the kinds' Docker
//! drivers, over one connection that is made the first time a driver needs it (a plan of
//! an empty state, or of secrets only, needs no daemon).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use resources::exec::Exec;
use resources::logs::{LogStream, LogsRequest};

use super::{Backend, Found, Process, Swept};
use crate::error::Error;
use crate::kind::Driver;
use crate::kinds::registry;

/// What the Docker drivers share (and the swarm drivers, through a manager's daemon): the
/// connection, the project's lock on the daemon, and the locks that keep builds from
/// running twice.
#[derive(Default)]
pub struct DockerHost {
    /// The daemon, as the Docker CLI names one; `None`: `DOCKER_HOST`, or the local socket.
    address: Option<String>,
    connection: OnceCell<resources::Docker>,
    /// The project to hold from the first connection on, and how this command says so.
    hold: Mutex<Option<Hold>>,
    /// One lock per image tag, so the replicas of a service build their image once; it
    /// holds whether the image is known to be ready, so that it is looked for once.
    images: Mutex<HashMap<String, Arc<tokio::sync::Mutex<bool>>>>,
    /// Builds of static binaries run one at a time: cargo would serialise them anyway (one
    /// target folder, one lock). Not one `cargo build -p a -p b ...` for them all either:
    /// measured on the platform (docs/benchmarks.md, section 1), one build of the four
    /// services unifies their dependencies' features, recompiles nine shared crates and
    /// took 64 s where the four in a row took 24 s, and the next single build then
    /// recompiles each service again.
    cargo: tokio::sync::Mutex<()>,
    /// Image builds sent to the daemon, each on a task of its own: see
    /// [`build_image`](DockerHost::build_image).
    builds: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl DockerHost {
    /// A host that has not connected yet: the daemon at `address` (`unix:///PATH`,
    /// `tcp://HOST:PORT`, `ssh://USER@HOST`), or the one `DOCKER_HOST` names.
    pub fn new(address: Option<String>) -> Arc<DockerHost> {
        Arc::new(DockerHost {
            address,
            ..DockerHost::default()
        })
    }

    /// The daemon, for messages.
    pub fn address(&self) -> String {
        self.address
            .clone()
            .or_else(|| std::env::var("DOCKER_HOST").ok())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned())
    }

    /// The connection, made on first use; the project is taken then, if asked for.
    pub async fn docker(&self) -> Result<&resources::Docker, Error> {
        self.connection
            .get_or_try_init(|| async {
                let docker = match &self.address {
                    Some(address) => resources::Docker::connect_to(address).await?,
                    None => resources::Docker::connect().await?,
                };
                let hold = self.hold.lock().expect("the project's hold").clone();
                if let Some(hold) = hold {
                    take(&docker, &hold).await?;
                }
                Ok(docker)
            })
            .await
    }

    /// Holds the image tag until dropped: whoever holds it builds or checks that image,
    /// and sets it `true` once the image is ready (then no one needs to look again).
    pub async fn image_lock(&self, tag: &str) -> tokio::sync::OwnedMutexGuard<bool> {
        let lock = self
            .images
            .lock()
            .expect("image locks")
            .entry(tag.to_owned())
            .or_default()
            .clone();
        lock.lock_owned().await
    }

    /// Holds the one cargo build until dropped.
    pub async fn cargo_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.cargo.lock().await
    }

    /// The cargo build, when no other build holds it.
    pub fn try_cargo_lock(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        self.cargo.try_lock().ok()
    }

    /// Holds `project` on the daemon from the first connection on (see [`Backend::hold`]).
    pub fn hold(&self, project: &str, holder: state::LockInfo) {
        let token: u64 = rand::random();
        *self.hold.lock().expect("the project's hold") = Some(Hold {
            project: project.to_owned(),
            holder,
            token: format!("{token:016x}-{}", std::process::id()),
        });
    }

    /// Who holds `project` on the daemon, with the hold's id; `None` when no one does.
    pub async fn holder(&self, project: &str) -> Result<Option<(String, state::LockInfo)>, Error> {
        let docker = self.docker().await?;
        let Some(found) = resources::volume::inspect(docker, &lock_name(project)).await? else {
            return Ok(None);
        };
        let token = found.labels.get(LOCK_TOKEN).cloned().unwrap_or_default();
        let holder = found
            .labels
            .get(LOCK_HOLDER)
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_else(state::LockInfo::unknown);
        Ok(Some((token, holder)))
    }

    /// Removes the hold on `project` whose id is `id` (`force-unlock`), left by a command
    /// that is gone: a hold taken since, under another id, stays.
    pub async fn force_unlock(&self, project: &str, id: &str) -> Result<(), Error> {
        let docker = self.docker().await?;
        let name = lock_name(project);
        match resources::volume::inspect(docker, &name).await? {
            Some(found) if found.labels.get(LOCK_TOKEN).map(String::as_str) == Some(id) => {
                resources::volume::remove(docker, &name).await?;
                Ok(())
            }
            _ => Err(Error::Backend(format!(
                "project `{project}` is not held under the lock id `{id}`; nothing was removed"
            ))),
        }
    }

    /// Builds the image `tag` from the folder `context` with `labels`. Once sent, the build
    /// runs to its end on a task of its own, even when the change that asked for it stops
    /// waiting (skipped after a failure, interrupted): a build cut off half-way leaves its
    /// intermediate container, labelled with the project, for Docker to remove later.
    /// [`release`](DockerHost::release) waits for every build still going.
    pub async fn build_image(
        &self,
        tag: &str,
        context: &Path,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        let docker = self.docker().await?.clone();
        let (tag, context, labels) = (tag.to_owned(), context.to_owned(), labels.clone());
        let (built, result) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let outcome = resources::image::build(&docker, &tag, &context, &labels).await;
            let _ = built.send(outcome);
        });
        self.builds.lock().expect("the builds in flight").push(task);
        let outcome = result
            .await
            .map_err(|_| Error::Bug("an image build's task ended without a result".into()))?;
        outcome?;
        Ok(())
    }

    /// Lets go of the project, if this command holds it, once every image build it sent
    /// has ended.
    pub async fn release(&self) -> Result<(), Error> {
        let builds = std::mem::take(&mut *self.builds.lock().expect("the builds in flight"));
        for build in builds {
            let _ = build.await;
        }
        let hold = self.hold.lock().expect("the project's hold").take();
        let (Some(hold), Some(docker)) = (hold, self.connection.get()) else {
            return Ok(());
        };
        let name = lock_name(&hold.project);
        if let Some(found) = resources::volume::inspect(docker, &name).await?
            && found.labels.get(LOCK_TOKEN) == Some(&hold.token)
        {
            resources::volume::remove(docker, &name).await?;
        }
        Ok(())
    }
}

/// The project held on the daemon: a volume of the project's lock name, labelled with the
/// holder. Docker makes a volume of a name once and answers the same volume to whoever
/// asks again, so the first to make it holds it, and everyone else reads who.
#[derive(Debug, Clone)]
struct Hold {
    project: String,
    holder: state::LockInfo,
    /// Tells this command's lock from another's.
    token: String,
}

/// The label naming the project a lock volume holds.
const LOCK_OF: &str = "yoyoform.lock-of";
/// The label with the holder's details (JSON).
const LOCK_HOLDER: &str = "yoyoform.lock-holder";
/// The label with the holder's token.
const LOCK_TOKEN: &str = "yoyoform.lock-token";

/// The name of a project's lock on the daemon.
pub fn lock_name(project: &str) -> String {
    format!("{project}-yoyoform-lock")
}

/// Takes the project's lock, or says who has it; one left by a process of this machine
/// that is gone is taken over.
async fn take(docker: &resources::Docker, hold: &Hold) -> Result<(), Error> {
    let name = lock_name(&hold.project);
    let holder = serde_json::to_string(&hold.holder).expect("lock details serialise");
    let labels = BTreeMap::from([
        (LOCK_OF.to_owned(), hold.project.clone()),
        (LOCK_HOLDER.to_owned(), holder),
        (LOCK_TOKEN.to_owned(), hold.token.clone()),
    ]);
    for _ in 0..2 {
        resources::volume::create(docker, &name, &labels).await?;
        let found = resources::volume::inspect(docker, &name).await?;
        let Some(found) = found else { continue };
        if found.labels.get(LOCK_TOKEN) == Some(&hold.token) {
            return Ok(());
        }
        let theirs: Option<state::LockInfo> = found
            .labels
            .get(LOCK_HOLDER)
            .and_then(|text| serde_json::from_str(text).ok());
        let Some(theirs) = theirs else {
            return Err(Error::NotOurs {
                object: "volume",
                name,
                project: hold.project.clone(),
            });
        };
        let here = state::LockInfo::current("").host;
        if theirs.host == here && !alive(theirs.pid) {
            resources::volume::remove(docker, &name).await?;
            continue;
        }
        return Err(Error::ProjectLocked {
            project: hold.project.clone(),
            holder: Box::new(theirs),
            id: found.labels.get(LOCK_TOKEN).cloned().unwrap_or_default(),
        });
    }
    Err(Error::Backend(format!(
        "the lock `{name}` changed hands while it was taken"
    )))
}

/// Whether a process of this machine is running.
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 sends nothing; it asks whether the process exists.
    let sent = unsafe { libc::kill(pid, 0) };
    sent == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The Docker backend: each kind's Docker driver.
pub struct DockerBackend {
    host: Arc<DockerHost>,
    drivers: BTreeMap<&'static str, Box<dyn Driver>>,
}

impl DockerBackend {
    /// The backend on `host`, with a driver for every kind that has one on Docker.
    pub fn new(host: &Arc<DockerHost>) -> Self {
        let drivers = registry()
            .iter()
            .filter_map(|kind| Some((kind.name(), kind.on_docker(host)?)))
            .collect();
        DockerBackend {
            host: host.clone(),
            drivers,
        }
    }
}

#[async_trait::async_trait]
impl Backend for DockerBackend {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn hold(&self, project: &str, holder: state::LockInfo) {
        self.host.hold(project, holder);
    }

    async fn release(&self) -> Result<(), Error> {
        self.host.release().await
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

    async fn survey(&self) -> Result<Vec<Found>, Error> {
        let docker = self.host.docker().await?;
        survey(docker).await
    }

    async fn sweep(&self, project: &str, lineage: &str, keep_images: bool) -> Result<Swept, Error> {
        let docker = self.host.docker().await?;
        let removed =
            resources::sweep::remove_project(docker, project, Some(lineage), keep_images).await?;
        Ok(describe(&removed))
    }

    async fn logs(&self, process: &Process, request: &LogsRequest) -> Result<LogStream, Error> {
        let docker = self.host.docker().await?;
        let id = container_of(process)?;
        Ok(resources::logs::container(docker, id, request))
    }

    async fn exec(&self, process: &Process, exec: Exec) -> Result<i64, Error> {
        let docker = self.host.docker().await?;
        let id = container_of(process)?;
        Ok(resources::exec::run(docker, id, exec).await?)
    }
}

/// The container of `process`, which it has unless the backend lost it.
pub(super) fn container_of(process: &Process) -> Result<&str, Error> {
    process
        .container_id
        .as_deref()
        .ok_or_else(|| Error::NotRunning {
            process: process.name(),
            state: process.state.clone(),
        })
}

/// Everything the daemon holds under a name (a manager's swarm objects too).
pub(super) async fn survey(docker: &resources::Docker) -> Result<Vec<Found>, Error> {
    let objects = resources::inventory::all(docker).await?;
    Ok(objects
        .into_iter()
        .map(|object| Found {
            object: object.kind.to_owned(),
            id: object.id,
            name: object.name,
            labels: object.labels,
        })
        .collect())
}

/// What a sweep removed, described: `container yoyo-auth-api`.
pub(super) fn describe(removed: &resources::sweep::Removed) -> Swept {
    let described = |what: &str, names: &[String]| -> Vec<String> {
        names.iter().map(|name| format!("{what} {name}")).collect()
    };
    let mut objects = described("service", &removed.services);
    objects.extend(described("container", &removed.containers));
    objects.extend(described("secret", &removed.secrets));
    objects.extend(described("config", &removed.configs));
    objects.extend(described("network", &removed.networks));
    objects.extend(described("volume", &removed.volumes));
    objects.extend(described("image", &removed.images));
    Swept {
        instances: removed.services.len() + removed.containers.len(),
        objects,
    }
}
