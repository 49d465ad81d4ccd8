//! `[service.NAME]`: a container (or several replicas of one) from an image built here or
//! an existing one; the Yoyo platform's APIs and workers.

use std::sync::Arc;

use super::container::docker::DockerContainer;
use super::container::hooks::Plain;
use super::container::swarm::SwarmService;
use super::container::{self, Container, keys};
use crate::attributes::{Attributes, Resolved};
use crate::backend::docker::DockerHost;
use crate::backend::swarm::SwarmHost;
use crate::config::diagnostic::Problem;
use crate::config::model::{Address, Target, Template};
use crate::config::{Checked, Table};
use crate::error::Error;
use crate::kind::{Attribute, Decision, Diff, Driver, Key, Kind, Schema, Settings, Type};
use crate::plan::Instance;
use crate::resolve::Context;

/// Port a service listens on inside the network when `port` is not given.
const DEFAULT_PORT: u16 = 5000;
/// The most replicas a service may have.
const MAX_REPLICAS: i64 = 100;

/// The `service` kind.
pub struct Service;

static SCHEMA: Schema = Schema {
    keys: &[
        keys::BUILD,
        keys::IMAGE,
        keys::NETWORK,
        keys::NETWORKS,
        Key::optional("port", Type::Integer),
        keys::ENV,
        keys::FILES,
        keys::PORTS,
        keys::VOLUMES,
        Key::optional("replicas", Type::Integer),
        keys::COMMAND,
        keys::HEALTH,
        keys::RESTART,
    ],
    attributes: &[
        Attribute::exported("name"),
        Attribute::exported("host"),
        Attribute::exported("url"),
        Attribute::computed("id"),
    ],
    object: "container",
};

/// A service as env.toml declares it.
#[derive(Debug)]
pub struct ServiceSettings {
    /// How its containers are made.
    pub container: Container,
    /// The port it listens on inside the network (for `url`).
    pub port: u16,
    /// `None`: one unindexed instance; `Some(n)`: instances `[0..n)`.
    pub replicas: Option<u32>,
}

impl Kind for Service {
    fn name(&self) -> &'static str {
        "service"
    }

    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn load(&self, table: &mut Table<'_, '_>) -> Checked<Box<dyn Settings>> {
        let container = Container::read(table, "unless-stopped");
        let port = table.integer("port", 1, 65535);
        let replicas = table.integer("replicas", 1, MAX_REPLICAS);
        let container = container?;
        let replicas = replicas?.map(|count| count as u32);
        if let Some(count @ 2..) = replicas
            && !container.ports.is_empty()
        {
            let problem = Problem::PortsWithReplicas {
                owner: table.address().to_string(),
                replicas: count,
            };
            return Err(table.report("ports", problem));
        }
        Ok(Box::new(ServiceSettings {
            container,
            port: port?.map_or(DEFAULT_PORT, |port| port as u16),
            replicas,
        }))
    }

    fn decide(&self, diff: &Diff<'_>) -> Decision {
        container::decide(diff, true)
    }

    fn claims(&self, attributes: &Attributes, target: Target) -> Vec<String> {
        container::claims(attributes, target)
    }

    fn object(&self, target: Target) -> &'static str {
        container::object(target)
    }

    fn on_docker(&self, host: &Arc<DockerHost>) -> Option<Box<dyn Driver>> {
        Some(Box::new(DockerContainer::new(host, Plain)))
    }

    fn on_swarm(&self, swarm: &Arc<SwarmHost>) -> Option<Box<dyn Driver>> {
        Some(Box::new(SwarmService::new(swarm, Plain)))
    }
}

impl Settings for ServiceSettings {
    fn templates(&self) -> Vec<&Template> {
        self.container.templates()
    }

    fn references(&self) -> Vec<&Address> {
        self.container.references()
    }

    fn replicas(&self) -> Option<u32> {
        match self.container.target {
            Target::Docker => self.replicas,
            // One swarm service, its replicas its tasks.
            Target::Swarm => None,
        }
    }

    fn export(&self, cx: &Context<'_>, address: &Address, attribute: &str) -> Resolved {
        match attribute {
            "name" => Resolved::known(cx.resource_name(address)),
            // Every replica carries the resource's name as its network alias: Docker's
            // DNS answers it with all of them.
            "host" => Resolved::known(address.name.clone()),
            "url" => Resolved::known(format!("http://{}:{}", address.name, self.port)),
            other => unreachable!("`service` exports no `{other}`"),
        }
    }

    fn desired(&self, cx: &Context<'_>, instance: &Instance) -> Result<Attributes, Error> {
        let image = self.container.image(cx, &instance.resource)?;
        self.container
            .desired(cx, instance, image, true, |attributes| {
                // On swarm the replicas are one service's tasks, scaled in place.
                if self.container.target == Target::Swarm {
                    attributes.text("replicas", self.replicas.unwrap_or(1).to_string());
                }
                Ok(())
            })
    }
}
