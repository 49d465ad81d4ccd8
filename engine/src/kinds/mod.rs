//! The resource kinds, one module each, and the registry the core loops over. Adding a
//! kind is its module and one line in [`KINDS`].

pub mod container;
pub mod job;
pub mod network;
pub mod redis;
pub mod router;
pub mod secret;
pub mod service;
pub mod volume;

use crate::kind::Kind;

/// Every kind, in the order messages list them.
const KINDS: &[&dyn Kind] = &[
    &network::Network,
    &redis::Redis,
    &service::Service,
    &router::Router,
    &secret::Secret,
    &job::Job,
    &volume::Volume,
];

/// The kinds env.toml may declare.
pub struct Registry {
    kinds: &'static [&'static dyn Kind],
}

static REGISTRY: Registry = Registry { kinds: KINDS };

/// The registry of every kind yoyoform knows.
pub fn registry() -> &'static Registry {
    &REGISTRY
}

impl Registry {
    /// The kind whose table is called `name`.
    pub fn get(&self, name: &str) -> Option<&'static dyn Kind> {
        self.kinds.iter().copied().find(|kind| kind.name() == name)
    }

    /// Every kind, in registry order.
    pub fn iter(&self) -> impl Iterator<Item = &'static dyn Kind> + use<> {
        self.kinds.iter().copied()
    }

    /// Every kind's name, in registry order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + use<> {
        self.iter().map(|kind| kind.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind's schema, as env.toml and references see it.
    #[test]
    fn schemas() {
        type Row = (
            &'static str,
            &'static [&'static str],
            &'static [&'static str],
            &'static [&'static str],
        );
        let table: &[Row] = &[
            ("network", &[], &["name", "id"], &["id"]),
            (
                "redis",
                &["network", "networks", "restart"],
                &["host", "port", "url"],
                &["id"],
            ),
            (
                "service",
                &[
                    "build", "image", "network", "networks", "port", "env", "files", "ports",
                    "volumes", "replicas", "command", "health", "restart",
                ],
                &["name", "host", "url"],
                &["id"],
            ),
            (
                "router",
                &[
                    "build", "image", "network", "networks", "listen*", "routes*", "health",
                    "restart",
                ],
                &["url"],
                &["id"],
            ),
            ("secret", &["length"], &["value"], &["value"]),
            (
                "job",
                &[
                    "build", "image", "network", "networks", "env", "files", "volumes", "command",
                ],
                &["name"],
                &["id"],
            ),
            ("volume", &[], &["name"], &[]),
        ];
        let names: Vec<&str> = registry().names().collect();
        let listed: Vec<&str> = table.iter().map(|row| row.0).collect();
        assert_eq!(names, listed);
        for (name, keys, exports, computed) in table {
            let schema = registry().get(name).unwrap().schema();
            let written: Vec<String> = schema
                .keys
                .iter()
                .map(|key| format!("{}{}", key.name, if key.required { "*" } else { "" }))
                .collect();
            assert_eq!(written, *keys, "{name}: keys (* required)");
            assert_eq!(schema.exports(), *exports, "{name}: exports");
            let found = schema.computed_names();
            assert_eq!(found, *computed, "{name}: computed");
        }
        let sensitive: Vec<(&str, &str)> = registry()
            .iter()
            .flat_map(|kind| {
                kind.schema()
                    .attributes
                    .iter()
                    .filter(|attribute| attribute.sensitive)
                    .map(move |attribute| (kind.name(), attribute.name))
            })
            .collect();
        assert_eq!(sensitive, [("secret", "value")]);
    }

    #[test]
    fn names_are_unique_and_schemas_consistent() {
        let names: Vec<&str> = registry().names().collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        for kind in registry().iter() {
            let schema = kind.schema();
            let mut keys: Vec<&str> = schema.keys.iter().map(|key| key.name).collect();
            keys.sort();
            keys.dedup();
            assert_eq!(
                keys.len(),
                schema.keys.len(),
                "{}: a key twice",
                kind.name()
            );
            assert!(
                schema.key("depends_on").is_none(),
                "{}: `depends_on` is every kind's",
                kind.name()
            );
        }
    }
}
