//! The Config types: env.toml as the engine sees it once it is parsed and valid. Values
//! that may hold `${...}` references are [`Template`]s, resolved later against variables
//! and other resources' attributes.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// A place in env.toml, for messages: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
}

/// The kinds of resources env.toml can declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A Docker network.
    Network,
    /// Redis, from Debian's redis-server packaged into a scratch image.
    Redis,
    /// A container (or several replicas) from a built or existing image.
    Service,
    /// The Yoyo router, with routes generated from env.toml.
    Router,
    /// A random value generated once and kept in state.
    Secret,
}

impl Kind {
    /// Every kind, in the order they are listed in messages.
    pub const ALL: [Kind; 5] = [
        Kind::Network,
        Kind::Redis,
        Kind::Service,
        Kind::Router,
        Kind::Secret,
    ];

    /// The table name in env.toml and the first part of an address.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Network => "network",
            Kind::Redis => "redis",
            Kind::Service => "service",
            Kind::Router => "router",
            Kind::Secret => "secret",
        }
    }

    /// The kind named `name`, if any.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resource's address, `kind.name`; replicas add `[i]` in plans and state, not here.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    /// The kind.
    pub kind: Kind,
    /// The name: `[a-z][a-z0-9-]*`.
    pub name: String,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// `kind.name`.
    pub address: Address,
    /// What the kind's table says.
    pub body: Body,
    /// Hidden edges.
    pub depends_on: Vec<Address>,
    /// Where the table starts.
    pub location: Location,
}

/// A resource's settings, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `[network.NAME]`: no settings.
    Network,
    /// `[redis.NAME]`.
    Redis {
        /// The network it joins.
        network: Option<Address>,
    },
    /// `[service.NAME]`.
    Service(Service),
    /// `[router.NAME]`.
    Router(Router),
    /// `[secret.NAME]`.
    Secret {
        /// Number of random characters (alphanumeric).
        length: u32,
    },
}

/// Where a service's image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// Built from a context folder of this repository (relative to env.toml's folder).
    Build {
        /// The context folder holding the Dockerfile.
        context: PathBuf,
        /// A cargo binary built statically and copied into the context first.
        binary: Option<String>,
    },
    /// An existing image, pulled when absent.
    Image(String),
}

/// Docker health check settings; durations in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// Between checks.
    pub interval_ms: u64,
    /// For one check.
    pub timeout_ms: u64,
    /// Failures before unhealthy.
    pub retries: u32,
    /// Grace period after start.
    pub start_period_ms: u64,
}

/// `[service.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// `build` or `image`.
    pub image: ImageSource,
    /// The network it joins.
    pub network: Option<Address>,
    /// The port it listens on inside the network (for `url`); default 5000.
    pub port: u16,
    /// Environment variables.
    pub env: BTreeMap<String, Template>,
    /// Container path -> local file (relative to env.toml's folder).
    pub files: BTreeMap<String, PathBuf>,
    /// Published ports.
    pub ports: Vec<PortMapping>,
    /// `None`: one unindexed instance; `Some(n)`: instances `[0..n)`.
    pub replicas: Option<u32>,
    /// Arguments after the entrypoint.
    pub command: Option<Vec<Template>>,
    /// `None`: the image's own health check, with the default timings below;
    /// `Some(None)`: `health = false`, no check; `Some(Some(h))`: these timings.
    pub health: Option<Option<Health>>,
}

/// A port published on 127.0.0.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortMapping {
    /// On the host (always bound to 127.0.0.1).
    pub host: u16,
    /// In the container.
    pub container: u16,
}

/// `[router.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Router {
    /// The router image: `build` (normally `services/router`).
    pub image: ImageSource,
    /// The network it joins.
    pub network: Option<Address>,
    /// `127.0.0.1:PORT` (may reference variables).
    pub listen: Template,
    /// Path prefix -> upstream URL (normally `${service.X.url}`).
    pub routes: BTreeMap<String, Template>,
    /// Health check timings, as for services.
    pub health: Option<Option<Health>>,
}

/// The whole of env.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The env file.
    pub path: PathBuf,
    /// The folder paths in it are relative to.
    pub root: PathBuf,
    /// `[project] name`.
    pub project: String,
    /// `[variable.*]`.
    pub variables: BTreeMap<String, Variable>,
    /// Resources in file order.
    pub resources: Vec<Resource>,
    /// `[output.*]`.
    pub outputs: BTreeMap<String, Output>,
}

// Added with the loader: what validation and the graph need to know about the model.

impl Kind {
    /// The attributes `${kind.name.attribute}` may name, for validation and its "did you
    /// mean"; [`resolve`](crate::resolve) gives them their values.
    pub fn attributes(self) -> &'static [&'static str] {
        match self {
            Kind::Network => &["name", "id"],
            Kind::Redis => &["host", "port", "url"],
            Kind::Service => &["name", "host", "url"],
            Kind::Router => &["url"],
            Kind::Secret => &["value"],
        }
    }
}

impl Health {
    /// Timings for what a `health` table leaves out: quick checks, since everything runs
    /// on one machine and `apply` waits for them.
    pub const DEFAULT: Health = Health {
        interval_ms: 1_000,
        timeout_ms: 3_000,
        retries: 3,
        start_period_ms: 30_000,
    };
}

impl Resource {
    /// Every template in the resource's settings, in a fixed order.
    pub fn templates(&self) -> Vec<&Template> {
        match &self.body {
            Body::Network | Body::Redis { .. } | Body::Secret { .. } => Vec::new(),
            Body::Service(service) => service
                .env
                .values()
                .chain(service.command.iter().flatten())
                .collect(),
            Body::Router(router) => std::iter::once(&router.listen)
                .chain(router.routes.values())
                .collect(),
        }
    }

    /// The network it joins, if any.
    pub fn network(&self) -> Option<&Address> {
        match &self.body {
            Body::Redis { network } => network.as_ref(),
            Body::Service(service) => service.network.as_ref(),
            Body::Router(router) => router.network.as_ref(),
            Body::Network | Body::Secret { .. } => None,
        }
    }

    /// The resources it depends on: those its templates reference, its network and its
    /// `depends_on`; sorted, each once. These are the graph's edges.
    pub fn dependencies(&self) -> std::collections::BTreeSet<&Address> {
        let referenced = self
            .templates()
            .into_iter()
            .flat_map(Template::references)
            .filter_map(|reference| match reference {
                Reference::Attribute { address, .. } => Some(address),
                Reference::Variable(_) => None,
            });
        referenced
            .chain(self.network())
            .chain(&self.depends_on)
            .collect()
    }
}
