//! Docker networks: one bridge network per `[network.*]` resource, on which containers
//! find each other by their aliases; or an overlay network, spanning the nodes of a swarm,
//! for swarm services (see [`crate::swarm`]).

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
    /// Its driver: `bridge`, `overlay`, ... Empty for an overlay network swarm has not
    /// allocated yet (Docker 20.10 answers so for a moment after it is made).
    pub driver: String,
}

/// The kind of network to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// A bridge network on this daemon, for containers.
    Bridge,
    /// An overlay network across the nodes of the swarm the daemon manages, for swarm
    /// services. It is attachable: plain containers can join it too (a one-off container
    /// next to the services). Only a swarm manager can create one.
    Overlay,
}

/// Creates a bridge network and returns its id.
pub async fn create(
    docker: &Docker,
    name: &str,
    labels: &BTreeMap<String, String>,
) -> Result<String> {
    create_with_driver(docker, name, labels, Driver::Bridge).await
}

/// Creates a network with the given driver and returns its id.
pub async fn create_with_driver(
    docker: &Docker,
    name: &str,
    labels: &BTreeMap<String, String>,
    driver: Driver,
) -> Result<String> {
    let (driver, attachable) = match driver {
        Driver::Bridge => ("bridge", None),
        Driver::Overlay => ("overlay", Some(true)),
    };
    let request = NetworkCreateRequest {
        name: name.to_string(),
        driver: Some(driver.to_string()),
        attachable,
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
            driver: network.driver.unwrap_or_default(),
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
        Ok(()) => {}
        Err(error) if is_not_found(&error) => return Ok(()),
        // An overlay network is still listed for a moment after swarm removed it, and
        // Docker 20.10 answers a second removal with 500 "network ... not found".
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message,
        }) if message.ends_with("not found") => {}
        Err(error) => return Err(docker_error("removing", "network", id)(error)),
    }
    // Removed is gone: whoever looks next (a destroy's last check, a create of the same
    // name) must not find the overlay swarm has let go of still listed. A bridge network
    // is gone at the first look.
    let began = std::time::Instant::now();
    while inspect(docker, id).await?.is_some() {
        if began.elapsed() >= GONE_WITHIN {
            return Err(crate::error::Error::Lingering {
                network: id.to_owned(),
                waited: began.elapsed(),
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(())
}

/// How long a removed network may go on being listed.
const GONE_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);
