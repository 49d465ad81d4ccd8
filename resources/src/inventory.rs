//! What the daemon holds under a name: every container, network and volume, whoever made
//! it, with its labels; three calls whatever the number (one more on a swarm manager: its
//! services). A plan holds it against what it will make, so that nothing yoyoform did not
//! make is taken over or removed.
//!
//! Not listed, as no plan claims their names: the containers of swarm's tasks (swarm
//! names them, and they go with their service), and swarm's secrets and configs (named
//! after a digest of their content, so that no two contents share a name).

use std::collections::BTreeMap;

use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions, ListVolumesOptions};

use crate::docker::Docker;
use crate::error::{Error, Result};
use crate::swarm;

/// The label swarm gives the container of each of its tasks.
const SWARM_TASK: &str = "com.docker.swarm.task.id";

/// One object of the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// `container`, `network`, `volume`, or on a swarm manager `service`.
    pub kind: &'static str,
    /// Its id (a volume's is its name).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

/// Every container (running or not; a swarm task's aside), network and volume of the
/// daemon; and when it is a swarm manager, every service of the swarm (elsewhere swarm
/// has none to give, and answers 503: it is not asked).
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
        let labels = container.labels.unwrap_or_default();
        if labels.contains_key(SWARM_TASK) {
            continue;
        }
        for name in container.names.unwrap_or_default() {
            objects.push(Object {
                kind: "container",
                id: id.clone(),
                name: name.trim_start_matches('/').to_string(),
                labels: labels.clone().into_iter().collect(),
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
    if !swarm::info(docker).await?.manager {
        return Ok(objects);
    }
    let services = swarm::service::list_filtered(docker, None)
        .await
        .map_err(list_error("service"))?;
    for (id, name, labels) in services {
        objects.push(Object {
            kind: "service",
            id,
            name,
            labels,
        });
    }
    Ok(objects)
}
