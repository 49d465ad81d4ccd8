//! What the command line and the environment say on top of env.toml: the project name
//! (`--project` / `YOYOFORM_PROJECT`) and variable values (`--var NAME=VALUE` /
//! `YOYOFORM_VAR_NAME`). Values stay strings here; [`load`](super::load) converts them to
//! each variable's type, since only it knows the types.

use std::fmt;

/// The prefix of environment variables that set env.toml variables.
pub const VARIABLE_PREFIX: &str = "YOYOFORM_VAR_";

/// Settings given outside env.toml.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Replaces `[project] name` (isolation: two copies, or one per test).
    pub project: Option<String>,
    /// Variable values, in the order given. A `--var` beats `YOYOFORM_VAR_` for the same
    /// name whatever the order; among equals the last wins.
    pub variables: Vec<VariableValue>,
}

/// One variable value given outside env.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableValue {
    /// The variable's name.
    pub name: String,
    /// The value, as typed.
    pub value: String,
    /// Where it came from, for messages.
    pub origin: Origin,
}

/// Where a variable value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// The environment, `YOYOFORM_VAR_NAME`.
    Environment,
    /// The command line, `--var NAME=VALUE`.
    Flag,
}

/// A `--var` argument without `=`, or with an empty name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`--var {0}` must look like `NAME=VALUE`")]
pub struct BadFlag(pub String);

impl Overrides {
    /// No overrides.
    pub fn new() -> Self {
        Overrides::default()
    }

    /// Adds one `--var NAME=VALUE` argument.
    pub fn add_flag(&mut self, argument: &str) -> Result<(), BadFlag> {
        match argument.split_once('=') {
            Some((name, value)) if !name.is_empty() => {
                self.variables.push(VariableValue {
                    name: name.to_owned(),
                    value: value.to_owned(),
                    origin: Origin::Flag,
                });
                Ok(())
            }
            _ => Err(BadFlag(argument.to_owned())),
        }
    }

    /// Adds the `YOYOFORM_VAR_NAME` entries of an environment, e.g. `std::env::vars()`;
    /// other entries are ignored. The name is taken as written: `YOYOFORM_VAR_router_port`
    /// sets `router_port`.
    pub fn add_environment(&mut self, environment: impl IntoIterator<Item = (String, String)>) {
        let mut found: Vec<VariableValue> = environment
            .into_iter()
            .filter_map(|(key, value)| {
                let name = key.strip_prefix(VARIABLE_PREFIX)?;
                (!name.is_empty()).then(|| VariableValue {
                    name: name.to_owned(),
                    value,
                    origin: Origin::Environment,
                })
            })
            .collect();
        // The environment has no order worth keeping; sorting keeps results reproducible.
        found.sort_by(|a, b| a.name.cmp(&b.name));
        self.variables.extend(found);
    }

    /// The value in effect for each named variable: flags beat the environment, and the
    /// last of equals wins.
    pub fn effective(&self) -> std::collections::BTreeMap<&str, &VariableValue> {
        let mut chosen = std::collections::BTreeMap::new();
        for value in &self.variables {
            let keep_old = chosen
                .get(value.name.as_str())
                .is_some_and(|old: &&VariableValue| old.origin > value.origin);
            if !keep_old {
                chosen.insert(value.name.as_str(), value);
            }
        }
        chosen
    }
}

impl fmt::Display for VariableValue {
    /// How the user wrote it: `--var NAME=VALUE` or `YOYOFORM_VAR_NAME`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.origin {
            Origin::Flag => write!(f, "--var {}={}", self.name, self.value),
            Origin::Environment => write!(f, "{VARIABLE_PREFIX}{}", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_environment_and_the_last_wins() {
        let mut overrides = Overrides::new();
        overrides.add_flag("port=1").unwrap();
        overrides.add_environment([
            ("YOYOFORM_VAR_port".to_owned(), "2".to_owned()),
            ("YOYOFORM_VAR_name".to_owned(), "env".to_owned()),
            ("PATH".to_owned(), "/bin".to_owned()),
            ("YOYOFORM_VAR_".to_owned(), "nameless".to_owned()),
        ]);
        overrides.add_flag("name=a=b").unwrap();
        overrides.add_flag("port=3").unwrap();
        let effective: Vec<(&str, &str, Origin)> = overrides
            .effective()
            .into_iter()
            .map(|(name, value)| (name, value.value.as_str(), value.origin))
            .collect();
        assert_eq!(
            effective,
            [("name", "a=b", Origin::Flag), ("port", "3", Origin::Flag)]
        );
    }

    #[test]
    fn bad_flags() {
        let mut overrides = Overrides::new();
        for argument in ["port", "=1", ""] {
            let error = overrides.add_flag(argument).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("`--var {argument}` must look like `NAME=VALUE`")
            );
        }
        assert!(overrides.variables.is_empty());
    }

    #[test]
    fn origins_read_as_written() {
        let value = |origin| VariableValue {
            name: "router_port".to_owned(),
            value: "abc".to_owned(),
            origin,
        };
        assert_eq!(value(Origin::Flag).to_string(), "--var router_port=abc");
        assert_eq!(
            value(Origin::Environment).to_string(),
            "YOYOFORM_VAR_router_port"
        );
    }
}
