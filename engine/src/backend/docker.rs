//! One Docker daemon, local or named by `DOCKER_HOST`: the kinds' Docker drivers, over one
//! connection that is made the first time a driver needs it (a plan of an empty state, or
//! of secrets only, needs no daemon).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::{Backend, Found, Swept};
use crate::error::Error;
use crate::kind::Driver;
use crate::kinds::registry;

/// What the Docker drivers share: the connection, and the locks that keep builds from
/// running twice.
#[derive(Default)]
pub struct DockerHost {
    connection: OnceCell<resources::Docker>,
    /// One lock per image tag, so the replicas of a service build their image once.
    images: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Builds of static binaries run one at a time (cargo would serialise them anyway).
    cargo: tokio::sync::Mutex<()>,
}

impl DockerHost {
    /// A host that has not connected yet.
    pub fn new() -> Arc<DockerHost> {
        Arc::new(DockerHost::default())
    }

    /// The connection, made on first use.
    pub async fn docker(&self) -> Result<&resources::Docker, Error> {
        Ok(self
            .connection
            .get_or_try_init(resources::Docker::connect)
            .await?)
    }

    /// Holds the image tag until dropped: whoever holds it builds or checks that image.
    pub async fn image_lock(&self, tag: &str) -> tokio::sync::OwnedMutexGuard<()> {
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
}

/// The Docker backend: each kind's Docker driver.
pub struct DockerBackend {
    host: Arc<DockerHost>,
    drivers: BTreeMap<&'static str, Box<dyn Driver>>,
}

impl DockerBackend {
    /// The backend, with a driver for every kind that has one on Docker.
    pub fn new() -> Self {
        let host = DockerHost::new();
        let drivers = registry()
            .iter()
            .filter_map(|kind| Some((kind.name(), kind.on_docker(&host)?)))
            .collect();
        DockerBackend { host, drivers }
    }
}

impl Default for DockerBackend {
    fn default() -> Self {
        DockerBackend::new()
    }
}

#[async_trait::async_trait]
impl Backend for DockerBackend {
    fn name(&self) -> &'static str {
        "docker"
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

    async fn sweep(&self, project: &str, lineage: &str, keep_images: bool) -> Result<Swept, Error> {
        let docker = self.host.docker().await?;
        let removed =
            resources::sweep::remove_project(docker, project, Some(lineage), keep_images).await?;
        let described = |what: &str, names: &[String]| -> Vec<String> {
            names.iter().map(|name| format!("{what} {name}")).collect()
        };
        let mut objects = described("container", &removed.containers);
        objects.extend(described("network", &removed.networks));
        objects.extend(described("volume", &removed.volumes));
        objects.extend(described("image", &removed.images));
        Ok(Swept {
            instances: removed.containers.len(),
            objects,
        })
    }
}
