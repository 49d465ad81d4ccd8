//! Docker networks: one bridge network per `[network.*]` resource, on which containers
//! find each other by their aliases.

use std::collections::BTreeMap;

use bollard::models::NetworkCreateRequest;

use crate::docker::Docker;
use crate::error::{Result, docker as docker_error, is_not_found};

/// A network as Docker has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkActual {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

/// Creates a bridge network and returns its id.
pub async fn create(
    docker: &Docker,
    name: &str,
    labels: &BTreeMap<String, String>,
) -> Result<String> {
    let request = NetworkCreateRequest {
        name: name.to_string(),
        driver: Some("bridge".to_string()),
        labels: Some(labels.clone().into_iter().collect()),
        ..Default::default()
    };
    let response = docker
        .client()
        .create_network(request)
        .await
        .map_err(docker_error("creating", "network", name))?;
    Ok(response.id)
}

/// Reads a network by id (or name); `None` when it does not exist.
pub async fn inspect(docker: &Docker, id: &str) -> Result<Option<NetworkActual>> {
    match docker.client().inspect_network(id, None).await {
        Ok(network) => Ok(Some(NetworkActual {
            id: network.id.unwrap_or_default(),
            name: network.name.unwrap_or_default(),
            labels: network.labels.unwrap_or_default().into_iter().collect(),
        })),
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(docker_error("inspecting", "network", id)(error)),
    }
}

/// Removes a network by id (or name); one already gone counts as removed.
///
/// Docker refuses while containers are still attached: remove them first.
pub async fn remove(docker: &Docker, id: &str) -> Result<()> {
    match docker.client().remove_network(id).await {
        Ok(()) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(error) => Err(docker_error("removing", "network", id)(error)),
    }
}
