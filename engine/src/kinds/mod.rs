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
