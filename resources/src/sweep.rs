//! Removing every Docker object of a project by its label: the last step of `destroy`
//! (catching what the state file does not know about) and the drop guard of tests.

use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions};

use crate::docker::Docker;
use crate::error::{Error, Result};
use crate::labels::project_filter;
use crate::{container, image, network, volume};

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
}

/// Removes every container, then network and volume, then (unless `keep_images`) image
/// carrying `yoyoform.project=<project>`, in that order because each is in use by the one
/// before.
pub async fn remove_project(docker: &Docker, project: &str, keep_images: bool) -> Result<Removed> {
    let list_error = |kind| {
        move |source| Error::List {
            kind,
            project: project.to_string(),
            source,
        }
    };
    let mut removed = Removed::default();
    let containers = docker
        .client()
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(project_filter(project)),
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
            filters: Some(project_filter(project)),
        }))
        .await
        .map_err(list_error("network"))?;
    for summary in networks {
        let Some(id) = summary.id else { continue };
        network::remove(docker, &id).await?;
        removed.networks.push(summary.name.unwrap_or(id));
    }
    for name in volume::list_by_label(docker, project).await? {
        volume::remove(docker, &name).await?;
        removed.volumes.push(name);
    }
    if !keep_images {
        for found in image::list_by_label(docker, project).await? {
            // By tag, so an image shared with another tag only loses ours; then by id,
            // which removes it once no tag is left (and is a no-op when it is gone).
            for tag in &found.tags {
                image::remove(docker, tag).await?;
            }
            if found.tags.is_empty() {
                image::remove(docker, &found.id).await?;
            }
            removed
                .images
                .push(found.tags.first().cloned().unwrap_or(found.id));
        }
    }
    Ok(removed)
}
