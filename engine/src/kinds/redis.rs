//! `[redis.NAME]`: Redis, a preset over the container kinds. What is special about it
//! lives here: its image is Debian's redis-server packaged from this machine (no registry
//! is reachable), and its data (the append-only file) lives in a named volume of its own,
//! which outlives a replacement of the container and goes with the resource.

use std::collections::BTreeMap;
use std::sync::Arc;

use resources::Docker;
use resources::labels::Labels;
use resources::redis_image::{DATA_DIR, REDIS_PORT};

use super::container::docker::DockerContainer;
use super::container::hooks::{Hooks, ours};
use super::container::swarm::SwarmService;
use super::container::{self, Container, keys};
use crate::attributes::{Attributes, Resolved};
use crate::backend::docker::DockerHost;
use crate::backend::swarm::SwarmHost;
use crate::config::model::{Address, Target};
use crate::config::{Checked, Table};
use crate::error::Error;
use crate::kind::{
    Attribute, Decision, Diff, Driver, Kind, Progress, Recorded, Schema, Settings, Work,
};
use crate::plan::Instance;
use crate::resolve::Context;

/// The `redis` kind.
pub struct Redis;

static SCHEMA: Schema = Schema {
    keys: &[keys::NETWORK, keys::NETWORKS, keys::RESTART],
    attributes: &[
        Attribute::exported("host"),
        Attribute::exported("port"),
        Attribute::exported("url"),
        Attribute::computed("id"),
    ],
    object: "container",
};

/// A Redis as env.toml declares it.
#[derive(Debug)]
struct RedisSettings {
    container: Container,
}

impl Kind for Redis {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn load(&self, table: &mut Table<'_, '_>) -> Checked<Box<dyn Settings>> {
        let container = Container::read(table, "unless-stopped")?;
        Ok(Box::new(RedisSettings { container }))
    }

    fn decide(&self, diff: &Diff<'_>) -> Decision {
        container::decide(diff, true)
    }

    fn claims(&self, attributes: &Attributes, target: Target) -> Vec<String> {
        let mut claims = container::claims(attributes, target);
        claims.extend(RedisHooks::data_volume(attributes).map(|volume| format!("volume:{volume}")));
        claims
    }

    fn objects(&self, address: &Address, _settings: &dyn Settings) -> Vec<(&'static str, String)> {
        vec![
            ("container", address.name.clone()),
            ("volume", data_volume(&address.name)),
        ]
    }

    fn object(&self, target: Target) -> &'static str {
        container::object(target)
    }

    fn on_docker(&self, host: &Arc<DockerHost>) -> Option<Box<dyn Driver>> {
        Some(Box::new(DockerContainer::new(host, RedisHooks)))
    }

    /// Its volume is made on the manager, where its one task is placed.
    fn on_swarm(&self, swarm: &Arc<SwarmHost>) -> Option<Box<dyn Driver>> {
        Some(Box::new(SwarmService::new(swarm, RedisHooks)))
    }
}

/// The name of a Redis's data volume, after the Redis (the project's prefix aside).
fn data_volume(name: &str) -> String {
    format!("{name}-data")
}

impl Settings for RedisSettings {
    fn templates(&self) -> Vec<&crate::config::model::Template> {
        self.container.templates()
    }

    fn references(&self) -> Vec<&Address> {
        self.container.references()
    }

    fn export(&self, _cx: &Context<'_>, address: &Address, attribute: &str) -> Resolved {
        let name = &address.name;
        match attribute {
            "host" => Resolved::known(name.clone()),
            "port" => Resolved::known(REDIS_PORT.to_string()),
            "url" => Resolved::known(format!("redis://{name}:{REDIS_PORT}/0")),
            other => unreachable!("`redis` exports no `{other}`"),
        }
    }

    fn desired(&self, cx: &Context<'_>, instance: &Instance) -> Result<Attributes, Error> {
        let address = &instance.resource;
        let image = cx.shared(address, "image", || {
            // A review compares revisions of the repository: this machine's redis-server
            // is the same on both sides, and may not be there at all.
            if cx.config.review {
                let name = &address.name;
                return Ok(format!(
                    "{}-{name}:(this machine's redis-server)",
                    cx.project()
                ));
            }
            let hash = resources::redis_image::redis_inputs_hash()?;
            let tag = format!("{}-{}:{}", cx.project(), address.name, &hash[..16]);
            Ok(cx.made_image(tag))
        })?;
        // Its data outlives the container: a replaced Redis keeps the queue.
        let volume = format!("{}-{}", cx.project(), data_volume(&instance.resource.name));
        self.container
            .desired(cx, instance, image, true, |attributes| {
                attributes.map("volumes", BTreeMap::from([(DATA_DIR.to_owned(), volume)]));
                Ok(())
            })
    }
}

/// The packaged image and the data volume.
struct RedisHooks;

impl RedisHooks {
    fn data_volume(attributes: &Attributes) -> Option<&String> {
        attributes.get_map("volumes")?.get(DATA_DIR)
    }
}

#[async_trait::async_trait]
impl Hooks for RedisHooks {
    async fn make_image(
        &self,
        host: &DockerHost,
        work: &Work<'_>,
        _planned: &Attributes,
        tag: &str,
    ) -> Result<(), Error> {
        let docker = host.docker().await?;
        (work.progress)(Progress::Step(format!("Building image {tag}...")));
        let address = work.instance.resource.to_string();
        let labels = Labels::new(work.project).address(&address).build();
        resources::redis_image::build(docker, tag, &labels).await?;
        Ok(())
    }

    /// Makes the data volume, or finds the one made before (by this resource of this
    /// project); a volume of that name that is anyone else's is left alone.
    async fn before_create(
        &self,
        docker: &Docker,
        work: &Work<'_>,
        planned: &Attributes,
    ) -> Result<(), Error> {
        let Some(volume) = Self::data_volume(planned) else {
            return Ok(());
        };
        match resources::volume::inspect(docker, volume).await? {
            None => {
                resources::volume::create(docker, volume, work.labels).await?;
                Ok(())
            }
            Some(found) if ours(&found.labels, work.project) => Ok(()),
            Some(_) => Err(Error::NotOurs {
                object: "volume",
                name: volume.clone(),
                project: work.project.to_owned(),
            }),
        }
    }

    fn owned(&self, planned: &Attributes) -> Vec<String> {
        Self::data_volume(planned).cloned().into_iter().collect()
    }

    /// The data goes with the resource.
    async fn after_delete(
        &self,
        docker: &Docker,
        work: &Work<'_>,
        prior: &Recorded,
    ) -> Result<(), Error> {
        let Some(volume) = Self::data_volume(&prior.attributes) else {
            return Ok(());
        };
        match resources::volume::inspect(docker, volume).await? {
            Some(found) if ours(&found.labels, work.project) => {
                resources::volume::remove(docker, volume).await?;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
