//! The state document: what yoyoform recorded about every resource it manages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::sorted_json;

/// The newest state format this crate reads and the one it writes.
pub const FORMAT_VERSION: u32 = 1;

/// The whole state file.
///
/// Fields serialize in declaration order and every map is written with its keys sorted, so
/// the same state always gives the same bytes and a diff of two states in review shows
/// exactly what changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Format version of the file; a file newer than [`FORMAT_VERSION`] is refused.
    pub version: u32,
    /// Incremented by every write that changes something; a saved plan records it so a plan
    /// made against an older state can be refused as stale.
    #[serde(default)]
    pub serial: u64,
    /// A uuid v4 chosen when the state is first created and never changed afterwards: it tells
    /// two unrelated states apart even when their serials match.
    pub lineage: String,
    /// Version of the yoyoform that wrote the file last.
    #[serde(default)]
    pub yoyoform_version: String,
    /// Managed resources, keyed by address (`service.auth-api`, `service.loyalty-worker[2]`).
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceState>,
    /// Output values, keyed by output name.
    #[serde(default)]
    pub outputs: BTreeMap<String, OutputState>,
}

impl State {
    /// An empty state with serial 0 and a fresh lineage, as written by `yoyoform_version`.
    pub fn new(yoyoform_version: impl Into<String>) -> State {
        State {
            version: FORMAT_VERSION,
            serial: 0,
            lineage: uuid::Uuid::new_v4().to_string(),
            yoyoform_version: yoyoform_version.into(),
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
        }
    }

    /// Whether `self` and `other` record the same resources and outputs of the same lineage,
    /// ignoring the bookkeeping (serial, writer version) that a write itself changes.
    pub fn same_content(&self, other: &State) -> bool {
        self.version == other.version
            && self.lineage == other.lineage
            && self.resources == other.resources
            && self.outputs == other.outputs
    }
}

/// What yoyoform recorded about one resource. The crate knows no resource kind: the
/// attributes are whatever the kind chose to remember, as opaque JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    /// The resource's address, the same as its key in [`State::resources`].
    pub address: String,
    /// The resource kind: `network`, `service`, `redis`, ...
    pub kind: String,
    /// The backend that made it (`swarm`); absent for one Docker daemon, which is all
    /// that yoyoforms before the swarm backend knew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// Ids of the Docker objects (containers, networks, images) behind the resource.
    #[serde(default)]
    pub docker_ids: Vec<String>,
    /// sha256 hex of the resolved desired config the resource was last applied with.
    #[serde(default)]
    pub config_hash: String,
    /// The kind's own attributes.
    #[serde(default, serialize_with = "sorted_json::serialize_object")]
    pub attributes: Map<String, Value>,
    /// Names of attributes whose values are secret and must never be printed.
    #[serde(default)]
    pub sensitive_attributes: Vec<String>,
    /// Addresses of the resources this one depends on, so a resource removed from env.toml
    /// can still be deleted in the right order.
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Its removal was started and did not finish (the command was killed while it ran):
    /// what it stands for may be half-stopped or gone, so it is made anew.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tainted: bool,
}

/// One output value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputState {
    /// The value, resolved at apply.
    pub value: String,
    /// Whether the value is secret and must be hidden unless asked for by name.
    #[serde(default)]
    pub sensitive: bool,
}
