//! Twelve-factor settings: every value comes from the environment, and a missing or
//! unparsable one stops the service at start with one line naming the variable.
//!
//! Any setting `NAME` may instead be given as the path of a file holding it, in
//! `NAME_FILE` (the convention of the official database images): Docker Swarm hands
//! secrets to a service as files under `/run/secrets`, so that they are never in its
//! environment, where anyone who can inspect the service would read them.

use std::fmt::Display;
use std::str::FromStr;

/// A setting that is missing or cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// A required variable is not set (or is empty).
    #[error("{name} is required but not set")]
    Missing {
        /// The variable's name.
        name: String,
    },
    /// A variable is set to a value that does not parse.
    #[error("{name} has an invalid value `{value}`: {reason}")]
    Invalid {
        /// The variable's name.
        name: String,
        /// The value as found.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// Both `NAME` and `NAME_FILE` are set: which one is meant is not clear.
    #[error("{name} and {name}_FILE are both set; set one of them")]
    Both {
        /// The variable's name.
        name: String,
    },
    /// `NAME_FILE` names a file that cannot be read.
    #[error("{name}_FILE names `{path}`, which cannot be read: {reason}")]
    Unreadable {
        /// The variable's name (without `_FILE`).
        name: String,
        /// The path it names.
        path: String,
        /// What reading it answered.
        reason: String,
    },
}

/// Reads settings from a lookup function, so tests can pass a map instead of the process
/// environment.
pub struct Settings<F> {
    lookup: F,
}

impl Settings<fn(&str) -> Option<String>> {
    /// Settings read from the process environment.
    pub fn from_env() -> Self {
        fn lookup(name: &str) -> Option<String> {
            std::env::var(name).ok()
        }
        Settings { lookup }
    }
}

/// Settings from fixed name-value pairs, as tests give them.
pub fn from_pairs(pairs: &[(&str, &str)]) -> Settings<impl Fn(&str) -> Option<String> + use<>> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    Settings::new(move |name: &str| map.get(name).cloned())
}

impl<F: Fn(&str) -> Option<String>> Settings<F> {
    /// Settings read through `lookup`.
    pub fn new(lookup: F) -> Self {
        Settings { lookup }
    }

    /// The value of `name`, from the variable or from the file `NAME_FILE` names (its one
    /// trailing line end aside, which editors and `echo` add); empty counts as unset.
    fn value(&self, name: &str) -> Result<Option<String>, SettingError> {
        let set = |name: &str| (self.lookup)(name).filter(|value| !value.is_empty());
        match (set(name), set(&format!("{name}_FILE"))) {
            (Some(_), Some(_)) => Err(SettingError::Both {
                name: name.to_owned(),
            }),
            (Some(value), None) => Ok(Some(value)),
            (None, Some(path)) => {
                let text =
                    std::fs::read_to_string(&path).map_err(|error| SettingError::Unreadable {
                        name: name.to_owned(),
                        path: path.clone(),
                        reason: error.to_string(),
                    })?;
                let text = text
                    .strip_suffix("\r\n")
                    .or_else(|| text.strip_suffix('\n'))
                    .unwrap_or(&text);
                Ok(Some(text.to_owned()).filter(|value| !value.is_empty()))
            }
            (None, None) => Ok(None),
        }
    }

    /// A variable that must be set.
    pub fn required(&self, name: &str) -> Result<String, SettingError> {
        self.value(name)?.ok_or_else(|| SettingError::Missing {
            name: name.to_owned(),
        })
    }

    /// A variable with a default; an empty value counts as unset.
    pub fn or(&self, name: &str, default: &str) -> Result<String, SettingError> {
        Ok(self.value(name)?.unwrap_or_else(|| default.to_owned()))
    }

    /// A variable parsed as `T`, with a default when unset.
    pub fn parsed<T>(&self, name: &str, default: T) -> Result<T, SettingError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.value(name)? {
            None => Ok(default),
            Some(value) => value
                .parse()
                .map_err(|error: T::Err| SettingError::Invalid {
                    name: name.to_owned(),
                    reason: error.to_string(),
                    value,
                }),
        }
    }

    /// `JWT_SECRET` (required), ready to sign and check tokens.
    pub fn jwt_keys(&self) -> Result<crate::token::Keys, SettingError> {
        let secret = self.required("JWT_SECRET")?;
        crate::token::Keys::new(&secret).ok_or_else(|| SettingError::Missing {
            name: "JWT_SECRET".to_owned(),
        })
    }

    /// `HTTP_PORT`, default 5000; 0 (any free port) is refused: others must find it.
    pub fn http_port(&self) -> Result<u16, SettingError> {
        let port = self.parsed("HTTP_PORT", 5000)?;
        if port == 0 {
            return Err(SettingError::Invalid {
                name: "HTTP_PORT".into(),
                value: "0".into(),
                reason: "must be a port from 1 to 65535".into(),
            });
        }
        Ok(port)
    }
}

/// Prints a setting error as one line and ends the process with exit code 2.
pub fn exit_on_error<T>(result: Result<T, SettingError>) -> T {
    result.unwrap_or_else(|error| {
        // stdout is where the services log; the one line must be found there too.
        println!("configuration error: {error}");
        std::process::exit(2)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings<impl Fn(&str) -> Option<String>> {
        from_pairs(pairs)
    }

    type Env = &'static [(&'static str, &'static str)];

    #[test]
    fn http_port_cases() {
        let cases: &[(Env, Result<u16, &str>)] = &[
            (&[], Ok(5000)),
            (&[("HTTP_PORT", "")], Ok(5000)),
            (&[("HTTP_PORT", "8080")], Ok(8080)),
            (
                &[("HTTP_PORT", "0")],
                Err("HTTP_PORT has an invalid value `0`: must be a port from 1 to 65535"),
            ),
            (
                &[("HTTP_PORT", "abc")],
                Err("HTTP_PORT has an invalid value `abc`: invalid digit found in string"),
            ),
            (
                &[("HTTP_PORT", "70000")],
                Err(
                    "HTTP_PORT has an invalid value `70000`: number too large to fit in target type",
                ),
            ),
        ];
        for (env, expected) in cases {
            let got = settings(env).http_port().map_err(|e| e.to_string());
            assert_eq!(got, expected.map_err(str::to_owned), "env {env:?}");
        }
    }

    #[test]
    fn required_refuses_missing_and_empty() {
        for env in [&[][..], &[("JWT_SECRET", "")][..]] {
            assert_eq!(
                settings(env)
                    .required("JWT_SECRET")
                    .unwrap_err()
                    .to_string(),
                "JWT_SECRET is required but not set"
            );
        }
        assert_eq!(
            settings(&[("JWT_SECRET", "s")]).required("JWT_SECRET"),
            Ok("s".to_owned())
        );
    }

    #[test]
    fn a_setting_may_come_from_the_file_its_file_variable_names() {
        let folder = std::env::temp_dir().join(format!("settings-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        let file = |name: &str, text: &str| {
            let path = folder.join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let secret = file("jwt", "s3cret\n");
        let crlf = file("crlf", "s3cret\r\n");
        let empty = file("empty", "\n");
        let missing = folder.join("missing").display().to_string();
        type Case<'a> = (Vec<(&'a str, &'a str)>, Result<&'a str, String>);
        let cases: Vec<Case> = vec![
            (vec![("JWT_SECRET_FILE", &secret)], Ok("s3cret")),
            (vec![("JWT_SECRET_FILE", &crlf)], Ok("s3cret")),
            (
                vec![("JWT_SECRET_FILE", &empty)],
                Err("JWT_SECRET is required but not set".to_owned()),
            ),
            (
                vec![("JWT_SECRET", "s"), ("JWT_SECRET_FILE", &secret)],
                Err("JWT_SECRET and JWT_SECRET_FILE are both set; set one of them".to_owned()),
            ),
            (
                vec![("JWT_SECRET_FILE", &missing)],
                Err(format!(
                    "JWT_SECRET_FILE names `{missing}`, which cannot be read: \
                     No such file or directory (os error 2)"
                )),
            ),
            // An empty `_FILE` is unset, as an empty variable is.
            (vec![("JWT_SECRET", "s"), ("JWT_SECRET_FILE", "")], Ok("s")),
        ];
        for (env, expected) in cases {
            let got = from_pairs(&env)
                .required("JWT_SECRET")
                .map_err(|e| e.to_string());
            assert_eq!(got, expected.map(str::to_owned), "env {env:?}");
        }
        std::fs::remove_dir_all(&folder).unwrap();
    }
}
