//! Docker Swarm: services (replicated, or jobs run to completion) made of tasks, the secrets
//! and configs they mount, and the node facts that say whether any of it is possible here.
//!
//! - [`service`]: a [`service::ServiceSpec`] created, read back, updated as a rolling update,
//!   removed;
//! - [`task`]: the tasks of a service, as swarm reports them;
//! - [`converge`]: waiting until a service runs what it was last given (or a job has
//!   completed), with the failing task's message when it will not;
//! - [`secret`]: secrets and configs, content-addressed by name;
//! - [`testing`]: a single-node swarm for tests, shared by the tests of one binary.
//!
//! Overlay networks are made by [`crate::network::create_with_driver`].
//!
//! Facts of this daemon (Docker 20.10, API 1.41) the code relies on:
//! - published ports work in `host` mode only (the ingress routing mesh does not answer on
//!   127.0.0.1 here) and are then bound on every address of the node, not only loopback;
//!   one task per node can hold a given port;
//! - the virtual IP of a service (IPVS) does not answer here: services resolve by DNS
//!   round-robin (`dnsrr`), each task under the service's name and its aliases;
//! - a manager answers 503 to every swarm call when it is not in a swarm ("This node is not
//!   a swarm manager"), so [`info`] is asked first by whoever only may find a swarm.

use bollard::models::{LocalNodeState, SwarmInitRequest};
use bollard::query_parameters::LeaveSwarmOptions;

use crate::docker::Docker;
use crate::error::{Error, Result, docker as docker_error};

pub mod converge;
pub mod secret;
pub mod service;
pub mod task;
pub mod testing;

/// The port swarm managers listen on for the cluster's own traffic.
const MANAGEMENT_PORT: u16 = 2377;

/// What the daemon says of its place in a swarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmInfo {
    /// Whether the daemon is a node of an active swarm (not `inactive`, `pending`, `locked`
    /// or in `error`).
    pub active: bool,
    /// Its node id in the swarm; `None` outside one.
    pub node_id: Option<String>,
    /// Whether it is a manager, the only kind of node that can make services, secrets,
    /// configs and overlay networks.
    pub manager: bool,
}

/// Asks the daemon whether it is in a swarm, and as what. Never fails because there is no
/// swarm: that is an answer.
pub async fn info(docker: &Docker) -> Result<SwarmInfo> {
    let info = docker
        .client()
        .info()
        .await
        .map_err(|source| Error::Inventory {
            kind: "swarm node",
            source,
        })?;
    let swarm = info.swarm.unwrap_or_default();
    let active = swarm.local_node_state == Some(LocalNodeState::ACTIVE);
    Ok(SwarmInfo {
        active,
        node_id: swarm.node_id.filter(|id| active && !id.is_empty()),
        manager: active && swarm.control_available == Some(true),
    })
}

/// Makes the daemon the single manager of a new swarm and returns its node id.
///
/// The swarm listens and advertises on `advertise_addr` (an address of this machine, e.g.
/// `127.0.0.1`), port 2377, and on nothing else. Docker refuses (503) a daemon already in a
/// swarm. Swarm creates the `ingress` overlay network and the `docker_gwbridge` bridge
/// network; [`leave`] removes the first, not the second.
pub async fn init(docker: &Docker, advertise_addr: &str) -> Result<String> {
    let request = SwarmInitRequest {
        advertise_addr: Some(advertise_addr.to_string()),
        listen_addr: Some(format!("{advertise_addr}:{MANAGEMENT_PORT}")),
        ..Default::default()
    };
    docker
        .client()
        .init_swarm(request)
        .await
        .map_err(docker_error("initialising", "swarm", advertise_addr))
}

/// Makes the daemon leave its swarm, by force: the last manager of a swarm can leave only
/// so, and the swarm (its services, secrets, configs, overlay networks) is gone with it.
/// A daemon in no swarm has nothing to leave: success.
pub async fn leave(docker: &Docker) -> Result<()> {
    match docker
        .client()
        .leave_swarm(Some(LeaveSwarmOptions { force: true }))
        .await
    {
        Ok(()) => Ok(()),
        // Docker 20.10 answers 503 "This node is not part of a swarm".
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 503,
            message,
        }) if message.contains("not part of a swarm") => Ok(()),
        Err(error) => Err(docker_error("leaving", "swarm", "this node")(error)),
    }
}
