//! Docker named volumes: data that outlives a container, e.g. Redis's append-only file
//! across a replacement of the Redis container.

use std::collections::BTreeMap;

use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::{ListVolumesOptions, RemoveVolumeOptions};

use crate::docker::Docker;
use crate::error::{Error, Result, docker as docker_error, is_not_found};

/// A volume as Docker has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeActual {
    /// Its name.
    pub name: String,
    /// Its labels: whose it is.
    pub labels: BTreeMap<String, String>,
}

/// Reads a volume by name; `None` when it does not exist.
pub async fn inspect(docker: &Docker, name: &str) -> Result<Option<VolumeActual>> {
    match docker.client().inspect_volume(name).await {
        Ok(volume) => Ok(Some(VolumeActual {
            name: volume.name,
            labels: volume.labels.into_iter().collect(),
        })),
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(docker_error("inspecting", "volume", name)(error)),
    }
}

/// Creates the volume, or finds it already there (Docker answers a create of an existing
/// name with that volume, whoever made it: [`inspect`] first to know), and returns its
/// name.
pub async fn create(
    docker: &Docker,
    name: &str,
    labels: &BTreeMap<String, String>,
) -> Result<String> {
    let request = VolumeCreateRequest {
        name: Some(name.to_string()),
        labels: Some(labels.clone().into_iter().collect()),
        ..Default::default()
    };
    let volume = docker
        .client()
        .create_volume(request)
        .await
        .map_err(docker_error("creating", "volume", name))?;
    Ok(volume.name)
}

/// Removes a volume; one already gone counts as removed. Docker refuses while a container
/// uses it: remove the container first.
pub async fn remove(docker: &Docker, name: &str) -> Result<()> {
    match docker
        .client()
        .remove_volume(name, None::<RemoveVolumeOptions>)
        .await
    {
        Ok(()) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(error) => Err(docker_error("removing", "volume", name)(error)),
    }
}

/// The names of the volumes matching `filters` (listed for `project`, for messages).
pub(crate) async fn list(
    docker: &Docker,
    project: &str,
    filters: std::collections::HashMap<String, Vec<String>>,
) -> Result<Vec<String>> {
    let response = docker
        .client()
        .list_volumes(Some(ListVolumesOptions {
            filters: Some(filters),
        }))
        .await
        .map_err(|source| Error::List {
            kind: "volume",
            project: project.to_string(),
            source,
        })?;
    Ok(response
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|volume| volume.name)
        .collect())
}
