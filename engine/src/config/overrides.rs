//! What the command line and the environment say on top of env.toml: the project name
//! (`--project` / `YOYOFORM_PROJECT`) and variable values. Values stay strings here;
//! [`load`](super::load) converts them to each variable's type, since only it knows the
//! types.
//!
//! A variable's value, weakest first: its `default` in env.toml, `YOYOFORM_VAR_NAME` in
//! the `.env` file beside env.toml (Compose's convention), `YOYOFORM_VAR_NAME` in the
//! environment, `--var-file FILE` (TOML, `name = value`), `--var NAME=VALUE`. Among
//! equals the last given wins.

use std::fmt;
use std::path::{Path, PathBuf};

/// The prefix of environment variables that set env.toml variables.
pub const VARIABLE_PREFIX: &str = "YOYOFORM_VAR_";

/// Settings given outside env.toml.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Replaces `[project] name` (isolation: two copies, or one per test).
    pub project: Option<String>,
    /// Variable values, in the order given. A stronger [`Origin`] beats a weaker one for
    /// the same name whatever the order; among equals the last wins.
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

/// Where a variable value came from, weakest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `YOYOFORM_VAR_NAME` in this `.env` file.
    DotEnv(PathBuf),
    /// The environment, `YOYOFORM_VAR_NAME`.
    Environment,
    /// `name = value` in this `--var-file`.
    VarFile(PathBuf),
    /// The command line, `--var NAME=VALUE`.
    Flag,
}

impl Origin {
    /// How strong it is: a value of a higher rank wins.
    fn rank(&self) -> u8 {
        match self {
            Origin::DotEnv(_) => 0,
            Origin::Environment => 1,
            Origin::VarFile(_) => 2,
            Origin::Flag => 3,
        }
    }
}

/// A `.env` or `--var-file` that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BadFile {
    /// It cannot be read or parsed.
    #[error("`{}`: {message}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why, with the line where the parser gives one.
        message: String,
    },
    /// A `--var-file` value that is not a string, number or boolean.
    #[error("`{}`: `{name}` must be a string, a number or a boolean, found {found}", path.display())]
    NotAValue {
        /// The file.
        path: PathBuf,
        /// The variable.
        name: String,
        /// What it holds: `an array`, `a table`, ...
        found: &'static str,
    },
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
        self.add_prefixed(environment, Origin::Environment);
    }

    /// Adds the `YOYOFORM_VAR_NAME` entries of the `.env` file at `path` (dotenv syntax:
    /// `KEY=VALUE` lines, quotes, `#` comments), when there is one; other keys are Compose's
    /// business and ignored.
    pub fn add_dotenv(&mut self, path: &Path) -> Result<(), BadFile> {
        let unreadable = |error: dotenvy::Error| BadFile::Unreadable {
            path: path.to_owned(),
            message: error.to_string(),
        };
        let entries = match dotenvy::from_path_iter(path) {
            Ok(entries) => entries,
            Err(error) if error.not_found() => return Ok(()),
            Err(error) => return Err(unreadable(error)),
        };
        let entries: Vec<(String, String)> =
            entries.collect::<Result<_, _>>().map_err(unreadable)?;
        self.add_prefixed(entries, Origin::DotEnv(path.to_owned()));
        Ok(())
    }

    /// Adds the variables of a `--var-file`: a TOML document of `name = value`, each value a
    /// string, a number or a boolean (as `--var` would give it).
    pub fn add_var_file(&mut self, path: &Path, text: &str) -> Result<(), BadFile> {
        let table: toml::Table =
            text.parse()
                .map_err(|error: toml::de::Error| BadFile::Unreadable {
                    path: path.to_owned(),
                    message: error.to_string().trim_end().to_owned(),
                })?;
        for (name, value) in table {
            let value = match value {
                toml::Value::String(text) => text,
                toml::Value::Integer(number) => number.to_string(),
                toml::Value::Float(number) => number.to_string(),
                toml::Value::Boolean(flag) => flag.to_string(),
                other => {
                    return Err(BadFile::NotAValue {
                        path: path.to_owned(),
                        name,
                        found: match other {
                            toml::Value::Array(_) => "an array",
                            toml::Value::Table(_) => "a table",
                            _ => "a date",
                        },
                    });
                }
            };
            self.variables.push(VariableValue {
                name,
                value,
                origin: Origin::VarFile(path.to_owned()),
            });
        }
        Ok(())
    }

    fn add_prefixed(
        &mut self,
        entries: impl IntoIterator<Item = (String, String)>,
        origin: Origin,
    ) {
        let mut found: Vec<VariableValue> = entries
            .into_iter()
            .filter_map(|(key, value)| {
                let name = key.strip_prefix(VARIABLE_PREFIX)?;
                (!name.is_empty()).then(|| VariableValue {
                    name: name.to_owned(),
                    value,
                    origin: origin.clone(),
                })
            })
            .collect();
        // An environment has no order worth keeping; sorting keeps results reproducible.
        found.sort_by(|a, b| a.name.cmp(&b.name));
        self.variables.extend(found);
    }

    /// The value in effect for each named variable: the strongest [`Origin`], and the
    /// last of equals.
    pub fn effective(&self) -> std::collections::BTreeMap<&str, &VariableValue> {
        let mut chosen = std::collections::BTreeMap::new();
        for value in &self.variables {
            let keep_old = chosen
                .get(value.name.as_str())
                .is_some_and(|old: &&VariableValue| old.origin.rank() > value.origin.rank());
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
        match &self.origin {
            Origin::Flag => write!(f, "--var {}={}", self.name, self.value),
            Origin::Environment => write!(f, "{VARIABLE_PREFIX}{}", self.name),
            Origin::DotEnv(path) => {
                write!(f, "{VARIABLE_PREFIX}{} in `{}`", self.name, path.display())
            }
            Origin::VarFile(path) => write!(f, "`{}` in `{}`", self.name, path.display()),
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
            .map(|(name, value)| (name, value.value.as_str(), value.origin.clone()))
            .collect();
        assert_eq!(
            effective,
            [("name", "a=b", Origin::Flag), ("port", "3", Origin::Flag)]
        );
    }

    #[test]
    fn a_var_file_beats_the_environment_and_dotenv_and_loses_to_flags() {
        let dir = tempfile::tempdir().unwrap();
        let dotenv = dir.path().join(".env");
        std::fs::write(
            &dotenv,
            "YOYOFORM_VAR_a=dotenv\nYOYOFORM_VAR_b='dot env'\nOTHER=x\n",
        )
        .unwrap();
        let file = dir.path().join("vars.toml");
        let mut overrides = Overrides::new();
        overrides.add_flag("c=flag").unwrap();
        overrides
            .add_var_file(&file, "b = 2\nc = true\nd = 1.5\n")
            .unwrap();
        overrides.add_environment([("YOYOFORM_VAR_a".to_owned(), "env".to_owned())]);
        overrides.add_dotenv(&dotenv).unwrap();
        overrides.add_dotenv(&dir.path().join("none")).unwrap();
        let effective: Vec<(&str, &str, u8)> = overrides
            .effective()
            .into_iter()
            .map(|(name, value)| (name, value.value.as_str(), value.origin.rank()))
            .collect();
        assert_eq!(
            effective,
            [
                ("a", "env", 1),
                ("b", "2", 2),
                ("c", "flag", 3),
                ("d", "1.5", 2)
            ]
        );
        let from_file = &overrides.effective()["b"];
        assert_eq!(
            from_file.to_string(),
            format!("`b` in `{}`", file.display())
        );
        let error = overrides.add_var_file(&file, "x = [").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(&format!("`{}`: TOML parse error at line 1", file.display())),
            "{error}"
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
