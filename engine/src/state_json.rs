//! The state as `show --json` and `output --json` print it: a document of its own, with a
//! `format_version`, every sensitive value hidden, so it can be shared and read by
//! programs without handing them the state file (which holds the secrets).

use serde_json::{Value, json};
use state::State;

use crate::attributes::Attributes;

/// The version of the JSON `show --json` prints; a new one when its shape changes.
pub const FORMAT_VERSION: u32 = 1;

/// The whole state: each recorded instance with its attributes, and the outputs.
pub fn state(state: &State) -> Value {
    let resources: Vec<Value> = state
        .resources
        .values()
        .map(|recorded| {
            let attributes =
                Attributes::from_json(&recorded.attributes, &recorded.sensitive_attributes);
            json!({
                "address": recorded.address,
                "kind": recorded.kind,
                "backend": recorded.backend.as_deref().unwrap_or("docker"),
                "ids": recorded.docker_ids,
                "tainted": recorded.tainted,
                "attributes": attributes.redacted().to_json(),
                "sensitive": recorded.sensitive_attributes,
                "dependencies": recorded.dependencies,
            })
        })
        .collect();
    json!({
        "format_version": FORMAT_VERSION,
        "lineage": state.lineage,
        "serial": state.serial,
        "resources": resources,
        "outputs": outputs(state),
    })
}

/// The outputs, each as `{"sensitive": .., "value": ..}`, a sensitive value as null.
pub fn outputs(state: &State) -> Value {
    let outputs: serde_json::Map<String, Value> = state
        .outputs
        .iter()
        .map(|(name, output)| {
            let value = if output.sensitive {
                Value::Null
            } else {
                output.value.as_str().into()
            };
            let entry = json!({ "sensitive": output.sensitive, "value": value });
            (name.clone(), entry)
        })
        .collect();
    Value::Object(outputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_values_are_hidden() {
        let mut recorded = State::new("test");
        recorded.lineage = "l1".into();
        recorded.serial = 3;
        recorded.resources.insert(
            "secret.key".into(),
            state::ResourceState {
                address: "secret.key".into(),
                kind: "secret".into(),
                backend: None,
                docker_ids: vec![],
                config_hash: String::new(),
                attributes: json!({ "length": "8", "value": "hunter22" })
                    .as_object()
                    .cloned()
                    .unwrap(),
                sensitive_attributes: vec!["value".into()],
                dependencies: vec![],
                tainted: false,
            },
        );
        recorded.outputs.insert(
            "key".into(),
            state::OutputState {
                value: "hunter22".into(),
                sensitive: true,
            },
        );
        let document = state(&recorded);
        assert!(!document.to_string().contains("hunter22"), "{document}");
        assert_eq!(
            document,
            json!({
                "format_version": 1, "lineage": "l1", "serial": 3,
                "resources": [{
                    "address": "secret.key", "kind": "secret", "backend": "docker",
                    "ids": [], "tainted": false,
                    "attributes": { "length": "8", "value": "(sensitive value)" },
                    "sensitive": ["value"], "dependencies": [],
                }],
                "outputs": { "key": { "sensitive": true, "value": null } },
            })
        );
    }
}
