//! `[network.NAME]`: a network on which containers find each other by name: a bridge on
//! one Docker daemon, an attachable overlay network across the nodes of a swarm.

use std::sync::Arc;

use crate::attributes::{Attributes, Resolved};
use crate::backend::docker::DockerHost;
use crate::backend::swarm::SwarmHost;
use crate::config::model::{Address, Target};
use crate::config::{Checked, Table};
use crate::error::Error;
use crate::kind::{
    Applied, Attribute, Driver, Kind, Recorded, Schema, Settings, Work, check_import_name,
};
use crate::plan::Instance;
use crate::resolve::Context;

/// The `network` kind.
pub struct Network;

static SCHEMA: Schema = Schema {
    keys: &[],
    attributes: &[
        Attribute::exported("name"),
        Attribute::computed("id").and_exported(),
    ],
    object: "network",
};

/// A network has no settings: its name is its address's. Its driver is the backend's.
#[derive(Debug)]
struct NetworkSettings {
    target: Target,
}

impl Kind for Network {
    fn name(&self) -> &'static str {
        "network"
    }

    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn load(&self, table: &mut Table<'_, '_>) -> Checked<Box<dyn Settings>> {
        Ok(Box::new(NetworkSettings {
            target: table.target(),
        }))
    }

    fn claims(&self, attributes: &Attributes, _target: Target) -> Vec<String> {
        attributes
            .get_text("name")
            .map(|name| format!("network:{name}"))
            .into_iter()
            .collect()
    }

    fn on_docker(&self, host: &Arc<DockerHost>) -> Option<Box<dyn Driver>> {
        Some(Box::new(DockerNetwork {
            host: host.clone(),
            swarm: None,
        }))
    }

    fn on_swarm(&self, swarm: &Arc<SwarmHost>) -> Option<Box<dyn Driver>> {
        Some(Box::new(DockerNetwork {
            host: swarm.daemon().clone(),
            swarm: Some(swarm.clone()),
        }))
    }
}

impl Settings for NetworkSettings {
    fn export(&self, cx: &Context<'_>, address: &Address, attribute: &str) -> Resolved {
        match attribute {
            "name" => Resolved::known(cx.resource_name(address)),
            other => unreachable!("`network` exports no `{other}`"),
        }
    }

    fn desired(&self, cx: &Context<'_>, instance: &Instance) -> Result<Attributes, Error> {
        let mut attributes = Attributes::default();
        attributes.text("name", cx.object_name(instance));
        if self.target == Target::Swarm {
            attributes.text("driver", "overlay");
        }
        Ok(attributes)
    }
}

/// A network of the daemon: a bridge, or on a swarm's manager an overlay network.
struct DockerNetwork {
    host: Arc<DockerHost>,
    swarm: Option<Arc<SwarmHost>>,
}

impl DockerNetwork {
    /// The daemon, checked to be a swarm's manager for an overlay network.
    async fn docker(&self) -> Result<&resources::Docker, Error> {
        match &self.swarm {
            Some(swarm) => swarm.docker().await,
            None => self.host.docker().await,
        }
    }
}

#[async_trait::async_trait]
impl Driver for DockerNetwork {
    async fn read(
        &self,
        _instance: &Instance,
        _project: &str,
        recorded: &Recorded,
    ) -> Result<Option<Attributes>, Error> {
        let docker = self.docker().await?;
        let id = recorded.ids.first().map_or("", String::as_str);
        let found = resources::network::inspect(docker, id).await?;
        Ok(found.map(|_| recorded.attributes.clone()))
    }

    async fn create(&self, work: &Work<'_>, planned: &Attributes) -> Result<Applied, Error> {
        let docker = self.docker().await?;
        let name = planned.get_text("name").unwrap_or_default();
        let driver = match self.swarm {
            Some(_) => resources::network::Driver::Overlay,
            None => resources::network::Driver::Bridge,
        };
        let id = resources::network::create_with_driver(docker, name, work.labels, driver).await?;
        let mut attributes = planned.clone();
        attributes.text("id", id.clone());
        Ok(Applied {
            ids: vec![id],
            attributes,
        })
    }

    async fn adopt(
        &self,
        work: &Work<'_>,
        id: &str,
        planned: &Attributes,
    ) -> Result<Applied, Error> {
        let docker = self.docker().await?;
        if resources::network::inspect(docker, id).await?.is_none() {
            return self.create(work, planned).await;
        }
        let mut attributes = planned.clone();
        attributes.text("id", id);
        Ok(Applied {
            ids: vec![id.to_owned()],
            attributes,
        })
    }

    async fn import(
        &self,
        instance: &Instance,
        _project: &str,
        id: &str,
        planned: &Attributes,
    ) -> Result<Option<Applied>, Error> {
        let docker = self.docker().await?;
        let Some(found) = resources::network::inspect(docker, id).await? else {
            return Ok(None);
        };
        check_import_name(instance, "network", planned, id, &found.name)?;
        let mut attributes = planned.clone();
        attributes.text("id", &found.id);
        Ok(Some(Applied {
            ids: vec![found.id],
            attributes,
        }))
    }

    async fn delete(&self, _work: &Work<'_>, prior: &Recorded) -> Result<(), Error> {
        let docker = self.docker().await?;
        if let Some(id) = prior.ids.first() {
            resources::network::remove(docker, id).await?;
        }
        Ok(())
    }
}
