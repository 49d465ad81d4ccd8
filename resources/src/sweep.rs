//! Removing every Docker object of a project by its label: the last step of `destroy`
//! (catching what the state file does not know about) and the drop guard of tests.

use std::collections::BTreeSet;
use std::time::Duration;

use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions};

use crate::docker::Docker;
use crate::error::{Error, Result};
use crate::labels::owner_filter;
use crate::swarm::{self, secret};
use crate::{container, image, network, volume};

/// How long the sweep lets swarm stop the tasks of the services it removed (SIGTERM, then
/// SIGKILL after their grace period, 10 s by default) before it removes what is left.
const TASKS_STOP_WITHIN: Duration = Duration::from_secs(30);

/// What a sweep removed, by name (images by tag, or id when untagged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    /// Containers removed.
    pub containers: Vec<String>,
    /// Networks removed.
    pub networks: Vec<String>,
    /// Images removed.
    pub images: Vec<String>,
    /// Volumes removed.
    pub volumes: Vec<String>,
    /// Swarm services removed (their task containers with them).
    pub services: Vec<String>,
    /// Swarm secrets removed.
    pub secrets: Vec<String>,
    /// Swarm configs removed.
    pub configs: Vec<String>,
}

/// Removes every swarm service (on a swarm manager), then secret and config, then
/// container, then network and volume, then (unless `keep_images`) image carrying
/// `yoyoform.project=<project>`, in that order because each is in use by the one before.
/// The services' tasks are given up to 30 s to stop before their containers are removed.
/// A secret or config that a service of another project still uses stays. With a
/// `lineage`, only the services, secrets, configs, containers, networks and volumes that
/// state made (its `yoyoform.lineage` label): another state's are not this one's to
/// remove. Images are the project's, whichever state built them.
pub async fn remove_project(
    docker: &Docker,
    project: &str,
    lineage: Option<&str>,
    keep_images: bool,
) -> Result<Removed> {
    let owner = owner_filter(project, lineage);
    let list_error = |kind| {
        move |source| Error::List {
            kind,
            project: project.to_string(),
            source,
        }
    };
    let mut removed = Removed::default();
    // Elsewhere than on a manager there are no services to ask for (Docker answers 503).
    if swarm::info(docker).await?.manager {
        let services = swarm::service::list_filtered(docker, Some(owner.clone()))
            .await
            .map_err(list_error("service"))?;
        let mut ids = BTreeSet::new();
        for (id, name, _) in services {
            swarm::service::remove(docker, &id).await?;
            ids.insert(id);
            removed.services.push(name);
        }
        // Their task containers are part of them: not listed among the containers.
        swarm::service::remove_task_containers(docker, &ids, TASKS_STOP_WITHIN).await?;
        for kind in [secret::Kind::Secret, secret::Kind::Config] {
            let objects = secret::list_filtered(docker, kind, Some(owner.clone()))
                .await
                .map_err(list_error(kind.as_str()))?;
            for object in objects {
                if !secret::remove(docker, kind, &object.id).await? {
                    continue;
                }
                match kind {
                    secret::Kind::Secret => removed.secrets.push(object.name),
                    secret::Kind::Config => removed.configs.push(object.name),
                }
            }
        }
    }
    let containers = docker
        .client()
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(owner.clone()),
            ..Default::default()
        }))
        .await
        .map_err(list_error("container"))?;
    for summary in containers {
        let Some(id) = summary.id else { continue };
        container::remove(docker, &id).await?;
        let name = summary
            .names
            .and_then(|names| names.into_iter().next())
            .map(|name| name.trim_start_matches('/').to_string())
            .unwrap_or(id);
        removed.containers.push(name);
    }
    let networks = docker
        .client()
        .list_networks(Some(ListNetworksOptions {
            filters: Some(owner.clone()),
        }))
        .await
        .map_err(list_error("network"))?;
    for summary in networks {
        let Some(id) = summary.id else { continue };
        network::remove(docker, &id).await?;
        removed.networks.push(summary.name.unwrap_or(id));
    }
    for name in volume::list(docker, project, owner).await? {
        volume::remove(docker, &name).await?;
        removed.volumes.push(name);
    }
    if !keep_images {
        for found in image::list_by_label(docker, project).await? {
            // By tag, so an image shared with another tag only loses ours; then by id,
            // which removes it once no tag is left (and is a no-op when it is gone). An
            // image a container still uses (one this sweep does not own) stays.
            let mut gone = true;
            for tag in &found.tags {
                gone &= remove_unless_used(docker, tag).await?;
            }
            if found.tags.is_empty() {
                gone &= remove_unless_used(docker, &found.id).await?;
            }
            if gone {
                removed
                    .images
                    .push(found.tags.first().cloned().unwrap_or(found.id));
            }
        }
    }
    Ok(removed)
}

/// Removes an image unless a container uses it (Docker answers 409); whether it went.
async fn remove_unless_used(docker: &Docker, image: &str) -> Result<bool> {
    match image::remove(docker, image).await {
        Ok(()) => Ok(true),
        Err(Error::Docker {
            source:
                bollard::errors::Error::DockerResponseServerError {
                    status_code: 409, ..
                },
            ..
        }) => Ok(false),
        Err(error) => Err(error),
    }
}
