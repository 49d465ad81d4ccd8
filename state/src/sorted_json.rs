//! Serializes JSON objects with their keys sorted, whatever order the map keeps them in.
//!
//! `serde_json::Map` is sorted only while no crate in the build enables serde_json's
//! `preserve_order` feature; features are unified across the workspace, so one dependency
//! elsewhere could silently turn the state file's attribute order into insertion order and
//! make every review diff noisy. Sorting here keeps the file stable either way.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

/// `serialize_with` helper for an attribute map: writes it with keys sorted at every depth.
pub(crate) fn serialize_object<S: Serializer>(
    object: &Map<String, Value>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    SortedObject(object).serialize(serializer)
}

struct SortedObject<'a>(&'a Map<String, Value>);

struct SortedValue<'a>(&'a Value);

impl Serialize for SortedObject<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<(&String, &Value)> = self.0.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (key, value) in entries {
            map.serialize_entry(key, &SortedValue(value))?;
        }
        map.end()
    }
}

impl Serialize for SortedValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(object) => SortedObject(object).serialize(serializer),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&SortedValue(item))?;
                }
                seq.end()
            }
            scalar => scalar.serialize(serializer),
        }
    }
}
