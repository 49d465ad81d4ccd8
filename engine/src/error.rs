//! The engine's one error type. Messages are lower-case and name the user's words in
//! backticks; each variant says whose fault it is: the user's input, the backend's answer,
//! or a bug in yoyoform (said as such, so it is reported rather than worked around).

use std::path::PathBuf;

use crate::graph::Cycle;
use crate::plan::{Instance, SavedPlanError};

/// What went wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Docker answered with an error, or a build step failed.
    #[error(transparent)]
    Docker(#[from] resources::Error),
    /// The state file cannot be read, locked or written.
    #[error(transparent)]
    State(#[from] state::StateError),
    /// A saved plan cannot be used.
    #[error(transparent)]
    SavedPlan(#[from] SavedPlanError),
    /// Resources that depend on each other in a circle.
    #[error(transparent)]
    Cycle(#[from] Cycle),
    /// A local file a resource is made from cannot be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// The file, as env.toml names it.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The state file records an instance made on a backend this yoyoform does not know
    /// (a newer one wrote it).
    #[error(
        "the state file records `{address}` on the backend `{backend}`, which this yoyoform does not know (its backends are `docker` and `swarm`); use the yoyoform that made it"
    )]
    UnknownBackend {
        /// The instance's address.
        address: String,
        /// The backend the record names.
        backend: String,
    },
    /// The daemon is not a manager of an active swarm, and the project's backend is
    /// `swarm`.
    #[error(
        "the daemon at {host} is not a manager of a Docker swarm ({state}); make it one with `docker swarm init` (or join it to one as a manager), or point `--host` / DOCKER_HOST at a manager"
    )]
    NotASwarm {
        /// The daemon, as connected to.
        host: String,
        /// What the daemon says it is: "not in a swarm", "a worker".
        state: &'static str,
    },
    /// What went wrong with one instance.
    #[error("{instance}: {error}")]
    At {
        /// The instance.
        instance: Instance,
        /// What went wrong.
        error: Box<Error>,
    },
    /// Something a change is made from (a file, the sources of an image) is not what it
    /// was when the plan was made; nothing was done.
    #[error(
        "`{path}` of {instance} changed since the plan was made (a file or source it is made from changed); nothing was done, run plan again"
    )]
    ChangedSincePlan {
        /// The instance.
        instance: Instance,
        /// The attribute, e.g. `files["/etc/yoyo/users.json"]`.
        path: String,
    },
    /// The sources of an image changed while it was being built.
    #[error("the sources of `{address}` changed during the build; run plan again")]
    SourcesMoved {
        /// The resource.
        address: String,
    },
    /// The backend holds an object under a name yoyoform wants, and nothing says
    /// yoyoform made it: it is left alone.
    #[error(
        "a {object} named `{name}` exists and was not made by yoyoform for project `{project}`"
    )]
    NotOurs {
        /// "container", "volume", ...
        object: &'static str,
        /// Its name.
        name: String,
        /// The project.
        project: String,
    },
    /// The backend holds objects where the plan would make its own, which this state did
    /// not make: they are left alone, and nothing is planned.
    #[error(
        "the backend holds what this state did not make where the plan would make its own (or labelled for this project):\n{}\nyoyoform leaves them alone: destroy them with the state that made them, take one over with `yoyoform import ADDRESS ID`, or remove them by hand",
        .0.iter().map(|line| format!("  - {line}")).collect::<Vec<_>>().join("\n")
    )]
    Conflicts(Vec<String>),
    /// Another command holds the project on the backend.
    #[error(
        "project `{project}` is being changed on the Docker daemon by {holder}, from another state file; wait for it to finish, or, if that process is gone, let go of its lock with `yoyoform force-unlock {id}`"
    )]
    ProjectLocked {
        /// The project.
        project: String,
        /// Who holds it.
        holder: Box<state::LockInfo>,
        /// The hold's id, for `force-unlock`.
        id: String,
    },
    /// A host port an instance publishes is taken by something else.
    #[error(
        "host port {port} that {instance} publishes is taken on 127.0.0.1 ({reason}); nothing was changed"
    )]
    PortTaken {
        /// The port.
        port: u16,
        /// The instance.
        instance: Instance,
        /// What binding it said.
        reason: String,
    },
    /// A resource mounts a volume that is not there.
    #[error("volume `{name}` that {instance} mounts does not exist")]
    MissingVolume {
        /// The mounting instance.
        instance: Instance,
        /// The volume's name.
        name: String,
    },
    /// After apply, an instance is not what was applied (it exited, it was removed).
    #[error("after apply it is not as planned: {0}")]
    Unsettled(String),
    /// `import` of a kind that has no object of its own on the backend.
    #[error("`{kind}` resources have nothing to import: yoyoform makes them itself")]
    Unimportable {
        /// The kind.
        kind: &'static str,
    },
    /// `import` of an object that is not the one env.toml declares: the planned name and
    /// the one found.
    #[error("{instance} is planned as the {object} `{}`; `{}` is called `{}`", names.0, names.1, names.2)]
    ImportMismatch {
        /// The instance.
        instance: Instance,
        /// What it is.
        object: &'static str,
        /// The planned name, the id asked for, the name it has.
        names: Box<(String, String, String)>,
    },
    /// `import` of an object that does not exist.
    #[error("there is no {object} `{id}` to import")]
    NothingToImport {
        /// What it would be.
        object: &'static str,
        /// The id asked for.
        id: String,
    },
    /// `import` of an address env.toml does not declare, or the state records already.
    #[error("{0}")]
    CannotImport(String),
    /// A `--target` or `--replace` address that names nothing declared or recorded.
    #[error(
        "{flag} `{address}` matches nothing env.toml declares or the state records{}",
        suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default()
    )]
    NoSuchAddress {
        /// The flag it was given with.
        flag: &'static str,
        /// As written.
        address: String,
        /// The nearest known address.
        suggestion: Option<String>,
    },
    /// `--replace` of an instance that was never made: there is nothing to replace.
    #[error("--replace `{0}`: nothing is recorded there to replace; a plan makes it anyway")]
    NothingToReplace(String),
    /// The state file records an instance of a kind this yoyoform does not know.
    #[error("the state file records `{address}`, of a kind this yoyoform does not know")]
    UnknownKind {
        /// The recorded address.
        address: String,
    },
    /// The backend cannot realise a kind.
    #[error("`{kind}` resources cannot run on the {backend} backend")]
    Unsupported {
        /// The kind.
        kind: &'static str,
        /// The backend.
        backend: &'static str,
    },
    /// `logs` or `exec` of something that has no container to read or run in.
    #[error("`{process}` is not running ({state}): a command runs only in a running container")]
    NotRunning {
        /// The instance (and task), as `ps` names it.
        process: String,
        /// What it is instead: `exited (3)`, `missing`, `pending`.
        state: String,
    },
    /// `exec` in a swarm task on a node other than the daemon yoyoform talks to.
    #[error(
        "`{process}` runs on the swarm node `{node}`, not on the daemon yoyoform talks to ({host}): run the command on that node with `docker exec {container}`, or `--host` its daemon"
    )]
    OnAnotherNode {
        /// The task, as `ps` names it.
        process: String,
        /// The node's id.
        node: String,
        /// The daemon yoyoform talks to.
        host: String,
        /// The task's container there.
        container: String,
    },
    /// A backend could not do what was asked, in its own words.
    #[error("{0}")]
    Backend(String),
    /// What apply did differs from what the plan promised, or another broken promise of
    /// the engine to itself. Never the user's fault.
    #[error("bug in yoyoform: {0} (please report this)")]
    Bug(String),
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
