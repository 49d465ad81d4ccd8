//! The interface of a resource kind, and all the core knows of one.
//!
//! In the spirit of Terraform's provider protocol (validate, plan a change, read, apply) and
//! of ripgrep's `Matcher` (few required methods, defaults for the rest). A kind is split in
//! the two halves that protocol has:
//!
//! - [`Kind`]: what env.toml may say ([`Schema`]), reading and checking one table into
//!   [`Settings`], and the plan rules ([`Kind::decide`], [`Kind::claims`]). Pure: no backend.
//! - [`Driver`]: carrying a change out on one backend (read, create, update, replace,
//!   delete), attributes in, attributes out. A kind offers one driver per backend it can
//!   run on ([`Kind::on_docker`], [`Kind::on_swarm`]); the
//!   [`Backend`](crate::backend::Backend) picks it.
//!
//! The loader, the graph, the planner, the renderer, apply's scheduler and destroy loop over
//! the [registry](crate::kinds::registry) and never name a kind.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

use toml::de::DeValue;

use crate::attributes::{Attributes, Path};
use crate::backend::Process;
use crate::backend::docker::DockerHost;
use crate::backend::swarm::SwarmHost;
use crate::config::load::{Checked, Table};
use crate::config::model::{Address, Target, Template};
use crate::error::Error;
use crate::plan::Instance;
use crate::resolve::{Context, Resolved};

/// The TOML type a key takes. The loader checks it before the kind reads the table, so a
/// kind's reader only sees values of the declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// A string.
    String,
    /// An integer.
    Integer,
    /// A boolean.
    Boolean,
    /// A table.
    Table,
    /// An array.
    Array,
    /// A string (the short form) or a table (the long one).
    StringOrTable,
    /// A table, or `false` to turn the thing off (`true` is the same as leaving it out).
    TableOrFalse,
}

impl Type {
    /// What a message says was expected, with its article.
    pub fn expected(self) -> &'static str {
        match self {
            Type::String => "a string",
            Type::Integer => "an integer",
            Type::Boolean => "a boolean",
            Type::Table => "a table",
            Type::Array => "an array",
            Type::StringOrTable => "a string or a table",
            Type::TableOrFalse => "a table or `false`",
        }
    }

    /// Whether `value` is of this type.
    pub fn accepts(self, value: &DeValue) -> bool {
        matches!(
            (self, value),
            (Type::String | Type::StringOrTable, DeValue::String(_))
                | (Type::Integer, DeValue::Integer(_))
                | (Type::Boolean | Type::TableOrFalse, DeValue::Boolean(_))
                | (
                    Type::Table | Type::StringOrTable | Type::TableOrFalse,
                    DeValue::Table(_)
                )
                | (Type::Array, DeValue::Array(_))
        )
    }
}

/// One key a table takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// As written in env.toml.
    pub name: &'static str,
    /// Its type.
    pub ty: Type,
    /// Whether the table must have it.
    pub required: bool,
}

impl Key {
    /// A key that may be left out.
    pub const fn optional(name: &'static str, ty: Type) -> Key {
        Key {
            name,
            ty,
            required: false,
        }
    }

    /// A key the table must have.
    pub const fn required(name: &'static str, ty: Type) -> Key {
        Key {
            name,
            ty,
            required: true,
        }
    }
}

/// An attribute the core must know about: one others may reference
/// (`${kind.name.attribute}`), or one only the backend can give (computed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute {
    /// Its name.
    pub name: &'static str,
    /// Others may reference it.
    pub exported: bool,
    /// Unknown until apply creates the object (a Docker id, a generated secret); kept as
    /// recorded while the object stays.
    pub computed: bool,
    /// Never printed; whatever is made from it is sensitive too.
    pub sensitive: bool,
}

impl Attribute {
    /// An exported attribute known from env.toml alone (a URL, a name).
    pub const fn exported(name: &'static str) -> Attribute {
        Attribute {
            name,
            exported: true,
            computed: false,
            sensitive: false,
        }
    }

    /// An attribute only apply can give; not referenceable.
    pub const fn computed(name: &'static str) -> Attribute {
        Attribute {
            name,
            exported: false,
            computed: true,
            sensitive: false,
        }
    }

    /// Makes it referenceable.
    pub const fn and_exported(self) -> Attribute {
        Attribute {
            exported: true,
            ..self
        }
    }

    /// Makes it sensitive.
    pub const fn and_sensitive(self) -> Attribute {
        Attribute {
            sensitive: true,
            ..self
        }
    }
}

/// What a kind's table may hold and what the kind exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema {
    /// The keys of its table, besides `depends_on`, which every kind takes.
    pub keys: &'static [Key],
    /// Its exported and computed attributes.
    pub attributes: &'static [Attribute],
    /// What it is on the backend, for messages: "the container was removed outside
    /// yoyoform".
    pub object: &'static str,
}

impl Schema {
    /// The attributes others may reference, in schema order.
    pub fn exports(&self) -> Vec<&'static str> {
        self.attributes
            .iter()
            .filter(|attribute| attribute.exported)
            .map(|attribute| attribute.name)
            .collect()
    }

    /// The attribute called `name`, if the schema lists it.
    pub fn attribute(&self, name: &str) -> Option<&'static Attribute> {
        self.attributes
            .iter()
            .find(|attribute| attribute.name == name)
    }

    /// The computed attributes.
    pub fn computed(&self) -> impl Iterator<Item = &'static Attribute> + use<> {
        self.attributes
            .iter()
            .filter(|attribute| attribute.computed)
    }

    /// The names of the computed attributes.
    pub fn computed_names(&self) -> Vec<&'static str> {
        self.computed().map(|attribute| attribute.name).collect()
    }

    /// The key called `name`, if the table takes it.
    pub fn key(&self, name: &str) -> Option<&'static Key> {
        self.keys.iter().find(|key| key.name == name)
    }
}

/// One declared resource's settings, as its kind read them from its table. (`Any`: a
/// kind's own tests look at its settings as the type they are.)
pub trait Settings: Any + fmt::Debug + Send + Sync {
    /// Every template in the settings, in a fixed order: their references are edges of the
    /// graph.
    fn templates(&self) -> Vec<&Template> {
        Vec::new()
    }

    /// The resources named by bare address (`network = "network.platform"`): edges too.
    fn references(&self) -> Vec<&Address> {
        Vec::new()
    }

    /// `None`: one unindexed instance; `Some(n)`: instances `[0..n)`.
    fn replicas(&self) -> Option<u32> {
        None
    }

    /// The value of one of the kind's exported attributes that is not computed.
    fn export(&self, cx: &Context<'_>, address: &Address, attribute: &str) -> Resolved;

    /// What one instance should be: every attribute the driver needs to make it, with
    /// unknown and sensitive values marked. Computed attributes are the core's business.
    fn desired(&self, cx: &Context<'_>, instance: &Instance) -> Result<Attributes, Error>;
}

/// What the planner knows about one instance that exists, for [`Kind::decide`].
#[derive(Debug, Clone, Copy)]
pub struct Diff<'a> {
    /// What it is now: as recorded, with what the backend really has put in.
    pub before: &'a Attributes,
    /// What env.toml wants.
    pub after: &'a Attributes,
    /// Where the two differ (computed attributes aside), or `after` is unknown.
    pub changed: &'a BTreeSet<Path>,
    /// Where the backend differs from the record (drift).
    pub drifted: &'a BTreeSet<Path>,
    /// The backend it is on (the planner makes anything another backend made anew
    /// before asking).
    pub target: Target,
}

/// How a kind carries out a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to do.
    Keep,
    /// Changed in place; `reason` is said in the plan.
    Update {
        /// Why, when the change does not come from env.toml.
        reason: Option<&'static str>,
    },
    /// A new object for the old one.
    Replace {
        /// The new one is made (and healthy) before the old one goes.
        create_before_destroy: bool,
    },
}

/// A kind of resource: `network`, `service`, ...
pub trait Kind: Send + Sync {
    /// The table name in env.toml and the first part of addresses.
    fn name(&self) -> &'static str;

    /// Its keys and attributes.
    fn schema(&self) -> &'static Schema;

    /// Reads one `[kind.NAME]` table. Unknown keys, keys of the wrong type and missing
    /// required keys were reported already; the table shows only the keys of the schema.
    fn load(&self, table: &mut Table<'_, '_>) -> Checked<Box<dyn Settings>>;

    /// The plan rule: what a difference between `before` and `after` means. By default
    /// every change makes a new object, the old one going first.
    fn decide(&self, diff: &Diff<'_>) -> Decision {
        if diff.changed.is_empty() {
            Decision::Keep
        } else {
            Decision::Replace {
                create_before_destroy: false,
            }
        }
    }

    /// What an object with these attributes holds exclusively on `target` (a container
    /// name, a host port), as `what:value` strings: a create waits for the deletion of an
    /// object holding one of its claims.
    fn claims(&self, _attributes: &Attributes, _target: Target) -> Vec<String> {
        Vec::new()
    }

    /// What one of its instances is on `target`, for messages: "the container was
    /// removed outside yoyoform". By default the schema's `object`.
    fn object(&self, _target: Target) -> &'static str {
        self.schema().object
    }

    /// The names its objects take on the backend, `(what, name)` without the project's
    /// prefix: no two resources may share one (the loader says so). By default one object
    /// per instance, named after it: `name`, or `name-0`, `name-1`, ... for replicas.
    fn objects(&self, address: &Address, settings: &dyn Settings) -> Vec<(&'static str, String)> {
        let object = self.schema().object;
        match settings.replicas() {
            None => vec![(object, address.name.clone())],
            Some(count) => (0..count)
                .map(|index| (object, format!("{}-{index}", address.name)))
                .collect(),
        }
    }

    /// Its implementation on a Docker daemon, if it has one.
    fn on_docker(&self, _host: &Arc<DockerHost>) -> Option<Box<dyn Driver>> {
        None
    }

    /// Its implementation on a Docker Swarm cluster, if it has one.
    fn on_swarm(&self, _swarm: &Arc<SwarmHost>) -> Option<Box<dyn Driver>> {
        None
    }
}

/// An instance as the state file recorded it, for a driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The backend's ids of its objects (a container id), first the main one.
    pub ids: Vec<String>,
    /// Its attributes, every value known.
    pub attributes: Attributes,
    /// The backend that made it.
    pub target: Target,
}

impl From<&state::ResourceState> for Recorded {
    /// (The session refuses a state file naming a backend this yoyoform does not know
    /// before any driver is asked.)
    fn from(recorded: &state::ResourceState) -> Self {
        Recorded {
            ids: recorded.docker_ids.clone(),
            attributes: Attributes::from_json(&recorded.attributes, &recorded.sensitive_attributes),
            target: Target::of_record(recorded.backend.as_deref()).unwrap_or_default(),
        }
    }
}

/// What a driver made: the ids to record and the attributes as the backend now has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The backend's ids of the objects made.
    pub ids: Vec<String>,
    /// The attributes, the computed ones filled in; checked against the plan.
    pub attributes: Attributes,
}

/// What a driver is told about the change it carries out.
pub struct Work<'a> {
    /// The instance.
    pub instance: &'a Instance,
    /// The project: names and labels.
    pub project: &'a str,
    /// The folder env.toml's relative paths start from.
    pub root: &'a FsPath,
    /// The labels every object made for the instance carries: the project, the address
    /// and a hash of the planned attributes.
    pub labels: &'a BTreeMap<String, String>,
    /// For a deletion: it makes way for the instance's replacement (the old one first), so
    /// what outlives an instance (a data volume) stays.
    pub for_replacement: bool,
    /// Other changes of this apply wait for this one: the driver says the instance is up
    /// as soon as that can be told (a container's health check run at once, where Docker
    /// runs its first one whole interval after the start). What nothing waits for is up
    /// when the backend itself says so, so that apply ends with everything as the
    /// backend reports it.
    pub awaited: bool,
    /// Says what a long step is doing (an image build), for the person watching.
    pub progress: &'a (dyn Fn(Progress) + Send + Sync),
}

/// What a long step of a change says it is doing, for the person watching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A step begins, in a few words: `Building image yoyo-web:0123...`.
    Step(String),
    /// How far cargo is in the static build of an image's binary.
    Compiling(resources::binary::Compiling),
    /// The image `tag` was made (built, or pulled), after this long.
    Built {
        /// The image.
        tag: String,
        /// How long it took.
        took: Duration,
    },
    /// The image was pushed to the registry the nodes of a swarm pull from, as `image`.
    Pushed {
        /// The registry's reference.
        image: String,
        /// How long it took.
        took: Duration,
    },
}

/// Carrying out changes of one kind on one backend. Attributes in, attributes out: a
/// driver never sees env.toml or the graph.
#[async_trait::async_trait]
pub trait Driver: Send + Sync {
    /// What the backend has for a recorded instance of `project`, in the kind's attributes
    /// (the record with what really differs put in); `None` when it is gone. By default
    /// there is no object to read and the record stands.
    async fn read(
        &self,
        _instance: &Instance,
        _project: &str,
        recorded: &Recorded,
    ) -> Result<Option<Attributes>, Error> {
        Ok(Some(recorded.attributes.clone()))
    }

    /// What a change making the instance needs that no other change has to be done for
    /// (its image: built, or pulled), so that it is ready by the time the instance's
    /// dependencies are. Apply calls it for every planned create, update and replacement
    /// as soon as it starts, all at once and alongside the dependency chain, and the change
    /// waits for it before it touches anything. `planned` is as the plan has it: what only
    /// apply can give (a secret's value, another container's id) is still unknown. By
    /// default there is nothing to prepare.
    async fn prepare(&self, _work: &Work<'_>, _planned: &Attributes) -> Result<(), Error> {
        Ok(())
    }

    /// Makes the instance from its planned attributes (every value known).
    async fn create(&self, work: &Work<'_>, planned: &Attributes) -> Result<Applied, Error>;

    /// Whether the instance can be made now, checked before anything is touched: what it
    /// needs is free (a host port), but for what `replacing` (the old one, about to go)
    /// holds. By default there is nothing to check.
    async fn check(
        &self,
        _work: &Work<'_>,
        _planned: &Attributes,
        _replacing: Option<&Recorded>,
    ) -> Result<(), Error> {
        Ok(())
    }

    /// Changes the instance in place. Only called when [`Kind::decide`] said `Update`.
    async fn update(
        &self,
        work: &Work<'_>,
        _prior: &Recorded,
        _planned: &Attributes,
    ) -> Result<Applied, Error> {
        Err(Error::Bug(format!(
            "{} was planned as an update in place, which its kind cannot do",
            work.instance
        )))
    }

    /// Replaces the instance, the new one first. Only called when [`Kind::decide`] said
    /// so; by default create, then delete.
    async fn replace(
        &self,
        work: &Work<'_>,
        prior: &Recorded,
        planned: &Attributes,
    ) -> Result<Applied, Error> {
        let applied = self.create(work, planned).await?;
        self.delete(work, prior).await?;
        Ok(applied)
    }

    /// Takes over object `id`, which an apply of this state made for the instance and
    /// could not record (its labels say so): recorded as it is when it is what was
    /// planned, made anew in its place otherwise. Only called when the plan said so.
    async fn adopt(
        &self,
        work: &Work<'_>,
        id: &str,
        _planned: &Attributes,
    ) -> Result<Applied, Error> {
        Err(Error::Bug(format!(
            "{} was planned to adopt `{id}`, which its kind cannot do",
            work.instance
        )))
    }

    /// Takes an existing object (`id`, made by hand or by another tool) for the instance,
    /// with `planned` as what it should be: its attributes as the backend has them, or
    /// `None` when there is no such object. A name other than the planned one is an error.
    /// By default a kind has nothing to import.
    async fn import(
        &self,
        instance: &Instance,
        _project: &str,
        _id: &str,
        _planned: &Attributes,
    ) -> Result<Option<Applied>, Error> {
        Err(Error::Unimportable {
            kind: instance.resource.kind,
        })
    }

    /// Removes the instance; one already gone counts as removed.
    async fn delete(&self, work: &Work<'_>, prior: &Recorded) -> Result<(), Error>;

    /// What runs for a recorded instance now (`ps`, `logs`, `exec`): its container, or
    /// its service's tasks; a [`Process::missing`] when the backend has nothing for it.
    /// By default a kind runs nothing (a network, a secret).
    async fn processes(
        &self,
        _instance: &Instance,
        _recorded: &Recorded,
    ) -> Result<Vec<Process>, Error> {
        Ok(Vec::new())
    }
}

/// What [`Driver::import`] checks of the object `id` it found, named `found`: that it is
/// the one planned for `instance` (its name attribute), not another of the same kind.
pub fn check_import_name(
    instance: &Instance,
    object: &'static str,
    planned: &Attributes,
    id: &str,
    found: &str,
) -> Result<(), Error> {
    let name = planned.get_text("name").unwrap_or_default();
    if found == name {
        return Ok(());
    }
    Err(Error::ImportMismatch {
        instance: instance.clone(),
        object,
        names: Box::new((name.to_owned(), id.to_owned(), found.to_owned())),
    })
}
