//! The router's configuration, read only from the environment.

use crate::route_table::{RouteTable, RoutesError};
use std::time::Duration;
use thiserror::Error;

/// Port used when `HTTP_PORT` is not set.
pub const DEFAULT_HTTP_PORT: u16 = 5000;
const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 2_000;
const DEFAULT_UPSTREAM_TIMEOUT_MS: u64 = 15_000;

/// Everything the router needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Port to listen on, on 0.0.0.0 (`HTTP_PORT`).
    pub http_port: u16,
    /// Routes (`ROUTES`).
    pub routes: RouteTable,
    /// Longest wait for a TCP connection to one upstream address
    /// (`UPSTREAM_CONNECT_TIMEOUT_MS`).
    pub connect_timeout: Duration,
    /// Longest wait for an upstream's response head, from the moment the request
    /// arrives, retries included (`UPSTREAM_TIMEOUT_MS`).
    pub upstream_timeout: Duration,
}

/// A variable that is missing or cannot be used. Each message starts with its name.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A variable that must be set is not.
    #[error("{name} is not set: {hint}")]
    Missing {
        /// The variable.
        name: &'static str,
        /// What to set it to.
        hint: &'static str,
    },
    /// A variable whose value is not valid UTF-8 or not of the expected form.
    #[error("{name}={value:?} is not valid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Its value (lossily decoded when not UTF-8).
        value: String,
        /// What was expected.
        reason: String,
    },
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env_lookup)
    }

    /// Reads the configuration through `lookup` (`Ok(None)` for an unset variable, `Err`
    /// with the lossily decoded value for one that is not UTF-8).
    pub fn from_lookup(
        lookup: impl Fn(&'static str) -> Result<Option<String>, String>,
    ) -> Result<Self, ConfigError> {
        let http_port = http_port_from(&lookup)?;
        let routes = match read(&lookup, "ROUTES")? {
            None => {
                return Err(ConfigError::Missing {
                    name: "ROUTES",
                    hint: "give routes as /prefix=http://host:port[|http://host2:port][,...]",
                });
            }
            Some(text) => {
                RouteTable::parse(&text).map_err(|e: RoutesError| ConfigError::Invalid {
                    name: "ROUTES",
                    value: text.clone(),
                    reason: e.to_string(),
                })?
            }
        };
        let connect_timeout = millis(
            &lookup,
            "UPSTREAM_CONNECT_TIMEOUT_MS",
            DEFAULT_CONNECT_TIMEOUT_MS,
        )?;
        let upstream_timeout = millis(&lookup, "UPSTREAM_TIMEOUT_MS", DEFAULT_UPSTREAM_TIMEOUT_MS)?;
        Ok(Config {
            http_port,
            routes,
            connect_timeout,
            upstream_timeout,
        })
    }
}

/// Reads only `HTTP_PORT` (what `router healthcheck` needs) from the process environment.
pub fn http_port_from_env() -> Result<u16, ConfigError> {
    http_port_from(&env_lookup)
}

fn http_port_from(
    lookup: &impl Fn(&'static str) -> Result<Option<String>, String>,
) -> Result<u16, ConfigError> {
    let Some(text) = read(lookup, "HTTP_PORT")? else {
        return Ok(DEFAULT_HTTP_PORT);
    };
    match text.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(ConfigError::Invalid {
            name: "HTTP_PORT",
            value: text,
            reason: "expected a port number from 1 to 65535".into(),
        }),
    }
}

fn millis(
    lookup: &impl Fn(&'static str) -> Result<Option<String>, String>,
    name: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    let Some(text) = read(lookup, name)? else {
        return Ok(Duration::from_millis(default));
    };
    match text.trim().parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(ConfigError::Invalid {
            name,
            value: text,
            reason: "expected a positive whole number of milliseconds".into(),
        }),
    }
}

/// A variable's value; an empty value counts as unset, like most twelve-factor apps do.
fn read(
    lookup: &impl Fn(&'static str) -> Result<Option<String>, String>,
    name: &'static str,
) -> Result<Option<String>, ConfigError> {
    match lookup(name) {
        Ok(Some(value)) if value.trim().is_empty() => Ok(None),
        Ok(value) => Ok(value),
        Err(lossy) => Err(ConfigError::Invalid {
            name,
            value: lossy,
            reason: "not valid UTF-8".into(),
        }),
    }
}

fn env_lookup(name: &'static str) -> Result<Option<String>, String> {
    match std::env::var(name) {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(raw)) => Err(raw.to_string_lossy().into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&'static str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<&str, String> = vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
        Config::from_lookup(|name| Ok(vars.get(name).cloned()))
    }

    #[test]
    fn applies_defaults() {
        let config = load(&[("ROUTES", "/a=http://a:1")]).unwrap();
        assert_eq!(config.http_port, 5000);
        assert_eq!(config.connect_timeout, Duration::from_millis(2000));
        assert_eq!(config.upstream_timeout, Duration::from_millis(15000));
        assert_eq!(config.routes.routes().len(), 1);
    }

    #[test]
    fn reads_every_variable() {
        let config = load(&[
            ("ROUTES", "/a=http://a:1"),
            ("HTTP_PORT", "8080"),
            ("UPSTREAM_CONNECT_TIMEOUT_MS", "100"),
            ("UPSTREAM_TIMEOUT_MS", "300"),
        ])
        .unwrap();
        assert_eq!(config.http_port, 8080);
        assert_eq!(config.connect_timeout, Duration::from_millis(100));
        assert_eq!(config.upstream_timeout, Duration::from_millis(300));
    }

    #[test]
    fn names_the_variable_at_fault() {
        let cases: [(&[(&'static str, &str)], &str); 9] = [
            (&[], "ROUTES is not set"),
            (&[("ROUTES", " ")], "ROUTES is not set"),
            (
                &[("ROUTES", "/a")],
                "ROUTES=\"/a\" is not valid: entry `/a` has no `=`",
            ),
            (
                &[("ROUTES", "/a=http://a:1"), ("HTTP_PORT", "abc")],
                "HTTP_PORT=\"abc\"",
            ),
            (
                &[("ROUTES", "/a=http://a:1"), ("HTTP_PORT", "0")],
                "HTTP_PORT=\"0\"",
            ),
            (
                &[("ROUTES", "/a=http://a:1"), ("HTTP_PORT", "70000")],
                "HTTP_PORT=\"70000\"",
            ),
            (
                &[("ROUTES", "/a=http://a:1"), ("UPSTREAM_TIMEOUT_MS", "-1")],
                "UPSTREAM_TIMEOUT_MS=\"-1\"",
            ),
            (
                &[
                    ("ROUTES", "/a=http://a:1"),
                    ("UPSTREAM_CONNECT_TIMEOUT_MS", "0"),
                ],
                "UPSTREAM_CONNECT_TIMEOUT_MS=\"0\"",
            ),
            // HTTP_PORT is checked first, whatever else is wrong.
            (&[("HTTP_PORT", "x")], "HTTP_PORT=\"x\""),
        ];
        for (vars, want) in cases {
            let message = load(vars).unwrap_err().to_string();
            assert!(
                message.starts_with(want),
                "{vars:?}: got {message:?}, want {want:?}"
            );
            assert!(!message.contains('\n'), "one line: {message:?}");
        }
    }
}
