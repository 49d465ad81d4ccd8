//! The Config types: env.toml as the engine sees it once it is parsed and valid. Values
//! that may hold `${...}` references are [`Template`]s, resolved later against variables
//! and other resources' attributes.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::kind::{Kind, Settings};

/// A place in env.toml, for messages: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
}

impl Location {
    /// Where byte `offset` of `text` is.
    pub fn at(text: &str, offset: usize) -> Location {
        let before = text.get(..offset.min(text.len())).unwrap_or(text);
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

/// A resource's address, `kind.name`; replicas add `[i]` in plans and state, not here.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    /// The kind's name, as the [registry](crate::kinds::registry) spells it.
    pub kind: &'static str,
    /// The name: `[a-z][a-z0-9_-]*`.
    pub name: String,
}

impl Address {
    /// The address `kind.name` when `kind` is a kind the registry knows.
    pub fn new(kind: &str, name: &str) -> Option<Address> {
        let kind = crate::kinds::registry().get(kind)?;
        Some(Address {
            kind: kind.name(),
            name: name.to_owned(),
        })
    }

    /// Reads `kind.name`.
    pub fn parse(text: &str) -> Option<Address> {
        let (kind, name) = text.split_once('.')?;
        Address::new(kind, name)
    }

    /// The kind itself.
    pub fn kind(&self) -> &'static dyn Kind {
        crate::kinds::registry()
            .get(self.kind)
            .expect("addresses are made of registered kinds")
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.name)
    }
}

/// A string that may hold references: `"redis://${redis.queue.host}:6379"` is
/// `[Text("redis://"), Reference(redis.queue.host), Text(":6379")]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The parts, in order.
    pub parts: Vec<Part>,
}

/// One part of a [`Template`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// `${...}`.
    Reference(Reference),
}

/// What a `${...}` points at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reference {
    /// `${var.NAME}`.
    Variable(String),
    /// `${kind.name.attribute}`.
    Attribute {
        /// The resource.
        address: Address,
        /// Its attribute, e.g. `url`.
        attribute: String,
    },
}

impl Template {
    /// Every reference in the template.
    pub fn references(&self) -> impl Iterator<Item = &Reference> {
        self.parts.iter().filter_map(|part| match part {
            Part::Reference(reference) => Some(reference),
            Part::Text(_) => None,
        })
    }
}

/// A variable's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A string.
    String(String),
    /// An integer.
    Integer(i64),
    /// A boolean.
    Boolean(bool),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(value) => f.write_str(value),
            Value::Integer(value) => write!(f, "{value}"),
            Value::Boolean(value) => write!(f, "{value}"),
        }
    }
}

/// `[variable.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// The value in effect: from `--var` / `YOYOFORM_VAR_NAME` when given, else the
    /// default (a variable with neither is an error, so a loaded Config always has one).
    pub value: Value,
    /// Used when neither `--var` nor `YOYOFORM_VAR_NAME` sets it; without one, it must be set.
    pub default: Option<Value>,
    /// Shown in messages.
    pub description: Option<String>,
    /// Hide the value in plans and outputs.
    pub sensitive: bool,
    /// Where it is declared.
    pub location: Location,
}

/// `[output.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The value.
    pub value: Template,
    /// Hide the value when printed.
    pub sensitive: bool,
    /// Where it is declared.
    pub location: Location,
}

/// A declared resource.
pub struct Resource {
    /// `kind.name`.
    pub address: Address,
    /// What its kind read from its table.
    pub settings: Box<dyn Settings>,
    /// Hidden edges.
    pub depends_on: Vec<Address>,
    /// Where the table starts.
    pub location: Location,
}

impl fmt::Debug for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("address", &self.address)
            .field("settings", &self.settings)
            .field("depends_on", &self.depends_on)
            .field("location", &self.location)
            .finish()
    }
}

/// A port published on 127.0.0.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortMapping {
    /// On the host (always bound to 127.0.0.1).
    pub host: u16,
    /// In the container.
    pub container: u16,
}

/// The backend env.toml's resources are made on: `[project] backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Target {
    /// One Docker daemon: a container per instance.
    #[default]
    Docker,
    /// A Docker Swarm cluster, through one of its managers: a swarm service per resource.
    Swarm,
}

impl Target {
    /// Every target, as `[project] backend` spells it.
    pub const NAMES: &'static [&'static str] = &["docker", "swarm"];

    /// As env.toml and the state file spell it.
    pub fn name(self) -> &'static str {
        match self {
            Target::Docker => "docker",
            Target::Swarm => "swarm",
        }
    }

    /// The target spelt `name`.
    pub fn parse(name: &str) -> Option<Target> {
        match name {
            "docker" => Some(Target::Docker),
            "swarm" => Some(Target::Swarm),
            _ => None,
        }
    }

    /// As a resource's record in the state file says it: nothing for one Docker daemon,
    /// so that those records read as they did before there was a choice.
    pub fn recorded(self) -> Option<String> {
        match self {
            Target::Docker => None,
            other => Some(other.name().to_owned()),
        }
    }

    /// The target a record names; `None` for one the state file has no backend for
    /// (written by a yoyoform newer than this one).
    pub fn of_record(recorded: Option<&str>) -> Option<Target> {
        match recorded {
            None => Some(Target::Docker),
            Some(name) => Target::parse(name),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The whole of env.toml.
#[derive(Debug)]
pub struct Config {
    /// The env file.
    pub path: PathBuf,
    /// The folder paths in it are relative to.
    pub root: PathBuf,
    /// Where it and the files it names are read: the work tree, or a revision of the
    /// repository.
    pub tree: std::sync::Arc<dyn resources::source::Source>,
    /// Planned for a review, from the repository alone: what comes from this machine
    /// rather than the repository (the Redis image, packaged from its redis-server) is
    /// left out, the same on both sides.
    pub review: bool,
    /// `[project] name`.
    pub project: String,
    /// `[project] backend`.
    pub target: Target,
    /// `[project] registry`: where built images are pushed for the nodes of a swarm to
    /// pull (`HOST:PORT`); `None` when the images stay on the daemon that built them.
    pub registry: Option<String>,
    /// `[variable.*]`.
    pub variables: BTreeMap<String, Variable>,
    /// Resources in file order.
    pub resources: Vec<Resource>,
    /// `[output.*]`.
    pub outputs: BTreeMap<String, Output>,
}

impl Resource {
    /// The resources it depends on: those its templates reference, those its settings
    /// name by address, and its `depends_on`; sorted, each once. These are the graph's
    /// edges.
    pub fn dependencies(&self) -> std::collections::BTreeSet<&Address> {
        let referenced = self
            .settings
            .templates()
            .into_iter()
            .flat_map(Template::references)
            .filter_map(|reference| match reference {
                Reference::Attribute { address, .. } => Some(address),
                Reference::Variable(_) => None,
            });
        referenced
            .chain(self.settings.references())
            .chain(&self.depends_on)
            .collect()
    }
}
