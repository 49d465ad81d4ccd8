//! `[secret.NAME]`: a random value generated once at apply, kept in the state file, never
//! printed; whatever is made from it is sensitive too.

use std::sync::Arc;

use rand::Rng;

use crate::attributes::{Attributes, Path, Resolved};
use crate::backend::docker::DockerHost;
use crate::config::model::Address;
use crate::config::{Checked, Table};
use crate::error::Error;
use crate::kind::{Applied, Attribute, Driver, Key, Kind, Recorded, Schema, Settings, Type, Work};
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
        Some(Box::new(Generated))
    }
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

/// On one Docker daemon a secret is no object: its value lives in the state file and goes
/// into the containers that use it.
struct Generated;

#[async_trait::async_trait]
impl Driver for Generated {
    async fn create(&self, _work: &Work<'_>, planned: &Attributes) -> Result<Applied, Error> {
        let length = planned
            .get_text("length")
            .and_then(|length| length.parse().ok())
            .ok_or_else(|| Error::Bug("a planned secret has no length".to_owned()))?;
        let value: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(length)
            .map(char::from)
            .collect();
        let mut attributes = planned.clone();
        attributes.text("value", value);
        attributes.sensitive.insert(Path::attribute("value"));
        Ok(Applied {
            ids: vec![],
            attributes,
        })
    }

    async fn delete(&self, _work: &Work<'_>, _prior: &Recorded) -> Result<(), Error> {
        Ok(())
    }
}
