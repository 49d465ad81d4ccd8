//! What the daemon holds under a name: every container, network and volume, whoever made
//! it, with its labels; three calls whatever the number. A plan holds it against what it
//! will make, so that nothing yoyoform did not make is taken over or removed.

use std::collections::BTreeMap;

use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions, ListVolumesOptions};

use crate::docker::Docker;
use crate::error::{Error, Result};

/// One object of the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// `container`, `network` or `volume`.
    pub kind: &'static str,
    /// Its id (a volume's is its name).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

/// Every container (running or not), network and volume of the daemon.
pub async fn all(docker: &Docker) -> Result<Vec<Object>> {
    let list_error = |kind| move |source| Error::Inventory { kind, source };
    let client = docker.client();
    let mut objects = Vec::new();
    let containers = client
        .list_containers(Some(ListContainersOptions {
            all: true,
            ..Default::default()
        }))
        .await
        .map_err(list_error("container"))?;
    for container in containers {
        let Some(id) = container.id else { continue };
        for name in container.names.unwrap_or_default() {
            objects.push(Object {
                kind: "container",
                id: id.clone(),
                name: name.trim_start_matches('/').to_string(),
                labels: container
                    .labels
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
            });
        }
    }
    let networks = client
        .list_networks(None::<ListNetworksOptions>)
        .await
        .map_err(list_error("network"))?;
    for network in networks {
        let (Some(id), Some(name)) = (network.id, network.name) else {
            continue;
        };
        objects.push(Object {
            kind: "network",
            id,
            name,
            labels: network.labels.unwrap_or_default().into_iter().collect(),
        });
    }
    let volumes = client
        .list_volumes(None::<ListVolumesOptions>)
        .await
        .map_err(list_error("volume"))?;
    for volume in volumes.volumes.unwrap_or_default() {
        objects.push(Object {
            kind: "volume",
            id: volume.name.clone(),
            name: volume.name,
            labels: volume.labels.into_iter().collect(),
        });
    }
    Ok(objects)
}
