//! `[secret.NAME]`: a random value generated once at apply, kept in the state file, never
//! printed; whatever is made from it is sensitive too. On swarm it is also a swarm secret,
//! which the services that use it mount as a file (see [`object_name`]).

use std::sync::Arc;

use rand::Rng;
use sha2::Digest;

use crate::attributes::{Attributes, Path, Resolved};
use crate::backend::docker::DockerHost;
use crate::backend::swarm::SwarmHost;
use crate::config::model::Address;
use crate::config::{Checked, Table};
use crate::error::Error;
use crate::kind::{Applied, Attribute, Driver, Key, Kind, Recorded, Schema, Settings, Type, Work};
use crate::kinds::container::swarm::object_labels;
use crate::plan::Instance;
use crate::resolve::Context;

/// Length of a secret when `length` is not given.
const DEFAULT_LENGTH: u32 = 32;

/// The `secret` kind.
pub struct Secret;

static SCHEMA: Schema = Schema {
    keys: &[Key::optional("length", Type::Integer)],
    attributes: &[Attribute::computed("value").and_exported().and_sensitive()],
    object: "secret",
};

/// A secret as env.toml declares it.
#[derive(Debug)]
pub struct SecretSettings {
    /// Number of random characters (alphanumeric).
    pub length: u32,
}

impl Kind for Secret {
    fn name(&self) -> &'static str {
        "secret"
    }

    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn load(&self, table: &mut Table<'_, '_>) -> Checked<Box<dyn Settings>> {
        let length = table.integer("length", 1, 4096)?;
        Ok(Box::new(SecretSettings {
            length: length.map_or(DEFAULT_LENGTH, |length| length as u32),
        }))
    }

    fn on_docker(&self, _host: &Arc<DockerHost>) -> Option<Box<dyn Driver>> {
        Some(Box::new(Generated { swarm: None }))
    }

    fn on_swarm(&self, swarm: &Arc<SwarmHost>) -> Option<Box<dyn Driver>> {
        Some(Box::new(Generated {
            swarm: Some(swarm.clone()),
        }))
    }
}

/// The name of the swarm secret holding a value of the secret `name`: the name and a
/// digest of the value, since swarm's secrets cannot change (a new value is a new secret,
/// and the services that use it move to it in a rolling update). The digest says nothing
/// of a value of random characters.
pub fn object_name(project: &str, name: &str, value: &str) -> String {
    let digest = format!("{:x}", sha2::Sha256::digest(value.as_bytes()));
    format!("{project}-{name}-{}", &digest[..12])
}

impl Settings for SecretSettings {
    fn export(&self, _cx: &Context<'_>, _address: &Address, attribute: &str) -> Resolved {
        unreachable!("`secret` exports no `{attribute}` that is not computed")
    }

    fn desired(&self, _cx: &Context<'_>, _instance: &Instance) -> Result<Attributes, Error> {
        let mut attributes = Attributes::default();
        attributes.text("length", self.length.to_string());
        Ok(attributes)
    }
}

/// The value lives in the state file. On one Docker daemon a secret is no object: the
/// value goes into the containers that use it. On swarm it is a swarm secret too, made
/// with the value (the services mount it).
struct Generated {
    swarm: Option<Arc<SwarmHost>>,
}

#[async_trait::async_trait]
impl Driver for Generated {
    async fn create(&self, work: &Work<'_>, planned: &Attributes) -> Result<Applied, Error> {
        let length = planned
            .get_text("length")
            .and_then(|length| length.parse().ok())
            .ok_or_else(|| Error::Bug("a planned secret has no length".to_owned()))?;
        let value: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(length)
            .map(char::from)
            .collect();
        let mut ids = Vec::new();
        if let Some(swarm) = &self.swarm {
            let docker = swarm.docker().await?;
            let name = object_name(work.project, &work.instance.resource.name, &value);
            let labels = object_labels(work, &work.instance.resource.to_string());
            let store = resources::swarm::secret::Kind::Secret;
            let id =
                resources::swarm::secret::ensure(docker, store, &name, value.as_bytes(), &labels)
                    .await?;
            ids.push(id);
        }
        let mut attributes = planned.clone();
        attributes.text("value", value);
        attributes.sensitive.insert(Path::attribute("value"));
        Ok(Applied { ids, attributes })
    }

    /// On swarm, its secret goes unless a service still mounts it (swarm refuses then;
    /// the last service to let go of it removes it).
    async fn delete(&self, _work: &Work<'_>, prior: &Recorded) -> Result<(), Error> {
        let Some(swarm) = &self.swarm else {
            return Ok(());
        };
        let docker = swarm.docker().await?;
        for id in &prior.ids {
            resources::swarm::secret::remove(docker, resources::swarm::secret::Kind::Secret, id)
                .await?;
        }
        Ok(())
    }
}
