//! The connection to the Docker daemon.

use crate::error::{Error, Result};

/// A connection to the Docker daemon, speaking an API version the daemon accepts.
///
/// Cheap to clone: clones share one HTTP connection pool.
#[derive(Debug, Clone)]
pub struct Docker {
    client: bollard::Docker,
}

impl Docker {
    /// Connects to the daemon named by `DOCKER_HOST`, or the local socket
    /// `/var/run/docker.sock`: see [`Docker::connect_to`].
    pub async fn connect() -> Result<Docker> {
        let host = std::env::var("DOCKER_HOST")
            .unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string());
        Docker::connect_to(&host).await
    }

    /// Connects to the daemon at `host` as the Docker CLI names one: `unix:///PATH`,
    /// `tcp://HOST:PORT` (TLS when `DOCKER_TLS_VERIFY` is set, with the certificates in
    /// `DOCKER_CERT_PATH`), `ssh://USER@HOST` (through the `ssh` command, which runs
    /// `docker system dial-stdio` there), and agrees on an API version.
    ///
    /// bollard 0.21 speaks API 1.53 by default and puts that version in every URL; Docker
    /// 20.10 (API 1.41) refuses such requests. So we ask the daemon for its version first
    /// and step down to it when it is older. This request also proves the daemon is there:
    /// an unreachable daemon gives [`Error::Connect`] here, not on the first real call.
    pub async fn connect_to(host: &str) -> Result<Docker> {
        let connect_error = |error: bollard::errors::Error| {
            let mut cause: &dyn std::error::Error = &error;
            while let Some(inner) = cause.source() {
                cause = inner;
            }
            Error::Connect {
                host: host.to_owned(),
                cause: cause.to_string(),
            }
        };
        let client = bollard::Docker::connect_with_host(host).map_err(connect_error)?;
        let client = client.negotiate_version().await.map_err(connect_error)?;
        let docker = Docker { client };
        tracing::debug!(host, api = %docker.api_version(), "connected to the Docker daemon");
        Ok(docker)
    }

    /// The API version in use, e.g. `1.41`.
    pub fn api_version(&self) -> String {
        let version = self.client.client_version();
        format!("{}.{}", version.major_version, version.minor_version)
    }

    /// The bollard client, for calls this crate does not wrap (tests use it to act
    /// behind yoyoform's back, as a user would).
    pub fn client(&self) -> &bollard::Docker {
        &self.client
    }
}
