//! `[job.NAME]`: a container that runs to completion (a database migration, seed data)
//! before its dependents start. Apply waits for it to exit 0; a failure fails the apply
//! with its last log lines. Once done it stays done: it runs again only when its
//! attributes change.

use std::sync::Arc;

use super::container::docker::DockerContainer;
use super::container::hooks::Hooks;
use super::container::swarm::SwarmService;
use super::container::{self, Container, keys};
use crate::attributes::{Attributes, Resolved};
use crate::backend::docker::DockerHost;
use crate::backend::swarm::SwarmHost;
use crate::config::model::{Address, Target, Template};
use crate::config::{Checked, Table};
use crate::error::Error;
use crate::kind::{Attribute, Decision, Diff, Driver, Kind, Schema, Settings};
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

    /// Run again when anything changes: on one daemon a new container (the old one
    /// first), on swarm an update of the job, which runs it anew.
    fn decide(&self, diff: &Diff<'_>) -> Decision {
        container::decide(diff, false)
    }

    fn claims(&self, attributes: &Attributes, target: Target) -> Vec<String> {
        container::claims(attributes, target)
    }

    fn object(&self, target: Target) -> &'static str {
        container::object(target)
    }

    fn on_docker(&self, host: &Arc<DockerHost>) -> Option<Box<dyn Driver>> {
        Some(Box::new(DockerContainer::new(host, ToCompletion)))
    }

    fn on_swarm(&self, swarm: &Arc<SwarmHost>) -> Option<Box<dyn Driver>> {
        Some(Box::new(SwarmService::new(swarm, ToCompletion)))
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
        self.container
            .desired(cx, instance, image, false, |_| Ok(()))
    }
}

/// Runs once, to exit 0.
struct ToCompletion;

impl Hooks for ToCompletion {
    fn runs_to_completion(&self) -> bool {
        true
    }
}
