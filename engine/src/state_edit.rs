//! `yoyoform state rm` and `state mv`: the state file changed by hand, as Terraform's
//! commands of those names do. Neither touches a backend: `rm` forgets instances (their
//! objects stay, unmanaged), `mv` records instances under another address (a renamed
//! resource in env.toml keeps what it made where the kind allows it).
//!
//! An address names one instance (`service.web[1]`) or a resource with all its instances
//! (`service.web`: itself, or `service.web[0]`, `service.web[1]`, ...).

use state::{LockedState, State};

use crate::config::diagnostic::did_you_mean;

/// What a state edit refuses.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// Nothing in the state has that address.
    #[error("the state has no instance `{address}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    NotFound {
        /// As written.
        address: String,
        /// The nearest recorded address.
        suggestion: Option<String>,
    },
    /// An address that is not `kind.name` or `kind.name[i]`.
    #[error("`{address}` is not an address: write `kind.name` or `kind.name[INDEX]`")]
    BadAddress {
        /// As written.
        address: String,
    },
    /// `mv` onto an address the state holds already.
    #[error("the state already has `{address}`; `state rm` it first, or move to another address")]
    Taken {
        /// The address taken.
        address: String,
    },
    /// `mv` to another kind: what was made is of its kind.
    #[error(
        "`{from}` is a {from_kind}, and `{to}` would be a {to_kind}: an instance keeps its kind"
    )]
    OtherKind {
        /// From where.
        from: String,
        /// Its kind.
        from_kind: String,
        /// To where.
        to: String,
        /// The kind that address names.
        to_kind: String,
    },
    /// `mv` of a whole resource onto one instance, or back.
    #[error("`{from}` and `{to}` must both name a resource, or both one instance")]
    Shape {
        /// From where.
        from: String,
        /// To where.
        to: String,
    },
    /// The state file refused the write.
    #[error(transparent)]
    State(#[from] state::StateError),
}

/// An address split: `kind`, `name`, and the instance index if it has one.
fn parse(address: &str) -> Result<(&str, &str, Option<&str>), EditError> {
    let bad = || EditError::BadAddress {
        address: address.to_owned(),
    };
    let (resource, index) = match address.strip_suffix(']') {
        Some(rest) => {
            let (resource, index) = rest.split_once('[').ok_or_else(bad)?;
            if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            (resource, Some(index))
        }
        None => (address, None),
    };
    match resource.split_once('.') {
        Some((kind, name))
            if !kind.is_empty() && !name.is_empty() && !name.contains(['.', '[', ']']) =>
        {
            Ok((kind, name, index))
        }
        _ => Err(bad()),
    }
}

/// The recorded addresses `address` names, sorted; none is an error with the nearest one.
pub fn matching(state: &State, address: &str) -> Result<Vec<String>, EditError> {
    let (_, _, index) = parse(address)?;
    let found: Vec<String> = state
        .resources
        .keys()
        .filter(|recorded| {
            *recorded == address
                || (index.is_none()
                    && recorded
                        .strip_prefix(address)
                        .is_some_and(|rest| rest.starts_with('[')))
        })
        .cloned()
        .collect();
    if found.is_empty() {
        // A resource with replicas is a candidate too, as well as each of its instances.
        let resources = state
            .resources
            .keys()
            .filter_map(|recorded| recorded.split_once('[').map(|(resource, _)| resource));
        let candidates = state.resources.keys().map(String::as_str).chain(resources);
        return Err(EditError::NotFound {
            address: address.to_owned(),
            suggestion: did_you_mean(address, candidates),
        });
    }
    Ok(found)
}

/// Forgets what `address` names; returns the addresses forgotten.
pub fn remove(locked: &LockedState, address: &str) -> Result<Vec<String>, EditError> {
    let gone = matching(&locked.state(), address)?;
    locked.update(|state| {
        for recorded in &gone {
            state.resources.remove(recorded);
        }
    })?;
    Ok(gone)
}

/// Records what `from` names under `to` (each instance keeping its index when `from` is a
/// resource), and the dependencies on it with it; returns each move.
pub fn rename(
    locked: &LockedState,
    from: &str,
    to: &str,
) -> Result<Vec<(String, String)>, EditError> {
    let state = locked.state();
    let (_, _, from_index) = parse(from)?;
    let (to_kind, _, to_index) = parse(to)?;
    if from_index.is_some() != to_index.is_some() {
        return Err(EditError::Shape {
            from: from.to_owned(),
            to: to.to_owned(),
        });
    }
    let moves: Vec<(String, String)> = matching(&state, from)?
        .into_iter()
        .map(|recorded| {
            let target = format!("{to}{}", &recorded[from.len()..]);
            (recorded, target)
        })
        .collect();
    for (recorded, target) in &moves {
        let kind = &state.resources[recorded].kind;
        if kind != to_kind {
            return Err(EditError::OtherKind {
                from: recorded.clone(),
                from_kind: kind.clone(),
                to: target.clone(),
                to_kind: to_kind.to_owned(),
            });
        }
        if state.resources.contains_key(target) {
            return Err(EditError::Taken {
                address: target.clone(),
            });
        }
    }
    locked.update(|state| {
        for (recorded, target) in &moves {
            if let Some(mut resource) = state.resources.remove(recorded) {
                resource.address = target.clone();
                state.resources.insert(target.clone(), resource);
            }
        }
        // What depended on a moved resource depends on it under its new address.
        for resource in state.resources.values_mut() {
            for dependency in &mut resource.dependencies {
                if let Some((_, target)) = moves.iter().find(|(recorded, _)| recorded == dependency)
                {
                    *dependency = target.clone();
                } else if dependency == from {
                    *dependency = to.to_owned();
                }
            }
        }
    })?;
    Ok(moves)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(addresses: &[(&str, &str)]) -> State {
        let mut state = State::new("test");
        for (address, kind) in addresses {
            state.resources.insert(
                address.to_string(),
                serde_json::from_value(serde_json::json!({
                    "address": address, "kind": kind, "dependencies": ["network.net"],
                }))
                .unwrap(),
            );
        }
        state
    }

    #[test]
    fn an_address_names_one_instance_or_every_instance_of_a_resource() {
        let state = state(&[
            ("network.net", "network"),
            ("service.web[0]", "service"),
            ("service.web[1]", "service"),
            ("service.webby", "service"),
        ]);
        assert_eq!(
            matching(&state, "service.web").unwrap(),
            ["service.web[0]", "service.web[1]"]
        );
        assert_eq!(
            matching(&state, "service.web[1]").unwrap(),
            ["service.web[1]"]
        );
        assert_eq!(
            matching(&state, "service.webby").unwrap(),
            ["service.webby"]
        );
        assert_eq!(
            matching(&state, "network.nett").unwrap_err().to_string(),
            "the state has no instance `network.nett`; did you mean `network.net`?"
        );
        assert_eq!(
            matching(&state, "service.wbe").unwrap_err().to_string(),
            "the state has no instance `service.wbe`; did you mean `service.web`?"
        );
        for bad in [
            "web",
            "service.",
            "service.web[",
            "service.web[x]",
            ".web",
            "a.b.c",
        ] {
            assert_eq!(
                matching(&state, bad).unwrap_err().to_string(),
                format!("`{bad}` is not an address: write `kind.name` or `kind.name[INDEX]`"),
            );
        }
    }

    #[test]
    fn what_a_move_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let locked = state::open(&path, "test").unwrap();
        let mut current = locked.state();
        current.resources = state(&[
            ("network.net", "network"),
            ("network.other", "network"),
            ("service.web[0]", "service"),
        ])
        .resources;
        locked.write(&current).unwrap();
        let refused = |from: &str, to: &str| rename(&locked, from, to).unwrap_err().to_string();
        assert_eq!(
            refused("network.net", "network.other"),
            "the state already has `network.other`; `state rm` it first, or move to another address"
        );
        assert_eq!(
            refused("network.net", "volume.net"),
            "`network.net` is a network, and `volume.net` would be a volume: an instance keeps its kind"
        );
        assert_eq!(
            refused("service.web", "service.app[0]"),
            "`service.web` and `service.app[0]` must both name a resource, or both one instance"
        );
        // Refusals write nothing.
        assert_eq!(locked.state().resources, current.resources);
        assert_eq!(
            rename(&locked, "network.net", "network.edge").unwrap(),
            [("network.net".to_owned(), "network.edge".to_owned())]
        );
        let after = locked.state();
        assert_eq!(after.resources["network.edge"].address, "network.edge");
        assert_eq!(
            after.resources["service.web[0]"].dependencies,
            ["network.edge"]
        );
    }
}
