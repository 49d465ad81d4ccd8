//! `[volume.NAME]`: a named volume for data that outlives containers, mounted by services
//! and jobs with `volumes = { "/container/path" = "volume.NAME" }`. A volume yoyoform did
//! not make for this resource is never adopted, never mounted and never deleted.

use std::sync::Arc;

use resources::Docker;

use super::container::hooks::ours;
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

/// The `volume` kind.
pub struct Volume;

static SCHEMA: Schema = Schema {
    keys: &[],
    attributes: &[Attribute::exported("name")],
    object: "volume",
};

/// A volume has no settings: its name is its address's.
#[derive(Debug)]
struct VolumeSettings;

impl Kind for Volume {
    fn name(&self) -> &'static str {
        "volume"
    }

    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn load(&self, _table: &mut Table<'_, '_>) -> Checked<Box<dyn Settings>> {
        Ok(Box::new(VolumeSettings))
    }

    fn claims(&self, attributes: &Attributes, _target: Target) -> Vec<String> {
        attributes
            .get_text("name")
            .map(|name| format!("volume:{name}"))
            .into_iter()
            .collect()
    }

    fn on_docker(&self, host: &Arc<DockerHost>) -> Option<Box<dyn Driver>> {
        Some(Box::new(DockerVolume { host: host.clone() }))
    }

    /// A volume of the manager's daemon: whatever mounts one is placed on the manager.
    fn on_swarm(&self, swarm: &Arc<SwarmHost>) -> Option<Box<dyn Driver>> {
        self.on_docker(swarm.daemon())
    }
}

impl Settings for VolumeSettings {
    fn export(&self, cx: &Context<'_>, address: &Address, attribute: &str) -> Resolved {
        match attribute {
            "name" => Resolved::known(cx.resource_name(address)),
            other => unreachable!("`volume` exports no `{other}`"),
        }
    }

    fn desired(&self, cx: &Context<'_>, instance: &Instance) -> Result<Attributes, Error> {
        let mut attributes = Attributes::default();
        attributes.text("name", cx.object_name(instance));
        Ok(attributes)
    }
}

/// A named volume on one Docker daemon.
struct DockerVolume {
    host: Arc<DockerHost>,
}

/// Whose a volume is: this resource's (its labels say so), someone else's, or nobody's
/// (there is none).
enum Owner {
    Us,
    Other,
    Nobody,
}

impl DockerVolume {
    async fn owner(
        &self,
        docker: &Docker,
        project: &str,
        instance: &str,
        name: &str,
    ) -> Result<Owner, Error> {
        Ok(match resources::volume::inspect(docker, name).await? {
            None => Owner::Nobody,
            Some(volume)
                if ours(&volume.labels, project)
                    && volume
                        .labels
                        .get(resources::labels::ADDRESS)
                        .map(String::as_str)
                        == Some(instance) =>
            {
                Owner::Us
            }
            Some(_) => Owner::Other,
        })
    }
}

#[async_trait::async_trait]
impl Driver for DockerVolume {
    /// A volume of that name that is not this resource's counts as gone: the plan then
    /// makes it, and making it is refused.
    async fn read(
        &self,
        instance: &Instance,
        project: &str,
        recorded: &Recorded,
    ) -> Result<Option<Attributes>, Error> {
        let docker = self.host.docker().await?;
        let name = recorded.attributes.get_text("name").unwrap_or_default();
        let owner = self
            .owner(docker, project, &instance.to_string(), name)
            .await?;
        Ok(matches!(owner, Owner::Us).then(|| recorded.attributes.clone()))
    }

    /// Makes the volume; one this resource made before (an apply killed before it could
    /// record it) is found by its labels and taken as it is.
    async fn create(&self, work: &Work<'_>, planned: &Attributes) -> Result<Applied, Error> {
        let docker = self.host.docker().await?;
        let name = planned.get_text("name").unwrap_or_default();
        let instance = work.instance.to_string();
        match self.owner(docker, work.project, &instance, name).await? {
            Owner::Nobody => {
                resources::volume::create(docker, name, work.labels).await?;
            }
            Owner::Us => {}
            Owner::Other => {
                return Err(Error::NotOurs {
                    object: "volume",
                    name: name.to_owned(),
                    project: work.project.to_owned(),
                });
            }
        }
        Ok(Applied {
            ids: vec![name.to_owned()],
            attributes: planned.clone(),
        })
    }

    async fn adopt(
        &self,
        work: &Work<'_>,
        _id: &str,
        planned: &Attributes,
    ) -> Result<Applied, Error> {
        // Making it finds it by its labels and takes it as it is.
        self.create(work, planned).await
    }

    async fn import(
        &self,
        instance: &Instance,
        _project: &str,
        id: &str,
        planned: &Attributes,
    ) -> Result<Option<Applied>, Error> {
        let docker = self.host.docker().await?;
        if resources::volume::inspect(docker, id).await?.is_none() {
            return Ok(None);
        }
        // A volume's id is its name.
        check_import_name(instance, "volume", planned, id, id)?;
        Ok(Some(Applied {
            ids: vec![id.to_owned()],
            attributes: planned.clone(),
        }))
    }

    /// Removes the volume and its data, if it is this resource's.
    async fn delete(&self, work: &Work<'_>, prior: &Recorded) -> Result<(), Error> {
        let docker = self.host.docker().await?;
        let name = prior.attributes.get_text("name").unwrap_or_default();
        let instance = work.instance.to_string();
        if let Owner::Us = self.owner(docker, work.project, &instance, name).await? {
            resources::volume::remove(docker, name).await?;
        }
        Ok(())
    }
}
