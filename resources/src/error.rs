//! The one error type of the crate: every variant names the object it was about and says
//! what Docker (or the tool run) answered, so the engine can print it as is.

use std::path::PathBuf;
use std::time::Duration;

/// What went wrong while talking to Docker, reading inputs or running a build step.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The daemon could not be reached (socket missing, permission denied, not running).
    /// One line: the root cause only, not the layers of HTTP client that carried it.
    #[error(
        "cannot connect to the Docker daemon at `{host}`: {cause}; check that the daemon runs and that --host or DOCKER_HOST names it"
    )]
    Connect {
        /// Where we tried to connect.
        host: String,
        /// The innermost error bollard's chain holds, e.g. `Connection refused (os error
        /// 111)`.
        cause: String,
    },
    /// A Docker API call about one object failed.
    #[error("{action} {kind} `{object}`: {source}")]
    Docker {
        /// What we were doing, e.g. "creating".
        action: &'static str,
        /// The object kind: "container", "network", "image", "service", "secret", ...
        kind: &'static str,
        /// The object's name or id.
        object: String,
        /// What Docker said.
        #[source]
        source: bollard::errors::Error,
    },
    /// A container spec that cannot be realised (e.g. a relative file path).
    #[error("container `{container}`: {message}")]
    InvalidSpec {
        /// The container's name.
        container: String,
        /// What is wrong.
        message: String,
    },
    /// A Docker API call about the project as a whole (listing by label) failed.
    #[error("listing {kind}s of project `{project}`: {source}")]
    List {
        /// The object kind listed.
        kind: &'static str,
        /// The project whose objects were listed.
        project: String,
        /// What Docker said.
        #[source]
        source: bollard::errors::Error,
    },
    /// Listing what the daemon holds failed.
    #[error("listing the daemon's {kind}s: {source}")]
    Inventory {
        /// The object kind listed.
        kind: &'static str,
        /// What Docker said.
        #[source]
        source: bollard::errors::Error,
    },
    /// An image build failed at a step; `log` holds the last lines of the build output.
    #[error("building image `{tag}` failed: {message}\n{log}")]
    Build {
        /// The tag being built.
        tag: String,
        /// The error Docker gave.
        message: String,
        /// The tail of the build log.
        log: String,
    },
    /// An `image = "x"` source is absent and pulling it failed.
    #[error("image `{image}` is not present and cannot be pulled: {message}")]
    Pull {
        /// The image reference.
        image: String,
        /// Why the pull failed.
        message: String,
    },
    /// The container's health check failed for good (Docker says `unhealthy`).
    #[error("container `{container}` is unhealthy; last health check output: {output}")]
    Unhealthy {
        /// The container's name.
        container: String,
        /// The output of the last health check run.
        output: String,
    },
    /// The container stopped while we waited for it to become healthy.
    #[error("container `{container}` exited with code {exit_code}; last log lines:\n{logs}")]
    Exited {
        /// The container's name.
        container: String,
        /// Its exit code.
        exit_code: i64,
        /// The last lines of its logs.
        logs: String,
    },
    /// The container exited and its restart policy started it again while we waited for
    /// it to become healthy.
    #[error(
        "container `{container}` exited and was restarted by its restart policy; last log lines:\n{logs}"
    )]
    Restarting {
        /// The container's name.
        container: String,
        /// The last lines of its logs.
        logs: String,
    },
    /// The container did not become healthy in time.
    #[error(
        "container `{container}` was not healthy after {}s (status {status}); last health check output: {output}",
        waited.as_secs()
    )]
    HealthTimeout {
        /// The container's name.
        container: String,
        /// How long we waited.
        waited: Duration,
        /// The last status seen.
        status: String,
        /// The output of the last health check run, if any.
        output: String,
    },
    /// A container that should run to completion was still running after the time allowed.
    #[error("container `{container}` was still running after {}s", waited.as_secs())]
    StillRunning {
        /// The container's name.
        container: String,
        /// How long we waited.
        waited: Duration,
    },
    /// Docker accepted a network's removal and still lists it after the time allowed.
    #[error("network `{network}` is still there {}s after Docker removed it", waited.as_secs())]
    Lingering {
        /// The network's id.
        network: String,
        /// How long we waited.
        waited: Duration,
    },
    /// The container vanished while we waited on it.
    #[error("container `{container}` disappeared while waiting for it to become healthy")]
    Vanished {
        /// The container's name or id.
        container: String,
    },
    /// A swarm service will not converge: a task failed for good (its restart condition
    /// gives up, or it failed again and again), or its rolling update was rolled back or
    /// paused. `message` names the task and what swarm said of it.
    #[error("service `{service}` failed: {message}")]
    ServiceFailed {
        /// The service's name or id, as asked.
        service: String,
        /// What failed, e.g. `task 3 failed: starting container failed: ...`.
        message: String,
    },
    /// A swarm service did not converge (or a job did not complete) in the time allowed.
    #[error("service `{service}` was not done after {}s: {pending}", waited.as_secs())]
    ServiceTimeout {
        /// The service's name or id, as asked.
        service: String,
        /// How long we waited.
        waited: Duration,
        /// What was still pending, task by task.
        pending: String,
    },
    /// An image runs as a user given by name, whose uid cannot be known from outside it.
    #[error(
        "image `{image}` runs as user `{user}`: give it as numbers (`USER uid:gid`) so that files can be made for it"
    )]
    UserName {
        /// The image.
        image: String,
        /// Its `USER`.
        user: String,
    },
    /// Pushing an image to a registry failed.
    #[error("pushing image `{image}` to registry `{registry}` failed: {message}")]
    Push {
        /// The image pushed, as tagged for the registry.
        image: String,
        /// The registry, `HOST:PORT`.
        registry: String,
        /// What the daemon or the registry answered.
        message: String,
    },
    /// Reading or writing a local file failed.
    #[error("{action} `{}`: {source}", path.display())]
    Io {
        /// What we were doing, e.g. "reading".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A Cargo.toml could not be understood.
    #[error("reading manifest `{}`: {message}", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// `cargo build` of a static binary failed; `stderr` holds its last lines.
    #[error("building the static binary of package `{package}` failed ({status}):\n{stderr}")]
    Cargo {
        /// The package built.
        package: String,
        /// How cargo ended.
        status: String,
        /// The tail of cargo's stderr.
        stderr: String,
    },
    /// A program needed on this machine is missing.
    #[error("{program} is not installed on this machine: {hint}")]
    MissingProgram {
        /// The program's name.
        program: &'static str,
        /// How to install it.
        hint: &'static str,
    },
    /// `ldd` failed or gave output we cannot use.
    #[error("listing the shared libraries of `{}` with ldd: {message}", binary.display())]
    Ldd {
        /// The binary examined.
        binary: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether Docker answered 404: the object is not there.
pub(crate) fn is_not_found(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Wraps a bollard error about one object.
pub(crate) fn docker(
    action: &'static str,
    kind: &'static str,
    object: &str,
) -> impl FnOnce(bollard::errors::Error) -> Error + use<> {
    let object = object.to_string();
    move |source| Error::Docker {
        action,
        kind,
        object,
        source,
    }
}

/// Wraps an I/O error about one local path.
pub(crate) fn io(
    action: &'static str,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> Error + use<> {
    let path = path.to_path_buf();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}
