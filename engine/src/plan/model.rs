//! The plan's types. Apply executes exactly these; nothing in them is recomputed later
//! except unknown values, which apply fills in and checks against the promise.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::attributes::{Attributes, Path};
use crate::config::model::Address;

/// One instance of a resource: `service.loyalty-worker[2]`, or `service.auth-api`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instance {
    /// The resource.
    pub resource: Address,
    /// The replica, for resources declared with `replicas`.
    pub index: Option<u32>,
}

impl Instance {
    /// Reads the form [`Display`](fmt::Display) writes, as kept in the state file.
    pub fn parse(text: &str) -> Option<Instance> {
        let (resource, index) = match text.strip_suffix(']') {
            Some(rest) => {
                let (resource, index) = rest.split_once('[')?;
                (resource, Some(index.parse().ok()?))
            }
            None => (text, None),
        };
        let (kind, name) = resource.split_once('.')?;
        if name.is_empty() || name.contains(['[', ']']) {
            return None;
        }
        Some(Instance {
            resource: Address::new(kind, name)?,
            index,
        })
    }
}

impl Serialize for Instance {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Instance {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Instance::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("bad address `{text}`")))
    }
}

/// As its address: what a test failure or a diagnostic line should show.
impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            None => write!(f, "{}", self.resource),
            Some(index) => write!(f, "{}[{index}]", self.resource),
        }
    }
}

/// What happens to one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// `+`: made anew.
    Create,
    /// `~`: changed in place (a stopped container started again).
    Update,
    /// `-/+`: a new one made and the old one removed.
    Replace,
    /// `-`: removed.
    Delete,
}

impl Action {
    /// The plan's symbol (a replacement that creates first shows as `+/-`, see
    /// [`Change::symbol`]).
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }
}

impl Action {
    /// The action as a noun, for messages: "the creation of service.api".
    pub fn noun(self) -> &'static str {
        match self {
            Action::Create => "creation",
            Action::Update => "update",
            Action::Replace => "replacement",
            Action::Delete => "deletion",
        }
    }
}

/// One planned change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Which instance.
    pub instance: Instance,
    /// What happens.
    pub action: Action,
    /// What it is now (prior, with drift from actual); `None` for a create.
    pub before: Option<Attributes>,
    /// What it will be; `None` for a delete.
    pub after: Option<Attributes>,
    /// The attributes whose change forces the replacement.
    pub forces_replacement: BTreeSet<Path>,
    /// Why, when the change comes from outside env.toml (drift), e.g. "the container was
    /// removed outside yoyoform".
    pub reason: Option<String>,
    /// Instances this one waits for (apply), or that wait for it (delete).
    pub dependencies: BTreeSet<Instance>,
    /// What the existing instance depended on when it was made (from the state file): a
    /// replacement frees those only once its old container is gone.
    #[serde(default)]
    pub prior_dependencies: BTreeSet<Instance>,
    /// For a replacement: the new one is made (and healthy) before the old one goes, `+/-`
    /// in the plan; otherwise the old one goes first, `-/+`.
    #[serde(default)]
    pub create_before_destroy: bool,
    /// An object of this state that the state file does not record (an interrupted apply
    /// made it): a create adopts it, a delete removes it. Its backend id.
    #[serde(default)]
    pub unrecorded: Option<String>,
    /// A replacement on another backend than the one that made the instance (the
    /// project's `backend` changed): apply removes every moving instance first,
    /// dependents before what they use, then makes them all anew.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub moves: bool,
}

impl Change {
    /// A change of `instance` with nothing more said: no attributes, reasons or
    /// dependencies yet.
    pub fn new(instance: Instance, action: Action) -> Change {
        Change {
            instance,
            action,
            before: None,
            after: None,
            forces_replacement: BTreeSet::new(),
            reason: None,
            dependencies: BTreeSet::new(),
            prior_dependencies: BTreeSet::new(),
            create_before_destroy: false,
            unrecorded: None,
            moves: false,
        }
    }

    /// The plan's symbol for this change.
    pub fn symbol(&self) -> &'static str {
        match (self.action, self.create_before_destroy) {
            (Action::Replace, true) => "+/-",
            (action, _) => action.symbol(),
        }
    }
}

/// An output's value after apply; in a plan, with the value the state file records.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutputChange {
    /// The value, `None` when known only after apply (or, `removed`, never again).
    pub value: Option<String>,
    /// Hidden when printed.
    pub sensitive: bool,
    /// In a plan: the value recorded by the last apply, `None` for a new output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// In a plan: env.toml no longer declares it, and apply forgets it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

/// What a plan is for: Terraform's planning modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Make the backend match env.toml.
    #[default]
    Normal,
    /// Remove what the state records (`plan --destroy`, `destroy`).
    Destroy,
    /// Record in the state file what changed outside yoyoform, and change nothing on the
    /// backend (`--refresh-only`).
    RefreshOnly,
}

impl Mode {
    /// Whether it is the normal mode (left out of the JSON then).
    pub fn is_normal(&self) -> bool {
        *self == Mode::Normal
    }
}

/// The version of the JSON `plan --json` prints; a new one when its shape changes.
pub const JSON_FORMAT_VERSION: u32 = 2;

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Plan {
    /// The state file's lineage this plan was made against.
    pub lineage: String,
    /// Its serial; apply refuses a plan whose state moved on.
    pub serial: u64,
    /// The changes, in dependency order (creates before their dependents, deletes after).
    pub changes: Vec<Change>,
    /// The outputs whose value changes (or is not known yet), with their value after apply.
    pub outputs: BTreeMap<String, OutputChange>,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Mode::is_normal")]
    pub mode: Mode,
    /// The `--target` addresses it was limited to (none: all of env.toml).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

impl Plan {
    /// How many instances are added, changed and destroyed; a replacement counts as one
    /// added and one destroyed, as in Terraform.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for change in &self.changes {
            match change.action {
                Action::Create => counts.0 += 1,
                Action::Update => counts.1 += 1,
                Action::Replace => {
                    counts.0 += 1;
                    counts.2 += 1;
                }
                Action::Delete => counts.2 += 1,
            }
        }
        counts
    }

    /// True when there is nothing to do: no change to a resource or an output.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.outputs.is_empty()
    }

    /// The plan as `plan --json` prints it: every sensitive value replaced by a marker,
    /// with the version of this JSON's shape.
    pub fn to_json(&self) -> serde_json::Value {
        let mut json = serde_json::to_value(self.redacted()).expect("plans serialise");
        if let serde_json::Value::Object(object) = &mut json {
            object.insert("format_version".to_owned(), JSON_FORMAT_VERSION.into());
        }
        json
    }

    /// A copy with every sensitive value replaced by a marker, for `plan --json`.
    pub fn redacted(&self) -> Plan {
        let mut copy = self.clone();
        for change in &mut copy.changes {
            change.before = change.before.as_ref().map(Attributes::redacted);
            change.after = change.after.as_ref().map(Attributes::redacted);
        }
        for output in copy.outputs.values_mut() {
            if output.sensitive {
                output.value = None;
                output.before = None;
            }
        }
        copy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_print_and_parse() {
        for text in [
            "service.auth-api",
            "service.loyalty-worker[2]",
            "network.platform",
        ] {
            assert_eq!(Instance::parse(text).unwrap().to_string(), text);
        }
        for bad in ["service", "servic.x", "service.x[a]", "service.x[1"] {
            assert_eq!(Instance::parse(bad), None, "{bad}");
        }
    }
}
