//! `[job.NAME]`: a container that runs to completion (a database migration, seed data)
//! before its dependents start. Apply waits for it to exit 0; a failure fails the apply
//! with its last log lines. Once done it stays done: it runs again only when its
//! attributes change.

use std::sync::Arc;

use super::container::docker::{DockerContainer, Hooks};
use super::container::{self, Container, keys};
use crate::attributes::{Attributes, Resolved};
use crate::backend::docker::DockerHost;
use crate::config::model::{Address, Template};
use crate::config::{Checked, Table};
use crate::error::Error;
use crate::kind::{Attribute, Driver, Kind, Schema, Settings};
use crate::plan::Instance;
use crate::resolve::Context;

/// The `job` kind.
pub struct Job;

static SCHEMA: Schema = Schema {
    keys: &[
        keys::BUILD,
        keys::IMAGE,
        keys::NETWORK,
        keys::NETWORKS,
        keys::ENV,
        keys::FILES,
        keys::VOLUMES,
        keys::COMMAND,
    ],
    attributes: &[Attribute::exported("name"), Attribute::computed("id")],
    object: "container",
};

/// A job as env.toml declares it.
#[derive(Debug)]
struct JobSettings {
    container: Container,
}

impl Kind for Job {
    fn name(&self) -> &'static str {
        "job"
    }

    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn load(&self, table: &mut Table<'_, '_>) -> Checked<Box<dyn Settings>> {
        let mut container = Container::read(table, "no")?;
        // It is done when it exits, not when a check says it is up.
        container.health = None;
        Ok(Box::new(JobSettings { container }))
    }

    fn claims(&self, attributes: &Attributes) -> Vec<String> {
        container::claims(attributes)
    }

    fn on_docker(&self, host: &Arc<DockerHost>) -> Option<Box<dyn Driver>> {
        Some(Box::new(DockerContainer::new(host, ToCompletion)))
    }
}

impl Settings for JobSettings {
    fn templates(&self) -> Vec<&Template> {
        self.container.templates()
    }

    fn references(&self) -> Vec<&Address> {
        self.container.references()
    }

    fn export(&self, cx: &Context<'_>, address: &Address, attribute: &str) -> Resolved {
        match attribute {
            "name" => Resolved::known(cx.resource_name(address)),
            other => unreachable!("`job` exports no `{other}`"),
        }
    }

    fn desired(&self, cx: &Context<'_>, instance: &Instance) -> Result<Attributes, Error> {
        let image = self.container.image(cx, &instance.resource)?;
        self.container.desired(cx, instance, image, false)
    }
}

/// Runs once, to exit 0.
struct ToCompletion;

impl Hooks for ToCompletion {
    fn runs_to_completion(&self) -> bool {
        true
    }
}
