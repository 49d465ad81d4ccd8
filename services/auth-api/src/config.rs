//! auth-api's settings, all from the environment.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `HTTP_PORT` | port to bind on 0.0.0.0 | `5000` |
//! | `JWT_SECRET` | HS256 secret shared with transaction-api and loyalty-worker | required |
//! | `USERS_FILE` | the user database (JSON) | `/etc/yoyo/users.json` |
//! | `TOKEN_TTL_SECONDS` | token lifetime, 1 to 31,536,000 (a year) | `30` |

use std::path::PathBuf;

use platform::settings::{SettingError, Settings};
use platform::token::Keys;

/// The longest token lifetime accepted: a year.
const MAX_TOKEN_TTL_SECONDS: u64 = 365 * 24 * 60 * 60;

/// Where the image puts the shipped `users.json`. Outside a container the same path is the
/// default, so a run by hand either has that file or sets `USERS_FILE` (to
/// `services/auth-api/users.json` for the fixture): a missing file stops the service at
/// start, so a wrong default cannot go unnoticed.
pub const DEFAULT_USERS_FILE: &str = "/etc/yoyo/users.json";

/// Everything auth-api reads from the environment.
#[derive(Debug)]
pub struct Config {
    pub port: u16,
    pub keys: Keys,
    pub users_file: PathBuf,
    pub token_ttl_seconds: u64,
}

impl Config {
    /// Reads and checks every setting; the error names the first bad variable.
    pub fn read<F: Fn(&str) -> Option<String>>(
        settings: &Settings<F>,
    ) -> Result<Self, SettingError> {
        let keys = settings.jwt_keys()?;
        let port = settings.http_port()?;
        let users_file = PathBuf::from(settings.or("USERS_FILE", DEFAULT_USERS_FILE)?);
        let token_ttl_seconds = settings.parsed("TOKEN_TTL_SECONDS", 30u64)?;
        // A zero lifetime would issue tokens that are already expired; a lifetime past a
        // year is a typo (and near u64::MAX, `exp` would overflow).
        if !(1..=MAX_TOKEN_TTL_SECONDS).contains(&token_ttl_seconds) {
            return Err(SettingError::Invalid {
                name: "TOKEN_TTL_SECONDS".into(),
                value: token_ttl_seconds.to_string(),
                reason: format!("must be at least 1 and at most {MAX_TOKEN_TTL_SECONDS}"),
            });
        }
        Ok(Config {
            port,
            keys,
            users_file,
            token_ttl_seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<Config, String> {
        Config::read(&platform::settings::from_pairs(pairs)).map_err(|error| error.to_string())
    }

    #[test]
    fn defaults() {
        let config = read(&[("JWT_SECRET", "s")]).unwrap();
        assert_eq!(config.port, 5000);
        assert_eq!(config.users_file, PathBuf::from("/etc/yoyo/users.json"));
        assert_eq!(config.token_ttl_seconds, 30);
    }

    #[test]
    fn overrides() {
        let config = read(&[
            ("JWT_SECRET", "s"),
            ("HTTP_PORT", "8081"),
            ("USERS_FILE", "/tmp/u.json"),
            ("TOKEN_TTL_SECONDS", "5"),
        ])
        .unwrap();
        assert_eq!(config.port, 8081);
        assert_eq!(config.users_file, PathBuf::from("/tmp/u.json"));
        assert_eq!(config.token_ttl_seconds, 5);
    }

    #[test]
    fn refusals_name_the_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "JWT_SECRET is required but not set"),
            (&[("JWT_SECRET", "")], "JWT_SECRET is required but not set"),
            (
                &[("JWT_SECRET", "s"), ("HTTP_PORT", "abc")],
                "HTTP_PORT has an invalid value `abc`",
            ),
            (
                &[("JWT_SECRET", "s"), ("TOKEN_TTL_SECONDS", "-1")],
                "TOKEN_TTL_SECONDS has an invalid value `-1`",
            ),
            (
                &[("JWT_SECRET", "s"), ("TOKEN_TTL_SECONDS", "0")],
                "TOKEN_TTL_SECONDS has an invalid value `0`: must be at least 1",
            ),
            (
                &[
                    ("JWT_SECRET", "s"),
                    ("TOKEN_TTL_SECONDS", "18446744073709551615"),
                ],
                "TOKEN_TTL_SECONDS has an invalid value `18446744073709551615`: must be at least 1 and at most 31536000",
            ),
        ];
        for (env, expected) in cases {
            let error = read(env).unwrap_err();
            assert!(error.starts_with(expected), "{env:?}: {error}");
        }
    }
}
